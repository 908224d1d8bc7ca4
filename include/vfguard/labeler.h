/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_LABELER_H
#define VFGUARD_LABELER_H

/*
 * The labeler ABI, version 2. A labeler is one security layer (DAC, device
 * cgroup, SELinux, AppArmor, the VM's private /dev, the hypervisor's locked
 * memory): a table of callbacks the core calls, in the configured order,
 * stopping at the first error. A node-scope labeler is called for every
 * device node of a domain; a domain-scope one once per domain. A plugin is a
 * shared module exporting one symbol, VFG_LABELER_SYMBOL, that points at its
 * table; it includes only <vfguard/...> headers and knows nothing of the
 * other labelers.
 *
 * A labeler owns its data: the configuration keys it reads and the domain
 * attributes it takes are declared in its table (the core lists, checks and
 * journals them without knowing what they mean), and what it must remember
 * beyond one change's undo text it keeps through the transaction API as side
 * state (vfg_txn_state_set, vfg_txn_save below), journaled with the domain
 * under the host lock. Nothing durable lives anywhere else.
 *
 * The core refuses a table whose abi_version differs from the one it was
 * built with. Later additions go at the end of vfg_labeler: the table's size
 * field says which the plugin knows, and the core reads what lies past it as
 * absent (NULL), so adding a field is not a break.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <vfguard/error.h>
#include <vfguard/model.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * 2: vfg_probe.note grew from 256 to 1024 bytes (the cgroup labeler names its base list there).
 * 3: ABI v2: the table's size, its configuration keys and domain attributes, domain scope, side state;
 *    a step's texts kept by the core (vfg_step_set), node paths and subjects of VFG_NODE_PATH_MAX.
 */
#define VFG_LABELER_ABI_VERSION 3u
#define VFG_LABELER_SYMBOL "vfg_labeler_v2"

typedef struct vfg_config vfg_config;
typedef struct vfg_json vfg_json; /* the plan's JSON as it is written (vfg_json_begin_object below) */
typedef struct vfg_txn vfg_txn; /* the transaction a grant or revoke journals into */
typedef struct vfg_finding vfg_finding; /* where audit reports what it found (below) */

/* What the core hands a labeler; read-only for it. */
typedef struct vfg_labeler_env {
	const char *root; /* host root prefix, "/" on a real host */
	const vfg_config *config;
	const void *core; /* the core's own: what vfg_env_state_get reads */
} vfg_labeler_env;

/* Build ROOT + @logical_path (which starts with '/') into @buf. */
int vfg_env_host_path(const vfg_labeler_env *env, const char *logical_path, char *buf, size_t size, vfg_error *err);

/* The value of a configuration key (its default when the file does not set it); NULL for an unknown key. */
const char *vfg_config_get(const vfg_config *config, const char *key);

/*
 * A configuration key a labeler owns, declared in its table. Its name starts
 * with the labeler's ("selinux_policy" for selinux), so no two labelers can
 * want the same one. The config file, --set, docs/config.md and
 * vfguard.conf(5) list it from the table.
 */
typedef struct vfg_config_key_def {
	const char *name;
	const char *default_value; /* "" when it has none */
	/* Check a value when the configuration is read; NULL: any value. Names the value and the reason. */
	int (*check)(const char *value, vfg_error *err);
	const char *help; /* one line for people */
} vfg_config_key_def;

/*
 * A domain attribute a labeler takes (the VM's SELinux label, its cgroup):
 * set by name on the domain (vfg_domain_attr_set, `--attr NAME=VALUE`, the
 * hooks), read with vfg_domain_attr, journaled with the domain, opaque to the
 * core. Its full name is "LABELER.NAME": "selinux.label".
 */
typedef struct vfg_attr_def {
	const char *name; /* "label" */
	/* Check a value when it is set; NULL: any printable line. Names the value and the reason. */
	int (*check)(const char *value, vfg_error *err);
	const char *help; /* one line for people */
	/* The field of a version 1 journal's domain line that held it (5..8), so old journals read; 0: none. */
	unsigned journal_v1_field;
	/* Its key in the plan's JSON "domain" object (docs/plan-json.md); NULL: LABELER_NAME. */
	const char *plan_key;
	bool plan_text; /* shown on the text plan's domain line, ", PLAN_KEY VALUE", when set */
} vfg_attr_def;

/* Whether the core calls a labeler for every node of the domain or once for the domain. */
typedef enum vfg_scope {
	VFG_SCOPE_NODE = 0,
	/*
	 * Once per domain, after every node-scope labeler. What a domain-scope
	 * labeler changes is named by a subject its probe chooses
	 * (vfg_probe.subject: "/proc/1234"; "" when there is none yet),
	 * journaled like a node path: plan, grant and audit get a node of
	 * kind VFG_NODE_DOMAIN whose path is that subject, revoke each
	 * record's. Revoke checks a subject read back from the journal
	 * before acting on it.
	 *
	 * Apply first undoes the domain's records of the labeler for another
	 * subject (an earlier process of the domain); then, when the probe is
	 * active, it calls grant, whatever the step says: a subject is a live
	 * process that may have changed since the plan, so grant looks again,
	 * and returns VFG_GRANT_UNCHANGED when nothing needed changing.
	 */
	VFG_SCOPE_DOMAIN,
} vfg_scope;

#define VFG_PROBE_DATA_MAX 2048

/* What a labeler found about the host and domain before planning. */
typedef struct vfg_probe {
	bool active; /* the layer is enforced here and the labeler will act */
	uint32_t flags; /* facts private to the labeler, handed back to its plan */
	char note[1024]; /* one line for people: what was found */
	char subject[VFG_NODE_PATH_MAX]; /* domain scope: what its change acts on (VFG_SCOPE_DOMAIN) */
	/* More private facts, in the labeler's own layout (8-byte aligned): handed back with the probe. */
	uint64_t data[VFG_PROBE_DATA_MAX / sizeof(uint64_t)];
} vfg_probe;

typedef enum vfg_action {
	VFG_ACTION_NONE = 0, /* the layer needs no change for this node */
	VFG_ACTION_GRANT, /* the layer must be changed: detail says how */
	VFG_ACTION_INACTIVE, /* the layer is not enforced on this host: nothing to do */
	VFG_ACTION_REVOKE, /* set by the core: an earlier run's path grant this fd-access node no longer needs */
	/*
	 * The layer cannot be granted here (another device program would deny
	 * what vfguard allows, ...): the reason says what must change. Apply
	 * refuses the whole plan before its first change.
	 */
	VFG_ACTION_REFUSE,
} vfg_action;

/* A step apply carries out: a grant, or taking back a grant the plan no longer needs. */
#define VFG_ACTION_IS_CHANGE(action) ((action) == VFG_ACTION_GRANT || (action) == VFG_ACTION_REVOKE)

const char *vfg_action_name(vfg_action action);

/* The most vfg_step_set keeps of a step's detail and reason, each with its NUL; the rest is cut. */
#define VFG_STEP_DETAIL_MAX 256
#define VFG_STEP_REASON_MAX 512

/*
 * One labeler's decision for one node, filled with vfg_step_set. The core
 * keeps the texts of a plan's steps, each distinct text once: most nodes of
 * a large plan share a labeler's detail and reason. A step a labeler fills
 * for its own use (from {0}) holds them until vfg_step_clear
 * (_cleanup_step_, util.h).
 */
typedef struct vfg_step {
	size_t node; /* index into the plan's nodes */
	size_t labeler; /* index into the plan's labelers */
	vfg_action action;
	const char *detail; /* the change, short: "chown 107:107", "allow c 243:0 rw"; "" when none */
	const char *reason; /* the kernel check that makes it needed or not */
	void *texts; /* what vfg_step_set allocated for the two, which vfg_step_clear frees; NULL in a plan */
} vfg_step;

/* One extended attribute for a private node (vfg_labeler.private_node_xattr). */
#define VFG_XATTR_NAME_MAX 64
typedef struct vfg_node_xattr {
	char name[VFG_XATTR_NAME_MAX]; /* "security.selinux" */
	size_t size; /* the bytes of value setxattr(2) writes (a label with its NUL) */
	char value[VFG_LABEL_MAX];
} vfg_node_xattr;

typedef struct vfg_labeler {
	uint32_t abi_version; /* VFG_LABELER_ABI_VERSION */
	uint32_t size; /* sizeof(vfg_labeler) as the plugin was built: VFG_LABELER_SIZE */
	const char *name; /* "dac": matches the module name vfguard-NAME.so */
	const char *summary; /* one line for --help and the plan's legend */
	vfg_scope scope;
	const char *subject; /* domain scope: what its records name, for messages ("a process (/proc/PID)") */
	const vfg_config_key_def *config_keys; /* ended by an entry whose name is NULL; NULL: none */
	const vfg_attr_def *attributes; /* ended by an entry whose name is NULL; NULL: none */

	/* Is the layer enforced here, and what does the planner need to know? */
	int (*probe)(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err);
	/* Decide the action for one node under node->access. Pure: changes nothing. */
	int (*plan)(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		    vfg_step *step, vfg_error *err);
	/* Make the change planned in @step, journaled in @txn before it is made (domain scope: VFG_SCOPE_DOMAIN). */
	int (*grant)(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		     const vfg_step *step, vfg_txn *txn, vfg_error *err);
	/* Take back what grant did for this domain and node. */
	int (*revoke)(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
		      const vfg_node *node, vfg_txn *txn, vfg_error *err);
	/* Compare the live state with what was granted. */
	int (*audit)(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		     vfg_finding *finding, vfg_error *err);
	/* Later additions go here, and the core checks size before reading them. */

	/*
	 * Domain scope, optional: what the labeler found and would do, in the
	 * plan's outputs. For people, a section after the reasons, @columns
	 * wide (VFG_TEXT_COLUMNS; VFG_TEXT_WIDE: never wrapped); for programs,
	 * the members of the plan JSON's object named after the labeler
	 * (docs/plan-json.md). Both read what the probe found; neither fails.
	 */
	void (*write_plan_text)(const vfg_domain *domain, const vfg_probe *probe, const vfg_step *step, FILE *out,
				unsigned columns);
	void (*write_plan_json)(const vfg_domain *domain, const vfg_probe *probe, const vfg_step *step, vfg_json *json);

	/*
	 * Optional, for durability by batch: the first half of grant. Journal
	 * what undoing @step's change needs (vfg_txn_intent) and any side
	 * state the change depends on, and change nothing. Apply calls it for
	 * each of the labeler's grant steps the domain does not hold yet,
	 * makes all of them durable with one sync, and then calls grant for
	 * each step: grant finds its record (vfg_txn_undo), makes the change
	 * and marks it done (vfg_txn_done; the core does when grant does not).
	 *
	 * What intent journals may depend only on the host as it is before
	 * the apply's first change: never on a change an earlier step of the
	 * same apply makes (another labeler's result on the node, that the
	 * namespace labeler copies), since none is made yet. A labeler whose
	 * undo needs one leaves intent NULL and journals in grant, each
	 * intent made durable before its change on its own.
	 *
	 * Domain scope: called once, with the subject as its node, after the
	 * node-scope labelers' intents; it may journal nothing (the subject
	 * needs no change, or the domain holds its record), and grant then
	 * looks again as it would without intent.
	 */
	int (*intent)(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
		      const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err);

	/*
	 * Optional, for a reboot (docs/boot.md): a record of a domain the
	 * journal kept from an earlier boot (its STATE/boot names another
	 * boot id than the running kernel's). No process of that boot runs
	 * any more, so the domain is released whole: each of its records is
	 * handed here, newest first, in place of revoke. Put back what the
	 * grant changed that outlives a reboot (a file under /etc or
	 * /var/lib, a node on a disk file system), as revoke would; leave
	 * alone what died with the boot and may now be someone else's (a
	 * cgroup of the same path, a node devtmpfs made anew, a reused pid),
	 * and return 0 with nothing changed. @probe is all zero: the probe
	 * is not called, since what it looks at (the domain's pid, its
	 * cgroup) may be another's now. NULL: revoke is called, probed, which
	 * is what a labeler built before this field had.
	 */
	int (*boot_release)(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			    const vfg_node *node, vfg_txn *txn, vfg_error *err);
	/*
	 * Optional: what the labeler keeps outside the journal that outlives
	 * a reboot, marked with the boot id it was made in, is released when
	 * that boot is not @boot_id (the running kernel's): the journal that
	 * would have undone it was lost with the boot (state_dir under /run).
	 * Called once per boot, by the first command that takes the host
	 * lock, after the domains of an earlier boot were released, and by
	 * every vfguard restore. Releases nothing made in @boot_id, nor what
	 * carries no boot id. Returns how many things it released, or -1.
	 */
	int (*boot_sweep)(const vfg_labeler_env *env, const char *boot_id, vfg_error *err);

	/*
	 * Optional, node scope, for fd access where vfguard opens the node
	 * itself (vfg_domain_open_fds: vfguard exec, fds, the library), not
	 * the hypervisor or another manager: the extended attribute a private
	 * node of @node must carry. The core then opens @node through a node
	 * of its own, made with the same rdev in a tmpfs no path reaches,
	 * given each labeler's attribute, opened, and unlinked at once
	 * (docs/private-nodes.md), so the fd carries this domain's label and
	 * the host's node is left as it is. Returns 1 with @xattr filled, 0
	 * when the labeler wants nothing of a private node (its layer is
	 * inactive, or it labels the host node instead), -1 with @err. Called
	 * under the host lock, shared; side state reads as in plan
	 * (vfg_env_state_get). The core asks every labeler, and uses a
	 * private node when at least one of them answers 1; a labeler whose
	 * probe found its layer inactive is not asked.
	 */
	int (*private_node_xattr)(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				  const vfg_node *node, vfg_node_xattr *xattr, vfg_error *err);

	/*
	 * Optional, node scope: is the change a record of @domain's holds
	 * since an earlier apply still in force? @undo is the record's undo
	 * text. Apply asks before it keeps such a step, under the exclusive
	 * lock. 1: in force, kept. 0: the change went with what it was made
	 * on, and something new is there under the same name (a cgroup
	 * removed and made again at the same path: the domain would get
	 * nothing from the new one, and fail closed). The core then undoes the
	 * record with revoke, which must leave the new one alone, and grants
	 * the step again in the same apply; @why (@why_size bytes, "" on
	 * entry) says what is new there, for the apply's notes. -1 with @err.
	 * Changes nothing. NULL: always in force, what a labeler built before
	 * this field had.
	 */
	int (*held_in_force)(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			     const vfg_node *node, const char *undo, char *why, size_t why_size, vfg_error *err);
} vfg_labeler;

#define VFG_LABELER_SIZE ((uint32_t)sizeof(vfg_labeler))

/* A plugin's table is the one symbol it exports. */
#define VFG_LABELER_EXPORT __attribute__((visibility("default")))

/*
 * Callbacks for what a labeler does not do yet: they fail with ENOSYS and
 * say so, never report success, and change nothing.
 */
int vfg_labeler_grant_unimplemented(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				    const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err);
int vfg_labeler_revoke_unimplemented(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				     const vfg_node *node, vfg_txn *txn, vfg_error *err);
int vfg_labeler_audit_unimplemented(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				    const vfg_node *node, vfg_finding *finding, vfg_error *err);

/*
 * Transactions. Every change a labeler makes goes through the journal:
 *
 *	vfg_txn_intent(txn, node, "what undoing needs", err)   durable before the change
 *	... the change, on an fd from vfg_node_open() ...
 *	vfg_txn_done(txn, node, err)                            journaled after it
 *
 * An intent is durable when vfg_txn_intent returns, or, called from the
 * labeler's intent callback, once the core has synced the whole pass, which
 * it does before it calls the first grant. A done mark is not synced on its
 * own: a record whose mark a crash lost is undone all the same, which is
 * why undo must be right whether or not the change happened.
 *
 * A domain holds at most one record per labeler and node: grant writes it,
 * revoke undoes it. The undo text is the labeler's own (one line, printable,
 * no newline), and must let revoke restore the node byte-exactly even when the
 * change itself never happened (a crash between intent and change): undo is
 * always "put back what was there", never "reverse what I did".
 *
 * The core holds a host-wide lock for the whole transaction, so what a
 * labeler reads about other domains (vfg_txn_shared_holders) stays true until
 * it returns. When grant fails, the core calls revoke for every record the
 * transaction made, newest first; after a crash, vfguard restore does the same.
 */
#define VFG_UNDO_MAX 2048 /* bytes of undo text, without the NUL */
int vfg_txn_intent(vfg_txn *txn, const vfg_node *node, const char *undo, vfg_error *err);
int vfg_txn_done(vfg_txn *txn, const vfg_node *node, vfg_error *err);

/*
 * The undo text this labeler journaled for @node in this domain: in revoke
 * never NULL; in a grant, NULL while the domain holds no record for @node.
 */
const char *vfg_txn_undo(const vfg_txn *txn, const vfg_node *node);

/* A line for the user about something revoke left alone on purpose ("... is now 243:5; left alone"). */
void vfg_txn_note(vfg_txn *txn, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * In revoke, when vfg_node_open() refused the node (its error in @why): a
 * node that is gone, or is another file or behind a symlink now, holds
 * nothing of this labeler's grant. That is noted (vfg_txn_note, naming the
 * labeler) and 0 returned: nothing to restore, and the change is not
 * counted as undone. So is @why's errnum ESTALE (vfg_node_boot_gone): a
 * node this boot made anew, whose grant went with an earlier boot. Any
 * other failure is copied to @err and -1 returned.
 */
int vfg_txn_unopened(vfg_txn *txn, const vfg_error *why, vfg_error *err);

/*
 * Who else holds this labeler's grant on a shared node (/dev/vfio/vfio,
 * /dev/iommu). Read the counts as none or some: "some" rests on a holder
 * whose journal was checked (the first, and the first of this uid); the
 * number beyond it is what the holders index lists (docs/journal.md).
 */
typedef struct vfg_shared_holders {
	size_t others; /* other domains holding it */
	size_t others_same_uid; /* of those, how many run as this domain's uid */
	/* The undo text of the domain that granted first: the node as it was before vfguard. NULL when others is 0. */
	const char *original;
} vfg_shared_holders;
void vfg_txn_shared_holders(const vfg_txn *txn, const vfg_node *node, vfg_shared_holders *holders);

/*
 * Side state: what a labeler must remember beyond one change's undo text,
 * kept per domain in the journal under the host lock, so it is exactly as
 * durable and as locked as the changes themselves.
 *
 * An entry is a KEY (printable, no space, at most VFG_STATE_KEY_MAX bytes,
 * the labeler's own: the core never reads it) with a VALUE (one printable
 * line, at most VFG_UNDO_MAX bytes). vfg_txn_state_set and unset make the
 * change durable before they return in grant; in the intent callback, with
 * the pass's intents; in revoke, with the commit, so a revoke changes side
 * state only after the undo it describes (a change a crash lost is made
 * again when the undo is done again). An entry lives until the labeler unsets it, or until
 * the domain holds nothing any more (its last revoke), or, when it was first
 * set in an apply that is undone (a failed grant, a crash), until that undo.
 *
 * One key in several domains is a holder set: the cgroup labeler keys
 * "CGROUP:c10:196" and counts who else holds that cgroup's rule; SELinux
 * keys an MCS pair it allocated, and finds a free pair by asking whether
 * anyone holds it.
 */
#define VFG_STATE_KEY_MAX 1024
int vfg_txn_state_set(vfg_txn *txn, const char *key, const char *value, vfg_error *err);
int vfg_txn_state_unset(vfg_txn *txn, const char *key, vfg_error *err);
/* This domain's value for @key, NULL when it has none. */
const char *vfg_txn_state_get(const vfg_txn *txn, const char *key);
/*
 * How many other domains hold @key for this labeler; the value of the first
 * of them in *@value (when not NULL). None or some, as vfg_shared_holders.
 */
size_t vfg_txn_state_holders(const vfg_txn *txn, const char *key, const char **value);
/* The same, read-only, from plan, probe and audit (the journal as the call began); NULL outside a domain's call. */
const char *vfg_env_state_get(const vfg_labeler_env *env, const vfg_domain *domain, const char *key);
/* vfg_txn_state_holders from there: the domains other than @domain that hold @key; 0 outside a domain's call. */
size_t vfg_env_state_holders(const vfg_labeler_env *env, const vfg_domain *domain, const char *key, const char **value);

/*
 * Saved originals: content of any size (a file vfguard replaces) kept in the
 * journal's store beside the domain's journal, named by its hash. Save it
 * before the change and put the hash (VFG_HASH_STRLEN) in the undo text;
 * vfg_txn_saved reads it back, checked against the hash; it is dropped with
 * the state entry the core makes for it ("saved:HASH") at the labeler's
 * vfg_txn_unsave or when the domain holds nothing any more. The store names
 * content, not uses: saving the same bytes again for the domain keeps the one
 * copy, and one unsave drops it. A labeler whose records share an original
 * unsaves it once, when the last of them has put it back (the AppArmor
 * labeler's rules file), or saves distinct content per use (the node path
 * with it).
 */
#define VFG_HASH_STRLEN 33 /* 32 hex digits and the NUL */
int vfg_txn_save(vfg_txn *txn, const void *content, size_t size, char hash[VFG_HASH_STRLEN], vfg_error *err);
/*
 * The content saved under @hash, checked against it, in *@content
 * (NUL-terminated; free() it): from this domain's store, else from another
 * domain's where this labeler saved it. That is how a holder set's original
 * passes on: its first holder saves it, each later holder (the first
 * holder's hash in the state value vfg_txn_state_holders gives) reads it
 * from there and vfg_txn_save's its own copy, so the last holder has it.
 */
int vfg_txn_saved(const vfg_txn *txn, const char *hash, char **content, size_t *size, vfg_error *err);
int vfg_txn_unsave(vfg_txn *txn, const char *hash, vfg_error *err);

/*
 * Scratch: memory a labeler keeps for as long as the core holds the host
 * lock, which is one plan (the probe and every node's plan), one audit, or
 * one apply, revoke or restore with all its steps; vfg_domain_apply plans
 * and applies in one hold, so there the plan's block is also the apply's
 * (it holds what the host was read to be, under the lock, nothing about
 * which call read it): the place for what would
 * otherwise be read again for every node (a cgroup's device list, the fd of
 * the file its rules are written to). The first call of a hold gives @size
 * zeroed bytes, each later call the same block (@size as the first time).
 * When the lock is let go, @release (when not NULL) gets the block, then it
 * is freed. Nothing durable belongs there: the next hold starts empty and
 * reads the host again. NULL when out of memory, or outside a call from the
 * core; every call of one hold shares the block, grant's and revoke's too.
 */
void *vfg_env_scratch(const vfg_labeler_env *env, size_t size, void (*release)(void *scratch));

/*
 * Open the node as O_PATH|O_NOFOLLOW|O_CLOEXEC, refusing a symlink anywhere
 * below the root, anything but a character device, and an rdev other than
 * node->rdev (the one sysfs gave). Act on the fd (fchownat(fd, "", ...,
 * AT_EMPTY_PATH), /proc/self/fd/N), never on the path again. Returns the fd.
 * err->errnum tells a revoke what it met: ENOENT, no node; EMEDIUMTYPE,
 * another file (type or rdev) at the path; ELOOP or EXDEV, a symlink on the
 * way; anything else, a failure to report.
 */
int vfg_node_open(const vfg_labeler_env *env, const vfg_node *node, vfg_error *err);

/*
 * Audit. The audit callback compares the layer as it is now with what the
 * audited domain holds in it, and reports each difference; it reports nothing
 * when all is as granted. It changes nothing. What the domain holds is the
 * undo text its grant journaled (vfg_finding_record): a node with a record
 * must show the grant, a node without one must not carry this domain's grant.
 * A labeler whose layer has more to check (a policy that would deny what the
 * plan needs, another program that overrides its rule) reports that too.
 */
typedef enum vfg_finding_kind {
	VFG_FINDING_DRIFT = 0, /* the live layer differs from what the journal says was granted */
	VFG_FINDING_MISSING, /* the plan needs a grant the domain does not hold */
	VFG_FINDING_POLICY, /* the policy (loaded, or --policy) would deny what the plan needs */
	VFG_FINDING_CONFLICT, /* something outside vfguard would deny it (another device program, ...) */
	VFG_FINDING_HOST, /* the host itself: IOMMU off, a group not viable, a node's mode */
} vfg_finding_kind;

const char *vfg_finding_kind_name(vfg_finding_kind kind);

/* In audit: the undo text this labeler journaled for @node in the audited domain; NULL when it holds none. */
const char *vfg_finding_record(const vfg_finding *finding, const vfg_node *node);
/* In audit: the audited domain's side state entry @key of this labeler; NULL when it has none. */
const char *vfg_finding_state(const vfg_finding *finding, const char *key);

/*
 * Report one finding about @node (NULL: about the domain or host as a whole):
 * what the domain should see, what is there, and what would fix it (one line
 * each, printable; @fix_fmt names the command, rule or boolean).
 */
void vfg_finding_report(vfg_finding *finding, const vfg_node *node, vfg_finding_kind kind, const char *expected,
			const char *actual, const char *fix_fmt, ...) __attribute__((format(printf, 6, 7)));

/* Domain scope: grant found nothing to change (the subject already has what the step would give it). */
#define VFG_GRANT_UNCHANGED 1

/*
 * The plan's JSON (write_plan_json): a streaming writer that keeps commas,
 * indents and escaping right. @key names the member; NULL inside an array.
 */
void vfg_json_begin_object(vfg_json *json, const char *key);
void vfg_json_end_object(vfg_json *json);
void vfg_json_begin_array(vfg_json *json, const char *key);
void vfg_json_end_array(vfg_json *json);
void vfg_json_string(vfg_json *json, const char *key, const char *value);
void vfg_json_int(vfg_json *json, const char *key, long long value);
void vfg_json_bool(vfg_json *json, const char *key, bool value);
void vfg_json_null(vfg_json *json, const char *key);

/*
 * Fill @step: its action, @detail (NULL: "") and the reason, in place of
 * what it held. 0, or -1 with errno ENOMEM when the texts cannot be kept
 * (the step is left as it was). The short way for plan callbacks.
 */
int vfg_step_set(vfg_step *step, vfg_action action, const char *detail, const char *reason_fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Free the texts of a step a labeler filled itself; the core's steps are never cleared. */
void vfg_step_clear(vfg_step *step);

#ifdef __cplusplus
}
#endif
#endif
