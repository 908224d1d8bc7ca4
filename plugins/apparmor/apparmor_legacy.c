/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The saved originals of journal format 1. A vfguard of that format kept an
 * original too large for the undo text as STATE/apparmor/DOMAIN.HASH.original
 * (HASH: its 64-bit FNV-1a, 16 hex digits), written as root with mode 0600
 * before the intent that named it. A journal it wrote still names them after
 * an upgrade, so revoke reads such a copy and removes it once the original is
 * back; nothing writes one any more (the journal's store has taken over,
 * vfg_txn_save). This file goes when no supported upgrade starts from format 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "apparmor.h"

#define LEGACY_DIRECTORY "apparmor"
#define LEGACY_SUFFIX ".original"

/* 64-bit FNV-1a: offset basis and prime from the FNV reference (draft-eastlake-fnv), as format 1 hashed. */
static void legacy_hash(const void *data, size_t size, char hash[APPARMOR_V1_HASH_DIGITS + 1])
{
	uint64_t h = 0xcbf29ce484222325ull;
	const unsigned char *bytes = data;
	for (size_t i = 0; i < size; i++) {
		h ^= bytes[i];
		h *= 0x100000001b3ull;
	}
	snprintf(hash, APPARMOR_V1_HASH_DIGITS + 1, "%016llx", (unsigned long long)h);
}

static int legacy_directory(const vfg_labeler_env *env, char *buf, size_t size, vfg_error *err)
{
	const char *state_dir = vfg_config_get(env->config, "state_dir");
	char logical[VFG_PATH_MAX];
	int n = snprintf(logical, sizeof(logical), "%s/%s", state_dir, LEGACY_DIRECTORY);
	if (n < 0 || (size_t)n >= sizeof(logical))
		return vfg_error_set(err, ENAMETOOLONG, state_dir, "apparmor: state path too long");
	return vfg_env_host_path(env, logical, buf, size, err);
}

static int legacy_path(const vfg_labeler_env *env, const char *domain, const apparmor_undo *undo, char *buf,
		       size_t size, vfg_error *err)
{
	char dir[VFG_PATH_MAX];
	if (legacy_directory(env, dir, sizeof(dir), err) < 0)
		return -1;
	int n = snprintf(buf, size, "%s/%s.%s%s", dir, domain, undo->hash, LEGACY_SUFFIX);
	if (n < 0 || (size_t)n >= size)
		return vfg_error_set(err, ENAMETOOLONG, dir, "apparmor: saved original's path too long");
	return 0;
}

int apparmor_legacy_saved_read(const vfg_labeler_env *env, const char *domain, const apparmor_undo *undo,
			       char **content, vfg_error *err)
{
	char path[VFG_PATH_MAX + VFG_NAME_MAX + 32], hash[APPARMOR_V1_HASH_DIGITS + 1];
	*content = NULL;
	if (legacy_path(env, domain, undo, path, sizeof(path), err) < 0)
		return -1;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vfg_error_set(err, errno, path, "apparmor: cannot open the saved original of the rules file");
	/* Written as root into the state directory (0600): anything else is not the copy the grant saved. */
	struct stat st;
	if (fstat(fd, &st) < 0)
		return vfg_error_set(err, errno, path, "apparmor: cannot stat the saved original");
	if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return vfg_error_set(err, EPERM, path,
				     "apparmor: the saved original is owned by uid %u with mode %04o; only a regular "
				     "file root alone can have written is restored",
				     (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	_cleanup_free_ char *buf = malloc(undo->size + 1);
	if (!buf)
		return vfg_error_set(err, ENOMEM, path, "apparmor: cannot read the saved original");
	size_t used = 0;
	for (;;) {
		/* One byte past the journaled size: a longer file must show as one. */
		ssize_t n = read(fd, buf + used, undo->size + 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vfg_error_set(err, errno, path, "apparmor: cannot read the saved original");
		used += (size_t)n;
		if (n == 0 || used == undo->size + 1)
			break;
	}
	legacy_hash(buf, used, hash);
	if (used != undo->size || strcmp(hash, undo->hash) != 0)
		return vfg_error_set(err, EINVAL, path,
				     "apparmor: the saved original is not the one journaled (size or hash differ); "
				     "refusing to restore it");
	*content = buf;
	buf = NULL;
	return 0;
}

int apparmor_legacy_saved_remove(const vfg_labeler_env *env, const char *domain, const apparmor_undo *undo,
				 vfg_error *err)
{
	char dir[VFG_PATH_MAX], path[VFG_PATH_MAX + VFG_NAME_MAX + 32];
	if (legacy_directory(env, dir, sizeof(dir), err) < 0 ||
	    legacy_path(env, domain, undo, path, sizeof(path), err) < 0)
		return -1;
	if (vfg_file_remove(path, err) < 0)
		return -1;
	return apparmor_directory_remove_empty(dir, err);
}
