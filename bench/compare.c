/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * compare: vfguard against the system-call floor (bench/floor.c) and an
 * administrator's shell hook (bench/shell-hook.sh), paired in one run on
 * this machine's real cgroups (issue 18). Each transaction is apply then
 * revoke of N legacy hostdevs with path access, dac and cgroup the only
 * labelers, each tool a process per step as a hook would run it. The three
 * run interleaved (A B C A B C ...), the median of the rounds is kept, so a
 * machine that is busy now and then slows all three alike.
 *
 * It prints markdown (bench/README.md keeps the latest): the times and
 * ratios per case, the growth t1024/t64, system calls per hostdev and
 * fdatasync+fsync per transaction (strace -f -c), peak RSS (wait4), and
 * four scenarios: many domains in one cgroup, a small domain beside a large
 * one, concurrent domains against serial, and the checks alone (a plan with
 * no labeler) against the floor. Measures; asserts nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/magic.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "compare_host.h"

#include <vfguard/util.h>

enum tool { TOOL_VFGUARD, TOOL_FLOOR, TOOL_SHELL, N_TOOLS };
static const char *const tool_names[N_TOOLS] = {"vfguard", "floor", "shell"};

enum { N_SIZES = 3, MAX_ROUNDS = 64, CONCURRENT_DOMAINS = 32, CONCURRENT_HOSTDEVS = 8 };
static const int sizes[N_SIZES] = {1, 64, 1024};
enum { HOST_FUNCTIONS = 1024 }; /* the largest size; the scenarios' hosts too */

/* The hypervisor's uid and gid, and the owner revoke gives the nodes back to. */
#define VM_OWNER "107:107"
#define HOST_OWNER "0:0"

typedef struct {
	const char *vfguard, *floor, *hook, *mkhost, *source;
	char work[COMPARE_PATH_MAX], disk[COMPARE_PATH_MAX], disk_type[32];
	char host[N_SIZES][COMPARE_PATH_MAX], held_host[COMPARE_PATH_MAX];
	char cgroup[2][N_TOOLS][COMPARE_PATH_MAX]; /* [v2][tool] */
	bool have[2]; /* [v2]: the hierarchy is mounted */
	bool strace;
	int rounds[2][N_SIZES]; /* [disk][size] */
	int domains, held, scenario_rounds;
	bool run_cases, run_counts, run_scenarios;
} bench;

typedef struct {
	bool v2, disk;
	int size, rounds;
	double seconds[N_TOOLS]; /* median apply+revoke; < 0: not run */
	long rss[N_TOOLS]; /* apply's peak over the rounds after the first (the first's when it is the only one) */
	long rss_first[N_TOOLS]; /* the first round's: vfguard's first v1 write of a state dir asks libcgroup */
} case_result;

typedef struct {
	bool v2;
	int size;
	long calls[N_TOOLS]; /* apply + revoke, < 0: not counted */
	long syncs_apply, syncs_revoke; /* vfguard's */
} count_result;

/* ---- the commands ---- */

static const char *state_dir(bool disk)
{
	return disk ? "/disk/vfguard" : "/run/vfguard";
}

/* vfguard apply (@apply) or revoke of domain @name: functions @first .. @first + @n - 1. */
static void vfguard_cmd(const bench *b, compare_cmd *cmd, bool apply, const char *root, const char *name,
			const char *cgroup, bool disk, int first, int n)
{
	compare_cmd_add(cmd, "%s", b->vfguard);
	compare_cmd_add(cmd, apply ? "apply" : "revoke");
	compare_cmd_add(cmd, "--root=%s", root);
	compare_cmd_add(cmd, "--domain=%s", name);
	compare_cmd_add(cmd, "--set=labelers=dac cgroup");
	compare_cmd_add(cmd, "--set=state_dir=%s", state_dir(disk));
	if (!apply)
		return;
	compare_cmd_add(cmd, "--uid=107");
	compare_cmd_add(cmd, "--gid=107");
	compare_cmd_add(cmd, "--cgroup=%s", cgroup);
	for (int i = first; i < first + n; i++) {
		char bdf[16];
		compare_function_bdf(i, bdf, sizeof(bdf));
		compare_cmd_add(cmd, "--hostdev=%s,backend=legacy", bdf);
	}
}

/*
 * The host booted, as vfguard-restore.service leaves it before any VM
 * starts: its boot id is the running kernel's, and vfguard restore --boot
 * has run on each state dir (it asks where this boot's v1 devices
 * hierarchy is, so that no apply of the boot maps libcgroup: docs/cgroup.md).
 */
static int host_boot(const bench *b, const char *root)
{
	char path[COMPARE_PATH_MAX], boot[64] = "";
	_cleanup_fclose_ FILE *in = fopen("/proc/sys/kernel/random/boot_id", "re");
	if (!in || !fgets(boot, sizeof(boot), in))
		return fprintf(stderr, "compare: cannot read the boot id: %s\n", strerror(errno)), -1;
	const char *dirs[] = {"proc", "proc/sys", "proc/sys/kernel", "proc/sys/kernel/random"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return fprintf(stderr, "compare: mkdir %s: %s\n", path, strerror(errno)), -1;
	}
	snprintf(path, sizeof(path), "%s/proc/sys/kernel/random/boot_id", root);
	_cleanup_fclose_ FILE *out = fopen(path, "we");
	if (!out || fputs(boot, out) < 0 || fflush(out) != 0)
		return fprintf(stderr, "compare: cannot write %s: %s\n", path, strerror(errno)), -1;
	for (int disk = 0; disk < 2; disk++) {
		compare_cmd cmd = {0};
		compare_cost cost;
		compare_cmd_add(&cmd, "%s", b->vfguard);
		compare_cmd_add(&cmd, "restore");
		compare_cmd_add(&cmd, "--boot");
		compare_cmd_add(&cmd, "--root=%s", root);
		compare_cmd_add(&cmd, "--set=labelers=dac cgroup");
		compare_cmd_add(&cmd, "--set=state_dir=%s", state_dir(disk));
		int r = compare_run(&cmd, &cost);
		compare_cmd_free(&cmd);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* The floor or the shell hook, for the container and the groups of functions 0 .. @n - 1. */
static void baseline_cmd(const bench *b, compare_cmd *cmd, enum tool tool, bool apply, bool v2, const char *root,
			 const char *cgroup, int n)
{
	if (tool == TOOL_FLOOR) {
		compare_cmd_add(cmd, "%s", b->floor);
		compare_cmd_add(cmd, apply ? "apply" : "revoke");
		compare_cmd_add(cmd, v2 ? "v2" : "v1");
	} else {
		compare_cmd_add(cmd, "/bin/sh");
		compare_cmd_add(cmd, "%s", b->hook);
		compare_cmd_add(cmd, apply ? "apply" : "revoke");
	}
	compare_cmd_add(cmd, "%s", cgroup);
	compare_cmd_add(cmd, apply ? VM_OWNER : HOST_OWNER);
	compare_cmd_add(cmd, "%s/dev/vfio/vfio", root);
	for (int i = 0; i < n; i++)
		compare_cmd_add(cmd, "%s/dev/vfio/%d", root, i);
}

static void transaction_cmds(const bench *b, enum tool tool, bool v2, bool disk, int size_index, compare_cmd *apply,
			     compare_cmd *revoke)
{
	const char *root = b->host[size_index], *cgroup = b->cgroup[v2][tool];
	if (tool == TOOL_VFGUARD) {
		vfguard_cmd(b, apply, true, root, "bench", cgroup, disk, 0, sizes[size_index]);
		vfguard_cmd(b, revoke, false, root, "bench", cgroup, disk, 0, 0);
	} else {
		baseline_cmd(b, apply, tool, true, v2, root, cgroup, sizes[size_index]);
		baseline_cmd(b, revoke, tool, false, v2, root, cgroup, sizes[size_index]);
	}
}

/* A shell has no way to a cgroup2 program's map (bench/shell-hook.sh). */
static bool tool_runs(enum tool tool, bool v2)
{
	return !(tool == TOOL_SHELL && v2);
}

/*
 * The shell hook forks stat and chown for every node, 4100 processes for
 * 1024 hostdevs (half a minute here): one round of it, itself the sum of
 * thousands, and no strace of it at that size.
 */
static int tool_rounds(const case_result *c, enum tool tool)
{
	return tool == TOOL_SHELL && c->size == sizes[N_SIZES - 1] ? 1 : c->rounds;
}

/* ---- the cases: apply+revoke of 1, 64, 1024 hostdevs ---- */

static int measure_case(const bench *b, bool v2, bool disk, int size_index, case_result *result)
{
	*result = (case_result){.v2 = v2, .disk = disk, .size = sizes[size_index]};
	result->rounds = b->rounds[disk][size_index];
	double seconds[N_TOOLS][MAX_ROUNDS];
	double begin = compare_now();
	for (int round = 0; round < result->rounds; round++)
		for (enum tool tool = 0; tool < N_TOOLS; tool++) {
			if (!tool_runs(tool, v2) || round >= tool_rounds(result, tool))
				continue;
			compare_cmd apply = {0}, revoke = {0};
			transaction_cmds(b, tool, v2, disk, size_index, &apply, &revoke);
			compare_cost applied, revoked;
			int r = compare_run(&apply, &applied);
			r = r < 0 ? r : compare_run(&revoke, &revoked);
			compare_cmd_free(&apply);
			compare_cmd_free(&revoke);
			if (r < 0)
				return -1;
			seconds[tool][round] = applied.seconds + revoked.seconds;
			if (round == 0)
				result->rss_first[tool] = applied.max_rss_kib;
			if ((round > 0 || tool_rounds(result, tool) == 1) && applied.max_rss_kib > result->rss[tool])
				result->rss[tool] = applied.max_rss_kib;
		}
	for (enum tool tool = 0; tool < N_TOOLS; tool++)
		result->seconds[tool] =
			tool_runs(tool, v2) ? compare_median(seconds[tool], (size_t)tool_rounds(result, tool)) : -1;
	fprintf(stderr, "compare: %s %s %4d hostdevs, %2d rounds: %.1f s\n", v2 ? "v2" : "v1", disk ? "disk " : "tmpfs",
		result->size, result->rounds, compare_now() - begin);
	return 0;
}

static int count_case(const bench *b, bool v2, int size_index, count_result *result)
{
	*result = (count_result){.v2 = v2, .size = sizes[size_index]};
	for (enum tool tool = 0; tool < N_TOOLS; tool++) {
		result->calls[tool] = -1;
		if (!tool_runs(tool, v2) || (tool == TOOL_SHELL && result->size == sizes[N_SIZES - 1]))
			continue;
		compare_cmd apply = {0}, revoke = {0};
		transaction_cmds(b, tool, v2, false, size_index, &apply, &revoke);
		long calls_apply, calls_revoke, syncs_apply, syncs_revoke;
		int r = compare_strace(&apply, &calls_apply, &syncs_apply);
		r = r < 0 ? r : compare_strace(&revoke, &calls_revoke, &syncs_revoke);
		compare_cmd_free(&apply);
		compare_cmd_free(&revoke);
		if (r < 0)
			return -1;
		result->calls[tool] = calls_apply + calls_revoke;
		if (tool == TOOL_VFGUARD) {
			result->syncs_apply = syncs_apply;
			result->syncs_revoke = syncs_revoke;
		}
	}
	return 0;
}

/* ---- printing ---- */

static void print_ms(double seconds)
{
	if (seconds < 0)
		printf(" - |");
	else
		printf(seconds < 0.1 ? " %.1f |" : " %.0f |", seconds * 1e3);
}

static void print_ratio(double a, double b)
{
	if (a < 0 || b <= 0)
		printf(" - |");
	else
		printf(" %.1fx |", a / b);
}

static void print_cases(const case_result *cases, size_t n)
{
	printf("\napply+revoke, median of the rounds (ms):\n\n"
	       "| cgroup | state | hostdevs | rounds | vfguard | floor | shell | vfguard/floor | shell/vfguard |\n"
	       "|---|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		const case_result *c = &cases[i];
		printf("| %s | %s | %d | %d", c->v2 ? "v2" : "v1", c->disk ? "disk" : "tmpfs", c->size, c->rounds);
		if (tool_runs(TOOL_SHELL, c->v2) && tool_rounds(c, TOOL_SHELL) != c->rounds)
			printf(" (shell %d)", tool_rounds(c, TOOL_SHELL));
		printf(" |");
		for (enum tool tool = 0; tool < N_TOOLS; tool++)
			print_ms(c->seconds[tool]);
		print_ratio(c->seconds[TOOL_VFGUARD], c->seconds[TOOL_FLOOR]);
		print_ratio(c->seconds[TOOL_SHELL], c->seconds[TOOL_VFGUARD]);
		printf("\n");
	}

	printf("\ngrowth t1024/t64 (linear: 16.2, (1024+1)/(64+1) nodes):\n\n"
	       "| cgroup | state | vfguard | floor | shell |\n|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		if (cases[i].size != sizes[1])
			continue;
		for (size_t j = 0; j < n; j++) {
			const case_result *small = &cases[i], *big = &cases[j];
			if (big->size != sizes[2] || big->v2 != small->v2 || big->disk != small->disk)
				continue;
			printf("| %s | %s |", small->v2 ? "v2" : "v1", small->disk ? "disk" : "tmpfs");
			for (enum tool tool = 0; tool < N_TOOLS; tool++)
				print_ratio(big->seconds[tool], small->seconds[tool]);
			printf("\n");
		}
	}

	/*
	 * The first round apart: the first v1 write of the host's state dir,
	 * which would ask libcgroup where the devices hierarchy is had the
	 * boot's restore not asked already (host_boot, docs/cgroup.md).
	 */
	printf("\npeak RSS of one apply (KiB, wait4's ru_maxrss, the largest of the rounds after the first, and the "
	       "first; tmpfs):\n\n"
	       "| cgroup | hostdevs | vfguard | vfguard, first round | floor | shell |\n|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		const case_result *c = &cases[i];
		if (c->disk)
			continue;
		printf("| %s | %d | %ld | %ld |", c->v2 ? "v2" : "v1", c->size, c->rss[TOOL_VFGUARD],
		       c->rss_first[TOOL_VFGUARD]);
		for (enum tool tool = 0; tool < N_TOOLS; tool++)
			if (tool != TOOL_VFGUARD)
				tool_runs(tool, c->v2) ? printf(" %ld |", c->rss[tool]) : printf(" - |");
		printf("\n");
	}
}

static void print_counts(const count_result *counts, size_t n)
{
	printf("\nsystem calls per hostdev (apply+revoke, strace -f -c, children included) and vfguard's\n"
	       "fdatasync+fsync per transaction (the same on tmpfs and disk):\n\n"
	       "| cgroup | hostdevs | vfguard | floor | shell | syncs apply | syncs revoke | syncs/hostdev |\n"
	       "|---|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < n; i++) {
		const count_result *c = &counts[i];
		printf("| %s | %d |", c->v2 ? "v2" : "v1", c->size);
		for (enum tool tool = 0; tool < N_TOOLS; tool++)
			c->calls[tool] < 0 ? printf(" - |") : printf(" %.0f |", (double)c->calls[tool] / c->size);
		printf(" %ld | %ld | %.1f |\n", c->syncs_apply, c->syncs_revoke,
		       (double)(c->syncs_apply + c->syncs_revoke) / c->size);
	}
}

/* ---- the scenarios (v1 unless they say v2; state on tmpfs) ---- */

static double median_of(const double *values, int from, int to)
{
	double copy[16];
	int n = 0;
	for (int i = from; i < to && n < 16; i++)
		copy[n++] = values[i];
	return compare_median(copy, (size_t)n);
}

static void print_against(double *a, double *b, size_t n, bool bold);

typedef struct {
	double wall[2][MAX_ROUNDS], cpu[2][MAX_ROUNDS]; /* [0] the 2nd grant, [1] the one after the N held */
	int rounds;
} paired_grants;

/* Apply domain @name (function @function, one hostdev) in @cgroup of @root, then revoke it: the apply's cost. */
static int probe_grant(const bench *b, const char *root, const char *cgroup, const char *name, int function,
		       compare_cost *cost)
{
	compare_cmd apply = {0}, revoke = {0};
	compare_cost revoked;
	vfguard_cmd(b, &apply, true, root, name, cgroup, false, function, 1);
	vfguard_cmd(b, &revoke, false, root, name, cgroup, false, 0, 0);
	int r = compare_run(&apply, cost);
	r = r < 0 ? r : compare_run(&revoke, &revoked);
	compare_cmd_free(&apply);
	compare_cmd_free(&revoke);
	return r;
}

/*
 * With @held domains holding the cgroup's rule on @root: a grant there
 * against the 2nd grant of a cgroup of its own on the other host of the
 * same size (one domain holds it), rounds interleaved and each probe
 * revoked again, so that a machine busy now and then slows both alike
 * (the first and last grants of the sequence lie a minute apart). Wall
 * clock and CPU time (wait4's user + system).
 */
static int measure_paired_grants(const bench *b, bool v2, const char *root, const char *cgroup, int held,
				 paired_grants *paired)
{
	char second_cgroup[COMPARE_PATH_MAX];
	compare_cmd cmd = {0};
	compare_cost cost;
	paired->rounds = 2 * b->scenario_rounds < MAX_ROUNDS ? 2 * b->scenario_rounds : MAX_ROUNDS;
	if (compare_cgroup_make(v2, v2 ? "second-v2" : "second", second_cgroup, sizeof(second_cgroup)) < 0)
		return -1;
	vfguard_cmd(b, &cmd, true, b->held_host, "first", second_cgroup, false, 0, 1);
	int r = compare_run(&cmd, &cost);
	compare_cmd_free(&cmd);
	for (int round = 0; r == 0 && round < paired->rounds; round++) {
		r = probe_grant(b, b->held_host, second_cgroup, "probe", 1, &cost);
		paired->wall[0][round] = cost.seconds;
		paired->cpu[0][round] = cost.cpu_seconds;
		r = r < 0 ? r : probe_grant(b, root, cgroup, "probe", held, &cost);
		paired->wall[1][round] = cost.seconds;
		paired->cpu[1][round] = cost.cpu_seconds;
	}
	vfguard_cmd(b, &cmd, false, b->held_host, "first", second_cgroup, false, 0, 0);
	if (compare_run(&cmd, &cost) < 0)
		r = -1;
	compare_cmd_free(&cmd);
	return r;
}

/* Domains dom-0 .. dom-N-1, one hostdev each, all in one cgroup (@v2 or v1): does the Nth grant cost the 2nd's? */
static int scenario_one_cgroup(const bench *b, bool v2)
{
	const char *root = b->host[N_SIZES - 1];
	char cgroup[COMPARE_PATH_MAX], name[32];
	if (compare_cgroup_make(v2, v2 ? "shared-v2" : "shared", cgroup, sizeof(cgroup)) < 0)
		return -1;
	double *grant = calloc((size_t)b->domains, sizeof(double)),
	       *revoke = calloc((size_t)b->domains, sizeof(double));
	if (!grant || !revoke)
		return free(grant), free(revoke), -1;
	double begin = compare_now();
	int applied = 0, r = 0;
	for (; applied < b->domains; applied++) {
		compare_cmd cmd = {0};
		compare_cost cost;
		snprintf(name, sizeof(name), "dom-%d", applied);
		vfguard_cmd(b, &cmd, true, root, name, cgroup, false, applied, 1);
		r = compare_run(&cmd, &cost);
		compare_cmd_free(&cmd);
		if (r < 0)
			break;
		grant[applied] = cost.seconds;
	}
	double applying = compare_now() - begin;
	paired_grants paired = {0};
	if (r == 0 && applied < HOST_FUNCTIONS)
		r = measure_paired_grants(b, v2, root, cgroup, applied, &paired);
	for (int i = 0; i < applied; i++) {
		compare_cmd cmd = {0};
		compare_cost cost = {0};
		snprintf(name, sizeof(name), "dom-%d", i);
		vfguard_cmd(b, &cmd, false, root, name, cgroup, false, 0, 0);
		if (compare_run(&cmd, &cost) < 0)
			r = -1;
		compare_cmd_free(&cmd);
		revoke[i] = cost.seconds;
	}
	fprintf(stderr, "compare: %d domains in one %s cgroup: %.1f s\n", applied, v2 ? "v2" : "v1",
		compare_now() - begin);

	printf("- **%d single-hostdev domains in one %s cgroup** (tmpfs, each grant a `vfguard apply`):", b->domains,
	       v2 ? "v2" : "v1");
	if (applied < b->domains)
		printf(" **failed at domain %d** (its error above, on stderr).", applied + 1);
	if (applied >= 12) {
		double second = median_of(grant, 1, 11), last = median_of(grant, applied - 10, applied);
		printf(" grant #2 %.1f ms, #%d %.1f ms; median of #2-#11 %.1f ms, of #%d-#%d %.1f ms: "
		       "**%.2fx**. Revoke #1 (%d others hold the cgroup's rule) %.1f ms, the last %.1f ms. "
		       "All %d grants took %.1f s.",
		       grant[1] * 1e3, applied, grant[applied - 1] * 1e3, second * 1e3, applied - 9, applied,
		       last * 1e3, last / second, applied - 1, revoke[0] * 1e3, revoke[applied - 1] * 1e3, applied,
		       applying);
	}
	if (paired.rounds > 0) {
		size_t n = (size_t)paired.rounds;
		printf(" Interleaved (%d rounds, each probe revoked again), grant #%d against a #2 in a cgroup of its "
		       "own on the other host: wall ",
		       paired.rounds, applied + 1);
		print_against(paired.wall[1], paired.wall[0], n, true);
		printf("; CPU (user + system) ");
		print_against(paired.cpu[1], paired.cpu[0], n, true);
		printf(".");
	}
	printf("\n");
	free(grant);
	free(revoke);
	return r;
}

/* "A ms against B ms, Rx": the medians of @a and @b over @n rounds, and their ratio. */
static void print_against(double *a, double *b, size_t n, bool bold)
{
	double x = compare_median(a, n), y = compare_median(b, n);
	printf(bold ? "%.1f ms against %.1f ms, **%.2fx**" : "%.1f ms against %.1f ms, %.2fx", x * 1e3, y * 1e3, x / y);
}

/* A one-hostdev domain on an empty host, against the same beside a domain that holds @held hostdevs. */
static int scenario_beside_large(const bench *b)
{
	char holder_cgroup[COMPARE_PATH_MAX], cgroup[2][COMPARE_PATH_MAX];
	const char *roots[2] = {b->host[N_SIZES - 1], b->held_host};
	if (compare_cgroup_make(false, "holder", holder_cgroup, sizeof(holder_cgroup)) < 0 ||
	    compare_cgroup_make(false, "small-empty", cgroup[0], sizeof(cgroup[0])) < 0 ||
	    compare_cgroup_make(false, "small-held", cgroup[1], sizeof(cgroup[1])) < 0)
		return -1;
	compare_cmd cmd = {0};
	compare_cost cost;
	double begin = compare_now();
	vfguard_cmd(b, &cmd, true, b->held_host, "holder", holder_cgroup, false, 0, b->held);
	int r = compare_run(&cmd, &cost);
	compare_cmd_free(&cmd);
	if (r < 0)
		return -1;
	double holder_apply = cost.seconds;

	double apply[2][MAX_ROUNDS], both[2][MAX_ROUNDS];
	for (int round = 0; round < b->scenario_rounds && r == 0; round++)
		for (int held = 0; held < 2 && r == 0; held++) {
			compare_cmd apply_cmd = {0}, revoke_cmd = {0};
			compare_cost applied, revoked;
			vfguard_cmd(b, &apply_cmd, true, roots[held], "small", cgroup[held], false, HOST_FUNCTIONS - 1,
				    1);
			vfguard_cmd(b, &revoke_cmd, false, roots[held], "small", NULL, false, 0, 0);
			r = compare_run(&apply_cmd, &applied);
			r = r < 0 ? r : compare_run(&revoke_cmd, &revoked);
			compare_cmd_free(&apply_cmd);
			compare_cmd_free(&revoke_cmd);
			apply[held][round] = applied.seconds;
			both[held][round] = applied.seconds + revoked.seconds;
		}
	vfguard_cmd(b, &cmd, false, b->held_host, "holder", NULL, false, 0, 0);
	if (compare_run(&cmd, &cost) < 0)
		r = -1;
	compare_cmd_free(&cmd);
	fprintf(stderr, "compare: a domain beside one of %d hostdevs: %.1f s\n", b->held, compare_now() - begin);
	if (r < 0)
		return -1;

	size_t n = (size_t)b->scenario_rounds;
	printf("- **a 1-hostdev domain beside one holding %d hostdevs** (v1, tmpfs, %d rounds interleaved with the "
	       "same on an empty host of the same size): apply ",
	       b->held, b->scenario_rounds);
	print_against(apply[1], apply[0], n, true);
	printf("; apply+revoke ");
	print_against(both[1], both[0], n, false);
	printf(". (The holder's apply took %.0f ms, its revoke %.0f ms.)\n", holder_apply * 1e3, cost.seconds * 1e3);
	return 0;
}

/*
 * What the checks the floor does not make cost by themselves, at the
 * largest size: vfguard plan with no labeler (sysfs read for every
 * function, its group and the group node's number, each node opened and
 * checked against it; nothing changed, no journal) against the floor's
 * whole apply+revoke of the same nodes, rounds interleaved.
 */
static int scenario_checks_alone(const bench *b)
{
	int size = sizes[N_SIZES - 1];
	const char *root = b->host[N_SIZES - 1], *cgroup = b->cgroup[0][TOOL_FLOOR];
	double plan[MAX_ROUNDS], floor_both[MAX_ROUNDS], begin = compare_now();
	int rounds = b->rounds[0][N_SIZES - 1], r = 0;
	for (int round = 0; round < rounds && r == 0; round++) {
		compare_cmd plan_cmd = {0}, apply = {0}, revoke = {0};
		compare_cost planned, applied, revoked;
		compare_cmd_add(&plan_cmd, "%s", b->vfguard);
		compare_cmd_add(&plan_cmd, "plan");
		compare_cmd_add(&plan_cmd, "--root=%s", root);
		compare_cmd_add(&plan_cmd, "--domain=checks");
		compare_cmd_add(&plan_cmd, "--set=labelers=");
		compare_cmd_add(&plan_cmd, "--set=state_dir=%s", state_dir(false));
		compare_cmd_add(&plan_cmd, "--uid=107");
		compare_cmd_add(&plan_cmd, "--gid=107");
		for (int i = 0; i < size; i++) {
			char bdf[16];
			compare_function_bdf(i, bdf, sizeof(bdf));
			compare_cmd_add(&plan_cmd, "--hostdev=%s,backend=legacy", bdf);
		}
		baseline_cmd(b, &apply, TOOL_FLOOR, true, false, root, cgroup, size);
		baseline_cmd(b, &revoke, TOOL_FLOOR, false, false, root, cgroup, size);
		r = compare_run(&plan_cmd, &planned);
		r = r < 0 ? r : compare_run(&apply, &applied);
		r = r < 0 ? r : compare_run(&revoke, &revoked);
		compare_cmd_free(&plan_cmd);
		compare_cmd_free(&apply);
		compare_cmd_free(&revoke);
		plan[round] = planned.seconds;
		floor_both[round] = applied.seconds + revoked.seconds;
	}
	fprintf(stderr, "compare: the checks alone at %d hostdevs: %.1f s\n", size, compare_now() - begin);
	if (r < 0)
		return -1;
	printf("- **the checks alone at %d hostdevs** (v1, tmpfs, %d rounds interleaved): `vfguard plan` with no "
	       "labeler (every function's sysfs, its group and the group node's number read, each node opened and "
	       "checked; nothing changed) against the floor's whole apply+revoke: ",
	       size, rounds);
	print_against(plan, floor_both, (size_t)rounds, true);
	printf(".\n");
	return 0;
}

/* The wall time of @n steps: one after another, or all started at once. */
static int steps_wall(compare_cmd *cmds, int n, bool concurrent, double *seconds)
{
	double begin = compare_now();
	pid_t pids[CONCURRENT_DOMAINS];
	int r = 0;
	for (int i = 0; i < n; i++) {
		pids[i] = compare_spawn(&cmds[i], i);
		if (pids[i] < 0)
			return -1;
		if (!concurrent && compare_wait(pids[i], i, &cmds[i]) < 0)
			r = -1;
	}
	for (int i = 0; concurrent && i < n; i++)
		if (compare_wait(pids[i], i, &cmds[i]) < 0)
			r = -1;
	*seconds = compare_now() - begin;
	return r;
}

/* 32 domains of 8 hostdevs, each in its own cgroup: applied and revoked all at once, against one by one. */
static int scenario_concurrent(const bench *b)
{
	const char *root = b->host[N_SIZES - 1];
	compare_cmd applies[CONCURRENT_DOMAINS] = {0}, revokes[CONCURRENT_DOMAINS] = {0};
	for (int i = 0; i < CONCURRENT_DOMAINS; i++) {
		char cgroup[COMPARE_PATH_MAX], name[32];
		snprintf(name, sizeof(name), "conc-%d", i);
		if (compare_cgroup_make(false, name, cgroup, sizeof(cgroup)) < 0)
			return -1;
		vfguard_cmd(b, &applies[i], true, root, name, cgroup, false, i * CONCURRENT_HOSTDEVS,
			    CONCURRENT_HOSTDEVS);
		vfguard_cmd(b, &revokes[i], false, root, name, NULL, false, 0, 0);
	}
	double apply[2][MAX_ROUNDS], revoke[2][MAX_ROUNDS], begin = compare_now();
	int r = 0;
	for (int round = 0; round < b->scenario_rounds && r == 0; round++)
		for (int concurrent = 0; concurrent < 2 && r == 0; concurrent++) {
			r = steps_wall(applies, CONCURRENT_DOMAINS, concurrent, &apply[concurrent][round]);
			if (steps_wall(revokes, CONCURRENT_DOMAINS, concurrent, &revoke[concurrent][round]) < 0)
				r = -1;
		}
	for (int i = 0; i < CONCURRENT_DOMAINS; i++) {
		compare_cmd_free(&applies[i]);
		compare_cmd_free(&revokes[i]);
	}
	fprintf(stderr, "compare: %d domains, concurrent and serial: %.1f s\n", CONCURRENT_DOMAINS,
		compare_now() - begin);
	if (r < 0)
		return -1;
	size_t n = (size_t)b->scenario_rounds;
	printf("- **%d domains of %d hostdevs, each in its own v1 cgroup** (tmpfs, %d rounds): all applied at once "
	       "against one after another: ",
	       CONCURRENT_DOMAINS, CONCURRENT_HOSTDEVS, b->scenario_rounds);
	print_against(apply[1], apply[0], n, true);
	printf("; revoked at once against one after another: ");
	print_against(revoke[1], revoke[0], n, false);
	printf(".\n");
	return 0;
}

/* ---- setup ---- */

static void print_header(const bench *b)
{
	char date[32], commit[128] = "unknown", command[COMPARE_PATH_MAX + 64];
	time_t now = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", gmtime(&now));
	snprintf(command, sizeof(command), "git -C '%s' log -1 --format='%%h %%s' 2>/dev/null", b->source);
	FILE *git = b->source ? popen(command, "r") : NULL;
	if (git) {
		if (fgets(commit, sizeof(commit), git))
			commit[strcspn(commit, "\n")] = '\0';
		pclose(git);
	}
	struct utsname host;
	uname(&host);
	printf("## vfguard against the floor and a shell hook\n\n"
	       "%s, commit %s; kernel %s, %ld cores; state on tmpfs (/dev/shm) or disk (%s, %s).\n",
	       date, commit, host.release, sysconf(_SC_NPROCESSORS_ONLN), b->disk, b->disk_type);
	printf("Each of apply and revoke is a process of its own (vfguard's CLI; the floor binary; /bin/sh running "
	       "the hook, which forks stat and chown per node), uid:gid 107:107, legacy backend, path access, "
	       "`labelers=dac cgroup`; N hostdevs are N + 1 nodes (the container's 0666 mode needs no chown). "
	       "The shell hook has no v2 form (`-`).\n");
}

static int disk_find(bench *b, const char *parent)
{
	struct statfs fs;
	if (statfs(parent, &fs) < 0)
		return fprintf(stderr, "compare: %s: %s\n", parent, strerror(errno)), -1;
	if ((unsigned long)fs.f_type == TMPFS_MAGIC)
		return fprintf(stderr, "compare: %s is on tmpfs; give --disk a directory on a disk\n", parent), -1;
	snprintf(b->disk_type, sizeof(b->disk_type), "%s",
		 (unsigned long)fs.f_type == EXT4_SUPER_MAGIC ? "ext4" : "not tmpfs");
	snprintf(b->disk, sizeof(b->disk), "%s/vfguard-compare-XXXXXX", parent);
	if (!mkdtemp(b->disk))
		return fprintf(stderr, "compare: mkdtemp %s: %s\n", b->disk, strerror(errno)), -1;
	return 0;
}

static int setup(bench *b, const char *disk_parent)
{
	/* the hosts' /disk binds are this process's alone, and go with it */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return fprintf(stderr, "compare: a mount namespace of its own: %s\n", strerror(errno)), -1;
	snprintf(b->work, sizeof(b->work), "/dev/shm/vfguard-compare-XXXXXX");
	if (!mkdtemp(b->work))
		return fprintf(stderr, "compare: mkdtemp %s: %s\n", b->work, strerror(errno)), -1;
	compare_set_log_dir(b->work);
	if (disk_find(b, disk_parent) < 0)
		return -1;
	double begin = compare_now();
	for (int i = 0; i < N_SIZES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "host-%d", sizes[i]);
		if (compare_host_make(b->work, b->disk, name, sizes[i], b->host[i], sizeof(b->host[i])) < 0 ||
		    host_boot(b, b->host[i]) < 0)
			return -1;
	}
	if (b->run_scenarios &&
	    (compare_host_make(b->work, b->disk, "host-held", HOST_FUNCTIONS, b->held_host, sizeof(b->held_host)) < 0 ||
	     host_boot(b, b->held_host) < 0))
		return -1;
	fprintf(stderr, "compare: hosts built in %.1f s under %s\n", compare_now() - begin, b->work);

	struct stat st;
	b->have[0] = stat(COMPARE_CGROUP_V1 "/devices.list", &st) == 0;
	b->have[1] = stat(COMPARE_CGROUP_V2 "/cgroup.procs", &st) == 0;
	for (int v2 = 0; v2 < 2; v2++)
		for (enum tool tool = 0; tool < N_TOOLS && b->have[v2]; tool++)
			if (compare_cgroup_make(v2, tool_names[tool], b->cgroup[v2][tool],
						sizeof(b->cgroup[v2][tool])) < 0)
				return -1;
	return 0;
}

static void teardown(bench *b)
{
	compare_cgroups_remove();
	compare_hosts_unmount();
	if (b->work[0])
		compare_remove_tree(b->work);
	if (b->disk[0])
		compare_remove_tree(b->disk);
}

/* One option into @b (or the other outputs): 0, or -1 for --help and what is no option. */
static int option_set(bench *b, int opt, const char *arg, const char **disk_parent, const char **only, bool *quick)
{
	if (opt == 'v')
		b->vfguard = arg;
	else if (opt == 'f')
		b->floor = arg;
	else if (opt == 'k')
		b->hook = arg;
	else if (opt == 'm')
		b->mkhost = arg;
	else if (opt == 's')
		b->source = arg;
	else if (opt == 'd')
		*disk_parent = arg;
	else if (opt == 'o')
		*only = arg;
	else if (opt == 'q')
		*quick = true;
	else if (opt == 'n')
		b->domains = atoi(arg);
	else if (opt == 'H')
		b->held = atoi(arg);
	else
		return -1;
	return 0;
}

static void usage(FILE *out)
{
	fputs("Usage: compare --vfguard PATH --floor PATH --hook PATH --mkhost PATH [OPTIONS]\n"
	      "\n"
	      "Time vfguard against the system-call floor and a shell hook (bench/README.md).\n"
	      "Runs as root: it makes host trees, cgroups and a bind mount of its own.\n"
	      "\n"
	      "  --vfguard, --floor, --hook, --mkhost  the programs (meson passes them)\n"
	      "  --source DIR   the source tree, whose commit the header names\n"
	      "  --disk DIR     where the on-disk state goes (default /var/tmp; not tmpfs)\n"
	      "  --only WHAT    cases, counts or scenarios (default: all three)\n"
	      "  --quick        1-3 rounds, 100 domains: to try the runner, not to measure\n"
	      "  --domains N    domains sharing one cgroup (default 1000, at most 1024)\n"
	      "  --held N       hostdevs the large domain holds (default 1000, at most 1023)\n",
	      out);
}

int main(int argc, char **argv)
{
	bench b = {0};
	const char *disk_parent = "/var/tmp", *only = NULL;
	bool quick = false;
	static const struct option options[] = {
		{"vfguard", required_argument, NULL, 'v'}, {"floor", required_argument, NULL, 'f'},
		{"hook", required_argument, NULL, 'k'},    {"mkhost", required_argument, NULL, 'm'},
		{"source", required_argument, NULL, 's'},  {"disk", required_argument, NULL, 'd'},
		{"only", required_argument, NULL, 'o'},    {"quick", no_argument, NULL, 'q'},
		{"domains", required_argument, NULL, 'n'}, {"held", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	for (int opt; (opt = getopt_long(argc, argv, "h", options, NULL)) != -1;)
		if (option_set(&b, opt, optarg, &disk_parent, &only, &quick) < 0)
			return opt == 'h' ? (usage(stdout), 0) : (usage(stderr), 2);
	/* rounds [disk][1, 64, 1024 hostdevs]: as many as a run of about ten minutes here allows */
	const bench full = {.rounds = {{21, 9, 5}, {7, 5, 3}}, .domains = 1000, .held = 1000, .scenario_rounds = 5};
	const bench fast = {.rounds = {{3, 2, 1}, {1, 1, 1}}, .domains = 100, .held = 100, .scenario_rounds = 2};
	const bench *plan = quick ? &fast : &full;
	memcpy(b.rounds, plan->rounds, sizeof(b.rounds));
	b.scenario_rounds = plan->scenario_rounds;
	b.domains = b.domains ? b.domains : plan->domains;
	b.held = b.held ? b.held : plan->held;
	if (!b.vfguard || !b.floor || !b.hook || !b.mkhost || b.domains < 12 || b.domains > HOST_FUNCTIONS ||
	    b.held < 1 || b.held >= HOST_FUNCTIONS)
		return usage(stderr), 2;
	b.run_cases = !only || strcmp(only, "cases") == 0;
	b.run_counts = !only || strcmp(only, "counts") == 0;
	b.run_scenarios = !only || strcmp(only, "scenarios") == 0;
	if (!b.run_cases && !b.run_counts && !b.run_scenarios)
		return usage(stderr), 2;
	if (geteuid() != 0) {
		fprintf(stderr, "compare: needs root (char nodes, cgroups, a bind mount): skipped\n");
		return 77; /* meson's "skipped" */
	}
	b.strace = compare_have_strace();
	compare_set_mkhost(b.mkhost);

	double begin = compare_now();
	int r = setup(&b, disk_parent);
	if (r == 0)
		print_header(&b);
	case_result cases[2 * 2 * N_SIZES];
	count_result counts[2 * N_SIZES];
	size_t n_cases = 0, n_counts = 0;
	for (int v2 = 0; v2 < 2 && r == 0 && b.run_cases; v2++)
		for (int disk = 0; disk < 2 && r == 0 && b.have[v2]; disk++)
			for (int size = 0; size < N_SIZES && r == 0; size++)
				r = measure_case(&b, v2, disk, size, &cases[n_cases++]);
	if (r == 0 && n_cases > 0)
		print_cases(cases, n_cases);
	for (int v2 = 0; v2 < 2 && r == 0 && b.run_counts && b.strace; v2++)
		for (int size = 0; size < N_SIZES && r == 0 && b.have[v2]; size++)
			r = count_case(&b, v2, size, &counts[n_counts++]);
	if (r == 0 && n_counts > 0)
		print_counts(counts, n_counts);
	if (r == 0 && b.run_counts && !b.strace)
		printf("\nstrace is not installed: no system call counts (scripts/install-deps installs it).\n");
	if (r == 0 && b.run_scenarios && (b.have[0] || b.have[1])) {
		printf("\nscenarios:\n\n");
		/* The 1000-domain scenario on each hierarchy mounted, the others on v1; one failing (its error on
		 * stderr) fails the run but does not skip the next. */
		if (b.have[0] && scenario_one_cgroup(&b, false) < 0)
			r = -1;
		if (b.have[1] && scenario_one_cgroup(&b, true) < 0)
			r = -1;
		if (b.have[0] &&
		    (scenario_beside_large(&b) < 0 || scenario_concurrent(&b) < 0 || scenario_checks_alone(&b) < 0))
			r = -1;
	}
	teardown(&b);
	fflush(stdout);
	fprintf(stderr, "compare: %s in %.0f s\n", r == 0 ? "done" : "FAILED", compare_now() - begin);
	return r == 0 ? 0 : 1;
}
