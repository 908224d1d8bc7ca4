/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan against what the domain holds already (its journal): the nodes
 * its hostdevs outside the plan still open by path, which a switch to fd
 * access must leave granted (plan.c: plan_leftover_grants); and, for a plan
 * made apart from its apply, which grant steps apply keeps as held, which
 * it makes again (held no longer in force), and what it would refuse.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "transaction.h"

/*
 * A node the plan gives fd access may still carry the path grant an earlier
 * run of the same domain made: least privilege says take it back, so the
 * step becomes a revoke (read under the lock the plan is made under; an
 * apply of a plan made apart re-checks under the exclusive one).
 */
static int unsigned_order(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

void held_path_needs_free(held_path_needs *needs)
{
	free(needs->groups);
	*needs = (held_path_needs){0};
}

int held_path_needs_read(const domain_journal *dj, const vfg_plan *plan, held_path_needs *needs, vfg_error *err)
{
	*needs = (held_path_needs){0};
	bool *in_plan = dj && dj->n_claims ? calloc(dj->n_claims, sizeof(*in_plan)) : NULL;
	needs->groups = dj && dj->n_claims ? malloc(dj->n_claims * sizeof(*needs->groups)) : NULL;
	if (dj && dj->n_claims && (!in_plan || !needs->groups)) {
		free(in_plan);
		held_path_needs_free(needs);
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");
	}
	char name[VFG_HOSTDEV_NAME_MAX];
	for (size_t h = 0; in_plan && h < plan->n_hostdevs; h++) {
		const journal_claim *claim =
			domain_journal_find_claim(dj, vfg_hostdev_name(&plan->hostdevs[h].spec, name));
		if (claim)
			in_plan[claim - dj->claims] = true;
	}
	for (size_t c = 0; in_plan && c < dj->n_claims; c++) {
		const journal_claim *claim = &dj->claims[c];
		if (in_plan[c] || claim->access != VFG_ACCESS_PATH)
			continue;
		if (claim->backend == VFG_BACKEND_IOMMUFD) {
			needs->iommu = true;
		} else {
			needs->container = true;
			needs->groups[needs->n_groups++] = claim->group;
		}
	}
	free(in_plan);
	if (needs->n_groups)
		qsort(needs->groups, needs->n_groups, sizeof(*needs->groups), unsigned_order);
	return 0;
}

bool held_path_needs_node(const held_path_needs *needs, const vfg_node *node)
{
	switch (node->kind) {
	case VFG_NODE_CONTAINER:
		return needs->container;
	case VFG_NODE_IOMMUFD:
		return needs->iommu;
	case VFG_NODE_GROUP:
		return needs->n_groups &&
		       bsearch(&node->group, needs->groups, needs->n_groups, sizeof(*needs->groups), unsigned_order);
	case VFG_NODE_CDEV: /* a function's own */
	case VFG_NODE_DOMAIN:
		return false;
	}
	return false;
}

/*
 * A grant held since an earlier apply that is no longer in force: its
 * reason says so, with @why, as apply's note will, so that a dry run tells
 * why a grant the domain holds is made again.
 */
static int plan_note_renewal(vfg_plan *plan, vfg_step *step, const char *why, vfg_error *err)
{
	char reason[VFG_STEP_REASON_MAX + VFG_ERROR_MESSAGE_MAX];
	snprintf(reason, sizeof(reason), "%s; held since an earlier apply, but %s: apply grants it again", step->reason,
		 why[0] ? why : "the change is no longer in force");
	step->reason = vfg_text_store_add(plan->texts, reason);
	return step->reason ? 0 : vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");
}

/*
 * For a plan made apart from its apply (vfg_plan_build: plan, a dry run,
 * a hook that checks the plan): what apply would find under its own lock,
 * as the journal reads now, so that what they show is what apply does. A
 * grant the domain holds already is kept, not made again; and what apply
 * refuses before its first change besides the steps is kept as text for
 * the writers, not as the plan's failure (the dry run says it; apply fails
 * with it under its lock).
 */
int plan_note_apply(const vfg_context *ctx, const host_journal *hj, vfg_plan *plan, vfg_error *err)
{
	const domain_journal *dj = host_journal_find(hj, plan->domain.name);
	if (dj && dj->n_records > 0) {
		plan->held =
			calloc(plan->n_steps ? plan->n_steps : 1, sizeof(*plan->held)); /* NULL: out of memory only */
		if (!plan->held)
			return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");
		for (size_t i = 0; i < plan->n_steps; i++) {
			const vfg_step *step = &plan->steps[i];
			const journal_record *held =
				step->action != VFG_ACTION_GRANT
					? NULL
					: domain_journal_find_record(dj, plan->labelers[step->labeler].labeler->name,
								     plan->nodes[step->node].path);
			/* One no longer in force (a cgroup made again at its path) apply grants again. */
			char why[VFG_ERROR_MESSAGE_MAX / 2];
			int in_force = held ? record_in_force(ctx, hj, plan, step, held, why, sizeof(why), err) : 0;
			if (in_force < 0 ||
			    (held && !in_force && plan_note_renewal(plan, &plan->steps[i], why, err) < 0))
				return -1;
			plan->held[i] = in_force;
		}
	}
	char refused[VFG_HOSTDEV_NAME_MAX];
	vfg_error why = {0};
	if (plan_check_ownership(hj, plan, refused, &why) == 0)
		return 0;
	if (why.errnum != EBUSY) {
		*err = why;
		return -1;
	}
	plan->apply_refusal = vfg_text_store_add(plan->texts, why.message);
	return plan->apply_refusal ? 0 : vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");
}
