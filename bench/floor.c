/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * floor: the system calls apply and revoke cannot do without, for the
 * nodes of N legacy hostdevs with path access, DAC and the device cgroup as
 * the only layers. bench/compare times vfguard against it; it is no tool.
 *
 *     floor apply  v1|v2 CGROUP UID:GID NODE...   grant UID:GID the nodes
 *     floor revoke v1|v2 CGROUP UID:GID NODE...   give them back to UID:GID
 *
 * Per node: open O_PATH|O_NOFOLLOW, fstat (a char device, and its number for
 * the rule), fchownat(AT_EMPTY_PATH) unless the mode lets every uid in
 * already (the 0666 container), one rule, close. The rule is one write of
 * "c MAJ:MIN rw" to devices.allow (revoke: devices.deny), opened once, on v1;
 * one BPF_MAP_UPDATE_ELEM (revoke: BPF_MAP_DELETE_ELEM) on v2.
 *
 * v2 also needs, once per transaction: apply creates the rule map, seeds it
 * with the base devices a VM keeps (one BPF_MAP_UPDATE_BATCH), loads a
 * program that looks the device up (exact, then any minor) and attaches it
 * with BPF_F_ALLOW_MULTI; revoke finds the program with BPF_PROG_QUERY, its
 * map through BPF_OBJ_GET_INFO_BY_FD and BPF_MAP_GET_FD_BY_ID, deletes the
 * nodes' rules and detaches it. It reads no sysfs (it is given the nodes),
 * writes no journal and syncs nothing: what it does not do, vfguard does
 * for safety, and the ratio says what that costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

enum { FLOOR_EXIT_FAILED = 1, FLOOR_EXIT_USAGE = 2 };

static const char floor_prog_name[] = "vfg_floor"; /* BPF_OBJ_NAME_LEN is 16 */

/* The map's shape: vfguard's own (plugins/cgroup/cgroup_bpf.h), so both allocate alike. */
enum { FLOOR_RULES_MAX = 8192 };
#define FLOOR_ANY_MINOR 0xffffffffu

struct floor_rule_key {
	uint32_t type; /* BPF_DEVCG_DEV_CHAR */
	uint32_t major;
	uint32_t minor; /* or FLOOR_ANY_MINOR */
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ __attribute__((cleanup(close_fd)))

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "floor: %s %s: %s\n", what, path, strerror(errno));
	return -1;
}

static long bpf_call(enum bpf_cmd cmd, union bpf_attr *attr)
{
	return syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

/* ---- the v2 program, in the kernel's instruction encoding (include/uapi/linux/bpf.h) ---- */

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* r0 = bpf_map_lookup_elem(map, the key at r10 - 12): 5 instructions (helper 1; r10 is the frame pointer). */
static size_t emit_lookup(int map_fd, struct bpf_insn *p)
{
	size_t n = 0;
	p[n++] = insn(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, map_fd);
	p[n++] = insn(0, 0, 0, 0, 0); /* the 64-bit immediate's upper half */
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0);
	p[n++] = insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -12);
	p[n++] = insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
	return n;
}

/*
 * The device program (BPF_PROG_TYPE_CGROUP_DEVICE): the context is struct
 * bpf_cgroup_dev_ctx {access_type = (access << 16) | type, major, minor};
 * it returns 1 when a rule for the device, or for its major with any minor,
 * holds every access bit asked for. r6 and r7 survive the helper calls.
 */
static size_t floor_program(int map_fd, struct bpf_insn *p)
{
	const uint8_t alu64 = BPF_ALU64, ldx_w = BPF_LDX | BPF_MEM | BPF_W, stx_w = BPF_STX | BPF_MEM | BPF_W;
	size_t n = 0;
	p[n++] = insn(alu64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0); /* r6 = ctx */
	p[n++] = insn(ldx_w, BPF_REG_7, BPF_REG_6, 0, 0); /* r7 = access_type */
	p[n++] = insn(alu64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_7, 0, 0);
	p[n++] = insn(alu64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	p[n++] = insn(stx_w, BPF_REG_10, BPF_REG_2, -12, 0); /* key.type */
	p[n++] = insn(ldx_w, BPF_REG_2, BPF_REG_6, 4, 0);
	p[n++] = insn(stx_w, BPF_REG_10, BPF_REG_2, -8, 0); /* key.major */
	p[n++] = insn(ldx_w, BPF_REG_2, BPF_REG_6, 8, 0);
	p[n++] = insn(stx_w, BPF_REG_10, BPF_REG_2, -4, 0); /* key.minor */
	p[n++] = insn(alu64 | BPF_RSH | BPF_K, BPF_REG_7, 0, 0, 16); /* r7 = the access asked for */
	n += emit_lookup(map_fd, p + n);
	/* found: skip the second lookup, the minor-wildcard store and its 5 instructions */
	p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 6, 0);
	p[n++] = insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -4, (int32_t)FLOOR_ANY_MINOR);
	n += emit_lookup(map_fd, p + n);
	p[n++] = insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 5, 0); /* no rule: deny */
	p[n++] = insn(ldx_w, BPF_REG_1, BPF_REG_0, 0, 0); /* the rule's access */
	p[n++] = insn(alu64 | BPF_AND | BPF_X, BPF_REG_1, BPF_REG_7, 0, 0);
	p[n++] = insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_7, 2, 0); /* not all of it: deny */
	p[n++] = insn(alu64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	p[n++] = insn(alu64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return n;
}

/*
 * What a VM keeps before any grant, as vfguard's default cgroup_base_devices:
 * null, zero, full, random, urandom, ptmx, kvm and the pty slaves, with the
 * fixed numbers of Documentation/admin-guide/devices.txt (vfguard reads them
 * from the nodes; /dev/userfaultfd has a dynamic minor and is left out).
 */
static const struct floor_rule_key floor_base[] = {
	{BPF_DEVCG_DEV_CHAR, 1, 3},    {BPF_DEVCG_DEV_CHAR, 1, 5},
	{BPF_DEVCG_DEV_CHAR, 1, 7},    {BPF_DEVCG_DEV_CHAR, 1, 8},
	{BPF_DEVCG_DEV_CHAR, 1, 9},    {BPF_DEVCG_DEV_CHAR, 5, 2},
	{BPF_DEVCG_DEV_CHAR, 10, 232}, {BPF_DEVCG_DEV_CHAR, 136, FLOOR_ANY_MINOR},
};

static const uint32_t floor_rw = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

/* Map, base rules, program, attached: the map's fd, or -1. */
static int v2_attach(int cgroup_fd, const char *dir)
{
	union bpf_attr attr = {.map_type = BPF_MAP_TYPE_HASH,
			       .key_size = sizeof(struct floor_rule_key),
			       .value_size = sizeof(uint32_t),
			       .max_entries = FLOOR_RULES_MAX};
	int map_fd = (int)bpf_call(BPF_MAP_CREATE, &attr);
	if (map_fd < 0)
		return fail("cannot create the rule map for", dir);

	enum { N_BASE = sizeof(floor_base) / sizeof(floor_base[0]) };
	uint32_t values[N_BASE];
	for (size_t i = 0; i < N_BASE; i++)
		values[i] = floor_rw;
	attr = (union bpf_attr){.batch = {.keys = (uintptr_t)floor_base,
					  .values = (uintptr_t)values,
					  .count = N_BASE,
					  .map_fd = (uint32_t)map_fd}};
	if (bpf_call(BPF_MAP_UPDATE_BATCH, &attr) < 0)
		return fail("cannot seed the base rules of", dir), close(map_fd), -1;

	struct bpf_insn program[40];
	size_t n = floor_program(map_fd, program);
	attr = (union bpf_attr){.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE,
				.insn_cnt = (uint32_t)n,
				.insns = (uintptr_t)program,
				.license = (uintptr_t) "LGPL-2.1-or-later"};
	memcpy(attr.prog_name, floor_prog_name, sizeof(floor_prog_name));
	_cleanup_close_ int prog_fd = (int)bpf_call(BPF_PROG_LOAD, &attr);
	if (prog_fd < 0)
		return fail("cannot load the device program for", dir), close(map_fd), -1;

	attr = (union bpf_attr){.target_fd = (uint32_t)cgroup_fd,
				.attach_bpf_fd = (uint32_t)prog_fd,
				.attach_type = BPF_CGROUP_DEVICE,
				.attach_flags = BPF_F_ALLOW_MULTI};
	if (bpf_call(BPF_PROG_ATTACH, &attr) < 0)
		return fail("cannot attach the device program to", dir), close(map_fd), -1;
	return map_fd;
}

/* The floor's program on the cgroup and its map: 0, or -1 (none, or an error). */
static int v2_find(int cgroup_fd, const char *dir, int *prog_fd, int *map_fd)
{
	uint32_t ids[64];
	union bpf_attr attr = {.query = {.target_fd = (uint32_t)cgroup_fd,
					 .attach_type = BPF_CGROUP_DEVICE,
					 .prog_ids = (uintptr_t)ids,
					 .prog_cnt = 64}};
	if (bpf_call(BPF_PROG_QUERY, &attr) < 0)
		return fail("cannot list the device programs of", dir);
	for (uint32_t i = 0; i < attr.query.prog_cnt; i++) {
		union bpf_attr by_id = {.prog_id = ids[i]};
		int fd = (int)bpf_call(BPF_PROG_GET_FD_BY_ID, &by_id);
		if (fd < 0)
			continue;
		uint32_t map_ids[1];
		struct bpf_prog_info info = {.nr_map_ids = 1, .map_ids = (uintptr_t)map_ids};
		union bpf_attr get = {
			.info = {.bpf_fd = (uint32_t)fd, .info_len = sizeof(info), .info = (uintptr_t)&info}};
		if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, &get) == 0 && strcmp(info.name, floor_prog_name) == 0 &&
		    info.nr_map_ids == 1) {
			by_id = (union bpf_attr){.map_id = map_ids[0]};
			*map_fd = (int)bpf_call(BPF_MAP_GET_FD_BY_ID, &by_id);
			if (*map_fd < 0)
				return close(fd), fail("cannot open the rule map of", dir);
			*prog_fd = fd;
			return 0;
		}
		close(fd);
	}
	errno = ENOENT;
	return fail("no floor program on", dir);
}

static int v2_detach(int cgroup_fd, int prog_fd, const char *dir)
{
	union bpf_attr attr = {
		.target_fd = (uint32_t)cgroup_fd, .attach_bpf_fd = (uint32_t)prog_fd, .attach_type = BPF_CGROUP_DEVICE};
	if (bpf_call(BPF_PROG_DETACH, &attr) < 0)
		return fail("cannot detach the device program from", dir);
	return 0;
}

/* ---- the nodes ---- */

struct floor_cgroup {
	bool v2;
	const char *dir;
	int rule_fd; /* v1: devices.allow or devices.deny; v2: the rule map */
};

static int rule_set(const struct floor_cgroup *cg, bool grant, dev_t rdev)
{
	if (!cg->v2) {
		char rule[64];
		int length = snprintf(rule, sizeof(rule), "c %u:%u rw", major(rdev), minor(rdev));
		if (write(cg->rule_fd, rule, (size_t)length) != length)
			return fail(grant ? "cannot write devices.allow of" : "cannot write devices.deny of", cg->dir);
		return 0;
	}
	struct floor_rule_key key = {BPF_DEVCG_DEV_CHAR, major(rdev), minor(rdev)};
	union bpf_attr attr = {.map_fd = (uint32_t)cg->rule_fd, .key = (uintptr_t)&key};
	if (grant)
		attr.value = (uintptr_t)&floor_rw;
	if (bpf_call(grant ? BPF_MAP_UPDATE_ELEM : BPF_MAP_DELETE_ELEM, &attr) < 0)
		return fail("cannot change a rule in the map of", cg->dir);
	return 0;
}

/* Give (apply) or give back (revoke) one node: owner, then the cgroup rule. */
static int node_change(const char *path, uid_t uid, gid_t gid, const struct floor_cgroup *cg, bool grant)
{
	_cleanup_close_ int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return fail("cannot open", path);
	if (!S_ISCHR(st.st_mode)) {
		errno = ENODEV;
		return fail("is no char device:", path);
	}
	bool open_to_all = (st.st_mode & (S_IROTH | S_IWOTH)) == (S_IROTH | S_IWOTH);
	if (!open_to_all && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return fail("cannot chown", path);
	return rule_set(cg, grant, st.st_rdev);
}

static int parse_owner(const char *text, uid_t *uid, gid_t *gid)
{
	unsigned int u, g;
	char end;
	if (sscanf(text, "%u:%u%c", &u, &g, &end) != 2)
		return -1;
	*uid = u;
	*gid = g;
	return 0;
}

int main(int argc, char **argv)
{
	uid_t uid;
	gid_t gid;
	if (argc < 6 || (strcmp(argv[1], "apply") != 0 && strcmp(argv[1], "revoke") != 0) ||
	    (strcmp(argv[2], "v1") != 0 && strcmp(argv[2], "v2") != 0) || parse_owner(argv[4], &uid, &gid) < 0) {
		fputs("Usage: floor apply|revoke v1|v2 CGROUP UID:GID NODE...\n", stderr);
		return FLOOR_EXIT_USAGE;
	}
	bool grant = strcmp(argv[1], "apply") == 0;
	struct floor_cgroup cg = {.v2 = strcmp(argv[2], "v2") == 0, .dir = argv[3], .rule_fd = -1};
	_cleanup_close_ int cgroup_fd = open(cg.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0)
		return fail("cannot open", cg.dir), FLOOR_EXIT_FAILED;

	_cleanup_close_ int prog_fd = -1;
	if (!cg.v2)
		cg.rule_fd = openat(cgroup_fd, grant ? "devices.allow" : "devices.deny", O_WRONLY | O_CLOEXEC);
	else if (grant)
		cg.rule_fd = v2_attach(cgroup_fd, cg.dir);
	else if (v2_find(cgroup_fd, cg.dir, &prog_fd, &cg.rule_fd) < 0)
		return FLOOR_EXIT_FAILED;
	_cleanup_close_ int rule_fd = cg.rule_fd;
	if (rule_fd < 0)
		return cg.v2 ? FLOOR_EXIT_FAILED : (fail("cannot open the rule file of", cg.dir), FLOOR_EXIT_FAILED);

	for (int i = 5; i < argc; i++)
		if (node_change(argv[i], uid, gid, &cg, grant) < 0)
			return FLOOR_EXIT_FAILED;
	if (cg.v2 && !grant && v2_detach(cgroup_fd, prog_fd, cg.dir) < 0)
		return FLOOR_EXIT_FAILED;
	return 0;
}
