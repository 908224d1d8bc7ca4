/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfguard plan, vfguard apply: what each layer would do, and doing it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vfguard/util.h>

#include "cli.h"

static const char plan_help[] =
	"Usage: vfguard plan --domain NAME --hostdev SPEC... [OPTIONS]\n"
	"\n"
	"Show the device nodes each hostdev needs and what every security layer\n"
	"(DAC, device cgroup, SELinux, AppArmor, the VM's private /dev) would do\n"
	"about each, with the kernel check that makes it needed. Changes nothing.\n"
	"The text fits 120 columns: the table names each change by its first word,\n"
	"and the reasons give it in full.\n"
	"\n"
	"  --wide               every change in the table, no line wrapped\n" CLI_DOMAIN_HELP CLI_COMMON_HELP "\n"
	"Exit status: 0 ok, 1 failed (the error names the device or path), 2 usage.\n";

static const char apply_help[] =
	"Usage: vfguard apply [--dry-run] --domain NAME --hostdev SPEC... [OPTIONS]\n"
	"\n"
	"Grant the domain access to its hostdevs' nodes, layer by layer, in order, as\n"
	"one transaction journaled in the state directory: every change is recorded\n"
	"before it is made, and the first failure undoes all of them. The hostdevs'\n"
	"IOMMU groups become the domain's; a group another domain holds is refused.\n"
	"Grants the domain already holds are kept; a node that now has fd access\n"
	"loses the path grant an earlier run gave it. Hostdevs the domain holds and\n"
	"this run does not name are kept too: naming only a new one hot-plugs it,\n"
	"in a transaction of its own (revoke --hostdev unplugs one).\n"
	"With --dry-run, print the steps it would take and change nothing, then what\n"
	"happens to each fd-access hostdev: the nodes the manager opens, and what each\n"
	"layer grants them or not, and why.\n"
	"\n"
	"  --dry-run            print the steps, change nothing\n"
	"  --wide               with --dry-run: no line wrapped at 120 columns\n" CLI_DOMAIN_HELP CLI_COMMON_HELP "\n"
	"Exit status: 0 ok, 1 failed (the error names the step, device or path), 2 usage.\n";

static const char audit_help[] =
	"Usage: vfguard audit [--domain NAME] [--policy FILE] [OPTIONS]\n"
	"       vfguard audit --domain NAME --hostdev SPEC... [--policy FILE] [OPTIONS]\n"
	"\n"
	"Without --hostdev: audit the host (IOMMU on, /dev/vfio/vfio, every claimed\n"
	"device still on vfio-pci in a viable group) and every domain the journal\n"
	"holds (or only --domain's), each as it was applied: with the labelers its\n"
	"journal records, whatever 'labelers' says now. With --hostdev: the domain\n"
	"as the options describe it.\n"
	"\n"
	"Compare what the domain holds (its journal) with the live host, layer by\n"
	"layer and node by node: owners and modes, labels, rules, cgroup rules,\n"
	"namespace entries. Labelers that can also check a policy do (SELinux: with\n"
	"the loaded binary policy, or --policy FILE). Each finding says what was\n"
	"expected, what is there, and what would fix it. Changes nothing.\n"
	"\n"
	"  --policy FILE        a binary SELinux policy to check instead of the loaded one\n"
	"  --format FORMAT      text (the default), json (as --json), or prometheus: the\n"
	"                       Prometheus text format for node_exporter's textfile collector\n"
	"                       (findings by labeler and kind, domains, grants; docs/audit.md)\n"
	"  --domain NAME        the VM: with --hostdev, the plan given; alone, what the\n"
	"                       journal holds for it; without both, every domain\n" CLI_DOMAIN_DETAILS_HELP
		CLI_COMMON_HELP "\n"
	"Exit status: 0 no drift, 1 failed, 2 usage, 3 the audit found drift (with every\n"
	"format: the metrics are written on 0 and 3, nothing on 1).\n";

/* What audit writes: --format, --json. */
typedef enum audit_format { AUDIT_FORMAT_TEXT, AUDIT_FORMAT_JSON, AUDIT_FORMAT_PROMETHEUS } audit_format;

typedef struct plan_command {
	const char *name;
	const char *help;
	bool dry_run;
	bool wide; /* text: every value in full, no line wrapped (VFG_TEXT_WIDE) */
	cli_common common;
	cli_domain domain;
	char policy_setting[VFG_PATH_MAX + 32];
	bool live; /* audit without --hostdev: every live domain (or --domain's) and the host */
	audit_format format;
	const char *format_text; /* --format's value; NULL when not given */
} plan_command;

/* --format's value, checked against --json (its alias for json): EXIT_OK, or EXIT_USAGE reported. */
static int audit_format_finish(plan_command *cmd)
{
	static const char *const names[] = {
		[AUDIT_FORMAT_TEXT] = "text",
		[AUDIT_FORMAT_JSON] = "json",
		[AUDIT_FORMAT_PROMETHEUS] = "prometheus",
	};
	cmd->format = cmd->common.json ? AUDIT_FORMAT_JSON : AUDIT_FORMAT_TEXT;
	if (!cmd->format_text)
		return EXIT_OK;
	size_t i = 0;
	while (i < sizeof(names) / sizeof(names[0]) && strcmp(cmd->format_text, names[i]) != 0)
		i++;
	if (i == sizeof(names) / sizeof(names[0]))
		return cli_usage_error(cmd->name, "--format takes text, json or prometheus, not '%s'",
				       cmd->format_text);
	if (cmd->common.json && i != AUDIT_FORMAT_JSON)
		return cli_usage_error(cmd->name, "--json is --format json: it cannot go with --format %s", names[i]);
	cmd->format = (audit_format)i;
	cmd->common.json = cmd->format == AUDIT_FORMAT_JSON; /* an error is reported as JSON too, as with --json */
	return EXIT_OK;
}

static int parse_plan_options(plan_command *cmd, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		CLI_DOMAIN_OPTIONS,
		{"dry-run", no_argument, NULL, 'n'},
		{"policy", required_argument, NULL, 'y'},
		{"wide", no_argument, NULL, 'w'},
		{"format", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	bool is_apply = strcmp(cmd->name, "apply") == 0;
	bool is_audit = strcmp(cmd->name, "audit") == 0;
	int opt;
	optind = 1;
	opterr = 0; /* one line per error: ours, naming the option (cli_option_error) */
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cmd->help, stdout);
			exit(EXIT_OK);
		}
		if (opt == 'n' && is_apply) {
			cmd->dry_run = true;
			continue;
		}
		if (opt == 'w' && !is_audit) {
			cmd->wide = true;
			continue;
		}
		if (opt == 'y' && is_audit) {
			snprintf(cmd->policy_setting, sizeof(cmd->policy_setting), "selinux_policy=%s", optarg);
			if (cli_common_option(&cmd->common, 'o', cmd->policy_setting) < 0)
				return EXIT_USAGE; /* the option's own line said why */
			continue;
		}
		if (opt == 'f' && is_audit) {
			cmd->format_text = optarg;
			continue;
		}
		int r = cli_common_option(&cmd->common, opt, optarg);
		if (r == 0)
			r = cli_domain_option(&cmd->domain, opt, optarg);
		if (r < 0)
			return EXIT_USAGE; /* the option's own line said why */
		if (r == 0)
			return cli_option_error(cmd->name, options, opt, argv);
	}
	if (optind < argc)
		return cli_usage_error(cmd->name, "unexpected argument '%s'", argv[optind]);
	if (cmd->wide && strcmp(cmd->name, "apply") == 0 && !cmd->dry_run)
		return cli_usage_error(cmd->name, "--wide goes with --dry-run: apply itself prints no table");
	if (is_audit && audit_format_finish(cmd) != EXIT_OK)
		return EXIT_USAGE;
	vfg_error err;
	if (cmd->domain.domain.name[0] && vfg_domain_name_check(cmd->domain.domain.name, &err) < 0)
		return cli_usage_error(cmd->name, "%s", err.message);
	if (is_audit && cmd->domain.n_hostdev_texts == 0) {
		cmd->live = true; /* the domains the journal holds, as they were applied */
		return EXIT_OK;
	}
	if (!cmd->domain.domain.name[0])
		return cli_usage_error(cmd->name, "--domain is required");
	if (cmd->domain.n_hostdev_texts == 0)
		return cli_usage_error(cmd->name, "at least one --hostdev is required");
	return EXIT_OK;
}

/* Does @ctx load every labeler of @recorded (comma-separated)? Its plan lists what it loaded. */
static bool context_loads(const vfg_plan *plan, const char *recorded)
{
	for (const char *at = recorded; *at;) {
		size_t length = strcspn(at, ",");
		bool loaded = false;
		for (size_t l = 0; l < vfg_plan_n_labelers(plan) && !loaded; l++)
			loaded = strlen(vfg_plan_labeler(plan, l)->name) == length &&
				 strncmp(vfg_plan_labeler(plan, l)->name, at, length) == 0;
		for (size_t l = 0; l < vfg_plan_n_domain_labelers(plan) && !loaded; l++)
			loaded = strlen(vfg_plan_domain_labeler(plan, l)->name) == length &&
				 strncmp(vfg_plan_domain_labeler(plan, l)->name, at, length) == 0;
		if (!loaded)
			return false;
		at += length;
		at += *at == ',';
	}
	return true;
}

/*
 * The context for a domain applied with labelers @ctx did not load (`--set
 * labelers=...` at apply): @common's settings and the journal's list. NULL
 * when one of them is not loadable here: the audit with @ctx names it.
 */
static vfg_context *context_with_labelers(const cli_common *common, const char *recorded)
{
	const char *settings[CLI_MAX_SETTINGS + 2];
	size_t n = 0;
	for (; common->context.overrides && common->context.overrides[n]; n++)
		settings[n] = common->context.overrides[n];
	char labelers[sizeof(((vfg_audit_report *)0)->labelers) + 16];
	snprintf(labelers, sizeof(labelers), "labelers=%s", recorded);
	settings[n++] = labelers; /* the last setting of a key wins */
	settings[n] = NULL;
	vfg_context_options options = common->context;
	options.overrides = settings;
	vfg_error ignored;
	return vfg_context_new(&options, &ignored);
}

/*
 * One live domain's audit: its plan as the journal describes it; a plan that
 * fails is itself a finding. *@journal_ctx: the context made for the
 * journal's labelers, or NULL; the report's labeler names are its own, so the
 * caller frees it after the report.
 */
static vfg_audit_report *audit_live_domain(const cli_common *common, vfg_context *ctx, const vfg_live_domain *live,
					   vfg_context **journal_ctx_out, vfg_error *err)
{
	vfg_plan *plan = NULL;
	vfg_audit_report *report = NULL;
	vfg_error plan_err;
	vfg_error_clear(&plan_err);
	int built = vfg_plan_build(ctx, &live->domain, &plan, &plan_err);
	const char *recorded = vfg_domain_attr(&live->domain, VFG_DOMAIN_ATTR_LABELERS);
	vfg_context *journal_ctx =
		built == 0 && !context_loads(plan, recorded) ? context_with_labelers(common, recorded) : NULL;
	*journal_ctx_out = journal_ctx;
	if (journal_ctx) {
		vfg_plan_free(plan);
		plan = NULL;
		vfg_error_clear(&plan_err);
		built = vfg_plan_build(journal_ctx, &live->domain, &plan, &plan_err);
		ctx = journal_ctx;
	}
	if (built == 0) {
		int r = vfg_plan_audit(ctx, plan, &report, err);
		vfg_plan_free(plan);
		return r == 0 ? report : NULL;
	}
	report = calloc(1, sizeof(*report));
	vfg_audit_finding *finding = calloc(1, sizeof(*finding));
	if (!report || !finding) {
		free(report);
		free(finding);
		vfg_error_set(err, ENOMEM, live->domain.name, "cannot allocate the audit report");
		return NULL;
	}
	snprintf(report->domain, sizeof(report->domain), "%s", live->domain.name);
	if (live->n_hostdevs == 0) {
		/*
		 * No hostdev: an apply cut before its first claim (killed right after
		 * its begin) left the journal, its transaction open; restore finishes
		 * it, as audit says of any open transaction (a crash trial got a
		 * "revoke --domain ''" that could not run).
		 */
		*finding = (vfg_audit_finding){.labeler = "journal", .kind = VFG_FINDING_HOST};
		snprintf(finding->expected, sizeof(finding->expected), "every transaction of the domain finished");
		snprintf(finding->actual, sizeof(finding->actual),
			 "an interrupted apply left a journal with no hostdev claimed yet");
		snprintf(finding->fix, sizeof(finding->fix), "vfguard restore, then audit again");
	} else {
		*finding = (vfg_audit_finding){.labeler = "host", .kind = VFG_FINDING_HOST};
		snprintf(finding->expected, sizeof(finding->expected), "the domain's hostdevs as it was applied");
		snprintf(finding->actual, sizeof(finding->actual), "%s", plan_err.message);
		snprintf(finding->fix, sizeof(finding->fix), "vfguard revoke --domain %s, then apply again once fixed",
			 VFG_NAME_SHELL(live->domain.name));
	}
	report->findings = finding;
	report->n_findings = 1;
	return report;
}

/* The metrics (--format prometheus) on stdout: EXIT_OK, or EXIT_FAILED with the reason on stderr. */
static int audit_write_metrics(const vfg_context *ctx, const vfg_audit_report *const *reports, size_t n_reports,
			       const vfg_grant_counts *grants, time_t started)
{
	if (vfg_audit_write_prometheus(ctx, reports, n_reports, grants, started, stdout) == 0)
		return EXIT_OK;
	cli_error("cannot write the metrics: %s", strerror(errno));
	return EXIT_FAILED;
}

/* audit --hostdev: the domain as the options describe it, in the format asked. */
static int audit_one_domain(plan_command *cmd, vfg_context *ctx, const vfg_plan *plan)
{
	vfg_error err = {0};
	vfg_audit_report *report = NULL;
	vfg_grant_counts *grants = NULL;
	time_t started = time(NULL);
	int status = EXIT_OK;
	if ((cmd->format == AUDIT_FORMAT_PROMETHEUS &&
	     vfg_grant_counts_read(ctx, vfg_plan_domain(plan)->name, &grants, &err) < 0) ||
	    vfg_plan_audit(ctx, plan, &report, &err) < 0) {
		cli_report(&cmd->common, &err);
		status = EXIT_FAILED;
	} else if (cmd->format == AUDIT_FORMAT_PROMETHEUS) {
		status = audit_write_metrics(ctx, (const vfg_audit_report *const *)&report, 1, grants, started);
	} else {
		cmd->format == AUDIT_FORMAT_JSON ? vfg_audit_write_json(report, stdout)
						 : vfg_audit_write_text(report, stdout);
	}
	if (status == EXIT_OK)
		status = report->n_findings ? EXIT_DRIFT : EXIT_OK;
	vfg_grant_counts_free(grants);
	vfg_audit_report_free(report);
	return status;
}

/* audit without --hostdev: the host, then every live domain (or --domain's) against its journal. */
static int run_audit_live(plan_command *cmd, vfg_context *ctx)
{
	vfg_error err = {0};
	vfg_live_domain *domains = NULL;
	size_t n_domains = 0;
	const char *name = cmd->domain.domain.name[0] ? cmd->domain.domain.name : NULL;
	if (vfg_live_domains(ctx, name, &domains, &n_domains, &err) < 0) {
		cli_report(&cmd->common, &err);
		return EXIT_FAILED;
	}
	if (name && n_domains == 0) {
		vfg_error_set(&err, 0, name,
			      "domain %s holds nothing, so its journal has nothing to audit (give its --hostdev to "
			      "audit what it would need)",
			      name);
		cli_report(&cmd->common, &err);
		vfg_live_domains_free(domains, n_domains);
		return EXIT_FAILED;
	}
	vfg_audit_report **reports = calloc(n_domains + 1, sizeof(*reports));
	vfg_context **journal_ctxs = calloc(n_domains + 1, sizeof(*journal_ctxs));
	int status = reports && journal_ctxs ? EXIT_OK : EXIT_FAILED;
	time_t started = time(NULL);
	vfg_grant_counts *grants = NULL;
	if (status == EXIT_OK && cmd->format == AUDIT_FORMAT_PROMETHEUS &&
	    vfg_grant_counts_read(ctx, name, &grants, &err) < 0)
		status = EXIT_FAILED;
	if (status == EXIT_OK && vfg_host_audit(ctx, domains, n_domains, &reports[0], &err) < 0)
		status = EXIT_FAILED;
	for (size_t i = 0; status == EXIT_OK && i < n_domains; i++)
		if (!(reports[i + 1] = audit_live_domain(&cmd->common, ctx, &domains[i], &journal_ctxs[i], &err)))
			status = EXIT_FAILED;
	if (status != EXIT_OK) {
		if (!reports || !journal_ctxs)
			vfg_error_set(&err, ENOMEM, "", "cannot allocate the audit reports");
		cli_report(&cmd->common, &err);
	} else {
		size_t findings = 0;
		for (size_t i = 0; i <= n_domains; i++)
			findings += reports[i]->n_findings;
		const vfg_audit_report *const *all = (const vfg_audit_report *const *)reports;
		if (cmd->format == AUDIT_FORMAT_PROMETHEUS) {
			status = audit_write_metrics(ctx, all, n_domains + 1, grants, started);
		} else if (cmd->format == AUDIT_FORMAT_JSON) {
			vfg_audit_write_json_host(all, n_domains + 1, stdout);
		} else {
			for (size_t i = 0; i <= n_domains; i++)
				vfg_audit_write_text(reports[i], stdout);
			if (n_domains == 0)
				printf("no live domain\n");
		}
		if (status == EXIT_OK)
			status = findings ? EXIT_DRIFT : EXIT_OK;
	}
	vfg_grant_counts_free(grants);
	for (size_t i = 0; reports && i <= n_domains; i++)
		vfg_audit_report_free(reports[i]);
	free(reports);
	for (size_t i = 0; journal_ctxs && i < n_domains; i++)
		vfg_context_free(journal_ctxs[i]);
	free(journal_ctxs);
	vfg_live_domains_free(domains, n_domains);
	return status;
}

static int run_plan_command(plan_command *cmd, int argc, char **argv)
{
	int status = parse_plan_options(cmd, argc, argv);
	if (status != EXIT_OK)
		return status;

	vfg_error err = {0};
	vfg_context *ctx = cli_context_new(&cmd->common, cmd->name, &err);
	if (!ctx)
		return cli_context_failed(&cmd->common, &err);
	if (cmd->live) {
		status = run_audit_live(cmd, ctx);
		if ((status == EXIT_OK || status == EXIT_DRIFT) && fflush(stdout) != 0)
			status = EXIT_FAILED;
		vfg_context_free(ctx);
		return status;
	}
	vfg_plan *plan = NULL;
	unsigned columns = cmd->wide ? VFG_TEXT_WIDE : VFG_TEXT_COLUMNS;
	bool applying = strcmp(cmd->name, "apply") == 0 && !cmd->dry_run;
	vfg_change_summary summary;
	if (cli_domain_finish(&cmd->domain, ctx, &err) < 0) {
		cli_report(&cmd->common, &err);
		status = EXIT_USAGE;
	} else if (applying) {
		/* prepare, build, apply; a failure also gives back what its prepare detached (apply.h) */
		if (vfg_domain_apply(ctx, &cmd->domain.domain, &plan, &summary, &err) < 0) {
			cli_report(&cmd->common, &err);
			status = EXIT_FAILED;
		} else {
			cli_print_summary(&cmd->common, "apply", vfg_plan_domain(plan)->name, &summary, NULL);
		}
	} else if (vfg_plan_build(ctx, &cmd->domain.domain, &plan, &err) < 0) {
		cli_report(&cmd->common, &err);
		status = EXIT_FAILED;
	} else if (strcmp(cmd->name, "plan") == 0) {
		cmd->common.json ? vfg_plan_write_json(plan, stdout) : vfg_plan_write_text_width(plan, columns, stdout);
	} else if (strcmp(cmd->name, "audit") == 0) {
		status = audit_one_domain(cmd, ctx, plan);
	} else {
		cmd->common.json ? vfg_plan_write_steps_json(plan, stdout)
				 : vfg_plan_write_steps_text_width(plan, columns, stdout);
	}
	if ((status == EXIT_OK || status == EXIT_DRIFT) && fflush(stdout) != 0)
		status = EXIT_FAILED;
	vfg_plan_free(plan);
	vfg_context_free(ctx);
	return status;
}

int cmd_plan(int argc, char **argv)
{
	plan_command cmd = {.name = "plan", .help = plan_help};
	int status = run_plan_command(&cmd, argc, argv);
	cli_domain_free(&cmd.domain);
	return status;
}

int cmd_apply(int argc, char **argv)
{
	plan_command cmd = {.name = "apply", .help = apply_help};
	int status = run_plan_command(&cmd, argc, argv);
	cli_domain_free(&cmd.domain);
	return status;
}

int cmd_audit(int argc, char **argv)
{
	plan_command cmd = {.name = "audit", .help = audit_help};
	int status = run_plan_command(&cmd, argc, argv);
	cli_domain_free(&cmd.domain);
	return status;
}
