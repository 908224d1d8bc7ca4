/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfguard exec, fds, qemu-args: open a domain's fd-access nodes and hand them over (docs/fds.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

#define FDS_OPTIONS_HELP                                                                           \
	"  --rlimit-mode MODE   when iommufd's RLIMIT_MODE=1 (per-process accounting) fails:\n"    \
	"                       required (an error, the default: config key rlimit_mode), warn,\n" \
	"                       or off (not tried)\n"

static const char exec_help[] =
	"Usage: vfguard exec --domain NAME --hostdev SPEC... [OPTIONS] -- COMMAND [ARGS...]\n"
	"\n"
	"Open the domain's fd-access nodes (hostdevs with access=fd), each checked to be\n"
	"the character device sysfs names, set iommufd's per-process accounting, then\n"
	"run COMMAND as the domain's --uid and --gid with no capability at all, the fds\n"
	"at --fd-base, --fd-base + 1, ... in plan order, and every other descriptor but\n"
	"0, 1 and 2 closed. COMMAND finds them in its environment: VFGUARD_FDS (all),\n"
	"VFGUARD_IOMMUFD_FD or VFGUARD_CONTAINER_FD, VFGUARD_HOSTDEV_FDS (BDF=FD ...;\n"
	"an mdev is mdev:UUID=FD), VFGUARD_ACCOUNTING, VFGUARD_DOMAIN. vfguard itself\n"
	"becomes COMMAND (same pid). With --memory, its RLIMIT_MEMLOCK is first raised\n"
	"to what the domain pins (docs/memlock.md): COMMAND has no CAP_IPC_LOCK.\n"
	"\n"
	"  --fd-base N          the first fd number (default 3)\n" FDS_OPTIONS_HELP CLI_DOMAIN_HELP CLI_COMMON_HELP "\n"
	"Exit status: COMMAND's; 1 failed before it ran, 2 usage.\n";

static const char fds_help[] =
	"Usage: vfguard fds --socket PATH --domain NAME --hostdev SPEC... [OPTIONS]\n"
	"\n"
	"Open the domain's fd-access nodes as exec does, create the unix socket PATH\n"
	"(mode 0660, owned by --uid:--gid), drop every capability, and wait for the\n"
	"hypervisor to connect. A peer whose SO_PEERCRED uid is not the domain's is\n"
	"refused (logged on stderr) and vfguard goes on waiting; the first peer with\n"
	"the domain's uid gets every fd in one SCM_RIGHTS message with their\n"
	"description (docs/fds.md). vfguard then closes its copies, removes PATH and\n"
	"exits. Prints one line when it is ready, and one when the fds are handed over.\n"
	"\n"
	"  --socket PATH        the socket to create (it must not exist)\n"
	"  --timeout SECONDS    give up when nobody took the fds by then (default: wait)\n" FDS_OPTIONS_HELP
		CLI_DOMAIN_HELP CLI_COMMON_HELP "\n"
	"Exit status: 0 handed over, 1 failed or timed out, 2 usage.\n";

static const char qemu_args_help[] =
	"Usage: vfguard qemu-args --domain NAME --hostdev SPEC... [--fd-base N] [OPTIONS]\n"
	"\n"
	"Print the QEMU arguments that use the fds `vfguard exec` hands over with the\n"
	"same options: -object iommufd,id=iommufd0,fd=N and, per hostdev,\n"
	"-device vfio-pci,host=BDF,id=hostdevK,iommufd=iommufd0,fd=M[,vf-token=UUID].\n"
	"One option and its value a line. QEMU takes pre-opened VFIO fds only with\n"
	"iommufd: a legacy hostdev with access=fd is an error (docs/fds.md). Opens\n"
	"nothing.\n"
	"\n"
	"  --fd-base N          the first fd number (default 3)\n" CLI_DOMAIN_HELP CLI_COMMON_HELP "\n"
	"Exit status: 0 ok, 1 failed, 2 usage.\n";

typedef struct fds_command {
	const char *name;
	const char *help;
	cli_common common;
	cli_domain domain;
	int fd_base;
	const char *rlimit_mode;
	const char *socket_path;
	int timeout_seconds; /* 0: wait */
	char **command; /* exec: what follows "--" */
} fds_command;

static int parse_number(const char *command, const char *option, const char *text, int min, int max, int *value)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max)
		return cli_usage_error(command, "--%s '%s': expected a number from %d to %d", option, text, min, max);
	*value = (int)v;
	return EXIT_OK;
}

static int parse_fds_options(fds_command *cmd, int argc, char **argv)
{
	enum { OPTION_FD_BASE = 1000, OPTION_RLIMIT_MODE, OPTION_SOCKET, OPTION_TIMEOUT };
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		CLI_DOMAIN_OPTIONS,
		{"fd-base", required_argument, NULL, OPTION_FD_BASE},
		{"rlimit-mode", required_argument, NULL, OPTION_RLIMIT_MODE},
		{"socket", required_argument, NULL, OPTION_SOCKET},
		{"timeout", required_argument, NULL, OPTION_TIMEOUT},
		{NULL, 0, NULL, 0},
	};
	bool is_exec = strcmp(cmd->name, "exec") == 0, is_fds = strcmp(cmd->name, "fds") == 0;
	bool is_qemu_args = strcmp(cmd->name, "qemu-args") == 0;
	int opt, status;
	optind = 1;
	opterr = 0; /* one line per error: ours, naming the option (cli_option_error) */
	/* "+": stop at the first non-option, so that COMMAND's own options stay its own. */
	while ((opt = getopt_long(argc, argv, "+:h", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(cmd->help, stdout);
			exit(EXIT_OK);
		case OPTION_FD_BASE:
			if (is_fds)
				return cli_usage_error(cmd->name, "unknown option '--fd-base'");
			/* Leave room below INT_MAX for the fds after the first. */
			if ((status = parse_number(cmd->name, "fd-base", optarg, 3, 65536, &cmd->fd_base)) != EXIT_OK)
				return status;
			continue;
		case OPTION_RLIMIT_MODE: {
			vfg_rlimit_mode mode;
			vfg_error err;
			if (is_qemu_args)
				return cli_usage_error(cmd->name, "unknown option '--rlimit-mode'");
			if (vfg_rlimit_mode_parse(optarg, &mode, &err) < 0)
				return cli_usage_error(cmd->name, "--rlimit-mode %s", err.message);
			cmd->rlimit_mode = optarg;
			continue;
		}
		case OPTION_SOCKET:
			if (!is_fds)
				return cli_usage_error(cmd->name, "unknown option '--socket'");
			cmd->socket_path = optarg;
			continue;
		case OPTION_TIMEOUT:
			if (!is_fds)
				return cli_usage_error(cmd->name, "unknown option '--timeout'");
			if ((status = parse_number(cmd->name, "timeout", optarg, 1, INT_MAX / 1000,
						   &cmd->timeout_seconds)) != EXIT_OK)
				return status;
			continue;
		default:
			break;
		}
		int r = cli_common_option(&cmd->common, opt, optarg);
		if (r == 0)
			r = cli_domain_option(&cmd->domain, opt, optarg);
		if (r < 0)
			return EXIT_USAGE; /* the option's own line said why */
		if (r == 0)
			return cli_option_error(cmd->name, options, opt, argv);
	}
	if (is_exec) {
		if (optind >= argc)
			return cli_usage_error(cmd->name, "no command: give it after '--'");
		cmd->command = argv + optind;
	} else if (optind < argc) {
		return cli_usage_error(cmd->name, "unexpected argument '%s'", argv[optind]);
	}
	if (is_fds && !cmd->socket_path)
		return cli_usage_error(cmd->name, "--socket is required");
	if (!cmd->domain.domain.name[0])
		return cli_usage_error(cmd->name, "--domain is required");
	if (cmd->domain.n_hostdev_texts == 0)
		return cli_usage_error(cmd->name, "at least one --hostdev is required");
	return EXIT_OK;
}

/* Open the domain's fds, the warnings printed once. */
static int open_fds(fds_command *cmd, vfg_context *ctx, const vfg_plan *plan, vfg_fdset **fdset, vfg_error *err)
{
	vfg_fd_options options = {.rlimit_mode = cmd->rlimit_mode};
	if (vfg_domain_open_fds(ctx, plan, &options, fdset, err) < 0)
		return -1;
	const char *line = (*fdset)->warnings;
	while (*line) {
		const char *end = strchr(line, '\n');
		int length = end ? (int)(end - line) : (int)strlen(line);
		fprintf(stderr, "vfguard %s: warning: %.*s\n", cmd->name, length, line);
		line += length + (end ? 1 : 0);
	}
	return 0;
}

static int run_exec(fds_command *cmd, vfg_context *ctx, vfg_plan *plan, vfg_error *err)
{
	vfg_fdset *fdset = NULL;
	if (open_fds(cmd, ctx, plan, &fdset, err) < 0)
		return EXIT_FAILED;
	/* This process becomes the hypervisor, without CAP_IPC_LOCK: what it pins is charged to it. */
	if (vfg_memlock_raise_self(plan, err) < 0) {
		vfg_fdset_free(fdset);
		return EXIT_FAILED;
	}
	uid_t uid = vfg_plan_domain(plan)->uid;
	gid_t gid = vfg_plan_domain(plan)->gid;
	/* Nothing of vfguard's own may reach COMMAND: the plan and context go before the descriptors are sorted. */
	vfg_plan_free(plan);
	vfg_context_free(ctx);
	fflush(NULL);

	char **env = NULL;
	if (vfg_fdset_install(fdset, cmd->fd_base, err) < 0 || !(env = vfg_fdset_environment(fdset)) ||
	    vfg_privileges_drop(true, uid, gid, err) < 0) {
		if (!env && !err->message[0])
			vfg_error_set(err, ENOMEM, fdset->domain, "cannot build the environment");
		vfg_fdset_free(fdset);
		return -EXIT_FAILED;
	}
	for (char **entry = env; *entry; entry++)
		putenv(*entry); /* the strings become the environment's */
	free(env);
	/*
	 * No exec from here on may add privileges (a setuid binary, file
	 * capabilities): the hypervisor keeps the uid and the empty sets it has
	 * (prctl(2), PR_SET_NO_NEW_PRIVS; inherited across fork and execve).
	 */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		vfg_error_set(err, errno, cmd->command[0], "cannot set no_new_privs for the command");
		vfg_fdset_free(fdset);
		return -EXIT_FAILED;
	}
	execvp(cmd->command[0], cmd->command);
	vfg_error_set(err, errno, cmd->command[0], "cannot run the command");
	vfg_fdset_free(fdset);
	return -EXIT_FAILED;
}

/* A listening socket at @path, 0660 and owned by the hypervisor's uid:gid, so it can connect. */
/*
 * The socket is bound under a temporary name beside PATH, given to the
 * hypervisor's uid and set listening, and only then renamed to PATH: a
 * peer never finds it still root's (EACCES) or not yet listening. The
 * rename does not replace a file already at PATH, as bind would not.
 */
static int socket_listen(const char *path, uid_t uid, gid_t gid, vfg_error *err)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	char suffix[32];
	snprintf(suffix, sizeof(suffix), ".%ld~", (long)getpid());
	size_t longest = sizeof(address.sun_path) - 1 - strlen(suffix);
	if (strlen(path) > longest)
		return vfg_error_set(err, ENAMETOOLONG, path, "socket path longer than %zu bytes", longest);
	snprintf(address.sun_path, sizeof(address.sun_path), "%s%s", path, suffix);
	const char *temporary = address.sun_path;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vfg_error_set(err, errno, path, "cannot create the socket");
	unlink(temporary); /* left by a killed vfguard with the same pid */
	mode_t old_umask = umask(0117);
	int r = bind(fd, (struct sockaddr *)&address, sizeof(address));
	int error = errno;
	umask(old_umask);
	if (r < 0) {
		close(fd);
		return vfg_error_set(err, error, path, "cannot create the socket");
	}
	/* AT_SYMLINK_NOFOLLOW: the name just bound, never what a symlink put there would point to. */
	if (fchownat(AT_FDCWD, temporary, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || listen(fd, 4) < 0) {
		error = errno;
		unlink(temporary);
		close(fd);
		return vfg_error_set(err, error, path, "cannot give the socket to uid %u", (unsigned)uid);
	}
	if (renameat2(AT_FDCWD, temporary, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		error = errno;
		unlink(temporary);
		close(fd);
		return vfg_error_set(err, error == EEXIST ? EADDRINUSE : error, path, "cannot create the socket");
	}
	return fd;
}

/* Accept until a peer with the domain's uid took the fds; others are refused and logged. */
static int serve_fds(fds_command *cmd, vfg_fdset *fdset, int listen_fd, pid_t *peer_pid, vfg_error *err)
{
	int timeout_ms = cmd->timeout_seconds ? cmd->timeout_seconds * 1000 : -1;
	for (;;) {
		struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
		int ready = poll(&pfd, 1, timeout_ms);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return vfg_error_set(err, errno, cmd->socket_path, "cannot wait for the hypervisor");
		if (ready == 0)
			return vfg_error_set(err, ETIMEDOUT, cmd->socket_path,
					     "no peer with uid %u took domain %s's fds in %d s", (unsigned)fdset->uid,
					     fdset->domain, cmd->timeout_seconds);
		int connection = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (connection < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return vfg_error_set(err, errno, cmd->socket_path, "cannot accept");
		}
		struct ucred peer = {0};
		socklen_t length = sizeof(peer);
		getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &length);
		vfg_error refusal = {0};
		int r = vfg_fdset_send(fdset, connection, &refusal);
		close(connection);
		if (r == 0) {
			*peer_pid = peer.pid;
			return 0;
		}
		if (refusal.errnum != EACCES) {
			*err = refusal;
			return -1;
		}
		fprintf(stderr, "vfguard fds: %s\n", refusal.message);
	}
}

static int run_fds(fds_command *cmd, vfg_context *ctx, vfg_plan *plan, vfg_error *err)
{
	vfg_fdset *fdset = NULL;
	if (open_fds(cmd, ctx, plan, &fdset, err) < 0)
		return EXIT_FAILED;
	int listen_fd = socket_listen(cmd->socket_path, fdset->uid, fdset->gid, err);
	pid_t peer_pid = 0;
	int status = EXIT_FAILED;
	if (listen_fd >= 0 && vfg_privileges_drop(false, 0, 0, err) == 0) {
		if (!cmd->common.json) {
			printf("vfguard fds: domain %s: %zu fds ready on %s for uid %u (accounting %s)\n",
			       fdset->domain, fdset->n_fds, cmd->socket_path, (unsigned)fdset->uid,
			       vfg_accounting_name(fdset->accounting));
			fflush(stdout);
		}
		if (serve_fds(cmd, fdset, listen_fd, &peer_pid, err) == 0)
			status = EXIT_OK;
	}
	if (listen_fd >= 0) {
		close(listen_fd);
		/* Best effort: without CAP_FOWNER a sticky directory may keep the name. */
		unlink(cmd->socket_path);
	}
	if (status == EXIT_OK && cmd->common.json) {
		printf("{\n  \"domain\": ");
		cli_json_string(stdout, fdset->domain);
		printf(",\n  \"socket\": ");
		cli_json_string(stdout, cmd->socket_path);
		printf(",\n  \"fds\": %zu,\n  \"accounting\": \"%s\",\n  \"peer_pid\": %d\n}\n", fdset->n_fds,
		       vfg_accounting_name(fdset->accounting), (int)peer_pid);
	} else if (status == EXIT_OK) {
		printf("vfguard fds: domain %s: %zu fds handed to pid %d\n", fdset->domain, fdset->n_fds,
		       (int)peer_pid);
	}
	vfg_fdset_free(fdset);
	return status;
}

static int run_fds_command(fds_command *cmd, int argc, char **argv)
{
	int status = parse_fds_options(cmd, argc, argv);
	if (status != EXIT_OK)
		return status;

	vfg_error err = {0};
	vfg_context *ctx = cli_context_new(&cmd->common, cmd->name, &err);
	if (!ctx)
		return cli_context_failed(&cmd->common, &err);
	vfg_plan *plan = NULL;
	if (cli_domain_finish(&cmd->domain, ctx, &err) < 0) {
		status = EXIT_USAGE;
	} else if (vfg_plan_build(ctx, &cmd->domain.domain, &plan, &err) < 0) {
		status = EXIT_FAILED;
	} else if (strcmp(cmd->name, "qemu-args") == 0) {
		int r = cmd->common.json ? vfg_qemu_args_write_json(plan, cmd->fd_base, stdout, &err)
					 : vfg_qemu_args_write_text(plan, cmd->fd_base, stdout, &err);
		status = r < 0 ? EXIT_FAILED : EXIT_OK;
	} else if (strcmp(cmd->name, "fds") == 0) {
		status = run_fds(cmd, ctx, plan, &err);
	} else {
		/* Returns only on failure; the plan and context are gone once it got that far (negative status). */
		status = run_exec(cmd, ctx, plan, &err);
		if (status < 0) {
			cli_report(&cmd->common, &err);
			return -status;
		}
	}
	if (status != EXIT_OK)
		cli_report(&cmd->common, &err);
	if (status == EXIT_OK && fflush(stdout) != 0)
		status = EXIT_FAILED;
	vfg_plan_free(plan);
	vfg_context_free(ctx);
	return status;
}

static int run_named(const char *name, const char *help, int argc, char **argv)
{
	fds_command cmd = {.name = name, .help = help, .fd_base = 3};
	int status = run_fds_command(&cmd, argc, argv);
	cli_domain_free(&cmd.domain);
	return status;
}

int cmd_exec(int argc, char **argv)
{
	return run_named("exec", exec_help, argc, argv);
}

int cmd_fds(int argc, char **argv)
{
	return run_named("fds", fds_help, argc, argv);
}

int cmd_qemu_args(int argc, char **argv)
{
	return run_named("qemu-args", qemu_args_help, argc, argv);
}
