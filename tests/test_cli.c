/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vfguard CLI as a program: JSON parsed back, exit codes, help, and a dry run that changes nothing. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "json_testlib.h"
#include "testlib.h"

static const char host[] = "misc vfio 10:196\n"
			   "misc iommu 10:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci "
			   "cdev=vfio1:511:1\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
			   "device 0000:02:00.1 group=8 vendor=8086 device=10d3 class=020000 driver=e1000e\n";

static void expect_null(json_object *object, const char *key)
{
	ck_assert_msg(test_json_member(object, key) == NULL, "'%s' is not null", key);
}

/* The step of @labeler for @path in a JSON steps array. */
static json_object *json_step(json_object *steps, const char *labeler, const char *path)
{
	for (size_t i = 0; i < json_object_array_length(steps); i++) {
		json_object *step = json_object_array_get_idx(steps, i);
		if (strcmp(test_json_string(step, "labeler"), labeler) == 0 &&
		    strcmp(test_json_string(step, "node"), path) == 0)
			return step;
	}
	ck_abort_msg("no %s step for %s", labeler, path);
	return NULL;
}

START_TEST(plan_json_parses_back_field_by_field)
{
	const char *root = test_root_new(host);
	test_run run;
	test_cli(&run, (const char *[]){"plan", "--root", root, "--json", "--domain", "gpu-vm", "--uid", "107", "--gid",
					"108", "--uuid", "C7A5FDBD-CDAF-9455-926A-D65C16DB1809", "--hostdev",
					"0000:01:00.0,vf-token=00112233-4455-6677-8899-aabbccddeeff", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	json_object *plan = test_json_parse(run.out);

	ck_assert_int_eq(test_json_int(plan, "version"), 1);
	json_object *domain = test_json_member(plan, "domain");
	ck_assert_str_eq(test_json_string(domain, "name"), "gpu-vm");
	ck_assert_str_eq(test_json_string(domain, "uuid"), "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
	ck_assert_int_eq(test_json_int(domain, "uid"), 107);
	ck_assert_int_eq(test_json_int(domain, "gid"), 108);
	expect_null(domain, "selinux_label");
	expect_null(domain, "cgroup");
	expect_null(domain, "pid");

	json_object *hostdevs = test_json_member(plan, "hostdevs");
	ck_assert_uint_eq(json_object_array_length(hostdevs), 1);
	json_object *hostdev = json_object_array_get_idx(hostdevs, 0);
	ck_assert_str_eq(test_json_string(hostdev, "address"), "0000:01:00.0");
	ck_assert_str_eq(test_json_string(hostdev, "backend"), "iommufd");
	ck_assert_str_eq(test_json_string(hostdev, "backend_requested"), "auto");
	ck_assert_ptr_nonnull(strstr(test_json_string(hostdev, "backend_reason"), "vfio0"));
	ck_assert_str_eq(test_json_string(hostdev, "access"), "path");
	ck_assert_str_eq(test_json_string(hostdev, "vf_token"), "00112233-4455-6677-8899-aabbccddeeff");
	ck_assert_str_eq(test_json_string(hostdev, "cdev"), "vfio0");
	json_object *function = test_json_member(hostdev, "function");
	ck_assert_str_eq(test_json_string(function, "vendor"), "10de");
	ck_assert_str_eq(test_json_string(function, "device"), "2236");
	ck_assert_str_eq(test_json_string(function, "class"), "030000");
	ck_assert_int_eq(test_json_int(function, "header_type"), 0);
	ck_assert_str_eq(test_json_string(function, "driver"), "vfio-pci");
	ck_assert(test_json_bool(function, "vfio_dev"));
	json_object *group = test_json_member(hostdev, "iommu_group");
	ck_assert_int_eq(test_json_int(group, "number"), 7);
	json_object *members = test_json_member(group, "members");
	ck_assert_uint_eq(json_object_array_length(members), 2);
	ck_assert_str_eq(test_json_string(json_object_array_get_idx(members, 1), "address"), "0000:01:00.1");
	ck_assert_str_eq(test_json_string(json_object_array_get_idx(members, 1), "device"), "1aef");
	json_object *hostdev_nodes = test_json_member(hostdev, "nodes");
	ck_assert_uint_eq(json_object_array_length(hostdev_nodes), 2);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(hostdev_nodes, 0)), "/dev/iommu");

	json_object *nodes = test_json_member(plan, "nodes");
	ck_assert_uint_eq(json_object_array_length(nodes), 2);
	json_object *iommu = json_object_array_get_idx(nodes, 0);
	ck_assert_str_eq(test_json_string(iommu, "path"), "/dev/iommu");
	ck_assert_str_eq(test_json_string(iommu, "kind"), "iommufd");
	ck_assert_str_eq(test_json_string(iommu, "rdev"), "10:257");
	ck_assert_int_eq(test_json_int(iommu, "major"), 10);
	ck_assert_int_eq(test_json_int(iommu, "minor"), 257);
	ck_assert(test_json_bool(iommu, "shared"));
	ck_assert_str_eq(test_json_string(iommu, "access"), "path");
	expect_null(iommu, "iommu_group");
	ck_assert_str_eq(test_json_string(iommu, "mode"), "0660");
	ck_assert_int_eq(test_json_int(iommu, "uid"), 0);
	json_object *cdev = json_object_array_get_idx(nodes, 1);
	ck_assert_str_eq(test_json_string(cdev, "path"), "/dev/vfio/devices/vfio0");
	ck_assert_str_eq(test_json_string(cdev, "kind"), "cdev");
	ck_assert_str_eq(test_json_string(cdev, "rdev"), "511:0");
	ck_assert(!test_json_bool(cdev, "shared"));
	ck_assert_int_eq(test_json_int(cdev, "iommu_group"), 7);
	ck_assert_str_eq(test_json_string(cdev, "mode"), "0600");

	json_object *labelers = test_json_member(plan, "labelers");
	const char *names[] = {"dac", "cgroup", "selinux", "apparmor", "namespace"};
	ck_assert_uint_eq(json_object_array_length(labelers), 5);
	for (size_t i = 0; i < 5; i++) {
		json_object *labeler = json_object_array_get_idx(labelers, i);
		ck_assert_str_eq(test_json_string(labeler, "name"), names[i]);
		test_json_bool(labeler, "active");
		ck_assert(test_json_string(labeler, "note")[0] != '\0');
		ck_assert(test_json_string(labeler, "summary")[0] != '\0');
	}

	json_object *steps = test_json_member(plan, "steps");
	ck_assert_uint_eq(json_object_array_length(steps), 10);
	json_object *step = json_step(steps, "dac", "/dev/vfio/devices/vfio0");
	ck_assert_str_eq(test_json_string(step, "action"), "grant");
	ck_assert_str_eq(test_json_string(step, "detail"), "chown 107:108");
	ck_assert_ptr_nonnull(strstr(test_json_string(step, "reason"), "generic_permission"));
	step = json_step(steps, "dac", "/dev/iommu");
	ck_assert_str_eq(test_json_string(step, "detail"), "acl u:107:rw");
	step = json_step(steps, "cgroup", "/dev/iommu");
	ck_assert_str_eq(test_json_string(step, "action"), "inactive");
	step = json_step(steps, "namespace", "/dev/iommu");
	ck_assert_str_eq(test_json_string(step, "action"), "none");
	ck_assert_str_eq(test_json_string(step, "detail"), "");

	json_object_put(plan);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(plan_text_shows_the_table_and_the_reasons)
{
	const char *root = test_root_new(host);
	test_run run;
	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm", "--uid", "107", "--gid", "107",
					"--hostdev", "01:00.0,backend=legacy", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	const char *expected[] = {"domain vm",
				  "IOMMU group 7:",
				  "NODE",
				  "KIND",
				  "RDEV",
				  "DAC",
				  "NAMESPACE",
				  "/dev/vfio/vfio",
				  "10:196",
				  "/dev/vfio/7",
				  "243:0",
				  "chown 107:107",
				  "rule \"/dev/vfio/7\" rw,",
				  "reasons:",
				  "generic_permission"};
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		ck_assert_msg(strstr(run.out, expected[i]), "no '%s' in:\n%s", expected[i], run.out);
	ck_assert_str_eq(run.err, "");
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(plan_for_a_group_with_a_host_driver_exits_1_naming_function_and_driver)
{
	const char *root = test_root_new(host);
	test_run run;
	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm", "--hostdev", "02:00.0", NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "0000:02:00.1 is bound to e1000e"), "%s", run.err);
	ck_assert_str_eq(run.out, "");
	test_run_free(&run);

	test_cli(&run,
		 (const char *[]){"plan", "--root", root, "--json", "--domain", "vm", "--hostdev", "02:00.0", NULL});
	ck_assert_int_eq(run.status, 1);
	json_object *error = test_json_member(test_json_parse(run.out), "error");
	ck_assert_ptr_nonnull(strstr(test_json_string(error, "message"), "0000:02:00.1 is bound to e1000e"));
	ck_assert_str_eq(test_json_string(error, "subject"), "0000:02:00.0");
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(root_comes_from_vfguard_root_when_not_given)
{
	const char *root = test_root_new(host);
	setenv("VFGUARD_ROOT", root, 1);
	test_run run;
	test_cli(&run, (const char *[]){"plan", "--json", "--domain", "vm", "--hostdev", "01:00.1", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	json_object *plan = test_json_parse(run.out);
	ck_assert_str_eq(test_json_string(json_object_array_get_idx(test_json_member(plan, "nodes"), 1), "path"),
			 "/dev/vfio/devices/vfio1");
	json_object_put(plan);
	test_run_free(&run);
	unsetenv("VFGUARD_ROOT");
	test_root_remove(root);
}
END_TEST

static const struct {
	const char *args[12];
	const char *message;
} usage_errors[] = {
	{{NULL}, "Usage: vfguard"},
	{{"frobnicate", NULL}, "unknown command 'frobnicate'"},
	{{"plan", "--hostdev", "01:00.0", NULL}, "--domain is required"},
	{{"plan", "--domain", "vm", NULL}, "at least one --hostdev"},
	{{"plan", "--domain", "vm", "--hostdev", "01:00.8", NULL}, "function 8 is past 7"},
	{{"plan", "--domain", "vm", "--hostdev", "01:00.0,access=maybe", NULL}, "unknown access"},
	{{"plan", "--domain", "vm", "--uid", "-5", "--gid", "0", "--hostdev", "01:00.0", NULL}, "--uid '-5'"},
	{{"plan", "--domain", "vm", "--uid", "107", "--hostdev", "01:00.0", NULL}, "give --uid and --gid together"},
	{{"plan", "--domain", "vm", "--pid", "abc", "--hostdev", "01:00.0", NULL}, "--pid 'abc'"},
	{{"plan", "--domain", "vm", "--cgroup", "relative/path", "--hostdev", "01:00.0", NULL}, "absolute path"},
	{{"plan", "--domain", "vm", "--uuid", "nope", "--hostdev", "01:00.0", NULL}, "not a UUID"},
	{{"plan", "--frob", NULL}, "Try 'vfguard plan --help'"},
	{{"plan", "--domain", "a/b", "--hostdev", "01:00.0", NULL}, "no '/'"},
	{{"plan", "--domain", "vm", "--hostdev", "01:00.0", "extra", NULL}, "unexpected argument 'extra'"},
	{{"apply", "--domain", "vm", "--hostdev", "01:00.0", "--frob", NULL}, "unknown option"},
};

START_TEST(usage_errors_exit_2_with_a_clear_message)
{
	const char *root = test_root_new(host);
	setenv("VFGUARD_ROOT", root, 1);
	test_run run;
	test_cli(&run, usage_errors[_i].args);
	ck_assert_msg(run.status == 2, "exit %d for case %d: %s", run.status, _i, run.err);
	ck_assert_msg(strstr(run.err, usage_errors[_i].message), "expected '%s' in '%s'", usage_errors[_i].message,
		      run.err);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(every_subcommand_has_help)
{
	const char *const cases[][3] = {{"--help", NULL},
					{"help", "plan", NULL},
					{"plan", "--help", NULL},
					{"apply", "--help", NULL},
					{"apply", "-h", NULL}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_run run;
		test_cli(&run, cases[i]);
		ck_assert_msg(run.status == 0, "exit %d for %s", run.status, cases[i][0]);
		ck_assert_msg(strstr(run.out, "Usage: vfguard"), "no usage for %s %s", cases[i][0],
			      cases[i][1] ? cases[i][1] : "");
		test_run_free(&run);
	}
}
END_TEST

START_TEST(apply_that_fails_at_a_grant_exits_1_and_changes_nothing)
{
	const char *root = test_root_new(host);
	/* a file where the AppArmor rules directory belongs: the apparmor grant fails */
	test_write_file(root, "/etc/apparmor.d/vfguard", "in the way\n");
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm", "--uid", "107", "--gid", "107",
					"--hostdev", "01:00.0", NULL});
	ck_assert_int_eq(run.status, 1);
	/* steps 1 and 2 are dac's, done and then undone */
	ck_assert_msg(strstr(run.err, "step 3 (apparmor /dev/iommu)") && strstr(run.err, "Not a directory"), "%s",
		      run.err);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE, before, "a failed apply");
	free(before);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(dry_run_lists_only_the_changes_in_apply_order)
{
	const char *root = test_root_new(host);
	pid_t child = test_child_in_new_mount_namespace();
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)child);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--dry-run", "--json", "--root", root, "--domain", "vm", "--uid",
					"107", "--gid", "107", "--pid", pid, "--hostdev", "01:00.0", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	json_object *result = test_json_parse(run.out);
	ck_assert(test_json_bool(result, "dry_run"));
	json_object *steps = test_json_member(result, "steps");
	/* dac 2, cgroup 2 (v1 and v2 of the pid), selinux none (disabled), apparmor 2, namespace 2 */
	const char *expected[][2] = {{"dac", "/dev/iommu"},       {"dac", "/dev/vfio/devices/vfio0"},
				     {"cgroup", "/dev/iommu"},    {"cgroup", "/dev/vfio/devices/vfio0"},
				     {"apparmor", "/dev/iommu"},  {"apparmor", "/dev/vfio/devices/vfio0"},
				     {"namespace", "/dev/iommu"}, {"namespace", "/dev/vfio/devices/vfio0"}};
	ck_assert_uint_eq(json_object_array_length(steps), 8);
	for (size_t i = 0; i < 8; i++) {
		json_object *step = json_object_array_get_idx(steps, i);
		ck_assert_str_eq(test_json_string(step, "labeler"), expected[i][0]);
		ck_assert_str_eq(test_json_string(step, "node"), expected[i][1]);
		ck_assert_str_eq(test_json_string(step, "action"), "grant");
	}
	json_object_put(result);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"apply", "--dry-run", "--root", root, "--domain", "vm", "--uid", "107", "--gid",
					"107", "--pid", pid, "--hostdev", "01:00.0", NULL});
	ck_assert_int_eq(run.status, 0);
	ck_assert_msg(strstr(run.out, "8 steps, nothing changed") && strstr(run.out, " 1. dac ") &&
			      strstr(run.out, " 8. namespace "),
		      "%s", run.out);
	ck_assert_msg(strstr(run.out, "selinux is inactive"), "%s", run.out);
	test_run_free(&run);
	test_child_stop(child);
	test_root_remove(root);
}
END_TEST

START_TEST(dry_run_changes_nothing_in_the_tree)
{
	const char *root = test_root_new(host);
	/* labels as a labeled host would carry them, so xattrs are part of what must not change */
	const char label[] = "system_u:object_r:vfio_device_t:s0";
	ck_assert_int_eq(lsetxattr(test_path(root, "/dev/vfio/7"), "security.selinux", label, sizeof(label), 0), 0);
	ck_assert_int_eq(lsetxattr(test_path(root, "/dev/iommu"), "trusted.vfguard-test", "x", 1, 0), 0);
	char *cgroup_before = test_read_nonempty("/sys/fs/cgroup/devices/devices.list");
	char *before = test_snapshot(root, 0);

	pid_t child = test_child_in_new_mount_namespace();
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)child);
	const char *specs[] = {"01:00.0,backend=legacy", "01:00.0,backend=iommufd", "01:00.0,access=fd"};
	for (size_t i = 0; i < 3; i++) {
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--dry-run", "--root", root, "--domain", "vm", "--uid", "107",
						"--gid", "107", "--pid", pid, "--cgroup", "/sys/fs/cgroup/devices",
						"--hostdev", specs[i], NULL});
		ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
		test_run_free(&run);
	}
	test_child_stop(child);

	test_snapshot_expect(root, 0, before, "dry runs");
	ck_assert_ptr_nonnull(strstr(before, "\"system_u:object_r:vfio_device_t:s0\"\n"));
	char *cgroup_after = test_read_nonempty("/sys/fs/cgroup/devices/devices.list");
	ck_assert_str_eq(cgroup_before, cgroup_after);
	free(before);
	free(cgroup_before);
	free(cgroup_after);
	test_root_remove(root);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("plan output");
	tcase_add_test(tc, plan_json_parses_back_field_by_field);
	tcase_add_test(tc, plan_text_shows_the_table_and_the_reasons);
	tcase_add_test(tc, plan_for_a_group_with_a_host_driver_exits_1_naming_function_and_driver);
	tcase_add_test(tc, root_comes_from_vfguard_root_when_not_given);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage");
	tcase_add_loop_test(tc, usage_errors_exit_2_with_a_clear_message, 0,
			    sizeof(usage_errors) / sizeof(usage_errors[0]));
	tcase_add_test(tc, every_subcommand_has_help);
	suite_add_tcase(s, tc);

	tc = tcase_create("apply");
	tcase_add_test(tc, apply_that_fails_at_a_grant_exits_1_and_changes_nothing);
	tcase_add_test(tc, dry_run_lists_only_the_changes_in_apply_order);
	tcase_add_test(tc, dry_run_changes_nothing_in_the_tree);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(cli_suite());
}
