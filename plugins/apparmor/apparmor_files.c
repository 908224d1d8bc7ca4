/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files the AppArmor labeler writes: the rules file, and the saved copy of
 * an original too large for the undo text. A crash may come at any instant,
 * so a file is either its old content or its new, never a torn mix:
 * vfg_file_replace_owned() (util.h) writes both, the rules file with the
 * owner and mode it had.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "apparmor.h"

#define SAVED_DIRECTORY "apparmor"
#define SAVED_SUFFIX ".original"

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

static int saved_directory(const vfg_labeler_env *env, char *buf, size_t size, vfg_error *err)
{
	const char *state_dir = vfg_config_get(env->config, "state_dir");
	char logical[VFG_PATH_MAX];
	int n = snprintf(logical, sizeof(logical), "%s/%s", state_dir, SAVED_DIRECTORY);
	if (n < 0 || (size_t)n >= sizeof(logical))
		return vfg_error_set(err, ENAMETOOLONG, state_dir, "apparmor: state path too long");
	return vfg_env_host_path(env, logical, buf, size, err);
}

static int saved_path(const vfg_labeler_env *env, const char *domain, uint64_t hash, char *buf, size_t size,
		      vfg_error *err)
{
	char dir[VFG_PATH_MAX];
	if (saved_directory(env, dir, sizeof(dir), err) < 0)
		return -1;
	int n = snprintf(buf, size, "%s/%s.%016llx%s", dir, domain, (unsigned long long)hash, SAVED_SUFFIX);
	if (n < 0 || (size_t)n >= size)
		return vfg_error_set(err, ENAMETOOLONG, dir, "apparmor: saved original's path too long");
	return 0;
}

int apparmor_saved_write(const vfg_labeler_env *env, const char *domain, const apparmor_original *original,
			 vfg_error *err)
{
	char dir[VFG_PATH_MAX], path[VFG_PATH_MAX + VFG_NAME_MAX + 32];
	uint64_t hash = apparmor_hash(original->content, original->size);
	if (saved_directory(env, dir, sizeof(dir), err) < 0 || apparmor_mkdir_below(env->root, dir, 0700, err) < 0 ||
	    saved_path(env, domain, hash, path, sizeof(path), err) < 0)
		return -1;
	return vfg_file_replace_owned(path, original->content, original->size, 0600, 0, 0, err);
}

int apparmor_saved_read(const vfg_labeler_env *env, const char *domain, const apparmor_undo *undo, char **content,
			vfg_error *err)
{
	char path[VFG_PATH_MAX + VFG_NAME_MAX + 32];
	*content = NULL;
	if (saved_path(env, domain, undo->hash, path, sizeof(path), err) < 0)
		return -1;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vfg_error_set(err, errno, path, "apparmor: cannot open the saved original of the rules file");
	/* Written as root into the state directory (0600): anything else is not the copy the grant saved. */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vfg_error_set(err, errno, path, "apparmor: cannot stat the saved original");
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return vfg_error_set(err, EPERM, path,
				     "apparmor: the saved original is owned by uid %u with mode %04o; only a regular "
				     "file root alone can have written is restored",
				     (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	_cleanup_free_ char *buf = malloc(undo->size + 1);
	if (!buf)
		return vfg_error_set(err, ENOMEM, path, "apparmor: cannot read the saved original");
	size_t used = 0;
	for (;;) {
		/* One byte past the journaled size: a longer file must show as one. */
		ssize_t n = read(fd, buf + used, undo->size + 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vfg_error_set(err, errno, path, "apparmor: cannot read the saved original");
		used += (size_t)n;
		if (n == 0 || used == undo->size + 1)
			break;
	}
	if (used != undo->size || apparmor_hash(buf, used) != undo->hash)
		return vfg_error_set(err, EINVAL, path,
				     "apparmor: the saved original is not the one journaled (size or hash differ); "
				     "refusing to restore it");
	*content = vfg_steal_ptr(&buf);
	return 0;
}

/* DOMAIN.HHHHHHHHHHHHHHHH.original, the hash 16 lower-case hex digits. */
static bool saved_name_of(const char *name, const char *domain)
{
	size_t domain_length = strlen(domain), suffix = strlen(SAVED_SUFFIX);
	if (strlen(name) != domain_length + 1 + 16 + suffix || strncmp(name, domain, domain_length) != 0 ||
	    name[domain_length] != '.' || strcmp(name + domain_length + 17, SAVED_SUFFIX) != 0)
		return false;
	for (size_t i = domain_length + 1; i < domain_length + 17; i++)
		if (!strchr("0123456789abcdef", name[i]))
			return false;
	return true;
}

int apparmor_saved_remove_all(const vfg_labeler_env *env, const char *domain, vfg_error *err)
{
	char dir_path[VFG_PATH_MAX];
	if (saved_directory(env, dir_path, sizeof(dir_path), err) < 0)
		return -1;
	_cleanup_closedir_ DIR *dir = opendir(dir_path);
	if (!dir) {
		if (errno == ENOENT)
			return 0;
		return vfg_error_set(err, errno, dir_path, "apparmor: cannot list saved originals");
	}
	bool removed = false;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		if (!saved_name_of(entry->d_name, domain))
			continue;
		if (unlinkat(dirfd(dir), entry->d_name, 0) < 0 && errno != ENOENT)
			return vfg_error_set(err, errno, entry->d_name, "apparmor: cannot remove the saved original");
		removed = true;
	}
	if (!removed)
		return 0;
	_cleanup_close_ int fd = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return vfg_error_set(err, errno, dir_path, "apparmor: cannot make the directory durable (fsync)");
	return 0;
}
