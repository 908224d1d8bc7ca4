/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Files in vfguard's state directory. What vfguard remembers about a host
 * (the journal, a function's original driver) must survive a crash at any
 * instant: a file is either the old content or the new, never a torn mix.
 * So every replacement is vfg_file_replace() (util.c): write-to-temporary,
 * fsync, rename, fsync the directory (rename is atomic within a filesystem,
 * and the directory's fsync makes the new name itself durable: fsync(2),
 * "Notes").
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "vfg_fault.h"

#define STATE_DIRECTORY_MODE 0700
#define STATE_FILE_MODE 0600

int vfg_state_path(const vfg_context *ctx, const char *relative, char *buf, size_t size, vfg_error *err)
{
	const char *state_dir = vfg_config_get(ctx->config, "state_dir");
	if (state_dir[0] != '/')
		return vfg_error_set(err, EINVAL, state_dir, "state_dir must be an absolute path");
	char logical[VFG_PATH_MAX];
	int n = snprintf(logical, sizeof(logical), "%s%s%s", state_dir, relative[0] ? "/" : "", relative);
	if (n < 0 || (size_t)n >= sizeof(logical))
		return vfg_error_set(err, ENAMETOOLONG, state_dir, "state path too long");
	return vfg_host_path(ctx, logical, buf, size, err);
}

/* "a directory", "a regular file": what the state directory expects at a path, for messages. */
static const char *expected_type_name(bool directory)
{
	return directory ? "a directory" : "a regular file";
}

/*
 * The state directory tells vfguard what to put back on device nodes, as
 * root: whoever can write in it can make revoke chown or chmod any node. So
 * vfguard trusts what is there only when no one but root can have written
 * it: owned by root, writable by neither group nor others, and no symlink
 * (O_NOFOLLOW) that could lead elsewhere.
 */
static int state_check(int fd, const char *path, bool directory, struct stat *found, vfg_error *err)
{
	struct stat own, *st = found ? found : &own;
	if (fstat(fd, st) < 0)
		return vfg_error_set(err, errno, path, "cannot stat a file of the state directory");
	if (directory ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
		return vfg_error_set(err, 0, path, "is %s, not %s; vfguard will not use it as its state",
				     vfg_file_type_name(st->st_mode), expected_type_name(directory));
	if (st->st_uid != 0 || (st->st_mode & (S_IWGRP | S_IWOTH)))
		return vfg_error_set(err, EPERM, path,
				     "is owned by uid %u with mode %04o; vfguard trusts its state only when owned "
				     "by root (uid 0) and writable by neither group nor others: chown root and "
				     "chmod go-w it once you know nobody else changed it, or move it aside",
				     (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
	return 0;
}

int vfg_state_check(int fd, const char *path, bool directory, vfg_error *err)
{
	return state_check(fd, path, directory, NULL, err);
}

int vfg_state_open(const char *path, int flags, bool directory, vfg_error *err)
{
	return vfg_state_open_stat(path, flags, directory, NULL, err);
}

/* vfg_state_open(), and what fstat said in *@st (NULL: not wanted). */
int vfg_state_open_stat(const char *path, int flags, bool directory, struct stat *st, vfg_error *err)
{
	int fd = (flags & O_CREAT) && vfg_fault("state.create")
			 ? -1
			 : open(path, flags | (directory ? O_DIRECTORY : 0) | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
				STATE_FILE_MODE);
	if (fd < 0) {
		int saved = errno;
		struct stat link;
		if (saved == ENOENT)
			return -ENOENT;
		/* O_NOFOLLOW fails with ELOOP on a symlink (open(2)); O_DIRECTORY with ENOTDIR on one to a file. */
		if ((saved == ELOOP || saved == ENOTDIR) && lstat(path, &link) == 0 && S_ISLNK(link.st_mode))
			return vfg_error_set(err, saved, path,
					     "is a symbolic link; vfguard follows none in its state directory "
					     "(expected %s owned by root)",
					     expected_type_name(directory));
		return vfg_error_set(err, saved, path, "cannot open a file of the state directory");
	}
	/*
	 * O_NONBLOCK: a FIFO put in a file's place would block the open until a
	 * writer came (a trial's hung status, and an apply hung holding the
	 * host lock); open so, it is refused by the check as any file that is
	 * not a regular one. A regular file or directory ignores the flag;
	 * it is cleared all the same.
	 */
	if (state_check(fd, path, directory, st, err) < 0 ||
	    (fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 &&
	     vfg_error_set(err, errno, path, "cannot open a file of the state directory") < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int make_directory(const char *path, bool check, vfg_error *err)
{
	if (!check)
		return vfg_mkdir(path, STATE_DIRECTORY_MODE, "the state directory", err);
	if ((vfg_fault("state.mkdir") || mkdir(path, STATE_DIRECTORY_MODE) < 0) && errno != EEXIST)
		return vfg_error_set(err, errno, path, "cannot create the state directory");
	int fd = vfg_state_open(path, O_RDONLY, true, err);
	if (fd == -ENOENT)
		return vfg_error_set(err, ENOENT, path, "vanished while the state directory was made");
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int vfg_state_mkdir(const vfg_context *ctx, const char *relative, vfg_error *err)
{
	char path[VFG_PATH_MAX], state_dir[VFG_PATH_MAX];
	if (vfg_state_path(ctx, relative, path, sizeof(path), err) < 0 ||
	    vfg_state_path(ctx, "", state_dir, sizeof(state_dir), err) < 0)
		return -1;
	/*
	 * Only the part below the root prefix is created: the prefix is the
	 * caller's. The directories above the state directory (/run) are the
	 * system's; from the state directory down each must be root's alone.
	 */
	size_t start = strcmp(ctx->root, "/") == 0 ? 1 : strlen(ctx->root) + 1;
	size_t state_length = strlen(state_dir);
	for (char *slash = strchr(path + start, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		int r = make_directory(path, (size_t)(slash - path) >= state_length, err);
		*slash = '/';
		if (r < 0)
			return -1;
	}
	return make_directory(path, true, err);
}

int vfg_state_check_directories(const vfg_context *ctx, const char *relative, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (vfg_state_path(ctx, "", path, sizeof(path), err) < 0)
		return -1;
	size_t state_length = strlen(path);
	if (vfg_state_path(ctx, relative, path, sizeof(path), err) < 0)
		return -1;
	/* The state directory, then each one below it: path[end] is the '/' after one, or the final NUL. */
	for (size_t end = state_length;;) {
		char saved = path[end];
		path[end] = '\0';
		int fd = vfg_state_open(path, O_RDONLY, true, err);
		path[end] = saved;
		if (fd < 0)
			return fd;
		close(fd);
		if (!saved)
			return 0;
		const char *next = strchr(path + end + 1, '/');
		end = next ? (size_t)(next - path) : strlen(path);
	}
}

int vfg_file_read_all(const char *path, char **content, size_t *size, vfg_error *err)
{
	*content = NULL;
	if (size)
		*size = 0;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		return vfg_error_set(err, errno, path, "cannot read");
	}
	return vfg_fd_read_all(fd, path, 0, content, size, err);
}

int vfg_state_read_all(const char *path, char **content, size_t *size, vfg_error *err)
{
	*content = NULL;
	if (size)
		*size = 0;
	_cleanup_close_ int fd = vfg_state_open(path, O_RDONLY, false, err);
	if (fd < 0)
		return fd == -ENOENT ? -ENOENT : -1;
	return vfg_fd_read_all(fd, path, 0, content, size, err);
}

int vfg_state_opendir(const char *path, DIR **dir, vfg_error *err)
{
	int fd = vfg_state_open(path, O_RDONLY, true, err);
	if (fd < 0)
		return fd;
	*dir = fdopendir(fd);
	if (!*dir) {
		int saved = errno;
		close(fd);
		return vfg_error_set(err, saved, path, "cannot list the directory");
	}
	return 0;
}
