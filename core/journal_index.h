/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_JOURNAL_INDEX_H
#define VFGUARD_CORE_JOURNAL_INDEX_H

/*
 * A hash index over items the journal keeps elsewhere (records by labeler and
 * path, records by id, side state by labeler and key), so that finding one
 * costs the same however many a domain holds. It stores pointers and their
 * keys' hashes only: the caller hashes the key (journal_hash) and says, with
 * @match, whether an item with that hash has that key.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct journal_index_slot {
	uint64_t hash;
	void *item; /* NULL: never used; JOURNAL_INDEX_GONE: removed */
} journal_index_slot;

typedef struct journal_index {
	size_t capacity; /* a power of two, 0 before the first add */
	size_t used; /* items */
	size_t filled; /* items and removed slots */
	journal_index_slot *slots;
} journal_index;

/* FNV-1a, 64 bits, over @first, a NUL, then @second (NULL: none); offset basis and prime from the FNV reference. */
uint64_t journal_hash(const char *first, const char *second);
/* The hash of a number (a record's id). */
uint64_t journal_hash_number(unsigned long number);

/* Add @item under @hash: 0, or -ENOMEM. */
int journal_index_add(journal_index *index, uint64_t hash, void *item);
/* The item under @hash for which @match(item, @key) holds; NULL when none. */
void *journal_index_find(const journal_index *index, uint64_t hash, bool (*match)(const void *item, const void *key),
			 const void *key);
/* Remove @item, added under @hash; nothing when it is not there. */
void journal_index_remove(journal_index *index, uint64_t hash, const void *item);
/* Put @item in the place of @old, added under @hash (no allocation); nothing when @old is not there. */
void journal_index_replace(journal_index *index, uint64_t hash, const void *old, void *item);
void journal_index_clear(journal_index *index);

#endif
