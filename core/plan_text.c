/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plan for people: the hostdevs, a table of nodes by labeler, then the reasons. */
#include <string.h>
#include <sys/sysmacros.h>

#include "memlock.h"

static const vfg_step *plan_step(const vfg_plan *plan, size_t labeler, size_t node)
{
	for (size_t i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].labeler == labeler && plan->steps[i].node == node)
			return &plan->steps[i];
	return NULL;
}

static const char *step_cell(const vfg_step *step)
{
	if (!step)
		return "?";
	switch (step->action) {
	case VFG_ACTION_GRANT:
		return step->detail;
	case VFG_ACTION_NONE:
		return "-";
	case VFG_ACTION_INACTIVE:
		return "(inactive)";
	case VFG_ACTION_REVOKE:
		return "(take back)";
	case VFG_ACTION_REFUSE:
		return "(REFUSED)";
	}
	return "?";
}

static void write_domain(const vfg_plan *plan, FILE *out)
{
	const vfg_domain *d = &plan->domain;
	fprintf(out, "domain %s: hypervisor uid %u gid %u", d->name, (unsigned)d->uid, (unsigned)d->gid);
	if (d->uuid[0])
		fprintf(out, ", uuid %s", d->uuid);
	if (d->pid > 0)
		fprintf(out, ", pid %d", (int)d->pid);
	if (d->cgroup[0])
		fprintf(out, ", cgroup %s", d->cgroup);
	fputc('\n', out);
}

static void write_hostdevs(const vfg_plan *plan, FILE *out)
{
	fprintf(out, "\nhostdevs:\n");
	for (size_t i = 0; i < plan->n_hostdevs; i++) {
		const vfg_hostdev *h = &plan->hostdevs[i];
		char bdf[VFG_PCI_ADDR_STRLEN];
		fprintf(out, "  %s  %04x:%04x class %06x  %s  backend %s (%s), %s access",
			vfg_pci_addr_format(&h->spec.addr, bdf), h->function.vendor, h->function.device,
			h->function.class_code, h->function.driver, vfg_backend_name(h->backend), h->backend_reason,
			vfg_access_name(h->spec.access));
		if (h->spec.vf_token[0])
			fprintf(out, ", vf-token %s", h->spec.vf_token);
		if (h->spec.managed)
			fprintf(out, ", managed");
		if (vfg_hostdev_vf_token_method(h))
			fprintf(out, "\n    vf-token on the %s", vfg_hostdev_vf_token_method(h));
		fprintf(out, "\n    IOMMU group %u:", h->group.number);
		for (size_t m = 0; m < h->group.n_members; m++) {
			const vfg_pci_function *fn = &h->group.members[m];
			fprintf(out, "%s %s %04x:%04x %s", m ? ";" : "", vfg_pci_addr_format(&fn->addr, bdf),
				fn->vendor, fn->device, fn->driver[0] ? fn->driver : "(no driver)");
		}
		fputc('\n', out);
	}
}

static void write_labelers(const vfg_plan *plan, FILE *out)
{
	fprintf(out, "\nlabelers:\n");
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_plan_labeler *pl = &plan->labelers[l];
		fprintf(out, "  %-10s %-8s %s\n", pl->labeler->name, pl->probe.active ? "active" : "inactive",
			pl->probe.note);
	}
}

enum { FIXED_COLUMNS = 5 };

static void write_table(const vfg_plan *plan, FILE *out)
{
	static const char *const headers[FIXED_COLUMNS] = {"NODE", "KIND", "RDEV", "SHARED", "ACCESS"};
	size_t n_columns = FIXED_COLUMNS + plan->n_labelers;
	size_t width[FIXED_COLUMNS + 16] = {0};
	char rdev[32];
	if (n_columns > sizeof(width) / sizeof(width[0]))
		n_columns = sizeof(width) / sizeof(width[0]);

	for (size_t c = 0; c < FIXED_COLUMNS; c++)
		width[c] = strlen(headers[c]);
	for (size_t c = FIXED_COLUMNS; c < n_columns; c++)
		width[c] = strlen(plan->labelers[c - FIXED_COLUMNS].labeler->name);
	for (size_t n = 0; n < plan->n_nodes; n++) {
		const vfg_node *node = &plan->nodes[n];
		snprintf(rdev, sizeof(rdev), "%u:%u", major(node->rdev), minor(node->rdev));
		const char *cells[FIXED_COLUMNS] = {node->path, vfg_node_kind_name(node->kind), rdev,
						    node->shared ? "yes" : "no", vfg_access_name(node->access)};
		for (size_t c = 0; c < FIXED_COLUMNS; c++)
			if (strlen(cells[c]) > width[c])
				width[c] = strlen(cells[c]);
		for (size_t c = FIXED_COLUMNS; c < n_columns; c++) {
			size_t len = strlen(step_cell(plan_step(plan, c - FIXED_COLUMNS, n)));
			if (len > width[c])
				width[c] = len;
		}
	}

	fprintf(out, "\nnodes:\n ");
	for (size_t c = 0; c < n_columns; c++) {
		char upper[64];
		const char *name = c < FIXED_COLUMNS ? headers[c] : plan->labelers[c - FIXED_COLUMNS].labeler->name;
		size_t i = 0;
		for (; name[i] && i < sizeof(upper) - 1; i++)
			upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
		upper[i] = '\0';
		fprintf(out, " %-*s", c + 1 < n_columns ? (int)width[c] : 0, upper);
	}
	fputc('\n', out);
	for (size_t n = 0; n < plan->n_nodes; n++) {
		const vfg_node *node = &plan->nodes[n];
		snprintf(rdev, sizeof(rdev), "%u:%u", major(node->rdev), minor(node->rdev));
		const char *cells[FIXED_COLUMNS] = {node->path, vfg_node_kind_name(node->kind), rdev,
						    node->shared ? "yes" : "no", vfg_access_name(node->access)};
		fputc(' ', out);
		for (size_t c = 0; c < n_columns; c++)
			fprintf(out, " %-*s", c + 1 < n_columns ? (int)width[c] : 0,
				c < FIXED_COLUMNS ? cells[c] : step_cell(plan_step(plan, c - FIXED_COLUMNS, n)));
		fputc('\n', out);
	}
}

static void write_reasons(const vfg_plan *plan, FILE *out)
{
	fprintf(out, "\nreasons:\n");
	for (size_t n = 0; n < plan->n_nodes; n++) {
		const vfg_node *node = &plan->nodes[n];
		fprintf(out, "  %s (%s, %s access):\n", node->path, vfg_node_kind_name(node->kind),
			vfg_access_name(node->access));
		for (size_t l = 0; l < plan->n_labelers; l++) {
			const vfg_step *step = plan_step(plan, l, n);
			if (step)
				fprintf(out, "    %-10s %s\n", plan->labelers[l].labeler->name, step->reason);
		}
	}
}

/* The domain's locked-memory limit: the formula's inputs, its arithmetic, and the hypervisor's limit now. */
static void write_memlock(const vfg_plan *plan, FILE *out)
{
	const vfg_memlock *m = &plan->memlock;
	char memory[32], extra[32];
	fprintf(out, "\nlocked memory (RLIMIT_MEMLOCK, docs/memlock.md):\n");
	if (m->computed) {
		fprintf(out, "  inputs:  guest RAM %s, %zu legacy and %zu iommufd hostdev%s, %s vIOMMU%s, extra %s%s\n",
			memlock_size_text(m->input.memory, memory, sizeof(memory)), m->input.legacy_devices,
			m->input.iommufd_devices, m->input.legacy_devices + m->input.iommufd_devices == 1 ? "" : "s",
			m->input.viommu ? "a" : "no",
			!m->input.iommufd_devices      ? ""
			: m->input.iommufd_per_process ? ", iommufd charges the process"
						       : ", iommufd charges the uid",
			memlock_size_text(m->input.extra, extra, sizeof(extra)),
			m->input.ipc_lock ? ", CAP_IPC_LOCK" : "");
		fprintf(out, "  formula: %s\n", m->formula);
	}
	fprintf(out, "  now:     %s\n", m->note);
}

VFG_EXPORT int vfg_plan_write_text(const vfg_plan *plan, FILE *out)
{
	write_domain(plan, out);
	write_hostdevs(plan, out);
	write_labelers(plan, out);
	write_table(plan, out);
	write_reasons(plan, out);
	write_memlock(plan, out);
	return ferror(out) ? -1 : 0;
}

VFG_EXPORT int vfg_plan_write_steps_text(const vfg_plan *plan, FILE *out)
{
	size_t count = memlock_would_raise(&plan->memlock);
	for (size_t i = 0; i < plan->n_steps; i++)
		count += VFG_ACTION_IS_CHANGE(plan->steps[i].action);
	fprintf(out, "dry run for domain %s: %zu step%s, nothing changed\n", plan->domain.name, count,
		count == 1 ? "" : "s");

	size_t order = 0;
	for (size_t i = 0; i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		if (!VFG_ACTION_IS_CHANGE(step->action))
			continue;
		fprintf(out, "  %2zu. %-10s %-26s %s\n", ++order, plan->labelers[step->labeler].labeler->name,
			plan->nodes[step->node].path, step->detail);
		fprintf(out, "      %-10s %s\n", "", step->reason);
	}
	if (memlock_would_raise(&plan->memlock)) {
		char path[32], need[32];
		snprintf(path, sizeof(path), "/proc/%d", (int)plan->domain.pid);
		fprintf(out, "  %2zu. %-10s %-26s raise RLIMIT_MEMLOCK to %s\n", ++order, "memlock", path,
			memlock_size_text(plan->memlock.required, need, sizeof(need)));
		fprintf(out, "      %-10s %s\n", "", plan->memlock.formula);
	}
	for (size_t l = 0; l < plan->n_labelers; l++)
		if (!plan->labelers[l].probe.active)
			fprintf(out, "  %s is inactive: %s\n", plan->labelers[l].labeler->name,
				plan->labelers[l].probe.note);
	for (size_t i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].action == VFG_ACTION_REFUSE)
			fprintf(out, "  apply would refuse: %s %s: %s\n",
				plan->labelers[plan->steps[i].labeler].labeler->name,
				plan->nodes[plan->steps[i].node].path, plan->steps[i].reason);
	return ferror(out) ? -1 : 0;
}
