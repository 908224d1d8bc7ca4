/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Managed mode on generated trees. Nothing in a generated /sys reacts to a
 * write, so these tests prove the refusals, the record of the original driver
 * and the undo when the kernel does not bind as asked; the VM suite
 * (tests/vm) proves the real rebinding against a real driver core.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "testlib.h"
#include "vfio_users.h"

/* The GPU on its host driver, its audio function on snd_hda_intel, vfio-pci loaded. */
static const char host_gpu_on_host_drivers[] =
	"misc vfio 10:196\n"
	"driver vfio-pci\n"
	"group 7\n"
	"device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=nouveau\n"
	"device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=snd_hda_intel\n"
	"group 8\n"
	"device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=e1000e\n"
	"group 9 243:0\n"
	"device 0000:03:00.0 group=9 vendor=1234 device=11e8 class=00ff00 driver=vfio-pci\n";

static const char *const record_of_e1000e = "/run/vfguard/drivers/0000:02:00.0";

static int detach(const char *root, const char *bdf, const char *driver, vfg_driver_binding *binding, vfg_error *err)
{
	vfg_context *ctx = test_context(root);
	vfg_pci_addr addr;
	ck_assert_int_eq(vfg_pci_addr_parse(bdf, &addr, NULL), 0);
	int r = vfg_pci_detach(ctx, &addr, driver, binding, err);
	vfg_context_free(ctx);
	return r;
}

/* The notices a reattach gave (vfg_context_set_notice), and what the vfio driver's unbind held at the first. */
typedef struct notices_seen {
	const char *root;
	int count;
	vfg_notice_kind kind;
	char subject[64];
	char message[2048];
	char *unbind_then; /* vfio-pci/unbind when the first notice came: "" while nothing was written */
} notices_seen;

static void notice_seen(const vfg_notice *notice, void *data)
{
	notices_seen *seen = data;
	if (seen->count++ > 0)
		return;
	seen->kind = notice->kind;
	snprintf(seen->subject, sizeof(seen->subject), "%s", notice->subject);
	snprintf(seen->message, sizeof(seen->message), "%s", notice->message);
	seen->unbind_then = test_read_file(seen->root, "/sys/bus/pci/drivers/vfio-pci/unbind");
}

/* A reattach by the library; @seen: the notices it gives go there, NULL: none asked for. */
static int reattach_seen(const char *root, const char *bdf, notices_seen *seen, vfg_driver_binding *binding,
			 vfg_error *err)
{
	vfg_context *ctx = test_context(root);
	if (seen)
		vfg_context_set_notice(ctx, notice_seen, seen);
	vfg_pci_addr addr;
	ck_assert_int_eq(vfg_pci_addr_parse(bdf, &addr, NULL), 0);
	int r = vfg_pci_reattach(ctx, &addr, binding, err);
	vfg_context_free(ctx);
	return r;
}

static int reattach(const char *root, const char *bdf, vfg_driver_binding *binding, vfg_error *err)
{
	return reattach_seen(root, bdf, NULL, binding, err);
}

/* A tree of @manifest, labelers = dac, whose @bdf vfguard detached from @original ("": no driver). */
static const char *detached_root(const char *manifest, const char *bdf, const char *original)
{
	const char *root = test_root_new(manifest);
	char record[64], content[VFG_DRIVER_MAX + 32];
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	snprintf(record, sizeof(record), "/run/vfguard/drivers/%s", bdf);
	snprintf(content, sizeof(content), "driver=%s\noverride=\n", original);
	test_write_file(root, record, content);
	return root;
}

static void expect_file(const char *root, const char *logical, const char *expected)
{
	char *content = test_read_file(root, logical);
	if (!expected)
		ck_assert_msg(content == NULL, "%s exists: '%s'", logical, content);
	else
		ck_assert_msg(content && strcmp(content, expected) == 0, "%s is '%s', expected '%s'", logical,
			      content ? content : "(missing)", expected);
	free(content);
}

START_TEST(detach_refuses_a_group_a_host_driver_shares_and_names_it)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(detach(root, "0000:01:00.0", NULL, &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "IOMMU group 7 is not viable") &&
			      strstr(err.message, "0000:01:00.1 is bound to snd_hda_intel"),
		      "%s", err.message);
	expect_file(root, "/sys/bus/pci/devices/0000:01:00.0/driver_override", "(null)\n");
	expect_file(root, "/sys/bus/pci/drivers/nouveau/unbind", "");
	expect_file(root, "/run/vfguard/drivers/0000:01:00.0", NULL);
	test_root_remove(root);
}
END_TEST

/* A device that is not on the host is named as missing, not as one the IOMMU does not cover. */
START_TEST(detach_of_a_device_not_on_the_host_names_it_missing)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(detach(root, "0000:07:00.0", NULL, &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "0000:07:00.0: no such PCI function on this host") &&
			      !strstr(err.message, "IOMMU"),
		      "%s", err.message);
	expect_file(root, "/run/vfguard/drivers/0000:07:00.0", NULL);
	test_root_remove(root);
}
END_TEST

START_TEST(detach_needs_the_driver_loaded)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(detach(root, "0000:02:00.0", "mlx5_vfio_pci", &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "driver mlx5_vfio_pci is not loaded") &&
			      strstr(err.message, "modprobe mlx5_vfio_pci"),
		      "%s", err.message);
	expect_file(root, record_of_e1000e, NULL);
	test_root_remove(root);
}
END_TEST

START_TEST(detach_refuses_a_driver_that_is_not_vfio)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(detach(root, "0000:02:00.0", "e1000e", &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "e1000e: is not a vfio driver"), "%s", err.message);
	expect_file(root, "/sys/bus/pci/devices/0000:02:00.0/driver_override", "(null)\n");
	test_root_remove(root);
}
END_TEST

/*
 * A sysfs attribute of a tree under --root that is a link out of the root
 * is not written through: detach refuses it and the file it names keeps
 * its bytes (the writes followed any link before). A link inside the tree,
 * as sysfs's own are, still works.
 */
START_TEST(a_sysfs_write_through_a_link_out_of_the_root_is_refused)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	char outside[64], override[4096];
	snprintf(outside, sizeof(outside), "/tmp/vfguard-outside-%d", (int)getpid());
	FILE *f = fopen(outside, "w");
	ck_assert_ptr_nonnull(f);
	fputs("untouched\n", f);
	fclose(f);
	snprintf(override, sizeof(override), "%s",
		 test_path(root, "/sys/bus/pci/devices/0000:02:00.0/driver_override"));
	ck_assert_int_eq(unlink(override), 0);
	ck_assert_int_eq(symlink(outside, override), 0);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(detach(root, "0000:02:00.0", NULL, &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "driver_override: leads out of the root prefix"), "%s", err.message);
	char *left = test_read_file("", outside);
	ck_assert_msg(left && strcmp(left, "untouched\n") == 0, "the file outside now holds '%s'", left);
	free(left);
	ck_assert_int_eq(unlink(outside), 0);
	test_root_remove(root);
}
END_TEST

START_TEST(detach_writes_override_unbind_probe_and_undoes_when_the_driver_does_not_bind)
{
	/* A generated /sys does not rebind: exactly the case of a driver that refuses the device. */
	const char *root = test_root_new(host_gpu_on_host_drivers);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(detach(root, "0000:02:00.0", NULL, &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "detach undone, back to e1000e") &&
			      strstr(err.message, "vfio-pci did not take it after drivers_probe (now e1000e)"),
		      "%s", err.message);
	expect_file(root, "/sys/bus/pci/drivers/e1000e/unbind", "0000:02:00.0");
	expect_file(root, "/sys/bus/pci/drivers_probe", "0000:02:00.0");
	/* The override was set to vfio-pci, then cleared again with "\n" (driver_set_override()). */
	expect_file(root, "/sys/bus/pci/devices/0000:02:00.0/driver_override", "\n");
	expect_file(root, record_of_e1000e, NULL);
	test_root_remove(root);
}
END_TEST

START_TEST(detach_of_a_bound_function_changes_nothing_and_reattach_keeps_it)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_msg(detach(root, "0000:03:00.0", NULL, &binding, &err) == 0, "%s", err.message);
	ck_assert(!binding.changed);
	ck_assert_str_eq(binding.driver, "vfio-pci");
	ck_assert_str_eq(binding.original, "vfio-pci");
	expect_file(root, "/sys/bus/pci/devices/0000:03:00.0/driver_override", "(null)\n");
	expect_file(root, "/run/vfguard/drivers/0000:03:00.0", "driver=vfio-pci\noverride=\n");
	/* status names what was detached by hand, which no domain holds, until its reattach */
	test_run run;
	test_cli(&run, (const char *[]){"status", "--root", root, NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "held by no domain") &&
			      strstr(run.out, "\n  0000:03:00.0  original driver vfio-pci\n"),
		      "%s%s", run.out, run.err);
	test_run_free(&run);

	ck_assert_msg(reattach(root, "0000:03:00.0", &binding, &err) == 0, "%s", err.message);
	ck_assert(!binding.changed);
	ck_assert_str_eq(binding.driver, "vfio-pci");
	expect_file(root, "/sys/bus/pci/drivers/vfio-pci/unbind", "");
	/* nor its override: unset before, unset after, not written (a trial saw "(null)\n" become "\n") */
	expect_file(root, "/sys/bus/pci/devices/0000:03:00.0/driver_override", "(null)\n");
	expect_file(root, "/run/vfguard/drivers/0000:03:00.0", NULL);
	test_cli(&run, (const char *[]){"status", "--root", root, "--json", NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "\"detached\": []"), "%s%s", run.out, run.err);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(reattach_refuses_a_vfio_function_vfguard_did_not_detach_and_leaves_a_host_one)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(reattach(root, "0000:03:00.0", &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "0000:03:00.0: vfguard did not detach it"), "%s", err.message);
	ck_assert_int_eq(err.errnum, ENOENT);
	expect_file(root, "/sys/bus/pci/devices/0000:03:00.0/driver_override", "(null)\n");
	expect_file(root, "/sys/bus/pci/drivers/vfio-pci/unbind", "");

	/*
	 * One with a host driver has nothing to give back, and stays: exit 0,
	 * as a detach of a bound function (a second reattach finds this).
	 */
	err = (vfg_error){0};
	ck_assert_msg(reattach(root, "0000:02:00.0", &binding, &err) == 0, "%s", err.message);
	ck_assert(!binding.changed);
	ck_assert_str_eq(binding.driver, "e1000e");
	expect_file(root, "/sys/bus/pci/devices/0000:02:00.0/driver_override", "(null)\n");
	expect_file(root, "/sys/bus/pci/drivers/e1000e/unbind", "");
	expect_file(root, record_of_e1000e, NULL);
	test_run run;
	test_cli(&run, (const char *[]){"reattach", "--root", root, "02:00.0", NULL});
	ck_assert_msg(run.status == 0 && strcmp(run.out, "0000:02:00.0: stays with e1000e\n") == 0, "%s%s", run.out,
		      run.err);
	test_run_free(&run);

	/* A function the host does not have is named as that, not as one vfguard did not detach. */
	err = (vfg_error){0};
	ck_assert_int_eq(reattach(root, "0000:99:00.0", &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "0000:99:00.0: no such PCI function on this host") &&
			      !strstr(err.message, "did not detach"),
		      "%s", err.message);
	ck_assert_int_eq(err.errnum, ENOENT);
	test_root_remove(root);
}
END_TEST

START_TEST(cli_detach_reports_the_device_and_json)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	test_run run;
	test_cli(&run, (const char *[]){"detach", "--root", root, "--json", "03:00.0", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	ck_assert_msg(strstr(run.out, "\"address\": \"0000:03:00.0\"") && strstr(run.out, "\"changed\": false"), "%s",
		      run.out);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"detach", "--root", root, "01:00.0", NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "0000:01:00.0: IOMMU group 7 is not viable"), "%s", run.err);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"detach", "--root", root, NULL});
	ck_assert_int_eq(run.status, 2);
	test_run_free(&run);

	/*
	 * A hostdev spec's keys were parsed and ignored: "02:00.0,managed=yes,
	 * driver=mlx5_vfio_pci" bound vfio-pci (a trial). Refused now, and a
	 * --driver that is no vfio driver is a usage error as driver= was.
	 */
	test_cli(&run, (const char *[]){"detach", "--root", root, "02:00.0,managed=yes,driver=mlx5_vfio_pci", NULL});
	ck_assert_int_eq(run.status, 2);
	ck_assert_msg(strstr(run.err, "'managed' means nothing to detach, which takes the function (BDF) alone; the "
				      "driver to bind is --driver NAME"),
		      "%s", run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"reattach", "--root", root, "03:00.0,backend=legacy", NULL});
	ck_assert_int_eq(run.status, 2);
	ck_assert_msg(strstr(run.err, "'backend' means nothing to reattach"), "%s", run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"detach", "--root", root, "--driver", "e1000e", "02:00.0", NULL});
	ck_assert_int_eq(run.status, 2);
	ck_assert_msg(strstr(run.err, "--driver: e1000e: is not a vfio driver"), "%s", run.err);
	test_run_free(&run);
	expect_file(root, "/sys/bus/pci/devices/0000:02:00.0/driver_override", "(null)\n");
	expect_file(root, record_of_e1000e, NULL);
	test_root_remove(root);
}
END_TEST

/*
 * A reattach the kernel refuses with EBUSY names the VFIO user holding the
 * function. This machine has no VFIO and a generated /sys never says EBUSY,
 * so this proves the naming: a child holds a real node of the tree open (a
 * char node of /dev/full's number: a group node's would not open without
 * VFIO), and the message builder finds it in /proc. The VM suite would prove
 * the rest: a reattach while QEMU holds the group, failing with its pid.
 */
START_TEST(a_vfio_user_holding_the_group_is_named_by_pid_and_name_or_none_found)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	/*
	 * Nobody holds it: a number of devices.txt's "LOCAL/EXPERIMENTAL USE"
	 * majors (60-63), never given out dynamically. The tree's own group
	 * node number is not one: the trees of tests running beside this one
	 * make and open nodes of the same numbers (a CI run found test_journal
	 * holding one).
	 */
	vfg_vfio_node_ref nodes[1] = {{.rdev = makedev(60, 9), .name = "/dev/vfio/9"}};
	char users[1024];
	vfg_vfio_users_describe(nodes, 1, users, sizeof(users));
	ck_assert_str_eq(users, "(none found)");

	const char *held = test_path(root, "/dev/vfio/held");
	ck_assert_int_eq(mknod(held, S_IFCHR | 0600, makedev(1, 7)), 0);
	pid_t child = test_holder_start(held, O_RDONLY);
	nodes[0].rdev = makedev(1, 7);
	vfg_vfio_users_describe(nodes, 1, users, sizeof(users));
	test_holder_stop(child);
	char expected[64];
	snprintf(expected, sizeof(expected), "pid %d (test_driver) has /dev/vfio/9 open", (int)child);
	ck_assert_msg(strstr(users, expected), "no '%s' in '%s'", expected, users);
	test_root_remove(root);
}
END_TEST

/*
 * edu on vfio-pci (vfguard detached it from no driver). Its group node has a
 * number of devices.txt's "LOCAL/EXPERIMENTAL USE" majors (60-63), which no
 * other test's tree uses, so only this test's holder can hold it; a holder
 * opens it O_PATH, which reaches no driver (none is behind that number)
 * and shows in /proc/PID/fd as any open does.
 */
static const char host_edu_on_vfio_pci[] =
	"misc vfio 10:196\n"
	"driver vfio-pci\n"
	"group 9 61:19\n"
	"device 0000:03:00.0 group=9 vendor=1234 device=11e8 class=00ff00 driver=vfio-pci\n";

/*
 * Two CPUs this process may run on, in @cpus: false when it may run on one
 * only. A lookup meets a rename only while both run at once, and two
 * processes the scheduler puts on one CPU take turns (a trial, on two
 * CPUs: left where the scheduler put them, one run of 200,000 opens beside
 * 145,000 renames met no EAGAIN; each on a CPU of its own, 7 to 9% of the
 * opens did, 1 to 3% with two other busy processes).
 */
static bool two_cpus(int cpus[2])
{
	cpu_set_t allowed;
	ck_assert_int_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	int n = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			cpus[n++] = cpu;
	return n == 2;
}

static void run_on(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

/*
 * Renames, made by a child on CPU @cpu until it is killed or this process
 * ends, of a file in a directory of its own on tmpfs (/dev/shm): there
 * they are many times as fast as on the disk the trees are on, and do not
 * hold up this process's own file writes (a trial: 50 reattaches a second
 * beside renames in the tree, 150 beside renames on tmpfs). Its directory
 * in @dir, to remove once it is stopped.
 */
static pid_t renamer_start(int cpu, char dir[64])
{
	snprintf(dir, 64, "/dev/shm/vfguard-renames-XXXXXX");
	ck_assert_msg(mkdtemp(dir), "%s: %s", dir, strerror(errno));
	char a[96], b[96];
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	int fd = open(a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	pid_t parent = getpid(), child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		run_on(cpu);
		for (;;)
			if (rename(a, b) < 0 || rename(b, a) < 0)
				_exit(1);
	}
	return child;
}

static void renamer_stop(pid_t renamer, const char *dir)
{
	test_holder_stop(renamer);
	char path[96];
	snprintf(path, sizeof(path), "%s/a", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/b", dir);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
}

/*
 * A lookup beneath a root (openat2(2) RESOLVE_BENEATH) fails with EAGAIN
 * at a ".." when a rename or a mount happened anywhere on the machine since
 * it began: the kernel cannot tell that the ".." stayed beneath the root
 * (fs/namei.c handle_dots(): the rename_lock or mount_lock sequence count
 * sampled in path_init() has moved; every rename takes rename_lock, d_move()
 * in fs/dcache.c). A function's attributes are reached through such a ".."
 * (sys/bus/pci/devices/BDF links to ../../../devices/...), and the open is
 * retried. Beside a process renaming a file in a loop, every reattach (one
 * write of driver_override, set anew before each) ends as on any generated
 * /sys, none with EAGAIN. The test's own open of that attribute after each
 * reattach counts the EAGAINs the kernel gives meanwhile: it goes on until
 * there are EAGAINS_WANTED, so that the reattaches' opens, as many, met
 * about as many (without the retry, one fails the test).
 */
START_TEST(sysfs_writes_go_through_renames_made_anywhere_meanwhile)
{
	enum { EAGAINS_WANTED = 10, SECONDS_AT_MOST = 20 };
	int cpus[2];
	ck_assert_msg(two_cpus(cpus), "a lookup meets a rename only on two CPUs at once; this process may use one");
	const char *root = detached_root(host_edu_on_vfio_pci, "0000:03:00.0", "");
	const char *override = "/sys/bus/pci/devices/0000:03:00.0/driver_override";
	int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(root_fd, 0);
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	vfg_context *ctx = test_context(root);
	vfg_pci_addr addr;
	ck_assert_int_eq(vfg_pci_addr_parse("0000:03:00.0", &addr, NULL), 0);
	char renames[64];
	pid_t renamer = renamer_start(cpus[0], renames);
	run_on(cpus[1]);
	unsigned reattaches = 0, eagains = 0;
	time_t start = time(NULL);
	while (eagains < EAGAINS_WANTED && time(NULL) - start < SECONDS_AT_MOST) {
		test_write_file(root, override, "vfio-pci\n");
		vfg_driver_binding binding;
		vfg_error err = {0};
		ck_assert_int_eq(vfg_pci_reattach(ctx, &addr, &binding, &err), -1);
		ck_assert_msg(strstr(err.message, "is bound to vfio-pci, not to its original no driver"),
			      "reattach %u: %s", reattaches, err.message);
		expect_file(root, override, "\n");
		reattaches++;
		int fd = (int)syscall(SYS_openat2, root_fd, override + 1, &how, sizeof(how));
		ck_assert_msg(fd >= 0 || errno == EAGAIN, "%s: %s", override, strerror(errno));
		eagains += fd < 0;
		if (fd >= 0)
			close(fd);
	}
	renamer_stop(renamer, renames);
	vfg_context_free(ctx);
	close(root_fd);
	ck_assert_msg(eagains >= EAGAINS_WANTED, "in %d s, %u of %u opens beside the renames met EAGAIN",
		      SECONDS_AT_MOST, eagains, reattaches);
	test_root_remove(root);
}
END_TEST

/* What the notice of a reattach of 0000:03:00.0 says while @holder holds its group node /dev/vfio/9. */
static void expected_wait_notice(pid_t holder, char *buf, size_t size)
{
	snprintf(buf, size,
		 "0000:03:00.0: waiting for it to be released: pid %d (test_driver) has /dev/vfio/9 open; the "
		 "kernel asks that process to release the device, and unbinding it from vfio-pci waits until it does",
		 (int)holder);
}

/*
 * Unbinding vfio-pci from a function a process holds blocks in the write
 * until the process lets go (vfio_unregister_group_dev()), and the command
 * said nothing meanwhile: a user saw vfguard reattach and revoke hang. The
 * reattach now gives a notice before that write, naming the function, the
 * holder and its node; with nobody holding it, none (and no /proc scan).
 * A generated /sys never blocks nor rebinds: the reattach then fails, which
 * is not what this is about.
 */
START_TEST(a_reattach_says_who_holds_the_function_before_the_unbind_that_waits_for_it)
{
	const char *root = detached_root(host_edu_on_vfio_pci, "0000:03:00.0", "");
	pid_t holder = test_holder_start(test_path(root, "/dev/vfio/9"), O_PATH);
	notices_seen seen = {.root = root};
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(reattach_seen(root, "0000:03:00.0", &seen, &binding, &err), -1);
	test_holder_stop(holder);
	ck_assert_msg(strstr(err.message, "is bound to vfio-pci, not to its original no driver"), "%s", err.message);
	ck_assert_int_eq(seen.count, 1);
	ck_assert_int_eq(seen.kind, VFG_NOTICE_VFIO_USERS_WAIT);
	ck_assert_str_eq(seen.subject, "0000:03:00.0");
	char expected[512];
	expected_wait_notice(holder, expected, sizeof(expected));
	ck_assert_str_eq(seen.message, expected);
	/* before the unbind: its file was empty then, and holds the function after */
	ck_assert_msg(seen.unbind_then && strcmp(seen.unbind_then, "") == 0, "unbind held '%s' at the notice",
		      seen.unbind_then);
	free(seen.unbind_then);
	expect_file(root, "/sys/bus/pci/drivers/vfio-pci/unbind", "0000:03:00.0");

	/* Nobody holds it: no notice. */
	test_write_file(root, "/sys/bus/pci/drivers/vfio-pci/unbind", "");
	seen = (notices_seen){.root = root};
	err = (vfg_error){0};
	ck_assert_int_eq(reattach_seen(root, "0000:03:00.0", &seen, &binding, &err), -1);
	ck_assert_int_eq(seen.count, 0);
	expect_file(root, "/sys/bus/pci/drivers/vfio-pci/unbind", "0000:03:00.0");
	test_root_remove(root);
}
END_TEST

/*
 * Forty holders: the notice names as many as fit, each whole, then says
 * how many more (a trial saw 21 of 30 named, the last cut mid-word, and
 * no word of the rest).
 */
START_TEST(a_notice_of_many_holders_names_whole_ones_and_counts_the_rest)
{
	const char *root = detached_root(host_edu_on_vfio_pci, "0000:03:00.0", "");
	enum { HOLDERS = 40 };
	pid_t holders[HOLDERS];
	for (int i = 0; i < HOLDERS; i++)
		holders[i] = test_holder_start(test_path(root, "/dev/vfio/9"), O_PATH);
	notices_seen seen = {.root = root};
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(reattach_seen(root, "0000:03:00.0", &seen, &binding, &err), -1);
	for (int i = 0; i < HOLDERS; i++)
		test_holder_stop(holders[i]);
	free(seen.unbind_then);
	unsigned named = 0;
	for (const char *at = seen.message; (at = strstr(at, " has /dev/vfio/9 open")); at++)
		named++;
	char more[64];
	snprintf(more, sizeof(more), "; and %u more; the kernel asks those processes", HOLDERS - named);
	ck_assert_msg(named >= 10 && named < HOLDERS && strstr(seen.message, more), "%u named: %s", named,
		      seen.message);
	test_root_remove(root);
}
END_TEST

/*
 * The CLI prints the notice on stderr, "vfguard COMMAND: ", before the
 * command goes on: vfguard reattach, and vfguard revoke giving back a
 * managed hostdev. stdout keeps the result alone (--json).
 */
START_TEST(cli_reattach_and_revoke_print_the_wait_on_stderr_before_they_go_on)
{
	const char *root = detached_root(host_edu_on_vfio_pci, "0000:03:00.0", "");
	pid_t holder = test_holder_start(test_path(root, "/dev/vfio/9"), O_PATH);
	char notice[512], line[600];
	expected_wait_notice(holder, notice, sizeof(notice));
	test_run run;
	test_cli(&run, (const char *[]){"reattach", "--root", root, "--json", "03:00.0", NULL});
	ck_assert_int_eq(run.status, 1);
	snprintf(line, sizeof(line), "vfguard reattach: %s\nvfguard: 0000:03:00.0: is bound to vfio-pci", notice);
	ck_assert_msg(strncmp(run.err, line, strlen(line)) == 0, "expected '%s' first, stderr: %s", line, run.err);
	ck_assert_msg(!strstr(run.out, "waiting"), "%s", run.out);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--hostdev", "03:00.0,managed=yes", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"revoke", "--root", root, "--domain", "vm1", NULL});
	test_holder_stop(holder);
	ck_assert_int_eq(run.status, 1);
	snprintf(line, sizeof(line), "vfguard revoke: %s\n", notice);
	char *at = strstr(run.err, line);
	ck_assert_msg(at == run.err, "expected '%s' first, stderr: %s", line, run.err);
	ck_assert_msg(strstr(at + strlen(line), "managed hostdev 0000:03:00.0 of domain vm1 could not be given back"),
		      "%s", run.err);
	ck_assert_msg(!strstr(run.out, "waiting"), "%s", run.out);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

/* An SR-IOV PF on its host driver with two VFs enabled, and a root port, a bridge. */
static const char host_pf_and_bridge[] =
	"misc vfio 10:196\n"
	"driver vfio-pci\n"
	"group 1\n"
	"device 0000:00:1c.0 group=1 vendor=8086 device=a338 class=060400 header=1 driver=pcieport\n"
	"group 2\n"
	"device 0000:3b:00.0 group=2 vendor=8086 device=1572 class=020000 driver=i40e parent=0000:00:1c.0\n"
	"group 3 243:0\n"
	"device 0000:3b:02.0 group=3 vendor=8086 device=154c class=020000 driver=vfio-pci physfn=0000:3b:00.0\n"
	"group 4 243:1\n"
	"device 0000:3b:02.1 group=4 vendor=8086 device=154c class=020000 driver=iavf physfn=0000:3b:00.0\n";

/*
 * Unbinding a PF's host driver disables SR-IOV and takes its VFs away (a
 * trial in the VM suite lost both VFs, one held by a domain), and vfio-pci
 * refuses a PF with VFs enabled anyway; vfio-pci binds no bridge either.
 * Both refused before any write, naming why.
 */
START_TEST(detach_refuses_a_pf_with_vfs_enabled_and_a_bridge_before_any_write)
{
	const char *root = test_root_new(host_pf_and_bridge);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(detach(root, "0000:3b:00.0", NULL, &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "0000:3b:00.0: is an SR-IOV PF with 2 VFs enabled (") &&
			      strstr(err.message, "0000:3b:02.0") && strstr(err.message, "0000:3b:02.1") &&
			      strstr(err.message, "unbinding it from i40e disables SR-IOV and removes them"),
		      "%s", err.message);
	expect_file(root, "/sys/bus/pci/drivers/i40e/unbind", "");
	expect_file(root, "/run/vfguard/drivers/0000:3b:00.0", NULL);
	ck_assert_int_eq(detach(root, "0000:00:1c.0", NULL, &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "0000:00:1c.0: is a PCI bridge (header type 1): vfio-pci binds only normal"),
		      "%s", err.message);
	expect_file(root, "/sys/bus/pci/drivers/pcieport/unbind", "");
	expect_file(root, "/run/vfguard/drivers/0000:00:1c.0", NULL);
	test_root_remove(root);
}
END_TEST

/*
 * A function a domain's claim covers is that domain's: a detach by hand of
 * another function of its group would put it in the VM's reach, a reattach
 * by hand of the function would take it from the VM (a trial did both, and
 * audit saw nothing). Refused, nothing written; once revoked, allowed.
 */
START_TEST(detach_and_reattach_by_hand_refuse_a_group_a_domain_holds)
{
	const char *root =
		detached_root("misc vfio 10:196\n"
			      "driver vfio-pci\n"
			      "group 9 243:0\n"
			      "device 0000:06:00.0 group=9 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
			      "device 0000:06:00.1 group=9 vendor=8086 device=10d3 class=020000\n",
			      "0000:06:00.0", "e1000e");
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--hostdev", "06:00.0,managed=yes", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	test_run_free(&run);
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(detach(root, "0000:06:00.1", NULL, &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "0000:06:00.1: IOMMU group 9 belongs to domain vm1 (through its hostdev "
					  "0000:06:00.0): a detach by hand would put the device in that VM's reach"),
		      "%s", err.message);
	expect_file(root, "/sys/bus/pci/devices/0000:06:00.1/driver_override", "(null)\n");
	ck_assert_int_eq(reattach(root, "0000:06:00.0", &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "a reattach by hand would take the device from its VM"), "%s", err.message);
	expect_file(root, "/sys/bus/pci/drivers/vfio-pci/unbind", "");
	expect_file(root, "/run/vfguard/drivers/0000:06:00.0", "driver=e1000e\noverride=\n");
	/* bound as asked already: nothing would change, whoever holds it */
	ck_assert_msg(detach(root, "0000:06:00.0", NULL, &binding, &err) == 0, "%s", err.message);
	ck_assert(!binding.changed);
	test_root_remove(root);
}
END_TEST

/*
 * A function detached, then moved by hand to another host driver: its old
 * record named vfio-pci... or any driver but the one it has now. The next
 * detach takes the driver it has now as its original (a trial's revoke put
 * the function on the record's driver, not on the one it had at apply).
 */
START_TEST(detach_takes_the_driver_a_function_was_moved_to_by_hand_as_its_original)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	test_write_file(root, record_of_e1000e, "driver=igb\noverride=\n");
	vfg_driver_binding binding;
	vfg_error err = {0};
	/* A generated /sys never rebinds: the detach is undone, back to the driver it had, e1000e. */
	ck_assert_int_eq(detach(root, "0000:02:00.0", NULL, &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "detach undone, back to e1000e"), "%s", err.message);
	expect_file(root, "/sys/bus/pci/drivers/igb/bind", NULL);
	expect_file(root, record_of_e1000e, NULL);
	test_root_remove(root);
}
END_TEST

/*
 * An original override naming another driver than the original one (set
 * after that driver bound) was written back before the bind, and the
 * kernel matches a function with an override to that driver alone: the
 * bind back failed and left the function on no driver (an SR-IOV trial).
 * It is unset for the bind and written after it; a generated /sys never
 * rebinds, so here the bind is checked and fails with the override still
 * unset, and the record stays for the next reattach.
 */
START_TEST(reattach_binds_before_it_gives_back_an_override_naming_another_driver)
{
	const char *root = test_root_new(host_gpu_on_host_drivers);
	test_write_file(root, "/run/vfguard/drivers/0000:03:00.0", "driver=e1000e\noverride=pci-stub\n");
	vfg_driver_binding binding;
	vfg_error err = {0};
	ck_assert_int_eq(reattach(root, "0000:03:00.0", &binding, &err), -1);
	ck_assert_msg(strstr(err.message, "is bound to vfio-pci, not to its original e1000e, after reattach"), "%s",
		      err.message);
	expect_file(root, "/sys/bus/pci/drivers/vfio-pci/unbind", "0000:03:00.0");
	expect_file(root, "/sys/bus/pci/drivers/e1000e/bind", "0000:03:00.0");
	/* unset it was, and unset (not written) it stays while the bind is tried */
	expect_file(root, "/sys/bus/pci/devices/0000:03:00.0/driver_override", "(null)\n");
	expect_file(root, "/run/vfguard/drivers/0000:03:00.0", "driver=e1000e\noverride=pci-stub\n");
	test_root_remove(root);
}
END_TEST

/*
 * A reattach whose bind back fails with ENOENT (the original driver's probe
 * returned -ENOENT, e.g. request_firmware() finding no file, which bind_store
 * passes on since 5.14; here the driver's bind file is missing) failed, and
 * the record stays: it is no "nothing to give back" (no record), and must
 * not exit 0 as one. The function is on no driver, as a first reattach
 * whose bind failed leaves it.
 */
START_TEST(a_reattach_whose_bind_fails_with_enoent_is_a_failure_not_nothing_to_give_back)
{
	const char *root = test_root_new("misc vfio 10:196\n"
					 "driver vfio-pci\n"
					 "driver e1000e\n"
					 "group 8\n"
					 "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000\n");
	test_write_file(root, record_of_e1000e, "driver=e1000e\noverride=\n");
	ck_assert_int_eq(unlink(test_path(root, "/sys/bus/pci/drivers/e1000e/bind")), 0);
	vfg_driver_binding binding;
	vfg_error err = {0};
	int r = reattach(root, "0000:02:00.0", &binding, &err);
	ck_assert_msg(r == -1, "reattach returned %d (driver '%s', original '%s', changed %d) with the bind failed", r,
		      binding.driver, binding.original, binding.changed);
	ck_assert_msg(strstr(err.message, "e1000e/bind"), "%s", err.message);
	expect_file(root, record_of_e1000e, "driver=e1000e\noverride=\n");
	test_root_remove(root);
}
END_TEST

static Suite *driver_suite(void)
{
	Suite *suite = suite_create("driver");
	TCase *tc = tcase_create("detach and reattach");
	tcase_add_test(tc, detach_refuses_a_group_a_host_driver_shares_and_names_it);
	tcase_add_test(tc, detach_of_a_device_not_on_the_host_names_it_missing);
	tcase_add_test(tc, detach_needs_the_driver_loaded);
	tcase_add_test(tc, detach_refuses_a_driver_that_is_not_vfio);
	tcase_add_test(tc, detach_writes_override_unbind_probe_and_undoes_when_the_driver_does_not_bind);
	tcase_add_test(tc, a_sysfs_write_through_a_link_out_of_the_root_is_refused);
	tcase_add_test(tc, sysfs_writes_go_through_renames_made_anywhere_meanwhile);
	tcase_add_test(tc, detach_refuses_a_pf_with_vfs_enabled_and_a_bridge_before_any_write);
	tcase_add_test(tc, detach_and_reattach_by_hand_refuse_a_group_a_domain_holds);
	tcase_add_test(tc, detach_takes_the_driver_a_function_was_moved_to_by_hand_as_its_original);
	tcase_add_test(tc, detach_of_a_bound_function_changes_nothing_and_reattach_keeps_it);
	tcase_add_test(tc, reattach_refuses_a_vfio_function_vfguard_did_not_detach_and_leaves_a_host_one);
	tcase_add_test(tc, reattach_binds_before_it_gives_back_an_override_naming_another_driver);
	tcase_add_test(tc, a_reattach_whose_bind_fails_with_enoent_is_a_failure_not_nothing_to_give_back);
	tcase_add_test(tc, cli_detach_reports_the_device_and_json);
	tcase_add_test(tc, a_vfio_user_holding_the_group_is_named_by_pid_and_name_or_none_found);
	tcase_add_test(tc, a_reattach_says_who_holds_the_function_before_the_unbind_that_waits_for_it);
	tcase_add_test(tc, a_notice_of_many_holders_names_whole_ones_and_counts_the_rest);
	tcase_add_test(tc, cli_reattach_and_revoke_print_the_wait_on_stderr_before_they_go_on);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return test_main(driver_suite());
}
