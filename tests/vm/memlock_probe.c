/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * memlock_probe: a stand-in hypervisor for the VM suite's locked-memory
 * scenarios (tests/vm/README.md). As root it opens the VFIO nodes (as a
 * manager would for fd access), sets iommufd's per-process accounting while
 * it still may, lowers its own RLIMIT_MEMLOCK, and becomes another uid with
 * no capability (so no CAP_IPC_LOCK either). Then it sets up the container
 * or IOAS and tries a DMA map of its buffer, which the limit must refuse
 * with ENOMEM. It tells the scenario it is ready and waits while vfguard
 * raises its limit, maps again (now it must succeed), and waits once more
 * while vfguard takes the limit back.
 *
 * Each step prints "ok STEP message" or "FAIL STEP message"; after a failure
 * the remaining steps print as "not reached", and both waits still happen,
 * so the scenario is never left waiting.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
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
#include <unistd.h>

#include "vfio_uapi.h"

/* An IOVA far from the x86 MSI window (0xfee00000), as vfio_probe uses. */
#define DMA_IOVA 0x100000u

struct probe {
	bool legacy;
	const char *container_path, *group_path, *iommu_path, *cdev_path;
	int container, group, iommu, cdev;
	uint32_t ioas_id;
	uid_t uid;
	gid_t gid;
	uint64_t limit; /* RLIMIT_MEMLOCK the probe gives itself, soft and hard */
	uint64_t size; /* bytes to map */
	void *buffer;
	const char *ready_fifo, *go_fifo;
	const char *failed; /* the first step that failed */
	char message[512];
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

/* Run one step unless an earlier one failed; print its line. */
static void step(struct probe *probe, const char *name, int (*run)(struct probe *probe))
{
	if (probe->failed) {
		printf("FAIL %s not reached: %s failed\n", name, probe->failed);
		return;
	}
	probe->message[0] = '\0';
	if (run(probe) < 0) {
		printf("FAIL %s %s\n", name, probe->message);
		probe->failed = name;
	} else {
		printf("ok %s %s\n", name, probe->message);
	}
}

static int open_path(struct probe *probe, const char *path, int *fd)
{
	*fd = open(path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return fail(probe, errno, "open %s", path);
	return say(probe, "%s", path);
}

static int step_open_container(struct probe *probe)
{
	return open_path(probe, probe->container_path, &probe->container);
}

static int step_open_group(struct probe *probe)
{
	return open_path(probe, probe->group_path, &probe->group);
}

static int step_open_iommu(struct probe *probe)
{
	return open_path(probe, probe->iommu_path, &probe->iommu);
}

static int step_open_cdev(struct probe *probe)
{
	return open_path(probe, probe->cdev_path, &probe->cdev);
}

/* Per-process accounting, at once: it needs CAP_SYS_RESOURCE and an iommufd without objects (EBUSY after). */
static int step_rlimit_mode(struct probe *probe)
{
	struct iommu_option option = {
		.size = sizeof(option),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET,
		.val64 = 1,
	};
	if (ioctl(probe->iommu, IOMMU_OPTION, &option) < 0)
		return fail(probe, errno, "IOMMU_OPTION set RLIMIT_MODE 1");
	option.op = IOMMU_OPTION_OP_GET;
	option.val64 = 0;
	if (ioctl(probe->iommu, IOMMU_OPTION, &option) < 0)
		return fail(probe, errno, "IOMMU_OPTION get RLIMIT_MODE");
	if (option.val64 != 1)
		return fail(probe, 0, "set 1, read back %" PRIu64, (uint64_t)option.val64);
	return say(probe, "1 (pinned pages charged to this process), read back");
}

static int step_lower_limit(struct probe *probe)
{
	struct rlimit limit = {.rlim_cur = probe->limit, .rlim_max = probe->limit};
	if (setrlimit(RLIMIT_MEMLOCK, &limit) < 0)
		return fail(probe, errno, "setrlimit RLIMIT_MEMLOCK %" PRIu64, probe->limit);
	return say(probe, "RLIMIT_MEMLOCK %" PRIu64 ":%" PRIu64 " bytes", probe->limit, probe->limit);
}

/* setgroups first: after setuid the process could no longer drop root's groups. setuid drops every capability. */
static int step_drop_privileges(struct probe *probe)
{
	if (setgroups(0, NULL) < 0 || setgid(probe->gid) < 0 || setuid(probe->uid) < 0)
		return fail(probe, errno, "become uid %u gid %u", (unsigned)probe->uid, (unsigned)probe->gid);
	FILE *status = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long effective = ~0ull;
	while (status && fgets(line, sizeof(line), status))
		if (sscanf(line, "CapEff: %llx", &effective) == 1)
			break;
	if (status)
		fclose(status);
	if (effective != 0)
		return fail(probe, 0, "uid %u still has capabilities %llx", (unsigned)probe->uid, effective);
	return say(probe, "uid %u gid %u, no capabilities (CapEff 0)", (unsigned)probe->uid, (unsigned)probe->gid);
}

static int step_group_set_container(struct probe *probe)
{
	if (ioctl(probe->group, VFIO_GROUP_SET_CONTAINER, &probe->container) < 0)
		return fail(probe, errno, "VFIO_GROUP_SET_CONTAINER");
	return say(probe, "group in the container");
}

static int step_set_iommu(struct probe *probe)
{
	if (ioctl(probe->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		return fail(probe, errno, "VFIO_SET_IOMMU VFIO_TYPE1v2_IOMMU");
	return say(probe, "type1v2");
}

static int step_bind(struct probe *probe)
{
	struct vfio_device_bind_iommufd bind = {.argsz = sizeof(bind), .iommufd = probe->iommu};
	if (ioctl(probe->cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind) < 0)
		return fail(probe, errno, "VFIO_DEVICE_BIND_IOMMUFD");
	return say(probe, "devid %u", bind.out_devid);
}

static int step_ioas_alloc(struct probe *probe)
{
	struct iommu_ioas_alloc alloc = {.size = sizeof(alloc)};
	if (ioctl(probe->iommu, IOMMU_IOAS_ALLOC, &alloc) < 0)
		return fail(probe, errno, "IOMMU_IOAS_ALLOC");
	probe->ioas_id = alloc.out_ioas_id;
	return say(probe, "ioas %u", alloc.out_ioas_id);
}

/* With a page table attached, IOAS_MAP pins (and charges) at once; without one it would pin lazily. */
static int step_attach(struct probe *probe)
{
	struct vfio_device_attach_iommufd_pt attach = {.argsz = sizeof(attach), .pt_id = probe->ioas_id};
	if (ioctl(probe->cdev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) < 0)
		return fail(probe, errno, "VFIO_DEVICE_ATTACH_IOMMUFD_PT ioas %u", probe->ioas_id);
	return say(probe, "ioas %u, page table %u", probe->ioas_id, attach.pt_id);
}

static int step_buffer(struct probe *probe)
{
	void *buffer = mmap(NULL, probe->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buffer == MAP_FAILED)
		return fail(probe, errno, "mmap %" PRIu64 " bytes", probe->size);
	memset(buffer, 0x5a, probe->size);
	probe->buffer = buffer;
	return say(probe, "%" PRIu64 " bytes", probe->size);
}

/* One DMA map of the whole buffer; -errno. */
static int dma_map(struct probe *probe)
{
	int r;
	if (probe->legacy) {
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)probe->buffer,
			.iova = DMA_IOVA,
			.size = probe->size,
		};
		r = ioctl(probe->container, VFIO_IOMMU_MAP_DMA, &map);
	} else {
		struct iommu_ioas_map map = {
			.size = sizeof(map),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = probe->ioas_id,
			.user_va = (uintptr_t)probe->buffer,
			.length = probe->size,
			.iova = DMA_IOVA,
		};
		r = ioctl(probe->iommu, IOMMU_IOAS_MAP, &map);
	}
	return r < 0 ? -errno : 0;
}

static uint64_t soft_limit(void)
{
	struct rlimit limit = {0};
	getrlimit(RLIMIT_MEMLOCK, &limit);
	return limit.rlim_cur;
}

static int step_map_refused(struct probe *probe)
{
	int r = dma_map(probe);
	if (r == -ENOMEM)
		return say(probe, "%" PRIu64 " bytes over a limit of %" PRIu64 ": ENOMEM, as expected", probe->size,
			   soft_limit());
	if (r == 0)
		return fail(probe, 0, "%" PRIu64 " bytes mapped under a limit of %" PRIu64 ", expected ENOMEM",
			    probe->size, soft_limit());
	return fail(probe, -r, "map: expected ENOMEM, got");
}

static int step_map_allowed(struct probe *probe)
{
	int r = dma_map(probe);
	if (r < 0)
		return fail(probe, -r, "map of %" PRIu64 " bytes under a limit of %" PRIu64, probe->size, soft_limit());
	return say(probe, "%" PRIu64 " bytes mapped under a limit of %" PRIu64, probe->size, soft_limit());
}

/* Tell the scenario, through one fifo, that it may act; wait for its line on the other. */
static void handshake(struct probe *probe, const char *what)
{
	FILE *ready = fopen(probe->ready_fifo, "w");
	if (ready) {
		fprintf(ready, "%s\n", what);
		fclose(ready);
	}
	FILE *go = fopen(probe->go_fifo, "r");
	char line[64];
	if (go) {
		(void)!fgets(line, sizeof(line), go);
		fclose(go);
	}
	if (!ready || !go)
		printf("FAIL handshake-%s cannot open the fifos %s and %s\n", what, probe->ready_fifo, probe->go_fifo);
}

static bool parse_number(const char *text, uint64_t *value)
{
	char *end;
	errno = 0;
	unsigned long long number = strtoull(text, &end, 10);
	*value = number;
	return *text && !*end && !errno && text[0] != '-';
}

static void usage(FILE *out)
{
	fprintf(out, "Usage: memlock_probe legacy --container PATH --group PATH OPTIONS\n"
		     "       memlock_probe iommufd --iommu PATH --cdev PATH OPTIONS\n"
		     "  --uid U --gid G      the user to become after opening (default 65534)\n"
		     "  --limit BYTES        RLIMIT_MEMLOCK to give itself, soft and hard (default 65536)\n"
		     "  --size BYTES         the buffer to map (default 1048576)\n"
		     "  --ready FIFO --go FIFO  write 'limit' and 'revoke' to READY, wait for a line on GO each time\n"
		     "Exit status: 0 every step passed, 1 a step failed, 2 usage.\n");
}

int main(int argc, char **argv)
{
	enum {
		OPT_CONTAINER = 256,
		OPT_GROUP,
		OPT_IOMMU,
		OPT_CDEV,
		OPT_UID,
		OPT_GID,
		OPT_LIMIT,
		OPT_SIZE,
		OPT_READY,
		OPT_GO
	};
	static const struct option options[] = {
		{"container", required_argument, NULL, OPT_CONTAINER},
		{"group", required_argument, NULL, OPT_GROUP},
		{"iommu", required_argument, NULL, OPT_IOMMU},
		{"cdev", required_argument, NULL, OPT_CDEV},
		{"uid", required_argument, NULL, OPT_UID},
		{"gid", required_argument, NULL, OPT_GID},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"size", required_argument, NULL, OPT_SIZE},
		{"ready", required_argument, NULL, OPT_READY},
		{"go", required_argument, NULL, OPT_GO},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct probe probe = {
		.container = -1,
		.group = -1,
		.iommu = -1,
		.cdev = -1,
		.uid = 65534,
		.gid = 65534,
		.limit = 65536,
		.size = 1 << 20,
	};
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || (strcmp(argv[1], "legacy") != 0 && strcmp(argv[1], "iommufd") != 0)) {
		usage(stderr);
		return 2;
	}
	probe.legacy = strcmp(argv[1], "legacy") == 0;
	optind = 2;
	int option;
	uint64_t number;
	while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (option) {
		case OPT_CONTAINER:
			probe.container_path = optarg;
			break;
		case OPT_GROUP:
			probe.group_path = optarg;
			break;
		case OPT_IOMMU:
			probe.iommu_path = optarg;
			break;
		case OPT_CDEV:
			probe.cdev_path = optarg;
			break;
		case OPT_UID:
		case OPT_GID:
		case OPT_LIMIT:
		case OPT_SIZE:
			if (!parse_number(optarg, &number) || number == 0 || number > UINT32_MAX - 1) {
				fprintf(stderr, "memlock_probe: bad number '%s'\n", optarg);
				return 2;
			}
			if (option == OPT_UID)
				probe.uid = (uid_t)number;
			else if (option == OPT_GID)
				probe.gid = (gid_t)number;
			else if (option == OPT_LIMIT)
				probe.limit = number;
			else
				probe.size = number;
			break;
		case OPT_READY:
			probe.ready_fifo = optarg;
			break;
		case OPT_GO:
			probe.go_fifo = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	bool complete = probe.legacy ? probe.container_path && probe.group_path : probe.iommu_path && probe.cdev_path;
	if (optind != argc || !complete || !probe.ready_fifo || !probe.go_fifo) {
		usage(stderr);
		return 2;
	}

	if (probe.legacy) {
		step(&probe, "open-container", step_open_container);
		step(&probe, "open-group", step_open_group);
	} else {
		step(&probe, "open-iommu", step_open_iommu);
		step(&probe, "rlimit-mode-set", step_rlimit_mode);
		step(&probe, "open-cdev", step_open_cdev);
	}
	step(&probe, "lower-limit", step_lower_limit);
	step(&probe, "drop-privileges", step_drop_privileges);
	if (probe.legacy) {
		step(&probe, "group-set-container", step_group_set_container);
		step(&probe, "set-iommu-type1v2", step_set_iommu);
	} else {
		step(&probe, "bind-iommufd", step_bind);
		step(&probe, "ioas-alloc", step_ioas_alloc);
		step(&probe, "attach-ioas", step_attach);
	}
	step(&probe, "buffer", step_buffer);
	step(&probe, "map-refused", step_map_refused);
	handshake(&probe, "limit");
	step(&probe, "map-allowed", step_map_allowed);
	handshake(&probe, "revoke");
	return probe.failed ? 1 : 0;
}
