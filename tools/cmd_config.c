/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfguard config: the configuration keys and domain attributes, as vfguard and its labelers declare them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char config_help[] =
	"Usage: vfguard config [OPTIONS]\n"
	"\n"
	"Every configuration key vfguard and its loaded labelers declare, with its\n"
	"value now (from the config file and --set) and its default, and every domain\n"
	"attribute the labelers take (--attr NAME=VALUE). Changes nothing.\n"
	"\n" CLI_COMMON_HELP "\n"
	"Exit status: 0 ok, 1 failed (a key the file sets that no labeler declares), 2 usage.\n";

static void write_text(const vfg_context *ctx)
{
	const vfg_config *config = vfg_context_config(ctx);
	const vfg_config_key_def *def;
	const char *owner;
	printf("configuration keys (KEY = VALUE in vfguard.conf, or --set KEY=VALUE):\n");
	for (size_t i = 0; (def = vfg_context_config_key(ctx, i, &owner)); i++) {
		const char *value = vfg_config_get(config, def->name);
		printf("  %s = %s\n", def->name, value);
		printf("      %s; default %s%s%s: %s\n", owner, *def->default_value ? "'" : "(empty)",
		       def->default_value, *def->default_value ? "'" : "", def->help ? def->help : "");
	}
	printf("domain attributes (--attr NAME=VALUE):\n");
	const vfg_attr_def *attr;
	for (size_t i = 0; (attr = vfg_context_attr(ctx, i, &owner)); i++)
		printf("  %s.%s\n      %s\n", owner, attr->name, attr->help ? attr->help : "");
}

static void write_json(const vfg_context *ctx)
{
	const vfg_config *config = vfg_context_config(ctx);
	const vfg_config_key_def *def;
	const char *owner;
	printf("{\"version\": 1, \"keys\": [");
	for (size_t i = 0; (def = vfg_context_config_key(ctx, i, &owner)); i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		cli_json_string(stdout, def->name);
		printf(", \"owner\": ");
		cli_json_string(stdout, owner);
		/* cli_json_string writes "" as null: an empty value or default is "" here. */
		const char *value = vfg_config_get(config, def->name);
		printf(", \"value\": ");
		*value ? cli_json_string(stdout, value) : (void)fputs("\"\"", stdout);
		printf(", \"default\": ");
		*def->default_value ? cli_json_string(stdout, def->default_value) : (void)fputs("\"\"", stdout);
		printf(", \"help\": ");
		cli_json_string(stdout, def->help);
		printf("}");
	}
	printf("], \"attributes\": [");
	const vfg_attr_def *attr;
	for (size_t i = 0; (attr = vfg_context_attr(ctx, i, &owner)); i++) {
		char name[192];
		snprintf(name, sizeof(name), "%s.%s", owner, attr->name);
		printf("%s{\"name\": ", i ? ", " : "");
		cli_json_string(stdout, name);
		printf(", \"labeler\": ");
		cli_json_string(stdout, owner);
		printf(", \"help\": ");
		cli_json_string(stdout, attr->help);
		printf("}");
	}
	printf("]}\n");
}

int cmd_config(int argc, char **argv)
{
	static const struct option options[] = {CLI_COMMON_OPTIONS, {NULL, 0, NULL, 0}};
	cli_common common = {0};
	int opt;
	optind = 1;
	opterr = 0; /* one line per error: ours, naming the option (cli_option_error) */
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(config_help, stdout);
			return EXIT_OK;
		}
		int r = cli_common_option(&common, opt, optarg);
		if (r < 0)
			return EXIT_USAGE; /* the option's own line said why */
		if (r == 0)
			return cli_option_error("config", options, opt, argv);
	}
	if (optind < argc)
		return cli_usage_error("config", "unexpected argument '%s'", argv[optind]);
	vfg_error err = {0};
	vfg_context *ctx = cli_context_new(&common, "config", &err);
	if (!ctx)
		return cli_context_failed(&common, &err);
	if (common.json)
		write_json(ctx);
	else
		write_text(ctx);
	vfg_context_free(ctx);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILED;
}
