/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * openat2(2) for programs run under valgrind 3.19 (Debian bookworm's), which
 * does not know system call 437 and fails it with ENOSYS ("WARNING:
 * unhandled amd64-linux syscall: 437"), so vfguard could open no device node
 * there. Preloaded by tests/valgrind/roundtrip only, never built into
 * anything shipped: it interposes glibc's syscall(), passes every call on,
 * and only when openat2 comes back ENOSYS does the same walk in user space:
 * one component at a time with O_NOFOLLOW, ELOOP on a symlink before the
 * last component (RESOLVE_NO_SYMLINKS), EXDEV on a ".." above the starting
 * directory (RESOLVE_BENEATH), the last component opened with the caller's
 * flags (openat2(2), "The open_how structure"). It is what the round trip's
 * memcheck needs, not a sandbox: the kernel's check is the real one.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((visibility("default"))) long syscall(long number, ...); /* the project builds with -fvisibility=hidden */

static int open_step(int dir_fd, const char *name, int flags, mode_t mode, int *fd)
{
	int next = openat(dir_fd, name, flags, mode);
	if (next < 0)
		return -1;
	if (*fd >= 0)
		close(*fd);
	*fd = next;
	return 0;
}

static long openat2_walk(int dir_fd, const char *path, const struct open_how *how)
{
	char *copy = strdup(path);
	if (!copy)
		return errno = ENOMEM, -1;
	int fd = -1, depth = 0;
	char *state = NULL, *name = strtok_r(copy, "/", &state);
	if (path[0] == '/' && (how->resolve & RESOLVE_BENEATH)) {
		free(copy);
		return errno = EXDEV, -1;
	}
	while (name) {
		char *next = strtok_r(NULL, "/", &state);
		int at = fd >= 0 ? fd : dir_fd;
		if (strcmp(name, "..") == 0 && --depth < 0 && (how->resolve & RESOLVE_BENEATH)) {
			errno = EXDEV;
			break;
		}
		if (strcmp(name, "..") != 0 && strcmp(name, ".") != 0)
			depth++;
		if (!next) {
			if (open_step(at, name, (int)how->flags, (mode_t)how->mode, &fd) < 0)
				break;
			free(copy);
			return fd;
		}
		struct stat st;
		if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			break;
		if (S_ISLNK(st.st_mode) && (how->resolve & RESOLVE_NO_SYMLINKS)) {
			errno = ELOOP;
			break;
		}
		if (open_step(at, name, O_PATH | O_DIRECTORY | O_CLOEXEC, 0, &fd) < 0)
			break;
		name = next;
	}
	int saved = errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	errno = saved;
	return -1;
}

long syscall(long number, ...)
{
	static long (*real)(long, ...);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	va_list args;
	va_start(args, number);
	long a[6];
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(args, long);
	va_end(args);
	long r = real(number, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (number == SYS_openat2 && r < 0 && errno == ENOSYS)
		return openat2_walk((int)a[0], (const char *)a[1], (const struct open_how *)a[2]);
	return r;
}
