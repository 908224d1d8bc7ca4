/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../front_end_env.h"
#include "../one_line.h"
#include "hook_common.h"

vfg_context *hook_context_new(const char *const *overrides, vfg_error *err)
{
	vfg_context_options options = {.overrides = overrides};
	front_end_options_from_env(&options);
	return vfg_context_new(&options, err);
}

void hook_report(const vfg_error *err)
{
	fputs("vfguard: ", stderr);
	one_line_write(stderr, err->message[0] ? err->message : "failed");
	fputc('\n', stderr);
}

int hook_apply(vfg_context *ctx, const vfg_domain *domain, vfg_error *err)
{
	return hook_apply_checked(ctx, domain, NULL, NULL, err);
}

int hook_apply_checked(vfg_context *ctx, const vfg_domain *domain, hook_plan_check check, void *data, vfg_error *err)
{
	vfg_change_summary summary;
	vfg_plan *plan = NULL;
	int r = vfg_domain_prepare(ctx, domain, &summary, err);
	if (r == 0)
		r = vfg_plan_build(ctx, domain, &plan, err);
	if (r == 0 && check)
		r = check(plan, data, err);
	if (r == 0)
		r = vfg_plan_apply(ctx, plan, &summary, err);
	vfg_plan_free(plan);
	if (r == 0)
		return 0;

	/* The apply undid its own transaction; what prepare did (drivers, claims) is undone here. */
	vfg_error undo_err = {0};
	if (vfg_domain_revoke(ctx, domain->name, &summary, &undo_err) < 0) {
		size_t length = strlen(err->message);
		snprintf(err->message + length, sizeof(err->message) - length, " (and undoing it failed: %s)",
			 undo_err.message);
	}
	return -1;
}

int hook_revoke(vfg_context *ctx, const char *name, vfg_error *err)
{
	vfg_change_summary summary;
	if (vfg_domain_name_check(name, err) < 0)
		return -1;
	return vfg_domain_revoke(ctx, name, &summary, err);
}
