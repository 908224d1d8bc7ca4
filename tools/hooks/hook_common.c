/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../front_end_env.h"
#include "../one_line.h"
#include "hook_common.h"

/* What a notice starts with: "vfguard", as hook_report prefixes an error, and the domain once named. */
static char notice_prefix[VFG_NAME_MAX + 32] = "vfguard";

void hook_notices_name(const char *domain)
{
	snprintf(notice_prefix, sizeof(notice_prefix), "vfguard: domain '%s'", domain);
}

vfg_context *hook_context_new(const char *const *overrides, vfg_error *err)
{
	vfg_context_options options = {.overrides = overrides};
	front_end_options_from_env(&options);
	vfg_context *ctx = vfg_context_new(&options, err);
	if (ctx)
		vfg_context_set_notice(ctx, one_line_notice, notice_prefix);
	return ctx;
}

void hook_report(const vfg_error *err)
{
	fputs("vfguard: ", stderr);
	one_line_write(stderr, err->message[0] ? err->message : "failed");
	fputc('\n', stderr);
}

/*
 * A start that failed: whatever domain @name holds is revoked, so nothing of
 * it is left granted or detached. The apply undid its own transaction; this
 * gives back what prepare did (drivers, claims), and anything older.
 */
static int hook_undo(vfg_context *ctx, const char *name, vfg_error *err)
{
	vfg_change_summary undone;
	vfg_error undo_err = {0};
	size_t length = strlen(err->message);
	if (vfg_domain_revoke(ctx, name, &undone, &undo_err) < 0)
		snprintf(err->message + length, sizeof(err->message) - length, " (and undoing it failed: %s)",
			 undo_err.message);
	else if (undone.changed > 0 || undone.recovered > 0) /* recovered: it finished the failed apply first */
		snprintf(err->message + length, sizeof(err->message) - length,
			 "; the hook revoked everything domain %s held", name);
	return -1;
}

int hook_apply(vfg_context *ctx, const vfg_domain *domain, vfg_error *err)
{
	/*
	 * No check of the hook's own between plan and apply: applied as `vfguard
	 * apply` applies, planned and applied under one hold of the exclusive
	 * lock (vfg_domain_apply), so each labeler reads its layer (a cgroup's
	 * devices.list, every node) once, not at plan and again at apply.
	 */
	vfg_change_summary summary;
	vfg_plan *plan = NULL;
	int r = vfg_domain_apply(ctx, domain, &plan, &summary, err);
	vfg_plan_free(plan);
	return r == 0 ? 0 : hook_undo(ctx, domain->name, err);
}

int hook_apply_checked(vfg_context *ctx, const vfg_domain *domain, hook_plan_check check, void *data, vfg_error *err)
{
	if (!check)
		return hook_apply(ctx, domain, err);
	/* The check reads the plan between build and apply: two holds, as no library call runs one in between. */
	vfg_change_summary summary;
	vfg_plan *plan = NULL;
	int r = vfg_domain_prepare(ctx, domain, &summary, err);
	if (r == 0)
		r = vfg_plan_build(ctx, domain, &plan, err);
	if (r == 0)
		r = check(plan, data, err);
	if (r == 0)
		r = vfg_plan_apply(ctx, plan, &summary, err);
	vfg_plan_free(plan);
	return r == 0 ? 0 : hook_undo(ctx, domain->name, err);
}

int hook_revoke(vfg_context *ctx, const char *name, vfg_error *err)
{
	vfg_change_summary summary;
	if (vfg_domain_name_check(name, err) < 0)
		return -1;
	return vfg_domain_revoke(ctx, name, &summary, err);
}
