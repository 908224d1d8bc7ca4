/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_MEMLOCK_MEMLOCK_H
#define VFGUARD_MEMLOCK_MEMLOCK_H

/*
 * The hypervisor's RLIMIT_MEMLOCK (docs/memlock.md), a built-in labeler of
 * domain scope whose subject is the process, "/proc/PID". memlock.c holds
 * the formula and what is read of a process; memlock_labeler.c the labeler.
 */

#include <sys/resource.h>

#include "internal.h"

extern const vfg_labeler vfg_memlock_labeler;

/* "4 GiB" when exact, else "N bytes"; "unlimited" for UINT64_MAX. Returns @buf. */
const char *memlock_size_text(uint64_t bytes, char *buf, size_t size);

/* RLIM_INFINITY and UINT64_MAX are the same "unlimited" for the formula's comparisons. */
uint64_t memlock_limit_value(rlim_t value);
/* A limit as /proc/PID/limits and the undo text have it: bytes, or "unlimited". */
bool memlock_limit_parse(const char *text, rlim_t *value);
void memlock_limit_format(char *buf, size_t size, uint64_t value);

/* When @pid started (/proc/PID/stat), so a reused pid is told apart; ESRCH when it does not run. */
int memlock_process_start_time(pid_t pid, unsigned long long *start, vfg_error *err);
/* @pid's soft and hard RLIMIT_MEMLOCK as anyone may read them; -ESRCH or -EIO. */
int memlock_process_limits(pid_t pid, uint64_t *soft, uint64_t *hard);
/* @pid holds CAP_IPC_LOCK as the hypervisor of uid @uid it is to be. */
bool memlock_process_has_ipc_lock(pid_t pid, uid_t uid);

#endif
