/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * STATE/holders: what every domain with a committed journal holds that
 * another domain's command asks about (an IOMMU group claim, a side state
 * key, a record of a shared node), so that a command of one domain reads its
 * own journal and, of the others, only a holder whose value it needs
 * (docs/journal.md, "The holders index"). It is derived data: written from
 * the journals by the last writer under the exclusive lock, trusted only
 * while nothing can have changed since, rebuilt from the journals when
 * anything doubts it.
 *
 * Its lines are kept sorted, each holder line starting with what it is held
 * by ("claim 7 ", "record dac /dev/vfio/vfio 10:196 ") and ending with its
 * domain's name and uid: a question is a binary search of the mapped file,
 * and its holders are the lines that follow, so neither a reader nor a
 * writer goes over the lines of the domains it does not ask about.
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

/* The running kernel's, not one under --root: a reboot empties /run, and a power loss must not leave it trusted. */
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define DOMAIN_PREFIX "domain "
#define DOMAIN_PREFIX_LENGTH (sizeof(DOMAIN_PREFIX) - 1)

/* The file as read and mapped: its lines from @body to @end, where its "end" line starts. */
void host_holders_free(host_holders *holders)
{
	if (!holders)
		return;
	if (holders->text)
		munmap(holders->text, holders->size);
	free(holders);
}

/* The boot id, 36 characters; false when it cannot be read (then nothing is trusted). */
static bool boot_id(char buf[40])
{
	_cleanup_close_ int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, 39);
	if (n < 36)
		return false;
	buf[36] = '\0';
	return true;
}

/* What makes the file valid for this hold: boot, the lock's generation and file, domains/ as it is now. */
bool validity_line(const host_journal *hj, char *buf, size_t size)
{
	char boot[40], directory[SIGNATURE_SIZE];
	if (!hj->generation || !boot_id(boot) || path_signature(hj->directory, directory) < 0)
		return false;
	snprintf(buf, size, "valid %s %" PRIu64 " %lu:%lu %s", boot, hj->generation, (unsigned long)hj->lock_dev,
		 (unsigned long)hj->lock_ino, directory);
	return true;
}

/* ---- Reading ---- */

/* The line at @at (where one starts, before the end line): its length without the newline. */
size_t line_length(const host_holders *holders, size_t at)
{
	const char *newline = memchr(holders->text + at, '\n', holders->end - at);
	return newline ? (size_t)(newline - holders->text) - at : holders->end - at;
}

size_t next_line(const host_holders *holders, size_t at)
{
	return at + line_length(holders, at) + 1;
}

/*
 * The line at @at against the @length bytes of @prefix in the file's order
 * (bytes, a line that is the start of another first): below 0, 0 when it
 * starts with @prefix, above 0.
 */
static int line_order(const host_holders *holders, size_t at, const char *prefix, size_t length)
{
	size_t line = line_length(holders, at);
	int c = memcmp(holders->text + at, prefix, line < length ? line : length);
	return c ? c : line < length ? -1 : 0;
}

/* Where the first line that is not below @prefix starts (the end line when none): a binary search. */
size_t lower_bound(const host_holders *holders, const char *prefix, size_t length)
{
	/* Line starts: every line before @low is below @prefix, none from @high on. */
	size_t low = holders->body, high = holders->end;
	while (low < high) {
		size_t middle = low + (high - low) / 2;
		const char *newline = memrchr(holders->text + low, '\n', middle - low);
		size_t at = newline ? (size_t)(newline - holders->text) + 1 : low;
		if (line_order(holders, at, prefix, length) < 0)
			low = next_line(holders, at);
		else
			high = at;
	}
	return low;
}

/* The line at @at starts with @prefix. */
static bool line_starts(const host_holders *holders, size_t at, const char *prefix, size_t length)
{
	return at < holders->end && line_order(holders, at, prefix, length) == 0;
}

/*
 * A name and uid as a line has them, NAME (a field) and UID (digits), into
 * @match: decoded when the name has an escape; false when they do not parse.
 */
static bool name_and_uid(const char *name, size_t name_length, const char *uid, size_t uid_length, holders_match *match)
{
	char encoded[3 * VFG_NAME_MAX + 1];
	if (name_length == 0 || name_length >= sizeof(encoded) || uid_length == 0 || uid_length > 10)
		return false;
	memcpy(encoded, name, name_length);
	encoded[name_length] = '\0';
	if ((memchr(name, '%', name_length) || (name_length == 1 && name[0] == '-')) && vfg_field_decode(encoded) < 0)
		return false;
	if (strlen(encoded) > VFG_NAME_MAX)
		return false;
	unsigned long number = 0;
	for (size_t i = 0; i < uid_length; i++) {
		if (uid[i] < '0' || uid[i] > '9')
			return false;
		number = number * 10 + (unsigned long)(uid[i] - '0');
	}
	if (number > UINT32_MAX)
		return false;
	memcpy(match->name, encoded, strlen(encoded) + 1);
	match->uid = (uid_t)number;
	return true;
}

/* The domain line at @at, "domain NAME UID SIGNATURE": its name and uid, and where its signature starts. */
static bool domain_line(const host_holders *holders, size_t at, holders_match *match, size_t *signature)
{
	size_t length = line_length(holders, at);
	const char *line = holders->text + at, *end = line + length;
	if (length <= DOMAIN_PREFIX_LENGTH || memcmp(line, DOMAIN_PREFIX, DOMAIN_PREFIX_LENGTH) != 0)
		return false;
	const char *name = line + DOMAIN_PREFIX_LENGTH, *uid = memchr(name, ' ', (size_t)(end - name));
	const char *rest = uid ? memchr(uid + 1, ' ', (size_t)(end - uid - 1)) : NULL;
	if (!rest || !name_and_uid(name, (size_t)(uid - name), uid + 1, (size_t)(rest - uid - 1), match))
		return false;
	match->entry = at;
	*signature = (size_t)(rest + 1 - holders->text);
	return true;
}

/* The domain a holder line ends with, "... NAME UID"; its domain line is found when asked for (entry SIZE_MAX). */
static bool holder_owner(const host_holders *holders, size_t at, holders_match *match)
{
	size_t length = line_length(holders, at);
	const char *line = holders->text + at;
	const char *uid = memrchr(line, ' ', length);
	const char *name = uid ? memrchr(line, ' ', (size_t)(uid - line)) : NULL;
	if (!name ||
	    !name_and_uid(name + 1, (size_t)(uid - name - 1), uid + 1, length - (size_t)(uid + 1 - line), match))
		return false;
	match->entry = SIZE_MAX;
	return true;
}

/* @value as a field, appended to @out (size 3 * length + 2 at least: every byte escaped, a space). */
static size_t append_field(char *out, const char *value)
{
	out[0] = ' ';
	return 1 + vfg_field_encode(value, out + 1, 3 * strlen(value) + 1);
}

char *host_holders_key(holder_kind kind, unsigned group, const char *labeler, const char *name, dev_t rdev)
{
	size_t size = 64 + (labeler ? 3 * strlen(labeler) : 0) + (name ? 3 * strlen(name) : 0);
	char *key = malloc(size);
	if (!key)
		return NULL;
	size_t used = 0;
	switch (kind) {
	case HOLDER_CLAIM:
		snprintf(key, size, "claim %u ", group);
		return key;
	case HOLDER_STATE:
		used = (size_t)snprintf(key, size, "state");
		break;
	case HOLDER_RECORD:
		used = (size_t)snprintf(key, size, "record");
		break;
	}
	used += append_field(key + used, labeler);
	used += append_field(key + used, name);
	if (kind == HOLDER_RECORD)
		used += (size_t)snprintf(key + used, size - used, " %u:%u", major(rdev), minor(rdev));
	snprintf(key + used, size - used, " ");
	return key;
}

int host_holders_next(const host_holders *holders, const char *key, size_t *cursor, holders_match *match)
{
	size_t length = strlen(key);
	/* *@cursor: 0, or where the line after the last one returned starts. */
	size_t at = *cursor ? *cursor : lower_bound(holders, key, length);
	if (!line_starts(holders, at, key, length)) {
		*cursor = holders->end;
		return 0;
	}
	*cursor = next_line(holders, at);
	/* Not a line the writer puts: whose it is cannot be read, so the file is doubted. */
	return holder_owner(holders, at, match) ? 1 : -1;
}

/* Where the domain line of @name starts, or SIZE_MAX when none. */
size_t domain_entry(const host_holders *holders, const char *name)
{
	char prefix[3 * VFG_NAME_MAX + 16];
	if (strlen(name) > VFG_NAME_MAX)
		return SIZE_MAX; /* no such domain: a name is checked against it before it is journaled */
	size_t used = (size_t)snprintf(prefix, sizeof(prefix), "domain");
	used += append_field(prefix + used, name);
	prefix[used++] = ' ';
	size_t at = lower_bound(holders, prefix, used);
	return line_starts(holders, at, prefix, used) ? at : SIZE_MAX;
}

/*
 * The lines starting with @key are counted by their newlines, without
 * reading them, between two binary searches (@key, and @key with its last
 * space made the next byte: where the lines above all of them start); the
 * first line that is not @self's is read into *@first, and @self's own is
 * found by its name. Beside 1000 domains that share a cgroup's rule, a
 * grant asks this of it at its plan and at its intent.
 */
bool host_holders_count(const host_holders *holders, const char *key, const char *self, size_t *count,
			holders_match *first)
{
	size_t length = strlen(key);
	_cleanup_free_ char *above = strdup(key);
	if (!above || length == 0)
		return false;
	above[length - 1] = ' ' + 1;
	size_t from = lower_bound(holders, key, length), to = lower_bound(holders, above, length);
	size_t lines = 0, own = SIZE_MAX;
	for (const char *c = holders->text + from, *end = holders->text + to;
	     c < end && (c = memchr(c, '\n', (size_t)(end - c))); c++)
		lines++;
	if (self && lines) {
		size_t size = length + 3 * strlen(self) + 2;
		_cleanup_free_ char *mine = malloc(size);
		if (!mine)
			return false;
		memcpy(mine, key, length);
		size_t used = length - 1 + append_field(mine + length - 1, self);
		mine[used++] = ' ';
		own = lower_bound(holders, mine, used);
		if (own < to && line_starts(holders, own, mine, used))
			lines--;
		else
			own = SIZE_MAX;
	}
	*count = lines;
	if (!lines)
		return true;
	size_t at = from == own ? next_line(holders, from) : from;
	return holder_owner(holders, at, first);
}

static bool signature_is(const host_holders *holders, size_t at, const char *signature)
{
	size_t length = strlen(signature);
	return line_length(holders, at) == length && memcmp(holders->text + at, signature, length) == 0;
}

/* Where @match's domain line starts: as it was found, or by its name. */
static size_t match_entry(const host_holders *holders, const holders_match *match)
{
	return match->entry != SIZE_MAX ? match->entry : domain_entry(holders, match->name);
}

bool host_holders_current(const host_holders *holders, const holders_match *match, const domain_journal *dj)
{
	char signature[SIGNATURE_SIZE];
	holders_match again;
	size_t at, entry = match_entry(holders, match);
	file_signature(dj->file.dev, dj->file.ino, dj->file.size, &dj->file.mtime, &dj->file.ctime, signature);
	return dj->file.ino && entry != SIZE_MAX && domain_line(holders, entry, &again, &at) &&
	       signature_is(holders, at, signature);
}

/* The domain lines, which sort together: the first, and the one after @at. */
static size_t first_domain(const host_holders *holders)
{
	return lower_bound(holders, DOMAIN_PREFIX, DOMAIN_PREFIX_LENGTH);
}

static size_t next_domain(const host_holders *holders, size_t at)
{
	size_t next = next_line(holders, at);
	return line_starts(holders, next, DOMAIN_PREFIX, DOMAIN_PREFIX_LENGTH) ? next : holders->end;
}

#define EACH_DOMAIN(holders, at)                                                                   \
	for (size_t at = first_domain(holders);                                                    \
	     at < (holders)->end && line_starts(holders, at, DOMAIN_PREFIX, DOMAIN_PREFIX_LENGTH); \
	     at = next_domain(holders, at))

/* The journal listed at @at is the file recorded: 1 yes, 0 no, -1 the line does not parse. @name its domain's. */
static int listed_current(int dir_fd, const host_holders *holders, size_t at, holders_match *match)
{
	size_t signature_at;
	char file[3 * VFG_NAME_MAX + 16];
	struct stat st;
	if (!domain_line(holders, at, match, &signature_at))
		return -1;
	journal_file_name(match->name, file, sizeof(file));
	if (fstatat(dir_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return stat_signature_is(holders->text + signature_at, line_length(holders, signature_at), &st);
}

/*
 * The journals the index answers from are checked when they answer, not all
 * at once (docs/journal.md, "The holders index"): here the subject's, which
 * the command reads whole, is the file listed, or absent when none is; with
 * no subject (a command of every domain), every listed journal is.
 */
bool journals_match(const host_journal *hj, const host_holders *holders, const char *subject)
{
	_cleanup_close_ int dir_fd = open(hj->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
	holders_match match;
	if (dir_fd < 0)
		return false;
	if (!subject) {
		EACH_DOMAIN(holders, at)
		if (listed_current(dir_fd, holders, at, &match) <= 0)
			return false;
		return true;
	}
	size_t at = domain_entry(holders, subject);
	if (at != SIZE_MAX)
		return listed_current(dir_fd, holders, at, &match) > 0;
	char file[3 * VFG_NAME_MAX + 16];
	struct stat st;
	journal_file_name(subject, file, sizeof(file));
	return fstatat(dir_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

bool host_holders_vouch(const host_journal *hj, const holders_match *match)
{
	_cleanup_close_ int dir_fd = open(hj->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
	holders_match again;
	size_t entry = hj->holders ? match_entry(hj->holders, match) : SIZE_MAX;
	return dir_fd >= 0 && entry != SIZE_MAX && listed_current(dir_fd, hj->holders, entry, &again) > 0;
}

/* @a and @b are one file as it was: device, inode, size, modification and change times. */
static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/*
 * The index is the very file its last writer made: the lock file, after the
 * generation, holds its signature as the writer's fstat() gave it after the
 * rename (holders_seal()). An edit in place moves its size or times, and a
 * file put there by anything but a writer is another inode: either is then
 * not trusted, as a journal changed behind the lock is not. A writer killed
 * between its rename and its seal left the file it renamed in, whose
 * signature it put in the pending slot before the rename: that one is taken
 * by all but its change time, which the rename moved.
 */

sealed_by holders_sealed_by(const host_journal *hj, const struct stat *st)
{
	char recorded[2 * SIGNATURE_SIZE], now[SIGNATURE_SIZE];
	ssize_t n = pread(hj->lock_fd, recorded, sizeof(recorded), LOCK_GENERATION_SIZE);
	if (n >= SIGNATURE_SIZE && recorded[SIGNATURE_LENGTH] == '\n' &&
	    stat_signature_is(recorded, SIGNATURE_LENGTH, st))
		return SEALED_BY_SEAL;
	/* the pending slot, also when no seal was ever written (a first writer killed at its seal) */
	const char *pending = recorded + SIGNATURE_SIZE;
	stat_signature(st, now);
	/* "DEV:INO:SIZE:MSEC.MNSEC:": the change time, last, left out */
	size_t kept = SIGNATURE_LENGTH - (16 + 1 + 8);
	return n == sizeof(recorded) && pending[SIGNATURE_LENGTH] == '\n' && memcmp(pending, now, kept) == 0
		       ? SEALED_BY_PENDING
		       : SEALED_BY_NONE;
}

static bool holders_sealed(const host_journal *hj, const struct stat *st)
{
	return holders_sealed_by(hj, st) != SEALED_BY_NONE;
}

/*
 * What a list line names the index it was written after by: its inode and
 * modification time, "INO:MSEC.MNSEC" (ext4 gives an inode number again; a
 * time to the nanosecond with it, never).
 */
void index_tag(const struct stat *st, char tag[INDEX_TAG_LENGTH + 1])
{
	char signature[SIGNATURE_SIZE];
	stat_signature(st, signature);
	memcpy(tag, signature + 17, 16); /* INO */
	memcpy(tag + 16, signature + 50, 1 + 16 + 1 + 8); /* ":MSEC.MNSEC" */
	tag[INDEX_TAG_LENGTH] = '\0';
}

/*
 * The file @fd of @st mapped whole (no copy, no page fault per page: read
 * into the heap instead, the fresh pages' faults cost four times the
 * mapping and its munmap here), its magic line checked and its validity
 * line's first @prefix bytes against @validity's; its body and end found.
 * NULL when it is not such a file.
 */
static host_holders *holders_map(int fd, const struct stat *st, const char *validity, size_t prefix)
{
	size_t magic = strlen(HOLDERS_MAGIC);
	host_holders *holders = st->st_size > 0 ? calloc(1, sizeof(*holders)) : NULL;
	if (!holders)
		return NULL;
	holders->size = (size_t)st->st_size;
	holders->st = *st;
	holders->text = mmap(NULL, holders->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (holders->text == MAP_FAILED)
		holders->text = NULL;
	const char *text = holders->text, *validity_end = NULL;
	/* The magic's line, the validity line, and "end" after a newline: an index of no domain is that much. */
	if (text && holders->size >= magic + 1 + prefix + 1 + 4 && memcmp(text, HOLDERS_MAGIC "\n", magic + 1) == 0 &&
	    memcmp(text + magic + 1, validity, prefix) == 0 && memcmp(text + holders->size - 4, "end\n", 4) == 0 &&
	    text[holders->size - 5] == '\n')
		validity_end = memchr(text + magic + 1 + prefix, '\n', holders->size - 4 - (magic + 1 + prefix));
	if (!validity_end) {
		host_holders_free(holders);
		return NULL;
	}
	holders->body = (size_t)(validity_end - text) + 1;
	holders->end = holders->size - 4;
	return holders;
}

host_holders *holders_read(const host_journal *hj)
{
	char path[VFG_PATH_MAX], validity[512];
	vfg_error ignored = {0};
	struct stat st;
	/* What an earlier lock of this context mapped: used again when it is still the file (checked below as new). */
	host_holders *holders = journal_cache_holders_take(hj);
	if (!validity_line(hj, validity, sizeof(validity)) ||
	    vfg_state_path(hj->ctx, HOLDERS_FILE, path, sizeof(path), &ignored) < 0) {
		host_holders_free(holders);
		return NULL;
	}
	/* Root's alone like every state file; anything else is only not trusted: the next writer replaces it. */
	_cleanup_close_ int fd = vfg_state_open_stat(path, O_RDONLY, false, &st, &ignored);
	bool sealed = fd >= 0 && holders_sealed(hj, &st);
	if (!sealed || (holders && !same_file(&holders->st, &st))) {
		host_holders_free(holders);
		holders = NULL;
		if (!sealed)
			return NULL;
	}
	/* Kept from an earlier lock (an apply's prepare hold, then its plan and apply hold), or mapped now. */
	if (!holders)
		holders = holders_map(fd, &st, validity, strlen(validity));
	/* The validity line is this hold's, whole. */
	size_t magic = strlen(HOLDERS_MAGIC), valid = strlen(validity);
	if (holders &&
	    (holders->body != magic + 1 + valid + 1 || memcmp(holders->text + magic + 1, validity, valid) != 0)) {
		host_holders_free(holders);
		return NULL;
	}
	return holders;
}

bool host_holders_open(host_journal *hj, const char *subject)
{
	host_holders *holders = holders_read(hj);
	if (!holders || !journals_match(hj, holders, subject)) {
		host_holders_free(holders);
		return false;
	}
	hj->holders = holders;
	hj->holders_valid = true;
	return true;
}

/*
 * The journal file @file is on @list, the lock file's lines "TAG FILE" of
 * the journals written since an index was sealed, under @tag (index_tag()):
 * one a command wrote after that very file.
 */
static bool written_since_seal(const char *list, const char *tag, const char *file)
{
	size_t length = strlen(file), before = INDEX_TAG_LENGTH + 1;
	for (const char *at = list; (at = strstr(at, file)); at += length)
		if ((size_t)(at - list) >= before && ((size_t)(at - list) == before || at[-(long)before - 1] == '\n') &&
		    at[-1] == ' ' && memcmp(at - before, tag, INDEX_TAG_LENGTH) == 0 && at[length] == '\n')
			return true;
	return false;
}

/* One listed journal against the file there now: 0 as it may be, -1 removed or cut (in @err). */
static int listed_journal_kept(const host_journal *hj, int dir_fd, const host_holders *holders, size_t at,
			       const char *written, const char *index_tag, vfg_error *err)
{
	holders_match match;
	size_t signature_at;
	char file[3 * VFG_NAME_MAX + 16], path[VFG_PATH_MAX + 3 * VFG_NAME_MAX + 16];
	uint64_t dev, ino, size, mtime;
	if (!domain_line(holders, at, &match, &signature_at) || line_length(holders, signature_at) != SIGNATURE_LENGTH)
		return 0; /* a line it cannot read tells nothing */
	const char *signature = holders->text + signature_at;
	if (!hex16_read(signature, &dev) || !hex16_read(signature + 17, &ino) || !hex16_read(signature + 34, &size) ||
	    !hex16_read(signature + 51, &mtime))
		return 0;
	journal_file_name(match.name, file, sizeof(file));
	if (written && written_since_seal(written, index_tag, file))
		return 0; /* a command changed it since: what the index says of it is no measure */
	snprintf(path, sizeof(path), "%s/%s", hj->directory, file);
	struct stat st;
	if (fstatat(dir_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return 0;
		return vfg_error_refuse(
			err, EBADMSG, path,
			"domain %s's journal is gone, but the holders index the last vfguard command "
			"wrote lists it, and no vfguard command changed it since: a journal removed by hand "
			"leaves what it granted on the nodes with nothing to undo it, and the next grant "
			"of them would take it for the original; put the journal back as it was (mv, or cp "
			"-p), then run vfguard "
			"revoke --domain %s (if its grants were undone by hand, remove STATE/holders); "
			"nothing was changed",
			match.name, VFG_NAME_SHELL(match.name));
	}
	/* Anything but a regular file is refused by name when it is read. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino &&
	    (uint64_t)st.st_size < size)
		return vfg_error_refuse(err, EBADMSG, path,
					"domain %s's journal is %lld bytes, shorter than the %llu the last vfguard "
					"command left, and no vfguard command changed it since: it was cut behind "
					"vfguard's back, and what it no longer says would stay granted with nothing to "
					"undo it; put it back whole; nothing was changed",
					match.name, (long long)st.st_size, (unsigned long long)size);
	/*
	 * Another file in its place, of another length or modification time
	 * (seconds and nanoseconds, as recorded): a copy put back (a backup)
	 * that says less, or else, than what was granted since. The journal
	 * the last command left, put back whole after it was removed (mv, or a
	 * copy that keeps its times: the advice above), is taken.
	 */
	char now[SIGNATURE_SIZE];
	stat_signature(&st, now);
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino != ino &&
	    ((uint64_t)st.st_size != size || memcmp(now + 51, signature + 51, 25) != 0))
		return vfg_error_refuse(
			err, EBADMSG, path,
			"domain %s's journal is another file than the one the last vfguard command "
			"left (%lld bytes and modified at %lld, not %llu bytes at %llu), and no vfguard "
			"command changed it since: a copy put in its place (a backup) says other than "
			"what was granted, and what it does not say would stay granted with nothing to "
			"undo it; put back the journal the last command left as it was (mv, or cp -p), "
			"or, if this one says all the domain holds, remove STATE/holders; nothing was "
			"changed",
			match.name, (long long)st.st_size, (long long)st.st_mtim.tv_sec, (unsigned long long)size,
			(unsigned long long)mtime);
	return 0;
}

/* The lock file's list of journals written since the index was sealed (malloc'd, "" when none), or NULL. */
static char *written_list(const host_journal *hj)
{
	struct stat st;
	if (fstat(hj->lock_fd, &st) < 0)
		return NULL;
	size_t size = st.st_size > LOCK_WRITTEN_AT ? (size_t)(st.st_size - LOCK_WRITTEN_AT) : 0;
	char *list = malloc(size + 1);
	if (list && size && pread(hj->lock_fd, list, size, LOCK_WRITTEN_AT) != (ssize_t)size) {
		free(list);
		return NULL;
	}
	if (list)
		list[size] = '\0';
	return list;
}

/*
 * When the index cannot be trusted and every journal is read instead: the
 * index the last writer sealed (of this boot and lock file) still says how
 * long each journal it lists was then, and the lock file names every
 * journal a command wrote since (host_holders_note_written()), whether or
 * not that command lived to write the index again. Each listed journal not
 * named there must still be there, and no shorter: vfguard itself never
 * removes or shortens a journal without naming it first. One removed
 * (moved aside) or cut by hand would otherwise read as a domain that holds
 * less, or nothing, while its grants stay on the nodes (a trial: the next
 * domain journaled them as the original, and they outlived its revoke).
 */
int host_holders_check_journals(const host_journal *hj, vfg_error *err)
{
	char validity[512], path[VFG_PATH_MAX], boot[40], lock[64];
	vfg_error ignored = {0};
	struct stat st;
	if (!boot_id(boot) || vfg_state_path(hj->ctx, HOLDERS_FILE, path, sizeof(path), &ignored) < 0)
		return 0;
	/* "valid BOOT ": the generation and domains/ moved with the writes; the lock file must be this one */
	size_t prefix = (size_t)snprintf(validity, sizeof(validity), "valid %s ", boot);
	snprintf(lock, sizeof(lock), " %lu:%lu ", (unsigned long)hj->lock_dev, (unsigned long)hj->lock_ino);
	_cleanup_close_ int fd = vfg_state_open_stat(path, O_RDONLY, false, &st, &ignored);
	if (fd < 0 || !holders_sealed(hj, &st))
		return 0;
	host_holders *holders = holders_map(fd, &st, validity, prefix);
	_cleanup_free_ char *written = holders ? written_list(hj) : NULL;
	const char *valid = holders ? holders->text + strlen(HOLDERS_MAGIC) + 1 : NULL;
	char tag[INDEX_TAG_LENGTH + 1], generation[32];
	index_tag(&st, tag);
	snprintf(generation, sizeof(generation), " %" PRIu64 " ", hj->generation);
	/* The validity line after "valid BOOT", from the space before the generation */
	const char *after = valid ? valid + prefix - 1 : NULL;
	size_t rest = holders ? holders->body - (size_t)(after - holders->text) : 0;
	/*
	 * The generation raised and the list empty: a vfguard from before the
	 * list wrote the journals (it names none), and nothing says which; the
	 * check is left, as that vfguard left it. Anything in the list (a line,
	 * stale lines of an earlier index, bytes that are no line) keeps it.
	 */
	bool named = written && (memmem(after, rest, generation, strlen(generation)) || written[0]);
	int r = 0;
	if (named && memmem(after, rest, lock, strlen(lock))) {
		_cleanup_close_ int dir_fd = open(hj->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
		EACH_DOMAIN(holders, at)
		if (r == 0 && dir_fd >= 0)
			r = listed_journal_kept(hj, dir_fd, holders, at, written, tag, err);
	}
	host_holders_free(holders);
	return r;
}

int host_holders_check_listed(const host_journal *hj, vfg_error *err)
{
	const host_holders *holders = hj->holders;
	_cleanup_close_ int dir_fd = holders ? open(hj->directory, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	int r = 0;
	if (dir_fd < 0)
		return 0;
	EACH_DOMAIN(holders, at)
	{
		holders_match match;
		size_t signature;
		const domain_journal *dj =
			domain_line(holders, at, &match, &signature) ? host_journal_find(hj, match.name) : NULL;
		if (r == 0 && (!dj || !dj->touched))
			r = listed_journal_kept(hj, dir_fd, holders, at, NULL, NULL, err);
	}
	return r;
}

/* The first holder of @key but @self, and the first of them with @uid (when not NULL), are the files recorded. */
static bool key_vouched(const host_journal *hj, const char *key, const char *self, const uid_t *uid)
{
	holders_match match;
	size_t cursor = 0, count;
	bool first = true;
	if (!uid)
		return host_holders_count(hj->holders, key, self, &count, &match) &&
		       (!count || host_holders_vouch(hj, &match));
	int listed;
	while ((listed = host_holders_next(hj->holders, key, &cursor, &match)) > 0) {
		if (strcmp(match.name, self) == 0)
			continue;
		if ((first || match.uid == *uid) && !host_holders_vouch(hj, &match))
			return false;
		if (match.uid == *uid)
			return true;
		first = false;
	}
	return listed == 0;
}

int host_holders_vouch_subject(host_journal *hj, const char *subject, vfg_error *err)
{
	const domain_journal *dj = hj->holders ? host_journal_find(hj, subject) : NULL;
	if (dj && !dj->domain)
		dj = NULL; /* a journal with no domain line holds nothing with others */
	bool vouched = true;
	for (size_t i = 0; dj && vouched && i < dj->n_states; i++) {
		_cleanup_free_ char *key =
			host_holders_key(HOLDER_STATE, 0, dj->states[i]->labeler, dj->states[i]->key, 0);
		vouched = key && key_vouched(hj, key, subject, NULL);
	}
	for (size_t i = 0; dj && vouched && i < dj->n_records; i++) {
		const journal_record *record = dj->records[i];
		if (!record->node.shared)
			continue;
		_cleanup_free_ char *key =
			host_holders_key(HOLDER_RECORD, 0, record->labeler, record->node.path, record->node.rdev);
		vouched = key && key_vouched(hj, key, subject, &dj->domain->uid);
	}
	return vouched ? 0 : host_journal_read_rest(hj, err);
}
