/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfguard audit over every layer at once, for real: one generated host, one
 * domain applied with all labelers active (DAC, a v1 devices cgroup and a
 * cgroup2 child with vfguard's device program, SELinux labels as xattrs with
 * selinux = force, an AppArmor rules file, the entries in the VM's private
 * /dev, its RLIMIT_MEMLOCK), and the CLI's verdict. Each test plants drift
 * the way an administrator or another tool would, in one layer, and expects
 * exit 3 with exactly that layer's findings; undoing the plant makes the
 * audit clean again.
 *
 * The VM is a child process: in a v1 devices cgroup (deny all, /dev/null
 * allowed) and a cgroup2 child, both named vfgaudit-test-RUNNERPID-TESTPID,
 * in its own mount namespace with a tmpfs at ROOT/dev, with RLIMIT_MEMLOCK
 * 64 KiB soft, 8 MiB hard and without CAP_IPC_LOCK. It exits when the test
 * process goes away (its command pipe closes); the unchecked fixture, in the
 * runner, kills what is left in those cgroups and removes them, and the
 * roots its tests made, also after a failure.
 */
#include <bpf/bpf.h>
#include <dirent.h>
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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_testlib.h"
#include "json_testlib.h"
#include "prometheus_testlib.h"
#include "testlib.h"

#define V1_MOUNT TEST_CGROUP_V1
#define V2_MOUNT TEST_CGROUP_V2

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)

/*
 * Group 7 holds the GPU (vm1's) and its audio function, both on vfio-pci;
 * group 8 a NIC (vm2's). Majors no driver serves: nothing is ever opened.
 */
static const char host[] = "misc vfio 234:196\n"
			   "misc iommu 234:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci "
			   "cdev=vfio1:511:1\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio2:511:2\n";

static const char config[] = "labelers = dac cgroup selinux apparmor\n"
			     "selinux = force\n"
			     "memlock_extra = 1M\n"
			     "cgroup_base_devices = c 1:3 rw\n";

#define CONTAINER "/dev/vfio/vfio"
#define GROUP7 "/dev/vfio/7"
#define GROUP7_MAJOR 243
#define GROUP7_MINOR 0
#define VM1_HOSTDEV "01:00.0,backend=legacy"
#define VM2_HOSTDEV "02:00.0,backend=legacy"
/* Neither a uuid nor a profile: the rules file is named vfguard-NAME (docs/apparmor.md). */
#define VM1_RULES "/etc/apparmor.d/vfguard/vfguard-vm1"
#define GPU_SYSFS "/sys/devices/pci0000:01/0000:01:00.0"
#define AUDIO_SYSFS "/sys/devices/pci0000:01/0000:01:00.1"

/* The VM's need: 1 x 2 MiB of guest RAM + memlock_extra 1 MiB (docs/memlock.md). */
#define VM_MEMORY "2M"
#define VM_NEED (3 * MiB)

static pid_t runner;

/* ---- cgroups, and their cleanup in the runner ---- */

static void cgroup_dir(char *buf, size_t size, const char *mount)
{
	snprintf(buf, size, "%s/vfgaudit-test-%d-%d", mount, (int)runner, (int)getpid());
}

static void cleanup_cgroups(void)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "vfgaudit-test-%d-", (int)runner);
	test_cgroup_remove_prefixed(prefix);
}

/* The roots this runner's tests made carry this file; a failed test leaves its root for the runner to remove. */
static void root_marker(char *buf, size_t size)
{
	snprintf(buf, size, "/.vfgaudit-runner-%d", (int)runner);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	remove(path);
	return 0; /* go on: remove what can be removed */
}

static void cleanup_roots(void)
{
	char marker[64];
	root_marker(marker, sizeof(marker));
	DIR *d = opendir("/tmp");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		char root[512], path[1024];
		snprintf(root, sizeof(root), "/tmp/%s", e->d_name);
		snprintf(path, sizeof(path), "%s%s", root, marker);
		if (strncmp(e->d_name, "vfguard-test-", 13) == 0 && access(path, F_OK) == 0)
			nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
	closedir(d);
}

static void runner_setup(void)
{
	runner = getpid();
	cleanup_cgroups();
}

static void runner_teardown(void)
{
	cleanup_cgroups();
	cleanup_roots();
}

/* The map of vfguard's program on @dir (the caller closes it); -1 when no vfguard program is attached. */
static int vfguard_map(const char *dir)
{
	int cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(cgroup_fd, 0);
	__u32 ids[64], n = 64, flags = 0;
	ck_assert_int_eq(bpf_prog_query(cgroup_fd, BPF_CGROUP_DEVICE, 0, &flags, ids, &n), 0);
	close(cgroup_fd);
	int map_fd = -1;
	for (__u32 i = 0; i < n && map_fd < 0; i++) {
		int fd = bpf_prog_get_fd_by_id(ids[i]);
		ck_assert_int_ge(fd, 0);
		__u32 map_ids[4];
		struct bpf_prog_info info = {.nr_map_ids = 4, .map_ids = (__u64)(uintptr_t)map_ids};
		__u32 len = sizeof(info);
		ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		close(fd);
		if (strcmp(info.name, "vfg_devices") == 0 && info.nr_map_ids == 1)
			map_fd = bpf_map_get_fd_by_id(map_ids[0]);
	}
	return map_fd;
}

/* The map's key and value, as vfguard's program reads them (plugins/cgroup/cgroup_bpf.h). */
typedef struct map_key {
	__u32 type, major, minor; /* type 2: a char device (BPF_DEVCG_DEV_CHAR, include/uapi/linux/bpf.h) */
} map_key;
typedef struct map_value {
	__u32 access, flags;
} map_value;

static const map_key group7_key = {2, GROUP7_MAJOR, GROUP7_MINOR};

/* Every rule of the map, "TYPE MAJ:MIN ACCESS FLAGS" a line, in the map's order (free() it). */
static char *map_dump(const char *dir)
{
	int map_fd = vfguard_map(dir);
	ck_assert_msg(map_fd >= 0, "no vfguard program on %s", dir);
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	map_key key, next;
	map_value value;
	const void *at = NULL;
	for (; bpf_map_get_next_key(map_fd, at, &next) == 0; at = &key) {
		key = next;
		ck_assert_int_eq(bpf_map_lookup_elem(map_fd, &key, &value), 0);
		fprintf(out, "%u %u:%u %u %u\n", key.type, key.major, key.minor, value.access, value.flags);
	}
	/* ENOENT: past the last key; any other error cut the dump short */
	ck_assert_msg(errno == ENOENT, "BPF_MAP_GET_NEXT_KEY on %s: %s", dir, strerror(errno));
	fclose(out);
	close(map_fd);
	/* vfguard's program always holds the base list */
	ck_assert_msg(at != NULL, "vfguard's map on %s is empty", dir);
	return text;
}

/* ---- the host ---- */

typedef struct fixture {
	const char *root;
	char v1[256], v2[256];
	test_vm vm;
	char pid_text[16];
} fixture;

static void fixture_open(fixture *f)
{
	f->root = test_root_new(host);
	ck_assert_int_eq(chmod(f->root, 0755), 0);
	char marker[64];
	root_marker(marker, sizeof(marker));
	test_write_file(f->root, marker, "");
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", config);
	/* the rules directory as the package makes it; AppArmor is not enabled here, its files are what is audited */
	ck_assert_int_eq(mkdir(test_path(f->root, "/etc/apparmor.d"), 0755), 0);
	ck_assert_int_eq(mkdir(test_path(f->root, "/etc/apparmor.d/vfguard"), 0755), 0);

	cgroup_dir(f->v1, sizeof(f->v1), V1_MOUNT);
	cgroup_dir(f->v2, sizeof(f->v2), V2_MOUNT);
	ck_assert_msg(mkdir(f->v1, 0755) == 0, "mkdir %s: %s", f->v1, strerror(errno));
	ck_assert_msg(mkdir(f->v2, 0755) == 0, "mkdir %s: %s", f->v2, strerror(errno));
	test_cgroup_write(f->v1, "devices.deny", "a");
	test_cgroup_write(f->v1, "devices.allow", "c 1:3 rwm");
	test_vm_start(&f->vm, f->root, (const char *[]){f->v1, f->v2, NULL});
	snprintf(f->pid_text, sizeof(f->pid_text), "%d", (int)f->vm.pid);
}

static void fixture_close(fixture *f)
{
	test_vm_stop(&f->vm);
	test_cgroup_detach_all(f->v2);
	ck_assert_msg(rmdir(f->v1) == 0, "rmdir %s: %s", f->v1, strerror(errno));
	ck_assert_msg(rmdir(f->v2) == 0, "rmdir %s: %s", f->v2, strerror(errno));
	test_root_remove(f->root);
}

/* ROOT + @logical inside the VM's mount namespace, through /proc/PID/root. */
static const char *inside_path(const fixture *f, const char *logical)
{
	static char path[4096];
	snprintf(path, sizeof(path), "/proc/%d/root%s%s", (int)f->vm.pid, f->root, logical);
	return path;
}

static void run_ok(const char *const *argv)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "vfguard %s: exit %d\n%s%s", argv[0], run.status, run.out, run.err);
	test_run_free(&run);
}

/* vm1: the VM process (so its cgroups, its /dev and its limit), group 7's GPU. */
static void apply_vm1(const fixture *f)
{
	run_ok((const char *[]){"apply", "--root", f->root, "--domain", "vm1", "--uid", "107", "--gid", "107", "--pid",
				f->pid_text, "--memory", VM_MEMORY, "--hostdev", VM1_HOSTDEV, NULL});
}

/* vm2: not running yet (no pid): the host's layers only, group 8's NIC. */
static void apply_vm2(const fixture *f)
{
	run_ok((const char *[]){"apply", "--root", f->root, "--domain", "vm2", "--uid", "108", "--gid", "108",
				"--hostdev", VM2_HOSTDEV, NULL});
}

static void revoke_domain(const fixture *f, const char *domain)
{
	run_ok((const char *[]){"revoke", "--root", f->root, "--domain", domain, NULL});
}

/* ---- what audit says ---- */

static int compare_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The findings of one report, "SCOPE LABELER KIND PATH" a line (SCOPE: "host"
 * or the domain; PATH "-" when null), appended to @lines.
 */
static void report_lines(json_object *report, char ***lines, size_t *n)
{
	const char *scope = test_json_string(report, "domain");
	size_t n_findings;
	json_object *findings = test_json_array(report, "findings", &n_findings);
	ck_assert_msg(test_json_bool(report, "drift") == (n_findings > 0),
		      "report %s: drift says otherwise than its findings", scope);
	for (size_t i = 0; i < n_findings; i++) {
		json_object *finding = json_object_array_get_idx(findings, i);
		/* a finding about no node (memlock, host) has "path": null */
		json_object *path = test_json_member(finding, "path");
		*lines = realloc(*lines, (*n + 1) * sizeof(**lines));
		ck_assert_int_ge(asprintf(&(*lines)[(*n)++], "%s %s %s %s", scope, test_json_string(finding, "labeler"),
					  test_json_string(finding, "kind"),
					  path ? test_json_string(finding, "path") : "-"),
				 0);
	}
}

typedef struct audit_result {
	int status;
	bool drift; /* the JSON's top-level "drift" */
	char domains[64]; /* the domains reported, "vm1 vm2" */
	char *findings; /* sorted "SCOPE LABELER KIND PATH" lines */
	char *out; /* the whole output, for messages */
} audit_result;

static void audit_result_free(audit_result *result)
{
	free(result->findings);
	free(result->out);
}

/* vfguard audit --json [--domain @domain]: its status, and its findings as lines. */
static audit_result audit_json(const fixture *f, const char *domain)
{
	test_run run;
	if (domain)
		test_cli(&run, (const char *[]){"audit", "--root", f->root, "--json", "--domain", domain, NULL});
	else
		test_cli(&run, (const char *[]){"audit", "--root", f->root, "--json", NULL});
	ck_assert_msg(run.status == 0 || run.status == 3, "audit: exit %d\n%s%s", run.status, run.out, run.err);
	json_object *top = test_json_parse(run.out);

	audit_result result = {.status = run.status, .out = run.out};
	result.drift = test_json_bool(top, "drift");
	char **lines = NULL;
	size_t n = 0;
	json_object *host_report = test_json_typed(top, "host", json_type_object);
	ck_assert_str_eq(test_json_string(host_report, "domain"), "host");
	report_lines(host_report, &lines, &n);
	size_t n_domains;
	json_object *domains = test_json_array(top, "domains", &n_domains);
	size_t used = 0;
	for (size_t i = 0; i < n_domains; i++) {
		json_object *report = json_object_array_get_idx(domains, i);
		used += (size_t)snprintf(result.domains + used, sizeof(result.domains) - used, "%s%s", i ? " " : "",
					 test_json_string(report, "domain"));
		report_lines(report, &lines, &n);
	}
	if (n) /* qsort takes no NULL, even for no element (UBSan) */
		qsort(lines, n, sizeof(*lines), compare_lines);
	size_t size = 0;
	FILE *out = open_memstream(&result.findings, &size);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s\n", lines[i]);
		free(lines[i]);
	}
	fclose(out);
	free(lines);
	json_object_put(top);
	free(run.err);
	return result;
}

/* Exit 0, "drift": false, no finding in any report. */
static void expect_clean(const fixture *f, const char *when)
{
	audit_result result = audit_json(f, NULL);
	ck_assert_msg(result.status == 0 && !result.drift && !result.findings[0],
		      "%s: exit %d, drift %d, findings:\n%s\noutput:\n%s", when, result.status, result.drift,
		      result.findings, result.out);
	ck_assert_msg(strstr(result.domains, "vm1"), "%s: vm1 was not audited: %s", when, result.out);
	audit_result_free(&result);
}

/* Exit 3, "drift": true, and exactly @expected (sorted "SCOPE LABELER KIND PATH" lines). */
static void expect_findings(const fixture *f, const char *expected, const char *when)
{
	audit_result result = audit_json(f, NULL);
	ck_assert_msg(result.status == 3 && result.drift && strcmp(result.findings, expected) == 0,
		      "%s: exit %d, drift %d, findings:\n%s\nexpected:\n%s\noutput:\n%s", when, result.status,
		      result.drift, result.findings, expected, result.out);
	audit_result_free(&result);
}

/* ---- drift, layer by layer: how an administrator or another tool makes it, and how it is put back ---- */

typedef struct saved {
	struct stat st;
	char bytes[4096]; /* a label, a file's content, a symlink target */
	ssize_t size;
	map_value value;
	struct rlimit limit;
} saved;

typedef struct plant {
	const char *name;
	void (*make)(fixture *f, saved *s);
	void (*undo)(fixture *f, saved *s);
	const char *expected; /* sorted "SCOPE LABELER KIND PATH" lines */
} plant;

/* DAC: the group node given back to root. */
static void chown_group_node(fixture *f, saved *s)
{
	ck_assert_int_eq(lstat(test_path(f->root, GROUP7), &s->st), 0);
	ck_assert_uint_eq(s->st.st_uid, 107); /* the grant is there to drift from */
	ck_assert_int_eq(lchown(test_path(f->root, GROUP7), 0, 0), 0);
}

static void chown_group_node_back(fixture *f, saved *s)
{
	ck_assert_int_eq(lchown(test_path(f->root, GROUP7), s->st.st_uid, s->st.st_gid), 0);
	ck_assert_int_eq(chmod(test_path(f->root, GROUP7), s->st.st_mode & 07777), 0);
}

/* cgroup v2: the group's rule deleted from vfguard's map through bpf(2). */
static void delete_map_rule(fixture *f, saved *s)
{
	int map_fd = vfguard_map(f->v2);
	ck_assert_msg(map_fd >= 0, "no vfguard program on %s", f->v2);
	ck_assert_int_eq(bpf_map_lookup_elem(map_fd, &group7_key, &s->value), 0);
	ck_assert_int_eq(bpf_map_delete_elem(map_fd, &group7_key), 0);
	close(map_fd);
}

static void delete_map_rule_back(fixture *f, saved *s)
{
	int map_fd = vfguard_map(f->v2);
	ck_assert_int_ge(map_fd, 0);
	ck_assert_int_eq(bpf_map_update_elem(map_fd, &group7_key, &s->value, BPF_NOEXIST), 0);
	close(map_fd);
}

/* cgroup v1: writing to the group's node denied in devices.deny. */
static void deny_in_v1(fixture *f, saved *s)
{
	char *list = test_cgroup_devices_list(f->v1);
	ck_assert_msg(strstr(list, "c 243:0 rw\n"), "devices.list:\n%s", list);
	free(list);
	test_cgroup_write(f->v1, "devices.deny", "c 243:0 w");
}

static void deny_in_v1_back(fixture *f, saved *s)
{
	test_cgroup_write(f->v1, "devices.allow", "c 243:0 rw");
}

/* SELinux: the group node relabelled (chcon) with another domain's categories. */
static void relabel_group_node(fixture *f, saved *s)
{
	static const char other[] = "system_u:object_r:svirt_image_t:s0:c5,c6";
	s->size = lgetxattr(test_path(f->root, GROUP7), "security.selinux", s->bytes, sizeof(s->bytes));
	ck_assert_msg(s->size > 0 && strncmp(s->bytes, "system_u:object_r:svirt_image_t:s0:c", 36) == 0,
		      "the group node carries no image label");
	ck_assert_int_eq(lsetxattr(test_path(f->root, GROUP7), "security.selinux", other, sizeof(other), 0), 0);
}

static void relabel_group_node_back(fixture *f, saved *s)
{
	ck_assert_int_eq(lsetxattr(test_path(f->root, GROUP7), "security.selinux", s->bytes, (size_t)s->size, 0), 0);
}

/* AppArmor: the group's rule taken out of the domain's rules file with an editor. */
static void edit_rules_file(fixture *f, saved *s)
{
	char *content = test_read_file(f->root, VM1_RULES);
	ck_assert_msg(content != NULL, "no %s", VM1_RULES);
	snprintf(s->bytes, sizeof(s->bytes), "%s", content);
	char *rule = strstr(content, "\"/dev/vfio/7\" rw,\n");
	ck_assert_msg(rule != NULL, "%s has no rule for the group:\n%s", VM1_RULES, content);
	memmove(rule, rule + strlen("\"/dev/vfio/7\" rw,\n"), strlen(rule + strlen("\"/dev/vfio/7\" rw,\n")) + 1);
	test_write_file(f->root, VM1_RULES, content);
	free(content);
}

static void edit_rules_file_back(fixture *f, saved *s)
{
	test_write_file(f->root, VM1_RULES, s->bytes);
}

/* The VM's /dev: its group entry made readable by all. */
static void chmod_entry(fixture *f, saved *s)
{
	ck_assert_int_eq(lstat(inside_path(f, GROUP7), &s->st), 0);
	ck_assert(S_ISCHR(s->st.st_mode));
	ck_assert_int_ne(s->st.st_mode & 0777, 0644);
	ck_assert_int_eq(chmod(inside_path(f, GROUP7), 0644), 0);
}

static void chmod_entry_back(fixture *f, saved *s)
{
	ck_assert_int_eq(chmod(inside_path(f, GROUP7), s->st.st_mode & 07777), 0);
}

/* The VM's /dev: its container entry deleted. */
static void delete_entry(fixture *f, saved *s)
{
	ck_assert_int_eq(lstat(inside_path(f, CONTAINER), &s->st), 0);
	ck_assert(S_ISCHR(s->st.st_mode));
	ck_assert_int_eq(unlink(inside_path(f, CONTAINER)), 0);
}

/* Made again as the host node is: rdev, owner, mode, and its ACL and label bytes. */
static void delete_entry_back(fixture *f, saved *s)
{
	const char *xattrs[] = {"system.posix_acl_access", "security.selinux"};
	ck_assert_int_eq(mknod(inside_path(f, CONTAINER), S_IFCHR | (s->st.st_mode & 07777), s->st.st_rdev), 0);
	ck_assert_int_eq(lchown(inside_path(f, CONTAINER), s->st.st_uid, s->st.st_gid), 0);
	ck_assert_int_eq(chmod(inside_path(f, CONTAINER), s->st.st_mode & 07777), 0);
	for (size_t i = 0; i < 2; i++) {
		char value[4096];
		ssize_t n = lgetxattr(test_path(f->root, CONTAINER), xattrs[i], value, sizeof(value));
		if (n < 0) {
			ck_assert_int_eq(errno, ENODATA);
			continue;
		}
		ck_assert_int_eq(lsetxattr(inside_path(f, CONTAINER), xattrs[i], value, (size_t)n, 0), 0);
	}
}

/* memlock: the VM's limit lowered with prlimit(1)'s call. */
static void lower_limit(fixture *f, saved *s)
{
	ck_assert_int_eq(prlimit(f->vm.pid, RLIMIT_MEMLOCK, NULL, &s->limit), 0);
	ck_assert_uint_ge(s->limit.rlim_cur, VM_NEED); /* apply raised it */
	struct rlimit lowered = {.rlim_cur = 1 * MiB, .rlim_max = s->limit.rlim_max};
	ck_assert_int_eq(prlimit(f->vm.pid, RLIMIT_MEMLOCK, &lowered, NULL), 0);
}

static void lower_limit_back(fixture *f, saved *s)
{
	ck_assert_int_eq(prlimit(f->vm.pid, RLIMIT_MEMLOCK, &s->limit, NULL), 0);
}

/*
 * What unbinding the function at @device from vfio-pci does to sysfs: its
 * driver link goes, and so does its vfio-dev/ directory (the cdev is the vfio
 * driver's, drivers/vfio/device_cdev.c); kept at ROOT/saved-BDF. Then,
 * unless @driver is NULL, it is bound to @driver.
 */
static void rebind(fixture *f, const char *device, const char *driver, saved *s)
{
	char link[4096], vfio_dev[4096], kept[4096], target[256];
	snprintf(kept, sizeof(kept), "%s/saved-%s", f->root, strrchr(device, '/') + 1);
	snprintf(link, sizeof(link), "%s/driver", test_path(f->root, device));
	snprintf(vfio_dev, sizeof(vfio_dev), "%s/vfio-dev", test_path(f->root, device));
	s->size = readlink(link, s->bytes, sizeof(s->bytes) - 1);
	ck_assert_int_gt(s->size, 0);
	s->bytes[s->size] = '\0';
	ck_assert_msg(strstr(s->bytes, "vfio-pci"), "%s -> %s", link, s->bytes);
	ck_assert_int_eq(unlink(link), 0);
	ck_assert_int_eq(rename(vfio_dev, kept), 0);
	if (!driver)
		return;
	snprintf(target, sizeof(target), "/sys/bus/pci/drivers/%s", driver);
	ck_assert_int_eq(mkdir(test_path(f->root, target), 0755), 0);
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", driver);
	ck_assert_int_eq(symlink(target, link), 0);
}

/* Bound to vfio-pci again, with its vfio-dev/ back. */
static void rebind_back(fixture *f, const char *device, saved *s)
{
	char link[4096], vfio_dev[4096], kept[4096];
	snprintf(kept, sizeof(kept), "%s/saved-%s", f->root, strrchr(device, '/') + 1);
	snprintf(link, sizeof(link), "%s/driver", test_path(f->root, device));
	snprintf(vfio_dev, sizeof(vfio_dev), "%s/vfio-dev", test_path(f->root, device));
	ck_assert_int_eq(unlink(link) == 0 || errno == ENOENT, 1);
	ck_assert_int_eq(symlink(s->bytes, link), 0);
	ck_assert_int_eq(rename(kept, vfio_dev), 0);
}

/* The host: the GPU unbound from vfio-pci. */
static void unbind_device(fixture *f, saved *s)
{
	rebind(f, GPU_SYSFS, NULL, s);
}

static void unbind_device_back(fixture *f, saved *s)
{
	rebind_back(f, GPU_SYSFS, s);
}

/* The host: the GPU's audio function, in its group, bound to a host driver: the group is not viable. */
static void bind_audio_to_host_driver(fixture *f, saved *s)
{
	rebind(f, AUDIO_SYSFS, "snd_hda_intel", s);
}

static void bind_audio_to_host_driver_back(fixture *f, saved *s)
{
	rebind_back(f, AUDIO_SYSFS, s);
}

static const plant plants[] = {
	/*
	 * The entry in the VM's /dev copies the host node as the labelers left it
	 * (docs/namespace.md, Audit): an owner or label changed on the host node
	 * makes the entry differ from it too.
	 */
	{"dac: the group node chowned", chown_group_node, chown_group_node_back,
	 "vm1 dac drift /dev/vfio/7\nvm1 namespace drift /dev/vfio/7\n"},
	{"cgroup v2: the group's rule deleted from the map", delete_map_rule, delete_map_rule_back,
	 "vm1 cgroup drift /dev/vfio/7\n"},
	{"cgroup v1: the group's node denied in devices.deny", deny_in_v1, deny_in_v1_back,
	 "vm1 cgroup drift /dev/vfio/7\n"},
	{"selinux: the group node relabelled", relabel_group_node, relabel_group_node_back,
	 "vm1 namespace drift /dev/vfio/7\nvm1 selinux drift /dev/vfio/7\n"},
	{"apparmor: the group's rule edited out of the rules file", edit_rules_file, edit_rules_file_back,
	 "vm1 apparmor drift /dev/vfio/7\n"},
	{"namespace: the group entry chmod'ed", chmod_entry, chmod_entry_back, "vm1 namespace drift /dev/vfio/7\n"},
	{"namespace: the container entry deleted", delete_entry, delete_entry_back,
	 "vm1 namespace drift /dev/vfio/vfio\n"},
	{"memlock: the limit lowered", lower_limit, lower_limit_back, "vm1 memlock drift -\n"},
	/*
	 * A domain whose plan fails is itself a host finding (tools/cmd_plan.c):
	 * planning refuses a device off vfio-pci or in a group that is not viable.
	 */
	{"host: the device unbound from vfio-pci", unbind_device, unbind_device_back,
	 "host host host -\nvm1 host host -\n"},
	{"host: its group made not viable", bind_audio_to_host_driver, bind_audio_to_host_driver_back,
	 "host host host -\nvm1 host host -\n"},
};

#define N_PLANTS (sizeof(plants) / sizeof(plants[0]))

/* ---- tests ---- */

/* The journal holds a record of every layer for vm1: the audit has each layer's grant to compare with. */
static void expect_every_layer_granted(const fixture *f)
{
	char *journal = test_read_file(f->root, "/run/vfguard/domains/vm1.journal");
	ck_assert_msg(journal != NULL, "vm1 has no journal");
	const char *labelers[] = {"dac", "cgroup", "selinux", "apparmor", "namespace", "memlock"};
	for (size_t i = 0; i < sizeof(labelers) / sizeof(labelers[0]); i++) {
		char needle[32];
		snprintf(needle, sizeof(needle), " %s ", labelers[i]);
		ck_assert_msg(strstr(journal, needle), "the journal holds no %s record:\n%s", labelers[i], journal);
	}
	free(journal);
}

START_TEST(a_clean_host_with_every_layer_granted_audits_clean_with_exit_0)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	expect_every_layer_granted(&f);
	expect_clean(&f, "after apply");

	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "domain host: no drift\n") &&
			      strstr(run.out, "domain vm1: no drift\n"),
		      "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);

	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(drift_planted_in_one_layer_exits_3_with_exactly_its_findings_and_undone_is_clean_again)
{
	const plant *p = &plants[_i];
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	expect_clean(&f, "after apply");

	saved s = {0};
	p->make(&f, &s);
	char when[128];
	snprintf(when, sizeof(when), "%s", p->name);
	expect_findings(&f, p->expected, when);

	p->undo(&f, &s);
	snprintf(when, sizeof(when), "%s, then put back", p->name);
	expect_clean(&f, when);

	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/*
 * memlock's fix named "vfguard apply --domain vm1 --pid P --memory M",
 * which no one could run as given (no hostdev) and which would have found
 * the record held (a trial). Its fix is a command now: run as written, the
 * audit is clean again.
 */
START_TEST(the_memlock_finding_s_fix_is_a_command_that_clears_it)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	saved s = {0};
	lower_limit(&f, &s);
	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--json", "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 3, "exit %d\n%s%s", run.status, run.out, run.err);
	json_object *top = test_json_parse(run.out);
	size_t n_domains, n_findings;
	json_object *report = json_object_array_get_idx(test_json_array(top, "domains", &n_domains), 0);
	json_object *findings = test_json_array(report, "findings", &n_findings);
	char *fix = NULL;
	for (size_t i = 0; i < n_findings; i++) {
		json_object *finding = json_object_array_get_idx(findings, i);
		if (strcmp(test_json_string(finding, "labeler"), "memlock") == 0)
			fix = strdup(test_json_string(finding, "fix"));
	}
	json_object_put(top);
	test_run_free(&run);
	char expected[64];
	snprintf(expected, sizeof(expected), "prlimit --pid %d --memlock=", (int)f.vm.pid);
	ck_assert_msg(fix && strncmp(fix, expected, strlen(expected)) == 0, "fix: %s", fix ? fix : "(none)");
	test_run_program(&run, "/bin/sh", "sh", (const char *[]){"-c", fix, NULL}, "", 0, NULL);
	ck_assert_msg(run.status == 0, "%s: exit %d\n%s", fix, run.status, run.err);
	test_run_free(&run);
	free(fix);
	expect_clean(&f, "after the memlock finding's fix");
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(the_text_table_names_the_labeler_kind_and_node_of_a_finding)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	saved s = {0};
	edit_rules_file(&f, &s);

	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, NULL});
	ck_assert_msg(run.status == 3, "exit %d\n%s%s", run.status, run.out, run.err);
	ck_assert_msg(strstr(run.out, "domain host: no drift\n") && strstr(run.out, "domain vm1: 1 finding\n"), "%s",
		      run.out);
	ck_assert_msg(strstr(run.out, "LABELER   KIND      NODE\n") &&
			      strstr(run.out, "apparmor  drift     /dev/vfio/7\n"),
		      "%s", run.out);
	/* what was expected is the rule itself, and the fix names the domain */
	ck_assert_msg(strstr(run.out, "\"/dev/vfio/7\" rw,") && strstr(run.out, "fix:"), "%s", run.out);
	test_run_free(&run);

	edit_rules_file_back(&f, &s);
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(domain_limits_the_audit_to_that_domain_and_its_devices)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	apply_vm2(&f);
	audit_result all = audit_json(&f, NULL);
	ck_assert_msg(all.status == 0 && strcmp(all.domains, "vm1 vm2") == 0, "exit %d, domains '%s'\n%s", all.status,
		      all.domains, all.out);
	audit_result_free(&all);

	/* vm1's group node chowned, and vm1's GPU unbound: both vm1's */
	saved owner = {0}, driver = {0};
	chown_group_node(&f, &owner);
	unbind_device(&f, &driver);

	audit_result only = audit_json(&f, "vm2");
	ck_assert_msg(only.status == 0 && !only.drift && strcmp(only.domains, "vm2") == 0 && !only.findings[0],
		      "--domain vm2: exit %d, domains '%s', findings:\n%s", only.status, only.domains, only.findings);
	audit_result_free(&only);

	only = audit_json(&f, "vm1");
	ck_assert_msg(only.status == 3 && strcmp(only.domains, "vm1") == 0 &&
			      strcmp(only.findings, "host host host -\nvm1 host host -\n") == 0,
		      "--domain vm1: exit %d, domains '%s', findings:\n%s", only.status, only.domains, only.findings);
	audit_result_free(&only);
	unbind_device_back(&f, &driver);
	only = audit_json(&f, "vm1");
	ck_assert_msg(only.status == 3 && strcmp(only.domains, "vm1") == 0 &&
			      strcmp(only.findings, "vm1 dac drift /dev/vfio/7\nvm1 namespace drift /dev/vfio/7\n") ==
				      0,
		      "--domain vm1: exit %d, domains '%s', findings:\n%s", only.status, only.domains, only.findings);
	audit_result_free(&only);

	all = audit_json(&f, NULL);
	ck_assert_msg(all.status == 3 && strcmp(all.domains, "vm1 vm2") == 0, "exit %d, domains '%s'", all.status,
		      all.domains);
	audit_result_free(&all);

	/* a domain that holds nothing is an error, not a clean audit */
	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--domain", "vm3", NULL});
	ck_assert_msg(run.status == 1 && strstr(run.err, "vm3") && run.out[0] == '\0', "exit %d\n%s%s", run.status,
		      run.out, run.err);
	test_run_free(&run);
	/* no report on exit 1: JSON's error object (docs/audit.md), and nothing for a Prometheus textfile */
	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--domain", "vm3", "--json", NULL});
	ck_assert_msg(run.status == 1 && strncmp(run.out, "{\n  \"error\": {\n    \"message\": ", 30) == 0 &&
			      !strstr(run.out, "findings"),
		      "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--domain", "vm3", "--format", "prometheus", NULL});
	ck_assert_msg(run.status == 1 && run.out[0] == '\0', "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);

	chown_group_node_back(&f, &owner);
	revoke_domain(&f, "vm2");
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* Everything audit reads that a snapshot of the root does not show: cgroups, the VM's /dev, its limit. */
static char *outside_state(const fixture *f)
{
	char *text = NULL, *list = test_cgroup_devices_list(f->v1), *map = map_dump(f->v2);
	char *inside = test_snapshot(inside_path(f, "/dev"), 0);
	struct rlimit limit;
	ck_assert_int_eq(prlimit(f->vm.pid, RLIMIT_MEMLOCK, NULL, &limit), 0);
	ck_assert_int_ge(asprintf(&text, "devices.list:\n%smap:\n%sthe VM's /dev:\n%slimit %lu %lu\n", list, map,
				  inside, (unsigned long)limit.rlim_cur, (unsigned long)limit.rlim_max),
			 0);
	free(list);
	free(map);
	free(inside);
	return text;
}

START_TEST(audit_changes_nothing_it_reads)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	/* drift in every layer, so every audit path runs */
	saved s[N_PLANTS];
	memset(s, 0, sizeof(s));
	for (size_t i = 0; i < N_PLANTS; i++)
		plants[i].make(&f, &s[i]);

	char *before = test_snapshot(f.root, 0), *outside = outside_state(&f);
	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, NULL});
	ck_assert_msg(run.status == 3, "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--json", "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 3, "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);

	test_snapshot_expect(f.root, 0, before, "two audits");
	char *after = outside_state(&f);
	ck_assert_msg(strcmp(after, outside) == 0,
		      "two audits changed what lies outside the root:\nbefore:\n%s\nafter:\n%s", outside, after);
	free(after);
	free(outside);
	free(before);
	fixture_close(&f);
}
END_TEST

/* vm1 applied with the DAC layer alone, as `--set labelers=dac` asks. */
static void apply_vm1_dac_only(const fixture *f)
{
	run_ok((const char *[]){"apply", "--root", f->root, "--set", "labelers=dac", "--domain", "vm1", "--uid", "107",
				"--gid", "107", "--pid", f->pid_text, "--memory", VM_MEMORY, "--hostdev", VM1_HOSTDEV,
				NULL});
}

START_TEST(audit_checks_the_layers_the_domain_was_applied_with_as_the_journal_records_them)
{
	fixture f;
	fixture_open(&f);
	apply_vm1_dac_only(&f);

	/* the configuration loads every layer; the domain holds the DAC layer's grants alone */
	expect_clean(&f, "after an apply with labelers=dac, audited with the configured labelers");
	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "domain vm1: no drift\n") &&
			      strstr(run.out, "labelers (from the journal): dac\n"),
		      "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);

	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--json", "--domain", "vm1", NULL});
	json_object *top = test_json_parse(run.out);
	size_t n_domains, n_labelers;
	json_object *domains = test_json_array(top, "domains", &n_domains);
	ck_assert_uint_eq(n_domains, 1);
	json_object *report = json_object_array_get_idx(domains, 0);
	ck_assert_str_eq(test_json_string(report, "labelers_from"), "journal");
	json_object *labelers = test_json_array(report, "labelers", &n_labelers);
	ck_assert_uint_eq(n_labelers, 1);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(labelers, 0)), "dac");
	json_object_put(top);
	test_run_free(&run);

	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/*
 * A revoke that cannot undo some records (their labeler is not loaded)
 * undoes the others all the same: their undone marks were lost with the
 * failure, so status went on calling them granted and the retry did them
 * again (a trial). They are written now: status shows what is left.
 */
START_TEST(a_revoke_that_fails_on_some_records_journals_the_others_undone)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	test_run run;
	test_cli(&run, (const char *[]){"revoke", "--root", f.root, "--set", "labelers=dac", "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 1 && strstr(run.err, "which is not loaded"), "exit %d: %s", run.status, run.err);
	test_run_free(&run);
	struct stat st;
	ck_assert_int_eq(stat(test_path(f.root, GROUP7), &st), 0);
	ck_assert_uint_eq(st.st_uid, 0); /* the DAC grant is undone on the node */
	test_cli(&run, (const char *[]){"status", "--root", f.root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 0 && !strstr(run.out, "  dac ") && strstr(run.out, "  cgroup "), "%s%s", run.out,
		      run.err);
	test_run_free(&run);
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* vm1's apply as apply_vm1's, with labelers=@labelers and its GPU's access=@access: the CLI's result in @run. */
static void apply_vm1_with(const fixture *f, const char *labelers, const char *access, test_run *run)
{
	char set[128], hostdev[64];
	snprintf(set, sizeof(set), "labelers=%s", labelers);
	snprintf(hostdev, sizeof(hostdev), "%s,access=%s", VM1_HOSTDEV, access);
	test_cli(run,
		 (const char *[]){"apply", "--root", f->root, "--set", set, "--domain", "vm1", "--uid", "107", "--gid",
				  "107", "--pid", f->pid_text, "--memory", VM_MEMORY, "--hostdev", hostdev, NULL});
}

/*
 * A switch to fd access takes back the path grants each through the
 * labeler that made it. With cgroup, selinux and apparmor left out of
 * labelers, theirs stayed on the node passed by fd and the revoke after
 * refused (a trial): the switch is refused, naming the hostdev, a labeler
 * and how to load them, with the host and the journal as they were.
 */
START_TEST(a_switch_to_fd_that_would_leave_a_labeler_s_path_grants_is_refused_changing_nothing)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	char *before = test_snapshot(f.root, TEST_SNAPSHOT_CONTENT);
	test_run run;
	apply_vm1_with(&f, "dac", "fd", &run);
	ck_assert_msg(
		run.status == 1 &&
			strstr(run.err, "0000:01:00.0: the apply of domain vm1 switches it from path to fd access") &&
			strstr(run.err, "but labeler cgroup, which this apply does not load") &&
			strstr(run.err, "--set labelers=dac,cgroup,selinux,apparmor") &&
			strstr(run.err, "nothing was changed"),
		"exit %d: %s", run.status, run.err);
	test_run_free(&run);
	test_snapshot_expect(f.root, TEST_SNAPSHOT_CONTENT, before, "the refused switch");
	free(before);
	/* with every labeler loaded the switch goes through, and the revoke after gives the host back */
	apply_vm1_with(&f, "dac,cgroup,selinux,apparmor", "fd", &run);
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	test_run_free(&run);
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/*
 * An apply that switches nothing keeps what the domain holds, of a labeler
 * it does not load too: the libvirt hook drops apparmor for a domain
 * libvirt does not confine, and a domain started again after a crash
 * without its release must start (refusing it was worse, 8a05f4a).
 */
START_TEST(an_apply_that_switches_nothing_keeps_a_labeler_s_grants_it_does_not_load)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	test_run run;
	apply_vm1_with(&f, "dac,cgroup,selinux", "path", &run);
	ck_assert_msg(run.status == 0 && strstr(run.out, "0 changes made"), "exit %d: %s%s", run.status, run.out,
		      run.err);
	test_run_free(&run);
	expect_clean(&f, "after an apply without apparmor that switched nothing");
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* A configuration that loads fewer labelers than the apply did: audit loads the journal's, and finds their drift. */
START_TEST(audit_loads_the_labelers_the_journal_names_that_the_configuration_leaves_out)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	test_write_file(f.root, "/etc/vfguard/vfguard.conf",
			"labelers = dac\nselinux = force\nmemlock_extra = 1M\ncgroup_base_devices = c 1:3 rw\n");
	saved s = {0};
	edit_rules_file(&f, &s);
	expect_findings(&f, "vm1 apparmor drift /dev/vfio/7\n", "the rules file edited, audited with labelers = dac");

	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 3 && strstr(run.out, "labelers (from the journal): dac,cgroup,selinux,apparmor\n"),
		      "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);

	edit_rules_file_back(&f, &s);
	test_write_file(f.root, "/etc/vfguard/vfguard.conf", config);
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* A labeler the journal names that this host cannot load: a finding naming it, not a failed audit. */
START_TEST(a_labeler_the_journal_names_that_is_not_loadable_here_is_a_finding_naming_it)
{
	fixture f;
	fixture_open(&f);
	apply_vm1_dac_only(&f);
	char *journal = test_read_file(f.root, "/run/vfguard/domains/vm1.journal");
	ck_assert_ptr_nonnull(journal);
	char *at = strstr(journal, " vfguard.labelers=dac\n");
	ck_assert_msg(at, "the domain line records no labelers:\n%s", journal);
	char *edited = NULL;
	ck_assert_int_ge(asprintf(&edited, "%.*s vfguard.labelers=dac,nosuch%s", (int)(at - journal), journal,
				  at + strlen(" vfguard.labelers=dac")),
			 0);
	test_write_file(f.root, "/run/vfguard/domains/vm1.journal", edited);
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard/domains/vm1.journal"), 0600), 0);

	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--domain", "vm1", NULL});
	ck_assert_msg(run.status == 3 && strstr(run.out, "nosuch") && strstr(run.out, "domain vm1: 1 finding\n"),
		      "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);

	/* put back, so that revoke acts on the journal it wrote */
	test_write_file(f.root, "/run/vfguard/domains/vm1.journal", journal);
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard/domains/vm1.journal"), 0600), 0);
	free(edited);
	free(journal);
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/*
 * Two domains' journals claiming one IOMMU group: apply never lets that
 * happen under the lock, a hand edit (of a journal, or of the holders index
 * behind the lock) can. A security trial's audit passed it as clean; the
 * host's audit names the group and both domains.
 */
START_TEST(two_domains_claiming_one_group_is_a_host_finding)
{
	fixture f;
	fixture_open(&f);
	apply_vm1_dac_only(&f);
	run_ok((const char *[]){"apply", "--root", f.root, "--set", "labelers=dac", "--domain", "vm2", "--uid", "108",
				"--gid", "108", "--hostdev", VM2_HOSTDEV, NULL});
	char *journal = test_read_file(f.root, "/run/vfguard/domains/vm2.journal");
	ck_assert_ptr_nonnull(journal);
	char *at = strstr(journal, " 8 legacy ");
	ck_assert_msg(at, "vm2 claims no group 8 on the legacy backend:\n%s", journal);
	at[1] = '7';
	test_write_file(f.root, "/run/vfguard/domains/vm2.journal", journal);
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard/domains/vm2.journal"), 0600), 0);
	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, NULL});
	ck_assert_msg(run.status == 3 && strstr(run.out, "expected: IOMMU group 7 claimed by one domain") &&
			      strstr(run.out, "found:    claimed by domains vm1 and vm2"),
		      "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);
	at[1] = '8';
	test_write_file(f.root, "/run/vfguard/domains/vm2.journal", journal);
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard/domains/vm2.journal"), 0600), 0);
	free(journal);
	revoke_domain(&f, "vm2");
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/*
 * An apply killed right after its begin leaves a journal with no domain
 * line: status showed "domain  (uid 0 gid 0)" and audit a host finding
 * whose fix, "vfguard revoke --domain ''", could not run (a crash trial).
 * The domain is named by its file, and audit's fix is restore.
 */
START_TEST(a_journal_cut_after_its_begin_is_named_by_its_file_and_restore_is_the_fix)
{
	fixture f;
	fixture_open(&f);
	/* what the killed apply left: its lock, and the journal with the begin line alone */
	test_write_file(f.root, "/run/vfguard/lock", "");
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard/lock"), 0600), 0);
	test_write_file(f.root, "/run/vfguard/domains/vm1.journal", "vfguard-journal 2\nbegin 1 apply\n");
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard/domains/vm1.journal"), 0600), 0);
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard/domains"), 0700), 0);
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard"), 0700), 0);
	test_run run;
	test_cli(&run, (const char *[]){"status", "--root", f.root, NULL});
	ck_assert_msg(run.status == 0 && strstr(run.out, "domain vm1 (") && strstr(run.out, "UNFINISHED"), "%s%s",
		      run.out, run.err);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"audit", "--root", f.root, NULL});
	ck_assert_msg(run.status == 3 && strstr(run.out, "domain vm1: 1 finding") &&
			      strstr(run.out, "fix:      vfguard restore, then audit again") && !strstr(run.out, "''"),
		      "exit %d\n%s%s", run.status, run.out, run.err);
	test_run_free(&run);
	run_ok((const char *[]){"restore", "--root", f.root, NULL});
	ck_assert_int_eq(test_journal_files(f.root), 0);
	fixture_close(&f);
}
END_TEST

/* ---- the metrics (--format prometheus) ---- */

/* Every labeler the test configuration loads, the built-in ones, and the two a finding may name besides. */
static const char *const metric_labelers[] = {"apparmor", "cgroup",  "dac",       "host",
					      "journal",  "memlock", "namespace", "selinux"};
static const char *const finding_kinds[] = {"conflict", "drift", "host", "missing", "policy"};
#define N_METRIC_LABELERS (sizeof(metric_labelers) / sizeof(metric_labelers[0]))
#define N_FINDING_KINDS (sizeof(finding_kinds) / sizeof(finding_kinds[0]))

/* The labelers that grant: the configured ones and the built-in ones. */
static const char *const granting_labelers[] = {"apparmor", "cgroup", "dac", "memlock", "namespace", "selinux"};

typedef struct metrics_run {
	int status;
	char *out;
	test_prometheus metrics;
	time_t before, after; /* the audit ran in between */
} metrics_run;

/* vfguard audit --format prometheus ARGS... (after --root): exit 0 or 3, and metrics that read strictly. */
static void audit_metrics(const fixture *f, const char *const *args, metrics_run *result)
{
	const char *argv[32] = {"audit", "--root", f->root, "--format", "prometheus"};
	size_t n = 5;
	for (; args && *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	test_run run;
	result->before = time(NULL);
	test_cli(&run, argv);
	result->after = time(NULL);
	ck_assert_msg(run.status == 0 || run.status == 3, "audit --format prometheus: exit %d\n%s%s", run.status,
		      run.out, run.err);
	/* an empty output reads as no metric at all: the reader refuses it */
	test_prometheus_read(run.out, &result->metrics);
	result->status = run.status;
	result->out = run.out;
	free(run.err);
}

static void metrics_run_free(metrics_run *result)
{
	test_prometheus_free(&result->metrics);
	free(result->out);
}

/* Each metric audit documents: a gauge, with its HELP. */
static void expect_metric_types(const metrics_run *run)
{
	const char *names[] = {"vfguard_audit_domains", "vfguard_audit_findings", "vfguard_audit_grants",
			       "vfguard_audit_last_run_timestamp_seconds", "vfguard_audit_ok"};
	ck_assert_uint_eq(run->metrics.n_metrics, 5);
	for (size_t i = 0; i < 5; i++) {
		const test_prometheus_metric *metric = test_prometheus_metric_find(&run->metrics, names[i]);
		ck_assert_msg(metric && metric->help && metric->help[0] && strcmp(metric->type, "gauge") == 0,
			      "%s: no gauge with a HELP:\n%s", names[i], run->out);
		/* in the order the documentation gives: by name */
		ck_assert_str_eq(run->metrics.metrics[i].name, names[i]);
	}
	double when = test_prometheus_value(&run->metrics, "vfguard_audit_last_run_timestamp_seconds",
					    (const char *[]){NULL});
	ck_assert_msg(when >= (double)run->before && when <= (double)run->after,
		      "last run %.0f, not between %lld and %lld", when, (long long)run->before, (long long)run->after);
}

/*
 * Every (labeler, kind) series there once, 0 but those of @found ("LABELER
 * KIND COUNT" lines), and vfguard_audit_ok 1 exactly when nothing was found.
 */
static void expect_findings_metrics(const metrics_run *run, const char *found)
{
	size_t total = 0;
	for (size_t l = 0; l < N_METRIC_LABELERS; l++)
		for (size_t k = 0; k < N_FINDING_KINDS; k++) {
			char line[64];
			snprintf(line, sizeof(line), "%s %s ", metric_labelers[l], finding_kinds[k]);
			const char *at = strstr(found, line);
			unsigned long expected = at ? strtoul(at + strlen(line), NULL, 10) : 0;
			double value = test_prometheus_value(
				&run->metrics, "vfguard_audit_findings",
				(const char *[]){"labeler", metric_labelers[l], "kind", finding_kinds[k], NULL});
			ck_assert_msg(value == (double)expected, "findings{labeler=%s,kind=%s}: %.0f, expected %lu\n%s",
				      metric_labelers[l], finding_kinds[k], value, expected, run->out);
			total += expected;
		}
	ck_assert_uint_eq(test_prometheus_count(&run->metrics, "vfguard_audit_findings"),
			  N_METRIC_LABELERS * N_FINDING_KINDS);
	double ok = test_prometheus_value(&run->metrics, "vfguard_audit_ok", (const char *[]){NULL});
	ck_assert_msg(ok == (total ? 0 : 1), "vfguard_audit_ok %.0f with %zu findings\n%s", ok, total, run->out);
	ck_assert_int_eq(run->status, total ? 3 : 0);
}

/* The records @labeler holds in the journal file STATE/domains/@file: its intents, less those undone. */
static size_t journal_records(const fixture *f, const char *file, const char *labeler)
{
	char path[512];
	snprintf(path, sizeof(path), "/run/vfguard/domains/%s", file);
	char *journal = test_read_file(f->root, path);
	ck_assert_msg(journal != NULL, "no journal %s", path);
	unsigned long ids[256];
	size_t n = 0;
	char *state = NULL;
	for (char *line = strtok_r(journal, "\n", &state); line; line = strtok_r(NULL, "\n", &state)) {
		unsigned long txn, id;
		char name[64];
		if (sscanf(line, "intent %lu %lu %63s ", &txn, &id, name) == 3 && strcmp(name, labeler) == 0) {
			ck_assert_uint_lt(n, 256);
			ids[n++] = id;
		} else if (sscanf(line, "undone %lu %lu", &txn, &id) == 2) {
			for (size_t i = 0; i < n; i++)
				if (ids[i] == id)
					ids[i--] = ids[--n];
		}
	}
	free(journal);
	return n;
}

/*
 * vfguard_audit_grants of @domain: one series per labeler holding records,
 * its value the journal's count. Returns the number of series.
 */
static size_t expect_grants_metrics(const fixture *f, const metrics_run *run, const char *domain, const char *file)
{
	size_t labelers_holding = 0, series = 0;
	for (size_t l = 0; l < sizeof(granting_labelers) / sizeof(granting_labelers[0]); l++) {
		size_t records = journal_records(f, file, granting_labelers[l]);
		const test_prometheus_sample *sample =
			test_prometheus_find(&run->metrics, "vfguard_audit_grants",
					     (const char *[]){"domain", domain, "labeler", granting_labelers[l], NULL});
		if (records == 0) {
			ck_assert_msg(!sample, "grants{domain=%s,labeler=%s} with no record\n%s", domain,
				      granting_labelers[l], run->out);
			continue;
		}
		labelers_holding++;
		ck_assert_msg(sample && sample->value == (double)records,
			      "grants{domain=%s,labeler=%s}: %s, the journal holds %zu\n%s", domain,
			      granting_labelers[l], sample ? "another count" : "none", records, run->out);
	}
	for (size_t i = 0; i < run->metrics.n_samples; i++) {
		const test_prometheus_sample *sample = &run->metrics.samples[i];
		series += strcmp(sample->name, "vfguard_audit_grants") == 0 &&
			  strcmp(test_prometheus_label(sample, "domain"), domain) == 0;
	}
	ck_assert_msg(series == labelers_holding, "%s: %zu grants series, %zu labelers hold records\n%s", domain,
		      series, labelers_holding, run->out);
	return series;
}

START_TEST(prometheus_metrics_count_the_domains_and_each_labelers_grants_as_the_journal_holds_them)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	apply_vm2(&f);

	metrics_run run;
	audit_metrics(&f, NULL, &run);
	expect_metric_types(&run);
	ck_assert_msg(test_prometheus_value(&run.metrics, "vfguard_audit_domains", (const char *[]){NULL}) == 2, "%s",
		      run.out);
	expect_findings_metrics(&run, "");
	/* vm1 runs, so every layer holds a grant; and no series of a domain the journal does not hold */
	expect_every_layer_granted(&f);
	size_t vm1_series = expect_grants_metrics(&f, &run, "vm1", "vm1.journal");
	ck_assert_uint_eq(vm1_series, sizeof(granting_labelers) / sizeof(granting_labelers[0]));
	size_t vm2_series = expect_grants_metrics(&f, &run, "vm2", "vm2.journal");
	ck_assert_uint_eq(test_prometheus_count(&run.metrics, "vfguard_audit_grants"), vm1_series + vm2_series);
	/* the same host, the same text but the time */
	metrics_run again;
	audit_metrics(&f, NULL, &again);
	char *first = strstr(run.out, "vfguard_audit_last_run"), *second = strstr(again.out, "vfguard_audit_last_run");
	ck_assert_msg(first && second && strncmp(run.out, again.out, (size_t)(first - run.out)) == 0 &&
			      first - run.out == second - again.out,
		      "two audits of one host differ:\n%s\n%s", run.out, again.out);
	metrics_run_free(&again);
	metrics_run_free(&run);

	/* --domain: that domain's grants alone */
	audit_metrics(&f, (const char *[]){"--domain", "vm2", NULL}, &run);
	ck_assert(test_prometheus_value(&run.metrics, "vfguard_audit_domains", (const char *[]){NULL}) == 1);
	expect_grants_metrics(&f, &run, "vm2", "vm2.journal");
	expect_findings_metrics(&run, "");
	for (size_t i = 0; i < run.metrics.n_samples; i++)
		ck_assert(strcmp(run.metrics.samples[i].name, "vfguard_audit_grants") != 0 ||
			  strcmp(test_prometheus_label(&run.metrics.samples[i], "domain"), "vm2") == 0);
	metrics_run_free(&run);

	/* --hostdev: the domain as the options describe it */
	audit_metrics(
		&f, (const char *[]){"--domain", "vm2", "--uid", "108", "--gid", "108", "--hostdev", VM2_HOSTDEV, NULL},
		&run);
	expect_metric_types(&run);
	ck_assert(test_prometheus_value(&run.metrics, "vfguard_audit_domains", (const char *[]){NULL}) == 1);
	expect_grants_metrics(&f, &run, "vm2", "vm2.journal");
	expect_findings_metrics(&run, "");
	metrics_run_free(&run);

	revoke_domain(&f, "vm2");
	revoke_domain(&f, "vm1");
	audit_metrics(&f, NULL, &run);
	ck_assert(test_prometheus_value(&run.metrics, "vfguard_audit_domains", (const char *[]){NULL}) == 0);
	ck_assert_uint_eq(test_prometheus_count(&run.metrics, "vfguard_audit_grants"), 0);
	expect_findings_metrics(&run, "");
	metrics_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(a_finding_in_the_metrics_has_its_labeler_and_kind_and_ok_drops_to_0)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);
	saved s = {0};
	chown_group_node(&f, &s);

	metrics_run run;
	audit_metrics(&f, NULL, &run);
	expect_metric_types(&run);
	/* as the JSON report has them (the plant's expected findings) */
	expect_findings(&f, "vm1 dac drift /dev/vfio/7\nvm1 namespace drift /dev/vfio/7\n", "the group node chowned");
	expect_findings_metrics(&run, "dac drift 1\nnamespace drift 1\n");
	/* the grants are what the journal holds, drift or not */
	expect_grants_metrics(&f, &run, "vm1", "vm1.journal");
	metrics_run_free(&run);

	/* the host's own finding, with the device unbound too */
	saved driver = {0};
	unbind_device(&f, &driver);
	audit_metrics(&f, NULL, &run);
	expect_findings_metrics(&run, "host host 2\n");
	metrics_run_free(&run);
	unbind_device_back(&f, &driver);

	chown_group_node_back(&f, &s);
	audit_metrics(&f, NULL, &run);
	expect_findings_metrics(&run, "");
	metrics_run_free(&run);
	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(a_domain_name_with_a_quote_and_a_backslash_is_escaped_in_its_label)
{
	static const char name[] = "vm\"2\\b";
	fixture f;
	fixture_open(&f);
	run_ok((const char *[]){"apply", "--root", f.root, "--domain", name, "--uid", "108", "--gid", "108",
				"--hostdev", VM2_HOSTDEV, NULL});

	metrics_run run;
	audit_metrics(&f, NULL, &run);
	/* written escaped, read back as the name */
	ck_assert_msg(strstr(run.out, "vfguard_audit_grants{domain=\"vm\\\"2\\\\b\",labeler=\"dac\"} "), "%s", run.out);
	ck_assert(test_prometheus_value(&run.metrics, "vfguard_audit_domains", (const char *[]){NULL}) == 1);
	/* the journal's file name percent-encodes '"' and '\' (docs/journal.md) */
	expect_grants_metrics(&f, &run, name, "vm%222%5Cb.journal");
	ck_assert_uint_gt(test_prometheus_count(&run.metrics, "vfguard_audit_grants"), 0);
	expect_findings_metrics(&run, "");
	metrics_run_free(&run);

	revoke_domain(&f, name);
	fixture_close(&f);
}
END_TEST

START_TEST(format_json_is_json_and_a_failed_audit_writes_no_metrics)
{
	fixture f;
	fixture_open(&f);
	apply_vm1(&f);

	test_run json, format_json, text, format_text;
	test_cli(&json, (const char *[]){"audit", "--root", f.root, "--json", NULL});
	test_cli(&format_json, (const char *[]){"audit", "--root", f.root, "--format", "json", NULL});
	ck_assert_msg(json.status == 0 && format_json.status == 0 && json.out[0] &&
			      strcmp(json.out, format_json.out) == 0,
		      "--json (exit %d):\n%s\n--format json (exit %d):\n%s", json.status, json.out, format_json.status,
		      format_json.out);
	/* versioned as every --json object vfguard writes (a trial found it alone without one) */
	ck_assert_msg(strncmp(json.out, "{\n  \"version\": 1,\n", 18) == 0, "%s", json.out);
	test_cli(&text, (const char *[]){"audit", "--root", f.root, NULL});
	test_cli(&format_text, (const char *[]){"audit", "--root", f.root, "--format", "text", NULL});
	ck_assert_msg(text.status == 0 && text.out[0] && strcmp(text.out, format_text.out) == 0, "%s\n%s", text.out,
		      format_text.out);
	test_run_free(&json);
	test_run_free(&format_json);
	test_run_free(&text);
	test_run_free(&format_text);

	/* usage errors: an unknown format, --json with another one */
	const char *const *usage[] = {
		(const char *[]){"audit", "--root", f.root, "--format", "yaml", NULL},
		(const char *[]){"audit", "--root", f.root, "--format", "prometheus", "--json", NULL},
		(const char *[]){"audit", "--root", f.root, "--json", "--format", "text", NULL},
		(const char *[]){"plan", "--root", f.root, "--format", "json", "--domain", "vm1", "--hostdev",
				 VM1_HOSTDEV, NULL},
	};
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		test_run run;
		test_cli(&run, usage[i]);
		ck_assert_msg(run.status == 2 && !run.out[0] && run.err[0], "case %zu: exit %d\n%s%s", i, run.status,
			      run.out, run.err);
		test_run_free(&run);
	}
	/* an audit that fails (exit 1) writes no metric: a textfile collector keeps the last good file */
	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f.root, "--format", "prometheus", "--domain", "vm3", NULL});
	ck_assert_msg(run.status == 1 && !run.out[0] && strstr(run.err, "vm3"), "exit %d\n%s%s", run.status, run.out,
		      run.err);
	test_run_free(&run);

	revoke_domain(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* The reader the tests above trust: it refuses what the format does not allow. */
START_TEST(the_metrics_reader_refuses_what_the_text_format_does_not_allow)
{
	static const char good[] = "# HELP a_b An \\\\ help\\n text.\n"
				   "# TYPE a_b gauge\n"
				   "a_b{x=\"q\\\"\\\\\\n\",y=\"\"} 1.5\n"
				   "a_b{x=\"r\"} -2e3\n"
				   "# TYPE c counter\n"
				   "c 0\n";
	test_prometheus parsed;
	char error[512];
	ck_assert_msg(test_prometheus_parse(good, &parsed, error, sizeof(error)) == 0, "%s", error);
	ck_assert_str_eq(test_prometheus_metric_find(&parsed, "a_b")->help, "An \\ help\n text.");
	ck_assert_str_eq(test_prometheus_label(&parsed.samples[0], "x"), "q\"\\\n");
	ck_assert(test_prometheus_value(&parsed, "a_b", (const char *[]){"x", "r", NULL}) == -2000);
	test_prometheus_free(&parsed);

	static const struct {
		const char *text, *why;
	} bad[] = {
		{"", "empty"},
		{"# TYPE a gauge\na 1", "newline"},
		{"a 1\n", "no TYPE"},
		{"# TYPE a gauge\n\na 1\n", "empty line"},
		{"# a comment\n", "neither"},
		{"# TYPE a gauge\n# TYPE a gauge\na 1\n", "second TYPE"},
		{"# TYPE a gauge\na 1\n# HELP a late\n", "after a sample"},
		{"# TYPE a meter\na 1\n", "type"},
		{"# TYPE a gauge\na{x=\"1\"} one\n", "not a number"},
		{"# TYPE a gauge\na{x=\"1\"} inf\n", "not a number"},
		{"# TYPE a gauge\na{x=\"1\"}\n", "no space"},
		{"# TYPE a gauge\na{x=\"a\"b\"} 1\n", "neither ',' nor '}'"},
		{"# TYPE a gauge\na{x=\"\\t\"} 1\n", "no escape"},
		{"# TYPE a gauge\na{x=\"1} 1\n", "closing"},
		{"# TYPE a gauge\na{1x=\"1\"} 1\n", "label name"},
		{"# TYPE a gauge\na{__x=\"1\"} 1\n", "reserved"},
		{"# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n", "twice"},
		{"# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", "twice"},
		{"# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"2\"} 1\n", "one group"},
		{"# TYPE 1a gauge\n1a 1\n", "metric name"},
		{"# HELP a bad \\q\n# TYPE a gauge\na 1\n", "no escape"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = test_prometheus_parse(bad[i].text, &parsed, error, sizeof(error));
		ck_assert_msg(r < 0 && strstr(error, bad[i].why), "case %zu (%s): %d '%s'", i, bad[i].why, r, error);
		test_prometheus_free(&parsed);
	}
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *tc = tcase_create("clean");
	tcase_add_unchecked_fixture(tc, runner_setup, runner_teardown);
	tcase_add_test(tc, a_clean_host_with_every_layer_granted_audits_clean_with_exit_0);
	suite_add_tcase(s, tc);

	tc = tcase_create("planted drift");
	tcase_add_unchecked_fixture(tc, runner_setup, runner_teardown);
	tcase_add_loop_test(tc, drift_planted_in_one_layer_exits_3_with_exactly_its_findings_and_undone_is_clean_again,
			    0, (int)N_PLANTS);
	suite_add_tcase(s, tc);

	tc = tcase_create("output and scope");
	tcase_add_unchecked_fixture(tc, runner_setup, runner_teardown);
	tcase_add_test(tc, the_text_table_names_the_labeler_kind_and_node_of_a_finding);
	tcase_add_test(tc, the_memlock_finding_s_fix_is_a_command_that_clears_it);
	tcase_add_test(tc, domain_limits_the_audit_to_that_domain_and_its_devices);
	tcase_add_test(tc, audit_changes_nothing_it_reads);
	suite_add_tcase(s, tc);

	tc = tcase_create("labelers from the journal");
	tcase_add_unchecked_fixture(tc, runner_setup, runner_teardown);
	tcase_add_test(tc, audit_checks_the_layers_the_domain_was_applied_with_as_the_journal_records_them);
	tcase_add_test(tc, audit_loads_the_labelers_the_journal_names_that_the_configuration_leaves_out);
	tcase_add_test(tc, a_switch_to_fd_that_would_leave_a_labeler_s_path_grants_is_refused_changing_nothing);
	tcase_add_test(tc, an_apply_that_switches_nothing_keeps_a_labeler_s_grants_it_does_not_load);
	tcase_add_test(tc, a_revoke_that_fails_on_some_records_journals_the_others_undone);
	tcase_add_test(tc, a_labeler_the_journal_names_that_is_not_loadable_here_is_a_finding_naming_it);
	tcase_add_test(tc, two_domains_claiming_one_group_is_a_host_finding);
	tcase_add_test(tc, a_journal_cut_after_its_begin_is_named_by_its_file_and_restore_is_the_fix);
	suite_add_tcase(s, tc);

	tc = tcase_create("prometheus");
	tcase_add_unchecked_fixture(tc, runner_setup, runner_teardown);
	tcase_add_test(tc, the_metrics_reader_refuses_what_the_text_format_does_not_allow);
	tcase_add_test(tc, prometheus_metrics_count_the_domains_and_each_labelers_grants_as_the_journal_holds_them);
	tcase_add_test(tc, a_finding_in_the_metrics_has_its_labeler_and_kind_and_ok_drops_to_0);
	tcase_add_test(tc, a_domain_name_with_a_quote_and_a_backslash_is_escaped_in_its_label);
	tcase_add_test(tc, format_json_is_json_and_a_failed_audit_writes_no_metrics);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(audit_suite());
}
