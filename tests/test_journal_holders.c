/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The holders index (docs/journal.md, "The holders index"): written after
 * every transaction, listing what each domain holds; never trusted once
 * anything could have changed behind it, and rebuilt then; and the shared
 * node's last holder found through it. On generated trees with the real DAC
 * labeler and real nodes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "testlib.h"

#define HOLDERS "/run/vfguard/holders"
/* The lock file's generation, seal and pending seal, before its list (core/journal.h, LOCK_FIXED). */
#define LOCK_FIXED (21 + 103 + 103)

/* The container, and two single-function groups on vfio-pci. */
static const char host_two[] = "misc vfio 10:196\n"
			       "group 7 243:0\n"
			       "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n"
			       "group 8 243:1\n"
			       "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n";

static void run_ok(const char *const *argv)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "vfguard %s: %s%s", argv[0], run.out, run.err);
	test_run_free(&run);
}

static void apply(const char *root, const char *domain, const char *uid, const char *hostdev)
{
	run_ok((const char *[]){"apply", "--root", root, "--domain", domain, "--uid", uid, "--gid", uid, "--hostdev",
				hostdev, NULL});
}

static void revoke_domain(const char *root, const char *domain)
{
	run_ok((const char *[]){"revoke", "--root", root, "--domain", domain, NULL});
}

static const char *host_new(void)
{
	const char *root = test_root_new(host_two);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	return root;
}

static void expect_listed(const char *root, const char *line, bool listed)
{
	char *holders = test_read_file(root, HOLDERS);
	ck_assert_ptr_nonnull(holders);
	ck_assert_msg((strstr(holders, line) != NULL) == listed, "'%s' %s the holders index:\n%s", line,
		      listed ? "not in" : "in", holders);
	free(holders);
}

/*
 * @content put in @logical's place as `cp -p` and then `mv` would: written
 * aside, root's and 0600, with the modification time of @as_was, renamed
 * in (another inode).
 */
static void put_back(const char *root, const char *logical, const char *content, const struct stat *as_was)
{
	char aside[4096], path[4096];
	snprintf(aside, sizeof(aside), "%s.aside", logical);
	test_write_file(root, aside, content);
	snprintf(path, sizeof(path), "%s", test_path(root, aside));
	ck_assert_int_eq(chmod(path, 0600), 0);
	const struct timespec times[2] = {as_was->st_atim, as_was->st_mtim};
	ck_assert_int_eq(utimensat(AT_FDCWD, path, times, 0), 0);
	char to[4096];
	snprintf(to, sizeof(to), "%s", test_path(root, logical));
	ck_assert_int_eq(rename(path, to), 0);
}

/* @logical's contents (free() them), its times and the rest in *@was: a copy as cp -p keeps it. */
static char *kept_copy(const char *root, const char *logical, struct stat *was)
{
	char *content = test_read_file(root, logical);
	ck_assert_ptr_nonnull(content);
	ck_assert_int_eq(lstat(test_path(root, logical), was), 0);
	return content;
}

START_TEST(an_apply_writes_the_index_with_the_domains_claims_and_shared_records)
{
	const char *root = host_new();
	apply(root, "vm1", "107", "01:00.0");
	struct stat st;
	ck_assert_int_eq(lstat(test_path(root, HOLDERS), &st), 0);
	ck_assert_msg(st.st_uid == 0 && (st.st_mode & 07777) == 0600, "holders is %u %04o", (unsigned)st.st_uid,
		      (unsigned)(st.st_mode & 07777));
	expect_listed(root, "vfguard-holders 3\nvalid ", true);
	expect_listed(root, "\ndomain vm1 107 ", true);
	expect_listed(root, "\nclaim 7 vm1 107\n", true);
	expect_listed(root, "/dev/vfio/7", false); /* an exclusive node's record is its own domain's business */
	expect_listed(root, "\nend\n", true);
	/* vm1's journal signed as docs/journal.md has it: what lstat gives, in fixed-width hexadecimal */
	ck_assert_int_eq(lstat(test_path(root, "/run/vfguard/domains/vm1.journal"), &st), 0);
	char line[256];
	snprintf(line, sizeof(line), "\ndomain vm1 107 %016llx:%016llx:%016llx:%016llx.%08lx:%016llx.%08lx\n",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
		 (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec,
		 (unsigned long long)st.st_ctim.tv_sec, (unsigned long)st.st_ctim.tv_nsec);
	expect_listed(root, line, true);
	test_root_remove(root);
}
END_TEST

/* What makes the index stale, done to it after vm1's apply. */
typedef struct stale_case {
	const char *what;
	void (*spoil)(const char *root);
} stale_case;

static void generation_changed(const char *root)
{
	/* Another generation in the lock: what a writer that died before rewriting the index leaves. */
	test_write_file(root, "/run/vfguard/lock", "00000000000000999999\n");
}

static void removed(const char *root)
{
	ck_assert_int_eq(unlink(test_path(root, HOLDERS)), 0);
}

static void cut_short(const char *root)
{
	char *holders = test_read_file(root, HOLDERS);
	holders[strlen(holders) - 5] = '\0'; /* without its end line */
	test_write_file(root, HOLDERS, holders);
	free(holders);
}

static void wrong_boot(const char *root)
{
	char *holders = test_read_file(root, HOLDERS);
	char *boot = strstr(holders, "\nvalid ") + 7;
	boot[0] = boot[0] == '0' ? '1' : '0'; /* a boot id of another boot */
	test_write_file(root, HOLDERS, holders);
	free(holders);
}

static void claim_hidden(const char *root)
{
	/* An index edited by hand to lie (vm1 holds group 9, not 7), its validity line kept: the generation, boot,
	 * domains/ and the journals all still vouch for it; only the signature of the file the last writer made,
	 * kept in the lock, tells it is not that file. */
	char *holders = test_read_file(root, HOLDERS);
	char *claim = strstr(holders, "\nclaim 7 ");
	claim[7] = '9';
	test_write_file(root, HOLDERS, holders);
	free(holders);
}

static void replaced(const char *root)
{
	/* The same bytes in another file put in its place (a copy, a restore from a backup): not the writer's file. */
	char *holders = test_read_file(root, HOLDERS);
	char *claim = strstr(holders, "\nclaim 7 ");
	claim[7] = '9';
	char copy[64];
	snprintf(copy, sizeof(copy), "%s.copy", HOLDERS);
	test_write_file(root, copy, holders);
	free(holders);
	char from[4096];
	snprintf(from, sizeof(from), "%s", test_path(root, copy));
	ck_assert_int_eq(rename(from, test_path(root, HOLDERS)), 0);
}

static void domain_unparsable(const char *root)
{
	/* vm1's line as the writer leaves it when it cannot put a name (put_field: " " and a newline, so the line does
	 * not parse): "domain \n 107 SIGNATURE". The generation, boot and journals still vouch for the file; the line
	 * that does not parse must make it doubted, or vm1's claim under it is lost. */
	char *holders = test_read_file(root, HOLDERS);
	char *line = strstr(holders, "\ndomain vm1 ");
	ck_assert_ptr_nonnull(line);
	memcpy(line + 8, "\n  ", 3); /* "vm1" becomes a newline and two spaces: "domain \n  107 ..." */
	test_write_file(root, HOLDERS, holders);
	free(holders);
}

static const stale_case stale_cases[] = {
	{"generation changed", generation_changed},
	{"removed", removed},
	{"cut short", cut_short},
	{"wrong boot id", wrong_boot},
	{"a claim hidden in place", claim_hidden},
	{"replaced by another file", replaced},
	{"a domain line that does not parse", domain_unparsable},
};

START_TEST(a_stale_index_is_not_trusted_and_is_rebuilt)
{
	const stale_case *c = &stale_cases[_i];
	const char *root = host_new();
	apply(root, "vm1", "107", "01:00.0");
	c->spoil(root);
	/* vm1's claim on group 7 must still be seen: from its journal, since the index is not trusted. */
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108",
					"--hostdev", "01:00.0", NULL});
	ck_assert_msg(run.status == 1 && strstr(run.err, "belongs to domain vm1"), "%s: %s%s", c->what, run.out,
		      run.err);
	test_run_free(&run);
	/* The refusal's hold found the index stale and wrote it afresh. */
	expect_listed(root, "\ndomain vm1 107 ", true);
	expect_listed(root, "\nclaim 7 vm1 107\n", true);
	expect_listed(root, "\nend\n", true);
	apply(root, "vm2", "108", "02:00.0");
	expect_listed(root, "\ndomain vm2 108 ", true);
	expect_listed(root, "\nclaim 8 vm2 108\n", true);
	test_root_remove(root);
}
END_TEST

/*
 * A writer killed between its index temporary's create and rename leaves
 * the temporary and a raised generation: the next writer finds the index
 * untrusted, rebuilds it, and takes the temporary away.
 */
START_TEST(the_rebuild_after_a_killed_writer_removes_its_temporary)
{
	const char *root = host_new();
	apply(root, "vm1", "107", "01:00.0");
	pid_t dead = fork();
	ck_assert_int_ge(dead, 0);
	if (dead == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
	char temporary[64];
	snprintf(temporary, sizeof(temporary), "/run/vfguard/.holders%s%d", VFG_FILE_TEMPORARY_INFIX, (int)dead);
	test_write_file(root, temporary, "vfguard-holders 3\n");
	generation_changed(root);
	apply(root, "vm2", "108", "02:00.0");
	struct stat st;
	ck_assert_msg(lstat(test_path(root, temporary), &st) < 0 && errno == ENOENT, "%s stayed", temporary);
	expect_listed(root, "\ndomain vm2 108 ", true);
	test_root_remove(root);
}
END_TEST

START_TEST(a_revoke_beside_another_holder_keeps_the_shared_grant_and_the_last_one_restores_it)
{
	const char *root = host_new();
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME);
	apply(root, "vm1", "107", "01:00.0");
	char *one = test_snapshot(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME);
	apply(root, "vm2", "107", "02:00.0");
	/* vm2's revoke asks who else holds the container: vm1, from the index alone. */
	revoke_domain(root, "vm2");
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME, one,
			     "after vm2's revoke, vm1 still holding the container");
	expect_listed(root, "\ndomain vm2 ", false);
	expect_listed(root, "\ndomain vm1 107 ", true);
	revoke_domain(root, "vm1");
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME, before,
			     "after the last holder's revoke");
	expect_listed(root, "\ndomain ", false);
	free(before);
	free(one);
	test_root_remove(root);
}
END_TEST

/* @argv must fail, its error naming @expected. */
static void run_refused(const char *const *argv, const char *expected)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 1 && strstr(run.err, expected), "vfguard %s: exit %d: %s%s", argv[0], run.status,
		      run.out, run.err);
	test_run_free(&run);
}

/*
 * vm1's journal moved aside (as a damaged one's refusal once advised) or
 * cut by hand, its grants live: every command read the host as if vm1
 * held nothing or less, and vm2 then journaled vm1's grant as the original,
 * which outlived both revokes (a trial). The index the last command wrote
 * still lists the file and its size, and no command has changed a journal
 * since: refused, naming it, until it is put back.
 */
START_TEST(a_journal_removed_or_cut_behind_vfguards_back_is_refused)
{
	const char *root = host_new();
	apply(root, "vm1", "107", "01:00.0");
	struct stat as_was;
	char *journal = kept_copy(root, "/run/vfguard/domains/vm1.journal", &as_was);
	/*
	 * Moved aside out of domains/ (its inode kept: ext4 gives a freed inode
	 * number again, and a copy put back under the old number reads as the
	 * file edited in place, which only a cut refuses).
	 */
	char from[4096], aside[4096];
	snprintf(from, sizeof(from), "%s", test_path(root, "/run/vfguard/domains/vm1.journal"));
	snprintf(aside, sizeof(aside), "%s", test_path(root, "/run/vfguard/vm1.journal.moved"));
	ck_assert_int_eq(rename(from, aside), 0);
	const char *gone = "vm1.journal: domain vm1's journal is gone, but the holders index the last vfguard command "
			   "wrote lists it";
	run_refused((const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108",
				     "--hostdev", "02:00.0", NULL},
		    gone);
	run_refused((const char *[]){"status", "--root", root, NULL}, gone);
	run_refused((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL}, gone);
	ck_assert_int_eq(test_journal_files(root), 0);

	/*
	 * put back with its contents and another time (cat > FILE a second
	 * later: the time is set, as a file written within the same clock tick
	 * has the same one): another file, refused as such
	 */
	struct stat later = as_was;
	later.st_mtim.tv_sec += 1;
	put_back(root, "/run/vfguard/domains/vm1.journal", journal, &later);
	run_refused((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL},
		    "domain vm1's journal is another file than the one the last vfguard command left");
	/* put back as it was (cp -p, mv): the revoke takes vm1's grant back */
	put_back(root, "/run/vfguard/domains/vm1.journal", journal, &as_was);
	revoke_domain(root, "vm1");

	/* cut in place (the same file, shorter) */
	apply(root, "vm1", "107", "01:00.0");
	free(journal);
	journal = test_read_file(root, "/run/vfguard/domains/vm1.journal");
	ck_assert_int_eq(truncate(test_path(root, "/run/vfguard/domains/vm1.journal"), 60), 0);
	run_refused((const char *[]){"restore", "--root", root, NULL},
		    "domain vm1's journal is 60 bytes, shorter than");
	free(journal);
	test_root_remove(root);
}
END_TEST

/*
 * The index answers from the journals it lists, each one checked when it
 * answers, not all of them by every command (docs/journal.md, "The holders
 * index"): a journal cut in place stops its own domain's commands, every
 * command that needs something it holds, and the commands of every domain;
 * a grant that needs nothing of it goes on.
 */
START_TEST(a_cut_journal_stops_the_commands_that_read_it_and_no_other)
{
	const char *root = host_new(); /* the container is 0666: vm2's grant needs nothing of vm1 */
	apply(root, "vm1", "107", "01:00.0");
	ck_assert_int_eq(truncate(test_path(root, "/run/vfguard/domains/vm1.journal"), 60), 0);
	const char *cut = "domain vm1's journal is 60 bytes, shorter than";
	apply(root, "vm2", "108", "02:00.0");
	/* asks who claims group 7: vm1, whose journal is then read */
	run_refused((const char *[]){"apply", "--root", root, "--domain", "vm3", "--uid", "109", "--gid", "109",
				     "--hostdev", "01:00.0", NULL},
		    cut);
	run_refused((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL}, cut);
	run_refused((const char *[]){"status", "--root", root, NULL}, cut);
	revoke_domain(root, "vm2");
	test_root_remove(root);
}
END_TEST

/*
 * A grant that shares a node with a domain whose journal was cut asks who
 * else holds it while it grants, after its intents are journaled: the cut
 * is refused there too, before the shorter journal could be read as a
 * domain that never held the node (the grant would then journal vm1's
 * grant as the original), and what the grant had done is undone.
 */
START_TEST(a_grant_beside_a_cut_holder_of_its_shared_node_is_refused_and_undone)
{
	const char *root = host_new();
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/vfio"), 0600), 0); /* each domain's uid needs its entry */
	apply(root, "vm1", "107", "01:00.0");
	expect_listed(root, "\nrecord dac /dev/vfio/vfio 10:196 vm1 107\n", true);
	ck_assert_int_eq(truncate(test_path(root, "/run/vfguard/domains/vm1.journal"), 60), 0);
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME);
	run_refused((const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108",
				     "--hostdev", "02:00.0", NULL},
		    "domain vm1's journal is 60 bytes, shorter than");
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME, before,
			     "after vm2's refused grant");
	free(before);
	test_root_remove(root);
}
END_TEST

/* The whole tree: nodes, their owners and times, and every state file's bytes. */
static char *everything(const char *root)
{
	return test_snapshot(root, 0);
}

/*
 * A grant refused in its middle (it asked about vm1's cut journal after its
 * intents were journaled, and was undone), a grant killed after its first
 * journal write, a grant whose index write failed: each left the index of
 * an older generation, which answers nothing. The check of the journals it
 * lists must still find vm1's cut (the lock file names the journals written
 * since it was sealed, and the sealed file stays), or the next command
 * takes the shorter journal for the whole (a trial: a restore then undid
 * what it still said and left the rest granted with no record).
 */
static const char *const fault_settings[] = {
	NULL, /* the grant beside vm1 refused in its middle */
	NULL, /* killed at its first journal point (test_cli_killed_at) */
	"VFGUARD_FAULT=holders.rename:1:28",
	"VFGUARD_FAULT=lock.pending:1:28",
	/* renamed in, and then its seal not written, or the list of the journals written before it not emptied */
	"VFGUARD_FAULT=lock.holders:1:28",
	"VFGUARD_FAULT=lock.list:1:28",
};

START_TEST(a_cut_journal_stays_refused_after_a_command_that_wrote_a_journal_failed_or_died)
{
	const char *root = host_new();
	const char *cut = "domain vm1's journal is 60 bytes, shorter than";
	if (_i == 0)
		ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/vfio"), 0600), 0); /* vm2's grant asks about vm1 */
	apply(root, "vm1", "107", "01:00.0");
	ck_assert_int_eq(truncate(test_path(root, "/run/vfguard/domains/vm1.journal"), 60), 0);
	const char *const vm2[] = {"apply", "--root", root,  "--domain",  "vm2",     "--uid",
				   "108",   "--gid",  "108", "--hostdev", "02:00.0", NULL};
	if (_i == 0) {
		run_refused(vm2, cut);
	} else if (_i == 1) {
		int status = test_cli_killed_at(1, vm2);
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "vm2's apply was not killed: %d",
			      status);
	} else {
		char setting[64];
		snprintf(setting, sizeof(setting), "%s", fault_settings[_i]);
		char *equals = strchr(setting, '=');
		*equals = '\0';
		ck_assert_int_eq(setenv(setting, equals + 1, 1), 0);
		test_run run;
		test_cli(&run, vm2);
		unsetenv(setting);
		test_run_free(&run);
	}
	run_refused((const char *[]){"status", "--root", root, NULL}, cut);
	run_refused((const char *[]){"restore", "--root", root, NULL}, cut);
	run_refused((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL}, cut);
	test_root_remove(root);
}
END_TEST

/*
 * A revoke asks who else holds its shared nodes while it undoes them: a
 * holder's journal cut or damaged was found there, after the revoke had
 * already given back its exclusive nodes, and the revoke stopped half way,
 * saying nothing was changed (a trial). The holders it will ask about are
 * looked at when its lock is taken: refused then, and nothing changes.
 */
static void cut_vm1(const char *root)
{
	ck_assert_int_eq(truncate(test_path(root, "/run/vfguard/domains/vm1.journal"), 60), 0);
}

static void damage_vm1(const char *root)
{
	char *journal = test_read_file(root, "/run/vfguard/domains/vm1.journal");
	ck_assert_ptr_nonnull(journal);
	char *intent = strstr(journal, "intent ");
	ck_assert_ptr_nonnull(intent);
	intent[3] = '\0';
	FILE *f = fopen(test_path(root, "/run/vfguard/domains/vm1.journal"), "r+");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, intent - journal, SEEK_SET), 0);
	ck_assert_int_eq(fwrite(intent, 1, 4, f), 4);
	fclose(f);
	free(journal);
}

static const struct {
	void (*spoil)(const char *root);
	const char *expect;
} revoke_cases[] = {
	{cut_vm1, "domain vm1's journal is 60 bytes, shorter than"},
	{damage_vm1, "a NUL byte at byte offset"},
};

START_TEST(a_revoke_beside_a_cut_or_damaged_holder_is_refused_before_it_changes_anything)
{
	const char *root = host_new();
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/vfio"), 0600), 0); /* both hold a record of it */
	apply(root, "vm1", "107", "01:00.0");
	apply(root, "vm2", "108", "02:00.0");
	revoke_cases[_i].spoil(root);
	char *before = everything(root);
	run_refused((const char *[]){"revoke", "--root", root, "--domain", "vm2", NULL}, revoke_cases[_i].expect);
	test_snapshot_expect(root, 0, before, "after vm2's refused revoke");
	free(before);
	test_root_remove(root);
}
END_TEST

/*
 * An older copy of a journal renamed into its place (a backup put back):
 * another inode of another length, which no vfguard command wrote. Its
 * domain's later grant is in no journal then, and would stay with nothing
 * to undo it (a trial: revoke left /dev/vfio/8 granted, and another domain
 * was let claim it). Refused, naming it; the journal the last command left,
 * put back, is taken.
 */
START_TEST(an_older_copy_of_a_journal_put_in_its_place_is_refused)
{
	const char *root = host_new();
	const char *journal = "/run/vfguard/domains/vm1.journal";
	apply(root, "vm1", "107", "01:00.0");
	struct stat older_was, last_was;
	char *older = kept_copy(root, journal, &older_was);
	run_ok((const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107", "--hostdev",
				"01:00.0", "--hostdev", "02:00.0", NULL});
	char *last = kept_copy(root, journal, &last_was);
	/* the older copy, kept with cp -p and renamed in (what mv of a backup does) */
	put_back(root, journal, older, &older_was);
	const char *replaced = "domain vm1's journal is another file than the one the last vfguard command left";
	run_refused((const char *[]){"status", "--root", root, NULL}, replaced);
	run_refused((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL}, replaced);
	run_refused((const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108",
				     "--hostdev", "02:00.0", NULL},
		    replaced);
	/* the last one put back the same way: taken, and the revoke gives back both groups */
	put_back(root, journal, last, &last_was);
	revoke_domain(root, "vm1");
	struct stat st;
	ck_assert_int_eq(lstat(test_path(root, "/dev/vfio/8"), &st), 0);
	ck_assert_int_eq(st.st_uid, 0);
	free(older);
	free(last);
	test_root_remove(root);
}
END_TEST

/*
 * An older copy of the same length (one hostdev each time), kept with its
 * time (cp -p) and renamed in: its modification time is not the one the
 * last command left. Refused (a trial: the revoke undid the old group and
 * left the new one granted).
 */
START_TEST(an_older_copy_of_the_same_length_is_refused_by_its_time)
{
	const char *root = host_new();
	const char *journal = "/run/vfguard/domains/vm1.journal";
	apply(root, "vm1", "107", "01:00.0");
	struct stat older_was, now;
	char *older = kept_copy(root, journal, &older_was);
	revoke_domain(root, "vm1");
	apply(root, "vm1", "107", "02:00.0");
	ck_assert_int_eq(lstat(test_path(root, journal), &now), 0);
	ck_assert_int_eq(now.st_size, older_was.st_size); /* the case: only the time tells them apart */
	put_back(root, journal, older, &older_was);
	run_refused((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL},
		    "domain vm1's journal is another file than the one the last vfguard command left");
	free(older);
	test_root_remove(root);
}
END_TEST

/*
 * A vfguard from before the lock file listed the journals written (0.7.0 as
 * first released) raised the generation and removed a journal, then died
 * before it wrote the index: nothing names what it changed, so the check
 * stands aside, as that vfguard's own did, and nothing is refused for it.
 */
START_TEST(a_generation_raised_by_a_vfguard_that_names_no_journal_passes_over_the_check)
{
	const char *root = host_new();
	apply(root, "vm1", "107", "01:00.0");
	/* the generation raised in place, as that vfguard did it, the seals and the (empty) list kept */
	int fd = open(test_path(root, "/run/vfguard/lock"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	char generation[22] = {0};
	ck_assert_int_eq(pread(fd, generation, 21, 0), 21);
	char raised[32];
	snprintf(raised, sizeof(raised), "%020llu\n", strtoull(generation, NULL, 10) + 1);
	ck_assert_int_eq(pwrite(fd, raised, 21, 0), 21);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, LOCK_FIXED); /* no journal named since the seal */
	close(fd);
	ck_assert_int_eq(unlink(test_path(root, "/run/vfguard/domains/vm1.journal")), 0);
	run_ok((const char *[]){"status", "--root", root, NULL});
	/* Anything in the list keeps the check: bytes that are no line (a hand edit of the lock) */
	apply(root, "vm2", "108", "02:00.0");
	fd = open(test_path(root, "/run/vfguard/lock"), O_RDWR | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "garbage", 7), 7);
	ck_assert_int_eq(pread(fd, generation, 21, 0), 21);
	snprintf(raised, sizeof(raised), "%020llu\n", strtoull(generation, NULL, 10) + 1);
	ck_assert_int_eq(pwrite(fd, raised, 21, 0), 21);
	close(fd);
	ck_assert_int_eq(truncate(test_path(root, "/run/vfguard/domains/vm2.journal"), 60), 0);
	run_refused((const char *[]){"status", "--root", root, NULL}, "domain vm2's journal is 60 bytes, shorter than");
	test_root_remove(root);
}
END_TEST

/* @argv run with VFGUARD_FAULT=@fault; it must exit 0 (the index is written at best effort). */
static void run_ok_faulted(const char *fault, const char *const *argv)
{
	ck_assert_int_eq(setenv("VFGUARD_FAULT", fault, 1), 0);
	run_ok(argv);
	unsetenv("VFGUARD_FAULT");
}

/*
 * A writer killed between its rename and its seal leaves its file sealed by
 * the pending slot alone; the next writer's pending signature must not
 * leave it sealed by neither (a trial: two such writers in a row, and the
 * check passed every cut journal). And a first writer of a fresh state
 * directory (no seal ever), killed at its seal.
 */
START_TEST(a_cut_journal_stays_refused_after_writers_that_died_at_the_index)
{
	const char *root = host_new();
	const char *cut = "domain vm1's journal is 60 bytes, shorter than";
	const char *const vm1[] = {"apply", "--root", root,  "--domain",  "vm1",     "--uid",
				   "107",   "--gid",  "107", "--hostdev", "01:00.0", NULL};
	if (_i == 0) {
		run_ok(vm1);
		run_ok_faulted("lock.holders:1:28",
			       (const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid",
						"108", "--hostdev", "02:00.0", NULL});
		run_ok_faulted("holders.rename:1:28",
			       (const char *[]){"revoke", "--root", root, "--domain", "vm2", NULL});
	} else {
		run_ok_faulted("lock.holders:1:28", vm1); /* the first command of the state directory */
	}
	ck_assert_int_eq(truncate(test_path(root, "/run/vfguard/domains/vm1.journal"), 60), 0);
	run_refused((const char *[]){"status", "--root", root, NULL}, cut);
	run_refused((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL}, cut);
	test_root_remove(root);
}
END_TEST

/*
 * The index edited in place by hand, its length and times put back (touch
 * -r): the seal (its change time) refuses it, and the pending slot, which
 * names the same file but for that time, is emptied at the seal (a trial:
 * vm2 was let take vm1's group).
 */
START_TEST(an_index_edited_in_place_with_its_times_put_back_is_not_trusted)
{
	const char *root = host_new();
	apply(root, "vm1", "107", "01:00.0");
	struct stat was;
	ck_assert_int_eq(lstat(test_path(root, HOLDERS), &was), 0);
	int fd = open(test_path(root, HOLDERS), O_RDWR);
	ck_assert_int_ge(fd, 0);
	char *holders = test_read_file(root, HOLDERS);
	char *claim = strstr(holders, "\nclaim 7 vm1 ");
	ck_assert_ptr_nonnull(claim);
	ck_assert_int_eq(pwrite(fd, "9", 1, claim + 7 - holders), 1); /* "claim 9 vm1": group 7 nobody's */
	close(fd);
	const struct timespec times[2] = {was.st_atim, was.st_mtim};
	ck_assert_int_eq(utimensat(AT_FDCWD, test_path(root, HOLDERS), times, 0), 0);
	run_refused((const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108",
				     "--hostdev", "01:00.0", NULL},
		    "belongs to domain vm1");
	free(holders);
	test_root_remove(root);
}
END_TEST

/* Eight single-function groups, the container 0600 so that every domain holds a record of it. */
static const char *host_eight(void)
{
	char manifest[2048];
	size_t used = (size_t)snprintf(manifest, sizeof(manifest), "misc vfio 10:196\n");
	for (int i = 0; i < 8; i++)
		used += (size_t)snprintf(manifest + used, sizeof(manifest) - used,
					 "group %d 243:%d\ndevice 0000:%02x:00.0 group=%d vendor=8086 device=10d3 "
					 "class=020000 driver=vfio-pci\n",
					 10 + i, i, 0x10 + i, 10 + i);
	const char *root = test_root_new(manifest);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/vfio"), 0600), 0);
	return root;
}

/* The index a command of one domain left is the one rebuilt from every journal, byte for byte. */
static void expect_index_as_rebuilt(const char *root, const char *after)
{
	char *left = test_read_file(root, HOLDERS);
	ck_assert_ptr_nonnull(left);
	ck_assert_int_eq(unlink(test_path(root, HOLDERS)), 0);
	run_ok((const char *[]){"restore", "--root", root, NULL}); /* changes nothing, and writes the file anew */
	char *rebuilt = test_read_file(root, HOLDERS);
	ck_assert_ptr_nonnull(rebuilt);
	ck_assert_msg(strcmp(left, rebuilt) == 0, "after %s, the index left:\n%s\nrebuilt from the journals:\n%s",
		      after, left, rebuilt);
	free(left);
	free(rebuilt);
}

/*
 * A grant or revoke that used the index rewrites it by taking its own
 * domain's lines out and putting its new ones in where they sort, copying
 * the others' as they are: what it leaves must be what a rebuild from every
 * journal makes. Names that start one another, sort between each other's
 * lines or hold an escape, uids shared and not, revoked out of order.
 */
START_TEST(the_index_a_grant_or_revoke_leaves_is_the_one_rebuilt_from_the_journals)
{
	const char *root = host_eight();
	const char *const names[] = {"vm1", "vm10", "vm1-a", "Windows 11", "a", "vm", "z z", "vm1.b"};
	const char *const uids[] = {"107", "108", "107", "109", "107", "110", "108", "111"};
	for (int i = 0; i < 8; i++) {
		char hostdev[16];
		snprintf(hostdev, sizeof(hostdev), "%02x:00.0", 0x10 + i);
		apply(root, names[i], uids[i], hostdev);
		expect_index_as_rebuilt(root, names[i]);
	}
	expect_listed(root, "\nclaim 13 Windows%2011 109\n", true);
	expect_listed(root, "\nrecord dac /dev/vfio/vfio 10:196 z%20z 108\n", true);
	const int order[] = {2, 0, 7, 3, 5, 1, 6, 4};
	for (int i = 0; i < 8; i++) {
		revoke_domain(root, names[order[i]]);
		expect_index_as_rebuilt(root, names[order[i]]);
	}
	expect_listed(root, "\ndomain ", false);
	test_root_remove(root);
}
END_TEST

static Suite *journal_holders_suite(void)
{
	Suite *suite = suite_create("journal_holders");
	TCase *tc = tcase_create("index");
	tcase_add_test(tc, an_apply_writes_the_index_with_the_domains_claims_and_shared_records);
	tcase_add_loop_test(tc, a_stale_index_is_not_trusted_and_is_rebuilt, 0,
			    sizeof(stale_cases) / sizeof(stale_cases[0]));
	tcase_add_test(tc, the_rebuild_after_a_killed_writer_removes_its_temporary);
	tcase_add_test(tc, a_revoke_beside_another_holder_keeps_the_shared_grant_and_the_last_one_restores_it);
	tcase_add_test(tc, a_journal_removed_or_cut_behind_vfguards_back_is_refused);
	tcase_add_test(tc, a_cut_journal_stops_the_commands_that_read_it_and_no_other);
	tcase_add_test(tc, the_index_a_grant_or_revoke_leaves_is_the_one_rebuilt_from_the_journals);
	tcase_add_test(tc, an_older_copy_of_a_journal_put_in_its_place_is_refused);
	tcase_add_loop_test(tc, a_cut_journal_stays_refused_after_writers_that_died_at_the_index, 0, 2);
	tcase_add_test(tc, an_index_edited_in_place_with_its_times_put_back_is_not_trusted);
	tcase_add_test(tc, an_older_copy_of_the_same_length_is_refused_by_its_time);
	tcase_add_test(tc, a_generation_raised_by_a_vfguard_that_names_no_journal_passes_over_the_check);
	tcase_add_loop_test(tc, a_cut_journal_stays_refused_after_a_command_that_wrote_a_journal_failed_or_died, 0,
			    sizeof(fault_settings) / sizeof(fault_settings[0]));
	tcase_add_loop_test(tc, a_revoke_beside_a_cut_or_damaged_holder_is_refused_before_it_changes_anything, 0,
			    sizeof(revoke_cases) / sizeof(revoke_cases[0]));
	tcase_add_test(tc, a_grant_beside_a_cut_holder_of_its_shared_node_is_refused_and_undone);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return test_main(journal_holders_suite());
}
