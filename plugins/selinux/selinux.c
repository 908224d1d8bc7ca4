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
#include <selinux/context.h>
#include <selinux/selinux.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <vfguard/labeler.h>

enum {
	SELINUX_ENFORCING = 1u << 0,
};

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
		probe->flags |= SELINUX_ENFORCING;
	snprintf(probe->note, sizeof(probe->note), "SELinux is enabled (%s)",
		 probe->flags & SELINUX_ENFORCING ? "enforcing" : "permissive");
	return 0;
}

/*
 * The image label from the process label, the way libvirt pairs them: same
 * user and MLS range, role object_r, the configured image type.
 */
static int image_label_from_process(const char *process_label, const char *image_type, char *buf, size_t size,
				    vfg_error *err)
{
	context_t context = context_new(process_label);
	if (!context)
		return vfg_error_set(err, 0, process_label, "not an SELinux context (user:role:type[:range])");
	int r = 0;
	if (context_role_set(context, "object_r") != 0 || context_type_set(context, image_type) != 0)
		r = vfg_error_set(err, 0, process_label, "cannot derive the image label");
	else
		snprintf(buf, size, "%s", context_str(context));
	context_free(context);
	return r;
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

	char image[VFG_LABEL_MAX];
	if (domain->selinux_image_label[0])
		snprintf(image, sizeof(image), "%s", domain->selinux_image_label);
	else if (domain->selinux_label[0]) {
		if (image_label_from_process(domain->selinux_label, vfg_config_get(env->config, "selinux_image_type"),
					     image, sizeof(image), err) < 0)
			return -1;
	} else
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
	.grant = vfg_labeler_grant_unimplemented,
	.revoke = vfg_labeler_revoke_unimplemented,
	.audit = vfg_labeler_audit_unimplemented,
};
