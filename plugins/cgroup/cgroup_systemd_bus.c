/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * systemd's D-Bus calls (cgroup.h: cgroup_systemd_ops), the part of the
 * systemd path that needs sd-bus: a module of its own, loaded only when
 * systemd's device program is met. The interface is systemd's
 * org.freedesktop.systemd1(5): Manager.GetUnitByControlGroup() and
 * GetUnit() find a unit's object; DevicePolicy (s) and DeviceAllow (a(ss))
 * are properties of the unit's type interface (Service, Scope, Slice, ...);
 * Manager.SetUnitProperties(s name, b runtime, a(sv) properties) changes
 * them as `systemctl set-property --runtime` does. An empty DeviceAllow
 * array resets the list, and each entry set is put at the head of it, so
 * the list reads back newest first (measured on systemd 252:
 * tests/vm/scenarios/systemd-device-allow.sh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "cgroup.h"
#include "vfg_fault.h"

#define SYSTEMD_DESTINATION "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT "org.freedesktop.systemd1.Unit"
#define SYSTEMD_NO_SUCH_UNIT "org.freedesktop.systemd1.NoSuchUnit"

static void bus_error_freep(sd_bus_error *error)
{
	sd_bus_error_free(error);
}
#define _cleanup_bus_error_ __attribute__((cleanup(bus_error_freep)))

static void bus_message_unrefp(sd_bus_message **message)
{
	sd_bus_message_unref(*message);
}
#define _cleanup_bus_message_ __attribute__((cleanup(bus_message_unrefp)))

/* The message of a failed call: systemd's error text when it sent one, else errno's. */
static int bus_fail(vfg_error *err, int r, const sd_bus_error *error, const char *what, const char *unit)
{
	return vfg_error_set(err, -r, unit, "systemd: %s: %s", what,
			     error && sd_bus_error_is_set(error) && error->message ? error->message : strerror(-r));
}

static int bus_get(void **bus, vfg_error *err)
{
	if (*bus)
		return 0;
	sd_bus *opened = NULL;
	int r = sd_bus_open_system(&opened);
	if (r < 0)
		return vfg_error_set(err, -r, "systemd", "cannot connect to the system bus, where systemd answers");
	*bus = opened;
	return 0;
}

static void bus_close(void *bus)
{
	sd_bus_flush_close_unref(bus);
}

/* The unit type's interface, which carries the resource control properties (org.freedesktop.systemd1(5)). */
static const char *unit_interface(const char *unit)
{
	static const struct {
		const char *suffix, *interface;
	} types[] = {
		{".service", "org.freedesktop.systemd1.Service"}, {".scope", "org.freedesktop.systemd1.Scope"},
		{".slice", "org.freedesktop.systemd1.Slice"},     {".socket", "org.freedesktop.systemd1.Socket"},
		{".mount", "org.freedesktop.systemd1.Mount"},     {".swap", "org.freedesktop.systemd1.Swap"},
	};
	const char *dot = strrchr(unit, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].suffix) == 0)
			return types[i].interface;
	return NULL;
}

static int property_string(sd_bus *bus, const char *object, const char *interface, const char *name, const char *unit,
			   char *buf, size_t size, vfg_error *err)
{
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	char *value = NULL;
	int r = sd_bus_get_property_string(bus, SYSTEMD_DESTINATION, object, interface, name, &error, &value);
	if (r < 0)
		return bus_fail(err, r, &error, name, unit);
	int n = snprintf(buf, size, "%s", value);
	free(value);
	if (n < 0 || (size_t)n >= size)
		return vfg_error_set(err, ENAMETOOLONG, unit, "systemd: its %s is too long", name);
	return 0;
}

static int unit_by_cgroup(void **bus, const char *cgroup, char *unit, size_t size, char *unit_cgroup,
			  size_t cgroup_size, vfg_error *err)
{
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_bus_message_ sd_bus_message *reply = NULL;
	const char *object;
	if (bus_get(bus, err) < 0)
		return -1;
	int r = sd_bus_call_method(*bus, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER, "GetUnitByControlGroup",
				   &error, &reply, "s", cgroup);
	if (r < 0)
		return bus_fail(err, r, &error, "no unit owns the cgroup", cgroup);
	if ((r = sd_bus_message_read(reply, "o", &object)) < 0)
		return bus_fail(err, r, NULL, "GetUnitByControlGroup's answer", cgroup);
	if (property_string(*bus, object, SYSTEMD_UNIT, "Id", cgroup, unit, size, err) < 0)
		return -1;
	const char *interface = unit_interface(unit);
	if (!interface)
		return vfg_error_set(err, 0, unit, "systemd: a unit of this type has no device settings");
	return property_string(*bus, object, interface, "ControlGroup", unit, unit_cgroup, cgroup_size, err);
}

static int devices_read(sd_bus *bus, const char *object, const char *interface, const char *unit,
			cgroup_sd_devices *devices, vfg_error *err)
{
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_bus_message_ sd_bus_message *reply = NULL;
	const char *path, *access;
	if (property_string(bus, object, interface, "DevicePolicy", unit, devices->policy, sizeof(devices->policy),
			    err) < 0)
		return -1;
	int r = sd_bus_get_property(bus, SYSTEMD_DESTINATION, object, interface, "DeviceAllow", &error, &reply,
				    "a(ss)");
	if (r < 0 || (r = sd_bus_message_enter_container(reply, 'a', "(ss)")) < 0)
		return bus_fail(err, r, &error, "DeviceAllow", unit);
	while ((r = sd_bus_message_read(reply, "(ss)", &path, &access)) > 0) {
		cgroup_sd_entry *entries = realloc(devices->entries, (devices->n + 1) * sizeof(*entries));
		if (!entries)
			return vfg_error_set(err, ENOMEM, unit, "systemd: cannot keep its DeviceAllow list");
		devices->entries = entries;
		cgroup_sd_entry *entry = &entries[devices->n++];
		if (snprintf(entry->path, sizeof(entry->path), "%s", path) >= (int)sizeof(entry->path) ||
		    snprintf(entry->access, sizeof(entry->access), "%s", access) >= (int)sizeof(entry->access))
			return vfg_error_set(err, ENAMETOOLONG, unit,
					     "systemd: its DeviceAllow entry '%s %s' is too long", path, access);
	}
	if (r < 0)
		return bus_fail(err, r, NULL, "DeviceAllow", unit);
	return 0;
}

static int devices_get(void **bus, const char *unit, cgroup_sd_devices *devices, bool *gone, vfg_error *err)
{
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_bus_message_ sd_bus_message *reply = NULL;
	const char *object;
	const char *interface = unit_interface(unit);
	*devices = (cgroup_sd_devices){.policy = ""};
	*gone = false;
	if (!interface)
		return vfg_error_set(err, 0, unit, "systemd: a unit of this type has no device settings");
	if (bus_get(bus, err) < 0)
		return -1;
	int r = sd_bus_call_method(*bus, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER, "GetUnit", &error, &reply,
				   "s", unit);
	if (r < 0 && sd_bus_error_has_name(&error, SYSTEMD_NO_SUCH_UNIT)) {
		*gone = true; /* a transient unit stopped and collected: its settings went with it */
		return 0;
	}
	if (r < 0)
		return bus_fail(err, r, &error, "GetUnit", unit);
	if ((r = sd_bus_message_read(reply, "o", &object)) < 0)
		return bus_fail(err, r, NULL, "GetUnit's answer", unit);
	if (devices_read(*bus, object, interface, unit, devices, err) < 0) {
		free(devices->entries);
		devices->entries = NULL;
		devices->n = 0;
		return -1;
	}
	return 0;
}

/* ("DeviceAllow", a(ss) [...]): @entries from the last to the first, since each goes to the head of the list. */
static int append_device_allow(sd_bus_message *message, const cgroup_sd_entry *entries, size_t n)
{
	int r;
	if ((r = sd_bus_message_open_container(message, 'r', "sv")) < 0 ||
	    (r = sd_bus_message_append(message, "s", "DeviceAllow")) < 0 ||
	    (r = sd_bus_message_open_container(message, 'v', "a(ss)")) < 0 ||
	    (r = sd_bus_message_open_container(message, 'a', "(ss)")) < 0)
		return r;
	for (size_t i = n; i-- > 0;)
		if ((r = sd_bus_message_append(message, "(ss)", entries[i].path, entries[i].access)) < 0)
			return r;
	if ((r = sd_bus_message_close_container(message)) < 0 || (r = sd_bus_message_close_container(message)) < 0)
		return r;
	return sd_bus_message_close_container(message);
}

static int devices_set(void **bus, const char *unit, const cgroup_sd_entry *entries, size_t n, vfg_error *err)
{
	_cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_bus_message_ sd_bus_message *message = NULL;
	if (bus_get(bus, err) < 0)
		return -1;
	/* One call: the reset and the whole list, so systemd builds one program from the final list. */
	int r = sd_bus_message_new_method_call(*bus, &message, SYSTEMD_DESTINATION, SYSTEMD_PATH, SYSTEMD_MANAGER,
					       "SetUnitProperties");
	if (r >= 0)
		r = sd_bus_message_append(message, "sb", unit, 1);
	if (r >= 0)
		r = sd_bus_message_open_container(message, 'a', "(sv)");
	if (r >= 0)
		r = append_device_allow(message, NULL, 0);
	if (r >= 0 && n)
		r = append_device_allow(message, entries, n);
	if (r >= 0)
		r = sd_bus_message_close_container(message);
	if (r < 0)
		return bus_fail(err, r, NULL, "cannot build the SetUnitProperties call", unit);
	if (vfg_fault("cgroup.systemd_set"))
		return vfg_error_set(err, errno, unit, "systemd: SetUnitProperties DeviceAllow");
	r = sd_bus_call(*bus, message, 0, &error, NULL);
	if (r < 0)
		return bus_fail(err, r, &error, "SetUnitProperties DeviceAllow", unit);
	return 0;
}

VFG_LABELER_EXPORT const cgroup_systemd_ops cgroup_systemd_bus_ops = {
	.size = sizeof(cgroup_systemd_ops),
	.unit_by_cgroup = unit_by_cgroup,
	.devices_get = devices_get,
	.devices_set = devices_set,
	.close = bus_close,
};
