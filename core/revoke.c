/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The commands that take back: revoke of a domain (with --forget, of the
 * records of a labeler that cannot be loaded any more), restore, and the
 * revoke of some of a domain's hostdevs (hot-unplug). Each is one
 * transaction under the host lock; undo.c does the undoing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "transaction.h"

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
 * Another hostdev that keeps it by fd alone keeps the record only when its
 * labeler grants for fd access too (record_needed_by_fd): a path grant kept
 * for the unplugged one, after another switched to fd, goes with it (a
 * trial found it left, and audit reporting it). Another domain's grants of
 * a shared node are its own records: a labeler's undo of this domain's
 * record leaves them (labeler.h). Whether it goes.
 */
static bool record_is_hostdevs(vfg_context *ctx, const host_journal *hj, const journal_record *record,
			       const journal_claim *claim, dev_t cdev_rdev, const domain_journal *dj,
			       undo_probes *probes)
{
	char group_path[32];
	bool kept_by_path = false, kept_by_fd = false;
	switch (record->node.kind) {
	case VFG_NODE_GROUP:
		snprintf(group_path, sizeof(group_path), "/dev/vfio/%u", claim->group);
		if (strcmp(record->node.path, group_path) != 0)
			return 0;
		/* A function of the same group that @dj keeps opens the group through the same node. */
		for (size_t i = 0; i < dj->n_claims; i++)
			if (&dj->claims[i] != claim && dj->claims[i].group == claim->group) {
				kept_by_path |= dj->claims[i].access == VFG_ACCESS_PATH;
				kept_by_fd |= dj->claims[i].access != VFG_ACCESS_PATH;
			}
		break;
	case VFG_NODE_CDEV:
		return cdev_rdev && record->node.rdev == cdev_rdev;
	case VFG_NODE_CONTAINER:
	case VFG_NODE_IOMMUFD: {
		vfg_backend needs = record->node.kind == VFG_NODE_CONTAINER ? VFG_BACKEND_LEGACY : VFG_BACKEND_IOMMUFD;
		for (size_t i = 0; i < dj->n_claims; i++) {
			const journal_claim *other = &dj->claims[i];
			if (other == claim || (other->backend != needs && other->backend != VFG_BACKEND_AUTO))
				continue;
			/* AUTO (no backend written): either node may be its own, so kept */
			kept_by_path |= other->access == VFG_ACCESS_PATH || other->backend == VFG_BACKEND_AUTO;
			kept_by_fd |= other->access != VFG_ACCESS_PATH;
		}
		if (!kept_by_path && !kept_by_fd && claim->backend != needs)
			return 0;
		break;
	}
	case VFG_NODE_DOMAIN:
		return 0; /* the domain's own changes (cgroup, AppArmor, memlock) stay with the domain */
	}
	if (kept_by_path)
		return 0;
	if (!kept_by_fd)
		return 1;
	/*
	 * A labeler that cannot say (its probe or plan fails: the node gone, a
	 * policy unread) keeps the record, as every one did before: the unplug
	 * does not fail for a question, and the domain's revoke takes it back.
	 */
	vfg_error unasked = {0};
	return record_needed_by_fd(ctx, hj, dj, record, probes, &unasked) == 0;
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
		if (i >= dj->n_records || !record_is_hostdevs(ctx, hj, dj->records[i], claim, cdev_rdev, dj, &probes))
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
int revoke_unplug(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary, vfg_error *err)
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

/* Does @unplug name @claim's hostdev? */
static bool claim_unplugged(const journal_claim *claim, const journal_unplug *unplug, size_t n)
{
	char held[VFG_HOSTDEV_NAME_MAX];
	journal_claim_name(claim, held);
	for (size_t j = 0; j < n; j++)
		if (strcmp(held, unplug[j].name) == 0)
			return true;
	return false;
}

/*
 * How long revoke --hostdev waits for a hostdev's nodes to be let go, and
 * how often it looks. QEMU closes a device's group and cdev as it finalizes
 * the device, which may come just after DEVICE_DELETED, and a manager's
 * unplug returns then (vfguard hotunplug, virsh detach-device).
 */
#define UNPLUG_LET_GO_WAIT_MS 5000
#define UNPLUG_LET_GO_STEP_MS 100

/* The nodes through which a hostdev revoke --hostdev names may still be held. */
typedef struct unplug_nodes {
	const char *hostdev;
	vfg_vfio_node_ref nodes[2];
	size_t n;
} unplug_nodes;

/*
 * Each hostdev of @unplug, a PCI function or an mdev: its cdev, and its
 * group's node unless a hostdev @dj keeps is of that group (its VM opens the
 * group through the same node). An mdev's are its own (its group holds it
 * alone), and a VM holds them as it holds a function's.
 */
static void unplug_nodes_find(const vfg_context *ctx, const domain_journal *dj, const journal_unplug *unplug, size_t n,
			      unplug_nodes *found)
{
	for (size_t i = 0; i < n; i++) {
		const journal_claim *claim = domain_journal_find_claim(dj, unplug[i].name);
		found[i] = (unplug_nodes){.hostdev = unplug[i].name};
		if (!claim)
			continue;
		bool group_kept = false;
		for (size_t c = 0; c < dj->n_claims; c++)
			group_kept |=
				dj->claims[c].group == claim->group && !claim_unplugged(&dj->claims[c], unplug, n);
		vfg_vfio_node_ref nodes[2];
		size_t count = vfg_hostdev_vfio_nodes(ctx, unplug[i].name, nodes);
		for (size_t k = 0; k < count; k++)
			if (!group_kept || strncmp(nodes[k].name, "/dev/vfio/devices/", 18) == 0)
				found[i].nodes[found[i].n++] = nodes[k];
	}
}

/*
 * Milliseconds since @start on the monotonic clock. The wait is measured,
 * not counted in steps: a look reads every fd of every process, which on a
 * host of many VMs takes a good part of a second (a trial: 290,000 fds
 * open, "after 5 s" came after 47 s).
 */
static long ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/*
 * Before the wait, once: without it a user sees the command say nothing
 * for 5 s. The first hostdev found held is named; the one the refusal
 * names, when the wait runs out, may be another.
 */
static void announce_unplug_wait(const vfg_context *ctx, const char *name, const char *hostdev, const char *users,
				 int wait_ms)
{
	char message[VFG_ERROR_MESSAGE_MAX];
	snprintf(message, sizeof(message),
		 "%s: hostdev of domain %s is still in its VM: %s; waiting up to %d s for the VM to let it go, "
		 "else the revoke is refused",
		 hostdev, name, users, wait_ms / 1000);
	vfg_notify(ctx, VFG_NOTICE_UNPLUG_WAIT, hostdev, message);
}

/*
 * A hostdev still in its VM is refused, nothing changed: a process has its
 * cdev or its group's node open. Its manager's unplug may have returned
 * before the guest let the device go (a guest that never ran does not
 * eject it: docs/hotplug.md), and giving a managed one back to its driver
 * then waits in the kernel's unbind, with no timeout and past any signal,
 * for the device to be closed (driver.c: announce_vfio_users); a grant taken
 * back and a claim released would be a device the VM still has. Measured
 * with a real libvirt: libvirt-hotplug in the VM suite.
 */
static int unplug_nodes_let_go(const vfg_context *ctx, const char *name, const unplug_nodes *found, size_t n,
			       int wait_ms, vfg_error *err)
{
	char users[VFG_ERROR_MESSAGE_MAX / 2];
	struct timespec start;
	bool told = false;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		size_t i = 0;
		while (i < n && (!found[i].n || !vfg_vfio_users_open(found[i].nodes, found[i].n, users, sizeof(users))))
			i++;
		if (i == n)
			return 0;
		long waited = ms_since(&start);
		if (waited >= wait_ms) {
			char after[32] = "";
			if (wait_ms)
				snprintf(after, sizeof(after), ", after %ld s", waited / 1000);
			/* hotunplug reads the holders out of its words (tools/cmd_hotplug.c) */
			return vfg_error_set(err, EBUSY, found[i].hostdev,
					     "hostdev %s of domain %s is still in its VM: %s%s; its manager's "
					     "unplug can return before the guest lets the device go (virsh "
					     "detach-device, QMP device_del); nothing was changed: revoke it once the "
					     "VM has let it go, or stop the VM",
					     found[i].hostdev, name, users, after);
		}
		if (!told)
			announce_unplug_wait(ctx, name, found[i].hostdev, users, wait_ms);
		told = true;
		long step = wait_ms - waited < UNPLUG_LET_GO_STEP_MS ? wait_ms - waited : UNPLUG_LET_GO_STEP_MS;
		usleep((useconds_t)step * 1000);
	}
}

/* Is a node of number @rdev among @found's? */
static bool unplug_nodes_has(const unplug_nodes *found, dev_t rdev)
{
	for (size_t k = 0; k < found->n; k++)
		if (found->nodes[k].rdev == rdev)
			return true;
	return false;
}

/*
 * The nodes once more, under the exclusive lock: the wait held none, and
 * another command may have changed the domain meanwhile. One that took back
 * the last other function of a named hostdev's group made that group's node
 * this revoke's to take back, and it was not waited for (a trial: revoke
 * --hostdev of a GPU and of its audio function run at once both went
 * through while the VM held the group's node; run one after the other, the
 * second is refused). Such a node is looked at once, without waiting: the
 * lock is held. One @waited has was looked at already.
 */
static int unplug_nodes_recheck(const vfg_context *ctx, const char *name, const domain_journal *dj,
				const journal_unplug *unplug, size_t n, const unplug_nodes *waited, vfg_error *err)
{
	_cleanup_free_ unplug_nodes *now = calloc(n, sizeof(*now));
	if (!now)
		return vfg_error_set(err, ENOMEM, name, "out of memory");
	unplug_nodes_find(ctx, dj, unplug, n, now);
	for (size_t i = 0; i < n; i++) {
		size_t added = 0;
		for (size_t k = 0; k < now[i].n; k++)
			if (!unplug_nodes_has(&waited[i], now[i].nodes[k].rdev))
				now[i].nodes[added++] = now[i].nodes[k];
		now[i].n = added;
	}
	return unplug_nodes_let_go(ctx, name, now, n, 0, err);
}

/* How many of @dj's claims @unplug does not name. */
static size_t claims_kept(const domain_journal *dj, const journal_unplug *unplug, size_t n)
{
	size_t kept = 0;
	for (size_t i = 0; i < dj->n_claims; i++)
		kept += !claim_unplugged(&dj->claims[i], unplug, n);
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
	unplug_nodes *found = unplug ? calloc(n, sizeof(*found)) : NULL;
	if (r == 0 && !found)
		r = vfg_error_set(err, ENOMEM, name, "out of memory");
	if (r == 0 && host_journal_open_for(ctx, false, name, &hj, err) == 0) {
		const domain_journal *held = host_journal_find(&hj, name);
		r = check_hostdevs_held(held, name, hostdevs, unplug, n, err);
		if (r == 0)
			unplug_nodes_find(ctx, held, unplug, n, found);
		host_journal_close(&hj);
	} else {
		r = -1;
	}
	/* No lock held while it waits: another domain's command goes on meanwhile. */
	if (r == 0)
		r = unplug_nodes_let_go(ctx, name, found, n, UNPLUG_LET_GO_WAIT_MS, err);
	if (r < 0 || open_and_recover(ctx, name, true, false, &hj, summary, err) < 0) {
		free(found);
		free(unplug);
		return -1;
	}
	domain_journal *dj = host_journal_find(&hj, name);
	r = check_hostdevs_held(dj, name, hostdevs, unplug, n, err);
	if (r == 0)
		r = unplug_nodes_recheck(ctx, name, dj, unplug, n, found, err);
	free(found);
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
