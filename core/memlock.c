/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Locked memory: how much guest RAM the kernel will charge a hypervisor for
 * pinning it for DMA, and raising the hypervisor's RLIMIT_MEMLOCK to that.
 * docs/memlock.md explains the formula; this file is the one place it lives.
 *
 * What the kernel charges (Linux 6.1 to 6.12):
 * - type1 (drivers/vfio/vfio_iommu_type1.c): every page a container pins for
 *   a VFIO_IOMMU_MAP_DMA goes through vfio_lock_acct() -> mm_lock_acct() ->
 *   __account_locked_vm() into the mapping process's mm->locked_vm, checked
 *   against its RLIMIT_MEMLOCK (ENOMEM past it) unless dma->lock_cap, which is
 *   capable(CAP_IPC_LOCK) at map time. Each container pins for itself: two
 *   containers mapping the same RAM are charged twice.
 * - iommufd (drivers/iommu/iommufd/pages.c, io_pagetable.c): iopt_alloc_pages()
 *   makes the pages IOPT_PAGES_ACCOUNT_NONE under CAP_IPC_LOCK, else
 *   IOPT_PAGES_ACCOUNT_USER: incr_user_locked_vm() adds them to the uid's
 *   user->locked_vm, shared by every process of that uid, and compares the sum
 *   with the mapping task's RLIMIT_MEMLOCK. With IOMMU_OPTION RLIMIT_MODE=1
 *   the iommufd is IOPT_PAGES_ACCOUNT_MM (iopt_map_user_pages()), and
 *   update_mm_locked_vm() charges mm->locked_vm as type1 does. Each IOAS pins
 *   for itself, as each container does.
 * - QEMU gives every guest address space its own container or IOAS. Without a
 *   vIOMMU all devices share the guest's one address space: guest RAM is
 *   pinned once per backend. With a vIOMMU each device has its own address
 *   space the guest may fill with all of its RAM: once per device.
 * - libvirt sizes the limit alike: qemuDomainGetMemLockLimitBytes() (libvirt
 *   >= 8.7.0) takes guest memory times the number of VFIO devices with a
 *   vIOMMU, times one without, plus 1 GiB for what else QEMU locks (as cited
 *   in kubevirt/kubevirt pull request 17805); our memlock_extra defaults to
 *   that 1 GiB.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>

#include "memlock.h"

/* include/uapi/linux/capability.h: CAP_IPC_LOCK is capability number 14. */
#define MEMLOCK_CAP_IPC_LOCK 14

/* ---- Sizes ---- */

VFG_EXPORT int vfg_size_parse(const char *text, uint64_t *bytes, vfg_error *err)
{
	static const struct {
		const char *suffix;
		unsigned shift;
	} units[] = {
		{"", 0},    {"B", 0},  {"K", 10},   {"KiB", 10}, {"KB", 10}, {"M", 20},   {"MiB", 20},
		{"MB", 20}, {"G", 30}, {"GiB", 30}, {"GB", 30},  {"T", 40},  {"TiB", 40}, {"TB", 40},
	};
	char *end;
	errno = 0;
	unsigned long long number = strtoull(text, &end, 10);
	if (errno || end == text || text[0] == '-' || text[0] == '+' || text[0] == ' ')
		return vfg_error_set(err, 0, text, "expected a size: bytes, or a number with K, M, G or T (binary)");
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (units[i].shift && number > (UINT64_MAX >> units[i].shift))
			return vfg_error_set(err, ERANGE, text, "size too large");
		*bytes = (uint64_t)number << units[i].shift;
		return 0;
	}
	return vfg_error_set(err, 0, text, "unknown unit '%s': expected K, M, G or T (binary), or none for bytes", end);
}

/* "4 GiB" when exact, else the bytes; "unlimited" for RLIM_INFINITY. */
const char *memlock_size_text(uint64_t bytes, char *buf, size_t size)
{
	static const char *const names[] = {"TiB", "GiB", "MiB", "KiB"};
	static const unsigned shifts[] = {40, 30, 20, 10};
	if (bytes == UINT64_MAX)
		return snprintf(buf, size, "unlimited"), buf;
	for (size_t i = 0; bytes && i < sizeof(shifts) / sizeof(shifts[0]); i++)
		if ((bytes & ((UINT64_C(1) << shifts[i]) - 1)) == 0)
			return snprintf(buf, size, "%" PRIu64 " %s", bytes >> shifts[i], names[i]), buf;
	snprintf(buf, size, "%" PRIu64 " bytes", bytes);
	return buf;
}

/* ---- The formula ---- */

/* Copies of guest RAM one backend pins: one shared address space, or one per device under a vIOMMU. */
static uint64_t backend_copies(size_t devices, bool viommu)
{
	if (devices == 0)
		return 0;
	return viommu ? devices : 1;
}

VFG_EXPORT int vfg_memlock_compute(const vfg_memlock_input *input, vfg_memlock *result, vfg_error *err)
{
	memset(result, 0, sizeof(*result));
	result->input = *input;
	uint64_t page = input->page_size ? input->page_size : 4096;
	uint64_t legacy = backend_copies(input->legacy_devices, input->viommu);
	uint64_t iommufd = backend_copies(input->iommufd_devices, input->viommu);
	/* type1, and iommufd in RLIMIT_MODE=1, charge mm->locked_vm; iommufd otherwise the uid's counter. */
	result->process_copies = legacy + (input->iommufd_per_process ? iommufd : 0);
	result->user_copies = input->iommufd_per_process ? 0 : iommufd;
	/* Both counters are compared with the same limit, each on its own: the larger one decides. */
	uint64_t copies = result->process_copies > result->user_copies ? result->process_copies : result->user_copies;

	uint64_t memory, pinned, required;
	/* The kernel pins and counts whole pages. */
	if (__builtin_add_overflow(input->memory, page - 1, &memory) ||
	    __builtin_mul_overflow(memory / page * page, copies, &pinned) ||
	    __builtin_add_overflow(pinned, input->extra, &required) ||
	    __builtin_add_overflow(required, page - 1, &required))
		return vfg_error_set(err, ERANGE, "memlock", "the locked-memory limit overflows 64 bits");
	memory = memory / page * page;
	result->required = required / page * page;
	result->computed = true;

	char m[32], e[32], r[32];
	snprintf(result->formula, sizeof(result->formula),
		 "%" PRIu64 " x %s + %s = %s (%" PRIu64 " bytes); copies of guest RAM: %" PRIu64
		 " charged to the process, %" PRIu64 " to uid's shared counter",
		 copies, memlock_size_text(memory, m, sizeof(m)), memlock_size_text(input->extra, e, sizeof(e)),
		 memlock_size_text(result->required, r, sizeof(r)), result->required, result->process_copies,
		 result->user_copies);
	return 0;
}

/* ---- The process ---- */

static bool parse_rlimit_field(const char *text, rlim_t *value);

/* RLIM_INFINITY and UINT64_MAX are the same "unlimited" for the formula's comparisons. */
static uint64_t limit_value(rlim_t value)
{
	return value == RLIM_INFINITY ? UINT64_MAX : (uint64_t)value;
}

/* Field 22 of /proc/PID/stat (proc(5)): when the process started, so a reused pid is told apart. */
static int process_start_time(pid_t pid, unsigned long long *start, vfg_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *content = NULL;
	int r = vfg_file_read_all(path, &content, NULL, err);
	if (r == -ENOENT)
		return vfg_error_set(err, ESRCH, path, "pid %d is not running", (int)pid);
	if (r < 0)
		return -1;
	/* The command name (field 2) may hold spaces and ')': the fields go on after the last ')'. */
	char *after = strrchr(content, ')');
	char *state = NULL;
	unsigned field = 2;
	for (char *token = after ? strtok_r(after + 1, " ", &state) : NULL; token; token = strtok_r(NULL, " ", &state))
		if (++field == 22)
			return sscanf(token, "%llu", start) == 1 ? 0 : vfg_error_set(err, 0, path, "malformed");
	return vfg_error_set(err, 0, path, "malformed: no start time");
}

/*
 * "Max locked memory  SOFT  HARD  bytes" of /proc/PID/limits (proc(5)),
 * readable by anyone, where prlimit(2) would want the same uid or
 * CAP_SYS_RESOURCE just to read.
 */
static int process_memlock_limits(pid_t pid, uint64_t *soft, uint64_t *hard)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	_cleanup_free_ char *content = NULL;
	int r = vfg_file_read_all(path, &content, NULL, NULL);
	if (r < 0)
		return r == -ENOENT ? -ESRCH : -EIO;
	const char *line = strstr(content, "Max locked memory");
	char soft_text[32], hard_text[32];
	rlim_t values[2];
	if (!line || sscanf(line + strlen("Max locked memory"), "%31s %31s", soft_text, hard_text) != 2 ||
	    !parse_rlimit_field(soft_text, &values[0]) || !parse_rlimit_field(hard_text, &values[1]))
		return -EIO;
	*soft = limit_value(values[0]);
	*hard = limit_value(values[1]);
	return 0;
}

/*
 * The pid holds CAP_IPC_LOCK (CapEff of /proc/PID/status) as the hypervisor
 * it is to be. A manager names its child before the child takes the
 * hypervisor's uid and execs it (libvirt does, and so does a child that
 * becomes `setpriv --reuid 107 qemu-system-x86_64`): that child still runs
 * as root with every capability, and loses them all with the uid change
 * (capabilities(7), "Effect of user ID changes on capabilities": when every
 * uid goes from 0 to non-zero, the permitted and effective sets are
 * cleared). So CapEff counts only when the process already runs as @uid;
 * a real QEMU under a root child found this (tests/vm/scenarios/qemu-*.sh).
 */
static bool process_has_ipc_lock(pid_t pid, uid_t uid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_free_ char *content = NULL;
	if (vfg_file_read_all(path, &content, NULL, NULL) < 0)
		return false;
	const char *uid_line = strstr(content, "\nUid:"), *cap_line = strstr(content, "\nCapEff:");
	unsigned long real, effective;
	unsigned long long caps;
	return uid_line && sscanf(uid_line + strlen("\nUid:"), "%lu %lu", &real, &effective) == 2 &&
	       effective == (unsigned long)uid && cap_line &&
	       sscanf(cap_line + strlen("\nCapEff:"), "%llx", &caps) == 1 && (caps >> MEMLOCK_CAP_IPC_LOCK & 1);
}

/* iommufd charges the process when the broker sets RLIMIT_MODE=1: it opens /dev/iommu for fd access. */
static int iommufd_per_process(const vfg_context *ctx, const vfg_plan *plan, bool *per_process, vfg_error *err)
{
	const char *mode = vfg_config_get(ctx->config, "memlock_iommufd_accounting");
	if (strcmp(mode, "process") == 0 || strcmp(mode, "user") == 0) {
		*per_process = strcmp(mode, "process") == 0;
		return 0;
	}
	if (strcmp(mode, "auto") != 0)
		return vfg_error_set(err, 0, "memlock_iommufd_accounting", "'%s': expected auto, process or user",
				     mode);
	*per_process = true;
	for (size_t i = 0; i < plan->n_hostdevs; i++)
		if (plan->hostdevs[i].backend == VFG_BACKEND_IOMMUFD && plan->hostdevs[i].spec.access != VFG_ACCESS_FD)
			*per_process = false;
	return 0;
}

bool memlock_would_raise(const vfg_memlock *m)
{
	return m->computed && m->live && !m->suffices;
}

void memlock_read_live(const vfg_plan *plan, vfg_memlock *m)
{
	pid_t pid = plan->domain.pid;
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
	int r = process_memlock_limits(pid, &m->soft, &m->hard);
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

int memlock_plan(const vfg_context *ctx, vfg_plan *plan, vfg_error *err)
{
	vfg_memlock *m = &plan->memlock;
	memset(m, 0, sizeof(*m));
	if (plan->domain.memory == 0) {
		snprintf(m->note, sizeof(m->note), "guest memory not given (--memory): no limit computed or set");
		return 0;
	}
	vfg_memlock_input input = {
		.memory = plan->domain.memory,
		.viommu = plan->domain.viommu,
		.page_size = (uint64_t)sysconf(_SC_PAGESIZE),
		.ipc_lock = plan->domain.ipc_lock || (!plan->domain.ipc_lock_known && plan->domain.pid > 0 &&
						      process_has_ipc_lock(plan->domain.pid, plan->domain.uid)),
	};
	for (size_t i = 0; i < plan->n_hostdevs; i++) {
		if (plan->hostdevs[i].backend == VFG_BACKEND_IOMMUFD)
			input.iommufd_devices++;
		else
			input.legacy_devices++;
	}
	if (vfg_size_parse(vfg_config_get(ctx->config, "memlock_extra"), &input.extra, err) < 0) {
		vfg_error_prefix(err, "config key memlock_extra");
		return -1;
	}
	if (iommufd_per_process(ctx, plan, &input.iommufd_per_process, err) < 0 ||
	    vfg_memlock_compute(&input, m, err) < 0)
		return -1;
	memlock_read_live(plan, m);
	return 0;
}

/* ---- Apply and undo ---- */

static void rlimit_field(char *buf, size_t size, uint64_t value)
{
	if (value == UINT64_MAX)
		snprintf(buf, size, "unlimited");
	else
		snprintf(buf, size, "%" PRIu64, value);
}

static bool parse_rlimit_field(const char *text, rlim_t *value)
{
	if (strcmp(text, "unlimited") == 0) {
		*value = RLIM_INFINITY;
		return true;
	}
	char *end;
	errno = 0;
	unsigned long long number = strtoull(text, &end, 10);
	*value = (rlim_t)number;
	return !errno && end != text && !*end && text[0] != '-';
}

static void notes_add(char **notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void notes_add(char **notes, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t old = *notes ? strlen(*notes) : 0;
	char *grown = realloc(*notes, old + strlen(line) + 2);
	if (!grown)
		return; /* a note is advice: losing it changes nothing on the host */
	snprintf(grown + old, strlen(line) + 2, "%s\n", line);
	*notes = grown;
}

/*
 * A memlock record as only memlock_apply() writes it: exactly its format, for
 * the process its path names, with a soft limit no higher than the hard one
 * (setrlimit(2) refuses anything else, so no process ever had it).
 */
static int memlock_record_parse(const journal_record *record, pid_t *pid, unsigned long long *start,
				struct rlimit *original, vfg_error *err)
{
	int number;
	char soft_text[32], hard_text[32], canonical[VFG_UNDO_MAX + 1] = "", path[32] = "";
	bool ok = sscanf(record->undo, "pid=%d start=%llu soft=%31s hard=%31s", &number, start, soft_text, hard_text) ==
			  4 &&
		  number > 0 && parse_rlimit_field(soft_text, &original->rlim_cur) &&
		  parse_rlimit_field(hard_text, &original->rlim_max);
	if (ok) {
		char soft[32], hard[32];
		rlimit_field(soft, sizeof(soft), limit_value(original->rlim_cur));
		rlimit_field(hard, sizeof(hard), limit_value(original->rlim_max));
		snprintf(canonical, sizeof(canonical), "pid=%d start=%llu soft=%s hard=%s", number, *start, soft, hard);
		snprintf(path, sizeof(path), "/proc/%d", number);
	}
	if (!ok || strcmp(record->undo, canonical) != 0)
		return vfg_error_set(err, EINVAL, record->node.path, "malformed memlock undo '%s'", record->undo);
	if (strcmp(record->node.path, path) != 0)
		return vfg_error_set(err, EINVAL, record->node.path,
				     "memlock undo '%s' is for another process than its record's; refusing it",
				     record->undo);
	if (limit_value(original->rlim_cur) > limit_value(original->rlim_max))
		return vfg_error_set(err, EINVAL, record->node.path,
				     "memlock undo '%s' has a soft limit above the hard one, which no process has; "
				     "refusing it",
				     record->undo);
	*pid = number;
	return 0;
}

int memlock_undo(const journal_record *record, char **notes, vfg_error *err)
{
	pid_t pid = 0;
	unsigned long long start, now_start;
	struct rlimit original, now;
	if (memlock_record_parse(record, &pid, &start, &original, err) < 0)
		return -1;
	vfg_error gone = {0};
	if (process_start_time(pid, &now_start, &gone) < 0) {
		if (gone.errnum != ESRCH) {
			*err = gone;
			return -1;
		}
		notes_add(notes, "memlock: pid %d is gone: no limit to put back", pid);
		return 0;
	}
	if (now_start != start) {
		notes_add(notes, "memlock: pid %d is another process now (started at %llu, not %llu): left alone", pid,
			  now_start, start);
		return 0;
	}
	/*
	 * Apply only raises: the original is at most what the process has now.
	 * Above it, someone lowered the limit since, and putting the record's
	 * back would grant what vfguard never took: that is left alone.
	 */
	if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &now) == 0 &&
	    (limit_value(original.rlim_cur) > limit_value(now.rlim_cur) ||
	     limit_value(original.rlim_max) > limit_value(now.rlim_max))) {
		notes_add(notes, "memlock: pid %d has a lower limit now than the journaled original (%s): left alone",
			  pid, record->undo);
		return 0;
	}
	if (prlimit(pid, RLIMIT_MEMLOCK, &original, NULL) < 0) {
		if (errno == ESRCH) {
			notes_add(notes, "memlock: pid %d is gone: no limit to put back", pid);
			return 0;
		}
		return vfg_error_set(err, errno, record->node.path, "cannot put back the RLIMIT_MEMLOCK of pid %d",
				     pid);
	}
	return 0;
}

static void summary_add_note(vfg_change_summary *summary, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void summary_add_note(vfg_change_summary *summary, const char *fmt, ...)
{
	if (!summary)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	vfg_strlcatf(summary->notes, sizeof(summary->notes), strlen(summary->notes), "%s\n", line);
}

/* The domain's memlock records of other pids (an earlier run of the VM): their processes get their limit back. */
static int undo_other_pids(host_journal *hj, domain_journal *dj, const char *path, vfg_change_summary *summary,
			   vfg_error *err)
{
	for (size_t i = dj->n_records; i-- > 0;) {
		const journal_record *record = &dj->records[i];
		if (record->node.kind != VFG_NODE_DOMAIN || strcmp(record->labeler, MEMLOCK_LABELER) != 0 ||
		    strcmp(record->node.path, path) == 0)
			continue;
		_cleanup_free_ char *notes = NULL;
		int r = memlock_undo(record, &notes, err);
		if (notes)
			summary_add_note(summary, "%.*s", (int)strlen(notes) - 1, notes);
		if (r < 0 || domain_journal_undone(hj, dj, record->id, err) < 0)
			return -1;
	}
	return 0;
}

int memlock_apply(host_journal *hj, domain_journal *dj, const vfg_plan *plan, vfg_change_summary *summary,
		  vfg_error *err)
{
	const vfg_memlock *m = &plan->memlock;
	pid_t pid = plan->domain.pid;
	if (pid <= 0)
		return 0; /* no process to set a limit on; one raised for an earlier pid stays until revoke */
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (undo_other_pids(hj, dj, path, summary, err) < 0)
		return -1;
	if (!m->computed || m->input.ipc_lock)
		return 0; /* the plan says why */

	struct rlimit now;
	if (prlimit(pid, RLIMIT_MEMLOCK, NULL, &now) < 0)
		return vfg_error_set(err, errno, path, "cannot read the RLIMIT_MEMLOCK of pid %d", (int)pid);
	journal_record *held = domain_journal_find_record(dj, MEMLOCK_LABELER, path);
	char need[32];
	memlock_size_text(m->required, need, sizeof(need));
	if (limit_value(now.rlim_cur) >= m->required) {
		if (held && summary)
			summary->kept++;
		else if (!held)
			summary_add_note(summary, "memlock: pid %d already may lock %s or more: left alone", (int)pid,
					 need);
		return 0;
	}
	journal_record record = {.node.kind = VFG_NODE_DOMAIN};
	if (!held) {
		/* The original, durable before the change: revoke and restore put back exactly this. */
		unsigned long long start;
		char soft[32], hard[32], undo[160];
		if (process_start_time(pid, &start, err) < 0)
			return -1;
		rlimit_field(soft, sizeof(soft), limit_value(now.rlim_cur));
		rlimit_field(hard, sizeof(hard), limit_value(now.rlim_max));
		snprintf(undo, sizeof(undo), "pid=%d start=%llu soft=%s hard=%s", (int)pid, start, soft, hard);
		snprintf(record.labeler, sizeof(record.labeler), "%s", MEMLOCK_LABELER);
		snprintf(record.node.path, sizeof(record.node.path), "%s", path);
		record.undo = undo;
		if (domain_journal_intent(hj, dj, &record, err) < 0)
			return -1;
	}
	/* Raise only: a limit already above the need stays as it is. */
	struct rlimit raised = {
		.rlim_cur = limit_value(now.rlim_cur) >= m->required ? now.rlim_cur : (rlim_t)m->required,
		.rlim_max = limit_value(now.rlim_max) >= m->required ? now.rlim_max : (rlim_t)m->required,
	};
	if (prlimit(pid, RLIMIT_MEMLOCK, &raised, NULL) < 0)
		return vfg_error_set(err, errno, path, "cannot raise the RLIMIT_MEMLOCK of pid %d to %s", (int)pid,
				     need);
	if (!held && domain_journal_done(hj, dj, record.id, err) < 0)
		return -1;
	if (held)
		host_journal_fault_point(hj); /* raised again under the record held since an earlier apply */
	if (summary)
		summary->changed++;
	return 0;
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
	const vfg_memlock *m = &plan->memlock;
	if (!m->computed)
		return 0;
	struct rlimit now;
	if (getrlimit(RLIMIT_MEMLOCK, &now) < 0)
		return vfg_error_set(err, errno, plan->domain.name, "cannot read this process's RLIMIT_MEMLOCK");
	if (now.rlim_cur >= m->required) /* RLIM_INFINITY is the largest value */
		return 0;
	struct rlimit raised = {.rlim_cur = m->required,
				.rlim_max = now.rlim_max >= m->required ? now.rlim_max : m->required};
	if (setrlimit(RLIMIT_MEMLOCK, &raised) < 0) {
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
