/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * json_get: print one value of a JSON file, for the VM suite's guest, which
 * has a shell but no jq. A path is dot-separated segments:
 *
 *   name          a member of an object
 *   3             an element of an array
 *   kind=group    the first element of an array whose member "kind" is "group"
 *   #             the number of elements (array) or members (object)
 *
 * e.g. `json_get plan.json nodes.kind=group.rdev`. Strings print bare, other
 * values as JSON (a null as "null"). Exit 0 found, 1 not found (said on
 * stderr), 2 usage.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

static struct json_object *find_element(struct json_object *array, const char *key_value)
{
	const char *equals = strchr(key_value, '=');
	char key[256];
	if ((size_t)(equals - key_value) >= sizeof(key))
		return NULL;
	memcpy(key, key_value, (size_t)(equals - key_value));
	key[equals - key_value] = '\0';
	const char *value = equals + 1;
	size_t length = json_object_array_length(array);
	for (size_t i = 0; i < length; i++) {
		struct json_object *element = json_object_array_get_idx(array, i), *member;
		if (json_object_object_get_ex(element, key, &member) && json_object_is_type(member, json_type_string) &&
		    strcmp(json_object_get_string(member), value) == 0)
			return element;
	}
	return NULL;
}

/*
 * Take one step from @value into *@next; false when there is nothing there.
 * json-c represents a JSON null as NULL, so a found null is true with NULL.
 */
static bool step(struct json_object *value, const char *segment, struct json_object **next, struct json_object **count)
{
	char *end;

	if (strcmp(segment, "#") == 0) {
		if (json_object_is_type(value, json_type_array))
			*count = json_object_new_int64((int64_t)json_object_array_length(value));
		else if (json_object_is_type(value, json_type_object))
			*count = json_object_new_int64(json_object_object_length(value));
		else
			return false;
		*next = *count;
		return true;
	}
	if (json_object_is_type(value, json_type_array)) {
		if (strchr(segment, '='))
			return (*next = find_element(value, segment)) != NULL;
		unsigned long index = strtoul(segment, &end, 10);
		if (!*segment || *end || index >= json_object_array_length(value))
			return false;
		*next = json_object_array_get_idx(value, index);
		return true;
	}
	return json_object_is_type(value, json_type_object) && json_object_object_get_ex(value, segment, next);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "Usage: json_get FILE [STEP...]   (STEP: name, 3, key=value or #)\n");
		return 2;
	}
	struct json_object *root = json_object_from_file(argv[1]);
	if (!root) {
		fprintf(stderr, "json_get: %s: %s", argv[1], json_util_get_last_err());
		return 1;
	}
	struct json_object *value = root, *count = NULL;
	bool found = true;
	for (int i = 2; i < argc && found; i++) {
		/* A null has nothing inside: json_object_is_type(NULL, ...) is true only for json_type_null. */
		found = value && step(value, argv[i], &value, &count);
		if (!found)
			fprintf(stderr, "json_get: %s: nothing at step %d, '%s'\n", argv[1], i - 1, argv[i]);
	}
	if (found) {
		if (json_object_is_type(value, json_type_string))
			puts(json_object_get_string(value));
		else
			puts(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(count);
	json_object_put(root);
	/* 3, not 1: "the file holds nothing there" must differ from "no file, or no JSON" for expect_no_json. */
	return found ? 0 : 3;
}
