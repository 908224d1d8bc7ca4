/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Lines for people: wrapped at spaces so that none is wider than the terminal the output is made for. */
#include <stdarg.h>
#include <string.h>

#include "internal.h"

size_t vfg_text_columns(const char *text, size_t bytes)
{
	size_t columns = 0;
	for (size_t i = 0; i < bytes && text[i]; i++)
		columns += ((unsigned char)text[i] & 0xc0) != 0x80; /* UTF-8: continuation bytes take no column */
	return columns;
}

/* How many bytes of @text make up at most @columns columns, never splitting a UTF-8 character. */
static size_t text_prefix_bytes(const char *text, size_t bytes, size_t columns)
{
	size_t i = 0, used = 0;
	while (i < bytes) {
		size_t next = i + 1;
		while (next < bytes && ((unsigned char)text[next] & 0xc0) == 0x80)
			next++;
		if (used + 1 > columns)
			break;
		used++;
		i = next;
	}
	return i;
}

void vfg_text_wrap(FILE *out, size_t width, size_t hanging, const char *text)
{
	if (width == 0) {
		fprintf(out, "%s\n", text);
		return;
	}
	/* A hanging indent that leaves no room would never end a line: keep at least a third of the width. */
	if (hanging > width * 2 / 3)
		hanging = width * 2 / 3;
	const char *line = text;
	size_t indent = 0;
	for (;;) {
		size_t room = width - indent;
		size_t rest = strlen(line);
		if (vfg_text_columns(line, rest) <= room) {
			fprintf(out, "%*s%s\n", (int)indent, "", line);
			return;
		}
		/* The last space that keeps the line within @room; one word wider than that is cut at @room. */
		size_t fits = text_prefix_bytes(line, rest, room);
		size_t end = fits;
		while (end > 0 && line[end] != ' ')
			end--;
		size_t cut = end;
		while (cut > 0 && line[cut - 1] == ' ')
			cut--;
		if (cut == 0)
			cut = end = fits;
		fprintf(out, "%*s%.*s\n", (int)indent, "", (int)cut, line);
		line += end;
		while (*line == ' ')
			line++;
		if (!*line)
			return;
		indent = hanging;
	}
}

void vfg_text_printf(FILE *out, size_t width, size_t hanging, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = NULL;
	int r = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (r < 0) {
		/* Out of memory: say so where the line belongs rather than drop it without a trace. */
		fputs("(out of memory)\n", out);
		return;
	}
	vfg_text_wrap(out, width, hanging, text);
	free(text);
}
