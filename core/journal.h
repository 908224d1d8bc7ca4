/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_CORE_JOURNAL_H
#define VFGUARD_CORE_JOURNAL_H

/*
 * The host journal: one append-only file per domain that holds anything,
 * STATE/domains/NAME.journal, one line per event. What a change depends on
 * (its intent, the side state it needs) is durable (fdatasync) before the
 * change is made: one line at a time, or a whole pass of intents with one
 * sync (domain_journal_sync). Replaying a file gives what the domain holds
 * now (the IOMMU groups it claimed, the undo records of every change still
 * in place) and whether a transaction was left unfinished by a crash. A
 * commit rewrites the file to just that state (or removes it when the domain
 * holds nothing), so files stay short. docs/journal.md describes the format
 * and the durability rule.
 *
 * Every reader and writer holds STATE/lock (flock): exclusive for a
 * transaction, shared for status. The lock dies with its holder, so an
 * unfinished transaction seen under the exclusive lock belongs to a process
 * that is gone.
 */

#include "internal.h"
#include "journal_index.h"

typedef enum journal_op {
	JOURNAL_OP_NONE = 0,
	JOURNAL_OP_APPLY,
	JOURNAL_OP_REVOKE,
} journal_op;

/* A record's node as the journal keeps it; journal_record_node() makes the vfg_node a labeler is called with. */
typedef struct journal_node {
	vfg_node_kind kind; /* VFG_NODE_DOMAIN: a change of the domain, not of a device node: path is its subject */
	const char *path; /* in the record's own allocation */
	dev_t rdev;
	bool shared;
} journal_node;

/* One change a labeler made (or was about to make) and how to undo it; one allocation with its strings. */
typedef struct journal_record {
	unsigned long id;
	unsigned long txn; /* the transaction that made it */
	char labeler[64];
	journal_node node;
	const char *undo;
	bool done; /* the change was made; a record not done may or may not have been */
	unsigned long takeback; /* the apply that is to take it back (an access switch's), 0: none */
} journal_record;

/* The vfg_node of @record, for its labeler's revoke: kind, path, rdev and shared; the rest is not journaled. */
void journal_record_node(const journal_record *record, vfg_node *node);

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
	vfg_pci_addr addr; /* zero for an mdev */
	char mdev[VFG_UUID_STRLEN]; /* an mdev's UUID, "" for a PCI function: the line names "mdev:UUID" */
	unsigned group;
	vfg_backend backend;
	vfg_access access;
	bool managed; /* apply detached it to vfio-pci; revoke reattaches it */
	char driver[VFG_DRIVER_MAX]; /* managed: the vfio driver it was bound to, "" for vfio-pci */
} journal_claim;

/*
 * A hostdev an open revoke --hostdev takes back ("begin TXN revoke
 * HOSTDEV[=MAJ:MIN]..."): its name as a claim names it, and its cdev's
 * number (0 when it has none), which tells its cdev's records from another's.
 */
typedef struct journal_unplug {
	char name[VFG_HOSTDEV_NAME_MAX];
	dev_t cdev;
} journal_unplug;

typedef struct domain_journal {
	int fd; /* open for appending, -1 until the first write */
	unsigned long last_txn;
	unsigned long last_id;
	unsigned long open_txn; /* begun and not committed, 0 when none */
	journal_op open_op;
	/* The open apply is past its forward line: restore takes back what it marked and commits, never undoes it. */
	bool forward;
	bool takebacks; /* some record's takeback is set: cleared, all of them, when the transaction ends */
	/* The open revoke takes back only these hostdevs (a hot-unplug); none: the whole domain. */
	journal_unplug *unplug;
	size_t n_unplug;
	size_t n_records, records_capacity;
	journal_record **records; /* in id order: the order the changes were made */
	/* Read for another domain's command (journal_read.c): its exclusive nodes' records, counted and not kept. */
	bool summary;
	size_t skipped_records;
	journal_index records_by_node; /* labeler and path */
	journal_index records_by_id;
	size_t n_claims, claims_capacity;
	journal_claim *claims;
	journal_index claims_by_name; /* address or UUID: each item is its claim's position in @claims + 1 */
	/*
	 * The claims the open transaction released that an earlier one made
	 * (an apply that switches a hostdev's access or backend claims it
	 * anew): its rollback puts them back (undo.c, rollback_now).
	 */
	size_t n_released, released_capacity;
	journal_claim *released;
	size_t n_states, states_capacity;
	journal_state **states;
	journal_index states_by_key; /* labeler and key */
	unsigned version; /* of the file as read: 1 or 2; 2 for a new one */
	struct {
		dev_t dev;
		ino_t ino; /* 0: not read from a file */
		off_t size;
		struct timespec mtime, ctime;
	} file; /* as read: what journal_cache compares */
	bool touched; /* this process wrote, replaced or removed the file */

	/*
	 * Writing (docs/journal.md, "Durability"). Lines go to @out and from
	 * there to the file in one write(). An intent or a state line is
	 * written and made durable before its call returns, unless @batch
	 * says the core makes a whole pass durable at once
	 * (domain_journal_sync). Batched lines, done and undone marks wait in
	 * @out until a sync, the commit or a line written at once takes them,
	 * or @out holds 64 KiB: they are never synced on their own.
	 */
	char *out;
	size_t out_used, out_size;
	bool batch;
	bool unsynced; /* bytes written since the last fdatasync */
	bool name_unsynced; /* made in this run: its directory entry is not durable yet */
	bool fresh; /* made in this transaction: with few stale lines, commit needs no rewrite */
	bool commit_written; /* the open transaction's commit line is written: it is committed, whatever fails after */
	size_t stale_lines; /* lines of this transaction a rewrite would leave out */

	/*
	 * The domain as the latest transaction gave it (hostdevs NULL), kept at
	 * its size: the attributes it has, not VFG_DOMAIN_ATTRS_MAX (a host of
	 * a thousand domains reads a thousand). Read its fields; copy it whole
	 * only with journal_domain_copy; replace it with domain_journal_set_domain.
	 */
	vfg_domain *domain;
	char path[]; /* the file */
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
	dev_t lock_dev; /* the lock file, and the generation it held when taken (journal_cache.c) */
	ino_t lock_ino;
	uint64_t generation;
	bool generation_raised; /* this lock's first write raised it */
	bool exclusive;
	/*
	 * The holders index (journal_holders.c) this hold answers other domains'
	 * holdings from, only the subject's journal and the holders it loaded in
	 * memory; NULL: every journal is (read_all_journals).
	 */
	struct host_holders *holders;
	bool holders_valid; /* STATE/holders was valid when the lock was taken */
	/* The subject's lines as hj->holders listed them at the lock (journal_holders.c), for its rewrite. */
	struct holders_subject *holders_subject;
	/* A journal loaded on demand (host_journal_load) failed to read: the command fails with it. */
	bool failed;
	vfg_error failure;
	char directory[VFG_PATH_MAX]; /* STATE/domains */
	size_t n_domains, domains_capacity;
	domain_journal **domains;
	size_t n_scratch;
	labeler_scratch *scratch; /* the labelers' scratch, released at host_journal_close */
#ifdef VFG_TEST_FAULTS
	unsigned long fault_points; /* the journal points passed, for host_journal_fault_point */
#endif
} host_journal;

/* Take the host lock and read every domain's journal whole. */
int host_journal_open(const vfg_context *ctx, bool exclusive, host_journal *hj, vfg_error *err);
/*
 * The same for a command of domain @subject: its journal is read whole,
 * every other one for what the command uses of it (journal_read.c:
 * summary_allowed), which host_journal_complete() makes whole when needed.
 */
int host_journal_open_for(const vfg_context *ctx, bool exclusive, const char *subject, host_journal *hj,
			  vfg_error *err);
int host_journal_complete(host_journal *hj, domain_journal *dj, vfg_error *err);
/*
 * flock @fd (the host lock at @path), waiting at most the config key
 * lock_timeout (seconds; 0: as long as it takes); a lock still held then is
 * an error naming the process that holds it (core/lock.c).
 */
int host_lock_take(const vfg_context *ctx, int fd, const char *path, bool exclusive, vfg_error *err);
void host_journal_close(host_journal *hj);
/* Release and free the labelers' scratch blocks (core/scratch.c): the hold of the lock ends. */
void host_journal_scratch_release(host_journal *hj);

domain_journal *host_journal_find(const host_journal *hj, const char *name);
/* The domain's journal, made (in memory; the file comes with the first write) when it has none. */
domain_journal *host_journal_get(host_journal *hj, const vfg_domain *domain, vfg_error *err);

/*
 * A point where a crash test may kill the process: after every write to a
 * journal file, and after every change. Only a test build (meson -Dtest_faults=true) has
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

/* Begin a transaction; a revoke's begin is durable on return, since undoing starts right after it. */
int domain_journal_begin(host_journal *hj, domain_journal *dj, journal_op op, const vfg_domain *domain, vfg_error *err);
/*
 * Begin a revoke of @n hostdevs of @dj's only (revoke --hostdev): the begin
 * line names them, so a crash part-way is finished by taking back those
 * hostdevs, not the whole domain. Durable on return.
 */
int domain_journal_begin_unplug(host_journal *hj, domain_journal *dj, const journal_unplug *unplug, size_t n,
				vfg_error *err);
/*
 * Journal a claim: written with the next line or domain_journal_write (the
 * claims of an apply go in one write), durable with the next sync, before
 * the first change. A release waits in the buffer like a done mark.
 */
int domain_journal_claim(domain_journal *dj, const journal_claim *claim, vfg_error *err);
int domain_journal_release(host_journal *hj, domain_journal *dj, const char *hostdev, vfg_error *err);
/*
 * Append an intent for @labeler's change of @node with @undo; the new record
 * in *@made. Durable on return, unless the journal batches (domain_journal_batch).
 */
int domain_journal_intent(host_journal *hj, domain_journal *dj, const char *labeler, const vfg_node *node,
			  const char *undo, journal_record **made, vfg_error *err);
/* The change of record @id is made. No sync of its own: a record not marked is undone all the same. */
int domain_journal_done(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err);
/* The change of record @id was undone: the record is dropped. No sync of its own either. */
int domain_journal_undone(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err);
/*
 * An access switch (docs/journal.md, `takeback` and `forward`): the open
 * apply is to take back record @id, an earlier apply's grant, once all its
 * own grants are made. Buffered like a done mark: nothing is taken back
 * before domain_journal_forward has written it.
 */
int domain_journal_takeback(host_journal *hj, domain_journal *dj, unsigned long id, vfg_error *err);
/*
 * Every grant of the open apply is made: from this line on (written, with
 * every line before it), its takebacks are carried out, and restore
 * finishes a crashed one forward instead of undoing it.
 */
int domain_journal_forward(host_journal *hj, domain_journal *dj, vfg_error *err);
/* The open transaction ends: no record is marked for a takeback any more. */
void domain_journal_end_takebacks(domain_journal *dj);
/*
 * Batching: while on, intents and side state lines are not synced one by
 * one; the caller makes them durable with one domain_journal_sync before
 * the first change that depends on them (the core's intent pass), or leaves
 * them to the commit (undoing: what an undo journals is done again when it
 * is lost). Returns the previous setting.
 */
bool domain_journal_batch(domain_journal *dj, bool on);
/* Write the lines waiting in the buffer, if any (every function above but claim writes its line). */
int domain_journal_write(host_journal *hj, domain_journal *dj, vfg_error *err);
/* Make what is written durable, the file's directory entry too when this run made the file. */
int domain_journal_sync(host_journal *hj, domain_journal *dj, vfg_error *err);
/*
 * End the open transaction, durably: rewrite the file to the domain's state,
 * or remove it when nothing is held, or, when this transaction made the file
 * and nothing in it is stale, keep it as written.
 */
int domain_journal_commit(host_journal *hj, domain_journal *dj, vfg_error *err);
/*
 * A committed journal that holds nothing, left by a crash between its commit
 * line and the removal that follows: remove it and its store, as that commit
 * would have. Any other journal is left as it is.
 */
int domain_journal_remove_empty(host_journal *hj, domain_journal *dj, vfg_error *err);

/* Set (or replace) a side state entry, or with @value NULL unset it; durable on return unless batching. */
int domain_journal_state(host_journal *hj, domain_journal *dj, const char *labeler, const char *key, const char *value,
			 vfg_error *err);
/* Unset every entry first set in the open transaction: what an undone apply leaves. */
int domain_journal_drop_txn_states(host_journal *hj, domain_journal *dj, vfg_error *err);
journal_state *domain_journal_find_state(const domain_journal *dj, const char *labeler, const char *key);
/* STATE/domains/NAME.store/@hash: where a saved original of the domain lives. */
int domain_journal_store_path(const domain_journal *dj, const char *hash, char *buf, size_t size, vfg_error *err);

journal_record *domain_journal_find_record(const domain_journal *dj, const char *labeler, const char *path);
journal_record *domain_journal_find_record_id(const domain_journal *dj, unsigned long id);
journal_claim *domain_journal_find_claim(const domain_journal *dj, const char *hostdev);
/* The claim's hostdev as vfg_hostdev_name names it: "BDF" or "mdev:UUID" (VFG_HOSTDEV_NAME_MAX). */
char *journal_claim_name(const journal_claim *claim, char *buf);
/* "BDF" or "mdev:UUID" as a claim's address and UUID; -1 when it is neither. */
int journal_claim_name_parse(const char *text, journal_claim *claim);
/* The domain's claim on any function of IOMMU group @group, NULL when none. */
const journal_claim *domain_journal_find_group_claim(const domain_journal *dj, unsigned group);
/*
 * A claim on IOMMU group @group by a domain other than @name in *@claim (that
 * domain in *@holder), NULL when none: 0, or -1 when the holder's journal
 * could not be read.
 */
int host_journal_group_holder(const host_journal *hj, const char *name, unsigned group, const journal_claim **claim,
			      const domain_journal **holder, vfg_error *err);

const char *journal_op_name(journal_op op);

/*
 * boot.c: the boot the state directory is of (STATE/boot). Under the
 * exclusive lock, before anything else: when STATE/boot names another boot
 * than the running one, release every domain the journal holds
 * (boot_release_domain; @hj is read again whole when it was read for
 * @subject), then call each labeler's boot_sweep, then write the running
 * boot's id. @sweep: call the sweeps in the same boot too (restore). A root
 * prefix without a boot id file: nothing is done.
 */
/*
 * For the commands that take the lock shared and change nothing (audit, the
 * fd broker): fails, naming STATE/boot and @command, when the state is of an
 * earlier boot, which only an exclusive command may release (host_boot_check).
 */
int host_boot_current(const vfg_context *ctx, const char *command, vfg_error *err);
/*
 * For status: 1 when the state is of an earlier boot, its id in @made and
 * the running one's in @now; 0 when it is this boot's or boots are not told
 * apart; -1 with @err.
 */
int host_boot_earlier(const vfg_context *ctx, char made[VFG_BOOT_ID_STRLEN], char now[VFG_BOOT_ID_STRLEN],
		      vfg_error *err);
int host_boot_check(vfg_context *ctx, host_journal *hj, const char *subject, bool sweep, vfg_change_summary *summary,
		    vfg_error *err);
/* Each labeler's boot_sweep with the running boot's id, recorded and noted in @summary. */
int host_boot_sweep(vfg_context *ctx, host_journal *hj, const char *boot_id, vfg_change_summary *summary,
		    vfg_error *err);
/*
 * undo.c: release everything @dj holds, as of a boot that is over: its
 * open transaction and every record (the labeler's boot_release, or revoke
 * when it has none), its claims without touching a driver (a managed
 * function's driver record is dropped: the boot's binding is the kernel's
 * own now), its side state and store; committed, the file removed.
 */
int boot_release_domain(vfg_context *ctx, host_journal *hj, domain_journal *dj, vfg_change_summary *summary,
			vfg_error *err);

/*
 * journal_cache.c: what one host lock's reads leave for the next lock of
 * the same context (vfg_context.journals), so a journal that did not change
 * in between is not read again.
 */
typedef struct journal_cache journal_cache;
/*
 * The context's inotify instance for host_lock_take() to wait for a close of
 * the lock file with (lock.c), made at its first call: -1 when there is none.
 */
int journal_cache_lock_closes(journal_cache *cache);
/* The lock is held: note its generation. */
void journal_cache_lock_taken(host_journal *hj);
/* Before this lock's first write to a journal file: raise the generation (once). */
int journal_cache_raise(host_journal *hj, vfg_error *err);
/* No journal changed since the cache was filled: every cached one may be taken as it is. */
bool journal_cache_unchanged(const host_journal *hj);
/* The cached journal of @path if its file is the one @st says, read whole if @whole; or NULL. */
domain_journal *journal_cache_take(const host_journal *hj, const char *path, const struct stat *st, bool whole);
/* Any cached journal, NULL when none is left. */
domain_journal *journal_cache_take_next(const host_journal *hj);
/* At the lock's release: the journals read and not written go to the cache, the others are freed. */
void journal_cache_keep(host_journal *hj);
/*
 * The holders index a lock mapped, kept for the next lock of the context
 * (an apply's prepare hold and its plan and apply hold read one file): taken, it is
 * used when the file is still the one mapped, else unmapped.
 */
struct host_holders *journal_cache_holders_take(const host_journal *hj);
/* At the lock's release, after journal_cache_keep: hj->holders to the cache (or freed), and hj->holders NULL. */
void journal_cache_holders_keep(host_journal *hj);

/*
 * journal_holders.c: STATE/holders, the host-wide index of what each domain
 * with a committed journal holds that another domain's command asks about
 * (docs/journal.md, "The holders index").
 */
typedef struct host_holders host_holders;
/* What a holders entry says a domain holds: an IOMMU group claim, a side state key, a record of a shared node. */
typedef enum holder_kind {
	HOLDER_CLAIM,
	HOLDER_STATE,
	HOLDER_RECORD,
} holder_kind;
/* A domain the index lists as holding a key: where its entry starts, its name and uid. */
typedef struct holders_match {
	size_t entry;
	char name[VFG_NAME_MAX + 1];
	uid_t uid;
} holders_match;
/* The line of a key (@group for a claim; @labeler, @name and, for a record, @rdev otherwise); free() it. */
char *host_holders_key(holder_kind kind, unsigned group, const char *labeler, const char *name, dev_t rdev);
/*
 * The next domain holding @key from *@cursor (0: the first), in the order of
 * the file: 1 with *@match, 0 when there is none; -1 when its domain line
 * does not parse (the file is doubted: read every journal instead).
 */
int host_holders_next(const host_holders *holders, const char *key, size_t *cursor, holders_match *match);
/*
 * How many domains but @self (NULL: none) the index lists as holding @key,
 * in *@count; the first of them in *@first. False when the first's domain
 * line does not parse (doubted, as above). Only the first is read: a caller
 * that acts on the others' being there vouches for the first
 * (host_holders_vouch()) or loads it (host_journal_load()).
 */
bool host_holders_count(const host_holders *holders, const char *key, const char *self, size_t *count,
			holders_match *first);
/*
 * The journal of @match (from hj->holders) is the file the index recorded
 * (one fstatat, no read): what the index says it holds, it holds. False
 * when it is not, or cannot be looked at: the index is doubted.
 */
bool host_holders_vouch(const host_journal *hj, const holders_match *match);
/*
 * Read STATE/holders and keep it in hj->holders when it is valid for this
 * hold (boot, generation, domains/ as recorded, @subject's journal as
 * recorded or absent when it lists none): true. False, with nothing kept,
 * when it is missing or doubted. The other journals it lists are checked
 * when they answer (host_journal_load(), host_holders_vouch()).
 */
bool host_holders_open(host_journal *hj, const char *subject);
/*
 * When every journal is read instead of the index: -1 (in @err) when a
 * journal the index lists was removed or cut behind vfguard's back since
 * the last command wrote it (journal_holders.c).
 */
int host_holders_check_journals(const host_journal *hj, vfg_error *err);
/*
 * The same against hj->holders, trusted when the lock was taken, when a
 * journal it lists was found not to be the file recorded (every journal is
 * then read instead): each listed journal that this hold did not write must
 * still be there, and no shorter. -1 (in @err) when one is not.
 */
int host_holders_check_listed(const host_journal *hj, vfg_error *err);
void host_holders_free(host_holders *holders);
/* @dj, just read, is the journal of @match as the index recorded it. */
bool host_holders_current(const host_holders *holders, const holders_match *match, const domain_journal *dj);
/*
 * Under the exclusive lock, at the end of the hold: write STATE/holders from
 * the journals in memory (and hj->holders for the domains that are not)
 * when a journal was written or the file was not valid, unless a
 * transaction is left open. Best effort: a file not written is one the next
 * reader does not trust.
 */
void host_holders_write(host_journal *hj);
typedef struct holders_subject holders_subject;
/*
 * Under the exclusive lock, once the subject's journal is read with the
 * index trusted: note the subject's lines as the index lists them, which
 * the rewrite at the end of the hold replaces with its lines then.
 */
void host_holders_note_subject(host_journal *hj, const char *subject);
/*
 * Before the first write of @dj's journal in this hold: its name goes into
 * the lock file's list of journals written since the index was sealed, so
 * that the check of the sealed index against the journals it lists
 * (host_holders_check_journals()) passes over it, and over no other, even
 * after a command that raised the generation died or failed before it
 * wrote the index anew. -1 (in @err) when it cannot be.
 */
int host_holders_note_written(host_journal *hj, const domain_journal *dj, vfg_error *err);
/*
 * Under the exclusive lock, once the subject's journal is read with the
 * index trusted: the first other holder of each thing the subject holds
 * with others (and of its shared nodes, the first of its uid), whose
 * journals its commands ask about, is looked at now, before any change.
 * One not the file recorded makes every journal read now (a journal cut
 * behind vfguard's back refused), so that a revoke is not stopped half way.
 */
int host_holders_vouch_subject(host_journal *hj, const char *subject, vfg_error *err);
void host_holders_subject_free(host_journal *hj);
/*
 * The journal of @match, read (for another domain's command) and added to
 * @hj on first use: 0 with *@dj; 1 when it is not what the index recorded,
 * and every journal is now read instead (hj->holders NULL: the caller asks
 * the journals in memory); -1 with hj->failed and @err when it cannot be read.
 */
int host_journal_load(const host_journal *hj, const holders_match *match, domain_journal **dj, vfg_error *err);
/* Read every journal not yet in memory, and answer from memory from now on (hj->holders NULL). */
int host_journal_read_rest(host_journal *hj, vfg_error *err);

/* Between journal_model.c (memory), journal.c (writing) and journal_read.c (reading back). */
/* 2: the domain line carries the labelers' attributes by name; state lines. 1 still reads. */
/*
 * The lock file: the generation, 20 decimal digits and a newline
 * (journal_cache.c); then the signature of the holders index its last
 * writer made and a newline; the signature of the one a writer is renaming
 * in and a newline; then the journals written since, a line each, "INO
 * FILE" with the inode of the index they were written after
 * (journal_holders.c).
 */
#define LOCK_GENERATION_SIZE 21
#define LOCK_SEAL_SIZE 103
#define LOCK_PENDING_AT (LOCK_GENERATION_SIZE + LOCK_SEAL_SIZE)
#define LOCK_WRITTEN_AT (LOCK_PENDING_AT + LOCK_SEAL_SIZE)

#define JOURNAL_MAGIC "vfguard-journal 2"
#define JOURNAL_MAGIC_V1 "vfguard-journal 1"
#define JOURNAL_SUFFIX ".journal"
#define JOURNAL_STORE_SUFFIX ".store"
domain_journal *domain_journal_new(const char *path);
/* Keep a copy of @domain (without its hostdevs) as @dj's, at its size. */
/*
 * Replace the domain @dj holds with @domain. The labelers the journal records
 * (VFG_DOMAIN_ATTR_LABELERS) stay when @domain names none: its grants are
 * still the ones those labelers made (a prepare's domain, read from options).
 */
int domain_journal_set_domain(domain_journal *dj, const vfg_domain *domain, vfg_error *err);
/*
 * Set VFG_DOMAIN_ATTR_LABELERS of @domain for an apply by @ctx: the labelers
 * @ctx loaded ('labelers', without the built-in ones), then those the journal
 * names from earlier applies, whose grants stay held.
 */
int journal_domain_record_labelers(const vfg_context *ctx, const domain_journal *dj, vfg_domain *domain,
				   vfg_error *err);
/* Is @name one of the comma-separated labeler names of @list? */
bool labeler_list_has(const char *list, const char *name);
/*
 * The first labeler @dj holds a record of that @ctx does not load, or NULL:
 * nothing here can undo that record (undo.c: labeler_missing).
 */
const char *domain_journal_labeler_not_loaded(const vfg_context *ctx, const domain_journal *dj);
/* @dj's domain as a whole vfg_domain, one that copies with '=' (what a labeler or a caller is given). */
void journal_domain_copy(const domain_journal *dj, vfg_domain *out);
void domain_journal_free(domain_journal *dj);
/* Keep a record with @fields' id, txn, labeler, kind, rdev, shared and done, and copies of @path and @undo. */
int domain_journal_keep_record(domain_journal *dj, const journal_record *fields, const char *path, const char *undo,
			       journal_record **kept, vfg_error *err);
void domain_journal_drop_record(domain_journal *dj, journal_record *record);
/* Add @record to @dj's indexes (0, or -ENOMEM with neither changed), or take it out. */
int domain_journal_index_record(domain_journal *dj, journal_record *record);
void domain_journal_unindex_record(domain_journal *dj, journal_record *record);
/* Keep @value for (@labeler, @key) in memory, first set by @txn; NULL drops it. *@replaced: it had one. */
int domain_journal_keep_state(domain_journal *dj, unsigned long txn, const char *labeler, const char *key,
			      const char *value, bool *replaced, vfg_error *err);
/* -1 (in @err) when there is no memory to keep what it was for the open transaction's rollback. */
int domain_journal_remove_claim(domain_journal *dj, const char *hostdev, vfg_error *err);
/* Every side state entry gone (the domain holds nothing); the ids renumbered (a rewrite): indexed again. */
void domain_journal_clear_states(domain_journal *dj);
int domain_journal_reindex_records(domain_journal *dj, vfg_error *err);
/* Keep @claim as the domain's newest, indexed (the room made first): 0, or -1 with @err. */
int domain_journal_claim_keep(domain_journal *dj, const journal_claim *claim, vfg_error *err);
/* The file name of domain @name's journal: NAME.journal, bytes beyond [A-Za-z0-9._-] as %XX. */
void journal_file_name(const char *name, char *buf, size_t size);
int host_journal_add(host_journal *hj, domain_journal *dj, vfg_error *err);

/*
 * Between journal_read.c (a journal's bytes, read and replayed) and
 * journal_parse.c (each of its lines, parsed into the domain_journal).
 */
/* A domain line: nine fields and one per attribute, each at least "a.b=c". */
#define JOURNAL_FIELDS_MAX (9 + VFG_DOMAIN_ATTRS_MAX / 6)

typedef struct journal_reader {
	const host_journal *hj;
	domain_journal *dj;
	unsigned line;
	char **fields; /* JOURNAL_FIELDS_MAX of them, for each line in turn */
	vfg_error *err;
} journal_reader;

/* An error at the reader's line: the journal is damaged (-1, with reader->err naming the file and the line). */
__attribute__((format(printf, 2, 3))) int journal_reader_error(const journal_reader *reader, const char *fmt, ...);
/* One line, its newline cut, split into reader->fields and applied to reader->dj: 0, or -1 with journal_reader_error().
 */
int journal_read_line(journal_reader *reader, char *line);

/* What a labeler's grant or revoke works in (labeler.h): one domain's open transaction. */
struct vfg_txn {
	host_journal *hj;
	domain_journal *dj;
	const char *labeler; /* the labeler being called */
	unsigned long pending_id; /* the intent grant wrote and has not marked done, 0 when none */
	char *notes; /* lines for the user, '\n'-separated; NULL when none */
	bool left_alone; /* revoke found the node gone or replaced (vfg_txn_unopened): nothing was put back */
	/* A failure inside a call that reports none (vfg_txn_shared_holders): the core fails the step with it. */
	bool failed;
	vfg_error failure;
};

/* The labeler's call returned @r: -1 with @txn's failure in @err when one came up inside it. */
int txn_result(const vfg_txn *txn, int r, vfg_error *err);

/* What plan, probe and audit read side state through (vfg_labeler_env.core): the journal as the call began. */
typedef struct txn_view {
	const host_journal *hj; /* NULL: nothing journaled */
	const char *labeler;
	int root_fd; /* the context's root prefix, held open for vfg_node_open (node.c: vfg_env_root_fd) */
	/* The plan's nodes and, per node, the fd enumeration checked it through, or -1 (node.c: vfg_env_take_kept). */
	const vfg_node *kept_nodes;
	int *kept_fds;
	size_t n_kept;
} txn_view;

/* @ctx's environment for calling @labeler, reading side state from @view. */
vfg_labeler_env txn_view_env(const vfg_context *ctx, txn_view *view, const host_journal *hj, const char *labeler);

/*
 * vfg_plan_build() in two (plan.c): what needs no lock (NULL on failure),
 * then what the labelers plan under the lock @hj holds, shared or
 * exclusive (vfg_domain_apply plans under the lock it applies under).
 */
vfg_plan *plan_start(vfg_context *ctx, const vfg_domain *domain, vfg_error *err);
int plan_under_lock(vfg_context *ctx, host_journal *hj, vfg_plan *plan, vfg_error *err);
/*
 * The nodes the hostdevs @dj holds outside @plan (an earlier apply added
 * them) open by path: a switch of this plan's hostdevs to fd access takes
 * back no path grant of theirs (plan.c: plan_leftover_grants; plan_held.c).
 */
typedef struct held_path_needs {
	bool container, iommu; /* a legacy, an iommufd hostdev with path access */
	unsigned *groups; /* the legacy ones' IOMMU groups, sorted */
	size_t n_groups;
} held_path_needs;
int held_path_needs_read(const domain_journal *dj, const vfg_plan *plan, held_path_needs *needs, vfg_error *err);
bool held_path_needs_node(const held_path_needs *needs, const vfg_node *node);
void held_path_needs_free(held_path_needs *needs);
/*
 * For a plan made apart from its apply (vfg_plan_build), under the shared
 * lock: which grant steps the domain holds (plan->held), the reasons of
 * those no longer in force, and what apply would refuse (plan_held.c).
 */
int plan_note_apply(const vfg_context *ctx, const host_journal *hj, vfg_plan *plan, vfg_error *err);
/* Close the fds enumeration kept (plan->node_fds), once nothing of this hold of the lock needs them. */
void plan_close_kept(vfg_plan *plan);
/* @view hands labelers duplicates of the fds @plan's enumeration kept (node.c: vfg_env_dup_kept). */
void txn_view_keep(txn_view *view, const vfg_plan *plan);

/*
 * What apply refuses before anything is written, for @plan under the lock
 * @hj holds (apply.c): a group another domain holds, a group this domain
 * holds with another backend, other ids than the domain's grants are for,
 * an access switch that would take back a grant of a labeler not loaded.
 * 0, or -1 with @err (EBUSY for those) and the hostdev it names in @refused
 * ("" for the ids). vfg_plan_build keeps its refusal for the dry run.
 */
int plan_check_ownership(const host_journal *hj, const vfg_plan *plan, char refused[VFG_HOSTDEV_NAME_MAX],
			 vfg_error *err);
/* IOMMU group @group is no other domain's than @name's: 0, or -1 with @err (EBUSY) naming @hostdev and the holder. */
int ownership_group_free(const host_journal *hj, const char *name, const char *hostdev, unsigned group, vfg_error *err);
/*
 * @domain asks the uid and gid @dj holds its grants for, or @plan takes back
 * every record @dj holds (@plan NULL: none): 0, or -1 with @err (EBUSY).
 */
int ownership_ids_kept(const domain_journal *dj, const vfg_domain *domain, const vfg_plan *plan, vfg_error *err);
/*
 * Every record an access switch of @domain would take back (a hostdev @dj
 * holds with path access, asked with fd) is of a labeler that is loaded:
 * @plan's, or without a plan (prepare) @ctx's, counting any node record
 * then. 0, or -1 with @err (EBUSY) naming the hostdev, also in @refused.
 */
int ownership_switch_labelers_loaded(const vfg_context *ctx, const domain_journal *dj, const vfg_domain *domain,
				     const vfg_plan *plan, char refused[VFG_HOSTDEV_NAME_MAX], vfg_error *err);

/*
 * driver.c: the functions with a driver record (STATE/drivers/BDF) that no
 * domain's managed claim in @hj names: detached by hand, or one a revoke
 * could not give back to its driver. Each vfguard reattach gives back.
 */
typedef struct unheld_detach {
	char address[VFG_PCI_ADDR_STRLEN];
	char original[VFG_DRIVER_MAX]; /* "" for none */
} unheld_detach;
/* *@list (free() it) sorted by address, *@n of them: 0, or -1 with @err (a record that does not read). */
int driver_records_unheld(const vfg_context *ctx, const host_journal *hj, unheld_detach **list, size_t *n,
			  vfg_error *err);

#endif
