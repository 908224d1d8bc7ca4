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
#include "memlock.h"

#define JOURNAL_MAGIC "vfguard-journal 1"
#define JOURNAL_SUFFIX ".journal"
#define JOURNAL_FIELDS_MAX 16
#define JOURNAL_LINE_MAX (4 * VFG_PATH_MAX + 8192)

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

static size_t format_domain(char *buf, size_t size, const vfg_domain *domain)
{
	char numbers[64];
	size_t used = vfg_strlcatf(buf, size, 0, "domain");
	used = field_encode(buf, size, used, domain->name);
	used = field_encode(buf, size, used, domain->uuid);
	snprintf(numbers, sizeof(numbers), "%u %u", (unsigned)domain->uid, (unsigned)domain->gid);
	used = vfg_strlcatf(buf, size, used, " %s", numbers);
	used = field_encode(buf, size, used, domain->selinux_label);
	used = field_encode(buf, size, used, domain->selinux_image_label);
	used = field_encode(buf, size, used, domain->apparmor_profile);
	used = field_encode(buf, size, used, domain->cgroup);
	/* The memlock inputs came later: a reader takes the line with or without them. */
	return vfg_strlcatf(buf, size, used, " %d %llu %d %d", (int)domain->pid, (unsigned long long)domain->memory,
			    domain->viommu ? 1 : 0, domain->ipc_lock ? 1 : 0);
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
	used = field_encode(buf, size, used, record->labeler);
	used = field_encode(buf, size, used, record->no_node ? "" : vfg_node_kind_name(record->node.kind));
	used = field_encode(buf, size, used, record->node.path);
	if (record->no_node)
		used = vfg_strlcatf(buf, size, used, " - 0");
	else
		used = vfg_strlcatf(buf, size, used, " %u:%u %d", major(record->node.rdev), minor(record->node.rdev),
				    record->node.shared ? 1 : 0);
	used = field_encode(buf, size, used, record->undo);
	return vfg_strlcatf(buf, size, used, "\n");
}

int domain_journal_begin(host_journal *hj, domain_journal *dj, journal_op op, const vfg_domain *domain, vfg_error *err)
{
	char line[4 * VFG_PATH_MAX];
	if (dj->open_txn)
		return vfg_error_set(err, EBUSY, dj->domain.name, "a transaction is already open");
	unsigned long txn = dj->last_txn + 1;
	if (domain) {
		dj->domain = *domain;
		dj->domain.hostdevs = NULL;
		dj->domain.n_hostdevs = 0;
	}
	format_domain(line, sizeof(line), &dj->domain);
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

int domain_journal_commit(host_journal *hj, domain_journal *dj, vfg_error *err)
{
	if (journal_append(hj, dj, err, "commit %lu", dj->open_txn) < 0)
		return -1;
	dj->open_txn = 0;
	dj->open_op = JOURNAL_OP_NONE;
	close(dj->fd);
	dj->fd = -1;
	if (dj->n_claims == 0 && dj->n_records == 0) {
		if (vfg_file_remove(dj->path, err) < 0)
			return -1;
		dj->last_txn = dj->last_id = 0;
		host_journal_fault_point(hj);
		return 0;
	}
	size_t length;
	_cleanup_free_ char *state = format_state(dj, &length);
	if (!state)
		return vfg_error_set(err, ENOMEM, dj->path, "cannot compact the journal");
	if (vfg_file_replace(dj->path, state, length, err) < 0)
		return -1;
	for (size_t i = 0; i < dj->n_records; i++) {
		dj->records[i].id = i + 1;
		dj->records[i].txn = 1;
	}
	for (size_t i = 0; i < dj->n_claims; i++)
		dj->claims[i].txn = 1;
	dj->last_txn = 1;
	dj->last_id = dj->n_records;
	host_journal_fault_point(hj);
	return 0;
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

static int read_domain(journal_reader *reader, char **fields, size_t count)
{
	vfg_domain *domain = &reader->dj->domain;
	unsigned long uid, gid;
	unsigned long long memory = 0;
	if ((count != 10 && count != 13) || !parse_ulong(fields[3], &uid) || !parse_ulong(fields[4], &gid))
		return reader_error(reader, "malformed domain line");
	if (count == 13) {
		char *end;
		errno = 0;
		memory = strtoull(fields[10], &end, 10);
		if (errno || *end || end == fields[10] || !is_flag(fields[11]) || !is_flag(fields[12]))
			return reader_error(reader, "malformed domain line");
		domain->memory = memory;
		domain->viommu = fields[11][0] == '1';
		domain->ipc_lock = fields[12][0] == '1';
	}
	/* The name makes paths (the file itself, AppArmor's saved copies): it must be one a domain can have. */
	char file[3 * VFG_NAME_MAX + 16];
	const char *base = strrchr(reader->dj->path, '/');
	vfg_error why = {0};
	if (vfg_domain_name_check(fields[1], &why) < 0)
		return reader_error(reader, "domain line: %s", why.message);
	journal_file_name(fields[1], file, sizeof(file));
	if (strcmp(base ? base + 1 : reader->dj->path, file) != 0)
		return reader_error(reader, "domain line names domain '%s', whose journal is %s, not this file",
				    fields[1], file);
	snprintf(domain->name, sizeof(domain->name), "%s", fields[1]);
	snprintf(domain->uuid, sizeof(domain->uuid), "%s", fields[2]);
	domain->uid = (uid_t)uid;
	domain->gid = (gid_t)gid;
	snprintf(domain->selinux_label, sizeof(domain->selinux_label), "%s", fields[5]);
	snprintf(domain->selinux_image_label, sizeof(domain->selinux_image_label), "%s", fields[6]);
	snprintf(domain->apparmor_profile, sizeof(domain->apparmor_profile), "%s", fields[7]);
	snprintf(domain->cgroup, sizeof(domain->cgroup), "%s", fields[8]);
	domain->pid = (pid_t)atoi(fields[9]);
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

/* A memlock record's "node" is its process, /proc/PID (memlock.h). */
static bool is_proc_pid_path(const char *path)
{
	unsigned long pid;
	return strncmp(path, "/proc/", 6) == 0 && path[6] != '0' && parse_ulong(path + 6, &pid) && pid > 0 &&
	       pid <= INT32_MAX;
}

static int check_intent_path(journal_reader *reader, const journal_record *record)
{
	bool memlock = strcmp(record->labeler, MEMLOCK_LABELER) == 0;
	if (record->no_node != memlock)
		return reader_error(reader, "intent of labeler '%s' for '%s' %s", record->labeler, record->node.path,
				    memlock ? "names a device node: memlock records name a process"
					    : "names no device node");
	if (memlock ? !is_proc_pid_path(record->node.path) : !is_dev_path(record->node.path))
		return reader_error(reader, "intent of labeler '%s' names '%s', which is not %s; refusing to act on it",
				    record->labeler, record->node.path,
				    memlock ? "a process (/proc/PID)" : "a device node under /dev");
	return 0;
}

static int read_intent(journal_reader *reader, char **fields, size_t count, unsigned long txn)
{
	journal_record record = {.txn = txn};
	unsigned major_number, minor_number;
	char extra;
	/* KIND and MAJ:MIN both "-" (read as ""): a change of the domain, not of a node (memlock.h). */
	record.no_node = count == 9 && !fields[4][0] && !fields[6][0];
	if (count != 9 || !parse_ulong(fields[2], &record.id) || strlen(fields[3]) >= sizeof(record.labeler) ||
	    (!record.no_node && !parse_node_kind(fields[4], &record.node.kind)) ||
	    strlen(fields[5]) >= sizeof(record.node.path) ||
	    (!record.no_node && sscanf(fields[6], "%u:%u%c", &major_number, &minor_number, &extra) != 2))
		return reader_error(reader, "malformed intent");
	snprintf(record.labeler, sizeof(record.labeler), "%s", fields[3]);
	snprintf(record.node.path, sizeof(record.node.path), "%s", fields[5]);
	record.node.rdev = record.no_node ? 0 : makedev(major_number, minor_number);
	record.node.shared = strcmp(fields[7], "1") == 0;
	record.undo = fields[8];
	if (check_intent_path(reader, &record) < 0)
		return -1;
	if (record.id > reader->dj->last_id)
		reader->dj->last_id = record.id;
	return keep_record(reader->dj, &record, reader->err);
}

static int read_line(journal_reader *reader, char *line)
{
	char *fields[JOURNAL_FIELDS_MAX];
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
	static const char *const entries[] = {"domain",  "begin",  "commit", "claim",
					      "release", "intent", "done",   "undone"};
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
	free(dj->records);
	free(dj->claims);
	free(dj);
}

static domain_journal *domain_journal_new(const char *path)
{
	domain_journal *dj = calloc(1, sizeof(*dj));
	if (!dj)
		return NULL;
	dj->fd = -1;
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
static int domain_journal_read(int fd, const char *path, bool exclusive, domain_journal **out, vfg_error *err)
{
	_cleanup_free_ char *content = NULL;
	size_t size;
	if (vfg_fd_read_all(fd, path, 0, &content, &size, err) < 0)
		return -1;
	domain_journal *dj = domain_journal_new(path);
	if (!dj)
		return vfg_error_set(err, ENOMEM, path, "cannot read the journal");
	journal_reader reader = {.dj = dj, .err = err};
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
		int r = reader.line == 1
				? (strcmp(line, JOURNAL_MAGIC) == 0 ? 0 : reader_error(&reader, "not a journal"))
				: read_line(&reader, line);
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
	int dir_fd = vfg_state_open(hj->directory, O_RDONLY, true, err);
	if (dir_fd == -ENOENT)
		return 0;
	if (dir_fd < 0)
		return -1;
	_cleanup_closedir_ DIR *dir = fdopendir(dir_fd);
	if (!dir) {
		int saved = errno;
		close(dir_fd);
		return vfg_error_set(err, saved, hj->directory, "cannot list the journal");
	}
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
		if (fd < 0 || domain_journal_read(fd, path, exclusive, &dj, err) < 0 ||
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
