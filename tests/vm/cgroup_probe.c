/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroup_probe: what the device cgroup lets a process do, seen from inside
 * the VM suite's guest. Each check runs in a forked child that first joins a
 * cgroup2 cgroup, since the kernel checks the opener's cgroup at open
 * (devcgroup_inode_permission()). One line per step on standard output, in
 * the suite's check protocol (tests/vm/README.md): "ok STEP ..." or
 * "FAIL STEP ...".
 *
 *   cgroup_probe open [--cgroup DIR] STEP PATH ok|ERRNO
 *       open PATH read-write, in DIR (default: where the probe runs), and
 *       expect it to open, or to fail with ERRNO (EPERM, EACCES, ...)
 *   cgroup_probe programs DIR
 *       print how many device programs are attached to DIR itself
 *   cgroup_probe handover --cgroup DIR --container PATH --group PATH --device BDF
 *       open the legacy nodes here, then in a child in DIR (which denies the
 *       group): the path open fails with EPERM, and the inherited fds still
 *       walk the type1 flow up to the device fd
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct {
	const char *name;
	int value;
} errno_names[] = {
	{"EPERM", EPERM}, {"EACCES", EACCES}, {"ENXIO", ENXIO}, {"EBUSY", EBUSY}, {"ENOENT", ENOENT},
};

static const char *errno_name(int value)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].value == value)
			return errno_names[i].name;
	return strerror(value);
}

static int errno_parse(const char *name)
{
	if (strcmp(name, "ok") == 0)
		return 0;
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(errno_names[i].name, name) == 0)
			return errno_names[i].value;
	return -1;
}

/* Move the calling process into cgroup @dir ("0" names the writer itself, cgroup-v2.rst). */
static int join_cgroup(const char *dir)
{
	char procs[4096];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	int fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = write(fd, "0", 1) == 1 ? 0 : -1;
	close(fd);
	return r;
}

static int usage(void)
{
	fprintf(stderr, "usage: cgroup_probe open [--cgroup DIR] STEP PATH ok|ERRNO\n"
			"       cgroup_probe programs DIR\n"
			"       cgroup_probe handover --cgroup DIR --container PATH --group PATH --device BDF\n");
	return 2;
}

/* Run @child in a forked process and wait; its exit status. */
static int in_child(int (*child)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		int r = child(arg);
		fflush(stdout); /* _exit() leaves stdio's buffer unwritten */
		_exit(r);
	}
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}

struct open_check {
	const char *cgroup, *step, *path;
	int expected;
};

static int open_child(void *arg)
{
	const struct open_check *check = arg;
	if (check->cgroup && join_cgroup(check->cgroup) < 0) {
		printf("FAIL %s cannot join %s: %s\n", check->step, check->cgroup, strerror(errno));
		return 1;
	}
	int fd = open(check->path, O_RDWR | O_CLOEXEC);
	int got = fd >= 0 ? 0 : errno;
	const char *where = check->cgroup ? check->cgroup : "its own cgroup";
	if (got == check->expected) {
		printf("ok %s %s in %s: %s\n", check->step, check->path, where, got ? errno_name(got) : "opened");
		return 0;
	}
	printf("FAIL %s %s in %s: %s, expected %s\n", check->step, check->path, where, got ? errno_name(got) : "opened",
	       check->expected ? errno_name(check->expected) : "it to open");
	return 1;
}

static int command_open(int argc, char **argv)
{
	struct open_check check = {0};
	int i = 0;
	if (argc >= 2 && strcmp(argv[0], "--cgroup") == 0) {
		check.cgroup = argv[1];
		i = 2;
	}
	if (argc - i != 3 || (check.expected = errno_parse(argv[i + 2])) < 0)
		return usage();
	check.step = argv[i];
	check.path = argv[i + 1];
	return in_child(open_child, &check);
}

static int command_programs(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return 1;
	}
	__u32 ids[64];
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (__u32)fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (__u64)(unsigned long)ids;
	attr.query.prog_cnt = 64;
	if (syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)) < 0) {
		fprintf(stderr, "BPF_PROG_QUERY %s: %s\n", dir, strerror(errno));
		return 1;
	}
	printf("%u\n", attr.query.prog_cnt);
	return 0;
}

struct handover {
	const char *cgroup, *container_path, *group_path, *device;
	int container, group;
};

/* One ioctl step on an inherited fd: ok when it returns what @good says. */
static int step(const char *name, int r, int good, const char *what)
{
	if (r >= 0 && good) {
		printf("ok %s %s\n", name, what);
		return 0;
	}
	printf("FAIL %s %s: %s\n", name, what, r < 0 ? strerror(errno) : "unexpected answer");
	return 1;
}

static int handover_child(void *arg)
{
	const struct handover *h = arg;
	if (join_cgroup(h->cgroup) < 0) {
		printf("FAIL join %s: %s\n", h->cgroup, strerror(errno));
		return 1;
	}
	int failed = 0;
	int fd = open(h->group_path, O_RDWR | O_CLOEXEC);
	failed += step("path-open-denied", fd < 0 && errno == EPERM ? 0 : -1, 1,
		       "opening the group by path in the cgroup fails with EPERM");
	if (fd >= 0)
		close(fd);

	struct vfio_group_status status = {.argsz = sizeof(status)};
	int r = ioctl(h->group, VFIO_GROUP_GET_STATUS, &status);
	failed += step("inherited-group-status", r, (status.flags & VFIO_GROUP_FLAGS_VIABLE) != 0,
		       "VFIO_GROUP_GET_STATUS on the inherited group fd: viable");
	r = ioctl(h->container, VFIO_GET_API_VERSION);
	failed += step("inherited-api-version", r, r == VFIO_API_VERSION,
		       "VFIO_GET_API_VERSION on the inherited container fd");
	r = ioctl(h->group, VFIO_GROUP_SET_CONTAINER, &h->container);
	failed += step("inherited-set-container", r, 1, "VFIO_GROUP_SET_CONTAINER");
	r = ioctl(h->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU);
	failed += step("inherited-set-iommu", r, 1, "VFIO_SET_IOMMU type1v2");
	int device = ioctl(h->group, VFIO_GROUP_GET_DEVICE_FD, h->device);
	failed += step("inherited-get-device-fd", device, 1, "VFIO_GROUP_GET_DEVICE_FD");
	if (device >= 0)
		close(device);
	return failed ? 1 : 0;
}

static int command_handover(int argc, char **argv)
{
	struct handover h = {.container = -1, .group = -1};
	for (int i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--cgroup") == 0)
			h.cgroup = argv[i + 1];
		else if (strcmp(argv[i], "--container") == 0)
			h.container_path = argv[i + 1];
		else if (strcmp(argv[i], "--group") == 0)
			h.group_path = argv[i + 1];
		else if (strcmp(argv[i], "--device") == 0)
			h.device = argv[i + 1];
		else
			return usage();
	}
	if (argc % 2 || !h.cgroup || !h.container_path || !h.group_path || !h.device)
		return usage();
	/* Opened here, outside the cgroup, as a manager does; inherited by the child (no O_CLOEXEC needed for fork). */
	h.container = open(h.container_path, O_RDWR);
	h.group = open(h.group_path, O_RDWR);
	if (h.container < 0 || h.group < 0) {
		printf("FAIL open-outside %s and %s: %s\n", h.container_path, h.group_path, strerror(errno));
		return 1;
	}
	printf("ok open-outside %s and %s opened outside the cgroup\n", h.container_path, h.group_path);
	int r = in_child(handover_child, &h);
	close(h.group);
	close(h.container);
	return r;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "open") == 0)
		return command_open(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "programs") == 0)
		return command_programs(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "handover") == 0)
		return command_handover(argc - 2, argv + 2);
	return usage();
}
