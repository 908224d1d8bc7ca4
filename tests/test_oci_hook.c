/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The built OCI hook run as a runtime runs it: the container state on
 * standard input, a bundle whose config.json the test writes, a real child
 * process as the container's pid, a generated host tree (labelers = dac).
 * prestart grants the nodes and raises the pid's RLIMIT_MEMLOCK; poststop
 * puts everything back byte-exactly.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static const char host[] = "misc vfio 234:196\n"
			   "misc iommu 234:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci "
			   "cdev=vfio2:511:2\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio1:511:1\n";

#define UNCHANGED (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)
#define CAPABILITY_IPC_LOCK 14 /* include/uapi/linux/capability.h */
#define CHILD_LIMIT (1u << 20)
#define CHILD_HARD (8u << 20) /* the tests' own hard limit is 8 MiB or more */

typedef struct fixture {
	const char *root;
	char bundle[64];
	pid_t container;
} fixture;

/*
 * The container's process as a runtime leaves it at prestart: still root with
 * every capability, CAP_IPC_LOCK included (the runtime drops them later, just
 * before the program runs), and a soft RLIMIT_MEMLOCK of 1 MiB.
 */
static pid_t container_start(void)
{
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* Only the soft limit is low: raising a hard limit takes CAP_SYS_RESOURCE, which a container
		 * host may not give even root (this test machine does not). */
		struct rlimit limit = {.rlim_cur = CHILD_LIMIT, .rlim_max = CHILD_HARD};
		struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct data[2];
		bool ok = setrlimit(RLIMIT_MEMLOCK, &limit) == 0 && syscall(SYS_capget, &header, data) == 0 &&
			  (data[0].effective >> CAPABILITY_IPC_LOCK & 1);
		(void)!write(ready[1], ok ? "y" : "n", 1);
		for (;;)
			pause();
	}
	char answer = 0;
	ck_assert_int_eq(read(ready[0], &answer, 1), 1);
	ck_assert_msg(answer == 'y', "the container stand-in could not set its limit or lacks CAP_IPC_LOCK");
	close(ready[0]);
	close(ready[1]);
	return pid;
}

/* The soft RLIMIT_MEMLOCK of @pid as /proc/PID/limits shows it. */
static unsigned long long memlock_of(pid_t pid)
{
	struct rlimit limit;
	ck_assert_int_eq(prlimit(pid, RLIMIT_MEMLOCK, NULL, &limit), 0);
	return (unsigned long long)limit.rlim_cur;
}

static void fixture_open(fixture *f, const char *config)
{
	f->root = test_root_new(host);
	/* No extra: the limit the pid needs is the guest memory alone, below its hard limit. */
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", "labelers = dac\nmemlock_extra = 0\n");
	ck_assert_int_eq(chmod(test_path(f->root, "/dev/vfio/vfio"), 0660), 0);
	snprintf(f->bundle, sizeof(f->bundle), "/tmp/vfguard-bundle-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->bundle));
	char path[128];
	snprintf(path, sizeof(path), "%s/config.json", f->bundle);
	FILE *out = fopen(path, "w");
	ck_assert_ptr_nonnull(out);
	fputs(config, out);
	fclose(out);
	f->container = container_start();
}

static void fixture_close(fixture *f)
{
	kill(f->container, SIGKILL);
	waitpid(f->container, NULL, 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/config.json", f->bundle);
	unlink(path);
	rmdir(f->bundle);
	test_root_remove(f->root);
}

typedef struct hook_run {
	int status;
	char *out;
	char *err;
} hook_run;

static char *slurp(int fd)
{
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	char *text = calloc(1, 65536);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_ge(read(fd, text, 65535), 0);
	close(fd);
	return text;
}

static int temp_file(void)
{
	char path[] = "/tmp/vfguard-oci-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	return fd;
}

/* Run the hook with @stage as its argument (NULL: none) and @state on stdin. */
static void hook(hook_run *run, const fixture *f, const char *stage, const char *state)
{
	const char *program = getenv("VFGUARD_OCI_HOOK");
	ck_assert_msg(program != NULL, "VFGUARD_OCI_HOOK is not set");
	int in = temp_file(), out = temp_file(), err = temp_file();
	ck_assert_int_eq(write(in, state, strlen(state)), (ssize_t)strlen(state));
	ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		setenv("VFGUARD_ROOT", f->root, 1);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execl(program, "vfguard-oci-hook", stage, (char *)NULL);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	close(in);
	ck_assert(WIFEXITED(status));
	run->status = WEXITSTATUS(status);
	run->out = slurp(out);
	run->err = slurp(err);
}

static void hook_ok(const fixture *f, const char *stage, const char *state)
{
	hook_run run;
	hook(&run, f, stage, state);
	ck_assert_msg(run.status == 0 && !run.err[0] && !run.out[0], "%s: exit %d: %s", stage ? stage : "(status)",
		      run.status, run.err);
	free(run.out);
	free(run.err);
}

/* The state a runtime passes: status created with the pid at prestart, stopped at poststop. */
static char *state_json(const fixture *f, const char *status, const char *annotations)
{
	char *state;
	ck_assert_int_ge(asprintf(&state,
				  "{\"ociVersion\": \"1.0.2\", \"id\": \"ctr-4711\", \"status\": \"%s\", \"pid\": %d, "
				  "\"bundle\": \"%s\", \"annotations\": {%s}}",
				  status, strcmp(status, "created") == 0 ? (int)f->container : 0, f->bundle,
				  annotations),
			 0);
	return state;
}

static void expect_owner(const char *root, const char *logical, uid_t uid, gid_t gid)
{
	struct stat st;
	ck_assert_int_eq(lstat(test_path(root, logical), &st), 0);
	ck_assert_msg(st.st_uid == uid && st.st_gid == gid, "%s is %u:%u, expected %u:%u", logical, (unsigned)st.st_uid,
		      (unsigned)st.st_gid, (unsigned)uid, (unsigned)gid);
}

/* A container of uid 107 given the legacy group 7 (both its functions) through linux.devices. */
static const char config_group7[] =
	"{\"ociVersion\": \"1.0.2\",\n"
	" \"process\": {\"user\": {\"uid\": 107, \"gid\": 107}, \"args\": [\"/bin/dpdk-app\"]},\n"
	" \"linux\": {\"devices\": [\n"
	"   {\"path\": \"/dev/vfio/vfio\", \"type\": \"c\", \"major\": 234, \"minor\": 196},\n"
	"   {\"path\": \"/dev/vfio/7\", \"type\": \"c\", \"major\": 243, \"minor\": 0},\n"
	"   {\"path\": \"/dev/null\", \"type\": \"c\", \"major\": 1, \"minor\": 3}]}}\n";

START_TEST(prestart_grants_the_devices_and_poststop_restores_byte_exactly)
{
	fixture f;
	fixture_open(&f, config_group7);
	char *before = test_snapshot(f.root, UNCHANGED);
	/* A second hostdev by annotation, on iommufd: its cdev and /dev/iommu. */
	char *created = state_json(&f, "created",
				   "\"org.vfguard.hostdevs\": \"0000:02:00.0,backend=iommufd\", "
				   "\"org.vfguard.memory\": \"2M\"");
	char *stopped = state_json(&f, "stopped", "");

	hook_ok(&f, "prestart", created);
	expect_owner(f.root, "/dev/vfio/7", 107, 107);
	expect_owner(f.root, "/dev/vfio/devices/vfio1", 107, 107);
	/* not the cdevs of the legacy group's functions, nor another device */
	expect_owner(f.root, "/dev/vfio/devices/vfio0", 0, 0);
	expect_owner(f.root, "/dev/vfio/8", 0, 0);
	/* the 2 MiB of guest memory pinned by the legacy container: above the 1 MiB it had */
	ck_assert_uint_ge(memlock_of(f.container), 2u << 20);
	ck_assert_uint_le(memlock_of(f.container), CHILD_HARD);

	hook_ok(&f, "poststop", stopped);
	test_snapshot_expect(f.root, UNCHANGED, before, "prestart then poststop");
	ck_assert_uint_eq(memlock_of(f.container), CHILD_LIMIT);
	free(created);
	free(stopped);
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * A configuration the hook cannot read at poststop: a runtime does not run
 * poststop again, so the line says the grants stay and which revoke takes
 * them back (an OCI trial; the libvirt hook said so, this one did not).
 */
START_TEST(poststop_under_a_broken_configuration_says_what_stays_and_how_it_goes)
{
	fixture f;
	fixture_open(&f, config_group7);
	char *created = state_json(&f, "created", "");
	char *stopped = state_json(&f, "stopped", "");
	hook_ok(&f, "prestart", created);
	test_write_file(f.root, "/etc/vfguard/vfguard.conf", "bogus_key = 1\n");
	hook_run run;
	hook(&run, &f, "poststop", stopped);
	ck_assert_msg(run.status == 1 &&
			      strstr(run.err, "nothing was revoked: whatever it holds stays granted until "
					      "vfguard revoke --domain") &&
			      strstr(run.err, "unknown key 'bogus_key'"),
		      "exit %d: %s", run.status, run.err);
	free(run.out);
	free(run.err);
	expect_owner(f.root, "/dev/vfio/7", 107, 107);
	test_write_file(f.root, "/etc/vfguard/vfguard.conf", "labelers = dac\nmemlock_extra = 0\n");
	hook_ok(&f, "poststop", stopped);
	expect_owner(f.root, "/dev/vfio/7", 0, 0);
	free(created);
	free(stopped);
	fixture_close(&f);
}
END_TEST

/*
 * A runtime may write "annotations": {} for none (runtime.md "State"): then
 * config.json's are read, here a second hostdev and the guest memory (a
 * trial found {} hiding them: memory 0, the hostdev never granted).
 */
START_TEST(an_empty_annotations_map_in_the_state_reads_config_json_annotations)
{
	static const char config[] =
		"{\"ociVersion\": \"1.0.2\",\n"
		" \"annotations\": {\"org.vfguard.hostdevs\": \"0000:02:00.0,backend=iommufd\",\n"
		"                 \"org.vfguard.memory\": \"2M\"},\n"
		" \"process\": {\"user\": {\"uid\": 107, \"gid\": 107}, \"args\": [\"/bin/dpdk-app\"]},\n"
		" \"linux\": {\"devices\": [\n"
		"   {\"path\": \"/dev/vfio/7\", \"type\": \"c\", \"major\": 243, \"minor\": 0}]}}\n";
	fixture f;
	fixture_open(&f, config);
	char *before = test_snapshot(f.root, UNCHANGED);
	char *created = state_json(&f, "created", ""), *stopped = state_json(&f, "stopped", "");
	hook_ok(&f, "prestart", created);
	expect_owner(f.root, "/dev/vfio/7", 107, 107);
	expect_owner(f.root, "/dev/vfio/devices/vfio1", 107, 107);
	ck_assert_uint_ge(memlock_of(f.container), 2u << 20);
	hook_ok(&f, "poststop", stopped);
	test_snapshot_expect(f.root, UNCHANGED, before, "prestart then poststop");
	free(created);
	free(stopped);
	free(before);
	fixture_close(&f);
}
END_TEST

/* prestart gives group 7's node to @uid:@gid; poststop puts the tree back byte for byte. */
static void prestart_and_poststop_grant_group7_to(const fixture *f, uid_t uid, gid_t gid)
{
	char *before = test_snapshot(f->root, UNCHANGED);
	char *created = state_json(f, "created", ""), *stopped = state_json(f, "stopped", "");
	hook_ok(f, "prestart", created);
	expect_owner(f->root, "/dev/vfio/7", uid, gid);
	hook_ok(f, "poststop", stopped);
	test_snapshot_expect(f->root, UNCHANGED, before, "prestart then poststop");
	free(created);
	free(stopped);
	free(before);
}

/* config_group7 with the device list a runtime turns into its own device program (crun, runc). */
static char *config_with_device_rules(const char *rules)
{
	char *config;
	ck_assert_int_ge(
		asprintf(&config,
			 "{\"ociVersion\": \"1.0.2\",\n"
			 " \"process\": {\"user\": {\"uid\": 107, \"gid\": 107}},\n"
			 " \"linux\": {\"devices\": [\n"
			 "   {\"path\": \"/dev/vfio/vfio\", \"type\": \"c\", \"major\": 234, \"minor\": 196},\n"
			 "   {\"path\": \"/dev/vfio/7\", \"type\": \"c\", \"major\": 243, \"minor\": 0}],\n"
			 "  \"resources\": {\"devices\": [%s]}}}\n",
			 rules),
		0);
	return config;
}

/*
 * With linux.resources.devices the runtime attaches its own device program to
 * the container's cgroup before prestart (crun); vfguard's would AND with it.
 * When the list allows every path node, vfguard leaves the cgroup to the
 * runtime: no program of its own (here the cgroup labeler, configured, would
 * otherwise refuse the test's own cgroup, which holds vfguard), the rest granted.
 */
START_TEST(a_runtime_device_list_that_allows_the_nodes_keeps_the_cgroup_labeler_out)
{
	fixture f;
	char *config = config_with_device_rules(
		"{\"allow\": false, \"access\": \"rwm\"}, "
		"{\"allow\": true, \"type\": \"c\", \"major\": 234, \"minor\": 196, \"access\": \"rwm\"}, "
		"{\"allow\": true, \"type\": \"c\", \"major\": 243, \"access\": \"rw\"}");
	fixture_open(&f, config);
	test_write_file(f.root, "/etc/vfguard/vfguard.conf", "labelers = dac, cgroup\nmemlock_extra = 0\n");
	prestart_and_poststop_grant_group7_to(&f, 107, 107);
	free(config);
	fixture_close(&f);
}
END_TEST

/* A list that denies a path node: the runtime's program would refuse the open whatever vfguard grants. */
START_TEST(a_runtime_device_list_that_denies_a_node_is_refused_naming_the_rule)
{
	static const struct {
		const char *rules, *reason;
	} cases[] = {
		{"{\"allow\": false, \"access\": \"rwm\"}", "/dev/vfio/vfio (c 234:196 rw)"},
		{"{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"c\", \"major\": 234, "
		 "\"minor\": 196}",
		 "/dev/vfio/7 (c 243:0 rw)"},
		/* read only, and a later deny of write taking back an earlier allow */
		{"{\"allow\": true, \"type\": \"c\", \"major\": 234, \"minor\": 196}, {\"allow\": true, \"type\": "
		 "\"c\", "
		 "\"major\": 243, \"minor\": 0, \"access\": \"r\"}",
		 "/dev/vfio/7 (c 243:0 rw)"},
		{"{\"allow\": true}, {\"allow\": false, \"type\": \"c\", \"major\": 243, \"access\": \"w\"}",
		 "/dev/vfio/7 (c 243:0 rw)"},
		{"{\"allow\": \"yes\"}", "has no boolean \"allow\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture f;
		char *config = config_with_device_rules(cases[i].rules);
		fixture_open(&f, config);
		char *before = test_snapshot(f.root, UNCHANGED);
		char *created = state_json(&f, "created", "");
		hook_run run;
		hook(&run, &f, "prestart", created);
		ck_assert_msg(run.status == 1 && strstr(run.err, cases[i].reason) &&
				      strchr(run.err, '\n') == run.err + strlen(run.err) - 1,
			      "case %zu: exit %d: '%s'", i, run.status, run.err);
		test_snapshot_expect(f.root, UNCHANGED, before, "a refused prestart");
		free(run.out);
		free(run.err);
		free(created);
		free(before);
		free(config);
		fixture_close(&f);
	}
}
END_TEST

/* --help: what the hook is and how a runtime calls it, exit 0; the state is not acted on (a trial found exit 1). */
START_TEST(help_says_how_a_runtime_calls_the_hook)
{
	fixture f;
	fixture_open(&f, config_group7);
	char *before = test_snapshot(f.root, UNCHANGED);
	char *created = state_json(&f, "created", "");
	for (const char *const *option = (const char *[]){"--help", "-h", NULL}; *option; option++) {
		hook_run run;
		hook(&run, &f, *option, created);
		ck_assert_msg(run.status == 0 && !run.err[0], "%s: exit %d: %s", *option, run.status, run.err);
		ck_assert_msg(strncmp(run.out, "Usage: vfguard-oci-hook [prestart|poststop]", 43) == 0 &&
				      strstr(run.out, "Exit status:"),
			      "%s", run.out);
		free(run.out);
		free(run.err);
	}
	test_snapshot_expect(f.root, UNCHANGED, before, "after --help");
	free(created);
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(without_an_argument_the_status_names_the_stage)
{
	fixture f;
	fixture_open(&f, config_group7);
	char *before = test_snapshot(f.root, UNCHANGED);
	char *created = state_json(&f, "created", "");
	char *stopped = state_json(&f, "stopped", "");
	hook_ok(&f, NULL, created);
	expect_owner(f.root, "/dev/vfio/7", 107, 107);
	hook_ok(&f, NULL, stopped);
	test_snapshot_expect(f.root, UNCHANGED, before, "status created then stopped");

	/* prestart named by the argument of a container already stopped (its last pid still in the state): refused */
	hook_run run;
	char *late = state_json(&f, "created", "");
	memcpy(strstr(late, "\"created\""), "\"stopped\"", 9);
	hook(&run, &f, "prestart", late);
	free(late);
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "status is stopped") && strstr(run.err, "nothing was changed"), "%s", run.err);
	free(run.out);
	free(run.err);
	test_snapshot_expect(f.root, UNCHANGED, before, "prestart of a stopped container");

	char *running = state_json(&f, "running", "");
	hook(&run, &f, NULL, running);
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "\"running\"") && strchr(run.err, '\n') == run.err + strlen(run.err) - 1, "%s",
		      run.err);
	free(run.out);
	free(run.err);
	free(running);
	free(created);
	free(stopped);
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(container_without_vfio_devices_is_left_alone)
{
	fixture f;
	fixture_open(&f, "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": 1000, \"gid\": 1000}}, "
			 "\"linux\": {\"devices\": [{\"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, "
			 "\"minor\": 229}]}}");
	char *before = test_snapshot(f.root, 0);
	char *created = state_json(&f, "created", "");
	hook_ok(&f, "prestart", created);
	test_snapshot_expect(f.root, 0, before, "a container without VFIO devices");
	ck_assert_uint_eq(memlock_of(f.container), CHILD_LIMIT);
	free(created);
	free(before);
	fixture_close(&f);
}
END_TEST

/* prestart with these annotations exits 1 with one line holding @reason, and changes nothing. */
static void expect_prestart_refused(const fixture *f, const char *annotations, const char *reason)
{
	char *before = test_snapshot(f->root, UNCHANGED);
	char *created = state_json(f, "created", annotations);
	hook_run run;
	hook(&run, f, "prestart", created);
	ck_assert_msg(run.status == 1 && strstr(run.err, reason), "exit %d, '%s', expected '%s'", run.status, run.err,
		      reason);
	free(run.out);
	free(run.err);
	test_snapshot_expect(f->root, UNCHANGED, before, "a refused prestart");
	free(created);
	free(before);
}

/* Group 7 for the container's uid and gid 107, in a user namespace mapped by @mappings. */
static char *config_in_a_user_namespace(const char *mappings)
{
	char *config;
	ck_assert_int_ge(asprintf(&config,
				  "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": 107, \"gid\": 107}},\n"
				  " \"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": \"user\"}], %s\n"
				  "  \"devices\": [{\"path\": \"/dev/vfio/7\", \"type\": \"c\", \"major\": 243, "
				  "\"minor\": 0}]}}\n",
				  mappings),
			 0);
	return config;
}

/*
 * In a user namespace the container's ids are not the host's: the grant goes
 * to the ids linux.uidMappings and linux.gidMappings map them to. The hook
 * used to grant the inner uid 107, which on the host is another user.
 */
START_TEST(in_a_user_namespace_the_grant_goes_to_the_mapped_host_ids)
{
	char *config = config_in_a_user_namespace(
		"\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 65536}],\n"
		"  \"gidMappings\": [{\"containerID\": 0, \"hostID\": 200000, \"size\": 100},\n"
		"                  {\"containerID\": 100, \"hostID\": 300000, \"size\": 10}],");
	fixture f;
	fixture_open(&f, config);
	prestart_and_poststop_grant_group7_to(&f, 100107, 300007);
	fixture_close(&f);
	free(config);
}
END_TEST

/* An id no mapping covers, or no mappings at all: refused, naming what is missing, nothing changed. */
START_TEST(in_a_user_namespace_an_unmapped_id_is_refused)
{
	const char *cases[][2] = {
		{"\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 100}],"
		 " \"gidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 1000}],",
		 "linux.uidMappings maps no host id to the container's uid 107"},
		{"\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000, \"size\": 1000}],",
		 "a user namespace without linux.gidMappings"},
		{"\"uidMappings\": [{\"containerID\": 0, \"hostID\": 100000}], \"gidMappings\": [],",
		 "linux.uidMappings[0].size is not an id or a size"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *config = config_in_a_user_namespace(cases[i][0]);
		fixture f;
		fixture_open(&f, config);
		expect_prestart_refused(&f, "", cases[i][1]);
		fixture_close(&f);
		free(config);
	}
}
END_TEST

START_TEST(a_failure_exits_one_with_one_line_and_changes_nothing)
{
	fixture f;
	/* group 7 could be granted; group 9 does not exist on this host */
	fixture_open(&f, "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": 107, \"gid\": 107}}, "
			 "\"linux\": {\"devices\": [{\"path\": \"/dev/vfio/7\"}, {\"path\": \"/dev/vfio/9\"}]}}");
	char *before = test_snapshot(f.root, UNCHANGED);
	const char *cases[][2] = {
		{"", "IOMMU group 9"},
		{"\"org.vfguard.hostdevs\": \"0000:01:00.0,backend=iommufd\"", "IOMMU group 9"},
		{"\"org.vfguard.memory\": \"lots\"", "org.vfguard.memory"},
		{"\"org.vfguard.access\": \"telepathy\"", "org.vfguard.access"},
		/* a key of vfguard's namespace it does not read: a typo, refused rather than passed over (a trial) */
		{"\"org.vfguard.acess\": \"fd\"", "org.vfguard.acess: not an annotation vfguard reads"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *created = state_json(&f, "created", cases[i][0]);
		hook_run run;
		hook(&run, &f, "prestart", created);
		ck_assert_msg(run.status == 1, "case %zu: exit %d", i, run.status);
		ck_assert_str_eq(run.out, "");
		ck_assert_msg(strncmp(run.err, "vfguard: ", 9) == 0 && strstr(run.err, cases[i][1]) &&
				      strchr(run.err, '\n') == run.err + strlen(run.err) - 1,
			      "case %zu: '%s'", i, run.err);
		free(run.out);
		free(run.err);
		free(created);
	}
	/* not JSON at all */
	hook_run run;
	hook(&run, &f, "prestart", "{\"id\": ");
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "not a JSON object"), "%s", run.err);
	free(run.out);
	free(run.err);
	test_snapshot_expect(f.root, UNCHANGED, before, "failed prestarts");
	ck_assert_uint_eq(memlock_of(f.container), CHILD_LIMIT);
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * Whether the program will hold CAP_IPC_LOCK comes from config.json, not from
 * the pid (which holds every capability at prestart): uid 0 keeps its bounding
 * set across execve, another uid only its ambient set; without a capabilities
 * object root keeps all and another uid has none. Holding it, no limit is set.
 */
START_TEST(cap_ipc_lock_is_read_from_the_config_not_from_the_process_at_prestart)
{
	static const struct {
		const char *user, *capabilities;
		bool holds;
	} cases[] = {
		{"107", NULL, false},
		{"107", "\"effective\": [\"CAP_IPC_LOCK\"], \"permitted\": [\"CAP_IPC_LOCK\"]", false},
		{"107", "\"ambient\": [\"CAP_NET_RAW\", \"CAP_IPC_LOCK\"]", true},
		{"0", NULL, true},
		{"0", "\"bounding\": [\"CAP_CHOWN\"], \"ambient\": [\"CAP_IPC_LOCK\"]", false},
		{"0", "\"bounding\": [\"CAP_CHOWN\", \"CAP_IPC_LOCK\"]", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *config;
		ck_assert_int_ge(
			asprintf(&config,
				 "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": %s, \"gid\": 107}"
				 "%s%s%s}, \"linux\": {\"devices\": [{\"path\": \"/dev/vfio/7\"}]}}",
				 cases[i].user, cases[i].capabilities ? ", \"capabilities\": {" : "",
				 cases[i].capabilities ? cases[i].capabilities : "", cases[i].capabilities ? "}" : ""),
			0);
		fixture f;
		fixture_open(&f, config);
		char *created = state_json(&f, "created", "\"org.vfguard.memory\": \"2M\"");
		char *stopped = state_json(&f, "stopped", "");
		hook_ok(&f, "prestart", created);
		if (cases[i].holds)
			ck_assert_msg(memlock_of(f.container) == CHILD_LIMIT, "case %zu: limit raised to %llu", i,
				      memlock_of(f.container));
		else
			ck_assert_msg(memlock_of(f.container) >= 2u << 20, "case %zu: limit left at %llu", i,
				      memlock_of(f.container));
		hook_ok(&f, "poststop", stopped);
		ck_assert_uint_eq(memlock_of(f.container), CHILD_LIMIT);
		free(created);
		free(stopped);
		free(config);
		fixture_close(&f);
	}
}
END_TEST

/* A capability list that is not a list of names is an error naming it, and nothing changes. */
START_TEST(a_malformed_capability_set_is_named)
{
	fixture f;
	fixture_open(
		&f, "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": 107, \"gid\": 107}, "
		    "\"capabilities\": {\"ambient\": [14]}}, \"linux\": {\"devices\": [{\"path\": \"/dev/vfio/7\"}]}}");
	char *before = test_snapshot(f.root, UNCHANGED);
	char *created = state_json(&f, "created", "");
	hook_run run;
	hook(&run, &f, "prestart", created);
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "process.capabilities.ambient[0] is not a capability name"), "%s", run.err);
	free(run.out);
	free(run.err);
	test_snapshot_expect(f.root, UNCHANGED, before, "a malformed capability set");
	ck_assert_uint_eq(memlock_of(f.container), CHILD_LIMIT);
	free(created);
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(a_device_and_an_annotation_may_not_disagree_on_the_backend)
{
	fixture f;
	fixture_open(&f, config_group7);
	expect_prestart_refused(&f, "\"org.vfguard.hostdevs\": \"0000:01:00.0,backend=iommufd\"",
				"backend=iommufd, but linux.devices gives it the legacy node");
	fixture_close(&f);
}
END_TEST

/* @stage with @state exits 1 with one line holding @reason, and the host tree is as it was. */
static void expect_state_refused(const fixture *f, const char *stage, const char *state, const char *reason)
{
	char *before = test_snapshot(f->root, 0);
	hook_run run;
	hook(&run, f, stage, state);
	ck_assert_msg(run.status == 1, "exit %d (%s), expected 1", run.status, run.err);
	ck_assert_str_eq(run.out, "");
	ck_assert_msg(strncmp(run.err, "vfguard: ", 9) == 0 && strstr(run.err, reason) &&
			      strchr(run.err, '\n') == run.err + strlen(run.err) - 1,
		      "'%s', expected one line with '%s'", run.err, reason);
	free(run.out);
	free(run.err);
	test_snapshot_expect(f->root, 0, before, reason);
	free(before);
}

/* The state with another id (a JSON string body, escapes as written). */
static char *state_with_id(const fixture *f, const char *status, const char *id)
{
	char *state;
	ck_assert_int_ge(asprintf(&state, "{\"id\": \"%s\", \"status\": \"%s\", \"pid\": %d, \"bundle\": \"%s\"}", id,
				  status, strcmp(status, "created") == 0 ? (int)f->container : 0, f->bundle),
			 0);
	return state;
}

/*
 * A NUL in the id ended it for C: the poststop of "ctr-4711\u0000zzz" revoked
 * the domain ctr-4711. Such an id, and any the domain names refuse, is
 * refused, named with its control bytes escaped.
 */
START_TEST(a_container_id_with_a_nul_or_that_is_no_domain_name_is_refused)
{
	fixture f;
	fixture_open(&f, config_group7);
	char *before = test_snapshot(f.root, UNCHANGED);
	char *created = state_json(&f, "created", ""), *stopped = state_json(&f, "stopped", "");
	hook_ok(&f, "prestart", created);
	const char *ids[][2] = {
		{"ctr-4711\\u0000zzz", "id \"ctr-4711\\u0000zzz\" holds a NUL byte"},
		{"ctr\\n4711", "id \"ctr\\u000a4711\""},
		{"../ctr-4711", "id \"../ctr-4711\""},
		{"", "id \"\""},
	};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		char *state = state_with_id(&f, "stopped", ids[i][0]);
		expect_state_refused(&f, "poststop", state, ids[i][1]);
		free(state);
		state = state_with_id(&f, "created", ids[i][0]);
		expect_state_refused(&f, "prestart", state, ids[i][1]);
		free(state);
	}
	/* ctr-4711 still holds its grant, and its own poststop takes it back */
	expect_owner(f.root, "/dev/vfio/7", 107, 107);
	hook_ok(&f, "poststop", stopped);
	test_snapshot_expect(f.root, UNCHANGED, before, "prestart then poststop");
	free(created);
	free(stopped);
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(text_after_the_state_object_is_refused)
{
	fixture f;
	fixture_open(&f, config_group7);
	char *created = state_json(&f, "created", ""), *garbage;
	ck_assert_int_ge(asprintf(&garbage, "%s \n{\"id\": \"other\"}", created), 0);
	expect_state_refused(&f, "prestart", garbage, "text after the JSON object");
	free(garbage);
	ck_assert_int_ge(asprintf(&garbage, "%s\n\t x", created), 0);
	expect_state_refused(&f, "prestart", garbage, "text after the JSON object");
	free(garbage);
	/* white space after it is no text */
	ck_assert_int_ge(asprintf(&garbage, "%s\n \n", created), 0);
	char *stopped = state_json(&f, "stopped", "");
	hook_ok(&f, "prestart", garbage);
	hook_ok(&f, "poststop", stopped);
	free(stopped);
	free(garbage);
	free(created);
	fixture_close(&f);
}
END_TEST

START_TEST(a_function_named_twice_in_the_annotation_is_refused)
{
	fixture f;
	fixture_open(&f, config_group7);
	expect_prestart_refused(&f, "\"org.vfguard.hostdevs\": \"0000:02:00.0 0000:02:00.0,access=fd\"",
				"0000:02:00.0 is named twice");
	expect_prestart_refused(&f, "\"org.vfguard.hostdevs\": \"0000:02:00.0;02:00.0\"",
				"0000:02:00.0 is named twice");
	/* a function both of linux.devices and of the annotation stays one hostdev */
	char *created = state_json(&f, "created", "\"org.vfguard.hostdevs\": \"0000:01:00.0\"");
	char *stopped = state_json(&f, "stopped", "");
	hook_ok(&f, "prestart", created);
	hook_ok(&f, "poststop", stopped);
	free(created);
	free(stopped);
	fixture_close(&f);
}
END_TEST

#define MDEV_A "c2177883-f1bb-47f0-914d-32a22e3a8804"
#define MDEV_B "8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d"

/* A container given mdev A's group node through linux.devices. */
static const char config_mdev_group12[] =
	"{\"ociVersion\": \"1.0.2\",\n"
	" \"process\": {\"user\": {\"uid\": 107, \"gid\": 107}, \"args\": [\"/bin/serial-app\"]},\n"
	" \"linux\": {\"devices\": [\n"
	"   {\"path\": \"/dev/vfio/vfio\", \"type\": \"c\", \"major\": 234, \"minor\": 196},\n"
	"   {\"path\": \"/dev/vfio/12\", \"type\": \"c\", \"major\": 243, \"minor\": 12}]}}\n";

/* An mdev's group node names that mdev; the annotation names another by mdev=UUID. */
START_TEST(mdevs_from_a_group_node_and_from_the_annotation_are_granted_and_restored)
{
	fixture f;
	fixture_open(&f, config_mdev_group12);
	test_make_mdev(f.root, MDEV_A, "vfio-pci", 12, 4);
	test_make_mdev(f.root, MDEV_B, "vfio-pci", 13, 5);
	char *before = test_snapshot(f.root, UNCHANGED);
	char *created = state_json(&f, "created", "\"org.vfguard.hostdevs\": \"mdev=" MDEV_B ",backend=iommufd\"");
	char *stopped = state_json(&f, "stopped", "");
	hook_ok(&f, "prestart", created);
	expect_owner(f.root, "/dev/vfio/12", 107, 107);
	expect_owner(f.root, "/dev/vfio/devices/vfio5", 107, 107);
	expect_owner(f.root, "/dev/vfio/13", 0, 0);
	expect_owner(f.root, "/dev/vfio/devices/vfio4", 0, 0);
	hook_ok(&f, "poststop", stopped);
	test_snapshot_expect(f.root, UNCHANGED, before, "prestart then poststop of two mdevs");
	/* one mdev by both names is named twice */
	expect_prestart_refused(&f, "\"org.vfguard.hostdevs\": \"mdev=" MDEV_B " /sys/bus/mdev/devices/" MDEV_B "\"",
				"mdev:" MDEV_B " is named twice");
	free(created);
	free(stopped);
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(an_empty_hostdev_option_in_the_annotation_is_refused)
{
	fixture f;
	fixture_open(&f, config_group7);
	expect_prestart_refused(&f, "\"org.vfguard.hostdevs\": \"0000:02:00.0,,\"",
				"0000:02:00.0,,: an empty hostdev option");
	fixture_close(&f);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("oci_hook");
	TCase *tc = tcase_create("hook");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, prestart_grants_the_devices_and_poststop_restores_byte_exactly);
	tcase_add_test(tc, help_says_how_a_runtime_calls_the_hook);
	tcase_add_test(tc, without_an_argument_the_status_names_the_stage);
	tcase_add_test(tc, container_without_vfio_devices_is_left_alone);
	tcase_add_test(tc, in_a_user_namespace_the_grant_goes_to_the_mapped_host_ids);
	tcase_add_test(tc, in_a_user_namespace_an_unmapped_id_is_refused);
	tcase_add_test(tc, a_failure_exits_one_with_one_line_and_changes_nothing);
	tcase_add_test(tc, a_device_and_an_annotation_may_not_disagree_on_the_backend);
	tcase_add_test(tc, an_empty_annotations_map_in_the_state_reads_config_json_annotations);
	tcase_add_test(tc, poststop_under_a_broken_configuration_says_what_stays_and_how_it_goes);
	tcase_add_test(tc, cap_ipc_lock_is_read_from_the_config_not_from_the_process_at_prestart);
	tcase_add_test(tc, a_malformed_capability_set_is_named);
	tcase_add_test(tc, a_container_id_with_a_nul_or_that_is_no_domain_name_is_refused);
	tcase_add_test(tc, text_after_the_state_object_is_refused);
	tcase_add_test(tc, mdevs_from_a_group_node_and_from_the_annotation_are_granted_and_restored);
	tcase_add_test(tc, a_function_named_twice_in_the_annotation_is_refused);
	tcase_add_test(tc, an_empty_hostdev_option_in_the_annotation_is_refused);
	tcase_add_test(tc, a_runtime_device_list_that_allows_the_nodes_keeps_the_cgroup_labeler_out);
	tcase_add_test(tc, a_runtime_device_list_that_denies_a_node_is_refused_naming_the_rule);
	suite_add_tcase(suite, tc);
	return test_main(suite);
}
