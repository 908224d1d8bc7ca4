/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfguard status: what the journal says each domain holds, read under the shared host lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "journal.h"

#define VFG_STATUS_JSON_VERSION 1

static int status_open(vfg_context *ctx, const char *name, host_journal *hj, vfg_error *err)
{
	if (name && vfg_domain_name_check(name, err) < 0)
		return -1;
	return host_journal_open(ctx, false, hj, err);
}

static bool selected(const domain_journal *dj, const char *name)
{
	return (dj->n_records > 0 || dj->n_claims > 0 || dj->open_txn) &&
	       (!name || strcmp(dj->domain->name, name) == 0);
}

/* What status says of @dj's open transaction, after its domain line: "" when it has none. */
static void unfinished_text(const vfg_context *ctx, const domain_journal *dj, char *buf, size_t size)
{
	const char *missing = dj->open_txn ? domain_journal_labeler_not_loaded(ctx, dj) : NULL;
	if (!dj->open_txn)
		snprintf(buf, size, "%s", "");
	else if (!missing)
		snprintf(buf, size, "  UNFINISHED: a crashed or failed run left it open; vfguard restore finishes it");
	else
		snprintf(buf, size,
			 "  UNFINISHED: a crashed or failed run left it open, and it holds grants of labeler %s, which "
			 "is not loaded: load it and run vfguard restore, or vfguard revoke --domain %s --forget %s "
			 "drops them undone",
			 missing, VFG_NAME_SHELL(dj->domain->name), missing);
}

VFG_EXPORT int vfg_status_write_text(vfg_context *ctx, const char *name, FILE *out, vfg_error *err)
{
	host_journal hj;
	char made[VFG_BOOT_ID_STRLEN], now[VFG_BOOT_ID_STRLEN];
	if (status_open(ctx, name, &hj, err) < 0)
		return -1;
	int earlier = host_boot_earlier(ctx, made, now, err);
	if (earlier < 0) {
		host_journal_close(&hj);
		return -1;
	}
	/* Shown as it is, and said to be gone (a trial read an earlier boot's domains as held). */
	if (earlier)
		fprintf(out,
			"EARLIER BOOT: this state is of boot %s (this one is %s); its grants went with that boot and "
			"vfguard restore --boot releases what is left\n\n",
			made, now);
	size_t shown = 0;
	for (size_t i = 0; i < hj.n_domains; i++) {
		const domain_journal *dj = hj.domains[i];
		if (!selected(dj, name))
			continue;
		/* The pid and uuid too: an apply to the domain must give them again (ownership_ids_kept). */
		char pid[24] = "";
		if (dj->domain->pid)
			snprintf(pid, sizeof(pid), ", pid %d", (int)dj->domain->pid);
		char unfinished[VFG_NAME_SHELL_SIZE + 512];
		unfinished_text(ctx, dj, unfinished, sizeof(unfinished));
		fprintf(out, "%sdomain %s (uid %u gid %u%s%s%s)%s\n", shown++ ? "\n" : "", dj->domain->name,
			(unsigned)dj->domain->uid, (unsigned)dj->domain->gid, pid, dj->domain->uuid[0] ? ", uuid " : "",
			dj->domain->uuid, unfinished);
		for (size_t c = 0; c < dj->n_claims; c++) {
			char bdf[VFG_HOSTDEV_NAME_MAX];
			const journal_claim *claim = &dj->claims[c];
			fprintf(out, "  hostdev %s  IOMMU group %u  %s  %s access\n", journal_claim_name(claim, bdf),
				claim->group, vfg_backend_name(claim->backend), vfg_access_name(claim->access));
		}
		for (size_t r = 0; r < dj->n_records; r++) {
			const journal_record *record = dj->records[r];
			char rdev[32];
			snprintf(rdev, sizeof(rdev), "%u:%u", major(record->node.rdev), minor(record->node.rdev));
			fprintf(out, "  %-10s %-28s %-9s %s  undo: %s\n", record->labeler, record->node.path, rdev,
				record->done ? "granted" : "pending", record->undo);
		}
	}
	if (!shown)
		fprintf(out, name ? "domain %s holds nothing\n" : "no domain holds anything%s\n", name ? name : "");
	/* Host-wide: a status of every domain also shows what vfguard detached that no domain holds. */
	unheld_detach *unheld = NULL;
	size_t n_unheld = 0;
	if (!name && driver_records_unheld(ctx, &hj, &unheld, &n_unheld, err) < 0) {
		host_journal_close(&hj);
		return -1;
	}
	if (n_unheld)
		fprintf(out, "\ndetached by vfguard, held by no domain (by hand, or not given back by a revoke): "
			     "vfguard reattach BDF gives each back\n");
	for (size_t i = 0; i < n_unheld; i++)
		fprintf(out, "  %s  original driver %s\n", unheld[i].address,
			unheld[i].original[0] ? unheld[i].original : "none");
	free(unheld);
	host_journal_close(&hj);
	return ferror(out) ? vfg_error_set(err, EIO, "stdout", "cannot write") : 0;
}

VFG_EXPORT int vfg_status_write_json(vfg_context *ctx, const char *name, FILE *out, vfg_error *err)
{
	host_journal hj;
	if (status_open(ctx, name, &hj, err) < 0)
		return -1;
	char made[VFG_BOOT_ID_STRLEN], now[VFG_BOOT_ID_STRLEN];
	int earlier = host_boot_earlier(ctx, made, now, err);
	if (earlier < 0) {
		host_journal_close(&hj);
		return -1;
	}
	vfg_json json = {.out = out};
	vfg_json_begin_object(&json, NULL);
	vfg_json_int(&json, "version", VFG_STATUS_JSON_VERSION);
	if (earlier)
		vfg_json_string(&json, "earlier_boot", made);
	else
		vfg_json_null(&json, "earlier_boot");
	vfg_json_begin_array(&json, "domains");
	for (size_t i = 0; i < hj.n_domains; i++) {
		const domain_journal *dj = hj.domains[i];
		if (!selected(dj, name))
			continue;
		vfg_json_begin_object(&json, NULL);
		vfg_json_string(&json, "name", dj->domain->name);
		vfg_json_int(&json, "uid", dj->domain->uid);
		vfg_json_int(&json, "gid", dj->domain->gid);
		if (dj->domain->uuid[0])
			vfg_json_string(&json, "uuid", dj->domain->uuid);
		else
			vfg_json_null(&json, "uuid");
		if (dj->domain->pid)
			vfg_json_int(&json, "pid", dj->domain->pid);
		else
			vfg_json_null(&json, "pid");
		/* What the labelers were given, by the names they declare ("LABELER.NAME"). */
		vfg_json_begin_object(&json, "attributes");
		const char *attr, *value;
		for (size_t a = 0; vfg_domain_attr_at(dj->domain, a, &attr, &value); a++)
			vfg_json_string(&json, attr, value);
		vfg_json_end_object(&json);
		vfg_json_bool(&json, "unfinished", dj->open_txn != 0);
		if (dj->open_txn)
			vfg_json_string(&json, "unfinished_operation", journal_op_name(dj->open_op));
		else
			vfg_json_null(&json, "unfinished_operation");
		vfg_json_begin_array(&json, "hostdevs");
		for (size_t c = 0; c < dj->n_claims; c++) {
			char bdf[VFG_HOSTDEV_NAME_MAX];
			const journal_claim *claim = &dj->claims[c];
			vfg_json_begin_object(&json, NULL);
			/* A PCI function's BDF, or "mdev:UUID" (docs/journal.md). */
			vfg_json_string(&json, "address", journal_claim_name(claim, bdf));
			vfg_json_int(&json, "iommu_group", claim->group);
			vfg_json_string(&json, "backend", vfg_backend_name(claim->backend));
			vfg_json_string(&json, "access", vfg_access_name(claim->access));
			vfg_json_end_object(&json);
		}
		vfg_json_end_array(&json);
		vfg_json_begin_array(&json, "grants");
		for (size_t r = 0; r < dj->n_records; r++) {
			char rdev[32];
			const journal_record *record = dj->records[r];
			snprintf(rdev, sizeof(rdev), "%u:%u", major(record->node.rdev), minor(record->node.rdev));
			vfg_json_begin_object(&json, NULL);
			vfg_json_string(&json, "labeler", record->labeler);
			vfg_json_string(&json, "path", record->node.path);
			/* "domain" for a domain-scope labeler's record: its path is the labeler's subject. */
			vfg_json_string(&json, "kind", vfg_node_kind_name(record->node.kind));
			vfg_json_string(&json, "rdev", rdev);
			vfg_json_bool(&json, "shared", record->node.shared);
			vfg_json_string(&json, "state", record->done ? "granted" : "pending");
			vfg_json_string(&json, "undo", record->undo);
			vfg_json_end_object(&json);
		}
		vfg_json_end_array(&json);
		vfg_json_end_object(&json);
	}
	vfg_json_end_array(&json);
	/* null with --domain: not looked at (the text shows them only for every domain too) */
	unheld_detach *unheld = NULL;
	size_t n_unheld = 0;
	if (name)
		vfg_json_null(&json, "detached");
	else if (driver_records_unheld(ctx, &hj, &unheld, &n_unheld, err) < 0) {
		host_journal_close(&hj);
		return -1;
	} else {
		vfg_json_begin_array(&json, "detached");
		for (size_t i = 0; i < n_unheld; i++) {
			vfg_json_begin_object(&json, NULL);
			vfg_json_string(&json, "address", unheld[i].address);
			if (unheld[i].original[0])
				vfg_json_string(&json, "original_driver", unheld[i].original);
			else
				vfg_json_null(&json, "original_driver");
			vfg_json_end_object(&json);
		}
		vfg_json_end_array(&json);
		free(unheld);
	}
	vfg_json_end_object(&json);
	host_journal_close(&hj);
	return ferror(out) ? vfg_error_set(err, EIO, "stdout", "cannot write") : 0;
}
