/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * v1, the part that needs libcgroup: where the devices hierarchy is
 * mounted, which a cgroup must be below before the labeler writes a rule
 * there (cgroup_v1.c). A module of its own (cgroup-v1.so), loaded by the
 * labeler only when it writes to a v1 cgroup, so that a host on cgroup2
 * alone never maps libcgroup. libcgroup's cgroup_init() clears a table of
 * CG_CONTROLLER_MAX (100) mount entries of two FILENAME_MAX paths each,
 * 800 KiB (libcgroup-internal.h, struct cg_mount_table_s, v2.0.2): a
 * process that never writes to v1 should not pay for it.
 */
#include <errno.h>
#include <libcgroup.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

static int libcgroup_status = -1;

static void libcgroup_init_once(void)
{
	/* libcgroup's default logger writes to stdout, where vfguard prints plans and JSON. */
	cgroup_set_logger(NULL, 0, NULL);
	libcgroup_status = cgroup_init();
}

/* The devices hierarchy's mount point as libcgroup finds it, for @dir (the error's subject); NULL with @err. */
static char *devices_mount_point(const char *dir, const char *file, vfg_error *err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, libcgroup_init_once);
	if (libcgroup_status != 0) {
		vfg_error_set(err, 0, dir, "libcgroup cannot start (%s), so nothing can go to %s",
			      cgroup_strerror(libcgroup_status), file);
		return NULL;
	}
	char *mountpoint = NULL;
	int r = cgroup_get_subsys_mount_point("devices", &mountpoint);
	if (r != 0 || !mountpoint) {
		free(mountpoint);
		vfg_error_set(err, 0, dir,
			      "is not below the devices controller's mount point (libcgroup finds none: %s)",
			      cgroup_strerror(r));
		return NULL;
	}
	return mountpoint;
}

static int devices_mount(char *found, size_t size, vfg_error *err)
{
	_cleanup_free_ char *mountpoint = devices_mount_point("devices", "devices.allow", err);
	if (!mountpoint)
		return -1;
	if (strlen(mountpoint) >= size)
		return vfg_error_set(err, ENAMETOOLONG, mountpoint, "the devices controller's mount point is too long");
	memcpy(found, mountpoint, strlen(mountpoint) + 1);
	return 0;
}

/* A directory is written to only when it is below the devices hierarchy's mount point, as libcgroup finds it. */
static int devices_hierarchy_check(const char *dir, const char *file, char *found, size_t size, vfg_error *err)
{
	_cleanup_free_ char *mountpoint = devices_mount_point(dir, file, err);
	if (!mountpoint)
		return -1;
	size_t len = strlen(mountpoint);
	if (strncmp(dir, mountpoint, len) != 0 || (dir[len] != '/' && dir[len] != '\0'))
		return vfg_error_set(err, 0, dir, "is not below the devices controller's mount point %s", mountpoint);
	if (len >= size)
		return vfg_error_set(err, ENAMETOOLONG, mountpoint, "the devices controller's mount point is too long");
	memcpy(found, mountpoint, len + 1);
	return 0;
}

VFG_LABELER_EXPORT const cgroup_v1_ops cgroup_v1_libcgroup_ops = {
	.size = sizeof(cgroup_v1_ops),
	.hierarchy_check = devices_hierarchy_check,
	.devices_mount = devices_mount,
};
