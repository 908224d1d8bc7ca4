/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What include/vfguard/util.h exports: the helpers the core shares with the
 * plugins and front ends, so that none of them keeps a copy.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "vfg_fault.h"

/* A new file's mode until vfg_file_replace_owned() sets the one asked for. */
#define TEMPORARY_FILE_MODE 0600

VFG_EXPORT int vfg_node_fd_open(const vfg_labeler_env *env, const vfg_node *node, vfg_node_fd *nfd, vfg_error *err)
{
	nfd->fd = -1;
	nfd->proc[0] = '\0';
	if (vfg_env_host_path(env, node->path, nfd->real, sizeof(nfd->real), err) < 0)
		return -1;
	/* The stat that checked the node is the one kept: the same file, right after the open. */
	int fd = vfg_node_open_stat(env, node, &nfd->st, err);
	if (fd < 0)
		return -1;
	nfd->fd = fd;
	vfg_proc_fd_path(nfd->fd, nfd->proc, sizeof(nfd->proc));
	return 0;
}

VFG_EXPORT int vfg_fd_read_all(int fd, const char *name, size_t max, char **content, size_t *size, vfg_error *err)
{
	*content = NULL;
	if (size)
		*size = 0;
	size_t used = 0, capacity = 4096;
	_cleanup_free_ char *buf = malloc(capacity);
	if (!buf)
		return vfg_error_set(err, ENOMEM, name, "cannot read");
	for (;;) {
		if (capacity - used < 2) {
			char *bigger = realloc(buf, capacity * 2);
			if (!bigger)
				return vfg_error_set(err, ENOMEM, name, "cannot read");
			buf = bigger;
			capacity *= 2;
		}
		ssize_t n = read(fd, buf + used, capacity - used - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vfg_error_set(err, errno, name, "cannot read");
		if (n == 0)
			break;
		used += (size_t)n;
		if (max && used > max)
			return vfg_error_set(err, EFBIG, name, "more than %zu bytes", max);
	}
	buf[used] = '\0';
	*content = vfg_steal_ptr(&buf);
	if (size)
		*size = used;
	return 0;
}

VFG_EXPORT int vfg_write_all(int fd, const void *data, size_t size)
{
	const char *next = data;
	while (size > 0) {
		ssize_t n = write(fd, next, size); /* no fault: each caller has its own site before it */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		next += n;
		size -= (size_t)n;
	}
	return 0;
}

VFG_EXPORT int vfg_fsync_parent(const char *path, vfg_error *err)
{
	char copy[VFG_PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	const char *dir = dirname(copy);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || vfg_fault("util.fsync_dir") || fsync(fd) < 0)
		return vfg_error_set(err, errno, dir, "cannot make the directory durable (fsync)");
	return 0;
}

int vfg_file_temporary_path(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	if (!*name)
		return -1;
	int n = snprintf(buf, size, "%.*s.%s" VFG_FILE_TEMPORARY_INFIX "%d", (int)(name - path), path, name,
			 (int)getpid());
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * The writer's pid in @name when it is a temporary of @base,
 * ".BASE.vfguard-tmp.PID" as vfg_file_temporary_path() writes it (no
 * leading zero, no sign); 0 when it is not.
 */
static pid_t temporary_writer(const char *name, const char *base)
{
	size_t base_length = strlen(base), infix_length = strlen(VFG_FILE_TEMPORARY_INFIX);
	if (name[0] != '.' || strncmp(name + 1, base, base_length) != 0 ||
	    strncmp(name + 1 + base_length, VFG_FILE_TEMPORARY_INFIX, infix_length) != 0)
		return 0;
	const char *digits = name + 1 + base_length + infix_length;
	size_t n = strspn(digits, "0123456789");
	if (n == 0 || n > 9 || digits[n] || digits[0] == '0')
		return 0;
	return (pid_t)atol(digits);
}

VFG_EXPORT void vfg_file_sweep_temporaries(const char *path)
{
	char parent[VFG_PATH_MAX] = ".";
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	if (!*name || (slash && (size_t)(slash - path) >= sizeof(parent)))
		return;
	if (slash)
		snprintf(parent, sizeof(parent), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	_cleanup_closedir_ DIR *d = opendir(parent);
	for (struct dirent *entry; d && (entry = readdir(d));) {
		pid_t pid = temporary_writer(entry->d_name, name);
		/* kill(2) with no signal: ESRCH, no such process; a zombie is one still (its parent reaps it) */
		if (pid > 0 && pid != getpid() && kill(pid, 0) < 0 && errno == ESRCH)
			unlinkat(dirfd(d), entry->d_name, 0); /* no fault: best effort, the write it follows is done */
	}
}

VFG_EXPORT int vfg_file_replace_owned(const char *path, const void *content, size_t size, mode_t mode, uid_t uid,
				      gid_t gid, vfg_error *err)
{
	char temporary[VFG_PATH_MAX + 32];
	if (vfg_file_temporary_path(path, temporary, sizeof(temporary)) < 0)
		return vfg_error_set(err, ENAMETOOLONG, path, "cannot name a temporary file beside it");
	_cleanup_close_ int fd =
		vfg_fault("util.replace_create")
			? -1
			: open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, TEMPORARY_FILE_MODE);
	if (fd < 0)
		return vfg_error_set(err, errno, temporary, "cannot create");
	bool owner = uid != (uid_t)-1 || gid != (gid_t)-1;
	/* chown before chmod: chown clears the set-id bits (notify_change() in fs/attr.c). */
	if ((owner && (vfg_fault("util.replace_chown") || fchown(fd, uid, gid) < 0)) ||
	    vfg_fault("util.replace_chmod") || fchmod(fd, mode) < 0 || vfg_fault("util.replace_write") ||
	    vfg_write_all(fd, content, size) < 0 || vfg_fault("util.replace_sync") || fsync(fd) < 0) {
		int saved = errno;
		unlink(temporary); /* no fault: our own temporary file, after a failure */
		return vfg_error_set(err, saved, temporary, "cannot write");
	}
	if (vfg_fault("util.replace_rename") || rename(temporary, path) < 0) {
		int saved = errno;
		unlink(temporary); /* no fault: our own temporary file, after a failure */
		return vfg_error_set(err, saved, path, "cannot replace");
	}
	vfg_file_sweep_temporaries(path);
	return vfg_fsync_parent(path, err);
}

VFG_EXPORT int vfg_file_replace(const char *path, const void *content, size_t size, vfg_error *err)
{
	return vfg_file_replace_owned(path, content, size, TEMPORARY_FILE_MODE, (uid_t)-1, (gid_t)-1, err);
}

int vfg_file_unlink(const char *path, vfg_error *err)
{
	int removed = 1;
	if (vfg_fault("util.remove") || unlink(path) < 0) {
		if (errno != ENOENT)
			return vfg_error_set(err, errno, path, "cannot remove");
		removed = 0;
	}
	vfg_file_sweep_temporaries(path);
	return removed;
}

VFG_EXPORT int vfg_file_remove(const char *path, vfg_error *err)
{
	int removed = vfg_file_unlink(path, err);
	return removed <= 0 ? removed : vfg_fsync_parent(path, err);
}

/* ---- Codecs ---- */

static const char hex_lower[] = "0123456789abcdef", hex_upper[] = "0123456789ABCDEF";

VFG_EXPORT size_t vfg_hex_encode(const void *data, size_t size, char *buf, size_t buf_size)
{
	const unsigned char *bytes = data;
	size_t used = 0;
	for (size_t i = 0; i < size && used + 2 < buf_size; i++) {
		buf[used++] = hex_lower[bytes[i] >> 4];
		buf[used++] = hex_lower[bytes[i] & 0xf];
	}
	if (buf_size > 0)
		buf[used] = '\0';
	return 2 * size;
}

VFG_EXPORT ssize_t vfg_hex_decode(const char *hex, void *out, size_t size)
{
	unsigned char *bytes = out;
	size_t length = strlen(hex);
	if (length % 2)
		return -EINVAL;
	for (size_t i = 0; i < length / 2; i++) {
		int high = vfg_hex_value(hex[2 * i]), low = vfg_hex_value(hex[2 * i + 1]);
		if (high < 0 || low < 0)
			return -EINVAL;
		if (i == size)
			return -ENOBUFS;
		bytes[i] = (unsigned char)(high << 4 | low);
	}
	return (ssize_t)(length / 2);
}

/* Written as it is in a percent-encoded text: printable ASCII but '%' (space is not: it separates fields). */
static bool percent_plain(unsigned char c)
{
	return c > ' ' && c <= '~' && c != '%';
}

VFG_EXPORT size_t vfg_percent_encode(const void *data, size_t size, char *buf, size_t buf_size)
{
	const unsigned char *bytes = data;
	size_t used = 0, length = 0;
	for (size_t i = 0; i < size; i++) {
		size_t need = percent_plain(bytes[i]) ? 1 : 3;
		if (used == length && used + need < buf_size) {
			if (need == 1) {
				buf[used++] = (char)bytes[i];
			} else {
				buf[used++] = '%';
				buf[used++] = hex_upper[bytes[i] >> 4];
				buf[used++] = hex_upper[bytes[i] & 0xf];
			}
		}
		length += need;
	}
	if (buf_size > 0)
		buf[used] = '\0';
	return length;
}

VFG_EXPORT ssize_t vfg_percent_decode(const char *text, void *out, size_t size)
{
	unsigned char *bytes = out;
	size_t used = 0;
	/* Reading runs ahead of writing (an escape is three characters, its byte one): @out may be @text. */
	for (const char *in = text; *in; in++) {
		int byte = (unsigned char)*in;
		if (*in == '%') {
			int high = vfg_hex_value(in[1]), low = high < 0 ? -1 : vfg_hex_value(in[2]);
			if (low < 0)
				return -EINVAL;
			byte = high << 4 | low;
			in += 2;
		}
		if (used == size)
			return -ENOBUFS;
		bytes[used++] = (unsigned char)byte;
	}
	return (ssize_t)used;
}

VFG_EXPORT size_t vfg_field_encode(const char *value, char *buf, size_t buf_size)
{
	if (!value[0])
		return (size_t)snprintf(buf, buf_size, "-");
	if (value[0] != '-')
		return vfg_percent_encode(value, strlen(value), buf, buf_size);
	/* "%2D" for the leading '-', so that "-" alone always means empty. */
	size_t rest = strlen(value + 1);
	if (buf_size <= 3) {
		if (buf_size > 0)
			buf[0] = '\0';
		return 3 + vfg_percent_encode(value + 1, rest, NULL, 0);
	}
	memcpy(buf, "%2D", 3);
	return 3 + vfg_percent_encode(value + 1, rest, buf + 3, buf_size - 3);
}

VFG_EXPORT long vfg_utf8_decode(const char *text, size_t *length)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n;
	long code, least;
	if (p[0] < 0x80)
		n = 1, code = p[0], least = 0;
	else if ((p[0] & 0xe0) == 0xc0)
		n = 2, code = p[0] & 0x1f, least = 0x80;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, code = p[0] & 0x0f, least = 0x800;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, code = p[0] & 0x07, least = 0x10000;
	else
		return -1;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		code = code << 6 | (p[i] & 0x3f);
	}
	if (code < least || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
		return -1;
	*length = n;
	return code;
}

/* Owned by root or us, writable by neither group nor others: only root can have written it. */
static int trusted_check(const char *path, const struct stat *st, const char *what, const char *file, vfg_error *err)
{
	if ((st->st_uid == 0 || st->st_uid == geteuid()) && !(st->st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	return vfg_error_set(err, EPERM, path,
			     "%s%s is owned by uid %u with mode %04o: vfguard runs as root and takes it only when "
			     "it and every folder above it are owned by root and writable by neither group nor "
			     "others (chown root, chmod go-w)",
			     what, file, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
}

/*
 * Every folder above @path, up to /: each owned by root (or us) and
 * writable by neither group nor others, or sticky (/tmp), where nobody but
 * an entry's owner can rename or remove it, and every entry of the chain is
 * checked to be root's in its turn. Else someone could put another file in
 * @path's place between the check and its use (a review).
 */
static int folders_trusted(const char *path, const char *what, vfg_error *err)
{
	_cleanup_free_ char *copy = strdup(path);
	if (!copy)
		return vfg_error_set(err, ENOMEM, path, "out of memory");
	for (char *slash = strrchr(copy, '/'); slash; slash = strrchr(copy, '/')) {
		if (slash == copy)
			slash[1] = '\0'; /* "/" itself, last */
		else
			*slash = '\0';
		struct stat dir;
		if (stat(copy, &dir) < 0)
			return vfg_error_set(err, errno, copy, "cannot stat a folder above the %s", what);
		bool sticky = (dir.st_mode & S_ISVTX) && (dir.st_uid == 0 || dir.st_uid == geteuid());
		if (!sticky && trusted_check(copy, &dir, what, "'s folder", err) < 0)
			return -1;
		if (strcmp(copy, "/") == 0)
			break;
	}
	return 0;
}

VFG_EXPORT int vfg_file_trusted(const char *path, const struct stat *st, const char *what, vfg_error *err)
{
	struct stat own;
	if (!st) {
		if (stat(path, &own) < 0) {
			if (errno == ENOENT)
				return -ENOENT;
			return vfg_error_set(err, errno, path, "cannot stat the %s", what);
		}
		st = &own;
	}
	if (trusted_check(path, st, what, "", err) < 0)
		return -1;
	/* The folders of the path as given (where a symlink may be), then of the file it leads to. */
	_cleanup_free_ char *real = realpath(path, NULL);
	if (!real)
		return vfg_error_set(err, errno, path, "cannot resolve the %s", what);
	if (folders_trusted(path, what, err) < 0)
		return -1;
	return strcmp(real, path) == 0 ? 0 : folders_trusted(real, what, err);
}

static bool shell_plain(unsigned char c)
{
	return isalnum(c) || c >= 0x80 || (c && strchr("%+,-./:=@_", c));
}

VFG_EXPORT const char *vfg_shell_word(const char *word, char *buf, size_t size)
{
	bool plain = word[0] != '\0';
	for (const unsigned char *p = (const unsigned char *)word; plain && *p; p++)
		plain = shell_plain(*p);
	if (plain)
		return word;
	/* Quoted whole or not at all: a cut word is still a word, of another domain (a trial). */
	size_t need = 3;
	for (const char *p = word; *p; p++)
		need += *p == '\'' ? 4 : 1;
	if (need > size)
		return NULL;
	size_t used = 0;
	buf[used++] = '\'';
	for (const char *p = word; *p; p++) {
		if (*p == '\'') {
			memcpy(buf + used, "'\\''", 4);
			used += 4;
		} else {
			buf[used++] = *p;
		}
	}
	buf[used++] = '\'';
	buf[used] = '\0';
	return buf;
}

VFG_EXPORT int vfg_field_decode(char *field)
{
	if (strcmp(field, "-") == 0) {
		field[0] = '\0';
		return 0;
	}
	size_t length = strlen(field);
	ssize_t n = vfg_percent_decode(field, field, length);
	/* A NUL inside would cut the string short: no field the encoder writes has one. */
	if (n < 0 || memchr(field, '\0', (size_t)n))
		return -EINVAL;
	field[n] = '\0';
	return 0;
}

VFG_EXPORT int vfg_check_length(const char *value, size_t size, vfg_error *err)
{
	size_t length = strlen(value);
	if (length >= size)
		return vfg_error_set(err, ENAMETOOLONG, value, "%zu characters, at most %zu", length, size - 1);
	return 0;
}

VFG_EXPORT int vfg_mkdir(const char *path, mode_t mode, const char *what, vfg_error *err)
{
	if ((vfg_fault("util.mkdir") || mkdir(path, mode) < 0) && errno != EEXIST)
		return vfg_error_set(err, errno, path, "cannot create %s", what);
	struct stat st;
	if (lstat(path, &st) < 0)
		return vfg_error_set(err, errno, path, "cannot create %s", what);
	if (!S_ISDIR(st.st_mode))
		return vfg_error_set(err, ENOTDIR, path, "is in the way of %s", what);
	return 0;
}
