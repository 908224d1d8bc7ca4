/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The host records (records.h, docs/records.md): queued by the commands,
 * written at their end to journald with structured fields, or to syslog
 * with the same fields in the text.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "records.h"

/*
 * Where journald takes native messages and where syslog daemons (journald's
 * too) take datagrams: systemd's src/libsystemd/sd-journal/journal-send.c
 * and journald's socket units; glibc's misc/syslog.c (_PATH_LOG).
 */
#define JOURNALD_SOCKET "/run/systemd/journal/socket"
#define SYSLOG_SOCKET "/dev/log"

/* The identifier every record carries: `journalctl -t vfguard` selects them, whichever program made them. */
#define RECORD_IDENTIFIER "vfguard"

/*
 * Each kind's MESSAGE_ID: made once with `systemd-id128 new`, never to
 * change (an admin's filters and catalogs name them); docs/records.md lists them.
 */
static const struct {
	const char *action; /* VFGUARD_ACTION */
	const char *message_id;
	const char *done; /* the verb of MESSAGE when it went as meant */
} record_kinds[] = {
	[RECORD_GRANT] = {"grant", "7457acb64d884ef89c2f48a2583bcd81", "granted"},
	[RECORD_REVOKE] = {"revoke", "8c6bd58932494821acbd306b7ce800e4", "revoked"},
	[RECORD_ROLLBACK] = {"rollback", "0fd4d21fcaa34ffab75d6809ad4fa7bd", "rolled back (its apply failed)"},
	[RECORD_RESTORE] = {"restore", "02923eb68697463c9074adc1b005cafb",
			    "restored (a crashed or failed run left it)"},
	[RECORD_REFUSE] = {"refuse", "02ca9786ad2447e89a03796341275c63", "refused"},
	[RECORD_DETACH] = {"detach", "aebf2f91464445b2af3b082043ed7c3f", "bound to vfio-pci"},
	[RECORD_REATTACH] = {"reattach", "2016ff7e3da746bca0cab6d5b8a2db4e", "given back to its driver"},
	[RECORD_OUTCOME] = {"outcome", "e019cdb6c9ba4aa9a91e3ad27c58ed91", "done"},
	[RECORD_BOOT_RELEASE] = {"boot-release", "5f7d3025473e4ad1858ebfbd29646466", "released (its boot is over)"},
};

/*
 * A record as queued while the command runs: what the caller said, its
 * strings copied into one block. Its fields are made only when it is
 * written (record_build): an apply of 1024 hostdevs with dac and cgroup
 * queues 2050 records, and their fields queued whole took some 600 KiB of
 * its 6.8 MiB peak (bench/README.md), the same domain, command, root and
 * identifier in every one.
 */
typedef struct queued_record {
	host_record record; /* its strings point into @strings */
	char *strings;
} queued_record;

/* A record as written: its fields, "NAME=value" each, NUL-terminated one after another, MESSAGE first. */
typedef struct built_record {
	int priority;
	size_t n_fields;
	size_t size;
	char *fields;
} built_record;

typedef enum records_mode {
	RECORDS_AUTO,
	RECORDS_JOURNAL,
	RECORDS_SYSLOG,
	RECORDS_OFF,
} records_mode;

static const char *const records_mode_names[] = {
	[RECORDS_AUTO] = "auto",
	[RECORDS_JOURNAL] = "journal",
	[RECORDS_SYSLOG] = "syslog",
	[RECORDS_OFF] = "off",
};

static int records_mode_parse(const char *value, records_mode *mode)
{
	for (size_t i = 0; i < sizeof(records_mode_names) / sizeof(records_mode_names[0]); i++)
		if (value && strcmp(value, records_mode_names[i]) == 0) {
			*mode = (records_mode)i;
			return 0;
		}
	return -1;
}

int host_records_mode_check(const char *value, vfg_error *err)
{
	records_mode mode;
	if (records_mode_parse(value, &mode) < 0)
		return vfg_error_set(err, 0, "", "'%s': expected auto, journal, syslog or off", value);
	return 0;
}

/* ---- building a record ---- */

static void field_add(built_record *record, bool *failed, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void field_add(built_record *record, bool *failed, const char *name, const char *fmt, ...)
{
	if (*failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *value = NULL;
	int length = vasprintf(&value, fmt, ap);
	va_end(ap);
	size_t need = strlen(name) + 1 + (length < 0 ? 0 : (size_t)length) + 1;
	char *fields = length < 0 ? NULL : realloc(record->fields, record->size + need);
	if (!fields) {
		free(value);
		*failed = true;
		return;
	}
	snprintf(fields + record->size, need, "%s=%s", name, value);
	free(value);
	record->fields = fields;
	record->size += need;
	record->n_fields++;
}

static int record_priority(const host_record *record)
{
	if (record->result && strcmp(record->result, "failed") == 0)
		return LOG_ERR;
	if (record->kind == RECORD_REFUSE || record->result)
		return LOG_WARNING; /* refused, left alone: nothing was changed, or not what was meant */
	return record->kind == RECORD_OUTCOME ? LOG_INFO : LOG_NOTICE;
}

/*
 * MESSAGE: one line for people, "domain vm1: dac granted /dev/vfio/7",
 * "domain vm1: dac revoke of /dev/vfio/7 failed: WHY"; @detail: an outcome's
 * counts. The object is left out when the text names it first (an error's
 * subject), so the line does not say it twice.
 */
static void record_message(built_record *queued, bool *failed, const host_record *record, const char *command,
			   const char *detail)
{
	char line[VFG_ERROR_MESSAGE_MAX + VFG_PATH_MAX + 128];
	size_t used = record->domain ? vfg_strlcatf(line, sizeof(line), 0, "domain %s: ", record->domain)
				     : vfg_strlcatf(line, sizeof(line), 0, "%s", "");
	const char *text = record->text && *record->text ? record->text : detail && *detail ? detail : "";
	const char *object = record->node ? record->node : record->device ? record->device : "";
	if (*object && strncmp(text, object, strlen(object)) == 0 && text[strlen(object)] == ':')
		object = "";
	if (record->labeler)
		used = vfg_strlcatf(line, sizeof(line), used, "%s ", record->labeler);
	if (record->kind == RECORD_OUTCOME)
		used = vfg_strlcatf(line, sizeof(line), used, "%s %s", command,
				    record->result ? record->result : "done");
	else if (!record->result || record->kind == RECORD_REFUSE)
		used = vfg_strlcatf(line, sizeof(line), used, "%s%s%s", record_kinds[record->kind].done,
				    *object ? " " : "", object);
	else
		used = vfg_strlcatf(line, sizeof(line), used, "%s%s%s %s", record_kinds[record->kind].action,
				    *object ? " of " : "", object, record->result);
	if (*text)
		vfg_strlcatf(line, sizeof(line), used, ": %s", text);
	field_add(queued, failed, "MESSAGE", "%s", line);
}

/* The outcome's counts, as the CLI says them ("9 changes made, 0 already held, ..."). */
static void outcome_detail(const char *command, const vfg_change_summary *summary, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	if (!summary)
		return;
	if (summary->recovered)
		used = vfg_strlcatf(buf, size, used, "%zu transaction%s a crashed or failed run left open finished, ",
				    summary->recovered, summary->recovered == 1 ? "" : "s");
	if (strcmp(command, "apply") == 0)
		vfg_strlcatf(buf, size, used, "%zu change%s made, %zu already held, %zu path grant%s taken back",
			     summary->changed, summary->changed == 1 ? "" : "s", summary->kept, summary->revoked,
			     summary->revoked == 1 ? "" : "s");
	else if (strcmp(command, "prepare") == 0)
		vfg_strlcatf(buf, size, used, "%zu hostdev%s bound to vfio-pci", summary->changed,
			     summary->changed == 1 ? "" : "s");
	else
		vfg_strlcatf(buf, size, used, "%zu change%s undone", summary->changed,
			     summary->changed == 1 ? "" : "s");
}

/* An outcome's counts as fields of their own, for a program that sums them. */
static void outcome_fields(built_record *queued, bool *failed, const vfg_change_summary *summary)
{
	field_add(queued, failed, "VFGUARD_CHANGED", "%zu", summary->changed);
	field_add(queued, failed, "VFGUARD_KEPT", "%zu", summary->kept);
	field_add(queued, failed, "VFGUARD_REVOKED", "%zu", summary->revoked);
	field_add(queued, failed, "VFGUARD_RECOVERED", "%zu", summary->recovered);
}

/* The fields of @record in @command; @summary: an outcome's counts (NULL: none). */
static int record_build(const vfg_context *ctx, const host_record *record, const char *command,
			const vfg_change_summary *summary, built_record *queued)
{
	bool failed = false;
	char detail[512];
	outcome_detail(command, summary, detail, sizeof(detail));
	memset(queued, 0, sizeof(*queued));
	queued->priority = record_priority(record);
	record_message(queued, &failed, record, command, detail);
	field_add(queued, &failed, "MESSAGE_ID", "%s", record_kinds[record->kind].message_id);
	field_add(queued, &failed, "PRIORITY", "%d", queued->priority);
	field_add(queued, &failed, "SYSLOG_IDENTIFIER", "%s", RECORD_IDENTIFIER);
	field_add(queued, &failed, "VFGUARD_COMMAND", "%s", command);
	field_add(queued, &failed, "VFGUARD_ACTION", "%s",
		  record->kind == RECORD_OUTCOME ? command : record_kinds[record->kind].action);
	field_add(queued, &failed, "VFGUARD_RESULT", "%s", record->result ? record->result : "ok");
	if (record->domain)
		field_add(queued, &failed, "VFGUARD_DOMAIN", "%s", record->domain);
	if (record->labeler)
		field_add(queued, &failed, "VFGUARD_LABELER", "%s", record->labeler);
	if (record->node)
		field_add(queued, &failed, "VFGUARD_NODE", "%s", record->node);
	if (record->device)
		field_add(queued, &failed, "VFGUARD_DEVICE", "%s", record->device);
	if (record->text && *record->text)
		field_add(queued, &failed, "VFGUARD_REASON", "%s", record->text);
	if (record->errnum > 0)
		field_add(queued, &failed, "ERRNO", "%d", record->errnum);
	if (summary)
		outcome_fields(queued, &failed, summary);
	/* A tree under a root prefix (tests, images) is not the host itself: say which. */
	if (strcmp(ctx->root, "/") != 0)
		field_add(queued, &failed, "VFGUARD_ROOT", "%s", ctx->root);
	if (failed) {
		free(queued->fields);
		queued->fields = NULL;
		return -1;
	}
	return 0;
}

/* @from with its strings copied into @to's one block. 0, or -1 out of memory. */
static int record_copy(const host_record *from, queued_record *to)
{
	const char *const source[] = {from->domain, from->labeler, from->node, from->device, from->result, from->text};
	size_t size = 1;
	for (size_t i = 0; i < sizeof(source) / sizeof(source[0]); i++)
		size += source[i] ? strlen(source[i]) + 1 : 0;
	to->strings = malloc(size);
	if (!to->strings)
		return -1;
	to->record = *from;
	const char **copy[] = {&to->record.domain, &to->record.labeler, &to->record.node,
			       &to->record.device, &to->record.result,  &to->record.text};
	char *at = to->strings;
	for (size_t i = 0; i < sizeof(source) / sizeof(source[0]); i++) {
		if (!source[i])
			continue;
		size_t n = strlen(source[i]) + 1;
		memcpy(at, source[i], n);
		*copy[i] = at;
		at += n;
	}
	return 0;
}

static void records_queue(vfg_context *ctx, const host_record *record)
{
	host_records *records = &ctx->records;
	if (records->n_queued == records->queue_capacity) {
		size_t capacity = records->queue_capacity ? records->queue_capacity * 2 : 16;
		queued_record *queue = realloc(records->queue, capacity * sizeof(*queue));
		if (!queue) {
			records->lost++;
			return;
		}
		records->queue = queue;
		records->queue_capacity = capacity;
	}
	if (record_copy(record, &records->queue[records->n_queued]) < 0) {
		records->lost++;
		return;
	}
	records->n_queued++;
}

/* The config key records, checked when the config was read. */
static records_mode records_mode_get(const vfg_context *ctx)
{
	records_mode mode = RECORDS_AUTO;
	records_mode_parse(vfg_config_get(ctx->config, "records"), &mode);
	return mode;
}

void host_records_begin(vfg_context *ctx, const char *command)
{
	host_records_free(&ctx->records);
	/* records = off: nothing is queued, nor looked at */
	ctx->records.command = records_mode_get(ctx) == RECORDS_OFF ? NULL : command;
	ctx->records.undo_kind = RECORD_REVOKE;
}

void host_records_add(vfg_context *ctx, const host_record *record)
{
	if (!ctx->records.command)
		return;
	if (record->kind == RECORD_REFUSE)
		ctx->records.refused++;
	records_queue(ctx, record);
}

void host_records_free(host_records *records)
{
	for (size_t i = 0; i < records->n_queued; i++)
		free(records->queue[i].strings);
	free(records->queue);
	memset(records, 0, sizeof(*records));
}

/* ---- writing ---- */

/*
 * journald's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL): one
 * datagram per record to its socket, each field "NAME=value\n", or, for a
 * value holding a newline, "NAME\n", the value's length as a 64-bit
 * little-endian number, the value and "\n". It is written here, not through
 * libsystemd's sd_journal_sendv(), which sends the same datagram: linking
 * libsystemd maps it and what it links (libgcrypt, liblzma, libzstd, liblz4,
 * libcap) into every process that loads libvfguard, about 1 MiB resident
 * (bench/README.md), on hosts with no journald too. A record is a few
 * hundred bytes, far below a datagram's limit; one that is not (EMSGSIZE,
 * where libsystemd would pass a memfd) is counted as lost like any other.
 */
static int journal_open(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un address = {.sun_family = AF_UNIX, .sun_path = JOURNALD_SOCKET};
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		int saved = errno;
		close(fd);
		return -saved;
	}
	return fd;
}

#define JOURNAL_FIELDS_MAX 32

/* @record to journald over @fd, opened for the first record. 0 or -errno. */
static int record_send_journal(int *fd, const built_record *record)
{
	if (*fd < 0)
		*fd = journal_open();
	if (*fd < 0)
		return *fd;
	/* at most 4 pieces a field: its name and '=' or '\n', the length, the value, the newline */
	struct iovec iov[JOURNAL_FIELDS_MAX * 4];
	uint64_t lengths[JOURNAL_FIELDS_MAX];
	size_t n = 0, i = 0;
	for (const char *field = record->fields; i < record->n_fields && i < JOURNAL_FIELDS_MAX;
	     field += strlen(field) + 1, i++) {
		const char *eq = strchr(field, '=');
		const char *value = eq + 1;
		if (!strchr(value, '\n')) {
			iov[n++] = (struct iovec){.iov_base = (void *)field, .iov_len = strlen(field)};
		} else {
			lengths[i] = htole64((uint64_t)strlen(value));
			iov[n++] = (struct iovec){.iov_base = (void *)field, .iov_len = (size_t)(eq - field)};
			iov[n++] = (struct iovec){.iov_base = (void *)"\n", .iov_len = 1};
			iov[n++] = (struct iovec){.iov_base = &lengths[i], .iov_len = sizeof(lengths[i])};
			iov[n++] = (struct iovec){.iov_base = (void *)value, .iov_len = strlen(value)};
		}
		iov[n++] = (struct iovec){.iov_base = (void *)"\n", .iov_len = 1};
	}
	struct msghdr message = {.msg_iov = iov, .msg_iovlen = n};
	return sendmsg(*fd, &message, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* @value as syslog text: quoted when it holds a space or a quote; control bytes as '?' (one line). */
static size_t syslog_value(char *buf, size_t size, size_t used, const char *value)
{
	bool quote = !*value || strpbrk(value, " \"\\]");
	if (quote)
		used = vfg_strlcatf(buf, size, used, "\"");
	for (const char *p = value; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (quote && (c == '"' || c == '\\'))
			used = vfg_strlcatf(buf, size, used, "\\%c", c);
		else
			used = vfg_strlcatf(buf, size, used, "%c", c < 0x20 || c == 0x7f ? '?' : c);
	}
	return quote ? vfg_strlcatf(buf, size, used, "\"") : used;
}

/*
 * One syslog datagram, as glibc's syslog(3) writes it (RFC 3164: "<PRI>Mmm dd
 * hh:mm:ss TAG[PID]: text"): MESSAGE, then the other fields as NAME=value in
 * brackets, so a syslog reader finds what journalctl shows as fields.
 * syslog(3) itself is not used: its tag is set by openlog(), which is the
 * calling program's, process-wide (a library must not change it), and
 * without it the tag is the program's name, not "vfguard".
 */
static size_t syslog_format(const built_record *record, char *buf, size_t size)
{
	char stamp[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	if (localtime_r(&now, &tm))
		strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S ", &tm);
	size_t used = vfg_strlcatf(buf, size, 0, "<%d>%s%s[%d]: ", LOG_DAEMON | record->priority, stamp,
				   RECORD_IDENTIFIER, (int)getpid());
	const char *field = record->fields;
	for (size_t i = 0; i < record->n_fields; i++, field += strlen(field) + 1) {
		const char *eq = strchr(field, '=');
		size_t name = (size_t)(eq - field);
		if (i == 0) {
			used = vfg_strlcatf(buf, size, used, "%s [", eq + 1); /* MESSAGE */
			continue;
		}
		/* what the syslog line says already: its priority and tag */
		if (strncmp(field, "PRIORITY=", 9) == 0 || strncmp(field, "SYSLOG_IDENTIFIER=", 18) == 0)
			continue;
		used = vfg_strlcatf(buf, size, used, "%s%.*s=", buf[used - 1] == '[' ? "" : " ", (int)name, field);
		used = syslog_value(buf, size, used, eq + 1);
	}
	return vfg_strlcatf(buf, size, used, "]");
}

/*
 * The syslog socket, connected: an fd, or -errno. Non-blocking, so a daemon
 * that does not read drops records (EAGAIN) rather than holding up the command.
 */
static int syslog_open(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_un address = {.sun_family = AF_UNIX, .sun_path = SYSLOG_SOCKET};
	if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		int saved = errno;
		close(fd);
		return -saved;
	}
	return fd;
}

static int record_send_syslog(int *fd, const built_record *record)
{
	if (*fd < 0)
		*fd = syslog_open();
	if (*fd < 0)
		return *fd;
	char line[8192];
	size_t length = syslog_format(record, line, sizeof(line));
	return send(*fd, line, length, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static bool socket_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

/* Where one command's records go, looked at once for all of them, and what came of writing them. */
typedef struct records_sink {
	bool journal; /* to journald */
	int journal_fd; /* opened for the first record journald takes; -1 until then */
	bool syslog; /* to syslog: the only way, or when journald refuses one (auto) */
	int syslog_fd; /* opened for the first record syslog takes; -1 until then */
	size_t lost;
	int first_errno; /* why the first one lost was */
	const char *where;
} records_sink;

static void records_sink_open(records_sink *sink, records_mode mode, size_t lost)
{
	bool journald = mode != RECORDS_OFF && mode != RECORDS_SYSLOG && socket_exists(JOURNALD_SOCKET);
	*sink = (records_sink){
		.journal = mode == RECORDS_JOURNAL || (mode == RECORDS_AUTO && journald),
		.journal_fd = -1,
		/* auto: journald's own /dev/log, or a syslog daemon's, where journald fails or is not there */
		.syslog = mode == RECORDS_SYSLOG || (mode == RECORDS_AUTO && socket_exists(SYSLOG_SOCKET)),
		.syslog_fd = -1,
		.lost = lost,
	};
}

static void record_write(records_sink *sink, const vfg_context *ctx, const char *command, const host_record *queued,
			 const vfg_change_summary *summary)
{
	if (!sink->journal && !sink->syslog)
		return; /* off; or auto on a host with no logger at all: nobody to tell (docs/records.md) */
	built_record built;
	if (record_build(ctx, queued, command, summary, &built) < 0) {
		sink->lost++; /* out of memory: told as such (host_records_finish) */
		return;
	}
	const built_record *record = &built;
	int r = -ENOENT;
	const char *where = "journald";
	/* records = journal with no journald socket: connect() says ENOENT, a loss like any other */
	if (sink->journal)
		r = record_send_journal(&sink->journal_fd, record);
	if (r < 0 && sink->syslog) {
		where = "syslog (" SYSLOG_SOCKET ")";
		r = record_send_syslog(&sink->syslog_fd, record);
	}
	if (r < 0 && !sink->lost++) {
		sink->first_errno = -r;
		sink->where = where;
	}
	free(built.fields);
}

/* The command's outcome, written after its changes' records. */
static host_record outcome_record(const vfg_context *ctx, const char *domain, int r, const vfg_error *err)
{
	host_record outcome = {.kind = RECORD_OUTCOME, .domain = domain};
	if (r < 0) {
		/* a refusal is recorded as it is found (host_records_add): the command was refused, not failed */
		outcome.result = ctx->records.refused ? "refused" : "failed";
		outcome.text = err->message;
		outcome.errnum = err->errnum;
	}
	return outcome;
}

void host_records_finish(vfg_context *ctx, const char *domain, int r, const vfg_error *err, vfg_change_summary *summary)
{
	host_records *records = &ctx->records;
	if (!records->command)
		return;
	/* A prepare that had no managed hostdev to bind did nothing worth a line. */
	bool quiet = strcmp(records->command, "prepare") == 0 && r == 0 && records->n_queued == 0;
	records_sink sink;
	records_sink_open(&sink, records_mode_get(ctx), records->lost);
	for (size_t i = 0; i < records->n_queued; i++)
		record_write(&sink, ctx, records->command, &records->queue[i].record, NULL);
	if (!quiet) {
		host_record outcome = outcome_record(ctx, domain, r, err);
		record_write(&sink, ctx, records->command, &outcome, summary);
	}
	if (sink.journal_fd >= 0)
		close(sink.journal_fd);
	if (sink.syslog_fd >= 0)
		close(sink.syslog_fd);
	if (summary && sink.lost) {
		size_t total = records->n_queued + records->lost + !quiet;
		size_t used = strlen(summary->notes);
		vfg_strlcatf(summary->notes, sizeof(summary->notes), used,
			     "records: %zu of %zu host record%s not written (%s%s%s); the changes are made and "
			     "journaled all the same\n",
			     sink.lost, total, total == 1 ? "" : "s", sink.where ? sink.where : "out of memory",
			     sink.first_errno ? ": " : "", sink.first_errno ? strerror(sink.first_errno) : "");
	}
	host_records_free(records);
}
