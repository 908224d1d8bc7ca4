/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Host enumeration: a PCI function, its IOMMU group and vfio cdev, the group's
 * viability and the backend that serves it, read from sysfs as the kernel
 * lays it out:
 *   /sys/bus/pci/devices/BDF -> ../../../devices/pci.../BDF
 *     vendor device class config driver-> iommu_group-> vfio-dev/vfioN/dev
 *   /sys/kernel/iommu_groups/N/devices/BDF...
 *   /sys/class/vfio/N/dev                 the group node's MAJ:MIN
 *   /sys/class/misc/{vfio,iommu}/dev      the container's and /dev/iommu's
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* PCI config space offset of the header type (PCI Local Bus spec 3.0, 6.2.1). */
#define PCI_CONFIG_HEADER_TYPE 0x0e
#define PCI_HEADER_TYPE_MASK 0x7f /* bit 7 only says multi-function */
#define PCI_HEADER_TYPE_BRIDGE 1
#define PCI_HEADER_TYPE_CARDBUS 2

static int read_header_type(int dirfd, const char *dir, uint8_t *header_type, vfg_error *err)
{
	char path[VFG_PATH_MAX + 16];
	_cleanup_close_ int fd = openat(dirfd, "config", O_RDONLY | O_CLOEXEC);
	uint8_t byte;
	ssize_t n = fd < 0 ? -1 : pread(fd, &byte, 1, PCI_CONFIG_HEADER_TYPE);
	if (n < 0) {
		int error = errno;
		snprintf(path, sizeof(path), "%s/config", dir);
		return vfg_error_set(err, error, path, "cannot read PCI config space");
	}
	if (n != 1) {
		snprintf(path, sizeof(path), "%s/config", dir);
		return vfg_error_set(err, 0, path, "PCI config space shorter than 0x%x bytes",
				     PCI_CONFIG_HEADER_TYPE + 1);
	}
	*header_type = byte & PCI_HEADER_TYPE_MASK;
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static const char *const sysfs_dir_paths[VFG_SYSFS_DIRS] = {
	[VFG_SYSFS_PCI_DEVICES] = "/sys/bus/pci/devices",
	[VFG_SYSFS_IOMMU_GROUPS] = "/sys/kernel/iommu_groups",
	[VFG_SYSFS_CLASS_VFIO] = "/sys/class/vfio",
};

int vfg_host_sysfs_open(const vfg_context *ctx, vfg_host_nodes *host, vfg_sysfs_dir which, const char *name, int flags,
			char *path, size_t size, vfg_error *err)
{
	char logical[96];
	snprintf(logical, sizeof(logical), "%s/%s", sysfs_dir_paths[which], name);
	if (vfg_host_path(ctx, logical, path, size, err) < 0)
		return -2;
	int *dir = host ? &host->sysfs_dirs[which] : NULL;
	/* Relative to the root's fd: the same directory the whole path names, the root's components walked once. */
	if (dir && *dir < 0)
		*dir = openat(ctx->root_fd, sysfs_dir_paths[which] + 1, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return dir && *dir >= 0 ? openat(*dir, name, flags) : open(path, flags);
}

void vfg_host_nodes_release(vfg_host_nodes *host)
{
	for (int i = 0; i < VFG_SYSFS_DIRS; i++) {
		vfg_closep(&host->sysfs_dirs[i]);
		host->sysfs_dirs[i] = -1;
	}
}

/*
 * Open the function's sysfs directory (O_PATH), its path in @dir: its
 * attributes are then read relative to it, one lookup each rather than the
 * whole path and the bus's symlink every time.
 */
static int function_dir_open(const vfg_context *ctx, vfg_host_nodes *host, const vfg_pci_addr *addr, char *dir,
			     size_t size, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_pci_addr_format(addr, bdf);
	int fd = vfg_host_sysfs_open(ctx, host, VFG_SYSFS_PCI_DEVICES, bdf, O_PATH | O_DIRECTORY | O_CLOEXEC, dir, size,
				     err);
	if (fd == -1)
		return vfg_error_set(err, 0, bdf, "no such PCI function on this host (%s)", dir);
	return fd < 0 ? -1 : fd;
}

/*
 * The hex number at @value, as "%X" prints it (no "0x", no sign or space), up
 * to @max and followed by @end; *@next is after @end.
 */
static bool uevent_hex(const char *value, char end, unsigned long max, unsigned long *out, const char **next)
{
	unsigned long v = 0;
	const char *p = value;
	for (; isxdigit((unsigned char)*p); p++) {
		v = v * 16 + (unsigned long)(isdigit((unsigned char)*p) ? *p - '0' : (*p | 0x20) - 'a' + 10);
		if (v > max)
			return false;
	}
	if (p == value || *p != end)
		return false;
	*out = v;
	*next = p + 1;
	return true;
}

/*
 * The function's vendor, device and class from its uevent, one file instead
 * of three. pci_uevent() (drivers/pci/pci-driver.c) prints
 * "PCI_CLASS=%04X" of pdev->class and "PCI_ID=%04X:%04X" of pdev->vendor and
 * pdev->device, the same fields the vendor, device and class attributes show
 * (pci_config_attr() in drivers/pci/pci-sysfs.c): the kernel's values, with
 * its quirks and, for a VF, the IDs pci_iov_add_virtfn() (drivers/pci/iov.c)
 * took from the PF, not config space's. dev_uevent() (drivers/base/core.c)
 * puts the driver core's lines (MAJOR, DRIVER, ...) before them; the driver
 * is still read from the "driver" link, as for every other device. Returns 1
 * with both read; 0 when there is no uevent or it lacks either line (a tree
 * made without one; an mdev's is not read here, core/mdev.c): the caller reads
 * the three attributes then; -1 when a line is there but not as the kernel
 * prints it.
 */
static int read_ids_uevent(int dirfd, const char *dir, unsigned long *vendor, unsigned long *device,
			   unsigned long *class_code, vfg_error *err)
{
	char buf[4096], path[VFG_PATH_MAX + 16];
	_cleanup_close_ int fd = openat(dirfd, "uevent", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		if (errno == ENOENT)
			return 0;
		int error = errno;
		snprintf(path, sizeof(path), "%s/uevent", dir);
		return vfg_error_set(err, error, path, "cannot read");
	}
	buf[n] = '\0';
	bool have_id = false, have_class = false;
	for (const char *line = buf; *line;) {
		const char *eol = strchr(line, '\n');
		if (!eol)
			break; /* a line cut short is not read */
		const char *next = NULL;
		if (strncmp(line, "PCI_ID=", 7) == 0) {
			have_id = uevent_hex(line + 7, ':', 0xffff, vendor, &next) &&
				  uevent_hex(next, '\n', 0xffff, device, &next);
			if (!have_id)
				goto malformed;
		} else if (strncmp(line, "PCI_CLASS=", 10) == 0) {
			have_class = uevent_hex(line + 10, '\n', 0xffffff, class_code, &next);
			if (!have_class)
				goto malformed;
		}
		line = eol + 1;
		continue;
	malformed:
		snprintf(path, sizeof(path), "%s/uevent", dir);
		return vfg_error_set(err, 0, path, "expected PCI_ID=VVVV:DDDD and PCI_CLASS=CCCCCC, found '%.*s'",
				     (int)(eol - line), line);
	}
	return have_id && have_class;
}

/* The function's attributes, from its directory open as @dirfd (function_dir_open). */
static int function_read_at(int dirfd, const char *dir, const vfg_pci_addr *addr, vfg_pci_function *fn, vfg_error *err)
{
	memset(fn, 0, sizeof(*fn));
	fn->addr = *addr;
	unsigned long vendor, device, class_code;
	int from_uevent = read_ids_uevent(dirfd, dir, &vendor, &device, &class_code, err);
	if (from_uevent < 0)
		return -1;
	if ((!from_uevent && (vfg_sysfs_read_hex_at(dirfd, dir, "vendor", 0xffff, &vendor, err) < 0 ||
			      vfg_sysfs_read_hex_at(dirfd, dir, "device", 0xffff, &device, err) < 0 ||
			      vfg_sysfs_read_hex_at(dirfd, dir, "class", 0xffffff, &class_code, err) < 0)) ||
	    vfg_sysfs_link_name_at(dirfd, dir, "driver", fn->driver, sizeof(fn->driver), err) < 0)
		return -1;
	fn->vendor = (uint16_t)vendor;
	fn->device = (uint16_t)device;
	fn->class_code = (uint32_t)class_code;
	struct stat st;
	fn->vfio_dev = fstatat(dirfd, "vfio-dev", &st, 0) == 0 && S_ISDIR(st.st_mode);
	/*
	 * A function a vfio driver is bound to has a normal (type 0) header:
	 * vfio-pci and every variant register through
	 * vfio_pci_core_register_device(), which refuses any other
	 * (drivers/vfio/pci/vfio_pci_core.c). Its config space is not read:
	 * 3 system calls per hostdev (issue 18). Any other is read: a bridge
	 * is no hostdev (check_bound_to_vfio, detach_possible in driver.c), and
	 * a group's refusal tells how to clear one (group_offenders).
	 */
	if (vfg_pci_function_on_vfio(fn)) {
		fn->header_type = 0;
		return 0;
	}
	return read_header_type(dirfd, dir, &fn->header_type, err);
}

/* vfg_pci_function_read, the function's directory looked up through @host's (when not NULL). */
static int function_read_on(const vfg_context *ctx, vfg_host_nodes *host, const vfg_pci_addr *addr,
			    vfg_pci_function *fn, vfg_error *err)
{
	char dir[VFG_PATH_MAX];
	memset(fn, 0, sizeof(*fn));
	fn->addr = *addr;
	_cleanup_close_ int dirfd = function_dir_open(ctx, host, addr, dir, sizeof(dir), err);
	if (dirfd < 0)
		return -1;
	return function_read_at(dirfd, dir, addr, fn, err);
}

VFG_EXPORT int vfg_pci_function_read(const vfg_context *ctx, const vfg_pci_addr *addr, vfg_pci_function *fn,
				     vfg_error *err)
{
	return function_read_on(ctx, NULL, addr, fn, err);
}

/*
 * A vfio driver: vfio-pci, or a variant (mlx5_vfio_pci, hisi_acc_vfio_pci,
 * ...). Kernels with VFIO_DEVICE_CDEV show every one by its vfio-dev/
 * directory; without it, variant drivers are known by their "_vfio_pci" name.
 */
bool vfg_driver_is_vfio(const char *driver)
{
	size_t len = strlen(driver);
	static const char suffix[] = "_vfio_pci";
	return strcmp(driver, "vfio-pci") == 0 ||
	       (len > sizeof(suffix) - 1 && strcmp(driver + len - (sizeof(suffix) - 1), suffix) == 0);
}

bool vfg_pci_function_on_vfio(const vfg_pci_function *fn)
{
	return fn->vfio_dev || vfg_driver_is_vfio(fn->driver);
}

/*
 * Why another member of the group may stay where it is; NULL when it may not.
 * Since Linux 5.19 the driver core decides: when a PCI driver binds,
 * pci_dma_configure() (drivers/pci/pci-driver.c) calls
 * iommu_device_use_default_domain() (drivers/iommu/iommu.c) unless the driver
 * declares driver_managed_dma, and that raises the group's owner count.
 * Userspace's claim then fails with EPERM: iommu_group_claim_dma_owner() for
 * VFIO_GROUP_SET_CONTAINER, iommu_device_claim_dma_owner() for an iommufd
 * bind (iommufd_device_bind()). The drivers that declare it are the vfio
 * ones, pci-stub and pcieport; a function with no driver counts for nothing.
 * Nothing on that path looks at the header type: a bridge on shpchp or
 * yenta_cardbus, which do not declare it, blocks the group like any other
 * driver. (vfio before 5.19 let any driver of a bridge by, in
 * vfio_dev_driver_allowed() of drivers/vfio/vfio.c; vfguard follows the
 * kernels it runs on, Debian's 6.1 and later: openat2 alone needs 5.6.)
 */
static const char *member_viable_reason(const vfg_pci_function *fn)
{
	if (!fn->driver[0])
		return "bound to no driver";
	if (vfg_pci_function_on_vfio(fn))
		return "bound to a vfio driver";
	if (strcmp(fn->driver, "pci-stub") == 0)
		return "bound to pci-stub";
	if (strcmp(fn->driver, "pcieport") == 0)
		return "a PCIe port (pcieport)";
	return NULL;
}

static bool function_is_bridge(const vfg_pci_function *fn)
{
	return fn->header_type == PCI_HEADER_TYPE_BRIDGE || fn->header_type == PCI_HEADER_TYPE_CARDBUS;
}

static int compare_functions(const void *a, const void *b)
{
	const vfg_pci_addr *x = &((const vfg_pci_function *)a)->addr, *y = &((const vfg_pci_function *)b)->addr;
	uint32_t kx = (uint32_t)x->domain << 16 | (uint32_t)x->bus << 8 | (uint32_t)x->slot << 3 | x->function;
	uint32_t ky = (uint32_t)y->domain << 16 | (uint32_t)y->bus << 8 | (uint32_t)y->slot << 3 | y->function;
	return (kx > ky) - (kx < ky);
}

/* The kernel's directory entry for getdents64(2) (linux/dirent.h keeps it from userspace). */
struct group_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Entry @name of the group: a member unless it is not a PCI function (groups may hold platform devices too). */
static int group_member_add(const vfg_context *ctx, vfg_host_nodes *host, const vfg_pci_function *known,
			    vfg_iommu_group *group, const char *path, const char *name, vfg_error *err)
{
	vfg_pci_addr addr;
	if (name[0] == '.' || vfg_pci_addr_parse(name, &addr, NULL) < 0)
		return 0;
	vfg_pci_function *members = realloc(group->members, (group->n_members + 1) * sizeof(*members));
	if (!members)
		return vfg_error_set(err, ENOMEM, path, "cannot list the IOMMU group's devices");
	group->members = members;
	vfg_pci_function *member = &group->members[group->n_members];
	if (known && vfg_pci_addr_equal(&addr, &known->addr))
		*member = *known;
	else if (function_read_on(ctx, host, &addr, member, err) < 0)
		return -1;
	group->n_members++;
	return 0;
}

/*
 * Every function of the group; @known, the function enumeration has just
 * read, is taken as it is. Listed with getdents64 into a buffer on the
 * stack rather than opendir(): no fstat, and no 32 KiB buffer on the heap
 * for a directory of a few entries (issue 18: system calls per hostdev,
 * peak memory).
 */
static int read_group_members(const vfg_context *ctx, vfg_host_nodes *host, const vfg_pci_function *known,
			      vfg_iommu_group *group, vfg_error *err)
{
	char name[32], path[VFG_PATH_MAX];
	snprintf(name, sizeof(name), "%u/devices", group->number);
	_cleanup_close_ int fd = vfg_host_sysfs_open(ctx, host, VFG_SYSFS_IOMMU_GROUPS, name,
						     O_RDONLY | O_DIRECTORY | O_CLOEXEC, path, sizeof(path), err);
	if (fd == -1)
		return vfg_error_set(err, errno, path, "cannot list the IOMMU group's devices");
	if (fd < 0)
		return -1;
	_Alignas(struct group_dirent) char buf[2048];
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n < 0)
			return vfg_error_set(err, errno, path, "cannot list the IOMMU group's devices");
		if (n == 0)
			break;
		for (long at = 0; at < n;) {
			const struct group_dirent *entry = (const struct group_dirent *)(buf + at);
			if (group_member_add(ctx, host, known, group, path, entry->name, err) < 0)
				return -1;
			at += entry->reclen;
		}
	}
	qsort(group->members, group->n_members, sizeof(*group->members), compare_functions);
	return 0;
}

/*
 * The members of a group an earlier hostdev of the plan read, @known in
 * place of its own entry: 1 when @before lists it, 0 when it does not
 * (then the group is read again), -1 without memory.
 */
static int group_copy_members(const vfg_iommu_group *before, const vfg_pci_function *known, vfg_iommu_group *group,
			      vfg_error *err)
{
	size_t own = before->n_members;
	for (size_t i = 0; i < before->n_members && own == before->n_members; i++)
		if (vfg_pci_addr_equal(&before->members[i].addr, &known->addr))
			own = i;
	if (own == before->n_members)
		return 0;
	group->members = malloc(before->n_members * sizeof(*group->members));
	if (!group->members) {
		char bdf[VFG_PCI_ADDR_STRLEN];
		return vfg_error_set(err, ENOMEM, vfg_pci_addr_format(&known->addr, bdf),
				     "cannot list the IOMMU group's devices");
	}
	memcpy(group->members, before->members, before->n_members * sizeof(*group->members));
	group->members[own] = *known;
	group->n_members = before->n_members;
	return 1;
}

int vfg_iommu_group_link_read(int dirfd, const char *dir, unsigned *number, bool *found, vfg_error *err)
{
	char name[32], path[VFG_PATH_MAX + 16];
	if (vfg_sysfs_link_name_at(dirfd, dir, "iommu_group", name, sizeof(name), err) < 0)
		return -1;
	*found = name[0] != '\0';
	if (!*found)
		return 0;
	char *end;
	errno = 0;
	unsigned long value = strtoul(name, &end, 10);
	if (errno || *end || end == name || value > 0xffffffffUL) {
		snprintf(path, sizeof(path), "%s/iommu_group", dir);
		return vfg_error_set(err, 0, path, "IOMMU group link ends in '%s', not a number", name);
	}
	*number = (unsigned)value;
	return 0;
}

/*
 * The IOMMU group of the function whose sysfs directory is open as @dirfd
 * (@dir its path), and its members; @known as read_group_members takes it.
 * A group an earlier hostdev of the same plan read (@host) is taken from
 * there: a group of k functions, all given, is listed once, not k times
 * with k - 1 members read each time.
 */
static int group_read_at(const vfg_context *ctx, vfg_host_nodes *host, int dirfd, const char *dir,
			 const vfg_pci_addr *addr, const vfg_pci_function *known, vfg_iommu_group *group,
			 vfg_error *err)
{
	char path[VFG_PATH_MAX + 16], bdf[VFG_PCI_ADDR_STRLEN];
	memset(group, 0, sizeof(*group));
	bool found;
	if (vfg_iommu_group_link_read(dirfd, dir, &group->number, &found, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/iommu_group", dir);
	if (!found)
		return vfg_error_set(err, 0, vfg_pci_addr_format(addr, bdf),
				     "has no IOMMU group (no %s): the IOMMU is off or not in front of this device "
				     "(boot with intel_iommu=on or amd_iommu=on)",
				     path);
	const vfg_iommu_group *before = host && host->group_read_before && known
						? host->group_read_before(host->group_data, group->number)
						: NULL;
	int copied = before ? group_copy_members(before, known, group, err) : 0;
	if (copied < 0 || (copied == 0 && read_group_members(ctx, host, known, group, err) < 0)) {
		free(group->members);
		memset(group, 0, sizeof(*group));
		return -1;
	}
	return 0;
}

int vfg_iommu_group_read(const vfg_context *ctx, const vfg_pci_addr *addr, vfg_iommu_group *group, vfg_error *err)
{
	char dir[VFG_PATH_MAX];
	memset(group, 0, sizeof(*group));
	/* Without this, a device that is not there would read as one the IOMMU does not cover. */
	_cleanup_close_ int dirfd = function_dir_open(ctx, NULL, addr, dir, sizeof(dir), err);
	if (dirfd < 0)
		return -1;
	return group_read_at(ctx, NULL, dirfd, dir, addr, NULL, group, err);
}

static bool addr_listed(const vfg_pci_addr *addr, const vfg_pci_addr *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (vfg_pci_addr_equal(addr, &list[i]))
			return true;
	return false;
}

/*
 * The members but those in @skip (@n_skip of them) that keep the group from
 * being viable, "BDF is bound to DRIVER; bridge BDF is bound to DRIVER; ..."
 * in @offenders; how many of them are bridges in @bridges.
 */
static size_t group_offenders(const vfg_iommu_group *group, const vfg_pci_addr *skip, size_t n_skip, char *offenders,
			      size_t size, size_t *bridges)
{
	size_t used = 0, count = 0;
	offenders[0] = '\0';
	*bridges = 0;
	for (size_t i = 0; i < group->n_members; i++) {
		const vfg_pci_function *member = &group->members[i];
		if (addr_listed(&member->addr, skip, n_skip) || member_viable_reason(member))
			continue;
		char bdf[VFG_PCI_ADDR_STRLEN];
		bool bridge = function_is_bridge(member);
		used = vfg_strlcatf(offenders, size, used, "%s%s%s is bound to %s", count ? "; " : "",
				    bridge ? "bridge " : "", vfg_pci_addr_format(&member->addr, bdf), member->driver);
		count++;
		*bridges += bridge;
	}
	return count;
}

int vfg_iommu_group_check_viable(const vfg_iommu_group *group, const vfg_pci_addr *addr, vfg_error *err)
{
	return vfg_iommu_group_check_viable_after(group, addr, addr, 1, err);
}

/* Why group_offenders' @count functions are in the way, @bridges of them bridges. */
static const char *offenders_reason(size_t count, size_t bridges)
{
	if (!bridges)
		return "a host driver that does DMA shares the group";
	if (bridges == count)
		return "the kernel counts a bridge's driver as any host driver that does not declare "
		       "driver_managed_dma";
	return "a host driver that does DMA shares the group, and the kernel counts a bridge's driver as any other "
	       "that does not declare driver_managed_dma";
}

/*
 * What clears the group, for @count offenders of which @bridges are bridges:
 * vfio-pci takes no bridge (detach_possible in driver.c), pci-stub does.
 */
static const char *offenders_advice(size_t count, size_t bridges)
{
	if (!bridges)
		return count > 1 ? "bind them to vfio-pci or pci-stub, or unbind"
				 : "bind it to vfio-pci or pci-stub, or unbind";
	if (bridges == count)
		return count > 1 ? "unbind them or bind them to pci-stub; no vfio driver takes a bridge"
				 : "unbind it or bind it to pci-stub; no vfio driver takes a bridge";
	return "bind each to vfio-pci or pci-stub, or unbind it; a bridge to pci-stub or to no driver, since no vfio "
	       "driver takes one";
}

int vfg_iommu_group_check_viable_after(const vfg_iommu_group *group, const vfg_pci_addr *addr,
				       const vfg_pci_addr *moving, size_t n_moving, vfg_error *err)
{
	char offenders[VFG_ERROR_MESSAGE_MAX / 2];
	size_t bridges;
	size_t count = group_offenders(group, moving, n_moving, offenders, sizeof(offenders), &bridges);
	if (!count)
		return 0;
	char bdf[VFG_PCI_ADDR_STRLEN];
	return vfg_error_set(err, 0, vfg_pci_addr_format(addr, bdf), "IOMMU group %u is not viable: %s (%s; %s)",
			     group->number, offenders, offenders_reason(count, bridges),
			     offenders_advice(count, bridges));
}

int vfg_hostdev_read_cdev(int fn_dirfd, const char *fn_dir, vfg_hostdev *hostdev, vfg_error *err)
{
	/* No vfio-dev/ (function_read_at or mdev_read_at looked): no cdev, the kernel lacks VFIO_DEVICE_CDEV. */
	if (!hostdev->function.vfio_dev)
		return 0;
	char path[VFG_PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/vfio-dev", fn_dir);
	int dirfd = openat(fn_dirfd, "vfio-dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_closedir_ DIR *dir = dirfd < 0 ? NULL : fdopendir(dirfd);
	if (!dir) {
		int error = errno;
		if (dirfd >= 0)
			close(dirfd);
		if (error == ENOENT)
			return 0; /* gone since function_read_at looked */
		return vfg_error_set(err, error, path, "cannot list the vfio cdev");
	}
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		if (strncmp(entry->d_name, "vfio", 4) != 0 || strlen(entry->d_name) >= sizeof(hostdev->cdev))
			continue;
		if (hostdev->cdev[0])
			return vfg_error_set(err, 0, path, "holds two vfio cdevs, %s and %s", hostdev->cdev,
					     entry->d_name);
		snprintf(hostdev->cdev, sizeof(hostdev->cdev), "%s", entry->d_name);
	}
	if (!hostdev->cdev[0])
		return 0;
	char dev_name[64];
	snprintf(dev_name, sizeof(dev_name), "%s/dev", hostdev->cdev);
	/*
	 * Since 6.1 every vfio device has its vfio-dev/vfioN directory (the
	 * struct device in struct vfio_device); only with VFIO_DEVICE_CDEV (6.6)
	 * does it carry a char device and so a dev file. Seen on bookworm's 6.1
	 * in the VM suite: no dev file, no cdev.
	 */
	struct stat st;
	if (fstatat(dirfd, dev_name, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		hostdev->cdev[0] = '\0';
		return 0;
	}
	return vfg_sysfs_read_devnum_at(dirfd, path, dev_name, &hostdev->cdev_rdev, err);
}

/* Does @logical exist under the root (lstat)? Asked once per plan: @known caches it (-1 until then). */
static bool host_has(const vfg_context *ctx, const char *logical, signed char *known)
{
	char path[VFG_PATH_MAX];
	if (*known < 0)
		*known = vfg_host_path(ctx, logical, path, sizeof(path), NULL) == 0 && exists(path);
	return *known;
}

/* Whether a backend can serve the hostdev here; when not, @why says what is missing. */
static bool iommufd_available(const vfg_context *ctx, vfg_host_nodes *host, const vfg_hostdev *hostdev, char *why,
			      size_t size)
{
	if (!hostdev->cdev[0]) {
		snprintf(why, size,
			 "the device has no vfio cdev (vfio-dev/ in sysfs; the kernel needs VFIO_DEVICE_CDEV)");
		return false;
	}
	if (!host_has(ctx, "/sys/class/misc/iommu/dev", &host->iommu_sysfs) ||
	    !host_has(ctx, "/dev/iommu", &host->iommu_node)) {
		snprintf(why, size, "the host has no /dev/iommu (the kernel needs IOMMUFD)");
		return false;
	}
	return true;
}

static bool legacy_available(const vfg_context *ctx, vfg_host_nodes *host, const vfg_hostdev *hostdev, char *why,
			     size_t size)
{
	char path[VFG_PATH_MAX], name[32];
	if (!host_has(ctx, "/sys/class/misc/vfio/dev", &host->container_sysfs)) {
		snprintf(why, size, "the host has no /dev/vfio/vfio container (the kernel needs VFIO_CONTAINER)");
		return false;
	}
	/*
	 * Read, not only looked at: the plan needs the group node's MAJ:MIN
	 * next (plan.c), so one open serves both. When it does not read as
	 * MAJ:MIN, whether it is there decides as before, and the plan's own
	 * read reports what is wrong with it.
	 */
	snprintf(name, sizeof(name), "%u/dev", hostdev->group.number);
	_cleanup_close_ int fd = vfg_host_sysfs_open(ctx, host, VFG_SYSFS_CLASS_VFIO, name, O_RDONLY | O_CLOEXEC, path,
						     sizeof(path), NULL);
	if (fd == -2) {
		snprintf(why, size, "the path of /sys/class/vfio/%s is too long under the root", name);
		return false;
	}
	host->group_node_read = fd >= 0 && vfg_sysfs_read_devnum_fd(fd, path, &host->group_node_rdev, NULL) == 0;
	host->group_node_group = hostdev->group.number;
	if (!host->group_node_read && !exists(path)) {
		snprintf(why, size, "IOMMU group %u has no vfio group node (no /sys/class/vfio/%s)",
			 hostdev->group.number, name);
		return false;
	}
	return true;
}

/* Each backend is looked at only when the choice needs it; the messages name every one looked at. */
int vfg_hostdev_choose_backend(const vfg_context *ctx, vfg_host_nodes *host, vfg_hostdev *hostdev, vfg_error *err)
{
	char bdf[VFG_HOSTDEV_NAME_MAX], no_iommufd[192] = "", no_legacy[192] = "";
	vfg_hostdev_name(&hostdev->spec, bdf);

	switch (hostdev->spec.backend) {
	case VFG_BACKEND_IOMMUFD:
		if (!iommufd_available(ctx, host, hostdev, no_iommufd, sizeof(no_iommufd)))
			return vfg_error_set(err, 0, bdf, "backend iommufd cannot serve it: %s", no_iommufd);
		hostdev->backend = VFG_BACKEND_IOMMUFD;
		snprintf(hostdev->backend_reason, sizeof(hostdev->backend_reason), "asked for");
		return 0;
	case VFG_BACKEND_LEGACY:
		if (!legacy_available(ctx, host, hostdev, no_legacy, sizeof(no_legacy)))
			return vfg_error_set(err, 0, bdf, "backend legacy cannot serve it: %s", no_legacy);
		hostdev->backend = VFG_BACKEND_LEGACY;
		snprintf(hostdev->backend_reason, sizeof(hostdev->backend_reason), "asked for");
		return 0;
	case VFG_BACKEND_AUTO:
		if (iommufd_available(ctx, host, hostdev, no_iommufd, sizeof(no_iommufd))) {
			hostdev->backend = VFG_BACKEND_IOMMUFD;
			snprintf(hostdev->backend_reason, sizeof(hostdev->backend_reason),
				 "auto: the device has cdev %s and the host has /dev/iommu", hostdev->cdev);
			return 0;
		}
		if (legacy_available(ctx, host, hostdev, no_legacy, sizeof(no_legacy))) {
			hostdev->backend = VFG_BACKEND_LEGACY;
			snprintf(hostdev->backend_reason, sizeof(hostdev->backend_reason), "auto: not iommufd, %s",
				 no_iommufd);
			return 0;
		}
		return vfg_error_set(err, 0, bdf, "no backend can serve it: iommufd: %s; legacy: %s", no_iommufd,
				     no_legacy);
	}
	return vfg_error_set(err, EINVAL, bdf, "unknown backend %d", (int)hostdev->spec.backend);
}

/*
 * The device must be on a vfio driver. When it is not, binding it is the
 * advice only where that would do: in a group that is not viable, detach
 * refuses it (driver.c), so the advice names the functions in the way first.
 */
static int check_bound_to_vfio(const vfg_hostdev *hostdev, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN], offenders[VFG_ERROR_MESSAGE_MAX / 2];
	if (vfg_pci_function_on_vfio(&hostdev->function))
		return 0;
	vfg_pci_addr_format(&hostdev->function.addr, bdf);
	const char *driver = hostdev->function.driver[0] ? hostdev->function.driver : "no driver";
	/* vfio_pci_core_register_device() (drivers/vfio/pci/vfio_pci_core.c) takes only a type 0 header */
	if (hostdev->function.header_type != 0)
		return vfg_error_set(err, 0, bdf,
				     "is a PCI bridge (header type %u, bound to %s): no vfio driver binds it, so it "
				     "is no hostdev",
				     (unsigned)hostdev->function.header_type, driver);
	size_t bridges;
	size_t count =
		group_offenders(&hostdev->group, &hostdev->function.addr, 1, offenders, sizeof(offenders), &bridges);
	/*
	 * Managed: apply binds it first (prepare). A plan made before that cannot
	 * name its nodes, which the kernel makes only when vfio-pci binds it
	 * (the group node, the cdev), so it says so rather than "bind it".
	 */
	if (!count && hostdev->spec.managed)
		return vfg_error_set(
			err, 0, bdf,
			"is bound to %s, not to vfio-pci, so it has no VFIO nodes to plan yet: apply binds "
			"it first (managed=yes) and plans then; to see the plan before, run vfguard "
			"detach %s, which binds it now",
			driver, bdf);
	if (!count)
		return vfg_error_set(err, 0, bdf, "is bound to %s, not to vfio-pci: bind it to vfio-pci first", driver);
	return vfg_error_set(err, 0, bdf,
			     "is bound to %s, not to vfio-pci, and binding it would not do: IOMMU group %u is not "
			     "viable: %s (%s; %s; detach refuses the group's functions until then, %s)",
			     driver, hostdev->group.number, offenders, offenders_reason(count, bridges),
			     offenders_advice(count, bridges),
			     hostdev->spec.managed ? "and apply binds this one to vfio-pci after (managed=yes)"
						   : "so bind this one to vfio-pci after");
}

/*
 * A VF token is SR-IOV's: the kernel checks it when the device is opened
 * (vfio_pci_validate_vf_token(), drivers/vfio/pci/vfio_pci_core.c, 6.12) and
 * refuses one (EINVAL) given for a function that is neither a PF nor a VF,
 * or for a VF whose PF no vfio driver holds (only the PF's vfio user sets a
 * token). That is said here, naming the function and why, rather than left
 * to the hypervisor's open. A PF is told by its sriov_totalvfs (or, in a
 * generated tree, a virtfn link); a VF by its physfn link.
 */
static int check_vf_token(int dirfd, const char *dir, const vfg_hostdev *hostdev, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN], pf[VFG_PATH_MAX], pf_driver[VFG_PATH_MAX];
	if (!hostdev->spec.vf_token[0])
		return 0;
	vfg_pci_addr_format(&hostdev->function.addr, bdf);
	if (vfg_sysfs_link_name_at(dirfd, dir, "physfn", pf, sizeof(pf), err) < 0)
		return -1;
	if (pf[0]) {
		if (vfg_sysfs_link_name_at(dirfd, dir, "physfn/driver", pf_driver, sizeof(pf_driver), err) < 0)
			return -1;
		if (vfg_driver_is_vfio(pf_driver))
			return 0;
		return vfg_error_set(err, 0, bdf,
				     "vf-token given, but its PF %s is on %s, not on a vfio driver: the kernel takes "
				     "a VF's token only from its PF's vfio user and refuses one here; drop vf-token=, "
				     "or bind the PF to vfio-pci and have its user set the token",
				     pf, pf_driver[0] ? pf_driver : "no driver");
	}
	if (faccessat(dirfd, "sriov_totalvfs", F_OK, 0) == 0 || faccessat(dirfd, "virtfn0", F_OK, 0) == 0)
		return 0;
	return vfg_error_set(err, 0, bdf,
			     "vf-token given, but it is neither an SR-IOV PF nor a VF (no physfn, no "
			     "sriov_totalvfs in %s): the kernel refuses a token for it; drop vf-token=",
			     dir);
}

/*
 * Each attribute of the function is read once: the group's listing takes the
 * function itself from what was just read (the function's directory is open
 * for both), and only the other members are read there.
 */
int vfg_hostdev_enumerate_on(const vfg_context *ctx, vfg_host_nodes *host, const vfg_hostdev_spec *spec,
			     vfg_hostdev *hostdev, vfg_error *err)
{
	if (spec->mdev[0])
		return vfg_mdev_enumerate_on(ctx, host, spec, hostdev, err);
	char dir[VFG_PATH_MAX];
	memset(hostdev, 0, sizeof(*hostdev));
	hostdev->spec = *spec;
	hostdev->function.addr = spec->addr;
	_cleanup_close_ int dirfd = function_dir_open(ctx, host, &spec->addr, dir, sizeof(dir), err);
	if (dirfd < 0 || function_read_at(dirfd, dir, &spec->addr, &hostdev->function, err) < 0 ||
	    group_read_at(ctx, host, dirfd, dir, &spec->addr, &hostdev->function, &hostdev->group, err) < 0 ||
	    check_bound_to_vfio(hostdev, err) < 0 || check_vf_token(dirfd, dir, hostdev, err) < 0 ||
	    vfg_iommu_group_check_viable(&hostdev->group, &spec->addr, err) < 0 ||
	    vfg_hostdev_read_cdev(dirfd, dir, hostdev, err) < 0 ||
	    vfg_hostdev_choose_backend(ctx, host, hostdev, err) < 0) {
		vfg_hostdev_clear(hostdev);
		return -1;
	}
	return 0;
}

VFG_EXPORT int vfg_hostdev_enumerate(const vfg_context *ctx, const vfg_hostdev_spec *spec, vfg_hostdev *hostdev,
				     vfg_error *err)
{
	vfg_host_nodes host = VFG_HOST_NODES_UNKNOWN;
	int r = vfg_hostdev_enumerate_on(ctx, &host, spec, hostdev, err);
	vfg_host_nodes_release(&host);
	return r;
}

VFG_EXPORT void vfg_hostdev_clear(vfg_hostdev *hostdev)
{
	free(hostdev->group.members);
	hostdev->group.members = NULL;
	hostdev->group.n_members = 0;
}
