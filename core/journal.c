/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The journal in memory and appended to its files: records, claims and side
 * state, found through their indexes; lines written when they must be,
 * durable when a change depends on them; commit and compaction. See
 * journal.h for the model and docs/journal.md for the format and the
 * durability rule. Reading the files back is journal_read.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "journal.h"

/* The longest line: a domain line with every attribute, or an intent with its path and undo, all %XX-escaped. */
#define JOURNAL_LINE_MAX (4 * VFG_PATH_MAX + 3 * VFG_DOMAIN_ATTRS_MAX + 3 * VFG_UNDO_MAX + 8192)

const char *journal_op_name(journal_op op)
{
	switch (op) {
	case JOURNAL_OP_NONE:
		return "none";
	case JOURNAL_OP_APPLY:
		return "apply";
	case JOURNAL_OP_REVOKE:
		return "revoke";
	}
	return "?";
}

/* ---- The domain's journal in memory ---- */

_Static_assert(offsetof(domain_journal, domain) + sizeof(vfg_domain) == sizeof(domain_journal),
	       "domain_journal_new leaves only the domain's attributes unzeroed: the domain comes last");

domain_journal *domain_journal_new(const char *path)
{
	/*
	 * Zeroed but for the domain's attribute buffer at its end (attrs_used
	 * says none is set): a host with many domains reads many journals, and
	 * the pages nothing writes to are then never touched.
	 */
	const size_t attrs = offsetof(domain_journal, domain) + offsetof(vfg_domain, attrs);
	domain_journal *dj = malloc(sizeof(*dj));
	if (!dj)
		return NULL;
	memset(dj, 0, attrs);
	dj->fd = -1;
	dj->version = 2;
	snprintf(dj->path, sizeof(dj->path), "%s", path);
	return dj;
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
	free(dj->states);
	journal_index_clear(&dj->records_by_node);
	journal_index_clear(&dj->records_by_id);
	journal_index_clear(&dj->states_by_key);
	free(dj->out);
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
				     fields->labeler, dj->domain.name);
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

/* The ids changed (the file was renumbered): index them again. */
static int reindex_records(domain_journal *dj, vfg_error *err)
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

void domain_journal_remove_claim(domain_journal *dj, const vfg_pci_addr *addr)
{
	journal_claim *claim = domain_journal_find_claim(dj, addr);
	if (!claim)
		return;
	size_t index = (size_t)(claim - dj->claims);
	memmove(claim, claim + 1, (dj->n_claims - index - 1) * sizeof(*claim));
	dj->n_claims--;
}

journal_claim *domain_journal_find_claim(const domain_journal *dj, const vfg_pci_addr *addr)
{
	for (size_t i = 0; i < dj->n_claims; i++)
		if (vfg_pci_addr_equal(&dj->claims[i].addr, addr))
			return &dj->claims[i];
	return NULL;
}

const journal_claim *domain_journal_find_group_claim(const domain_journal *dj, unsigned group)
{
	for (size_t i = 0; i < dj->n_claims; i++)
		if (dj->claims[i].group == group)
			return &dj->claims[i];
	return NULL;
}

const journal_claim *host_journal_group_holder(const host_journal *hj, const char *name, unsigned group,
					       const domain_journal **holder)
{
	for (size_t d = 0; d < hj->n_domains; d++) {
		const domain_journal *other = hj->domains[d];
		const journal_claim *claim =
			strcmp(other->domain.name, name) == 0 ? NULL : domain_journal_find_group_claim(other, group);
		if (claim) {
			*holder = other;
			return claim;
		}
	}
	return NULL;
}

/* ---- Lines ---- */

/* " FIELD" at @used: one space, then the field as vfg_field_encode() writes it (docs/journal.md). */
static size_t field_encode(char *buf, size_t size, size_t used, const char *value)
{
	used = vfg_strlcatf(buf, size, used, " ");
	used += vfg_field_encode(value, buf + used, size - used);
	return used < size ? used : size - 1;
}

/* domain NAME UUID UID GID PID MEMORY VIOMMU IPC_LOCK [ATTRIBUTE=VALUE]...: the attributes opaque, by name. */
static size_t format_domain(char *buf, size_t size, size_t used, const vfg_domain *domain)
{
	used = vfg_strlcatf(buf, size, used, "domain");
	used = field_encode(buf, size, used, domain->name);
	used = field_encode(buf, size, used, domain->uuid);
	used = vfg_strlcatf(buf, size, used, " %u %u %d %llu %d %d", (unsigned)domain->uid, (unsigned)domain->gid,
			    (int)domain->pid, (unsigned long long)domain->memory, domain->viommu ? 1 : 0,
			    domain->ipc_lock ? 1 : 0);
	const char *name, *value;
	for (size_t i = 0; vfg_domain_attr_at(domain, i, &name, &value); i++) {
		char attr[VFG_DOMAIN_ATTRS_MAX + 2];
		snprintf(attr, sizeof(attr), "%s=%s", name, value);
		used = field_encode(buf, size, used, attr);
	}
	return vfg_strlcatf(buf, size, used, "\n");
}

static size_t format_state_line(char *buf, size_t size, size_t used, unsigned long txn, const char *labeler,
				const char *key, const char *value)
{
	used = vfg_strlcatf(buf, size, used, value ? "state %lu" : "unstate %lu", txn);
	used = field_encode(buf, size, used, labeler);
	used = field_encode(buf, size, used, key);
	if (value)
		used = field_encode(buf, size, used, value);
	return vfg_strlcatf(buf, size, used, "\n");
}

static size_t format_claim(char *buf, size_t size, size_t used, unsigned long txn, const journal_claim *claim)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	return vfg_strlcatf(buf, size, used, "claim %lu %s %u %s %s %d\n", txn, vfg_pci_addr_format(&claim->addr, bdf),
			    claim->group, vfg_backend_name(claim->backend), vfg_access_name(claim->access),
			    claim->managed ? 1 : 0);
}

static size_t format_intent(char *buf, size_t size, size_t used, unsigned long txn, unsigned long id,
			    const journal_record *record)
{
	used = vfg_strlcatf(buf, size, used, "intent %lu %lu", txn, id);
	bool domain_scope = record->node.kind == VFG_NODE_DOMAIN;
	used = field_encode(buf, size, used, record->labeler);
	used = field_encode(buf, size, used, domain_scope ? "" : vfg_node_kind_name(record->node.kind));
	used = field_encode(buf, size, used, record->node.path);
	if (domain_scope)
		used = vfg_strlcatf(buf, size, used, " - 0");
	else
		used = vfg_strlcatf(buf, size, used, " %u:%u %d", major(record->node.rdev), minor(record->node.rdev),
				    record->node.shared ? 1 : 0);
	used = field_encode(buf, size, used, record->undo);
	return vfg_strlcatf(buf, size, used, "\n");
}

/* Where the next line goes in the buffer lines are written from: room for the longest, or NULL. */
static char *line_room(domain_journal *dj, vfg_error *err)
{
	if (dj->out_size - dj->out_used < JOURNAL_LINE_MAX) {
		size_t size = dj->out_used + JOURNAL_LINE_MAX;
		size += size / 2;
		char *out = realloc(dj->out, size);
		if (!out) {
			vfg_error_set(err, ENOMEM, dj->path, "cannot write the journal");
			return NULL;
		}
		dj->out = out;
		dj->out_size = size;
	}
	return dj->out + dj->out_used;
}

/* The line line_room() gave, @length bytes with its newline, is the next to write. */
static int line_add(domain_journal *dj, size_t length, vfg_error *err)
{
	if (length >= JOURNAL_LINE_MAX - 1)
		return vfg_error_set(err, E2BIG, dj->path, "journal line too long");
	dj->out_used += length;
	return 0;
}

__attribute__((format(printf, 3, 4))) static int line_printf(domain_journal *dj, vfg_error *err, const char *fmt, ...)
{
	char *at = line_room(dj, err);
	if (!at)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(at, JOURNAL_LINE_MAX, fmt, ap);
	va_end(ap);
	if (n < 0)
		return vfg_error_set(err, EINVAL, dj->path, "cannot write the journal");
	return line_add(dj, (size_t)n, err);
}

/* ---- Writing ---- */

/*
 * The file exists from the first write on, starting with the magic line. A
 * file this run makes is not durable by name until its directory is synced:
 * the first sync does that too (domain_journal_sync).
 */
static int journal_file_open(domain_journal *dj, vfg_error *err)
{
	if (dj->fd >= 0)
		return 0;
	dj->fd = open(dj->path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dj->fd < 0)
		return vfg_error_set(err, errno, dj->path, "cannot open the journal");
	struct stat st;
	if (vfg_state_check(dj->fd, dj->path, false, err) < 0)
		return -1;
	if (fstat(dj->fd, &st) < 0)
		return vfg_error_set(err, errno, dj->path, "cannot open the journal");
	if (st.st_size > 0)
		return 0;
	/* The magic line goes out with the first lines, in the same write. */
	char *at = line_room(dj, err);
	if (!at)
		return -1;
	memmove(dj->out + sizeof(JOURNAL_MAGIC), dj->out, dj->out_used);
	memcpy(dj->out, JOURNAL_MAGIC "\n", sizeof(JOURNAL_MAGIC));
	dj->out_used += sizeof(JOURNAL_MAGIC);
	dj->name_unsynced = true;
	dj->fresh = true;
	return 0;
}

/* The file is about to change: other processes' cached reads of it are stale from now on (journal_cache.c). */
static int journal_touch(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	dj->touched = true;
	return journal_cache_raise(hj, err);
}

int domain_journal_write(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (dj->out_used == 0)
		return 0;
	if (journal_touch(hj, dj, err) < 0 || journal_file_open(dj, err) < 0)
		return -1;
	/* One write() for what waits: a crash leaves at most a torn last line, which a reader drops. */
	if (vfg_write_all(dj->fd, dj->out, dj->out_used) < 0)
		return vfg_error_set(err, errno, dj->path, "cannot write the journal");
	dj->out_used = 0;
	dj->unsynced = true;
	host_journal_fault_point(hj);
	return 0;
}

int domain_journal_sync(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (domain_journal_write(hj, dj, err) < 0)
		return -1;
	if (dj->unsynced && fdatasync(dj->fd) < 0)
		return vfg_error_set(err, errno, dj->path, "cannot make the journal durable (fdatasync)");
	dj->unsynced = false;
	if (dj->name_unsynced && vfg_fsync_parent(dj->path, err) < 0)
		return -1;
	dj->name_unsynced = false;
	return 0;
}

bool domain_journal_batch(domain_journal *dj, bool on)
{
	bool was = dj->batch;
	dj->batch = on;
	return was;
}

/* A line a change depends on: durable now, or with the batch it belongs to. */
static int line_needed(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	return dj->batch ? 0 : domain_journal_sync(hj, dj, err);
}

static char *format_state(const domain_journal *dj, size_t *length);

/* Rewrite the file to the domain's state as one committed transaction of this format, renumbered from 1. */
static int journal_rewrite(host_journal *hj, domain_journal *dj, const char *failure, vfg_error *err)
{
	size_t length;
	_cleanup_free_ char *state = format_state(dj, &length);
	if (!state)
		return vfg_error_set(err, ENOMEM, dj->path, "%s", failure);
	if (dj->fd >= 0) {
		close(dj->fd);
		dj->fd = -1;
	}
	if (journal_touch(hj, dj, err) < 0 || vfg_file_replace(dj->path, state, length, err) < 0)
		return -1;
	for (size_t i = 0; i < dj->n_records; i++) {
		dj->records[i]->id = i + 1;
		dj->records[i]->txn = 1;
	}
	for (size_t i = 0; i < dj->n_claims; i++)
		dj->claims[i].txn = 1;
	for (size_t i = 0; i < dj->n_states; i++)
		dj->states[i]->txn = 1;
	dj->last_txn = 1;
	dj->last_id = dj->n_records;
	dj->version = 2;
	dj->unsynced = dj->name_unsynced = dj->fresh = false;
	host_journal_fault_point(hj);
	return reindex_records(dj, err);
}

/* A file written by an older vfguard becomes this version's before anything is appended to it. */
static int upgrade_file(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (dj->version == 2)
		return 0;
	return journal_rewrite(hj, dj, "cannot upgrade the journal", err);
}

int domain_journal_begin(host_journal *hj, domain_journal *dj, journal_op op, const vfg_domain *domain, vfg_error *err)
{
	if (dj->open_txn)
		return vfg_error_set(err, EBUSY, dj->domain.name, "a transaction is already open");
	if (upgrade_file(hj, dj, err) < 0)
		return -1;
	unsigned long txn = dj->last_txn + 1;
	if (domain) {
		dj->domain = *domain;
		dj->domain.hostdevs = NULL;
		dj->domain.n_hostdevs = 0;
	}
	dj->fresh = false; /* until the begin line's write makes the file (journal_file_open) */
	dj->stale_lines = 0;
	char *at;
	if (line_printf(dj, err, "begin %lu %s\n", txn, journal_op_name(op)) < 0 ||
	    domain_journal_write(hj, dj, err) < 0 || !(at = line_room(dj, err)) ||
	    line_add(dj, format_domain(at, JOURNAL_LINE_MAX, 0, &dj->domain), err) < 0 ||
	    domain_journal_write(hj, dj, err) < 0)
		return -1;
	dj->last_txn = txn;
	dj->open_txn = txn;
	dj->open_op = op;
	/* Undoing begins right after a revoke's begin: a crash from then on must find the revoke to finish. */
	return op == JOURNAL_OP_REVOKE ? domain_journal_sync(hj, dj, err) : 0;
}

int domain_journal_claim_room(domain_journal *dj, vfg_error *err)
{
	if (dj->n_claims < dj->claims_capacity)
		return 0;
	size_t more = dj->claims_capacity < 16 ? 16 : dj->claims_capacity + dj->claims_capacity / 2;
	journal_claim *claims = realloc(dj->claims, more * sizeof(*claims));
	if (!claims)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot record the claim");
	dj->claims = claims;
	dj->claims_capacity = more;
	return 0;
}

int domain_journal_claim(domain_journal *dj, const journal_claim *claim, vfg_error *err)
{
	if (domain_journal_claim_room(dj, err) < 0)
		return -1;
	/* Written with the next line or domain_journal_write: a hostdev's claims in one write. */
	char *at = line_room(dj, err);
	if (!at || line_add(dj, format_claim(at, JOURNAL_LINE_MAX, 0, dj->open_txn, claim), err) < 0)
		return -1;
	dj->claims[dj->n_claims] = *claim;
	dj->claims[dj->n_claims].txn = dj->open_txn;
	dj->n_claims++;
	return 0;
}

int domain_journal_release(host_journal *hj, domain_journal *dj, const vfg_pci_addr *addr, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	if (line_printf(dj, err, "release %lu %s\n", dj->open_txn, vfg_pci_addr_format(addr, bdf)) < 0 ||
	    domain_journal_write(hj, dj, err) < 0)
		return -1;
	domain_journal_remove_claim(dj, addr);
	dj->stale_lines += 2; /* the claim's, and this one */
	return 0;
}

int domain_journal_intent(host_journal *hj, domain_journal *dj, const char *labeler, const vfg_node *node,
			  const char *undo, journal_record **made, vfg_error *err)
{
	if (strchr(undo, '\n'))
		return vfg_error_set(err, EINVAL, labeler, "undo text holds a newline");
	journal_record fields = {
		.id = dj->last_id + 1,
		.txn = dj->open_txn,
		.node = {.kind = node->kind, .path = node->path, .rdev = node->rdev, .shared = node->shared},
		.undo = undo,
	};
	snprintf(fields.labeler, sizeof(fields.labeler), "%s", labeler);
	char *at = line_room(dj, err);
	if (!at || line_add(dj, format_intent(at, JOURNAL_LINE_MAX, 0, fields.txn, fields.id, &fields), err) < 0)
		return -1;
	journal_record *record;
	if (domain_journal_keep_record(dj, &fields, node->path, undo, &record, err) < 0) {
		dj->out_used = (size_t)(at - dj->out); /* not journaled after all */
		return -1;
	}
	dj->last_id = record->id;
	if (made)
		*made = record;
	return domain_journal_write(hj, dj, err) < 0 ? -1 : line_needed(hj, dj, err);
}

int domain_journal_done(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err)
{
	journal_record *record = domain_journal_find_record_id(dj, id);
	if (!record)
		return vfg_error_set(err, ENOENT, dj->path, "no journal record %lu", id);
	host_journal_fault_point(hj); /* the change is made and not yet marked done */
	/* No sync of its own: a record whose mark is lost is undone anyway, and undo is idempotent. */
	if (line_printf(dj, err, "done %lu %lu\n", dj->open_txn, id) < 0 || domain_journal_write(hj, dj, err) < 0)
		return -1;
	record->done = true;
	return 0;
}

int domain_journal_undone(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err)
{
	journal_record *record = domain_journal_find_record_id(dj, id);
	if (!record)
		return vfg_error_set(err, ENOENT, dj->path, "no journal record %lu", id);
	host_journal_fault_point(hj); /* the change is undone and not yet journaled */
	/* No sync of its own either: a record whose mark is lost is undone again, which puts back the same. */
	if (line_printf(dj, err, "undone %lu %lu\n", dj->open_txn, id) < 0 || domain_journal_write(hj, dj, err) < 0)
		return -1;
	domain_journal_drop_record(dj, record);
	dj->stale_lines += 3; /* the intent, its done mark, and this one */
	return 0;
}

/* A key is printable with no space; a value one printable line. */
static bool state_text_ok(const char *text, bool key)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		if (*c < ' ' || *c == 0x7f || (key && *c == ' '))
			return false;
	return true;
}

int domain_journal_state(host_journal *hj, domain_journal *dj, const char *labeler, const char *key, const char *value,
			 vfg_error *err)
{
	if (!*key || strlen(key) > VFG_STATE_KEY_MAX || !state_text_ok(key, true))
		return vfg_error_set(err, EINVAL, labeler,
				     "state key '%.64s' is not printable text without spaces of at "
				     "most %d bytes",
				     key, VFG_STATE_KEY_MAX);
	if (value && (strlen(value) > VFG_UNDO_MAX || !state_text_ok(value, false)))
		return vfg_error_set(err, EINVAL, key,
				     "labeler %s: a state value is one printable line of at most %d "
				     "bytes",
				     labeler, VFG_UNDO_MAX);
	if (!value && !domain_journal_find_state(dj, labeler, key))
		return 0;
	char *at = line_room(dj, err);
	if (!at || line_add(dj, format_state_line(at, JOURNAL_LINE_MAX, 0, dj->open_txn, labeler, key, value), err) < 0)
		return -1;
	bool replaced;
	if (domain_journal_keep_state(dj, dj->open_txn, labeler, key, value, &replaced, err) < 0) {
		dj->out_used = (size_t)(at - dj->out);
		return -1;
	}
	if (replaced || !value)
		dj->stale_lines += value ? 1 : 2; /* the line of the value it had, and an unstate itself */
	return domain_journal_write(hj, dj, err) < 0 ? -1 : line_needed(hj, dj, err);
}

int domain_journal_drop_txn_states(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	for (size_t i = dj->n_states; i-- > 0;) {
		if (dj->states[i]->txn != dj->open_txn)
			continue;
		char labeler[64];
		_cleanup_free_ char *key = strdup(dj->states[i]->key);
		snprintf(labeler, sizeof(labeler), "%s", dj->states[i]->labeler);
		if (!key)
			return vfg_error_set(err, ENOMEM, dj->path, "cannot write the journal");
		if (domain_journal_state(hj, dj, labeler, key, NULL, err) < 0)
			return -1;
	}
	return 0;
}

/* The domain's state as one committed transaction: what the file is rewritten to. */
static char *format_state(const domain_journal *dj, size_t *length)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	if (!out)
		return NULL;
	_cleanup_free_ char *line = malloc(JOURNAL_LINE_MAX);
	if (line) {
		fprintf(out, "%s\nbegin 1 apply\n", JOURNAL_MAGIC);
		format_domain(line, JOURNAL_LINE_MAX, 0, &dj->domain);
		fputs(line, out);
		for (size_t i = 0; i < dj->n_claims; i++) {
			format_claim(line, JOURNAL_LINE_MAX, 0, 1, &dj->claims[i]);
			fputs(line, out);
		}
		for (size_t i = 0; i < dj->n_states; i++) {
			const journal_state *state = dj->states[i];
			format_state_line(line, JOURNAL_LINE_MAX, 0, 1, state->labeler, state->key, state->value);
			fputs(line, out);
		}
		for (size_t i = 0; i < dj->n_records; i++) {
			format_intent(line, JOURNAL_LINE_MAX, 0, 1, i + 1, dj->records[i]);
			fputs(line, out);
			if (dj->records[i]->done)
				fprintf(out, "done 1 %zu\n", i + 1);
		}
		fputs("commit 1\n", out);
	}
	if (fclose(out) != 0 || !line) {
		free(text);
		return NULL;
	}
	*length = size;
	return text;
}

int domain_journal_store_path(const domain_journal *dj, const char *hash, char *buf, size_t size, vfg_error *err)
{
	size_t length = strlen(dj->path) - (sizeof(JOURNAL_SUFFIX) - 1);
	int n = snprintf(buf, size, "%.*s%s%s%s", (int)length, dj->path, JOURNAL_STORE_SUFFIX, *hash ? "/" : "", hash);
	if (n < 0 || (size_t)n >= size)
		return vfg_error_set(err, ENAMETOOLONG, dj->path, "store path too long");
	return 0;
}

static bool store_file_held(const domain_journal *dj, const char *name)
{
	char key[VFG_PATH_MAX];
	snprintf(key, sizeof(key), "%s%s", JOURNAL_SAVED_PREFIX, name);
	for (size_t i = 0; i < dj->n_states; i++)
		if (strcmp(dj->states[i]->key, key) == 0)
			return true;
	return false;
}

/*
 * The store keeps exactly what the journal's entries name: a saved original
 * no entry holds (unsaved, or written by a run that died before journaling
 * it) is removed at commit, and the directory with the last of them.
 */
static int store_sweep(const domain_journal *dj, vfg_error *err)
{
	char dir_path[VFG_PATH_MAX];
	if (domain_journal_store_path(dj, "", dir_path, sizeof(dir_path), err) < 0)
		return -1;
	_cleanup_closedir_ DIR *dir = NULL;
	int r = vfg_state_opendir(dir_path, &dir, err);
	if (r < 0)
		return r == -ENOENT ? 0 : -1;
	size_t kept = 0;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (store_file_held(dj, entry->d_name)) {
			kept++;
			continue;
		}
		if (unlinkat(dirfd(dir), entry->d_name, 0) < 0 && errno != ENOENT)
			return vfg_error_set(err, errno, entry->d_name, "cannot remove from the store %s", dir_path);
	}
	if (kept == 0 && rmdir(dir_path) < 0 && errno != ENOENT && errno != ENOTEMPTY)
		return vfg_error_set(err, errno, dir_path, "cannot remove the store");
	return vfg_fsync_parent(dir_path, err);
}

/* A domain that holds nothing keeps no side state either: the labelers' entries die with it, and the files. */
static int remove_empty(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	for (size_t i = 0; i < dj->n_states; i++)
		state_free(dj->states[i]);
	dj->n_states = 0;
	journal_index_clear(&dj->states_by_key);
	if (dj->fd >= 0) {
		close(dj->fd);
		dj->fd = -1;
	}
	if (journal_touch(hj, dj, err) < 0 || vfg_file_remove(dj->path, err) < 0 || store_sweep(dj, err) < 0)
		return -1;
	dj->last_txn = dj->last_id = 0;
	dj->unsynced = dj->name_unsynced = dj->fresh = false;
	host_journal_fault_point(hj);
	return 0;
}

int domain_journal_remove_empty(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (dj->open_txn || dj->n_claims > 0 || dj->n_records > 0 || dj->skipped_records > 0)
		return 0;
	return remove_empty(hj, dj, err);
}

/*
 * The commit line, then, durably: a domain that holds nothing loses its
 * file; a file this transaction made is the domain's state already, give
 * or take a few stale lines (a value set again, a record undone), and only
 * needs its sync (the one that keeps a first apply at three: its intents,
 * its directory entry, its commit); any other is rewritten to the state
 * alone, which keeps files short.
 */
int domain_journal_commit(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (line_printf(dj, err, "commit %lu\n", dj->open_txn) < 0)
		return -1;
	/* No more stale lines than live ones: the file stays at most about twice its state. */
	size_t live = dj->n_claims + dj->n_states + 2 * dj->n_records;
	bool fresh = dj->fresh && dj->version == 2 && dj->stale_lines <= live;
	int r;
	if (dj->n_claims == 0 && dj->n_records == 0)
		r = domain_journal_write(hj, dj, err) < 0 ? -1 : remove_empty(hj, dj, err);
	else if (fresh)
		r = domain_journal_sync(hj, dj, err) < 0 ? -1 : store_sweep(dj, err);
	else
		r = domain_journal_write(hj, dj, err) < 0 ||
				    journal_rewrite(hj, dj, "cannot compact the journal", err) < 0
			    ? -1
			    : store_sweep(dj, err);
	if (r < 0)
		return -1;
	dj->open_txn = 0;
	dj->open_op = JOURNAL_OP_NONE;
	dj->fresh = false;
	dj->stale_lines = 0;
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
		if (strcmp(hj->domains[i]->domain.name, name) == 0)
			return hj->domains[i];
	return NULL;
}

/* A file name for any domain name: the characters a name may hold beyond [A-Za-z0-9._-] as %XX. */
void journal_file_name(const char *name, char *buf, size_t size)
{
	size_t used = 0;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			     *c == '_' || *c == '-' || (*c == '.' && c != (const unsigned char *)name);
		used = plain ? vfg_strlcatf(buf, size, used, "%c", *c) : vfg_strlcatf(buf, size, used, "%%%02X", *c);
	}
	vfg_strlcatf(buf, size, used, "%s", JOURNAL_SUFFIX);
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
	dj->domain = *domain;
	dj->domain.hostdevs = NULL;
	dj->domain.n_hostdevs = 0;
	if (host_journal_add(hj, dj, err) < 0)
		return NULL;
	return dj;
}
