/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfguard revoke, restore, status: working from the journal rather than from a plan. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfguard/util.h>

#include "cli.h"

static const char revoke_help[] =
	"Usage: vfguard revoke --domain NAME [--hostdev X]... [OPTIONS]\n"
	"\n"
	"Take back everything the domain was granted, newest change first, restoring\n"
	"each node exactly as the journal recorded it, and release its IOMMU groups.\n"
	"A shared node (/dev/vfio/vfio, /dev/iommu) is restored by the last domain\n"
	"that holds it. Goes on past a failure so that as much as possible is taken\n"
	"back; what failed stays in the journal for vfguard restore. A domain that\n"
	"holds nothing: nothing to do.\n"
	"With --hostdev (hot-unplug), only what those hostdevs alone needed: their\n"
	"group nodes' and cdevs' grants in every layer, and their group claims; a\n"
	"shared node stays while another hostdev of the domain uses it, and the\n"
	"locked-memory limit (domain scope) stays.\n"
	"\n"
	"  --domain NAME        the VM (required)\n"
	"  --hostdev X          take back only this hostdev (repeatable); one the\n"
	"                       domain does not hold fails, nothing changed, and so\n"
	"                       does one still in its VM (a process has its cdev or\n"
	"                       group node open after 5 s), naming the process\n"
	"  --forget LABELER     drop the domain's grants of LABELER (repeatable), a\n"
	"                       labeler that can no longer be loaded (its module\n"
	"                       removed, or left out of labelers), from the journal\n"
	"                       WITHOUT undoing them: each is printed with what it\n"
	"                       would have put back, to undo by hand; the rest is\n"
	"                       revoked as ever. A labeler that is loaded, or that\n"
	"                       the domain holds no grant of, fails, nothing changed\n" CLI_COMMON_HELP "\n"
	"Exit status: 0 revoked, 1 failed (the error names the node and why), 2 usage.\n";

static const char restore_help[] =
	"Usage: vfguard restore [--all] [--boot] [OPTIONS]\n"
	"\n"
	"Finish every transaction a crashed (or failed) vfguard left unfinished: an\n"
	"apply is undone (an access switch past its last grant is completed), a\n"
	"revoke completed. State of an earlier boot (STATE/boot names\n"
	"another boot id) is released whole first: no VM of that boot runs any more.\n"
	"apply and revoke do all this first on their own.\n"
	"\n"
	"  --all                also revoke every domain (the host as before vfguard)\n"
	"  --boot               at boot (vfguard-restore.service): fail when the\n"
	"                       running boot's id cannot be read, and name it\n" CLI_COMMON_HELP "\n"
	"Exit status: 0 restored, 1 failed (the error names the node and why), 2 usage.\n";

static const char status_help[] =
	"Usage: vfguard status [--domain NAME] [OPTIONS]\n"
	"\n"
	"The domains the journal holds: their hostdevs with IOMMU group, backend and\n"
	"access, and every grant each layer made with what undoing it restores.\n"
	"A domain a crashed or failed run left unfinished is marked so. Without --domain, also\n"
	"the functions vfguard detached that no domain holds (by hand, or a managed\n"
	"hostdev a revoke could not give back), with their original driver.\n"
	"\n"
	"  --domain NAME        only this VM\n" CLI_COMMON_HELP "\n"
	"Exit status: 0 ok, 1 failed, 2 usage.\n";

void cli_print_summary(const cli_common *common, const char *command, const char *domain,
		       const vfg_change_summary *summary, const char *json_members)
{
	if (common->json) {
		printf("{\"version\": 1, \"command\": \"%s\", \"domain\": ", command);
		cli_json_string(stdout, domain);
		printf(", \"changed\": %zu, \"kept\": %zu, \"revoked\": %zu, \"recovered\": %zu, \"notes\": [",
		       summary->changed, summary->kept, summary->revoked, summary->recovered);
		char notes[sizeof(summary->notes)];
		snprintf(notes, sizeof(notes), "%s", summary->notes);
		char *state = NULL;
		bool first = true;
		for (char *line = strtok_r(notes, "\n", &state); line; line = strtok_r(NULL, "\n", &state)) {
			fputs(first ? "" : ", ", stdout);
			cli_json_string(stdout, line);
			first = false;
		}
		printf("]%s}\n", json_members ? json_members : "");
		return;
	}
	if (summary->recovered)
		printf("finished %zu transaction%s a crashed or failed run left open\n", summary->recovered,
		       summary->recovered > 1 ? "s" : "");
	if (strcmp(command, "apply") == 0)
		printf("domain %s: %zu change%s made, %zu already held, %zu path grant%s taken back\n", domain,
		       summary->changed, summary->changed == 1 ? "" : "s", summary->kept, summary->revoked,
		       summary->revoked == 1 ? "" : "s");
	else if (domain)
		printf("domain %s: %zu change%s undone\n", domain, summary->changed, summary->changed == 1 ? "" : "s");
	else
		printf("%zu change%s undone\n", summary->changed, summary->changed == 1 ? "" : "s");
	fputs(summary->notes, stdout);
}

typedef struct state_command {
	const char *name;
	const char *help;
	cli_common common;
	const char *domain;
	bool all;
	bool boot;
	const char *hostdevs[65]; /* revoke --hostdev, NULL-terminated */
	size_t n_hostdevs;
	const char *forget[17]; /* revoke --forget, NULL-terminated */
	size_t n_forget;
} state_command;

static int parse_state_options(state_command *cmd, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{"domain", required_argument, NULL, 'd'},
		{"all", no_argument, NULL, 'A'},
		{"boot", no_argument, NULL, 'B'},
		{"hostdev", required_argument, NULL, 'H'},
		{"forget", required_argument, NULL, 'F'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	optind = 1;
	opterr = 0; /* one line per error: ours, naming the option (cli_option_error) */
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cmd->help, stdout);
			exit(EXIT_OK);
		}
		if (opt == 'd' && strcmp(cmd->name, "restore") != 0) {
			cmd->domain = optarg;
			continue;
		}
		if (opt == 'A' && strcmp(cmd->name, "restore") == 0) {
			cmd->all = true;
			continue;
		}
		if (opt == 'B' && strcmp(cmd->name, "restore") == 0) {
			cmd->boot = true;
			continue;
		}
		if (opt == 'H' && strcmp(cmd->name, "revoke") == 0) {
			if (cmd->n_hostdevs + 1 >= sizeof(cmd->hostdevs) / sizeof(cmd->hostdevs[0]))
				return cli_usage_error(cmd->name, "too many --hostdev (at most %zu)",
						       sizeof(cmd->hostdevs) / sizeof(cmd->hostdevs[0]) - 1);
			cmd->hostdevs[cmd->n_hostdevs++] = optarg;
			continue;
		}
		if (opt == 'F' && strcmp(cmd->name, "revoke") == 0) {
			if (cmd->n_forget + 1 >= sizeof(cmd->forget) / sizeof(cmd->forget[0]))
				return cli_usage_error(cmd->name, "too many --forget (at most %zu)",
						       sizeof(cmd->forget) / sizeof(cmd->forget[0]) - 1);
			if (!optarg[0])
				return cli_usage_error(cmd->name, "--forget needs a labeler's name");
			cmd->forget[cmd->n_forget++] = optarg;
			continue;
		}
		int r = cli_common_option(&cmd->common, opt, optarg);
		if (r < 0)
			return EXIT_USAGE; /* the option's own line said why */
		if (r == 0)
			return cli_option_error(cmd->name, options, opt, argv);
	}
	if (optind < argc)
		return cli_usage_error(cmd->name, "unexpected argument '%s'", argv[optind]);
	if (strcmp(cmd->name, "revoke") == 0 && !cmd->domain)
		return cli_usage_error(cmd->name, "--domain is required");
	if (cmd->n_forget && cmd->n_hostdevs)
		return cli_usage_error(cmd->name, "--forget takes back the whole domain: it goes without --hostdev");
	vfg_error err;
	if (cmd->domain && vfg_domain_name_check(cmd->domain, &err) < 0)
		return cli_usage_error(cmd->name, "%s", err.message);
	return EXIT_OK;
}

/*
 * restore --boot: the running boot's id, which every command compares with
 * the one the state was made in (core/boot.c). A root without it tells no
 * boot from another, which at boot means an earlier boot's grants would be
 * taken for this one's: an error, not a silent pass.
 */
static int restore_boot_id(const vfg_context *ctx, char id[VFG_BOOT_ID_STRLEN], vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (vfg_host_path(ctx, VFG_BOOT_ID_PATH, path, sizeof(path), err) < 0)
		return -1;
	int r = vfg_boot_id_read(path, id, err);
	if (r == 0)
		return vfg_error_set(err, ENOENT, path,
				     "no boot id: restore --boot cannot tell an earlier boot's state from this one's");
	return r < 0 ? -1 : 0;
}

/* revoke --forget: the records dropped undone, each a line for people as it goes, or a JSON member at the end. */
typedef struct forgotten_output {
	bool json;
	FILE *members; /* with --json: ", \"forgotten\": [...", closed by the caller */
	char *text;
	size_t size;
	size_t n;
} forgotten_output;

static void print_forgotten(const char *labeler, const char *node, const char *undo, size_t others, void *data)
{
	forgotten_output *out = data;
	if (!out->json && others) {
		printf("forgotten: labeler %s's grant on %s, NOT undone; %zu other domain%s hold%s a grant of %s on it "
		       "too: do not undo it by hand while they do (it could take theirs), the last one's revoke puts "
		       "back what was there; it would have put back: %s\n",
		       labeler, node, others, others == 1 ? "" : "s", others == 1 ? "s" : "", labeler,
		       undo[0] ? undo : "(nothing recorded)");
		return;
	}
	if (!out->json) {
		printf("forgotten: labeler %s's grant on %s, NOT undone; what it would have put back (undo it by "
		       "hand): %s\n",
		       labeler, node, undo[0] ? undo : "(nothing recorded)");
		return;
	}
	if (!out->members)
		return;
	fputs(out->n++ ? ", {\"labeler\": " : "{\"labeler\": ", out->members);
	cli_json_string(out->members, labeler);
	fputs(", \"node\": ", out->members);
	cli_json_string(out->members, node);
	fputs(", \"undo\": ", out->members);
	cli_json_string(out->members, undo);
	fprintf(out->members, ", \"others\": %zu}", others);
}

static int run_state_command(state_command *cmd, int argc, char **argv)
{
	int status = parse_state_options(cmd, argc, argv);
	if (status != EXIT_OK)
		return status;
	vfg_error err = {0};
	vfg_context *ctx = cli_context_new(&cmd->common, cmd->name, &err);
	if (!ctx)
		return cli_context_failed(&cmd->common, &err);
	vfg_change_summary summary;
	char boot_id[VFG_BOOT_ID_STRLEN] = "";
	forgotten_output forgotten = {.json = cmd->common.json};
	if (forgotten.json && cmd->n_forget) {
		forgotten.members = open_memstream(&forgotten.text, &forgotten.size);
		if (forgotten.members)
			fputs(", \"forgotten\": [", forgotten.members);
	}
	int r;
	if (cmd->boot && restore_boot_id(ctx, boot_id, &err) < 0)
		r = -1;
	else if (strcmp(cmd->name, "status") == 0)
		r = cmd->common.json ? vfg_status_write_json(ctx, cmd->domain, stdout, &err)
				     : vfg_status_write_text(ctx, cmd->domain, stdout, &err);
	else if (strcmp(cmd->name, "revoke") == 0 && cmd->n_forget)
		r = vfg_domain_revoke_forgetting(ctx, cmd->domain, cmd->forget, print_forgotten, &forgotten, &summary,
						 &err);
	else if (strcmp(cmd->name, "revoke") == 0 && cmd->n_hostdevs)
		r = vfg_domain_revoke_hostdevs(ctx, cmd->domain, cmd->hostdevs, &summary, &err);
	else if (strcmp(cmd->name, "revoke") == 0)
		r = vfg_domain_revoke(ctx, cmd->domain, &summary, &err);
	else
		r = vfg_restore(ctx, cmd->all, &summary, &err);
	if (r < 0) {
		cli_report(&cmd->common, &err);
		status = EXIT_FAILED;
	} else if (strcmp(cmd->name, "status") != 0) {
		if (boot_id[0] && !cmd->common.json)
			printf("boot %s\n", boot_id);
		if (forgotten.members)
			fputs("]", forgotten.members);
		if (forgotten.members && fflush(forgotten.members) != 0)
			status = EXIT_FAILED;
		cli_print_summary(&cmd->common, cmd->name, cmd->domain, &summary, forgotten.text);
	}
	if (forgotten.members)
		fclose(forgotten.members);
	free(forgotten.text);
	if (status == EXIT_OK && fflush(stdout) != 0)
		status = EXIT_FAILED;
	vfg_context_free(ctx);
	return status;
}

int cmd_revoke(int argc, char **argv)
{
	state_command cmd = {.name = "revoke", .help = revoke_help};
	return run_state_command(&cmd, argc, argv);
}

int cmd_restore(int argc, char **argv)
{
	state_command cmd = {.name = "restore", .help = restore_help};
	return run_state_command(&cmd, argc, argv);
}

int cmd_status(int argc, char **argv)
{
	state_command cmd = {.name = "status", .help = status_help};
	return run_state_command(&cmd, argc, argv);
}
