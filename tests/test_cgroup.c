/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The cgroup labeler for real: child cgroups made in this machine's v1
 * devices hierarchy and its cgroup2 hierarchy, a child process moved into
 * them that opens generated char nodes (1:5, 1:7, 1:8 and 1:9, stand-ins for
 * VFIO nodes, made with mknod under the test's root), and the kernel's own
 * answer: the open works or fails with EPERM. Programs and maps are read back
 * through the bpf syscall, independently of the labeler's code.
 *
 * Every cgroup a test makes is named vfgcg-test-RUNNERPID-TESTPID-N; the
 * unchecked fixture, which runs in the runner process, detaches every program
 * from them and removes them after each test case, also after a failure.
 */
#include <bpf/bpf.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/bpf.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "cgroup_testlib.h"
#include "testlib.h"

#define V1_MOUNT TEST_CGROUP_V1
#define V2_MOUNT TEST_CGROUP_V2

/*
 * The container is 1:7 (full), groups 7 and 8 are 1:5 (zero) and 1:8 (random); /dev/null 1:3 is the base
 * list. Group 9's node has no driver: it is never opened.
 */
static const char host[] = "misc vfio 1:7\n"
			   "misc iommu 1:9\n"
			   "group 7 1:5\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "group 8 1:8\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
			   "group 9 240:9\n"
			   "device 0000:03:00.0 group=9 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n";

#define CONTAINER "/dev/vfio/vfio"
#define GROUP7 "/dev/vfio/7"
#define GROUP8 "/dev/vfio/8"
#define DEVNULL "/dev/null"
#define LEGACY7 "01:00.0,backend=legacy"
#define LEGACY8 "02:00.0,backend=legacy"
#define LEGACY9 "03:00.0,backend=legacy"

static pid_t runner;

/* ---- cgroups the tests make, and their cleanup ---- */

static void cgroup_dir(char *buf, size_t size, const char *mount, int n)
{
	/* the test's own pid too: the runner removes them only once its test case is over */
	snprintf(buf, size, "%s/vfgcg-test-%d-%d-%d", mount, (int)runner, (int)getpid(), n);
}

static void cleanup_cgroups(void)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "vfgcg-test-%d-", (int)runner);
	test_cgroup_remove_prefixed(prefix);
}

static void runner_setup(void)
{
	runner = getpid();
	cleanup_cgroups();
}

static void make_dir(const char *path)
{
	ck_assert_msg(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

static void write_to(const char *dir, const char *file, const char *text)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_msg(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write '%s' to %s: %s", text, path,
		      strerror(errno));
	close(fd);
}

/* A v1 cgroup that denies every device but the ones given (devices.allow lines, NULL-terminated). */
static void make_v1_cgroup(char *dir, size_t size, int n, const char *const *allowed)
{
	cgroup_dir(dir, size, V1_MOUNT, n);
	make_dir(dir);
	write_to(dir, "devices.deny", "a");
	for (size_t i = 0; allowed[i]; i++)
		write_to(dir, "devices.allow", allowed[i]);
}

static void make_v2_cgroup(char *dir, size_t size, int n)
{
	cgroup_dir(dir, size, V2_MOUNT, n);
	make_dir(dir);
}

/* ---- what the kernel says ---- */

/*
 * open(@path, O_RDWR) from a child moved into the cgroups @dirs (NULL-terminated; none: it stays where the
 * runner is): 0 when it opened, else the errno.
 */
static int open_in(const char *const *dirs, const char *path)
{
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int result = -1; /* could not join the cgroups */
		bool joined = true;
		for (size_t i = 0; dirs[i] && joined; i++) {
			char procs[1024];
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", dirs[i]);
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			joined = fd >= 0 && write(fd, "0", 1) == 1;
			if (fd >= 0)
				close(fd);
		}
		if (joined) {
			int fd = open(path, O_RDWR | O_CLOEXEC);
			result = fd >= 0 ? 0 : errno;
		}
		(void)!write(pipefd[1], &result, sizeof(result));
		_exit(0);
	}
	int result = -2;
	ck_assert_int_eq(read(pipefd[0], &result, sizeof(result)), (ssize_t)sizeof(result));
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	close(pipefd[0]);
	close(pipefd[1]);
	ck_assert_msg(result >= 0, "the child could not join its cgroups");
	return result;
}

static void expect_opens(const char *dir, const char *root, const char *logical)
{
	int r = open_in((const char *[]){dir, NULL}, test_path(root, logical));
	ck_assert_msg(r == 0, "opening %s in %s: %s, expected it to open", logical, dir, strerror(r));
}

static void expect_eperm(const char *dir, const char *root, const char *logical)
{
	int r = open_in((const char *[]){dir, NULL}, test_path(root, logical));
	ck_assert_msg(r == EPERM, "opening %s in %s: %s, expected EPERM", logical, dir, r ? strerror(r) : "opened");
}

/*
 * The cgroup lets the open through (the device cgroup refuses with EPERM
 * alone, devcgroup_check_permission()); the driver may still refuse it after
 * (ptmx outside a devpts tree: ENOENT).
 */
static void expect_past_the_cgroup(const char *dir, const char *root, const char *logical)
{
	int r = open_in((const char *[]){dir, NULL}, test_path(root, logical));
	ck_assert_msg(r != EPERM && r != -1, "opening %s in %s: %s, expected the cgroup to let it through", logical,
		      dir, r > 0 ? strerror(r) : "could not join");
}

/* The ids of the device programs attached to @dir itself, "17 23" (empty: none). */
static void attached_programs(const char *dir, char *buf, size_t size)
{
	int cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(cgroup_fd, 0);
	__u32 ids[64], n = 64, flags = 0;
	ck_assert_msg(bpf_prog_query(cgroup_fd, BPF_CGROUP_DEVICE, 0, &flags, ids, &n) == 0, "BPF_PROG_QUERY %s: %s",
		      dir, strerror(errno));
	close(cgroup_fd);
	size_t used = 0;
	buf[0] = '\0';
	for (__u32 i = 0; i < n; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%u", i ? " " : "", ids[i]);
}

/* vfguard's program on @dir: its id, and its map (the caller closes it); 0 when there is none. */
static __u32 vfguard_program(const char *dir, int *map_fd)
{
	int cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(cgroup_fd, 0);
	__u32 ids[64], n = 64, flags = 0, found = 0;
	ck_assert_int_eq(bpf_prog_query(cgroup_fd, BPF_CGROUP_DEVICE, 0, &flags, ids, &n), 0);
	close(cgroup_fd);
	for (__u32 i = 0; i < n && !found; i++) {
		int fd = bpf_prog_get_fd_by_id(ids[i]);
		ck_assert_int_ge(fd, 0);
		__u32 map_ids[4];
		struct bpf_prog_info info = {.nr_map_ids = 4, .map_ids = (__u64)(uintptr_t)map_ids};
		__u32 len = sizeof(info);
		ck_assert_int_eq(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		close(fd);
		if (strcmp(info.name, "vfg_devices") != 0)
			continue;
		ck_assert_uint_eq(info.nr_map_ids, 1);
		ck_assert_int_eq(info.type, BPF_PROG_TYPE_CGROUP_DEVICE);
		if (map_fd) {
			*map_fd = bpf_map_get_fd_by_id(map_ids[0]);
			ck_assert_int_ge(*map_fd, 0);
		}
		found = ids[i];
	}
	return found;
}

static int compare_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The map of vfguard's program on @dir, one sorted line a rule: "c 1:5 6 grant", "c 136:* 6 base"
 * (type, numbers, access bits, flags). NULL when no vfguard program is attached. free() it.
 */
static char *map_content(const char *dir, size_t *count)
{
	int map_fd = -1;
	if (!vfguard_program(dir, &map_fd))
		return NULL;
	struct {
		__u32 type, major, minor;
	} key, next;
	struct {
		__u32 access, flags;
	} value;
	size_t n = 0, cap = 0;
	char **lines = NULL;
	for (const void *at = NULL; bpf_map_get_next_key(map_fd, at, &next) == 0; at = &key) {
		key = next;
		ck_assert_int_eq(bpf_map_lookup_elem(map_fd, &key, &value), 0);
		if (n == cap)
			lines = realloc(lines, (cap = cap ? 2 * cap : 64) * sizeof(*lines));
		char major_text[16], minor_text[16];
		snprintf(major_text, sizeof(major_text), key.major == ~0u ? "*" : "%u", key.major);
		snprintf(minor_text, sizeof(minor_text), key.minor == ~0u ? "*" : "%u", key.minor);
		ck_assert_int_ge(asprintf(&lines[n++], "%c %s:%s %u%s%s", key.type == 2 ? 'c' : 'b', major_text,
					  minor_text, value.access, value.flags & 1 ? " base" : "",
					  value.flags & 2 ? " grant" : ""),
				 0);
	}
	/* ENOENT: past the last key; any other error cut the listing short */
	ck_assert_msg(errno == ENOENT, "BPF_MAP_GET_NEXT_KEY on %s: %s", dir, strerror(errno));
	close(map_fd);
	qsort(lines, n, sizeof(*lines), compare_lines);
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s\n", lines[i]);
		free(lines[i]);
	}
	fclose(out);
	free(lines);
	if (count)
		*count = n;
	return text;
}

static void expect_map(const char *dir, const char *expected)
{
	char *content = map_content(dir, NULL);
	ck_assert_msg(content != NULL, "no vfguard program on %s", dir);
	ck_assert_msg(strcmp(content, expected) == 0, "map of %s:\n%s\nexpected:\n%s", dir, content, expected);
	free(content);
}

/* ---- vfguard ---- */

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
} fixture;

static void fixture_open_with(fixture *f, const char *manifest, const char *config)
{
	f->root = test_root_new(manifest);
	/* the base list's /dev/null, read from the node under the root as every host path is */
	ck_assert_int_eq(mknod(test_path(f->root, DEVNULL), S_IFCHR | 0666, makedev(1, 3)), 0);
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", config);
	f->ctx = test_context(f->root);
}

static void fixture_open(fixture *f)
{
	fixture_open_with(f, host, "labelers = cgroup\n");
}

static void fixture_close(fixture *f)
{
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
}

/* A domain in cgroup @cgroup (or, when NULL, the cgroups of @pid) with @hostdevs (NULL-terminated). */
static int domain_plan(fixture *f, const char *name, const char *cgroup, pid_t pid, const char *const *hostdevs,
		       vfg_plan **plan, vfg_error *err)
{
	size_t n = 0;
	while (hostdevs[n])
		n++;
	vfg_hostdev_spec *specs = calloc(n, sizeof(*specs));
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, hostdevs[i], &specs[i], err) == 0, "%s", err->message);
	vfg_domain domain = {.uid = 107, .gid = 107, .pid = pid, .n_hostdevs = n, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "%s", name);
	test_domain_attr(&domain, "cgroup.path", "%s", cgroup ? cgroup : "");
	int r = vfg_plan_build(f->ctx, &domain, plan, err);
	free(specs);
	return r;
}

/* The plan of domain @name in @cgroup (or @pid's) with one hostdev; the test fails when there is none. */
static vfg_plan *domain_plan_ok(fixture *f, const char *name, const char *cgroup, pid_t pid, const char *hostdev)
{
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(domain_plan(f, name, cgroup, pid, (const char *[]){hostdev, NULL}, &plan, &err) == 0,
		      "plan %s: %s", name, err.message);
	return plan;
}

static int domain_apply(fixture *f, const char *name, const char *cgroup, pid_t pid, const char *const *hostdevs,
			vfg_change_summary *summary, vfg_error *err)
{
	vfg_plan *plan = NULL;
	int r = domain_plan(f, name, cgroup, pid, hostdevs, &plan, err);
	if (r == 0)
		r = vfg_plan_apply(f->ctx, plan, summary, err);
	vfg_plan_free(plan);
	return r;
}

static void domain_apply_ok(fixture *f, const char *name, const char *cgroup, const char *const *hostdevs,
			    vfg_change_summary *summary)
{
	vfg_error err = {0};
	ck_assert_msg(domain_apply(f, name, cgroup, 0, hostdevs, summary, &err) == 0, "apply %s: %s", name,
		      err.message);
}

static void domain_revoke_ok(fixture *f, const char *name)
{
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_domain_revoke(f->ctx, name, &summary, &err) == 0, "revoke %s: %s", name, err.message);
}

/* A child that joins @dirs and waits (cgroup_testlib.h). */
static pid_t vm_process_start(const char *const *dirs, bool own_mounts)
{
	pid_t pid = test_cgroup_child_in(dirs, own_mounts);
	ck_assert_msg(pid > 0, "a child could not join its cgroups");
	return pid;
}

static pid_t vm_process_in(const char *const *dirs)
{
	return vm_process_start(dirs, false);
}

static void vm_process_stop(pid_t pid)
{
	test_cgroup_child_stop(pid);
}

/* ---- v2 ---- */

START_TEST(v2_grant_opens_the_granted_nodes_and_the_base_list_and_nothing_else)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);

	expect_opens(dir, f.root, GROUP7);
	expect_opens(dir, f.root, CONTAINER);
	expect_opens(dir, f.root, DEVNULL); /* the base list */
	expect_eperm(dir, f.root, GROUP8);
	/* the default base list, as the root has it (only /dev/null), and the pty major; then the grants */
	expect_map(dir, "c 136:* 6 base\nc 1:3 6 base\nc 1:5 6 grant\nc 1:7 6 grant\n");
	/* a process outside the cgroup is not affected */
	int r = open_in((const char *[]){NULL}, test_path(f.root, GROUP8));
	ck_assert_msg(r == 0, "opening group 8 outside the cgroup: %s", strerror(r));

	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/*
 * The program's four looks, each proved by an open only it allows: a rule
 * by any minor (ptmx, c 5:2, past the cgroup), by any major (/dev/iommu, c 1:9 here), and by
 * both (a second cgroup whose base list is c *:* rw); a rule that covers
 * only part of the access asked for allows nothing (c *:* r, the rw open of
 * group 8).
 */
START_TEST(v2_the_program_looks_a_rule_up_exactly_by_any_minor_by_any_major_and_by_both)
{
	fixture f, all;
	fixture_open_with(&f, host,
			  "labelers = cgroup\ncgroup_base_devices = /dev/null, c 5:* rw, c *:9 rw, c *:* r\n");
	fixture_open_with(&all, host, "labelers = cgroup\ncgroup_base_devices = c *:* rw\n");
	ck_assert_int_eq(mknod(test_path(f.root, "/dev/vfgt-ptmx"), S_IFCHR | 0666, makedev(5, 2)), 0);
	char dir[256], dir_all[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	make_v2_cgroup(dir_all, sizeof(dir_all), 2);
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	domain_apply_ok(&all, "vm2", dir_all, (const char *[]){LEGACY7, NULL}, NULL);

	expect_opens(dir, f.root, GROUP7); /* exactly */
	expect_past_the_cgroup(dir, f.root, "/dev/vfgt-ptmx"); /* c 5:* */
	expect_opens(dir, f.root, "/dev/iommu"); /* c *:9 */
	expect_eperm(dir, f.root, GROUP8); /* c *:* r alone: not the w */
	expect_opens(dir_all, all.root, GROUP8); /* c *:* rw */

	domain_revoke_ok(&f, "vm1");
	domain_revoke_ok(&all, "vm2");
	expect_opens(dir, f.root, GROUP8); /* no program left: the cgroup allows all */
	fixture_close(&all);
	fixture_close(&f);
}
END_TEST

START_TEST(v2_revoke_denies_the_node_again_while_another_domain_keeps_the_program)
{
	fixture f;
	fixture_open(&f);
	char dir[256], before[256], programs[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	attached_programs(dir, before, sizeof(before));
	domain_apply_ok(&f, "a", dir, (const char *[]){LEGACY7, NULL}, NULL);
	domain_apply_ok(&f, "b", dir, (const char *[]){LEGACY8, NULL}, NULL);
	__u32 id = vfguard_program(dir, NULL);
	expect_opens(dir, f.root, GROUP7);
	expect_opens(dir, f.root, GROUP8);

	domain_revoke_ok(&f, "a");
	expect_eperm(dir, f.root, GROUP7);
	expect_opens(dir, f.root, GROUP8);
	expect_opens(dir, f.root, CONTAINER); /* shared: b in this cgroup still holds it */
	expect_opens(dir, f.root, DEVNULL);
	ck_assert_uint_eq(vfguard_program(dir, NULL), id); /* never reloaded */
	expect_map(dir, "c 136:* 6 base\nc 1:3 6 base\nc 1:7 6 grant\nc 1:8 6 grant\n");

	domain_revoke_ok(&f, "b");
	attached_programs(dir, programs, sizeof(programs));
	ck_assert_str_eq(programs, before);
	test_expect_no_xattr(dir, "trusted.vfguard.c1:7");
	fixture_close(&f);
}
END_TEST

enum { MANY_DOMAINS = 10, MANY_PER_DOMAIN = 100 };

/* @groups single-function groups, 240:0 on (nodes with no driver; nothing opens them). */
static char *many_groups_host(int groups)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	fprintf(out, "misc vfio 1:7\n");
	for (int i = 0; i < groups; i++)
		fprintf(out,
			"group %d 240:%d\ndevice 0000:%02x:%02x.0 group=%d vendor=8086 device=10d3 class=020000 "
			"driver=vfio-pci\n",
			i, i, i / 32 + 1, i % 32, i);
	fclose(out);
	return text;
}

/* The hostdev of group @n of many_groups_host(). */
static char *many_hostdev(int n)
{
	char *hostdev = NULL;
	ck_assert_int_ge(asprintf(&hostdev, "0000:%02x:%02x.0,backend=legacy", n / 32 + 1, n % 32), 0);
	return hostdev;
}

static void apply_many(fixture *f, int domain, const char *dir)
{
	char name[16], *hostdevs[MANY_PER_DOMAIN + 1];
	snprintf(name, sizeof(name), "vm%d", domain);
	for (int i = 0; i < MANY_PER_DOMAIN; i++)
		hostdevs[i] = many_hostdev(domain * MANY_PER_DOMAIN + i);
	hostdevs[MANY_PER_DOMAIN] = NULL;
	vfg_change_summary summary;
	domain_apply_ok(f, name, dir, (const char *const *)hostdevs, &summary);
	ck_assert_uint_eq(summary.changed, MANY_PER_DOMAIN + 1);
	for (int i = 0; i < MANY_PER_DOMAIN; i++)
		free(hostdevs[i]);
}

START_TEST(v2_a_thousand_grants_keep_one_program_and_the_map_holds_exactly_what_is_granted)
{
	fixture f;
	char *manifest = many_groups_host(MANY_DOMAINS * MANY_PER_DOMAIN);
	fixture_open_with(&f, manifest, "labelers = cgroup\ncgroup_base_devices = c 1:3 rw\n");
	free(manifest);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);

	__u32 id = 0;
	for (int d = 0; d < MANY_DOMAINS; d++) {
		apply_many(&f, d, dir);
		__u32 now = vfguard_program(dir, NULL);
		ck_assert_uint_ne(now, 0);
		if (d == 0)
			id = now;
		ck_assert_msg(now == id, "after domain %d the program is %u, was %u", d, now, id);
	}
	size_t count;
	char *content = map_content(dir, &count);
	ck_assert_uint_eq(count, 1 + 1 + MANY_DOMAINS * MANY_PER_DOMAIN); /* base, container, groups */
	free(content);

	/* revoke the even domains: exactly the odd ones' groups stay, with the base rule and the container */
	for (int d = 0; d < MANY_DOMAINS; d += 2) {
		char name[16];
		snprintf(name, sizeof(name), "vm%d", d);
		domain_revoke_ok(&f, name);
		ck_assert_uint_eq(vfguard_program(dir, NULL), id);
	}
	char *expected = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&expected, &size);
	char **lines = calloc(MANY_DOMAINS * MANY_PER_DOMAIN + 2, sizeof(*lines));
	size_t n = 0;
	ck_assert_int_ge(asprintf(&lines[n++], "c 1:3 6 base"), 0);
	ck_assert_int_ge(asprintf(&lines[n++], "c 1:7 6 grant"), 0);
	for (int d = 1; d < MANY_DOMAINS; d += 2)
		for (int i = 0; i < MANY_PER_DOMAIN; i++)
			ck_assert_int_ge(asprintf(&lines[n++], "c 240:%d 6 grant", d * MANY_PER_DOMAIN + i), 0);
	qsort(lines, n, sizeof(*lines), compare_lines);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s\n", lines[i]);
		free(lines[i]);
	}
	fclose(out);
	free(lines);
	expect_map(dir, expected);
	free(expected);

	for (int d = 1; d < MANY_DOMAINS; d += 2) {
		char name[16];
		snprintf(name, sizeof(name), "vm%d", d);
		domain_revoke_ok(&f, name);
	}
	ck_assert_uint_eq(vfguard_program(dir, NULL), 0);
	fixture_close(&f);
}
END_TEST

/* A device program of someone else's (systemd's sd_devices, libvirt's): it allows everything. */
static int attach_foreign_program(const char *dir)
{
	/* r0 = 1; exit */
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts);
	int prog_fd = bpf_prog_load(BPF_PROG_TYPE_CGROUP_DEVICE, "sd_devices", "GPL", insns, 2, &opts);
	ck_assert_msg(prog_fd >= 0, "loading the foreign program: %s", strerror(errno));
	int cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(cgroup_fd, 0);
	ck_assert_msg(bpf_prog_attach(prog_fd, cgroup_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) == 0,
		      "attaching the foreign program: %s", strerror(errno));
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	ck_assert_int_eq(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
	close(cgroup_fd);
	close(prog_fd);
	return (int)info.id;
}

START_TEST(v2_a_foreign_program_is_named_with_the_rule_it_must_allow_and_apply_changes_nothing)
{
	fixture f;
	fixture_open(&f);
	char parent[256], dir[512], before[256], programs[256];
	make_v2_cgroup(parent, sizeof(parent), 1);
	bool on_ancestor = _i == 1;
	snprintf(dir, sizeof(dir), "%s%s", parent, on_ancestor ? "/vm" : "");
	if (on_ancestor)
		make_dir(dir);
	int id = attach_foreign_program(parent);
	attached_programs(parent, before, sizeof(before));
	/* DAC first, as the default order has it: a refusal must come before its chown too. */
	vfg_error err = {0};
	vfg_context_free(f.ctx);
	f.ctx = vfg_context_new(
		&(vfg_context_options){.root = f.root, .overrides = (const char *const[]){"labelers=dac cgroup", NULL}},
		&err);
	ck_assert_msg(f.ctx != NULL, "%s", err.message);
	char *state_before = test_snapshot(f.root, TEST_SNAPSHOT_NO_STATE);

	char program[64], rule[] = "must allow 'c 1:5 rw'";
	snprintf(program, sizeof(program), "program %d 'sd_devices' on %s", id, parent);
	vfg_plan *plan = NULL;
	ck_assert_msg(domain_plan(&f, "vm1", dir, 0, (const char *[]){LEGACY7, NULL}, &plan, &err) == 0, "%s",
		      err.message);
	const vfg_step *step = test_step(plan, "cgroup", GROUP7);
	ck_assert_int_eq(step->action, VFG_ACTION_REFUSE);
	ck_assert_int_eq(test_step(plan, "dac", GROUP7)->action, VFG_ACTION_GRANT);
	ck_assert_msg(strstr(step->reason, program) && strstr(step->reason, rule), "plan reason: %s", step->reason);
	ck_assert_msg(strstr(step->detail, "another device program must too"), "plan detail: %s", step->detail);

	ck_assert_int_eq(vfg_plan_apply(f.ctx, plan, NULL, &err), -1);
	vfg_plan_free(plan);
	ck_assert_msg(strstr(err.message, program) && strstr(err.message, "must allow 'c 1:7 rw'") &&
			      strstr(err.message, "cgroup_foreign_programs = proceed"),
		      "apply error: %s", err.message);
	attached_programs(parent, programs, sizeof(programs));
	ck_assert_str_eq(programs, before);
	attached_programs(dir, programs, sizeof(programs));
	ck_assert_str_eq(programs, on_ancestor ? "" : before);
	test_expect_no_xattr(dir, "trusted.vfguard.c1:7");
	test_snapshot_expect(f.root, TEST_SNAPSHOT_NO_STATE, state_before, "a refused apply");
	ck_assert_ptr_null(test_read_file(f.root, "/run/vfguard/domains/vm1.journal"));
	free(state_before);

	/* told to proceed, it does, and the round trip leaves the foreign program alone */
	vfg_context_free(f.ctx);
	f.ctx = vfg_context_new(
		&(vfg_context_options){.root = f.root,
				       .overrides = (const char *const[]){"cgroup_foreign_programs=proceed", NULL}},
		&err);
	ck_assert_msg(f.ctx != NULL, "%s", err.message);
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	expect_opens(dir, f.root, GROUP7);
	expect_eperm(dir, f.root, GROUP8);
	domain_revoke_ok(&f, "vm1");
	attached_programs(parent, programs, sizeof(programs));
	ck_assert_str_eq(programs, before);
	attached_programs(dir, programs, sizeof(programs));
	ck_assert_str_eq(programs, on_ancestor ? "" : before);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_plan_names_the_foreign_program_and_cli_apply_fails_with_it)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	int id = attach_foreign_program(dir);
	char program[64];
	snprintf(program, sizeof(program), "program %d 'sd_devices'", id);
	const char *args[] = {"--root", f.root, "--domain", "vm1", "--cgroup", dir, "--hostdev", LEGACY7, NULL};
	test_run run;
	test_cli(&run, (const char *[]){"plan", args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7],
					NULL});
	ck_assert_msg(run.status == 0, "plan exit %d: %s", run.status, run.err);
	ck_assert_msg(strstr(run.out, program) && strstr(run.out, "must allow 'c 1:5 rw'"), "plan:\n%s", run.out);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"apply", args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7],
					NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, program) && strstr(run.err, "must allow"), "apply: %s", run.err);
	test_run_free(&run);
	ck_assert_uint_eq(vfguard_program(dir, NULL), 0);
	fixture_close(&f);
}
END_TEST

/* ---- v1 ---- */

static const char *const v1_base[] = {"c 1:3 rwm", NULL};

/* @dir's devices.list is @expected, byte for byte. */
static void expect_devices_list(const char *dir, const char *expected)
{
	char *list = test_cgroup_devices_list(dir);
	ck_assert_str_eq(list, expected);
	free(list);
}

/* A loop test's cgroup: cgroup2's, or v1's denying all but v1_base. */
static void make_cgroup_v1_or_v2(bool v2, char *dir, size_t size)
{
	if (v2)
		make_v2_cgroup(dir, size, 1);
	else
		make_v1_cgroup(dir, size, 1, v1_base);
}

/* The loop test's cgroup @dir removed and made again at its path: another cgroup, with none of its rules. */
static void make_cgroup_again(bool v2, char *dir, size_t size)
{
	if (v2)
		test_cgroup_detach_all(dir);
	ck_assert_msg(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
	make_cgroup_v1_or_v2(v2, dir, size);
}

START_TEST(v1_grant_opens_the_node_and_revoke_denies_it_again)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	make_v1_cgroup(dir, sizeof(dir), 1, v1_base);
	char *before = test_cgroup_devices_list(dir);
	expect_eperm(dir, f.root, GROUP7);

	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	expect_opens(dir, f.root, GROUP7);
	expect_opens(dir, f.root, CONTAINER);
	expect_opens(dir, f.root, DEVNULL);
	expect_eperm(dir, f.root, GROUP8);
	char *granted = test_cgroup_devices_list(dir);
	ck_assert_msg(strstr(granted, "c 1:5 rw\n") && strstr(granted, "c 1:7 rw\n"), "devices.list:\n%s", granted);
	free(granted);

	domain_revoke_ok(&f, "vm1");
	expect_eperm(dir, f.root, GROUP7);
	expect_eperm(dir, f.root, CONTAINER);
	expect_devices_list(dir, before);
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * A cgroup removed and made again at the same path (a container of the same
 * id) is another cgroup: an old domain's revoke must leave its rules alone.
 * A security trial saw it strip the new cgroup's own "c 241:0 rw" and cut
 * "c 10:196 rwm" down to "m". The record holds the grant's cgroup inode.
 */
START_TEST(a_revoke_leaves_a_cgroup_made_again_at_the_path_alone)
{
	fixture f;
	fixture_open(&f);
	bool v2 = _i == 1;
	char dir[256];
	make_cgroup_v1_or_v2(v2, dir, sizeof(dir));
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	if (v2)
		test_cgroup_detach_all(dir);
	ck_assert_msg(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
	ck_assert_msg(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
	if (!v2) {
		write_to(dir, "devices.deny", "a");
		write_to(dir, "devices.allow", "c 1:5 rw");
		write_to(dir, "devices.allow", "c 1:7 rwm");
	}
	char *before = v2 ? NULL : test_cgroup_devices_list(dir);
	/*
	 * A domain of the new cgroup shares the container's rule with none of
	 * the old one's (a review: vm2 counted vm1 as a holder, and vm1's
	 * revoke then skipped, leaving the rule): it restores the rule alone.
	 */
	domain_apply_ok(&f, "vm2", dir, (const char *[]){LEGACY8, NULL}, NULL);
	domain_revoke_ok(&f, "vm2");
	vfg_change_summary summary;
	vfg_error err = {0};
	ck_assert_msg(vfg_domain_revoke(f.ctx, "vm1", &summary, &err) == 0, "revoke: %s", err.message);
	ck_assert_msg(strstr(summary.notes, "is another cgroup now"), "%s", summary.notes);
	if (v2) {
		int map_fd = -1;
		ck_assert_uint_eq(vfguard_program(dir, &map_fd), 0);
	} else {
		expect_devices_list(dir, before);
	}
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * The same domain applied again into a cgroup removed and made again at the
 * same path (a runtime starting a container again under its name, the
 * first one gone without its poststop): the rules went with the old cgroup,
 * and apply used to say "already held" and grant nothing, so the hypervisor
 * got EPERM. Now the held record is undone (leaving the new cgroup alone)
 * and the rules granted into the new one; another apply keeps them, and the
 * revoke takes them back to the new cgroup's own list.
 */
START_TEST(an_apply_into_a_cgroup_made_again_at_the_path_grants_again)
{
	fixture f;
	fixture_open(&f);
	bool v2 = _i == 1;
	char dir[256];
	make_cgroup_v1_or_v2(v2, dir, sizeof(dir));
	const char *const hostdevs[] = {LEGACY7, NULL};
	domain_apply_ok(&f, "vm1", dir, hostdevs, NULL);
	make_cgroup_again(v2, dir, sizeof(dir));
	char *before = v2 ? NULL : test_cgroup_devices_list(dir);

	vfg_change_summary summary;
	domain_apply_ok(&f, "vm1", dir, hostdevs, &summary);
	ck_assert_uint_eq(summary.changed, 2); /* the container's rule and group 7's */
	ck_assert_uint_eq(summary.kept, 0);
	ck_assert_msg(strstr(summary.notes, "is another cgroup now") && strstr(summary.notes, "; granted again"), "%s",
		      summary.notes);
	expect_opens(dir, f.root, GROUP7);
	expect_opens(dir, f.root, CONTAINER);
	expect_eperm(dir, f.root, GROUP8);
	if (v2)
		ck_assert_uint_ne(vfguard_program(dir, NULL), 0);

	domain_apply_ok(&f, "vm1", dir, hostdevs, &summary);
	ck_assert_uint_eq(summary.changed, 0);
	ck_assert_uint_eq(summary.kept, 2);

	domain_revoke_ok(&f, "vm1");
	if (v2) {
		ck_assert_uint_eq(vfguard_program(dir, NULL), 0);
	} else {
		expect_eperm(dir, f.root, GROUP7);
		expect_devices_list(dir, before);
	}
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * A container started again under the same id while the first one's grants
 * are held (it died without its poststop): the new pid's cgroup was told
 * "already held" and got no rule (a trial). Refused, naming both pids and
 * the revoke, nothing changed; after the revoke the new pid is granted.
 */
START_TEST(an_apply_for_another_pid_of_a_held_domain_is_refused)
{
	fixture f;
	fixture_open(&f);
	char first_dir[256], second_dir[256], first_v2[256], second_v2[256];
	make_v1_cgroup(first_dir, sizeof(first_dir), 1, v1_base);
	make_v1_cgroup(second_dir, sizeof(second_dir), 2, v1_base);
	make_v2_cgroup(first_v2, sizeof(first_v2), 1);
	make_v2_cgroup(second_v2, sizeof(second_v2), 2);
	pid_t first = vm_process_in((const char *[]){first_dir, first_v2, NULL});
	pid_t second = vm_process_in((const char *[]){second_dir, second_v2, NULL});
	const char *const hostdevs[] = {LEGACY7, NULL};
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(domain_apply(&f, "vm1", NULL, first, hostdevs, &summary, &err) == 0, "%s", err.message);
	char *before = test_cgroup_devices_list(second_dir);
	ck_assert_int_eq(domain_apply(&f, "vm1", NULL, second, hostdevs, &summary, &err), -1);
	char expected[160];
	snprintf(expected, sizeof(expected), "the domain's grants are for pid %d (its cgroups and /dev), not pid %d",
		 (int)first, (int)second);
	ck_assert_msg(strstr(err.message, expected) && strstr(err.message, "vfguard revoke --domain vm1 first"), "%s",
		      err.message);
	expect_devices_list(second_dir, before);
	/* status names the pid the grants are for, so the admin knows which one is held */
	char *json = NULL;
	size_t json_size = 0;
	FILE *out = open_memstream(&json, &json_size);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(vfg_status_write_json(f.ctx, "vm1", out, &err), 0);
	fclose(out);
	char pid_field[32];
	snprintf(pid_field, sizeof(pid_field), "\"pid\": %d", (int)first);
	ck_assert_msg(strstr(json, pid_field), "%s", json);
	free(json);
	domain_revoke_ok(&f, "vm1");
	ck_assert_msg(domain_apply(&f, "vm1", NULL, second, hostdevs, &summary, &err) == 0, "%s", err.message);
	int opened = open_in((const char *[]){second_dir, second_v2, NULL}, test_path(f.root, GROUP7));
	ck_assert_msg(opened == 0, "the second pid's cgroups deny %s: %s", GROUP7, strerror(opened));
	domain_revoke_ok(&f, "vm1");
	vm_process_stop(first);
	vm_process_stop(second);
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * The domain's rules are in cgroup A; an apply naming cgroup B kept them as
 * held and told "already held", and B got no rule (found trying the CLI).
 * Refused, naming both and the revoke, B unchanged; an apply that names no
 * cgroup leaves the layer off and keeps what is held; after the revoke B is
 * granted.
 */
START_TEST(an_apply_naming_another_cgroup_of_a_held_domain_is_refused)
{
	fixture f;
	fixture_open(&f);
	char first[256], second[256];
	make_v1_cgroup(first, sizeof(first), 1, v1_base);
	make_v1_cgroup(second, sizeof(second), 2, v1_base);
	const char *const hostdevs[] = {LEGACY7, NULL};
	vfg_error err = {0};
	vfg_change_summary summary;
	domain_apply_ok(&f, "vm1", first, hostdevs, &summary);
	char *before = test_cgroup_devices_list(second);
	ck_assert_int_eq(domain_apply(&f, "vm1", second, 0, hostdevs, &summary, &err), -1);
	char expected[600];
	snprintf(expected, sizeof(expected),
		 "the domain's device cgroup rules are in cgroup %s, not cgroup %s: an apply keeps what the domain "
		 "holds, so %s would get no rule for ",
		 first, second, second);
	ck_assert_msg(strstr(err.message, expected) && strstr(err.message, "give --cgroup ") &&
			      strstr(err.message, "or run vfguard revoke --domain vm1 first"),
		      "%s", err.message);
	expect_devices_list(second, before);
	domain_apply_ok(&f, "vm1", NULL, hostdevs, &summary);
	domain_revoke_ok(&f, "vm1");
	domain_apply_ok(&f, "vm1", second, hostdevs, &summary);
	int opened = open_in((const char *[]){second, NULL}, test_path(f.root, GROUP7));
	ck_assert_msg(opened == 0, "cgroup %s denies %s: %s", second, GROUP7, strerror(opened));
	domain_revoke_ok(&f, "vm1");
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * A cgroup path whose record would not fit VFG_UNDO_MAX: refused before any
 * change. A review found the text cut (a v2 inode "@697" for 69793, then a
 * revoke that left the grant) or refused by its own rollback, the
 * transaction left open, and a stack buffer overrun under ASan.
 */
START_TEST(a_cgroup_path_too_long_for_its_record_is_refused_and_nothing_changes)
{
	fixture f;
	fixture_open(&f);
	/* A VM in a v1 and a v2 cgroup, each two components of 170 spaces: 1020 bytes escaped each. */
	char dirs[2][1024], spaces[171];
	memset(spaces, ' ', sizeof(spaces) - 1);
	spaces[sizeof(spaces) - 1] = '\0';
	make_v1_cgroup(dirs[0], sizeof(dirs[0]), 1, v1_base);
	make_v2_cgroup(dirs[1], sizeof(dirs[1]), 1);
	for (int h = 0; h < 2; h++)
		for (int level = 0; level < 2; level++) {
			size_t length = strlen(dirs[h]);
			snprintf(dirs[h] + length, sizeof(dirs[h]) - length, "/%s", spaces);
			make_dir(dirs[h]);
		}
	write_to(dirs[0], "devices.deny", "a");
	write_to(dirs[0], "devices.allow", v1_base[0]);
	char *before = test_cgroup_devices_list(dirs[0]);
	pid_t vm = vm_process_in((const char *[]){dirs[0], dirs[1], NULL});
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_int_eq(domain_apply(&f, "vm1", NULL, vm, (const char *[]){LEGACY7, NULL}, &summary, &err), -1);
	ck_assert_msg(strstr(err.message, "too long for its record") && strstr(err.message, "nothing was changed"),
		      "%s", err.message);
	char *after = test_cgroup_devices_list(dirs[0]);
	ck_assert_str_eq(after, before);
	int map_fd = -1;
	ck_assert_uint_eq(vfguard_program(dirs[1], &map_fd), 0);
	ck_assert_int_eq(test_journal_files(f.root), 0);
	vm_process_stop(vm);
	free(after);
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * libcgroup is asked once a boot where the devices hierarchy is mounted
 * (cgroup_hold.c, the boot's answer); its answer is kept in the state
 * directory. What this process maps tells whether it was asked: cgroup-v1.so
 * brings libcgroup, and stays loaded (RTLD_NODELETE). Each command runs in
 * a child of its own, a process as a hook's would be.
 */
static bool libcgroup_mapped(void)
{
	char *maps = test_read_file("/", "/proc/self/maps");
	bool mapped = strstr(maps, "/libcgroup.so") != NULL;
	free(maps);
	return mapped;
}

/* The exit status of @child, waited for; -1 when it did not exit (a signal). */
static int child_exit_status(pid_t child)
{
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

typedef enum { CHILD_APPLY, CHILD_REVOKE, CHILD_RESTORE } child_command;
static const char *const child_command_names[] = {"apply", "revoke", "restore"};

/*
 * In a child: apply or revoke domain @name, or restore; exits 0 when it
 * worked and libcgroup is mapped as @mapped.
 */
static void command_in_child(fixture *f, child_command command, const char *name, const char *dir, const char *hostdev,
			     bool mapped)
{
	const char *what = child_command_names[command];
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		vfg_error err = {0};
		vfg_change_summary summary;
		int r = command == CHILD_APPLY
				? domain_apply(f, name, dir, 0, (const char *[]){hostdev, NULL}, &summary, &err)
			: command == CHILD_REVOKE ? vfg_domain_revoke(f->ctx, name, &summary, &err)
						  : vfg_restore(f->ctx, false, &summary, &err);
		if (r < 0)
			fprintf(stderr, "%s %s: %s\n", what, name ? name : "", err.message);
		_exit(r < 0 ? 2 : libcgroup_mapped() == mapped ? 0 : 3);
	}
	int status = child_exit_status(child);
	ck_assert_msg(status >= 0 && status != 2, "%s %s failed", what, name ? name : "");
	ck_assert_msg(status == 0, "%s %s: libcgroup %s", what, name ? name : "",
		      mapped ? "was not asked" : "was asked again");
}

#define V1_KNOWN "/run/vfguard/cgroup-v1-devices"

START_TEST(v1_libcgroup_is_asked_once_a_boot_and_its_answer_is_checked_each_time)
{
	fixture f;
	fixture_open(&f);
	char dir[256], line[512], boot[VFG_BOOT_ID_STRLEN];
	make_v1_cgroup(dir, sizeof(dir), 1, v1_base);
	struct stat st;
	ck_assert_int_eq(stat(dir, &st), 0);
	vfg_error err = {0};
	ck_assert_int_eq(vfg_boot_id_read(VFG_BOOT_ID_PATH, boot, &err), 1);

	/* the boot's first write asks libcgroup, and keeps the answer: boot, superblock, mount point */
	command_in_child(&f, CHILD_APPLY, "vm1", dir, LEGACY7, true);
	expect_opens(dir, f.root, GROUP7);
	char *known = test_read_file(f.root, V1_KNOWN);
	snprintf(line, sizeof(line), "%s %u:%u %s\n", boot, major(st.st_dev), minor(st.st_dev), V1_MOUNT);
	ck_assert_str_eq(known, line);
	free(known);
	/* the next commands of the boot take it: the grant and its revoke work, libcgroup is not mapped */
	command_in_child(&f, CHILD_APPLY, "vm2", dir, LEGACY8, false);
	expect_opens(dir, f.root, GROUP8);
	command_in_child(&f, CHILD_REVOKE, "vm2", NULL, NULL, false);
	expect_eperm(dir, f.root, GROUP8);

	/* an answer of another boot, superblock or mount point is not taken: libcgroup is asked again */
	const char *other_boot = "00000000-0000-4000-8000-000000000000";
	unsigned ma = major(st.st_dev), mi = minor(st.st_dev);
	char wrong[5][512];
	snprintf(wrong[0], sizeof(wrong[0]), "%s %u:%u %s\n", other_boot, ma, mi, V1_MOUNT);
	snprintf(wrong[1], sizeof(wrong[1]), "%s %u:%u /sys/fs/cgroup/other\n", boot, ma, mi);
	snprintf(wrong[2], sizeof(wrong[2]), "%s %u:%u %s\n", boot, ma, mi + 1, V1_MOUNT);
	snprintf(wrong[3], sizeof(wrong[3]), "%s %u:%u %s", boot, ma, mi, V1_MOUNT); /* torn: no newline */
	snprintf(wrong[4], sizeof(wrong[4]), "not a boot id %u:%u %s\n", ma, mi, V1_MOUNT);
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		snprintf(line, sizeof(line), "%s", wrong[i]);
		test_write_file(f.root, V1_KNOWN, line);
		command_in_child(&f, CHILD_APPLY, "vm3", dir, LEGACY8, true);
		expect_opens(dir, f.root, GROUP8);
		command_in_child(&f, CHILD_REVOKE, "vm3", NULL, NULL, false); /* the answer is the boot's again */
		expect_eperm(dir, f.root, GROUP8);
	}
	command_in_child(&f, CHILD_REVOKE, "vm1", NULL, NULL, false);
	expect_eperm(dir, f.root, GROUP7);
	fixture_close(&f);
}
END_TEST

/*
 * vfguard restore --boot, which vfguard-restore.service runs at boot, asks
 * libcgroup once and keeps the answer: the boot's first apply, and every
 * command after it, takes it without mapping libcgroup. A later restore of
 * the same boot does not ask again.
 */
START_TEST(v1_the_boots_restore_keeps_the_answer_so_no_apply_of_the_boot_asks_libcgroup)
{
	fixture f;
	fixture_open(&f);
	char dir[256], line[512], boot[VFG_BOOT_ID_STRLEN];
	make_v1_cgroup(dir, sizeof(dir), 1, v1_base);
	struct stat st;
	ck_assert_int_eq(stat(V1_MOUNT, &st), 0);
	vfg_error err = {0};
	ck_assert_int_eq(vfg_boot_id_read(VFG_BOOT_ID_PATH, boot, &err), 1);
	/* The boot vfguard reads under its root (core/boot.c): this one, so restore --boot sweeps as at boot. */
	snprintf(line, sizeof(line), "%s\n", boot);
	test_write_file(f.root, "/proc/sys/kernel/random/boot_id", line);

	command_in_child(&f, CHILD_RESTORE, NULL, NULL, NULL, true);
	char *known = test_read_file(f.root, V1_KNOWN);
	snprintf(line, sizeof(line), "%s %u:%u %s\n", boot, major(st.st_dev), minor(st.st_dev), V1_MOUNT);
	ck_assert_str_eq(known, line);
	free(known);
	command_in_child(&f, CHILD_APPLY, "vm1", dir, LEGACY7, false);
	expect_opens(dir, f.root, GROUP7);
	command_in_child(&f, CHILD_RESTORE, NULL, NULL, NULL, false);
	command_in_child(&f, CHILD_REVOKE, "vm1", NULL, NULL, false);
	expect_eperm(dir, f.root, GROUP7);
	fixture_close(&f);
}
END_TEST

/*
 * The devices hierarchy mounted a second time, in a mount namespace of the
 * child's own: a cgroup reached through that mount is on the very
 * superblock the boot's answer names, yet not below the mount point
 * libcgroup gave, and is refused as libcgroup refuses it (the cgroups of a
 * domain are known by path: docs/cgroup.md).
 */
START_TEST(v1_a_cgroup_through_a_second_mount_is_refused_with_the_boots_answer_kept)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	make_v1_cgroup(dir, sizeof(dir), 1, v1_base);
	command_in_child(&f, CHILD_APPLY, "vm1", dir, LEGACY7, true);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		char second[] = "/tmp/vfgcg-second-XXXXXX", through[512];
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    !mkdtemp(second) || mount("cgroup", second, "cgroup", 0, "devices") < 0)
			_exit(2);
		snprintf(through, sizeof(through), "%s%s", second, dir + strlen(V1_MOUNT));
		struct stat a, b;
		if (stat(through, &a) < 0 || stat(dir, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
			_exit(3); /* not the same cgroup: the test proves nothing */
		vfg_error err = {0};
		vfg_change_summary summary;
		int r = domain_apply(&f, "vm2", through, 0, (const char *[]){LEGACY8, NULL}, &summary, &err);
		umount(second);
		rmdir(second);
		_exit(r == 0 ? 4 : strstr(err.message, "is not below the devices controller's mount point") ? 0 : 5);
	}
	int status = child_exit_status(child);
	ck_assert_msg(status == 0,
		      "exit %d (2: no second mount, 3: not the same "
		      "cgroup, 4: applied, 5: refused for another reason)",
		      status);
	expect_eperm(dir, f.root, GROUP8);
	command_in_child(&f, CHILD_REVOKE, "vm1", NULL, NULL, false);
	expect_eperm(dir, f.root, GROUP7);
	fixture_close(&f);
}
END_TEST

START_TEST(v1_a_rule_allowed_already_is_left_as_it_is_and_a_narrower_one_comes_back_as_it_was)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	/* 1:* covers the container and group 7 in one line; 1:5 r alone would not */
	make_v1_cgroup(dir, sizeof(dir), 1, (const char *const[]){"c 1:* rwm", NULL});
	char *wide = test_cgroup_devices_list(dir);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(domain_plan(&f, "vm1", dir, 0, (const char *[]){LEGACY7, NULL}, &plan, &err) == 0, "%s",
		      err.message);
	const vfg_step *step = test_step(plan, "cgroup", GROUP7);
	ck_assert_msg(strstr(step->reason, "allows it already, 'c 1:* rwm'"), "%s", step->reason);
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, NULL, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	char *held = test_cgroup_devices_list(dir);
	ck_assert_str_eq(held, wide); /* no "c 1:5 rw" line beside the wildcard */
	domain_revoke_ok(&f, "vm1");
	char *after = test_cgroup_devices_list(dir);
	ck_assert_str_eq(after, wide);
	free(wide);
	free(held);
	free(after);

	char narrow[256];
	make_v1_cgroup(narrow, sizeof(narrow), 2, (const char *const[]){"c 1:3 rwm", "c 1:5 r", "c 1:9 m", NULL});
	char *before = test_cgroup_devices_list(narrow);
	domain_apply_ok(&f, "vm2", narrow, (const char *[]){LEGACY7, NULL}, NULL);
	char *granted = test_cgroup_devices_list(narrow);
	ck_assert_msg(strstr(granted, "c 1:5 rw\n"), "devices.list:\n%s", granted);
	expect_opens(narrow, f.root, GROUP7);
	domain_revoke_ok(&f, "vm2");
	after = test_cgroup_devices_list(narrow);
	ck_assert_str_eq(after, before); /* "c 1:5 r" again, in its place */
	free(before);
	free(granted);
	free(after);
	fixture_close(&f);
}
END_TEST

/* Domains a and b share cgroup one, c sits in cgroup two; each has its own group, all hold the container. */
static const char revoke_orders[][4] = {"abc", "acb", "bac", "bca", "cab", "cba"};

/* Does the cgroup allow the container: v1 by the kernel's answer, v2 by the map (with no grant left there is no
 * program). */
static bool container_allowed(const fixture *f, const char *dir, bool v2)
{
	if (!v2)
		return open_in((const char *[]){dir, NULL}, test_path(f->root, CONTAINER)) == 0;
	char *content = map_content(dir, NULL);
	bool allowed = content && strstr(content, "c 1:7 6 grant\n");
	free(content);
	return allowed;
}

START_TEST(shared_container_rule_is_counted_per_cgroup)
{
	fixture f;
	fixture_open(&f);
	bool v2 = _i >= 6;
	const char *order = revoke_orders[_i % 6];
	char one[256], two[256];
	if (v2) {
		make_v2_cgroup(one, sizeof(one), 1);
		make_v2_cgroup(two, sizeof(two), 2);
	} else {
		make_v1_cgroup(one, sizeof(one), 1, v1_base);
		make_v1_cgroup(two, sizeof(two), 2, v1_base);
	}
	char *before_one = v2 ? NULL : test_cgroup_devices_list(one),
	     *before_two = v2 ? NULL : test_cgroup_devices_list(two);
	const char *dirs[] = {one, one, two}, *hostdevs[] = {LEGACY7, LEGACY8, LEGACY9}, *names[] = {"a", "b", "c"};
	for (size_t i = 0; i < 3; i++)
		domain_apply_ok(&f, names[i], dirs[i], (const char *[]){hostdevs[i], NULL}, NULL);

	bool held[3] = {true, true, true};
	for (size_t step = 0; step < 3; step++) {
		size_t who = (size_t)(order[step] - 'a');
		domain_revoke_ok(&f, names[who]);
		held[who] = false;
		ck_assert_msg(container_allowed(&f, one, v2) == (held[0] || held[1]),
			      "after revoking %.*s: cgroup one %s the container", (int)step + 1, order,
			      held[0] || held[1] ? "denies" : "still allows");
		ck_assert_msg(container_allowed(&f, two, v2) == held[2],
			      "after revoking %.*s: cgroup two %s the container", (int)step + 1, order,
			      held[2] ? "denies" : "still allows");
	}
	for (size_t i = 0; i < 2; i++) {
		const char *dir = i ? two : one;
		test_expect_no_xattr(dir, "trusted.vfguard.c1:7");
		if (v2) {
			char programs[256];
			attached_programs(dir, programs, sizeof(programs));
			ck_assert_str_eq(programs, "");
		} else {
			char *after = test_cgroup_devices_list(dir);
			ck_assert_str_eq(after, i ? before_two : before_one);
			free(after);
		}
	}
	free(before_one);
	free(before_two);
	fixture_close(&f);
}
END_TEST

enum { SHARERS = 66 }; /* past the 64 holders a cgroup could have when they were kept in an xattr */

START_TEST(more_than_64_domains_share_a_cgroups_container_rule_and_the_last_revoke_restores_it)
{
	bool v2 = _i == 1;
	fixture f;
	char *manifest = many_groups_host(SHARERS);
	fixture_open_with(&f, manifest, "labelers = cgroup\n");
	free(manifest);
	char dir[256], programs[256];
	make_cgroup_v1_or_v2(v2, dir, sizeof(dir));
	char *before = v2 ? NULL : test_cgroup_devices_list(dir);

	for (int d = 0; d < SHARERS; d++) {
		char name[16];
		snprintf(name, sizeof(name), "vm%d", d);
		char *hostdev = many_hostdev(d);
		vfg_plan *plan = domain_plan_ok(&f, name, dir, 0, hostdev);
		free(hostdev);
		/* the line the first holder wrote is the holders' rule, not one the cgroup had before */
		const vfg_step *step = test_step(plan, "cgroup", CONTAINER);
		ck_assert_msg(step->action == VFG_ACTION_GRANT && !strstr(step->reason, "allows it already"), "%s: %s",
			      name, step->reason);
		vfg_error err = {0};
		ck_assert_msg(vfg_plan_apply(f.ctx, plan, NULL, &err) == 0, "apply %s: %s", name, err.message);
		vfg_plan_free(plan);
	}
	/* each holder journals its part, keyed by the cgroup (its path and inode) and the rule */
	char key[300];
	struct stat cgroup_st;
	ck_assert_int_eq(stat(dir, &cgroup_st), 0);
	snprintf(key, sizeof(key), "%s:%llu:c1:7", dir, (unsigned long long)cgroup_st.st_ino);
	for (int d = 0; d < SHARERS; d += SHARERS - 1) {
		char path[64];
		snprintf(path, sizeof(path), "/run/vfguard/domains/vm%d.journal", d);
		char *journal = test_read_file(f.root, path);
		ck_assert_msg(journal && strstr(journal, key), "%s holds no entry %s:\n%s", path, key,
			      journal ? journal : "(no journal)");
		free(journal);
	}

	for (int d = 0; d < SHARERS; d++) {
		ck_assert_msg(container_allowed(&f, dir, v2), "with vm%d..vm%d left the container is denied", d,
			      SHARERS - 1);
		char name[16];
		snprintf(name, sizeof(name), "vm%d", d);
		domain_revoke_ok(&f, name);
	}
	ck_assert_msg(!container_allowed(&f, dir, v2), "with no holder left the container is still allowed");
	if (v2) {
		attached_programs(dir, programs, sizeof(programs));
		ck_assert_str_eq(programs, "");
	} else {
		expect_devices_list(dir, before);
	}
	test_expect_no_xattr(dir, "trusted.vfguard.c1:7");
	free(before);
	fixture_close(&f);
}
END_TEST

/* ---- both hierarchies, by pid: round trips ---- */

typedef struct hybrid {
	char v1[256], v2[256];
	char *list; /* devices.list before */
	char programs[256]; /* programs attached before */
	pid_t vm;
} hybrid;

static void hybrid_open(hybrid *h)
{
	make_v1_cgroup(h->v1, sizeof(h->v1), 1, v1_base);
	make_v2_cgroup(h->v2, sizeof(h->v2), 1);
	h->list = test_cgroup_devices_list(h->v1);
	attached_programs(h->v2, h->programs, sizeof(h->programs));
	h->vm = vm_process_in((const char *[]){h->v1, h->v2, NULL});
}

static void hybrid_expect_as_before(const hybrid *h, const char *what)
{
	char *list = test_cgroup_devices_list(h->v1), programs[256];
	attached_programs(h->v2, programs, sizeof(programs));
	ck_assert_msg(strcmp(list, h->list) == 0, "%s: devices.list is\n%s\nwas\n%s", what, list, h->list);
	ck_assert_msg(strcmp(programs, h->programs) == 0, "%s: programs '%s', were '%s'", what, programs, h->programs);
	test_expect_no_xattr(h->v1, "trusted.vfguard.c1:7");
	test_expect_no_xattr(h->v2, "trusted.vfguard.c1:7");
	free(list);
}

static void hybrid_close(hybrid *h)
{
	vm_process_stop(h->vm);
	free(h->list);
}

START_TEST(hybrid_grant_by_pid_goes_to_both_hierarchies_and_revoke_leaves_both_as_before)
{
	fixture f;
	fixture_open(&f);
	hybrid h;
	hybrid_open(&h);
	vfg_error err = {0};
	ck_assert_msg(domain_apply(&f, "vm1", NULL, h.vm, (const char *[]){LEGACY7, NULL}, NULL, &err) == 0, "%s",
		      err.message);
	const char *both[] = {h.v1, h.v2, NULL};
	ck_assert_int_eq(open_in(both, test_path(f.root, GROUP7)), 0);
	ck_assert_int_eq(open_in(both, test_path(f.root, GROUP8)), EPERM);
	char *list = test_cgroup_devices_list(h.v1);
	ck_assert_msg(strstr(list, "c 1:5 rw\n"), "%s", list);
	free(list);
	expect_map(h.v2, "c 136:* 6 base\nc 1:3 6 base\nc 1:5 6 grant\nc 1:7 6 grant\n");

	/* the VM stops before the revoke: the journal names the cgroups, the pid is not needed */
	vm_process_stop(h.vm);
	h.vm = vm_process_in((const char *[]){NULL});
	domain_revoke_ok(&f, "vm1");
	hybrid_expect_as_before(&h, "apply then revoke");
	hybrid_close(&h);
	fixture_close(&f);
}
END_TEST

/* The crash test's state, for test_kill_at_each_point()'s callbacks. */
typedef struct cgroup_crash {
	fixture *f;
	hybrid *h;
	const char *const *hostdevs;
} cgroup_crash;

static int cgroup_crash_apply(void *data)
{
	cgroup_crash *c = data;
	vfg_error err = {0};
	return domain_apply(c->f, "vm1", NULL, c->h->vm, c->hostdevs, NULL, &err);
}

/* Restore finishes the killed apply; a kill after the commit leaves a finished apply, which revoke undoes. */
static void cgroup_crash_restore(unsigned point, void *data)
{
	cgroup_crash *c = data;
	test_restore_ok(c->f->ctx, point);
	domain_revoke_ok(c->f, "vm1");
	char what[64];
	snprintf(what, sizeof(what), "restore after a kill at point %u", point);
	hybrid_expect_as_before(c->h, what);
}

START_TEST(restore_after_a_kill_at_any_journal_point_leaves_devices_list_and_programs_as_before)
{
	fixture f;
	fixture_open(&f);
	hybrid h;
	hybrid_open(&h);
	const char *const hostdevs[] = {LEGACY7, NULL};
	cgroup_crash crash = {.f = &f, .h = &h, .hostdevs = hostdevs};
	unsigned points = test_kill_at_each_point(cgroup_crash_apply, cgroup_crash_restore, &crash);
	ck_assert_msg(points >= 6, "only %u journal points", points); /* two grants: intent and done each */
	domain_revoke_ok(&f, "vm1");
	hybrid_expect_as_before(&h, "the uninterrupted apply, revoked");
	hybrid_close(&h);
	fixture_close(&f);
}
END_TEST

/* The dry run's steps of @plan, as apply --dry-run prints them, unwrapped. */
static char *dry_run_steps(const vfg_plan *plan)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(vfg_plan_write_steps_text_width(plan, 0, out), 0);
	fclose(out);
	return text;
}

/*
 * The dry run of a domain whose cgroup was made again at the path: the
 * steps it holds are not "held already", and their reason says why, as
 * apply's note does (it said only what a first grant says).
 */
START_TEST(a_dry_run_says_why_a_grant_held_in_a_cgroup_made_again_is_made_again)
{
	fixture f;
	fixture_open(&f);
	bool v2 = _i == 1;
	char dir[256];
	make_cgroup_v1_or_v2(v2, dir, sizeof(dir));
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	make_cgroup_again(v2, dir, sizeof(dir));

	vfg_plan *plan = domain_plan_ok(&f, "vm1", dir, 0, LEGACY7);
	const vfg_step *step = test_step(plan, "cgroup", GROUP7);
	ck_assert_msg(step->action == VFG_ACTION_GRANT && strstr(step->reason, "; held since an earlier apply, but ") &&
			      strstr(step->reason, " is another cgroup now (inode ") &&
			      strstr(step->reason, ": apply grants it again"),
		      "%s", step->reason);
	char *text = dry_run_steps(plan);
	ck_assert_msg(strstr(text, "held since an earlier apply") && !strstr(text, "held already"), "%s", text);
	free(text);
	vfg_plan_free(plan);

	/* granted again, it is held as any other */
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	plan = domain_plan_ok(&f, "vm1", dir, 0, LEGACY7);
	text = dry_run_steps(plan);
	ck_assert_msg(!strstr(text, "held since an earlier apply") && strstr(text, "held already"), "%s", text);
	free(text);
	vfg_plan_free(plan);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* The crash test of an apply that grants again into a cgroup made again (test_kill_at_each_point). */
typedef struct renew_crash {
	fixture *f;
	char dir[256];
	char *base; /* the new cgroup's own devices.list */
} renew_crash;

static const char *const renew_hostdevs[] = {LEGACY7, NULL};

/* vm1 granted into the cgroup, which is then removed and made again with the base rules alone. */
static void renew_crash_setup(renew_crash *c)
{
	domain_apply_ok(c->f, "vm1", c->dir, renew_hostdevs, NULL);
	ck_assert_msg(rmdir(c->dir) == 0, "rmdir %s: %s", c->dir, strerror(errno));
	make_v1_cgroup(c->dir, sizeof(c->dir), 1, v1_base);
}

static int renew_crash_apply(void *data)
{
	renew_crash *c = data;
	vfg_error err = {0};
	return domain_apply(c->f, "vm1", c->dir, 0, renew_hostdevs, NULL, &err);
}

/*
 * Whatever point the kill came at, restore leaves a domain that the next
 * apply grants in the new cgroup (never one "already held" with no rule),
 * and whose revoke leaves the new cgroup's own list. Then the stale hold is
 * made again for the next point.
 */
static void renew_crash_after_kill(unsigned point, void *data)
{
	renew_crash *c = data;
	test_restore_ok(c->f->ctx, point);
	domain_apply_ok(c->f, "vm1", c->dir, renew_hostdevs, NULL);
	expect_opens(c->dir, c->f->root, GROUP7);
	domain_revoke_ok(c->f, "vm1");
	char *after = test_cgroup_devices_list(c->dir);
	ck_assert_msg(strcmp(after, c->base) == 0, "after a kill at point %u, devices.list:\n%s\nexpected:\n%s", point,
		      after, c->base);
	free(after);
	renew_crash_setup(c);
}

START_TEST(a_kill_at_any_point_of_an_apply_granting_again_is_restored)
{
	fixture f;
	fixture_open(&f);
	renew_crash crash = {.f = &f};
	make_v1_cgroup(crash.dir, sizeof(crash.dir), 1, v1_base);
	crash.base = test_cgroup_devices_list(crash.dir);
	renew_crash_setup(&crash);
	unsigned points = test_kill_at_each_point(renew_crash_apply, renew_crash_after_kill, &crash);
	/* two records undone, two intents and their done marks, the commit */
	ck_assert_msg(points >= 6, "only %u journal points", points);
	expect_opens(crash.dir, f.root, GROUP7);
	domain_revoke_ok(&f, "vm1");
	char *after = test_cgroup_devices_list(crash.dir);
	ck_assert_str_eq(after, crash.base);
	free(after);
	free(crash.base);
	fixture_close(&f);
}
END_TEST

/* ---- fd access, audit ---- */

START_TEST(fd_access_needs_no_rule_and_takes_back_the_rule_of_an_earlier_path_grant)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	ck_assert_uint_ne(vfguard_program(dir, NULL), 0);

	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_int_eq(domain_plan(&f, "vm1", dir, 0, (const char *[]){LEGACY7 ",access=fd", NULL}, &plan, &err), 0);
	ck_assert_int_eq(test_step(plan, "cgroup", GROUP7)->action, VFG_ACTION_REVOKE);
	vfg_change_summary summary;
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	ck_assert_uint_eq(summary.revoked, 2);
	ck_assert_uint_eq(summary.changed, 0);
	ck_assert_uint_eq(vfguard_program(dir, NULL), 0);

	/* a fresh fd-access domain plans no rule at all */
	ck_assert_int_eq(domain_plan(&f, "vm2", dir, 0, (const char *[]){LEGACY8 ",access=fd", NULL}, &plan, &err), 0);
	ck_assert_int_eq(test_step(plan, "cgroup", GROUP8)->action, VFG_ACTION_NONE);
	ck_assert_msg(strstr(test_step(plan, "cgroup", GROUP8)->reason, "devcgroup_inode_permission"), "%s",
		      test_step(plan, "cgroup", GROUP8)->reason);
	vfg_plan_free(plan);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* The audit of domain @name in cgroup @dir or, when NULL, @pid's cgroups. */
static vfg_audit_report *audit_of(fixture *f, const char *name, const char *dir, pid_t pid, const char *const *hostdevs)
{
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(domain_plan(f, name, dir, pid, hostdevs, &plan, &err) == 0, "%s", err.message);
	vfg_audit_report *report = NULL;
	ck_assert_msg(vfg_plan_audit(f->ctx, plan, &report, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	return report;
}

static vfg_audit_report *audit(fixture *f, const char *name, const char *dir, const char *const *hostdevs)
{
	return audit_of(f, name, dir, 0, hostdevs);
}

static const vfg_audit_finding *finding_for(const vfg_audit_report *report, const char *path)
{
	for (size_t i = 0; i < report->n_findings; i++)
		if (strcmp(report->findings[i].path, path) == 0)
			return &report->findings[i];
	return NULL;
}

/* @report (freed) has no finding. */
static void expect_no_findings(vfg_audit_report *report, const char *what)
{
	ck_assert_msg(report->n_findings == 0, "%s: %zu findings, the first %s: %s", what, report->n_findings,
		      report->n_findings ? report->findings[0].path : "",
		      report->n_findings ? report->findings[0].actual : "");
	vfg_audit_report_free(report);
}

START_TEST(audit_compares_the_live_rules_with_the_journal)
{
	fixture f;
	fixture_open(&f);
	bool v2 = _i == 1;
	char dir[256];
	make_cgroup_v1_or_v2(v2, dir, sizeof(dir));
	const char *const hostdevs[] = {LEGACY7, NULL};

	vfg_audit_report *report = audit(&f, "vm1", dir, hostdevs);
	ck_assert_msg(finding_for(report, GROUP7) && finding_for(report, GROUP7)->kind == VFG_FINDING_MISSING,
		      "no 'missing' finding before apply");
	vfg_audit_report_free(report);

	domain_apply_ok(&f, "vm1", dir, hostdevs, NULL);
	report = audit(&f, "vm1", dir, hostdevs);
	ck_assert_msg(report->n_findings == 0, "a fresh grant drifts: %s %s", report->findings[0].path,
		      report->findings[0].actual);
	vfg_audit_report_free(report);
	/* An audit not given the cgroup finds the layer inactive for want of it: no finding (a review). */
	report = audit(&f, "vm1", NULL, hostdevs);
	ck_assert_msg(report->n_findings == 0, "an audit without --cgroup: %s %s", report->findings[0].path,
		      report->findings[0].actual);
	vfg_audit_report_free(report);

	/* someone takes the group's rule away behind vfguard's back */
	if (v2) {
		int map_fd = -1;
		ck_assert_uint_ne(vfguard_program(dir, &map_fd), 0);
		__u32 key[3] = {2, 1, 5};
		ck_assert_int_eq(bpf_map_delete_elem(map_fd, key), 0);
		close(map_fd);
	} else {
		write_to(dir, "devices.deny", "c 1:5 w");
	}
	report = audit(&f, "vm1", dir, hostdevs);
	const vfg_audit_finding *drift = finding_for(report, GROUP7);
	ck_assert_msg(report->n_findings == 1 && drift && drift->kind == VFG_FINDING_DRIFT, "%zu findings",
		      report->n_findings);
	ck_assert_msg(strstr(drift->expected, "c 1:5 rw"), "%s", drift->expected);
	vfg_audit_report_free(report);

	/* The VM stopped without a release and its cgroup was removed: not "no drift" (a trial). */
	if (v2)
		test_cgroup_detach_all(dir);
	ck_assert_msg(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
	report = audit(&f, "vm1", dir, hostdevs);
	drift = finding_for(report, "");
	ck_assert_msg(report->n_findings == 1 && drift && drift->kind == VFG_FINDING_DRIFT &&
			      strcmp(drift->labeler, "cgroup") == 0 && strstr(drift->actual, "does not exist") &&
			      strstr(drift->expected, "as when the domain's 2 grants of it were made") &&
			      strstr(drift->fix, "vfguard revoke --domain vm1 takes back what it holds"),
		      "%zu findings: %s", report->n_findings, report->n_findings ? report->findings[0].actual : "");
	vfg_audit_report_free(report);

	/* Made again at the path, without the rules: another apply is the fix, no revoke first. */
	make_cgroup_v1_or_v2(v2, dir, sizeof(dir));
	report = audit(&f, "vm1", dir, hostdevs);
	drift = finding_for(report, GROUP7);
	ck_assert_msg(drift && drift->kind == VFG_FINDING_DRIFT && strstr(drift->actual, "is another cgroup now") &&
			      strcmp(drift->fix, "apply the domain again: the grant went with the cgroup removed") == 0,
		      "%zu findings: %s / %s", report->n_findings, drift ? drift->actual : "", drift ? drift->fix : "");
	vfg_audit_report_free(report);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/*
 * A v1 rule another's line allowed at the grant ("allowed": vfguard wrote
 * none) is not in the cgroup made again at the path without that line: the
 * hypervisor gets EPERM, and apply grants it again, so audit says so too
 * (it used to pass over every "allowed" record, and found no drift).
 */
START_TEST(audit_finds_a_cgroup_made_again_without_the_line_that_allowed_the_rule)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	make_v1_cgroup(dir, sizeof(dir), 1, (const char *[]){"c 1:3 rwm", "c 1:5 rw", NULL});
	const char *const hostdevs[] = {LEGACY7, NULL};
	domain_apply_ok(&f, "vm1", dir, hostdevs, NULL);
	ck_assert_msg(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
	make_v1_cgroup(dir, sizeof(dir), 1, v1_base);
	expect_eperm(dir, f.root, GROUP7);

	vfg_audit_report *report = audit(&f, "vm1", dir, hostdevs);
	const vfg_audit_finding *drift = finding_for(report, GROUP7);
	ck_assert_msg(drift && drift->kind == VFG_FINDING_DRIFT && strstr(drift->actual, "is another cgroup now") &&
			      strcmp(drift->fix, "apply the domain again: the grant went with the cgroup removed") == 0,
		      "%zu findings: %s / %s", report->n_findings, drift ? drift->actual : "", drift ? drift->fix : "");
	vfg_audit_report_free(report);

	/* the fix it names: another apply, after which audit finds nothing */
	domain_apply_ok(&f, "vm1", dir, hostdevs, NULL);
	expect_opens(dir, f.root, GROUP7);
	expect_no_findings(audit(&f, "vm1", dir, hostdevs), "after the apply");
	domain_revoke_ok(&f, "vm1");
	expect_devices_list(dir, "c 1:3 rwm\n");
	fixture_close(&f);
}
END_TEST

/* @report (freed) has a drift finding for @node whose actual says @actual and whose fix is @fix. */
static void expect_drift(vfg_audit_report *report, const char *node, const char *actual, const char *fix)
{
	const vfg_audit_finding *drift = finding_for(report, node);
	ck_assert_msg(drift && drift->kind == VFG_FINDING_DRIFT && strstr(drift->actual, actual) &&
			      strcmp(drift->fix, fix) == 0,
		      "%zu findings: %s / %s", report->n_findings, drift ? drift->actual : "", drift ? drift->fix : "");
	vfg_audit_report_free(report);
}

/* Move @pid into the cgroup @dir (cgroup.procs). */
static void move_to(pid_t pid, const char *dir)
{
	char text[16];
	snprintf(text, sizeof(text), "%d", (int)pid);
	test_cgroup_write(dir, "cgroup.procs", text);
}

/* A VM process in a v1 and a cgroup2 cgroup made for it (into @v1_dir, @v2_dir), granted @hostdevs as vm1: its pid. */
static pid_t vm_granted_in_new_cgroups(fixture *f, char v1_dir[256], char v2_dir[256], const char *const *hostdevs)
{
	make_v1_cgroup(v1_dir, 256, 1, v1_base);
	make_v2_cgroup(v2_dir, 256, 1);
	pid_t vm = vm_process_in((const char *[]){v1_dir, v2_dir, NULL});
	vfg_error err = {0};
	ck_assert_msg(domain_apply(f, "vm1", NULL, vm, hostdevs, NULL, &err) == 0, "%s", err.message);
	return vm;
}

/*
 * A domain granted by its pid, whose pid then moved to another cgroup and
 * whose first cgroup was removed: the grant went with it. Apply grants the
 * rules again where the pid is, and its note says the cgroup is gone (it
 * said "another cgroup now (inode 0 ...)"); audit calls it drift with the
 * same fix (it said nothing: a cgroup gone was taken as the VM gone).
 */
START_TEST(a_grant_whose_cgroup_is_gone_while_its_pid_lives_in_another_is_drift_and_granted_again)
{
	fixture f;
	fixture_open(&f);
	/* the pid in a cgroup of each hierarchy; it moves in one (v1, then v2), and its first cgroup there goes */
	bool v2 = _i == 1;
	char v1_dir[256], v2_dir[256], first[256];
	const char *const hostdevs[] = {LEGACY7, NULL};
	pid_t vm = vm_granted_in_new_cgroups(&f, v1_dir, v2_dir, hostdevs);
	vfg_error err = {0};
	char *moved = v2 ? v2_dir : v1_dir;
	snprintf(first, sizeof(first), "%s", moved);
	if (v2)
		make_v2_cgroup(moved, sizeof(v2_dir), 2);
	else
		make_v1_cgroup(moved, sizeof(v1_dir), 2, v1_base);
	move_to(vm, moved);
	if (v2)
		test_cgroup_detach_all(first);
	ck_assert_msg(rmdir(first) == 0, "rmdir %s: %s", first, strerror(errno));
	const char *both[] = {v1_dir, v2_dir, NULL};
	/* a cgroup2 cgroup with no program confines nothing */
	ck_assert_int_eq(open_in(both, test_path(f.root, GROUP7)), v2 ? 0 : EPERM);

	expect_drift(audit_of(&f, "vm1", NULL, vm, hostdevs), GROUP7, "is gone, and the grant with it",
		     "apply the domain again: the grant went with the cgroup removed");

	vfg_change_summary summary;
	ck_assert_msg(domain_apply(&f, "vm1", NULL, vm, hostdevs, &summary, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(summary.changed, 2);
	ck_assert_msg(strstr(summary.notes, "is gone, and the grant with it; granted again") &&
			      !strstr(summary.notes, "inode 0"),
		      "%s", summary.notes);
	ck_assert_int_eq(open_in(both, test_path(f.root, GROUP7)), 0);
	ck_assert_int_eq(open_in(both, test_path(f.root, GROUP8)), EPERM);
	expect_no_findings(audit_of(&f, "vm1", NULL, vm, hostdevs), "after the apply");

	domain_revoke_ok(&f, "vm1");
	expect_devices_list(v1_dir, "c 1:3 rwm\n");
	ck_assert_uint_eq(vfguard_program(v2_dir, NULL), 0);
	vm_process_stop(vm);
	fixture_close(&f);
}
END_TEST

/*
 * A domain granted by its pid, whose pid then moved to another cgroup of a
 * hierarchy, the first one still there (as into a scope made for the VM
 * after the grant): apply said "already held", kept the rules in the cgroup
 * the VM left, and the VM got EPERM where it is (a trial). Now the grant is
 * not in force: apply takes the rules back from the first cgroup, as its
 * own list was, and grants them where the pid is; revoke then leaves both
 * as they were made.
 */
START_TEST(an_apply_after_the_pid_moved_to_another_cgroup_moves_the_rules_with_it)
{
	fixture f;
	fixture_open(&f);
	bool v2 = _i == 1;
	char v1_dir[256], v2_dir[256], second[256];
	const char *const hostdevs[] = {LEGACY7, NULL};
	pid_t vm = vm_granted_in_new_cgroups(&f, v1_dir, v2_dir, hostdevs);
	vfg_error err = {0};
	if (v2)
		make_v2_cgroup(second, sizeof(second), 2);
	else
		make_v1_cgroup(second, sizeof(second), 2, v1_base);
	move_to(vm, second);
	const char *now[] = {v2 ? v1_dir : second, v2 ? second : v2_dir, NULL};
	ck_assert_int_eq(open_in(now, test_path(f.root, GROUP7)), v2 ? 0 : EPERM); /* a cgroup2 one with no program */
	expect_drift(audit_of(&f, "vm1", NULL, vm, hostdevs), GROUP7, "which the domain's process left",
		     "apply the domain again: the rules move with its process");

	vfg_change_summary summary;
	ck_assert_msg(domain_apply(&f, "vm1", NULL, vm, hostdevs, &summary, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(summary.changed, 2);
	char expected[600];
	snprintf(expected, sizeof(expected), "the domain's cgroup is %s now, the grant's was %s; granted again", second,
		 v2 ? v2_dir : v1_dir);
	ck_assert_msg(strstr(summary.notes, expected), "expected \"%s\" in: %s", expected, summary.notes);
	ck_assert_int_eq(open_in(now, test_path(f.root, GROUP7)), 0);
	ck_assert_int_eq(open_in(now, test_path(f.root, GROUP8)), EPERM);
	expect_no_findings(audit_of(&f, "vm1", NULL, vm, hostdevs), "after the apply");
	/* the cgroup it left is as it was before the first grant */
	if (v2)
		ck_assert_uint_eq(vfguard_program(v2_dir, NULL), 0);
	else
		expect_devices_list(v1_dir, "c 1:3 rwm\n");

	domain_revoke_ok(&f, "vm1");
	expect_devices_list(now[0], "c 1:3 rwm\n");
	ck_assert_uint_eq(vfguard_program(now[1], NULL), 0);
	vm_process_stop(vm);
	fixture_close(&f);
}
END_TEST

/*
 * A domain granted by its pid, whose pid then moved into a cgroup made
 * below the grant's (as libvirt moves QEMU into its emulator/ cgroup): the
 * grant serves it there. A v1 child got the rules from its parent when it
 * was made; the renewal took them back from the parent, and so from the
 * child, whose own grant was then refused (EPERM): the apply failed and the
 * VM lost the rules it had (a trial). cgroup2 runs the parent's program for
 * the child: audit called it drift, with an apply as the fix, which the
 * parent's program makes refuse. Both keep the grant now.
 */
START_TEST(a_pid_moved_into_a_cgroup_made_below_its_grants_keeps_the_grant)
{
	fixture f;
	fixture_open(&f);
	bool v2 = _i == 1;
	char v1_dir[256], v2_dir[256], child[300];
	const char *const hostdevs[] = {LEGACY7, NULL};
	pid_t vm = vm_granted_in_new_cgroups(&f, v1_dir, v2_dir, hostdevs);
	vfg_error err = {0};
	char *granted = test_cgroup_devices_list(v1_dir);
	snprintf(child, sizeof(child), "%s/child", v2 ? v2_dir : v1_dir);
	make_dir(child);
	move_to(vm, child);
	const char *now[] = {v2 ? v1_dir : child, v2 ? child : v2_dir, NULL};
	ck_assert_int_eq(open_in(now, test_path(f.root, GROUP7)), 0);

	if (!v2) {
		vfg_change_summary summary;
		ck_assert_msg(domain_apply(&f, "vm1", NULL, vm, hostdevs, &summary, &err) == 0, "%s", err.message);
		ck_assert_uint_eq(summary.changed, 0);
		ck_assert_uint_eq(summary.kept, 2);
		ck_assert_int_eq(open_in(now, test_path(f.root, GROUP7)), 0);
		expect_devices_list(v1_dir, granted);
	}

	vfg_audit_report *report = audit_of(&f, "vm1", NULL, vm, hostdevs);
	for (size_t i = 0; i < report->n_findings; i++)
		ck_assert_msg(!strstr(report->findings[i].actual, "which the domain's process left"), "%s: %s / %s",
			      report->findings[i].path, report->findings[i].actual, report->findings[i].fix);
	if (!v2)
		ck_assert_uint_eq(report->n_findings, 0);
	vfg_audit_report_free(report);
	domain_revoke_ok(&f, "vm1");
	expect_devices_list(v1_dir, "c 1:3 rwm\n");
	expect_devices_list(now[0], "c 1:3 rwm\n");
	ck_assert_uint_eq(vfguard_program(v2_dir, NULL), 0);
	free(granted);
	vm_process_stop(vm);
	fixture_close(&f);
}
END_TEST

/*
 * The same into a v1 cgroup made before the grant: it has no rule of its
 * parent's, and none can be put there while the parent's is taken back.
 * Apply keeps the grant rather than fail half way, and audit says what is
 * missing and where.
 */
START_TEST(audit_says_a_v1_cgroup_made_below_the_grants_before_it_lacks_the_rule)
{
	fixture f;
	fixture_open(&f);
	char v1_dir[256], v2_dir[256], child[300];
	make_v1_cgroup(v1_dir, sizeof(v1_dir), 1, v1_base);
	make_v2_cgroup(v2_dir, sizeof(v2_dir), 1);
	snprintf(child, sizeof(child), "%s/child", v1_dir);
	make_dir(child);
	pid_t vm = vm_process_in((const char *[]){v1_dir, v2_dir, NULL});
	const char *const hostdevs[] = {LEGACY7, NULL};
	vfg_error err = {0};
	ck_assert_msg(domain_apply(&f, "vm1", NULL, vm, hostdevs, NULL, &err) == 0, "%s", err.message);
	char *granted = test_cgroup_devices_list(v1_dir);
	move_to(vm, child);
	const char *now[] = {child, v2_dir, NULL};
	ck_assert_int_eq(open_in(now, test_path(f.root, GROUP7)), EPERM);

	vfg_change_summary summary;
	ck_assert_msg(domain_apply(&f, "vm1", NULL, vm, hostdevs, &summary, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(summary.changed, 0);
	expect_devices_list(v1_dir, granted);
	char fix[600];
	snprintf(fix, sizeof(fix),
		 "echo 'c 1:5 rw' > %s/devices.allow (the grant above permits it, and its revoke takes it from there "
		 "too), or move the domain's process back to %s",
		 child, v1_dir);
	vfg_audit_report *report = audit_of(&f, "vm1", NULL, vm, hostdevs);
	const vfg_audit_finding *drift = finding_for(report, GROUP7);
	ck_assert_msg(drift && drift->kind == VFG_FINDING_DRIFT && strstr(drift->actual, "was made before the grant") &&
			      strncmp(drift->fix, fix, sizeof(drift->fix) - 4) == 0,
		      "%zu findings: %s / %s", report->n_findings, drift ? drift->actual : "", drift ? drift->fix : "");
	vfg_audit_report_free(report);

	/* the fix audit gives */
	write_to(child, "devices.allow", "c 1:5 rw");
	ck_assert_int_eq(open_in(now, test_path(f.root, GROUP7)), 0);
	domain_revoke_ok(&f, "vm1");
	expect_devices_list(v1_dir, "c 1:3 rwm\n");
	expect_devices_list(child, "c 1:3 rwm\n");
	free(granted);
	vm_process_stop(vm);
	fixture_close(&f);
}
END_TEST

/* ---- cgroups vfguard keeps off: the roots, its own, an ancestor of its own ---- */

#define OWN_CGROUP "A VM's process belongs in a cgroup of its own"

/* What a refusal must leave as it was: the programs on the cgroup2 cgroups, the v1 cgroups' lists. */
typedef struct untouched {
	const char *v1[3], *v2[3];
	char *lists[3];
	char programs[3][256];
} untouched;

static void untouched_record(untouched *u)
{
	for (size_t i = 0; i < 3 && u->v1[i]; i++)
		u->lists[i] = test_cgroup_devices_list(u->v1[i]);
	for (size_t i = 0; i < 3 && u->v2[i]; i++)
		attached_programs(u->v2[i], u->programs[i], sizeof(u->programs[i]));
}

static void untouched_expect(untouched *u)
{
	char programs[256];
	for (size_t i = 0; i < 3 && u->v1[i]; i++) {
		char *list = test_cgroup_devices_list(u->v1[i]);
		ck_assert_msg(strcmp(list, u->lists[i]) == 0, "%s/devices.list is\n%s\nwas\n%s", u->v1[i], list,
			      u->lists[i]);
		free(list);
		free(u->lists[i]);
		test_expect_no_xattr(u->v1[i], "trusted.vfguard.c1:7");
	}
	for (size_t i = 0; i < 3 && u->v2[i]; i++) {
		attached_programs(u->v2[i], programs, sizeof(programs));
		ck_assert_msg(strcmp(programs, u->programs[i]) == 0, "programs on %s: '%s', were '%s'", u->v2[i],
			      programs, u->programs[i]);
		test_expect_no_xattr(u->v2[i], "trusted.vfguard.c1:7");
	}
}

/* A plan whose every cgroup step is a refusal naming @what (and its reason). */
static void expect_plan_refuses(fixture *f, const char *cgroup, pid_t pid, const char *const *what)
{
	vfg_plan *plan = domain_plan_ok(f, "vm1", cgroup, pid, LEGACY7);
	const char *paths[] = {CONTAINER, GROUP7};
	for (size_t p = 0; p < 2; p++) {
		const vfg_step *step = test_step(plan, "cgroup", paths[p]);
		ck_assert_msg(step->action == VFG_ACTION_REFUSE, "%s: action %s, reason: %s", paths[p],
			      vfg_action_name(step->action), step->reason);
		for (size_t i = 0; what[i]; i++)
			ck_assert_msg(strstr(step->reason, what[i]), "%s: no '%s' in: %s", paths[p], what[i],
				      step->reason);
		ck_assert_msg(strstr(step->reason, OWN_CGROUP), "%s: %s", paths[p], step->reason);
	}
	vfg_plan_free(plan);
}

/*
 * Apply must fail with @what in its message. Should it ever succeed (the code
 * under test broken), what it attached is revoked at once, before the test
 * fails: these are cgroups other processes of the host live in.
 */
static void expect_apply_refused(fixture *f, const char *cgroup, pid_t pid, const char *const *what)
{
	vfg_error err = {0};
	int r = domain_apply(f, "vm1", cgroup, pid, (const char *[]){LEGACY7, NULL}, NULL, &err);
	if (r == 0)
		domain_revoke_ok(f, "vm1");
	ck_assert_msg(r == -1, "apply on %s succeeded (revoked again)", cgroup ? cgroup : "the pid's cgroups");
	for (size_t i = 0; what[i]; i++)
		ck_assert_msg(strstr(err.message, what[i]), "no '%s' in: %s", what[i], err.message);
	ck_assert_msg(strstr(err.message, OWN_CGROUP) && strstr(err.message, "nothing was changed"), "%s", err.message);
	ck_assert_ptr_null(test_read_file(f->root, "/run/vfguard/domains/vm1.journal"));
}

START_TEST(a_root_cgroup_given_by_path_is_refused_and_apply_changes_nothing)
{
	bool v2 = _i == 1;
	fixture f;
	fixture_open(&f);
	const char *root = v2 ? V2_MOUNT : V1_MOUNT;
	char what[128];
	snprintf(what, sizeof(what), "%s %s is the root cgroup", v2 ? "cgroup2" : "v1 devices", root);
	const char *const whats[] = {what, NULL};
	/* first the plan: code that would attach to the host's root never gets to apply */
	expect_plan_refuses(&f, root, 0, whats);

	untouched u = {.v1 = {v2 ? NULL : V1_MOUNT}, .v2 = {v2 ? V2_MOUNT : NULL}};
	untouched_record(&u);
	char *state_before = test_snapshot(f.root, TEST_SNAPSHOT_NO_STATE);
	expect_apply_refused(&f, root, 0, whats);
	untouched_expect(&u);
	test_snapshot_expect(f.root, TEST_SNAPSHOT_NO_STATE, state_before, "a refused apply");
	free(state_before);
	fixture_close(&f);
}
END_TEST

/*
 * A cgroup named by a path that is not there (a mistyped --cgroup): the VM
 * would run with no device rule. Refused by the plan's every path-access
 * node, and apply changes nothing, on either hierarchy's mount.
 */
START_TEST(a_cgroup_path_that_does_not_exist_is_refused_and_apply_changes_nothing)
{
	bool v2 = _i == 1;
	fixture f;
	fixture_open(&f);
	char missing[256], what[512];
	snprintf(missing, sizeof(missing), "%s/vfguard-test-no-such-%d", v2 ? V2_MOUNT : V1_MOUNT, (int)getpid());
	snprintf(what, sizeof(what), "cgroup %s does not exist: a VM in it would run with no device rule", missing);

	vfg_plan *plan = domain_plan_ok(&f, "vm1", missing, 0, LEGACY7);
	const char *paths[] = {CONTAINER, GROUP7};
	for (size_t p = 0; p < 2; p++) {
		const vfg_step *step = test_step(plan, "cgroup", paths[p]);
		ck_assert_msg(step->action == VFG_ACTION_REFUSE && strstr(step->reason, what), "%s: %s, %s", paths[p],
			      vfg_action_name(step->action), step->reason);
	}
	vfg_plan_free(plan);

	char *before = test_snapshot(f.root, 0);
	vfg_error err = {0};
	int r = domain_apply(&f, "vm1", missing, 0, (const char *[]){LEGACY7, NULL}, NULL, &err);
	if (r == 0)
		domain_revoke_ok(&f, "vm1");
	ck_assert_msg(r == -1, "apply with the missing cgroup %s succeeded (revoked again)", missing);
	ck_assert_msg(strstr(err.message, what) && strstr(err.message, "nothing was changed"), "%s", err.message);
	/* the node once, the labeler, and no strerror after the reason; EPERM for a program */
	char sentence[768];
	snprintf(sentence, sizeof(sentence),
		 "%s: refused by the cgroup labeler: %s; create it, or name the VM's own "
		 "cgroup; nothing was changed",
		 CONTAINER, what);
	ck_assert_str_eq(err.message, sentence);
	ck_assert_int_eq(err.errnum, EPERM);
	test_snapshot_expect(f.root, 0, before, "an apply refused for a missing cgroup");
	ck_assert_ptr_null(test_read_file(f.root, "/run/vfguard/domains/vm1.journal"));
	free(before);
	fixture_close(&f);
}
END_TEST

/* A process left in both hierarchies' root cgroups, in a mount namespace of its own (unshare -m). */
static pid_t root_cgroup_process(void)
{
	return vm_process_start((const char *[]){V1_MOUNT, V2_MOUNT, NULL}, true);
}

START_TEST(a_pid_in_the_root_cgroups_is_refused_in_both_hierarchies_and_apply_changes_nothing)
{
	fixture f;
	fixture_open(&f);
	pid_t vm = root_cgroup_process();
	const char *const whats[] = {"v1 devices " V1_MOUNT " is the root cgroup",
				     "cgroup2 " V2_MOUNT " is the root cgroup", NULL};
	expect_plan_refuses(&f, NULL, vm, whats);

	untouched u = {.v1 = {V1_MOUNT}, .v2 = {V2_MOUNT}};
	untouched_record(&u);
	expect_apply_refused(&f, NULL, vm, whats);
	untouched_expect(&u);
	vm_process_stop(vm);
	fixture_close(&f);
}
END_TEST

/* The repro: vfguard apply --pid of an "unshare -m sleep" in the root cgroups, plan first. */
START_TEST(cli_plan_and_apply_refuse_a_pid_in_the_root_cgroups)
{
	fixture f;
	fixture_open(&f);
	pid_t vm = root_cgroup_process();
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)vm);
	const char *args[] = {"--root", f.root, "--domain", "n1", "--uid",     "107",
			      "--gid",  "107",  "--pid",    pid,  "--hostdev", "0000:01:00.0,backend=legacy"};
	test_run run;
	/* --wide: the reasons unwrapped, so the sentences are found whole. */
	test_cli(&run, (const char *[]){"plan", "--wide", args[0], args[1], args[2], args[3], args[4], args[5], args[6],
					args[7], args[8], args[9], args[10], args[11], NULL});
	ck_assert_msg(run.status == 0, "plan exit %d: %s", run.status, run.err);
	ck_assert_msg(strstr(run.out, "REFUSED") && strstr(run.out, "cgroup2 " V2_MOUNT " is the root cgroup") &&
			      strstr(run.out, OWN_CGROUP),
		      "plan:\n%s", run.out);
	test_run_free(&run);

	untouched u = {.v1 = {V1_MOUNT}, .v2 = {V2_MOUNT}};
	untouched_record(&u);
	test_cli(&run, (const char *[]){"apply", args[0], args[1], args[2], args[3], args[4], args[5], args[6], args[7],
					args[8], args[9], args[10], args[11], NULL});
	int status = run.status;
	if (status == 0) {
		test_run revoke;
		test_cli(&revoke, (const char *[]){"revoke", "--root", f.root, "--domain", "n1", NULL});
		test_run_free(&revoke);
	}
	ck_assert_msg(status == 1 && strstr(run.err, "v1 devices " V1_MOUNT " is the root cgroup") &&
			      strstr(run.err, OWN_CGROUP) && strstr(run.err, "nothing was changed"),
		      "apply exit %d: %s", status, run.err);
	test_run_free(&run);
	untouched_expect(&u);
	ck_assert_ptr_null(test_read_file(f.root, "/run/vfguard/domains/n1.journal"));
	vm_process_stop(vm);
	fixture_close(&f);
}
END_TEST

/*
 * vfguard's own cgroup, and an ancestor of it: the test (vfguard's caller)
 * moves itself into OUTER/inner of one hierarchy, a cgroup the runner removes.
 */
START_TEST(vfguards_own_cgroup_and_its_ancestor_are_refused_and_apply_changes_nothing)
{
	bool v2 = _i / 2 == 1, ancestor = _i % 2 == 1;
	fixture f;
	fixture_open(&f);
	char outer[256], inner[512];
	cgroup_dir(outer, sizeof(outer), v2 ? V2_MOUNT : V1_MOUNT, 1);
	make_dir(outer); /* v1: allows every device, as the root does, so the test itself is not confined */
	snprintf(inner, sizeof(inner), "%s/inner", outer);
	make_dir(inner);
	write_to(inner, "cgroup.procs", "0");

	char what[1024];
	if (ancestor)
		snprintf(what, sizeof(what), "%s %s is an ancestor of vfguard's own cgroup %s",
			 v2 ? "cgroup2" : "v1 devices", outer, inner);
	else
		snprintf(what, sizeof(what), "%s %s holds vfguard itself (pid %d)", v2 ? "cgroup2" : "v1 devices",
			 inner, (int)getpid());
	const char *const whats[] = {what, NULL};
	const char *target = ancestor ? outer : inner;
	expect_plan_refuses(&f, target, 0, whats);

	untouched u = {.v1 = {v2 ? NULL : outer, v2 ? NULL : inner}, .v2 = {v2 ? outer : NULL, v2 ? inner : NULL}};
	untouched_record(&u);
	expect_apply_refused(&f, target, 0, whats);
	untouched_expect(&u);
	fixture_close(&f);
}
END_TEST

/* A plan made while the cgroup was the VM's alone, applied once vfguard sits in it: the grant refuses. */
START_TEST(grant_refuses_a_cgroup_vfguard_joined_after_the_plan)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	vfg_plan *plan = domain_plan_ok(&f, "vm1", dir, 0, LEGACY7);
	ck_assert_int_eq(test_step(plan, "cgroup", GROUP7)->action, VFG_ACTION_GRANT);
	write_to(dir, "cgroup.procs", "0");

	vfg_error err = {0};
	int r = vfg_plan_apply(f.ctx, plan, NULL, &err);
	vfg_plan_free(plan);
	char what[512];
	snprintf(what, sizeof(what), "cgroup2 %s holds vfguard itself (pid %d)", dir, (int)getpid());
	ck_assert_msg(r == -1 && strstr(err.message, what) && strstr(err.message, OWN_CGROUP), "apply: %s",
		      r == 0 ? "succeeded" : err.message);
	ck_assert_uint_eq(vfguard_program(dir, NULL), 0);
	test_expect_no_xattr(dir, "trusted.vfguard.c1:7");
	fixture_close(&f);
}
END_TEST

/* ---- the base list, shown before it is seeded ---- */

static const char base_config[] = "labelers = cgroup\n"
				  "cgroup_base_devices = /dev/null, /dev/kvm, /dev/vfio, c 136:* rw\n";
static const char base_note[] = "base list (cgroup_base_devices) seeded with the first grant: /dev/null c 1:3 rw, "
				"c 136:* rw; skipped: /dev/kvm: not on this host (ENOENT), /dev/vfio: not a device "
				"node";

START_TEST(plan_note_names_the_base_list_it_will_seed_and_each_entry_it_skips)
{
	fixture f;
	fixture_open_with(&f, host, base_config);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	vfg_plan *plan = domain_plan_ok(&f, "vm1", dir, 0, LEGACY7);
	const char *note = vfg_plan_labeler_probe(plan, test_step(plan, "cgroup", GROUP7)->labeler)->note;
	ck_assert_msg(strstr(note, base_note), "cgroup note: %s", note);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

/* The plan as the CLI prints it, --json or not. */
static void cli_plan_base_list(fixture *f, bool json, test_run *run)
{
	fixture_open_with(f, host, base_config);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	const char *argv[] = {"plan",     "--root", f->root,     "--domain", "vm1",
			      "--cgroup", dir,      "--hostdev", LEGACY7,    json ? "--json" : "--wide",
			      NULL};
	test_cli(run, argv);
	ck_assert_msg(run->status == 0, "plan exit %d: %s", run->status, run->err);
}

START_TEST(cli_plan_text_shows_the_base_list_and_the_skipped_entries)
{
	fixture f;
	test_run run;
	cli_plan_base_list(&f, false, &run);
	ck_assert_msg(strstr(run.out, base_note), "plan:\n%s", run.out);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_plan_json_cgroup_note_shows_the_base_list_and_the_skipped_entries)
{
	fixture f;
	test_run run;
	cli_plan_base_list(&f, true, &run);
	json_object *plan = json_tokener_parse(run.out), *labelers = NULL, *note = NULL;
	ck_assert_msg(plan && json_object_object_get_ex(plan, "labelers", &labelers), "%s", run.out);
	const char *text = NULL;
	for (size_t i = 0; i < json_object_array_length(labelers); i++) {
		json_object *labeler = json_object_array_get_idx(labelers, i), *name = NULL;
		if (json_object_object_get_ex(labeler, "name", &name) &&
		    strcmp(json_object_get_string(name), "cgroup") == 0 &&
		    json_object_object_get_ex(labeler, "note", &note))
			text = json_object_get_string(note);
	}
	ck_assert_msg(text && strstr(text, base_note), "cgroup note: %s", text ? text : "(none)");
	json_object_put(plan);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(apply_seeds_what_the_plan_showed_and_skips_an_entry_that_is_no_device)
{
	fixture f;
	fixture_open_with(&f, host, base_config);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	expect_map(dir, "c 136:* 6 base\nc 1:3 6 base\nc 1:5 6 grant\nc 1:7 6 grant\n");
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(plan_note_says_the_base_list_was_seeded_when_vfguards_program_is_attached_already)
{
	fixture f;
	fixture_open(&f);
	char dir[256];
	make_v2_cgroup(dir, sizeof(dir), 1);
	domain_apply_ok(&f, "vm1", dir, (const char *[]){LEGACY7, NULL}, NULL);
	vfg_plan *plan = domain_plan_ok(&f, "vm2", dir, 0, LEGACY8);
	char attached[128];
	snprintf(attached, sizeof(attached),
		 "vfguard's device program %u is attached there already (its base list was seeded then)",
		 vfguard_program(dir, NULL));
	const char *note = vfg_plan_labeler_probe(plan, test_step(plan, "cgroup", GROUP8)->labeler)->note;
	ck_assert_msg(strstr(note, attached) && !strstr(note, "seeded with the first grant"), "cgroup note: %s", note);
	vfg_plan_free(plan);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

static Suite *cgroup_suite(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("v2");
	tcase_add_unchecked_fixture(tc, runner_setup, cleanup_cgroups);
	tcase_add_test(tc, v2_grant_opens_the_granted_nodes_and_the_base_list_and_nothing_else);
	tcase_add_test(tc, v2_the_program_looks_a_rule_up_exactly_by_any_minor_by_any_major_and_by_both);
	tcase_add_test(tc, v2_revoke_denies_the_node_again_while_another_domain_keeps_the_program);
	tcase_add_test(tc, v2_a_thousand_grants_keep_one_program_and_the_map_holds_exactly_what_is_granted);
	tcase_set_timeout(tc, 240);
	suite_add_tcase(s, tc);

	tc = tcase_create("foreign programs");
	tcase_add_unchecked_fixture(tc, runner_setup, cleanup_cgroups);
	tcase_add_loop_test(tc, v2_a_foreign_program_is_named_with_the_rule_it_must_allow_and_apply_changes_nothing, 0,
			    2);
	tcase_add_test(tc, cli_plan_names_the_foreign_program_and_cli_apply_fails_with_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("v1");
	tcase_add_unchecked_fixture(tc, runner_setup, cleanup_cgroups);
	tcase_add_test(tc, v1_grant_opens_the_node_and_revoke_denies_it_again);
	tcase_add_test(tc, v1_a_rule_allowed_already_is_left_as_it_is_and_a_narrower_one_comes_back_as_it_was);
	tcase_add_test(tc, v1_libcgroup_is_asked_once_a_boot_and_its_answer_is_checked_each_time);
	tcase_add_test(tc, v1_a_cgroup_through_a_second_mount_is_refused_with_the_boots_answer_kept);
	tcase_add_test(tc, v1_the_boots_restore_keeps_the_answer_so_no_apply_of_the_boot_asks_libcgroup);
	suite_add_tcase(s, tc);

	tc = tcase_create("shared nodes");
	tcase_add_unchecked_fixture(tc, runner_setup, cleanup_cgroups);
	tcase_add_loop_test(tc, shared_container_rule_is_counted_per_cgroup, 0, 12);
	tcase_add_loop_test(tc, more_than_64_domains_share_a_cgroups_container_rule_and_the_last_revoke_restores_it, 0,
			    2);
	suite_add_tcase(s, tc);

	tc = tcase_create("round trips");
	tcase_add_unchecked_fixture(tc, runner_setup, cleanup_cgroups);
	tcase_add_test(tc, hybrid_grant_by_pid_goes_to_both_hierarchies_and_revoke_leaves_both_as_before);
	tcase_add_test(tc, restore_after_a_kill_at_any_journal_point_leaves_devices_list_and_programs_as_before);
	tcase_add_test(tc, a_kill_at_any_point_of_an_apply_granting_again_is_restored);
	tcase_add_test(tc, fd_access_needs_no_rule_and_takes_back_the_rule_of_an_earlier_path_grant);
	tcase_add_loop_test(tc, audit_compares_the_live_rules_with_the_journal, 0, 2);
	tcase_add_test(tc, audit_finds_a_cgroup_made_again_without_the_line_that_allowed_the_rule);
	tcase_add_loop_test(tc, a_grant_whose_cgroup_is_gone_while_its_pid_lives_in_another_is_drift_and_granted_again,
			    0, 2);
	tcase_add_loop_test(tc, an_apply_after_the_pid_moved_to_another_cgroup_moves_the_rules_with_it, 0, 2);
	tcase_add_loop_test(tc, a_pid_moved_into_a_cgroup_made_below_its_grants_keeps_the_grant, 0, 2);
	tcase_add_test(tc, audit_says_a_v1_cgroup_made_below_the_grants_before_it_lacks_the_rule);
	tcase_add_loop_test(tc, a_revoke_leaves_a_cgroup_made_again_at_the_path_alone, 0, 2);
	tcase_add_loop_test(tc, an_apply_into_a_cgroup_made_again_at_the_path_grants_again, 0, 2);
	tcase_add_loop_test(tc, a_dry_run_says_why_a_grant_held_in_a_cgroup_made_again_is_made_again, 0, 2);
	tcase_add_test(tc, a_cgroup_path_too_long_for_its_record_is_refused_and_nothing_changes);
	tcase_add_test(tc, an_apply_for_another_pid_of_a_held_domain_is_refused);
	tcase_add_test(tc, an_apply_naming_another_cgroup_of_a_held_domain_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("refused cgroups");
	tcase_add_unchecked_fixture(tc, runner_setup, cleanup_cgroups);
	tcase_add_loop_test(tc, a_root_cgroup_given_by_path_is_refused_and_apply_changes_nothing, 0, 2);
	tcase_add_loop_test(tc, a_cgroup_path_that_does_not_exist_is_refused_and_apply_changes_nothing, 0, 2);
	tcase_add_test(tc, a_pid_in_the_root_cgroups_is_refused_in_both_hierarchies_and_apply_changes_nothing);
	tcase_add_test(tc, cli_plan_and_apply_refuse_a_pid_in_the_root_cgroups);
	tcase_add_loop_test(tc, vfguards_own_cgroup_and_its_ancestor_are_refused_and_apply_changes_nothing, 0, 4);
	tcase_add_test(tc, grant_refuses_a_cgroup_vfguard_joined_after_the_plan);
	suite_add_tcase(s, tc);

	tc = tcase_create("base list");
	tcase_add_unchecked_fixture(tc, runner_setup, cleanup_cgroups);
	tcase_add_test(tc, plan_note_names_the_base_list_it_will_seed_and_each_entry_it_skips);
	tcase_add_test(tc, cli_plan_text_shows_the_base_list_and_the_skipped_entries);
	tcase_add_test(tc, cli_plan_json_cgroup_note_shows_the_base_list_and_the_skipped_entries);
	tcase_add_test(tc, apply_seeds_what_the_plan_showed_and_skips_an_entry_that_is_no_device);
	tcase_add_test(tc, plan_note_says_the_base_list_was_seeded_when_vfguards_program_is_attached_already);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(cgroup_suite());
}
