/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The v1 devices controller (Documentation/admin-guide/cgroup-v1/devices.rst).
 * A cgroup holds a default (allow or deny everything) and a list of
 * exceptions; writing "c 243:0 rw" to devices.allow of a default-deny cgroup
 * adds an exception, or widens the access of the one with that type and those
 * numbers (dev_exception_add() merges them); devices.deny takes access bits
 * away again and drops the exception when none is left (dev_exception_rm()),
 * so a grant and its revoke put the list back as it was, order included. The
 * kernel lets a device through when one exception covers all the access asked
 * for (match_exception() in security/device_cgroup.c).
 *
 * Changes go through libcgroup; devices.list is read as the file it is.
 */
#include <errno.h>
#include <libcgroup.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

int cgroup_v1_read(const char *dir, const cgroup_rule *rule, cgroup_v1_state *state, vfg_error *err)
{
	char path[VFG_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/devices.list", dir);
	memset(state, 0, sizeof(*state));
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return vfg_error_set(err, errno, path, "cannot read the cgroup's device list");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\n")] = '\0';
		cgroup_rule listed;
		if (!cgroup_rule_parse(line, &listed))
			return vfg_error_set(err, 0, path, "cannot read line '%s'", line);
		if (listed.type == rule->type && listed.major == rule->major && listed.minor == rule->minor)
			state->exact = listed.access;
		if (!state->allowed && cgroup_rule_covers(&listed, rule)) {
			state->allowed = true;
			snprintf(state->covering, sizeof(state->covering), "%s", line);
		}
	}
	if (ferror(f))
		return vfg_error_set(err, EIO, path, "cannot read the cgroup's device list");
	return 0;
}

char *cgroup_v1_list(const char *dir, vfg_error *err)
{
	char path[VFG_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/devices.list", dir);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		vfg_error_set(err, errno, path, "cannot read the cgroup's device list");
		return NULL;
	}
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	if (!out) {
		vfg_error_set(err, errno, path, "cannot read the cgroup's device list");
		return NULL;
	}
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, out);
	fclose(out);
	return text;
}

static int libcgroup_status = -1;

static void libcgroup_init_once(void)
{
	/* libcgroup's default logger writes to stdout, where vfguard prints plans and JSON. */
	cgroup_set_logger(NULL, 0, NULL);
	libcgroup_status = cgroup_init();
}

static void cgroup_freep_cgroup(struct cgroup **cgroup)
{
	if (*cgroup)
		cgroup_free(cgroup);
}

int cgroup_v1_write(const char *dir, const char *file, const cgroup_rule *rule, vfg_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, libcgroup_init_once);
	char text[48];
	cgroup_rule_format(rule, text, sizeof(text));
	if (libcgroup_status != 0)
		return vfg_error_set(err, 0, dir, "libcgroup cannot start (%s), so '%s' cannot go to %s",
				     cgroup_strerror(libcgroup_status), text, file);

	/* libcgroup names a v1 cgroup by its path below the controller's mount point. */
	char mountpoint[VFG_PATH_MAX];
	int r = cgroup_mount_find("devices", mountpoint, sizeof(mountpoint));
	size_t len = strlen(mountpoint);
	if (r < 0 || strncmp(dir, mountpoint, len) != 0 || (dir[len] != '/' && dir[len] != '\0'))
		return vfg_error_set(err, r < 0 ? -r : 0, dir, "is not below the devices controller's mount point%s%s",
				     r < 0 ? "" : " ", r < 0 ? "" : mountpoint);
	const char *name = dir[len] ? dir + len : "/";

	__attribute__((cleanup(cgroup_freep_cgroup))) struct cgroup *cgroup = cgroup_new_cgroup(name);
	struct cgroup_controller *devices = cgroup ? cgroup_add_controller(cgroup, "devices") : NULL;
	if (!devices)
		return vfg_error_set(err, ENOMEM, dir, "libcgroup cannot describe the cgroup");
	r = cgroup_add_value_string(devices, file, text);
	if (r == 0)
		r = cgroup_modify_cgroup(cgroup);
	if (r != 0) {
		int errnum = r == ECGOTHER ? cgroup_get_last_errno() : 0;
		return vfg_error_set(err, errnum, dir, "cannot write '%s' to %s (libcgroup: %s)", text, file,
				     cgroup_strerror(r));
	}
	return 0;
}
