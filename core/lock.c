/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Taking the host lock (journal.h: host_lock_take) with a bound on the wait:
 * a command behind a stuck holder (and the libvirt hook, which holds up a
 * domain's start) fails after lock_timeout seconds, naming the process that
 * holds the lock, instead of waiting forever.
 *
 * The wait is woken by the release itself: every holder takes the lock on
 * a descriptor of its own and releases it by closing that descriptor
 * (journal_read.c), and every close of the file is an inotify IN_CLOSE
 * event on it (inotify(7); fsnotify_close() in the kernel's
 * include/linux/fsnotify.h), also when the holder dies. A waiter that
 * finds the lock taken watches the locked inode before it tries again, so
 * no release between a try and the wait is missed; it tries again at each
 * event, and between events from 1 ms up to 50 ms apart. The inotify
 * instance is the context's, kept for its next wait: closing one that had
 * a watch waits out the kernel's grace period (some 15 ms here), which a
 * command that waited pays once, at its end. Without inotify only the
 * sleeps are left, as before: with 32 commands started at once they left
 * the lock free for most of a sleep, and 32 domains applied together took
 * twice as long as one after another (bench/README.md).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

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

/* The events @closes holds, read and dropped: which close it was does not matter, the next try tells. */
static void drain(int closes)
{
	char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(closes, events, sizeof(events)) > 0)
		;
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
	if (flock(fd, operation | LOCK_NB) == 0)
		return 0; /* free: most takes, and they make nothing to wait with */
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/*
	 * The very inode @fd locks, watched through its /proc/self/fd link (the
	 * path could name another by now), before the next try: a release
	 * after it is an event. The watch goes once the lock is taken.
	 */
	char proc_path[VFG_PROC_FD_PATH_MAX];
	int closes = journal_cache_lock_closes(ctx ? ctx->journals : NULL);
	int watch = closes < 0
			    ? -1
			    : inotify_add_watch(closes, vfg_proc_fd_path(fd, proc_path, sizeof(proc_path)), IN_CLOSE);
	int pause_ms = 1, r;
	for (;;) {
		if (flock(fd, operation | LOCK_NB) == 0) {
			r = 0;
			break;
		}
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = vfg_error_set(err, errno, path, "cannot take the host lock");
			break;
		}
		double left = (double)timeout - seconds_since(&start);
		if (left <= 0) {
			char holder[96];
			holder_describe(fd, holder, sizeof(holder));
			r = vfg_error_set(err, EWOULDBLOCK, path,
					  "the host lock is held by %s: waited %lu s for it (config key lock_timeout); "
					  "nothing was changed",
					  holder, timeout);
			break;
		}
		/*
		 * Until a close of the file, or from 1 ms up to 50 ms between
		 * tries. The close comes before the release: __fput() (the
		 * kernel's fs/file_table.c) reports it, then drops the file's
		 * locks, so a try right after the event can still find the lock
		 * taken; the next try is then 1 ms on, not a close later. The
		 * sleeps also see a holder that unlocks without closing.
		 */
		int wait_ms = pause_ms;
		if (wait_ms > (int)(left * 1000) + 1)
			wait_ms = (int)(left * 1000) + 1;
		struct pollfd ready = {.fd = closes, .events = POLLIN};
		if (watch >= 0 && poll(&ready, 1, wait_ms) > 0) {
			drain(closes);
			pause_ms = 1;
			continue;
		}
		if (watch < 0) {
			struct timespec pause = {.tv_sec = wait_ms / 1000, .tv_nsec = (long)(wait_ms % 1000) * 1000000};
			nanosleep(&pause, NULL);
		}
		if (pause_ms < 50)
			pause_ms = pause_ms * 2 > 50 ? 50 : pause_ms * 2;
	}
	if (watch >= 0) {
		inotify_rm_watch(closes, watch);
		drain(closes); /* the closes seen while waiting, and the watch's removal */
	}
	return r;
}
