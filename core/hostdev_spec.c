/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A hostdev as the CLI names it:
 * "BDF[,backend=...][,access=...][,vf-token=UUID][,managed=yes|no][,driver=NAME]", the BDF also as
 * its sysfs path; or a mediated device, "mdev=UUID" or "/sys/bus/mdev/devices/UUID", with backend= and
 * access= only.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/*
 * Where a function's directory may be named from: the bus's list of its
 * devices, or the device tree itself (what `readlink -f` of the first
 * gives). A path elsewhere in sysfs that happens to lead there (a driver's
 * or an IOMMU group's link) is not how a function is named.
 */
static const char *const sysfs_function_parents[] = {"/sys/bus/pci/devices/", "/sys/devices/"};

/* A "." or ".." component (the path is named as given, never cleaned up): its name, or NULL. */
static const char *dot_component(const char *path)
{
	for (const char *at = path; *at;) {
		at += strspn(at, "/");
		size_t length = strcspn(at, "/");
		if (length == 1 && at[0] == '.')
			return ".";
		if (length == 2 && at[0] == '.' && at[1] == '.')
			return "..";
		at += length;
	}
	return NULL;
}

/* A function named by its sysfs path: the directory must be the one /sys/bus/pci/devices/BDF leads to. */
static int addr_from_sysfs_path(const vfg_context *ctx, const char *path, vfg_pci_addr *addr, vfg_error *err)
{
	if (strncmp(path, "/sys/", 5) != 0)
		return vfg_error_set(err, 0, path, "not a PCI address, nor a sysfs path (/sys/...)");
	const char *dot = dot_component(path);
	if (dot)
		return vfg_error_set(err, 0, path, "a '%s' component: name the function's sysfs directory as it is",
				     dot);
	bool under = false;
	for (size_t i = 0; i < sizeof(sysfs_function_parents) / sizeof(sysfs_function_parents[0]); i++)
		under = under || strncmp(path, sysfs_function_parents[i], strlen(sysfs_function_parents[i])) == 0;
	if (!under)
		return vfg_error_set(err, 0, path, "not under /sys/bus/pci/devices or /sys/devices");

	char trimmed[VFG_PATH_MAX];
	snprintf(trimmed, sizeof(trimmed), "%s", path);
	for (size_t len = strlen(trimmed); len > 1 && trimmed[len - 1] == '/'; len--)
		trimmed[len - 1] = '\0';
	const char *name = strrchr(trimmed, '/') + 1;
	if (strlen(name) != VFG_PCI_ADDR_STRLEN - 1 || vfg_pci_addr_parse(name, addr, NULL) < 0)
		return vfg_error_set(err, 0, path, "sysfs path does not end in a PCI function DDDD:BB:DD.F");

	char real[VFG_PATH_MAX], canonical[VFG_PATH_MAX], bdf[VFG_PCI_ADDR_STRLEN], logical[64];
	snprintf(logical, sizeof(logical), "/sys/bus/pci/devices/%s", vfg_pci_addr_format(addr, bdf));
	if (vfg_host_path(ctx, trimmed, real, sizeof(real), err) < 0 ||
	    vfg_host_path(ctx, logical, canonical, sizeof(canonical), err) < 0)
		return -1;

	struct stat given, expected;
	if (stat(real, &given) < 0) {
		if (errno == ENOENT)
			return vfg_error_set(err, 0, real, "no such PCI function on this host");
		return vfg_error_set(err, errno, real, "cannot find the PCI function");
	}
	if (stat(canonical, &expected) < 0)
		return vfg_error_set(err, errno, canonical, "no such PCI function on this host");
	if (given.st_dev != expected.st_dev || given.st_ino != expected.st_ino)
		return vfg_error_set(err, 0, real, "is not the sysfs directory of PCI function %s", bdf);
	return 0;
}

static int apply_option(const char *key, const char *value, vfg_hostdev_spec *spec, vfg_error *err)
{
	if (strcmp(key, "backend") == 0)
		return vfg_backend_parse(value, &spec->backend, err);
	if (strcmp(key, "access") == 0)
		return vfg_access_parse(value, &spec->access, err);
	if (strcmp(key, "vf-token") == 0)
		return vfg_uuid_parse(value, spec->vf_token, err);
	if (strcmp(key, "managed") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return vfg_error_set(err, 0, value, "managed= takes yes or no");
		spec->managed = strcmp(value, "yes") == 0;
		return 0;
	}
	if (strcmp(key, "driver") == 0) {
		if (vfg_driver_name_check(value, err) < 0)
			return -1;
		snprintf(spec->driver, sizeof(spec->driver), "%s", value);
		return 0;
	}
	return vfg_error_set(err, 0, key,
			     "unknown hostdev option: expected backend=, access=, vf-token=, managed= or driver=");
}

/*
 * An mdev has no PCI function of its own: no VF to carry a token, and no
 * driver to rebind (its parent's mdev driver made it and stays bound).
 */
static int mdev_options_check(const char *text, const vfg_hostdev_spec *spec, vfg_error *err)
{
	if (spec->vf_token[0])
		return vfg_error_set(err, 0, text, "vf-token= is for an SR-IOV VF: an mdev has none");
	if (spec->managed)
		return vfg_error_set(err, 0, text,
				     "managed=yes: an mdev has no driver to detach and reattach (its parent's mdev "
				     "driver made it and stays bound)");
	if (spec->driver[0])
		return vfg_error_set(err, 0, text, "driver=%s: an mdev has no driver to rebind", spec->driver);
	return 0;
}

/* A sysfs path and every option: a longer text is no hostdev. */
#define HOSTDEV_SPEC_MAX (VFG_PATH_MAX + 128)

VFG_EXPORT int vfg_hostdev_spec_parse(const vfg_context *ctx, const char *text, vfg_hostdev_spec *spec, vfg_error *err)
{
	memset(spec, 0, sizeof(*spec));
	char excerpt[VFG_EXCERPT_SIZE];
	if (strlen(text) > HOSTDEV_SPEC_MAX)
		return vfg_error_set(err, 0, vfg_excerpt(text, excerpt), "longer than %d bytes, no hostdev is",
				     HOSTDEV_SPEC_MAX);
	_cleanup_free_ char *copy = strdup(text);
	if (!copy)
		return vfg_error_set(err, ENOMEM, text, "cannot parse hostdev");

	/* strtok_r skips empty fields: "BDF,," would read as "BDF". */
	if (text[0] && (text[0] == ',' || strstr(text, ",,") || text[strlen(text) - 1] == ','))
		return vfg_error_set(
			err, 0, text,
			"an empty hostdev option (two commas, or a comma at an end): options are backend=, access=, "
			"vf-token=, managed= and driver=");

	char *saveptr = NULL;
	char *device = strtok_r(copy, ",", &saveptr);
	if (!device)
		return vfg_error_set(err, 0, text,
				     "empty hostdev: expected BDF[,backend=..][,access=..][,vf-token=..]");
	int r = vfg_mdev_spec_named(device) ? vfg_mdev_spec_parse(device, spec, err)
		: device[0] == '/'          ? addr_from_sysfs_path(ctx, device, &spec->addr, err)
					    : vfg_pci_addr_parse(device, &spec->addr, err);
	if (r < 0)
		return -1;

	unsigned seen = 0;
	for (char *option = strtok_r(NULL, ",", &saveptr); option; option = strtok_r(NULL, ",", &saveptr)) {
		char *eq = strchr(option, '=');
		if (!eq)
			return vfg_error_set(err, 0, text, "hostdev option '%s' needs a value (KEY=VALUE)", option);
		*eq = '\0';
		const char *keys[] = {"backend", "access", "vf-token", "managed", "driver"};
		for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(option, keys[i]) == 0) {
				if (seen & (1u << i))
					return vfg_error_set(err, 0, text, "hostdev option '%s' given twice", option);
				seen |= 1u << i;
			}
		if (apply_option(option, eq + 1, spec, err) < 0) {
			vfg_error_prefix(err, "hostdev %s", text);
			return -1;
		}
	}
	if (spec->mdev[0])
		return mdev_options_check(text, spec, err);
	/* Only a managed hostdev is bound; a driver named for another would be silently ignored. */
	if (spec->driver[0] && !spec->managed)
		return vfg_error_set(err, 0, text,
				     "driver=%s is the driver a managed hostdev is bound to: add managed=yes",
				     spec->driver);
	return 0;
}
