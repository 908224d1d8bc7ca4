/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TESTS_PROMETHEUS_TESTLIB_H
#define VFGUARD_TESTS_PROMETHEUS_TESTLIB_H

/*
 * A strict reader of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/, "Text
 * format details"), for what vfguard audit --format prometheus writes. It
 * takes less than the format allows, never more: every line is "# HELP",
 * "# TYPE" or a sample (no other comment, no empty line); a metric's HELP
 * and TYPE come before its samples and once; a sample's name has a TYPE;
 * one metric's samples are one group; names and label names are valid; a
 * label value escapes '\', '"' and newline (and nothing else); a value is a
 * number; no series twice; the text is not empty and ends in a newline.
 */

#include <stdbool.h>
#include <stddef.h>

#define TEST_PROMETHEUS_MAX_LABELS 4

typedef struct test_prometheus_sample {
	char *name;
	size_t n_labels;
	char *label_names[TEST_PROMETHEUS_MAX_LABELS];
	char *label_values[TEST_PROMETHEUS_MAX_LABELS]; /* unescaped */
	double value;
} test_prometheus_sample;

typedef struct test_prometheus_metric {
	char *name;
	char *type; /* gauge, counter, ... */
	char *help; /* unescaped; NULL when it has none */
} test_prometheus_metric;

typedef struct test_prometheus {
	size_t n_metrics;
	test_prometheus_metric *metrics;
	size_t n_samples;
	test_prometheus_sample *samples; /* in the text's order */
} test_prometheus;

/*
 * Read @text into @parsed: 0, or -1 with what is wrong, and on which line,
 * in @error. @parsed holds what was read either way: test_prometheus_free it.
 */
int test_prometheus_parse(const char *text, test_prometheus *parsed, char *error, size_t error_size);
void test_prometheus_free(test_prometheus *parsed);

/* Read @text, failing the test with the error and the text when it does not read. */
void test_prometheus_read(const char *text, test_prometheus *parsed);

/* The metric @name, NULL when there is none. */
const test_prometheus_metric *test_prometheus_metric_find(const test_prometheus *parsed, const char *name);
/*
 * The sample of @name whose labels are exactly @labels ("NAME", "VALUE"
 * pairs, NULL-terminated; {NULL} for none), NULL when there is none.
 */
const test_prometheus_sample *test_prometheus_find(const test_prometheus *parsed, const char *name,
						   const char *const *labels);
/* Its value, failing the test when there is no such sample. */
double test_prometheus_value(const test_prometheus *parsed, const char *name, const char *const *labels);
/* The value of label @label of @sample, NULL when it has none. */
const char *test_prometheus_label(const test_prometheus_sample *sample, const char *label);
/* How many samples @name has. */
size_t test_prometheus_count(const test_prometheus *parsed, const char *name);

#endif
