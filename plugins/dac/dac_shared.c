/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Shared nodes (/dev/vfio/vfio, /dev/iommu) serve every VM of the host, so
 * their owner and mode stay the host's. A hypervisor uid that needs one gets
 * a POSIX ACL_USER entry: for anyone but the owner, posix_acl_permission()
 * (fs/posix_acl.c) lets an ACL_USER entry matching the fsuid decide, masked
 * by ACL_MASK. The core counts holders; the entry of a uid goes when the last
 * domain of that uid goes, and the node's original ACL and mode come back,
 * byte for byte, when the last domain of all goes.
 */
#include <endian.h>
#include <errno.h>
#include <linux/posix_acl_xattr.h>
#include <stdio.h>
#include <string.h>
#include <acl/libacl.h> /* acl_get_perm() */
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "dac.h"
#include "vfg_fault.h"

static inline void dac_acl_freep(acl_t *acl)
{
	if (*acl)
		acl_free(*acl);
}
#define _cleanup_acl_ __attribute__((cleanup(dac_acl_freep)))

int dac_acl_present(const vfg_node_fd *nfd, bool *present, vfg_error *err)
{
	if (getxattr(nfd->proc, DAC_ACL_XATTR, NULL, 0) >= 0) {
		*present = true;
		return 0;
	}
	/* EOPNOTSUPP: a file system mounted without ACLs, where none can be. */
	if (errno == ENODATA || errno == EOPNOTSUPP) {
		*present = false;
		return 0;
	}
	return vfg_error_set(err, errno, nfd->real, "cannot read %s", DAC_ACL_XATTR);
}

int dac_original_read(const vfg_node_fd *nfd, dac_original *original, vfg_error *err)
{
	original->mode = nfd->st.st_mode & 07777;
	ssize_t n = getxattr(nfd->proc, DAC_ACL_XATTR, original->acl, sizeof(original->acl));
	if (n >= 0) {
		original->acl_size = (size_t)n;
		return 0;
	}
	if (errno == ENODATA || errno == EOPNOTSUPP) {
		original->acl_size = 0;
		return 0;
	}
	if (errno == ERANGE)
		return vfg_error_set(err, 0, nfd->real, "its ACL is over %d bytes, too large to journal; refusing",
				     DAC_ACL_MAX);
	return vfg_error_set(err, errno, nfd->real, "cannot read %s", DAC_ACL_XATTR);
}

void dac_original_format(const dac_original *original, char *buf, size_t size)
{
	int used = snprintf(buf, size, "mode=%04o acl=%s", (unsigned)original->mode, original->acl_size ? "" : "none");
	if (used > 0 && (size_t)used < size)
		vfg_hex_encode(original->acl, original->acl_size, buf + used, size - (size_t)used);
}

/*
 * Is @original an access ACL the kernel can have given getxattr(2) for a node
 * of its mode? The layout of include/uapi/linux/posix_acl_xattr.h: version 2,
 * whole entries, each tag once but ACL_USER and ACL_GROUP, no permission
 * beyond rwx; and, as posix_acl_chmod() keeps them, the owner, mask (the
 * owning group without one) and other entries equal to the mode's bits.
 */
static bool dac_acl_matches_mode(const dac_original *original)
{
	const size_t header = sizeof(struct posix_acl_xattr_header);
	const size_t entry_size = sizeof(struct posix_acl_xattr_entry);
	struct posix_acl_xattr_header version;
	if (original->acl_size < header + 3 * entry_size || (original->acl_size - header) % entry_size)
		return false;
	memcpy(&version, original->acl, header);
	if (le32toh(version.a_version) != POSIX_ACL_XATTR_VERSION)
		return false;
	int user_obj = -1, group_obj = -1, mask = -1, other = -1;
	for (size_t off = header; off < original->acl_size; off += entry_size) {
		struct posix_acl_xattr_entry entry;
		memcpy(&entry, original->acl + off, entry_size);
		unsigned tag = le16toh(entry.e_tag), perm = le16toh(entry.e_perm);
		int *single = tag == ACL_USER_OBJ    ? &user_obj
			      : tag == ACL_GROUP_OBJ ? &group_obj
			      : tag == ACL_MASK      ? &mask
			      : tag == ACL_OTHER     ? &other
						     : NULL;
		if (perm > 07 || (!single && tag != ACL_USER && tag != ACL_GROUP) || (single && *single >= 0))
			return false;
		if (single)
			*single = (int)perm;
	}
	int group_bits = mask >= 0 ? mask : group_obj;
	return user_obj == (int)(original->mode >> 6 & 07) && group_obj >= 0 &&
	       group_bits == (int)(original->mode >> 3 & 07) && other == (int)(original->mode & 07);
}

/*
 * The last revoke puts this mode and ACL back as root, so only what a grant
 * can have journaled is taken: exactly dac_original_format()'s text, no set-id
 * or sticky bits (dac_plan refuses a node with them), and an ACL as the
 * kernel keeps one for that mode.
 */
int dac_original_parse(const char *text, const vfg_node *node, dac_original *original, vfg_error *err)
{
	unsigned mode;
	int start = -1;
	char canonical[DAC_ORIGINAL_UNDO_MAX] = "";
	bool ok = text && sscanf(text, "mode=%o acl=%n", &mode, &start) == 1 && start > 0 && mode <= 07777;
	if (ok) {
		original->mode = mode;
		/* Upper-case or empty hex decodes too, and fails the comparison with the canonical form below. */
		ssize_t n = strcmp(text + start, "none") == 0
				    ? 0
				    : vfg_hex_decode(text + start, original->acl, sizeof(original->acl));
		ok = n >= 0;
		original->acl_size = ok ? (size_t)n : 0;
	}
	if (ok)
		dac_original_format(original, canonical, sizeof(canonical));
	if (!ok || strcmp(text, canonical) != 0)
		return vfg_error_set(err, 0, node->path, "dac: journal record '%s' is not 'mode=OOOO acl=none|HEX'",
				     text ? text : "(none)");
	if (dac_undo_check_bits(text, node, mode, err) < 0)
		return -1;
	if (original->acl_size && !dac_acl_matches_mode(original))
		return vfg_error_set(err, 0, node->path,
				     "dac: journal record '%.200s' holds no access ACL the kernel keeps for mode %04o; "
				     "refusing to restore it",
				     text, mode);
	return 0;
}

bool dac_acl_same_but_owner_mask(const dac_original *a, const dac_original *b)
{
	/* Layout: include/uapi/linux/posix_acl_xattr.h; the kernel writes the entries in its own order. */
	const size_t header = sizeof(struct posix_acl_xattr_header), entry_size = sizeof(struct posix_acl_xattr_entry);
	if (a->acl_size != b->acl_size || memcmp(a->acl, b->acl, a->acl_size < header ? a->acl_size : header) != 0)
		return false;
	for (size_t off = header; off + entry_size <= a->acl_size; off += entry_size) {
		struct posix_acl_xattr_entry x, y;
		memcpy(&x, a->acl + off, entry_size);
		memcpy(&y, b->acl + off, entry_size);
		if (x.e_tag != y.e_tag || x.e_id != y.e_id ||
		    (le16toh(x.e_tag) != ACL_USER_OBJ && le16toh(x.e_tag) != ACL_MASK && x.e_perm != y.e_perm))
			return false;
	}
	return true;
}

/* The permissions of the ACL_USER entry for @uid in the original ACL, or -1 when it had none. */
static int dac_original_user_perm(const dac_original *original, uid_t uid)
{
	/* Layout: include/uapi/linux/posix_acl_xattr.h, a little-endian header then entries. */
	const size_t header = sizeof(struct posix_acl_xattr_header);
	for (size_t off = header; off + sizeof(struct posix_acl_xattr_entry) <= original->acl_size;
	     off += sizeof(struct posix_acl_xattr_entry)) {
		struct posix_acl_xattr_entry entry;
		memcpy(&entry, original->acl + off, sizeof(entry));
		if (le16toh(entry.e_tag) == ACL_USER && le32toh(entry.e_id) == uid)
			return le16toh(entry.e_perm);
	}
	return -1;
}

/* The entry tagged @tag, for ACL_USER the one naming @uid; NULL when there is none. */
static acl_entry_t dac_acl_find(acl_t acl, acl_tag_t tag, uid_t uid)
{
	acl_entry_t entry;
	for (int which = ACL_FIRST_ENTRY; acl_get_entry(acl, which, &entry) == 1; which = ACL_NEXT_ENTRY) {
		acl_tag_t entry_tag;
		if (acl_get_tag_type(entry, &entry_tag) < 0 || entry_tag != tag)
			continue;
		if (tag != ACL_USER)
			return entry;
		uid_t *qualifier = acl_get_qualifier(entry);
		bool match = qualifier && *qualifier == uid;
		acl_free(qualifier);
		if (match)
			return entry;
	}
	return NULL;
}

/* Give @entry @perm (ACL_READ | ACL_WRITE | ACL_EXECUTE bits) on top of what it has, or exactly with @exact. */
static int dac_entry_set_perm(acl_entry_t entry, int perm, bool exact)
{
	acl_permset_t permset;
	if (acl_get_permset(entry, &permset) < 0 || (exact && acl_clear_perms(permset) < 0))
		return -1;
	const acl_perm_t bits[] = {ACL_READ, ACL_WRITE, ACL_EXECUTE};
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((perm & (int)bits[i]) && acl_add_perm(permset, bits[i]) < 0)
			return -1;
	return acl_set_permset(entry, permset);
}

static acl_entry_t dac_acl_user_entry(acl_t *acl, uid_t uid)
{
	acl_entry_t entry = dac_acl_find(*acl, ACL_USER, uid);
	if (entry)
		return entry;
	if (acl_create_entry(acl, &entry) < 0 || acl_set_tag_type(entry, ACL_USER) < 0 ||
	    acl_set_qualifier(entry, &uid) < 0)
		return NULL;
	return entry;
}

/* Write @acl as the node's access ACL; the kernel sets the group bits to its mask (posix_acl_update_mode()). */
static int dac_acl_write(const vfg_node_fd *nfd, acl_t acl, const char *what, vfg_error *err)
{
	if (acl_valid(acl) < 0)
		return vfg_error_set(err, errno, nfd->real, "%s would make an invalid ACL", what);
	if (vfg_fault("dac.acl_set") || acl_set_file(nfd->proc, ACL_TYPE_ACCESS, acl) < 0)
		return vfg_error_set(err, errno, nfd->real, "cannot set the ACL for %s", what);
	return 0;
}

/* Does the access ACL let @uid read and write (its ACL_USER entry, masked by ACL_MASK)? @found says what is there. */
int dac_shared_allows(const vfg_node_fd *nfd, uid_t uid, bool *allows, char *found, size_t size, vfg_error *err)
{
	*allows = false;
	bool present;
	if (dac_acl_present(nfd, &present, err) < 0)
		return -1;
	if (!present) {
		snprintf(found, size, "no access ACL");
		return 0;
	}
	_cleanup_acl_ acl_t acl = acl_get_file(nfd->proc, ACL_TYPE_ACCESS);
	if (!acl)
		return vfg_error_set(err, errno, nfd->real, "cannot read the access ACL");
	acl_entry_t user = dac_acl_find(acl, ACL_USER, uid), mask = dac_acl_find(acl, ACL_MASK, 0);
	acl_permset_t user_perms, mask_perms;
	if (!user) {
		snprintf(found, size, "an access ACL with no entry for uid %u", (unsigned)uid);
		return 0;
	}
	if (acl_get_permset(user, &user_perms) < 0 || (mask && acl_get_permset(mask, &mask_perms) < 0))
		return vfg_error_set(err, errno, nfd->real, "cannot read the ACL's permissions");
	bool entry_rw = acl_get_perm(user_perms, ACL_READ) == 1 && acl_get_perm(user_perms, ACL_WRITE) == 1;
	bool mask_rw = !mask || (acl_get_perm(mask_perms, ACL_READ) == 1 && acl_get_perm(mask_perms, ACL_WRITE) == 1);
	*allows = entry_rw && mask_rw;
	snprintf(found, size, "entry u:%u:%s, mask %s", (unsigned)uid, entry_rw ? "rw" : "without rw",
		 mask_rw ? "allowing rw" : "without rw");
	return 0;
}

static int dac_acl_grant_user(const vfg_node_fd *nfd, uid_t uid, vfg_error *err)
{
	char what[64];
	snprintf(what, sizeof(what), "entry u:%u:rw", (unsigned)uid);
	/* acl_get_file() of a node without an ACL gives the three entries of its mode. */
	_cleanup_acl_ acl_t acl = acl_get_file(nfd->proc, ACL_TYPE_ACCESS);
	if (!acl)
		return vfg_error_set(err, errno, nfd->real, "cannot read the ACL");
	const int rw = ACL_READ | ACL_WRITE;
	acl_entry_t user = dac_acl_user_entry(&acl, uid);
	if (!user || dac_entry_set_perm(user, rw, false) < 0)
		return vfg_error_set(err, errno, nfd->real, "cannot make the ACL %s", what);

	/*
	 * The mask only widens by rw: recalculating it (acl_calc_mask(), as
	 * setfacl does) would also lift every other named entry and the owning
	 * group to their full permissions, past a mask narrowed on purpose. With
	 * no mask yet the ACL was its mode's three entries, and the union
	 * acl_calc_mask() makes is exactly the owning group's bits plus rw.
	 */
	acl_entry_t mask = dac_acl_find(acl, ACL_MASK, 0);
	if (mask ? dac_entry_set_perm(mask, rw, false) < 0 : acl_calc_mask(&acl) < 0)
		return vfg_error_set(err, errno, nfd->real, "cannot widen the ACL mask for %s", what);
	return dac_acl_write(nfd, acl, what, err);
}

/*
 * Put the uid's ACL_USER entry back as the original had it: gone, or its old
 * permissions. The mask stays: the other uids' entries still need it.
 */
static int dac_acl_restore_user(const vfg_node_fd *nfd, uid_t uid, const dac_original *original, vfg_error *err)
{
	_cleanup_acl_ acl_t acl = acl_get_file(nfd->proc, ACL_TYPE_ACCESS);
	if (!acl)
		return vfg_error_set(err, errno, nfd->real, "cannot read the ACL");
	int perm = dac_original_user_perm(original, uid);
	acl_entry_t user = dac_acl_find(acl, ACL_USER, uid);
	char what[64];
	if (perm < 0) {
		if (!user) /* never granted, or revoked already */
			return 0;
		snprintf(what, sizeof(what), "dropping entry u:%u", (unsigned)uid);
		if (acl_delete_entry(acl, user) < 0)
			return vfg_error_set(err, errno, nfd->real, "cannot make the ACL %s", what);
	} else {
		snprintf(what, sizeof(what), "entry u:%u back to its original permissions", (unsigned)uid);
		user = dac_acl_user_entry(&acl, uid);
		if (!user || dac_entry_set_perm(user, perm, true) < 0)
			return vfg_error_set(err, errno, nfd->real, "cannot make the ACL %s", what);
	}
	return dac_acl_write(nfd, acl, what, err);
}

/* The node as it was before vfguard: the raw xattr, or none, then the mode. */
int dac_original_restore(const vfg_node_fd *nfd, const dac_original *original, bool mode_is_original, vfg_error *err)
{
	if (original->acl_size) {
		if (vfg_fault("dac.acl_restore") ||
		    setxattr(nfd->proc, DAC_ACL_XATTR, original->acl, original->acl_size, 0) < 0)
			return vfg_error_set(err, errno, nfd->real, "cannot put back its original ACL");
	} else {
		/*
		 * No ACL, and the mode put back already: nothing to do, and no
		 * chmod. Asked first: removing an access ACL a node does not
		 * have succeeds (tmpfs: the VFS sets "none"), so its error
		 * cannot tell.
		 */
		bool present = true;
		if (mode_is_original && dac_acl_present(nfd, &present, err) < 0)
			return -1;
		if (!present)
			return 0;
		if ((vfg_fault("dac.acl_remove") || removexattr(nfd->proc, DAC_ACL_XATTR) < 0) && errno != ENODATA &&
		    errno != EOPNOTSUPP)
			return vfg_error_set(err, errno, nfd->real, "cannot remove the ACL vfguard added");
	}
	/*
	 * Setting or removing an ACL leaves the group bits at a mask
	 * (posix_acl_update_mode()), so the mode comes back last. chmod of a
	 * node with an ACL rewrites its owner, mask and other entries from the
	 * mode (posix_acl_chmod()); the original mode matches the original ACL,
	 * so the bytes stay the original's.
	 */
	if (vfg_fault("dac.chmod_back") || chmod(nfd->proc, original->mode) < 0)
		return vfg_error_set(err, errno, nfd->real, "cannot chmod back to %04o", (unsigned)original->mode);
	return 0;
}

int dac_shared_intent(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, err) < 0)
		return -1;

	/*
	 * Other holders' entries are on the node now: every holder journals the
	 * node as the first one found it, so whichever revokes last restores the
	 * state before vfguard.
	 */
	vfg_shared_holders holders;
	vfg_txn_shared_holders(txn, node, &holders);
	dac_original original;
	if (holders.others ? dac_original_parse(holders.original, node, &original, err) < 0
			   : dac_original_read(&nfd, &original, err) < 0)
		return -1;

	char undo[DAC_ORIGINAL_UNDO_MAX];
	dac_original_format(&original, undo, sizeof(undo));
	return vfg_txn_intent(txn, node, undo, err);
}

int dac_shared_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node, vfg_txn *txn,
		     vfg_error *err)
{
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, err) < 0 || dac_acl_grant_user(&nfd, domain->uid, err) < 0)
		return -1;
	return vfg_txn_done(txn, node, err);
}

int dac_shared_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node, vfg_txn *txn,
		      vfg_error *err)
{
	dac_original original;
	if (dac_original_parse(vfg_txn_undo(txn, node), node, &original, err) < 0)
		return -1;
	vfg_shared_holders holders;
	vfg_txn_shared_holders(txn, node, &holders);
	if (holders.others_same_uid > 0) /* another domain of this uid still opens it through the entry */
		return 0;

	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	int r = dac_revoke_open(env, node, txn, &nfd, err);
	if (r <= 0)
		return r;
	if (holders.others == 0)
		return dac_original_restore(&nfd, &original, false, err);
	return dac_acl_restore_user(&nfd, domain->uid, &original, err);
}
