/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Options shared by the subcommands: the context, output, and the domain. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vfguard/util.h>

#include "cli.h"
#include "front_end_env.h"
#include "one_line.h"

/* Asked for --json (or --format json): a usage error is a JSON object on standard output too (vfguard(8)). */
static bool json_errors;

void cli_json_errors_from_args(int argc, char **argv)
{
	/*
	 * Before the options are parsed, so that an error in one before --json
	 * is JSON too; not past "--" (exec's command). Another --format as well
	 * (text, prometheus) is a conflict, and its reader gets nothing on
	 * standard output: a metrics file is not overwritten with an error.
	 */
	bool json = false, other = false;
	bool audit = argc > 1 && strcmp(argv[1], "audit") == 0; /* the one command with --format */
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *format = NULL;
		if (strncmp(argv[i], "--format=", 9) == 0)
			format = argv[i] + 9;
		else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
			format = argv[i + 1];
		json = json || strcmp(argv[i], "--json") == 0 || (audit && format && strcmp(format, "json") == 0);
		other = other || (format && strcmp(format, "json") != 0);
	}
	json_errors = json && !other;
}

/* @message as the JSON error object cli_report writes (vfg_error_write_json), when JSON was asked for. */
static void usage_json(const char *message)
{
	if (!json_errors)
		return;
	vfg_error err = {.errnum = EINVAL};
	snprintf(err.message, sizeof(err.message), "%s", message);
	vfg_error_write_json(&err, stdout);
}

void cli_error(const char *fmt, ...)
{
	char message[VFG_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fputs("vfguard: ", stderr);
	one_line_write(stderr, message);
	fputc('\n', stderr);
	usage_json(message);
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
	char message[VFG_ERROR_MESSAGE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vfguard %s: ", command);
	one_line_write(stderr, message);
	/* the hint on the same line: a front end shows a failure's stderr as its one reason */
	fprintf(stderr, ". Try 'vfguard %s --help'.\n", command);
	usage_json(message);
	return EXIT_USAGE;
}

int cli_option_error(const char *command, const struct option *options, int opt, char *const *argv)
{
	/* optind is past the option (and its value when separate): argv[optind - 1] is the option for these two */
	if (opt == ':')
		return cli_usage_error(command, "option '%s' needs a value", argv[optind - 1]);
	for (const struct option *option = options; opt != '?' && option->name; option++)
		if (option->val == opt)
			return cli_usage_error(command, "option '--%s' does not apply to %s", option->name, command);
	return cli_usage_error(command, "unknown option '%s'", argv[optind - 1]);
}

void cli_json_string(FILE *out, const char *text)
{
	if (!text || !text[0]) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

void cli_report(const cli_common *common, const vfg_error *err)
{
	fputs("vfguard: ", stderr);
	one_line_write(stderr, err->message);
	fputc('\n', stderr);
	if (common->json)
		vfg_error_write_json(err, stdout);
}

int cli_common_option(cli_common *common, int opt, const char *arg)
{
	switch (opt) {
	case 'R':
		common->context.root = arg;
		return 1;
	case 'C':
		common->context.config_file = arg;
		return 1;
	case 'P':
		common->context.plugin_dir = arg;
		return 1;
	case 'j':
		common->json = true;
		return 1;
	case 'o':
	case 'Z':
		if (common->n_settings == CLI_MAX_SETTINGS) {
			cli_error("more than %d settings", CLI_MAX_SETTINGS);
			return -1;
		}
		if (opt == 'o' && (!strchr(arg, '=') || arg[0] == '=')) {
			cli_error("--set %s: expected KEY=VALUE", arg);
			return -1;
		}
		if (opt == 'Z') {
			if (strcmp(arg, "auto") != 0 && strcmp(arg, "force") != 0 && strcmp(arg, "off") != 0) {
				cli_error("--selinux %s: expected auto, force or off", arg);
				return -1;
			}
			snprintf(common->selinux_setting, sizeof(common->selinux_setting), "selinux=%s", arg);
			arg = common->selinux_setting;
		}
		common->settings[common->n_settings++] = arg;
		common->context.overrides = common->settings;
		return 1;
	default:
		return 0;
	}
}

vfg_context *cli_context_new(cli_common *common, const char *command, vfg_error *err)
{
	front_end_options_from_env(&common->context);
	vfg_context *ctx = vfg_context_new(&common->context, err);
	if (ctx) {
		snprintf(common->notice_prefix, sizeof(common->notice_prefix), "vfguard %s", command);
		vfg_context_set_notice(ctx, one_line_notice, common->notice_prefix);
	}
	return ctx;
}

int cli_context_failed(const cli_common *common, const vfg_error *err)
{
	cli_report(common, err);
	for (size_t i = 0; i < common->n_settings; i++)
		if (strcmp(err->subject, common->settings[i]) == 0)
			return EXIT_USAGE;
	/* a path that is no directory to use, not one that could not be opened */
	bool path_value =
		err->errnum == EINVAL || err->errnum == ENOENT || err->errnum == ENOTDIR || err->errnum == ENAMETOOLONG;
	const char *root = common->context.root, *plugin_dir = common->context.plugin_dir;
	if (path_value &&
	    ((root && strcmp(err->subject, root) == 0) || (plugin_dir && strcmp(err->subject, plugin_dir) == 0)))
		return EXIT_USAGE;
	return EXIT_FAILED;
}

/* Decimal digits only: strtoul() alone would take " 1", "+1" and "-1" (as ULONG_MAX). */
static int parse_id(const char *text, const char *option, unsigned long max, unsigned long *value)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (!isdigit((unsigned char)text[0]) || errno || *end || v > max) {
		cli_error("--%s '%s': expected a number from 0 to %lu", option, text, max);
		return -1;
	}
	*value = v;
	return 0;
}

/*
 * The short forms of the labelers' attributes people know from libvirt: set
 * as they are, so that a run without the labeler (labelers = dac) still takes
 * them; --attr checks its name against the loaded labelers.
 */
static int attr_option(vfg_domain *d, const char *name, const char *arg, const char *option)
{
	vfg_error err;
	if (vfg_domain_attr_set(d, name, arg, &err) < 0) {
		cli_error("--%s: %s", option, err.message);
		return -1;
	}
	return 1;
}

static int attr_text_option(cli_domain *cd, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		cli_error("--attr %s: expected NAME=VALUE", arg);
		return -1;
	}
	const char **texts = realloc(cd->attr_texts, (cd->n_attr_texts + 1) * sizeof(*texts));
	if (!texts) {
		cli_error("out of memory");
		return -1;
	}
	cd->attr_texts = texts;
	cd->attr_texts[cd->n_attr_texts++] = arg;
	return 1;
}

static int copy_option(char *dst, size_t size, const char *arg, const char *option)
{
	if (strlen(arg) >= size) {
		/* the start of it names it; megabytes of it would hide the reason */
		cli_error("--%s '%.64s...' (%zu bytes): longer than %zu characters", option, arg, strlen(arg),
			  size - 1);
		return -1;
	}
	memcpy(dst, arg, strlen(arg) + 1);
	return 1;
}

int cli_domain_option(cli_domain *cd, int opt, const char *arg)
{
	vfg_domain *d = &cd->domain;
	vfg_error err;
	unsigned long value;
	switch (opt) {
	case 'd':
		return copy_option(d->name, sizeof(d->name), arg, "domain");
	case 'U':
		if (vfg_uuid_parse(arg, d->uuid, &err) < 0) {
			cli_error("--uuid %s", err.message);
			return -1;
		}
		return 1;
	case 'u':
		/* (uid_t)-1 means "no change" to chown(2): never a hypervisor uid. */
		if (parse_id(arg, "uid", UINT_MAX - 1, &value) < 0)
			return -1;
		d->uid = (uid_t)value;
		cd->uid_given = true;
		return 1;
	case 'g':
		if (parse_id(arg, "gid", UINT_MAX - 1, &value) < 0)
			return -1;
		d->gid = (gid_t)value;
		cd->gid_given = true;
		return 1;
	case 's':
		return attr_option(d, "selinux.label", arg, "selinux-label");
	case 'i':
		return attr_option(d, "selinux.image_label", arg, "selinux-image-label");
	case 'a':
		return attr_option(d, "apparmor.profile", arg, "apparmor-profile");
	case 'c':
		if (arg[0] != '/') {
			cli_error("--cgroup %s: expected an absolute path", arg);
			return -1;
		}
		return attr_option(d, "cgroup.path", arg, "cgroup");
	case CLI_OPTION_ATTR:
		return attr_text_option(cd, arg);
	case 'p':
		if (parse_id(arg, "pid", INT_MAX, &value) < 0)
			return -1;
		if (value == 0) {
			cli_error("--pid 0: expected a process id");
			return -1;
		}
		d->pid = (pid_t)value;
		return 1;
	case CLI_OPTION_MEMORY: {
		uint64_t bytes = 0;
		if (vfg_size_parse(arg, &bytes, &err) < 0) {
			cli_error("--memory %s", err.message);
			return -1;
		}
		if (bytes == 0) {
			cli_error("--memory %s: expected the guest RAM size, not 0", arg);
			return -1;
		}
		d->memory = bytes;
		return 1;
	}
	case CLI_OPTION_VIOMMU:
		d->viommu = true;
		return 1;
	case CLI_OPTION_IPC_LOCK:
		d->ipc_lock = true;
		return 1;
	case 'H': {
		const char **texts = realloc(cd->hostdev_texts, (cd->n_hostdev_texts + 1) * sizeof(*texts));
		if (!texts) {
			cli_error("out of memory");
			return -1;
		}
		cd->hostdev_texts = texts;
		cd->hostdev_texts[cd->n_hostdev_texts++] = arg;
		return 1;
	}
	default:
		return 0;
	}
}

typedef struct hostdev_key {
	char name[VFG_HOSTDEV_NAME_MAX];
	size_t index;
} hostdev_key;

static int hostdev_key_compare(const void *a, const void *b)
{
	const hostdev_key *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r ? r : (x->index > y->index) - (x->index < y->index);
}

/*
 * One --hostdev a device: the plan would refuse a second one too, but as a
 * failure (exit 1); here it is the usage error it is. Sorted, not compared
 * pairwise: a domain may have a thousand.
 */
static int hostdevs_unique(const vfg_hostdev_spec *specs, size_t n, const char *const *texts, vfg_error *err)
{
	_cleanup_free_ hostdev_key *keys = calloc(n, sizeof(*keys));
	if (!keys)
		return vfg_error_set(err, ENOMEM, "", "out of memory");
	for (size_t i = 0; i < n; i++) {
		vfg_hostdev_name(&specs[i], keys[i].name);
		keys[i].index = i;
	}
	qsort(keys, n, sizeof(*keys), hostdev_key_compare);
	for (size_t i = 1; i < n; i++)
		if (strcmp(keys[i - 1].name, keys[i].name) == 0)
			return vfg_error_set(err, 0, keys[i].name, "--hostdev given twice ('%s', then '%s')",
					     texts[keys[i - 1].index], texts[keys[i].index]);
	return 0;
}

int cli_domain_finish(cli_domain *cd, const vfg_context *ctx, vfg_error *err)
{
	if (vfg_domain_name_check(cd->domain.name, err) < 0)
		return -1;
	if (cd->uid_given != cd->gid_given)
		return vfg_error_set(err, 0, cd->uid_given ? "--uid" : "--gid", "give --uid and --gid together");
	if (cd->n_hostdev_texts == 0)
		return vfg_error_set(err, 0, cd->domain.name, "no hostdev: give at least one --hostdev");
	for (size_t i = 0; i < cd->n_attr_texts; i++) {
		const char *text = cd->attr_texts[i], *eq = strchr(text, '=');
		char name[128];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - text), text);
		if (vfg_context_domain_attr_set(ctx, &cd->domain, name, eq + 1, err) < 0) {
			vfg_error_prefix(err, "--attr");
			return -1;
		}
	}

	/*
	 * The short forms (--apparmor-profile, --selinux-label, ...) are set as
	 * they are, so that a run without their labeler takes them: a loaded one
	 * checks them here as it checks --attr's (a review found 'a b' refused
	 * only by the plan, exit 1).
	 */
	const char *owner;
	const vfg_attr_def *def;
	for (size_t i = 0; (def = vfg_context_attr(ctx, i, &owner)); i++) {
		char name[128];
		snprintf(name, sizeof(name), "%s.%s", owner, def->name);
		const char *value = vfg_domain_attr(&cd->domain, name);
		if (value[0] && def->check && def->check(value, err) < 0) {
			vfg_error_prefix(err, "attribute %s", name);
			return -1;
		}
	}

	cd->specs = calloc(cd->n_hostdev_texts, sizeof(*cd->specs));
	if (!cd->specs)
		return vfg_error_set(err, ENOMEM, "", "out of memory");
	for (size_t i = 0; i < cd->n_hostdev_texts; i++)
		if (vfg_hostdev_spec_parse(ctx, cd->hostdev_texts[i], &cd->specs[i], err) < 0)
			return -1;
	if (hostdevs_unique(cd->specs, cd->n_hostdev_texts, cd->hostdev_texts, err) < 0)
		return -1;
	cd->domain.hostdevs = cd->specs;
	cd->domain.n_hostdevs = cd->n_hostdev_texts;
	return 0;
}

void cli_domain_free(cli_domain *cd)
{
	free(cd->hostdev_texts);
	free(cd->attr_texts);
	free(cd->specs);
}
