/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DAC labeler for real: generated trees with mknod'ed nodes, real chown,
 * real ACLs and xattrs, and the kernel's own DAC check (a process that drops
 * to the hypervisor uid and opens the node). Apply and revoke go through the
 * library and the CLI, journal and all.
 */
#include <acl/libacl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "testlib.h"

/*
 * Three single-function groups, both backends. The misc nodes get a major no
 * driver registers here (not 10, the misc major), like the groups and cdevs:
 * an open that DAC lets through then fails in chrdev_open() with ENXIO, and
 * never asks for a module.
 */
static const char host[] = "misc vfio 234:196\n"
			   "misc iommu 234:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio1:511:1\n"
			   "group 9 243:2\n"
			   "device 0000:03:00.0 group=9 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio2:511:2\n";

#define CONTAINER "/dev/vfio/vfio"
#define IOMMU "/dev/iommu"
#define GROUP7 "/dev/vfio/7"
#define CDEV1 "/dev/vfio/devices/vfio1"

/* What a round trip must leave exactly as it found it. */
#define UNCHANGED (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

static const char label[] = "system_u:object_r:vfio_device_t:s0";

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
} fixture;

static void fixture_open(fixture *f)
{
	f->root = test_root_new(host);
	/* Only the labeler under test: the other labelers cannot grant yet. */
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	/* mkdtemp made the root 0700; the hypervisor uid must walk to the nodes. */
	ck_assert_int_eq(chmod(f->root, 0755), 0);
	/* A hardened host: the container is not world-writable, so every domain needs a grant. */
	ck_assert_int_eq(chmod(test_path(f->root, CONTAINER), 0660), 0);
	f->ctx = test_context(f->root);
}

static void fixture_close(fixture *f)
{
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
}

/* Plan and apply @hostdevs (NULL-terminated) for domain @name, its hypervisor running as @uid:@uid. */
static int domain_apply(fixture *f, const char *name, uid_t uid, const char *const *hostdevs,
			vfg_change_summary *summary, vfg_error *err)
{
	vfg_hostdev_spec specs[4];
	size_t n = 0;
	for (; hostdevs[n]; n++) {
		ck_assert_uint_lt(n, 4);
		ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, hostdevs[n], &specs[n], err) == 0, "%s", err->message);
	}
	vfg_domain domain = {.uid = uid, .gid = uid, .n_hostdevs = n, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "%s", name);
	vfg_plan *plan = NULL;
	int r = vfg_plan_build(f->ctx, &domain, &plan, err);
	if (r == 0)
		r = vfg_plan_apply(f->ctx, plan, summary, err);
	vfg_plan_free(plan);
	return r;
}

static void domain_apply_ok(fixture *f, const char *name, uid_t uid, const char *const *hostdevs,
			    vfg_change_summary *summary)
{
	vfg_error err = {0};
	ck_assert_msg(domain_apply(f, name, uid, hostdevs, summary, &err) == 0, "apply %s: %s", name, err.message);
}

static void domain_revoke_ok(fixture *f, const char *name)
{
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_domain_revoke(f->ctx, name, &summary, &err) == 0, "revoke %s: %s", name, err.message);
}

/* The node's access ACL as text with numeric ids ("user:107:rw-" a line), mode entries included. */
static char *acl_text(const char *root, const char *logical)
{
	acl_t acl = acl_get_file(test_path(root, logical), ACL_TYPE_ACCESS);
	ck_assert_msg(acl != NULL, "acl_get_file %s: %s", logical, strerror(errno));
	char *text = acl_to_any_text(acl, NULL, '\n', TEXT_NUMERIC_IDS);
	ck_assert_ptr_nonnull(text);
	acl_free(acl);
	return text;
}

static void expect_acl(const char *root, const char *logical, const char *entry, bool present)
{
	char *text = acl_text(root, logical);
	ck_assert_msg((strstr(text, entry) != NULL) == present, "%s: expected %s'%s' in its ACL:\n%s", logical,
		      present ? "" : "no ", entry, text);
	acl_free(text);
}

static void set_acl(const char *root, const char *logical, const char *text)
{
	acl_t acl = acl_from_text(text);
	ck_assert_msg(acl != NULL, "bad ACL text %s", text);
	ck_assert_msg(acl_set_file(test_path(root, logical), ACL_TYPE_ACCESS, acl) == 0, "acl_set_file %s: %s", logical,
		      strerror(errno));
	acl_free(acl);
}

static void expect_owner(const char *root, const char *logical, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;
	ck_assert_int_eq(lstat(test_path(root, logical), &st), 0);
	ck_assert_msg(st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == mode,
		      "%s: %u:%u %04o, expected %u:%u %04o", logical, st.st_uid, st.st_gid, st.st_mode & 07777,
		      (unsigned)uid, (unsigned)gid, (unsigned)mode);
}

/*
 * open(@path, O_RDWR) as the kernel sees it from a process running as
 * @uid:@gid with no supplementary groups: 0 when it opened, else the errno.
 */
static int open_as(const char *path, uid_t uid, gid_t gid)
{
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int result = -1; /* could not become uid:gid */
		if (setgroups(0, NULL) == 0 && setgid(gid) == 0 && setuid(uid) == 0) {
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
	ck_assert_msg(result >= 0, "the child could not drop to %u:%u", (unsigned)uid, (unsigned)gid);
	return result;
}

/*
 * DAC let the open through: what fails now is the missing driver (ENXIO from
 * chrdev_open(), fs/char_dev.c, after may_open()), not the permission check.
 * Any other error (ENOENT: the node is gone) never reached the device.
 */
static void expect_dac_allows(const char *root, const char *logical, uid_t uid)
{
	int r = open_as(test_path(root, logical), uid, uid);
	ck_assert_msg(r == ENXIO, "uid %u opening %s: %s, expected DAC to let it through to ENXIO (no driver)",
		      (unsigned)uid, logical, r ? strerror(r) : "opened");
}

static void expect_dac_denies(const char *root, const char *logical, uid_t uid)
{
	int r = open_as(test_path(root, logical), uid, uid);
	ck_assert_msg(r == EACCES, "uid %u opening %s: %s, expected EACCES", (unsigned)uid, logical,
		      r ? strerror(r) : "opened");
}

/* round trip */

/*
 * Nodes as a labeled host has them: an SELinux label on each, an ACL on both
 * shared nodes, one with a mask narrower than its entries.
 */
static void label_the_host(const char *root)
{
	const char *nodes[] = {CONTAINER, IOMMU, GROUP7, CDEV1};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		ck_assert_int_eq(lsetxattr(test_path(root, nodes[i]), "security.selinux", label, sizeof(label), 0), 0);
	set_acl(root, CONTAINER, "u::rw,u:500:rwx,g::rw,g:600:rw,m::r,o::-");
	set_acl(root, IOMMU, "u::rw,g::rw,g:600:r,m::rw,o::-");
}

static const char *const both_backends[] = {"01:00.0,backend=legacy", "02:00.0,backend=iommufd", NULL};

START_TEST(apply_then_revoke_restores_owner_mode_acl_and_xattrs_byte_for_byte)
{
	fixture f;
	fixture_open(&f);
	label_the_host(f.root);
	char *original = test_snapshot(f.root, UNCHANGED);

	bool cli = _i == 1;
	if (cli) {
		test_run run;
		test_cli(&run,
			 (const char *[]){"apply", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					  "--hostdev", both_backends[0], "--hostdev", both_backends[1], NULL});
		ck_assert_msg(run.status == 0, "apply exit %d: %s", run.status, run.err);
		ck_assert_msg(strstr(run.out, "4 changes made"), "%s", run.out);
		test_run_free(&run);
	} else {
		vfg_change_summary summary;
		domain_apply_ok(&f, "vm1", 107, both_backends, &summary);
		ck_assert_uint_eq(summary.changed, 4);
	}

	expect_owner(f.root, GROUP7, 107, 107, 0600);
	expect_owner(f.root, CDEV1, 107, 107, 0600);
	expect_acl(f.root, CONTAINER, "user:107:rw-", true);
	expect_acl(f.root, IOMMU, "user:107:rw-", true);
	/* the narrow mask widens by rw for the new entry and no more; the other entries keep their bits */
	expect_acl(f.root, CONTAINER, "mask::rw-", true);
	expect_acl(f.root, CONTAINER, "user:500:rwx", true);
	expect_acl(f.root, CONTAINER, "group:600:rw-", true);
	char *granted = test_snapshot(f.root, UNCHANGED);
	ck_assert_str_ne(granted, original);
	ck_assert_ptr_nonnull(strstr(granted, label)); /* chown and ACLs leave the label alone */
	free(granted);

	if (cli) {
		test_run run;
		test_cli(&run, (const char *[]){"revoke", "--root", f.root, "--domain", "vm1", NULL});
		ck_assert_msg(run.status == 0, "revoke exit %d: %s", run.status, run.err);
		test_run_free(&run);
	} else {
		domain_revoke_ok(&f, "vm1");
	}
	test_snapshot_expect(f.root, UNCHANGED, original, "apply then revoke");
	free(original);
	fixture_close(&f);
}
END_TEST

/* The crash test's state, for test_kill_at_each_point()'s callbacks. */
typedef struct dac_crash {
	fixture *f;
	const char *original;
} dac_crash;

static int dac_crash_apply(void *data)
{
	dac_crash *c = data;
	vfg_error err = {0};
	return domain_apply(c->f, "vm1", 107, both_backends, NULL, &err);
}

/* Restore finishes the killed apply; a kill after the commit leaves a finished apply, which revoke undoes. */
static void dac_crash_restore(unsigned point, void *data)
{
	dac_crash *c = data;
	test_restore_ok(c->f->ctx, point);
	domain_revoke_ok(c->f, "vm1");
	char what[64];
	snprintf(what, sizeof(what), "restore after a kill at point %u", point);
	test_snapshot_expect(c->f->root, UNCHANGED, c->original, what);
}

START_TEST(restore_after_a_kill_at_any_journal_point_puts_the_tree_back)
{
	fixture f;
	fixture_open(&f);
	label_the_host(f.root);
	char *original = test_snapshot(f.root, UNCHANGED);

	dac_crash crash = {.f = &f, .original = original};
	unsigned points = test_kill_at_each_point(dac_crash_apply, dac_crash_restore, &crash);
	/* four grants, each with a point after its intent, after its change and after its done */
	ck_assert_msg(points >= 12, "only %u journal points", points);
	domain_revoke_ok(&f, "vm1");
	test_snapshot_expect(f.root, UNCHANGED, original, "the uninterrupted apply, revoked");
	free(original);
	fixture_close(&f);
}
END_TEST

/* shared nodes */

/* A and B run as uid 107, C as 108; each has its own group, all share the container. */
static const struct {
	const char *name;
	uid_t uid;
	const char *hostdev;
} sharers[] = {
	{"a", 107, "01:00.0,backend=legacy"},
	{"b", 107, "02:00.0,backend=legacy"},
	{"c", 108, "03:00.0,backend=legacy"},
};

static const char revoke_orders[][4] = {"acb", "abc", "bac", "bca", "cab", "cba"};

START_TEST(shared_container_entry_is_counted_per_uid)
{
	fixture f;
	fixture_open(&f);
	/* no group bits: an ACL's mask shows there, so the last revoke must put the mode back too */
	ck_assert_int_eq(chmod(test_path(f.root, CONTAINER), 0604), 0);
	char *original = test_snapshot(f.root, UNCHANGED);
	for (size_t i = 0; i < 3; i++)
		domain_apply_ok(&f, sharers[i].name, sharers[i].uid, (const char *[]){sharers[i].hostdev, NULL}, NULL);
	expect_acl(f.root, CONTAINER, "user:107:rw-", true);
	expect_acl(f.root, CONTAINER, "user:108:rw-", true);
	expect_owner(f.root, CONTAINER, 0, 0, 0664); /* never a new owner; the group bits show the mask */

	bool held[3] = {true, true, true};
	const char *order = revoke_orders[_i];
	for (size_t step = 0; step < 3; step++) {
		size_t who = (size_t)(order[step] - 'a');
		domain_revoke_ok(&f, sharers[who].name);
		held[who] = false;
		if (step == 2)
			break;
		expect_acl(f.root, CONTAINER, "user:107:rw-", held[0] || held[1]);
		expect_acl(f.root, CONTAINER, "user:108:rw-", held[2]);
		expect_dac_allows(f.root, CONTAINER, held[0] || held[1] ? 107 : 108);
	}
	char what[64];
	snprintf(what, sizeof(what), "revoking in the order %s", order);
	test_snapshot_expect(f.root, UNCHANGED, original, what);
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(an_entry_the_uid_had_before_vfguard_comes_back_with_its_own_permissions)
{
	fixture f;
	fixture_open(&f);
	set_acl(f.root, CONTAINER, "u::rw,u:107:r,g::rw,m::rw,o::-");
	char *original = test_snapshot(f.root, UNCHANGED);
	domain_apply_ok(&f, "a", 107, (const char *[]){sharers[0].hostdev, NULL}, NULL);
	domain_apply_ok(&f, "c", 108, (const char *[]){sharers[2].hostdev, NULL}, NULL);
	expect_acl(f.root, CONTAINER, "user:107:rw-", true);

	domain_revoke_ok(&f, "a"); /* c still holds the container: only uid 107's entry goes back */
	expect_acl(f.root, CONTAINER, "user:107:r--", true);
	expect_acl(f.root, CONTAINER, "user:108:rw-", true);
	domain_revoke_ok(&f, "c");
	test_snapshot_expect(f.root, UNCHANGED, original, "revoking both");
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(group_bits_under_an_acl_are_its_mask_and_allow_nothing_by_themselves)
{
	fixture f;
	fixture_open(&f);
	/* the owning group is the hypervisor gid and the mode shows g+rw, but that is the mask; the group has --- */
	ck_assert_int_eq(chown(test_path(f.root, CONTAINER), 0, 107), 0);
	set_acl(f.root, CONTAINER, "u::rw,u:500:rw,g::-,m::rw,o::-");
	expect_owner(f.root, CONTAINER, 0, 107, 0660);
	expect_dac_denies(f.root, CONTAINER, 107);
	char *original = test_snapshot(f.root, UNCHANGED);

	domain_apply_ok(&f, "vm1", 107, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	expect_acl(f.root, CONTAINER, "user:107:rw-", true);
	expect_dac_allows(f.root, CONTAINER, 107);
	domain_revoke_ok(&f, "vm1");
	expect_dac_denies(f.root, CONTAINER, 107);
	test_snapshot_expect(f.root, UNCHANGED, original, "apply then revoke");
	free(original);
	fixture_close(&f);
}
END_TEST

/* The JSON plan of the three legacy hostdevs for uid 107, in a string to free(). */
static char *plan_json(fixture *f)
{
	static const char *const bdfs[] = {"01:00.0,backend=legacy", "02:00.0,backend=legacy",
					   "03:00.0,backend=legacy"};
	vfg_hostdev_spec specs[3];
	vfg_error err = {0};
	for (size_t i = 0; i < 3; i++)
		ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, bdfs[i], &specs[i], &err) == 0, "%s", err.message);
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = 3, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "vm1");
	vfg_plan *plan = NULL;
	ck_assert_msg(vfg_plan_build(f->ctx, &domain, &plan, &err) == 0, "plan: %s", err.message);
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(vfg_plan_write_json(plan, out), 0);
	ck_assert_int_eq(fclose(out), 0);
	vfg_plan_free(plan);
	return text;
}

/*
 * The plan reads each node's ACL through the fd enumeration checked the node
 * through, kept while the fd table has room below the soft RLIMIT_NOFILE
 * (core/plan.c: node_fds), and opens the node again past that: the same plan
 * every way, and no fd left behind. Child processes lower the limit: none
 * kept, then the first two.
 */
START_TEST(the_plan_is_the_same_with_the_nodes_fds_kept_or_not_and_keeps_none)
{
	fixture f;
	fixture_open(&f);
	set_acl(f.root, GROUP7, "u::rw,u:500:rw,g::-,m::rw,o::-");
	ck_assert_int_eq(chown(test_path(f.root, "/dev/vfio/8"), 0, 107), 0);
	ck_assert_int_eq(chmod(test_path(f.root, "/dev/vfio/8"), 0660), 0);
	int fds = test_count_fds();
	char *kept = plan_json(&f);
	ck_assert_int_eq(test_count_fds(), fds);
	ck_assert_msg(strstr(kept, "with an ACL"), "the ACL on %s is not in the plan:\n%s", GROUP7, kept);
	ck_assert_msg(strstr(kept, "its group is the hypervisor gid"), "%s", kept);

	int lowest_free = dup(0);
	ck_assert_int_ge(lowest_free, 0);
	close(lowest_free);
	/* vfg_node_keep_below() leaves 64 fds' margin: 64 keeps none, 64 + the lowest free + 2 the first two. */
	const rlim_t limits[] = {64, 64 + (rlim_t)lowest_free + 2};
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			struct rlimit limit;
			if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
				_exit(2);
			limit.rlim_cur = limits[i];
			if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
				_exit(3);
			char *reopened = plan_json(&f);
			int same = strcmp(reopened, kept) == 0;
			if (!same)
				fprintf(stderr, "soft limit %lu:\n%s\nagainst\n%s\n", (unsigned long)limits[i],
					reopened, kept);
			free(reopened);
			_exit(same && test_count_fds() == fds ? 0 : 1);
		}
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "soft limit %lu: status %d",
			      (unsigned long)limits[i], status);
	}
	free(kept);
	fixture_close(&f);
}
END_TEST

/* exclusive nodes and the kernel's check */

START_TEST(exclusive_node_opens_for_the_domain_uid_only_while_granted)
{
	fixture f;
	fixture_open(&f);
	const char *const legacy[] = {"01:00.0,backend=legacy", NULL};
	expect_dac_denies(f.root, GROUP7, 107);
	expect_dac_denies(f.root, CONTAINER, 107);

	domain_apply_ok(&f, "vm1", 107, legacy, NULL);
	expect_owner(f.root, GROUP7, 107, 107, 0600);
	expect_dac_allows(f.root, GROUP7, 107);
	expect_dac_allows(f.root, CONTAINER, 107);
	expect_dac_denies(f.root, GROUP7, 108);
	expect_dac_denies(f.root, CONTAINER, 108);

	domain_revoke_ok(&f, "vm1");
	expect_owner(f.root, GROUP7, 0, 0, 0600);
	expect_dac_denies(f.root, GROUP7, 107);
	expect_dac_denies(f.root, CONTAINER, 107);
	fixture_close(&f);
}
END_TEST

START_TEST(exclusive_node_gets_owner_rw_and_its_own_mode_back)
{
	fixture f;
	fixture_open(&f);
	ck_assert_int_eq(chmod(test_path(f.root, GROUP7), 0440), 0);
	domain_apply_ok(&f, "vm1", 107, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	expect_owner(f.root, GROUP7, 107, 107, 0640);
	expect_dac_allows(f.root, GROUP7, 107);
	domain_revoke_ok(&f, "vm1");
	expect_owner(f.root, GROUP7, 0, 0, 0440);
	fixture_close(&f);
}
END_TEST

/* refusals */

/* What may sit at the group's path instead of its node; each returns the reason vfguard should give. */
static const char *make_symlink(const char *root)
{
	/* the very node, elsewhere: only the symlink is wrong */
	ck_assert_int_eq(mknod(test_path(root, "/elsewhere"), S_IFCHR | 0600, makedev(243, 0)), 0);
	ck_assert_int_eq(symlink("../../elsewhere", test_path(root, GROUP7)), 0);
	return "is a symlink";
}

static const char *make_regular_file(const char *root)
{
	test_write_file(root, GROUP7, "");
	return "is a regular file";
}

static const char *make_other_rdev(const char *root)
{
	ck_assert_int_eq(mknod(test_path(root, GROUP7), S_IFCHR | 0600, makedev(243, 9)), 0);
	return "is character device 243:9";
}

static const char *(*const impostors[])(const char *root) = {make_symlink, make_regular_file, make_other_rdev};

static const char *put_impostor(const char *root, int which)
{
	ck_assert_int_eq(unlink(test_path(root, GROUP7)), 0);
	return impostors[which](root);
}

START_TEST(apply_refuses_an_impostor_swapped_in_after_the_plan_and_changes_nothing)
{
	fixture f;
	fixture_open(&f);
	vfg_hostdev_spec spec;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_hostdev_spec_parse(f.ctx, "01:00.0,backend=legacy", &spec, &err), 0);
	vfg_domain domain = {.name = "vm1", .uid = 107, .gid = 107, .n_hostdevs = 1, .hostdevs = &spec};
	vfg_plan *plan = NULL;
	ck_assert_msg(vfg_plan_build(f.ctx, &domain, &plan, &err) == 0, "%s", err.message);

	/* between plan and apply, the node is swapped: the grant's own check must catch it */
	const char *reason = put_impostor(f.root, _i);
	char *before = test_snapshot(f.root, UNCHANGED);
	ck_assert_int_eq(vfg_plan_apply(f.ctx, plan, NULL, &err), -1);
	ck_assert_msg(strstr(err.message, test_path(f.root, GROUP7)) && strstr(err.message, reason),
		      "expected the path and '%s' in: %s", reason, err.message);
	/* the container, granted first, is rolled back */
	test_snapshot_expect(f.root, UNCHANGED, before, "a refused apply");
	free(before);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_apply_refuses_an_impostor_and_changes_nothing)
{
	fixture f;
	fixture_open(&f);
	const char *reason = put_impostor(f.root, _i);
	char *before = test_snapshot(f.root, TEST_SNAPSHOT_NO_STATE);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--hostdev", "01:00.0,backend=legacy", NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, test_path(f.root, GROUP7)) && strstr(run.err, reason),
		      "expected the path and '%s' in: %s", reason, run.err);
	test_run_free(&run);
	test_snapshot_expect(f.root, TEST_SNAPSHOT_NO_STATE, before, "a refused apply");
	free(before);
	fixture_close(&f);
}
END_TEST

/* fd access and applying again */

static const char *const by_fd[] = {"01:00.0,backend=legacy,access=fd", "02:00.0,backend=iommufd,access=fd", NULL};

START_TEST(fd_access_grants_nothing)
{
	fixture f;
	fixture_open(&f);
	char *before = test_snapshot(f.root, TEST_SNAPSHOT_NO_STATE); /* not even a ctime moves */
	vfg_change_summary summary;
	domain_apply_ok(&f, "vm1", 107, by_fd, &summary);
	ck_assert_uint_eq(summary.changed, 0);
	test_snapshot_expect(f.root, TEST_SNAPSHOT_NO_STATE, before, "an fd-access apply");
	expect_dac_denies(f.root, GROUP7, 107);
	free(before);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(fd_access_takes_back_the_path_grant_of_an_earlier_run)
{
	fixture f;
	fixture_open(&f);
	char *original = test_snapshot(f.root, UNCHANGED);
	domain_apply_ok(&f, "vm1", 107, both_backends, NULL);
	expect_owner(f.root, GROUP7, 107, 107, 0600);

	vfg_change_summary summary;
	domain_apply_ok(&f, "vm1", 107, by_fd, &summary);
	ck_assert_uint_eq(summary.revoked, 4);
	ck_assert_uint_eq(summary.changed, 0);
	expect_owner(f.root, GROUP7, 0, 0, 0600);
	expect_owner(f.root, CDEV1, 0, 0, 0600);
	test_snapshot_expect(f.root, UNCHANGED, original, "the fd-access apply");
	domain_revoke_ok(&f, "vm1");
	test_snapshot_expect(f.root, UNCHANGED, original, "revoke after it");
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(apply_twice_changes_nothing_the_second_time_and_one_revoke_restores)
{
	fixture f;
	fixture_open(&f);
	label_the_host(f.root);
	char *original = test_snapshot(f.root, UNCHANGED);
	domain_apply_ok(&f, "vm1", 107, both_backends, NULL);
	char *granted = test_snapshot(f.root, TEST_SNAPSHOT_NO_STATE);

	vfg_change_summary summary;
	domain_apply_ok(&f, "vm1", 107, both_backends, &summary);
	ck_assert_uint_eq(summary.changed, 0);
	/* the shared nodes are planned again and kept; the exclusive ones the uid owns now plan no change */
	ck_assert_uint_eq(summary.kept, 2);
	test_snapshot_expect(f.root, TEST_SNAPSHOT_NO_STATE, granted, "the second apply");

	domain_revoke_ok(&f, "vm1");
	test_snapshot_expect(f.root, UNCHANGED, original, "one revoke");
	char *journal = test_read_file(f.root, "/run/vfguard/domains/vm1.journal");
	ck_assert_msg(journal == NULL, "the domain still has a journal:\n%s", journal);
	free(granted);
	free(original);
	fixture_close(&f);
}
END_TEST

/* revoke of what is no longer there */

START_TEST(revoke_leaves_a_node_that_is_gone_or_replaced_and_says_so)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "vm1", 107, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	/* the group node is gone (device unbound), the container is now another device */
	ck_assert_int_eq(unlink(test_path(f.root, GROUP7)), 0);
	ck_assert_int_eq(unlink(test_path(f.root, CONTAINER)), 0);
	ck_assert_int_eq(mknod(test_path(f.root, CONTAINER), S_IFCHR | 0644, makedev(234, 5)), 0);
	ck_assert_int_eq(chown(test_path(f.root, CONTAINER), 5, 5), 0);

	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_domain_revoke(f.ctx, "vm1", &summary, &err) == 0, "revoke: %s", err.message);
	ck_assert_msg(strstr(summary.notes, GROUP7) && strstr(summary.notes, "gone"), "notes: %s", summary.notes);
	ck_assert_msg(strstr(summary.notes, CONTAINER) && strstr(summary.notes, "left alone"), "notes: %s",
		      summary.notes);
	expect_owner(f.root, CONTAINER, 5, 5, 0644);
	test_expect_no_xattr(test_path(f.root, CONTAINER), "system.posix_acl_access");
	ck_assert_ptr_null(test_read_file(f.root, "/run/vfguard/domains/vm1.journal"));
	fixture_close(&f);
}
END_TEST

/* audit */

/* Audit domain @name holding @hostdevs as @uid:@uid; the caller frees the report. */
static vfg_audit_report *domain_audit(fixture *f, const char *name, uid_t uid, const char *const *hostdevs)
{
	vfg_error err = {0};
	vfg_hostdev_spec specs[4];
	size_t n = 0;
	for (; hostdevs[n]; n++)
		ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, hostdevs[n], &specs[n], &err) == 0, "%s", err.message);
	vfg_domain domain = {.uid = uid, .gid = uid, .n_hostdevs = n, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "%s", name);
	vfg_plan *plan = NULL;
	vfg_audit_report *report = NULL;
	ck_assert_msg(vfg_plan_build(f->ctx, &domain, &plan, &err) == 0, "plan: %s", err.message);
	ck_assert_msg(vfg_plan_audit(f->ctx, plan, &report, &err) == 0, "audit: %s", err.message);
	vfg_plan_free(plan);
	return report;
}

/* The report holds exactly one finding of @kind for @path from the DAC labeler, mentioning @found. */
static void expect_one_finding(const vfg_audit_report *report, vfg_finding_kind kind, const char *path,
			       const char *found)
{
	ck_assert_uint_eq(report->n_findings, 1);
	const vfg_audit_finding *f = &report->findings[0];
	ck_assert_str_eq(f->labeler, "dac");
	ck_assert_str_eq(vfg_finding_kind_name(f->kind), vfg_finding_kind_name(kind));
	ck_assert_str_eq(f->path, path);
	ck_assert_msg(strstr(f->actual, found), "expected '%s' in the finding: %s", found, f->actual);
}

START_TEST(audit_is_clean_after_apply_and_names_each_drift)
{
	fixture f;
	fixture_open(&f);
	const char *const *hostdevs = both_backends;

	/* Before apply, every path-access node the uid cannot open is missing its grant. */
	vfg_audit_report *report = domain_audit(&f, "vm1", 107, hostdevs);
	ck_assert_uint_eq(report->n_findings, 4);
	for (size_t i = 0; i < report->n_findings; i++)
		ck_assert_int_eq(report->findings[i].kind, VFG_FINDING_MISSING);
	vfg_audit_report_free(report);

	domain_apply_ok(&f, "vm1", 107, hostdevs, NULL);
	report = domain_audit(&f, "vm1", 107, hostdevs);
	ck_assert_msg(report->n_findings == 0, "a fresh apply drifted: %s %s", report->findings[0].path,
		      report->findings[0].actual);
	vfg_audit_report_free(report);

	/* Someone takes the group back: the owner is named. */
	ck_assert_int_eq(chown(test_path(f.root, GROUP7), 0, 0), 0);
	report = domain_audit(&f, "vm1", 107, hostdevs);
	expect_one_finding(report, VFG_FINDING_DRIFT, GROUP7, "owner 0:0");
	vfg_audit_report_free(report);
	ck_assert_int_eq(chown(test_path(f.root, GROUP7), 107, 107), 0);

	/* ... or opens it to everyone: the owner is right, the mode is not the one granted. */
	ck_assert_int_eq(chmod(test_path(f.root, GROUP7), 0666), 0);
	report = domain_audit(&f, "vm1", 107, hostdevs);
	expect_one_finding(report, VFG_FINDING_DRIFT, GROUP7, "owner 107:107 mode 0666");
	ck_assert_msg(strstr(report->findings[0].expected, "owner 107:107 mode 0600"), "%s",
		      report->findings[0].expected);
	vfg_audit_report_free(report);
	ck_assert_int_eq(chmod(test_path(f.root, GROUP7), 0600), 0);

	/* ... or removes the uid's entry from the shared container. */
	set_acl(f.root, CONTAINER, "u::rw,g::rw,m::rw,o::-");
	report = domain_audit(&f, "vm1", 107, hostdevs);
	expect_one_finding(report, VFG_FINDING_DRIFT, CONTAINER, "no entry for uid 107");
	vfg_audit_report_free(report);

	/* ... or narrows the mask under it. */
	set_acl(f.root, CONTAINER, "u::rw,u:107:rw,g::rw,m::r,o::-");
	report = domain_audit(&f, "vm1", 107, hostdevs);
	expect_one_finding(report, VFG_FINDING_DRIFT, CONTAINER, "mask without rw");
	vfg_audit_report_free(report);
	set_acl(f.root, CONTAINER, "u::rw,u:107:rw,g::rw,m::rw,o::-");

	fixture_close(&f);
}
END_TEST

/*
 * A finding's fix names the journal's record, which holds the node's ACL
 * before the grant in hex: past the field's 511 bytes it was cut with no
 * sign of it, as was any long actual (a trial). A cut text ends in "...".
 */
START_TEST(a_finding_cut_to_fit_says_so)
{
	fixture f;
	fixture_open(&f);
	char text[1024] = "u::rw,g::rw,m::rw,o::-";
	for (unsigned uid = 2000; uid < 2060; uid++) /* 60 entries: 488 bytes of ACL, 976 of hex */
		snprintf(text + strlen(text), sizeof(text) - strlen(text), ",u:%u:r", uid);
	set_acl(f.root, GROUP7, text);
	domain_apply_ok(&f, "vm1", 107, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	ck_assert_int_eq(chown(test_path(f.root, GROUP7), 0, 0), 0);
	vfg_audit_report *report = domain_audit(&f, "vm1", 107, (const char *[]){"01:00.0,backend=legacy", NULL});
	ck_assert_uint_eq(report->n_findings, 1);
	const char *fix = report->findings[0].fix;
	ck_assert_msg(strlen(fix) == sizeof(report->findings[0].fix) - 1 && strcmp(fix + strlen(fix) - 3, "...") == 0,
		      "%zu bytes: %s", strlen(fix), fix);
	ck_assert_msg(strstr(report->findings[0].actual, "owner 0:0") &&
			      strcmp(report->findings[0].actual + strlen(report->findings[0].actual) - 3, "...") != 0,
		      "%s", report->findings[0].actual);
	vfg_audit_report_free(report);
	fixture_close(&f);
}
END_TEST

/* As @uid:@gid (the hypervisor, owner of its exclusive node): the access ACL @text on @path, as setfacl would. */
static void set_acl_as(const char *path, uid_t uid, gid_t gid, const char *text)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		acl_t acl = acl_from_text(text);
		_exit(acl && setgroups(0, NULL) == 0 && setgid(gid) == 0 && setuid(uid) == 0 &&
				      acl_set_file(path, ACL_TYPE_ACCESS, acl) == 0
			      ? 0
			      : 1);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "uid %u could not set '%s' on %s", (unsigned)uid,
		      text, path);
}

/* Audit of vm1 (uid 107) with @hostdevs, right after its apply: no finding. */
static void expect_audit_clean(fixture *f, const char *const *hostdevs)
{
	vfg_audit_report *clean = domain_audit(f, "vm1", 107, hostdevs);
	ck_assert_msg(clean->n_findings == 0, "a fresh grant drifts: %s",
		      clean->n_findings ? clean->findings[0].actual : "");
	vfg_audit_report_free(clean);
}

/* Audit of vm1 (uid 107) with @hostdevs: one drift on GROUP7, which names @found. */
static void expect_audit_drift(fixture *f, const char *const *hostdevs, const char *found)
{
	vfg_audit_report *report = domain_audit(f, "vm1", 107, hostdevs);
	expect_one_finding(report, VFG_FINDING_DRIFT, GROUP7, found);
	vfg_audit_report_free(report);
}

/*
 * While granted, an exclusive node is the hypervisor's, and an owner may set
 * ACL entries: a security trial's VM uid let uid 108 in, and the entry
 * outlived revoke, which put back only owner and mode, with audit silent.
 * Audit names the ACL, and revoke puts back the node's own: none, or the
 * exact bytes it had.
 */
START_TEST(an_acl_the_hypervisor_set_on_its_exclusive_node_goes_with_the_revoke)
{
	fixture f;
	fixture_open(&f);
	bool had_acl = _i == 1;
	/* an owner entry without w, so the grant's chmod u+rw changes the ACL too, and audit must allow that */
	if (had_acl)
		set_acl(f.root, GROUP7, "u::r,u:500:r,g::-,m::r,o::-");
	char *original = test_snapshot(f.root, UNCHANGED);
	const char *const legacy[] = {"01:00.0,backend=legacy", NULL};
	domain_apply_ok(&f, "vm1", 107, legacy, NULL);
	expect_audit_clean(&f, legacy);
	set_acl_as(test_path(f.root, GROUP7), 107, 107,
		   had_acl ? "u::rw,u:500:r,u:108:rw,g::-,m::rw,o::-" : "u::rw,u:108:rw,g::-,m::rw,o::-");
	expect_dac_allows(f.root, GROUP7, 108);
	expect_audit_drift(&f, legacy, "an access ACL other than the node had before the grant");
	domain_revoke_ok(&f, "vm1");
	test_snapshot_expect(f.root, UNCHANGED, original, "revoke after the hypervisor set an ACL");
	expect_dac_denies(f.root, GROUP7, 108);
	free(original);
	fixture_close(&f);
}
END_TEST

/*
 * An ACL on an exclusive node (an administrator's setfacl, a logind uaccess
 * entry) let uid 500 and group 600 in before the grant. The grant left the
 * mask, and both kept opening the group node the hypervisor held: a node
 * that is "this domain's alone" was not. Now the mask is --- while granted
 * (the entries stay, and revoke puts the bytes back).
 */
START_TEST(an_exclusive_nodes_acl_lets_no_one_else_in_while_granted)
{
	fixture f;
	fixture_open(&f);
	set_acl(f.root, GROUP7, "u::rw,u:500:rw,g::r,g:600:rw,m::rw,o::-");
	expect_dac_allows(f.root, GROUP7, 500);
	ck_assert_int_eq(open_as(test_path(f.root, GROUP7), 600, 600), ENXIO);
	char *original = test_snapshot(f.root, UNCHANGED);
	const char *const legacy[] = {"01:00.0,backend=legacy", NULL};

	domain_apply_ok(&f, "vm1", 107, legacy, NULL);
	expect_owner(f.root, GROUP7, 107, 107, 0600);
	expect_acl(f.root, GROUP7, "user:500:rw-", true);
	expect_acl(f.root, GROUP7, "mask::---", true);
	expect_dac_allows(f.root, GROUP7, 107);
	expect_dac_denies(f.root, GROUP7, 500);
	ck_assert_int_eq(open_as(test_path(f.root, GROUP7), 600, 600), EACCES);
	expect_audit_clean(&f, legacy);

	/* the hypervisor, owner now, widens the mask again: audit says so */
	ck_assert_int_eq(chmod(test_path(f.root, GROUP7), 0660), 0);
	expect_audit_drift(&f, legacy, "mode 0660");

	domain_revoke_ok(&f, "vm1");
	test_snapshot_expect(f.root, UNCHANGED, original, "apply then revoke of a node with an ACL");
	expect_dac_allows(f.root, GROUP7, 500);
	free(original);
	fixture_close(&f);
}
END_TEST

/*
 * A node the domain uid owns without rw, with an ACL: the grant makes it
 * rw for the owner and clears the mask, as for any other owner. The plan
 * said "chmod u+rw" and nothing of the ACL (the owner's check returned
 * before it looked for one): a dry run must say what apply does (a trial).
 */
START_TEST(the_plan_of_an_owned_node_with_an_acl_says_the_mask_is_cleared)
{
	fixture f;
	fixture_open(&f);
	ck_assert_int_eq(chown(test_path(f.root, GROUP7), 107, 107), 0);
	set_acl(f.root, GROUP7, "u::-,u:500:rw,g::r,m::rw,o::-");
	char *original = test_snapshot(f.root, UNCHANGED);
	vfg_hostdev_spec spec;
	vfg_error err = {0};
	ck_assert_msg(vfg_hostdev_spec_parse(f.ctx, "01:00.0,backend=legacy", &spec, &err) == 0, "%s", err.message);
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = 1, .hostdevs = &spec};
	snprintf(domain.name, sizeof(domain.name), "vm1");
	vfg_plan *plan = NULL;
	ck_assert_msg(vfg_plan_build(f.ctx, &domain, &plan, &err) == 0, "%s", err.message);
	const vfg_step *step = test_step(plan, "dac", GROUP7);
	ck_assert_int_eq(step->action, VFG_ACTION_GRANT);
	ck_assert_str_eq(step->detail, "chown 107:107, chmod u+rw,g-rwx");
	ck_assert_msg(strstr(step->reason, "with an ACL") && strstr(step->reason, "its ACL's entries masked"), "%s",
		      step->reason);
	vfg_change_summary summary;
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	expect_owner(f.root, GROUP7, 107, 107, 0600);
	expect_acl(f.root, GROUP7, "mask::---", true);
	expect_dac_denies(f.root, GROUP7, 500);
	domain_revoke_ok(&f, "vm1");
	test_snapshot_expect(f.root, UNCHANGED, original, "apply then revoke of an owned node with an ACL");
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_audit_exits_3_on_drift_and_0_when_clean)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "vm1", 107, both_backends, NULL);
	const char *argv[] = {"audit",          "--root",    f.root,           "--domain", "vm1",
			      "--uid",          "107",       "--gid",          "107",      "--hostdev",
			      both_backends[0], "--hostdev", both_backends[1], "--json",   NULL};
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "clean audit: status %d\n%s%s", run.status, run.out, run.err);
	ck_assert_msg(strstr(run.out, "\"drift\": false"), "%s", run.out);
	test_run_free(&run);

	ck_assert_int_eq(chmod(test_path(f.root, GROUP7), 0000), 0);
	test_cli(&run, argv);
	ck_assert_int_eq(run.status, 3);
	ck_assert_msg(strstr(run.out, "\"drift\": true") && strstr(run.out, "\"path\": \"" GROUP7 "\"") &&
			      strstr(run.out, "mode 0000"),
		      "%s", run.out);
	test_run_free(&run);

	argv[sizeof(argv) / sizeof(argv[0]) - 2] = NULL; /* the text table */
	test_cli(&run, argv);
	ck_assert_int_eq(run.status, 3);
	ck_assert_msg(strstr(run.out, "domain vm1: 1 finding") && strstr(run.out, GROUP7) && strstr(run.out, "fix:"),
		      "%s", run.out);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

/* another uid, another backend */

static const char *const legacy_7[] = {"01:00.0,backend=legacy", NULL};
static const char *const iommufd_7[] = {"01:00.0,backend=iommufd", NULL};
#define CDEV0 "/dev/vfio/devices/vfio0"

/*
 * A second apply for other ids than the domain's grants are for: a held
 * grant is kept, not made again, so it would leave the node the old uid's
 * while the journal took the new one. Refused before any change, with the
 * ids it holds and the way out; the same ids apply as before.
 */
START_TEST(a_second_apply_for_another_uid_is_refused_and_changes_nothing)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "vm1", 107, legacy_7, NULL);
	expect_owner(f.root, GROUP7, 107, 107, 0600);
	char *held = test_snapshot(f.root, 0); /* everything, the journal and every ctime included */
	vfg_error err = {0};
	ck_assert_int_eq(domain_apply(&f, "vm1", 108, legacy_7, NULL, &err), -1);
	ck_assert_int_eq(err.errnum, EBUSY);
	ck_assert_msg(strstr(err.message, "vm1: the domain's grants are for uid 107 gid 107, not uid 108 gid 108") &&
			      strstr(err.message, "so /dev/vfio/vfio would stay granted to uid 107 gid 107") &&
			      strstr(err.message, "give --uid 107 --gid 107, or run vfguard revoke --domain vm1 "
						  "first, then apply; nothing was changed"),
		      "%s", err.message);
	test_snapshot_expect(f.root, 0, held, "the refused apply for another uid");

	/* vfg_domain_apply (prepare, then plan and apply) refuses it too, before its prepare writes anything. */
	vfg_hostdev_spec spec;
	ck_assert_msg(vfg_hostdev_spec_parse(f.ctx, legacy_7[0], &spec, &err) == 0, "%s", err.message);
	vfg_domain domain = {.name = "vm1", .uid = 108, .gid = 108, .n_hostdevs = 1, .hostdevs = &spec};
	vfg_plan *plan = NULL;
	vfg_change_summary summary;
	ck_assert_int_eq(vfg_domain_apply(f.ctx, &domain, &plan, &summary, &err), -1);
	ck_assert_ptr_null(plan);
	ck_assert_msg(strstr(err.message, "the domain's grants are for uid 107 gid 107"), "%s", err.message);
	test_snapshot_expect(f.root, 0, held, "the refused vfg_domain_apply for another uid");
	free(held);

	/* The same ids again: nothing to do, nothing refused. */
	vfg_change_summary again;
	domain_apply_ok(&f, "vm1", 107, legacy_7, &again);
	ck_assert_uint_eq(again.changed, 0);
	domain_revoke_ok(&f, "vm1");
	expect_owner(f.root, GROUP7, 0, 0, 0600);
	fixture_close(&f);
}
END_TEST

START_TEST(a_second_apply_with_another_backend_is_refused_and_changes_nothing)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "vm1", 107, legacy_7, NULL);
	char *held = test_snapshot(f.root, 0); /* everything, the journal and every ctime included */
	vfg_error err = {0};
	ck_assert_int_eq(domain_apply(&f, "vm1", 107, iommufd_7, NULL, &err), -1);
	ck_assert_int_eq(err.errnum, EBUSY);
	ck_assert_msg(strstr(err.message, "0000:01:00.0: IOMMU group 7 is held by domain vm1 with backend legacy") &&
			      strstr(err.message, "run vfguard revoke --domain vm1 first, then apply with "
						  "backend=iommufd; nothing was changed"),
		      "%s", err.message);
	test_snapshot_expect(f.root, 0, held, "the refused backend change");
	free(held);

	/* The way the error names: revoke, then apply with the other backend; only its grants are live. */
	domain_revoke_ok(&f, "vm1");
	domain_apply_ok(&f, "vm1", 107, iommufd_7, NULL);
	expect_owner(f.root, CDEV0, 107, 107, 0600);
	expect_owner(f.root, GROUP7, 0, 0, 0600);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* Rewrite domain @name's claims in its journal from backend @from to @to, as nothing but a hand could. */
static void journal_claims_rewrite(const char *root, const char *name, const char *from, const char *to)
{
	char logical[256], claim_from[64], claim_to[64];
	snprintf(logical, sizeof(logical), "/run/vfguard/domains/%s.journal", name);
	snprintf(claim_from, sizeof(claim_from), " %s path ", from);
	snprintf(claim_to, sizeof(claim_to), " %s path ", to);
	char *journal = test_read_file(root, logical);
	ck_assert_ptr_nonnull(journal);
	char rewritten[8192] = "";
	size_t used = 0;
	for (char *line = strtok(journal, "\n"); line; line = strtok(NULL, "\n")) {
		char *at = strncmp(line, "claim ", 6) == 0 ? strstr(line, claim_from) : NULL;
		if (at)
			used += (size_t)snprintf(rewritten + used, sizeof(rewritten) - used, "%.*s%s%s\n",
						 (int)(at - line), line, claim_to, at + strlen(claim_from));
		else
			used += (size_t)snprintf(rewritten + used, sizeof(rewritten) - used, "%s\n", line);
		ck_assert_uint_lt(used, sizeof(rewritten));
	}
	free(journal);
	ck_assert_msg(strstr(rewritten, claim_to), "no claim with backend %s:\n%s", from, rewritten);
	test_write_file(root, logical, rewritten);
}

START_TEST(audit_reports_the_grants_of_a_backend_the_claim_no_longer_has)
{
	fixture f;
	fixture_open(&f);
	char *original = test_snapshot(f.root, UNCHANGED);
	domain_apply_ok(&f, "vm1", 107, legacy_7, NULL);
	/* What a vfguard without the backend check left: the claim moved to iommufd, the legacy grants kept. */
	journal_claims_rewrite(f.root, "vm1", "legacy", "iommufd");
	domain_apply_ok(&f, "vm1", 107, iommufd_7, NULL);
	expect_owner(f.root, GROUP7, 107, 107, 0600);
	expect_owner(f.root, CDEV0, 107, 107, 0600);

	vfg_audit_report *report = domain_audit(&f, "vm1", 107, iommufd_7);
	ck_assert_uint_eq(report->n_findings, 2);
	/* The journal's order, as they were granted: the container, which no legacy claim needs now, then the group. */
	const char *const paths[] = {CONTAINER, GROUP7};
	const char *const expected[] = {
		"no legacy grant: domain vm1 claims no hostdev with backend legacy",
		"no legacy grant: domain vm1 holds 0000:01:00.0 (IOMMU group 7) with backend iommufd",
	};
	for (size_t i = 0; i < 2; i++) {
		const vfg_audit_finding *finding = &report->findings[i];
		ck_assert_str_eq(finding->labeler, "dac");
		ck_assert_int_eq(finding->kind, VFG_FINDING_DRIFT);
		ck_assert_str_eq(finding->path, paths[i]);
		ck_assert_str_eq(finding->expected, expected[i]);
		ck_assert_msg(strstr(finding->actual, "legacy grant of labeler dac still held"), "%s", finding->actual);
		ck_assert_msg(strstr(finding->fix, "vfguard revoke --domain vm1"), "%s", finding->fix);
	}
	vfg_audit_report_free(report);

	/* One revoke takes back both backends' grants. */
	domain_revoke_ok(&f, "vm1");
	test_snapshot_expect(f.root, UNCHANGED, original, "revoke");
	free(original);
	fixture_close(&f);
}
END_TEST

static Suite *dac_suite(void)
{
	Suite *s = suite_create("dac");
	TCase *tc = tcase_create("round trip");
	tcase_add_loop_test(tc, apply_then_revoke_restores_owner_mode_acl_and_xattrs_byte_for_byte, 0, 2);
	tcase_add_test(tc, restore_after_a_kill_at_any_journal_point_puts_the_tree_back);
	tcase_add_test(tc, apply_twice_changes_nothing_the_second_time_and_one_revoke_restores);
	tcase_add_test(tc, a_second_apply_for_another_uid_is_refused_and_changes_nothing);
	tcase_add_test(tc, revoke_leaves_a_node_that_is_gone_or_replaced_and_says_so);
	suite_add_tcase(s, tc);

	tc = tcase_create("shared nodes");
	tcase_add_loop_test(tc, shared_container_entry_is_counted_per_uid, 0,
			    sizeof(revoke_orders) / sizeof(revoke_orders[0]));
	tcase_add_test(tc, an_entry_the_uid_had_before_vfguard_comes_back_with_its_own_permissions);
	tcase_add_test(tc, group_bits_under_an_acl_are_its_mask_and_allow_nothing_by_themselves);
	tcase_add_test(tc, the_plan_is_the_same_with_the_nodes_fds_kept_or_not_and_keeps_none);
	suite_add_tcase(s, tc);

	tc = tcase_create("exclusive nodes");
	tcase_add_test(tc, exclusive_node_opens_for_the_domain_uid_only_while_granted);
	tcase_add_test(tc, exclusive_node_gets_owner_rw_and_its_own_mode_back);
	tcase_add_test(tc, an_exclusive_nodes_acl_lets_no_one_else_in_while_granted);
	tcase_add_test(tc, the_plan_of_an_owned_node_with_an_acl_says_the_mask_is_cleared);
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	size_t n_impostors = sizeof(impostors) / sizeof(impostors[0]);
	tcase_add_loop_test(tc, apply_refuses_an_impostor_swapped_in_after_the_plan_and_changes_nothing, 0,
			    (int)n_impostors);
	tcase_add_loop_test(tc, cli_apply_refuses_an_impostor_and_changes_nothing, 0, (int)n_impostors);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd access");
	tcase_add_test(tc, fd_access_grants_nothing);
	tcase_add_test(tc, fd_access_takes_back_the_path_grant_of_an_earlier_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("backend change");
	tcase_add_test(tc, a_second_apply_with_another_backend_is_refused_and_changes_nothing);
	tcase_add_test(tc, audit_reports_the_grants_of_a_backend_the_claim_no_longer_has);
	suite_add_tcase(s, tc);

	tc = tcase_create("audit");
	tcase_add_test(tc, a_finding_cut_to_fit_says_so);
	tcase_add_test(tc, audit_is_clean_after_apply_and_names_each_drift);
	tcase_add_loop_test(tc, an_acl_the_hypervisor_set_on_its_exclusive_node_goes_with_the_revoke, 0, 2);
	tcase_add_test(tc, cli_audit_exits_3_on_drift_and_0_when_clean);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(dac_suite());
}
