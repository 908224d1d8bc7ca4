/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device nodes are never trusted by path: one is opened O_PATH without
 * following any symlink, then must be a character device with exactly the
 * rdev sysfs gives. Later changes act on that fd, so a node swapped after
 * the check is not the one changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "journal.h" /* txn_view: what vfg_labeler_env.core points at */

const char *vfg_file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFBLK:
		return "a block device";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFLNK:
		return "a symlink";
	case S_IFCHR:
		return "a character device";
	default:
		return "an unknown file type";
	}
}

/*
 * Open @logical_path below the root prefix: @root_fd when the caller holds
 * it open (the context does, for all its node checks), else @root opened here.
 */
static int open_beneath(int root_fd, const char *root, const char *logical_path, const char *real, vfg_error *err)
{
	_cleanup_close_ int own_root_fd = -1;
	if (root_fd < 0) {
		own_root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (own_root_fd < 0)
			return vfg_error_set(err, errno, root, "cannot open root prefix");
		root_fd = own_root_fd;
	}

	/*
	 * openat2(2), Linux 5.6: RESOLVE_NO_SYMLINKS refuses a symlink in any
	 * component (ELOOP) except a trailing one under O_PATH|O_NOFOLLOW, which
	 * is opened itself so the caller can name it; RESOLVE_BENEATH keeps ".."
	 * from leaving the root prefix.
	 */
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH,
	};
	int fd = (int)syscall(SYS_openat2, root_fd, logical_path + 1, &how, sizeof(how));
	if (fd < 0) {
		if (errno == ELOOP)
			return vfg_error_set(err, errno, real,
					     "a directory on the way is a symlink; refusing to follow it");
		if (errno == EXDEV)
			return vfg_error_set(err, errno, real,
					     "the path leads out of the root prefix (a '..' past it)");
		if (errno == ENOSYS)
			return vfg_error_set(
				err, errno, real,
				"cannot open the device node: the kernel has no openat2() (Linux 5.6 or later "
				"is needed) or a seccomp filter refuses it; vfguard opens every node with it, "
				"so that no symlink or '..' leads it elsewhere");
		if (errno == ENOENT) {
			vfg_error_set(err, 0, real, "missing: the device node does not exist");
			if (err)
				err->errnum = ENOENT; /* so a revoke can tell "gone" from "refused" */
			return -1;
		}
		return vfg_error_set(err, errno, real, "cannot open the device node");
	}
	return fd;
}

int vfg_node_open_path(const vfg_context *ctx, const char *logical_path, vfg_error *err)
{
	char real[VFG_PATH_MAX];
	if (vfg_host_path(ctx, logical_path, real, sizeof(real), err) < 0)
		return -1;
	return open_beneath(ctx->root_fd, ctx->root, logical_path, real, err);
}

/* Is the file behind @fd the character device @node names? */
/* Another file than the node sysfs names is at the path: EMEDIUMTYPE tells callers so, the message says what. */
static int wrong_node(vfg_error *err)
{
	if (err)
		err->errnum = EMEDIUMTYPE;
	return -1;
}

static int check_node(int fd, const char *real, const vfg_node *node, struct stat *st_out, vfg_error *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vfg_error_set(err, errno, real, "cannot stat the device node");
	if (S_ISLNK(st.st_mode)) {
		char target[VFG_PATH_MAX];
		ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
		target[n < 0 ? 0 : n] = '\0';
		vfg_error_set(err, 0, real, "is a symlink to '%s', not a character device %u:%u; refusing to follow it",
			      target, major(node->rdev), minor(node->rdev));
		return wrong_node(err);
	}
	if (!S_ISCHR(st.st_mode)) {
		vfg_error_set(err, 0, real, "is %s, not a character device %u:%u", vfg_file_type_name(st.st_mode),
			      major(node->rdev), minor(node->rdev));
		return wrong_node(err);
	}
	if (st.st_rdev != node->rdev) {
		vfg_error_set(err, 0, real, "is character device %u:%u, but sysfs gives %u:%u for it",
			      major(st.st_rdev), minor(st.st_rdev), major(node->rdev), minor(node->rdev));
		return wrong_node(err);
	}
	*st_out = st;
	return 0;
}

int vfg_node_keep_below(void)
{
	/* A margin for what the rest of the plan opens (journals, the cgroup's files, plugins). */
	const rlim_t margin = 64;
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) < 0 || limit.rlim_cur <= margin)
		return 0;
	return limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur - margin > INT_MAX ? INT_MAX
										    : (int)(limit.rlim_cur - margin);
}

int vfg_node_inspect_keep(const vfg_context *ctx, vfg_node *node, int keep_below, int *kept, vfg_error *err)
{
	char real[VFG_PATH_MAX];
	struct stat st;
	if (kept)
		*kept = -1;
	if (vfg_host_path(ctx, node->path, real, sizeof(real), err) < 0)
		return -1;
	_cleanup_close_ int fd = open_beneath(ctx->root_fd, ctx->root, node->path, real, err);
	if (fd < 0 || check_node(fd, real, node, &st, err) < 0)
		return -1;
	node->uid = st.st_uid;
	node->gid = st.st_gid;
	node->mode = st.st_mode & 07777;
	/*
	 * The kernel gives the lowest free fd (open(2)), so a number this far
	 * below the limit leaves the table room: keep it; else close it, and
	 * the labeler opens the node again.
	 */
	if (kept && fd < keep_below) {
		*kept = fd;
		fd = -1;
	}
	return 0;
}

int vfg_node_inspect(const vfg_context *ctx, vfg_node *node, vfg_error *err)
{
	return vfg_node_inspect_keep(ctx, node, 0, NULL, err);
}

/* The root prefix the core holds open behind @env, -1 when @env is not the core's (a test's, say). */
static int vfg_env_root_fd(const vfg_labeler_env *env)
{
	const txn_view *view = env->core;
	return view ? view->root_fd : -1;
}

/*
 * A duplicate of the fd the plan's enumeration checked @node through and
 * kept (vfg_node_inspect_keep, txn_view.kept_fds), for the caller to close;
 * -1 when there is none: the node is then opened anew. The kept one stays
 * for the next labeler and, in an apply planned in the same hold of the
 * lock, for the intent and the grant: one path walk per node, not one per
 * call (issue 18: the DAC labeler's two opens were 8% of an apply).
 */
static int vfg_env_dup_kept(const vfg_labeler_env *env, const vfg_node *node)
{
	const txn_view *view = env->core;
	if (!view || !view->kept_fds || node < view->kept_nodes || node >= view->kept_nodes + view->n_kept ||
	    view->kept_fds[node - view->kept_nodes] < 0)
		return -1;
	return fcntl(view->kept_fds[node - view->kept_nodes], F_DUPFD_CLOEXEC, 3);
}

int vfg_node_open_stat(const vfg_labeler_env *env, const vfg_node *node, struct stat *st, vfg_error *err)
{
	char real[VFG_PATH_MAX];
	if (vfg_env_host_path(env, node->path, real, sizeof(real), err) < 0)
		return -1;
	/*
	 * A kept fd is the inode enumeration opened beneath the root with no
	 * symlink on the way and found the node sysfs names; check_node()
	 * fstat()s it again all the same, so the owner and mode are as they are
	 * now and the checks exactly those of a fresh open. It serves only while
	 * the path names it still, lstat-like (a symlink there is not it): a
	 * node made again at the path since (udev, after a rebind) is the one
	 * the hypervisor will open, and a change to the old inode would be
	 * reported made and be lost (a trial). Then the node is opened anew.
	 */
	struct stat at_path;
	int fd = vfg_env_dup_kept(env, node);
	bool kept = fd >= 0 && node->path[0] == '/' &&
		    fstatat(vfg_env_root_fd(env), node->path + 1, &at_path, AT_SYMLINK_NOFOLLOW) == 0;
	if (fd >= 0 && kept && check_node(fd, real, node, st, err) == 0 && st->st_dev == at_path.st_dev &&
	    st->st_ino == at_path.st_ino)
		return fd;
	if (fd >= 0)
		close(fd);
	vfg_error_clear(err);
	fd = open_beneath(vfg_env_root_fd(env), env->root, node->path, real, err);
	if (fd < 0)
		return -1;
	if (check_node(fd, real, node, st, err) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

VFG_EXPORT int vfg_node_open(const vfg_labeler_env *env, const vfg_node *node, vfg_error *err)
{
	struct stat st;
	return vfg_node_open_stat(env, node, &st, err);
}

int vfg_node_check_host(const vfg_context *ctx, const vfg_node *node, char *real, size_t size, vfg_error *err)
{
	struct stat checked;
	if (vfg_host_path(ctx, node->path, real, size, err) < 0)
		return -1;
	_cleanup_close_ int path_fd = open_beneath(ctx->root_fd, ctx->root, node->path, real, err);
	return path_fd < 0 || check_node(path_fd, real, node, &checked, err) < 0 ? -1 : 0;
}

int vfg_node_open_device(const vfg_context *ctx, const vfg_node *node, vfg_error *err)
{
	char real[VFG_PATH_MAX];
	struct stat checked, opened;
	if (vfg_host_path(ctx, node->path, real, sizeof(real), err) < 0)
		return -1;
	_cleanup_close_ int path_fd = open_beneath(ctx->root_fd, ctx->root, node->path, real, err);
	if (path_fd < 0 || check_node(path_fd, real, node, &checked, err) < 0)
		return -1;

	/*
	 * Reopen the very inode just checked through its /proc/self/fd magic
	 * link (proc(5)): a node swapped at the path meanwhile is not the one
	 * opened, and no driver's open() runs for a file that failed the check.
	 */
	char proc_path[VFG_PROC_FD_PATH_MAX];
	int fd = open(vfg_proc_fd_path(path_fd, proc_path, sizeof(proc_path)), O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		int error = errno;
		vfg_error_set(err, error, real, "cannot open the device node read-write");
		return -1;
	}
	if (fstat(fd, &opened) < 0 || opened.st_ino != checked.st_ino || opened.st_dev != checked.st_dev ||
	    opened.st_rdev != node->rdev) {
		close(fd);
		vfg_error_set(err, 0, real, "reopened as another file than the one checked");
		return wrong_node(err);
	}
	return fd;
}
