/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_FRONT_END_ENV_H
#define VFGUARD_TOOLS_FRONT_END_ENV_H

/*
 * The environment of vfguard's front ends, the CLI and the hooks. The
 * library reads none (docs/library.md): $VFGUARD_ROOT and
 * $VFGUARD_PLUGIN_DIR reach it as options, filled here where the command
 * line left them out, so "--root" beats $VFGUARD_ROOT and $VFGUARD_PLUGIN_DIR
 * beats the config's plugin_dir, as vfguard(8) says.
 */

#include <stdlib.h>

#include <vfguard/vfguard.h>

static inline void front_end_options_from_env(vfg_context_options *options)
{
	/* Set and empty is unset; an empty --root is the library's to refuse. */
	const char *root = getenv("VFGUARD_ROOT");
	if (!options->root && root && *root)
		options->root = root;
	if (!options->plugin_dir || !*options->plugin_dir)
		options->plugin_dir = getenv("VFGUARD_PLUGIN_DIR");
}

#endif
