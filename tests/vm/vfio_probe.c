/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio_probe: open the VFIO nodes it is given, the way a hypervisor would,
 * and walk the kernel's VFIO flow one ioctl at a time. It runs inside the VM
 * suite's guest, where the nodes are real; each step prints one line on
 * standard output in the suite's check protocol (tests/vm/README.md):
 *
 *   ok STEP what the kernel answered
 *   FAIL STEP what went wrong
 *
 * The flow is a chain (each step needs the fds of the ones before), so after
 * a failure the remaining steps are still printed, as FAIL "not reached": a
 * caller always sees every step it expects.
 *
 * Instead of opening the nodes it can take them the way a hypervisor given
 * fds does: inherited (--fd NODE=N, from `vfguard exec`) or received by
 * SCM_RIGHTS (--recv-socket PATH, from `vfguard fds`); the open steps then
 * become have-NODE and check the fd is a character device.
 */
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "uuid_bytes.h"
#include "vfio_uapi.h"

/* One page, at an IOVA far from the x86 MSI window (0xfee00000): both backends accept it. */
#define DMA_IOVA 0x100000u
#define DMA_LENGTH 4096u

enum node { NODE_CONTAINER, NODE_GROUP, NODE_IOMMU, NODE_CDEV, NODE_COUNT };
static const char *const node_names[NODE_COUNT] = {"container", "group", "iommu", "cdev"};

struct probe {
	const char *path[NODE_COUNT];
	int fd[NODE_COUNT];
	/* What open(2) of each node must fail with; 0: it must succeed. */
	int expected_errno[NODE_COUNT];
	bool open_only;
	/* What IOMMU_OPTION set RLIMIT_MODE must fail with (EPERM without CAP_SYS_RESOURCE); 0: succeed. */
	int rlimit_set_errno;
	const char *device_name; /* legacy: what VFIO_GROUP_GET_DEVICE_FD looks up */
	const char *vf_token; /* a VF token: in the device name (group) or the bind flag (cdev) */
	char device_name_with_token[128];
	/* What the DMA map must fail with (ENOMEM under a small RLIMIT_MEMLOCK); 0: succeed. */
	int map_errno;
	/*
	 * What getting the device must fail with (VFIO_GROUP_GET_DEVICE_FD, or
	 * VFIO_DEVICE_BIND_IOMMUFD on the cdev): EACCES for a VF without the
	 * token its vfio-pci PF set; 0: succeed. Once refused so, the flow ends.
	 */
	int device_errno;
	/*
	 * --not-viable: the group must read as not viable and the container must
	 * refuse it with EPERM (iommu_group_claim_dma_owner(), drivers/iommu/iommu.c,
	 * while a bound driver without driver_managed_dma counts in the group);
	 * the flow ends there.
	 */
	bool not_viable;
	bool done;
	/* Before the DMA map: create PATH.waiting (holding the pid), then wait until PATH exists. */
	const char *pause_before_map;
	/* --device-fd-only: legacy, before that pause, close the group and container fds and keep the device's. */
	bool device_fd_only;
	/* What IOMMU_OPTION get RLIMIT_MODE must read on the iommufd (1 when vfguard set it); 0 by default. */
	unsigned long expect_rlimit_mode;
	bool given[NODE_COUNT]; /* the fd came inherited or received, not opened here */
	int device_fd;
	uint32_t ioas_id;
	void *dma_buffer;
	char message[512];
};

struct step {
	const char *name;
	int (*run)(struct probe *probe); /* NULL: the step opens @node */
	enum node node;
};

static int say(struct probe *probe, const char *format, ...) __attribute__((format(printf, 2, 3)));
static int say(struct probe *probe, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(probe->message, sizeof(probe->message), format, args);
	va_end(args);
	return 0;
}

/* Fill the message and fail; errno names the kernel's answer when @error is set. */
static int fail(struct probe *probe, int error, const char *format, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct probe *probe, int error, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	int length = vsnprintf(probe->message, sizeof(probe->message), format, args);
	va_end(args);
	if (error && length >= 0 && (size_t)length < sizeof(probe->message))
		snprintf(probe->message + length, sizeof(probe->message) - (size_t)length, ": %s (%s)",
			 strerrorname_np(error) ? strerrorname_np(error) : "?", strerror(error));
	return -1;
}

static const char *errno_name(int error)
{
	const char *name = strerrorname_np(error);
	return name ? name : "?";
}

/*
 * --device-errno, --not-viable: the ioctl (its errno still in errno when it
 * failed) must have been refused with exactly @expected; then the flow is
 * over (probe->done), as the user's would be.
 */
static int refused(struct probe *probe, int expected, bool succeeded, const char *format, ...)
	__attribute__((format(printf, 4, 5)));
static int refused(struct probe *probe, int expected, bool succeeded, const char *format, ...)
{
	int error = errno;
	char what[256];
	va_list args;
	va_start(args, format);
	vsnprintf(what, sizeof(what), format, args);
	va_end(args);
	probe->done = true;
	if (succeeded)
		return fail(probe, 0, "%s succeeded, expected %s", what, errno_name(expected));
	if (error != expected)
		return fail(probe, error, "%s, expected %s", what, errno_name(expected));
	return say(probe, "%s refused: %s as expected", what, errno_name(error));
}

/* An fd from the caller must be a character device, read-write. */
static int check_given_fd(struct probe *probe, enum node node)
{
	struct stat st;
	int fd = probe->fd[node];
	if (fd < 0)
		return fail(probe, 0, "no %s fd was given", node_names[node]);
	if (fstat(fd, &st) < 0)
		return fail(probe, errno, "fd %d", fd);
	if (!S_ISCHR(st.st_mode))
		return fail(probe, 0, "fd %d is not a character device", fd);
	if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR)
		return fail(probe, 0, "fd %d is not open read-write", fd);
	return say(probe, "fd %d, char %u:%u", fd, major(st.st_rdev), minor(st.st_rdev));
}

static int open_node(struct probe *probe, enum node node)
{
	if (probe->given[node])
		return check_given_fd(probe, node);
	const char *path = probe->path[node];
	int expected = probe->expected_errno[node];
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int error = fd < 0 ? errno : 0;
	probe->fd[node] = fd;
	if (error == expected && !error)
		return say(probe, "%s", path);
	if (error == expected)
		return say(probe, "%s: %s, as expected", path, errno_name(error));
	if (!expected)
		return fail(probe, error, "open %s", path);
	if (!error)
		return fail(probe, 0, "%s opened, expected %s", path, errno_name(expected));
	return fail(probe, error, "open %s: expected %s, got", path, errno_name(expected));
}

static int step_get_api_version(struct probe *probe)
{
	int version = ioctl(probe->fd[NODE_CONTAINER], VFIO_GET_API_VERSION);
	if (version < 0)
		return fail(probe, errno, "VFIO_GET_API_VERSION");
	if (version != VFIO_API_VERSION)
		return fail(probe, 0, "version %d, this program knows %d", version, VFIO_API_VERSION);
	return say(probe, "version %d", version);
}

static int step_check_extension_type1v2(struct probe *probe)
{
	int present = ioctl(probe->fd[NODE_CONTAINER], VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU);
	if (present < 0)
		return fail(probe, errno, "VFIO_CHECK_EXTENSION");
	if (present == 0)
		return fail(probe, 0, "no IOMMU driver offers VFIO_TYPE1v2_IOMMU (is vfio_iommu_type1 loaded?)");
	return say(probe, "VFIO_TYPE1v2_IOMMU supported");
}

static int step_group_get_status(struct probe *probe)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	if (ioctl(probe->fd[NODE_GROUP], VFIO_GROUP_GET_STATUS, &status) < 0)
		return fail(probe, errno, "VFIO_GROUP_GET_STATUS");
	bool viable = status.flags & VFIO_GROUP_FLAGS_VIABLE;
	if (probe->not_viable && viable)
		return fail(probe, 0, "group viable (flags 0x%x), expected not viable", status.flags);
	if (probe->not_viable)
		return say(probe, "not viable (flags 0x%x), as expected", status.flags);
	if (!viable)
		return fail(probe, 0, "group not viable (flags 0x%x): a member is bound to a host driver",
			    status.flags);
	return say(probe, "viable (flags 0x%x)", status.flags);
}

static int step_group_set_container(struct probe *probe)
{
	int r = ioctl(probe->fd[NODE_GROUP], VFIO_GROUP_SET_CONTAINER, &probe->fd[NODE_CONTAINER]);
	if (probe->not_viable)
		return refused(probe, EPERM, r == 0, "VFIO_GROUP_SET_CONTAINER");
	if (r < 0)
		return fail(probe, errno, "VFIO_GROUP_SET_CONTAINER");
	return say(probe, "group in the container");
}

static int step_set_iommu_type1v2(struct probe *probe)
{
	if (ioctl(probe->fd[NODE_CONTAINER], VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return fail(probe, errno, "VFIO_SET_IOMMU VFIO_TYPE1v2_IOMMU");
	return say(probe, "type1v2");
}

static int step_group_get_device_fd(struct probe *probe)
{
	if (probe->vf_token) {
		/* vfio_pci_core_match(): "<bdf> vf_token=<uuid>" names the device and carries the token. */
		snprintf(probe->device_name_with_token, sizeof(probe->device_name_with_token), "%s%s%s",
			 probe->device_name, VFG_VFIO_VF_TOKEN_ARG, probe->vf_token);
		probe->device_name = probe->device_name_with_token;
	}
	probe->device_fd = ioctl(probe->fd[NODE_GROUP], VFIO_GROUP_GET_DEVICE_FD, probe->device_name);
	if (probe->device_errno)
		return refused(probe, probe->device_errno, probe->device_fd >= 0, "VFIO_GROUP_GET_DEVICE_FD %s",
			       probe->device_name);
	if (probe->device_fd < 0)
		return fail(probe, errno, "VFIO_GROUP_GET_DEVICE_FD %s", probe->device_name);
	return say(probe, "%s", probe->device_name);
}

static int step_device_get_info(struct probe *probe)
{
	struct vfio_device_info info = {.argsz = sizeof(info)};
	if (ioctl(probe->device_fd, VFIO_DEVICE_GET_INFO, &info) < 0)
		return fail(probe, errno, "VFIO_DEVICE_GET_INFO");
	if (!(info.flags & VFIO_DEVICE_FLAGS_PCI))
		return fail(probe, 0, "flags 0x%x lack VFIO_DEVICE_FLAGS_PCI", info.flags);
	return say(probe, "pci, flags 0x%x, %u regions, %u irqs", info.flags, info.num_regions, info.num_irqs);
}

static void *dma_buffer(struct probe *probe)
{
	if (!probe->dma_buffer) {
		void *buffer = mmap(NULL, DMA_LENGTH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (buffer == MAP_FAILED)
			return NULL;
		memset(buffer, 0x5a, DMA_LENGTH);
		probe->dma_buffer = buffer;
	}
	return probe->dma_buffer;
}

/* --pause-before-map: say so with PATH.waiting, then wait for PATH (another scenario step makes it). */
static int pause_before_map(struct probe *probe)
{
	if (!probe->pause_before_map)
		return 0;
	/*
	 * The device fd alone in /proc/PID/fd: the kernel keeps the group open
	 * for it all the same (a device file holds its group's file,
	 * drivers/vfio/group.c, 6.12), which /proc does not show.
	 */
	if (probe->device_fd_only) {
		if (probe->device_fd < 0)
			return fail(probe, 0, "--device-fd-only: no device fd to keep");
		close(probe->fd[NODE_GROUP]);
		close(probe->fd[NODE_CONTAINER]);
		probe->fd[NODE_GROUP] = probe->fd[NODE_CONTAINER] = -1;
	}
	char waiting[512];
	snprintf(waiting, sizeof(waiting), "%s.waiting", probe->pause_before_map);
	FILE *f = fopen(waiting, "w");
	if (!f)
		return fail(probe, errno, "create %s", waiting);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	const struct timespec tick = {.tv_nsec = 20 * 1000 * 1000};
	for (int i = 0; i < 60 * 50; i++) {
		if (access(probe->pause_before_map, F_OK) == 0)
			return 0;
		nanosleep(&tick, NULL);
	}
	return fail(probe, 0, "%s did not appear within 60 s", probe->pause_before_map);
}

/* The map's result against --map-errno. */
static int map_result(struct probe *probe, int r, const char *what)
{
	int error = r < 0 ? errno : 0;
	if (error == probe->map_errno && !error)
		return say(probe, "%u bytes at iova 0x%x", DMA_LENGTH, DMA_IOVA);
	if (error == probe->map_errno)
		return say(probe, "%s refused: %s, as expected", what, errno_name(error));
	if (!probe->map_errno)
		return fail(probe, error, "%s", what);
	if (!error)
		return fail(probe, 0, "%s succeeded, expected %s", what, errno_name(probe->map_errno));
	return fail(probe, error, "%s: expected %s, got", what, errno_name(probe->map_errno));
}

static int step_iommu_map_dma(struct probe *probe)
{
	if (pause_before_map(probe) < 0)
		return -1;
	void *buffer = dma_buffer(probe);
	if (!buffer)
		return fail(probe, errno, "mmap");
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)buffer,
		.iova = DMA_IOVA,
		.size = DMA_LENGTH,
	};
	return map_result(probe, ioctl(probe->fd[NODE_CONTAINER], VFIO_IOMMU_MAP_DMA, &map), "VFIO_IOMMU_MAP_DMA");
}

static int iommufd_option(struct probe *probe, uint16_t op, uint64_t *value)
{
	struct iommu_option option = {
		.size = sizeof(option),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = op,
		.object_id = 0, /* RLIMIT_MODE is an option of the iommufd itself */
		.val64 = *value,
	};
	if (ioctl(probe->fd[NODE_IOMMU], IOMMU_OPTION, &option) < 0)
		return -errno;
	*value = option.val64;
	return 0;
}

static int step_rlimit_mode_get(struct probe *probe)
{
	uint64_t mode = 0;
	int r = iommufd_option(probe, IOMMU_OPTION_OP_GET, &mode);
	if (r < 0)
		return fail(probe, -r, "IOMMU_OPTION get RLIMIT_MODE");
	/* A new iommufd charges pinned pages to the user until told otherwise; vfguard's says per process. */
	if (mode != probe->expect_rlimit_mode)
		return fail(probe, 0, "RLIMIT_MODE %" PRIu64 ", expected %lu", mode, probe->expect_rlimit_mode);
	return say(probe, "%" PRIu64 " (%s)", mode, mode ? "per process" : "per user");
}

static int step_rlimit_mode_set(struct probe *probe)
{
	uint64_t mode = 1;
	int r = iommufd_option(probe, IOMMU_OPTION_OP_SET, &mode);
	if (probe->rlimit_set_errno) {
		/* iommufd_option_rlimit_mode() (drivers/iommu/iommufd/main.c) wants CAP_SYS_RESOURCE */
		if (r == -probe->rlimit_set_errno)
			return say(probe, "set refused: %s, as expected", strerror(-r));
		return r < 0 ? fail(probe, -r, "IOMMU_OPTION set RLIMIT_MODE 1: expected %s",
				    strerror(probe->rlimit_set_errno))
			     : fail(probe, 0, "IOMMU_OPTION set RLIMIT_MODE 1 succeeded, expected %s",
				    strerror(probe->rlimit_set_errno));
	}
	if (r < 0)
		return fail(probe, -r, "IOMMU_OPTION set RLIMIT_MODE 1");
	mode = 0;
	r = iommufd_option(probe, IOMMU_OPTION_OP_GET, &mode);
	if (r < 0)
		return fail(probe, -r, "IOMMU_OPTION get RLIMIT_MODE after set");
	if (mode != 1)
		return fail(probe, 0, "set 1, read back %" PRIu64, mode);
	return say(probe, "set 1 (per process), read back 1");
}

static int step_bind_iommufd(struct probe *probe)
{
	/* Linux >= 6.17 reads a VF token with VFIO_DEVICE_BIND_FLAG_TOKEN; older kernels refuse the flag (EINVAL). */
	unsigned char token[16] = {0};
	struct vfg_vfio_device_bind_iommufd_token bind = {.argsz = sizeof(struct vfio_device_bind_iommufd),
							  .iommufd = probe->fd[NODE_IOMMU]};
	if (probe->vf_token) {
		if (uuid_bytes(probe->vf_token, token) < 0)
			return fail(probe, 0, "--vf-token %s: not a UUID", probe->vf_token);
		bind.argsz = sizeof(bind);
		bind.flags = VFIO_DEVICE_BIND_FLAG_TOKEN;
		bind.token_uuid_ptr = (uintptr_t)token;
	}
	int r = ioctl(probe->fd[NODE_CDEV], VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (probe->device_errno)
		return refused(probe, probe->device_errno, r == 0, "VFIO_DEVICE_BIND_IOMMUFD%s",
			       probe->vf_token ? " with a VF token" : "");
	if (r < 0)
		return fail(probe, errno, "VFIO_DEVICE_BIND_IOMMUFD%s", probe->vf_token ? " with a VF token" : "");
	/* Once bound, the cdev fd is the device fd. */
	probe->device_fd = probe->fd[NODE_CDEV];
	return say(probe, "devid %u", bind.out_devid);
}

static int step_ioas_alloc(struct probe *probe)
{
	struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
	if (ioctl(probe->fd[NODE_IOMMU], IOMMU_IOAS_ALLOC, &alloc) < 0)
		return fail(probe, errno, "IOMMU_IOAS_ALLOC");
	probe->ioas_id = alloc.out_ioas_id;
	return say(probe, "ioas %u", alloc.out_ioas_id);
}

static int step_attach_ioas(struct probe *probe)
{
	struct vfio_device_attach_iommufd_pt attach = {.argsz = sizeof(attach), .pt_id = probe->ioas_id};
	if (ioctl(probe->fd[NODE_CDEV], VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
		return fail(probe, errno, "VFIO_DEVICE_ATTACH_IOMMUFD_PT ioas %u", probe->ioas_id);
	/* Given an IOAS, the kernel makes a page table for it and answers with its id. */
	return say(probe, "ioas %u, page table %u", probe->ioas_id, attach.pt_id);
}

static int step_ioas_map(struct probe *probe)
{
	if (pause_before_map(probe) < 0)
		return -1;
	void *buffer = dma_buffer(probe);
	if (!buffer)
		return fail(probe, errno, "mmap");
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = probe->ioas_id,
		.user_va = (uintptr_t)buffer,
		.length = DMA_LENGTH,
		.iova = DMA_IOVA,
	};
	return map_result(probe, ioctl(probe->fd[NODE_IOMMU], IOMMU_IOAS_MAP, &map), "IOMMU_IOAS_MAP");
}

static const struct step legacy_steps[] = {
	{"open-container", .node = NODE_CONTAINER},
	{"get-api-version", .run = step_get_api_version},
	{"check-extension-type1v2", .run = step_check_extension_type1v2},
	{"open-group", .node = NODE_GROUP},
	{"group-get-status", .run = step_group_get_status},
	{"group-set-container", .run = step_group_set_container},
	{"set-iommu-type1v2", .run = step_set_iommu_type1v2},
	{"group-get-device-fd", .run = step_group_get_device_fd},
	{"device-get-info", .run = step_device_get_info},
	{"iommu-map-dma", .run = step_iommu_map_dma},
	{NULL},
};

static const struct step iommufd_steps[] = {
	{"open-iommu", .node = NODE_IOMMU},
	{"rlimit-mode-get", .run = step_rlimit_mode_get},
	{"rlimit-mode-set", .run = step_rlimit_mode_set},
	{"open-cdev", .node = NODE_CDEV},
	{"bind-iommufd", .run = step_bind_iommufd},
	{"ioas-alloc", .run = step_ioas_alloc},
	{"attach-ioas", .run = step_attach_ioas},
	{"ioas-map", .run = step_ioas_map},
	{"device-get-info", .run = step_device_get_info},
	{NULL},
};

/*
 * Every step prints its line. In the full flow a failure stops the chain;
 * the opens alone are independent, so each is tried.
 */
static bool run_steps(struct probe *probe, const struct step *steps)
{
	const char *failed = NULL;
	for (const struct step *step = steps; step->name; step++) {
		char name[64];
		if (!step->run && probe->given[step->node])
			snprintf(name, sizeof(name), "have-%s", node_names[step->node]);
		else
			snprintf(name, sizeof(name), "%s", step->name);
		if (probe->open_only && step->run)
			continue;
		if (failed && !probe->open_only) {
			printf("FAIL %s not reached: %s failed\n", name, failed);
			continue;
		}
		probe->message[0] = '\0';
		if ((step->run ? step->run(probe) : open_node(probe, step->node)) < 0) {
			printf("FAIL %s %s\n", name, probe->message);
			failed = failed ? failed : step->name;
		} else {
			printf("ok %s %s\n", name, probe->message);
		}
		if (probe->done)
			break;
	}
	return !failed;
}

/* vfguard's kind names (vfg_node_kind_name) to this program's nodes. */
static int node_of_kind(const char *kind)
{
	static const char *const kinds[NODE_COUNT] = {"container", "group", "iommufd", "cdev"};
	for (int node = 0; node < NODE_COUNT; node++)
		if (strcmp(kinds[node], kind) == 0)
			return node;
	return -1;
}

/* connect(2), again while vfguard has not made the socket yet (ENOENT) or does not listen yet. */
static int connect_socket(const char *path)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(address.sun_path))
		return errno = ENAMETOOLONG, -1;
	memcpy(address.sun_path, path, strlen(path) + 1);
	const struct timespec tick = {.tv_nsec = 20 * 1000 * 1000};
	for (int i = 0; i < 30 * 50; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0)
			return fd;
		int error = errno;
		close(fd);
		if (error != ENOENT && error != ECONNREFUSED)
			return errno = error, -1;
		nanosleep(&tick, NULL);
	}
	return errno = ETIMEDOUT, -1;
}

/*
 * --recv-socket: connect as the hypervisor would and take the fds vfguard
 * sends in one SCM_RIGHTS message, with their description (docs/fds.md):
 * "fd INDEX KIND PATH" lines say which is which. One line, recv-fds.
 */
/* One message from `vfguard fds`: its text, its control data, its flags. */
struct fds_message {
	char text[8192];
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} control;
	struct iovec iov;
	struct msghdr header;
	ssize_t length;
};

/* Connect to @path and take one message into @m; a failure is step @step's FAIL line. */
static bool receive_message(const char *step, const char *path, struct fds_message *m)
{
	memset(m, 0, sizeof(*m));
	int sock = connect_socket(path);
	if (sock < 0) {
		printf("FAIL %s connect %s: %s (%s)\n", step, path, errno_name(errno), strerror(errno));
		return false;
	}
	m->iov = (struct iovec){.iov_base = m->text, .iov_len = sizeof(m->text) - 1};
	m->header = (struct msghdr){.msg_iov = &m->iov,
				    .msg_iovlen = 1,
				    .msg_control = m->control.buf,
				    .msg_controllen = sizeof(m->control.buf)};
	m->length = recvmsg(sock, &m->header, MSG_CMSG_CLOEXEC);
	int error = errno;
	close(sock);
	if (m->length < 0) {
		printf("FAIL %s recvmsg: %s (%s)\n", step, errno_name(error), strerror(error));
		return false;
	}
	return true;
}

static bool receive_fds(struct probe *probe, const char *path)
{
	static struct fds_message m;
	if (!receive_message("recv-fds", path, &m))
		return false;
	struct msghdr message = m.header;
	ssize_t length = m.length;
	char *text = m.text;
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) {
		printf("FAIL recv-fds no fds came (%zd bytes): refused?\n", length);
		return false;
	}
	int n_fds = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	const int *fds = (const int *)CMSG_DATA(cmsg);
	char accounting[32] = "?";
	int described = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		int index, node;
		char kind[32];
		if (sscanf(line, "accounting %31s", accounting) == 1)
			continue;
		if (sscanf(line, "fd %d %31s", &index, kind) != 2)
			continue;
		if (index < 0 || index >= n_fds || (node = node_of_kind(kind)) < 0) {
			printf("FAIL recv-fds bad description line '%s' for %d fds\n", line, n_fds);
			return false;
		}
		probe->fd[node] = fds[index];
		probe->given[node] = true;
		described++;
	}
	if (described != n_fds) {
		printf("FAIL recv-fds %d fds, %d described\n", n_fds, described);
		return false;
	}
	printf("ok recv-fds %d fds by SCM_RIGHTS from %s, accounting %s\n", n_fds, path, accounting);
	return true;
}

/*
 * --recv-refused: the fds must be refused at receive. SELinux checks each
 * passed file when it is received (selinux_file_receive() -> file_has_perm(),
 * security/selinux/hooks.c); a refusal stops scm_detach_fds() (net/core/scm.c,
 * Linux 6.12) before that fd: it and the ones after it are not installed,
 * MSG_CTRUNC says so, and recvmsg itself succeeds (the errno never reaches
 * the receiver). So: recvmsg ok, the description came, no fd, MSG_CTRUNC.
 */
static bool receive_refused(const char *path)
{
	static struct fds_message m;
	if (!receive_message("recv-refused", path, &m))
		return false;
	struct msghdr message = m.header;
	ssize_t length = m.length;
	const char *text = m.text;
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
	int n_fds = cmsg && cmsg->cmsg_type == SCM_RIGHTS ? (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int)) : 0;
	bool truncated = message.msg_flags & MSG_CTRUNC;
	bool described = strstr(text, "\nfd 0 ") != NULL;
	if (n_fds == 0 && truncated && described) {
		printf("ok recv-refused the description came (%zd bytes), no fd was installed, MSG_CTRUNC\n", length);
		return true;
	}
	printf("FAIL recv-refused %d fds installed, MSG_CTRUNC %s, description %s\n", n_fds,
	       truncated ? "set" : "clear", described ? "came" : "missing");
	for (int i = 0; i < n_fds; i++)
		close(((const int *)CMSG_DATA(cmsg))[i]);
	return false;
}

/*
 * --expect-label CONTEXT: every fd it was given is a private node's
 * (docs/private-nodes.md): its file was unlinked (the /proc/self/fd link
 * ends in " (deleted)", fs/d_path.c) and its inode carries CONTEXT, which is
 * the label SELinux checks on it. One line per node, fd-label-NODE.
 */
static bool check_fd_labels(const struct probe *probe, const char *expected)
{
	bool ok = true;
	for (int node = 0; node < NODE_COUNT; node++) {
		if (!probe->given[node])
			continue;
		char proc[64], link[4096], label[512];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", probe->fd[node]);
		ssize_t n = readlink(proc, link, sizeof(link) - 1);
		link[n < 0 ? 0 : n] = '\0';
		ssize_t size = fgetxattr(probe->fd[node], "security.selinux", label, sizeof(label) - 1);
		int error = errno;
		label[size < 0 ? 0 : size] = '\0';
		const char *suffix = " (deleted)";
		bool unlinked = n > (ssize_t)strlen(suffix) && strcmp(link + n - strlen(suffix), suffix) == 0;
		if (size <= 0) {
			printf("FAIL fd-label-%s %s: no label read: %s\n", node_names[node], link,
			       size < 0 ? errno_name(error) : "empty");
			ok = false;
		} else if (strcmp(label, expected) != 0 || !unlinked) {
			printf("FAIL fd-label-%s %s carries %s, expected %s on an unlinked private node\n",
			       node_names[node], link, label, expected);
			ok = false;
		} else {
			printf("ok fd-label-%s %s carries %s\n", node_names[node], link, label);
		}
	}
	return ok;
}

/* --fd NODE=N: an inherited descriptor. */
static bool parse_given_fd(struct probe *probe, const char *argument)
{
	const char *equals = strchr(argument, '=');
	char *end;
	if (!equals)
		return false;
	for (int node = 0; node < NODE_COUNT; node++) {
		if (strlen(node_names[node]) == (size_t)(equals - argument) &&
		    strncmp(argument, node_names[node], (size_t)(equals - argument)) == 0) {
			long fd = strtol(equals + 1, &end, 10);
			if (!equals[1] || *end || fd < 0 || fd > 65535)
				return false;
			probe->fd[node] = (int)fd;
			probe->given[node] = true;
			return true;
		}
	}
	return false;
}

/* setgroups first: after setuid the process could no longer drop root's groups. */
static bool become_user(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		printf("FAIL become-user uid %u gid %u: %s (%s)\n", (unsigned)uid, (unsigned)gid, errno_name(errno),
		       strerror(errno));
		return false;
	}
	printf("ok become-user uid %u gid %u, no supplementary groups\n", (unsigned)uid, (unsigned)gid);
	return true;
}

static int parse_errno(const char *text)
{
	char *end;
	long number = strtol(text, &end, 10);
	if (*text && !*end && number > 0 && number < 4096)
		return (int)number;
	for (int error = 1; error < 4096; error++) {
		const char *name = strerrorname_np(error);
		if (name && strcmp(name, text) == 0)
			return error;
	}
	return -1;
}

static bool parse_open_errno(struct probe *probe, const char *argument)
{
	const char *equals = strchr(argument, '=');
	if (!equals)
		return false;
	for (int node = 0; node < NODE_COUNT; node++) {
		if (strlen(node_names[node]) == (size_t)(equals - argument) &&
		    strncmp(argument, node_names[node], (size_t)(equals - argument)) == 0) {
			probe->expected_errno[node] = parse_errno(equals + 1);
			return probe->expected_errno[node] > 0;
		}
	}
	return false;
}

static bool parse_id(const char *text, unsigned *id)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (!*text || *end || errno || value > UINT32_MAX - 1)
		return false;
	*id = (unsigned)value;
	return true;
}

/*
 * vfio_probe rlimit-mode PID FD: IOMMU_OPTION get RLIMIT_MODE on the iommufd
 * another process holds at FD (a real QEMU given it by `vfguard exec`),
 * through a copy of that fd taken with pidfd_getfd(2) (Linux 5.6; needs
 * ptrace access: root). One line: "ok rlimit-mode N" or "FAIL rlimit-mode ...".
 */
static int rlimit_mode_of(const char *pid_text, const char *fd_text)
{
	unsigned pid, fd;
	if (!parse_id(pid_text, &pid) || !parse_id(fd_text, &fd))
		return fprintf(stderr, "usage: vfio_probe rlimit-mode PID FD\n"), 2;
	int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
	int copy = pidfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0);
	if (copy < 0) {
		printf("FAIL rlimit-mode %s of pid %u: %s\n", pidfd < 0 ? "pidfd_open" : "pidfd_getfd", pid,
		       strerror(errno));
		return 1;
	}
	struct iommu_option option = {
		.size = sizeof(option),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_GET,
	};
	if (ioctl(copy, IOMMU_OPTION, &option) < 0) {
		printf("FAIL rlimit-mode IOMMU_OPTION get on fd %u of pid %u: %s\n", fd, pid, strerror(errno));
		return 1;
	}
	printf("ok rlimit-mode %" PRIu64 " (%s) on fd %u of pid %u\n", (uint64_t)option.val64,
	       option.val64 ? "per process" : "per user", fd, pid);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: vfio_probe legacy --container PATH --group PATH --device BDF [OPTIONS]\n"
		     "       vfio_probe iommufd --iommu PATH --cdev PATH [OPTIONS]\n"
		     "       vfio_probe rlimit-mode PID FD   (RLIMIT_MODE of the iommufd PID holds at FD)\n"
		     "Open the nodes and walk the VFIO flow, one line per step: \"ok STEP ...\" or \"FAIL STEP ...\".\n"
		     "  --device NAME               legacy: the device the group hands out: a BDF, or an mdev's UUID\n"
		     "  --uid UID, --gid GID        become this user (no supplementary groups) before opening\n"
		     "  --open-errno NODE=ERRNO     NODE (container, group, iommu, cdev) must fail to open with\n"
		     "                              ERRNO (EACCES, 13, ...); implies --open-only\n"
		     "  --open-only                 only open the nodes, no ioctls\n"
		     "  --rlimit-set-errno ERRNO    IOMMU_OPTION set RLIMIT_MODE must fail so (EPERM for a user\n"
		     "                              without CAP_SYS_RESOURCE)\n"
		     "  --expect-rlimit-mode N      IOMMU_OPTION get RLIMIT_MODE must read N (default 0)\n"
		     "  --recv-socket PATH          take the fds from `vfguard fds --socket PATH` (SCM_RIGHTS),\n"
		     "                              connecting after --uid/--gid; no path is opened\n"
		     "  --fd NODE=N                 use the inherited fd N for NODE instead of opening it\n"
		     "  --vf-token UUID             the VF token: in the device name (legacy) or the bind flag\n"
		     "  --memlock BYTES             set RLIMIT_MEMLOCK (soft and hard) before anything else\n"
		     "  --pause-before-map PATH     before the DMA map, write PATH.waiting (the pid) and wait\n"
		     "                              for PATH to exist (60 s at most)\n"
		     "  --device-fd-only            legacy, with --pause-before-map: close the group and container\n"
		     "                              fds before that pause, holding the device fd alone\n"
		     "  --map-errno ERRNO           the DMA map must fail so (ENOMEM under a small RLIMIT_MEMLOCK)\n"
		     "  --device-errno ERRNO        getting the device (group-get-device-fd, bind-iommufd) must\n"
		     "                              fail so (EACCES: a VF without its PF's token); the flow ends\n"
		     "  --not-viable                legacy: group-get-status must read not viable and\n"
		     "                              group-set-container fail with EPERM; the flow ends\n"
		     "  --recv-refused PATH         connect to PATH as --recv-socket does: the receive must install\n"
		     "                              no fd (MSG_CTRUNC: the receive check refused them); nothing else\n"
		     "  --expect-label CONTEXT      each given fd is an unlinked private node labeled CONTEXT\n"
		     "Exit status: 0 every step passed, 1 a step failed, 2 usage.\n");
}

int main(int argc, char **argv)
{
	enum {
		OPTION_CONTAINER = 256,
		OPTION_GROUP,
		OPTION_IOMMU,
		OPTION_CDEV,
		OPTION_DEVICE,
		OPTION_UID,
		OPTION_GID,
		OPTION_OPEN_ERRNO,
		OPTION_OPEN_ONLY,
		OPTION_DEVICE_FD_ONLY,
		OPTION_RLIMIT_SET_ERRNO,
		OPTION_EXPECT_RLIMIT_MODE,
		OPTION_RECV_SOCKET,
		OPTION_FD,
		OPTION_VF_TOKEN,
		OPTION_MEMLOCK,
		OPTION_PAUSE_BEFORE_MAP,
		OPTION_MAP_ERRNO,
		OPTION_DEVICE_ERRNO,
		OPTION_NOT_VIABLE,
		OPTION_RECV_REFUSED,
		OPTION_EXPECT_LABEL,
	};
	static const struct option options[] = {
		{"container", required_argument, NULL, OPTION_CONTAINER},
		{"group", required_argument, NULL, OPTION_GROUP},
		{"iommu", required_argument, NULL, OPTION_IOMMU},
		{"cdev", required_argument, NULL, OPTION_CDEV},
		{"device", required_argument, NULL, OPTION_DEVICE},
		{"uid", required_argument, NULL, OPTION_UID},
		{"gid", required_argument, NULL, OPTION_GID},
		{"open-errno", required_argument, NULL, OPTION_OPEN_ERRNO},
		{"open-only", no_argument, NULL, OPTION_OPEN_ONLY},
		{"rlimit-set-errno", required_argument, NULL, OPTION_RLIMIT_SET_ERRNO},
		{"expect-rlimit-mode", required_argument, NULL, OPTION_EXPECT_RLIMIT_MODE},
		{"recv-socket", required_argument, NULL, OPTION_RECV_SOCKET},
		{"fd", required_argument, NULL, OPTION_FD},
		{"vf-token", required_argument, NULL, OPTION_VF_TOKEN},
		{"memlock", required_argument, NULL, OPTION_MEMLOCK},
		{"pause-before-map", required_argument, NULL, OPTION_PAUSE_BEFORE_MAP},
		{"device-fd-only", no_argument, NULL, OPTION_DEVICE_FD_ONLY},
		{"map-errno", required_argument, NULL, OPTION_MAP_ERRNO},
		{"device-errno", required_argument, NULL, OPTION_DEVICE_ERRNO},
		{"not-viable", no_argument, NULL, OPTION_NOT_VIABLE},
		{"recv-refused", required_argument, NULL, OPTION_RECV_REFUSED},
		{"expect-label", required_argument, NULL, OPTION_EXPECT_LABEL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct probe probe = {.fd = {-1, -1, -1, -1}, .device_fd = -1};
	unsigned uid = 0, gid = 0;
	bool have_uid = false, have_gid = false;
	const char *recv_socket = NULL, *recv_refused = NULL, *expect_label = NULL;
	unsigned long long memlock = 0;
	bool have_memlock = false;
	char *end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && strcmp(argv[1], "rlimit-mode") == 0)
		return rlimit_mode_of(argv[2], argv[3]);
	if (argc < 2 || (strcmp(argv[1], "legacy") != 0 && strcmp(argv[1], "iommufd") != 0)) {
		usage(argc >= 2 && strcmp(argv[1], "--help") == 0 ? stdout : stderr);
		return argc >= 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	bool legacy = strcmp(argv[1], "legacy") == 0;
	int option;
	optind = 2;
	while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (option) {
		case OPTION_CONTAINER:
			probe.path[NODE_CONTAINER] = optarg;
			break;
		case OPTION_GROUP:
			probe.path[NODE_GROUP] = optarg;
			break;
		case OPTION_IOMMU:
			probe.path[NODE_IOMMU] = optarg;
			break;
		case OPTION_CDEV:
			probe.path[NODE_CDEV] = optarg;
			break;
		case OPTION_DEVICE:
			probe.device_name = optarg;
			break;
		case OPTION_UID:
			if (!parse_id(optarg, &uid))
				return fprintf(stderr, "vfio_probe: bad --uid '%s'\n", optarg), 2;
			have_uid = true;
			break;
		case OPTION_GID:
			if (!parse_id(optarg, &gid))
				return fprintf(stderr, "vfio_probe: bad --gid '%s'\n", optarg), 2;
			have_gid = true;
			break;
		case OPTION_OPEN_ERRNO:
			if (!parse_open_errno(&probe, optarg))
				return fprintf(stderr, "vfio_probe: --open-errno wants NODE=ERRNO, got '%s'\n", optarg),
				       2;
			probe.open_only = true;
			break;
		case OPTION_OPEN_ONLY:
			probe.open_only = true;
			break;
		case OPTION_RLIMIT_SET_ERRNO:
			probe.rlimit_set_errno = parse_errno(optarg);
			if (probe.rlimit_set_errno <= 0)
				return fprintf(stderr, "vfio_probe: bad --rlimit-set-errno '%s'\n", optarg), 2;
			break;
		case OPTION_EXPECT_RLIMIT_MODE:
			probe.expect_rlimit_mode = strtoul(optarg, &end, 10);
			if (!*optarg || *end || probe.expect_rlimit_mode > 1)
				return fprintf(stderr, "vfio_probe: bad --expect-rlimit-mode '%s'\n", optarg), 2;
			break;
		case OPTION_RECV_SOCKET:
			recv_socket = optarg;
			break;
		case OPTION_RECV_REFUSED:
			recv_refused = optarg;
			break;
		case OPTION_EXPECT_LABEL:
			expect_label = optarg;
			break;
		case OPTION_FD:
			if (!parse_given_fd(&probe, optarg))
				return fprintf(stderr, "vfio_probe: --fd wants NODE=N, got '%s'\n", optarg), 2;
			break;
		case OPTION_VF_TOKEN:
			probe.vf_token = optarg;
			break;
		case OPTION_MEMLOCK:
			errno = 0;
			memlock = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno)
				return fprintf(stderr, "vfio_probe: bad --memlock '%s'\n", optarg), 2;
			have_memlock = true;
			break;
		case OPTION_PAUSE_BEFORE_MAP:
			probe.pause_before_map = optarg;
			break;
		case OPTION_DEVICE_FD_ONLY:
			probe.device_fd_only = true;
			break;
		case OPTION_MAP_ERRNO:
			probe.map_errno = parse_errno(optarg);
			if (probe.map_errno <= 0)
				return fprintf(stderr, "vfio_probe: bad --map-errno '%s'\n", optarg), 2;
			break;
		case OPTION_DEVICE_ERRNO:
			probe.device_errno = parse_errno(optarg);
			if (probe.device_errno <= 0)
				return fprintf(stderr, "vfio_probe: bad --device-errno '%s'\n", optarg), 2;
			break;
		case OPTION_NOT_VIABLE:
			probe.not_viable = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vfio_probe: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (recv_refused) /* only the receive: nothing comes to walk the flow with */
		return receive_refused(recv_refused) ? 0 : 1;
#define HAVE(node) (probe.path[node] || probe.given[node] || recv_socket)
	bool complete = legacy ? HAVE(NODE_CONTAINER) && HAVE(NODE_GROUP) && probe.device_name
			       : HAVE(NODE_IOMMU) && HAVE(NODE_CDEV);
#undef HAVE
	if (!complete) {
		usage(stderr);
		return 2;
	}

	if (have_memlock) {
		struct rlimit limit = {.rlim_cur = memlock, .rlim_max = memlock};
		if (setrlimit(RLIMIT_MEMLOCK, &limit) < 0) {
			printf("FAIL set-memlock %llu: %s (%s)\n", memlock, errno_name(errno), strerror(errno));
			return 1;
		}
		printf("ok set-memlock RLIMIT_MEMLOCK %llu bytes\n", memlock);
	}
	if ((have_uid || have_gid) && !become_user(have_uid ? uid : 0, have_gid ? gid : (have_uid ? uid : 0)))
		return 1;
	if (recv_socket && !receive_fds(&probe, recv_socket))
		return 1;
	if (expect_label && !check_fd_labels(&probe, expect_label))
		return 1;
	return run_steps(&probe, legacy ? legacy_steps : iommufd_steps) ? 0 : 1;
}
