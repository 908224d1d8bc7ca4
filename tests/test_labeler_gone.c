/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A domain holding grants of a labeler this host can no longer load: its
 * module removed from the plugin directory, its name out of 'labelers'.
 * The revoke that cannot undo them names them and the two ways out; revoke
 * --forget drops them undone, printing each one's undo, and revokes the
 * rest; and the domain's stuck transaction does not stop another domain's
 * apply. On generated trees with real nodes: the real DAC labeler (real
 * chown) and the test-only testmark labeler (a real trusted.* xattr), both
 * copied into a plugin directory of the tree, so that testmark's module can
 * be removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "json_testlib.h"
#include "testlib.h"

#define MARK_XATTR "trusted.vfguard-testmark"

static const char host[] = TEST_HOST_THREE_LEGACY;

/* labelers = @labelers, from ROOT/plugins. */
static void use_labelers(const char *root, const char *labelers)
{
	char config[4096];
	snprintf(config, sizeof(config), "labelers = %s\nplugin_dir = %s\n", labelers, test_path(root, "/plugins"));
	test_write_file(root, "/etc/vfguard/vfguard.conf", config);
}

/* A tree with dac and testmark in its plugin directory, both configured. */
static const char *host_new(void)
{
	const char *root = test_root_new(host);
	ck_assert_int_eq(mkdir(test_path(root, "/plugins"), 0755), 0);
	test_install_module(root, getenv("VFGUARD_BUILT_PLUGIN_DIR"), "dac");
	test_install_module(root, getenv("VFGUARD_TEST_PLUGIN_DIR"), "testmark");
	use_labelers(root, "dac testmark");
	return root;
}

/* testmark's module removed and its name taken out of labelers, as an administrator uninstalling it would. */
static void remove_testmark(const char *root)
{
	char module[4096];
	snprintf(module, sizeof(module), "%s/vfguard-testmark.so", test_path(root, "/plugins"));
	ck_assert_int_eq(unlink(module), 0);
	use_labelers(root, "dac");
}

static void cli_expect(const char *const *argv, int status, const char *expect)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == status && (!expect || strstr(run.err, expect) || strstr(run.out, expect)),
		      "vfguard %s: exit %d, expected %d and '%s': %s%s", argv[0], run.status, status,
		      expect ? expect : "", run.out, run.err);
	test_run_free(&run);
}

static void apply(const char *root, const char *name, const char *hostdev)
{
	cli_expect((const char *[]){"apply", "--root", root, "--domain", name, "--uid", "107", "--gid", "107",
				    "--hostdev", hostdev, NULL},
		   0, NULL);
}

static unsigned owner(const char *root, const char *logical)
{
	struct stat st;
	ck_assert_int_eq(stat(test_path(root, logical), &st), 0);
	return (unsigned)st.st_uid;
}

static bool marked(const char *root, const char *logical)
{
	char value[64];
	return getxattr(test_path(root, logical), MARK_XATTR, value, sizeof(value)) > 0;
}

/* vm1 (group 7) applied with dac and testmark, then testmark removed from the host. */
static const char *vm1_with_testmark_gone(void)
{
	const char *root = host_new();
	apply(root, "vm1", "01:00.0");
	ck_assert(owner(root, "/dev/vfio/7") == 107 && marked(root, "/dev/vfio/7"));
	remove_testmark(root);
	return root;
}

/* vm1's revoke, which cannot undo testmark's grants: it fails naming them, undoes the rest, and stays open. */
static void revoke_vm1_fails(const char *root)
{
	test_run run;
	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 1, "exit %d: %s", run.status, run.err);
	const char *const parts[] = {
		"domain vm1 holds 2 grants of labeler testmark (",
		"/dev/vfio/7",
		"/dev/vfio/vfio",
		"which is not loaded here (its module is missing)",
		"either load it (put its module ",
		"vfguard-testmark.so back) and run this again",
		"or drop them from the journal without undoing them: vfguard revoke --domain vm1 --forget testmark",
	};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		ck_assert_msg(strstr(run.err, parts[i]), "'%s' lacks '%s'", run.err, parts[i]);
	ck_assert_msg(!strstr(run.err, "vfguard restore"), "restore cannot finish it as it is: %s", run.err);
	test_run_free(&run);
	ck_assert_uint_eq(owner(root, "/dev/vfio/7"), 0); /* DAC's grant undone all the same */
	ck_assert(marked(root, "/dev/vfio/7"));
}

START_TEST(a_revoke_that_cannot_load_a_labeler_names_its_grants_and_both_ways_out)
{
	const char *root = vm1_with_testmark_gone();
	revoke_vm1_fails(root);
	/* status says what finishes it */
	test_run run;
	test_cli(&run, (const char *[]){"status", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "holds grants of labeler testmark, which is not loaded: load "
							 "it and run vfguard restore, or vfguard revoke --domain vm1 "
							 "--forget testmark drops them undone"),
		      "%s%s", run.out, run.err);
	test_run_free(&run);
	/* restore fails the same way, naming them too */
	cli_expect((const char *[]){"restore", "--root", root, NULL}, 1, "--forget testmark");
	/* the way out it names */
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "testmark", NULL}, 0,
		   NULL);
	test_root_remove(root);
}
END_TEST

START_TEST(revoke_forget_drops_the_labeler_s_grants_undone_prints_each_undo_and_revokes_the_rest)
{
	const char *root = vm1_with_testmark_gone();
	revoke_vm1_fails(root); /* its revoke left open: --forget finishes it */
	test_run run;
	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "testmark", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s%s", run.status, run.out, run.err);
	ck_assert_msg(strstr(run.out, "forgotten: labeler testmark's grant on /dev/vfio/7, NOT undone; what it would "
				      "have put back (undo it by hand): absent\n") &&
			      strstr(run.out, "forgotten: labeler testmark's grant on /dev/vfio/vfio, NOT undone"),
		      "%s", run.out);
	test_run_free(&run);
	/* dropped, not undone: the marks stay for the administrator */
	ck_assert(marked(root, "/dev/vfio/7") && marked(root, "/dev/vfio/vfio"));
	ck_assert_uint_eq(owner(root, "/dev/vfio/7"), 0);
	ck_assert_int_eq(test_journal_files(root), 0);
	/* status and restore agree: nothing held, nothing open */
	test_cli(&run, (const char *[]){"status", "--root", root, NULL});
	ck_assert_msg(run.status == 0 && !strstr(run.out, "vm1"), "%s%s", run.out, run.err);
	test_run_free(&run);
	cli_expect((const char *[]){"restore", "--root", root, NULL}, 0, "0 changes undone");
	test_root_remove(root);
}
END_TEST

/*
 * A grant another domain holds on the same node too (testmark's mark on the
 * shared container, held by vm2): the line says not to undo it by hand
 * while they hold it, since that could take theirs (a trial undid the
 * container's ACL by hand and took another domain's entry).
 */
START_TEST(revoke_forget_says_which_grants_other_domains_hold_too)
{
	const char *root = host_new();
	apply(root, "vm1", "01:00.0");
	apply(root, "vm2", "02:00.0");
	remove_testmark(root);
	test_run run;
	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "testmark", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s%s", run.status, run.out, run.err);
	ck_assert_msg(strstr(run.out, "forgotten: labeler testmark's grant on /dev/vfio/vfio, NOT undone; 1 other "
				      "domain holds a grant of testmark on it too: do not undo it by hand while they "
				      "do") &&
			      strstr(run.out, "forgotten: labeler testmark's grant on /dev/vfio/7, NOT undone; what it "
					      "would have put back (undo it by hand): absent\n"),
		      "%s", run.out);
	test_run_free(&run);
	/* an empty name is a usage error, not a labeler the domain does not hold (a trial) */
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm2", "--forget", "", NULL}, 2,
		   "--forget needs a labeler's name");
	test_root_remove(root);
}
END_TEST

START_TEST(revoke_forget_with_json_lists_each_dropped_grant_with_its_undo)
{
	const char *root = vm1_with_testmark_gone();
	test_run run;
	test_cli(&run,
		 (const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "testmark", "--json", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s%s", run.status, run.out, run.err);
	json_object *top = test_json_parse(run.out);
	ck_assert_str_eq(test_json_string(top, "command"), "revoke");
	ck_assert_int_eq(test_json_int(top, "changed"), 1); /* DAC's grant of the group node undone */
	size_t n;
	json_object *forgotten = test_json_array(top, "forgotten", &n);
	ck_assert_uint_eq(n, 2);
	bool group = false, container = false;
	for (size_t i = 0; i < n; i++) {
		json_object *one = json_object_array_get_idx(forgotten, i);
		ck_assert_str_eq(test_json_string(one, "labeler"), "testmark");
		ck_assert_str_eq(test_json_string(one, "undo"), "absent");
		ck_assert_int_eq(test_json_int(one, "others"), 0);
		group = group || strcmp(test_json_string(one, "node"), "/dev/vfio/7") == 0;
		container = container || strcmp(test_json_string(one, "node"), "/dev/vfio/vfio") == 0;
	}
	ck_assert(group && container);
	json_object_put(top);
	test_run_free(&run);
	ck_assert_int_eq(test_journal_files(root), 0);
	test_root_remove(root);
}
END_TEST

/*
 * vm1's revoke stuck on testmark's grants stopped every other domain's
 * apply and revoke, though none of them could finish it: another domain's
 * transaction that cannot be finished for want of a labeler stays open,
 * noted, and what it holds stays held (its group is still vm1's). vm1's
 * own commands still fail until it is finished.
 */
START_TEST(a_domain_stuck_on_a_labeler_not_loaded_does_not_stop_another_domain)
{
	const char *root = vm1_with_testmark_gone();
	revoke_vm1_fails(root);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108",
					"--hostdev", "02:00.0", NULL});
	const char *note = "domain vm1: the revoke a failed or crashed run left open stays open, holding grants of "
			   "labeler testmark, which is not loaded (load it, or vfguard revoke --domain vm1 --forget "
			   "testmark)\n";
	const char *first = strstr(run.out, note);
	ck_assert_msg(run.status == 0 && first, "exit %d: %s%s", run.status, run.out, run.err);
	/* said once, though the apply finishes what is open twice (a trial saw it twice) */
	ck_assert_msg(!strstr(first + 1, note), "said twice: %s", run.out);
	test_run_free(&run);
	/* audit's fix is one that can finish it, not a bare restore (a trial) */
	test_cli(&run, (const char *[]){"audit", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(strstr(run.out, "fix:      load labeler testmark and run vfguard restore, or vfguard revoke "
				      "--domain vm1 --forget testmark"),
		      "%s%s", run.out, run.err);
	test_run_free(&run);
	ck_assert_uint_eq(owner(root, "/dev/vfio/8"), 108);
	/* vm1 still holds its group, and its own apply is still refused until it is finished */
	cli_expect((const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid", "108",
				    "--hostdev", "01:00.0", NULL},
		   1, "belongs to domain vm1");
	cli_expect((const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107",
				    "--hostdev", "01:00.0", NULL},
		   1, "--forget testmark");
	test_cli(&run, (const char *[]){"status", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(strstr(run.out, "UNFINISHED"), "%s%s", run.out, run.err);
	test_run_free(&run);
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm2", NULL}, 0, "stays open");
	ck_assert_uint_eq(owner(root, "/dev/vfio/8"), 0);
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "testmark", NULL}, 0,
		   NULL);
	ck_assert_int_eq(test_journal_files(root), 0);
	test_root_remove(root);
}
END_TEST

/*
 * Not an apply that released an earlier claim (an access switch, adding a
 * hostdev that testmark grants, killed before its forward line): its
 * rollback would claim the group again, and left open it reads as free, so
 * it still stops another domain's apply.
 */
START_TEST(a_stuck_switch_that_released_a_claim_still_stops_another_domain)
{
	bool found = false;
	for (unsigned point = 1; !found; point++) {
		const char *root = host_new();
		apply(root, "vm1", "01:00.0");
		int status = test_cli_killed_at(
			point, (const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid",
						"107", "--hostdev", "01:00.0,access=fd", "--hostdev", "02:00.0", NULL});
		ck_assert_msg(!WIFEXITED(status), "the switch ran to its end before a point left a release open");
		char *journal = test_read_file(root, "/run/vfguard/domains/vm1.journal");
		found = journal && strstr(journal, "\nrelease ") && strstr(journal, " testmark group /dev/vfio/8 ") &&
			!strstr(journal, "\nforward ");
		free(journal);
		if (found) {
			remove_testmark(root);
			cli_expect((const char *[]){"apply", "--root", root, "--domain", "vm2", "--uid", "108", "--gid",
						    "108", "--hostdev", "03:00.0", NULL},
				   1, "finishing the apply of domain vm1 that a crashed or failed run left open");
			ck_assert_uint_eq(owner(root, "/dev/vfio/9"), 0);
		}
		test_root_remove(root);
	}
}
END_TEST

/*
 * The switch refused for want of a labeler (test_audit) is refused before
 * prepare claims and detaches the managed function the same apply adds: a
 * refusal after it left that function claimed by the domain.
 */
START_TEST(a_switch_refused_for_want_of_a_labeler_detaches_nothing_first)
{
	const char *root =
		test_root_new("misc vfio 10:196\n"
			      "driver vfio-pci\n"
			      "group 7 243:0\n"
			      "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n"
			      "group 8 243:1\n"
			      "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n");
	ck_assert_int_eq(mkdir(test_path(root, "/plugins"), 0755), 0);
	test_install_module(root, getenv("VFGUARD_BUILT_PLUGIN_DIR"), "dac");
	test_install_module(root, getenv("VFGUARD_TEST_PLUGIN_DIR"), "testmark");
	use_labelers(root, "dac testmark");
	apply(root, "vm1", "01:00.0");
	use_labelers(root, "dac");
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_CTIME);
	cli_expect((const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107",
				    "--hostdev", "01:00.0,access=fd", "--hostdev", "02:00.0,managed=yes", NULL},
		   1, "0000:01:00.0: the apply of domain vm1 switches it from path to fd access");
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_CTIME, before, "the refused switch with a managed hostdev");
	free(before);
	use_labelers(root, "dac testmark");
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL}, 0, NULL);
	test_root_remove(root);
}
END_TEST

/* --forget is deliberate: a labeler that is loaded, or one the domain holds no grant of, changes nothing. */
START_TEST(forget_of_a_loaded_labeler_or_one_not_held_is_refused_changing_nothing)
{
	const char *root = vm1_with_testmark_gone();
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_CTIME);
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "dac", NULL}, 1,
		   "labeler dac is loaded: vfguard revoke --domain vm1 undoes its grants");
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "nosuch", NULL}, 1,
		   "domain vm1 holds no grant of labeler nosuch");
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "testmark", "--hostdev",
				    "01:00.0", NULL},
		   2, "--forget takes back the whole domain");
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_CTIME, before, "the refused --forget");
	free(before);
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "testmark", NULL}, 0,
		   NULL);
	test_root_remove(root);
}
END_TEST

/*
 * A domain of an earlier boot (docs/boot.md) holding grants of a labeler
 * this boot cannot load: its release by restore --boot fails naming them
 * and --forget, status says so, and --forget finishes the release (carried
 * as untested since stop 44: the boot's release goes through each
 * labeler's boot_release, not its revoke).
 */
START_TEST(a_domain_of_an_earlier_boot_stuck_on_a_missing_labeler_is_named_and_forget_releases_it)
{
	const char *root = host_new();
	test_write_file(root, "/proc/sys/kernel/random/boot_id", "6d1b3c5e-2f4a-4c8b-9e0d-1a2b3c4d5e6f\n");
	apply(root, "vm1", "01:00.0");
	remove_testmark(root);
	test_write_file(root, "/proc/sys/kernel/random/boot_id", "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f\n");
	cli_expect(
		(const char *[]){"restore", "--root", root, "--boot", NULL}, 1,
		"releasing domain vm1 of an earlier boot (6d1b3c5e-2f4a-4c8b-9e0d-1a2b3c4d5e6f): 2 changes of domain "
		"vm1 could not be undone");
	cli_expect((const char *[]){"restore", "--root", root, "--boot", NULL}, 1,
		   "or drop them from the journal without undoing them: vfguard revoke --domain vm1 --forget testmark");
	cli_expect((const char *[]){"status", "--root", root, "--domain", "vm1", NULL}, 0,
		   "holds grants of labeler testmark, which is not loaded");
	cli_expect((const char *[]){"revoke", "--root", root, "--domain", "vm1", "--forget", "testmark", NULL}, 0,
		   "released 1 domain of an earlier boot (6d1b3c5e-2f4a-4c8b-9e0d-1a2b3c4d5e6f)");
	ck_assert_int_eq(test_journal_files(root), 0);
	ck_assert(marked(root, "/dev/vfio/7")); /* dropped, not undone */
	cli_expect((const char *[]){"status", "--root", root, NULL}, 0, "no domain holds anything");
	test_root_remove(root);
}
END_TEST

static Suite *labeler_gone_suite(void)
{
	Suite *s = suite_create("labeler gone");
	TCase *tc = tcase_create("forget");
	tcase_add_test(tc, a_revoke_that_cannot_load_a_labeler_names_its_grants_and_both_ways_out);
	tcase_add_test(tc, revoke_forget_drops_the_labeler_s_grants_undone_prints_each_undo_and_revokes_the_rest);
	tcase_add_test(tc, revoke_forget_with_json_lists_each_dropped_grant_with_its_undo);
	tcase_add_test(tc, revoke_forget_says_which_grants_other_domains_hold_too);
	tcase_add_test(tc, forget_of_a_loaded_labeler_or_one_not_held_is_refused_changing_nothing);
	tcase_add_test(tc, a_domain_stuck_on_a_labeler_not_loaded_does_not_stop_another_domain);
	tcase_add_test(tc, a_stuck_switch_that_released_a_claim_still_stops_another_domain);
	tcase_add_test(tc, a_switch_refused_for_want_of_a_labeler_detaches_nothing_first);
	tcase_add_test(tc, a_domain_of_an_earlier_boot_stuck_on_a_missing_labeler_is_named_and_forget_releases_it);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(labeler_gone_suite());
}
