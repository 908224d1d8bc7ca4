/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "testlib.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hosttree.h"

const char test_host_gpu[] = "misc vfio 10:196\n"
			     "misc iommu 10:257\n"
			     "group 7 243:0\n"
			     "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			     "cdev=vfio0:511:0\n"
			     "device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci "
			     "cdev=vfio1:511:1\n";

const char *test_root_new(const char *manifest)
{
	static char root[64];
	snprintf(root, sizeof(root), "/tmp/vfguard-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	char error[512] = "";
	int r = hosttree_build_string(manifest, root, error, sizeof(error));
	ck_assert_msg(r == 0, "cannot build host: %s", error);
	return root;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path);
}

void test_root_remove(const char *root)
{
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *test_path(const char *root, const char *logical)
{
	static char path[4096];
	snprintf(path, sizeof(path), "%s%s", root, logical);
	return path;
}

void test_write_file(const char *root, const char *logical, const char *content)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s", root, logical);
	for (char *slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", path, strerror(errno));
		*slash = '/';
	}
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

char *test_read_file(const char *root, const char *logical)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s", root, logical);
	FILE *f = fopen(path, "r");
	if (!f) {
		ck_assert_msg(errno == ENOENT, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	char *content = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&content, &size);
	ck_assert(out != NULL);
	int c;
	while ((c = fgetc(f)) != EOF)
		fputc(c, out);
	fclose(f);
	ck_assert_int_eq(fclose(out), 0);
	return content;
}

vfg_context *test_context(const char *root)
{
	vfg_error err = {0};
	vfg_context_options options = {.root = root};
	vfg_context *ctx = vfg_context_new(&options, &err);
	ck_assert_msg(ctx != NULL, "context: %s", err.message);
	return ctx;
}

int test_plan(vfg_context *ctx, vfg_plan **plan, vfg_error *err, const char *const *hostdevs)
{
	vfg_hostdev_spec specs[8];
	size_t n = 0;
	for (; hostdevs[n]; n++) {
		ck_assert_uint_lt(n, 8);
		ck_assert_msg(vfg_hostdev_spec_parse(ctx, hostdevs[n], &specs[n], err) == 0, "%s", err->message);
	}
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = n, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "vm1");
	return vfg_plan_build(ctx, &domain, plan, err);
}

const vfg_node *test_node(const vfg_plan *plan, const char *path)
{
	for (size_t i = 0; i < plan->n_nodes; i++)
		if (strcmp(plan->nodes[i].path, path) == 0)
			return &plan->nodes[i];
	ck_abort_msg("the plan has no node %s", path);
	return NULL;
}

const vfg_step *test_step(const vfg_plan *plan, const char *labeler, const char *path)
{
	for (size_t i = 0; i < plan->n_steps; i++) {
		const vfg_step *step = &plan->steps[i];
		if (strcmp(plan->labelers[step->labeler].labeler->name, labeler) == 0 &&
		    strcmp(plan->nodes[step->node].path, path) == 0)
			return step;
	}
	ck_abort_msg("the plan has no %s step for %s", labeler, path);
	return NULL;
}

pid_t test_child_in_new_mount_namespace(void)
{
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char ok = unshare(CLONE_NEWNS) == 0 ? 'y' : 'n';
		(void)!write(pipefd[1], &ok, 1);
		pause();
		_exit(0);
	}
	char ok = 0;
	ck_assert_int_eq(read(pipefd[0], &ok, 1), 1);
	ck_assert_msg(ok == 'y', "unshare(CLONE_NEWNS) failed in the child");
	close(pipefd[0]);
	close(pipefd[1]);
	return pid;
}

void test_child_stop(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static char *read_all(int fd)
{
	size_t size = 0, cap = 4096;
	char *buf = malloc(cap);
	ck_assert_ptr_nonnull(buf);
	for (;;) {
		if (size + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		ssize_t n = read(fd, buf + size, cap - size - 1);
		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		size += (size_t)n;
	}
	buf[size] = '\0';
	return buf;
}

void test_cli(test_run *run, const char *const *argv)
{
	const char *cli = getenv("VFGUARD_CLI");
	ck_assert_msg(cli != NULL, "VFGUARD_CLI is not set (meson test sets it)");

	/* Output goes to files, so a large stdout cannot block the child while we wait. */
	FILE *out = tmpfile(), *err = tmpfile();
	ck_assert(out && err);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *args[64] = {cli};
		for (size_t i = 0; argv[i] && i < 62; i++)
			args[i + 1] = argv[i];
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		execv(cli, (char **)args);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "vfguard did not exit normally");
	run->status = WEXITSTATUS(status);
	rewind(out);
	rewind(err);
	run->out = read_all(fileno(out));
	run->err = read_all(fileno(err));
	fclose(out);
	fclose(err);
}

void test_run_free(test_run *run)
{
	free(run->out);
	free(run->err);
}

int test_main(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
