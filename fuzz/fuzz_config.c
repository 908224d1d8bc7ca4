/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The config file and --set (core/config.c) through vfg_context_new, which
 * reads the file, applies the overrides and checks every value once the
 * labelers are loaded. The input is the file up to its first NUL byte, then
 * one --set KEY=VALUE per NUL-separated piece (at most 16).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char root[VFG_PATH_MAX], config[VFG_PATH_MAX];
	if (!root[0]) {
		fuzz_temp_path("root", root, sizeof(root));
		fuzz_make_dir(root);
		fuzz_temp_path("vfguard.conf", config, sizeof(config));
	}
	const uint8_t *nul = memchr(data, '\0', size);
	size_t file_size = nul ? (size_t)(nul - data) : size;
	fuzz_write_file(config, data, file_size);

	char *sets = nul ? fuzz_string(nul + 1, size - file_size - 1) : NULL;
	size_t sets_size = nul ? size - file_size - 1 : 0;
	const char *overrides[17] = {0};
	size_t n = 0;
	for (size_t at = 0; sets && at <= sets_size && n < 16; at += strlen(sets + at) + 1)
		overrides[n++] = sets + at;

	vfg_error err = {0};
	vfg_context *ctx = fuzz_context(root, config, overrides, &err);
	if (ctx) {
		const vfg_config_key_def *def;
		for (size_t i = 0; (def = vfg_context_config_key(ctx, i, NULL)); i++)
			vfg_config_get(vfg_context_config(ctx), def->name);
	}
	vfg_context_free(ctx);
	free(sets);
	return 0;
}
