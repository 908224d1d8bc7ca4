/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The memlock labeler: the hypervisor's RLIMIT_MEMLOCK as a change of the
 * domain (docs/memlock.md), built into the library and always loaded. Its
 * scope is the domain and its subject the process, "/proc/PID": the probe
 * works out the formula (memlock.c) and reads the pid's limit, the plan
 * raises it when it is too low, and grant raises it (soft and hard, never
 * lowering either), journaled with the original before the change:
 *
 *	pid=PID start=START soft=SOFT|unlimited hard=HARD|unlimited
 *
 * START (when the process started) tells a reused pid apart, so revoke puts
 * the original back on that very process, or on none.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "memlock.h"
#include "vfg_fault.h"

enum {
	/* The formula cannot be worked out (a config value, an overflow): the plan says why. */
	MEMLOCK_REFUSED = 1u << 0,
};

_Static_assert(sizeof(vfg_memlock) <= sizeof(((vfg_probe *)0)->data), "vfg_memlock fits the probe's data");

/* What the probe found: the formula's result and the pid's limit now, kept in the probe's data. */
static const vfg_memlock *probe_memlock(const vfg_probe *probe)
{
	return (const vfg_memlock *)(const void *)probe->data;
}

/* Apply would raise the pid's limit: computed, read from a running pid, and too low. */
static bool memlock_would_raise(const vfg_memlock *m)
{
	return m->computed && m->live && !m->suffices;
}

/* iommufd charges the process when the broker sets RLIMIT_MODE=1: it opens /dev/iommu for fd access. */
static int iommufd_per_process(const vfg_labeler_env *env, const vfg_domain *domain, bool *per_process, vfg_error *err)
{
	const char *mode = vfg_config_get(env->config, "memlock_iommufd_accounting");
	if (strcmp(mode, "process") == 0 || strcmp(mode, "user") == 0) {
		*per_process = strcmp(mode, "process") == 0;
		return 0;
	}
	if (strcmp(mode, "auto") != 0)
		return vfg_error_set(err, 0, "memlock_iommufd_accounting", "'%s': expected auto, process or user",
				     mode);
	vfg_held_hostdevs held;
	vfg_env_held_hostdevs(env, domain, &held);
	*per_process = held.iommufd_path == 0;
	for (size_t i = 0; i < domain->n_hostdevs; i++)
		if (domain->hostdevs[i].backend == VFG_BACKEND_IOMMUFD && domain->hostdevs[i].access != VFG_ACCESS_FD)
			*per_process = false;
	return 0;
}

/* Read the pid's RLIMIT_MEMLOCK into @m (live, soft, hard, suffices, note). */
static void memlock_read_live(const vfg_domain *domain, vfg_memlock *m)
{
	pid_t pid = domain->pid;
	char need[32], soft[32], hard[32];
	m->live = false;
	m->suffices = m->input.ipc_lock;
	memlock_size_text(m->required, need, sizeof(need));
	if (m->input.ipc_lock) {
		snprintf(m->note, sizeof(m->note),
			 "the hypervisor holds CAP_IPC_LOCK: the kernel checks no limit; apply sets none");
		return;
	}
	if (pid <= 0) {
		snprintf(m->note, sizeof(m->note), "no pid: apply sets nothing (give --pid to raise it to %s)", need);
		return;
	}
	int r = memlock_process_limits(pid, &m->soft, &m->hard);
	if (r < 0) {
		snprintf(m->note, sizeof(m->note), "cannot read the RLIMIT_MEMLOCK of pid %d (/proc/%d/limits): %s",
			 (int)pid, (int)pid, strerror(-r));
		return;
	}
	m->live = true;
	/* The kernel compares the soft limit (task_rlimit()); the hard one is at least as high. */
	m->suffices = m->soft >= m->required;
	memlock_size_text(m->soft, soft, sizeof(soft));
	memlock_size_text(m->hard, hard, sizeof(hard));
	if (m->suffices)
		snprintf(m->note, sizeof(m->note), "pid %d has soft %s, hard %s: suffices, left alone", (int)pid, soft,
			 hard);
	else
		snprintf(m->note, sizeof(m->note),
			 "pid %d has soft %s, hard %s: too low; apply raises %s to %s (never lowers)", (int)pid, soft,
			 hard, m->hard >= m->required ? "the soft limit" : "soft and hard", need);
}

/* The formula's inputs from the domain and the config, worked out into @m. Reads, changes nothing. */
static int memlock_formula(const vfg_labeler_env *env, const vfg_domain *domain, vfg_memlock *m, vfg_error *err)
{
	memset(m, 0, sizeof(*m));
	if (domain->memory == 0) {
		snprintf(m->note, sizeof(m->note), "guest memory not given (--memory): no limit computed or set");
		return 0;
	}
	vfg_memlock_input input = {
		.memory = domain->memory,
		.viommu = domain->viommu,
		.page_size = (uint64_t)sysconf(_SC_PAGESIZE),
		.ipc_lock = domain->ipc_lock || (!domain->ipc_lock_known && domain->pid > 0 &&
						 memlock_process_has_ipc_lock(domain->pid, domain->uid)),
	};
	/* The plan gives the labelers each hostdev's backend as resolved (core/plan.h: vfg_plan). */
	/* What the domain holds counts too: a hot-plug's apply names only the added hostdev. */
	vfg_held_hostdevs held;
	vfg_env_held_hostdevs(env, domain, &held);
	input.legacy_devices = held.legacy;
	input.iommufd_devices = held.iommufd;
	for (size_t i = 0; i < domain->n_hostdevs; i++) {
		if (domain->hostdevs[i].backend == VFG_BACKEND_IOMMUFD)
			input.iommufd_devices++;
		else
			input.legacy_devices++;
	}
	if (vfg_size_parse(vfg_config_get(env->config, "memlock_extra"), &input.extra, err) < 0) {
		vfg_error_prefix(err, "config key memlock_extra");
		return -1;
	}
	if (iommufd_per_process(env, domain, &input.iommufd_per_process, err) < 0 ||
	    vfg_memlock_compute(&input, m, err) < 0)
		return -1;
	memlock_read_live(domain, m);
	return 0;
}

/*
 * The formula and the pid's limit now. Revoke probes too, with the domain
 * as journaled: a formula that cannot be worked out is no reason to keep a
 * limit raised, so only the plan refuses it.
 */
static int memlock_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	vfg_memlock m;
	vfg_error why = {0};
	if (domain->pid > 0)
		snprintf(probe->subject, sizeof(probe->subject), "/proc/%d", (int)domain->pid);
	if (memlock_formula(env, domain, &m, &why) < 0) {
		memset(&m, 0, sizeof(m));
		snprintf(m.note, sizeof(m.note), "%s", why.message);
		probe->flags |= MEMLOCK_REFUSED;
	}
	probe->active = m.computed && domain->pid > 0 && !m.input.ipc_lock;
	snprintf(probe->note, sizeof(probe->note), "%s", m.note);
	memcpy(probe->data, &m, sizeof(m));
	return 0;
}

static int memlock_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			const vfg_node *node, vfg_step *step, vfg_error *err)
{
	vfg_memlock again;
	/* Worked out again for the error the probe could only note. */
	if ((probe->flags & MEMLOCK_REFUSED) && memlock_formula(env, domain, &again, err) < 0)
		return -1;
	const vfg_memlock *m = probe_memlock(probe);
	if (!memlock_would_raise(m))
		return vfg_step_set(step, VFG_ACTION_NONE, "", "%s", m->note);
	char need[32], detail[64];
	snprintf(detail, sizeof(detail), "raise RLIMIT_MEMLOCK to %s",
		 memlock_size_text(m->required, need, sizeof(need)));
	return vfg_step_set(step, VFG_ACTION_GRANT, detail, "%s", m->formula);
}

/* The original limits, journaled before the change: revoke and restore put back exactly these. */
static int memlock_journal(const vfg_node *node, pid_t pid, const struct rlimit *now, vfg_txn *txn, vfg_error *err)
{
	unsigned long long start;
	char soft[32], hard[32], undo[160];
	if (memlock_process_start_time(pid, &start, err) < 0)
		return -1;
	memlock_limit_format(soft, sizeof(soft), memlock_limit_value(now->rlim_cur));
	memlock_limit_format(hard, sizeof(hard), memlock_limit_value(now->rlim_max));
	snprintf(undo, sizeof(undo), "pid=%d start=%llu soft=%s hard=%s", (int)pid, start, soft, hard);
	return vfg_txn_intent(txn, node, undo, err);
}

/*
 * The intent pass (labeler.h: intent): the limit as it is, which no node's
 * step changes, journaled when a raise is needed and the domain holds no
 * record for the process yet. Grant looks again either way.
 */
static int memlock_intent(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			  const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	const vfg_memlock *m = probe_memlock(probe);
	struct rlimit now;
	if (vfg_txn_undo(txn, node))
		return 0; /* held since an earlier apply: the record keeps the first original */
	if (prlimit(domain->pid, RLIMIT_MEMLOCK, NULL, &now) < 0)
		return vfg_error_set(err, errno, node->path, "cannot read the RLIMIT_MEMLOCK of pid %d",
				     (int)domain->pid);
	if (memlock_limit_value(now.rlim_cur) >= m->required)
		return 0; /* nothing to raise: grant says so */
	return memlock_journal(node, domain->pid, &now, txn, err);
}

/*
 * Raise the pid's limit to the required one, soft and hard, never lowering
 * either, journaled with the original before the change (by the intent
 * pass, or here). Under a record the domain holds since an earlier apply (a
 * limit lowered since), it is raised again and the record, with the first
 * original, stays.
 */
static int memlock_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			 const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	const vfg_memlock *m = probe_memlock(probe);
	pid_t pid = domain->pid;
	struct rlimit now;
	if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &now) < 0)
		return vfg_error_set(err, errno, node->path, "cannot read the RLIMIT_MEMLOCK of pid %d", (int)pid);
	bool held = vfg_txn_undo(txn, node) != NULL;
	char need[32];
	memlock_size_text(m->required, need, sizeof(need));
	if (memlock_limit_value(now.rlim_cur) >= m->required) {
		if (!held)
			vfg_txn_note(txn, "memlock: pid %d already may lock %s or more: left alone", (int)pid, need);
		return VFG_GRANT_UNCHANGED;
	}
	if (!held && memlock_journal(node, pid, &now, txn, err) < 0)
		return -1;
	/* Raise only: a limit already above the need stays as it is. */
	struct rlimit raised = {
		.rlim_cur = memlock_limit_value(now.rlim_cur) >= m->required ? now.rlim_cur : (rlim_t)m->required,
		.rlim_max = memlock_limit_value(now.rlim_max) >= m->required ? now.rlim_max : (rlim_t)m->required,
	};
	if (vfg_fault("memlock.raise") || prlimit(pid, RLIMIT_MEMLOCK, &raised, NULL) < 0)
		return vfg_error_set(
			err, errno, node->path, "cannot raise the RLIMIT_MEMLOCK of pid %d to %s%s", (int)pid, need,
			errno == EPERM ? " (raising another process's hard limit needs CAP_SYS_RESOURCE)" : "");
	/* A record the intent pass journaled is marked done by the core; one held from before stays done. */
	return held ? 0 : vfg_txn_done(txn, node, err);
}

/* The subject a record names: "/proc/PID", no leading zero, 0 < PID <= INT32_MAX. */
static int subject_pid(const char *path, pid_t *pid, vfg_error *err)
{
	const char *digits = strncmp(path, "/proc/", 6) == 0 ? path + 6 : NULL;
	char *end = NULL;
	errno = 0;
	unsigned long long number = digits && *digits >= '1' && *digits <= '9' ? strtoull(digits, &end, 10) : 0;
	if (!number || errno || *end || number > INT32_MAX)
		return vfg_error_set(err, EINVAL, path, "not a process (/proc/PID); refusing to act on it");
	*pid = (pid_t)number;
	return 0;
}

/*
 * A memlock record as only grant writes it: exactly its format, for the
 * process its subject names, with a soft limit no higher than the hard one
 * (setrlimit(2) refuses anything else, so no process ever had it).
 */
static int record_parse(const vfg_node *node, const char *undo, pid_t *pid, unsigned long long *start,
			struct rlimit *original, vfg_error *err)
{
	pid_t subject = 0;
	if (subject_pid(node->path, &subject, err) < 0)
		return -1;
	int number;
	char soft_text[32], hard_text[32], canonical[VFG_UNDO_MAX + 1] = "";
	bool ok = sscanf(undo, "pid=%d start=%llu soft=%31s hard=%31s", &number, start, soft_text, hard_text) == 4 &&
		  number > 0 && memlock_limit_parse(soft_text, &original->rlim_cur) &&
		  memlock_limit_parse(hard_text, &original->rlim_max);
	if (ok) {
		char soft[32], hard[32];
		memlock_limit_format(soft, sizeof(soft), memlock_limit_value(original->rlim_cur));
		memlock_limit_format(hard, sizeof(hard), memlock_limit_value(original->rlim_max));
		snprintf(canonical, sizeof(canonical), "pid=%d start=%llu soft=%s hard=%s", number, *start, soft, hard);
	}
	if (!ok || strcmp(undo, canonical) != 0)
		return vfg_error_set(err, EINVAL, node->path, "malformed memlock undo '%s'", undo);
	if (number != subject)
		return vfg_error_set(err, EINVAL, node->path,
				     "memlock undo '%s' is for another process than its record's; refusing it", undo);
	if (memlock_limit_value(original->rlim_cur) > memlock_limit_value(original->rlim_max))
		return vfg_error_set(err, EINVAL, node->path,
				     "memlock undo '%s' has a soft limit above the hard one, which no process has; "
				     "refusing it",
				     undo);
	*pid = number;
	return 0;
}

/* The original limit back on its process, unless that process is gone or is another now (noted). */
static int memlock_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			  const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	pid_t pid = 0;
	unsigned long long start, now_start;
	struct rlimit original, now;
	if (record_parse(node, vfg_txn_undo(txn, node), &pid, &start, &original, err) < 0)
		return -1;
	vfg_error gone = {0};
	if (memlock_process_start_time(pid, &now_start, &gone) < 0) {
		if (gone.errnum != ESRCH) {
			*err = gone;
			return -1;
		}
		vfg_txn_note(txn, "memlock: pid %d is gone: no limit to put back", pid);
		return 0;
	}
	if (now_start != start) {
		vfg_txn_note(txn, "memlock: pid %d is another process now (started at %llu, not %llu): left alone", pid,
			     now_start, start);
		return 0;
	}
	/*
	 * Grant only raises: the original is at most what the process has now.
	 * Above it, someone lowered the limit since, and putting the record's
	 * back would grant what vfguard never took: that is left alone.
	 */
	if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &now) == 0 &&
	    (memlock_limit_value(original.rlim_cur) > memlock_limit_value(now.rlim_cur) ||
	     memlock_limit_value(original.rlim_max) > memlock_limit_value(now.rlim_max))) {
		vfg_txn_note(txn, "memlock: pid %d has a lower limit now than the journaled original (%s): left alone",
			     pid, vfg_txn_undo(txn, node));
		return 0;
	}
	if (vfg_fault("memlock.restore") || prlimit(pid, RLIMIT_MEMLOCK, &original, NULL) < 0) {
		if (errno == ESRCH) {
			vfg_txn_note(txn, "memlock: pid %d is gone: no limit to put back", pid);
			return 0;
		}
		return vfg_error_set(err, errno, node->path, "cannot put back the RLIMIT_MEMLOCK of pid %d", pid);
	}
	return 0;
}

/*
 * The hypervisor may lock what the formula asks for. Below it, a limit
 * vfguard raised (the domain holds the pid's record) has drifted; one it
 * never raised is missing.
 */
static int memlock_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			 const vfg_node *node, vfg_finding *finding, vfg_error *err)
{
	vfg_memlock live = *probe_memlock(probe);
	memlock_read_live(domain, &live);
	char expected[256], actual[256];
	snprintf(expected, sizeof(expected), "RLIMIT_MEMLOCK of pid %d at least %" PRIu64 " bytes", (int)domain->pid,
		 live.required);
	if (!live.live) {
		vfg_finding_report(finding, NULL, VFG_FINDING_HOST, expected, live.note,
				   "run the audit as root, with the VM running");
		return 0;
	}
	if (live.suffices)
		return 0;
	snprintf(actual, sizeof(actual), "soft %" PRIu64 ", hard %" PRIu64 " bytes (%s)", live.soft, live.hard,
		 live.formula);
	/*
	 * The fix is a command that raises it, whatever the journal holds
	 * (util-linux's prlimit(1), soft:hard; the apply it named before was
	 * no command one could run: it needs every hostdev given again). A
	 * hard limit at or above the need stays as it is.
	 */
	char hard[32];
	if (live.hard == UINT64_MAX)
		snprintf(hard, sizeof(hard), "unlimited");
	else
		snprintf(hard, sizeof(hard), "%" PRIu64, live.hard > live.required ? live.hard : live.required);
	vfg_finding_report(finding, NULL, vfg_finding_record(finding, node) ? VFG_FINDING_DRIFT : VFG_FINDING_MISSING,
			   expected, actual, "prlimit --pid %d --memlock=%" PRIu64 ":%s", (int)domain->pid,
			   live.required, hard);
	return 0;
}

/* The plan for people: the formula's inputs, its arithmetic, and the hypervisor's limit now. */
static void memlock_write_plan_text(const vfg_domain *domain, const vfg_probe *probe, const vfg_step *step, FILE *out,
				    unsigned columns)
{
	const vfg_memlock *m = probe_memlock(probe);
	char memory[32], extra[32];
	fprintf(out, "\nlocked memory (RLIMIT_MEMLOCK, docs/memlock.md):\n");
	if (m->computed) {
		vfg_text_printf(
			out, columns, 11,
			"  inputs:  guest RAM %s, %zu legacy and %zu iommufd hostdev%s, %s vIOMMU%s, extra %s%s",
			memlock_size_text(m->input.memory, memory, sizeof(memory)), m->input.legacy_devices,
			m->input.iommufd_devices, m->input.legacy_devices + m->input.iommufd_devices == 1 ? "" : "s",
			m->input.viommu ? "a" : "no",
			!m->input.iommufd_devices      ? ""
			: m->input.iommufd_per_process ? ", iommufd charges the process"
						       : ", iommufd charges the uid",
			memlock_size_text(m->input.extra, extra, sizeof(extra)),
			m->input.ipc_lock ? ", CAP_IPC_LOCK" : "");
		vfg_text_printf(out, columns, 11, "  formula: %s", m->formula);
	}
	vfg_text_printf(out, columns, 11, "  now:     %s", m->note);
}

/* A limit in bytes, or "unlimited". */
static void json_limit(vfg_json *json, const char *key, uint64_t value)
{
	if (value == UINT64_MAX)
		vfg_json_string(json, key, "unlimited");
	else
		vfg_json_int(json, key, (long long)value);
}

/* The plan for programs: "memlock" (docs/plan-json.md). */
static void memlock_write_plan_json(const vfg_domain *domain, const vfg_probe *probe, const vfg_step *step,
				    vfg_json *json)
{
	const vfg_memlock *m = probe_memlock(probe);
	vfg_json_bool(json, "computed", m->computed);
	if (m->computed) {
		vfg_json_int(json, "memory", (long long)m->input.memory);
		vfg_json_int(json, "legacy_devices", (long long)m->input.legacy_devices);
		vfg_json_int(json, "iommufd_devices", (long long)m->input.iommufd_devices);
		vfg_json_bool(json, "viommu", m->input.viommu);
		vfg_json_string(json, "iommufd_accounting", m->input.iommufd_per_process ? "process" : "user");
		vfg_json_int(json, "extra", (long long)m->input.extra);
		vfg_json_int(json, "page_size", (long long)m->input.page_size);
		vfg_json_bool(json, "ipc_lock", m->input.ipc_lock);
		vfg_json_int(json, "process_copies", (long long)m->process_copies);
		vfg_json_int(json, "user_copies", (long long)m->user_copies);
		vfg_json_int(json, "required", (long long)m->required);
		vfg_json_string(json, "formula", m->formula);
	} else {
		vfg_json_null(json, "required");
		vfg_json_null(json, "formula");
	}
	if (m->live) {
		vfg_json_int(json, "pid", domain->pid);
		json_limit(json, "soft", m->soft);
		json_limit(json, "hard", m->hard);
	} else {
		vfg_json_null(json, "pid");
		vfg_json_null(json, "soft");
		vfg_json_null(json, "hard");
	}
	if (m->computed && (m->live || m->input.ipc_lock))
		vfg_json_bool(json, "suffices", m->suffices);
	else
		vfg_json_null(json, "suffices");
	vfg_json_string(json, "action", memlock_would_raise(m) ? "raise" : "none");
	vfg_json_string(json, "note", m->note);
}

static int memlock_extra_check(const char *value, vfg_error *err)
{
	uint64_t bytes;
	return vfg_size_parse(value, &bytes, err);
}

static int memlock_accounting_check(const char *value, vfg_error *err)
{
	if (strcmp(value, "auto") != 0 && strcmp(value, "process") != 0 && strcmp(value, "user") != 0)
		return vfg_error_set(err, 0, "", "'%s': expected auto, process or user", value);
	return 0;
}

static const vfg_config_key_def memlock_config_keys[] = {
	/* Locked memory (docs/memlock.md): added to the pinned guest RAM; libvirt's allowance is 1 GiB. */
	{"memlock_extra", "1G", memlock_extra_check,
	 "what the hypervisor locks beyond the pinned guest RAM (ROMs, MMIO, its own)"},
	{"memlock_iommufd_accounting", "auto", memlock_accounting_check,
	 "whom iommufd charges: auto (the process when every iommufd hostdev has fd access), process, user"},
	{NULL, NULL, NULL, NULL},
};

/*
 * A grant of a boot that is over was a process's RLIMIT_MEMLOCK, gone with
 * it; the pid may be another process's now: nothing is touched (labeler.h:
 * boot_release; docs/boot.md).
 */
static int memlock_boot_release(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	(void)env, (void)domain, (void)probe, (void)node, (void)txn, (void)err;
	return 0;
}

const vfg_labeler vfg_memlock_labeler = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.size = VFG_LABELER_SIZE,
	.name = "memlock",
	.summary = "the hypervisor's locked-memory limit (RLIMIT_MEMLOCK)",
	.scope = VFG_SCOPE_DOMAIN,
	.subject = "a process (/proc/PID)",
	.config_keys = memlock_config_keys,
	.probe = memlock_probe,
	.plan = memlock_plan,
	.grant = memlock_grant,
	.revoke = memlock_revoke,
	.audit = memlock_audit,
	.write_plan_text = memlock_write_plan_text,
	.write_plan_json = memlock_write_plan_json,
	.intent = memlock_intent,
	.boot_release = memlock_boot_release,
};

VFG_EXPORT const vfg_memlock *vfg_plan_memlock(const vfg_plan *plan)
{
	static const vfg_memlock none = {.note = "the memlock labeler is not in the plan"};
	for (size_t i = 0; i < plan->n_domain_labelers; i++)
		if (plan->domain_labelers[i].labeler == &vfg_memlock_labeler)
			return probe_memlock(&plan->domain_labelers[i].probe);
	return &none;
}

/*
 * For a caller that becomes the hypervisor (`vfguard exec`): it will run
 * without any capability, so without CAP_IPC_LOCK, and the kernel charges
 * what QEMU pins to this very process (type1, or iommufd with RLIMIT_MODE 1:
 * docs/memlock.md). A real QEMU 11 given the fds by exec failed to pin its
 * 64 MiB under the 8 MiB default (vfio_container_dma_map = -12).
 */
VFG_EXPORT int vfg_memlock_raise_self(const vfg_plan *plan, vfg_error *err)
{
	const vfg_memlock *m = vfg_plan_memlock(plan);
	if (!m->computed)
		return 0;
	struct rlimit now;
	if (getrlimit(RLIMIT_MEMLOCK, &now) < 0)
		return vfg_error_set(err, errno, plan->domain.name, "cannot read this process's RLIMIT_MEMLOCK");
	if (now.rlim_cur >= m->required) /* RLIM_INFINITY is the largest value */
		return 0;
	struct rlimit raised = {.rlim_cur = m->required,
				.rlim_max = now.rlim_max >= m->required ? now.rlim_max : m->required};
	if (vfg_fault("memlock.self") || setrlimit(RLIMIT_MEMLOCK, &raised) < 0) {
		char need[32], hard[32];
		return vfg_error_set(
			err, errno, plan->domain.name,
			"cannot raise this process's RLIMIT_MEMLOCK to %s (hard limit %s; raising it needs "
			"CAP_SYS_RESOURCE)",
			memlock_size_text(m->required, need, sizeof(need)),
			now.rlim_max == RLIM_INFINITY ? "unlimited"
						      : memlock_size_text(now.rlim_max, hard, sizeof(hard)));
	}
	return 0;
}
