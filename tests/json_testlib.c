/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json_testlib.h"

#include <check.h>

json_object *test_json_parse(const char *text)
{
	json_object *root = json_tokener_parse(text);
	ck_assert_msg(root != NULL, "not JSON: %s", text);
	return root;
}

json_object *test_json_member(json_object *object, const char *key)
{
	ck_assert_msg(json_object_is_type(object, json_type_object), "looking up '%s' in a JSON %s, not an object", key,
		      json_type_to_name(json_object_get_type(object)));
	json_object *value = NULL;
	ck_assert_msg(json_object_object_get_ex(object, key, &value), "JSON has no key '%s'", key);
	return value;
}

json_object *test_json_typed(json_object *object, const char *key, json_type type)
{
	json_object *value = test_json_member(object, key);
	ck_assert_msg(json_object_is_type(value, type), "'%s' is a JSON %s, expected %s", key,
		      json_type_to_name(json_object_get_type(value)), json_type_to_name(type));
	return value;
}

const char *test_json_string(json_object *object, const char *key)
{
	return json_object_get_string(test_json_typed(object, key, json_type_string));
}

int64_t test_json_int(json_object *object, const char *key)
{
	return json_object_get_int64(test_json_typed(object, key, json_type_int));
}

bool test_json_bool(json_object *object, const char *key)
{
	return json_object_get_boolean(test_json_typed(object, key, json_type_boolean));
}

json_object *test_json_array(json_object *object, const char *key, size_t *length)
{
	json_object *array = test_json_typed(object, key, json_type_array);
	*length = json_object_array_length(array);
	return array;
}
