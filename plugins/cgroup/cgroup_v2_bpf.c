/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroup2, the part that needs libbpf: vfguard's device program
 * (cgroup_device.bpf.c), its map, and the other programs on a cgroup. A
 * module of its own (cgroup-v2.so), loaded by the labeler only when a
 * cgroup2 cgroup is the target (cgroup_v2.c), so that a host on v1 alone
 * never maps libbpf and what it links. These are the bpf(2) calls alone:
 * what one hold of the host lock found is kept by cgroup_v2.c.
 *
 * One program per cgroup, attached with BPF_F_ALLOW_MULTI so that it runs
 * beside whatever else is attached (systemd's, libvirt's): the kernel runs
 * the effective programs of the cgroup and its ancestors and allows an access
 * only when every one allows it (__cgroup_bpf_run_filter_dev() and
 * bpf_prog_run_array_cg() in kernel/bpf/cgroup.c). A rule change is a map
 * update; the program is loaded once, when the cgroup gets its first grant,
 * and detached when its map holds no grant any more.
 *
 * A later process finds the program with BPF_PROG_QUERY on the cgroup, and
 * the map through the program's map ids (bpf_prog_info.map_ids): no bpffs.
 * An attached program lives as long as its attachment, so it outlives the
 * process that loaded it, and a crash too.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>

#include "cgroup.h"
#include "cgroup_bpf.h"
#include "cgroup_device.skel.h"
#include "vfg_fault.h"

/* BPF_CGROUP_MAX_PROGS in include/linux/bpf-cgroup-defs.h: at most 64 programs per attach point. */
#define CGROUP_PROGS_MAX 64

/* libbpf writes its warnings to stderr; the last one is kept for the error a failed load reports. */
static __thread char libbpf_last_message[256];

static int libbpf_keep_last(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		vsnprintf(libbpf_last_message, sizeof(libbpf_last_message), fmt, ap);
		libbpf_last_message[strcspn(libbpf_last_message, "\n")] = '\0';
	}
	return 0;
}

/*
 * libbpf has one print callback for the whole process (libbpf_set_print in
 * libbpf.h, which returns the one it replaces), and the process is the
 * manager's, which may have set its own: vfguard's is there only while the
 * skeleton loads, the only libbpf call of this file that prints, and the
 * previous one is put back after. The lock keeps two contexts loading at
 * once from putting back each other's callback for good.
 */
static pthread_mutex_t libbpf_print_lock = PTHREAD_MUTEX_INITIALIZER;

static struct vfg_cgroup_device *skeleton_load(void)
{
	pthread_mutex_lock(&libbpf_print_lock);
	libbpf_last_message[0] = '\0';
	libbpf_print_fn_t previous = libbpf_set_print(libbpf_keep_last);
	struct vfg_cgroup_device *skel = vfg_cgroup_device__open_and_load();
	int saved = errno;
	libbpf_set_print(previous);
	pthread_mutex_unlock(&libbpf_print_lock);
	errno = saved;
	return skel;
}

/* The ids of the device programs attached to the cgroup itself, or (@effective) acting on it. */
static int programs_query(int cgroup_fd, const char *dir, bool effective, uint32_t *ids, uint32_t *count,
			  vfg_error *err)
{
	__u32 attach_flags = 0, n = CGROUP_PROGS_MAX;
	if (bpf_prog_query(cgroup_fd, BPF_CGROUP_DEVICE, effective ? BPF_F_QUERY_EFFECTIVE : 0, &attach_flags, ids,
			   &n) < 0)
		return vfg_error_set(err, errno, dir, "cannot list the cgroup's device programs (BPF_PROG_QUERY)");
	*count = n;
	return 0;
}

typedef struct prog_facts {
	char name[BPF_OBJ_NAME_LEN];
	bool ours;
	uint32_t map_id;
} prog_facts;

/* Is the program behind @prog_fd vfguard's: our name, a device program, one map that is our rule map? */
static int prog_inspect(int prog_fd, const char *dir, prog_facts *facts, vfg_error *err)
{
	__u32 map_ids[4] = {0};
	struct bpf_prog_info info = {.nr_map_ids = 4, .map_ids = (__u64)(uintptr_t)map_ids};
	__u32 len = sizeof(info);
	memset(facts, 0, sizeof(*facts));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
		return vfg_error_set(err, errno, dir, "cannot read a device program's info");
	snprintf(facts->name, sizeof(facts->name), "%s", info.name);
	if (info.type != BPF_PROG_TYPE_CGROUP_DEVICE || strcmp(info.name, VFG_CGROUP_PROG_NAME) != 0 ||
	    info.nr_map_ids != 1)
		return 0;

	_cleanup_close_ int map_fd = bpf_map_get_fd_by_id(map_ids[0]);
	if (map_fd < 0)
		return vfg_error_set(err, errno, dir, "cannot open map %u of device program %u", map_ids[0], info.id);
	struct bpf_map_info map_info = {0};
	len = sizeof(map_info);
	if (bpf_obj_get_info_by_fd(map_fd, &map_info, &len) < 0)
		return vfg_error_set(err, errno, dir, "cannot read the info of map %u", map_ids[0]);
	facts->ours = map_info.type == BPF_MAP_TYPE_HASH && strcmp(map_info.name, VFG_CGROUP_MAP_NAME) == 0 &&
		      map_info.key_size == sizeof(struct vfg_cgroup_rule_key) &&
		      map_info.value_size == sizeof(struct vfg_cgroup_rule_value);
	facts->map_id = map_ids[0];
	return 0;
}

static int program_find(const char *dir, int cgroup_fd, cgroup_v2_prog *prog, vfg_error *err)
{
	*prog = (cgroup_v2_prog)CGROUP_V2_PROG_INIT;
	uint32_t ids[CGROUP_PROGS_MAX], n;
	if (programs_query(cgroup_fd, dir, false, ids, &n, err) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		_cleanup_close_ int fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0 && errno == ENOENT)
			continue; /* detached and freed since the query */
		if (fd < 0)
			return vfg_error_set(err, errno, dir, "cannot open device program %u", ids[i]);
		prog_facts facts;
		if (prog_inspect(fd, dir, &facts, err) < 0)
			return -1;
		if (!facts.ours)
			continue;
		prog->map_fd = bpf_map_get_fd_by_id(facts.map_id);
		if (prog->map_fd < 0)
			return vfg_error_set(err, errno, dir, "cannot open vfguard's rule map %u", facts.map_id);
		prog->prog_fd = fd;
		prog->prog_id = ids[i];
		fd = -1;
		return 0;
	}
	return 0;
}

static struct vfg_cgroup_rule_key rule_key(const cgroup_rule *rule)
{
	/* CGROUP_ANY and VFG_CGROUP_WILDCARD are both ~0, the kernel's types BPF_DEVCG_DEV_BLOCK and _CHAR. */
	return (struct vfg_cgroup_rule_key){
		.type = rule->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR,
		.major = rule->major,
		.minor = rule->minor,
	};
}

static int seed_base(const char *dir, int map_fd, const cgroup_rule *rules, size_t n, vfg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct vfg_cgroup_rule_key key = rule_key(&rules[i]);
		struct vfg_cgroup_rule_value value = {.access = rules[i].access, .flags = VFG_CGROUP_RULE_BASE};
		if (vfg_fault("cgroup.v2_seed") || bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) < 0) {
			char text[48];
			return vfg_error_set(err, errno, dir, "cannot put base rule '%s' in the new program's map",
					     cgroup_rule_format(&rules[i], text, sizeof(text)));
		}
	}
	return 0;
}

static void skeleton_destroyp(struct vfg_cgroup_device **skel)
{
	vfg_cgroup_device__destroy(*skel);
}

static int program_attach(const char *dir, int cgroup_fd, const cgroup_rule *base, size_t n_base, cgroup_v2_prog *prog,
			  vfg_error *err)
{
	__attribute__((cleanup(skeleton_destroyp))) struct vfg_cgroup_device *skel =
		vfg_fault("cgroup.v2_load") ? NULL : skeleton_load();
	if (!skel && libbpf_last_message[0])
		return vfg_error_set(err, errno, dir, "cannot load vfguard's device program (libbpf: %s)",
				     libbpf_last_message);
	if (!skel)
		return vfg_error_set(err, errno, dir, "cannot load vfguard's device program");
	int prog_fd = bpf_program__fd(skel->progs.vfg_devices), map_fd = bpf_map__fd(skel->maps.vfg_rules);

	/* The base list first: an empty map would deny the cgroup /dev/null for a moment. */
	if (seed_base(dir, map_fd, base, n_base, err) < 0)
		return -1;
	if (vfg_fault("cgroup.v2_attach") ||
	    bpf_prog_attach(prog_fd, cgroup_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI) < 0)
		return vfg_error_set(err, errno, dir,
				     "cannot attach vfguard's device program (BPF_F_ALLOW_MULTI; a program attached "
				     "without it here or above refuses others)");

	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	prog->prog_fd = fcntl(prog_fd, F_DUPFD_CLOEXEC, 3);
	prog->map_fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 3);
	if (prog->prog_fd < 0 || prog->map_fd < 0 || bpf_obj_get_info_by_fd(prog->prog_fd, &info, &len) < 0)
		return vfg_error_set(err, errno, dir, "cannot keep hold of the device program just attached");
	prog->prog_id = info.id;
	return 0;
}

static int program_detach(const char *dir, int cgroup_fd, cgroup_v2_prog *prog, vfg_error *err)
{
	if ((vfg_fault("cgroup.v2_detach") || bpf_prog_detach2(prog->prog_fd, cgroup_fd, BPF_CGROUP_DEVICE) < 0) &&
	    errno != ENOENT)
		return vfg_error_set(err, errno, dir, "cannot detach vfguard's device program %u", prog->prog_id);
	vfg_closep(&prog->map_fd);
	vfg_closep(&prog->prog_fd);
	prog->map_fd = prog->prog_fd = -1;
	return 0;
}

static int map_lookup(const char *dir, int map_fd, const cgroup_rule *rule, cgroup_v2_entry *entry, vfg_error *err)
{
	struct vfg_cgroup_rule_key key = rule_key(rule);
	struct vfg_cgroup_rule_value value;
	memset(entry, 0, sizeof(*entry));
	if (bpf_map_lookup_elem(map_fd, &key, &value) < 0) {
		if (errno == ENOENT)
			return 0;
		char text[48];
		return vfg_error_set(err, errno, dir, "cannot look up '%s' in vfguard's rule map",
				     cgroup_rule_format(rule, text, sizeof(text)));
	}
	*entry = (cgroup_v2_entry){.present = true, .access = value.access, .flags = value.flags};
	return 0;
}

static int map_update(const char *dir, int map_fd, const cgroup_rule *rule, const cgroup_v2_entry *entry,
		      vfg_error *err)
{
	struct vfg_cgroup_rule_key key = rule_key(rule);
	char text[48];
	if (!entry->present) {
		if ((vfg_fault("cgroup.v2_delete") || bpf_map_delete_elem(map_fd, &key) < 0) && errno != ENOENT)
			return vfg_error_set(err, errno, dir, "cannot remove '%s' from vfguard's rule map",
					     cgroup_rule_format(rule, text, sizeof(text)));
		return 0;
	}
	struct vfg_cgroup_rule_value value = {.access = entry->access, .flags = entry->flags};
	if (vfg_fault("cgroup.v2_update") || bpf_map_update_elem(map_fd, &key, &value, BPF_ANY) < 0)
		return vfg_error_set(err, errno, dir, "cannot put '%s' in vfguard's rule map",
				     cgroup_rule_format(rule, text, sizeof(text)));
	return 0;
}

static int map_find_grant(const char *dir, int map_fd, cgroup_rule *grant, bool *any, vfg_error *err)
{
	struct vfg_cgroup_rule_key key, next;
	struct vfg_cgroup_rule_value value;
	*any = false;
	for (const void *at = NULL; bpf_map_get_next_key(map_fd, at, &next) == 0; at = &key) {
		key = next;
		if (bpf_map_lookup_elem(map_fd, &key, &value) == 0 && (value.flags & VFG_CGROUP_RULE_GRANT)) {
			*grant = (cgroup_rule){
				.type = key.type == BPF_DEVCG_DEV_BLOCK ? 'b' : 'c',
				.major = key.major,
				.minor = key.minor,
				.access = value.access,
			};
			*any = true;
			return 0;
		}
	}
	if (errno != ENOENT)
		return vfg_error_set(err, errno, dir, "cannot walk vfguard's rule map");
	return 0;
}

/* Where a program acting on @dir is attached: @dir or the nearest ancestor that has it. */
static void attached_where(const char *dir, uint32_t id, char *where, size_t size)
{
	char path[VFG_PATH_MAX];
	snprintf(path, sizeof(path), "%s", dir);
	snprintf(where, size, "an ancestor of %s", dir);
	for (;;) {
		struct statfs fs;
		if (statfs(path, &fs) < 0 || (unsigned long)fs.f_type != CGROUP2_SUPER_MAGIC)
			return;
		_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		uint32_t ids[CGROUP_PROGS_MAX], n = 0;
		vfg_error ignored;
		if (fd >= 0 && programs_query(fd, path, false, ids, &n, &ignored) == 0)
			for (uint32_t i = 0; i < n; i++)
				if (ids[i] == id) {
					snprintf(where, size, "%s", path);
					return;
				}
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			return;
		*slash = '\0';
	}
}

static int programs_foreign(const char *dir, int cgroup_fd, uint32_t own_id, char *buf, size_t size, vfg_error *err)
{
	uint32_t ids[CGROUP_PROGS_MAX], n;
	if (programs_query(cgroup_fd, dir, true, ids, &n, err) < 0)
		return -1;
	int foreign = 0;
	size_t used = 0;
	buf[0] = '\0';
	for (uint32_t i = 0; i < n; i++) {
		if (own_id && ids[i] == own_id)
			continue;
		prog_facts facts = {.name = ""};
		_cleanup_close_ int fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd >= 0 && prog_inspect(fd, dir, &facts, err) < 0)
			return -1;
		char where[VFG_PATH_MAX];
		attached_where(dir, ids[i], where, sizeof(where));
		int len = snprintf(buf + used, size - used, "%sprogram %u '%s'%s on %s", foreign ? "; " : "", ids[i],
				   facts.name, facts.ours ? " (vfguard's, of another cgroup)" : "", where);
		if (len > 0)
			used = used + (size_t)len < size ? used + (size_t)len : size - 1;
		foreign++;
	}
	return foreign;
}

VFG_LABELER_EXPORT const cgroup_v2_ops cgroup_v2_bpf_ops = {
	.size = sizeof(cgroup_v2_ops),
	.find = program_find,
	.attach = program_attach,
	.detach = program_detach,
	.lookup = map_lookup,
	.update = map_update,
	.find_grant = map_find_grant,
	.foreign = programs_foreign,
};
