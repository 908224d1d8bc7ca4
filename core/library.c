/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a hypervisor manager calls where the CLI takes several steps: the
 * library's version, a domain from plain values, and apply in one call
 * (docs/library.md).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

VFG_EXPORT const char *vfg_version(void)
{
	return VFG_VERSION;
}

/* Copy an optional string field into @dst, refusing one that would not fit. */
static int copy_field(char *dst, size_t size, const char *value, const char *field, vfg_error *err)
{
	if (!value)
		value = "";
	size_t length = strlen(value);
	if (length >= size)
		return vfg_error_set(err, ENAMETOOLONG, field, "%zu characters, at most %zu", length, size - 1);
	memcpy(dst, value, length + 1);
	return 0;
}

static int describe_strings(vfg_domain *domain, const vfg_domain_description *description, vfg_error *err)
{
	snprintf(domain->name, sizeof(domain->name), "%s", description->name);
	if (description->uuid && *description->uuid && vfg_uuid_parse(description->uuid, domain->uuid, err) < 0)
		return -1;
	if (description->cgroup && *description->cgroup && description->cgroup[0] != '/')
		return vfg_error_set(err, EINVAL, description->cgroup, "cgroup: expected an absolute path");
	if (copy_field(domain->selinux_label, sizeof(domain->selinux_label), description->selinux_label,
		       "selinux_label", err) < 0 ||
	    copy_field(domain->selinux_image_label, sizeof(domain->selinux_image_label),
		       description->selinux_image_label, "selinux_image_label", err) < 0 ||
	    copy_field(domain->apparmor_profile, sizeof(domain->apparmor_profile), description->apparmor_profile,
		       "apparmor_profile", err) < 0 ||
	    copy_field(domain->cgroup, sizeof(domain->cgroup), description->cgroup, "cgroup", err) < 0)
		return -1;
	return 0;
}

VFG_EXPORT int vfg_domain_new(const vfg_context *ctx, const vfg_domain_description *description, vfg_domain **domain,
			      vfg_error *err)
{
	*domain = NULL;
	if (vfg_domain_name_check(description->name, err) < 0)
		return -1;
	size_t n_hostdevs = 0;
	while (description->hostdevs && description->hostdevs[n_hostdevs])
		n_hostdevs++;
	if (n_hostdevs == 0)
		return vfg_error_set(err, EINVAL, description->name, "a domain needs at least one hostdev");
	/* (uid_t)-1 means "no change" to chown(2): never a hypervisor's id (as the CLI refuses it). */
	if (description->uid == (uid_t)-1 || description->gid == (gid_t)-1)
		return vfg_error_set(err, EINVAL, description->uid == (uid_t)-1 ? "uid" : "gid",
				     "-1 is not a hypervisor's id");
	if (description->pid < 0)
		return vfg_error_set(err, EINVAL, "pid", "%d is not a process id", (int)description->pid);

	/* The domain and its specs in one allocation, so that vfg_domain_free is one free(). */
	vfg_domain *d = calloc(1, sizeof(*d) + n_hostdevs * sizeof(vfg_hostdev_spec));
	if (!d)
		return vfg_error_set(err, ENOMEM, description->name, "cannot allocate the domain");
	vfg_hostdev_spec *specs = (vfg_hostdev_spec *)(d + 1);
	if (describe_strings(d, description, err) < 0) {
		free(d);
		return -1;
	}
	for (size_t i = 0; i < n_hostdevs; i++) {
		if (vfg_hostdev_spec_parse(ctx, description->hostdevs[i], &specs[i], err) < 0) {
			vfg_error_prefix(err, "domain %s, hostdev %zu", d->name, i + 1);
			free(d);
			return -1;
		}
	}
	d->uid = description->uid;
	d->gid = description->gid;
	d->pid = description->pid;
	d->memory = description->memory;
	d->viommu = description->viommu;
	d->ipc_lock = description->ipc_lock;
	d->hostdevs = specs;
	d->n_hostdevs = n_hostdevs;
	*domain = d;
	return 0;
}

VFG_EXPORT void vfg_domain_free(vfg_domain *domain)
{
	free(domain);
}

/* What prepare did, added to what apply does. */
static void summary_add(vfg_change_summary *total, const vfg_change_summary *part)
{
	total->changed += part->changed;
	total->kept += part->kept;
	total->revoked += part->revoked;
	total->recovered += part->recovered;
	vfg_strlcatf(total->notes, sizeof(total->notes), strlen(total->notes), "%s", part->notes);
}

VFG_EXPORT int vfg_domain_apply(vfg_context *ctx, const vfg_domain *domain, vfg_plan **plan,
				vfg_change_summary *summary, vfg_error *err)
{
	*plan = NULL;
	vfg_change_summary prepared = {0}, applied = {0};
	if (vfg_domain_prepare(ctx, domain, &prepared, err) < 0)
		return -1;
	vfg_plan *built = NULL;
	if (vfg_plan_build(ctx, domain, &built, err) < 0)
		return -1;
	if (vfg_plan_apply(ctx, built, &applied, err) < 0) {
		vfg_plan_free(built);
		return -1;
	}
	if (summary) {
		*summary = prepared;
		summary_add(summary, &applied);
	}
	*plan = built;
	return 0;
}
