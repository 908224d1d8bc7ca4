/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan for people: the hostdevs, a table of nodes by labeler, then the
 * reasons. Made for a terminal @columns wide (VFG_TEXT_COLUMNS): the table
 * names each change by its first word and the reasons give it in full, and
 * long lines wrap. VFG_TEXT_WIDE puts every change in the table, unwrapped.
 */
#include <string.h>
#include <sys/sysmacros.h>

#include "internal.h"

enum {
	FIXED_COLUMNS = 5, /* NODE KIND RDEV SHARED ACCESS */
	MAX_COLUMNS = FIXED_COLUMNS + 16,
	COLUMN_GAP = 2,
	TABLE_INDENT = 2,
	NODE_COLUMN_MIN = 12, /* "...ces/vfio12"; narrower says too little: one block per node instead */
	CELL_WORD_MAX = 12, /* a first word longer than this is no short name for the change */
	REASON_INDENT = 15, /* "    dac        " */
};

/* A layer's cell: its change in full when wide, else the change's first word ("chown 107:107": "chown"). */
static const char *step_cell(const vfg_step *step, bool wide, char *word, size_t size)
{
	if (!step)
		return "?";
	switch (step->action) {
	case VFG_ACTION_GRANT: {
		size_t len = strcspn(step->detail, " ,;:");
		if (!step->detail[0] || len > CELL_WORD_MAX)
			return wide && step->detail[0] ? step->detail : "grant";
		if (wide)
			return step->detail;
		snprintf(word, size, "%.*s", (int)len, step->detail);
		return word;
	}
	case VFG_ACTION_NONE:
		return "-";
	case VFG_ACTION_INACTIVE:
		return "inactive";
	case VFG_ACTION_REVOKE:
		return "take back";
	case VFG_ACTION_REFUSE:
		return "REFUSED";
	}
	return "?";
}

static void write_domain(const vfg_plan *plan, size_t columns, FILE *out)
{
	const vfg_domain *d = &plan->domain;
	char line[VFG_NAME_MAX + VFG_UUID_STRLEN + VFG_DOMAIN_ATTRS_MAX + 128];
	size_t used = vfg_strlcatf(line, sizeof(line), 0, "domain %s: hypervisor uid %u gid %u", d->name,
				   (unsigned)d->uid, (unsigned)d->gid);
	if (d->uuid[0])
		used = vfg_strlcatf(line, sizeof(line), used, ", uuid %s", d->uuid);
	if (d->pid > 0)
		used = vfg_strlcatf(line, sizeof(line), used, ", pid %d", (int)d->pid);
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_labeler *labeler = plan->labelers[l].labeler;
		for (const vfg_attr_def *def = labeler->attributes; def && def->name; def++) {
			char name[192];
			snprintf(name, sizeof(name), "%s.%s", labeler->name, def->name);
			const char *value = vfg_domain_attr(d, name);
			if (def->plan_text && *value)
				used = vfg_strlcatf(line, sizeof(line), used, ", %s %s",
						    def->plan_key ? def->plan_key : name, value);
		}
	}
	vfg_text_wrap(out, columns, 2, line);
}

/* The group's members on one line, or one a line when they do not fit. */
static void write_group(const vfg_iommu_group *group, size_t columns, FILE *out)
{
	char line[4096], bdf[VFG_PCI_ADDR_STRLEN];
	size_t used = vfg_strlcatf(line, sizeof(line), 0, "    IOMMU group %u:", group->number);
	for (size_t m = 0; m < group->n_members; m++) {
		const vfg_pci_function *fn = &group->members[m];
		used = vfg_strlcatf(line, sizeof(line), used, "%s %s %04x:%04x %s", m ? ";" : "",
				    vfg_pci_addr_format(&fn->addr, bdf), fn->vendor, fn->device,
				    fn->driver[0] ? fn->driver : "(no driver)");
	}
	if (columns == VFG_TEXT_WIDE || vfg_text_columns(line, used) <= columns) {
		fprintf(out, "%s\n", line);
		return;
	}
	fprintf(out, "    IOMMU group %u:\n", group->number);
	for (size_t m = 0; m < group->n_members; m++) {
		const vfg_pci_function *fn = &group->members[m];
		vfg_text_printf(out, columns, 8, "      %s %04x:%04x %s", vfg_pci_addr_format(&fn->addr, bdf),
				fn->vendor, fn->device, fn->driver[0] ? fn->driver : "(no driver)");
	}
}

/* What the legacy group node hands the hypervisor beyond the hostdev (vfg_plan_group_mate); nothing when none. */
static void write_group_mates(const vfg_plan *plan, const vfg_hostdev *hostdev, size_t columns, FILE *out)
{
	char line[4096], bdf[VFG_PCI_ADDR_STRLEN];
	size_t used = vfg_strlcatf(line, sizeof(line), 0, "    group-mates:"), count = 0;
	for (size_t m = 0; m < hostdev->group.n_members; m++) {
		const vfg_pci_function *fn = &hostdev->group.members[m];
		if (!vfg_plan_group_mate(plan, hostdev, fn))
			continue;
		used = vfg_strlcatf(line, sizeof(line), used, "%s %s %s", count ? "," : "",
				    vfg_pci_addr_format(&fn->addr, bdf), fn->driver[0] ? fn->driver : "(vfio)");
		count++;
	}
	if (!count)
		return;
	vfg_strlcatf(line, sizeof(line), used,
		     " (not asked for; /dev/vfio/%u opens every vfio-bound function of group %u, so the hypervisor "
		     "gets %s too)",
		     hostdev->group.number, hostdev->group.number, count > 1 ? "them" : "it");
	vfg_text_wrap(out, columns, 6, line);
}

static void write_hostdevs(const vfg_plan *plan, size_t columns, FILE *out)
{
	fprintf(out, "\nhostdevs:\n");
	for (size_t i = 0; i < plan->n_hostdevs; i++) {
		const vfg_hostdev *h = &plan->hostdevs[i];
		char bdf[VFG_HOSTDEV_NAME_MAX], line[1024];
		size_t used = h->spec.mdev[0]
				      ? vfg_strlcatf(line, sizeof(line), 0, "  %s  type %s %s  %s  %s access",
						     vfg_hostdev_name(&h->spec, bdf), h->mdev_type, h->mdev_device_api,
						     h->function.driver[0] ? h->function.driver : "(no driver)",
						     vfg_access_name(h->spec.access))
				      : vfg_strlcatf(line, sizeof(line), 0, "  %s  %04x:%04x class %06x  %s  %s access",
						     vfg_hostdev_name(&h->spec, bdf), h->function.vendor,
						     h->function.device, h->function.class_code,
						     h->function.driver[0] ? h->function.driver : "(no driver)",
						     vfg_access_name(h->spec.access));
		if (h->spec.vf_token[0])
			used = vfg_strlcatf(line, sizeof(line), used, ", vf-token %s", h->spec.vf_token);
		if (h->spec.managed)
			vfg_strlcatf(line, sizeof(line), used, ", managed%s%s", h->spec.driver[0] ? " to " : "",
				     h->spec.driver);
		vfg_text_wrap(out, columns, 4, line);
		vfg_text_printf(out, columns, 6, "    backend %s (%s)", vfg_backend_name(h->backend),
				h->backend_reason);
		if (vfg_hostdev_vf_token_method(h))
			vfg_text_printf(out, columns, 6, "    vf-token on the %s", vfg_hostdev_vf_token_method(h));

		if (h->spec.mdev[0])
			vfg_text_printf(out, columns, 6, "    IOMMU group %u: this mdev alone", h->group.number);
		else
			write_group(&h->group, columns, out);
		write_group_mates(plan, h, columns, out);
	}
}

static void write_labelers(const vfg_plan *plan, size_t columns, FILE *out)
{
	fprintf(out, "\nlabelers:\n");
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_planned_labeler *pl = &plan->labelers[l];
		vfg_text_printf(out, columns, 22, "  %-10s %-8s %s", pl->labeler->name,
				pl->probe.active ? "active" : "inactive", pl->probe.note);
	}
}

/* One row of the table: the node's own cells, then one per labeler. */
typedef struct table_row {
	const char *cells[MAX_COLUMNS];
	char rdev[32];
	char words[MAX_COLUMNS][32]; /* short cells, and the labelers' names in capitals for the header */
} table_row;

static void table_header(const vfg_plan *plan, size_t n_columns, table_row *row)
{
	static const char *const fixed[FIXED_COLUMNS] = {"NODE", "KIND", "RDEV", "SHARED", "ACCESS"};
	for (size_t c = 0; c < n_columns; c++) {
		if (c < FIXED_COLUMNS) {
			row->cells[c] = fixed[c];
			continue;
		}
		const char *name = plan->labelers[c - FIXED_COLUMNS].labeler->name;
		size_t i = 0;
		for (; name[i] && i < sizeof(row->words[c]) - 1; i++)
			row->words[c][i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
		row->words[c][i] = '\0';
		row->cells[c] = row->words[c];
	}
}

static void table_row_fill(const vfg_plan *plan, size_t n, size_t n_columns, bool wide, table_row *row)
{
	const vfg_node *node = &plan->nodes[n];
	snprintf(row->rdev, sizeof(row->rdev), "%u:%u", major(node->rdev), minor(node->rdev));
	row->cells[0] = node->path;
	row->cells[1] = vfg_node_kind_name(node->kind);
	row->cells[2] = row->rdev;
	row->cells[3] = node->shared ? "yes" : "no";
	row->cells[4] = vfg_access_name(node->access);
	for (size_t c = FIXED_COLUMNS; c < n_columns; c++)
		row->cells[c] = step_cell(vfg_plan_find_step(plan, c - FIXED_COLUMNS, n), wide, row->words[c],
					  sizeof(row->words[c]));
}

/* A cell in @width columns, padded; a longer one keeps its end ("...ices/vfio12"): a path's end names the node. */
static void write_cell(FILE *out, const char *cell, size_t width, bool last)
{
	size_t len = strlen(cell);
	if (len > width && width > 3)
		fprintf(out, "...%s", cell + len - (width - 3));
	else if (last)
		fputs(cell, out);
	else
		fprintf(out, "%-*s", (int)width, cell);
	if (!last)
		fprintf(out, "%*s", COLUMN_GAP, "");
}

/* When no table fits: a line per node with its own cells, then its layers' cells, wrapped. */
static void write_node_blocks(const vfg_plan *plan, size_t n_columns, size_t columns, FILE *out)
{
	for (size_t n = 0; n < plan->n_nodes; n++) {
		table_row row;
		table_row_fill(plan, n, n_columns, false, &row);
		vfg_text_printf(out, columns, 4, "  %s  %s %s, %s, %s access", row.cells[0], row.cells[1], row.cells[2],
				plan->nodes[n].shared ? "shared" : "not shared", row.cells[4]);
		char line[MAX_COLUMNS * 64];
		size_t used = vfg_strlcatf(line, sizeof(line), 0, "   ");
		for (size_t c = FIXED_COLUMNS; c < n_columns; c++)
			used = vfg_strlcatf(line, sizeof(line), used, " %s %s%s",
					    plan->labelers[c - FIXED_COLUMNS].labeler->name, row.cells[c],
					    c + 1 < n_columns ? "," : "");
		vfg_text_wrap(out, columns, 4, line);
	}
}

static void write_table(const vfg_plan *plan, size_t columns, FILE *out)
{
	bool wide = columns == VFG_TEXT_WIDE;
	size_t n_columns = FIXED_COLUMNS + plan->n_labelers;
	if (n_columns > MAX_COLUMNS)
		n_columns = MAX_COLUMNS;
	size_t width[MAX_COLUMNS] = {0};
	table_row header, row;
	table_header(plan, n_columns, &header);
	for (size_t c = 0; c < n_columns; c++)
		width[c] = strlen(header.cells[c]);
	for (size_t n = 0; n < plan->n_nodes; n++) {
		table_row_fill(plan, n, n_columns, wide, &row);
		for (size_t c = 0; c < n_columns; c++)
			if (strlen(row.cells[c]) > width[c])
				width[c] = strlen(row.cells[c]);
	}
	size_t total = TABLE_INDENT + COLUMN_GAP * (n_columns - 1);
	for (size_t c = 0; c < n_columns; c++)
		total += width[c];

	fprintf(out, "\nnodes:\n");
	bool cut = false;
	if (!wide && total > columns) {
		/* Paths lose their start first: "/dev/vfio/" is what every node has in common. */
		size_t excess = total - columns;
		if (width[0] < NODE_COLUMN_MIN + excess) {
			write_node_blocks(plan, n_columns, columns, out);
			vfg_text_printf(out, columns, 2,
					"  (each layer's change by its first word; in full, and why, under reasons, "
					"or in a table with --wide)");
			return;
		}
		width[0] -= excess;
		cut = true;
	}
	fprintf(out, "%*s", TABLE_INDENT, "");
	for (size_t c = 0; c < n_columns; c++)
		write_cell(out, header.cells[c], width[c], c + 1 == n_columns);
	fputc('\n', out);
	for (size_t n = 0; n < plan->n_nodes; n++) {
		table_row_fill(plan, n, n_columns, wide, &row);
		fprintf(out, "%*s", TABLE_INDENT, "");
		for (size_t c = 0; c < n_columns; c++)
			write_cell(out, row.cells[c], width[c], c + 1 == n_columns);
		fputc('\n', out);
	}
	if (!wide)
		vfg_text_printf(
			out, columns, 2,
			"  (each layer's change by its first word%s; in full, and why, under reasons, or in the "
			"table with --wide)",
			cut ? ", node paths cut at the start" : "");
}

/* A step's change and why: with the table naming changes by a word, the reasons give them in full. */
static void write_reason(const vfg_plan *plan, const vfg_step *step, size_t columns, FILE *out)
{
	const char *name = plan->labelers[step->labeler].labeler->name;
	if (columns == VFG_TEXT_WIDE || !step->detail[0]) {
		vfg_text_printf(out, columns, REASON_INDENT, "    %-10s %s", name, step->reason);
		return;
	}
	vfg_text_printf(out, columns, REASON_INDENT, "    %-10s %s%s", name,
			step->action == VFG_ACTION_REFUSE ? "REFUSED: " : "", step->detail);
	vfg_text_printf(out, columns, REASON_INDENT, "%*s%s", REASON_INDENT, "", step->reason);
}

static void write_reasons(const vfg_plan *plan, size_t columns, FILE *out)
{
	fprintf(out, "\nreasons:\n");
	for (size_t n = 0; n < plan->n_nodes; n++) {
		const vfg_node *node = &plan->nodes[n];
		vfg_text_printf(out, columns, 4, "  %s (%s, %s access):", node->path, vfg_node_kind_name(node->kind),
				vfg_access_name(node->access));
		for (size_t l = 0; l < plan->n_labelers; l++) {
			const vfg_step *step = vfg_plan_find_step(plan, l, n);
			if (step)
				write_reason(plan, step, columns, out);
		}
	}
}

/* The domain-scope labelers' own sections (the locked-memory limit). */
static void write_domain_labelers(const vfg_plan *plan, unsigned columns, FILE *out)
{
	for (size_t i = 0; i < plan->n_domain_labelers; i++) {
		const vfg_planned_domain_labeler *dl = &plan->domain_labelers[i];
		if (VFG_LABELER_OPTIONAL(dl->labeler, write_plan_text))
			dl->labeler->write_plan_text(&plan->domain, &dl->probe, &dl->step, out, columns);
	}
}

/* What apply would find under its lock besides the steps: grants held already, a refusal of its own. */
static void write_apply_notes(const vfg_plan *plan, unsigned columns, FILE *out)
{
	size_t held = vfg_plan_held_count(plan);
	if (held)
		vfg_text_printf(out, columns, 2, "%zu of the grants are held by domain %s already: apply keeps them",
				held, plan->domain.name);
	if (plan->apply_refusal)
		vfg_text_printf(out, columns, 2, "apply would refuse: %s", plan->apply_refusal);
}

VFG_EXPORT int vfg_plan_write_text_width(const vfg_plan *plan, unsigned columns, FILE *out)
{
	write_domain(plan, columns, out);
	write_hostdevs(plan, columns, out);
	write_labelers(plan, columns, out);
	write_table(plan, columns, out);
	write_reasons(plan, columns, out);
	write_domain_labelers(plan, columns, out);
	write_apply_notes(plan, columns, out);
	return ferror(out) ? -1 : 0;
}

VFG_EXPORT int vfg_plan_write_text(const vfg_plan *plan, FILE *out)
{
	return vfg_plan_write_text_width(plan, VFG_TEXT_COLUMNS, out);
}
