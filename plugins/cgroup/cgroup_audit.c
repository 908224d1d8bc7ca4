/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit: each rule the journal records for the domain, checked against its
 * cgroup as it is now (v1 devices.list, the map of vfguard's device
 * program, the unit's DeviceAllow=); a rule the plan wants that no record
 * holds; another device program that would deny what vfguard allows.
 */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cgroup_bpf.h"

/*
 * A part whose cgroup was removed and made again at its path since the
 * grant, reported as such when the rule is not in force there: another
 * apply grants it again (cgroup_held_in_force), where revoking first is
 * not needed. False: the cgroup is the grant's.
 */
static bool audit_made_again(const undo_part *part, const cgroup_dir *dir, const vfg_node *node, const char *expected,
			     vfg_finding *finding)
{
	if (!part->ino || dir->ino == part->ino)
		return false;
	char actual[VFG_PATH_MAX + 96];
	snprintf(actual, sizeof(actual), "%s is another cgroup now (inode %llu, the grant's was %llu), without it",
		 part->dir, dir->ino, part->ino);
	vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
			   "apply the domain again: the grant went with the cgroup removed");
	return true;
}

/*
 * A part whose cgroup is gone took its rule with it. While the domain's
 * cgroups are found elsewhere (its pid moved: @placed), apply grants it
 * again there (cgroup_held_in_force), so that is drift; else the VM is gone
 * with its cgroup. True when the cgroup is gone.
 */
static bool audit_gone(const undo_part *part, const cgroup_dir *dir, bool placed, const vfg_node *node,
		       const char *expected, vfg_finding *finding)
{
	if (!dir->gone)
		return false;
	if (placed) {
		char actual[VFG_PATH_MAX + 64];
		snprintf(actual, sizeof(actual), "%s is gone, and the grant with it", part->dir);
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
				   "apply the domain again: the grant went with the cgroup removed");
	}
	return true;
}

/* Audit of one hierarchy's part of a grant the journal records. */
static void audit_v1(cgroup_hold *hold, const undo_part *part, bool placed, const vfg_node *node,
		     const cgroup_rule *rule, const char *rule_text, vfg_finding *finding)
{
	cgroup_v1_state state;
	vfg_error why = {0};
	char expected[128], actual[VFG_ERROR_MESSAGE_MAX];
	snprintf(expected, sizeof(expected), "devices.list allows '%s'", rule_text);
	cgroup_dir *dir = cgroup_hold_dir(hold, part->dir, &why);
	if (dir && audit_gone(part, dir, placed, node, expected, finding))
		return;
	if (!dir || cgroup_v1_read(dir, rule, &state, &why) < 0) {
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, why.message,
				   "revoke the domain, then apply it again");
		return;
	}
	if (state.allowed || audit_made_again(part, dir, node, expected, finding))
		return;
	/* "allowed": another's line allowed it at the grant, and vfguard wrote none, so none of its own went. */
	if (strcmp(part->token, "allowed") == 0)
		return;
	_cleanup_free_ char *list = cgroup_v1_list(part->dir, &why);
	snprintf(actual, sizeof(actual), "no line allows it; %s/devices.list is: %s", part->dir,
		 list ? list : why.message);
	for (char *c = actual; *c; c++)
		if (*c == '\n')
			*c = ' ';
	vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual, "echo '%s' > %s/devices.allow",
			   rule_text, part->dir);
}

static void audit_v2(cgroup_hold *hold, const undo_part *part, bool placed, const vfg_node *node,
		     const cgroup_rule *rule, const char *rule_text, vfg_finding *finding)
{
	char expected[256], actual[512];
	snprintf(expected, sizeof(expected), "vfguard's device program on %s, its map allowing '%s'", part->dir,
		 rule_text);
	cgroup_v2_entry entry = {0};
	vfg_error why = {0};
	cgroup_dir *dir = cgroup_hold_dir(hold, part->dir, &why);
	if (dir && audit_gone(part, dir, placed, node, expected, finding))
		return;
	if (!dir || cgroup_v2_find(hold, dir, &why) < 0 ||
	    (dir->v2.prog.prog_fd >= 0 && cgroup_v2_entry_get(dir, rule, &entry, &why) < 0)) {
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, why.message,
				   "revoke the domain, then apply it again");
		return;
	}
	if (dir->v2.prog.prog_fd < 0) {
		if (!audit_made_again(part, dir, node, expected, finding))
			vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected,
					   "no vfguard device program is attached",
					   "revoke the domain, then apply it again");
		return;
	}
	if ((entry.present && (entry.access & rule->access) == rule->access && (entry.flags & VFG_CGROUP_RULE_GRANT)) ||
	    audit_made_again(part, dir, node, expected, finding))
		return;
	char token[TOKEN_MAX];
	cgroup_v2_token_format(&entry, token, sizeof(token));
	snprintf(actual, sizeof(actual), "program %u's map has %s for it", dir->v2.prog.prog_id, token);
	vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
			   "revoke the domain, then apply it again");
}

/*
 * A v1 part whose domain's process is in @below, a cgroup below the
 * grant's: served while @below's own list allows the rule, which it got
 * from its parent when it was made after the grant (cgroup_held_in_force).
 * One made before has none of it, and apply cannot move the rule down: a
 * v1 cgroup allows only what its parent allows. True when reported.
 */
static bool audit_v1_below(cgroup_hold *hold, const undo_part *part, const char *below, const vfg_node *node,
			   const cgroup_rule *rule, const char *rule_text, vfg_finding *finding)
{
	vfg_error ignored = {0};
	cgroup_v1_state state;
	cgroup_dir *dir = cgroup_hold_dir(hold, below, &ignored);
	if (!dir || dir->gone || cgroup_v1_read(dir, rule, &state, &ignored) < 0 || state.allowed)
		return false;
	char expected[VFG_PATH_MAX + 96], actual[VFG_PATH_MAX + 128];
	snprintf(expected, sizeof(expected), "'%s' allowed in %s, the domain's cgroup", rule_text, below);
	snprintf(actual, sizeof(actual),
		 "the grant is in %s, above it; this one was made before the grant, and a v1 cgroup copies its "
		 "parent's list only when it is made",
		 part->dir);
	vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
			   "echo '%s' > %s/devices.allow (the grant above permits it, and its revoke takes it from "
			   "there too), or move the domain's process back to %s",
			   rule_text, below, part->dir);
	return true;
}

/*
 * A part granted in a cgroup the domain's process has left for another of
 * that hierarchy, @now: the rule is where the VM is not, and apply moves it
 * (cgroup_held_in_force). Below the grant's cgroup it is the grant's still
 * (audit_v1_below). True when reported; a cgroup gone is audit_gone's.
 */
static bool audit_moved(cgroup_hold *hold, const undo_part *part, bool v1, const char *now, const vfg_node *node,
			const cgroup_rule *rule, const char *rule_text, vfg_finding *finding)
{
	vfg_error ignored = {0};
	cgroup_dir *dir = now[0] && strcmp(now, part->dir) != 0 ? cgroup_hold_dir(hold, part->dir, &ignored) : NULL;
	if (!dir || dir->gone)
		return false;
	int holds = cgroup_place_holds(part->dir, now, &ignored);
	if (holds == 2 && v1)
		return audit_v1_below(hold, part, now, node, rule, rule_text, finding);
	if (holds != 0)
		return false;
	char expected[VFG_PATH_MAX + 96], actual[VFG_PATH_MAX + 64];
	snprintf(expected, sizeof(expected), "'%s' allowed in %s, the domain's cgroup", rule_text, now);
	snprintf(actual, sizeof(actual), "the grant is in %s, which the domain's process left", part->dir);
	vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
			   "apply the domain again: the rules move with its process");
	return true;
}

int cgroup_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		 vfg_finding *finding, vfg_error *err)
{
	cgroup_hold *hold = cgroup_hold_get(env, err);
	cgroup_found_place *found = hold ? cgroup_hold_place(hold, domain, err) : NULL;
	if (!found)
		return -1;
	cgroup_rule rule = cgroup_rule_for_node(node);
	char rule_text[48];
	cgroup_rule_format(&rule, rule_text, sizeof(rule_text));
	const char *record = vfg_finding_record(finding, node);
	if (record) {
		undo_text undo;
		if (cgroup_undo_parse(record, node, &undo, err) < 0)
			return -1;
		if (node->access == VFG_ACCESS_FD)
			vfg_finding_report(
				finding, node, VFG_FINDING_DRIFT, "no rule: fd access",
				"a rule an earlier path grant left",
				"an apply of the domain's hostdevs as they are (vfguard apply --hostdev ... with "
				"the same ones) takes it back");
		else if (undo.v1.dir[0] &&
			 !audit_moved(hold, &undo.v1, true, found->place.v1, node, &rule, rule_text, finding))
			audit_v1(hold, &undo.v1, probe->active, node, &rule, rule_text, finding);
		if (node->access != VFG_ACCESS_FD && undo.v2.dir[0] &&
		    !audit_moved(hold, &undo.v2, false, found->place.v2, node, &rule, rule_text, finding))
			audit_v2(hold, &undo.v2, probe->active, node, &rule, rule_text, finding);
		char sd_path[VFG_PATH_MAX];
		if (node->access != VFG_ACCESS_FD && undo.sd.dir[0]) {
			if (cgroup_sd_node_path(env, node, sd_path, sizeof(sd_path), err) < 0)
				return -1;
			cgroup_sd_audit(hold, undo.sd.dir, sd_path, node, finding);
		}
	} else if (node->access == VFG_ACCESS_PATH) {
		_cleanup_step_ vfg_step step = {0};
		if (cgroup_plan(env, domain, probe, node, &step, err) < 0)
			return -1;
		if (step.action == VFG_ACTION_GRANT)
			vfg_finding_report(finding, node, VFG_FINDING_MISSING, step.detail,
					   "the domain holds no cgroup rule for it",
					   "vfguard apply --domain %s with the options given to this audit",
					   VFG_NAME_SHELL(domain->name));
	}

	if (node->access != VFG_ACCESS_PATH)
		return 0;
	char foreign[1024] = "";
	if (!found->place.v2[0])
		return 0;
	if (cgroup_foreign_message(hold, found->place.v2, rule_text, foreign, sizeof(foreign), err) < 0)
		return -1;
	/* systemd's program, with systemd's path taken, allows what the unit's DeviceAllow says (checked above). */
	int systemd = foreign[0] ? cgroup_sd_route(env, hold, found, err) : 0;
	if (systemd < 0)
		return -1;
	if (foreign[0] && !systemd)
		vfg_finding_report(finding, node, VFG_FINDING_CONFLICT, "only vfguard's device program decides",
				   foreign, "make that program allow '%s'", rule_text);
	return 0;
}
