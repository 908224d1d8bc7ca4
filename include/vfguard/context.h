/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CONTEXT_H
#define VFGUARD_CONTEXT_H

/*
 * The context every call of the library takes: the configuration, the
 * labelers loaded for it, and the host root. All state lives in a context:
 * two contexts share nothing, and one context may be used by one thread at a
 * time (docs/library.md).
 */

#include <stddef.h>
#include <stdio.h>

#include <vfguard/error.h>
#include <vfguard/labeler.h>
#include <vfguard/model.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfg_context vfg_context;

/* The library's version, "MAJOR.MINOR.PATCH": the Version vfguard.pc names. */
const char *vfg_version(void);

/*
 * The library reads no environment variable: the CLI and the hooks fill root
 * and plugin_dir from $VFGUARD_ROOT and $VFGUARD_PLUGIN_DIR; a manager passes
 * what it wants here.
 */
typedef struct vfg_context_options {
	const char *root; /* host root prefix; NULL: "/" */
	const char *config_file; /* NULL: ROOT/etc/vfguard/vfguard.conf when it exists */
	const char *plugin_dir; /* NULL: the config's plugin_dir, else built in */
	/* "KEY=VALUE" strings that override the config file (the CLI's --set), NULL-terminated; NULL for none. */
	const char *const *overrides;
} vfg_context_options;

/*
 * Read the configuration and load the labelers. When what failed is a value
 * the caller gave rather than the configuration file or the host, the
 * error's subject is that value as given, so a front end can tell a bad
 * argument from a failure: the root (an empty or relative one, one that
 * does not exist), the plugin_dir (a directory that cannot be read), or
 * the override "KEY=VALUE" (an unknown key, a value its check refuses, a
 * 'labelers' list naming no module or one twice). An error in the file
 * names the file and line instead.
 */
vfg_context *vfg_context_new(const vfg_context_options *options, vfg_error *err);
void vfg_context_free(vfg_context *ctx);
const char *vfg_context_root(const vfg_context *ctx);
const vfg_config *vfg_context_config(const vfg_context *ctx);

/*
 * The configuration keys of @ctx: vfguard's own, then those its labelers
 * declare (labeler.h: vfg_config_key_def), in the order docs/config.md lists
 * them. Key @index, and in *@owner (when not NULL) "vfguard" or the name of
 * the labeler that declares it; NULL past the last. vfg_config_get reads a
 * context's value.
 */
const vfg_config_key_def *vfg_context_config_key(const vfg_context *ctx, size_t index, const char **owner);

/* The domain attributes the labelers of @ctx declare: attribute @index, its labeler in *@owner; NULL past the last. */
const vfg_attr_def *vfg_context_attr(const vfg_context *ctx, size_t index, const char **owner);

/*
 * Set attribute @name ("selinux.label") of @domain, refusing a name no
 * labeler of @ctx declares and a value the labeler's check refuses.
 */
int vfg_context_domain_attr_set(const vfg_context *ctx, vfg_domain *domain, const char *name, const char *value,
				vfg_error *err);

/*
 * Notices (since 0.8): what a call has to tell a person while it is still
 * under way, before a step that may take long, so that a command does not
 * just hang. The library prints nothing itself (docs/library.md): a front
 * end that wants them sets a function on the context.
 *
 * A later version may add kinds: a function should show the message of a
 * kind it does not know as it is.
 */
typedef enum vfg_notice_kind {
	/*
	 * A reattach (vfg_pci_reattach, and a revoke's of a managed hostdev) is
	 * about to unbind a function from its vfio driver while processes hold
	 * one of its VFIO nodes open. The kernel's unbind waits, with no
	 * timeout, until no process holds the device, and asks the holder to
	 * release it meanwhile; the message names the function, the holders
	 * (pid, command name, node) and that. Subject: the function ("BDF").
	 */
	VFG_NOTICE_VFIO_USERS_WAIT = 1,
	/*
	 * A hot-unplug (vfg_domain_revoke_hostdevs) found a hostdev's cdev or
	 * group node open in a process, its VM not having let it go yet, and
	 * waits up to 5 seconds, holding no lock, for it to be closed before
	 * it refuses; given once, at the first look that finds one open. The
	 * message names the hostdev, the domain, the holders (pid, command
	 * name, node) and the wait. Subject: the hostdev ("BDF", "mdev:UUID").
	 */
	VFG_NOTICE_UNPLUG_WAIT = 2,
} vfg_notice_kind;

/*
 * One notice. The library fills it and it lives for the call of the notice
 * function only; a later version may add fields at the end, so a caller
 * reads it and never makes one.
 */
typedef struct vfg_notice {
	vfg_notice_kind kind;
	const char *subject; /* the device or path it concerns */
	const char *message; /* one line for a person, no newline, starting with the subject */
} vfg_notice;

typedef void (*vfg_notice_fn)(const vfg_notice *notice, void *data);

/*
 * Have @fn(notice, @data) called with every notice of the calls made on
 * @ctx, in the thread making the call, before the step the notice is
 * about; NULL (the default): none, and nothing is looked up to make them.
 * @fn may be called while the call holds the host lock: it must not call
 * the library with @ctx, and a call on another context would wait for that
 * lock.
 */
void vfg_context_set_notice(vfg_context *ctx, vfg_notice_fn fn, void *data);

/* Build ROOT + @logical_path into @buf. */
int vfg_host_path(const vfg_context *ctx, const char *logical_path, char *buf, size_t size, vfg_error *err);

/* An error as a JSON object {"error": {...}} for --json front ends. */
int vfg_error_write_json(const vfg_error *err, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
