/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfguard-mkhost: build a fake host, its /sys and /dev, from a host manifest
 * (docs/host-manifest.md), so vfguard can be tried and tested against PCI
 * devices, IOMMU groups and VFIO nodes this machine does not have.
 */
#include "hosttree.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum mkhost_exit {
	MKHOST_EXIT_OK = 0,
	MKHOST_EXIT_FAILED = 1,
	MKHOST_EXIT_USAGE = 2,
};

static void print_usage(FILE *stream)
{
	fputs("Usage: vfguard-mkhost MANIFEST DIR\n"
	      "\n"
	      "Build the host that MANIFEST describes under DIR (created if missing):\n"
	      "PCI devices, IOMMU groups and drivers in DIR/sys, VFIO nodes in DIR/dev.\n"
	      "The nodes are real character devices, so this must run as root.\n"
	      "Existing paths are checked, never changed. The format is described in\n"
	      "docs/host-manifest.md.\n"
	      "\n"
	      "  -h, --help  show this help and exit\n"
	      "\n"
	      "Exit status: 0 built, 1 failed, 2 usage error.\n",
	      stream);
}

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fputs("vfguard-mkhost: ", stderr);
	vfprintf(stderr, fmt, args);
	fputs("\nTry 'vfguard-mkhost --help'.\n", stderr);
	va_end(args);
	return MKHOST_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *operands[2];
	int operand_count = 0;
	bool options_done = false;

	for (int i = 1; i < argc; i++) {
		const char *argument = argv[i];
		if (!options_done && strcmp(argument, "--") == 0) {
			options_done = true;
		} else if (!options_done && (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0)) {
			print_usage(stdout);
			return MKHOST_EXIT_OK;
		} else if (!options_done && argument[0] == '-' && argument[1] != '\0') {
			return usage_error("unknown option '%s'", argument);
		} else if (operand_count == 2) {
			return usage_error("unexpected argument '%s'", argument);
		} else {
			operands[operand_count++] = argument;
		}
	}
	if (operand_count != 2)
		return usage_error("expected MANIFEST and DIR");

	char error[4096];
	if (hosttree_build_file(operands[0], operands[1], error, sizeof(error)) < 0) {
		fprintf(stderr, "vfguard-mkhost: %s\n", error);
		return MKHOST_EXIT_FAILED;
	}
	return MKHOST_EXIT_OK;
}
