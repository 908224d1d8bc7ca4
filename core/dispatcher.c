/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The dispatcher: loads each configured labeler from its shared module and
 * calls the labelers in order, stopping at the first error, the way the
 * kernel calls its LSM hooks. It knows no labeler by name but the built-in
 * namespace component, which always runs last of the node-scope ones; the
 * other built-in labelers the build names (meson.build) come after it.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "dispatcher.h"
#include "vfg_fault.h"

/* The built-in labelers beyond namespace, as the build lists them: VFG_BUILTIN(table) each. */
#define VFG_BUILTIN(table) extern const vfg_labeler table;
VFG_BUILTIN_LABELERS
#undef VFG_BUILTIN
#define VFG_BUILTIN(table) &table,
static const vfg_labeler *const builtin_labelers[] = {&vfg_namespace_labeler, VFG_BUILTIN_LABELERS};
#undef VFG_BUILTIN

static const vfg_labeler *builtin_labeler(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin_labelers) / sizeof(builtin_labelers[0]); i++)
		if (strcmp(builtin_labelers[i]->name, name) == 0)
			return builtin_labelers[i];
	return NULL;
}

/*
 * A library running from the build tree uses the build tree's plugins, so
 * the build works without installing; an installed one never looks there.
 */
static const char *default_plugin_dir(void)
{
	Dl_info info;
	char self[PATH_MAX];
	if (dladdr((void *)vfg_dispatcher_load, &info) && info.dli_fname && realpath(info.dli_fname, self) &&
	    strncmp(self, VFG_BUILD_ROOT "/", strlen(VFG_BUILD_ROOT "/")) == 0)
		return VFG_BUILD_PLUGIN_DIR;
	return VFG_PLUGIN_DIR;
}

bool vfg_dispatcher_is_builtin(const char *name)
{
	return builtin_labeler(name) != NULL;
}

static const char *choose_plugin_dir(const vfg_context *ctx, const char *plugin_dir);

static const char *choose_plugin_dir(const vfg_context *ctx, const char *plugin_dir)
{
	/* No $VFGUARD_PLUGIN_DIR here: the library reads no environment; the CLI and the hooks do, into the options. */
	if (plugin_dir && *plugin_dir)
		return plugin_dir;
	const char *configured = vfg_config_get(ctx->config, "plugin_dir");
	if (configured && *configured)
		return configured;
	return default_plugin_dir();
}

static int check_labeler_name(const char *name, vfg_error *err)
{
	for (const char *p = name; *p; p++)
		if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' && *p != '-')
			return vfg_error_set(err, 0, name, "labeler names hold a-z, 0-9, '_' and '-' only");
	if (builtin_labeler(name))
		return vfg_error_set(err, 0, name,
				     "the %s component is built in and always runs last: leave it out of 'labelers'",
				     name);
	/* The core's own attributes are "vfguard.NAME" (model.h: VFG_DOMAIN_ATTR_LABELERS). */
	if (strcmp(name, "vfguard") == 0)
		return vfg_error_set(err, 0, name, "the name is vfguard's own: no labeler can have it");
	return 0;
}

/* The smallest table this core takes: every field up to the audit callback. */
#define LABELER_SIZE_MIN (offsetof(vfg_labeler, audit) + sizeof(((vfg_labeler *)0)->audit))

static int check_labeler_table(const vfg_labeler *labeler, const char *name, const char *path, vfg_error *err)
{
	if (labeler->abi_version != VFG_LABELER_ABI_VERSION)
		return vfg_error_set(err, 0, path, "labeler ABI version %u, this vfguard needs %u",
				     labeler->abi_version, VFG_LABELER_ABI_VERSION);
	/* A table larger than ours is from a newer vfguard: what we do not know of it we never read. */
	if (labeler->size < LABELER_SIZE_MIN)
		return vfg_error_set(err, 0, path, "labeler table of %u bytes, this vfguard needs at least %zu",
				     labeler->size, (size_t)LABELER_SIZE_MIN);
	if (labeler->scope != VFG_SCOPE_NODE && labeler->scope != VFG_SCOPE_DOMAIN)
		return vfg_error_set(err, 0, path, "labeler scope %d is neither node nor domain", (int)labeler->scope);
	if (!labeler->name || strcmp(labeler->name, name) != 0)
		return vfg_error_set(err, 0, path, "module calls itself '%s', expected '%s'",
				     labeler->name ? labeler->name : "(null)", name);
	if (!labeler->probe || !labeler->plan || !labeler->grant || !labeler->revoke || !labeler->audit)
		return vfg_error_set(err, 0, path, "labeler table lacks a callback");
	return 0;
}

static int add_labeler(vfg_context *ctx, const vfg_labeler *labeler, void *handle, vfg_error *err)
{
	for (size_t i = 0; i < ctx->n_labelers; i++)
		if (strcmp(ctx->labelers[i]->name, labeler->name) == 0) {
			vfg_error_set(err, 0, labeler->name, "labeler listed twice in 'labelers'");
			vfg_config_blame(ctx->config, "labelers", err);
			return -1;
		}

	const vfg_labeler **labelers = realloc(ctx->labelers, (ctx->n_labelers + 1) * sizeof(*labelers));
	if (labelers)
		ctx->labelers = labelers;
	void **handles = realloc(ctx->handles, (ctx->n_labelers + 1) * sizeof(*handles));
	if (handles)
		ctx->handles = handles;
	if (!labelers || !handles)
		return vfg_error_set(err, ENOMEM, labeler->name, "cannot register labeler");
	ctx->labelers[ctx->n_labelers] = labeler;
	ctx->handles[ctx->n_labelers] = handle;
	ctx->n_labelers++;
	return 0;
}

int vfg_dispatcher_module_key(const char *module, const char *key, const char *value, void *data, vfg_error *err)
{
	const vfg_context *ctx = data;
	if (builtin_labeler(module))
		return 0; /* loaded: a key it does not declare is unknown */
	for (size_t i = 0; i < ctx->n_labelers; i++)
		if (strcmp(ctx->labelers[i]->name, module) == 0)
			return 0;
	char path[PATH_MAX];
	vfg_error ignored = {0};
	int n = snprintf(path, sizeof(path), "%s/vfguard-%s.so", ctx->plugin_dir, module);
	if (n < 0 || (size_t)n >= sizeof(path) || check_labeler_name(module, &ignored) < 0 || access(path, F_OK) != 0)
		return 0;
	if (vfg_file_trusted(path, NULL, "labeler module", err) < 0)
		return -1;
	/* A file kept for runs with more labelers must still be right for them: the module checks its own key. */
	void *handle = vfg_fault("dispatcher.dlopen_check") ? NULL : dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle)
		return vfg_error_set(err, 0, path, "cannot load labeler '%s' to check its key: %s", module,
				     vfg_fault_dlerror());
	const vfg_labeler *labeler = dlsym(handle, VFG_LABELER_SYMBOL);
	int r = labeler ? check_labeler_table(labeler, module, path, err)
			: vfg_error_set(err, 0, path, "not a vfguard labeler: no symbol %s", VFG_LABELER_SYMBOL);
	const vfg_config_key_def *def = labeler && r == 0 ? labeler->config_keys : NULL;
	while (def && def->name && strcmp(def->name, key) != 0)
		def++;
	if (r == 0 && (!def || !def->name))
		r = vfg_error_set(err, 0, key, "unknown key: labeler '%s' (not loaded here) declares no such key",
				  module);
	else if (r == 0 && def->check)
		r = def->check(value, err);
	dlclose(handle);
	return r < 0 ? -1 : 1;
}

/*
 * No module @name in @dir: a name misspelt in 'labelers', or a plugin
 * directory that is not vfguard's; say which modules @dir has. When the
 * caller gave the value that is wrong, it is the error's subject (context.h).
 */
static int no_such_labeler(const vfg_context *ctx, const char *dir, const char *name, vfg_error *err)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d) {
		vfg_error_set(err, errno, dir, "no labeler '%s': cannot read the plugin directory", name);
		if (strcmp(vfg_config_get(ctx->config, "plugin_dir"), dir) == 0)
			vfg_config_blame(ctx->config, "plugin_dir", err);
		return -1;
	}
	char found[512] = "";
	size_t used = 0;
	for (struct dirent *entry; (entry = readdir(d));) {
		size_t length = strlen(entry->d_name);
		if (strncmp(entry->d_name, "vfguard-", 8) == 0 && length > 11 &&
		    strcmp(entry->d_name + length - 3, ".so") == 0)
			used = vfg_strlcatf(found, sizeof(found), used, "%s%.*s", used ? ", " : "", (int)(length - 11),
					    entry->d_name + 8);
	}
	if (used) {
		vfg_error_set(err, ENOENT, dir, "no labeler '%s' here (vfguard-%s.so); the labelers here: %s", name,
			      name, found);
		vfg_config_blame(ctx->config, "labelers", err);
		return -1;
	}
	/* a directory with none is not vfguard's: the directory is what is wrong, not the name */
	vfg_error_set(err, ENOENT, dir, "no labeler '%s' here, nor any vfguard-*.so: not a plugin directory", name);
	if (strcmp(vfg_config_get(ctx->config, "plugin_dir"), dir) == 0)
		vfg_config_blame(ctx->config, "plugin_dir", err);
	return -1;
}

static int load_plugin(vfg_context *ctx, const char *dir, const char *name, vfg_error *err)
{
	if (check_labeler_name(name, err) < 0) {
		vfg_config_blame(ctx->config, "labelers", err);
		return -1;
	}

	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/vfguard-%s.so", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return vfg_error_set(err, ENAMETOOLONG, dir, "plugin path too long");

	/* Its code runs as root once loaded: a module others could have written is refused (a security trial). */
	int trusted = vfg_file_trusted(path, NULL, "labeler module", err);
	if (trusted == -ENOENT)
		return no_such_labeler(ctx, dir, name, err);
	if (trusted < 0)
		return -1;
	void *handle = vfg_fault("dispatcher.dlopen") ? NULL : dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle && access(path, F_OK) != 0 && errno == ENOENT)
		return no_such_labeler(ctx, dir, name, err);
	if (!handle)
		return vfg_error_set(err, 0, path, "cannot load labeler '%s': %s", name, vfg_fault_dlerror());
	const vfg_labeler *labeler = dlsym(handle, VFG_LABELER_SYMBOL);
	if (!labeler) {
		/* ABI v1 tables went by this name: say what to do rather than "not a labeler". */
		bool v1 = dlsym(handle, "vfg_labeler_v1") != NULL;
		dlclose(handle);
		if (v1)
			return vfg_error_set(
				err, 0, path,
				"labeler '%s' is built for labeler ABI v1 (symbol vfg_labeler_v1): rebuild it "
				"against this vfguard's <vfguard/labeler.h>, which looks for %s",
				name, VFG_LABELER_SYMBOL);
		return vfg_error_set(err, 0, path, "not a vfguard labeler: no symbol %s", VFG_LABELER_SYMBOL);
	}
	if (check_labeler_table(labeler, name, path, err) < 0 || add_labeler(ctx, labeler, handle, err) < 0) {
		dlclose(handle);
		return -1;
	}
	return 0;
}

int vfg_dispatcher_load(vfg_context *ctx, const char *plugin_dir, vfg_error *err)
{
	const char *dir = choose_plugin_dir(ctx, plugin_dir);
	snprintf(ctx->plugin_dir, sizeof(ctx->plugin_dir), "%s", dir);
	_cleanup_free_ char *list = strdup(vfg_config_get(ctx->config, "labelers"));
	if (!list)
		return vfg_error_set(err, ENOMEM, "labelers", "cannot read the labeler list");

	char *saveptr = NULL;
	for (char *name = strtok_r(list, " \t,", &saveptr); name; name = strtok_r(NULL, " \t,", &saveptr))
		if (load_plugin(ctx, dir, name, err) < 0)
			return -1;
	for (size_t i = 0; i < sizeof(builtin_labelers) / sizeof(builtin_labelers[0]); i++)
		if (add_labeler(ctx, builtin_labelers[i], NULL, err) < 0)
			return -1;
	return 0;
}

void vfg_dispatcher_unload(vfg_context *ctx)
{
	for (size_t i = 0; i < ctx->n_labelers; i++)
		if (ctx->handles[i])
			dlclose(ctx->handles[i]);
	free(ctx->labelers);
	free(ctx->handles);
	ctx->labelers = NULL;
	ctx->handles = NULL;
	ctx->n_labelers = 0;
}

VFG_EXPORT int vfg_labeler_grant_unimplemented(const vfg_labeler_env *env, const vfg_domain *domain,
					       const vfg_probe *probe, const vfg_node *node, const vfg_step *step,
					       vfg_txn *txn, vfg_error *err)
{
	return vfg_error_set(err, ENOSYS, node->path, "grant is not implemented yet; nothing was changed");
}

VFG_EXPORT int vfg_labeler_revoke_unimplemented(const vfg_labeler_env *env, const vfg_domain *domain,
						const vfg_probe *probe, const vfg_node *node, vfg_txn *txn,
						vfg_error *err)
{
	return vfg_error_set(err, ENOSYS, node->path, "revoke is not implemented yet; nothing was changed");
}

VFG_EXPORT int vfg_labeler_audit_unimplemented(const vfg_labeler_env *env, const vfg_domain *domain,
					       const vfg_probe *probe, const vfg_node *node, vfg_finding *finding,
					       vfg_error *err)
{
	return vfg_error_set(err, ENOSYS, node->path, "audit is not implemented yet");
}
