/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Taking the host lock (journal.h: host_lock_take) with a bound on the wait:
 * a command behind a stuck holder (and the libvirt hook, which holds up a
 * domain's start) fails after lock_timeout seconds, naming the process that
 * holds the lock, instead of waiting forever.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "journal.h"

/*
 * The pid /proc/locks gives for a lock on the file @st names, 0 when none
 * is listed. Its lines read "N: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE ...",
 * the device numbers in hex (lock_get_status() in the kernel's fs/locks.c);
 * a waiter's line has "->" after the number, and is skipped.
 */
static pid_t lock_holder(const struct stat *st)
{
	_cleanup_fclose_ FILE *locks = fopen("/proc/locks", "re");
	char line[256], want[64];
	snprintf(want, sizeof(want), " %02x:%02x:%lu ", major(st->st_dev), minor(st->st_dev),
		 (unsigned long)st->st_ino);
	while (locks && fgets(line, sizeof(line), locks)) {
		if (strstr(line, "->") || !strstr(line, " FLOCK ") || !strstr(line, want))
			continue;
		char *at = strstr(line, want);
		*at = '\0';
		char *pid = strrchr(line, ' ');
		long number = pid ? strtol(pid + 1, NULL, 10) : 0;
		if (number > 0)
			return (pid_t)number;
	}
	return 0;
}

/* The holder for a message: "pid N (COMM)", or what is known of it. */
static void holder_describe(int fd, char *buf, size_t size)
{
	struct stat st;
	pid_t pid = fstat(fd, &st) == 0 ? lock_holder(&st) : 0;
	if (!pid) {
		snprintf(buf, size, "another process (not listed in /proc/locks)");
		return;
	}
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (f && fgets(comm, sizeof(comm), f))
		comm[strcspn(comm, "\n")] = '\0';
	snprintf(buf, size, "pid %d%s%s%s", (int)pid, comm[0] ? " (" : "", comm, comm[0] ? ")" : "");
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int host_lock_take(const vfg_context *ctx, int fd, const char *path, bool exclusive, vfg_error *err)
{
	const char *setting = ctx && ctx->config ? vfg_config_get(ctx->config, "lock_timeout") : NULL;
	unsigned long timeout = setting && *setting ? strtoul(setting, NULL, 10) : 0;
	int operation = exclusive ? LOCK_EX : LOCK_SH;
	if (timeout == 0) {
		int r;
		do
			r = flock(fd, operation);
		while (r < 0 && errno == EINTR);
		return r < 0 ? vfg_error_set(err, errno, path, "cannot take the host lock") : 0;
	}
	struct timespec start, pause = {.tv_nsec = 1000000};
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, operation | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return vfg_error_set(err, errno, path, "cannot take the host lock");
		if (seconds_since(&start) >= (double)timeout) {
			char holder[96];
			holder_describe(fd, holder, sizeof(holder));
			return vfg_error_set(err, EWOULDBLOCK, path,
					     "the host lock is held by %s: waited %lu s for it (config key "
					     "lock_timeout); nothing was changed",
					     holder, timeout);
		}
		/* From 1 ms up to 50 ms between tries: a short hold costs little, a long one few wakeups. */
		nanosleep(&pause, NULL);
		if (pause.tv_nsec < 50000000)
			pause.tv_nsec *= 2;
	}
}
