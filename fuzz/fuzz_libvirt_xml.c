/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The libvirt domain XML (tools/hooks/libvirt_xml.c), as libvirt passes it on the hook's standard input. */
#include "fuzz_common.h"
#include "libvirt_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	libvirt_domain domain;
	vfg_error err = {0};
	libvirt_domain_parse((const char *)data, size, &domain, &err);
	libvirt_domain_clear(&domain);
	return 0;
}
