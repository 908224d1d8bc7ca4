/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TESTS_TESTLIB_H
#define VFGUARD_TESTS_TESTLIB_H

/* What the Check suites share: generated host trees, contexts on them, and running the CLI. */

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <vfguard/vfguard.h>

/*
 * A small host: container and /dev/iommu, IOMMU group 7 holding a GPU and its
 * audio function, both on vfio-pci with cdevs vfio0 and vfio1.
 */
extern const char test_host_gpu[];

/* Make a fresh temporary root and build @manifest into it; returns the root (static per process). */
const char *test_root_new(const char *manifest);
/* The same, the tree in a new folder of @dir (test_root_new: /tmp). */
const char *test_root_new_in(const char *dir, const char *manifest);
/*
 * Mediated devices, which the manifest does not describe: mdev @uuid of type
 * mtty-2 (its device_api @api) under TEST_MDEV_PARENT, in IOMMU group @group
 * with group node 243:@group (0: no group), and cdev vfio@cdev (511:@cdev)
 * when @cdev >= 0; the nodes mknod'ed for real. The layout of
 * Documentation/driver-api/vfio-mediated-device.rst.
 */
#define TEST_MDEV_PARENT "/sys/devices/virtual/mtty/mtty"
void test_make_mdev(const char *root, const char *uuid, const char *api, unsigned group, int cdev);
/* A symlink ROOT + @logical -> @target. */
void test_make_link(const char *root, const char *logical, const char *target);
/* Remove the root and everything under it. */
void test_root_remove(const char *root);
/* ROOT + @logical into a static buffer (one at a time). */
const char *test_path(const char *root, const char *logical);
/* Write @content to ROOT + @logical, making its directories. */
void test_write_file(const char *root, const char *logical, const char *content);
/* @value as one field of a journal line (docs/journal.md): ' ' and '%' as %XX; for values printable otherwise. */
void test_journal_field(const char *value, char *buf, size_t size);
/* Set domain attribute @name ("cgroup.path") to the printf result, failing the test when it is refused. */
void test_domain_attr(vfg_domain *domain, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The content of ROOT + @logical (free() it), or NULL when there is no such file. */
char *test_read_file(const char *root, const char *logical);
/*
 * The content of @path (free() it), which must exist, read whole and hold
 * something: for a read-back compared before and after (devices.list), where
 * two empty reads would compare equal.
 */
char *test_read_nonempty(const char *path);
/* Fail the test unless @path lacks the xattr @name (ENODATA; any other error is a failed read, not an absence). */
void test_expect_no_xattr(const char *path, const char *name);
/* What test_snapshot() leaves out. */
enum {
	/* chown, chmod and every xattr change move ctime, even one that puts the old value back */
	TEST_SNAPSHOT_NO_CTIME = 1u << 0,
	/* the default state directory /run/vfguard, /run above it, and the root's times, which creating it moves */
	TEST_SNAPSHOT_NO_STATE = 1u << 1,
	/* only what an undo puts back: no inode numbers and no times (a file put back is a new one) */
	TEST_SNAPSHOT_CONTENT = 1u << 2,
	/* a tree that may rightly hold no device node (a VM's /dev before anything is granted) */
	TEST_SNAPSHOT_NO_NODES_OK = 1u << 3,
};
/*
 * Everything about every entry under @root, one line each and paths relative
 * to it: stat, link target, xattrs (hex, and the text when printable), file
 * content (hex). free() it. Two snapshots are equal when nothing changed.
 * Every tree snapshotted here holds device nodes: a snapshot without one, or
 * an entry that cannot be read, fails the test.
 */
char *test_snapshot(const char *root, unsigned flags);
/* Fail the test, showing the entries that differ, unless the snapshot of @root is @before. */
void test_snapshot_expect(const char *root, unsigned flags, const char *before, const char *what);

/* How many journal files the state directory of @root holds (0: none made yet, or all gone). */
int test_journal_files(const char *root);

/* A context on @root; fails the test when it cannot be made. */
vfg_context *test_context(const char *root);

/* Plan for one domain (uid:gid 107:107) with the given hostdev texts, NULL-terminated. */
int test_plan(vfg_context *ctx, vfg_plan **plan, vfg_error *err, const char *const *hostdevs);
/* The step of @labeler for the node at @path; fails the test when there is none. */
const vfg_step *test_step(const vfg_plan *plan, const char *labeler, const char *path);
const vfg_node *test_node(const vfg_plan *plan, const char *path);

/* A child process in a new mount namespace, waiting; stop it with test_child_stop(). */
pid_t test_child_in_new_mount_namespace(void);
void test_child_stop(pid_t child);
/* The pid of a process that has exited and been waited for: no process has it now. */
pid_t test_dead_pid(void);

/*
 * A host manifest: the legacy container and three single-function groups
 * on vfio-pci (7, 8 and 9: 01:00.0, 02:00.0, 03:00.0, group nodes
 * 243:0-2), the host the journal, hot-plug and labeler-gone suites share.
 */
#define TEST_HOST_THREE_LEGACY                                                               \
	"misc vfio 10:196\n"                                                                 \
	"group 7 243:0\n"                                                                    \
	"device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n" \
	"group 8 243:1\n"                                                                    \
	"device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n" \
	"group 9 243:2\n"                                                                    \
	"device 0000:03:00.0 group=9 vendor=1234 device=11e8 class=00ff00 driver=vfio-pci\n"

/* A child holding @path open (open(2) @flags) until test_holder_stop; started once it has it open. */
pid_t test_holder_start(const char *path, int flags);
void test_holder_stop(pid_t child);

/* Run the vfguard CLI with @argv (NULL-terminated, without argv[0]); capture stdout and stderr. */
typedef struct test_run {
	int status; /* exit status */
	char *out;
	char *err;
} test_run;
void test_cli(test_run *run, const char *const *argv);
void test_run_free(test_run *run);
/*
 * Run @program (argv[0] @name, then @argv, NULL-terminated) with the @size
 * bytes of @input on standard input and VFGUARD_ROOT=@root (NULL: unset);
 * capture stdout and stderr. A run killed by a signal (it is given 60 s:
 * a hang on a FIFO it must not open ends as SIGALRM) has status 128 + the
 * signal, which no test expects.
 */
void test_run_program(test_run *run, const char *program, const char *name, const char *const *argv, const char *input,
		      size_t size, const char *root);

/*
 * Crash tests. A test build (meson -Dtest_faults=true) kills itself with
 * SIGKILL at its Nth journal point when VFGUARD_FAULT_KILL_AT=N
 * (tests/faults/journal_fault_point.c): after every durable write and after
 * every change, so between an intent and its change too. In a build without
 * the hook these fail the test.
 */
/* Run the CLI with @argv as test_cli does, killed at journal point @point; the raw wait status. */
int test_cli_killed_at(unsigned point, const char *const *argv);
/*
 * Run @apply(@data) in a child killed at point 1, 2, ... until a run reaches
 * its end with no kill (it must then succeed); after each kill, @after_kill
 * (restore and compare) runs in the test. Returns how many points there were.
 */
unsigned test_kill_at_each_point(int (*apply)(void *data), void (*after_kill)(unsigned point, void *data), void *data);

/* vfg_restore() (no --all), failing the test with @point in the message. */
void test_restore_ok(vfg_context *ctx, unsigned point);

/* Fail the test unless every line of @text is at most @columns columns (UTF-8 characters) wide, naming @what. */
void test_expect_lines_fit(const char *text, size_t columns, const char *what);

/* How many descriptors this process has open (/proc/self/fd, less the listing's own). */
int test_count_fds(void);

/* Run a suite with Check and return the process exit status. */
int test_main(Suite *suite);

/* Copy module vfguard-@name.so from directory @from into ROOT/plugins, root's and 0644 as a package installs it. */
void test_install_module(const char *root, const char *from, const char *name);

#endif
