/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "one_line.h"

void one_line_write(FILE *out, const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '\n')
			fputs("\\n", out);
		else if (*c == '\r')
			fputs("\\r", out);
		else if (*c == '\t')
			fputs("\\t", out);
		else if (*c < 0x20 || *c >= 0x7f)
			fprintf(out, "\\x%02x", *c);
		else
			fputc(*c, out);
	}
}
