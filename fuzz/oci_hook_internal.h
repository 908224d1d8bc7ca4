/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_FUZZ_OCI_HOOK_INTERNAL_H
#define VFGUARD_FUZZ_OCI_HOOK_INTERNAL_H

/*
 * The OCI hook's parsers are static in its program (tools/hooks/oci_hook.c):
 * the fuzz targets compile the program into themselves, its main renamed,
 * rather than the hook exporting them for the tests' sake.
 */
int vfg_oci_hook_main(int argc, char **argv);
#define main vfg_oci_hook_main
#include "oci_hook.c"
#undef main

#endif
