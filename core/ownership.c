/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a domain may claim, asked before anything is written (journal.h:
 * plan_check_ownership): an IOMMU group is one domain's, held with one
 * backend, and a domain's grants are for one uid and gid. Apply and prepare
 * refuse what fails (apply.c, which records the refusal); vfg_plan_build
 * keeps it for plan and the dry run to show (plan.c).
 */
#include <errno.h>
#include <string.h>

#include "journal.h"

/* An IOMMU group belongs to one domain: refuse before anything is written. */
int ownership_group_free(const host_journal *hj, const char *name, const char *hostdev, unsigned group, vfg_error *err)
{
	const domain_journal *other = NULL;
	const journal_claim *claim = NULL;
	if (host_journal_group_holder(hj, name, group, &claim, &other, err) < 0)
		return -1;
	if (!claim)
		return 0;
	char holder[VFG_HOSTDEV_NAME_MAX];
	return vfg_error_refuse(err, EBUSY, hostdev,
				"IOMMU group %u belongs to domain %s (through its hostdev %s); revoke it there first",
				group, other->domain->name, journal_claim_name(claim, holder));
}

/*
 * One group takes one backend, also across two applies of the same domain:
 * the hypervisor reaches the group either through the legacy group node or
 * through the devices' cdevs, and a second backend's grants next to the
 * first's would leave both live. A switch is refused rather than carried
 * out, since the running hypervisor holds what the old backend granted (an
 * open group keeps a cdev from binding: vfio_device_block_group(),
 * drivers/vfio/group.c): it is a revoke, then an apply. A claim prepare made
 * before the backend was chosen (auto) takes the plan's.
 */
static int check_backend_kept(const host_journal *hj, const vfg_plan *plan, const vfg_hostdev *hostdev, vfg_error *err)
{
	const domain_journal *dj = host_journal_find(hj, plan->domain.name);
	const journal_claim *claim = dj ? domain_journal_find_group_claim(dj, hostdev->group.number) : NULL;
	if (!claim || claim->backend == VFG_BACKEND_AUTO || claim->backend == hostdev->backend)
		return 0;
	char bdf[VFG_HOSTDEV_NAME_MAX], held[VFG_HOSTDEV_NAME_MAX];
	const char *name = plan->domain.name;
	return vfg_error_refuse(err, EBUSY, vfg_hostdev_name(&hostdev->spec, bdf),
				"IOMMU group %u is held by domain %s with backend %s (through its hostdev %s), and one "
				"group takes one backend: to move it to %s, run vfguard revoke --domain %s first, then "
				"apply with backend=%s; nothing was changed",
				hostdev->group.number, name, vfg_backend_name(claim->backend),
				journal_claim_name(claim, held), vfg_backend_name(hostdev->backend),
				VFG_NAME_SHELL(name), vfg_backend_name(hostdev->backend));
}

/* @record is one @plan takes back (a path grant fd access no longer needs: plan.c, plan_leftover_grants). */
static bool revoked_by(const vfg_plan *plan, const journal_record *record)
{
	for (size_t i = 0; plan && i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		if (step->action == VFG_ACTION_REVOKE &&
		    strcmp(plan->labelers[step->labeler].labeler->name, record->labeler) == 0 &&
		    strcmp(plan->nodes[step->node].path, record->node.path) == 0)
			return true;
	}
	return false;
}

/* The profile the apparmor labeler names @domain's rules file after (plugins/apparmor/apparmor.c). */
static void apparmor_profile(const vfg_domain *domain, char *buf, size_t size)
{
	const char *given = vfg_domain_attr(domain, "apparmor.profile");
	if (given[0])
		snprintf(buf, size, "%s", given);
	else if (domain->uuid[0])
		snprintf(buf, size, "libvirt-%s", domain->uuid);
	else
		snprintf(buf, size, "vfguard-%s", domain->name);
}

/*
 * A domain's grants are for the uid and gid it holds them with (a node's
 * owner, an ACL entry). An apply keeps what the domain holds, listed again
 * or not, rather than granting it anew, so one for other ids would leave
 * those nodes the old ids', and the new hypervisor shut out, while the
 * journal took the new ids. Likewise the pid names the places some grants
 * are in (the namespace labeler's /dev entries, the cgroup labeler's rules
 * unless the same --cgroup names the cgroup): a container started again
 * under the same id, the first gone without its poststop, was told
 * "already held" and got nothing, its cgroup shut (a trial). And AppArmor
 * rules are in the file of the profile the uuid or --apparmor-profile
 * names. Each is refused, as a backend switch is: a revoke, then an apply;
 * unless @plan takes back the record (NULL: prepare, which knows no plan).
 * Claims alone grant nothing: not refused.
 */
int ownership_ids_kept(const domain_journal *dj, const vfg_domain *domain, const vfg_plan *plan, vfg_error *err)
{
	if (!dj || !dj->domain)
		return 0;
	const vfg_domain *held = dj->domain;
	char held_profile[VFG_LABEL_MAX + 16], profile[VFG_LABEL_MAX + 16];
	apparmor_profile(held, held_profile, sizeof(held_profile));
	apparmor_profile(domain, profile, sizeof(profile));
	bool uid_gid = held->uid == domain->uid && held->gid == domain->gid;
	bool other_pid = held->pid && domain->pid && held->pid != domain->pid;
	const char *held_cgroup = vfg_domain_attr(held, "cgroup.path"),
		   *cgroup = vfg_domain_attr(domain, "cgroup.path");
	bool same_cgroup = held_cgroup[0] && strcmp(held_cgroup, cgroup) == 0;
	/* A --cgroup given names where the rules go; none given leaves the layer off, the rules held kept. */
	bool other_cgroup = cgroup[0] && !same_cgroup;
	bool rules_file = strcmp(held_profile, profile) != 0;
	if (uid_gid && !other_pid && !other_cgroup && !rules_file)
		return 0;
	unsigned held_uid = (unsigned)held->uid, held_gid = (unsigned)held->gid;
	for (size_t i = 0; i < dj->n_records; i++) {
		const journal_record *record = dj->records[i];
		if (revoked_by(plan, record))
			continue;
		if (!uid_gid)
			return vfg_error_refuse(
				err, EBUSY, domain->name,
				"the domain's grants are for uid %u gid %u, not uid %u gid %u: an apply keeps "
				"what the domain holds, so %s would stay granted to uid %u gid %u; give --uid "
				"%u --gid %u, or run vfguard revoke --domain %s first, then apply; nothing was "
				"changed",
				held_uid, held_gid, (unsigned)domain->uid, (unsigned)domain->gid, record->node.path,
				held_uid, held_gid, held_uid, held_gid, VFG_NAME_SHELL(domain->name));
		if (other_pid && (strcmp(record->labeler, "namespace") == 0 ||
				  (strcmp(record->labeler, "cgroup") == 0 && !same_cgroup)))
			return vfg_error_refuse(
				err, EBUSY, domain->name,
				"the domain's grants are for pid %d (its cgroups and /dev), not pid %d: an "
				"apply keeps what the domain holds, so pid %d would get none; once pid %d is "
				"gone, run vfguard revoke --domain %s first, then apply; nothing was changed",
				(int)held->pid, (int)domain->pid, (int)domain->pid, (int)held->pid,
				VFG_NAME_SHELL(domain->name));
		if (other_cgroup && strcmp(record->labeler, "cgroup") == 0) {
			char held_place[VFG_PATH_MAX + 32];
			if (held_cgroup[0])
				snprintf(held_place, sizeof(held_place), "cgroup %s", held_cgroup);
			else
				snprintf(held_place, sizeof(held_place), "the cgroups of pid %d", (int)held->pid);
			return vfg_error_refuse(
				err, EBUSY, domain->name,
				"the domain's device cgroup rules are in %s, not cgroup %s: an apply keeps what the "
				"domain holds, so %s would get no rule for %s; %s%s%sor run vfguard revoke --domain %s "
				"first, then apply; nothing was changed",
				held_place, cgroup, cgroup, record->node.path, held_cgroup[0] ? "give --cgroup " : "",
				held_cgroup[0] ? held_cgroup : "", held_cgroup[0] ? ", " : "",
				VFG_NAME_SHELL(domain->name));
		}
		if (rules_file && strcmp(record->labeler, "apparmor") == 0) {
			/* The uuid named the held profile: giving it again is the way back (a review: not a uuid
			 * alone). */
			bool by_uuid = held->uuid[0] && !vfg_domain_attr(held, "apparmor.profile")[0];
			return vfg_error_refuse(
				err, EBUSY, domain->name,
				"the domain's AppArmor rules are in profile %s's file, not %s's: an apply keeps "
				"what the domain holds, and its rules would go to another file; give %s %s, or "
				"run vfguard revoke --domain %s first, then apply; nothing was changed",
				held_profile, profile, by_uuid ? "--uuid" : "--apparmor-profile",
				by_uuid ? held->uuid : held_profile, VFG_NAME_SHELL(domain->name));
		}
	}
	return 0;
}

/* Is labeler @name one @plan runs (node or domain scope), or, without a plan (prepare), one @ctx loaded? */
static bool labeler_loaded(const vfg_context *ctx, const vfg_plan *plan, const char *name)
{
	for (size_t i = 0; plan && i < plan->n_labelers; i++)
		if (strcmp(plan->labelers[i].labeler->name, name) == 0)
			return true;
	for (size_t i = 0; plan && i < plan->n_domain_labelers; i++)
		if (strcmp(plan->domain_labelers[i].labeler->name, name) == 0)
			return true;
	for (size_t i = 0; !plan && ctx && i < ctx->n_labelers; i++)
		if (strcmp(ctx->labelers[i]->name, name) == 0)
			return true;
	return false;
}

/*
 * A record of a labeler not loaded that switching @hostdev (held with path
 * access, asked with fd) would have to take back: one on a node @plan gives
 * fd access among the hostdev's; without a plan (prepare, before the nodes
 * are known), any node record of such a labeler.
 */
static const journal_record *switch_takes_back_unloaded(const vfg_context *ctx, const domain_journal *dj,
							const vfg_plan *plan, const vfg_hostdev *hostdev,
							const held_path_needs *needs)
{
	for (size_t i = 0; i < dj->n_records; i++) {
		const journal_record *record = dj->records[i];
		if (record->node.kind == VFG_NODE_DOMAIN || labeler_loaded(ctx, plan, record->labeler))
			continue;
		if (!plan)
			return record;
		for (size_t k = 0; k < hostdev->n_nodes; k++) {
			const vfg_node *node = &plan->nodes[hostdev->nodes[k]];
			/* one a hostdev held outside the plan still opens by path keeps its grant: no take-back */
			if (node->access == VFG_ACCESS_FD && strcmp(node->path, record->node.path) == 0 &&
			    !held_path_needs_node(needs, node))
				return record;
		}
	}
	return NULL;
}

int ownership_switch_labelers_loaded(const vfg_context *ctx, const domain_journal *dj, const vfg_domain *domain,
				     const vfg_plan *plan, char refused[VFG_HOSTDEV_NAME_MAX], vfg_error *err)
{
	size_t n = plan ? plan->n_hostdevs : domain->n_hostdevs;
	held_path_needs needs = {0};
	bool needs_read = false;
	const journal_record *record = NULL;
	size_t h = 0;
	for (; dj && !record && h < n; h++) {
		const vfg_hostdev_spec *spec = plan ? &plan->hostdevs[h].spec : &domain->hostdevs[h];
		const journal_claim *held = domain_journal_find_claim(dj, vfg_hostdev_name(spec, refused));
		if (!held || held->access != VFG_ACCESS_PATH || spec->access != VFG_ACCESS_FD)
			continue;
		/* read once, at the first hostdev that switches */
		if (plan && !needs_read && held_path_needs_read(dj, plan, &needs, err) < 0)
			return -1;
		needs_read = true;
		record = switch_takes_back_unloaded(ctx, dj, plan, plan ? &plan->hostdevs[h] : NULL, &needs);
	}
	held_path_needs_free(&needs);
	if (record) {
		/*
		 * The switch takes back the path grants fd access no longer needs,
		 * each through the labeler that made it (plan.c:
		 * plan_leftover_grants); one not loaded has no step, so its grant
		 * stayed on a node passed by fd and the revoke after refused (a
		 * trial). Refused here, before a driver or the journal is touched;
		 * an apply that does not switch keeps such grants as ever (the
		 * libvirt hook drops apparmor for an unconfined domain).
		 */
		const char *held_labelers = vfg_domain_attr(dj->domain, VFG_DOMAIN_ATTR_LABELERS);
		vfg_hostdev_name(plan ? &plan->hostdevs[h - 1].spec : &domain->hostdevs[h - 1], refused);
		return vfg_error_refuse(
			err, EBUSY, refused,
			"the apply of domain %s switches it from path to fd access, which takes back its path "
			"grants, but labeler %s, which this apply does not load (config key labelers), holds one on "
			"%s: it could not be taken back; apply with it loaded (--set labelers=%s, or labelers in "
			"vfguard.conf), or keep access=path; nothing was changed",
			domain->name, record->labeler, record->node.path,
			held_labelers[0] ? held_labelers : record->labeler);
	}
	refused[0] = '\0';
	return 0;
}

int plan_check_ownership(const host_journal *hj, const vfg_plan *plan, char refused[VFG_HOSTDEV_NAME_MAX],
			 vfg_error *err)
{
	refused[0] = '\0';
	const domain_journal *dj = host_journal_find(hj, plan->domain.name);
	if (ownership_ids_kept(dj, &plan->domain, plan, err) < 0 ||
	    ownership_switch_labelers_loaded(NULL, dj, &plan->domain, plan, refused, err) < 0)
		return -1;
	for (size_t h = 0; h < plan->n_hostdevs; h++) {
		const vfg_hostdev *hostdev = &plan->hostdevs[h];
		vfg_hostdev_name(&hostdev->spec, refused);
		if (ownership_group_free(hj, plan->domain.name, refused, hostdev->group.number, err) < 0 ||
		    check_backend_kept(hj, plan, hostdev, err) < 0)
			return -1;
	}
	refused[0] = '\0';
	return 0;
}
