/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_PLUGINS_DAC_H
#define VFGUARD_PLUGINS_DAC_H

/*
 * What the DAC labeler's files share. The labeler acts only on the O_PATH fd
 * vfg_node_open() gives; calls that have no fd form (chmod before Linux 6.6's
 * fchmodat(AT_EMPTY_PATH), the xattr calls on an O_PATH fd, libacl) reach the
 * same inode through its /proc/self/fd/N magic link (vfg_node_fd, util.h),
 * which the kernel resolves to the opened file, never to whatever the path
 * names now.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <vfguard/labeler.h>
#include <vfguard/util.h>

/*
 * Set-id and sticky bits: meaningless on a device node (nothing executes it,
 * and mandatory locking is gone since Linux 5.15), so vfguard refuses to
 * grant a node that carries them, and an undo record asking for them is
 * forged or damaged.
 */
#define DAC_SPECIAL_BITS (S_ISUID | S_ISGID | S_ISVTX)
/* Refuse undo text @text whose @mode has DAC_SPECIAL_BITS, naming the node. */
int dac_undo_check_bits(const char *text, const vfg_node *node, unsigned mode, vfg_error *err);

/*
 * Shared nodes (dac_shared.c): /dev/vfio/vfio and /dev/iommu never change
 * owner; a hypervisor uid gets a POSIX ACL_USER entry instead.
 *
 * The undo text is "mode=0660 acl=none" or "mode=0660 acl=HEX", HEX being the
 * raw system.posix_acl_access xattr: the node as it was before vfguard, so the
 * last revoke can put back the exact bytes, or remove the xattr. An
 * exclusive node's is "uid=U gid=G " and the same (dac.c).
 */

/* The name is XATTR_NAME_POSIX_ACL_ACCESS in include/uapi/linux/xattr.h. */
#define DAC_ACL_XATTR "system.posix_acl_access"
/* 127 entries after the 4-byte header; more than any device node carries, and it keeps a journal line short. */
#define DAC_ACL_MAX 1020
#define DAC_ORIGINAL_UNDO_MAX (sizeof("mode=07777 acl=") + 2 * DAC_ACL_MAX)

/* A node's mode and access ACL as they were before vfguard: what an undo text holds. */
typedef struct dac_original {
	mode_t mode;
	size_t acl_size; /* 0: no access ACL */
	unsigned char acl[DAC_ACL_MAX]; /* the raw xattr, as getxattr(2) gave it */
} dac_original;

/* The node's mode and access ACL (none: acl_size 0); an ACL over DAC_ACL_MAX bytes is refused. */
int dac_original_read(const vfg_node_fd *nfd, dac_original *original, vfg_error *err);
/* "mode=OOOO acl=none" or "mode=OOOO acl=HEX" (HEX: the raw xattr). */
void dac_original_format(const dac_original *original, char *buf, size_t size);
/* Exactly dac_original_format()'s text, no set-id or sticky bit, an ACL the kernel keeps for that mode. */
int dac_original_parse(const char *text, const vfg_node *node, dac_original *original, vfg_error *err);
/*
 * The ACL put back (or removed), then the mode. @mode_is_original: the mode
 * is the original's already, so with no ACL to remove there is no chmod.
 */
int dac_original_restore(const vfg_node_fd *nfd, const dac_original *original, bool mode_is_original, vfg_error *err);
/*
 * The same access ACL, or none, but for the owner's and the mask's entries
 * (an exclusive grant's chmod u+rw,g-rwx sets those; the mode shows them).
 */
bool dac_acl_same_but_owner_mask(const dac_original *a, const dac_original *b);

/* Is there an access ACL on the node? Its group bits then show the mask, not the group. */
int dac_acl_present(const vfg_node_fd *nfd, bool *present, vfg_error *err);

/* Does the access ACL let @uid read and write? @found: what is there, for a finding. */
int dac_shared_allows(const vfg_node_fd *nfd, uid_t uid, bool *allows, char *found, size_t size, vfg_error *err);

/* Journal the node as it was before vfguard: the first holder's record, or the node itself. */
int dac_shared_intent(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_error *err);
/* Give the domain's uid its entry, under the record dac_shared_intent journaled. */
int dac_shared_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node, vfg_txn *txn,
		     vfg_error *err);
int dac_shared_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node, vfg_txn *txn,
		      vfg_error *err);

/*
 * Revoke's open: 1 with nfd->fd set; 0 when there is nothing to restore (the
 * node is gone, or is now something else, which is left alone), after a
 * vfg_txn_note; -1 on any other failure.
 */
int dac_revoke_open(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_node_fd *nfd, vfg_error *err);

#endif
