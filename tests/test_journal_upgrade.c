/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Journals the previous release wrote (format 1, tests/data/journal-v1) are
 * read, revoked and restored by this one: the host ends byte-exact as it was
 * before that release's apply, and the domain's attributes keep their values
 * under the names the labelers now declare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "testlib.h"

#define JOURNAL "/run/vfguard/domains/vm1.journal"
#define IMAGE_LABEL "system_u:object_r:svirt_image_t:s0:c10,c20"
#define SHARED_LABEL "system_u:object_r:vfio_device_t:s0"

/* tests/data/journal-v1/@name, read whole. */
static char *data_file(const char *name)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/data/journal-v1/%s", getenv("VFGUARD_SOURCE_ROOT"), name);
	char *text = test_read_nonempty(path);
	ck_assert_ptr_nonnull(text);
	return text;
}

/*
 * A fresh host as the release found it, its snapshot in *@before; then the
 * changes that release had made, and its journal @journal in place.
 */
static const char *host_after(const char *journal, bool selinux_done, char **before)
{
	char *manifest = data_file("host.manifest");
	const char *root = test_root_new(manifest);
	free(manifest);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac selinux\nselinux = force\n");
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/7"), 0600), 0);
	*before = test_snapshot(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME);

	ck_assert_int_eq(chown(test_path(root, "/dev/vfio/7"), 107, 107), 0);
	if (selinux_done) {
		ck_assert_int_eq(setxattr(test_path(root, "/dev/vfio/7"), "security.selinux", IMAGE_LABEL,
					  strlen(IMAGE_LABEL) + 1, 0),
				 0);
		ck_assert_int_eq(setxattr(test_path(root, "/dev/vfio/vfio"), "security.selinux", SHARED_LABEL,
					  strlen(SHARED_LABEL) + 1, 0),
				 0);
	}
	char *text = data_file(journal);
	test_write_file(root, JOURNAL, text);
	ck_assert_int_eq(chmod(test_path(root, JOURNAL), 0600), 0);
	/* The lock the release's run left beside it (status reads nothing on a host without one). */
	test_write_file(root, "/run/vfguard/lock", "");
	ck_assert_int_eq(chmod(test_path(root, "/run/vfguard/lock"), 0600), 0);
	free(text);
	return root;
}

START_TEST(a_committed_v1_journal_reads_with_its_attributes_and_revokes_exactly)
{
	char *before;
	const char *root = host_after("committed.journal", true, &before);

	test_run run;
	test_cli(&run, (const char *[]){"status", "--root", root, "--domain", "vm1", "--json", NULL});
	ck_assert_msg(run.status == 0, "status: %s%s", run.out, run.err);
	/* The positional fields of format 1 are the labelers' attributes now. */
	ck_assert_msg(strstr(run.out, "\"selinux.label\": \"system_u:system_r:svirt_t:s0:c10,c20\""), "%s", run.out);
	/* Fields of labelers not loaded here (apparmor, cgroup) are kept, by their place in format 1. */
	ck_assert_msg(strstr(run.out, "\"journal_v1.field7\": \"libvirt-vm1-profile\""), "%s", run.out);
	ck_assert_msg(strstr(run.out, "\"journal_v1.field8\": \"/sys/fs/cgroup/machine.slice/vm1\""), "%s", run.out);
	ck_assert_msg(strstr(run.out, "/dev/vfio/7") && strstr(run.out, "selinux"), "%s", run.out);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 0, "revoke: %s%s", run.out, run.err);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME, before,
			     "after revoking a format 1 journal");
	ck_assert_int_ne(access(test_path(root, JOURNAL), F_OK), 0);
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(a_v1_journal_keeps_its_attributes_when_a_new_transaction_rewrites_it)
{
	char *before;
	const char *root = host_after("committed.journal", true, &before);

	/* Applying again, as the new release: the file becomes format 2, nothing given before is lost. */
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--selinux-label", "system_u:system_r:svirt_t:s0:c10,c20", "--hostdev",
					"01:00.0", NULL});
	ck_assert_msg(run.status == 0, "apply: %s%s", run.out, run.err);
	test_run_free(&run);
	char *journal = test_read_file(root, JOURNAL);
	ck_assert_msg(strncmp(journal, "vfguard-journal 2\n", 18) == 0, "%s", journal);
	ck_assert_msg(strstr(journal, " selinux.label=system_u:system_r:svirt_t:s0:c10,c20"), "%s", journal);
	free(journal);

	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 0, "revoke: %s%s", run.out, run.err);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME, before,
			     "after the upgraded journal's revoke");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(a_crashed_v1_apply_is_undone_by_restore)
{
	char *before;
	const char *root = host_after("crashed.journal", false, &before);

	test_run run;
	test_cli(&run, (const char *[]){"restore", "--root", root, NULL});
	ck_assert_msg(run.status == 0, "restore: %s%s", run.out, run.err);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_NO_CTIME, before,
			     "after restoring a crashed format 1 apply");
	ck_assert_int_ne(access(test_path(root, JOURNAL), F_OK), 0);
	free(before);
	test_root_remove(root);
}
END_TEST

static Suite *upgrade_suite(void)
{
	Suite *s = suite_create("journal_upgrade");
	TCase *tc = tcase_create("v1");
	tcase_add_test(tc, a_committed_v1_journal_reads_with_its_attributes_and_revokes_exactly);
	tcase_add_test(tc, a_v1_journal_keeps_its_attributes_when_a_new_transaction_rewrites_it);
	tcase_add_test(tc, a_crashed_v1_apply_is_undone_by_restore);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(upgrade_suite());
}
