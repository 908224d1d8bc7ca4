/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfguard detach, vfguard reattach: managed mode by hand. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char detach_help[] =
	"Usage: vfguard detach BDF [--driver NAME] [OPTIONS]\n"
	"\n"
	"Bind a PCI function to vfio-pci (or the vfio variant driver NAME) through\n"
	"driver_override, unbind and drivers_probe, after remembering its original\n"
	"driver in the state directory. Refuses a function whose IOMMU group would\n"
	"not be viable, naming the functions in the way; when the kernel does not\n"
	"bind it as asked, the function is put back. Bound already: nothing to do.\n"
	"A bridge, an SR-IOV PF with VFs enabled and a function whose IOMMU group a\n"
	"domain holds are refused before anything is written.\n"
	"\n"
	"  BDF                  the function: DDDD:BB:DD.F, BB:DD.F or its /sys path\n"
	"  --driver NAME        the vfio driver to bind (default vfio-pci; must be loaded)\n" CLI_COMMON_HELP "\n"
	"Exit status: 0 bound as asked, 1 failed (the error names the device and why), 2 usage.\n";

static const char reattach_help[] =
	"Usage: vfguard reattach BDF [OPTIONS]\n"
	"\n"
	"Give a function vfguard detached back to the driver it had before (or to\n"
	"none, as it was), and restore its driver_override. Unbinding a vfio driver\n"
	"waits until no process holds the device open; before it waits, a line on\n"
	"stderr names the processes holding its VFIO nodes. A function whose IOMMU\n"
	"group a domain holds is refused: the domain's revoke gives it back. One\n"
	"vfguard did not detach (or gave back already) stays where it is: with a\n"
	"host driver or none, nothing to do; on a vfio driver, refused, since the\n"
	"driver it came from is unknown.\n"
	"\n"
	"  BDF                  the function: DDDD:BB:DD.F, BB:DD.F or its /sys path\n" CLI_COMMON_HELP "\n"
	"Exit status: 0 reattached or nothing to give back, 1 failed (the error names\n"
	"the device and why), 2 usage.\n";

static void print_binding(const cli_common *common, const char *command, const vfg_driver_binding *binding)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	vfg_pci_addr_format(&binding->addr, bdf);
	if (common->json) {
		printf("{\"version\": 1, \"command\": \"%s\", \"address\": ", command);
		cli_json_string(stdout, bdf);
		fputs(", \"driver\": ", stdout);
		cli_json_string(stdout, binding->driver);
		fputs(", \"original_driver\": ", stdout);
		cli_json_string(stdout, binding->original);
		printf(", \"changed\": %s}\n", binding->changed ? "true" : "false");
		return;
	}
	const char *driver = binding->driver[0] ? binding->driver : "no driver";
	const char *original = binding->original[0] ? binding->original : "no driver";
	if (strcmp(command, "detach") == 0)
		printf("%s: %s %s (original: %s)\n", bdf, binding->changed ? "bound to" : "already bound to", driver,
		       original);
	else
		printf("%s: %s %s\n", bdf, binding->changed ? "returned to" : "stays with", driver);
}

/*
 * The argument is a function, not a hostdev spec: a spec's keys (backend,
 * access, managed, vf_token, driver) say nothing to a detach or a
 * reattach, and were once parsed and ignored (driver= too). Refused.
 */
static int check_no_spec_keys(const char *command, bool is_detach, const char *arg)
{
	const char *key = strchr(arg, ',');
	if (!key)
		return 0;
	key++;
	return cli_usage_error(command, "%s: '%.*s' means nothing to %s, which takes the function (BDF) alone%s", arg,
			       (int)strcspn(key, "=,"), key, command,
			       is_detach ? "; the driver to bind is --driver NAME" : "");
}

static int run_driver_command(const char *command, const char *help, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{"driver", required_argument, NULL, 'D'},
		{NULL, 0, NULL, 0},
	};
	bool is_detach = strcmp(command, "detach") == 0;
	cli_common common = {0};
	const char *driver = NULL;
	int opt;
	optind = 1;
	opterr = 0; /* one line per error: ours, naming the option (cli_option_error) */
	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(help, stdout);
			return EXIT_OK;
		}
		if (opt == 'D' && is_detach) {
			vfg_error why = {0};
			if (vfg_driver_name_check(optarg, &why) < 0)
				return cli_usage_error(command, "--driver: %s", why.message);
			driver = optarg;
			continue;
		}
		int r = cli_common_option(&common, opt, optarg);
		if (r < 0)
			return EXIT_USAGE; /* the option's own line said why */
		if (r == 0)
			return cli_option_error(command, options, opt, argv);
	}
	if (optind != argc - 1)
		return cli_usage_error(command, optind == argc ? "the function (BDF) is required"
							       : "exactly one function (BDF) is expected");

	vfg_error err = {0};
	vfg_context *ctx = cli_context_new(&common, command, &err);
	if (!ctx)
		return cli_context_failed(&common, &err);
	int status = EXIT_OK;
	vfg_hostdev_spec spec;
	vfg_driver_binding binding;
	if (check_no_spec_keys(command, is_detach, argv[optind]) != 0) {
		status = EXIT_USAGE;
	} else if (vfg_hostdev_spec_parse(ctx, argv[optind], &spec, &err) < 0) {
		cli_report(&common, &err);
		status = EXIT_USAGE;
	} else if (spec.mdev[0]) {
		vfg_error_set(&err, 0, argv[optind],
			      "%s: an mdev has no driver to %s (its parent's mdev driver made it and stays bound)",
			      command, is_detach ? "unbind it from and bind to vfio-pci" : "give it back to");
		err.errnum = EINVAL; /* a usage error's, as --json reports it (docs/plan-json.md, "Errors") */
		cli_report(&common, &err);
		status = EXIT_USAGE;
	} else if ((is_detach ? vfg_pci_detach(ctx, &spec.addr,
					       driver           ? driver
					       : spec.driver[0] ? spec.driver
								: NULL,
					       &binding, &err)
			      : vfg_pci_reattach(ctx, &spec.addr, &binding, &err)) < 0) {
		cli_report(&common, &err);
		status = EXIT_FAILED;
	} else {
		print_binding(&common, command, &binding);
		if (fflush(stdout) != 0)
			status = EXIT_FAILED;
	}
	vfg_context_free(ctx);
	return status;
}

int cmd_detach(int argc, char **argv)
{
	return run_driver_command("detach", detach_help, argc, argv);
}

int cmd_reattach(int argc, char **argv)
{
	return run_driver_command("reattach", reattach_help, argc, argv);
}
