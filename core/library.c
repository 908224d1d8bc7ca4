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

static int describe_strings(const vfg_context *ctx, vfg_domain *domain, const vfg_domain_description *description,
			    vfg_error *err)
{
	snprintf(domain->name, sizeof(domain->name), "%s", description->name);
	if (description->uuid && *description->uuid && vfg_uuid_parse(description->uuid, domain->uuid, err) < 0) {
		vfg_error_prefix(err, "uuid"); /* the field, as every other refusal here names it */
		return -1;
	}
	/* "NAME=VALUE", each checked by the labeler that declares NAME. */
	for (size_t i = 0; description->attributes && description->attributes[i]; i++) {
		const char *setting = description->attributes[i];
		const char *eq = strchr(setting, '=');
		char name[128];
		if (!eq || eq == setting || (size_t)(eq - setting) >= sizeof(name))
			return vfg_error_set(err, EINVAL, setting, "expected an attribute NAME=VALUE");
		snprintf(name, sizeof(name), "%.*s", (int)(eq - setting), setting);
		if (vfg_context_domain_attr_set(ctx, domain, name, eq + 1, err) < 0)
			return -1;
	}
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
	if (describe_strings(ctx, d, description, err) < 0) {
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

/* Is @line (@length bytes, its newline counted) one of the lines of @notes already? */
static bool note_said(const char *notes, const char *line, size_t length)
{
	for (const char *at = notes; *at;) {
		const char *next = strchr(at, '\n');
		size_t have = next ? (size_t)(next + 1 - at) : strlen(at);
		if (have == length && memcmp(at, line, length) == 0)
			return true;
		at += have;
	}
	return false;
}

/*
 * What prepare did, added to what apply does. A note both say (each found
 * another domain's transaction left open, and left it so) is said once.
 */
static void summary_add(vfg_change_summary *total, const vfg_change_summary *part)
{
	total->changed += part->changed;
	total->kept += part->kept;
	total->revoked += part->revoked;
	total->recovered += part->recovered;
	char before[sizeof(total->notes)];
	snprintf(before, sizeof(before), "%s", total->notes);
	for (const char *line = part->notes, *end; *line; line = end) {
		end = strchr(line, '\n');
		end = end ? end + 1 : line + strlen(line);
		size_t length = (size_t)(end - line);
		if (!note_said(before, line, length))
			vfg_strlcatf(total->notes, sizeof(total->notes), strlen(total->notes), "%.*s", (int)length,
				     line);
	}
}

/*
 * The apply failed and undid its own changes, but the prepare before it may
 * have detached functions and claimed their groups (its commit may also be
 * what failed, after the detach). When the domain held nothing before this
 * call, revoking it gives exactly those back, and the failure leaves the host
 * as before (as the hooks do, hook_common.c); a domain that holds nothing is
 * not changed by it. A domain that already held something keeps them:
 * revoking it would take its older grants too, so the error says how to give
 * them back.
 */
static void prepare_undo(vfg_context *ctx, const vfg_domain *domain, bool held_nothing,
			 const vfg_change_summary *prepared, vfg_error *err)
{
	const char *name = domain->name;
	size_t used = strlen(err->message);
	bool managed = false;
	for (size_t i = 0; i < domain->n_hostdevs; i++)
		managed = managed || domain->hostdevs[i].managed;
	if (!managed)
		return;
	if (!held_nothing) {
		if (prepared->changed == 0)
			return;
		vfg_strlcatf(err->message, sizeof(err->message), used,
			     "; the functions this apply detached stay claimed by domain %s (vfguard revoke --domain "
			     "%s gives them back)",
			     name, VFG_NAME_SHELL(name));
		return;
	}
	vfg_change_summary undone;
	vfg_error undo = {0};
	if (vfg_domain_revoke(ctx, name, &undone, &undo) < 0)
		vfg_strlcatf(err->message, sizeof(err->message), used,
			     "; giving back the functions it detached failed too (%s): run vfguard restore",
			     undo.message);
	else if (undone.changed > 0)
		vfg_strlcatf(err->message, sizeof(err->message), used,
			     "; the functions it detached are back on their drivers");
}

VFG_EXPORT int vfg_domain_apply(vfg_context *ctx, const vfg_domain *domain, vfg_plan **plan,
				vfg_change_summary *summary, vfg_error *err)
{
	if (plan)
		*plan = NULL;
	vfg_error dropped = {0};
	if (!err)
		err = &dropped; /* @err may be NULL (error.h); prepare_undo adds to the message */
	vfg_change_summary prepared = {0}, applied = {0};
	bool held_nothing, committed = false;
	vfg_plan *built = NULL;
	int r = vfg_domain_prepare_fresh(ctx, domain, &prepared, &held_nothing, err);
	if (r == 0)
		r = vfg_domain_plan_apply(ctx, domain, &built, &applied, &committed, err);
	if (r < 0) {
		vfg_plan_free(built);
		if (!committed)
			prepare_undo(ctx, domain, held_nothing, &prepared, err);
		return -1;
	}
	if (summary) {
		*summary = prepared;
		summary_add(summary, &applied);
	}
	if (plan)
		*plan = built;
	else
		vfg_plan_free(built); /* a caller with no use for it (apply.h) */
	return 0;
}
