/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection (docs/testing.md, "Fault injection"): every call that
 * changes the host or the journal fails in turn, and each failure must end
 * in a clear one-line error with the host byte-exact as before, or in the
 * complete change; never in between.
 *
 * The host is test_audit's: one domain applied by the CLI with every
 * labeler active (DAC, a real v1 devices cgroup and a cgroup2 child with
 * vfguard's device program, SELinux labels as xattrs with selinux = force,
 * an AppArmor rules file whose large original goes to the store, the
 * entries in the VM's private /dev, its RLIMIT_MEMLOCK). A first run of each
 * command with VFGUARD_FAULT_LOG counts its passes at every site
 * (tests/faults/vfg_fault.h); then each pass fails once, with each errno
 * the site's kind calls for (ENOSPC and EIO where the journal or the state
 * is written, EPERM and EBUSY where a layer is changed), and the whole host
 * is compared: the tree (content, owners, modes, xattrs), the VM's /dev,
 * both cgroups' rules, the VM's limit, and the journal.
 *
 * - apply: a failure before the commit line is written undoes everything
 *   (the host as before, no journal); one after it leaves the complete,
 *   committed change, and says so.
 * - revoke: the host is never granted more than before; a revoke cut short
 *   leaves its transaction open, which says "run vfguard restore", and a
 *   restore finishes it to the host as before the apply.
 * - restore of an apply killed halfway: finishes, or fails leaving what a
 *   second restore finishes.
 * - a disk that stays full (every journal write and sync from the Nth on).
 * - a managed hostdev: the driver writes of its detach, and reattach.
 *
 * Under the sanitizers (the same suite, build-asan) each pass fails with
 * one errno of its kind, not two: the runs are ten times slower there.
 */
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "cgroup_testlib.h"
#include "testlib.h"

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)

static const char host[] = "misc vfio 234:196\n"
			   "misc iommu 234:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci "
			   "cdev=vfio1:511:1\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=e1000e "
			   "cdev=vfio2:511:2\n";

static const char config[] = "labelers = dac cgroup selinux apparmor\n"
			     "selinux = force\n"
			     "memlock_extra = 1M\n"
			     "cgroup_base_devices = c 1:3 rw\n";

#define VM1_RULES "/etc/apparmor.d/vfguard/vfguard-vm1"
#define JOURNAL "/run/vfguard/domains/vm1.journal"
#define STORE "/run/vfguard/domains/vm1.store"

/* ---- the host ---- */

typedef struct fixture {
	const char *root;
	char v1[256], v2[256];
	test_vm vm;
	char pid_text[16];
	char log[512]; /* VFGUARD_FAULT_LOG */
	char *before; /* the host before the apply */
	char *granted; /* the host after it */
} fixture;

/*
 * An original rules file larger than an undo text holds, so the AppArmor
 * labeler saves it in the store (docs/journal.md, "The store"): the store's
 * writes are among the calls failed.
 */
static void rules_file_write(const fixture *f)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	fputs("# rules an administrator keeps here; vfguard must put them back byte for byte\n", out);
	for (int i = 0; i < 200; i++)
		fprintf(out, "  /srv/images/disk-%03d.qcow2 rwk,\n", i);
	fclose(out);
	test_write_file(f->root, VM1_RULES, text);
	free(text);
}

static void run_ok(const char *const *argv, const char *why);

static void fixture_open(fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->root = test_root_new(host);
	ck_assert_int_eq(chmod(f->root, 0755), 0);
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", config);
	rules_file_write(f);
	ck_assert_int_ge(test_cgroup_make_own(TEST_CGROUP_V1, f->v1, sizeof(f->v1)), 0);
	ck_assert_int_ge(test_cgroup_make_own(TEST_CGROUP_V2, f->v2, sizeof(f->v2)), 0);
	test_cgroup_write(f->v1, "devices.deny", "a");
	test_cgroup_write(f->v1, "devices.allow", "c 1:3 rwm");
	test_vm_start(&f->vm, f->root, (const char *[]){f->v1, f->v2, NULL});
	snprintf(f->pid_text, sizeof(f->pid_text), "%d", (int)f->vm.pid);
	snprintf(f->log, sizeof(f->log), "%s.faults", f->root);
	/*
	 * A boot of its own (docs/boot.md), its STATE/boot written here by a
	 * restore: the census and every run after it are of that one boot, and
	 * none writes STATE/boot, so each meets the same calls.
	 */
	test_write_file(f->root, VFG_BOOT_ID_PATH, "6d1b3c5e-2f4a-4c8b-9e0d-1a2b3c4d5e6f\n");
	run_ok((const char *[]){"restore", "--boot", "--root", f->root, NULL}, "the fixture's first restore");
	char *boot = test_read_file(f->root, "/run/vfguard/boot");
	ck_assert_msg(boot && strcmp(boot, "6d1b3c5e-2f4a-4c8b-9e0d-1a2b3c4d5e6f\n") == 0, "STATE/boot: %s", boot);
	free(boot);
}

static void fixture_close(fixture *f)
{
	test_vm_stop(&f->vm);
	test_cgroup_detach_all(f->v2);
	ck_assert_msg(rmdir(f->v1) == 0, "rmdir %s: %s", f->v1, strerror(errno));
	ck_assert_msg(rmdir(f->v2) == 0, "rmdir %s: %s", f->v2, strerror(errno));
	unlink(f->log);
	free(f->before);
	free(f->granted);
	test_root_remove(f->root);
}

/* The VM's limit: the line of /proc/PID/limits. */
static char *limit_line(const fixture *f)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)f->vm.pid);
	char *text = test_read_nonempty(path);
	char *line = strstr(text, "Max locked memory");
	ck_assert_ptr_nonnull(line);
	char *copy = strndup(line, strcspn(line, "\n"));
	free(text);
	return copy;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The rules of vfguard's program on the cgroup2 child, "none" without one. */
static char *v2_rules(const fixture *f)
{
	int cgroup_fd = open(f->v2, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(cgroup_fd, 0);
	__u32 ids[8], n = 8, flags = 0;
	ck_assert_int_eq(bpf_prog_query(cgroup_fd, BPF_CGROUP_DEVICE, 0, &flags, ids, &n), 0);
	close(cgroup_fd);
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	fprintf(out, "programs %u\n", n);
	for (__u32 i = 0; i < n; i++) {
		int fd = bpf_prog_get_fd_by_id(ids[i]);
		ck_assert_int_ge(fd, 0);
		__u32 map_ids[4];
		struct bpf_prog_info info = {.nr_map_ids = 4, .map_ids = (__u64)(uintptr_t)map_ids};
		__u32 len = sizeof(info);
		ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		close(fd);
		ck_assert_uint_eq(info.nr_map_ids, 1);
		int map_fd = bpf_map_get_fd_by_id(map_ids[0]);
		ck_assert_int_ge(map_fd, 0);
		struct {
			__u32 type, major, minor;
		} key, next;
		struct {
			__u32 access, flags;
		} value;
		const void *at = NULL;
		for (; bpf_map_get_next_key(map_fd, at, &next) == 0; at = &key) {
			key = next;
			ck_assert_int_eq(bpf_map_lookup_elem(map_fd, &key, &value), 0);
			fprintf(out, "%s %u %u:%u %u %u\n", info.name, key.type, key.major, key.minor, value.access,
				value.flags);
		}
		close(map_fd);
	}
	fclose(out);
	/* a hash map's order is the kernel's, not the rules': sorted, so two equal maps compare equal */
	char *lines[64];
	size_t n_lines = 0;
	for (char *line = strtok(text, "\n"); line && n_lines < 64; line = strtok(NULL, "\n"))
		lines[n_lines++] = line;
	qsort(lines, n_lines, sizeof(lines[0]), compare_strings);
	char *sorted = NULL;
	size = 0;
	out = open_memstream(&sorted, &size);
	for (size_t i = 0; i < n_lines; i++)
		fprintf(out, "%s\n", lines[i]);
	fclose(out);
	free(text);
	return sorted;
}

/*
 * Everything vfguard may change, as text: the tree (without the state
 * directory, checked apart), the VM's /dev, the v1 list, the v2 rules, the limit.
 */
static char *host_state(const fixture *f)
{
	char dev[4096];
	snprintf(dev, sizeof(dev), "/proc/%d/root%s/dev", (int)f->vm.pid, f->root);
	char *tree = test_snapshot(f->root, TEST_SNAPSHOT_NO_STATE | TEST_SNAPSHOT_CONTENT);
	char *inside = test_snapshot(dev, TEST_SNAPSHOT_CONTENT | TEST_SNAPSHOT_NO_NODES_OK);
	char list_path[512];
	snprintf(list_path, sizeof(list_path), "%s/devices.list", f->v1);
	char *v1 = test_read_nonempty(list_path);
	char *v2 = v2_rules(f);
	char *limit = limit_line(f);
	char *text = NULL;
	ck_assert_int_ge(asprintf(&text, "== tree\n%s== the VM's /dev\n%s== v1\n%s== v2\n%s== limit\n%s\n", tree,
				  inside, v1, v2, limit),
			 0);
	free(tree);
	free(inside);
	free(v1);
	free(v2);
	free(limit);
	return text;
}

/* The first line where @a and @b differ, with a little around it, for a failure's message. */
static const char *first_difference(const char *a, const char *b)
{
	static char out[2048];
	size_t i = 0, line = 0;
	while (a[i] && a[i] == b[i]) {
		if (a[i] == '\n')
			line = i + 1;
		i++;
	}
	snprintf(out, sizeof(out), "expected:\n%.400s\n---\nfound:\n%.400s", a + line, b + line);
	return out;
}

static bool exists(const fixture *f, const char *logical)
{
	return access(test_path(f->root, logical), F_OK) == 0;
}

/* ---- running the CLI, with and without a fault ---- */

static const char *const *apply_argv(const fixture *f)
{
	static const char *argv[32];
	const char *const args[] = {"apply", "--root", f->root, "--domain", "vm1", "--uid", "107", "--gid", "107",
				    "--pid", f->pid_text, "--memory", "2M", "--hostdev", "01:00.0,backend=legacy",
				    /* fixed: selinux = force would pick a new random MCS pair each apply */
				    "--selinux-label", "system_u:system_r:svirt_t:s0:c1,c2", "--selinux-image-label",
				    "system_u:object_r:svirt_image_t:s0:c1,c2", NULL};
	memcpy(argv, args, sizeof(args));
	return argv;
}

static const char *const *revoke_argv(const fixture *f)
{
	static const char *argv[8];
	const char *const args[] = {"revoke", "--root", f->root, "--domain", "vm1", NULL};
	memcpy(argv, args, sizeof(args));
	return argv;
}

static const char *const *restore_argv(const fixture *f)
{
	static const char *argv[8];
	const char *const args[] = {"restore", "--root", f->root, NULL};
	memcpy(argv, args, sizeof(args));
	return argv;
}

static void run_ok(const char *const *argv, const char *why)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "vfguard %s (%s): exit %d\n%s%s", argv[0], why, run.status, run.out, run.err);
	test_run_free(&run);
}

/* A pass at a site: "SITE N" of the log. */
typedef struct fault_pass {
	char site[64];
	unsigned long n;
} fault_pass;

typedef struct census {
	fault_pass *passes;
	size_t n;
} census;

/*
 * Every run is its boot's first to write to a v1 cgroup: the boot's answer of
 * where the devices hierarchy is (cgroup_hold.c) is dropped before each, so
 * each asks libcgroup, meets the same calls, and the module's load is among
 * the faults.
 */
static void v1_answer_forget(const fixture *f)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/run/vfguard/cgroup-v1-devices", f->root);
	ck_assert(unlink(path) == 0 || errno == ENOENT);
}

/* Run @argv with VFGUARD_FAULT_LOG and collect its passes, each once, in the order first met. */
static census census_take(const fixture *f, const char *const *argv)
{
	v1_answer_forget(f);
	unlink(f->log);
	setenv("VFGUARD_FAULT_LOG", f->log, 1);
	run_ok(argv, "the census, no fault");
	unsetenv("VFGUARD_FAULT_LOG");
	char *text = test_read_nonempty(f->log);
	census c = {0};
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		fault_pass p = {0};
		ck_assert_msg(sscanf(line, "%63s %lu", p.site, &p.n) == 2, "log line '%s'", line);
		bool seen = false;
		for (size_t i = 0; i < c.n && !seen; i++)
			seen = strcmp(c.passes[i].site, p.site) == 0 && c.passes[i].n == p.n;
		if (seen)
			continue;
		c.passes = realloc(c.passes, (c.n + 1) * sizeof(*c.passes));
		c.passes[c.n++] = p;
	}
	free(text);
	unlink(f->log);
	return c;
}

/* The errnos a site fails with: the journal's and the state's (a disk) or a layer's (the kernel refuses). */
static size_t site_errnos(const char *site, int errnos[2])
{
	static const char *const disk[] = {"journal.", "util.", "state.", "store.", "holders.", "lock."};
	bool on_disk = false;
	for (size_t i = 0; i < sizeof(disk) / sizeof(disk[0]); i++)
		on_disk = on_disk || strncmp(site, disk[i], strlen(disk[i])) == 0;
	/* EPERM and EACCES from removing a label are what an enforcing policy says: the labeler then sets the default
	 */
	if (strcmp(site, "selinux.label_remove") == 0) {
		errnos[0] = EIO;
		errnos[1] = EBUSY;
		return 2;
	}
	/* EBUSY, ENOTEMPTY and EEXIST from removing an entry's directory mean something else lives there: it stays */
	if (strcmp(site, "namespace.rmdir") == 0) {
		errnos[0] = EPERM;
		errnos[1] = EIO;
		return 2;
	}
	if (strstr(site, "dlopen")) {
		errnos[0] = ENOENT;
		return 1;
	}
	errnos[0] = on_disk ? ENOSPC : EPERM;
	errnos[1] = on_disk ? EIO : EBUSY;
#if defined(__SANITIZE_ADDRESS__)
	return 1;
#else
	return 2;
#endif
}

typedef struct outcome {
	int status;
	char *err;
	bool met; /* the log shows the fault was met */
} outcome;

/* Run @argv with the @n-th pass at @site failing with @errnum (every pass from it on when @sticky). */
static outcome run_faulted(const fixture *f, const char *const *argv, const char *site, unsigned long n, int errnum,
			   bool sticky)
{
	char spec[128];
	snprintf(spec, sizeof(spec), "%s:%lu:%d%s", site, n, errnum, sticky ? ":all" : "");
	v1_answer_forget(f);
	unlink(f->log);
	setenv("VFGUARD_FAULT", spec, 1);
	setenv("VFGUARD_FAULT_LOG", f->log, 1);
	test_run run;
	test_cli(&run, argv);
	unsetenv("VFGUARD_FAULT");
	unsetenv("VFGUARD_FAULT_LOG");
	char *log = test_read_file("/", f->log);
	char failed[96];
	snprintf(failed, sizeof(failed), "%s %lu failed\n", site, n);
	outcome o = {.status = run.status, .err = strdup(run.err), .met = log && strstr(log, failed)};
	free(log);
	ck_assert_msg(run.status == 0 || run.status == 1, "%s with %s: exit %d (a crash?)\n%s", argv[0], spec,
		      run.status, run.err);
	/* a failure is one line naming what failed; a success says nothing on stderr but notes */
	if (run.status != 0) {
		size_t lines = 0;
		for (const char *c = run.err; *c; c++)
			lines += *c == '\n';
		ck_assert_msg(lines == 1 && strncmp(run.err, "vfguard: ", 9) == 0,
			      "%s with %s: the error is not one line 'vfguard: ...':\n%s", argv[0], spec, run.err);
		ck_assert_msg(strstr(run.err, strerror(errnum)) || strstr(site, "dlopen"),
			      "%s with %s: the error does not give the reason (%s):\n%s", argv[0], spec,
			      strerror(errnum), run.err);
	}
	test_run_free(&run);
	return o;
}

typedef struct tally {
	size_t runs, undone, completed, committed_after, tolerated, finished_by_restore, sites_met;
} tally;

static void tally_print(const char *what, const census *c, const tally *t)
{
	fprintf(stderr,
		"faults (%s): %zu passes, %zu runs: %zu undone to the host before, %zu complete with the error "
		"after the commit, %zu tolerated (exit 0, complete), %zu complete, %zu finished by restore\n",
		what, c->n, t->runs, t->undone, t->committed_after, t->tolerated, t->completed, t->finished_by_restore);
}

/* ---- apply ---- */

/*
 * @o the outcome of a faulted apply: the host as before and no journal, or
 * the whole change (exit 0, or an error saying it is committed); put back to
 * before for the next run.
 */
static void apply_outcome_check(fixture *f, const outcome *o, const char *spec, tally *t)
{
	char *now = host_state(f);
	if (strcmp(now, f->before) == 0) {
		ck_assert_msg(o->status != 0, "apply with %s: exit 0, yet nothing was granted", spec);
		char *left = test_read_file(f->root, JOURNAL);
		ck_assert_msg(!exists(f, JOURNAL) && !exists(f, STORE),
			      "apply with %s failed and undid everything, yet left its journal (%s) or store (%d):\n%s",
			      spec, left ? left : "none", exists(f, STORE), o->err);
		free(left);
		t->undone++;
	} else {
		ck_assert_msg(strcmp(now, f->granted) == 0,
			      "apply with %s: the host is neither as before nor as granted (%s):\n%s", spec, o->err,
			      first_difference(f->granted, now));
		if (o->status == 0)
			t->tolerated++;
		else {
			ck_assert_msg(strstr(o->err, "complete and committed"),
				      "apply with %s failed, yet the change is whole; the error should say so:\n%s",
				      spec, o->err);
			t->committed_after++;
		}
		run_ok(revoke_argv(f), spec);
		char *after = host_state(f);
		ck_assert_msg(strcmp(after, f->before) == 0, "revoke after apply with %s:\n%s", spec,
			      first_difference(f->before, after));
		free(after);
	}
	ck_assert_msg(!exists(f, JOURNAL), "after apply with %s and what followed, a journal is left", spec);
	free(now);
}

START_TEST(every_failing_call_of_an_apply_ends_before_or_complete)
{
	fixture f;
	fixture_open(&f);
	f.before = host_state(&f);
	census c = census_take(&f, apply_argv(&f));
	f.granted = host_state(&f);
	ck_assert_msg(strcmp(f.before, f.granted) != 0, "the apply changed nothing to fail");
	run_ok(revoke_argv(&f), "after the census");
	tally t = {0};
	for (size_t i = 0; i < c.n; i++) {
		int errnos[2];
		size_t n_errnos = site_errnos(c.passes[i].site, errnos);
		for (size_t e = 0; e < n_errnos; e++) {
			outcome o = run_faulted(&f, apply_argv(&f), c.passes[i].site, c.passes[i].n, errnos[e], false);
			char spec[128];
			snprintf(spec, sizeof(spec), "%s:%lu:%s", c.passes[i].site, c.passes[i].n, strerror(errnos[e]));
			ck_assert_msg(o.met, "apply with %s: the fault was never met (the census said it would be)",
				      spec);
			apply_outcome_check(&f, &o, spec, &t);
			t.runs++;
			free(o.err);
		}
	}
	tally_print("apply", &c, &t);
	ck_assert_uint_ge(c.n, 40);
	ck_assert_uint_ge(t.undone, t.runs / 2);
	free(c.passes);
	fixture_close(&f);
}
END_TEST

/* ---- revoke ---- */

START_TEST(every_failing_call_of_a_revoke_never_grants_and_restore_finishes_it)
{
	fixture f;
	fixture_open(&f);
	f.before = host_state(&f);
	run_ok(apply_argv(&f), "the apply");
	f.granted = host_state(&f);
	census c = census_take(&f, revoke_argv(&f));
	tally t = {0};
	for (size_t i = 0; i < c.n; i++) {
		int errnos[2];
		size_t n_errnos = site_errnos(c.passes[i].site, errnos);
		for (size_t e = 0; e < n_errnos; e++) {
			char spec[128];
			snprintf(spec, sizeof(spec), "%s:%lu:%s", c.passes[i].site, c.passes[i].n, strerror(errnos[e]));
			run_ok(apply_argv(&f), spec);
			outcome o = run_faulted(&f, revoke_argv(&f), c.passes[i].site, c.passes[i].n, errnos[e], false);
			ck_assert_msg(o.met, "revoke with %s: the fault was never met", spec);
			char *now = host_state(&f);
			t.runs++;
			if (o.status == 0) {
				ck_assert_msg(strcmp(now, f.before) == 0,
					      "revoke with %s: exit 0, host not as before:\n%s", spec,
					      first_difference(f.before, now));
				ck_assert_msg(!exists(&f, JOURNAL), "revoke with %s: exit 0, journal left", spec);
				t.tolerated++;
			} else if (strcmp(now, f.granted) == 0) {
				/* failed before it changed anything: the domain holds all it held */
				t.undone++;
				run_ok(revoke_argv(&f), spec);
			} else if (strcmp(now, f.before) == 0 && !strstr(o.err, "vfguard restore")) {
				ck_assert_msg(strstr(o.err, "complete and committed"),
					      "revoke with %s failed, yet it is whole; the error should say so:\n%s",
					      spec, o.err);
				/* a committed journal that holds nothing, left by a failed removal, goes with the next
				 * command */
				if (exists(&f, JOURNAL))
					run_ok(restore_argv(&f), spec);
				t.committed_after++;
			} else {
				/*
				 * cut short: what is left is journaled, and restore takes it back
				 * (also a change undone whose durability failed: undo is idempotent)
				 */
				ck_assert_msg(strstr(o.err, "vfguard restore"),
					      "revoke with %s stopped halfway without saying how to finish:\n%s", spec,
					      o.err);
				ck_assert_msg(exists(&f, JOURNAL),
					      "revoke with %s stopped halfway, and no journal says what is left", spec);
				run_ok(restore_argv(&f), spec);
				t.finished_by_restore++;
			}
			free(now);
			now = host_state(&f);
			ck_assert_msg(strcmp(now, f.before) == 0, "after revoke with %s and what followed:\n%s", spec,
				      first_difference(f.before, now));
			ck_assert_msg(!exists(&f, JOURNAL), "after revoke with %s and what followed, a journal is left",
				      spec);
			free(now);
			free(o.err);
		}
	}
	tally_print("revoke", &c, &t);
	ck_assert_uint_ge(c.n, 20);
	free(c.passes);
	fixture_close(&f);
}
END_TEST

/* ---- restore of a crashed apply ---- */

/* The apply killed at its journal point @point: some changes made, its transaction open. */
static void apply_killed(const fixture *f, unsigned point)
{
	int status = test_cli_killed_at(point, apply_argv(f));
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the apply was not killed at point %u",
		      point);
}

START_TEST(every_failing_call_of_a_restore_leaves_what_a_restore_finishes)
{
	fixture f;
	fixture_open(&f);
	f.before = host_state(&f);
	/* a point after some of every layer's changes, before the commit */
	const unsigned point = 20;
	apply_killed(&f, point);
	char *killed = host_state(&f);
	ck_assert_msg(strcmp(killed, f.before) != 0, "the apply killed at point %u had changed nothing", point);
	free(killed);
	census c = census_take(&f, restore_argv(&f));
	tally t = {0};
	for (size_t i = 0; i < c.n; i++) {
		int errnos[2];
		size_t n_errnos = site_errnos(c.passes[i].site, errnos);
		for (size_t e = 0; e < n_errnos; e++) {
			char spec[128];
			snprintf(spec, sizeof(spec), "%s:%lu:%s", c.passes[i].site, c.passes[i].n, strerror(errnos[e]));
			apply_killed(&f, point);
			outcome o =
				run_faulted(&f, restore_argv(&f), c.passes[i].site, c.passes[i].n, errnos[e], false);
			ck_assert_msg(o.met, "restore with %s: the fault was never met", spec);
			t.runs++;
			if (o.status == 0)
				t.tolerated++;
			else {
				run_ok(restore_argv(&f), spec);
				t.finished_by_restore++;
			}
			char *now = host_state(&f);
			ck_assert_msg(strcmp(now, f.before) == 0, "after restore with %s and what followed:\n%s", spec,
				      first_difference(f.before, now));
			ck_assert_msg(!exists(&f, JOURNAL), "after restore with %s, a journal is left", spec);
			free(now);
			free(o.err);
		}
	}
	tally_print("restore", &c, &t);
	ck_assert_uint_ge(c.n, 8);
	free(c.passes);
	fixture_close(&f);
}
END_TEST

/* ---- a full disk ---- */

START_TEST(a_disk_that_stays_full_from_any_journal_write_on)
{
	fixture f;
	fixture_open(&f);
	f.before = host_state(&f);
	census c = census_take(&f, apply_argv(&f));
	f.granted = host_state(&f);
	run_ok(revoke_argv(&f), "after the census");
	tally t = {0};
	for (size_t i = 0; i < c.n; i++) {
		const char *site = c.passes[i].site;
		if (strcmp(site, "journal.write") != 0 && strcmp(site, "journal.sync") != 0)
			continue;
		char spec[128];
		snprintf(spec, sizeof(spec), "%s:%lu:ENOSPC:all", site, c.passes[i].n);
		outcome o = run_faulted(&f, apply_argv(&f), site, c.passes[i].n, ENOSPC, true);
		ck_assert_msg(o.met, "apply with %s: the fault was never met", spec);
		t.runs++;
		char *now = host_state(&f);
		if (strcmp(now, f.before) != 0) {
			/* the undo could not be journaled either: the host and journal must say so and restore must
			 * finish it */
			ck_assert_msg(o.status != 0, "apply with %s: exit 0 on a full disk", spec);
			ck_assert_msg(strstr(o.err, "vfguard restore") || strstr(o.err, "complete and committed"),
				      "apply with %s left changes without saying what to do:\n%s", spec, o.err);
			run_ok(strstr(o.err, "complete and committed") ? revoke_argv(&f) : restore_argv(&f), spec);
			t.finished_by_restore++;
		} else {
			ck_assert_msg(o.status != 0, "apply with %s: exit 0, yet nothing granted", spec);
			/* the full disk kept the transaction from closing: the error says so, and restore closes it */
			if (exists(&f, JOURNAL)) {
				ck_assert_msg(strstr(o.err, "vfguard restore"),
					      "apply with %s left its journal open silently:\n%s", spec, o.err);
				run_ok(restore_argv(&f), spec);
			}
			t.undone++;
		}
		free(now);
		now = host_state(&f);
		ck_assert_msg(strcmp(now, f.before) == 0, "after apply with %s and what followed:\n%s", spec,
			      first_difference(f.before, now));
		ck_assert_msg(!exists(&f, JOURNAL), "after apply with %s and what followed, a journal is left", spec);
		free(now);
		free(o.err);
	}
	tally_print("apply, disk full from a write on", &c, &t);
	ck_assert_uint_ge(t.runs, 3);
	free(c.passes);
	fixture_close(&f);
}
END_TEST

static void runner_setup(void)
{
	test_cgroup_runner_setup();
}

static void runner_teardown(void)
{
	test_cgroup_runner_teardown();
}

static Suite *faults_suite(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");
	tcase_add_unchecked_fixture(tc, runner_setup, runner_teardown);
	tcase_set_timeout(tc, 1800);
	tcase_add_test(tc, every_failing_call_of_an_apply_ends_before_or_complete);
	tcase_add_test(tc, every_failing_call_of_a_revoke_never_grants_and_restore_finishes_it);
	tcase_add_test(tc, every_failing_call_of_a_restore_leaves_what_a_restore_finishes);
	tcase_add_test(tc, a_disk_that_stays_full_from_any_journal_write_on);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(faults_suite());
}
