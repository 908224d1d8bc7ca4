/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VFIO and iommufd uAPI this project uses that Debian bookworm's headers
 * lack: linux-libc-dev 6.1 has no <linux/iommufd.h> (added in Linux 6.2) and
 * its <linux/vfio.h> predates the cdev ioctls (added in Linux 6.6).
 *
 * Each definition is a kernel ABI fact: numbers and layouts as in Linux
 * 6.12's include/uapi/linux/iommufd.h and include/uapi/linux/vfio.h, which
 * the kernel keeps stable. Each group is defined only when the system
 * headers did not already define it, so newer headers win and nothing is
 * defined twice. The size checks guard this file's copies only: newer
 * kernels may extend a struct, telling the versions apart by its size field.
 */
#ifndef VFG_VFIO_UAPI_H
#define VFG_VFIO_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>
#include <linux/vfio.h>

#if defined(__has_include)
#if __has_include(<linux/iommufd.h>)
#include <linux/iommufd.h>
#endif
#endif

/* iommufd.h (Linux >= 6.2): ioctl type ';', commands numbered from 0x80. */
#ifndef IOMMUFD_TYPE
#define IOMMUFD_TYPE (';')
#endif

/* iommufd.h, Linux >= 6.2: IOMMUFD_CMD_IOAS_ALLOC = 0x81. */
#ifndef IOMMU_IOAS_ALLOC
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
_Static_assert(sizeof(struct iommu_ioas_alloc) == 12, "the kernel's struct iommu_ioas_alloc is 12 bytes");
#endif

/* iommufd.h, Linux >= 6.2: IOMMUFD_CMD_IOAS_MAP = 0x85, enum iommufd_ioas_map_flags. */
#ifndef IOMMU_IOAS_MAP
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, 0x85)
_Static_assert(sizeof(struct iommu_ioas_map) == 40, "the kernel's struct iommu_ioas_map is 40 bytes");
#endif

/*
 * iommufd.h, Linux >= 6.2: IOMMUFD_CMD_OPTION = 0x87. RLIMIT_MODE (object_id
 * 0) is per iommufd: 0 charges pinned pages to the user, 1 to the process.
 */
#ifndef IOMMU_OPTION
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};
#define IOMMU_OPTION _IO(IOMMUFD_TYPE, 0x87)
_Static_assert(sizeof(struct iommu_option) == 24, "the kernel's struct iommu_option is 24 bytes");
#endif

/* vfio.h, Linux >= 6.6: VFIO_BASE + 18, only on a cdev fd. */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
_Static_assert(sizeof(struct vfio_device_bind_iommufd) == 16,
	       "the kernel's struct vfio_device_bind_iommufd is 16 bytes");
#endif

/* vfio.h, Linux >= 6.6: VFIO_BASE + 19; pt_id is an IOAS or a HWPT id. */
#ifndef VFIO_DEVICE_ATTACH_IOMMUFD_PT
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
_Static_assert(sizeof(struct vfio_device_attach_iommufd_pt) == 12,
	       "the kernel's struct vfio_device_attach_iommufd_pt is 12 bytes");
#endif

/* vfio.h, Linux >= 6.6: VFIO_BASE + 20. */
#ifndef VFIO_DEVICE_DETACH_IOMMUFD_PT
struct vfio_device_detach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
_Static_assert(sizeof(struct vfio_device_detach_iommufd_pt) == 8,
	       "the kernel's struct vfio_device_detach_iommufd_pt is 8 bytes");
#endif

/*
 * vfio.h, Linux >= 6.17 (commit "vfio/pci: Do vf_token checks for
 * VFIO_DEVICE_BIND_IOMMUFD"): the VF token on the cdev path. The flag asks
 * the kernel to read a 16-byte UUID at token_uuid_ptr, a field appended to
 * struct vfio_device_bind_iommufd; argsz tells the two layouts apart, and
 * older kernels refuse any flag with EINVAL. The longer layout has its own
 * name here so the 16-byte one above stays as the kernel headers define it.
 */
#ifndef VFIO_DEVICE_BIND_FLAG_TOKEN
#define VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0)
#endif
struct vfg_vfio_device_bind_iommufd_token {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
	__aligned_u64 token_uuid_ptr;
};
_Static_assert(sizeof(struct vfg_vfio_device_bind_iommufd_token) == 24,
	       "Linux 6.17's struct vfio_device_bind_iommufd is 24 bytes");

/*
 * vfio.h (Linux >= 5.7, vfio_pci_core_match()): on the group path the VF
 * token rides in the device name VFIO_GROUP_GET_DEVICE_FD looks up,
 * "<bdf> vf_token=<uuid>".
 */
#define VFG_VFIO_VF_TOKEN_ARG " vf_token="

#endif /* VFG_VFIO_UAPI_H */
