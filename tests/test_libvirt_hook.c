/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The built libvirt hook run as libvirt runs it (`vfguard DOMAIN OPERATION
 * SUB-OPERATION EXTRA`, the domain XML on standard input) against generated
 * host trees with real char nodes, under VFGUARD_ROOT, labelers = dac: real
 * chown at prepare, the byte-exact original back at release, nothing at all
 * for the other operations, and one stderr line for every failure.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static const char host[] = "misc vfio 234:196\n"
			   "misc iommu 234:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio1:511:1\n";

/* What a round trip must leave as it found it: chown moves ctime, and the journal lives in the state dir. */
#define UNCHANGED (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

#define DAC_107 "  <seclabel type='static' model='dac' relabel='yes'><label>+107:+107</label></seclabel>\n"

/* A domain XML in libvirt's format with the given <devices> content and extra top-level elements. */
static char *domain_xml(const char *name, const char *devices, const char *extra)
{
	char *xml;
	ck_assert_int_ge(asprintf(&xml,
				  "<domain type='kvm'>\n"
				  "  <name>%s</name>\n"
				  "  <uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>\n"
				  "  <memory unit='GiB'>4</memory>\n"
				  "  <devices>\n%s  </devices>\n%s"
				  "</domain>\n",
				  name, devices, extra),
			 0);
	return xml;
}

#define HOSTDEV(managed, driver, bus)                                                                  \
	"    <hostdev mode='subsystem' type='pci' managed='" managed "'>\n"                            \
	"      " driver "\n"                                                                           \
	"      <source><address domain='0x0000' bus='" bus "' slot='0x00' function='0x0'/></source>\n" \
	"    </hostdev>\n"

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
	ssize_t n = read(fd, text, 65535);
	ck_assert_int_ge(n, 0);
	close(fd);
	return text;
}

static int temp_file(void)
{
	char path[] = "/tmp/vfguard-hook-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	return fd;
}

/* Run the hook with @argv (NULL-terminated, after the program name) and @input on stdin, on @root. */
static void hook(hook_run *run, const char *root, const char *input, const char *const *argv)
{
	const char *program = getenv("VFGUARD_LIBVIRT_HOOK");
	ck_assert_msg(program != NULL, "VFGUARD_LIBVIRT_HOOK is not set");
	int in = temp_file(), out = temp_file(), err = temp_file();
	ck_assert_int_eq(write(in, input, strlen(input)), (ssize_t)strlen(input));
	ck_assert_int_eq(lseek(in, 0, SEEK_SET), 0);

	const char *args[8] = {"vfguard"};
	size_t n = 1;
	for (; argv[n - 1]; n++) {
		ck_assert_uint_lt(n, 7);
		args[n] = argv[n - 1];
	}
	args[n] = NULL;

	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		setenv("VFGUARD_ROOT", root, 1);
		dup2(in, 0);
		dup2(out, 1);
		dup2(err, 2);
		execv(program, (char *const *)args);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	close(in);
	ck_assert_msg(WIFEXITED(status), "the hook did not exit");
	run->status = WEXITSTATUS(status);
	run->out = slurp(out);
	run->err = slurp(err);
}

static void hook_free(hook_run *run)
{
	free(run->out);
	free(run->err);
}

static unsigned lines(const char *text)
{
	unsigned n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void expect_ok(const hook_run *run, const char *what)
{
	ck_assert_msg(run->status == 0, "%s: exit %d: %s", what, run->status, run->err);
	ck_assert_msg(run->err[0] == '\0', "%s: stderr '%s'", what, run->err);
	/* libvirt reads a qemu.d hook's output as a replacement domain XML: there must be none */
	ck_assert_msg(run->out[0] == '\0', "%s: stdout '%s'", what, run->out);
}

/* A failure: exit 1, nothing on stdout, ONE line on stderr holding @reason. */
static void expect_failure(const hook_run *run, const char *reason)
{
	ck_assert_msg(run->status == 1, "exit %d, expected 1 (stderr '%s')", run->status, run->err);
	ck_assert_str_eq(run->out, "");
	ck_assert_msg(lines(run->err) == 1 && run->err[strlen(run->err) - 1] == '\n', "not one line: '%s'", run->err);
	ck_assert_msg(strncmp(run->err, "vfguard: ", 9) == 0, "%s", run->err);
	ck_assert_msg(strstr(run->err, reason), "'%s' lacks '%s'", run->err, reason);
}

static void expect_owner(const char *root, const char *logical, uid_t uid, gid_t gid)
{
	struct stat st;
	ck_assert_int_eq(lstat(test_path(root, logical), &st), 0);
	ck_assert_msg(st.st_uid == uid && st.st_gid == gid, "%s is %u:%u, expected %u:%u", logical, (unsigned)st.st_uid,
		      (unsigned)st.st_gid, (unsigned)uid, (unsigned)gid);
}

static const char *new_root(void)
{
	const char *root = test_root_new(host);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	/* A hardened host: the container is not world-writable, so it needs a grant too. */
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/vfio"), 0660), 0);
	return root;
}

static void run_ok(const char *root, const char *xml, const char *const *argv, const char *what)
{
	hook_run run;
	hook(&run, root, xml, argv);
	expect_ok(&run, what);
	hook_free(&run);
}

#define PREPARE(name) ((const char *const[]){name, "prepare", "begin", "-", NULL})
#define RELEASE(name) ((const char *const[]){name, "release", "end", "shutdown", NULL})

/* --help: what the hook is and how libvirt calls it, exit 0, no XML read or acted on (a trial found exit 2). */
START_TEST(help_says_how_libvirt_calls_the_hook)
{
	const char *root = new_root();
	char *before = test_snapshot(root, 0);
	for (const char *const *option = (const char *[]){"--help", "-h", NULL}; *option; option++) {
		hook_run run;
		hook(&run, root, "<domain/>", (const char *[]){*option, NULL});
		ck_assert_msg(run.status == 0 && !run.err[0], "%s: exit %d: %s", *option, run.status, run.err);
		ck_assert_msg(
			strncmp(run.out, "Usage: vfguard-libvirt-hook DOMAIN OPERATION SUB-OPERATION EXTRA", 64) == 0 &&
				strstr(run.out, "'prepare begin'") && strstr(run.out, "Exit status:"),
			"%s", run.out);
		hook_free(&run);
	}
	test_snapshot_expect(root, 0, before, "after --help");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(prepare_begin_grants_and_release_end_restores_byte_exactly)
{
	const char *root = new_root();
	char *xml = domain_xml("vm1", HOSTDEV("no", "<driver name='vfio'/>", "0x01"), DAC_107);
	char *before = test_snapshot(root, UNCHANGED);

	run_ok(root, xml, PREPARE("vm1"), "prepare begin");
	expect_owner(root, "/dev/vfio/7", 107, 107);
	/* the other group stays the host's */
	expect_owner(root, "/dev/vfio/8", 0, 0);
	char *prepared = test_snapshot(root, UNCHANGED);
	ck_assert_str_ne(prepared, before);

	run_ok(root, xml, RELEASE("vm1"), "release end");
	test_snapshot_expect(root, UNCHANGED, before, "prepare then release");
	free(prepared);
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

/*
 * The managed function of these hosts is on vfio-pci already: prepare leaves
 * its binding alone, and release must leave its driver_override so too. It
 * once wrote the "\n" that clears one (an operator's trial saw "(null)\n"
 * become "\n" on a generated /sys, where the kernel would show "(null)"):
 * unwritten, with the times of @before.
 */
static void override_untouched(const char *root, const char *override_path, const struct stat *before)
{
	char *override = test_read_file(root, override_path);
	ck_assert_ptr_nonnull(override);
	ck_assert_str_eq(override, "(null)\n");
	free(override);
	struct stat now;
	ck_assert_int_eq(stat(test_path(root, override_path), &now), 0);
	ck_assert_msg(now.st_mtim.tv_sec == before->st_mtim.tv_sec && now.st_mtim.tv_nsec == before->st_mtim.tv_nsec,
		      "%s was written", override_path);
}

/*
 * vm1 with @devices, whose managed function is on bus @managed_bus: prepare
 * grants the group nodes in @granted (NULL-terminated) to 107:107, release
 * puts the tree back byte-exactly.
 */
static void managed_round_trip(const char *devices, const char *managed_bus, const char *const *granted)
{
	const char *root = new_root();
	char *xml = domain_xml("vm1", devices, DAC_107);
	char override_path[128];
	snprintf(override_path, sizeof(override_path), "/sys/devices/pci0000:%s/0000:%s:00.0/driver_override",
		 managed_bus, managed_bus);
	struct stat override_stat;
	ck_assert_int_eq(stat(test_path(root, override_path), &override_stat), 0);
	char *before = test_snapshot(root, UNCHANGED);
	run_ok(root, xml, PREPARE("vm1"), "prepare begin");
	for (size_t i = 0; granted[i]; i++)
		expect_owner(root, granted[i], 107, 107);
	run_ok(root, xml, RELEASE("vm1"), "release end");
	override_untouched(root, override_path, &override_stat);
	test_snapshot_expect(root, UNCHANGED, before, "managed prepare then release");
	free(before);
	free(xml);
	test_root_remove(root);
}

/*
 * libvirt logs a hook's lines with no domain name, so the hook's notices
 * name it, as its errors do (a trial: a release waiting for a VFIO user
 * said which function, not whose). A detach record planted says the
 * function had no driver: the release's reattach unbinds vfio-pci, while a
 * child holds the group node, and says so first. (A generated /sys never
 * rebinds: the release then fails, which is not what this is about.) The
 * node's number is a "LOCAL/EXPERIMENTAL USE" major's (devices.txt) that
 * no other test's tree gives a node: the notice names every process of
 * the machine holding one of that number, and test_driver's holders of
 * 61:19, run beside this one, would be named here, and this one's there (a
 * trial: a process holding 61:19 failed both suites).
 */
START_TEST(a_release_waiting_for_a_vfio_user_names_the_domain_in_its_notice)
{
	const char *root =
		test_root_new("misc vfio 10:196\n"
			      "driver vfio-pci\n"
			      "group 9 61:29\n"
			      "device 0000:01:00.0 group=9 vendor=1234 device=11e8 class=00ff00 driver=vfio-pci\n");
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	test_write_file(root, "/run/vfguard/drivers/0000:01:00.0", "driver=\noverride=\n");
	char *xml = domain_xml("vm1", HOSTDEV("yes", "", "0x01"), DAC_107);
	run_ok(root, xml, PREPARE("vm1"), "prepare begin");
	pid_t holder = test_holder_start(test_path(root, "/dev/vfio/9"), O_PATH);
	hook_run run;
	hook(&run, root, xml, RELEASE("vm1"));
	test_holder_stop(holder);
	char expected[256];
	snprintf(expected, sizeof(expected),
		 "vfguard: domain 'vm1': 0000:01:00.0: waiting for it to be released: pid %d (test_libvirt_h",
		 (int)holder);
	ck_assert_msg(strncmp(run.err, expected, strlen(expected)) == 0, "expected '%s' first, stderr: %s", expected,
		      run.err);
	hook_free(&run);
	free(xml);
	test_root_remove(root);
}
END_TEST

START_TEST(managed_hostdev_round_trip_is_byte_exact)
{
	managed_round_trip(HOSTDEV("yes", "", "0x01"), "01", (const char *const[]){"/dev/vfio/7", NULL});
}
END_TEST

/* An SR-IOV VF as libvirt gives it: <interface type='hostdev'>, with a MAC and a VLAN vfguard does not read. */
#define INTERFACE_HOSTDEV(managed, bus)                                                                           \
	"    <interface type='hostdev' managed='" managed "'>\n"                                                  \
	"      <mac address='52:54:00:6d:90:02'/>\n"                                                              \
	"      <driver name='vfio'/>\n"                                                                           \
	"      <source><address type='pci' domain='0x0000' bus='" bus "' slot='0x00' function='0x0'/></source>\n" \
	"      <vlan><tag id='42'/></vlan>\n"                                                                     \
	"    </interface>\n"

/* The VF libvirt picked from a hostdev network, as its status XML records it. */
#define NETWORK_VF(managed, bus)                                                                                    \
	"    <interface type='network'>\n"                                                                          \
	"      <source network='vf-pool'/>\n"                                                                       \
	"      <actual type='hostdev' managed='" managed "'>\n"                                                     \
	"        <source><address type='pci' domain='0x0000' bus='" bus "' slot='0x00' function='0x0'/></source>\n" \
	"      </actual>\n"                                                                                         \
	"    </interface>\n"

#define ORDINARY_NIC "    <interface type='network'><source network='default'/><model type='virtio'/></interface>\n"

START_TEST(interface_hostdev_and_network_vf_round_trip_is_byte_exact)
{
	/* once ignored without a word: both VFs are granted like <hostdev>s; the network's, managed, reattached */
	managed_round_trip(ORDINARY_NIC INTERFACE_HOSTDEV("no", "0x01") NETWORK_VF("yes", "0x02"), "02",
			   (const char *const[]){"/dev/vfio/7", "/dev/vfio/8", NULL});
	managed_round_trip(INTERFACE_HOSTDEV("yes", "0x01"), "01", (const char *const[]){"/dev/vfio/7", NULL});
}
END_TEST

START_TEST(ordinary_network_interface_needs_nothing)
{
	const char *root = new_root();
	char *before = test_snapshot(root, 0);
	char *xml =
		domain_xml("plain",
			   ORDINARY_NIC "    <interface type='network'><source network='lan'/><actual type='bridge'>"
					"<source bridge='virbr1'/></actual></interface>\n",
			   DAC_107);
	run_ok(root, xml, PREPARE("plain"), "prepare");
	/* not even the state directory */
	test_snapshot_expect(root, 0, before, "prepare of a domain with ordinary NICs only");
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

#define MDEV_HOSTDEV                                                                \
	"    <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='off'>" \
	"<source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>\n"

/* QEMU opens the mdev's group node by path (sysfsdev=): prepare grants it next to a PCI hostdev's. */
START_TEST(mdev_hostdev_is_granted_with_the_pci_one_and_release_restores_byte_exactly)
{
	const char *root = new_root();
	test_make_mdev(root, "c2177883-f1bb-47f0-914d-32a22e3a8804", "vfio-pci", 12, 4);
	char *xml = domain_xml("vm1", HOSTDEV("no", "", "0x01") MDEV_HOSTDEV, DAC_107);
	char *before = test_snapshot(root, UNCHANGED);
	run_ok(root, xml, PREPARE("vm1"), "prepare begin");
	expect_owner(root, "/dev/vfio/7", 107, 107);
	expect_owner(root, "/dev/vfio/12", 107, 107);
	/* legacy: the mdev's cdev is not QEMU's to open */
	expect_owner(root, "/dev/vfio/devices/vfio4", 0, 0);
	run_ok(root, xml, RELEASE("vm1"), "release end");
	test_snapshot_expect(root, UNCHANGED, before, "prepare then release of an mdev");
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

START_TEST(mdev_missing_on_the_host_is_refused_with_one_line_and_changes_nothing)
{
	const char *root = new_root();
	char *before = test_snapshot(root, UNCHANGED);
	/* A PCI hostdev that alone would be granted: the domain must not start half-guarded. */
	char *xml = domain_xml("vm1", HOSTDEV("no", "", "0x01") MDEV_HOSTDEV, DAC_107);
	hook_run run;
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "mdev:c2177883-f1bb-47f0-914d-32a22e3a8804: no such mediated device on this host");
	hook_free(&run);
	test_snapshot_expect(root, UNCHANGED, before, "a missing mdev");
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

START_TEST(iommufd_hostdev_libvirt_passes_as_fd_gets_no_path_grant)
{
	const char *root = new_root();
	char *xml = domain_xml(
		"vm1", HOSTDEV("no", "<driver iommufd='yes'/>", "0x01") HOSTDEV("no", "<driver name='vfio'/>", "0x02"),
		DAC_107);
	char *before = test_snapshot(root, UNCHANGED);
	run_ok(root, xml, PREPARE("vm1"), "prepare begin");
	/* fd access: DAC is checked at open only, and libvirt opens the cdev and /dev/iommu */
	expect_owner(root, "/dev/vfio/devices/vfio0", 0, 0);
	expect_owner(root, "/dev/iommu", 0, 0);
	/* the legacy hostdev is opened by QEMU itself */
	expect_owner(root, "/dev/vfio/8", 107, 107);
	run_ok(root, xml, RELEASE("vm1"), "release end");
	test_snapshot_expect(root, UNCHANGED, before, "prepare then release");
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

START_TEST(other_operations_change_nothing)
{
	static const char *const operations[][3] = {
		{"start", "begin", "-"},   {"started", "begin", "-"}, {"stopped", "end", "-"},
		{"migrate", "begin", "-"}, {"restore", "begin", "-"}, {"reconnect", "begin", "-"},
		{"attach", "begin", "-"},  {"prepare", "end", "-"},   {"release", "begin", "-"},
	};
	const char *root = new_root();
	char *xml = domain_xml("vm1", HOSTDEV("no", "", "0x01"), DAC_107);
	/* Nothing at all: not even the state directory. */
	char *before = test_snapshot(root, 0);
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++)
		run_ok(root, xml,
		       (const char *const[]){"vm1", operations[i][0], operations[i][1], operations[i][2], NULL},
		       operations[i][0]);
	test_snapshot_expect(root, 0, before, "operations other than prepare begin and release end");

	/* And while the domain runs they take nothing back. */
	char *before_round_trip = test_snapshot(root, UNCHANGED);
	run_ok(root, xml, PREPARE("vm1"), "prepare begin");
	char *running = test_snapshot(root, 0);
	for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++)
		run_ok(root, xml,
		       (const char *const[]){"vm1", operations[i][0], operations[i][1], operations[i][2], NULL},
		       operations[i][0]);
	test_snapshot_expect(root, 0, running, "other operations on a prepared domain");
	expect_owner(root, "/dev/vfio/7", 107, 107);
	run_ok(root, xml, RELEASE("vm1"), "release end");
	test_snapshot_expect(root, UNCHANGED, before_round_trip, "prepare then release");
	free(before_round_trip);
	free(running);
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

START_TEST(failure_exits_non_zero_with_one_line_and_changes_nothing)
{
	const char *root = new_root();
	char *before = test_snapshot(root, UNCHANGED);
	hook_run run;

	/* The first hostdev could be granted, the second (managed) is not on this host: nothing may stay
	 * granted, and it is named as missing, not as a device without an IOMMU group. */
	char *xml = domain_xml("vm1", HOSTDEV("no", "", "0x01") HOSTDEV("yes", "", "0x05"), DAC_107);
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "0000:05:00.0: no such PCI function on this host");
	hook_free(&run);
	test_snapshot_expect(root, UNCHANGED, before, "a failed prepare");
	free(xml);

	/* Malformed XML. */
	hook(&run, root, "<domain><name>vm1</name><devices>", PREPARE("vm1"));
	expect_failure(&run, "not well-formed XML");
	hook_free(&run);

	/* The XML of another domain. */
	xml = domain_xml("other", HOSTDEV("no", "", "0x01"), DAC_107);
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "for 'other'");
	hook_free(&run);
	free(xml);

	/* A variant driver named by model= is what a managed hostdev is bound to: here it is not loaded. */
	xml = domain_xml("vm1", HOSTDEV("yes", "<driver name='vfio' model='mlx5_vfio_pci'/>", "0x01"), DAC_107);
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "driver mlx5_vfio_pci is not loaded");
	hook_free(&run);
	free(xml);

	/* A non-vfio driver. */
	xml = domain_xml("vm1", HOSTDEV("no", "<driver name='kvm'/>", "0x01"), DAC_107);
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "name='kvm'");
	hook_free(&run);
	free(xml);

	test_snapshot_expect(root, UNCHANGED, before, "failed prepares");
	free(before);
	test_root_remove(root);
}
END_TEST

#define OVERRIDE_01 "/sys/devices/pci0000:01/0000:01:00.0/driver_override"
#define JOURNAL_VM1 "/run/vfguard/domains/vm1.journal"

/* A root whose group node of 0000:01:00.0 has a set-gid bit, which DAC refuses at plan, after prepare bound it. */
static const char *refusing_root(struct stat *override_stat, char **before)
{
	const char *root = new_root();
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/7"), 02600), 0);
	ck_assert_int_eq(stat(test_path(root, OVERRIDE_01), override_stat), 0);
	*before = test_snapshot(root, UNCHANGED);
	return root;
}

/*
 * prepare begin of vm1 with 0000:01:00.0 managed is refused, the error
 * ending with the hook's note of its revoke when @revoked_note; then the
 * tree is @before again and vm1 holds nothing.
 */
static void expect_refused_start(const char *root, bool revoked_note, const struct stat *override_stat, char *before)
{
	char *xml = domain_xml("vm1", HOSTDEV("yes", "", "0x01"), DAC_107);
	hook_run run;
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "mode 2600 has set-id or sticky bits");
	bool noted = strstr(run.err, "; the hook revoked everything domain vm1 held") != NULL;
	ck_assert_msg(noted == revoked_note, "the hook's note %s expected: %s", revoked_note ? "is" : "is not",
		      run.err);
	hook_free(&run);
	override_untouched(root, OVERRIDE_01, override_stat);
	test_snapshot_expect(root, UNCHANGED, before, "a start refused after the bind");
	ck_assert_ptr_null(test_read_file(root, JOURNAL_VM1));
	free(before);
	free(xml);
	test_root_remove(root);
}

/*
 * Refused after the bind: prepare, plan and apply are one vfg_domain_apply,
 * whose failure gives the function back itself; the hook's revoke after it
 * finds nothing left.
 */
START_TEST(a_plan_refused_after_the_bind_gives_the_function_back_and_changes_nothing)
{
	struct stat override_stat;
	char *before;
	const char *root = refusing_root(&override_stat, &before);
	expect_refused_start(root, false, &override_stat, before);
}
END_TEST

/*
 * A domain that already holds a grant (a release that never ran), its start
 * refused after the bind: the hook revokes everything the domain holds, the
 * older grant too, and says so.
 */
START_TEST(a_refused_start_of_a_domain_holding_an_older_grant_revokes_it_all_and_says_so)
{
	struct stat override_stat;
	char *before;
	const char *root = refusing_root(&override_stat, &before);
	char *older = domain_xml("vm1", HOSTDEV("no", "", "0x02"), DAC_107);
	run_ok(root, older, PREPARE("vm1"), "the older prepare");
	expect_owner(root, "/dev/vfio/8", 107, 107);
	char *journal = test_read_file(root, JOURNAL_VM1);
	ck_assert_msg(journal && strstr(journal, "0000:02:00.0"), "no journal of the older grant at " JOURNAL_VM1);
	free(journal);
	free(older);
	expect_refused_start(root, true, &override_stat, before);
}
END_TEST

/*
 * A domain that holds a grant for 107:107 (a release that never ran)
 * started again for 108:108 with a managed hostdev more: prepare refuses
 * before its detach writes the new ids into the journal (else the apply
 * after it would find them there and keep the old grant as 107's), and the
 * hook revokes everything, so the tree is as before either start.
 */
START_TEST(a_start_for_other_ids_than_a_held_grant_is_refused_before_the_bind)
{
	struct stat override_stat;
	const char *root = new_root();
	ck_assert_int_eq(stat(test_path(root, OVERRIDE_01), &override_stat), 0);
	char *before = test_snapshot(root, UNCHANGED);
	char *older = domain_xml("vm1", HOSTDEV("no", "", "0x02"), DAC_107);
	run_ok(root, older, PREPARE("vm1"), "the older prepare");
	expect_owner(root, "/dev/vfio/8", 107, 107);

	char *xml =
		domain_xml("vm1", HOSTDEV("no", "", "0x02") HOSTDEV("yes", "", "0x01"),
			   "  <seclabel type='static' model='dac' relabel='yes'><label>+108:+108</label></seclabel>\n");
	hook_run run;
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "the domain's grants are for uid 107 gid 107, not uid 108 gid 108");
	ck_assert_msg(strstr(run.err, "; the hook revoked everything domain vm1 held"), "%s", run.err);
	hook_free(&run);
	char *override = test_read_file(root, OVERRIDE_01);
	ck_assert_msg(override && strcmp(override, "(null)\n") == 0, "the function was bound: '%s'", override);
	free(override);
	test_snapshot_expect(root, UNCHANGED, before, "a start for other ids");
	ck_assert_ptr_null(test_read_file(root, JOURNAL_VM1));
	free(before);
	free(older);
	free(xml);
	test_root_remove(root);
}
END_TEST

START_TEST(invalid_vf_token_in_the_source_address_is_refused_naming_domain_hostdev_and_value)
{
	const char *root = new_root();
	/* Where libvirt's VF token series puts it: once ignored, so an invalid token was granted. */
	char *xml = domain_xml("vm1",
			       "    <hostdev mode='subsystem' type='pci' managed='no'>\n"
			       "      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'>"
			       "<vf-token uuid='not-a-token'/></address></source>\n"
			       "    </hostdev>\n",
			       DAC_107);
	char *before = test_snapshot(root, 0);
	hook_run run;
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "domain 'vm1'");
	expect_failure(&run, "hostdev 0000:01:00.0");
	expect_failure(&run, "not-a-token");
	hook_free(&run);
	free(xml);

	/* An element libvirt's schema does not give a PCI address. */
	xml = domain_xml("vm1",
			 "    <hostdev mode='subsystem' type='pci' managed='no'>\n"
			 "      <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'>"
			 "<rom bar='off'/></address></source>\n"
			 "    </hostdev>\n",
			 DAC_107);
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "unknown element");
	expect_failure(&run, "<rom>");
	hook_free(&run);
	free(xml);
	/* Nothing at all: not even the state directory. */
	test_snapshot_expect(root, 0, before, "refused vf-tokens");
	free(before);
	test_root_remove(root);
}
END_TEST

/* vm1 holds @held_devices; vm2's prepare with @claiming_devices fails naming vm1 and changes nothing. */
static void second_claim_refused(const char *held_devices, const char *claiming_devices)
{
	const char *root = new_root();
	char *before = test_snapshot(root, UNCHANGED);
	char *first = domain_xml("vm1", held_devices, DAC_107);
	char *second = domain_xml("vm2", claiming_devices,
				  "  <seclabel type='static' model='dac'><label>+108:+108</label></seclabel>\n");
	run_ok(root, first, PREPARE("vm1"), "prepare vm1");
	char *held = test_snapshot(root, UNCHANGED);

	hook_run run;
	hook(&run, root, second, PREPARE("vm2"));
	expect_failure(&run, "vm1");
	/* libvirt's log shows the line without the domain it started: the line names it (a trial) */
	ck_assert_msg(strncmp(run.err, "vfguard: domain 'vm2': ", 23) == 0, "%s", run.err);
	hook_free(&run);
	test_snapshot_expect(root, UNCHANGED, held, "a refused claim");
	expect_owner(root, "/dev/vfio/7", 107, 107);

	/* vm2's release takes nothing of vm1's */
	run_ok(root, second, RELEASE("vm2"), "release vm2");
	expect_owner(root, "/dev/vfio/7", 107, 107);
	run_ok(root, first, RELEASE("vm1"), "release vm1");
	test_snapshot_expect(root, UNCHANGED, before, "both released");
	free(held);
	free(before);
	free(first);
	free(second);
	test_root_remove(root);
}

START_TEST(second_domain_claiming_the_group_fails_and_leaves_the_first_alone)
{
	second_claim_refused(HOSTDEV("no", "", "0x01"), HOSTDEV("no", "", "0x01"));
}
END_TEST

/* The three forms of a VFIO PCI function are one claim: none may take a VF another domain holds in another form. */
START_TEST(claims_on_a_vf_are_checked_across_hostdev_and_interface_forms)
{
	second_claim_refused(INTERFACE_HOSTDEV("no", "0x01"), HOSTDEV("no", "", "0x01"));
	second_claim_refused(INTERFACE_HOSTDEV("no", "0x01"), NETWORK_VF("no", "0x01"));
	second_claim_refused(HOSTDEV("no", "", "0x01"), INTERFACE_HOSTDEV("no", "0x01"));
}
END_TEST

/*
 * A configuration the hook cannot read at release: libvirt will not call
 * release again, so the one line says the grants stay and what takes them
 * back; once the file is fixed, that command does.
 */
START_TEST(release_under_a_broken_configuration_says_what_stays_and_how_it_goes)
{
	const char *root = new_root();
	char *xml = domain_xml("Windows 11", HOSTDEV("no", "", "0x01"), DAC_107);
	run_ok(root, xml, PREPARE("Windows 11"), "prepare");
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labeler = dac\n");
	char *granted = test_snapshot(root, UNCHANGED);
	hook_run run;
	hook(&run, root, xml, RELEASE("Windows 11"));
	expect_failure(&run, "domain 'Windows 11': nothing was revoked: whatever it holds stays granted until vfguard "
			     "revoke --domain 'Windows 11' runs with a configuration it can read: ");
	ck_assert_msg(strstr(run.err, "unknown key 'labeler'"), "%s", run.err);
	hook_free(&run);
	test_snapshot_expect(root, UNCHANGED, granted, "the refused release");
	expect_owner(root, "/dev/vfio/7", 107, 107);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	test_run cli;
	test_cli(&cli, (const char *[]){"revoke", "--root", root, "--domain", "Windows 11", NULL});
	ck_assert_msg(cli.status == 0, "%s", cli.err);
	test_run_free(&cli);
	expect_owner(root, "/dev/vfio/7", 0, 0);
	ck_assert_int_eq(test_journal_files(root), 0);
	free(granted);
	free(xml);
	test_root_remove(root);
}
END_TEST

START_TEST(release_needs_no_valid_xml_and_is_idempotent)
{
	const char *root = new_root();
	char *before = test_snapshot(root, UNCHANGED);
	char *xml = domain_xml("vm1", HOSTDEV("no", "", "0x01"), DAC_107);
	run_ok(root, xml, PREPARE("vm1"), "prepare");
	run_ok(root, "garbage", RELEASE("vm1"), "release with a broken XML");
	test_snapshot_expect(root, UNCHANGED, before, "released");
	run_ok(root, xml, RELEASE("vm1"), "a second release");
	test_snapshot_expect(root, UNCHANGED, before, "released twice");
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

/* prepare grants edu's group node to @uid:@gid, and release puts the tree back as it was. */
static void prepare_grants_to(const char *root, const char *xml, uid_t uid, gid_t gid, const char *what)
{
	char *before = test_snapshot(root, UNCHANGED);
	run_ok(root, xml, PREPARE("vm1"), what);
	expect_owner(root, "/dev/vfio/7", uid, gid);
	run_ok(root, xml, RELEASE("vm1"), what);
	test_snapshot_expect(root, UNCHANGED, before, what);
	free(before);
}

START_TEST(without_a_dac_seclabel_qemu_conf_names_the_hypervisor)
{
	const char *root = new_root();
	/* Neither says: libvirt's default, the config key; a name this host lacks is refused. */
	test_write_file(root, "/etc/vfguard/vfguard.conf",
			"labelers = dac\nlibvirt_qemu_user = vfguard-no-such-user:kvm\n");
	char *before = test_snapshot(root, UNCHANGED);
	char *xml = domain_xml("vm1", HOSTDEV("no", "", "0x01"), "");
	hook_run run;
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "sets no user or group, so QEMU runs as libvirt's default ids, config key "
			     "libvirt_qemu_user 'vfguard-no-such-user:kvm'");
	hook_free(&run);
	test_snapshot_expect(root, UNCHANGED, before, "no hypervisor user known");
	/* qemu.conf names the user and not the group: the message says the group is the missing half (a trial). */
	test_write_file(root, "/etc/vfguard/vfguard.conf",
			"labelers = dac\nlibvirt_qemu_user = +64055:vfguard-no-such-group\n");
	test_write_file(root, "/etc/libvirt/qemu.conf", "user = \"+64055\"\n");
	hook(&run, root, xml, PREPARE("vm1"));
	expect_failure(&run, "qemu.conf sets no group, so QEMU runs as libvirt's default group, config key "
			     "libvirt_qemu_user '+64055:vfguard-no-such-group'");
	hook_free(&run);
	/* A real libvirtd with Debian's qemu.conf (user and group commented out) runs QEMU as its default. */
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\nlibvirt_qemu_user = +110:+111\n");
	test_write_file(root, "/etc/libvirt/qemu.conf", "#user = \"libvirt-qemu\"\n#group = \"libvirt-qemu\"\n");
	prepare_grants_to(root, xml, 110, 111, "libvirt's default");
	/* qemu.conf naming one half: the other is the default's */
	test_write_file(root, "/etc/libvirt/qemu.conf", "user = \"+108\"\n");
	prepare_grants_to(root, xml, 108, 111, "qemu.conf's user");
	test_write_file(root, "/etc/libvirt/qemu.conf",
			"# The user for QEMU processes run by the system instance.\n"
			"#user = \"qemu\"\n"
			"user = \"+108\"\n"
			"group = \"+109\"\n"
			"dynamic_ownership = 1\n");
	prepare_grants_to(root, xml, 108, 109, "qemu.conf");
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

START_TEST(domain_without_hostdevs_needs_nothing)
{
	const char *root = new_root();
	char *before = test_snapshot(root, 0);
	char *before_unchanged = test_snapshot(root, UNCHANGED);
	char *xml = domain_xml("plain", "", "");
	run_ok(root, xml, PREPARE("plain"), "prepare");
	/* not even the state directory */
	test_snapshot_expect(root, 0, before, "prepare of a domain without hostdevs");
	run_ok(root, xml, RELEASE("plain"), "release");
	test_snapshot_expect(root, UNCHANGED, before_unchanged, "release of a domain without hostdevs");
	free(before_unchanged);
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

/*
 * The names libvirt takes (it refuses only a newline, and '/' in a file
 * name): a space, UTF-8, shell characters. A trial found the hook refusing
 * "Windows 11", so libvirt could not start it. Each is granted, journaled
 * under its own name and released byte-exactly.
 */
START_TEST(names_libvirt_takes_are_granted_and_released_byte_exactly)
{
	const char *names[] = {"Windows 11", "vm-\xc3\xbc", "it's $(x) ; *"};
	const char *escaped[] = {"Windows 11", "vm-\xc3\xbc", "it&apos;s $(x) ; *"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *root = new_root();
		char *xml = domain_xml(escaped[i], HOSTDEV("no", "<driver name='vfio'/>", "0x01"), DAC_107);
		char *before = test_snapshot(root, UNCHANGED);
		run_ok(root, xml, PREPARE(names[i]), names[i]);
		expect_owner(root, "/dev/vfio/7", 107, 107);
		/* The file's name: bytes beyond [A-Za-z0-9._-] as %XX (core/journal.h), "Windows%2011.journal". */
		char journal[3 * VFG_NAME_MAX + 64];
		size_t used = (size_t)snprintf(journal, sizeof(journal), "/run/vfguard/domains/");
		for (const unsigned char *c = (const unsigned char *)names[i]; *c; c++)
			used += (size_t)snprintf(journal + used, sizeof(journal) - used,
						 isalnum(*c) || strchr("._-", *c) ? "%c" : "%%%02X", *c);
		snprintf(journal + used, sizeof(journal) - used, ".journal");
		char *text = test_read_file(root, journal);
		ck_assert_msg(text && strstr(text, "\ncommit "), "%s: no committed journal: %s", journal,
			      text ? text : "(none)");
		free(text);
		run_ok(root, xml, RELEASE(names[i]), names[i]);
		test_snapshot_expect(root, UNCHANGED, before, names[i]);
		free(before);
		free(xml);
		test_root_remove(root);
	}
}
END_TEST

/*
 * A domain with no VFIO device starts whatever vfguard makes of its XML: a
 * name it cannot keep a journal under, a seclabel model it does not know.
 * The same XML with a hostdev is refused; release of such a name has
 * nothing to undo.
 */
START_TEST(a_domain_without_vfio_devices_starts_whatever_vfguard_makes_of_its_xml)
{
	const char *root = new_root();
	char *before = test_snapshot(root, UNCHANGED);
	const char *usb = "    <hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/>"
			  "<product id='0xbeef'/></source></hostdev>\n";
	struct {
		const char *name, *devices, *extra, *refused;
	} cases[] = {
		{".hidden", "", "", "may not start with '.'"},
		{"tab\there", usb, "", "control character"},
		{"vm1", "", "  <seclabel type='dynamic' model='frobnicate'/>\n", "model='frobnicate'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *xml = domain_xml(cases[i].name, cases[i].devices, cases[i].extra);
		run_ok(root, xml, PREPARE(cases[i].name), cases[i].name);
		run_ok(root, xml, RELEASE(cases[i].name), cases[i].name);
		free(xml);
		xml = domain_xml(cases[i].name, HOSTDEV("no", "<driver name='vfio'/>", "0x01"), cases[i].extra);
		hook_run run;
		hook(&run, root, xml, PREPARE(cases[i].name));
		expect_failure(&run, cases[i].refused);
		hook_free(&run);
		free(xml);
	}
	test_snapshot_expect(root, UNCHANGED, before, "domains without VFIO devices");
	free(before);
	test_root_remove(root);
}
END_TEST

/* libvirt's "none" security driver (security_driver = "none") labels domains <seclabel type='none' model='none'/>. */
START_TEST(the_none_security_driver_label_confines_nothing_and_dac_still_grants)
{
	const char *root = new_root();
	/* the apparmor labeler configured, so that dropping it shows: no rules file is written */
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac apparmor\n");
	char *xml = domain_xml("vm1", HOSTDEV("no", "<driver name='vfio'/>", "0x01"),
			       "  <seclabel type='none' model='none'/>\n" DAC_107);
	char *before = test_snapshot(root, UNCHANGED);
	run_ok(root, xml, PREPARE("vm1"), "prepare with model='none'");
	expect_owner(root, "/dev/vfio/7", 107, 107);
	struct stat st;
	ck_assert_msg(stat(test_path(root, "/etc/apparmor.d/vfguard"), &st) != 0, "a rules folder was made");
	run_ok(root, xml, RELEASE("vm1"), "release");
	test_snapshot_expect(root, UNCHANGED, before, "model='none' round trip");
	free(before);
	free(xml);
	test_root_remove(root);
}
END_TEST

/*
 * A domain libvirt does not confine with AppArmor (<seclabel type='none'
 * model='apparmor'>): no profile would include a rules file, so the hook
 * writes none (a trial found one written all the same); a confined one
 * gets its file, libvirt-UUID.
 */
START_TEST(a_domain_apparmor_does_not_confine_gets_no_rules_file)
{
	for (int confined = 0; confined < 2; confined++) {
		const char *root = new_root();
		test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac apparmor\n");
		char *xml = domain_xml("vm1", HOSTDEV("no", "<driver name='vfio'/>", "0x01"),
				       confined ? "  <seclabel type='dynamic' model='apparmor'/>\n" DAC_107
						: "  <seclabel type='none' model='apparmor'/>\n" DAC_107);
		run_ok(root, xml, PREPARE("vm1"), confined ? "prepare, confined" : "prepare, unconfined");
		expect_owner(root, "/dev/vfio/7", 107, 107);
		struct stat st;
		bool rules =
			stat(test_path(root, "/etc/apparmor.d/vfguard/libvirt-4dea22b3-1d52-d8f3-2516-782e98ab3fa0"),
			     &st) == 0;
		ck_assert_msg(rules == (bool)confined, "%s: the rules file is %s", confined ? "confined" : "unconfined",
			      rules ? "there" : "missing");
		run_ok(root, xml, RELEASE("vm1"), "release");
		expect_owner(root, "/dev/vfio/7", 0, 0);
		free(xml);
		test_root_remove(root);
	}
}
END_TEST

/*
 * A confined domain started again after a crash without its release, its
 * XML now unconfined: the hook drops apparmor, and the start keeps the
 * rules the domain holds (an apply refused for them left the hook's undo
 * open, stopping every later start: 8a05f4a); the release takes all back.
 */
START_TEST(a_restart_without_apparmor_after_a_crash_keeps_the_held_rules_until_release)
{
	const char *root = new_root();
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac apparmor\n");
	/* the rules directory as the package makes it (the rules file moves its times) */
	ck_assert_int_eq(mkdir(test_path(root, "/etc/apparmor.d"), 0755), 0);
	ck_assert_int_eq(mkdir(test_path(root, "/etc/apparmor.d/vfguard"), 0755), 0);
	char *before = test_snapshot(root, TEST_SNAPSHOT_CONTENT | TEST_SNAPSHOT_NO_STATE);
	char *confined = domain_xml("vm1", HOSTDEV("no", "<driver name='vfio'/>", "0x01"),
				    "  <seclabel type='dynamic' model='apparmor'/>\n" DAC_107);
	char *unconfined = domain_xml("vm1", HOSTDEV("no", "<driver name='vfio'/>", "0x01"),
				      "  <seclabel type='none' model='apparmor'/>\n" DAC_107);
	run_ok(root, confined, PREPARE("vm1"), "prepare, confined");
	run_ok(root, unconfined, PREPARE("vm1"), "prepare again, unconfined, without a release");
	expect_owner(root, "/dev/vfio/7", 107, 107);
	run_ok(root, unconfined, RELEASE("vm1"), "release");
	test_snapshot_expect(root, TEST_SNAPSHOT_CONTENT | TEST_SNAPSHOT_NO_STATE, before,
			     "a restart without apparmor, then the release");
	free(before);
	free(confined);
	free(unconfined);
	test_root_remove(root);
}
END_TEST

/*
 * libvirt's own AppArmor driver makes the profile libvirt-UUID from its
 * template and grants QEMU the VFIO nodes in libvirt-UUID.files itself; no
 * template can include vfguard's per-domain file (docs/apparmor.md,
 * "libvirt's AppArmor driver"). So when qemu.conf names that driver, or
 * leaves the choice to libvirt's probe and the probe would take AppArmor
 * (enabled, the daemon's profile loaded, TEMPLATE.qemu there), the hook
 * writes no rules file. At prepare begin the XML has no <seclabel> yet, as
 * libvirt 12.9 sends it. A static label names the administrator's profile,
 * which may include the file: it keeps its file.
 */
START_TEST(libvirts_own_apparmor_driver_gets_no_rules_file)
{
	static const struct {
		const char *qemu_conf, *seclabel;
		bool probe_enabled, libvirtd_loaded, rules;
	} cases[] = {
		{"security_driver = \"apparmor\"\n", "", false, false, false},
		{"security_driver = [ \"selinux\",\n   \"apparmor\" ]\n", "", false, false, false},
		{"security_driver = \"selinux\"\n", "", true, true, true},
		{"security_driver = \"apparmor\" # then \"selinux\"\nsecurity_driver = \"selinux\"\n", "", false, false,
		 true},
		{"#security_driver = \"apparmor\"\n", "", true, true, false},
		{"#security_driver = \"apparmor\"\n", "", true, false, true},
		{"#security_driver = \"apparmor\"\n", "", false, true, true},
		{"", "", false, false, true},
		/*
		 * A trial: an empty list leaves the choice to libvirt's probe as no
		 * assignment does (qemu_conf.c: qemuSecurityInit() probes when
		 * securityDriverNames[0] is NULL), and "none" confines nothing.
		 */
		{"security_driver = [ ]\n", "", true, true, false},
		{"security_driver = \"none\"\n", "", true, true, false},
		{"security_driver = \"apparmor\"\n",
		 "  <seclabel type='static' model='apparmor'><label>vm1-own</label></seclabel>\n", false, false, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *root = new_root();
		test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac apparmor\n");
		test_write_file(root, "/etc/libvirt/qemu.conf", cases[i].qemu_conf);
		if (cases[i].probe_enabled) {
			test_write_file(root, "/sys/module/apparmor/parameters/enabled", "Y\n");
			test_write_file(root, "/etc/apparmor.d/libvirt/TEMPLATE.qemu",
					"profile LIBVIRT_TEMPLATE {\n}\n");
		}
		test_write_file(root, "/sys/kernel/security/apparmor/profiles",
				cases[i].libvirtd_loaded ? "virt-aa-helper (enforce)\nlibvirtd (enforce)\n"
							 : "libvirtd-other (enforce)\n");
		/* the rules folder is there (another domain's file), as vfguard leaves it once made */
		test_write_file(root, "/etc/apparmor.d/vfguard/libvirt-0d7c2f4e-5b1a-4c9e-8f3d-2a6b9e1c7d50", "");
		char *seclabels = NULL;
		ck_assert_int_ge(asprintf(&seclabels, "%s%s", cases[i].seclabel, DAC_107), 0);
		char *xml = domain_xml("vm1", HOSTDEV("no", "<driver name='vfio'/>", "0x01"), seclabels);
		/* a file taken out again moves its folder's times: content only */
		char *before = test_snapshot(root, UNCHANGED | TEST_SNAPSHOT_CONTENT);
		run_ok(root, xml, PREPARE("vm1"), cases[i].qemu_conf);
		expect_owner(root, "/dev/vfio/7", 107, 107);
		const char *file = cases[i].seclabel[0]
					   ? "/etc/apparmor.d/vfguard/vm1-own"
					   : "/etc/apparmor.d/vfguard/libvirt-4dea22b3-1d52-d8f3-2516-782e98ab3fa0";
		struct stat st;
		bool rules = stat(test_path(root, file), &st) == 0;
		ck_assert_msg(rules == cases[i].rules, "case %zu (qemu.conf '%s'): the rules file is %s", i,
			      cases[i].qemu_conf, rules ? "there" : "missing");
		run_ok(root, xml, RELEASE("vm1"), "release");
		test_snapshot_expect(root, UNCHANGED | TEST_SNAPSHOT_CONTENT, before, cases[i].qemu_conf);
		free(before);
		free(xml);
		free(seclabels);
		test_root_remove(root);
	}
}
END_TEST

START_TEST(wrong_arguments_are_a_usage_error_of_one_line)
{
	const char *root = new_root();
	hook_run run;
	hook(&run, root, "", (const char *const[]){"vm1", "prepare", "begin", NULL});
	ck_assert_int_eq(run.status, 2);
	ck_assert_uint_eq(lines(run.err), 1);
	ck_assert_str_eq(run.out, "");
	hook_free(&run);
	test_root_remove(root);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("libvirt_hook");
	TCase *tc = tcase_create("hook");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, help_says_how_libvirt_calls_the_hook);
	tcase_add_test(tc, prepare_begin_grants_and_release_end_restores_byte_exactly);
	tcase_add_test(tc, managed_hostdev_round_trip_is_byte_exact);
	tcase_add_test(tc, a_release_waiting_for_a_vfio_user_names_the_domain_in_its_notice);
	tcase_add_test(tc, iommufd_hostdev_libvirt_passes_as_fd_gets_no_path_grant);
	tcase_add_test(tc, other_operations_change_nothing);
	tcase_add_test(tc, failure_exits_non_zero_with_one_line_and_changes_nothing);
	tcase_add_test(tc, a_plan_refused_after_the_bind_gives_the_function_back_and_changes_nothing);
	tcase_add_test(tc, a_refused_start_of_a_domain_holding_an_older_grant_revokes_it_all_and_says_so);
	tcase_add_test(tc, a_start_for_other_ids_than_a_held_grant_is_refused_before_the_bind);
	tcase_add_test(tc, invalid_vf_token_in_the_source_address_is_refused_naming_domain_hostdev_and_value);
	tcase_add_test(tc, second_domain_claiming_the_group_fails_and_leaves_the_first_alone);
	tcase_add_test(tc, release_needs_no_valid_xml_and_is_idempotent);
	tcase_add_test(tc, release_under_a_broken_configuration_says_what_stays_and_how_it_goes);
	tcase_add_test(tc, without_a_dac_seclabel_qemu_conf_names_the_hypervisor);
	tcase_add_test(tc, domain_without_hostdevs_needs_nothing);
	tcase_add_test(tc, wrong_arguments_are_a_usage_error_of_one_line);
	tcase_add_test(tc, names_libvirt_takes_are_granted_and_released_byte_exactly);
	tcase_add_test(tc, a_domain_without_vfio_devices_starts_whatever_vfguard_makes_of_its_xml);
	tcase_add_test(tc, the_none_security_driver_label_confines_nothing_and_dac_still_grants);
	tcase_add_test(tc, a_domain_apparmor_does_not_confine_gets_no_rules_file);
	tcase_add_test(tc, a_restart_without_apparmor_after_a_crash_keeps_the_held_rules_until_release);
	tcase_add_test(tc, libvirts_own_apparmor_driver_gets_no_rules_file);
	tcase_add_test(tc, interface_hostdev_and_network_vf_round_trip_is_byte_exact);
	tcase_add_test(tc, ordinary_network_interface_needs_nothing);
	tcase_add_test(tc, mdev_hostdev_is_granted_with_the_pci_one_and_release_restores_byte_exactly);
	tcase_add_test(tc, mdev_missing_on_the_host_is_refused_with_one_line_and_changes_nothing);
	tcase_add_test(tc, claims_on_a_vf_are_checked_across_hostdev_and_interface_forms);
	suite_add_tcase(suite, tc);
	return test_main(suite);
}
