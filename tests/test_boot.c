/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Boots (docs/boot.md): the state directory names the boot it was made in,
 * and a command of a later boot releases what the earlier one left before
 * anything else. Real trees, real chown, real files; the boot is the file
 * ROOT/proc/sys/kernel/random/boot_id, which the tests write, as a reboot
 * gives a new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "cgroup_testlib.h"
#include "testlib.h"

static const char host[] = "misc vfio 10:196\n"
			   "driver vfio-pci\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n";

#define BOOT1 "6d1b3c5e-2f4a-4c8b-9e0d-1a2b3c4d5e6f"
#define BOOT2 "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f"
#define UUID1 "c7a5fdbd-edaf-9455-926a-d65c16db1809"
#define RULES1 "/etc/apparmor.d/vfguard/libvirt-" UUID1
#define STATE_BOOT "/run/vfguard/boot"
#define DRIVER_RECORD "/run/vfguard/drivers/0000:01:00.0"
/* What the administrator keeps in the rules file before vfguard: put back byte for byte. */
#define ADMIN_RULES "# an administrator's own rules\n  /srv/images/vm1.qcow2 rwk,\n"

static void boot_set(const char *root, const char *id)
{
	char line[64];
	snprintf(line, sizeof(line), "%s\n", id);
	test_write_file(root, VFG_BOOT_ID_PATH, line);
}

/*
 * A host tree on a disk, as /var/lib and /etc are: what a boot release puts
 * back there outlived the reboot. /tmp will not do, since it is a tmpfs in
 * many places (the clean room's is), and a node there is one the reboot
 * made anew, which the release rightly leaves alone (the /dev-on-tmpfs test
 * below covers that side).
 */
static const char *host_new(void)
{
	const char *root = test_root_new_in("/var/tmp", host);
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	bool on_boot_fs = vfg_fd_on_boot_fs(fd);
	close(fd);
	ck_assert_msg(!on_boot_fs, "%s is on a tmpfs or ramfs: this test needs /var/tmp on a disk file system", root);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac apparmor\nrecords = off\n");
	test_write_file(root, RULES1, ADMIN_RULES);
	boot_set(root, BOOT1);
	return root;
}

static void run_expect(const char *const *argv, int status, const char *what)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == status, "%s: exit %d, expected %d\nout: %s\nerr: %s", what, run.status, status,
		      run.out, run.err);
	test_run_free(&run);
}

static const char *const *apply_argv(const char *root)
{
	static const char *argv[16];
	const char *const args[] = {"apply",
				    "--root",
				    root,
				    "--domain",
				    "vm1",
				    "--uuid",
				    UUID1,
				    "--uid",
				    "107",
				    "--gid",
				    "107",
				    "--hostdev",
				    "01:00.0,managed=yes",
				    NULL};
	memcpy(argv, args, sizeof(args));
	return argv;
}

static void apply_ok(const char *root)
{
	run_expect(apply_argv(root), 0, "apply");
}

static test_run restore_boot(const char *root)
{
	test_run run;
	test_cli(&run, (const char *[]){"restore", "--boot", "--root", root, NULL});
	ck_assert_msg(run.status == 0, "restore --boot: exit %d\nout: %s\nerr: %s", run.status, run.out, run.err);
	return run;
}

/* How many domain journals the state directory holds. */
static size_t journal_files(const char *root)
{
	char command[4200];
	snprintf(command, sizeof(command), "ls %s 2>/dev/null | grep -c '\\.journal$'",
		 test_path(root, "/run/vfguard/domains"));
	FILE *p = popen(command, "r");
	ck_assert_ptr_nonnull(p);
	unsigned long n = 0;
	ck_assert_int_eq(fscanf(p, "%lu", &n), 1);
	pclose(p);
	return n;
}

/* Whether the file is there (its content read and let go). */
static bool file_exists(const char *root, const char *logical)
{
	char *content = test_read_file(root, logical);
	free(content);
	return content != NULL;
}

static void expect_file(const char *root, const char *logical, const char *expected)
{
	char *content = test_read_file(root, logical);
	ck_assert_msg(content && strcmp(content, expected) == 0, "%s:\n%s\nexpected:\n%s", logical,
		      content ? content : "(no file)", expected);
	free(content);
}

/*
 * The host as nothing of vfguard's is on it: the tree as @before (taken in
 * BOOT1) but for the boot id, the rules file its own, no journal, no driver
 * record, and audit clean.
 */
static void expect_released(const char *root, const char *before, const char *what)
{
	char *boot = test_read_file(root, VFG_BOOT_ID_PATH);
	boot_set(root, BOOT1);
	test_snapshot_expect(root, TEST_SNAPSHOT_CONTENT | TEST_SNAPSHOT_NO_STATE, before, what);
	test_write_file(root, VFG_BOOT_ID_PATH, boot);
	free(boot);
	expect_file(root, RULES1, ADMIN_RULES);
	ck_assert(!file_exists(root, DRIVER_RECORD));
	ck_assert_uint_eq(journal_files(root), 0);
	run_expect((const char *[]){"audit", "--root", root, NULL}, 0, what);
}

START_TEST(the_state_and_the_rules_file_name_the_boot_they_were_made_in)
{
	const char *root = host_new();
	apply_ok(root);
	expect_file(root, STATE_BOOT, BOOT1 "\n");
	char *rules = test_read_file(root, RULES1);
	ck_assert_ptr_nonnull(rules);
	ck_assert_msg(strncmp(rules, "# vfguard begin: device nodes of domain vm1 in boot " BOOT1 "\n", 89) == 0, "%s",
		      rules);
	ck_assert_msg(strstr(rules, "# vfguard end\n" ADMIN_RULES), "%s", rules);
	free(rules);
	test_root_remove(root);
}
END_TEST

START_TEST(restore_boot_in_the_same_boot_keeps_what_the_domains_hold)
{
	const char *root = host_new();
	apply_ok(root);
	char *granted = test_snapshot(root, TEST_SNAPSHOT_CONTENT);
	test_run run = restore_boot(root);
	ck_assert_msg(strstr(run.out, "boot " BOOT1 "\n") && strstr(run.out, "0 changes undone"), "%s", run.out);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_CONTENT, granted, "restore --boot in the boot that granted");
	ck_assert_uint_eq(journal_files(root), 1);
	free(granted);
	test_root_remove(root);
}
END_TEST

START_TEST(restore_boot_after_a_reboot_releases_every_domain_of_the_earlier_boot)
{
	const char *root = host_new();
	char *before = test_snapshot(root, TEST_SNAPSHOT_CONTENT | TEST_SNAPSHOT_NO_STATE);
	apply_ok(root);
	ck_assert(file_exists(root, DRIVER_RECORD));
	boot_set(root, BOOT2);
	test_run run = restore_boot(root);
	ck_assert_msg(strstr(run.out, "boot " BOOT2 "\n") &&
			      strstr(run.out, "released 1 domain of an earlier boot (" BOOT1 ")"),
		      "%s", run.out);
	test_run_free(&run);
	expect_released(root, before, "restore --boot in a later boot");
	expect_file(root, STATE_BOOT, BOOT2 "\n");

	/* Again: nothing left to release, nothing changed. */
	char *released = test_snapshot(root, TEST_SNAPSHOT_CONTENT);
	run = restore_boot(root);
	ck_assert_msg(strstr(run.out, "0 changes undone") && !strstr(run.out, "released"), "%s", run.out);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_CONTENT, released, "restore --boot a second time");
	free(released);
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(an_apply_in_a_later_boot_releases_the_earlier_boots_claims_first)
{
	const char *root = host_new();
	apply_ok(root);
	boot_set(root, BOOT2);
	/* vm2 wants vm1's group: vm1 is of a boot that is over, so its claim is released, not refused. */
	run_expect((const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108",
				    "--hostdev", "01:00.0", NULL},
		   0, "vm2's apply in the later boot");
	ck_assert_uint_eq(journal_files(root), 1);
	ck_assert(file_exists(root, "/run/vfguard/domains/vm2.journal"));
	expect_file(root, RULES1, ADMIN_RULES);
	expect_file(root, STATE_BOOT, BOOT2 "\n");
	test_root_remove(root);
}
END_TEST

/*
 * kill -9 at every journal point of an apply, then a reboot: restore --boot
 * leaves the host as before the apply, whatever the crash left.
 */
START_TEST(a_crash_at_any_point_of_an_apply_then_a_reboot_leaves_nothing)
{
	const char *root = host_new();
	char *before = test_snapshot(root, TEST_SNAPSHOT_CONTENT | TEST_SNAPSHOT_NO_STATE);
	unsigned point = 1;
	for (;; point++) {
		boot_set(root, point % 2 ? BOOT1 : BOOT2);
		int status = test_cli_killed_at(point, apply_argv(root));
		if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
				      "the apply past its last point: %d", status);
			break;
		}
		boot_set(root, point % 2 ? BOOT2 : BOOT1);
		test_run run = restore_boot(root);
		test_run_free(&run);
		char what[64];
		snprintf(what, sizeof(what), "killed at point %u, then a reboot", point);
		expect_released(root, before, what);
	}
	ck_assert_uint_gt(point, 5);
	free(before);
	test_root_remove(root);
}
END_TEST

/*
 * The journal in /run is lost with the boot, the rules file under /etc is
 * not: a section of another boot is put back from the file itself; one of
 * this boot, and one that names no boot (a vfguard before boot ids), stay.
 */
START_TEST(a_rules_file_whose_journal_the_reboot_lost_is_put_back_from_the_file)
{
	const char *root = host_new();
	apply_ok(root);
	char *granted = test_read_file(root, RULES1);
	const char *no_boot = "# vfguard begin: device nodes of domain old\n\"/dev/vfio/9\" rw,\n# vfguard end\nkept\n";
	test_write_file(root, "/etc/apparmor.d/vfguard/libvirt-old", no_boot);
	char command[4200];
	snprintf(command, sizeof(command), "rm -rf %s", test_path(root, "/run/vfguard"));
	ck_assert_int_eq(system(command), 0);

	/* The same boot: the section is this boot's (a journal moved away is not a reboot). */
	test_run run = restore_boot(root);
	test_run_free(&run);
	expect_file(root, RULES1, granted);

	boot_set(root, BOOT2);
	run = restore_boot(root);
	ck_assert_msg(strstr(run.out, "apparmor: released 1 thing made in an earlier boot"), "%s", run.out);
	test_run_free(&run);
	expect_file(root, RULES1, ADMIN_RULES);
	expect_file(root, "/etc/apparmor.d/vfguard/libvirt-old", no_boot);

	/* A file that was not there before vfguard goes. */
	boot_set(root, BOOT1);
	snprintf(command, sizeof(command), "rm -rf %s", test_path(root, "/run/vfguard"));
	ck_assert_int_eq(system(command), 0);
	ck_assert_int_eq(unlink(test_path(root, RULES1)), 0);
	apply_ok(root);
	snprintf(command, sizeof(command), "rm -rf %s", test_path(root, "/run/vfguard"));
	ck_assert_int_eq(system(command), 0);
	boot_set(root, BOOT2);
	run_expect((const char *[]){"status", "--root", root, NULL}, 0, "status, which sweeps nothing");
	ck_assert(file_exists(root, RULES1));
	run = restore_boot(root);
	char *left = test_read_file(root, RULES1);
	ck_assert_msg(!left, "%s\nout: %s", left, run.out);
	test_run_free(&run);
	free(granted);
	test_root_remove(root);
}
END_TEST

/*
 * /dev on a file system every boot starts empty (devtmpfs; a tmpfs here):
 * the node's owner after the reboot is the new boot's, and dac leaves it.
 * On a disk (the other tests' trees) it put the owner back.
 */
START_TEST(a_node_on_a_boot_file_system_keeps_what_the_new_boot_gave_it)
{
	const char *root = host_new();
	char saved[4200], dev[4200], command[9000];
	snprintf(dev, sizeof(dev), "%s", test_path(root, "/dev"));
	snprintf(saved, sizeof(saved), "%s.saved", root);
	snprintf(command, sizeof(command), "cp -a %s %s", dev, saved);
	ck_assert_int_eq(system(command), 0);
	/*
	 * Mounted in a mount namespace of this test's own, which the CLI it runs
	 * inherits: never in the host's table, where a test running beside this
	 * one (test_private_node compares it) would see it come and go, nor left
	 * there when a check below fails.
	 */
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_msg(mount("vfguard-test", dev, "tmpfs", 0, "mode=0755") == 0, "mount tmpfs on %s: %s", dev,
		      strerror(errno));
	snprintf(command, sizeof(command), "cp -a %s/. %s/", saved, dev);
	ck_assert_int_eq(system(command), 0);

	apply_ok(root);
	struct stat st;
	ck_assert_int_eq(stat(test_path(root, "/dev/vfio/7"), &st), 0);
	ck_assert_uint_eq(st.st_uid, 107);
	boot_set(root, BOOT2);
	test_run run = restore_boot(root);
	/* Left alone, said so, and not counted: what is undone is the rules file's two rules (3 counted before). */
	ck_assert_msg(strstr(run.out, "2 changes undone\n") &&
			      strstr(run.out, "dac: /dev/vfio/7 is this boot's (its file system starts empty at every "
					      "boot): the grant went with its boot, left alone"),
		      "%s", run.out);
	test_run_free(&run);
	/* Not put back: on devtmpfs this would be the node the new boot made, owned as udev chose. */
	ck_assert_int_eq(stat(test_path(root, "/dev/vfio/7"), &st), 0);
	ck_assert_uint_eq(st.st_uid, 107);
	expect_file(root, RULES1, ADMIN_RULES);
	ck_assert_uint_eq(journal_files(root), 0);

	ck_assert_int_eq(umount(dev), 0);
	snprintf(command, sizeof(command), "rm -rf %s", saved);
	ck_assert_int_eq(system(command), 0);
	test_root_remove(root);
}
END_TEST

/* vm1's apply with every layer, the VM's pid and the cgroups it is in. */
static void apply_with_vm(const char *root, const test_vm *vm)
{
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)vm->pid);
	run_expect((const char *[]){"apply", "--root", root, "--domain", "vm1", "--uuid", UUID1, "--uid", "107",
				    "--gid", "107", "--pid", pid, "--memory", "4M", "--hostdev", "01:00.0,managed=yes",
				    NULL},
		   0, "apply with the VM's pid");
}

/*
 * A cgroup, a process and its private /dev die with the boot; a cgroup of
 * the same path and a process of the same pid after the reboot are the new
 * boot's (a VM of the same name started again). The release touches none of
 * them, and needs none of them: with the cgroup and the process gone it
 * releases all the same (no probe looks for them).
 */
START_TEST(a_cgroup_and_a_process_of_an_earlier_boot_are_left_to_the_new_one)
{
	const char *root = host_new();
	test_write_file(
		root, "/etc/vfguard/vfguard.conf",
		"labelers = dac cgroup apparmor\nrecords = off\ncgroup_base_devices = c 1:3 rw\nmemlock_extra = 1M\n");
	/* This machine's hybrid layout: the v1 devices controller, and cgroup2 where a program attaches. */
	char v1[256], v2[256];
	ck_assert_int_ge(test_cgroup_make_own(TEST_CGROUP_V1, v1, sizeof(v1)), 0);
	ck_assert_int_ge(test_cgroup_make_own(TEST_CGROUP_V2, v2, sizeof(v2)), 0);
	test_cgroup_write(v1, "devices.deny", "a");
	test_cgroup_write(v1, "devices.allow", "c 1:3 rwm");
	test_vm vm;
	test_vm_start(&vm, root, (const char *[]){v1, v2, NULL});
	apply_with_vm(root, &vm);
	char *granted = test_cgroup_devices_list(v1);
	ck_assert_msg(strstr(granted, "c 243:0 rw"), "%s", granted);
	char limits[64], limit_before[256];
	snprintf(limits, sizeof(limits), "/proc/%d/limits", (int)vm.pid);
	char *text = test_read_nonempty(limits);
	const char *line = strstr(text, "Max locked memory");
	ck_assert_ptr_nonnull(line);
	snprintf(limit_before, sizeof(limit_before), "%.*s", (int)strcspn(line, "\n"), line);
	free(text);
	/* Raised by the apply from the VM's own 64 KiB (TEST_VM_SOFT): a grant that dies with the process. */
	ck_assert_msg(!strstr(limit_before, " 65536 "), "%s", limit_before);

	boot_set(root, BOOT2);
	test_run run = restore_boot(root);
	test_run_free(&run);
	char *after = test_cgroup_devices_list(v1);
	ck_assert_msg(strcmp(after, granted) == 0, "the cgroup changed:\n%s\nwas:\n%s", after, granted);
	text = test_read_nonempty(limits);
	ck_assert_msg(strstr(text, limit_before), "the process's limit changed from '%s':\n%s", limit_before, text);
	free(text);
	expect_file(root, RULES1, ADMIN_RULES);
	ck_assert_uint_eq(journal_files(root), 0);
	free(after);
	free(granted);

	/* Granted again in this boot, then the process and its cgroup gone, then a reboot. */
	apply_with_vm(root, &vm);
	test_vm_stop(&vm);
	test_cgroup_remove_tree(v1);
	test_cgroup_remove_tree(v2);
	boot_set(root, BOOT1);
	run = restore_boot(root);
	ck_assert_msg(strstr(run.out, "released 1 domain of an earlier boot (" BOOT2 ")"), "%s", run.out);
	test_run_free(&run);
	expect_file(root, RULES1, ADMIN_RULES);
	ck_assert_uint_eq(journal_files(root), 0);
	test_root_remove(root);
}
END_TEST

/*
 * audit and the fd broker take the lock shared and release nothing: in a
 * later boot they refuse the earlier boot's state, changing nothing, until
 * restore --boot (or any exclusive command) released it.
 */
START_TEST(audit_and_the_fd_broker_refuse_the_state_of_an_earlier_boot)
{
	const char *root = host_new();
	const char *const audit[] = {"audit", "--root", root, NULL};
	const char *const exec[] = {"exec",  "--root", root,        "--domain",          "vm1", "--uid", "107",
				    "--gid", "107",    "--hostdev", "02:00.0,access=fd", "--",  "true",  NULL};
	run_expect((const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107",
				    "--hostdev", "02:00.0,access=fd", NULL},
		   0, "apply with fd access");
	run_expect(audit, 0, "audit in the same boot");
	/* (exec in this boot would go on to open the nodes, which the tree's made-up numbers do not name) */
	boot_set(root, BOOT2);
	char *before = test_snapshot(root, 0);
	const char *const *commands[] = {audit, exec};
	const char *names[] = {"audit", "the fd broker"};
	for (size_t i = 0; i < 2; i++) {
		test_run run;
		test_cli(&run, commands[i]);
		ck_assert_msg(run.status == 1, "%s in a later boot: exit %d\nerr: %s", names[i], run.status, run.err);
		ck_assert_msg(strstr(run.err, "earlier boot (" BOOT1 "; this one is " BOOT2 ")") &&
				      strstr(run.err, names[i]) && strstr(run.err, "restore --boot"),
			      "%s", run.err);
		test_run_free(&run);
		test_snapshot_expect(root, 0, before, names[i]);
	}
	/* status shows the state as it is, marked as the earlier boot's (a trial read it as held), text and JSON. */
	test_run run;
	test_cli(&run, (const char *[]){"status", "--root", root, NULL});
	const char *marked =
		"EARLIER BOOT: this state is of boot " BOOT1 " (this one is " BOOT2 "); its grants went "
		"with that boot and vfguard restore --boot releases what is left\n\ndomain vm1 (uid 107 gid 107)\n";
	ck_assert_msg(run.status == 0 && strncmp(run.out, marked, strlen(marked)) == 0, "%s%s", run.out, run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"status", "--root", root, "--json", NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "\"earlier_boot\": \"" BOOT1 "\""), "%s%s", run.out, run.err);
	test_run_free(&run);
	test_snapshot_expect(root, 0, before, "status");
	free(before);
	run = restore_boot(root);
	test_run_free(&run);
	run_expect(audit, 0, "audit once the earlier boot is released");
	test_cli(&run, (const char *[]){"status", "--root", root, "--json", NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "\"earlier_boot\": null"), "%s%s", run.out, run.err);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(restore_boot_without_a_boot_id_fails_and_says_why)
{
	const char *root = host_new();
	ck_assert_int_eq(unlink(test_path(root, VFG_BOOT_ID_PATH)), 0);
	test_run run;
	test_cli(&run, (const char *[]){"restore", "--boot", "--root", root, NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "boot_id") && strstr(run.err, "cannot tell an earlier boot"), "%s", run.err);
	test_run_free(&run);
	/* Without --boot, a root without one is a tree that tells no boots apart: as before boot ids. */
	run_expect((const char *[]){"restore", "--root", root, NULL}, 0, "restore without --boot");
	test_root_remove(root);
}
END_TEST

/*
 * A STATE/boot that holds no boot id stops every command, and its advice
 * keeps the journals either way (the old advice, to move the state
 * directory aside, lost them and the grants with them): this boot's id put
 * back, the domain is revoked as applied; another id, restore --boot
 * releases it as an earlier boot's.
 */
START_TEST(a_damaged_boot_file_stops_every_command_and_either_answer_keeps_the_journals)
{
	for (int earlier = 0; earlier < 2; earlier++) {
		const char *root = host_new();
		char *before = test_snapshot(root, TEST_SNAPSHOT_CONTENT | TEST_SNAPSHOT_NO_STATE);
		apply_ok(root);
		test_write_file(root, STATE_BOOT, "not a boot id\n");
		test_run run;
		test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL});
		ck_assert_msg(run.status == 1 && strstr(run.err, "holds no boot id") &&
				      strstr(run.err, "Either way the journals are kept"),
			      "%s", run.err);
		/* The advice's commands, as it names them. */
		const char *cp = strstr(run.err, "cp "), *echo = strstr(run.err, "(echo ");
		ck_assert_msg(cp && echo, "%s", run.err);
		char command[4300];
		if (earlier) {
			boot_set(root, BOOT2); /* the reboot */
			snprintf(command, sizeof(command), "%.*s", (int)(strchr(echo, ')') - echo - 1), echo + 1);
		} else {
			snprintf(command, sizeof(command), "%.*s", (int)(strstr(cp, ". ") - cp), cp);
		}
		test_run_free(&run);
		ck_assert_msg(system(command) == 0, "%s", command);
		ck_assert_uint_eq(journal_files(root), 1);
		if (earlier) {
			run = restore_boot(root);
			ck_assert_msg(strstr(run.out, "released 1 domain of an earlier boot"), "%s", run.out);
			test_run_free(&run);
			expect_released(root, before, "restore --boot after the advice for an earlier boot");
		} else {
			run_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL}, 0,
				   "revoke after the advice for this boot");
			test_snapshot_expect(root, TEST_SNAPSHOT_CONTENT | TEST_SNAPSHOT_NO_STATE, before,
					     "revoke after the advice for this boot");
		}
		free(before);
		test_root_remove(root);
	}
}
END_TEST

static Suite *boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *tc = tcase_create("boot");
	tcase_add_unchecked_fixture(tc, test_cgroup_runner_setup, test_cgroup_runner_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, the_state_and_the_rules_file_name_the_boot_they_were_made_in);
	tcase_add_test(tc, restore_boot_in_the_same_boot_keeps_what_the_domains_hold);
	tcase_add_test(tc, restore_boot_after_a_reboot_releases_every_domain_of_the_earlier_boot);
	tcase_add_test(tc, an_apply_in_a_later_boot_releases_the_earlier_boots_claims_first);
	tcase_add_test(tc, a_crash_at_any_point_of_an_apply_then_a_reboot_leaves_nothing);
	tcase_add_test(tc, a_rules_file_whose_journal_the_reboot_lost_is_put_back_from_the_file);
	tcase_add_test(tc, a_node_on_a_boot_file_system_keeps_what_the_new_boot_gave_it);
	tcase_add_test(tc, a_cgroup_and_a_process_of_an_earlier_boot_are_left_to_the_new_one);
	tcase_add_test(tc, audit_and_the_fd_broker_refuse_the_state_of_an_earlier_boot);
	tcase_add_test(tc, restore_boot_without_a_boot_id_fails_and_says_why);
	tcase_add_test(tc, a_damaged_boot_file_stops_every_command_and_either_answer_keeps_the_journals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(boot_suite());
}
