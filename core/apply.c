/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Apply, revoke and restore: the plan's steps carried out as one journaled
 * transaction per domain, under the host lock.
 *
 * apply     claims the hostdevs' IOMMU groups (refusing one another domain
 *           holds, or one this domain holds with another backend), then
 *           journals the intent of every grant step whose labeler can say
 *           its undo before any change (labeler.h: intent), makes them all
 *           durable with one sync, and runs each labeler's grant in plan
 *           order. A grant step the domain already holds is kept (apply
 *           twice changes nothing); a node the plan now gives fd access, but
 *           an earlier run granted by path, has that grant revoked. The
 *           first failure undoes every change of the transaction, newest
 *           first.
 * revoke    undoes every record of the domain, newest first, and releases
 *           its groups. It goes on past a failure, so as much as possible is
 *           taken back, and leaves the transaction open for restore.
 * restore   finishes what crashed runs left: an unfinished apply is undone,
 *           an unfinished revoke completed. apply and revoke do the same
 *           first, since under the lock an open transaction has no owner.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"

static void summary_note(vfg_change_summary *summary, const char *notes)
{
	if (!summary || !notes)
		return;
	size_t used = strlen(summary->notes);
	vfg_strlcatf(summary->notes, sizeof(summary->notes), used, "%s", notes);
}

/*
 * The host record (records.h) of a labeler's change of @path for @dj's
 * domain: @result NULL when it was made or undone as meant.
 */
static void record_change(vfg_context *ctx, record_kind kind, const domain_journal *dj, const char *labeler,
			  const char *path, const char *result, const char *text, int errnum)
{
	host_records_add(ctx, &(host_record){.kind = kind,
					     .domain = dj->domain->name,
					     .labeler = labeler,
					     .node = path,
					     .result = result,
					     .text = text,
					     .errnum = errnum});
}

/* The same for a change of PCI function @addr's driver. */
static void record_driver(vfg_context *ctx, record_kind kind, const char *domain, const vfg_pci_addr *addr,
			  const vfg_error *failure)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	host_records_add(ctx, &(host_record){.kind = kind,
					     .domain = domain,
					     .device = vfg_pci_addr_format(addr, bdf),
					     .result = failure ? "failed" : NULL,
					     .text = failure ? failure->message : NULL,
					     .errnum = failure ? failure->errnum : 0});
}

/*
 * What each labeler's probe found for one domain, for the undos of a
 * revoke or rollback, which undo many records: probed once, as apply
 * probes once for all its grants.
 */
typedef struct undo_probes {
	vfg_probe *probes; /* by index in ctx->labelers */
	bool *probed;
} undo_probes;

static void undo_probes_free(undo_probes *probes)
{
	free(probes->probes);
	free(probes->probed);
}

/* The probe of labeler @index for @dj: from @probes when it holds it, else made now (and kept there). */
static int undo_probe(vfg_context *ctx, const domain_journal *dj, size_t index, const vfg_labeler_env *env,
		      undo_probes *probes, vfg_probe *probe, vfg_error *err)
{
	const vfg_labeler *labeler = ctx->labelers[index];
	if (probes && !probes->probes) {
		probes->probes = calloc(ctx->n_labelers, sizeof(*probes->probes));
		probes->probed = calloc(ctx->n_labelers, sizeof(*probes->probed));
		if (!probes->probes || !probes->probed)
			return vfg_error_set(err, ENOMEM, dj->domain->name, "cannot undo");
	}
	if (probes && probes->probed[index]) {
		*probe = probes->probes[index];
		return 0;
	}
	memset(probe, 0, sizeof(*probe));
	vfg_domain domain;
	journal_domain_copy(dj, &domain);
	if (labeler->probe(env, &domain, probe, err) < 0)
		return -1;
	if (probes) {
		probes->probes[index] = *probe;
		probes->probed[index] = true;
	}
	return 0;
}

/* Does the revoke under way drop @dj's records of @labeler undone (vfg_domain_revoke_forgetting)? */
static bool forgetting(const vfg_context *ctx, const domain_journal *dj, const char *labeler)
{
	if (!ctx->forget.domain || strcmp(ctx->forget.domain, dj->domain->name) != 0)
		return false;
	for (const char *const *name = ctx->forget.labelers; name && *name; name++)
		if (strcmp(*name, labeler) == 0)
			return true;
	return false;
}

/*
 * A record of @labeler, which is not loaded: nothing here can undo it. The
 * refusal names every node the domain holds a grant of it on, why it is not
 * loaded, and the two ways out (ENOPKG: no retry finishes it as it is).
 */
static int labeler_missing(const vfg_context *ctx, const domain_journal *dj, const journal_record *record,
			   vfg_error *err)
{
	const char *labeler = record->labeler, *name = dj->domain->name;
	char nodes[1024] = "";
	size_t used = 0, n = 0;
	for (size_t i = 0; i < dj->n_records; i++)
		if (strcmp(dj->records[i]->labeler, labeler) == 0)
			used = vfg_strlcatf(nodes, sizeof(nodes), used, "%s%s", n++ ? ", " : "",
					    dj->records[i]->node.path);
	char module[VFG_PATH_MAX + VFG_NAME_MAX + 16];
	snprintf(module, sizeof(module), "%s/vfguard-%s.so", ctx->plugin_dir, labeler);
	bool present = access(module, F_OK) == 0;
	const char *held = vfg_domain_attr(dj->domain, VFG_DOMAIN_ATTR_LABELERS);
	char load[VFG_DOMAIN_ATTRS_MAX + 64];
	if (present)
		snprintf(load, sizeof(load), "--set labelers=%s, or labelers in vfguard.conf",
			 held[0] ? held : labeler);
	else
		snprintf(load, sizeof(load), "put its module %s back", module);
	return vfg_error_refuse(
		err, ENOPKG, record->node.path,
		"domain %s holds %zu grant%s of labeler %s (%s), which is not loaded here (%s): nothing here can "
		"undo %s; either load it (%s) and run this again, or drop %s from the journal without undoing "
		"%s: vfguard revoke --domain %s --forget %s, which prints what each would have put back, to "
		"undo by hand",
		name, n, n == 1 ? "" : "s", labeler, nodes,
		present ? "config key labelers leaves it out" : "its module is missing", n == 1 ? "it" : "them", load,
		n == 1 ? "it" : "them", n == 1 ? "it" : "them", VFG_NAME_SHELL(name), labeler);
}

/*
 * Record @record of a labeler not loaded: dropped without its undo when the
 * revoke under way forgets that labeler for this domain, told first with
 * its undo text for the administrator to put back by hand (1: as a record
 * left alone, nothing was put back); else refused.
 */
static int forget_record(vfg_context *ctx, host_journal *hj, domain_journal *dj, const journal_record *record,
			 vfg_error *err)
{
	if (!forgetting(ctx, dj, record->labeler))
		return labeler_missing(ctx, dj, record, err);
	const char *undo = record->undo ? record->undo : "";
	if (ctx->forget.fn)
		ctx->forget.fn(record->labeler, record->node.path, undo, ctx->forget.data);
	record_change(ctx, ctx->records.undo_kind, dj, record->labeler, record->node.path, "forgotten", undo, 0);
	return domain_journal_undone(hj, dj, record->id, err) < 0 ? -1 : 1;
}

/*
 * Undo the change of record @id with its labeler's revoke, then journal it
 * undone: 0, or 1 when the labeler found the node gone or replaced and put
 * nothing back (vfg_txn_unopened; a note says so), which is no change undone.
 */
static int undo_record_now(vfg_context *ctx, host_journal *hj, domain_journal *dj, unsigned long id,
			   undo_probes *probes, vfg_change_summary *summary, vfg_error *err)
{
	const journal_record *record = domain_journal_find_record_id(dj, id);
	if (!record)
		return vfg_error_set(err, ENOENT, dj->path, "no journal record %lu", id);
	size_t index = 0;
	while (index < ctx->n_labelers && strcmp(ctx->labelers[index]->name, record->labeler) != 0)
		index++;
	if (index == ctx->n_labelers)
		return forget_record(ctx, hj, dj, record, err);
	const vfg_labeler *labeler = ctx->labelers[index];
	vfg_probe probe;
	txn_view view;
	vfg_labeler_env env = txn_view_env(ctx, &view, hj, labeler->name);
	/*
	 * A record of a boot that is over goes to the labeler's boot_release,
	 * unprobed: what a probe looks at (the domain's pid, its cgroup) may be
	 * another's now (labeler.h). Without one, revoke, probed as ever.
	 */
	int (*undo)(const vfg_labeler_env *, const vfg_domain *, const vfg_probe *, const vfg_node *, vfg_txn *,
		    vfg_error *) = labeler->revoke;
	if (ctx->records.undo_kind == RECORD_BOOT_RELEASE && VFG_LABELER_OPTIONAL(labeler, boot_release)) {
		undo = labeler->boot_release;
		memset(&probe, 0, sizeof(probe));
	} else if (undo_probe(ctx, dj, index, &env, probes, &probe, err) < 0) {
		return -1;
	}
	vfg_node node;
	journal_record_node(record, &node);
	/*
	 * A rollback tells of the changes made and of the one that failed (it may
	 * be half made); the intents it left unmade are undone, and not told.
	 * After a crash (restore) nobody knows: each undo is told.
	 */
	bool told = ctx->records.undo_kind != RECORD_ROLLBACK || record->done || id == ctx->records.failed_record;
	vfg_txn txn = {.hj = hj, .dj = dj, .labeler = labeler->name};
	vfg_domain domain;
	journal_domain_copy(dj, &domain);
	int r = txn_result(&txn, undo(&env, &domain, &probe, &node, &txn, err), err);
	summary_note(summary, txn.notes);
	if (r < 0) {
		record_change(ctx, ctx->records.undo_kind, dj, labeler->name, node.path, "failed", err->message,
			      err->errnum);
		vfg_error_prefix(err, "revoke (%s %s) of domain %s", labeler->name, node.path, dj->domain->name);
	} else if (told) {
		record_change(ctx, ctx->records.undo_kind, dj, labeler->name, node.path,
			      txn.left_alone ? "left-alone" : NULL, txn.left_alone ? txn.notes : NULL, 0);
	}
	free(txn.notes);
	if (r < 0 || domain_journal_undone(hj, dj, id, err) < 0)
		return -1;
	return txn.left_alone ? 1 : 0;
}

/*
 * The same, as every undo runs: what it journals (the mark, side state it
 * drops) is synced with the commit, not on its own. Lost with a crash, the
 * record is undone again, which puts back the same.
 */
static int undo_record(vfg_context *ctx, host_journal *hj, domain_journal *dj, unsigned long id, undo_probes *probes,
		       vfg_change_summary *summary, vfg_error *err)
{
	bool batch = domain_journal_batch(dj, true);
	int r = undo_record_now(ctx, hj, dj, id, probes, summary, err);
	domain_journal_batch(dj, batch);
	return r;
}

/* Give up a claim; a managed hostdev goes back to its original driver first. */
static int release_claim(vfg_context *ctx, host_journal *hj, domain_journal *dj, size_t index,
			 vfg_change_summary *summary, vfg_error *err)
{
	journal_claim claim = dj->claims[index];
	if (claim.managed && ctx->records.undo_kind == RECORD_BOOT_RELEASE) {
		/*
		 * The detach's sysfs writes died with its boot: the function is
		 * bound as this boot's kernel (or its admin) chose, which a
		 * reattach would undo. Only the driver record is dropped.
		 */
		bool dropped = false;
		if (vfg_pci_driver_record_drop(ctx, &claim.addr, &dropped, err) < 0) {
			record_driver(ctx, RECORD_BOOT_RELEASE, dj->domain->name, &claim.addr, err);
			return -1;
		}
		if (dropped)
			record_driver(ctx, RECORD_BOOT_RELEASE, dj->domain->name, &claim.addr, NULL);
	} else if (claim.managed) {
		vfg_driver_binding binding;
		vfg_error reattach = {0};
		bool given_back, unrecorded;
		/* No driver record: the crash came before the detach began; there is nothing to give back. */
		int r = vfg_pci_reattach_unlocked(ctx, &claim.addr, &binding, &given_back, &unrecorded, &reattach);
		if ((r == 0 && binding.changed) || (r < 0 && !unrecorded))
			record_driver(ctx, RECORD_REATTACH, dj->domain->name, &claim.addr, r < 0 ? &reattach : NULL);
		char bdf[VFG_PCI_ADDR_STRLEN], note[VFG_ERROR_MESSAGE_MAX + 64];
		if (r < 0 && reattach.errnum == ENODEV) {
			/* the function is gone: nothing to give back, and nothing left to retry */
			snprintf(note, sizeof(note), "managed hostdev %s\n", reattach.message);
			summary_note(summary, note);
		} else if (r < 0 && !unrecorded && !ctx->reattach_failure.message[0]) {
			/*
			 * The driver refused it, or a VFIO user still holds it, or
			 * only its record could not be dropped. Holding the revoke
			 * open for it would stop every command on the host, and the
			 * domain's grants are taken back all the same: the claim
			 * goes, the driver record stays for vfguard reattach, and the
			 * command fails with this once the rest is done (command_end).
			 */
			ctx->reattach_failure = reattach;
			vfg_pci_addr_format(&claim.addr, bdf);
			if (given_back)
				vfg_error_prefix(
					&ctx->reattach_failure,
					"managed hostdev %s of domain %s is back on its original driver (%s), but "
					"its driver record could not be dropped (run vfguard reattach %s to drop it)",
					bdf, dj->domain->name, binding.original[0] ? binding.original : "none", bdf);
			else
				vfg_error_prefix(
					&ctx->reattach_failure,
					"managed hostdev %s of domain %s could not be given back to its original "
					"driver (its driver record stays: run vfguard reattach %s once the cause is "
					"gone)",
					bdf, dj->domain->name, bdf);
		}
		if (r == 0 && binding.changed && summary)
			summary->changed++; /* the detach undone counts as apply counted it */
	}
	char name[VFG_HOSTDEV_NAME_MAX];
	return domain_journal_release(hj, dj, journal_claim_name(&claim, name), err);
}

/* The open transaction released an earlier claim of @name (domain_journal_remove_claim()). */
static bool claim_released(const domain_journal *dj, const char *name)
{
	char released[VFG_HOSTDEV_NAME_MAX];
	for (size_t i = 0; i < dj->n_released; i++)
		if (strcmp(journal_claim_name(&dj->released[i], released), name) == 0)
			return true;
	return false;
}

/* Undo every record the open transaction made, newest first, release its claims and commit. */
static int rollback_now(vfg_context *ctx, host_journal *hj, domain_journal *dj, undo_probes *probes,
			vfg_change_summary *summary, vfg_error *err)
{
	unsigned long txn = dj->open_txn;
	for (size_t i = dj->n_records; i-- > 0;) {
		if (i >= dj->n_records || dj->records[i]->txn != txn)
			continue;
		int r = undo_record(ctx, hj, dj, dj->records[i]->id, probes, summary, err);
		if (r < 0)
			return -1;
		if (summary && r == 0)
			summary->changed++; /* a change undone, as revoke counts them */
	}
	for (size_t i = dj->n_claims; i-- > 0;) {
		if (i >= dj->n_claims || dj->claims[i].txn != txn)
			continue;
		char name[VFG_HOSTDEV_NAME_MAX];
		journal_claim_name(&dj->claims[i], name);
		/*
		 * A claim made anew over an earlier one (an access or backend
		 * switch) goes without a reattach: the earlier claim comes back
		 * below, and a managed function stays detached under it.
		 */
		int r = claim_released(dj, name) ? domain_journal_release(hj, dj, name, err)
						 : release_claim(ctx, hj, dj, i, summary, err);
		if (r < 0)
			return -1;
	}
	/* What the transaction released of an earlier one's claims is claimed again, as it was. */
	for (size_t i = 0; i < dj->n_released; i++)
		if (domain_journal_claim(dj, &dj->released[i], err) < 0)
			return -1;
	dj->n_released = 0;
	/* Side state the undone apply set goes with it (labeler.h). */
	return domain_journal_drop_txn_states(hj, dj, err);
}

/* The same, its journaling made durable by the commit alone, as every undo's (undo_record). */
static int rollback(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary, vfg_error *err)
{
	undo_probes probes = {0};
	bool batch = domain_journal_batch(dj, true);
	int r = rollback_now(ctx, hj, dj, &probes, summary, err);
	domain_journal_batch(dj, batch);
	undo_probes_free(&probes);
	return r < 0 ? -1 : domain_journal_commit(hj, dj, err);
}

/* rollback() of a transaction that failed here and now: its undos are recorded as rollbacks. */
static int rollback_failed(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
			   vfg_error *err)
{
	record_kind undo_kind = ctx->records.undo_kind;
	ctx->records.undo_kind = RECORD_ROLLBACK;
	int r = rollback(ctx, hj, dj, summary, err);
	ctx->records.undo_kind = undo_kind;
	return r;
}

/*
 * Undo the domain's records, newest first, past failures: every one, or
 * (@marked) those the open apply marked to take back. Each undone counts
 * in *@counted, as does one left alone when @left_alone_counts. Returns how
 * many failed: the first failure in @err, and the undone marks of the
 * others written, so that status tells what is left and a retry redoes
 * only that.
 */
static size_t undo_past_failures(vfg_context *ctx, host_journal *hj, domain_journal *dj, bool marked,
				 vfg_change_summary *summary, size_t *counted, bool left_alone_counts, vfg_error *err)
{
	size_t failed = 0;
	undo_probes probes = {0};
	for (size_t i = dj->n_records; i-- > 0;) {
		vfg_error one = {0};
		if (i >= dj->n_records || (marked && dj->records[i]->takeback != dj->open_txn))
			continue;
		int r = undo_record(ctx, hj, dj, dj->records[i]->id, &probes, summary, &one);
		if (r < 0 && !failed++)
			*err = one;
		/* left alone (1): the note says why, and nothing was put back */
		if (counted && (r == 0 || (r > 0 && left_alone_counts)))
			(*counted)++;
	}
	undo_probes_free(&probes);
	if (failed) {
		vfg_error unwritten = {0};
		domain_journal_write(hj, dj, &unwritten);
	}
	return failed;
}

/* Undo all the domain holds, newest first, past failures; then release its groups and commit. */
static int revoke_all(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
		      vfg_error *err)
{
	size_t failed = undo_past_failures(ctx, hj, dj, false, summary, summary ? &summary->changed : NULL, false, err);
	if (failed) {
		/* A labeler not loaded (ENOPKG): a retry fails the same, and the error says the ways out. */
		vfg_error_prefix(err, "%zu change%s of domain %s could not be undone%s; the first", failed,
				 failed > 1 ? "s" : "", dj->domain->name,
				 err->errnum == ENOPKG ? "" : " (run vfguard restore to retry)");
		return -1;
	}
	while (dj->n_claims > 0)
		if (release_claim(ctx, hj, dj, dj->n_claims - 1, summary, err) < 0)
			return -1;
	return domain_journal_commit(hj, dj, err);
}

/*
 * A revoke that failed with its transaction open (a journal write, not a
 * labeler: revoke_all says so itself) is finished by the next apply, revoke
 * or restore; the error says so. One that failed after its commit line is done.
 */
static void revoke_failure_explain(const domain_journal *dj, int r, vfg_error *err)
{
	if (r == 0 || strstr(err->message, "vfguard restore") || err->errnum == ENOPKG)
		return;
	if (dj->commit_written)
		vfg_error_prefix(err, "the revoke of domain %s is complete and committed, but", dj->domain->name);
	else if (dj->open_txn)
		vfg_strlcatf(err->message, sizeof(err->message), strlen(err->message),
			     "; the revoke of domain %s stays open: run vfguard restore to finish it",
			     dj->domain->name);
}

/*
 * Take back what the open apply marked (domain_journal_takeback), newest
 * first, past failures: an access switch once its grants are all made and
 * its forward line is written, or restore finishing one a crash left past
 * it. Each counts in @summary as revoked (apply) or, @restoring, changed
 * (restore's "changes undone").
 */
static int take_back_marked(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
			    bool restoring, vfg_error *err)
{
	size_t *counted = !summary ? NULL : restoring ? &summary->changed : &summary->revoked;
	size_t failed = undo_past_failures(ctx, hj, dj, true, summary, counted, !restoring, err);
	if (!failed)
		return 0;
	vfg_error_prefix(err, "%zu of the path grants fd access no longer needs could not be taken back; the first",
			 failed);
	return -1;
}

/* Finish an access switch a crash left past its forward line: what it marked is taken back, and it commits. */
static int forward_finish(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
			  vfg_error *err)
{
	dj->n_released = 0; /* the switch stands: what it released stays released */
	return take_back_marked(ctx, hj, dj, summary, true, err) < 0 ? -1 : domain_journal_commit(hj, dj, err);
}

static int revoke_unplug(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
			 vfg_error *err);

/* Finish @dj's transaction if a crashed run left it open. */
static int recover_domain(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
			  vfg_error *err)
{
	if (!dj->open_txn)
		return domain_journal_remove_empty(hj, dj, err);
	int r = dj->forward                        ? forward_finish(ctx, hj, dj, summary, err)
		: dj->open_op != JOURNAL_OP_REVOKE ? rollback(ctx, hj, dj, summary, err)
		: dj->n_unplug                     ? revoke_unplug(ctx, hj, dj, summary, err)
						   : revoke_all(ctx, hj, dj, summary, err);
	if (r < 0) {
		vfg_error_prefix(err, "finishing the %s of domain %s that a crashed or failed run left open",
				 journal_op_name(dj->open_op), dj->domain->name);
		return -1;
	}
	if (summary)
		summary->recovered++;
	return 0;
}

/*
 * Another domain's open transaction that this context cannot finish (a
 * record of a labeler not loaded: ENOPKG) need not stop a command about
 * @subject: it stays open, as it would whatever this command did, and what
 * this command reads of it is what a committed domain shows. Its claims
 * keep their groups (ownership), its records count as a shared node's
 * holders with their originals, its side state stays held; the undone
 * marks of what it did undo are written, so the journal matches the host;
 * and the holders index, which lists no open journal, is doubted, every
 * journal read whole. Not when an apply (never a switch past its forward
 * line, which keeps its new claims) released an earlier claim that its
 * rollback would claim again: that group would read as free. Nor for
 * another failure, which a retry may get past.
 */
static bool recover_can_wait(const vfg_context *ctx, const domain_journal *dj, const char *subject,
			     const vfg_error *err)
{
	if (!subject || strcmp(dj->domain->name, subject) == 0 || err->errnum != ENOPKG || !dj->open_txn)
		return false;
	return dj->open_op == JOURNAL_OP_REVOKE || dj->forward || dj->n_released == 0;
}

/* The same, noted: @dj's transaction stays open for a run that loads its labeler, or revoke --forget. */
static void recover_wait(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary)
{
	vfg_error unwritten = {0};
	domain_journal_write(hj, dj, &unwritten);
	const char *missing = domain_journal_labeler_not_loaded(ctx, dj);
	char note[VFG_NAME_SHELL_SIZE + 3 * VFG_NAME_MAX + 256];
	snprintf(note, sizeof(note),
		 "domain %s: the %s a failed or crashed run left open stays open, holding grants of labeler %s, which "
		 "is not loaded (load it, or vfguard revoke --domain %s --forget %s)\n",
		 dj->domain->name, journal_op_name(dj->open_op), missing ? missing : "?",
		 VFG_NAME_SHELL(dj->domain->name), missing ? missing : "?");
	summary_note(summary, note);
}

/*
 * Finish every transaction a crashed or failed run left open; what they undo is
 * recorded as restored. Each counts in @summary as one transaction
 * finished; what it undid counts as changes only when it is @subject's
 * (NULL: every domain's), so that a revoke's "N changes undone" are its own.
 * Another domain's that cannot be finished here may be left open (recover_can_wait).
 */
static int recover_unfinished(vfg_context *ctx, host_journal *hj, const char *subject, vfg_change_summary *summary,
			      vfg_error *err)
{
	record_kind undo_kind = ctx->records.undo_kind;
	ctx->records.undo_kind = RECORD_RESTORE;
	int r = 0;
	for (size_t i = 0; r == 0 && i < hj->n_domains; i++) {
		size_t changed = summary ? summary->changed : 0;
		r = recover_domain(ctx, hj, hj->domains[i], summary, err);
		if (r < 0 && recover_can_wait(ctx, hj->domains[i], subject, err)) {
			recover_wait(ctx, hj, hj->domains[i], summary);
			memset(err, 0, sizeof(*err));
			r = 0;
		}
		if (summary && subject && strcmp(hj->domains[i]->domain->name, subject) != 0)
			summary->changed = changed;
	}
	ctx->records.undo_kind = undo_kind;
	return r;
}

int boot_release_domain(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
			vfg_error *err)
{
	if (host_journal_complete(hj, dj, err) < 0)
		return -1;
	if (!dj->open_txn && dj->n_records == 0 && dj->n_claims == 0)
		return domain_journal_remove_empty(hj, dj, err);
	record_kind undo_kind = ctx->records.undo_kind;
	ctx->records.undo_kind = RECORD_BOOT_RELEASE;
	/* An open transaction (an apply or revoke its crash left) is finished by releasing all, its records too. */
	int r = dj->open_txn ? 0 : domain_journal_begin(hj, dj, JOURNAL_OP_REVOKE, NULL, err);
	if (r == 0)
		r = revoke_all(ctx, hj, dj, summary, err);
	ctx->records.undo_kind = undo_kind;
	return r;
}

/*
 * The host lock, what an earlier boot left released (@sweep: the labelers'
 * sweeps even in the same boot), and what crashed runs left finished;
 * @subject's journal read whole (NULL: every one). The changes that finishing undid count in
 * @summary when @undoing (revoke, restore: "N changes undone"); an apply
 * counts only the changes it makes, and the transactions finished.
 */
static int open_and_recover(vfg_context *ctx, const char *subject, bool undoing, bool sweep, host_journal *hj,
			    vfg_change_summary *summary, vfg_error *err)
{
	if (summary)
		memset(summary, 0, sizeof(*summary));
	if (host_journal_open_for(ctx, true, subject, hj, err) < 0)
		return -1;
	/* An earlier boot's domains first: none of their processes runs now (boot.c). */
	if (host_boot_check(ctx, hj, subject, sweep, summary, err) < 0 ||
	    recover_unfinished(ctx, hj, subject, summary, err) < 0) {
		host_journal_close(hj);
		return -1;
	}
	if (summary && !undoing)
		summary->changed = 0;
	return 0;
}

/* A claim refused (the group is another domain's, or held with another backend): recorded, nothing changed. */
static void record_claim_refused(vfg_context *ctx, const char *domain, const char *hostdev, const vfg_error *err)
{
	host_records_add(ctx, &(host_record){.kind = RECORD_REFUSE,
					     .domain = domain,
					     .device = hostdev,
					     .result = "refused",
					     .text = err->message,
					     .errnum = err->errnum});
}

static int check_ownership(vfg_context *ctx, const host_journal *hj, const vfg_plan *plan, vfg_error *err)
{
	char hostdev[VFG_HOSTDEV_NAME_MAX];
	if (plan_check_ownership(hj, plan, hostdev, err) == 0)
		return 0;
	if (err->errnum == EBUSY)
		record_claim_refused(ctx, plan->domain.name, hostdev[0] ? hostdev : NULL, err);
	return -1;
}

static int claim_hostdevs(host_journal *hj, domain_journal *dj, const vfg_plan *plan, vfg_error *err)
{
	for (size_t h = 0; h < plan->n_hostdevs; h++) {
		const vfg_hostdev *hostdev = &plan->hostdevs[h];
		char name[VFG_HOSTDEV_NAME_MAX];
		journal_claim *held = domain_journal_find_claim(dj, vfg_hostdev_name(&hostdev->spec, name));
		if (held && held->backend == hostdev->backend && held->access == hostdev->spec.access)
			continue;
		/* Re-claimed with what the plan found (prepare claimed it before the backend was known). */
		journal_claim claim = {
			.addr = hostdev->spec.addr,
			.group = hostdev->group.number,
			.backend = hostdev->backend,
			.access = hostdev->spec.access,
			.managed = held && held->managed,
		};
		memcpy(claim.mdev, hostdev->spec.mdev, sizeof(claim.mdev));
		if (held)
			memcpy(claim.driver, held->driver, sizeof(claim.driver));
		if (held && domain_journal_release(hj, dj, name, err) < 0)
			return -1;
		if (domain_journal_claim(dj, &claim, err) < 0)
			return -1;
	}
	return domain_journal_write(hj, dj, err);
}

/*
 * What the intent pass journaled (labeler.h: intent): the record of each
 * step, and of each domain-scope labeler, that grant is to change under; 0
 * where nothing was journaled ahead and grant journals for itself.
 */
typedef struct apply_intents {
	unsigned long *steps; /* by index in plan->steps */
	unsigned long *domain; /* by index in plan->domain_labelers */
} apply_intents;

static void apply_intents_free(apply_intents *intents)
{
	free(intents->steps);
	free(intents->domain);
}

/*
 * Call @labeler's intent for @node; the record it journaled, which must be
 * @node's, in *@id (0: none, which only a domain-scope labeler may leave).
 */
static int call_intent(vfg_context *ctx, host_journal *hj, domain_journal *dj, const vfg_plan *plan,
		       const vfg_labeler *labeler, const vfg_probe *probe, const vfg_node *node, const vfg_step *step,
		       vfg_change_summary *summary, unsigned long *id, vfg_error *err)
{
	vfg_txn txn = {.hj = hj, .dj = dj, .labeler = labeler->name};
	txn_view view;
	vfg_labeler_env env = txn_view_env(ctx, &view, hj, labeler->name);
	txn_view_keep(&view, plan);
	int r = txn_result(
		&txn, VFG_LABELER_OPTIONAL(labeler, intent)(&env, &plan->domain, probe, node, step, &txn, err), err);
	summary_note(summary, txn.notes);
	free(txn.notes);
	if (r < 0)
		return -1;
	const journal_record *record = domain_journal_find_record(dj, labeler->name, node->path);
	if (txn.pending_id && (!record || record->id != txn.pending_id))
		return vfg_error_set(err, EINVAL, node->path, "labeler %s's intent journaled another node's change",
				     labeler->name);
	if (!txn.pending_id && node->kind != VFG_NODE_DOMAIN)
		return vfg_error_set(err, EINVAL, node->path, "labeler %s's intent journaled nothing for its grant",
				     labeler->name);
	*id = txn.pending_id;
	return 0;
}

/*
 * The intent pass: every grant step of a labeler with an intent callback,
 * that the domain does not hold yet, journals its undo, changing nothing;
 * then one sync makes them durable, with the claims and begin before them,
 * ahead of the first change.
 */
static int journal_intents(vfg_context *ctx, host_journal *hj, domain_journal *dj, const vfg_plan *plan,
			   apply_intents *intents, vfg_change_summary *summary, vfg_error *err)
{
	intents->steps = calloc(plan->n_steps + 1, sizeof(*intents->steps));
	intents->domain = calloc(plan->n_domain_labelers + 1, sizeof(*intents->domain));
	if (!intents->steps || !intents->domain)
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot apply");
	bool batch = domain_journal_batch(dj, true);
	unsigned long last_id = dj->last_id;
	int r = 0;
	size_t order = 0; /* numbered as the dry run numbers them: changes only */
	for (size_t i = 0; r == 0 && i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		const vfg_planned_labeler *pl = &plan->labelers[step->labeler];
		const vfg_node *node = &plan->nodes[step->node];
		order += VFG_ACTION_IS_CHANGE(step->action);
		if (step->action != VFG_ACTION_GRANT || !VFG_LABELER_OPTIONAL(pl->labeler, intent) ||
		    domain_journal_find_record(dj, pl->labeler->name, node->path))
			continue;
		/* A node step's notes are not the user's (as in its grant): a refusal says it all. */
		r = call_intent(ctx, hj, dj, plan, pl->labeler, &pl->probe, node, step, NULL, &intents->steps[i], err);
		if (r < 0)
			vfg_error_prefix(err, "step %zu (%s %s)", order, pl->labeler->name, node->path);
	}
	for (size_t i = 0; r == 0 && i < plan->n_domain_labelers; i++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[i];
		if (!dl->probe.active || !dl->subject.path[0] || !VFG_LABELER_OPTIONAL(dl->labeler, intent))
			continue;
		r = call_intent(ctx, hj, dj, plan, dl->labeler, &dl->probe, &dl->subject, &dl->step, summary,
				&intents->domain[i], err);
		if (r < 0)
			vfg_error_prefix(err, "%s", dl->labeler->name);
	}
	/* What an access switch takes back, marked before the first change, taken back after the last (forward). */
	for (size_t i = 0; r == 0 && i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		if (step->action != VFG_ACTION_REVOKE)
			continue;
		journal_record *held = domain_journal_find_record(dj, plan->labelers[step->labeler].labeler->name,
								  plan->nodes[step->node].path);
		if (held && held->takeback != dj->open_txn)
			r = domain_journal_takeback(hj, dj, held->id, err);
	}
	domain_journal_batch(dj, batch);
	/* One sync for the pass; none when it journaled nothing (each grant's own intent syncs then). */
	if (r == 0 && dj->last_id != last_id)
		r = domain_journal_sync(hj, dj, err);
	return r;
}

/*
 * Grant @node, or its subject, with @labeler. @intent: the record the intent
 * pass journaled for it (0: none, grant journals its own); grant finds it
 * pending, and when grant leaves it unmarked the core marks it done.
 */
static int call_grant(vfg_context *ctx, host_journal *hj, domain_journal *dj, const vfg_plan *plan,
		      const vfg_labeler *labeler, const vfg_probe *probe, const vfg_node *node, const vfg_step *step,
		      unsigned long intent, vfg_change_summary *summary, vfg_error *err)
{
	vfg_txn txn = {.hj = hj, .dj = dj, .labeler = labeler->name, .pending_id = intent};
	txn_view view;
	vfg_labeler_env env = txn_view_env(ctx, &view, hj, labeler->name);
	txn_view_keep(&view, plan);
	int r = txn_result(&txn, labeler->grant(&env, &plan->domain, probe, node, step, &txn, err), err);
	summary_note(summary, txn.notes);
	free(txn.notes);
	if (r >= 0 && txn.pending_id && txn.pending_id == intent)
		r = domain_journal_done(hj, dj, intent, err) < 0 ? -1 : r;
	else if (r >= 0 && txn.pending_id)
		r = vfg_error_set(err, EINVAL, node->path, "labeler %s returned with its change not marked done",
				  labeler->name);
	if (r < 0)
		ctx->records.failed_record = txn.pending_id; /* its rollback is told (undo_record_now) */
	/* A domain-scope grant that found nothing to change made none (apply_domain_labeler). */
	if (r < 0 || r != VFG_GRANT_UNCHANGED || intent)
		record_change(ctx, RECORD_GRANT, dj, labeler->name, node->path, r < 0 ? "failed" : NULL,
			      r < 0 ? err->message : NULL, r < 0 ? err->errnum : 0);
	return r;
}

/*
 * One step: grant it, or keep what is held. A path grant the node no longer
 * needs (VFG_ACTION_REVOKE) was marked by the intent pass and is taken back
 * after every grant (take_back_marked).
 */
static int apply_step(vfg_context *ctx, host_journal *hj, domain_journal *dj, const vfg_plan *plan,
		      const vfg_step *step, unsigned long intent, vfg_change_summary *summary, vfg_error *err)
{
	const vfg_planned_labeler *pl = &plan->labelers[step->labeler];
	const vfg_node *node = &plan->nodes[step->node];
	if (step->action != VFG_ACTION_GRANT)
		return 0;
	journal_record *held = domain_journal_find_record(dj, pl->labeler->name, node->path);
	if (held && held->id != intent) {
		if (summary)
			summary->kept++;
		return 0;
	}
	if (call_grant(ctx, hj, dj, plan, pl->labeler, &pl->probe, node, step, intent, NULL, err) < 0)
		return -1;
	if (summary)
		summary->changed++;
	return 0;
}

/*
 * A domain-scope labeler, once, after every node's step. Its records of
 * another subject are an earlier run's (another process of the domain):
 * undone first. Then, active, it grants, looking again at its subject
 * (labeler.h: VFG_SCOPE_DOMAIN).
 */
static int apply_domain_labeler(vfg_context *ctx, host_journal *hj, domain_journal *dj, const vfg_plan *plan,
				const vfg_planned_domain_labeler *dl, unsigned long intent, vfg_change_summary *summary,
				vfg_error *err)
{
	const char *name = dl->labeler->name;
	const vfg_node *subject = &dl->subject;
	for (size_t i = dj->n_records; subject->path[0] && i-- > 0;) {
		if (i >= dj->n_records)
			continue;
		const journal_record *record = dj->records[i];
		if (record->node.kind == VFG_NODE_DOMAIN && strcmp(record->labeler, name) == 0 &&
		    strcmp(record->node.path, subject->path) != 0 &&
		    undo_record(ctx, hj, dj, record->id, NULL, summary, err) < 0)
			return -1;
	}
	if (!dl->probe.active)
		return 0;
	const journal_record *record = domain_journal_find_record(dj, name, subject->path);
	bool held = record && record->id != intent; /* since an earlier apply */
	unsigned long last_id = dj->last_id;
	int r = call_grant(ctx, hj, dj, plan, dl->labeler, &dl->probe, subject, &dl->step, intent, summary, err);
	if (r < 0)
		return -1;
	if (r == VFG_GRANT_UNCHANGED && !intent) {
		if (held && summary)
			summary->kept++;
		return 0;
	}
	if (held && dj->last_id == last_id)
		host_journal_fault_point(hj); /* changed again under the record held since an earlier apply */
	if (summary)
		summary->changed++;
	return 0;
}

static int check_refusal(const char *labeler, const char *path, const vfg_step *step, vfg_error *err)
{
	if (step->action != VFG_ACTION_REFUSE)
		return 0;
	/* The node once, and no strerror(EPERM) after the reason: it says why already (a manager's trial). */
	vfg_error_set(err, 0, path, "refused by the %s labeler: %s; nothing was changed", labeler, step->reason);
	if (err)
		err->errnum = EPERM; /* for callers and --json */
	return -1;
}

/* A refused step: recorded (each one), and the first one's error in @err. */
static int record_refusal(vfg_context *ctx, const vfg_plan *plan, const char *labeler, const char *path,
			  const vfg_step *step, int r, vfg_error *err)
{
	if (step->action != VFG_ACTION_REFUSE)
		return r;
	host_records_add(ctx, &(host_record){.kind = RECORD_REFUSE,
					     .domain = plan->domain.name,
					     .labeler = labeler,
					     .node = path,
					     .result = "refused",
					     .text = step->reason});
	return r < 0 ? r : check_refusal(labeler, path, step, err);
}

/* A step the plan refuses stops apply before anything, the journal included, is touched. */
static int check_refusals(vfg_context *ctx, const vfg_plan *plan, vfg_error *err)
{
	int r = 0;
	for (size_t i = 0; i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		r = record_refusal(ctx, plan, plan->labelers[step->labeler].labeler->name, plan->nodes[step->node].path,
				   step, r, err);
	}
	for (size_t i = 0; i < plan->n_domain_labelers; i++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[i];
		r = record_refusal(ctx, plan, dl->labeler->name, dl->subject.path, &dl->step, r, err);
	}
	return r;
}

/* Apply @plan under the exclusive lock @hj holds, what crashed runs left finished; @hj is left open. */
static int plan_apply_held(vfg_context *ctx, host_journal *hj, const vfg_plan *plan, vfg_change_summary *summary,
			   bool *committed, vfg_error *err)
{
	domain_journal *dj = NULL;
	vfg_domain domain = plan->domain; /* as the journal keeps it: with the labelers that grant (model.h) */
	if (check_ownership(ctx, hj, plan, err) < 0 || !(dj = host_journal_get(hj, &plan->domain, err)) ||
	    journal_domain_record_labelers(ctx, dj, &domain, err) < 0 ||
	    domain_journal_begin(hj, dj, JOURNAL_OP_APPLY, &domain, err) < 0) {
		/* A begin line written before the failure opened a transaction: it is closed, holding nothing. */
		vfg_error undo = {0};
		if (dj && dj->open_txn && rollback_failed(ctx, hj, dj, NULL, &undo) < 0)
			vfg_strlcatf(err->message, sizeof(err->message), strlen(err->message),
				     "; closing its transaction failed too (%s): run vfguard restore", undo.message);
		return -1;
	}
	apply_intents intents = {0};
	int r = claim_hostdevs(hj, dj, plan, err);
	if (r == 0)
		r = journal_intents(ctx, hj, dj, plan, &intents, summary, err);
	size_t order = 0; /* numbered as the dry run numbers them: changes only */
	for (size_t i = 0; r == 0 && i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		if (VFG_ACTION_IS_CHANGE(step->action))
			order++;
		if (apply_step(ctx, hj, dj, plan, step, intents.steps[i], summary, err) < 0) {
			const vfg_planned_labeler *pl = &plan->labelers[step->labeler];
			if (VFG_ACTION_IS_CHANGE(step->action))
				vfg_error_prefix(err, "step %zu (%s %s)", order, pl->labeler->name,
						 plan->nodes[step->node].path);
			r = -1;
		}
	}
	/* The domain's own changes come last, after every node is granted; revoke undoes them first. */
	for (size_t i = 0; r == 0 && i < plan->n_domain_labelers; i++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[i];
		if (apply_domain_labeler(ctx, hj, dj, plan, dl, intents.domain[i], summary, err) < 0) {
			vfg_error_prefix(err, "%s", dl->labeler->name);
			r = -1;
		}
	}
	apply_intents_free(&intents);
	if (r == 0 && dj->takebacks) {
		r = domain_journal_forward(hj, dj, err);
		if (r == 0)
			r = take_back_marked(ctx, hj, dj, summary, false, err);
	}
	if (r == 0) {
		r = domain_journal_commit(hj, dj, err);
		*committed = r == 0 || dj->commit_written;
		if (r < 0 && *committed)
			vfg_error_prefix(err, "the apply of domain %s is complete and committed, but",
					 plan->domain.name);
	}
	if (r < 0 && !*committed && dj->forward) {
		/*
		 * Past its forward line the switch is finished, never undone: a
		 * takeback or the commit that failed leaves it open for the next
		 * command, which finishes it (forward_finish). Its grants stand,
		 * so a caller's prepare is not undone either.
		 */
		*committed = true;
		vfg_error unwritten = {0};
		domain_journal_write(hj, dj, &unwritten); /* the undone marks, as take_back_marked writes them */
		vfg_strlcatf(err->message, sizeof(err->message), strlen(err->message),
			     "; the apply of domain %s made every grant, and its transaction stays open until the "
			     "next vfguard command on this host finishes it (vfguard restore does)",
			     plan->domain.name);
	}
	if (r < 0 && !*committed) {
		vfg_error undo = {0};
		if (summary)
			summary->changed = summary->kept = summary->revoked = 0;
		int undone = rollback_failed(ctx, hj, dj, summary, &undo);
		if (summary)
			summary->changed = 0; /* the failed apply changed nothing: what it did is undone */
		if (undone < 0) {
			size_t used = strlen(err->message);
			vfg_strlcatf(err->message, sizeof(err->message), used,
				     "; undoing the changes failed too (%s): run vfguard restore", undo.message);
		}
	}
	return r;
}

static int plan_apply(vfg_context *ctx, const vfg_plan *plan, vfg_change_summary *summary, bool *committed,
		      vfg_error *err)
{
	*committed = false;
	if (summary)
		memset(summary, 0, sizeof(*summary));
	if (check_refusals(ctx, plan, err) < 0)
		return -1;
	host_journal hj;
	if (open_and_recover(ctx, plan->domain.name, false, false, &hj, summary, err) < 0)
		return -1;
	int r = plan_apply_held(ctx, &hj, plan, summary, committed, err);
	host_journal_close(&hj);
	return r;
}

/*
 * The commands below queue their host records and write them once the lock
 * is released (records.h). A record lost never changes what a command
 * returns: the host is as the journal says, and the summary's notes say
 * what was not told.
 */
typedef struct command_outcome {
	vfg_change_summary summary;
	vfg_error err;
} command_outcome;

/* A command starts its records; the outcome record needs a summary and an error even when the caller takes none. */
static void command_begin(vfg_context *ctx, const char *command, command_outcome *own, vfg_change_summary **summary,
			  vfg_error **err)
{
	memset(own, 0, sizeof(*own));
	*summary = *summary ? *summary : &own->summary;
	*err = *err ? *err : &own->err;
	memset(&ctx->reattach_failure, 0, sizeof(ctx->reattach_failure));
	host_records_begin(ctx, command);
}

/*
 * The command ends with @r: a function it could not give back to its
 * driver (release_claim) fails it, after everything else was done and
 * committed; its records are written. Returns the command's result.
 */
static int command_end(vfg_context *ctx, const char *domain, int r, vfg_error *err, vfg_change_summary *summary)
{
	if (ctx->reattach_failure.message[0]) {
		if (r == 0) {
			*err = ctx->reattach_failure;
			snprintf(err->message, sizeof(err->message), "everything else is done and committed, but %s",
				 ctx->reattach_failure.message);
		} else
			vfg_strlcatf(err->message, sizeof(err->message), strlen(err->message), "; and %s",
				     ctx->reattach_failure.message);
		r = -1;
		memset(&ctx->reattach_failure, 0, sizeof(ctx->reattach_failure));
	}
	host_records_finish(ctx, domain, r, err, summary);
	return r;
}

int vfg_plan_apply_committed(vfg_context *ctx, const vfg_plan *plan, vfg_change_summary *summary, bool *committed,
			     vfg_error *err)
{
	command_outcome own;
	command_begin(ctx, "apply", &own, &summary, &err);
	int r = plan_apply(ctx, plan, summary, committed, err);
	return command_end(ctx, plan->domain.name, r, err, summary);
}

VFG_EXPORT int vfg_plan_apply(vfg_context *ctx, const vfg_plan *plan, vfg_change_summary *summary, vfg_error *err)
{
	bool committed;
	if (vfg_plan_context_check(ctx, plan, "apply", err) < 0)
		return -1;
	return vfg_plan_apply_committed(ctx, plan, summary, &committed, err);
}

/*
 * vfg_domain_apply's plan and apply in one hold of the exclusive lock, what
 * crashed runs left finished first: the labelers apply what they planned
 * from what they read once. Planned under the shared lock and applied under
 * the exclusive one, a grant read all it asks about twice (a v1 cgroup's
 * devices.list of 1001 rules costs the kernel 0.55 ms a read here). The
 * plan, as far as it got, in *@result for the caller to free; NULL when
 * its sysfs part failed (no lock was taken then, and nothing recorded).
 */
int vfg_domain_plan_apply(vfg_context *ctx, const vfg_domain *domain, vfg_plan **result, vfg_change_summary *summary,
			  bool *committed, vfg_error *err)
{
	*result = NULL;
	*committed = false;
	vfg_plan *plan = plan_start(ctx, domain, err);
	if (!plan)
		return -1;
	command_outcome own;
	command_begin(ctx, "apply", &own, &summary, &err);
	memset(summary, 0, sizeof(*summary));
	host_journal hj;
	int r = open_and_recover(ctx, plan->domain.name, false, false, &hj, summary, err);
	if (r == 0) {
		/* the nodes enumeration opened serve the intents and grants of this hold too */
		plan->keep_node_fds = true;
		r = plan_under_lock(ctx, &hj, plan, err);
		if (r == 0)
			r = check_refusals(ctx, plan, err);
		if (r == 0)
			r = plan_apply_held(ctx, &hj, plan, summary, committed, err);
		plan_close_kept(plan);
		host_journal_close(&hj);
	}
	r = command_end(ctx, plan->domain.name, r, err, summary);
	*result = plan;
	return r;
}

static int prepare_hostdev(vfg_context *ctx, host_journal *hj, domain_journal *dj, const vfg_hostdev_spec *spec,
			   vfg_error *err)
{
	char name[VFG_HOSTDEV_NAME_MAX];
	vfg_hostdev_name(spec, name);
	if (spec->mdev[0])
		return vfg_error_set(err, 0, name,
				     "managed: an mdev has no driver to detach and reattach (its parent's mdev driver "
				     "made it and stays bound)");
	vfg_iommu_group group;
	if (vfg_iommu_group_read(ctx, &spec->addr, &group, err) < 0)
		return -1;
	free(group.members);
	if (ownership_group_free(hj, dj->domain->name, name, group.number, err) < 0) {
		if (err->errnum == EBUSY)
			record_claim_refused(ctx, dj->domain->name, name, err);
		return -1;
	}
	journal_claim claim = {
		.addr = spec->addr,
		.group = group.number,
		.backend = spec->backend,
		.access = spec->access,
		.managed = true,
	};
	memcpy(claim.driver, spec->driver, sizeof(claim.driver));
	vfg_driver_binding binding;
	/* The claim durable first: a crash after the detach must find the hostdev to give back. */
	if (domain_journal_claim(dj, &claim, err) < 0 || domain_journal_sync(hj, dj, err) < 0)
		return -1;
	/* The group's viability is the plan's to check, once every function asked for is detached. */
	int r = vfg_pci_detach_unlocked(ctx, &spec->addr, spec->driver[0] ? spec->driver : NULL, false, &binding, err);
	if (r < 0 || binding.changed)
		record_driver(ctx, RECORD_DETACH, dj->domain->name, &spec->addr, r < 0 ? err : NULL);
	if (r < 0)
		return -1;
	host_journal_fault_point(hj); /* detached, and the next write is the commit */
	return 0;
}

/*
 * Before the first detach: every group a managed hostdev is in must be
 * viable once all the domain's managed functions are on vfio drivers (a GPU
 * and its audio function, both on host drivers, are each the other's
 * obstacle until both move), so a group another function keeps unusable is
 * refused with nothing unbound.
 */
static int prepare_check_groups(vfg_context *ctx, const vfg_domain *domain, vfg_error *err)
{
	vfg_pci_addr *moving = calloc(domain->n_hostdevs + 1, sizeof(*moving));
	size_t n = 0;
	if (!moving)
		return vfg_error_set(err, ENOMEM, domain->name, "cannot prepare");
	for (size_t i = 0; i < domain->n_hostdevs; i++)
		if (domain->hostdevs[i].managed && !domain->hostdevs[i].mdev[0])
			moving[n++] = domain->hostdevs[i].addr;
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		vfg_iommu_group group;
		r = vfg_iommu_group_read(ctx, &moving[i], &group, err);
		if (r == 0)
			r = vfg_iommu_group_check_viable_after(&group, &moving[i], moving, n, err);
		free(group.members); /* NULL when the read failed */
	}
	free(moving);
	return r;
}

static int domain_prepare(vfg_context *ctx, const vfg_domain *domain, vfg_change_summary *summary, bool *held_nothing,
			  vfg_error *err)
{
	host_journal hj;
	*held_nothing = false;
	if (open_and_recover(ctx, domain->name, false, false, &hj, summary, err) < 0)
		return -1;
	domain_journal *dj = host_journal_find(&hj, domain->name);
	*held_nothing = !dj;
	int r = 0;
	for (size_t i = 0; i < domain->n_hostdevs; i++) {
		char name[VFG_HOSTDEV_NAME_MAX];
		const vfg_hostdev_spec *spec = &domain->hostdevs[i];
		if (spec->managed && !(dj && domain_journal_find_claim(dj, vfg_hostdev_name(spec, name)))) {
			r = prepare_check_groups(ctx, domain, err);
			break;
		}
	}
	for (size_t i = 0; r == 0 && i < domain->n_hostdevs; i++) {
		const vfg_hostdev_spec *spec = &domain->hostdevs[i];
		char name[VFG_HOSTDEV_NAME_MAX];
		if (!spec->managed || (dj && domain_journal_find_claim(dj, vfg_hostdev_name(spec, name))))
			continue; /* not managed, or prepared already */
		/*
		 * Its transaction's domain line would carry the new ids before the
		 * apply could refuse them; and a switch the apply refuses would
		 * find this function detached (not knowing the nodes yet, any node
		 * grant of a labeler not loaded counts here).
		 */
		char switched[VFG_HOSTDEV_NAME_MAX] = "";
		if (!(dj && dj->open_txn) &&
		    (ownership_ids_kept(dj, domain, NULL, err) < 0 ||
		     ownership_switch_labelers_loaded(ctx, dj, domain, NULL, switched, err) < 0)) {
			record_claim_refused(ctx, domain->name, switched[0] ? switched : NULL, err);
			r = -1;
			break;
		}
		if (!dj)
			dj = host_journal_get(&hj, domain, err);
		if (!dj || (!dj->open_txn && domain_journal_begin(&hj, dj, JOURNAL_OP_APPLY, domain, err) < 0))
			r = -1;
		else
			r = prepare_hostdev(ctx, &hj, dj, spec, err);
		if (r == 0 && summary)
			summary->changed++;
	}
	if (dj && dj->open_txn) {
		vfg_error undo = {0};
		if (r == 0)
			r = domain_journal_commit(&hj, dj, err);
		else if (rollback_failed(ctx, &hj, dj, NULL, &undo) < 0)
			vfg_error_prefix(err, "undoing the detach failed too (%s): run vfguard restore; then",
					 undo.message);
	}
	host_journal_close(&hj);
	return r;
}

int vfg_domain_prepare_fresh(vfg_context *ctx, const vfg_domain *domain, vfg_change_summary *summary,
			     bool *held_nothing, vfg_error *err)
{
	command_outcome own;
	command_begin(ctx, "prepare", &own, &summary, &err);
	int r = domain_prepare(ctx, domain, summary, held_nothing, err);
	return command_end(ctx, domain->name, r, err, summary);
}

VFG_EXPORT int vfg_domain_prepare(vfg_context *ctx, const vfg_domain *domain, vfg_change_summary *summary,
				  vfg_error *err)
{
	bool held_nothing;
	return vfg_domain_prepare_fresh(ctx, domain, summary, &held_nothing, err);
}

static int domain_revoke(vfg_context *ctx, const char *name, vfg_change_summary *summary, vfg_error *err)
{
	host_journal hj;
	if (open_and_recover(ctx, name, true, false, &hj, summary, err) < 0)
		return -1;
	domain_journal *dj = host_journal_find(&hj, name);
	int r = 0;
	if (dj && (dj->n_records > 0 || dj->n_claims > 0)) {
		r = domain_journal_begin(&hj, dj, JOURNAL_OP_REVOKE, NULL, err);
		if (r == 0)
			r = revoke_all(ctx, &hj, dj, summary, err);
		revoke_failure_explain(dj, r, err);
	}
	host_journal_close(&hj);
	return r;
}

VFG_EXPORT int vfg_domain_revoke(vfg_context *ctx, const char *name, vfg_change_summary *summary, vfg_error *err)
{
	command_outcome own;
	if (vfg_domain_name_check(name, err) < 0)
		return -1; /* no domain of that name: nothing to record */
	command_begin(ctx, "revoke", &own, &summary, &err);
	int r = domain_revoke(ctx, name, summary, err);
	return command_end(ctx, name, r, err, summary);
}

/*
 * --forget is deliberate: each labeler it names is one this context does
 * not load (a loaded one's grants revoke undoes) and one domain @name holds
 * a grant of (a misspelt name would drop nothing and say so too late).
 * Looked at under the shared lock, which writes nothing: a refusal leaves
 * the host byte for byte.
 */
static int check_forget(vfg_context *ctx, const char *name, const char *const *forget, vfg_error *err)
{
	if (!forget || !forget[0])
		return vfg_error_set(err, EINVAL, name, "no labeler named to forget: give at least one");
	for (const char *const *labeler = forget; *labeler; labeler++)
		for (size_t i = 0; i < ctx->n_labelers; i++)
			if (strcmp(ctx->labelers[i]->name, *labeler) == 0)
				return vfg_error_refuse(err, EINVAL, *labeler,
							"labeler %s is loaded: vfguard revoke --domain %s undoes its "
							"grants; --forget is for a labeler that cannot be loaded any "
							"more; nothing was changed",
							*labeler, VFG_NAME_SHELL(name));
	host_journal hj;
	if (host_journal_open_for(ctx, false, name, &hj, err) < 0)
		return -1;
	const domain_journal *dj = host_journal_find(&hj, name);
	int r = 0;
	for (const char *const *labeler = forget; r == 0 && *labeler; labeler++) {
		bool held = false;
		for (size_t i = 0; dj && !held && i < dj->n_records; i++)
			held = strcmp(dj->records[i]->labeler, *labeler) == 0;
		if (!held)
			r = vfg_error_refuse(err, ENOENT, *labeler,
					     "domain %s holds no grant of labeler %s: there is nothing to forget; "
					     "nothing was changed",
					     name, *labeler);
	}
	host_journal_close(&hj);
	return r;
}

VFG_EXPORT int vfg_domain_revoke_forgetting(vfg_context *ctx, const char *name, const char *const *forget,
					    vfg_forgotten_fn forgotten, void *data, vfg_change_summary *summary,
					    vfg_error *err)
{
	command_outcome own;
	if (vfg_domain_name_check(name, err) < 0)
		return -1;
	command_begin(ctx, "revoke", &own, &summary, &err);
	memset(summary, 0, sizeof(*summary));
	int r = check_forget(ctx, name, forget, err);
	if (r == 0) {
		ctx->forget.domain = name;
		ctx->forget.labelers = forget;
		ctx->forget.fn = forgotten;
		ctx->forget.data = data;
		r = domain_revoke(ctx, name, summary, err);
		memset(&ctx->forget, 0, sizeof(ctx->forget));
	}
	return command_end(ctx, name, r, err, summary);
}

static int restore(vfg_context *ctx, bool release_all, vfg_change_summary *summary, vfg_error *err)
{
	host_journal hj;
	if (open_and_recover(ctx, NULL, true, true, &hj, summary, err) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; release_all && r == 0 && i < hj.n_domains; i++) {
		domain_journal *dj = hj.domains[i];
		if (dj->n_records == 0 && dj->n_claims == 0)
			continue;
		r = domain_journal_begin(&hj, dj, JOURNAL_OP_REVOKE, NULL, err);
		if (r == 0)
			r = revoke_all(ctx, &hj, dj, summary, err);
	}
	host_journal_close(&hj);
	return r;
}

VFG_EXPORT int vfg_restore(vfg_context *ctx, bool release_all, vfg_change_summary *summary, vfg_error *err)
{
	command_outcome own;
	command_begin(ctx, "restore", &own, &summary, &err);
	int r = restore(ctx, release_all, summary, err);
	return command_end(ctx, NULL, r, err, summary);
}

/*
 * Hot-unplug: what hostdev @claim alone needed. Its cdev is its own, and
 * its group's node (/dev/vfio/N, one group one domain) once no other
 * function of that group is held by @dj (a trial saw a GPU's audio function
 * unplugged take the node from the GPU); a shared node (/dev/vfio/vfio,
 * /dev/iommu) goes only when no other hostdev @dj keeps uses its backend.
 * Another domain's grants of a shared node are its own records: a labeler's
 * undo of this domain's record leaves them (labeler.h).
 */
static bool record_is_hostdevs(const journal_record *record, const journal_claim *claim, dev_t cdev_rdev,
			       const domain_journal *dj)
{
	char group_path[32];
	switch (record->node.kind) {
	case VFG_NODE_GROUP:
		snprintf(group_path, sizeof(group_path), "/dev/vfio/%u", claim->group);
		if (strcmp(record->node.path, group_path) != 0)
			return false;
		/* A function of the same group that @dj keeps opens the group through the same node. */
		for (size_t i = 0; i < dj->n_claims; i++)
			if (&dj->claims[i] != claim && dj->claims[i].group == claim->group)
				return false;
		return true;
	case VFG_NODE_CDEV:
		return cdev_rdev && record->node.rdev == cdev_rdev;
	case VFG_NODE_CONTAINER:
	case VFG_NODE_IOMMUFD: {
		vfg_backend needs = record->node.kind == VFG_NODE_CONTAINER ? VFG_BACKEND_LEGACY : VFG_BACKEND_IOMMUFD;
		for (size_t i = 0; i < dj->n_claims; i++)
			if (&dj->claims[i] != claim &&
			    (dj->claims[i].backend == needs || dj->claims[i].backend == VFG_BACKEND_AUTO))
				return false; /* AUTO (no backend written): either node may be its own, so kept */
		return claim->backend == needs;
	}
	case VFG_NODE_DOMAIN:
		break; /* the domain's own changes (cgroup, AppArmor, memlock) stay with the domain */
	}
	return false;
}

/* One hostdev's records undone, newest first, then its claim released. */
static int revoke_one_hostdev(vfg_context *ctx, host_journal *hj, domain_journal *dj, const char *name, dev_t cdev_rdev,
			      vfg_change_summary *summary, vfg_error *err)
{
	journal_claim *claim = domain_journal_find_claim(dj, name);
	if (!claim)
		return 0; /* named twice: taken back already */
	undo_probes probes = {0};
	int r = 0;
	for (size_t i = dj->n_records; r == 0 && i-- > 0;) {
		if (i >= dj->n_records || !record_is_hostdevs(dj->records[i], claim, cdev_rdev, dj))
			continue;
		r = undo_record(ctx, hj, dj, dj->records[i]->id, &probes, summary, err);
		if (r == 0 && summary)
			summary->changed++;
		r = r < 0 ? -1 : 0;
	}
	undo_probes_free(&probes);
	if (r < 0)
		return -1;
	for (size_t i = 0; i < dj->n_claims; i++)
		if (&dj->claims[i] == claim)
			return release_claim(ctx, hj, dj, i, summary, err);
	return 0;
}

/*
 * The hostdevs the open revoke names (dj->unplug), one after the other, then
 * the commit: what revoke --hostdev does, and what finishes it after a crash
 * (a hostdev whose claim is released already is done).
 */
static int revoke_unplug(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
			 vfg_error *err)
{
	int r = 0;
	for (size_t i = 0; r == 0 && i < dj->n_unplug; i++)
		r = revoke_one_hostdev(ctx, hj, dj, dj->unplug[i].name, dj->unplug[i].cdev, summary, err);
	return r < 0 ? -1 : domain_journal_commit(hj, dj, err);
}

/* Each named hostdev is one @dj holds, and its own nodes can be told: else nothing is to change. */
static int check_hostdevs_held(const domain_journal *dj, const char *name, const char *const *hostdevs,
			       const journal_unplug *unplug, size_t n, vfg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const journal_claim *claim = dj ? domain_journal_find_claim(dj, unplug[i].name) : NULL;
		if (!claim)
			return vfg_error_set(err, 0, hostdevs[i], "domain %s holds no hostdev %s; nothing was changed",
					     name, unplug[i].name);
		if (claim->backend == VFG_BACKEND_IOMMUFD && !unplug[i].cdev)
			return vfg_error_set(
				err, 0, hostdevs[i],
				"hostdev %s of domain %s shows no vfio-dev/ cdev in sysfs, so its cdev's "
				"grant cannot be told from another's; nothing was changed (revoke the whole "
				"domain)",
				unplug[i].name, name);
	}
	return 0;
}

/* How many of @dj's claims @unplug does not name. */
static size_t claims_kept(const domain_journal *dj, const journal_unplug *unplug, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < dj->n_claims; i++) {
		char held[VFG_HOSTDEV_NAME_MAX];
		journal_claim_name(&dj->claims[i], held);
		bool named = false;
		for (size_t j = 0; j < n && !named; j++)
			named = strcmp(held, unplug[j].name) == 0;
		kept += !named;
	}
	return kept;
}

static int domain_revoke_hostdevs(vfg_context *ctx, const char *name, const char *const *hostdevs,
				  vfg_change_summary *summary, vfg_error *err)
{
	size_t n = 0;
	while (hostdevs && hostdevs[n])
		n++;
	if (n == 0)
		return vfg_error_set(err, EINVAL, name, "no hostdev named: give at least one");
	journal_unplug *unplug = calloc(n, sizeof(*unplug));
	host_journal hj;
	int r = unplug ? 0 : vfg_error_set(err, ENOMEM, name, "out of memory");
	/* Every name checked first: a hostdev the domain does not hold changes nothing. */
	for (size_t i = 0; r == 0 && i < n; i++) {
		vfg_hostdev_spec spec;
		r = vfg_hostdev_spec_parse(ctx, hostdevs[i], &spec, err);
		if (r == 0)
			vfg_hostdev_name(&spec, unplug[i].name);
		vfg_hostdev hostdev = {0};
		vfg_error ignored = {0};
		/* Its cdev, to know that node as its own; a function gone from sysfs has none to find. */
		if (r == 0 && vfg_hostdev_enumerate(ctx, &spec, &hostdev, &ignored) == 0 && hostdev.cdev[0])
			unplug[i].cdev = hostdev.cdev_rdev;
		vfg_hostdev_clear(&hostdev);
	}
	/*
	 * Looked at first under the shared lock, which writes nothing (the
	 * exclusive open below rewrites the holders index): a name the domain
	 * does not hold leaves the host byte for byte. Checked again below, the
	 * lock held.
	 */
	if (r == 0 && host_journal_open_for(ctx, false, name, &hj, err) == 0) {
		r = check_hostdevs_held(host_journal_find(&hj, name), name, hostdevs, unplug, n, err);
		host_journal_close(&hj);
	} else {
		r = -1;
	}
	if (r < 0 || open_and_recover(ctx, name, true, false, &hj, summary, err) < 0) {
		free(unplug);
		return -1;
	}
	domain_journal *dj = host_journal_find(&hj, name);
	r = check_hostdevs_held(dj, name, hostdevs, unplug, n, err);
	if (r == 0 && claims_kept(dj, unplug, n) == 0) {
		/* the last hostdevs: the whole domain */
		r = domain_journal_begin(&hj, dj, JOURNAL_OP_REVOKE, NULL, err);
		if (r == 0)
			r = revoke_all(ctx, &hj, dj, summary, err);
	} else if (r == 0) {
		/* the begin names them: a crash part-way is finished as this revoke, not the whole domain's */
		r = domain_journal_begin_unplug(&hj, dj, unplug, n, err);
		if (r == 0)
			r = revoke_unplug(ctx, &hj, dj, summary, err);
	}
	if (dj)
		revoke_failure_explain(dj, r, err);
	host_journal_close(&hj);
	free(unplug);
	return r;
}

VFG_EXPORT int vfg_domain_revoke_hostdevs(vfg_context *ctx, const char *name, const char *const *hostdevs,
					  vfg_change_summary *summary, vfg_error *err)
{
	command_outcome own;
	if (vfg_domain_name_check(name, err) < 0)
		return -1;
	command_begin(ctx, "revoke", &own, &summary, &err);
	int r = domain_revoke_hostdevs(ctx, name, hostdevs, summary, err);
	return command_end(ctx, name, r, err, summary);
}
