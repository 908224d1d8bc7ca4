/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_RECORDS_H
#define VFGUARD_CORE_RECORDS_H

/*
 * The host records (docs/records.md): every change apply, revoke, prepare
 * and restore make or undo, every refusal and every command's outcome, told
 * to the host's log, so an admin reads what vfguard did to the host and when
 * (journalctl -t vfguard VFGUARD_DOMAIN=NAME). They are not vfguard's own
 * journal (journal.h), which undoes changes: they are for people, and
 * nothing reads them back.
 *
 * A command queues its records while it holds the host lock, and writes
 * them when it is done and the lock is released (host_records_finish): a
 * slow or stuck logger then never holds the lock nor stands between two
 * changes of one transaction. A record that cannot be written is counted
 * and said in the summary's notes, never an error: the records must never
 * make a command fail (a failing journald is no reason to leave the host
 * half changed, nor to undo what was done right).
 */

#include <stddef.h>

/* What happened; each kind has its MESSAGE_ID (records.c, docs/records.md). */
typedef enum record_kind {
	RECORD_GRANT, /* a labeler's change made */
	RECORD_REVOKE, /* a change undone by revoke, or by an apply that no longer needs it */
	RECORD_ROLLBACK, /* a change undone because its apply failed */
	RECORD_RESTORE, /* a change undone or finished because a crashed or failed run left its transaction open */
	RECORD_REFUSE, /* a change refused: nothing was changed */
	RECORD_DETACH, /* a managed hostdev bound to vfio-pci (prepare) */
	RECORD_REATTACH, /* a managed hostdev given back to its driver */
	RECORD_OUTCOME, /* how a command ended */
	RECORD_BOOT_RELEASE, /* a change of an earlier boot released (core/boot.c) */
} record_kind;

/* One record's subject; NULL fields are left out. */
typedef struct host_record {
	record_kind kind;
	const char *domain;
	const char *labeler;
	const char *node; /* a node's path, or a domain-scope labeler's subject */
	const char *device; /* a PCI function, DDDD:BB:DD.F */
	const char *result; /* NULL: "ok"; "failed", "refused", "left-alone" */
	const char *text; /* why: the reason, the error, the note */
	int errnum; /* of a failure, 0 when none */
} host_record;

/* What a context keeps for its records between a command's start and end (vfg_context.records). */
typedef struct host_records {
	const char *command; /* apply, revoke, restore, prepare; NULL: no command under way */
	record_kind undo_kind; /* what an undo is recorded as now: REVOKE, ROLLBACK, RESTORE or BOOT_RELEASE */
	unsigned long failed_record; /* the journal record of the grant that failed, 0: none (core/apply.c) */
	size_t refused; /* refusals recorded in this command */
	size_t n_queued, queue_capacity;
	struct queued_record *queue;
	size_t lost; /* records of this command that could not be queued */
} host_records;

struct vfg_context;
struct vfg_change_summary;
struct vfg_error;

/* A command starts: records queue from now on. */
void host_records_begin(struct vfg_context *ctx, const char *command);
/* Queue @record (no command under way: nothing). Never fails: a record that cannot be queued is counted lost. */
void host_records_add(struct vfg_context *ctx, const host_record *record);
/*
 * The command ends, with @r (its return), @err (read when @r < 0) and
 * @summary (may be NULL): its outcome record is queued, then every record
 * is written to the host's log as the config key records says. Records
 * that could not be written are told in @summary's notes. Call it with the
 * host lock released.
 */
void host_records_finish(struct vfg_context *ctx, const char *domain, int r, const struct vfg_error *err,
			 struct vfg_change_summary *summary);
/* Drop what is queued (vfg_context_free). */
void host_records_free(host_records *records);

/* The config key records: auto, journal, syslog or off. */
int host_records_mode_check(const char *value, struct vfg_error *err);

#endif
