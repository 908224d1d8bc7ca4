/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the journal's files back: the host lock, every domain's file
 * replayed into what it holds (each line parsed in journal_parse.c), damage
 * refused. See journal.h for the model and docs/journal.md for the format
 * and the trust rules.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "journal.h"
#include "vfg_fault.h"

/*
 * A journal an apply left before its domain line (killed right after its
 * begin, or between the file's creation and its first write) names its
 * domain by its file alone: status and audit showed a domain '' and a fix,
 * "vfguard revoke --domain ''", that cannot run (a crash trial). The name
 * is taken back from the file name (journal_file_name() in reverse) when
 * it round-trips and is one a domain can have.
 */
static void name_from_file(domain_journal *dj)
{
	const char *base = strrchr(dj->path, '/');
	base = base ? base + 1 : dj->path;
	size_t length = strlen(base), suffix = strlen(JOURNAL_SUFFIX);
	char name[VFG_NAME_MAX], file[3 * VFG_NAME_MAX + 16];
	size_t used = 0;
	if (length <= suffix)
		return;
	for (size_t i = 0; i < length - suffix && used + 1 < sizeof(name); i++) {
		unsigned value;
		if (base[i] == '%' && i + 2 < length - suffix && sscanf(base + i + 1, "%2X", &value) == 1) {
			name[used++] = (char)value;
			i += 2;
		} else {
			name[used++] = base[i];
		}
	}
	name[used] = '\0';
	vfg_error ignored = {0};
	journal_file_name(name, file, sizeof(file));
	if (vfg_domain_name_check(name, &ignored) == 0 && strcmp(file, base) == 0)
		snprintf(dj->domain->name, sizeof(dj->domain->name), "%s", name);
}

/*
 * The bytes of @word (little-endian: the first in the low byte) that are
 * not printable ASCII and not a newline, as their top bit. Exact per byte
 * (no borrow between them): each test keeps a byte's value below 0x100.
 */
static uint64_t word_damage(uint64_t word)
{
	const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL, highs = 0x8080808080808080ULL, ones = 0x0101010101010101ULL;
	uint64_t at_least_space = ((word & low7) + ones * (0x80 - ' ')) & highs;
	uint64_t newline = word ^ (ones * '\n'), delete = word ^ (ones * 0x7f);
	uint64_t is_newline = ~(((newline & low7) + low7) | newline) & highs;
	uint64_t is_delete = ~(((delete &low7) + low7) | delete) & highs;
	return ((~at_least_space & highs & ~is_newline) | is_delete | word) & highs;
}

/*
 * The journal is text its writer escapes to printable ASCII (field_encode),
 * so any other byte before the last newline is damage, not a torn write: a
 * NUL most of all, which would end a C string and hide every line after it.
 * The file is read by its length, never as a string, so nothing is missed.
 * Eight bytes at a time: every other domain's journal is checked so.
 */
static int check_bytes(const journal_reader *reader, const char *content, size_t complete)
{
	size_t offset = 0;
	for (; offset + 8 <= complete; offset += 8) {
		uint64_t word;
		memcpy(&word, content + offset, 8);
		uint64_t damage = word_damage(le64toh(word));
		if (damage) {
			offset += (size_t)__builtin_ctzll(damage) / 8;
			break;
		}
	}
	for (; offset < complete; offset++) {
		unsigned char c = (unsigned char)content[offset];
		if ((c < ' ' || c >= 0x7f) && c != '\n')
			break;
	}
	if (offset >= complete)
		return 0;
	unsigned line = 1;
	for (const char *at = content; (at = memchr(at, '\n', (size_t)(content + offset - at))); at++)
		line++;
	unsigned char c = (unsigned char)content[offset];
	char what[16] = "a NUL byte";
	if (c)
		snprintf(what, sizeof(what), "byte 0x%02X", c);
	return vfg_error_set(reader->err, 0, reader->dj->path,
			     "line %u: %s at byte offset %zu, where only printable ASCII is ever written (the "
			     "journal is damaged: fix it by hand; vfguard leaves it as it is)",
			     line, what, offset);
}

/* Past this, a journal is read into memory of its own, mapped ready (journal_file_read). */
#define JOURNAL_MAPPED_READ (64u << 10)

/* A file's content as journal_file_read() holds it: @capacity bytes, mapped or malloc()ed. */
typedef struct journal_content {
	char *bytes;
	size_t size, capacity;
} journal_content;

static void journal_content_release(journal_content *content)
{
	if (content->bytes && content->capacity > JOURNAL_MAPPED_READ)
		munmap(content->bytes, content->capacity);
	else
		free(content->bytes);
	content->bytes = NULL;
}

static char *content_allocate(size_t capacity)
{
	if (capacity <= JOURNAL_MAPPED_READ)
		return malloc(capacity);
	/* A large journal's pages come in one call instead of one page fault each (costly under a hypervisor). */
	void *bytes = mmap(NULL, capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	return bytes == MAP_FAILED ? NULL : bytes;
}

/* The whole file behind @fd, sized by its fstat @st so a journal takes one read. */
/*
 * No domain's journal comes near this: an apply of 1024 hostdevs with the dac
 * and cgroup labelers writes 224 KB, a hot-plug about 1 KB, and a journal is
 * removed once its domain holds nothing.
 * A larger file is damage, or someone else's (a security trial's sparse 4 GB
 * file took 4.1 GB of memory to read), and is refused before it is read.
 */
#define JOURNAL_FILE_MAX ((size_t)64 << 20)

static int journal_file_read(int fd, const char *path, const struct stat *st, journal_content *content, vfg_error *err)
{
	if ((unsigned long long)st->st_size > JOURNAL_FILE_MAX)
		return vfg_error_set(
			err, EFBIG, path,
			"the journal is %lld bytes, more than the %zu MiB any grant writes: damaged, or not "
			"vfguard's; left as it is for a person to look at",
			(long long)st->st_size, JOURNAL_FILE_MAX >> 20);
	for (size_t capacity = (size_t)st->st_size + 2;; capacity *= 2) {
		if (capacity > JOURNAL_FILE_MAX + 2) /* it grew past the bound since fstat */
			return vfg_error_set(err, EFBIG, path, "the journal grew past %zu MiB while it was read",
					     JOURNAL_FILE_MAX >> 20);
		content->capacity = capacity;
		content->bytes = content_allocate(capacity);
		if (!content->bytes)
			return vfg_error_set(err, ENOMEM, path, "cannot read the journal");
		size_t used = 0;
		ssize_t n = 0;
		/* A regular file's read returns less than asked only at its end (read(2)): no read for the EOF. */
		while (used < capacity - 1 && ((n = pread(fd, content->bytes + used, capacity - 1 - used,
							  (off_t)used)) == (ssize_t)(capacity - 1 - used) ||
					       (n < 0 && errno == EINTR)))
			used += n > 0 ? (size_t)n : 0;
		if (n > 0 && used < capacity - 1)
			used += (size_t)n;
		if (used < capacity - 1) { /* the end of the file, or a failure */
			if (n < 0) {
				int saved = errno;
				journal_content_release(content);
				return vfg_error_set(err, saved, path, "cannot read the journal");
			}
			content->bytes[used] = '\0';
			content->size = used;
			return 0;
		}
		/* It grew since fstat: only a writer without the lock could, but read it all the same. */
		journal_content_release(content);
	}
}

/* Where field @index (0: the entry) of @line starts; NULL past the last. */
static const char *field_at(const char *line, size_t index)
{
	for (; index > 0 && line; index--) {
		line = strchr(line, ' ');
		line = line ? line + 1 : NULL;
	}
	return line;
}

/*
 * Another domain's journal, read for what a command of this one uses of it:
 * its domain line, claims, side state and records of shared nodes, every
 * line of those parsed and checked as in a whole read. Its records of its
 * own exclusive nodes are counted, not kept: nobody else holds them (a node
 * of a group is recorded only under the claim of the group), and only that
 * domain's own commands act on them, which read its journal whole. A file
 * a record was undone in, or with an unfinished transaction, is read whole:
 * what it holds is then not just what its lines list.
 */
static bool summary_allowed(const char *content, size_t complete)
{
	if (complete == 0 || memmem(content, complete, "\nundone ", 8))
		return false;
	const char *last = complete > 1 ? memrchr(content, '\n', complete - 1) : NULL;
	last = last ? last + 1 : content;
	return strncmp(last, "commit ", 7) == 0;
}

/* One line of a summary read: 0 handled, -1 an error (journal_reader.err). */
static int read_line_summary(journal_reader *reader, char *line)
{
	domain_journal *dj = reader->dj;
	if (strncmp(line, "intent ", 7) == 0) {
		const char *shared = field_at(line, 7);
		if (shared && strncmp(shared, "0 ", 2) == 0) {
			dj->skipped_records++;
			return 0;
		}
	} else if (strncmp(line, "done ", 5) == 0 || strncmp(line, "takeback ", 9) == 0) {
		const char *id = field_at(line, 2);
		unsigned long number;
		char *end;
		if (id && (number = strtoul(id, &end, 10), *end == '\0') && !domain_journal_find_record_id(dj, number))
			return 0; /* the mark of a record not kept */
	}
	return journal_read_line(reader, line);
}

/*
 * Replay one file, read from @fd: whole, or (@summary) as another domain's
 * command uses it (summary_allowed). A last line without its newline is a
 * write a crash cut short: it never became durable as a whole, so it never
 * happened; under the exclusive lock it is cut off so the next append starts
 * on a fresh line. Only that tail is ever cut, and only once everything
 * before it has read back as a journal: a damaged file is left as it is.
 */
static int domain_journal_read(const host_journal *hj, int fd, const struct stat *st, const char *path, bool exclusive,
			       bool summary, domain_journal **out, vfg_error *err)
{
	__attribute__((cleanup(journal_content_release))) journal_content read = {0};
	if (journal_file_read(fd, path, st, &read, err) < 0)
		return -1;
	char *content = read.bytes;
	size_t size = read.size;
	domain_journal *dj = domain_journal_new(path);
	char *fields[JOURNAL_FIELDS_MAX];
	if (!dj)
		return vfg_error_set(err, ENOMEM, path, "cannot read the journal");
	journal_reader reader = {.hj = hj, .dj = dj, .fields = fields, .err = err};
	const char *end = memrchr(content, '\n', size);
	size_t complete = end ? (size_t)(end - content) + 1 : 0;
	if (check_bytes(&reader, content, complete) < 0) {
		domain_journal_free(dj);
		return -1;
	}
	dj->summary = summary = summary && summary_allowed(content, complete);
	char *line = content;
	while (line < content + complete) {
		char *newline = memchr(line, '\n', (size_t)(content + complete - line));
		*newline = '\0';
		reader.line++;
		int r = 0;
		if (reader.line > 1)
			r = summary ? read_line_summary(&reader, line) : journal_read_line(&reader, line);
		else if (strcmp(line, JOURNAL_MAGIC_V1) == 0)
			dj->version = 1;
		else if (strcmp(line, JOURNAL_MAGIC) != 0)
			r = journal_reader_error(&reader, "not a journal");
		if (r < 0) {
			domain_journal_free(dj);
			return -1;
		}
		line = newline + 1;
	}
	if (!dj->domain->name[0])
		name_from_file(dj);
	if (complete < size && exclusive && (vfg_fault("journal.cut_torn") || ftruncate(fd, (off_t)complete) < 0)) {
		domain_journal_free(dj);
		return vfg_error_set(err, errno, path, "cannot cut the torn last line off the journal");
	}
	/* What the cache compares; a file with a torn tail is one the next exclusive read cuts: not kept. */
	if (complete == size)
		dj->file = (typeof(dj->file)){st->st_dev, st->st_ino, st->st_size, st->st_mtim, st->st_ctim};
	*out = dj;
	return 0;
}

/* Read the journal at @path, whole or (@summary) for another domain's command; NULL when it is gone. */
static int read_one(host_journal *hj, const char *path, bool exclusive, bool summary, vfg_error *err)
{
	/* Read and (a torn tail) cut through the fd that was checked: what is trusted is what was read. */
	struct stat st;
	_cleanup_close_ int fd = vfg_state_open_stat(path, exclusive ? O_RDWR : O_RDONLY, false, &st, err);
	if (fd == -ENOENT)
		return 0; /* removed since it was listed: it held nothing */
	if (fd < 0)
		return -1;
	domain_journal *dj = journal_cache_take(hj, path, &st, !summary);
	if (!dj && domain_journal_read(hj, fd, &st, path, exclusive, summary, &dj, err) < 0)
		return -1;
	return host_journal_add(hj, dj, err);
}

/* Is @path the journal of @subject (NULL: every journal is)? */
static bool subject_journal(const char *path, const char *subject)
{
	if (!subject)
		return true;
	char file[3 * VFG_NAME_MAX + 16];
	const char *base = strrchr(path, '/');
	journal_file_name(subject, file, sizeof(file));
	return strcmp(base ? base + 1 : path, file) == 0;
}

/*
 * Every journal of domains/: @subject's whole, the others for what its
 * command uses of them; with @missing, only those not in memory yet.
 */
static int read_directory(host_journal *hj, bool exclusive, const char *subject, bool missing, vfg_error *err)
{
	_cleanup_closedir_ DIR *dir = NULL;
	int r = vfg_state_opendir(hj->directory, &dir, err);
	if (r < 0)
		return r == -ENOENT ? 0 : -1;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		size_t length = strlen(entry->d_name);
		size_t suffix = sizeof(JOURNAL_SUFFIX) - 1;
		if (entry->d_name[0] == '.' || length <= suffix ||
		    strcmp(entry->d_name + length - suffix, JOURNAL_SUFFIX) != 0)
			continue;
		char path[VFG_PATH_MAX + 256];
		snprintf(path, sizeof(path), "%s/%s", hj->directory, entry->d_name);
		bool read = false;
		for (size_t i = 0; missing && i < hj->n_domains && !read; i++)
			read = strcmp(hj->domains[i]->path, path) == 0;
		if (!read && read_one(hj, path, exclusive, !subject_journal(path, subject), err) < 0)
			return -1;
	}
	return 0;
}

static int read_all_journals(host_journal *hj, bool exclusive, const char *subject, vfg_error *err)
{
	if (journal_cache_unchanged(hj)) {
		/* No journal changed since the last lock read them: theirs, but one this command needs whole. */
		domain_journal *dj;
		while ((dj = journal_cache_take_next(hj))) {
			char path[VFG_PATH_MAX];
			snprintf(path, sizeof(path), "%s", dj->path);
			bool whole = subject_journal(path, subject);
			if (whole && dj->summary) {
				domain_journal_free(dj);
				if (read_one(hj, path, exclusive, false, err) < 0)
					return -1;
			} else if (host_journal_add(hj, dj, err) < 0) {
				return -1;
			}
		}
		return 0;
	}
	return read_directory(hj, exclusive, subject, false, err);
}

/* With a valid holders index: @subject's journal alone; the others are loaded when asked about (host_journal_load). */
static int read_subject_journal(host_journal *hj, bool exclusive, const char *subject, vfg_error *err)
{
	char file[3 * VFG_NAME_MAX + 16], path[VFG_PATH_MAX + 3 * VFG_NAME_MAX + 16];
	journal_file_name(subject, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/%s", hj->directory, file);
	return read_one(hj, path, exclusive, false, err);
}

int host_journal_load(const host_journal *view, const holders_match *match, domain_journal **out, vfg_error *err)
{
	/* Loading adds to the hold's journals, never changes one: every host_journal is its caller's variable. */
	host_journal *hj = (host_journal *)view;
	const char *name = match->name;
	domain_journal *dj = host_journal_find(hj, name);
	/*
	 * Looked at before it is read: a journal changed behind the lock is not
	 * opened for this (an exclusive read cuts a torn last line), and one cut
	 * or removed is refused by the read of every journal, before any is read.
	 */
	if (!dj && !host_holders_vouch(hj, match))
		return host_journal_read_rest(hj, err) < 0 ? -1 : 1;
	if (!dj) {
		char file[3 * VFG_NAME_MAX + 16], path[VFG_PATH_MAX + 3 * VFG_NAME_MAX + 16];
		journal_file_name(name, file, sizeof(file));
		snprintf(path, sizeof(path), "%s/%s", hj->directory, file);
		size_t before = hj->n_domains;
		if (read_one(hj, path, hj->exclusive, true, err) < 0) {
			hj->failed = true;
			hj->failure = *err;
			return -1;
		}
		dj = hj->n_domains > before ? hj->domains[before] : NULL;
	}
	/* Not the journal the index recorded: the index is doubted, and every journal read as without it. */
	if (!dj || !host_holders_current(hj->holders, match, dj) || dj->open_txn)
		return host_journal_read_rest(hj, err) < 0 ? -1 : 1;
	*out = dj;
	return 0;
}

int host_journal_read_rest(host_journal *hj, vfg_error *err)
{
	/*
	 * The index was trusted at the lock, and one of its journals answered
	 * for something it no longer is: one cut or removed behind vfguard's
	 * back is refused here, as at the lock (host_holders_check_journals()),
	 * before its shorter self is read as the truth.
	 */
	int r = hj->holders ? host_holders_check_listed(hj, err) : 0;
	/* The subject is in memory already: every journal read now is another domain's. */
	if (r == 0)
		r = read_directory(hj, hj->exclusive, "", true, err);
	if (r < 0) {
		hj->failed = true;
		hj->failure = *err;
		return -1;
	}
	host_holders_free(hj->holders);
	hj->holders = NULL;
	return 0;
}

int host_journal_open(const vfg_context *ctx, bool exclusive, host_journal *hj, vfg_error *err)
{
	return host_journal_open_for(ctx, exclusive, NULL, hj, err);
}

int host_journal_open_for(const vfg_context *ctx, bool exclusive, const char *subject, host_journal *hj, vfg_error *err)
{
	char lock_path[VFG_PATH_MAX], state_dir[VFG_PATH_MAX];
	memset(hj, 0, sizeof(*hj));
	hj->ctx = ctx;
	hj->lock_fd = -1;
	if (vfg_state_path(ctx, "", state_dir, sizeof(state_dir), err) < 0 ||
	    vfg_state_path(ctx, "domains", hj->directory, sizeof(hj->directory), err) < 0 ||
	    vfg_state_path(ctx, "lock", lock_path, sizeof(lock_path), err) < 0)
		return -1;
	/* The state directory and the lock are root's alone, or nothing in them is trusted (vfg_state_check). */
	if (exclusive && vfg_state_mkdir(ctx, "domains", err) < 0)
		return -1;
	if (!exclusive) {
		int dir_fd = vfg_state_open(state_dir, O_RDONLY, true, err);
		if (dir_fd == -ENOENT)
			return 0; /* nothing was ever journaled here */
		if (dir_fd < 0)
			return -1;
		close(dir_fd);
	}
	hj->lock_fd = vfg_state_open(lock_path, exclusive ? O_RDWR | O_CREAT : O_RDONLY, false, err);
	if (hj->lock_fd == -ENOENT) {
		hj->lock_fd = -1;
		if (!exclusive)
			return 0; /* nothing was ever journaled here */
		return vfg_error_set(err, ENOENT, lock_path, "cannot open the host lock");
	}
	if (hj->lock_fd < 0)
		return -1;
	if (host_lock_take(hj->ctx, hj->lock_fd, lock_path, exclusive, err) < 0) {
		close(hj->lock_fd);
		hj->lock_fd = -1;
		return -1;
	}
	journal_cache_lock_taken(hj);
	hj->exclusive = exclusive;
	/* A cache of every journal at this generation costs no read at all; else the index, when valid. */
	bool unchanged = journal_cache_unchanged(hj);
	bool indexed = subject && !unchanged && host_holders_open(hj, subject);
	if ((!indexed && !unchanged && host_holders_check_journals(hj, err) < 0) ||
	    (indexed ? read_subject_journal(hj, exclusive, subject, err)
		     : read_all_journals(hj, exclusive, subject, err)) < 0) {
		hj->failed = true; /* what was read is not every journal: nothing to sum up */
		host_journal_close(hj);
		return -1;
	}
	if (indexed && exclusive) {
		host_holders_note_subject(hj, subject);
		if (host_holders_vouch_subject(hj, subject, err) < 0) {
			host_journal_close(hj);
			return -1;
		}
	}
	return 0;
}

void host_journal_close(host_journal *hj)
{
	host_journal_scratch_release(hj);
	host_holders_write(hj); /* before the journals go: they are what it sums up */
	host_holders_subject_free(hj);
	journal_cache_keep(hj); /* the journals read and not written, for the next lock; the rest is freed */
	journal_cache_holders_keep(hj);
	free(hj->domains);
	hj->domains = NULL;
	hj->n_domains = hj->domains_capacity = 0;
	if (hj->lock_fd >= 0)
		close(hj->lock_fd); /* releases the lock */
	hj->lock_fd = -1;
}

/*
 * Read whole a journal read for another domain's command (summary_allowed):
 * the records it kept stay where they are, so what was handed out of them
 * (a holder's original) stays valid; the others join them in id order.
 */
int host_journal_complete(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (!dj->summary)
		return 0;
	struct stat st;
	_cleanup_close_ int fd = vfg_state_open_stat(dj->path, O_RDONLY, false, &st, err);
	if (fd == -ENOENT)
		return vfg_error_set(err, ENOENT, dj->path, "the journal is gone while the host lock is held");
	domain_journal *whole = NULL;
	if (fd < 0 || domain_journal_read(hj, fd, &st, dj->path, false, false, &whole, err) < 0)
		return -1;
	journal_record **records = malloc((whole->n_records + 1) * sizeof(*records));
	size_t indexed = 0;
	for (; records && indexed < whole->n_records; indexed++) {
		journal_record *record = whole->records[indexed];
		journal_record *kept = domain_journal_find_record_id(dj, record->id);
		records[indexed] = kept ? kept : record;
		if (!kept && domain_journal_index_record(dj, record) < 0)
			break;
	}
	if (!records || indexed < whole->n_records) {
		for (size_t i = 0; records && i < indexed; i++)
			if (records[i] == whole->records[i])
				domain_journal_unindex_record(dj, records[i]);
		free(records);
		domain_journal_free(whole);
		return vfg_error_set(err, ENOMEM, dj->path, "cannot read the journal");
	}
	/* whole's records are dj's now, but for the copies of those dj kept. */
	for (size_t i = 0; i < whole->n_records; i++)
		if (records[i] != whole->records[i])
			free(whole->records[i]);
	free(dj->records);
	dj->records = records;
	dj->n_records = dj->records_capacity = whole->n_records;
	dj->skipped_records = 0;
	dj->summary = false;
	whole->n_records = 0;
	domain_journal_free(whole);
	return 0;
}
