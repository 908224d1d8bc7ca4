/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The v1 devices controller (Documentation/admin-guide/cgroup-v1/devices.rst).
 * A cgroup holds a default (allow or deny everything) and a list of
 * exceptions; writing "c 243:0 rw" to devices.allow of a default-deny cgroup
 * adds an exception, or widens the access of the one with that type and those
 * numbers (dev_exception_add() merges them); devices.deny takes access bits
 * away again and drops the exception when none is left (dev_exception_rm()),
 * so a grant and its revoke put the list back as it was, order included. The
 * kernel lets a device through when one exception covers all the access asked
 * for (match_exception() in security/device_cgroup.c).
 *
 * devices.list is read once per hold of the host lock, and each write is
 * applied to what was read as devcgroup_update_access() applies it, so no
 * node reads the list again: read per node it made apply and revoke
 * quadratic in the number of nodes. Writes go through one fd per file, kept
 * for the hold; libcgroup says where the devices hierarchy is mounted, which
 * a directory must be below before anything is written there (the module
 * cgroup-v1.so, cgroup_v1_libcgroup.c), once per boot (cgroup_hold.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "vfg_fault.h"

/* ---- The list as read, and as the kernel changes it ---- */

static size_t line_hash(const cgroup_rule *rule)
{
	/* Multiplicative hashing of each field (Knuth's constant 2654435761 and another odd one). */
	return (size_t)(rule->major * 2654435761u) ^ (size_t)(rule->minor * 2246822519u) ^ (size_t)rule->type;
}

static bool same_numbers(const cgroup_rule *a, const cgroup_rule *b)
{
	return a->type == b->type && a->major == b->major && a->minor == b->minor;
}

/* The slot of the line with @rule's type and numbers, or the free slot where it would go. */
static cgroup_v1_line *line_slot(const cgroup_v1_table *list, const cgroup_rule *rule)
{
	size_t mask = list->slots - 1;
	for (size_t i = line_hash(rule) & mask;; i = (i + 1) & mask)
		if (!list->table[i].order || same_numbers(&list->table[i].rule, rule))
			return &list->table[i];
}

static const cgroup_v1_line *line_find(const cgroup_v1_table *list, const cgroup_rule *rule)
{
	const cgroup_v1_line *line = list->slots ? line_slot(list, rule) : NULL;
	return line && line->order ? line : NULL;
}

/* Room for one more line, the table kept at most half full. */
static int list_reserve(cgroup_v1_table *list)
{
	if (2 * (list->used + 1) <= list->slots)
		return 0;
	cgroup_v1_table grown = *list;
	grown.slots = list->slots ? 2 * list->slots : 64;
	grown.table = calloc(grown.slots, sizeof(*grown.table));
	if (!grown.table)
		return -1;
	for (size_t i = 0; i < list->slots; i++)
		if (list->table[i].order)
			*line_slot(&grown, &list->table[i].rule) = list->table[i];
	free(list->table);
	*list = grown;
	return 0;
}

/* Take the line out, moving back the ones after it that it had pushed along (linear probing's deletion). */
static void line_remove(cgroup_v1_table *list, cgroup_v1_line *line)
{
	size_t mask = list->slots - 1, hole = (size_t)(line - list->table);
	list->table[hole].order = 0;
	for (size_t i = (hole + 1) & mask; list->table[i].order; i = (i + 1) & mask) {
		size_t home = line_hash(&list->table[i].rule) & mask;
		/* A line may move back to the hole when its home is not within (hole, i]. */
		if ((i > hole && (home <= hole || home > i)) || (i < hole && home <= hole && home > i)) {
			list->table[hole] = list->table[i];
			list->table[i].order = 0;
			hole = i;
		}
	}
	list->used--;
}

void cgroup_v1_table_forget(cgroup_v1_table *list)
{
	free(list->table);
	*list = (cgroup_v1_table){0};
}

static int list_add(cgroup_v1_table *list, const cgroup_rule *rule)
{
	if (list_reserve(list) < 0)
		return -1;
	cgroup_v1_line *line = line_slot(list, rule);
	if (line->order) { /* the kernel never lists one twice; were it to, the first place counts */
		line->rule.access |= rule->access;
		return 0;
	}
	*line = (cgroup_v1_line){.rule = *rule, .order = ++list->next_order};
	list->used++;
	list->allow_all = list->allow_all || rule->type == 'a';
	return 0;
}

/* A major or minor as devcgroup_seq_show() prints it, '*' or decimal, at *@at up to @stop; false: another form. */
static bool listed_number(const char **at, char stop, uint32_t *n)
{
	const char *c = *at;
	if (*c == '*' && c[1] == stop) {
		*n = CGROUP_ANY;
		*at = c + 2;
		return true;
	}
	uint64_t value = 0;
	const char *start = c;
	for (; *c >= '0' && *c <= '9' && c - start < 10; c++)
		value = value * 10 + (uint64_t)(*c - '0');
	if (c == start || *c != stop || value >= CGROUP_ANY)
		return false;
	*n = (uint32_t)value;
	*at = c + 1;
	return true;
}

/*
 * A line of devices.list in the form the kernel prints it, "T MAJ:MIN ACC"
 * (devcgroup_seq_show() in security/device_cgroup.c), parsed by hand: a
 * grant beside 1000 domains in one cgroup reads a list of 1001 rules, and
 * sscanf() per line was a tenth of its extra cost there. Any other
 * form goes to cgroup_rule_parse(), which is what decides.
 */
static bool listed_rule(const char *line, cgroup_rule *rule)
{
	const char *at = line + 2;
	unsigned access = 0;
	if ((line[0] != 'a' && line[0] != 'b' && line[0] != 'c') || line[1] != ' ' ||
	    !listed_number(&at, ':', &rule->major) || !listed_number(&at, ' ', &rule->minor))
		return cgroup_rule_parse(line, rule);
	for (; *at; at++) {
		unsigned bit = *at == 'r'   ? CGROUP_ACC_READ
			       : *at == 'w' ? CGROUP_ACC_WRITE
			       : *at == 'm' ? CGROUP_ACC_MKNOD
					    : 0;
		if (!bit || (access & bit))
			return cgroup_rule_parse(line, rule);
		access |= bit;
	}
	if (!access)
		return cgroup_rule_parse(line, rule);
	rule->type = line[0];
	rule->access = access;
	return true;
}

static int list_read(cgroup_dir *dir, vfg_error *err)
{
	char path[VFG_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/devices.list", dir->path);
	cgroup_v1_table_forget(&dir->v1.lines);
	_cleanup_close_ int fd = openat(dir->fd, "devices.list", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *text = NULL;
	size_t size;
	if (fd < 0)
		return vfg_error_set(err, errno, path, "cannot read the cgroup's device list");
	if (vfg_fd_read_all(fd, path, 0, &text, &size, err) < 0)
		return -1;
	/* The table sized once for the lines read, not grown (and every line placed again) on the way. */
	char *end = text + size;
	size_t lines = 0, slots = 64;
	for (const char *c = text; (c = memchr(c, '\n', (size_t)(end - c))); c++)
		lines++;
	while (slots < 2 * (lines + 1))
		slots *= 2;
	dir->v1.lines.table = calloc(slots, sizeof(*dir->v1.lines.table));
	if (!dir->v1.lines.table)
		return vfg_error_set(err, ENOMEM, path, "cannot keep the cgroup's device list");
	dir->v1.lines.slots = slots;
	/* Line by line in place, each newline found once (strtok_r() was a third of a list's parse). */
	for (char *line = text, *next; line < end; line = next + 1) {
		next = memchr(line, '\n', (size_t)(end - line));
		next = next ? next : end;
		*next = '\0';
		if (next == line)
			continue;
		cgroup_rule listed;
		if (!listed_rule(line, &listed)) {
			cgroup_v1_table_forget(&dir->v1.lines);
			return vfg_error_set(err, 0, path, "cannot read line '%s'", line);
		}
		if (list_add(&dir->v1.lines, &listed) < 0) {
			cgroup_v1_table_forget(&dir->v1.lines);
			return vfg_error_set(err, ENOMEM, path, "cannot keep the cgroup's device list");
		}
	}
	dir->v1.lines.read = true;
	return 0;
}

/*
 * A write the kernel took, applied to the list as devcgroup_update_access()
 * (security/device_cgroup.c) applies it to the cgroup's own exceptions: in
 * default-deny mode, an allow merges into the exception with the same type
 * and numbers or is appended after the others, a deny takes bits away and
 * drops the exception left with none. In default-allow mode both change
 * exceptions devices.list does not show (devcgroup_seq_show() prints "a *:*
 * rwm" alone). -1 when the table cannot grow: the list is read again then.
 */
static int list_apply(cgroup_v1_table *list, bool deny, const cgroup_rule *rule)
{
	if (!list->read || list->allow_all)
		return 0;
	cgroup_v1_line *line = list->slots ? line_slot(list, rule) : NULL;
	if (!line || !line->order)
		return deny ? 0 : list_add(list, rule);
	if (!deny)
		line->rule.access |= rule->access;
	else if (!(line->rule.access &= ~rule->access))
		line_remove(list, line);
	return 0;
}

int cgroup_v1_read(cgroup_dir *dir, const cgroup_rule *rule, cgroup_v1_state *state, vfg_error *err)
{
	memset(state, 0, sizeof(*state));
	if (!dir->v1.lines.read && list_read(dir, err) < 0)
		return -1;
	const cgroup_v1_table *list = &dir->v1.lines;
	const cgroup_v1_line *exact = line_find(list, rule);
	state->exact = exact ? exact->rule.access : 0;
	/*
	 * The lines that can cover @rule (cgroup_rule_covers()): its type or 'a',
	 * its numbers or '*'. The first of them in the list is the one named.
	 */
	const char types[] = {rule->type, 'a'};
	const uint32_t majors[] = {rule->major, CGROUP_ANY}, minors[] = {rule->minor, CGROUP_ANY};
	const cgroup_v1_line *first = NULL;
	for (size_t t = 0; t < 2; t++)
		for (size_t ma = 0; ma < 2; ma++)
			for (size_t mi = 0; mi < 2; mi++) {
				cgroup_rule candidate = {.type = types[t], .major = majors[ma], .minor = minors[mi]};
				const cgroup_v1_line *line = line_find(list, &candidate);
				if (line && cgroup_rule_covers(&line->rule, rule) &&
				    (!first || line->order < first->order))
					first = line;
			}
	if (first) {
		state->allowed = true;
		cgroup_rule_format(&first->rule, state->covering, sizeof(state->covering));
	}
	return 0;
}

char *cgroup_v1_list(const char *dir, vfg_error *err)
{
	char path[VFG_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/devices.list", dir);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text = NULL;
	if (fd < 0) {
		vfg_error_set(err, errno, path, "cannot read the cgroup's device list");
		return NULL;
	}
	if (vfg_fd_read_all(fd, path, 0, &text, NULL, err) < 0)
		return NULL;
	return text;
}

/* ---- Writes ---- */

int cgroup_v1_write(cgroup_hold *hold, cgroup_dir *dir, bool deny, const cgroup_rule *rule, vfg_error *err)
{
	const char *file = deny ? "devices.deny" : "devices.allow";
	int *fd = deny ? &dir->v1.deny_fd : &dir->v1.allow_fd;
	char text[48];
	cgroup_rule_format(rule, text, sizeof(text));
	if (*fd < 0) {
		if (cgroup_hold_v1_hierarchy(hold, dir, file, err) < 0)
			return -1;
		*fd = vfg_fault("cgroup.v1_open") ? -1 : openat(dir->fd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (*fd < 0)
			return vfg_error_set(err, errno, dir->path, "cannot open %s to write '%s' there", file, text);
	}
	/* One write() is one rule: the kernel parses each write on its own (devcgroup_access_write()). */
	size_t length = strlen(text);
	ssize_t n = vfg_fault("cgroup.v1_write") ? -1 : write(*fd, text, length);
	if (n < 0 || (size_t)n != length) {
		int errnum = n < 0 ? errno : EIO;
		cgroup_v1_table_forget(&dir->v1.lines);
		return vfg_error_set(err, errnum, dir->path, "cannot write '%s' to %s", text, file);
	}
	if (list_apply(&dir->v1.lines, deny, rule) < 0)
		cgroup_v1_table_forget(&dir->v1.lines);
	/* A deny goes on to the cgroups below (propagate_exception()): another list the hold read may have changed. */
	cgroup_hold_forget_v1_lists(hold, dir);
	return 0;
}
