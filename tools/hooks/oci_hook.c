/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OCI hook, for the prestart and poststop stages. The runtime passes the
 * container's state on standard input (runtime-spec runtime.md "State": id,
 * status, pid, bundle, annotations; config.md "POSIX-platform Hooks"), and
 * the bundle's config.json says the rest: the process's user and labels
 * (process.user, process.selinuxLabel, process.apparmorProfile) and the
 * device nodes the runtime creates (linux.devices, config-linux.md
 * "Devices"). Hostdevs come from the /dev/vfio entries there and from the
 * annotation org.vfguard.hostdevs (docs/hooks.md); the domain is the
 * container, named by its id.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <json-c/json.h>
#include <vfguard/util.h>

#include "hook_common.h"
#include "json_strict.h"
#include "oci_device_rules.h"

/* The annotations vfguard reads (docs/hooks.md). */
#define ANNOTATION_HOSTDEVS "org.vfguard.hostdevs"
#define ANNOTATION_BACKEND "org.vfguard.backend"
#define ANNOTATION_ACCESS "org.vfguard.access"
#define ANNOTATION_MEMORY "org.vfguard.memory"
#define ANNOTATION_VIOMMU "org.vfguard.viommu"

#define MAX_HOSTDEVS 64

typedef enum oci_stage { OCI_STAGE_PRESTART, OCI_STAGE_POSTSTOP } oci_stage;

typedef struct oci_container {
	json_object *state; /* owned */
	json_object *config; /* owned, prestart only */
	const char *id;
	const char *status;
	const char *bundle;
	pid_t pid;
	json_object *annotations; /* borrowed from state or config; may be NULL */
	vfg_domain domain;
	vfg_access access; /* org.vfguard.access, path when not given */
	vfg_hostdev_spec specs[MAX_HOSTDEVS];
	size_t n_specs;
	oci_device_rules device_rules; /* linux.resources.devices: the runtime's own device cgroup */
	char config_path[VFG_PATH_MAX];
} oci_container;

static void container_free(oci_container *c)
{
	json_object_put(c->state);
	json_object_put(c->config);
}

/* @key of @object as a string: NULL when absent, an error when not a string. */
static int json_string_member(json_object *object, const char *key, const char *where, const char **value,
			      vfg_error *err)
{
	json_object *member;
	*value = NULL;
	if (!object || !json_object_object_get_ex(object, key, &member) || json_object_is_type(member, json_type_null))
		return 0;
	if (!json_object_is_type(member, json_type_string))
		return vfg_error_set(err, 0, where, "\"%s\" is not a string", key);
	/* C would read it only up to the NUL: another value than the JSON's */
	if (strlen(json_object_get_string(member)) != (size_t)json_object_get_string_len(member))
		return vfg_error_set(err, 0, where, "\"%s\" holds a NUL byte", key);
	*value = json_object_get_string(member);
	return 0;
}

static const char *json_type_article(json_type type)
{
	return type == json_type_array ? "an array" : "an object";
}

/*
 * @key of @object, which must be of @type (an object or an array), named
 * @name in errors: 0 with NULL when absent or null, 1 when there, -1 when it
 * is another type. A member of the wrong type is never taken for absent:
 * "process": [] would otherwise read as a container with no user.
 */
static int json_typed_member(json_object *object, const char *key, json_type type, const char *where, const char *name,
			     json_object **value, vfg_error *err)
{
	*value = NULL;
	json_object *member;
	if (!object || !json_object_object_get_ex(object, key, &member) || json_object_is_type(member, json_type_null))
		return 0;
	if (!json_object_is_type(member, type))
		return vfg_error_set(err, 0, where, "%s is not %s", name, json_type_article(type));
	*value = member;
	return 1;
}

/* The annotation @key: NULL when absent, an error when it is no string or holds a NUL. */
static int annotation(const oci_container *c, const char *key, const char **value, vfg_error *err)
{
	*value = NULL;
	json_object *member;
	if (!c->annotations || !json_object_object_get_ex(c->annotations, key, &member) ||
	    json_object_is_type(member, json_type_null))
		return 0;
	if (!json_object_is_type(member, json_type_string))
		return vfg_error_set(err, 0, "", "annotation %s is not a string", key);
	if (strlen(json_object_get_string(member)) != (size_t)json_object_get_string_len(member))
		return vfg_error_set(err, 0, "", "annotation %s holds a NUL byte", key);
	*value = json_object_get_string(member);
	return 0;
}

/* The reason of @e without its "SUBJECT: " lead. */
static const char *error_reason(const vfg_error *e)
{
	size_t length = strlen(e->subject);
	if (length && strncmp(e->message, e->subject, length) == 0 && strncmp(e->message + length, ": ", 2) == 0)
		return e->message + length + 2;
	return e->message;
}

/*
 * The id names the domain, so it must be one whole domain name: a JSON
 * string may hold a NUL ("c\u0000zzz"), and C would read it as "c", so that
 * poststop would revoke another container's domain.
 */
static int check_container_id(json_object *state, vfg_error *err)
{
	json_object *id = NULL;
	json_object_object_get_ex(state, "id", &id);
	const char *text = json_object_get_string(id);
	size_t length = (size_t)json_object_get_string_len(id);
	char escaped[4 * VFG_NAME_MAX];
	json_strict_escaped(text, length, escaped, sizeof(escaped));
	if (memchr(text, '\0', length))
		return vfg_error_set(err, 0, "container state", "id \"%s\" holds a NUL byte", escaped);
	vfg_error inner = {0};
	if (vfg_domain_name_check(text, &inner) < 0)
		return vfg_error_set(err, 0, "container state", "id \"%s\": %s", escaped, error_reason(&inner));
	return 0;
}

static int parse_state(oci_container *c, const char *text, size_t size, vfg_error *err)
{
	if (json_strict_parse(text, size, "container state", &c->state, err) < 0)
		return -1;
	/* the id first: its error shows the whole id, a NUL and what follows it included */
	json_object *id;
	if (json_object_object_get_ex(c->state, "id", &id) && json_object_is_type(id, json_type_string) &&
	    check_container_id(c->state, err) < 0)
		return -1;

	if (json_string_member(c->state, "id", "container state", &c->id, err) < 0 ||
	    json_string_member(c->state, "status", "container state", &c->status, err) < 0 ||
	    json_string_member(c->state, "bundle", "container state", &c->bundle, err) < 0)
		return -1;
	/* Early drafts of the runtime spec called it bundlePath. */
	if (!c->bundle && json_string_member(c->state, "bundlePath", "container state", &c->bundle, err) < 0)
		return -1;
	if (!c->id)
		return vfg_error_set(err, 0, "container state", "no \"id\"");
	if (check_container_id(c->state, err) < 0)
		return -1;
	json_object *pid;
	if (json_object_object_get_ex(c->state, "pid", &pid)) {
		if (!json_object_is_type(pid, json_type_int) || json_object_get_int64(pid) < 0 ||
		    json_object_get_int64(pid) > INT_MAX)
			return vfg_error_set(err, 0, "container state", "\"pid\" is not a process id");
		c->pid = (pid_t)json_object_get_int64(pid);
	}
	return json_typed_member(c->state, "annotations", json_type_object, "container state", "annotations",
				 &c->annotations, err) < 0
		       ? -1
		       : 0;
}

/*
 * Whether the container's program will hold CAP_IPC_LOCK (then no memlock
 * limit is checked, docs/memlock.md). It is read from process.capabilities,
 * never from the pid: at prestart the process is still the runtime's, root
 * with every capability. What survives the program's execve (capabilities(7),
 * "Transformation of capabilities during execve()"): uid 0 gets its bounding
 * set back, any other uid keeps only its ambient set. Without a capabilities
 * object the runtime changes none: root keeps all, another uid has none.
 */
static int parse_ipc_lock(oci_container *c, json_object *process, const char *where, vfg_error *err)
{
	json_object *capabilities, *set;
	const char *name = c->domain.uid == 0 ? "bounding" : "ambient";
	char member[64];
	c->domain.ipc_lock_known = true;
	int r = json_typed_member(process, "capabilities", json_type_object, where, "process.capabilities",
				  &capabilities, err);
	if (r <= 0) {
		c->domain.ipc_lock = c->domain.uid == 0;
		return r;
	}
	c->domain.ipc_lock = false;
	/* every set, not only the one that counts here: a malformed one is a malformed config */
	static const char *const sets[] = {"bounding", "effective", "inheritable", "permitted", "ambient"};
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		snprintf(member, sizeof(member), "process.capabilities.%s", sets[i]);
		if (json_typed_member(capabilities, sets[i], json_type_array, where, member, &set, err) < 0)
			return -1;
		for (size_t k = 0; set && k < json_object_array_length(set); k++)
			if (!json_object_is_type(json_object_array_get_idx(set, k), json_type_string))
				return vfg_error_set(err, 0, where, "%s[%zu] is not a capability name", member, k);
	}
	if (!json_object_object_get_ex(capabilities, name, &set) || !json_object_is_type(set, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(set); i++) {
		json_object *entry = json_object_array_get_idx(set, i);
		if (!json_object_is_type(entry, json_type_string))
			return vfg_error_set(err, 0, where, "process.capabilities.%s[%zu] is not a capability name",
					     name, i);
		c->domain.ipc_lock = c->domain.ipc_lock || strcmp(json_object_get_string(entry), "CAP_IPC_LOCK") == 0;
	}
	return 0;
}

static int parse_user(oci_container *c, const char *where, vfg_error *err)
{
	json_object *process, *user, *value;
	int r = json_typed_member(c->config, "process", json_type_object, where, "process", &process, err);
	if (r <= 0)
		return r;
	r = json_typed_member(process, "user", json_type_object, where, "process.user", &user, err);
	if (r < 0)
		return -1;
	if (r > 0) {
		const char *keys[] = {"uid", "gid"};
		for (size_t i = 0; i < 2; i++) {
			if (!json_object_object_get_ex(user, keys[i], &value))
				continue;
			/* null is no id: (uid_t)0 would make it root */
			int64_t id = json_object_get_int64(value);
			/* (uid_t)-1 means "no change" to chown(2): never a process's id. */
			if (!json_object_is_type(value, json_type_int) || id < 0 || id >= UINT_MAX)
				return vfg_error_set(err, 0, where, "process.user.%s is not a user or group id",
						     keys[i]);
			if (i == 0)
				c->domain.uid = (uid_t)id;
			else
				c->domain.gid = (gid_t)id;
		}
	}
	if (parse_ipc_lock(c, process, where, err) < 0)
		return -1;
	const char *selinux, *apparmor;
	if (json_string_member(process, "selinuxLabel", where, &selinux, err) < 0 ||
	    json_string_member(process, "apparmorProfile", where, &apparmor, err) < 0)
		return -1;
	if (vfg_domain_attr_set(&c->domain, "selinux.label", selinux, err) < 0 ||
	    vfg_domain_attr_set(&c->domain, "apparmor.profile", apparmor, err) < 0) {
		vfg_error_prefix(err, "%s: process", where);
		return -1;
	}
	return 0;
}

/*
 * In a user namespace process.user names ids inside it; the host sees the
 * ones linux.uidMappings and linux.gidMappings map them to (config-linux.md
 * "User namespace mappings": containerID, hostID, size), and DAC grants must
 * go to those. Granting the inner id would give an unrelated host user the
 * device (crun's scenario found the hook ignoring the mappings). An id no
 * mapping covers is refused: the process could not run as it.
 */
static int map_id(json_object *linux_, const char *key, const char *what, const char *where, unsigned *id,
		  vfg_error *err)
{
	json_object *mappings;
	char name[64];
	snprintf(name, sizeof(name), "linux.%s", key);
	int r = json_typed_member(linux_, key, json_type_array, where, name, &mappings, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return vfg_error_set(err, 0, where, "a user namespace without linux.%s: whom on the host is %s %u?",
				     key, what, *id);
	for (size_t i = 0; i < json_object_array_length(mappings); i++) {
		json_object *mapping = json_object_array_get_idx(mappings, i), *member;
		int64_t field[3];
		const char *names[] = {"containerID", "hostID", "size"};
		for (size_t k = 0; k < 3; k++) {
			if (!json_object_is_type(mapping, json_type_object) ||
			    !json_object_object_get_ex(mapping, names[k], &member) ||
			    !json_object_is_type(member, json_type_int) || json_object_get_int64(member) < 0 ||
			    json_object_get_int64(member) > UINT_MAX)
				return vfg_error_set(err, 0, where, "linux.%s[%zu].%s is not an id or a size", key, i,
						     names[k]);
			field[k] = json_object_get_int64(member);
		}
		if (*id >= field[0] && *id - field[0] < field[2]) {
			if (field[1] + (*id - field[0]) >= UINT_MAX)
				return vfg_error_set(err, 0, where, "linux.%s[%zu] maps %s %u past the last id", key, i,
						     what, *id);
			*id = (unsigned)(field[1] + (*id - field[0]));
			return 0;
		}
	}
	return vfg_error_set(err, 0, where, "linux.%s maps no host id to the container's %s %u", key, what, *id);
}

static int map_user_namespace(oci_container *c, const char *where, vfg_error *err)
{
	json_object *linux_, *namespaces;
	bool user_namespace = false;
	if (json_typed_member(c->config, "linux", json_type_object, where, "linux", &linux_, err) < 0 ||
	    json_typed_member(linux_, "namespaces", json_type_array, where, "linux.namespaces", &namespaces, err) < 0)
		return -1;
	for (size_t i = 0; namespaces && i < json_object_array_length(namespaces); i++) {
		json_object *entry = json_object_array_get_idx(namespaces, i);
		const char *type;
		if (!json_object_is_type(entry, json_type_object))
			return vfg_error_set(err, 0, where, "linux.namespaces[%zu] is not an object", i);
		if (json_string_member(entry, "type", where, &type, err) < 0)
			return -1;
		user_namespace = user_namespace || (type && strcmp(type, "user") == 0);
	}
	if (!user_namespace)
		return 0;
	unsigned uid = c->domain.uid, gid = c->domain.gid;
	if (map_id(linux_, "uidMappings", "uid", where, &uid, err) < 0 ||
	    map_id(linux_, "gidMappings", "gid", where, &gid, err) < 0)
		return -1;
	c->domain.uid = uid;
	c->domain.gid = gid;
	return 0;
}

/* The container's hostdev named as @key names it (a PCI function's address, or an mdev's UUID), made when new. */
static vfg_hostdev_spec *spec_for(oci_container *c, const vfg_hostdev_spec *key, vfg_error *err)
{
	char name[VFG_HOSTDEV_NAME_MAX], other[VFG_HOSTDEV_NAME_MAX];
	vfg_hostdev_name(key, name);
	for (size_t i = 0; i < c->n_specs; i++)
		if (strcmp(vfg_hostdev_name(&c->specs[i], other), name) == 0)
			return &c->specs[i];
	if (c->n_specs == MAX_HOSTDEVS) {
		vfg_error_set(err, E2BIG, c->id, "more than %d hostdevs", MAX_HOSTDEVS);
		return NULL;
	}
	vfg_hostdev_spec *spec = &c->specs[c->n_specs++];
	*spec = (vfg_hostdev_spec){.addr = key->addr, .backend = VFG_BACKEND_AUTO, .access = c->access};
	memcpy(spec->mdev, key->mdev, sizeof(spec->mdev));
	return spec;
}

/*
 * A device's sysfs name as a hostdev: a PCI function's "DDDD:BB:DD.F", or
 * an mdev's UUID (its group and cdev lead to /sys/devices/.../UUID);
 * -1 when it is neither.
 */
static int hostdev_of_sysfs_name(const char *name, vfg_hostdev_spec *key)
{
	*key = (vfg_hostdev_spec){0};
	if (vfg_pci_addr_parse(name, &key->addr, NULL) == 0)
		return 0;
	char canonical[VFG_UUID_STRLEN];
	/* The kernel names an mdev by the UUID written to its type's create, in lower case. */
	if (vfg_uuid_parse(name, canonical, NULL) < 0 || strcmp(canonical, name) != 0)
		return -1;
	memcpy(key->mdev, canonical, sizeof(key->mdev));
	return 0;
}

/* A device entry's hostdev: the cdev's function, from /sys/class/vfio-dev/vfioN -> .../BDF/vfio-dev/vfioN. */
static int hostdev_of_cdev(const vfg_context *ctx, oci_container *c, const char *path, const char *name, vfg_error *err)
{
	char logical[VFG_PATH_MAX], link[VFG_PATH_MAX], target[VFG_PATH_MAX];
	snprintf(logical, sizeof(logical), "/sys/class/vfio-dev/%s", name);
	if (vfg_host_path(ctx, logical, link, sizeof(link), err) < 0)
		return -1;
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return vfg_error_set(err, errno, path, "no vfio cdev %s in sysfs (%s)", name, logical);
	target[n] = '\0';
	char *marker = strstr(target, "/vfio-dev/");
	if (!marker)
		return vfg_error_set(err, 0, logical, "does not lead to a PCI function's vfio-dev/");
	*marker = '\0';
	const char *bdf = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	vfg_hostdev_spec key;
	if (hostdev_of_sysfs_name(bdf, &key) < 0)
		return vfg_error_set(err, 0, path, "%s leads to %s, neither a PCI function nor an mdev", logical, bdf);
	vfg_hostdev_spec *spec = spec_for(c, &key, err);
	if (!spec)
		return -1;
	spec->backend = VFG_BACKEND_IOMMUFD;
	return 0;
}

/* A group node's hostdevs: every member of the group bound to a vfio driver, or the mdev alone in it. */
static int hostdevs_of_group(const vfg_context *ctx, oci_container *c, const char *path, unsigned group, vfg_error *err)
{
	char logical[VFG_PATH_MAX], real[VFG_PATH_MAX];
	snprintf(logical, sizeof(logical), "/sys/kernel/iommu_groups/%u/devices", group);
	if (vfg_host_path(ctx, logical, real, sizeof(real), err) < 0)
		return -1;
	_cleanup_closedir_ DIR *dir = opendir(real);
	if (!dir)
		return vfg_error_set(err, errno, path, "no IOMMU group %u in sysfs (%s)", group, real);
	size_t found = 0;
	for (struct dirent *entry; (entry = readdir(dir));) {
		vfg_hostdev_spec key;
		vfg_pci_function fn;
		if (entry->d_name[0] == '.' || hostdev_of_sysfs_name(entry->d_name, &key) < 0)
			continue;
		/* An mdev exists only while its vendor driver has it (mdev.c checks the rest). */
		if (!key.mdev[0] && vfg_pci_function_read(ctx, &key.addr, &fn, err) < 0)
			return -1;
		if (!key.mdev[0] && !fn.vfio_dev && strcmp(fn.driver, "vfio-pci") != 0)
			continue;
		vfg_hostdev_spec *spec = spec_for(c, &key, err);
		if (!spec)
			return -1;
		spec->backend = VFG_BACKEND_LEGACY;
		found++;
	}
	if (!found)
		return vfg_error_set(err, 0, path, "IOMMU group %u has no function bound to vfio", group);
	return 0;
}

/* linux.devices entries under /dev/vfio: a group or a cdev names hostdevs; the container is shared. */
static int parse_devices(const vfg_context *ctx, oci_container *c, const char *where, vfg_error *err)
{
	json_object *linux_, *devices;
	if (json_typed_member(c->config, "linux", json_type_object, where, "linux", &linux_, err) < 0 ||
	    json_typed_member(linux_, "devices", json_type_array, where, "linux.devices", &devices, err) < 0)
		return -1;
	for (size_t i = 0; devices && i < json_object_array_length(devices); i++) {
		const char *path;
		json_object *entry = json_object_array_get_idx(devices, i);
		if (!json_object_is_type(entry, json_type_object))
			return vfg_error_set(err, 0, where, "linux.devices[%zu] is not an object", i);
		if (json_string_member(entry, "path", where, &path, err) < 0)
			return -1;
		if (!path || strncmp(path, "/dev/vfio/", 10) != 0)
			continue;
		const char *rest = path + 10;
		char *end;
		if (strcmp(rest, "vfio") == 0)
			continue;
		if (strncmp(rest, "devices/vfio", 12) == 0 && isdigit((unsigned char)rest[12]) &&
		    !strchr(rest + 8, '/')) {
			if (hostdev_of_cdev(ctx, c, path, rest + 8, err) < 0)
				return -1;
			continue;
		}
		errno = 0;
		unsigned long group = strtoul(rest, &end, 10);
		if (!isdigit((unsigned char)rest[0]) || *end || errno || group > UINT_MAX)
			return vfg_error_set(err, 0, path, "a /dev/vfio entry vfguard does not know (linux.devices)");
		if (hostdevs_of_group(ctx, c, path, (unsigned)group, err) < 0)
			return -1;
	}
	return 0;
}

/* A key of vfguard's namespace it does not read: a mistake, not something to pass over (a trial's "acess"). */
static int unknown_annotation(json_object *annotations, vfg_error *err)
{
	if (!annotations)
		return 0;
	json_object_object_foreach(annotations, key, value)
	{
		(void)value;
		if (strncmp(key, "org.vfguard.", strlen("org.vfguard.")) == 0 &&
		    strcmp(key, ANNOTATION_HOSTDEVS) != 0 && strcmp(key, ANNOTATION_BACKEND) != 0 &&
		    strcmp(key, ANNOTATION_ACCESS) != 0 && strcmp(key, ANNOTATION_MEMORY) != 0 &&
		    strcmp(key, ANNOTATION_VIOMMU) != 0)
			return vfg_error_set(err, 0, key,
					     "not an annotation vfguard reads (" ANNOTATION_HOSTDEVS
					     ", " ANNOTATION_BACKEND ", " ANNOTATION_ACCESS ", " ANNOTATION_MEMORY
					     ", " ANNOTATION_VIOMMU ")");
	}
	return 0;
}

/* org.vfguard.hostdevs: hostdev specs as the CLI takes them, separated by white space or ';'. */
static int parse_hostdev_annotation(const vfg_context *ctx, oci_container *c, const char *backend_default,
				    const char *access_default, vfg_error *err)
{
	const char *list;
	if (annotation(c, ANNOTATION_HOSTDEVS, &list, err) < 0)
		return -1;
	if (!list)
		return 0;
	char text[256];
	bool annotated[MAX_HOSTDEVS] = {false};
	for (const char *p = list; *p;) {
		while (*p && (isspace((unsigned char)*p) || *p == ';'))
			p++;
		size_t length = strcspn(p, " \t\n;");
		if (!length)
			break;
		if (length >= sizeof(text))
			return vfg_error_set(err, 0, ANNOTATION_HOSTDEVS, "an entry longer than %zu characters",
					     sizeof(text) - 1);
		memcpy(text, p, length);
		text[length] = '\0';
		p += length;
		/* The annotation's defaults go where the entry says nothing itself. */
		char full[sizeof(text) + 64];
		snprintf(full, sizeof(full), "%s%s%s%s%s", text,
			 backend_default && !strstr(text, "backend=") ? ",backend=" : "",
			 backend_default && !strstr(text, "backend=") ? backend_default : "",
			 access_default && !strstr(text, "access=") ? ",access=" : "",
			 access_default && !strstr(text, "access=") ? access_default : "");
		vfg_hostdev_spec parsed;
		if (vfg_hostdev_spec_parse(ctx, full, &parsed, err) < 0) {
			vfg_error_prefix(err, "annotation %s", ANNOTATION_HOSTDEVS);
			return -1;
		}
		vfg_hostdev_spec *spec = spec_for(c, &parsed, err);
		if (!spec)
			return -1;
		/* Two entries for one function: which options hold? */
		if (annotated[spec - c->specs]) {
			char bdf[VFG_HOSTDEV_NAME_MAX];
			return vfg_error_set(err, 0, ANNOTATION_HOSTDEVS, "%s is named twice",
					     vfg_hostdev_name(&parsed, bdf));
		}
		annotated[spec - c->specs] = true;
		/* A device entry fixed the backend; the annotation may not contradict it. */
		if (spec->backend != VFG_BACKEND_AUTO && parsed.backend != VFG_BACKEND_AUTO &&
		    spec->backend != parsed.backend)
			return vfg_error_set(err, 0, ANNOTATION_HOSTDEVS,
					     "%s: backend=%s, but linux.devices gives it the %s node", text,
					     vfg_backend_name(parsed.backend), vfg_backend_name(spec->backend));
		if (parsed.backend == VFG_BACKEND_AUTO)
			parsed.backend = spec->backend;
		*spec = parsed;
	}
	return 0;
}

static int parse_config(const vfg_context *ctx, oci_container *c, vfg_error *err)
{
	char where[VFG_PATH_MAX];
	if (!c->bundle || c->bundle[0] != '/')
		return vfg_error_set(err, 0, c->id, "the state names no absolute bundle directory");
	if (snprintf(where, sizeof(where), "%s/config.json", c->bundle) >= (int)sizeof(where))
		return vfg_error_set(err, ENAMETOOLONG, c->bundle, "bundle path too long");
	/* the same strict reader as the state's: a runtime that reads it otherwise may see another document */
	if (json_strict_read_file(where, &c->config, err) < 0)
		return -1;
	json_object *config_annotations;
	if (json_typed_member(c->config, "annotations", json_type_object, where, "annotations", &config_annotations,
			      err) < 0)
		return -1;
	/*
	 * The state's annotations are config.json's (runtime.md "State"), and
	 * "if no annotations were provided then this property MAY either be
	 * absent or an empty map": an empty map says none, not that config.json's
	 * are void (a runtime that writes {} would drop org.vfguard.memory).
	 */
	if (!c->annotations || json_object_object_length(c->annotations) == 0)
		c->annotations = config_annotations;

	/* vfguard's own namespace: a key it does not know is a mistake, not something to pass over (a trial's "acess").
	 */
	if (unknown_annotation(c->annotations, err) < 0)
		return -1;
	const char *backend, *access, *memory, *viommu;
	if (annotation(c, ANNOTATION_BACKEND, &backend, err) < 0 ||
	    annotation(c, ANNOTATION_ACCESS, &access, err) < 0 || annotation(c, ANNOTATION_MEMORY, &memory, err) < 0 ||
	    annotation(c, ANNOTATION_VIOMMU, &viommu, err) < 0)
		return -1;
	vfg_backend unused;
	const char *bad = NULL;
	if (backend && vfg_backend_parse(backend, &unused, err) < 0)
		bad = ANNOTATION_BACKEND;
	else if (access && vfg_access_parse(access, &c->access, err) < 0)
		bad = ANNOTATION_ACCESS;
	else if (memory && vfg_size_parse(memory, &c->domain.memory, err) < 0)
		bad = ANNOTATION_MEMORY;
	if (bad) {
		vfg_error_prefix(err, "annotation %s", bad);
		return -1;
	}
	if (viommu) {
		if (strcmp(viommu, "true") != 0 && strcmp(viommu, "false") != 0)
			return vfg_error_set(err, 0, ANNOTATION_VIOMMU, "'%s': expected true or false", viommu);
		c->domain.viommu = strcmp(viommu, "true") == 0;
	}

	snprintf(c->config_path, sizeof(c->config_path), "%s", where);
	if (parse_user(c, where, err) < 0 || map_user_namespace(c, where, err) < 0 ||
	    parse_devices(ctx, c, where, err) < 0 ||
	    oci_device_rules_parse(c->config, where, &c->device_rules, err) < 0 ||
	    parse_hostdev_annotation(ctx, c, backend, access, err) < 0)
		return -1;
	return 0;
}

/*
 * A runtime given linux.resources.devices attaches its own device program to
 * the container's cgroup before prestart (crun 1.21: libcrun_cgroup_enter,
 * then the prestart hooks; its program allows its defaults and that list).
 * Programs AND, so vfguard can neither extend it nor add its own without
 * taking from the container what the runtime allows and vfguard's base list
 * does not ('c *:* m', /dev/tty, /dev/console, /dev/net/tun). The runtime's
 * list is then the device cgroup: every path node must be allowed there.
 */
static int runtime_allows_path_nodes(const vfg_plan *plan, void *data, vfg_error *err)
{
	const oci_container *c = data;
	for (size_t i = 0; i < vfg_plan_n_nodes(plan); i++) {
		const vfg_node *node = vfg_plan_node(plan, i);
		if (node->access != VFG_ACCESS_PATH || oci_device_rules_allow_rw(&c->device_rules, node->rdev))
			continue;
		unsigned maj = major(node->rdev), min = minor(node->rdev);
		return vfg_error_set(
			err, EPERM, c->config_path,
			"linux.resources.devices does not allow %s (c %u:%u rw): the runtime's own device "
			"program denies it, and vfguard cannot extend another program; add {\"allow\": true, "
			"\"type\": \"c\", \"major\": %u, \"minor\": %u, \"access\": \"rw\"}",
			node->path, maj, min, maj, min);
	}
	return 0;
}

/* The configured labelers without cgroup, into @list: the runtime confines the cgroup itself. */
static void labelers_without_cgroup(const vfg_context *ctx, char *list, size_t size)
{
	static const char key[] = "labelers=";
	char configured[512];
	snprintf(configured, sizeof(configured), "%s", vfg_config_get(vfg_context_config(ctx), "labelers"));
	snprintf(list, size, "%s", key);
	char *saveptr = NULL;
	for (char *name = strtok_r(configured, " \t,", &saveptr); name; name = strtok_r(NULL, " \t,", &saveptr))
		if (strcmp(name, "cgroup") != 0)
			snprintf(list + strlen(list), size - strlen(list), "%s%s",
				 strlen(list) > sizeof(key) - 1 ? "," : "", name);
}

static int prestart(oci_container *c, vfg_error *err)
{
	vfg_context *ctx = hook_context_new(NULL, err);
	if (!ctx)
		return -1;
	int r = parse_config(ctx, c, err);
	if (r == 0 && c->n_specs > 0 && c->device_rules.present) {
		char list[600];
		labelers_without_cgroup(ctx, list, sizeof(list));
		const char *const overrides[] = {list, NULL};
		vfg_context_free(ctx);
		ctx = hook_context_new(overrides, err);
		if (!ctx)
			return -1;
	}
	if (r == 0 && c->n_specs > 0) {
		if (c->pid <= 0)
			r = vfg_error_set(err, 0, c->id, "the prestart state carries no container pid");
		c->domain.pid = c->pid;
		c->domain.hostdevs = c->specs;
		c->domain.n_hostdevs = c->n_specs;
		if (r == 0)
			r = hook_apply_checked(ctx, &c->domain,
					       c->device_rules.present ? runtime_allows_path_nodes : NULL, c, err);
	}
	vfg_context_free(ctx);
	return r;
}

static int poststop(oci_container *c, vfg_error *err)
{
	vfg_context *ctx = hook_context_new(NULL, err);
	if (!ctx) {
		/* A runtime does not run poststop again: say what is left, and how it goes (as the libvirt hook does).
		 */
		vfg_error_prefix(err,
				 "container %s: nothing was revoked: whatever it holds stays granted until vfguard "
				 "revoke --domain %s runs with a configuration it can read",
				 c->id, VFG_NAME_SHELL(c->id));
		return -1;
	}
	int r = hook_revoke(ctx, c->id, err);
	vfg_context_free(ctx);
	return r;
}

/* The stage: the hooks.d entry's argument, else the state's status (runtime.md: created, stopped). */
static int stage_of(const oci_container *c, const char *arg, oci_stage *stage, vfg_error *err)
{
	const char *name = arg;
	if (!name) {
		if (!c->status)
			return vfg_error_set(err, 0, c->id, "no stage argument and no \"status\" in the state");
		if (strcmp(c->status, "created") == 0)
			name = "prestart";
		else if (strcmp(c->status, "stopped") == 0)
			name = "poststop";
		else
			return vfg_error_set(err, 0, c->id,
					     "status \"%s\" is neither created (prestart) nor stopped (poststop)",
					     c->status);
	}
	if (strcmp(name, "prestart") == 0) {
		/*
		 * A runtime says stopped once the container's process is gone
		 * (runtime.md, "State"): granting it devices would leave grants
		 * for nobody, held until a poststop that may never come.
		 */
		if (c->status && strcmp(c->status, "stopped") == 0)
			return vfg_error_set(err, 0, c->id,
					     "prestart of a container whose status is stopped: its process is gone, so "
					     "there is nothing to grant its devices to; nothing was changed");
		*stage = OCI_STAGE_PRESTART;
	} else if (strcmp(name, "poststop") == 0)
		*stage = OCI_STAGE_POSTSTOP;
	else
		return vfg_error_set(err, 0, name, "not a stage this hook serves (prestart, poststop)");
	return 0;
}

static const char oci_hook_help[] = "Usage: vfguard-oci-hook [prestart|poststop] < CONTAINER-STATE\n"
				    "\n"
				    "An OCI runtime hook (runtime-spec config.md, \"POSIX-platform Hooks\"): the\n"
				    "runtime passes the container state JSON on standard input. prestart grants\n"
				    "the VFIO devices of the bundle's config.json (linux.devices, and the\n"
				    "org.vfguard.* annotations) to the container's process; poststop takes\n"
				    "everything back. Without an argument the state's status decides: created\n"
				    "is prestart, stopped is poststop. The hooks.d file vfguard installs\n"
				    "registers it for both stages. $VFGUARD_ROOT and $VFGUARD_PLUGIN_DIR are\n"
				    "read as by vfguard. docs/hooks.md; vfguard(8).\n"
				    "\n"
				    "Exit status: 0 done, 1 failed (the reason on standard error), 2 usage.\n";

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(oci_hook_help, stdout);
		return fflush(stdout) == 0 ? HOOK_EXIT_OK : HOOK_EXIT_FAILED;
	}
	if (argc > 2) {
		fprintf(stderr, "vfguard: OCI hook: expected [prestart|poststop] and the container state on stdin\n");
		return HOOK_EXIT_USAGE;
	}
	vfg_error err = {0};
	oci_container container = {0};
	char *text = NULL;
	size_t size = 0;
	oci_stage stage = OCI_STAGE_PRESTART;
	int r = vfg_fd_read_all(STDIN_FILENO, "standard input", HOOK_INPUT_MAX, &text, &size, &err);
	if (r == 0)
		r = parse_state(&container, text, size, &err);
	if (r == 0)
		r = stage_of(&container, argc == 2 ? argv[1] : NULL, &stage, &err);
	if (r == 0) {
		snprintf(container.domain.name, sizeof(container.domain.name), "%s", container.id);
		hook_notices_name(container.id);
		r = stage == OCI_STAGE_PRESTART ? prestart(&container, &err) : poststop(&container, &err);
	}
	container_free(&container);
	free(text);
	if (r < 0) {
		hook_report(&err);
		return HOOK_EXIT_FAILED;
	}
	return HOOK_EXIT_OK;
}
