/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hypervisor's side of the hand-over: the QEMU arguments that use the
 * fds where vfg_fdset_install puts them. The QEMU facts, from its source:
 *
 * - backends/iommufd.c: the iommufd object takes "fd" (a number, or a name
 *   given to the monitor with getfd) and then does not open /dev/iommu.
 * - hw/vfio/pci.c: vfio-pci takes "fd" (the device's cdev, with iommufd
 *   only), "iommufd" (the object's id) and "vf-token" (a UUID).
 * - hw/vfio/device.c, vfio_device_get_name(): "Use FD passing only with
 *   iommufd backend". QEMU has no way to take a legacy container or group
 *   fd: on the legacy backend it opens /dev/vfio/vfio and /dev/vfio/N by
 *   path itself, so a legacy hostdev with fd access cannot be given to QEMU.
 * - hw/vfio/device.c, vfio_device_is_mdev(): QEMU knows an mdev only by its
 *   sysfsdev path (its "subsystem" link resolving to /sys/bus/mdev), and
 *   vfio_device_hiod_create_and_realize() skips the host IOMMU device for an
 *   mdev alone: an mdev given by fd without sysfsdev would be taken for a
 *   physical function. So an mdev is "sysfsdev=/sys/bus/mdev/devices/UUID"
 *   (vfio_pci_realize in hw/vfio/pci.c accepts sysfsdev with or without fd),
 *   with "fd" added on iommufd; sysfsdev only reads sysfs, and opens no node.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

#define QEMU_IOMMUFD_ID "iommufd0"

typedef struct qemu_arg {
	char option[16]; /* "-object", "-device" */
	char value[512];
} qemu_arg;

/* The number vfg_fdset_install gives node @index, -1 when it has no fd. */
static int node_fd_number(const vfg_plan *plan, size_t index, int fd_base)
{
	int number = fd_base;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		if (plan->nodes[i].access != VFG_ACCESS_FD)
			continue;
		if (i == index)
			return number;
		number++;
	}
	return -1;
}

static void qemu_arg_add(qemu_arg *args, size_t *n_args, const char *option, const char *value)
{
	snprintf(args[*n_args].option, sizeof(args[*n_args].option), "%s", option);
	snprintf(args[*n_args].value, sizeof(args[*n_args].value), "%s", value);
	(*n_args)++;
}

static int qemu_args_build(const vfg_plan *plan, int fd_base, qemu_arg *args, size_t *n_args, vfg_error *err)
{
	*n_args = 0;
	bool iommufd_added = false;
	for (size_t h = 0; h < plan->n_hostdevs; h++) {
		const vfg_hostdev *hostdev = &plan->hostdevs[h];
		char bdf[VFG_HOSTDEV_NAME_MAX], device[512], object[128];
		vfg_hostdev_name(&hostdev->spec, bdf);
		size_t used =
			hostdev->spec.mdev[0]
				? vfg_strlcatf(device, sizeof(device), 0,
					       "vfio-pci,sysfsdev=/sys/bus/mdev/devices/%s,id=hostdev%zu",
					       hostdev->spec.mdev, h)
				: vfg_strlcatf(device, sizeof(device), 0, "vfio-pci,host=%s,id=hostdev%zu", bdf, h);

		/* Documentation/s390/vfio-ccw.rst and vfio-ap.rst: those are QEMU's vfio-ccw and vfio-ap devices. */
		if (hostdev->spec.mdev[0] && strcmp(hostdev->mdev_device_api, "vfio-pci") != 0)
			return vfg_error_set(err, EOPNOTSUPP, bdf,
					     "a %s mdev: QEMU takes it as -device %s, which qemu-args does not write "
					     "(only vfio-pci)",
					     hostdev->mdev_device_api, hostdev->mdev_device_api);
		switch (hostdev->backend) {
		case VFG_BACKEND_IOMMUFD: {
			/* One iommufd object for the domain; the hostdevs share its /dev/iommu node (nodes[0]). */
			if (!iommufd_added) {
				int iommufd_fd = node_fd_number(plan, hostdev->nodes[0], fd_base);
				size_t n = vfg_strlcatf(object, sizeof(object), 0, "iommufd,id=%s", QEMU_IOMMUFD_ID);
				if (iommufd_fd >= 0)
					vfg_strlcatf(object, sizeof(object), n, ",fd=%d", iommufd_fd);
				qemu_arg_add(args, n_args, "-object", object);
				iommufd_added = true;
			}
			used = vfg_strlcatf(device, sizeof(device), used, ",iommufd=%s", QEMU_IOMMUFD_ID);
			int cdev_fd = node_fd_number(plan, hostdev->nodes[1], fd_base);
			if (cdev_fd >= 0)
				used = vfg_strlcatf(device, sizeof(device), used, ",fd=%d", cdev_fd);
			break;
		}
		case VFG_BACKEND_LEGACY:
			if (hostdev->spec.access == VFG_ACCESS_FD)
				return vfg_error_set(
					err, EOPNOTSUPP, bdf,
					"legacy hostdev with fd access: QEMU takes pre-opened VFIO fds only "
					"on the iommufd backend (hw/vfio/device.c: \"Use FD passing only with "
					"iommufd backend\") and opens the container and group by path; use "
					"backend=iommufd, or access=path for QEMU");
			break;
		case VFG_BACKEND_AUTO:
			return vfg_error_set(err, EINVAL, bdf, "hostdev without a resolved backend");
		}
		if (hostdev->spec.vf_token[0])
			vfg_strlcatf(device, sizeof(device), used, ",vf-token=%s", hostdev->spec.vf_token);
		qemu_arg_add(args, n_args, "-device", device);
	}
	return 0;
}

static qemu_arg *qemu_args_new(const vfg_plan *plan, size_t *n_args, int fd_base, vfg_error *err)
{
	if (fd_base < 3) {
		vfg_error_set(err, EINVAL, plan->domain.name, "fd base %d: 0, 1 and 2 are stdin, stdout, stderr",
			      fd_base);
		return NULL;
	}
	/* One -device per hostdev and one -object. */
	qemu_arg *args = calloc(plan->n_hostdevs + 1, sizeof(*args));
	if (!args) {
		vfg_error_set(err, ENOMEM, plan->domain.name, "cannot build the QEMU arguments");
		return NULL;
	}
	if (qemu_args_build(plan, fd_base, args, n_args, err) < 0) {
		free(args);
		return NULL;
	}
	return args;
}

VFG_EXPORT int vfg_qemu_args_write_text(const vfg_plan *plan, int fd_base, FILE *out, vfg_error *err)
{
	size_t n_args;
	_cleanup_free_ qemu_arg *args = qemu_args_new(plan, &n_args, fd_base, err);
	if (!args)
		return -1;
	for (size_t i = 0; i < n_args; i++)
		fprintf(out, "%s %s\n", args[i].option, args[i].value);
	return ferror(out) ? vfg_error_set(err, EIO, "stdout", "cannot write the QEMU arguments") : 0;
}

VFG_EXPORT int vfg_qemu_args_write_json(const vfg_plan *plan, int fd_base, FILE *out, vfg_error *err)
{
	size_t n_args;
	_cleanup_free_ qemu_arg *args = qemu_args_new(plan, &n_args, fd_base, err);
	if (!args)
		return -1;
	vfg_json json = {.out = out};
	vfg_json_begin_object(&json, NULL);
	vfg_json_int(&json, "version", 1); /* as every --json object of the CLI (docs/plan-json.md) */
	vfg_json_string(&json, "domain", plan->domain.name);
	vfg_json_int(&json, "fd_base", fd_base);
	vfg_json_begin_array(&json, "fds");
	for (size_t i = 0; i < plan->n_nodes; i++) {
		if (plan->nodes[i].access != VFG_ACCESS_FD)
			continue;
		vfg_json_begin_object(&json, NULL);
		vfg_json_int(&json, "fd", node_fd_number(plan, i, fd_base));
		vfg_json_string(&json, "kind", vfg_node_kind_name(plan->nodes[i].kind));
		vfg_json_string(&json, "path", plan->nodes[i].path);
		vfg_json_end_object(&json);
	}
	vfg_json_end_array(&json);
	vfg_json_begin_array(&json, "args");
	for (size_t i = 0; i < n_args; i++) {
		vfg_json_string(&json, NULL, args[i].option);
		vfg_json_string(&json, NULL, args[i].value);
	}
	vfg_json_end_array(&json);
	vfg_json_end_object(&json);
	fputc('\n', out);
	return ferror(out) ? vfg_error_set(err, EIO, "stdout", "cannot write the QEMU arguments") : 0;
}

VFG_EXPORT const char *vfg_hostdev_vf_token_method(const vfg_hostdev *hostdev)
{
	if (!hostdev->spec.vf_token[0])
		return NULL;
	switch (hostdev->backend) {
	case VFG_BACKEND_LEGACY:
		return "group path: in the device name \"BDF vf_token=UUID\" of VFIO_GROUP_GET_DEVICE_FD";
	case VFG_BACKEND_IOMMUFD:
		return "cdev path: VFIO_DEVICE_BIND_IOMMUFD with VFIO_DEVICE_BIND_FLAG_TOKEN (Linux >= 6.17)";
	case VFG_BACKEND_AUTO:
		break;
	}
	return NULL;
}
