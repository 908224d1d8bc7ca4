/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dry run for people: the changes apply would make, in order, then each
 * fd-access hostdev: the nodes the manager opens for it, and what every layer
 * grants them or not, and why. Those nodes mostly need no change, so without
 * that part a dry run would not mention them at all.
 */
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"

enum {
	STEP_INDENT = 17, /* "   1. dac        " and "      dac        " */
};

/* Change @number: @labeler's step on @node (a domain-scope labeler's: its subject); @held: apply keeps it. */
static void write_change(size_t number, const char *labeler, const char *node, const vfg_step *step, bool held,
			 size_t columns, FILE *out)
{
	vfg_text_printf(out, columns, STEP_INDENT, "  %2zu. %-10s %-26s %s", number, labeler, node, step->detail);
	vfg_text_printf(out, columns, STEP_INDENT, "%*s%s", STEP_INDENT, "", step->reason);
	if (held)
		vfg_text_printf(out, columns, STEP_INDENT,
				"%*sheld already: the domain holds this grant, and apply keeps it as it is",
				STEP_INDENT, "");
}

static void write_changes(const vfg_plan *plan, size_t columns, FILE *out)
{
	size_t count = vfg_plan_changes(plan), number = 0, held = vfg_plan_held_count(plan);
	fprintf(out, "dry run for domain %s: %zu step%s, nothing changed", plan->domain.name, count,
		count == 1 ? "" : "s");
	if (held)
		fprintf(out, " (%zu held already: apply keeps %s)", held, held == 1 ? "it" : "them");
	fputc('\n', out);

	for (size_t i = 0; i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		if (VFG_ACTION_IS_CHANGE(step->action))
			write_change(++number, plan->labelers[step->labeler].labeler->name,
				     plan->nodes[step->node].path, step, vfg_plan_step_held(plan, i), columns, out);
	}
	/* The domain-scope labelers' changes come after every node's, as apply makes them. */
	for (size_t i = 0; i < plan->n_domain_labelers; i++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[i];
		if (VFG_ACTION_IS_CHANGE(dl->step.action))
			write_change(++number, dl->labeler->name, dl->subject.path, &dl->step, false, columns, out);
	}
	for (size_t l = 0; l < plan->n_labelers; l++)
		if (!plan->labelers[l].probe.active)
			vfg_text_printf(out, columns, 4, "  %s is inactive: %s", plan->labelers[l].labeler->name,
					plan->labelers[l].probe.note);
	for (size_t i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].action == VFG_ACTION_REFUSE)
			vfg_text_printf(out, columns, 4, "  apply would refuse: %s %s: %s",
					plan->labelers[plan->steps[i].labeler].labeler->name,
					plan->nodes[plan->steps[i].node].path, plan->steps[i].reason);
	for (size_t i = 0; i < plan->n_domain_labelers; i++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[i];
		if (dl->step.action == VFG_ACTION_REFUSE)
			vfg_text_printf(out, columns, 4, "  apply would refuse: %s %s: %s", dl->labeler->name,
					dl->subject.path, dl->step.reason);
	}
	if (plan->apply_refusal)
		vfg_text_printf(out, columns, 4, "  apply would refuse: %s", plan->apply_refusal);
}

/* One layer on a node the manager opens: the step that grants it, or why nothing is granted. */
static void write_fd_layer(const vfg_plan *plan, const vfg_step *step, size_t columns, FILE *out)
{
	const char *name = plan->labelers[step->labeler].labeler->name;
	size_t number = vfg_plan_change_number(plan, (size_t)(step - plan->steps));
	switch (step->action) {
	case VFG_ACTION_NONE:
		vfg_text_printf(out, columns, STEP_INDENT, "      %-10s not granted: %s", name, step->reason);
		return;
	case VFG_ACTION_INACTIVE:
		vfg_text_printf(out, columns, STEP_INDENT, "      %-10s inactive: %s", name, step->reason);
		return;
	/* A change is a step above, with its reason there. */
	case VFG_ACTION_GRANT:
		vfg_text_printf(out, columns, STEP_INDENT, "      %-10s granted, step %zu: %s", name, number,
				step->detail);
		return;
	case VFG_ACTION_REVOKE:
		vfg_text_printf(out, columns, STEP_INDENT, "      %-10s taken back, step %zu: %s", name, number,
				step->detail);
		return;
	case VFG_ACTION_REFUSE:
		vfg_text_printf(out, columns, STEP_INDENT, "      %-10s refused: %s", name, step->detail);
		break;
	}
	vfg_text_printf(out, columns, STEP_INDENT, "%*s%s", STEP_INDENT, "", step->reason);
}

/* What happens to the fd-access hostdev's node @n; @described marks the nodes whose layers are already listed. */
static void write_fd_node(const vfg_plan *plan, size_t n, bool *described, size_t columns, FILE *out)
{
	const vfg_node *node = &plan->nodes[n];
	char head[VFG_PATH_MAX + 64], bdf[VFG_HOSTDEV_NAME_MAX];
	snprintf(head, sizeof(head), "    %s (%s %u:%u)", node->path, vfg_node_kind_name(node->kind), major(node->rdev),
		 minor(node->rdev));
	if (node->access == VFG_ACCESS_PATH) {
		/* plan.c: a node one hostdev needs by path is planned as path for all ("path wins"). */
		const vfg_hostdev *user = vfg_plan_path_hostdev(plan, n);
		vfg_text_printf(
			out, columns, 6,
			"%s: path access, since %s needs it: the hypervisor opens it itself, with the grants of "
			"the steps above",
			head, user ? vfg_hostdev_name(&user->spec, bdf) : "another hostdev");
		return;
	}
	if (described[n]) {
		vfg_text_printf(out, columns, 6, "%s: the manager opens it once for the domain, as above", head);
		return;
	}
	described[n] = true;
	char group[64] = "";
	if (node->kind == VFG_NODE_GROUP)
		snprintf(group, sizeof(group), "; one fd for every function of IOMMU group %u", node->group);
	vfg_text_printf(out, columns, 6, "%s: the manager opens it O_RDWR and passes the fd to the hypervisor%s", head,
			node->kind == VFG_NODE_IOMMUFD
				? "; right after the open it sets IOMMU_OPTION RLIMIT_MODE=1, so "
				  "pinned pages count against the hypervisor process "
				  "(rlimit_mode)"
				: group);
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_step *step = vfg_plan_find_step(plan, l, n);
		if (step)
			write_fd_layer(plan, step, columns, out);
	}
}

static int write_fd_access(const vfg_plan *plan, size_t columns, FILE *out)
{
	bool any = false;
	for (size_t h = 0; h < plan->n_hostdevs; h++)
		any |= plan->hostdevs[h].spec.access == VFG_ACCESS_FD;
	if (!any)
		return 0;
	_cleanup_free_ bool *described = calloc(plan->n_nodes ? plan->n_nodes : 1, sizeof(*described));
	if (!described)
		return -1;
	fputc('\n', out);
	vfg_text_printf(
		out, columns, 2,
		"fd access (docs/fds.md): the manager, vfguard exec or vfguard fds, opens each node below and "
		"passes the fd to the hypervisor; a node another hostdev needs by path is the hypervisor's to open:");
	for (size_t h = 0; h < plan->n_hostdevs; h++) {
		const vfg_hostdev *hostdev = &plan->hostdevs[h];
		if (hostdev->spec.access != VFG_ACCESS_FD)
			continue;
		char bdf[VFG_HOSTDEV_NAME_MAX];
		vfg_text_printf(out, columns, 4, "  %s (%s backend):", vfg_hostdev_name(&hostdev->spec, bdf),
				vfg_backend_name(hostdev->backend));
		for (size_t i = 0; i < hostdev->n_nodes; i++)
			write_fd_node(plan, hostdev->nodes[i], described, columns, out);
	}
	return 0;
}

VFG_EXPORT int vfg_plan_write_steps_text_width(const vfg_plan *plan, unsigned columns, FILE *out)
{
	write_changes(plan, columns, out);
	if (write_fd_access(plan, columns, out) < 0)
		return -1;
	return ferror(out) ? -1 : 0;
}

VFG_EXPORT int vfg_plan_write_steps_text(const vfg_plan *plan, FILE *out)
{
	return vfg_plan_write_steps_text_width(plan, VFG_TEXT_COLUMNS, out);
}
