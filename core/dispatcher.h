/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_DISPATCHER_H
#define VFGUARD_CORE_DISPATCHER_H

#include "internal.h"

/* Load the configured labelers (then the built-in ones) into @ctx. */
int vfg_dispatcher_load(vfg_context *ctx, const char *plugin_dir, vfg_error *err);
void vfg_dispatcher_unload(vfg_context *ctx);
/* Is there a labeler NAME, loaded or not: a module vfguard-NAME.so in the plugin directory, or a built-in one? */
bool vfg_dispatcher_module_exists(const char *name, void *ctx);
/* A labeler compiled into the library (namespace, memlock): it always runs, and is never named in 'labelers'. */
bool vfg_dispatcher_is_builtin(const char *name);

#endif
