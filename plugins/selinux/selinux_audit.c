/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Audit: the node's label against what the journal says the domain holds,
 * then, with a binary policy (the loaded one or config selinux_policy), what
 * the policy would deny the domain:
 *   path access: open, read, write, ioctl on the node's label (chr_file):
 *                the hypervisor opens the node (selinux_file_open()) and
 *                every ioctl is checked (selinux_file_ioctl());
 *   fd access:   read, write, ioctl on the node's label, which the kernel
 *                checks when the fd is received (selinux_file_receive() ->
 *                file_has_perm()), and fd use from the manager's domain
 *                (fd_has_perm(): the fd's owner is the process that opened it);
 *   a cdev also: map, as the cdev's fd is the device fd the hypervisor maps
 *                the device's regions from (selinux_mmap_file()).
 * All in security/selinux/hooks.c.
 */
#include <errno.h>
#include <selinux/selinux.h>
#include <stdio.h>
#include <string.h>

#include "selinux_labeler.h"

#define SELINUX_DENIALS_MAX 8

static void report_denials(vfg_finding *finding, const vfg_node *node, const char *source, const char *target,
			   const char *class_name, const selinux_denial *denials, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char expected[256], actual[256];
		snprintf(expected, sizeof(expected), "%s may %s %s (%s)", source, denials[i].permission, target,
			 class_name);
		snprintf(actual, sizeof(actual), "denied: %s", denials[i].why);
		vfg_finding_report(finding, node, VFG_FINDING_POLICY, expected, actual, "%s", denials[i].fix);
	}
}

/* The manager's context: config selinux_manager_label, else this process's own. 0 when neither is known. */
static int manager_label(const vfg_labeler_env *env, char *buf, size_t size)
{
	const char *configured = vfg_config_get(env->config, "selinux_manager_label");
	if (configured[0]) {
		snprintf(buf, size, "%s", configured);
		return 1;
	}
	char *self = NULL;
	if (is_selinux_enabled() <= 0 || getcon_raw(&self) < 0)
		return 0;
	snprintf(buf, size, "%s", self);
	freecon(self);
	return 1;
}

static int audit_policy(const vfg_labeler_env *env, const selinux_labels *labels, const char *target,
			const vfg_node *node, vfg_finding *finding, vfg_error *err)
{
	selinux_policy *policy;
	if (selinux_policy_open(env, &policy, err) < 0)
		return -1;
	if (!policy)
		return 0; /* no loaded policy and none named: nothing to ask */

	static const char *const path_permissions[] = {"open", "read", "write", "ioctl", NULL};
	static const char *const fd_permissions[] = {"read", "write", "ioctl", NULL};
	static const char *const cdev_path_permissions[] = {"open", "read", "write", "ioctl", "map", NULL};
	static const char *const cdev_fd_permissions[] = {"read", "write", "ioctl", "map", NULL};
	static const char *const fd_use[] = {"use", NULL};
	bool by_fd = node->access == VFG_ACCESS_FD;
	selinux_denial denials[SELINUX_DENIALS_MAX];
	bool cdev = node->kind == VFG_NODE_CDEV;
	const char *const *permissions = cdev ? (by_fd ? cdev_fd_permissions : cdev_path_permissions)
					      : (by_fd ? fd_permissions : path_permissions);
	int n = selinux_policy_check(policy, labels->process, target, "chr_file", permissions, denials,
				     SELINUX_DENIALS_MAX, err);
	if (n >= 0)
		report_denials(finding, node, labels->process, target, "chr_file", denials, (size_t)n);

	char manager[VFG_LABEL_MAX];
	if (n >= 0 && by_fd) {
		if (!manager_label(env, manager, sizeof(manager))) {
			vfg_finding_report(
				finding, node, VFG_FINDING_HOST, "the manager's domain, to check fd use",
				"unknown: SELinux is not enabled in this process",
				"set selinux_manager_label to the context of the process that opens the nodes");
		} else {
			n = selinux_policy_check(policy, labels->process, manager, "fd", fd_use, denials,
						 SELINUX_DENIALS_MAX, err);
			if (n >= 0)
				report_denials(finding, node, labels->process, manager, "fd", denials, (size_t)n);
		}
	}
	selinux_policy_close(policy);
	return n < 0 ? -1 : 0;
}

/*
 * selinux_fd_nodes = private: the host node must be as it was. A record
 * says what it was at apply ("private LABEL"); a node with none (a shared
 * node, or one the domain holds no grant on) must not carry the domain's
 * image label.
 */
static void audit_private_label(const vfg_node *node, const char *image, bool categories_known, const char *actual,
				vfg_finding *finding)
{
	const char *was = selinux_undo_private(vfg_finding_record(finding, node));
	char before[VFG_LABEL_MAX + 16] = "";
	if (was && strcmp(was, "none") == 0)
		snprintf(before, sizeof(before), "(no label)");
	else if (was && strncmp(was, "label=", 6) == 0) {
		char bytes[VFG_LABEL_MAX];
		ssize_t n = vfg_percent_decode(was + 6, bytes, sizeof(bytes) - 1);
		if (n > 0 && bytes[n - 1] == '\0')
			n--;
		snprintf(before, sizeof(before), "%.*s", n < 0 ? 0 : (int)n, bytes);
	}
	if (was && strcmp(before, actual) != 0) {
		vfg_finding_report(
			finding, node, VFG_FINDING_DRIFT, before[0] ? before : "the host node's label as at apply",
			actual, "restorecon %s (selinux_fd_nodes = private never relabels the host node)", node->path);
		return;
	}
	if (categories_known && strcmp(actual, image) == 0)
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT,
				   "the host node's own label (the domain's fds use private nodes)", actual,
				   "restorecon %s", node->path);
}

static void audit_label(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node,
			const char *expected, bool categories_known, const char *actual, vfg_finding *finding)
{
	const char *record = vfg_finding_record(finding, node);
	if (record) {
		if (!node->shared && !categories_known)
			vfg_finding_report(finding, node, VFG_FINDING_DRIFT, "the domain's labels in its journal",
					   "none, though the journal holds the node's grant",
					   "vfguard revoke --domain %s, then apply again",
					   VFG_NAME_SHELL(domain->name));
		else if (strcmp(actual, expected) != 0)
			vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
					   "chcon -h %s %s (or vfguard revoke --domain %s, then apply again)", expected,
					   node->path, VFG_NAME_SHELL(domain->name));
		return;
	}
	if (!node->shared && categories_known && strcmp(actual, expected) == 0) {
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, "no label of this domain (it holds no grant)",
				   actual, "restorecon %s", node->path);
		return;
	}
	vfg_finding_report(finding, node, VFG_FINDING_MISSING, expected, actual,
			   "vfguard apply --domain %s with the options given to this audit",
			   VFG_NAME_SHELL(domain->name));
}

int selinux_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		  vfg_finding *finding, vfg_error *err)
{
	selinux_labels labels;
	int known =
		selinux_labels_expected(env, domain, vfg_finding_state(finding, SELINUX_STATE_LABELS), &labels, err);
	if (known < 0)
		return -1;
	const char *record = vfg_finding_record(finding, node);
	/* Private nodes: by the record when there is one (its apply's choice), else by the configuration now. */
	bool private = record ? selinux_undo_private(record) != NULL : selinux_fd_private(env, node);
	const char *expected =
		node->shared && !private ? vfg_config_get(env->config, "selinux_shared_label") : labels.image;

	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	selinux_label_bytes now;
	if (vfg_node_fd_open(env, node, &nfd, err) < 0 || selinux_node_label_read(&nfd, &now, err) < 0)
		return -1;
	char actual[VFG_LABEL_MAX + 16];
	selinux_label_text(&now, actual, sizeof(actual));
	if (private)
		audit_private_label(node, labels.image, known > 0, actual, finding);
	else
		audit_label(env, domain, node, expected, known > 0, actual, finding);
	/* The policy is asked about the label the hypervisor's fd carries: the private node's, or the host node's. */
	return audit_policy(env, &labels, expected, node, finding, err);
}
