/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TESTS_CGROUP_TESTLIB_H
#define VFGUARD_TESTS_CGROUP_TESTLIB_H

/*
 * Real cgroups for the tests that need them (test_cgroup, test_audit): this
 * machine's hybrid layout, and the clean-up a failed test leaves to its
 * runner. Test cgroups are made directly under a mount with a name prefix
 * of the runner's, so the runner finds what its tests left.
 */

#define TEST_CGROUP_V1 "/sys/fs/cgroup/devices" /* the v1 devices controller */
#define TEST_CGROUP_V2 "/sys/fs/cgroup/unified" /* cgroup2, where device programs attach */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Make MOUNT/NAME (mkdir): 0, or -1 with errno. */
int test_cgroup_make(const char *mount, const char *name, char *dir, size_t size);
/*
 * A suite's VM cgroups, named vfgtest-PROGRAM-RUNNERPID-TESTPID, where the
 * runner's unchecked fixture finds what a failed test left:
 * test_cgroup_runner_setup remembers the runner, test_cgroup_runner_teardown
 * removes them; test_cgroup_make_own makes the test's own in @mount.
 */
void test_cgroup_runner_setup(void);
void test_cgroup_runner_teardown(void);
int test_cgroup_make_own(const char *mount, char *dir, size_t size);
/*
 * A child that joins @dirs (NULL-terminated cgroup directories; none: it
 * stays where the caller is) and, with @own_mounts, a mount namespace of its
 * own, as "unshare -m" leaves it; then waits for SIGKILL: a running "VM"
 * whose cgroups come from /proc/PID/cgroup. -1 when it could not.
 */
pid_t test_cgroup_child_in(const char *const *dirs, bool own_mounts);
/* SIGKILL the child and reap it. */
void test_cgroup_child_stop(pid_t child);

/*
 * The devices.list of the v1 cgroup @dir (free() it). Every v1 cgroup the
 * tests make allows a base rule (/dev/null), so the list is never empty: an
 * empty read fails the test rather than compare equal to another.
 */
char *test_cgroup_devices_list(const char *dir);
/* Detach every device program attached to @dir itself (not its ancestors'). */
void test_cgroup_detach_all(const char *dir);
/* SIGKILL the processes in @dir until it is empty. */
void test_cgroup_kill_members(const char *dir);
/* Remove @dir and its children, deepest first: members killed, programs detached. */
void test_cgroup_remove_tree(const char *dir);
/* test_cgroup_remove_tree() every cgroup directly under either mount whose name starts with @prefix. */
void test_cgroup_remove_prefixed(const char *prefix);

/*
 * The VM of the suites that act on every layer at once (test_audit,
 * test_faults): a child in its own mount namespace with a tmpfs at ROOT/dev,
 * RLIMIT_MEMLOCK TEST_VM_SOFT soft and TEST_VM_HARD hard, without
 * CAP_IPC_LOCK, moved into @cgroups (NULL-terminated). It waits until its
 * command pipe closes (test_vm_stop, or the test process going away).
 */
#define TEST_VM_SOFT (64u << 10)
#define TEST_VM_HARD (8u << 20)
typedef struct test_vm {
	pid_t pid;
	int command; /* closing it ends the VM */
} test_vm;
void test_vm_start(test_vm *vm, const char *root, const char *const *cgroups);
void test_vm_stop(test_vm *vm);
/* Write @text to DIR/FILE (a cgroup's control file) in one write(), failing the test otherwise. */
void test_cgroup_write(const char *dir, const char *file, const char *text);

#endif
