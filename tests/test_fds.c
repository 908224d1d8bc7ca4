/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fd broker with real character devices standing in for the VFIO nodes:
 * the generated tree gives each node the rdev of a device this kernel has
 * (null, zero, full, random, urandom, fuse), so the opens, the fd numbers,
 * SCM_RIGHTS and SO_PEERCRED, exec and the capabilities are all the real
 * kernel's. The one thing a stand-in cannot do is iommufd's IOMMU_OPTION:
 * on /dev/zero it fails with ENOTTY, which is exactly the failure the
 * rlimit_mode setting decides about. The VM suite (fds-*.sh) runs the same
 * code on real VFIO nodes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

static const char host[] = "misc vfio 1:3\n" /* /dev/null */
			   "misc iommu 1:5\n" /* /dev/zero: IOMMU_OPTION fails with ENOTTY */
			   "group 7 1:7\n" /* /dev/full */
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:1:8\n" /* /dev/random */
			   "device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci "
			   "cdev=vfio1:1:9\n" /* /dev/urandom */
			   "group 8 10:229\n" /* /dev/fuse */
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio2:10:200\n" /* /dev/net/tun */
			   /* a VF of each makes 01:00.0 and 02:00.0 SR-IOV PFs, which a vf-token may name */
			   "group 9\n"
			   "device 0000:01:10.0 group=9 vendor=10de device=2237 class=030000 physfn=0000:01:00.0\n"
			   "group 10\n"
			   "device 0000:02:10.0 group=10 vendor=8086 device=10ca class=020000 physfn=0000:02:00.0\n";

#define TOKEN "00112233-4455-6677-8899-aabbccddeeff"
#define HYPERVISOR_UID 107

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
	vfg_plan *plan;
	char dir[64]; /* for sockets */
	int fds_before;
} fixture;

static void fixture_open(fixture *f, const char *config)
{
	memset(f, 0, sizeof(*f));
	f->root = test_root_new(host);
	ck_assert_int_eq(chmod(f->root, 0755), 0);
	/*
	 * No host records: on a host where journald runs, the first record has
	 * libsystemd open its journal socket, which it keeps for the process's
	 * life (docs/library.md), and the counts below are of vfguard's own fds.
	 */
	char text[512];
	snprintf(text, sizeof(text), "records = off\n%s", config ? config : "");
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", text);
	f->ctx = test_context(f->root);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vfguard-fds-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	ck_assert_int_eq(chmod(f->dir, 0755), 0);
	f->fds_before = test_count_fds();
}

static void fixture_plan(fixture *f, const char *const *hostdevs)
{
	vfg_error err = {0};
	ck_assert_msg(test_plan(f->ctx, &f->plan, &err, hostdevs) == 0, "%s", err.message);
}

/* Plan as fixture_plan does, and apply: the domain holds its groups, as the fd broker requires. */
static void fixture_apply(fixture *f, const char *const *hostdevs)
{
	vfg_error err = {0};
	fixture_plan(f, hostdevs);
	ck_assert_msg(vfg_plan_apply(f->ctx, f->plan, NULL, &err) == 0, "apply: %s", err.message);
}

static void fixture_close(fixture *f)
{
	vfg_plan_free(f->plan);
	f->plan = NULL;
	/* Every path, failures included, leaves exactly the descriptors it found. */
	ck_assert_int_eq(test_count_fds(), f->fds_before);
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
	test_root_remove(f->dir);
}

static vfg_fdset *open_ok(fixture *f, const char *rlimit_mode)
{
	vfg_fdset *fdset = NULL;
	vfg_error err = {0};
	vfg_fd_options options = {.rlimit_mode = rlimit_mode};
	ck_assert_msg(vfg_domain_open_fds(f->ctx, f->plan, &options, &fdset, &err) == 0, "%s", err.message);
	return fdset;
}

static void expect_open_device(int fd, unsigned major, unsigned minor)
{
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert(S_ISCHR(st.st_mode));
	ck_assert_uint_eq(major(st.st_rdev), major);
	ck_assert_uint_eq(minor(st.st_rdev), minor);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

START_TEST(iommufd_opens_iommu_once_and_each_cdev_rdwr_cloexec)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd,vf-token=" TOKEN,
					   "02:00.0,backend=iommufd,access=fd", NULL});
	vfg_fdset *fdset = open_ok(&f, "warn");
	ck_assert_uint_eq(fdset->n_fds, 3);
	ck_assert_str_eq(fdset->fds[0].path, "/dev/iommu");
	ck_assert_int_eq(fdset->fds[0].kind, VFG_NODE_IOMMUFD);
	expect_open_device(fdset->fds[0].fd, 1, 5);
	ck_assert_str_eq(fdset->fds[1].path, "/dev/vfio/devices/vfio0");
	expect_open_device(fdset->fds[1].fd, 1, 8);
	ck_assert_str_eq(fdset->fds[2].path, "/dev/vfio/devices/vfio2");
	expect_open_device(fdset->fds[2].fd, 10, 200);
	ck_assert_uint_eq(fdset->n_hostdevs, 2);
	ck_assert_str_eq(fdset->hostdevs[0].bdf, "0000:01:00.0");
	ck_assert_uint_eq(fdset->hostdevs[0].fd, 1);
	ck_assert_str_eq(fdset->hostdevs[0].vf_token, TOKEN);
	ck_assert_str_eq(fdset->hostdevs[1].bdf, "0000:02:00.0");
	ck_assert_uint_eq(fdset->hostdevs[1].fd, 2);
	ck_assert_str_eq(fdset->hostdevs[1].vf_token, "");
	ck_assert_int_eq(test_count_fds(), f.fds_before + 3);
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

START_TEST(legacy_opens_the_container_once_and_a_shared_group_once)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", "01:00.1,backend=legacy,access=fd",
					   "02:00.0,backend=legacy,access=fd", NULL});
	vfg_fdset *fdset = open_ok(&f, NULL);
	ck_assert_uint_eq(fdset->n_fds, 3);
	ck_assert_str_eq(fdset->fds[0].path, "/dev/vfio/vfio");
	expect_open_device(fdset->fds[0].fd, 1, 3);
	ck_assert_str_eq(fdset->fds[1].path, "/dev/vfio/7");
	expect_open_device(fdset->fds[1].fd, 1, 7);
	ck_assert_str_eq(fdset->fds[2].path, "/dev/vfio/8");
	expect_open_device(fdset->fds[2].fd, 10, 229);
	/* Both functions of group 7 use its one fd. */
	ck_assert_uint_eq(fdset->n_hostdevs, 3);
	ck_assert_uint_eq(fdset->hostdevs[0].fd, 1);
	ck_assert_uint_eq(fdset->hostdevs[1].fd, 1);
	ck_assert_uint_eq(fdset->hostdevs[2].fd, 2);
	/* type1 charges the pinning process whatever is set: no RLIMIT_MODE to try. */
	ck_assert_int_eq(fdset->accounting, VFG_ACCOUNTING_TYPE1);
	ck_assert_str_eq(fdset->warnings, "");
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

/*
 * Hostdevs on both backends: the container's type1 and the iommufd's charge.
 * The set says the iommufd's, here "user" (RLIMIT_MODE could not be set on
 * this /dev/iommu, which is /dev/zero), not "type1" beside a warning that
 * says the pages stay the user's (a manager's trial).
 */
START_TEST(a_set_on_both_backends_has_the_iommufds_accounting)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f,
		      (const char *[]){"01:00.0,backend=iommufd,access=fd", "02:00.0,backend=legacy,access=fd", NULL});
	vfg_fdset *fdset = open_ok(&f, "warn");
	bool iommufd = false, container = false;
	for (size_t i = 0; i < fdset->n_fds; i++) {
		iommufd = iommufd || fdset->fds[i].kind == VFG_NODE_IOMMUFD;
		container = container || fdset->fds[i].kind == VFG_NODE_CONTAINER;
	}
	ck_assert(iommufd && container);
	ck_assert_int_eq(fdset->accounting, VFG_ACCOUNTING_USER);
	ck_assert_msg(strstr(fdset->warnings, "/dev/iommu"), "%s", fdset->warnings);
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

START_TEST(path_access_nodes_are_not_opened)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", "02:00.0,backend=legacy", NULL});
	/* The container is shared with a path hostdev: path wins, the hypervisor opens it itself. */
	vfg_fdset *fdset = open_ok(&f, NULL);
	ck_assert_uint_eq(fdset->n_fds, 1);
	ck_assert_str_eq(fdset->fds[0].path, "/dev/vfio/7");
	ck_assert_int_eq(fdset->accounting, VFG_ACCOUNTING_NONE);
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

START_TEST(a_domain_without_fd_access_is_an_error)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_plan(&f, (const char *[]){"01:00.0,backend=iommufd", NULL});
	vfg_fdset *fdset = NULL;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_domain_open_fds(f.ctx, f.plan, NULL, &fdset, &err), -1);
	ck_assert_ptr_null(fdset);
	ck_assert_msg(strstr(err.message, "access=fd"), "%s", err.message);
	fixture_close(&f);
}
END_TEST

START_TEST(rlimit_mode_required_fails_naming_dev_iommu_with_nothing_open)
{
	fixture f;
	fixture_open(&f, NULL); /* the default: required */
	fixture_apply(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	vfg_fdset *fdset = NULL;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_domain_open_fds(f.ctx, f.plan, NULL, &fdset, &err), -1);
	ck_assert_ptr_null(fdset);
	/* The stand-in /dev/zero has no ioctl: the kernel answers ENOTTY, as a kernel without IOMMU_OPTION would. */
	ck_assert_int_eq(err.errnum, ENOTTY);
	ck_assert_msg(strstr(err.subject, "/dev/iommu"), "%s", err.message);
	ck_assert_msg(strstr(err.message, "RLIMIT_MODE"), "%s", err.message);
	fixture_close(&f); /* the fd count is back where it was */
}
END_TEST

START_TEST(rlimit_mode_warn_goes_on_with_a_warning)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	vfg_fdset *fdset = open_ok(&f, "warn");
	ck_assert_uint_eq(fdset->n_fds, 2);
	ck_assert_int_eq(fdset->accounting, VFG_ACCOUNTING_USER);
	ck_assert_msg(strstr(fdset->warnings, "/dev/iommu") && strstr(fdset->warnings, "RLIMIT_MODE") &&
			      strstr(fdset->warnings, "uid 107"),
		      "%s", fdset->warnings);
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

START_TEST(rlimit_mode_off_from_the_config_is_not_tried)
{
	fixture f;
	fixture_open(&f, "rlimit_mode = off\n");
	fixture_apply(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	/* Tried, the ioctl would fail on the stand-in and required or warn would say so. */
	vfg_fdset *fdset = open_ok(&f, NULL);
	ck_assert_uint_eq(fdset->n_fds, 2);
	ck_assert_int_eq(fdset->accounting, VFG_ACCOUNTING_USER);
	ck_assert_str_eq(fdset->warnings, "");
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

START_TEST(rlimit_mode_unknown_value_is_refused)
{
	/* refused with the configuration, before anything is planned or opened (issue 19: checked by its key) */
	const char *root = test_root_new(host);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "rlimit_mode = sometimes\n");
	vfg_error err = {0};
	vfg_context_options options = {.root = root};
	ck_assert_ptr_null(vfg_context_new(&options, &err));
	ck_assert_msg(strstr(err.message, "line 1: rlimit_mode: 'sometimes': expected required, warn or off"), "%s",
		      err.message);
	test_root_remove(root);
}
END_TEST

/* Put another device at the cdev's path after planning: the rdev no longer matches sysfs. */
START_TEST(a_swapped_node_is_refused_and_what_was_opened_is_closed)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	const char *cdev = test_path(f.root, "/dev/vfio/devices/vfio0");
	ck_assert_int_eq(unlink(cdev), 0);
	ck_assert_int_eq(mknod(cdev, S_IFCHR | 0600, makedev(1, 3)), 0);
	vfg_fdset *fdset = NULL;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_domain_open_fds(f.ctx, f.plan, &(vfg_fd_options){.rlimit_mode = "warn"}, &fdset, &err),
			 -1);
	ck_assert_int_eq(err.errnum, EMEDIUMTYPE);
	ck_assert_msg(strstr(err.message, "vfio0") && strstr(err.message, "1:3"), "%s", err.message);
	fixture_close(&f); /* /dev/iommu, opened first, was closed again */
}
END_TEST

START_TEST(a_symlink_at_the_node_is_not_followed)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", NULL});
	const char *group = test_path(f.root, "/dev/vfio/7");
	ck_assert_int_eq(unlink(group), 0);
	ck_assert_int_eq(symlink("/dev/full", group), 0); /* the right rdev, behind a symlink */
	vfg_fdset *fdset = NULL;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_domain_open_fds(f.ctx, f.plan, NULL, &fdset, &err), -1);
	ck_assert_msg(strstr(err.message, "symlink"), "%s", err.message);
	fixture_close(&f);
}
END_TEST

/* ---- whose fds: only a domain that holds the group gets them ------------------------------- */

/* Apply @hostdev for domain @name as uid:gid @uid:@uid, through the library. */
static void apply_domain(fixture *f, const char *name, uid_t uid, const char *hostdev)
{
	vfg_error err = {0};
	vfg_hostdev_spec spec;
	ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, hostdev, &spec, &err) == 0, "%s", err.message);
	vfg_domain domain = {.uid = uid, .gid = uid, .n_hostdevs = 1, .hostdevs = &spec};
	snprintf(domain.name, sizeof(domain.name), "%s", name);
	vfg_plan *plan = NULL;
	ck_assert_msg(vfg_plan_build(f->ctx, &domain, &plan, &err) == 0, "plan %s: %s", name, err.message);
	ck_assert_msg(vfg_plan_apply(f->ctx, plan, NULL, &err) == 0, "apply %s: %s", name, err.message);
	vfg_plan_free(plan);
}

/* Opening domain vm1's fds fails with @errnum, the message holding @what; nothing stays open. */
static void expect_open_refused(fixture *f, int errnum, const char *what)
{
	vfg_fdset *fdset = NULL;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_domain_open_fds(f->ctx, f->plan, &(vfg_fd_options){.rlimit_mode = "off"}, &fdset, &err),
			 -1);
	ck_assert_ptr_null(fdset);
	ck_assert_msg(err.errnum == errnum, "errno %d, expected %d: %s", err.errnum, errnum, err.message);
	ck_assert_msg(strstr(err.message, what), "expected '%s' in: %s", what, err.message);
	ck_assert_int_eq(test_count_fds(), f->fds_before);
}

START_TEST(a_group_another_domain_holds_is_refused_naming_the_holder)
{
	fixture f;
	fixture_open(&f, NULL);
	/* vm2 holds group 7 through the other function of it: the whole group is vm2's. */
	apply_domain(&f, "vm2", HYPERVISOR_UID + 1, "01:00.1,backend=legacy,access=fd");
	fixture_plan(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", NULL});
	expect_open_refused(&f, EBUSY,
			    "0000:01:00.0: IOMMU group 7 belongs to domain vm2 (through its hostdev 0000:01:00.1), "
			    "not to domain vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(a_domain_never_applied_is_refused)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_plan(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	expect_open_refused(&f, EPERM, "0000:01:00.0: domain vm1 holds no grant for it; run vfguard apply first");
	fixture_close(&f);
}
END_TEST

START_TEST(a_revoked_domain_is_refused)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	vfg_error err = {0};
	ck_assert_msg(vfg_domain_revoke(f.ctx, "vm1", NULL, &err) == 0, "%s", err.message);
	expect_open_refused(&f, EPERM, "domain vm1 holds no grant for it");
	fixture_close(&f);
}
END_TEST

START_TEST(a_domain_holding_the_group_with_another_backend_is_refused)
{
	fixture f;
	fixture_open(&f, NULL);
	apply_domain(&f, "vm1", HYPERVISOR_UID, "01:00.0,backend=legacy,access=fd");
	fixture_plan(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	expect_open_refused(&f, EPERM, "domain vm1 holds it with backend legacy, not iommufd");
	fixture_close(&f);
}
END_TEST

/* Applied for path access, the hypervisor opens the nodes itself: no fd until an fd-access apply. */
START_TEST(a_domain_applied_with_path_access_gets_fds_only_after_an_fd_access_apply)
{
	fixture f;
	fixture_open(&f, NULL);
	apply_domain(&f, "vm1", HYPERVISOR_UID, "01:00.0,backend=legacy");
	fixture_plan(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", NULL});
	expect_open_refused(&f, EPERM,
			    "domain vm1 holds it with access=path, not access=fd; run vfguard apply with access=fd");
	vfg_error err = {0};
	ck_assert_msg(vfg_plan_apply(f.ctx, f.plan, NULL, &err) == 0, "%s", err.message);
	vfg_fdset *fdset = open_ok(&f, NULL);
	ck_assert_uint_eq(fdset->n_fds, 2);
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

/* An apply a crash cut short claimed the group, but never committed: restore undoes it, so no fd. */
START_TEST(a_domain_whose_apply_a_crash_cut_short_is_refused)
{
	fixture f;
	fixture_open(&f, NULL);
	/* Points 1 to 3: the begin, the domain and the claim made durable; killed before the commit. */
	int status = test_cli_killed_at(3, (const char *[]){"apply", "--root", f.root, "--domain", "vm1", "--uid",
							    "107", "--gid", "107", "--hostdev",
							    "01:00.0,backend=legacy,access=fd", NULL});
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "apply was not killed: %d", status);
	char *journal = test_read_file(f.root, "/run/vfguard/domains/vm1.journal");
	ck_assert_msg(journal && strstr(journal, "\nclaim ") && !strstr(journal, "\ncommit "), "%s", journal);
	free(journal);
	fixture_plan(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", NULL});
	expect_open_refused(
		&f, EAGAIN,
		"domain vm1 has an unfinished apply that a crashed or failed run left; run vfguard restore");
	fixture_close(&f);
}
END_TEST

/*
 * The peer: a child that becomes @uid:@gid, connects to @path and reports on
 * @report what it received: "n=N" then per fd "MAJ:MIN ACCMODE", then the
 * description text.
 */
static void peer_receive(const char *path, uid_t uid, gid_t gid, int report)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		_exit(10);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	if (sock < 0 || connect(sock, (struct sockaddr *)&address, sizeof(address)) < 0)
		_exit(11);
	char text[8192] = "";
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = text, .iov_len = sizeof(text) - 1};
	struct msghdr message = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
	if (n < 0)
		_exit(12);
	int n_fds = 0, *fds = NULL;
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
	if (cmsg && cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
		n_fds = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		fds = (int *)CMSG_DATA(cmsg);
	}
	/* The sender's pid, to read its capabilities back. */
	struct ucred sender;
	socklen_t length = sizeof(sender);
	getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &sender, &length);
	dprintf(report, "sender=%d\nn=%d\n", (int)sender.pid, n_fds);
	for (int i = 0; i < n_fds; i++) {
		struct stat st;
		fstat(fds[i], &st);
		dprintf(report, "%u:%u %s\n", major(st.st_rdev), minor(st.st_rdev),
			(fcntl(fds[i], F_GETFL) & O_ACCMODE) == O_RDWR ? "rdwr" : "other");
	}
	dprintf(report, "%s", text);
	_exit(0);
}

/* Listen on DIR/NAME (open to everyone: SO_PEERCRED alone must decide). */
static int listen_at(fixture *f, const char *name, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", f->dir, name);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sock, 0);
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&address, sizeof(address)), 0);
	ck_assert_int_eq(chmod(path, 0777), 0);
	ck_assert_int_eq(listen(sock, 4), 0);
	return sock;
}

/* Fork peer_receive as @uid (gid 107) towards @path; its report comes on *@report_fd. */
static pid_t fork_peer(const char *path, uid_t uid, int *report_fd)
{
	int pipe_fds[2];
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		close(pipe_fds[0]);
		peer_receive(path, uid, HYPERVISOR_UID, pipe_fds[1]);
	}
	close(pipe_fds[1]);
	*report_fd = pipe_fds[0];
	return child;
}

/* The forked peer's whole report (free it), asserting it exited 0. */
static char *peer_report(pid_t child, int report_fd)
{
	FILE *in = fdopen(report_fd, "r");
	ck_assert_ptr_nonnull(in);
	size_t size = 0;
	char *report = NULL;
	ck_assert_int_ge(getdelim(&report, &size, '\0', in), 0);
	fclose(in);
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "peer failed: %d", status);
	return report;
}

/* Fork a peer as @uid, accept it, and try to send; the peer's report in @report (free it). */
static int send_to_peer(fixture *f, vfg_fdset *fdset, uid_t uid, char **report, vfg_error *err)
{
	char path[128];
	int listener = listen_at(f, "fds.sock", path, sizeof(path));
	int report_fd;
	pid_t child = fork_peer(path, uid, &report_fd);
	int connection = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(connection, 0);
	int r = vfg_fdset_send(fdset, connection, err);
	close(connection);
	close(listener);
	unlink(path);
	*report = peer_report(child, report_fd);
	return r;
}

START_TEST(scm_rights_hands_every_fd_to_the_domain_uid_and_closes_vfguards_copies)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd,vf-token=" TOKEN, NULL});
	vfg_fdset *fdset = open_ok(&f, "warn");
	char *report;
	vfg_error err = {0};
	ck_assert_msg(send_to_peer(&f, fdset, HYPERVISOR_UID, &report, &err) == 0, "%s", err.message);
	ck_assert_msg(strstr(report, "\nn=2\n1:5 rdwr\n1:8 rdwr\nvfguard-fds 1\n"), "%s", report);
	ck_assert_msg(strstr(report, "\ndomain vm1\naccounting user\n"), "%s", report);
	ck_assert_msg(strstr(report, "\nfd 0 iommufd /dev/iommu\nfd 1 cdev /dev/vfio/devices/vfio0\n"), "%s", report);
	ck_assert_msg(strstr(report, "\nhostdev 0000:01:00.0 1 " TOKEN "\n"), "%s", report);
	free(report);
	for (size_t i = 0; i < fdset->n_fds; i++)
		ck_assert_int_eq(fdset->fds[i].fd, -1);
	ck_assert_int_eq(test_count_fds(), f.fds_before); /* vfguard's own copies are gone */
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

START_TEST(scm_rights_refuses_a_peer_with_another_uid)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", NULL});
	vfg_fdset *fdset = open_ok(&f, NULL);
	char *report;
	vfg_error err = {0};
	/* Same group as the hypervisor, another uid: only the uid counts. */
	ck_assert_int_eq(send_to_peer(&f, fdset, HYPERVISOR_UID + 1, &report, &err), -1);
	ck_assert_int_eq(err.errnum, EACCES);
	ck_assert_msg(strstr(err.message, "uid 108") && strstr(err.message, "107") && strstr(err.subject, "pid"), "%s",
		      err.message);
	ck_assert_msg(strstr(report, "\nn=0\n"), "the refused peer got fds: %s", report);
	free(report);
	/* Refused, the set still holds its fds: the right peer may still come. */
	ck_assert_int_ge(fdset->fds[0].fd, 0);
	ck_assert_msg(send_to_peer(&f, fdset, HYPERVISOR_UID, &report, &err) == 0, "%s", err.message);
	ck_assert_msg(strstr(report, "\nn=2\n1:3 rdwr\n1:7 rdwr\n"), "%s", report);
	free(report);
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

/* In a child: what /proc/self/fd holds, "0 1 2 10 11", FD_CLOEXEC marked with '*'. */
static void list_fds(char *buf, size_t size)
{
	int dir_fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fdopendir(dir_fd);
	int numbers[64], n = 0;
	for (struct dirent *entry; dir && (entry = readdir(dir)) && n < 64;)
		if (entry->d_name[0] != '.' && atoi(entry->d_name) != dir_fd)
			numbers[n++] = atoi(entry->d_name);
	closedir(dir);
	size_t used = 0;
	buf[0] = '\0';
	for (int number = 0; number < 4096; number++)
		for (int i = 0; i < n; i++)
			if (numbers[i] == number)
				used += (size_t)snprintf(buf + used, size - used, "%s%d%s", used ? " " : "", number,
							 fcntl(number, F_GETFD) & FD_CLOEXEC ? "*" : "");
}

START_TEST(install_puts_the_fds_at_the_base_and_closes_every_other)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", NULL});
	int pipe_fds[2];
	ck_assert_int_eq(pipe(pipe_fds), 0);
	/* Stray descriptors an exec'ed command must not see: one below the base, one above. */
	int stray_low = open("/dev/null", O_RDONLY), stray_high = fcntl(stray_low, F_DUPFD, 40);
	ck_assert_int_ge(stray_high, 40);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		vfg_fdset *fdset = NULL;
		vfg_error err = {0};
		char fds[512];
		int report = fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, 0);
		if (dup2(report, STDOUT_FILENO) < 0 || vfg_domain_open_fds(f.ctx, f.plan, NULL, &fdset, &err) < 0 ||
		    vfg_fdset_install(fdset, 10, &err) < 0)
			dprintf(STDOUT_FILENO, "failed: %s", err.message), _exit(1);
		list_fds(fds, sizeof(fds));
		struct stat container, group;
		fstat(10, &container);
		fstat(11, &group);
		dprintf(STDOUT_FILENO, "%s|%u:%u %u:%u|%d %d", fds, major(container.st_rdev), minor(container.st_rdev),
			major(group.st_rdev), minor(group.st_rdev), fdset->fds[0].fd, fdset->fds[1].fd);
		_exit(0);
	}
	close(pipe_fds[1]);
	close(stray_low);
	close(stray_high);
	char out[1024] = "";
	ssize_t n = read(pipe_fds[0], out, sizeof(out) - 1);
	ck_assert_int_ge(n, 0);
	close(pipe_fds[0]);
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	/* stdin and stderr as they were, stdout the report; the two fds inheritable, nothing else. */
	ck_assert_str_eq(out, "0 1 2 10 11|1:3 1:7|10 11");
	fixture_close(&f);
}
END_TEST

START_TEST(the_environment_names_every_fd)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_apply(&f,
		      (const char *[]){"01:00.0,backend=iommufd,access=fd", "02:00.0,backend=iommufd,access=fd", NULL});
	vfg_fdset *fdset = open_ok(&f, "off");
	char **env = vfg_fdset_environment(fdset);
	ck_assert_ptr_nonnull(env);
	char joined[2048] = "";
	size_t used = 0;
	for (char **entry = env; *entry; entry++) {
		used += (size_t)snprintf(joined + used, sizeof(joined) - used, "%s\n", *entry);
		free(*entry);
	}
	free(env);
	char expected[1024];
	snprintf(expected, sizeof(expected),
		 "VFGUARD_DOMAIN=vm1\nVFGUARD_FDS=%d %d %d\nVFGUARD_HOSTDEV_FDS=0000:01:00.0=%d 0000:02:00.0=%d\n"
		 "VFGUARD_ACCOUNTING=user\nVFGUARD_IOMMUFD_FD=%d\n",
		 fdset->fds[0].fd, fdset->fds[1].fd, fdset->fds[2].fd, fdset->fds[1].fd, fdset->fds[2].fd,
		 fdset->fds[0].fd);
	ck_assert_str_eq(joined, expected);
	vfg_fdset_free(fdset);
	fixture_close(&f);
}
END_TEST

/*
 * A set as large as a domain may be, 253 fds: every number in full, the last
 * one too (two fixed buffers once cut the lists at 2 and 4 KiB, mid-number).
 */
START_TEST(the_environment_of_a_large_set_names_every_fd_in_full)
{
	enum { N_HOSTDEVS = 252 };
	vfg_fd fds[N_HOSTDEVS + 1] = {{.fd = 3, .kind = VFG_NODE_IOMMUFD}};
	vfg_fd_hostdev hostdevs[N_HOSTDEVS];
	for (size_t i = 0; i < N_HOSTDEVS; i++) {
		fds[i + 1] = (vfg_fd){.fd = (int)i + 4, .kind = VFG_NODE_CDEV};
		hostdevs[i] = (vfg_fd_hostdev){.fd = i + 1};
		snprintf(hostdevs[i].bdf, sizeof(hostdevs[i].bdf), "0000:%02zx:%02zx.%zx", 0x10 + i / 256, (i / 8) % 32,
			 i % 8);
	}
	vfg_fdset fdset = {.n_fds = N_HOSTDEVS + 1, .fds = fds, .n_hostdevs = N_HOSTDEVS, .hostdevs = hostdevs};
	snprintf(fdset.domain, sizeof(fdset.domain), "vm1");
	char **env = vfg_fdset_environment(&fdset);
	ck_assert_ptr_nonnull(env);
	const char *all = NULL, *by_hostdev = NULL;
	for (char **entry = env; *entry; entry++) {
		if (strncmp(*entry, "VFGUARD_FDS=", 12) == 0)
			all = *entry + 12;
		if (strncmp(*entry, "VFGUARD_HOSTDEV_FDS=", 20) == 0)
			by_hostdev = *entry + 20;
	}
	ck_assert_ptr_nonnull(all);
	ck_assert_ptr_nonnull(by_hostdev);
	ck_assert_msg(strncmp(all, "3 4 5 ", 6) == 0 && strlen(all) > 8 &&
			      strcmp(all + strlen(all) - 8, " 254 255") == 0,
		      "%s", all);
	ck_assert_msg(strncmp(by_hostdev, "0000:10:00.0=4 ", 15) == 0, "%.40s", by_hostdev);
	const char *last = " 0000:10:1f.3=255";
	ck_assert_msg(strlen(by_hostdev) > strlen(last) &&
			      strcmp(by_hostdev + strlen(by_hostdev) - strlen(last), last) == 0,
		      "...%s", by_hostdev + strlen(by_hostdev) - 40);
	size_t words = 1;
	for (const char *c = by_hostdev; *c; c++)
		words += *c == ' ';
	ck_assert_uint_eq(words, N_HOSTDEVS);
	for (char **entry = env; *entry; entry++)
		free(*entry);
	free(env);
}
END_TEST

/*
 * The largest set one message carries, 253 fds, is sent whole: every fd,
 * and the description to its last hostdev line (about 25 KiB, which a fixed
 * 8 KiB buffer once refused as "too long"). The peer is this process, over
 * a socket pair: its SO_PEERCRED uid is the set's.
 */
START_TEST(the_largest_set_is_sent_whole)
{
	enum { N_HOSTDEVS = 252, N_FDS = N_HOSTDEVS + 1 };
	vfg_fd fds[N_FDS];
	vfg_fd_hostdev hostdevs[N_HOSTDEVS];
	for (size_t i = 0; i < N_FDS; i++) {
		fds[i] = (vfg_fd){.fd = open("/dev/null", O_RDONLY | O_CLOEXEC),
				  .kind = i ? VFG_NODE_CDEV : VFG_NODE_IOMMUFD};
		ck_assert_int_ge(fds[i].fd, 0);
		snprintf(fds[i].path, sizeof(fds[i].path), i ? "/dev/vfio/devices/vfio%zu" : "/dev/iommu", i - 1);
	}
	for (size_t i = 0; i < N_HOSTDEVS; i++) {
		hostdevs[i] = (vfg_fd_hostdev){.fd = i + 1};
		snprintf(hostdevs[i].bdf, sizeof(hostdevs[i].bdf), "0000:%02zx:%02zx.%zx", 0x10 + i / 256, (i / 8) % 32,
			 i % 8);
	}
	vfg_fdset fdset = {.uid = getuid(),
			   .gid = getgid(),
			   .n_fds = N_FDS,
			   .fds = fds,
			   .n_hostdevs = N_HOSTDEVS,
			   .hostdevs = hostdevs};
	snprintf(fdset.domain, sizeof(fdset.domain), "vm1");
	int pair[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	vfg_error err = {0};
	ck_assert_msg(vfg_fdset_send(&fdset, pair[0], &err) == 0, "%s", err.message);
	close(pair[0]);

	static char text[65536];
	union {
		char buf[CMSG_SPACE(sizeof(int) * N_FDS)];
		struct cmsghdr align;
	} control;
	struct iovec iov = {.iov_base = text, .iov_len = sizeof(text) - 1};
	struct msghdr message = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(pair[1], &message, MSG_CMSG_CLOEXEC);
	ck_assert_int_gt(n, 0);
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
	ck_assert(cmsg && cmsg->cmsg_type == SCM_RIGHTS && !(message.msg_flags & MSG_CTRUNC));
	size_t received = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	ck_assert_uint_eq(received, N_FDS);
	for (size_t i = 0; i < received; i++)
		close(((int *)CMSG_DATA(cmsg))[i]);
	size_t used = (size_t)n;
	while ((n = read(pair[1], text + used, sizeof(text) - 1 - used)) > 0) /* a stream may split it */
		used += (size_t)n;
	text[used] = '\0';
	close(pair[1]);
	ck_assert_uint_gt(used, 8192);
	ck_assert_msg(strncmp(text, "vfguard-fds 1\ndomain vm1\n", 25) == 0, "%.60s", text);
	const char *last = "\nhostdev 0000:10:1f.3 252 -\n";
	ck_assert_msg(used > strlen(last) && strcmp(text + used - strlen(last), last) == 0, "...%s", text + used - 60);
	for (size_t i = 0; i < N_FDS; i++)
		ck_assert_int_eq(fds[i].fd, -1); /* the set's copies are closed once sent */
}
END_TEST

/* "CapInh CapPrm CapEff CapBnd CapAmb" of a /proc/PID/status text, space-separated. */
static void capabilities_of(const char *status, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (const char *line = status; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, "Cap", 3) == 0)
			used += (size_t)snprintf(buf + used, size - used, "%s%.*s", used ? " " : "",
						 (int)(strcspn(line, "\n")), line);
}

#define NO_CAPABILITIES                                                                           \
	"CapInh:\t0000000000000000 CapPrm:\t0000000000000000 CapEff:\t0000000000000000 CapBnd:\t" \
	"0000000000000000 CapAmb:\t0000000000000000"

/* The Cap* lines of /proc/@pid/status, read by this process, one space between. */
static void capabilities_of_pid(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *in = fopen(path, "r");
	ck_assert_ptr_nonnull(in);
	char *status = NULL;
	size_t length = 0;
	ck_assert_int_ge(getdelim(&status, &length, '\0', in), 0);
	fclose(in);
	capabilities_of(status, buf, size);
	free(status);
}

START_TEST(privileges_drop_leaves_no_capability_and_the_domain_ids)
{
	int report[2], release[2];
	ck_assert_int_eq(pipe(report), 0);
	ck_assert_int_eq(pipe(release), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		vfg_error err = {0};
		close(report[0]);
		close(release[1]);
		if (vfg_privileges_drop(true, HYPERVISOR_UID, HYPERVISOR_UID, &err) < 0)
			dprintf(report[1], "failed: %s", err.message), _exit(1);
		gid_t groups[4];
		dprintf(report[1], "%u %u %d|", (unsigned)geteuid(), (unsigned)getegid(), getgroups(4, groups));
		close(report[1]);
		char byte;
		_exit(read(release[0], &byte, 1) == 0 ? 0 : 2); /* alive until the parent has looked */
	}
	close(report[1]);
	close(release[0]);
	char out[256] = "";
	size_t got = 0;
	for (ssize_t n; (n = read(report[0], out + got, sizeof(out) - 1 - got)) > 0;)
		got += (size_t)n;
	close(report[0]);
	char capabilities[512] = "";
	if (strcmp(out, "107 107 0|") == 0)
		capabilities_of_pid(child, capabilities, sizeof(capabilities));
	close(release[1]);
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	ck_assert_str_eq(out, "107 107 0|");
	ck_assert_str_eq(capabilities, NO_CAPABILITIES);
}
END_TEST

START_TEST(qemu_args_for_iommufd_name_each_fd_and_the_vf_token)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_plan(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd,vf-token=" TOKEN,
					  "02:00.0,backend=iommufd,access=fd", NULL});
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	vfg_error err = {0};
	ck_assert_msg(vfg_qemu_args_write_text(f.plan, 3, out, &err) == 0, "%s", err.message);
	fclose(out);
	ck_assert_str_eq(text,
			 "-object iommufd,id=iommufd0,fd=3\n"
			 "-device vfio-pci,host=0000:01:00.0,id=hostdev0,iommufd=iommufd0,fd=4,vf-token=" TOKEN "\n"
			 "-device vfio-pci,host=0000:02:00.0,id=hostdev1,iommufd=iommufd0,fd=5\n");
	free(text);
	fixture_close(&f);
}
END_TEST

START_TEST(qemu_args_follow_the_fd_base_and_leave_path_nodes_to_qemu)
{
	fixture f;
	fixture_open(&f, NULL);
	/* /dev/iommu is shared with a path hostdev: QEMU opens it itself, only the fd hostdev's cdev is passed. */
	fixture_plan(&f, (const char *[]){"01:00.0,backend=iommufd", "02:00.0,backend=iommufd,access=fd", NULL});
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	vfg_error err = {0};
	ck_assert_msg(vfg_qemu_args_write_text(f.plan, 20, out, &err) == 0, "%s", err.message);
	fclose(out);
	ck_assert_str_eq(text, "-object iommufd,id=iommufd0\n"
			       "-device vfio-pci,host=0000:01:00.0,id=hostdev0,iommufd=iommufd0\n"
			       "-device vfio-pci,host=0000:02:00.0,id=hostdev1,iommufd=iommufd0,fd=20\n");
	free(text);
	fixture_close(&f);
}
END_TEST

START_TEST(qemu_args_refuse_a_legacy_hostdev_with_fd_access)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_plan(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", NULL});
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	vfg_error err = {0};
	ck_assert_int_eq(vfg_qemu_args_write_text(f.plan, 3, out, &err), -1);
	fclose(out);
	ck_assert_str_eq(text, "");
	ck_assert_int_eq(err.errnum, EOPNOTSUPP);
	ck_assert_msg(strstr(err.message, "0000:01:00.0") && strstr(err.message, "hw/vfio/device.c"), "%s",
		      err.message);
	free(text);
	fixture_close(&f);
}
END_TEST

START_TEST(plan_says_how_the_vf_token_reaches_the_kernel)
{
	fixture f;
	fixture_open(&f, NULL);
	fixture_plan(&f, (const char *[]){"01:00.0,backend=legacy,vf-token=" TOKEN,
					  "02:00.0,backend=iommufd,access=fd,vf-token=" TOKEN, NULL});
	ck_assert_msg(strstr(vfg_hostdev_vf_token_method(vfg_plan_hostdev(f.plan, 0)), "vf_token=UUID"), "legacy");
	ck_assert_msg(strstr(vfg_hostdev_vf_token_method(vfg_plan_hostdev(f.plan, 1)), "VFIO_DEVICE_BIND_FLAG_TOKEN") &&
			      strstr(vfg_hostdev_vf_token_method(vfg_plan_hostdev(f.plan, 1)), "6.17"),
		      "iommufd");
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	vfg_plan_write_text(f.plan, out);
	fclose(out);
	ck_assert_msg(strstr(text, "vf-token on the group path"), "%s", text);
	ck_assert_msg(strstr(text, "vf-token on the cdev path"), "%s", text);
	free(text);
	fixture_close(&f);
}
END_TEST

/* ---- the CLI ---------------------------------------------------------------------------- */

/* `vfguard apply` of domain vm1 with @hostdev, as uid:gid @id:@id (root when NULL), as exec and fds require. */
static void cli_apply_vm1(const fixture *f, const char *id, const char *hostdev)
{
	test_run run;
	if (id)
		test_cli(&run, (const char *[]){"apply", "--root", f->root, "--domain", "vm1", "--uid", id, "--gid", id,
						"--hostdev", hostdev, NULL});
	else
		test_cli(&run,
			 (const char *[]){"apply", "--root", f->root, "--domain", "vm1", "--hostdev", hostdev, NULL});
	ck_assert_msg(run.status == 0, "apply: exit %d: %s", run.status, run.err);
	test_run_free(&run);
}

/*
 * The fds go to the uid and gid the domain's grants are for: an exec (or
 * fds) naming others was handed them (a trial: a uid 108 peer got
 * /dev/iommu and the cdev of a domain applied for 107). Refused, no fd
 * opened, the command never run.
 */
START_TEST(cli_exec_for_other_ids_than_the_domains_is_refused)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, "107", "01:00.0,backend=iommufd,access=fd");
	test_run run;
	test_cli(&run, (const char *[]){"exec", "--root", f.root, "--domain", "vm1", "--uid", "108", "--gid", "108",
					"--hostdev", "01:00.0,backend=iommufd,access=fd", "--rlimit-mode", "warn", "--",
					"/bin/echo", "ran", NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "domain vm1's grants are for uid 107 gid 107, not uid 108 gid 108: no fd is "
				      "opened; give --uid 107 --gid 107") &&
			      !strstr(run.out, "ran"),
		      "%s%s", run.out, run.err);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_exec_runs_the_command_as_the_domain_with_exactly_the_stated_fds_and_no_capability)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, "107", "01:00.0,backend=iommufd,access=fd");
	/* The command lists its own descriptors with shell built-ins only, and its capabilities. */
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
					"--hostdev",
					"01:00.0,backend=iommufd,access=fd",
					"--rlimit-mode",
					"warn",
					"--fd-base",
					"5",
					"--",
					"/bin/sh",
					"-c",
					"ls /proc/$$/fd; "
					"grep ^Cap /proc/$$/status | tr '\\n' ' '; echo; id -u; id -g; id -G; "
					"echo $VFGUARD_FDS; echo $VFGUARD_IOMMUFD_FD; echo $VFGUARD_HOSTDEV_FDS; "
					"echo $VFGUARD_ACCOUNTING; echo $VFGUARD_DOMAIN",
					NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	ck_assert_str_eq(run.out, "0\n1\n2\n5\n6\n"
				  "CapInh:\t0000000000000000 CapPrm:\t0000000000000000 CapEff:\t0000000000000000 "
				  "CapBnd:\t0000000000000000 CapAmb:\t0000000000000000 \n"
				  "107\n107\n107\n"
				  "5 6\n5\n0000:01:00.0=6\nuser\nvm1\n");
	ck_assert_msg(strstr(run.err, "warning") && strstr(run.err, "/dev/iommu"), "%s", run.err);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_exec_as_root_still_gets_no_capability)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, NULL, "01:00.0,backend=legacy,access=fd");
	test_run run;
	/* uid 0: only the empty bounding set keeps exec from handing root's capabilities back. */
	test_cli(&run, (const char *[]){"exec", "--root", f.root, "--domain", "vm1", "--hostdev",
					"01:00.0,backend=legacy,access=fd", "--", "/bin/sh", "-c",
					"grep ^Cap /proc/$$/status | tr '\\n' ' '; id -u", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	ck_assert_str_eq(run.out, "CapInh:\t0000000000000000 CapPrm:\t0000000000000000 CapEff:\t0000000000000000 "
				  "CapBnd:\t0000000000000000 CapAmb:\t0000000000000000 0\n");
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

/* Issue 19's review: nothing the command execs (a setuid binary) may gain privileges back. */
START_TEST(cli_exec_runs_the_command_with_no_new_privs)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, "107", "01:00.0,backend=legacy,access=fd");
	test_run run;
	test_cli(&run, (const char *[]){"exec", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--hostdev", "01:00.0,backend=legacy,access=fd", "--", "/bin/sh", "-c",
					"grep ^NoNewPrivs /proc/$$/status", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	ck_assert_str_eq(run.out, "NoNewPrivs:\t1\n");
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

/*
 * exec becomes the hypervisor, without CAP_IPC_LOCK, so what it pins is
 * charged to it: with --memory its RLIMIT_MEMLOCK is the domain's need
 * (2 MiB + memlock_extra 1 MiB) before the command runs. A real QEMU found
 * it: under the 8 MiB default its 64 MiB guest failed to pin
 * (tests/vm/scenarios/qemu-iommufd-fd.sh).
 */
START_TEST(cli_exec_raises_the_commands_memlock_limit_to_the_domains_need)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, "107", "01:00.0,backend=legacy,access=fd");
	/* a soft limit far below the need; the hard one stays (lowering it could not be undone) */
	struct rlimit saved, small;
	ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &saved), 0);
	small = (struct rlimit){.rlim_cur = 64 * 1024, .rlim_max = saved.rlim_max};
	ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &small), 0);
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
					"--memory",
					"2M",
					"--set",
					"memlock_extra=1M",
					"--hostdev",
					"01:00.0,backend=legacy,access=fd",
					"--",
					"/bin/sh",
					"-c",
					"awk '/^Max locked memory/ { print $4, $5 }' /proc/$$/limits",
					NULL});
	ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &saved), 0);
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	/* soft 3 MiB; the hard limit rises to 3 MiB only when it was below */
	char expected[128], hard[32];
	if (saved.rlim_max == RLIM_INFINITY)
		snprintf(hard, sizeof(hard), "unlimited");
	else
		snprintf(hard, sizeof(hard), "%llu",
			 (unsigned long long)(saved.rlim_max > 3145728 ? saved.rlim_max : 3145728));
	snprintf(expected, sizeof(expected), "3145728 %s\n", hard);
	ck_assert_str_eq(run.out, expected);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_exec_fails_before_the_command_when_rlimit_mode_is_required)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, NULL, "01:00.0,backend=iommufd,access=fd");
	/* the shell's own redirection, not touch(1): a command that is missing must not pass for one never run */
	char marker[128];
	snprintf(marker, sizeof(marker), ": >%s/ran", f.dir);
	test_run run;
	test_cli(&run, (const char *[]){"exec", "--root", f.root, "--domain", "vm1", "--hostdev",
					"01:00.0,backend=iommufd,access=fd", "--", "/bin/sh", "-c", marker, NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "/dev/iommu") && strstr(run.err, "RLIMIT_MODE"), "%s", run.err);
	char ran[128];
	snprintf(ran, sizeof(ran), "%s/ran", f.dir);
	ck_assert_msg(access(ran, F_OK) < 0, "%s exists: the command ran", ran);
	ck_assert_msg(errno == ENOENT, "%s: %s", ran, strerror(errno));
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_qemu_args_json_lists_the_fds_and_the_arguments)
{
	fixture f;
	fixture_open(&f, NULL);
	test_run run;
	test_cli(&run, (const char *[]){"qemu-args", "--json", "--root", f.root, "--domain", "vm1", "--hostdev",
					"02:00.0,backend=iommufd,access=fd", NULL});
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	const char *head = "{\n  \"version\": 1,\n  \"domain\": \"vm1\",";
	ck_assert_msg(strncmp(run.out, head, strlen(head)) == 0, "%s", run.out);
	ck_assert_msg(strstr(run.out, "\"fd\": 3,\n      \"kind\": \"iommufd\",\n      \"path\": \"/dev/iommu\""), "%s",
		      run.out);
	ck_assert_msg(strstr(run.out, "\"-object\",\n    \"iommufd,id=iommufd0,fd=3\",\n    \"-device\",\n    "
				      "\"vfio-pci,host=0000:02:00.0,id=hostdev0,iommufd=iommufd0,fd=4\""),
		      "%s", run.out);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

/* Start `vfguard fds` in the background; its stdout is read through *@out, its stderr goes to @err_path. */
static pid_t start_fds_server(const char *const *argv, FILE **out, const char *err_path)
{
	int pipe_fds[2];
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *args[32] = {getenv("VFGUARD_CLI")};
		for (size_t i = 0; argv[i] && i < 30; i++)
			args[i + 1] = argv[i];
		int err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(pipe_fds[1], STDOUT_FILENO);
		dup2(err_fd, STDERR_FILENO);
		execv(args[0], (char **)args);
		_exit(127);
	}
	close(pipe_fds[1]);
	*out = fdopen(pipe_fds[0], "r");
	ck_assert_ptr_nonnull(*out);
	return pid;
}

/* `vfguard fds` for domain vm1 (uid and gid 107, one iommufd hostdev) on DIR/vm1.sock, stderr in DIR/stderr. */
static pid_t start_vm1_server(fixture *f, char *socket_path, size_t size, FILE **out)
{
	char err_path[128];
	snprintf(socket_path, size, "%s/vm1.sock", f->dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", f->dir);
	return start_fds_server((const char *[]){"fds", "--root", f->root, "--domain", "vm1", "--uid", "107", "--gid",
						 "107", "--hostdev", "01:00.0,backend=iommufd,access=fd",
						 "--rlimit-mode", "warn", "--socket", socket_path, NULL},
				out, err_path);
}

/* A peer as @uid that connects to @path on its own; its report (free it). */
static char *run_peer(const char *path, uid_t uid)
{
	int report_fd;
	pid_t child = fork_peer(path, uid, &report_fd);
	return peer_report(child, report_fd);
}

/* No name in @dir contains @part. */
static void assert_nothing_named(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	for (struct dirent *entry; (entry = readdir(d));)
		ck_assert_msg(!strstr(entry->d_name, part), "left in %s: %s", dir, entry->d_name);
	closedir(d);
}

START_TEST(cli_fds_serves_the_domain_uid_refuses_another_and_drops_capabilities_first)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, "107", "01:00.0,backend=iommufd,access=fd");
	char socket_path[128];
	FILE *out;
	pid_t server = start_vm1_server(&f, socket_path, sizeof(socket_path), &out);
	char *line = NULL;
	size_t size = 0;
	ck_assert_int_gt(getline(&line, &size, out), 0); /* ready */
	ck_assert_msg(strstr(line, "2 fds ready on") && strstr(line, "uid 107"), "%s", line);
	/* Ready means the fds are open and every capability is gone, before any peer came. */
	char capabilities[512];
	capabilities_of_pid(server, capabilities, sizeof(capabilities));
	ck_assert_str_eq(capabilities, NO_CAPABILITIES);
	struct stat st;
	ck_assert_int_eq(stat(socket_path, &st), 0);
	ck_assert_uint_eq(st.st_uid, 107);
	ck_assert_uint_eq(st.st_gid, 107);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);

	/* uid 108 in the hypervisor's group may connect, and gets nothing. */
	char *report = run_peer(socket_path, HYPERVISOR_UID + 1);
	ck_assert_msg(strstr(report, "\nn=0\n"), "refused peer got fds: %s", report);
	free(report);
	report = run_peer(socket_path, HYPERVISOR_UID);
	ck_assert_msg(strstr(report, "\nn=2\n1:5 rdwr\n1:8 rdwr\n"), "%s", report);
	ck_assert_int_eq(atoi(report + strlen("sender=")), server);
	free(report);

	int status;
	ck_assert_int_gt(getline(&line, &size, out), 0);
	ck_assert_msg(strstr(line, "2 fds handed to pid"), "%s", line);
	ck_assert_int_eq(waitpid(server, &status, 0), server);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "vfguard fds: %d", status);
	fclose(out);
	free(line);
	char *errors = test_read_file(f.dir, "/stderr");
	ck_assert_msg(strstr(errors, "refused") && strstr(errors, "uid 108"), "%s", errors);
	free(errors);
	ck_assert_msg(access(socket_path, F_OK) < 0, "%s was not removed", socket_path);
	ck_assert_msg(errno == ENOENT, "%s: %s", socket_path, strerror(errno));
	fixture_close(&f);
}
END_TEST

/*
 * A hypervisor that polls for the socket (as libvirt or a script would) must
 * find it already its own and listening: the first connect works, never
 * EACCES from a root-owned name or ECONNREFUSED before listen.
 */
START_TEST(cli_fds_socket_appears_only_owned_and_listening)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, "107", "01:00.0,backend=iommufd,access=fd");
	char socket_path[128];
	FILE *out;
	pid_t server = start_vm1_server(&f, socket_path, sizeof(socket_path), &out);
	struct stat st;
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (lstat(socket_path, &st) < 0) { /* no sleep: the tightest poll a peer could do */
		ck_assert_int_eq(errno, ENOENT);
		clock_gettime(CLOCK_MONOTONIC, &now);
		ck_assert_msg(now.tv_sec - start.tv_sec < 30, "no socket at %s", socket_path);
	}
	ck_assert_msg(S_ISSOCK(st.st_mode), "%s: mode %o", socket_path, st.st_mode);
	ck_assert_uint_eq(st.st_uid, 107);
	ck_assert_uint_eq(st.st_gid, 107);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);

	char *report = run_peer(socket_path, HYPERVISOR_UID); /* one connect, no retry */
	ck_assert_msg(strstr(report, "\nn=2\n"), "%s", report);
	free(report);
	int status;
	ck_assert_int_eq(waitpid(server, &status, 0), server);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "vfguard fds: %d", status);
	fclose(out);
	assert_nothing_named(f.dir, ".sock"); /* neither the socket nor its temporary name */
	fixture_close(&f);
}
END_TEST

/* A file already at the socket path is neither replaced nor removed; the error names it. */
START_TEST(cli_fds_never_replaces_a_file_at_the_socket_path)
{
	fixture f;
	fixture_open(&f, NULL);
	cli_apply_vm1(&f, "107", "01:00.0,backend=iommufd,access=fd");
	char socket_path[128];
	snprintf(socket_path, sizeof(socket_path), "%s/vm1.sock", f.dir);
	test_write_file(f.dir, "/vm1.sock", "someone else's\n");
	test_run run;
	test_cli(&run, (const char *[]){"fds", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--hostdev", "01:00.0,backend=iommufd,access=fd", "--rlimit-mode", "warn",
					"--socket", socket_path, "--timeout", "1", NULL});
	ck_assert_msg(run.status == 1, "exit %d: %s", run.status, run.err);
	ck_assert_msg(strstr(run.err, socket_path) && strstr(run.err, "Address already in use"), "%s", run.err);
	test_run_free(&run);
	char *kept = test_read_file(f.dir, "/vm1.sock");
	ck_assert_str_eq(kept, "someone else's\n");
	free(kept);
	assert_nothing_named(f.dir, "~");
	fixture_close(&f);
}
END_TEST

START_TEST(cli_exec_refuses_a_group_another_domain_holds_and_runs_nothing)
{
	fixture f;
	fixture_open(&f, NULL);
	test_run run;
	test_cli(&run, (const char *[]){"apply", "--root", f.root, "--domain", "vm2", "--uid", "108", "--gid", "108",
					"--hostdev", "01:00.0,backend=legacy,access=fd", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	test_run_free(&run);
	test_cli(&run,
		 (const char *[]){"exec", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid", "107",
				  "--hostdev", "01:00.0,backend=legacy,access=fd", "--", "/bin/echo", "ran", NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "0000:01:00.0: IOMMU group 7 belongs to domain vm2"), "%s", run.err);
	ck_assert_str_eq(run.out, ""); /* the command never ran */
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(cli_fds_refuses_a_domain_never_applied_and_makes_no_socket)
{
	fixture f;
	fixture_open(&f, NULL);
	char socket_path[128];
	snprintf(socket_path, sizeof(socket_path), "%s/vm1.sock", f.dir);
	test_run run;
	test_cli(&run, (const char *[]){"fds", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid", "107",
					"--hostdev", "01:00.0,backend=iommufd,access=fd", "--rlimit-mode", "warn",
					"--socket", socket_path, "--timeout", "1", NULL});
	ck_assert_int_eq(run.status, 1);
	ck_assert_msg(strstr(run.err, "domain vm1 holds no grant for it; run vfguard apply first"), "%s", run.err);
	ck_assert_str_eq(run.out, "");
	test_run_free(&run);
	ck_assert_int_eq(access(socket_path, F_OK), -1);
	fixture_close(&f);
}
END_TEST

static Suite *fds_suite(void)
{
	Suite *suite = suite_create("fds");
	TCase *tc = tcase_create("open");
	tcase_add_test(tc, iommufd_opens_iommu_once_and_each_cdev_rdwr_cloexec);
	tcase_add_test(tc, legacy_opens_the_container_once_and_a_shared_group_once);
	tcase_add_test(tc, a_set_on_both_backends_has_the_iommufds_accounting);
	tcase_add_test(tc, path_access_nodes_are_not_opened);
	tcase_add_test(tc, a_domain_without_fd_access_is_an_error);
	tcase_add_test(tc, a_swapped_node_is_refused_and_what_was_opened_is_closed);
	tcase_add_test(tc, a_symlink_at_the_node_is_not_followed);
	suite_add_tcase(suite, tc);

	tc = tcase_create("ownership");
	tcase_add_test(tc, a_group_another_domain_holds_is_refused_naming_the_holder);
	tcase_add_test(tc, a_domain_never_applied_is_refused);
	tcase_add_test(tc, a_revoked_domain_is_refused);
	tcase_add_test(tc, a_domain_holding_the_group_with_another_backend_is_refused);
	tcase_add_test(tc, a_domain_applied_with_path_access_gets_fds_only_after_an_fd_access_apply);
	tcase_add_test(tc, a_domain_whose_apply_a_crash_cut_short_is_refused);
	suite_add_tcase(suite, tc);

	tc = tcase_create("accounting");
	tcase_add_test(tc, rlimit_mode_required_fails_naming_dev_iommu_with_nothing_open);
	tcase_add_test(tc, rlimit_mode_warn_goes_on_with_a_warning);
	tcase_add_test(tc, rlimit_mode_off_from_the_config_is_not_tried);
	tcase_add_test(tc, rlimit_mode_unknown_value_is_refused);
	suite_add_tcase(suite, tc);

	tc = tcase_create("hand-over");
	tcase_add_test(tc, scm_rights_hands_every_fd_to_the_domain_uid_and_closes_vfguards_copies);
	tcase_add_test(tc, scm_rights_refuses_a_peer_with_another_uid);
	tcase_add_test(tc, install_puts_the_fds_at_the_base_and_closes_every_other);
	tcase_add_test(tc, the_environment_names_every_fd);
	tcase_add_test(tc, the_environment_of_a_large_set_names_every_fd_in_full);
	tcase_add_test(tc, the_largest_set_is_sent_whole);
	tcase_add_test(tc, privileges_drop_leaves_no_capability_and_the_domain_ids);
	suite_add_tcase(suite, tc);

	tc = tcase_create("qemu");
	tcase_add_test(tc, qemu_args_for_iommufd_name_each_fd_and_the_vf_token);
	tcase_add_test(tc, qemu_args_follow_the_fd_base_and_leave_path_nodes_to_qemu);
	tcase_add_test(tc, qemu_args_refuse_a_legacy_hostdev_with_fd_access);
	tcase_add_test(tc, plan_says_how_the_vf_token_reaches_the_kernel);
	suite_add_tcase(suite, tc);

	tc = tcase_create("cli");
	tcase_add_test(tc, cli_exec_runs_the_command_as_the_domain_with_exactly_the_stated_fds_and_no_capability);
	tcase_add_test(tc, cli_exec_for_other_ids_than_the_domains_is_refused);
	tcase_add_test(tc, cli_exec_as_root_still_gets_no_capability);
	tcase_add_test(tc, cli_exec_runs_the_command_with_no_new_privs);
	tcase_add_test(tc, cli_exec_raises_the_commands_memlock_limit_to_the_domains_need);
	tcase_add_test(tc, cli_exec_fails_before_the_command_when_rlimit_mode_is_required);
	tcase_add_test(tc, cli_qemu_args_json_lists_the_fds_and_the_arguments);
	tcase_add_test(tc, cli_fds_serves_the_domain_uid_refuses_another_and_drops_capabilities_first);
	tcase_add_test(tc, cli_fds_socket_appears_only_owned_and_listening);
	tcase_add_test(tc, cli_fds_never_replaces_a_file_at_the_socket_path);
	tcase_add_test(tc, cli_exec_refuses_a_group_another_domain_holds_and_runs_nothing);
	tcase_add_test(tc, cli_fds_refuses_a_domain_never_applied_and_makes_no_socket);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return test_main(fds_suite());
}
