/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The host manifest (hosttree/hosttree_manifest.c, docs/host-manifest.md): parsed only, nothing built. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "hosttree_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	struct host_manifest manifest = {0};
	char errbuf[512];
	manifest_parse(&manifest, text, errbuf, sizeof(errbuf));
	host_manifest_free(&manifest);
	free(text);
	return 0;
}
