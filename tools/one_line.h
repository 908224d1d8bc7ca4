/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_ONE_LINE_H
#define VFGUARD_TOOLS_ONE_LINE_H

/* How the CLI and the hooks write an error: one line, whatever bytes the input held. */

#include <stdio.h>

#include <vfguard/context.h>

/*
 * @text on one line: a newline, return or tab as \n, \r, \t; any other
 * control character (C0, DEL, and C1: UTF-8 encodes them too, and U+009B
 * is a CSI) as \xHH a byte, and so is every byte that starts no UTF-8
 * character and every character a reader cannot see or that reorders the
 * line (a zero-width space, a bidirectional override). What a terminal
 * acts on never reaches it raw; a name in UTF-8 ("vm-\u00fc") is shown as
 * it is.
 */
void one_line_write(FILE *out, const char *text);

/*
 * A library notice (context.h: vfg_context_set_notice) to stderr, at once:
 * "PREFIX: MESSAGE" on one line, @data the front end's prefix ("vfguard
 * reattach"). stderr, since stdout carries the command's result (its JSON).
 */
void one_line_notice(const vfg_notice *notice, void *data);

#endif
