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
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>

#include "journal.h"
#include "vfg_fault.h"

#define HOLDERS_MAGIC "vfguard-holders 2"
#define HOLDERS_FILE "holders"
/* The running kernel's, not one under --root: a reboot empties /run, and a power loss must not leave it trusted. */
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define SIGNATURE_LENGTH (5 * 16 + 2 * 8 + 6)
#define SIGNATURE_SIZE (SIGNATURE_LENGTH + 1)

/*
 * A line that says what a domain holds ("claim", "state", "record"), as
 * holders_index() found it: where it starts and the domain it is listed
 * under, its hash to find it by.
 */
typedef struct holder_line {
	uint64_t hash;
	size_t at; /* the newline before it */
	size_t domain; /* the domain line it is listed under (just past its newline); SIZE_MAX: none */
} holder_line;

/*
 * The file as read, mapped, and its holder lines indexed by their hash in
 * one pass when it is mapped: a query finds the lines of its key among the
 * few of one bucket instead of searching the whole file (beside 1000
 * domains, every query of a key that all of them hold was a memmem() of
 * 170 KB; a grant asks two keys at its plan and again at its intent).
 */
struct host_holders {
	char *text;
	size_t size;
	struct stat st; /* the file mapped: a later lock maps it again only when it is another */
	holder_line *lines; /* bucket by bucket (hash & mask), in the order of the file within one */
	size_t *bucket; /* mask + 2 of them: bucket b's lines are lines[bucket[b]] .. lines[bucket[b + 1] - 1] */
	size_t mask;
	size_t *domains; /* every domain line (just past its newline), in the order of the file */
	size_t n_domains;
};

void host_holders_free(host_holders *holders)
{
	if (!holders)
		return;
	if (holders->text)
		munmap(holders->text, holders->size);
	free(holders->lines);
	free(holders->bucket);
	free(holders->domains);
	free(holders);
}

/*
 * The hash of the @length bytes at @text, eight at a time: a line is some
 * fifty bytes, and a byte at a time was most of the index's cost. Each word
 * folded in by a multiply and a shift (the constants of splitmix64, Steele,
 * Lea and Flood, "Fast splittable pseudorandom number generators", 2014).
 */
static uint64_t line_hash(const char *text, size_t length)
{
	uint64_t hash = length * 0x9e3779b97f4a7c15u;
	for (; length >= 8; text += 8, length -= 8) {
		uint64_t word;
		memcpy(&word, text, 8);
		hash = (hash ^ word) * 0xbf58476d1ce4e5b9u;
		hash ^= hash >> 31;
	}
	uint64_t tail = 0;
	memcpy(&tail, text, length);
	hash = (hash ^ tail) * 0x94d049bb133111ebu;
	return hash ^ (hash >> 29);
}

/*
 * What a holder line ("claim", "state", "record") is found by: itself. 0
 * for any other line: the header, "end", a domain line (domain_key()).
 */
static size_t holder_length(const char *line, size_t length)
{
	if ((length > 6 && (memcmp(line, "claim ", 6) == 0 || memcmp(line, "state ", 6) == 0)) ||
	    (length > 7 && memcmp(line, "record ", 7) == 0))
		return length;
	return 0;
}

/*
 * A domain line is any line that starts "domain ": one that does not parse
 * (no writer puts one) must still be listed, so that the holder lines under
 * it are its, and doubt the file when they are asked about
 * (host_holders_next()), and the check of every listed journal refuses it.
 * It is found by "domain NAME"; 0 when it has no name and space to be found
 * by.
 */
static bool domain_line_at(const char *line, size_t length)
{
	return length >= 7 && memcmp(line, "domain ", 7) == 0;
}

static size_t domain_key(const char *line, size_t length)
{
	const char *space = memchr(line + 7, ' ', length - 7);
	return space ? (size_t)(space - line) : 0;
}

/* Room in *@array (*@room items of @size) for item @n: doubled when full. */
static int room_for(void **array, size_t *room, size_t n, size_t size)
{
	if (n < *room)
		return 0;
	size_t more = *room ? 2 * *room : 256;
	void *grown = reallocarray(*array, more, size);
	if (!grown)
		return -1;
	*array = grown;
	*room = more;
	return 0;
}

/*
 * Every line of @holders once, in one pass: where each domain line is, and
 * each holder line and named domain line hashed; then placed in its bucket
 * (counted, then placed: no sort). -1 when there is no memory for it (the
 * file is then not used).
 */
static int holders_index(host_holders *holders)
{
	const char *text = holders->text, *end = text + holders->size;
	_cleanup_free_ holder_line *found = NULL;
	size_t n = 0, room = 0, domain_room = 0, domain = SIZE_MAX;
	const char *next = memchr(text, '\n', holders->size);
	/* Each newline found once: it ends one line and starts the next. */
	for (const char *c; next && (c = next + 1) < end;) {
		next = memchr(c, '\n', (size_t)(end - c));
		size_t length = next ? (size_t)(next - c) : (size_t)(end - c);
		size_t at = (size_t)(c - text), key = holder_length(c, length);
		if (domain_line_at(c, length)) {
			if (room_for((void **)&holders->domains, &domain_room, holders->n_domains, sizeof(size_t)) < 0)
				return -1;
			holders->domains[holders->n_domains++] = domain = at;
			key = domain_key(c, length);
		}
		if (!key)
			continue;
		if (room_for((void **)&found, &room, n, sizeof(*found)) < 0)
			return -1;
		found[n++] = (holder_line){line_hash(c, key), at - 1, domain};
	}
	size_t buckets = 16;
	while (buckets < n)
		buckets *= 2;
	holders->mask = buckets - 1;
	holders->bucket = calloc(buckets + 1, sizeof(*holders->bucket));
	holders->lines = malloc((n + 1) * sizeof(*holders->lines));
	_cleanup_free_ size_t *placed = calloc(buckets, sizeof(*placed));
	if (!holders->bucket || !holders->lines || !placed)
		return -1;
	for (size_t i = 0; i < n; i++)
		holders->bucket[(found[i].hash & holders->mask) + 1]++;
	for (size_t b = 1; b <= buckets; b++)
		holders->bucket[b] += holders->bucket[b - 1];
	for (size_t i = 0; i < n; i++) {
		size_t b = found[i].hash & holders->mask;
		holders->lines[holders->bucket[b] + placed[b]++] = found[i];
	}
	return 0;
}

/*
 * @value's eight hexadecimal digits, most significant first, as the eight
 * bytes of the result in memory order: each nibble spread to a byte of its
 * own, then '0' added, and 'a' - '0' - 10 more to each that is 10 or above
 * (found by adding 6: it carries into the byte's high nibble). Some twenty
 * instructions, no loop and no table.
 */
static uint64_t hex8(uint32_t value)
{
	uint64_t v = value;
	v = (v | (v << 16)) & 0x0000ffff0000ffffu;
	v = (v | (v << 8)) & 0x00ff00ff00ff00ffu;
	v = (v | (v << 4)) & 0x0f0f0f0f0f0f0f0fu;
	uint64_t letters = ((v + 0x0606060606060606u) >> 4) & 0x0101010101010101u;
	v += 0x3030303030303030u + letters * ('a' - '0' - 10);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

/* @value in 16 hexadecimal digits at @out, zeros before: @out past them. */
static char *put_hex16(char *out, uint64_t value)
{
	uint64_t high = hex8((uint32_t)(value >> 32)), low = hex8((uint32_t)value);
	memcpy(out, &high, 8);
	memcpy(out + 8, &low, 8);
	return out + 16;
}

/* @value in 8 hexadecimal digits. */
static char *put_hex8(char *out, uint32_t value)
{
	uint64_t digits = hex8(value);
	memcpy(out, &digits, 8);
	return out + 8;
}

/*
 * What says a file is the one recorded: device, inode, size, modification
 * and change times (as journal_cache.c), each in fixed-width hexadecimal,
 * "DEV:INO:SIZE:MSEC.MNSEC:CSEC.CNSEC" (16 digits a 64-bit field, 8 the
 * nanoseconds; signed fields as their two's complement). A command checks
 * one per domain on the host (journals_match()): fixed-width hexadecimal
 * is formatted with no division and compared with one memcmp(). Beside
 * 1000 domains the decimal form of version 1, read digit by digit against
 * the numbers, was 0.95 of the check's 1.57 million instructions; this
 * form is 0.32 of 0.94 (callgrind).
 */
static void file_signature(dev_t dev, ino_t ino, off_t size, const struct timespec *mtime, const struct timespec *ctime,
			   char buf[SIGNATURE_SIZE])
{
	char *at = put_hex16(buf, (uint64_t)dev);
	*at++ = ':';
	at = put_hex16(at, (uint64_t)ino);
	*at++ = ':';
	at = put_hex16(at, (uint64_t)size);
	*at++ = ':';
	at = put_hex16(at, (uint64_t)mtime->tv_sec);
	*at++ = '.';
	at = put_hex8(at, (uint32_t)mtime->tv_nsec);
	*at++ = ':';
	at = put_hex16(at, (uint64_t)ctime->tv_sec);
	*at++ = '.';
	at = put_hex8(at, (uint32_t)ctime->tv_nsec);
	*at = '\0';
}

static void stat_signature(const struct stat *st, char buf[SIGNATURE_SIZE])
{
	file_signature(st->st_dev, st->st_ino, st->st_size, &st->st_mtim, &st->st_ctim, buf);
}

/* The @length characters at @text are stat_signature(@st), exactly. */
static bool stat_signature_is(const char *text, size_t length, const struct stat *st)
{
	char signature[SIGNATURE_SIZE];
	stat_signature(st, signature);
	return length == SIGNATURE_LENGTH && memcmp(text, signature, SIGNATURE_LENGTH) == 0;
}

/* The signature of the file at @path: 0, -ENOENT, or -1. */
static int path_signature(const char *path, char buf[SIGNATURE_SIZE])
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? -ENOENT : -1;
	stat_signature(&st, buf);
	return 0;
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
static bool validity_line(const host_journal *hj, char *buf, size_t size)
{
	char boot[40], directory[SIGNATURE_SIZE];
	if (!hj->generation || !boot_id(boot) || path_signature(hj->directory, directory) < 0)
		return false;
	snprintf(buf, size, "valid %s %" PRIu64 " %lu:%lu %s", boot, hj->generation, (unsigned long)hj->lock_dev,
		 (unsigned long)hj->lock_ino, directory);
	return true;
}

/* ---- Reading ---- */

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
		snprintf(key, size, "\nclaim %u\n", group);
		return key;
	case HOLDER_STATE:
		used = (size_t)snprintf(key, size, "\nstate");
		break;
	case HOLDER_RECORD:
		used = (size_t)snprintf(key, size, "\nrecord");
		break;
	}
	used += append_field(key + used, labeler);
	used += append_field(key + used, name);
	if (kind == HOLDER_RECORD)
		used += (size_t)snprintf(key + used, size - used, " %u:%u", major(rdev), minor(rdev));
	snprintf(key + used, size - used, "\n");
	return key;
}

/* The line at @at (just past a newline) of @holders: its length without the newline. */
static size_t line_length(const host_holders *holders, size_t at)
{
	const char *end = memchr(holders->text + at, '\n', holders->size - at);
	return end ? (size_t)(end - holders->text) - at : holders->size - at;
}

/* domain_line() for any line: copied, the name decoded, the uid by strtoul(). */
static bool domain_line_copied(const host_holders *holders, size_t at, holders_match *match, size_t *signature)
{
	size_t length = line_length(holders, at);
	char line[3 * VFG_NAME_MAX + 256];
	if (length >= sizeof(line) || length < 7 || memcmp(holders->text + at, "domain ", 7) != 0)
		return false;
	memcpy(line, holders->text + at, length);
	line[length] = '\0';
	char *name = line + 7, *uid = strchr(name, ' '), *end;
	if (!uid)
		return false;
	*uid++ = '\0';
	char *rest = strchr(uid, ' ');
	if (!rest || vfg_field_decode(name) < 0 || strlen(name) > VFG_NAME_MAX)
		return false;
	*rest++ = '\0';
	errno = 0;
	unsigned long number = strtoul(uid, &end, 10);
	if (errno || *end || end == uid)
		return false;
	memcpy(match->name, name, strlen(name) + 1); /* fits: checked against VFG_NAME_MAX above */
	match->uid = (uid_t)number;
	match->entry = at;
	*signature = at + (size_t)(rest - line);
	return true;
}

/*
 * The domain line at @at, "domain NAME UID SIGNATURE": its name, uid and
 * where its signature starts. Read in place when the name has no escape and
 * the uid is digits (every line vfguard writes for a name it accepts): a
 * query of a key that 1000 domains hold reads 1000 of them; anything else
 * as domain_line_copied().
 */
static bool domain_line(const host_holders *holders, size_t at, holders_match *match, size_t *signature)
{
	const char *line = holders->text + at, *end = line + line_length(holders, at);
	const char *name = line + 7, *c = name;
	if (end - line >= 3 * VFG_NAME_MAX + 256 || end - line < 7 || memcmp(line, "domain ", 7) != 0)
		return false;
	for (; c < end && *c != ' ' && *c != '%' && *c; c++)
		;
	size_t name_length = (size_t)(c - name);
	if (c == end || *c != ' ' || name_length > VFG_NAME_MAX || (name_length == 1 && name[0] == '-'))
		return domain_line_copied(holders, at, match, signature);
	const char *uid = ++c;
	unsigned long number = 0;
	for (; c < end && *c >= '0' && *c <= '9' && c - uid < 19; c++)
		number = number * 10 + (unsigned long)(*c - '0');
	if (c == uid || c == end || *c != ' ')
		return domain_line_copied(holders, at, match, signature);
	memcpy(match->name, name, name_length);
	match->name[name_length] = '\0';
	match->uid = (uid_t)number;
	match->entry = at;
	*signature = (size_t)(c + 1 - holders->text);
	return true;
}

/*
 * The first indexed line from position @from of lines[] (0: the first)
 * whose text at its newline before is the @length bytes of @key, which
 * hashes to @hash: its position, or the end of @key's bucket when none.
 */
static size_t bucket_find(const host_holders *holders, const char *key, size_t length, uint64_t hash, size_t from)
{
	size_t b = hash & holders->mask, i = from > holders->bucket[b] ? from : holders->bucket[b];
	for (; i < holders->bucket[b + 1]; i++) {
		const holder_line *line = &holders->lines[i];
		if (line->hash == hash && line->at + length <= holders->size &&
		    memcmp(holders->text + line->at, key, length) == 0)
			break;
	}
	return i;
}

int host_holders_next(const host_holders *holders, const char *key, size_t *cursor, holders_match *match)
{
	/* @key is the line with its newlines on both sides: hashed without them, compared with them. */
	size_t key_length = strlen(key);
	uint64_t hash = line_hash(key + 1, key_length - 2);
	size_t stop = holders->bucket[(hash & holders->mask) + 1], signature;
	/* *@cursor: 0, or one past the last line returned (a position in lines[]). */
	for (size_t i = bucket_find(holders, key, key_length, hash, *cursor); i < stop;
	     i = bucket_find(holders, key, key_length, hash, i + 1)) {
		const holder_line *line = &holders->lines[i];
		*cursor = i + 1;
		if (line->domain == SIZE_MAX)
			continue; /* above every domain line: no writer puts one there */
		/* Not a line the writer puts: what it says this domain holds cannot be read, so the file is doubted. */
		return domain_line(holders, line->domain, match, &signature) ? 1 : -1;
	}
	*cursor = stop;
	return 0;
}

static bool signature_is(const host_holders *holders, size_t at, const char *signature)
{
	size_t length = strlen(signature);
	return line_length(holders, at) == length && memcmp(holders->text + at, signature, length) == 0;
}

bool host_holders_current(const host_holders *holders, const holders_match *match, const domain_journal *dj)
{
	char signature[SIGNATURE_SIZE];
	holders_match again;
	size_t at;
	file_signature(dj->file.dev, dj->file.ino, dj->file.size, &dj->file.mtime, &dj->file.ctime, signature);
	return dj->file.ino && domain_line(holders, match->entry, &again, &at) && signature_is(holders, at, signature);
}

/* Where the domain line of @name starts in @holders (just past its newline), or SIZE_MAX when none. */
static size_t domain_entry(const host_holders *holders, const char *name)
{
	char key[3 * VFG_NAME_MAX + 16];
	if (strlen(name) > VFG_NAME_MAX)
		return SIZE_MAX; /* no such domain: a name is checked against it before it is journaled */
	size_t used = (size_t)snprintf(key, sizeof(key), "\ndomain");
	used += append_field(key + used, name);
	key[used++] = ' ';
	/* Indexed by "domain NAME" (domain_key()), compared with its newline before and the space after. */
	uint64_t hash = line_hash(key + 1, used - 2);
	size_t i = bucket_find(holders, key, used, hash, 0);
	return i < holders->bucket[(hash & holders->mask) + 1] ? holders->lines[i].at + 1 : SIZE_MAX;
}

/*
 * host_holders_next() counted, without reading the holders' lines: only
 * the first is read, into *@first. A key that all domains of a cgroup hold
 * (its rule) is counted at every plan and intent: beside 1000 domains,
 * reading each holder's line for its name made a grant's counts 1.0
 * million instructions, 0.2 million without. Every domain line of a
 * trusted index parses (journals_match()), so the count is the same.
 */
bool host_holders_count(const host_holders *holders, const char *key, const char *self, size_t *count,
			holders_match *first)
{
	size_t key_length = strlen(key), signature;
	uint64_t hash = line_hash(key + 1, key_length - 2);
	size_t stop = holders->bucket[(hash & holders->mask) + 1];
	size_t own = self ? domain_entry(holders, self) : SIZE_MAX;
	*count = 0;
	for (size_t i = bucket_find(holders, key, key_length, hash, 0); i < stop;
	     i = bucket_find(holders, key, key_length, hash, i + 1)) {
		size_t domain = holders->lines[i].domain;
		if (domain == SIZE_MAX || domain == own)
			continue;
		if (!*count && !domain_line(holders, domain, first, &signature))
			return false;
		(*count)++;
	}
	return true;
}

/* Where the domain entry at @entry ends: the next domain line, or the end line. */
static size_t domain_entry_end(const host_holders *holders, size_t entry)
{
	size_t low = 0, high = holders->n_domains;
	while (low < high) {
		size_t middle = low + (high - low) / 2;
		if (holders->domains[middle] <= entry)
			low = middle + 1;
		else
			high = middle;
	}
	return low < holders->n_domains ? holders->domains[low] : holders->size - 4;
}

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
static bool journals_match(const host_journal *hj, const host_holders *holders, const char *subject)
{
	_cleanup_close_ int dir_fd = open(hj->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
	holders_match match;
	if (dir_fd < 0)
		return false;
	if (!subject) {
		for (size_t i = 0; i < holders->n_domains; i++)
			if (listed_current(dir_fd, holders, holders->domains[i], &match) <= 0)
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
	return dir_fd >= 0 && hj->holders && listed_current(dir_fd, hj->holders, match->entry, &again) > 0;
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
 * not trusted, as a journal changed behind the lock is not.
 */
static bool holders_sealed(const host_journal *hj, const struct stat *st)
{
	char recorded[SIGNATURE_SIZE];
	ssize_t n = pread(hj->lock_fd, recorded, SIGNATURE_SIZE, LOCK_GENERATION_SIZE);
	return n == SIGNATURE_SIZE && recorded[SIGNATURE_LENGTH] == '\n' &&
	       stat_signature_is(recorded, SIGNATURE_LENGTH, st);
}

static host_holders *holders_read(const host_journal *hj)
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
	if (fd >= 0 && !holders_sealed(hj, &st)) {
		host_holders_free(holders);
		return NULL;
	}
	if (holders && (fd < 0 || !same_file(&holders->st, &st))) {
		host_holders_free(holders);
		holders = NULL;
	}
	if (!holders) {
		holders = fd >= 0 && st.st_size > 0 ? calloc(1, sizeof(*holders)) : NULL;
		if (!holders)
			return NULL;
		holders->size = (size_t)st.st_size;
		holders->st = st;
		/*
		 * Mapped ready in one call: no copy, no page fault per page (read
		 * into the heap instead, the fresh pages' faults cost four times
		 * the mapping and its munmap here: 2.1 ms against 0.5 for three
		 * reads of 180 KB). Kept for the next lock (journal_cache.c): an
		 * apply's prepare hold and its plan and apply hold map it once.
		 */
		holders->text = mmap(NULL, holders->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (holders->text == MAP_FAILED)
			holders->text = NULL;
		if (!holders->text || holders_index(holders) < 0) {
			host_holders_free(holders);
			return NULL;
		}
	}
	size_t magic = strlen(HOLDERS_MAGIC), valid = strlen(validity);
	const char *end = "\nend\n";
	/* The magic's line, the validity line, "end" and its newline: an index of no domain is that much, no more. */
	if (holders->size < magic + 1 + valid + 1 + 4 || memcmp(holders->text, HOLDERS_MAGIC "\n", magic + 1) != 0 ||
	    memcmp(holders->text + magic + 1, validity, valid) != 0 || holders->text[magic + 1 + valid] != '\n' ||
	    memcmp(holders->text + holders->size - 5, end, 5) != 0) {
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

/* The 16 hexadecimal digits at @text (file_signature()'s fields), or false. */
static bool hex16_read(const char *text, uint64_t *value)
{
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		char c = text[i];
		unsigned digit = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
				 : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
							: 16;
		if (digit == 16)
			return false;
		v = v << 4 | digit;
	}
	*value = v;
	return true;
}

/* One listed journal against the file there now: 0 as it may be, -1 removed or cut (in @err). */
static int listed_journal_kept(const host_journal *hj, int dir_fd, const host_holders *holders, size_t at,
			       vfg_error *err)
{
	holders_match match;
	size_t signature_at;
	char file[3 * VFG_NAME_MAX + 16], path[VFG_PATH_MAX + 3 * VFG_NAME_MAX + 16];
	uint64_t dev, ino, size;
	if (!domain_line(holders, at, &match, &signature_at) || line_length(holders, signature_at) != SIGNATURE_LENGTH)
		return 0; /* a line it cannot read tells nothing */
	const char *signature = holders->text + signature_at;
	if (!hex16_read(signature, &dev) || !hex16_read(signature + 17, &ino) || !hex16_read(signature + 34, &size))
		return 0;
	journal_file_name(match.name, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/%s", hj->directory, file);
	struct stat st;
	if (fstatat(dir_fd, file, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT)
			return 0;
		return vfg_error_refuse(
			err, EBADMSG, path,
			"domain %s's journal is gone, but the holders index the last vfguard command "
			"wrote lists it, and none changed a journal since: a journal removed by hand "
			"leaves what it granted on the nodes with nothing to undo it, and the next grant "
			"of them would take it for the original; put the journal back, then run vfguard "
			"revoke --domain %s (if its grants were undone by hand, remove STATE/holders); "
			"nothing was changed",
			match.name, VFG_NAME_SHELL(match.name));
	}
	/* Anything but a regular file is refused by name when it is read. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino &&
	    (uint64_t)st.st_size < size)
		return vfg_error_refuse(err, EBADMSG, path,
					"domain %s's journal is %lld bytes, shorter than the %llu the last vfguard "
					"command left, and none changed a journal since: it was cut behind vfguard's "
					"back, and what it no longer says would stay granted with nothing to undo it; "
					"put it back whole; nothing was changed",
					match.name, (long long)st.st_size, (unsigned long long)size);
	return 0;
}

/*
 * When the index cannot be trusted and every journal is read instead: if
 * no vfguard command changed a journal since the last one wrote the index
 * (the boot, generation and lock are this hold's, and the index is the
 * sealed file), each journal it lists must still be there, and no shorter
 * than it left it: vfguard itself never removes or shortens a journal
 * without raising the generation first. One removed (moved aside) or cut
 * by hand would otherwise read as a domain that holds less, or nothing,
 * while its grants stay on the nodes (a trial: the next domain journaled
 * them as the original, and they outlived its revoke).
 */
int host_holders_check_journals(const host_journal *hj, vfg_error *err)
{
	char validity[512], path[VFG_PATH_MAX];
	vfg_error ignored = {0};
	struct stat st;
	if (!validity_line(hj, validity, sizeof(validity)) ||
	    vfg_state_path(hj->ctx, HOLDERS_FILE, path, sizeof(path), &ignored) < 0)
		return 0;
	/* "valid BOOT GENERATION LOCK " without domains/' signature, which a journal removed moves */
	size_t prefix = (size_t)(strrchr(validity, ' ') + 1 - validity), magic = strlen(HOLDERS_MAGIC);
	_cleanup_close_ int fd = vfg_state_open_stat(path, O_RDONLY, false, &st, &ignored);
	if (fd < 0 || st.st_size <= 0 || !holders_sealed(hj, &st))
		return 0;
	host_holders *holders = calloc(1, sizeof(*holders));
	if (!holders)
		return 0;
	holders->size = (size_t)st.st_size;
	holders->text = mmap(NULL, holders->size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (holders->text == MAP_FAILED)
		holders->text = NULL;
	int r = 0;
	if (holders->text && holders->size > magic + 1 + prefix &&
	    memcmp(holders->text, HOLDERS_MAGIC "\n", magic + 1) == 0 &&
	    memcmp(holders->text + magic + 1, validity, prefix) == 0 && holders_index(holders) == 0) {
		_cleanup_close_ int dir_fd = open(hj->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
		for (size_t i = 0; dir_fd >= 0 && r == 0 && i < holders->n_domains; i++)
			r = listed_journal_kept(hj, dir_fd, holders, holders->domains[i], err);
	}
	host_holders_free(holders);
	return r;
}

int host_holders_check_listed(const host_journal *hj, vfg_error *err)
{
	const host_holders *holders = hj->holders;
	_cleanup_close_ int dir_fd = holders ? open(hj->directory, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	int r = 0;
	for (size_t i = 0; dir_fd >= 0 && r == 0 && i < holders->n_domains; i++) {
		holders_match match;
		size_t signature;
		const domain_journal *dj = domain_line(holders, holders->domains[i], &match, &signature)
						   ? host_journal_find(hj, match.name)
						   : NULL;
		if (!dj || !dj->touched)
			r = listed_journal_kept(hj, dir_fd, holders, holders->domains[i], err);
	}
	return r;
}

/* ---- Writing ---- */

/* @value as a field after a space: -1 when there is no memory for it (no file is written then). */
static int put_field(FILE *out, const char *value)
{
	size_t size = 3 * strlen(value) + 2;
	char *field = malloc(size);
	if (!field)
		return -1;
	vfg_field_encode(value, field, size);
	fprintf(out, " %s", field);
	free(field);
	return 0;
}

static int group_order(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return (x > y) - (x < y);
}

/* @dj's lines: 1 written, 0 it holds nothing (no file), -1 it cannot be listed. */
static int put_domain(FILE *out, const domain_journal *dj)
{
	char signature[SIGNATURE_SIZE];
	if (dj->open_txn)
		return -1; /* only a committed journal is summed up: an open one is restore's to finish */
	if (dj->touched || !dj->file.ino) {
		int r = path_signature(dj->path, signature);
		if (r < 0)
			return r == -ENOENT ? 0 : -1;
	} else {
		file_signature(dj->file.dev, dj->file.ino, dj->file.size, &dj->file.mtime, &dj->file.ctime, signature);
	}
	fputs("domain", out);
	if (put_field(out, dj->domain->name) < 0)
		return -1;
	fprintf(out, " %lu %s\n", (unsigned long)dj->domain->uid, signature);
	/* One line per group, however many of its functions the domain claims: sorted, each once. */
	_cleanup_free_ unsigned *groups = dj->n_claims ? malloc(dj->n_claims * sizeof(*groups)) : NULL;
	if (dj->n_claims && !groups)
		return -1;
	for (size_t i = 0; i < dj->n_claims; i++)
		groups[i] = dj->claims[i].group;
	qsort(groups, dj->n_claims, sizeof(*groups), group_order);
	for (size_t i = 0; i < dj->n_claims; i++)
		if (i == 0 || groups[i] != groups[i - 1])
			fprintf(out, "claim %u\n", groups[i]);
	for (size_t i = 0; i < dj->n_states; i++) {
		fputs("state", out);
		if (put_field(out, dj->states[i]->labeler) < 0 || put_field(out, dj->states[i]->key) < 0)
			return -1;
		fputc('\n', out);
	}
	for (size_t i = 0; i < dj->n_records; i++) {
		const journal_record *record = dj->records[i];
		if (!record->node.shared)
			continue; /* only its own domain's commands act on an exclusive node's record */
		fputs("record", out);
		if (put_field(out, record->labeler) < 0 || put_field(out, record->node.path) < 0)
			return -1;
		fprintf(out, " %u:%u\n", major(record->node.rdev), minor(record->node.rdev));
	}
	return 1;
}

/* The lines of the journals in memory, after the header. */
static int memory_lines(const host_journal *hj, const char *validity, char **text, size_t *size)
{
	FILE *out = open_memstream(text, size);
	if (!out)
		return -1;
	fprintf(out, "%s\n%s\n", HOLDERS_MAGIC, validity);
	int r = 0;
	for (size_t i = 0; r >= 0 && i < hj->n_domains; i++)
		r = put_domain(out, hj->domains[i]);
	if (fclose(out) != 0 || r < 0) {
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

typedef struct text_range {
	size_t start, end;
} text_range;

static int range_order(const void *a, const void *b)
{
	const text_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * The entries of hj->holders for the domains that are not in memory: its
 * text from the first entry to the end line, less the entries of those that
 * are (found by name: a few). 0 with *@count ranges in *@ranges, or -1.
 */
static int carried_ranges(const host_journal *hj, text_range **ranges, size_t *count)
{
	const host_holders *holders = hj->holders;
	*count = 0;
	*ranges = calloc(hj->n_domains + 1, sizeof(**ranges));
	if (!*ranges)
		return -1;
	size_t end = holders->size - 4, start = holders->n_domains ? holders->domains[0] : end;
	text_range *skip = calloc(hj->n_domains + 1, sizeof(*skip));
	size_t skipped = 0;
	if (!skip)
		return -1;
	for (size_t i = 0; i < hj->n_domains; i++) {
		size_t at = domain_entry(holders, hj->domains[i]->domain->name);
		if (at != SIZE_MAX)
			skip[skipped++] = (text_range){at, domain_entry_end(holders, at)};
	}
	qsort(skip, skipped, sizeof(*skip), range_order);
	for (size_t i = 0; i <= skipped; i++) {
		size_t stop = i < skipped ? skip[i].start : end;
		if (stop > start)
			(*ranges)[(*count)++] = (text_range){start, stop};
		if (i < skipped)
			start = skip[i].end;
	}
	free(skip);
	return 0;
}

/*
 * The signature of the index just renamed in place, @fd still open on it,
 * after the generation in the lock file (holders_sealed()); the rename is
 * behind it, which moves the file's change time on tmpfs and ext4. Not
 * synced, as the index is not.
 */
static bool holders_seal(const host_journal *hj, int fd)
{
	struct stat st;
	char signature[SIGNATURE_SIZE];
	if (fstat(fd, &st) < 0)
		return false;
	stat_signature(&st, signature);
	signature[SIGNATURE_LENGTH] = '\n';
	return !vfg_fault("lock.holders") &&
	       pwrite(hj->lock_fd, signature, SIGNATURE_SIZE, LOCK_GENERATION_SIZE) == SIGNATURE_SIZE;
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
	if (written && !vfg_fault("holders.rename") && rename(temporary, path) == 0) {
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

/* The new file: the journals in memory, then what hj->holders says of the others. */
static int holders_rewrite(const host_journal *hj, const char *validity)
{
	char *text = NULL;
	size_t size = 0, count = 0;
	text_range *ranges = NULL;
	if (memory_lines(hj, validity, &text, &size) < 0 || (hj->holders && carried_ranges(hj, &ranges, &count) < 0)) {
		free(text);
		return -1;
	}
	/* writev takes IOV_MAX pieces; more would be more domains in memory than a command of one domain loads. */
	struct iovec pieces[IOV_MAX];
	int n = 0, r = -1;
	pieces[n++] = (struct iovec){text, size};
	for (size_t i = 0; i < count && n < IOV_MAX - 1; i++)
		pieces[n++] = (struct iovec){hj->holders->text + ranges[i].start, ranges[i].end - ranges[i].start};
	pieces[n++] = (struct iovec){(void *)"end\n", 4};
	if (n - 2 == (int)count)
		r = holders_replace(hj, pieces, n);
	free(ranges);
	free(text);
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
	char validity[512], path[VFG_PATH_MAX];
	vfg_error ignored = {0};
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
	/* A transaction left open, or no memory: no file is better than a doubtful one. */
	if (holders_rewrite(hj, validity) < 0 &&
	    vfg_state_path(hj->ctx, HOLDERS_FILE, path, sizeof(path), &ignored) == 0)
		unlink(path); /* no fault: a failure leaves the doubtful index, which its validity line refutes */
}
