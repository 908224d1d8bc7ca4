/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_PLUGINS_SELINUX_LABELER_H
#define VFGUARD_PLUGINS_SELINUX_LABELER_H

/*
 * What the SELinux labeler's files share:
 *   selinux.c         probe, plan, and the labeler's table
 *   selinux_labels.c  the domain's labels: given, or a unique MCS pair allocated; kept as side state
 *   selinux_node.c    a node's label on its O_PATH fd: grant, revoke, and the undo text
 *   selinux_policy.c  the binary policy through libsepol: may the domain use the node?
 *   selinux_audit.c   the audit callback: the label against the journal, the policy against the plan
 *   selinux_private.c fd access through private nodes: the label they get, instead of the host node's
 */

#include <stdbool.h>
#include <stddef.h>
#include <unistd.h>

#include <vfguard/labeler.h>
#include <vfguard/util.h>

/* The xattr the kernel keeps a file's label in (XATTR_NAME_SELINUX, include/uapi/linux/xattr.h). */
#define SELINUX_XATTR "security.selinux"

enum {
	SELINUX_PROBE_ENFORCING = 1u << 0,
};

/* ---- labels (selinux_labels.c) ---- */

/* A domain's two labels and where they come from. */
typedef struct selinux_labels {
	char process[VFG_LABEL_MAX]; /* the hypervisor's context: "system_u:system_r:svirt_t:s0:c1,c2" */
	char image[VFG_LABEL_MAX]; /* its exclusive nodes': "system_u:object_r:svirt_image_t:s0:c1,c2" */
	bool allocated; /* vfguard chose the categories (else the domain gave its labels) */
} selinux_labels;

/*
 * The labels the domain gave (--selinux-label, --selinux-image-label), the
 * image label derived from the process label the way libvirt pairs them when
 * only that is given. Returns 1 with @labels set, 0 when the domain gave none.
 */
/* The config check of selinux_mcs_categories: "cLOW.cHIGH", LOW < HIGH <= 1023. */
int selinux_categories_check(const char *value, vfg_error *err);
int selinux_labels_given(const vfg_labeler_env *env, const vfg_domain *domain, selinux_labels *labels, vfg_error *err);

/* The domain's side state key for its labels (selinux_labels.c: ORIGIN PROCESS IMAGE NODE...). */
#define SELINUX_STATE_LABELS "labels"

/*
 * The labels a domain's "labels" entry records: @recorded is its value, as
 * vfg_env_state_get() (plan) or vfg_finding_state() (audit) read it. 1 with
 * @labels set, 0 when @recorded is NULL.
 */
int selinux_labels_recorded(const char *recorded, const vfg_domain *domain, selinux_labels *labels, vfg_error *err);

/*
 * In grant, under the host lock: the domain's labels (the recorded ones;
 * else the given ones; else a fresh MCS pair no live domain has), journaled
 * with @node_path as one of the nodes that carry them. A given label whose
 * categories another live domain holds is refused.
 */
int selinux_labels_hold(const vfg_labeler_env *env, const vfg_domain *domain, const char *node_path, vfg_txn *txn,
			selinux_labels *labels, vfg_error *err);

/* In revoke: @node_path no longer carries the domain's labels; the last one frees them. Idempotent. */
int selinux_labels_release(const vfg_domain *domain, const char *node_path, vfg_txn *txn, vfg_error *err);

/* The labels audit expects for a domain: @recorded (as above), given, or the base types at s0 (1: categories known). */
int selinux_labels_expected(const vfg_labeler_env *env, const vfg_domain *domain, const char *recorded,
			    selinux_labels *labels, vfg_error *err);

/* ---- node labels (selinux_node.c) ---- */

/* The node's label bytes as stored (@len 0 and @present false when it has none). */
typedef struct selinux_label_bytes {
	bool present;
	size_t len;
	char bytes[VFG_LABEL_MAX];
} selinux_label_bytes;

int selinux_node_label_read(const vfg_node_fd *nfd, selinux_label_bytes *label, vfg_error *err);
/* The label as text: its bytes without the one NUL libselinux writes at the end. */
void selinux_label_text(const selinux_label_bytes *label, char *buf, size_t size);

int selinux_intent(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		   const vfg_step *step, vfg_txn *txn, vfg_error *err);
int selinux_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		  const vfg_step *step, vfg_txn *txn, vfg_error *err);
int selinux_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		   vfg_txn *txn, vfg_error *err);

/* "private " and the host node's label at apply: a record of a node opened through private nodes; else NULL. */
const char *selinux_undo_private(const char *undo);

/* ---- private nodes (selinux_private.c) ---- */

/* The config check of selinux_fd_nodes: private or relabel. */
int selinux_fd_nodes_check(const char *value, vfg_error *err);
/* @node has fd access and selinux_fd_nodes is private: vfguard opens it through private nodes of the domain's label. */
bool selinux_fd_private(const vfg_labeler_env *env, const vfg_node *node);
/* The labeler's private_node_xattr (labeler.h): the domain's image label, for an fd-access node in private mode. */
int selinux_private_node_xattr(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			       const vfg_node *node, vfg_node_xattr *xattr, vfg_error *err);

/* ---- the binary policy (selinux_policy.c) ---- */

typedef struct selinux_policy selinux_policy;

/* The policy to check: config selinux_policy, else the loaded one. 0 with *policy NULL when there is none. */
int selinux_policy_open(const vfg_labeler_env *env, selinux_policy **policy, vfg_error *err);
void selinux_policy_close(selinux_policy *policy);

/* One permission the policy denies, and what would allow it. */
typedef struct selinux_denial {
	char permission[32];
	char why[256]; /* "no allow rule", "the MCS constraint ..." */
	char fix[512]; /* "setsebool -P virt_use_vfio on", "allow svirt_t vfio_device_t:chr_file open;" */
} selinux_denial;

/*
 * May @source (a process context) do each of @permissions (NULL-terminated)
 * on @target (an object context) of class @class? Fills up to @max denials
 * and returns how many, or -1 with @err (an unknown type, class or context).
 */
int selinux_policy_check(selinux_policy *policy, const char *source, const char *target, const char *class_name,
			 const char *const *permissions, selinux_denial *denials, size_t max, vfg_error *err);

/* ---- audit (selinux_audit.c) ---- */

int selinux_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		  vfg_finding *finding, vfg_error *err);

#endif
