/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Apply: the plan's steps carried out as one journaled transaction per
 * domain, under the host lock. It claims the hostdevs' IOMMU groups
 * (refusing one another domain holds, or one this domain holds with another
 * backend), then journals the intent of every grant step whose labeler can
 * say its undo before any change (labeler.h: intent), makes them all
 * durable with one sync, and runs each labeler's grant in plan order. A
 * grant step the domain already holds is kept (apply twice changes
 * nothing); a node the plan now gives fd access, but an earlier run granted
 * by path, has that grant taken back after every grant, behind the journal's
 * forward line. The first failure undoes every change of the transaction,
 * newest first (undo.c). Prepare, managed mode's detach before the plan, is
 * here too; revoke, restore and hot-unplug are in revoke.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transaction.h"

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

int record_in_force(const vfg_context *ctx, const host_journal *hj, const vfg_plan *plan, const vfg_step *step,
		    const journal_record *held, char *why, size_t why_size, vfg_error *err)
{
	const vfg_planned_labeler *pl = &plan->labelers[step->labeler];
	const vfg_node *node = &plan->nodes[step->node];
	why[0] = '\0';
	if (!VFG_LABELER_OPTIONAL(pl->labeler, held_in_force))
		return 1;
	txn_view view;
	vfg_labeler_env env = txn_view_env(ctx, &view, hj, pl->labeler->name);
	int r = pl->labeler->held_in_force(&env, &plan->domain, &pl->probe, node, held->undo, why, why_size, err);
	if (r < 0)
		vfg_error_prefix(err, "%s %s", pl->labeler->name, node->path);
	return r < 0 ? -1 : r > 0;
}

/*
 * A grant step the domain holds since an earlier apply whose change its
 * labeler says is no longer in force (labeler.h: held_in_force; a cgroup
 * removed and made again at the same path): its record is undone, the
 * revoke leaving the new cgroup alone, so that the intent pass and the
 * grants below make the step anew. Before, apply kept it as held and the
 * hypervisor got nothing from the new cgroup. The undo's mark is synced
 * with the intents: lost with a crash, the record is held again, as before
 * this apply, and this apply is rolled back.
 */
static int renew_stale_holds(vfg_context *ctx, host_journal *hj, domain_journal *dj, const vfg_plan *plan,
			     vfg_change_summary *summary, vfg_error *err)
{
	undo_probes probes = {0};
	int r = 0;
	for (size_t i = 0; r == 0 && i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		const vfg_planned_labeler *pl = &plan->labelers[step->labeler];
		const vfg_node *node = &plan->nodes[step->node];
		const journal_record *held;
		if (step->action != VFG_ACTION_GRANT ||
		    !(held = domain_journal_find_record(dj, pl->labeler->name, node->path)))
			continue;
		char why[VFG_ERROR_MESSAGE_MAX / 2];
		int in_force = record_in_force(ctx, hj, plan, step, held, why, sizeof(why), err);
		if (in_force != 0) {
			r = in_force < 0 ? -1 : 0;
			continue;
		}
		/* The revoke's own notes say what it left alone; this one says what apply does about it. */
		r = undo_record(ctx, hj, dj, held->id, &probes, NULL, err);
		if (r == 0) {
			char note[VFG_ERROR_MESSAGE_MAX];
			snprintf(note, sizeof(note), "%s %s: %s; granted again\n", pl->labeler->name, node->path,
				 why[0] ? why : "the change held since an earlier apply is no longer in force");
			summary_note(summary, note);
		}
	}
	undo_probes_free(&probes);
	return r;
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
		r = renew_stale_holds(ctx, hj, dj, plan, summary, err);
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
/* A command starts its records; the outcome record needs a summary and an error even when the caller takes none. */
void command_begin(vfg_context *ctx, const char *command, command_outcome *own, vfg_change_summary **summary,
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
int command_end(vfg_context *ctx, const char *domain, int r, vfg_error *err, vfg_change_summary *summary)
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
