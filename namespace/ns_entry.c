/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the helper does inside the namespace (ns_entry.h). This runs in a
 * child forked from a possibly multi-threaded process, so it calls only
 * async-signal-safe functions (signal-safety(7): system calls, and the
 * mem* functions POSIX.1-2017 added to the list); no stdio, no malloc.
 *
 * Directories are opened O_RDONLY (never a device node: that would open the
 * device), so their mark is read and written through the fd. The calls that
 * have no fd form on an O_PATH fd before Linux 6.6 (chmod, the xattr calls
 * on a node) use the node's name relative to the working directory, which is
 * the node's directory (fchdir to its O_PATH fd): /proc, through which the
 * host side reaches an O_PATH fd's inode, may be missing or another pid
 * namespace's inside the VM's mount namespace. The l* xattr calls never
 * follow a symlink; fchmodat follows one, and runs only on the character
 * device mknodat made a moment before, in a directory only root can write.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "ns_entry.h"
#include "ns_exec.h"
#include "vfg_fault.h"

/* fds[0] is the root prefix, fds[i + 1] the directory dirs[i]. */
typedef struct entry_walk {
	int fds[NS_ENTRY_DEPTH_MAX + 1];
	size_t n_open;
} entry_walk;

static void walk_close(entry_walk *walk)
{
	while (walk->n_open > 0)
		close(walk->fds[--walk->n_open]);
}

static int walk_node_dir(const entry_walk *walk)
{
	return walk->fds[walk->n_open - 1];
}

static bool report_failure(ns_entry_report *report, ns_entry_call call, size_t at)
{
	report->failed = call;
	report->errnum = errno;
	report->at = at;
	return false;
}

static int open_dir(int parent, const char *name)
{
	return openat(parent, name, O_RDONLY | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
}

/* Does the directory carry the request's mark? Unreadable or unsupported: no. */
static bool dir_marked(int fd, const ns_entry_request *request)
{
	char value[VFG_NAME_MAX];
	ssize_t n = fgetxattr(fd, NS_XATTR_MARK, value, sizeof(value));
	return n == (ssize_t)request->mark_size && memcmp(value, request->mark, request->mark_size) == 0;
}

/* Mark a directory just made; a file system without trusted.* xattrs only loses the hint. */
static bool dir_mark(int fd, const ns_entry_request *request, ns_entry_report *report, size_t at)
{
	if ((vfg_fault("namespace.mark") || fsetxattr(fd, NS_XATTR_MARK, request->mark, request->mark_size, 0) < 0) &&
	    errno != EOPNOTSUPP)
		return report_failure(report, NS_CALL_MKDIR, at);
	return true;
}

/*
 * Open the root prefix and the directories below it, never following a
 * symlink. Without @create it stops at the first missing directory
 * (report->first_missing); with it, it makes the missing ones, all but the
 * first (/dev itself is the namespace's, never vfguard's to make).
 */
static bool walk_open(const ns_entry_request *request, bool create, entry_walk *walk, ns_entry_report *report)
{
	walk->n_open = 0;
	report->first_missing = request->n_dirs;
	int fd = open(request->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return report_failure(report, NS_CALL_OPEN_ROOT, 0);
	walk->fds[walk->n_open++] = fd;
	for (size_t i = 0; i < request->n_dirs; i++) {
		int parent = walk->fds[i];
		bool made = false;
		fd = open_dir(parent, request->dirs[i]);
		if (fd < 0 && errno == ENOENT && create && i > 0) {
			if (!vfg_fault("namespace.mkdir") && mkdirat(parent, request->dirs[i], 0755) == 0)
				made = true;
			else if (errno != EEXIST)
				return report_failure(report, NS_CALL_MKDIR, i);
			fd = open_dir(parent, request->dirs[i]);
		}
		if (fd < 0) {
			if (errno == ENOENT && !create) {
				report->first_missing = i;
				return true;
			}
			/* O_NOFOLLOW|O_DIRECTORY on a symlink or a file: ENOTDIR (ELOOP on older kernels). */
			if (errno == ENOTDIR || errno == ELOOP)
				return report_failure(report, NS_CALL_NOT_DIR, i);
			return report_failure(report, NS_CALL_OPEN_DIR, i);
		}
		walk->fds[walk->n_open++] = fd;
		report->marked[i] = dir_marked(fd, request);
		if (made && !dir_mark(fd, request, report, i))
			return false;
	}
	if (fchdir(walk_node_dir(walk)) < 0)
		return report_failure(report, NS_CALL_OPEN_DIR, request->n_dirs - 1);
	return true;
}

static bool xattr_read(const char *name, const char *xattr, ns_xattr *out, ns_entry_report *report, size_t at)
{
	ssize_t n = lgetxattr(name, xattr, out->value, sizeof(out->value));
	if (n >= 0) {
		out->present = true;
		out->size = (size_t)n;
		return true;
	}
	/* EOPNOTSUPP: a file system without that kind of xattr, where none can be. */
	if (errno == ENODATA || errno == EOPNOTSUPP) {
		out->present = false;
		out->size = 0;
		return true;
	}
	return report_failure(report, NS_CALL_GETXATTR, at);
}

/* What is at the node's path (in the working directory): report->found and report->seen. */
static bool node_inspect(const ns_entry_request *request, const entry_walk *walk, ns_entry_report *report)
{
	struct stat st;
	memset(&report->seen, 0, sizeof(report->seen));
	report->found = false;
	if (fstatat(walk_node_dir(walk), request->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return true;
		return report_failure(report, NS_CALL_STAT, request->n_dirs);
	}
	report->found = true;
	report->seen.mode = st.st_mode;
	report->seen.rdev = st.st_rdev;
	report->seen.uid = st.st_uid;
	report->seen.gid = st.st_gid;
	if (!S_ISCHR(st.st_mode))
		return true;
	return xattr_read(request->name, NS_XATTR_ACL, &report->seen.acl, report, request->n_dirs) &&
	       xattr_read(request->name, NS_XATTR_LABEL, &report->seen.label, report, request->n_dirs);
}

/*
 * The node with the host node's rdev, then owner, ACL, mode and label. The
 * ACL goes before the mode: setting it rewrites the group bits to its mask
 * (posix_acl_update_mode()), and the host's mode, which agrees with the
 * host's ACL, then leaves both as the host has them (posix_acl_chmod()).
 */
static bool node_create(const ns_entry_request *request, const entry_walk *walk, ns_entry_report *report)
{
	const ns_attrs *want = &request->want;
	const char *name = request->name;
	int dir = walk_node_dir(walk);
	size_t at = request->n_dirs;
	if (vfg_fault("namespace.mknod") || mknodat(dir, name, S_IFCHR, want->rdev) < 0)
		return report_failure(report, NS_CALL_MKNOD, at);
	if (vfg_fault("namespace.chown") || fchownat(dir, name, want->uid, want->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return report_failure(report, NS_CALL_CHOWN, at);
	if (want->acl.present &&
	    (vfg_fault("namespace.acl") || lsetxattr(name, NS_XATTR_ACL, want->acl.value, want->acl.size, 0) < 0))
		return report_failure(report, NS_CALL_SET_ACL, at);
	if (vfg_fault("namespace.chmod") || fchmodat(dir, name, want->mode & 07777, 0) < 0)
		return report_failure(report, NS_CALL_CHMOD, at);
	if (want->label.present && (vfg_fault("namespace.label") ||
				    lsetxattr(name, NS_XATTR_LABEL, want->label.value, want->label.size, 0) < 0))
		return report_failure(report, NS_CALL_SET_LABEL, at);
	return true;
}

static void inspect(const ns_entry_request *request, entry_walk *walk, ns_entry_report *report)
{
	memset(report, 0, sizeof(*report));
	if (walk_open(request, false, walk, report) && report->first_missing == request->n_dirs)
		node_inspect(request, walk, report);
}

void ns_entry_inspect_main(int sock, void *arg)
{
	const ns_entry_request *request = arg;
	ns_entry_report report;
	entry_walk walk;
	inspect(request, &walk, &report);
	ns_child_send(sock, &report, sizeof(report));
	walk_close(&walk);
}

void ns_entry_grant_main(int sock, void *arg)
{
	const ns_entry_request *request = arg;
	ns_entry_report report;
	entry_walk walk;
	inspect(request, &walk, &report);
	walk_close(&walk);
	if (!ns_child_send(sock, &report, sizeof(report)) || report.failed || report.found || report.first_missing == 0)
		return;

	/* The parent journals what will be made, then says go; EOF means it gave up. */
	char answer;
	if (!ns_child_receive(sock, &answer, sizeof(answer)) || answer != NS_ENTRY_CREATE)
		return;
	memset(&report, 0, sizeof(report));
	umask(0); /* the modes given are the modes made */
	if (walk_open(request, true, &walk, &report) && node_create(request, &walk, &report))
		node_inspect(request, &walk, &report);
	ns_child_send(sock, &report, sizeof(report));
	walk_close(&walk);
}

/* Remove the directories the grant made, innermost first, while they are empty. */
static bool dirs_remove(const ns_entry_request *request, const entry_walk *walk, ns_entry_report *report)
{
	for (size_t i = report->first_missing; i-- > request->first_made;) {
		if (!vfg_fault("namespace.rmdir") && unlinkat(walk->fds[i], request->dirs[i], AT_REMOVEDIR) == 0) {
			report->dirs_removed++;
			continue;
		}
		if (errno == ENOENT)
			continue;
		/* Something else lives there now (or it is a mount point): it stays, and so do those above. */
		if (errno == ENOTEMPTY || errno == EEXIST || errno == EBUSY)
			return true;
		return report_failure(report, NS_CALL_RMDIR, i);
	}
	return true;
}

void ns_entry_remove_main(int sock, void *arg)
{
	const ns_entry_request *request = arg;
	ns_entry_report report;
	entry_walk walk;
	inspect(request, &walk, &report);
	if (!report.failed && report.found && request->remove_node && S_ISCHR(report.seen.mode) &&
	    report.seen.rdev == request->want.rdev) {
		if (!vfg_fault("namespace.unlink") && unlinkat(walk_node_dir(&walk), request->name, 0) == 0) {
			report.node_removed = true;
			report.found = false;
		} else {
			report_failure(&report, NS_CALL_UNLINK, request->n_dirs);
		}
	}
	if (!report.failed)
		dirs_remove(request, &walk, &report);
	ns_child_send(sock, &report, sizeof(report));
	walk_close(&walk);
}
