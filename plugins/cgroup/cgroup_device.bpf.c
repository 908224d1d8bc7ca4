/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfguard's device program for one cgroup2 cgroup. The kernel runs every
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the opener's cgroup and its
 * ancestors at open and mknod (devcgroup_check_permission() ->
 * BPF_CGROUP_RUN_PROG_DEVICE_CGROUP in security/device_cgroup.c); the access
 * is allowed only when every one returns 1.
 *
 * The rules live in a hash map vfguard updates in place, so a grant or revoke
 * never reloads the program. A device is allowed when a rule covers all the
 * access asked for, looked up exactly, then with the major as a wildcard,
 * then the minor, then both.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "cgroup_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VFG_CGROUP_RULES_MAX);
	__type(key, struct vfg_cgroup_rule_key);
	__type(value, struct vfg_cgroup_rule_value);
} vfg_rules SEC(".maps");

static __always_inline int rule_covers(__u32 type, __u32 major, __u32 minor, __u32 access)
{
	struct vfg_cgroup_rule_key key = {.type = type, .major = major, .minor = minor};
	struct vfg_cgroup_rule_value *rule = bpf_map_lookup_elem(&vfg_rules, &key);
	return rule && (rule->access & access) == access;
}

SEC("cgroup/dev")
int vfg_devices(struct bpf_cgroup_dev_ctx *ctx)
{
	__u32 type = ctx->access_type & 0xffff;
	__u32 access = ctx->access_type >> 16;
	return rule_covers(type, ctx->major, ctx->minor, access) ||
	       rule_covers(type, VFG_CGROUP_WILDCARD, ctx->minor, access) ||
	       rule_covers(type, ctx->major, VFG_CGROUP_WILDCARD, access) ||
	       rule_covers(type, VFG_CGROUP_WILDCARD, VFG_CGROUP_WILDCARD, access);
}

/* No GPL-only helper is called (bpf_map_lookup_elem is not), so the project's own licence. */
char LICENSE[] SEC("license") = "LGPL-2.1-or-later";
