/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a journaled transaction costs: apply then revoke of one domain with
 * the real DAC labeler, for 1, 4 and 16 hostdevs sharing a 0600 container
 * (so each needs a counted ACL entry too), with the state directory on the
 * disk (/var/tmp) and on tmpfs (/dev/shm, as /run is on a real host). Every
 * journal line is fdatasync'ed, so the disk numbers are mostly fsync time.
 * Measures; asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <vfguard/vfguard.h>

#include "hosttree.h"

enum { N_GROUPS = 16, ROUNDS = 100 };

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_host(const char *root)
{
	char manifest[4096], error[512];
	size_t used = (size_t)snprintf(manifest, sizeof(manifest), "misc vfio 10:196\n");
	for (int g = 0; g < N_GROUPS; g++)
		used += (size_t)snprintf(manifest + used, sizeof(manifest) - used,
					 "group %d 243:%d\ndevice 0000:%02x:00.0 group=%d vendor=8086 device=10d3 "
					 "class=020000 driver=vfio-pci\n",
					 g, g, g + 1, g);
	if (hosttree_build_string(manifest, root, error, sizeof(error)) < 0)
		return fprintf(stderr, "%s\n", error), -1;
	char path[256];
	snprintf(path, sizeof(path), "%s/dev/vfio/vfio", root);
	if (chmod(path, 0600) < 0)
		return perror(path), -1;
	snprintf(path, sizeof(path), "%s/etc", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/etc/vfguard", root);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/etc/vfguard/vfguard.conf", root);
	FILE *config = fopen(path, "w");
	if (!config)
		return perror(path), -1;
	fputs("labelers = dac\n", config);
	return fclose(config);
}

static int bench(vfg_context *ctx, const char *where, size_t n_hostdevs)
{
	vfg_hostdev_spec specs[N_GROUPS];
	vfg_error err = {0};
	for (size_t i = 0; i < n_hostdevs; i++) {
		char text[32];
		snprintf(text, sizeof(text), "%02zx:00.0,backend=legacy", i + 1);
		if (vfg_hostdev_spec_parse(ctx, text, &specs[i], &err) < 0)
			return fprintf(stderr, "%s\n", err.message), -1;
	}
	vfg_domain domain = {.name = "bench", .uid = 107, .gid = 107, .n_hostdevs = n_hostdevs, .hostdevs = specs};
	double in_apply = 0, in_revoke = 0;
	for (int round = 0; round < ROUNDS; round++) {
		vfg_plan *plan;
		if (vfg_plan_build(ctx, &domain, &plan, &err) < 0)
			return fprintf(stderr, "%s\n", err.message), -1;
		double start = seconds_now();
		int r = vfg_plan_apply(ctx, plan, NULL, &err);
		double applied = seconds_now();
		vfg_plan_free(plan);
		if (r < 0 || vfg_domain_revoke(ctx, "bench", NULL, &err) < 0)
			return fprintf(stderr, "%s\n", err.message), -1;
		in_apply += applied - start;
		in_revoke += seconds_now() - applied;
	}
	printf("%-9s %2zu hostdevs (%2zu changes): apply %7.2f ms, revoke %7.2f ms\n", where, n_hostdevs,
	       n_hostdevs + 1, in_apply / ROUNDS * 1e3, in_revoke / ROUNDS * 1e3);
	return 0;
}

static int bench_in(const char *parent, const char *where)
{
	char root[128], command[160];
	snprintf(root, sizeof(root), "%s/vfguard-bench-XXXXXX", parent);
	if (!mkdtemp(root))
		return perror(root), -1;
	int r = make_host(root);
	vfg_error err = {0};
	vfg_context_options options = {.root = root};
	vfg_context *ctx = r < 0 ? NULL : vfg_context_new(&options, &err);
	if (r == 0 && !ctx) {
		fprintf(stderr, "%s\n", err.message);
		r = -1;
	}
	const size_t sizes[] = {1, 4, 16};
	for (size_t i = 0; i < 3 && r == 0; i++)
		r = bench(ctx, where, sizes[i]);
	vfg_context_free(ctx);
	snprintf(command, sizeof(command), "rm -rf %s", root);
	if (system(command) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return r;
}

int main(void)
{
	printf("one domain, apply then revoke, mean of %d rounds; DAC labeler, every line fdatasync'ed\n", ROUNDS);
	return bench_in("/var/tmp", "disk") < 0 || bench_in("/dev/shm", "tmpfs") < 0;
}
