/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A labeler for testing the journal and transactions, not shipped: it marks
 * each path-access node with a real trusted.* xattr and restores the original
 * value (or its absence) on revoke. Environment variables make it fail on
 * purpose, after the intent is journaled: VFGUARD_TESTMARK_FAIL_GRANT=PATH and
 * VFGUARD_TESTMARK_FAIL_REVOKE=PATH (logical node paths). With
 * VFGUARD_TESTMARK_REMAKE=PATH its grant of PATH first makes the node again
 * (a new inode, same number, root:root 0600), as udev does after a rebind:
 * it and the labelers after it in the same apply meet the new one.
 *
 * Shared nodes carry the mark while any domain holds them, and get the
 * original back from the last one, as the real labelers count them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vfguard/labeler.h>

#define MARK_XATTR "trusted.vfguard-testmark"

static int testmark_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe_out, vfg_error *err)
{
	probe_out->active = true;
	snprintf(probe_out->note, sizeof(probe_out->note), "marks nodes with " MARK_XATTR);
	return 0;
}

static int testmark_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe_in,
			 const vfg_node *node, vfg_step *step, vfg_error *err)
{
	if (node->access == VFG_ACCESS_FD)
		return vfg_step_set(step, VFG_ACTION_NONE, "", "fd access: no mark");
	return vfg_step_set(step, VFG_ACTION_GRANT, "mark", "path access: mark it");
}

static bool fail_here(const char *variable, const vfg_node *node)
{
	const char *path = getenv(variable);
	return path && strcmp(path, node->path) == 0;
}

/* "absent", or "value=" and the value in hex. */
static int read_mark(int fd, char *undo, size_t size, vfg_error *err)
{
	char proc[64], value[128];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = getxattr(proc, MARK_XATTR, value, sizeof(value));
	if (n < 0 && errno == ENODATA) {
		snprintf(undo, size, "absent");
		return 0;
	}
	if (n < 0)
		return vfg_error_set(err, errno, proc, "cannot read " MARK_XATTR);
	size_t used = (size_t)snprintf(undo, size, "value=");
	for (ssize_t i = 0; i < n && used + 3 < size; i++)
		used += (size_t)snprintf(undo + used, size - used, "%02x", (unsigned char)value[i]);
	return 0;
}

static int write_mark(int fd, const char *undo, vfg_error *err)
{
	char proc[64], value[128];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (undo && strcmp(undo, "absent") == 0) {
		if (removexattr(proc, MARK_XATTR) < 0 && errno != ENODATA)
			return vfg_error_set(err, errno, proc, "cannot remove " MARK_XATTR);
		return 0;
	}
	/* Only what read_mark() wrote: a missing or garbled undo restores nothing rather than some bytes. */
	const char *hex = undo && strncmp(undo, "value=", 6) == 0 ? undo + 6 : NULL;
	size_t length = hex ? strlen(hex) : 1;
	if (!hex || length % 2 || length / 2 > sizeof(value) || strspn(hex, "0123456789abcdef") != length)
		return vfg_error_set(err, EINVAL, proc, "undo '%s' is not testmark's", undo ? undo : "(none)");
	size_t n = 0;
	for (; n < length / 2; n++) {
		unsigned byte;
		sscanf(hex + 2 * n, "%2x", &byte);
		value[n] = (char)byte;
	}
	if (setxattr(proc, MARK_XATTR, value, n, 0) < 0)
		return vfg_error_set(err, errno, proc, "cannot restore " MARK_XATTR);
	return 0;
}

/* The node unlinked and made again: another inode at the path, with the same number. */
static int remake(const vfg_labeler_env *env, const vfg_node *node, vfg_error *err)
{
	char real[4096];
	if (vfg_env_host_path(env, node->path, real, sizeof(real), err) < 0)
		return -1;
	if (unlink(real) < 0 || mknod(real, S_IFCHR | 0600, node->rdev) < 0 || chown(real, 0, 0) < 0)
		return vfg_error_set(err, errno, real, "cannot make the node again");
	return 0;
}

static int testmark_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe_in,
			  const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	char undo[300];
	vfg_shared_holders holders;
	if (fail_here("VFGUARD_TESTMARK_REMAKE", node) && remake(env, node, err) < 0)
		return -1;
	int fd = vfg_node_open(env, node, err);
	if (fd < 0)
		return -1;
	vfg_txn_shared_holders(txn, node, &holders);
	int r = holders.original ? (snprintf(undo, sizeof(undo), "%s", holders.original), 0)
				 : read_mark(fd, undo, sizeof(undo), err);
	if (r == 0)
		r = vfg_txn_intent(txn, node, undo, err);
	if (r == 0 && fail_here("VFGUARD_TESTMARK_FAIL_GRANT", node))
		r = vfg_error_set(err, EIO, node->path, "failing on purpose (VFGUARD_TESTMARK_FAIL_GRANT)");
	if (r == 0) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd); /* fsetxattr() refuses an O_PATH fd */
		if (setxattr(proc, MARK_XATTR, "marked", 6, 0) < 0)
			r = vfg_error_set(err, errno, proc, "cannot mark");
	}
	if (r == 0)
		r = vfg_txn_done(txn, node, err);
	close(fd);
	return r;
}

static int testmark_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe_in,
			   const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	vfg_shared_holders holders;
	if (fail_here("VFGUARD_TESTMARK_FAIL_REVOKE", node))
		return vfg_error_set(err, EIO, node->path, "failing on purpose (VFGUARD_TESTMARK_FAIL_REVOKE)");
	vfg_txn_shared_holders(txn, node, &holders);
	if (holders.others > 0)
		return 0; /* the mark stays while another domain holds the node */
	int fd = vfg_node_open(env, node, err);
	if (fd < 0) {
		if (err && err->errnum == ENOENT) {
			vfg_txn_note(txn, "%s is gone; nothing to restore", node->path);
			return 0;
		}
		return -1;
	}
	int r = write_mark(fd, vfg_txn_undo(txn, node), err);
	close(fd);
	return r;
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v2 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.size = VFG_LABELER_SIZE,
	.name = "testmark",
	.summary = "test only: a trusted.* mark on each node",
	.probe = testmark_probe,
	.plan = testmark_plan,
	.grant = testmark_grant,
	.revoke = testmark_revoke,
	.audit = vfg_labeler_audit_unimplemented,
};
