/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The forked helper that enters a mount namespace (ns_exec.h). The parent
 * blocks every signal around fork() so no handler of the manager's runs in
 * the child, which keeps them blocked: it makes system calls, answers over
 * a SOCK_SEQPACKET socket (MSG_NOSIGNAL on both sides, so a vanished peer is
 * an error, never a SIGPIPE in the manager) and ends with _exit().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns_exec.h"
#include "vfg_fault.h"

/* A helper makes a few system calls on a tmpfs; one that has not answered in this long hangs (a stuck mount). */
#define NS_HELPER_TIMEOUT_MS 30000
/* How often the parent looks whether a silent helper still runs (another fork may hold its socket end open). */
#define NS_HELPER_POLL_MS 100

/* The helper's first message: did setns() succeed? */
typedef struct ns_hello {
	int errnum;
} ns_hello;

int ns_target_open(pid_t pid, ns_target *target, vfg_error *err)
{
	char path[64];
	struct stat st;
	*target = (ns_target){.pid = pid, .fd = -1};
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	target->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (target->fd < 0) {
		/* A zombie has no namespaces left: the link fails ENOENT as for a pid that is gone. */
		if (errno == ENOENT || errno == ESRCH)
			return vfg_error_set(err, ESRCH, path,
					     "pid %d does not run (any more): its mount namespace cannot be entered",
					     (int)pid);
		return vfg_error_set(err, errno, path, "cannot open the mount namespace of pid %d", (int)pid);
	}
	if (fstat(target->fd, &st) < 0) {
		int saved = errno;
		ns_target_close(target);
		return vfg_error_set(err, saved, path, "cannot stat the mount namespace of pid %d", (int)pid);
	}
	target->dev = (unsigned long)st.st_dev;
	target->ino = (unsigned long)st.st_ino;
	return 0;
}

void ns_target_close(ns_target *target)
{
	if (target->fd >= 0)
		close(target->fd);
	target->fd = -1;
}

int ns_target_is_own(const ns_target *target, bool *own, vfg_error *err)
{
	struct stat ours;
	if (stat("/proc/self/ns/mnt", &ours) < 0)
		return vfg_error_set(err, errno, "/proc/self/ns/mnt", "cannot read vfguard's own mount namespace");
	*own = (unsigned long)ours.st_dev == target->dev && (unsigned long)ours.st_ino == target->ino;
	return 0;
}

bool ns_child_send(int sock, const void *msg, size_t size)
{
	ssize_t n;
	do
		n = send(sock, msg, size, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)size;
}

bool ns_child_receive(int sock, void *msg, size_t size)
{
	ssize_t n;
	do
		n = recv(sock, msg, size, 0);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)size;
}

/* The child: from fork() to _exit() only system calls and the functions the caller gave. */
__attribute__((noreturn)) static void ns_helper_child(int target_fd, int sock, ns_child_main child_main, void *arg)
{
	/* Gone with the thread that forked it, so a dead manager leaves no helper waiting. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ns_hello hello = {0};
	if (vfg_fault("namespace.setns") || setns(target_fd, CLONE_NEWNS) < 0)
		hello.errnum = errno;
	if (ns_child_send(sock, &hello, sizeof(hello)) && hello.errnum == 0)
		child_main(sock, arg);
	_exit(0);
}

int ns_helper_start(const ns_target *target, ns_child_main child_main, void *arg, ns_helper *helper, vfg_error *err)
{
	int sv[2];
	*helper = (ns_helper){.pid = -1, .sock = -1, .target_pid = target->pid};
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vfg_error_set(err, errno, "socketpair", "cannot make the namespace helper's socket");

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid_t pid = vfg_fault("namespace.fork") ? -1 : fork();
	if (pid == 0) {
		close(sv[0]);
		ns_helper_child(target->fd, sv[1], child_main, arg);
	}
	int fork_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		return vfg_error_set(err, fork_errno, "fork", "cannot fork the helper for pid %d's mount namespace",
				     (int)target->pid);
	}
	helper->pid = pid;
	helper->sock = sv[0];

	ns_hello hello;
	if (ns_helper_receive(helper, &hello, sizeof(hello), err) < 0)
		return -1;
	if (hello.errnum) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)target->pid);
		ns_helper_finish(helper);
		return vfg_error_set(err, hello.errnum, path, "the helper cannot enter the mount namespace of pid %d",
				     (int)target->pid);
	}
	return 0;
}

/* Reap the helper if it has ended; true when it has. */
static bool ns_helper_reap(ns_helper *helper, bool block)
{
	if (helper->reaped || helper->pid < 0)
		return true;
	pid_t r;
	do
		r = waitpid(helper->pid, &helper->status, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	/* ECHILD: the manager reaps children itself (SIGCHLD ignored, or its own wait loop). */
	if (r == helper->pid || (r < 0 && errno == ECHILD)) {
		if (r < 0)
			helper->status = 0;
		helper->reaped = true;
	}
	return helper->reaped;
}

static int ns_helper_lost(ns_helper *helper, vfg_error *err)
{
	char what[64] = "exited without answering";
	if (helper->reaped && WIFSIGNALED(helper->status))
		snprintf(what, sizeof(what), "was killed by signal %d", WTERMSIG(helper->status));
	return vfg_error_set(err, EPIPE, "", "the helper in pid %d's mount namespace %s", (int)helper->target_pid,
			     what);
}

int ns_helper_receive(ns_helper *helper, void *msg, size_t size, vfg_error *err)
{
	for (int waited = 0; waited < NS_HELPER_TIMEOUT_MS; waited += NS_HELPER_POLL_MS) {
		struct pollfd pfd = {.fd = helper->sock, .events = POLLIN};
		int r = poll(&pfd, 1, NS_HELPER_POLL_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return vfg_error_set(err, errno, "poll", "cannot wait for the namespace helper");
		if (r == 0) {
			if (ns_helper_reap(helper, false))
				return ns_helper_lost(helper, err);
			continue;
		}
		ssize_t n;
		do
			n = recv(helper->sock, msg, size, MSG_TRUNC);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)size)
			return 0;
		if (n > 0)
			return vfg_error_set(err, EPROTO, "", "the namespace helper sent %zd bytes, expected %zu", n,
					     size);
		if (n < 0)
			return vfg_error_set(err, errno, "recv", "cannot read from the namespace helper");
		ns_helper_reap(helper, true); /* EOF: it has ended, or is about to */
		return ns_helper_lost(helper, err);
	}
	kill(helper->pid, SIGKILL);
	ns_helper_reap(helper, true);
	return vfg_error_set(err, ETIMEDOUT, "",
			     "the helper in pid %d's mount namespace did not answer in %d s; killed",
			     (int)helper->target_pid, NS_HELPER_TIMEOUT_MS / 1000);
}

int ns_helper_send(ns_helper *helper, const void *msg, size_t size, vfg_error *err)
{
	ssize_t n;
	do
		n = send(helper->sock, msg, size, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)size) {
		ns_helper_reap(helper, false);
		return ns_helper_lost(helper, err);
	}
	return 0;
}

void ns_helper_finish(ns_helper *helper)
{
	if (helper->sock >= 0)
		close(helper->sock);
	helper->sock = -1;
	ns_helper_reap(helper, true);
}
