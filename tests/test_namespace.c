/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The namespace component for real: a child process unshares its mount
 * namespace (propagation private, so nothing reaches the host) and mounts a
 * tmpfs at ROOT/dev, the way a manager gives a VM its own small /dev. vfguard
 * applies with the DAC labeler and the built-in namespace step; the tests
 * look at the entries from inside the namespace (a forked checker that
 * setns()es into it), and at the host tree, which only DAC may change.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "testlib.h"

/* The DAC tests' host: the misc nodes on a major no driver serves, so nothing real is ever opened. */
static const char host[] = "misc vfio 234:196\n"
			   "misc iommu 234:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio1:511:1\n";

#define CONTAINER "/dev/vfio/vfio"
#define IOMMU "/dev/iommu"
#define GROUP7 "/dev/vfio/7"
#define CDEV1 "/dev/vfio/devices/vfio1"

/* What a round trip must leave exactly as it found it. */
#define UNCHANGED (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

static const char label[] = "system_u:object_r:vfio_device_t:s0";
static const char *const legacy[] = {"01:00.0,backend=legacy", NULL};
static const char *const both_backends[] = {"01:00.0,backend=legacy", "02:00.0,backend=iommufd", NULL};

/* The VM process: its own mount namespace with a private tmpfs at ROOT/dev; it obeys one-byte commands. */
typedef struct vm_process {
	pid_t pid;
	int command; /* 'u': unshare the mount namespace once more; EOF: exit */
	int reply;
} vm_process;

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
	vm_process vm;
} fixture;

__attribute__((noreturn)) static void vm_main(const char *root, int command, int reply)
{
	char dev[4096], ok = 'y';
	snprintf(dev, sizeof(dev), "%s/dev", root);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dev, "tmpfs", 0, "mode=0755") < 0)
		ok = 'n';
	(void)!write(reply, &ok, 1);
	char c;
	while (read(command, &c, 1) == 1) {
		ok = c == 'u' && unshare(CLONE_NEWNS) == 0 ? 'y' : 'n';
		(void)!write(reply, &ok, 1);
	}
	_exit(0);
}

static void vm_start(vm_process *vm, const char *root)
{
	int command[2], reply[2];
	ck_assert_int_eq(pipe2(command, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(reply, O_CLOEXEC), 0);
	vm->pid = fork();
	ck_assert_int_ge(vm->pid, 0);
	if (vm->pid == 0) {
		close(command[1]);
		close(reply[0]);
		vm_main(root, command[0], reply[1]);
	}
	close(command[0]);
	close(reply[1]);
	vm->command = command[1];
	vm->reply = reply[0];
	char ok = 0;
	ck_assert_int_eq(read(vm->reply, &ok, 1), 1);
	ck_assert_msg(ok == 'y', "the VM process could not make its private /dev");
}

static void vm_unshare_again(vm_process *vm)
{
	char ok = 0;
	ck_assert_int_eq(write(vm->command, "u", 1), 1);
	ck_assert_int_eq(read(vm->reply, &ok, 1), 1);
	ck_assert_msg(ok == 'y', "the VM process could not unshare again");
}

static void vm_stop(vm_process *vm)
{
	if (vm->pid <= 0)
		return;
	kill(vm->pid, SIGKILL);
	ck_assert_int_eq(waitpid(vm->pid, NULL, 0), vm->pid);
	close(vm->command);
	close(vm->reply);
	vm->pid = 0;
}

static unsigned long mount_ns_inode(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
	ck_assert_int_eq(stat(path, &st), 0);
	return (unsigned long)st.st_ino;
}

static void fixture_open(fixture *f, const char *config)
{
	f->root = test_root_new(host);
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", config);
	ck_assert_int_eq(chmod(f->root, 0755), 0);
	/* A hardened host: the container needs an ACL entry, which the entry must carry. */
	ck_assert_int_eq(chmod(test_path(f->root, CONTAINER), 0660), 0);
	const char *nodes[] = {CONTAINER, IOMMU, GROUP7, CDEV1};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		ck_assert_int_eq(lsetxattr(test_path(f->root, nodes[i]), "security.selinux", label, sizeof(label), 0),
				 0);
	f->ctx = test_context(f->root);
	vm_start(&f->vm, f->root);
}

static void fixture_close(fixture *f)
{
	vm_stop(&f->vm);
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
}

static int domain_plan(fixture *f, pid_t pid, const char *const *hostdevs, vfg_plan **plan, vfg_error *err)
{
	vfg_hostdev_spec specs[4];
	size_t n = 0;
	for (; hostdevs[n]; n++) {
		ck_assert_uint_lt(n, 4);
		ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, hostdevs[n], &specs[n], err) == 0, "%s", err->message);
	}
	vfg_domain domain = {.uid = 107, .gid = 107, .pid = pid, .n_hostdevs = n, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "vm1");
	return vfg_plan_build(f->ctx, &domain, plan, err);
}

static int domain_apply(fixture *f, pid_t pid, const char *const *hostdevs, vfg_change_summary *summary, vfg_error *err)
{
	vfg_plan *plan = NULL;
	int r = domain_plan(f, pid, hostdevs, &plan, err);
	if (r == 0)
		r = vfg_plan_apply(f->ctx, plan, summary, err);
	vfg_plan_free(plan);
	return r;
}

static void domain_apply_ok(fixture *f, const char *const *hostdevs, vfg_change_summary *summary)
{
	vfg_error err = {0};
	ck_assert_msg(domain_apply(f, f->vm.pid, hostdevs, summary, &err) == 0, "apply: %s", err.message);
}

static void domain_revoke_ok(fixture *f, vfg_change_summary *summary)
{
	vfg_error err = {0};
	vfg_change_summary ignored;
	ck_assert_msg(vfg_domain_revoke(f->ctx, "vm1", summary ? summary : &ignored, &err) == 0, "revoke: %s",
		      err.message);
}

static void expect_no_journal(const char *root)
{
	char *journal = test_read_file(root, "/run/vfguard/domains/vm1.journal");
	ck_assert_msg(journal == NULL, "the domain still has a journal:\n%s", journal);
}

/* A file as the kernel shows it: stat, and the raw ACL and label xattrs. */
typedef struct file_view {
	int error; /* 0, or the errno of lstat */
	struct stat st;
	ssize_t acl_size; /* -1: none, or not read (acl_error) */
	unsigned char acl[1024];
	ssize_t label_size;
	unsigned char label[256];
	int acl_error, label_error; /* the errno of a failed lgetxattr */
} file_view;

static void file_view_read(const char *path, file_view *view)
{
	memset(view, 0, sizeof(*view));
	if (lstat(path, &view->st) < 0) {
		view->error = errno;
		return;
	}
	view->acl_size = lgetxattr(path, "system.posix_acl_access", view->acl, sizeof(view->acl));
	view->acl_error = view->acl_size < 0 ? errno : 0;
	view->label_size = lgetxattr(path, "security.selinux", view->label, sizeof(view->label));
	view->label_error = view->label_size < 0 ? errno : 0;
}

/* A view whose xattrs could not be read would compare equal to another that failed alike. */
static void expect_xattrs_read(const file_view *view, const char *where, const char *logical)
{
	ck_assert_msg(view->acl_size >= 0 || view->acl_error == ENODATA, "%s %s: reading its ACL: %s", where, logical,
		      strerror(view->acl_error));
	ck_assert_msg(view->label_size >= 0 || view->label_error == ENODATA, "%s %s: reading its label: %s", where,
		      logical, strerror(view->label_error));
}

/* @logical under the root prefix, as a process in @pid's mount namespace sees it: a checker setns()es there. */
static void view_inside(pid_t pid, const char *root, const char *logical, file_view *view)
{
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t checker = fork();
	ck_assert_int_ge(checker, 0);
	if (checker == 0) {
		char ns[64], path[4096];
		snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)pid);
		snprintf(path, sizeof(path), "%s%s", root, logical);
		int fd = open(ns, O_RDONLY | O_CLOEXEC);
		file_view inside = {.error = -1};
		if (fd >= 0 && setns(fd, CLONE_NEWNS) == 0)
			file_view_read(path, &inside);
		(void)!write(pipefd[1], &inside, sizeof(inside));
		_exit(0);
	}
	close(pipefd[1]);
	ck_assert_int_eq(read(pipefd[0], view, sizeof(*view)), (ssize_t)sizeof(*view));
	close(pipefd[0]);
	ck_assert_int_eq(waitpid(checker, NULL, 0), checker);
	ck_assert_msg(view->error != -1, "the checker could not enter pid %d's mount namespace", (int)pid);
}

static bool view_exists(pid_t pid, const char *root, const char *logical)
{
	file_view view;
	view_inside(pid, root, logical, &view);
	ck_assert_msg(view.error == 0 || view.error == ENOENT, "%s in the namespace: %s", logical,
		      strerror(view.error));
	return view.error == 0;
}

/* The entry inside is the host node: rdev, owner, mode, ACL bytes and label bytes. */
static void expect_entry_copies_host(fixture *f, const char *logical)
{
	file_view inside, outside;
	view_inside(f->vm.pid, f->root, logical, &inside);
	file_view_read(test_path(f->root, logical), &outside);
	ck_assert_msg(inside.error == 0, "%s is missing in the namespace: %s", logical, strerror(inside.error));
	ck_assert_int_eq(outside.error, 0);
	expect_xattrs_read(&inside, "in the namespace,", logical);
	expect_xattrs_read(&outside, "on the host,", logical);
	ck_assert_msg(S_ISCHR(inside.st.st_mode) && inside.st.st_rdev == outside.st.st_rdev,
		      "%s: mode %o rdev %u:%u inside, host c %u:%u", logical, inside.st.st_mode,
		      major(inside.st.st_rdev), minor(inside.st.st_rdev), major(outside.st.st_rdev),
		      minor(outside.st.st_rdev));
	ck_assert_msg(inside.st.st_uid == outside.st.st_uid && inside.st.st_gid == outside.st.st_gid &&
			      inside.st.st_mode == outside.st.st_mode,
		      "%s: %u:%u %o inside, %u:%u %o on the host", logical, inside.st.st_uid, inside.st.st_gid,
		      inside.st.st_mode, outside.st.st_uid, outside.st.st_gid, outside.st.st_mode);
	ck_assert_int_eq(inside.acl_size, outside.acl_size);
	if (outside.acl_size > 0)
		ck_assert_mem_eq(inside.acl, outside.acl, (size_t)outside.acl_size);
	ck_assert_int_eq(inside.label_size, (ssize_t)sizeof(label));
	ck_assert_mem_eq(inside.label, label, sizeof(label));
	ck_assert_int_ne(inside.st.st_ino, outside.st.st_ino); /* its own inode, on the namespace's tmpfs */
}

/* nftw() takes no argument for its callback: one listing at a time. */
enum {
	LIST_OWNERS = 1u << 0, /* owner and permission bits of each entry */
	LIST_DIR_TIMES = 1u << 1, /* the mtime of each directory, which an entry made or removed in it moves */
};
static struct {
	FILE *out;
	size_t prefix;
	unsigned flags;
} listing;

static int list_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	/* nftw() goes on past what it cannot stat or list: the listing would lack it */
	ck_assert_msg(type != FTW_NS && type != FTW_DNR, "cannot read %s", path);
	fprintf(listing.out, "%s type=%o rdev=%u:%u ino=%lu", path + listing.prefix, st->st_mode & S_IFMT,
		major(st->st_rdev), minor(st->st_rdev), (unsigned long)st->st_ino);
	if (listing.flags & LIST_OWNERS)
		fprintf(listing.out, " owner=%u:%u mode=%04o", st->st_uid, st->st_gid, st->st_mode & 07777);
	if ((listing.flags & LIST_DIR_TIMES) && S_ISDIR(st->st_mode))
		fprintf(listing.out, " mtime=%ld.%09ld", st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
	fputc('\n', listing.out);
	return 0;
}

/* Every entry below @dir, one line each. */
static char *list_tree(const char *dir, unsigned flags)
{
	char *text = NULL;
	size_t size = 0;
	listing.out = open_memstream(&text, &size);
	listing.prefix = strlen(dir);
	listing.flags = flags;
	ck_assert_ptr_nonnull(listing.out);
	ck_assert_int_eq(nftw(dir, list_entry, 16, FTW_PHYS), 0);
	ck_assert_int_eq(fclose(listing.out), 0);
	return text;
}

/*
 * The host's ROOT/dev without what DAC changes (owner, mode, xattrs, ctime):
 * the same listing means no entry was made, removed or replaced there.
 */
static char *list_host_dev(fixture *f)
{
	return list_tree(test_path(f->root, "/dev"), LIST_DIR_TIMES);
}

/* ROOT/dev as the VM process sees it, through /proc/PID/root (which walks its mount namespace). */
static char *list_inside(fixture *f)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "/proc/%d/root%s/dev", (int)f->vm.pid, f->root);
	return list_tree(dir, LIST_OWNERS);
}

static const char *inside_path(fixture *f, const char *logical)
{
	static char path[4096];
	snprintf(path, sizeof(path), "/proc/%d/root%s%s", (int)f->vm.pid, f->root, logical);
	return path;
}

static const char *summary_notes(const vfg_change_summary *summary)
{
	return summary->notes;
}

/* round trip */

START_TEST(apply_copies_each_node_into_the_private_dev_and_revoke_takes_them_away)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	char *original = test_snapshot(f.root, UNCHANGED);
	char *host_dev = list_host_dev(&f);
	char *empty = list_inside(&f);
	struct stat real_vfio;
	bool real_vfio_existed = stat("/dev/vfio", &real_vfio) == 0;
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)f.vm.pid);

	bool cli = _i == 1;
	if (cli) {
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", f.root, "--domain", "vm1", "--uid", "107", "--gid",
						"107", "--pid", pid, "--hostdev", both_backends[0], "--hostdev",
						both_backends[1], NULL});
		ck_assert_msg(run.status == 0, "apply exit %d: %s", run.status, run.err);
		ck_assert_msg(strstr(run.out, "8 changes made"), "%s", run.out);
		test_run_free(&run);
	} else {
		vfg_change_summary summary;
		domain_apply_ok(&f, both_backends, &summary);
		ck_assert_uint_eq(summary.changed, 8); /* 4 dac, 4 namespace */
	}

	const char *nodes[] = {CONTAINER, GROUP7, IOMMU, CDEV1};
	for (size_t i = 0; i < 4; i++)
		expect_entry_copies_host(&f, nodes[i]);
	/* DAC's result is what was copied: the group is the hypervisor's, the container has its ACL entry */
	file_view group, container;
	view_inside(f.vm.pid, f.root, GROUP7, &group);
	ck_assert_uint_eq(group.st.st_uid, 107);
	ck_assert_uint_eq(group.st.st_mode & 07777, 0600);
	view_inside(f.vm.pid, f.root, CONTAINER, &container);
	ck_assert_int_gt(container.acl_size, 28); /* more than the three base entries: user 107 and the mask */
	ck_assert_uint_eq(container.st.st_uid, 0);
	/* the host's ROOT/dev got no entry: DAC changed owners, modes and ACLs there, and that is all */
	char *host_dev_granted = list_host_dev(&f);
	ck_assert_str_eq(host_dev_granted, host_dev);
	free(host_dev_granted);

	if (cli) {
		test_run run;
		test_cli(&run, (const char *[]){"revoke", "--root", f.root, "--domain", "vm1", NULL});
		ck_assert_msg(run.status == 0, "revoke exit %d: %s", run.status, run.err);
		test_run_free(&run);
	} else {
		domain_revoke_ok(&f, NULL);
	}
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(!view_exists(f.vm.pid, f.root, nodes[i]), "%s is still in the namespace", nodes[i]);
	/* the directories it made went too: the private /dev is as the VM made it */
	char *after = list_inside(&f);
	ck_assert_str_eq(after, empty);
	test_snapshot_expect(f.root, UNCHANGED, original, "apply then revoke, on the host");
	char *host_dev_after = list_host_dev(&f);
	ck_assert_str_eq(host_dev_after, host_dev);
	struct stat now;
	ck_assert_int_eq(stat("/dev/vfio", &now) == 0, real_vfio_existed);
	if (real_vfio_existed)
		ck_assert(now.st_ino == real_vfio.st_ino && now.st_mtim.tv_nsec == real_vfio.st_mtim.tv_nsec);
	expect_no_journal(f.root);
	free(after);
	free(empty);
	free(host_dev);
	free(host_dev_after);
	free(original);
	fixture_close(&f);
}
END_TEST

/* the forked helper */

static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_wake = PTHREAD_COND_INITIALIZER;
static bool idle_stop;

static void *idle_thread(void *arg)
{
	pthread_mutex_lock(&idle_lock);
	while (!idle_stop)
		pthread_cond_wait(&idle_wake, &idle_lock);
	pthread_mutex_unlock(&idle_lock);
	return NULL;
}

START_TEST(apply_from_a_multi_threaded_caller_works_through_the_forked_helper)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	pthread_t threads[3];
	idle_stop = false;
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, idle_thread, NULL), 0);

	/* This caller itself cannot enter: the kernel refuses setns to a process sharing its fs_struct. */
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/mnt", (int)f.vm.pid);
	int fd = open(ns, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setns(fd, CLONE_NEWNS), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(fd);

	domain_apply_ok(&f, legacy, NULL);
	expect_entry_copies_host(&f, GROUP7);
	expect_entry_copies_host(&f, CONTAINER);
	domain_revoke_ok(&f, NULL);
	ck_assert(!view_exists(f.vm.pid, f.root, GROUP7));

	pthread_mutex_lock(&idle_lock);
	idle_stop = true;
	pthread_cond_broadcast(&idle_wake);
	pthread_mutex_unlock(&idle_lock);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
	fixture_close(&f);
}
END_TEST

/* what is there already */

/* What occupies /dev/vfio/7 in the namespace before apply, and the words the refusal must say. */
static const struct {
	const char *what;
	const char *path; /* the path the error names */
	const char *says;
} occupants[] = {
	{"regular file", GROUP7, "a regular file"},
	{"other rdev", GROUP7, "c 243:9"},
	{"other owner", GROUP7, "differs in owner"},
	{"symlink", GROUP7, "a symlink"},
	{"symlinked directory", "/dev/vfio", "not a directory"},
};

static void occupy(fixture *f, size_t which)
{
	ck_assert_int_eq(mkdir(inside_path(f, "/dev/vfio"), 0755), 0);
	const char *path = inside_path(f, GROUP7);
	switch (which) {
	case 0:
		test_write_file("/", path, "not a device\n");
		break;
	case 1:
		ck_assert_int_eq(mknod(path, S_IFCHR | 0600, makedev(243, 9)), 0);
		break;
	case 2: /* the right device, but root's: the host node will be 107:107 after DAC */
		ck_assert_int_eq(mknod(path, S_IFCHR | 0600, makedev(243, 0)), 0);
		break;
	case 3:
		ck_assert_int_eq(symlink("/dev/null", path), 0);
		break;
	case 4:
		ck_assert_int_eq(rmdir(inside_path(f, "/dev/vfio")), 0);
		ck_assert_int_eq(symlink("/tmp", inside_path(f, "/dev/vfio")), 0);
		break;
	}
}

START_TEST(another_file_at_the_path_is_refused_named_and_nothing_changes)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	occupy(&f, (size_t)_i);
	char *original = test_snapshot(f.root, UNCHANGED);
	char *inside = list_inside(&f);

	vfg_error err = {0};
	ck_assert_int_eq(domain_apply(&f, f.vm.pid, legacy, NULL, &err), -1);
	char named[4096], pid[32];
	snprintf(named, sizeof(named), "%s%s", f.root, occupants[_i].path);
	snprintf(pid, sizeof(pid), "pid %d's mount namespace", (int)f.vm.pid);
	ck_assert_msg(strstr(err.message, named) && strstr(err.message, pid) &&
			      strstr(err.message, occupants[_i].says) && strstr(err.message, "refusing"),
		      "%s: %s", occupants[_i].what, err.message);

	/* the container's entry came first and was made: the rollback took it away again */
	char *inside_after = list_inside(&f);
	ck_assert_str_eq(inside_after, inside);
	test_snapshot_expect(f.root, UNCHANGED, original, "a refused apply, on the host");
	expect_no_journal(f.root);
	free(inside_after);
	free(inside);
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(an_equal_entry_already_there_is_kept_and_stays_after_revoke)
{
	/* no DAC: the host nodes stay as they are, so the VM's manager could have copied one already */
	fixture f;
	fixture_open(&f, "labelers =\n");
	ck_assert_int_eq(mkdir(inside_path(&f, "/dev/vfio"), 0755), 0);
	ck_assert_int_eq(mknod(inside_path(&f, GROUP7), S_IFCHR | 0600, makedev(243, 0)), 0);
	ck_assert_int_eq(lsetxattr(inside_path(&f, GROUP7), "security.selinux", label, sizeof(label), 0), 0);
	expect_entry_copies_host(&f, GROUP7);
	char *inside = list_inside(&f);

	vfg_change_summary summary;
	domain_apply_ok(&f, legacy, &summary);
	char *journal = test_read_file(f.root, "/run/vfguard/domains/vm1.journal");
	ck_assert_ptr_nonnull(journal);
	ck_assert_msg(strstr(journal, "entry=found%20mkdir=-"), "%s", journal); /* the journal writes a space %20 */
	free(journal);
	expect_entry_copies_host(&f, CONTAINER);

	domain_revoke_ok(&f, NULL);
	char *after = list_inside(&f);
	ck_assert_str_eq(after, inside); /* the same inode, left as it was; the container entry gone */
	expect_no_journal(f.root);
	free(after);
	free(inside);
	fixture_close(&f);
}
END_TEST

/* the VM process exits */

START_TEST(a_pid_that_exits_before_its_entries_are_made_fails_clearly_and_rolls_back)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	char *original = test_snapshot(f.root, UNCHANGED);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(domain_plan(&f, f.vm.pid, both_backends, &plan, &err) == 0, "%s", err.message);
	pid_t pid = f.vm.pid;
	vm_stop(&f.vm); /* planned while it ran; gone before apply reaches the namespace steps */

	vfg_change_summary summary;
	ck_assert_int_eq(vfg_plan_apply(f.ctx, plan, &summary, &err), -1);
	char says[64];
	snprintf(says, sizeof(says), "pid %d does not run", (int)pid);
	/* DAC's four steps ran first: the failure is the namespace's fifth */
	ck_assert_msg(strstr(err.message, "step 5 (namespace /dev/vfio/vfio)") && strstr(err.message, says), "%s",
		      err.message);
	test_snapshot_expect(f.root, UNCHANGED, original, "apply that lost its pid, on the host");
	expect_no_journal(f.root);
	vfg_plan_free(plan);
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(revoke_after_the_pid_exited_says_there_is_nothing_to_remove)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	char *original = test_snapshot(f.root, UNCHANGED);
	domain_apply_ok(&f, legacy, NULL);
	pid_t pid = f.vm.pid;
	vm_stop(&f.vm);

	vfg_change_summary summary;
	domain_revoke_ok(&f, &summary);
	char says[64];
	snprintf(says, sizeof(says), "pid %d has exited", (int)pid);
	ck_assert_msg(strstr(summary_notes(&summary), says) && strstr(summary_notes(&summary), "nothing to remove"),
		      "%s", summary_notes(&summary));
	test_snapshot_expect(f.root, UNCHANGED, original, "revoke after the pid exited, on the host");
	expect_no_journal(f.root);
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(revoke_leaves_alone_a_pid_that_now_runs_in_another_namespace)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	domain_apply_ok(&f, legacy, NULL);
	unsigned long made_in = mount_ns_inode(f.vm.pid);
	/* As a reused pid would: the pid now names another mount namespace (a copy, showing the same tmpfs). */
	vm_unshare_again(&f.vm);
	ck_assert_uint_ne(mount_ns_inode(f.vm.pid), made_in);

	vfg_change_summary summary;
	domain_revoke_ok(&f, &summary);
	ck_assert_msg(strstr(summary_notes(&summary), "now runs in mount namespace") &&
			      strstr(summary_notes(&summary), "left alone"),
		      "%s", summary_notes(&summary));
	ck_assert(view_exists(f.vm.pid, f.root, GROUP7));
	ck_assert(view_exists(f.vm.pid, f.root, CONTAINER));
	expect_no_journal(f.root);
	fixture_close(&f);
}
END_TEST

/* fd access, the host's own namespace */

START_TEST(fd_access_makes_no_entry_and_takes_back_an_earlier_path_entry)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	domain_apply_ok(&f, legacy, NULL);
	ck_assert(view_exists(f.vm.pid, f.root, GROUP7));

	const char *const by_fd[] = {"01:00.0,backend=legacy,access=fd", NULL};
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(domain_plan(&f, f.vm.pid, by_fd, &plan, &err) == 0, "%s", err.message);
	ck_assert_int_eq(test_step(plan, "namespace", GROUP7)->action, VFG_ACTION_REVOKE);
	vfg_change_summary summary;
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	ck_assert(!view_exists(f.vm.pid, f.root, GROUP7));
	ck_assert(!view_exists(f.vm.pid, f.root, CONTAINER));
	ck_assert(!view_exists(f.vm.pid, f.root, "/dev/vfio"));
	domain_revoke_ok(&f, NULL);

	/* a fresh domain with fd access gets none at all */
	ck_assert_msg(domain_plan(&f, f.vm.pid, by_fd, &plan, &err) == 0, "%s", err.message);
	ck_assert_int_eq(test_step(plan, "namespace", GROUP7)->action, VFG_ACTION_NONE);
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	ck_assert(!view_exists(f.vm.pid, f.root, "/dev/vfio"));
	domain_revoke_ok(&f, NULL);
	fixture_close(&f);
}
END_TEST

START_TEST(a_pid_in_the_host_namespace_gets_no_entry)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	char *host_dev = list_host_dev(&f);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(domain_plan(&f, getpid(), legacy, &plan, &err) == 0, "%s", err.message);
	const vfg_step *step = test_step(plan, "namespace", GROUP7);
	ck_assert_int_eq(step->action, VFG_ACTION_NONE);
	ck_assert_ptr_nonnull(strstr(step->reason, "shares the host's mount namespace"));
	vfg_change_summary summary;
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(summary.changed, 2); /* DAC's two */
	vfg_plan_free(plan);
	/* the plan is right: no entry came or went, in the host's ROOT/dev either */
	char *after = list_host_dev(&f);
	ck_assert_str_eq(after, host_dev);
	ck_assert(!view_exists(f.vm.pid, f.root, "/dev/vfio"));
	domain_revoke_ok(&f, NULL);
	free(after);
	free(host_dev);
	fixture_close(&f);
}
END_TEST

/* audit */

static size_t namespace_findings(const vfg_audit_report *report, const char *path, vfg_finding_kind kind,
				 const char *actual)
{
	size_t n = 0;
	for (size_t i = 0; i < report->n_findings; i++) {
		const vfg_audit_finding *finding = &report->findings[i];
		if (strcmp(finding->labeler, "namespace") == 0 && strcmp(finding->path, path) == 0 &&
		    finding->kind == kind && (!actual || strstr(finding->actual, actual)))
			n++;
	}
	return n;
}

static size_t namespace_findings_total(const vfg_audit_report *report)
{
	size_t n = 0;
	for (size_t i = 0; i < report->n_findings; i++)
		n += strcmp(report->findings[i].labeler, "namespace") == 0;
	return n;
}

static vfg_audit_report *audit(fixture *f)
{
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	vfg_audit_report *report = NULL;
	ck_assert_msg(domain_plan(f, f->vm.pid, legacy, &plan, &err) == 0, "%s", err.message);
	ck_assert_msg(vfg_plan_audit(f->ctx, plan, &report, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	return report;
}

START_TEST(audit_finds_entries_that_drift_go_missing_or_are_not_held)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	vfg_audit_report *report = audit(&f);
	ck_assert_uint_eq(namespace_findings(report, GROUP7, VFG_FINDING_MISSING, "no entry"), 1);
	ck_assert_uint_eq(namespace_findings(report, CONTAINER, VFG_FINDING_MISSING, "no entry"), 1);
	ck_assert_uint_eq(namespace_findings_total(report), 2);
	vfg_audit_report_free(report);

	domain_apply_ok(&f, legacy, NULL);
	report = audit(&f);
	ck_assert_msg(namespace_findings_total(report) == 0, "%s: %s", report->findings[0].path,
		      report->findings[0].actual);
	vfg_audit_report_free(report);

	ck_assert_int_eq(chmod(inside_path(&f, GROUP7), 0644), 0);
	ck_assert_int_eq(unlink(inside_path(&f, CONTAINER)), 0);
	report = audit(&f);
	ck_assert_uint_eq(namespace_findings(report, GROUP7, VFG_FINDING_DRIFT, "0644"), 1);
	ck_assert_uint_eq(namespace_findings(report, CONTAINER, VFG_FINDING_DRIFT, "no entry"), 1);
	ck_assert_uint_eq(namespace_findings_total(report), 2);
	vfg_audit_report_free(report);

	domain_revoke_ok(&f, NULL);
	ck_assert(!view_exists(f.vm.pid, f.root, GROUP7)); /* its mode drifted; it is still the node vfguard made */
	ck_assert(!view_exists(f.vm.pid, f.root, "/dev/vfio"));
	ck_assert_int_eq(mkdir(inside_path(&f, "/dev/vfio"), 0755), 0);
	ck_assert_int_eq(mknod(inside_path(&f, CONTAINER), S_IFCHR | 0666, makedev(234, 196)), 0);
	report = audit(&f);
	ck_assert_uint_eq(namespace_findings(report, CONTAINER, VFG_FINDING_DRIFT, "c 234:196"), 1);
	ck_assert_uint_eq(namespace_findings(report, GROUP7, VFG_FINDING_MISSING, NULL), 1);
	vfg_audit_report_free(report);
	fixture_close(&f);
}
END_TEST

/* crashes */

/* The crash test's state, for test_kill_at_each_point()'s callbacks. */
typedef struct namespace_crash {
	fixture *f;
	const char *original;
	const char *empty;
} namespace_crash;

static int namespace_crash_apply(void *data)
{
	namespace_crash *c = data;
	vfg_error err = {0};
	return domain_apply(c->f, c->f->vm.pid, both_backends, NULL, &err);
}

/* Restore finishes the killed apply; a kill after the commit leaves a finished apply, which revoke undoes. */
static void namespace_crash_restore(unsigned point, void *data)
{
	namespace_crash *c = data;
	test_restore_ok(c->f->ctx, point);
	domain_revoke_ok(c->f, NULL);
	char what[64], *inside = list_inside(c->f);
	snprintf(what, sizeof(what), "restore after a kill at point %u", point);
	ck_assert_msg(strcmp(inside, c->empty) == 0, "%s: the namespace holds\n%s", what, inside);
	free(inside);
	test_snapshot_expect(c->f->root, UNCHANGED, c->original, what);
}

START_TEST(restore_after_a_kill_at_any_journal_point_leaves_no_entry)
{
	fixture f;
	fixture_open(&f, "labelers = dac\n");
	char *original = test_snapshot(f.root, UNCHANGED);
	char *empty = list_inside(&f);

	namespace_crash crash = {.f = &f, .original = original, .empty = empty};
	unsigned points = test_kill_at_each_point(namespace_crash_apply, namespace_crash_restore, &crash);
	/* eight grants, each with a point after its intent, after its change and after its done */
	ck_assert_msg(points >= 24, "only %u journal points", points);
	domain_revoke_ok(&f, NULL);
	free(empty);
	free(original);
	fixture_close(&f);
}
END_TEST

static Suite *namespace_suite(void)
{
	Suite *s = suite_create("namespace");
	TCase *tc = tcase_create("round trip");
	tcase_add_loop_test(tc, apply_copies_each_node_into_the_private_dev_and_revoke_takes_them_away, 0, 2);
	tcase_add_test(tc, apply_from_a_multi_threaded_caller_works_through_the_forked_helper);
	suite_add_tcase(s, tc);

	tc = tcase_create("what is there already");
	tcase_add_loop_test(tc, another_file_at_the_path_is_refused_named_and_nothing_changes, 0,
			    sizeof(occupants) / sizeof(occupants[0]));
	tcase_add_test(tc, an_equal_entry_already_there_is_kept_and_stays_after_revoke);
	suite_add_tcase(s, tc);

	tc = tcase_create("the VM process");
	tcase_add_test(tc, a_pid_that_exits_before_its_entries_are_made_fails_clearly_and_rolls_back);
	tcase_add_test(tc, revoke_after_the_pid_exited_says_there_is_nothing_to_remove);
	tcase_add_test(tc, revoke_leaves_alone_a_pid_that_now_runs_in_another_namespace);
	tcase_add_test(tc, fd_access_makes_no_entry_and_takes_back_an_earlier_path_entry);
	tcase_add_test(tc, a_pid_in_the_host_namespace_gets_no_entry);
	suite_add_tcase(s, tc);

	tc = tcase_create("audit and crashes");
	tcase_add_test(tc, audit_finds_entries_that_drift_go_missing_or_are_not_held);
	tcase_add_test(tc, restore_after_a_kill_at_any_journal_point_leaves_no_entry);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(namespace_suite());
}
