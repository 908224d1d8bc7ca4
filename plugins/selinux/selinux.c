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

static int selinux_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			const vfg_node *node, vfg_step *step, vfg_error *err)
{
	if (!probe->active)
		return vfg_step_set(step, VFG_ACTION_INACTIVE, "", "%s", probe->note);

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

	/* Read only: a plan shows the labels the domain gave, or the pair it holds already. */
	selinux_labels labels;
	int r = selinux_labels_recorded(env, domain->name, &labels, err);
	if (r == 0)
		r = selinux_labels_given(env, domain, &labels, err);
	if (r < 0)
		return -1;
	char image[VFG_LABEL_MAX + 64];
	if (r > 0)
		snprintf(image, sizeof(image), "%s", labels.image);
	else
		snprintf(image, sizeof(image), "%s with a unique MCS pair (allocated at apply)",
			 vfg_config_get(env->config, "selinux_image_type"));
	snprintf(detail, sizeof(detail), "label %s", image);
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "%s; this domain's alone, so its image label (its categories keep other VMs out)", why);
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v1 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.name = "selinux",
	.summary = "SELinux label of the host node (per-VM MCS categories)",
	.probe = selinux_probe,
	.plan = selinux_plan,
	.grant = selinux_grant,
	.revoke = selinux_revoke,
	.audit = selinux_audit,
};
