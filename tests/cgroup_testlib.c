/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cgroup_testlib.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

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
