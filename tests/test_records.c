/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host records (docs/records.md), read back from a real journald and a
 * real syslog socket. The whole suite runs in a private mount namespace with
 * a tmpfs on /run, where it starts systemd-journald of its own (volatile
 * storage under /run/log/journal): the host's journal, and its /run, are
 * never touched. The CLI runs on generated host trees, as in test_cli, and
 * what it recorded is read back with journalctl -o json. The syslog cases
 * each take a mount namespace of their own, where /run has no journald
 * socket and /dev/log is a datagram socket the test binds and reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "cgroup_testlib.h"
#include "json_testlib.h"
#include "testlib.h"

/* Each kind's MESSAGE_ID, as docs/records.md lists them (core/records.c). */
#define ID_GRANT "7457acb64d884ef89c2f48a2583bcd81"
#define ID_REVOKE "8c6bd58932494821acbd306b7ce800e4"
#define ID_ROLLBACK "0fd4d21fcaa34ffab75d6809ad4fa7bd"
#define ID_RESTORE "02923eb68697463c9074adc1b005cafb"
#define ID_REFUSE "02ca9786ad2447e89a03796341275c63"
#define ID_OUTCOME "e019cdb6c9ba4aa9a91e3ad27c58ed91"
#define ID_BOOT_RELEASE "5f7d3025473e4ad1858ebfbd29646466"

/* syslog(3) priorities: LOG_DAEMON with notice (5) and info (6). */
#define SYSLOG_NOTICE "<29>"
#define SYSLOG_INFO "<30>"

#define JOURNAL_DIR "/run/log/journal"

/* ---- the private journald (main) ---- */

static void die(const char *what)
{
	fprintf(stderr, "test_records: %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILURE);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die(path);
}

/*
 * A mount namespace of this process's own, with a tmpfs on /run: what
 * journald makes there (its sockets, /run/log/journal) is seen by this
 * process and its children only.
 */
static void private_run(void)
{
	if (unshare(CLONE_NEWNS) < 0)
		die("unshare(CLONE_NEWNS)");
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("making / private");
	if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		die("a tmpfs on /run");
}

/*
 * journald from the systemd package, on the private /run: volatile storage
 * there, and nothing forwarded to the host (console, wall, kmsg) nor read
 * from the kernel log. A drop-in in /run/systemd/journald.conf.d overrides
 * the host's /etc/systemd/journald.conf (journald.conf(5)).
 */
static pid_t journald_start(void)
{
	const char *journald = getenv("VFGUARD_JOURNALD"), *journalctl = getenv("VFGUARD_JOURNALCTL");
	if (!journald || !*journald || !journalctl || !*journalctl) {
		fprintf(stderr, "test_records: no systemd-journald or journalctl (scripts/install-deps installs "
				"systemd)\n");
		exit(EXIT_FAILURE);
	}
	if (mkdir("/run/systemd", 0755) < 0 || mkdir("/run/systemd/journald.conf.d", 0755) < 0)
		die("/run/systemd/journald.conf.d");
	write_text("/run/systemd/journald.conf.d/zz-vfguard-test.conf",
		   "[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\n"
		   "ForwardToConsole=no\nForwardToWall=no\nRateLimitBurst=0\n");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* a suite killed by its timeout takes its journald along */
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		execl(journald, "systemd-journald", (char *)NULL);
		_exit(127);
	}
	/* Ready when its native socket is bound (it binds it itself when not socket-activated). */
	struct stat st;
	for (int i = 0; i < 200 && stat("/run/systemd/journal/socket", &st) < 0; i++)
		usleep(50 * 1000);
	if (stat("/run/systemd/journal/socket", &st) < 0 || !S_ISSOCK(st.st_mode))
		die("journald's socket /run/systemd/journal/socket");
	return pid;
}

/* ---- reading the records back ---- */

typedef struct records {
	size_t n;
	json_object *list[256];
} records;

static void records_free(records *r)
{
	for (size_t i = 0; i < r->n; i++)
		json_object_put(r->list[i]);
	r->n = 0;
}

/* journalctl @args..., NULL-terminated; its output (free() it). */
static char *journalctl(const char *const *args)
{
	const char *argv[32] = {"-D", JOURNAL_DIR, "-o", "json", "--no-pager"};
	size_t n = 5;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	test_run run;
	test_run_program(&run, getenv("VFGUARD_JOURNALCTL"), "journalctl", argv, "", 0, NULL);
	/* 1 with "-- No entries --" is no error: the count says what was expected */
	ck_assert_msg(run.status == 0 || run.status == 1, "journalctl exit %d: %s", run.status, run.err);
	free(run.err);
	return run.out;
}

/*
 * The records that journalctl selects with @matches (NULL-terminated), in
 * the order written, once journald has written down everything sent before
 * (journalctl --sync). Waits up to 5 s for at least @expect of them.
 */
static void records_read(records *r, size_t expect, const char *const *matches)
{
	test_run sync;
	test_run_program(&sync, getenv("VFGUARD_JOURNALCTL"), "journalctl", (const char *[]){"--sync", NULL}, "", 0,
			 NULL);
	ck_assert_msg(sync.status == 0, "journalctl --sync: %s", sync.err);
	test_run_free(&sync);
	for (int attempt = 0; attempt < 50; attempt++) {
		records_free(r);
		char *out = journalctl(matches);
		for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
			ck_assert_uint_lt(r->n, sizeof(r->list) / sizeof(r->list[0]));
			r->list[r->n++] = test_json_parse(line);
		}
		free(out);
		if (r->n >= expect)
			return;
		usleep(100 * 1000);
	}
}

/* The records of domain @domain (VFGUARD_DOMAIN=...), @extra a further match or NULL. */
static void records_of(records *r, size_t expect, const char *domain, const char *extra)
{
	char match[128];
	snprintf(match, sizeof(match), "VFGUARD_DOMAIN=%s", domain);
	records_read(r, expect, (const char *[]){match, extra, NULL});
}

static const char *field(json_object *record, const char *name)
{
	return test_json_string(record, name);
}

/* Fail unless field @name of @record is @value. */
static void expect_field(json_object *record, const char *name, const char *value)
{
	json_object *member;
	ck_assert_msg(json_object_object_get_ex(record, name, &member), "record without %s: %s", name,
		      json_object_to_json_string(record));
	ck_assert_msg(strcmp(json_object_get_string(member), value) == 0, "%s is '%s', expected '%s' in %s", name,
		      json_object_get_string(member), value, json_object_to_json_string(record));
}

static void expect_no_field(json_object *record, const char *name)
{
	ck_assert_msg(!json_object_object_get_ex(record, name, NULL), "record with %s: %s", name,
		      json_object_to_json_string(record));
}

/* The fields every record of @domain made in @command on the tree @root carries. */
static void expect_common(json_object *record, const char *command, const char *domain, const char *root)
{
	expect_field(record, "SYSLOG_IDENTIFIER", "vfguard");
	expect_field(record, "VFGUARD_COMMAND", command);
	expect_field(record, "VFGUARD_DOMAIN", domain);
	expect_field(record, "VFGUARD_ROOT", root);
	expect_field(record, "_TRANSPORT", "journal");
	ck_assert_msg(strstr(field(record, "MESSAGE"), domain), "MESSAGE without the domain: %s",
		      field(record, "MESSAGE"));
}

/* A change's record: @kind_id, @action, result ok, notice, the labeler and node. */
static void expect_change(json_object *record, const char *kind_id, const char *action, const char *labeler,
			  const char *node)
{
	expect_field(record, "MESSAGE_ID", kind_id);
	expect_field(record, "VFGUARD_ACTION", action);
	expect_field(record, "VFGUARD_RESULT", "ok");
	expect_field(record, "PRIORITY", "5");
	expect_field(record, "VFGUARD_LABELER", labeler);
	expect_field(record, "VFGUARD_NODE", node);
	expect_no_field(record, "ERRNO");
}

/* An outcome: @command's, with @result, and VFGUARD_CHANGED @changed (NULL: not looked at). */
static void expect_outcome(json_object *record, const char *command, const char *result, const char *changed)
{
	expect_field(record, "MESSAGE_ID", ID_OUTCOME);
	expect_field(record, "VFGUARD_ACTION", command);
	expect_field(record, "VFGUARD_RESULT", result);
	expect_field(record, "PRIORITY", strcmp(result, "ok") == 0 ? "6" : strcmp(result, "refused") == 0 ? "4" : "3");
	if (changed)
		expect_field(record, "VFGUARD_CHANGED", changed);
}

/* ---- the domain's changes, as the dry run lists them ---- */

typedef struct change {
	char labeler[32];
	char node[128];
} change;

typedef struct changes {
	size_t n;
	change list[32];
} changes;

#define DOMAIN_ARGS(root, name) "--root", root, "--domain", name, "--uid", "107", "--gid", "107", "--hostdev", "01:00.0"

/* What apply will change for @name with process @pid (NULL: none) (apply --dry-run --json), in apply order. */
static void changes_planned_pid(const char *root, const char *name, const char *pid, changes *c)
{
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--dry-run", "--json", DOMAIN_ARGS(root, name), pid ? "--pid" : NULL,
					pid, NULL});
	ck_assert_msg(run.status == 0, "dry run: %s", run.err);
	json_object *plan = test_json_parse(run.out);
	size_t n;
	json_object *steps = test_json_array(plan, "steps", &n);
	c->n = 0;
	for (size_t i = 0; i < n; i++) {
		json_object *step = json_object_array_get_idx(steps, i);
		ck_assert_str_eq(test_json_string(step, "action"), "grant");
		ck_assert_uint_lt(c->n, sizeof(c->list) / sizeof(c->list[0]));
		snprintf(c->list[c->n].labeler, sizeof(c->list[c->n].labeler), "%s", test_json_string(step, "labeler"));
		snprintf(c->list[c->n].node, sizeof(c->list[c->n].node), "%s", test_json_string(step, "node"));
		c->n++;
	}
	ck_assert_uint_gt(c->n, 1); /* a dry run that plans nothing would prove nothing below */
	json_object_put(plan);
	test_run_free(&run);
}

static void changes_planned(const char *root, const char *name, changes *c)
{
	changes_planned_pid(root, name, NULL, c);
}

/* Run the CLI with @argv and --json; it must exit 0; the summary's "changed". */
static int64_t cli_changed(const char *const *argv)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "%s exit %d: %s", argv[0], run.status, run.err);
	json_object *summary = test_json_parse(run.out);
	int64_t changed = test_json_int(summary, "changed");
	json_object_put(summary);
	test_run_free(&run);
	return changed;
}

/* The owner of the tree's cdev: 107 while the domain holds it. */
static uid_t cdev_owner(const char *root)
{
	struct stat st;
	ck_assert_int_eq(stat(test_path(root, "/dev/vfio/devices/vfio0"), &st), 0);
	return st.st_uid;
}

START_TEST(apply_and_revoke_write_one_record_per_change_with_every_field)
{
	const char *root = test_root_new(test_host_gpu);
	changes planned;
	changes_planned(root, "vm1", &planned);
	/* plan, dry run and audit change nothing: they write no record either (read back after the apply below) */
	test_run run;
	test_cli(&run, (const char *[]){"plan", DOMAIN_ARGS(root, "vm1"), NULL});
	ck_assert_int_eq(run.status, 0);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"audit", DOMAIN_ARGS(root, "vm1"), NULL});
	test_run_free(&run);

	int64_t made = cli_changed((const char *[]){"apply", "--json", DOMAIN_ARGS(root, "vm1"), NULL});
	ck_assert_int_eq(made, (int64_t)planned.n);
	records r = {0};
	records_of(&r, planned.n + 1, "vm1", NULL);
	/* one per change, in the order made, then the outcome: nothing from plan, dry run or audit */
	ck_assert_uint_eq(r.n, planned.n + 1);
	for (size_t i = 0; i < planned.n; i++) {
		expect_common(r.list[i], "apply", "vm1", root);
		expect_change(r.list[i], ID_GRANT, "grant", planned.list[i].labeler, planned.list[i].node);
		char message[256];
		snprintf(message, sizeof(message), "domain vm1: %s granted %s", planned.list[i].labeler,
			 planned.list[i].node);
		expect_field(r.list[i], "MESSAGE", message);
	}
	char count[16];
	snprintf(count, sizeof(count), "%zu", planned.n);
	expect_common(r.list[planned.n], "apply", "vm1", root);
	expect_outcome(r.list[planned.n], "apply", "ok", count);
	expect_field(r.list[planned.n], "VFGUARD_RECOVERED", "0");

	int64_t undone = cli_changed((const char *[]){"revoke", "--json", "--root", root, "--domain", "vm1", NULL});
	ck_assert_int_eq(undone, (int64_t)planned.n);
	records_of(&r, 2 * planned.n + 2, "vm1", "VFGUARD_COMMAND=revoke");
	ck_assert_uint_eq(r.n, planned.n + 1);
	/* newest change first */
	for (size_t i = 0; i < planned.n; i++) {
		const change *c = &planned.list[planned.n - 1 - i];
		expect_common(r.list[i], "revoke", "vm1", root);
		expect_change(r.list[i], ID_REVOKE, "revoke", c->labeler, c->node);
	}
	expect_outcome(r.list[planned.n], "revoke", "ok", count);

	/* the command selects all of them, and only vfguard's */
	records_read(&r, 2 * planned.n + 2, (const char *[]){"-t", "vfguard", "VFGUARD_DOMAIN=vm1", NULL});
	ck_assert_uint_eq(r.n, 2 * planned.n + 2);
	records_free(&r);
	test_root_remove(root);
}
END_TEST

/*
 * A value holding a newline goes in the native protocol's binary form
 * (core/records.c): here the root, in a folder whose name has one. journald
 * must read it whole, and every field after it too.
 */
START_TEST(a_value_with_a_newline_reaches_journald_whole)
{
	char dir[] = "/tmp/vfg-records-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char lined[sizeof(dir) + 16];
	snprintf(lined, sizeof(lined), "%s/two\nlines", dir);
	ck_assert_int_eq(mkdir(lined, 0755), 0);
	const char *root = test_root_new_in(lined, test_host_gpu);
	ck_assert_ptr_nonnull(strchr(root, '\n'));
	int64_t made = cli_changed((const char *[]){"apply", "--json", DOMAIN_ARGS(root, "vm-lines"), NULL});
	ck_assert_int_gt(made, 0);
	records r = {0};
	records_of(&r, (size_t)made + 1, "vm-lines", NULL);
	ck_assert_uint_eq(r.n, (size_t)made + 1);
	for (size_t i = 0; i < r.n; i++) {
		expect_common(r.list[i], "apply", "vm-lines", root);
		expect_field(r.list[i], "VFGUARD_ACTION", i < (size_t)made ? "grant" : "apply");
	}
	ck_assert_int_eq(
		cli_changed((const char *[]){"revoke", "--json", "--root", root, "--domain", "vm-lines", NULL}), made);
	records_free(&r);
	test_root_remove(root);
	ck_assert_int_eq(rmdir(lined), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/*
 * With the VM's process known, the cgroup and namespace labelers change its
 * cgroups and its /dev too: one record for each, per node, named by the
 * labeler, both ways.
 */
START_TEST(a_running_vm_s_cgroup_and_namespace_changes_are_recorded_too)
{
	const char *root = test_root_new(test_host_gpu);
	char v1[256], v2[256], pid[16];
	ck_assert_int_eq(test_cgroup_make_own(TEST_CGROUP_V1, v1, sizeof(v1)), 0);
	ck_assert_int_eq(test_cgroup_make_own(TEST_CGROUP_V2, v2, sizeof(v2)), 0);
	pid_t child = test_cgroup_child_in((const char *[]){v1, v2, NULL}, true);
	ck_assert_int_gt(child, 0);
	snprintf(pid, sizeof(pid), "%d", (int)child);
	changes planned;
	changes_planned_pid(root, "vm-pid", pid, &planned);
	bool cgroup = false, namespace = false; /* what the pid brings */
	for (size_t i = 0; i < planned.n; i++) {
		cgroup |= strcmp(planned.list[i].labeler, "cgroup") == 0;
		namespace |= strcmp(planned.list[i].labeler, "namespace") == 0;
	}
	ck_assert(cgroup && namespace);
	int64_t made =
		cli_changed((const char *[]){"apply", "--json", DOMAIN_ARGS(root, "vm-pid"), "--pid", pid, NULL});
	ck_assert_int_eq(made, (int64_t)planned.n);
	cli_changed((const char *[]){"revoke", "--json", "--root", root, "--domain", "vm-pid", NULL});
	records r = {0};
	records_of(&r, 2 * planned.n + 2, "vm-pid", NULL);
	ck_assert_uint_eq(r.n, 2 * planned.n + 2);
	for (size_t i = 0; i < planned.n; i++) {
		const change *granted = &planned.list[i], *revoked = &planned.list[planned.n - 1 - i];
		expect_change(r.list[i], ID_GRANT, "grant", granted->labeler, granted->node);
		expect_change(r.list[planned.n + 1 + i], ID_REVOKE, "revoke", revoked->labeler, revoked->node);
	}
	expect_outcome(r.list[planned.n], "apply", "ok", NULL);
	expect_outcome(r.list[2 * planned.n + 1], "revoke", "ok", NULL);
	records_free(&r);
	test_cgroup_child_stop(child);
	test_root_remove(root);
}
END_TEST

START_TEST(a_refused_apply_writes_one_record_per_refusal_and_no_grant)
{
	const char *root = test_root_new(test_host_gpu);
	/* set-id and sticky bits: the dac labeler refuses both nodes (plugins/dac/dac.c) */
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/devices/vfio0"), 04600), 0);
	ck_assert_int_eq(chmod(test_path(root, "/dev/iommu"), 01660), 0);
	test_run run;
	test_cli(&run, (const char *[]){"apply", DOMAIN_ARGS(root, "vm-refused"), NULL});
	ck_assert_msg(run.status == 1 && strstr(run.err, "nothing was changed"), "%d %s", run.status, run.err);
	test_run_free(&run);
	records r = {0};
	records_of(&r, 3, "vm-refused", NULL);
	ck_assert_uint_eq(r.n, 3);
	const char *nodes[] = {"/dev/iommu", "/dev/vfio/devices/vfio0"};
	for (size_t i = 0; i < 2; i++) {
		expect_common(r.list[i], "apply", "vm-refused", root);
		expect_field(r.list[i], "MESSAGE_ID", ID_REFUSE);
		expect_field(r.list[i], "VFGUARD_ACTION", "refuse");
		expect_field(r.list[i], "VFGUARD_RESULT", "refused");
		expect_field(r.list[i], "PRIORITY", "4");
		expect_field(r.list[i], "VFGUARD_LABELER", "dac");
		expect_field(r.list[i], "VFGUARD_NODE", nodes[i]);
		ck_assert_msg(strstr(field(r.list[i], "VFGUARD_REASON"), "set-id or sticky bits"), "%s",
			      field(r.list[i], "VFGUARD_REASON"));
	}
	expect_outcome(r.list[2], "apply", "refused", "0");
	ck_assert_msg(strstr(field(r.list[2], "MESSAGE"), "nothing was changed"), "%s", field(r.list[2], "MESSAGE"));

	/* a claim refused: the IOMMU group is another domain's */
	ck_assert_int_eq(chmod(test_path(root, "/dev/vfio/devices/vfio0"), 0600), 0);
	ck_assert_int_eq(chmod(test_path(root, "/dev/iommu"), 0660), 0);
	cli_changed((const char *[]){"apply", "--json", DOMAIN_ARGS(root, "vm-owner"), NULL});
	test_cli(&run, (const char *[]){"apply", "--root", root, "--domain", "vm-refused", "--uid", "107", "--gid",
					"107", "--hostdev", "01:00.1", NULL});
	ck_assert_msg(run.status == 1 && strstr(run.err, "belongs to domain vm-owner"), "%d %s", run.status, run.err);
	test_run_free(&run);
	records_of(&r, 5, "vm-refused", NULL);
	ck_assert_uint_eq(r.n, 5);
	expect_field(r.list[3], "MESSAGE_ID", ID_REFUSE);
	expect_field(r.list[3], "VFGUARD_DEVICE", "0000:01:00.1");
	expect_field(r.list[3], "ERRNO", "16"); /* EBUSY */
	expect_no_field(r.list[3], "VFGUARD_LABELER");
	expect_outcome(r.list[4], "apply", "refused", NULL);
	records_free(&r);
	test_root_remove(root);
}
END_TEST

/*
 * An apply whose second change fails (the chown of the cdev, failed by the
 * test build's fault injection, tests/faults/vfg_fault.h): the change made,
 * the failure with its errno, each of the two rolled back, newest first, and
 * the outcome. The intents journaled ahead of the changes never made are
 * undone untold. A failure before any change (the AppArmor rules directory
 * is a file: the intent pass fails) writes the outcome alone.
 */
START_TEST(a_failed_apply_records_the_failure_and_each_change_rolled_back)
{
	const char *root = test_root_new(test_host_gpu);
	changes planned;
	changes_planned(root, "vm-failed", &planned);
	ck_assert_uint_ge(planned.n, 3);
	ck_assert_str_eq(planned.list[0].labeler, "dac");
	ck_assert_str_eq(planned.list[1].labeler, "dac");
	ck_assert_str_eq(planned.list[1].node, "/dev/vfio/devices/vfio0");
	ck_assert_int_eq(setenv("VFGUARD_FAULT", "dac.chown:1:5", 1), 0); /* EIO */
	test_run run;
	test_cli(&run, (const char *[]){"apply", DOMAIN_ARGS(root, "vm-failed"), NULL});
	ck_assert_int_eq(unsetenv("VFGUARD_FAULT"), 0);
	ck_assert_msg(run.status == 1 && strstr(run.err, "Input/output error"), "%d %s", run.status, run.err);
	test_run_free(&run);
	records r = {0};
	records_of(&r, 5, "vm-failed", NULL);
	ck_assert_uint_eq(r.n, 5);
	expect_change(r.list[0], ID_GRANT, "grant", "dac", planned.list[0].node);
	expect_common(r.list[1], "apply", "vm-failed", root);
	expect_field(r.list[1], "MESSAGE_ID", ID_GRANT);
	expect_field(r.list[1], "VFGUARD_RESULT", "failed");
	expect_field(r.list[1], "PRIORITY", "3");
	expect_field(r.list[1], "VFGUARD_LABELER", "dac");
	expect_field(r.list[1], "VFGUARD_NODE", "/dev/vfio/devices/vfio0");
	expect_field(r.list[1], "ERRNO", "5");
	ck_assert_msg(strstr(field(r.list[1], "MESSAGE"), "dac grant of /dev/vfio/devices/vfio0 failed: ") &&
			      strstr(field(r.list[1], "VFGUARD_REASON"), "Input/output error"),
		      "%s", json_object_to_json_string(r.list[1]));
	for (size_t i = 0; i < 2; i++) {
		expect_common(r.list[2 + i], "apply", "vm-failed", root);
		expect_change(r.list[2 + i], ID_ROLLBACK, "rollback", "dac", planned.list[1 - i].node);
	}
	expect_outcome(r.list[4], "apply", "failed", "0");
	expect_field(r.list[4], "ERRNO", "5");

	/* a file where the AppArmor rules directory belongs (as in test_cli) */
	test_write_file(root, "/etc/apparmor.d/vfguard", "in the way\n");
	test_cli(&run, (const char *[]){"apply", DOMAIN_ARGS(root, "vm-failed"), NULL});
	ck_assert_msg(run.status == 1 && strstr(run.err, "Not a directory"), "%d %s", run.status, run.err);
	test_run_free(&run);
	ck_assert_uint_eq(cdev_owner(root), 0);
	records_of(&r, 6, "vm-failed", NULL);
	ck_assert_uint_eq(r.n, 6);
	expect_outcome(r.list[5], "apply", "failed", "0");
	expect_field(r.list[5], "ERRNO", "20"); /* ENOTDIR */
	records_free(&r);
	test_root_remove(root);
}
END_TEST

START_TEST(restore_after_a_crashed_apply_records_each_change_it_undoes)
{
	const char *root = test_root_new(test_host_gpu);
	changes planned;
	changes_planned(root, "vm-crash", &planned);
	/*
	 * Killed at its 12th journal point (tests/faults/journal_fault_point.c:
	 * after each durable write and each change), the apply has journaled
	 * its intents and made some of its changes (the cdev is the VM's); its
	 * records, queued, die with it (docs/records.md).
	 */
	int status = test_cli_killed_at(12, (const char *[]){"apply", DOMAIN_ARGS(root, "vm-crash"), NULL});
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "apply was not killed: status %d", status);
	ck_assert_uint_eq(cdev_owner(root), 107);
	int64_t undone = cli_changed((const char *[]){"restore", "--json", "--root", root, NULL});
	ck_assert_int_gt(undone, 0);
	ck_assert_uint_eq(cdev_owner(root), 0);
	records r = {0};
	records_of(&r, (size_t)undone, "vm-crash", NULL);
	ck_assert_uint_eq(r.n, (size_t)undone);
	for (size_t i = 0; i < r.n; i++) {
		expect_common(r.list[i], "restore", "vm-crash", root);
		bool planned_change = false;
		for (size_t c = 0; c < planned.n; c++)
			if (strcmp(field(r.list[i], "VFGUARD_LABELER"), planned.list[c].labeler) == 0 &&
			    strcmp(field(r.list[i], "VFGUARD_NODE"), planned.list[c].node) == 0) {
				expect_change(r.list[i], ID_RESTORE, "restore", planned.list[c].labeler,
					      planned.list[c].node);
				planned_change = true;
			}
		ck_assert_msg(planned_change, "restored a change apply never planned: %s",
			      json_object_to_json_string(r.list[i]));
	}
	/* the restore's outcome names no domain: it finished the crashed transaction */
	char match[64];
	snprintf(match, sizeof(match), "VFGUARD_ROOT=%s", root);
	records_read(&r, 1, (const char *[]){"VFGUARD_COMMAND=restore", "MESSAGE_ID=" ID_OUTCOME, match, NULL});
	ck_assert_uint_eq(r.n, 1);
	expect_outcome(r.list[0], "restore", "ok", NULL);
	expect_field(r.list[0], "VFGUARD_RECOVERED", "1");
	expect_no_field(r.list[0], "VFGUARD_DOMAIN");
	records_free(&r);
	test_root_remove(root);
}
END_TEST

/*
 * A later boot (docs/boot.md): the domain the earlier boot left is
 * released, one record per change, each named boot-release, and the
 * restore's outcome counts them.
 */
START_TEST(a_boot_release_records_each_change_it_releases)
{
	const char *root = test_root_new(test_host_gpu);
	test_write_file(root, "/proc/sys/kernel/random/boot_id", "6d1b3c5e-2f4a-4c8b-9e0d-1a2b3c4d5e6f\n");
	changes planned;
	changes_planned(root, "vm-boot", &planned);
	cli_changed((const char *[]){"apply", "--json", DOMAIN_ARGS(root, "vm-boot"), NULL});
	test_write_file(root, "/proc/sys/kernel/random/boot_id", "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f\n");
	int64_t released = cli_changed((const char *[]){"restore", "--boot", "--json", "--root", root, NULL});
	/*
	 * A node on a file system every boot starts empty (a tmpfs /tmp, as in
	 * the clean room) is this boot's: its dac and selinux grants are left
	 * alone, recorded so and not counted (vfg_node_boot_gone). On a disk
	 * they are put back like the rest.
	 */
	int dev = open(test_path(root, "/dev"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dev, 0);
	bool boot_fs = vfg_fd_on_boot_fs(dev);
	close(dev);
	size_t put_back = 0;
	for (size_t c = 0; c < planned.n; c++)
		put_back += !(boot_fs && (strcmp(planned.list[c].labeler, "dac") == 0 ||
					  strcmp(planned.list[c].labeler, "selinux") == 0));
	ck_assert_int_eq(released, (int64_t)put_back);
	records r = {0};
	records_of(&r, planned.n, "vm-boot", "VFGUARD_ACTION=boot-release");
	ck_assert_uint_eq(r.n, planned.n);
	for (size_t i = 0; i < r.n; i++) {
		/* newest first: the apply's last change is the first released */
		const change *c = &planned.list[planned.n - 1 - i];
		expect_common(r.list[i], "restore", "vm-boot", root);
		if (boot_fs && (strcmp(c->labeler, "dac") == 0 || strcmp(c->labeler, "selinux") == 0)) {
			expect_field(r.list[i], "VFGUARD_ACTION", "boot-release");
			expect_field(r.list[i], "VFGUARD_RESULT", "left-alone");
			expect_field(r.list[i], "VFGUARD_LABELER", c->labeler);
			expect_field(r.list[i], "VFGUARD_NODE", c->node);
		} else {
			expect_change(r.list[i], ID_BOOT_RELEASE, "boot-release", c->labeler, c->node);
		}
	}
	records_free(&r);
	test_root_remove(root);
}
END_TEST

START_TEST(records_off_writes_none)
{
	const char *root = test_root_new(test_host_gpu);
	int64_t made = cli_changed(
		(const char *[]){"apply", "--json", "--set", "records=off", DOMAIN_ARGS(root, "vm-off"), NULL});
	ck_assert_int_gt(made, 1);
	/* the revoke, with the default (auto), is recorded: the read-back works, and holds no apply */
	cli_changed((const char *[]){"revoke", "--json", "--root", root, "--domain", "vm-off", NULL});
	records r = {0};
	records_of(&r, (size_t)made + 1, "vm-off", NULL);
	ck_assert_uint_eq(r.n, (size_t)made + 1);
	for (size_t i = 0; i < r.n; i++)
		expect_field(r.list[i], "VFGUARD_COMMAND", "revoke");
	records_free(&r);
	test_root_remove(root);
}
END_TEST

/* ---- no journald: a case's own mount namespace ---- */

/* Hide the suite's journald: a tmpfs on /run/systemd, for this test's process and its children. */
static void without_journald(void)
{
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mount("tmpfs", "/run/systemd", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), 0);
}

/* A unix socket of @type bound at @path; closed: a socket file nobody listens at (connect: ECONNREFUSED). */
static int socket_at(const char *path, int type)
{
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	ck_assert_msg(bind(fd, (struct sockaddr *)&address, sizeof(address)) == 0, "bind %s: %s", path,
		      strerror(errno));
	return fd;
}

/*
 * A private /dev: a tmpfs with the few nodes a program expects, so that the
 * test can bind /dev/log without touching the host's /dev.
 */
static void private_dev(void)
{
	ck_assert_int_eq(mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755"), 0);
	const struct {
		const char *name;
		unsigned minor;
	} nodes[] = {{"null", 3}, {"zero", 5}, {"full", 7}, {"random", 8}, {"urandom", 9}};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/%s", nodes[i].name);
		ck_assert_int_eq(mknod(path, S_IFCHR | 0666, makedev(1, nodes[i].minor)), 0);
		ck_assert_int_eq(chmod(path, 0666), 0);
	}
	ck_assert_int_eq(symlink("/proc/self/fd", "/dev/fd"), 0);
}

/* The datagrams waiting at @fd, one per line of @lines (at most @max). */
static size_t syslog_lines(int fd, char lines[][2048], size_t max)
{
	size_t n = 0;
	ssize_t got;
	while (n < max && (got = recv(fd, lines[n], sizeof(lines[n]) - 1, MSG_DONTWAIT)) > 0)
		lines[n++][got] = '\0';
	return n;
}

/*
 * A journald that died (its socket file left, nobody reading) fails every
 * record: apply and revoke still succeed, each change made and undone, and
 * the notes say what was not told.
 */
START_TEST(a_failing_journald_fails_no_command)
{
	without_journald();
	ck_assert_int_eq(mkdir("/run/systemd/journal", 0755), 0);
	close(socket_at("/run/systemd/journal/socket", SOCK_DGRAM));
	const char *root = test_root_new(test_host_gpu);
	private_dev(); /* no /dev/log: auto has nowhere else to go */
	for (int forced = 0; forced < 2; forced++) {
		const char *mode = forced ? "records=journal" : "records=auto";
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--json", "--set", mode, DOMAIN_ARGS(root, "vm-lost"), NULL});
		ck_assert_msg(run.status == 0, "%s: apply exit %d: %s", mode, run.status, run.err);
		ck_assert_msg(strstr(run.out, "records: ") && strstr(run.out, "host records not written (journald: "
									      "Connection refused)"),
			      "%s: %s", mode, run.out);
		ck_assert_uint_eq(cdev_owner(root), 107);
		test_run_free(&run);
		test_cli(&run, (const char *[]){"revoke", "--set", mode, "--root", root, "--domain", "vm-lost", NULL});
		ck_assert_msg(run.status == 0 && strstr(run.out, "4 changes undone") &&
				      strstr(run.out, "journald: Connection refused"),
			      "%s: revoke exit %d: %s%s", mode, run.status, run.out, run.err);
		ck_assert_uint_eq(cdev_owner(root), 0);
		test_run_free(&run);
	}
	test_root_remove(root);
}
END_TEST

START_TEST(without_journald_the_records_go_to_syslog_with_the_fields_in_the_text)
{
	without_journald();
	const char *root = test_root_new(test_host_gpu);
	changes planned;
	changes_planned(root, "vm-syslog", &planned);
	private_dev();
	int log = socket_at("/dev/log", SOCK_DGRAM);
	int64_t made = cli_changed((const char *[]){"apply", "--json", DOMAIN_ARGS(root, "vm-syslog"), NULL});
	ck_assert_int_eq(made, (int64_t)planned.n);
	static char lines[64][2048];
	size_t n = syslog_lines(log, lines, 64);
	ck_assert_uint_eq(n, planned.n + 1);
	for (size_t i = 0; i < planned.n; i++) {
		char expect[1024];
		snprintf(expect, sizeof(expect),
			 "]: domain vm-syslog: %s granted %s [MESSAGE_ID=" ID_GRANT
			 " VFGUARD_COMMAND=apply VFGUARD_ACTION=grant VFGUARD_RESULT=ok VFGUARD_DOMAIN=vm-syslog "
			 "VFGUARD_LABELER=%s VFGUARD_NODE=%s VFGUARD_ROOT=%s]",
			 planned.list[i].labeler, planned.list[i].node, planned.list[i].labeler, planned.list[i].node,
			 root);
		ck_assert_msg(strncmp(lines[i], SYSLOG_NOTICE, strlen(SYSLOG_NOTICE)) == 0, "%s", lines[i]);
		ck_assert_msg(strstr(lines[i], " vfguard[") && strstr(lines[i], expect), "%s\nexpected %s", lines[i],
			      expect);
	}
	ck_assert_msg(strncmp(lines[planned.n], SYSLOG_INFO, strlen(SYSLOG_INFO)) == 0 &&
			      strstr(lines[planned.n], "domain vm-syslog: apply done: ") &&
			      strstr(lines[planned.n], "MESSAGE_ID=" ID_OUTCOME) &&
			      strstr(lines[planned.n], "VFGUARD_CHANGED="),
		      "%s", lines[planned.n]);

	/* records=journal where there is none: nothing sent, the notes say so, the revoke is made */
	test_run run;
	test_cli(&run,
		 (const char *[]){"revoke", "--set", "records=journal", "--root", root, "--domain", "vm-syslog", NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "(journald: No such file or directory)"), "%d %s%s",
		      run.status, run.out, run.err);
	test_run_free(&run);
	ck_assert_uint_eq(syslog_lines(log, lines, 64), 0);
	ck_assert_uint_eq(cdev_owner(root), 0);
	close(log);
	test_root_remove(root);
}
END_TEST

static Suite *records_suite(void)
{
	Suite *s = suite_create("records");
	TCase *tc = tcase_create("journald");
	tcase_add_unchecked_fixture(tc, test_cgroup_runner_setup, test_cgroup_runner_teardown);
	tcase_add_test(tc, apply_and_revoke_write_one_record_per_change_with_every_field);
	tcase_add_test(tc, a_value_with_a_newline_reaches_journald_whole);
	tcase_add_test(tc, a_running_vm_s_cgroup_and_namespace_changes_are_recorded_too);
	tcase_add_test(tc, a_refused_apply_writes_one_record_per_refusal_and_no_grant);
	tcase_add_test(tc, a_failed_apply_records_the_failure_and_each_change_rolled_back);
	tcase_add_test(tc, restore_after_a_crashed_apply_records_each_change_it_undoes);
	tcase_add_test(tc, a_boot_release_records_each_change_it_releases);
	tcase_add_test(tc, records_off_writes_none);
	suite_add_tcase(s, tc);
	tc = tcase_create("without journald");
	tcase_add_test(tc, a_failing_journald_fails_no_command);
	tcase_add_test(tc, without_journald_the_records_go_to_syslog_with_the_fields_in_the_text);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	private_run();
	pid_t journald = journald_start();
	int status = test_main(records_suite());
	kill(journald, SIGTERM);
	waitpid(journald, NULL, 0);
	return status;
}
