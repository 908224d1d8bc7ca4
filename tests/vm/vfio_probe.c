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
#include <unistd.h>

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

static int open_node(struct probe *probe, enum node node)
{
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
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return fail(probe, 0, "group not viable (flags 0x%x): a member is bound to a host driver",
			    status.flags);
	return say(probe, "viable (flags 0x%x)", status.flags);
}

static int step_group_set_container(struct probe *probe)
{
	if (ioctl(probe->fd[NODE_GROUP], VFIO_GROUP_SET_CONTAINER, &probe->fd[NODE_CONTAINER]) < 0)
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
	probe->device_fd = ioctl(probe->fd[NODE_GROUP], VFIO_GROUP_GET_DEVICE_FD, probe->device_name);
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

static int step_iommu_map_dma(struct probe *probe)
{
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
	if (ioctl(probe->fd[NODE_CONTAINER], VFIO_IOMMU_MAP_DMA, &map) < 0)
		return fail(probe, errno, "VFIO_IOMMU_MAP_DMA");
	return say(probe, "%u bytes at iova 0x%x", DMA_LENGTH, DMA_IOVA);
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
	/* A new iommufd charges pinned pages to the user until told otherwise. */
	if (mode != 0)
		return fail(probe, 0, "RLIMIT_MODE %" PRIu64 " on a new iommufd, expected 0", mode);
	return say(probe, "0 (per user)");
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
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = probe->fd[NODE_IOMMU]};
	if (ioctl(probe->fd[NODE_CDEV], VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return fail(probe, errno, "VFIO_DEVICE_BIND_IOMMUFD");
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
	if (ioctl(probe->fd[NODE_IOMMU], IOMMU_IOAS_MAP, &map) < 0)
		return fail(probe, errno, "IOMMU_IOAS_MAP");
	return say(probe, "%u bytes at iova 0x%" PRIx64, DMA_LENGTH, (uint64_t)map.iova);
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
		if (probe->open_only && step->run)
			continue;
		if (failed && !probe->open_only) {
			printf("FAIL %s not reached: %s failed\n", step->name, failed);
			continue;
		}
		probe->message[0] = '\0';
		if ((step->run ? step->run(probe) : open_node(probe, step->node)) < 0) {
			printf("FAIL %s %s\n", step->name, probe->message);
			failed = failed ? failed : step->name;
		} else {
			printf("ok %s %s\n", step->name, probe->message);
		}
	}
	return !failed;
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

static void usage(FILE *out)
{
	fprintf(out, "Usage: vfio_probe legacy --container PATH --group PATH --device BDF [OPTIONS]\n"
		     "       vfio_probe iommufd --iommu PATH --cdev PATH [OPTIONS]\n"
		     "Open the nodes and walk the VFIO flow, one line per step: \"ok STEP ...\" or \"FAIL STEP ...\".\n"
		     "  --uid UID, --gid GID        become this user (no supplementary groups) before opening\n"
		     "  --open-errno NODE=ERRNO     NODE (container, group, iommu, cdev) must fail to open with\n"
		     "                              ERRNO (EACCES, 13, ...); implies --open-only\n"
		     "  --open-only                 only open the nodes, no ioctls\n"
		     "  --rlimit-set-errno ERRNO    IOMMU_OPTION set RLIMIT_MODE must fail so (EPERM for a user\n"
		     "                              without CAP_SYS_RESOURCE)\n"
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
		OPTION_RLIMIT_SET_ERRNO,
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct probe probe = {.fd = {-1, -1, -1, -1}, .device_fd = -1};
	unsigned uid = 0, gid = 0;
	bool have_uid = false, have_gid = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
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
	bool complete = legacy ? probe.path[NODE_CONTAINER] && probe.path[NODE_GROUP] && probe.device_name
			       : probe.path[NODE_IOMMU] && probe.path[NODE_CDEV];
	if (!complete) {
		usage(stderr);
		return 2;
	}

	if ((have_uid || have_gid) && !become_user(have_uid ? uid : 0, have_gid ? gid : (have_uid ? uid : 0)))
		return 1;
	return run_steps(&probe, legacy ? legacy_steps : iommufd_steps) ? 0 : 1;
}
