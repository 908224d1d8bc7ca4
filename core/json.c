/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A small streaming JSON writer (RFC 8259): two-space indents, escaped strings. */
#include <string.h>

#include "internal.h"

static void json_escaped(FILE *out, const char *s);

static void json_prefix(vfg_json *json, const char *key)
{
	if (json->need_comma)
		fputc(',', json->out);
	if (json->depth > 0) {
		fputc('\n', json->out);
		for (int i = 0; i < json->depth; i++)
			fputs("  ", json->out);
	}
	if (key) {
		json_escaped(json->out, key);
		fputs(": ", json->out);
	}
	json->need_comma = true;
}

static void json_escaped(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

static void json_open(vfg_json *json, const char *key, char bracket)
{
	json_prefix(json, key);
	fputc(bracket, json->out);
	json->depth++;
	json->need_comma = false;
}

static void json_close(vfg_json *json, char bracket)
{
	json->depth--;
	if (json->need_comma) {
		fputc('\n', json->out);
		for (int i = 0; i < json->depth; i++)
			fputs("  ", json->out);
	}
	fputc(bracket, json->out);
	json->need_comma = true;
	if (json->depth == 0)
		fputc('\n', json->out);
}

VFG_EXPORT void vfg_json_begin_object(vfg_json *json, const char *key)
{
	json_open(json, key, '{');
}

VFG_EXPORT void vfg_json_end_object(vfg_json *json)
{
	json_close(json, '}');
}

VFG_EXPORT void vfg_json_begin_array(vfg_json *json, const char *key)
{
	json_open(json, key, '[');
}

VFG_EXPORT void vfg_json_end_array(vfg_json *json)
{
	json_close(json, ']');
}

VFG_EXPORT void vfg_json_string(vfg_json *json, const char *key, const char *value)
{
	json_prefix(json, key);
	json_escaped(json->out, value);
}

VFG_EXPORT void vfg_json_int(vfg_json *json, const char *key, long long value)
{
	json_prefix(json, key);
	fprintf(json->out, "%lld", value);
}

VFG_EXPORT void vfg_json_bool(vfg_json *json, const char *key, bool value)
{
	json_prefix(json, key);
	fputs(value ? "true" : "false", json->out);
}

VFG_EXPORT void vfg_json_null(vfg_json *json, const char *key)
{
	json_prefix(json, key);
	fputs("null", json->out);
}
