/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AppArmor. The VM's profile must allow the node's path when the hypervisor
 * opens it (apparmor_file_open()). A received fd is checked again against
 * the receiver's profile, except when the opener was unconfined: such an fd
 * is delegated and the re-check is skipped (apparmor_file_receive() ->
 * aa_file_perm() in security/apparmor/file.c). vfguard keeps a per-domain
 * rules file with one exact path per node, never a glob.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/apparmor.h>

#include <vfguard/labeler.h>

enum {
	APPARMOR_ENABLED = 1u << 0,
	APPARMOR_OPENER_CONFINED = 1u << 1, /* vfguard (the fd opener) runs under a profile */
};

/* The domain's profile: given, or libvirt's naming libvirt-UUID, or vfguard-NAME without a uuid. */
static void apparmor_profile_name(const vfg_domain *domain, char *buf, size_t size)
{
	if (domain->apparmor_profile[0])
		snprintf(buf, size, "%s", domain->apparmor_profile);
	else if (domain->uuid[0])
		snprintf(buf, size, "libvirt-%s", domain->uuid);
	else
		snprintf(buf, size, "vfguard-%s", domain->name);
}

static int apparmor_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	char profile[VFG_LABEL_MAX];
	apparmor_profile_name(domain, profile, sizeof(profile));
	probe->active = true; /* the rules file is kept either way */
	if (aa_is_enabled() == 1)
		probe->flags |= APPARMOR_ENABLED;

	char *label = NULL;
	if (aa_getcon(&label, NULL) >= 0 && label && strcmp(label, "unconfined") != 0)
		probe->flags |= APPARMOR_OPENER_CONFINED;
	free(label);

	snprintf(probe->note, sizeof(probe->note), "profile %s, rules in %s/%s; %s; vfguard runs %s", profile,
		 vfg_config_get(env->config, "apparmor_rules_dir"), profile,
		 probe->flags & APPARMOR_ENABLED ? "AppArmor is enabled: the profile is reloaded"
						 : "AppArmor is not enabled: the file only, no profile is loaded",
		 probe->flags & APPARMOR_OPENER_CONFINED ? "confined" : "unconfined");
	return 0;
}

static int apparmor_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			 const vfg_node *node, vfg_step *step, vfg_error *err)
{
	char detail[VFG_PATH_MAX + 16];
	snprintf(detail, sizeof(detail), "rule '%s rw,'", node->path);
	const char *file_only = probe->flags & APPARMOR_ENABLED ? "" : " (AppArmor is not enabled: rules file only)";

	if (node->access == VFG_ACCESS_PATH)
		return vfg_step_set(step, VFG_ACTION_GRANT, detail,
				    "the profile must allow the path when the hypervisor opens it "
				    "(apparmor_file_open())%s",
				    file_only);
	if (probe->flags & APPARMOR_OPENER_CONFINED)
		return vfg_step_set(
			step, VFG_ACTION_GRANT, detail,
			"fd access from a confined opener: the kernel re-checks the received fd against the "
			"hypervisor's profile (apparmor_file_receive())%s",
			file_only);
	return vfg_step_set(step, VFG_ACTION_NONE, "",
			    "fd access from an unconfined opener: the kernel skips the re-check of a delegated fd on "
			    "receive (aa_file_perm()); no rule is needed");
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v1 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.name = "apparmor",
	.summary = "AppArmor rule in the domain's per-VM rules file",
	.probe = apparmor_probe,
	.plan = apparmor_plan,
	.grant = vfg_labeler_grant_unimplemented,
	.revoke = vfg_labeler_revoke_unimplemented,
	.audit = vfg_labeler_audit_unimplemented,
};
