/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DAC: owner, group and mode. The kernel checks them only when a node is
 * opened (may_open() -> inode_permission() -> generic_permission() in
 * fs/namei.c), never on a passed fd. An exclusive node is given to the
 * hypervisor's uid:gid; a shared node never changes owner, a uid that needs
 * it gets a POSIX ACL entry instead.
 */
#include <stdio.h>
#include <sys/stat.h>

#include <vfguard/labeler.h>

/* Would generic_permission() let uid:gid open the node read-write as it is? */
static const char *dac_already_allows(const vfg_domain *domain, const vfg_node *node)
{
	if (node->uid == domain->uid)
		return (node->mode & (S_IRUSR | S_IWUSR)) == (S_IRUSR | S_IWUSR) ? "the hypervisor uid owns it with rw"
										 : NULL;
	if (node->gid == domain->gid)
		return (node->mode & (S_IRGRP | S_IWGRP)) == (S_IRGRP | S_IWGRP)
			       ? "its group is the hypervisor gid, with rw"
			       : NULL;
	return (node->mode & (S_IROTH | S_IWOTH)) == (S_IROTH | S_IWOTH) ? "its mode lets every uid read and write it"
									 : NULL;
}

static int dac_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	probe->active = true;
	snprintf(probe->note, sizeof(probe->note), "hypervisor runs as uid %u gid %u", (unsigned)domain->uid,
		 (unsigned)domain->gid);
	return 0;
}

static int dac_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		    vfg_step *step, vfg_error *err)
{
	if (node->access == VFG_ACCESS_FD)
		return vfg_step_set(
			step, VFG_ACTION_NONE, "",
			"fd access: DAC is checked only at open (may_open()); the manager opens the node and "
			"the hypervisor never does");

	const char *allowed = dac_already_allows(domain, node);
	if (allowed)
		return vfg_step_set(step, VFG_ACTION_NONE, "", "owner %u:%u mode %04o: %s", (unsigned)node->uid,
				    (unsigned)node->gid, (unsigned)node->mode, allowed);

	char detail[64];
	if (node->shared) {
		snprintf(detail, sizeof(detail), "acl u:%u:rw", (unsigned)domain->uid);
		return vfg_step_set(step, VFG_ACTION_GRANT, detail,
				    "owner %u:%u mode %04o keeps uid %u out at open (generic_permission()); a shared "
				    "node never changes owner: an ACL entry for the uid, counted across domains",
				    (unsigned)node->uid, (unsigned)node->gid, (unsigned)node->mode,
				    (unsigned)domain->uid);
	}
	if ((node->mode & (S_IRUSR | S_IWUSR)) == (S_IRUSR | S_IWUSR))
		snprintf(detail, sizeof(detail), "chown %u:%u", (unsigned)domain->uid, (unsigned)domain->gid);
	else
		snprintf(detail, sizeof(detail), "chown %u:%u, chmod u+rw", (unsigned)domain->uid,
			 (unsigned)domain->gid);
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "owner %u:%u mode %04o keeps uid %u out at open (generic_permission()); the node is this "
			    "domain's alone, so it becomes the hypervisor's until revoke restores %u:%u %04o",
			    (unsigned)node->uid, (unsigned)node->gid, (unsigned)node->mode, (unsigned)domain->uid,
			    (unsigned)node->uid, (unsigned)node->gid, (unsigned)node->mode);
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v1 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.name = "dac",
	.summary = "owner, group, mode and ACL of the host node",
	.probe = dac_probe,
	.plan = dac_plan,
	.grant = vfg_labeler_grant_unimplemented,
	.revoke = vfg_labeler_revoke_unimplemented,
	.audit = vfg_labeler_audit_unimplemented,
};
