/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Undo: the records of a transaction taken back, newest first, each by its
 * labeler, and the claims released (a managed function given back to its
 * driver). A failed apply's rollback, a revoke, an access switch's take-
 * backs, and what a crashed or failed run left open (recover_unfinished),
 * which every command finishes first under the lock (open_and_recover):
 * there an open transaction has no owner.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transaction.h"

void summary_note(vfg_change_summary *summary, const char *notes)
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
void record_change(vfg_context *ctx, record_kind kind, const domain_journal *dj, const char *labeler, const char *path,
		   const char *result, const char *text, int errnum)
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
void record_driver(vfg_context *ctx, record_kind kind, const char *domain, const vfg_pci_addr *addr,
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

void undo_probes_free(undo_probes *probes)
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

int record_needed_by_fd(vfg_context *ctx, const host_journal *hj, const domain_journal *dj,
			const journal_record *record, undo_probes *probes, vfg_error *err)
{
	size_t index = 0;
	while (index < ctx->n_labelers && strcmp(ctx->labelers[index]->name, record->labeler) != 0)
		index++;
	if (index == ctx->n_labelers)
		return 1; /* not loaded: it cannot say, so the record stays as it did */
	const vfg_labeler *labeler = ctx->labelers[index];
	txn_view view;
	vfg_labeler_env env = txn_view_env(ctx, &view, hj, labeler->name);
	vfg_probe probe;
	if (undo_probe(ctx, dj, index, &env, probes, &probe, err) < 0)
		return -1;
	vfg_node node;
	journal_record_node(record, &node);
	node.access = VFG_ACCESS_FD;
	vfg_domain domain;
	journal_domain_copy(dj, &domain);
	vfg_step step = {0};
	int r = labeler->plan(&env, &domain, &probe, &node, &step, err);
	bool grants = step.action == VFG_ACTION_GRANT;
	vfg_step_clear(&step);
	return r < 0 ? -1 : grants;
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
/*
 * How many other domains hold the same grant as @record: a record of the
 * same labeler on the same node, with the same undo text. A shared node's
 * ACL entry is one (each holder journals the first one's original, and
 * the last one's revoke puts it back), and undone by hand it could take
 * theirs (a trial); a cgroup rule in another domain's own cgroup is not
 * the same grant, and its undo text names that cgroup (a trial saw it
 * counted, and the advice then wrong).
 */
static int same_grant_held(host_journal *hj, const domain_journal *dj, const journal_record *record, size_t *others,
			   vfg_error *err)
{
	*others = 0;
	if (host_journal_read_rest(hj, err) < 0)
		return -1;
	for (size_t i = 0; i < hj->n_domains; i++) {
		const domain_journal *other = hj->domains[i];
		if (other == dj)
			continue;
		const journal_record *theirs = domain_journal_find_record(other, record->labeler, record->node.path);
		*others += theirs && theirs->node.rdev == record->node.rdev &&
			   strcmp(theirs->undo ? theirs->undo : "", record->undo ? record->undo : "") == 0;
	}
	return 0;
}

static int forget_record(vfg_context *ctx, host_journal *hj, domain_journal *dj, const journal_record *record,
			 vfg_error *err)
{
	if (!forgetting(ctx, dj, record->labeler))
		return labeler_missing(ctx, dj, record, err);
	const char *undo = record->undo ? record->undo : "";
	size_t others;
	if (same_grant_held(hj, dj, record, &others, err) < 0)
		return -1;
	if (ctx->forget.fn)
		ctx->forget.fn(record->labeler, record->node.path, undo, others, ctx->forget.data);
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
int undo_record(vfg_context *ctx, host_journal *hj, domain_journal *dj, unsigned long id, undo_probes *probes,
		vfg_change_summary *summary, vfg_error *err)
{
	bool batch = domain_journal_batch(dj, true);
	int r = undo_record_now(ctx, hj, dj, id, probes, summary, err);
	domain_journal_batch(dj, batch);
	return r;
}

/* Give up a claim; a managed hostdev goes back to its original driver first. */
int release_claim(vfg_context *ctx, host_journal *hj, domain_journal *dj, size_t index, vfg_change_summary *summary,
		  vfg_error *err)
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
int rollback_failed(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary, vfg_error *err)
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
int revoke_all(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary, vfg_error *err)
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
void revoke_failure_explain(const domain_journal *dj, int r, vfg_error *err)
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
int take_back_marked(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
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
	/* an apply finishes what is open twice (prepare, then its own transaction): said once */
	if (summary && !strstr(summary->notes, note))
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
int open_and_recover(vfg_context *ctx, const char *subject, bool undoing, bool sweep, host_journal *hj,
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
