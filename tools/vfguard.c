/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfguard: grant a VM exactly the VFIO device nodes it needs, layer by layer. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{"plan", cmd_plan, "show the nodes each hostdev needs and what each layer would do"},
	{"apply", cmd_apply, "grant them (--dry-run: print the steps, change nothing)"},
	{"audit", cmd_audit, "compare what a domain holds with the live host (exit 3 on drift)"},
	{"revoke", cmd_revoke, "take back everything a domain was granted"},
	{"restore", cmd_restore, "finish what crashed runs left (--all: release every domain)"},
	{"status", cmd_status, "the domains, their hostdevs, and what each layer granted"},
	{"detach", cmd_detach, "bind a PCI function to vfio-pci, remembering its driver"},
	{"reattach", cmd_reattach, "give a detached function back to its original driver"},
	{"exec", cmd_exec, "open the domain's fd-access nodes and run a command with them"},
	{"fds", cmd_fds, "open them and hand them over on a unix socket (SCM_RIGHTS)"},
	{"qemu-args", cmd_qemu_args, "the QEMU arguments that use the handed fds"},
	{"hotplug", cmd_hotplug, "grant one hostdev and add it to a running QEMU over QMP"},
	{"hotunplug", cmd_hotunplug, "take one hostdev out of a running QEMU over QMP, then revoke it"},
	{"config", cmd_config, "the configuration keys and domain attributes vfguard and its labelers declare"},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: vfguard COMMAND [OPTIONS]\n"
		     "       vfguard COMMAND --help\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(out, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\nExit status: 0 ok, 1 failed, 2 usage, 3 audit found drift, 4 hotunplug timed out.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), EXIT_USAGE;
	const char *name = argv[1];
	cli_json_errors_from_args(argc, argv);
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		if (argc > 2 && strcmp(name, "help") == 0) {
			char *help_argv[] = {argv[2], "--help", NULL};
			for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
				if (strcmp(subcommands[i].name, argv[2]) == 0)
					return subcommands[i].run(2, help_argv);
			cli_error("unknown command '%s'", argv[2]);
			return EXIT_USAGE;
		}
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(name, "--version") == 0) {
		printf("vfguard %s\n", VFGUARD_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(subcommands[i].name, name) == 0)
			return subcommands[i].run(argc - 1, argv + 1);
	cli_error("unknown command '%s'", name);
	usage(stderr);
	return EXIT_USAGE;
}
