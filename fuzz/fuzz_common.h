/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_FUZZ_FUZZ_COMMON_H
#define VFGUARD_FUZZ_FUZZ_COMMON_H

/*
 * What every fuzz target shares (docs/testing.md, "Fuzzing"): one temporary
 * directory per process, under $TMPDIR, removed at exit, and never a write
 * outside it; contexts rooted there that load no plugin.
 */

#include <stddef.h>
#include <stdint.h>

#include <vfguard/vfguard.h>

/* The libFuzzer entry points (https://llvm.org/docs/LibFuzzer.html). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* This process's temporary directory: made at the first call, removed at exit. */
const char *fuzz_temp_dir(void);

/* @name below fuzz_temp_dir(), in @buf; aborts when it does not fit. */
void fuzz_temp_path(const char *name, char *buf, size_t size);

/* A directory (mode 0700) or a file (mode 0600) below fuzz_temp_dir(), made or replaced; aborts on failure. */
void fuzz_make_dir(const char *path);
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);

/* @data as a string: a copy with a NUL after it (the caller frees it). */
char *fuzz_string(const uint8_t *data, size_t size);

/*
 * A host tree (gpu-server's, examples/hosts) built once below the temporary
 * directory, for the parsers that look a device up in sysfs; its path.
 */
const char *fuzz_host_root(void);

/*
 * A context rooted at @root with only the built-in labelers (no plugin
 * is ever loaded: the plugin directory is an empty one) and @config_file
 * (NULL: ROOT/etc/vfguard/vfguard.conf when present). @overrides come after
 * the "labelers=" that keeps plugins out, so they may name labelers again.
 * NULL with @err filled when the context refuses its configuration.
 */
vfg_context *fuzz_context(const char *root, const char *config_file, const char *const *overrides, vfg_error *err);

/* Like fuzz_context(), for a harness whose context must be made: aborts on failure. */
vfg_context *fuzz_context_or_abort(const char *root);

#endif
