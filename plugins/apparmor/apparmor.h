/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_PLUGINS_APPARMOR_H
#define VFGUARD_PLUGINS_APPARMOR_H

/*
 * What the AppArmor labeler's files share.
 *
 * The per-domain rules file (apparmor_rules_dir/PROFILE, included by the
 * domain's profile) starts with vfguard's section, followed by the file as
 * it was before vfguard, byte for byte:
 *
 *	# vfguard begin: device nodes of domain vm1 in boot 0c3e...-...
 *	"/dev/vfio/vfio" rw,
 *	"/dev/vfio/42" rw,
 *	# vfguard end                      (or "# vfguard end: no file before")
 *	...the original content, untouched...
 *
 * The section comes first so that the original's bytes stay one untouched
 * run at the end (no newline to add or take off), and a later grant of the
 * same domain can tell what the file was before vfguard. Every record of the
 * domain journals that original (inline, or, when it is too large for the
 * undo text, saved in the journal's store and named by its hash); the revoke
 * that takes the section's last rule puts it back byte-exactly, or removes
 * the file when there was none.
 *
 * The begin line names the boot the section was written in (util.h:
 * VFG_BOOT_ID_PATH; left out under a root prefix without one, and by a
 * vfguard before boot ids). The file outlives a reboot and the journal in
 * /run does not: the first command of a later boot finds the section of
 * a boot that is over and puts the original back from the file itself
 * (apparmor_boot_sweep, docs/boot.md).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include <vfguard/labeler.h>
#include <vfguard/util.h>

/* A rule line without its newline: the quoted path, " rw,". */
#define APPARMOR_RULE_MAX (VFG_PATH_MAX + 16)

/* Format the one exact rule for @path; refuses a path AppArmor would read as a pattern. */
int apparmor_rule_format(const char *path, char *buf, size_t size, vfg_error *err);

/* A span of a file's content. */
typedef struct apparmor_span {
	size_t start;
	size_t length;
} apparmor_span;

/* A rules file as read. */
typedef struct apparmor_rules {
	char path[VFG_PATH_MAX]; /* ROOT + rules dir + profile */
	bool exists;
	char *content; /* the whole file; NULL when it does not exist */
	size_t size;
	mode_t mode; /* of the file, for its replacement; 0644 for a new one */
	uid_t uid;
	gid_t gid;
	bool has_section; /* it starts with a vfguard section */
	char domain[VFG_NAME_MAX]; /* the section's domain */
	char boot_id[VFG_BOOT_ID_STRLEN]; /* the boot it was written in; "" when the begin line names none */
	bool created; /* the end line says there was no file before */
	size_t n_rules;
	apparmor_span *rules; /* the section's rule lines, without newlines */
	size_t original; /* offset of the content that follows the section */
} apparmor_rules;

/* Read and parse @path (a missing file is one that does not exist); a damaged section is an error. */
int apparmor_rules_read(const char *path, apparmor_rules *rules, vfg_error *err);
void apparmor_rules_free(apparmor_rules *rules);
/* Does the section hold @rule? */
bool apparmor_rules_holds(const apparmor_rules *rules, const char *rule);

/* What the file was before vfguard: what every record journals. */
typedef struct apparmor_original {
	bool absent; /* there was no file */
	const char *content; /* not owned */
	size_t size;
} apparmor_original;

/* The original as the file shows it: the part after the section, or the whole file without one. */
void apparmor_rules_original(const apparmor_rules *rules, apparmor_original *original);

/*
 * The file with @domain's section, written in boot @boot_id ("": none
 * named), holding its rules plus @add (may be NULL) minus @remove (may be
 * NULL), followed by the original. Fills *@out (free() it) and *@size.
 */
int apparmor_rules_render(const apparmor_rules *rules, const char *domain, const char *boot_id, const char *add,
			  const char *remove, char **out, size_t *size, vfg_error *err);
/* How many rules the section keeps once @remove is taken out. */
size_t apparmor_rules_left(const apparmor_rules *rules, const char *remove);

/*
 * The undo text: "rule=new|held original=absent", "... original=text:ENC"
 * (ENC: printable ASCII as it is, '%' and every other byte as %XX), or
 * "... original=saved:HASH:SIZE": saved in the journal's store
 * (vfg_txn_save), HASH its 32 hex digits; 16 hex digits name a copy that a
 * vfguard of journal format 1 saved under STATE/apparmor (apparmor_legacy.c).
 * rule=held: the section held the rule before this grant, so revoke keeps it.
 */
typedef enum apparmor_original_kind {
	APPARMOR_ORIGINAL_ABSENT = 0,
	APPARMOR_ORIGINAL_TEXT,
	APPARMOR_ORIGINAL_SAVED, /* in the journal's store */
	APPARMOR_ORIGINAL_SAVED_V1, /* a copy journal format 1 saved under STATE/apparmor */
} apparmor_original_kind;

/* The hash of a format 1 saved copy: 64-bit FNV-1a, 16 hex digits. */
#define APPARMOR_V1_HASH_DIGITS 16

typedef struct apparmor_undo {
	bool held;
	apparmor_original_kind kind;
	char *text; /* TEXT: the decoded bytes (free() it) */
	size_t size; /* TEXT, SAVED and SAVED_V1 */
	char hash[VFG_HASH_STRLEN]; /* SAVED and SAVED_V1: the hex digits that name the saved bytes */
} apparmor_undo;

/* The undo text for @original inline; false when it does not fit in VFG_UNDO_MAX. */
bool apparmor_undo_format_text(bool held, const apparmor_original *original, char *buf, size_t size);
/* The undo text for an original of @original_size bytes saved in the store under @hash. */
void apparmor_undo_format_saved(bool held, const char *hash, size_t original_size, char *buf, size_t size);
/* The largest saved original a journal record may name (bytes): far past any rules file. */
#define APPARMOR_SAVED_MAX (16u << 20)
int apparmor_undo_parse(const char *text, const vfg_node *node, apparmor_undo *undo, vfg_error *err);
void apparmor_undo_free(apparmor_undo *undo);

/* apparmor_files.c: directories (files are replaced with util.h's vfg_file_replace_owned()). */

/* Remove the directory @path durably when it is empty; a missing or non-empty one is fine. */
int apparmor_directory_remove_empty(const char *path, vfg_error *err);
/* Make the directory @path (mode 0755) and its parents below @root. */
int apparmor_mkdir_below(const char *root, const char *path, mode_t mode, vfg_error *err);

/*
 * apparmor_legacy.c: the copies a vfguard of journal format 1 saved as
 * STATE/apparmor/DOMAIN.HASH.original, still named by its records after an
 * upgrade. Nothing writes them any more.
 */

/* Read the copy a SAVED_V1 record names into *@content (free() it), checking its owner, size and hash. */
int apparmor_legacy_saved_read(const vfg_labeler_env *env, const char *domain, const apparmor_undo *undo,
			       char **content, vfg_error *err);
/* Remove that copy, and the directory with the last of them. */
int apparmor_legacy_saved_remove(const vfg_labeler_env *env, const char *domain, const apparmor_undo *undo,
				 vfg_error *err);

/* ---- the domain's profile (apparmor_profile.c) ---- */

/* A profile name vfguard uses as a file name: printable ASCII, no space or '/', not starting with '.'. */
int apparmor_profile_name_check(const char *name, vfg_error *err);

/*
 * The domain's profile: apparmor.profile, or libvirt-UUID, or vfguard-NAME
 * (a byte that is no printable ASCII, or a space, written %XX).
 */
int apparmor_profile_name(const vfg_domain *domain, char *buf, size_t size, vfg_error *err);
/* ROOT + DIRECTORY(config @key) + "/" + @profile. */
int apparmor_file_path(const vfg_labeler_env *env, const char *key, const char *profile, char *buf, size_t size,
		       vfg_error *err);
/*
 * Is @profile's file (apparmor_profile_dir, its path into @path) one
 * libvirt's AppArmor driver made, which includes libvirt's .files and not
 * the rules file (whose include name goes into @ours)? 1 or 0; a file it
 * cannot tell is 0, with @unread saying why; -1 with @err when the path
 * cannot be made.
 */
int apparmor_profile_is_libvirts(const vfg_labeler_env *env, const char *profile, char *path, size_t size, char *ours,
				 size_t ours_size, char *unread, size_t unread_size, vfg_error *err);

#endif
