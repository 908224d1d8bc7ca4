/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plan for programs. The schema is docs/plan-json.md: keep the two in step. */
#include <string.h>
#include <sys/sysmacros.h>

#include "memlock.h"

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
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_json_begin_object(json, NULL);
	vfg_json_string(json, "address", vfg_pci_addr_format(&hostdev->spec.addr, bdf));
	vfg_json_string(json, "backend", vfg_backend_name(hostdev->backend));
	vfg_json_string(json, "backend_requested", vfg_backend_name(hostdev->spec.backend));
	vfg_json_string(json, "backend_reason", hostdev->backend_reason);
	vfg_json_string(json, "access", vfg_access_name(hostdev->spec.access));
	json_string_or_null(json, "vf_token", hostdev->spec.vf_token);
	json_string_or_null(json, "vf_token_via", vfg_hostdev_vf_token_method(hostdev));
	vfg_json_bool(json, "managed", hostdev->spec.managed);
	json_function(json, "function", &hostdev->function);
	json_string_or_null(json, "cdev", hostdev->cdev);
	vfg_json_begin_object(json, "iommu_group");
	vfg_json_int(json, "number", hostdev->group.number);
	vfg_json_begin_array(json, "members");
	for (size_t i = 0; i < hostdev->group.n_members; i++)
		json_function(json, NULL, &hostdev->group.members[i]);
	vfg_json_end_array(json);
	vfg_json_end_object(json);
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

static void json_step(vfg_json *json, const vfg_plan *plan, const vfg_step *step)
{
	vfg_json_begin_object(json, NULL);
	vfg_json_string(json, "labeler", plan->labelers[step->labeler].labeler->name);
	vfg_json_string(json, "node", plan->nodes[step->node].path);
	vfg_json_string(json, "action", vfg_action_name(step->action));
	vfg_json_string(json, "detail", step->detail);
	vfg_json_string(json, "reason", step->reason);
	vfg_json_end_object(json);
}

/* A limit in bytes, or "unlimited". */
static void json_limit(vfg_json *json, const char *key, uint64_t value)
{
	if (value == UINT64_MAX)
		vfg_json_string(json, key, "unlimited");
	else
		vfg_json_int(json, key, (long long)value);
}

static void json_memlock(vfg_json *json, const vfg_plan *plan)
{
	const vfg_memlock *m = &plan->memlock;
	vfg_json_begin_object(json, "memlock");
	vfg_json_bool(json, "computed", m->computed);
	if (m->computed) {
		vfg_json_int(json, "memory", (long long)m->input.memory);
		vfg_json_int(json, "legacy_devices", (long long)m->input.legacy_devices);
		vfg_json_int(json, "iommufd_devices", (long long)m->input.iommufd_devices);
		vfg_json_bool(json, "viommu", m->input.viommu);
		vfg_json_string(json, "iommufd_accounting", m->input.iommufd_per_process ? "process" : "user");
		vfg_json_int(json, "extra", (long long)m->input.extra);
		vfg_json_int(json, "page_size", (long long)m->input.page_size);
		vfg_json_bool(json, "ipc_lock", m->input.ipc_lock);
		vfg_json_int(json, "process_copies", (long long)m->process_copies);
		vfg_json_int(json, "user_copies", (long long)m->user_copies);
		vfg_json_int(json, "required", (long long)m->required);
		vfg_json_string(json, "formula", m->formula);
	} else {
		vfg_json_null(json, "required");
		vfg_json_null(json, "formula");
	}
	if (m->live) {
		vfg_json_int(json, "pid", plan->domain.pid);
		json_limit(json, "soft", m->soft);
		json_limit(json, "hard", m->hard);
	} else {
		vfg_json_null(json, "pid");
		vfg_json_null(json, "soft");
		vfg_json_null(json, "hard");
	}
	if (m->computed && (m->live || m->input.ipc_lock))
		vfg_json_bool(json, "suffices", m->suffices);
	else
		vfg_json_null(json, "suffices");
	vfg_json_string(json, "action", memlock_would_raise(m) ? "raise" : "none");
	vfg_json_string(json, "note", m->note);
	vfg_json_end_object(json);
}

/* The domain's own step of a dry run: raising the hypervisor's limit. */
static void json_memlock_step(vfg_json *json, const vfg_plan *plan)
{
	char path[32], detail[64], need[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)plan->domain.pid);
	snprintf(detail, sizeof(detail), "raise RLIMIT_MEMLOCK to %s",
		 memlock_size_text(plan->memlock.required, need, sizeof(need)));
	vfg_json_begin_object(json, NULL);
	vfg_json_string(json, "labeler", MEMLOCK_LABELER);
	vfg_json_string(json, "node", path);
	vfg_json_string(json, "action", vfg_action_name(VFG_ACTION_GRANT));
	vfg_json_string(json, "detail", detail);
	vfg_json_string(json, "reason", plan->memlock.formula);
	vfg_json_end_object(json);
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
		const vfg_plan_labeler *pl = &plan->labelers[i];
		vfg_json_begin_object(json, NULL);
		vfg_json_string(json, "name", pl->labeler->name);
		vfg_json_string(json, "summary", pl->labeler->summary);
		vfg_json_bool(json, "active", pl->probe.active);
		vfg_json_string(json, "note", pl->probe.note);
		vfg_json_end_object(json);
	}
	vfg_json_end_array(json);
	json_memlock(json, plan);
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
	char bdf[VFG_PCI_ADDR_STRLEN];
	json_string_or_null(json, "path_access_for",
			    path_user ? vfg_pci_addr_format(&path_user->spec.addr, bdf) : NULL);
	vfg_json_bool(json, "sets_rlimit_mode", manager && node->kind == VFG_NODE_IOMMUFD);
	vfg_json_begin_array(json, "layers");
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_step *step = vfg_plan_step(plan, l, n);
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
		char bdf[VFG_PCI_ADDR_STRLEN];
		vfg_json_begin_object(json, NULL);
		vfg_json_string(json, "hostdev", vfg_pci_addr_format(&hostdev->spec.addr, bdf));
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
	if (memlock_would_raise(&plan->memlock))
		json_memlock_step(&json, plan);
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
