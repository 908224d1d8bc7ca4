/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json_strict.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "hook_common.h"

const char *json_strict_escaped(const char *text, size_t length, char *buf, size_t size)
{
	size_t used = 0;
	for (size_t i = 0; i < length && used + 7 < size; i++) {
		unsigned char byte = (unsigned char)text[i];
		if (byte < 0x20 || byte == 0x7f)
			used += (size_t)snprintf(buf + used, size - used, "\\u%04x", byte);
		else if (byte == '"' || byte == '\\')
			used += (size_t)snprintf(buf + used, size - used, "\\%c", byte);
		else
			buf[used++] = (char)byte;
	}
	buf[used] = '\0';
	return buf;
}

/* RFC 8259 "insignificant whitespace": isspace() would take \v and \f too. */
static bool json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && json_space(*p))
		p++;
	return p;
}

/* One key of an object, decoded (escapes resolved, so "a" and "\u0061" are equal). */
typedef struct json_key {
	char *text;
	size_t length;
	size_t order;
} json_key;

static unsigned hex4(const char *p)
{
	unsigned value = 0;
	for (int i = 0; i < 4; i++)
		value = value * 16 + (unsigned)(p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
	return value;
}

static size_t put_utf8(char *out, unsigned code)
{
	if (code < 0x80) {
		out[0] = (char)code;
		return 1;
	}
	if (code < 0x800) {
		out[0] = (char)(0xc0 | code >> 6);
		out[1] = (char)(0x80 | (code & 0x3f));
		return 2;
	}
	if (code < 0x10000) {
		out[0] = (char)(0xe0 | code >> 12);
		out[1] = (char)(0x80 | (code >> 6 & 0x3f));
		out[2] = (char)(0x80 | (code & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | code >> 18);
	out[1] = (char)(0x80 | (code >> 12 & 0x3f));
	out[2] = (char)(0x80 | (code >> 6 & 0x3f));
	out[3] = (char)(0x80 | (code & 0x3f));
	return 4;
}

/*
 * The string at *@p (its opening quote), decoded into @key when not NULL;
 * *@p moves past its closing quote. The text was validated by json-c: every
 * escape is complete, every \u a pair where it must be.
 */
static int scan_string(const char **p, const char *end, json_key *key)
{
	const char *at = *p + 1;
	char *out = NULL;
	size_t used = 0;
	if (key) {
		const char *close = at;
		while (close < end && *close != '"')
			close += *close == '\\' ? 2 : 1;
		/* a decoded string is never longer than its text */
		out = malloc((size_t)(close - at) + 1);
		if (!out)
			return -1;
	}
	while (at < end && *at != '"') {
		char c = *at++;
		/* RFC 8259 section 7: control characters must be escaped; json-c's strict mode lets them by */
		if ((unsigned char)c < 0x20) {
			free(out);
			return 1;
		}
		if (c != '\\') {
			if (out)
				out[used++] = c;
			continue;
		}
		char e = *at++;
		if (e == 'u') {
			unsigned code = hex4(at);
			at += 4;
			if (code >= 0xd800 && code < 0xdc00 && at + 6 <= end && at[0] == '\\' && at[1] == 'u') {
				code = 0x10000 + ((code - 0xd800) << 10) + (hex4(at + 2) - 0xdc00);
				at += 6;
			}
			if (out)
				used += put_utf8(out + used, code);
			continue;
		}
		static const char escapes[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
		const char *found = strchr(escapes, e);
		if (out)
			out[used++] = found ? found[1] : e;
	}
	*p = at + 1;
	if (key) {
		out[used] = '\0';
		key->text = out;
		key->length = used;
	}
	return 0;
}

static int key_compare(const void *a, const void *b)
{
	const json_key *x = a, *y = b;
	size_t common = x->length < y->length ? x->length : y->length;
	int r = memcmp(x->text, y->text, common);
	if (r)
		return r;
	if (x->length != y->length)
		return x->length < y->length ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The key of @keys named again soonest in the text (sorted equal keys sit together): NULL when none is. */
static const json_key *first_repeated(json_key *keys, size_t n)
{
	if (n < 2)
		return NULL; /* and keys may be NULL, which qsort() must not be given */
	qsort(keys, n, sizeof(*keys), key_compare);
	const json_key *first = NULL;
	for (size_t i = 1; i < n; i++)
		if (keys[i].length == keys[i - 1].length &&
		    memcmp(keys[i].text, keys[i - 1].text, keys[i].length) == 0 &&
		    (!first || keys[i].order < first->order))
			first = &keys[i];
	return first;
}

static int scan_value(const char **p, const char *end, const char *what, vfg_error *err);

static void keys_free(json_key *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i].text);
	free(keys);
}

static int scan_object(const char **p, const char *end, const char *what, vfg_error *err)
{
	json_key *keys = NULL;
	size_t n = 0, capacity = 0;
	const char *at = skip_space(*p + 1, end);
	int r = 0;
	while (r == 0 && at < end && *at != '}') {
		if (n == capacity) {
			capacity = capacity ? capacity * 2 : 8;
			json_key *grown = realloc(keys, capacity * sizeof(*keys));
			if (!grown) {
				r = vfg_error_set(err, ENOMEM, what, "cannot check its keys");
				break;
			}
			keys = grown;
		}
		/* json-c takes some texts RFC 8259 does not (a key in single quotes): they are no JSON to us */
		if (*at != '"') {
			r = vfg_error_set(err, 0, what, "not a JSON object (a key not in double quotes)");
			break;
		}
		keys[n].order = n;
		int s = scan_string(&at, end, &keys[n]);
		if (s != 0) {
			r = s < 0 ? vfg_error_set(err, ENOMEM, what, "cannot check its keys")
				  : vfg_error_set(err, 0, what, "not a JSON object (a control byte inside a string)");
			break;
		}
		n++;
		at = skip_space(at, end);
		if (at >= end || *at != ':') {
			r = vfg_error_set(err, 0, what, "not a JSON object (no ':' after a key)");
			break;
		}
		at = skip_space(at + 1, end);
		r = scan_value(&at, end, what, err);
		at = skip_space(at, end);
		if (at < end && *at == ',')
			at = skip_space(at + 1, end);
	}
	const json_key *repeated = r == 0 ? first_repeated(keys, n) : NULL;
	if (repeated) {
		char shown[128];
		r = vfg_error_set(err, 0, what, "duplicate key \"%s\" in one object",
				  json_strict_escaped(repeated->text, repeated->length, shown, sizeof(shown)));
	}
	keys_free(keys, n);
	*p = at + 1;
	return r;
}

static int scan_value(const char **p, const char *end, const char *what, vfg_error *err)
{
	const char *at = *p;
	if (at >= end)
		return vfg_error_set(err, 0, what, "not a JSON object (the text ends inside it)");
	if (*at == '{')
		return scan_object(p, end, what, err);
	if (*at == '"') {
		int r = scan_string(p, end, NULL);
		return r <= 0 ? r : vfg_error_set(err, 0, what, "not a JSON object (a control byte inside a string)");
	}
	if (*at == '[') {
		at = skip_space(at + 1, end);
		while (at < end && *at != ']') {
			if (scan_value(&at, end, what, err) < 0)
				return -1;
			at = skip_space(at, end);
			if (at < end && *at == ',')
				at = skip_space(at + 1, end);
		}
		*p = at + 1;
		return 0;
	}
	/* a number, true, false or null: json-c's strict mode still takes NaN and Infinity */
	const char *start = at;
	while (at < end && !strchr(",]} \t\n\r", *at))
		at++;
	size_t length = (size_t)(at - start);
	bool number = strspn(start, "-+.0123456789eE") >= length && length > 0;
	bool word = (length == 4 && (memcmp(start, "true", 4) == 0 || memcmp(start, "null", 4) == 0)) ||
		    (length == 5 && memcmp(start, "false", 5) == 0);
	if (!number && !word)
		return vfg_error_set(err, 0, what, "not a JSON object (%.*s is no JSON value)",
				     (int)(length < 16 ? length : 16), start);
	*p = at;
	return 0;
}

int json_strict_parse(const char *text, size_t size, const char *what, json_object **object, vfg_error *err)
{
	*object = NULL;
	if (size > HOOK_INPUT_MAX)
		return vfg_error_set(err, EFBIG, what, "more than %u bytes", HOOK_INPUT_MAX);
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return vfg_error_set(err, ENOMEM, what, "out of memory");
	/* trailing text is ours to name, below, rather than json-c's "unexpected character" */
	json_tokener_set_flags(tok,
			       JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS | JSON_TOKENER_VALIDATE_UTF8);
	json_object *parsed = json_tokener_parse_ex(tok, text, (int)size);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!parsed || jerr != json_tokener_success || !json_object_is_type(parsed, json_type_object)) {
		json_object_put(parsed);
		const char *why = jerr == json_tokener_continue  ? "the text ends inside it"
				  : jerr != json_tokener_success ? json_tokener_error_desc(jerr)
								 : "another value";
		return vfg_error_set(err, 0, what, "not a JSON object (%s)", why);
	}
	/* The tokener stops after the object: whatever follows, but white space, is no part of it. */
	const char *rest = skip_space(text + end, text + size);
	if (rest < text + size) {
		json_object_put(parsed);
		return vfg_error_set(err, 0, what, "text after the JSON object, at byte %zu", (size_t)(rest - text));
	}
	const char *at = skip_space(text, text + end);
	if (scan_value(&at, text + end, what, err) < 0) {
		json_object_put(parsed);
		return -1;
	}
	*object = parsed;
	return 0;
}

int json_strict_read_file(const char *path, json_object **object, vfg_error *err)
{
	*object = NULL;
	/* O_NONBLOCK: a FIFO would wait for a writer at open(); it is refused below, as a device or a directory is */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return vfg_error_set(err, errno, path, "cannot read");
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int errnum = errno;
		close(fd);
		return vfg_error_set(err, errnum, path, "cannot read");
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return vfg_error_set(err, 0, path, "not a regular file");
	}
	char *text = NULL;
	size_t size = 0;
	int r = vfg_fd_read_all(fd, path, HOOK_INPUT_MAX, &text, &size, err);
	close(fd);
	if (r == 0)
		r = json_strict_parse(text, size, path, object, err);
	free(text);
	return r;
}
