/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdbool.h>

#include <vfguard/util.h>

#include "one_line.h"

/*
 * What a reader cannot see or what reorders the line: control characters
 * (C0, DEL, C1) and the format characters that are not letters, the soft
 * hyphen, zero-width spaces and joiners, the bidirectional marks,
 * embeddings, overrides and isolates, the line and paragraph separators,
 * the byte order mark (Unicode's categories Cc, Cf, Zl and Zp, those of
 * them below U+10000 that are not tied to one script's letters).
 */
static bool hidden_character(long code)
{
	return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code == 0xad || code == 0x61c || code == 0x180e ||
	       (code >= 0x200b && code <= 0x200f) || (code >= 0x2028 && code <= 0x202e) ||
	       (code >= 0x2060 && code <= 0x206f) || code == 0xfeff || (code >= 0xfff9 && code <= 0xfffb);
}

void one_line_write(FILE *out, const char *text)
{
	for (const char *c = text; *c;) {
		unsigned char byte = (unsigned char)*c;
		size_t length = 1;
		long code = vfg_utf8_decode(c, &length);
		if (byte == '\n')
			fputs("\\n", out);
		else if (byte == '\r')
			fputs("\\r", out);
		else if (byte == '\t')
			fputs("\\t", out);
		else if (hidden_character(code))
			for (size_t i = 0; i < length; i++) /* a byte that starts no character: alone, length 1 */
				fprintf(out, "\\x%02x", (unsigned char)c[i]);
		else
			fwrite(c, 1, length, out);
		c += length;
	}
}

void one_line_notice(const vfg_notice *notice, void *data)
{
	fprintf(stderr, "%s: ", (const char *)data);
	one_line_write(stderr, notice->message);
	fputc('\n', stderr);
	fflush(stderr);
}
