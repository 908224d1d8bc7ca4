/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What one host lock's reads of the journals leave for the next one in the
 * same context (journal.h: journal_cache). One `vfguard apply` takes the
 * lock twice (prepare; then plan and apply in one hold), a hook that checks
 * the plan before it applies three times; each read every journal again.
 * Now a journal is read again only when it changed in between:
 *
 * - The lock file holds a generation, which every transaction that writes
 *   a journal file raises before its first write (under the exclusive
 *   lock, without a sync: only processes of this boot read it). When it is
 *   the one the cache was filled at, no journal changed, and every cached
 *   one is taken as it is, the directory not even listed.
 * - Otherwise each journal is opened and checked as always, and a cached
 *   one whose file is the same (device, inode, size, modification and
 *   change times) is taken instead of read again. That also covers a writer
 *   that died before raising the generation (its append moved size and
 *   times) and one that does not know of it.
 *
 * A journal this process wrote, or one it read with a torn last line
 * (which the exclusive lock cuts), is never cached.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "journal.h"
#include "vfg_fault.h"

struct journal_cache {
	dev_t lock_dev; /* the lock file the generation was read from */
	ino_t lock_ino;
	uint64_t generation; /* what the entries were read at; 0: unknown */
	bool complete; /* the entries are every journal the directory held then */
	size_t n, capacity, next;
	domain_journal **entries; /* in the order read (NULL: taken); each one's path and file say which it is */
	journal_index by_path;
	host_holders
		*holders; /* the last lock's STATE/holders as mapped, for the next lock when the file is the same */
	int lock_closes; /* host_lock_take()'s inotify instance, made at the context's first wait; -1: none */
};

journal_cache *journal_cache_new(void)
{
	journal_cache *cache = calloc(1, sizeof(journal_cache));
	if (cache)
		cache->lock_closes = -1;
	return cache;
}

int journal_cache_lock_closes(journal_cache *cache)
{
	if (cache && cache->lock_closes < 0)
		cache->lock_closes = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	return cache ? cache->lock_closes : -1;
}

static void cache_clear(journal_cache *cache)
{
	for (size_t i = 0; i < cache->n; i++)
		domain_journal_free(cache->entries[i]);
	journal_index_clear(&cache->by_path);
	cache->n = cache->next = 0;
	cache->generation = 0;
	cache->complete = false;
}

void journal_cache_free(journal_cache *cache)
{
	if (!cache)
		return;
	cache_clear(cache);
	host_holders_free(cache->holders);
	free(cache->entries);
	/* Kept, not closed after each wait: a close waits out the kernel's grace period for its watch, some 15 ms. */
	if (cache->lock_closes >= 0)
		close(cache->lock_closes);
	free(cache);
}

/* The lock's generation, 0 when it has none (a lock file from before, or damaged: nothing is taken on trust). */
static uint64_t generation_read(int lock_fd)
{
	char text[LOCK_GENERATION_SIZE + 1];
	ssize_t n = pread(lock_fd, text, LOCK_GENERATION_SIZE, 0);
	if (n != LOCK_GENERATION_SIZE || text[LOCK_GENERATION_SIZE - 1] != '\n')
		return 0;
	text[LOCK_GENERATION_SIZE - 1] = '\0';
	char *end;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	return errno || *end ? 0 : (uint64_t)value;
}

void journal_cache_lock_taken(host_journal *hj)
{
	struct stat st;
	hj->generation = generation_read(hj->lock_fd);
	if (fstat(hj->lock_fd, &st) < 0)
		hj->generation = 0;
	hj->lock_dev = st.st_dev;
	hj->lock_ino = st.st_ino;
}

int journal_cache_raise(host_journal *hj, vfg_error *err)
{
	if (hj->generation_raised)
		return 0;
	char text[LOCK_GENERATION_SIZE + 1];
	uint64_t next = hj->generation + 1 ? hj->generation + 1 : 1;
	snprintf(text, sizeof(text), "%020" PRIu64 "\n", next);
	if (vfg_fault("lock.generation") || pwrite(hj->lock_fd, text, LOCK_GENERATION_SIZE, 0) != LOCK_GENERATION_SIZE)
		return vfg_error_set(err, errno, "lock", "cannot mark the journals changed in the host lock");
	hj->generation = next;
	hj->generation_raised = true;
	return 0;
}

bool journal_cache_unchanged(const host_journal *hj)
{
	const journal_cache *cache = hj->ctx ? hj->ctx->journals : NULL;
	return cache && cache->complete && cache->generation && cache->generation == hj->generation &&
	       cache->lock_dev == hj->lock_dev && cache->lock_ino == hj->lock_ino;
}

static bool same_file(const domain_journal *dj, const struct stat *st)
{
	return dj->file.dev == st->st_dev && dj->file.ino == st->st_ino && dj->file.size == st->st_size &&
	       dj->file.mtime.tv_sec == st->st_mtim.tv_sec && dj->file.mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       dj->file.ctime.tv_sec == st->st_ctim.tv_sec && dj->file.ctime.tv_nsec == st->st_ctim.tv_nsec;
}

static bool entry_matches(const void *item, const void *key)
{
	const domain_journal *const *entry = item;
	return *entry && strcmp((*entry)->path, key) == 0;
}

domain_journal *journal_cache_take(const host_journal *hj, const char *path, const struct stat *st, bool whole)
{
	journal_cache *cache = hj->ctx ? hj->ctx->journals : NULL;
	domain_journal **entry =
		cache ? journal_index_find(&cache->by_path, journal_hash(path, NULL), entry_matches, path) : NULL;
	if (!entry || !same_file(*entry, st) || (whole && (*entry)->summary))
		return NULL;
	domain_journal *dj = *entry;
	*entry = NULL;
	return dj;
}

domain_journal *journal_cache_take_next(const host_journal *hj)
{
	journal_cache *cache = hj->ctx ? hj->ctx->journals : NULL;
	while (cache && cache->next < cache->n) {
		domain_journal *dj = cache->entries[cache->next];
		cache->entries[cache->next++] = NULL;
		if (dj)
			return dj;
	}
	return NULL;
}

/*
 * At the lock's release: keep what was read and not written, for the next
 * lock of this context. Complete when every journal was kept: the next lock
 * may then take them all on the generation alone.
 */
void journal_cache_keep(host_journal *hj)
{
	journal_cache *cache = hj->ctx ? hj->ctx->journals : NULL;
	if (!cache) {
		for (size_t i = 0; i < hj->n_domains; i++)
			domain_journal_free(hj->domains[i]);
		return;
	}
	cache_clear(cache);
	/* With the holders index, only the journals asked about were read. */
	bool complete = hj->generation != 0 && !hj->holders;
	for (size_t i = 0; i < hj->n_domains; i++) {
		domain_journal *dj = hj->domains[i];
		bool keep = !dj->touched && dj->file.ino && !dj->open_txn;
		if (keep && cache->n == cache->capacity) {
			size_t more = cache->capacity ? 2 * cache->capacity : 16;
			domain_journal **entries = realloc(cache->entries, more * sizeof(*entries));
			keep = entries != NULL;
			if (keep) {
				cache->entries = entries;
				cache->capacity = more;
			}
		}
		/* A journal that was never a file (made in memory, then nothing written) is no loss. */
		complete = complete && (keep || (!dj->touched && !dj->file.ino));
		if (keep)
			cache->entries[cache->n++] = dj;
		else
			domain_journal_free(dj);
	}
	/* Indexed once the array has stopped moving; an entry that is not (no memory) is never found by path. */
	for (size_t i = 0; i < cache->n; i++)
		complete = journal_index_add(&cache->by_path, journal_hash(cache->entries[i]->path, NULL),
					     &cache->entries[i]) == 0 &&
			   complete;
	cache->complete = complete;
	cache->generation = hj->generation;
	cache->lock_dev = hj->lock_dev;
	cache->lock_ino = hj->lock_ino;
}

host_holders *journal_cache_holders_take(const host_journal *hj)
{
	journal_cache *cache = hj->ctx ? hj->ctx->journals : NULL;
	host_holders *holders = cache ? cache->holders : NULL;
	if (cache)
		cache->holders = NULL;
	return holders;
}

void journal_cache_holders_keep(host_journal *hj)
{
	journal_cache *cache = hj->ctx ? hj->ctx->journals : NULL;
	if (cache) {
		host_holders_free(cache->holders);
		cache->holders = hj->holders;
	} else {
		host_holders_free(hj->holders);
	}
	hj->holders = NULL;
}
