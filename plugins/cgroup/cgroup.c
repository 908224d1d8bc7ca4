/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device cgroup labeler. A path-access node gets "c MAJ:MIN rw" in every
 * hierarchy that governs the domain's cgroup: v1's devices.allow, and the map
 * of vfguard's device program on cgroup2. A passed fd is never checked (the
 * check is at open and mknod only, in the opener's cgroup), so fd access needs
 * no rule, and a rule an earlier path grant left is taken back.
 *
 * Its record is the undo text (cgroup_undo.c): each hierarchy's cgroup and
 * what it had before, so a revoke needs neither the pid (the VM may be gone)
 * nor a plan.
 *
 * A shared node's rule (/dev/vfio/vfio, /dev/iommu) may be held by several
 * domains of one cgroup: each holder keeps a side state entry for it in the
 * journal (cgroup_holders.c), so the rule stays until the last of them.
 *
 * Here: the labeler's table, its configuration and attributes, probe and
 * plan; intent, grant, revoke and held_in_force are in cgroup_grant.c,
 * audit in cgroup_audit.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

/* "program 17 'sd_devices' on DIR must allow c 243:0 rw too": what another device program must do. */
int cgroup_foreign_message(cgroup_hold *hold, const char *path, const char *rule_text, char *buf, size_t size,
			   vfg_error *err)
{
	char programs[768];
	cgroup_dir *dir = cgroup_hold_dir(hold, path, err);
	if (!dir || cgroup_v2_find(hold, dir, err) < 0)
		return -1;
	int n = cgroup_v2_foreign(dir, programs, sizeof(programs), err);
	if (n <= 0) {
		buf[0] = '\0';
		return n;
	}
	snprintf(buf, size,
		 "%s must allow '%s' too: every device program on the cgroup and its ancestors must allow an open "
		 "(they AND), and vfguard cannot extend another's",
		 programs, rule_text);
	return n;
}

/*
 * What vfguard's program on @dir starts with: the base list, seeded when the
 * cgroup gets its first grant, or nothing new when the program is there
 * already. Appended to the probe's note, so plan shows it before apply. A
 * failure goes into the note, not @err: revoke probes too, and must not stop
 * at a base list it does not need (a grant that attaches still reports it).
 */
static void base_note(const vfg_labeler_env *env, cgroup_hold *hold, const char *path, char *note, size_t size)
{
	_cleanup_free_ cgroup_rule *rules = NULL;
	size_t n, used = strlen(note);
	cgroup_base_report report;
	vfg_error why = {0};
	cgroup_dir *dir = cgroup_hold_dir(hold, path, &why);
	if (!dir || cgroup_v2_find(hold, dir, &why) < 0)
		snprintf(note + used, size - used, "; %s", why.message);
	else if (dir->v2.prog.prog_fd >= 0)
		snprintf(note + used, size - used,
			 "; vfguard's device program %u is attached there already (its base list was seeded then)",
			 dir->v2.prog.prog_id);
	else if (cgroup_base_rules(env, &rules, &n, &report, &why) < 0)
		snprintf(note + used, size - used, "; base list: %s", why.message);
	else
		snprintf(note + used, size - used,
			 "; base list (cgroup_base_devices) seeded with the first grant: %s%s%s",
			 report.seeded[0] ? report.seeded : "nothing", report.skipped[0] ? "; skipped: " : "",
			 report.skipped);
}

static int cgroup_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	cgroup_hold *hold = cgroup_hold_get(env, err);
	const cgroup_found_place *found = hold ? cgroup_hold_place(hold, domain, err) : NULL;
	if (!found)
		return -1;
	const cgroup_place *place = &found->place;
	if (!place->v1[0] && !place->v2[0]) {
		snprintf(probe->note, sizeof(probe->note), "%s", found->why);
		return 0;
	}
	probe->active = true;
	probe->flags = (place->v1[0] ? CGROUP_V1_DEVICES : 0) | (place->v2[0] ? CGROUP_V2 : 0);
	snprintf(probe->note, sizeof(probe->note), "cgroup%s%s%s%s%s", place->v1[0] ? " v1 devices " : "", place->v1,
		 place->v1[0] && place->v2[0] ? ";" : "", place->v2[0] ? " v2 " : "", place->v2);
	if (place->v2[0])
		base_note(env, hold, place->v2, probe->note, sizeof(probe->note));
	return 0;
}

/*
 * Does the v1 cgroup allow the node without this domain? Not when the line
 * that allows it is a shared node's rule other domains of the cgroup hold:
 * it goes with the last of them, so this domain must hold it too.
 */
static int v1_allowed_before(const vfg_labeler_env *env, const vfg_domain *domain, cgroup_dir *dir,
			     const vfg_node *node, const cgroup_rule *rule, cgroup_v1_state *state, vfg_error *err)
{
	char key[HOLDERS_KEY_SIZE];
	unsigned long long ino;
	if (cgroup_v1_read(dir, rule, state, err) < 0 ||
	    cgroup_holders_key_to_join(NULL, env, domain, node, dir, rule, key, &ino, err) < 0)
		return -1;
	const char *original = NULL;
	if (key[0] && vfg_env_state_holders(env, domain, key, &original) == 0)
		original = vfg_env_state_get(env, domain, key);
	if (original && strcmp(original, "allowed") != 0)
		state->allowed = false;
	return 0;
}

/* systemd's path: the unit, and why this path (cgroup.h: the systemd path). */
static int systemd_plan(const vfg_labeler_env *env, const cgroup_found_place *found, const vfg_node *node,
			const char *rule_text, const char *already, vfg_step *step, vfg_error *err)
{
	char path[VFG_PATH_MAX], detail[VFG_STEP_DETAIL_MAX];
	if (cgroup_sd_node_path(env, node, path, sizeof(path), err) < 0)
		return -1;
	const char *v1 = found->place.v1[0] ? "; and a rule in the v1 devices.allow" : "";
	snprintf(detail, sizeof(detail), "DeviceAllow=%s rw on %s%s", path, found->systemd_unit,
		 found->systemd_left[0] ? "; another device program must allow it too" : "");
	/* Shorter, so that the program left to its manager is within the reason's VFG_STEP_REASON_MAX. */
	if (found->systemd_left[0])
		return vfg_step_set(step, VFG_ACTION_GRANT, detail,
				    "%s, below unit %s's cgroup, is left to its manager: it must allow '%s' itself "
				    "(cgroup_foreign_programs = proceed). systemd's program on the unit's cgroup ANDs "
				    "with it: the rule goes into the unit's DeviceAllow= over D-Bus, its list before "
				    "journaled and put back at revoke%s%s%s",
				    found->systemd_left, found->systemd_unit, rule_text,
				    node->shared ? ", counted per unit as the node is shared" : "", v1, already);
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "the hypervisor opens the node in its cgroup, checked at open "
			    "(devcgroup_inode_permission()): systemd's device program on %s, unit %s's, decides and "
			    "ANDs with any other, so the rule goes through systemd: DeviceAllow= on %s at run time "
			    "over D-Bus, its list before kept in the journal and put back at revoke (cgroup_systemd = "
			    "auto)%s%s%s",
			    found->systemd_cgroup, found->systemd_unit, found->systemd_unit,
			    node->shared ? ", counted per unit as the node is shared" : "", v1, already);
}

int cgroup_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		vfg_step *step, vfg_error *err)
{
	if (node->access == VFG_ACCESS_FD)
		return vfg_step_set(step, VFG_ACTION_NONE, "",
				    "fd access: the device cgroup checks only open and mknod, in the opener's cgroup "
				    "(devcgroup_inode_permission()); the manager opens the node");
	/*
	 * A cgroup the caller named and that is not there: the VM would run
	 * with no device rule, and nothing would say so (a mistyped --cgroup).
	 * Refused, so apply stops before any change. Revoke does not plan: it
	 * takes a cgroup gone after the VM's stop as its rules gone with it
	 * (cgroup_probe.c).
	 */
	if (!probe->active && vfg_domain_attr(domain, "cgroup.path")[0])
		return vfg_step_set(step, VFG_ACTION_REFUSE, "",
				    "%s: a VM in it would run with no device rule; create it, or name the VM's own "
				    "cgroup",
				    probe->note);
	if (!probe->active)
		return vfg_step_set(step, VFG_ACTION_INACTIVE, "", "%s", probe->note);

	cgroup_hold *hold = cgroup_hold_get(env, err);
	cgroup_found_place *found = hold ? cgroup_hold_place(hold, domain, err) : NULL;
	if (!found)
		return -1;
	const cgroup_place *place = &found->place;
	cgroup_rule rule = cgroup_rule_for_node(node);
	char rule_text[48], where[128], already[VFG_PATH_MAX + 128] = "";
	cgroup_rule_format(&rule, rule_text, sizeof(rule_text));

	/* Refused in the plan, so apply stops before any layer changes anything. */
	const char *refusal;
	int refused = cgroup_hold_refusal(hold, found, &refusal, err);
	if (refused < 0)
		return -1;
	if (refused)
		return vfg_step_set(step, VFG_ACTION_REFUSE, "", "%s", refusal);
	const char *long_dir = !cgroup_dir_fits_record(place->v1)   ? place->v1
			       : !cgroup_dir_fits_record(place->v2) ? place->v2
								    : NULL;
	if (long_dir)
		return vfg_step_set(
			step, VFG_ACTION_REFUSE, "",
			"cgroup %s is too long for its record (%d bytes at most, escaped): revoke could not "
			"read it back",
			long_dir, DIR_RECORD_MAX);

	/*
	 * A v1 list that allows the device already is journaled too, as "allowed":
	 * nothing is written, revoke writes nothing, and the domain holds the rule
	 * like any other (a shared node's holders count it).
	 */
	cgroup_v1_state v1 = {0};
	cgroup_dir *v1_dir = place->v1[0] ? cgroup_hold_dir(hold, place->v1, err) : NULL;
	if (place->v1[0] && (!v1_dir || v1_allowed_before(env, domain, v1_dir, node, &rule, &v1, err) < 0))
		return -1;
	if (place->v1[0] && v1.allowed)
		snprintf(already, sizeof(already),
			 " (%s/devices.list allows it already, '%s': nothing is written there)", place->v1,
			 v1.covering);
	snprintf(where, sizeof(where), "%s%s%s", place->v1[0] ? "v1 devices.allow" : "",
		 place->v1[0] && place->v2[0] ? " and " : "",
		 place->v2[0] ? "v2 BPF map of vfguard's device program" : "");

	char foreign[1024] = "";
	if (place->v2[0] && cgroup_foreign_message(hold, place->v2, rule_text, foreign, sizeof(foreign), err) < 0)
		return -1;
	int systemd = foreign[0] ? cgroup_sd_route(env, hold, found, err) : 0;
	if (systemd < 0)
		return -1;
	if (systemd)
		return systemd_plan(env, found, node, rule_text, already, step, err);
	char detail[VFG_STEP_DETAIL_MAX];
	snprintf(detail, sizeof(detail), "allow %s%s", rule_text,
		 foreign[0] ? "; another device program must too" : "");
	vfg_action action = foreign[0] && !cgroup_foreign_allowed(env) ? VFG_ACTION_REFUSE : VFG_ACTION_GRANT;
	const char *outcome = cgroup_foreign_allowed(env) ? " (cgroup_foreign_programs = proceed: apply goes on)"
							  : " (apply refuses unless cgroup_foreign_programs = proceed)";
	/*
	 * Why systemd's path is not taken, with the programs, cgroup paths and
	 * all: the programs and the why first, within VFG_STEP_REASON_MAX.
	 */
	if (foreign[0] && found->systemd_why[0]) {
		char programs[768];
		cgroup_dir *dir = cgroup_hold_dir(hold, place->v2, err);
		if (!dir || cgroup_v2_foreign(dir, programs, sizeof(programs), err) < 0)
			return -1;
		return vfg_step_set(step, action, detail,
				    "%s must allow '%s' too (device programs AND); systemd's path is not taken: %s%s",
				    programs, rule_text, found->systemd_why, outcome);
	}
	return vfg_step_set(step, action, detail,
			    "the hypervisor opens the node in its cgroup, checked at open "
			    "(devcgroup_inode_permission()): a rule in the %s%s%s%s%s%s",
			    where, already, node->shared ? ", counted per cgroup as the node is shared" : "",
			    foreign[0] ? ". " : "", foreign, foreign[0] ? outcome : "");
}

static int cgroup_foreign_check(const char *value, vfg_error *err)
{
	if (strcmp(value, "fail") != 0 && strcmp(value, "proceed") != 0)
		return vfg_error_set(err, EINVAL, value, "cgroup_foreign_programs is fail or proceed");
	return 0;
}

static int cgroup_systemd_check(const char *value, vfg_error *err)
{
	if (strcmp(value, "auto") != 0 && strcmp(value, "off") != 0)
		return vfg_error_set(err, EINVAL, value, "cgroup_systemd is auto or off");
	return 0;
}

static const vfg_config_key_def cgroup_keys[] = {
	/*
	 * What vfguard's v2 device program allows before any grant, so the VM keeps its
	 * basic devices: device paths (numbers read from the host's node; a missing one is
	 * skipped) or rules "c MAJ:MIN ACCESS", comma-separated. 136 is the Unix98 pty
	 * slave major (Documentation/admin-guide/devices.txt).
	 */
	{"cgroup_base_devices",
	 "/dev/null, /dev/full, /dev/zero, /dev/random, /dev/urandom, /dev/ptmx, /dev/kvm, /dev/userfaultfd, c 136:* "
	 "rw",
	 cgroup_base_devices_check,
	 "what vfguard's v2 device program allows before any grant: device paths or rules c MAJ:MIN ACCESS"},
	{"cgroup_foreign_programs", "fail", cgroup_foreign_check,
	 "fail: apply refuses a cgroup where another device program acts; proceed: go on anyway"},
	{"cgroup_systemd", "auto", cgroup_systemd_check,
	 "auto: where systemd's device program decides, grant through the unit's DeviceAllow= over D-Bus; off: never"},
	{NULL, NULL, NULL, NULL},
};

/*
 * The path is journaled as it is given, and revoke takes back only a plain
 * one (is_plain_path: its undo text names it): another spelling is refused
 * before anything changes, naming the plain form where there is one. A
 * trial's trailing '/' was applied, then refused by its own rollback, and
 * the open transaction stopped every later command on the host.
 */
static int cgroup_path_check(const char *value, vfg_error *err)
{
	if (value[0] != '/')
		return vfg_error_set(err, EINVAL, value, "cgroup: expected an absolute path");
	if (cgroup_is_plain_path(value))
		return 0;
	char plain[VFG_PATH_MAX] = "";
	size_t used = 0;
	bool dotdot = false;
	for (const char *component = value; *component;) {
		component += strspn(component, "/");
		size_t length = strcspn(component, "/");
		dotdot |= length == 2 && component[0] == '.' && component[1] == '.';
		if (length > 0 && !(length == 1 && component[0] == '.') && used + length + 1 < sizeof(plain))
			used += (size_t)snprintf(plain + used, sizeof(plain) - used, "/%.*s", (int)length, component);
		component += length;
	}
	if (dotdot || !plain[0])
		return vfg_error_set(err, EINVAL, value,
				     "cgroup: expected the cgroup's plain path: absolute, no '..', '.' or empty "
				     "component, no '/' at the end");
	return vfg_error_set(err, EINVAL, value,
			     "cgroup: expected the cgroup's plain path (no '.' or empty component, no '/' at the "
			     "end): give %s",
			     plain);
}

static const vfg_attr_def cgroup_attributes[] = {
	{"path", cgroup_path_check, "the VM's cgroup directory, absolute, used as it is (never under the root)", 8,
	 "cgroup", true},
	{NULL, NULL, NULL, 0, NULL, false},
};

/*
 * A grant of a boot that is over lived in a cgroup (v1 devices.allow, v2
 * BPF program, a unit's runtime DeviceAllow=): cgroupfs and systemd's
 * runtime properties start empty at boot, and a cgroup of the same path
 * now is this boot's (a VM of the same name started again): nothing is
 * touched (labeler.h: boot_release; docs/boot.md).
 */
static int cgroup_boot_release(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			       const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	(void)env, (void)domain, (void)probe, (void)node, (void)txn, (void)err;
	return 0;
}

/*
 * Nothing this labeler keeps outlives a boot (the answer of the boot's v1
 * hierarchy names its boot): the sweep, which vfguard restore --boot makes
 * at boot, only asks where this boot's v1 devices hierarchy is, so that the
 * boot's applies do not each map libcgroup (cgroup_hold_v1_prime).
 */
static int cgroup_boot_sweep(const vfg_labeler_env *env, const char *boot_id, vfg_error *err)
{
	cgroup_hold *hold = cgroup_hold_get(env, err);
	if (!hold)
		return -1;
	(void)boot_id; /* the answer is the running kernel's, which --root does not change */
	cgroup_hold_v1_prime(hold);
	return 0;
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v2 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.size = VFG_LABELER_SIZE,
	.name = "cgroup",
	.summary = "device cgroup rule: v1 devices.allow, v2 BPF device program, or systemd's DeviceAllow=",
	.config_keys = cgroup_keys,
	.attributes = cgroup_attributes,
	.probe = cgroup_probe,
	.plan = cgroup_plan,
	.grant = cgroup_grant,
	.revoke = cgroup_revoke,
	.audit = cgroup_audit,
	.intent = cgroup_intent,
	.boot_release = cgroup_boot_release,
	.boot_sweep = cgroup_boot_sweep,
	.held_in_force = cgroup_held_in_force,
};
