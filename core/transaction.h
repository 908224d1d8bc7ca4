/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_TRANSACTION_H
#define VFGUARD_CORE_TRANSACTION_H

/*
 * What the three files of a domain's transactions share: apply.c (claims,
 * intents, grants, prepare), undo.c (records taken back, claims released,
 * crashed or failed runs finished) and revoke.c (revoke, restore,
 * hot-unplug).
 */

#include "journal.h"

/* ---- undo.c ---- */

/* Add @notes (lines, or NULL) to @summary's notes. */
void summary_note(vfg_change_summary *summary, const char *notes);
/*
 * The host record (records.h) of a labeler's change of @path for @dj's
 * domain: @result NULL when it was made or undone as meant.
 */
void record_change(vfg_context *ctx, record_kind kind, const domain_journal *dj, const char *labeler, const char *path,
		   const char *result, const char *text, int errnum);
/* The same for a change of PCI function @addr's driver. */
void record_driver(vfg_context *ctx, record_kind kind, const char *domain, const vfg_pci_addr *addr,
		   const vfg_error *failure);

/*
 * What each labeler's probe found for one domain, for the undos of a
 * revoke or rollback, which undo many records: probed once, as apply
 * probes once for all its grants.
 */
typedef struct undo_probes {
	vfg_probe *probes; /* by index in ctx->labelers */
	bool *probed;
} undo_probes;
void undo_probes_free(undo_probes *probes);

/*
 * Is @held, the record of @step the domain has since an earlier apply, in
 * force (labeler.h: held_in_force)? 1, always for a labeler without the
 * callback; 0, with @why (@why_size bytes) saying what is there instead:
 * apply undoes it and grants the step again; -1 with @err.
 */
int record_in_force(const vfg_context *ctx, const host_journal *hj, const vfg_plan *plan, const vfg_step *step,
		    const journal_record *held, char *why, size_t why_size, vfg_error *err);
/* Undo record @id with its labeler, journaled undone; synced with the commit, not on its own. */
int undo_record(vfg_context *ctx, host_journal *hj, domain_journal *dj, unsigned long id, undo_probes *probes,
		vfg_change_summary *summary, vfg_error *err);
/*
 * Does @record's labeler grant anything on its node for a hostdev that has
 * the node by fd (its plan for the node with fd access says so)? 1 yes, 0
 * no, -1 with @err; 1 for a labeler not loaded. A hot-unplug keeps a shared
 * node's record for the hostdevs that stay by this (revoke.c).
 */
int record_needed_by_fd(vfg_context *ctx, const host_journal *hj, const domain_journal *dj,
			const journal_record *record, undo_probes *probes, vfg_error *err);
/* Give up claim @index; a managed hostdev goes back to its original driver first. */
int release_claim(vfg_context *ctx, host_journal *hj, domain_journal *dj, size_t index, vfg_change_summary *summary,
		  vfg_error *err);
/* Roll back an apply (or prepare) that failed here and now: its undos are recorded as rollbacks. */
int rollback_failed(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
		    vfg_error *err);
/* Take back what the open apply marked (an access switch), newest first, past failures. */
int take_back_marked(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
		     bool restoring, vfg_error *err);
/* Undo all the domain holds, newest first, past failures; then release its groups and commit. */
int revoke_all(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary, vfg_error *err);
/* What a failed revoke leaves (finished by the next command, or done after its commit line), said in @err. */
void revoke_failure_explain(const domain_journal *dj, int r, vfg_error *err);
/*
 * The host lock, what an earlier boot left released (@sweep: the labelers'
 * sweeps even in the same boot), and what crashed runs left finished;
 * @subject's journal read whole (NULL: every one). @undoing: the changes
 * finishing undid count in @summary (revoke, restore).
 */
int open_and_recover(vfg_context *ctx, const char *subject, bool undoing, bool sweep, host_journal *hj,
		     vfg_change_summary *summary, vfg_error *err);

/* ---- revoke.c ---- */

/* Finish an open hot-unplug of @dj: the hostdevs it named revoked, the rest kept. */
int revoke_unplug(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary, vfg_error *err);

/* ---- apply.c ---- */

/*
 * The commands queue their host records and write them once the lock is
 * released (records.h); a command's own summary and error when the caller
 * takes none.
 */
typedef struct command_outcome {
	vfg_change_summary summary;
	vfg_error err;
} command_outcome;
void command_begin(vfg_context *ctx, const char *command, command_outcome *own, vfg_change_summary **summary,
		   vfg_error **err);
/* The command ends with @r (a function not given back to its driver fails it); its records are written. */
int command_end(vfg_context *ctx, const char *domain, int r, vfg_error *err, vfg_change_summary *summary);

#endif
