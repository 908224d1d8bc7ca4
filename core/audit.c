/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit: ask every active labeler to compare its layer with what the domain
 * holds, under the shared host lock (so no transaction changes the journal
 * while it is read), and collect what they report. Changes nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "dispatcher.h"
#include "journal.h"

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

VFG_EXPORT const char *vfg_finding_state(const vfg_finding *finding, const char *key)
{
	const journal_state *state = finding->dj ? domain_journal_find_state(finding->dj, finding->labeler, key) : NULL;
	return state ? state->value : NULL;
}

/*
 * A text cut to fit its field (@written: what snprintf would have written)
 * ends in "...", so that nobody takes it for the whole: a fix's journal
 * record, an ACL's entries, a label can outgrow the field.
 */
static void mark_cut(char *field, size_t size, int written)
{
	if (written >= 0 && (size_t)written >= size)
		memcpy(field + size - 4, "...", 4);
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
	mark_cut(f->expected, sizeof(f->expected),
		 snprintf(f->expected, sizeof(f->expected), "%s", expected ? expected : ""));
	mark_cut(f->actual, sizeof(f->actual), snprintf(f->actual, sizeof(f->actual), "%s", actual ? actual : ""));
	va_list ap;
	va_start(ap, fix_fmt);
	mark_cut(f->fix, sizeof(f->fix), vsnprintf(f->fix, sizeof(f->fix), fix_fmt, ap));
	va_end(ap);
}

/* The backend a node serves (the table in docs/journal.md's claims, and plan.c's nodes). */
static vfg_backend node_backend(vfg_node_kind kind)
{
	switch (kind) {
	case VFG_NODE_CONTAINER:
	case VFG_NODE_GROUP:
		return VFG_BACKEND_LEGACY;
	case VFG_NODE_IOMMUFD:
	case VFG_NODE_CDEV:
		break;
	case VFG_NODE_DOMAIN:
		return VFG_BACKEND_AUTO; /* no node, no backend: callers skip domain records first */
	}
	return VFG_BACKEND_IOMMUFD;
}

/*
 * The claim a grant on @node belongs to: for a group node the claim on that
 * group; for a cdev the claim of its function, known for the hostdevs of
 * the plan; otherwise (a shared node, or a cdev of a function outside the
 * plan) any claim of the node's backend. *@matches: that claim has the
 * node's backend.
 */
static const journal_claim *claim_of_node(const domain_journal *dj, const vfg_plan *plan, const vfg_node *node,
					  bool *matches)
{
	vfg_backend backend = node_backend(node->kind);
	const journal_claim *claim = NULL;
	bool known = false;
	char path[VFG_PATH_MAX];
	for (size_t i = 0; node->kind == VFG_NODE_GROUP && i < dj->n_claims && !known; i++) {
		snprintf(path, sizeof(path), "/dev/vfio/%u", dj->claims[i].group);
		known = strcmp(path, node->path) == 0;
		claim = known ? &dj->claims[i] : NULL;
	}
	known = known || node->kind == VFG_NODE_GROUP; /* a group no claim names is no claim's */
	for (size_t h = 0; node->kind == VFG_NODE_CDEV && h < plan->n_hostdevs && !known; h++) {
		snprintf(path, sizeof(path), "/dev/vfio/devices/%s", plan->hostdevs[h].cdev);
		known = plan->hostdevs[h].cdev[0] && strcmp(path, node->path) == 0;
		char name[VFG_HOSTDEV_NAME_MAX];
		claim = known ? domain_journal_find_claim(dj, vfg_hostdev_name(&plan->hostdevs[h].spec, name)) : NULL;
	}
	for (size_t i = 0; !known && !claim && i < dj->n_claims; i++)
		if (dj->claims[i].backend == backend)
			claim = &dj->claims[i];
	*matches = claim && claim->backend == backend;
	return claim;
}

/*
 * One group takes one backend: a grant the domain holds on a node of the
 * other backend is one a backend change left live (a vfguard before apply
 * refused the change kept the old grants next to the new ones). The
 * labelers audit only the plan's nodes and never see it, so it is found
 * here, from the journal's records against its claims, and reported as drift.
 */
static void audit_claim_backends(const vfg_plan *plan, vfg_finding *finding)
{
	const domain_journal *dj = finding->dj;
	for (size_t i = 0; dj && i < dj->n_records; i++) {
		const journal_record *record = dj->records[i];
		bool matches;
		if (record->node.kind == VFG_NODE_DOMAIN)
			continue;
		vfg_node node;
		journal_record_node(record, &node);
		const journal_claim *claim = claim_of_node(dj, plan, &node, &matches);
		if (matches)
			continue;
		const char *backend = vfg_backend_name(node_backend(record->node.kind));
		char expected[256], actual[256], bdf[VFG_HOSTDEV_NAME_MAX];
		if (claim)
			snprintf(expected, sizeof(expected),
				 "no %s grant: domain %s holds %s (IOMMU group %u) with backend %s", backend,
				 dj->domain->name, journal_claim_name(claim, bdf), claim->group,
				 vfg_backend_name(claim->backend));
		else if (record->node.shared)
			snprintf(expected, sizeof(expected), "no %s grant: domain %s claims no hostdev with backend %s",
				 backend, dj->domain->name, backend);
		else
			snprintf(expected, sizeof(expected), "no %s grant: no claim of domain %s uses this node",
				 backend, dj->domain->name);
		snprintf(actual, sizeof(actual), "a %s grant of labeler %s still held (journal record %lu)", backend,
			 record->labeler, record->id);
		/* A finding keeps a pointer to its labeler's name: the plan's copy outlives the journal's. */
		finding->labeler = "journal";
		for (size_t l = 0; l < plan->n_labelers; l++)
			if (strcmp(plan->labelers[l].labeler->name, record->labeler) == 0)
				finding->labeler = plan->labelers[l].labeler->name;
		vfg_finding_report(finding, &node, VFG_FINDING_DRIFT, expected, actual,
				   "vfguard revoke --domain %s takes back every grant; then apply it with the "
				   "backend it is to use",
				   VFG_NAME_SHELL(dj->domain->name));
	}
}

/* One labeler's audit of one node (a domain-scope labeler's: its subject). */
static void audit_one(vfg_context *ctx, const host_journal *hj, const vfg_plan *plan, const vfg_labeler *labeler,
		      const vfg_probe *probe, const vfg_node *node, vfg_finding *finding)
{
	finding->labeler = labeler->name;
	txn_view view;
	vfg_labeler_env env = txn_view_env(ctx, &view, hj, labeler->name);
	vfg_error labeler_err;
	vfg_error_clear(&labeler_err);
	if (labeler->audit(&env, &plan->domain, probe, node, finding, &labeler_err) == 0)
		return;
	/* An audit that could not look is not a clean audit: it is reported, never passed over. */
	char actual[256];
	snprintf(actual, sizeof(actual), "audit failed: %s", labeler_err.message);
	vfg_finding_report(finding, node, VFG_FINDING_HOST, "the layer audited", actual,
			   "see the error; run the audit again once it is fixed");
	finding->report->n_skipped++;
}

/*
 * Is @labeler one whose grants the domain may hold? Every one when the
 * journal records no list (a journal of a vfguard before it, or no journal:
 * an audit before apply); else those it names, and the built-in ones.
 */
static bool labeler_audited(const char *recorded, const vfg_labeler *labeler)
{
	return !*recorded || vfg_dispatcher_is_builtin(labeler->name) || labeler_list_has(recorded, labeler->name);
}

static bool plan_has_labeler(const vfg_plan *plan, const char *name)
{
	for (size_t l = 0; l < plan->n_labelers; l++)
		if (strcmp(plan->labelers[l].labeler->name, name) == 0)
			return true;
	for (size_t l = 0; l < plan->n_domain_labelers; l++)
		if (strcmp(plan->domain_labelers[l].labeler->name, name) == 0)
			return true;
	return false;
}

/* The labelers this audit checks, into the report; @recorded: the journal's list, "" when it has none. */
static void report_labelers(const vfg_plan *plan, const char *recorded, vfg_audit_report *report)
{
	report->labelers_from_journal = *recorded;
	if (*recorded) {
		snprintf(report->labelers, sizeof(report->labelers), "%s", recorded);
		return;
	}
	size_t used = 0;
	for (size_t l = 0; l < plan->n_labelers; l++)
		if (!vfg_dispatcher_is_builtin(plan->labelers[l].labeler->name))
			used = vfg_strlcatf(report->labelers, sizeof(report->labelers), used, "%s%s", used ? "," : "",
					    plan->labelers[l].labeler->name);
}

/* A labeler the domain was applied with that is not loaded here cannot audit its grants: never a clean audit. */
static void audit_labelers_not_loaded(const vfg_plan *plan, const char *recorded, vfg_finding *finding)
{
	for (const char *at = recorded; *at;) {
		size_t length = strcspn(at, ",");
		char name[VFG_NAME_MAX], expected[256], actual[256];
		snprintf(name, sizeof(name), "%.*s", (int)length, at);
		at += length;
		at += *at == ',';
		if (plan_has_labeler(plan, name))
			continue;
		snprintf(expected, sizeof(expected),
			 "labeler %s audits the grants it made (the journal: applied with %s)", name, recorded);
		snprintf(actual, sizeof(actual), "labeler %s is not loaded here", name);
		finding->labeler = "journal"; /* the finding outlives the journal's copy of the name */
		vfg_finding_report(finding, NULL, VFG_FINDING_HOST, expected, actual,
				   "install the %s labeler (vfguard-%s.so in the plugin directory) and audit again",
				   name, name);
	}
}

/*
 * Was the audit given the domain as the journal holds it, for @labeler: its
 * pid, and each of the labeler's attributes ("LABELER.NAME")? An audit run
 * with --hostdev and without --cgroup finds the cgroup layer inactive for
 * want of a path, which says nothing of the host (a review saw it reported).
 */
static bool described_as_held(const vfg_domain *planned, const vfg_domain *held, const char *labeler)
{
	if (planned->pid != held->pid)
		return false;
	size_t prefix = strlen(labeler);
	const char *name, *value;
	for (size_t a = 0; vfg_domain_attr_at(held, a, &name, &value); a++)
		if (strncmp(name, labeler, prefix) == 0 && name[prefix] == '.' &&
		    strcmp(vfg_domain_attr(planned, name), value) != 0)
			return false;
	return true;
}

/*
 * A layer not enforced now whose grants the domain's journal holds: the host
 * changed under the domain (its cgroup removed when its VM stopped without
 * a release, the layer turned off). Nothing of it can be compared, and "no
 * drift" would hide the change (a trial removed the cgroup): one finding.
 */
static void audit_inactive(const vfg_plan *plan, const vfg_labeler *labeler, const vfg_probe *probe,
			   vfg_finding *finding)
{
	size_t held = 0;
	for (size_t r = 0; finding->dj && r < finding->dj->n_records; r++)
		held += strcmp(finding->dj->records[r]->labeler, labeler->name) == 0;
	if (held == 0 || !described_as_held(&plan->domain, finding->dj->domain, labeler->name))
		return;
	char expected[128];
	snprintf(expected, sizeof(expected), "the labeler active, as when the domain's %zu grant%s of it were made",
		 held, held == 1 ? "" : "s");
	finding->labeler = labeler->name;
	vfg_finding_report(
		finding, NULL, VFG_FINDING_DRIFT, expected, probe->note,
		"if the domain's VM has stopped, vfguard revoke --domain %s takes back what it holds; else "
		"the labeler's note says why it is not active now (the layer not enforced, or left to another, "
		"as libvirt's AppArmor driver)",
		VFG_NAME_SHELL(plan->domain.name));
}

VFG_EXPORT int vfg_plan_audit(vfg_context *ctx, const vfg_plan *plan, vfg_audit_report **result, vfg_error *err)
{
	if (vfg_plan_context_check(ctx, plan, "audit", err) < 0)
		return -1;
	vfg_audit_report *report = calloc(1, sizeof(*report));
	if (!report)
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot allocate the audit report");
	snprintf(report->domain, sizeof(report->domain), "%s", plan->domain.name);

	host_journal hj;
	if (host_journal_open_for(ctx, false, plan->domain.name, &hj, err) < 0) {
		vfg_audit_report_free(report);
		return -1;
	}
	if (host_boot_current(ctx, "audit", err) < 0) {
		host_journal_close(&hj);
		vfg_audit_report_free(report);
		return -1;
	}
	vfg_finding finding = {
		.dj = host_journal_find(&hj, plan->domain.name),
		.report = report,
	};
	const char *recorded = finding.dj ? vfg_domain_attr(finding.dj->domain, VFG_DOMAIN_ATTR_LABELERS) : "";
	report_labelers(plan, recorded, report);
	audit_labelers_not_loaded(plan, recorded, &finding);
	/*
	 * An open transaction (a run killed mid-way, or a revoke that failed):
	 * its intents are journaled, some changes made, some not:
	 * each node would be "drift" with a fix that grants again, where what
	 * the host needs is the transaction finished (a trial found a killed
	 * apply reported as 760 findings, a killed revoke as 700): one finding.
	 */
	bool unfinished = finding.dj && finding.dj->open_txn;
	if (unfinished) {
		char actual[256], fix[VFG_NAME_SHELL_SIZE + 2 * VFG_NAME_MAX + 192];
		finding.labeler = "journal";
		snprintf(actual, sizeof(actual),
			 "an interrupted or failed %s left transaction %lu open: its changes are half made",
			 journal_op_name(finding.dj->open_op), finding.dj->open_txn);
		/* restore cannot finish one that holds grants of a labeler not loaded: say what can (a trial) */
		const char *missing = domain_journal_labeler_not_loaded(ctx, finding.dj);
		if (missing)
			snprintf(fix, sizeof(fix),
				 "load labeler %s and run vfguard restore, or vfguard revoke --domain %s --forget %s "
				 "(it drops those grants undone), then audit again",
				 missing, VFG_NAME_SHELL(finding.dj->domain->name), missing);
		else if (finding.dj->forward)
			snprintf(fix, sizeof(fix),
				 "vfguard restore (it completes an access switch past its last grant), "
				 "then audit again");
		else
			snprintf(fix, sizeof(fix),
				 "vfguard restore (it undoes a crashed apply, completes a crashed "
				 "revoke), then audit again");
		vfg_finding_report(&finding, NULL, VFG_FINDING_HOST, "every transaction of the domain finished", actual,
				   "%s", fix);
	}
	for (size_t l = 0; l < plan->n_labelers && !unfinished; l++) {
		const vfg_planned_labeler *pl = &plan->labelers[l];
		if (!labeler_audited(recorded, pl->labeler))
			continue; /* not the domain's: nothing it could drift from */
		if (!pl->probe.active) {
			audit_inactive(plan, pl->labeler, &pl->probe, &finding);
			continue;
		}
		for (size_t n = 0; n < plan->n_nodes; n++)
			audit_one(ctx, &hj, plan, pl->labeler, &pl->probe, &plan->nodes[n], &finding);
	}
	if (!unfinished)
		audit_claim_backends(plan, &finding);
	/* The domain's own changes, after the nodes': once each, for the subject the probe named. */
	for (size_t l = 0; l < plan->n_domain_labelers && !unfinished; l++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[l];
		if (!labeler_audited(recorded, dl->labeler))
			continue;
		if (dl->probe.active)
			audit_one(ctx, &hj, plan, dl->labeler, &dl->probe, &dl->subject, &finding);
		else
			audit_inactive(plan, dl->labeler, &dl->probe, &finding);
	}
	bool failed = hj.failed; /* a holder's journal the labelers asked about could not be read */
	vfg_error failure = hj.failure;
	host_journal_close(&hj);
	if (failed) {
		vfg_audit_report_free(report);
		*err = failure;
		return -1;
	}
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

/* Which layers a domain's report covers, and who said so (the host's report covers none). */
static void audit_write_labelers(const vfg_audit_report *report, FILE *out)
{
	if (report->labelers[0] || report->labelers_from_journal)
		fprintf(out, "labelers (from the %s): %s\n",
			report->labelers_from_journal ? "journal" : "configuration",
			report->labelers[0] ? report->labelers : "none but the built-in ones");
}

VFG_EXPORT int vfg_audit_write_text(const vfg_audit_report *report, FILE *out)
{
	if (report->n_findings == 0) {
		fprintf(out, "domain %s: no drift\n", report->domain);
		audit_write_labelers(report, out);
		return ferror(out) ? -1 : 0;
	}
	fprintf(out, "domain %s: %zu finding%s\n", report->domain, report->n_findings,
		report->n_findings == 1 ? "" : "s");
	audit_write_labelers(report, out);
	fprintf(out, "%-9s %-9s %s\n", "LABELER", "KIND", "NODE");
	for (size_t i = 0; i < report->n_findings; i++) {
		const vfg_audit_finding *f = &report->findings[i];
		fprintf(out, "%-9s %-9s %s\n", f->labeler, vfg_finding_kind_name(f->kind), f->path[0] ? f->path : "-");
		fprintf(out, "          expected: %s\n          found:    %s\n          fix:      %s\n", f->expected,
			f->actual, f->fix);
	}
	return ferror(out) ? -1 : 0;
}

static void audit_json_report(vfg_json *json, const char *key, const vfg_audit_report *report, bool top);

/* The version of the audit's JSON, first in its top object as in every --json object vfguard writes. */
#define VFG_AUDIT_JSON_VERSION 1

VFG_EXPORT int vfg_audit_write_json(const vfg_audit_report *report, FILE *out)
{
	vfg_json json = {.out = out};
	audit_json_report(&json, NULL, report, true);
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}

VFG_EXPORT int vfg_audit_write_json_host(const vfg_audit_report *const *reports, size_t n_reports, FILE *out)
{
	bool drift = false;
	for (size_t i = 0; i < n_reports; i++)
		drift = drift || reports[i]->n_findings > 0;
	vfg_json json = {.out = out};
	vfg_json_begin_object(&json, NULL);
	vfg_json_int(&json, "version", VFG_AUDIT_JSON_VERSION);
	vfg_json_bool(&json, "drift", drift);
	audit_json_report(&json, "host", reports[0], false);
	vfg_json_begin_array(&json, "domains");
	for (size_t i = 1; i < n_reports; i++)
		audit_json_report(&json, NULL, reports[i], false);
	vfg_json_end_array(&json);
	vfg_json_end_object(&json);
	fputc('\n', out);
	return ferror(out) ? -1 : 0;
}

static void audit_json_report(vfg_json *json, const char *key, const vfg_audit_report *report, bool top)
{
	vfg_json_begin_object(json, key);
	if (top)
		vfg_json_int(json, "version", VFG_AUDIT_JSON_VERSION);
	vfg_json_string(json, "domain", report->domain);
	vfg_json_bool(json, "drift", report->n_findings > 0);
	if (report->labelers[0] || report->labelers_from_journal) {
		vfg_json_begin_array(json, "labelers");
		for (const char *at = report->labelers; *at;) {
			size_t length = strcspn(at, ",");
			char name[VFG_NAME_MAX];
			snprintf(name, sizeof(name), "%.*s", (int)length, at);
			vfg_json_string(json, NULL, name);
			at += length;
			at += *at == ',';
		}
		vfg_json_end_array(json);
		vfg_json_string(json, "labelers_from", report->labelers_from_journal ? "journal" : "configuration");
	}
	vfg_json_begin_array(json, "findings");
	for (size_t i = 0; i < report->n_findings; i++) {
		const vfg_audit_finding *f = &report->findings[i];
		vfg_json_begin_object(json, NULL);
		vfg_json_string(json, "labeler", f->labeler);
		vfg_json_string(json, "kind", vfg_finding_kind_name(f->kind));
		if (f->path[0])
			vfg_json_string(json, "path", f->path);
		else
			vfg_json_null(json, "path");
		vfg_json_string(json, "expected", f->expected);
		vfg_json_string(json, "found", f->actual);
		vfg_json_string(json, "fix", f->fix);
		vfg_json_end_object(json);
	}
	vfg_json_end_array(json);
	vfg_json_end_object(json);
}

/* The IOMMU is on when the kernel made IOMMU groups (drivers/iommu/iommu.c creates /sys/kernel/iommu_groups/N). */
static int host_audit_iommu(vfg_context *ctx, vfg_finding *finding, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (vfg_host_path(ctx, "/sys/kernel/iommu_groups", path, sizeof(path), err) < 0)
		return -1;
	_cleanup_closedir_ DIR *dir = opendir(path);
	size_t groups = 0;
	for (struct dirent *entry; dir && (entry = readdir(dir));)
		groups += entry->d_name[0] != '.';
	if (groups == 0)
		vfg_finding_report(finding, NULL, VFG_FINDING_HOST, "IOMMU groups in /sys/kernel/iommu_groups",
				   dir ? "no IOMMU group" : "no /sys/kernel/iommu_groups",
				   "turn the IOMMU on (intel_iommu=on or amd_iommu=on on the kernel command line, and "
				   "VT-d/AMD-Vi in the firmware)");
	return 0;
}

/* /dev/vfio/vfio, when the vfio module serves it: the container node, usable by its owner. */
static int host_audit_container(vfg_context *ctx, vfg_finding *finding, vfg_error *err)
{
	char sysfs[VFG_PATH_MAX];
	if (vfg_host_path(ctx, "/sys/class/misc/vfio/dev", sysfs, sizeof(sysfs), err) < 0)
		return -1;
	vfg_node node = {.kind = VFG_NODE_CONTAINER, .path = "/dev/vfio/vfio", .shared = true};
	vfg_error node_err;
	vfg_error_clear(&node_err);
	if (access(sysfs, F_OK) < 0)
		return 0; /* no legacy VFIO on this host: nothing serves a container */
	if (vfg_sysfs_read_devnum(sysfs, &node.rdev, err) < 0)
		return -1;
	if (vfg_node_inspect(ctx, &node, &node_err) < 0) {
		vfg_finding_report(finding, &node, VFG_FINDING_HOST, "the VFIO container, as sysfs gives it",
				   node_err.message, "recreate it (udevadm trigger, or mknod with sysfs's MAJ:MIN)");
		return 0;
	}
	if ((node.mode & (S_IRUSR | S_IWUSR)) != (S_IRUSR | S_IWUSR)) {
		char found[64];
		snprintf(found, sizeof(found), "owner %u:%u mode %04o", (unsigned)node.uid, (unsigned)node.gid,
			 (unsigned)node.mode);
		vfg_finding_report(finding, &node, VFG_FINDING_HOST, "mode with rw for its owner", found,
				   "chmod u+rw /dev/vfio/vfio (udev's rule for it sets the mode)");
	}
	return 0;
}

/*
 * One IOMMU group belongs to one domain: apply refuses a second claim under
 * the host lock, so two domains' journals claiming one group were changed by
 * hand or by a holders index edited behind the lock (a security trial), and
 * both domains' grants open the same devices.
 */
static void report_shared_group(vfg_finding *finding, unsigned group, const char *one, const char *two)
{
	/* named in order, so a report reads the same whichever journal was read first */
	if (strcmp(one, two) > 0) {
		const char *swap = one;
		one = two;
		two = swap;
	}
	char expected[64], actual[2 * VFG_NAME_MAX + 64];
	snprintf(expected, sizeof(expected), "IOMMU group %u claimed by one domain", group);
	snprintf(actual, sizeof(actual), "claimed by domains %s and %s", one, two);
	vfg_finding_report(finding, NULL, VFG_FINDING_HOST, expected, actual,
			   "revoke the one that should not hold it (vfguard revoke --domain %s, or --domain %s)",
			   VFG_NAME_SHELL(one), VFG_NAME_SHELL(two));
}

/* Does @dj claim @group, through its claims before @before (all: its n_claims)? */
static bool claims_group(const domain_journal *dj, unsigned group, size_t before)
{
	for (size_t k = 0; k < before; k++)
		if (dj->claims[k].group == group)
			return true;
	return false;
}

static int host_audit_claims(vfg_context *ctx, vfg_finding *finding, vfg_error *err)
{
	host_journal hj;
	if (host_journal_open(ctx, false, &hj, err) < 0)
		return -1;
	for (size_t a = 0; a < hj.n_domains; a++)
		for (size_t c = 0; c < hj.domains[a]->n_claims; c++) {
			unsigned group = hj.domains[a]->claims[c].group;
			if (claims_group(hj.domains[a], group, c))
				continue; /* a second function of the group: the group is counted once */
			for (size_t b = a + 1; b < hj.n_domains; b++)
				if (claims_group(hj.domains[b], group, hj.domains[b]->n_claims))
					report_shared_group(finding, group, hj.domains[a]->domain->name,
							    hj.domains[b]->domain->name);
		}
	host_journal_close(&hj);
	return 0;
}

/* A claimed mdev: still there, of a vfio bus vfguard grants, alone in its group (mdev.c). */
static int host_audit_mdev(vfg_context *ctx, const vfg_live_domain *live, const vfg_hostdev_spec *spec,
			   vfg_finding *finding)
{
	char name[VFG_HOSTDEV_NAME_MAX], expected[128];
	snprintf(expected, sizeof(expected), "%s of domain %s present, alone in its IOMMU group",
		 vfg_hostdev_name(spec, name), live->domain.name);
	vfg_hostdev hostdev;
	vfg_error host_err;
	vfg_error_clear(&host_err);
	if (vfg_hostdev_enumerate(ctx, spec, &hostdev, &host_err) < 0) {
		vfg_finding_report(finding, NULL, VFG_FINDING_HOST, expected, host_err.message,
				   "vfguard revoke --domain %s: the mdev is gone or changed",
				   VFG_NAME_SHELL(live->domain.name));
		return 0;
	}
	vfg_hostdev_clear(&hostdev);
	return 0;
}

/* Each claimed hostdev: still on a vfio driver, its IOMMU group still viable. */
static int host_audit_hostdev(vfg_context *ctx, const vfg_live_domain *live, const vfg_hostdev_spec *spec,
			      vfg_finding *finding, vfg_error *err)
{
	if (spec->mdev[0])
		return host_audit_mdev(ctx, live, spec, finding);
	char bdf[VFG_PCI_ADDR_STRLEN], expected[128];
	vfg_pci_addr_format(&spec->addr, bdf);
	vfg_pci_function fn;
	vfg_iommu_group group = {0};
	vfg_error host_err;
	vfg_error_clear(&host_err);
	snprintf(expected, sizeof(expected), "%s of domain %s on vfio-pci, its IOMMU group viable", bdf,
		 live->domain.name);
	if (vfg_pci_function_read(ctx, &spec->addr, &fn, &host_err) < 0) {
		vfg_finding_report(finding, NULL, VFG_FINDING_HOST, expected, host_err.message,
				   "vfguard revoke --domain %s: the device is gone", VFG_NAME_SHELL(live->domain.name));
		return 0;
	}
	if (!vfg_driver_is_vfio(fn.driver)) {
		char found[128];
		snprintf(found, sizeof(found), "bound to %s", fn.driver[0] ? fn.driver : "no driver");
		vfg_finding_report(finding, NULL, VFG_FINDING_HOST, expected, found, "vfguard detach %s", bdf);
		return 0;
	}
	int r = vfg_iommu_group_read(ctx, &spec->addr, &group, &host_err);
	if (r == 0)
		r = vfg_iommu_group_check_viable(&group, &spec->addr, &host_err);
	free(group.members);
	if (r < 0)
		vfg_finding_report(finding, NULL, VFG_FINDING_HOST, expected, host_err.message,
				   "bind each other member of the group the finding names to vfio-pci or pci-stub, "
				   "or unbind it (a bridge to pci-stub or to no driver: no vfio driver takes one)");
	return 0;
}

VFG_EXPORT int vfg_host_audit(vfg_context *ctx, const vfg_live_domain *domains, size_t n_domains,
			      vfg_audit_report **result, vfg_error *err)
{
	vfg_audit_report *report = calloc(1, sizeof(*report));
	if (!report)
		return vfg_error_set(err, ENOMEM, "host", "cannot allocate the audit report");
	snprintf(report->domain, sizeof(report->domain), "host");
	vfg_finding finding = {.labeler = "host", .report = report};
	int r = host_audit_iommu(ctx, &finding, err);
	if (r == 0)
		r = host_audit_container(ctx, &finding, err);
	if (r == 0)
		r = host_audit_claims(ctx, &finding, err);
	for (size_t i = 0; r == 0 && i < n_domains; i++)
		for (size_t h = 0; r == 0 && h < domains[i].n_hostdevs; h++)
			r = host_audit_hostdev(ctx, &domains[i], &domains[i].hostdevs[h], &finding, err);
	if (r == 0 && finding.errnum)
		r = vfg_error_set(err, finding.errnum, "host", "cannot record the audit's findings");
	if (r < 0) {
		vfg_audit_report_free(report);
		return -1;
	}
	*result = report;
	return 0;
}
