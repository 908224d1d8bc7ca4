/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The hostdev spec (core/hostdev_spec.c) as --hostdev and the OCI annotation
 * pass it: "BDF|/sys/...[,KEY=VALUE]...". Rooted at a host tree, so a sysfs
 * path is looked up for real.
 */
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vfg_context *ctx;
	if (!ctx)
		ctx = fuzz_context_or_abort(fuzz_host_root());
	char *text = fuzz_string(data, size);
	vfg_hostdev_spec spec;
	vfg_error err = {0};
	vfg_hostdev_spec_parse(ctx, text, &spec, &err);
	free(text);
	return 0;
}
