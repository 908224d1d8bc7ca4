/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfguard hotplug and hotunplug against a QMP server written for the tests
 * (qmp_testlib.h): a child process as the hypervisor's uid 107, listening
 * on a real unix socket, speaking QMP lines (greeting, qmp_capabilities,
 * replies, events between them) and taking the fds getfd passes by real
 * SCM_RIGHTS, each fstat'ed and logged with its rdev. The host trees are generated with real char
 * nodes standing in for the VFIO ones (devices this kernel has: null, zero,
 * port, full, random, urandom), so the grants are real chown and ACL entries and
 * the opens real opens; trees compared byte for byte (test_snapshot). The VM
 * suite (tests/vm/scenarios/qemu-hotplug.sh) does the same with QEMU.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qmp_testlib.h"
#include "testlib.h"

/*
 * The legacy backend's container and groups, and iommufd's /dev/iommu and
 * cdevs, as real char devices. 01:00.0, the one hotunplugged (and revoked
 * after a failed hotplug), has devices nothing keeps open: revoke --hostdev
 * waits for, then is refused by, any process of the machine holding its
 * group node or cdev, and a program reading random numbers may hold
 * /dev/random or /dev/urandom for its whole life (a trial: one process
 * holding /dev/random, then 01:00.0's cdev, failed three tests). Its group
 * node is never opened here: /dev/port, which kernel lockdown would not
 * let its cdev be opened as (open_port() in drivers/char/mem.c). Its cdev
 * is, by the fake QEMU of the test whose QEMU keeps it open on purpose.
 */
static const char host[] = "misc vfio 1:3\n" /* /dev/null */
			   "misc iommu 1:5\n" /* /dev/zero: IOMMU_OPTION fails (ENOTTY): rlimit_mode = warn */
			   "group 7 1:4\n" /* /dev/port */
			   "device 0000:01:00.0 group=7 vendor=1234 device=11e8 class=00ff00 driver=vfio-pci "
			   "cdev=vfio0:1:7\n" /* /dev/full */
			   "group 8 1:8\n" /* /dev/random */
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio1:1:9\n"; /* /dev/urandom */

#define FLAGS (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

static const char *root_new(void)
{
	const char *root = test_root_new(host);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\nrecords = off\nrlimit_mode = warn\n");
	return root;
}

/* vfguard hotplug or hotunplug on @root with the fake QEMU's socket, then @extra (NULL-terminated). */
static void run_vfguard(test_run *run, const char *root, const fake_qemu *fq, const char *command, const char *hostdev,
			const char *const *extra)
{
	const char *args[24] = {command, "--root", root, "--qmp", fq->socket, "--domain", "vm1", "--hostdev", hostdev};
	size_t n = 9;
	if (strcmp(command, "hotplug") == 0) {
		args[n++] = "--uid";
		args[n++] = "107";
		args[n++] = "--gid";
		args[n++] = "107";
	}
	for (size_t i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	test_cli(run, args);
}

static void expect_status(const test_run *run, int status, const char *what)
{
	ck_assert_msg(run->status == status, "%s: exit %d, expected %d: %s%s", what, run->status, status, run->out,
		      run->err);
}

static void expect_in(const char *text, const char *needle)
{
	ck_assert_msg(strstr(text, needle), "expected \"%s\" in:\n%s", needle, text);
}

static unsigned occurrences(const char *text, const char *needle)
{
	unsigned n = 0;
	for (const char *at = text; (at = strstr(at, needle)); at += strlen(needle))
		n++;
	return n;
}

static struct stat node_stat(const char *root, const char *logical)
{
	struct stat st;
	ck_assert_int_eq(stat(test_path(root, logical), &st), 0);
	return st;
}

/* "getfd NAME MAJ:MIN": the fd the server received, by fstat, is the tree's node @logical. */
static void expect_fd_of_node(const char *log, const char *root, const char *name, const char *logical)
{
	struct stat st = node_stat(root, logical);
	char line[128];
	snprintf(line, sizeof(line), "getfd %s %u:%u\n", name, major(st.st_rdev), minor(st.st_rdev));
	expect_in(log, line);
}

START_TEST(test_path_hotplug_grants_and_adds_device)
{
	const char *root = root_new();
	fake_qemu fq = {0};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=legacy", NULL);
	expect_status(&run, 0, "hotplug");
	expect_in(run.out, "domain vm1: hostdev 0000:01:00.0 plugged as vfg-0000-01-00.0, 0 fds passed");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	/* qemu-args's -device vfio-pci,host=BDF with the hotplug id; a path hostdev passes no fd, needs no object. */
	ck_assert_str_eq(
		log, "device_add {\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.0\",\"id\":\"vfg-0000-01-00.0\"}\n");
	free(log);
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/7").st_uid, HYPERVISOR_UID);
	test_root_remove(root);
}
END_TEST

START_TEST(test_fd_hotplug_passes_the_nodes_fds)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {0};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd,access=fd", (const char *[]){"--json", NULL});
	expect_status(&run, 0, "hotplug");
	struct json_object *out = json_tokener_parse(run.out), *field;
	ck_assert_ptr_nonnull(out);
	ck_assert(json_object_object_get_ex(out, "fds_passed", &field) && json_object_get_int(field) == 2);
	ck_assert(json_object_object_get_ex(out, "iommufd_object_added", &field) && json_object_get_boolean(field));
	ck_assert(json_object_object_get_ex(out, "device_id", &field));
	ck_assert_str_eq(json_object_get_string(field), "vfg-0000-01-00.0");
	json_object_put(out);
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	/* The fds QEMU got are the nodes themselves; the object and the device name them. */
	expect_fd_of_node(log, root, "vfg-iommufd", "/dev/iommu");
	expect_fd_of_node(log, root, "vfg-0000-01-00.0", "/dev/vfio/devices/vfio0");
	expect_in(log, "object-add iommufd vfg-iommufd fd=vfg-iommufd\n");
	expect_in(log, "device_add {\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.0\",\"id\":\"vfg-0000-01-00.0\","
		       "\"iommufd\":\"vfg-iommufd\",\"fd\":\"vfg-0000-01-00.0\"}\n");
	ck_assert_msg(!strstr(log, "no fd named") && !strstr(log, "without fd"), "%s", log);
	free(log);
	/* fd access: vfguard opened the nodes, no path grant (the tree as before, the journal aside). */
	test_snapshot_expect(root, FLAGS, before, "fd hotplug");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_iommufd_object_added_once)
{
	const char *root = root_new();
	fake_qemu fq = {.connections = 2};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd", NULL);
	expect_status(&run, 0, "first hotplug");
	expect_in(run.out, "on iommufd object vfg-iommufd (added)");
	test_run_free(&run);
	run_vfguard(&run, root, &fq, "hotplug", "02:00.0,backend=iommufd", (const char *[]){"--bus", "rp1", NULL});
	expect_status(&run, 0, "second hotplug");
	expect_in(run.out, "on iommufd object vfg-iommufd,");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	ck_assert_uint_eq(occurrences(log, "object-add"), 1);
	/* --bus: device_add's "bus" (a pcie-root-port's id on q35). */
	expect_in(log, "\"id\":\"vfg-0000-02-00.0\",\"iommufd\":\"vfg-iommufd\",\"bus\":\"rp1\"}");
	free(log);
	test_root_remove(root);
}
END_TEST

START_TEST(test_iommufd_object_of_qemu_args_used)
{
	const char *root = root_new();
	fake_qemu fq = {.has_iommufd0 = true};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd,access=fd", NULL);
	expect_status(&run, 0, "hotplug");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	/* QEMU started by qemu-args has iommufd0: the device uses it, and only the cdev is passed. */
	ck_assert_uint_eq(occurrences(log, "object-add"), 0);
	ck_assert_uint_eq(occurrences(log, "getfd"), 1);
	expect_fd_of_node(log, root, "vfg-0000-01-00.0", "/dev/vfio/devices/vfio0");
	expect_in(log, "\"iommufd\":\"iommufd0\",\"fd\":\"vfg-0000-01-00.0\"}");
	free(log);
	test_root_remove(root);
}
END_TEST

/* A QMP error at @fail: QEMU's error named with the hostdev, what QEMU got undone, the tree as before. */
static void qmp_error_undoes(const char *hostdev, const char *fail, const char *undone)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {.fail = fail};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", hostdev, NULL);
	expect_status(&run, 1, "hotplug");
	expect_in(run.err, "vfguard: 0000:01:00.0: QEMU refused ");
	expect_in(run.err, ": GenericError: vfio ");
	/* One error line (a warning about the stand-in /dev/iommu aside). */
	ck_assert_msg(occurrences(run.err, "vfguard: ") == 1, "%s", run.err);
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	expect_in(log, undone);
	free(log);
	test_snapshot_expect(root, FLAGS, before, "hotplug refused by QEMU");
	free(before);
	test_root_remove(root);
}

START_TEST(test_qmp_error_revokes_and_undoes)
{
	/* Path access: the group's chown and the container's ACL entry are taken back. */
	qmp_error_undoes("01:00.0,backend=legacy", "device_add", "device_add refused\n");
	/* fd access on iommufd: the object added and the cdev's name closed, then the grants. */
	qmp_error_undoes("01:00.0,backend=iommufd", "device_add", "object-del vfg-iommufd\n");
	qmp_error_undoes("01:00.0,backend=iommufd,access=fd", "device_add",
			 "closefd vfg-0000-01-00.0\nobject-del vfg-iommufd\n");
	qmp_error_undoes("01:00.0,backend=iommufd,access=fd", "object-add", "closefd vfg-iommufd\n");
}
END_TEST

/*
 * QEMU refuses a device_add after the device took its fd (a slot already
 * taken), and keeps that fd and the iommufd object the device links:
 * measured with QEMU 11.1 (qemu-hotplug in the VM suite). The rollback's
 * revoke is then refused naming QEMU, so the hostdev stays the domain's,
 * which is what the host is, and the error says so and what to run once
 * QEMU is gone; it did say "nothing left granted", and the journal kept the
 * hostdev unsaid.
 */
START_TEST(test_failed_device_add_whose_fd_qemu_keeps_leaves_the_hostdev_held)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {.fail = "device_add", .failed_add_keeps_fds = true};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd,access=fd", NULL);
	expect_status(&run, 1, "hotplug");
	char expected[512];
	snprintf(expected, sizeof(expected),
		 ": GenericError: vfio 0000:01:00.0: test refusal of device_add; domain vm1 keeps the hostdev and its "
		 "grants, "
		 "since pid %d (test_qmp_hotplu) has /dev/vfio/devices/vfio0 open, after 5 s (QEMU keeps the fds a "
		 "failed device_add took): once that is closed (QEMU exits), run vfguard revoke --domain vm1 "
		 "--hostdev 0000:01:00.0\n",
		 (int)fq.pid);
	expect_in(run.err, "vfguard: 0000:01:00.0: QEMU refused device_add on ");
	expect_in(run.err, expected);
	ck_assert_msg(occurrences(run.err, "vfguard: ") == 1, "%s", run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"status", "--root", root, "--domain", "vm1", NULL});
	expect_status(&run, 0, "status");
	expect_in(run.out, "hostdev 0000:01:00.0");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	expect_in(log, "device_add refused\nclosefd vfg-0000-01-00.0\nobject-del vfg-iommufd\n");
	free(log);

	/* QEMU gone, its fds with it: what the error said to run leaves the tree as before. */
	test_cli(&run,
		 (const char *[]){"revoke", "--root", root, "--domain", "vm1", "--hostdev", "0000:01:00.0", NULL});
	expect_status(&run, 0, "revoke --hostdev");
	test_run_free(&run);
	test_snapshot_expect(root, FLAGS, before, "a hotplug QEMU refused keeping its fds, then revoke --hostdev");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_legacy_fd_refused_as_qemu_args_refuses)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {0};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=legacy,access=fd", NULL);
	expect_status(&run, 1, "hotplug");
	expect_in(run.err, "legacy hostdev with fd access: QEMU takes pre-opened VFIO fds only on the iommufd backend");
	ck_assert_msg(occurrences(run.err, "\n") == 1, "%s", run.err);
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	ck_assert_str_eq(log, ""); /* QEMU was asked nothing */
	free(log);
	test_snapshot_expect(root, FLAGS, before, "legacy fd hotplug refused");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_fds_only_to_the_domains_uid)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {.uid = 108};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd,access=fd", NULL);
	expect_status(&run, 1, "hotplug");
	expect_in(run.err, "with uid 108, not the domain's uid 107");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	ck_assert_str_eq(log, "");
	free(log);
	test_snapshot_expect(root, FLAGS, before, "hotplug to another uid");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_hotunplug_revokes)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {.connections = 2, .unplug_completes = true};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd", NULL);
	expect_status(&run, 0, "hotplug");
	test_run_free(&run);
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/devices/vfio0").st_uid, HYPERVISOR_UID);
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", (const char *[]){"--json", NULL});
	expect_status(&run, 0, "hotunplug");
	expect_in(run.out, "\"deleted\": true, \"grants_kept\": false, \"iommufd_object_removed\": true");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	expect_in(log, "device_del vfg-0000-01-00.0\nobject-del vfg-iommufd\n");
	free(log);
	test_snapshot_expect(root, FLAGS, before, "hotplug then hotunplug");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_hotunplug_keeps_object_another_device_uses)
{
	const char *root = root_new();
	fake_qemu fq = {.connections = 3, .unplug_completes = true};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd", NULL);
	expect_status(&run, 0, "hotplug 01:00.0");
	test_run_free(&run);
	run_vfguard(&run, root, &fq, "hotplug", "02:00.0,backend=iommufd", NULL);
	expect_status(&run, 0, "hotplug 02:00.0");
	test_run_free(&run);
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", NULL);
	expect_status(&run, 0, "hotunplug");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	ck_assert_uint_eq(occurrences(log, "object-del"), 0);
	free(log);
	/* 02:00.0 keeps its cdev and /dev/iommu; 01:00.0's cdev is back to root. */
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/devices/vfio1").st_uid, HYPERVISOR_UID);
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/devices/vfio0").st_uid, 0);
	test_root_remove(root);
}
END_TEST

START_TEST(test_hotunplug_timeout_keeps_grants)
{
	const char *root = root_new();
	fake_qemu fq = {.connections = 2};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=legacy", NULL);
	expect_status(&run, 0, "hotplug");
	test_run_free(&run);
	char *plugged = test_snapshot(root, FLAGS | TEST_SNAPSHOT_NO_CTIME);
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", (const char *[]){"--timeout", "1", NULL});
	expect_status(&run, 4, "hotunplug");
	ck_assert_str_eq(run.err,
			 "vfguard: hostdev 0000:01:00.0: no DEVICE_DELETED for vfg-0000-01-00.0 in 1 s: the "
			 "guest has not let it go; every grant is kept (rerun hotunplug, or once QEMU is gone: "
			 "vfguard revoke --domain vm1 --hostdev 0000:01:00.0)\n");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	expect_in(log, "device_del vfg-0000-01-00.0\n");
	free(log);
	test_snapshot_expect(root, FLAGS, plugged, "hotunplug timed out");
	free(plugged);
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/7").st_uid, HYPERVISOR_UID);
	test_root_remove(root);
}
END_TEST

/* Start @fq, and hotplug @hostdev into it on @root (one of its connections). */
static void fake_qemu_start_plugged(fake_qemu *fq, const char *root, const char *hostdev)
{
	fake_qemu_start(fq);
	test_run run;
	run_vfguard(&run, root, fq, "hotplug", hostdev, NULL);
	expect_status(&run, 0, "hotplug");
	test_run_free(&run);
}

/*
 * QEMU sent DEVICE_DELETED, but a process (here QEMU itself, its device
 * not finalized yet) still has the cdev open past the revoke's 5 s wait.
 * The revoke is refused, and its advice ("nothing was changed: revoke it
 * once the VM has let it go, or stop the VM") was hotunplug's error too,
 * untrue there: QEMU did delete the device and its iommufd object. The
 * error now says what happened, that every grant is kept, and what to run
 * next, which then takes the grants back.
 */
START_TEST(test_hotunplug_whose_node_stays_open_says_qemu_deleted_it_and_keeps_grants)
{
	const char *root = root_new();
	/* QEMU, as uid 107, opens the node by its path: the tree's top (mkdtemp's 0700) must let it through */
	ck_assert_int_eq(chmod(root, 0755), 0);
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {.connections = 3, .unplug_completes = true, .closes_late = true};
	snprintf(fq.device_node, sizeof(fq.device_node), "%s", test_path(root, "/dev/vfio/devices/vfio0"));
	fake_qemu_start_plugged(&fq, root, "01:00.0,backend=iommufd");
	test_run run;
	char *plugged = test_snapshot(root, FLAGS);
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", NULL);
	expect_status(&run, 1, "hotunplug");
	char expected[1024];
	snprintf(expected, sizeof(expected),
		 "vfguard: 0000:01:00.0: QEMU deleted device vfg-0000-01-00.0 and iommufd object vfg-iommufd, but "
		 "pid %d (test_qmp_hotplu) has /dev/vfio/devices/vfio0 open, after 5 s; vfguard kept every grant of "
		 "the hostdev: once that is closed, run vfguard revoke --domain vm1 --hostdev 0000:01:00.0\n",
		 (int)fq.pid);
	const char *error = strstr(run.err, "vfguard: ");
	ck_assert_msg(error && strcmp(error, expected) == 0, "expected:\n%s\nstderr:\n%s", expected, run.err);
	test_run_free(&run);
	test_snapshot_expect(root, FLAGS, plugged, "hotunplug refused after DEVICE_DELETED");
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/devices/vfio0").st_uid, HYPERVISOR_UID);
	fake_qemu_hang_up(&fq);
	char *log = fake_qemu_finish(&fq);
	expect_in(log, "device_del vfg-0000-01-00.0\nobject-del vfg-iommufd\n");
	ck_assert_msg(!strstr(log, "cannot open"), "%s", log);
	free(log);

	/* QEMU gone, the node closed: what the error said to run takes the grants back. */
	test_cli(&run,
		 (const char *[]){"revoke", "--root", root, "--domain", "vm1", "--hostdev", "0000:01:00.0", NULL});
	expect_status(&run, 0, "revoke --hostdev");
	test_run_free(&run);
	test_snapshot_expect(root, FLAGS, before, "hotplug, refused hotunplug, revoke --hostdev");
	free(plugged);
	free(before);
	test_root_remove(root);
}
END_TEST

/*
 * Any other failure of that revoke keeps the library's error, after what
 * QEMU did: here the function's vfio-dev/ went from sysfs (unbound by hand
 * meanwhile), so its cdev's grant cannot be told from another's.
 */
START_TEST(test_hotunplug_whose_revoke_fails_says_what_qemu_did_first)
{
	const char *root = root_new();
	fake_qemu fq = {.connections = 2, .unplug_completes = true};
	fake_qemu_start_plugged(&fq, root, "01:00.0,backend=iommufd");
	test_run run;
	char vfio_dev[4096], kept[4096];
	snprintf(vfio_dev, sizeof(vfio_dev), "%s", test_path(root, "/sys/bus/pci/devices/0000:01:00.0/vfio-dev"));
	snprintf(kept, sizeof(kept), "%s/saved-vfio-dev", root);
	ck_assert_int_eq(rename(vfio_dev, kept), 0);
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", NULL);
	expect_status(&run, 1, "hotunplug");
	static const char qemu_did[] = "vfguard: hostdev 0000:01:00.0: QEMU deleted device vfg-0000-01-00.0 and "
				       "iommufd object vfg-iommufd, but revoking its grants failed: ";
	ck_assert_msg(strncmp(run.err, qemu_did, strlen(qemu_did)) == 0 &&
			      strstr(run.err, "hostdev 0000:01:00.0 of domain vm1 shows no vfio-dev/ cdev in sysfs") &&
			      occurrences(run.err, "vfguard") == 1,
		      "%s", run.err);
	test_run_free(&run);
	free(fake_qemu_finish(&fq));
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/devices/vfio0").st_uid, HYPERVISOR_UID);
	test_root_remove(root);
}
END_TEST

START_TEST(test_hotunplug_of_a_hostdev_not_held)
{
	const char *root = root_new();
	fake_qemu fq = {0};
	fake_qemu_start(&fq);
	test_run run;
	/* The server gets no connection: refused before QEMU is asked. Connect once so that it ends. */
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", NULL);
	expect_status(&run, 1, "hotunplug");
	ck_assert_str_eq(run.err, "vfguard: 0000:01:00.0: domain vm1 does not hold it: nothing to unplug: No such file "
				  "or directory\n");
	test_run_free(&run);
	kill(fq.pid, SIGTERM);
	waitpid(fq.pid, NULL, 0);
	unlink(fq.log);
	unlink(fq.socket);
	rmdir(fq.dir);
	test_root_remove(root);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("qmp_hotplug");
	TCase *tc = tcase_create("qmp_hotplug");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_path_hotplug_grants_and_adds_device);
	tcase_add_test(tc, test_fd_hotplug_passes_the_nodes_fds);
	tcase_add_test(tc, test_iommufd_object_added_once);
	tcase_add_test(tc, test_iommufd_object_of_qemu_args_used);
	tcase_add_test(tc, test_qmp_error_revokes_and_undoes);
	tcase_add_test(tc, test_failed_device_add_whose_fd_qemu_keeps_leaves_the_hostdev_held);
	tcase_add_test(tc, test_legacy_fd_refused_as_qemu_args_refuses);
	tcase_add_test(tc, test_fds_only_to_the_domains_uid);
	tcase_add_test(tc, test_hotunplug_revokes);
	tcase_add_test(tc, test_hotunplug_keeps_object_another_device_uses);
	tcase_add_test(tc, test_hotunplug_timeout_keeps_grants);
	tcase_add_test(tc, test_hotunplug_whose_node_stays_open_says_qemu_deleted_it_and_keeps_grants);
	tcase_add_test(tc, test_hotunplug_whose_revoke_fails_says_what_qemu_did_first);
	tcase_add_test(tc, test_hotunplug_of_a_hostdev_not_held);
	suite_add_tcase(suite, tc);
	return test_main(suite);
}
