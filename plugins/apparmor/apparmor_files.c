/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Directories the AppArmor labeler makes and removes. Its files (the rules
 * file) are replaced with vfg_file_replace_owned() (util.h): old content or
 * new, never a torn mix, with the owner and mode the file had; an original
 * too large for the undo text goes to the journal's store (vfg_txn_save).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "apparmor.h"
#include "vfg_fault.h"

int apparmor_directory_remove_empty(const char *path, vfg_error *err)
{
	if (vfg_fault("apparmor.rmdir") || rmdir(path) < 0) {
		if (errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST)
			return 0;
		return vfg_error_set(err, errno, path, "apparmor: cannot remove the directory");
	}
	return vfg_fsync_parent(path, err);
}

int apparmor_mkdir_below(const char *root, const char *path, mode_t mode, vfg_error *err)
{
	char copy[VFG_PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	/* Only the part below the root prefix is created: the prefix is the caller's. */
	size_t start = strcmp(root, "/") == 0 ? 1 : strlen(root) + 1;
	if (start > strlen(copy))
		return 0;
	for (char *slash = strchr(copy + start, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		int r = vfg_mkdir(copy, 0755, "apparmor: a directory", err);
		*slash = '/';
		if (r < 0)
			return -1;
	}
	return vfg_mkdir(copy, mode, "apparmor: a directory", err);
}
