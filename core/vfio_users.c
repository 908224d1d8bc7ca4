/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VFIO users of a device: processes holding its group node or its cdev
 * open. The kernel does not unbind a vfio driver while userspace holds the
 * device (vfio_unregister_group_dev() waits for it), and refuses a group's
 * DMA ownership change while its fds are open: naming the holder says what
 * to stop. Each fd of /proc/PID/fd is stat()ed, which follows the magic link
 * to the open file without opening it again.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "vfio_users.h"

/* The node of @nodes that @fd_entry of the fd directory @fd_dir is open on; NULL when none. */
static const vfg_vfio_node_ref *open_node(int fd_dir, const char *fd_entry, const vfg_vfio_node_ref *nodes,
					  size_t n_nodes)
{
	struct stat st;
	if (fstatat(fd_dir, fd_entry, &st, 0) < 0 || !S_ISCHR(st.st_mode))
		return NULL;
	for (size_t i = 0; i < n_nodes; i++)
		if (st.st_rdev == nodes[i].rdev)
			return &nodes[i];
	return NULL;
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

size_t vfg_vfio_users_describe(const vfg_vfio_node_ref *nodes, size_t n_nodes, char *buf, size_t size)
{
	size_t used = 0, found = 0, more = 0;
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
		while ((fd = readdir(fds))) {
			const vfg_vfio_node_ref *node = open_node(fd_dir, fd->d_name, nodes, n_nodes);
			if (!node)
				continue;
			char name[64], entry[512];
			process_name(proc_dir, process->d_name, name, sizeof(name));
			snprintf(entry, sizeof(entry), "pid %s (%s) has %s open", process->d_name, name, node->name);
			size_t grown = append(buf, size, used, entry);
			more += grown == used;
			used = grown;
			found++;
			break; /* once per process */
		}
	}
	if (more)
		snprintf(buf + used, size - used, "%sand %zu more", used ? "; " : "", more);
	else if (!used)
		snprintf(buf, size, "(none found)");
	return found;
}
