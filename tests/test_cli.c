/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vfguard CLI as a program: JSON parsed back, exit codes, help, and a dry run that changes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup_testlib.h"
#include "json_testlib.h"
#include "testlib.h"

/* Both backends; group 7: a GPU and its audio function, both on vfio-pci. */
#define HOST_GROUP_7                                                                                          \
	"misc vfio 10:196\n"                                                                                  \
	"misc iommu 10:257\n"                                                                                 \
	"group 7 243:0\n"                                                                                     \
	"device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci cdev=vfio0:511:0\n" \
	"device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci cdev=vfio1:511:1\n"

static const char host[] =
	HOST_GROUP_7 "group 8 243:1\n"
		     "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
		     "device 0000:02:00.1 group=8 vendor=8086 device=10d3 class=020000 driver=e1000e\n";

/* The same host with a VF of 01:00.0, which makes it an SR-IOV PF: a vf-token may name it. */
static const char host_pf[] =
	HOST_GROUP_7 "group 8 243:1\n"
		     "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
		     "device 0000:02:00.1 group=8 vendor=8086 device=10d3 class=020000 driver=e1000e\n"
		     "group 9\n"
		     "device 0000:01:10.0 group=9 vendor=10de device=2237 class=030000 physfn=0000:01:00.0\n";

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

START_TEST(plan_names_the_variant_driver_a_managed_hostdev_is_bound_to)
{
	const char *root = test_root_new(host);
	test_run run;
	test_cli(&run, (const char *[]){"plan", "--root", root, "--json", "--domain", "vm1", "--hostdev",
					"0000:01:00.0,managed=yes,driver=mlx5_vfio_pci", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	json_object *plan = test_json_parse(run.out);
	json_object *hostdev = json_object_array_get_idx(test_json_member(plan, "hostdevs"), 0);
	ck_assert(test_json_bool(hostdev, "managed"));
	ck_assert_str_eq(test_json_string(hostdev, "managed_driver"), "mlx5_vfio_pci");
	json_object_put(plan);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm1", "--hostdev",
					"0000:01:00.0,managed=yes,driver=mlx5_vfio_pci", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	ck_assert_msg(strstr(run.out, ", managed to mlx5_vfio_pci"), "%s", run.out);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(plan_json_parses_back_field_by_field)
{
	const char *root = test_root_new(host_pf);
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
	ck_assert(!test_json_bool(hostdev, "managed"));
	expect_null(hostdev, "managed_driver");
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

/*
 * A managed hostdev still on its host driver has no VFIO nodes yet: plan
 * says that apply binds it first, and how to see the plan before (detach),
 * rather than "bind it to vfio-pci first", which managed=yes is there to do.
 */
START_TEST(plan_of_a_managed_hostdev_on_its_host_driver_says_apply_binds_it)
{
	const char *root =
		test_root_new("misc vfio 10:196\ngroup 9 243:2\n"
			      "device 0000:03:00.0 group=9 vendor=8086 device=10d3 class=020000 driver=e1000e\n");
	test_run run;
	test_cli(&run,
		 (const char *[]){"plan", "--root", root, "--domain", "vm", "--hostdev", "03:00.0,managed=yes", NULL});
	ck_assert_msg(run.status == 1 &&
			      strstr(run.err, "0000:03:00.0: is bound to e1000e, not to vfio-pci, so it has no VFIO "
					      "nodes to plan yet: apply binds it first (managed=yes)") &&
			      strstr(run.err, "run vfguard detach 0000:03:00.0"),
		      "exit %d: %s", run.status, run.err);
	test_run_free(&run);
	/* Unmanaged, the advice stays: bind it. */
	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm", "--hostdev", "03:00.0", NULL});
	ck_assert_msg(run.status == 1 && strstr(run.err, "bind it to vfio-pci first"), "%s", run.err);
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
	json_object *result = test_json_parse(run.out);
	json_object *error = test_json_member(result, "error");
	ck_assert_ptr_nonnull(strstr(test_json_string(error, "message"), "0000:02:00.1 is bound to e1000e"));
	ck_assert_str_eq(test_json_string(error, "subject"), "0000:02:00.0");
	json_object_put(result);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

/*
 * Group 7 holds two vfio-pci functions and one bound to no driver: the legacy
 * group node opens every vfio-bound function of the group, the cdev only its own.
 */
static const char host_group_mates[] =
	HOST_GROUP_7 "device 0000:01:00.2 group=7 vendor=10de device=1aeb class=0c0330\n";

/* The "group_mates" of each hostdev of a plan of @hostdevs (one --hostdev each), and its text in @text. */
static json_object *plan_group_mates(const char *root, const char *const *hostdevs, char **text)
{
	const char *argv[16] = {"plan", "--root", root, "--domain", "vm"};
	size_t argc = 5;
	for (size_t i = 0; hostdevs[i]; i++) {
		argv[argc++] = "--hostdev";
		argv[argc++] = hostdevs[i];
	}
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	*text = strdup(run.out);
	test_run_free(&run);
	argv[argc++] = "--json";
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	json_object *plan = test_json_parse(run.out);
	test_run_free(&run);
	json_object *mates = json_object_new_array();
	json_object *hostdevs_json = test_json_member(plan, "hostdevs");
	for (size_t i = 0; i < json_object_array_length(hostdevs_json); i++) {
		size_t length;
		json_object *array =
			test_json_array(json_object_array_get_idx(hostdevs_json, i), "group_mates", &length);
		json_object_array_add(mates, json_object_get(array));
	}
	json_object_put(plan);
	return mates;
}

START_TEST(legacy_plan_names_each_vfio_bound_group_mate_in_text_and_json)
{
	const char *root = test_root_new(host_group_mates);
	char *text;
	json_object *mates = plan_group_mates(root, (const char *[]){"01:00.0,backend=legacy", NULL}, &text);
	json_object *first = json_object_array_get_idx(mates, 0);
	ck_assert_uint_eq(json_object_array_length(first), 1); /* 01:00.2 has no vfio driver: no device fd */
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(first, 0)), "0000:01:00.1");
	ck_assert_msg(strstr(text, "\n    group-mates: 0000:01:00.1 vfio-pci (not asked for; /dev/vfio/7 opens"), "%s",
		      text);
	test_expect_lines_fit(text, VFG_TEXT_COLUMNS, "group-mates");
	free(text);
	json_object_put(mates);

	/* Both asked for: nobody gets more than the domain asked */
	mates = plan_group_mates(root, (const char *[]){"01:00.0,backend=legacy", "01:00.1,backend=legacy", NULL},
				 &text);
	for (size_t i = 0; i < 2; i++)
		ck_assert_uint_eq(json_object_array_length(json_object_array_get_idx(mates, i)), 0);
	ck_assert_msg(!strstr(text, "group-mates"), "%s", text);
	free(text);
	json_object_put(mates);
	test_root_remove(root);
}
END_TEST

START_TEST(iommufd_plan_has_no_group_mates)
{
	const char *root = test_root_new(host_group_mates);
	char *text;
	json_object *mates = plan_group_mates(root, (const char *[]){"01:00.0,backend=iommufd", NULL}, &text);
	ck_assert_uint_eq(json_object_array_length(json_object_array_get_idx(mates, 0)), 0);
	ck_assert_msg(!strstr(text, "group-mates"), "%s", text);
	free(text);
	json_object_put(mates);
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

/* Issue 19's review: an empty --root was "/", and a state_dir with ".." led out of the root. */
static const struct {
	const char *args[12];
	const char *message;
} root_escapes[] = {
	{{"apply", "--root", "", "--domain", "vm", "--hostdev", "01:00.1", NULL}, "an empty root prefix"},
	{{"apply", "--domain", "vm", "--set", "state_dir=/../../tmp/vfguard-escape", "--hostdev", "01:00.1", NULL},
	 "state_dir has a '..' component"},
	{{"apply", "--domain", "vm", "--set", "state_dir=/run/./vfguard", "--hostdev", "01:00.1", NULL},
	 "state_dir has a '.' component"},
	{{"status", "--set", "state_dir=run/vfguard", NULL}, "state_dir must be an absolute path"},
	{{"audit", "--domain", "../x", NULL}, "domain name may not start with '.'"},
	/* A key of a labeler this run leaves out is still checked by that labeler's table. */
	{{"status", "--set", "labelers=dac", "--set", "selinux_nosuch=1", NULL}, "declares no such key"},
	{{"status", "--set", "labelers=dac", "--set", "cgroup_foreign_programs=maybe", NULL},
	 "cgroup_foreign_programs is fail or proceed"},
};

START_TEST(an_empty_root_or_a_state_dir_leading_out_of_the_root_is_refused_and_nothing_changes)
{
	const char *root = test_root_new(host);
	setenv("VFGUARD_ROOT", root, 1);
	char *before = test_snapshot(root, 0);
	test_run run;
	test_cli(&run, root_escapes[_i].args);
	/* bad values the command line gave: usage errors, as vfguard(8) says */
	ck_assert_msg(run.status == 2, "exit %d for case %d: %s%s", run.status, _i, run.out, run.err);
	ck_assert_msg(strstr(run.err, root_escapes[_i].message), "expected '%s' in '%s'", root_escapes[_i].message,
		      run.err);
	test_run_free(&run);
	test_snapshot_expect(root, 0, before, "after a refused root or state_dir");
	struct stat st;
	ck_assert_int_ne(lstat("/tmp/vfguard-escape", &st), 0);
	free(before);
	unsetenv("VFGUARD_ROOT");
	test_root_remove(root);
}
END_TEST

/* Issue 19's review: a newline in a domain name or a spec reached stderr raw, splitting the message. */
START_TEST(a_control_byte_in_the_input_is_shown_escaped_on_one_line)
{
	const char *root = test_root_new(host);
	const char *const cases[][10] = {
		{"plan", "--root", root, "--domain", "a\nb", "--hostdev", "01:00.1", NULL},
		{"plan", "--root", root, "--domain", "vm", "--hostdev", "01:00.1,x=\ny\x01", NULL},
		{"plan", "--root", root, "--domain", "vm", "--uid", "1\n2", "--gid", "0", NULL},
	};
	const char *const shown[] = {"a\\nb", "x=\\ny\\x01", "1\\n2"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		test_run run;
		test_cli(&run, (const char *const *)cases[i]);
		ck_assert_msg(run.status != 0, "case %zu exited 0", i);
		ck_assert_msg(strstr(run.err, shown[i]), "case %zu: '%s' not in: %s", i, shown[i], run.err);
		/* The message is the first line: the input's newline is not in it. */
		const char *first_end = strchr(run.err, '\n');
		ck_assert_msg(first_end && strstr(run.err, shown[i]) < first_end, "case %zu: split: %s", i, run.err);
		test_run_free(&run);
	}
	test_root_remove(root);
}
END_TEST

START_TEST(vfguard_root_set_and_empty_is_unset)
{
	setenv("VFGUARD_ROOT", "", 1);
	test_run run;
	test_cli(&run, (const char *[]){"config", "--json", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	test_run_free(&run);
	unsetenv("VFGUARD_ROOT");
}
END_TEST

/*
 * Where openat2() is missing (Linux < 5.6, or a seccomp filter that answers
 * ENOSYS, as container runtimes' default profiles did), the message says so
 * rather than "Function not implemented" alone. The child refuses openat2
 * for itself and what it execs: a classic BPF seccomp filter (seccomp(2),
 * struct seccomp_data), x86-64 only like the rest of the suite.
 */
START_TEST(a_kernel_without_openat2_is_named_in_the_message)
{
	const char *root = test_root_new(host);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sock_filter code[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog program = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) < 0)
			_exit(3);
		test_run run;
		test_cli(&run,
			 (const char *[]){"plan", "--root", root, "--domain", "vm", "--hostdev", "01:00.1", NULL});
		bool named = run.status == 1 && strstr(run.err, "no openat2()") && strstr(run.err, "Linux 5.6");
		if (!named)
			fprintf(stderr, "exit %d: %s\n", run.status, run.err);
		_exit(named ? 0 : 1);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d (3: no seccomp filter)", status);
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
	/* another spelling of a path: journaled as given, it once jammed every later command (a trial) */
	{{"apply", "--domain", "vm", "--cgroup", "/sys/fs/cgroup/unified/vm/", "--hostdev", "01:00.0", NULL},
	 "/sys/fs/cgroup/unified/vm/: cgroup: expected the cgroup's plain path (no '.' or empty component, no '/' at "
	 "the end): give /sys/fs/cgroup/unified/vm"},
	{{"apply", "--domain", "vm", "--cgroup", "/sys/fs/cgroup//./unified/vm", "--hostdev", "01:00.0", NULL},
	 "give /sys/fs/cgroup/unified/vm"},
	{{"apply", "--domain", "vm", "--cgroup", "/sys/fs/cgroup/unified/../devices/vm", "--hostdev", "01:00.0", NULL},
	 "no '..'"},
	{{"plan", "--domain", "vm", "--uuid", "nope", "--hostdev", "01:00.0", NULL}, "not a UUID"},
	{{"plan", "--frob", NULL}, "unknown option '--frob'"},
	{{"plan", "--domain", "a/b", "--hostdev", "01:00.0", NULL}, "may not hold '/'"},
	{{"plan", "--domain", "vm", "--hostdev", "01:00.0", "extra", NULL}, "unexpected argument 'extra'"},
	{{"apply", "--domain", "vm", "--hostdev", "01:00.0", "--frob", NULL}, "unknown option"},
	{{"apply", "--domain", "vm", "--hostdev", "01:00.0", "--wide", NULL}, "--wide goes with --dry-run"},
	/* The value given and the parser's reason, not a fixed "0" (a new user's finding). */
	{{"plan", "--domain", "vm", "--memory", "4X", "--hostdev", "01:00.0", NULL}, "--memory 4X: unknown unit 'X'"},
	{{"plan", "--domain", "vm", "--memory", "abc", "--hostdev", "01:00.0", NULL}, "--memory abc: expected a size"},
	{{"plan", "--domain", "vm", "--memory", "0", "--hostdev", "01:00.0", NULL},
	 "--memory 0: expected the guest RAM"},
	/*
	 * Bad values the library finds when it makes the context, and one the
	 * plan would find: usage errors too, not failures (a new user's finding).
	 */
	{{"plan", "--root", "relative/host", "--domain", "vm", "--hostdev", "01:00.0", NULL},
	 "relative/host: the root prefix must be an absolute path"},
	{{"plan", "--root", "/nonexistent-vfguard-root", "--domain", "vm", "--hostdev", "01:00.0", NULL},
	 "/nonexistent-vfguard-root: cannot use as root prefix"},
	{{"plan", "--set", "state_dir=run/vfguard", "--domain", "vm", "--hostdev", "01:00.0", NULL},
	 "--set state_dir: run/vfguard: state_dir must be an absolute path"},
	{{"plan", "--set", "colour=red", "--domain", "vm", "--hostdev", "01:00.0", NULL},
	 "--set colour: unknown configuration key"},
	{{"plan", "--set", "Colour=red", "--domain", "vm", "--hostdev", "01:00.0", NULL},
	 "--set Colour: unknown configuration key"},
	{{"plan", "--set", "labelers=dac nosuch", "--domain", "vm", "--hostdev", "01:00.0", NULL},
	 "no labeler 'nosuch' here (vfguard-nosuch.so); the labelers here: "},
	{{"plan", "--set", "labelers=dac dac", "--domain", "vm", "--hostdev", "01:00.0", NULL},
	 "--set labelers: dac: labeler listed twice"},
	{{"plan", "--plugin-dir", "/nonexistent-vfguard-plugins", "--domain", "vm", "--hostdev", "01:00.0", NULL},
	 "/nonexistent-vfguard-plugins: no labeler 'dac': cannot read the plugin directory"},
	{{"plan", "--domain", "vm", "--apparmor-profile", "a b", "--hostdev", "01:00.0", NULL},
	 "attribute apparmor.profile: a b: apparmor: a profile name vfguard uses as a file name must be printable"},
	{{"plan", "--domain", "vm", "--hostdev", "01:00.0", "--hostdev", "0000:01:00.0,backend=legacy", NULL},
	 "0000:01:00.0: --hostdev given twice ('01:00.0', then '0000:01:00.0,backend=legacy')"},
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
	ck_assert_msg(run.out[0] == '\0', "case %d without --json wrote to stdout: %s", _i, run.out);
	/* A command's own usage error ends with where to read more, on the same line. */
	if (strncmp(run.err, "vfguard plan: ", 14) == 0)
		ck_assert_msg(strstr(run.err, ". Try 'vfguard plan --help'.\n"), "case %d: %s", _i, run.err);
	test_run_free(&run);

	/* With --json anywhere, also after the mistake: the same error as a JSON object on stdout (vfguard(8)). */
	const char *with_json[13] = {NULL};
	size_t n = 0;
	for (; usage_errors[_i].args[n]; n++)
		with_json[n] = usage_errors[_i].args[n];
	if (n > 0) {
		with_json[n] = "--json";
		test_cli(&run, with_json);
		ck_assert_msg(run.status == 2, "exit %d for case %d with --json: %s", run.status, _i, run.err);
		ck_assert_msg(strstr(run.err, usage_errors[_i].message), "case %d with --json: %s", _i, run.err);
		json_object *out = test_json_parse(run.out);
		json_object *error = test_json_typed(out, "error", json_type_object);
		ck_assert_msg(strstr(test_json_string(error, "message"), usage_errors[_i].message), "case %d: %s", _i,
			      run.out);
		json_object_put(out);
		test_run_free(&run);
	}
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

/* A VM process in a mount namespace and in cgroups of its own (vfguard refuses the test's own). */
static pid_t vm_child(void)
{
	char v1[256], v2[256];
	ck_assert_int_eq(test_cgroup_make_own(TEST_CGROUP_V1, v1, sizeof(v1)), 0);
	ck_assert_int_eq(test_cgroup_make_own(TEST_CGROUP_V2, v2, sizeof(v2)), 0);
	pid_t child = test_cgroup_child_in((const char *[]){v1, v2, NULL}, true);
	ck_assert_int_gt(child, 0);
	return child;
}

/*
 * The dry run says what apply would do as the journal stands now: a group
 * another domain holds is apply's own refusal, shown (exit 0: a dry run
 * changes nothing, so nothing failed), and a grant the domain holds
 * already is marked held, since apply keeps it ("N already held").
 */
/* vfguard apply of 01:00.0 (legacy) for @domain as uid and gid @id, with @flags (--dry-run, --json; NULL-ended). */
static void apply_group7(test_run *run, const char *root, const char *domain, const char *id, const char *const *flags)
{
	const char *argv[16] = {"apply",
				"--root",
				root,
				"--domain",
				domain,
				"--uid",
				id,
				"--gid",
				id,
				"--hostdev",
				"01:00.0,backend=legacy"};
	size_t n = 11;
	for (size_t i = 0; flags[i]; i++)
		argv[n++] = flags[i];
	argv[n] = NULL;
	test_cli(run, argv);
}

START_TEST(dry_run_shows_a_group_another_domain_holds_and_the_grants_held_already)
{
	const char *root = test_root_new(host);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/vfio"), 0660), 0); /* the container needs a grant too */
	const char *const none[] = {NULL}, *const dry_run[] = {"--dry-run", NULL},
			  *const dry_run_json[] = {"--dry-run", "--json", NULL};
	test_run run;
	apply_group7(&run, root, "vm2", "107", none);
	ck_assert_msg(run.status == 0, "%s", run.err);
	test_run_free(&run);

	/* Another domain's dry run of the same group: apply's refusal, in text and JSON; then apply fails with it. */
	apply_group7(&run, root, "vm3", "108", dry_run);
	ck_assert_msg(run.status == 0 &&
			      strstr(run.out, "apply would refuse: 0000:01:00.0: IOMMU group 7 belongs to domain vm2"),
		      "exit %d: %s%s", run.status, run.out, run.err);
	test_run_free(&run);
	apply_group7(&run, root, "vm3", "108", dry_run_json);
	ck_assert_int_eq(run.status, 0);
	json_object *result = test_json_parse(run.out);
	ck_assert_msg(strstr(test_json_string(result, "apply_refusal"), "IOMMU group 7 belongs to domain vm2"), "%s",
		      run.out);
	json_object_put(result);
	test_run_free(&run);
	apply_group7(&run, root, "vm3", "108", none);
	ck_assert_msg(run.status == 1 && strstr(run.err, "IOMMU group 7 belongs to domain vm2"), "%s", run.err);
	test_run_free(&run);

	/* vm2's own dry run: every grant it would make, it holds; the apply after it keeps as many. */
	apply_group7(&run, root, "vm2", "107", dry_run_json);
	ck_assert_msg(run.status == 0, "%s", run.err);
	result = test_json_parse(run.out);
	expect_null(result, "apply_refusal");
	size_t n_steps;
	json_object *steps = test_json_array(result, "steps", &n_steps);
	ck_assert_uint_gt(n_steps, 0);
	for (size_t i = 0; i < n_steps; i++)
		ck_assert_msg(test_json_bool(json_object_array_get_idx(steps, i), "held"), "step %zu: %s", i, run.out);
	json_object_put(result);
	test_run_free(&run);
	char kept[64];
	snprintf(kept, sizeof(kept), "0 changes made, %zu already held", n_steps);
	apply_group7(&run, root, "vm2", "107", none);
	ck_assert_msg(run.status == 0 && strstr(run.out, kept), "expected '%s': %s%s", kept, run.out, run.err);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(dry_run_lists_only_the_changes_in_apply_order)
{
	const char *root = test_root_new(host);
	pid_t child = vm_child();
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
	test_cgroup_child_stop(child);
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

/* ---- text for people: 120 columns, --wide, nothing lost ---------------------------------- */

/* A domain with every labeler active: a pid in a private mount namespace, a cgroup v2, SELinux labels forced. */
#define FULL_DOMAIN_ARGS(pid)                                                                                         \
	"--domain", "example-vm", "--uuid", "c7a5fdbd-cdaf-9455-926a-d65c16db1809", "--uid", "64055", "--gid",        \
		"64055", "--selinux", "force", "--selinux-label", "system_u:system_r:svirt_t:s0:c512,c1023", "--pid", \
		(pid), "--cgroup", "/sys/fs/cgroup/unified", "--memory", "64G", "--viommu"

/* plan, or apply --dry-run, of the full domain on @root with the hostdevs @bdfs, each with @suffix; it must succeed. */
static void run_full_domain(test_run *run, bool dry_run, const char *root, const char *pid, const char *const *bdfs,
			    const char *suffix)
{
	const char *argv[128] = {dry_run ? "apply" : "plan", "--root", root, FULL_DOMAIN_ARGS(pid)};
	static char specs[32][64];
	size_t n = 0;
	while (argv[n])
		n++;
	for (size_t i = 0; bdfs[i]; i++) {
		ck_assert(i < 32 && n + 4 < sizeof(argv) / sizeof(argv[0]));
		snprintf(specs[i], sizeof(specs[i]), "%s%s", bdfs[i], suffix);
		argv[n++] = "--hostdev";
		argv[n++] = specs[i];
	}
	if (dry_run)
		argv[n++] = "--dry-run";
	test_cli(run, argv);
	ck_assert_msg(run->status == 0, "%s on %s, hostdevs%s: exit %d: %s", argv[0], root, suffix, run->status,
		      run->err);
}

/* Build the host manifest @file with the tool the README uses, build/hosttree/vfguard-mkhost, into a new root. */
static const char *mkhost(const char *file)
{
	static char root[64];
	snprintf(root, sizeof(root), "/tmp/vfguard-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	const char *tool = getenv("VFGUARD_MKHOST");
	ck_assert_msg(tool != NULL, "VFGUARD_MKHOST is not set (meson test sets it)");
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		execl(tool, tool, file, root, (char *)NULL);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "vfguard-mkhost %s failed", file);
	return root;
}

/* The functions of a manifest that plan alone (vfio-pci in a viable group), NULL-terminated in @bdfs. */
static size_t assignable_functions(const char *file, const char *root, char bdfs[][16], const char **list, size_t max)
{
	char *manifest = test_read_nonempty(file);
	size_t n = 0;
	for (char *line = strtok(manifest, "\n"); line && n + 1 < max; line = strtok(NULL, "\n")) {
		if (strncmp(line, "device ", 7) != 0 || !strstr(line, " driver=vfio-pci"))
			continue;
		snprintf(bdfs[n], 16, "%.12s", line + 7);
		test_run run;
		test_cli(&run,
			 (const char *[]){"plan", "--root", root, "--domain", "probe", "--hostdev", bdfs[n], NULL});
		if (run.status == 0) {
			list[n] = bdfs[n];
			n++;
		}
		test_run_free(&run);
	}
	list[n] = NULL;
	free(manifest);
	return n;
}

START_TEST(plan_and_dry_run_fit_120_columns_on_every_example_host)
{
	const char *dir = getenv("VFGUARD_EXAMPLE_HOSTS");
	ck_assert_msg(dir != NULL, "VFGUARD_EXAMPLE_HOSTS is not set (meson test sets it)");
	char pattern[4096];
	snprintf(pattern, sizeof(pattern), "%s/*.host", dir);
	glob_t hosts;
	ck_assert_int_eq(glob(pattern, 0, NULL, &hosts), 0);
	ck_assert_uint_ge(hosts.gl_pathc, 3);
	pid_t child = test_child_in_new_mount_namespace();
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)child);
	const char *const variants[] = {"", ",access=fd", ",backend=legacy", ",backend=legacy,access=fd"};

	for (size_t h = 0; h < hosts.gl_pathc; h++) {
		const char *root = mkhost(hosts.gl_pathv[h]);
		char bdfs[32][16];
		const char *list[32];
		ck_assert_msg(assignable_functions(hosts.gl_pathv[h], root, bdfs, list, 32) > 0,
			      "%s: nothing to assign", hosts.gl_pathv[h]);
		for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
			for (int dry_run = 0; dry_run <= 1; dry_run++) {
				test_run run;
				run_full_domain(&run, dry_run, root, pid, list, variants[v]);
				char what[4352];
				snprintf(what, sizeof(what), "%s %s, hostdevs%s", dry_run ? "dry run" : "plan",
					 hosts.gl_pathv[h], variants[v]);
				/* every labeler active: the widest cells there are */
				ck_assert_msg(dry_run || !strstr(run.out, "inactive"), "%s:\n%.3000s", what, run.out);
				test_expect_lines_fit(run.out, 120, what);
				test_run_free(&run);
			}
		}
		test_root_remove(root);
	}
	test_child_stop(child);
	globfree(&hosts);
}
END_TEST

/* Eight groups of two functions and a group of eight: 17 hostdevs, long group lines. */
static char *many_hostdevs_host(const char **list, char bdfs[][16])
{
	char *manifest = calloc(1, 16384);
	ck_assert_ptr_nonnull(manifest);
	size_t used = snprintf(manifest, 16384, "misc vfio 10:196\nmisc iommu 10:257\n");
	size_t n = 0;
	for (unsigned g = 0; g < 8; g++) {
		used += snprintf(manifest + used, 16384 - used, "group %u 241:%u\n", 100 + g, g);
		for (unsigned f = 0; f < 2; f++) {
			snprintf(bdfs[n], 16, "0000:%02x:00.%u", 0x81 + g, f);
			used += snprintf(manifest + used, 16384 - used,
					 "device %s group=%u vendor=10de device=2204 class=030000 driver=vfio-pci "
					 "cdev=vfio%zu:237:%zu\n",
					 bdfs[n], 100 + g, n, n);
			list[n] = bdfs[n];
			n++;
		}
	}
	used += snprintf(manifest + used, 16384 - used, "group 200 241:100\n");
	for (unsigned f = 0; f < 8; f++)
		used += snprintf(manifest + used, 16384 - used,
				 "device 0000:c0:00.%u group=200 vendor=8086 device=1572 class=020000%s\n", f,
				 f == 0 ? " driver=vfio-pci cdev=vfio99:237:99" : "");
	snprintf(bdfs[n], 16, "0000:c0:00.0");
	list[n] = bdfs[n];
	list[n + 1] = NULL;
	return manifest;
}

START_TEST(plan_and_dry_run_fit_120_columns_with_many_hostdevs)
{
	char bdfs[32][16];
	const char *list[32];
	char *manifest = many_hostdevs_host(list, bdfs);
	const char *root = test_root_new(manifest);
	pid_t child = test_child_in_new_mount_namespace();
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)child);
	const char *const variants[] = {"", ",access=fd", ",backend=legacy"};
	for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
		for (int dry_run = 0; dry_run <= 1; dry_run++) {
			test_run run;
			run_full_domain(&run, dry_run, root, pid, list, variants[v]);
			/* the plan lists the group of eight, the dry run the last node */
			const char *last = !dry_run ? "0000:c0:00.7"
					   : v == 2 ? "/dev/vfio/200"
						    : "/dev/vfio/devices/vfio99";
			ck_assert_msg(strstr(run.out, last), "%.2000s", run.out);
			test_expect_lines_fit(run.out, 120, dry_run ? "dry run" : "plan");
			test_run_free(&run);
		}
	}
	test_child_stop(child);
	free(manifest);
	test_root_remove(root);
}
END_TEST

/* @text with every run of spaces and newlines made one space: wrapping changes nothing in it. */
static char *squeeze(const char *text)
{
	char *out = strdup(text), *w = out;
	ck_assert_ptr_nonnull(out);
	for (const char *r = text; *r; r++) {
		bool space = *r == ' ' || *r == '\n';
		if (space && w > out && w[-1] == ' ')
			continue;
		*w++ = space ? ' ' : *r;
	}
	*w = '\0';
	return out;
}

/* One plan of the full domain with both GPU functions (legacy), as text and as JSON. */
typedef struct plan_both_ways {
	const char *root;
	pid_t child;
	test_run run, json_run;
	json_object *steps; /* of the JSON plan */
	json_object *plan;
} plan_both_ways;

static void plan_both_ways_run(plan_both_ways *p, const char *text_option)
{
	p->root = test_root_new(host);
	p->child = test_child_in_new_mount_namespace();
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)p->child);
	const char *args[] = {"plan",      "--root",
			      p->root,     FULL_DOMAIN_ARGS(pid),
			      "--hostdev", "01:00.0,backend=legacy",
			      "--hostdev", "01:00.1,backend=legacy",
			      text_option, NULL};
	test_cli(&p->run, args);
	ck_assert_msg(p->run.status == 0, "exit %d: %s", p->run.status, p->run.err);
	args[sizeof(args) / sizeof(args[0]) - 2] = "--json";
	test_cli(&p->json_run, args);
	ck_assert_msg(p->json_run.status == 0, "exit %d: %s", p->json_run.status, p->json_run.err);
	p->plan = test_json_parse(p->json_run.out);
	p->steps = test_json_member(p->plan, "steps");
}

static void plan_both_ways_free(plan_both_ways *p)
{
	json_object_put(p->plan);
	test_run_free(&p->json_run);
	test_run_free(&p->run);
	test_child_stop(p->child);
	test_root_remove(p->root);
}

START_TEST(plan_text_without_wide_still_holds_every_change_and_reason)
{
	plan_both_ways p;
	plan_both_ways_run(&p, NULL);
	char *text = squeeze(p.run.out);
	for (size_t i = 0; i < json_object_array_length(p.steps); i++) {
		json_object *step = json_object_array_get_idx(p.steps, i);
		char *detail = squeeze(test_json_string(step, "detail")),
		     *reason = squeeze(test_json_string(step, "reason"));
		ck_assert_msg(strstr(text, detail), "no '%s' in:\n%.3000s", detail, p.run.out);
		ck_assert_msg(strstr(text, reason), "no '%s' in:\n%.3000s", reason, p.run.out);
		free(detail);
		free(reason);
	}
	/* the table names the change by its first word, and the legend says where it is in full */
	ck_assert_msg(strstr(p.run.out, "  label  ") && strstr(p.run.out, "  chown  ") && strstr(p.run.out, "--wide"),
		      "%.3000s", p.run.out);
	free(text);
	plan_both_ways_free(&p);
}
END_TEST

START_TEST(plan_wide_puts_every_change_in_full_in_the_table_and_wraps_nothing)
{
	plan_both_ways p;
	plan_both_ways_run(&p, "--wide");
	const char *out = p.run.out;
	for (size_t i = 0; i < json_object_array_length(p.steps); i++) {
		json_object *step = json_object_array_get_idx(p.steps, i);
		const char *path = test_json_string(step, "node"), *detail = test_json_string(step, "detail");
		/* the node's row holds the change in full, the reason is one line */
		char row[1024];
		snprintf(row, sizeof(row), "\n  %s ", path);
		const char *start = strstr(out, row);
		ck_assert_msg(start, "no row for %s in:\n%.3000s", path, out);
		size_t length = strcspn(start + 1, "\n");
		ck_assert_msg(memmem(start + 1, length, detail, strlen(detail)), "row of %s has no '%s':\n%.*s", path,
			      detail, (int)length, start + 1);
		ck_assert_msg(strstr(out, test_json_string(step, "reason")), "no '%s' on one line in:\n%.3000s",
			      test_json_string(step, "reason"), out);
	}
	ck_assert_msg(strstr(out, "label system_u:object_r:svirt_image_t:s0:c512,c1023"), "%.3000s", out);
	/* wider than 120: nothing was cut to fit */
	bool wider = false;
	for (const char *line = out; *line; line += strcspn(line, "\n") + 1) {
		wider |= strcspn(line, "\n") > 120;
		if (!line[strcspn(line, "\n")])
			break;
	}
	ck_assert_msg(wider, "%.3000s", out);
	plan_both_ways_free(&p);
}
END_TEST

/* ---- the dry run of fd access ---------------------------------------------------------- */

START_TEST(dry_run_text_lists_each_fd_access_hostdev_its_nodes_and_every_layer)
{
	const char *root = test_root_new(host);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--dry-run", "--root", root, "--domain", "vm", "--uid", "107", "--gid",
					"107", "--cgroup", "/sys/fs/cgroup/unified", "--hostdev", "01:00.0,access=fd",
					"--hostdev", "01:00.1,backend=iommufd", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	char *text = squeeze(run.out);
	const char *expected[] = {
		"the manager, vfguard exec or vfguard fds, opens each node below and passes the fd to the hypervisor",
		"0000:01:00.0 (iommufd backend):",
		/* the hostdev's own cdev: opened by the manager, and each layer's answer */
		"/dev/vfio/devices/vfio0 (cdev 511:0): the manager opens it O_RDWR and passes the fd to the hypervisor",
		"dac not granted: fd access: DAC is checked only at open (may_open()); the manager opens the node",
		"cgroup not granted: fd access: the device cgroup checks only open and mknod, in the opener's cgroup "
		"(devcgroup_inode_permission())",
		"selinux inactive: SELinux is not enabled on this host",
		"apparmor not granted: fd access, AppArmor not enabled",
		"namespace not granted: fd access: the hypervisor looks no path up",
		/* /dev/iommu is 01:00.1's by path (path wins): granted in the steps, opened by the hypervisor */
		"/dev/iommu (iommufd 10:257): path access, since 0000:01:00.1 needs it: the hypervisor opens it itself",
	};
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		ck_assert_msg(strstr(text, expected[i]), "no '%s' in:\n%.3000s", expected[i], run.out);
	ck_assert_msg(!strstr(text, "0000:01:00.1 (iommufd backend):"), "a path-access hostdev is listed:\n%.3000s",
		      run.out);
	free(text);
	test_run_free(&run);

	/* alone, the manager opens /dev/iommu too, and sets its accounting; a label is a step, numbered */
	test_cli(&run, (const char *[]){"apply", "--dry-run", "--root", root, "--domain", "vm", "--uid", "107", "--gid",
					"107", "--selinux", "force", "--selinux-label",
					"system_u:system_r:svirt_t:s0:c1,c2", "--hostdev", "01:00.0,access=fd", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	text = squeeze(run.out);
	const char *alone[] = {
		"/dev/iommu (iommufd 10:257): the manager opens it O_RDWR and passes the fd to the hypervisor; right "
		"after the open it sets IOMMU_OPTION RLIMIT_MODE=1",
		"selinux granted, step 1: label system_u:object_r:vfio_device_t:s0",
		"selinux granted, step 2: label system_u:object_r:svirt_image_t:s0:c1,c2",
	};
	for (size_t i = 0; i < sizeof(alone) / sizeof(alone[0]); i++)
		ck_assert_msg(strstr(text, alone[i]), "no '%s' in:\n%.3000s", alone[i], run.out);
	free(text);
	test_run_free(&run);

	/* legacy: the container and the group, one fd for the group's functions; none of it without fd access */
	test_cli(&run, (const char *[]){"apply", "--dry-run", "--root", root, "--domain", "vm", "--hostdev",
					"01:00.0,backend=legacy,access=fd", "--hostdev",
					"01:00.1,backend=legacy,access=fd", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	text = squeeze(run.out);
	ck_assert_msg(strstr(text, "/dev/vfio/vfio (container 10:196): the manager opens it O_RDWR") &&
			      strstr(text, "/dev/vfio/7 (group 243:0): the manager opens it O_RDWR and passes the fd "
					   "to the hypervisor; one fd for every function of IOMMU group 7") &&
			      strstr(text, "0000:01:00.1 (legacy backend): /dev/vfio/vfio (container 10:196): the "
					   "manager opens it once for the domain, as above"),
		      "%.3000s", run.out);
	free(text);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"apply", "--dry-run", "--root", root, "--domain", "vm", "--hostdev",
					"01:00.0,backend=legacy", NULL});
	ck_assert_msg(!strstr(run.out, "fd access"), "%.3000s", run.out);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

/* The fd_access entry of @hostdev's node @path in a dry run's JSON. */
static json_object *fd_access_node(json_object *result, const char *hostdev, const char *path)
{
	json_object *list = test_json_member(result, "fd_access");
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *entry = json_object_array_get_idx(list, i);
		if (strcmp(test_json_string(entry, "hostdev"), hostdev) != 0)
			continue;
		json_object *nodes = test_json_member(entry, "nodes");
		for (size_t n = 0; n < json_object_array_length(nodes); n++)
			if (strcmp(test_json_string(json_object_array_get_idx(nodes, n), "path"), path) == 0)
				return json_object_array_get_idx(nodes, n);
	}
	ck_abort_msg("no fd_access node %s of %s", path, hostdev);
	return NULL;
}

/* The layer of @labeler in an fd_access node. */
static json_object *fd_layer(json_object *node, const char *labeler)
{
	json_object *layers = test_json_member(node, "layers");
	for (size_t i = 0; i < json_object_array_length(layers); i++)
		if (strcmp(test_json_string(json_object_array_get_idx(layers, i), "labeler"), labeler) == 0)
			return json_object_array_get_idx(layers, i);
	ck_abort_msg("no %s layer", labeler);
	return NULL;
}

START_TEST(dry_run_json_lists_each_fd_access_hostdev_its_nodes_and_every_layer)
{
	const char *root = test_root_new(host);
	test_run run;
	test_cli(&run, (const char *[]){"apply",
					"--dry-run",
					"--json",
					"--root",
					root,
					"--domain",
					"vm",
					"--uid",
					"107",
					"--gid",
					"107",
					"--selinux",
					"force",
					"--selinux-label",
					"system_u:system_r:svirt_t:s0:c1,c2",
					"--cgroup",
					"/sys/fs/cgroup/unified",
					"--hostdev",
					"01:00.0,access=fd",
					"--hostdev",
					"01:00.1,backend=iommufd",
					NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	json_object *result = test_json_parse(run.out);
	ck_assert_uint_eq(json_object_array_length(test_json_member(result, "fd_access")), 1);
	ck_assert_str_eq(
		test_json_string(json_object_array_get_idx(test_json_member(result, "fd_access"), 0), "backend"),
		"iommufd");

	json_object *cdev = fd_access_node(result, "0000:01:00.0", "/dev/vfio/devices/vfio0");
	ck_assert_str_eq(test_json_string(cdev, "kind"), "cdev");
	ck_assert_str_eq(test_json_string(cdev, "rdev"), "511:0");
	ck_assert_str_eq(test_json_string(cdev, "opened_by"), "manager");
	expect_null(cdev, "path_access_for");
	ck_assert(!test_json_bool(cdev, "sets_rlimit_mode"));
	ck_assert_uint_eq(json_object_array_length(test_json_member(cdev, "layers")), 5);
	json_object *layer = fd_layer(cdev, "dac");
	ck_assert_str_eq(test_json_string(layer, "action"), "none");
	expect_null(layer, "step");
	ck_assert_ptr_nonnull(strstr(test_json_string(layer, "reason"), "may_open()"));
	layer = fd_layer(cdev, "cgroup");
	ck_assert_str_eq(test_json_string(layer, "action"), "none");
	ck_assert_ptr_nonnull(strstr(test_json_string(layer, "reason"), "devcgroup_inode_permission()"));
	layer = fd_layer(cdev, "apparmor");
	ck_assert_str_eq(test_json_string(layer, "action"), "none");
	ck_assert_ptr_nonnull(strstr(test_json_string(layer, "reason"), "unconfined opener"));
	/* SELinux checks the label on receive: a step, and its number is the step's place in "steps" */
	layer = fd_layer(cdev, "selinux");
	ck_assert_str_eq(test_json_string(layer, "action"), "grant");
	ck_assert_str_eq(test_json_string(layer, "detail"), "label system_u:object_r:svirt_image_t:s0:c1,c2");
	json_object *step =
		json_object_array_get_idx(test_json_member(result, "steps"), test_json_int(layer, "step") - 1);
	ck_assert_str_eq(test_json_string(step, "labeler"), "selinux");
	ck_assert_str_eq(test_json_string(step, "node"), "/dev/vfio/devices/vfio0");

	/* /dev/iommu is 01:00.1's by path: the hypervisor opens it */
	json_object *iommu = fd_access_node(result, "0000:01:00.0", "/dev/iommu");
	ck_assert_str_eq(test_json_string(iommu, "opened_by"), "hypervisor");
	ck_assert_str_eq(test_json_string(iommu, "path_access_for"), "0000:01:00.1");
	ck_assert_str_eq(test_json_string(fd_layer(iommu, "dac"), "action"), "grant");
	json_object_put(result);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"apply", "--dry-run", "--json", "--root", root, "--domain", "vm", "--hostdev",
					"01:00.0,access=fd", NULL});
	result = test_json_parse(run.out);
	iommu = fd_access_node(result, "0000:01:00.0", "/dev/iommu");
	ck_assert_str_eq(test_json_string(iommu, "opened_by"), "manager");
	ck_assert(test_json_bool(iommu, "sets_rlimit_mode"));
	json_object_put(result);
	test_run_free(&run);

	/* no fd access: an empty list */
	test_cli(&run, (const char *[]){"apply", "--dry-run", "--json", "--root", root, "--domain", "vm", "--hostdev",
					"01:00.0", NULL});
	result = test_json_parse(run.out);
	ck_assert_uint_eq(json_object_array_length(test_json_member(result, "fd_access")), 0);
	json_object_put(result);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

/* The keys and attributes come from the labelers' tables: what is loaded is listed, what nobody declares refused. */
START_TEST(config_lists_the_labelers_keys_and_attributes_and_refuses_a_key_nobody_declares)
{
	const char *root = test_root_new(host);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "selinux_policy = /p\n");
	test_run run;
	test_cli(&run, (const char *[]){"config", "--root", root, "--json", NULL});
	ck_assert_msg(run.status == 0, "config: %s%s", run.out, run.err);
	ck_assert_msg(strstr(run.out, "{\"name\": \"selinux_policy\", \"owner\": \"selinux\", \"value\": \"/p\", "
				      "\"default\": \"\""),
		      "%s", run.out);
	ck_assert_msg(strstr(run.out, "{\"name\": \"cgroup_foreign_programs\", \"owner\": \"cgroup\""), "%s", run.out);
	ck_assert_msg(strstr(run.out, "{\"name\": \"cgroup.path\", \"labeler\": \"cgroup\""), "%s", run.out);
	test_run_free(&run);

	/* Without the selinux labeler its key is kept and unused; a key of no labeler at all is refused. */
	test_cli(&run, (const char *[]){"config", "--root", root, "--set", "labelers=dac", NULL});
	ck_assert_msg(run.status == 0 && !strstr(run.out, "selinux_policy"), "config: %s%s", run.out, run.err);
	test_run_free(&run);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "\ncolour = red\n");
	test_cli(&run, (const char *[]){"config", "--root", root, NULL});
	ck_assert_msg(run.status == 1 && strstr(run.err, "vfguard.conf: line 2: unknown key 'colour'"), "%s%s", run.out,
		      run.err);
	test_run_free(&run);
	/*
	 * The values a --set gives are usage errors (the usage loop); the same in
	 * the file is a broken host configuration: exit 1, naming file and line.
	 */
	static const struct {
		const char *file, *message;
	} in_file[] = {
		{"labelers = dac nosuch\n", "vfguard.conf: line 1: labelers: "},
		{"\nlabelers = dac dac\n", "vfguard.conf: line 2: labelers: dac: labeler listed twice"},
		{"state_dir = run\n", "vfguard.conf: line 1: state_dir: run: state_dir must be an absolute path"},
		{"plugin_dir = /nonexistent-vfguard-plugins\n",
		 "vfguard.conf: line 1: plugin_dir: /nonexistent-vfguard-plugins: no labeler"},
	};
	const char *plugins = getenv("VFGUARD_BUILT_PLUGIN_DIR");
	ck_assert_ptr_nonnull(plugins);
	for (size_t i = 0; i < sizeof(in_file) / sizeof(in_file[0]); i++) {
		test_write_file(root, "/etc/vfguard/vfguard.conf", in_file[i].file);
		test_cli(&run,
			 (const char *[]){"plan", "--root", root, "--domain", "vm", "--hostdev", "02:00.0", NULL});
		ck_assert_msg(run.status == 1 && strstr(run.err, in_file[i].message), "case %zu: exit %d: %s%s", i,
			      run.status, run.out, run.err);
		test_run_free(&run);
		/* a --plugin-dir given, the file's mistake is still the file's (the message names that directory) */
		if (strncmp(in_file[i].file, "plugin_dir", 10) == 0)
			continue; /* --plugin-dir wins over the file's plugin_dir */
		test_cli(&run, (const char *[]){"plan", "--root", root, "--plugin-dir", plugins, "--domain", "vm",
						"--hostdev", "02:00.0", NULL});
		ck_assert_msg(run.status == 1 && strstr(run.err, in_file[i].message),
			      "case %zu, --plugin-dir: exit %d: %s%s", i, run.status, run.out, run.err);
		test_run_free(&run);
	}

	/* --attr takes only what a loaded labeler declares. */
	test_write_file(root, "/etc/vfguard/vfguard.conf", "");
	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm", "--hostdev", "02:00.0", "--attr",
					"cgroup.colour=red", NULL});
	ck_assert_msg(run.status == 2 && strstr(run.err, "cgroup.colour") &&
			      strstr(run.err, "no loaded labeler declares this domain attribute"),
		      "%s%s", run.out, run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm", "--hostdev", "02:00.0", "--attr",
					"cgroup.path=relative", NULL});
	ck_assert_msg(run.status == 2 && strstr(run.err, "expected an absolute path"), "%s%s", run.out, run.err);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

/*
 * vfguard runs as root: the configuration names the plugins it loads and the
 * programs it runs, and a plugin's code runs once loaded. A security trial
 * had a 0666 configuration of uid 1000 point plugin_dir at its own module,
 * whose constructor ran as root. Neither is taken unless only root can have
 * written it (and its folder); the error names the file and the fix.
 */
START_TEST(a_configuration_or_plugin_others_could_write_is_refused)
{
	const char *root = test_root_new(host);
	const char *plugins = getenv("VFGUARD_BUILT_PLUGIN_DIR");
	ck_assert_ptr_nonnull(plugins);
	const char *conf = test_path(root, "/etc/vfguard/vfguard.conf");
	const char *plan[] = {"plan", "--root", root, "--domain", "vm", "--hostdev", "01:00.0", NULL};
	test_run run;
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	struct {
		uid_t uid;
		mode_t mode;
		const char *message;
	} files[] = {
		{1000, 0644, "configuration is owned by uid 1000 with mode 0644"},
		{0, 0666, "configuration is owned by uid 0 with mode 0666"},
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		ck_assert_int_eq(chown(conf, files[i].uid, 0), 0);
		ck_assert_int_eq(chmod(conf, files[i].mode), 0);
		test_cli(&run, plan);
		ck_assert_msg(run.status == 1 && strstr(run.err, conf) && strstr(run.err, files[i].message) &&
				      strstr(run.err, "chown root, chmod go-w"),
			      "case %zu: exit %d: %s", i, run.status, run.err);
		test_run_free(&run);
	}
	ck_assert_int_eq(chown(conf, 0, 0), 0);
	ck_assert_int_eq(chmod(conf, 0644), 0);
	/* The configuration's folder, writable by others, could have the file replaced. */
	ck_assert_int_eq(chmod(test_path(root, "/etc/vfguard"), 0777), 0);
	test_cli(&run, plan);
	ck_assert_msg(run.status == 1 && strstr(run.err, "configuration's folder is owned by uid 0 with mode 0777"),
		      "%s", run.err);
	test_run_free(&run);
	ck_assert_int_eq(chmod(test_path(root, "/etc/vfguard"), 0755), 0);

	/* A labeler module of uid 1000: refused before it is loaded, by name. */
	char dir[4200], module[4300], command[9000];
	snprintf(dir, sizeof(dir), "%s/plugins", root);
	snprintf(module, sizeof(module), "%s/vfguard-dac.so", dir);
	snprintf(command, sizeof(command), "mkdir %s && cp %s/vfguard-dac.so %s", dir, plugins, module);
	ck_assert_int_eq(system(command), 0);
	ck_assert_int_eq(chown(module, 1000, 1000), 0);
	const char *with_dir[] = {"plan",     "--root", root,        "--plugin-dir", dir,
				  "--domain", "vm",     "--hostdev", "01:00.0",      NULL};
	test_cli(&run, with_dir);
	ck_assert_msg(run.status == 1 && strstr(run.err, module) &&
			      strstr(run.err, "labeler module is owned by uid 1000 with mode 0755"),
		      "exit %d: %s", run.status, run.err);
	test_run_free(&run);
	/* Root's, under a folder others may write above its own: its place could be taken (a review). */
	ck_assert_int_eq(chown(module, 0, 0), 0);
	char open_dir[4300], moved[4400];
	snprintf(open_dir, sizeof(open_dir), "%s/open", root);
	snprintf(moved, sizeof(moved), "%s/open/plugins", root);
	ck_assert_int_eq(mkdir(open_dir, 0777), 0);
	ck_assert_int_eq(chmod(open_dir, 0777), 0);
	ck_assert_int_eq(rename(dir, moved), 0);
	const char *under_open[] = {"plan",     "--root", root,        "--plugin-dir", moved,
				    "--domain", "vm",     "--hostdev", "01:00.0",      NULL};
	test_cli(&run, under_open);
	ck_assert_msg(run.status == 1 && strstr(run.err, open_dir) &&
			      strstr(run.err, "labeler module's folder is owned by uid 0 with mode 0777"),
		      "exit %d: %s", run.status, run.err);
	test_run_free(&run);
	ck_assert_int_eq(rename(moved, dir), 0);
	/* Root's again: the same module loads and plans. */
	test_cli(&run, with_dir);
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

static Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("plan output");
	tcase_add_test(tc, plan_json_parses_back_field_by_field);
	tcase_add_test(tc, plan_names_the_variant_driver_a_managed_hostdev_is_bound_to);
	tcase_add_test(tc, legacy_plan_names_each_vfio_bound_group_mate_in_text_and_json);
	tcase_add_test(tc, iommufd_plan_has_no_group_mates);
	tcase_add_test(tc, plan_text_shows_the_table_and_the_reasons);
	tcase_add_test(tc, plan_for_a_group_with_a_host_driver_exits_1_naming_function_and_driver);
	tcase_add_test(tc, plan_of_a_managed_hostdev_on_its_host_driver_says_apply_binds_it);
	tcase_add_test(tc, root_comes_from_vfguard_root_when_not_given);
	tcase_add_loop_test(tc, an_empty_root_or_a_state_dir_leading_out_of_the_root_is_refused_and_nothing_changes, 0,
			    sizeof(root_escapes) / sizeof(root_escapes[0]));
	tcase_add_test(tc, vfguard_root_set_and_empty_is_unset);
	tcase_add_test(tc, a_control_byte_in_the_input_is_shown_escaped_on_one_line);
	tcase_add_test(tc, a_kernel_without_openat2_is_named_in_the_message);
	suite_add_tcase(s, tc);

	tc = tcase_create("text width");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, plan_and_dry_run_fit_120_columns_on_every_example_host);
	tcase_add_test(tc, plan_and_dry_run_fit_120_columns_with_many_hostdevs);
	tcase_add_test(tc, plan_text_without_wide_still_holds_every_change_and_reason);
	tcase_add_test(tc, plan_wide_puts_every_change_in_full_in_the_table_and_wraps_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("usage");
	tcase_add_loop_test(tc, usage_errors_exit_2_with_a_clear_message, 0,
			    sizeof(usage_errors) / sizeof(usage_errors[0]));
	tcase_add_test(tc, every_subcommand_has_help);
	tcase_add_test(tc, config_lists_the_labelers_keys_and_attributes_and_refuses_a_key_nobody_declares);
	tcase_add_test(tc, a_configuration_or_plugin_others_could_write_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("apply");
	tcase_add_unchecked_fixture(tc, test_cgroup_runner_setup, test_cgroup_runner_teardown);
	tcase_add_test(tc, apply_that_fails_at_a_grant_exits_1_and_changes_nothing);
	tcase_add_test(tc, dry_run_lists_only_the_changes_in_apply_order);
	tcase_add_test(tc, dry_run_shows_a_group_another_domain_holds_and_the_grants_held_already);
	tcase_add_test(tc, dry_run_changes_nothing_in_the_tree);
	tcase_add_test(tc, dry_run_text_lists_each_fd_access_hostdev_its_nodes_and_every_layer);
	tcase_add_test(tc, dry_run_json_lists_each_fd_access_hostdev_its_nodes_and_every_layer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(cli_suite());
}
