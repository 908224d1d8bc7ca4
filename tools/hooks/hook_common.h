/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_HOOKS_HOOK_COMMON_H
#define VFGUARD_TOOLS_HOOKS_HOOK_COMMON_H

/* What the libvirt and OCI hooks share: their input, their one-line errors, and the apply. */

#include <stddef.h>

#include <vfguard/vfguard.h>

/* Exit codes, as the CLI's (DESIGN.md): ok, failed, usage. */
enum { HOOK_EXIT_OK = 0, HOOK_EXIT_FAILED = 1, HOOK_EXIT_USAGE = 2 };

/*
 * A context for the hook: @overrides (NULL-terminated, NULL for none) over the
 * configuration, the root and plugin folder from $VFGUARD_ROOT and
 * $VFGUARD_PLUGIN_DIR when set (the tests set them; libvirt and the runtimes
 * pass neither), else the library's defaults. The library's notices (a
 * reattach waiting for a VFIO user) go to stderr as "vfguard: MESSAGE".
 */
vfg_context *hook_context_new(const char *const *overrides, vfg_error *err);
/*
 * The domain (libvirt's name, the container's id) the hook's notices name:
 * its runtime logs the hook's lines without it. Before hook_context_new.
 */
void hook_notices_name(const char *domain);

/* A domain XML or a container state is a few kilobytes; this bounds a runaway writer (vfg_fd_read_all). */
#define HOOK_INPUT_MAX (16u << 20)

/*
 * The error as ONE line on stderr, "vfguard: MESSAGE": libvirt and the
 * container runtimes show a hook's stderr as the reason the start failed.
 */
void hook_report(const vfg_error *err);

/*
 * Apply for @domain as one step: bind its managed hostdevs to vfio-pci,
 * then plan and apply under one hold of the host lock (vfg_domain_apply).
 * When any of it fails, whatever the domain holds is revoked again, so a
 * failed start leaves nothing behind (the error then says so when the
 * revoke undid anything).
 */
int hook_apply(vfg_context *ctx, const vfg_domain *domain, vfg_error *err);

/* A front end's own check of the plan before its first change (NULL: none); fills @err and returns -1 to refuse. */
typedef int (*hook_plan_check)(const vfg_plan *plan, void *data, vfg_error *err);

/*
 * hook_apply, with @check run on the plan before it is applied; with a
 * check, plan and apply are two holds of the lock (vfg_plan_build, then
 * vfg_plan_apply, which checks every node again).
 */
int hook_apply_checked(vfg_context *ctx, const vfg_domain *domain, hook_plan_check check, void *data, vfg_error *err);

/* Revoke everything domain @name holds; nothing held is no error. */
int hook_revoke(vfg_context *ctx, const char *name, vfg_error *err);

#endif
