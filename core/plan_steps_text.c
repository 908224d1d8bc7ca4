/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The dry run for people: the changes apply would make, in order. */
#include <string.h>

#include "memlock.h"

enum {
	STEP_INDENT = 17, /* "   1. dac        " and "      dac        " */
};

static void write_changes(const vfg_plan *plan, size_t columns, FILE *out)
{
	size_t count = memlock_would_raise(&plan->memlock);
	for (size_t i = 0; i < plan->n_steps; i++)
		count += VFG_ACTION_IS_CHANGE(plan->steps[i].action);
	fprintf(out, "dry run for domain %s: %zu step%s, nothing changed\n", plan->domain.name, count,
		count == 1 ? "" : "s");

	for (size_t i = 0; i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		if (!VFG_ACTION_IS_CHANGE(step->action))
			continue;
		vfg_text_printf(out, columns, STEP_INDENT, "  %2zu. %-10s %-26s %s", vfg_plan_change_number(plan, i),
				plan->labelers[step->labeler].labeler->name, plan->nodes[step->node].path,
				step->detail);
		vfg_text_printf(out, columns, STEP_INDENT, "%*s%s", STEP_INDENT, "", step->reason);
	}
	if (memlock_would_raise(&plan->memlock)) {
		char path[32], need[32];
		snprintf(path, sizeof(path), "/proc/%d", (int)plan->domain.pid);
		vfg_text_printf(out, columns, STEP_INDENT, "  %2zu. %-10s %-26s raise RLIMIT_MEMLOCK to %s", count,
				MEMLOCK_LABELER, path, memlock_size_text(plan->memlock.required, need, sizeof(need)));
		vfg_text_printf(out, columns, STEP_INDENT, "%*s%s", STEP_INDENT, "", plan->memlock.formula);
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
}

VFG_EXPORT int vfg_plan_write_steps_text_width(const vfg_plan *plan, unsigned columns, FILE *out)
{
	write_changes(plan, columns, out);
	return ferror(out) ? -1 : 0;
}

VFG_EXPORT int vfg_plan_write_steps_text(const vfg_plan *plan, FILE *out)
{
	return vfg_plan_write_steps_text_width(plan, VFG_TEXT_COLUMNS, out);
}
