/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The journal's files: reading them back, appending durably, compacting.
 * See journal.h for the model and docs/journal.md for the format.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "journal.h"

/* 2: the domain line carries the labelers' attributes by name; state lines. 1 still reads. */
#define JOURNAL_MAGIC "vfguard-journal 2"
#define JOURNAL_MAGIC_V1 "vfguard-journal 1"
#define JOURNAL_SUFFIX ".journal"
#define JOURNAL_STORE_SUFFIX ".store"
/* A domain line: nine fields and one per attribute, each at least "a.b=c". */
#define JOURNAL_FIELDS_MAX (9 + VFG_DOMAIN_ATTRS_MAX / 6)
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

/* " FIELD" at @used: one space, then the field as vfg_field_encode() writes it (docs/journal.md). */
static size_t field_encode(char *buf, size_t size, size_t used, const char *value)
{
	used = vfg_strlcatf(buf, size, used, " ");
	used += vfg_field_encode(value, buf + used, size - used);
	return used < size ? used : size - 1;
}

/* ---- Appending ---- */

/* The file exists from the first write on, starting with the magic line and durable by name. */
static int journal_file_open(host_journal *hj, domain_journal *dj, vfg_error *err)
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
	if (vfg_write_all(dj->fd, JOURNAL_MAGIC "\n", sizeof(JOURNAL_MAGIC)) < 0 || fdatasync(dj->fd) < 0)
		return vfg_error_set(err, errno, dj->path, "cannot write the journal");
	return vfg_fsync_parent(dj->path, err);
}

__attribute__((format(printf, 4, 5))) static int journal_append(host_journal *hj, domain_journal *dj, vfg_error *err,
								const char *fmt, ...)
{
	_cleanup_free_ char *line = malloc(JOURNAL_LINE_MAX);
	if (!line)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot write the journal");
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, JOURNAL_LINE_MAX - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= JOURNAL_LINE_MAX - 2)
		return vfg_error_set(err, E2BIG, dj->path, "journal line too long");
	line[n++] = '\n';
	/* One write() per line: a crash leaves at most a torn last line, which a reader drops. */
	if (journal_file_open(hj, dj, err) < 0)
		return -1;
	if (vfg_write_all(dj->fd, line, (size_t)n) < 0 || fdatasync(dj->fd) < 0)
		return vfg_error_set(err, errno, dj->path, "cannot write the journal");
	host_journal_fault_point(hj);
	return 0;
}

/* domain NAME UUID UID GID PID MEMORY VIOMMU IPC_LOCK [ATTRIBUTE=VALUE]...: the attributes opaque, by name. */
static size_t format_domain(char *buf, size_t size, const vfg_domain *domain)
{
	size_t used = vfg_strlcatf(buf, size, 0, "domain");
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
	return used;
}

static size_t format_state_line(char *buf, size_t size, size_t used, unsigned long txn, const journal_state *state)
{
	used = vfg_strlcatf(buf, size, used, "state %lu", txn);
	used = field_encode(buf, size, used, state->labeler);
	used = field_encode(buf, size, used, state->key);
	used = field_encode(buf, size, used, state->value);
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

static char *format_state(const domain_journal *dj, size_t *length);

/* Rewrite the file to the domain's state as one committed transaction of this format, renumbered from 1. */
static int journal_rewrite(host_journal *hj, domain_journal *dj, const char *failure, vfg_error *err)
{
	size_t length;
	_cleanup_free_ char *state = format_state(dj, &length);
	if (!state)
		return vfg_error_set(err, ENOMEM, dj->path, "%s", failure);
	if (vfg_file_replace(dj->path, state, length, err) < 0)
		return -1;
	for (size_t i = 0; i < dj->n_records; i++) {
		dj->records[i].id = i + 1;
		dj->records[i].txn = 1;
	}
	for (size_t i = 0; i < dj->n_claims; i++)
		dj->claims[i].txn = 1;
	for (size_t i = 0; i < dj->n_states; i++)
		dj->states[i].txn = 1;
	dj->last_txn = 1;
	dj->last_id = dj->n_records;
	dj->version = 2;
	host_journal_fault_point(hj);
	return 0;
}

/* A file written by an older vfguard becomes this version's before anything is appended to it. */
static int upgrade_file(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (dj->version == 2)
		return 0;
	if (dj->fd >= 0) {
		close(dj->fd);
		dj->fd = -1;
	}
	return journal_rewrite(hj, dj, "cannot upgrade the journal", err);
}

int domain_journal_begin(host_journal *hj, domain_journal *dj, journal_op op, const vfg_domain *domain, vfg_error *err)
{
	if (dj->open_txn)
		return vfg_error_set(err, EBUSY, dj->domain.name, "a transaction is already open");
	_cleanup_free_ char *line = malloc(JOURNAL_LINE_MAX);
	if (!line)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot write the journal");
	if (upgrade_file(hj, dj, err) < 0)
		return -1;
	unsigned long txn = dj->last_txn + 1;
	if (domain) {
		dj->domain = *domain;
		dj->domain.hostdevs = NULL;
		dj->domain.n_hostdevs = 0;
	}
	format_domain(line, JOURNAL_LINE_MAX, &dj->domain);
	if (journal_append(hj, dj, err, "begin %lu %s", txn, journal_op_name(op)) < 0 ||
	    journal_append(hj, dj, err, "%s", line) < 0)
		return -1;
	dj->last_txn = txn;
	dj->open_txn = txn;
	dj->open_op = op;
	return 0;
}

int domain_journal_claim(host_journal *hj, domain_journal *dj, const journal_claim *claim, vfg_error *err)
{
	char line[256];
	journal_claim *claims = realloc(dj->claims, (dj->n_claims + 1) * sizeof(*claims));
	if (!claims)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot record the claim");
	dj->claims = claims;
	size_t used = format_claim(line, sizeof(line), 0, dj->open_txn, claim);
	line[used - 1] = '\0';
	if (journal_append(hj, dj, err, "%s", line) < 0)
		return -1;
	dj->claims[dj->n_claims] = *claim;
	dj->claims[dj->n_claims].txn = dj->open_txn;
	dj->n_claims++;
	return 0;
}

static void remove_claim(domain_journal *dj, const vfg_pci_addr *addr)
{
	journal_claim *claim = domain_journal_find_claim(dj, addr);
	if (!claim)
		return;
	size_t index = (size_t)(claim - dj->claims);
	memmove(claim, claim + 1, (dj->n_claims - index - 1) * sizeof(*claim));
	dj->n_claims--;
}

int domain_journal_release(host_journal *hj, domain_journal *dj, const vfg_pci_addr *addr, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	if (journal_append(hj, dj, err, "release %lu %s", dj->open_txn, vfg_pci_addr_format(addr, bdf)) < 0)
		return -1;
	remove_claim(dj, addr);
	return 0;
}

static int keep_record(domain_journal *dj, const journal_record *record, vfg_error *err)
{
	journal_record *records = realloc(dj->records, (dj->n_records + 1) * sizeof(*records));
	if (!records)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the journal record");
	dj->records = records;
	char *undo = strdup(record->undo);
	if (!undo)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the journal record");
	dj->records[dj->n_records] = *record;
	dj->records[dj->n_records].undo = undo;
	dj->n_records++;
	return 0;
}

int domain_journal_intent(host_journal *hj, domain_journal *dj, journal_record *record, vfg_error *err)
{
	_cleanup_free_ char *line = malloc(JOURNAL_LINE_MAX);
	if (!line)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot write the journal");
	if (strchr(record->undo, '\n'))
		return vfg_error_set(err, EINVAL, record->labeler, "undo text holds a newline");
	record->txn = dj->open_txn;
	record->id = dj->last_id + 1;
	record->done = false;
	size_t used = format_intent(line, JOURNAL_LINE_MAX, 0, record->txn, record->id, record);
	line[used - 1] = '\0';
	if (journal_append(hj, dj, err, "%s", line) < 0)
		return -1;
	dj->last_id = record->id;
	return keep_record(dj, record, err);
}

static journal_record *find_record_by_id(const domain_journal *dj, unsigned long id)
{
	for (size_t i = 0; i < dj->n_records; i++)
		if (dj->records[i].id == id)
			return &dj->records[i];
	return NULL;
}

int domain_journal_done(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err)
{
	journal_record *record = find_record_by_id(dj, id);
	if (!record)
		return vfg_error_set(err, ENOENT, dj->path, "no journal record %lu", id);
	host_journal_fault_point(hj); /* the change is made and not yet marked done */
	if (journal_append(hj, dj, err, "done %lu %lu", dj->open_txn, id) < 0)
		return -1;
	record->done = true;
	return 0;
}

static void drop_record(domain_journal *dj, journal_record *record)
{
	size_t index = (size_t)(record - dj->records);
	free(record->undo);
	memmove(record, record + 1, (dj->n_records - index - 1) * sizeof(*record));
	dj->n_records--;
}

int domain_journal_undone(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err)
{
	journal_record *record = find_record_by_id(dj, id);
	if (!record)
		return vfg_error_set(err, ENOENT, dj->path, "no journal record %lu", id);
	host_journal_fault_point(hj); /* the change is undone and not yet journaled */
	if (journal_append(hj, dj, err, "undone %lu %lu", dj->open_txn, id) < 0)
		return -1;
	drop_record(dj, record);
	return 0;
}

journal_state *domain_journal_find_state(const domain_journal *dj, const char *labeler, const char *key)
{
	for (size_t i = 0; i < dj->n_states; i++)
		if (strcmp(dj->states[i].labeler, labeler) == 0 && strcmp(dj->states[i].key, key) == 0)
			return &dj->states[i];
	return NULL;
}

static void state_free(journal_state *state)
{
	free(state->key);
	free(state->value);
}

/* Keep @value for (@labeler, @key) in memory; NULL drops the entry. */
static int keep_state(domain_journal *dj, unsigned long txn, const char *labeler, const char *key, const char *value,
		      vfg_error *err)
{
	journal_state *state = domain_journal_find_state(dj, labeler, key);
	if (!value) {
		if (state) {
			size_t index = (size_t)(state - dj->states);
			state_free(state);
			memmove(state, state + 1, (dj->n_states - index - 1) * sizeof(*state));
			dj->n_states--;
		}
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
	journal_state *states = realloc(dj->states, (dj->n_states + 1) * sizeof(*states));
	char *key_copy = strdup(key);
	if (states)
		dj->states = states;
	if (!states || !key_copy) {
		free(copy);
		free(key_copy);
		return vfg_error_set(err, ENOMEM, dj->path, "cannot keep the state entry");
	}
	state = &dj->states[dj->n_states++];
	*state = (journal_state){.txn = txn, .key = key_copy, .value = copy};
	snprintf(state->labeler, sizeof(state->labeler), "%s", labeler);
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
	_cleanup_free_ char *line = malloc(JOURNAL_LINE_MAX);
	if (!line)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot write the journal");
	size_t used;
	if (value) {
		journal_state state = {.labeler = "", .key = (char *)key, .value = (char *)value};
		snprintf(state.labeler, sizeof(state.labeler), "%s", labeler);
		used = format_state_line(line, JOURNAL_LINE_MAX, 0, dj->open_txn, &state);
	} else {
		used = vfg_strlcatf(line, JOURNAL_LINE_MAX, 0, "unstate %lu", dj->open_txn);
		used = field_encode(line, JOURNAL_LINE_MAX, used, labeler);
		used = field_encode(line, JOURNAL_LINE_MAX, used, key);
		used = vfg_strlcatf(line, JOURNAL_LINE_MAX, used, "\n");
	}
	line[used - 1] = '\0';
	if (journal_append(hj, dj, err, "%s", line) < 0)
		return -1;
	return keep_state(dj, dj->open_txn, labeler, key, value, err);
}

int domain_journal_drop_txn_states(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	for (size_t i = dj->n_states; i-- > 0;) {
		if (dj->states[i].txn != dj->open_txn)
			continue;
		char labeler[64];
		_cleanup_free_ char *key = strdup(dj->states[i].key);
		snprintf(labeler, sizeof(labeler), "%s", dj->states[i].labeler);
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
		format_domain(line, JOURNAL_LINE_MAX, &dj->domain);
		fprintf(out, "%s\n", line);
		for (size_t i = 0; i < dj->n_claims; i++) {
			format_claim(line, JOURNAL_LINE_MAX, 0, 1, &dj->claims[i]);
			fputs(line, out);
		}
		for (size_t i = 0; i < dj->n_states; i++) {
			format_state_line(line, JOURNAL_LINE_MAX, 0, 1, &dj->states[i]);
			fputs(line, out);
		}
		for (size_t i = 0; i < dj->n_records; i++) {
			format_intent(line, JOURNAL_LINE_MAX, 0, 1, i + 1, &dj->records[i]);
			fputs(line, out);
			if (dj->records[i].done)
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
	for (size_t i = 0; i < dj->n_states; i++)
		if (strncmp(dj->states[i].key, JOURNAL_SAVED_PREFIX, strlen(JOURNAL_SAVED_PREFIX)) == 0 &&
		    strcmp(dj->states[i].key + strlen(JOURNAL_SAVED_PREFIX), name) == 0)
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
		state_free(&dj->states[i]);
	dj->n_states = 0;
	if (vfg_file_remove(dj->path, err) < 0 || store_sweep(dj, err) < 0)
		return -1;
	dj->last_txn = dj->last_id = 0;
	host_journal_fault_point(hj);
	return 0;
}

int domain_journal_remove_empty(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (dj->open_txn || dj->n_claims > 0 || dj->n_records > 0)
		return 0;
	return remove_empty(hj, dj, err);
}

int domain_journal_commit(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (journal_append(hj, dj, err, "commit %lu", dj->open_txn) < 0)
		return -1;
	dj->open_txn = 0;
	dj->open_op = JOURNAL_OP_NONE;
	close(dj->fd);
	dj->fd = -1;
	if (dj->n_claims == 0 && dj->n_records == 0)
		return remove_empty(hj, dj, err);
	if (journal_rewrite(hj, dj, "cannot compact the journal", err) < 0)
		return -1;
	return store_sweep(dj, err);
}

journal_record *domain_journal_find_record(const domain_journal *dj, const char *labeler, const char *path)
{
	for (size_t i = 0; i < dj->n_records; i++)
		if (strcmp(dj->records[i].labeler, labeler) == 0 && strcmp(dj->records[i].node.path, path) == 0)
			return &dj->records[i];
	return NULL;
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

/* ---- Reading ---- */

static void journal_file_name(const char *name, char *buf, size_t size);

typedef struct journal_reader {
	const host_journal *hj;
	domain_journal *dj;
	unsigned line;
	vfg_error *err;
} journal_reader;

__attribute__((format(printf, 2, 3))) static int reader_error(const journal_reader *reader, const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return vfg_error_set(reader->err, 0, reader->dj->path,
			     "line %u: %s (the journal is damaged: fix or move it aside by hand)", reader->line,
			     message);
}

static bool parse_ulong(const char *text, unsigned long *value)
{
	char *end;
	errno = 0;
	*value = strtoul(text, &end, 10);
	return !errno && end != text && !*end && text[0] != '-';
}

static bool parse_node_kind(const char *text, vfg_node_kind *kind)
{
	static const vfg_node_kind kinds[] = {VFG_NODE_CONTAINER, VFG_NODE_GROUP, VFG_NODE_IOMMUFD, VFG_NODE_CDEV};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(text, vfg_node_kind_name(kinds[i])) == 0) {
			*kind = kinds[i];
			return true;
		}
	return false;
}

static bool is_flag(const char *field)
{
	return strcmp(field, "0") == 0 || strcmp(field, "1") == 0;
}

static bool parse_memory(const char *text, uint64_t *memory)
{
	char *end;
	errno = 0;
	unsigned long long value = strtoull(text, &end, 10);
	*memory = value;
	return !errno && !*end && end != text && text[0] != '-';
}

/* The name makes paths (the file itself, the store): it must be one a domain can have, and this file's. */
static int read_domain_name(journal_reader *reader, const char *name)
{
	char file[3 * VFG_NAME_MAX + 16];
	const char *base = strrchr(reader->dj->path, '/');
	vfg_error why = {0};
	if (vfg_domain_name_check(name, &why) < 0)
		return reader_error(reader, "domain line: %s", why.message);
	journal_file_name(name, file, sizeof(file));
	if (strcmp(base ? base + 1 : reader->dj->path, file) != 0)
		return reader_error(reader, "domain line names domain '%s', whose journal is %s, not this file", name,
				    file);
	return 0;
}

/*
 * Version 1 kept four attributes by position (fields 5 to 8); the labeler
 * that declares an attribute with that journal_v1_field takes it. A field no
 * loaded labeler claims is kept as "journal_v1.fieldN", so that nothing is lost.
 */
static int read_domain_v1_attrs(journal_reader *reader, char **fields)
{
	const vfg_context *ctx = reader->hj->ctx;
	vfg_domain *domain = &reader->dj->domain;
	for (unsigned field = 5; field <= 8; field++) {
		if (!fields[field][0])
			continue;
		char name[128];
		snprintf(name, sizeof(name), "journal_v1.field%u", field);
		for (size_t i = 0; ctx && i < ctx->n_labelers; i++)
			for (const vfg_attr_def *def = ctx->labelers[i]->attributes; def && def->name; def++)
				if (def->journal_v1_field == field)
					snprintf(name, sizeof(name), "%s.%s", ctx->labelers[i]->name, def->name);
		vfg_error why = {0};
		if (vfg_domain_attr_set(domain, name, fields[field], &why) < 0)
			return reader_error(reader, "domain line: %s", why.message);
	}
	return 0;
}

static int read_domain(journal_reader *reader, char **fields, size_t count)
{
	vfg_domain *domain = &reader->dj->domain;
	bool v1 = reader->dj->version == 1;
	unsigned long uid, gid, pid;
	uint64_t memory = 0;
	/* v1: NAME UUID UID GID 4xATTR PID [MEMORY VIOMMU IPC_LOCK]; v2: NAME UUID UID GID PID MEMORY VIOMMU IPC_LOCK
	 * ATTR=... */
	size_t numbers = v1 ? 9 : 5;
	bool has_inputs = v1 ? count == 13 : true; /* MEMORY VIOMMU IPC_LOCK, which early v1 files lack */
	size_t inputs = v1 ? 10 : 6;
	if ((v1 && count != 10 && count != 13) || (!v1 && count < 9) || !parse_ulong(fields[3], &uid) ||
	    !parse_ulong(fields[4], &gid) || !parse_ulong(fields[numbers], &pid) || pid > INT32_MAX ||
	    (has_inputs &&
	     (!parse_memory(fields[inputs], &memory) || !is_flag(fields[inputs + 1]) || !is_flag(fields[inputs + 2]))))
		return reader_error(reader, "malformed domain line");
	if (read_domain_name(reader, fields[1]) < 0)
		return -1;
	domain->attrs_used = 0;
	snprintf(domain->name, sizeof(domain->name), "%s", fields[1]);
	snprintf(domain->uuid, sizeof(domain->uuid), "%s", fields[2]);
	domain->uid = (uid_t)uid;
	domain->gid = (gid_t)gid;
	domain->pid = (pid_t)pid;
	domain->memory = memory;
	domain->viommu = has_inputs && fields[inputs + 1][0] == '1';
	domain->ipc_lock = has_inputs && fields[inputs + 2][0] == '1';
	if (v1)
		return read_domain_v1_attrs(reader, fields);
	for (size_t i = 9; i < count; i++) {
		char *eq = strchr(fields[i], '=');
		vfg_error why = {0};
		if (!eq)
			return reader_error(reader, "domain line: attribute '%s' without '='", fields[i]);
		*eq = '\0';
		if (vfg_domain_attr_set(domain, fields[i], eq + 1, &why) < 0)
			return reader_error(reader, "domain line: %s", why.message);
	}
	return 0;
}

static int read_claim(journal_reader *reader, char **fields, size_t count, unsigned long txn)
{
	journal_claim claim = {.txn = txn};
	unsigned long group;
	if (count != 7 || vfg_pci_addr_parse(fields[2], &claim.addr, NULL) < 0 || !parse_ulong(fields[3], &group) ||
	    vfg_backend_parse(fields[4], &claim.backend, NULL) < 0 ||
	    vfg_access_parse(fields[5], &claim.access, NULL) < 0)
		return reader_error(reader, "malformed claim");
	claim.group = (unsigned)group;
	claim.managed = strcmp(fields[6], "1") == 0;
	domain_journal *dj = reader->dj;
	journal_claim *claims = realloc(dj->claims, (dj->n_claims + 1) * sizeof(*claims));
	if (!claims)
		return vfg_error_set(reader->err, ENOMEM, dj->path, "cannot read the journal");
	dj->claims = claims;
	dj->claims[dj->n_claims++] = claim;
	return 0;
}

/*
 * A record's node is a device node under /dev (node.c opens it below the
 * root prefix): a plain absolute path, no "." or ".." component, no empty one.
 */
static bool is_dev_path(const char *path)
{
	if (strncmp(path, "/dev/", 5) != 0)
		return false;
	for (const char *component = path + 5;;) {
		size_t length = strcspn(component, "/");
		if (length == 0 || (length == 1 && component[0] == '.') ||
		    (length == 2 && component[0] == '.' && component[1] == '.'))
			return false;
		for (size_t i = 0; i < length; i++)
			if ((unsigned char)component[i] <= ' ' || (unsigned char)component[i] >= 0x7f)
				return false;
		if (!component[length])
			return true;
		component += length + 1;
	}
}

/*
 * A node record names a device node under /dev; a domain-scope record names
 * its labeler's subject, which that labeler checks before acting on it
 * (labeler.h: VFG_SCOPE_DOMAIN). A labeler loaded now must agree on which
 * kind it keeps.
 */
static int check_intent_path(journal_reader *reader, const journal_record *record)
{
	bool domain_scope = record->node.kind == VFG_NODE_DOMAIN;
	const vfg_context *ctx = reader->hj->ctx;
	for (size_t i = 0; ctx && i < ctx->n_labelers; i++) {
		const vfg_labeler *labeler = ctx->labelers[i];
		if (strcmp(labeler->name, record->labeler) != 0 || (labeler->scope == VFG_SCOPE_DOMAIN) == domain_scope)
			continue;
		if (domain_scope)
			return reader_error(reader, "intent of labeler '%s' for '%s' names no device node",
					    record->labeler, record->node.path);
		return reader_error(reader, "intent of labeler '%s' for '%s' names a device node: %s records name %s",
				    record->labeler, record->node.path, labeler->name,
				    labeler->subject ? labeler->subject : "no device node");
	}
	if (domain_scope ? !record->node.path[0] : !is_dev_path(record->node.path))
		return reader_error(reader, "intent of labeler '%s' names '%s', which is not %s; refusing to act on it",
				    record->labeler, record->node.path,
				    domain_scope ? "a subject" : "a device node under /dev");
	return 0;
}

static int read_intent(journal_reader *reader, char **fields, size_t count, unsigned long txn)
{
	journal_record record = {.txn = txn};
	unsigned major_number, minor_number;
	char extra;
	/* KIND and MAJ:MIN both "-" (read as ""): a change of the domain, not of a node (VFG_SCOPE_DOMAIN). */
	bool domain_scope = count == 9 && !fields[4][0] && !fields[6][0];
	if (domain_scope)
		record.node.kind = VFG_NODE_DOMAIN;
	if (count != 9 || !parse_ulong(fields[2], &record.id) || strlen(fields[3]) >= sizeof(record.labeler) ||
	    (!domain_scope && !parse_node_kind(fields[4], &record.node.kind)) ||
	    strlen(fields[5]) >= sizeof(record.node.path) ||
	    (!domain_scope && sscanf(fields[6], "%u:%u%c", &major_number, &minor_number, &extra) != 2))
		return reader_error(reader, "malformed intent");
	snprintf(record.labeler, sizeof(record.labeler), "%s", fields[3]);
	snprintf(record.node.path, sizeof(record.node.path), "%s", fields[5]);
	record.node.rdev = domain_scope ? 0 : makedev(major_number, minor_number);
	record.node.shared = strcmp(fields[7], "1") == 0;
	record.undo = fields[8];
	if (check_intent_path(reader, &record) < 0)
		return -1;
	if (record.id > reader->dj->last_id)
		reader->dj->last_id = record.id;
	return keep_record(reader->dj, &record, reader->err);
}

static int read_state(journal_reader *reader, char **fields, size_t count, unsigned long txn)
{
	bool set = fields[0][0] == 's';
	if (reader->dj->version == 1 || count != (set ? 5u : 4u) || strlen(fields[2]) >= 64 || !fields[3][0])
		return reader_error(reader, "malformed %s", fields[0]);
	return keep_state(reader->dj, txn, fields[2], fields[3], set ? fields[4] : NULL, reader->err);
}

static int read_line(journal_reader *reader, char *line)
{
	_cleanup_free_ char **fields = malloc(JOURNAL_FIELDS_MAX * sizeof(*fields));
	if (!fields)
		return vfg_error_set(reader->err, ENOMEM, reader->dj->path, "cannot read the journal");
	size_t count = 0;
	char *state = NULL;
	for (char *field = strtok_r(line, " ", &state); field; field = strtok_r(NULL, " ", &state)) {
		if (count == JOURNAL_FIELDS_MAX)
			return reader_error(reader, "too many fields");
		if (vfg_field_decode(field) < 0)
			return reader_error(reader, "malformed escape in '%s'", field);
		fields[count++] = field;
	}
	domain_journal *dj = reader->dj;
	unsigned long txn = 0, id = 0;
	if (count == 0)
		return reader_error(reader, "empty line");
	static const char *const entries[] = {"domain", "begin", "commit", "claim", "release",
					      "intent", "done",  "undone", "state", "unstate"};
	bool known = false;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]) && !known; i++)
		known = strcmp(fields[0], entries[i]) == 0;
	if (!known)
		return reader_error(reader, "unknown entry '%s'", fields[0]);
	if (strcmp(fields[0], "domain") == 0)
		return read_domain(reader, fields, count);
	if (count < 2 || !parse_ulong(fields[1], &txn))
		return reader_error(reader, "'%s' without a transaction number", fields[0]);
	if (strcmp(fields[0], "begin") == 0) {
		if (count != 3 || dj->open_txn)
			return reader_error(reader, "malformed begin, or begin inside an open transaction");
		dj->open_txn = dj->last_txn = txn;
		dj->open_op = strcmp(fields[2], "revoke") == 0 ? JOURNAL_OP_REVOKE : JOURNAL_OP_APPLY;
		return 0;
	}
	if (txn != dj->open_txn)
		return reader_error(reader, "'%s' outside its transaction %lu", fields[0], txn);
	if (strcmp(fields[0], "commit") == 0) {
		dj->open_txn = 0;
		dj->open_op = JOURNAL_OP_NONE;
		return 0;
	}
	if (strcmp(fields[0], "claim") == 0)
		return read_claim(reader, fields, count, txn);
	if (strcmp(fields[0], "intent") == 0)
		return read_intent(reader, fields, count, txn);
	if (strcmp(fields[0], "state") == 0 || strcmp(fields[0], "unstate") == 0)
		return read_state(reader, fields, count, txn);
	if (strcmp(fields[0], "release") == 0) {
		vfg_pci_addr addr;
		if (count != 3 || vfg_pci_addr_parse(fields[2], &addr, NULL) < 0)
			return reader_error(reader, "malformed release");
		remove_claim(dj, &addr);
		return 0;
	}
	if (strcmp(fields[0], "done") == 0 || strcmp(fields[0], "undone") == 0) {
		journal_record *record = count == 3 && parse_ulong(fields[2], &id) ? find_record_by_id(dj, id) : NULL;
		if (!record)
			return reader_error(reader, "%s of an unknown record", fields[0]);
		if (fields[0][0] == 'd')
			record->done = true;
		else
			drop_record(dj, record);
		return 0;
	}
	return reader_error(reader, "unknown entry '%s'", fields[0]); /* not reached: entries[] lists them */
}

static void domain_journal_free(domain_journal *dj)
{
	if (!dj)
		return;
	if (dj->fd >= 0)
		close(dj->fd);
	for (size_t i = 0; i < dj->n_records; i++)
		free(dj->records[i].undo);
	for (size_t i = 0; i < dj->n_states; i++)
		state_free(&dj->states[i]);
	free(dj->records);
	free(dj->claims);
	free(dj->states);
	free(dj);
}

static domain_journal *domain_journal_new(const char *path)
{
	domain_journal *dj = calloc(1, sizeof(*dj));
	if (!dj)
		return NULL;
	dj->fd = -1;
	dj->version = 2;
	snprintf(dj->path, sizeof(dj->path), "%s", path);
	return dj;
}

/*
 * The journal is text its writer escapes to printable ASCII (field_encode),
 * so any other byte before the last newline is damage, not a torn write: a
 * NUL most of all, which would end a C string and hide every line after it.
 * The file is read by its length, never as a string, so nothing is missed.
 */
static int check_bytes(const journal_reader *reader, const char *content, size_t complete)
{
	unsigned line = 1;
	for (size_t offset = 0; offset < complete; offset++) {
		unsigned char c = (unsigned char)content[offset];
		if (c == '\n') {
			line++;
			continue;
		}
		if (c >= ' ' && c < 0x7f)
			continue;
		char what[16] = "a NUL byte";
		if (c)
			snprintf(what, sizeof(what), "byte 0x%02X", c);
		return vfg_error_set(reader->err, 0, reader->dj->path,
				     "line %u: %s at byte offset %zu, where only printable ASCII is ever written (the "
				     "journal is damaged: fix or move it aside by hand; vfguard leaves it as it is)",
				     line, what, offset);
	}
	return 0;
}

/*
 * Replay one file, read from @fd. A last line without its newline is a
 * write a crash cut short: it never became durable as a whole, so it never
 * happened; under the exclusive lock it is cut off so the next append starts
 * on a fresh line. Only that tail is ever cut, and only once everything
 * before it has read back as a journal: a damaged file is left as it is.
 */
static int domain_journal_read(const host_journal *hj, int fd, const char *path, bool exclusive, domain_journal **out,
			       vfg_error *err)
{
	_cleanup_free_ char *content = NULL;
	size_t size;
	if (vfg_fd_read_all(fd, path, 0, &content, &size, err) < 0)
		return -1;
	domain_journal *dj = domain_journal_new(path);
	if (!dj)
		return vfg_error_set(err, ENOMEM, path, "cannot read the journal");
	journal_reader reader = {.hj = hj, .dj = dj, .err = err};
	const char *end = memrchr(content, '\n', size);
	size_t complete = end ? (size_t)(end - content) + 1 : 0;
	if (check_bytes(&reader, content, complete) < 0) {
		domain_journal_free(dj);
		return -1;
	}
	char *line = content;
	while (line < content + complete) {
		char *newline = memchr(line, '\n', (size_t)(content + complete - line));
		*newline = '\0';
		reader.line++;
		int r = 0;
		if (reader.line > 1)
			r = read_line(&reader, line);
		else if (strcmp(line, JOURNAL_MAGIC_V1) == 0)
			dj->version = 1;
		else if (strcmp(line, JOURNAL_MAGIC) != 0)
			r = reader_error(&reader, "not a journal");
		if (r < 0) {
			domain_journal_free(dj);
			return -1;
		}
		line = newline + 1;
	}
	if (complete < size && exclusive && ftruncate(fd, (off_t)complete) < 0) {
		domain_journal_free(dj);
		return vfg_error_set(err, errno, path, "cannot cut the torn last line off the journal");
	}
	*out = dj;
	return 0;
}

static int host_journal_add(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	domain_journal **domains = realloc(hj->domains, (hj->n_domains + 1) * sizeof(*domains));
	if (!domains) {
		domain_journal_free(dj);
		return vfg_error_set(err, ENOMEM, hj->directory, "cannot read the journal");
	}
	hj->domains = domains;
	hj->domains[hj->n_domains++] = dj;
	return 0;
}

static int read_all_journals(host_journal *hj, bool exclusive, vfg_error *err)
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
		/* Read and (a torn tail) cut through the fd that was checked: what is trusted is what was read. */
		_cleanup_close_ int fd = vfg_state_open(path, exclusive ? O_RDWR : O_RDONLY, false, err);
		if (fd == -ENOENT)
			continue; /* removed since it was listed: it held nothing */
		domain_journal *dj = NULL;
		if (fd < 0 || domain_journal_read(hj, fd, path, exclusive, &dj, err) < 0 ||
		    host_journal_add(hj, dj, err) < 0)
			return -1;
	}
	return 0;
}

int host_journal_open(const vfg_context *ctx, bool exclusive, host_journal *hj, vfg_error *err)
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
	int r;
	do
		r = flock(hj->lock_fd, exclusive ? LOCK_EX : LOCK_SH);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return vfg_error_set(err, errno, lock_path, "cannot take the host lock");
	if (read_all_journals(hj, exclusive, err) < 0) {
		host_journal_close(hj);
		return -1;
	}
	return 0;
}

void host_journal_close(host_journal *hj)
{
	host_journal_scratch_release(hj);
	for (size_t i = 0; i < hj->n_domains; i++)
		domain_journal_free(hj->domains[i]);
	free(hj->domains);
	hj->domains = NULL;
	hj->n_domains = 0;
	if (hj->lock_fd >= 0)
		close(hj->lock_fd); /* releases the lock */
	hj->lock_fd = -1;
}

domain_journal *host_journal_find(const host_journal *hj, const char *name)
{
	for (size_t i = 0; i < hj->n_domains; i++)
		if (strcmp(hj->domains[i]->domain.name, name) == 0)
			return hj->domains[i];
	return NULL;
}

/* A file name for any domain name: the characters a name may hold beyond [A-Za-z0-9._-] as %XX. */
static void journal_file_name(const char *name, char *buf, size_t size)
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
