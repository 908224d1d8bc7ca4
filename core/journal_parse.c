/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The lines of a domain's journal, parsed: each entry checked as only a
 * grant writes it (docs/journal.md) and applied to the domain_journal that
 * journal_read.c replays the file into; a line that is not one is damage,
 * refused with the line's number.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "journal.h"

__attribute__((format(printf, 2, 3))) int journal_reader_error(const journal_reader *reader, const char *fmt, ...)
{
	char message[VFG_ERROR_MESSAGE_MAX]; /* a path of up to VFG_PATH_MAX named whole */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	return vfg_error_set(
		reader->err, 0, reader->dj->path,
		"line %u: %s (the journal is damaged: fix it by hand; moved aside, what it granted would stay on "
		"the nodes with nothing to undo it)",
		reader->line, message);
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
		return journal_reader_error(reader, "domain line: %s", why.message);
	journal_file_name(name, file, sizeof(file));
	if (strcmp(base ? base + 1 : reader->dj->path, file) != 0)
		return journal_reader_error(reader, "domain line names domain '%s', whose journal is %s, not this file",
					    name, file);
	return 0;
}
/*
 * Version 1 kept four attributes by position (fields 5 to 8); the labeler
 * that declares an attribute with that journal_v1_field takes it. A field no
 * loaded labeler claims is kept as "journal_v1.fieldN", so that nothing is lost.
 */
static int read_domain_v1_attrs(journal_reader *reader, char **fields, vfg_domain *domain)
{
	const vfg_context *ctx = reader->hj->ctx;
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
			return journal_reader_error(reader, "domain line: %s", why.message);
	}
	return 0;
}

static int read_domain_fields(journal_reader *reader, char **fields, size_t count, vfg_domain *domain)
{
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
		return journal_reader_error(reader, "malformed domain line");
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
		return read_domain_v1_attrs(reader, fields, domain);
	for (size_t i = 9; i < count; i++) {
		char *eq = strchr(fields[i], '=');
		vfg_error why = {0};
		if (!eq)
			return journal_reader_error(reader, "domain line: attribute '%s' without '='", fields[i]);
		*eq = '\0';
		if (vfg_domain_attr_set(domain, fields[i], eq + 1, &why) < 0)
			return journal_reader_error(reader, "domain line: %s", why.message);
	}
	return 0;
}

static int read_domain(journal_reader *reader, char **fields, size_t count)
{
	vfg_domain domain = {0};
	if (read_domain_fields(reader, fields, count, &domain) < 0)
		return -1;
	return domain_journal_set_domain(reader->dj, &domain, reader->err);
}

static int read_claim(journal_reader *reader, char **fields, size_t count, unsigned long txn)
{
	journal_claim claim = {.txn = txn};
	unsigned long group;
	/* Seven fields, or eight with the variant driver a managed hostdev was bound to (format_claim). */
	if ((count != 7 && count != 8) || journal_claim_name_parse(fields[2], &claim) < 0 ||
	    !parse_ulong(fields[3], &group) || vfg_backend_parse(fields[4], &claim.backend, NULL) < 0 ||
	    vfg_access_parse(fields[5], &claim.access, NULL) < 0)
		return journal_reader_error(reader, "malformed claim");
	claim.group = (unsigned)group;
	claim.managed = strcmp(fields[6], "1") == 0;
	if (claim.mdev[0] && claim.managed)
		return journal_reader_error(reader, "malformed claim: a managed mdev");
	if (count == 8) {
		vfg_error why = {0};
		if (!claim.managed || vfg_driver_name_check(fields[7], &why) < 0)
			return journal_reader_error(reader, "malformed claim: driver '%.64s' %s", fields[7],
						    claim.managed ? why.message : "on a hostdev that is not managed");
		snprintf(claim.driver, sizeof(claim.driver), "%s", fields[7]);
	}
	return domain_journal_claim_keep(reader->dj, &claim, reader->err);
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

/* @prefix, then a decimal number without a leading zero: a group's node, a cdev's (vfioN). */
static bool digits_after(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(text, prefix, n) != 0 || !text[n] || (text[n] == '0' && text[n + 1]))
		return false;
	return strspn(text + n, "0123456789") == strlen(text + n);
}

/*
 * The path a node of each kind has, as the plan names it (plan.c): a record
 * that puts a kind at another path (a "group" record on /dev/mem, in a
 * security trial's hand-edited journal) was written by no grant.
 */
static bool kind_has_path(vfg_node_kind kind, const char *path)
{
	switch (kind) {
	case VFG_NODE_CONTAINER:
		return strcmp(path, "/dev/vfio/vfio") == 0;
	case VFG_NODE_IOMMUFD:
		return strcmp(path, "/dev/iommu") == 0;
	case VFG_NODE_GROUP:
		return digits_after(path, "/dev/vfio/");
	case VFG_NODE_CDEV:
		return digits_after(path, "/dev/vfio/devices/vfio");
	case VFG_NODE_DOMAIN:
		break;
	}
	return false;
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
			return journal_reader_error(reader, "intent of labeler '%s' for '%s' names no device node",
						    record->labeler, record->node.path);
		return journal_reader_error(reader,
					    "intent of labeler '%s' for '%s' names a device node: %s records name %s",
					    record->labeler, record->node.path, labeler->name,
					    labeler->subject ? labeler->subject : "no device node");
	}
	if (domain_scope ? !record->node.path[0] : !is_dev_path(record->node.path))
		return journal_reader_error(
			reader, "intent of labeler '%s' names '%s', which is not %s; refusing to act on it",
			record->labeler, record->node.path, domain_scope ? "a subject" : "a device node under /dev");
	if (!domain_scope && !kind_has_path(record->node.kind, record->node.path))
		return journal_reader_error(
			reader,
			"intent of labeler '%s' names '%s' as a %s node, which is never at that path (plan.c); "
			"refusing to act on it",
			record->labeler, record->node.path, vfg_node_kind_name(record->node.kind));
	return 0;
}

/* A revoke's begin line may name the hostdevs it takes back, "HOSTDEV[=MAJ:MIN]" each (docs/journal.md). */
static int read_unplug(journal_reader *reader, char **fields, size_t count)
{
	domain_journal *dj = reader->dj;
	free(dj->unplug);
	dj->unplug = NULL;
	dj->n_unplug = 0;
	if (count == 0)
		return 0;
	if (!(dj->unplug = calloc(count, sizeof(*dj->unplug))))
		return journal_reader_error(reader, "out of memory");
	for (size_t i = 0; i < count; i++) {
		journal_unplug *unplug = &dj->unplug[i];
		char *cdev = strchr(fields[i], '=');
		unsigned major_number = 0, minor_number = 0;
		char extra;
		journal_claim parsed = {0};
		if (cdev)
			*cdev++ = '\0';
		if (journal_claim_name_parse(fields[i], &parsed) < 0 ||
		    (cdev && sscanf(cdev, "%u:%u%c", &major_number, &minor_number, &extra) != 2))
			return journal_reader_error(reader, "malformed hostdev '%s' in a revoke's begin", fields[i]);
		journal_claim_name(&parsed, unplug->name);
		unplug->cdev = cdev ? makedev(major_number, minor_number) : 0;
		dj->n_unplug++;
	}
	return 0;
}

static int read_intent(journal_reader *reader, char **fields, size_t count, unsigned long txn)
{
	journal_record record = {.txn = txn};
	char path[VFG_PATH_MAX];
	unsigned major_number, minor_number;
	char extra;
	/* KIND and MAJ:MIN both "-" (read as ""): a change of the domain, not of a node (VFG_SCOPE_DOMAIN). */
	bool domain_scope = count == 9 && !fields[4][0] && !fields[6][0];
	if (domain_scope)
		record.node.kind = VFG_NODE_DOMAIN;
	if (count != 9 || !parse_ulong(fields[2], &record.id) || strlen(fields[3]) >= sizeof(record.labeler) ||
	    (!domain_scope && !parse_node_kind(fields[4], &record.node.kind)) || strlen(fields[5]) >= VFG_PATH_MAX ||
	    (!domain_scope && sscanf(fields[6], "%u:%u%c", &major_number, &minor_number, &extra) != 2))
		return journal_reader_error(reader, "malformed intent");
	/* A node's path and a subject are VFG_NODE_PATH_MAX: a longer one was never written by vfguard. */
	if (strlen(fields[5]) >= VFG_NODE_PATH_MAX)
		return journal_reader_error(reader,
					    "intent of labeler '%s' names '%s', longer than a node's path (%d bytes); "
					    "refusing to act on it",
					    fields[3], fields[5], VFG_NODE_PATH_MAX - 1);
	snprintf(record.labeler, sizeof(record.labeler), "%s", fields[3]);
	snprintf(path, sizeof(path), "%s", fields[5]);
	record.node.path = path;
	record.node.rdev = domain_scope ? 0 : makedev(major_number, minor_number);
	record.node.shared = strcmp(fields[7], "1") == 0;
	record.undo = fields[8];
	if (check_intent_path(reader, &record) < 0)
		return -1;
	if (domain_journal_find_record(reader->dj, record.labeler, path))
		return journal_reader_error(
			reader, "a second intent of labeler '%s' for '%s', which the domain holds a record for",
			record.labeler, path);
	if (domain_journal_find_record_id(reader->dj, record.id))
		return journal_reader_error(reader, "a second record %lu", record.id);
	if (record.id > reader->dj->last_id)
		reader->dj->last_id = record.id;
	return domain_journal_keep_record(reader->dj, &record, path, fields[8], NULL, reader->err);
}

static int read_state(journal_reader *reader, char **fields, size_t count, unsigned long txn)
{
	bool set = fields[0][0] == 's';
	if (reader->dj->version == 1 || count != (set ? 5u : 4u) || strlen(fields[2]) >= 64 || !fields[3][0])
		return journal_reader_error(reader, "malformed %s", fields[0]);
	return domain_journal_keep_state(reader->dj, txn, fields[2], fields[3], set ? fields[4] : NULL, NULL,
					 reader->err);
}

int journal_read_line(journal_reader *reader, char *line)
{
	char **fields = reader->fields;
	size_t count = 0;
	char *state = NULL;
	for (char *field = strtok_r(line, " ", &state); field; field = strtok_r(NULL, " ", &state)) {
		if (count == JOURNAL_FIELDS_MAX)
			return journal_reader_error(reader, "too many fields");
		if (vfg_field_decode(field) < 0)
			return journal_reader_error(reader, "malformed escape in '%s'", field);
		fields[count++] = field;
	}
	domain_journal *dj = reader->dj;
	unsigned long txn = 0, id = 0;
	if (count == 0)
		return journal_reader_error(reader, "empty line");
	static const char *const entries[] = {"domain", "begin",  "commit", "claim",   "release",  "intent",
					      "done",   "undone", "state",  "unstate", "takeback", "forward"};
	bool known = false;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]) && !known; i++)
		known = strcmp(fields[0], entries[i]) == 0;
	if (!known)
		return journal_reader_error(reader, "unknown entry '%s'", fields[0]);
	if (strcmp(fields[0], "domain") == 0)
		return read_domain(reader, fields, count);
	if (count < 2 || !parse_ulong(fields[1], &txn))
		return journal_reader_error(reader, "'%s' without a transaction number", fields[0]);
	if (strcmp(fields[0], "begin") == 0) {
		bool revoke = count >= 3 && strcmp(fields[2], "revoke") == 0;
		if (count < 3 || (count > 3 && !revoke) || dj->open_txn)
			return journal_reader_error(reader, "malformed begin, or begin inside an open transaction");
		if (read_unplug(reader, fields + 3, count - 3) < 0)
			return -1;
		dj->open_txn = dj->last_txn = txn;
		dj->open_op = revoke ? JOURNAL_OP_REVOKE : JOURNAL_OP_APPLY;
		return 0;
	}
	if (txn != dj->open_txn)
		return journal_reader_error(reader, "'%s' outside its transaction %lu", fields[0], txn);
	if (strcmp(fields[0], "commit") == 0) {
		dj->open_txn = 0;
		dj->open_op = JOURNAL_OP_NONE;
		domain_journal_end_takebacks(dj);
		dj->n_released = 0;
		free(dj->unplug);
		dj->unplug = NULL;
		dj->n_unplug = 0;
		return 0;
	}
	if (strcmp(fields[0], "claim") == 0)
		return read_claim(reader, fields, count, txn);
	if (strcmp(fields[0], "intent") == 0)
		return read_intent(reader, fields, count, txn);
	if (strcmp(fields[0], "state") == 0 || strcmp(fields[0], "unstate") == 0)
		return read_state(reader, fields, count, txn);
	if (strcmp(fields[0], "release") == 0) {
		journal_claim released = {0};
		char name[VFG_HOSTDEV_NAME_MAX];
		if (count != 3 || journal_claim_name_parse(fields[2], &released) < 0)
			return journal_reader_error(reader, "malformed release");
		vfg_error kept = {0};
		if (domain_journal_remove_claim(dj, journal_claim_name(&released, name), &kept) < 0)
			return journal_reader_error(reader, "%s", kept.message);
		return 0;
	}
	if (strcmp(fields[0], "forward") == 0) {
		/* As apply writes it: once, in an apply that marked takebacks, every grant of it done. */
		if (count != 2 || dj->open_op != JOURNAL_OP_APPLY || dj->forward || !dj->takebacks)
			return journal_reader_error(reader,
						    "malformed forward, or one outside an apply that takes back");
		for (size_t i = 0; i < dj->n_records; i++)
			if (dj->records[i]->txn == txn && !dj->records[i]->done)
				return journal_reader_error(reader,
							    "forward before record %lu of its transaction is done",
							    dj->records[i]->id);
		dj->forward = true;
		return 0;
	}
	if (strcmp(fields[0], "takeback") == 0) {
		/* Written by the intent pass, before the forward line; of an earlier transaction's record. */
		journal_record *record =
			count == 3 && parse_ulong(fields[2], &id) ? domain_journal_find_record_id(dj, id) : NULL;
		if (!record || record->txn == txn || dj->open_op != JOURNAL_OP_APPLY || dj->forward)
			return journal_reader_error(reader, "takeback of an unknown record, or out of its place");
		record->takeback = txn;
		dj->takebacks = true;
		return 0;
	}
	if (strcmp(fields[0], "done") == 0 || strcmp(fields[0], "undone") == 0) {
		journal_record *record =
			count == 3 && parse_ulong(fields[2], &id) ? domain_journal_find_record_id(dj, id) : NULL;
		if (!record)
			return journal_reader_error(reader, "%s of an unknown record", fields[0]);
		if (fields[0][0] == 'd')
			record->done = true;
		else
			domain_journal_drop_record(dj, record);
		return 0;
	}
	return journal_reader_error(reader, "unknown entry '%s'", fields[0]); /* not reached: entries[] lists them */
}
