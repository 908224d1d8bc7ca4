/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_HOSTTREE_HOSTTREE_H
#define VFGUARD_HOSTTREE_HOSTTREE_H

/*
 * Materialise a host manifest (docs/host-manifest.md) into a directory tree
 * laid out like Linux's /sys and /dev: PCI devices, IOMMU groups, drivers and
 * real VFIO character nodes. vfguard resolves every host path under a root,
 * so tests and examples point it at such a tree instead of the running kernel.
 *
 * The whole manifest is checked before anything is created, so a manifest
 * error leaves the file system untouched. Building never changes what already
 * exists: it adds what is missing and checks that what is there agrees (same
 * file content, same link target, same device number). Building a manifest
 * twice is therefore harmless, and two manifests built into one root either
 * agree or fail instead of silently mixing two hosts.
 *
 * Creating the device nodes needs CAP_MKNOD (run as root). Nothing is kept
 * between calls.
 */

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Build the tree the manifest text describes under @root (created if missing).
 * Returns 0, or -1 with a one-line message in @errbuf naming the manifest line and the reason. */
int hosttree_build_string(const char *manifest, const char *root, char *errbuf, size_t errlen);
int hosttree_build_file(const char *manifest_path, const char *root, char *errbuf, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
