/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plan for programs. The schema is docs/plan-json.md: keep the two in step. */
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"

#define VFG_PLAN_JSON_VERSION 1

static void json_string_or_null(vfg_json *json, const char *key, const char *value)
{
	if (value && *value)
		vfg_json_string(json, key, value);
	else
		vfg_json_null(json, key);
}

static void json_hex(vfg_json *json, const char *key, unsigned value, int digits)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%0*x", digits, value);
	vfg_json_string(json, key, buf);
}

static void json_rdev(vfg_json *json, dev_t rdev)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%u:%u", major(rdev), minor(rdev));
	vfg_json_string(json, "rdev", buf);
	vfg_json_int(json, "major", major(rdev));
	vfg_json_int(json, "minor", minor(rdev));
}

static void json_function(vfg_json *json, const char *key, const vfg_pci_function *fn)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_json_begin_object(json, key);
	vfg_json_string(json, "address", vfg_pci_addr_format(&fn->addr, bdf));
	json_hex(json, "vendor", fn->vendor, 4);
	json_hex(json, "device", fn->device, 4);
	json_hex(json, "class", fn->class_code, 6);
	vfg_json_int(json, "header_type", fn->header_type);
	json_string_or_null(json, "driver", fn->driver);
	vfg_json_bool(json, "vfio_dev", fn->vfio_dev);
	vfg_json_end_object(json);
}

/* Every attribute the plan's labelers declare, under its plan key: its value, or null when not given. */
static void json_domain_attrs(vfg_json *json, const vfg_plan *plan)
{
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_labeler *labeler = plan->labelers[l].labeler;
		for (const vfg_attr_def *def = labeler->attributes; def && def->name; def++) {
			char name[192], key[192];
			snprintf(name, sizeof(name), "%s.%s", labeler->name, def->name);
			snprintf(key, sizeof(key), "%s", def->plan_key ? def->plan_key : name);
			if (!def->plan_key)
				key[strlen(labeler->name)] = '_';
			json_string_or_null(json, key, vfg_domain_attr(&plan->domain, name));
		}
	}
}

static void json_domain(vfg_json *json, const vfg_plan *plan)
{
	const vfg_domain *domain = &plan->domain;
	vfg_json_begin_object(json, "domain");
	vfg_json_string(json, "name", domain->name);
	json_string_or_null(json, "uuid", domain->uuid);
	vfg_json_int(json, "uid", domain->uid);
	vfg_json_int(json, "gid", domain->gid);
	json_domain_attrs(json, plan);
	if (domain->pid > 0)
		vfg_json_int(json, "pid", domain->pid);
	else
		vfg_json_null(json, "pid");
	vfg_json_end_object(json);
}

static void json_hostdev(vfg_json *json, const vfg_plan *plan, const vfg_hostdev *hostdev)
{
	char bdf[VFG_HOSTDEV_NAME_MAX];
	vfg_json_begin_object(json, NULL);
	/* A BDF, or "mdev:UUID"; an mdev has its "mdev" object, and no function or group members of its own. */
	vfg_json_string(json, "address", vfg_hostdev_name(&hostdev->spec, bdf));
	if (hostdev->spec.mdev[0]) {
		vfg_json_begin_object(json, "mdev");
		vfg_json_string(json, "uuid", hostdev->spec.mdev);
		vfg_json_string(json, "type", hostdev->mdev_type);
		vfg_json_string(json, "device_api", hostdev->mdev_device_api);
		json_string_or_null(json, "driver", hostdev->function.driver);
		vfg_json_end_object(json);
	} else {
		vfg_json_null(json, "mdev");
	}
	vfg_json_string(json, "backend", vfg_backend_name(hostdev->backend));
	vfg_json_string(json, "backend_requested", vfg_backend_name(hostdev->spec.backend));
	vfg_json_string(json, "backend_reason", hostdev->backend_reason);
	vfg_json_string(json, "access", vfg_access_name(hostdev->spec.access));
	json_string_or_null(json, "vf_token", hostdev->spec.vf_token);
	json_string_or_null(json, "vf_token_via", vfg_hostdev_vf_token_method(hostdev));
	vfg_json_bool(json, "managed", hostdev->spec.managed);
	json_string_or_null(json, "managed_driver", hostdev->spec.managed ? hostdev->spec.driver : "");
	if (hostdev->spec.mdev[0])
		vfg_json_null(json, "function");
	else
		json_function(json, "function", &hostdev->function);
	json_string_or_null(json, "cdev", hostdev->cdev);
	vfg_json_begin_object(json, "iommu_group");
	vfg_json_int(json, "number", hostdev->group.number);
	vfg_json_begin_array(json, "members");
	for (size_t i = 0; i < hostdev->group.n_members; i++)
		json_function(json, NULL, &hostdev->group.members[i]);
	vfg_json_end_array(json);
	vfg_json_end_object(json);
	vfg_json_begin_array(json, "group_mates");
	for (size_t i = 0; i < hostdev->group.n_members; i++)
		if (vfg_plan_group_mate(plan, hostdev, &hostdev->group.members[i]))
			vfg_json_string(json, NULL, vfg_pci_addr_format(&hostdev->group.members[i].addr, bdf));
	vfg_json_end_array(json);
	vfg_json_begin_array(json, "nodes");
	for (size_t i = 0; i < hostdev->n_nodes; i++)
		vfg_json_string(json, NULL, plan->nodes[hostdev->nodes[i]].path);
	vfg_json_end_array(json);
	vfg_json_end_object(json);
}

static void json_node(vfg_json *json, const vfg_node *node)
{
	char mode[8];
	vfg_json_begin_object(json, NULL);
	vfg_json_string(json, "path", node->path);
	vfg_json_string(json, "kind", vfg_node_kind_name(node->kind));
	json_rdev(json, node->rdev);
	vfg_json_bool(json, "shared", node->shared);
	vfg_json_string(json, "access", vfg_access_name(node->access));
	if (node->kind == VFG_NODE_GROUP || node->kind == VFG_NODE_CDEV)
		vfg_json_int(json, "iommu_group", node->group);
	else
		vfg_json_null(json, "iommu_group");
	vfg_json_int(json, "uid", node->uid);
	vfg_json_int(json, "gid", node->gid);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)node->mode);
	vfg_json_string(json, "mode", mode);
	vfg_json_end_object(json);
}

/* A step of @labeler on @node (a domain-scope labeler's: its subject). */
static void json_step_of(vfg_json *json, const char *labeler, const char *node, const vfg_step *step, bool held)
{
	vfg_json_begin_object(json, NULL);
	vfg_json_string(json, "labeler", labeler);
	vfg_json_string(json, "node", node);
	vfg_json_string(json, "action", vfg_action_name(step->action));
	vfg_json_string(json, "detail", step->detail);
	vfg_json_string(json, "reason", step->reason);
	vfg_json_bool(json, "held", held);
	vfg_json_end_object(json);
}

static void json_step(vfg_json *json, const vfg_plan *plan, const vfg_step *step)
{
	json_step_of(json, plan->labelers[step->labeler].labeler->name, plan->nodes[step->node].path, step,
		     vfg_plan_step_held(plan, (size_t)(step - plan->steps)));
}

/* What each domain-scope labeler found and would do, as an object named after it. */
static void json_domain_labelers(vfg_json *json, const vfg_plan *plan)
{
	for (size_t i = 0; i < plan->n_domain_labelers; i++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[i];
		if (!VFG_LABELER_OPTIONAL(dl->labeler, write_plan_json))
			continue;
		vfg_json_begin_object(json, dl->labeler->name);
		dl->labeler->write_plan_json(&plan->domain, &dl->probe, &dl->step, json);
		vfg_json_end_object(json);
	}
}

void vfg_json_write_plan_head(vfg_json *json, const vfg_plan *plan)
{
	vfg_json_int(json, "version", VFG_PLAN_JSON_VERSION);
	json_domain(json, plan);
	vfg_json_begin_array(json, "hostdevs");
	for (size_t i = 0; i < plan->n_hostdevs; i++)
		json_hostdev(json, plan, &plan->hostdevs[i]);
	vfg_json_end_array(json);
	vfg_json_begin_array(json, "nodes");
	for (size_t i = 0; i < plan->n_nodes; i++)
		json_node(json, &plan->nodes[i]);
	vfg_json_end_array(json);
	vfg_json_begin_array(json, "labelers");
	for (size_t i = 0; i < plan->n_labelers; i++) {
		const vfg_planned_labeler *pl = &plan->labelers[i];
		vfg_json_begin_object(json, NULL);
		vfg_json_string(json, "name", pl->labeler->name);
		vfg_json_string(json, "summary", pl->labeler->summary);
		vfg_json_bool(json, "active", pl->probe.active);
		vfg_json_string(json, "note", pl->probe.note);
		vfg_json_end_object(json);
	}
	vfg_json_end_array(json);
	json_domain_labelers(json, plan);
	json_string_or_null(json, "apply_refusal", plan->apply_refusal);
}

VFG_EXPORT int vfg_plan_write_json(const vfg_plan *plan, FILE *out)
{
	vfg_json json = {.out = out};
	vfg_json_begin_object(&json, NULL);
	vfg_json_write_plan_head(&json, plan);
	vfg_json_begin_array(&json, "steps");
	for (size_t i = 0; i < plan->n_steps; i++)
		json_step(&json, plan, &plan->steps[i]);
	vfg_json_end_array(&json);
	vfg_json_end_object(&json);
	return ferror(out) ? -1 : 0;
}

/* One layer on a node an fd-access hostdev uses: its action, and the dry run's step number when it is a change. */
static void json_fd_layer(vfg_json *json, const vfg_plan *plan, const vfg_step *step)
{
	size_t number = vfg_plan_change_number(plan, (size_t)(step - plan->steps));
	vfg_json_begin_object(json, NULL);
	vfg_json_string(json, "labeler", plan->labelers[step->labeler].labeler->name);
	vfg_json_string(json, "action", vfg_action_name(step->action));
	if (number)
		vfg_json_int(json, "step", (long long)number);
	else
		vfg_json_null(json, "step");
	vfg_json_string(json, "detail", step->detail);
	vfg_json_string(json, "reason", step->reason);
	vfg_json_end_object(json);
}

/* A node of an fd-access hostdev: who opens it, and what each layer does about it. */
static void json_fd_node(vfg_json *json, const vfg_plan *plan, size_t n)
{
	const vfg_node *node = &plan->nodes[n];
	bool manager = node->access == VFG_ACCESS_FD;
	vfg_json_begin_object(json, NULL);
	vfg_json_string(json, "path", node->path);
	vfg_json_string(json, "kind", vfg_node_kind_name(node->kind));
	json_rdev(json, node->rdev);
	vfg_json_string(json, "opened_by", manager ? "manager" : "hypervisor");
	const vfg_hostdev *path_user = manager ? NULL : vfg_plan_path_hostdev(plan, n);
	char bdf[VFG_HOSTDEV_NAME_MAX];
	json_string_or_null(json, "path_access_for", path_user ? vfg_hostdev_name(&path_user->spec, bdf) : NULL);
	vfg_json_bool(json, "sets_rlimit_mode", manager && node->kind == VFG_NODE_IOMMUFD);
	vfg_json_begin_array(json, "layers");
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_step *step = vfg_plan_find_step(plan, l, n);
		if (step)
			json_fd_layer(json, plan, step);
	}
	vfg_json_end_array(json);
	vfg_json_end_object(json);
}

/* The fd-access hostdevs of a dry run: their nodes mostly need no step, so the steps alone never show them. */
static void json_fd_access(vfg_json *json, const vfg_plan *plan)
{
	vfg_json_begin_array(json, "fd_access");
	for (size_t h = 0; h < plan->n_hostdevs; h++) {
		const vfg_hostdev *hostdev = &plan->hostdevs[h];
		if (hostdev->spec.access != VFG_ACCESS_FD)
			continue;
		char bdf[VFG_HOSTDEV_NAME_MAX];
		vfg_json_begin_object(json, NULL);
		vfg_json_string(json, "hostdev", vfg_hostdev_name(&hostdev->spec, bdf));
		vfg_json_string(json, "backend", vfg_backend_name(hostdev->backend));
		vfg_json_begin_array(json, "nodes");
		for (size_t i = 0; i < hostdev->n_nodes; i++)
			json_fd_node(json, plan, hostdev->nodes[i]);
		vfg_json_end_array(json);
		vfg_json_end_object(json);
	}
	vfg_json_end_array(json);
}

VFG_EXPORT int vfg_plan_write_steps_json(const vfg_plan *plan, FILE *out)
{
	vfg_json json = {.out = out};
	vfg_json_begin_object(&json, NULL);
	vfg_json_bool(&json, "dry_run", true);
	vfg_json_write_plan_head(&json, plan);
	vfg_json_begin_array(&json, "steps");
	for (size_t i = 0; i < plan->n_steps; i++)
		if (VFG_ACTION_IS_CHANGE(plan->steps[i].action))
			json_step(&json, plan, &plan->steps[i]);
	for (size_t i = 0; i < plan->n_domain_labelers; i++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[i];
		if (VFG_ACTION_IS_CHANGE(dl->step.action))
			json_step_of(&json, dl->labeler->name, dl->subject.path, &dl->step, false);
	}
	vfg_json_end_array(&json);
	json_fd_access(&json, plan);
	vfg_json_end_object(&json);
	return ferror(out) ? -1 : 0;
}

VFG_EXPORT int vfg_error_write_json(const vfg_error *err, FILE *out)
{
	vfg_json json = {.out = out};
	vfg_json_begin_object(&json, NULL);
	vfg_json_begin_object(&json, "error");
	vfg_json_string(&json, "message", err->message);
	json_string_or_null(&json, "subject", err->subject);
	vfg_json_int(&json, "errno", err->errnum);
	vfg_json_end_object(&json);
	vfg_json_end_object(&json);
	return ferror(out) ? -1 : 0;
}
