/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The container state the runtime passes the OCI hook on standard input (tools/hooks/oci_hook.c: parse_state). */
#include "fuzz_common.h"
#include "oci_hook_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	oci_container container = {0};
	oci_stage stage;
	vfg_error err = {0};
	if (parse_state(&container, (const char *)data, size, &err) == 0 &&
	    stage_of(&container, NULL, &stage, &err) == 0)
		vfg_domain_name_check(container.id, &err);
	container_free(&container);
	return 0;
}
