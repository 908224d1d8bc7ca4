/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hosttree, second pass: the tree built from a parsed host manifest. Each path
 * is created with *at() calls on directory fds opened O_NOFOLLOW, one component
 * at a time: a symlink already inside the tree is never followed out of it.
 *
 * Every symlink is relative and written the way sysfs writes it, so the tree
 * can be moved or read through any root prefix and still resolve.
 */
#include "hosttree.h"
#include "hosttree_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/pci_regs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Group and cdev nodes ask devtmpfs for no mode, and it falls back to 0600
 * (drivers/base/devtmpfs.c). The misc devices set theirs (misc_node_specs in
 * hosttree_manifest.c). */
#define VFIO_GROUP_NODE_MODE 0600
#define VFIO_CDEV_NODE_MODE 0600

/* As sysfs shows them: identification world-readable, config writable by root. */
#define SYSFS_ATTRIBUTE_MODE 0444
#define SYSFS_CONFIG_MODE 0644
/* driver_override is root-writable; bind, unbind and drivers_probe are write-only (drivers/base/bus.c). */
#define SYSFS_WRITABLE_MODE 0644
#define SYSFS_WRITE_ONLY_MODE 0200
#define DIRECTORY_MODE 0755

struct builder {
	int root_fd;
	const char *root;
	unsigned line; /* manifest line of the object being built, 0 before the first */
	char *errbuf;
	size_t errlen;
};

/* "ROOT/PATH: REASON[: strerror] (line N)": the path first, like every tool
 * reporting a failed system call; the line says which statement wanted it. */
__attribute__((format(printf, 4, 5))) static int build_error(const struct builder *builder, const char *path,
							     int errnum, const char *fmt, ...)
{
	char reason[1024];
	char line[32] = "";
	va_list args;

	va_start(args, fmt);
	vsnprintf(reason, sizeof(reason), fmt, args);
	va_end(args);
	size_t root_length = strlen(builder->root);
	bool needs_slash = path[0] != '\0' && root_length > 0 && builder->root[root_length - 1] != '/';
	if (builder->line > 0)
		snprintf(line, sizeof(line), " (line %u)", builder->line);
	return report(builder->errbuf, builder->errlen, "%s%s%s: %s%s%s%s", builder->root, needs_slash ? "/" : "", path,
		      reason, errnum ? ": " : "", errnum ? strerror(errnum) : "", line);
}

__attribute__((format(printf, 3, 4))) static int format_tree_path(const struct builder *builder,
								  char path[TREE_PATH_MAX], const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	int written = vsnprintf(path, TREE_PATH_MAX, fmt, args);
	va_end(args);
	if (written < 0 || written >= TREE_PATH_MAX)
		return build_error(builder, path, 0, "path longer than %d bytes", TREE_PATH_MAX - 1);
	return 0;
}

/* One step of mkdir -p: an fd on dir_fd/name, or -1 with errno (ENOTDIR when
 * name exists as anything but a directory, a symlink to one included). */
static int open_subdirectory(int dir_fd, const char *name)
{
	bool created = mkdirat(dir_fd, name, DIRECTORY_MODE) == 0;

	if (!created && errno != EEXIST)
		return -1;
	int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			errno = ENOTDIR;
		return -1;
	}
	/* mkdir applied the umask; the tree must read the same whoever built it
	 * (tests drop to other uids and must still reach the nodes). */
	if (created && fchmod(fd, DIRECTORY_MODE) < 0) {
		int saved_errno = errno;
		close(fd);
		errno = saved_errno;
		return -1;
	}
	return fd;
}

/* Open @path below the root as a directory, creating what is missing. */
static int tree_open_directory(const struct builder *builder, const char *path)
{
	_cleanup_close_ int current = openat(builder->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (current < 0)
		return build_error(builder, "", errno, "cannot open the root directory");
	for (const char *component = path + strspn(path, "/"); *component != '\0';) {
		size_t length = strcspn(component, "/");
		char name[NAME_MAX + 1];
		char walked[TREE_PATH_MAX];

		snprintf(walked, sizeof(walked), "%.*s", (int)(component + length - path), path);
		if (length > NAME_MAX)
			return build_error(builder, walked, ENAMETOOLONG, "cannot create directory");
		memcpy(name, component, length);
		name[length] = '\0';
		int next = open_subdirectory(current, name);
		if (next < 0 && errno == ENOTDIR)
			return build_error(builder, walked, 0, "exists and is not a directory");
		if (next < 0)
			return build_error(builder, walked, errno, "cannot create directory");
		close(current);
		current = next;
		component += length;
		component += strspn(component, "/");
	}
	int directory = current;
	current = -1;
	return directory;
}

static int tree_make_directory(const struct builder *builder, const char *path)
{
	_cleanup_close_ int fd = tree_open_directory(builder, path);

	return fd < 0 ? -1 : 0;
}

/* Open (creating) the directory that holds @path; *name is its last component. */
static int tree_open_parent(const struct builder *builder, const char *path, const char **name)
{
	char directory[TREE_PATH_MAX];
	const char *slash = strrchr(path, '/');

	*name = slash ? slash + 1 : path;
	snprintf(directory, sizeof(directory), "%.*s", slash ? (int)(slash - path) : 0, path);
	return tree_open_directory(builder, directory);
}

/* Short one-line text, as sysfs attributes are: worth quoting in a message. */
static bool is_quotable_text(const char *text, size_t size)
{
	return size > 0 && size < 64 && memchr(text, '\n', size) == text + size - 1 && !memchr(text, '\0', size);
}

static int tree_check_file(const struct builder *builder, int dir_fd, const char *name, const char *path,
			   const char *content, size_t size)
{
	struct stat status;

	if (fstatat(dir_fd, name, &status, AT_SYMLINK_NOFOLLOW) < 0)
		return build_error(builder, path, errno, "cannot inspect existing file");
	if (!S_ISREG(status.st_mode))
		return build_error(builder, path, 0, "exists and is not a regular file");
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *existing = malloc(size + 1);
	if (fd < 0)
		return build_error(builder, path, errno, "cannot open existing file");
	if (!existing)
		return build_error(builder, path, ENOMEM, "cannot compare existing file");
	/* One byte more than expected, to see a longer file differ. */
	ssize_t got = pread(fd, existing, size + 1, 0);
	if (got < 0)
		return build_error(builder, path, errno, "cannot read existing file");
	if ((size_t)got == size && memcmp(existing, content, size) == 0)
		return 0;
	if (is_quotable_text(existing, (size_t)got) && is_quotable_text(content, size))
		return build_error(builder, path, 0, "exists holding '%.*s', not '%.*s'", (int)got - 1, existing,
				   (int)size - 1, content);
	return build_error(builder, path, 0, "exists with different content");
}

static int tree_write_file(const struct builder *builder, const char *path, const char *content, size_t size,
			   mode_t mode)
{
	const char *name;
	_cleanup_close_ int dir_fd = tree_open_parent(builder, path, &name);

	if (dir_fd < 0)
		return -1;
	_cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0 && errno == EEXIST)
		return tree_check_file(builder, dir_fd, name, path, content, size);
	if (fd < 0)
		return build_error(builder, path, errno, "cannot create file");
	if (vfg_write_all(fd, content, size) < 0)
		return build_error(builder, path, errno, "cannot write file");
	/* open() applied the umask. */
	if (fchmod(fd, mode) < 0)
		return build_error(builder, path, errno, "cannot set mode");
	return 0;
}

/*
 * The relative symlink text leading from the directory that holds @link_path
 * to @target_path, both below the root: climb out of the components they do
 * not share, then descend. Sysfs computes its links the same way
 * (fs/kernfs/symlink.c, kernfs_get_target_path), so the text is the kernel's.
 */
static bool relative_link_target(const char *link_path, const char *target_path, char target[TREE_PATH_MAX])
{
	const char *link_name = strrchr(link_path, '/');
	size_t link_directory_length = link_name ? (size_t)(link_name - link_path) : 0;
	size_t link_at = 0;
	size_t target_at = 0;

	while (link_at < link_directory_length) {
		size_t link_length = strcspn(link_path + link_at, "/");
		size_t target_length = strcspn(target_path + target_at, "/");
		if (link_length != target_length ||
		    memcmp(link_path + link_at, target_path + target_at, link_length) != 0)
			break;
		link_at += link_length + 1;
		target_at += target_length;
		target_at += target_path[target_at] == '/';
	}

	size_t used = 0;
	target[0] = '\0';
	while (link_at < link_directory_length) {
		if (used + 3 >= TREE_PATH_MAX)
			return false;
		memcpy(target + used, "../", 4);
		used += 3;
		link_at += strcspn(link_path + link_at, "/") + 1;
	}
	const char *descent = target_path + target_at;
	if (*descent == '\0' && used > 0)
		target[--used] = '\0'; /* "../.." rather than "../../" */
	else if (*descent == '\0')
		descent = ".";
	if (used + strlen(descent) >= TREE_PATH_MAX)
		return false;
	strcpy(target + used, descent);
	return true;
}

static int tree_check_symlink(const struct builder *builder, int dir_fd, const char *name, const char *path,
			      const char *target)
{
	char existing[TREE_PATH_MAX];
	ssize_t length = readlinkat(dir_fd, name, existing, sizeof(existing) - 1);

	if (length < 0 && errno == EINVAL)
		return build_error(builder, path, 0, "exists and is not a symbolic link");
	if (length < 0)
		return build_error(builder, path, errno, "cannot read existing symbolic link");
	existing[length] = '\0';
	if (strcmp(existing, target) != 0)
		return build_error(builder, path, 0, "exists and points to %s, not %s", existing, target);
	return 0;
}

/* A relative symlink at @link_path to @target_path, both below the root. */
static int tree_make_symlink(const struct builder *builder, const char *link_path, const char *target_path)
{
	char target[TREE_PATH_MAX];
	const char *name;

	if (!relative_link_target(link_path, target_path, target))
		return build_error(builder, link_path, 0, "link target longer than %d bytes", TREE_PATH_MAX - 1);
	_cleanup_close_ int dir_fd = tree_open_parent(builder, link_path, &name);
	if (dir_fd < 0)
		return -1;
	if (symlinkat(target, dir_fd, name) == 0)
		return 0;
	if (errno == EEXIST)
		return tree_check_symlink(builder, dir_fd, name, link_path, target);
	return build_error(builder, link_path, errno, "cannot create symbolic link");
}

static int tree_check_char_node(const struct builder *builder, int dir_fd, const char *name, const char *path,
				const struct device_number *number)
{
	struct stat status;

	if (fstatat(dir_fd, name, &status, AT_SYMLINK_NOFOLLOW) < 0)
		return build_error(builder, path, errno, "cannot inspect existing node");
	if (!S_ISCHR(status.st_mode))
		return build_error(builder, path, 0, "exists and is not a character device");
	if (major(status.st_rdev) != number->major || minor(status.st_rdev) != number->minor)
		return build_error(builder, path, 0, "exists as character device %u:%u, not %lu:%lu",
				   major(status.st_rdev), minor(status.st_rdev), number->major, number->minor);
	return 0;
}

static int tree_make_char_node(const struct builder *builder, const char *path, const struct device_number *number,
			       mode_t mode)
{
	const char *name;
	_cleanup_close_ int dir_fd = tree_open_parent(builder, path, &name);

	if (dir_fd < 0)
		return -1;
	if (mknodat(dir_fd, name, S_IFCHR | mode, makedev((unsigned)number->major, (unsigned)number->minor)) < 0) {
		if (errno == EEXIST)
			return tree_check_char_node(builder, dir_fd, name, path, number);
		return build_error(builder, path, errno, "cannot create character device %lu:%lu", number->major,
				   number->minor);
	}
	/* mknod applied the umask. These calls go by name because opening a device
	 * node to fchmod it would run its driver's open(); the name was made a moment
	 * ago in a directory opened O_NOFOLLOW. */
	if (fchownat(dir_fd, name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0)
		return build_error(builder, path, errno, "cannot set owner");
	if (fchmodat(dir_fd, name, mode, 0) < 0)
		return build_error(builder, path, errno, "cannot set mode");
	return 0;
}

/*
 * A character device as the driver core shows it: a sysfs directory with its
 * "dev" attribute, the link from /sys/class/CLASS, and the node devtmpfs makes.
 */
static int tree_make_char_device(const struct builder *builder, const char *sysfs_directory, const char *class_link,
				 const struct device_number *number, const char *node_path, mode_t mode)
{
	char dev_path[TREE_PATH_MAX];
	char dev_text[32];

	if (format_tree_path(builder, dev_path, "%s/dev", sysfs_directory) < 0)
		return -1;
	int length = snprintf(dev_text, sizeof(dev_text), "%lu:%lu\n", number->major, number->minor);
	if (tree_write_file(builder, dev_path, dev_text, (size_t)length, SYSFS_ATTRIBUTE_MODE) < 0 ||
	    tree_make_symlink(builder, class_link, sysfs_directory) < 0 ||
	    tree_make_char_node(builder, node_path, number, mode) < 0)
		return -1;
	return 0;
}

/* drivers/char/misc.c registers each misc device in the virtual "misc" class. */
static int build_misc(const struct builder *builder, const struct manifest_misc *misc)
{
	char directory[TREE_PATH_MAX];
	char class_link[TREE_PATH_MAX];

	if (format_tree_path(builder, directory, "sys/devices/virtual/misc/%s", misc->spec->name) < 0 ||
	    format_tree_path(builder, class_link, "sys/class/misc/%s", misc->spec->name) < 0)
		return -1;
	return tree_make_char_device(builder, directory, class_link, &misc->number, misc->spec->node_path,
				     misc->spec->mode);
}

/* The group node is a device of the virtual "vfio" class (drivers/vfio/group.c). */
static int build_group(const struct builder *builder, const struct manifest_group *group)
{
	char members[TREE_PATH_MAX];
	char directory[TREE_PATH_MAX];
	char class_link[TREE_PATH_MAX];
	char node[TREE_PATH_MAX];

	if (format_tree_path(builder, members, "sys/kernel/iommu_groups/%lu/devices", group->id) < 0 ||
	    tree_make_directory(builder, members) < 0)
		return -1;
	if (!group->has_node)
		return 0;
	if (format_tree_path(builder, directory, "sys/devices/virtual/vfio/%lu", group->id) < 0 ||
	    format_tree_path(builder, class_link, "sys/class/vfio/%lu", group->id) < 0 ||
	    format_tree_path(builder, node, "dev/vfio/%lu", group->id) < 0)
		return -1;
	return tree_make_char_device(builder, directory, class_link, &group->node, node, VFIO_GROUP_NODE_MODE);
}

static void pci_config_fill(const struct manifest_device *device, unsigned char config[PCI_CFG_SPACE_SIZE])
{
	memset(config, 0, PCI_CFG_SPACE_SIZE);
	/* Config space is little-endian (PCI Local Bus Specification 3.0, 6.1). */
	config[PCI_VENDOR_ID] = device->vendor & 0xff;
	config[PCI_VENDOR_ID + 1] = (device->vendor >> 8) & 0xff;
	config[PCI_DEVICE_ID] = device->device & 0xff;
	config[PCI_DEVICE_ID + 1] = (device->device >> 8) & 0xff;
	config[PCI_CLASS_PROG] = device->class & 0xff;
	config[PCI_CLASS_DEVICE] = (device->class >> 8) & 0xff; /* subclass */
	config[PCI_CLASS_DEVICE + 1] = (device->class >> 16) & 0xff; /* base class */
	config[PCI_HEADER_TYPE] = device->header & 0xff;
}

static int build_device_attribute(const struct builder *builder, const struct manifest_device *device, const char *name,
				  const char *content, size_t size, mode_t mode)
{
	char path[TREE_PATH_MAX];

	if (format_tree_path(builder, path, "%s/%s", device->directory, name) < 0)
		return -1;
	return tree_write_file(builder, path, content, size, mode);
}

static int build_device_attributes(const struct builder *builder, const struct manifest_device *device)
{
	char vendor[16];
	char device_id[16];
	char class[16];
	char uevent[128];
	unsigned char config[PCI_CFG_SPACE_SIZE];

	snprintf(vendor, sizeof(vendor), "0x%04lx\n", device->vendor);
	snprintf(device_id, sizeof(device_id), "0x%04lx\n", device->device);
	snprintf(class, sizeof(class), "0x%06lx\n", device->class);
	/*
	 * As pci_uevent() (drivers/pci/pci-driver.c) prints the same pdev->class,
	 * pdev->vendor and pdev->device the three files above show: "%04X" of the
	 * 24-bit class, so 0x020000 reads "20000". dev_uevent()'s DRIVER= line
	 * (drivers/base/core.c) is left out: nothing here follows a test's
	 * rebinding, and vfguard reads the driver from the "driver" link.
	 */
	snprintf(uevent, sizeof(uevent), "PCI_CLASS=%04lX\nPCI_ID=%04lX:%04lX\nPCI_SLOT_NAME=%s\n", device->class,
		 device->vendor, device->device, device->address);
	pci_config_fill(device, config);
	const struct {
		const char *name;
		const char *content;
		size_t size;
		mode_t mode;
	} attributes[] = {
		{"vendor", vendor, strlen(vendor), SYSFS_ATTRIBUTE_MODE},
		{"device", device_id, strlen(device_id), SYSFS_ATTRIBUTE_MODE},
		{"class", class, strlen(class), SYSFS_ATTRIBUTE_MODE},
		{"config", (const char *)config, sizeof(config), SYSFS_CONFIG_MODE},
		{"uevent", uevent, strlen(uevent), SYSFS_WRITABLE_MODE},
		/* Unset, it reads "(null)" (driver_override_show() in drivers/pci/pci-sysfs.c). */
		{"driver_override", "(null)\n", 7, SYSFS_WRITABLE_MODE},
	};
	for (size_t i = 0; i < sizeof(attributes) / sizeof(attributes[0]); i++)
		if (build_device_attribute(builder, device, attributes[i].name, attributes[i].content,
					   attributes[i].size, attributes[i].mode) < 0)
			return -1;
	return 0;
}

/* /sys/bus/pci/devices/BDF, and the group membership links both ways
 * (drivers/iommu/iommu.c, iommu_group_add_device). */
static int build_device_group_links(const struct builder *builder, const struct manifest_device *device)
{
	char bus_link[TREE_PATH_MAX];
	char group_directory[TREE_PATH_MAX];
	char group_link[TREE_PATH_MAX];
	char member_link[TREE_PATH_MAX];

	if (format_tree_path(builder, bus_link, "sys/bus/pci/devices/%s", device->address) < 0 ||
	    format_tree_path(builder, group_directory, "sys/kernel/iommu_groups/%lu", device->group) < 0 ||
	    format_tree_path(builder, group_link, "%s/iommu_group", device->directory) < 0 ||
	    format_tree_path(builder, member_link, "%s/devices/%s", group_directory, device->address) < 0)
		return -1;
	if (tree_make_symlink(builder, bus_link, device->directory) < 0 ||
	    tree_make_symlink(builder, group_link, group_directory) < 0 ||
	    tree_make_symlink(builder, member_link, device->directory) < 0)
		return -1;
	return 0;
}

/* A loaded driver: /sys/bus/pci/drivers/NAME with its bind and unbind files. Nothing
 * here reacts to a write; the VM suite (tests/vm) covers the real driver core. */
static int build_driver_directory(const struct builder *builder, const char *name)
{
	char directory[TREE_PATH_MAX], bind[TREE_PATH_MAX], unbind[TREE_PATH_MAX];

	if (format_tree_path(builder, directory, "sys/bus/pci/drivers/%s", name) < 0 ||
	    format_tree_path(builder, bind, "sys/bus/pci/drivers/%s/bind", name) < 0 ||
	    format_tree_path(builder, unbind, "sys/bus/pci/drivers/%s/unbind", name) < 0)
		return -1;
	if (tree_make_directory(builder, directory) < 0 ||
	    tree_write_file(builder, bind, "", 0, SYSFS_WRITE_ONLY_MODE) < 0 ||
	    tree_write_file(builder, unbind, "", 0, SYSFS_WRITE_ONLY_MODE) < 0)
		return -1;
	return 0;
}

static int build_device_driver_links(const struct builder *builder, const struct manifest_device *device)
{
	char driver_directory[TREE_PATH_MAX];
	char driver_link[TREE_PATH_MAX];
	char bound_link[TREE_PATH_MAX];

	if (device->driver[0] == '\0')
		return 0;
	if (format_tree_path(builder, driver_directory, "sys/bus/pci/drivers/%s", device->driver) < 0 ||
	    format_tree_path(builder, driver_link, "%s/driver", device->directory) < 0 ||
	    format_tree_path(builder, bound_link, "%s/%s", driver_directory, device->address) < 0)
		return -1;
	if (build_driver_directory(builder, device->driver) < 0 ||
	    tree_make_symlink(builder, driver_link, driver_directory) < 0 ||
	    tree_make_symlink(builder, bound_link, device->directory) < 0)
		return -1;
	return 0;
}

/* The vfio device cdev is a child of the PCI device in the "vfio-dev" class
 * (drivers/vfio/device_cdev.c, vfio_init_device_cdev). */
static int build_device_cdev(const struct builder *builder, const struct manifest_device *device)
{
	char directory[TREE_PATH_MAX];
	char class_link[TREE_PATH_MAX];
	char node[TREE_PATH_MAX];

	if (!device->has_cdev)
		return 0;
	if (format_tree_path(builder, directory, "%s/vfio-dev/vfio%lu", device->directory, device->cdev_index) < 0 ||
	    format_tree_path(builder, class_link, "sys/class/vfio-dev/vfio%lu", device->cdev_index) < 0 ||
	    format_tree_path(builder, node, "dev/vfio/devices/vfio%lu", device->cdev_index) < 0)
		return -1;
	return tree_make_char_device(builder, directory, class_link, &device->cdev, node, VFIO_CDEV_NODE_MODE);
}

/* physfn from the VF, virtfnI from the PF (drivers/pci/iov.c, pci_iov_sysfs_link). */
static int build_device_sriov_links(const struct builder *builder, const struct host_manifest *manifest,
				    const struct manifest_device *device)
{
	char physfn_link[TREE_PATH_MAX];
	char virtfn_link[TREE_PATH_MAX];

	if (device->physfn == NO_DEVICE)
		return 0;
	const struct manifest_device *physfn = &manifest->devices[device->physfn];
	if (format_tree_path(builder, physfn_link, "%s/physfn", device->directory) < 0 ||
	    format_tree_path(builder, virtfn_link, "%s/virtfn%u", physfn->directory, device->virtfn_index) < 0)
		return -1;
	if (tree_make_symlink(builder, physfn_link, physfn->directory) < 0 ||
	    tree_make_symlink(builder, virtfn_link, device->directory) < 0)
		return -1;
	return 0;
}

static int build_device(const struct builder *builder, const struct host_manifest *manifest,
			const struct manifest_device *device)
{
	if (build_device_attributes(builder, device) < 0 || build_device_group_links(builder, device) < 0 ||
	    build_device_driver_links(builder, device) < 0 || build_device_cdev(builder, device) < 0 ||
	    build_device_sriov_links(builder, manifest, device) < 0)
		return -1;
	return 0;
}

static int manifest_build(struct builder *builder, const struct host_manifest *manifest)
{
	for (size_t i = 0; i < manifest->misc_count; i++) {
		builder->line = manifest->misc[i].line;
		if (build_misc(builder, &manifest->misc[i]) < 0)
			return -1;
	}
	for (size_t i = 0; i < manifest->group_count; i++) {
		builder->line = manifest->groups[i].line;
		if (build_group(builder, &manifest->groups[i]) < 0)
			return -1;
	}
	for (size_t i = 0; i < manifest->driver_count; i++) {
		builder->line = manifest->driver_lines[i];
		if (build_driver_directory(builder, manifest->drivers[i]) < 0)
			return -1;
	}
	for (size_t i = 0; i < manifest->device_count; i++) {
		builder->line = manifest->devices[i].line;
		if (build_device(builder, manifest, &manifest->devices[i]) < 0)
			return -1;
	}
	if (manifest->device_count > 0) {
		char probe[TREE_PATH_MAX];
		builder->line = 0;
		if (format_tree_path(builder, probe, "sys/bus/pci/drivers_probe") < 0 ||
		    tree_write_file(builder, probe, "", 0, SYSFS_WRITE_ONLY_MODE) < 0)
			return -1;
	}
	return 0;
}

/* mkdir -p for the root itself. Unlike paths inside the tree, its components
 * may be symlinks (/tmp often is one): the caller chose them. */
static int make_root_directory(const char *root, char *errbuf, size_t errlen)
{
	_cleanup_free_ char *path = strdup(root);

	if (!path)
		return report(errbuf, errlen, "out of memory");
	for (char *slash = strchr(path + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(path, DIRECTORY_MODE) == 0) {
			if (chmod(path, DIRECTORY_MODE) < 0)
				return report(errbuf, errlen, "%s: cannot set mode: %s", path, strerror(errno));
		} else if (errno != EEXIST) {
			return report(errbuf, errlen, "%s: cannot create directory: %s", path, strerror(errno));
		}
		if (!slash)
			return 0;
		*slash = '/';
	}
}

int hosttree_build_string(const char *manifest_text, const char *root, char *errbuf, size_t errlen)
{
	cleanup_manifest struct host_manifest manifest = {.misc_count = 0};

	if (errbuf && errlen > 0)
		errbuf[0] = '\0';
	if (!manifest_text || !root || root[0] == '\0')
		return report(errbuf, errlen, "hosttree: a manifest and a root directory are needed");
	if (manifest_parse(&manifest, manifest_text, errbuf, errlen) < 0 ||
	    make_root_directory(root, errbuf, errlen) < 0)
		return -1;
	_cleanup_close_ int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return report(errbuf, errlen, "%s: cannot open the root directory: %s", root, strerror(errno));
	struct builder builder = {.root_fd = root_fd, .root = root, .errbuf = errbuf, .errlen = errlen};
	return manifest_build(&builder, &manifest);
}

/* The whole file as a string; it may be a pipe, so read until end of file. */
static char *read_manifest_file(const char *path, char *errbuf, size_t errlen)
{
	_cleanup_fclose_ FILE *file = fopen(path, "re");
	_cleanup_free_ char *text = NULL;
	size_t length = 0;
	size_t capacity = 0;

	if (!file) {
		report(errbuf, errlen, "%s: cannot open manifest: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (capacity - length < 2) {
			size_t grown_capacity = capacity ? 2 * capacity : 8192;
			char *grown = realloc(text, grown_capacity);
			if (!grown) {
				report(errbuf, errlen, "%s: out of memory", path);
				return NULL;
			}
			text = grown;
			capacity = grown_capacity;
		}
		size_t wanted = capacity - length - 1;
		size_t got = fread(text + length, 1, wanted, file);
		length += got;
		if (got < wanted)
			break;
	}
	if (ferror(file)) {
		report(errbuf, errlen, "%s: cannot read manifest: %s", path, strerror(errno));
		return NULL;
	}
	text[length] = '\0';
	if (memchr(text, '\0', length)) {
		report(errbuf, errlen, "%s: not a text file (it holds a NUL byte)", path);
		return NULL;
	}
	char *whole = text;
	text = NULL;
	return whole;
}

int hosttree_build_file(const char *manifest_path, const char *root, char *errbuf, size_t errlen)
{
	if (errbuf && errlen > 0)
		errbuf[0] = '\0';
	if (!manifest_path)
		return report(errbuf, errlen, "hosttree: a manifest path is needed");
	_cleanup_free_ char *text = read_manifest_file(manifest_path, errbuf, errlen);
	if (!text)
		return -1;
	return hosttree_build_string(text, root, errbuf, errlen);
}
