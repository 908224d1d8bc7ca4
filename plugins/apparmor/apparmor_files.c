/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The rules file, which the AppArmor labeler writes. A crash may come at
 * any instant, so a file is either its old content or its new, never a torn
 * mix: write a temporary file in the same directory, fsync it, rename it
 * over the old one (atomic within a file system), and fsync the directory
 * so the new name itself is durable (fsync(2), "Notes"). The core has the
 * same helper for its state files; a plugin includes only <vfguard/...>,
 * and a rules file keeps the owner and mode it had, so the labeler has its
 * own.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "apparmor.h"

static int fsync_parent(const char *path, vfg_error *err)
{
	char copy[VFG_PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	const char *dir = dirname(copy);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return vfg_error_set(err, errno, dir, "apparmor: cannot make the directory durable (fsync)");
	return 0;
}

static int write_all(int fd, const char *content, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, content, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		content += n;
		size -= (size_t)n;
	}
	return 0;
}

int apparmor_file_replace(const char *path, const char *content, size_t size, mode_t mode, uid_t uid, gid_t gid,
			  vfg_error *err)
{
	char temporary[VFG_PATH_MAX + 32];
	snprintf(temporary, sizeof(temporary), "%s.vfguard-tmp.%d", path, (int)getpid());
	_cleanup_close_ int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return vfg_error_set(err, errno, temporary, "apparmor: cannot create");
	/* chown before chmod: chown clears the set-id bits (notify_change()). */
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0 || write_all(fd, content, size) < 0 || fsync(fd) < 0) {
		int saved = errno;
		unlink(temporary);
		return vfg_error_set(err, saved, temporary, "apparmor: cannot write");
	}
	if (rename(temporary, path) < 0) {
		int saved = errno;
		unlink(temporary);
		return vfg_error_set(err, saved, path, "apparmor: cannot replace");
	}
	return fsync_parent(path, err);
}

int apparmor_file_remove(const char *path, vfg_error *err)
{
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return vfg_error_set(err, errno, path, "apparmor: cannot remove");
	}
	return fsync_parent(path, err);
}

int apparmor_directory_remove_empty(const char *path, vfg_error *err)
{
	if (rmdir(path) < 0) {
		if (errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST)
			return 0;
		return vfg_error_set(err, errno, path, "apparmor: cannot remove the directory");
	}
	return fsync_parent(path, err);
}

static int make_directory(const char *path, mode_t mode, vfg_error *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return vfg_error_set(err, errno, path, "apparmor: cannot create the directory");
	struct stat st;
	if (lstat(path, &st) < 0)
		return vfg_error_set(err, errno, path, "apparmor: cannot create the directory");
	if (!S_ISDIR(st.st_mode))
		return vfg_error_set(err, ENOTDIR, path, "apparmor: is in the way of a directory");
	return 0;
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
		int r = make_directory(copy, 0755, err);
		*slash = '/';
		if (r < 0)
			return -1;
	}
	return make_directory(copy, mode, err);
}
