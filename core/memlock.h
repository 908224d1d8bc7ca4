/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_MEMLOCK_H
#define VFGUARD_CORE_MEMLOCK_H

/*
 * The hypervisor's RLIMIT_MEMLOCK as a change of the domain (docs/memlock.md):
 * planned with the formula, raised at apply, put back at revoke, all through
 * the journal as a record of the pseudo-labeler "memlock" whose node is no
 * device node but the process, "/proc/PID" (journal_record.no_node).
 */

#include "journal.h"

#define MEMLOCK_LABELER "memlock"

/* "4 GiB" when exact, else "N bytes"; "unlimited" for UINT64_MAX. Returns @buf. */
const char *memlock_size_text(uint64_t bytes, char *buf, size_t size);

/* Apply would raise the pid's limit: computed, read from a running pid, and too low. */
bool memlock_would_raise(const vfg_memlock *memlock);

/* The formula's inputs from the plan, the domain and the config; the pid's limit now. Reads, changes nothing. */
int memlock_plan(const vfg_context *ctx, vfg_plan *plan, vfg_error *err);

/* Read the pid's RLIMIT_MEMLOCK into plan->memlock (live, soft, hard, suffices). */
void memlock_read_live(const vfg_plan *plan, vfg_memlock *memlock);

/*
 * At apply, after the grants: raise the pid's limit to the required one
 * (soft and hard, never lowering either), journaled with the original before
 * the change. A domain without memory, pid or need changes nothing; a record
 * of an earlier pid of the domain is undone first.
 */
int memlock_apply(host_journal *hj, domain_journal *dj, const vfg_plan *plan, vfg_change_summary *summary,
		  vfg_error *err);

/* Undo one memlock record: the original limit back on its process, unless that process is gone (noted). */
int memlock_undo(const journal_record *record, char **notes, vfg_error *err);

#endif
