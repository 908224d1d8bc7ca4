/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_JOURNAL_HOLDERS_H
#define VFGUARD_CORE_JOURNAL_HOLDERS_H

/*
 * What the two halves of STATE/holders share: journal_holders.c reads it and
 * decides whether to trust it, journal_holders_write.c writes it
 * (docs/journal.md, "The holders index"); both name files by their
 * signature (journal_holders_signature.c).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "journal.h"

/* The index as a reader has it: the file mapped, where its body starts and ends. */
struct host_holders {
	char *text;
	size_t size;
	struct stat st; /* the file mapped: a later lock maps it again only when it is another */
	size_t body, end;
};

#define HOLDERS_MAGIC "vfguard-holders 3"
#define HOLDERS_FILE "holders"
/* A file's signature, "DEV:INO:SIZE:MSEC.MNSEC:CSEC.CNSEC" in fixed-width hex. */
#define SIGNATURE_LENGTH (5 * 16 + 2 * 8 + 6)
#define SIGNATURE_SIZE (SIGNATURE_LENGTH + 1)
/* What a list line names the index it was written after by: "INO:MSEC.MNSEC". */
#define INDEX_TAG_LENGTH (16 + 1 + 16 + 1 + 8)

/* The signature of a file with these fields, or of @st, or of the file at @path (-1 when it cannot be stat()ed). */
void file_signature(dev_t dev, ino_t ino, off_t size, const struct timespec *mtime, const struct timespec *ctime,
		    char buf[SIGNATURE_SIZE]);
void stat_signature(const struct stat *st, char buf[SIGNATURE_SIZE]);
int path_signature(const char *path, char buf[SIGNATURE_SIZE]);
/* The @length characters at @text are stat_signature(@st), exactly. */
bool stat_signature_is(const char *text, size_t length, const struct stat *st);
/* The 16 hexadecimal digits at @text (file_signature()'s fields), or false. */
bool hex16_read(const char *text, uint64_t *value);
/* The index's validity line for @hj (the boot and the journals' generation); false when it cannot be made. */
bool validity_line(const host_journal *hj, char *buf, size_t size);

/* The index's lines: the length of the one at @at, where the next starts, the first not before @prefix. */
size_t line_length(const host_holders *holders, size_t at);
size_t next_line(const host_holders *holders, size_t at);
size_t lower_bound(const host_holders *holders, const char *prefix, size_t length);
/* Where domain @name's entry is, or the end of the body. */
size_t domain_entry(const host_holders *holders, const char *name);

/* Whose signature the lock file holds for the index of @st: the writer's seal, a pending one, none. */
typedef enum sealed_by {
	SEALED_BY_NONE,
	SEALED_BY_SEAL,
	SEALED_BY_PENDING, /* its writer killed at its seal: the next writer gives it the seal (holders_promote()) */
} sealed_by;
sealed_by holders_sealed_by(const host_journal *hj, const struct stat *st);
void index_tag(const struct stat *st, char tag[INDEX_TAG_LENGTH + 1]);
/* The index as STATE/holders holds it, when it is trusted; NULL when not. */
host_holders *holders_read(const host_journal *hj);
/* Does the index list exactly the journals @hj found (@subject's aside)? */
bool journals_match(const host_journal *hj, const host_holders *holders, const char *subject);

#endif
