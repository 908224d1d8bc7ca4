/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_JOURNAL_H
#define VFGUARD_CORE_JOURNAL_H

/*
 * The host journal: one append-only file per domain that holds anything,
 * STATE/domains/NAME.journal, one line per event, each made durable (fdatasync)
 * before the next step. Replaying a file gives what the domain holds now (the
 * IOMMU groups it claimed, the undo records of every change still in place)
 * and whether a transaction was left unfinished by a crash. A commit rewrites
 * the file to just that state (or removes it when the domain holds nothing),
 * so files stay short. docs/journal.md describes the format.
 *
 * Every reader and writer holds STATE/lock (flock): exclusive for a
 * transaction, shared for status. The lock dies with its holder, so an
 * unfinished transaction seen under the exclusive lock belongs to a process
 * that is gone.
 */

#include "internal.h"

typedef enum journal_op {
	JOURNAL_OP_NONE = 0,
	JOURNAL_OP_APPLY,
	JOURNAL_OP_REVOKE,
} journal_op;

/* One change a labeler made (or was about to make) and how to undo it. */
typedef struct journal_record {
	unsigned long id;
	unsigned long txn; /* the transaction that made it */
	char labeler[64];
	vfg_node node; /* kind, path, rdev and shared; the rest is not journaled */
	char *undo;
	bool done; /* the change was made; a record not done may or may not have been */
	/* node.kind VFG_NODE_DOMAIN: a change of the domain, not of a device node: node.path is its subject. */
} journal_record;

/* A side state entry of a labeler (labeler.h: vfg_txn_state_set). */
typedef struct journal_state {
	unsigned long txn; /* the transaction that first set it */
	char labeler[64];
	char *key;
	char *value;
} journal_state;

/* The key of the state entry that holds a saved original in the store (vfg_txn_save). */
#define JOURNAL_SAVED_PREFIX "saved:"

/* An IOMMU group a domain owns, through one of its hostdevs. */
typedef struct journal_claim {
	unsigned long txn;
	vfg_pci_addr addr;
	unsigned group;
	vfg_backend backend;
	vfg_access access;
	bool managed; /* apply detached it to vfio-pci; revoke reattaches it */
} journal_claim;

typedef struct domain_journal {
	char path[VFG_PATH_MAX];
	int fd; /* open for appending, -1 until the first write */
	vfg_domain domain; /* as the latest transaction gave it; hostdevs is NULL */
	unsigned long last_txn;
	unsigned long last_id;
	unsigned long open_txn; /* begun and not committed, 0 when none */
	journal_op open_op;
	size_t n_records;
	journal_record *records; /* in id order: the order the changes were made */
	size_t n_claims;
	journal_claim *claims;
	size_t n_states;
	journal_state *states;
	unsigned version; /* of the file as read: 1 or 2; 2 for a new one */
} domain_journal;

/* One labeler's scratch block for the hold of the lock (labeler.h: vfg_env_scratch; core/scratch.c). */
typedef struct labeler_scratch {
	char labeler[64];
	void *block;
	void (*release)(void *block);
} labeler_scratch;

typedef struct host_journal {
	const vfg_context *ctx;
	int lock_fd;
	char directory[VFG_PATH_MAX]; /* STATE/domains */
	size_t n_domains;
	domain_journal **domains;
	size_t n_scratch;
	labeler_scratch *scratch; /* the labelers' scratch, released at host_journal_close */
#ifdef VFG_TEST_FAULTS
	unsigned long fault_points; /* the journal points passed, for host_journal_fault_point */
#endif
} host_journal;

/* Take the host lock and read every domain's journal. */
int host_journal_open(const vfg_context *ctx, bool exclusive, host_journal *hj, vfg_error *err);
void host_journal_close(host_journal *hj);
/* Release and free the labelers' scratch blocks (core/scratch.c): the hold of the lock ends. */
void host_journal_scratch_release(host_journal *hj);

domain_journal *host_journal_find(const host_journal *hj, const char *name);
/* The domain's journal, made (in memory; the file comes with the first write) when it has none. */
domain_journal *host_journal_get(host_journal *hj, const vfg_domain *domain, vfg_error *err);

/*
 * A point where a crash test may kill the process: after every durable write,
 * and after every change. Only a test build (meson -Dtest_faults=true) has
 * it, in tests/faults/journal_fault_point.c; the shipped library compiles
 * every call away.
 */
#ifdef VFG_TEST_FAULTS
void host_journal_fault_point(host_journal *hj);
#else
static inline void host_journal_fault_point(host_journal *hj)
{
	(void)hj;
}
#endif

int domain_journal_begin(host_journal *hj, domain_journal *dj, journal_op op, const vfg_domain *domain, vfg_error *err);
int domain_journal_claim(host_journal *hj, domain_journal *dj, const journal_claim *claim, vfg_error *err);
int domain_journal_release(host_journal *hj, domain_journal *dj, const vfg_pci_addr *addr, vfg_error *err);
/* Append an intent; fills record->id and record->txn and keeps a copy. */
int domain_journal_intent(host_journal *hj, domain_journal *dj, journal_record *record, vfg_error *err);
int domain_journal_done(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err);
/* The change of record @id was undone: the record is dropped. */
int domain_journal_undone(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err);
/* End the open transaction; rewrite the file to the domain's state, or remove it when nothing is held. */
int domain_journal_commit(host_journal *hj, domain_journal *dj, vfg_error *err);
/*
 * A committed journal that holds nothing, left by a crash between its commit
 * line and the removal that follows: remove it and its store, as that commit
 * would have. Any other journal is left as it is.
 */
int domain_journal_remove_empty(host_journal *hj, domain_journal *dj, vfg_error *err);

/* Set (or replace) a side state entry, or with @value NULL unset it; durable on return. */
int domain_journal_state(host_journal *hj, domain_journal *dj, const char *labeler, const char *key, const char *value,
			 vfg_error *err);
/* Unset every entry first set in the open transaction: what an undone apply leaves. */
int domain_journal_drop_txn_states(host_journal *hj, domain_journal *dj, vfg_error *err);
journal_state *domain_journal_find_state(const domain_journal *dj, const char *labeler, const char *key);
/* STATE/domains/NAME.store/@hash: where a saved original of the domain lives. */
int domain_journal_store_path(const domain_journal *dj, const char *hash, char *buf, size_t size, vfg_error *err);

journal_record *domain_journal_find_record(const domain_journal *dj, const char *labeler, const char *path);
journal_claim *domain_journal_find_claim(const domain_journal *dj, const vfg_pci_addr *addr);
/* The domain's claim on any function of IOMMU group @group, NULL when none. */
const journal_claim *domain_journal_find_group_claim(const domain_journal *dj, unsigned group);
/* A claim on IOMMU group @group by a domain other than @name (that domain in *@holder), NULL when none. */
const journal_claim *host_journal_group_holder(const host_journal *hj, const char *name, unsigned group,
					       const domain_journal **holder);

const char *journal_op_name(journal_op op);

/* What a labeler's grant or revoke works in (labeler.h): one domain's open transaction. */
struct vfg_txn {
	host_journal *hj;
	domain_journal *dj;
	const char *labeler; /* the labeler being called */
	unsigned long pending_id; /* the intent grant wrote and has not marked done, 0 when none */
	char *notes; /* lines for the user, '\n'-separated; NULL when none */
};

/* What plan, probe and audit read side state through (vfg_labeler_env.core): the journal as the call began. */
typedef struct txn_view {
	const host_journal *hj; /* NULL: nothing journaled */
	const char *labeler;
	int root_fd; /* the context's root prefix, held open for vfg_node_open (node.c: vfg_env_root_fd) */
} txn_view;

/* @ctx's environment for calling @labeler, reading side state from @view. */
vfg_labeler_env txn_view_env(const vfg_context *ctx, txn_view *view, const host_journal *hj, const char *labeler);

#endif
