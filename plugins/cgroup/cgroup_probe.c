/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which cgroups govern the domain's devices: the one given (used as it is,
 * never under the root prefix), or the pid's, read from /proc/PID/cgroup and
 * found where /proc/self/mountinfo says the hierarchy is mounted; and the
 * cgroups vfguard must keep off: a root, its own, an ancestor of its own.
 */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup.h"

/* Undo mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape_mountinfo(char *s)
{
	char *out = s;
	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
		    in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

/*
 * Where the hierarchy is mounted: v1 (@controller "devices") or cgroup2
 * (@controller NULL), from /proc/self/mountinfo (proc(5): ID PARENT MAJ:MIN
 * ROOT MOUNTPOINT OPTIONS [TAGS] - FSTYPE SOURCE SUPEROPTIONS).
 */
int cgroup_mount_find(const char *controller, char *mountpoint, size_t size)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *fields[6] = {0}, *saveptr = NULL, *token = strtok_r(line, " \n", &saveptr);
		for (int i = 0; token && i < 6; i++, token = strtok_r(NULL, " \n", &saveptr))
			fields[i] = token;
		while (token && strcmp(token, "-") != 0)
			token = strtok_r(NULL, " \n", &saveptr);
		char *fstype = token ? strtok_r(NULL, " \n", &saveptr) : NULL;
		char *source = fstype ? strtok_r(NULL, " \n", &saveptr) : NULL;
		char *superoptions = source ? strtok_r(NULL, " \n", &saveptr) : NULL;
		if (!fields[4] || !superoptions)
			continue;
		bool match = false;
		if (!controller) {
			match = strcmp(fstype, "cgroup2") == 0;
		} else if (strcmp(fstype, "cgroup") == 0) {
			char *opt_save = NULL;
			for (char *opt = strtok_r(superoptions, ",", &opt_save); opt;
			     opt = strtok_r(NULL, ",", &opt_save))
				match = match || strcmp(opt, controller) == 0;
		}
		if (match) {
			unescape_mountinfo(fields[4]);
			snprintf(mountpoint, size, "%s", fields[4]);
			return 0;
		}
	}
	return ferror(f) ? -EIO : -ENOENT;
}

/* A place's directory: MOUNTPOINT + the cgroup's path, which starts with '/'. */
static int place_set(char *dir, const char *mountpoint, const char *cgroup, vfg_error *err)
{
	size_t size = VFG_PATH_MAX;
	int n = snprintf(dir, size, "%s%s", mountpoint, strcmp(cgroup, "/") == 0 ? "" : cgroup);
	if (n < 0 || (size_t)n >= size)
		return vfg_error_set(err, ENAMETOOLONG, cgroup, "cgroup path under %s is too long", mountpoint);
	return 0;
}

/* From /proc/PID/cgroup (cgroups(7): ID:CONTROLLERS:PATH), the pid's cgroups that govern devices. */
static int cgroups_of_pid(pid_t pid, cgroup_place *place, char *why, size_t size, vfg_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f && errno == ENOENT) {
		snprintf(why, size, "pid %d is not running: its cgroup cannot be found", (int)pid);
		return 0;
	}
	if (!f)
		return vfg_error_set(err, errno, path, "cannot find the domain's cgroup");

	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\n")] = '\0';
		char *controllers = strchr(line, ':');
		char *cgroup = controllers ? strchr(controllers + 1, ':') : NULL;
		if (!cgroup)
			continue;
		*controllers++ = '\0';
		*cgroup++ = '\0';
		bool v2 = line[0] == '0' && line[1] == '\0' && controllers[0] == '\0';
		bool devices = false;
		char *saveptr = NULL;
		for (char *c = strtok_r(controllers, ",", &saveptr); c; c = strtok_r(NULL, ",", &saveptr))
			devices = devices || strcmp(c, "devices") == 0;
		if (!v2 && !devices)
			continue;

		char mountpoint[512];
		int r = cgroup_mount_find(v2 ? NULL : "devices", mountpoint, sizeof(mountpoint));
		if (r == -ENOENT)
			continue; /* not mounted here: the manager could not manage it either */
		if (r < 0)
			return vfg_error_set(err, -r, "/proc/self/mountinfo", "cannot find where cgroups are mounted");
		if (place_set(v2 ? place->v2 : place->v1, mountpoint, cgroup, err) < 0)
			return -1;
	}
	if (!place->v1[0] && !place->v2[0])
		snprintf(why, size, "pid %d sits in no device-controlled cgroup", (int)pid);
	return 0;
}

static int cgroup_of_path(const char *path, cgroup_place *place, char *why, size_t size, vfg_error *err)
{
	struct statfs fs;
	if (statfs(path, &fs) < 0) {
		if (errno != ENOENT)
			return vfg_error_set(err, errno, path, "cannot use as the domain's cgroup");
		/* as at revoke, once the VM's cgroup is removed: its rules went with it */
		snprintf(why, size, "cgroup %s does not exist", path);
		return 0;
	}
	if ((unsigned long)fs.f_type == CGROUP2_SUPER_MAGIC) {
		snprintf(place->v2, sizeof(place->v2), "%s", path);
		return 0;
	}
	if ((unsigned long)fs.f_type != CGROUP_SUPER_MAGIC)
		return vfg_error_set(err, 0, path,
				     "is not a cgroup directory (neither cgroup nor cgroup2 file system)");

	char list[VFG_PATH_MAX + 16];
	snprintf(list, sizeof(list), "%s/devices.list", path);
	if (access(list, F_OK) < 0)
		return vfg_error_set(err, 0, path, "is a v1 cgroup without the devices controller (no devices.list)");
	snprintf(place->v1, sizeof(place->v1), "%s", path);
	return 0;
}

int cgroup_place_find(const vfg_domain *domain, cgroup_place *place, char *why, size_t size, vfg_error *err)
{
	memset(place, 0, sizeof(*place));
	why[0] = '\0';
	const char *path = vfg_domain_attr(domain, "cgroup.path");
	if (path[0])
		return cgroup_of_path(path, place, why, size, err);
	if (domain->pid > 0)
		return cgroups_of_pid(domain->pid, place, why, size, err);
	snprintf(why, size, "no cgroup given (--cgroup or --pid): no device rule is made");
	return 0;
}

/*
 * Is @dir the root of its hierarchy? cgroup2's root lacks cgroup.type ("exists
 * on non-root cgroups", Documentation/admin-guide/cgroup-v2.rst); a v1
 * hierarchy's top cgroup alone has release_agent ("exists in the top cgroup
 * only", Documentation/admin-guide/cgroup-v1/cgroups.rst). 1, 0, or -1.
 */
static int hierarchy_root(const char *dir, bool v2, vfg_error *err)
{
	char path[VFG_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, v2 ? "cgroup.type" : "release_agent");
	if (access(path, F_OK) == 0)
		return v2 ? 0 : 1;
	if (errno != ENOENT)
		return vfg_error_set(err, errno, path, "cannot tell whether %s is a root cgroup", dir);
	return v2 ? 1 : 0;
}

/*
 * By inode up @other's path, so another spelling of @dir (a trailing slash,
 * a second mount of the hierarchy) is caught too.
 */
int cgroup_place_holds(const char *dir, const char *other, vfg_error *err)
{
	struct stat target;
	if (stat(dir, &target) < 0)
		return vfg_error_set(err, errno, dir, "cannot read the cgroup");
	char path[VFG_PATH_MAX];
	snprintf(path, sizeof(path), "%s", other);
	for (int depth = 1;; depth++) {
		struct stat st;
		if (stat(path, &st) < 0)
			return 0; /* above the mount, or gone: no match can follow */
		if (st.st_dev == target.st_dev && st.st_ino == target.st_ino)
			return depth == 1 ? 1 : 2;
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			return 0;
		*slash = '\0';
	}
}

/* One hierarchy's refusal, appended to @why ("; " between two). 1 when refused, 0, or -1. */
static int hierarchy_refusal(const char *dir, const char *own, bool v2, char *why, size_t size, vfg_error *err)
{
	int root = hierarchy_root(dir, v2, err);
	int holds = root == 0 && own[0] ? cgroup_place_holds(dir, own, err) : 0;
	if (root < 0 || holds < 0)
		return -1;
	if (!root && !holds)
		return 0;
	size_t used = strlen(why);
	const char *what = v2 ? "cgroup2" : "v1 devices";
	if (root)
		snprintf(why + used, size - used,
			 "%s%s %s is the root cgroup: every process on the host would be confined", used ? "; " : "",
			 what, dir);
	else if (holds == 1)
		snprintf(why + used, size - used,
			 "%s%s %s holds vfguard itself (pid %d): vfguard's own helpers would be confined",
			 used ? "; " : "", what, dir, (int)getpid());
	else
		snprintf(why + used, size - used,
			 "%s%s %s is an ancestor of vfguard's own cgroup %s: vfguard's own helpers would be confined",
			 used ? "; " : "", what, dir, own);
	return 1;
}

int cgroup_place_own(cgroup_place *own, vfg_error *err)
{
	char none[128];
	memset(own, 0, sizeof(*own));
	return cgroups_of_pid(getpid(), own, none, sizeof(none), err);
}

int cgroup_place_refusal(const cgroup_place *place, const cgroup_place *own, char *why, size_t size, vfg_error *err)
{
	why[0] = '\0';
	int refused = 0, r;
	if (place->v1[0] && (r = hierarchy_refusal(place->v1, own->v1, false, why, size, err)) != 0) {
		if (r < 0)
			return -1;
		refused = 1;
	}
	if (place->v2[0] && (r = hierarchy_refusal(place->v2, own->v2, true, why, size, err)) != 0) {
		if (r < 0)
			return -1;
		refused = 1;
	}
	if (refused) {
		size_t used = strlen(why);
		snprintf(why + used, size - used, ". A VM's process belongs in a cgroup of its own");
	}
	return refused;
}
