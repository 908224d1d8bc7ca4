/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_UTIL_H
#define VFGUARD_UTIL_H

/*
 * The small helpers the core, the plugins and the front ends all need, in
 * one place: cleanup attributes, the verified node fd and its /proc/self/fd
 * path, durable file writes, and the hex and field codecs the undo texts
 * and the journal are written in. A plugin includes only <vfguard/...>
 * headers, so what it shares with the core lives here, not in a copy.
 *
 * The static inline parts need nothing at link time; the others are
 * exported by libvfguard (version VFGUARD_0.2), which every plugin links
 * against and the process that loads a plugin has loaded already.
 */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <vfguard/error.h>
#include <vfguard/labeler.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Cleanup ---- */

/*
 * Functions for __attribute__((cleanup)): each gets the address of the
 * variable going out of scope, so an early return frees, closes or
 * closedir()s what the variable still holds. A variable handed on is
 * emptied first (vfg_steal_ptr, vfg_steal_fd).
 */

/* free() of the pointer at @p (a pointer to any pointer variable). */
static inline void vfg_freep(void *p)
{
	free(*(void **)p);
}

/* close() of *@fd when it is an fd (>= 0). */
static inline void vfg_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}

/* fclose() of *@f when it is not NULL. */
static inline void vfg_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* closedir() of *@d when it is not NULL. */
static inline void vfg_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

/*
 * The short names systemd and crun use for the same attributes. A program
 * that defines one of them before including this header keeps its own.
 */
#ifndef _cleanup_free_
#define _cleanup_free_ __attribute__((cleanup(vfg_freep)))
#endif
#ifndef _cleanup_close_
#define _cleanup_close_ __attribute__((cleanup(vfg_closep)))
#endif
#ifndef _cleanup_fclose_
#define _cleanup_fclose_ __attribute__((cleanup(vfg_fclosep)))
#endif
#ifndef _cleanup_closedir_
#define _cleanup_closedir_ __attribute__((cleanup(vfg_closedirp)))
#endif
/* A step a labeler fills itself ({0}): vfg_step_clear() of it (labeler.h). */
#define _cleanup_step_ __attribute__((cleanup(vfg_step_clear)))

/*
 * Take what the pointer variable at @pp holds and leave NULL there, so its
 * cleanup attribute frees nothing: `*out = vfg_steal_ptr(&buf);`. The result
 * has the variable's own type.
 */
#define vfg_steal_ptr(pp)                              \
	__extension__({                                \
		__typeof__(*(pp)) vfg_stolen_ = *(pp); \
		*(pp) = NULL;                          \
		vfg_stolen_;                           \
	})

/* Take the fd at @fd and leave -1 there, so its cleanup attribute closes nothing. */
static inline int vfg_steal_fd(int *fd)
{
	int taken = *fd;
	*fd = -1;
	return taken;
}

/* ---- A node opened by vfg_node_open() ---- */

/* Room for "/proc/self/fd/" and any int, with its NUL. */
#define VFG_PROC_FD_PATH_MAX 32

/*
 * "/proc/self/fd/@fd" into @buf; returns @buf. The magic link (proc(5))
 * resolves to the file @fd has open, never to what its path names now: the
 * way to reach an O_PATH fd with a call that has no fd form (getxattr,
 * setxattr, libacl, chmod before fchmodat(AT_EMPTY_PATH) in Linux 6.6).
 */
static inline char *vfg_proc_fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
	return buf;
}

/* An fd from vfg_node_open() with the two names a call or a message needs, and the node as opened. */
typedef struct vfg_node_fd {
	int fd; /* O_PATH, checked by vfg_node_open(); -1 when not open */
	char proc[VFG_PROC_FD_PATH_MAX]; /* "/proc/self/fd/N", for calls with no fd form */
	char real[VFG_PATH_MAX]; /* ROOT + the node's path, for messages */
	struct stat st; /* fstat() right after the open: owner and mode before any change */
} vfg_node_fd;

/*
 * vfg_node_open() @node, fstat() it and fill @nfd (real is filled first, so
 * a message can name the node even when the open fails). 0, or -1 with @err
 * and nfd->fd -1; err->errnum as vfg_node_open() sets it.
 */
int vfg_node_fd_open(const vfg_labeler_env *env, const vfg_node *node, vfg_node_fd *nfd, vfg_error *err);

/* Close nfd->fd when open; for __attribute__((cleanup)). */
static inline void vfg_node_fd_closep(vfg_node_fd *nfd)
{
	vfg_closep(&nfd->fd);
	nfd->fd = -1;
}
#define _cleanup_node_fd_ __attribute__((cleanup(vfg_node_fd_closep)))

/* ---- Boots ---- */

/*
 * The running kernel's boot id, a random UUID made anew at every boot
 * (proc(5), /proc/sys/kernel/random/boot_id; drivers/char/random.c), read
 * under the root prefix so tests give a tree its own boot.
 */
#define VFG_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define VFG_BOOT_ID_STRLEN 37 /* 36 characters and the NUL */

/* Is @text a boot id as the kernel writes it (8-4-4-4-12 lower-case hex digits)? */
static inline bool vfg_boot_id_valid(const char *text)
{
	for (size_t i = 0; i < VFG_BOOT_ID_STRLEN - 1; i++) {
		char c = text[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return text[VFG_BOOT_ID_STRLEN - 1] == '\0' || text[VFG_BOOT_ID_STRLEN - 1] == '\n';
}

/*
 * The boot id in the file at @path (ROOT + VFG_BOOT_ID_PATH, or a copy) into
 * @id: 1; 0 and "" when there is no such file (a root prefix that gives no
 * boot: boots are not told apart); -1 with @err when it cannot be read or
 * holds no boot id.
 */
static inline int vfg_boot_id_read(const char *path, char id[VFG_BOOT_ID_STRLEN], vfg_error *err)
{
	char line[VFG_BOOT_ID_STRLEN + 1] = "";
	id[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : vfg_error_set(err, errno, path, "cannot read the boot id");
	bool whole = fgets(line, sizeof(line), f) != NULL && fgetc(f) == EOF;
	fclose(f);
	if (!whole || !vfg_boot_id_valid(line))
		return vfg_error_set(err, EBADMSG, path, "holds no boot id (36 characters, 8-4-4-4-12 hex digits)");
	memcpy(id, line, VFG_BOOT_ID_STRLEN - 1);
	id[VFG_BOOT_ID_STRLEN - 1] = '\0';
	return 1;
}

/*
 * Is the file @fd has open (an O_PATH fd will do: open(2), fstatfs since
 * Linux 3.12) on a file system that every boot starts empty? devtmpfs is
 * shmem's (TMPFS_MAGIC), or ramfs's without CONFIG_TMPFS
 * (drivers/base/devtmpfs.c); tmpfs holds /run. What such a file carries
 * (its owner, its xattrs) was made in this boot, whatever an earlier one
 * did to a file of the same path.
 */
static inline bool vfg_fd_on_boot_fs(int fd)
{
	struct statfs fs;
	return fstatfs(fd, &fs) == 0 && (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC);
}

/*
 * For a node labeler's boot_release (labeler.h): 1 when its grant on @node
 * died with its boot, so there is nothing to put back: the node is gone or
 * another file now (noted, vfg_txn_unopened), or it is on a file system
 * every boot starts empty, and what it carries is this boot's (devtmpfs
 * made it anew, udev set its owner; noted, and not counted as undone). 0
 * when it outlived the reboot (a node
 * on a disk): revoke puts it back. -1 with @err.
 */
static inline int vfg_node_boot_gone(const vfg_labeler_env *env, const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	vfg_error why = {0};
	vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, &why) < 0)
		return vfg_txn_unopened(txn, &why, err) < 0 ? -1 : 1;
	bool gone = vfg_fd_on_boot_fs(nfd.fd);
	vfg_node_fd_closep(&nfd);
	if (!gone)
		return 0;
	/* Noted and not counted as undone (a trial saw "3 changes undone" while every node was left as it was). */
	vfg_error boot = {.errnum = ESTALE};
	snprintf(boot.subject, sizeof(boot.subject), "%s", node->path);
	return vfg_txn_unopened(txn, &boot, err) < 0 ? -1 : 1;
}

/* ---- Durable files ---- */

/*
 * Everything left to read from @fd into *@content, NUL-terminated (free()
 * it); *@size, unless @size is NULL, counts the bytes read, any NUL among
 * them. More than @max bytes (0: no bound) fail with EFBIG, so a runaway
 * writer cannot make it take all memory. @name (a path, "standard input")
 * is for the message. 0, or -1 with @err and *@content NULL.
 */
int vfg_fd_read_all(int fd, const char *name, size_t max, char **content, size_t *size, vfg_error *err);

/* write() all @size bytes of @data to @fd, again after EINTR or a short write. 0, or -1 with errno. */
int vfg_write_all(int fd, const void *data, size_t size);

/*
 * fsync() the directory that holds @path, so that a name made, replaced or
 * removed there survives a crash too (fsync(2), "Notes": the file's own
 * fsync does not make its directory entry durable). 0, or -1 with @err.
 */
int vfg_fsync_parent(const char *path, vfg_error *err);

/* In the name of vfg_file_replace_owned()'s temporary file, DIR/.NAME.vfguard-tmp.PID: one a crash left is known by it.
 */
#define VFG_FILE_TEMPORARY_INFIX ".vfguard-tmp."

/*
 * Replace @path with @size bytes of @content so that after a crash at any
 * instant it holds either the old content or the new, never a torn mix:
 * write a temporary file beside it (DIR/.NAME.vfguard-tmp.PID), fsync it, rename
 * it over @path (atomic within a file system, rename(2)) and fsync the
 * directory. The file gets mode @mode (set with fchmod: no umask applies)
 * and, unless they are (uid_t)-1 and (gid_t)-1, owner @uid and group @gid.
 * 0, or -1 with @err; on failure @path is as it was and the temporary gone.
 * A temporary of @path that a killed writer left (its pid no process's) is
 * removed once @path is replaced; vfg_file_remove() does the same.
 */
int vfg_file_replace_owned(const char *path, const void *content, size_t size, mode_t mode, uid_t uid, gid_t gid,
			   vfg_error *err);

/* vfg_file_replace_owned() with mode 0600, owned by the caller. */
int vfg_file_replace(const char *path, const void *content, size_t size, vfg_error *err);

/* unlink() @path and vfg_fsync_parent() it; a missing file is not an error. 0, or -1 with @err. */
int vfg_file_remove(const char *path, vfg_error *err);

/*
 * Remove the temporaries of @path (DIR/.NAME.vfguard-tmp.PID) that killed
 * writers left, as vfg_file_replace_owned() and vfg_file_remove() do: for
 * an undo that finds @path as it should be and writes nothing (a grant
 * killed before its rename, beside a file that was there before it).
 */
void vfg_file_sweep_temporaries(const char *path);

/*
 * Is @path (a file whose settings vfguard takes, or a module it loads) one
 * that only root can have written? It and every folder above it, of the path
 * as given and of the file a symlink leads to, must be owned by root (or the
 * effective uid) and writable by neither group nor others (a sticky folder,
 * /tmp, will do), as the state directory must (docs/journal.md, "Trust"): vfguard
 * runs as root, and a plugin's code runs as soon as it is loaded. @st: what
 * stat(2) gave for @path, or NULL to stat it here. @what names it in the
 * message ("configuration", "labeler module"). 0, -ENOENT when @path does
 * not exist (nothing set in @err), or -1 with @err (VFGUARD_0.7).
 */
int vfg_file_trusted(const char *path, const struct stat *st, const char *what, vfg_error *err);

/*
 * mkdir(@path, @mode) unless it exists, then check that what is there is a
 * directory, not a symlink or a file in the way. 0, or -1 with @err naming
 * @path and what went wrong, in the words of @what ("the state directory").
 */
int vfg_mkdir(const char *path, mode_t mode, const char *what, vfg_error *err);

/* ---- Checks ---- */

/*
 * A value that must fit a buffer of @size bytes (a label in VFG_LABEL_MAX):
 * 0, or -1 with the error naming the value and the limit. For the check
 * functions of vfg_config_key_def and vfg_attr_def.
 */
int vfg_check_length(const char *value, size_t size, vfg_error *err);

/* ---- Codecs ---- */

/* The value of hex digit @c (either case), or -1 when it is none. */
static inline int vfg_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * @size bytes of @data as lower-case hex, two digits a byte, into @buf
 * (NUL-terminated, cut at a whole byte when it does not fit). Returns the
 * length of the whole text, as snprintf() does: 2 * @size.
 */
size_t vfg_hex_encode(const void *data, size_t size, char *buf, size_t buf_size);

/*
 * The bytes the hex digits of @hex (either case, an even number of them)
 * stand for, into @out. Returns how many, -EINVAL when @hex is not that,
 * -ENOBUFS when they are more than @size.
 */
ssize_t vfg_hex_decode(const char *hex, void *out, size_t size);

/*
 * @size bytes of @data as printable ASCII: every byte outside '!'..'~', and
 * '%' itself, written %XX (upper-case hex), the others as they are. Into
 * @buf, NUL-terminated, cut before a byte that does not fit whole; returns
 * the length of the whole text, as snprintf() does.
 */
size_t vfg_percent_encode(const void *data, size_t size, char *buf, size_t buf_size);

/*
 * The bytes @text stands for, every %XX (hex of either case) made the one
 * byte it names (%00 too), into @out; @out may be @text itself. Returns
 * how many, -EINVAL for a '%' without two hex digits after it, -ENOBUFS
 * when they are more than @size.
 */
ssize_t vfg_percent_decode(const char *text, void *out, size_t size);

/*
 * The journal's field (docs/journal.md): "-" for an empty @value, else
 * vfg_percent_encode() of it with a leading '-' written %2D too, so a
 * field never holds a space and reads back as the same string. Into @buf
 * like vfg_percent_encode(); returns the length of the whole field.
 */
size_t vfg_field_encode(const char *value, char *buf, size_t buf_size);

/* A field back to its string, in place: "-" becomes "". 0, or -EINVAL for a bad escape or %00. */
int vfg_field_decode(char *field);

/*
 * The UTF-8 character that starts @text: its code point, its length in
 * bytes (1 to 4) in *@length. -1 when the bytes there are no UTF-8
 * character (RFC 3629, section 3: an overlong form, a surrogate, past
 * U+10FFFF, a sequence cut short, by the terminating NUL too), *@length
 * then untouched (VFGUARD_0.7).
 */
long vfg_utf8_decode(const char *text, size_t *length);

/*
 * @word as one word of a POSIX shell command line, for the commands
 * vfguard's messages suggest ("vfguard revoke --domain 'Windows 11'"):
 * @word itself when it holds only letters, digits, bytes past 0x7f (UTF-8)
 * and "%+,-./:=@_", else in single quotes, each ' in it written '\''. A
 * quoted word goes into @buf, 4 * strlen(@word) + 3 bytes at most
 * (VFG_NAME_SHELL_SIZE for a domain name, which always fits). Returns @word
 * or @buf; NULL when the quoted word does not fit @size, never a cut one,
 * which would be another word (VFGUARD_0.7).
 */
const char *vfg_shell_word(const char *word, char *buf, size_t size);
#define VFG_NAME_SHELL_SIZE (4 * VFG_NAME_MAX + 3)
/* vfg_shell_word() of domain name @name into a buffer that lives to the end of the enclosing block. */
#define VFG_NAME_SHELL(name) vfg_shell_word((name), (char[VFG_NAME_SHELL_SIZE]){0}, VFG_NAME_SHELL_SIZE)

#ifdef __cplusplus
}
#endif
#endif
