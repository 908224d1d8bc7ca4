/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_ONE_LINE_H
#define VFGUARD_TOOLS_ONE_LINE_H

/* How the CLI and the hooks write an error: one line, whatever bytes the input held. */

#include <stdio.h>

/*
 * @text on one line: a newline, return or tab as \n, \r, \t; any other
 * control byte, DEL and every byte past ASCII as \xHH. A terminal acts on
 * more than C0 controls: UTF-8 encodes the C1 ones (U+009B is a CSI), so no
 * byte of the input reaches it raw unless it is printable ASCII.
 */
void one_line_write(FILE *out, const char *text);

#endif
