/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The journal appended to its files: lines written when they are
 * journaled, durable when a change depends on them; commit and compaction;
 * the store. See journal.h for the model and docs/journal.md for the format
 * and the durability rule. The journal in memory is journal_model.c;
 * reading the files back, journal_read.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "journal.h"
#include "vfg_fault.h"

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

/* ---- Lines ---- */

/* " FIELD" at @used: one space, then the field as vfg_field_encode() writes it (docs/journal.md). */
static size_t field_encode(char *buf, size_t size, size_t used, const char *value)
{
	used = vfg_strlcat(buf, size, used, " ");
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

/* A variant driver is an eighth field, written only when there is one: a journal without one reads as before. */
static size_t format_claim(char *buf, size_t size, size_t used, unsigned long txn, const journal_claim *claim)
{
	char name[VFG_HOSTDEV_NAME_MAX];
	/* "claim TXN NAME GROUP BACKEND ACCESS MANAGED [DRIVER]" */
	used = vfg_strlcat(buf, size, used, "claim ");
	used = vfg_strlcat_number(buf, size, used, txn);
	used = vfg_strlcat(buf, size, used, " ");
	used = vfg_strlcat(buf, size, used, journal_claim_name(claim, name));
	used = vfg_strlcat(buf, size, used, " ");
	used = vfg_strlcat_number(buf, size, used, claim->group);
	used = vfg_strlcat(buf, size, used, " ");
	used = vfg_strlcat(buf, size, used, vfg_backend_name(claim->backend));
	used = vfg_strlcat(buf, size, used, " ");
	used = vfg_strlcat(buf, size, used, vfg_access_name(claim->access));
	used = vfg_strlcat(buf, size, used, claim->managed ? " 1" : " 0");
	if (claim->driver[0]) {
		used = vfg_strlcat(buf, size, used, " ");
		used = vfg_strlcat(buf, size, used, claim->driver);
	}
	return vfg_strlcat(buf, size, used, "\n");
}

static size_t format_intent(char *buf, size_t size, size_t used, unsigned long txn, unsigned long id,
			    const journal_record *record)
{
	used = vfg_strlcat(buf, size, used, "intent ");
	used = vfg_strlcat_number(buf, size, used, txn);
	used = vfg_strlcat(buf, size, used, " ");
	used = vfg_strlcat_number(buf, size, used, id);
	bool domain_scope = record->node.kind == VFG_NODE_DOMAIN;
	used = field_encode(buf, size, used, record->labeler);
	used = field_encode(buf, size, used, domain_scope ? "" : vfg_node_kind_name(record->node.kind));
	used = field_encode(buf, size, used, record->node.path);
	if (domain_scope) {
		used = vfg_strlcat(buf, size, used, " - 0");
	} else {
		used = vfg_strlcat(buf, size, used, " ");
		used = vfg_strlcat_number(buf, size, used, major(record->node.rdev));
		used = vfg_strlcat(buf, size, used, ":");
		used = vfg_strlcat_number(buf, size, used, minor(record->node.rdev));
		used = vfg_strlcat(buf, size, used, record->node.shared ? " 1" : " 0");
	}
	used = field_encode(buf, size, used, record->undo);
	return vfg_strlcat(buf, size, used, "\n");
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
	dj->fd = vfg_fault("journal.open")
			 ? -1
			 : open(dj->path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
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

/*
 * The first write of a file this run made failed with nothing written (a
 * full disk): the empty file goes, and the magic line leaves the buffer,
 * so that a failed apply leaves no journal behind and a later write starts
 * the file again (journal_file_open).
 */
static void journal_file_unmake(domain_journal *dj)
{
	struct stat st;
	if (!dj->fresh || fstat(dj->fd, &st) < 0 || st.st_size != 0 || dj->out_used < sizeof(JOURNAL_MAGIC) ||
	    memcmp(dj->out, JOURNAL_MAGIC "\n", sizeof(JOURNAL_MAGIC)) != 0)
		return;
	if (unlink(dj->path) < 0) /* no fault: taking back a file this run made, after a failure */
		return;
	vfg_closep(&dj->fd);
	dj->fd = -1;
	memmove(dj->out, dj->out + sizeof(JOURNAL_MAGIC), dj->out_used - sizeof(JOURNAL_MAGIC));
	dj->out_used -= sizeof(JOURNAL_MAGIC);
	dj->fresh = dj->name_unsynced = false;
}

/* The file is about to change: other processes' cached reads of it are stale from now on (journal_cache.c). */
static int journal_touch(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (!dj->touched && host_holders_note_written(hj, dj, err) < 0)
		return -1;
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
	if (vfg_fault("journal.write") || vfg_write_all(dj->fd, dj->out, dj->out_used) < 0) {
		int saved = errno;
		journal_file_unmake(dj);
		return vfg_error_set(err, saved, dj->path, "cannot write the journal");
	}
	dj->out_used = 0;
	dj->unsynced = true;
	host_journal_fault_point(hj);
	return 0;
}

int domain_journal_sync(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (domain_journal_write(hj, dj, err) < 0)
		return -1;
	if (dj->unsynced && (vfg_fault("journal.sync") || fdatasync(dj->fd) < 0))
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

/*
 * Lines no change waits for (a batch's intents, done and undone marks) stay
 * in the buffer until something needs them on the file (a sync, the commit,
 * a line written at once) or the buffer holds JOURNAL_OUT_FLUSH bytes: a
 * thousand hostdevs' intents go out in a few writes, not one each.
 */
#define JOURNAL_OUT_FLUSH (64 * 1024)

static int line_buffered(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (dj->out_used >= JOURNAL_OUT_FLUSH)
		return domain_journal_write(hj, dj, err);
	host_journal_fault_point(hj); /* a crash here loses the line: no change depends on it yet */
	return 0;
}

/* A line a change depends on: durable now, or with the batch it belongs to. */
static int line_needed(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	return dj->batch ? line_buffered(hj, dj, err) : domain_journal_sync(hj, dj, err);
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
	return domain_journal_reindex_records(dj, err);
}

/* A file written by an older vfguard becomes this version's before anything is appended to it. */
static int upgrade_file(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (dj->version == 2)
		return 0;
	return journal_rewrite(hj, dj, "cannot upgrade the journal", err);
}

/* "begin TXN OP[ HOSTDEV[=MAJ:MIN]...]\n" at @at. */
static size_t format_begin(char *buf, size_t size, unsigned long txn, journal_op op, const journal_unplug *unplug,
			   size_t n)
{
	size_t used = vfg_strlcatf(buf, size, 0, "begin %lu %s", txn, journal_op_name(op));
	for (size_t i = 0; i < n; i++) {
		char field[VFG_HOSTDEV_NAME_MAX + 32];
		if (unplug[i].cdev)
			snprintf(field, sizeof(field), "%s=%u:%u", unplug[i].name, major(unplug[i].cdev),
				 minor(unplug[i].cdev));
		else
			snprintf(field, sizeof(field), "%s", unplug[i].name);
		used = field_encode(buf, size, used, field);
	}
	return vfg_strlcatf(buf, size, used, "\n");
}

/* The hostdevs the open transaction takes back, kept for a recovery of this process's own failure. */
static int keep_unplug(domain_journal *dj, const journal_unplug *unplug, size_t n, vfg_error *err)
{
	free(dj->unplug);
	dj->unplug = NULL;
	dj->n_unplug = 0;
	if (n == 0)
		return 0;
	if (!(dj->unplug = calloc(n, sizeof(*unplug))))
		return vfg_error_set(err, ENOMEM, dj->path, "cannot begin the revoke");
	memcpy(dj->unplug, unplug, n * sizeof(*unplug));
	dj->n_unplug = n;
	return 0;
}

static int begin(host_journal *hj, domain_journal *dj, journal_op op, const vfg_domain *domain,
		 const journal_unplug *unplug, size_t n, vfg_error *err)
{
	if (dj->open_txn)
		return vfg_error_refuse(err, EBUSY, dj->domain->name, "a transaction is already open");
	if (upgrade_file(hj, dj, err) < 0)
		return -1;
	unsigned long txn = dj->last_txn + 1;
	if (domain) {
		if (domain_journal_set_domain(dj, domain, err) < 0)
			return -1;
	}
	dj->fresh = false; /* until the begin line's write makes the file (journal_file_open) */
	dj->stale_lines = 0;
	char *at = line_room(dj, err);
	if (!at || line_add(dj, format_begin(at, JOURNAL_LINE_MAX, txn, op, unplug, n), err) < 0 ||
	    keep_unplug(dj, unplug, n, err) < 0 || domain_journal_write(hj, dj, err) < 0)
		return -1;
	/* The begin line is written: the transaction is open, and a failure from here on closes it (apply.c). */
	dj->last_txn = txn;
	dj->open_txn = txn;
	dj->open_op = op;
	dj->forward = false;
	if (!(at = line_room(dj, err)) || line_add(dj, format_domain(at, JOURNAL_LINE_MAX, 0, dj->domain), err) < 0 ||
	    domain_journal_write(hj, dj, err) < 0)
		return -1;
	/*
	 * Undoing begins right after a revoke's begin: a crash of vfguard from
	 * then on finds the revoke to finish, since the lines are written. Not
	 * synced: a power loss is followed by a boot, whose first command
	 * releases every domain of the boot before whole, whatever its journal
	 * says was under way (docs/journal.md, "Durability").
	 */
	return 0;
}

int domain_journal_begin(host_journal *hj, domain_journal *dj, journal_op op, const vfg_domain *domain, vfg_error *err)
{
	return begin(hj, dj, op, domain, NULL, 0, err);
}

int domain_journal_begin_unplug(host_journal *hj, domain_journal *dj, const journal_unplug *unplug, size_t n,
				vfg_error *err)
{
	/* Each name with its cdev, %XX-escaped at worst, must fit the one begin line. */
	if (n > (JOURNAL_LINE_MAX - 64) / (3 * VFG_HOSTDEV_NAME_MAX + 24))
		return vfg_error_set(err, E2BIG, dj->domain->name,
				     "%zu hostdevs are more than one revoke --hostdev can name (at most %zu): "
				     "nothing was changed; name them in smaller sets",
				     n, (size_t)((JOURNAL_LINE_MAX - 64) / (3 * VFG_HOSTDEV_NAME_MAX + 24)));
	return begin(hj, dj, JOURNAL_OP_REVOKE, NULL, unplug, n, err);
}

int domain_journal_claim(domain_journal *dj, const journal_claim *claim, vfg_error *err)
{
	journal_claim kept = *claim;
	kept.txn = dj->open_txn;
	/* Written with the next line or domain_journal_write: a hostdev's claims in one write. */
	char *at = line_room(dj, err);
	if (!at || line_add(dj, format_claim(at, JOURNAL_LINE_MAX, 0, dj->open_txn, claim), err) < 0)
		return -1;
	if (domain_journal_claim_keep(dj, &kept, err) < 0) {
		dj->out_used = (size_t)(at - dj->out); /* not journaled after all */
		return -1;
	}
	return 0;
}

int domain_journal_release(host_journal *hj, domain_journal *dj, const char *hostdev, vfg_error *err)
{
	if (line_printf(dj, err, "release %lu %s\n", dj->open_txn, hostdev) < 0 || line_buffered(hj, dj, err) < 0)
		return -1;
	if (domain_journal_remove_claim(dj, hostdev, err) < 0)
		return -1;
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
	return line_needed(hj, dj, err);
}

int domain_journal_done(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err)
{
	journal_record *record = domain_journal_find_record_id(dj, id);
	if (!record)
		return vfg_error_set(err, ENOENT, dj->path, "no journal record %lu", id);
	host_journal_fault_point(hj); /* the change is made and not yet marked done */
	/* No sync of its own: a record whose mark is lost is undone anyway, and undo is idempotent. */
	if (line_printf(dj, err, "done %lu %lu\n", dj->open_txn, id) < 0 || line_buffered(hj, dj, err) < 0)
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
	if (line_printf(dj, err, "undone %lu %lu\n", dj->open_txn, id) < 0 || line_buffered(hj, dj, err) < 0)
		return -1;
	domain_journal_drop_record(dj, record);
	dj->stale_lines += 3; /* the intent, its done mark, and this one */
	return 0;
}

int domain_journal_takeback(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err)
{
	journal_record *record = domain_journal_find_record_id(dj, id);
	if (!record)
		return vfg_error_set(err, ENOENT, dj->path, "no journal record %lu", id);
	if (line_printf(dj, err, "takeback %lu %lu\n", dj->open_txn, id) < 0 || line_needed(hj, dj, err) < 0)
		return -1;
	record->takeback = dj->open_txn;
	dj->takebacks = true;
	dj->stale_lines++;
	return 0;
}

void domain_journal_end_takebacks(domain_journal *dj)
{
	for (size_t i = 0; dj->takebacks && i < dj->n_records; i++)
		dj->records[i]->takeback = 0;
	dj->takebacks = false;
	dj->forward = false;
}

int domain_journal_forward(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	/*
	 * Written, with the takeback lines before it, ahead of the first
	 * takeback: a crash of vfguard after one finds it. Not synced, as a
	 * revoke's begin is not (docs/journal.md, "Durability"): the boot after
	 * a power loss releases the domain whole, whatever the file says.
	 */
	if (line_printf(dj, err, "forward %lu\n", dj->open_txn) < 0 || domain_journal_write(hj, dj, err) < 0)
		return -1;
	dj->forward = true;
	dj->stale_lines++;
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
	return line_needed(hj, dj, err);
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
		format_domain(line, JOURNAL_LINE_MAX, 0, dj->domain);
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
		if ((vfg_fault("store.sweep_unlink") || unlinkat(dirfd(dir), entry->d_name, 0) < 0) && errno != ENOENT)
			return vfg_error_set(err, errno, entry->d_name, "cannot remove from the store %s", dir_path);
	}
	if (kept == 0 && (vfg_fault("store.sweep_rmdir") || rmdir(dir_path) < 0) && errno != ENOENT &&
	    errno != ENOTEMPTY)
		return vfg_error_set(err, errno, dir_path, "cannot remove the store");
	return vfg_fsync_parent(dir_path, err);
}

/* A domain that holds nothing keeps no side state either: the labelers' entries die with it, and the files. */
static int remove_empty(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	domain_journal_clear_states(dj);
	if (dj->fd >= 0) {
		close(dj->fd);
		dj->fd = -1;
	}
	if (journal_touch(hj, dj, err) < 0 || vfg_file_unlink(dj->path, err) < 0 || store_sweep(dj, err) < 0)
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
 * The commit line: a domain that holds nothing loses its file; a file this
 * transaction made is the domain's state already, give or take a few stale
 * lines (a value set again, a record undone), and is kept as written; any
 * other is rewritten to the state alone, which keeps files short, and
 * durably (a torn rewrite would be a damaged journal). Neither the removal
 * nor the commit line of a kept file is synced: a crash of vfguard finds
 * them written, and a power loss is followed by a boot that releases every
 * domain of the boot before whole, committed or not (docs/journal.md,
 * "Durability").
 */
int domain_journal_commit(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	/* The commit point: the write of the commit line. A failure before it leaves the transaction open. */
	dj->commit_written = false;
	size_t before = dj->out_used;
	if (line_printf(dj, err, "commit %lu\n", dj->open_txn) < 0)
		return -1;
	size_t length = dj->out_used - before;
	if (domain_journal_write(hj, dj, err) < 0) {
		/* Not written: the line leaves the buffer (it ends it), and the rollback's own commit follows its
		 * marks. */
		dj->out_used -= length <= dj->out_used ? length : 0;
		return -1;
	}
	dj->commit_written = true;
	/* No more stale lines than live ones: the file stays at most about twice its state. */
	size_t live = dj->n_claims + dj->n_states + 2 * dj->n_records;
	bool fresh = dj->fresh && dj->version == 2 && dj->stale_lines <= live;
	int r;
	if (dj->n_claims == 0 && dj->n_records == 0)
		r = domain_journal_write(hj, dj, err) < 0 ? -1 : remove_empty(hj, dj, err);
	else if (fresh)
		r = domain_journal_write(hj, dj, err) < 0 ? -1 : store_sweep(dj, err);
	else
		r = domain_journal_write(hj, dj, err) < 0 ||
				    journal_rewrite(hj, dj, "cannot compact the journal", err) < 0
			    ? -1
			    : store_sweep(dj, err);
	if (r < 0)
		return -1;
	dj->open_txn = 0;
	dj->open_op = JOURNAL_OP_NONE;
	domain_journal_end_takebacks(dj);
	dj->n_released = 0;
	keep_unplug(dj, NULL, 0, NULL);
	dj->fresh = false;
	dj->stale_lines = 0;
	return 0;
}
