/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The journal in memory: each domain's records, claims and side state, found
 * through their indexes (journal_index.h), and the host's list of domains.
 * journal.c writes them to the files, journal_read.c reads them back.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher.h"
#include "journal.h"

/* ---- The domain's journal in memory ---- */

domain_journal *domain_journal_new(const char *path)
{
	size_t length = strlen(path);
	domain_journal *dj = calloc(1, sizeof(*dj) + length + 1);
	/* An empty domain until its domain line or its first transaction gives one: no attribute. */
	vfg_domain *domain = calloc(1, offsetof(vfg_domain, attrs));
	if (!dj || !domain) {
		free(dj);
		free(domain);
		return NULL;
	}
	dj->domain = domain;
	dj->fd = -1;
	dj->version = 2;
	memcpy(dj->path, path, length + 1);
	return dj;
}

bool labeler_list_has(const char *list, const char *name)
{
	size_t length = strlen(name);
	for (const char *at = list; at && *at;) {
		if (strncmp(at, name, length) == 0 && (at[length] == ',' || !at[length]))
			return true;
		at += strcspn(at, ",");
		at += *at == ',';
	}
	return false;
}

const char *domain_journal_labeler_not_loaded(const vfg_context *ctx, const domain_journal *dj)
{
	for (size_t r = 0; r < dj->n_records; r++) {
		bool loaded = false;
		for (size_t i = 0; i < ctx->n_labelers && !loaded; i++)
			loaded = strcmp(ctx->labelers[i]->name, dj->records[r]->labeler) == 0;
		if (!loaded)
			return dj->records[r]->labeler;
	}
	return NULL;
}

int journal_domain_record_labelers(const vfg_context *ctx, const domain_journal *dj, vfg_domain *domain, vfg_error *err)
{
	char list[VFG_DOMAIN_ATTRS_MAX] = "";
	size_t used = 0;
	for (size_t i = 0; i < ctx->n_labelers; i++)
		if (!vfg_dispatcher_is_builtin(ctx->labelers[i]->name))
			used = vfg_strlcatf(list, sizeof(list), used, "%s%s", used ? "," : "", ctx->labelers[i]->name);
	/* An earlier apply's grants of a labeler this run does not load stay held (nothing here can revoke them). */
	const char *earlier = dj->domain ? vfg_domain_attr(dj->domain, VFG_DOMAIN_ATTR_LABELERS) : "";
	for (const char *at = earlier; *at;) {
		size_t length = strcspn(at, ",");
		char name[VFG_NAME_MAX];
		snprintf(name, sizeof(name), "%.*s", (int)length, at);
		if (!labeler_list_has(list, name))
			used = vfg_strlcatf(list, sizeof(list), used, "%s%s", used ? "," : "", name);
		at += length;
		at += *at == ',';
	}
	return vfg_domain_attr_set(domain, VFG_DOMAIN_ATTR_LABELERS, list, err);
}

/* @domain with the labelers @dj records, when it names none (a prepare's domain): NULL when out of memory. */
static vfg_domain *domain_keeping_labelers(const domain_journal *dj, const vfg_domain *domain, vfg_error *err)
{
	vfg_domain *full = malloc(sizeof(*full));
	if (!full) {
		vfg_error_set(err, ENOMEM, dj->path, "cannot keep the domain of the journal");
		return NULL;
	}
	memcpy(full, domain, offsetof(vfg_domain, attrs) + domain->attrs_used);
	if (vfg_domain_attr_set(full, VFG_DOMAIN_ATTR_LABELERS, vfg_domain_attr(dj->domain, VFG_DOMAIN_ATTR_LABELERS),
				err) < 0) {
		free(full);
		return NULL;
	}
	return full;
}

int domain_journal_set_domain(domain_journal *dj, const vfg_domain *domain, vfg_error *err)
{
	_cleanup_free_ vfg_domain *kept = NULL;
	if (dj->domain && *vfg_domain_attr(dj->domain, VFG_DOMAIN_ATTR_LABELERS) &&
	    !*vfg_domain_attr(domain, VFG_DOMAIN_ATTR_LABELERS)) {
		if (!(kept = domain_keeping_labelers(dj, domain, err)))
			return -1;
		domain = kept;
	}
	size_t size = offsetof(vfg_domain, attrs) + domain->attrs_used;
	vfg_domain *copy = malloc(size);
	if (!copy)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the domain of the journal");
	memcpy(copy, domain, size);
	copy->hostdevs = NULL;
	copy->n_hostdevs = 0;
	free(dj->domain);
	dj->domain = copy;
	return 0;
}

void journal_domain_copy(const domain_journal *dj, vfg_domain *out)
{
	memcpy(out, dj->domain, offsetof(vfg_domain, attrs) + dj->domain->attrs_used);
}

static void state_free(journal_state *state)
{
	if (!state)
		return;
	free(state->key);
	free(state->value);
	free(state);
}

void domain_journal_free(domain_journal *dj)
{
	if (!dj)
		return;
	if (dj->fd >= 0)
		close(dj->fd);
	for (size_t i = 0; i < dj->n_records; i++)
		free(dj->records[i]);
	for (size_t i = 0; i < dj->n_states; i++)
		state_free(dj->states[i]);
	free(dj->records);
	free(dj->claims);
	free(dj->released);
	free(dj->unplug);
	free(dj->states);
	journal_index_clear(&dj->records_by_node);
	journal_index_clear(&dj->records_by_id);
	journal_index_clear(&dj->states_by_key);
	journal_index_clear(&dj->claims_by_name);
	free(dj->out);
	free(dj->domain);
	free(dj);
}

void journal_record_node(const journal_record *record, vfg_node *node)
{
	memset(node, 0, sizeof(*node));
	node->kind = record->node.kind;
	snprintf(node->path, sizeof(node->path), "%s", record->node.path);
	node->rdev = record->node.rdev;
	node->shared = record->node.shared;
}

/* What the indexes look up: a labeler with a path or a key, or an id. */
typedef struct journal_key {
	const char *labeler;
	const char *name;
} journal_key;

static bool record_matches_node(const void *item, const void *key)
{
	const journal_record *record = item;
	const journal_key *wanted = key;
	return strcmp(record->labeler, wanted->labeler) == 0 && strcmp(record->node.path, wanted->name) == 0;
}

static bool record_matches_id(const void *item, const void *key)
{
	return ((const journal_record *)item)->id == *(const unsigned long *)key;
}

static bool state_matches(const void *item, const void *key)
{
	const journal_state *state = item;
	const journal_key *wanted = key;
	return strcmp(state->labeler, wanted->labeler) == 0 && strcmp(state->key, wanted->name) == 0;
}

journal_record *domain_journal_find_record(const domain_journal *dj, const char *labeler, const char *path)
{
	journal_key key = {labeler, path};
	return journal_index_find(&dj->records_by_node, journal_hash(labeler, path), record_matches_node, &key);
}

journal_record *domain_journal_find_record_id(const domain_journal *dj, unsigned long id)
{
	return journal_index_find(&dj->records_by_id, journal_hash_number(id), record_matches_id, &id);
}

journal_state *domain_journal_find_state(const domain_journal *dj, const char *labeler, const char *key)
{
	journal_key wanted = {labeler, key};
	return journal_index_find(&dj->states_by_key, journal_hash(labeler, key), state_matches, &wanted);
}

/* Room for one more pointer in *@items, growing by half (amortised: no copy per append). */
static int grow(void *items, size_t count, size_t *capacity)
{
	if (count < *capacity)
		return 0;
	size_t more = *capacity < 16 ? 16 : *capacity + *capacity / 2;
	void **grown = realloc(*(void ***)items, more * sizeof(void *));
	if (!grown)
		return -ENOMEM;
	*(void ***)items = grown;
	*capacity = more;
	return 0;
}

int domain_journal_index_record(domain_journal *dj, journal_record *record)
{
	if (journal_index_add(&dj->records_by_node, journal_hash(record->labeler, record->node.path), record) < 0)
		return -ENOMEM;
	if (journal_index_add(&dj->records_by_id, journal_hash_number(record->id), record) < 0) {
		journal_index_remove(&dj->records_by_node, journal_hash(record->labeler, record->node.path), record);
		return -ENOMEM;
	}
	return 0;
}

void domain_journal_unindex_record(domain_journal *dj, journal_record *record)
{
	journal_index_remove(&dj->records_by_node, journal_hash(record->labeler, record->node.path), record);
	journal_index_remove(&dj->records_by_id, journal_hash_number(record->id), record);
}

int domain_journal_keep_record(domain_journal *dj, const journal_record *fields, const char *path, const char *undo,
			       journal_record **kept, vfg_error *err)
{
	if (domain_journal_find_record(dj, fields->labeler, path))
		return vfg_error_set(err, EEXIST, path, "labeler %s holds a second record for it in domain %s",
				     fields->labeler, dj->domain->name);
	size_t path_size = strlen(path) + 1, undo_size = strlen(undo) + 1;
	journal_record *record = malloc(sizeof(*record) + path_size + undo_size);
	if (!record || grow(&dj->records, dj->n_records, &dj->records_capacity) < 0) {
		free(record);
		return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the journal record");
	}
	*record = *fields;
	char *strings = (char *)(record + 1);
	record->node.path = memcpy(strings, path, path_size);
	record->undo = memcpy(strings + path_size, undo, undo_size);
	if (domain_journal_index_record(dj, record) < 0) {
		free(record);
		return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the journal record");
	}
	dj->records[dj->n_records++] = record;
	if (kept)
		*kept = record;
	return 0;
}

void domain_journal_drop_record(domain_journal *dj, journal_record *record)
{
	/* Revoke and rollback drop the newest first: the search from the end finds it at once. */
	size_t index = dj->n_records;
	while (index-- > 0 && dj->records[index] != record)
		;
	if (index >= dj->n_records)
		return;
	domain_journal_unindex_record(dj, record);
	memmove(&dj->records[index], &dj->records[index + 1], (dj->n_records - index - 1) * sizeof(*dj->records));
	dj->n_records--;
	free(record);
}

int domain_journal_reindex_records(domain_journal *dj, vfg_error *err)
{
	journal_index_clear(&dj->records_by_id);
	for (size_t i = 0; i < dj->n_records; i++)
		if (journal_index_add(&dj->records_by_id, journal_hash_number(dj->records[i]->id), dj->records[i]) < 0)
			return vfg_error_set(err, ENOMEM, dj->path, "cannot index the journal records");
	return 0;
}

int domain_journal_keep_state(domain_journal *dj, unsigned long txn, const char *labeler, const char *key,
			      const char *value, bool *replaced, vfg_error *err)
{
	journal_state *state = domain_journal_find_state(dj, labeler, key);
	if (replaced)
		*replaced = state != NULL;
	if (!value) {
		if (!state)
			return 0;
		size_t index = dj->n_states;
		while (index-- > 0 && dj->states[index] != state)
			;
		journal_index_remove(&dj->states_by_key, journal_hash(labeler, key), state);
		memmove(&dj->states[index], &dj->states[index + 1], (dj->n_states - index - 1) * sizeof(*dj->states));
		dj->n_states--;
		state_free(state);
		return 0;
	}
	char *copy = strdup(value);
	if (!copy)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the state entry");
	if (state) {
		free(state->value);
		state->value = copy;
		return 0;
	}
	state = calloc(1, sizeof(*state));
	if (state)
		state->key = strdup(key);
	if (!state || !state->key || grow(&dj->states, dj->n_states, &dj->states_capacity) < 0 ||
	    journal_index_add(&dj->states_by_key, journal_hash(labeler, key), state) < 0) {
		free(copy);
		state_free(state);
		return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the state entry");
	}
	state->txn = txn;
	state->value = copy;
	snprintf(state->labeler, sizeof(state->labeler), "%s", labeler);
	dj->states[dj->n_states++] = state;
	return 0;
}

void domain_journal_clear_states(domain_journal *dj)
{
	for (size_t i = 0; i < dj->n_states; i++)
		state_free(dj->states[i]);
	dj->n_states = 0;
	journal_index_clear(&dj->states_by_key);
}

/*
 * Claims stay in dj->claims in the order they were made (the journal is
 * rewritten in that order); claims_by_name finds one by its position there,
 * so an apply that claims N hostdevs and a revoke that releases them look
 * N times at a few slots, not N times at up to N claims.
 */
static void *claim_item(size_t position)
{
	return (void *)(uintptr_t)(position + 1);
}

static size_t claim_position(const void *item)
{
	return (size_t)(uintptr_t)item - 1;
}

static uint64_t claim_hash(const journal_claim *claim)
{
	if (claim->mdev[0])
		return journal_hash(claim->mdev, NULL);
	const vfg_pci_addr *addr = &claim->addr;
	return journal_hash_number((unsigned long)addr->domain << 16 | (unsigned long)addr->bus << 8 |
				   (unsigned long)addr->slot << 3 | addr->function);
}

static bool claim_same(const journal_claim *claim, const journal_claim *key)
{
	return key->mdev[0] ? strcmp(claim->mdev, key->mdev) == 0
			    : !claim->mdev[0] && vfg_pci_addr_equal(&claim->addr, &key->addr);
}

typedef struct claim_key {
	const domain_journal *dj;
	const journal_claim *claim;
	size_t *first; /* the least position that matches so far; dj->n_claims: none */
} claim_key;

/*
 * Never a match for journal_index_find, which so looks at the whole chain:
 * a journal written by hand may claim one name twice, and the first claim
 * is the one found, as a look through the claims in order finds it.
 */
static bool claim_at_least(const void *item, const void *key)
{
	const claim_key *k = key;
	size_t position = claim_position(item);
	if (position < *k->first && claim_same(&k->dj->claims[position], k->claim))
		*k->first = position;
	return false;
}

int domain_journal_claim_keep(domain_journal *dj, const journal_claim *claim, vfg_error *err)
{
	if (dj->n_claims == dj->claims_capacity) {
		size_t more = dj->claims_capacity < 16 ? 16 : dj->claims_capacity + dj->claims_capacity / 2;
		journal_claim *claims = realloc(dj->claims, more * sizeof(*claims));
		if (!claims)
			return vfg_error_set(err, ENOMEM, dj->path, "cannot record the claim");
		dj->claims = claims;
		dj->claims_capacity = more;
	}
	if (journal_index_add(&dj->claims_by_name, claim_hash(claim), claim_item(dj->n_claims)) < 0)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot record the claim");
	dj->claims[dj->n_claims++] = *claim;
	return 0;
}

int domain_journal_remove_claim(domain_journal *dj, const char *hostdev, vfg_error *err)
{
	journal_claim *claim = domain_journal_find_claim(dj, hostdev);
	if (!claim)
		return 0;
	if (dj->open_txn && claim->txn != dj->open_txn) {
		if (dj->n_released == dj->released_capacity) {
			size_t more = dj->released_capacity ? 2 * dj->released_capacity : 4;
			journal_claim *released = reallocarray(dj->released, more, sizeof(*released));
			if (!released)
				return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the claim of %s", hostdev);
			dj->released = released;
			dj->released_capacity = more;
		}
		dj->released[dj->n_released++] = *claim;
	}
	size_t index = (size_t)(claim - dj->claims);
	journal_index_remove(&dj->claims_by_name, claim_hash(claim), claim_item(index));
	/* Each claim after it moves down one place, and its slot with it. */
	for (size_t i = index + 1; i < dj->n_claims; i++)
		journal_index_replace(&dj->claims_by_name, claim_hash(&dj->claims[i]), claim_item(i),
				      claim_item(i - 1));
	memmove(claim, claim + 1, (dj->n_claims - index - 1) * sizeof(*claim));
	dj->n_claims--;
	return 0;
}

char *journal_claim_name(const journal_claim *claim, char *buf)
{
	vfg_hostdev_spec spec = {.addr = claim->addr};
	memcpy(spec.mdev, claim->mdev, sizeof(spec.mdev));
	return vfg_hostdev_name(&spec, buf);
}

int journal_claim_name_parse(const char *text, journal_claim *claim)
{
	static const char prefix[] = "mdev:";
	if (strncmp(text, prefix, sizeof(prefix) - 1) != 0)
		return vfg_pci_addr_parse(text, &claim->addr, NULL);
	char canonical[VFG_UUID_STRLEN];
	/* Written canonical (vfg_uuid_parse's lower case): any other spelling is not ours. */
	if (vfg_uuid_parse(text + sizeof(prefix) - 1, canonical, NULL) < 0 ||
	    strcmp(canonical, text + sizeof(prefix) - 1) != 0)
		return -1;
	memcpy(claim->mdev, canonical, sizeof(claim->mdev));
	return 0;
}

/*
 * @hostdev is parsed once and the claims are compared by address or UUID:
 * formatting each claim's name for each look made an apply and a revoke of
 * N hostdevs format N^2 / 2 names (two thirds of a revoke's time at 1024).
 * Only the name a claim's line would carry finds it, as the compared
 * strings did: a spelling that parses but is not canonical finds nothing.
 */
journal_claim *domain_journal_find_claim(const domain_journal *dj, const char *hostdev)
{
	journal_claim key = {0};
	char canonical[VFG_HOSTDEV_NAME_MAX];
	if (journal_claim_name_parse(hostdev, &key) < 0 || strcmp(journal_claim_name(&key, canonical), hostdev) != 0)
		return NULL;
	size_t first = dj->n_claims;
	journal_index_find(&dj->claims_by_name, claim_hash(&key), claim_at_least,
			   &(claim_key){.dj = dj, .claim = &key, .first = &first});
	return first < dj->n_claims ? &dj->claims[first] : NULL;
}

const journal_claim *domain_journal_find_group_claim(const domain_journal *dj, unsigned group)
{
	for (size_t i = 0; i < dj->n_claims; i++)
		if (dj->claims[i].group == group)
			return &dj->claims[i];
	return NULL;
}

/* The same from the holders index: 1 when it was doubted (the journals in memory answer instead). */
static int indexed_group_holder(const host_journal *hj, const char *name, unsigned group, const journal_claim **claim,
				const domain_journal **holder, vfg_error *err)
{
	char *key = host_holders_key(HOLDER_CLAIM, group, NULL, NULL, 0);
	holders_match match;
	size_t cursor = 0;
	int listed = 0;
	bool found = false;
	while (key && !found && (listed = host_holders_next(hj->holders, key, &cursor, &match)) > 0)
		found = strcmp(match.name, name) != 0;
	free(key);
	if (!key)
		return 1;
	if (listed < 0)
		return host_journal_read_rest((host_journal *)hj, err) < 0 ? -1 : 1;
	if (!found)
		return 0;
	domain_journal *other;
	int r = host_journal_load(hj, &match, &other, err);
	if (r != 0)
		return r;
	*claim = domain_journal_find_group_claim(other, group);
	*holder = other;
	return *claim ? 0 : host_journal_read_rest((host_journal *)hj, err) < 0 ? -1 : 1;
}

int host_journal_group_holder(const host_journal *hj, const char *name, unsigned group, const journal_claim **claim,
			      const domain_journal **holder, vfg_error *err)
{
	*claim = NULL;
	*holder = NULL;
	int r = hj->holders ? indexed_group_holder(hj, name, group, claim, holder, err) : 1;
	if (r <= 0)
		return r;
	for (size_t d = 0; d < hj->n_domains; d++) {
		const domain_journal *other = hj->domains[d];
		const journal_claim *found =
			strcmp(other->domain->name, name) == 0 ? NULL : domain_journal_find_group_claim(other, group);
		if (found) {
			*holder = other;
			*claim = found;
			return 0;
		}
	}
	return 0;
}

/* ---- The host's journals ---- */

int host_journal_add(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (grow(&hj->domains, hj->n_domains, &hj->domains_capacity) < 0) {
		domain_journal_free(dj);
		return vfg_error_set(err, ENOMEM, hj->directory, "cannot read the journal");
	}
	hj->domains[hj->n_domains++] = dj;
	return 0;
}

domain_journal *host_journal_find(const host_journal *hj, const char *name)
{
	for (size_t i = 0; i < hj->n_domains; i++)
		if (strcmp(hj->domains[i]->domain->name, name) == 0)
			return hj->domains[i];
	return NULL;
}

/*
 * A file name for any domain name: the characters a name may hold beyond
 * [A-Za-z0-9._-] as %XX. Written byte by byte rather than through printf:
 * the holders index checks one file per domain it lists, so this runs once
 * per domain on the host.
 */
void journal_file_name(const char *name, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	char piece[3];
	size_t used = 0, length;
	if (size == 0)
		return;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			     *c == '_' || *c == '-' || (*c == '.' && c != (const unsigned char *)name);
		piece[0] = plain ? (char)*c : '%';
		piece[1] = hex[*c >> 4];
		piece[2] = hex[*c & 15];
		length = plain ? 1 : 3;
		if (used + length >= size)
			break;
		memcpy(buf + used, piece, length);
		used += length;
	}
	length = strlen(JOURNAL_SUFFIX);
	length = used + length < size ? length : size - 1 - used;
	memcpy(buf + used, JOURNAL_SUFFIX, length);
	buf[used + length] = '\0';
}

domain_journal *host_journal_get(host_journal *hj, const vfg_domain *domain, vfg_error *err)
{
	domain_journal *dj = host_journal_find(hj, domain->name);
	if (dj)
		return dj;
	char file[3 * VFG_NAME_MAX + 16], path[VFG_PATH_MAX + 3 * VFG_NAME_MAX + 16];
	journal_file_name(domain->name, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/%s", hj->directory, file);
	dj = domain_journal_new(path);
	if (!dj) {
		vfg_error_set(err, ENOMEM, path, "cannot start the journal");
		return NULL;
	}
	if (domain_journal_set_domain(dj, domain, err) < 0) {
		domain_journal_free(dj);
		return NULL;
	}
	if (host_journal_add(hj, dj, err) < 0)
		return NULL;
	return dj;
}
