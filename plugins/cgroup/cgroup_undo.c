/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The undo text of the cgroup labeler's records: what a grant journals and
 * a revoke reads back, as root, to write into the cgroups it names. It
 * names each hierarchy's cgroup and what it had before, so a revoke needs
 * neither the pid (the VM may be gone) nor a plan:
 *
 *	v1=DIR:allowed          devices.list allowed the device already: leave it
 *	v1=DIR:ACCESS           the access of the exception with these very numbers ("-": none)
 *	v2=DIR:absent           vfguard's map had no rule with these numbers (or there was no program)
 *	v2=DIR:ACCESS/FLAGS     the map's rule before, put back as it was
 *
 * DIR is written with %XX for bytes outside printable ASCII, space, '%' and ':'.
 */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "cgroup_bpf.h"

/* A byte a record's directory writes as %XX: none of them is a separator there. */
static bool escaped_byte(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || c == '%' || c == ':';
}

void cgroup_escape_path(const char *path, char *out, size_t size)
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

bool cgroup_dir_fits_record(const char *dir)
{
	size_t escaped = 0;
	for (const unsigned char *c = (const unsigned char *)dir; *c; c++)
		escaped += escaped_byte(*c) ? 3 : 1;
	return escaped <= DIR_RECORD_MAX;
}

/* @undo as its record's text into @buf; false when the whole text does not fit (@buf then holds a cut one). */
bool cgroup_undo_format(const undo_text *undo, char *buf, size_t size)
{
	char escaped[3 * VFG_PATH_MAX];
	size_t used = 0;
	buf[0] = '\0';
	const undo_part *parts[] = {&undo->v1, &undo->v2, &undo->sd};
	const char *names[] = {"v1", "v2", "sd"};
	for (size_t i = 0; i < 3; i++) {
		if (!parts[i]->dir[0])
			continue;
		cgroup_escape_path(parts[i]->dir, escaped, sizeof(escaped));
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

/* An absolute path with no empty, "." or ".." component: the cgroup directory a grant found. */
bool cgroup_is_plain_path(const char *path)
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
bool cgroup_token_is_canonical(const undo_part *part, bool v1)
{
	char canonical[TOKEN_MAX];
	if (v1) {
		int access = cgroup_access_parse(part->token);
		return strcmp(part->token, "allowed") == 0 ||
		       (access >= 0 && strcmp(part->token, cgroup_access_format((unsigned)access, canonical)) == 0);
	}
	cgroup_v2_entry entry;
	if (!cgroup_v2_token_parse(part->token, &entry) ||
	    (entry.flags & ~(unsigned)(VFG_CGROUP_RULE_BASE | VFG_CGROUP_RULE_GRANT)))
		return false;
	cgroup_v2_token_format(&entry, canonical, sizeof(canonical));
	return strcmp(part->token, canonical) == 0;
}

/*
 * Revoke writes to devices.deny in the v1 directory and to vfguard's map on
 * the v2 one, as root: the record must be exactly cgroup_undo_format()'s text,
 * with plain directories and tokens a grant writes.
 */
static int undo_check(const char *text, const vfg_node *node, const undo_text *undo, vfg_error *err)
{
	char canonical[VFG_UNDO_MAX + 1];
	bool ok = cgroup_undo_format(undo, canonical, sizeof(canonical)) && strcmp(text, canonical) == 0 &&
		  (!undo->v2.dir[0] || !undo->sd.dir[0]);
	const undo_part *parts[] = {&undo->v1, &undo->v2};
	for (size_t i = 0; i < 2 && ok; i++)
		ok = !parts[i]->dir[0] ||
		     (cgroup_is_plain_path(parts[i]->dir) && cgroup_token_is_canonical(parts[i], i == 0));
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
int cgroup_undo_part_check_kind(const cgroup_dir *dir, bool v1, const vfg_node *node, vfg_error *err)
{
	unsigned long expected = v1 ? CGROUP_SUPER_MAGIC : CGROUP2_SUPER_MAGIC;
	if (dir->fs_type != expected)
		return vfg_error_set(err, 0, dir->path,
				     "cgroup: the journal record of %s names this as its %s cgroup, but it is on no "
				     "%s file system; refusing to write there",
				     node->path, v1 ? "v1" : "v2", v1 ? "cgroup" : "cgroup2");
	return 0;
}

int cgroup_undo_parse(const char *text, const vfg_node *node, undo_text *undo, vfg_error *err)
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
void cgroup_v2_token_format(const cgroup_v2_entry *entry, char *buf, size_t size)
{
	char access[4];
	if (!entry->present)
		snprintf(buf, size, "absent");
	else
		snprintf(buf, size, "%s/%u", cgroup_access_format(entry->access, access), entry->flags);
}

bool cgroup_v2_token_parse(const char *token, cgroup_v2_entry *entry)
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
