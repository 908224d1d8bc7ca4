/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vf_token_pf: the userspace PF driver of the VM suite's vf-token scenario
 * (tests/vm/scenarios/sriov-vf-token.sh). A PF bound to vfio-pci with SR-IOV
 * enabled makes its VFs ask for a VF token, a UUID the PF's user sets and
 * shares with the VFs' users (drivers/vfio/pci/vfio_pci_core.c,
 * vfio_pci_validate_vf_token() in 6.12). This program is that PF user:
 *
 *   vf_token_pf --container PATH --group PATH --device BDF --token UUID --ready PATH
 *
 * It opens the PF by the group path (type1), sets the token with
 * VFIO_DEVICE_FEATURE, flags VFIO_DEVICE_FEATURE_SET |
 * VFIO_DEVICE_FEATURE_PCI_VF_TOKEN and the 16 bytes as data
 * (include/uapi/linux/vfio.h), prints one "ok STEP" / "FAIL STEP" line per
 * step on standard output (the suite's check protocol), then creates READY
 * and holds the PF open until SIGTERM or SIGINT. Exit status: 0 when every
 * step passed (then it waited), 1 when one failed (then it did not), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uuid_bytes.h"
#include "vfio_uapi.h"

struct pf {
	const char *container_path, *group_path, *device, *token, *ready;
	int container, group, device_fd;
	bool failed;
};

static void result(struct pf *pf, bool ok, const char *step, const char *format, ...)
	__attribute__((format(printf, 4, 5)));
static void result(struct pf *pf, bool ok, const char *step, const char *format, ...)
{
	va_list args;
	printf("%s %s ", ok ? "ok" : "FAIL", step);
	va_start(args, format);
	vprintf(format, args);
	va_end(args);
	putchar('\n');
	pf->failed |= !ok;
}

static const char *errno_name(int error)
{
	const char *name = strerrorname_np(error);
	return name ? name : "?";
}

/* One ioctl as a step: ok when it returns >= 0, else FAIL with the errno. */
static int step(struct pf *pf, const char *name, int r, const char *what)
{
	if (r < 0)
		result(pf, false, name, "%s: %s (%s)", what, errno_name(errno), strerror(errno));
	else
		result(pf, true, name, "%s", what);
	return r;
}

/* VFIO_DEVICE_FEATURE on the PF with the token as its data; @flags says SET, GET or PROBE. */
static int token_feature(struct pf *pf, unsigned flags, const unsigned char uuid[16])
{
	union {
		struct vfio_device_feature feature;
		unsigned char bytes[sizeof(struct vfio_device_feature) + 16];
	} arg = {0};
	arg.feature.argsz = sizeof(arg);
	arg.feature.flags = flags | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN;
	memcpy(arg.feature.data, uuid, 16);
	return ioctl(pf->device_fd, VFIO_DEVICE_FEATURE, &arg);
}

static bool open_pf(struct pf *pf)
{
	struct vfio_group_status status = {.argsz = sizeof(status)};
	pf->container = open(pf->container_path, O_RDWR | O_CLOEXEC);
	if (step(pf, "open-container", pf->container, pf->container_path) < 0)
		return false;
	pf->group = open(pf->group_path, O_RDWR | O_CLOEXEC);
	if (step(pf, "open-group", pf->group, pf->group_path) < 0)
		return false;
	if (step(pf, "group-viable", ioctl(pf->group, VFIO_GROUP_GET_STATUS, &status), "VFIO_GROUP_GET_STATUS") < 0)
		return false;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		result(pf, false, "group-flags", "flags 0x%x: not viable", status.flags);
		return false;
	}
	if (step(pf, "set-container", ioctl(pf->group, VFIO_GROUP_SET_CONTAINER, &pf->container),
		 "VFIO_GROUP_SET_CONTAINER") < 0 ||
	    step(pf, "set-iommu", ioctl(pf->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), "type1v2") < 0)
		return false;
	pf->device_fd = ioctl(pf->group, VFIO_GROUP_GET_DEVICE_FD, pf->device);
	return step(pf, "get-device-fd", pf->device_fd, pf->device) >= 0;
}

static bool set_token(struct pf *pf)
{
	unsigned char uuid[16];
	if (uuid_bytes(pf->token, uuid) < 0) {
		result(pf, false, "token", "--token %s: not a UUID", pf->token);
		return false;
	}
	/* PROBE with SET: 0 when the device supports setting the feature (vfio_check_feature()). */
	if (step(pf, "token-probe", token_feature(pf, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET, uuid),
		 "VFIO_DEVICE_FEATURE PROBE|SET PCI_VF_TOKEN: the PF takes a token") < 0)
		return false;
	if (step(pf, "token-set", token_feature(pf, VFIO_DEVICE_FEATURE_SET, uuid),
		 "VFIO_DEVICE_FEATURE SET PCI_VF_TOKEN") < 0)
		return false;
	/*
	 * vfio_pci_core_feature_token() supports SET only: a GET could hand out
	 * the token of the device's previous user; vfio_check_feature() answers
	 * an unsupported op with EINVAL.
	 */
	if (token_feature(pf, VFIO_DEVICE_FEATURE_GET, uuid) == 0)
		result(pf, false, "token-get-refused", "VFIO_DEVICE_FEATURE GET PCI_VF_TOKEN read the token back");
	else
		result(pf, errno == EINVAL, "token-get-refused", "GET refused: %s (%s)", errno_name(errno),
		       strerror(errno));
	return !pf->failed;
}

/* READY made, hold the PF open until told to stop. */
static bool hold(struct pf *pf)
{
	sigset_t stop;
	int signal;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	int fd = open(pf->ready, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		result(pf, false, "ready", "%s: %s", pf->ready, strerror(errno));
		return false;
	}
	dprintf(fd, "%ld\n", (long)getpid());
	close(fd);
	result(pf, true, "ready", "holding %s open with the token set (pid %ld)", pf->device, (long)getpid());
	fflush(stdout);
	return sigwait(&stop, &signal) == 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"container", required_argument, NULL, 'c'}, {"group", required_argument, NULL, 'g'},
		{"device", required_argument, NULL, 'd'},    {"token", required_argument, NULL, 't'},
		{"ready", required_argument, NULL, 'r'},     {NULL, 0, NULL, 0},
	};
	struct pf pf = {.container = -1, .group = -1, .device_fd = -1};
	int option;
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (option) {
		case 'c':
			pf.container_path = optarg;
			break;
		case 'g':
			pf.group_path = optarg;
			break;
		case 'd':
			pf.device = optarg;
			break;
		case 't':
			pf.token = optarg;
			break;
		case 'r':
			pf.ready = optarg;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc || !pf.container_path || !pf.group_path || !pf.device || !pf.token || !pf.ready) {
		fprintf(stderr, "usage: vf_token_pf --container PATH --group PATH --device BDF --token UUID "
				"--ready PATH\n");
		return 2;
	}
	if (!open_pf(&pf) || !set_token(&pf) || !hold(&pf))
		return 1;
	return 0;
}
