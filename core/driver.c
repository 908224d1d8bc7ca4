/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Managed mode: moving a PCI function between its host driver and vfio-pci.
 *
 * The driver core offers three sysfs files for it (Documentation/ABI/testing/
 * sysfs-bus-pci): the function's driver_override names the only driver that
 * may bind it from then on; DRIVER/unbind releases it; /sys/bus/pci/
 * drivers_probe makes the core match it again, and with the override set that
 * match can only be the named driver. Writing "\n" to driver_override clears
 * it (driver_set_override() in drivers/base/driver.c), and DRIVER/bind gives
 * the function back to one driver by name.
 *
 * The original driver and override are kept in STATE/drivers/BDF before the
 * first write, so reattach (also from another process, after a crash) knows
 * where the function came from.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "internal.h"
#include "journal.h"
#include "vfio_users.h"
#include "vfg_fault.h"

/* What driver_override reads when unset (driver_override_show() in drivers/pci/pci-sysfs.c). */
#define DRIVER_OVERRIDE_UNSET "(null)"

typedef struct driver_record {
	char driver[VFG_DRIVER_MAX]; /* bound before the detach, "" for none */
	char override[VFG_DRIVER_MAX]; /* driver_override before the detach, "" when unset */
} driver_record;

static int function_attribute_path(const vfg_context *ctx, const char *bdf, const char *attribute, char *buf,
				   size_t size, vfg_error *err)
{
	char logical[128];
	snprintf(logical, sizeof(logical), "/sys/bus/pci/devices/%s/%s", bdf, attribute);
	return vfg_host_path(ctx, logical, buf, size, err);
}

/*
 * Write @value to the sysfs attribute at @path (ROOT + a logical path). O_TRUNC
 * as a shell's "echo > file" does: sysfs ignores it, a generated tree then
 * holds the last write. Opened beneath the root prefix (openat2(2)
 * RESOLVE_BENEATH, Linux 5.6): sysfs's own links are relative and stay in
 * it, and a tree under --root whose attribute is a link out of it is
 * refused rather than written through (EXDEV); on a host, "/" holds all.
 */
static int sysfs_write(const vfg_context *ctx, const char *path, const char *value, const char *bdf, vfg_error *err)
{
	size_t root_length = strcmp(ctx->root, "/") == 0 ? 0 : strlen(ctx->root);
	if (strncmp(path, ctx->root, root_length) != 0 || path[root_length] != '/')
		return vfg_error_set(err, EINVAL, path, "not under the root prefix %s", ctx->root);
	struct open_how how = {.flags = O_WRONLY | O_TRUNC | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	/*
	 * A lookup beneath a root that meets ".." (every sysfs link has them)
	 * fails with EAGAIN when a rename or mount happened anywhere meanwhile;
	 * openat2(2) leaves the retry to the caller (a trial: 75 in 200,000
	 * opens beside shells renaming files; test_driver provokes it).
	 */
	int opened = -1;
	for (int tries = 0; tries < 64; tries++) {
		opened = vfg_fault("driver.open")
				 ? -1
				 : (int)syscall(SYS_openat2, ctx->root_fd, path + root_length + 1, &how, sizeof(how));
		if (opened >= 0 || errno != EAGAIN)
			break;
	}
	_cleanup_close_ int fd = opened;
	if (fd < 0 && errno == EXDEV)
		return vfg_error_set(err, errno, path, "leads out of the root prefix %s (a link): not written (%s)",
				     ctx->root, bdf);
	if (fd < 0)
		return vfg_error_set(err, errno, path, "cannot open for writing (%s)", bdf);
	size_t length = strlen(value);
	ssize_t n = vfg_fault("driver.write") ? -1 : write(fd, value, length);
	if (n < 0)
		return vfg_error_set(err, errno, path, "the kernel refused '%s' for %s",
				     value[0] == '\n' ? "\\n" : value, bdf);
	if ((size_t)n != length)
		return vfg_error_set(err, EIO, path, "short write of '%s' for %s", value, bdf);
	return 0;
}

static int driver_directory(const vfg_context *ctx, const char *driver, const char *file, char *buf, size_t size,
			    vfg_error *err)
{
	char logical[160];
	snprintf(logical, sizeof(logical), "/sys/bus/pci/drivers/%s%s%s", driver, file[0] ? "/" : "", file);
	return vfg_host_path(ctx, logical, buf, size, err);
}

static int check_driver_loaded(const vfg_context *ctx, const char *driver, const char *bdf, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	struct stat st;
	if (driver_directory(ctx, driver, "", path, sizeof(path), err) < 0)
		return -1;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return vfg_error_set(err, 0, bdf, "driver %s is not loaded (no %s): modprobe %s first", driver, path, driver);
}

/*
 * Which drivers vfguard binds: those whose name says they are vfio drivers
 * (vfg_driver_is_vfio). A name alone is checked before any change, so a
 * host driver is never bound by mistake; that the driver really is one is
 * checked after the bind, where the kernel can show it (detach_verify).
 */
VFG_EXPORT int vfg_driver_name_check(const char *driver, vfg_error *err)
{
	size_t length = strlen(driver);
	bool plain = length > 0 && length < VFG_DRIVER_MAX;
	for (size_t i = 0; plain && i < length; i++)
		plain = (driver[i] >= 'a' && driver[i] <= 'z') || (driver[i] >= 'A' && driver[i] <= 'Z') ||
			(driver[i] >= '0' && driver[i] <= '9') || driver[i] == '_' || driver[i] == '-';
	if (!plain) {
		char excerpt[VFG_EXCERPT_SIZE];
		return vfg_error_set(err, EINVAL, vfg_excerpt(driver, excerpt),
				     "not a driver name (letters, digits, '_' and '-', at most %d)",
				     VFG_DRIVER_MAX - 1);
	}
	if (!vfg_driver_is_vfio(driver))
		return vfg_error_set(err, EINVAL, driver,
				     "is not a vfio driver (vfio-pci, or a variant named NAME_vfio_pci): "
				     "a function bound to it cannot be assigned");
	return 0;
}

static int record_path(const vfg_context *ctx, const char *bdf, char *buf, size_t size, vfg_error *err)
{
	char relative[64];
	snprintf(relative, sizeof(relative), "drivers/%s", bdf);
	return vfg_state_path(ctx, relative, buf, size, err);
}

/* 1 and the record when there is one, 0 when not. */
static int record_read(const vfg_context *ctx, const char *bdf, driver_record *record, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	_cleanup_free_ char *content = NULL;
	memset(record, 0, sizeof(*record));
	if (record_path(ctx, bdf, path, sizeof(path), err) < 0)
		return -1;
	/* What reattach binds comes from here: only a record root alone can have written is used. */
	int r = vfg_state_check_directories(ctx, "drivers", err);
	if (r == 0)
		r = vfg_state_read_all(path, &content, NULL, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return -1;
	char *state = NULL;
	bool have_driver = false, have_override = false;
	for (char *line = strtok_r(content, "\n", &state); line; line = strtok_r(NULL, "\n", &state)) {
		if (strncmp(line, "driver=", 7) == 0 && strlen(line + 7) < sizeof(record->driver)) {
			snprintf(record->driver, sizeof(record->driver), "%s", line + 7);
			have_driver = true;
		} else if (strncmp(line, "override=", 9) == 0 && strlen(line + 9) < sizeof(record->override)) {
			snprintf(record->override, sizeof(record->override), "%s", line + 9);
			have_override = true;
		}
	}
	if (!have_driver || !have_override)
		return vfg_error_set(err, EINVAL, path, "is not a driver record (driver=NAME, override=NAME lines)");
	return 1;
}

static int record_write(const vfg_context *ctx, const char *bdf, const driver_record *record, vfg_error *err)
{
	char path[VFG_PATH_MAX], content[2 * VFG_DRIVER_MAX + 32];
	if (vfg_state_mkdir(ctx, "drivers", err) < 0 || record_path(ctx, bdf, path, sizeof(path), err) < 0)
		return -1;
	int n = snprintf(content, sizeof(content), "driver=%s\noverride=%s\n", record->driver, record->override);
	return vfg_file_replace(path, content, (size_t)n, err);
}

static int record_remove(const vfg_context *ctx, const char *bdf, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (record_path(ctx, bdf, path, sizeof(path), err) < 0)
		return -1;
	return vfg_file_remove(path, err);
}

int vfg_pci_driver_record_drop(const vfg_context *ctx, const vfg_pci_addr *addr, bool *dropped, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	driver_record record;
	vfg_pci_addr_format(addr, bdf);
	int have_record = record_read(ctx, bdf, &record, err);
	*dropped = have_record > 0;
	if (have_record <= 0)
		return have_record;
	return record_remove(ctx, bdf, err);
}

static int read_override(const vfg_context *ctx, const char *bdf, char *buf, size_t size, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (function_attribute_path(ctx, bdf, "driver_override", path, sizeof(path), err) < 0 ||
	    vfg_sysfs_read_line(path, buf, size, err) < 0)
		return -1;
	if (strcmp(buf, DRIVER_OVERRIDE_UNSET) == 0)
		buf[0] = '\0';
	return 0;
}

static int write_override(const vfg_context *ctx, const char *bdf, const char *driver, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (function_attribute_path(ctx, bdf, "driver_override", path, sizeof(path), err) < 0)
		return -1;
	return sysfs_write(ctx, path, driver[0] ? driver : "\n", bdf, err);
}

/*
 * Give driver_override back its recorded value, writing only when it has
 * another: a function that vfguard found on its driver already and left
 * alone (managed, already on vfio-pci) keeps its file as it was.
 */
static int restore_override(const vfg_context *ctx, const char *bdf, const char *wanted, vfg_error *err)
{
	char now[VFG_DRIVER_MAX];
	if (read_override(ctx, bdf, now, sizeof(now), err) < 0)
		return -1;
	return strcmp(now, wanted) == 0 ? 0 : write_override(ctx, bdf, wanted, err);
}

static int unbind(const vfg_context *ctx, const char *bdf, const char *driver, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (driver_directory(ctx, driver, "unbind", path, sizeof(path), err) < 0)
		return -1;
	return sysfs_write(ctx, path, bdf, bdf, err);
}

static int bind(const vfg_context *ctx, const char *bdf, const char *driver, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (check_driver_loaded(ctx, driver, bdf, err) < 0 ||
	    driver_directory(ctx, driver, "bind", path, sizeof(path), err) < 0)
		return -1;
	return sysfs_write(ctx, path, bdf, bdf, err);
}

static int probe(const vfg_context *ctx, const char *bdf, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (vfg_host_path(ctx, "/sys/bus/pci/drivers_probe", path, sizeof(path), err) < 0)
		return -1;
	return sysfs_write(ctx, path, bdf, bdf, err);
}

static const char *driver_or_none(const char *driver)
{
	return driver[0] ? driver : "no driver";
}

/*
 * A function whose driver_override names a driver matches no other (the
 * kernel's pci_match_device() checks the override first, for drivers_probe
 * and for a write to a driver's bind alike): an original override that is
 * not the original driver (set after that driver bound) would make the
 * bind back fail. It is cleared for the bind and written after it.
 */
static bool override_after_binding(const driver_record *record)
{
	return record->driver[0] && record->override[0] && strcmp(record->override, record->driver) != 0;
}

/* The override while the function is (re)bound to @record's driver; @rebind false: no bind, the recorded one. */
static const char *override_while_binding(const driver_record *record, bool rebind)
{
	return rebind && override_after_binding(record) ? "" : record->override;
}

/* Put the function back as @record says. */
static int detach_restore(const vfg_context *ctx, const vfg_pci_addr *addr, const driver_record *record, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_pci_function fn;
	vfg_pci_addr_format(addr, bdf);
	if (vfg_pci_function_read(ctx, addr, &fn, err) < 0)
		return -1;
	bool rebind = strcmp(fn.driver, record->driver) != 0;
	if (write_override(ctx, bdf, override_while_binding(record, rebind), err) < 0)
		return -1;
	if (rebind && ((fn.driver[0] && unbind(ctx, bdf, fn.driver, err) < 0) ||
		       (record->driver[0] && bind(ctx, bdf, record->driver, err) < 0)))
		return -1;
	if (rebind && override_after_binding(record) && write_override(ctx, bdf, record->override, err) < 0)
		return -1;
	return record_remove(ctx, bdf, err);
}

/* After a detach went wrong: undo it, and say in @err (which keeps the cause) whether that worked. */
static void detach_undo(const vfg_context *ctx, const vfg_pci_addr *addr, const driver_record *record, vfg_error *err)
{
	vfg_error undo = {0};
	if (detach_restore(ctx, addr, record, &undo) < 0)
		vfg_error_prefix(err, "detach failed and could not be undone (%s); the cause", undo.message);
	else
		vfg_error_prefix(err, "detach undone, back to %s; the cause", driver_or_none(record->driver));
}

/*
 * Since Linux 6.1 every vfio device, vfio-pci's and each variant's, is a
 * struct device of the vfio-dev class (/sys/class/vfio-dev) and shows
 * vfio-dev/vfioN under its function (core/enumerate.c). Where the kernel has
 * the class, a function its new driver gave no vfio-dev/ is on no vfio
 * driver, whatever the name said; older kernels show nothing, and the name
 * is all there is.
 */
static int check_bound_as_vfio(const vfg_context *ctx, const vfg_pci_function *fn, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN], class_dir[VFG_PATH_MAX];
	struct stat st;
	vfg_pci_addr_format(&fn->addr, bdf);
	if (fn->vfio_dev || vfg_host_path(ctx, "/sys/class/vfio-dev", class_dir, sizeof(class_dir), NULL) < 0 ||
	    stat(class_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	return vfg_error_set(err, 0, bdf,
			     "%s took it but gave it no vfio-dev/ (the kernel has %s): %s is no vfio driver",
			     fn->driver, class_dir, fn->driver);
}

/* After the kernel rebound the function: is it where we asked, and may userspace own its group? */
static int detach_verify(vfg_context *ctx, const vfg_pci_addr *addr, const char *driver, bool check_viable,
			 vfg_pci_function *fn, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_pci_addr_format(addr, bdf);
	if (vfg_pci_function_read(ctx, addr, fn, err) < 0)
		return -1;
	if (strcmp(fn->driver, driver) != 0)
		return vfg_error_set(err, 0, bdf, "%s did not take it after drivers_probe (now %s)", driver,
				     driver_or_none(fn->driver));
	if (check_bound_as_vfio(ctx, fn, err) < 0)
		return -1;
	if (!check_viable)
		return 0;
	vfg_iommu_group group;
	if (vfg_iommu_group_read(ctx, addr, &group, err) < 0)
		return -1;
	int r = vfg_iommu_group_check_viable(&group, addr, err);
	free(group.members);
	return r;
}

/*
 * The virtfn links of an SR-IOV PF, one per VF enabled (pci_iov_sysfs_link()
 * in drivers/pci/iov.c), named in @list ("0000:3b:02.0, ..."); their count.
 */
static size_t enabled_vfs(const vfg_context *ctx, const char *bdf, char *list, size_t size)
{
	char dir[VFG_PATH_MAX], logical[64];
	size_t count = 0, used = 0;
	list[0] = '\0';
	snprintf(logical, sizeof(logical), "/sys/bus/pci/devices/%s", bdf);
	if (vfg_host_path(ctx, logical, dir, sizeof(dir), NULL) < 0)
		return 0;
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *entry;
	while (d && (entry = readdir(d))) {
		char vf[64];
		if (strncmp(entry->d_name, "virtfn", 6) != 0 ||
		    vfg_sysfs_link_name_at(dirfd(d), dir, entry->d_name, vf, sizeof(vf), NULL) < 0)
			continue;
		used = vfg_strlcatf(list, size, used, "%s%s", count ? ", " : "", vf);
		count++;
	}
	return count;
}

/*
 * What no vfio driver can take, refused before anything is written: a bridge
 * (vfio_pci_core_register_device() in drivers/vfio/pci/vfio_pci_core.c takes
 * only a normal, type 0, header), and an SR-IOV PF with VFs enabled, which it
 * refuses too ("Cannot bind to PF with SR-IOV enabled") and whose host driver
 * disables SR-IOV when it lets go: its VFs, and whatever holds them, would go.
 */
static int detach_possible(const vfg_context *ctx, const vfg_pci_function *fn, const char *driver, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN], vfs[512];
	vfg_pci_addr_format(&fn->addr, bdf);
	if (fn->header_type != 0)
		return vfg_error_set(err, 0, bdf,
				     "is a PCI %s (header type %u): %s binds only normal (type 0) functions "
				     "(vfio_pci_core_register_device()); a bridge is no hostdev; nothing was changed",
				     fn->header_type == 1 ? "bridge" : "function of header type other than 0",
				     (unsigned)fn->header_type, driver);
	size_t n = enabled_vfs(ctx, bdf, vfs, sizeof(vfs));
	if (n > 0)
		return vfg_error_set(err, 0, bdf,
				     "is an SR-IOV PF with %zu VF%s enabled (%s): unbinding it from %s disables SR-IOV "
				     "and removes them, and %s refuses a PF with VFs enabled; to hand over the PF "
				     "itself, write 0 to its sriov_numvfs first; nothing was changed",
				     n, n > 1 ? "s" : "", vfs, driver_or_none(fn->driver), driver);
	return 0;
}

/*
 * Detach without the host lock, for the prepare of a managed hostdev, which
 * holds it with the function claimed (core/apply.c), and for
 * vfg_pci_detach. @check_viable: refuse, and undo, when the group would not
 * be viable; prepare leaves that to the plan after all its functions are
 * detached, since two functions of one group (a GPU and its audio) each
 * keep the other's group from being viable while on their host drivers.
 */
int vfg_pci_detach_unlocked(vfg_context *ctx, const vfg_pci_addr *addr, const char *driver, bool check_viable,
			    vfg_driver_binding *binding, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_pci_function fn;
	vfg_pci_addr_format(addr, bdf);
	memset(binding, 0, sizeof(*binding));
	binding->addr = *addr;
	if (!driver)
		driver = "vfio-pci";
	if (vfg_driver_name_check(driver, err) < 0 || vfg_pci_function_read(ctx, addr, &fn, err) < 0 ||
	    check_driver_loaded(ctx, driver, bdf, err) < 0)
		return -1;
	bool bound = strcmp(fn.driver, driver) == 0;
	if (!bound && detach_possible(ctx, &fn, driver, err) < 0)
		return -1;

	/* Refuse before touching anything when the rest of the group would keep it unusable. */
	if (!bound && check_viable) {
		vfg_iommu_group group;
		if (vfg_iommu_group_read(ctx, addr, &group, err) < 0)
			return -1;
		int viable = vfg_iommu_group_check_viable(&group, addr, err);
		free(group.members);
		if (viable < 0)
			return -1;
	}

	driver_record record;
	int have_record = record_read(ctx, bdf, &record, err);
	if (have_record < 0)
		return -1;
	/*
	 * A record of a detach whose function now sits on another driver than
	 * a vfio one and than the record's: someone rebound it by hand since
	 * (a trial moved it to iavf, and the revoke then put it on vfio-pci,
	 * the record's). The driver it has now is the one to give it back to.
	 * Not when it has none: a detach a crash cut between unbind and probe
	 * leaves it so, and the record is all that names its driver then.
	 */
	if (have_record && !bound && fn.driver[0] && strcmp(fn.driver, record.driver) != 0 &&
	    !vfg_pci_function_on_vfio(&fn))
		have_record = 0;
	if (!have_record) {
		snprintf(record.driver, sizeof(record.driver), "%s", fn.driver);
		if (read_override(ctx, bdf, record.override, sizeof(record.override), err) < 0)
			return -1;
		if (record_write(ctx, bdf, &record, err) < 0) {
			/* written but not made durable: nothing was detached, so no record may stay */
			record_remove(ctx, bdf, NULL);
			return -1;
		}
	}
	snprintf(binding->original, sizeof(binding->original), "%s", record.driver);
	if (bound) {
		snprintf(binding->driver, sizeof(binding->driver), "%s", fn.driver);
		return 0;
	}

	if (write_override(ctx, bdf, driver, err) < 0 || (fn.driver[0] && unbind(ctx, bdf, fn.driver, err) < 0) ||
	    probe(ctx, bdf, err) < 0 || detach_verify(ctx, addr, driver, check_viable, &fn, err) < 0) {
		detach_undo(ctx, addr, &record, err);
		return -1;
	}
	snprintf(binding->driver, sizeof(binding->driver), "%s", fn.driver);
	binding->changed = true;
	return 0;
}

/*
 * The group's node is /sys/class/vfio/N/dev's, N the device's iommu_group
 * link's, the cdev's its vfio-dev/vfioN/dev's: a PCI function's under
 * /sys/bus/pci/devices, an mdev's under /sys/bus/mdev/devices (mdev.c).
 */
size_t vfg_hostdev_vfio_nodes(const vfg_context *ctx, const char *name, vfg_vfio_node_ref nodes[2])
{
	char dir[VFG_PATH_MAX], logical[VFG_PATH_MAX + 16], path[VFG_PATH_MAX], group[64];
	size_t n = 0;
	if (!vfg_mdev_sysfs_dir(name, dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", name);
	snprintf(logical, sizeof(logical), "%s/iommu_group", dir);
	if (vfg_host_path(ctx, logical, path, sizeof(path), NULL) == 0 &&
	    vfg_sysfs_link_name(path, group, sizeof(group), NULL) == 0 && group[0]) {
		snprintf(logical, sizeof(logical), "/sys/class/vfio/%s/dev", group);
		if (vfg_host_path(ctx, logical, path, sizeof(path), NULL) == 0 &&
		    vfg_sysfs_read_devnum(path, &nodes[n].rdev, NULL) == 0)
			snprintf(nodes[n++].name, sizeof(nodes[0].name), "/dev/vfio/%s", group);
	}
	snprintf(logical, sizeof(logical), "%s/vfio-dev", dir);
	if (vfg_host_path(ctx, logical, path, sizeof(path), NULL) < 0)
		return n;
	_cleanup_closedir_ DIR *cdevs = opendir(path);
	struct dirent *entry;
	while (cdevs && n < 2 && (entry = readdir(cdevs))) {
		if (strncmp(entry->d_name, "vfio", 4) != 0 || strlen(entry->d_name) > 32)
			continue;
		char dev[VFG_PATH_MAX + 48];
		snprintf(dev, sizeof(dev), "%s/%s/dev", path, entry->d_name);
		if (vfg_sysfs_read_devnum(dev, &nodes[n].rdev, NULL) == 0)
			snprintf(nodes[n++].name, sizeof(nodes[0].name), "/dev/vfio/devices/%s", entry->d_name);
	}
	return n;
}

/* A refused unbind or bind: EBUSY while a VFIO user holds the function; name who, not only the errno. */
static int name_vfio_users(const vfg_context *ctx, const char *bdf, vfg_error *err)
{
	if (!err || err->errnum != EBUSY)
		return -1;
	vfg_vfio_node_ref nodes[2];
	size_t n = vfg_hostdev_vfio_nodes(ctx, bdf, nodes);
	char users[VFG_ERROR_MESSAGE_MAX / 2];
	vfg_vfio_users_describe(nodes, n, users, sizeof(users));
	size_t used = strlen(err->message);
	vfg_strlcatf(err->message, sizeof(err->message), used, "; VFIO users holding %s: %s", bdf, users);
	return -1;
}

/*
 * Before a vfio driver's unbind, tell the caller who holds the function.
 * The unbind returns only once no process holds the device: vfio-pci's
 * remove reaches vfio_unregister_group_dev() (drivers/vfio/vfio_main.c),
 * which waits with no timeout for the last open device fd to close and,
 * every 10 seconds meanwhile, calls the driver's request op: vfio-pci's
 * vfio_pci_core_request() (drivers/vfio/pci/vfio_pci_core.c) signals the
 * eventfd the user set for VFIO_PCI_REQ_IRQ_INDEX, and with none only logs
 * that the device is blocked until released. A signal does not end the
 * wait either (the wait goes on uninterruptible). Without this the
 * command hangs and says nothing. A holder of the group node alone, with
 * no device open, does not make the unbind wait; the node is all /proc
 * shows of it. Only when a notice is wanted: the scan reads every
 * process's fds.
 */
static void announce_vfio_users(const vfg_context *ctx, const char *bdf, const char *driver)
{
	if (!ctx->notice)
		return;
	vfg_vfio_node_ref nodes[2];
	size_t n = vfg_hostdev_vfio_nodes(ctx, bdf, nodes);
	char users[VFG_ERROR_MESSAGE_MAX / 2], message[VFG_ERROR_MESSAGE_MAX];
	size_t holders = n ? vfg_vfio_users_describe(nodes, n, users, sizeof(users)) : 0;
	if (!holders)
		return;
	bool one = holders == 1;
	snprintf(message, sizeof(message),
		 "%s: waiting for it to be released: %s; the kernel asks %s to release the device, and unbinding it "
		 "from %s waits until %s",
		 bdf, users, one ? "that process" : "those processes", driver, one ? "it does" : "they do");
	vfg_notify(ctx, VFG_NOTICE_VFIO_USERS_WAIT, bdf, message);
}

int vfg_pci_reattach_unlocked(vfg_context *ctx, const vfg_pci_addr *addr, vfg_driver_binding *binding, bool *given_back,
			      bool *unrecorded, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_pci_function fn;
	driver_record record;
	vfg_pci_addr_format(addr, bdf);
	memset(binding, 0, sizeof(*binding));
	binding->addr = *addr;
	if (given_back)
		*given_back = false;
	if (unrecorded)
		*unrecorded = false;

	int have_record = record_read(ctx, bdf, &record, err);
	if (have_record < 0)
		return -1;
	if (!have_record) {
		if (unrecorded)
			*unrecorded = true;
		/* A function the host does not have is named as such, not as one vfguard did not detach. */
		if (vfg_pci_function_read(ctx, addr, &fn, err) == 0) {
			char path[VFG_PATH_MAX];
			record_path(ctx, bdf, path, sizeof(path), NULL);
			vfg_error_set(
				err, 0, bdf,
				"vfguard did not detach it (no %s): its original driver is unknown, so it is left "
				"as it is",
				path);
		}
		if (err)
			err->errnum = ENOENT; /* "nothing to give back", for callers that may meet it after a crash */
		return -1;
	}
	snprintf(binding->original, sizeof(binding->original), "%s", record.driver);
	/*
	 * Gone from the host (its VFs disabled, the device removed): there is
	 * nothing to give back, and a device of that address that comes back
	 * is a new one the kernel binds as it sees fit. The record goes; the
	 * caller is told ENODEV.
	 */
	char dir[VFG_PATH_MAX], logical[64];
	struct stat st;
	snprintf(logical, sizeof(logical), "/sys/bus/pci/devices/%s", bdf);
	if (vfg_host_path(ctx, logical, dir, sizeof(dir), err) < 0)
		return -1;
	if (lstat(dir, &st) < 0 && errno == ENOENT) {
		if (record_remove(ctx, bdf, err) < 0)
			return -1;
		vfg_error_set(err, 0, bdf,
			      "is gone from the host (no %s): there is no device to give back to %s; its driver "
			      "record is dropped",
			      dir, driver_or_none(record.driver));
		if (err)
			err->errnum = ENODEV; /* told apart from a reattach that failed (core/undo.c: release_claim) */
		return -1;
	}
	if (vfg_pci_function_read(ctx, addr, &fn, err) < 0)
		return -1;
	bool rebind = strcmp(fn.driver, record.driver) != 0;
	if (restore_override(ctx, bdf, override_while_binding(&record, rebind), err) < 0)
		return -1;
	if (rebind) {
		/* Unbinding a vfio driver waits until userspace closes the device (vfio_unregister_group_dev()). */
		if (vfg_pci_function_on_vfio(&fn))
			announce_vfio_users(ctx, bdf, fn.driver);
		if ((fn.driver[0] && unbind(ctx, bdf, fn.driver, err) < 0) ||
		    (record.driver[0] && bind(ctx, bdf, record.driver, err) < 0))
			return name_vfio_users(ctx, bdf, err);
		if (vfg_pci_function_read(ctx, addr, &fn, err) < 0)
			return -1;
		if (strcmp(fn.driver, record.driver) != 0)
			return vfg_error_set(err, 0, bdf, "is bound to %s, not to its original %s, after reattach",
					     driver_or_none(fn.driver), driver_or_none(record.driver));
		binding->changed = true;
		if (override_after_binding(&record) && write_override(ctx, bdf, record.override, err) < 0)
			return -1;
	}
	snprintf(binding->driver, sizeof(binding->driver), "%s", fn.driver);
	if (given_back)
		*given_back = true;
	return record_remove(ctx, bdf, err);
}

static bool claimed_managed(const host_journal *hj, const vfg_pci_addr *addr)
{
	for (size_t i = 0; i < hj->n_domains; i++)
		for (size_t c = 0; c < hj->domains[i]->n_claims; c++) {
			const journal_claim *claim = &hj->domains[i]->claims[c];
			if (claim->managed && !claim->mdev[0] && vfg_pci_addr_equal(&claim->addr, addr))
				return true;
		}
	return false;
}

static int unheld_compare(const void *a, const void *b)
{
	return strcmp(((const unheld_detach *)a)->address, ((const unheld_detach *)b)->address);
}

int driver_records_unheld(const vfg_context *ctx, const host_journal *hj, unheld_detach **list, size_t *n,
			  vfg_error *err)
{
	char dir_path[VFG_PATH_MAX];
	_cleanup_free_ unheld_detach *found = NULL;
	size_t count = 0;
	*list = NULL;
	*n = 0;
	if (vfg_state_path(ctx, "drivers", dir_path, sizeof(dir_path), err) < 0)
		return -1;
	_cleanup_closedir_ DIR *dir = NULL;
	int r = vfg_state_opendir(dir_path, &dir, err);
	if (r < 0)
		return r == -ENOENT ? 0 : -1;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		vfg_pci_addr addr;
		driver_record record;
		char bdf[VFG_PCI_ADDR_STRLEN];
		/* a writer's temporary (".BDF.vfguard-tmp.PID") and "." and ".." are no records */
		if (entry->d_name[0] == '.' || vfg_pci_addr_parse(entry->d_name, &addr, NULL) < 0 ||
		    claimed_managed(hj, &addr))
			continue;
		int have = record_read(ctx, vfg_pci_addr_format(&addr, bdf), &record, err);
		if (have < 0)
			return -1;
		if (!have)
			continue;
		unheld_detach *grown = realloc(found, (count + 1) * sizeof(*found));
		if (!grown)
			return vfg_error_set(err, ENOMEM, dir_path, "out of memory");
		found = grown;
		snprintf(found[count].address, sizeof(found[count].address), "%s", bdf);
		snprintf(found[count].original, sizeof(found[count].original), "%s", record.driver);
		count++;
	}
	if (count > 1)
		qsort(found, count, sizeof(*found), unheld_compare);
	*list = found;
	*n = count;
	found = NULL;
	return 0;
}

/*
 * A function whose IOMMU group a domain claims is that domain's: its
 * prepare detached it or found it bound, and its revoke gives it back.
 * Moving it by hand would take a device from a running VM, or, for another
 * function of the group, put one in its reach (a legacy group's holder
 * opens every device of the group), while the journal and audit knew
 * nothing of it.
 */
static int check_unclaimed(const vfg_context *ctx, const host_journal *hj, const vfg_pci_addr *addr,
			   const char *command, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN], holder[VFG_HOSTDEV_NAME_MAX];
	vfg_pci_addr_format(addr, bdf);
	vfg_iommu_group group;
	if (vfg_iommu_group_read(ctx, addr, &group, err) < 0)
		return -1;
	free(group.members);
	const journal_claim *claim = NULL;
	const domain_journal *other = NULL;
	if (host_journal_group_holder(hj, "", group.number, &claim, &other, err) < 0)
		return -1;
	if (!claim)
		return 0;
	return vfg_error_refuse(
		err, EBUSY, bdf,
		"IOMMU group %u belongs to domain %s (through its hostdev %s): a %s by hand would %s "
		"while the domain holds it; %s; nothing was changed",
		group.number, other->domain->name, journal_claim_name(claim, holder), command,
		strcmp(command, "reattach") == 0 ? "take the device from its VM" : "put the device in that VM's reach",
		strcmp(command, "reattach") == 0
			? "its revoke gives a managed hostdev back"
			: "revoke the domain first, or give the function to it as a hostdev (managed=yes)");
}

VFG_EXPORT int vfg_pci_detach(vfg_context *ctx, const vfg_pci_addr *addr, const char *driver,
			      vfg_driver_binding *binding, vfg_error *err)
{
	vfg_pci_function fn;
	memset(binding, 0, sizeof(*binding));
	binding->addr = *addr;
	if (vfg_pci_function_read(ctx, addr, &fn, err) < 0)
		return -1;
	/* Bound as asked: nothing changes, whoever holds it. */
	if (strcmp(fn.driver, driver ? driver : "vfio-pci") == 0)
		return vfg_pci_detach_unlocked(ctx, addr, driver, true, binding, err);
	host_journal hj;
	if (host_journal_open(ctx, true, &hj, err) < 0)
		return -1;
	int r = check_unclaimed(ctx, &hj, addr, "detach", err);
	if (r == 0)
		r = vfg_pci_detach_unlocked(ctx, addr, driver, true, binding, err);
	host_journal_close(&hj);
	return r;
}

VFG_EXPORT int vfg_pci_reattach(vfg_context *ctx, const vfg_pci_addr *addr, vfg_driver_binding *binding, vfg_error *err)
{
	memset(binding, 0, sizeof(*binding));
	binding->addr = *addr;
	host_journal hj;
	if (host_journal_open(ctx, true, &hj, err) < 0)
		return -1;
	/* A function gone from the host has no group to ask about: the reattach says it is gone. */
	vfg_pci_function fn;
	vfg_error ignored = {0};
	vfg_error why = {0};
	bool present = vfg_pci_function_read(ctx, addr, &fn, &ignored) == 0;
	int r = present ? check_unclaimed(ctx, &hj, addr, "reattach", &why) : 0;
	bool unrecorded = false;
	if (r == 0)
		r = vfg_pci_reattach_unlocked(ctx, addr, binding, NULL, &unrecorded, &why);
	host_journal_close(&hj);
	/*
	 * Nothing to give back, and nothing vfguard would have to: a function
	 * it did not detach (or gave back already) that is with a host driver
	 * or none stays there, as a detach of a bound function binds nothing.
	 * One on a vfio driver is still refused: where it came from is unknown.
	 */
	if (r < 0 && unrecorded && present && !vfg_pci_function_on_vfio(&fn)) {
		/* the driver it had before is not known: original stays "" (null in JSON) */
		snprintf(binding->driver, sizeof(binding->driver), "%s", fn.driver);
		return 0;
	}
	if (r < 0 && err)
		*err = why;
	return r;
}
