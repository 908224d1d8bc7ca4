/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TESTS_JSON_TESTLIB_H
#define VFGUARD_TESTS_JSON_TESTLIB_H

/*
 * Reading vfguard's JSON back in the tests (test_cli, test_memlock,
 * test_audit). json-c's getters answer a missing key, a null or a value of
 * another type with NULL, 0 or false, which an expected "", 0 or false would
 * match: each getter here fails the test unless the key is there with the
 * type asked for.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* @text parsed; fails the test unless it is JSON. json_object_put() it. */
json_object *test_json_parse(const char *text);
/* The value of @key, which must be there; NULL for a JSON null. */
json_object *test_json_member(json_object *object, const char *key);
/* The value of @key, which must be there with @type (not json_type_null: use test_json_member). */
json_object *test_json_typed(json_object *object, const char *key, json_type type);
const char *test_json_string(json_object *object, const char *key);
int64_t test_json_int(json_object *object, const char *key);
bool test_json_bool(json_object *object, const char *key);
/* The array at @key and its length. */
json_object *test_json_array(json_object *object, const char *key, size_t *length);

#endif
