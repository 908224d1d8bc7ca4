/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfguard hotplug, hotunplug: one hostdev into or out of a running QEMU over
 * its QMP socket (docs/hotplug.md). The grants are apply's and revoke
 * --hostdev's; the QEMU side uses the properties qemu-args writes for a
 * start, so a hot-plugged device is the same device. The QEMU facts:
 *
 * - qapi/misc.json getfd/closefd: an fd sent by SCM_RIGHTS with getfd gets a
 *   name in the monitor. backends/iommufd.c (iommufd "fd") and
 *   hw/vfio/device.c vfio_device_set_fd (vfio-pci "fd") take such a name
 *   through monitor_fd_param, which takes the fd out of the monitor's list
 *   (monitor/fds.c monitor_get_fd): a used name is gone, closefd only
 *   matters for one not used. add-fd (fd sets) is for paths QEMU opens
 *   through qemu_open, which neither property does.
 * - qapi/qom.json: object-add takes IommufdProperties (qom-type "iommufd",
 *   id, fd); qom-list on a path that does not resolve fails with
 *   DeviceNotFound (qom/qom-qmp-cmds.c qmp_qom_list), which is how an
 *   existing iommufd object is found; qom-get of vfio-pci's "iommufd" link
 *   gives the linked object's path ("" when unset).
 * - qapi/qdev.json: device_add takes the device's properties as an object
 *   (values as strings, as -device parses them); device_del only asks the
 *   guest, and DEVICE_DELETED (data.device is the id) says it is gone.
 * - util/id.c id_wellformed: an id is a letter, then letters, digits, '-',
 *   '.', '_'.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <vfguard/util.h>

#include "cli.h"
#include "qmp.h"

/* Every reply: a device_add realizes the device (VFIO setup, slow under TCG) before it answers. */
#define QMP_REPLY_TIMEOUT_MS (120 * 1000)
#define HOTUNPLUG_DEFAULT_TIMEOUT 30
/* What qemu-args names the domain's iommufd object at start (core/qemu_args.c). */
#define START_IOMMUFD_ID "iommufd0"
/* The object hotplug adds when QEMU has none: another id, so that hotunplug knows it is its own to remove. */
#define HOTPLUG_IOMMUFD_ID "vfg-iommufd"
/* qemu-args's fd numbering starts here; only used to find which node a property's fd is. */
#define ARGS_FD_BASE 3

static const char hotplug_help[] =
	"Usage: vfguard hotplug --qmp SOCKET --domain NAME --hostdev SPEC [OPTIONS]\n"
	"\n"
	"Add one hostdev to a running QEMU: grant it as apply does (in its own\n"
	"transaction, what the domain holds kept), then over QEMU's QMP socket:\n"
	"qmp_capabilities; for access=fd, open the nodes as exec does and pass each\n"
	"with getfd (SCM_RIGHTS), only to a QEMU running as the domain's --uid; add\n"
	"the iommufd object " HOTPLUG_IOMMUFD_ID " when QEMU has neither " START_IOMMUFD_ID " nor it\n"
	"(an iommufd hostdev); device_add with the properties qemu-args writes and\n"
	"the id vfg-NAME (the hostdev's name, ':' as '-'). On any QMP error what this\n"
	"run did in QEMU is undone (closefd, object-del), the hostdev's grants are\n"
	"revoked, and QEMU's error class and description are printed. QEMU keeps\n"
	"the fds a failed device_add took: the domain then keeps the hostdev until\n"
	"QEMU closes them (exits), and the error names them and the revoke to run.\n"
	"\n"
	"  --qmp SOCKET         the running QEMU's QMP unix socket (required)\n"
	"  --bus ID             the bus to plug into (device_add's bus: a pcie-root-port's id\n"
	"                       on q35, whose pcie.0 takes no hot-plug; default: QEMU's choice)\n"
	"  --rlimit-mode MODE   as for exec: iommufd's per-process accounting\n" CLI_DOMAIN_HELP CLI_COMMON_HELP "\n"
	"Exit status: 0 plugged, 1 failed (nothing left granted or added, but for\n"
	"what QEMU keeps, as said), 2 usage.\n";

static const char hotunplug_help[] =
	"Usage: vfguard hotunplug --qmp SOCKET --domain NAME --hostdev SPEC [--timeout SECONDS] [OPTIONS]\n"
	"\n"
	"Take one hostdev out of a running QEMU: device_del of its id (vfg-NAME, as\n"
	"hotplug gave it), wait for DEVICE_DELETED, which comes once the guest let\n"
	"the device go; then remove the iommufd object " HOTPLUG_IOMMUFD_ID " if hotplug added\n"
	"it and no other device uses it, and revoke the hostdev (revoke --hostdev).\n"
	"When the guest does not let go in time, every grant stays: rerun hotunplug,\n"
	"or once QEMU is gone run vfguard revoke --hostdev. When QEMU deleted the\n"
	"device but a process still has its node open 5 s later, every grant stays\n"
	"too (exit 1, naming the process): run vfguard revoke --hostdev once it is\n"
	"closed.\n"
	"\n"
	"  --qmp SOCKET         the running QEMU's QMP unix socket (required)\n"
	"  --domain NAME        the VM (required)\n"
	"  --hostdev SPEC       the hostdev to take out (exactly one)\n"
	"  --timeout SECONDS    how long to wait for DEVICE_DELETED (default 30)\n" CLI_COMMON_HELP "\n"
	"Exit status: 0 unplugged and revoked, 1 failed, 2 usage, 4 timed out: the\n"
	"device is still in QEMU and every grant is kept.\n";

typedef struct hotplug_command {
	const char *name;
	const char *help;
	cli_common common;
	cli_domain domain;
	const char *qmp_path;
	const char *rlimit_mode;
	const char *bus; /* hotplug --bus: device_add's "bus" */
	int timeout_seconds;
} hotplug_command;

static int parse_hotplug_options(hotplug_command *cmd, int argc, char **argv)
{
	enum { OPTION_QMP = 1000, OPTION_RLIMIT_MODE, OPTION_TIMEOUT, OPTION_BUS };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		CLI_DOMAIN_OPTIONS,
		{"qmp", required_argument, NULL, OPTION_QMP},
		{"rlimit-mode", required_argument, NULL, OPTION_RLIMIT_MODE},
		{"timeout", required_argument, NULL, OPTION_TIMEOUT},
		{"bus", required_argument, NULL, OPTION_BUS},
		{NULL, 0, NULL, 0},
	};
	bool is_unplug = strcmp(cmd->name, "hotunplug") == 0;
	int opt;
	optind = 1;
	opterr = 0; /* one line per error: ours, naming the option (cli_option_error) */
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(cmd->help, stdout);
			exit(EXIT_OK);
		case OPTION_QMP:
			cmd->qmp_path = optarg;
			continue;
		case OPTION_RLIMIT_MODE: {
			vfg_rlimit_mode mode;
			vfg_error err;
			if (is_unplug)
				return cli_usage_error(cmd->name, "unknown option '--rlimit-mode'");
			if (vfg_rlimit_mode_parse(optarg, &mode, &err) < 0)
				return cli_usage_error(cmd->name, "--rlimit-mode %s", err.message);
			cmd->rlimit_mode = optarg;
			continue;
		}
		case OPTION_BUS:
			if (is_unplug)
				return cli_usage_error(cmd->name, "unknown option '--bus'");
			if (!optarg[0])
				return cli_usage_error(cmd->name, "--bus: empty bus id");
			cmd->bus = optarg;
			continue;
		case OPTION_TIMEOUT: {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (!is_unplug)
				return cli_usage_error(cmd->name, "unknown option '--timeout'");
			if (errno || end == optarg || *end || v < 1 || v > INT_MAX / 1000)
				return cli_usage_error(cmd->name, "--timeout '%s': expected a number from 1 to %d",
						       optarg, INT_MAX / 1000);
			cmd->timeout_seconds = (int)v;
			continue;
		}
		default:
			break;
		}
		/* hotunplug takes the domain by name and the hostdev only: the grants are the journal's. */
		int r = cli_common_option(&cmd->common, opt, optarg);
		if (r == 0 && (!is_unplug || opt == 'd' || opt == 'H'))
			r = cli_domain_option(&cmd->domain, opt, optarg);
		if (r < 0)
			return EXIT_USAGE; /* the option's own line said why */
		if (r == 0)
			return cli_option_error(cmd->name, options, opt, argv);
	}
	if (optind < argc)
		return cli_usage_error(cmd->name, "unexpected argument '%s'", argv[optind]);
	if (!cmd->qmp_path)
		return cli_usage_error(cmd->name, "--qmp is required");
	if (!cmd->domain.domain.name[0])
		return cli_usage_error(cmd->name, "--domain is required");
	if (cmd->domain.n_hostdev_texts != 1)
		return cli_usage_error(cmd->name, "exactly one --hostdev: %s one hostdev at a time",
				       is_unplug ? "hotunplug takes out" : "hotplug adds");
	return EXIT_OK;
}

/* The QEMU id of a hostdev: "vfg-0000-01-00.0", "vfg-mdev-UUID" (util/id.c: no ':'). */
static void hostdev_qemu_id(const vfg_hostdev_spec *spec, char id[VFG_HOSTDEV_NAME_MAX + 8])
{
	char name[VFG_HOSTDEV_NAME_MAX];
	vfg_hostdev_name(spec, name);
	for (char *c = name; *c; c++)
		if (*c == ':')
			*c = '-';
	snprintf(id, VFG_HOSTDEV_NAME_MAX + 8, "vfg-%s", name);
}

/* Whether the journal has domain @domain holding @hostdev (its name); -1 with @err when it cannot be read. */
static int domain_holds(vfg_context *ctx, const char *domain, const char *hostdev, vfg_error *err)
{
	vfg_live_domain *live = NULL;
	size_t n = 0;
	if (vfg_live_domains(ctx, domain, &live, &n, err) < 0)
		return -1;
	bool held = false;
	for (size_t d = 0; d < n; d++)
		for (size_t h = 0; h < live[d].n_hostdevs && !held; h++) {
			char name[VFG_HOSTDEV_NAME_MAX];
			held = strcmp(vfg_hostdev_name(&live[d].hostdevs[h], name), hostdev) == 0;
		}
	vfg_live_domains_free(live, n);
	return held;
}

/* What qemu-args writes for the hostdev at start: the iommufd object ("" when none) and the -device value. */
typedef struct start_args {
	char object[512];
	char device[512];
	struct json_object *fds; /* qemu-args's "fds": number, kind, path of each fd-access node */
} start_args;

static int start_args_read(const vfg_plan *plan, start_args *args, vfg_error *err)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	if (!out)
		return vfg_error_set(err, errno, vfg_plan_domain(plan)->name, "cannot build the QEMU arguments");
	int r = vfg_qemu_args_write_json(plan, ARGS_FD_BASE, out, err);
	fclose(out);
	struct json_object *json = r < 0 ? NULL : json_tokener_parse(text), *list;
	free(text);
	if (r < 0)
		return -1;
	args->object[0] = args->device[0] = '\0';
	if (json && json_object_object_get_ex(json, "args", &list))
		for (size_t i = 0; i + 1 < json_object_array_length(list); i += 2) {
			const char *option = json_object_get_string(json_object_array_get_idx(list, i));
			const char *value = json_object_get_string(json_object_array_get_idx(list, i + 1));
			snprintf(strcmp(option, "-object") == 0 ? args->object : args->device, sizeof(args->object),
				 "%s", value);
		}
	if (json && json_object_object_get_ex(json, "fds", &list))
		args->fds = json_object_get(list);
	json_object_put(json);
	if (!args->device[0])
		return vfg_error_set(err, EPROTO, vfg_plan_domain(plan)->name, "no -device from qemu-args");
	return 0;
}

/* The open fd of qemu-args's fd number @number ("3"), found by its node's path; -1 when none. */
static int start_fd(const start_args *args, const vfg_fdset *fdset, const char *number)
{
	for (size_t i = 0; args->fds && i < json_object_array_length(args->fds); i++) {
		struct json_object *entry = json_object_array_get_idx(args->fds, i), *field;
		if (!json_object_object_get_ex(entry, "fd", &field) || json_object_get_int(field) != atoi(number) ||
		    !json_object_object_get_ex(entry, "path", &field))
			continue;
		for (size_t f = 0; fdset && f < fdset->n_fds; f++)
			if (strcmp(fdset->fds[f].path, json_object_get_string(field)) == 0)
				return fdset->fds[f].fd;
	}
	return -1;
}

/* What this hotplug did in QEMU, to undo it on a failure. */
typedef struct hotplug_state {
	hotplug_command *cmd;
	qmp_client qmp;
	char hostdev[VFG_HOSTDEV_NAME_MAX];
	char device_id[VFG_HOSTDEV_NAME_MAX + 8];
	char object_id[32]; /* the iommufd object the device uses, "" for none */
	bool object_added, object_fd_named, device_fd_named;
	size_t fds_passed;
} hotplug_state;

/* A QMP command's failure as the one error line: the hostdev, the command, QEMU's class and description. */
static int qmp_failed(hotplug_state *state, const char *command, int r, const qmp_error *qerr, vfg_error *err)
{
	if (r == 1)
		return vfg_error_set(err, 0, state->hostdev, "QEMU refused %s on %s: %s: %s", command,
				     state->cmd->qmp_path, qerr->class_name, qerr->desc);
	vfg_error_prefix(err, "hostdev %s", state->hostdev);
	return -1;
}

static int qmp_run(hotplug_state *state, const char *command, struct json_object *arguments, int fd, vfg_error *err)
{
	qmp_error qerr;
	int r = qmp_execute(&state->qmp, command, arguments, fd, NULL, &qerr, err);
	return r == 0 ? 0 : qmp_failed(state, command, r, &qerr, err);
}

/* 1 when the QOM path @path resolves in QEMU, 0 when not (DeviceNotFound), -1 on another failure. */
static int qom_exists(hotplug_state *state, const char *path, vfg_error *err)
{
	struct json_object *arguments = json_object_new_object();
	json_object_object_add(arguments, "path", json_object_new_string(path));
	qmp_error qerr;
	int r = qmp_execute(&state->qmp, "qom-list", arguments, -1, NULL, &qerr, err);
	if (r == 0)
		return 1;
	if (r == 1 && strcmp(qerr.class_name, "DeviceNotFound") == 0)
		return 0;
	return qmp_failed(state, "qom-list", r, &qerr, err);
}

/* Pass @fd to QEMU under @name (getfd). */
static int pass_fd(hotplug_state *state, const char *name, int fd, vfg_error *err)
{
	struct json_object *arguments = json_object_new_object();
	json_object_object_add(arguments, "fdname", json_object_new_string(name));
	if (qmp_run(state, "getfd", arguments, fd, err) < 0)
		return -1;
	state->fds_passed++;
	return 0;
}

/* The iommufd object the device is to use: QEMU's own from its start, an earlier hotplug's, or a new one. */
static int iommufd_object_ensure(hotplug_state *state, const start_args *args, const vfg_fdset *fdset, vfg_error *err)
{
	const char *ids[] = {START_IOMMUFD_ID, HOTPLUG_IOMMUFD_ID};
	for (size_t i = 0; i < 2; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/objects/%s", ids[i]);
		int r = qom_exists(state, path, err);
		if (r < 0)
			return -1;
		if (r == 1) {
			snprintf(state->object_id, sizeof(state->object_id), "%s", ids[i]);
			return 0;
		}
	}
	snprintf(state->object_id, sizeof(state->object_id), "%s", HOTPLUG_IOMMUFD_ID);
	struct json_object *arguments = json_object_new_object();
	json_object_object_add(arguments, "qom-type", json_object_new_string("iommufd"));
	json_object_object_add(arguments, "id", json_object_new_string(HOTPLUG_IOMMUFD_ID));
	const char *fd_property = strstr(args->object, ",fd=");
	if (fd_property) {
		int fd = start_fd(args, fdset, fd_property + 4);
		if (fd < 0 || pass_fd(state, HOTPLUG_IOMMUFD_ID, fd, err) < 0) {
			json_object_put(arguments);
			return fd < 0 ? vfg_error_set(err, EBADF, state->hostdev, "no open fd for the iommufd object")
				      : -1;
		}
		state->object_fd_named = true;
		json_object_object_add(arguments, "fd", json_object_new_string(HOTPLUG_IOMMUFD_ID));
	}
	if (qmp_run(state, "object-add", arguments, -1, err) < 0)
		return -1;
	state->object_added = true;
	state->object_fd_named = false; /* the object took it */
	return 0;
}

/* device_add with qemu-args's -device properties, the id, iommufd object and fd name changed. */
static int device_add(hotplug_state *state, const start_args *args, const vfg_fdset *fdset, vfg_error *err)
{
	char device[sizeof(args->device)];
	snprintf(device, sizeof(device), "%s", args->device);
	struct json_object *arguments = json_object_new_object();
	char *save = NULL;
	int fd = -1;
	for (char *property = strtok_r(device, ",", &save); property; property = strtok_r(NULL, ",", &save)) {
		char *value = strchr(property, '=');
		if (!value) {
			json_object_object_add(arguments, "driver", json_object_new_string(property));
			continue;
		}
		*value++ = '\0';
		if (strcmp(property, "id") == 0)
			value = state->device_id;
		else if (strcmp(property, "iommufd") == 0)
			value = state->object_id;
		else if (strcmp(property, "fd") == 0 && (fd = start_fd(args, fdset, value)) >= 0)
			value = state->device_id; /* the fd's name in the monitor */
		json_object_object_add(arguments, property, json_object_new_string(value));
	}
	if (state->cmd->bus)
		json_object_object_add(arguments, "bus", json_object_new_string(state->cmd->bus));
	if (fd >= 0) {
		if (pass_fd(state, state->device_id, fd, err) < 0) {
			json_object_put(arguments);
			return -1;
		}
		state->device_fd_named = true;
	}
	return qmp_run(state, "device_add", arguments, -1, err);
}

/* Undo, best effort, what this hotplug did in QEMU; QEMU's answers to it are not the error reported. */
static void hotplug_undo_qemu(hotplug_state *state)
{
	vfg_error ignored = {0};
	struct json_object *arguments;
	if (state->device_fd_named) {
		arguments = json_object_new_object();
		json_object_object_add(arguments, "fdname", json_object_new_string(state->device_id));
		qmp_run(state, "closefd", arguments, -1, &ignored);
	}
	if (state->object_fd_named) {
		arguments = json_object_new_object();
		json_object_object_add(arguments, "fdname", json_object_new_string(HOTPLUG_IOMMUFD_ID));
		qmp_run(state, "closefd", arguments, -1, &ignored);
	}
	if (state->object_added) {
		arguments = json_object_new_object();
		json_object_object_add(arguments, "id", json_object_new_string(state->object_id));
		qmp_run(state, "object-del", arguments, -1, &ignored);
	}
}

/*
 * A revoke --hostdev refused because a process still holds the hostdev's
 * node after the 5 s wait (core/revoke.c, unplug_nodes_let_go): into @who
 * the holders as its message names them, between "is still in its VM: "
 * and its advice ("pid 129 (qemu-system-x86) has /dev/vfio/devices/vfio0
 * open, after 5 s"); false for any other failure. The test of each caller
 * catches a change of that wording.
 */
static bool revoke_refused_holders(const vfg_error *err, char *who, size_t size)
{
	static const char held[] = " is still in its VM: ", advice[] = "; its manager's unplug can return";
	const char *holders = err->errnum == EBUSY ? strstr(err->message, held) : NULL;
	const char *end = holders ? strstr(holders, advice) : NULL;
	if (!end)
		return false;
	holders += strlen(held);
	snprintf(who, size, "%.*s", (int)(end - holders), holders);
	return true;
}

/*
 * The hostdev's grants taken back after a failure; a failure of that is
 * added to the error. QEMU keeps the fds a device_add took when the
 * device then fails to realize (measured with QEMU 11.1, qemu-hotplug in
 * the VM suite: a slot already taken; the device object is not finalized,
 * so neither the cdev's fd nor the iommufd object it links is let go), so
 * the revoke is refused naming QEMU: the hostdev stays the domain's, which
 * is what the host is, and the error says until when.
 */
static void hotplug_undo_grants(hotplug_state *state, vfg_context *ctx, vfg_error *err)
{
	const char *domain = state->cmd->domain.domain.name;
	const char *hostdevs[] = {state->cmd->domain.hostdev_texts[0], NULL};
	vfg_change_summary summary;
	vfg_error revoke_err = {0};
	if (vfg_domain_revoke_hostdevs(ctx, domain, hostdevs, &summary, &revoke_err) == 0)
		return;
	char first[sizeof(err->message)], who[sizeof(err->message)];
	/* The hostdev as its subject dropped: set again below, it would be said twice; another subject stays. */
	const char *text = err->message;
	size_t subject = strlen(err->subject);
	if (subject && strcmp(err->subject, state->hostdev) == 0 && strncmp(text, err->subject, subject) == 0 &&
	    strncmp(text + subject, ": ", 2) == 0)
		text += subject + 2;
	snprintf(first, sizeof(first), "%s", text);
	if (revoke_refused_holders(&revoke_err, who, sizeof(who)))
		vfg_error_refuse(err, EBUSY, state->hostdev,
				 "%s; domain %s keeps the hostdev and its grants, since %s (QEMU keeps the fds a "
				 "failed device_add took): once that is closed (QEMU exits), run vfguard revoke "
				 "--domain %s --hostdev %s",
				 first, VFG_NAME_SHELL(domain), who, VFG_NAME_SHELL(domain), state->hostdev);
	else
		vfg_error_set(err, err->errnum, state->hostdev, "%s; and its grants could not all be revoked: %s",
			      first, revoke_err.message);
}

/* The members --json output of hotplug and hotunplug opens with; the caller adds its own and the "}". */
static void json_head(const hotplug_state *state)
{
	const hotplug_command *cmd = state->cmd;
	printf("{\"version\": 1, \"command\": \"%s\", \"domain\": ", cmd->name);
	cli_json_string(stdout, cmd->domain.domain.name);
	printf(", \"hostdev\": ");
	cli_json_string(stdout, state->hostdev);
	printf(", \"qmp\": ");
	cli_json_string(stdout, cmd->qmp_path);
	printf(", \"device_id\": ");
	cli_json_string(stdout, state->device_id);
}

static void hotplug_print(const hotplug_state *state, const vfg_change_summary *summary)
{
	const hotplug_command *cmd = state->cmd;
	if (cmd->common.json) {
		json_head(state);
		printf(", \"iommufd_object\": ");
		cli_json_string(stdout, state->object_id);
		printf(", \"iommufd_object_added\": %s, \"fds_passed\": %zu, \"changed\": %zu, \"kept\": %zu}\n",
		       state->object_added ? "true" : "false", state->fds_passed, summary->changed, summary->kept);
		return;
	}
	printf("domain %s: hostdev %s plugged as %s", cmd->domain.domain.name, state->hostdev, state->device_id);
	if (state->object_id[0])
		printf(" on iommufd object %s%s", state->object_id, state->object_added ? " (added)" : "");
	printf(", %zu fd%s passed, %zu change%s made, %zu already held\n", state->fds_passed,
	       state->fds_passed == 1 ? "" : "s", summary->changed, summary->changed == 1 ? "" : "s", summary->kept);
}

/* With fd access the fds go only to the domain's hypervisor, as fds's SO_PEERCRED check does. */
static int qmp_peer_check(const hotplug_state *state, vfg_error *err)
{
	uid_t uid = state->cmd->domain.domain.uid;
	if (state->qmp.peer_uid == uid)
		return 0;
	return vfg_error_set(err, EACCES, state->hostdev,
			     "the QMP socket %s is served by pid %d with uid %u, not the domain's uid %u: "
			     "access=fd hands the fds to the domain's hypervisor only",
			     state->cmd->qmp_path, (int)state->qmp.peer_pid, (unsigned)state->qmp.peer_uid,
			     (unsigned)uid);
}

static int run_hotplug(hotplug_command *cmd, vfg_context *ctx, vfg_error *err)
{
	hotplug_state state = {.cmd = cmd, .qmp = {.fd = -1}};
	const vfg_hostdev_spec *spec = &cmd->domain.specs[0];
	vfg_hostdev_name(spec, state.hostdev);
	hostdev_qemu_id(spec, state.device_id);
	int held = domain_holds(ctx, cmd->domain.domain.name, state.hostdev, err);
	if (held < 0)
		return EXIT_FAILED;
	if (held) {
		vfg_error_set(err, EEXIST, state.hostdev,
			      "domain %s already holds it: hotplug adds a hostdev the domain does not hold "
			      "(hotunplug it, or revoke --hostdev, first)",
			      cmd->domain.domain.name);
		return EXIT_FAILED;
	}
	/* QEMU first: a wrong socket changes nothing on the host. */
	if (qmp_connect(&state.qmp, cmd->qmp_path, QMP_REPLY_TIMEOUT_MS, err) < 0) {
		vfg_error_prefix(err, "hostdev %s", state.hostdev);
		return EXIT_FAILED;
	}
	if (spec->access == VFG_ACCESS_FD && qmp_peer_check(&state, err) < 0) {
		qmp_close(&state.qmp);
		return EXIT_FAILED;
	}
	vfg_plan *plan = NULL;
	vfg_change_summary summary;
	if (vfg_domain_apply(ctx, &cmd->domain.domain, &plan, &summary, err) < 0) {
		qmp_close(&state.qmp);
		return EXIT_FAILED;
	}
	start_args args = {0};
	vfg_fdset *fdset = NULL;
	vfg_fd_options fd_options = {.rlimit_mode = cmd->rlimit_mode};
	int r = start_args_read(plan, &args, err);
	if (r == 0 && args.fds && json_object_array_length(args.fds) > 0)
		r = vfg_domain_open_fds(ctx, plan, &fd_options, &fdset, err);
	if (r == 0 && fdset)
		for (const char *line = fdset->warnings; *line; line = strchr(line, '\n') + 1) {
			fprintf(stderr, "vfguard hotplug: warning: %.*s\n", (int)strcspn(line, "\n"), line);
			if (!strchr(line, '\n'))
				break;
		}
	if (r == 0 && args.object[0])
		r = iommufd_object_ensure(&state, &args, fdset, err);
	if (r == 0)
		r = device_add(&state, &args, fdset, err);
	vfg_fdset_free(fdset); /* QEMU holds its own copies */
	json_object_put(args.fds);
	vfg_plan_free(plan);
	if (r < 0) {
		hotplug_undo_qemu(&state);
		hotplug_undo_grants(&state, ctx, err);
		qmp_close(&state.qmp);
		return EXIT_FAILED;
	}
	qmp_close(&state.qmp);
	hotplug_print(&state, &summary);
	return EXIT_OK;
}

/* The object the QOM device at @path links as "iommufd": its path, "" for none or no such property. */
static int device_iommufd(hotplug_state *state, const char *path, char *object, size_t size, vfg_error *err)
{
	struct json_object *arguments = json_object_new_object(), *value = NULL;
	json_object_object_add(arguments, "path", json_object_new_string(path));
	json_object_object_add(arguments, "property", json_object_new_string("iommufd"));
	qmp_error qerr;
	int r = qmp_execute(&state->qmp, "qom-get", arguments, -1, &value, &qerr, err);
	if (r < 0)
		return qmp_failed(state, "qom-get", r, &qerr, err);
	snprintf(object, size, "%s",
		 r == 0 && json_object_is_type(value, json_type_string) ? json_object_get_string(value) : "");
	json_object_put(value);
	return r == 0 ? 0 : 1;
}

/* Whether a device QEMU still has links @object: the ones with an id, and the ones without. */
static int object_in_use(hotplug_state *state, const char *object, vfg_error *err)
{
	const char *containers[] = {"/machine/peripheral", "/machine/peripheral-anon"};
	for (size_t c = 0; c < 2; c++) {
		struct json_object *arguments = json_object_new_object(), *children = NULL;
		json_object_object_add(arguments, "path", json_object_new_string(containers[c]));
		qmp_error qerr;
		int r = qmp_execute(&state->qmp, "qom-list", arguments, -1, &children, &qerr, err);
		if (r < 0)
			return -1;
		bool used = false;
		for (size_t i = 0; r == 0 && !used && i < json_object_array_length(children); i++) {
			struct json_object *name;
			if (!json_object_object_get_ex(json_object_array_get_idx(children, i), "name", &name))
				continue;
			char path[256], linked[256];
			snprintf(path, sizeof(path), "%s/%s", containers[c], json_object_get_string(name));
			if (device_iommufd(state, path, linked, sizeof(linked), err) < 0) {
				json_object_put(children);
				return -1;
			}
			used = strcmp(linked, object) == 0;
		}
		json_object_put(children);
		if (used)
			return 1;
	}
	return 0;
}

static void hotunplug_print(const hotplug_state *state, bool deleted, bool object_removed,
			    const vfg_change_summary *summary)
{
	const hotplug_command *cmd = state->cmd;
	if (cmd->common.json) {
		json_head(state);
		printf(", \"deleted\": %s, \"grants_kept\": %s, \"iommufd_object_removed\": %s, \"changed\": %zu}\n",
		       deleted ? "true" : "false", deleted ? "false" : "true", object_removed ? "true" : "false",
		       summary ? summary->changed : 0);
		return;
	}
	if (deleted)
		printf("domain %s: hostdev %s unplugged (%s)%s, %zu change%s undone\n", cmd->domain.domain.name,
		       state->hostdev, state->device_id,
		       object_removed ? ", iommufd object " HOTPLUG_IOMMUFD_ID " removed" : "", summary->changed,
		       summary->changed == 1 ? "" : "s");
}

/*
 * The revoke after DEVICE_DELETED failed. Refused because a process still
 * holds the hostdev's node after the 5 s wait (core/revoke.c,
 * unplug_nodes_let_go), its message ends in revoke --hostdev's advice,
 * "nothing was changed: revoke it once the VM has let it go, or stop the
 * VM", which is not what happened here: QEMU did delete the device (and
 * the object). Said as it is, with the holders the refusal names
 * (revoke_refused_holders). Any other failure keeps the library's message,
 * after what QEMU did.
 */
static void hotunplug_revoke_failed(const hotplug_state *state, bool object_removed, vfg_error *err)
{
	char qemu_did[128], who[sizeof(err->message)];
	snprintf(qemu_did, sizeof(qemu_did), "QEMU deleted device %s%s", state->device_id,
		 object_removed ? " and iommufd object " HOTPLUG_IOMMUFD_ID : "");
	if (!revoke_refused_holders(err, who, sizeof(who))) {
		vfg_error_prefix(err, "hostdev %s: %s, but revoking its grants failed", state->hostdev, qemu_did);
		return;
	}
	const char *domain = state->cmd->domain.domain.name;
	vfg_error_refuse(err, EBUSY, state->hostdev,
			 "%s, but %s; vfguard kept every grant of the hostdev: once that is closed, run vfguard "
			 "revoke --domain %s --hostdev %s",
			 qemu_did, who, VFG_NAME_SHELL(domain), state->hostdev);
}

static int run_hotunplug(hotplug_command *cmd, vfg_context *ctx, vfg_error *err)
{
	hotplug_state state = {.cmd = cmd, .qmp = {.fd = -1}};
	vfg_hostdev_spec spec;
	if (vfg_hostdev_spec_parse(ctx, cmd->domain.hostdev_texts[0], &spec, err) < 0)
		return EXIT_USAGE;
	vfg_hostdev_name(&spec, state.hostdev);
	hostdev_qemu_id(&spec, state.device_id);
	int held = domain_holds(ctx, cmd->domain.domain.name, state.hostdev, err);
	if (held <= 0) {
		if (held == 0)
			vfg_error_set(err, ENOENT, state.hostdev, "domain %s does not hold it: nothing to unplug",
				      cmd->domain.domain.name);
		return EXIT_FAILED;
	}
	if (qmp_connect(&state.qmp, cmd->qmp_path, QMP_REPLY_TIMEOUT_MS, err) < 0) {
		vfg_error_prefix(err, "hostdev %s", state.hostdev);
		return EXIT_FAILED;
	}
	char device_path[128], object[256];
	snprintf(device_path, sizeof(device_path), "/machine/peripheral/%s", state.device_id);
	int r = device_iommufd(&state, device_path, object, sizeof(object), err);
	if (r == 1) {
		/* No "iommufd" to read: no such device, or one that is no vfio-pci. */
		r = qom_exists(&state, device_path, err);
		if (r == 0)
			r = vfg_error_set(err, ENOENT, state.hostdev,
					  "QEMU on %s has no device %s: nothing to unplug (vfguard revoke --domain %s "
					  "--hostdev %s takes back the grants)",
					  cmd->qmp_path, state.device_id, VFG_NAME_SHELL(cmd->domain.domain.name),
					  state.hostdev);
	}
	if (r >= 0) {
		struct json_object *arguments = json_object_new_object();
		json_object_object_add(arguments, "id", json_object_new_string(state.device_id));
		r = qmp_run(&state, "device_del", arguments, -1, err);
	}
	int timeout_ms = (cmd->timeout_seconds ? cmd->timeout_seconds : HOTUNPLUG_DEFAULT_TIMEOUT) * 1000;
	if (r >= 0)
		r = qmp_wait_device_event(&state.qmp, "DEVICE_DELETED", state.device_id, timeout_ms, err);
	if (r == 0) {
		qmp_close(&state.qmp);
		hotunplug_print(&state, false, false, NULL);
		fprintf(stderr,
			"vfguard: hostdev %s: no DEVICE_DELETED for %s in %d s: the guest has not let it go; every "
			"grant is kept (rerun hotunplug, or once QEMU is gone: vfguard revoke --domain %s "
			"--hostdev %s)\n",
			state.hostdev, state.device_id, timeout_ms / 1000, VFG_NAME_SHELL(cmd->domain.domain.name),
			state.hostdev);
		return EXIT_TIMEOUT;
	}
	bool object_removed = false;
	if (r > 0 && strcmp(object, "/objects/" HOTPLUG_IOMMUFD_ID) == 0) {
		r = object_in_use(&state, object, err);
		if (r == 0) {
			struct json_object *arguments = json_object_new_object();
			json_object_object_add(arguments, "id", json_object_new_string(HOTPLUG_IOMMUFD_ID));
			r = qmp_run(&state, "object-del", arguments, -1, err) == 0 ? 1 : -1;
			object_removed = r > 0;
		} else if (r > 0) {
			r = 1;
		}
	}
	qmp_close(&state.qmp);
	if (r < 0)
		return EXIT_FAILED;
	const char *hostdevs[] = {cmd->domain.hostdev_texts[0], NULL};
	vfg_change_summary summary;
	if (vfg_domain_revoke_hostdevs(ctx, cmd->domain.domain.name, hostdevs, &summary, err) < 0) {
		hotunplug_revoke_failed(&state, object_removed, err);
		return EXIT_FAILED;
	}
	hotunplug_print(&state, true, object_removed, &summary);
	return EXIT_OK;
}

static int run_hotplug_command(hotplug_command *cmd, int argc, char **argv)
{
	int status = parse_hotplug_options(cmd, argc, argv);
	if (status != EXIT_OK)
		return status;
	vfg_error err = {0};
	vfg_context *ctx = cli_context_new(&cmd->common, cmd->name, &err);
	if (!ctx)
		return cli_context_failed(&cmd->common, &err);
	if (strcmp(cmd->name, "hotunplug") == 0)
		status = vfg_domain_name_check(cmd->domain.domain.name, &err) < 0 ? EXIT_USAGE
										  : run_hotunplug(cmd, ctx, &err);
	else if (cli_domain_finish(&cmd->domain, ctx, &err) < 0)
		status = EXIT_USAGE;
	else
		status = run_hotplug(cmd, ctx, &err);
	if (status != EXIT_OK && status != EXIT_TIMEOUT)
		cli_report(&cmd->common, &err);
	if (status == EXIT_OK && fflush(stdout) != 0)
		status = EXIT_FAILED;
	vfg_context_free(ctx);
	return status;
}

static int run_named(const char *name, const char *help, int argc, char **argv)
{
	hotplug_command cmd = {.name = name, .help = help};
	int status = run_hotplug_command(&cmd, argc, argv);
	cli_domain_free(&cmd.domain);
	return status;
}

int cmd_hotplug(int argc, char **argv)
{
	return run_named("hotplug", hotplug_help, argc, argv);
}

int cmd_hotunplug(int argc, char **argv)
{
	return run_named("hotunplug", hotunplug_help, argc, argv);
}
