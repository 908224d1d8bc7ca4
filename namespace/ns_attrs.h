/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_NAMESPACE_NS_ATTRS_H
#define VFGUARD_NAMESPACE_NS_ATTRS_H

/* The parent's side of a namespace entry: building the request, reading the host node, describing files. */

#include <vfguard/labeler.h>

#include "ns_entry.h"

/* Split @node's logical path into the request's directories and name, under env->root; mark for @domain. */
int ns_request_init(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node,
		    ns_entry_request *request, vfg_error *err);
/* ROOT + the first @depth components (the name is component n_dirs), for messages and the journal. */
void ns_request_path(const ns_entry_request *request, size_t depth, char *buf, size_t size);

/*
 * The host node as the labelers before this one left it: rdev, owner, mode
 * and the raw ACL and SELinux label, read through the fd vfg_node_open()
 * checked.
 */
int ns_host_node_read(const vfg_labeler_env *env, const vfg_node *node, ns_attrs *attrs, vfg_error *err);

/* "owner, mode, ACL": what differs between the two (type, rdev, owner, mode, ACL, label); "" when nothing. */
void ns_attrs_differences(const ns_attrs *seen, const ns_attrs *want, char *buf, size_t size);
/* "c 243:0 107:107 0600 acl(28 bytes) label system_u:...", or "a regular file (0:0 0644)". */
void ns_attrs_describe(const ns_attrs *attrs, char *buf, size_t size);

#endif
