/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_APPLY_H
#define VFGUARD_APPLY_H

/*
 * Changing the host: a plan applied as one journaled transaction, a domain
 * prepared, applied and revoked, what crashed runs left finished, and what
 * the journal holds.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <vfguard/context.h>
#include <vfguard/error.h>
#include <vfguard/model.h>
#include <vfguard/plan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What apply, revoke or restore did. */
typedef struct vfg_change_summary {
	size_t changed; /* changes made (apply) or undone (revoke, restore --all) */
	size_t kept; /* apply: grants the domain already held */
	size_t revoked; /* apply: path grants of an earlier run taken back, the node now being fd access */
	size_t recovered; /* unfinished transactions of crashed or failed runs finished first */
	char notes[2048]; /* what was left alone on purpose, one line each */
} vfg_change_summary;

/*
 * Carry out the plan's changes as one transaction, journaled in the state
 * directory under the host lock: claim the hostdevs' IOMMU groups (failing,
 * with nothing changed, when another domain holds one), then each grant step
 * in order. On a failure every change of the transaction is undone, newest
 * first, and the error names the step. @summary may be NULL.
 *
 * One exception: an apply that switches held hostdevs to fd access takes
 * back their path grants after its last grant (docs/journal.md, `takeback`
 * and `forward`). A failure there (a takeback's, the commit's) is not
 * undone: the grants stand, the transaction stays open and the error says
 * "stays open". The next call that takes the host lock (a revoke at the
 * VM's stop, an apply again, vfg_restore) finishes it first, so a caller
 * does as after any failure.
 */
int vfg_plan_apply(vfg_context *ctx, const vfg_plan *plan, vfg_change_summary *summary, vfg_error *err);

/*
 * For each managed hostdev of @domain (managed=yes) not yet prepared: claim
 * its IOMMU group for the domain (refusing one another domain holds) and
 * detach it to vfio-pci, journaled, so that revoke, or restore after a crash,
 * gives it back to its driver. Call it before vfg_plan_build, which needs the
 * function on vfio-pci to find its nodes. Hostdevs not managed are left alone.
 */
int vfg_domain_prepare(vfg_context *ctx, const vfg_domain *domain, vfg_change_summary *summary, vfg_error *err);

/*
 * What `vfguard apply` does, in one call: vfg_domain_prepare (managed
 * hostdevs to vfio-pci), vfg_plan_build, vfg_plan_apply, the last two
 * under one hold of the exclusive host lock (the labelers apply what they
 * planned from what they read once). The plan goes to
 * *@plan (vfg_plan_free it; NULL on failure) for vfg_domain_open_fds and
 * vfg_plan_audit; @plan NULL when the caller needs none (as @summary and
 * @err may be). Applying again, with the same domain or with its pid now
 * known, keeps what the domain holds and adds what the pid makes needed. On a
 * failure before the apply committed, its grants are undone, and so are the
 * functions this call's prepare detached when the domain held nothing before
 * (the host is as before the call). A domain that held something keeps them,
 * journaled, and the error says so: vfg_domain_revoke gives them back.
 */
int vfg_domain_apply(vfg_context *ctx, const vfg_domain *domain, vfg_plan **plan, vfg_change_summary *summary,
		     vfg_error *err);

/* Undo everything domain @name holds and release its groups. A domain that holds nothing: 0, nothing done. */
int vfg_domain_revoke(vfg_context *ctx, const char *name, vfg_change_summary *summary, vfg_error *err);

/*
 * Hot-unplug (VFGUARD_0.6): take back only what the hostdevs @hostdevs
 * (NULL-terminated texts, as vfg_hostdev_spec_parse takes them) alone
 * needed, in every layer (an owner, a cgroup rule, an AppArmor rule, a
 * label, a private /dev entry): their cdevs, their group claims, their
 * group nodes once the domain holds no other function of the group; a
 * shared node (/dev/vfio/vfio, /dev/iommu) stays while another hostdev of
 * the domain uses its backend. The domain-scope grant, the locked-memory
 * limit, stays with the domain. A hostdev the domain does not hold: -1,
 * nothing changed. A hostdev still in its VM, a process having its cdev or
 * its group's node (when the domain keeps no function of that group) open
 * still after a wait of 5 seconds without the lock: -1 with EBUSY, naming
 * the process, nothing changed (a manager's unplug can return before the
 * guest lets the device go; its own copies of the fds count too).
 * Naming every hostdev the domain holds is vfg_domain_revoke.
 */
int vfg_domain_revoke_hostdevs(vfg_context *ctx, const char *name, const char *const *hostdevs,
			       vfg_change_summary *summary, vfg_error *err);

/*
 * A record vfg_domain_revoke_forgetting dropped from the journal without
 * undoing it: labeler @labeler's grant on @node (a device node's path, or
 * a domain-scope subject), and @undo, the labeler's own text of what was
 * there before (an owner and mode, a label, a rule), which is left for the
 * administrator to put back by hand. @others: how many other domains hold
 * the same grant (the same labeler, node and undo text); while any does, undoing it
 * by hand can take theirs too (a shared node's ACL), and the last one's
 * revoke puts back what was there where the labeler counts holders.
 * (VFGUARD_0.9.)
 */
typedef void (*vfg_forgotten_fn)(const char *labeler, const char *node, const char *undo, size_t others, void *data);

/*
 * vfg_domain_revoke for a domain that holds grants of a labeler this host
 * can no longer load (its module removed, its name left out of 'labelers'):
 * its records of each labeler @forget names (NULL-terminated) are dropped
 * from the journal without being undone, each told to @forgotten (NULL:
 * nobody) as it goes; everything else the domain holds is undone as
 * vfg_domain_revoke undoes it, also what a failed or crashed run of the
 * domain left open. A labeler named that is loaded here, or that the domain
 * holds no grant of: -1, nothing changed. Other domains' records are never
 * dropped. (VFGUARD_0.9.)
 */
int vfg_domain_revoke_forgetting(vfg_context *ctx, const char *name, const char *const *forget,
				 vfg_forgotten_fn forgotten, void *data, vfg_change_summary *summary, vfg_error *err);

/* Finish what crashed runs left: undo unfinished applies, complete unfinished revokes; @release_all: revoke every
 * domain too. */
int vfg_restore(vfg_context *ctx, bool release_all, vfg_change_summary *summary, vfg_error *err);

/* The domains the journal holds (@name: only that one, NULL: all): hostdevs, and what each layer granted. */
int vfg_status_write_text(vfg_context *ctx, const char *name, FILE *out, vfg_error *err);
int vfg_status_write_json(vfg_context *ctx, const char *name, FILE *out, vfg_error *err);

#ifdef __cplusplus
}
#endif
#endif
