/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_NAMESPACE_NS_ENTRY_H
#define VFGUARD_NAMESPACE_NS_ENTRY_H

/*
 * A /dev entry inside a mount namespace: what the helper child (ns_exec.h)
 * does there. The request is filled in the parent before the fork; the
 * child reads its copy, makes system calls only, and answers with reports.
 * Every path is walked one component at a time with O_PATH|O_NOFOLLOW from
 * the root prefix, so no symlink inside the namespace is ever followed.
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <vfguard/model.h>

/* Directories between the root prefix and a node: /dev/vfio/devices is 3. */
#define NS_ENTRY_DEPTH_MAX 8
/* An ACL or a label larger than this is no device node's: refused rather than cut. */
#define NS_XATTR_MAX 1024

/* The names are XATTR_NAME_POSIX_ACL_ACCESS and XATTR_NAME_SELINUX (include/uapi/linux/xattr.h). */
#define NS_XATTR_ACL "system.posix_acl_access"
#define NS_XATTR_LABEL "security.selinux"
/*
 * What marks a directory vfguard made for a domain, its value the domain's
 * name: a later grant of the same domain that finds the directory claims it
 * too, so whichever of its entries goes last removes it, in any order. Only
 * CAP_SYS_ADMIN reads or writes trusted.* (xattr(7)): the VM cannot forge it.
 */
#define NS_XATTR_MARK "trusted.vfguard-dir"

typedef struct ns_xattr {
	bool present;
	size_t size;
	unsigned char value[NS_XATTR_MAX]; /* raw, as getxattr(2) gives it */
} ns_xattr;

/* A file as stat and getxattr show it. */
typedef struct ns_attrs {
	mode_t mode; /* type and permission bits */
	dev_t rdev;
	uid_t uid;
	gid_t gid;
	ns_xattr acl;
	ns_xattr label;
} ns_attrs;

typedef struct ns_entry_request {
	char root[VFG_PATH_MAX]; /* the root prefix, as the namespace resolves it */
	size_t n_dirs;
	char dirs[NS_ENTRY_DEPTH_MAX][NAME_MAX + 1]; /* "dev", "vfio", "devices" */
	char name[NAME_MAX + 1]; /* the node's own name */
	ns_attrs want; /* the host node's: what the entry must be */
	char mark[VFG_NAME_MAX]; /* NS_XATTR_MARK's value for the directories it makes: the domain name */
	size_t mark_size;
	/* removal: the first directory the grant made (n_dirs: none), and whether it made the node */
	size_t first_made;
	bool remove_node;
} ns_entry_request;

/* Which call failed in the namespace. */
typedef enum ns_entry_call {
	NS_CALL_NONE = 0,
	NS_CALL_OPEN_ROOT,
	NS_CALL_OPEN_DIR, /* dirs[at] */
	NS_CALL_NOT_DIR, /* dirs[at] is a symlink or another file */
	NS_CALL_MKDIR,
	NS_CALL_STAT, /* the node */
	NS_CALL_GETXATTR,
	NS_CALL_MKNOD,
	NS_CALL_CHOWN,
	NS_CALL_SET_ACL,
	NS_CALL_CHMOD,
	NS_CALL_SET_LABEL,
	NS_CALL_UNLINK,
	NS_CALL_RMDIR,
} ns_entry_call;

typedef struct ns_entry_report {
	ns_entry_call failed; /* NS_CALL_NONE when all went well */
	int errnum;
	size_t at; /* the directory a directory call concerns */
	size_t first_missing; /* the first directory that does not exist; n_dirs when all do */
	bool marked[NS_ENTRY_DEPTH_MAX]; /* an existing directory carries the request's mark */
	bool found; /* something is at the node's path; seen says what */
	ns_attrs seen;
	bool node_removed;
	size_t dirs_removed;
} ns_entry_report;

/* The parent's answer to a grant's first report. */
enum { NS_ENTRY_CREATE = 'c' };

/*
 * Child mains (ns_child_main), each with an ns_entry_request as @arg:
 * inspect    one report: which directories exist (and carry the mark), and
 *            what is at the path.
 * grant      the inspect report, then waits: on NS_ENTRY_CREATE it makes the
 *            missing directories (marked) and the node with want's rdev, owner, ACL,
 *            mode and label, and sends a second report whose seen is the
 *            entry as made; on EOF it stops.
 * remove     removes the node when remove_node and it is a character device
 *            of want's rdev (anything else stays, found and seen say what),
 *            then the directories from first_made down that are empty.
 */
void ns_entry_inspect_main(int sock, void *arg);
void ns_entry_grant_main(int sock, void *arg);
void ns_entry_remove_main(int sock, void *arg);

#endif
