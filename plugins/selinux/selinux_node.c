/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A node's label, set and put back on the O_PATH fd vfg_node_open() checked,
 * through its /proc/self/fd/N magic link (the xattr calls refuse an O_PATH fd,
 * and the link resolves to the opened inode, never to what the path names now).
 *
 * The undo text is the node's security.selinux as it was, byte for byte:
 * "label=BYTES" with bytes outside '!'..'~' and '%' written %XX
 * (vfg_percent_encode; the NUL that libselinux stores at the end shows as
 * %00), or "none" when the node had no
 * label. Shared nodes journal the first holder's original, so every record
 * carries the node as it was before vfguard.
 */
#include <errno.h>
#include <selinux/label.h>
#include <selinux/selinux.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "selinux_labeler.h"
#include "vfg_fault.h"

int selinux_node_label_read(const vfg_node_fd *nfd, selinux_label_bytes *label, vfg_error *err)
{
	memset(label, 0, sizeof(*label));
	ssize_t n = getxattr(nfd->proc, SELINUX_XATTR, label->bytes, sizeof(label->bytes));
	if (n >= 0) {
		label->present = true;
		label->len = (size_t)n;
		return 0;
	}
	/* ENODATA: no label; EOPNOTSUPP: a file system without xattrs, which has none either. */
	if (errno == ENODATA || errno == EOPNOTSUPP)
		return 0;
	return vfg_error_set(err, errno, nfd->real, "selinux: cannot read the label");
}

void selinux_label_text(const selinux_label_bytes *label, char *buf, size_t size)
{
	size_t len = label->len;
	if (len > 0 && label->bytes[len - 1] == '\0')
		len--;
	if (!label->present)
		snprintf(buf, size, "(no label)");
	else
		snprintf(buf, size, "%.*s", (int)len, label->bytes);
}

static void undo_format(const selinux_label_bytes *label, char *buf, size_t size)
{
	if (!label->present) {
		snprintf(buf, size, "none");
		return;
	}
	int used = snprintf(buf, size, "label=");
	if (used > 0 && (size_t)used < size)
		vfg_percent_encode(label->bytes, label->len, buf + used, size - (size_t)used);
}

/*
 * An fd-access node opened through private nodes (selinux_fd_nodes =
 * private): the record holds the domain's labels for it and says the host
 * node was left as it was, "private " and its label then, which audit
 * compares with the label now and revoke never writes back.
 */
#define UNDO_PRIVATE "private "

const char *selinux_undo_private(const char *text)
{
	return text && strncmp(text, UNDO_PRIVATE, strlen(UNDO_PRIVATE)) == 0 ? text + strlen(UNDO_PRIVATE) : NULL;
}

static int undo_parse(const char *text, const vfg_node *node, selinux_label_bytes *label, vfg_error *err)
{
	memset(label, 0, sizeof(*label));
	if (selinux_undo_private(text))
		text = selinux_undo_private(text);
	if (strcmp(text, "none") == 0)
		return 0;
	if (strncmp(text, "label=", 6) != 0)
		return vfg_error_set(err, 0, node->path, "selinux: journal record '%s' is not 'label=...' or 'none'",
				     text);
	label->present = true;
	ssize_t n = vfg_percent_decode(text + 6, label->bytes, sizeof(label->bytes));
	if (n == -ENOBUFS)
		return vfg_error_set(err, E2BIG, node->path, "selinux: journaled label too long");
	if (n < 0)
		return vfg_error_set(err, 0, node->path, "selinux: journal record '%s': bad %%XX", text);
	label->len = (size_t)n;
	/*
	 * Any bytes are a label a node can have had (the kernel stores what
	 * root writes where no policy checks it), so the bound is the form:
	 * exactly what undo_format() writes for them, nothing sscanf-loose.
	 */
	char canonical[VFG_UNDO_MAX + 1];
	undo_format(label, canonical, sizeof(canonical));
	if (strcmp(text, canonical) != 0)
		return vfg_error_set(err, 0, node->path,
				     "selinux: journal record '%.200s' is not the label as vfguard writes one "
				     "('label=' and the bytes, %%XX for any but printable ASCII)",
				     text);
	return 0;
}

/* Set @label as libselinux's setfilecon_raw() stores one: the text and its NUL. */
static int node_label_set(const vfg_node_fd *nfd, const char *label, vfg_error *err)
{
	if (vfg_fault("selinux.label_set") || setxattr(nfd->proc, SELINUX_XATTR, label, strlen(label) + 1, 0) < 0)
		return vfg_error_set(err, errno, nfd->real, "selinux: cannot label it %s", label);
	return 0;
}

/* The file contexts' label for @path (what restorecon would set), into @buf; 0 when the policy has none. */
static int policy_default_label(const char *path, char *buf, size_t size, vfg_error *err)
{
	struct selabel_handle *handle = selabel_open(SELABEL_CTX_FILE, NULL, 0);
	if (!handle)
		return vfg_error_set(err, errno, path, "selinux: cannot open the policy's file contexts");
	char *context = NULL;
	int r = selabel_lookup_raw(handle, &context, path, S_IFCHR);
	int saved = errno;
	selabel_close(handle);
	if (r < 0)
		return saved == ENOENT ? 0 : vfg_error_set(err, saved, path, "selinux: file contexts lookup failed");
	snprintf(buf, size, "%s", context);
	freecon(context);
	return 1;
}

/*
 * Put back what the journal says was there. "none": the node had no label;
 * removing one is refused while a policy is loaded (selinux_inode_removexattr()
 * in security/selinux/hooks.c: "No one is allowed to remove a SELinux security
 * label"), so the node then gets the policy's default for its path, as udev's
 * restorecon would give a node created since.
 */
static int node_label_restore(const vfg_node *node, const vfg_node_fd *nfd, const selinux_label_bytes *original,
			      vfg_txn *txn, vfg_error *err)
{
	if (original->present) {
		if (vfg_fault("selinux.label_restore") ||
		    setxattr(nfd->proc, SELINUX_XATTR, original->bytes, original->len, 0) < 0)
			return vfg_error_set(err, errno, nfd->real, "selinux: cannot put its label back");
		return 0;
	}
	if ((!vfg_fault("selinux.label_remove") && removexattr(nfd->proc, SELINUX_XATTR) == 0) || errno == ENODATA)
		return 0;
	if (errno != EACCES && errno != EPERM && errno != EOPNOTSUPP)
		return vfg_error_set(err, errno, nfd->real, "selinux: cannot remove the label vfguard set");
	char fallback[VFG_LABEL_MAX];
	int r = policy_default_label(node->path, fallback, sizeof(fallback), err);
	if (r < 0)
		return -1;
	if (r == 0) {
		vfg_txn_note(txn,
			     "selinux: %s had no label before vfguard and the policy has no default for it; "
			     "its label stays",
			     nfd->real);
		return 0;
	}
	vfg_txn_note(txn, "selinux: %s had no label before vfguard; it gets the policy's default %s", nfd->real,
		     fallback);
	return node_label_set(nfd, fallback, err);
}

static int selinux_revoke_open(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_node_fd *nfd,
			       vfg_error *err)
{
	vfg_error why = {0};
	if (vfg_node_fd_open(env, node, nfd, &why) == 0)
		return 1;
	return vfg_txn_unopened(txn, &why, err);
}

/* A shared node's record: the node before vfguard, the first holder's or its label now. */
static int intent_shared(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	selinux_label_bytes now;
	if (vfg_node_fd_open(env, node, &nfd, err) < 0 || selinux_node_label_read(&nfd, &now, err) < 0)
		return -1;
	vfg_shared_holders holders;
	vfg_txn_shared_holders(txn, node, &holders);
	char undo[VFG_UNDO_MAX + 1];
	if (holders.others)
		snprintf(undo, sizeof(undo), "%s",
			 holders.original); /* the node before vfguard, not its shared label */
	else
		undo_format(&now, undo, sizeof(undo));
	return vfg_txn_intent(txn, node, undo, err);
}

/* An exclusive node's record, then the domain's labels held for it (allocated by its first node). */
static int intent_exclusive(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node, vfg_txn *txn,
			    vfg_error *err)
{
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	selinux_label_bytes now;
	if (vfg_node_fd_open(env, node, &nfd, err) < 0 || selinux_node_label_read(&nfd, &now, err) < 0)
		return -1;
	char undo[VFG_UNDO_MAX + 1];
	size_t prefix = selinux_fd_private(env, node) ? strlen(UNDO_PRIVATE) : 0;
	snprintf(undo, sizeof(undo), "%s", prefix ? UNDO_PRIVATE : "");
	undo_format(&now, undo + prefix, sizeof(undo) - prefix);
	/* Journaled before the labels are held: a crash in between is undone by revoke, which releases them. */
	selinux_labels labels;
	if (vfg_txn_intent(txn, node, undo, err) < 0 ||
	    selinux_labels_hold(env, domain, node->path, txn, &labels, err) < 0)
		return -1;
	return 0;
}

/*
 * Intent and grant are two passes (labeler.h: intent): a node's undo is its
 * own label, which no other step of the apply changes. The labels entry the
 * exclusive nodes share is side state, changed in the intent pass only: the
 * first node's intent allocates the labels and each adds its node, in
 * order, all durable with the pass; the grants only read it.
 */
int selinux_intent(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		   const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	return node->shared ? intent_shared(env, node, txn, err) : intent_exclusive(env, domain, node, txn, err);
}

int selinux_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		  const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	/* Without the intent pass (a core that calls grant alone), journal first, as the pass would have. */
	if (!vfg_txn_undo(txn, node) && selinux_intent(env, domain, probe, node, step, txn, err) < 0)
		return -1;
	const char *label = vfg_config_get(env->config, "selinux_shared_label");
	selinux_labels labels;
	if (!node->shared) {
		int held = selinux_labels_recorded(vfg_txn_state_get(txn, SELINUX_STATE_LABELS), domain, &labels, err);
		if (held < 0)
			return -1;
		if (!held)
			return vfg_error_set(err, EINVAL, node->path,
					     "selinux: the domain holds no labels for its node");
		label = labels.image;
	}
	/* Private nodes carry the label (selinux_private.c); the host node stays as it is. */
	if (selinux_undo_private(vfg_txn_undo(txn, node)))
		return vfg_txn_done(txn, node, err);
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, err) < 0 || node_label_set(&nfd, label, err) < 0)
		return -1;
	return vfg_txn_done(txn, node, err);
}

int selinux_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		   vfg_txn *txn, vfg_error *err)
{
	selinux_label_bytes original;
	if (undo_parse(vfg_txn_undo(txn, node), node, &original, err) < 0)
		return -1;
	if (node->shared) {
		vfg_shared_holders holders;
		vfg_txn_shared_holders(txn, node, &holders);
		if (holders.others)
			return 0; /* another domain still needs the shared label; the last one puts the original back */
	}
	/* A private-node record changed no label of the host's: nothing to put back, only the labels to release. */
	if (selinux_undo_private(vfg_txn_undo(txn, node)))
		return node->shared ? 0 : selinux_labels_release(domain, node->path, txn, err);
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	int r = selinux_revoke_open(env, node, txn, &nfd, err);
	if (r < 0 || (r > 0 && node_label_restore(node, &nfd, &original, txn, err) < 0))
		return -1;
	/* Put back whether or not the grant happened, and a second time too; the labels go with their last node. */
	return node->shared ? 0 : selinux_labels_release(domain, node->path, txn, err);
}
