/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * systemd's path, the part without the bus (cgroup.h): a unit's device
 * settings as the journal keeps them, the list vfguard sets, and whether the
 * device programs on a cgroup are systemd's alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"

/* As the undo text's DIR: %XX for bytes outside printable ASCII, space, '%' and ':'. */
static bool escape(const char *text, char *out, size_t size)
{
	size_t used = 0;
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (used + 4 >= size)
			return false;
		if (*c <= ' ' || *c >= 0x7f || *c == '%' || *c == ':')
			used += (size_t)snprintf(out + used, size - used, "%%%02X", *c);
		else
			out[used++] = (char)*c;
	}
	out[used] = '\0';
	return true;
}

static bool unescape(const char *text, size_t len, char *out, size_t size)
{
	size_t used = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned byte;
		if (used + 1 >= size)
			return false;
		if (text[i] != '%') {
			out[used++] = text[i];
			continue;
		}
		if (i + 2 >= len || sscanf(text + i + 1, "%2X", &byte) != 1 || byte == 0)
			return false;
		out[used++] = (char)byte;
		i += 2;
	}
	out[used] = '\0';
	return used > 0;
}

/* Letters systemd takes for an entry, each once, in its order (systemd.resource-control(5): r, w, m). */
bool cgroup_sd_access_valid(const char *access)
{
	const char *order = "rwm";
	for (const char *c = access; *c; c++) {
		const char *at = strchr(order, *c);
		if (!at)
			return false;
		order = at + 1;
	}
	return true;
}

static bool policy_valid(const char *policy)
{
	return strcmp(policy, "auto") == 0 || strcmp(policy, "closed") == 0 || strcmp(policy, "strict") == 0;
}

int cgroup_sd_devices_format(const cgroup_sd_devices *devices, char *buf, size_t size, vfg_error *err)
{
	char escaped[3 * VFG_PATH_MAX];
	int used = snprintf(buf, size, "%s", devices->policy);
	for (size_t i = 0; i < devices->n && used >= 0 && (size_t)used < size; i++) {
		if (!escape(devices->entries[i].path, escaped, sizeof(escaped)))
			break;
		used += snprintf(buf + used, size - (size_t)used, " %s:%s", escaped, devices->entries[i].access);
	}
	if (used < 0 || (size_t)used >= size)
		return vfg_error_set(err, ENAMETOOLONG, devices->policy,
				     "cgroup: the unit's DeviceAllow list is too long for the journal (%zu entries)",
				     devices->n);
	return 0;
}

bool cgroup_sd_devices_parse(const char *text, cgroup_sd_devices *devices)
{
	*devices = (cgroup_sd_devices){.policy = ""};
	size_t len = strcspn(text, " ");
	if (len == 0 || len >= sizeof(devices->policy))
		return false;
	memcpy(devices->policy, text, len);
	devices->policy[len] = '\0';
	if (!policy_valid(devices->policy))
		return false;
	for (const char *at = text + len; *at;) {
		if (*at++ != ' ')
			goto bad;
		size_t word = strcspn(at, " ");
		const char *colon = memrchr(at, ':', word);
		size_t access_len = colon ? word - (size_t)(colon + 1 - at) : 0;
		cgroup_sd_entry *entries = realloc(devices->entries, (devices->n + 1) * sizeof(*entries));
		if (!entries)
			goto bad;
		devices->entries = entries;
		cgroup_sd_entry *entry = &entries[devices->n++];
		if (!colon || access_len == 0 || access_len >= sizeof(entry->access) ||
		    !unescape(at, (size_t)(colon - at), entry->path, sizeof(entry->path)))
			goto bad;
		memcpy(entry->access, colon + 1, access_len);
		entry->access[access_len] = '\0';
		if (!cgroup_sd_access_valid(entry->access))
			goto bad;
		at += word;
	}
	return true;
bad:
	free(devices->entries);
	*devices = (cgroup_sd_devices){.policy = ""};
	return false;
}

bool cgroup_sd_devices_equal(const cgroup_sd_devices *a, const cgroup_sd_devices *b)
{
	if (strcmp(a->policy, b->policy) != 0 || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->entries[i].path, b->entries[i].path) != 0 ||
		    strcmp(a->entries[i].access, b->entries[i].access) != 0)
			return false;
	return true;
}

const cgroup_sd_entry *cgroup_sd_devices_find(const cgroup_sd_devices *devices, const char *path)
{
	for (size_t i = 0; i < devices->n; i++)
		if (strcmp(devices->entries[i].path, path) == 0)
			return &devices->entries[i];
	return NULL;
}

void cgroup_sd_access_union(const char *a, const char *b, char *out)
{
	char both[CGROUP_SD_ACCESS_MAX];
	size_t used = 0;
	for (const char *c = "rwm"; *c; c++)
		if (strchr(a, *c) || strchr(b, *c))
			both[used++] = *c;
	both[used] = '\0';
	memcpy(out, both, used + 1); /* @out may be @a or @b */
}

bool cgroup_sd_access_covers(const char *have, const char *wanted)
{
	for (const char *c = wanted; *c; c++)
		if (!strchr(have, *c))
			return false;
	return true;
}

int cgroup_sd_devices_wanted(const cgroup_sd_devices *original, const cgroup_sd_entry *held, size_t n_held,
			     cgroup_sd_devices *out, vfg_error *err)
{
	*out = (cgroup_sd_devices){.n = 0};
	snprintf(out->policy, sizeof(out->policy), "%s", original->policy);
	out->entries = calloc(original->n + n_held + 1, sizeof(*out->entries));
	if (!out->entries)
		return vfg_error_set(err, ENOMEM, "cgroup", "cannot build the unit's DeviceAllow list");
	/* Newest first: what vfguard adds reads back before the unit's own entries, which keep their order. */
	for (size_t i = 0; i < n_held; i++)
		if (!cgroup_sd_devices_find(original, held[i].path) && !cgroup_sd_devices_find(out, held[i].path))
			out->entries[out->n++] = held[i];
	for (size_t i = 0; i < original->n; i++) {
		cgroup_sd_entry *entry = &out->entries[out->n++];
		*entry = original->entries[i];
		for (size_t j = 0; j < n_held; j++)
			if (strcmp(held[j].path, entry->path) == 0)
				cgroup_sd_access_union(entry->access, held[j].access, entry->access);
	}
	return 0;
}

/* One line of cgroup_v2_foreign()'s, "program 17 'NAME' on DIR": the name and DIR, or false. */
static bool program_line_parse(const char *line, size_t len, const char **name, size_t *name_len, const char **where,
			       size_t *where_len)
{
	static const char prefix[] = "program ", on[] = "' on ";
	if (len <= strlen(prefix) || strncmp(line, prefix, strlen(prefix)) != 0)
		return false;
	const char *id = line + strlen(prefix), *end = line + len;
	size_t digits = strspn(id, "0123456789");
	if (digits == 0 || id + digits + 2 > end || strncmp(id + digits, " '", 2) != 0)
		return false;
	*name = id + digits + 2;
	/* vfguard's program of another cgroup ends its name with "' (vfguard's, ...) on": not "' on ". */
	const char *close = memchr(*name, '\'', (size_t)(end - *name));
	if (!close || (size_t)(end - close) <= strlen(on) || strncmp(close, on, strlen(on)) != 0)
		return false;
	*name_len = (size_t)(close - *name);
	*where = close + strlen(on);
	*where_len = (size_t)(end - *where);
	return (*where)[0] == '/';
}

bool cgroup_sd_programs_split(const char *foreign, char *dir, size_t dir_size, char *left, size_t left_size)
{
	dir[0] = left[0] = '\0';
	if (!foreign[0])
		return false;
	/* systemd's first: the others are judged against its cgroup. */
	for (int pass = 0; pass < 2; pass++) {
		size_t left_used = 0;
		for (const char *at = foreign; *at;) {
			const char *end = strstr(at, "; program ");
			size_t len = end ? (size_t)(end - at) : strlen(at);
			const char *name, *where;
			size_t name_len, where_len;
			if (!program_line_parse(at, len, &name, &name_len, &where, &where_len))
				return false;
			bool systemds = name_len == strlen("sd_devices") && strncmp(name, "sd_devices", name_len) == 0;
			if (pass == 0 && systemds) {
				if (dir[0] ? strlen(dir) != where_len || strncmp(dir, where, where_len) != 0
					   : where_len >= dir_size)
					return false;
				memcpy(dir, where, where_len);
				dir[where_len] = '\0';
			} else if (pass == 1 && !systemds) {
				size_t dir_len = strlen(dir);
				if (where_len <= dir_len + 1 || strncmp(where, dir, dir_len) != 0 ||
				    where[dir_len] != '/' || left_used + len + 3 > left_size)
					return false;
				left_used += (size_t)snprintf(left + left_used, left_size - left_used, "%s%.*s",
							      left_used ? "; " : "", (int)len, at);
			}
			at += len;
			if (end)
				at += 2;
		}
		if (pass == 0 && !dir[0])
			return false;
	}
	return true;
}

/* ---- In a labeler call ---- */

bool cgroup_foreign_allowed(const vfg_labeler_env *env)
{
	const char *value = vfg_config_get(env->config, "cgroup_foreign_programs");
	return value && strcmp(value, "proceed") == 0;
}

static bool systemd_path_on(const vfg_labeler_env *env)
{
	const char *value = vfg_config_get(env->config, "cgroup_systemd");
	return !value || strcmp(value, "off") != 0;
}

int cgroup_sd_route(const vfg_labeler_env *env, cgroup_hold *hold, cgroup_found_place *found, vfg_error *err)
{
	if (found->systemd >= 0)
		return found->systemd;
	char dir[VFG_PATH_MAX], mount[VFG_PATH_MAX], programs[768] = "";
	if (found->place.v2[0]) {
		cgroup_dir *v2 = cgroup_hold_dir(hold, found->place.v2, err);
		if (!v2 || cgroup_v2_find(hold, v2, err) < 0 ||
		    cgroup_v2_foreign(v2, programs, sizeof(programs), err) < 0)
			return -1;
	}
	found->systemd = 0;
	found->systemd_why[0] = found->systemd_left[0] = '\0';
	if (!cgroup_sd_programs_split(programs, dir, sizeof(dir), found->systemd_left, sizeof(found->systemd_left)))
		return 0; /* no program, or one that is not systemd's: the BPF path, or a refusal naming it */
	if (!systemd_path_on(env)) {
		snprintf(found->systemd_why, sizeof(found->systemd_why), "cgroup_systemd = off");
		return 0;
	}
	int r = cgroup_mount_find(NULL, mount, sizeof(mount));
	size_t mount_len = strlen(mount);
	if (r < 0 || strncmp(dir, mount, mount_len) != 0 || (dir[mount_len] != '/' && dir[mount_len] != '\0')) {
		snprintf(found->systemd_why, sizeof(found->systemd_why), "%s is not below the cgroup2 mount", dir);
		return 0;
	}
	const char *below = dir[mount_len] ? dir + mount_len : "/";
	vfg_error why = {0};
	char unit_cgroup[VFG_PATH_MAX];
	const cgroup_systemd_ops *ops = cgroup_hold_systemd_ops(hold, &why);
	if (!ops || ops->unit_by_cgroup(cgroup_hold_bus(hold), below, found->systemd_unit, sizeof(found->systemd_unit),
					unit_cgroup, sizeof(unit_cgroup), &why) < 0) {
		snprintf(found->systemd_why, sizeof(found->systemd_why), "%s", why.message);
		return 0;
	}
	/* The program must be the unit's own: an ancestor slice's program answers to another unit. */
	if (strcmp(unit_cgroup, below) != 0) {
		snprintf(found->systemd_why, sizeof(found->systemd_why),
			 "systemd's program is on %s, but the unit that owns it, %s, has the cgroup %s", dir,
			 found->systemd_unit, unit_cgroup);
		found->systemd_unit[0] = '\0';
		return 0;
	}
	/*
	 * A manager's own program below the unit's cgroup (libvirt's on the
	 * scope's libvirt/) ANDs with systemd's: DeviceAllow= gets past systemd's
	 * alone, and that program must allow the node itself. Only when told to
	 * go on where another program acts.
	 */
	if (found->systemd_left[0] && !cgroup_foreign_allowed(env)) {
		snprintf(found->systemd_why, sizeof(found->systemd_why),
			 "a program below unit %s's cgroup decides too, its manager's (cgroup_foreign_programs = "
			 "proceed: the unit's DeviceAllow=, that program left to its manager)",
			 found->systemd_unit);
		found->systemd_unit[0] = '\0';
		return 0;
	}
	snprintf(found->systemd_cgroup, sizeof(found->systemd_cgroup), "%s", dir);
	found->systemd = 1;
	return 1;
}

/*
 * The node's own path, not under the root prefix: systemd takes only a path
 * below /dev/ (valid_device_allow_pattern() in systemd's cgroup-util.c) and
 * reads its numbers on the host itself when it builds its program.
 */
int cgroup_sd_node_path(const vfg_labeler_env *env, const vfg_node *node, char *path, size_t size, vfg_error *err)
{
	(void)env;
	if (snprintf(path, size, "%s", node->path) >= (int)size)
		return vfg_error_set(err, ENAMETOOLONG, node->path, "cgroup: the node's path is too long");
	return 0;
}

/* "sd:UNIT" keeps the original; "sd:UNIT:PATH" says a domain holds PATH in the unit, with its access. */
static int unit_key(const char *unit, const char *path, char *key, size_t size, vfg_error *err)
{
	char escaped_unit[3 * CGROUP_SD_UNIT_MAX], escaped_path[3 * VFG_PATH_MAX];
	if (!escape(unit, escaped_unit, sizeof(escaped_unit)) ||
	    (path && !escape(path, escaped_path, sizeof(escaped_path))))
		return vfg_error_set(err, ENAMETOOLONG, unit, "cgroup: cannot key the unit's DeviceAllow holders");
	int n = path ? snprintf(key, size, "sd:%s:%s", escaped_unit, escaped_path)
		     : snprintf(key, size, "sd:%s", escaped_unit);
	if (n < 0 || (size_t)n >= size)
		return vfg_error_set(err, ENAMETOOLONG, path ? path : unit,
				     "cgroup: the key of the unit's DeviceAllow holders is too long");
	return 0;
}

#define SD_KEY_SIZE (VFG_STATE_KEY_MAX + 1)
#define SD_GRANTED_ACCESS "rw" /* what a path-access node needs: read and write (cgroup_rule_for_node()) */

/* The unit's original as the holders keep it (this domain's, else another's); NULL when nobody keeps it. */
static const char *original_kept(const vfg_txn *txn, const char *key)
{
	const char *value = vfg_txn_state_get(txn, key);
	if (!value && vfg_txn_state_holders(txn, key, &value) == 0)
		value = NULL;
	return value;
}

int cgroup_sd_before(const vfg_txn *txn, cgroup_hold *hold, const char *unit, const char *path, char *token,
		     size_t token_size, char **original, vfg_error *err)
{
	char key[SD_KEY_SIZE], text[VFG_UNDO_MAX + 1];
	cgroup_sd_devices devices;
	bool gone;
	*original = NULL;
	if (unit_key(unit, NULL, key, sizeof(key), err) < 0)
		return -1;
	const char *kept = original_kept(txn, key);
	if (kept) {
		if (!cgroup_sd_devices_parse(kept, &devices))
			return vfg_error_set(err, 0, key,
					     "cgroup: the unit's kept settings '%.300s' are not one a grant "
					     "writes",
					     kept);
		snprintf(text, sizeof(text), "%s", kept);
	} else {
		const cgroup_sd_devices *now = cgroup_hold_sd_devices(hold, unit, &gone, err);
		if (!now)
			return -1;
		if (gone)
			return vfg_error_set(err, ENOENT, unit, "cgroup: systemd has no such unit loaded any more");
		if (cgroup_sd_devices_format(now, text, sizeof(text), err) < 0)
			return -1;
		/* Read back as revoke will read it: an entry systemd gave that the journal cannot keep stops here. */
		if (!cgroup_sd_devices_parse(text, &devices))
			return vfg_error_set(err, 0, unit, "cgroup: the unit's device settings '%.300s' cannot be kept",
					     text);
	}
	const cgroup_sd_entry *entry = cgroup_sd_devices_find(&devices, path);
	snprintf(token, token_size, "%s", entry && entry->access[0] ? entry->access : "-");
	free(devices.entries);
	*original = strdup(text);
	if (!*original)
		return vfg_error_set(err, ENOMEM, unit, "cgroup: cannot keep the unit's device settings");
	return 0;
}

int cgroup_sd_join(vfg_txn *txn, const char *unit, const char *path, const char *original, vfg_error *err)
{
	char key[SD_KEY_SIZE];
	if (unit_key(unit, NULL, key, sizeof(key), err) < 0 || vfg_txn_state_set(txn, key, original, err) < 0 ||
	    unit_key(unit, path, key, sizeof(key), err) < 0)
		return -1;
	return vfg_txn_state_set(txn, key, SD_GRANTED_ACCESS, err);
}

/* Does anyone, this domain or another, hold @path in the unit? Its access into @access. */
static int path_held(const vfg_txn *txn, const char *unit, const char *path, char *access, vfg_error *err)
{
	char key[SD_KEY_SIZE];
	if (unit_key(unit, path, key, sizeof(key), err) < 0)
		return -1;
	const char *value = vfg_txn_state_get(txn, key);
	if (!value && vfg_txn_state_holders(txn, key, &value) == 0)
		return 0;
	if (!value || !cgroup_sd_access_valid(value) || strlen(value) >= CGROUP_SD_ACCESS_MAX)
		return vfg_error_set(err, 0, key, "cgroup: the holders' access '%s' is not one a grant writes",
				     value ? value : "(none)");
	snprintf(access, CGROUP_SD_ACCESS_MAX, "%s", value);
	return 1;
}

/* Add @path to @held when someone holds it and it is not there yet. */
static int held_add(const vfg_txn *txn, const char *unit, const char *path, cgroup_sd_entry *held, size_t *n,
		    vfg_error *err)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp(held[i].path, path) == 0)
			return 0;
	char access[CGROUP_SD_ACCESS_MAX];
	int r = path_held(txn, unit, path, access, err);
	if (r <= 0)
		return r;
	snprintf(held[*n].path, sizeof(held[*n].path), "%s", path);
	snprintf(held[*n].access, sizeof(held[*n].access), "%s", access);
	(*n)++;
	return 0;
}

/*
 * What the unit's list must be now: the original, and every path someone
 * holds among those the list has now, the original has, and @path. A path a
 * holder holds is in the list from its grant on, so these are all of them.
 */
static int wanted_list(const vfg_txn *txn, cgroup_hold *hold, const char *unit, const char *path,
		       cgroup_sd_devices *wanted, bool *gone, vfg_error *err)
{
	char key[SD_KEY_SIZE];
	cgroup_sd_devices original;
	if (unit_key(unit, NULL, key, sizeof(key), err) < 0)
		return -1;
	const char *kept = original_kept(txn, key);
	if (!kept || !cgroup_sd_devices_parse(kept, &original))
		return vfg_error_set(err, 0, unit,
				     "cgroup: the unit's settings before vfguard are not in the journal "
				     "('%.300s')",
				     kept ? kept : "(none)");
	const cgroup_sd_devices *now = cgroup_hold_sd_devices(hold, unit, gone, err);
	if (!now || *gone) {
		free(original.entries);
		return now ? 0 : -1;
	}
	_cleanup_free_ cgroup_sd_entry *held = calloc(now->n + original.n + 1, sizeof(*held));
	size_t n = 0;
	int r = held ? 0 : vfg_error_set(err, ENOMEM, unit, "cgroup: cannot build the unit's DeviceAllow list");
	for (size_t i = 0; r == 0 && i < now->n; i++)
		r = held_add(txn, unit, now->entries[i].path, held, &n, err);
	for (size_t i = 0; r == 0 && i < original.n; i++)
		r = held_add(txn, unit, original.entries[i].path, held, &n, err);
	if (r == 0 && path)
		r = held_add(txn, unit, path, held, &n, err);
	if (r == 0)
		r = cgroup_sd_devices_wanted(&original, held, n, wanted, err);
	free(original.entries);
	/* The policy is systemd's now: vfguard never sets it, and sets the list alone. */
	if (r == 0)
		snprintf(wanted->policy, sizeof(wanted->policy), "%s", now->policy);
	return r;
}

int cgroup_sd_grant(vfg_txn *txn, cgroup_hold *hold, const char *unit, const char *path, vfg_error *err)
{
	cgroup_sd_devices wanted = {0};
	bool gone = false;
	int r = wanted_list(txn, hold, unit, path, &wanted, &gone, err);
	if (r == 0 && gone)
		r = vfg_error_set(err, ENOENT, unit, "cgroup: systemd has no such unit loaded any more");
	if (r == 0)
		r = cgroup_hold_sd_set(hold, unit, &wanted, err);
	free(wanted.entries);
	return r;
}

int cgroup_sd_revoke(vfg_txn *txn, cgroup_hold *hold, const char *unit, const char *path, vfg_error *err)
{
	char key[SD_KEY_SIZE];
	cgroup_sd_devices wanted = {0};
	bool gone = false;
	/* No original kept: the pass that journals it never became durable, so no grant was made. */
	if (unit_key(unit, NULL, key, sizeof(key), err) < 0)
		return -1;
	if (!original_kept(txn, key)) {
		vfg_txn_note(txn, "cgroup: nothing of unit %s's settings was journaled, so nothing was set there",
			     unit);
		return unit_key(unit, path, key, sizeof(key), err) < 0 ? -1 : vfg_txn_state_unset(txn, key, err);
	}
	/* Left first, so the list is built without this domain's hold on @path: made durable with the commit. */
	if (unit_key(unit, path, key, sizeof(key), err) < 0 || vfg_txn_state_unset(txn, key, err) < 0 ||
	    wanted_list(txn, hold, unit, NULL, &wanted, &gone, err) < 0)
		return -1;
	int r = 0;
	if (gone)
		vfg_txn_note(txn, "cgroup: systemd has no unit %s any more, and its DeviceAllow went with it", unit);
	else
		r = cgroup_hold_sd_set(hold, unit, &wanted, err);
	/* This domain keeps the original while it holds any path of the unit. */
	bool holds = false;
	for (size_t i = 0; r == 0 && i < wanted.n && !holds; i++) {
		char own[SD_KEY_SIZE];
		r = unit_key(unit, wanted.entries[i].path, own, sizeof(own), err);
		holds = r == 0 && vfg_txn_state_get(txn, own) != NULL;
	}
	free(wanted.entries);
	if (r == 0 && !holds &&
	    (unit_key(unit, NULL, key, sizeof(key), err) < 0 || vfg_txn_state_unset(txn, key, err) < 0))
		return -1;
	return r;
}

void cgroup_sd_audit(cgroup_hold *hold, const char *unit, const char *path, const vfg_node *node, vfg_finding *finding)
{
	char expected[VFG_PATH_MAX + 128];
	vfg_error why = {0};
	bool gone;
	snprintf(expected, sizeof(expected), "unit %s's DeviceAllow allows '%s %s'", unit, path, SD_GRANTED_ACCESS);
	const cgroup_sd_devices *now = cgroup_hold_sd_devices(hold, unit, &gone, &why);
	if (!now) {
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, why.message,
				   "revoke the domain, then apply it again");
		return;
	}
	if (gone)
		return; /* the unit took its settings with it */
	const cgroup_sd_entry *entry = cgroup_sd_devices_find(now, path);
	if (entry && cgroup_sd_access_covers(entry->access, SD_GRANTED_ACCESS))
		return;
	char actual[VFG_PATH_MAX + 128];
	snprintf(actual, sizeof(actual), "its DeviceAllow has %s for it (DevicePolicy=%s)",
		 entry ? entry->access : "no entry", now->policy);
	vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
			   "systemctl set-property --runtime %s 'DeviceAllow=%s %s'", unit, path, SD_GRANTED_ACCESS);
}
