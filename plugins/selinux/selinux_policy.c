/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The binary policy, asked offline through libsepol: may a domain's type do
 * what the plan needs to a node's label? libsepol's security server computes
 * the access vector the kernel would (type enforcement with the booleans as
 * they are set, constraints such as MCS's, RBAC), and says which of them
 * denied (sepol_compute_av_reason_buffer(), the call audit2why makes).
 *
 * For a permission type enforcement denies, each boolean is flipped in turn
 * (evaluate_conds() re-enables the conditional rules): one that allows it is
 * the fix to name ("setsebool -P virt_use_vfio on"); else the allow rule.
 *
 * The security server keeps one policy and one SID table per process
 * (sepol_set_policydb(), sepol_set_sidtab() in libsepol's services.c): the
 * plugin links its own copy of libsepol, and a mutex keeps two contexts'
 * audits from interleaving.
 */
#include <errno.h>
#include <pthread.h>
#include <selinux/context.h>
#include <selinux/selinux.h>
#include <sepol/debug.h>
#include <sepol/policydb/conditional.h>
#include <sepol/policydb/policydb.h>
#include <sepol/policydb/services.h>
#include <sepol/policydb/sidtab.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selinux_labeler.h"

struct selinux_policy {
	policydb_t db;
	char path[VFG_PATH_MAX];
};

static pthread_mutex_t services_lock = PTHREAD_MUTEX_INITIALIZER;

int selinux_policy_open(const vfg_labeler_env *env, selinux_policy **policy, vfg_error *err)
{
	*policy = NULL;
	char path[VFG_PATH_MAX];
	const char *configured = vfg_config_get(env->config, "selinux_policy");
	/* The policy is the kernel's or the one asked for by name: neither lives under the root prefix. */
	if (configured[0])
		snprintf(path, sizeof(path), "%s", configured);
	else if (is_selinux_enabled() > 0)
		snprintf(path, sizeof(path), "/sys/fs/selinux/policy"); /* the loaded policy, as the kernel has it */
	else
		return 0;

	FILE *f = fopen(path, "re");
	if (!f)
		return vfg_error_set(err, errno, path, "selinux: cannot read the binary policy");
	selinux_policy *p = calloc(1, sizeof(*p));
	if (!p) {
		fclose(f);
		return vfg_error_set(err, ENOMEM, path, "selinux: cannot load the binary policy");
	}
	snprintf(p->path, sizeof(p->path), "%s", path);
	struct policy_file file;
	policy_file_init(&file);
	file.type = PF_USE_STDIO;
	file.fp = f;
	sepol_debug(0); /* its messages would go to stderr; the error below says it once */
	int r = policydb_init(&p->db);
	if (r == 0)
		r = policydb_read(&p->db, &file, 0);
	if (r == 0)
		r = evaluate_conds(
			&p->db); /* the conditional rules as the booleans stand, as the kernel does at load */
	fclose(f);
	if (r != 0) {
		policydb_destroy(&p->db);
		free(p);
		return vfg_error_set(err, 0, path, "selinux: not a binary policy libsepol can read");
	}
	*policy = p;
	return 0;
}

void selinux_policy_close(selinux_policy *policy)
{
	if (!policy)
		return;
	policydb_destroy(&policy->db);
	free(policy);
}

/* The type of a context, into @buf. */
static void context_type(const char *label, char *buf, size_t size)
{
	context_t context = context_new(label);
	snprintf(buf, size, "%s", context && context_type_get(context) ? context_type_get(context) : label);
	if (context)
		context_free(context);
}

/* What the security server decides for one permission; @reason gets its reason bits. */
static int compute(sepol_security_id_t ssid, sepol_security_id_t tsid, sepol_security_class_t tclass,
		   sepol_access_vector_t av, bool *allowed, unsigned *reason, char *why, size_t why_size)
{
	struct sepol_av_decision avd;
	char *buffer = NULL;
	*reason = 0;
	/* libsepol writes the reason text unconditionally: it needs somewhere to put it. */
	if (sepol_compute_av_reason_buffer(ssid, tsid, tclass, av, &avd, reason, &buffer, 0) < 0)
		return -1;
	*allowed = (avd.allowed & av) == av;
	if (why) {
		/* Its text ends in a newline and may span lines: one line for a finding. */
		snprintf(why, why_size, "%s", buffer ? buffer : "");
		for (char *c = why; *c; c++)
			if (*c == '\n' || *c == '\t')
				*c = ' ';
		for (size_t n = strlen(why); n > 0 && why[n - 1] == ' ';)
			why[--n] = '\0';
	}
	free(buffer);
	return 0;
}

/* A boolean whose flip lets @av through; its index, or -1. The booleans are as they were on return. */
static int boolean_that_allows(policydb_t *db, sepol_security_id_t ssid, sepol_security_id_t tsid,
			       sepol_security_class_t tclass, sepol_access_vector_t av)
{
	int found = -1;
	for (uint32_t i = 0; i < db->p_bools.nprim && found < 0; i++) {
		cond_bool_datum_t *datum = db->bool_val_to_struct[i];
		datum->state = !datum->state;
		evaluate_conds(db);
		bool allowed = false;
		unsigned reason;
		if (compute(ssid, tsid, tclass, av, &allowed, &reason, NULL, 0) == 0 && allowed)
			found = (int)i;
		datum->state = !datum->state;
		evaluate_conds(db);
	}
	return found;
}

static void explain(policydb_t *db, sepol_security_id_t ssid, sepol_security_id_t tsid, sepol_security_class_t tclass,
		    sepol_access_vector_t av, unsigned reason, const char *constraint, const char *source,
		    const char *target, const char *class_name, selinux_denial *denial)
{
	char stype[VFG_LABEL_MAX], ttype[VFG_LABEL_MAX];
	context_type(source, stype, sizeof(stype));
	context_type(target, ttype, sizeof(ttype));
	if (reason & SEPOL_COMPUTEAV_TE) {
		int b = boolean_that_allows(db, ssid, tsid, tclass, av);
		if (b >= 0) {
			bool now = db->bool_val_to_struct[b]->state;
			snprintf(denial->why, sizeof(denial->why), "no allow rule while boolean %s is %s",
				 db->p_bool_val_to_name[b], now ? "on" : "off");
			snprintf(denial->fix, sizeof(denial->fix), "setsebool -P %s %s", db->p_bool_val_to_name[b],
				 now ? "off" : "on");
			return;
		}
		snprintf(denial->why, sizeof(denial->why), "no allow rule, under any one boolean");
		snprintf(denial->fix, sizeof(denial->fix), "allow %s %s:%s %s; (in a policy module, e.g. vfguard's)",
			 stype, ttype, class_name, denial->permission);
		return;
	}
	if (reason & SEPOL_COMPUTEAV_CONS) {
		snprintf(denial->why, sizeof(denial->why), "a constraint denies it: %s", constraint);
		snprintf(denial->fix, sizeof(denial->fix),
			 "give %s categories that %s's range dominates (MCS: the domain's own pair, or s0 for a "
			 "shared node)",
			 target, source);
		return;
	}
	if (reason & SEPOL_COMPUTEAV_RBAC) {
		snprintf(denial->why, sizeof(denial->why), "the role-based rules deny it");
		snprintf(denial->fix, sizeof(denial->fix), "a role allow rule for %s and %s", source, target);
		return;
	}
	snprintf(denial->why, sizeof(denial->why), "denied by a typebounds rule (reason %#x)", reason);
	snprintf(denial->fix, sizeof(denial->fix), "widen the bounding type of %s", stype);
}

static int to_sid(const char *context, const selinux_policy *policy, sepol_security_id_t *sid, vfg_error *err)
{
	if (sepol_context_to_sid(context, strlen(context) + 1, sid) < 0)
		return vfg_error_set(err, EINVAL, context, "selinux: not a valid context in the policy %s",
				     policy->path);
	return 0;
}

static int check_locked(selinux_policy *policy, const char *source, const char *target, const char *class_name,
			const char *const *permissions, selinux_denial *denials, size_t max, vfg_error *err)
{
	sepol_security_id_t ssid, tsid;
	sepol_security_class_t tclass;
	if (to_sid(source, policy, &ssid, err) < 0 || to_sid(target, policy, &tsid, err) < 0)
		return -1;
	if (sepol_string_to_security_class(class_name, &tclass) < 0)
		return vfg_error_set(err, EINVAL, class_name, "selinux: no such class in the policy %s", policy->path);
	size_t n = 0;
	for (size_t i = 0; permissions[i] && n < max; i++) {
		sepol_access_vector_t av;
		if (sepol_string_to_av_perm(tclass, permissions[i], &av) < 0)
			return vfg_error_set(err, EINVAL, permissions[i], "selinux: no permission %s in class %s",
					     permissions[i], class_name);
		bool allowed;
		unsigned reason;
		char constraint[256];
		if (compute(ssid, tsid, tclass, av, &allowed, &reason, constraint, sizeof(constraint)) < 0)
			return vfg_error_set(err, EINVAL, source, "selinux: libsepol cannot compute %s on %s", source,
					     target);
		if (allowed)
			continue;
		selinux_denial *denial = &denials[n++];
		memset(denial, 0, sizeof(*denial));
		snprintf(denial->permission, sizeof(denial->permission), "%s", permissions[i]);
		explain(&policy->db, ssid, tsid, tclass, av, reason, constraint, source, target, class_name, denial);
	}
	return (int)n;
}

int selinux_policy_check(selinux_policy *policy, const char *source, const char *target, const char *class_name,
			 const char *const *permissions, selinux_denial *denials, size_t max, vfg_error *err)
{
	pthread_mutex_lock(&services_lock);
	sidtab_t sidtab;
	sepol_sidtab_init(&sidtab);
	sepol_set_sidtab(&sidtab);
	sepol_set_policydb(&policy->db);
	int r = check_locked(policy, source, target, class_name, permissions, denials, max, err);
	sepol_set_policydb(NULL);
	sepol_sidtab_destroy(&sidtab);
	pthread_mutex_unlock(&services_lock);
	return r;
}
