/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_FDS_H
#define VFGUARD_FDS_H

/*
 * The fd broker (docs/fds.md). With fd access the manager, not the
 * hypervisor, opens the nodes: vfg_domain_open_fds opens every fd-access
 * node of the plan O_RDWR|O_CLOEXEC, each checked to be the character device
 * sysfs names, and sets iommufd's per-process accounting at once. The fds
 * then go to the hypervisor one of three ways: inherited across exec
 * (vfg_fdset_install), sent over a unix socket (vfg_fdset_send), or taken
 * from the set by the caller itself. Then what the exec'ed hypervisor needs:
 * no privileges, and its arguments.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include <vfguard/context.h>
#include <vfguard/error.h>
#include <vfguard/model.h>
#include <vfguard/plan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a failed IOMMU_OPTION RLIMIT_MODE=1 means (config key rlimit_mode). */
typedef enum vfg_rlimit_mode {
	VFG_RLIMIT_MODE_REQUIRED = 0, /* an error: nothing stays open */
	VFG_RLIMIT_MODE_WARN, /* a warning in the set; pinned pages stay charged to the user */
	VFG_RLIMIT_MODE_OFF, /* not tried */
} vfg_rlimit_mode;

int vfg_rlimit_mode_parse(const char *text, vfg_rlimit_mode *mode, vfg_error *err);
const char *vfg_rlimit_mode_name(vfg_rlimit_mode mode);

/* Whom the kernel charges for the pages the domain pins for DMA. */
typedef enum vfg_accounting {
	VFG_ACCOUNTING_NONE = 0, /* no fd-access node needs it (no iommufd in the set) */
	VFG_ACCOUNTING_PROCESS, /* iommufd RLIMIT_MODE=1, set and read back: the process that pins */
	VFG_ACCOUNTING_USER, /* iommufd left in RLIMIT_MODE=0 (warn or off): the user, shared by all its VMs */
	VFG_ACCOUNTING_TYPE1, /* legacy type1: always the process (mm->locked_vm) */
} vfg_accounting;

const char *vfg_accounting_name(vfg_accounting accounting);

typedef struct vfg_fd_options {
	/* NULL: the configuration key rlimit_mode (default required). */
	const char *rlimit_mode;
} vfg_fd_options;

/* One open node. */
typedef struct vfg_fd {
	size_t node; /* index into the plan's nodes */
	vfg_node_kind kind;
	char path[VFG_PATH_MAX]; /* logical host path */
	int fd; /* -1 once handed over or closed */
} vfg_fd;

/* A hostdev of the set: which fd is its group or cdev, and its VF token. */
typedef struct vfg_fd_hostdev {
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_backend backend;
	size_t fd; /* index into the set's fds */
	char vf_token[VFG_UUID_STRLEN]; /* "" when none */
	char mdev[VFG_UUID_STRLEN]; /* an mdev's UUID, bdf then ""; "" for a PCI function (added last: VFGUARD_0.5) */
} vfg_fd_hostdev;

typedef struct vfg_fdset {
	char domain[VFG_NAME_MAX];
	uid_t uid; /* the hypervisor's: the only peer vfg_fdset_send hands the fds to */
	gid_t gid;
	size_t n_fds;
	vfg_fd *fds; /* in the plan's node order */
	size_t n_hostdevs;
	vfg_fd_hostdev *hostdevs; /* the fd-access hostdevs, in the plan's order */
	vfg_accounting accounting;
	char warnings[1024]; /* one line each, "" when none */
} vfg_fdset;

/*
 * Open the plan's fd-access nodes: /dev/iommu or the container once, each
 * cdev or group once. Only for a domain that holds every hostdev's IOMMU
 * group (vfg_plan_apply first) with the plan's backend and access: a group
 * another domain holds fails (EBUSY) naming that domain, a hostdev the
 * domain does not hold (EPERM) saying to apply first. A group another
 * process holds open fails (EBUSY), naming the group and its hostdevs. On
 * any failure nothing stays open.
 */
int vfg_domain_open_fds(vfg_context *ctx, const vfg_plan *plan, const vfg_fd_options *options, vfg_fdset **fdset,
			vfg_error *err);
/* Close the fds still held (vfguard's own copies). */
void vfg_fdset_close(vfg_fdset *fdset);
/* Close and free. */
void vfg_fdset_free(vfg_fdset *fdset);

/*
 * Send every fd over the connected unix socket @sockfd, in one SCM_RIGHTS
 * message with their description (docs/fds.md), to a peer whose SO_PEERCRED
 * uid is the domain's; another peer is refused (EACCES, naming its pid and
 * uid) and gets nothing. After a successful send the set's own copies are
 * closed.
 */
int vfg_fdset_send(vfg_fdset *fdset, int sockfd, vfg_error *err);

/*
 * For exec: move the fds to @base, @base+1, ... in order, without
 * FD_CLOEXEC, and close every other descriptor from 3 up. 0, 1 and 2 stay.
 */
int vfg_fdset_install(vfg_fdset *fdset, int base, vfg_error *err);
/* The environment the exec'ed command gets (docs/fds.md): "NAME=VALUE" strings, NULL-terminated; free each and the
 * array. The fds must be installed. */
char **vfg_fdset_environment(const vfg_fdset *fdset);

/*
 * Drop every capability: effective, permitted, inheritable, ambient and the
 * bounding set; with @change_id, become @uid:@gid first (no supplementary
 * groups). Read back from the kernel: an error unless none is left.
 */
int vfg_privileges_drop(bool change_id, uid_t uid, gid_t gid, vfg_error *err);

/*
 * The QEMU arguments for the plan's hostdevs when their fd-access nodes are
 * at @fd_base, @fd_base+1, ... in plan order (as vfg_fdset_install puts
 * them). Fails for a legacy hostdev with fd access: QEMU takes pre-opened
 * VFIO fds only with iommufd (docs/fds.md).
 */
int vfg_qemu_args_write_text(const vfg_plan *plan, int fd_base, FILE *out, vfg_error *err);
int vfg_qemu_args_write_json(const vfg_plan *plan, int fd_base, FILE *out, vfg_error *err);

#ifdef __cplusplus
}
#endif
#endif
