/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * SELinux. The kernel checks the node's label when it is opened, when the
 * hypervisor receives its fd (selinux_file_receive() in
 * security/selinux/hooks.c), and on every ioctl (extended permissions on the
 * node's label). So the label matters for path and fd access alike: an
 * exclusive node gets the domain's image label (its MCS categories keep other
 * VMs out), a shared node the policy's shared label at s0, never one VM's
 * categories.
 */
#include <errno.h>
#include <selinux/selinux.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "selinux_labeler.h"

static int selinux_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	const char *mode = vfg_config_get(env->config, "selinux");
	bool enabled = is_selinux_enabled() > 0;
	if (strcmp(mode, "off") == 0) {
		snprintf(probe->note, sizeof(probe->note), "turned off in the configuration (selinux = off)");
		return 0;
	}
	if (strcmp(mode, "force") == 0) {
		probe->active = true;
		snprintf(probe->note, sizeof(probe->note), "SELinux is %s; labeling anyway (selinux = force)",
			 enabled ? "enabled" : "not enabled");
		return 0;
	}
	if (strcmp(mode, "auto") != 0)
		return vfg_error_set(err, 0, "selinux", "configuration value '%s': expected auto, force or off", mode);

	if (!enabled) {
		snprintf(probe->note, sizeof(probe->note), "SELinux is not enabled on this host: no label to set");
		return 0;
	}
	probe->active = true;
	if (security_getenforce() == 1)
		probe->flags |= SELINUX_PROBE_ENFORCING;
	snprintf(probe->note, sizeof(probe->note), "SELinux is enabled (%s)",
		 probe->flags & SELINUX_PROBE_ENFORCING ? "enforcing" : "permissive");
	return 0;
}

/* The image label the domain's exclusive nodes get: given or recorded, else what apply allocates. */
static int plan_image_label(const vfg_labeler_env *env, const vfg_domain *domain, char *image, size_t size,
			    vfg_error *err)
{
	/* Read only: a plan shows the labels the domain gave, or the pair it holds already. */
	selinux_labels labels;
	int r = selinux_labels_recorded(vfg_env_state_get(env, domain, SELINUX_STATE_LABELS), domain, &labels, err);
	if (r == 0)
		r = selinux_labels_given(env, domain, &labels, err);
	if (r < 0)
		return -1;
	if (r > 0)
		snprintf(image, size, "%s", labels.image);
	else
		snprintf(image, size, "%s with a unique MCS pair (allocated at apply)",
			 vfg_config_get(env->config, "selinux_image_type"));
	return 0;
}

/*
 * selinux_fd_nodes = private (selinux_private.c): no host node is labeled.
 * An exclusive node's step still journals, the domain's labels (its MCS
 * pair) and the host node's label as it was, which audit compares; a shared
 * node needs nothing at all.
 */
static int plan_private(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node, vfg_step *step,
			vfg_error *err)
{
	char image[VFG_LABEL_MAX + 64], detail[VFG_LABEL_MAX + 96];
	if (plan_image_label(env, domain, image, sizeof(image), err) < 0)
		return -1;
	static const char why[] =
		"selinux_fd_nodes = private: vfguard opens it through a private node labeled for the domain, whose "
		"label the kernel checks at open, fd receive (selinux_file_receive()) and every ioctl; the host "
		"node keeps its label";
	snprintf(detail, sizeof(detail), "private node %s; host node unchanged", image);
	if (node->shared)
		return vfg_step_set(step, VFG_ACTION_NONE, detail, "%s", why);
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "%s; the domain's labels are held for it (its categories keep other VMs out)", why);
}

static int selinux_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			const vfg_node *node, vfg_step *step, vfg_error *err)
{
	if (!probe->active)
		return vfg_step_set(step, VFG_ACTION_INACTIVE, "", "%s", probe->note);

	if (selinux_fd_private(env, node))
		return plan_private(env, domain, node, step, err);

	const char *why = node->access == VFG_ACCESS_FD
				  ? "fd access still needs it: the kernel checks the node's label when the hypervisor "
				    "receives the fd (selinux_file_receive()) and on every ioctl"
				  : "the kernel checks the node's label at open and on every ioctl";
	char detail[VFG_LABEL_MAX + 8];
	if (node->shared) {
		snprintf(detail, sizeof(detail), "label %s", vfg_config_get(env->config, "selinux_shared_label"));
		return vfg_step_set(
			step, VFG_ACTION_GRANT, detail,
			"%s; shared by every VM, so the shared label at s0 with no categories, counted across "
			"domains",
			why);
	}

	char image[VFG_LABEL_MAX + 64];
	if (plan_image_label(env, domain, image, sizeof(image), err) < 0)
		return -1;
	snprintf(detail, sizeof(detail), "label %s", image);
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "%s; this domain's alone, so its image label (its categories keep other VMs out)", why);
}

static int selinux_mode_check(const char *value, vfg_error *err)
{
	if (strcmp(value, "auto") != 0 && strcmp(value, "force") != 0 && strcmp(value, "off") != 0)
		return vfg_error_set(err, 0, "", "'%s': expected auto, force or off", value);
	return 0;
}

static const vfg_config_key_def selinux_keys[] = {
	{"selinux", "auto", selinux_mode_check,
	 "auto: label when SELinux is enabled; force: label anyway (images, containers, tests); off: never"},
	/* libvirt's svirt types: the VM process and its exclusive images and devices. */
	{"selinux_process_type", "svirt_t", NULL, "the type of a VM process label vfguard allocates"},
	{"selinux_image_type", "svirt_image_t", NULL, "the type of a VM's exclusive nodes"},
	/* refpolicy's MCS policy has c0..c1023. */
	{"selinux_mcs_categories", "c0.c1023", selinux_categories_check, "the categories allocated pairs come from"},
	{"selinux_shared_label", "system_u:object_r:vfio_device_t:s0", NULL,
	 "shared nodes never carry one VM's categories: the policy's type at s0"},
	{"selinux_policy", "", NULL, "a binary policy for audit to check instead of the loaded one"},
	{"selinux_fd_nodes", "relabel", selinux_fd_nodes_check,
	 "fd access where vfguard opens the nodes: private (a private node with the domain's label; the host's "
	 "nodes are never relabeled) or relabel (the host's nodes, as for a manager that opens them itself)"},
	{"selinux_manager_label", "", NULL,
	 "who opens the nodes for fd access, whose fds the VM must use (\"\": vfguard's own context)"},
	{NULL, NULL, NULL, NULL},
};

/* A context fits the labeler's buffers (VFG_LABEL_MAX), as libvirt's seclabels do. */
static int selinux_context_check(const char *value, vfg_error *err)
{
	return vfg_check_length(value, VFG_LABEL_MAX, err);
}

static const vfg_attr_def selinux_attributes[] = {
	{"label", selinux_context_check, "the VM process's label", 5, "selinux_label", false},
	{"image_label", selinux_context_check, "its exclusive nodes' label (default: derived from the process label)",
	 6, "selinux_image_label", false},
	{NULL, NULL, NULL, 0, NULL, false},
};

/*
 * A grant of a boot that is over: the node's label (an xattr) on devtmpfs died with
 * it, and the node there now is this boot's, so it is left as it is; a
 * node on a disk (a static /dev, a root prefix's tree) kept the grant, and
 * revoke puts it back (labeler.h: boot_release; docs/boot.md).
 */
static int selinux_boot_release(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	int gone = vfg_node_boot_gone(env, node, txn, err);
	if (gone != 0)
		return gone < 0 ? -1 : 0;
	return selinux_revoke(env, domain, probe, node, txn, err);
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v2 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.size = VFG_LABELER_SIZE,
	.name = "selinux",
	.summary = "SELinux label of the host node (per-VM MCS categories)",
	.config_keys = selinux_keys,
	.attributes = selinux_attributes,
	.probe = selinux_probe,
	.plan = selinux_plan,
	.grant = selinux_grant,
	.revoke = selinux_revoke,
	.audit = selinux_audit,
	.intent = selinux_intent,
	.boot_release = selinux_boot_release,
	.private_node_xattr = selinux_private_node_xattr,
};
