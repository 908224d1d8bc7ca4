/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cgroup_testlib.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

int test_cgroup_make(const char *mount, const char *name, char *dir, size_t size)
{
	snprintf(dir, size, "%s/%s", mount, name);
	return mkdir(dir, 0755);
}

static pid_t runner;

void test_cgroup_runner_setup(void)
{
	runner = getpid();
}

static void runner_prefix(char *buf, size_t size)
{
	snprintf(buf, size, "vfgtest-%s-%d-", program_invocation_short_name, (int)runner);
}

void test_cgroup_runner_teardown(void)
{
	char prefix[128];
	runner_prefix(prefix, sizeof(prefix));
	test_cgroup_remove_prefixed(prefix);
}

int test_cgroup_make_own(const char *mount, char *dir, size_t size)
{
	char name[160];
	runner_prefix(name, sizeof(name));
	snprintf(name + strlen(name), sizeof(name) - strlen(name), "%d", (int)getpid());
	return test_cgroup_make(mount, name, dir, size);
}

pid_t test_cgroup_child_in(const char *const *dirs, bool own_mounts)
{
	int pipefd[2];
	if (pipe(pipefd) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char ok = 'y';
		for (size_t i = 0; dirs[i] && ok == 'y'; i++) {
			char procs[1024];
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", dirs[i]);
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			ok = fd >= 0 && write(fd, "0", 1) == 1 ? 'y' : 'n';
			if (fd >= 0)
				close(fd);
		}
		if (ok == 'y' && own_mounts && unshare(CLONE_NEWNS) < 0)
			ok = 'n';
		(void)!write(pipefd[1], &ok, 1);
		pause();
		_exit(0);
	}
	char ok = 'n';
	if (pid > 0 && read(pipefd[0], &ok, 1) != 1)
		ok = 'n';
	close(pipefd[0]);
	close(pipefd[1]);
	if (pid > 0 && ok != 'y') {
		test_cgroup_child_stop(pid);
		return -1;
	}
	return pid;
}

void test_cgroup_child_stop(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

char *test_cgroup_devices_list(const char *dir)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/devices.list", dir);
	return test_read_nonempty(path);
}

void test_cgroup_detach_all(const char *dir)
{
	int cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0)
		return;
	__u32 ids[64], n = 64, flags = 0;
	if (bpf_prog_query(cgroup_fd, BPF_CGROUP_DEVICE, 0, &flags, ids, &n) == 0)
		for (__u32 i = 0; i < n; i++) {
			int fd = bpf_prog_get_fd_by_id(ids[i]);
			if (fd >= 0) {
				bpf_prog_detach2(fd, cgroup_fd, BPF_CGROUP_DEVICE);
				close(fd);
			}
		}
	close(cgroup_fd);
}

void test_cgroup_kill_members(const char *dir)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (;;) {
		FILE *f = fopen(path, "re");
		if (!f)
			return;
		int pid, n = 0;
		while (fscanf(f, "%d", &pid) == 1) {
			kill(pid, SIGKILL);
			n++;
		}
		fclose(f);
		if (n == 0)
			return;
		usleep(10000); /* a killed process leaves its cgroup once it is reaped */
	}
}

void test_cgroup_remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_type == DT_DIR && e->d_name[0] != '.') {
			char child[1024];
			snprintf(child, sizeof(child), "%s/%s", dir, e->d_name);
			test_cgroup_remove_tree(child);
		}
	closedir(d);
	test_cgroup_kill_members(dir);
	if (strncmp(dir, TEST_CGROUP_V2, strlen(TEST_CGROUP_V2)) == 0)
		test_cgroup_detach_all(dir);
	rmdir(dir);
}

void test_cgroup_remove_prefixed(const char *prefix)
{
	const char *mounts[] = {TEST_CGROUP_V1, TEST_CGROUP_V2};
	for (size_t m = 0; m < sizeof(mounts) / sizeof(mounts[0]); m++) {
		DIR *d = opendir(mounts[m]);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d)))
			if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
				char path[1024];
				snprintf(path, sizeof(path), "%s/%s", mounts[m], e->d_name);
				test_cgroup_remove_tree(path);
			}
		closedir(d);
	}
}

/* ---- the VM ---- */

#define CAPABILITY_IPC_LOCK 14 /* include/uapi/linux/capability.h */

void test_cgroup_write(const char *dir, const char *file, const char *text)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	ck_assert_msg(write(fd, text, strlen(text)) == (ssize_t)strlen(text), "write '%s' to %s: %s", text, path,
		      strerror(errno));
	close(fd);
}

/*
 * The VM: a private mount namespace with a tmpfs at ROOT/dev, its locked
 * memory limit, and no CAP_IPC_LOCK (which would let it lock anything). It
 * waits until its command pipe closes.
 */
__attribute__((noreturn)) static void test_vm_main(const char *root, int command, int reply)
{
	char dev[4096];
	snprintf(dev, sizeof(dev), "%s/dev", root);
	struct rlimit limit = {.rlim_cur = TEST_VM_SOFT, .rlim_max = TEST_VM_HARD};
	bool ok = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0 &&
		  mount("tmpfs", dev, "tmpfs", 0, "mode=0755") == 0 && setrlimit(RLIMIT_MEMLOCK, &limit) == 0;
	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	ok = ok && syscall(SYS_capget, &header, data) == 0;
	data[0].effective &= ~(1u << CAPABILITY_IPC_LOCK);
	data[0].permitted &= ~(1u << CAPABILITY_IPC_LOCK);
	ok = ok && syscall(SYS_capset, &header, data) == 0;
	char answer = ok ? 'y' : 'n';
	(void)!write(reply, &answer, 1);
	char c;
	while (read(command, &c, 1) > 0)
		;
	_exit(0);
}

/* Start the VM and move it into @cgroups (NULL-terminated). */
void test_vm_start(test_vm *vm, const char *root, const char *const *cgroups)
{
	struct rlimit inherited;
	ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &inherited), 0);
	ck_assert_msg(inherited.rlim_max == RLIM_INFINITY || inherited.rlim_max >= TEST_VM_HARD,
		      "the VM needs a hard RLIMIT_MEMLOCK of 8 MiB or more, this process has %lu",
		      (unsigned long)inherited.rlim_max);
	int command[2], reply[2];
	ck_assert_int_eq(pipe2(command, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(reply, O_CLOEXEC), 0);
	vm->pid = fork();
	ck_assert_int_ge(vm->pid, 0);
	if (vm->pid == 0) {
		close(command[1]);
		close(reply[0]);
		test_vm_main(root, command[0], reply[1]);
	}
	close(command[0]);
	close(reply[1]);
	vm->command = command[1];
	char answer = 0;
	ck_assert_int_eq(read(reply[0], &answer, 1), 1);
	close(reply[0]);
	ck_assert_msg(answer == 'y', "the VM could not make its /dev, set its limit or drop CAP_IPC_LOCK");
	char pid_text[16];
	snprintf(pid_text, sizeof(pid_text), "%d", (int)vm->pid);
	for (size_t i = 0; cgroups[i]; i++)
		test_cgroup_write(cgroups[i], "cgroup.procs", pid_text);
}

void test_vm_stop(test_vm *vm)
{
	if (vm->pid <= 0)
		return;
	close(vm->command);
	ck_assert_int_eq(waitpid(vm->pid, NULL, 0), vm->pid);
	vm->pid = 0;
}
