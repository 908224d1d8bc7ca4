/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context: root prefix, configuration, and the labelers it loaded. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "dispatcher.h"
#include "internal.h"

static int context_set_root(vfg_context *ctx, const char *root, vfg_error *err)
{
	char resolved[PATH_MAX];
	if (!realpath(root, resolved))
		return vfg_error_set(err, errno, root, "cannot use as root prefix");
	if (strlen(resolved) >= sizeof(ctx->root))
		return vfg_error_set(err, ENAMETOOLONG, resolved, "cannot use as root prefix");
	/* Held open for the context's life: each node check is then one openat2() beneath it (node.c). */
	ctx->root_fd = open(resolved, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->root_fd < 0)
		return vfg_error_set(err, errno, resolved, "cannot use as root prefix");
	snprintf(ctx->root, sizeof(ctx->root), "%s", resolved);
	return 0;
}

static int context_load_config(vfg_context *ctx, const char *config_file, vfg_error *err)
{
	ctx->config = vfg_config_new();
	if (!ctx->config)
		return vfg_error_set(err, ENOMEM, "", "cannot allocate the configuration");
	if (config_file)
		return vfg_config_load(ctx->config, config_file, false, err);

	char path[VFG_PATH_MAX];
	if (vfg_host_path(ctx, "/etc/vfguard/vfguard.conf", path, sizeof(path), err) < 0)
		return -1;
	return vfg_config_load(ctx->config, path, true, err);
}

/* "KEY=VALUE" settings given by the caller win over the file. */
static int context_apply_overrides(vfg_context *ctx, const char *const *overrides, vfg_error *err)
{
	for (size_t i = 0; overrides && overrides[i]; i++) {
		const char *eq = strchr(overrides[i], '=');
		if (!eq || eq == overrides[i])
			return vfg_error_set(err, EINVAL, overrides[i], "expected a setting KEY=VALUE");
		char key[64];
		int r = -1;
		if ((size_t)(eq - overrides[i]) >= sizeof(key))
			vfg_error_set(err, 0, "", "--set %.*s: unknown configuration key", (int)(eq - overrides[i]),
				      overrides[i]);
		else {
			memcpy(key, overrides[i], (size_t)(eq - overrides[i]));
			key[eq - overrides[i]] = '\0';
			r = vfg_config_set(ctx->config, key, eq + 1, err);
		}
		if (r < 0) {
			if (err)
				snprintf(err->subject, sizeof(err->subject), "%s", overrides[i]);
			return -1;
		}
	}
	return 0;
}

VFG_EXPORT vfg_context *vfg_context_new(const vfg_context_options *options, vfg_error *err)
{
	static const vfg_context_options no_options;
	if (!options)
		options = &no_options;

	vfg_context *ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		vfg_error_set(err, ENOMEM, "", "cannot allocate a context");
		return NULL;
	}
	ctx->root_fd = -1;
	/* getrandom(2), not waiting for the pool (early boot): then the clock and the address stand in */
	if (getrandom(&ctx->id, sizeof(ctx->id), GRND_NONBLOCK) != (ssize_t)sizeof(ctx->id)) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ctx->id = ((uint64_t)now.tv_sec << 32 ^ (uint64_t)now.tv_nsec) ^ (uint64_t)(uintptr_t)ctx;
	}

	/* No journal reads kept is no error: each host lock then reads them all. */
	ctx->journals = journal_cache_new();

	/* No $VFGUARD_ROOT here: the library reads no environment; the CLI and the hooks do, into the options. */
	const char *root = options->root ? options->root : "/";
	if (!*root) {
		vfg_error_set(err, EINVAL, "", "an empty root prefix (\"/\" is the host itself)");
		vfg_context_free(ctx);
		return NULL;
	}
	/* A relative one would mean a different host in each working directory. */
	if (root[0] != '/') {
		vfg_error_set(err, EINVAL, root, "the root prefix must be an absolute path");
		vfg_context_free(ctx);
		return NULL;
	}

	if (context_set_root(ctx, root, err) < 0 || context_load_config(ctx, options->config_file, err) < 0 ||
	    context_apply_overrides(ctx, options->overrides, err) < 0) {
		vfg_context_free(ctx);
		return NULL;
	}
	ctx->env.root = ctx->root;
	ctx->env.config = ctx->config;

	if (vfg_dispatcher_load(ctx, options->plugin_dir, err) < 0) {
		vfg_context_free(ctx);
		return NULL;
	}
	for (size_t i = 0; i < ctx->n_labelers; i++)
		if (vfg_config_declare_labeler(ctx->config, ctx->labelers[i], err) < 0) {
			vfg_context_free(ctx);
			return NULL;
		}
	if (vfg_config_finish(ctx->config, vfg_dispatcher_module_key, ctx, err) < 0) {
		vfg_context_free(ctx);
		return NULL;
	}
	return ctx;
}

VFG_EXPORT const vfg_config_key_def *vfg_context_config_key(const vfg_context *ctx, size_t index, const char **owner)
{
	return vfg_config_key_at(ctx->config, index, owner);
}

VFG_EXPORT const vfg_attr_def *vfg_context_attr(const vfg_context *ctx, size_t index, const char **owner)
{
	for (size_t i = 0; i < ctx->n_labelers; i++)
		for (const vfg_attr_def *def = ctx->labelers[i]->attributes; def && def->name; def++)
			if (index-- == 0) {
				if (owner)
					*owner = ctx->labelers[i]->name;
				return def;
			}
	return NULL;
}

VFG_EXPORT int vfg_context_domain_attr_set(const vfg_context *ctx, vfg_domain *domain, const char *name,
					   const char *value, vfg_error *err)
{
	const char *dot = strchr(name, '.');
	const char *owner;
	const vfg_attr_def *def;
	for (size_t i = 0; dot && (def = vfg_context_attr(ctx, i, &owner)); i++) {
		if (strlen(owner) != (size_t)(dot - name) || strncmp(owner, name, (size_t)(dot - name)) != 0 ||
		    strcmp(def->name, dot + 1) != 0)
			continue;
		if (value && *value && def->check && def->check(value, err) < 0) {
			vfg_error_prefix(err, "attribute %s", name);
			return -1;
		}
		return vfg_domain_attr_set(domain, name, value, err);
	}
	return vfg_error_set(err, 0, name, "no loaded labeler declares this domain attribute");
}

VFG_EXPORT void vfg_context_free(vfg_context *ctx)
{
	if (!ctx)
		return;
	journal_cache_free(ctx->journals);
	host_records_free(&ctx->records);
	vfg_dispatcher_unload(ctx);
	vfg_config_free(ctx->config);
	if (ctx->root_fd >= 0)
		close(ctx->root_fd);
	free(ctx);
}

VFG_EXPORT void vfg_context_set_notice(vfg_context *ctx, vfg_notice_fn fn, void *data)
{
	ctx->notice = fn;
	ctx->notice_data = fn ? data : NULL;
}

void vfg_notify(const vfg_context *ctx, vfg_notice_kind kind, const char *subject, const char *message)
{
	if (!ctx->notice)
		return;
	vfg_notice notice = {.kind = kind, .subject = subject, .message = message};
	ctx->notice(&notice, ctx->notice_data);
}

VFG_EXPORT const char *vfg_context_root(const vfg_context *ctx)
{
	return ctx->root;
}

VFG_EXPORT const vfg_config *vfg_context_config(const vfg_context *ctx)
{
	return ctx->config;
}

static int join_root(const char *root, const char *logical_path, char *buf, size_t size, vfg_error *err)
{
	if (logical_path[0] != '/')
		return vfg_error_set(err, EINVAL, logical_path, "host path is not absolute");
	/* "/" + "/dev/x" is "/dev/x", never "//dev/x". Copied, not printed: a plan of 1024 hostdevs joins 10000. */
	size_t root_length = strcmp(root, "/") == 0 ? 0 : strlen(root), path_length = strlen(logical_path);
	if (root_length + path_length >= size)
		return vfg_error_set(err, ENAMETOOLONG, logical_path, "host path too long under root %s", root);
	memcpy(buf, root, root_length);
	memcpy(buf + root_length, logical_path, path_length + 1);
	return 0;
}

VFG_EXPORT int vfg_host_path(const vfg_context *ctx, const char *logical_path, char *buf, size_t size, vfg_error *err)
{
	return join_root(ctx->root, logical_path, buf, size, err);
}

VFG_EXPORT int vfg_env_host_path(const vfg_labeler_env *env, const char *logical_path, char *buf, size_t size,
				 vfg_error *err)
{
	return join_root(env->root, logical_path, buf, size, err);
}
