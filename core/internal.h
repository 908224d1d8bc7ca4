/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_INTERNAL_H
#define VFGUARD_CORE_INTERNAL_H

/* What the core's files share and nobody outside the library sees. */

#include <vfguard/util.h>
#include <vfguard/vfguard.h>

#include "plan.h" /* the plan's layout and what the outputs ask of it (plan.c) */
#include "vfio_users.h" /* who holds a VFIO node (vfio_users.c) */
#include "records.h" /* the host records a command queues and writes at its end */

#define VFG_EXPORT __attribute__((visibility("default")))

/* Append printf output at @used in @buf; returns the new length, never past size - 1. */
/*
 * @text to quote in a message: whole when short, else its first
 * VFG_EXCERPT_BYTES bytes and "... (N bytes)": an input of megabytes is named
 * by its start, and the reason after it stays in the message.
 */
#define VFG_EXCERPT_BYTES 200
#define VFG_EXCERPT_SIZE (VFG_EXCERPT_BYTES + 48)
const char *vfg_excerpt(const char *text, char buf[VFG_EXCERPT_SIZE]);
size_t vfg_strlcatf(char *buf, size_t size, size_t used, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * vfg_strlcatf(buf, size, used, "%s", text) and (..., "%llu", value) without
 * printf: a journal line of an apply of 1024 hostdevs is built from a dozen
 * such pieces, and at some 800 instructions a printf call they were a fifth
 * of the apply's.
 */
size_t vfg_strlcat(char *buf, size_t size, size_t used, const char *text);
size_t vfg_strlcat_number(char *buf, size_t size, size_t used, unsigned long long value);

/* context.c */
struct vfg_context {
	char root[VFG_PATH_MAX]; /* never ends in '/' unless it is "/" */
	int root_fd; /* root, open O_PATH: every node is opened beneath it (node.c) */
	char plugin_dir[VFG_PATH_MAX]; /* where the labelers were loaded from */
	vfg_config *config;
	vfg_labeler_env env;
	size_t n_labelers;
	const vfg_labeler **labelers;
	void **handles; /* dlopen handles, NULL for built-in labelers */
	struct journal_cache
		*journals; /* core/journal_cache.c: the journals the last host lock read; NULL: none kept */
	host_records records; /* the command under way's records (records.h) */
	/*
	 * The first managed hostdev the command under way could not give back
	 * to its original driver (core/undo.c: release_claim): its claim is
	 * released all the same, its driver record kept for vfguard reattach,
	 * and the command fails with this once the rest is done. "": none.
	 */
	vfg_error reattach_failure;
	/*
	 * vfg_domain_revoke_forgetting under way: domain @forget.domain's
	 * records of the labelers @forget.labelers names (NULL-terminated),
	 * none of them loaded, are dropped without their undo, each told to
	 * @forget.fn (core/undo.c: forget_record). domain NULL: none.
	 */
	struct {
		const char *domain;
		const char *const *labelers;
		vfg_forgotten_fn fn;
		void *data;
	} forget;
	/* vfg_context_set_notice: who is told of a step that may take long (context.h); NULL: nobody. */
	vfg_notice_fn notice;
	void *notice_data;
	/*
	 * Random, drawn when the context is made: what a plan names its context
	 * by (vfg_plan_context_check), since a context made after another is
	 * freed may get its address.
	 */
	uint64_t id;
};

/* Call the context's notice function, if it has one, with @message (one line, starting with @subject). */
void vfg_notify(const vfg_context *ctx, vfg_notice_kind kind, const char *subject, const char *message);

/* core/journal_cache.c: for the context's journals. */
struct journal_cache *journal_cache_new(void);
void journal_cache_free(struct journal_cache *cache);

/* config.c */
vfg_config *vfg_config_new(void);
void vfg_config_free(vfg_config *config);
/* Read KEY = VALUE lines; a missing file is not an error when @optional. */
int vfg_config_load(vfg_config *config, const char *path, bool optional, vfg_error *err);
int vfg_config_set(vfg_config *config, const char *key, const char *value, vfg_error *err);
/*
 * @err is about @key's value: when the caller gave it (vfg_config_set),
 * make "KEY=VALUE" @err's subject (context.h); when a file did, put its file
 * and line in front of the message.
 */
void vfg_config_blame(const vfg_config *config, const char *key, vfg_error *err);
/* The keys a loaded labeler declares (its table), after vfguard's own. */
int vfg_config_declare_labeler(vfg_config *config, const vfg_labeler *labeler, vfg_error *err);
/* Check every setting against the declared keys; @module_exists says whether a labeler module NAME exists. */
int vfg_config_finish(vfg_config *config,
		      int (*module_key)(const char *module, const char *key, const char *value, void *data,
					vfg_error *err),
		      void *data, vfg_error *err);
/* Declared key @index (vfguard's own first), its owner in *@owner; NULL past the last. */
const vfg_config_key_def *vfg_config_key_at(const vfg_config *config, size_t index, const char **owner);

/*
 * util.c: the temporary file a replacement of @path writes first,
 * DIR/.NAME.vfguard-tmp.PID: hidden, so no journal, rules file or state
 * file can have its name (domain and profile names never start with '.').
 * -1 when @path ends in '/' or @buf is too short.
 */
int vfg_file_temporary_path(const char *path, char *buf, size_t size);
/*
 * vfg_file_remove() without its sync of the directory, for a file whose
 * removal nothing needs durable (the journal of a domain that holds
 * nothing: docs/journal.md, "Durability"). 1 unlinked, 0 not there, -1 @err.
 */
int vfg_file_unlink(const char *path, vfg_error *err);

/* plan.c: 0 when @plan was built by @ctx, else -1 with @err saying to @what ("apply") it with that one. */
int vfg_plan_context_check(const vfg_context *ctx, const vfg_plan *plan, const char *what, vfg_error *err);

/* sysfs.c: reading sysfs files the way the kernel writes them. */
int vfg_sysfs_read_line(const char *path, char *buf, size_t size, vfg_error *err);
int vfg_sysfs_read_hex(const char *path, unsigned long max, unsigned long *value, vfg_error *err);
int vfg_sysfs_read_devnum(const char *path, dev_t *rdev, vfg_error *err);
/* The last component of a symlink's target ("vfio-pci" for .../drivers/vfio-pci); ENOENT: buf = "". */
int vfg_sysfs_link_name(const char *path, char *buf, size_t size, vfg_error *err);
/*
 * The same for attribute @name of the directory open as @dirfd (one lookup
 * instead of the whole path's); @dir, that directory's path, is for messages.
 */
int vfg_sysfs_read_line_at(int dirfd, const char *dir, const char *name, char *buf, size_t size, vfg_error *err);
int vfg_sysfs_read_hex_at(int dirfd, const char *dir, const char *name, unsigned long max, unsigned long *value,
			  vfg_error *err);
int vfg_sysfs_read_devnum_at(int dirfd, const char *dir, const char *name, dev_t *rdev, vfg_error *err);
/* The same from the attribute open as @fd, @path naming it in messages; @fd -1 reports the open's errno. */
int vfg_sysfs_read_devnum_fd(int fd, const char *path, dev_t *rdev, vfg_error *err);
int vfg_sysfs_link_name_at(int dirfd, const char *dir, const char *name, char *buf, size_t size, vfg_error *err);

/* The sysfs directories a plan looks up each hostdev's files in (vfg_host_nodes). */
typedef enum vfg_sysfs_dir {
	VFG_SYSFS_PCI_DEVICES, /* /sys/bus/pci/devices: BDF */
	VFG_SYSFS_IOMMU_GROUPS, /* /sys/kernel/iommu_groups: N/devices */
	VFG_SYSFS_CLASS_VFIO, /* /sys/class/vfio: N/dev, the group node's number */
	VFG_SYSFS_DIRS
} vfg_sysfs_dir;

/*
 * enumerate.c: what enumeration finds about the host as a whole, which every
 * hostdev of a plan shares, so it is looked at once: whether each file
 * exists (1), not (0), or is not looked at yet (-1).
 */
typedef struct vfg_host_nodes {
	signed char container_sysfs; /* /sys/class/misc/vfio/dev */
	signed char iommu_sysfs; /* /sys/class/misc/iommu/dev */
	signed char iommu_node; /* /dev/iommu */
	/* The last hostdev's group node, /sys/class/vfio/N/dev as enumeration read it, for the plan's node. */
	bool group_node_read;
	unsigned group_node_group;
	dev_t group_node_rdev;
	/* A group an earlier hostdev of the same plan read, or NULL: its members are not read again (plan.c). */
	const vfg_iommu_group *(*group_read_before)(const void *data, unsigned number);
	const void *group_data;
	/*
	 * The sysfs directories every hostdev's lookups start in, each opened
	 * (O_PATH) the first time one is needed, -1 before: a plan walks the
	 * root's and sysfs's components once, not three times per hostdev.
	 * (Issue 18: path walks are a fifth of an apply's time, but mostly in
	 * each hostdev's own entries, which stay; this took 7% off a plan of
	 * 1024 hostdevs.)
	 */
	int sysfs_dirs[VFG_SYSFS_DIRS];
} vfg_host_nodes;
#define VFG_HOST_NODES_UNKNOWN \
	((vfg_host_nodes){.container_sysfs = -1, .iommu_sysfs = -1, .iommu_node = -1, .sysfs_dirs = {-1, -1, -1}})
/* Close the directories @host opened; it is VFG_HOST_NODES_UNKNOWN's again but for what it found. */
void vfg_host_nodes_release(vfg_host_nodes *host);
/*
 * Open @name (relative: "BDF", "N/devices", "N/dev") with @flags in the sysfs
 * directory @which, through @host's fd for it (opened now when it is not
 * yet), or through the whole path when @host is NULL or the directory
 * cannot be opened, so that the open itself reports what is missing. @path
 * gets ROOT + the directory + "/" + @name, for messages. The fd; -1 with
 * errno when the open fails (@path filled); -2 with @err when the path does
 * not fit in @size (@path then unusable).
 */
int vfg_host_sysfs_open(const vfg_context *ctx, vfg_host_nodes *host, vfg_sysfs_dir which, const char *name, int flags,
			char *path, size_t size, vfg_error *err);
/* vfg_hostdev_enumerate, with what is known of the host in @host (VFG_HOST_NODES_UNKNOWN at first). */
int vfg_hostdev_enumerate_on(const vfg_context *ctx, vfg_host_nodes *host, const vfg_hostdev_spec *spec,
			     vfg_hostdev *hostdev, vfg_error *err);
/* enumerate.c, for mdev.c too: the vfio cdev under the device's directory (function.vfio_dev said it has vfio-dev/). */
int vfg_hostdev_read_cdev(int dirfd, const char *dir, vfg_hostdev *hostdev, vfg_error *err);
/* The backend that serves the enumerated hostdev (spec.backend, or the host's choice for auto). */
int vfg_hostdev_choose_backend(const vfg_context *ctx, vfg_host_nodes *host, vfg_hostdev *hostdev, vfg_error *err);
/* enumerate.c: the number a device's iommu_group link (in @dir, open as @dirfd) ends in; @found false without one. */
int vfg_iommu_group_link_read(int dirfd, const char *dir, unsigned *number, bool *found, vfg_error *err);
/* mdev.c: vfg_hostdev_enumerate_on for a spec naming an mdev. */
int vfg_mdev_enumerate_on(const vfg_context *ctx, vfg_host_nodes *host, const vfg_hostdev_spec *spec,
			  vfg_hostdev *hostdev, vfg_error *err);
/* mdev.c: the mdev named by "mdev=UUID" or "/sys/bus/mdev/devices/UUID" (@device), its UUID into @spec->mdev. */
int vfg_mdev_spec_parse(const char *device, vfg_hostdev_spec *spec, vfg_error *err);
/* mdev.c: is @device the way an mdev is named ("mdev=..." or under /sys/bus/mdev/devices/)? */
bool vfg_mdev_spec_named(const char *device);
/* mdev.c: for hostdev @name "mdev:UUID" (vfg_hostdev_name()), its sysfs directory into @buf; false for another name. */
bool vfg_mdev_sysfs_dir(const char *name, char *buf, size_t size);
/* enumerate.c: the IOMMU group of a function, and whether userspace may own it. */
int vfg_iommu_group_read(const vfg_context *ctx, const vfg_pci_addr *addr, vfg_iommu_group *group, vfg_error *err);
/* Every member but @addr is bound to a driver that lets userspace own the group's DMA (or to none). */
int vfg_iommu_group_check_viable(const vfg_iommu_group *group, const vfg_pci_addr *addr, vfg_error *err);
/* The same, as it will be once the functions in @moving (@addr's among them) are bound to a vfio driver. */
int vfg_iommu_group_check_viable_after(const vfg_iommu_group *group, const vfg_pci_addr *addr,
				       const vfg_pci_addr *moving, size_t n_moving, vfg_error *err);
/* vfio-pci or a variant driver (NAME_vfio_pci), known by name. */
bool vfg_driver_is_vfio(const char *driver);

/* vfg_domain_prepare, also saying whether the domain held nothing before it (apply.c). */
int vfg_domain_prepare_fresh(vfg_context *ctx, const vfg_domain *domain, vfg_change_summary *summary,
			     bool *held_nothing, vfg_error *err);
/* vfg_plan_apply, also saying on a failure whether the apply had committed (its change complete). */
int vfg_plan_apply_committed(vfg_context *ctx, const vfg_plan *plan, vfg_change_summary *summary, bool *committed,
			     vfg_error *err);
/* vfg_plan_build and vfg_plan_apply_committed in one exclusive hold; the plan, even failed, in *@result. */
int vfg_domain_plan_apply(vfg_context *ctx, const vfg_domain *domain, vfg_plan **result, vfg_change_summary *summary,
			  bool *committed, vfg_error *err);
/* Bound to a vfio driver: by its vfio-dev/ directory, or by the driver's name. */
bool vfg_pci_function_on_vfio(const vfg_pci_function *fn);
/*
 * driver.c: vfg_pci_detach and vfg_pci_reattach without the host lock and
 * the check that no domain claims the function's group, for a domain's own
 * prepare and revoke, which hold the lock and the claim.
 */
int vfg_pci_detach_unlocked(vfg_context *ctx, const vfg_pci_addr *addr, const char *driver, bool check_viable,
			    vfg_driver_binding *binding, vfg_error *err);
/*
 * vfg_pci_reattach_unlocked sets *@given_back (may be NULL) once the function
 * is on its original driver, also when dropping its record then fails, and
 * *@unrecorded (may be NULL) when it failed for want of a driver record:
 * vfguard did not detach it, there is nothing to give back. Only that says
 * so: its errnum ENOENT may also be a failed bind's (a probe's -ENOENT).
 */
int vfg_pci_reattach_unlocked(vfg_context *ctx, const vfg_pci_addr *addr, vfg_driver_binding *binding, bool *given_back,
			      bool *unrecorded, vfg_error *err);
/*
 * driver.c: drop the record of @addr's original driver (STATE/drivers/BDF)
 * without a reattach, for a detach of a boot that is over; *@dropped says
 * whether there was one.
 */
int vfg_pci_driver_record_drop(const vfg_context *ctx, const vfg_pci_addr *addr, bool *dropped, vfg_error *err);
/*
 * driver.c: the nodes through which userspace may hold hostdev @name (as
 * vfg_hostdev_name() writes it: a PCI function's address, or an mdev's
 * "mdev:UUID"): its group's and its cdev's, as sysfs numbers them (those it
 * does not show are left out); how many.
 */
size_t vfg_hostdev_vfio_nodes(const vfg_context *ctx, const char *name, vfg_vfio_node_ref nodes[2]);

/* statefile.c: files under the state directory, replaced atomically and durably. */
/* ROOT + state_dir + "/" + @relative (which may be ""). */
int vfg_state_path(const vfg_context *ctx, const char *relative, char *buf, size_t size, vfg_error *err);
/*
 * mkdir -p ROOT + state_dir + "/" + @relative, mode 0700 for what it creates;
 * from the state directory down each directory must pass vfg_state_check().
 */
int vfg_state_mkdir(const vfg_context *ctx, const char *relative, vfg_error *err);
/* Is what @fd (opened from @path) a file or directory (@directory) that only root can have written? */
int vfg_state_check(int fd, const char *path, bool directory, vfg_error *err);
/*
 * open(@path, @flags | O_NOFOLLOW | O_CLOEXEC, 0600) and vfg_state_check() it:
 * the fd, -ENOENT (no error set) when there is no such file, or -1.
 */
int vfg_state_open(const char *path, int flags, bool directory, vfg_error *err);
/* The same, with what fstat said of the file in *@st (not NULL). */
int vfg_state_open_stat(const char *path, int flags, bool directory, struct stat *st, vfg_error *err);
/* vfg_state_open() the directory @path and list it: 0 with *@dir (closedir() it), -ENOENT (no error set), or -1. */
int vfg_state_opendir(const char *path, DIR **dir, vfg_error *err);
/* vfg_state_open() the state directory and each directory from it down to @relative: 0, -ENOENT or -1. */
int vfg_state_check_directories(const vfg_context *ctx, const char *relative, vfg_error *err);
/* vfg_file_read_all() of a file of the state directory, opened and checked by vfg_state_open(). */
int vfg_state_read_all(const char *path, char **content, size_t *size, vfg_error *err);
/* The whole file, NUL-terminated, in *@content (free() it); ENOENT is returned as -ENOENT with no error set. */
int vfg_file_read_all(const char *path, char **content, size_t *size, vfg_error *err);

/* node.c: what a stat's file type is called in messages ("a regular file", "a character device"). */
const char *vfg_file_type_name(mode_t mode);
/* node.c: a /dev node checked against the rdev sysfs gives it. */
int vfg_node_inspect(const vfg_context *ctx, vfg_node *node, vfg_error *err);
/*
 * vfg_node_inspect(), and the O_PATH fd it checked the node through in *@kept
 * when its number is below @keep_below, else -1 there (the fd closed).
 */
int vfg_node_inspect_keep(const vfg_context *ctx, vfg_node *node, int keep_below, int *kept, vfg_error *err);
/*
 * The fd numbers below which vfg_node_inspect_keep may keep fds: the soft
 * RLIMIT_NOFILE less a margin. vfguard never raises the limit (its caller's
 * to set: a select() user needs its fds below 1024), so above that the nodes
 * are opened again.
 */
int vfg_node_keep_below(void);
/* Open ROOT + logical path with O_PATH, refusing a symlink anywhere below the root. */
int vfg_node_open_path(const vfg_context *ctx, const char *logical_path, vfg_error *err);
/* vfg_node_open(), and the fstat() that checked the node in @st. */
int vfg_node_open_stat(const vfg_labeler_env *env, const vfg_node *node, struct stat *st, vfg_error *err);
/* Open a checked node O_RDWR|O_CLOEXEC (the fd broker); the open's errno (EBUSY for a held group) is in err. */
int vfg_node_open_device(const vfg_context *ctx, const vfg_node *node, vfg_error *err);
/* Check the host's node as vfg_node_open_device does, and open nothing; its path under the root in @real. */
int vfg_node_check_host(const vfg_context *ctx, const vfg_node *node, char *real, size_t size, vfg_error *err);

/* text_store.c: a set of strings, each kept once (a plan's step texts). */
typedef struct vfg_text_store vfg_text_store;
vfg_text_store *vfg_text_store_new(void);
void vfg_text_store_free(vfg_text_store *store);
/* The store's copy of @text, added when it has none yet; NULL when out of memory. */
const char *vfg_text_store_add(vfg_text_store *store, const char *text);
/* FNV-1a of @size bytes of @data, 64 bits: for hash tables, never for names that persist. */
uint64_t vfg_hash_bytes(const void *data, size_t size);

/* text.c: lines for people, wrapped to a width (VFG_TEXT_COLUMNS; VFG_TEXT_WIDE, 0: never wrapped). */
/* The columns the first @bytes of @text take: UTF-8 characters, each one column. */
size_t vfg_text_columns(const char *text, size_t bytes);

/*
 * The hostdevs @domain's journal claims that its own list does not name (an
 * apply that hot-plugs one names only that one; revoke and audit see the
 * domain as journaled, with no list): how many on each backend, and how many
 * iommufd ones have path access. All zero outside a domain's call (plan,
 * probe, audit) or for a domain that holds nothing. For the built-in memlock
 * labeler, whose limit covers every hostdev the domain holds.
 */
typedef struct vfg_held_hostdevs {
	size_t legacy, iommufd, iommufd_path;
} vfg_held_hostdevs;
void vfg_env_held_hostdevs(const vfg_labeler_env *env, const vfg_domain *domain, vfg_held_hostdevs *held);
/*
 * @text (one line, no newline) as lines of at most @width columns, broken at
 * spaces; a word wider than a line is cut. Lines after the first start with
 * @hanging spaces. Ends with a newline.
 */
void vfg_text_wrap(FILE *out, size_t width, size_t hanging, const char *text);
void vfg_text_printf(FILE *out, size_t width, size_t hanging, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* namespace/namespace_labeler.c: the built-in labeler that runs last. */
extern const vfg_labeler vfg_namespace_labeler;

/* The optional @field of a labeler's table, NULL when its table ends before it (labeler.h: size). */
#define VFG_LABELER_OPTIONAL(labeler, field) \
	((labeler)->size >= offsetof(vfg_labeler, field) + sizeof((labeler)->field) ? (labeler)->field : NULL)

/* json.c: a small streaming writer (labeler.h declares its functions); keeps commas and escaping right. */
struct vfg_json {
	FILE *out;
	int depth;
	bool need_comma;
};
/* The domain, hostdevs and nodes of a plan, shared by the plan and steps outputs. */
void vfg_json_write_plan_head(vfg_json *json, const vfg_plan *plan);

#endif
