/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_HOSTTREE_HOSTTREE_INTERNAL_H
#define VFGUARD_HOSTTREE_HOSTTREE_INTERNAL_H

/*
 * hosttree: a host manifest turned into a tree shaped like /sys and /dev.
 *
 * Two passes. The parser (hosttree_manifest.c) reads the whole manifest into a
 * struct host_manifest and resolves every reference (groups, parents, physical
 * functions), so a bad manifest fails before the first mkdir. The builder
 * (hosttree_build.c) then creates each path with *at() calls on directory fds
 * opened O_NOFOLLOW, one component at a time: a symlink already inside the
 * tree is never followed out of it.
 *
 * This header is what the two passes share: the parsed manifest and the
 * function that produces it. Nothing outside hosttree/hosttree*.c includes it.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#include <vfguard/util.h> /* the cleanup attributes, vfg_write_all */

/* Fill @errbuf (when given) and return -1, so a failure reads "return report(...)". */
__attribute__((format(printf, 3, 4))) static inline int report(char *errbuf, size_t errlen, const char *fmt, ...)
{
	if (errbuf && errlen > 0) {
		va_list args;
		va_start(args, fmt);
		vsnprintf(errbuf, errlen, fmt, args);
		va_end(args);
	}
	return -1;
}

/* Paths below the root are built in buffers of Linux's PATH_MAX. */
#define TREE_PATH_MAX 4096

/* "DDDD:BB:DD.F" and its NUL: the kernel's pci_name() of a function. */
#define PCI_ADDRESS_SIZE 13

/* A driver name becomes a directory in /sys/bus/pci/drivers. */
#define DRIVER_NAME_SIZE 64

struct misc_node_spec {
	const char *name; /* as in "misc NAME" and /sys/class/misc/NAME */
	const char *node_path; /* below the root */
	mode_t mode;
};

/* Entries of misc_node_specs (hosttree_manifest.c): vfio and iommu. */
#define MISC_NODE_COUNT 2

struct device_number {
	unsigned long major;
	unsigned long minor;
};

struct manifest_misc {
	unsigned line;
	const struct misc_node_spec *spec;
	struct device_number number;
};

struct manifest_group {
	unsigned line;
	unsigned long id;
	bool has_node; /* a member is bound to a vfio driver, so /dev/vfio/N exists */
	struct device_number node;
};

#define NO_DEVICE ((size_t)-1)

struct manifest_device {
	unsigned line;
	char address[PCI_ADDRESS_SIZE];
	char directory[TREE_PATH_MAX]; /* below the root: sys/devices/pci0000:00/0000:00:01.0 */
	unsigned long group;
	unsigned long vendor;
	unsigned long device;
	unsigned long class;
	unsigned long header;
	char driver[DRIVER_NAME_SIZE]; /* "" when unbound */
	bool has_cdev;
	unsigned long cdev_index; /* K of vfio-dev/vfioK */
	struct device_number cdev;
	size_t parent; /* index in the manifest's devices; NO_DEVICE on a root bus */
	size_t physfn; /* index of its PF; NO_DEVICE when not a VF */
	unsigned virtfn_index; /* as a VF: I of the PF's virtfnI link */
	unsigned virtfn_count; /* as a PF: VFs that named it so far */
};

/* Loaded drivers with no device bound yet ("driver NAME"); bound ones come from devices. */
#define MANIFEST_DRIVERS_MAX 16

struct host_manifest {
	struct manifest_misc misc[MISC_NODE_COUNT];
	size_t misc_count;
	char drivers[MANIFEST_DRIVERS_MAX][DRIVER_NAME_SIZE];
	unsigned driver_lines[MANIFEST_DRIVERS_MAX];
	size_t driver_count;
	struct manifest_group *groups;
	size_t group_count;
	size_t group_capacity;
	struct manifest_device *devices;
	size_t device_count;
	size_t device_capacity;
};

void host_manifest_free(struct host_manifest *manifest);

#define cleanup_manifest __attribute__((cleanup(host_manifest_free)))

/* Parse @text into @manifest, which must start zeroed; free it with
 * host_manifest_free() whatever this returns. Returns 0, or -1 with
 * "LINE N: REASON" in @errbuf. */
int manifest_parse(struct host_manifest *manifest, const char *text, char *errbuf, size_t errlen);

#endif
