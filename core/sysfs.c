/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading sysfs attributes as the kernel writes them: one value and a
 * newline ("0x10de\n", "243:0\n"). Attributes and links are read through the
 * root prefix; their own symlinks are the kernel's and are followed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"

/* The path a message names: "@dir/@name", or @name itself when @dir is NULL. */
static const char *message_path(const char *dir, const char *name, char *buf, size_t size)
{
	if (!dir)
		return name;
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

/* The line at the start of the attribute open as @fd (@dir/@name, for messages), its newline cut. */
static int read_line_fd(int fd, const char *dir, const char *name, char *buf, size_t size, vfg_error *err)
{
	char path[VFG_PATH_MAX + 64];
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
	if (n < 0) {
		int error = errno;
		return vfg_error_set(err, error, message_path(dir, name, path, sizeof(path)), "cannot read");
	}
	buf[n] = '\0';
	char *newline = strchr(buf, '\n');
	if (newline)
		*newline = '\0';
	else if ((size_t)n == size - 1)
		return vfg_error_set(err, EOVERFLOW, message_path(dir, name, path, sizeof(path)),
				     "value longer than %zu bytes", size - 2);
	return 0;
}

int vfg_sysfs_read_line_at(int dirfd, const char *dir, const char *name, char *buf, size_t size, vfg_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	return read_line_fd(fd, dir, name, buf, size, err);
}

int vfg_sysfs_read_line(const char *path, char *buf, size_t size, vfg_error *err)
{
	return vfg_sysfs_read_line_at(AT_FDCWD, NULL, path, buf, size, err);
}

int vfg_sysfs_read_hex_at(int dirfd, const char *dir, const char *name, unsigned long max, unsigned long *value,
			  vfg_error *err)
{
	char buf[64], path[VFG_PATH_MAX + 64];
	if (vfg_sysfs_read_line_at(dirfd, dir, name, buf, sizeof(buf), err) < 0)
		return -1;
	char *end;
	errno = 0;
	unsigned long v = strtoul(buf, &end, 16);
	if (errno || end == buf || *end || v > max)
		return vfg_error_set(err, 0, message_path(dir, name, path, sizeof(path)),
				     "expected a hex number up to 0x%lx, found '%s'", max, buf);
	*value = v;
	return 0;
}

int vfg_sysfs_read_hex(const char *path, unsigned long max, unsigned long *value, vfg_error *err)
{
	return vfg_sysfs_read_hex_at(AT_FDCWD, NULL, path, max, value, err);
}

/* MAJ:MIN from the attribute open as @fd (@dir/@name for messages; @fd -1: the open's errno is reported). */
static int read_devnum_fd(int fd, const char *dir, const char *name, dev_t *rdev, vfg_error *err)
{
	char buf[64], path[VFG_PATH_MAX + 64];
	if (read_line_fd(fd, dir, name, buf, sizeof(buf), err) < 0)
		return -1;
	unsigned major, minor;
	char extra;
	if (sscanf(buf, "%u:%u%c", &major, &minor, &extra) != 2)
		return vfg_error_set(err, 0, message_path(dir, name, path, sizeof(path)),
				     "expected MAJOR:MINOR, found '%s'", buf);
	*rdev = makedev(major, minor);
	return 0;
}

int vfg_sysfs_read_devnum_at(int dirfd, const char *dir, const char *name, dev_t *rdev, vfg_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	return read_devnum_fd(fd, dir, name, rdev, err);
}

int vfg_sysfs_read_devnum_fd(int fd, const char *path, dev_t *rdev, vfg_error *err)
{
	return read_devnum_fd(fd, NULL, path, rdev, err);
}

int vfg_sysfs_read_devnum(const char *path, dev_t *rdev, vfg_error *err)
{
	return vfg_sysfs_read_devnum_at(AT_FDCWD, NULL, path, rdev, err);
}

int vfg_sysfs_link_name_at(int dirfd, const char *dir, const char *name, char *buf, size_t size, vfg_error *err)
{
	char target[VFG_PATH_MAX], path[VFG_PATH_MAX + 64];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno == ENOENT) {
			buf[0] = '\0';
			return 0;
		}
		int error = errno;
		return vfg_error_set(err, error, message_path(dir, name, path, sizeof(path)), "cannot read link");
	}
	target[n] = '\0';
	const char *slash = strrchr(target, '/');
	const char *link = slash ? slash + 1 : target;
	if (!*link || strlen(link) >= size)
		return vfg_error_set(err, 0, message_path(dir, name, path, sizeof(path)), "unexpected link target '%s'",
				     target);
	snprintf(buf, size, "%s", link);
	return 0;
}

int vfg_sysfs_link_name(const char *path, char *buf, size_t size, vfg_error *err)
{
	return vfg_sysfs_link_name_at(AT_FDCWD, NULL, path, buf, size, err);
}
