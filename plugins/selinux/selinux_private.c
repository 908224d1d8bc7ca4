/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fd access through private nodes (docs/private-nodes.md). Where vfguard
 * opens a domain's nodes itself (vfguard exec, fds, the library's
 * vfg_domain_open_fds), the core asks this labeler for the label of a node of
 * its own with the host node's rdev, and opens the device through it. The
 * kernel checks the label of the inode a file was opened through: at open
 * (selinux_file_open()), when a process receives the fd
 * (selinux_file_receive() -> file_has_perm()) and at every ioctl
 * (selinux_file_ioctl() -> ioctl_has_perm()), each by inode_has_perm() on
 * file_inode(file), security/selinux/hooks.c of Linux 6.12. So every fd of
 * the domain carries the domain's image label with its MCS pair, the shared
 * /dev/iommu's included, and the host's nodes are never relabeled.
 *
 * selinux_fd_nodes = relabel keeps the other way: the host node carries the
 * label (the cdev the domain's, a shared node the shared label at s0), which
 * is what a manager that opens the nodes itself (libvirt) needs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "selinux_labeler.h"

int selinux_fd_nodes_check(const char *value, vfg_error *err)
{
	if (strcmp(value, "private") != 0 && strcmp(value, "relabel") != 0)
		return vfg_error_set(err, 0, "", "'%s': expected private or relabel", value);
	return 0;
}

bool selinux_fd_private(const vfg_labeler_env *env, const vfg_node *node)
{
	return node->access == VFG_ACCESS_FD && strcmp(vfg_config_get(env->config, "selinux_fd_nodes"), "private") == 0;
}

int selinux_private_node_xattr(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			       const vfg_node *node, vfg_node_xattr *xattr, vfg_error *err)
{
	if (!probe->active || !selinux_fd_private(env, node))
		return 0;
	/* The labels apply recorded (allocated or given) for the domain's nodes: the fds are that domain's. */
	selinux_labels labels;
	int held = selinux_labels_recorded(vfg_env_state_get(env, domain, SELINUX_STATE_LABELS), domain, &labels, err);
	if (held < 0)
		return -1;
	if (!held)
		return vfg_error_set(err, EPERM, node->path,
				     "selinux: domain %s holds no labels for a private node; run vfguard apply first",
				     domain->name);
	snprintf(xattr->name, sizeof(xattr->name), "%s", SELINUX_XATTR);
	/* As setfilecon_raw() stores a label: the text and its NUL. */
	xattr->size = strlen(labels.image) + 1;
	memcpy(xattr->value, labels.image, xattr->size);
	return 1;
}
