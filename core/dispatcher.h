/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_DISPATCHER_H
#define VFGUARD_CORE_DISPATCHER_H

#include "internal.h"

/* Load the configured labelers (then the built-in ones) into @ctx. */
int vfg_dispatcher_load(vfg_context *ctx, const char *plugin_dir, vfg_error *err);
void vfg_dispatcher_unload(vfg_context *ctx);
/* Is there a labeler NAME, loaded or not: a module vfguard-NAME.so in the plugin directory, or a built-in one? */
/*
 * A setting @key = @value named after labeler module @module that is not
 * loaded: 0 when no such module exists; else the module's table is read
 * (loaded and unloaded again) and the key must be one it declares, its value
 * passing the key's check: 1, or -1 naming why.
 */
int vfg_dispatcher_module_key(const char *module, const char *key, const char *value, void *ctx, vfg_error *err);
/* A labeler compiled into the library (namespace, memlock): it always runs, and is never named in 'labelers'. */
bool vfg_dispatcher_is_builtin(const char *name);

#endif
