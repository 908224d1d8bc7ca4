/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The per-domain rules file as text: the exact rule for a node, the section
 * vfguard keeps at the top of the file (apparmor.h), and the undo text that
 * carries the file as it was before vfguard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "apparmor.h"

#define SECTION_BEGIN "# vfguard begin: device nodes of domain "
#define SECTION_BOOT " in boot "
#define SECTION_END "# vfguard end"
#define SECTION_END_CREATED "# vfguard end: no file before"

/*
 * AppArmor reads a file rule's path as a pattern (AARE): * ? [ ] { } are
 * globbing, ^ and \ escapes, and @{ starts a variable (apparmor.d(5),
 * "Globbing"). An escaped metacharacter is left to the parser's escape
 * handling, which differs between its stages (the quoted-string lexer keeps
 * "\?" while the pattern converter turns it into an unescaped "?"), so
 * vfguard writes no escapes at all: a path with any of these bytes, a quote,
 * or a byte outside printable ASCII is refused. The path is always quoted,
 * so a space or a comma in it is plain text.
 */
static bool rule_byte_allowed(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && !strchr("\"\\*?[]{}^", c);
}

int apparmor_rule_format(const char *path, char *buf, size_t size, vfg_error *err)
{
	if (path[0] != '/')
		return vfg_error_set(err, EINVAL, path, "apparmor: a rule's path must be absolute");
	for (const char *p = path; *p; p++)
		if (!rule_byte_allowed((unsigned char)*p))
			return vfg_error_set(err, EINVAL, path,
					     "apparmor: the path holds byte 0x%02x, which AppArmor reads as a pattern "
					     "or cannot take unescaped; vfguard writes exact paths only",
					     (unsigned char)*p);
	int n = snprintf(buf, size, "\"%s\" rw,", path);
	if (n < 0 || (size_t)n >= size)
		return vfg_error_set(err, ENAMETOOLONG, path, "apparmor: rule too long");
	return 0;
}

/* The line at @offset: its length without the newline, and where the next one starts. */
static size_t line_at(const char *content, size_t size, size_t offset, size_t *next)
{
	const char *newline = memchr(content + offset, '\n', size - offset);
	size_t length = newline ? (size_t)(newline - (content + offset)) : size - offset;
	*next = newline ? offset + length + 1 : size;
	return length;
}

static bool line_is(const char *content, apparmor_span line, const char *text)
{
	return line.length == strlen(text) && memcmp(content + line.start, text, line.length) == 0;
}

static int rules_parse_section(apparmor_rules *rules, vfg_error *err)
{
	const char *content = rules->content;
	size_t next, length = line_at(content, rules->size, 0, &next);
	size_t prefix = strlen(SECTION_BEGIN);
	if (length <= prefix || memcmp(content, SECTION_BEGIN, prefix) != 0)
		return 0; /* no section: the whole file is the original */
	/*
	 * NAME, then " in boot BOOT_ID" as the writer always adds it (an older
	 * one may not have): a name may hold spaces (vfg_domain_name_check), so
	 * the boot is read from the end of the line, its length fixed.
	 */
	const char *name = content + prefix;
	size_t name_length = length - prefix, tag = strlen(SECTION_BOOT), boot_length = tag + VFG_BOOT_ID_STRLEN - 1;
	if (name_length > boot_length && memcmp(name + name_length - boot_length, SECTION_BOOT, tag) == 0) {
		name_length -= boot_length;
		memcpy(rules->boot_id, name + name_length + tag, VFG_BOOT_ID_STRLEN - 1);
		rules->boot_id[VFG_BOOT_ID_STRLEN - 1] = '\0';
		if (!vfg_boot_id_valid(rules->boot_id))
			return vfg_error_set(err, EINVAL, rules->path,
					     "apparmor: the vfguard section's begin line names no valid boot id");
	}
	if (name_length >= sizeof(rules->domain) || memchr(content, '\0', length))
		return vfg_error_set(err, EINVAL, rules->path, "apparmor: the vfguard section names no valid domain");
	memcpy(rules->domain, name, name_length);
	rules->domain[name_length] = '\0';
	vfg_error inner = {0};
	if (vfg_domain_name_check(rules->domain, &inner) < 0)
		return vfg_error_set(err, EINVAL, rules->path,
				     "apparmor: the vfguard section names no valid domain: %s", inner.message);

	for (size_t offset = next; offset < rules->size; offset = next) {
		apparmor_span line = {.start = offset, .length = line_at(content, rules->size, offset, &next)};
		if (line_is(content, line, SECTION_END) || line_is(content, line, SECTION_END_CREATED)) {
			if (content[offset + line.length] != '\n')
				break; /* an end line must end: the original follows it */
			rules->has_section = true;
			rules->created = line_is(content, line, SECTION_END_CREATED);
			rules->original = next;
			return 0;
		}
		apparmor_span *grown = realloc(rules->rules, (rules->n_rules + 1) * sizeof(*grown));
		if (!grown)
			return vfg_error_set(err, ENOMEM, rules->path, "apparmor: cannot read the rules");
		rules->rules = grown;
		rules->rules[rules->n_rules++] = line;
	}
	return vfg_error_set(err, EINVAL, rules->path,
			     "apparmor: the vfguard section of domain %s has no end line ('%s'); the file was "
			     "edited or damaged, and vfguard cannot tell its rules from the original",
			     rules->domain, SECTION_END);
}

int apparmor_rules_read(const char *path, apparmor_rules *rules, vfg_error *err)
{
	memset(rules, 0, sizeof(*rules));
	snprintf(rules->path, sizeof(rules->path), "%s", path);
	rules->mode = 0644;
	/* O_NONBLOCK: a FIFO in its place is refused below, not waited on. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return vfg_error_set(err, errno, path, "apparmor: cannot open the rules file");
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vfg_error_set(err, errno, path, "apparmor: cannot stat the rules file");
	if (!S_ISREG(st.st_mode))
		return vfg_error_set(err, EINVAL, path, "apparmor: the rules file is not a regular file");
	rules->exists = true;
	rules->mode = st.st_mode & 07777;
	rules->uid = st.st_uid;
	rules->gid = st.st_gid;

	if (vfg_fd_read_all(fd, path, 0, &rules->content, &rules->size, err) < 0) {
		vfg_error_prefix(err, "apparmor: the rules file");
		return -1;
	}
	return rules_parse_section(rules, err);
}

void apparmor_rules_free(apparmor_rules *rules)
{
	free(rules->content);
	free(rules->rules);
	rules->content = NULL;
	rules->rules = NULL;
	rules->n_rules = 0;
}

bool apparmor_rules_holds(const apparmor_rules *rules, const char *rule)
{
	for (size_t i = 0; rules->has_section && i < rules->n_rules; i++)
		if (line_is(rules->content, rules->rules[i], rule))
			return true;
	return false;
}

void apparmor_rules_original(const apparmor_rules *rules, apparmor_original *original)
{
	if (!rules->exists || (rules->has_section && rules->created)) {
		*original = (apparmor_original){.absent = true};
		return;
	}
	size_t start = rules->has_section ? rules->original : 0;
	*original = (apparmor_original){.content = rules->content + start, .size = rules->size - start};
}

size_t apparmor_rules_left(const apparmor_rules *rules, const char *remove)
{
	size_t left = 0;
	for (size_t i = 0; rules->has_section && i < rules->n_rules; i++)
		if (!remove || !line_is(rules->content, rules->rules[i], remove))
			left++;
	return left;
}

int apparmor_rules_render(const apparmor_rules *rules, const char *domain, const char *boot_id, const char *add,
			  const char *remove, char **out, size_t *size, vfg_error *err)
{
	apparmor_original original;
	apparmor_rules_original(rules, &original);
	size_t capacity = strlen(SECTION_BEGIN) + strlen(domain) + strlen(SECTION_BOOT) + strlen(boot_id) +
			  strlen(SECTION_END_CREATED) + 3 + (add ? strlen(add) + 1 : 0) + original.size;
	for (size_t i = 0; rules->has_section && i < rules->n_rules; i++)
		capacity += rules->rules[i].length + 1;
	char *buf = malloc(capacity + 1);
	if (!buf)
		return vfg_error_set(err, ENOMEM, rules->path, "apparmor: cannot build the rules file");

	size_t used =
		(size_t)sprintf(buf, "%s%s%s%s\n", SECTION_BEGIN, domain, boot_id[0] ? SECTION_BOOT : "", boot_id);
	for (size_t i = 0; rules->has_section && i < rules->n_rules; i++) {
		apparmor_span line = rules->rules[i];
		if (remove && line_is(rules->content, line, remove))
			continue;
		memcpy(buf + used, rules->content + line.start, line.length);
		used += line.length;
		buf[used++] = '\n';
	}
	if (add && !apparmor_rules_holds(rules, add))
		used += (size_t)sprintf(buf + used, "%s\n", add);
	used += (size_t)sprintf(buf + used, "%s\n", original.absent ? SECTION_END_CREATED : SECTION_END);
	if (original.size)
		memcpy(buf + used, original.content, original.size);
	used += original.size;
	buf[used] = '\0';
	*out = buf;
	*size = used;
	return 0;
}

static const char *undo_rule(bool held)
{
	return held ? "rule=held" : "rule=new";
}

bool apparmor_undo_format_text(bool held, const apparmor_original *original, char *buf, size_t size)
{
	if (original->absent) {
		snprintf(buf, size, "%s original=absent", undo_rule(held));
		return true;
	}
	size_t used = (size_t)snprintf(buf, size, "%s original=text:", undo_rule(held));
	for (size_t i = 0; i < original->size; i++) {
		unsigned char c = (unsigned char)original->content[i];
		bool plain = c > 0x20 && c < 0x7f && c != '%';
		size_t need = plain ? 1 : 3;
		if (used + need > VFG_UNDO_MAX || used + need >= size)
			return false;
		if (plain)
			buf[used++] = (char)c;
		else
			used += (size_t)sprintf(buf + used, "%%%02x", c);
	}
	buf[used] = '\0';
	return true;
}

void apparmor_undo_format_saved(bool held, const char *hash, size_t original_size, char *buf, size_t size)
{
	snprintf(buf, size, "%s original=saved:%s:%zu", undo_rule(held), hash, original_size);
}

/* The %xx-escaped original (either case decodes; apparmor_undo_parse() then asks for the canonical one). */
static bool undo_decode_text(const char *text, apparmor_undo *undo)
{
	size_t length = strlen(text);
	undo->text = malloc(length + 1);
	if (!undo->text)
		return false;
	ssize_t n = vfg_percent_decode(text, undo->text, length);
	if (n < 0)
		return false;
	undo->text[n] = '\0';
	undo->size = (size_t)n;
	return true;
}

/*
 * HASH:SIZE, exactly as apparmor_undo_format_saved writes it: the store's
 * hash, or a format 1 copy's (apparmor.h), then the size in decimal without
 * sign or leading zero.
 */
static bool undo_parse_saved(const char *value, apparmor_undo *undo)
{
	size_t digits = strspn(value, "0123456789abcdef");
	if (digits == VFG_HASH_STRLEN - 1)
		undo->kind = APPARMOR_ORIGINAL_SAVED;
	else if (digits == APPARMOR_V1_HASH_DIGITS)
		undo->kind = APPARMOR_ORIGINAL_SAVED_V1;
	else
		return false;
	if (value[digits] != ':')
		return false;
	memcpy(undo->hash, value, digits);
	undo->hash[digits] = '\0';
	const char *number = value + digits + 1;
	if (number[0] < '1' || number[0] > '9' || strspn(number, "0123456789") != strlen(number))
		return false;
	errno = 0;
	unsigned long long size = strtoull(number, NULL, 10);
	/* The saved copy is read into memory whole: a size no rules file has is refused, not allocated. */
	if (errno != 0 || size > APPARMOR_SAVED_MAX)
		return false;
	undo->size = (size_t)size;
	return true;
}

int apparmor_undo_parse(const char *text, const vfg_node *node, apparmor_undo *undo, vfg_error *err)
{
	memset(undo, 0, sizeof(*undo));
	bool ok = text != NULL;
	const char *rest = text;
	if (ok && strncmp(rest, "rule=held ", 10) == 0) {
		undo->held = true;
		rest += 10;
	} else if (ok && strncmp(rest, "rule=new ", 9) == 0) {
		rest += 9;
	} else {
		ok = false;
	}
	if (ok && strcmp(rest, "original=absent") == 0) {
		undo->kind = APPARMOR_ORIGINAL_ABSENT;
	} else if (ok && strncmp(rest, "original=text:", 14) == 0) {
		undo->kind = APPARMOR_ORIGINAL_TEXT;
		ok = undo_decode_text(rest + 14, undo);
	} else if (ok && strncmp(rest, "original=saved:", 15) == 0) {
		ok = undo_parse_saved(rest + 15, undo);
	} else {
		ok = false;
	}
	/* Exactly what the grant's formatter writes for what was parsed: nothing a loose parse let by. */
	if (ok && undo->kind == APPARMOR_ORIGINAL_TEXT) {
		apparmor_original original = {.content = undo->text, .size = undo->size};
		char canonical[VFG_UNDO_MAX + 1];
		ok = apparmor_undo_format_text(undo->held, &original, canonical, sizeof(canonical)) &&
		     strcmp(text, canonical) == 0;
	}
	if (!ok) {
		apparmor_undo_free(undo);
		return vfg_error_set(err, 0, node->path,
				     "apparmor: journal record '%.200s' is not 'rule=new|held "
				     "original=absent|text:ENC|saved:HASH:SIZE'",
				     text ? text : "(none)");
	}
	return 0;
}

void apparmor_undo_free(apparmor_undo *undo)
{
	free(undo->text);
	undo->text = NULL;
}
