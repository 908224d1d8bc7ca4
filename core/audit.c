/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit: ask every active labeler to compare its layer with what the domain
 * holds, under the shared host lock (so no transaction changes the journal
 * while it is read), and collect what they report. Changes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "journal.h"
#include "memlock.h"

/* What a labeler's audit callback reports into (labeler.h). */
struct vfg_finding {
	const domain_journal *dj; /* NULL when the domain holds nothing */
	const char *labeler;
	vfg_audit_report *report;
	int errnum; /* ENOMEM while adding a finding */
};

VFG_EXPORT const char *vfg_finding_kind_name(vfg_finding_kind kind)
{
	switch (kind) {
	case VFG_FINDING_DRIFT:
		return "drift";
	case VFG_FINDING_MISSING:
		return "missing";
	case VFG_FINDING_POLICY:
		return "policy";
	case VFG_FINDING_CONFLICT:
		return "conflict";
	case VFG_FINDING_HOST:
		return "host";
	}
	return "unknown";
}

VFG_EXPORT const char *vfg_finding_record(const vfg_finding *finding, const vfg_node *node)
{
	const journal_record *record =
		finding->dj ? domain_journal_find_record(finding->dj, finding->labeler, node->path) : NULL;
	return record ? record->undo : NULL;
}

VFG_EXPORT void vfg_finding_report(vfg_finding *finding, const vfg_node *node, vfg_finding_kind kind,
				   const char *expected, const char *actual, const char *fix_fmt, ...)
{
	vfg_audit_report *report = finding->report;
	vfg_audit_finding *grown = realloc(report->findings, (report->n_findings + 1) * sizeof(*grown));
	if (!grown) {
		finding->errnum = ENOMEM;
		return;
	}
	report->findings = grown;
	vfg_audit_finding *f = &report->findings[report->n_findings++];
	memset(f, 0, sizeof(*f));
	f->labeler = finding->labeler;
	f->kind = kind;
	snprintf(f->path, sizeof(f->path), "%s", node ? node->path : "");
	snprintf(f->expected, sizeof(f->expected), "%s", expected ? expected : "");
	snprintf(f->actual, sizeof(f->actual), "%s", actual ? actual : "");
	va_list ap;
	va_start(ap, fix_fmt);
	vsnprintf(f->fix, sizeof(f->fix), fix_fmt, ap);
	va_end(ap);
}

/*
 * The domain's own check, after the labelers: the hypervisor may lock what
 * the formula asks for. Below it, a limit vfguard raised (the journal holds
 * the pid's record) has drifted; one it never raised is missing.
 */
static void audit_memlock(const vfg_plan *plan, vfg_finding *finding)
{
	vfg_memlock live = plan->memlock;
	if (!live.computed || plan->domain.pid <= 0 || live.input.ipc_lock)
		return;
	memlock_read_live(plan, &live);
	finding->labeler = MEMLOCK_LABELER;
	char expected[256], actual[256], path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)plan->domain.pid);
	snprintf(expected, sizeof(expected), "RLIMIT_MEMLOCK of pid %d at least %" PRIu64 " bytes",
		 (int)plan->domain.pid, live.required);
	if (!live.live) {
		vfg_finding_report(finding, NULL, VFG_FINDING_HOST, expected, live.note,
				   "run the audit as root, with the VM running");
		return;
	}
	if (live.suffices)
		return;
	bool held = finding->dj && domain_journal_find_record(finding->dj, MEMLOCK_LABELER, path);
	snprintf(actual, sizeof(actual), "soft %" PRIu64 ", hard %" PRIu64 " bytes (%s)", live.soft, live.hard,
		 live.formula);
	vfg_finding_report(finding, NULL, held ? VFG_FINDING_DRIFT : VFG_FINDING_MISSING, expected, actual,
			   "vfguard apply --domain %s --pid %d --memory %" PRIu64 "%s raises it (docs/memlock.md)",
			   plan->domain.name, (int)plan->domain.pid, plan->domain.memory,
			   plan->domain.viommu ? " --viommu" : "");
}

VFG_EXPORT int vfg_plan_audit(vfg_context *ctx, const vfg_plan *plan, vfg_audit_report **result, vfg_error *err)
{
	vfg_audit_report *report = calloc(1, sizeof(*report));
	if (!report)
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot allocate the audit report");
	snprintf(report->domain, sizeof(report->domain), "%s", plan->domain.name);

	host_journal hj;
	if (host_journal_open(ctx, false, &hj, err) < 0) {
		vfg_audit_report_free(report);
		return -1;
	}
	vfg_finding finding = {
		.dj = host_journal_find(&hj, plan->domain.name),
		.report = report,
	};
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_plan_labeler *pl = &plan->labelers[l];
		if (!pl->probe.active)
			continue; /* the layer is not enforced here: nothing it could drift from */
		finding.labeler = pl->labeler->name;
		for (size_t n = 0; n < plan->n_nodes; n++) {
			vfg_error labeler_err;
			vfg_error_clear(&labeler_err);
			if (pl->labeler->audit(&ctx->env, &plan->domain, &pl->probe, &plan->nodes[n], &finding,
					       &labeler_err) == 0)
				continue;
			/* An audit that could not look is not a clean audit: it is reported, never passed over. */
			char actual[256];
			snprintf(actual, sizeof(actual), "audit failed: %s", labeler_err.message);
			vfg_finding_report(&finding, &plan->nodes[n], VFG_FINDING_HOST, "the layer audited", actual,
					   "see the error; run the audit again once it is fixed");
			report->n_skipped++;
		}
	}
	audit_memlock(plan, &finding);
	host_journal_close(&hj);
	if (finding.errnum) {
		vfg_audit_report_free(report);
		return vfg_error_set(err, finding.errnum, plan->domain.name, "cannot record the audit's findings");
	}
	*result = report;
	return 0;
}

VFG_EXPORT void vfg_audit_report_free(vfg_audit_report *report)
{
	if (!report)
		return;
	free(report->findings);
	free(report);
}

VFG_EXPORT int vfg_audit_write_text(const vfg_audit_report *report, FILE *out)
{
	if (report->n_findings == 0) {
		fprintf(out, "domain %s: no drift\n", report->domain);
		return ferror(out) ? -1 : 0;
	}
	fprintf(out, "domain %s: %zu finding%s\n", report->domain, report->n_findings,
		report->n_findings == 1 ? "" : "s");
	fprintf(out, "%-9s %-9s %s\n", "LABELER", "KIND", "NODE");
	for (size_t i = 0; i < report->n_findings; i++) {
		const vfg_audit_finding *f = &report->findings[i];
		fprintf(out, "%-9s %-9s %s\n", f->labeler, vfg_finding_kind_name(f->kind), f->path[0] ? f->path : "-");
		fprintf(out, "          expected: %s\n          found:    %s\n          fix:      %s\n", f->expected,
			f->actual, f->fix);
	}
	return ferror(out) ? -1 : 0;
}

VFG_EXPORT int vfg_audit_write_json(const vfg_audit_report *report, FILE *out)
{
	vfg_json json = {.out = out};
	vfg_json_begin_object(&json, NULL);
	vfg_json_string(&json, "domain", report->domain);
	vfg_json_bool(&json, "drift", report->n_findings > 0);
	vfg_json_begin_array(&json, "findings");
	for (size_t i = 0; i < report->n_findings; i++) {
		const vfg_audit_finding *f = &report->findings[i];
		vfg_json_begin_object(&json, NULL);
		vfg_json_string(&json, "labeler", f->labeler);
		vfg_json_string(&json, "kind", vfg_finding_kind_name(f->kind));
		if (f->path[0])
			vfg_json_string(&json, "path", f->path);
		else
			vfg_json_null(&json, "path");
		vfg_json_string(&json, "expected", f->expected);
		vfg_json_string(&json, "found", f->actual);
		vfg_json_string(&json, "fix", f->fix);
		vfg_json_end_object(&json);
	}
	vfg_json_end_array(&json);
	vfg_json_end_object(&json);
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}
