/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_PLUGINS_CGROUP_H
#define VFGUARD_PLUGINS_CGROUP_H

/*
 * What the cgroup labeler's files share. The kernel checks a device node
 * against the opener's cgroup at open and mknod only
 * (devcgroup_inode_permission() -> devcgroup_check_permission() in
 * security/device_cgroup.c): first every BPF device program attached on
 * cgroup2, then, with the v1 devices controller, its exception list. A
 * hybrid host enforces both, so a rule goes into both.
 *
 *   cgroup_probe.c    which cgroups govern the domain (a path, or /proc/PID/cgroup); which it keeps off
 *   cgroup_hold.c     what one hold of the host lock has found: places, refusals, cgroup directories
 *   cgroup_rule.c     a device rule ("c 243:0 rw") and the base list
 *   cgroup_v1.c       v1: devices.list read once, devices.allow/deny written through one fd each
 *   cgroup_v1_libcgroup.c  v1's mount point check, through libcgroup: a module loaded for a v1 write
 *   cgroup_v2.c       v2: vfguard's device program and its map found once per hold, other programs
 *   cgroup_v2_bpf.c   v2's bpf(2) calls and its program: a module the labeler loads for a cgroup2 target
 *   cgroup.c          the labeler: its table, configuration and attributes, probe and plan
 *   cgroup_grant.c    intent, grant, revoke: a node's rule put into each hierarchy, taken back, still in force
 *   cgroup_audit.c    audit: the rules the journal records against the cgroups as they are
 *   cgroup_undo.c     the undo text a grant journals and revoke reads back
 *   cgroup_holders.c  a shared node's holders: the domains of one cgroup that hold its rule
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <vfguard/labeler.h>
#include <vfguard/util.h>

/* probe flags */
enum {
	CGROUP_V1_DEVICES = 1u << 0, /* the v1 devices controller governs the domain */
	CGROUP_V2 = 1u << 1, /* the domain sits in a cgroup2 hierarchy (BPF device programs) */
};

/* The domain's cgroup directories; "" where that hierarchy does not govern it. */
typedef struct cgroup_place {
	char v1[VFG_PATH_MAX]; /* a v1 cgroup with the devices controller */
	char v2[VFG_PATH_MAX]; /* a cgroup2 cgroup */
} cgroup_place;

/*
 * Find the domain's cgroups: the one given (used as it is, never under the
 * root prefix), or the pid's. 0 with @place empty and @why filled when there
 * is none (no cgroup given, or the pid is gone, as at revoke after the VM
 * stopped); -1 with @err on a failure to report.
 */
int cgroup_place_find(const vfg_domain *domain, cgroup_place *place, char *why, size_t size, vfg_error *err);
/*
 * Must the labeler keep off @place? A hierarchy's root cgroup (every process
 * on the host is in it or below), and a cgroup that holds vfguard itself or
 * an ancestor of its cgroup (@own: what vfguard put there would confine its
 * own helpers, the namespace labeler's mknod). 1 with @why naming the
 * cgroups and the reason, 0 when the place is the VM's own, -1 with @err.
 */
int cgroup_place_refusal(const cgroup_place *place, const cgroup_place *own, char *why, size_t size, vfg_error *err);
/* vfguard's own cgroups: those of the calling process (a manager, a hook), for cgroup_place_refusal(). */
int cgroup_place_own(cgroup_place *own, vfg_error *err);
/*
 * Does the cgroup @dir hold @other: 1 it is @other (another spelling
 * too), 2 an ancestor of it, 0 neither; compared by inode up @other's path.
 * -1 with @err when @dir cannot be read.
 */
int cgroup_place_holds(const char *dir, const char *other, vfg_error *err);
/* Where the v1 hierarchy of @controller ("devices"), or cgroup2 (NULL), is mounted; -errno, -ENOENT when not. */
int cgroup_mount_find(const char *controller, char *mountpoint, size_t size);

/* Access bits, the kernel's BPF_DEVCG_ACC_* values (v1 letters m, r, w). */
enum {
	CGROUP_ACC_MKNOD = 1u << 0,
	CGROUP_ACC_READ = 1u << 1,
	CGROUP_ACC_WRITE = 1u << 2,
	CGROUP_ACC_RW = CGROUP_ACC_READ | CGROUP_ACC_WRITE,
};
#define CGROUP_ANY UINT32_MAX /* a wildcard major or minor, '*' */

/* A device rule as devices.allow writes it: "c 243:0 rw", "c 136:* rw", "a *:* rwm". */
typedef struct cgroup_rule {
	char type; /* 'c', 'b', or 'a' (both) */
	uint32_t major; /* or CGROUP_ANY */
	uint32_t minor; /* or CGROUP_ANY */
	unsigned access; /* CGROUP_ACC_* */
} cgroup_rule;

/* The rule a path-access node needs: "c MAJ:MIN rw". */
cgroup_rule cgroup_rule_for_node(const vfg_node *node);
/* Parse "TYPE MAJ:MIN ACCESS"; false when it is not one. */
bool cgroup_rule_parse(const char *text, cgroup_rule *rule);
/* "c 243:0 rw" into @buf (at least 48 bytes). */
char *cgroup_rule_format(const cgroup_rule *rule, char *buf, size_t size);
/* Access letters "rw", "m", or "-" for none (at least 4 bytes). */
char *cgroup_access_format(unsigned access, char *buf);
/* Parse access letters, "-" for none; -1 when not that. */
int cgroup_access_parse(const char *text);
/* Does @rule allow everything @wanted asks for (one rule must cover it all, as match_exception() wants)? */
bool cgroup_rule_covers(const cgroup_rule *rule, const cgroup_rule *wanted);

/* What the base list gives, for people: the plan's note names it before the program is attached. */
typedef struct cgroup_base_report {
	char seeded[512]; /* "/dev/null c 1:3 rw, c 136:* rw" */
	char skipped[384]; /* "/dev/kvm: not on this host (ENOENT), /dev/x: not a device node" */
} cgroup_base_report;
/*
 * The base list (config key cgroup_base_devices): rules and device paths
 * separated by commas. A path the host lacks, or that is no device node, is
 * skipped and named in @report (NULL: not wanted).
 */
/* The config check of cgroup_base_devices: every item a path or a rule that parses. */
int cgroup_base_devices_check(const char *value, vfg_error *err);
int cgroup_base_rules(const vfg_labeler_env *env, cgroup_rule **rules, size_t *n, cgroup_base_report *report,
		      vfg_error *err);

/*
 * v1 (cgroup_v1.c). The devices.list of a cgroup in default-deny mode lists
 * what it allows; in default-allow mode it shows "a *:* rwm" and hides the
 * denied exceptions, so there a rule counts as allowed already.
 */
typedef struct cgroup_v1_state {
	bool allowed; /* some line covers the rule */
	unsigned exact; /* the access of the line with the rule's very type and numbers, 0 when none */
	char covering[48]; /* the line that covers it, for messages */
} cgroup_v1_state;

/* A line of devices.list, in a cgroup_v1_table. */
typedef struct cgroup_v1_line {
	cgroup_rule rule;
	unsigned long order; /* where it is in the list: a later line has a larger one; 0: a free slot */
} cgroup_v1_line;

/*
 * A cgroup's devices.list as one hold of the host lock read it, with every
 * write vfguard made since applied the way the kernel applies it: read once,
 * not once per node. A table by type and numbers (open addressing), so a
 * node's lookup does not walk the list.
 */
typedef struct cgroup_v1_table {
	bool read; /* read in this hold; false: read it at the next look */
	bool allow_all; /* "a *:* rwm": default-allow mode */
	size_t used, slots; /* lines, and the table's size (a power of two) */
	cgroup_v1_line *table;
	unsigned long next_order;
} cgroup_v1_table;
void cgroup_v1_table_forget(cgroup_v1_table *list);

/*
 * v2. vfguard owns one program per cgroup, attached with BPF_F_ALLOW_MULTI,
 * found again through BPF_PROG_QUERY on the cgroup (no bpffs needed) by its
 * name and its map's.
 */
typedef struct cgroup_v2_prog {
	int prog_fd; /* -1 when vfguard has no program on the cgroup */
	int map_fd;
	uint32_t prog_id;
} cgroup_v2_prog;
#define CGROUP_V2_PROG_INIT                 \
	{                                   \
		.prog_fd = -1, .map_fd = -1 \
	}

typedef struct cgroup_v2_entry {
	bool present;
	unsigned access;
	unsigned flags; /* VFG_CGROUP_RULE_* */
} cgroup_v2_entry;

/*
 * libcgroup's part of v1 (cgroup_v1_libcgroup.c): a module of its own,
 * which the labeler loads only when it writes to a v1 cgroup, so that a
 * host on cgroup2 alone never maps libcgroup.
 */
typedef struct cgroup_v1_ops {
	uint32_t size; /* sizeof(cgroup_v1_ops) as the module was built */
	/*
	 * 0 when the cgroup @dir is below the devices hierarchy's mount point,
	 * which goes to @mountpoint (@size bytes); -1 with @err naming @file.
	 */
	int (*hierarchy_check)(const char *dir, const char *file, char *mountpoint, size_t size, vfg_error *err);
	/* The devices hierarchy's mount point into @mountpoint (@size bytes): 0, or -1 with @err when there is none. */
	int (*devices_mount)(char *mountpoint, size_t size, vfg_error *err);
} cgroup_v1_ops;
/* The module's one symbol, a const cgroup_v1_ops. */
#define CGROUP_V1_OPS_SYMBOL "cgroup_v1_libcgroup_ops"

/*
 * The bpf(2) calls (cgroup_v2_bpf.c) and the program they load: a module
 * of its own, which the labeler loads only when a cgroup2 cgroup is the
 * target, so that a host on v1 alone never maps it. @dir names
 * the cgroup in messages.
 */
typedef struct cgroup_v2_ops {
	uint32_t size; /* sizeof(cgroup_v2_ops) as the module was built */
	/* vfguard's program on the cgroup open at @cgroup_fd (prog_fd -1 when none). */
	int (*find)(const char *dir, int cgroup_fd, cgroup_v2_prog *prog, vfg_error *err);
	/* Load the program, seed its map with @base and attach it (BPF_F_ALLOW_MULTI). */
	int (*attach)(const char *dir, int cgroup_fd, const cgroup_rule *base, size_t n_base, cgroup_v2_prog *prog,
		      vfg_error *err);
	/* Detach it and close @prog's fds: the program and map go when the last fd does. */
	int (*detach)(const char *dir, int cgroup_fd, cgroup_v2_prog *prog, vfg_error *err);
	int (*lookup)(const char *dir, int map_fd, const cgroup_rule *rule, cgroup_v2_entry *entry, vfg_error *err);
	/* Put @entry in the map (or delete the rule when !entry->present). */
	int (*update)(const char *dir, int map_fd, const cgroup_rule *rule, const cgroup_v2_entry *entry,
		      vfg_error *err);
	/* A rule of the map that carries VFG_CGROUP_RULE_GRANT, in @grant; *@any false when none does. */
	int (*find_grant)(const char *dir, int map_fd, cgroup_rule *grant, bool *any, vfg_error *err);
	/* cgroup_v2_foreign() of every program acting on the cgroup but @own_id (0: none). */
	int (*foreign)(const char *dir, int cgroup_fd, uint32_t own_id, char *buf, size_t size, vfg_error *err);
} cgroup_v2_ops;
/* The module's one symbol, a const cgroup_v2_ops. */
#define CGROUP_V2_OPS_SYMBOL "cgroup_v2_bpf_ops"

/*
 * What one hold found of a cgroup2 directory (cgroup_v2.c): vfguard's
 * program and map, found once, every map update made through them; the
 * last rule read or written; a rule known to carry a grant while no update
 * took it away (so a revoke need not walk the map for every node); the
 * other programs acting on the cgroup.
 */
typedef struct cgroup_v2_dir {
	const cgroup_v2_ops *ops; /* NULL until cgroup_v2_find() */
	cgroup_v2_prog prog;
	bool last_known;
	cgroup_rule last_rule;
	cgroup_v2_entry last;
	bool grant_known;
	cgroup_rule grant;
	bool foreign_known;
	int n_foreign;
	char foreign[768];
} cgroup_v2_dir;

/*
 * A cgroup directory as one hold of the host lock found it (cgroup_hold.c):
 * opened once, and what vfguard reads there read once, for every node.
 */
typedef struct cgroup_dir {
	char path[VFG_PATH_MAX];
	int fd; /* the directory (O_RDONLY); -1 when it is gone, or no directory */
	bool gone; /* there is nothing at the path (ENOENT) */
	unsigned long long ino; /* the directory's inode (fstat), 0 when there is none: which cgroup of that path */
	unsigned long fs_type; /* statfs(2) f_type: CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, or another */
	struct {
		cgroup_v1_table lines; /* devices.list */
		int allow_fd, deny_fd; /* devices.allow and devices.deny, -1 until the first write */
	} v1;
	cgroup_v2_dir v2;
} cgroup_dir;

/*
 * systemd's path (cgroup_systemd.c, cgroup_systemd_bus.c). A unit with
 * DevicePolicy= or DeviceAllow= has systemd's own device program on its
 * cgroup ('sd_devices', src/core/bpf-devices.c); programs AND, so vfguard
 * cannot grant past it with a program of its own, only through systemd:
 * DeviceAllow= set at run time over D-Bus (SetUnitProperties with
 * runtime=true, as `systemctl set-property --runtime` does). systemd cannot
 * drop one entry, so every change sets the whole list: an empty DeviceAllow=
 * resets it, then the entries are added again (systemd.resource-control(5),
 * "Device Access").
 */
#define CGROUP_SD_UNIT_MAX 256 /* a unit name, with its NUL (UNIT_NAME_MAX is 256 in systemd's unit-name.h) */
#define CGROUP_SD_ACCESS_MAX 4 /* "rwm" */

/* One DeviceAllow= entry: a specifier ("/dev/vfio/12", "char-pts") and its access letters. */
typedef struct cgroup_sd_entry {
	char path[VFG_PATH_MAX];
	char access[CGROUP_SD_ACCESS_MAX];
} cgroup_sd_entry;

/* A unit's device settings as systemd reads them back: the list newest first. */
typedef struct cgroup_sd_devices {
	char policy[16]; /* DevicePolicy: auto, closed or strict */
	size_t n;
	cgroup_sd_entry *entries; /* free() it */
} cgroup_sd_devices;

/*
 * The sd-bus calls (cgroup_systemd_bus.c): a module of its own, which the
 * labeler loads only when systemd's program is met, so that the labeler maps
 * libsystemd's bus only then. @bus is the connection, opened at the first
 * call of a hold and closed with it.
 */
typedef struct cgroup_systemd_ops {
	uint32_t size; /* sizeof(cgroup_systemd_ops) as the module was built */
	/* The unit whose cgroup is @cgroup (below the cgroup2 mount: "/system.slice/x.service"), and that cgroup. */
	int (*unit_by_cgroup)(void **bus, const char *cgroup, char *unit, size_t size, char *unit_cgroup,
			      size_t cgroup_size, vfg_error *err);
	/* The unit's DevicePolicy and DeviceAllow; 0 with *@gone true when systemd has no such unit loaded. */
	int (*devices_get)(void **bus, const char *unit, cgroup_sd_devices *devices, bool *gone, vfg_error *err);
	/* Make the unit's DeviceAllow exactly @entries (newest first), at run time: reset, then add. */
	int (*devices_set)(void **bus, const char *unit, const cgroup_sd_entry *entries, size_t n, vfg_error *err);
	void (*close)(void *bus);
} cgroup_systemd_ops;
/* The module's one symbol, a const cgroup_systemd_ops. */
#define CGROUP_SYSTEMD_OPS_SYMBOL "cgroup_systemd_bus_ops"

/*
 * The unit's original settings as the side state keeps them, one line:
 * "POLICY PATH:ACCESS ...", newest first, each PATH with %XX for bytes
 * outside printable ASCII, space, '%' and ':'. 0, or -1 with @err (too long).
 */
int cgroup_sd_devices_format(const cgroup_sd_devices *devices, char *buf, size_t size, vfg_error *err);
/* Parse it back (free() devices->entries); false when it is not one. */
bool cgroup_sd_devices_parse(const char *text, cgroup_sd_devices *devices);
/* Are the two the same, entry for entry, in order, with the same policy? */
bool cgroup_sd_devices_equal(const cgroup_sd_devices *a, const cgroup_sd_devices *b);
/* The entry for @path in @devices, NULL when it has none. */
const cgroup_sd_entry *cgroup_sd_devices_find(const cgroup_sd_devices *devices, const char *path);
/* Access letters of both, in systemd's order r, w, m, into @out (CGROUP_SD_ACCESS_MAX bytes). */
void cgroup_sd_access_union(const char *a, const char *b, char *out);
/* Letters systemd takes for an entry, each at most once, in its order r, w, m ("" too). */
bool cgroup_sd_access_valid(const char *access);
/* Does @have allow every letter of @wanted? */
bool cgroup_sd_access_covers(const char *have, const char *wanted);
/*
 * The list to set: the original's entries, each widened by what vfguard's
 * holders hold for its path, after the holders' own paths the original lacks
 * (@held, @n_held: paths and access). When no holder holds anything, exactly
 * the original. @out->entries is allocated (free() it); -1 with @err.
 */
int cgroup_sd_devices_wanted(const cgroup_sd_devices *original, const cgroup_sd_entry *held, size_t n_held,
			     cgroup_sd_devices *out, vfg_error *err);
/*
 * Are the foreign programs @foreign (cgroup_v2_foreign()'s lines) systemd's
 * ('sd_devices'), all on one cgroup (into @dir),
 * and any other program attached to a cgroup strictly below that one? Those
 * others' lines into @left ("" when there are none), joined by "; ". A
 * manager that makes a cgroup of its own below its unit's (libvirt's
 * libvirt/, crun's container/) attaches its program there.
 */
bool cgroup_sd_programs_split(const char *foreign, char *dir, size_t dir_size, char *left, size_t left_size);
/* cgroup_foreign_programs = proceed: go on where another device program acts. */
bool cgroup_foreign_allowed(const vfg_labeler_env *env);

/*
 * What one hold of the host lock (labeler.h: vfg_env_scratch) has found:
 * each domain's place and whether it is refused, vfguard's own cgroups,
 * every cgroup directory it has opened, and the modules. A plan finds
 * them once for all its nodes, a transaction once for all its steps; the
 * next hold looks again.
 */
typedef struct cgroup_hold cgroup_hold;
cgroup_hold *cgroup_hold_get(const vfg_labeler_env *env, vfg_error *err);

/* A domain's cgroups as one hold found them. */
typedef struct cgroup_found_place {
	cgroup_place place;
	char why[VFG_PATH_MAX + 64]; /* when the place is empty, why (cgroup_place_find()) */
	/* cgroup_hold.c's own: what the place was found by, and its refusal once asked (-1: not yet) */
	char path[VFG_PATH_MAX];
	pid_t pid;
	int refused;
	char refusal[512];
	/* systemd's path, once asked (cgroup_systemd.c: cgroup_sd_route()): -1 not yet, 0 not taken, 1 taken */
	int systemd;
	char systemd_unit[CGROUP_SD_UNIT_MAX];
	char systemd_cgroup[VFG_PATH_MAX]; /* where systemd's program is attached: the unit's cgroup */
	char systemd_why[512]; /* why the path is not taken, when systemd's program is there */
	/* with the path taken: the other programs, below the unit's cgroup, left to their manager ("": none) */
	char systemd_left[768];
} cgroup_found_place;
/* cgroup_place_find() of the domain, once per hold; NULL with @err. */
cgroup_found_place *cgroup_hold_place(cgroup_hold *hold, const vfg_domain *domain, vfg_error *err);
/* cgroup_place_refusal() of a place cgroup_hold_place() gave, once per hold: 1 with *@why, 0, or -1. */
int cgroup_hold_refusal(cgroup_hold *hold, cgroup_found_place *found, const char **why, vfg_error *err);
/* The directory @path, opened at its first use in the hold (dir->gone: nothing is there); NULL with @err. */
cgroup_dir *cgroup_hold_dir(cgroup_hold *hold, const char *path, vfg_error *err);
/* Another cgroup's write changed the lists below it (the kernel propagates a deny): read them again. */
void cgroup_hold_forget_v1_lists(cgroup_hold *hold, const cgroup_dir *written);
/* The v1 module's calls, loaded at the hold's first need (a write to a v1 cgroup); NULL with @err. */
const cgroup_v1_ops *cgroup_hold_v1_ops(cgroup_hold *hold, vfg_error *err);
/*
 * Is the v1 cgroup @dir below the devices hierarchy's mount point? libcgroup
 * says, once per boot (cgroup_hold.c: the boot's answer); 0, or -1 with @err
 * naming @file, the file about to be written.
 */
int cgroup_hold_v1_hierarchy(cgroup_hold *hold, const cgroup_dir *dir, const char *file, vfg_error *err);
/*
 * At a boot's first command (boot_sweep: vfguard restore --boot, at boot),
 * ask libcgroup where the devices hierarchy is and keep the answer for the
 * running kernel's boot, so that no apply of the boot pays for libcgroup.
 * Nothing when the answer is this boot's already or no cgroup v1 devices
 * hierarchy is mounted; a hint, so it fails silently, and an apply asks then.
 */
void cgroup_hold_v1_prime(cgroup_hold *hold);
/* The v2 module's calls, loaded at the hold's first need (a cgroup2 target); NULL with @err. */
const cgroup_v2_ops *cgroup_hold_v2_ops(cgroup_hold *hold, vfg_error *err);
/* The systemd module's calls, loaded at the hold's first need (systemd's program met); NULL with @err. */
const cgroup_systemd_ops *cgroup_hold_systemd_ops(cgroup_hold *hold, vfg_error *err);
/* The hold's system bus connection, for the systemd module's calls (opened by them, closed with the hold). */
void **cgroup_hold_bus(cgroup_hold *hold);
/* The unit's device settings, read once per hold; *@gone when systemd has no such unit. NULL with @err. */
const cgroup_sd_devices *cgroup_hold_sd_devices(cgroup_hold *hold, const char *unit, bool *gone, vfg_error *err);
/* Make the unit's DeviceAllow @wanted's list (nothing is called when it is that already). */
int cgroup_hold_sd_set(cgroup_hold *hold, const char *unit, const cgroup_sd_devices *wanted, vfg_error *err);

/*
 * The systemd path in a labeler call (cgroup_systemd.c). Does systemd decide
 * for @found's v2 cgroup, with its program alone among the programs acting on it
 * (cgroup_v2_foreign())? 1: found->systemd_unit is the unit; 0: not
 * (found->systemd_why says why when systemd's program is there); -1 with @err.
 */
int cgroup_sd_route(const vfg_labeler_env *env, cgroup_hold *hold, cgroup_found_place *found, vfg_error *err);
/* The DeviceAllow= specifier of @node: its path (/dev/vfio/12). */
int cgroup_sd_node_path(const vfg_labeler_env *env, const vfg_node *node, char *path, size_t size, vfg_error *err);
/*
 * Intent: the unit's original settings (another holder's, this domain's, or
 * systemd's now) and @path's access in them ("-": none) into @token
 * (TOKEN_MAX); then, after the record, cgroup_sd_join() journals that this
 * domain holds @path in the unit and keeps the original.
 */
int cgroup_sd_before(const vfg_txn *txn, cgroup_hold *hold, const char *unit, const char *path, char *token,
		     size_t token_size, char **original, vfg_error *err);
int cgroup_sd_join(vfg_txn *txn, const char *unit, const char *path, const char *original, vfg_error *err);
/* Grant: the original list and every path vfguard's holders hold in the unit, set over D-Bus. */
int cgroup_sd_grant(vfg_txn *txn, cgroup_hold *hold, const char *unit, const char *path, vfg_error *err);
/* Revoke: this domain leaves @path; the list set again without it, the original once nobody holds anything. */
int cgroup_sd_revoke(vfg_txn *txn, cgroup_hold *hold, const char *unit, const char *path, vfg_error *err);
/* Audit: does the unit's DeviceAllow still allow @path rw? A finding when not. */
void cgroup_sd_audit(cgroup_hold *hold, const char *unit, const char *path, const vfg_node *node, vfg_finding *finding);

/* Does the cgroup's devices.list allow @rule, and with what access has it the very line? */
int cgroup_v1_read(cgroup_dir *dir, const cgroup_rule *rule, cgroup_v1_state *state, vfg_error *err);
/*
 * Write "TYPE MAJ:MIN ACCESS" to devices.allow (or, @deny, devices.deny)
 * through the fd the hold keeps open; the lists @hold read take the change
 * as the kernel does.
 */
int cgroup_v1_write(cgroup_hold *hold, cgroup_dir *dir, bool deny, const cgroup_rule *rule, vfg_error *err);
/* The whole devices.list, for audit messages and tests (free() it). */
char *cgroup_v1_list(const char *dir, vfg_error *err);

/*
 * v2 in one hold (cgroup_v2.c). cgroup_v2_find() comes first: it finds
 * vfguard's program on @dir, once per hold (dir->v2.prog.prog_fd -1 when
 * there is none); the others act through what it found.
 */
int cgroup_v2_find(cgroup_hold *hold, cgroup_dir *dir, vfg_error *err);
/* Load the program, seed its map with the base list and attach it. */
int cgroup_v2_attach(const vfg_labeler_env *env, cgroup_dir *dir, vfg_error *err);
/* Detach vfguard's program. */
int cgroup_v2_detach(cgroup_dir *dir, vfg_error *err);
int cgroup_v2_entry_get(cgroup_dir *dir, const cgroup_rule *rule, cgroup_v2_entry *entry, vfg_error *err);
/* Put @entry in the map (or delete the rule when !entry->present). */
int cgroup_v2_entry_set(cgroup_dir *dir, const cgroup_rule *rule, const cgroup_v2_entry *entry, vfg_error *err);
/* Does any rule of the map carry VFG_CGROUP_RULE_GRANT? */
int cgroup_v2_has_grants(cgroup_dir *dir, bool *any, vfg_error *err);
/*
 * Device programs other than vfguard's own on this cgroup that act on it:
 * attached to it or to an ancestor (the kernel runs the effective set). One
 * line per program into @buf: "program 17 'sd_devices' on /sys/fs/cgroup/x";
 * the count is returned, -1 on error.
 */
int cgroup_v2_foreign(cgroup_dir *dir, char *buf, size_t size, vfg_error *err);

/*
 * The undo text (cgroup_undo.c): a record's parts, one a hierarchy, written
 * by a grant and read back only in the form a grant writes.
 */
#define TOKEN_MAX 32

/* One hierarchy's part of the undo text. */
typedef struct undo_part {
	char dir[VFG_PATH_MAX]; /* "" when this hierarchy has no part */
	char token[TOKEN_MAX];
	/*
	 * v1, v2: the cgroup directory's inode at the grant, written after the
	 * token as "@INO"; 0 in a record written before it was. A cgroup
	 * removed and made again at the path (a container of the same id)
	 * has another: its rules are not the grant's (a security trial saw
	 * an old domain's revoke strip a new cgroup's own rules).
	 */
	unsigned long long ino;
} undo_part;

/* sd: DIR is the systemd unit, the token the access of the node's path in its original DeviceAllow ("-": none). */
typedef struct undo_text {
	undo_part v1, v2, sd;
} undo_text;

/*
 * The longest cgroup directory a record names, escaped: a v1 and a v2 part
 * of it, each with its token and inode, fit VFG_UNDO_MAX, and so does a
 * shared node's holders key (VFG_STATE_KEY_MAX). A longer one is refused in
 * the plan (a review found the record cut, or refused by its own rollback).
 */
#define DIR_RECORD_MAX 960

/* @path with %XX for each byte a record's directory escapes, into @out. */
void cgroup_escape_path(const char *path, char *out, size_t size);
/* Does @dir, escaped, fit a record (DIR_RECORD_MAX)? */
bool cgroup_dir_fits_record(const char *dir);
/* @undo as its record's text into @buf; false when the whole text does not fit (@buf then holds a cut one). */
bool cgroup_undo_format(const undo_text *undo, char *buf, size_t size);
/* An absolute path with no empty, "." or ".." component: the cgroup directory a grant found. */
bool cgroup_is_plain_path(const char *path);
/* A token only a grant writes: v1's "allowed" or access letters, v2's "absent" or ACCESS/FLAGS of vfguard's flags. */
bool cgroup_token_is_canonical(const undo_part *part, bool v1);
/* The directory of a record's part is a cgroup of that hierarchy (statfs(2) magic), not any directory. */
int cgroup_undo_part_check_kind(const cgroup_dir *dir, bool v1, const vfg_node *node, vfg_error *err);
/* The record @text into @undo, refused unless it is exactly what a grant writes. */
int cgroup_undo_parse(const char *text, const vfg_node *node, undo_text *undo, vfg_error *err);
/* v2 tokens: "absent" or "ACCESS/FLAGS". */
void cgroup_v2_token_format(const cgroup_v2_entry *entry, char *buf, size_t size);
bool cgroup_v2_token_parse(const char *token, cgroup_v2_entry *entry);

/*
 * A shared node's holders (cgroup_holders.c): each domain that holds the
 * rule of a shared node in a cgroup keeps a side state entry keyed by the
 * cgroup and the rule, its value the token from before the first holder.
 */
#define HOLDERS_KEY_SIZE (VFG_STATE_KEY_MAX + 1)
/* The holders' key of the rule in @dir, "" when @node is not shared (it has no holders) or there is no @dir. */
int cgroup_holders_key(const vfg_node *node, const char *dir, unsigned long long ino, const cgroup_rule *rule,
		       char *key, vfg_error *err);
/*
 * The key a grant in cgroup @dir joins for @node's rule, and in *@ino the
 * inode its record then names. @txn, or @env and @domain outside a
 * transaction (plan).
 */
int cgroup_holders_key_to_join(const vfg_txn *txn, const vfg_labeler_env *env, const vfg_domain *domain,
			       const vfg_node *node, const cgroup_dir *dir, const cgroup_rule *rule, char *key,
			       unsigned long long *ino, vfg_error *err);
/* At grant: the token of a rule others of this cgroup hold already. 1, 0 (none: read it), -1. */
int cgroup_holders_before(const vfg_txn *txn, const char *key, bool v1, char *token, vfg_error *err);
/* This domain holds the rule: durable before the change, so a revoke counts it. */
int cgroup_holders_join(vfg_txn *txn, const char *key, const char *token, vfg_error *err);
/* This domain holds the rule no more: it was restored, or others keep it, or the cgroup is gone. */
int cgroup_holders_leave(vfg_txn *txn, const char *key, vfg_error *err);
/* At revoke: does another domain of this cgroup hold the rule? 1: it stays, and this domain has left; 0; -1. */
int cgroup_holders_others(vfg_txn *txn, const char *key, vfg_error *err);

/*
 * The labeler's callbacks (labeler.h) that cross its files: plan (cgroup.c),
 * intent, grant, revoke and held_in_force (cgroup_grant.c), audit
 * (cgroup_audit.c).
 */
/* "program 17 'sd_devices' on DIR must allow c 243:0 rw too": what another device program must do. */
int cgroup_foreign_message(cgroup_hold *hold, const char *path, const char *rule_text, char *buf, size_t size,
			   vfg_error *err);
int cgroup_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		vfg_step *step, vfg_error *err);
int cgroup_intent(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		  const vfg_step *step, vfg_txn *txn, vfg_error *err);
int cgroup_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		 const vfg_step *step, vfg_txn *txn, vfg_error *err);
int cgroup_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		  vfg_txn *txn, vfg_error *err);
int cgroup_held_in_force(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			 const vfg_node *node, const char *undo_line, char *why, size_t why_size, vfg_error *err);
int cgroup_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		 vfg_finding *finding, vfg_error *err);

#endif
