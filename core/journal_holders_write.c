/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * STATE/holders written: the index's lines made from the journals, kept
 * sorted, merged with the file's for the domains a command changed or
 * written whole, and put in place by rename under the exclusive lock, with
 * the signature that lets the next reader trust it (holders_seal()).
 * journal_holders.c reads and trusts it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>

#include "journal_holders.h"
#include "vfg_fault.h"

/* ---- Writing ---- */

/* Lines being made: each without its newline, malloc'd. */
typedef struct line_list {
	char **lines;
	size_t n, room;
	bool failed; /* no memory for one: the list is not whole, and no file is written from it */
} line_list;

static void line_list_free(line_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->lines[i]);
	free(list->lines);
	*list = (line_list){0};
}

__attribute__((format(printf, 2, 3))) static void line_add(line_list *list, const char *format, ...)
{
	if (list->failed)
		return;
	if (list->n == list->room) {
		size_t more = list->room ? 2 * list->room : 16;
		char **grown = reallocarray(list->lines, more, sizeof(*grown));
		if (!grown) {
			list->failed = true;
			return;
		}
		list->lines = grown;
		list->room = more;
	}
	va_list args;
	va_start(args, format);
	int r = vasprintf(&list->lines[list->n], format, args);
	va_end(args);
	if (r < 0)
		list->failed = true;
	else
		list->n++;
}

/* @value as a field (malloc'd), or NULL when there is no memory for it. */
static char *field(const char *value)
{
	size_t size = 3 * strlen(value) + 1;
	char *encoded = malloc(size);
	if (encoded)
		vfg_field_encode(value, encoded, size);
	return encoded;
}

static int group_order(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

/*
 * @dj's lines, signed @signature, added to @list: its domain line, one claim
 * per group however many of its functions it claims, its side state keys,
 * its shared nodes' records (an exclusive node's record is only its own
 * domain's business).
 */
static void domain_lines(line_list *list, const domain_journal *dj, const char *signature)
{
	_cleanup_free_ char *name = field(dj->domain->name);
	_cleanup_free_ unsigned *groups = dj->n_claims ? malloc(dj->n_claims * sizeof(*groups)) : NULL;
	unsigned long uid = (unsigned long)dj->domain->uid;
	if (!name || (dj->n_claims && !groups)) {
		list->failed = true;
		return;
	}
	line_add(list, "domain %s %lu %s", name, uid, signature);
	for (size_t i = 0; i < dj->n_claims; i++)
		groups[i] = dj->claims[i].group;
	if (dj->n_claims)
		qsort(groups, dj->n_claims, sizeof(*groups), group_order);
	for (size_t i = 0; i < dj->n_claims; i++)
		if (i == 0 || groups[i] != groups[i - 1])
			line_add(list, "claim %u %s %lu", groups[i], name, uid);
	for (size_t i = 0; i < dj->n_states; i++) {
		_cleanup_free_ char *labeler = field(dj->states[i]->labeler), *key = field(dj->states[i]->key);
		if (!labeler || !key)
			list->failed = true;
		else
			line_add(list, "state %s %s %s %lu", labeler, key, name, uid);
	}
	for (size_t i = 0; i < dj->n_records; i++) {
		const journal_record *record = dj->records[i];
		if (!record->node.shared)
			continue;
		_cleanup_free_ char *labeler = field(record->labeler), *path = field(record->node.path);
		if (!labeler || !path)
			list->failed = true;
		else
			line_add(list, "record %s %s %u:%u %s %lu", labeler, path, major(record->node.rdev),
				 minor(record->node.rdev), name, uid);
	}
}

/* The signature @dj's domain line has: its file as read, or as it is now when this hold wrote it. 0, -ENOENT (no file),
 * -1. */
static int journal_signature(const domain_journal *dj, char signature[SIGNATURE_SIZE])
{
	if (dj->touched || !dj->file.ino)
		return path_signature(dj->path, signature);
	file_signature(dj->file.dev, dj->file.ino, dj->file.size, &dj->file.mtime, &dj->file.ctime, signature);
	return 0;
}

/* @dj's lines as the file would list it now (none when it has no file); -1 when it cannot be listed. */
static int journal_lines(line_list *list, const domain_journal *dj)
{
	char signature[SIGNATURE_SIZE];
	if (dj->open_txn)
		return -1; /* only a committed journal is summed up: an open one is restore's to finish */
	int r = journal_signature(dj, signature);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return -1;
	domain_lines(list, dj, signature);
	return list->failed ? -1 : 0;
}

static int line_order_sort(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lines_sort(line_list *list)
{
	if (list->n)
		qsort(list->lines, list->n, sizeof(*list->lines), line_order_sort);
}

/* The subject's lines as the index listed them at the lock: what its rewrite takes out (holders_rewrite()). */
struct holders_subject {
	char name[VFG_NAME_MAX + 1];
	line_list lines;
};

void host_holders_note_subject(host_journal *hj, const char *subject)
{
	holders_subject *noted = calloc(1, sizeof(*noted));
	hj->holders_subject = noted;
	if (!noted)
		return; /* no note: a rewrite after a write fails, and the next command rebuilds the file */
	snprintf(noted->name, sizeof(noted->name), "%s", subject);
	if (!hj->holders || domain_entry(hj->holders, subject) == SIZE_MAX)
		return; /* not listed: it has no lines to take out */
	const domain_journal *dj = host_journal_find(hj, subject);
	if (!dj || journal_lines(&noted->lines, dj) < 0)
		noted->lines.failed = true;
	lines_sort(&noted->lines);
}

void host_holders_subject_free(host_journal *hj)
{
	if (hj->holders_subject)
		line_list_free(&hj->holders_subject->lines);
	free(hj->holders_subject);
	hj->holders_subject = NULL;
}

/* The new file's text, in one buffer. */
typedef struct holders_text {
	char *text;
	size_t used, size;
} holders_text;

static void text_put(holders_text *out, const char *bytes, size_t length)
{
	memcpy(out->text + out->used, bytes, length);
	out->used += length;
}

/* Room for @body bytes of lines, the header put in: -1 when there is no memory for it. */
static int text_begin(holders_text *out, const char *validity, size_t body)
{
	size_t size = strlen(HOLDERS_MAGIC) + strlen(validity) + 2 + body + 4;
	if (!(out->text = malloc(size)))
		return -1;
	out->size = size;
	text_put(out, HOLDERS_MAGIC "\n", strlen(HOLDERS_MAGIC) + 1);
	text_put(out, validity, strlen(validity));
	text_put(out, "\n", 1);
	return 0;
}

static void text_line(holders_text *out, const char *line)
{
	text_put(out, line, strlen(line));
	text_put(out, "\n", 1);
}

/* Every line of @list, sorted, between the header and the end line: when every journal is in memory. */
static int text_whole(line_list *list, const char *validity, holders_text *out)
{
	size_t body = 0;
	lines_sort(list);
	for (size_t i = 0; i < list->n; i++)
		body += strlen(list->lines[i]) + 1;
	if (text_begin(out, validity, body) < 0)
		return -1;
	for (size_t i = 0; i < list->n; i++)
		text_line(out, list->lines[i]);
	text_put(out, "end\n", 4);
	return 0;
}

/*
 * hj->holders with @old's lines taken out and @new's put in, each where
 * its order puts it (binary searches: the other domains' lines are copied
 * as they are, between them). -1 when a line of @old is not in the file,
 * which is then not this writer's to carry on.
 */
static int text_merged(const host_journal *hj, line_list *old, line_list *new, const char *validity, holders_text *out)
{
	const host_holders *holders = hj->holders;
	size_t n_old = old->n, n_new = new->n;
	_cleanup_free_ size_t *out_at = calloc(n_old + 1, sizeof(size_t)), *in_at = calloc(n_new + 1, sizeof(size_t));
	if (!out_at || !in_at)
		return -1;
	size_t body = holders->end - holders->body;
	for (size_t i = 0; i < n_old; i++) {
		size_t length = strlen(old->lines[i]);
		out_at[i] = lower_bound(holders, old->lines[i], length);
		if (out_at[i] >= holders->end || line_length(holders, out_at[i]) != length ||
		    memcmp(holders->text + out_at[i], old->lines[i], length) != 0)
			return -1;
	}
	lines_sort(new);
	for (size_t i = 0; i < n_new; i++) {
		in_at[i] = lower_bound(holders, new->lines[i], strlen(new->lines[i]));
		body += strlen(new->lines[i]) + 1;
	}
	if (text_begin(out, validity, body) < 0)
		return -1;
	/* @old and @new are sorted, so their places rise; a line put in goes before the old line at its place. */
	size_t at = holders->body, i = 0, o = 0;
	while (i < n_new || o < n_old) {
		size_t place = i < n_new && (o == n_old || in_at[i] <= out_at[o]) ? in_at[i] : out_at[o];
		text_put(out, holders->text + at, place - at);
		at = place;
		if (i < n_new && in_at[i] == place) {
			text_line(out, new->lines[i++]);
		} else {
			at = next_line(holders, out_at[o++]);
		}
	}
	text_put(out, holders->text + at, holders->end - at);
	text_put(out, "end\n", 4);
	return 0;
}

/* The signature of the file of @st into the lock file's slot at @at. */
static bool lock_slot(const host_journal *hj, const struct stat *st, off_t at)
{
	char signature[SIGNATURE_SIZE];
	stat_signature(st, signature);
	signature[SIGNATURE_LENGTH] = '\n';
	/* no fault: each caller's site comes first (lock.promote, lock.pending, lock.holders) */
	return pwrite(hj->lock_fd, signature, SIGNATURE_SIZE, at) == SIGNATURE_SIZE;
}

/*
 * Before a new pending signature: the file in place, when the seal slot
 * does not name it and the pending slot does (its writer was killed at its
 * seal), gets the seal, or the new pending signature would leave it sealed
 * by neither (a second trial).
 */
static bool holders_promote(const host_journal *hj, const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0 || holders_sealed_by(hj, &st) != SEALED_BY_PENDING)
		return true; /* none in place, or sealed, or nothing vouches for it: nothing to keep */
	return !vfg_fault("lock.promote") && lock_slot(hj, &st, LOCK_GENERATION_SIZE);
}

/* Before the rename: the new file's signature in the pending slot (holders_sealed_by()). */
static bool holders_pending(const host_journal *hj, int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && !vfg_fault("lock.pending") && lock_slot(hj, &st, LOCK_PENDING_AT);
}

/*
 * The signature of the index just renamed in place, @fd still open on it,
 * after the generation in the lock file (holders_sealed()); the rename is
 * behind it, which moves the file's change time on tmpfs and ext4. Not
 * synced, as the index is not. Every journal written since the last seal
 * is in this file now: the list's lines name the old file's inode, so they
 * no longer count, and go (a kill before that leaves lines that count for
 * nothing).
 */
static bool holders_seal(const host_journal *hj, int fd)
{
	static const char unpended[SIGNATURE_SIZE] = {0};
	struct stat st;
	/* the pending slot emptied: it would take an edit in place that kept the file's times */
	return fstat(fd, &st) == 0 && !vfg_fault("lock.holders") && lock_slot(hj, &st, LOCK_GENERATION_SIZE) &&
	       !vfg_fault("lock.unpend") &&
	       pwrite(hj->lock_fd, unpended, SIGNATURE_SIZE, LOCK_PENDING_AT) == SIGNATURE_SIZE &&
	       !vfg_fault("lock.list") && ftruncate(hj->lock_fd, LOCK_WRITTEN_AT) == 0;
}

_Static_assert(LOCK_SEAL_SIZE == SIGNATURE_SIZE, "the lock file's layout");

int host_holders_note_written(host_journal *hj, const domain_journal *dj, vfg_error *err)
{
	struct stat lock, index;
	char path[VFG_PATH_MAX], lock_path[VFG_PATH_MAX], line[VFG_PATH_MAX + 32];
	vfg_error ignored = {0};
	if (hj->lock_fd < 0 || !hj->exclusive)
		return 0;
	const char *slash = strrchr(dj->path, '/'), *file = slash ? slash + 1 : dj->path;
	if (vfg_state_path(hj->ctx, "lock", lock_path, sizeof(lock_path), &ignored) < 0)
		snprintf(lock_path, sizeof(lock_path), "lock");
	if (fstat(hj->lock_fd, &lock) < 0)
		return vfg_error_set(err, errno, lock_path, "cannot read the host lock before %s changes", file);
	/* No index was ever sealed here, or there is none now: nothing to pass over. */
	if (lock.st_size < LOCK_PENDING_AT || vfg_state_path(hj->ctx, HOLDERS_FILE, path, sizeof(path), &ignored) < 0 ||
	    lstat(path, &index) < 0)
		return 0;
	char tag[INDEX_TAG_LENGTH + 1];
	index_tag(&index, tag);
	int length = snprintf(line, sizeof(line), "%s %s\n", tag, file);
	off_t at = lock.st_size > LOCK_WRITTEN_AT ? lock.st_size : LOCK_WRITTEN_AT;
	errno = 0;
	if (length < 0 || (size_t)length >= sizeof(line) || vfg_fault("lock.written") ||
	    pwrite(hj->lock_fd, line, (size_t)length, at) != length) {
		return vfg_error_set(err, errno ? errno : ENAMETOOLONG, lock_path,
				     "cannot name %s in the host lock before its change", file);
	}
	return 0;
}

/*
 * Temporary file and rename, so a reader finds the old file or the new one.
 * Not synced: after a power loss the boot id differs and the file is not
 * trusted anyway.
 */
static int holders_replace(const host_journal *hj, const struct iovec *pieces, int count)
{
	char path[VFG_PATH_MAX], temporary[VFG_PATH_MAX + 64];
	vfg_error ignored = {0};
	if (vfg_state_path(hj->ctx, HOLDERS_FILE, path, sizeof(path), &ignored) < 0)
		return -1;
	if (vfg_file_temporary_path(path, temporary, sizeof(temporary)) < 0)
		return -1;
	int fd = vfg_fault("holders.create")
			 ? -1
			 : open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t total = 0;
	for (int i = 0; i < count; i++)
		total += pieces[i].iov_len;
	bool written = !vfg_fault("holders.chmod") && fchmod(fd, 0600) == 0 && !vfg_fault("holders.write") &&
		       writev(fd, pieces, count) == (ssize_t)total;
	if (written && holders_promote(hj, path) && holders_pending(hj, fd) && !vfg_fault("holders.rename") &&
	    rename(temporary, path) == 0) {
		bool sealed = holders_seal(hj, fd);
		close(fd);
		/*
		 * A command killed while writing it left one; its raised generation
		 * then made the index untrusted, so only a rewrite of an untrusted
		 * index looks (not every command's, whose write follows its own change).
		 */
		if (!hj->holders_valid)
			vfg_file_sweep_temporaries(path);
		return sealed ? 0 : -1;
	}
	close(fd);
	unlink(temporary); /* no fault: our own temporary file, after a failure */
	return -1;
}

/*
 * The new file, when a journal was written: from every journal when they
 * are all in memory (the index was not used); else hj->holders with the
 * subject's lines as the file listed them at the lock (noted then) replaced
 * by its lines now. Only the subject's journal is written by a command that
 * uses the index; any other written makes this fail, and the next command
 * rebuilds the file.
 */
static int holders_rewrite(const host_journal *hj, const char *validity)
{
	line_list new = {0}, none = {0};
	holders_text out = {0};
	const holders_subject *subject = hj->holders_subject;
	bool subject_written = false;
	int r = 0;
	for (size_t i = 0; r == 0 && i < hj->n_domains; i++) {
		const domain_journal *dj = hj->domains[i];
		if (hj->holders && !dj->touched)
			continue; /* as the file lists it */
		if (hj->holders && (!subject || subject->lines.failed || strcmp(dj->domain->name, subject->name) != 0))
			r = -1;
		else
			r = journal_lines(&new, dj);
		subject_written = subject_written || hj->holders;
	}
	if (r == 0)
		r = hj->holders ? text_merged(hj, subject_written ? (line_list *)&subject->lines : &none, &new,
					      validity, &out)
				: text_whole(&new, validity, &out);
	if (r == 0)
		r = holders_replace(hj, &(struct iovec){out.text, out.used}, 1);
	free(out.text);
	line_list_free(&new);
	return r;
}

static bool holders_still_trusted(const host_journal *hj)
{
	host_holders *holders = holders_read(hj);
	bool trusted = holders && journals_match(hj, holders, NULL);
	host_holders_free(holders);
	return trusted;
}

void host_holders_write(host_journal *hj)
{
	char validity[512];
	if (!hj->exclusive || hj->failed || hj->lock_fd < 0 || (hj->holders_valid && !hj->generation_raised) ||
	    !validity_line(hj, validity, sizeof(validity)))
		return;
	/*
	 * A command of every domain read their journals, not the index, and
	 * changed none: the index is kept when it is still the one its last
	 * writer made and matches them all (a rewrite would only move its
	 * inode and the lock's seal).
	 */
	if (!hj->holders_valid && !hj->generation_raised && holders_still_trusted(hj))
		return;
	/*
	 * A transaction left open, or no memory: the file the last writer
	 * sealed stays. Its generation is not this one, so nothing trusts it
	 * for an answer, and the check of the journals it lists still has it
	 * (host_holders_check_journals()).
	 */
	holders_rewrite(hj, validity);
}
