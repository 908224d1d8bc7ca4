/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TESTS_QMP_TESTLIB_H
#define VFGUARD_TESTS_QMP_TESTLIB_H

/*
 * A QMP server standing in for QEMU (test_qmp_hotplug): a child process as
 * the hypervisor's uid, listening on a real unix socket, speaking QMP lines
 * (greeting, qmp_capabilities, replies, events between them) and taking the
 * fds getfd passes by real SCM_RIGHTS, each fstat'ed and logged with its
 * rdev.
 */

#include <stdbool.h>
#include <sys/types.h>

/* The uid the server runs as unless told another: the hypervisor's. */
#define HYPERVISOR_UID 107

/* What the QMP server does; the child gets a copy at fork. */
typedef struct fake_qemu {
	int connections; /* how many clients it serves, one after the other */
	bool has_iommufd0; /* QEMU was started with qemu-args's -object iommufd,id=iommufd0 */
	const char *fail; /* the command it answers with an error */
	/*
	 * fail is device_add, refused as QEMU refuses a device that fails to
	 * realize: after taking the fd it names, which it keeps with the
	 * iommufd object the device links (QEMU finalizes no such device;
	 * measured with QEMU 11.1, qemu-hotplug in the VM suite), so closefd
	 * finds no such name and object-del says the object is in use.
	 */
	bool failed_add_keeps_fds;
	bool unplug_completes; /* device_del: DEVICE_DELETED (before the return, as QEMU sends it) */
	char device_node[256]; /* a path device's node, which device_add opens as QEMU does; "": none */
	bool closes_late; /* DEVICE_DELETED sent, a device's node stays open until the server ends */
	uid_t uid;
	char dir[64];
	char socket[128];
	char log[128];
	pid_t pid;
} fake_qemu;

/* Start the server as @fq->uid: it listens before it tells the test it is ready (SO_PEERCRED is the listener's). */
void fake_qemu_start(fake_qemu *fq);
/* Connect to the server, take its greeting, and hang up: a client it waits for, so that it ends. */
void fake_qemu_hang_up(const fake_qemu *fq);
/* Wait for the server (it must have served every client) and return its log. */
char *fake_qemu_finish(fake_qemu *fq);

#endif
