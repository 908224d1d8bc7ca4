/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * systemd's path without the bus (plugins/cgroup/cgroup_systemd.c): the
 * unit's original settings as the journal keeps them, the list vfguard sets,
 * and which device programs let it take the path. The D-Bus calls themselves
 * are proven against systemd as PID 1 in the VM suite (systemd-grant).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

static cgroup_sd_entry entry(const char *path, const char *access)
{
	cgroup_sd_entry e;
	memset(&e, 0, sizeof(e));
	snprintf(e.path, sizeof(e.path), "%s", path);
	snprintf(e.access, sizeof(e.access), "%s", access);
	return e;
}

START_TEST(the_kept_settings_read_back_as_they_were_written_paths_escaped)
{
	cgroup_sd_entry entries[] = {entry("/dev/zero", "r"), entry("/dev/odd name:1%", "rwm"),
				     entry("char-pts", "rw")};
	cgroup_sd_devices devices = {.policy = "closed", .n = 3, .entries = entries}, back;
	char text[512];
	vfg_error err = {0};
	ck_assert_int_eq(cgroup_sd_devices_format(&devices, text, sizeof(text), &err), 0);
	ck_assert_str_eq(text, "closed /dev/zero:r /dev/odd%20name%3A1%25:rwm char-pts:rw");
	ck_assert(cgroup_sd_devices_parse(text, &back));
	ck_assert(cgroup_sd_devices_equal(&devices, &back));
	free(back.entries);
	cgroup_sd_devices empty = {.policy = "strict"};
	ck_assert_int_eq(cgroup_sd_devices_format(&empty, text, sizeof(text), &err), 0);
	ck_assert_str_eq(text, "strict");
	ck_assert(cgroup_sd_devices_parse(text, &back));
	ck_assert_uint_eq(back.n, 0);
	ck_assert(cgroup_sd_devices_equal(&empty, &back));
}
END_TEST

START_TEST(settings_no_grant_writes_are_refused)
{
	const char *bad[] = {"",
			     "open",
			     "closed /dev/x",
			     "closed /dev/x:wr",
			     "closed /dev/x:rwx",
			     "closed  /dev/x:r",
			     "closed :r",
			     "closed /dev/x:r ",
			     "closed /dev/%00:r"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cgroup_sd_devices devices;
		ck_assert_msg(!cgroup_sd_devices_parse(bad[i], &devices), "'%s' parsed", bad[i]);
	}
}
END_TEST

START_TEST(with_nothing_held_the_list_set_is_the_original_exactly)
{
	cgroup_sd_entry entries[] = {entry("/dev/zero", "r"), entry("/dev/full", "rw")};
	cgroup_sd_devices original = {.policy = "closed", .n = 2, .entries = entries}, wanted;
	vfg_error err = {0};
	ck_assert_int_eq(cgroup_sd_devices_wanted(&original, NULL, 0, &wanted, &err), 0);
	ck_assert(cgroup_sd_devices_equal(&original, &wanted));
	free(wanted.entries);
}
END_TEST

START_TEST(held_paths_come_first_and_widen_an_original_entry_of_theirs)
{
	cgroup_sd_entry entries[] = {entry("/dev/zero", "r"), entry("/dev/vfio/vfio", "r")};
	cgroup_sd_entry held[] = {entry("/dev/vfio/12", "rw"), entry("/dev/vfio/vfio", "rw"),
				  entry("/dev/vfio/12", "rw")};
	cgroup_sd_devices original = {.policy = "closed", .n = 2, .entries = entries}, wanted;
	vfg_error err = {0};
	ck_assert_int_eq(cgroup_sd_devices_wanted(&original, held, 3, &wanted, &err), 0);
	ck_assert_uint_eq(wanted.n, 3);
	ck_assert_str_eq(wanted.entries[0].path, "/dev/vfio/12");
	ck_assert_str_eq(wanted.entries[1].path, "/dev/zero");
	ck_assert_str_eq(wanted.entries[1].access, "r");
	ck_assert_str_eq(wanted.entries[2].path, "/dev/vfio/vfio");
	ck_assert_str_eq(wanted.entries[2].access, "rw");
	free(wanted.entries);
}
END_TEST

/* systemd's programs alone, on one cgroup: split, with nothing left to another manager. */
static bool programs_only(const char *foreign, char *dir, size_t size)
{
	char left[768];
	return cgroup_sd_programs_split(foreign, dir, size, left, sizeof(left)) && !left[0];
}

START_TEST(only_systemds_programs_on_one_cgroup_take_the_path)
{
	char dir[256];
	ck_assert(programs_only("program 17 'sd_devices' on /sys/fs/cgroup/system.slice/a.service", dir, sizeof(dir)));
	ck_assert_str_eq(dir, "/sys/fs/cgroup/system.slice/a.service");
	ck_assert(!programs_only("", dir, sizeof(dir)));
	ck_assert(!programs_only("program 17 'libvirt' on /sys/fs/cgroup/m", dir, sizeof(dir)));
	ck_assert(!programs_only("program 17 'sd_devices' on /a; program 18 'sd_devices' on /b", dir, sizeof(dir)));
	ck_assert(!programs_only("program 17 'sd_devices' on /a; program 18 'x' on /a", dir, sizeof(dir)));
	ck_assert(!programs_only("program 17 'sd_devices' on an ancestor of /a", dir, sizeof(dir)));
	ck_assert(!programs_only("program 17 'sd_devices' (vfguard's, of another cgroup) on /a", dir, sizeof(dir)));
}
END_TEST

/* libvirt's program on the machine scope's libvirt/, crun's on the scope's container/: below the unit's cgroup. */
START_TEST(a_managers_program_below_the_units_cgroup_is_left_to_it_others_are_not)
{
	static const char scope[] = "/sys/fs/cgroup/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope";
	char foreign[1024], dir[256], left[768];
	snprintf(foreign, sizeof(foreign), "program 17 'sd_devices' on %s; program 18 '' on %s/libvirt", scope, scope);
	ck_assert(cgroup_sd_programs_split(foreign, dir, sizeof(dir), left, sizeof(left)));
	ck_assert_str_eq(dir, scope);
	char expected[512];
	snprintf(expected, sizeof(expected), "program 18 '' on %s/libvirt", scope);
	ck_assert_str_eq(left, expected);
	/* Found in either order, and two of them both named. */
	snprintf(foreign, sizeof(foreign),
		 "program 18 'x' on %s/a/b; program 17 'sd_devices' on %s; program 19 '' on %s/a", scope, scope, scope);
	ck_assert(cgroup_sd_programs_split(foreign, dir, sizeof(dir), left, sizeof(left)));
	ck_assert_str_eq(dir, scope);
	snprintf(expected, sizeof(expected), "program 18 'x' on %s/a/b; program 19 '' on %s/a", scope, scope);
	ck_assert_str_eq(left, expected);
	ck_assert(!programs_only(foreign, dir, sizeof(dir)));
	/* systemd's alone: nothing left. */
	ck_assert(cgroup_sd_programs_split("program 17 'sd_devices' on /a", dir, sizeof(dir), left, sizeof(left)));
	ck_assert_str_eq(left, "");
	/* Not below: on the unit's cgroup itself, on a sibling whose name starts the same, above it, or not found. */
	ck_assert(!cgroup_sd_programs_split("program 17 'sd_devices' on /a/s; program 18 '' on /a/s", dir, sizeof(dir),
					    left, sizeof(left)));
	ck_assert(!cgroup_sd_programs_split("program 17 'sd_devices' on /a/s; program 18 '' on /a/sx", dir, sizeof(dir),
					    left, sizeof(left)));
	ck_assert(!cgroup_sd_programs_split("program 17 'sd_devices' on /a/s; program 18 '' on /a", dir, sizeof(dir),
					    left, sizeof(left)));
	ck_assert(!cgroup_sd_programs_split("program 17 'sd_devices' on /a/s; program 18 '' on an ancestor of /a/s/l",
					    dir, sizeof(dir), left, sizeof(left)));
	/* No program of systemd's, or vfguard's own of another cgroup: not this path. */
	ck_assert(!cgroup_sd_programs_split("program 18 '' on /a/s/l", dir, sizeof(dir), left, sizeof(left)));
	ck_assert(!cgroup_sd_programs_split(
		"program 17 'sd_devices' on /a/s; program 18 'vfg_devices' (vfguard's, of another cgroup) on /a/s/l",
		dir, sizeof(dir), left, sizeof(left)));
}
END_TEST

START_TEST(access_letters_join_in_systemds_order)
{
	char out[CGROUP_SD_ACCESS_MAX] = "w";
	cgroup_sd_access_union(out, "r", out);
	ck_assert_str_eq(out, "rw");
	cgroup_sd_access_union("m", "rw", out);
	ck_assert_str_eq(out, "rwm");
	ck_assert(cgroup_sd_access_covers("rwm", "rw"));
	ck_assert(!cgroup_sd_access_covers("r", "rw"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cgroup_systemd");
	TCase *tc = tcase_create("settings");
	tcase_add_test(tc, the_kept_settings_read_back_as_they_were_written_paths_escaped);
	tcase_add_test(tc, settings_no_grant_writes_are_refused);
	tcase_add_test(tc, with_nothing_held_the_list_set_is_the_original_exactly);
	tcase_add_test(tc, held_paths_come_first_and_widen_an_original_entry_of_theirs);
	tcase_add_test(tc, only_systemds_programs_on_one_cgroup_take_the_path);
	tcase_add_test(tc, a_managers_program_below_the_units_cgroup_is_left_to_it_others_are_not);
	tcase_add_test(tc, access_letters_join_in_systemds_order);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
