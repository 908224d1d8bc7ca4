/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A labeler written as a third party would write one: built by its own
 * Makefile against an installed vfguard (its headers, found through
 * vfguard.pc), never by meson, never installed. tests/test_library.c builds
 * it from a copy of this folder and runs it through the installed CLI,
 * crashes included, to prove the labeler ABI v2 is enough on its own.
 *
 * It marks every path-access node with the xattr trusted.oot = "MARK TAG":
 * MARK from its own configuration key oot_mark, TAG from its own domain
 * attribute oot.tag. What was there before (any bytes, of any size an xattr
 * holds, or no xattr at all) is a saved original in the journal's store, and
 * the undo text carries its hash. Every node's holders are a holder set of
 * side state, "holder:PATH" = that hash: the shared container
 * (/dev/vfio/vfio) is marked by its first holder and put back by its last.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vfguard/labeler.h>

#define OOT_XATTR "trusted.oot"
#define OOT_TAG_MAX 32
#define UNDO_PREFIX "saved="
/* "holder:" and a node path: a key longer than VFG_STATE_KEY_MAX is refused by the core, naming it */
#define HOLDER_KEY_MAX (VFG_PATH_MAX + 8)

static void free_pointer(void *pointer)
{
	free(*(void **)pointer);
}

static void close_fd(const int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

#define cleanup_free __attribute__((cleanup(free_pointer)))
#define cleanup_close __attribute__((cleanup(close_fd)))

/* ---- What it declares ---- */

static int check_mark(const char *value, vfg_error *err)
{
	if (!*value || strchr(value, ' '))
		return vfg_error_set(err, EINVAL, value, "oot_mark: a mark is one word, not empty");
	return 0;
}

static int check_tag(const char *value, vfg_error *err)
{
	if (strlen(value) > OOT_TAG_MAX)
		return vfg_error_set(err, EINVAL, value, "oot.tag: longer than %d bytes", OOT_TAG_MAX);
	for (const unsigned char *c = (const unsigned char *)value; *c; c++)
		if (!isprint(*c))
			return vfg_error_set(err, EINVAL, value, "oot.tag: not printable");
	return 0;
}

static const vfg_config_key_def oot_keys[] = {
	{.name = "oot_mark",
	 .default_value = "granted",
	 .check = check_mark,
	 .help = "the word trusted.oot starts with on a granted node"},
	{.name = NULL},
};

static const vfg_attr_def oot_attributes[] = {
	{.name = "tag", .check = check_tag, .help = "the word after the mark in trusted.oot (printable, short)"},
	{.name = NULL},
};

/* ---- The node's xattr, through its O_PATH fd ---- */

/* fgetxattr() and friends refuse an O_PATH fd; its /proc/self/fd link reaches the same inode. */
static void fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/*
 * The node as it is, as saved-original content: "PATH\n", then '-' when it
 * has no trusted.oot, or '=' and the value's bytes. The path makes each
 * node's original its own in the store, even when two nodes hold the same.
 */
static int original_read(int fd, const vfg_node *node, char **content, size_t *size, vfg_error *err)
{
	char proc[64];
	fd_path(fd, proc, sizeof(proc));
	ssize_t length = getxattr(proc, OOT_XATTR, NULL, 0);
	if (length < 0 && errno != ENODATA)
		return vfg_error_set(err, errno, node->path, "cannot read " OOT_XATTR);
	size_t header = strlen(node->path) + 2;
	size_t total = header + (length > 0 ? (size_t)length : 0);
	char *buf = malloc(total + 1);
	if (!buf)
		return vfg_error_set(err, ENOMEM, node->path, "cannot read " OOT_XATTR);
	snprintf(buf, total + 1, "%s\n%c", node->path, length < 0 ? '-' : '=');
	if (length > 0) {
		ssize_t n = getxattr(proc, OOT_XATTR, buf + header, (size_t)length);
		if (n != length) {
			free(buf);
			/* ERANGE: it changed between the two reads; nothing else writes it while vfguard holds the lock
			 */
			return vfg_error_set(err, n < 0 ? errno : ERANGE, node->path, "cannot read " OOT_XATTR);
		}
	}
	*content = buf;
	*size = total;
	return 0;
}

/* Put back what original_read() saved: the value byte for byte, or no xattr at all. */
static int original_write(int fd, const vfg_node *node, const char *content, size_t size, vfg_error *err)
{
	char proc[64];
	fd_path(fd, proc, sizeof(proc));
	size_t header = strlen(node->path) + 2;
	if (size < header || strncmp(content, node->path, header - 2) != 0 || content[header - 2] != '\n' ||
	    (content[header - 1] != '-' && content[header - 1] != '='))
		return vfg_error_set(err, EINVAL, node->path, "the saved original is not oot's for this node");
	if (content[header - 1] == '-') {
		if (removexattr(proc, OOT_XATTR) < 0 && errno != ENODATA)
			return vfg_error_set(err, errno, node->path, "cannot remove " OOT_XATTR);
		return 0;
	}
	if (setxattr(proc, OOT_XATTR, content + header, size - header, 0) < 0)
		return vfg_error_set(err, errno, node->path, "cannot restore " OOT_XATTR);
	return 0;
}

/* "MARK TAG", or "MARK" when the domain has no tag. */
static void mark_text(const vfg_labeler_env *env, const vfg_domain *domain, char *buf, size_t size)
{
	const char *mark = vfg_config_get(env->config, "oot_mark");
	const char *tag = vfg_domain_attr(domain, "oot.tag");
	snprintf(buf, size, "%s%s%s", mark, *tag ? " " : "", tag);
}

static void holder_key(const vfg_node *node, char *buf, size_t size)
{
	snprintf(buf, size, "holder:%s", node->path);
}

/* ---- The callbacks ---- */

static int oot_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	probe->active = true;
	snprintf(probe->note, sizeof(probe->note), "marks path-access nodes with " OOT_XATTR);
	return 0;
}

static int oot_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		    vfg_step *step, vfg_error *err)
{
	char key[HOLDER_KEY_MAX], mark[256];
	if (node->access == VFG_ACCESS_FD)
		return vfg_step_set(step, VFG_ACTION_NONE, "", "fd access: no mark");
	holder_key(node, key, sizeof(key));
	mark_text(env, domain, mark, sizeof(mark));
	char detail[VFG_STEP_DETAIL_MAX];
	snprintf(detail, sizeof(detail), OOT_XATTR "=%.200s", mark);
	if (vfg_env_state_get(env, domain, key))
		return vfg_step_set(step, VFG_ACTION_GRANT, detail, "path access: this domain holds the mark already");
	return vfg_step_set(step, VFG_ACTION_GRANT, detail, "path access: mark it");
}

/*
 * Save the original, journal its hash, join the node's holder set, and mark
 * the node when no other domain holds it. A later holder copies the first
 * holder's original into its own store, so whichever holder is last has it,
 * and leaves the first holder's mark as it is.
 */
static int oot_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		     const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	char key[HOLDER_KEY_MAX], hash[VFG_HASH_STRLEN], undo[sizeof(UNDO_PREFIX) + VFG_HASH_STRLEN];
	holder_key(node, key, sizeof(key));
	const char *first = NULL;
	size_t others = vfg_txn_state_holders(txn, key, &first);
	cleanup_close int fd = vfg_node_open(env, node, err);
	if (fd < 0)
		return -1;
	cleanup_free char *original = NULL;
	size_t size = 0;
	int r = others ? vfg_txn_saved(txn, first, &original, &size, err)
		       : original_read(fd, node, &original, &size, err);
	if (r < 0 || vfg_txn_save(txn, original, size, hash, err) < 0)
		return -1;
	snprintf(undo, sizeof(undo), UNDO_PREFIX "%s", hash);
	if (vfg_txn_intent(txn, node, undo, err) < 0)
		return -1;
	/* Held from before the change: a revoke that finds the entry puts the original back. */
	if (vfg_txn_state_set(txn, key, hash, err) < 0)
		return -1;
	if (others == 0) {
		char mark[256], proc[64];
		mark_text(env, domain, mark, sizeof(mark));
		fd_path(fd, proc, sizeof(proc));
		if (setxattr(proc, OOT_XATTR, mark, strlen(mark), 0) < 0)
			return vfg_error_set(err, errno, node->path, "cannot set " OOT_XATTR);
	}
	return vfg_txn_done(txn, node, err);
}

static int undo_hash(const char *undo, const vfg_node *node, char hash[VFG_HASH_STRLEN], vfg_error *err)
{
	size_t prefix = strlen(UNDO_PREFIX);
	if (!undo || strncmp(undo, UNDO_PREFIX, prefix) != 0 || strlen(undo + prefix) != VFG_HASH_STRLEN - 1)
		return vfg_error_set(err, EINVAL, node->path, "undo '%s' is not oot's", undo ? undo : "(none)");
	snprintf(hash, VFG_HASH_STRLEN, "%s", undo + prefix);
	return 0;
}

static int original_restore(const vfg_labeler_env *env, vfg_txn *txn, const vfg_node *node, const char *hash,
			    vfg_error *err)
{
	cleanup_free char *original = NULL;
	size_t size = 0;
	if (vfg_txn_saved(txn, hash, &original, &size, err) < 0)
		return -1;
	vfg_error why = {0};
	cleanup_close int fd = vfg_node_open(env, node, &why);
	if (fd < 0)
		return vfg_txn_unopened(txn, &why, err);
	return original_write(fd, node, original, size, err);
}

/*
 * The last holder puts the original back; an earlier one leaves the node
 * marked for the others. Either way it then leaves the holder set and drops
 * its copy of the original. A domain not in the holder set never marked the
 * node (grant joins before the change) or has put it back already (revoke
 * leaves after): undo is "put back what was there", and there is nothing to
 * put back then.
 */
static int oot_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
		      const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	char key[HOLDER_KEY_MAX], hash[VFG_HASH_STRLEN];
	if (undo_hash(vfg_txn_undo(txn, node), node, hash, err) < 0)
		return -1;
	holder_key(node, key, sizeof(key));
	if (vfg_txn_state_get(txn, key) && vfg_txn_state_holders(txn, key, NULL) == 0 &&
	    original_restore(env, txn, node, hash, err) < 0)
		return -1;
	if (vfg_txn_state_unset(txn, key, err) < 0)
		return -1;
	return vfg_txn_unsave(txn, hash, err);
}

/* A node this domain holds carries a mark that starts with oot_mark, and the domain is in its holder set. */
static int oot_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe, const vfg_node *node,
		     vfg_finding *finding, vfg_error *err)
{
	char key[HOLDER_KEY_MAX], value[256] = "", proc[64];
	if (node->access == VFG_ACCESS_FD)
		return 0;
	if (!vfg_finding_record(finding, node)) {
		vfg_finding_report(finding, node, VFG_FINDING_MISSING, "a " OOT_XATTR " mark of this domain",
				   "no oot grant", "vfguard apply --domain %s", domain->name);
		return 0;
	}
	holder_key(node, key, sizeof(key));
	if (!vfg_finding_state(finding, key))
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, "the domain in the node's holder set",
				   "no state entry holder:PATH", "vfguard revoke --domain %s, then apply",
				   domain->name);
	cleanup_close int fd = vfg_node_open(env, node, err);
	if (fd < 0)
		return -1;
	fd_path(fd, proc, sizeof(proc));
	ssize_t n = getxattr(proc, OOT_XATTR, value, sizeof(value) - 1);
	if (n < 0 && errno == ENODATA)
		snprintf(value, sizeof(value), "no " OOT_XATTR);
	else if (n < 0 && errno == ERANGE)
		snprintf(value, sizeof(value), "a value of more than %zu bytes", sizeof(value) - 1);
	else if (n < 0)
		return vfg_error_set(err, errno, node->path, "cannot read " OOT_XATTR);
	else
		value[n] = '\0';
	const char *mark = vfg_config_get(env->config, "oot_mark");
	size_t length = strlen(mark);
	if (n < 0 || strncmp(value, mark, length) != 0 || (value[length] != ' ' && value[length] != '\0'))
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, OOT_XATTR " starting with the mark", value,
				   "vfguard revoke --domain %s, then apply", domain->name);
	return 0;
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v2 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.size = VFG_LABELER_SIZE,
	.name = "oot",
	.summary = "out-of-tree test labeler: trusted.oot on each path-access node",
	.scope = VFG_SCOPE_NODE,
	.config_keys = oot_keys,
	.attributes = oot_attributes,
	.probe = oot_probe,
	.plan = oot_plan,
	.grant = oot_grant,
	.revoke = oot_revoke,
	.audit = oot_audit,
};
