/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The transaction API labelers call (labeler.h), on top of the journal. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "journal.h"

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
				     txn->labeler, txn->dj->domain.name);
	journal_record record = {.node = *node, .undo = (char *)undo};
	snprintf(record.labeler, sizeof(record.labeler), "%s", txn->labeler);
	if (domain_journal_intent(txn->hj, txn->dj, &record, err) < 0)
		return -1;
	txn->pending_id = record.id;
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
	/* vfg_node_open()'s errnum: ENOENT, no node; EMEDIUMTYPE, another file; ELOOP or EXDEV, a symlink. */
	switch (why->errnum) {
	case ENOENT:
		vfg_txn_note(txn, "%s: %s: gone; nothing to restore", txn->labeler, why->subject);
		return 0;
	case EMEDIUMTYPE:
	case ELOOP:
	case EXDEV:
		vfg_txn_note(txn, "%s: %s; it is not the node vfguard changed, left alone", txn->labeler, why->message);
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

VFG_EXPORT void vfg_txn_shared_holders(const vfg_txn *txn, const vfg_node *node, vfg_shared_holders *holders)
{
	memset(holders, 0, sizeof(*holders));
	for (size_t i = 0; i < txn->hj->n_domains; i++) {
		const domain_journal *other = txn->hj->domains[i];
		if (other == txn->dj)
			continue;
		const journal_record *record = domain_journal_find_record(other, txn->labeler, node->path);
		if (!record || record->node.rdev != node->rdev)
			continue;
		holders->others++;
		if (other->domain.uid == txn->dj->domain.uid)
			holders->others_same_uid++;
		if (!holders->original)
			holders->original = record->undo;
	}
}
