/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * aa_run: AppArmor confinement for the VM suite's AppArmor scenarios.
 *
 *   aa_run exec PROFILE PROGRAM [ARGS...]
 *	run PROGRAM confined by PROFILE (aa_change_onexec(), so the exec
 *	itself makes the transition, as a hypervisor started under its
 *	profile)
 *
 *   aa_run handover --group PATH --receiver PROFILE [--opener PROFILE]
 *                   --expect received|refused [--path-allowed]
 *	a manager handing a VFIO group fd to a confined hypervisor: a
 *	child confines itself by PROFILE (aa_change_profile()), checks that
 *	it cannot open PATH itself, then receives an fd of PATH that the
 *	parent opened (unconfined, or confined by --opener) and sent over
 *	SCM_RIGHTS, and uses it (VFIO_GROUP_GET_STATUS). The kernel
 *	re-checks a received file against the receiver's profile unless its
 *	opener was unconfined (aa_file_perm() in security/apparmor/file.c,
 *	called from apparmor_file_receive()): --expect says which must
 *	happen. With --path-allowed the receiver's profile holds a rule for
 *	PATH, and its own open must succeed instead.
 *
 *   aa_run handover --iommu PATH --cdev PATH --receiver PROFILE [...]
 *	the same for the iommufd backend: the opener opens /dev/iommu and
 *	the device's cdev and sends each fd in a message of its own (so a
 *	refusal is seen per node), and the receiver checks and receives
 *	both (step names end in -iommu and -cdev), then uses them as a
 *	hypervisor does: binds the cdev to the iommufd, allocates an IOAS,
 *	attaches the device to it and maps one page.
 *
 * handover prints "ok STEP message" / "FAIL STEP message" lines
 * (tests/vm/guest/lib.sh run_checks) and exits 1 when a step failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/apparmor.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The iommufd uAPI that Debian bookworm's 6.1 headers lack (core/vfio_uapi.h cites its source). */
#include "../../core/vfio_uapi.h"

/* One page, at an IOVA far from the x86 MSI window (0xfee00000), as vfio_probe maps. */
#define DMA_IOVA 0x100000u
#define DMA_LENGTH 4096u

/* A node handed over: legacy the group alone (step names as they were), iommufd /dev/iommu and the cdev. */
struct handover_node {
	const char *name; /* the step name suffix, "" for the legacy group */
	const char *path;
	int fd; /* the receiver's received fd */
};

enum { HANDOVER_MAX = 2 };

struct handover {
	struct handover_node node[HANDOVER_MAX];
	int count;
	bool iommufd;
};

static int failures;

static void step(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void step(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;
	printf("%s %s ", ok ? "ok" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures += !ok;
}

static int run_exec(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "aa_run exec PROFILE PROGRAM [ARGS...]\n");
		return 2;
	}
	if (aa_change_onexec(argv[2]) < 0) {
		fprintf(stderr, "aa_run: aa_change_onexec(%s): %s\n", argv[2], strerror(errno));
		return 1;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "aa_run: exec %s: %s\n", argv[3], strerror(errno));
	return 127;
}

static int send_fd(int socket, int fd)
{
	char byte = 'f';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr header;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {0};
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(socket, &msg, 0) == 1 ? 0 : -1;
}

/* The fd that came with the message, or -1; *truncated when the kernel dropped it (MSG_CTRUNC). */
static int receive_fd(int socket, bool *truncated)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr header;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {0};
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
	*truncated = false;
	if (recvmsg(socket, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	*truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/* STEP, or STEP-NODE when the handover has more than one node. */
static const char *step_name(char *buf, size_t size, const char *step_base, const struct handover_node *node)
{
	snprintf(buf, size, "%s%s%s", step_base, node->name[0] ? "-" : "", node->name);
	return buf;
}

static void receiver_open(const struct handover_node *node, const char *profile, bool path_allowed)
{
	char name[64];
	int fd = open(node->path, O_RDWR | O_CLOEXEC);
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (path_allowed)
		step(fd >= 0, step_name(name, sizeof(name), "receiver-open-allowed", node), "open(%s) in %s: %s",
		     node->path, profile, fd >= 0 ? "opened: the profile's rule allows the path" : strerror(saved));
	else
		step(fd < 0 && saved == EACCES, step_name(name, sizeof(name), "receiver-open-denied", node),
		     "open(%s) in %s: %s", node->path, profile,
		     fd >= 0 ? "opened: the profile allows the path" : strerror(saved));
}

/* Receive @node's fd into node->fd (-1 when none came); false when the outcome is not the expected one. */
static bool receiver_receive(int socket, struct handover_node *node, bool expect_received)
{
	char name[64];
	bool truncated;
	node->fd = receive_fd(socket, &truncated);
	if (!expect_received) {
		step(node->fd < 0 && truncated, step_name(name, sizeof(name), "receive-refused", node), "%s",
		     node->fd >= 0 ? "the fd arrived: the kernel did not re-check it against the profile"
				   : "no fd arrived (MSG_CTRUNC): the kernel re-checked it against the profile");
		return node->fd < 0 && truncated;
	}
	step(node->fd >= 0, step_name(name, sizeof(name), "receive", node), "%s",
	     node->fd >= 0 ? "the fd arrived"
	     : truncated   ? "refused (MSG_CTRUNC)"
			   : "no fd");
	if (node->fd < 0)
		return false;
	struct stat st, path_st;
	bool same = fstat(node->fd, &st) == 0 && stat(node->path, &path_st) == 0 && st.st_rdev == path_st.st_rdev;
	step(same, step_name(name, sizeof(name), "receive-same-node", node), "the received fd is %s",
	     same ? node->path : "another file");
	return same;
}

/* The iommufd flow on the received fds, as a hypervisor given them runs it (vfio_probe's steps, in short). */
static void receiver_use_iommufd(int iommu, int cdev)
{
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = iommu};
	if (ioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0) {
		step(false, "bind-iommufd", "VFIO_DEVICE_BIND_IOMMUFD: %s (%s)", strerrorname_np(errno),
		     strerror(errno));
		return;
	}
	step(true, "bind-iommufd", "the cdev bound to the received iommufd, devid %u", bind.out_devid);
	struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
	if (ioctl(iommu, IOMMU_IOAS_ALLOC, &alloc) < 0) {
		step(false, "ioas-alloc", "IOMMU_IOAS_ALLOC: %s (%s)", strerrorname_np(errno), strerror(errno));
		return;
	}
	step(true, "ioas-alloc", "ioas %u", alloc.out_ioas_id);
	struct vfio_device_attach_iommufd_pt attach = {.argsz = sizeof(attach), .pt_id = alloc.out_ioas_id};
	if (ioctl(cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0) {
		step(false, "attach-ioas", "VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s (%s)", strerrorname_np(errno),
		     strerror(errno));
		return;
	}
	step(true, "attach-ioas", "ioas %u, page table %u", alloc.out_ioas_id, attach.pt_id);
	void *buffer = mmap(NULL, DMA_LENGTH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buffer == MAP_FAILED) {
		step(false, "ioas-map", "mmap: %s", strerror(errno));
		return;
	}
	memset(buffer, 0x5a, DMA_LENGTH);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = alloc.out_ioas_id,
		.user_va = (uintptr_t)buffer,
		.length = DMA_LENGTH,
		.iova = DMA_IOVA,
	};
	int r = ioctl(iommu, IOMMU_IOAS_MAP, &map);
	int saved = errno;
	step(r == 0, "ioas-map", "IOMMU_IOAS_MAP %u bytes at iova 0x%x: %s", DMA_LENGTH, DMA_IOVA,
	     r == 0 ? "mapped" : strerrorname_np(saved));
	munmap(buffer, DMA_LENGTH);
}

static void receiver(int socket, struct handover *handover, const char *profile, bool expect_received,
		     bool path_allowed)
{
	if (aa_change_profile(profile) < 0) {
		step(false, "receiver-confine", "aa_change_profile(%s): %s", profile, strerror(errno));
		return;
	}
	char *label = NULL;
	bool confined = aa_getcon(&label, NULL) >= 0 && strcmp(label, profile) == 0;
	step(confined, "receiver-confine", "the receiver runs as %s", label ? label : "?");
	free(label);

	for (int i = 0; i < handover->count; i++)
		receiver_open(&handover->node[i], profile, path_allowed);

	char ready = 'r';
	if (write(socket, &ready, 1) != 1) {
		step(false, "receive", "cannot tell the opener: %s", strerror(errno));
		return;
	}
	bool all = true;
	for (int i = 0; i < handover->count; i++)
		all &= receiver_receive(socket, &handover->node[i], expect_received);
	if (expect_received && all) {
		if (handover->iommufd) {
			receiver_use_iommufd(handover->node[0].fd, handover->node[1].fd);
		} else {
			struct vfio_group_status status = {.argsz = sizeof(status)};
			int r = ioctl(handover->node[0].fd, VFIO_GROUP_GET_STATUS, &status);
			step(r == 0, "use-fd", "VFIO_GROUP_GET_STATUS: %s", r == 0 ? "flags read" : strerror(errno));
		}
	}
	for (int i = 0; i < handover->count; i++)
		if (handover->node[i].fd >= 0)
			close(handover->node[i].fd);
}

/* The opener's side: confine itself by @profile when given, open each node, send each fd in its own message. */
static void opener(int socket, const struct handover *handover, const char *profile)
{
	if (profile) {
		int r = aa_change_profile(profile);
		step(r == 0, "opener-confine", "the opener runs as %s%s%s", profile, r ? ": " : "",
		     r ? strerror(errno) : "");
	}
	for (int i = 0; i < handover->count; i++) {
		const struct handover_node *node = &handover->node[i];
		char name[64];
		int fd = open(node->path, O_RDWR | O_CLOEXEC);
		step(fd >= 0, step_name(name, sizeof(name), "opener-open", node), "open(%s) by the %s opener: %s",
		     node->path, profile ? "confined" : "unconfined", fd >= 0 ? "opened" : strerror(errno));
		/* Without this fd the receiver gets end of file for the rest: it must not take a later node's. */
		if (fd < 0)
			return;
		int r = send_fd(socket, fd);
		int saved = errno;
		close(fd);
		if (r < 0) {
			step(false, step_name(name, sizeof(name), "opener-send", node), "sendmsg: %s", strerror(saved));
			return;
		}
	}
}

static int run_handover(int argc, char **argv)
{
	const char *group = NULL, *iommu = NULL, *cdev = NULL;
	const char *receiver_profile = NULL, *opener_profile = NULL, *expect = NULL;
	bool path_allowed = false;
	static const struct option options[] = {
		{"group", required_argument, NULL, 'g'},  {"iommu", required_argument, NULL, 'i'},
		{"cdev", required_argument, NULL, 'c'},   {"receiver", required_argument, NULL, 'r'},
		{"opener", required_argument, NULL, 'o'}, {"expect", required_argument, NULL, 'e'},
		{"path-allowed", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0},
	};
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'g':
			group = optarg;
			break;
		case 'i':
			iommu = optarg;
			break;
		case 'c':
			cdev = optarg;
			break;
		case 'r':
			receiver_profile = optarg;
			break;
		case 'o':
			opener_profile = optarg;
			break;
		case 'e':
			expect = optarg;
			break;
		case 'a':
			path_allowed = true;
			break;
		default:
			return 2;
		}
	}
	/* Either the legacy group alone or the iommufd pair. */
	bool nodes_ok = group ? !iommu && !cdev : iommu && cdev;
	if (!nodes_ok || !receiver_profile || !expect ||
	    (strcmp(expect, "received") != 0 && strcmp(expect, "refused") != 0)) {
		fprintf(stderr, "aa_run handover --group PATH | --iommu PATH --cdev PATH --receiver PROFILE "
				"[--opener PROFILE] --expect received|refused [--path-allowed]\n");
		return 2;
	}
	struct handover handover = {.iommufd = group == NULL};
	if (group) {
		handover.node[handover.count++] = (struct handover_node){.name = "", .path = group, .fd = -1};
	} else {
		handover.node[handover.count++] = (struct handover_node){.name = "iommu", .path = iommu, .fd = -1};
		handover.node[handover.count++] = (struct handover_node){.name = "cdev", .path = cdev, .fd = -1};
	}

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return perror("aa_run: socketpair"), 1;
	pid_t pid = fork();
	if (pid < 0)
		return perror("aa_run: fork"), 1;
	if (pid == 0) {
		close(sv[0]);
		receiver(sv[1], &handover, receiver_profile, strcmp(expect, "received") == 0, path_allowed);
		_exit(failures ? 1 : 0);
	}
	close(sv[1]);
	char ready;
	if (read(sv[0], &ready, 1) != 1)
		step(false, "opener-open", "the receiver never got ready");
	else
		opener(sv[0], &handover, opener_profile);
	close(sv[0]);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failures++;
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "exec") == 0)
		return run_exec(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "handover") == 0)
		return run_handover(argc, argv);
	fprintf(stderr, "usage: aa_run exec PROFILE PROGRAM [ARGS...]\n"
			"       aa_run handover --group PATH | --iommu PATH --cdev PATH --receiver PROFILE "
			"[--opener PROFILE] --expect received|refused [--path-allowed]\n");
	return 2;
}
