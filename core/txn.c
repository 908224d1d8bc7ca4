/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transaction API labelers call (labeler.h), on top of the journal. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "journal.h"
#include "vfg_fault.h"

VFG_EXPORT int vfg_txn_intent(vfg_txn *txn, const vfg_node *node, const char *undo, vfg_error *err)
{
	if (txn->pending_id)
		return vfg_error_set(err, EINVAL, node->path,
				     "labeler %s journaled a second change before marking the first done",
				     txn->labeler);
	if (strlen(undo) > VFG_UNDO_MAX)
		return vfg_error_set(err, E2BIG, node->path, "labeler %s: undo text longer than %d bytes", txn->labeler,
				     VFG_UNDO_MAX);
	if (domain_journal_find_record(txn->dj, txn->labeler, node->path))
		return vfg_error_set(err, EEXIST, node->path, "labeler %s already holds a record for domain %s",
				     txn->labeler, txn->dj->domain->name);
	journal_record *record;
	if (domain_journal_intent(txn->hj, txn->dj, txn->labeler, node, undo, &record, err) < 0)
		return -1;
	txn->pending_id = record->id;
	return 0;
}

VFG_EXPORT int vfg_txn_done(vfg_txn *txn, const vfg_node *node, vfg_error *err)
{
	journal_record *record = domain_journal_find_record(txn->dj, txn->labeler, node->path);
	if (!record || record->id != txn->pending_id)
		return vfg_error_set(err, EINVAL, node->path, "labeler %s marks done a change it did not journal",
				     txn->labeler);
	if (domain_journal_done(txn->hj, txn->dj, record->id, err) < 0)
		return -1;
	txn->pending_id = 0;
	return 0;
}

VFG_EXPORT int vfg_txn_unopened(vfg_txn *txn, const vfg_error *why, vfg_error *err)
{
	/*
	 * vfg_node_open()'s errnum: ENOENT, no node; EMEDIUMTYPE, another file; ELOOP or EXDEV, a symlink;
	 * vfg_node_boot_gone()'s ESTALE, a node of this boot.
	 */
	switch (why->errnum) {
	case ENOENT:
		vfg_txn_note(txn, "%s: %s: gone; nothing to restore", txn->labeler, why->subject);
		txn->left_alone = true;
		return 0;
	case ESTALE:
		vfg_txn_note(txn,
			     "%s: %s is this boot's (its file system starts empty at every boot): the grant went "
			     "with its boot, left alone",
			     txn->labeler, why->subject);
		txn->left_alone = true;
		return 0;
	case EMEDIUMTYPE:
	case ELOOP:
	case EXDEV:
		vfg_txn_note(txn, "%s: %s; it is not the node vfguard changed, left alone", txn->labeler, why->message);
		txn->left_alone = true;
		return 0;
	default:
		*err = *why;
		return -1;
	}
}

VFG_EXPORT const char *vfg_txn_undo(const vfg_txn *txn, const vfg_node *node)
{
	const journal_record *record = domain_journal_find_record(txn->dj, txn->labeler, node->path);
	return record ? record->undo : NULL;
}

VFG_EXPORT void vfg_txn_note(vfg_txn *txn, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	size_t old = txn->notes ? strlen(txn->notes) : 0;
	char *notes = realloc(txn->notes, old + strlen(line) + 2);
	if (!notes)
		return; /* a note is advice; losing it under memory pressure changes nothing on the host */
	snprintf(notes + old, strlen(line) + 2, "%s\n", line);
	txn->notes = notes;
}

int txn_result(const vfg_txn *txn, int r, vfg_error *err)
{
	/* A failed core call is the cause of whatever the labeler made of its answer: its error is the one told. */
	if (!txn->failed && !txn->hj->failed)
		return r;
	*err = txn->failed ? txn->failure : txn->hj->failure;
	return -1;
}

/*
 * Another domain's journal read for this command keeps only its shared
 * nodes' records (host_journal_open_for): asked about another node, each
 * is read whole first. A failure to (the journal was read moments ago,
 * under the lock) fails the labeler's call when it returns (txn_result).
 */
static void holders_readable(const vfg_txn *txn, const vfg_node *node)
{
	vfg_txn *writable = (vfg_txn *)txn; /* the failure is the core's, not the labeler's view */
	/* The holders index lists shared nodes' records only: asked about another node, every journal is read. */
	if (!node->shared && txn->hj->holders && host_journal_read_rest(txn->hj, &writable->failure) < 0)
		writable->failed = true;
	for (size_t i = 0; !node->shared && !txn->failed && i < txn->hj->n_domains; i++)
		if (host_journal_complete(txn->hj, txn->hj->domains[i], &writable->failure) < 0)
			writable->failed = true;
}

/* A holder's journal, loaded for a value: 1 when the index was doubted; a failure fails the call (txn_result). */
static int txn_load(const vfg_txn *txn, const holders_match *match, domain_journal **dj)
{
	vfg_txn *writable = (vfg_txn *)txn;
	int r = host_journal_load(txn->hj, match, dj, &writable->failure);
	if (r < 0)
		writable->failed = true;
	return r;
}

/* vfg_txn_shared_holders() from the holders index: 1 when it was doubted (the journals in memory answer). */
static int indexed_shared_holders(const vfg_txn *txn, const vfg_node *node, vfg_shared_holders *holders)
{
	char *key = host_holders_key(HOLDER_RECORD, 0, txn->labeler, node->path, node->rdev);
	if (!key)
		return 1;
	holders_match match, first, first_same_uid;
	size_t cursor = 0;
	int listed;
	while ((listed = host_holders_next(txn->hj->holders, key, &cursor, &match)) > 0) {
		if (strcmp(match.name, txn->dj->domain->name) == 0)
			continue;
		if (!holders->others++)
			first = match;
		if (match.uid == txn->dj->domain->uid && !holders->others_same_uid++)
			first_same_uid = match;
	}
	free(key);
	/*
	 * The answers are read as "none" or "some" (labeler.h): "some" rests on
	 * one holder's journal still being the file recorded, the first's
	 * (loaded, for its original) and, for the uid, the first of that uid's.
	 */
	if (listed < 0 ||
	    (holders->others_same_uid && holders->others && strcmp(first_same_uid.name, first.name) != 0 &&
	     !host_holders_vouch(txn->hj, &first_same_uid)))
		return host_journal_read_rest(txn->hj, &((vfg_txn *)txn)->failure) < 0 ? 0 : 1;
	domain_journal *other;
	int r = holders->others ? txn_load(txn, &first, &other) : 0;
	if (r != 0 || !holders->others)
		return r > 0 ? 1 : 0;
	const journal_record *record = domain_journal_find_record(other, txn->labeler, node->path);
	if (!record || record->node.rdev != node->rdev)
		return host_journal_read_rest(txn->hj, &((vfg_txn *)txn)->failure) < 0 ? 0 : 1;
	holders->original = record->undo;
	return 0;
}

VFG_EXPORT void vfg_txn_shared_holders(const vfg_txn *txn, const vfg_node *node, vfg_shared_holders *holders)
{
	memset(holders, 0, sizeof(*holders));
	holders_readable(txn, node);
	if (txn->hj->holders && indexed_shared_holders(txn, node, holders) == 0)
		return;
	memset(holders, 0, sizeof(*holders));
	for (size_t i = 0; i < txn->hj->n_domains; i++) {
		const domain_journal *other = txn->hj->domains[i];
		if (other == txn->dj)
			continue;
		const journal_record *record = domain_journal_find_record(other, txn->labeler, node->path);
		if (!record || record->node.rdev != node->rdev)
			continue;
		holders->others++;
		if (other->domain->uid == txn->dj->domain->uid)
			holders->others_same_uid++;
		if (!holders->original)
			holders->original = record->undo;
	}
}

/* ---- Side state (labeler.h) ---- */

static bool state_key_reserved(const char *key)
{
	return strncmp(key, JOURNAL_SAVED_PREFIX, strlen(JOURNAL_SAVED_PREFIX)) == 0;
}

VFG_EXPORT int vfg_txn_state_set(vfg_txn *txn, const char *key, const char *value, vfg_error *err)
{
	if (state_key_reserved(key))
		return vfg_error_set(err, EINVAL, key, "labeler %s: state keys starting '%s' are the store's",
				     txn->labeler, JOURNAL_SAVED_PREFIX);
	return domain_journal_state(txn->hj, txn->dj, txn->labeler, key, value ? value : "", err);
}

VFG_EXPORT int vfg_txn_state_unset(vfg_txn *txn, const char *key, vfg_error *err)
{
	if (state_key_reserved(key))
		return vfg_error_set(err, EINVAL, key, "labeler %s: state keys starting '%s' are the store's",
				     txn->labeler, JOURNAL_SAVED_PREFIX);
	return domain_journal_state(txn->hj, txn->dj, txn->labeler, key, NULL, err);
}

VFG_EXPORT const char *vfg_txn_state_get(const vfg_txn *txn, const char *key)
{
	const journal_state *state = domain_journal_find_state(txn->dj, txn->labeler, key);
	return state ? state->value : NULL;
}

/*
 * state_holders() from the holders index; the first holder's journal loaded
 * for its value. 1 when the index was doubted (the journals in memory answer).
 */
static int indexed_state_holders(const host_journal *hj, const char *self, const char *labeler, const char *key,
				 size_t *holders, const char **value, vfg_error *err)
{
	char *line = host_holders_key(HOLDER_STATE, 0, labeler, key, 0);
	if (!line)
		return 1;
	holders_match first;
	bool readable = host_holders_count(hj->holders, line, self, holders, &first);
	free(line);
	/* "Some" rests on the first holder's journal still being the file recorded: loaded for its value, or vouched
	 * for. */
	if (!readable || (*holders && !value && !host_holders_vouch(hj, &first)))
		return host_journal_read_rest((host_journal *)hj, err) < 0 ? -1 : 1;
	if (!value || !*holders)
		return 0;
	domain_journal *other;
	int r = host_journal_load(hj, &first, &other, err);
	if (r != 0)
		return r;
	const journal_state *state = domain_journal_find_state(other, labeler, key);
	if (!state)
		return host_journal_read_rest((host_journal *)hj, err) < 0 ? -1 : 1;
	*value = state->value;
	return 0;
}

/*
 * The domains of @hj but @self (a name, NULL: none) that hold @key of
 * @labeler; the first one's value in *@value. A holder's journal that cannot
 * be loaded leaves *@value NULL and fails the command (hj->failed).
 */
static size_t state_holders(const host_journal *hj, const char *self, const char *labeler, const char *key,
			    const char **value)
{
	size_t holders = 0;
	if (value)
		*value = NULL;
	vfg_error failure = {0};
	if (hj->holders && indexed_state_holders(hj, self, labeler, key, &holders, value, &failure) <= 0)
		return holders;
	holders = 0;
	for (size_t i = 0; i < hj->n_domains; i++) {
		const domain_journal *other = hj->domains[i];
		bool is_self = self && strcmp(other->domain->name, self) == 0;
		const journal_state *state = is_self ? NULL : domain_journal_find_state(other, labeler, key);
		if (!state)
			continue;
		if (value && !holders)
			*value = state->value;
		holders++;
	}
	return holders;
}

VFG_EXPORT size_t vfg_txn_state_holders(const vfg_txn *txn, const char *key, const char **value)
{
	return state_holders(txn->hj, txn->dj->domain->name, txn->labeler, key, value);
}

VFG_EXPORT const char *vfg_env_state_get(const vfg_labeler_env *env, const vfg_domain *domain, const char *key)
{
	const txn_view *view = env->core;
	if (!view || !view->hj)
		return NULL;
	const domain_journal *dj = host_journal_find(view->hj, domain->name);
	const journal_state *state = dj ? domain_journal_find_state(dj, view->labeler, key) : NULL;
	return state ? state->value : NULL;
}

VFG_EXPORT size_t vfg_env_state_holders(const vfg_labeler_env *env, const vfg_domain *domain, const char *key,
					const char **value)
{
	const txn_view *view = env->core;
	if (!view || !view->hj) {
		if (value)
			*value = NULL;
		return 0;
	}
	/* A domain that never journaled anything has no file: every holder is another domain. */
	return state_holders(view->hj, domain->name, view->labeler, key, value);
}

void vfg_env_held_hostdevs(const vfg_labeler_env *env, const vfg_domain *domain, vfg_held_hostdevs *held)
{
	memset(held, 0, sizeof(*held));
	const txn_view *view = env->core;
	const domain_journal *dj = view && view->hj ? host_journal_find(view->hj, domain->name) : NULL;
	for (size_t i = 0; dj && i < dj->n_claims; i++) {
		const journal_claim *claim = &dj->claims[i];
		char held_name[VFG_HOSTDEV_NAME_MAX], named[VFG_HOSTDEV_NAME_MAX];
		journal_claim_name(claim, held_name);
		bool in_list = false;
		for (size_t j = 0; j < domain->n_hostdevs && !in_list; j++)
			in_list = strcmp(vfg_hostdev_name(&domain->hostdevs[j], named), held_name) == 0;
		if (in_list)
			continue;
		if (claim->backend != VFG_BACKEND_IOMMUFD) {
			held->legacy++; /* AUTO, from a journal that wrote none, counts as legacy: one copy more */
			continue;
		}
		held->iommufd++;
		held->iommufd_path += claim->access != VFG_ACCESS_FD;
	}
}

/* ---- Saved originals ---- */

/*
 * FNV-1a with 128 bits (offset basis and prime from the FNV reference,
 * http://www.isthe.com/chongo/tech/comp/fnv/): content-addressed names in one
 * domain's store, checked again when read back.
 */
static void store_hash(const void *content, size_t size, char hash[VFG_HASH_STRLEN])
{
	const unsigned __int128 prime = ((unsigned __int128)1 << 88) + 0x13b;
	unsigned __int128 h = ((unsigned __int128)0x6c62272e07bb0142ULL << 64) | 0x62b821756295c58dULL;
	const unsigned char *bytes = content;
	for (size_t i = 0; i < size; i++) {
		h ^= bytes[i];
		h *= prime;
	}
	snprintf(hash, VFG_HASH_STRLEN, "%016llx%016llx", (unsigned long long)(h >> 64), (unsigned long long)h);
}

static bool hash_ok(const char *hash)
{
	size_t n = strspn(hash, "0123456789abcdef");
	return n == VFG_HASH_STRLEN - 1 && !hash[n];
}

VFG_EXPORT int vfg_txn_save(vfg_txn *txn, const void *content, size_t size, char hash[VFG_HASH_STRLEN], vfg_error *err)
{
	char path[VFG_PATH_MAX], dir[VFG_PATH_MAX], key[VFG_HASH_STRLEN + 16];
	store_hash(content, size, hash);
	snprintf(key, sizeof(key), "%s%s", JOURNAL_SAVED_PREFIX, hash);
	if (domain_journal_find_state(txn->dj, txn->labeler, key))
		return 0; /* saved already, by this labeler for this domain */
	if (domain_journal_store_path(txn->dj, "", dir, sizeof(dir), err) < 0 ||
	    domain_journal_store_path(txn->dj, hash, path, sizeof(path), err) < 0)
		return -1;
	/* The copy is durable before the journal names it; one no entry names is swept at commit. */
	if ((vfg_fault("store.mkdir") || mkdir(dir, 0700) < 0) && errno != EEXIST)
		return vfg_error_set(err, errno, dir, "cannot make the store");
	int fd = vfg_state_open(dir, O_RDONLY, true, err);
	if (fd < 0)
		return fd == -ENOENT ? vfg_error_set(err, ENOENT, dir, "cannot open the store") : -1;
	close(fd);
	if (vfg_file_replace(path, content, size, err) < 0)
		return -1;
	char length[32];
	snprintf(length, sizeof(length), "%zu", size);
	return domain_journal_state(txn->hj, txn->dj, txn->labeler, key, length, err);
}

/*
 * The domain whose store holds the original of state entry @key for the
 * transaction's labeler: its own domain, else another one. A holder set's
 * original is saved by its first holder; a later holder reads it from there
 * to save its own copy, so that whichever holder is last still has it.
 */
static const domain_journal *store_holder(const vfg_txn *txn, const char *key)
{
	if (domain_journal_find_state(txn->dj, txn->labeler, key))
		return txn->dj;
	char *line = txn->hj->holders ? host_holders_key(HOLDER_STATE, 0, txn->labeler, key, 0) : NULL;
	holders_match match;
	size_t cursor = 0;
	domain_journal *other = NULL;
	bool listed = line && host_holders_next(txn->hj->holders, line, &cursor, &match) > 0;
	free(line);
	if (listed && txn_load(txn, &match, &other) == 0 && domain_journal_find_state(other, txn->labeler, key))
		return other;
	if (txn->failed)
		return NULL;
	if (txn->hj->holders && host_journal_read_rest(txn->hj, &((vfg_txn *)txn)->failure) < 0) {
		((vfg_txn *)txn)->failed = true;
		return NULL;
	}
	for (size_t i = 0; i < txn->hj->n_domains; i++)
		if (domain_journal_find_state(txn->hj->domains[i], txn->labeler, key))
			return txn->hj->domains[i];
	return NULL;
}

VFG_EXPORT int vfg_txn_saved(const vfg_txn *txn, const char *hash, char **content, size_t *size, vfg_error *err)
{
	char path[VFG_PATH_MAX], key[VFG_HASH_STRLEN + 16], check[VFG_HASH_STRLEN];
	if (!hash_ok(hash))
		return vfg_error_set(err, EINVAL, hash, "labeler %s: not a hash of the store", txn->labeler);
	snprintf(key, sizeof(key), "%s%s", JOURNAL_SAVED_PREFIX, hash);
	const domain_journal *holder = store_holder(txn, key);
	if (!holder && txn->failed) {
		*err = txn->failure;
		return -1;
	}
	if (!holder)
		return vfg_error_set(err, ENOENT, hash,
				     "labeler %s saved no original with this hash for domain %s or any other",
				     txn->labeler, txn->dj->domain->name);
	if (domain_journal_store_path(holder, hash, path, sizeof(path), err) < 0)
		return -1;
	int r = vfg_state_read_all(path, content, size, err);
	if (r == -ENOENT) /* vfg_state_read_all leaves a missing file to its caller to name */
		return vfg_error_set(err, ENOENT, path, "the store has lost the original the journal names");
	if (r < 0)
		return -1;
	store_hash(*content, *size, check);
	if (strcmp(check, hash) != 0) {
		free(*content);
		*content = NULL;
		return vfg_error_refuse(err, EBADMSG, path,
					"the saved original does not match its hash (%s): the store is damaged", check);
	}
	return 0;
}

VFG_EXPORT int vfg_txn_unsave(vfg_txn *txn, const char *hash, vfg_error *err)
{
	char key[VFG_HASH_STRLEN + 16];
	if (!hash_ok(hash))
		return vfg_error_set(err, EINVAL, hash, "labeler %s: not a hash of the store", txn->labeler);
	snprintf(key, sizeof(key), "%s%s", JOURNAL_SAVED_PREFIX, hash);
	/* The file goes at commit (store_sweep), once no entry names it. */
	return domain_journal_state(txn->hj, txn->dj, txn->labeler, key, NULL, err);
}

vfg_labeler_env txn_view_env(const vfg_context *ctx, txn_view *view, const host_journal *hj, const char *labeler)
{
	*view = (txn_view){.hj = hj, .labeler = labeler, .root_fd = ctx->root_fd};
	vfg_labeler_env env = ctx->env;
	env.core = view;
	return env;
}
