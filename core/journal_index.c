/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The journal's hash index (journal_index.h): open addressing, linear probing. */
#include <errno.h>
#include <stdlib.h>

#include "journal_index.h"

/* A slot whose item was removed: probing goes on past it. Read-only: the library keeps no writable data. */
static const char removed_marker;
#define JOURNAL_INDEX_GONE ((void *)&removed_marker)

/* FNV-1a's 64-bit offset basis and prime (http://www.isthe.com/chongo/tech/comp/fnv/). */
#define FNV64_OFFSET_BASIS 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t hash, const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		hash ^= *c;
		hash *= FNV64_PRIME;
	}
	return hash;
}

uint64_t journal_hash(const char *first, const char *second)
{
	uint64_t hash = fnv1a(FNV64_OFFSET_BASIS, first);
	hash *= FNV64_PRIME; /* the NUL between the two: ("ab", "c") and ("a", "bc") differ */
	return second ? fnv1a(hash, second) : hash;
}

uint64_t journal_hash_number(unsigned long number)
{
	/* A 64-bit finalizer mix (MurmurHash3's fmix64): consecutive ids spread over the table. */
	uint64_t hash = number;
	hash ^= hash >> 33;
	hash *= 0xff51afd7ed558ccdULL;
	hash ^= hash >> 33;
	hash *= 0xc4ceb9fe1a85ec53ULL;
	hash ^= hash >> 33;
	return hash;
}

static void place(journal_index_slot *slots, size_t capacity, uint64_t hash, void *item)
{
	size_t i = (size_t)hash & (capacity - 1);
	while (slots[i].item)
		i = (i + 1) & (capacity - 1);
	slots[i] = (journal_index_slot){.hash = hash, .item = item};
}

/*
 * Room for one more, keeping at most three quarters of the slots filled
 * (linear probing then looks at 2.5 slots for an item it finds, 8.5 for one
 * it does not: Knuth, TAOCP vol. 3, 6.4); removed slots go when it grows or
 * is rebuilt. A half-full bound doubled the table at 2048 items, 128 KiB of
 * slots for the records of 1024 hostdevs.
 */
static bool full(size_t items, size_t capacity)
{
	return 4 * items > 3 * capacity;
}

static int reserve(journal_index *index)
{
	if (!full(index->filled + 1, index->capacity))
		return 0;
	size_t capacity = index->capacity ? index->capacity : 16;
	while (full(index->used + 1, capacity))
		capacity *= 2;
	journal_index_slot *slots = calloc(capacity, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < index->capacity; i++)
		if (index->slots[i].item && index->slots[i].item != JOURNAL_INDEX_GONE)
			place(slots, capacity, index->slots[i].hash, index->slots[i].item);
	free(index->slots);
	index->slots = slots;
	index->capacity = capacity;
	index->filled = index->used;
	return 0;
}

int journal_index_add(journal_index *index, uint64_t hash, void *item)
{
	if (reserve(index) < 0)
		return -ENOMEM;
	place(index->slots, index->capacity, hash, item);
	index->used++;
	index->filled++;
	return 0;
}

void *journal_index_find(const journal_index *index, uint64_t hash, bool (*match)(const void *item, const void *key),
			 const void *key)
{
	if (!index->capacity)
		return NULL;
	for (size_t i = (size_t)hash & (index->capacity - 1); index->slots[i].item;
	     i = (i + 1) & (index->capacity - 1)) {
		const journal_index_slot *slot = &index->slots[i];
		if (slot->item != JOURNAL_INDEX_GONE && slot->hash == hash && match(slot->item, key))
			return slot->item;
	}
	return NULL;
}

void journal_index_remove(journal_index *index, uint64_t hash, const void *item)
{
	if (!index->capacity)
		return;
	for (size_t i = (size_t)hash & (index->capacity - 1); index->slots[i].item; i = (i + 1) & (index->capacity - 1))
		if (index->slots[i].item == item) {
			index->slots[i].item = JOURNAL_INDEX_GONE;
			index->used--;
			return;
		}
}

void journal_index_replace(journal_index *index, uint64_t hash, const void *old, void *item)
{
	if (!index->capacity)
		return;
	for (size_t i = (size_t)hash & (index->capacity - 1); index->slots[i].item; i = (i + 1) & (index->capacity - 1))
		if (index->slots[i].item == old) {
			index->slots[i].item = item;
			return;
		}
}

void journal_index_clear(journal_index *index)
{
	free(index->slots);
	*index = (journal_index){0};
}
