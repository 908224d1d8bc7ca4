/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroup2: vfguard's device program, its map, and the other programs on a
 * cgroup, through bpf(2) itself. A module of its own (cgroup-v2.so),
 * loaded by the labeler only when a cgroup2 cgroup is the target
 * (cgroup_v2.c), so that a host on v1 alone never maps it. These are the
 * bpf(2) calls alone: what one hold of the host lock found is kept by
 * cgroup_v2.c.
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
 *
 * The program is some forty instructions, written out below rather than
 * compiled and carried in an ELF object: loading them needs no ELF or BTF
 * reader (libbpf mapped half a megabyte with libelf and zlib for it), and
 * each instruction can be read against the kernel's encoding
 * (Documentation/bpf/standardization/instruction-set.rst).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "cgroup_bpf.h"
#include "vfg_fault.h"

/* BPF_CGROUP_MAX_PROGS in include/linux/bpf-cgroup-defs.h: at most 64 programs per attach point. */
#define CGROUP_PROGS_MAX 64

/* bpf(2) with @attr, which the caller zeroed whole first: the kernel refuses a command whose unused fields are not 0.
 */
static long bpf_call(enum bpf_cmd cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int obj_get_info(int fd, void *info, uint32_t *len)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = *len;
	attr.info.info = (uint64_t)(uintptr_t)info;
	long r = bpf_call(BPF_OBJ_GET_INFO_BY_FD, &attr);
	*len = attr.info.info_len;
	return (int)r;
}

/* A new fd (close-on-exec, as every bpf fd: bpf_prog_new_fd() in kernel/bpf/syscall.c) for program or map @id. */
static int fd_by_id(enum bpf_cmd cmd, uint32_t id)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	if (cmd == BPF_PROG_GET_FD_BY_ID)
		attr.prog_id = id;
	else
		attr.map_id = id;
	return (int)bpf_call(cmd, &attr);
}

static int map_call(enum bpf_cmd cmd, int map_fd, const void *key, void *value_or_next, uint64_t flags)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_fd = (uint32_t)map_fd;
	attr.key = (uint64_t)(uintptr_t)key;
	attr.value = (uint64_t)(uintptr_t)value_or_next; /* next_key shares the field (union bpf_attr) */
	attr.flags = flags;
	return (int)bpf_call(cmd, &attr);
}

static int attach_call(enum bpf_cmd cmd, int prog_fd, int cgroup_fd, uint32_t flags)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = flags;
	return (int)bpf_call(cmd, &attr);
}

/* The ids of the device programs attached to the cgroup itself, or (@effective) acting on it. */
static int programs_query(int cgroup_fd, const char *dir, bool effective, uint32_t *ids, uint32_t *count,
			  vfg_error *err)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgroup_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.query_flags = effective ? BPF_F_QUERY_EFFECTIVE : 0;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = CGROUP_PROGS_MAX;
	if (bpf_call(BPF_PROG_QUERY, &attr) < 0)
		return vfg_error_set(err, errno, dir, "cannot list the cgroup's device programs (BPF_PROG_QUERY)");
	*count = attr.query.prog_cnt;
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
	uint32_t map_ids[4] = {0};
	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 4;
	info.map_ids = (uint64_t)(uintptr_t)map_ids;
	uint32_t len = sizeof(info);
	memset(facts, 0, sizeof(*facts));
	if (obj_get_info(prog_fd, &info, &len) < 0)
		return vfg_error_set(err, errno, dir, "cannot read a device program's info");
	snprintf(facts->name, sizeof(facts->name), "%.*s", (int)sizeof(info.name), info.name);
	if (info.type != BPF_PROG_TYPE_CGROUP_DEVICE || strcmp(facts->name, VFG_CGROUP_PROG_NAME) != 0 ||
	    info.nr_map_ids != 1)
		return 0;

	_cleanup_close_ int map_fd = fd_by_id(BPF_MAP_GET_FD_BY_ID, map_ids[0]);
	if (map_fd < 0)
		return vfg_error_set(err, errno, dir, "cannot open map %u of device program %u", map_ids[0], info.id);
	struct bpf_map_info map_info;
	memset(&map_info, 0, sizeof(map_info));
	len = sizeof(map_info);
	if (obj_get_info(map_fd, &map_info, &len) < 0)
		return vfg_error_set(err, errno, dir, "cannot read the info of map %u", map_ids[0]);
	facts->ours = map_info.type == BPF_MAP_TYPE_HASH &&
		      strncmp(map_info.name, VFG_CGROUP_MAP_NAME, sizeof(map_info.name)) == 0 &&
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
		_cleanup_close_ int fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, ids[i]);
		if (fd < 0 && errno == ENOENT)
			continue; /* detached and freed since the query */
		if (fd < 0)
			return vfg_error_set(err, errno, dir, "cannot open device program %u", ids[i]);
		prog_facts facts;
		if (prog_inspect(fd, dir, &facts, err) < 0)
			return -1;
		if (!facts.ours)
			continue;
		prog->map_fd = fd_by_id(BPF_MAP_GET_FD_BY_ID, facts.map_id);
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

/* Put @value under @key (BPF_ANY: made or replaced), or delete it. */
static int map_update_elem(int map_fd, const struct vfg_cgroup_rule_key *key, const struct vfg_cgroup_rule_value *value)
{
	return map_call(BPF_MAP_UPDATE_ELEM, map_fd, key, (void *)value, BPF_ANY);
}

static int map_delete_elem(int map_fd, const struct vfg_cgroup_rule_key *key)
{
	return map_call(BPF_MAP_DELETE_ELEM, map_fd, key, NULL, 0);
}

static int seed_base(const char *dir, int map_fd, const cgroup_rule *rules, size_t n, vfg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		struct vfg_cgroup_rule_key key = rule_key(&rules[i]);
		struct vfg_cgroup_rule_value value = {.access = rules[i].access, .flags = VFG_CGROUP_RULE_BASE};
		if (vfg_fault("cgroup.v2_seed") || map_update_elem(map_fd, &key, &value) < 0) {
			char text[48];
			return vfg_error_set(err, errno, dir, "cannot put base rule '%s' in the new program's map",
					     cgroup_rule_format(&rules[i], text, sizeof(text)));
		}
	}
	return 0;
}

/* ---- the program ---- */

/* The most instructions program_write() writes: 6, then 4 lookups of at most 13, then 4. */
#define PROGRAM_INSNS_MAX 62

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* Where the key is built on the program's stack: type, major, minor (struct vfg_cgroup_rule_key). */
enum { KEY_AT = -16, KEY_MAJOR_AT = -12, KEY_MINOR_AT = -8 };
/* struct bpf_cgroup_dev_ctx (include/uapi/linux/bpf.h): access_type, major, minor, each a __u32. */
enum { CTX_ACCESS_TYPE = 0, CTX_MAJOR = 4, CTX_MINOR = 8 };

/* The key's @at field: the context's number at @ctx_at, or the wildcard. */
static size_t key_field(struct bpf_insn *p, int16_t at, int16_t ctx_at, bool wildcard)
{
	if (wildcard) {
		p[0] = insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, at, (int32_t)VFG_CGROUP_WILDCARD);
		return 1;
	}
	p[0] = insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_1, BPF_REG_6, ctx_at, 0);
	p[1] = insn(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_1, at, 0);
	return 2;
}

/*
 * The device program (BPF_PROG_TYPE_CGROUP_DEVICE), for rule map @map_fd:
 * 1 (allow) when a rule covers all the access asked for, looked up exactly,
 * then with the major as a wildcard, then the minor, then both; else 0.
 * Registers: r6 the context, r7 the access asked for, r8 the device type;
 * r1 to r5 are the helper's to clobber. The kernel packs access_type as
 * (access << 16) | type (BPF_DEVCG_ACC_* and BPF_DEVCG_DEV_*, uapi bpf.h).
 */
static size_t program_write(int map_fd, struct bpf_insn *p)
{
	const uint8_t alu64 = BPF_ALU64, ldx_w = BPF_LDX | BPF_MEM | BPF_W;
	size_t n = 0, allows[4];
	p[n++] = insn(alu64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0);
	p[n++] = insn(ldx_w, BPF_REG_7, BPF_REG_6, CTX_ACCESS_TYPE, 0);
	p[n++] = insn(alu64 | BPF_MOV | BPF_X, BPF_REG_8, BPF_REG_7, 0, 0);
	p[n++] = insn(alu64 | BPF_AND | BPF_K, BPF_REG_8, 0, 0, 0xffff);
	p[n++] = insn(alu64 | BPF_RSH | BPF_K, BPF_REG_7, 0, 0, 16);
	p[n++] = insn(BPF_STX | BPF_MEM | BPF_W, BPF_REG_10, BPF_REG_8, KEY_AT, 0);
	for (int lookup = 0; lookup < 4; lookup++) {
		/* 0: exact; 1: any major; 2: any minor; 3: both (rule_covers() in the order it was written). */
		n += key_field(&p[n], KEY_MAJOR_AT, CTX_MAJOR, lookup == 1 || lookup == 3);
		n += key_field(&p[n], KEY_MINOR_AT, CTX_MINOR, lookup >= 2);
		p[n++] = insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd);
		p[n++] = insn(0, 0, 0, 0, 0); /* the 64-bit immediate's upper half */
		p[n++] = insn(alu64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
		p[n++] = insn(alu64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, KEY_AT);
		p[n++] = insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
		p[n++] = insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 3, 0); /* no rule: the next look */
		p[n++] = insn(ldx_w, BPF_REG_1, BPF_REG_0, 0, 0); /* the rule's access */
		p[n++] = insn(alu64 | BPF_AND | BPF_X, BPF_REG_1, BPF_REG_7, 0, 0);
		allows[lookup] = n;
		p[n++] = insn(BPF_JMP | BPF_JEQ | BPF_X, BPF_REG_1, BPF_REG_7, 0, 0); /* all of it: allow */
	}
	p[n++] = insn(alu64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (int lookup = 0; lookup < 4; lookup++)
		p[allows[lookup]].off = (int16_t)(n - allows[lookup] - 1);
	p[n++] = insn(alu64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return n;
}

/* The rule map: a hash of VFG_CGROUP_RULES_MAX rules, named so that a later process knows it (prog_inspect). */
static int map_create(const char *dir, vfg_error *err)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_HASH;
	attr.key_size = sizeof(struct vfg_cgroup_rule_key);
	attr.value_size = sizeof(struct vfg_cgroup_rule_value);
	attr.max_entries = VFG_CGROUP_RULES_MAX;
	snprintf(attr.map_name, sizeof(attr.map_name), "%s", VFG_CGROUP_MAP_NAME);
	int fd = (int)bpf_call(BPF_MAP_CREATE, &attr);
	if (fd < 0)
		return vfg_error_set(err, errno, dir, "cannot make vfguard's rule map (BPF_MAP_CREATE%s)",
				     errno == EPERM ? "; before Linux 5.11 a map counts against RLIMIT_MEMLOCK" : "");
	return fd;
}

/* BPF_PROG_LOAD of the program for @map_fd; the verifier's log into @log when given. */
static int program_load_once(int map_fd, char *log, size_t log_size)
{
	static const char license[] = "LGPL-2.1-or-later"; /* no GPL-only helper is called */
	struct bpf_insn program[PROGRAM_INSNS_MAX];
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.expected_attach_type = BPF_CGROUP_DEVICE;
	attr.insn_cnt = (uint32_t)program_write(map_fd, program);
	attr.insns = (uint64_t)(uintptr_t)program;
	attr.license = (uint64_t)(uintptr_t)license;
	snprintf(attr.prog_name, sizeof(attr.prog_name), "%s", VFG_CGROUP_PROG_NAME);
	if (log) {
		attr.log_level = 1;
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = (uint32_t)log_size;
	}
	return (int)bpf_call(BPF_PROG_LOAD, &attr);
}

/*
 * Load the program for @map_fd. When the kernel refuses it, it is loaded
 * again with the verifier's log asked for, only for the reason: the log's
 * last line when that load fails too (the first refusal stands either way).
 */
static int program_load(const char *dir, int map_fd, vfg_error *err)
{
	int fd = vfg_fault("cgroup.v2_load") ? -1 : program_load_once(map_fd, NULL, 0);
	if (fd >= 0)
		return fd;
	int error = errno;
	char log[4096] = "";
	_cleanup_close_ int again = program_load_once(map_fd, log, sizeof(log));
	size_t length = again < 0 ? strnlen(log, sizeof(log) - 1) : 0;
	log[length] = '\0';
	while (length > 0 && log[length - 1] == '\n')
		log[--length] = '\0';
	const char *last = strrchr(log, '\n');
	last = last ? last + 1 : log;
	if (last[0])
		return vfg_error_set(err, error, dir, "cannot load vfguard's device program (the verifier: %s)", last);
	return vfg_error_set(err, error, dir, "cannot load vfguard's device program");
}

static int prog_attach(int prog_fd, int cgroup_fd)
{
	return attach_call(BPF_PROG_ATTACH, prog_fd, cgroup_fd, BPF_F_ALLOW_MULTI);
}

static int prog_detach(int prog_fd, int cgroup_fd)
{
	return attach_call(BPF_PROG_DETACH, prog_fd, cgroup_fd, 0);
}

static int program_attach(const char *dir, int cgroup_fd, const cgroup_rule *base, size_t n_base, cgroup_v2_prog *prog,
			  vfg_error *err)
{
	_cleanup_close_ int map_fd = map_create(dir, err);
	if (map_fd < 0)
		return -1;
	_cleanup_close_ int prog_fd = program_load(dir, map_fd, err);
	if (prog_fd < 0)
		return -1;

	/* The base list first: an empty map would deny the cgroup /dev/null for a moment. */
	if (seed_base(dir, map_fd, base, n_base, err) < 0)
		return -1;
	if (vfg_fault("cgroup.v2_attach") || prog_attach(prog_fd, cgroup_fd) < 0)
		return vfg_error_set(err, errno, dir,
				     "cannot attach vfguard's device program (BPF_F_ALLOW_MULTI; a program attached "
				     "without it here or above refuses others)");

	struct bpf_prog_info info;
	memset(&info, 0, sizeof(info));
	uint32_t len = sizeof(info);
	if (obj_get_info(prog_fd, &info, &len) < 0)
		return vfg_error_set(err, errno, dir, "cannot keep hold of the device program just attached");
	prog->prog_fd = vfg_steal_fd(&prog_fd);
	prog->map_fd = vfg_steal_fd(&map_fd);
	prog->prog_id = info.id;
	return 0;
}

static int program_detach(const char *dir, int cgroup_fd, cgroup_v2_prog *prog, vfg_error *err)
{
	if ((vfg_fault("cgroup.v2_detach") || prog_detach(prog->prog_fd, cgroup_fd) < 0) && errno != ENOENT)
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
	if (map_call(BPF_MAP_LOOKUP_ELEM, map_fd, &key, &value, 0) < 0) {
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
		if ((vfg_fault("cgroup.v2_delete") || map_delete_elem(map_fd, &key) < 0) && errno != ENOENT)
			return vfg_error_set(err, errno, dir, "cannot remove '%s' from vfguard's rule map",
					     cgroup_rule_format(rule, text, sizeof(text)));
		return 0;
	}
	struct vfg_cgroup_rule_value value = {.access = entry->access, .flags = entry->flags};
	if (vfg_fault("cgroup.v2_update") || map_update_elem(map_fd, &key, &value) < 0)
		return vfg_error_set(err, errno, dir, "cannot put '%s' in vfguard's rule map",
				     cgroup_rule_format(rule, text, sizeof(text)));
	return 0;
}

static int map_find_grant(const char *dir, int map_fd, cgroup_rule *grant, bool *any, vfg_error *err)
{
	/*
	 * The walk starts from a key no rule has (type 0): for a key it does not
	 * hold, BPF_MAP_GET_NEXT_KEY gives the first (bpf(2)). A NULL key means
	 * the same to the kernel, but memcheck reads key_size bytes behind it.
	 */
	struct vfg_cgroup_rule_key key = {.type = 0}, next;
	struct vfg_cgroup_rule_value value;
	*any = false;
	while (map_call(BPF_MAP_GET_NEXT_KEY, map_fd, &key, &next, 0) == 0) {
		key = next;
		if (map_call(BPF_MAP_LOOKUP_ELEM, map_fd, &key, &value, 0) == 0 &&
		    (value.flags & VFG_CGROUP_RULE_GRANT)) {
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
		_cleanup_close_ int fd = fd_by_id(BPF_PROG_GET_FD_BY_ID, ids[i]);
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
