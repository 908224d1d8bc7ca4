/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device rules in the syntax of v1's devices.allow and devices.list
 * (Documentation/admin-guide/cgroup-v1/devices.rst): "TYPE MAJ:MIN ACCESS",
 * TYPE a (all), c or b, '*' for any number, ACCESS of r, w, m. The same
 * syntax names the base list vfguard's v2 program starts with.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cgroup.h"

cgroup_rule cgroup_rule_for_node(const vfg_node *node)
{
	return (cgroup_rule){
		.type = 'c', .major = major(node->rdev), .minor = minor(node->rdev), .access = CGROUP_ACC_RW};
}

char *cgroup_access_format(unsigned access, char *buf)
{
	char *p = buf;
	if (access & CGROUP_ACC_READ)
		*p++ = 'r';
	if (access & CGROUP_ACC_WRITE)
		*p++ = 'w';
	if (access & CGROUP_ACC_MKNOD)
		*p++ = 'm';
	if (p == buf)
		*p++ = '-';
	*p = '\0';
	return buf;
}

int cgroup_access_parse(const char *text)
{
	if (strcmp(text, "-") == 0)
		return 0;
	unsigned access = 0;
	for (const char *c = text; *c; c++) {
		unsigned bit = *c == 'r'   ? CGROUP_ACC_READ
			       : *c == 'w' ? CGROUP_ACC_WRITE
			       : *c == 'm' ? CGROUP_ACC_MKNOD
					   : 0;
		if (!bit || (access & bit))
			return -1;
		access |= bit;
	}
	return (int)access;
}

/* @n in decimal, or '*' for any, at @out: how many characters. */
static size_t number_format(uint32_t n, char *out)
{
	if (n == CGROUP_ANY) {
		out[0] = '*';
		return 1;
	}
	char reversed[10];
	size_t length = 0;
	do {
		reversed[length++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	for (size_t i = 0; i < length; i++)
		out[i] = reversed[length - 1 - i];
	return length;
}

/*
 * "T MAJ:MIN ACC", written out rather than printed: a transaction of 1024
 * hostdevs formats some 9000 rules, and three snprintf() calls each were
 * an eighth of its instructions.
 */
char *cgroup_rule_format(const cgroup_rule *rule, char *buf, size_t size)
{
	char text[2 + 10 + 1 + 10 + 1 + 4];
	size_t used = 0;
	text[used++] = rule->type;
	text[used++] = ' ';
	used += number_format(rule->major, text + used);
	text[used++] = ':';
	used += number_format(rule->minor, text + used);
	text[used++] = ' ';
	cgroup_access_format(rule->access, text + used);
	size_t length = strlen(text);
	if (size) {
		length = length < size - 1 ? length : size - 1;
		memcpy(buf, text, length);
		buf[length] = '\0';
	}
	return buf;
}

static bool number_parse(const char *text, uint32_t *n)
{
	if (strcmp(text, "*") == 0) {
		*n = CGROUP_ANY;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value >= CGROUP_ANY)
		return false;
	*n = (uint32_t)value;
	return true;
}

bool cgroup_rule_parse(const char *text, cgroup_rule *rule)
{
	char type, numbers[64], access[8], extra;
	if (sscanf(text, " %c %63s %7s %c", &type, numbers, access, &extra) != 3)
		return false;
	char *colon = strchr(numbers, ':');
	if (!colon || (type != 'a' && type != 'c' && type != 'b'))
		return false;
	*colon = '\0';
	int bits = cgroup_access_parse(access);
	if (bits <= 0 || !number_parse(numbers, &rule->major) || !number_parse(colon + 1, &rule->minor))
		return false;
	rule->type = type;
	rule->access = (unsigned)bits;
	return true;
}

static bool number_covers(uint32_t have, uint32_t want)
{
	return have == CGROUP_ANY || have == want;
}

bool cgroup_rule_covers(const cgroup_rule *rule, const cgroup_rule *wanted)
{
	return (rule->type == 'a' || rule->type == wanted->type) && number_covers(rule->major, wanted->major) &&
	       number_covers(rule->minor, wanted->minor) && (wanted->access & ~rule->access) == 0;
}

/* Append ", TEXT" (or TEXT when @buf is empty) to @buf; a text cut short at the size ends in "...". */
static void list_append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void list_append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 4 >= size)
		return;
	if (used)
		used += (size_t)snprintf(buf + used, size - used, ", ");
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
	if (n >= 0 && used + (size_t)n >= size)
		snprintf(buf + size - 4, 4, "...");
}

/*
 * A device node of the base list: its numbers as the host has them now
 * (/dev/userfaultfd's minor is dynamic), "rw". 1 with @rule set; 0 with
 * @skipped saying why when the host has no such node or it is no device
 * (the program then simply does not allow it: nothing to seed).
 */
static int base_rule_of_path(const vfg_labeler_env *env, const char *logical, cgroup_rule *rule, char *skipped,
			     size_t size, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	struct stat st;
	if (vfg_env_host_path(env, logical, path, sizeof(path), err) < 0)
		return -1;
	if (stat(path, &st) < 0) {
		int errnum = errno;
		if (errnum != ENOENT && errnum != ENOTDIR)
			return vfg_error_set(err, errnum, path,
					     "cannot read a device of the base list (cgroup_base_devices)");
		snprintf(skipped, size, "not on this host (%s)", strerrorname_np(errnum));
		return 0;
	}
	if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(skipped, size, "not a device node");
		return 0;
	}
	*rule = (cgroup_rule){
		.type = S_ISCHR(st.st_mode) ? 'c' : 'b',
		.major = major(st.st_rdev),
		.minor = minor(st.st_rdev),
		.access = CGROUP_ACC_RW,
	};
	return 1;
}

/* One item of the base list: 1 with @rule set, 0 to skip it (@skipped says why), -1 on error. */
static int base_rule_parse(const vfg_labeler_env *env, const char *item, cgroup_rule *rule, char *skipped, size_t size,
			   vfg_error *err)
{
	if (item[0] == '/')
		return base_rule_of_path(env, item, rule, skipped, size, err);
	if (!cgroup_rule_parse(item, rule) || rule->type == 'a')
		return vfg_error_set(err, 0, "cgroup_base_devices",
				     "'%s' is neither a device path nor a rule 'c|b MAJ:MIN ACCESS' (MAJ and MIN a "
				     "number or *, ACCESS of r, w, m)",
				     item);
	return 1;
}

int cgroup_base_devices_check(const char *value, vfg_error *err)
{
	_cleanup_free_ char *copy = strdup(value);
	if (!copy)
		return vfg_error_set(err, ENOMEM, "cgroup_base_devices", "cannot read the base device list");
	char *saveptr = NULL;
	for (char *item = strtok_r(copy, ",", &saveptr); item; item = strtok_r(NULL, ",", &saveptr)) {
		item += strspn(item, " \t");
		for (size_t end = strlen(item); end > 0 && (item[end - 1] == ' ' || item[end - 1] == '\t'); end--)
			item[end - 1] = '\0';
		cgroup_rule rule;
		/* a path is read at grant time (a missing device is skipped then); a rule must parse now */
		if (*item && item[0] != '/' && (!cgroup_rule_parse(item, &rule) || rule.type == 'a'))
			return vfg_error_set(err, 0, "",
					     "'%s' is neither a device path nor a rule 'c|b MAJ:MIN ACCESS'", item);
	}
	return 0;
}

int cgroup_base_rules(const vfg_labeler_env *env, cgroup_rule **rules, size_t *n, cgroup_base_report *report,
		      vfg_error *err)
{
	const char *list = vfg_config_get(env->config, "cgroup_base_devices");
	*rules = NULL;
	*n = 0;
	if (report)
		*report = (cgroup_base_report){0};
	_cleanup_free_ char *copy = strdup(list ? list : "");
	_cleanup_free_ cgroup_rule *parsed = NULL;
	size_t count = 0;
	if (!copy)
		return vfg_error_set(err, ENOMEM, "cgroup_base_devices", "cannot read the base device list");
	char *saveptr = NULL;
	for (char *item = strtok_r(copy, ",", &saveptr); item; item = strtok_r(NULL, ",", &saveptr)) {
		item += strspn(item, " \t");
		item[strcspn(item, "\n")] = '\0';
		for (size_t end = strlen(item); end > 0 && (item[end - 1] == ' ' || item[end - 1] == '\t'); end--)
			item[end - 1] = '\0';
		if (!*item)
			continue;
		cgroup_rule rule;
		char skipped[64];
		int r = base_rule_parse(env, item, &rule, skipped, sizeof(skipped), err);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (report)
				list_append(report->skipped, sizeof(report->skipped), "%s: %s", item, skipped);
			continue;
		}
		cgroup_rule *grown = realloc(parsed, (count + 1) * sizeof(*grown));
		if (!grown)
			return vfg_error_set(err, ENOMEM, "cgroup_base_devices", "cannot read the base device list");
		parsed = grown;
		parsed[count++] = rule;
		if (report) {
			char text[48];
			cgroup_rule_format(&rule, text, sizeof(text));
			list_append(report->seeded, sizeof(report->seeded), "%s%s%s", item[0] == '/' ? item : "",
				    item[0] == '/' ? " " : "", text);
		}
	}
	*rules = vfg_steal_ptr(&parsed);
	*n = count;
	return 0;
}
