/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Locked memory: how much guest RAM the kernel will charge a hypervisor for
 * pinning it for DMA, and what is read of the hypervisor process whose
 * RLIMIT_MEMLOCK memlock_labeler.c raises to that. docs/memlock.md explains
 * the formula; this file is the one place it lives.
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
		return vfg_error_set(err, ERANGE, NULL,
				     "the locked-memory limit (%" PRIu64 " bytes of guest memory x %" PRIu64
				     ", and %" PRIu64 " bytes besides) overflows 64 bits",
				     input->memory, copies, input->extra);
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

void memlock_limit_format(char *buf, size_t size, uint64_t value)
{
	if (value == UINT64_MAX)
		snprintf(buf, size, "unlimited");
	else
		snprintf(buf, size, "%" PRIu64, value);
}

bool memlock_limit_parse(const char *text, rlim_t *value)
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

uint64_t memlock_limit_value(rlim_t value)
{
	return value == RLIM_INFINITY ? UINT64_MAX : (uint64_t)value;
}

/* Field 22 of /proc/PID/stat (proc(5)). */
int memlock_process_start_time(pid_t pid, unsigned long long *start, vfg_error *err)
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
int memlock_process_limits(pid_t pid, uint64_t *soft, uint64_t *hard)
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
	    !memlock_limit_parse(soft_text, &values[0]) || !memlock_limit_parse(hard_text, &values[1]))
		return -EIO;
	*soft = memlock_limit_value(values[0]);
	*hard = memlock_limit_value(values[1]);
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
bool memlock_process_has_ipc_lock(pid_t pid, uid_t uid)
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
