/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A hypervisor manager in one file, the way one uses libvfguard
 * (docs/library.md): it loads the library at run time, applies for a domain,
 * opens the domain's fd-access nodes, starts a command (the hypervisor) with
 * those fds as the domain's uid and gid, waits for it, and revokes
 * everything when it exits, however it exits.
 *
 * Only the headers come from vfguard at build time (pkg-config --cflags
 * vfguard); the library is dlopen()ed, and each function is looked up in
 * the version node it came in (core/libvfguard.map), so a libvfguard
 * without VFGUARD_0.1, or without the VFGUARD_0.2 plan accessors, is
 * refused by name instead of crashing. Notices (VFGUARD_0.8) are shown
 * when the library has them.
 *
 *   vfguard-example-manager --domain vm1 --uid 107 --gid 107 \
 *	--hostdev 0000:41:00.0,backend=iommufd,access=fd -- qemu-system-x86_64 ...
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfguard/vfguard.h>

#define LIBRARY_SONAME "libvfguard.so.1"

/*
 * Every function this manager calls, with the version node it came in: each
 * becomes a pointer of the header's own type.
 */
#define VFGUARD_FUNCTIONS(X)                    \
	X(vfg_version, "VFGUARD_0.1")           \
	X(vfg_context_new, "VFGUARD_0.1")       \
	X(vfg_context_free, "VFGUARD_0.1")      \
	X(vfg_domain_new, "VFGUARD_0.1")        \
	X(vfg_domain_free, "VFGUARD_0.1")       \
	X(vfg_domain_apply, "VFGUARD_0.1")      \
	X(vfg_plan_free, "VFGUARD_0.1")         \
	X(vfg_plan_n_hostdevs, "VFGUARD_0.2")   \
	X(vfg_plan_hostdev, "VFGUARD_0.2")      \
	X(vfg_domain_open_fds, "VFGUARD_0.1")   \
	X(vfg_fdset_free, "VFGUARD_0.1")        \
	X(vfg_fdset_install, "VFGUARD_0.1")     \
	X(vfg_fdset_environment, "VFGUARD_0.1") \
	X(vfg_privileges_drop, "VFGUARD_0.1")   \
	X(vfg_domain_revoke, "VFGUARD_0.1")

typedef struct library {
	void *handle;
#define LIBRARY_FIELD(name, node) __typeof__(name) *name;
	VFGUARD_FUNCTIONS(LIBRARY_FIELD)
	/* Notices came in VFGUARD_0.8: looked up alone, and a library without them is used without. */
	__typeof__(vfg_context_set_notice) *vfg_context_set_notice;
} library;

typedef struct manager_options {
	vfg_context_options context;
	const char *settings[33]; /* --set KEY=VALUE, NULL-terminated */
	size_t n_settings;
	vfg_domain_description domain;
	const char *hostdevs[33]; /* NULL-terminated */
	size_t n_hostdevs;
	int fd_base;
	char **command;
} manager_options;

static const char usage_text[] = "Usage: vfguard-example-manager --domain NAME --uid U --gid G --hostdev SPEC...\n"
				 "           [--root DIR] [--config FILE] [--plugin-dir DIR] [--set KEY=VALUE]...\n"
				 "           [--fd-base N] -- COMMAND [ARGS...]\n"
				 "\n"
				 "Apply for the domain, run COMMAND as U:G with the fds of its access=fd hostdevs\n"
				 "(at N, N+1, ..., named in VFGUARD_FDS and the other VFGUARD_* variables),\n"
				 "wait for it, and revoke. Loads $VFGUARD_LIBRARY, else " LIBRARY_SONAME ".\n"
				 "Exit status: COMMAND's (128+N when a signal N ended it); 1 when vfguard failed.\n";

static void *library_symbol(library *lib, const char *name, const char *node)
{
	void *symbol = dlvsym(lib->handle, name, node);
	if (!symbol)
		fprintf(stderr, "vfguard-example-manager: %s@%s: %s\n", name, node, dlerror());
	return symbol;
}

static int library_load(library *lib)
{
	const char *path = getenv("VFGUARD_LIBRARY");
	if (!path || !*path)
		path = LIBRARY_SONAME;
	lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle) {
		fprintf(stderr, "vfguard-example-manager: cannot load %s: %s\n", path, dlerror());
		return -1;
	}
	int missing = 0;
	/* POSIX's way to store a dlsym() result in a function pointer. */
#define LIBRARY_LOOKUP(name, node) missing |= !(*(void **)(&lib->name) = library_symbol(lib, #name, node));
	VFGUARD_FUNCTIONS(LIBRARY_LOOKUP)
	if (missing)
		return -1;
	*(void **)(&lib->vfg_context_set_notice) = dlvsym(lib->handle, "vfg_context_set_notice", "VFGUARD_0.8");

	Dl_info info;
	if (dladdr(*(void **)(&lib->vfg_version), &info) && info.dli_fname)
		fprintf(stderr, "vfguard-example-manager: libvfguard %s from %s\n", lib->vfg_version(), info.dli_fname);
	return 0;
}

static int usage_error(const char *message, const char *value)
{
	fprintf(stderr, "vfguard-example-manager: %s%s\n\n%s", message, value ? value : "", usage_text);
	return 2;
}

static int parse_id(const char *text, unsigned *id)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno || end == text || *end || text[0] == '-' || value >= (unsigned)-1)
		return -1;
	*id = (unsigned)value;
	return 0;
}

static int parse_options(manager_options *options, int argc, char **argv)
{
	enum { OPTION_ROOT = 0x100, OPTION_CONFIG, OPTION_PLUGIN_DIR, OPTION_SET, OPTION_FD_BASE };
	static const struct option long_options[] = {
		{"domain", required_argument, NULL, 'd'},
		{"uid", required_argument, NULL, 'u'},
		{"gid", required_argument, NULL, 'g'},
		{"hostdev", required_argument, NULL, 'H'},
		{"root", required_argument, NULL, OPTION_ROOT},
		{"config", required_argument, NULL, OPTION_CONFIG},
		{"plugin-dir", required_argument, NULL, OPTION_PLUGIN_DIR},
		{"set", required_argument, NULL, OPTION_SET},
		{"fd-base", required_argument, NULL, OPTION_FD_BASE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned id;
	int opt;
	options->fd_base = 3;
	while ((opt = getopt_long(argc, argv, "+h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'd':
			options->domain.name = optarg;
			break;
		case 'u':
			if (parse_id(optarg, &id) < 0)
				return usage_error("--uid: expected a number: ", optarg);
			options->domain.uid = id;
			break;
		case 'g':
			if (parse_id(optarg, &id) < 0)
				return usage_error("--gid: expected a number: ", optarg);
			options->domain.gid = id;
			break;
		case 'H':
			if (options->n_hostdevs == sizeof(options->hostdevs) / sizeof(options->hostdevs[0]) - 1)
				return usage_error("too many --hostdev", NULL);
			options->hostdevs[options->n_hostdevs++] = optarg;
			break;
		case OPTION_ROOT:
			options->context.root = optarg;
			break;
		case OPTION_CONFIG:
			options->context.config_file = optarg;
			break;
		case OPTION_PLUGIN_DIR:
			options->context.plugin_dir = optarg;
			break;
		case OPTION_SET:
			if (options->n_settings == sizeof(options->settings) / sizeof(options->settings[0]) - 1)
				return usage_error("too many --set", NULL);
			options->settings[options->n_settings++] = optarg;
			break;
		case OPTION_FD_BASE:
			if (parse_id(optarg, &id) < 0 || id < 3 || id > 65536)
				return usage_error("--fd-base: expected a number from 3 to 65536: ", optarg);
			options->fd_base = (int)id;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return usage_error("unknown option", NULL);
		}
	}
	if (optind >= argc)
		return usage_error("no command: give it after '--'", NULL);
	options->command = argv + optind;
	options->context.overrides = options->settings;
	options->domain.hostdevs = options->hostdevs;
	return 0;
}

/*
 * A notice of the library: a step that may take long, told before it is
 * taken, so that the user knows why the manager does not go on (a device
 * given back to its driver waits until the hypervisor lets it go, a
 * hot-unplug waits for a node to be closed). One line on stderr, whatever
 * its kind; a control character (a process's name may hold one) shows as
 * '?'. It runs in the thread of the call, maybe under the host lock: it
 * calls nothing of the library.
 */
static void show_notice(const vfg_notice *notice, void *data)
{
	(void)data;
	fputs("vfguard-example-manager: ", stderr);
	for (const unsigned char *c = (const unsigned char *)notice->message; *c; c++)
		fputc(*c < 0x20 || *c == 0x7f ? '?' : *c, stderr);
	fputc('\n', stderr);
}

/* The hypervisor, once started: the signals that would end the manager go to it instead, so revoke still runs. */
static volatile sig_atomic_t hypervisor_pid;

static void forward_signal(int signal_number)
{
	if (hypervisor_pid > 0)
		kill((pid_t)hypervisor_pid, signal_number);
}

static void forward_signals(void)
{
	struct sigaction action = {.sa_handler = forward_signal};
	sigemptyset(&action.sa_mask);
	sigaction(SIGINT, &action, NULL);
	sigaction(SIGTERM, &action, NULL);
	sigaction(SIGHUP, &action, NULL);
}

static bool plan_has_fd_access(const library *lib, const vfg_plan *plan)
{
	for (size_t i = 0; i < lib->vfg_plan_n_hostdevs(plan); i++)
		if (lib->vfg_plan_hostdev(plan, i)->spec.access == VFG_ACCESS_FD)
			return true;
	return false;
}

/*
 * In the child: the fds at their numbers and every other descriptor closed,
 * their description in the environment, the domain's ids and no capability;
 * then the command. Never returns.
 */
static void run_hypervisor(const library *lib, vfg_fdset *fdset, const manager_options *options)
{
	vfg_error err = {0};
	if (fdset) {
		char **environment = NULL;
		if (lib->vfg_fdset_install(fdset, options->fd_base, &err) < 0 ||
		    !(environment = lib->vfg_fdset_environment(fdset))) {
			fprintf(stderr, "vfguard-example-manager: %s\n",
				err.message[0] ? err.message : "cannot describe the fds");
			_exit(127);
		}
		for (char **entry = environment; *entry; entry++)
			putenv(*entry); /* the strings become the environment's */
		free(environment);
	}
	if (lib->vfg_privileges_drop(true, options->domain.uid, options->domain.gid, &err) < 0) {
		fprintf(stderr, "vfguard-example-manager: %s\n", err.message);
		_exit(127);
	}
	execvp(options->command[0], options->command);
	fprintf(stderr, "vfguard-example-manager: cannot run %s: %s\n", options->command[0], strerror(errno));
	_exit(127);
}

/* Start the command, wait for it, and return its exit status as a shell reports it. */
static int run_and_wait(const library *lib, vfg_fdset *fdset, const manager_options *options)
{
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		fprintf(stderr, "vfguard-example-manager: cannot fork: %s\n", strerror(errno));
		lib->vfg_fdset_free(fdset);
		return 1;
	}
	if (child == 0)
		run_hypervisor(lib, fdset, options);

	hypervisor_pid = child;
	/* The child holds the fds now; the manager's own copies go. */
	lib->vfg_fdset_free(fdset);
	fprintf(stderr, "vfguard-example-manager: domain %s: started pid %d\n", options->domain.name, (int)child);
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "vfguard-example-manager: cannot wait for pid %d: %s\n", (int)child,
				strerror(errno));
			return 1;
		}
	}
	hypervisor_pid = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int revoke_domain(const library *lib, vfg_context *ctx, const char *name)
{
	vfg_change_summary summary = {0};
	vfg_error err = {0};
	if (lib->vfg_domain_revoke(ctx, name, &summary, &err) < 0) {
		fprintf(stderr, "vfguard-example-manager: revoke: %s\n", err.message);
		return -1;
	}
	fprintf(stderr, "vfguard-example-manager: domain %s: revoked, %zu changes undone\n", name, summary.changed);
	return 0;
}

static int manage(const library *lib, vfg_context *ctx, const manager_options *options)
{
	vfg_error err = {0};
	vfg_domain *domain = NULL;
	if (lib->vfg_domain_new(ctx, &options->domain, &domain, &err) < 0) {
		fprintf(stderr, "vfguard-example-manager: %s\n", err.message);
		return 2;
	}

	vfg_plan *plan = NULL;
	vfg_change_summary summary = {0};
	vfg_fdset *fdset = NULL;
	int status = 1;
	if (lib->vfg_domain_apply(ctx, domain, &plan, &summary, &err) < 0) {
		fprintf(stderr, "vfguard-example-manager: apply: %s\n", err.message);
	} else {
		fprintf(stderr, "vfguard-example-manager: domain %s: applied, %zu changes, %zu kept\n", domain->name,
			summary.changed, summary.kept);
		if (plan_has_fd_access(lib, plan) && lib->vfg_domain_open_fds(ctx, plan, NULL, &fdset, &err) < 0) {
			fprintf(stderr, "vfguard-example-manager: %s\n", err.message);
		} else {
			if (fdset && fdset->warnings[0])
				fprintf(stderr, "vfguard-example-manager: warning: %s\n", fdset->warnings);
			status = run_and_wait(lib, fdset, options);
		}
	}
	lib->vfg_plan_free(plan);
	/* Whatever happened after apply began (a failed apply leaves managed hostdevs journaled): take it all back. */
	if (revoke_domain(lib, ctx, domain->name) < 0 && status == 0)
		status = 1;
	lib->vfg_domain_free(domain);
	return status;
}

int main(int argc, char **argv)
{
	manager_options options = {0};
	int status = parse_options(&options, argc, argv);
	if (status != 0)
		return status;

	library lib = {0};
	if (library_load(&lib) < 0)
		return 1;
	forward_signals();

	vfg_error err = {0};
	vfg_context *ctx = lib.vfg_context_new(&options.context, &err);
	if (!ctx) {
		fprintf(stderr, "vfguard-example-manager: %s\n", err.message);
		return 1;
	}
	if (lib.vfg_context_set_notice)
		lib.vfg_context_set_notice(ctx, show_notice, NULL);
	status = manage(&lib, ctx, &options);
	lib.vfg_context_free(ctx);
	dlclose(lib.handle);
	return status;
}
