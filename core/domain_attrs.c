/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A domain's attributes (model.h): NAME\0VALUE\0 pairs in the domain's own
 * buffer. What a name means is for the labeler that declares it; here a name
 * is only checked to be one a labeler could declare.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

/* "LABELER.NAME": both parts non-empty, of a-z, 0-9, '_' and '-'. */
static int attr_name_check(const char *name, vfg_error *err)
{
	const char *dot = name ? strchr(name, '.') : NULL;
	if (!dot || dot == name || !dot[1] || strchr(dot + 1, '.') || strlen(name) >= 128)
		return vfg_error_set(err, EINVAL, name ? name : "", "an attribute is named LABELER.NAME");
	for (const char *p = name; *p; p++)
		if (p != dot && !islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '_' && *p != '-')
			return vfg_error_set(err, EINVAL, name, "attribute names hold a-z, 0-9, '_', '-' and one '.'");
	return 0;
}

/* Where the pair of @name starts in domain->attrs; domain->attrs_used when it has none. */
static size_t attr_find(const vfg_domain *domain, const char *name)
{
	size_t at = 0;
	while (at < domain->attrs_used) {
		const char *key = domain->attrs + at;
		size_t key_size = strlen(key) + 1;
		size_t pair = key_size + strlen(key + key_size) + 1;
		if (strcmp(key, name) == 0)
			return at;
		at += pair;
	}
	return domain->attrs_used;
}

VFG_EXPORT const char *vfg_domain_attr(const vfg_domain *domain, const char *name)
{
	size_t at = attr_find(domain, name);
	if (at == domain->attrs_used)
		return "";
	return domain->attrs + at + strlen(domain->attrs + at) + 1;
}

VFG_EXPORT bool vfg_domain_attr_at(const vfg_domain *domain, size_t index, const char **name, const char **value)
{
	size_t at = 0;
	for (size_t i = 0; at < domain->attrs_used; i++) {
		const char *key = domain->attrs + at;
		const char *text = key + strlen(key) + 1;
		if (i == index) {
			*name = key;
			*value = text;
			return true;
		}
		at = (size_t)(text + strlen(text) + 1 - domain->attrs);
	}
	return false;
}

VFG_EXPORT int vfg_domain_attr_set(vfg_domain *domain, const char *name, const char *value, vfg_error *err)
{
	if (attr_name_check(name, err) < 0)
		return -1;
	if (!value)
		value = "";
	for (const char *p = value; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return vfg_error_set(err, EINVAL, name, "an attribute's value is one printable line");
	size_t at = attr_find(domain, name), old = 0;
	if (at < domain->attrs_used) {
		old = strlen(domain->attrs + at) + 1;
		old += strlen(domain->attrs + at + old) + 1;
	}
	size_t name_size = strlen(name) + 1, value_size = strlen(value) + 1;
	if (*value && domain->attrs_used - old + name_size + value_size > sizeof(domain->attrs))
		return vfg_error_set(err, E2BIG, name, "the domain's attributes take more than %zu bytes",
				     sizeof(domain->attrs));
	memmove(domain->attrs + at, domain->attrs + at + old, domain->attrs_used - at - old);
	domain->attrs_used -= old;
	if (!*value)
		return 0;
	memcpy(domain->attrs + domain->attrs_used, name, name_size);
	memcpy(domain->attrs + domain->attrs_used + name_size, value, value_size);
	domain->attrs_used += name_size + value_size;
	return 0;
}
