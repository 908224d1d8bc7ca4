/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared nodes. /dev/vfio/vfio and /dev/iommu are needed by every domain, and
 * two domains may sit in one cgroup: the rule there must stay until the last
 * of them goes. vfg_txn_shared_holders() counts domains host-wide, not per
 * cgroup, so each domain that holds the rule in a cgroup keeps a side state
 * entry (labeler.h) keyed by the cgroup and the rule, "DIR:c10:196" (DIR
 * escaped as in the undo text: no space, and no ':' to blur where the rule
 * begins). Its value is the hierarchy's token from before the first holder,
 * which every later holder copies into its undo text. The entries are
 * journaled with the domains under the host lock, so the other domains that
 * hold the key are exactly the others of this cgroup that hold the rule, and
 * setting or dropping one's own is idempotent, as a revoke after a crash needs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

/* The holders' key of the rule in @dir, "" when @node is not shared (it has no holders) or there is no @dir. */
int cgroup_holders_key(const vfg_node *node, const char *dir, unsigned long long ino, const cgroup_rule *rule,
		       char *key, vfg_error *err)
{
	char escaped[3 * VFG_PATH_MAX], at[24] = "";
	key[0] = '\0';
	if (!node->shared || !dir[0])
		return 0;
	cgroup_escape_path(dir, escaped, sizeof(escaped));
	/* DIR has no raw ':' (cgroup_escape_path): "DIR:INO:cM:m" is never "DIR:cM:m" of another DIR. */
	if (ino)
		snprintf(at, sizeof(at), "%llu:", ino);
	int n = snprintf(key, HOLDERS_KEY_SIZE, "%s:%s%c%u:%u", escaped, at, rule->type, rule->major, rule->minor);
	if (n < 0 || n >= HOLDERS_KEY_SIZE)
		return vfg_error_set(err, ENAMETOOLONG, dir,
				     "cgroup: the directory is too long to key the holders of its rule for %c %u:%u",
				     rule->type, rule->major, rule->minor);
	return 0;
}

/*
 * The key a grant in cgroup @dir joins for @node's rule, and in *@ino the
 * inode its record then names: with the cgroup's inode, so that domains of a
 * cgroup made again at the path do not count those of the one removed (a
 * review found a rule left in the new cgroup so); without it (*@ino 0), as
 * 0.6 keyed it, while domains of 0.6 hold the rule there, so that the last
 * of them all still restores it. A node of one domain has no holders: its
 * record always names the inode. @txn, or @env and @domain outside a
 * transaction (plan).
 */
int cgroup_holders_key_to_join(const vfg_txn *txn, const vfg_labeler_env *env, const vfg_domain *domain,
			       const vfg_node *node, const cgroup_dir *dir, const cgroup_rule *rule, char *key,
			       unsigned long long *ino, vfg_error *err)
{
	*ino = dir->ino;
	if (cgroup_holders_key(node, dir->path, 0, rule, key, err) < 0)
		return -1;
	if (!key[0])
		return 0; /* a node of this domain alone: no holders, its record names the inode */
	if ((txn ? vfg_txn_state_holders(txn, key, NULL) : vfg_env_state_holders(env, domain, key, NULL)) > 0) {
		*ino = 0;
		return 0;
	}
	return cgroup_holders_key(node, dir->path, dir->ino, rule, key, err);
}

/*
 * The token from before the first holder (@original: another holder's, or
 * this domain's own; NULL when nobody holds the rule here) into @token, once
 * it is checked to be one a grant writes. 1 when it was there, 0, or -1.
 */
static int holders_token(const char *key, const char *original, bool v1, char *token, vfg_error *err)
{
	if (!original)
		return 0;
	undo_part part = {0};
	if (strlen(original) >= sizeof(part.token))
		return vfg_error_set(err, 0, key, "cgroup: the holders' token is too long to be one a grant writes");
	snprintf(part.token, sizeof(part.token), "%s", original);
	if (!cgroup_token_is_canonical(&part, v1))
		return vfg_error_set(err, 0, key, "cgroup: the holders' token '%s' is not one a grant writes",
				     original);
	snprintf(token, TOKEN_MAX, "%s", original);
	return 1;
}

/* At grant: the token of a rule others of this cgroup hold already. 1, 0 (none: read it), -1. */
int cgroup_holders_before(const vfg_txn *txn, const char *key, bool v1, char *token, vfg_error *err)
{
	const char *original = NULL;
	if (key[0] && vfg_txn_state_holders(txn, key, &original) == 0)
		original = vfg_txn_state_get(txn, key);
	return holders_token(key, original, v1, token, err);
}

/* This domain holds the rule: durable before the change, so a revoke counts it. */
int cgroup_holders_join(vfg_txn *txn, const char *key, const char *token, vfg_error *err)
{
	return key[0] ? vfg_txn_state_set(txn, key, token, err) : 0;
}

/* This domain holds the rule no more: it was restored, or others keep it, or the cgroup is gone. */
int cgroup_holders_leave(vfg_txn *txn, const char *key, vfg_error *err)
{
	return key[0] ? vfg_txn_state_unset(txn, key, err) : 0;
}

/*
 * At revoke: does another domain of this cgroup hold the rule? 1: it stays,
 * and this domain has left the holders; 0: restore the token, then
 * cgroup_holders_leave(); -1: error.
 */
int cgroup_holders_others(vfg_txn *txn, const char *key, vfg_error *err)
{
	if (!key[0] || vfg_txn_state_holders(txn, key, NULL) == 0)
		return 0;
	return cgroup_holders_leave(txn, key, err) < 0 ? -1 : 1;
}
