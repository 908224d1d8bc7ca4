/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_AUDIT_H
#define VFGUARD_AUDIT_H

/*
 * Drift: what a domain holds (its journal) compared with the live host, and
 * the host as every domain needs it. Changes nothing.
 */

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <vfguard/context.h>
#include <vfguard/domain.h>
#include <vfguard/error.h>
#include <vfguard/labeler.h>
#include <vfguard/model.h>
#include <vfguard/plan.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One thing audit found (labeler.h: vfg_finding_report). */
typedef struct vfg_audit_finding {
	const char *labeler; /* the labeler's name, or "host" */
	vfg_finding_kind kind;
	char path[VFG_PATH_MAX]; /* the node's logical path, "" for the domain or host as a whole */
	/* Each cut to fit ends in "..." (since 0.8). */
	char expected[256];
	char actual[256];
	char fix[512];
} vfg_audit_finding;

typedef struct vfg_audit_report {
	char domain[VFG_NAME_MAX];
	size_t n_findings;
	vfg_audit_finding *findings;
	size_t n_skipped; /* labelers that could not audit (their error is a finding of kind HOST) */
	/*
	 * A domain's report: the labelers audited, comma-separated, without the
	 * built-in ones (which always are), as the journal records the apply's
	 * (labelers_from_journal) or, for a journal that records none, as
	 * configured. "" in the host's report.
	 */
	char labelers[512];
	bool labelers_from_journal;
} vfg_audit_report;

/*
 * Compare what the plan's domain holds (its journal) with the live host,
 * layer by layer and node by node; every labeler whose probe found its layer
 * active is asked. When the journal records the labelers the domain was
 * applied with (model.h: VFG_DOMAIN_ATTR_LABELERS), only those and the
 * built-in ones: another labeler granted nothing to compare with, and one it
 * names that @ctx did not load is a finding. Changes nothing. A report with
 * no findings means no drift.
 */
int vfg_plan_audit(vfg_context *ctx, const vfg_plan *plan, vfg_audit_report **report, vfg_error *err);
void vfg_audit_report_free(vfg_audit_report *report);
int vfg_audit_write_text(const vfg_audit_report *report, FILE *out);
int vfg_audit_write_json(const vfg_audit_report *report, FILE *out);
/* The host's report (@reports[0]) and every domain's: {"drift": ..., "host": {...}, "domains": [...]}. */
int vfg_audit_write_json_host(const vfg_audit_report *const *reports, size_t n_reports, FILE *out);

/*
 * The host as every domain needs it: IOMMU groups exist (the IOMMU is on),
 * /dev/vfio/vfio is the VFIO container with rw for its owner, and the IOMMU
 * group of every hostdev of @domains is still viable. A report for "host".
 */
int vfg_host_audit(vfg_context *ctx, const vfg_live_domain *domains, size_t n_domains, vfg_audit_report **report,
		   vfg_error *err);

/*
 * The grant records the journal holds, counted by domain and labeler, read
 * under the shared host lock: @name's alone, or every domain's (NULL). Each
 * record counts, done or pending: a change revoke would undo. Opaque; added
 * after 0.2 (VFGUARD_0.3), so the report's layout stays as it was.
 */
typedef struct vfg_grant_counts vfg_grant_counts;
int vfg_grant_counts_read(vfg_context *ctx, const char *name, vfg_grant_counts **counts, vfg_error *err);
void vfg_grant_counts_free(vfg_grant_counts *counts);
/* The domains the journal holds (those vfg_live_domains lists), with records or not. */
size_t vfg_grant_counts_n_domains(const vfg_grant_counts *counts);
/* Entry @index, by domain then labeler: its domain, labeler and number of records; false past the last. */
bool vfg_grant_counts_at(const vfg_grant_counts *counts, size_t index, const char **domain, const char **labeler,
			 size_t *records);

/*
 * @reports (any of the host's and domains') and @grants as metrics in the
 * Prometheus text exposition format 0.0.4, for node_exporter's textfile
 * collector (docs/audit.md, "Prometheus"): vfguard_audit_domains,
 * vfguard_audit_findings{labeler,kind} (every labeler of @ctx and of the
 * reports, "host" and "journal", times every kind, 0 when none),
 * vfguard_audit_grants{domain,labeler}, vfguard_audit_last_run_timestamp_seconds
 * (@when) and vfguard_audit_ok, in that order. -1 with errno on a failure.
 */
int vfg_audit_write_prometheus(const vfg_context *ctx, const vfg_audit_report *const *reports, size_t n_reports,
			       const vfg_grant_counts *grants, time_t when, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
