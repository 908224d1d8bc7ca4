/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_BENCH_COMPARE_HOST_H
#define VFGUARD_BENCH_COMPARE_HOST_H

/*
 * What bench/compare stands on: generated hosts with real char nodes, real
 * cgroups in this machine's hybrid layout, and the commands it times, each a
 * process of its own (fork, exec, wait4 for its time and peak RSS, or run
 * under strace -f -c for its system calls).
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define COMPARE_CGROUP_V1 "/sys/fs/cgroup/devices" /* as tests/cgroup_testlib.h */
#define COMPARE_CGROUP_V2 "/sys/fs/cgroup/unified"

enum { COMPARE_PATH_MAX = 512 };

/* ---- hosts ---- */

/* Function @i of a generated host, "0000:BB:DD.F" (IOMMU group @i, node /dev/vfio/@i). */
void compare_function_bdf(int i, char *buf, size_t size);
/*
 * Where vfguard-mkhost is (hosttree/). The hosts are built by it, a process
 * of its own, and not by the hosttree library in this one: the peak RSS a
 * child reports includes what its parent had resident when it forked
 * (exec_mmap() keeps the old mm's high-water mark in signal->maxrss,
 * fs/exec.c), so the runner stays small.
 */
void compare_set_mkhost(const char *path);
/*
 * Build a host of @n_functions under @work/@name (on tmpfs, as /dev is), each
 * function on vfio-pci in its own group, and bind-mount a fresh directory of
 * @disk at its /disk, so that state_dir=/disk/... puts the journal on that
 * file system. The caller is in a mount namespace of its own. @root gets the
 * tree's path. 0, or -1 with a message printed.
 */
int compare_host_make(const char *work, const char *disk, const char *name, int n_functions, char *root, size_t size);
/* Unmount every /disk compare_host_make() mounted. */
void compare_hosts_unmount(void);
/* rm -rf @path (0, or -1 with a message printed). */
int compare_remove_tree(const char *path);

/* ---- cgroups ---- */

/*
 * A fresh cgroup vfgbench-PID-@name in the v1 devices hierarchy (denying all
 * but /dev/null, as a VM's cgroup does) or in cgroup2. 0, or -1 with a message.
 */
int compare_cgroup_make(bool v2, const char *name, char *dir, size_t size);
/* Remove every cgroup compare_cgroup_make() made. */
void compare_cgroups_remove(void);

/* ---- commands ---- */

typedef struct {
	char **argv; /* NULL-terminated */
	size_t n, capacity;
} compare_cmd;

/* Append one argument (printf). Exits on out of memory: a benchmark has nothing to save. */
void compare_cmd_add(compare_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void compare_cmd_free(compare_cmd *cmd);

typedef struct {
	double seconds; /* wall clock, fork to reaped */
	long max_rss_kib; /* the process's peak resident set, its waited-for children's included */
	double cpu_seconds; /* user + system time, wait4's */
} compare_cost;

/*
 * Where a command's stderr goes (a file per concurrent slot), shown when it
 * fails; set once before the first run.
 */
void compare_set_log_dir(const char *dir);
/* Run @cmd and wait: 0 when it exited 0, else -1 with its stderr shown. */
int compare_run(const compare_cmd *cmd, compare_cost *cost);
/* Start @cmd with its stderr in log slot @slot: the pid, or -1. */
pid_t compare_spawn(const compare_cmd *cmd, int slot);
/* Wait for compare_spawn()'s @pid: 0 when it exited 0, else -1 with its stderr shown. */
int compare_wait(pid_t pid, int slot, const compare_cmd *cmd);

/* Is strace(1) on PATH? */
bool compare_have_strace(void);
/*
 * Run @cmd under strace -f -c: every system call of it and its children
 * (@calls), and of those fdatasync and fsync (@syncs). 0, or -1.
 */
int compare_strace(const compare_cmd *cmd, long *calls, long *syncs);

double compare_now(void);
/* The median of @n values (sorts them). */
double compare_median(double *values, size_t n);

#endif
