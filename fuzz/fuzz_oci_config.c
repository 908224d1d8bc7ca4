/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A bundle's config.json as the OCI hook reads it at prestart
 * (tools/hooks/oci_hook.c: parse_config): the input is the file, in a bundle
 * below the temporary directory; the host is a host tree, so the /dev/vfio
 * entries name real groups and cdevs.
 */
#include "fuzz_common.h"
#include "oci_hook_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static vfg_context *ctx;
	static char bundle[VFG_PATH_MAX], config[VFG_PATH_MAX];
	if (!ctx) {
		ctx = fuzz_context_or_abort(fuzz_host_root());
		fuzz_temp_path("bundle", bundle, sizeof(bundle));
		fuzz_make_dir(bundle);
		fuzz_temp_path("bundle/config.json", config, sizeof(config));
	}
	fuzz_write_file(config, data, size);
	oci_container container = {.id = "fuzz", .bundle = bundle};
	vfg_error err = {0};
	parse_config(ctx, &container, &err);
	container_free(&container);
	return 0;
}
