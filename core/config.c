/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The configuration: KEY = VALUE lines, '#' comments. Every key and its
 * default lives in the table below and nowhere else; docs/config.md lists
 * them for people.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

struct config_key {
	const char *key;
	const char *default_value;
};

static const struct config_key config_keys[] = {
	/* Where vfguard-NAME.so modules are looked for ("" = the built-in directory). */
	{"plugin_dir", ""},
	/* Labelers in grant order; revoke runs in reverse. The namespace component always runs last. */
	{"labelers", "dac cgroup selinux apparmor"},
	/* The journal (lost at reboot with the changes it records). */
	{"state_dir", "/run/vfguard"},
	/* What must outlive a reboot (SELinux MCS allocations). */
	{"data_dir", "/var/lib/vfguard"},
	/* auto: label when SELinux is enabled; force: label anyway (images, containers, tests); off: never. */
	{"selinux", "auto"},
	/* libvirt's svirt types: the VM process and its exclusive images and devices. */
	{"selinux_process_type", "svirt_t"},
	{"selinux_image_type", "svirt_image_t"},
	/* The categories allocated pairs come from (refpolicy's MCS policy has c0..c1023). */
	{"selinux_mcs_categories", "c0.c1023"},
	/* Shared nodes never carry one VM's categories: the policy's type at s0. */
	{"selinux_shared_label", "system_u:object_r:vfio_device_t:s0"},
	/* A binary policy for audit to check instead of the loaded one ("" for the loaded one). */
	{"selinux_policy", ""},
	/*
	 * What vfguard's v2 device program allows before any grant, so the VM keeps its
	 * basic devices: device paths (numbers read from the host's node; a missing one is
	 * skipped) or rules "c MAJ:MIN ACCESS", comma-separated. 136 is the Unix98 pty
	 * slave major (Documentation/admin-guide/devices.txt).
	 */
	{"cgroup_base_devices", "/dev/null, /dev/full, /dev/zero, /dev/random, /dev/urandom, /dev/ptmx, /dev/kvm, "
				"/dev/userfaultfd, c 136:* rw"},
	/* fail: apply refuses a cgroup where another device program acts; proceed: go on anyway. */
	{"cgroup_foreign_programs", "fail"},
	/* Who opens the nodes for fd access, whose fds the VM must use ("": vfguard's own context). */
	{"selinux_manager_label", ""},
	/* Per-domain AppArmor rules files, included by the domain's profile. */
	{"apparmor_rules_dir", "/etc/apparmor.d/vfguard"},
	/* Locked memory (docs/memlock.md): added to the pinned guest RAM; libvirt's allowance is 1 GiB. */
	{"memlock_extra", "1G"},
	/* Who iommufd charges: auto (the process when every iommufd hostdev has fd access), process, user. */
	{"memlock_iommufd_accounting", "auto"},
	/* What a failed iommufd RLIMIT_MODE=1 means to the fd broker: required (an error), warn, off (not tried). */
	{"rlimit_mode", "required"},
	/* The domains' profiles (libvirt's virt-aa-helper writes them here), replaced after a change when loaded. */
	{"apparmor_profile_dir", "/etc/apparmor.d/libvirt"},
	/* The program that replaces a loaded profile (run as it is, never under the root prefix). */
	{"apparmor_parser", "/sbin/apparmor_parser"},
	/*
	 * The libvirt hook's USER:GROUP for QEMU when neither the domain's dac
	 * seclabel nor qemu.conf names it: libvirt's built-in default, which is
	 * Debian's libvirt-qemu (its qemu.conf shows `#user = "libvirt-qemu"`).
	 */
	{"libvirt_qemu_user", "libvirt-qemu:libvirt-qemu"},
};

#define N_CONFIG_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

struct vfg_config {
	char *values[N_CONFIG_KEYS]; /* NULL: the default */
};

static int config_key_index(const char *key)
{
	for (size_t i = 0; i < N_CONFIG_KEYS; i++)
		if (strcmp(config_keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

vfg_config *vfg_config_new(void)
{
	return calloc(1, sizeof(vfg_config));
}

void vfg_config_free(vfg_config *config)
{
	if (!config)
		return;
	for (size_t i = 0; i < N_CONFIG_KEYS; i++)
		free(config->values[i]);
	free(config);
}

VFG_EXPORT const char *vfg_config_get(const vfg_config *config, const char *key)
{
	int i = config_key_index(key);
	if (i < 0)
		return NULL;
	return config->values[i] ? config->values[i] : config_keys[i].default_value;
}

VFG_EXPORT const char *vfg_config_key(size_t index, const char **default_value)
{
	if (index >= N_CONFIG_KEYS)
		return NULL;
	if (default_value)
		*default_value = config_keys[index].default_value;
	return config_keys[index].key;
}

int vfg_config_set(vfg_config *config, const char *key, const char *value, vfg_error *err)
{
	int i = config_key_index(key);
	if (i < 0)
		return vfg_error_set(err, 0, key, "unknown configuration key");
	char *copy = strdup(value);
	if (!copy)
		return vfg_error_set(err, ENOMEM, key, "cannot store configuration value");
	free(config->values[i]);
	config->values[i] = copy;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int vfg_config_load(vfg_config *config, const char *path, bool optional, vfg_error *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && optional)
			return 0;
		return vfg_error_set(err, errno, path, "cannot read configuration");
	}

	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *text = trim(line);
		if (!*text)
			continue;
		char *eq = strchr(text, '=');
		if (!eq)
			return vfg_error_set(err, 0, path, "line %u: expected KEY = VALUE", lineno);
		*eq = '\0';
		char *key = trim(text), *value = trim(eq + 1);
		if (config_key_index(key) < 0)
			return vfg_error_set(err, 0, path, "line %u: unknown key '%s'", lineno, key);
		if (vfg_config_set(config, key, value, err) < 0)
			return -1;
	}
	if (ferror(f))
		return vfg_error_set(err, EIO, path, "cannot read configuration");
	return 0;
}
