/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hosts, cgroups and timed commands for bench/compare (compare_host.h). */
#include "compare_host.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfguard/util.h>

enum { MAX_MADE = 64 };

static char mounted[MAX_MADE][COMPARE_PATH_MAX];
static size_t n_mounted;
static char cgroups[MAX_MADE][COMPARE_PATH_MAX];
static size_t n_cgroups;
static char log_dir[COMPARE_PATH_MAX];

/* ---- hosts ---- */

void compare_function_bdf(int i, char *buf, size_t size)
{
	snprintf(buf, size, "0000:%02x:%02x.%x", 0x10 + i / 256, (i / 8) % 32, i % 8);
}

/*
 * The legacy container and @n functions, each alone in its group with a
 * group node (243:i; group majors are dynamic on a real host). The same
 * shape as bench/bench_plan.c's SR-IOV host, without the cdevs: the bench
 * uses the legacy backend only.
 */
static char *host_manifest(int n_functions)
{
	size_t size = 64 + (size_t)n_functions * 128;
	char *text = malloc(size);
	if (!text)
		return NULL;
	size_t used = (size_t)snprintf(text, size, "misc vfio 10:196\n");
	for (int i = 0; i < n_functions; i++) {
		char bdf[16];
		compare_function_bdf(i, bdf, sizeof(bdf));
		used += (size_t)snprintf(text + used, size - used,
					 "group %d 243:%d\ndevice %s group=%d vendor=8086 device=154c class=020000 "
					 "driver=vfio-pci\n",
					 i, i, bdf, i);
	}
	return text;
}

static char mkhost[COMPARE_PATH_MAX];

void compare_set_mkhost(const char *path)
{
	snprintf(mkhost, sizeof(mkhost), "%s", path);
}

int compare_host_make(const char *work, const char *disk, const char *name, int n_functions, char *root, size_t size)
{
	char manifest_path[COMPARE_PATH_MAX], disk_dir[COMPARE_PATH_MAX], mountpoint[COMPARE_PATH_MAX];
	snprintf(root, size, "%s/%s", work, name);
	snprintf(manifest_path, sizeof(manifest_path), "%s/%s.host", work, name);
	_cleanup_free_ char *manifest = host_manifest(n_functions);
	_cleanup_fclose_ FILE *f = manifest ? fopen(manifest_path, "we") : NULL;
	if (!f || fputs(manifest, f) < 0 || fflush(f) != 0)
		return fprintf(stderr, "compare: cannot write %s: %s\n", manifest_path, strerror(errno)), -1;

	compare_cmd cmd = {0};
	compare_cost cost;
	compare_cmd_add(&cmd, "%s", mkhost);
	compare_cmd_add(&cmd, "%s", manifest_path);
	compare_cmd_add(&cmd, "%s", root);
	int r = compare_run(&cmd, &cost);
	compare_cmd_free(&cmd);
	if (r < 0)
		return -1;

	snprintf(disk_dir, sizeof(disk_dir), "%s/%s", disk, name);
	snprintf(mountpoint, sizeof(mountpoint), "%s/disk", root);
	if (mkdir(disk_dir, 0755) < 0 || mkdir(mountpoint, 0755) < 0)
		return fprintf(stderr, "compare: mkdir %s: %s\n", mountpoint, strerror(errno)), -1;
	if (n_mounted == MAX_MADE || mount(disk_dir, mountpoint, NULL, MS_BIND, NULL) < 0)
		return fprintf(stderr, "compare: bind %s on %s: %s\n", disk_dir, mountpoint, strerror(errno)), -1;
	snprintf(mounted[n_mounted++], COMPARE_PATH_MAX, "%s", mountpoint);
	return 0;
}

void compare_hosts_unmount(void)
{
	while (n_mounted > 0)
		if (umount2(mounted[--n_mounted], MNT_DETACH) < 0)
			fprintf(stderr, "compare: umount %s: %s\n", mounted[n_mounted], strerror(errno));
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (remove(path) < 0)
		fprintf(stderr, "compare: remove %s: %s\n", path, strerror(errno));
	return 0;
}

int compare_remove_tree(const char *path)
{
	/* FTW_MOUNT: never into a /disk still mounted, where the data of another tree is */
	if (nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return fprintf(stderr, "compare: remove %s: %s\n", path, strerror(errno)), -1;
	return 0;
}

/* ---- cgroups ---- */

static int write_file(const char *dir, const char *file, const char *text)
{
	char path[COMPARE_PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return fprintf(stderr, "compare: write '%s' to %s: %s\n", text, path, strerror(errno)), -1;
	return 0;
}

int compare_cgroup_make(bool v2, const char *name, char *dir, size_t size)
{
	snprintf(dir, size, "%s/vfgbench-%d-%s", v2 ? COMPARE_CGROUP_V2 : COMPARE_CGROUP_V1, (int)getpid(), name);
	if (n_cgroups == MAX_MADE || mkdir(dir, 0755) < 0)
		return fprintf(stderr, "compare: mkdir %s: %s\n", dir, strerror(errno)), -1;
	snprintf(cgroups[n_cgroups++], COMPARE_PATH_MAX, "%s", dir);
	/* a new v1 cgroup inherits its parent's default allow: make it deny, as a VM's is */
	if (!v2 && (write_file(dir, "devices.deny", "a") < 0 || write_file(dir, "devices.allow", "c 1:3 rw") < 0))
		return -1;
	return 0;
}

void compare_cgroups_remove(void)
{
	/* no process ever joins them; a v2 program left attached goes with the cgroup */
	while (n_cgroups > 0)
		if (rmdir(cgroups[--n_cgroups]) < 0)
			fprintf(stderr, "compare: rmdir %s: %s\n", cgroups[n_cgroups], strerror(errno));
}

/* ---- commands ---- */

void compare_cmd_add(compare_cmd *cmd, const char *fmt, ...)
{
	if (cmd->n + 2 > cmd->capacity) {
		size_t capacity = cmd->capacity ? cmd->capacity * 2 : 32;
		char **argv = realloc(cmd->argv, capacity * sizeof(*argv));
		if (!argv)
			fprintf(stderr, "compare: out of memory\n"), exit(1);
		cmd->argv = argv;
		cmd->capacity = capacity;
	}
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&cmd->argv[cmd->n], fmt, ap) < 0)
		fprintf(stderr, "compare: out of memory\n"), exit(1);
	va_end(ap);
	cmd->argv[++cmd->n] = NULL;
}

void compare_cmd_free(compare_cmd *cmd)
{
	for (size_t i = 0; i < cmd->n; i++)
		free(cmd->argv[i]);
	free(cmd->argv);
	*cmd = (compare_cmd){0};
}

void compare_set_log_dir(const char *dir)
{
	snprintf(log_dir, sizeof(log_dir), "%s", dir);
}

static void log_path(int slot, char *path, size_t size)
{
	snprintf(path, size, "%s/stderr-%d.log", log_dir, slot);
}

/* The child: stdout to /dev/null, stderr to the slot's log, then @argv. */
static pid_t start(char *const *argv, int slot)
{
	char path[COMPARE_PATH_MAX + 32];
	log_path(slot, path, sizeof(path));
	pid_t pid = fork();
	if (pid == 0) {
		int out = open("/dev/null", O_WRONLY), err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0)
			_exit(126);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		fprintf(stderr, "compare: fork: %s\n", strerror(errno));
	return pid;
}

static int finished(int status, int slot, char *const *argv)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char path[COMPARE_PATH_MAX + 32], text[2048] = "";
	log_path(slot, path, sizeof(path));
	FILE *f = fopen(path, "re");
	if (f) {
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		text[n] = '\0';
		fclose(f);
	}
	fprintf(stderr, "compare: %s %s %s failed (status 0x%x): %s", argv[0], argv[1] ? argv[1] : "",
		argv[1] && argv[2] ? argv[2] : "", (unsigned)status, text[0] ? text : "(no message)\n");
	return -1;
}

int compare_run(const compare_cmd *cmd, compare_cost *cost)
{
	double begin = compare_now();
	pid_t pid = start(cmd->argv, 0);
	int status;
	struct rusage usage;
	if (pid < 0 || wait4(pid, &status, 0, &usage) < 0)
		return -1;
	cost->seconds = compare_now() - begin;
	cost->max_rss_kib = usage.ru_maxrss;
	cost->cpu_seconds = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
			    (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
	return finished(status, 0, cmd->argv);
}

pid_t compare_spawn(const compare_cmd *cmd, int slot)
{
	return start(cmd->argv, slot);
}

int compare_wait(pid_t pid, int slot, const compare_cmd *cmd)
{
	int status;
	if (waitpid(pid, &status, 0) < 0)
		return fprintf(stderr, "compare: waitpid: %s\n", strerror(errno)), -1;
	return finished(status, slot, cmd->argv);
}

bool compare_have_strace(void)
{
	return system("command -v strace >/dev/null 2>&1") == 0;
}

/*
 * strace -c's table (strace(1)): "% time, seconds, usecs/call, calls,
 * errors, syscall", the errors column blank when there were none, and a
 * last row "total". So the calls are the fourth field and the name the last.
 */
static int strace_counts(const char *path, long *calls, long *syncs)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return fprintf(stderr, "compare: %s: %s\n", path, strerror(errno)), -1;
	char line[512];
	*calls = -1;
	*syncs = 0;
	while (fgets(line, sizeof(line), f)) {
		char *fields[8], *save = NULL;
		int n = 0;
		for (char *t = strtok_r(line, " \t\n", &save); t && n < 8; t = strtok_r(NULL, " \t\n", &save))
			fields[n++] = t;
		if (n < 5 || !strchr(fields[0], '.'))
			continue;
		long count = strtol(fields[3], NULL, 10);
		if (strcmp(fields[n - 1], "total") == 0)
			*calls = count;
		else if (strcmp(fields[n - 1], "fdatasync") == 0 || strcmp(fields[n - 1], "fsync") == 0)
			*syncs += count;
	}
	if (*calls < 0)
		return fprintf(stderr, "compare: no total in strace's summary %s\n", path), -1;
	return 0;
}

int compare_strace(const compare_cmd *cmd, long *calls, long *syncs)
{
	char summary[COMPARE_PATH_MAX + 32];
	snprintf(summary, sizeof(summary), "%s/strace.txt", log_dir);
	compare_cmd traced = {0};
	compare_cmd_add(&traced, "strace");
	compare_cmd_add(&traced, "-f");
	compare_cmd_add(&traced, "-c");
	compare_cmd_add(&traced, "-o");
	compare_cmd_add(&traced, "%s", summary);
	compare_cmd_add(&traced, "--");
	for (size_t i = 0; i < cmd->n; i++)
		compare_cmd_add(&traced, "%s", cmd->argv[i]);
	compare_cost cost;
	int r = compare_run(&traced, &cost);
	compare_cmd_free(&traced);
	return r < 0 ? -1 : strace_counts(summary, calls, syncs);
}

double compare_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double compare_median(double *values, size_t n)
{
	if (n == 0)
		return 0;
	qsort(values, n, sizeof(*values), compare_doubles);
	return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}
