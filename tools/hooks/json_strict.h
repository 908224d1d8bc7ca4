/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_HOOKS_JSON_STRICT_H
#define VFGUARD_TOOLS_HOOKS_JSON_STRICT_H

/*
 * JSON as the OCI hook reads it (the container state, config.json): one
 * object, strict RFC 8259 (json-c's JSON_TOKENER_STRICT, UTF-8 checked), at
 * most HOOK_INPUT_MAX bytes, nothing after it but white space, and no key
 * twice in one object. json-c keeps the last of two equal keys; another
 * reader (the runtime) may keep the first, so the two would act on
 * different documents.
 */

#include <json-c/json.h>
#include <stddef.h>

#include <vfguard/vfguard.h>

/* @text (@size bytes) as one object into @object (json_object_put() it); @what names it in errors. */
int json_strict_parse(const char *text, size_t size, const char *what, json_object **object, vfg_error *err);

/* The regular file @path, read and parsed as json_strict_parse() does; errors name @path. */
int json_strict_read_file(const char *path, json_object **object, vfg_error *err);

/* @text of @length bytes as a JSON string body, cut to fit @size: control bytes, NUL included, as \u00XX. */
const char *json_strict_escaped(const char *text, size_t length, char *buf, size_t size);

#endif
