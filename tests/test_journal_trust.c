/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What vfguard trusts in its state directory (docs/journal.md, "Trust"): a
 * journal read by its length, a damaged one refused and left as it is; a
 * state directory, lock or journal that anyone but root could have written
 * refused by every command; and undo records each labeler's revoke refuses
 * because no grant could have journaled them. On generated trees with the
 * real DAC labeler and real nodes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testlib.h"

#define JOURNAL "/run/vfguard/domains/vm1.journal"

/* The container, and two single-function groups on vfio-pci. */
static const char host_two[] = "misc vfio 10:196\n"
			       "group 7 243:0\n"
			       "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n"
			       "group 8 243:1\n"
			       "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n";

/* A host where vm1 (uid 107) holds group 7 through the DAC labeler: /dev/vfio/7 is 107:107. */
static const char *host_with_vm1(void)
{
	const char *root = test_root_new(host_two);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/7"), 0600), 0);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--hostdev", "01:00.0", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	test_run_free(&run);
	return root;
}

static void expect_owner(const char *root, const char *logical, uid_t uid, mode_t mode)
{
	struct stat st;
	ck_assert_int_eq(lstat(test_path(root, logical), &st), 0);
	ck_assert_msg(st.st_uid == uid && (st.st_mode & 07777) == mode, "%s is %u %04o, expected %u %04o", logical,
		      (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)uid, (unsigned)mode);
}

/*
 * The commands that read the journal, each run on @root: all must exit 1
 * with every @needles in stderr. vm2's apply asks for vm1's group, so its
 * plan reads vm1's journal to name the holder (a command that needs nothing
 * of vm1 does not read it: test_journal_holders.c).
 */
static void expect_every_command_refused(const char *root, const char *const *needles)
{
	const char *const commands[][12] = {
		{"status", "--root", root, NULL},
		{"revoke", "--root", root, "--domain", "vm1", NULL},
		{"restore", "--root", root, NULL},
		{"restore", "--all", "--root", root, NULL},
		{"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108", "--hostdev", "01:00.0"},
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const char *argv[13] = {0};
		memcpy(argv, commands[i], sizeof(commands[i]));
		test_run run;
		test_cli(&run, argv);
		ck_assert_msg(run.status == 1, "vfguard %s exited %d, not 1: %s%s", argv[0], run.status, run.out,
			      run.err);
		for (const char *const *needle = needles; *needle; needle++)
			ck_assert_msg(strstr(run.err, *needle), "vfguard %s: '%s' not in: %s", argv[0], *needle,
				      run.err);
		test_run_free(&run);
	}
}

/* Overwrite the byte at @offset of the journal with @byte. */
static void journal_poke(const char *root, off_t offset, char byte)
{
	int fd = open(test_path(root, JOURNAL), O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, &byte, 1, offset), 1);
	close(fd);
}

/* The byte offset of the first occurrence of @text in the journal. */
static off_t journal_find(const char *root, const char *text)
{
	char *journal = test_read_file(root, JOURNAL);
	ck_assert_ptr_nonnull(journal);
	const char *at = strstr(journal, text);
	ck_assert_msg(at != NULL, "'%s' not in the journal:\n%s", text, journal);
	off_t offset = at - journal;
	free(journal);
	return offset;
}

START_TEST(a_nul_byte_inside_the_journal_is_refused_by_every_command_naming_file_and_offset_and_nothing_is_cut)
{
	const char *root = host_with_vm1();
	/* In the middle of the intent line, with lines after it: what the old reader took for a torn end. */
	off_t offset = journal_find(root, "intent ") + 3;
	journal_poke(root, offset, '\0');
	char *damaged = test_snapshot(root, 0); /* everything: the journal's bytes, the node's owner and ctime */
	char where[64];
	snprintf(where, sizeof(where), "a NUL byte at byte offset %lld", (long long)offset);
	expect_every_command_refused(root,
				     (const char *[]){test_path(root, JOURNAL), "line 5: ", where, "damaged", NULL});
	test_snapshot_expect(root, 0, damaged, "after every command refused the damaged journal");
	expect_owner(root, "/dev/vfio/7", 107, 0600); /* the grant is still there, and still journaled */
	free(damaged);
	test_root_remove(root);
}
END_TEST

START_TEST(a_control_byte_inside_the_journal_is_refused_as_damage)
{
	const char *root = host_with_vm1();
	off_t offset = journal_find(root, "commit ");
	journal_poke(root, offset, '\r');
	char *damaged = test_snapshot(root, 0);
	expect_every_command_refused(root, (const char *[]){test_path(root, JOURNAL), "byte 0x0D", NULL});
	test_snapshot_expect(root, 0, damaged, "after every command refused the damaged journal");
	free(damaged);
	test_root_remove(root);
}
END_TEST

START_TEST(a_torn_last_line_holding_a_nul_byte_is_still_cut_and_revoke_restores)
{
	const char *root = host_with_vm1();
	FILE *f = fopen(test_path(root, JOURNAL), "a");
	ck_assert_ptr_nonnull(f);
	fwrite("begin 2 re\0vo", 1, 13, f); /* a write a crash cut short, past the last newline */
	fclose(f);
	test_run run;
	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	test_run_free(&run);
	expect_owner(root, "/dev/vfio/7", 0, 0600);
	ck_assert_ptr_null(test_read_file(root, JOURNAL));
	test_root_remove(root);
}
END_TEST

/* ---- A state directory someone else could have written ---- */

typedef struct untrusted_case {
	const char *what;
	const char *logical; /* the path refused */
	uid_t uid; /* chown to this, when not 0 */
	mode_t mode; /* chmod to this, when not 0 */
	bool symlink; /* replace it with a symlink to a copy */
	const char *expect; /* in the message, besides the path */
} untrusted_case;

static const untrusted_case untrusted_cases[] = {
	{"journal 0666", JOURNAL, 0, 0666, false, "owned by uid 0 with mode 0666"},
	{"journal owned by uid 1000", JOURNAL, 1000, 0, false, "owned by uid 1000 with mode 0600"},
	{"domains directory 0777", "/run/vfguard/domains", 0, 0777, false, "owned by uid 0 with mode 0777"},
	{"state directory owned by uid 1000", "/run/vfguard", 1000, 0, false, "owned by uid 1000 with mode 0700"},
	{"lock 0622", "/run/vfguard/lock", 0, 0622, false, "owned by uid 0 with mode 0622"},
	{"journal a symlink", JOURNAL, 0, 0, true, "is a symbolic link"},
	{"state directory a symlink", "/run/vfguard", 0, 0, true, "is a symbolic link"},
};

START_TEST(a_state_directory_others_could_write_is_refused_by_every_command_and_nothing_changes)
{
	const untrusted_case *c = &untrusted_cases[_i];
	const char *root = host_with_vm1();
	char path[4096], copy[4096];
	snprintf(path, sizeof(path), "%s", test_path(root, c->logical));
	if (c->symlink) {
		snprintf(copy, sizeof(copy), "%s.moved", path);
		ck_assert_int_eq(rename(path, copy), 0);
		ck_assert_int_eq(symlink(copy, path), 0);
	}
	if (c->uid)
		ck_assert_int_eq(chown(path, c->uid, c->uid), 0);
	if (c->mode)
		ck_assert_int_eq(chmod(path, c->mode), 0);
	char *before = test_snapshot(root, 0);
	expect_every_command_refused(root, (const char *[]){path, c->expect, NULL});
	test_snapshot_expect(root, 0, before, c->what);
	expect_owner(root, "/dev/vfio/7", 107, 0600);
	expect_owner(root, "/dev/vfio/8", 0, 0600);
	free(before);
	test_root_remove(root);
}
END_TEST

/*
 * A FIFO in a state file's place: opening it to read would wait for a
 * writer that never comes (a trial's status, audit and plan hung, and an
 * apply hung holding the host lock). Every command returns: the lock and a
 * journal are refused by name, the holders index is not trusted and is
 * written anew.
 */
START_TEST(a_fifo_in_a_state_file_s_place_hangs_no_command)
{
	const char *targets[] = {"/run/vfguard/lock", JOURNAL, "/run/vfguard/holders"};
	const char *target = targets[_i];
	const char *root = host_with_vm1();
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path(root, target));
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	const char *const commands[][14] = {
		{"status", "--root", root, NULL},
		{"audit", "--root", root, NULL},
		{"plan", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108", "--hostdev", "02:00.0",
		 NULL},
		{"revoke", "--root", root, "--domain", "vm1", NULL},
		{"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108", "--hostdev", "02:00.0",
		 NULL},
	};
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		test_run run;
		test_cli(&run, commands[i]);
		if (_i < 2) {
			ck_assert_msg(run.status == 1 && strstr(run.err, path) &&
					      strstr(run.err, "is a FIFO, not a regular file"),
				      "vfguard %s: exit %d: %s%s", commands[i][0], run.status, run.out, run.err);
			expect_owner(root, "/dev/vfio/7", 107, 0600);
		} else {
			ck_assert_msg(run.status == 0, "vfguard %s: exit %d: %s%s", commands[i][0], run.status, run.out,
				      run.err);
		}
		test_run_free(&run);
	}
	test_root_remove(root);
}
END_TEST

/* A journal larger than any grant writes (a sparse 4 GB file took 4.1 GB to read): refused unread, by size. */
START_TEST(a_journal_past_its_bound_is_refused_unread_naming_its_size)
{
	const char *root = host_with_vm1();
	ck_assert_int_eq(truncate(test_path(root, JOURNAL), (off_t)65 << 20), 0);
	struct stat before, after;
	ck_assert_int_eq(stat(test_path(root, JOURNAL), &before), 0);
	expect_every_command_refused(root,
				     (const char *[]){test_path(root, JOURNAL),
						      "the journal is 68157440 bytes, more than the 64 MiB", NULL});
	/* Left as it is (a snapshot would read the 65 MiB): its size and times, and the grant. */
	ck_assert_int_eq(stat(test_path(root, JOURNAL), &after), 0);
	ck_assert(after.st_size == before.st_size && after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
		  after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
	expect_owner(root, "/dev/vfio/7", 107, 0600);
	test_root_remove(root);
}
END_TEST

START_TEST(a_made_state_directory_is_root_s_alone)
{
	const char *root = host_with_vm1();
	expect_owner(root, "/run/vfguard", 0, 0700);
	expect_owner(root, "/run/vfguard/domains", 0, 0700);
	expect_owner(root, "/run/vfguard/lock", 0, 0600);
	expect_owner(root, JOURNAL, 0, 0600);
	test_root_remove(root);
}
END_TEST

/* ---- Undo records no grant could have written ---- */

typedef struct forged_case {
	const char *labelers; /* the config's labelers = */
	const char *intent; /* "LABELER KIND PATH MAJ:MIN SHARED", as the journal has them */
	const char *undo; /* the undo text, before the journal's escaping */
	const char *expect; /* in the message, besides the record's path */
} forged_case;

static const forged_case forged_cases[] = {
	{"dac", "dac group /dev/vfio/7 243:0 0", "uid=0 gid=0 mode=4777", "set-id or sticky bits (4000)"},
	{"dac", "dac group /dev/vfio/7 243:0 0", "uid=0 gid=0 mode=2660", "set-id or sticky bits (2000)"},
	{"dac", "dac group /dev/vfio/7 243:0 0", "uid=0 gid=0 mode=1666", "set-id or sticky bits (1000)"},
	{"dac", "dac group /dev/vfio/7 243:0 0", "uid=0 gid=0 mode=10660", "is not 'uid=U gid=G mode=OOOO'"},
	{"dac", "dac group /dev/vfio/7 243:0 0", "uid=-1 gid=0 mode=0660", "is not 'uid=U gid=G mode=OOOO'"},
	{"dac", "dac group /dev/vfio/7 243:0 0", "uid=4294967295 gid=0 mode=0660", "names owner -1"},
	{"dac", "dac group /dev/vfio/7 243:0 0", "uid=+0 gid=0 mode=0660", "is not 'uid=U gid=G mode=OOOO'"},
	{"dac", "dac group /dev/vfio/7 243:0 0", "uid=0 gid=0 mode=660", "is not 'uid=U gid=G mode=OOOO'"},
	{"dac", "dac container /dev/vfio/vfio 10:196 1", "mode=4666 acl=none", "set-id or sticky bits (4000)"},
	/* a version-2 header and one entry: no ACL the kernel keeps */
	{"dac", "dac container /dev/vfio/vfio 10:196 1", "mode=0666 acl=020000000100060000000000",
	 "holds no access ACL the kernel keeps for mode 0666"},
	/* owner rw-, group rw-, other rw-: an ACL, but not that of mode 0600 */
	{"dac", "dac container /dev/vfio/vfio 10:196 1",
	 "mode=0600 acl=02000000010006000000000004000600000000002000060000000000",
	 "holds no access ACL the kernel keeps for mode 0600"},
	{"dac", "dac container /dev/vfio/vfio 10:196 1", "mode=0666 acl=NONE", "is not 'mode=OOOO acl=none|HEX'"},
	{"selinux", "selinux group /dev/vfio/7 243:0 0", "label=u%3ar:t:s0", "is not the label as vfguard writes one"},
	{"cgroup", "cgroup group /dev/vfio/7 243:0 0", "v1=/etc:rw", "is on no cgroup file system"},
	{"cgroup", "cgroup group /dev/vfio/7 243:0 0", "v1=/sys/fs/cgroup/devices/../../../etc:rw",
	 "is not one a grant writes"},
	{"cgroup", "cgroup group /dev/vfio/7 243:0 0", "v2=/sys/fs/cgroup/unified:rwm/4", "is not one a grant writes"},
	{"apparmor", "apparmor group /dev/vfio/7 243:0 0", "rule=new original=saved:12345:10",
	 "is not 'rule=new|held original=absent|text:ENC|saved:HASH:SIZE'"},
	{"apparmor", "apparmor group /dev/vfio/7 243:0 0", "rule=new original=saved:0123456789abcdef:99999999999",
	 "is not 'rule=new|held original=absent|text:ENC|saved:HASH:SIZE'"},
	{"dac", "namespace group /dev/vfio/7 243:0 0", "mnt=+1:2 entry=made mkdir=-", "as vfguard writes it"},
	{"dac", "namespace group /dev/vfio/7 243:0 0", "mnt=1:2 entry=made mkdir=/etc", "for this node"},
	{"dac", "memlock - /proc/1 - 0", "pid=1 start=1 soft=100 hard=10", "soft limit above the hard one"},
	{"dac", "memlock - /proc/1 - 0", "pid=2 start=1 soft=10 hard=10", "for another process than its record's"},
	{"dac", "memlock - /proc/1 - 0", "pid=1 start=1 soft=+10 hard=10", "malformed memlock undo"},
	/* refused when the journal is read: status too */
	{"dac", "dac group /dev/../etc/shadow 243:0 0", "uid=0 gid=0 mode=0666", "not a device node under /dev"},
	{"dac", "dac group /etc/shadow 243:0 0", "uid=0 gid=0 mode=0666", "not a device node under /dev"},
	{"dac", "memlock group /dev/vfio/7 243:0 0", "pid=1 start=1 soft=10 hard=10", "memlock records name a process"},
	/* a kind at a path no node of it has (a security trial's group record on /dev/mem, then chowned) */
	{"dac", "dac group /dev/mem 1:1 0", "uid=1000 gid=1000 mode=0666", "names '/dev/mem' as a group node"},
	{"dac", "dac container /dev/vfio/7 243:0 1", "mode=0666 acl=none", "names '/dev/vfio/7' as a container node"},
	{"dac", "dac cdev /dev/vfio/devices/vfio01 511:1 0", "uid=0 gid=0 mode=0600", "as a cdev node"},
};

START_TEST(a_forged_undo_record_is_refused_naming_it_and_the_node_is_left_alone)
{
	const forged_case *c = &forged_cases[_i];
	const char *root = test_root_new(host_two);
	char config[128], undo[512], journal[2048];
	snprintf(config, sizeof(config), "labelers = %s\n", c->labelers);
	test_write_file(root, "/etc/vfguard/vfguard.conf", config);
	test_journal_field(c->undo, undo, sizeof(undo));
	snprintf(journal, sizeof(journal),
		 "vfguard-journal 1\nbegin 1 apply\ndomain vm1 - 107 107 - - - - 0 0 0 0\n"
		 "intent 1 1 %s %s\ndone 1 1\ncommit 1\n",
		 c->intent, undo);
	test_write_file(root, JOURNAL, journal);
	ck_assert_int_eq(chmod(test_path(root, JOURNAL), 0600), 0);
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_STATE);

	test_run run;
	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 1, "revoke of '%s' exited %d: %s%s", c->undo, run.status, run.out, run.err);
	ck_assert_msg(strstr(run.err, c->expect), "'%s' not in: %s", c->expect, run.err);
	/* the record's node, or its bad path, and the bad value are named */
	char path[256];
	sscanf(c->intent, "%*s %*s %255s", path);
	ck_assert_msg(strstr(run.err, path), "'%s' not in: %s", path, run.err);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE, before, c->undo);
	expect_owner(root, "/dev/vfio/7", 0, 0600);
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(an_intent_naming_a_path_longer_than_a_node_s_is_refused_naming_it_whole_and_nothing_is_cut)
{
	const char *root = test_root_new(host_two);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	/* Under /dev and shorter than any path may be (VFG_PATH_MAX), but past a node's (VFG_NODE_PATH_MAX). */
	char path[VFG_NODE_PATH_MAX + 64], journal[2 * sizeof(path)];
	int n = snprintf(path, sizeof(path), "/dev/vfio/");
	memset(path + n, 'x', sizeof(path) - 1 - (size_t)n);
	path[sizeof(path) - 1] = '\0';
	snprintf(journal, sizeof(journal),
		 "vfguard-journal 2\nbegin 1 apply\ndomain vm1 - 107 107 0 0 0 0\n"
		 "intent 1 1 dac group %s 243:0 0 uid=0%%20gid=0%%20mode=0600\ndone 1 1\ncommit 1\n",
		 path);
	test_write_file(root, JOURNAL, journal);
	ck_assert_int_eq(chmod(test_path(root, JOURNAL), 0600), 0);
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_STATE);
	test_run run;
	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 1, "revoke exited %d: %s%s", run.status, run.out, run.err);
	for (const char *const *needle = (const char *[]){"line 4: ", path, "longer than a node's path", NULL}; *needle;
	     needle++)
		ck_assert_msg(strstr(run.err, *needle), "'%s' not in: %s", *needle, run.err);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE, before, "the refused revoke");
	expect_owner(root, "/dev/vfio/7", 0, 0600);
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(a_node_with_set_id_bits_is_refused_by_apply_so_no_record_ever_holds_them)
{
	const char *root = test_root_new(host_two);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/7"), 02600), 0);
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_STATE);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--hostdev", "01:00.0", NULL});
	ck_assert_msg(run.status == 1, "apply exited %d: %s%s", run.status, run.out, run.err);
	ck_assert_msg(strstr(run.err, "/dev/vfio/7") && strstr(run.err, "mode 2600 has set-id or sticky bits"), "%s",
		      run.err);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE, before, "the refused apply");
	free(before);
	test_root_remove(root);
}
END_TEST

static Suite *journal_trust_suite(void)
{
	Suite *suite = suite_create("journal_trust");
	TCase *tc = tcase_create("damage");
	tcase_add_test(
		tc,
		a_nul_byte_inside_the_journal_is_refused_by_every_command_naming_file_and_offset_and_nothing_is_cut);
	tcase_add_test(tc, a_control_byte_inside_the_journal_is_refused_as_damage);
	tcase_add_test(tc, a_torn_last_line_holding_a_nul_byte_is_still_cut_and_revoke_restores);
	suite_add_tcase(suite, tc);
	tc = tcase_create("ownership");
	tcase_add_loop_test(tc, a_state_directory_others_could_write_is_refused_by_every_command_and_nothing_changes, 0,
			    sizeof(untrusted_cases) / sizeof(untrusted_cases[0]));
	tcase_add_test(tc, a_made_state_directory_is_root_s_alone);
	tcase_add_test(tc, a_journal_past_its_bound_is_refused_unread_naming_its_size);
	tcase_add_loop_test(tc, a_fifo_in_a_state_file_s_place_hangs_no_command, 0, 3);
	suite_add_tcase(suite, tc);
	tc = tcase_create("forged");
	tcase_add_test(tc, a_node_with_set_id_bits_is_refused_by_apply_so_no_record_ever_holds_them);
	tcase_add_test(tc, an_intent_naming_a_path_longer_than_a_node_s_is_refused_naming_it_whole_and_nothing_is_cut);
	tcase_add_loop_test(tc, a_forged_undo_record_is_refused_naming_it_and_the_node_is_left_alone, 0,
			    sizeof(forged_cases) / sizeof(forged_cases[0]));
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return test_main(journal_trust_suite());
}
