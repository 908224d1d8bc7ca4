/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A set of strings, each kept once: the texts of a plan's steps. A plan of
 * 1024 hostdevs gives most of its nodes the same detail and reason per
 * labeler; keeping each text once, at its length, is what keeps such a plan
 * small (labeler.h: vfg_step).
 */
#include <string.h>

#include "internal.h"

struct vfg_text_store {
	char **texts; /* each allocated to its length */
	uint64_t *hashes; /* of texts[i] */
	size_t n_texts;
	size_t allocated; /* of texts and hashes */
	size_t *slots; /* open addressing: an index into texts + 1, 0 when empty */
	size_t n_slots; /* a power of two, at least twice n_texts */
};

/* FNV-1a, 64 bits: offset basis and prime from the FNV reference, http://www.isthe.com/chongo/tech/comp/fnv/. */
uint64_t vfg_hash_bytes(const void *data, size_t size)
{
	const unsigned char *bytes = data;
	uint64_t hash = 14695981039346656037ULL;
	for (size_t i = 0; i < size; i++)
		hash = (hash ^ bytes[i]) * 1099511628211ULL;
	return hash;
}

vfg_text_store *vfg_text_store_new(void)
{
	return calloc(1, sizeof(vfg_text_store));
}

void vfg_text_store_free(vfg_text_store *store)
{
	if (!store)
		return;
	for (size_t i = 0; i < store->n_texts; i++)
		free(store->texts[i]);
	free(store->texts);
	free(store->hashes);
	free(store->slots);
	free(store);
}

static size_t *store_slot(const vfg_text_store *store, uint64_t hash, const char *text)
{
	size_t mask = store->n_slots - 1;
	for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
		size_t entry = store->slots[slot];
		if (!entry || (store->hashes[entry - 1] == hash && strcmp(store->texts[entry - 1], text) == 0))
			return &store->slots[slot];
	}
}

/* Room for one text more: the arrays grow by doubling, the slots are made again at twice the texts. */
static int store_grow(vfg_text_store *store)
{
	if (store->n_texts == store->allocated) {
		size_t allocated = store->allocated ? 2 * store->allocated : 16;
		char **texts = realloc(store->texts, allocated * sizeof(*texts));
		if (texts)
			store->texts = texts;
		uint64_t *hashes = realloc(store->hashes, allocated * sizeof(*hashes));
		if (hashes)
			store->hashes = hashes;
		if (!texts || !hashes)
			return -1;
		store->allocated = allocated;
	}
	if (2 * (store->n_texts + 1) <= store->n_slots)
		return 0;
	size_t n_slots = store->n_slots ? 2 * store->n_slots : 32;
	size_t *slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -1;
	free(store->slots);
	store->slots = slots;
	store->n_slots = n_slots;
	for (size_t i = 0; i < store->n_texts; i++)
		*store_slot(store, store->hashes[i], store->texts[i]) = i + 1;
	return 0;
}

const char *vfg_text_store_add(vfg_text_store *store, const char *text)
{
	uint64_t hash = vfg_hash_bytes(text, strlen(text));
	if (store->n_slots) {
		size_t *slot = store_slot(store, hash, text);
		if (*slot)
			return store->texts[*slot - 1];
	}
	if (store_grow(store) < 0)
		return NULL;
	char *copy = strdup(text);
	if (!copy)
		return NULL;
	size_t *slot = store_slot(store, hash, text);
	store->texts[store->n_texts] = copy;
	store->hashes[store->n_texts] = hash;
	store->n_texts++;
	*slot = store->n_texts;
	return copy;
}
