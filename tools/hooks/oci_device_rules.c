/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "oci_device_rules.h"

/* A number member: -1 when absent (the spec's "all"), an error when not a non-negative integer. */
static int number_member(json_object *entry, const char *key, const char *where, size_t index, long long *value,
			 vfg_error *err)
{
	json_object *member;
	*value = -1;
	if (!json_object_object_get_ex(entry, key, &member) || json_object_is_type(member, json_type_null))
		return 0;
	if (!json_object_is_type(member, json_type_int) || json_object_get_int64(member) < 0)
		return vfg_error_set(err, 0, where, "linux.resources.devices[%zu].%s is not a device number", index,
				     key);
	*value = json_object_get_int64(member);
	return 0;
}

/* One entry: allow (required), type (default a), major and minor (default all), access (default rwm). */
static int rule_parse(json_object *entry, const char *where, size_t index, oci_device_rule *rule, vfg_error *err)
{
	json_object *member;
	if (!json_object_is_type(entry, json_type_object))
		return vfg_error_set(err, 0, where, "linux.resources.devices[%zu] is not an object", index);
	if (!json_object_object_get_ex(entry, "allow", &member) || !json_object_is_type(member, json_type_boolean))
		return vfg_error_set(err, 0, where, "linux.resources.devices[%zu] has no boolean \"allow\"", index);
	rule->allow = json_object_get_boolean(member);

	rule->type = 'a';
	if (json_object_object_get_ex(entry, "type", &member) && !json_object_is_type(member, json_type_null)) {
		const char *type = json_object_is_type(member, json_type_string) ? json_object_get_string(member) : "";
		if (strcmp(type, "a") != 0 && strcmp(type, "c") != 0 && strcmp(type, "b") != 0)
			return vfg_error_set(err, 0, where, "linux.resources.devices[%zu].type is not a, c or b",
					     index);
		rule->type = type[0];
	}
	if (number_member(entry, "major", where, index, &rule->major, err) < 0 ||
	    number_member(entry, "minor", where, index, &rule->minor, err) < 0)
		return -1;

	const char *access = "rwm";
	if (json_object_object_get_ex(entry, "access", &member) && !json_object_is_type(member, json_type_null)) {
		if (!json_object_is_type(member, json_type_string) ||
		    strspn(json_object_get_string(member), "rwm") != strlen(json_object_get_string(member)))
			return vfg_error_set(err, 0, where,
					     "linux.resources.devices[%zu].access is not made of r, w, m", index);
		access = json_object_get_string(member);
	}
	rule->read = strchr(access, 'r') != NULL;
	rule->write = strchr(access, 'w') != NULL;
	return 0;
}

int oci_device_rules_parse(json_object *config, const char *where, oci_device_rules *rules, vfg_error *err)
{
	json_object *linux_, *resources, *devices;
	rules->present = false;
	rules->n = 0;
	if (!json_object_object_get_ex(config, "linux", &linux_) ||
	    !json_object_object_get_ex(linux_, "resources", &resources) ||
	    !json_object_object_get_ex(resources, "devices", &devices) || json_object_is_type(devices, json_type_null))
		return 0;
	if (!json_object_is_type(devices, json_type_array))
		return vfg_error_set(err, 0, where, "linux.resources.devices is not an array");
	if (json_object_array_length(devices) > OCI_DEVICE_RULES_MAX)
		return vfg_error_set(err, E2BIG, where, "linux.resources.devices has more than %d entries",
				     OCI_DEVICE_RULES_MAX);
	rules->present = true;
	for (size_t i = 0; i < json_object_array_length(devices); i++)
		if (rule_parse(json_object_array_get_idx(devices, i), where, i, &rules->rules[i], err) < 0)
			return -1;
	rules->n = json_object_array_length(devices);
	return 0;
}

/*
 * The runtimes apply the entries in order, a later one overriding an earlier
 * one for the accesses it names (config-linux.md; crun's program checks the
 * last entry first, cgroup v1's devices.allow/deny written in order does the
 * same). Their own defaults (crun: /dev/null, /dev/tty, ...) hold no VFIO
 * node, so read and write start denied.
 */
bool oci_device_rules_allow_rw(const oci_device_rules *rules, dev_t rdev)
{
	bool read = false, write = false;
	for (size_t i = 0; i < rules->n; i++) {
		const oci_device_rule *rule = &rules->rules[i];
		if ((rule->type != 'a' && rule->type != 'c') || (rule->major >= 0 && rule->major != major(rdev)) ||
		    (rule->minor >= 0 && rule->minor != minor(rdev)))
			continue;
		if (rule->read)
			read = rule->allow;
		if (rule->write)
			write = rule->allow;
	}
	return read && write;
}
