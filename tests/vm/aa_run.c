/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * aa_run: AppArmor confinement for the VM suite's AppArmor scenarios.
 *
 *   aa_run exec PROFILE PROGRAM [ARGS...]
 *	run PROGRAM confined by PROFILE (aa_change_onexec(), so the exec
 *	itself makes the transition, as a hypervisor started under its
 *	profile)
 *
 *   aa_run handover --group PATH --receiver PROFILE [--opener PROFILE]
 *                   --expect received|refused
 *	a manager handing a VFIO group fd to a confined hypervisor: a
 *	child confines itself by PROFILE (aa_change_profile()), checks that
 *	it cannot open PATH itself, then receives an fd of PATH that the
 *	parent opened (unconfined, or confined by --opener) and sent over
 *	SCM_RIGHTS, and uses it (VFIO_GROUP_GET_STATUS). The kernel
 *	re-checks a received file against the receiver's profile unless its
 *	opener was unconfined (aa_file_perm() in security/apparmor/file.c,
 *	called from apparmor_file_receive()): --expect says which must
 *	happen.
 *
 * handover prints "ok STEP message" / "FAIL STEP message" lines
 * (tests/vm/guest/lib.sh run_checks) and exits 1 when a step failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/vfio.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/apparmor.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void step(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void step(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;
	printf("%s %s ", ok ? "ok" : "FAIL", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	failures += !ok;
}

static int run_exec(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "aa_run exec PROFILE PROGRAM [ARGS...]\n");
		return 2;
	}
	if (aa_change_onexec(argv[2]) < 0) {
		fprintf(stderr, "aa_run: aa_change_onexec(%s): %s\n", argv[2], strerror(errno));
		return 1;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "aa_run: exec %s: %s\n", argv[3], strerror(errno));
	return 127;
}

static int send_fd(int socket, int fd)
{
	char byte = 'f';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr header;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {0};
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(socket, &msg, 0) == 1 ? 0 : -1;
}

/* The fd that came with the message, or -1; *truncated when the kernel dropped it (MSG_CTRUNC). */
static int receive_fd(int socket, bool *truncated)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr header;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {0};
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof(control.buf)};
	*truncated = false;
	if (recvmsg(socket, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	*truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

static void receiver(int socket, const char *group, const char *profile, bool expect_received)
{
	if (aa_change_profile(profile) < 0) {
		step(false, "receiver-confine", "aa_change_profile(%s): %s", profile, strerror(errno));
		return;
	}
	char *label = NULL;
	bool confined = aa_getcon(&label, NULL) >= 0 && strcmp(label, profile) == 0;
	step(confined, "receiver-confine", "the receiver runs as %s", label ? label : "?");
	free(label);

	int fd = open(group, O_RDWR | O_CLOEXEC);
	int saved = errno;
	if (fd >= 0)
		close(fd);
	step(fd < 0 && saved == EACCES, "receiver-open-denied", "open(%s) in %s: %s", group, profile,
	     fd >= 0 ? "opened: the profile allows the path" : strerror(saved));

	char ready = 'r';
	if (write(socket, &ready, 1) != 1) {
		step(false, "receive", "cannot tell the opener: %s", strerror(errno));
		return;
	}
	bool truncated;
	fd = receive_fd(socket, &truncated);
	if (!expect_received) {
		step(fd < 0 && truncated, "receive-refused", "%s",
		     fd >= 0 ? "the fd arrived: the kernel did not re-check it against the profile"
			     : "no fd arrived (MSG_CTRUNC): the kernel re-checked it against the profile");
		return;
	}
	step(fd >= 0, "receive", "%s", fd >= 0 ? "the fd arrived" : truncated ? "refused (MSG_CTRUNC)" : "no fd");
	if (fd < 0)
		return;
	struct stat st, node;
	bool same = fstat(fd, &st) == 0 && stat(group, &node) == 0 && st.st_rdev == node.st_rdev;
	step(same, "receive-same-node", "the received fd is %s", same ? "the group node" : "another file");
	struct vfio_group_status status = {.argsz = sizeof(status)};
	int r = ioctl(fd, VFIO_GROUP_GET_STATUS, &status);
	step(r == 0, "use-fd", "VFIO_GROUP_GET_STATUS: %s", r == 0 ? "flags read" : strerror(errno));
	close(fd);
}

static int run_handover(int argc, char **argv)
{
	const char *group = NULL, *receiver_profile = NULL, *opener_profile = NULL, *expect = NULL;
	static const struct option options[] = {
		{"group", required_argument, NULL, 'g'},
		{"receiver", required_argument, NULL, 'r'},
		{"opener", required_argument, NULL, 'o'},
		{"expect", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	optind = 2;
	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 'g':
			group = optarg;
			break;
		case 'r':
			receiver_profile = optarg;
			break;
		case 'o':
			opener_profile = optarg;
			break;
		case 'e':
			expect = optarg;
			break;
		default:
			return 2;
		}
	}
	if (!group || !receiver_profile || !expect ||
	    (strcmp(expect, "received") != 0 && strcmp(expect, "refused") != 0)) {
		fprintf(stderr, "aa_run handover --group PATH --receiver PROFILE [--opener PROFILE] "
				"--expect received|refused\n");
		return 2;
	}

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return perror("aa_run: socketpair"), 1;
	pid_t pid = fork();
	if (pid < 0)
		return perror("aa_run: fork"), 1;
	if (pid == 0) {
		close(sv[0]);
		receiver(sv[1], group, receiver_profile, strcmp(expect, "received") == 0);
		_exit(failures ? 1 : 0);
	}
	close(sv[1]);
	char ready;
	if (read(sv[0], &ready, 1) != 1) {
		step(false, "opener-open", "the receiver never got ready");
	} else {
		if (opener_profile) {
			int r = aa_change_profile(opener_profile);
			step(r == 0, "opener-confine", "the opener runs as %s%s%s", opener_profile, r ? ": " : "",
			     r ? strerror(errno) : "");
		}
		int fd = open(group, O_RDWR | O_CLOEXEC);
		step(fd >= 0, "opener-open", "open(%s) by the %s opener: %s", group,
		     opener_profile ? "confined" : "unconfined", fd >= 0 ? "opened" : strerror(errno));
		if (fd >= 0 && send_fd(sv[0], fd) < 0)
			step(false, "opener-send", "sendmsg: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	close(sv[0]);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failures++;
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "exec") == 0)
		return run_exec(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "handover") == 0)
		return run_handover(argc, argv);
	fprintf(stderr, "usage: aa_run exec PROFILE PROGRAM [ARGS...]\n"
			"       aa_run handover --group PATH --receiver PROFILE [--opener PROFILE] "
			"--expect received|refused\n");
	return 2;
}
