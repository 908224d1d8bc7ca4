/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Locked memory (docs/memlock.md): the formula, worked out by hand below,
 * and its limit set on real child processes with prlimit(2), read back from
 * /proc/PID/limits: raised only, journaled, put back at revoke, after a
 * crash at any journal point, and left alone for a pid that exited.
 *
 * This machine's root lacks CAP_SYS_RESOURCE and its hard RLIMIT_MEMLOCK is
 * 8 MiB, so the children here run with a hard limit of 8 MiB and the
 * domains need a few MiB: vfguard raises the soft limit up to the hard one
 * as any same-uid process may. Raising the hard limit itself needs
 * CAP_SYS_RESOURCE; the one test about it checks whichever this machine
 * allows, and the VM suite raises both as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json_testlib.h"
#include "testlib.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

/* The hard limit every child runs with: this machine's, and low enough to lower to anywhere. */
#define CHILD_HARD (8 * MiB)
#define CHILD_SOFT (64 * KiB)
/* include/uapi/linux/capability.h */
#define CAPABILITY_IPC_LOCK 14
#define CAPABILITY_SYS_RESOURCE 24

/* ---- The formula ---- */

typedef struct formula_case {
	const char *name;
	vfg_memlock_input input;
	uint64_t process_copies, user_copies;
	uint64_t required;
} formula_case;

/*
 * Each case worked out by hand. copies(n) is the number of times guest RAM
 * is pinned by one backend: 0 without devices, 1 for one shared address
 * space, n with a vIOMMU (one address space per device). type1, and iommufd
 * with RLIMIT_MODE=1, charge the process; iommufd otherwise the uid. The
 * limit is max(process copies, uid copies) x RAM (rounded up to pages) +
 * extra, rounded up to pages. Pages are 4096 bytes.
 */
static const formula_case formula_cases[] = {
	/* legacy, 1 device, no vIOMMU: 1 x 4 GiB + 1 GiB = 5 GiB = 5368709120 */
	{"legacy-1", {.memory = 4 * GiB, .legacy_devices = 1, .extra = GiB, .page_size = 4096}, 1, 0, 5368709120},
	/* legacy, 2 devices, no vIOMMU: one container for both, 1 x 4 GiB + 1 GiB = 5368709120 */
	{"legacy-2", {.memory = 4 * GiB, .legacy_devices = 2, .extra = GiB, .page_size = 4096}, 1, 0, 5368709120},
	/* legacy, 2 devices, vIOMMU: a container each, 2 x 4 GiB + 1 GiB = 9 GiB = 9663676416 */
	{"legacy-2-viommu",
	 {.memory = 4 * GiB, .legacy_devices = 2, .viommu = true, .extra = GiB, .page_size = 4096},
	 2,
	 0,
	 9663676416},
	/* legacy, 4 devices, no vIOMMU: 1 x 4 GiB + 1 GiB = 5368709120 */
	{"legacy-4", {.memory = 4 * GiB, .legacy_devices = 4, .extra = GiB, .page_size = 4096}, 1, 0, 5368709120},
	/* legacy, 4 devices, vIOMMU: 4 x 4 GiB + 1 GiB = 17 GiB = 18253611008 */
	{"legacy-4-viommu",
	 {.memory = 4 * GiB, .legacy_devices = 4, .viommu = true, .extra = GiB, .page_size = 4096},
	 4,
	 0,
	 18253611008},
	/* iommufd per process, 1 device, no extra: 1 x 2 GiB + 0 = 2147483648 */
	{"iommufd-1-process",
	 {.memory = 2 * GiB, .iommufd_devices = 1, .iommufd_per_process = true, .page_size = 4096},
	 1,
	 0,
	 2147483648},
	/* iommufd per uid, 2 devices, vIOMMU, extra 512 MiB: the uid is charged 2 copies, the process none:
	 * 2 x 2 GiB + 512 MiB = 4 GiB + 0.5 GiB = 4831838208 */
	{"iommufd-2-viommu-user",
	 {.memory = 2 * GiB, .iommufd_devices = 2, .viommu = true, .extra = 512 * MiB, .page_size = 4096},
	 0,
	 2,
	 4831838208},
	/* iommufd per uid, 2 devices, no vIOMMU: one IOAS, 1 x 2 GiB + 1 GiB = 3 GiB = 3221225472 */
	{"iommufd-2-user",
	 {.memory = 2 * GiB, .iommufd_devices = 2, .extra = GiB, .page_size = 4096},
	 0,
	 1,
	 3221225472},
	/* iommufd per process, 4 devices, vIOMMU: 4 x 1 GiB + 1 GiB = 5 GiB = 5368709120 */
	{"iommufd-4-viommu-process",
	 {.memory = GiB,
	  .iommufd_devices = 4,
	  .viommu = true,
	  .iommufd_per_process = true,
	  .extra = GiB,
	  .page_size = 4096},
	 4,
	 0,
	 5368709120},
	/* 1 legacy + 2 iommufd per process, vIOMMU, no extra: 1 + 2 = 3 copies on the process,
	 * 3 x 1 GiB = 3221225472 */
	{"mixed-viommu-process",
	 {.memory = GiB,
	  .legacy_devices = 1,
	  .iommufd_devices = 2,
	  .viommu = true,
	  .iommufd_per_process = true,
	  .page_size = 4096},
	 3,
	 0,
	 3221225472},
	/* 2 legacy + 1 iommufd per uid, no vIOMMU: 1 copy on the process, 1 on the uid; each counter
	 * meets the limit alone: max(1, 1) x 3 GiB + 1 GiB = 4 GiB = 4294967296 */
	{"mixed-user",
	 {.memory = 3 * GiB, .legacy_devices = 2, .iommufd_devices = 1, .extra = GiB, .page_size = 4096},
	 1,
	 1,
	 4294967296},
	/* Whole pages: 1000000 bytes of RAM are 245 pages (244 x 4096 = 999424 < 1000000) = 1003520;
	 * + 100 bytes extra = 1003620, rounded up to 246 pages = 1007616 */
	{"rounding", {.memory = 1000000, .legacy_devices = 1, .extra = 100, .page_size = 4096}, 1, 0, 1007616},
	/* CAP_IPC_LOCK changes what the kernel checks, not the arithmetic: 1 x 4 GiB + 1 GiB = 5368709120 */
	{"ipc-lock",
	 {.memory = 4 * GiB, .legacy_devices = 1, .extra = GiB, .page_size = 4096, .ipc_lock = true},
	 1,
	 0,
	 5368709120},
};

START_TEST(the_formula_gives_the_hand_worked_limit)
{
	const formula_case *c = &formula_cases[_i];
	vfg_memlock result;
	vfg_error err = {0};
	ck_assert_msg(vfg_memlock_compute(&c->input, &result, &err) == 0, "%s: %s", c->name, err.message);
	ck_assert(result.computed);
	ck_assert_msg(result.process_copies == c->process_copies, "%s: %lu process copies, expected %lu", c->name,
		      (unsigned long)result.process_copies, (unsigned long)c->process_copies);
	ck_assert_msg(result.user_copies == c->user_copies, "%s: %lu uid copies, expected %lu", c->name,
		      (unsigned long)result.user_copies, (unsigned long)c->user_copies);
	ck_assert_msg(result.required == c->required, "%s: %lu bytes, expected %lu (%s)", c->name,
		      (unsigned long)result.required, (unsigned long)c->required, result.formula);
	char bytes[32];
	snprintf(bytes, sizeof(bytes), "(%lu bytes)", (unsigned long)c->required);
	ck_assert_msg(strstr(result.formula, bytes), "%s: the arithmetic '%s' does not show %s", c->name,
		      result.formula, bytes);
}
END_TEST

START_TEST(a_limit_past_64_bits_is_an_error)
{
	vfg_memlock_input input = {.memory = UINT64_C(1) << 62, .legacy_devices = 4, .viommu = true, .page_size = 4096};
	vfg_memlock result;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_memlock_compute(&input, &result, &err), -1);
	ck_assert_int_eq(err.errnum, ERANGE);
	/* named once: the plan prefixes "memlock: plan" (a trial read "memlock: plan: memlock: ...") */
	const char *named = "the locked-memory limit (4611686018427387904 bytes of guest memory x 4, and 0 bytes "
			    "besides) overflows 64 bits";
	ck_assert_msg(strncmp(err.message, named, strlen(named)) == 0, "%s", err.message);
	ck_assert(!result.computed);
}
END_TEST

START_TEST(sizes_take_binary_units_and_refuse_anything_else)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{"4096", 4096}, {"1K", KiB},      {"512MiB", 512 * MiB}, {"2M", 2 * MiB},
		{"1G", GiB},    {"3GB", 3 * GiB}, {"1T", GiB << 10},     {"0", 0},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint64_t bytes = 1;
		vfg_error err = {0};
		ck_assert_msg(vfg_size_parse(good[i].text, &bytes, &err) == 0, "%s: %s", good[i].text, err.message);
		ck_assert_msg(bytes == good[i].bytes, "%s is %lu bytes", good[i].text, (unsigned long)bytes);
	}
	static const char *const bad[] = {"", "G", "-1G", "1 G", "1X", "1.5G", "17179869184T", "+1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t bytes = 0;
		vfg_error err = {0};
		ck_assert_msg(vfg_size_parse(bad[i], &bytes, &err) == -1, "'%s' was taken as a size", bad[i]);
		ck_assert(err.message[0]);
	}
}
END_TEST

/* ---- Real processes ---- */

static const char host_one[] = "misc vfio 10:196\n"
			       "group 7 243:0\n"
			       "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n";

/* A host with the test-only labeler, and the extra at @extra (1 MiB in most tests). */
static const char *host_new(const char *extra)
{
	const char *root = test_root_new(host_one);
	const char *dir = getenv("VFGUARD_TEST_PLUGIN_DIR");
	ck_assert_msg(dir != NULL, "VFGUARD_TEST_PLUGIN_DIR is not set (meson test sets it)");
	char config[1024];
	snprintf(config, sizeof(config), "labelers = testmark\nplugin_dir = %s\nmemlock_extra = %s\n", dir, extra);
	test_write_file(root, "/etc/vfguard/vfguard.conf", config);
	return root;
}

static bool capability_held(int capability)
{
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	ck_assert_int_eq(syscall(SYS_capget, &header, data), 0);
	return data[capability / 32].effective >> (capability % 32) & 1;
}

/*
 * A stand-in hypervisor: a child with RLIMIT_MEMLOCK @soft:CHILD_HARD and,
 * unless @ipc_lock, without CAP_IPC_LOCK (which would let it pin anything),
 * waiting until it is killed.
 */
static pid_t hypervisor_start(uint64_t soft, bool ipc_lock)
{
	struct rlimit inherited;
	ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &inherited), 0);
	ck_assert_msg(inherited.rlim_max == RLIM_INFINITY || inherited.rlim_max >= CHILD_HARD,
		      "the tests need a hard RLIMIT_MEMLOCK of 8 MiB or more, this process has %lu",
		      (unsigned long)inherited.rlim_max);
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit limit = {.rlim_cur = soft, .rlim_max = CHILD_HARD};
		bool ok = setrlimit(RLIMIT_MEMLOCK, &limit) == 0;
		if (ok && !ipc_lock) {
			struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
			struct __user_cap_data_struct data[2];
			ok = syscall(SYS_capget, &header, data) == 0;
			data[0].effective &= ~(1u << CAPABILITY_IPC_LOCK);
			data[0].permitted &= ~(1u << CAPABILITY_IPC_LOCK);
			ok = ok && syscall(SYS_capset, &header, data) == 0;
		}
		char answer = ok ? 'y' : 'n';
		(void)!write(ready[1], &answer, 1);
		for (;;)
			pause();
	}
	char answer = 0;
	ck_assert_int_eq(read(ready[0], &answer, 1), 1);
	ck_assert_msg(answer == 'y', "the child could not set its limit or drop CAP_IPC_LOCK");
	close(ready[0]);
	close(ready[1]);
	return pid;
}

static void hypervisor_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* "SOFT HARD" of the Max locked memory line of /proc/PID/limits, as the kernel prints them. */
static const char *limits_of(pid_t pid)
{
	static char result[64];
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	result[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char soft[32], hard[32];
		if (strncmp(line, "Max locked memory", 17) == 0 && sscanf(line + 17, "%31s %31s", soft, hard) == 2)
			snprintf(result, sizeof(result), "%s %s", soft, hard);
	}
	fclose(f);
	ck_assert_msg(result[0], "%s has no Max locked memory line", path);
	return result;
}

static void expect_limits(pid_t pid, uint64_t soft, uint64_t hard, const char *when)
{
	char expected[64];
	snprintf(expected, sizeof(expected), "%lu %lu", (unsigned long)soft, (unsigned long)hard);
	const char *now = limits_of(pid);
	ck_assert_msg(strcmp(now, expected) == 0, "%s: pid %d has RLIMIT_MEMLOCK %s, expected %s", when, (int)pid, now,
		      expected);
}

/* vm1 on 01:00.0, its hypervisor of uid and gid @uid. */
static int apply_domain_as(const char *root, pid_t pid, uid_t uid, uint64_t memory, vfg_change_summary *summary,
			   vfg_error *err)
{
	vfg_context *ctx = test_context(root);
	vfg_hostdev_spec spec;
	ck_assert_msg(vfg_hostdev_spec_parse(ctx, "01:00.0", &spec, err) == 0, "%s", err->message);
	vfg_domain domain = {.name = "vm1",
			     .uid = uid,
			     .gid = uid,
			     .pid = pid,
			     .memory = memory,
			     .hostdevs = &spec,
			     .n_hostdevs = 1};
	vfg_plan *plan = NULL;
	int r = vfg_plan_build(ctx, &domain, &plan, err);
	if (r == 0)
		r = vfg_plan_apply(ctx, plan, summary, err);
	vfg_plan_free(plan);
	vfg_context_free(ctx);
	return r;
}

/* vm1 as most tests have it: its hypervisor runs as 107:107. */
static int apply_domain(const char *root, pid_t pid, uint64_t memory, vfg_change_summary *summary, vfg_error *err)
{
	return apply_domain_as(root, pid, 107, memory, summary, err);
}

static int revoke_domain(const char *root, vfg_change_summary *summary, vfg_error *err)
{
	vfg_context *ctx = test_context(root);
	int r = vfg_domain_revoke(ctx, "vm1", summary, err);
	vfg_context_free(ctx);
	return r;
}

static char *journal_text(const char *root)
{
	return test_read_file(root, "/run/vfguard/domains/vm1.journal");
}

START_TEST(apply_raises_the_soft_limit_to_the_formula_and_revoke_puts_it_back)
{
	const char *root = host_new("1M");
	pid_t pid = hypervisor_start(CHILD_SOFT, false);
	vfg_error err = {0};
	vfg_change_summary summary;
	/* 1 legacy device, no vIOMMU: 1 x 2 MiB + 1 MiB = 3 MiB = 3145728; the hard limit already allows it */
	ck_assert_msg(apply_domain(root, pid, 2 * MiB, &summary, &err) == 0, "%s", err.message);
	expect_limits(pid, 3 * MiB, CHILD_HARD, "after apply");
	ck_assert_uint_eq(summary.changed, 3); /* the container's and the group's marks, and the limit */

	/* journaled before the change, with the original and the process's start time */
	char *journal = journal_text(root);
	ck_assert_ptr_nonnull(journal);
	char record[128];
	snprintf(record, sizeof(record), "memlock - /proc/%d - 0 pid=%d%%20start=", (int)pid, (int)pid);
	ck_assert_msg(strstr(journal, record) && strstr(journal, "%20soft=65536%20hard=8388608"), "%s", journal);
	free(journal);

	/* apply again: the record is kept, nothing changes */
	ck_assert_msg(apply_domain(root, pid, 2 * MiB, &summary, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(summary.changed, 0);
	ck_assert_uint_eq(summary.kept, 3);
	expect_limits(pid, 3 * MiB, CHILD_HARD, "after a second apply");

	ck_assert_msg(revoke_domain(root, &summary, &err) == 0, "%s", err.message);
	expect_limits(pid, CHILD_SOFT, CHILD_HARD, "after revoke");
	ck_assert_ptr_null(journal_text(root));
	hypervisor_stop(pid);
	test_root_remove(root);
}
END_TEST

START_TEST(a_limit_already_high_enough_is_left_alone_and_not_journaled)
{
	const char *root = host_new("1M");
	/* soft 4 MiB already covers 1 x 2 MiB + 1 MiB = 3 MiB */
	pid_t pid = hypervisor_start(4 * MiB, false);
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(apply_domain(root, pid, 2 * MiB, &summary, &err) == 0, "%s", err.message);
	expect_limits(pid, 4 * MiB, CHILD_HARD, "after apply");
	ck_assert_msg(strstr(summary.notes, "already may lock 3 MiB or more: left alone"), "%s", summary.notes);
	char *journal = journal_text(root);
	ck_assert_msg(journal && !strstr(journal, "memlock"), "%s", journal ? journal : "(no journal)");
	free(journal);
	ck_assert_msg(revoke_domain(root, &summary, &err) == 0, "%s", err.message);
	expect_limits(pid, 4 * MiB, CHILD_HARD, "after revoke");
	hypervisor_stop(pid);
	test_root_remove(root);
}
END_TEST

START_TEST(a_hard_limit_below_the_need_is_raised_with_cap_sys_resource_and_else_nothing_changes)
{
	const char *root = host_new("1M");
	pid_t pid = hypervisor_start(CHILD_SOFT, false);
	vfg_error err = {0};
	/* 1 x 16 MiB + 1 MiB = 17 MiB = 17825792, above the 8 MiB hard limit */
	int r = apply_domain(root, pid, 16 * MiB, NULL, &err);
	if (capability_held(CAPABILITY_SYS_RESOURCE)) {
		fprintf(stderr, "with CAP_SYS_RESOURCE: both limits raised\n");
		ck_assert_msg(r == 0, "%s", err.message);
		expect_limits(pid, 17 * MiB, 17 * MiB, "after apply");
		ck_assert_msg(revoke_domain(root, NULL, &err) == 0, "%s", err.message);
	} else {
		fprintf(stderr, "without CAP_SYS_RESOURCE: the raise is refused and the apply undone\n");
		ck_assert_int_eq(r, -1);
		ck_assert_int_eq(err.errnum, EPERM);
		char pid_text[32];
		snprintf(pid_text, sizeof(pid_text), "pid %d", (int)pid);
		ck_assert_msg(strstr(err.message, pid_text) && strstr(err.message, "17 MiB"), "%s", err.message);
		ck_assert_ptr_null(journal_text(root));
	}
	expect_limits(pid, CHILD_SOFT, CHILD_HARD, "at the end");
	hypervisor_stop(pid);
	test_root_remove(root);
}
END_TEST

START_TEST(a_hypervisor_with_cap_ipc_lock_gets_no_limit)
{
	ck_assert_msg(capability_held(CAPABILITY_IPC_LOCK), "the tests run as root, with CAP_IPC_LOCK");
	const char *root = host_new("1M");
	pid_t pid = hypervisor_start(CHILD_SOFT, true);
	vfg_error err = {0};
	/* It runs as the domain's uid (root here), so its capabilities are the hypervisor's. */
	ck_assert_msg(apply_domain_as(root, pid, 0, 2 * MiB, NULL, &err) == 0, "%s", err.message);
	expect_limits(pid, CHILD_SOFT, CHILD_HARD, "after apply");
	char *journal = journal_text(root);
	ck_assert_msg(journal && !strstr(journal, "memlock"), "%s", journal ? journal : "(no journal)");
	free(journal);
	ck_assert_msg(revoke_domain(root, NULL, &err) == 0, "%s", err.message);
	hypervisor_stop(pid);
	test_root_remove(root);
}
END_TEST

/*
 * A manager's child, named by --pid before it becomes the hypervisor: root,
 * with CAP_IPC_LOCK, while the domain's hypervisor runs as 107. The uid
 * change will clear its capabilities (capabilities(7)), so the limit is
 * raised as for any hypervisor without CAP_IPC_LOCK. A real QEMU found it:
 * started as `setpriv --reuid 107 qemu-system-x86_64 ...` by such a child, it
 * failed to pin guest RAM under the 8 MiB default (tests/vm/scenarios/
 * qemu-legacy-path.sh).
 */
START_TEST(a_root_child_that_becomes_another_uid_gets_the_limit_despite_its_cap_ipc_lock)
{
	ck_assert_msg(capability_held(CAPABILITY_IPC_LOCK), "the tests run as root, with CAP_IPC_LOCK");
	const char *root = host_new("1M");
	pid_t pid = hypervisor_start(CHILD_SOFT, true);
	vfg_error err = {0};
	ck_assert_msg(apply_domain(root, pid, 2 * MiB, NULL, &err) == 0, "%s", err.message);
	expect_limits(pid, 3 * MiB, CHILD_HARD, "after apply");
	ck_assert_msg(revoke_domain(root, NULL, &err) == 0, "%s", err.message);
	expect_limits(pid, CHILD_SOFT, CHILD_HARD, "after revoke");
	hypervisor_stop(pid);
	test_root_remove(root);
}
END_TEST

START_TEST(revoke_after_the_pid_exited_puts_back_nothing_and_says_so)
{
	const char *root = host_new("1M");
	pid_t pid = hypervisor_start(CHILD_SOFT, false);
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(apply_domain(root, pid, 2 * MiB, NULL, &err) == 0, "%s", err.message);
	expect_limits(pid, 3 * MiB, CHILD_HARD, "after apply");
	hypervisor_stop(pid);
	ck_assert_msg(revoke_domain(root, &summary, &err) == 0, "%s", err.message);
	char note[64];
	snprintf(note, sizeof(note), "memlock: pid %d is gone", (int)pid);
	ck_assert_msg(strstr(summary.notes, note), "%s", summary.notes);
	ck_assert_ptr_null(journal_text(root));
	test_root_remove(root);
}
END_TEST

START_TEST(a_new_pid_of_the_domain_gives_the_old_one_its_limit_back)
{
	const char *root = host_new("1M");
	pid_t first = hypervisor_start(CHILD_SOFT, false);
	pid_t second = hypervisor_start(2 * MiB, false);
	vfg_error err = {0};
	ck_assert_msg(apply_domain(root, first, 2 * MiB, NULL, &err) == 0, "%s", err.message);
	expect_limits(first, 3 * MiB, CHILD_HARD, "the first pid after its apply");
	ck_assert_msg(apply_domain(root, second, 2 * MiB, NULL, &err) == 0, "%s", err.message);
	expect_limits(first, CHILD_SOFT, CHILD_HARD, "the first pid after the second's apply");
	expect_limits(second, 3 * MiB, CHILD_HARD, "the second pid after its apply");
	ck_assert_msg(revoke_domain(root, NULL, &err) == 0, "%s", err.message);
	expect_limits(second, 2 * MiB, CHILD_HARD, "the second pid after revoke");
	hypervisor_stop(first);
	hypervisor_stop(second);
	test_root_remove(root);
}
END_TEST

/* ---- Crashes ---- */

static void cli_ok(const char *const *argv, const char *what)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "%s: %s", what, run.err);
	test_run_free(&run);
}

START_TEST(a_kill_at_every_journal_point_of_an_apply_restores_the_original_limit)
{
	const char *root = host_new("1M");
	pid_t pid = hypervisor_start(CHILD_SOFT, false);
	char pid_text[16];
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	const char *const apply[] = {"apply", "--root", root,     "--domain",  "vm1",     "--uid",    "107", "--gid",
				     "107",   "--pid",  pid_text, "--hostdev", "01:00.0", "--memory", "2M",  NULL};
	bool saw_raised_and_uncommitted = false;
	unsigned point = 1;
	for (;; point++) {
		int status = test_cli_killed_at(point, apply);
		if (WIFEXITED(status)) {
			ck_assert_int_eq(WEXITSTATUS(status), 0);
			break;
		}
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "point %u: status %d", point, status);
		char *journal = journal_text(root);
		if (journal && !strstr(journal, "commit") && strstr(limits_of(pid), "3145728 "))
			saw_raised_and_uncommitted = true;
		free(journal);
		char what[64];
		snprintf(what, sizeof(what), "restore after a kill at point %u", point);
		cli_ok((const char *[]){"restore", "--root", root, NULL}, what);
		journal = journal_text(root);
		/* undone when the apply had not committed; whole when it had */
		if (journal)
			expect_limits(pid, 3 * MiB, CHILD_HARD, what);
		else
			expect_limits(pid, CHILD_SOFT, CHILD_HARD, what);
		free(journal);
		cli_ok((const char *[]){"restore", "--all", "--root", root, NULL}, what);
		expect_limits(pid, CHILD_SOFT, CHILD_HARD, "restore --all");
		ck_assert_ptr_null(journal_text(root));
	}
	fprintf(stderr, "crash test (memlock): %u journal points covered, all of them\n", point - 1);
	/* begin, domain, claim, 2 x (intent, change, done), the limit's intent, change, done, commit, compaction */
	ck_assert_uint_ge(point - 1, 13);
	ck_assert_msg(saw_raised_and_uncommitted, "no kill fell between the raise and the commit");
	expect_limits(pid, 3 * MiB, CHILD_HARD, "the uninterrupted apply");
	cli_ok((const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL}, "revoke");
	expect_limits(pid, CHILD_SOFT, CHILD_HARD, "the uninterrupted apply, revoked");
	hypervisor_stop(pid);
	test_root_remove(root);
}
END_TEST

/* ---- plan and audit ---- */

START_TEST(plan_shows_the_arithmetic_and_whether_the_limit_suffices)
{
	const char *root = host_new("1M");
	pid_t pid = hypervisor_start(CHILD_SOFT, false);
	char pid_text[16];
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	test_run run;
	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm1", "--pid", pid_text, "--hostdev",
					"01:00.0", "--memory", "2M", "--viommu", "--json", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	json_object *plan = test_json_parse(run.out);
	json_object *memlock = test_json_typed(plan, "memlock", json_type_object);
	/* one device: the vIOMMU makes no second copy; 1 x 2 MiB + 1 MiB */
	ck_assert_int_eq(test_json_int(memlock, "required"), 3 * MiB);
	ck_assert_int_eq(test_json_int(memlock, "soft"), CHILD_SOFT);
	ck_assert(!test_json_bool(memlock, "suffices"));
	ck_assert_str_eq(test_json_string(memlock, "action"), "raise");
	ck_assert_msg(strstr(test_json_string(memlock, "formula"), "1 x 2 MiB + 1 MiB = 3 MiB (3145728 bytes)"), "%s",
		      run.out);
	json_object_put(plan);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm1", "--pid", pid_text, "--hostdev",
					"01:00.0", "--memory", "2M", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	ck_assert_msg(strstr(run.out, "formula: 1 x 2 MiB + 1 MiB = 3 MiB (3145728 bytes)") &&
			      strstr(run.out, "soft 64 KiB, hard 8 MiB: too low; apply raises the soft limit to 3 MiB"),
		      "%s", run.out);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"apply", "--dry-run", "--root", root, "--domain", "vm1", "--pid", pid_text,
					"--hostdev", "01:00.0", "--memory", "2M", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	ck_assert_msg(strstr(run.out, "3 steps") && strstr(run.out, "raise RLIMIT_MEMLOCK to 3 MiB"), "%s", run.out);
	test_run_free(&run);
	expect_limits(pid, CHILD_SOFT, CHILD_HARD, "after plan and the dry run");

	/* without --memory nothing is computed, and apply leaves the limit alone */
	test_cli(&run, (const char *[]){"plan", "--root", root, "--domain", "vm1", "--pid", pid_text, "--hostdev",
					"01:00.0", NULL});
	ck_assert_msg(strstr(run.out, "guest memory not given (--memory)"), "%s", run.out);
	test_run_free(&run);
	hypervisor_stop(pid);
	test_root_remove(root);
}
END_TEST

/* The memlock findings of an audit: how many, and the kind of the first ("" for none). */
static size_t audit_memlock(const char *root, const char *pid_text, const char *memory, const char **kind)
{
	static char first[16];
	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", root, "--domain", "vm1", "--pid", pid_text, "--hostdev",
					"01:00.0", "--memory", memory, "--json", NULL});
	ck_assert_msg(run.status == 0 || run.status == 3, "%s", run.err);
	json_object *report = test_json_parse(run.out);
	size_t n_findings, count = 0;
	json_object *findings = test_json_array(report, "findings", &n_findings);
	first[0] = '\0';
	for (size_t i = 0; i < n_findings; i++) {
		json_object *finding = json_object_array_get_idx(findings, i);
		if (strcmp(test_json_string(finding, "labeler"), "memlock"))
			continue;
		if (!count++)
			snprintf(first, sizeof(first), "%s", test_json_string(finding, "kind"));
	}
	json_object_put(report);
	test_run_free(&run);
	*kind = first;
	return count;
}

START_TEST(audit_reports_a_limit_below_the_need_until_apply_raises_it)
{
	const char *root = host_new("1M");
	pid_t pid = hypervisor_start(CHILD_SOFT, false);
	char pid_text[16];
	snprintf(pid_text, sizeof(pid_text), "%d", (int)pid);
	const char *kind;
	ck_assert_uint_eq(audit_memlock(root, pid_text, "2M", &kind), 1);
	ck_assert_str_eq(kind, "missing");

	vfg_error err = {0};
	ck_assert_msg(apply_domain(root, pid, 2 * MiB, NULL, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(audit_memlock(root, pid_text, "2M", &kind), 0);

	/* lowered behind vfguard's back: the limit it raised has drifted */
	struct rlimit lowered = {.rlim_cur = 1 * MiB, .rlim_max = CHILD_HARD};
	ck_assert_int_eq(prlimit(pid, RLIMIT_MEMLOCK, &lowered, NULL), 0);
	ck_assert_uint_eq(audit_memlock(root, pid_text, "2M", &kind), 1);
	ck_assert_str_eq(kind, "drift");
	ck_assert_msg(revoke_domain(root, NULL, &err) == 0, "%s", err.message);
	expect_limits(pid, CHILD_SOFT, CHILD_HARD, "after revoke");
	hypervisor_stop(pid);
	test_root_remove(root);
}
END_TEST

static Suite *memlock_suite(void)
{
	Suite *suite = suite_create("memlock");
	TCase *tc = tcase_create("formula");
	tcase_add_loop_test(tc, the_formula_gives_the_hand_worked_limit, 0,
			    (int)(sizeof(formula_cases) / sizeof(formula_cases[0])));
	tcase_add_test(tc, a_limit_past_64_bits_is_an_error);
	tcase_add_test(tc, sizes_take_binary_units_and_refuse_anything_else);
	suite_add_tcase(suite, tc);

	tc = tcase_create("process");
	tcase_add_test(tc, apply_raises_the_soft_limit_to_the_formula_and_revoke_puts_it_back);
	tcase_add_test(tc, a_limit_already_high_enough_is_left_alone_and_not_journaled);
	tcase_add_test(tc, a_hard_limit_below_the_need_is_raised_with_cap_sys_resource_and_else_nothing_changes);
	tcase_add_test(tc, a_hypervisor_with_cap_ipc_lock_gets_no_limit);
	tcase_add_test(tc, a_root_child_that_becomes_another_uid_gets_the_limit_despite_its_cap_ipc_lock);
	tcase_add_test(tc, revoke_after_the_pid_exited_puts_back_nothing_and_says_so);
	tcase_add_test(tc, a_new_pid_of_the_domain_gives_the_old_one_its_limit_back);
	suite_add_tcase(suite, tc);

	tc = tcase_create("crashes");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, a_kill_at_every_journal_point_of_an_apply_restores_the_original_limit);
	suite_add_tcase(suite, tc);

	tc = tcase_create("plan-and-audit");
	tcase_add_test(tc, plan_shows_the_arithmetic_and_whether_the_limit_suffices);
	tcase_add_test(tc, audit_reports_a_limit_below_the_need_until_apply_raises_it);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return test_main(memlock_suite());
}
