/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_CLI_H
#define VFGUARD_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include <vfguard/vfguard.h>

/* Exit codes (DESIGN.md): ok, failed, usage, audit found drift, hotunplug timed out (grants kept). */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_DRIFT = 3, EXIT_TIMEOUT = 4 };

/* Options every subcommand takes. */
#define CLI_MAX_SETTINGS 32
typedef struct cli_common {
	vfg_context_options context;
	bool json;
	/* --set KEY=VALUE and the shorthands for keys (--selinux MODE), NULL-terminated for context.overrides */
	const char *settings[CLI_MAX_SETTINGS + 1];
	size_t n_settings;
	char selinux_setting[32];
	char notice_prefix[48]; /* "vfguard COMMAND", before each notice the library gives (one_line_notice) */
} cli_common;

/* A domain as the options describe it; hostdev specs are parsed once the context exists. */
typedef struct cli_domain {
	vfg_domain domain;
	bool uid_given, gid_given;
	size_t n_hostdev_texts;
	const char **hostdev_texts;
	vfg_hostdev_spec *specs;
	/* --attr NAME=VALUE, checked against the labelers once the context is made. */
	size_t n_attr_texts;
	const char **attr_texts;
} cli_domain;

/* Domain options without a short letter (numbers no letter option can take). */
enum { CLI_OPTION_MEMORY = 0x200, CLI_OPTION_VIOMMU, CLI_OPTION_IPC_LOCK, CLI_OPTION_ATTR };

/* Long options for the common and domain option sets, to put in a subcommand's table. */
// clang-format off
#define CLI_COMMON_OPTIONS \
	{"root", required_argument, NULL, 'R'}, \
	{"config", required_argument, NULL, 'C'}, \
	{"plugin-dir", required_argument, NULL, 'P'}, \
	{"json", no_argument, NULL, 'j'}, \
	{"set", required_argument, NULL, 'o'}, \
	{"selinux", required_argument, NULL, 'Z'}, \
	{"help", no_argument, NULL, 'h'}
#define CLI_DOMAIN_OPTIONS \
	{"domain", required_argument, NULL, 'd'}, \
	{"uuid", required_argument, NULL, 'U'}, \
	{"uid", required_argument, NULL, 'u'}, \
	{"gid", required_argument, NULL, 'g'}, \
	{"selinux-label", required_argument, NULL, 's'}, \
	{"selinux-image-label", required_argument, NULL, 'i'}, \
	{"apparmor-profile", required_argument, NULL, 'a'}, \
	{"cgroup", required_argument, NULL, 'c'}, \
	{"pid", required_argument, NULL, 'p'}, \
	{"hostdev", required_argument, NULL, 'H'}, \
	{"memory", required_argument, NULL, CLI_OPTION_MEMORY}, \
	{"viommu", no_argument, NULL, CLI_OPTION_VIOMMU}, \
	{"ipc-lock", no_argument, NULL, CLI_OPTION_IPC_LOCK}, \
	{"attr", required_argument, NULL, CLI_OPTION_ATTR}
// clang-format on

#define CLI_COMMON_HELP                                                                             \
	"  --root DIR           resolve /sys, /dev and vfguard's state and config under DIR\n"      \
	"                       (default $VFGUARD_ROOT, else /)\n"                                  \
	"  --config FILE        configuration file (default ROOT/etc/vfguard/vfguard.conf)\n"       \
	"  --plugin-dir DIR     where vfguard-NAME.so labelers are (default $VFGUARD_PLUGIN_DIR,\n" \
	"                       the config's plugin_dir, else the built-in directory)\n"            \
	"  --set KEY=VALUE      override a configuration key (docs/config.md), repeatable\n"        \
	"  --selinux MODE       auto (label when SELinux is enabled), force, or off\n"              \
	"  --json               output for programs (docs/plan-json.md)\n"                          \
	"  -h, --help           this help\n"

#define CLI_DOMAIN_HELP "  --domain NAME        the VM (required)\n" CLI_DOMAIN_DETAILS_HELP
/* The domain options but --domain, for a command that says when it takes one (audit). */
#define CLI_DOMAIN_DETAILS_HELP                                                                              \
	"  --uuid UUID          its UUID (names the AppArmor profile libvirt-UUID)\n"                        \
	"  --uid U --gid G      the hypervisor process's numeric uid and gid (default 0 0)\n"                \
	"  --selinux-label L    the VM process's SELinux label\n"                                            \
	"  --selinux-image-label L  label for its exclusive nodes (default: derived from --selinux-label)\n" \
	"  --apparmor-profile P the VM's AppArmor profile (default libvirt-UUID with\n"                      \
	"                       --uuid, else vfguard-NAME)\n"                                                \
	"  --cgroup PATH        the VM's cgroup directory, used as it is (never under --root)\n"             \
	"  --pid PID            the running VM process (its cgroup and mount namespace)\n"                   \
	"  --hostdev SPEC       a PCI function or mdev to assign, repeatable (hotplug: one):\n"              \
	"                       BDF[,backend=legacy|iommufd][,access=path|fd][,vf-token=UUID]\n"             \
	"                       [,managed=yes] (apply binds it to vfio-pci first, revoke gives it back)\n"   \
	"                       [,driver=NAME] (managed: bind the vfio variant NAME, e.g. mlx5_vfio_pci)\n"  \
	"                       BDF is DDDD:BB:DD.F, BB:DD.F, or the function's /sys path;\n"                \
	"                       an mdev: mdev=UUID or /sys/bus/mdev/devices/UUID (backend=, access=)\n"      \
	"  --memory SIZE        guest RAM: bytes, or K, M, G, T (binary, KiB and KB alike); the\n"           \
	"                       locked-memory limit is computed from it and set on --pid: docs/memlock.md\n" \
	"  --viommu             the guest has a vIOMMU: each device may pin all of guest RAM\n"              \
	"  --ipc-lock           the hypervisor holds CAP_IPC_LOCK: no limit applies\n"                       \
	"  --attr NAME=VALUE    a domain attribute a labeler declares, repeatable (`vfguard config`\n"       \
	"                       lists them): --selinux-label L is --attr selinux.label=L,\n"                 \
	"                       --selinux-image-label selinux.image_label, --apparmor-profile\n"             \
	"                       apparmor.profile, --cgroup cgroup.path\n"

/* Handle one common or domain option; returns 1 if it was one, 0 if not, -1 on a bad value (reported). */
int cli_common_option(cli_common *common, int opt, const char *arg);
/*
 * The context the common options describe, $VFGUARD_ROOT and $VFGUARD_PLUGIN_DIR filling what they leave out;
 * the library's notices go to stderr as "vfguard @command: MESSAGE".
 */
vfg_context *cli_context_new(cli_common *common, const char *command, vfg_error *err);
/*
 * Report why cli_context_new failed; the exit code: EXIT_USAGE when the
 * value at fault is one the command line gave (--root, --plugin-dir, a
 * --set: vfg_context_new names it as the subject), else EXIT_FAILED.
 */
int cli_context_failed(const cli_common *common, const vfg_error *err);
int cli_domain_option(cli_domain *domain, int opt, const char *arg);
/* Check the domain options after parsing and parse the hostdevs; -1 with the error reported. */
int cli_domain_finish(cli_domain *domain, const vfg_context *ctx, vfg_error *err);
void cli_domain_free(cli_domain *domain);

/* Report an error once: to stderr, and as JSON on stdout with --json. */
void cli_report(const cli_common *common, const vfg_error *err);
/* @text as a JSON string, quoted and escaped; NULL or "" as null. */
void cli_json_string(FILE *out, const char *text);

/* A usage error: message and a hint to --help, on one line; exit code EXIT_USAGE. */
/* Note whether --json (or --format json) is among @argv, before any option is parsed: usage errors follow it. */
void cli_json_errors_from_args(int argc, char **argv);
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * The usage error getopt_long() left in @opt (opterr is 0, the option
 * string starts with ':'): ':' a missing value, '?' an unknown option, else
 * an option of @options this command does not take. Returns EXIT_USAGE.
 */
int cli_option_error(const char *command, const struct option *options, int opt, char *const *argv);
/* "vfguard: MESSAGE" on stderr, on one line: control bytes of the input shown escaped (\n, \xHH). */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * What apply, revoke or restore did: a line for people, an object with
 * --json, @json_members (", \"NAME\": VALUE..." or NULL) added to it last.
 */
void cli_print_summary(const cli_common *common, const char *command, const char *domain,
		       const vfg_change_summary *summary, const char *json_members);

int cmd_plan(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_revoke(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_reattach(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_fds(int argc, char **argv);
int cmd_qemu_args(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_hotplug(int argc, char **argv);
int cmd_hotunplug(int argc, char **argv);

#endif
