/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bad input by the hundred, each through the real entry point: the CLI, the
 * libvirt hook (domain XML on stdin), the OCI hook (state on stdin,
 * config.json in the bundle), and the CLI again on damaged journals. Every
 * row gives an input, the exit status it must end in and a text its error
 * must hold (the input, or what names it, and the reason); every row must
 * end in exactly one line on stderr, nothing on stdout, and a host tree
 * unchanged byte for byte: every entry's type, mode, owner, rdev, size,
 * times, content and xattrs (security.* and trusted.* too), the state
 * directory and its journals included (test_snapshot, no flags).
 *
 * A category's rows all run, and the failures are listed together: one run
 * shows every defect a category exposes, not just its first.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "testlib.h"

/* Group 7: a GPU and its audio function; group 8: a NIC. All on vfio-pci with cdevs. */
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

/* An error line is the message and a bounded excerpt of the input: never the megabytes a row gives. */
#define ERROR_LINE_MAX 1024

/* The rows of one category, their failures kept to be listed at the end. */
typedef struct table {
	const char *category;
	const char *root;
	char *before; /* the tree's snapshot before the rows */
	FILE *log;
	char *failures;
	size_t failures_size;
	unsigned rows, failed;
} table;

/* A row's input as the failure list shows it: control and non-ASCII bytes as \xHH, cut at 120 bytes. */
static void log_input(FILE *out, const char *input)
{
	size_t length = strlen(input);
	for (size_t i = 0; i < length && i < 120; i++) {
		unsigned char byte = (unsigned char)input[i];
		if (byte < 0x20 || byte >= 0x7f)
			fprintf(out, "\\x%02x", byte);
		else
			fputc(byte, out);
	}
	if (length > 120)
		fprintf(out, "... (%zu bytes)", length);
}

static unsigned count_lines(const char *text)
{
	unsigned n = 0;
	for (; *text; text++)
		n += *text == '\n';
	return n;
}

/*
 * A fresh host for @t: labelers = dac, the container not world-writable, and the
 * state directory made by a first apply and revoke (a host vfguard serves),
 * so that a row which wrongly makes it shows as a change like any other.
 */
static void table_fresh_root(table *t)
{
	if (t->root) {
		free(t->before);
		test_root_remove(t->root);
	}
	t->root = test_root_new(host);
	test_write_file(t->root, "/etc/vfguard/vfguard.conf", "labelers = dac\nmemlock_extra = 0\n");
	ck_assert_int_eq(chmod(test_path(t->root, "/dev/vfio/vfio"), 0660), 0);
	/* security.* and trusted.* on a node: a row that drops or changes them shows in the snapshot */
	ck_assert_int_eq(lsetxattr(test_path(t->root, "/dev/vfio/8"), "trusted.vfguard-test", "kept", 4, 0), 0);
	ck_assert_int_eq(lsetxattr(test_path(t->root, "/dev/vfio/8"), "security.vfguard-test", "kept", 4, 0), 0);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", t->root, "--domain", "warmup", "--uid", "107", "--gid",
					"107", "--hostdev", "02:00.0", NULL});
	ck_assert_msg(run.status == 0, "warm-up apply: %s", run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"revoke", "--root", t->root, "--domain", "warmup", NULL});
	ck_assert_msg(run.status == 0, "warm-up revoke: %s", run.err);
	test_run_free(&run);
	t->before = test_snapshot(t->root, 0);
}

static void table_open(table *t, const char *category)
{
	*t = (table){.category = category};
	table_fresh_root(t);
	t->log = open_memstream(&t->failures, &t->failures_size);
	ck_assert_ptr_nonnull(t->log);
}

/* Check one row's run against what it must give; a failure is logged, the rows go on. */
static void table_row(table *t, const char *input, const test_run *run, int status, const char *expect)
{
	t->rows++;
	char problem[256] = "";
	const char *err = run->err;
	const char *newline = strchr(err, '\n');
	if (run->status != status)
		snprintf(problem, sizeof(problem), "exit %d, expected %d", run->status, status);
	else if (count_lines(err) != 1 || newline[1] != '\0')
		snprintf(problem, sizeof(problem), "stderr is %u lines, not one", count_lines(err));
	else if (strlen(err) > ERROR_LINE_MAX)
		snprintf(problem, sizeof(problem), "the error line is %zu bytes, more than %d", strlen(err),
			 ERROR_LINE_MAX);
	else if (!strstr(err, expect))
		snprintf(problem, sizeof(problem), "the error lacks the expected text");
	else if (run->out[0])
		snprintf(problem, sizeof(problem), "stdout is not empty");
	char *after = test_snapshot(t->root, 0);
	bool changed = strcmp(after, t->before) != 0;
	free(after);
	if (!problem[0] && !changed)
		return;
	t->failed++;
	fprintf(t->log, "%s row %u [", t->category, t->rows);
	log_input(t->log, input);
	fprintf(t->log, "]: %s%s%s\n  expected: %s\n  stderr:   %.300s%s\n", problem, problem[0] && changed ? "; " : "",
		changed ? "THE TREE CHANGED" : "", expect, err, strlen(err) > 300 ? "..." : "");
	if (changed) {
		/* a later row must be judged on the tree as it was */
		free(t->before);
		t->before = test_snapshot(t->root, 0);
	}
}

static void table_close(table *t, unsigned minimum_rows)
{
	ck_assert_int_eq(fclose(t->log), 0);
	if (t->failed)
		fprintf(stderr, "%s", t->failures);
	fprintf(stderr, "%s: %u rows, %u failed\n", t->category, t->rows, t->failed);
	ck_assert_msg(t->failed == 0, "%s: %u of %u rows failed:\n%.3500s", t->category, t->failed, t->rows,
		      t->failures);
	ck_assert_msg(t->rows >= minimum_rows, "%s: %u rows, fewer than %u", t->category, t->rows, minimum_rows);
	free(t->failures);
	free(t->before);
	test_root_remove(t->root);
}

/* @length bytes of @byte, NUL-terminated (free() it). */
static char *repeated(char byte, size_t length)
{
	char *text = malloc(length + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, byte, length);
	text[length] = '\0';
	return text;
}

static char *joined(const char *a, const char *b)
{
	char *text;
	ck_assert_int_ge(asprintf(&text, "%s%s", a, b), 0);
	return text;
}

/* ---- hostdev specs: vfguard apply --hostdev SPEC ---- */

typedef struct text_row {
	const char *input;
	int status;
	const char *expect;
} text_row;

static const text_row hostdev_rows[] = {
	/* addresses */
	{"", 2, "empty hostdev"},
	{"0000:01:00", 2, "0000:01:00: not a PCI address"},
	{"0000:01", 2, "0000:01: not a PCI address"},
	{"01", 2, "01: not a PCI address"},
	{":01:00.0", 2, ":01:00.0: not a PCI address"},
	{"0000::00.0", 2, "0000::00.0: not a PCI address"},
	{"0000:01:00.", 2, "0000:01:00.: not a PCI address"},
	{"0000:01:.0", 2, "0000:01:.0: not a PCI address"},
	{"0000:01:20.0", 2, "0000:01:20.0: not a PCI address: slot 20 is past 1f"},
	{"0000:01:ff.0", 2, "0000:01:ff.0: not a PCI address: slot ff is past 1f"},
	{"0000:01:1f.8", 2, "0000:01:1f.8: not a PCI address: function 8 is past 7"},
	{"0000:01:00.f", 2, "0000:01:00.f: not a PCI address: function 15 is past 7"},
	{"10000:01:00.0", 2, "10000:01:00.0: not a PCI address"},
	{"0000:100:00.0", 2, "0000:100:00.0: not a PCI address"},
	{"0000:01:000.0", 2, "0000:01:000.0: not a PCI address"},
	{"0000:01:00.00", 2, "0000:01:00.00: not a PCI address"},
	{"g000:01:00.0", 2, "g000:01:00.0: not a PCI address"},
	{"0000:0x:00.0", 2, "0000:0x:00.0: not a PCI address"},
	{"0x00:01:00.0", 2, "0x00:01:00.0: not a PCI address"},
	{"0000:01:00.0x", 2, "0000:01:00.0x: not a PCI address"},
	{" 0000:01:00.0", 2, " 0000:01:00.0: not a PCI address"},
	{"0000:01:00.0 ", 2, "0000:01:00.0 : not a PCI address"},
	{"0000:01:00.0\t", 2, "0000:01:00.0\\t: not a PCI address"},
	{"0000 :01:00.0", 2, "0000 :01:00.0: not a PCI address"},
	{"0000:01:00:0", 2, "0000:01:00:0: not a PCI address"},
	{"0000.01.00.0", 2, "0000.01.00.0: not a PCI address"},
	{"-000:01:00.0", 2, "-000:01:00.0: not a PCI address"},
	{"+000:01:00.0", 2, "+000:01:00.0: not a PCI address"},
	{"0000:01:00.-1", 2, "0000:01:00.-1: not a PCI address"},
	{"0000:01:00.0:0", 2, "0000:01:00.0:0: not a PCI address"},
	{"00:00.8", 2, "00:00.8: not a PCI address: function 8 is past 7"},
	{"01:00.0.0", 2, "01:00.0.0: not a PCI address"},
	{"01:00;0", 2, "01:00;0: not a PCI address"},
	{"0:0:0.0", 2, "0:0:0.0: not a PCI address"},
	{"0000:01:00.0=x", 2, "0000:01:00.0=x: not a PCI address"},
	/* options */
	{"0000:01:00.0,,", 2, "0000:01:00.0,,: an empty hostdev option"},
	{",0000:01:00.0", 2, ",0000:01:00.0: an empty hostdev option"},
	{"0000:01:00.0,", 2, "0000:01:00.0,: an empty hostdev option"},
	{"0000:01:00.0,,access=fd", 2, "0000:01:00.0,,access=fd: an empty hostdev option"},
	{"0000:01:00.0,bogus=1", 2, "bogus: unknown hostdev option"},
	{"0000:01:00.0,access", 2, "hostdev option 'access' needs a value"},
	{"0000:01:00.0,access=", 2, "hostdev 0000:01:00.0,access=: unknown access"},
	{"0000:01:00.0,access=FD", 2, "hostdev 0000:01:00.0,access=FD: FD: unknown access"},
	{"0000:01:00.0,access=path,access=fd", 2, "hostdev option 'access' given twice"},
	{"0000:01:00.0,access=both", 2, "both: unknown access"},
	{"0000:01:00.0,access= fd", 2, " fd: unknown access"},
	{"0000:01:00.0,access=fd ", 2, "fd : unknown access"},
	{"0000:01:00.0,access==fd", 2, "=fd: unknown access"},
	{"0000:01:00.0,backend=", 2, "hostdev 0000:01:00.0,backend=: unknown backend"},
	{"0000:01:00.0,backend=vfio", 2, "vfio: unknown backend"},
	{"0000:01:00.0,backend=legacy,backend=legacy", 2, "hostdev option 'backend' given twice"},
	{"0000:01:00.0,managed=1", 2, "1: managed= takes yes or no"},
	{"0000:01:00.0,managed=", 2, "managed= takes yes or no"},
	{"0000:01:00.0,managed=yes,managed=no", 2, "hostdev option 'managed' given twice"},
	/* variant drivers: a vfio driver by name, bound only to a managed hostdev */
	{"0000:01:00.0,managed=yes,driver=", 2, "not a driver name"},
	{"0000:01:00.0,managed=yes,driver=e1000e", 2, "e1000e: is not a vfio driver"},
	{"0000:01:00.0,managed=yes,driver=../x_vfio_pci", 2, "../x_vfio_pci: not a driver name"},
	{"0000:01:00.0,managed=yes,driver=mlx5 vfio_pci", 2, "not a driver name"},
	{"0000:01:00.0,managed=yes,driver=_vfio_pci", 2, "_vfio_pci: is not a vfio driver"},
	{"0000:01:00.0,managed=yes,driver=a_vfio_pci,driver=a_vfio_pci", 2, "hostdev option 'driver' given twice"},
	{"0000:01:00.0,driver=mlx5_vfio_pci", 2, "driver=mlx5_vfio_pci is the driver a managed hostdev is bound to"},
	{"0000:01:00.0,managed=no,driver=vfio-pci", 2, "add managed=yes"},
	{"0000:01:00.0,=fd", 2, "hostdev 0000:01:00.0,=fd: unknown hostdev option"},
	{"0000:01:00.0,Access=fd", 2, "Access: unknown hostdev option"},
	{"0000:01:00.0, access=fd", 2, " access: unknown hostdev option"},
	/* VF tokens */
	{"0000:01:00.0,vf-token=", 2, "not a UUID"},
	{"0000:01:00.0,vf-token=xyz", 2, "xyz: not a UUID"},
	{"0000:01:00.0,vf-token=00112233-4455-6677-8899-aabbccddeef", 2,
	 "00112233-4455-6677-8899-aabbccddeef: not a UUID"},
	{"0000:01:00.0,vf-token=00112233-4455-6677-8899-aabbccddeeff0", 2,
	 "00112233-4455-6677-8899-aabbccddeeff0: not a UUID"},
	{"0000:01:00.0,vf-token=00112233445566778899aabbccddeeff", 2, "00112233445566778899aabbccddeeff: not a UUID"},
	{"0000:01:00.0,vf-token={00112233-4455-6677-8899-aabbccddeeff}", 2, "not a UUID"},
	{"0000:01:00.0,vf-token=00112233-4455-6677-8899_aabbccddeeff", 2, "not a UUID"},
	{"0000:01:00.0,vf-token=0011223g-4455-6677-8899-aabbccddeeff", 2,
	 "0011223g-4455-6677-8899-aabbccddeeff: not a UUID"},
	{"0000:01:00.0,vf-token= 00112233-4455-6677-8899-aabbccddeeff", 2, "not a UUID"},
	{"0000:01:00.0,vf-token=00112233-4455-6677-8899-aabbccddeeff,vf-token=00112233-4455-6677-8899-aabbccddeeff", 2,
	 "hostdev option 'vf-token' given twice"},
	{"0000:01:00.0,vf-token=00112233-4455-6677-88990aabbccddeeff", 2, "not a UUID"},
	{"0000:01:00.0,vf-token=-0112233-4455-6677-8899-aabbccddeeff", 2, "not a UUID"},
	/* sysfs paths */
	{"/sys/bus/pci/devices/../devices/0000:01:00.0", 2,
	 "/sys/bus/pci/devices/../devices/0000:01:00.0: a '..' component"},
	{"/sys/bus/pci/devices/./0000:01:00.0", 2, "/sys/bus/pci/devices/./0000:01:00.0: a '.' component"},
	{"/sys/bus/pci/devices/0000:01:00.0/.", 2, "/sys/bus/pci/devices/0000:01:00.0/.: a '.' component"},
	{"/sys/bus/pci/devices/0000:01:00.0/..", 2, "/sys/bus/pci/devices/0000:01:00.0/..: a '..' component"},
	{"/sys/../sys/bus/pci/devices/0000:01:00.0", 2, "/sys/../sys/bus/pci/devices/0000:01:00.0: a '..' component"},
	{"/sys/bus/pci/devices/0000:01:00.0/../0000:01:00.0", 2, "a '..' component"},
	{"/sys/kernel/iommu_groups/7/devices/0000:01:00.0", 2,
	 "/sys/kernel/iommu_groups/7/devices/0000:01:00.0: not under /sys/bus/pci/devices or /sys/devices"},
	{"/sys/bus/pci/drivers/vfio-pci/0000:01:00.0", 2, "not under /sys/bus/pci/devices or /sys/devices"},
	{"/sys/class/vfio-dev/vfio0/../../0000:01:00.0", 2, "a '..' component"},
	{"/sys/bus/pci/devices/0000:09:00.0", 2, "/sys/bus/pci/devices/0000:09:00.0: no such PCI function"},
	{"/sys/bus/pci/devices/", 2, "/sys/bus/pci/devices/: sysfs path does not end in a PCI function"},
	{"/sys/bus/pci/devices/0000:01:00.0x", 2, "sysfs path does not end in a PCI function"},
	{"/sys/bus/pci/devices/01:00.0", 2, "sysfs path does not end in a PCI function"},
	{"/dev/vfio/7", 2, "/dev/vfio/7: not a PCI address, nor a sysfs path"},
	{"sys/bus/pci/devices/0000:01:00.0", 2, "sys/bus/pci/devices/0000:01:00.0: not a PCI address"},
	{"/tmp/0000:01:00.0", 2, "/tmp/0000:01:00.0: not a PCI address, nor a sysfs path"},
	{"/sys", 2, "/sys: not a PCI address, nor a sysfs path"},
	/* control and non-ASCII bytes: shown escaped, on one line */
	{"0000:01:00.0\n", 2, "0000:01:00.0\\n: not a PCI address"},
	{"0000:01:00.0\r", 2, "0000:01:00.0\\r: not a PCI address"},
	{"0000:01:00.0\x1b[31m", 2, "0000:01:00.0\\x1b[31m: not a PCI address"},
	{"0000:01:00.\xc3\xa9", 2, "0000:01:00.\xc3\xa9: not a PCI address"}, /* UTF-8 shown as it is */
	{"0000:01:00.0,access=f\xc2\x9b", 2, "f\\xc2\\x9b: unknown access"},
	{"0000:01:00.0,access=\x7f", 2, "\\x7f: unknown access"},
	{"\xff\xfe", 2, "\\xff\\xfe: not a PCI address"},
	{"0000:01:00.0,\x01=1", 2, "\\x01: unknown hostdev option"},
	{"\xd9\xa0\xd9\xa0:01:00.0", 2, "\xd9\xa0\xd9\xa0:01:00.0: not a PCI address"},
	{"0000:01:00.0,vf-token=\xe2\x80\x8b"
	 "00112233-4455-6677-8899-aabbccddeeff",
	 2, "\\xe2\\x80\\x8b00112233"},
	{"/sys/bus/pci/devices/0000:01:00.0\n/..", 2, "0000:01:00.0\\n/..: a '..' component"},
	/* mediated devices: mdev=UUID or /sys/bus/mdev/devices/UUID */
	{"mdev=", 2, "not a UUID"},
	{"mdev=xyz", 2, "mdev: xyz: not a UUID"},
	{"mdev=8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8", 2, "not a UUID"},
	{"mdev=8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d0", 2, "not a UUID: trailing characters"},
	{"mdev=8f1bd9b8d0b44d6f9a0e3c2b1a0f9e8d", 2, "not a UUID"},
	{"mdev={8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d}", 2, "not a UUID"},
	{"mdev=8f1bd9b8-d0b4-4d6f-9a0e_3c2b1a0f9e8d", 2, "not a UUID"},
	{"mdev=8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d\n", 2,
	 "mdev: 8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d\\n: not a UUID: trailing characters"},
	{"mdev= 8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d", 2, "not a UUID"},
	{"/sys/bus/mdev/devices/", 2, "not a UUID"},
	{"/sys/bus/mdev/devices/xyz", 2, "mdev: xyz: not a UUID"},
	{"/sys/bus/mdev/devices/8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d/../x", 2, "not an mdev's directory"},
	{"/sys/bus/mdev/devices/../devices/8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d", 2, "not an mdev's directory"},
	{"mdev=8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d,managed=yes", 2, "no driver to detach"},
	{"mdev=8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d,vf-token=8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d", 2,
	 "an mdev has none"},
	{"mdev=8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d,backend=mdev", 2, "unknown backend"},
};

/* Very long specs: the error quotes a bounded prefix and still gives the reason. */
static void hostdev_long_rows(table *t)
{
	struct {
		const char *lead;
		size_t length;
		const char *expect;
	} rows[] = {
		{"", 5000, "(5000 bytes): longer than"},
		{"0000:01:00.0,access=", 5000, "(5000 bytes): longer than"},
		{"0000:01:00.0,vf-token=", 4097, "(4097 bytes): longer than"},
		{"/sys/bus/pci/devices/", 4200, "(4200 bytes): longer than"},
		{"0000:01:00.0,", 100000, "(100000 bytes): longer than"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *fill = repeated('A', rows[i].length - strlen(rows[i].lead));
		char *spec = joined(rows[i].lead, fill);
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", t->root, "--domain", "vm", "--uid", "107", "--gid",
						"107", "--hostdev", spec, NULL});
		table_row(t, spec, &run, 2, rows[i].expect);
		test_run_free(&run);
		free(spec);
		free(fill);
	}
}

START_TEST(hostdev_specs)
{
	table t;
	table_open(&t, "hostdev spec");
	for (size_t i = 0; i < sizeof(hostdev_rows) / sizeof(hostdev_rows[0]); i++) {
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", t.root, "--domain", "vm", "--uid", "107", "--gid",
						"107", "--hostdev", hostdev_rows[i].input, NULL});
		table_row(&t, hostdev_rows[i].input, &run, hostdev_rows[i].status, hostdev_rows[i].expect);
		test_run_free(&run);
	}
	hostdev_long_rows(&t);
	/* revoke --hostdev (hot-unplug): a hostdev the domain does not hold, or no hostdev at all */
	static const text_row unplug_rows[] = {
		{"01:00.0", 1, "domain warmup holds no hostdev 0000:01:00.0; nothing was changed"},
		{"0000:02:00.0", 1, "domain warmup holds no hostdev 0000:02:00.0; nothing was changed"},
		{"mdev=6f1a2b3c-0d4e-4f50-9a6b-7c8d9e0f1a2b", 1,
		 "domain warmup holds no hostdev mdev:6f1a2b3c-0d4e-4f50-9a6b-7c8d9e0f1a2b"},
		{"zz:zz.z", 1, "zz:zz.z"},
	};
	for (size_t i = 0; i < sizeof(unplug_rows) / sizeof(unplug_rows[0]); i++) {
		test_run run;
		test_cli(&run, (const char *[]){"revoke", "--root", t.root, "--domain", "warmup", "--hostdev",
						unplug_rows[i].input, NULL});
		table_row(&t, unplug_rows[i].input, &run, unplug_rows[i].status, unplug_rows[i].expect);
		test_run_free(&run);
	}
	table_close(&t, 100);
}
END_TEST

/* ---- hotplug and hotunplug: options, the QMP socket, the hostdev ---- */

typedef struct qmp_row {
	const char *args[12]; /* after "--root ROOT", NULL-terminated */
	int status;
	const char *expect;
} qmp_row;

#define LONG_SOCKET                                                                                              \
	"/run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"/qmp.sock"

static const qmp_row qmp_rows[] = {
	{{"hotplug", "--domain", "vm", "--hostdev", "01:00.0"}, 2, "--qmp is required"},
	{{"hotplug", "--qmp", "/nonexistent/qmp.sock", "--hostdev", "01:00.0"}, 2, "--domain is required"},
	{{"hotplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm"}, 2, "exactly one --hostdev"},
	{{"hotplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0", "--hostdev",
	  "02:00.0"},
	 2,
	 "exactly one --hostdev"},
	{{"hotplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "zz:zz.z"},
	 2,
	 "zz:zz.z: not a PCI address"},
	{{"hotplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0"},
	 1,
	 "hostdev 0000:01:00.0: /nonexistent/qmp.sock: cannot connect to the QMP socket: No such file or directory"},
	{{"hotplug", "--qmp", "/etc/hostname", "--domain", "vm", "--hostdev", "01:00.0"},
	 1,
	 "hostdev 0000:01:00.0: /etc/hostname: cannot connect to the QMP socket"},
	{{"hotplug", "--qmp", LONG_SOCKET, "--domain", "vm", "--hostdev", "01:00.0"},
	 1,
	 "QMP socket path longer than 107 bytes"},
	{{"hotplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0", "--timeout", "5"},
	 2,
	 "unknown option '--timeout'"},
	{{"hotplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0", "--rlimit-mode",
	  "sometimes"},
	 2,
	 "--rlimit-mode"},
	{{"hotplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "a/b", "--hostdev", "01:00.0"},
	 2,
	 "a/b: domain name may"},
	{{"hotunplug", "--domain", "vm", "--hostdev", "01:00.0"}, 2, "--qmp is required"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm"}, 2, "exactly one --hostdev"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--hostdev", "01:00.0"}, 2, "--domain is required"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0", "--uid", "107"},
	 2,
	 "--uid"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0", "--rlimit-mode",
	  "warn"},
	 2,
	 "unknown option '--rlimit-mode'"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0", "--timeout", "0"},
	 2,
	 "--timeout '0': expected a number from 1"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0", "--timeout", "5s"},
	 2,
	 "--timeout '5s': expected a number"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "zz:zz.z"},
	 2,
	 "zz:zz.z: not a PCI address"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "vm", "--hostdev", "01:00.0"},
	 1,
	 "0000:01:00.0: domain vm does not hold it: nothing to unplug"},
	{{"hotunplug", "--qmp", "/nonexistent/qmp.sock", "--domain", "a/b", "--hostdev", "01:00.0"},
	 2,
	 "a/b: domain name may"},
};

START_TEST(hotplug_and_hotunplug_options)
{
	table t;
	table_open(&t, "hotplug/hotunplug");
	for (size_t i = 0; i < sizeof(qmp_rows) / sizeof(qmp_rows[0]); i++) {
		const char *argv[16] = {qmp_rows[i].args[0], "--root", t.root};
		char input[512] = "";
		size_t n = 3, used = 0;
		for (size_t a = 0; qmp_rows[i].args[a]; a++) {
			if (a > 0)
				argv[n++] = qmp_rows[i].args[a];
			used += (size_t)snprintf(input + used, sizeof(input) - used, "%s ", qmp_rows[i].args[a]);
		}
		argv[n] = NULL;
		test_run run;
		test_cli(&run, argv);
		table_row(&t, input, &run, qmp_rows[i].status, qmp_rows[i].expect);
		test_run_free(&run);
	}
	table_close(&t, 20);
}
END_TEST

/* ---- domain names, ids, --pid, --root ---- */

static const text_row domain_name_rows[] = {
	{"", 2, "--domain is required"},
	{"a/b", 2, "a/b: domain name may not hold '/'"},
	{"/", 2, "/: domain name may not hold '/'"},
	{"..", 2, "..: domain name may not start with '.'"},
	{".", 2, ".: domain name may not start with '.'"},
	{".hidden", 2, ".hidden: domain name may not start with '.'"},
	{"../vm", 2, "../vm: domain name may not start with '.'"},
	{"vm/..", 2, "vm/..: domain name may not hold '/'"},
	{"a\tb", 2, "a\\tb: domain name may not hold a control character"},
	{"a\nb", 2, "a\\nb: domain name may not hold a control character"},
	{"\x1b[2J", 2, "\\x1b[2J: domain name may not hold a control character"},
	{"vm\x7f", 2, "vm\\x7f: domain name may not hold a control character"},
	{"vm\xc2\x9b", 2, "vm\\xc2\\x9b: domain name may not hold a control character"},
	{"vm\xe9", 2, "vm\\xe9: domain name is not UTF-8"},
	{"vm\xc3", 2, "vm\\xc3: domain name is not UTF-8"},
};

typedef struct option_row {
	const char *option;
	const char *value;
	const char *expect;
} option_row;

static const option_row id_rows[] = {
	{"--uid", "-1", "--uid '-1': expected a number from 0 to 4294967294"},
	{"--uid", "+1", "--uid '+1': expected a number"},
	{"--uid", " 1", "--uid ' 1': expected a number"},
	{"--uid", "1 ", "--uid '1 ': expected a number"},
	{"--uid", "", "--uid '': expected a number"},
	{"--uid", "abc", "--uid 'abc': expected a number"},
	{"--uid", "1a", "--uid '1a': expected a number"},
	{"--uid", "0x10", "--uid '0x10': expected a number"},
	{"--uid", "4294967295", "--uid '4294967295': expected a number from 0 to 4294967294"},
	{"--uid", "4294967296", "--uid '4294967296': expected a number"},
	{"--uid", "99999999999999999999", "--uid '99999999999999999999': expected a number"},
	{"--uid", "1.0", "--uid '1.0': expected a number"},
	{"--uid", "1e3", "--uid '1e3': expected a number"},
	{"--uid", "--1", "--uid '--1': expected a number"},
	{"--uid", "\xd9\xa3", "--uid '\xd9\xa3': expected a number"},
	{"--uid", "1\n", "--uid '1\\n': expected a number"},
	{"--gid", "-1", "--gid '-1': expected a number"},
	{"--gid", "+1", "--gid '+1': expected a number"},
	{"--gid", " 1", "--gid ' 1': expected a number"},
	{"--gid", "", "--gid '': expected a number"},
	{"--gid", "4294967295", "--gid '4294967295': expected a number"},
	{"--gid", "18446744073709551616", "--gid '18446744073709551616': expected a number"},
	{"--gid", "0x0", "--gid '0x0': expected a number"},
	{"--pid", "-1", "--pid '-1': expected a number from 0 to 2147483647"},
	{"--pid", "+1", "--pid '+1': expected a number"},
	{"--pid", " 1", "--pid ' 1': expected a number"},
	{"--pid", "1 ", "--pid '1 ': expected a number"},
	{"--pid", "0", "--pid 0: expected a process id"},
	{"--pid", "2147483648", "--pid '2147483648': expected a number"},
	{"--pid", "abc", "--pid 'abc': expected a number"},
	{"--pid", "", "--pid '': expected a number"},
	{"--pid", "0x1", "--pid '0x1': expected a number"},
	{"--pid", "99999999999999999999", "--pid '99999999999999999999': expected a number"},
};

START_TEST(domain_names_ids_and_roots)
{
	table t;
	table_open(&t, "domain, ids, root");
	for (size_t i = 0; i < sizeof(domain_name_rows) / sizeof(domain_name_rows[0]); i++) {
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", t.root, "--domain", domain_name_rows[i].input,
						"--uid", "107", "--gid", "107", "--hostdev", "01:00.0", NULL});
		table_row(&t, domain_name_rows[i].input, &run, domain_name_rows[i].status, domain_name_rows[i].expect);
		test_run_free(&run);
	}
	/* too long: named by a bounded prefix */
	for (size_t length = 128; length <= 8192; length *= 4) {
		char *name = repeated('v', length);
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", t.root, "--domain", name, "--uid", "107", "--gid",
						"107", "--hostdev", "01:00.0", NULL});
		table_row(&t, name, &run, 2, "longer than 127");
		test_run_free(&run);
		/* revoke and status --domain take a name too */
		test_cli(&run, (const char *[]){"revoke", "--root", t.root, "--domain", name, NULL});
		table_row(&t, name, &run, 2, "longer than 127");
		test_run_free(&run);
		free(name);
	}
	for (const char *const *name = (const char *[]){"", "../x", "a/b", ".x", "a\nb", NULL}; *name; name++) {
		test_run run;
		test_cli(&run, (const char *[]){"revoke", "--root", t.root, "--domain", *name, NULL});
		table_row(&t, *name, &run, 2, (*name)[0] ? "domain name" : "a domain needs a name");
		test_run_free(&run);
	}
	for (size_t i = 0; i < sizeof(id_rows) / sizeof(id_rows[0]); i++) {
		const option_row *row = &id_rows[i];
		/* the rest of the command right, so only this value can be wrong */
		const char *argv[16] = {"apply", "--root", t.root, "--domain", "vm", "--hostdev", "01:00.0"};
		size_t n = 7;
		if (strcmp(row->option, "--uid") != 0) {
			argv[n++] = "--uid";
			argv[n++] = "107";
		}
		if (strcmp(row->option, "--gid") != 0) {
			argv[n++] = "--gid";
			argv[n++] = "107";
		}
		argv[n++] = row->option;
		argv[n++] = row->value;
		test_run run;
		test_cli(&run, argv);
		table_row(&t, row->value, &run, 2, row->expect);
		test_run_free(&run);
	}
	/* --root: empty is not "/", and it must be an absolute directory; a usage error, as any bad value given */
	char file[] = "/tmp/vfguard-bad-root-XXXXXX";
	int fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	close(fd);
	const struct {
		const char *root;
		const char *expect;
	} roots[] = {
		{"", "an empty root prefix"},
		{"relative/root", "relative/root: the root prefix must be an absolute path"},
		{".", ".: the root prefix must be an absolute path"},
		{"/nonexistent/vfguard-root", "/nonexistent/vfguard-root: cannot use as root prefix"},
		{file, "cannot use as root prefix: Not a directory"},
		{"/tmp/vfguard-bad-root\n", "/tmp/vfguard-bad-root\\n: cannot use as root prefix"},
	};
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", roots[i].root, "--domain", "vm", "--uid", "107",
						"--gid", "107", "--hostdev", "01:00.0", NULL});
		table_row(&t, roots[i].root, &run, 2, roots[i].expect);
		test_run_free(&run);
	}
	unlink(file);
	table_close(&t, 50);
}
END_TEST

/* ---- config files (--config FILE) and --set ---- */

typedef struct config_row {
	const char *content;
	size_t length; /* 0: strlen(content) */
	const char *expect;
} config_row;

static const config_row config_rows[] = {
	{"bogus = 1\n", 0, "line 1: unknown key 'bogus'"},
	{"labelers\n", 0, "line 1: expected KEY = VALUE"},
	{"labelers dac\n", 0, "line 1: expected KEY = VALUE"},
	{"= dac\n", 0, "line 1: unknown key ''"},
	{"labelers = dac\nlabelers = dac\n", 0, "line 2: 'labelers' is set again (first on line 1)"},
	{"# comment\nstate_dir = /run/a\n\nstate_dir = /run/b\n", 0,
	 "line 4: 'state_dir' is set again (first on line 2)"},
	{"Labelers = dac\n", 0, "line 1: unknown key 'Labelers'"},
	{"labelers = nosuch\n", 0, "nosuch"},
	{"labelers = dac\0bogus = 1\n", 25, "line 1: a NUL byte"},
	{"\0", 1, "line 1: a NUL byte"},
	{"state_dir = /../../tmp/x\n", 0, "state_dir has a '..' component"},
	{"state_dir = relative\n", 0, "state_dir must be an absolute path"},
	{"state_dir = /run/./x\n", 0, "state_dir has a '.' component"},
	{"state_dir = \n", 0, "state_dir must be an absolute path"},
	{"lock_timeout = -1\n", 0, "lock_timeout is a number of seconds"},
	{"lock_timeout = abc\n", 0, "lock_timeout is a number of seconds"},
	{"lock_timeout = 86401\n", 0, "lock_timeout is a number of seconds"},
	{"lock_timeout = \n", 0, "lock_timeout is a number of seconds"},
	{"rlimit_mode = maybe\n", 0, "'maybe': expected required, warn or off"},
	{"rlimit_mode = \n", 0, "'': expected required, warn or off"},
	{"rlimit_mode = REQUIRED\n", 0, "'REQUIRED': expected required, warn or off"},
	{"records = maybe\n", 0, "'maybe': expected auto, journal, syslog or off"},
	{"records = \n", 0, "'': expected auto, journal, syslog or off"},
	{"records = JOURNAL\n", 0, "'JOURNAL': expected auto, journal, syslog or off"},
	{"records = journald\n", 0, "'journald': expected auto, journal, syslog or off"},
	{"libvirt_qemu_user = \n", 0, "libvirt_qemu_user"},
	{"libvirt_qemu_user = qemu\n", 0, "'qemu': expected USER:GROUP"},
	{"libvirt_qemu_user = :qemu\n", 0, "':qemu': expected USER:GROUP"},
	{"libvirt_qemu_user = qemu:\n", 0, "'qemu:': expected USER:GROUP"},
	{"libvirt_qemu_user = a:b:c\n", 0, "'a:b:c': expected USER:GROUP"},
	{"selinux = maybe\n", 0, "selinux"},
	{"selinux_mcs_categories = bogus\n", 0, "selinux_mcs_categories"},
	{"cgroup_foreign_programs = maybe\n", 0, "cgroup_foreign_programs"},
	{"cgroup_systemd = sometimes\n", 0, "cgroup_systemd"},
	{"cgroup_base_devices = c x:y rw\n", 0, "cgroup_base_devices"},
	{"memlock_extra = lots\n", 0, "memlock_extra"},
	{"memlock_iommufd_accounting = maybe\n", 0, "memlock_iommufd_accounting"},
	{"apparmor_rules_dir = relative\n", 0, "apparmor_rules_dir"},
	{"selinux_bogus = 1\n", 0, "selinux_bogus"},
	{"dac_bogus = 1\n", 0, "dac_bogus"},
	{"labelers = dac\n\x01 = 2\n", 0, "line 2: unknown key '\\x01'"},
};

static const char *const set_rows[][2] = {
	{"bogus=1", "--set bogus: unknown configuration key"},
	{"=dac", "--set =dac: expected KEY=VALUE"},
	{"labelers", "--set labelers: expected KEY=VALUE"},
	{"state_dir=/../../tmp/x", "state_dir has a '..' component"},
	{"state_dir=run/vfguard", "state_dir must be an absolute path"},
	{"rlimit_mode=sometimes", "'sometimes': expected required, warn or off"},
	{"libvirt_qemu_user=root", "'root': expected USER:GROUP"},
	{"lock_timeout=1e3", "lock_timeout is a number of seconds"},
	{"records=sometimes", "'sometimes': expected auto, journal, syslog or off"},
	{"labelers=nosuch", "--set labelers: "},
	{"labelers=dac nosuch", "no labeler 'nosuch' here (vfguard-nosuch.so); the labelers here: "},
	{"selinux_mcs_categories=c9.c1", "selinux_mcs_categories"},
	{"memlock_extra=-1", "memlock_extra"},
	{"cgroup_foreign_programs=", "cgroup_foreign_programs"},
	{"bogus\n=1", "bogus\\n"},
};

START_TEST(config_files_and_settings)
{
	table t;
	table_open(&t, "config");
	char dir[] = "/tmp/vfguard-bad-config-XXXXXX", path[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vfguard.conf", dir);
	for (size_t i = 0; i < sizeof(config_rows) / sizeof(config_rows[0]); i++) {
		const config_row *row = &config_rows[i];
		size_t length = row->length ? row->length : strlen(row->content);
		FILE *f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(row->content, 1, length, f), length);
		fclose(f);
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", t.root, "--config", path, "--domain", "vm", "--uid",
						"107", "--gid", "107", "--hostdev", "01:00.0", NULL});
		table_row(&t, row->content, &run, 1, row->expect);
		test_run_free(&run);
	}
	/* a directory, and a file that is not there */
	const char *const others[][2] = {
		{dir, "cannot read configuration: Is a directory"},
		{"/nonexistent/vfguard.conf", "/nonexistent/vfguard.conf: cannot read configuration"},
	};
	for (size_t i = 0; i < 2; i++) {
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", t.root, "--config", others[i][0], "--domain", "vm",
						"--uid", "107", "--gid", "107", "--hostdev", "01:00.0", NULL});
		table_row(&t, others[i][0], &run, 1, others[i][1]);
		test_run_free(&run);
	}
	for (size_t i = 0; i < sizeof(set_rows) / sizeof(set_rows[0]); i++) {
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", t.root, "--set", set_rows[i][0], "--domain", "vm",
						"--uid", "107", "--gid", "107", "--hostdev", "01:00.0", NULL});
		/*
		 * A usage error, whether the CLI or the library refuses it (context.h:
		 * the library names the --set as the subject); the same in the file
		 * is a failure (config_rows).
		 */
		table_row(&t, set_rows[i][0], &run, 2, set_rows[i][1]);
		test_run_free(&run);
	}
	unlink(path);
	rmdir(dir);
	table_close(&t, 45);
}
END_TEST

/* ---- libvirt domain XML on the libvirt hook's stdin ---- */

#define HOSTDEV_AT(bus, slot, fn)                                                                           \
	"<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' bus='" bus "' " \
	"slot='" slot "' function='" fn "'/></source></hostdev>"
#define HOSTDEV_GPU HOSTDEV_AT("0x01", "0x00", "0x0")
#define DOMAIN_OPEN "<domain type='kvm'><name>vm1</name><uuid>4dea22b3-1d52-d8f3-2516-782e98ab3fa0</uuid>"
#define DAC "<seclabel type='static' model='dac' relabel='yes'><label>+107:+107</label></seclabel>"
#define DOMAIN_WITH(devices) DOMAIN_OPEN "<memory unit='GiB'>1</memory><devices>" devices "</devices>" DAC "</domain>"

/* A hostdev whose <source> holds @source. */
#define HOSTDEV_SOURCE(source) "<hostdev mode='subsystem' type='pci'><source>" source "</source></hostdev>"
#define ADDRESS(attrs) "<address " attrs "/>"
#define SOURCE_GPU "<source><address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>"

static const text_row libvirt_rows[] = {
	{"", 1, "domain XML: empty"},
	{"not xml", 1, "domain XML: not well-formed XML"},
	{"<domain", 1, "domain XML: not well-formed XML"},
	{DOMAIN_OPEN, 1, "domain XML: not well-formed XML"},
	{DOMAIN_OPEN "<devices>" HOSTDEV_GPU, 1, "domain XML: not well-formed XML"},
	{"<domain type='kvm'><name>vm1</name></domain>trailing", 1, "domain XML: not well-formed XML"},
	/* the first of several errors, with the element open when it came */
	{"<domain type='kvm'><name>a & b</name><devices></device></domain>", 1,
	 "not well-formed XML (line 1, in <name>: xmlParseEntityRef: no name)"},
	{"<domain type='kvm'><name>vm1</name></domain><domain/>", 1, "domain XML: not well-formed XML"},
	{"<?xml version='1.0' encoding='bogus'?><domain/>", 1, "domain XML"},
	{"<foo/>", 1, "<foo>: the document is no libvirt <domain>"},
	{"<domain type='kvm'>"
	 "<devices>" HOSTDEV_GPU "</devices>"
	 "</domain>",
	 1, "no <name>"},
	{"<domain type='kvm'><name>vm1</name><name>vm1</name>"
	 "<devices>" HOSTDEV_GPU "</devices>"
	 "</domain>",
	 1, "a second <name>"},
	/* entities and DTDs: refused before anything is expanded or read */
	{"<!DOCTYPE domain [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;'>"
	 "<!ENTITY c '&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;'><!ENTITY d '&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;'>"
	 "<!ENTITY e '&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;'><!ENTITY f '&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;'>"
	 "<!ENTITY g '&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;'><!ENTITY h '&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;'>]>"
	 "<domain type='kvm'><name>vm1</name><description>&h;</description></domain>",
	 1, "domain XML: a DOCTYPE declaration"},
	{"<!DOCTYPE domain [<!ENTITY n 'vm1'>]><domain type='kvm'><name>&n;</name></domain>", 1,
	 "domain XML: a DOCTYPE declaration"},
	{"<!DOCTYPE domain><domain type='kvm'><name>vm1</name></domain>", 1, "domain XML: a DOCTYPE declaration"},
	{"<domain type='kvm'><name>&undefined;</name></domain>", 1, "domain XML: not well-formed XML"},
	{"<domain type='kvm'><name>vm1\x01</name></domain>", 1, "domain XML: not well-formed XML"},
	{"<domain type='kvm'><name>vm\xff</name></domain>", 1, "domain XML: not well-formed XML"},
	/* hostdevs: addresses and attributes */
	{DOMAIN_WITH(HOSTDEV_GPU HOSTDEV_GPU), 1, "0000:01:00.0 is assigned twice"},
	{DOMAIN_WITH(HOSTDEV_GPU HOSTDEV_AT("1", "0", "0")), 1, "0000:01:00.0 is assigned twice"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='pci'/>"), 1, "a PCI hostdev without <source>"},
	{DOMAIN_WITH(HOSTDEV_SOURCE("")), 1, "no <address>: a PCI hostdev is named by its address"},
	{DOMAIN_WITH(HOSTDEV_SOURCE(ADDRESS("bus='0x01' slot='0x00' function='0x0'") ADDRESS("bus='0x02' slot='0x00' "
											     "function='0x0'"))),
	 1, "a second <address> in <source>"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='pci'><source/><source/></hostdev>"), 1,
	 "a second <source> in <hostdev>"},
	{DOMAIN_WITH(HOSTDEV_AT("0x100", "0x00", "0x0")), 1, "bus='0x100': expected a number from 0 to 0xff"},
	{DOMAIN_WITH(HOSTDEV_AT("0x01", "0x20", "0x0")), 1, "slot='0x20': expected a number from 0 to 0x1f"},
	{DOMAIN_WITH(HOSTDEV_AT("0x01", "0x00", "0x8")), 1, "function='0x8': expected a number from 0 to 0x7"},
	{DOMAIN_WITH(HOSTDEV_AT("zz", "0x00", "0x0")), 1, "bus='zz': expected a number"},
	{DOMAIN_WITH(HOSTDEV_AT("", "0x00", "0x0")), 1, "no bus attribute"},
	{DOMAIN_WITH(HOSTDEV_AT(" 0x01", "0x00", "0x0")), 1, "bus=' 0x01': expected a number"},
	{DOMAIN_WITH(HOSTDEV_AT("-1", "0x00", "0x0")), 1, "bus='-1': expected a number"},
	{DOMAIN_WITH(HOSTDEV_AT("0x01x", "0x00", "0x0")), 1, "bus='0x01x': expected a number"},
	{DOMAIN_WITH(HOSTDEV_AT("0x01", "0x00", "0x0\n")), 1, "function='0x0 ': expected a number"},
	{DOMAIN_WITH(HOSTDEV_SOURCE(ADDRESS("domain='0x10000' bus='0x01' slot='0x00' function='0x0'"))), 1,
	 "domain='0x10000': expected a number from 0 to 0xffff"},
	{DOMAIN_WITH(HOSTDEV_SOURCE(ADDRESS("bus='0x01' function='0x0'"))), 1, "no slot attribute"},
	{DOMAIN_WITH(HOSTDEV_SOURCE(ADDRESS("bus='0x01' slot='0x00'"))), 1, "no function attribute"},
	{DOMAIN_WITH(HOSTDEV_SOURCE(ADDRESS("bus='0x01' slot='0x00' function='0x0' foo='1'"))), 1,
	 "unknown attribute foo='1' in a hostdev's source <address>"},
	{DOMAIN_WITH(HOSTDEV_SOURCE(ADDRESS("type='usb' bus='0x01' slot='0x00' function='0x0'"))), 1,
	 "type='usb': a PCI hostdev's source address is type='pci'"},
	{DOMAIN_WITH(HOSTDEV_SOURCE("<address bus='0x01' slot='0x00' function='0x0'><zpci uid='0x1' fid='0x0'/>"
				    "</address>")),
	 1, "<zpci>: unknown element in a hostdev's source <address>"},
	{DOMAIN_WITH(HOSTDEV_SOURCE("<address bus='0x01' slot='0x00' function='0x0'><bogus/></address>")), 1,
	 "<bogus>: unknown element in a hostdev's source <address>"},
	{DOMAIN_WITH(HOSTDEV_SOURCE("<address bus='0x01' slot='0x00' function='0x0'><vf-token uuid='xyz'/>"
				    "</address>")),
	 1, "xyz: not a UUID"},
	{DOMAIN_WITH(HOSTDEV_SOURCE("<address bus='0x01' slot='0x00' function='0x0'><vf-token/></address>")), 1,
	 "no uuid attribute"},
	{DOMAIN_WITH(HOSTDEV_SOURCE("<address bus='0x01' slot='0x00' function='0x0'>"
				    "<vf-token uuid='00112233-4455-6677-8899-aabbccddeeff'/>"
				    "<vf-token uuid='00112233-4455-6677-8899-aabbccddeeff'/></address>")),
	 1, "a second <vf-token> in <address>"},
	{DOMAIN_WITH(HOSTDEV_SOURCE("<address bus='0x01' slot='0x00' function='0x0'/><vf-token uuid='0011'/>")), 1,
	 "0011: not a UUID"},
	/* types, modes, drivers */
	{DOMAIN_WITH("<hostdev mode='subsystem' type='bogus'/>"), 1, "type='bogus': not a hostdev type libvirt knows"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type=''/>"), 1, "type='': not a hostdev type libvirt knows"},
	{DOMAIN_WITH("<hostdev mode='subsystem'/>"), 1, "no type attribute"},
	{DOMAIN_WITH("<hostdev mode='bogus' type='pci'/>"), 1, "mode='bogus': expected subsystem or capabilities"},
	{DOMAIN_WITH("<hostdev mode='capabilities' type='pci'/>" HOSTDEV_GPU), 1,
	 "type='pci': not a capabilities hostdev type (storage, misc, net)"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='PCI'/>"), 1, "type='PCI': not a hostdev type libvirt knows"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='pci' managed='maybe'>"
		     "<source><address bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"),
	 1, "managed='maybe': expected yes or no"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='pci'><driver name='kvm'/>"
		     "<source><address bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"),
	 1, "driver name='kvm'"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='pci'><driver iommufd='maybe'/>"
		     "<source><address bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"),
	 1, "iommufd='maybe': expected yes or no"},
	{DOMAIN_WITH(
		 "<hostdev mode='subsystem' type='pci' managed='yes'><driver name='vfio' model='e1000e'/>" SOURCE_GPU
		 "</hostdev>"),
	 1, "model='e1000e': e1000e: is not a vfio driver"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='pci' managed='yes'><driver model=''/>" SOURCE_GPU "</hostdev>"),
	 1, "model='': "},
	{DOMAIN_WITH("<interface type='hostdev' managed='yes'><driver model='../x_vfio_pci'/>" SOURCE_GPU
		     "</interface>"),
	 1, "not a driver name"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='pci'><driver/><driver/>"
		     "<source><address bus='0x01' slot='0x00' function='0x0'/></source></hostdev>"),
	 1, "a second <driver> in <hostdev>"},
	/* VFs as network interfaces, mediated devices */
	{DOMAIN_WITH("<interface type='hostdev'/>"), 1, "<interface>: a PCI hostdev without <source>"},
	{DOMAIN_WITH("<interface type='hostdev' managed='maybe'>" SOURCE_GPU "</interface>"), 1,
	 "managed='maybe': expected yes or no"},
	{DOMAIN_WITH("<interface type='hostdev'><driver name='kvm'/>" SOURCE_GPU "</interface>"), 1,
	 "driver name='kvm'"},
	{DOMAIN_WITH("<interface type='hostdev'><source>" ADDRESS(
		 "type='usb' bus='0x01' slot='0x00' function='0x0'") "</source></interface>"),
	 1, "type='usb': a PCI hostdev's source address is type='pci'"},
	{DOMAIN_WITH("<interface type='hostdev'><source><address bus='0x01' slot='0x00' function='0x0'>"
		     "<vf-token uuid='xyz'/></address></source></interface>"),
	 1, "xyz: not a UUID"},
	{DOMAIN_WITH(HOSTDEV_GPU "<interface type='hostdev'>" SOURCE_GPU "</interface>"), 1,
	 "0000:01:00.0 is assigned twice"},
	{DOMAIN_WITH("<interface type='network'><actual type='hostdev'/></interface>"), 1,
	 "<actual>: a PCI hostdev without <source>"},
	{DOMAIN_WITH("<interface type='network'><actual type='hostdev'><source/></actual></interface>"), 1,
	 "<source>: no <address>"},
	{DOMAIN_WITH("<interface type='network'><actual type='bridge'/><actual type='hostdev'/></interface>"), 1,
	 "a second <actual> in <interface>"},
	{DOMAIN_WITH("<interface type='network'><actual type='hostdev' managed='1'>" SOURCE_GPU
		     "</actual></interface>"),
	 1, "managed='1': expected yes or no"},
	{DOMAIN_WITH("<hostdev mode='subsystem' type='mdev' model='vfio-pci'/>"), 1,
	 "mdev (no uuid): an mdev is named by <source><address uuid=.../>"},
	{DOMAIN_WITH("<hostdev type='mdev' model='vfio-pci'><source><address/></source></hostdev>"), 1,
	 "mdev (no uuid): <address> names no uuid"},
	{DOMAIN_WITH(
		 "<hostdev type='mdev' model='vfio-ap'><source><address uuid='8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8'/>"
		 "</source></hostdev>"),
	 1, "mdev uuid: 8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8: not a UUID"},
	{DOMAIN_WITH("<hostdev type='mdev' model='vfio-ap'><source><address uuid='8f1bd9b8d0b44d6f9a0e3c2b1a0f9e8d'/>"
		     "</source></hostdev>"),
	 1, "<address>: mdev uuid: 8f1bd9b8d0b44d6f9a0e3c2b1a0f9e8d: not a UUID"},
	{DOMAIN_WITH(
		 "<hostdev type='mdev' model='vfio-ap'><source><address uuid='{8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d}'/>"
		 "</source></hostdev>"),
	 1, "<address>: mdev uuid: {8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d}: not a UUID"},
	{DOMAIN_WITH("<hostdev type='mdev' model='vfio-platform'><source>"
		     "<address uuid='8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d'/></source></hostdev>"),
	 1, "mdev 8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d: model='vfio-platform': expected vfio-pci, vfio-ccw or vfio-ap"},
	{DOMAIN_WITH("<hostdev type='mdev' model='vfio-pci' managed='yes'><source>"
		     "<address uuid='8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d'/></source></hostdev>"),
	 1, "mdev 8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d: managed='yes', but an mdev has no driver"},
	{DOMAIN_WITH(
		 "<hostdev type='mdev' model='vfio-pci'><source><address uuid='8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d'/>"
		 "</source></hostdev><hostdev type='mdev' model='vfio-pci'><source>"
		 "<address uuid='8F1BD9B8-D0B4-4D6F-9A0E-3C2B1A0F9E8D'/></source></hostdev>"),
	 1, "mdev 8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d is assigned twice"},
	/* the domain itself */
	{"<domain type='kvm'><name>vm2</name><devices>" HOSTDEV_GPU "</devices></domain>", 1,
	 "vm1: the domain XML on standard input is for 'vm2'"},
	{"<domain type='kvm'><name></name>"
	 "<devices>" HOSTDEV_GPU "</devices>"
	 "</domain>",
	 1, "a domain needs a name"},
	{DOMAIN_OPEN "<memory unit='parsecs'>4</memory>"
		     "<devices>" HOSTDEV_GPU "</devices>"
		     "</domain>",
	 1, "parsecs: not a unit libvirt knows"},
	{DOMAIN_OPEN "<memory>-4</memory>"
		     "<devices>" HOSTDEV_GPU "</devices>"
		     "</domain>",
	 1, "-4: not a decimal number"},
	{DOMAIN_OPEN "<memory unit='EiB'>99999999</memory>"
		     "<devices>" HOSTDEV_GPU "</devices>"
		     "</domain>",
	 1, "not a unit libvirt knows"},
	{DOMAIN_OPEN "<memory unit='PiB'>99999999</memory>"
		     "<devices>" HOSTDEV_GPU "</devices>"
		     "</domain>",
	 1, "more bytes than 64 bits hold"},
	{"<domain type='kvm'><name>vm1</name><uuid>not-a-uuid</uuid>"
	 "<devices>" HOSTDEV_GPU "</devices>"
	 "</domain>",
	 1, "not-a-uuid: not a UUID"},
	{DOMAIN_OPEN "<seclabel type='static' model='dac'><label>nobody-at-all:+107</label></seclabel>"
		     "<devices>" HOSTDEV_GPU "</devices></domain>",
	 1, "no user 'nobody-at-all' on this host"},
	{DOMAIN_OPEN "<seclabel type='static' model='dac'><label>+107</label></seclabel>"
		     "<devices>" HOSTDEV_GPU "</devices></domain>",
	 1, "+107: a dac label is USER:GROUP"},
};

/* Run the libvirt hook for vm1's prepare begin with @xml (@size bytes) on stdin, on @t's tree. */
static void libvirt_hook(test_run *run, table *t, const char *domain, const char *xml, size_t size)
{
	test_run_program(run, getenv("VFGUARD_LIBVIRT_HOOK"), "vfguard",
			 (const char *[]){domain, "prepare", "begin", "-", NULL}, xml, size, t->root);
}

static void libvirt_row(table *t, const char *label, const char *xml, size_t size, const char *expect)
{
	test_run run;
	libvirt_hook(&run, t, "vm1", xml, size);
	table_row(t, label, &run, 1, expect);
	test_run_free(&run);
}

/* A domain XML of @count hostdevs (@distinct: each its own function, else all the GPU). */
static char *many_hostdevs(unsigned count, bool distinct)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(out);
	fputs(DOMAIN_OPEN "<devices>", out);
	for (unsigned i = 0; i < count; i++)
		fprintf(out,
			"<hostdev mode='subsystem' type='pci'><source><address domain='0x%04x' bus='0x%02x' "
			"slot='0x%02x' function='0x%x'/></source></hostdev>\n",
			distinct ? 1 + i / 256 / 32 / 8 : 0, distinct ? (i / 256) % 256 : 1,
			distinct ? (i / 8) % 32 : 0, distinct ? i % 8 : 0);
	fputs("</devices>" DAC "</domain>", out);
	ck_assert_int_eq(fclose(out), 0);
	return text;
}

START_TEST(libvirt_domain_xml)
{
	table t;
	table_open(&t, "libvirt XML");
	for (size_t i = 0; i < sizeof(libvirt_rows) / sizeof(libvirt_rows[0]); i++)
		libvirt_row(&t, libvirt_rows[i].input, libvirt_rows[i].input, strlen(libvirt_rows[i].input),
			    libvirt_rows[i].expect);

	/*
	 * External entities and DTDs name a FIFO nobody writes: opening it would
	 * hang the hook until its alarm, so a run that ends at all read nothing.
	 */
	char fifo[] = "/tmp/vfguard-bad-fifo-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(fifo));
	char path[64];
	snprintf(path, sizeof(path), "%s/entity", fifo);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	const char *const external[][2] = {
		{"<!DOCTYPE domain [<!ENTITY x SYSTEM 'file://", "'>]><domain type='kvm'><name>&x;</name></domain>"},
		{"<!DOCTYPE domain SYSTEM '", "'><domain type='kvm'><name>vm1</name></domain>"},
		{"<!DOCTYPE domain [<!ENTITY % p SYSTEM '", "'> %p;]><domain type='kvm'><name>vm1</name></domain>"},
		{"<!DOCTYPE domain PUBLIC 'x' '", "'><domain type='kvm'><name>vm1</name></domain>"},
	};
	for (size_t i = 0; i < sizeof(external) / sizeof(external[0]); i++) {
		char *xml;
		ck_assert_int_ge(asprintf(&xml, "%s%s%s", external[i][0], path, external[i][1]), 0);
		libvirt_row(&t, xml, xml, strlen(xml), "domain XML: a DOCTYPE declaration");
		free(xml);
	}
	unlink(path);
	rmdir(fifo);

	/* 1000 hostdevs: past the limit, named; 1000 of one function: named twice */
	char *xml = many_hostdevs(1000, true);
	libvirt_row(&t, "1000 hostdevs", xml, strlen(xml), "more than 256 PCI hostdevs in one domain");
	free(xml);
	xml = many_hostdevs(1000, false);
	libvirt_row(&t, "1000 hostdevs of one function", xml, strlen(xml), "0000:01:00.0 is assigned twice");
	free(xml);
	/* deep nesting, a NUL, more than the input cap */
	char *open = NULL, *close = NULL;
	open = repeated('x', 0);
	size_t depth = 10000;
	char *deep = malloc(depth * 7 + 64);
	ck_assert_ptr_nonnull(deep);
	size_t used = (size_t)sprintf(deep, "<domain>");
	for (size_t i = 0; i < depth; i++)
		used += (size_t)sprintf(deep + used, "<a>");
	libvirt_row(&t, "10000 levels deep", deep, used, "domain XML: not well-formed XML");
	free(deep);
	free(open);
	free(close);
	static const char with_nul[] = "<domain type='kvm'><name>vm1\0zzz</name></domain>";
	libvirt_row(&t, "a NUL in <name>", with_nul, sizeof(with_nul) - 1, "domain XML");
	size_t huge = (16u << 20) + 1024;
	char *big = repeated(' ', huge);
	memcpy(big, "<domain>", 8);
	libvirt_row(&t, "more than 16 MiB", big, huge, "standard input: more than 16777216 bytes");
	free(big);
	/* the domain the hook is run for */
	const char *const names[][2] = {
		{"../x", "../x: the domain XML on standard input is for 'vm1'"},
		{"", "the domain XML on standard input is for 'vm1'"},
		{"a/b", "a/b: the domain XML on standard input is for 'vm1'"},
		{"a\nb", "a\\nb: the domain XML on standard input is for 'vm1'"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		test_run run;
		xml = many_hostdevs(1, true);
		libvirt_hook(&run, &t, names[i][0], xml, strlen(xml));
		table_row(&t, names[i][0], &run, 1, names[i][1]);
		test_run_free(&run);
		free(xml);
	}
	table_close(&t, 70);
}
END_TEST

/*
 * Not bad input: hostdevs that need no VFIO node (usb, scsi, and the
 * capabilities mode), network interfaces that are no VF (no <actual>, or
 * another actual type) and a <zpci> on the guest-side address are left
 * alone, with no error and no change. (An mdev is refused: libvirt_rows.)
 */
START_TEST(libvirt_non_pci_hostdevs_and_guest_zpci_are_left_alone)
{
	table t;
	table_open(&t, "libvirt non-PCI");
	const char *const xmls[] = {
		DOMAIN_WITH("<hostdev mode='subsystem' type='usb'><source><vendor id='0x1234'/>"
			    "<product id='0xbeef'/></source></hostdev>"),
		DOMAIN_WITH("<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host0'/>"
			    "<address bus='0' target='0' unit='0'/></source></hostdev>"),
		DOMAIN_WITH("<interface type='network'><source network='vf-pool'/></interface>"),
		DOMAIN_WITH("<interface type='network'><source network='lan'/><actual type='bridge'>"
			    "<source bridge='virbr1'/></actual></interface>"),
		DOMAIN_WITH("<interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>"),
		DOMAIN_WITH("<hostdev mode='capabilities' type='storage'><source><block>/dev/sdf1</block>"
			    "</source></hostdev>"),
	};
	for (size_t i = 0; i < sizeof(xmls) / sizeof(xmls[0]); i++) {
		test_run run;
		libvirt_hook(&run, &t, "vm1", xmls[i], strlen(xmls[i]));
		ck_assert_msg(run.status == 0 && !run.err[0] && !run.out[0], "case %zu: exit %d: %s", i, run.status,
			      run.err);
		test_run_free(&run);
		test_snapshot_expect(t.root, 0, t.before, "a domain without VFIO devices");
	}
	/* zpci on the guest side: the domain starts, and release gives everything back (chown moves ctime) */
	char *before = test_snapshot(t.root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE);
	static const char guest_zpci[] = DOMAIN_WITH(
		"<hostdev mode='subsystem' type='pci'><source><address bus='0x01' slot='0x00' function='0x0'/>"
		"</source><address type='pci'><zpci uid='0x0001' fid='0x00000000'/></address></hostdev>");
	test_run run;
	libvirt_hook(&run, &t, "vm1", guest_zpci, strlen(guest_zpci));
	ck_assert_msg(run.status == 0 && !run.err[0], "guest zpci: exit %d: %s", run.status, run.err);
	test_run_free(&run);
	test_run_program(&run, getenv("VFGUARD_LIBVIRT_HOOK"), "vfguard",
			 (const char *[]){"vm1", "release", "end", "-", NULL}, guest_zpci, strlen(guest_zpci), t.root);
	ck_assert_msg(run.status == 0 && !run.err[0], "release: exit %d: %s", run.status, run.err);
	test_run_free(&run);
	test_snapshot_expect(t.root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE, before, "prepare then release");
	free(before);
	fclose(t.log);
	free(t.failures);
	free(t.before);
	test_root_remove(t.root);
}
END_TEST

/* ---- OCI: the state on stdin, config.json in the bundle ---- */

/* A stand-in for the container's process, as the runtime leaves it at prestart. */
static pid_t container_start(void)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void container_stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static const char config_ok[] = "{\"ociVersion\": \"1.0.2\", \"process\": {\"user\": {\"uid\": 107, \"gid\": 107}},"
				" \"linux\": {\"devices\": [{\"path\": \"/dev/vfio/7\", \"type\": \"c\"}]}}";

typedef struct oci_fixture {
	char bundle[64];
	char config[96];
	pid_t pid;
} oci_fixture;

static void oci_config_write(const oci_fixture *o, const char *content, size_t size)
{
	unlink(o->config);
	FILE *f = fopen(o->config, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(content, 1, size, f), size);
	fclose(f);
}

/* The state a runtime passes at prestart, with @members (a JSON member list, may be "") added. */
static char *oci_state(const oci_fixture *o, const char *id, const char *members)
{
	char *state;
	ck_assert_int_ge(asprintf(&state,
				  "{\"ociVersion\": \"1.0.2\", \"id\": \"%s\", \"status\": \"created\", \"pid\": %d, "
				  "\"bundle\": \"%s\"%s%s}",
				  id, (int)o->pid, o->bundle, members[0] ? ", " : "", members),
			 0);
	return state;
}

static void oci_row(table *t, const char *label, const char *state, size_t size, const char *expect)
{
	test_run run;
	test_run_program(&run, getenv("VFGUARD_OCI_HOOK"), "vfguard-oci-hook", (const char *[]){"prestart", NULL},
			 state, size, t->root);
	table_row(t, label, &run, 1, expect);
	test_run_free(&run);
}

/* Rows of the state: members added to a state that is right otherwise, or a whole text. */
static const text_row oci_state_member_rows[] = {
	{"\"annotations\": []", 1, "container state: annotations is not an object"},
	{"\"annotations\": \"x\"", 1, "container state: annotations is not an object"},
	{"\"annotations\": {\"org.vfguard.hostdevs\": 5}", 1, "annotation org.vfguard.hostdevs is not a string"},
	{"\"annotations\": {\"org.vfguard.access\": [\"fd\"]}", 1, "annotation org.vfguard.access is not a string"},
	{"\"annotations\": {\"org.vfguard.hostdevs\": \"01:00.0\\u0000 02:00.0\"}", 1,
	 "annotation org.vfguard.hostdevs holds a NUL byte"},
	{"\"annotations\": {\"org.vfguard.hostdevs\": \"0000:02:00.0 0000:02:00.0\"}", 1,
	 "0000:02:00.0 is named twice"},
	{"\"annotations\": {\"org.vfguard.hostdevs\": \"0000:02:00.0,,\"}", 1,
	 "0000:02:00.0,,: an empty hostdev option"},
	{"\"annotations\": {\"org.vfguard.hostdevs\": \"zz:00.0\"}", 1, "zz:00.0: not a PCI address"},
	{"\"annotations\": {\"org.vfguard.viommu\": \"maybe\"}", 1, "'maybe': expected true or false"},
	{"\"annotations\": {\"org.vfguard.memory\": \"lots\"}", 1, "org.vfguard.memory"},
	{"\"annotations\": {\"org.vfguard.hostdevs\": \"02:00.0\", \"org.vfguard.hostdevs\": \"01:00.0\"}", 1,
	 "container state: duplicate key \"org.vfguard.hostdevs\""},
	{"\"id\": \"other\"", 1, "container state: duplicate key \"id\""},
	{"\"pid\": 1", 1, "container state: duplicate key \"pid\""},
	{"\"bundle\": \"/\"", 1, "container state: duplicate key \"bundle\""},
	{"\"x\": {\"a\": 1, \"b\": 2, \"a\": 3}", 1, "container state: duplicate key \"a\""},
	{"\"x\": {\"a\": 1, \"\\u0061\": 3}", 1, "container state: duplicate key \"a\""},
	{"\"x\": {\"a\\u0000b\": 1, \"a\\u0000b\": 3}", 1, "container state: duplicate key \"a\\u0000b\""},
	{"\"x\": [{\"k\": 1}, {\"k\": 2, \"k\": 3}]", 1, "container state: duplicate key \"k\""},
	{"\"status\": 5", 1, "container state: duplicate key \"status\""},
};

static const text_row oci_state_rows[] = {
	{"", 1, "container state: not a JSON object"},
	{"not json", 1, "container state: not a JSON object"},
	{"[]", 1, "container state: not a JSON object"},
	{"\"state\"", 1, "container state: not a JSON object"},
	{"null", 1, "container state: not a JSON object"},
	{"{", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\"", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\"}}", 1, "container state: text after the JSON object"},
	{"{\"id\": \"c\"} {}", 1, "container state: text after the JSON object"},
	{"{\"id\": \"c\"}\n\0", 1, "container state: text after the JSON object"},
	{"{\"id\": 5, \"status\": \"created\"}", 1, "\"id\" is not a string"},
	{"{\"status\": \"created\"}", 1, "container state: no \"id\""},
	{"{\"id\": \"c\\u0000zzz\", \"status\": \"stopped\"}", 1, "id \"c\\u0000zzz\" holds a NUL byte"},
	{"{\"id\": \"c\\u001b[2J\", \"status\": \"stopped\"}", 1, "id \"c\\u001b[2J\""},
	{"{\"id\": \"../c\", \"status\": \"stopped\"}", 1, "id \"../c\""},
	{"{\"id\": \"c\", \"status\": \"created\", \"pid\": \"5\"}", 1, "\"pid\" is not a process id"},
	{"{\"id\": \"c\", \"status\": \"created\", \"pid\": -5}", 1, "\"pid\" is not a process id"},
	{"{\"id\": \"c\", \"status\": \"created\", \"pid\": 1e99}", 1, "\"pid\" is not a process id"},
	{"{\"id\": \"c\", \"status\": \"created\", \"pid\": 2147483648}", 1, "\"pid\" is not a process id"},
	{"{\"id\": \"c\", \"status\": \"created\", \"pid\": 99999999999999999999}", 1, "\"pid\" is not a process id"},
	{"{\"id\": \"c\", \"status\": \"created\", \"bundle\": 7}", 1, "\"bundle\" is not a string"},
	{"{\"id\": \"c\", \"status\": \"created\", \"bundle\": \"relative\"}", 1, "no absolute bundle directory"},
	{"{\"id\": \"c\", \"status\": \"created\", \"bundle\": \"\"}", 1,
	 "c: the state names no absolute bundle directory"},
	{"{'id': 'c'}", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\",}", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\" /* x */}", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\", \"n\": NaN}", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\", \"n\": 01}", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\x01\"}", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\xff\"}", 1, "container state: not a JSON object"},
	{"{\"id\": \"c\\ud800\"}", 1,
	 "c\xef\xbf\xbd: the state names no absolute bundle directory"}, /* json-c: U+FFFD */
	{"{\"id\": \"c\", \"id\": \"d\"}", 1, "container state: duplicate key \"id\""},
};

/* Rows of config.json, with the state right. */
static const text_row oci_config_rows[] = {
	{"", 1, "config.json: not a JSON object"},
	{"not json", 1, "config.json: not a JSON object"},
	{"[]", 1, "config.json: not a JSON object"},
	{"{\"process\": {}} trailing", 1, "config.json: text after the JSON object"},
	{"{\"process\": {}}{}", 1, "config.json: text after the JSON object"},
	{"{\"process\": {\"user\": {\"uid\": 107, \"uid\": 0, \"gid\": 107}}}", 1,
	 "config.json: duplicate key \"uid\""},
	{"{\"linux\": {}, \"linux\": {\"devices\": [{\"path\": \"/dev/vfio/7\"}]}}", 1,
	 "config.json: duplicate key \"linux\""},
	{"{\"annotations\": {\"org.vfguard.hostdevs\": \"01:00.0\", \"org.vfguard.hostdevs\": \"02:00.0\"}}", 1,
	 "config.json: duplicate key \"org.vfguard.hostdevs\""},
	{"{\"process\": []}", 1, "config.json: process is not an object"},
	{"{\"process\": {\"user\": 107}}", 1, "config.json: process.user is not an object"},
	{"{\"process\": {\"user\": {\"uid\": \"107\", \"gid\": 107}}}", 1,
	 "process.user.uid is not a user or group id"},
	{"{\"process\": {\"user\": {\"uid\": -1, \"gid\": 107}}}", 1, "process.user.uid is not a user or group id"},
	{"{\"process\": {\"user\": {\"uid\": 4294967295, \"gid\": 107}}}", 1, "process.user.uid is not a user"},
	{"{\"process\": {\"user\": {\"uid\": 107.5, \"gid\": 107}}}", 1, "process.user.uid is not a user"},
	{"{\"process\": {\"user\": {\"uid\": 107, \"gid\": null}}}", 1, "process.user.gid is not a user"},
	{"{\"process\": {\"selinuxLabel\": 5}}", 1, "\"selinuxLabel\" is not a string"},
	{"{\"process\": {\"selinuxLabel\": \"system_u:system_r:svirt_t:s0\\u0000:c1\"}}", 1,
	 "\"selinuxLabel\" holds a NUL byte"},
	{"{\"process\": {\"capabilities\": []}}", 1, "process.capabilities is not an object"},
	{"{\"process\": {\"capabilities\": {\"ambient\": \"CAP_IPC_LOCK\"}}}", 1,
	 "process.capabilities.ambient is not an array"},
	{"{\"process\": {\"capabilities\": {\"ambient\": [5]}}}", 1,
	 "process.capabilities.ambient[0] is not a capability"},
	{"{\"linux\": []}", 1, "config.json: linux is not an object"},
	{"{\"linux\": {\"devices\": {}}}", 1, "linux.devices is not an array"},
	{"{\"linux\": {\"devices\": [\"/dev/vfio/7\"]}}", 1, "linux.devices[0] is not an object"},
	{"{\"linux\": {\"devices\": [{\"path\": 7}]}}", 1, "\"path\" is not a string"},
	{"{\"linux\": {\"devices\": [{\"path\": \"/dev/vfio/7\\u0000x\"}]}}", 1, "\"path\" holds a NUL byte"},
	{"{\"linux\": {\"devices\": [{\"path\": \"/dev/vfio/abc\"}]}}", 1, "/dev/vfio/abc: a /dev/vfio entry"},
	{"{\"linux\": {\"devices\": [{\"path\": \"/dev/vfio/99\"}]}}", 1,
	 "no IOMMU group 99 in sysfs (/tmp/vfguard-test-"},
	{"{\"linux\": {\"namespaces\": {}}}", 1, "linux.namespaces is not an array"},
	{"{\"linux\": {\"namespaces\": [{\"type\": \"user\"}]}, \"process\": {\"user\": {\"uid\": 1, \"gid\": 1}}}", 1,
	 "a user namespace without linux.uidMappings"},
	{"{\"linux\": {\"resources\": {\"devices\": {}}}}", 1, "linux.resources.devices"},
	{"{\"annotations\": []}", 1, "config.json: annotations is not an object"},
	{"{\"annotations\": {\"org.vfguard.backend\": \"vfio\"}}", 1, "annotation org.vfguard.backend"},
	{"{\"process\": {\"user\": {\"uid\": 107, \"gid\": 107}}} /**/", 1, "config.json: text after the JSON object"},
	{"{\"process\": {\"user\": {\"uid\": 107, \"gid\": 107},}}", 1, "config.json: not a JSON object"},
};

static void oci_deep_and_huge_rows(table *t, oci_fixture *o)
{
	/* 10000 levels of arrays: in the state, and in config.json */
	size_t depth = 10000;
	char *deep = malloc(2 * depth + 256);
	ck_assert_ptr_nonnull(deep);
	int n = sprintf(deep, "{\"id\": \"c\", \"x\": ");
	memset(deep + n, '[', depth);
	memset(deep + n + depth, ']', depth);
	strcpy(deep + n + 2 * depth, "}");
	oci_row(t, "state nested 10000 deep", deep, strlen(deep),
		"container state: not a JSON object (nesting too deep)");
	oci_config_write(o, deep, strlen(deep));
	char *state = oci_state(o, "ctr", "");
	oci_row(t, "config.json nested 10000 deep", state, strlen(state),
		"config.json: not a JSON object (nesting too deep)");
	free(deep);
	/* more than the cap of 16 MiB */
	size_t huge = (16u << 20) + 1;
	char *big = repeated(' ', huge);
	big[0] = '{';
	big[huge - 1] = '}';
	oci_row(t, "a state of 16 MiB + 1", big, huge, "standard input: more than 16777216 bytes");
	oci_config_write(o, big, huge);
	oci_row(t, "config.json of 16 MiB + 1", state, strlen(state), "config.json: more than 16777216 bytes");
	free(big);
	/* not a regular file: a FIFO nobody writes (json_object_from_file would wait for a writer), a directory */
	unlink(o->config);
	ck_assert_int_eq(mkfifo(o->config, 0600), 0);
	oci_row(t, "config.json a FIFO", state, strlen(state), "config.json: not a regular file");
	unlink(o->config);
	ck_assert_int_eq(mkdir(o->config, 0700), 0);
	oci_row(t, "config.json a directory", state, strlen(state), "config.json: not a regular file");
	rmdir(o->config);
	ck_assert_int_eq(symlink("/dev/zero", o->config), 0);
	oci_row(t, "config.json a link to /dev/zero", state, strlen(state), "config.json: not a regular file");
	unlink(o->config);
	oci_row(t, "no config.json", state, strlen(state), "config.json: cannot read");
	free(state);
}

START_TEST(oci_state_and_config)
{
	table t;
	table_open(&t, "OCI JSON");
	oci_fixture o = {.pid = container_start()};
	snprintf(o.bundle, sizeof(o.bundle), "/tmp/vfguard-bad-bundle-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(o.bundle));
	snprintf(o.config, sizeof(o.config), "%s/config.json", o.bundle);

	oci_config_write(&o, config_ok, strlen(config_ok));
	for (size_t i = 0; i < sizeof(oci_state_member_rows) / sizeof(oci_state_member_rows[0]); i++) {
		char *state = oci_state(&o, "ctr", oci_state_member_rows[i].input);
		oci_row(&t, oci_state_member_rows[i].input, state, strlen(state), oci_state_member_rows[i].expect);
		free(state);
	}
	for (size_t i = 0; i < sizeof(oci_state_rows) / sizeof(oci_state_rows[0]); i++) {
		const char *text = oci_state_rows[i].input;
		/* the row with a NUL after the object: its text runs past the NUL */
		size_t size = strcmp(text, "{\"id\": \"c\"}\n") == 0 ? strlen(text) + 1 : strlen(text);
		oci_row(&t, text, text, size, oci_state_rows[i].expect);
	}
	char *state = oci_state(&o, "ctr", "");
	for (size_t i = 0; i < sizeof(oci_config_rows) / sizeof(oci_config_rows[0]); i++) {
		oci_config_write(&o, oci_config_rows[i].input, strlen(oci_config_rows[i].input));
		oci_row(&t, oci_config_rows[i].input, state, strlen(state), oci_config_rows[i].expect);
	}
	free(state);
	oci_deep_and_huge_rows(&t, &o);
	container_stop(o.pid);
	unlink(o.config);
	rmdir(o.bundle);
	table_close(&t, 90);
}
END_TEST

/* ---- damaged journals: restore, status, revoke ---- */

#define JOURNAL "/run/vfguard/domains/vm1.journal"
#define JOURNAL_HEAD "vfguard-journal 2\nbegin 1 apply\ndomain vm1 - 107 107 0 0 0 0\n"
#define INTENT_GROUP "intent 1 1 dac group /dev/vfio/7 243:0 0 uid=0%20gid=0%20mode=0600\n"

static const struct journal_row {
	const char *what;
	const char *content; /* NULL: the row sets the state up itself */
	const char *expect;
} journal_rows[] = {
	{"garbage", "hello world\n", "vm1.journal: line 1"},
	{"format 9", "vfguard-journal 9\n", "vm1.journal: line 1"},
	{"format x", "vfguard-journal x\n", "vm1.journal: line 1"},
	{"no header", "begin 1 apply\n", "vm1.journal: line 1"},
	{"a NUL", "vfguard-journal 2\nbegin 1 apply\0\n", "vm1.journal: line 2"},
	{"a torn record, then more", JOURNAL_HEAD "intent 1 1 dac gro\ndone 1 1\n", "vm1.journal: line 4"},
	{"an unknown record", JOURNAL_HEAD "frobnicate 1\n", "vm1.journal: line 4"},
	{"a path outside /dev",
	 JOURNAL_HEAD "intent 1 1 dac group /etc/shadow 243:0 0 uid=0%20gid=0%20mode=0600\n"
		      "done 1 1\n",
	 "/etc/shadow"},
	{"a path leading out of the root",
	 JOURNAL_HEAD "intent 1 1 dac group /dev/../../../etc/shadow 243:0 0 uid=0%20gid=0%20mode=0600\ndone 1 1\n",
	 "/dev/../../../etc/shadow"},
	{"another domain's name", "vfguard-journal 2\nbegin 1 apply\ndomain vm2 - 107 107 0 0 0 0\n", "vm2"},
	{"a domain name with '/'", "vfguard-journal 2\nbegin 1 apply\ndomain ../vm1 - 107 107 0 0 0 0\n", "../vm1"},
	{"a forged undo",
	 JOURNAL_HEAD "intent 1 1 dac group /dev/vfio/7 243:0 0 uid=-1%20gid=0%20mode=0600\n"
		      "done 1 1\n",
	 "uid=-1"},
	{"one intent twice", JOURNAL_HEAD INTENT_GROUP INTENT_GROUP, "vm1.journal: line 5"},
	/* a revoke's begin may name the hostdevs it takes back; an apply's names none */
	{"an apply's begin naming a hostdev", "vfguard-journal 2\nbegin 1 apply 0000:01:00.0\n", "vm1.journal: line 2"},
	{"a revoke's begin naming no hostdev", "vfguard-journal 2\nbegin 1 revoke ../etc\n", "vm1.journal: line 2"},
	{"a revoke's begin with a malformed cdev", "vfguard-journal 2\nbegin 1 revoke 0000:01:00.0=511\n",
	 "vm1.journal: line 2"},
	/* a claim's eighth field: the variant driver a managed hostdev was bound to */
	{"a claim's driver on an unmanaged hostdev",
	 JOURNAL_HEAD "claim 1 0000:01:00.0 7 legacy path 0 mlx5_vfio_pci\n", "on a hostdev that is not managed"},
	{"a claim's driver that is no vfio driver", JOURNAL_HEAD "claim 1 0000:01:00.0 7 legacy path 1 e1000e\n",
	 "driver 'e1000e'"},
	{"a claim's driver with a path", JOURNAL_HEAD "claim 1 0000:01:00.0 7 legacy path 1 ../a_vfio_pci\n",
	 "driver '../a_vfio_pci'"},
	{"a claim of nine fields", JOURNAL_HEAD "claim 1 0000:01:00.0 7 legacy path 1 a_vfio_pci b\n",
	 "vm1.journal: line 4"},
	{"a symlinked state directory", NULL, "/run/vfguard"},
	{"a symlinked journal", NULL, "vm1.journal"},
	{"a journal others may write", NULL, "vm1.journal"},
};

/* The damage @row names, made in @root's state directory. */
static void journal_damage(const char *root, const struct journal_row *row)
{
	if (row->content) {
		/* a NUL row's text runs past its NUL */
		size_t size = strcmp(row->what, "a NUL") == 0 ? sizeof("vfguard-journal 2\nbegin 1 apply\0\n") - 1
							      : strlen(row->content);
		int fd = open(test_path(root, JOURNAL), O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, row->content, size), (ssize_t)size);
		close(fd);
		return;
	}
	char elsewhere[4096];
	if (strcmp(row->what, "a symlinked state directory") == 0) {
		snprintf(elsewhere, sizeof(elsewhere), "%s", test_path(root, "/run/elsewhere"));
		ck_assert_int_eq(rename(test_path(root, "/run/vfguard"), elsewhere), 0);
		ck_assert_int_eq(symlink("elsewhere", test_path(root, "/run/vfguard")), 0);
	} else if (strcmp(row->what, "a symlinked journal") == 0) {
		test_write_file(root, "/run/vfguard/vm1.elsewhere", JOURNAL_HEAD INTENT_GROUP "done 1 1\ncommit 1\n");
		ck_assert_int_eq(chmod(test_path(root, "/run/vfguard/vm1.elsewhere"), 0600), 0);
		ck_assert_int_eq(symlink("../vm1.elsewhere", test_path(root, JOURNAL)), 0);
	} else {
		test_write_file(root, JOURNAL, JOURNAL_HEAD INTENT_GROUP "done 1 1\ncommit 1\n");
		ck_assert_int_eq(chmod(test_path(root, JOURNAL), 0666), 0);
	}
}

START_TEST(damaged_journals)
{
	table t;
	table_open(&t, "journal");
	const char *const commands[][6] = {
		{"restore", NULL},
		{"restore", "--all", NULL},
		{"status", NULL},
		{"revoke", "--domain", "vm1", NULL},
	};
	for (size_t i = 0; i < sizeof(journal_rows) / sizeof(journal_rows[0]); i++) {
		for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
			/* each command on the damage as it was made, from a clean state directory */
			table_fresh_root(&t);
			/* status does not judge undo values: the labeler does, before it acts on one (revoke, restore)
			 */
			if (strcmp(journal_rows[i].what, "a forged undo") == 0 && strcmp(commands[c][0], "status") == 0)
				continue;
			journal_damage(t.root, &journal_rows[i]);
			/*
			 * The holders index is derived from the journals, and the damage was
			 * written behind its back: vfguard drops it as stale (docs/journal.md,
			 * "The holders index"), as it would after any such edit. Gone before the
			 * snapshot, only what the command does shows.
			 */
			unlink(test_path(t.root, "/run/vfguard/holders"));
			unlink(test_path(t.root, "/run/elsewhere/holders"));
			free(t.before);
			t.before = test_snapshot(t.root, 0);
			const char *argv[10] = {commands[c][0], "--root", t.root};
			for (size_t a = 1; commands[c][a]; a++)
				argv[2 + a] = commands[c][a];
			test_run run;
			test_cli(&run, argv);
			char label[128];
			snprintf(label, sizeof(label), "%s: %s", journal_rows[i].what, commands[c][0]);
			table_row(&t, label, &run, 1, journal_rows[i].expect);
			test_run_free(&run);
		}
	}
	table_close(&t, 60);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("bad_input");
	TCase *tc = tcase_create("table");
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, hostdev_specs);
	tcase_add_test(tc, hotplug_and_hotunplug_options);
	tcase_add_test(tc, domain_names_ids_and_roots);
	tcase_add_test(tc, config_files_and_settings);
	tcase_add_test(tc, libvirt_domain_xml);
	tcase_add_test(tc, libvirt_non_pci_hostdevs_and_guest_zpci_are_left_alone);
	tcase_add_test(tc, oci_state_and_config);
	tcase_add_test(tc, damaged_journals);
	suite_add_tcase(suite, tc);
	return test_main(suite);
}
