/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VFIO users of a device: processes holding its group node or its cdev
 * open, or a legacy device fd of a device the kernel does not name. The kernel does not unbind a vfio driver while
 * userspace holds the device (vfio_unregister_group_dev() waits for it), and refuses a group's DMA ownership change
 * while its fds are open: naming the holder says what to stop. Each fd of /proc/PID/fd is stat()ed, which follows the
 * magic link to the open file without opening it again.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "vfio_users.h"

/*
 * The name the legacy interface gives a device fd: VFIO_GROUP_GET_DEVICE_FD
 * makes an anonymous file, anon_inode_getfile("[vfio-device]", ...) in
 * vfio_device_open_file() (drivers/vfio/group.c, 6.12), whose /proc link
 * reads "anon_inode:" and that name. Nothing there says which device.
 */
#define VFIO_DEVICE_ANON_LINK "anon_inode:[vfio-device]"

/* What one process holds: a node of the device, a legacy device fd, another node of the same majors. */
typedef struct held {
	const vfg_vfio_node_ref *node;
	bool device_fd;
	bool other_group;
} held;

/*
 * The inode every anon_inode_getfile() file shares (fs/anon_inodes.c), the
 * vfio device's among them: an eventfd's is it. Only an fd on that inode
 * has its /proc link read, not every file and socket of every process (a
 * trial: 500,000 fds took 40% longer to look through with a readlink each).
 * st_ino 0 when it cannot be known: then every other fd's link is read. A
 * kernel that gave the device file an inode of its own would leave it
 * unnamed, as before this check was written, never misnamed.
 */
static struct stat anon_inode(void)
{
	struct stat st = {0};
	int fd = eventfd(0, EFD_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		st.st_ino = 0;
	if (fd >= 0)
		close(fd);
	return st;
}

/* Look at @fd_entry of the fd directory @fd_dir, adding to @h what it is open on. */
static void look_at_fd(int fd_dir, const char *fd_entry, const vfg_vfio_node_ref *nodes, size_t n_nodes,
		       const struct stat *anon, held *h)
{
	struct stat st;
	if (fstatat(fd_dir, fd_entry, &st, 0) < 0)
		return;
	if (!S_ISCHR(st.st_mode)) {
		if (anon->st_ino && (st.st_ino != anon->st_ino || st.st_dev != anon->st_dev))
			return;
		char link[sizeof(VFIO_DEVICE_ANON_LINK) + 1];
		ssize_t n = readlinkat(fd_dir, fd_entry, link, sizeof(link) - 1);
		h->device_fd |= n == (ssize_t)sizeof(VFIO_DEVICE_ANON_LINK) - 1 &&
				memcmp(link, VFIO_DEVICE_ANON_LINK, (size_t)n) == 0;
		return;
	}
	for (size_t i = 0; i < n_nodes; i++) {
		if (st.st_rdev == nodes[i].rdev) {
			h->node = &nodes[i];
			return;
		}
		/* every group node has the vfio class's major, every cdev vfio-dev's */
		h->other_group |= major(st.st_rdev) == major(nodes[i].rdev);
	}
}

/* The process's command name (/proc/PID/comm), "?" when it cannot be read. */
static void process_name(int proc_dir, const char *pid, char *name, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/comm", pid);
	_cleanup_close_ int fd = openat(proc_dir, path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, name, size - 1);
	if (n <= 0) {
		snprintf(name, size, "?");
		return;
	}
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
}

/* Room for the possible holders' pids and names until the certain ones are listed. */
#define VFIO_USERS_MAYBE_MAX 4096

/* Room kept at the end of the list for "; and N more" (N a size_t). */
#define MORE_ROOM 32

/*
 * Append @text whole to @buf (@used bytes in it) with "; " between
 * entries, leaving MORE_ROOM: the new length, or @used when it does not
 * fit (the caller counts it among the more).
 */
static size_t append(char *buf, size_t size, size_t used, const char *text)
{
	size_t length = (used ? 2 : 0) + strlen(text);
	if (size < MORE_ROOM || used + length >= size - MORE_ROOM)
		return used;
	snprintf(buf + used, size - used, "%s%s", used ? "; " : "", text);
	return used + length;
}

/* vfg_vfio_users_describe(), or with @with_maybe false vfg_vfio_users_open(): the processes with a node open alone. */
static size_t describe(const vfg_vfio_node_ref *nodes, size_t n_nodes, bool with_maybe, char *buf, size_t size)
{
	size_t used = 0, found = 0, more = 0, maybe_used = 0;
	/* The possible holders, told after the certain ones, so that "and N more" never hides one of those. */
	char maybe[VFIO_USERS_MAYBE_MAX] = "";
	const struct stat anon = anon_inode();
	buf[0] = '\0';
	_cleanup_close_ int proc_dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *processes = proc_dir < 0 ? NULL : opendir("/proc");
	struct dirent *process;
	while (processes && (process = readdir(processes))) {
		if (!isdigit((unsigned char)process->d_name[0]))
			continue;
		char fd_path[64];
		snprintf(fd_path, sizeof(fd_path), "%s/fd", process->d_name);
		int fd_dir = openat(proc_dir, fd_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		_cleanup_closedir_ DIR *fds = fd_dir < 0 ? NULL : fdopendir(fd_dir);
		if (!fds) {
			if (fd_dir >= 0)
				close(fd_dir);
			continue; /* gone, or not ours to look into */
		}
		struct dirent *fd;
		held h = {0};
		while (!h.node && (fd = readdir(fds)))
			look_at_fd(fd_dir, fd->d_name, nodes, n_nodes, &anon, &h);
		/*
		 * Once per process: by the node it has open, else by a device fd
		 * held with no group node at all (the group's fd closed after
		 * VFIO_GROUP_GET_DEVICE_FD), which may be this device's: unbinding
		 * waits for that one too. A process with another group's node open
		 * is taken to hold that group's devices, and is not named.
		 */
		if (!h.node && (!with_maybe || !h.device_fd || h.other_group || n_nodes == 0))
			continue;
		char name[64], entry[512];
		process_name(proc_dir, process->d_name, name, sizeof(name));
		found++;
		if (!h.node) {
			/* a pid and a name, kept for after the certain ones ('\n' between them) */
			size_t length = strlen(process->d_name) + 1 + strlen(name) + 1;
			if (maybe_used + length < sizeof(maybe))
				maybe_used += (size_t)snprintf(maybe + maybe_used, sizeof(maybe) - maybe_used,
							       "%s %s\n", process->d_name, name);
			else
				more++;
			continue;
		}
		snprintf(entry, sizeof(entry), "pid %s (%s) has %s open", process->d_name, name, h.node->name);
		size_t grown = append(buf, size, used, entry);
		more += grown == used;
		used = grown;
	}
	for (char *line = maybe, *end; (end = strchr(line, '\n')); line = end + 1) {
		*end = '\0';
		char *space = strchr(line, ' '), entry[512];
		*space = '\0';
		snprintf(entry, sizeof(entry),
			 "pid %s (%s) holds a VFIO device fd, maybe this device's (the kernel does not say which)",
			 line, space + 1);
		size_t grown = append(buf, size, used, entry);
		more += grown == used;
		used = grown;
	}
	if (more)
		snprintf(buf + used, size - used, "%sand %zu more", used ? "; " : "", more);
	else if (!used)
		snprintf(buf, size, "(none found)");
	return found;
}

size_t vfg_vfio_users_describe(const vfg_vfio_node_ref *nodes, size_t n_nodes, char *buf, size_t size)
{
	return describe(nodes, n_nodes, true, buf, size);
}

size_t vfg_vfio_users_open(const vfg_vfio_node_ref *nodes, size_t n_nodes, char *buf, size_t size)
{
	return describe(nodes, n_nodes, false, buf, size);
}
