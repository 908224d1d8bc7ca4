/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_PRIVATE_NODE_H
#define VFGUARD_CORE_PRIVATE_NODE_H

/* private_node.c: fd-access nodes opened through a node of vfguard's own (docs/private-nodes.md). */

#include <stddef.h>

#include <vfguard/error.h>
#include <vfguard/labeler.h>

/* A tmpfs mounted nowhere (fsopen, fsmount): the returned fd is the only way to it. */
int private_mount_open(const char *domain, vfg_error *err);

/*
 * Make a node of @node's rdev in @mount_fd (named after @number, one per
 * node of a set), give it @xattrs, open it O_RDWR|O_CLOEXEC, and unlink it.
 * Returns the fd; @real names the host node in messages.
 */
int private_node_open(int mount_fd, unsigned number, const vfg_node *node, const vfg_node_xattr *xattrs,
		      size_t n_xattrs, const char *real, vfg_error *err);

#endif
