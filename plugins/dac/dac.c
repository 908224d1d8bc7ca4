/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DAC: owner, group and mode. The kernel checks them only when a node is
 * opened (may_open() -> inode_permission() -> generic_permission() in
 * fs/namei.c), never on a passed fd. An exclusive node is given to the
 * hypervisor's uid:gid; a shared node never changes owner, a uid that needs
 * it gets a POSIX ACL entry instead (dac_shared.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "dac.h"
#include "vfg_fault.h"

int dac_revoke_open(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_node_fd *nfd, vfg_error *err)
{
	vfg_error why = {0};
	if (vfg_node_fd_open(env, node, nfd, &why) == 0)
		return 1;
	return vfg_txn_unopened(txn, &why, err);
}

/*
 * Would generic_permission() let uid:gid open the node read-write as it is?
 * Sets *@why to the reason when it would, leaves it NULL when a grant is
 * needed; *@acl tells whether the node has an access ACL.
 */
static int dac_already_allows(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node,
			      const char **why, bool *acl, vfg_error *err)
{
	const mode_t rw_user = S_IRUSR | S_IWUSR, rw_group = S_IRGRP | S_IWGRP, rw_other = S_IROTH | S_IWOTH;
	*why = NULL;
	*acl = false;
	/* acl_permission_check() (fs/namei.c) decides on the owner bits alone for the owner, ACL or not. */
	bool owner = node->uid == domain->uid;
	if (owner && (node->mode & rw_user) == rw_user) {
		*why = "the hypervisor uid owns it with rw";
		return 0;
	}

	/*
	 * For anyone else an access ACL decides (posix_acl_permission() in
	 * fs/posix_acl.c), and the group bits show its mask, not the owning
	 * group's permission. An ACL_USER entry for this uid may be another
	 * domain's grant that goes away with that domain, so an ACL always means
	 * a grant of this domain's own. The owner without rw needs one too, and
	 * its plan says what the grant does to an ACL (a trial found "chmod
	 * u+rw" planned for a node owned by the domain uid whose grant cleared
	 * the mask as well).
	 */
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, err) < 0 || dac_acl_present(&nfd, acl, err) < 0)
		return -1;
	if (*acl || owner)
		return 0;

	if (node->gid == domain->gid) {
		if ((node->mode & rw_group) == rw_group)
			*why = "its group is the hypervisor gid, with rw";
		return 0;
	}
	if ((node->mode & rw_other) == rw_other)
		*why = "its mode lets every uid read and write it";
	return 0;
}

static int dac_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	probe->active = true;
	snprintf(probe->note, sizeof(probe->note), "hypervisor runs as uid %u gid %u", (unsigned)domain->uid,
		 (unsigned)domain->gid);
	return 0;
}

/* How the node is now, for the reasons: "owner 0:0 mode 0660", and the ACL when it has one. */
static void dac_describe(const vfg_node *node, bool acl, char *buf, size_t size)
{
	snprintf(buf, size, "owner %u:%u mode %04o%s", (unsigned)node->uid, (unsigned)node->gid, (unsigned)node->mode,
		 acl ? " with an ACL, whose mask the group bits show (posix_acl_permission() in fs/posix_acl.c)," : "");
}

static int dac_plan_shared(const vfg_domain *domain, const vfg_node *node, bool acl, vfg_step *step, vfg_error *err)
{
	if (node->uid == domain->uid)
		return vfg_error_set(
			err, 0, node->path,
			"shared node owned by the hypervisor uid %u with mode %04o: the owner bits deny it "
			"rw, an ACL entry cannot help (the owner is checked first, acl_permission_check() "
			"in fs/namei.c), and vfguard never changes a shared node's mode",
			(unsigned)domain->uid, (unsigned)node->mode);
	char now[256], detail[64];
	dac_describe(node, acl, now, sizeof(now));
	snprintf(detail, sizeof(detail), "acl u:%u:rw", (unsigned)domain->uid);
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "%s keeps uid %u out at open (generic_permission())%s; a shared node never changes "
			    "owner: an ACL entry for the uid, counted across domains",
			    now, (unsigned)domain->uid, acl ? " or lets it in through another domain's entry" : "");
}

static int dac_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		    vfg_step *step, vfg_error *err)
{
	if (node->access == VFG_ACCESS_FD)
		return vfg_step_set(
			step, VFG_ACTION_NONE, "",
			"fd access: DAC is checked only at open (may_open()); the manager opens the node and "
			"the hypervisor never does");

	const char *allowed;
	bool acl;
	if (dac_already_allows(env, domain, node, &allowed, &acl, err) < 0)
		return -1;
	if (allowed)
		return vfg_step_set(step, VFG_ACTION_NONE, "", "owner %u:%u mode %04o: %s", (unsigned)node->uid,
				    (unsigned)node->gid, (unsigned)node->mode, allowed);
	if (node->mode & DAC_SPECIAL_BITS)
		return vfg_step_set(step, VFG_ACTION_REFUSE, "",
				    "mode %04o has set-id or sticky bits, which a device node never needs: vfguard "
				    "grants no node that has them (chmod %04o it first), so revoke never has them to "
				    "put back",
				    (unsigned)node->mode, (unsigned)(node->mode & 0777));
	if (node->shared)
		return dac_plan_shared(domain, node, acl, step, err);

	char now[256], detail[64];
	dac_describe(node, acl, now, sizeof(now));
	bool add_rw = (node->mode & (S_IRUSR | S_IWUSR)) != (S_IRUSR | S_IWUSR), mask = acl && (node->mode & S_IRWXG);
	snprintf(detail, sizeof(detail), "chown %u:%u%s%s%s%s", (unsigned)domain->uid, (unsigned)domain->gid,
		 add_rw || mask ? ", chmod " : "", add_rw ? "u+rw" : "", add_rw && mask ? "," : "",
		 mask ? "g-rwx" : "");
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "%s keeps uid %u out at open (generic_permission()); the node is this domain's alone, so "
			    "it becomes the hypervisor's%s until revoke restores %u:%u %04o%s",
			    now, (unsigned)domain->uid,
			    acl ? ", its ACL's entries masked (the group bits are the mask) so that no named user or "
				  "group entry lets another in,"
				: "",
			    (unsigned)node->uid, (unsigned)node->gid, (unsigned)node->mode, acl ? " and the ACL" : "");
}

int dac_undo_check_bits(const char *text, const vfg_node *node, unsigned mode, vfg_error *err)
{
	if (mode & DAC_SPECIAL_BITS)
		return vfg_error_set(err, 0, node->path,
				     "dac: journal record '%s' holds set-id or sticky bits (%04o), which no node "
				     "vfguard granted had; refusing to restore them",
				     text, mode & DAC_SPECIAL_BITS);
	return 0;
}

/*
 * An exclusive node's undo text: its owner, mode and access ACL before
 * vfguard, "uid=U gid=G mode=OOOO acl=none|HEX" (the ACL part as a shared
 * node's, dac_original_format). While granted the node is the hypervisor's,
 * and an owner may set ACL entries (a trial's VM uid gave another uid one):
 * revoke puts the ACL back too. A record written before the ACL was
 * journaled, "uid=U gid=G mode=OOOO", puts back owner and mode alone.
 */
typedef struct dac_owner {
	uid_t uid;
	gid_t gid;
	mode_t mode; /* permission bits and S_ISUID, S_ISGID, S_ISVTX */
	bool acl_known; /* the record holds the ACL: original is the mode and ACL */
	dac_original original;
} dac_owner;

#define DAC_OWNER_UNDO_MAX (sizeof("uid=4294967295 gid=4294967295 ") + DAC_ORIGINAL_UNDO_MAX)

static void dac_owner_format(const dac_owner *owner, char *buf, size_t size)
{
	int used = snprintf(buf, size, "uid=%u gid=%u ", (unsigned)owner->uid, (unsigned)owner->gid);
	if (used < 0 || (size_t)used >= size)
		return;
	if (owner->acl_known)
		dac_original_format(&owner->original, buf + used, size - (size_t)used);
	else
		snprintf(buf + used, size - (size_t)used, "mode=%04o", (unsigned)owner->mode);
}

/*
 * Revoke chowns and chmods as root to what the record says, so it takes only
 * what a grant can have written: exactly dac_owner_format()'s text (no sign,
 * space or leading zero sscanf would let by), an owner chown can set (-1
 * means "leave it"), permission bits alone, since grant refuses a node
 * with set-id or sticky bits (dac_plan), and an ACL the kernel keeps for
 * that mode (dac_original_parse).
 */
static int dac_owner_parse(const char *text, const vfg_node *node, dac_owner *owner, vfg_error *err)
{
	unsigned uid, gid, mode;
	int rest = -1;
	char canonical[DAC_OWNER_UNDO_MAX] = "";
	bool ok = text && sscanf(text, "uid=%u gid=%u %n", &uid, &gid, &rest) == 2 && rest > 0;
	if (ok) {
		*owner = (dac_owner){.uid = uid, .gid = gid, .acl_known = strstr(text + rest, " acl=") != NULL};
		if (owner->acl_known) {
			if (dac_original_parse(text + rest, node, &owner->original, err) < 0)
				return -1;
			owner->mode = owner->original.mode;
		} else {
			ok = sscanf(text + rest, "mode=%o", &mode) == 1 && mode <= 07777;
			owner->mode = mode;
		}
	}
	if (ok)
		dac_owner_format(owner, canonical, sizeof(canonical));
	if (!ok || strcmp(text, canonical) != 0)
		return vfg_error_set(err, 0, node->path,
				     "dac: journal record '%.200s' is not 'uid=U gid=G mode=OOOO' nor 'uid=U gid=G "
				     "mode=OOOO acl=none|HEX'",
				     text ? text : "(none)");
	if (uid == (unsigned)-1 || gid == (unsigned)-1)
		return vfg_error_set(err, 0, node->path,
				     "dac: journal record '%.200s' names owner -1, which no node has; refusing to "
				     "restore it",
				     text);
	if (dac_undo_check_bits(text, node, owner->mode, err) < 0)
		return -1;
	return 0;
}

/*
 * Put owner and mode on the node behind @nfd; chown first, as it clears
 * S_ISUID (notify_change()). Clearing set-id bits is all chown does to the
 * mode, so a node that has none and the mode already (nfd->st, from the
 * open) needs no chmod.
 */
static int dac_owner_set(const vfg_node_fd *nfd, const dac_owner *owner, vfg_error *err)
{
	if (vfg_fault("dac.chown") || fchownat(nfd->fd, "", owner->uid, owner->gid, AT_EMPTY_PATH) < 0)
		return vfg_error_set(err, errno, nfd->real, "cannot chown to %u:%u", (unsigned)owner->uid,
				     (unsigned)owner->gid);
	mode_t now = nfd->st.st_mode & 07777;
	if (now == owner->mode && !(now & DAC_SPECIAL_BITS))
		return 0;
	/* fchmodat(AT_EMPTY_PATH) needs Linux 6.6; the magic link reaches the same inode. */
	if (vfg_fault("dac.chmod") || chmod(nfd->proc, owner->mode) < 0)
		return vfg_error_set(err, errno, nfd->real, "cannot chmod to %04o", (unsigned)owner->mode);
	return 0;
}

/*
 * What dac_exclusive_grant leaves a node that was @original: the original
 * mode plus rw for the owner, and, on a node with an access ACL, the group
 * bits cleared. Those bits are the ACL's mask (posix_acl_chmod() rewrites it
 * from them), which bounds every named user and group entry and the owning
 * group's (posix_acl_permission(), fs/posix_acl.c): while granted the node is
 * the domain's alone, and an entry that let uid 500 in before the grant lets
 * it in again only after revoke puts the ACL's bytes back. A record written
 * before the ACL was journaled cannot tell, and keeps the group bits.
 */
static mode_t dac_granted_mode(const dac_owner *original)
{
	mode_t mode = original->mode | S_IRUSR | S_IWUSR;
	return original->acl_known && original->original.acl_size ? mode & ~(mode_t)S_IRWXG : mode;
}

/* The node's owner and mode, journaled before the change; the node is refused when chown would lose a byte. */
static int dac_exclusive_intent(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, err) < 0)
		return -1;
	/* chown drops security.capability (ATTR_KILL_PRIV, cap_inode_killpriv()); its bytes could not come back. */
	if (getxattr(nfd.proc, "security.capability", NULL, 0) >= 0)
		return vfg_error_set(err, 0, nfd.real,
				     "carries security.capability, which chown would remove for good; refusing");

	dac_owner original = {
		.uid = nfd.st.st_uid, .gid = nfd.st.st_gid, .mode = nfd.st.st_mode & 07777, .acl_known = true};
	if (dac_original_read(&nfd, &original.original, err) < 0)
		return -1;
	char undo[DAC_OWNER_UNDO_MAX];
	dac_owner_format(&original, undo, sizeof(undo));
	return vfg_txn_intent(txn, node, undo, err);
}

/* The change under the record dac_exclusive_intent journaled: the domain's owner, the original mode plus rw. */
static int dac_exclusive_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node, vfg_txn *txn,
			       vfg_error *err)
{
	dac_owner original;
	if (dac_owner_parse(vfg_txn_undo(txn, node), node, &original, err) < 0)
		return -1;
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, err) < 0)
		return -1;
	dac_owner granted = {.uid = domain->uid, .gid = domain->gid, .mode = dac_granted_mode(&original)};
	if (dac_owner_set(&nfd, &granted, err) < 0)
		return -1;
	return vfg_txn_done(txn, node, err);
}

static int dac_exclusive_revoke(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	dac_owner original;
	if (dac_owner_parse(vfg_txn_undo(txn, node), node, &original, err) < 0)
		return -1;
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	int r = dac_revoke_open(env, node, txn, &nfd, err);
	if (r <= 0)
		return r;
	/*
	 * Setting the original back is right whether or not the grant happened,
	 * and the second time too: the owner, then the ACL (an entry set while
	 * the node was the hypervisor's goes) and the mode once more.
	 */
	if (dac_owner_set(&nfd, &original, err) < 0)
		return -1;
	return original.acl_known ? dac_original_restore(&nfd, &original.original, true, err) : 0;
}

/*
 * Intent and grant are two passes (labeler.h: intent): what undo needs is
 * the node as the host has it, which no other step of the apply changes (a
 * node is one step of this labeler's, and the other labelers leave its
 * owner, mode and ACL alone), so every record is journaled, with one sync,
 * before the first chown.
 */
static int dac_intent(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
		      const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	return node->shared ? dac_shared_intent(env, node, txn, err) : dac_exclusive_intent(env, node, txn, err);
}

static int dac_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		     const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	/* Without the intent pass (a core that calls grant alone), journal first, as the pass would have. */
	if (!vfg_txn_undo(txn, node) && dac_intent(env, domain, probe, node, step, txn, err) < 0)
		return -1;
	return node->shared ? dac_shared_grant(env, domain, node, txn, err)
			    : dac_exclusive_grant(env, domain, node, txn, err);
}

static int dac_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
		      const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	return node->shared ? dac_shared_revoke(env, domain, node, txn, err)
			    : dac_exclusive_revoke(env, node, txn, err);
}

/* A grant this domain holds: is it still on the node? */
static int dac_audit_held(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node,
			  vfg_finding *finding, vfg_error *err)
{
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, err) < 0) {
		if (err->errnum != ENOENT && err->errnum != EMEDIUMTYPE)
			return -1;
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, "the granted device node", err->message,
				   "vfguard revoke --domain %s, then apply again", VFG_NAME_SHELL(domain->name));
		return 0;
	}
	char expected[128], found[256];
	bool holds;
	if (node->shared) {
		snprintf(expected, sizeof(expected), "ACL entry u:%u:rw, not masked", (unsigned)domain->uid);
		if (dac_shared_allows(&nfd, domain->uid, &holds, found, sizeof(found), err) < 0)
			return -1;
	} else {
		/*
		 * Exactly what dac_exclusive_grant set: the domain's owner and the
		 * original mode plus u+rw, with an ACL g-rwx. Any other bit (a node
		 * made 0666, a mask widened) lets someone besides the domain open it.
		 */
		dac_owner original;
		if (dac_owner_parse(vfg_finding_record(finding, node), node, &original, err) < 0)
			return -1;
		const struct stat *st = &nfd.st;
		mode_t granted = dac_granted_mode(&original);
		/*
		 * The ACL as it was, but for the owner's and the mask's entries,
		 * which the grant's chmod set (the mode shows them, checked
		 * above): its owner, the hypervisor, may have let another uid in
		 * (a security trial; a review: an entry added to an ACL it had).
		 */
		bool acl_changed = false;
		if (original.acl_known) {
			dac_original now;
			if (dac_original_read(&nfd, &now, err) < 0)
				return -1;
			acl_changed = !dac_acl_same_but_owner_mask(&original.original, &now);
		}
		snprintf(expected, sizeof(expected), "owner %u:%u mode %04o%s", (unsigned)domain->uid,
			 (unsigned)domain->gid, (unsigned)granted,
			 !original.acl_known          ? ""
			 : original.original.acl_size ? ", its ACL as before"
						      : ", no ACL");
		snprintf(found, sizeof(found), "owner %u:%u mode %04o%s", (unsigned)st->st_uid, (unsigned)st->st_gid,
			 (unsigned)(st->st_mode & 07777),
			 acl_changed ? ", an access ACL other than the node had before the grant" : "");
		holds = st->st_uid == domain->uid && st->st_gid == domain->gid && (st->st_mode & 07777) == granted &&
			!acl_changed;
	}
	if (!holds)
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, found,
				   "vfguard revoke --domain %s, then apply again (revoke puts back what the journal "
				   "holds: %s)",
				   VFG_NAME_SHELL(domain->name), vfg_finding_record(finding, node));
	return 0;
}

/*
 * Audit. A record means the domain holds a grant: it must still be on the
 * node, and only a path-access node may hold one. No record on a
 * path-access node means the hypervisor's open must already be allowed.
 */
static int dac_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		     vfg_finding *finding, vfg_error *err)
{
	if (vfg_finding_record(finding, node)) {
		if (node->access == VFG_ACCESS_FD)
			vfg_finding_report(
				finding, node, VFG_FINDING_DRIFT, "no path grant: the node has fd access",
				"the domain holds the path grant of an earlier run",
				"an apply of domain %s's hostdevs as they are (vfguard apply --domain %s --hostdev "
				"... with the same ones) takes it back",
				domain->name, VFG_NAME_SHELL(domain->name));
		return dac_audit_held(env, domain, node, finding, err);
	}
	if (node->access == VFG_ACCESS_FD)
		return 0;
	const char *allowed;
	bool acl;
	if (dac_already_allows(env, domain, node, &allowed, &acl, err) < 0)
		return -1;
	if (!allowed) {
		char expected[64], found[256];
		snprintf(expected, sizeof(expected), "uid %u:%u may open it read-write", (unsigned)domain->uid,
			 (unsigned)domain->gid);
		dac_describe(node, acl, found, sizeof(found));
		vfg_finding_report(finding, node, VFG_FINDING_MISSING, expected, found,
				   "vfguard apply --domain %s with the options given to this audit",
				   VFG_NAME_SHELL(domain->name));
	}
	return 0;
}

/*
 * A grant of a boot that is over: the node's owner and mode on devtmpfs died with
 * it, and the node there now is this boot's, so it is left as it is; a
 * node on a disk (a static /dev, a root prefix's tree) kept the grant, and
 * revoke puts it back (labeler.h: boot_release; docs/boot.md).
 */
static int dac_boot_release(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			    const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	int gone = vfg_node_boot_gone(env, node, txn, err);
	if (gone != 0)
		return gone < 0 ? -1 : 0;
	return dac_revoke(env, domain, probe, node, txn, err);
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v2 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.size = VFG_LABELER_SIZE,
	.name = "dac",
	.summary = "owner, group, mode and ACL of the host node",
	.probe = dac_probe,
	.plan = dac_plan,
	.grant = dac_grant,
	.revoke = dac_revoke,
	.audit = dac_audit,
	.intent = dac_intent,
	.boot_release = dac_boot_release,
};
