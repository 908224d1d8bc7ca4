/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mediated devices (mdev): a device a parent driver (mtty, i915's GVT-g,
 * vfio_ccw, vfio_ap, NVIDIA vGPU) makes in software and registers with vfio,
 * named by its UUID. The kernel lays it out as
 *   /sys/bus/mdev/devices/UUID -> ../../../devices/.../PARENT/UUID
 *     mdev_type -> ../mdev_supported_types/TYPE   (TYPE/device_api: its vfio bus)
 *     driver-> iommu_group-> vfio-dev/vfioN/dev
 *   /sys/kernel/iommu_groups/N/devices/UUID      the only member
 * (Documentation/driver-api/vfio-mediated-device.rst). A vendor driver
 * that registers it with vfio_register_emulated_iommu_dev() gets a group of
 * its own from vfio (vfio_noiommu_group_alloc() in drivers/vfio/group.c, with
 * VFIO_EMULATED_IOMMU): one mdev, one group, nothing else in it. So it is
 * planned and granted as a PCI function alone in its group: /dev/vfio/N
 * (legacy) or its cdev (iommufd).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MDEV_SYSFS_DIR "/sys/bus/mdev/devices/"
#define MDEV_NAME_PREFIX "mdev="
/* How vfg_hostdev_name() writes one (status, the plan's JSON, the journal): taken back as it is given out. */
#define MDEV_SHOWN_PREFIX "mdev:"

/*
 * The vfio buses an mdev may present to userspace, as mdev_type/device_api
 * names them (VFIO_DEVICE_API_*_STRING in include/uapi/linux/vfio.h): a
 * vfio-pci mdev is proven in the VM suite (mtty); ccw (s390 channel I/O,
 * vfio_ccw) and ap (s390 crypto, vfio_ap) use the same group and cdev
 * layout and are planned the same way, unproven on a real s390 (docs/mdev.md).
 */
static const char *const accepted_device_apis[] = {"vfio-pci", "vfio-ccw", "vfio-ap"};

VFG_EXPORT char *vfg_hostdev_name(const vfg_hostdev_spec *spec, char *buf)
{
	if (spec->mdev[0])
		snprintf(buf, VFG_HOSTDEV_NAME_MAX, "mdev:%s", spec->mdev);
	else
		vfg_pci_addr_format(&spec->addr, buf);
	return buf;
}

bool vfg_mdev_spec_named(const char *device)
{
	return strncmp(device, MDEV_NAME_PREFIX, strlen(MDEV_NAME_PREFIX)) == 0 ||
	       strncmp(device, MDEV_SHOWN_PREFIX, strlen(MDEV_SHOWN_PREFIX)) == 0 ||
	       strncmp(device, MDEV_SYSFS_DIR, strlen(MDEV_SYSFS_DIR)) == 0;
}

bool vfg_mdev_sysfs_dir(const char *name, char *buf, size_t size)
{
	if (strncmp(name, MDEV_SHOWN_PREFIX, strlen(MDEV_SHOWN_PREFIX)) != 0)
		return false;
	snprintf(buf, size, MDEV_SYSFS_DIR "%s", name + strlen(MDEV_SHOWN_PREFIX));
	return true;
}

int vfg_mdev_spec_parse(const char *device, vfg_hostdev_spec *spec, vfg_error *err)
{
	char uuid[VFG_PATH_MAX];
	if (strncmp(device, MDEV_NAME_PREFIX, strlen(MDEV_NAME_PREFIX)) == 0 ||
	    strncmp(device, MDEV_SHOWN_PREFIX, strlen(MDEV_SHOWN_PREFIX)) == 0) {
		snprintf(uuid, sizeof(uuid), "%s", device + strlen(MDEV_NAME_PREFIX));
	} else {
		/* Named as the bus lists it, a trailing '/' allowed: nothing below the device, no "..". */
		snprintf(uuid, sizeof(uuid), "%s", device + strlen(MDEV_SYSFS_DIR));
		size_t len = strlen(uuid);
		while (len > 0 && uuid[len - 1] == '/')
			uuid[--len] = '\0';
		if (strchr(uuid, '/'))
			return vfg_error_set(err, 0, device, "not an mdev's directory: name %sUUID", MDEV_SYSFS_DIR);
	}
	if (vfg_uuid_parse(uuid, spec->mdev, err) < 0) {
		vfg_error_prefix(err, "mdev");
		return -1;
	}
	return 0;
}

static int check_device_api(const char *name, const char *device_api, vfg_error *err)
{
	for (size_t i = 0; i < sizeof(accepted_device_apis) / sizeof(accepted_device_apis[0]); i++)
		if (strcmp(device_api, accepted_device_apis[i]) == 0)
			return 0;
	return vfg_error_set(
		err, 0, name,
		"mdev_type/device_api is '%s': vfguard grants mdevs of vfio-pci, vfio-ccw and vfio-ap only",
		device_api);
}

/* The mdev's directory, open O_PATH, its path in @dir. */
static int mdev_dir_open(const vfg_context *ctx, const char *name, const char *uuid, char *dir, size_t size,
			 vfg_error *err)
{
	char logical[64];
	snprintf(logical, sizeof(logical), MDEV_SYSFS_DIR "%s", uuid);
	if (vfg_host_path(ctx, logical, dir, size, err) < 0)
		return -1;
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return vfg_error_set(err, 0, name, "no such mediated device on this host (no %s)", dir);
		return vfg_error_set(err, errno, dir, "cannot open the mediated device's directory");
	}
	return fd;
}

/* The type, its vfio bus (checked), the driver bound and whether vfio-dev/ is there. */
static int mdev_read_at(int dirfd, const char *dir, const char *name, vfg_hostdev *hostdev, vfg_error *err)
{
	if (vfg_sysfs_link_name_at(dirfd, dir, "mdev_type", hostdev->mdev_type, sizeof(hostdev->mdev_type), err) < 0)
		return -1;
	if (!hostdev->mdev_type[0])
		return vfg_error_set(err, 0, name, "has no mdev_type link in %s: not a mediated device", dir);
	if (vfg_sysfs_read_line_at(dirfd, dir, "mdev_type/device_api", hostdev->mdev_device_api,
				   sizeof(hostdev->mdev_device_api), err) < 0 ||
	    check_device_api(name, hostdev->mdev_device_api, err) < 0 ||
	    vfg_sysfs_link_name_at(dirfd, dir, "driver", hostdev->function.driver, sizeof(hostdev->function.driver),
				   err) < 0)
		return -1;
	struct stat st;
	hostdev->function.vfio_dev = fstatat(dirfd, "vfio-dev", &st, 0) == 0 && S_ISDIR(st.st_mode);
	return 0;
}

/* The group the mdev's vendor driver registered; it must hold the mdev and nothing else. */
static int mdev_group_read_at(const vfg_context *ctx, int dirfd, const char *dir, const char *name,
			      vfg_hostdev *hostdev, vfg_error *err)
{
	bool found;
	if (vfg_iommu_group_link_read(dirfd, dir, &hostdev->group.number, &found, err) < 0)
		return -1;
	if (!found)
		return vfg_error_set(
			err, 0, name,
			"has no IOMMU group (no %s/iommu_group): no vfio driver registered it (is it bound "
			"to its parent's mdev driver?)",
			dir);

	char logical[96], members[VFG_PATH_MAX];
	snprintf(logical, sizeof(logical), "/sys/kernel/iommu_groups/%u/devices", hostdev->group.number);
	if (vfg_host_path(ctx, logical, members, sizeof(members), err) < 0)
		return -1;
	_cleanup_closedir_ DIR *listing = opendir(members);
	if (!listing)
		return vfg_error_set(err, errno, members, "cannot list the IOMMU group's devices");
	bool own = false;
	const struct dirent *entry;
	while ((entry = readdir(listing))) {
		if (entry->d_name[0] == '.')
			continue;
		if (strcmp(entry->d_name, hostdev->spec.mdev) != 0)
			return vfg_error_set(err, 0, name,
					     "IOMMU group %u holds %s too: an mdev's group holds that mdev alone, so "
					     "this is not the group vfio made for it",
					     hostdev->group.number, entry->d_name);
		own = true;
	}
	if (!own)
		return vfg_error_set(err, 0, name, "IOMMU group %u does not list it (%s)", hostdev->group.number,
				     members);
	return 0;
}

int vfg_mdev_enumerate_on(const vfg_context *ctx, vfg_host_nodes *host, const vfg_hostdev_spec *spec,
			  vfg_hostdev *hostdev, vfg_error *err)
{
	char dir[VFG_PATH_MAX], name[VFG_HOSTDEV_NAME_MAX];
	memset(hostdev, 0, sizeof(*hostdev));
	hostdev->spec = *spec;
	vfg_hostdev_name(spec, name);
	_cleanup_close_ int dirfd = mdev_dir_open(ctx, name, spec->mdev, dir, sizeof(dir), err);
	if (dirfd < 0 || mdev_read_at(dirfd, dir, name, hostdev, err) < 0 ||
	    mdev_group_read_at(ctx, dirfd, dir, name, hostdev, err) < 0 ||
	    vfg_hostdev_read_cdev(dirfd, dir, hostdev, err) < 0 ||
	    vfg_hostdev_choose_backend(ctx, host, hostdev, err) < 0) {
		vfg_hostdev_clear(hostdev);
		return -1;
	}
	return 0;
}
