/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Private nodes (docs/private-nodes.md): an fd-access node opened through a
 * node of vfguard's own, made with the host node's rdev and labeled for the
 * domain, so that the fd carries the domain's label while the host's node is
 * never relabeled.
 *
 * Why a private node gives the fd its own label: a character device's open
 * goes by the inode's rdev (chrdev_open() in fs/char_dev.c looks the driver
 * up by inode->i_rdev), so any inode with that rdev opens the same device;
 * SELinux checks the label of the inode the file was opened through
 * (selinux_file_open(), selinux_file_receive() and selinux_file_ioctl() all
 * end in file_has_perm() -> inode_has_perm() on file_inode(file), in
 * security/selinux/hooks.c of Linux 6.12), never the path's.
 *
 * Where the node is made: a tmpfs mounted with the new mount API, fsopen()
 * and fsmount() (Linux 5.2, fs/fsopen.c and fs/namespace.c), and never
 * attached anywhere. The mount fd is the only way to it: no path of any
 * mount namespace names it, no other process can look into it, and the
 * kernel frees it with its last reference, when the set is done or the
 * process dies, crash included. So nothing of it is left on the host to
 * clean up, no mount namespace of the caller changes (a library must not),
 * and the node itself is unlinked right after its open: the fd holds the
 * inode, the directory is empty again. /run, /dev/shm and /tmp are usually
 * mounted nodev, which refuses opening a device node there (may_open_dev()
 * in fs/namei.c); this mount is not nodev, but noexec and nosuid.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "internal.h"
#include "private_node.h"
#include "vfg_fault.h"

/* <linux/mount.h> of Linux 5.2; glibc wraps them only from 2.36. */
static int fs_open(const char *fs_name)
{
	return (int)syscall(SYS_fsopen, fs_name, FSOPEN_CLOEXEC);
}

static int fs_config(int fs_fd, unsigned command, const char *key, const char *value)
{
	return (int)syscall(SYS_fsconfig, fs_fd, command, key, value, 0);
}

static int fs_mount(int fs_fd, unsigned attributes)
{
	return (int)syscall(SYS_fsmount, fs_fd, FSMOUNT_CLOEXEC, attributes);
}

int private_mount_open(const char *domain, vfg_error *err)
{
	_cleanup_close_ int fs_fd = fs_open("tmpfs");
	if (fs_fd < 0)
		return vfg_error_set(err, errno, domain,
				     "cannot make the tmpfs for private nodes (fsopen(2), Linux 5.2; "
				     "CAP_SYS_ADMIN needed)");
	/* Only root's: mode 0700 and a size no node fills (a node is an inode, no data). */
	if (fs_config(fs_fd, FSCONFIG_SET_STRING, "mode", "0700") < 0 ||
	    fs_config(fs_fd, FSCONFIG_SET_STRING, "size", "64k") < 0 ||
	    fs_config(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL) < 0)
		return vfg_error_set(err, errno, domain, "cannot make the tmpfs for private nodes (fsconfig(2))");
	int mount_fd = fs_mount(fs_fd, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID);
	if (mount_fd < 0)
		return vfg_error_set(err, errno, domain, "cannot mount the tmpfs for private nodes (fsmount(2))");
	return mount_fd;
}

/* Each node in turn gets a name of its own, never one a node before it had. */
static void private_name(const vfg_node *node, unsigned number, char *buf, size_t size)
{
	snprintf(buf, size, "%s-%u-%u.%u", vfg_node_kind_name(node->kind), number, major(node->rdev),
		 minor(node->rdev));
}

static int private_label(int mount_fd, const char *name, const vfg_node_xattr *xattrs, size_t n_xattrs,
			 const char *real, vfg_error *err)
{
	_cleanup_close_ int path_fd = openat(mount_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (path_fd < 0)
		return vfg_error_set(err, errno, real, "cannot reach its private node %s just made", name);
	/* setxattr(2) refuses an O_PATH fd; its /proc/self/fd link names the very inode. */
	char proc_path[VFG_PROC_FD_PATH_MAX];
	vfg_proc_fd_path(path_fd, proc_path, sizeof(proc_path));
	for (size_t i = 0; i < n_xattrs; i++)
		if (vfg_fault("fds.private_xattr") ||
		    setxattr(proc_path, xattrs[i].name, xattrs[i].value, xattrs[i].size, 0) < 0)
			return vfg_error_set(err, errno, real, "cannot set %s on the private node %s", xattrs[i].name,
					     name);
	return 0;
}

int private_node_open(int mount_fd, unsigned number, const vfg_node *node, const vfg_node_xattr *xattrs,
		      size_t n_xattrs, const char *real, vfg_error *err)
{
	char name[128];
	private_name(node, number, name, sizeof(name));
	if (vfg_fault("fds.private_mknod") || mknodat(mount_fd, name, S_IFCHR | 0600, node->rdev) < 0)
		return vfg_error_set(err, errno, real,
				     "cannot make a private node %u:%u for it (mknod needs CAP_MKNOD, and the "
				     "device cgroup must allow it)",
				     major(node->rdev), minor(node->rdev));
	int fd = -1;
	if (private_label(mount_fd, name, xattrs, n_xattrs, real, err) == 0) {
		fd = openat(mount_fd, name, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
		if (fd < 0)
			vfg_error_set(err, errno, real, "cannot open the device read-write through its private node");
	}
	/* Gone whether or not the open worked: the fd holds the inode, the mount keeps nothing. */
	if (vfg_fault("fds.private_unlink") || unlinkat(mount_fd, name, 0) < 0) {
		int error = errno;
		if (fd >= 0)
			close(fd);
		return vfg_error_set(err, error, real, "cannot unlink its private node");
	}
	return fd;
}
