/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../front_end_env.h"
#include "hook_common.h"

vfg_context *hook_context_new(const char *const *overrides, vfg_error *err)
{
	vfg_context_options options = {.overrides = overrides};
	front_end_options_from_env(&options);
	return vfg_context_new(&options, err);
}

/* A domain XML or a container state is a few kilobytes; this bounds a runaway writer. */
#define HOOK_INPUT_MAX (16u << 20)

int hook_read_all(int fd, char **text, size_t *size, vfg_error *err)
{
	size_t used = 0, capacity = 8192;
	char *buf = malloc(capacity);
	if (!buf)
		return vfg_error_set(err, ENOMEM, "standard input", "out of memory");
	for (;;) {
		if (used + 1 == capacity) {
			if (capacity >= HOOK_INPUT_MAX) {
				free(buf);
				return vfg_error_set(err, EFBIG, "standard input", "more than %u bytes",
						     HOOK_INPUT_MAX);
			}
			char *bigger = realloc(buf, capacity * 2);
			if (!bigger) {
				free(buf);
				return vfg_error_set(err, ENOMEM, "standard input", "out of memory");
			}
			buf = bigger;
			capacity *= 2;
		}
		ssize_t n = read(fd, buf + used, capacity - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			free(buf);
			return vfg_error_set(err, saved, "standard input", "cannot read");
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = '\0';
	*text = buf;
	*size = used;
	return 0;
}

void hook_report(const vfg_error *err)
{
	char line[VFG_ERROR_MESSAGE_MAX];
	snprintf(line, sizeof(line), "%s", err->message[0] ? err->message : "failed");
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	fprintf(stderr, "vfguard: %s\n", line);
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
