/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cgroup2 within one hold of the host lock: vfguard's program and its map
 * are found once (BPF_PROG_QUERY, then the program's and the map's info:
 * some seven bpf(2) calls) and every lookup and update of the hold goes
 * through what was found, so a grant costs a lookup and an update, a revoke
 * an update. Only vfguard writes the map, under the host lock: what the
 * hold read or wrote last, and a rule it knows carries a grant, stay true
 * until its own next update, which keeps them.
 */
#include <errno.h>
#include <string.h>

#include "cgroup.h"
#include "cgroup_bpf.h"

static bool same_key(const cgroup_rule *a, const cgroup_rule *b)
{
	/* The map keys a rule by its type, 'b' or char, and its numbers (cgroup_v2_bpf.c: rule_key()). */
	return (a->type == 'b') == (b->type == 'b') && a->major == b->major && a->minor == b->minor;
}

int cgroup_v2_find(cgroup_hold *hold, cgroup_dir *dir, vfg_error *err)
{
	if (dir->v2.ops)
		return 0;
	if (dir->fd < 0)
		return vfg_error_set(err, dir->gone ? ENOENT : ENOTDIR, dir->path, "cannot open the cgroup");
	const cgroup_v2_ops *ops = cgroup_hold_v2_ops(hold, err);
	if (!ops || ops->find(dir->path, dir->fd, &dir->v2.prog, err) < 0)
		return -1;
	dir->v2.ops = ops;
	return 0;
}

int cgroup_v2_attach(const vfg_labeler_env *env, cgroup_dir *dir, vfg_error *err)
{
	_cleanup_free_ cgroup_rule *base = NULL;
	size_t n_base;
	if (cgroup_base_rules(env, &base, &n_base, NULL, err) < 0 ||
	    dir->v2.ops->attach(dir->path, dir->fd, base, n_base, &dir->v2.prog, err) < 0)
		return -1;
	/* A new map, with the base list alone. */
	dir->v2.last_known = dir->v2.grant_known = false;
	return 0;
}

int cgroup_v2_detach(cgroup_dir *dir, vfg_error *err)
{
	dir->v2.last_known = dir->v2.grant_known = false;
	return dir->v2.ops->detach(dir->path, dir->fd, &dir->v2.prog, err);
}

int cgroup_v2_entry_get(cgroup_dir *dir, const cgroup_rule *rule, cgroup_v2_entry *entry, vfg_error *err)
{
	cgroup_v2_dir *v2 = &dir->v2;
	if (v2->last_known && same_key(&v2->last_rule, rule)) {
		*entry = v2->last;
		return 0;
	}
	if (v2->ops->lookup(dir->path, v2->prog.map_fd, rule, entry, err) < 0)
		return -1;
	v2->last_known = true;
	v2->last_rule = *rule;
	v2->last = *entry;
	return 0;
}

int cgroup_v2_entry_set(cgroup_dir *dir, const cgroup_rule *rule, const cgroup_v2_entry *entry, vfg_error *err)
{
	cgroup_v2_dir *v2 = &dir->v2;
	bool grants = entry->present && (entry->flags & VFG_CGROUP_RULE_GRANT);
	if (v2->ops->update(dir->path, v2->prog.map_fd, rule, entry, err) < 0) {
		v2->last_known = v2->grant_known = false; /* the map may or may not have changed */
		return -1;
	}
	v2->last_known = true;
	v2->last_rule = *rule;
	v2->last = *entry;
	if (grants) {
		v2->grant_known = true;
		v2->grant = *rule;
	} else if (v2->grant_known && same_key(&v2->grant, rule)) {
		v2->grant_known = false;
	}
	return 0;
}

int cgroup_v2_has_grants(cgroup_dir *dir, bool *any, vfg_error *err)
{
	cgroup_v2_dir *v2 = &dir->v2;
	if (!v2->grant_known) {
		/* The walk stops at the first grant, which then stands for the others until an update takes it away. */
		if (v2->ops->find_grant(dir->path, v2->prog.map_fd, &v2->grant, &v2->grant_known, err) < 0)
			return -1;
	}
	*any = v2->grant_known;
	return 0;
}

int cgroup_v2_foreign(cgroup_dir *dir, char *buf, size_t size, vfg_error *err)
{
	cgroup_v2_dir *v2 = &dir->v2;
	if (!v2->foreign_known) {
		/* Found before or after vfguard's own program came: its id is left out either way. */
		int n = v2->ops->foreign(dir->path, dir->fd, v2->prog.prog_fd >= 0 ? v2->prog.prog_id : 0, v2->foreign,
					 sizeof(v2->foreign), err);
		if (n < 0)
			return -1;
		v2->n_foreign = n;
		v2->foreign_known = true;
	}
	snprintf(buf, size, "%s", v2->foreign);
	return v2->n_foreign;
}
