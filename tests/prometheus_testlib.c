/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A strict reader of the Prometheus text format, for the audit's metrics (prometheus_testlib.h). */
#include "prometheus_testlib.h"

#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where the reader is, and what went wrong first. */
typedef struct reader {
	test_prometheus *parsed;
	size_t line_number;
	const char *line; /* the line's first byte */
	size_t length; /* without its newline */
	char *error;
	size_t error_size;
	bool failed;
	/* The metric whose samples the last lines were: one metric's samples are one group. */
	char *current;
	/* Metrics whose group ended (another began after it): no sample of them may follow. */
	size_t n_closed;
	char **closed;
} reader;

static int reader_fail(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int reader_fail(reader *r, const char *fmt, ...)
{
	if (r->failed)
		return -1;
	r->failed = true;
	int used = snprintf(r->error, r->error_size, "line %zu '%.*s': ", r->line_number, (int)r->length, r->line);
	va_list ap;
	va_start(ap, fmt);
	if (used >= 0 && (size_t)used < r->error_size)
		vsnprintf(r->error + used, r->error_size - (size_t)used, fmt, ap);
	va_end(ap);
	return -1;
}

/* The length of a metric name at @at ([a-zA-Z_:][a-zA-Z0-9_:]*), 0 when there is none. */
static size_t metric_name_length(const char *at, const char *end)
{
	size_t n = 0;
	while (at + n < end && (isalpha((unsigned char)at[n]) || at[n] == '_' || at[n] == ':' ||
				(n > 0 && isdigit((unsigned char)at[n]))))
		n++;
	return n;
}

/* A label name ([a-zA-Z_][a-zA-Z0-9_]*). */
static size_t label_name_length(const char *at, const char *end)
{
	size_t n = 0;
	while (at + n < end &&
	       (isalpha((unsigned char)at[n]) || at[n] == '_' || (n > 0 && isdigit((unsigned char)at[n]))))
		n++;
	return n;
}

static test_prometheus_metric *metric_find(test_prometheus *parsed, const char *name, size_t length)
{
	for (size_t i = 0; i < parsed->n_metrics; i++)
		if (strlen(parsed->metrics[i].name) == length && strncmp(parsed->metrics[i].name, name, length) == 0)
			return &parsed->metrics[i];
	return NULL;
}

static test_prometheus_metric *metric_add(test_prometheus *parsed, const char *name, size_t length)
{
	parsed->metrics = realloc(parsed->metrics, (parsed->n_metrics + 1) * sizeof(*parsed->metrics));
	ck_assert_ptr_nonnull(parsed->metrics);
	test_prometheus_metric *metric = &parsed->metrics[parsed->n_metrics++];
	*metric = (test_prometheus_metric){.name = strndup(name, length)};
	return metric;
}

/* Has a sample of @name been read (its HELP or TYPE would come too late)? */
static bool metric_sampled(const test_prometheus *parsed, const char *name)
{
	for (size_t i = 0; i < parsed->n_samples; i++)
		if (strcmp(parsed->samples[i].name, name) == 0)
			return true;
	return false;
}

/*
 * Unescape the HELP text (only "\\" and "\n") or a label value (also "\"",
 * up to its closing quote) at @at into a new string; *@used: the bytes read
 * (with the closing quote). NULL with the error set.
 */
static char *unescape(reader *r, const char *at, const char *end, bool label_value, size_t *used)
{
	char *out = malloc((size_t)(end - at) + 1), *to = out;
	ck_assert_ptr_nonnull(out);
	const char *p = at;
	for (; p < end && !(label_value && *p == '"'); p++) {
		if (*p != '\\') {
			*to++ = *p;
			continue;
		}
		if (++p == end) {
			free(out);
			reader_fail(r, "a '\\' at the end of the line");
			return NULL;
		}
		if (*p == '\\' || *p == 'n' || (label_value && *p == '"')) {
			*to++ = *p == 'n' ? '\n' : *p;
			continue;
		}
		free(out);
		reader_fail(r, "'\\%c' is no escape the format has here", *p);
		return NULL;
	}
	if (label_value && p == end) {
		free(out);
		reader_fail(r, "a label value without its closing '\"'");
		return NULL;
	}
	*to = '\0';
	*used = (size_t)(p - at) + label_value;
	return out;
}

/* "# HELP NAME TEXT" or "# TYPE NAME TYPE" */
static int read_comment(reader *r)
{
	const char *end = r->line + r->length;
	bool help = strncmp(r->line, "# HELP ", 7) == 0, type = strncmp(r->line, "# TYPE ", 7) == 0;
	if (!help && !type)
		return reader_fail(r, "a comment that is neither '# HELP ' nor '# TYPE '");
	const char *name = r->line + 7;
	size_t length = metric_name_length(name, end);
	if (length == 0 || name + length == end || name[length] != ' ')
		return reader_fail(r, "no metric name and then one space");
	test_prometheus_metric *metric = metric_find(r->parsed, name, length);
	if (!metric)
		metric = metric_add(r->parsed, name, length);
	if (metric_sampled(r->parsed, metric->name))
		return reader_fail(r, "%s comes after a sample of %s", help ? "HELP" : "TYPE", metric->name);
	const char *rest = name + length + 1;
	if (help) {
		if (metric->help)
			return reader_fail(r, "a second HELP for %s", metric->name);
		if (metric->type)
			return reader_fail(r, "HELP after TYPE for %s", metric->name);
		size_t used;
		metric->help = unescape(r, rest, end, false, &used);
		return metric->help ? 0 : -1;
	}
	if (metric->type)
		return reader_fail(r, "a second TYPE for %s", metric->name);
	static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if ((size_t)(end - rest) == strlen(types[i]) && strncmp(rest, types[i], strlen(types[i])) == 0)
			metric->type = strdup(types[i]);
	return metric->type ? 0 : reader_fail(r, "no metric type the format knows");
}

/* {NAME="VALUE",...} into @sample; *@at moves past it. */
static int read_labels(reader *r, const char **at, test_prometheus_sample *sample)
{
	const char *end = r->line + r->length, *p = *at + 1;
	while (p < end && *p != '}') {
		size_t length = label_name_length(p, end);
		if (length == 0)
			return reader_fail(r, "no label name at column %zu", (size_t)(p - r->line) + 1);
		if (length >= 2 && p[0] == '_' && p[1] == '_')
			return reader_fail(r, "a label name starting '__' (reserved)");
		if (p + length + 1 >= end || p[length] != '=' || p[length + 1] != '"')
			return reader_fail(r, "a label name not followed by '=\"'");
		if (sample->n_labels == TEST_PROMETHEUS_MAX_LABELS)
			return reader_fail(r, "more than %d labels", TEST_PROMETHEUS_MAX_LABELS);
		char *label = strndup(p, length);
		for (size_t i = 0; i < sample->n_labels; i++)
			if (strcmp(sample->label_names[i], label) == 0) {
				free(label);
				return reader_fail(r, "label %.*s twice", (int)length, p);
			}
		size_t used;
		char *value = unescape(r, p + length + 2, end, true, &used);
		if (!value) {
			free(label);
			return -1;
		}
		sample->label_names[sample->n_labels] = label;
		sample->label_values[sample->n_labels++] = value;
		p += length + 2 + used;
		if (p < end && *p == ',')
			p++;
		else if (p < end && *p != '}')
			return reader_fail(r, "a label value followed by neither ',' nor '}'");
	}
	if (p == end)
		return reader_fail(r, "labels without their closing '}'");
	*at = p + 1;
	return 0;
}

/* The number after the labels: a float as strtod reads it, or NaN, +Inf, -Inf; then at most a timestamp. */
static int read_value(reader *r, const char *at, test_prometheus_sample *sample)
{
	const char *end = r->line + r->length;
	if (at == end || *at != ' ')
		return reader_fail(r, "no space before the value");
	at++;
	char text[64];
	size_t length = strcspn(at, " \n");
	if (at + length > end)
		length = (size_t)(end - at);
	if (length == 0 || length >= sizeof(text))
		return reader_fail(r, "no value");
	snprintf(text, sizeof(text), "%.*s", (int)length, at);
	if (strcmp(text, "NaN") == 0 || strcmp(text, "+Inf") == 0 || strcmp(text, "-Inf") == 0) {
		sample->value = text[0] == 'N' ? NAN : text[0] == '+' ? INFINITY : -INFINITY;
	} else {
		char *stop;
		errno = 0;
		sample->value = strtod(text, &stop);
		/* strtod takes "inf", "nan", hex and leading space too: the format writes none of them */
		if (*stop || errno || isspace((unsigned char)text[0]) || strpbrk(text, "xXiInN"))
			return reader_fail(r, "value '%s' is not a number", text);
	}
	at += length;
	if (at == end)
		return 0;
	/* an optional timestamp: milliseconds since the epoch, an integer */
	at++;
	if (at == end)
		return reader_fail(r, "a space and nothing after the value");
	for (const char *p = at + (*at == '-'); p < end; p++)
		if (!isdigit((unsigned char)*p))
			return reader_fail(r, "a timestamp that is not an integer");
	return 0;
}

/* The metric a sample named @name belongs to: its own, or for a histogram or summary its base name. */
static const test_prometheus_metric *sample_metric(test_prometheus *parsed, const char *name)
{
	const test_prometheus_metric *metric = metric_find(parsed, name, strlen(name));
	if (metric)
		return metric;
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	for (size_t i = 0; i < 3; i++) {
		size_t length = strlen(name), suffix = strlen(suffixes[i]);
		if (length > suffix && strcmp(name + length - suffix, suffixes[i]) == 0 &&
		    (metric = metric_find(parsed, name, length - suffix)) && metric->type &&
		    (strcmp(metric->type, "histogram") == 0 || strcmp(metric->type, "summary") == 0))
			return metric;
	}
	return NULL;
}

static bool same_series(const test_prometheus_sample *a, const test_prometheus_sample *b)
{
	if (strcmp(a->name, b->name) != 0 || a->n_labels != b->n_labels)
		return false;
	for (size_t i = 0; i < a->n_labels; i++) {
		const char *value = test_prometheus_label(b, a->label_names[i]);
		if (!value || strcmp(value, a->label_values[i]) != 0)
			return false;
	}
	return true;
}

/* Each metric's samples in one group: a metric left for another may not come back. */
static int check_group(reader *r, const char *metric)
{
	if (r->current && strcmp(r->current, metric) == 0)
		return 0;
	for (size_t i = 0; i < r->n_closed; i++)
		if (strcmp(r->closed[i], metric) == 0)
			return reader_fail(r, "a sample of %s after another metric's: its samples are not one group",
					   metric);
	if (r->current) {
		r->closed = realloc(r->closed, (r->n_closed + 1) * sizeof(*r->closed));
		ck_assert_ptr_nonnull(r->closed);
		r->closed[r->n_closed++] = r->current;
	}
	r->current = strdup(metric);
	return 0;
}

static int read_sample(reader *r)
{
	const char *end = r->line + r->length, *at = r->line;
	size_t length = metric_name_length(at, end);
	if (length == 0)
		return reader_fail(r, "not a metric name");
	test_prometheus *parsed = r->parsed;
	parsed->samples = realloc(parsed->samples, (parsed->n_samples + 1) * sizeof(*parsed->samples));
	ck_assert_ptr_nonnull(parsed->samples);
	test_prometheus_sample *sample = &parsed->samples[parsed->n_samples++];
	*sample = (test_prometheus_sample){.name = strndup(at, length)};
	at += length;
	const test_prometheus_metric *metric = sample_metric(parsed, sample->name);
	if (!metric || !metric->type)
		return reader_fail(r, "a sample of %s, which has no TYPE before it", sample->name);
	if (check_group(r, metric->name) < 0)
		return -1;
	if (at < end && *at == '{' && read_labels(r, &at, sample) < 0)
		return -1;
	if (read_value(r, at, sample) < 0)
		return -1;
	for (size_t i = 0; i + 1 < parsed->n_samples; i++)
		if (same_series(&parsed->samples[i], sample))
			return reader_fail(r, "the series is there twice");
	return 0;
}

int test_prometheus_parse(const char *text, test_prometheus *parsed, char *error, size_t error_size)
{
	memset(parsed, 0, sizeof(*parsed));
	reader r = {.parsed = parsed, .line = text, .error = error, .error_size = error_size};
	error[0] = '\0';
	if (!text[0])
		return reader_fail(&r, "the text is empty");
	for (const char *at = text; *at && !r.failed;) {
		const char *newline = strchr(at, '\n');
		r.line_number++;
		r.line = at;
		r.length = newline ? (size_t)(newline - at) : strlen(at);
		if (!newline)
			reader_fail(&r, "the last line does not end in a newline");
		else if (r.length == 0)
			reader_fail(&r, "an empty line");
		else if (at[0] == '#')
			read_comment(&r);
		else
			read_sample(&r);
		at = newline ? newline + 1 : at + r.length;
	}
	for (size_t i = 0; i < r.n_closed; i++)
		free(r.closed[i]);
	free(r.closed);
	free(r.current);
	return r.failed ? -1 : 0;
}

void test_prometheus_free(test_prometheus *parsed)
{
	for (size_t i = 0; i < parsed->n_metrics; i++) {
		free(parsed->metrics[i].name);
		free(parsed->metrics[i].type);
		free(parsed->metrics[i].help);
	}
	for (size_t i = 0; i < parsed->n_samples; i++) {
		free(parsed->samples[i].name);
		for (size_t l = 0; l < parsed->samples[i].n_labels; l++) {
			free(parsed->samples[i].label_names[l]);
			free(parsed->samples[i].label_values[l]);
		}
	}
	free(parsed->metrics);
	free(parsed->samples);
	memset(parsed, 0, sizeof(*parsed));
}

void test_prometheus_read(const char *text, test_prometheus *parsed)
{
	char error[512];
	int r = test_prometheus_parse(text, parsed, error, sizeof(error));
	ck_assert_msg(r == 0, "not the Prometheus text format: %s\n%s", error, text);
}

const test_prometheus_metric *test_prometheus_metric_find(const test_prometheus *parsed, const char *name)
{
	return metric_find((test_prometheus *)parsed, name, strlen(name));
}

const char *test_prometheus_label(const test_prometheus_sample *sample, const char *label)
{
	for (size_t i = 0; i < sample->n_labels; i++)
		if (strcmp(sample->label_names[i], label) == 0)
			return sample->label_values[i];
	return NULL;
}

const test_prometheus_sample *test_prometheus_find(const test_prometheus *parsed, const char *name,
						   const char *const *labels)
{
	size_t n_labels = 0;
	while (labels[2 * n_labels])
		n_labels++;
	for (size_t i = 0; i < parsed->n_samples; i++) {
		const test_prometheus_sample *sample = &parsed->samples[i];
		bool match = strcmp(sample->name, name) == 0 && sample->n_labels == n_labels;
		for (size_t l = 0; match && l < n_labels; l++) {
			const char *value = test_prometheus_label(sample, labels[2 * l]);
			match = value && strcmp(value, labels[2 * l + 1]) == 0;
		}
		if (match)
			return sample;
	}
	return NULL;
}

double test_prometheus_value(const test_prometheus *parsed, const char *name, const char *const *labels)
{
	const test_prometheus_sample *sample = test_prometheus_find(parsed, name, labels);
	char wanted[256] = "";
	size_t used = 0;
	for (size_t l = 0; labels[2 * l] && used < sizeof(wanted); l++)
		used += (size_t)snprintf(wanted + used, sizeof(wanted) - used, "%s%s=\"%s\"", l ? "," : "",
					 labels[2 * l], labels[2 * l + 1]);
	ck_assert_msg(sample != NULL, "no sample %s{%s}", name, wanted);
	return sample->value;
}

size_t test_prometheus_count(const test_prometheus *parsed, const char *name)
{
	size_t n = 0;
	for (size_t i = 0; i < parsed->n_samples; i++)
		n += strcmp(parsed->samples[i].name, name) == 0;
	return n;
}
