/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_MEMLOCK_H
#define VFGUARD_MEMLOCK_H

/*
 * Locked memory (docs/memlock.md). The kernel charges the guest RAM a
 * hypervisor pins for DMA against its RLIMIT_MEMLOCK; vfguard computes the
 * limit a domain needs with one formula (vfg_memlock_compute) and raises the
 * hypervisor's limit to it at apply, journaled, putting the original back at
 * revoke: the built-in labeler "memlock" (memlock/), of domain scope.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfguard/error.h>
#include <vfguard/plan.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfg_memlock_input {
	uint64_t memory; /* guest RAM, bytes */
	size_t legacy_devices; /* hostdevs on type1 containers */
	size_t iommufd_devices; /* hostdevs on iommufd */
	bool viommu; /* the guest has a vIOMMU */
	bool iommufd_per_process; /* iommufd charges the process (RLIMIT_MODE=1), not the uid */
	uint64_t extra; /* config memlock_extra: what else the hypervisor locks (ROMs, MMIO, its own mlock) */
	uint64_t page_size; /* the kernel counts whole pages */
	bool ipc_lock; /* CAP_IPC_LOCK: the kernel checks no limit */
} vfg_memlock_input;

typedef struct vfg_memlock {
	bool computed; /* false when the guest memory is not known (--memory) */
	vfg_memlock_input input;
	uint64_t process_copies; /* copies of guest RAM charged to the hypervisor process (mm->locked_vm) */
	uint64_t user_copies; /* copies charged to its uid, shared with every process of that uid */
	uint64_t required; /* the limit the formula asks for, bytes */
	char formula[512]; /* the arithmetic, for people */
	/* The hypervisor's limit now (plan with a pid): */
	bool live; /* read from the pid */
	uint64_t soft, hard; /* RLIM_INFINITY as UINT64_MAX */
	bool suffices; /* soft and hard >= required, or CAP_IPC_LOCK */
	char note[512]; /* what apply would do, or why it does nothing */
} vfg_memlock;

/* The formula, pure: fills @result from @input; fails only when the sizes overflow 64 bits. */
int vfg_memlock_compute(const vfg_memlock_input *input, vfg_memlock *result, vfg_error *err);

/* A size: a number of bytes, or with a binary unit K, M, G, T (optionally "iB" or "B"): "1G", "512MiB". */
int vfg_size_parse(const char *text, uint64_t *bytes, vfg_error *err);

/* The domain's locked-memory limit in @plan, and the hypervisor's now (the memlock labeler's probe). */
const vfg_memlock *vfg_plan_memlock(const vfg_plan *plan);

/*
 * Raise the calling process's RLIMIT_MEMLOCK (soft, and hard when below) to
 * what @plan's formula requires (docs/memlock.md), for a caller that then
 * becomes the hypervisor without CAP_IPC_LOCK (vfguard exec). Nothing when
 * the plan has no guest memory or the soft limit already suffices; never
 * lowers. Raising the hard limit needs CAP_SYS_RESOURCE.
 */
int vfg_memlock_raise_self(const vfg_plan *plan, vfg_error *err);

#ifdef __cplusplus
}
#endif
#endif
