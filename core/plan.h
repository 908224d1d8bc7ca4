/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_PLAN_H
#define VFGUARD_CORE_PLAN_H

/*
 * What a plan holds, for the library's own files (core/, memlock/,
 * namespace/). Outside the library vfg_plan is opaque (<vfguard/plan.h>):
 * managers read it through the accessors, so its layout may change without
 * breaking them.
 */

#include <vfguard/plan.h>

typedef struct vfg_text_store vfg_text_store; /* internal.h: text_store.c */

/* A node-scope labeler loaded in the context, with what its probe found for the plan's domain. */
typedef struct vfg_planned_labeler {
	const vfg_labeler *labeler;
	vfg_probe probe;
} vfg_planned_labeler;

/* A domain-scope labeler (labeler.h: VFG_SCOPE_DOMAIN) in the plan: what its probe found, and its one step. */
typedef struct vfg_planned_domain_labeler {
	const vfg_labeler *labeler;
	vfg_probe probe;
	vfg_node subject; /* kind VFG_NODE_DOMAIN, path the probe's subject ("" when none) */
	vfg_step step; /* its node and labeler indexes mean nothing */
} vfg_planned_domain_labeler;

/*
 * Everything vfguard would do for a domain. Steps come in apply order:
 * labeler by labeler in the configured order (the namespace component last,
 * so it copies what the others made of the host node), node by node; then
 * the domain-scope labelers' one step each (the locked-memory limit).
 * The labelers see the domain with each hostdev's backend as resolved.
 */
struct vfg_plan {
	uint64_t ctx_id; /* the context that built it (vfg_context.id): its labelers' tables, its configuration */
	vfg_domain domain; /* hostdevs points into the plan's own copy */
	size_t n_hostdevs;
	vfg_hostdev *hostdevs;
	size_t n_nodes;
	vfg_node *nodes;
	size_t *path_hostdev; /* per node: the first hostdev with path access that uses it, + 1; 0: none */
	/*
	 * Per node: the O_PATH fd enumeration checked it through, or -1; kept
	 * until the labelers planned, or, when the plan is applied in the same
	 * hold of the lock (keep_node_fds), until the apply is done.
	 */
	int *node_fds;
	bool keep_node_fds;
	size_t n_labelers; /* the node-scope labelers */
	vfg_planned_labeler *labelers;
	size_t n_steps; /* n_labelers * n_nodes */
	vfg_step *steps; /* labeler by labeler, node by node */
	size_t *change_numbers; /* per step: its number among the changes, 0 for no change */
	size_t n_domain_labelers;
	vfg_planned_domain_labeler *domain_labelers;
	vfg_text_store *texts; /* every step's detail and reason, each text once */
	vfg_pci_addr *functions; /* the hostdevs' PCI functions (not mdevs), sorted: vfg_plan_group_mate() */
	size_t n_functions;
	/*
	 * What apply would find under its lock, as vfg_plan_build read the
	 * journal (plan.c: plan_note_apply), for plan and the dry run to show:
	 * per node step, a grant the domain holds already, which apply keeps
	 * (NULL: none, or a plan made otherwise); and a refusal of apply's own
	 * besides the steps' (a group another domain holds...), or NULL.
	 */
	bool *held;
	const char *apply_refusal;
};

/* Node step @step is a grant the domain holds already: apply keeps it and changes nothing there. */
static inline bool vfg_plan_step_held(const vfg_plan *plan, size_t step)
{
	return plan->held && plan->held[step];
}

/* How many node steps are grants the domain holds already. */
static inline size_t vfg_plan_held_count(const vfg_plan *plan)
{
	size_t held = 0;
	for (size_t i = 0; plan->held && i < plan->n_steps; i++)
		held += plan->held[i];
	return held;
}

/* The step of @labeler for @node; NULL when the plan has none. */
const vfg_step *vfg_plan_find_step(const vfg_plan *plan, size_t labeler, size_t node);
/* How many changes apply would make: the node steps', then the domain-scope labelers'. */
size_t vfg_plan_changes(const vfg_plan *plan);
/* Step @step's number among the changes apply makes (1, 2, ...; the dry run's numbering); 0 for no change. */
size_t vfg_plan_change_number(const vfg_plan *plan, size_t step);
/* A hostdev with path access that uses @node (path wins: the hypervisor opens that node); NULL when none. */
const vfg_hostdev *vfg_plan_path_hostdev(const vfg_plan *plan, size_t node);
/* @member of @hostdev's IOMMU group reaches the hypervisor with it, though the domain did not ask for it. */
bool vfg_plan_group_mate(const vfg_plan *plan, const vfg_hostdev *hostdev, const vfg_pci_function *member);

#endif
