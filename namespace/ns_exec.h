/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_NAMESPACE_NS_EXEC_H
#define VFGUARD_NAMESPACE_NS_EXEC_H

/*
 * Work inside another process's mount namespace. setns(CLONE_NEWNS) refuses
 * a caller whose fs_struct is shared (EINVAL: every thread of a process
 * shares one, mntns_install() in fs/namespace.c), and the library may run in
 * a multi-threaded manager: the work runs in a forked child, which is
 * single-threaded, enters the namespace and talks to the parent over a
 * socket. In the child only async-signal-safe calls are allowed (fork(2)
 * from a multi-threaded process): everything it needs is prepared before the
 * fork, it makes system calls only, and it ends with _exit().
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <vfguard/error.h>

/*
 * A pid's mount namespace, held open: while the fd is open the namespace
 * stays the one it was, even if the pid exits or is reused meanwhile.
 * Namespaces are told apart by the nsfs inode (and device) of the fd
 * (namespaces(7)).
 */
typedef struct ns_target {
	pid_t pid;
	int fd; /* /proc/PID/ns/mnt, O_RDONLY|O_CLOEXEC; -1 when not open */
	unsigned long dev;
	unsigned long ino;
} ns_target;

/*
 * Open /proc/PID/ns/mnt. A pid that no longer runs (or is a zombie, whose
 * namespaces are already gone) fails with err->errnum ESRCH and a message
 * that says so.
 */
int ns_target_open(pid_t pid, ns_target *target, vfg_error *err);
void ns_target_close(ns_target *target);
/* Is it the mount namespace vfguard itself runs in? */
int ns_target_is_own(const ns_target *target, bool *own, vfg_error *err);

/*
 * What the helper child runs once it is inside the namespace. Only
 * async-signal-safe calls; messages go through ns_child_send()/ns_child_receive().
 */
typedef void (*ns_child_main)(int sock, void *arg);

/* One message to the parent (SOCK_SEQPACKET: one send is one message); false when it could not go. */
bool ns_child_send(int sock, const void *msg, size_t size);
/* One message from the parent; false at EOF (the parent gave up) or on an error. */
bool ns_child_receive(int sock, void *msg, size_t size);

/* A running helper, seen from the parent. */
typedef struct ns_helper {
	pid_t pid;
	int sock;
	pid_t target_pid; /* for messages */
	bool reaped;
	int status; /* wait status once reaped */
} ns_helper;

/*
 * Fork the helper; it enters @target's mount namespace and runs @child_main
 * with @arg (its own copy of the parent's memory). Fails when the fork or
 * the setns fails, naming the pid.
 */
int ns_helper_start(const ns_target *target, ns_child_main child_main, void *arg, ns_helper *helper, vfg_error *err);
/* Wait for the next message of exactly @size bytes; an exit, a crash or a hang of the helper is an error. */
int ns_helper_receive(ns_helper *helper, void *msg, size_t size, vfg_error *err);
int ns_helper_send(ns_helper *helper, const void *msg, size_t size, vfg_error *err);
/* Close the socket (the helper stops at its next receive) and reap it. Safe to call twice. */
void ns_helper_finish(ns_helper *helper);

#endif
