/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How long planning takes and how much memory it holds, on a generated host
 * with many assignable functions (an SR-IOV host with 256 VFs, each in its
 * own group, legacy and iommufd both served). Measures; asserts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <vfguard/vfguard.h>

#include "hosttree.h"

enum { N_FUNCTIONS = 256, ROUNDS = 50 };

static char *host_manifest(void)
{
	size_t size = 128 + N_FUNCTIONS * 160;
	char *text = malloc(size), *p = text;
	p += sprintf(p, "misc vfio 10:196\nmisc iommu 10:257\n");
	for (int i = 0; i < N_FUNCTIONS; i++)
		p += sprintf(p,
			     "group %d 243:%d\n"
			     "device 0000:%02x:%02x.%x group=%d vendor=8086 device=154c class=020000 driver=vfio-pci "
			     "cdev=vfio%d:511:%d\n",
			     i, i, 0x10 + i / 256, (i / 8) % 32, i % 8, i, i, i);
	return text;
}

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(vfg_context *ctx, size_t n_hostdevs, const char *options)
{
	vfg_hostdev_spec *specs = calloc(n_hostdevs, sizeof(*specs));
	vfg_error err = {0};
	for (size_t i = 0; i < n_hostdevs; i++) {
		char text[64];
		snprintf(text, sizeof(text), "0000:%02zx:%02zx.%zx%s", 0x10 + i / 256, (i / 8) % 32, i % 8, options);
		if (vfg_hostdev_spec_parse(ctx, text, &specs[i], &err) < 0) {
			fprintf(stderr, "%s\n", err.message);
			return -1;
		}
	}
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = n_hostdevs, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "bench");

	double start = seconds_now();
	for (int round = 0; round < ROUNDS; round++) {
		vfg_plan *plan;
		if (vfg_plan_build(ctx, &domain, &plan, &err) < 0) {
			fprintf(stderr, "%s\n", err.message);
			return -1;
		}
		vfg_plan_free(plan);
	}
	double per_plan = (seconds_now() - start) / ROUNDS;
	printf("plan  %3zu hostdevs %-16s %9.1f us/plan  %7.1f us/hostdev\n", n_hostdevs,
	       options[0] ? options + 1 : "auto", per_plan * 1e6, per_plan * 1e6 / (double)n_hostdevs);
	free(specs);
	return 0;
}

int main(void)
{
	char root[] = "/tmp/vfguard-bench-XXXXXX", error[512];
	if (!mkdtemp(root))
		return perror("mkdtemp"), 1;
	char *manifest = host_manifest();
	if (hosttree_build_string(manifest, root, error, sizeof(error)) < 0)
		return fprintf(stderr, "%s\n", error), 1;
	free(manifest);

	vfg_error err = {0};
	vfg_context_options options = {.root = root};
	vfg_context *ctx = vfg_context_new(&options, &err);
	if (!ctx)
		return fprintf(stderr, "%s\n", err.message), 1;

	int r = 0;
	const size_t sizes[] = {1, 16, 256};
	for (size_t i = 0; i < 3 && r == 0; i++)
		r = bench(ctx, sizes[i], "") < 0 || bench(ctx, sizes[i], ",backend=legacy") < 0;

	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	printf("peak resident set: %ld KiB\n", usage.ru_maxrss);
	vfg_context_free(ctx);

	char command[64];
	snprintf(command, sizeof(command), "rm -rf %s", root);
	if (system(command) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	return r;
}
