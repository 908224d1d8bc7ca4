/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The namespace component. A manager may give the VM process a private
 * mount namespace with its own small /dev; a path-access node is looked up
 * there, so it must exist there too (with the host node's rdev, owner, mode,
 * ACL and label: it runs after the other labelers to copy their result). A
 * passed fd needs no path and so no entry. /proc is used as it is, never
 * under the root prefix.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "internal.h"

enum {
	NAMESPACE_PRIVATE = 1u << 0, /* the pid's mount namespace is not vfguard's own */
};

static int namespace_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	if (domain->pid <= 0) {
		snprintf(probe->note, sizeof(probe->note),
			 "no pid (--pid): the domain does not run yet, no private /dev to fill");
		return 0;
	}

	char path[64];
	struct stat theirs, ours;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)domain->pid);
	if (stat(path, &theirs) < 0)
		return vfg_error_set(err, errno, path, "cannot read the mount namespace of pid %d", (int)domain->pid);
	if (stat("/proc/self/ns/mnt", &ours) < 0)
		return vfg_error_set(err, errno, "/proc/self/ns/mnt", "cannot read vfguard's own mount namespace");

	/* Namespaces are the same when their nsfs inodes are (namespaces(7)). */
	if (theirs.st_dev == ours.st_dev && theirs.st_ino == ours.st_ino) {
		snprintf(probe->note, sizeof(probe->note), "pid %d shares the host's mount namespace: nothing to add",
			 (int)domain->pid);
		return 0;
	}
	probe->active = true;
	probe->flags |= NAMESPACE_PRIVATE;
	snprintf(probe->note, sizeof(probe->note), "pid %d has a private mount namespace (mnt:[%lu])", (int)domain->pid,
		 (unsigned long)theirs.st_ino);
	return 0;
}

static int namespace_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			  const vfg_node *node, vfg_step *step, vfg_error *err)
{
	if (node->access == VFG_ACCESS_FD)
		return vfg_step_set(step, VFG_ACTION_NONE, "",
				    "fd access: the hypervisor looks no path up, so its private /dev gets no entry");
	if (!(probe->flags & NAMESPACE_PRIVATE))
		return vfg_step_set(step, VFG_ACTION_NONE, "", "%s", probe->note);

	char detail[VFG_PATH_MAX + 32];
	snprintf(detail, sizeof(detail), "mknod c %u:%u in pid %d's /dev", major(node->rdev), minor(node->rdev),
		 (int)domain->pid);
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "the hypervisor resolves %s in its own mount namespace: the entry must exist there with "
			    "the host node's rdev, owner, mode, ACL and label (copied after the other labelers)",
			    node->path);
}

const vfg_labeler vfg_namespace_labeler = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.name = "namespace",
	.summary = "entry in the VM's private /dev (mount namespace)",
	.probe = namespace_probe,
	.plan = namespace_plan,
	.grant = vfg_labeler_grant_unimplemented,
	.revoke = vfg_labeler_revoke_unimplemented,
	.audit = vfg_labeler_audit_unimplemented,
};
