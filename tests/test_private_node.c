/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd access through private nodes (docs/private-nodes.md), with the SELinux
 * labeler's selinux_fd_nodes = private, on real character devices standing
 * in for the VFIO nodes (null, zero, full, random, urandom: the rdevs of
 * test_fds.c's tree), so the mknod, the label and the open are the kernel's.
 * This kernel loads no SELinux policy, so the tmpfs stores security.selinux
 * as given (selinux = force makes the labeler act): what is proven here is
 * that each fd is a private node's, unlinked, with the right rdev and the
 * domain's label bytes, and that no host node, directory or mount changes.
 * That the label is what the kernel then checks is the VM suite's
 * (selinux-private-fd.sh, SELinux enforcing).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "testlib.h"

static const char host[] = "misc vfio 1:3\n" /* /dev/null */
			   "misc iommu 1:5\n" /* /dev/zero */
			   "group 7 1:7\n" /* /dev/full */
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:1:8\n" /* /dev/random */
			   "group 8 10:229\n" /* /dev/fuse */
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio1:1:9\n"; /* /dev/urandom */

#define LABEL_A "system_u:system_r:svirt_t:s0:c1,c2"
#define IMAGE_A "system_u:object_r:svirt_image_t:s0:c1,c2"
#define LABEL_B "system_u:system_r:svirt_t:s0:c3,c4"
#define IMAGE_B "system_u:object_r:svirt_image_t:s0:c3,c4"
#define HOST_LABEL "system_u:object_r:vfio_device_t:s0"
#define CDEV_HOST_LABEL "system_u:object_r:device_t:s0"

#define PRIVATE_CONF "labelers = selinux\nselinux = force\nselinux_fd_nodes = private\nrecords = off\n"
#define UNCHANGED (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
	char *mounts; /* /proc/self/mountinfo before */
} fixture;

static char *mountinfo(void)
{
	return test_read_nonempty("/proc/self/mountinfo");
}

static void label_host_node(const char *root, const char *logical, const char *label)
{
	ck_assert_msg(lsetxattr(test_path(root, logical), "security.selinux", label, strlen(label) + 1, 0) == 0,
		      "lsetxattr %s: %s", logical, strerror(errno));
}

static void fixture_open(fixture *f, const char *config)
{
	memset(f, 0, sizeof(*f));
	f->root = test_root_new(host);
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", config);
	/* The host's nodes carry labels of their own, which nothing here may change (never empty against empty). */
	label_host_node(f->root, "/dev/iommu", HOST_LABEL);
	label_host_node(f->root, "/dev/vfio/devices/vfio0", CDEV_HOST_LABEL);
	label_host_node(f->root, "/dev/vfio/devices/vfio1", CDEV_HOST_LABEL);
	f->ctx = test_context(f->root);
	/*
	 * The mounts compared are this test's own: in a mount namespace of its
	 * own, made private, a mount another process makes meanwhile (another
	 * test run beside this one) does not come into the table, and one made
	 * here still does. CI failed this check once on test_boot's tmpfs.
	 */
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	f->mounts = mountinfo();
}

static void fixture_close(fixture *f)
{
	/* No mount came or stayed: the private nodes' tmpfs was never attached anywhere. */
	char *now = mountinfo();
	ck_assert_str_eq(now, f->mounts);
	free(now);
	free(f->mounts);
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
}

/* Plan (and apply, when @apply) domain @name with @label and one hostdev, into *@plan. */
static int domain_plan(fixture *f, const char *name, const char *label, const char *hostdev, bool apply,
		       vfg_plan **plan, vfg_error *err)
{
	vfg_hostdev_spec spec;
	ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, hostdev, &spec, err) == 0, "%s", err->message);
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = 1, .hostdevs = &spec};
	snprintf(domain.name, sizeof(domain.name), "%s", name);
	test_domain_attr(&domain, "selinux.label", "%s", label);
	int r = vfg_plan_build(f->ctx, &domain, plan, err);
	if (r == 0 && apply)
		r = vfg_plan_apply(f->ctx, *plan, NULL, err);
	return r;
}

static vfg_plan *domain_apply_ok(fixture *f, const char *name, const char *label, const char *hostdev)
{
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(domain_plan(f, name, label, hostdev, true, &plan, &err) == 0, "apply %s: %s", name, err.message);
	return plan;
}

/* Plan domain vm1 (label A) with @hostdev, applying nothing. */
static vfg_plan *domain_plan_ok(fixture *f, const char *hostdev)
{
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(domain_plan(f, "vm1", LABEL_A, hostdev, false, &plan, &err) == 0, "plan: %s", err.message);
	return plan;
}

static vfg_fdset *open_ok(fixture *f, const vfg_plan *plan)
{
	vfg_fdset *fdset = NULL;
	vfg_error err = {0};
	vfg_fd_options options = {.rlimit_mode = "off"};
	ck_assert_msg(vfg_domain_open_fds(f->ctx, plan, &options, &fdset, &err) == 0, "%s", err.message);
	return fdset;
}

/* The fd's label as text, without its closing NUL; fails on an fd with none (never "" against ""). */
static const char *fd_label(int fd)
{
	static char buf[512];
	ssize_t n = fgetxattr(fd, "security.selinux", buf, sizeof(buf) - 1);
	ck_assert_msg(n > 0, "fgetxattr: %s", n < 0 ? strerror(errno) : "empty");
	buf[n] = '\0';
	return buf;
}

/* What /proc/self/fd/FD names. */
static const char *fd_link(int fd)
{
	static char buf[4096];
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	return buf;
}

/* @fd is an unlinked private node of rdev @major:@minor carrying @label, opened read-write, close-on-exec. */
static void expect_private(int fd, unsigned major, unsigned minor, const char *label)
{
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(major(st.st_rdev), major);
	ck_assert_uint_eq(minor(st.st_rdev), minor);
	ck_assert_uint_eq(st.st_nlink, 0); /* unlinked right after its open */
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_str_eq(fd_label(fd), label);
	const char *link = fd_link(fd);
	/* A path of the tmpfs mounted nowhere, not one of the host's /dev (fs/d_path.c marks it deleted). */
	ck_assert_msg(strstr(link, " (deleted)") && strncmp(link, "/dev", 4) != 0 && !strstr(link, "/vfio"),
		      "fd %d is %s", fd, link);
}

/* Is there an entry under @dir (recursively) whose name contains @needle? */
static bool tree_has(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	for (struct dirent *entry; !found && (entry = readdir(d));) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		found = strstr(entry->d_name, needle) || (entry->d_type == DT_DIR && tree_has(path, needle));
	}
	closedir(d);
	return found;
}

START_TEST(fds_are_private_nodes_with_the_domains_label_and_the_host_nodes_are_untouched)
{
	fixture f;
	fixture_open(&f, PRIVATE_CONF);
	char *before = test_snapshot(f.root, UNCHANGED);
	vfg_plan *plan = domain_apply_ok(&f, "vm1", LABEL_A, "01:00.0,backend=iommufd,access=fd");
	/* apply changed no host node: no label, owner or mode */
	test_snapshot_expect(f.root, UNCHANGED, before, "the host tree after apply");

	vfg_fdset *fdset = open_ok(&f, plan);
	ck_assert_uint_eq(fdset->n_fds, 2);
	ck_assert_str_eq(fdset->fds[0].path, "/dev/iommu");
	expect_private(fdset->fds[0].fd, 1, 5, IMAGE_A);
	ck_assert_str_eq(fdset->fds[1].path, "/dev/vfio/devices/vfio0");
	expect_private(fdset->fds[1].fd, 1, 8, IMAGE_A);
	/* The device behind the private node is the real one: /dev/zero reads zeros. */
	char byte = 1;
	ck_assert_int_eq(read(fdset->fds[0].fd, &byte, 1), 1);
	ck_assert_int_eq(byte, 0);
	test_snapshot_expect(f.root, UNCHANGED, before, "the host tree with the fds open");
	/* No private node was left anywhere a path reaches: not in the root, not in /tmp, not in /run. */
	ck_assert(!tree_has(f.root, "iommufd-") && !tree_has(f.root, "cdev-"));
	ck_assert(!tree_has("/tmp", "iommufd-0-1.5") && !tree_has("/run", "iommufd-0-1.5"));
	vfg_fdset_free(fdset);

	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_domain_revoke(f.ctx, "vm1", &summary, &err) == 0, "revoke: %s", err.message);
	test_snapshot_expect(f.root, UNCHANGED, before, "the host tree after revoke");
	free(before);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

START_TEST(each_domains_fds_carry_its_own_categories_the_shared_node_too)
{
	fixture f;
	fixture_open(&f, PRIVATE_CONF);
	vfg_plan *plan_a = domain_apply_ok(&f, "vmA", LABEL_A, "01:00.0,backend=iommufd,access=fd");
	vfg_plan *plan_b = domain_apply_ok(&f, "vmB", LABEL_B, "02:00.0,backend=iommufd,access=fd");
	vfg_fdset *a = open_ok(&f, plan_a);
	vfg_fdset *b = open_ok(&f, plan_b);
	/* The same /dev/iommu, two inodes: each domain's fd its own label, the host node its own still. */
	expect_private(a->fds[0].fd, 1, 5, IMAGE_A);
	expect_private(b->fds[0].fd, 1, 5, IMAGE_B);
	expect_private(b->fds[1].fd, 1, 9, IMAGE_B);
	struct stat st_a, st_b;
	ck_assert_int_eq(fstat(a->fds[0].fd, &st_a), 0);
	ck_assert_int_eq(fstat(b->fds[0].fd, &st_b), 0);
	ck_assert(st_a.st_ino != st_b.st_ino || st_a.st_dev != st_b.st_dev);
	char host_label[256];
	ssize_t n = lgetxattr(test_path(f.root, "/dev/iommu"), "security.selinux", host_label, sizeof(host_label));
	ck_assert_int_eq(n, (ssize_t)sizeof(HOST_LABEL));
	ck_assert_str_eq(host_label, HOST_LABEL);
	vfg_fdset_free(a);
	vfg_fdset_free(b);
	vfg_plan_free(plan_a);
	vfg_plan_free(plan_b);
	fixture_close(&f);
}
END_TEST

START_TEST(legacy_container_and_group_are_private_nodes_too)
{
	fixture f;
	fixture_open(&f, PRIVATE_CONF);
	char *before = test_snapshot(f.root, UNCHANGED);
	vfg_plan *plan = domain_apply_ok(&f, "vm1", LABEL_A, "01:00.0,backend=legacy,access=fd");
	vfg_fdset *fdset = open_ok(&f, plan);
	ck_assert_uint_eq(fdset->n_fds, 2);
	ck_assert_str_eq(fdset->fds[0].path, "/dev/vfio/vfio");
	expect_private(fdset->fds[0].fd, 1, 3, IMAGE_A);
	ck_assert_str_eq(fdset->fds[1].path, "/dev/vfio/7");
	expect_private(fdset->fds[1].fd, 1, 7, IMAGE_A);
	test_snapshot_expect(f.root, UNCHANGED, before, "the host tree with the fds open");
	vfg_fdset_free(fdset);
	free(before);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

START_TEST(relabel_mode_opens_the_host_nodes_and_labels_them_as_before)
{
	fixture f;
	fixture_open(&f, "labelers = selinux\nselinux = force\nrecords = off\n");
	vfg_plan *plan = domain_apply_ok(&f, "vm1", LABEL_A, "01:00.0,backend=iommufd,access=fd");
	vfg_fdset *fdset = open_ok(&f, plan);
	/* The host's nodes themselves, relabeled: the cdev the domain's, /dev/iommu the shared label. */
	ck_assert_str_eq(fd_link(fdset->fds[1].fd), test_path(f.root, "/dev/vfio/devices/vfio0"));
	ck_assert_str_eq(fd_label(fdset->fds[1].fd), IMAGE_A);
	ck_assert_str_eq(fd_label(fdset->fds[0].fd), HOST_LABEL);
	vfg_fdset_free(fdset);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

START_TEST(path_access_nodes_are_never_private)
{
	fixture f;
	fixture_open(&f, PRIVATE_CONF);
	vfg_plan *plan = domain_plan_ok(&f, "01:00.0,backend=iommufd");
	/* The hypervisor opens a path-access node itself: the host node gets the label, as always. */
	const vfg_step *cdev = test_step(plan, "selinux", "/dev/vfio/devices/vfio0");
	ck_assert_int_eq(cdev->action, VFG_ACTION_GRANT);
	ck_assert_str_eq(cdev->detail, "label " IMAGE_A);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

START_TEST(the_plan_shows_no_host_node_change_and_why)
{
	fixture f;
	fixture_open(&f, PRIVATE_CONF);
	vfg_plan *plan = domain_plan_ok(&f, "01:00.0,backend=iommufd,access=fd");
	const vfg_step *iommu = test_step(plan, "selinux", "/dev/iommu");
	ck_assert_int_eq(iommu->action, VFG_ACTION_NONE);
	ck_assert_str_eq(iommu->detail, "private node " IMAGE_A "; host node unchanged");
	ck_assert_ptr_nonnull(strstr(iommu->reason, "selinux_fd_nodes = private"));
	ck_assert_ptr_nonnull(strstr(iommu->reason, "selinux_file_receive()"));
	const vfg_step *cdev = test_step(plan, "selinux", "/dev/vfio/devices/vfio0");
	ck_assert_int_eq(cdev->action, VFG_ACTION_GRANT);
	ck_assert_str_eq(cdev->detail, "private node " IMAGE_A "; host node unchanged");
	ck_assert_ptr_nonnull(strstr(cdev->reason, "the domain's labels are held for it"));
	vfg_plan_free(plan);

	/* The CLI's text and JSON say the same. */
	test_run run;
	test_cli(&run, (const char *[]){"plan", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--selinux-label", LABEL_A, "--hostdev", "01:00.0,backend=iommufd,access=fd",
					"--json", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	ck_assert_ptr_nonnull(strstr(run.out, "\"detail\": \"private node " IMAGE_A "; host node unchanged\""));
	test_run_free(&run);
	test_cli(&run,
		 (const char *[]){"plan", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid", "107",
				  "--selinux-label", LABEL_A, "--hostdev", "01:00.0,backend=iommufd,access=fd", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	/* The table: /dev/iommu no change, the cdev's change a private node; each reason says so. */
	ck_assert_msg(strstr(run.out, "/dev/iommu               iommufd  1:5   yes     fd      -"), "%s", run.out);
	ck_assert_msg(strstr(run.out, "/dev/vfio/devices/vfio0  cdev     1:8   no      fd      private"), "%s",
		      run.out);
	const char *first = strstr(run.out, "selinux    private node " IMAGE_A "; host node unchanged");
	ck_assert_msg(first && strstr(first + 1, "selinux    private node " IMAGE_A "; host node unchanged"), "%s",
		      run.out);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

/* vfguard audit for vm1 (label A, edu's stand-in with fd access): its exit status, its output in @run. */
static void audit_vm1(fixture *f, test_run *run)
{
	test_cli(run, (const char *[]){"audit", "--root", f->root, "--domain", "vm1", "--uid", "107", "--gid", "107",
				       "--selinux-label", LABEL_A, "--hostdev", "01:00.0,backend=iommufd,access=fd",
				       "--set", "selinux_policy=", NULL});
}

START_TEST(audit_expects_the_host_nodes_as_they_were_and_names_a_relabel)
{
	fixture f;
	fixture_open(&f, PRIVATE_CONF);
	vfg_plan_free(domain_apply_ok(&f, "vm1", LABEL_A, "01:00.0,backend=iommufd,access=fd"));
	test_run run;
	audit_vm1(&f, &run);
	ck_assert_msg(strstr(run.out, "domain vm1: no drift"), "%s%s", run.out, run.err);
	test_run_free(&run);

	/* Someone gives the host's cdev the domain's label, as relabel mode would: drift, and how to undo it. */
	label_host_node(f.root, "/dev/vfio/devices/vfio0", IMAGE_A);
	audit_vm1(&f, &run);
	ck_assert_int_eq(run.status, 3);
	ck_assert_msg(strstr(run.out, "selinux   drift     /dev/vfio/devices/vfio0"), "%s", run.out);
	ck_assert_msg(strstr(run.out, "expected: " CDEV_HOST_LABEL), "%s", run.out);
	ck_assert_msg(strstr(run.out, "never relabels the host node"), "%s", run.out);
	test_run_free(&run);

	/* And the shared node with the domain's categories. */
	label_host_node(f.root, "/dev/vfio/devices/vfio0", CDEV_HOST_LABEL);
	label_host_node(f.root, "/dev/iommu", IMAGE_A);
	audit_vm1(&f, &run);
	ck_assert_int_eq(run.status, 3);
	ck_assert_msg(strstr(run.out, "selinux   drift     /dev/iommu"), "%s", run.out);
	ck_assert_msg(!strstr(run.out, "/dev/vfio/devices/vfio0"), "%s", run.out);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(fds_of_a_domain_applied_without_labels_are_refused_and_nothing_is_left_open)
{
	/* Applied with SELinux off, opened with it on: no labels to give a private node. */
	fixture f;
	fixture_open(&f, "labelers = selinux\nselinux = off\nrecords = off\n");
	vfg_plan *plan = domain_apply_ok(&f, "vm1", LABEL_A, "01:00.0,backend=iommufd,access=fd");
	vfg_plan_free(plan);
	vfg_context_free(f.ctx);
	test_write_file(f.root, "/etc/vfguard/vfguard.conf", PRIVATE_CONF);
	f.ctx = test_context(f.root);
	vfg_error err = {0};
	ck_assert_int_eq(domain_plan(&f, "vm1", LABEL_A, "01:00.0,backend=iommufd,access=fd", false, &plan, &err), 0);
	vfg_fdset *fdset = NULL;
	vfg_fd_options options = {.rlimit_mode = "off"};
	ck_assert_int_eq(vfg_domain_open_fds(f.ctx, plan, &options, &fdset, &err), -1);
	ck_assert_ptr_null(fdset);
	ck_assert_msg(strstr(err.message, "holds no labels for a private node"), "%s", err.message);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

/*
 * Each changing call of a private node failed in turn (tests/faults/
 * vfg_fault.h; this is a test build), for the first node (/dev/iommu) and
 * the second (the cdev): the set fails naming the node and the call, and
 * every fd and the tmpfs are closed again.
 */
START_TEST(a_failed_call_of_a_private_node_closes_everything)
{
	fixture f;
	fixture_open(&f, PRIVATE_CONF);
	vfg_plan *plan = domain_apply_ok(&f, "vm1", LABEL_A, "01:00.0,backend=iommufd,access=fd");
	static const struct {
		const char *site, *says;
	} sites[] = {
		{"fds.private_mknod", "cannot make a private node"},
		{"fds.private_xattr", "cannot set security.selinux on the private node"},
		{"fds.private_unlink", "cannot unlink its private node"},
	};
	int before = test_count_fds();
	/*
	 * A site counts its passes for the whole process. A node's mknod,
	 * xattr and unlink come in that order, and the unlink comes whether or
	 * not the label and the open worked: a failed mknod at node k means k
	 * mknods and k - 1 of the others, any later failure k of each.
	 */
	unsigned passed[3] = {0, 0, 0};
	for (size_t i = 0; i < 3; i++) {
		for (unsigned node = 1; node <= 2; node++) {
			char spec[64];
			snprintf(spec, sizeof(spec), "%s:%u:5", sites[i].site, passed[i] + node); /* EIO */
			ck_assert_int_eq(setenv("VFGUARD_FAULT", spec, 1), 0);
			vfg_fdset *fdset = NULL;
			vfg_error err = {0};
			vfg_fd_options options = {.rlimit_mode = "off"};
			int r = vfg_domain_open_fds(f.ctx, plan, &options, &fdset, &err);
			ck_assert_int_eq(unsetenv("VFGUARD_FAULT"), 0);
			ck_assert_msg(r == -1 && !fdset, "%s: the set opened", spec);
			ck_assert_msg(strstr(err.message, sites[i].says) && err.errnum == EIO, "%s: %s", spec,
				      err.message);
			ck_assert_str_eq(err.subject,
					 test_path(f.root, node == 1 ? "/dev/iommu" : "/dev/vfio/devices/vfio0"));
			ck_assert_int_eq(test_count_fds(), before);
			for (size_t j = 0; j < 3; j++)
				passed[j] += i == 0 && j > 0 ? node - 1 : node;
		}
	}
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_exec_hands_the_command_private_nodes)
{
	fixture f;
	fixture_open(&f, PRIVATE_CONF);
	vfg_plan_free(domain_apply_ok(&f, "vm1", LABEL_A, "01:00.0,backend=iommufd,access=fd"));
	test_run run;
	test_cli(&run, (const char *[]){"exec",
					"--root",
					f.root,
					"--domain",
					"vm1",
					"--uid",
					"107",
					"--gid",
					"107",
					"--selinux-label",
					LABEL_A,
					"--hostdev",
					"01:00.0,backend=iommufd,access=fd",
					"--rlimit-mode",
					"off",
					"--",
					"/bin/sh",
					"-c",
					"readlink /proc/$$/fd/3 /proc/$$/fd/4",
					NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	ck_assert_str_eq(run.out, "/iommufd-0-1.5 (deleted)\n/cdev-1-1.8 (deleted)\n");
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(the_key_is_listed_and_a_bad_value_refused)
{
	test_run run;
	test_cli(&run, (const char *[]){"config", NULL});
	ck_assert_msg(strstr(run.out, "selinux_fd_nodes"), "%s", run.out);
	test_run_free(&run);
	test_cli(&run, (const char *[]){"config", "--set", "selinux_fd_nodes=both", NULL});
	ck_assert_int_ne(run.status, 0);
	ck_assert_msg(strstr(run.err, "expected private or relabel"), "%s", run.err);
	test_run_free(&run);
}
END_TEST

static Suite *private_node_suite(void)
{
	Suite *s = suite_create("private_node");
	TCase *tc = tcase_create("private");
	tcase_add_test(tc, fds_are_private_nodes_with_the_domains_label_and_the_host_nodes_are_untouched);
	tcase_add_test(tc, each_domains_fds_carry_its_own_categories_the_shared_node_too);
	tcase_add_test(tc, legacy_container_and_group_are_private_nodes_too);
	tcase_add_test(tc, relabel_mode_opens_the_host_nodes_and_labels_them_as_before);
	tcase_add_test(tc, path_access_nodes_are_never_private);
	tcase_add_test(tc, the_plan_shows_no_host_node_change_and_why);
	tcase_add_test(tc, audit_expects_the_host_nodes_as_they_were_and_names_a_relabel);
	tcase_add_test(tc, fds_of_a_domain_applied_without_labels_are_refused_and_nothing_is_left_open);
	tcase_add_test(tc, a_failed_call_of_a_private_node_closes_everything);
	tcase_add_test(tc, cli_exec_hands_the_command_private_nodes);
	tcase_add_test(tc, the_key_is_listed_and_a_bad_value_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(private_node_suite());
}
