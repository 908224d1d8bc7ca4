/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration: KEY = VALUE lines, '#' comments. The keys are vfguard's
 * own (the table below: where the labelers and the journal are) and those
 * each loaded labeler declares in its table (labeler.h). A file is read
 * before the labelers are loaded (which ones to load is itself a key), so
 * its settings are kept as text first and checked once the labelers are
 * known (vfg_config_finish): a key nobody declares is an error that names
 * its file and line, or the --set that gave it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * The state directory is a path under the root prefix: absolute, and no "."
 * or ".." component, which would lead out of the root ("/../../tmp/x").
 */
static int state_dir_check(const char *value, vfg_error *err)
{
	if (value[0] != '/')
		return vfg_error_set(err, EINVAL, value, "state_dir must be an absolute path");
	for (const char *at = value; *at;) {
		at += strspn(at, "/");
		size_t length = strcspn(at, "/");
		if ((length == 1 && at[0] == '.') || (length == 2 && at[0] == '.' && at[1] == '.'))
			return vfg_error_set(err, EINVAL, value,
					     "state_dir has a '%.*s' component: it must name a directory under the "
					     "root prefix",
					     (int)length, at);
		at += length;
	}
	return 0;
}

/* Seconds to wait for the host lock: 0 (no bound) to a day. */
static int lock_timeout_check(const char *value, vfg_error *err)
{
	char *end;
	errno = 0;
	unsigned long seconds = strtoul(value, &end, 10);
	if (!*value || *end || errno || value[0] == '-' || seconds > 86400)
		return vfg_error_set(err, EINVAL, value,
				     "lock_timeout is a number of seconds from 0 (wait as long as it takes) to 86400");
	return 0;
}

/* What the fd broker does when iommufd's RLIMIT_MODE cannot be set (vfg_rlimit_mode_parse). */
static int rlimit_mode_check(const char *value, vfg_error *err)
{
	vfg_rlimit_mode mode;
	if (vfg_rlimit_mode_parse(value, &mode, NULL) < 0)
		return vfg_error_set(err, 0, "", "'%s': expected required, warn or off", value);
	return 0;
}

/* USER:GROUP, each a name or +ID as in a libvirt dac label: one colon, neither side empty, no space. */
static int qemu_user_check(const char *value, vfg_error *err)
{
	const char *colon = strchr(value, ':');
	bool ok = colon && colon != value && colon[1] && !strchr(colon + 1, ':');
	for (const char *p = value; ok && *p; p++)
		ok = isgraph((unsigned char)*p);
	if (!ok)
		return vfg_error_set(err, 0, "", "'%s': expected USER:GROUP (names, or +UID:+GID)", value);
	return 0;
}

static const vfg_config_key_def core_keys[] = {
	{"plugin_dir", "", NULL, "where vfguard-NAME.so modules are looked for (\"\": the built-in directory)"},
	{"labelers", VFG_DEFAULT_LABELERS, NULL,
	 "labelers in grant order; revoke runs in reverse; the built-in ones always run last"},
	{"state_dir", "/run/vfguard", state_dir_check,
	 "the journal and its store (lost at reboot with the changes it records)"},
	{"lock_timeout", "30", lock_timeout_check,
	 "seconds a command waits for the host lock another one holds before it fails naming it (0: no bound)"},
	{"rlimit_mode", "required", rlimit_mode_check,
	 "what a failed iommufd RLIMIT_MODE=1 means to the fd broker: required (an error), warn, off (not tried)"},
	/*
	 * The libvirt hook's USER:GROUP for QEMU when neither the domain's dac
	 * seclabel nor qemu.conf names it: libvirt's built-in default, which is
	 * Debian's libvirt-qemu (its qemu.conf shows `#user = "libvirt-qemu"`).
	 */
	{"libvirt_qemu_user", "libvirt-qemu:libvirt-qemu", qemu_user_check,
	 "the libvirt hook's USER:GROUP for QEMU when neither the domain nor qemu.conf names one"},
	{"records", "auto", host_records_mode_check,
	 "where the host records of every change go (docs/records.md): auto (journald, else syslog), journal, "
	 "syslog, off"},
	{NULL, NULL, NULL, NULL},
};

typedef struct config_setting {
	char *key;
	char *value;
	char origin[VFG_PATH_MAX + 32]; /* "PATH: line N", or "" for --set */
} config_setting;

typedef struct config_known {
	const vfg_config_key_def *def;
	const char *owner; /* "vfguard" or the labeler's name */
} config_known;

struct vfg_config {
	size_t n_settings;
	config_setting *settings; /* the later of two settings of one key wins */
	size_t n_known;
	config_known *known;
};

static const config_setting *config_find_setting(const vfg_config *config, const char *key)
{
	for (size_t i = config->n_settings; i-- > 0;)
		if (strcmp(config->settings[i].key, key) == 0)
			return &config->settings[i];
	return NULL;
}

static const config_known *config_find_known(const vfg_config *config, const char *key)
{
	for (size_t i = 0; i < config->n_known; i++)
		if (strcmp(config->known[i].def->name, key) == 0)
			return &config->known[i];
	return NULL;
}

static int config_declare(vfg_config *config, const vfg_config_key_def *def, const char *owner, vfg_error *err)
{
	if (config_find_known(config, def->name))
		return vfg_error_set(err, EEXIST, def->name, "configuration key declared twice (by %s and %s)",
				     config_find_known(config, def->name)->owner, owner);
	config_known *known = realloc(config->known, (config->n_known + 1) * sizeof(*known));
	if (!known)
		return vfg_error_set(err, ENOMEM, def->name, "cannot declare configuration key");
	config->known = known;
	config->known[config->n_known++] = (config_known){def, owner};
	return 0;
}

vfg_config *vfg_config_new(void)
{
	vfg_config *config = calloc(1, sizeof(vfg_config));
	if (!config)
		return NULL;
	for (const vfg_config_key_def *def = core_keys; def->name; def++)
		if (config_declare(config, def, "vfguard", NULL) < 0) {
			vfg_config_free(config);
			return NULL;
		}
	return config;
}

void vfg_config_free(vfg_config *config)
{
	if (!config)
		return;
	for (size_t i = 0; i < config->n_settings; i++) {
		free(config->settings[i].key);
		free(config->settings[i].value);
	}
	free(config->settings);
	free(config->known);
	free(config);
}

int vfg_config_declare_labeler(vfg_config *config, const vfg_labeler *labeler, vfg_error *err)
{
	size_t length = strlen(labeler->name);
	for (const vfg_config_key_def *def = labeler->config_keys; def && def->name; def++) {
		/* A labeler's keys carry its name, so two labelers never want the same key. */
		if (strncmp(def->name, labeler->name, length) != 0 || (def->name[length] && def->name[length] != '_'))
			return vfg_error_set(err, EINVAL, def->name,
					     "labeler %s declares a configuration key not named after it (%s_...)",
					     labeler->name, labeler->name);
		if (!def->default_value)
			return vfg_error_set(err, EINVAL, def->name, "labeler %s declares a key without a default",
					     labeler->name);
		if (config_declare(config, def, labeler->name, err) < 0)
			return -1;
	}
	return 0;
}

VFG_EXPORT const char *vfg_config_get(const vfg_config *config, const char *key)
{
	const config_known *known = config_find_known(config, key);
	if (!known)
		return NULL;
	const config_setting *setting = config_find_setting(config, key);
	return setting ? setting->value : known->def->default_value;
}

const vfg_config_key_def *vfg_config_key_at(const vfg_config *config, size_t index, const char **owner)
{
	if (index >= config->n_known)
		return NULL;
	if (owner)
		*owner = config->known[index].owner;
	return config->known[index].def;
}

static int config_key_syntax(const char *key, const char *origin, vfg_error *err)
{
	bool ok = *key && strlen(key) < 64;
	for (const char *p = key; *p && ok; p++)
		ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_';
	if (ok)
		return 0;
	if (*origin)
		return vfg_error_set(err, 0, origin, "unknown key '%s'", key);
	return vfg_error_set(err, 0, "", "--set %s: unknown configuration key", key);
}

static int config_add(vfg_config *config, const char *key, const char *value, const char *origin, vfg_error *err)
{
	if (config_key_syntax(key, origin, err) < 0)
		return -1;
	config_setting *settings = realloc(config->settings, (config->n_settings + 1) * sizeof(*settings));
	if (!settings)
		return vfg_error_set(err, ENOMEM, key, "cannot store configuration value");
	config->settings = settings;
	config_setting *setting = &config->settings[config->n_settings];
	setting->key = strdup(key);
	setting->value = strdup(value);
	snprintf(setting->origin, sizeof(setting->origin), "%s", origin);
	if (!setting->key || !setting->value) {
		free(setting->key);
		free(setting->value);
		return vfg_error_set(err, ENOMEM, key, "cannot store configuration value");
	}
	config->n_settings++;
	return 0;
}

int vfg_config_set(vfg_config *config, const char *key, const char *value, vfg_error *err)
{
	return config_add(config, key, value, "", err);
}

/* The caller's value (context.h: an error in an override has it, "KEY=VALUE", as its subject). */
static void config_blame_setting(const config_setting *setting, vfg_error *err)
{
	if (err && !*setting->origin)
		snprintf(err->subject, sizeof(err->subject), "%s=%s", setting->key, setting->value);
}

void vfg_config_blame(const vfg_config *config, const char *key, vfg_error *err)
{
	const config_setting *setting = config_find_setting(config, key);
	if (!setting)
		return;
	vfg_error_prefix(err, "%s%s%s", setting->origin, *setting->origin ? ": " : "--set ", key);
	config_blame_setting(setting, err);
	/*
	 * The file's mistake: its path is the subject, not the plugin directory
	 * the message also names, which a front end would take for its own
	 * argument's (context.h; a review found exit 2 with --plugin-dir).
	 */
	const char *line = strstr(setting->origin, ": line ");
	if (err && line)
		snprintf(err->subject, sizeof(err->subject), "%.*s", (int)(line - setting->origin), setting->origin);
}

/*
 * Once the labelers are loaded: every setting must name a declared key and
 * pass its check. A key named after a labeler module that exists but is not
 * loaded (a key of a module left out of 'labelers') is kept and unused, so one file
 * serves hosts and runs with fewer labelers; @module_key still has that module
 * check it (a key it declares, a value its check passes).
 */
int vfg_config_finish(vfg_config *config,
		      int (*module_key)(const char *module, const char *key, const char *value, void *data,
					vfg_error *err),
		      void *data, vfg_error *err)
{
	for (size_t i = 0; i < config->n_settings; i++) {
		const config_setting *setting = &config->settings[i];
		const config_known *known = config_find_known(config, setting->key);
		if (!known) {
			char prefix[64];
			snprintf(prefix, sizeof(prefix), "%.*s", (int)strcspn(setting->key, "_"), setting->key);
			/* A labeler module that exists and is not loaded checks its own key (1), or refuses it (-1). */
			int r = module_key && config_find_setting(config, setting->key) == setting
					? module_key(prefix, setting->key, setting->value, data, err)
					: 0;
			if (r < 0) {
				vfg_error_prefix(err, "%s%s%s", setting->origin, *setting->origin ? ": " : "--set ",
						 setting->key);
				config_blame_setting(setting, err);
				return -1;
			}
			if (r > 0 || (module_key && config_find_setting(config, setting->key) != setting))
				continue;
			if (*setting->origin) {
				const char *colon = strrchr(setting->origin, ':');
				char path[VFG_PATH_MAX];
				snprintf(path, sizeof(path), "%.*s", (int)(colon - setting->origin), setting->origin);
				return vfg_error_set(err, 0, path, "%s: unknown key '%s'", colon + 2, setting->key);
			}
			vfg_error_set(err, 0, "", "--set %s: unknown configuration key", setting->key);
			config_blame_setting(setting, err);
			return -1;
		}
		if (known->def->check && config_find_setting(config, setting->key) == setting &&
		    known->def->check(setting->value, err) < 0) {
			vfg_error_prefix(err, "%s%s%s", setting->origin, *setting->origin ? ": " : "--set ",
					 setting->key);
			config_blame_setting(setting, err);
			return -1;
		}
	}
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/*
 * One file sets a key once: of two settings, which one did its author mean?
 * (A --set over the file is the way to override.) The earlier one, from
 * this file, is named by its line.
 */
static int config_check_once(const vfg_config *config, const char *key, const char *path, unsigned lineno,
			     vfg_error *err)
{
	size_t path_length = strlen(path);
	for (size_t i = 0; i < config->n_settings; i++) {
		const config_setting *setting = &config->settings[i];
		if (strcmp(setting->key, key) != 0 || strncmp(setting->origin, path, path_length) != 0 ||
		    strncmp(setting->origin + path_length, ": line ", 7) != 0)
			continue;
		return vfg_error_set(err, 0, path, "line %u: '%s' is set again (first on line %s)", lineno, key,
				     setting->origin + path_length + 7);
	}
	return 0;
}

int vfg_config_load(vfg_config *config, const char *path, bool optional, vfg_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && optional)
			return 0;
		return vfg_error_set(err, errno, path, "cannot read configuration");
	}
	/* It names the plugins vfguard loads and the programs it runs, as root (a security trial's 0666 file). */
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || (S_ISDIR(st.st_mode) && (errno = EISDIR)))
		return vfg_error_set(err, errno, path, "cannot read configuration");
	if (vfg_file_trusted(path, &st, "configuration", err) < 0)
		return -1;

	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	ssize_t n;
	errno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		/* C would read the line only up to it, and take the rest for absent */
		if (memchr(line, '\0', (size_t)n))
			return vfg_error_set(err, 0, path, "line %u: a NUL byte", lineno);
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *text = trim(line);
		if (!*text)
			continue;
		char *eq = strchr(text, '=');
		if (!eq)
			return vfg_error_set(err, 0, path, "line %u: expected KEY = VALUE", lineno);
		*eq = '\0';
		char *key = trim(text), *value = trim(eq + 1);
		char origin[VFG_PATH_MAX + 32];
		snprintf(origin, sizeof(origin), "%s: line %u", path, lineno);
		if (config_check_once(config, key, path, lineno, err) < 0 ||
		    config_add(config, key, value, origin, err) < 0)
			return -1;
		errno = 0;
	}
	if (ferror(f))
		return vfg_error_set(err, errno ? errno : EIO, path, "cannot read configuration");
	return 0;
}
