/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_PLUGINS_CGROUP_BPF_H
#define VFGUARD_PLUGINS_CGROUP_BPF_H

/*
 * The layout the device program and its loader (cgroup_v2_bpf.c) and the
 * labeler (cgroup_v2.c) share: one hash map of rules, looked up by the program on
 * every open and mknod in the cgroup, written only by vfguard.
 *
 * The type and access bits are the kernel's own (include/uapi/linux/bpf.h):
 * BPF_DEVCG_DEV_BLOCK 1, BPF_DEVCG_DEV_CHAR 2; BPF_DEVCG_ACC_MKNOD 1,
 * BPF_DEVCG_ACC_READ 2, BPF_DEVCG_ACC_WRITE 4. The program gets them packed
 * in bpf_cgroup_dev_ctx.access_type as (access << 16) | type.
 */

#include <linux/types.h>

/* A major or minor of ~0 in a key matches every number ("c 136:* rw"). */
#define VFG_CGROUP_WILDCARD 0xffffffffu

/* Enough for a host's worth of hostdevs and the base list; the map's size is fixed at load. */
#define VFG_CGROUP_RULES_MAX 8192

/* Names the loader finds the program and its map by, in a later process (BPF_OBJ_NAME_LEN is 16). */
#define VFG_CGROUP_PROG_NAME "vfg_devices"
#define VFG_CGROUP_MAP_NAME "vfg_rules"

struct vfg_cgroup_rule_key {
	__u32 type; /* BPF_DEVCG_DEV_CHAR or BPF_DEVCG_DEV_BLOCK */
	__u32 major; /* or VFG_CGROUP_WILDCARD */
	__u32 minor; /* or VFG_CGROUP_WILDCARD */
};

enum {
	VFG_CGROUP_RULE_BASE = 1u << 0, /* seeded from cgroup_base_devices when the program was attached */
	VFG_CGROUP_RULE_GRANT = 1u << 1, /* a domain's grant: the program stays while any rule has it */
};

struct vfg_cgroup_rule_value {
	__u32 access; /* BPF_DEVCG_ACC_* bits the rule allows */
	__u32 flags; /* VFG_CGROUP_RULE_*; the program ignores them */
};

#endif
