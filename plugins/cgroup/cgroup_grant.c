/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A node's rule put into each hierarchy that governs the domain's cgroup,
 * and taken back: intent journals the undo text (cgroup_undo.c) and joins a
 * shared rule's holders (cgroup_holders.c), grant writes the rule, revoke
 * puts back what the record says was there before. A rule held since an
 * earlier apply is in force while the cgroup is still the grant's.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cgroup_bpf.h"

/* The hierarchy's state before the grant: the first holder's for a shared node others hold here. */
static int v1_before(const vfg_txn *txn, cgroup_dir *dir, const char *key, const cgroup_rule *rule, char *token,
		     vfg_error *err)
{
	int held = cgroup_holders_before(txn, key, true, token, err);
	if (held != 0)
		return held < 0 ? -1 : 0;
	cgroup_v1_state state;
	if (cgroup_v1_read(dir, rule, &state, err) < 0)
		return -1;
	char access[4];
	snprintf(token, TOKEN_MAX, "%s", state.allowed ? "allowed" : cgroup_access_format(state.exact, access));
	return 0;
}

static int v2_before(const vfg_txn *txn, cgroup_hold *hold, cgroup_dir *dir, const char *key, const cgroup_rule *rule,
		     char *token, vfg_error *err)
{
	int held = cgroup_holders_before(txn, key, false, token, err);
	if (held != 0)
		return held < 0 ? -1 : 0;
	cgroup_v2_entry entry = {0};
	if (cgroup_v2_find(hold, dir, err) < 0 ||
	    (dir->v2.prog.prog_fd >= 0 && cgroup_v2_entry_get(dir, rule, &entry, err) < 0))
		return -1;
	cgroup_v2_token_format(&entry, token, TOKEN_MAX);
	return 0;
}

static int v1_grant(cgroup_hold *hold, cgroup_dir *dir, const cgroup_rule *rule, const undo_part *part, vfg_error *err)
{
	if (strcmp(part->token, "allowed") == 0)
		return 0;
	return cgroup_v1_write(hold, dir, false, rule, err);
}

static int v2_grant(const vfg_labeler_env *env, cgroup_hold *hold, cgroup_dir *dir, const cgroup_rule *rule,
		    vfg_error *err)
{
	if (cgroup_v2_find(hold, dir, err) < 0)
		return -1;
	if (dir->v2.prog.prog_fd < 0 && cgroup_v2_attach(env, dir, err) < 0)
		return -1;
	cgroup_v2_entry entry;
	if (cgroup_v2_entry_get(dir, rule, &entry, err) < 0)
		return -1;
	entry = (cgroup_v2_entry){
		.present = true,
		.access = entry.access | rule->access,
		.flags = entry.flags | VFG_CGROUP_RULE_GRANT,
	};
	return cgroup_v2_entry_set(dir, rule, &entry, err);
}

/*
 * Intent and grant are two passes (labeler.h: intent): the undo of a node is
 * its own rule's state in each hierarchy (devices.list's line, the map's
 * entry for its MAJ:MIN), which no other step of the apply changes, and the
 * holders of a shared rule are other domains. The intent journals it and
 * joins the holder set, both durable with the pass; the grant writes the rule.
 */
int cgroup_intent(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		  const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	cgroup_hold *hold = cgroup_hold_get(env, err);
	cgroup_found_place *found = hold ? cgroup_hold_place(hold, domain, err) : NULL;
	if (!found)
		return -1;
	const cgroup_place *place = &found->place;
	if (!place->v1[0] && !place->v2[0])
		return vfg_error_set(err, 0, node->path, "cgroup: %s", found->why);
	cgroup_rule rule = cgroup_rule_for_node(node);
	char rule_text[48];
	cgroup_rule_format(&rule, rule_text, sizeof(rule_text));

	/* Plan refuses these; checked again for a plan made before vfguard joined the cgroup. */
	const char *refusal;
	int refused = cgroup_hold_refusal(hold, found, &refusal, err);
	if (refused < 0)
		return -1;
	if (refused)
		return vfg_error_set(err, 0, node->path, "cgroup: %s; nothing was changed", refusal);

	/* Another program's deny would stand whatever vfguard's map says: refuse before any change. */
	char foreign[1024] = "";
	if (place->v2[0] && cgroup_foreign_message(hold, place->v2, rule_text, foreign, sizeof(foreign), err) < 0)
		return -1;
	int systemd = foreign[0] ? cgroup_sd_route(env, hold, found, err) : 0;
	if (systemd < 0)
		return -1;
	if (foreign[0] && !systemd && !cgroup_foreign_allowed(env))
		return vfg_error_set(err, 0, place->v2,
				     "%s; nothing was changed (set cgroup_foreign_programs = proceed to go on once it "
				     "does)%s%s",
				     foreign, found->systemd_why[0] ? "; systemd's path is not taken: " : "",
				     found->systemd_why);

	undo_text undo = {0};
	char v1_key[HOLDERS_KEY_SIZE], v2_key[HOLDERS_KEY_SIZE], sd_path[VFG_PATH_MAX];
	_cleanup_free_ char *sd_original = NULL;
	snprintf(undo.v1.dir, sizeof(undo.v1.dir), "%s", place->v1);
	/* systemd's path replaces vfguard's program: the unit's list is what the cgroup's program allows. */
	snprintf(undo.v2.dir, sizeof(undo.v2.dir), "%s", systemd ? "" : place->v2);
	snprintf(undo.sd.dir, sizeof(undo.sd.dir), "%s", systemd ? found->systemd_unit : "");
	cgroup_dir *v1_dir = place->v1[0] ? cgroup_hold_dir(hold, place->v1, err) : NULL;
	cgroup_dir *v2_dir = undo.v2.dir[0] ? cgroup_hold_dir(hold, place->v2, err) : NULL;
	v1_key[0] = v2_key[0] = '\0';
	if ((place->v1[0] && !v1_dir) || (undo.v2.dir[0] && !v2_dir) ||
	    (v1_dir &&
	     cgroup_holders_key_to_join(txn, env, domain, node, v1_dir, &rule, v1_key, &undo.v1.ino, err) < 0) ||
	    (v2_dir &&
	     cgroup_holders_key_to_join(txn, env, domain, node, v2_dir, &rule, v2_key, &undo.v2.ino, err) < 0) ||
	    (v1_dir && v1_before(txn, v1_dir, v1_key, &rule, undo.v1.token, err) < 0) ||
	    (v2_dir && v2_before(txn, hold, v2_dir, v2_key, &rule, undo.v2.token, err) < 0))
		return -1;
	if (systemd && (cgroup_sd_node_path(env, node, sd_path, sizeof(sd_path), err) < 0 ||
			cgroup_sd_before(txn, hold, undo.sd.dir, sd_path, undo.sd.token, sizeof(undo.sd.token),
					 &sd_original, err) < 0))
		return -1;
	char text[VFG_UNDO_MAX + 1];
	if (!cgroup_undo_format(&undo, text, sizeof(text)))
		return vfg_error_set(
			err, ENAMETOOLONG, place->v1[0] ? place->v1 : place->v2,
			"cgroup: the cgroup's path is too long for its record (%d bytes at most, escaped); "
			"nothing was changed",
			VFG_UNDO_MAX);
	/* This domain holds the rule from before the change, so a revoke counts it. */
	if (vfg_txn_intent(txn, node, text, err) < 0 ||
	    (v1_dir && cgroup_holders_join(txn, v1_key, undo.v1.token, err) < 0) ||
	    (v2_dir && cgroup_holders_join(txn, v2_key, undo.v2.token, err) < 0) ||
	    (systemd && cgroup_sd_join(txn, undo.sd.dir, sd_path, sd_original, err) < 0))
		return -1;
	return 0;
}

/* The rule, in each hierarchy the record cgroup_intent journaled names. */
int cgroup_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		 const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	/* Without the intent pass (a core that calls grant alone), journal first, as the pass would have. */
	if (!vfg_txn_undo(txn, node) && cgroup_intent(env, domain, probe, node, step, txn, err) < 0)
		return -1;
	undo_text undo;
	cgroup_hold *hold = cgroup_hold_get(env, err);
	if (!hold || cgroup_undo_parse(vfg_txn_undo(txn, node), node, &undo, err) < 0)
		return -1;
	cgroup_rule rule = cgroup_rule_for_node(node);
	cgroup_dir *v1_dir = undo.v1.dir[0] ? cgroup_hold_dir(hold, undo.v1.dir, err) : NULL;
	cgroup_dir *v2_dir = undo.v2.dir[0] ? cgroup_hold_dir(hold, undo.v2.dir, err) : NULL;
	char sd_path[VFG_PATH_MAX];
	if ((undo.v1.dir[0] && !v1_dir) || (undo.v2.dir[0] && !v2_dir) ||
	    (v1_dir && v1_grant(hold, v1_dir, &rule, &undo.v1, err) < 0) ||
	    (v2_dir && v2_grant(env, hold, v2_dir, &rule, err) < 0))
		return -1;
	if (undo.sd.dir[0] && (cgroup_sd_node_path(env, node, sd_path, sizeof(sd_path), err) < 0 ||
			       cgroup_sd_grant(txn, hold, undo.sd.dir, sd_path, err) < 0))
		return -1;
	return vfg_txn_done(txn, node, err);
}

static int v1_revoke(vfg_txn *txn, cgroup_hold *hold, cgroup_dir *dir, const char *key, const vfg_node *node,
		     const cgroup_rule *rule, const undo_part *part, vfg_error *err)
{
	int others = cgroup_holders_others(txn, key, err);
	if (others != 0)
		return others < 0 ? -1 : 0;
	if (strcmp(part->token, "allowed") != 0) {
		int before = cgroup_access_parse(part->token);
		if (before < 0)
			return vfg_error_set(err, 0, node->path, "cgroup: v1 token '%s' is no access", part->token);
		cgroup_v1_state state;
		if (cgroup_v1_read(dir, rule, &state, err) < 0)
			return -1;
		/*
		 * Take away only bits the exception has now: devices.deny on a
		 * default-allow cgroup would add a deny exception that was never there.
		 */
		cgroup_rule added = *rule;
		added.access = rule->access & ~(unsigned)before & state.exact;
		if (added.access && cgroup_v1_write(hold, dir, true, &added, err) < 0)
			return -1;
	}
	return cgroup_holders_leave(txn, key, err);
}

static int v2_revoke(vfg_txn *txn, cgroup_hold *hold, cgroup_dir *dir, const char *key, const vfg_node *node,
		     const cgroup_rule *rule, const undo_part *part, vfg_error *err)
{
	cgroup_v2_entry before;
	if (!cgroup_v2_token_parse(part->token, &before))
		return vfg_error_set(err, 0, node->path, "cgroup: v2 token '%s' is not 'absent' or 'ACCESS/FLAGS'",
				     part->token);
	int others = cgroup_holders_others(txn, key, err);
	if (others != 0)
		return others < 0 ? -1 : 0;

	if (cgroup_v2_find(hold, dir, err) < 0)
		return -1;
	if (dir->v2.prog.prog_fd >= 0) { /* none: the grant never attached it, or a revoke detached it already */
		bool grants;
		if (cgroup_v2_entry_set(dir, rule, &before, err) < 0 || cgroup_v2_has_grants(dir, &grants, err) < 0)
			return -1;
		/* The program came with the cgroup's first grant; with the last one gone it goes too. */
		if (!grants && cgroup_v2_detach(dir, err) < 0)
			return -1;
	}
	return cgroup_holders_leave(txn, key, err);
}

int cgroup_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		  vfg_txn *txn, vfg_error *err)
{
	undo_text undo;
	cgroup_hold *hold = cgroup_hold_get(env, err);
	if (!hold || cgroup_undo_parse(vfg_txn_undo(txn, node), node, &undo, err) < 0)
		return -1;
	cgroup_rule rule = cgroup_rule_for_node(node);
	const undo_part *parts[] = {&undo.v1, &undo.v2};
	for (size_t i = 0; i < 2; i++) {
		const undo_part *part = parts[i];
		char key[HOLDERS_KEY_SIZE];
		if (!part->dir[0])
			continue;
		cgroup_dir *dir = cgroup_hold_dir(hold, part->dir, err);
		/* The key the grant joined: with the inode its record names (0: as 0.6 keyed it). */
		if (!dir || cgroup_holders_key(node, part->dir, part->ino, &rule, key, err) < 0)
			return -1;
		if (dir->gone) {
			vfg_txn_note(txn, "cgroup: %s is gone, and its rules with it; nothing to restore", part->dir);
			if (cgroup_holders_leave(txn, key, err) < 0)
				return -1;
			continue;
		}
		if (part->ino && dir->ino != part->ino) {
			vfg_txn_note(txn,
				     "cgroup: %s is another cgroup now (inode %llu, the grant's was %llu): the grant's "
				     "rules went with the one removed; this one's are left alone",
				     part->dir, dir->ino, part->ino);
			if (cgroup_holders_leave(txn, key, err) < 0)
				return -1;
			continue;
		}
		if (cgroup_undo_part_check_kind(dir, i == 0, node, err) < 0)
			return -1;
		int r = i == 0 ? v1_revoke(txn, hold, dir, key, node, &rule, part, err)
			       : v2_revoke(txn, hold, dir, key, node, &rule, part, err);
		if (r < 0)
			return -1;
	}
	char sd_path[VFG_PATH_MAX];
	if (undo.sd.dir[0] && (cgroup_sd_node_path(env, node, sd_path, sizeof(sd_path), err) < 0 ||
			       cgroup_sd_revoke(txn, hold, undo.sd.dir, sd_path, err) < 0))
		return -1;
	return 0;
}

/*
 * A rule held since an earlier apply is in force while the cgroup its
 * record names is the one at that path still: one removed and made again
 * (a runtime starting a container again under its name) has none of it,
 * and its revoke leaves the new one alone (cgroup_revoke); and while the
 * domain's process is in that cgroup or below it. systemd's part is its
 * unit's setting, which the unit keeps.
 */
int cgroup_held_in_force(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			 const vfg_node *node, const char *undo_line, char *why, size_t why_size, vfg_error *err)
{
	(void)probe;
	undo_text undo;
	cgroup_hold *hold = cgroup_hold_get(env, err);
	cgroup_found_place *found = hold ? cgroup_hold_place(hold, domain, err) : NULL;
	if (!found || cgroup_undo_parse(undo_line, node, &undo, err) < 0)
		return -1;
	const undo_part *parts[] = {&undo.v1, &undo.v2};
	const char *now[] = {found->place.v1, found->place.v2};
	for (size_t i = 0; i < 2; i++) {
		const undo_part *part = parts[i];
		if (!part->dir[0])
			continue;
		cgroup_dir *dir = cgroup_hold_dir(hold, part->dir, err);
		if (!dir)
			return -1;
		/* Gone, with the step's cgroup found (the plan refuses a --cgroup gone): the pid is elsewhere now. */
		if (dir->gone) {
			snprintf(why, why_size, "%s is gone, and the grant with it", part->dir);
			return 0;
		}
		/*
		 * The domain's process is in another cgroup of that hierarchy now
		 * (moved since the grant, as into a scope made for it): the rule
		 * serves it no more where it was, and it gets EPERM where it is.
		 * The revoke takes the rule back from the cgroup it was granted in.
		 *
		 * Not so a cgroup below the grant's (libvirt moves QEMU into the
		 * emulator/ cgroup it makes under the domain's, qemuProcessSetupEmulator()
		 * in src/qemu/qemu_process.c): the grant serves it there, and cannot
		 * move down. cgroup2 runs the programs of a cgroup's ancestors too
		 * (compute_effective_progs(), kernel/bpf/cgroup.c). A v1 cgroup
		 * copies its parent's list when it is made (devcgroup_online()),
		 * may allow only what its parent allows (parent_has_perm()), and
		 * loses what its parent is denied (propagate_exception(),
		 * security/device_cgroup.c): a trial's renewal took the rule from the
		 * parent and with it from the child, whose grant was then refused
		 * (EPERM), and the VM lost the rule it had. Audit says when such a
		 * v1 cgroup, made before the grant, lacks it (cgroup_audit.c).
		 */
		int moved =
			now[i][0] && strcmp(now[i], part->dir) != 0 ? cgroup_place_holds(part->dir, now[i], err) : 1;
		if (moved < 0)
			return -1;
		if (moved == 0) {
			snprintf(why, why_size, "the domain's cgroup is %s now, the grant's was %s", now[i], part->dir);
			return 0;
		}
		if (!part->ino)
			continue; /* no inode: a record of 0.6, taken as ever */
		if (dir->ino != part->ino) {
			snprintf(why, why_size, "%s is another cgroup now (inode %llu, the grant's was %llu)",
				 part->dir, dir->ino, part->ino);
			return 0;
		}
	}
	return 1;
}
