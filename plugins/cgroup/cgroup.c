/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device cgroup labeler. A path-access node gets "c MAJ:MIN rw" in every
 * hierarchy that governs the domain's cgroup: v1's devices.allow, and the map
 * of vfguard's device program on cgroup2. A passed fd is never checked (the
 * check is at open and mknod only, in the opener's cgroup), so fd access needs
 * no rule, and a rule an earlier path grant left is taken back.
 *
 * The undo text names each hierarchy's cgroup and what it had before, so a
 * revoke needs neither the pid (the VM may be gone) nor a plan:
 *
 *	v1=DIR:allowed          devices.list allowed the device already: leave it
 *	v1=DIR:ACCESS           the access of the exception with these very numbers ("-": none)
 *	v2=DIR:absent           vfguard's map had no rule with these numbers (or there was no program)
 *	v2=DIR:ACCESS/FLAGS     the map's rule before, put back as it was
 *
 * DIR is written with %XX for bytes outside printable ASCII, space, '%' and ':'.
 *
 * A shared node's rule (/dev/vfio/vfio, /dev/iommu) may be held by several
 * domains of one cgroup: each holder keeps a side state entry for it in the
 * journal (holders_key() below), so the rule stays until the last of them.
 */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cgroup_bpf.h"

#define TOKEN_MAX 32

/* One hierarchy's part of the undo text. */
typedef struct undo_part {
	char dir[VFG_PATH_MAX]; /* "" when this hierarchy has no part */
	char token[TOKEN_MAX];
	/*
	 * v1, v2: the cgroup directory's inode at the grant, written after the
	 * token as "@INO"; 0 in a record written before it was. A cgroup
	 * removed and made again at the path (a container of the same id)
	 * has another: its rules are not the grant's (a security trial saw
	 * an old domain's revoke strip a new cgroup's own rules).
	 */
	unsigned long long ino;
} undo_part;

/* sd: DIR is the systemd unit, the token the access of the node's path in its original DeviceAllow ("-": none). */
typedef struct undo_text {
	undo_part v1, v2, sd;
} undo_text;

/* A byte a record's directory writes as %XX: none of them is a separator there. */
static bool escaped_byte(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || c == '%' || c == ':';
}

static void escape_path(const char *path, char *out, size_t size)
{
	size_t used = 0;
	for (const unsigned char *c = (const unsigned char *)path; *c && used + 4 < size; c++) {
		if (escaped_byte(*c))
			used += (size_t)snprintf(out + used, size - used, "%%%02X", *c);
		else
			out[used++] = (char)*c;
	}
	out[used] = '\0';
}

static bool unescape_path(const char *text, size_t len, char *out, size_t size)
{
	size_t used = 0;
	for (size_t i = 0; i < len; i++) {
		if (used + 1 >= size)
			return false;
		unsigned byte;
		if (text[i] == '%') {
			if (i + 2 >= len || sscanf(text + i + 1, "%2X", &byte) != 1)
				return false;
			out[used++] = (char)byte;
			i += 2;
		} else {
			out[used++] = text[i];
		}
	}
	out[used] = '\0';
	return true;
}

/*
 * The longest cgroup directory a record names, escaped: a v1 and a v2 part
 * of it, each with its token and inode, fit VFG_UNDO_MAX, and so does a
 * shared node's holders key (VFG_STATE_KEY_MAX). A longer one is refused in
 * the plan (a review found the record cut, or refused by its own rollback).
 */
#define DIR_RECORD_MAX 960

static bool dir_fits_record(const char *dir)
{
	size_t escaped = 0;
	for (const unsigned char *c = (const unsigned char *)dir; *c; c++)
		escaped += escaped_byte(*c) ? 3 : 1;
	return escaped <= DIR_RECORD_MAX;
}

/* @undo as its record's text into @buf; false when the whole text does not fit (@buf then holds a cut one). */
static bool undo_format(const undo_text *undo, char *buf, size_t size)
{
	char escaped[3 * VFG_PATH_MAX];
	size_t used = 0;
	buf[0] = '\0';
	const undo_part *parts[] = {&undo->v1, &undo->v2, &undo->sd};
	const char *names[] = {"v1", "v2", "sd"};
	for (size_t i = 0; i < 3; i++) {
		if (!parts[i]->dir[0])
			continue;
		escape_path(parts[i]->dir, escaped, sizeof(escaped));
		char ino[24] = "";
		if (parts[i]->ino)
			snprintf(ino, sizeof(ino), "@%llu", parts[i]->ino);
		int n = snprintf(buf + used, size - used, "%s%s=%s:%s%s", used ? " " : "", names[i], escaped,
				 parts[i]->token, ino);
		if (n < 0 || (size_t)n >= size - used)
			return false;
		used += (size_t)n;
	}
	return true;
}

static void v2_token_format(const cgroup_v2_entry *entry, char *buf, size_t size);
static bool v2_token_parse(const char *token, cgroup_v2_entry *entry);

/* An absolute path with no empty, "." or ".." component: the cgroup directory a grant found. */
static bool is_plain_path(const char *path)
{
	if (path[0] != '/')
		return false;
	for (const char *component = path + 1;;) {
		size_t length = strcspn(component, "/");
		if (length == 0 ? component[0] != '\0' || component != path + 1
				: (length == 1 && component[0] == '.') ||
					  (length == 2 && component[0] == '.' && component[1] == '.'))
			return false;
		if (!component[length])
			return true;
		component += length + 1;
	}
}

/* A unit name as systemd makes them (unit-name.h: letters, digits, ":-_.\\" and '@'), with a type that has device
 * settings. */
static bool is_unit_name(const char *unit)
{
	const char *dot = strrchr(unit, '.');
	return unit[0] &&
	       strspn(unit, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@") == strlen(unit) &&
	       dot &&
	       (strcmp(dot, ".service") == 0 || strcmp(dot, ".scope") == 0 || strcmp(dot, ".slice") == 0 ||
		strcmp(dot, ".socket") == 0 || strcmp(dot, ".mount") == 0 || strcmp(dot, ".swap") == 0);
}

/* The sd token: "-" or systemd's access letters in its order. */
static bool sd_token_is_canonical(const char *token)
{
	return strcmp(token, "-") == 0 || (token[0] && cgroup_sd_access_valid(token));
}

/* A token only a grant writes: v1's "allowed" or access letters, v2's "absent" or ACCESS/FLAGS of vfguard's flags. */
static bool token_is_canonical(const undo_part *part, bool v1)
{
	char canonical[TOKEN_MAX];
	if (v1) {
		int access = cgroup_access_parse(part->token);
		return strcmp(part->token, "allowed") == 0 ||
		       (access >= 0 && strcmp(part->token, cgroup_access_format((unsigned)access, canonical)) == 0);
	}
	cgroup_v2_entry entry;
	if (!v2_token_parse(part->token, &entry) ||
	    (entry.flags & ~(unsigned)(VFG_CGROUP_RULE_BASE | VFG_CGROUP_RULE_GRANT)))
		return false;
	v2_token_format(&entry, canonical, sizeof(canonical));
	return strcmp(part->token, canonical) == 0;
}

/*
 * Revoke writes to devices.deny in the v1 directory and to vfguard's map on
 * the v2 one, as root: the record must be exactly undo_format()'s text,
 * with plain directories and tokens a grant writes.
 */
static int undo_check(const char *text, const vfg_node *node, const undo_text *undo, vfg_error *err)
{
	char canonical[VFG_UNDO_MAX + 1];
	bool ok = undo_format(undo, canonical, sizeof(canonical)) && strcmp(text, canonical) == 0 &&
		  (!undo->v2.dir[0] || !undo->sd.dir[0]);
	const undo_part *parts[] = {&undo->v1, &undo->v2};
	for (size_t i = 0; i < 2 && ok; i++)
		ok = !parts[i]->dir[0] || (is_plain_path(parts[i]->dir) && token_is_canonical(parts[i], i == 0));
	if (ok && undo->sd.dir[0])
		ok = is_unit_name(undo->sd.dir) && sd_token_is_canonical(undo->sd.token);
	if (!ok)
		return vfg_error_set(err, 0, node->path,
				     "cgroup: journal record '%.300s' is not one a grant writes (v1=DIR:allowed|ACCESS "
				     "v2=DIR:absent|ACCESS/FLAGS or sd=UNIT:ACCESS|-, DIR a plain absolute path); "
				     "refusing it",
				     text);
	return 0;
}

/* The directory of a record's part is a cgroup of that hierarchy (statfs(2) magic), not any directory. */
static int undo_part_check_kind(const cgroup_dir *dir, bool v1, const vfg_node *node, vfg_error *err)
{
	unsigned long expected = v1 ? CGROUP_SUPER_MAGIC : CGROUP2_SUPER_MAGIC;
	if (dir->fs_type != expected)
		return vfg_error_set(err, 0, dir->path,
				     "cgroup: the journal record of %s names this as its %s cgroup, but it is on no "
				     "%s file system; refusing to write there",
				     node->path, v1 ? "v1" : "v2", v1 ? "cgroup" : "cgroup2");
	return 0;
}

static int undo_parse(const char *text, const vfg_node *node, undo_text *undo, vfg_error *err)
{
	memset(undo, 0, sizeof(*undo));
	const char *at = text ? text : "";
	while (*at) {
		const char *end = strchr(at, ' ');
		size_t len = end ? (size_t)(end - at) : strlen(at);
		const char *colon = memrchr(at, ':', len);
		undo_part *part = strncmp(at, "v1=", 3) == 0   ? &undo->v1
				  : strncmp(at, "v2=", 3) == 0 ? &undo->v2
				  : strncmp(at, "sd=", 3) == 0 ? &undo->sd
							       : NULL;
		size_t token_len = colon ? len - (size_t)(colon + 1 - at) : 0;
		if (!part || part->dir[0] || !colon || colon < at + 3 || token_len == 0 || token_len >= TOKEN_MAX ||
		    !unescape_path(at + 3, (size_t)(colon - at - 3), part->dir, sizeof(part->dir)) || !part->dir[0])
			return vfg_error_set(err, 0, node->path,
					     "cgroup: journal record '%s' is not 'v1=DIR:BEFORE v2=DIR:BEFORE'",
					     text ? text : "(none)");
		memcpy(part->token, colon + 1, token_len);
		part->token[token_len] = '\0';
		/* "TOKEN@INO": the cgroup's inode; the canonical form (undo_check) refuses any other spelling. */
		char *ino = part != &undo->sd ? strchr(part->token, '@') : NULL;
		if (ino) {
			*ino++ = '\0';
			char *digits_end;
			errno = 0;
			part->ino = strtoull(ino, &digits_end, 10);
			if (errno || *digits_end || !part->ino)
				return vfg_error_set(err, 0, node->path,
						     "cgroup: journal record '%s' names no cgroup inode after '@'",
						     text);
		}
		at += len;
		at += *at == ' ';
	}
	if (!undo->v1.dir[0] && !undo->v2.dir[0] && !undo->sd.dir[0])
		return vfg_error_set(err, 0, node->path, "cgroup: journal record '%s' names no cgroup",
				     text ? text : "(none)");
	return undo_check(text, node, undo, err);
}

/* v2 tokens: "absent" or "ACCESS/FLAGS". */
static void v2_token_format(const cgroup_v2_entry *entry, char *buf, size_t size)
{
	char access[4];
	if (!entry->present)
		snprintf(buf, size, "absent");
	else
		snprintf(buf, size, "%s/%u", cgroup_access_format(entry->access, access), entry->flags);
}

static bool v2_token_parse(const char *token, cgroup_v2_entry *entry)
{
	memset(entry, 0, sizeof(*entry));
	if (strcmp(token, "absent") == 0)
		return true;
	char access[8];
	unsigned flags;
	int end = -1;
	if (sscanf(token, "%7[-rwm]/%u%n", access, &flags, &end) != 2 || token[end] != '\0')
		return false;
	int bits = cgroup_access_parse(access);
	if (bits < 0)
		return false;
	*entry = (cgroup_v2_entry){.present = true, .access = (unsigned)bits, .flags = flags};
	return true;
}

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
#define HOLDERS_KEY_SIZE (VFG_STATE_KEY_MAX + 1)

/* The holders' key of the rule in @dir, "" when @node is not shared (it has no holders) or there is no @dir. */
static int holders_key(const vfg_node *node, const char *dir, unsigned long long ino, const cgroup_rule *rule,
		       char *key, vfg_error *err)
{
	char escaped[3 * VFG_PATH_MAX], at[24] = "";
	key[0] = '\0';
	if (!node->shared || !dir[0])
		return 0;
	escape_path(dir, escaped, sizeof(escaped));
	/* DIR has no raw ':' (escape_path): "DIR:INO:cM:m" is never "DIR:cM:m" of another DIR. */
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
static int holders_key_to_join(const vfg_txn *txn, const vfg_labeler_env *env, const vfg_domain *domain,
			       const vfg_node *node, const cgroup_dir *dir, const cgroup_rule *rule, char *key,
			       unsigned long long *ino, vfg_error *err)
{
	*ino = dir->ino;
	if (holders_key(node, dir->path, 0, rule, key, err) < 0)
		return -1;
	if (!key[0])
		return 0; /* a node of this domain alone: no holders, its record names the inode */
	if ((txn ? vfg_txn_state_holders(txn, key, NULL) : vfg_env_state_holders(env, domain, key, NULL)) > 0) {
		*ino = 0;
		return 0;
	}
	return holders_key(node, dir->path, dir->ino, rule, key, err);
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
	if (!token_is_canonical(&part, v1))
		return vfg_error_set(err, 0, key, "cgroup: the holders' token '%s' is not one a grant writes",
				     original);
	snprintf(token, TOKEN_MAX, "%s", original);
	return 1;
}

/* At grant: the token of a rule others of this cgroup hold already. 1, 0 (none: read it), -1. */
static int holders_before(const vfg_txn *txn, const char *key, bool v1, char *token, vfg_error *err)
{
	const char *original = NULL;
	if (key[0] && vfg_txn_state_holders(txn, key, &original) == 0)
		original = vfg_txn_state_get(txn, key);
	return holders_token(key, original, v1, token, err);
}

/* This domain holds the rule: durable before the change, so a revoke counts it. */
static int holders_join(vfg_txn *txn, const char *key, const char *token, vfg_error *err)
{
	return key[0] ? vfg_txn_state_set(txn, key, token, err) : 0;
}

/* This domain holds the rule no more: it was restored, or others keep it, or the cgroup is gone. */
static int holders_leave(vfg_txn *txn, const char *key, vfg_error *err)
{
	return key[0] ? vfg_txn_state_unset(txn, key, err) : 0;
}

/*
 * At revoke: does another domain of this cgroup hold the rule? 1: it stays,
 * and this domain has left the holders; 0: restore the token, then
 * holders_leave(); -1: error.
 */
static int holders_others(vfg_txn *txn, const char *key, vfg_error *err)
{
	if (!key[0] || vfg_txn_state_holders(txn, key, NULL) == 0)
		return 0;
	return holders_leave(txn, key, err) < 0 ? -1 : 1;
}

/* "program 17 'sd_devices' on DIR must allow c 243:0 rw too": what another device program must do. */
static int foreign_message(cgroup_hold *hold, const char *path, const char *rule_text, char *buf, size_t size,
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
	    holders_key_to_join(NULL, env, domain, node, dir, rule, key, &ino, err) < 0)
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

static int cgroup_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
		       const vfg_node *node, vfg_step *step, vfg_error *err)
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
	const char *long_dir = !dir_fits_record(place->v1) ? place->v1 : !dir_fits_record(place->v2) ? place->v2 : NULL;
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
	if (place->v2[0] && foreign_message(hold, place->v2, rule_text, foreign, sizeof(foreign), err) < 0)
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

/* The hierarchy's state before the grant: the first holder's for a shared node others hold here. */
static int v1_before(const vfg_txn *txn, cgroup_dir *dir, const char *key, const cgroup_rule *rule, char *token,
		     vfg_error *err)
{
	int held = holders_before(txn, key, true, token, err);
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
	int held = holders_before(txn, key, false, token, err);
	if (held != 0)
		return held < 0 ? -1 : 0;
	cgroup_v2_entry entry = {0};
	if (cgroup_v2_find(hold, dir, err) < 0 ||
	    (dir->v2.prog.prog_fd >= 0 && cgroup_v2_entry_get(dir, rule, &entry, err) < 0))
		return -1;
	v2_token_format(&entry, token, TOKEN_MAX);
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
static int cgroup_intent(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			 const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
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
	if (place->v2[0] && foreign_message(hold, place->v2, rule_text, foreign, sizeof(foreign), err) < 0)
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
	    (v1_dir && holders_key_to_join(txn, env, domain, node, v1_dir, &rule, v1_key, &undo.v1.ino, err) < 0) ||
	    (v2_dir && holders_key_to_join(txn, env, domain, node, v2_dir, &rule, v2_key, &undo.v2.ino, err) < 0) ||
	    (v1_dir && v1_before(txn, v1_dir, v1_key, &rule, undo.v1.token, err) < 0) ||
	    (v2_dir && v2_before(txn, hold, v2_dir, v2_key, &rule, undo.v2.token, err) < 0))
		return -1;
	if (systemd && (cgroup_sd_node_path(env, node, sd_path, sizeof(sd_path), err) < 0 ||
			cgroup_sd_before(txn, hold, undo.sd.dir, sd_path, undo.sd.token, sizeof(undo.sd.token),
					 &sd_original, err) < 0))
		return -1;
	char text[VFG_UNDO_MAX + 1];
	if (!undo_format(&undo, text, sizeof(text)))
		return vfg_error_set(
			err, ENAMETOOLONG, place->v1[0] ? place->v1 : place->v2,
			"cgroup: the cgroup's path is too long for its record (%d bytes at most, escaped); "
			"nothing was changed",
			VFG_UNDO_MAX);
	/* This domain holds the rule from before the change, so a revoke counts it. */
	if (vfg_txn_intent(txn, node, text, err) < 0 || (v1_dir && holders_join(txn, v1_key, undo.v1.token, err) < 0) ||
	    (v2_dir && holders_join(txn, v2_key, undo.v2.token, err) < 0) ||
	    (systemd && cgroup_sd_join(txn, undo.sd.dir, sd_path, sd_original, err) < 0))
		return -1;
	return 0;
}

/* The rule, in each hierarchy the record cgroup_intent journaled names. */
static int cgroup_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	/* Without the intent pass (a core that calls grant alone), journal first, as the pass would have. */
	if (!vfg_txn_undo(txn, node) && cgroup_intent(env, domain, probe, node, step, txn, err) < 0)
		return -1;
	undo_text undo;
	cgroup_hold *hold = cgroup_hold_get(env, err);
	if (!hold || undo_parse(vfg_txn_undo(txn, node), node, &undo, err) < 0)
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
	int others = holders_others(txn, key, err);
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
	return holders_leave(txn, key, err);
}

static int v2_revoke(vfg_txn *txn, cgroup_hold *hold, cgroup_dir *dir, const char *key, const vfg_node *node,
		     const cgroup_rule *rule, const undo_part *part, vfg_error *err)
{
	cgroup_v2_entry before;
	if (!v2_token_parse(part->token, &before))
		return vfg_error_set(err, 0, node->path, "cgroup: v2 token '%s' is not 'absent' or 'ACCESS/FLAGS'",
				     part->token);
	int others = holders_others(txn, key, err);
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
	return holders_leave(txn, key, err);
}

static int cgroup_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			 const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	undo_text undo;
	cgroup_hold *hold = cgroup_hold_get(env, err);
	if (!hold || undo_parse(vfg_txn_undo(txn, node), node, &undo, err) < 0)
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
		if (!dir || holders_key(node, part->dir, part->ino, &rule, key, err) < 0)
			return -1;
		if (dir->gone) {
			vfg_txn_note(txn, "cgroup: %s is gone, and its rules with it; nothing to restore", part->dir);
			if (holders_leave(txn, key, err) < 0)
				return -1;
			continue;
		}
		if (part->ino && dir->ino != part->ino) {
			vfg_txn_note(txn,
				     "cgroup: %s is another cgroup now (inode %llu, the grant's was %llu): the grant's "
				     "rules went with the one removed; this one's are left alone",
				     part->dir, dir->ino, part->ino);
			if (holders_leave(txn, key, err) < 0)
				return -1;
			continue;
		}
		if (undo_part_check_kind(dir, i == 0, node, err) < 0)
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
 * and its revoke leaves the new one alone (cgroup_revoke). systemd's part
 * is its unit's setting, which the unit keeps.
 */
static int cgroup_held_in_force(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				const vfg_node *node, const char *undo_line, char *why, size_t why_size, vfg_error *err)
{
	(void)domain;
	(void)probe;
	undo_text undo;
	cgroup_hold *hold = cgroup_hold_get(env, err);
	if (!hold || undo_parse(undo_line, node, &undo, err) < 0)
		return -1;
	const undo_part *parts[] = {&undo.v1, &undo.v2};
	for (size_t i = 0; i < 2; i++) {
		const undo_part *part = parts[i];
		if (!part->dir[0] || !part->ino)
			continue; /* no inode: a record of 0.6, taken as ever */
		cgroup_dir *dir = cgroup_hold_dir(hold, part->dir, err);
		if (!dir)
			return -1;
		if (dir->gone || dir->ino != part->ino) {
			snprintf(why, why_size, "%s is another cgroup now (inode %llu, the grant's was %llu)",
				 part->dir, dir->ino, part->ino);
			return 0;
		}
	}
	return 1;
}

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

/* Audit of one hierarchy's part of a grant the journal records. */
static void audit_v1(cgroup_hold *hold, const undo_part *part, const vfg_node *node, const cgroup_rule *rule,
		     const char *rule_text, vfg_finding *finding)
{
	cgroup_v1_state state;
	vfg_error why = {0};
	char expected[128], actual[VFG_ERROR_MESSAGE_MAX];
	snprintf(expected, sizeof(expected), "devices.list allows '%s'", rule_text);
	cgroup_dir *dir = cgroup_hold_dir(hold, part->dir, &why);
	if (dir && dir->gone)
		return; /* the cgroup took its rules with it */
	if (!dir || cgroup_v1_read(dir, rule, &state, &why) < 0) {
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, why.message,
				   "revoke the domain, then apply it again");
		return;
	}
	if (state.allowed || audit_made_again(part, dir, node, expected, finding))
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

static void audit_v2(cgroup_hold *hold, const undo_part *part, const vfg_node *node, const cgroup_rule *rule,
		     const char *rule_text, vfg_finding *finding)
{
	char expected[256], actual[512];
	snprintf(expected, sizeof(expected), "vfguard's device program on %s, its map allowing '%s'", part->dir,
		 rule_text);
	cgroup_v2_entry entry = {0};
	vfg_error why = {0};
	cgroup_dir *dir = cgroup_hold_dir(hold, part->dir, &why);
	if (dir && dir->gone)
		return; /* the cgroup took its rules with it */
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
	v2_token_format(&entry, token, sizeof(token));
	snprintf(actual, sizeof(actual), "program %u's map has %s for it", dir->v2.prog.prog_id, token);
	vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
			   "revoke the domain, then apply it again");
}

static int cgroup_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			const vfg_node *node, vfg_finding *finding, vfg_error *err)
{
	cgroup_hold *hold = cgroup_hold_get(env, err);
	if (!hold)
		return -1;
	cgroup_rule rule = cgroup_rule_for_node(node);
	char rule_text[48];
	cgroup_rule_format(&rule, rule_text, sizeof(rule_text));
	const char *record = vfg_finding_record(finding, node);
	if (record) {
		undo_text undo;
		if (undo_parse(record, node, &undo, err) < 0)
			return -1;
		if (node->access == VFG_ACCESS_FD)
			vfg_finding_report(
				finding, node, VFG_FINDING_DRIFT, "no rule: fd access",
				"a rule an earlier path grant left",
				"an apply of the domain's hostdevs as they are (vfguard apply --hostdev ... with "
				"the same ones) takes it back");
		else if (undo.v1.dir[0] && strcmp(undo.v1.token, "allowed") != 0)
			audit_v1(hold, &undo.v1, node, &rule, rule_text, finding);
		if (node->access != VFG_ACCESS_FD && undo.v2.dir[0])
			audit_v2(hold, &undo.v2, node, &rule, rule_text, finding);
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
	cgroup_found_place *found = cgroup_hold_place(hold, domain, err);
	if (!found)
		return -1;
	if (!found->place.v2[0])
		return 0;
	if (foreign_message(hold, found->place.v2, rule_text, foreign, sizeof(foreign), err) < 0)
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
	if (is_plain_path(value))
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
