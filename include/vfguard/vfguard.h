/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_VFGUARD_H
#define VFGUARD_VFGUARD_H

/*
 * The library API for hypervisor managers and vfguard's own front ends
 * (docs/library.md; pkg-config vfguard; every function in symbol version
 * VFGUARD_0.1, core/libvfguard.map).
 * All state lives in a context: two contexts share nothing, and one context
 * may be used by one thread at a time.
 */

#include <stdio.h>

#include <vfguard/error.h>
#include <vfguard/labeler.h>
#include <vfguard/model.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct vfg_context vfg_context;

/* The library's version, "MAJOR.MINOR.PATCH": the Version vfguard.pc names. */
const char *vfg_version(void);

/*
 * The library reads no environment variable: the CLI and the hooks fill root
 * and plugin_dir from $VFGUARD_ROOT and $VFGUARD_PLUGIN_DIR; a manager passes
 * what it wants here.
 */
typedef struct vfg_context_options {
	const char *root; /* host root prefix; NULL: "/" */
	const char *config_file; /* NULL: ROOT/etc/vfguard/vfguard.conf when it exists */
	const char *plugin_dir; /* NULL: the config's plugin_dir, else built in */
	/* "KEY=VALUE" strings that override the config file (the CLI's --set), NULL-terminated; NULL for none. */
	const char *const *overrides;
} vfg_context_options;

/* Read the configuration and load the labelers. */
vfg_context *vfg_context_new(const vfg_context_options *options, vfg_error *err);
void vfg_context_free(vfg_context *ctx);
const char *vfg_context_root(const vfg_context *ctx);
const vfg_config *vfg_context_config(const vfg_context *ctx);

/*
 * The configuration keys of @ctx: vfguard's own, then those its labelers
 * declare (labeler.h: vfg_config_key_def), in the order docs/config.md lists
 * them. Key @index, and in *@owner (when not NULL) "vfguard" or the name of
 * the labeler that declares it; NULL past the last. vfg_config_get reads a
 * context's value.
 */
const vfg_config_key_def *vfg_context_config_key(const vfg_context *ctx, size_t index, const char **owner);

/* The domain attributes the labelers of @ctx declare: attribute @index, its labeler in *@owner; NULL past the last. */
const vfg_attr_def *vfg_context_attr(const vfg_context *ctx, size_t index, const char **owner);

/*
 * Set attribute @name ("selinux.label") of @domain, refusing a name no
 * labeler of @ctx declares and a value the labeler's check refuses.
 */
int vfg_context_domain_attr_set(const vfg_context *ctx, vfg_domain *domain, const char *name, const char *value,
				vfg_error *err);

/* Build ROOT + @logical_path into @buf. */
int vfg_host_path(const vfg_context *ctx, const char *logical_path, char *buf, size_t size, vfg_error *err);

/*
 * Parse a hostdev as the CLI takes it: "BDF[,backend=legacy|iommufd]
 * [,access=path|fd][,vf-token=UUID][,managed=yes|no]", where BDF may also be the function's
 * sysfs path (under the root prefix).
 */
int vfg_hostdev_spec_parse(const vfg_context *ctx, const char *text, vfg_hostdev_spec *spec, vfg_error *err);

/*
 * A domain as a manager knows it, in plain values: vfg_domain_new checks
 * every field and parses the hostdevs, so a manager need not fill a
 * vfg_domain and its specs by hand. NULL and "" mean "not given".
 */
typedef struct vfg_domain_description {
	const char *name; /* required: printable, no '/' (vfg_domain_name_check) */
	const char *uuid; /* RFC 4122 */
	uid_t uid; /* the hypervisor process's uid and gid */
	gid_t gid;
	/*
	 * The labelers' attributes, "NAME=VALUE" (vfg_context_attr lists them:
	 * "selinux.label=...", "cgroup.path=/sys/fs/cgroup/..."), NULL-terminated;
	 * NULL for none.
	 */
	const char *const *attributes;
	pid_t pid; /* the hypervisor once it runs; 0 before */
	/* Hostdevs as vfg_hostdev_spec_parse takes them, NULL-terminated: at least one. */
	const char *const *hostdevs;
	uint64_t memory; /* guest RAM in bytes; 0: no locked-memory limit is computed or set */
	bool viommu; /* the guest has a vIOMMU */
	bool ipc_lock; /* the hypervisor holds CAP_IPC_LOCK */
} vfg_domain_description;

/*
 * Check @description and build a vfg_domain that owns its hostdev specs (one
 * allocation: vfg_domain_free frees it). The error names the field or the
 * hostdev at fault. The domain's fields may be changed afterwards (pid, once
 * the hypervisor runs).
 */
int vfg_domain_new(const vfg_context *ctx, const vfg_domain_description *description, vfg_domain **domain,
		   vfg_error *err);
void vfg_domain_free(vfg_domain *domain);

/* Read one PCI function from sysfs. */
int vfg_pci_function_read(const vfg_context *ctx, const vfg_pci_addr *addr, vfg_pci_function *fn, vfg_error *err);

/* Find a hostdev's function, IOMMU group, cdev and backend; fails when the group is not viable. */
int vfg_hostdev_enumerate(const vfg_context *ctx, const vfg_hostdev_spec *spec, vfg_hostdev *hostdev, vfg_error *err);
void vfg_hostdev_clear(vfg_hostdev *hostdev);

/* A function's driver before and after detach or reattach. */
typedef struct vfg_driver_binding {
	vfg_pci_addr addr;
	char original[VFG_DRIVER_MAX]; /* its driver before vfguard detached it, "" for none */
	char driver[VFG_DRIVER_MAX]; /* its driver now, "" for none */
	bool changed; /* this call rebound it */
} vfg_driver_binding;

/*
 * Managed mode. Detach binds the function to @driver (NULL: vfio-pci, else a
 * vfio variant driver) through driver_override, unbind and drivers_probe,
 * after remembering its original driver in the state directory; it refuses a
 * function whose IOMMU group would not be viable, naming the offenders, and
 * undoes itself when the kernel does not bind as asked. Reattach gives the
 * function back to its original driver (or none) and clears the override.
 */
int vfg_pci_detach(vfg_context *ctx, const vfg_pci_addr *addr, const char *driver, vfg_driver_binding *binding,
		   vfg_error *err);
int vfg_pci_reattach(vfg_context *ctx, const vfg_pci_addr *addr, vfg_driver_binding *binding, vfg_error *err);

/*
 * Locked memory (docs/memlock.md). The kernel charges the guest RAM a
 * hypervisor pins for DMA against its RLIMIT_MEMLOCK; vfguard computes the
 * limit a domain needs with one formula (vfg_memlock_compute) and raises the
 * hypervisor's limit to it at apply, journaled, putting the original back at
 * revoke: the built-in labeler "memlock" (memlock/), of domain scope.
 */
typedef struct vfg_memlock_input {
	uint64_t memory; /* guest RAM, bytes */
	size_t legacy_devices; /* hostdevs on type1 containers */
	size_t iommufd_devices; /* hostdevs on iommufd */
	bool viommu; /* the guest has a vIOMMU */
	bool iommufd_per_process; /* iommufd charges the process (RLIMIT_MODE=1), not the uid */
	uint64_t extra; /* config memlock_extra: what else the hypervisor locks (ROMs, MMIO, its own mlock) */
	uint64_t page_size; /* the kernel counts whole pages */
	bool ipc_lock; /* CAP_IPC_LOCK: the kernel checks no limit */
} vfg_memlock_input;

typedef struct vfg_memlock {
	bool computed; /* false when the guest memory is not known (--memory) */
	vfg_memlock_input input;
	uint64_t process_copies; /* copies of guest RAM charged to the hypervisor process (mm->locked_vm) */
	uint64_t user_copies; /* copies charged to its uid, shared with every process of that uid */
	uint64_t required; /* the limit the formula asks for, bytes */
	char formula[512]; /* the arithmetic, for people */
	/* The hypervisor's limit now (plan with a pid): */
	bool live; /* read from the pid */
	uint64_t soft, hard; /* RLIM_INFINITY as UINT64_MAX */
	bool suffices; /* soft and hard >= required, or CAP_IPC_LOCK */
	char note[512]; /* what apply would do, or why it does nothing */
} vfg_memlock;

/* The formula, pure: fills @result from @input; fails only when the sizes overflow 64 bits. */
int vfg_memlock_compute(const vfg_memlock_input *input, vfg_memlock *result, vfg_error *err);

/* A size: a number of bytes, or with a binary unit K, M, G, T (optionally "iB" or "B"): "1G", "512MiB". */
int vfg_size_parse(const char *text, uint64_t *bytes, vfg_error *err);

/* A labeler loaded in the context, with what its probe found for the plan's domain. */
typedef struct vfg_plan_labeler {
	const vfg_labeler *labeler;
	vfg_probe probe;
} vfg_plan_labeler;

/* A domain-scope labeler (labeler.h: VFG_SCOPE_DOMAIN) in the plan: what its probe found, and its one step. */
typedef struct vfg_plan_domain_labeler {
	const vfg_labeler *labeler;
	vfg_probe probe;
	vfg_node subject; /* kind VFG_NODE_DOMAIN, path the probe's subject ("" when none) */
	vfg_step step; /* its node and labeler indexes mean nothing */
} vfg_plan_domain_labeler;

/*
 * Everything vfguard would do for a domain. Steps come in apply order:
 * labeler by labeler in the configured order (the namespace component last,
 * so it copies what the others made of the host node), node by node; then
 * the domain-scope labelers' one step each (the locked-memory limit).
 * The labelers see the domain with each hostdev's backend as resolved.
 */
typedef struct vfg_plan {
	vfg_domain domain; /* hostdevs points into the plan's own copy */
	size_t n_hostdevs;
	vfg_hostdev *hostdevs;
	size_t n_nodes;
	vfg_node *nodes;
	size_t n_labelers; /* the node-scope labelers */
	vfg_plan_labeler *labelers;
	size_t n_steps;
	vfg_step *steps;
	size_t n_domain_labelers;
	vfg_plan_domain_labeler *domain_labelers;
} vfg_plan;

/* The domain's locked-memory limit in @plan, and the hypervisor's now (the memlock labeler's probe). */
const vfg_memlock *vfg_plan_memlock(const vfg_plan *plan);

/*
 * Raise the calling process's RLIMIT_MEMLOCK (soft, and hard when below) to
 * what @plan's formula requires (docs/memlock.md), for a caller that then
 * becomes the hypervisor without CAP_IPC_LOCK (vfguard exec). Nothing when
 * the plan has no guest memory or the soft limit already suffices; never
 * lowers. Raising the hard limit needs CAP_SYS_RESOURCE.
 */
int vfg_memlock_raise_self(const vfg_plan *plan, vfg_error *err);

/* Compute the plan. Changes nothing on the host. */
int vfg_plan_build(vfg_context *ctx, const vfg_domain *domain, vfg_plan **plan, vfg_error *err);
void vfg_plan_free(vfg_plan *plan);

/*
 * Output for people (a table and the reasons) and for programs (docs/plan-json.md).
 * Text is made for a terminal of @columns columns: lines are wrapped and the
 * table shows each layer's change by its first word ("chown", "rule"), in
 * full under the reasons. VFG_TEXT_WIDE: every value in full, nothing wrapped.
 * vfg_plan_write_text and vfg_plan_write_steps_text use VFG_TEXT_COLUMNS.
 */
#define VFG_TEXT_COLUMNS 120u
#define VFG_TEXT_WIDE 0u
int vfg_plan_write_text(const vfg_plan *plan, FILE *out);
int vfg_plan_write_text_width(const vfg_plan *plan, unsigned columns, FILE *out);
int vfg_plan_write_json(const vfg_plan *plan, FILE *out);
/*
 * The steps apply would take, in order: only the changes; then each
 * fd-access hostdev, the nodes the manager opens for it and what every layer
 * grants them or not, and why.
 */
int vfg_plan_write_steps_text(const vfg_plan *plan, FILE *out);
int vfg_plan_write_steps_text_width(const vfg_plan *plan, unsigned columns, FILE *out);
int vfg_plan_write_steps_json(const vfg_plan *plan, FILE *out);

/* What apply, revoke or restore did. */
typedef struct vfg_change_summary {
	size_t changed; /* changes made (apply) or undone (revoke, restore --all) */
	size_t kept; /* apply: grants the domain already held */
	size_t revoked; /* apply: path grants of an earlier run taken back, the node now being fd access */
	size_t recovered; /* unfinished transactions of crashed runs finished first */
	char notes[2048]; /* what was left alone on purpose, one line each */
} vfg_change_summary;

/*
 * Carry out the plan's changes as one transaction, journaled in the state
 * directory under the host lock: claim the hostdevs' IOMMU groups (failing,
 * with nothing changed, when another domain holds one), then each grant step
 * in order. On a failure every change of the transaction is undone, newest
 * first, and the error names the step. @summary may be NULL.
 */
int vfg_plan_apply(vfg_context *ctx, const vfg_plan *plan, vfg_change_summary *summary, vfg_error *err);

/*
 * For each managed hostdev of @domain (managed=yes) not yet prepared: claim
 * its IOMMU group for the domain (refusing one another domain holds) and
 * detach it to vfio-pci, journaled, so that revoke, or restore after a crash,
 * gives it back to its driver. Call it before vfg_plan_build, which needs the
 * function on vfio-pci to find its nodes. Hostdevs not managed are left alone.
 */
int vfg_domain_prepare(vfg_context *ctx, const vfg_domain *domain, vfg_change_summary *summary, vfg_error *err);

/*
 * What `vfguard apply` does, in one call: vfg_domain_prepare (managed
 * hostdevs to vfio-pci), vfg_plan_build, vfg_plan_apply. The plan goes to
 * *@plan (vfg_plan_free it; NULL on failure) for vfg_domain_open_fds and
 * vfg_plan_audit. Applying again, with the same domain or with its pid now
 * known, keeps what the domain holds and adds what the pid makes needed. On a
 * failure the grants are undone; functions prepare detached stay journaled,
 * and vfg_domain_revoke gives them back as at stop.
 */
int vfg_domain_apply(vfg_context *ctx, const vfg_domain *domain, vfg_plan **plan, vfg_change_summary *summary,
		     vfg_error *err);

/* Undo everything domain @name holds and release its groups. A domain that holds nothing: 0, nothing done. */
int vfg_domain_revoke(vfg_context *ctx, const char *name, vfg_change_summary *summary, vfg_error *err);

/* Finish what crashed runs left: undo unfinished applies, complete unfinished revokes; @release_all: revoke every
 * domain too. */
int vfg_restore(vfg_context *ctx, bool release_all, vfg_change_summary *summary, vfg_error *err);

/* The domains the journal holds (@name: only that one, NULL: all): hostdevs, and what each layer granted. */
int vfg_status_write_text(vfg_context *ctx, const char *name, FILE *out, vfg_error *err);
int vfg_status_write_json(vfg_context *ctx, const char *name, FILE *out, vfg_error *err);

/* One thing audit found (labeler.h: vfg_finding_report). */
typedef struct vfg_audit_finding {
	const char *labeler; /* the labeler's name, or "host" */
	vfg_finding_kind kind;
	char path[VFG_PATH_MAX]; /* the node's logical path, "" for the domain or host as a whole */
	char expected[256];
	char actual[256];
	char fix[512];
} vfg_audit_finding;

typedef struct vfg_audit_report {
	char domain[VFG_NAME_MAX];
	size_t n_findings;
	vfg_audit_finding *findings;
	size_t n_skipped; /* labelers that could not audit (their error is a finding of kind HOST) */
} vfg_audit_report;

/*
 * Compare what the plan's domain holds (its journal) with the live host,
 * layer by layer and node by node; every labeler whose probe found its layer
 * active is asked. Changes nothing. A report with no findings means no drift.
 */
int vfg_plan_audit(vfg_context *ctx, const vfg_plan *plan, vfg_audit_report **report, vfg_error *err);
void vfg_audit_report_free(vfg_audit_report *report);
int vfg_audit_write_text(const vfg_audit_report *report, FILE *out);
int vfg_audit_write_json(const vfg_audit_report *report, FILE *out);
/* The host's report (@reports[0]) and every domain's: {"drift": ..., "host": {...}, "domains": [...]}. */
int vfg_audit_write_json_host(const vfg_audit_report *const *reports, size_t n_reports, FILE *out);

/*
 * The fd broker (docs/fds.md). With fd access the manager, not the
 * hypervisor, opens the nodes: vfg_domain_open_fds opens every fd-access
 * node of the plan O_RDWR|O_CLOEXEC, each checked to be the character device
 * sysfs names, and sets iommufd's per-process accounting at once. The fds
 * then go to the hypervisor one of three ways: inherited across exec
 * (vfg_fdset_install), sent over a unix socket (vfg_fdset_send), or taken
 * from the set by the caller itself.
 */

/* What a failed IOMMU_OPTION RLIMIT_MODE=1 means (config key rlimit_mode). */
typedef enum vfg_rlimit_mode {
	VFG_RLIMIT_MODE_REQUIRED = 0, /* an error: nothing stays open */
	VFG_RLIMIT_MODE_WARN, /* a warning in the set; pinned pages stay charged to the user */
	VFG_RLIMIT_MODE_OFF, /* not tried */
} vfg_rlimit_mode;

int vfg_rlimit_mode_parse(const char *text, vfg_rlimit_mode *mode, vfg_error *err);
const char *vfg_rlimit_mode_name(vfg_rlimit_mode mode);

/* Whom the kernel charges for the pages the domain pins for DMA. */
typedef enum vfg_accounting {
	VFG_ACCOUNTING_NONE = 0, /* no fd-access node needs it (no iommufd in the set) */
	VFG_ACCOUNTING_PROCESS, /* iommufd RLIMIT_MODE=1, set and read back: the process that pins */
	VFG_ACCOUNTING_USER, /* iommufd left in RLIMIT_MODE=0 (warn or off): the user, shared by all its VMs */
	VFG_ACCOUNTING_TYPE1, /* legacy type1: always the process (mm->locked_vm) */
} vfg_accounting;

const char *vfg_accounting_name(vfg_accounting accounting);

typedef struct vfg_fd_options {
	/* NULL: the configuration key rlimit_mode (default required). */
	const char *rlimit_mode;
} vfg_fd_options;

/* One open node. */
typedef struct vfg_fd {
	size_t node; /* index into the plan's nodes */
	vfg_node_kind kind;
	char path[VFG_PATH_MAX]; /* logical host path */
	int fd; /* -1 once handed over or closed */
} vfg_fd;

/* A hostdev of the set: which fd is its group or cdev, and its VF token. */
typedef struct vfg_fd_hostdev {
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_backend backend;
	size_t fd; /* index into the set's fds */
	char vf_token[VFG_UUID_STRLEN]; /* "" when none */
} vfg_fd_hostdev;

typedef struct vfg_fdset {
	char domain[VFG_NAME_MAX];
	uid_t uid; /* the hypervisor's: the only peer vfg_fdset_send hands the fds to */
	gid_t gid;
	size_t n_fds;
	vfg_fd *fds; /* in the plan's node order */
	size_t n_hostdevs;
	vfg_fd_hostdev *hostdevs; /* the fd-access hostdevs, in the plan's order */
	vfg_accounting accounting;
	char warnings[1024]; /* one line each, "" when none */
} vfg_fdset;

/*
 * Open the plan's fd-access nodes: /dev/iommu or the container once, each
 * cdev or group once. Only for a domain that holds every hostdev's IOMMU
 * group (vfg_plan_apply first) with the plan's backend and access: a group
 * another domain holds fails (EBUSY) naming that domain, a hostdev the
 * domain does not hold (EPERM) saying to apply first. A group another
 * process holds open fails (EBUSY), naming the group and its hostdevs. On
 * any failure nothing stays open.
 */
int vfg_domain_open_fds(vfg_context *ctx, const vfg_plan *plan, const vfg_fd_options *options, vfg_fdset **fdset,
			vfg_error *err);
/* Close the fds still held (vfguard's own copies). */
void vfg_fdset_close(vfg_fdset *fdset);
/* Close and free. */
void vfg_fdset_free(vfg_fdset *fdset);

/*
 * Send every fd over the connected unix socket @sockfd, in one SCM_RIGHTS
 * message with their description (docs/fds.md), to a peer whose SO_PEERCRED
 * uid is the domain's; another peer is refused (EACCES, naming its pid and
 * uid) and gets nothing. After a successful send the set's own copies are
 * closed.
 */
int vfg_fdset_send(vfg_fdset *fdset, int sockfd, vfg_error *err);

/*
 * For exec: move the fds to @base, @base+1, ... in order, without
 * FD_CLOEXEC, and close every other descriptor from 3 up. 0, 1 and 2 stay.
 */
int vfg_fdset_install(vfg_fdset *fdset, int base, vfg_error *err);
/* The environment the exec'ed command gets (docs/fds.md): "NAME=VALUE" strings, NULL-terminated; free each and the
 * array. The fds must be installed. */
char **vfg_fdset_environment(const vfg_fdset *fdset);

/*
 * Drop every capability: effective, permitted, inheritable, ambient and the
 * bounding set; with @change_id, become @uid:@gid first (no supplementary
 * groups). Read back from the kernel: an error unless none is left.
 */
int vfg_privileges_drop(bool change_id, uid_t uid, gid_t gid, vfg_error *err);

/*
 * The QEMU arguments for the plan's hostdevs when their fd-access nodes are
 * at @fd_base, @fd_base+1, ... in plan order (as vfg_fdset_install puts
 * them). Fails for a legacy hostdev with fd access: QEMU takes pre-opened
 * VFIO fds only with iommufd (docs/fds.md).
 */
int vfg_qemu_args_write_text(const vfg_plan *plan, int fd_base, FILE *out, vfg_error *err);
int vfg_qemu_args_write_json(const vfg_plan *plan, int fd_base, FILE *out, vfg_error *err);

/* How a hostdev's VF token reaches the kernel on its backend, for the plan; NULL when it has none. */
const char *vfg_hostdev_vf_token_method(const vfg_hostdev *hostdev);

/* A domain the journal holds: what its latest transaction was given, its hostdevs from its claims. */
typedef struct vfg_live_domain {
	vfg_domain domain; /* hostdevs points at this entry's own hostdevs */
	size_t n_hostdevs;
	vfg_hostdev_spec *hostdevs; /* address, backend, access, managed; no vf-token (the journal keeps none) */
} vfg_live_domain;

/* The domains the journal holds (@name: only that one, none when it holds nothing; NULL: all), by name. */
int vfg_live_domains(vfg_context *ctx, const char *name, vfg_live_domain **domains, size_t *n_domains, vfg_error *err);
void vfg_live_domains_free(vfg_live_domain *domains, size_t n_domains);

/*
 * The host as every domain needs it: IOMMU groups exist (the IOMMU is on),
 * /dev/vfio/vfio is the VFIO container with rw for its owner, and the IOMMU
 * group of every hostdev of @domains is still viable. A report for "host".
 */
int vfg_host_audit(vfg_context *ctx, const vfg_live_domain *domains, size_t n_domains, vfg_audit_report **report,
		   vfg_error *err);

/* An error as a JSON object {"error": {...}} for --json front ends. */
int vfg_error_write_json(const vfg_error *err, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
