/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "testlib.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
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
	return test_root_new_in("/tmp", manifest);
}

const char *test_root_new_in(const char *dir, const char *manifest)
{
	static char root[256];
	snprintf(root, sizeof(root), "%s/vfguard-test-XXXXXX", dir);
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
	/* EOF also ends a read that failed: what was read so far is not the file */
	ck_assert_msg(!ferror(f), "cannot read %s", path);
	fclose(f);
	ck_assert_int_eq(fclose(out), 0);
	return content;
}

char *test_read_nonempty(const char *path)
{
	char *content = test_read_file("", path);
	ck_assert_msg(content != NULL, "%s does not exist", path);
	ck_assert_msg(content[0] != '\0', "%s reads empty", path);
	return content;
}

void test_expect_no_xattr(const char *path, const char *name)
{
	ssize_t n = lgetxattr(path, name, NULL, 0);
	ck_assert_msg(n < 0, "%s carries %s", path, name);
	ck_assert_msg(errno == ENODATA, "lgetxattr %s %s: %s", path, name, strerror(errno));
}

/* nftw() takes no argument for its callback: one snapshot at a time. */
static struct {
	FILE *out;
	size_t root_len;
	unsigned flags;
	size_t char_devices;
} snapshot;

static void snapshot_xattrs(const char *path)
{
	char names[4096];
	ssize_t n = llistxattr(path, names, sizeof(names));
	ck_assert_msg(n >= 0, "llistxattr %s: %s", path, strerror(errno));
	for (char *name = names; name < names + n; name += strlen(name) + 1) {
		unsigned char value[4096];
		ssize_t len = lgetxattr(path, name, value, sizeof(value));
		ck_assert_msg(len >= 0, "lgetxattr %s %s: %s", path, name, strerror(errno));
		bool printable = true;
		fprintf(snapshot.out, "  xattr %s=", name);
		for (ssize_t i = 0; i < len; i++) {
			fprintf(snapshot.out, "%02x", value[i]);
			/* labels end in a NUL */
			printable &= (value[i] >= 0x20 && value[i] < 0x7f) || (value[i] == 0 && i == len - 1);
		}
		/* the hex is exact; the text, without a label's closing NUL, is for people */
		if (printable && len > 0)
			fprintf(snapshot.out, " \"%.*s\"", (int)(value[len - 1] ? len : len - 1), (const char *)value);
		fputc('\n', snapshot.out);
	}
}

static int snapshot_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	/* nftw() goes on past an entry it cannot stat or a directory it cannot list: the snapshot would lack them */
	ck_assert_msg(type != FTW_NS, "cannot stat %s", path);
	ck_assert_msg(type != FTW_DNR, "cannot list %s", path);
	const char *relative = path[snapshot.root_len] ? path + snapshot.root_len + 1 : ".";
	if ((snapshot.flags & TEST_SNAPSHOT_NO_STATE) &&
	    (strcmp(relative, "run") == 0 || strncmp(relative, "run/", 4) == 0))
		return type == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;

	/* creating run/ moves the root's times, and its size on tmpfs; a change of its entries shows as entries */
	bool state_times = (snapshot.flags & TEST_SNAPSHOT_NO_STATE) && ftw->level == 0;
	bool content = snapshot.flags & TEST_SNAPSHOT_CONTENT;
	fprintf(snapshot.out, "%s mode=%o uid=%u gid=%u rdev=%lx", relative, st->st_mode, st->st_uid, st->st_gid,
		(unsigned long)st->st_rdev);
	if (!content)
		fprintf(snapshot.out, " ino=%lu", (unsigned long)st->st_ino);
	if (!state_times)
		fprintf(snapshot.out, " size=%lld", (long long)st->st_size);
	if (!state_times && !content)
		fprintf(snapshot.out, " mtime=%ld.%09ld", st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	if (!state_times && !content && !(snapshot.flags & TEST_SNAPSHOT_NO_CTIME))
		fprintf(snapshot.out, " ctime=%ld.%09ld", st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
	fputc('\n', snapshot.out);
	if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlink(path, target, sizeof(target));
		ck_assert_msg(n >= 0, "readlink %s: %s", path, strerror(errno));
		fprintf(snapshot.out, "  -> %.*s\n", (int)n, target);
	}
	if (S_ISREG(st->st_mode)) {
		FILE *f = fopen(path, "r");
		ck_assert_msg(f != NULL, "cannot read %s: %s", path, strerror(errno));
		int c;
		fputs("  content ", snapshot.out);
		while ((c = fgetc(f)) != EOF)
			fprintf(snapshot.out, "%02x", c);
		ck_assert_msg(!ferror(f), "cannot read %s", path);
		fputc('\n', snapshot.out);
		fclose(f);
	}
	snapshot.char_devices += S_ISCHR(st->st_mode);
	snapshot_xattrs(path);
	return FTW_CONTINUE;
}

char *test_snapshot(const char *root, unsigned flags)
{
	char *text = NULL;
	size_t size = 0;
	snapshot.out = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(snapshot.out);
	snapshot.root_len = strlen(root);
	snapshot.flags = flags;
	snapshot.char_devices = 0;
	ck_assert_msg(nftw(root, snapshot_entry, 16, FTW_PHYS | FTW_ACTIONRETVAL) == 0, "nftw %s: %s", root,
		      strerror(errno));
	ck_assert_int_eq(fclose(snapshot.out), 0);
	/* two snapshots of a walk that found nothing would compare equal */
	ck_assert_msg(snapshot.char_devices > 0 || (flags & TEST_SNAPSHOT_NO_NODES_OK),
		      "the snapshot of %s holds no device node:\n%.2000s", root, text);
	return text;
}

/* The entry at @text, a line and the indented lines below it: its length. */
static size_t snapshot_block_length(const char *text)
{
	const char *end = text;
	do {
		end = strchr(end, '\n');
		end = end ? end + 1 : text + strlen(text);
	} while (*end == ' ');
	return (size_t)(end - text);
}

static bool snapshot_has_block(const char *text, const char *block, size_t length)
{
	for (const char *at = text; *at; at += snapshot_block_length(at))
		if (snapshot_block_length(at) == length && memcmp(at, block, length) == 0)
			return true;
	return false;
}

/* The entries of @from that @to lacks, each marked with @sign, into @out. */
static void snapshot_diff(FILE *out, const char *from, const char *to, char sign)
{
	for (const char *at = from; *at; at += snapshot_block_length(at)) {
		size_t length = snapshot_block_length(at);
		if (!snapshot_has_block(to, at, length))
			fprintf(out, "%c %.*s", sign, (int)length, at);
	}
}

void test_snapshot_expect(const char *root, unsigned flags, const char *before, const char *what)
{
	ck_assert_msg(before != NULL && before[0], "%s: no snapshot from before to compare with", what);
	char *after = test_snapshot(root, flags);
	if (strcmp(before, after) != 0) {
		/* Check carries a message of a few KiB: only the entries that differ */
		char *diff = NULL;
		size_t size = 0;
		FILE *out = open_memstream(&diff, &size);
		ck_assert_ptr_nonnull(out);
		snapshot_diff(out, before, after, '-');
		snapshot_diff(out, after, before, '+');
		ck_assert_int_eq(fclose(out), 0);
		ck_abort_msg("%s: the tree changed (- before, + after):\n%.3000s", what, diff);
	}
	free(after);
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
	for (size_t i = 0; i < vfg_plan_n_nodes(plan); i++)
		if (strcmp(vfg_plan_node(plan, i)->path, path) == 0)
			return vfg_plan_node(plan, i);
	ck_abort_msg("the plan has no node %s", path);
	return NULL;
}

const vfg_step *test_step(const vfg_plan *plan, const char *labeler, const char *path)
{
	for (size_t i = 0; i < vfg_plan_n_steps(plan); i++) {
		const vfg_step *step = vfg_plan_step(plan, i);
		if (strcmp(vfg_plan_labeler(plan, step->labeler)->name, labeler) == 0 &&
		    strcmp(vfg_plan_node(plan, step->node)->path, path) == 0)
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
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
}

pid_t test_dead_pid(void)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
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

void test_run_program(test_run *run, const char *program, const char *name, const char *const *argv, const char *input,
		      size_t size, const char *root)
{
	ck_assert_msg(program != NULL, "no program to run (meson test sets its variable)");
	FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
	ck_assert(in && out && err);
	ck_assert_uint_eq(fwrite(input, 1, size, in), size);
	ck_assert_int_eq(fflush(in), 0);
	rewind(in);
	size_t n = 0;
	while (argv[n])
		n++;
	const char **args = calloc(n + 2, sizeof(*args));
	ck_assert_ptr_nonnull(args);
	args[0] = name;
	memcpy(args + 1, argv, n * sizeof(*args));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (root)
			setenv("VFGUARD_ROOT", root, 1);
		else
			unsetenv("VFGUARD_ROOT");
		dup2(fileno(in), STDIN_FILENO);
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		alarm(60); /* kept across execve(2) */
		execv(program, (char **)args);
		_exit(127);
	}
	free(args);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	rewind(out);
	rewind(err);
	run->out = read_all(fileno(out));
	run->err = read_all(fileno(err));
	fclose(in);
	fclose(out);
	fclose(err);
}

void test_run_free(test_run *run)
{
	free(run->out);
	free(run->err);
}

void test_expect_lines_fit(const char *text, size_t columns, const char *what)
{
	size_t number = 1;
	for (const char *line = text; *line; number++) {
		size_t bytes = strcspn(line, "\n"), width = 0;
		for (size_t i = 0; i < bytes; i++)
			width += ((unsigned char)line[i] & 0xc0) != 0x80;
		if (width > columns)
			fprintf(stderr, "%s:\n%s\n", what, text); /* the whole text, too long for a Check message */
		ck_assert_msg(width <= columns, "%s: line %zu is %zu columns wide, more than %zu:\n%.*s", what, number,
			      width, columns, (int)(bytes < 1024 ? bytes : 1024), line);
		line += bytes + (line[bytes] == '\n');
	}
}

int test_main(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	srunner_run_all(runner, CK_NORMAL);
	int failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/*
 * The kill hook is in the library only when meson is configured with
 * -Dtest_faults=true: without it no run is ever killed and a crash test
 * would pass having proved nothing, so it fails instead, saying why.
 */
static void expect_fault_hook(void)
{
#ifndef VFG_TEST_FAULTS
	ck_abort_msg("crash test: this build has no kill hook; configure it with meson -Dtest_faults=true "
		     "(scripts/build does)");
#endif
}

int test_cli_killed_at(unsigned point, const char *const *argv)
{
	expect_fault_hook();
	/* without it the child's exec fails, and its exit 127 would read as a run that reached its end */
	ck_assert_msg(getenv("VFGUARD_CLI") != NULL, "VFGUARD_CLI is not set (meson test sets it)");
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char value[16];
		snprintf(value, sizeof(value), "%u", point);
		setenv("VFGUARD_FAULT_KILL_AT", value, 1);
		const char *args[32] = {getenv("VFGUARD_CLI")};
		for (size_t i = 0; argv[i] && i < 30; i++)
			args[i + 1] = argv[i];
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, STDOUT_FILENO);
		dup2(devnull, STDERR_FILENO);
		execv(args[0], (char **)args);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

unsigned test_kill_at_each_point(int (*apply)(void *data), void (*after_kill)(unsigned point, void *data), void *data)
{
	expect_fault_hook();
	for (unsigned point = 1;; point++) {
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			char at[16];
			snprintf(at, sizeof(at), "%u", point);
			setenv("VFGUARD_FAULT_KILL_AT", at, 1);
			_exit(apply(data) == 0 ? 0 : 1);
		}
		int status;
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status)) {
			ck_assert_msg(WEXITSTATUS(status) == 0, "apply failed with no kill at point %u", point);
			return point - 1;
		}
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "apply died otherwise at point %u",
			      point);
		after_kill(point, data);
	}
}

void test_restore_ok(vfg_context *ctx, unsigned point)
{
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_restore(ctx, false, &summary, &err) == 0, "restore after point %u: %s", point, err.message);
}

void test_journal_field(const char *value, char *buf, size_t size)
{
	size_t used = 0;
	for (const char *c = value; *c && used + 4 < size; c++)
		used += (size_t)snprintf(buf + used, size - used, *c == ' ' || *c == '%' ? "%%%02X" : "%c", *c);
	buf[used] = '\0';
}

void test_domain_attr(vfg_domain *domain, const char *name, const char *fmt, ...)
{
	char value[VFG_DOMAIN_ATTRS_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	vfg_error err = {0};
	ck_assert_msg(vfg_domain_attr_set(domain, name, value, &err) == 0, "%s=%s: %s", name, value, err.message);
}

void test_make_link(const char *root, const char *logical, const char *target)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path(root, logical));
	ck_assert_msg(symlink(target, path) == 0, "symlink %s: %s", path, strerror(errno));
}

static void make_dir(const char *root, const char *logical)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path(root, logical));
	for (char *slash = strchr(path + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
		*slash = '/';
	}
	ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
}

static void make_node(const char *root, const char *logical, unsigned major, unsigned minor)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path(root, logical));
	*strrchr(path, '/') = '\0';
	make_dir(root, path + strlen(root));
	snprintf(path, sizeof(path), "%s", test_path(root, logical));
	ck_assert_msg(mknod(path, S_IFCHR | 0600, makedev(major, minor)) == 0, "mknod %s: %s", path, strerror(errno));
}

/*
 * mdev @uuid of type mtty-2 (device_api @api) in IOMMU group @group, its
 * group node 243:@group and, when @cdev >= 0, cdev vfio@cdev (511:@cdev):
 * the layout of Documentation/driver-api/vfio-mediated-device.rst.
 */
void test_make_mdev(const char *root, const char *uuid, const char *api, unsigned group, int cdev)
{
	char logical[512], text[512];
	snprintf(logical, sizeof(logical), TEST_MDEV_PARENT "/mdev_supported_types/mtty-2/device_api");
	snprintf(text, sizeof(text), "%s\n", api);
	test_write_file(root, logical, text);
	snprintf(logical, sizeof(logical), TEST_MDEV_PARENT "/%s", uuid);
	make_dir(root, logical);
	snprintf(logical, sizeof(logical), TEST_MDEV_PARENT "/%s/mdev_type", uuid);
	test_make_link(root, logical, "../mdev_supported_types/mtty-2");
	make_dir(root, "/sys/bus/mdev/drivers/vfio_mdev");
	snprintf(logical, sizeof(logical), TEST_MDEV_PARENT "/%s/driver", uuid);
	test_make_link(root, logical, "../../../../bus/mdev/drivers/vfio_mdev");
	make_dir(root, "/sys/bus/mdev/devices");
	snprintf(logical, sizeof(logical), "/sys/bus/mdev/devices/%s", uuid);
	snprintf(text, sizeof(text), "../../../devices/virtual/mtty/mtty/%s", uuid);
	test_make_link(root, logical, text);
	if (group) {
		snprintf(logical, sizeof(logical), "/sys/kernel/iommu_groups/%u/devices", group);
		make_dir(root, logical);
		snprintf(logical, sizeof(logical), "/sys/kernel/iommu_groups/%u/devices/%s", group, uuid);
		snprintf(text, sizeof(text), "../../../../devices/virtual/mtty/mtty/%s", uuid);
		test_make_link(root, logical, text);
		snprintf(logical, sizeof(logical), TEST_MDEV_PARENT "/%s/iommu_group", uuid);
		snprintf(text, sizeof(text), "../../../../kernel/iommu_groups/%u", group);
		test_make_link(root, logical, text);
		snprintf(logical, sizeof(logical), "/sys/class/vfio/%u/dev", group);
		snprintf(text, sizeof(text), "243:%u\n", group);
		test_write_file(root, logical, text);
		snprintf(logical, sizeof(logical), "/dev/vfio/%u", group);
		make_node(root, logical, 243, group);
	}
	if (cdev >= 0) {
		snprintf(logical, sizeof(logical), TEST_MDEV_PARENT "/%s/vfio-dev/vfio%d/dev", uuid, cdev);
		snprintf(text, sizeof(text), "511:%d\n", cdev);
		test_write_file(root, logical, text);
		snprintf(logical, sizeof(logical), "/dev/vfio/devices/vfio%d", cdev);
		make_node(root, logical, 511, (unsigned)cdev);
	}
}

int test_journal_files(const char *root)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/run/vfguard/domains", root);
	DIR *dir = opendir(path);
	if (!dir) {
		/* none made yet, or all gone: any other failure is no count */
		ck_assert_msg(errno == ENOENT, "%s: %s", path, strerror(errno));
		return 0;
	}
	int count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)))
		count += entry->d_name[0] != '.';
	closedir(dir);
	return count;
}

int test_count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(dir);
	int n = 0;
	for (struct dirent *entry; (entry = readdir(dir));)
		n += entry->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the directory's own */
}

/* A child holding @path open (open(2) @flags) until test_holder_stop; started once it has it open. */
pid_t test_holder_start(const char *path, int flags)
{
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int fd = open(path, flags);
		(void)!write(ready[1], fd >= 0 ? "y" : "n", 1);
		pause();
		_exit(0);
	}
	char answer = 0;
	ck_assert_int_eq(read(ready[0], &answer, 1), 1);
	close(ready[0]);
	close(ready[1]);
	ck_assert_msg(answer == 'y', "the holder could not open %s", path);
	return child;
}

void test_holder_stop(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

/* Copy module vfguard-@name.so from directory @from into ROOT/plugins, root's and 0644 as a package installs it. */
void test_install_module(const char *root, const char *from, const char *name)
{
	char source[4096], target[4096];
	snprintf(source, sizeof(source), "%s/vfguard-%s.so", from, name);
	snprintf(target, sizeof(target), "%s/vfguard-%s.so", test_path(root, "/plugins"), name);
	int in = open(source, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(in >= 0, "%s: %s", source, strerror(errno));
	int out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_msg(out >= 0, "%s: %s", target, strerror(errno));
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	ck_assert_int_eq(close(out), 0);
}
