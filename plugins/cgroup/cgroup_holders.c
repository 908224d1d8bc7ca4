/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Which domains of one cgroup hold the rule of a shared node. The xattr
 * trusted.vfguard.c10:196 on the cgroup's directory (kernfs keeps trusted.*
 * xattrs on cgroup and cgroup2 directories, kernfs_xattr_set() in
 * fs/kernfs/inode.c) holds the hierarchy's undo token from before the first
 * holder on its first line, then one domain name a line. Domain names are
 * printable (vfg_domain_name_check()), so a newline separates them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include "cgroup.h"

#define HOLDERS_VALUE_MAX (64 + 64 * VFG_NAME_MAX)

static void holders_xattr_name(const cgroup_rule *rule, char *buf, size_t size)
{
	snprintf(buf, size, "trusted.vfguard.%c%u:%u", rule->type, rule->major, rule->minor);
}

int cgroup_holders_read(const char *dir, const cgroup_rule *rule, cgroup_holders *holders, vfg_error *err)
{
	char name[64];
	holders_xattr_name(rule, name, sizeof(name));
	memset(holders, 0, sizeof(*holders));
	_cleanup_free_ char *value = malloc(HOLDERS_VALUE_MAX + 1);
	if (!value)
		return vfg_error_set(err, ENOMEM, dir, "cannot read %s", name);
	ssize_t n = getxattr(dir, name, value, HOLDERS_VALUE_MAX);
	if (n < 0 && errno == ENODATA)
		return 0;
	if (n < 0)
		return vfg_error_set(err, errno, dir, "cannot read %s", name);
	value[n] = '\0';
	char *saveptr = NULL;
	char *line = strtok_r(value, "\n", &saveptr);
	if (!line || strlen(line) >= sizeof(holders->original))
		return vfg_error_set(err, 0, dir, "%s is not vfguard's holder list", name);
	snprintf(holders->original, sizeof(holders->original), "%s", line);
	while ((line = strtok_r(NULL, "\n", &saveptr))) {
		if (holders->n == sizeof(holders->names) / sizeof(holders->names[0]) ||
		    strlen(line) >= sizeof(holders->names[0]))
			return vfg_error_set(err, 0, dir, "%s lists more holders than vfguard keeps", name);
		snprintf(holders->names[holders->n++], sizeof(holders->names[0]), "%s", line);
	}
	return 0;
}

static int holders_write(const char *dir, const cgroup_rule *rule, const cgroup_holders *holders, vfg_error *err)
{
	char name[64];
	holders_xattr_name(rule, name, sizeof(name));
	if (holders->n == 0) {
		if (removexattr(dir, name) < 0 && errno != ENODATA)
			return vfg_error_set(err, errno, dir, "cannot remove %s", name);
		return 0;
	}
	_cleanup_free_ char *value = malloc(HOLDERS_VALUE_MAX + 1);
	if (!value)
		return vfg_error_set(err, ENOMEM, dir, "cannot write %s", name);
	size_t used = (size_t)snprintf(value, HOLDERS_VALUE_MAX, "%s", holders->original);
	for (size_t i = 0; i < holders->n; i++)
		used += (size_t)snprintf(value + used, HOLDERS_VALUE_MAX - used, "\n%s", holders->names[i]);
	if (setxattr(dir, name, value, used, 0) < 0)
		return vfg_error_set(err, errno, dir, "cannot write %s", name);
	return 0;
}

static size_t holders_find(const cgroup_holders *holders, const char *name)
{
	for (size_t i = 0; i < holders->n; i++)
		if (strcmp(holders->names[i], name) == 0)
			return i;
	return holders->n;
}

int cgroup_holders_add(const char *dir, const cgroup_rule *rule, cgroup_holders *holders, const char *name,
		       vfg_error *err)
{
	if (holders_find(holders, name) < holders->n)
		return 0;
	if (holders->n == sizeof(holders->names) / sizeof(holders->names[0]))
		return vfg_error_set(err, EMLINK, dir, "more than %zu domains share this cgroup's rule for %c %u:%u",
				     holders->n, rule->type, rule->major, rule->minor);
	snprintf(holders->names[holders->n++], sizeof(holders->names[0]), "%s", name);
	return holders_write(dir, rule, holders, err);
}

int cgroup_holders_remove(const char *dir, const cgroup_rule *rule, cgroup_holders *holders, const char *name,
			  vfg_error *err)
{
	size_t i = holders_find(holders, name);
	if (i == holders->n)
		return holders->n ? 0 : holders_write(dir, rule, holders, err);
	memmove(&holders->names[i], &holders->names[i + 1], (holders->n - i - 1) * sizeof(holders->names[0]));
	holders->n--;
	return holders_write(dir, rule, holders, err);
}
