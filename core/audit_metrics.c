/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit as metrics: what the journal holds, counted by domain and labeler,
 * and the audit's reports with those counts in the Prometheus text
 * exposition format, for node_exporter's textfile collector (docs/audit.md,
 * "Prometheus"). Changes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

/* One domain's records of one labeler. */
typedef struct grant_count {
	char domain[VFG_NAME_MAX];
	char labeler[sizeof(((journal_record *)0)->labeler)];
	size_t records;
} grant_count;

struct vfg_grant_counts {
	size_t n_domains;
	size_t n_entries, capacity;
	grant_count *entries;
};

/* The entry of (@domain, @labeler), added with no record when there is none; NULL when out of memory. */
static grant_count *grant_count_get(vfg_grant_counts *counts, const char *domain, const char *labeler)
{
	for (size_t i = 0; i < counts->n_entries; i++)
		if (strcmp(counts->entries[i].domain, domain) == 0 && strcmp(counts->entries[i].labeler, labeler) == 0)
			return &counts->entries[i];
	if (counts->n_entries == counts->capacity) {
		size_t capacity = counts->capacity ? 2 * counts->capacity : 16;
		grant_count *grown = realloc(counts->entries, capacity * sizeof(*grown));
		if (!grown)
			return NULL;
		counts->entries = grown;
		counts->capacity = capacity;
	}
	grant_count *entry = &counts->entries[counts->n_entries++];
	memset(entry, 0, sizeof(*entry));
	snprintf(entry->domain, sizeof(entry->domain), "%s", domain);
	snprintf(entry->labeler, sizeof(entry->labeler), "%s", labeler);
	return entry;
}

static int grant_count_compare(const void *a, const void *b)
{
	const grant_count *x = a, *y = b;
	int by_domain = strcmp(x->domain, y->domain);
	return by_domain ? by_domain : strcmp(x->labeler, y->labeler);
}

/* Every record of @dj, done or still pending: each is a change revoke would undo. */
static int count_domain(vfg_grant_counts *counts, const domain_journal *dj, vfg_error *err)
{
	for (size_t r = 0; r < dj->n_records; r++) {
		grant_count *entry = grant_count_get(counts, dj->domain->name, dj->records[r]->labeler);
		if (!entry)
			return vfg_error_set(err, ENOMEM, dj->domain->name, "cannot count the domain's grants");
		entry->records++;
	}
	counts->n_domains++;
	return 0;
}

VFG_EXPORT int vfg_grant_counts_read(vfg_context *ctx, const char *name, vfg_grant_counts **result, vfg_error *err)
{
	*result = NULL;
	/* A name no domain can have is an error, as for vfg_live_domains. */
	if (name && vfg_domain_name_check(name, err) < 0)
		return -1;
	vfg_grant_counts *counts = calloc(1, sizeof(*counts));
	if (!counts)
		return vfg_error_set(err, ENOMEM, "", "cannot allocate the grant counts");
	host_journal hj;
	if (host_journal_open(ctx, false, &hj, err) < 0) {
		vfg_grant_counts_free(counts);
		return -1;
	}
	int r = 0;
	for (size_t i = 0; r == 0 && i < hj.n_domains; i++)
		if (!name || strcmp(hj.domains[i]->domain->name, name) == 0)
			r = count_domain(counts, hj.domains[i], err);
	host_journal_close(&hj);
	if (r < 0) {
		vfg_grant_counts_free(counts);
		return -1;
	}
	if (counts->n_entries) /* qsort takes no NULL, even for no element */
		qsort(counts->entries, counts->n_entries, sizeof(*counts->entries), grant_count_compare);
	*result = counts;
	return 0;
}

VFG_EXPORT void vfg_grant_counts_free(vfg_grant_counts *counts)
{
	if (!counts)
		return;
	free(counts->entries);
	free(counts);
}

VFG_EXPORT size_t vfg_grant_counts_n_domains(const vfg_grant_counts *counts)
{
	return counts->n_domains;
}

VFG_EXPORT bool vfg_grant_counts_at(const vfg_grant_counts *counts, size_t index, const char **domain,
				    const char **labeler, size_t *records)
{
	if (index >= counts->n_entries)
		return false;
	*domain = counts->entries[index].domain;
	*labeler = counts->entries[index].labeler;
	*records = counts->entries[index].records;
	return true;
}

/*
 * The Prometheus text exposition format, version 0.0.4, as
 * https://prometheus.io/docs/instrumenting/exposition_formats/ ("Text format
 * details") gives it: lines end in '\n', the last one too; "# HELP NAME TEXT"
 * with '\' and newline in TEXT escaped as "\\" and "\n"; "# TYPE NAME TYPE"
 * once per metric, before its first sample; a sample is
 * NAME{LABEL="VALUE",...} NUMBER, with '\', '"' and newline in VALUE escaped
 * as "\\", "\"" and "\n"; every sample of a metric in one group. Names follow
 * https://prometheus.io/docs/practices/naming/: an application prefix, base
 * units ("_seconds"), "_timestamp_seconds" for a Unix time.
 */
static void prometheus_escaped(FILE *out, const char *text, bool label_value)
{
	for (const char *at = text; *at; at++) {
		if (*at == '\\')
			fputs("\\\\", out);
		else if (*at == '\n')
			fputs("\\n", out);
		else if (*at == '"' && label_value)
			fputs("\\\"", out);
		else
			fputc(*at, out);
	}
}

static void prometheus_header(FILE *out, const char *name, const char *help)
{
	fprintf(out, "# HELP %s ", name);
	prometheus_escaped(out, help, false);
	fprintf(out, "\n# TYPE %s gauge\n", name);
}

/* NAME{KEY1="VALUE1",KEY2="VALUE2"} (@key2 NULL: one label) */
static void prometheus_labels(FILE *out, const char *name, const char *key1, const char *value1, const char *key2,
			      const char *value2)
{
	fprintf(out, "%s{%s=\"", name, key1);
	prometheus_escaped(out, value1, true);
	if (key2) {
		fprintf(out, "\",%s=\"", key2);
		prometheus_escaped(out, value2, true);
	}
	fputs("\"}", out);
}

/* A set of names, each once, copied: the labelers the findings are counted for. */
typedef struct name_set {
	size_t n, capacity;
	char **names;
	bool failed; /* out of memory */
} name_set;

/* Add the first @length bytes of @name. */
static void name_set_add(name_set *set, const char *name, size_t length)
{
	for (size_t i = 0; i < set->n; i++)
		if (strlen(set->names[i]) == length && strncmp(set->names[i], name, length) == 0)
			return;
	if (set->n == set->capacity) {
		size_t capacity = set->capacity ? 2 * set->capacity : 16;
		char **grown = realloc(set->names, capacity * sizeof(*grown));
		if (!grown) {
			set->failed = true;
			return;
		}
		set->names = grown;
		set->capacity = capacity;
	}
	if (!(set->names[set->n] = strndup(name, length)))
		set->failed = true;
	else
		set->n++;
}

static void name_set_clear(name_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->names[i]);
	free(set->names);
}

static int name_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every labeler a finding may name, so that each (labeler, kind) series is
 * there, 0 when nothing was found, and an alert on it needs no absent():
 * the labelers @ctx loaded, those the reports audited, "host" (the host, and
 * a labeler that could not audit) and "journal" (a grant or a labeler no
 * loaded labeler accounts for), and any other a finding names. Sorted.
 */
static void finding_labelers(const vfg_context *ctx, const vfg_audit_report *const *reports, size_t n_reports,
			     name_set *set)
{
	name_set_add(set, "host", strlen("host"));
	name_set_add(set, "journal", strlen("journal"));
	for (size_t l = 0; l < ctx->n_labelers; l++)
		name_set_add(set, ctx->labelers[l]->name, strlen(ctx->labelers[l]->name));
	for (size_t i = 0; i < n_reports; i++)
		for (const char *at = reports[i]->labelers; *at;) {
			size_t length = strcspn(at, ",");
			if (length)
				name_set_add(set, at, length);
			at += length;
			at += *at == ',';
		}
	for (size_t i = 0; i < n_reports; i++)
		for (size_t f = 0; f < reports[i]->n_findings; f++)
			name_set_add(set, reports[i]->findings[f].labeler, strlen(reports[i]->findings[f].labeler));
	if (set->n)
		qsort(set->names, set->n, sizeof(*set->names), name_compare);
}

/* Every kind vfg_finding_kind_name knows, sorted by name. */
static size_t finding_kinds(vfg_finding_kind *kinds, size_t max)
{
	size_t n = 0;
	for (int kind = 0; n < max && strcmp(vfg_finding_kind_name((vfg_finding_kind)kind), "unknown") != 0; kind++)
		kinds[n++] = (vfg_finding_kind)kind;
	for (size_t i = 1; i < n; i++)
		for (size_t j = i;
		     j > 0 && strcmp(vfg_finding_kind_name(kinds[j - 1]), vfg_finding_kind_name(kinds[j])) > 0; j--) {
			vfg_finding_kind swap = kinds[j];
			kinds[j] = kinds[j - 1];
			kinds[j - 1] = swap;
		}
	return n;
}

static size_t findings_of(const vfg_audit_report *const *reports, size_t n_reports, const char *labeler,
			  vfg_finding_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < n_reports; i++)
		for (size_t f = 0; f < reports[i]->n_findings; f++)
			n += reports[i]->findings[f].kind == kind &&
			     strcmp(reports[i]->findings[f].labeler, labeler) == 0;
	return n;
}

static void write_findings(FILE *out, const vfg_audit_report *const *reports, size_t n_reports,
			   const name_set *labelers)
{
	vfg_finding_kind kinds[32];
	size_t n_kinds = finding_kinds(kinds, sizeof(kinds) / sizeof(kinds[0]));
	prometheus_header(out, "vfguard_audit_findings",
			  "Findings of the last vfguard audit, by the labeler that reported them and their kind "
			  "(docs/audit.md); 0 when none.");
	for (size_t l = 0; l < labelers->n; l++)
		for (size_t k = 0; k < n_kinds; k++) {
			prometheus_labels(out, "vfguard_audit_findings", "labeler", labelers->names[l], "kind",
					  vfg_finding_kind_name(kinds[k]));
			fprintf(out, " %zu\n", findings_of(reports, n_reports, labelers->names[l], kinds[k]));
		}
}

static void write_grants(FILE *out, const vfg_grant_counts *grants)
{
	prometheus_header(out, "vfguard_audit_grants",
			  "Grant records the journal holds (changes revoke undoes), by domain and labeler.");
	for (size_t i = 0; i < grants->n_entries; i++) {
		prometheus_labels(out, "vfguard_audit_grants", "domain", grants->entries[i].domain, "labeler",
				  grants->entries[i].labeler);
		fprintf(out, " %zu\n", grants->entries[i].records);
	}
}

VFG_EXPORT int vfg_audit_write_prometheus(const vfg_context *ctx, const vfg_audit_report *const *reports,
					  size_t n_reports, const vfg_grant_counts *grants, time_t when, FILE *out)
{
	bool ok = true;
	for (size_t i = 0; i < n_reports; i++)
		ok = ok && reports[i]->n_findings == 0;
	name_set labelers = {0};
	finding_labelers(ctx, reports, n_reports, &labelers);
	if (labelers.failed) {
		name_set_clear(&labelers);
		errno = ENOMEM;
		return -1;
	}
	/* The metrics by name, so the output is the same for the same host. */
	prometheus_header(out, "vfguard_audit_domains", "Domains vfguard's journal holds grants or IOMMU groups for.");
	fprintf(out, "vfguard_audit_domains %zu\n", grants->n_domains);
	write_findings(out, reports, n_reports, &labelers);
	write_grants(out, grants);
	prometheus_header(out, "vfguard_audit_last_run_timestamp_seconds",
			  "When the last vfguard audit ran, in seconds since the Unix epoch.");
	fprintf(out, "vfguard_audit_last_run_timestamp_seconds %lld\n", (long long)when);
	prometheus_header(out, "vfguard_audit_ok", "1 when the last vfguard audit found nothing, else 0.");
	fprintf(out, "vfguard_audit_ok %d\n", ok ? 1 : 0);
	name_set_clear(&labelers);
	return ferror(out) ? -1 : 0;
}
