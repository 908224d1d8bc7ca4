/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_VFIO_USERS_H
#define VFGUARD_CORE_VFIO_USERS_H

/*
 * Who holds a VFIO node open: what a refused unbind or bind (EBUSY) can name
 * besides the errno. Depends on libc alone, so the tests build it in.
 */

#include <stddef.h>
#include <sys/types.h>

/* A node a VFIO user may hold: its character device number, and the name to give it ("/dev/vfio/7"). */
typedef struct vfg_vfio_node_ref {
	dev_t rdev;
	char name[256];
} vfg_vfio_node_ref;

/*
 * Into @buf: "pid PID (COMM) has NAME open" for each open fd of a process of
 * this kernel (/proc, never the root prefix's: the kernel's processes are
 * the real ones) on a character device of @nodes, and "pid PID (COMM)
 * holds a VFIO device fd, maybe this device's ..." for one that holds a
 * legacy device fd but no node of the majors of @nodes, "; "-separated, or
 * "(none found)". Processes vfguard may not look into are skipped. Returns
 * how many processes it names (0: none found).
 */
size_t vfg_vfio_users_describe(const vfg_vfio_node_ref *nodes, size_t n_nodes, char *buf, size_t size);
/* The same, of the processes that have a node of @nodes open only: the ones certain to be users. */
size_t vfg_vfio_users_open(const vfg_vfio_node_ref *nodes, size_t n_nodes, char *buf, size_t size);

#endif
