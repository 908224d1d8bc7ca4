/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan: the nodes a domain's hostdevs need, and what each labeler would
 * do about each. Building it reads the host and changes nothing.
 */
#include <errno.h>
#include <string.h>

#include "journal.h"

/* The nodes a backend needs; where their MAJ:MIN comes from in sysfs. */
static int node_sysfs_rdev(const vfg_context *ctx, const vfg_hostdev *hostdev, vfg_node_kind kind, dev_t *rdev,
			   vfg_error *err)
{
	char logical[96], path[VFG_PATH_MAX];
	switch (kind) {
	case VFG_NODE_CONTAINER:
		snprintf(logical, sizeof(logical), "/sys/class/misc/vfio/dev");
		break;
	case VFG_NODE_IOMMUFD:
		snprintf(logical, sizeof(logical), "/sys/class/misc/iommu/dev");
		break;
	case VFG_NODE_GROUP:
		snprintf(logical, sizeof(logical), "/sys/class/vfio/%u/dev", hostdev->group.number);
		break;
	case VFG_NODE_CDEV:
		*rdev = hostdev->cdev_rdev; /* read from vfio-dev/vfioN/dev by enumeration */
		return 0;
	case VFG_NODE_DOMAIN:
		return vfg_error_set(err, EINVAL, hostdev->function.driver, "a hostdev needs no domain node");
	}
	if (vfg_host_path(ctx, logical, path, sizeof(path), err) < 0)
		return -1;
	return vfg_sysfs_read_devnum(path, rdev, err);
}

static void node_describe(const vfg_hostdev *hostdev, vfg_node_kind kind, vfg_node *node)
{
	node->kind = kind;
	switch (kind) {
	case VFG_NODE_CONTAINER:
		snprintf(node->path, sizeof(node->path), "/dev/vfio/vfio");
		node->shared = true;
		break;
	case VFG_NODE_IOMMUFD:
		snprintf(node->path, sizeof(node->path), "/dev/iommu");
		node->shared = true;
		break;
	case VFG_NODE_GROUP:
		snprintf(node->path, sizeof(node->path), "/dev/vfio/%u", hostdev->group.number);
		node->group = hostdev->group.number;
		break;
	case VFG_NODE_CDEV:
		snprintf(node->path, sizeof(node->path), "/dev/vfio/devices/%s", hostdev->cdev);
		node->group = hostdev->group.number;
		break;
	case VFG_NODE_DOMAIN:
		break;
	}
}

/* Add the node, or find it when another hostdev of the domain needs it too; returns its index. */
static int plan_add_node(vfg_context *ctx, vfg_plan *plan, vfg_hostdev *hostdev, vfg_node_kind kind, vfg_error *err)
{
	vfg_node wanted = {0};
	node_describe(hostdev, kind, &wanted);
	for (size_t i = 0; i < plan->n_nodes; i++) {
		if (strcmp(plan->nodes[i].path, wanted.path) != 0)
			continue;
		/* Path access wins: the hypervisor opens it itself when any hostdev needs that. */
		if (hostdev->spec.access == VFG_ACCESS_PATH)
			plan->nodes[i].access = VFG_ACCESS_PATH;
		hostdev->nodes[hostdev->n_nodes++] = i;
		return 0;
	}

	wanted.access = hostdev->spec.access;
	if (node_sysfs_rdev(ctx, hostdev, kind, &wanted.rdev, err) < 0 || vfg_node_inspect(ctx, &wanted, err) < 0)
		return -1;
	vfg_node *nodes = realloc(plan->nodes, (plan->n_nodes + 1) * sizeof(*nodes));
	if (!nodes)
		return vfg_error_set(err, ENOMEM, wanted.path, "cannot plan node");
	plan->nodes = nodes;
	plan->nodes[plan->n_nodes] = wanted;
	hostdev->nodes[hostdev->n_nodes++] = plan->n_nodes++;
	return 0;
}

static int plan_add_hostdev_nodes(vfg_context *ctx, vfg_plan *plan, vfg_hostdev *hostdev, vfg_error *err)
{
	switch (hostdev->backend) {
	case VFG_BACKEND_LEGACY:
		return plan_add_node(ctx, plan, hostdev, VFG_NODE_CONTAINER, err) < 0
			       ? -1
			       : plan_add_node(ctx, plan, hostdev, VFG_NODE_GROUP, err);
	case VFG_BACKEND_IOMMUFD:
		return plan_add_node(ctx, plan, hostdev, VFG_NODE_IOMMUFD, err) < 0
			       ? -1
			       : plan_add_node(ctx, plan, hostdev, VFG_NODE_CDEV, err);
	case VFG_BACKEND_AUTO:
		break;
	}
	return vfg_error_set(err, EINVAL, "", "hostdev without a resolved backend");
}

/*
 * One domain, one claim per function, and one backend per IOMMU group: the
 * group's DMA ownership is taken either through a legacy group fd or through
 * device cdevs, and the kernel refuses to mix the two for one group.
 */
static int check_hostdev_against_others(const vfg_plan *plan, size_t index, vfg_error *err)
{
	const vfg_hostdev *hostdev = &plan->hostdevs[index];
	char bdf[VFG_PCI_ADDR_STRLEN], other_bdf[VFG_PCI_ADDR_STRLEN];
	vfg_pci_addr_format(&hostdev->spec.addr, bdf);
	for (size_t i = 0; i < index; i++) {
		const vfg_hostdev *other = &plan->hostdevs[i];
		vfg_pci_addr_format(&other->spec.addr, other_bdf);
		if (vfg_pci_addr_equal(&other->spec.addr, &hostdev->spec.addr))
			return vfg_error_set(err, 0, bdf, "hostdev given twice");
		if (other->group.number == hostdev->group.number && other->backend != hostdev->backend)
			return vfg_error_set(err, 0, bdf,
					     "shares IOMMU group %u with %s, but uses backend %s where %s uses %s: "
					     "one group takes one backend",
					     hostdev->group.number, other_bdf, vfg_backend_name(hostdev->backend),
					     other_bdf, vfg_backend_name(other->backend));
	}
	return 0;
}

static int plan_copy_domain(vfg_plan *plan, const vfg_domain *domain, vfg_error *err)
{
	if (vfg_domain_name_check(domain->name, err) < 0)
		return -1;
	if (domain->n_hostdevs == 0)
		return vfg_error_set(err, 0, domain->name, "domain has no hostdev to plan for (--hostdev)");

	vfg_hostdev_spec *specs = calloc(domain->n_hostdevs, sizeof(*specs));
	plan->hostdevs = calloc(domain->n_hostdevs, sizeof(*plan->hostdevs));
	if (!specs || !plan->hostdevs) {
		free(specs);
		return vfg_error_set(err, ENOMEM, domain->name, "cannot plan");
	}
	memcpy(specs, domain->hostdevs, domain->n_hostdevs * sizeof(*specs));
	plan->domain = *domain;
	plan->domain.hostdevs = specs;
	return 0;
}

/* A domain-scope labeler: probed and planned once, for the subject its probe names. */
static int plan_domain_labeler(const vfg_context *ctx, const host_journal *hj, vfg_plan *plan,
			       const vfg_labeler *labeler, vfg_error *err)
{
	vfg_planned_domain_labeler *dl = &plan->domain_labelers[plan->n_domain_labelers++];
	dl->labeler = labeler;
	txn_view view;
	vfg_labeler_env env = txn_view_env(ctx, &view, hj, labeler->name);
	if (labeler->probe(&env, &plan->domain, &dl->probe, err) < 0) {
		vfg_error_prefix(err, "%s: probe", labeler->name);
		return -1;
	}
	dl->subject.kind = VFG_NODE_DOMAIN;
	snprintf(dl->subject.path, sizeof(dl->subject.path), "%s", dl->probe.subject);
	if (labeler->plan(&env, &plan->domain, &dl->probe, &dl->subject, &dl->step, err) < 0) {
		vfg_error_prefix(err, "%s: plan", labeler->name);
		return -1;
	}
	return 0;
}

static int plan_labelers(vfg_context *ctx, const host_journal *hj, vfg_plan *plan, vfg_error *err)
{
	plan->labelers = calloc(ctx->n_labelers, sizeof(*plan->labelers));
	plan->steps = calloc(ctx->n_labelers * plan->n_nodes, sizeof(*plan->steps));
	plan->domain_labelers = calloc(ctx->n_labelers, sizeof(*plan->domain_labelers));
	if (!plan->labelers || !plan->steps || !plan->domain_labelers)
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");

	for (size_t l = 0; l < ctx->n_labelers; l++) {
		if (ctx->labelers[l]->scope == VFG_SCOPE_DOMAIN) {
			if (plan_domain_labeler(ctx, hj, plan, ctx->labelers[l], err) < 0)
				return -1;
			continue;
		}
		size_t index = plan->n_labelers++;
		vfg_planned_labeler *pl = &plan->labelers[index];
		pl->labeler = ctx->labelers[l];
		txn_view view;
		vfg_labeler_env env = txn_view_env(ctx, &view, hj, pl->labeler->name);
		if (pl->labeler->probe(&env, &plan->domain, &pl->probe, err) < 0) {
			vfg_error_prefix(err, "%s: probe", pl->labeler->name);
			return -1;
		}
		for (size_t n = 0; n < plan->n_nodes; n++) {
			vfg_step *step = &plan->steps[plan->n_steps];
			step->node = n;
			step->labeler = index;
			if (pl->labeler->plan(&env, &plan->domain, &pl->probe, &plan->nodes[n], step, err) < 0) {
				vfg_error_prefix(err, "%s: plan for %s", pl->labeler->name, plan->nodes[n].path);
				return -1;
			}
			plan->n_steps++;
		}
	}
	return 0;
}

/*
 * A node the plan gives fd access may still carry the path grant an earlier
 * run of the same domain made: least privilege says take it back, so the
 * step becomes a revoke (read under the shared host lock; apply re-checks
 * under the exclusive one).
 */
static void plan_leftover_grants(const host_journal *hj, vfg_plan *plan)
{
	const domain_journal *dj = host_journal_find(hj, plan->domain.name);
	for (size_t i = 0; dj && i < plan->n_steps; i++) {
		vfg_step *step = &plan->steps[i];
		const vfg_node *node = &plan->nodes[step->node];
		const char *labeler = plan->labelers[step->labeler].labeler->name;
		if (node->access != VFG_ACCESS_FD || step->action == VFG_ACTION_GRANT ||
		    !domain_journal_find_record(dj, labeler, node->path))
			continue;
		vfg_step_set(
			step, VFG_ACTION_REVOKE, "undo the path grant",
			"fd access needs no path grant here, and an earlier run of domain %s left one: it is taken "
			"back",
			plan->domain.name);
	}
}

VFG_EXPORT int vfg_plan_build(vfg_context *ctx, const vfg_domain *domain, vfg_plan **result, vfg_error *err)
{
	vfg_plan *plan = calloc(1, sizeof(*plan));
	if (!plan)
		return vfg_error_set(err, ENOMEM, domain->name, "cannot plan");
	if (plan_copy_domain(plan, domain, err) < 0) {
		vfg_plan_free(plan);
		return -1;
	}

	for (size_t i = 0; i < domain->n_hostdevs; i++) {
		if (vfg_hostdev_enumerate(ctx, &plan->domain.hostdevs[i], &plan->hostdevs[i], err) < 0) {
			vfg_plan_free(plan);
			return -1;
		}
		plan->n_hostdevs++;
		/* The labelers see the backend that serves it (core/plan.h: vfg_plan). */
		((vfg_hostdev_spec *)plan->domain.hostdevs)[i].backend = plan->hostdevs[i].backend;
		if (check_hostdev_against_others(plan, i, err) < 0 ||
		    plan_add_hostdev_nodes(ctx, plan, &plan->hostdevs[i], err) < 0) {
			vfg_plan_free(plan);
			return -1;
		}
	}

	/* Read under the shared host lock; apply checks again under the exclusive one. */
	host_journal hj;
	if (host_journal_open_for(ctx, false, plan->domain.name, &hj, err) < 0) {
		vfg_plan_free(plan);
		return -1;
	}
	int r = plan_labelers(ctx, &hj, plan, err);
	if (r == 0)
		plan_leftover_grants(&hj, plan);
	host_journal_close(&hj);
	if (r < 0) {
		vfg_plan_free(plan);
		return -1;
	}
	*result = plan;
	return 0;
}

VFG_EXPORT void vfg_plan_free(vfg_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n_hostdevs; i++)
		vfg_hostdev_clear(&plan->hostdevs[i]);
	free(plan->hostdevs);
	free((void *)plan->domain.hostdevs);
	free(plan->nodes);
	free(plan->labelers);
	free(plan->steps);
	free(plan->domain_labelers);
	free(plan);
}

VFG_EXPORT const vfg_domain *vfg_plan_domain(const vfg_plan *plan)
{
	return &plan->domain;
}

/*
 * The other accessors of the opaque plan (<vfguard/plan.h>): vfg_plan_n_ARRAY
 * is the plan's count of ARRAY; FUNCTION(plan, index) gives @value of its
 * @entry number @index, NULL past the last.
 */
#define PLAN_COUNT(array)                                          \
	VFG_EXPORT size_t vfg_plan_n_##array(const vfg_plan *plan) \
	{                                                          \
		return plan->n_##array;                            \
	}
#define PLAN_ENTRY(type, function, array, value)                             \
	VFG_EXPORT const type *function(const vfg_plan *plan, size_t index)  \
	{                                                                    \
		if (index >= plan->n_##array)                                \
			return NULL;                                         \
		const __typeof__(*plan->array) *entry = &plan->array[index]; \
		return value;                                                \
	}

PLAN_COUNT(hostdevs)
PLAN_ENTRY(vfg_hostdev, vfg_plan_hostdev, hostdevs, entry)
PLAN_COUNT(nodes)
PLAN_ENTRY(vfg_node, vfg_plan_node, nodes, entry)
PLAN_COUNT(labelers)
PLAN_ENTRY(vfg_labeler, vfg_plan_labeler, labelers, entry->labeler)
PLAN_ENTRY(vfg_probe, vfg_plan_labeler_probe, labelers, &entry->probe)
PLAN_COUNT(steps)
PLAN_ENTRY(vfg_step, vfg_plan_step, steps, entry)
PLAN_COUNT(domain_labelers)
PLAN_ENTRY(vfg_labeler, vfg_plan_domain_labeler, domain_labelers, entry->labeler)
PLAN_ENTRY(vfg_probe, vfg_plan_domain_labeler_probe, domain_labelers, &entry->probe)
PLAN_ENTRY(vfg_node, vfg_plan_domain_labeler_subject, domain_labelers, &entry->subject)
PLAN_ENTRY(vfg_step, vfg_plan_domain_labeler_step, domain_labelers, &entry->step)

size_t vfg_plan_changes(const vfg_plan *plan)
{
	size_t count = 0;
	for (size_t i = 0; i < plan->n_steps; i++)
		count += VFG_ACTION_IS_CHANGE(plan->steps[i].action);
	for (size_t i = 0; i < plan->n_domain_labelers; i++)
		count += VFG_ACTION_IS_CHANGE(plan->domain_labelers[i].step.action);
	return count;
}

size_t vfg_plan_change_number(const vfg_plan *plan, size_t step)
{
	if (!VFG_ACTION_IS_CHANGE(plan->steps[step].action))
		return 0;
	size_t number = 1;
	for (size_t i = 0; i < step; i++)
		number += VFG_ACTION_IS_CHANGE(plan->steps[i].action);
	return number;
}

const vfg_step *vfg_plan_find_step(const vfg_plan *plan, size_t labeler, size_t node)
{
	for (size_t i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].labeler == labeler && plan->steps[i].node == node)
			return &plan->steps[i];
	return NULL;
}

const vfg_hostdev *vfg_plan_path_hostdev(const vfg_plan *plan, size_t node)
{
	for (size_t h = 0; h < plan->n_hostdevs; h++) {
		const vfg_hostdev *hostdev = &plan->hostdevs[h];
		for (size_t n = 0; n < hostdev->n_nodes; n++)
			if (hostdev->nodes[n] == node && hostdev->spec.access == VFG_ACCESS_PATH)
				return hostdev;
	}
	return NULL;
}
