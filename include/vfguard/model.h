/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_MODEL_H
#define VFGUARD_MODEL_H

/*
 * The words of DESIGN.md as types: a PCI function, its IOMMU group, the
 * hostdev asked for, the device nodes it needs, and the domain (one VM).
 * Every path kept here is the host's logical path ("/dev/vfio/12"); the
 * context turns it into a real one under its root prefix.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfguard/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VFG_PCI_ADDR_STRLEN 13 /* "DDDD:BB:DD.F" and the NUL */
#define VFG_UUID_STRLEN 37 /* 8-4-4-4-12 hex digits and the NUL */
#define VFG_HOSTDEV_NAME_MAX (VFG_UUID_STRLEN + 5) /* "mdev:UUID" and the NUL; a BDF is shorter */
#define VFG_NAME_MAX 128
#define VFG_LABEL_MAX 256
#define VFG_PATH_MAX 1024
/*
 * A node's logical path ("/dev/vfio/devices/vfio12"), or the subject a
 * domain-scope labeler names ("/proc/1234"): far shorter than a path may be,
 * and a plan and a journal hold one per node.
 */
#define VFG_NODE_PATH_MAX 256
#define VFG_DRIVER_MAX 64

typedef struct vfg_pci_addr {
	uint16_t domain;
	uint8_t bus;
	uint8_t slot; /* 0..31 */
	uint8_t function; /* 0..7 */
} vfg_pci_addr;

/* Parse "DDDD:BB:DD.F" or "BB:DD.F" (domain 0000), hex digits of either case. */
int vfg_pci_addr_parse(const char *text, vfg_pci_addr *addr, vfg_error *err);
/* Canonical form "0000:01:00.0" into @buf of VFG_PCI_ADDR_STRLEN bytes; returns @buf. */
char *vfg_pci_addr_format(const vfg_pci_addr *addr, char *buf);
bool vfg_pci_addr_equal(const vfg_pci_addr *a, const vfg_pci_addr *b);

/* Check an RFC 4122 textual UUID and write its lower-case form to @canonical (VFG_UUID_STRLEN). */
int vfg_uuid_parse(const char *text, char *canonical, vfg_error *err);

typedef enum vfg_backend {
	VFG_BACKEND_AUTO = 0, /* only in a request: iommufd when the host serves it, else legacy */
	VFG_BACKEND_LEGACY, /* type1 container /dev/vfio/vfio and group /dev/vfio/N */
	VFG_BACKEND_IOMMUFD, /* /dev/iommu and the device's cdev /dev/vfio/devices/vfioN */
} vfg_backend;

typedef enum vfg_access {
	VFG_ACCESS_PATH = 0, /* the hypervisor opens the node itself */
	VFG_ACCESS_FD, /* the manager opens it and passes the fd */
} vfg_access;

typedef enum vfg_node_kind {
	VFG_NODE_CONTAINER = 0, /* /dev/vfio/vfio, shared by every VM */
	VFG_NODE_GROUP, /* /dev/vfio/N, one IOMMU group, one VM */
	VFG_NODE_IOMMUFD, /* /dev/iommu, shared by every VM */
	VFG_NODE_CDEV, /* /dev/vfio/devices/vfioN, one device, one VM */
	VFG_NODE_DOMAIN, /* no device node: what a domain-scope labeler changes, named by a subject of its own */
} vfg_node_kind;

const char *vfg_backend_name(vfg_backend backend);
const char *vfg_access_name(vfg_access access);
const char *vfg_node_kind_name(vfg_node_kind kind);
int vfg_backend_parse(const char *text, vfg_backend *backend, vfg_error *err);
int vfg_access_parse(const char *text, vfg_access *access, vfg_error *err);

/* One PCI function as sysfs shows it. */
typedef struct vfg_pci_function {
	vfg_pci_addr addr;
	uint16_t vendor;
	uint16_t device;
	uint32_t class_code; /* 24 bits: base class, subclass, prog-if */
	uint8_t header_type; /* config space 0x0e, multi-function bit cleared */
	char driver[VFG_DRIVER_MAX]; /* bound driver, "" when none */
	bool vfio_dev; /* has vfio-dev/ (Linux >= 6.1): bound to vfio-pci or a vfio variant driver */
} vfg_pci_function;

typedef struct vfg_iommu_group {
	unsigned number;
	size_t n_members;
	vfg_pci_function *members; /* every function of the group, the hostdev's own included */
} vfg_iommu_group;

/* A hostdev as asked for: which function, which backend and access. */
typedef struct vfg_hostdev_spec {
	vfg_pci_addr addr;
	vfg_backend backend; /* VFG_BACKEND_AUTO unless asked */
	vfg_access access;
	char vf_token[VFG_UUID_STRLEN]; /* canonical UUID, "" when none */
	bool managed; /* vfguard binds it to vfio-pci before the grants and gives it back after the revoke */
	/* The vfio driver a managed hostdev is bound to: "" for vfio-pci, else a variant ("mlx5_vfio_pci"). */
	char driver[VFG_DRIVER_MAX];
	/*
	 * A mediated device, by its canonical UUID (/sys/bus/mdev/devices/UUID);
	 * "" for a PCI function. An mdev has no address, vf-token or driver to
	 * rebind: addr is zero and managed false. (Added last: VFGUARD_0.5.)
	 */
	char mdev[VFG_UUID_STRLEN];
} vfg_hostdev_spec;

/* The hostdev's name in messages, the plan and the journal: "0000:01:00.0", or "mdev:UUID". Returns @buf. */
char *vfg_hostdev_name(const vfg_hostdev_spec *spec, char *buf);

/* A hostdev as found on the host. */
typedef struct vfg_hostdev {
	vfg_hostdev_spec spec;
	vfg_backend backend; /* what serves it: never AUTO */
	char backend_reason[256]; /* why that backend */
	vfg_pci_function function;
	vfg_iommu_group group;
	char cdev[32]; /* "vfio0" from vfio-dev/, "" when none */
	dev_t cdev_rdev; /* from vfio-dev/vfioN/dev when cdev is set */
	size_t nodes[2]; /* indexes into the plan's nodes */
	size_t n_nodes;
	/*
	 * An mdev (spec.mdev set): its type ("mtty-2", the mdev_type link) and
	 * vfio bus (mdev_type/device_api: "vfio-pci", "vfio-ccw", "vfio-ap").
	 * Then function holds only its driver and vfio_dev, and group no
	 * members: an mdev's group holds that mdev alone. (Added last: VFGUARD_0.5.)
	 */
	char mdev_type[VFG_NAME_MAX];
	char mdev_device_api[16];
} vfg_hostdev;

/* A device node a hostdev needs, checked against sysfs when found. */
typedef struct vfg_node {
	vfg_node_kind kind;
	char path[VFG_NODE_PATH_MAX]; /* logical host path, "/dev/vfio/12" */
	dev_t rdev; /* from sysfs, and the node carries it */
	bool shared; /* one node for every VM of the host */
	vfg_access access; /* path when any hostdev using it needs path access */
	unsigned group; /* IOMMU group number, for VFG_NODE_GROUP */
	uid_t uid; /* owner, group and mode found on the node */
	gid_t gid;
	mode_t mode;
} vfg_node;

/*
 * A domain's attributes: NAME and VALUE strings one after another, each ended
 * by a NUL, in a buffer of the domain's own, so a vfg_domain stays a value
 * that copies with '='. Set and read them with vfg_domain_attr_set and
 * vfg_domain_attr; which names exist is for the labelers to declare
 * (labeler.h: vfg_attr_def).
 */
#define VFG_DOMAIN_ATTRS_MAX 4096

/*
 * The core's own attribute, never a labeler's (no labeler may be named
 * "vfguard"): the labelers whose grants the domain holds, comma-separated,
 * in grant order, without the built-in ones, which always run. An apply
 * records it in the journal; audit checks those layers (docs/journal.md).
 */
#define VFG_DOMAIN_ATTR_LABELERS "vfguard.labelers"

/* One VM. Strings are "" when not given; pid is 0 when the VM does not run yet. */
typedef struct vfg_domain {
	char name[VFG_NAME_MAX];
	char uuid[VFG_UUID_STRLEN];
	uid_t uid; /* the hypervisor process's uid and gid */
	gid_t gid;
	pid_t pid;
	size_t n_hostdevs;
	const vfg_hostdev_spec *hostdevs; /* owned by the caller */
	/* What the locked-memory limit is computed from (docs/memlock.md). */
	uint64_t memory; /* guest RAM in bytes; 0 when not given: no limit is computed or set */
	bool viommu; /* the guest has a vIOMMU: each device may map all of guest RAM for itself */
	bool ipc_lock; /* the hypervisor holds CAP_IPC_LOCK (also read from /proc/PID/status): nothing is limited */
	/* ipc_lock is what the hypervisor will hold once it runs, and /proc/PID/status is not read: an OCI
	 * container at prestart is still its runtime's root, before the capabilities are dropped. */
	bool ipc_lock_known;
	size_t attrs_used; /* bytes of attrs in use */
	char attrs[VFG_DOMAIN_ATTRS_MAX];
} vfg_domain;

/* The value of attribute @name ("selinux.label"); "" when it is not set. */
const char *vfg_domain_attr(const vfg_domain *domain, const char *name);
/*
 * Set attribute @name to @value (replacing it; "" removes it). The name is
 * "LABELER.NAME" of a-z, 0-9, '_' and '-'; the value one printable line.
 * Whether a labeler declares the name is the context's to check
 * (vfg_context_domain_attr_set).
 */
int vfg_domain_attr_set(vfg_domain *domain, const char *name, const char *value, vfg_error *err);
/* Attribute @index as NAME and VALUE; false past the last. */
bool vfg_domain_attr_at(const vfg_domain *domain, size_t index, const char **name, const char **value);

/*
 * A domain name becomes part of file names: what libvirt takes for a
 * <name>, less what a file name or a terminal cannot carry. UTF-8, spaces
 * included; no control character (C0, DEL, C1), no '/', no leading '.', at
 * most VFG_NAME_MAX-1 bytes, and at most 226 once its journal's file name
 * writes each byte but A-Z a-z 0-9 . _ - as %XX (75 bytes of UTF-8).
 */
int vfg_domain_name_check(const char *name, vfg_error *err);

#ifdef __cplusplus
}
#endif
#endif
