/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *vfg_excerpt(const char *text, char buf[VFG_EXCERPT_SIZE])
{
	size_t length = strlen(text);
	if (length <= VFG_EXCERPT_BYTES + 16)
		snprintf(buf, VFG_EXCERPT_SIZE, "%s", text);
	else
		snprintf(buf, VFG_EXCERPT_SIZE, "%.*s... (%zu bytes)", VFG_EXCERPT_BYTES, text, length);
	return buf;
}

/* A subject longer than any path vfguard names whole (VFG_PATH_MAX) is input: named by its start. */
#define SUBJECT_WHOLE_MAX 512

static void error_fill(vfg_error *err, int errnum, bool strerror_appended, const char *subject, const char *fmt,
		       va_list ap) __attribute__((format(printf, 5, 0)));

static void error_fill(vfg_error *err, int errnum, bool strerror_appended, const char *subject, const char *fmt,
		       va_list ap)
{
	char text[VFG_ERROR_MESSAGE_MAX];
	vsnprintf(text, sizeof(text), fmt, ap);

	err->errnum = errnum;
	snprintf(err->subject, sizeof(err->subject), "%s", subject ? subject : "");

	size_t used = 0;
	err->message[0] = '\0';
	char excerpt[VFG_EXCERPT_SIZE];
	if (subject && strlen(subject) > SUBJECT_WHOLE_MAX)
		used = vfg_strlcatf(err->message, sizeof(err->message), used, "%s: ", vfg_excerpt(subject, excerpt));
	else if (err->subject[0])
		used = vfg_strlcatf(err->message, sizeof(err->message), used, "%s: ", err->subject);
	used = vfg_strlcatf(err->message, sizeof(err->message), used, "%s", text);
	if (errnum && strerror_appended)
		vfg_strlcatf(err->message, sizeof(err->message), used, ": %s", strerror(errnum));
}

VFG_EXPORT int vfg_error_set(vfg_error *err, int errnum, const char *subject, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	error_fill(err, errnum, true, subject, fmt, ap);
	va_end(ap);
	return -1;
}

VFG_EXPORT int vfg_error_refuse(vfg_error *err, int errnum, const char *subject, const char *fmt, ...)
{
	if (!err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	error_fill(err, errnum, false, subject, fmt, ap);
	va_end(ap);
	return -1;
}

VFG_EXPORT void vfg_error_prefix(vfg_error *err, const char *fmt, ...)
{
	if (!err)
		return;

	char prefix[VFG_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);

	char joined[VFG_ERROR_MESSAGE_MAX];
	size_t used = vfg_strlcatf(joined, sizeof(joined), 0, "%s: ", prefix);
	vfg_strlcatf(joined, sizeof(joined), used, "%s", err->message);
	memcpy(err->message, joined, sizeof(err->message));
}

VFG_EXPORT void vfg_error_clear(vfg_error *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

size_t vfg_strlcatf(char *buf, size_t size, size_t used, const char *fmt, ...)
{
	if (used >= size)
		return used;

	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return used;
	used += (size_t)n;
	return used < size ? used : size - 1;
}

size_t vfg_strlcat(char *buf, size_t size, size_t used, const char *text)
{
	if (used >= size)
		return used;
	size_t length = strlen(text), room = size - used - 1;
	size_t copied = length < room ? length : room;
	memcpy(buf + used, text, copied);
	buf[used + copied] = '\0';
	return used + copied;
}

size_t vfg_strlcat_number(char *buf, size_t size, size_t used, unsigned long long value)
{
	char digits[24];
	size_t n = sizeof(digits) - 1;
	digits[n] = '\0';
	do {
		digits[--n] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	return vfg_strlcat(buf, size, used, digits + n);
}
