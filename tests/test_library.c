/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library as a manager gets it: vfguard installed with `meson install
 * --destdir` into a temporary directory (outside the build tree, so the
 * installed library takes itself for installed), the example manager built
 * against that installed vfguard.pc and run on a generated host; the
 * configuration file, docs/config.md and the man pages checked against the
 * key table and the CLI's help; and the manager conveniences
 * (vfg_domain_new, vfg_domain_apply) and the absence of shared state.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "testlib.h"

/* Two groups: 7 (legacy, path access: DAC chowns /dev/vfio/7) and 8 (iommufd, fd access). Real devices stand in. */
static const char host[] = "misc vfio 1:3\n" /* /dev/null */
			   "misc iommu 1:5\n" /* /dev/zero: IOMMU_OPTION fails, so rlimit_mode = warn */
			   "group 7 1:7\n" /* /dev/full */
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:1:8\n"
			   "group 8 10:229\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio2:10:200\n"; /* /dev/net/tun */

#define HOST_CONFIG "labelers = dac\nrlimit_mode = warn\n"

static const char *env(const char *name)
{
	const char *value = getenv(name);
	ck_assert_msg(value && *value, "%s is not set (meson test sets it)", name);
	return value;
}

/* The install: made once for the whole suite, in the parent (an unchecked fixture). */
static struct {
	char destdir[64];
	int install_status;
	char *install_output;
	char example_dir[64];
	int make_status;
	char *make_output;
	char oot_dir[64]; /* the out-of-tree labeler tests/plugins/oot, built the same way */
	int oot_make_status;
	char *oot_make_output;
} installed;

static char *path_in(const char *dir, const char *relative)
{
	char *path = NULL;
	ck_assert_int_ge(asprintf(&path, "%s%s", dir, relative), 0);
	return path;
}

/* DESTDIR + the absolute install directory meson was given in @variable. */
static char *installed_path(const char *variable, const char *name)
{
	char *path = NULL;
	ck_assert_int_ge(
		asprintf(&path, "%s%s%s%s", installed.destdir, env(variable), name ? "/" : "", name ? name : ""), 0);
	return path;
}

/*
 * Run @argv (argv[0] is looked up in PATH) with the extra "NAME=VALUE" settings
 * @environment in @dir (NULL: here); capture its output.
 */
static void run_program(test_run *run, const char *const *argv, const char *const *environment, const char *dir)
{
	FILE *out = tmpfile(), *err = tmpfile();
	ck_assert(out && err);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (size_t i = 0; environment && environment[i]; i++)
			putenv((char *)environment[i]);
		if (dir && chdir(dir) < 0)
			_exit(126);
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(err), STDERR_FILENO);
		execvp(argv[0], (char **)argv);
		_exit(127);
	}
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	long size;
	for (int i = 0; i < 2; i++) {
		FILE *f = i ? err : out;
		fseek(f, 0, SEEK_END);
		size = ftell(f);
		rewind(f);
		char *text = calloc(1, (size_t)size + 1);
		ck_assert_ptr_nonnull(text);
		ck_assert_int_eq(fread(text, 1, (size_t)size, f), size);
		*(i ? &run->err : &run->out) = text;
		fclose(f);
	}
}

static char *joined_output(const test_run *run)
{
	char *text = NULL;
	ck_assert_int_ge(asprintf(&text, "%s%s", run->out, run->err), 0);
	return text;
}

/*
 * The source folder @relative, copied out of the source tree into a new
 * directory @dir (a mkdtemp template), built there by its own Makefile with
 * the installed vfguard.pc; make's exit status and output in @status, @output.
 */
static void make_from_installed_pc(const char *relative, char *dir, int *status, char **output)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char *source = path_in(env("VFGUARD_SOURCE_ROOT"), relative);
	char *pc_path = NULL, *sysroot = NULL, *copy = NULL, *cflags = NULL, *ldflags = NULL;
	ck_assert_int_ge(asprintf(&pc_path, "PKG_CONFIG_PATH=%s%s/pkgconfig", installed.destdir, env("VFGUARD_LIBDIR")),
			 0);
	ck_assert_int_ge(asprintf(&sysroot, "PKG_CONFIG_SYSROOT_DIR=%s", installed.destdir), 0);
	/* The sanitizer build's library needs its runtime first in the program that loads it. */
	const char *sanitize = env("VFGUARD_SANITIZE");
	if (strcmp(sanitize, "none") != 0) {
		ck_assert_int_ge(asprintf(&cflags, "CFLAGS=-O2 -g -fsanitize=%s", sanitize), 0);
		ck_assert_int_ge(asprintf(&ldflags, "LDFLAGS=-fsanitize=%s", sanitize), 0);
	}
	ck_assert_int_ge(asprintf(&copy, "%s/.", source), 0);
	test_run run;
	run_program(&run, (const char *[]){"cp", "-R", copy, dir, NULL}, NULL, NULL);
	ck_assert_int_eq(run.status, 0);
	test_run_free(&run);
	run_program(&run, (const char *[]){env("MAKE"), NULL},
		    (const char *[]){pc_path, sysroot, cflags, ldflags, NULL}, dir);
	*status = run.status;
	*output = joined_output(&run);
	test_run_free(&run);
	free(copy);
	free(source);
	free(ldflags); /* only the child put them in its environment */
	free(cflags);
	free(sysroot);
	free(pc_path);
}

static void install_setup(void)
{
	snprintf(installed.destdir, sizeof(installed.destdir), "/tmp/vfguard-install-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(installed.destdir));
	test_run run;
	run_program(&run,
		    (const char *[]){env("MESON"), "install", "-C", env("VFGUARD_BUILD_ROOT"), "--destdir",
				     installed.destdir, "--no-rebuild", NULL},
		    NULL, NULL);
	installed.install_status = run.status;
	installed.install_output = joined_output(&run);
	test_run_free(&run);

	snprintf(installed.example_dir, sizeof(installed.example_dir), "/tmp/vfguard-example-XXXXXX");
	make_from_installed_pc("/examples/manager", installed.example_dir, &installed.make_status,
			       &installed.make_output);
	snprintf(installed.oot_dir, sizeof(installed.oot_dir), "/tmp/vfguard-oot-XXXXXX");
	make_from_installed_pc("/tests/plugins/oot", installed.oot_dir, &installed.oot_make_status,
			       &installed.oot_make_output);
}

static void install_teardown(void)
{
	test_root_remove(installed.destdir);
	test_root_remove(installed.example_dir);
	test_root_remove(installed.oot_dir);
	free(installed.install_output);
	free(installed.make_output);
	free(installed.oot_make_output);
}

/* Does a line of @text, blanks trimmed, equal @wanted? */
static bool has_trimmed_line(const char *text, const char *wanted)
{
	for (const char *p = text; p && *p;) {
		while (*p == ' ')
			p++;
		const char *end = strchr(p, '\n');
		size_t length = end ? (size_t)(end - p) : strlen(p);
		while (length && p[length - 1] == ' ')
			length--;
		if (length == strlen(wanted) && strncmp(p, wanted, length) == 0)
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

static void expect_installed(const char *variable, const char *name, mode_t type)
{
	char *path = installed_path(variable, name);
	struct stat st;
	ck_assert_msg(lstat(path, &st) == 0, "%s is not installed: %s", path, strerror(errno));
	ck_assert_msg((st.st_mode & S_IFMT) == type, "%s: not the expected file type", path);
	free(path);
}

START_TEST(meson_install_puts_every_part_where_the_prefix_says)
{
	ck_assert_msg(installed.install_status == 0, "meson install failed:\n%s", installed.install_output);
	expect_installed("VFGUARD_LIBDIR", "libvfguard.so.1", S_IFLNK);
	char real_name[64];
	snprintf(real_name, sizeof(real_name), "libvfguard.so.%s", env("VFGUARD_VERSION"));
	expect_installed("VFGUARD_LIBDIR", real_name, S_IFREG);
	expect_installed("VFGUARD_LIBDIR", "libvfguard.so", S_IFLNK);
	expect_installed("VFGUARD_LIBDIR", "pkgconfig/vfguard.pc", S_IFREG);
	for (const char *const *header =
		     (const char *[]){"apply.h", "audit.h", "context.h", "domain.h", "error.h", "fds.h", "labeler.h",
				      "memlock.h", "model.h", "plan.h", "util.h", "vfguard.h", NULL};
	     *header; header++) {
		char name[64];
		snprintf(name, sizeof(name), "vfguard/%s", *header);
		expect_installed("VFGUARD_INCLUDEDIR", name, S_IFREG);
	}
	for (const char *const *plugin = (const char *[]){"dac", "cgroup", "selinux", "apparmor", NULL}; *plugin;
	     plugin++) {
		char name[64];
		snprintf(name, sizeof(name), "vfguard-%s.so", *plugin);
		expect_installed("VFGUARD_PLUGIN_INSTALL_DIR", name, S_IFREG);
	}
	expect_installed("VFGUARD_BINDIR", "vfguard", S_IFREG);
	expect_installed("VFGUARD_SYSCONFDIR", "vfguard/vfguard.conf", S_IFREG);
	expect_installed("VFGUARD_MANDIR", "man8/vfguard.8", S_IFREG);
	expect_installed("VFGUARD_MANDIR", "man5/vfguard.conf.5", S_IFREG);
	/* Test programs stay in the build tree. */
	char *mkhost = installed_path("VFGUARD_BINDIR", "vfguard-mkhost");
	ck_assert_msg(access(mkhost, F_OK) < 0, "%s is installed", mkhost);
	ck_assert_msg(errno == ENOENT, "%s: %s", mkhost, strerror(errno));
	free(mkhost);
}
END_TEST

/*
 * The hooks' programs: libvirt's in SBINDIR (libvirt's AppArmor profile for its
 * daemon runs what is in /usr/sbin and nothing in libexec/vfguard), the OCI one in
 * LIBEXECDIR/vfguard; what libvirt and the container runtime read points there.
 */
START_TEST(the_hooks_are_installed_where_libvirt_and_the_runtime_look_for_them)
{
	ck_assert_msg(installed.install_status == 0, "meson install failed:\n%s", installed.install_output);
	char *libvirt_hook = NULL, *oci_hook = NULL;
	ck_assert_int_ge(asprintf(&libvirt_hook, "%s/vfguard-libvirt-hook", env("VFGUARD_SBINDIR")), 0);
	ck_assert_int_ge(asprintf(&oci_hook, "%s/vfguard/vfguard-oci-hook", env("VFGUARD_LIBEXECDIR")), 0);
	for (const char *const *hook = (const char *[]){libvirt_hook, oci_hook, NULL}; *hook; hook++) {
		char *path = path_in(installed.destdir, *hook);
		ck_assert_msg(access(path, X_OK) == 0, "%s: %s", path, strerror(errno));
		free(path);
	}

	/* libvirt runs every executable in /etc/libvirt/hooks/qemu.d: a link to the hook, absolute on the target. */
	char *link = installed_path("VFGUARD_SYSCONFDIR", "libvirt/hooks/qemu.d/vfguard");
	char target[4096] = "";
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	ck_assert_msg(n > 0, "%s: %s", link, strerror(errno));
	target[n] = '\0';
	ck_assert_str_eq(target, libvirt_hook);

	/* oci-hooks(5): the hooks.d file names the hook's installed path. */
	char *hooks_d = installed_path("VFGUARD_DATADIR", "containers/oci/hooks.d/vfguard-hook.json");
	char *json = test_read_file("", hooks_d);
	ck_assert_msg(json, "%s is not installed", hooks_d);
	char expected[4096];
	snprintf(expected, sizeof(expected), "\"path\": \"%s\"", oci_hook);
	ck_assert_msg(strstr(json, expected), "%s does not name %s:\n%s", hooks_d, oci_hook, json);
	free(json);
	free(hooks_d);
	free(link);
	free(libvirt_hook);
	free(oci_hook);
}
END_TEST

START_TEST(the_installed_pc_names_the_installed_headers_version_and_plugin_dir)
{
	char *pc_path = NULL, *sysroot = NULL;
	ck_assert_int_ge(asprintf(&pc_path, "PKG_CONFIG_PATH=%s%s/pkgconfig", installed.destdir, env("VFGUARD_LIBDIR")),
			 0);
	ck_assert_int_ge(asprintf(&sysroot, "PKG_CONFIG_SYSROOT_DIR=%s", installed.destdir), 0);
	const char *const environment[] = {pc_path, sysroot, NULL};
	test_run run;
	run_program(&run, (const char *[]){env("PKG_CONFIG"), "--cflags", "vfguard", NULL}, environment, NULL);
	ck_assert_msg(run.status == 0, "%s", run.err);
	char expected[4096];
	snprintf(expected, sizeof(expected), "-I%s%s", installed.destdir, env("VFGUARD_INCLUDEDIR"));
	ck_assert_msg(has_trimmed_line(run.out, expected), "expected '%s', got '%s'", expected, run.out);
	test_run_free(&run);

	run_program(&run, (const char *[]){env("PKG_CONFIG"), "--modversion", "vfguard", NULL}, environment, NULL);
	snprintf(expected, sizeof(expected), "%s\n", vfg_version());
	ck_assert_str_eq(run.out, expected);
	ck_assert_str_eq(vfg_version(), env("VFGUARD_VERSION"));
	test_run_free(&run);

	/* Without the sysroot: the plugin directory as the installed library knows it. */
	run_program(&run, (const char *[]){env("PKG_CONFIG"), "--variable=plugindir", "vfguard", NULL},
		    (const char *[]){pc_path, NULL}, NULL);
	snprintf(expected, sizeof(expected), "%s\n", env("VFGUARD_PLUGIN_INSTALL_DIR"));
	ck_assert_str_eq(run.out, expected);
	test_run_free(&run);
	free(pc_path);
	free(sysroot);
}
END_TEST

START_TEST(the_installed_cli_looks_for_plugins_where_they_were_installed_and_loads_them)
{
	const char *root = test_root_new(host);
	char *cli = installed_path("VFGUARD_BINDIR", "vfguard");
	char *library_path = NULL;
	ck_assert_int_ge(asprintf(&library_path, "LD_LIBRARY_PATH=%s%s", installed.destdir, env("VFGUARD_LIBDIR")), 0);
	/* No VFGUARD_PLUGIN_DIR from the test environment: the built-in directory decides. */
	const char *const environment[] = {library_path, "VFGUARD_PLUGIN_DIR=", NULL};

	/* A labeler that exists nowhere: the error names where the built-in directory is. */
	test_run run;
	run_program(&run,
		    (const char *[]){cli, "plan", "--root", root, "--set", "labelers=nosuchlabeler", "--domain", "vm1",
				     "--hostdev", "01:00.0", NULL},
		    environment, NULL);
	/* the directory is not there (installed under a DESTDIR): the host's failure, not the --set's */
	ck_assert_int_eq(run.status, 1);
	char expected[4096];
	snprintf(expected, sizeof(expected), "%s: no labeler 'nosuchlabeler'", env("VFGUARD_PLUGIN_INSTALL_DIR"));
	ck_assert_msg(strstr(run.err, expected), "expected '%s' in: %s", expected, run.err);
	test_run_free(&run);

	/* Those installed there load into the installed library and plan. */
	char *plugins = installed_path("VFGUARD_PLUGIN_INSTALL_DIR", NULL);
	run_program(&run,
		    (const char *[]){cli, "plan", "--root", root, "--plugin-dir", plugins, "--set",
				     "labelers=dac cgroup selinux apparmor", "--domain", "vm1", "--uid", "107", "--gid",
				     "107", "--hostdev", "01:00.0,backend=legacy", NULL},
		    environment, NULL);
	ck_assert_msg(run.status == 0, "%s", run.err);
	ck_assert_msg(strstr(run.out, "chown 107:107"), "%s", run.out);
	test_run_free(&run);

	run_program(&run, (const char *[]){cli, "--version", NULL}, environment, NULL);
	snprintf(expected, sizeof(expected), "vfguard %s\n", vfg_version());
	ck_assert_str_eq(run.out, expected);
	test_run_free(&run);
	free(plugins);
	free(cli);
	free(library_path);
	test_root_remove(root);
}
END_TEST

START_TEST(the_example_builds_from_the_installed_pc_and_does_not_link_the_library)
{
	ck_assert_msg(installed.make_status == 0, "make failed:\n%s", installed.make_output);
	char flag[4096];
	snprintf(flag, sizeof(flag), "-I%s%s ", installed.destdir, env("VFGUARD_INCLUDEDIR"));
	ck_assert_msg(strstr(installed.make_output, flag), "the compiler was not given %s:\n%s", flag,
		      installed.make_output);

	char *binary = path_in(installed.example_dir, "/vfguard-example-manager");
	test_run run;
	run_program(&run, (const char *[]){"readelf", "--dynamic", binary, NULL}, NULL, NULL);
	ck_assert_int_eq(run.status, 0);
	ck_assert_msg(strstr(run.out, "(NEEDED)"), "%s", run.out);
	ck_assert_msg(!strstr(run.out, "libvfguard"), "the example links libvfguard instead of loading it:\n%s",
		      run.out);
	test_run_free(&run);
	free(binary);
}
END_TEST

/* The example on a generated host with @hostdevs (NULL: two, below): @script runs as the domain (uid 107). */
static void run_example_with(test_run *run, const char *root, const char *const hostdevs[2], const char *script)
{
	char *binary = path_in(installed.example_dir, "/vfguard-example-manager");
	char *library_path = NULL;
	ck_assert_int_ge(asprintf(&library_path, "LD_LIBRARY_PATH=%s%s", installed.destdir, env("VFGUARD_LIBDIR")), 0);
	char *plugins = installed_path("VFGUARD_PLUGIN_INSTALL_DIR", NULL);
	run_program(run,
		    (const char *[]){binary,
				     "--root",
				     root,
				     "--plugin-dir",
				     plugins,
				     "--domain",
				     "vm1",
				     "--uid",
				     "107",
				     "--gid",
				     "107",
				     "--hostdev",
				     hostdevs ? hostdevs[0] : "01:00.0,backend=legacy,access=path",
				     "--hostdev",
				     hostdevs ? hostdevs[1] : "02:00.0,backend=iommufd,access=fd",
				     "--",
				     "/bin/sh",
				     "-c",
				     script,
				     NULL},
		    (const char *[]){library_path, NULL}, NULL);
	free(plugins);
	free(library_path);
	free(binary);
}

static void run_example(test_run *run, const char *root, const char *script)
{
	run_example_with(run, root, NULL, script);
}

static const char *example_root(void)
{
	const char *root = test_root_new(host);
	/* The command runs as uid 107: it must reach the nodes under the root. */
	ck_assert_int_eq(chmod(root, 0755), 0);
	test_write_file(root, "/etc/vfguard/vfguard.conf", HOST_CONFIG);
	return root;
}

START_TEST(the_example_grants_while_the_command_runs_hands_it_the_fds_and_revokes_after)
{
	ck_assert_msg(installed.make_status == 0, "make failed:\n%s", installed.make_output);
	const char *root = example_root();
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE);
	struct stat st;
	ck_assert_int_eq(stat(test_path(root, "/dev/vfio/7"), &st), 0);
	ck_assert_uint_eq(st.st_uid, 0);

	/* As uid 107: the group node's owner and an open of it by path, the descriptors, each fd's device. */
	char script[4096];
	snprintf(script, sizeof(script),
		 "id -u; stat -c '%%u:%%g %%a' %s/dev/vfio/7; exec 9<>%s/dev/vfio/7 && echo opened 7; exec 9>&-; "
		 "ls /proc/$$/fd; echo $VFGUARD_FDS; echo $VFGUARD_IOMMUFD_FD; echo $VFGUARD_HOSTDEV_FDS; "
		 "for fd in $VFGUARD_FDS; do stat -L -c \"$fd %%t:%%T\" /proc/$$/fd/$fd; done",
		 root, root);
	test_run run;
	run_example(&run, root, script);
	ck_assert_msg(run.status == 0, "exit %d: %s", run.status, run.err);
	ck_assert_str_eq(run.out, "107\n"
				  "107:107 600\n"
				  "opened 7\n"
				  "0\n1\n2\n3\n4\n"
				  "3 4\n"
				  "3\n"
				  "0000:02:00.0=4\n"
				  "3 1:5\n"
				  "4 a:c8\n"); /* /dev/zero for /dev/iommu, /dev/net/tun (10:200) for vfio2 */
	char loaded[4096];
	snprintf(loaded, sizeof(loaded), "libvfguard %s from %s%s/libvfguard.so.1", vfg_version(), installed.destdir,
		 env("VFGUARD_LIBDIR"));
	ck_assert_msg(strstr(run.err, loaded), "expected '%s' in: %s", loaded, run.err);
	ck_assert_msg(strstr(run.err, "revoked, 1 changes undone"), "%s", run.err);
	test_run_free(&run);

	/* Everything as it was: owner, mode, and no journal left for vm1. */
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE, before, "after the example");
	free(before);
	char *journal = test_read_file(root, "/run/vfguard/domains/vm1.journal");
	ck_assert_msg(journal == NULL, "vm1 still has a journal:\n%s", journal);
	test_root_remove(root);
}
END_TEST

START_TEST(the_example_revokes_however_the_command_ends)
{
	ck_assert_msg(installed.make_status == 0, "make failed:\n%s", installed.make_output);
	const char *root = example_root();
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE);
	test_run run;
	run_example(&run, root, "exit 7");
	ck_assert_msg(run.status == 7, "exit %d: %s", run.status, run.err);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE, before, "after exit 7");

	run_example(&run, root, "kill -TERM $$");
	ck_assert_msg(run.status == 128 + 15, "exit %d: %s", run.status, run.err);
	ck_assert_msg(strstr(run.err, "revoked, 1 changes undone"), "%s", run.err);
	test_run_free(&run);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE, before, "after SIGTERM");
	free(before);
	test_root_remove(root);
}
END_TEST

/*
 * The library's notices reach the example's user: giving a managed hostdev
 * back to its driver at the revoke waits in the kernel's unbind while a
 * process holds its group node, and the example says so on stderr before
 * (here the unbind of a generated /sys returns at once and the function
 * stays on vfio-pci, so the revoke fails after it). 01:00.0 is on vfio-pci
 * already; its driver record says vfguard found it on none.
 */
START_TEST(the_example_shows_the_librarys_notices_on_stderr)
{
	ck_assert_msg(installed.make_status == 0, "make failed:\n%s", installed.make_output);
	const char *root = example_root();
	test_write_file(root, "/run/vfguard/drivers/0000:01:00.0", "driver=\noverride=\n");
	pid_t holder = test_holder_start(test_path(root, "/dev/vfio/7"), O_PATH);
	test_run run;
	run_example_with(
		&run, root,
		(const char *[]){"01:00.0,backend=legacy,access=path,managed=yes", "02:00.0,backend=iommufd,access=fd"},
		"true");
	test_holder_stop(holder);
	char notice[256];
	snprintf(notice, sizeof(notice),
		 "\nvfguard-example-manager: 0000:01:00.0: waiting for it to be released: pid %d (test_library) has "
		 "/dev/vfio/7 open",
		 (int)holder);
	ck_assert_msg(run.status == 1 && strstr(run.err, notice) &&
			      strstr(run.err, "unbinding it from vfio-pci waits until") &&
			      strstr(strstr(run.err, notice), "vfguard-example-manager: revoke: "),
		      "exit %d, expected 1 and '%s' before the revoke's error: %s", run.status, notice + 1, run.err);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

/*
 * The out-of-tree labeler (tests/plugins/oot): the container and two legacy
 * groups, each group the hostdev of its own domain, so both domains hold
 * /dev/vfio/vfio.
 */
static const char oot_host[] = "misc vfio 10:196\n"
			       "group 7 243:0\n"
			       "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n"
			       "group 8 243:1\n"
			       "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n";

#define OOT_XATTR "trusted.oot"
/*
 * The container's original trusted.oot: every byte value, more than an undo
 * text holds (VFG_UNDO_MAX), so only the store can keep it. Not 5000 bytes:
 * ext4 without ea_inode keeps an xattr value within one block, 4 KiB here.
 */
#define OOT_ORIGINAL_SIZE 3500
#define OOT_SNAPSHOT (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

/* A run's journal points this many or more: a crash loop that killed fewer proves little. */
#define OOT_KILL_POINTS_AT_LEAST 6

/*
 * The installed CLI: @args (the command first, then its own options, which
 * come after the common ones and so override them) with the oot labeler from
 * where make built it, configured by --set; killed at journal point
 * @kill_at, or never when it is 0.
 */
static void run_oot(test_run *run, const char *root, unsigned kill_at, const char *const *args)
{
	char *cli = installed_path("VFGUARD_BINDIR", "vfguard");
	char *library_path = NULL, *kill_setting = NULL;
	ck_assert_int_ge(asprintf(&library_path, "LD_LIBRARY_PATH=%s%s", installed.destdir, env("VFGUARD_LIBDIR")), 0);
	ck_assert_int_ge(asprintf(&kill_setting, "VFGUARD_FAULT_KILL_AT=%u", kill_at), 0);
	const char *argv[32] = {cli, args[0]};
	size_t n = 2;
	for (const char *const *common = (const char *[]){"--root", root, "--plugin-dir", installed.oot_dir, "--set",
							  "labelers=oot", "--set", "oot_mark=XYZ", NULL};
	     *common; common++)
		argv[n++] = *common;
	for (args++; *args; args++) {
		ck_assert_uint_lt(n, 30);
		argv[n++] = *args;
	}
	run_program(run, argv, (const char *[]){library_path, kill_at ? kill_setting : NULL, NULL}, NULL);
	free(kill_setting);
	free(library_path);
	free(cli);
}

static void run_oot_ok(const char *root, const char *const *args)
{
	test_run run;
	run_oot(&run, root, 0, args);
	ck_assert_msg(run.status == 0, "vfguard %s: exit %d: %s", args[0], run.status, run.err);
	test_run_free(&run);
}

static const char *const oot_apply_vm1[] = {"apply",      "--domain",  "vm1",     "--attr",
					    "oot.tag=T1", "--hostdev", "01:00.0", NULL};
static const char *const oot_apply_vm2[] = {"apply",      "--domain",  "vm2",     "--attr",
					    "oot.tag=T1", "--hostdev", "02:00.0", NULL};

/* trusted.oot of ROOT + @logical: "" when it has none. */
static const char *oot_mark(const char *root, const char *logical)
{
	static char value[OOT_ORIGINAL_SIZE + 1];
	ssize_t n = getxattr(test_path(root, logical), OOT_XATTR, value, sizeof(value) - 1);
	if (n < 0) {
		ck_assert_msg(errno == ENODATA, "%s: %s", logical, strerror(errno));
		n = 0;
	}
	value[n] = '\0';
	return value;
}

/* Does domain @name have a journal under @root? */
static bool oot_journal_exists(const char *root, const char *name)
{
	char logical[128];
	snprintf(logical, sizeof(logical), "/run/vfguard/domains/%s.journal", name);
	return access(test_path(root, logical), F_OK) == 0;
}

/* The names in the journal's directory (journals and stores), sorted, one a line. */
static char *oot_state_files(const char *root)
{
	test_run run;
	run_program(&run, (const char *[]){"ls", "-A", test_path(root, "/run/vfguard/domains"), NULL}, NULL, NULL);
	ck_assert_int_eq(run.status, 0);
	free(run.err);
	return run.out;
}

/*
 * Run @args killed at journal point 1, 2, ... until a run reaches its end
 * (it must then succeed). After each kill, `vfguard restore` must leave the
 * tree as @before and the journal's directory as @before_files; when the
 * kill came after the commit, the run is whole, and @undo (a run of its
 * own) takes it back first. Between kills, @redo (NULL: none) sets up the
 * start again. Returns the number of kills.
 */
static unsigned oot_kill_at_each_point(const char *root, const char *const *args, const char *before,
				       const char *before_files, const char *name, const char *const *undo,
				       const char *const *redo)
{
	unsigned point = 1;
	for (;; point++) {
		test_run run;
		run_oot(&run, root, point, args);
		int status = run.status;
		test_run_free(&run);
		if (status == 0)
			break;
		ck_assert_msg(status == 128 + SIGKILL, "vfguard %s killed at point %u: exit %d", args[0], point,
			      status);
		run_oot(&run, root, 0, (const char *[]){"restore", NULL});
		ck_assert_msg(run.status == 0, "restore after a kill at point %u: %s", point, run.err);
		test_run_free(&run);
		if (undo && oot_journal_exists(root, name))
			run_oot_ok(root, undo); /* killed after the commit: whole, and this takes it back */
		char what[128];
		snprintf(what, sizeof(what), "vfguard %s killed at point %u, then restore", args[0], point);
		test_snapshot_expect(root, OOT_SNAPSHOT, before, what);
		char *files = oot_state_files(root);
		ck_assert_msg(strcmp(files, before_files) == 0, "%s: the journal's directory holds\n%s\nnot\n%s", what,
			      files, before_files);
		free(files);
		if (redo)
			run_oot_ok(root, redo);
	}
	return point - 1;
}

START_TEST(an_out_of_tree_labeler_builds_from_the_installed_pc_alone)
{
	ck_assert_msg(installed.install_status == 0, "meson install failed:\n%s", installed.install_output);
	ck_assert_msg(installed.oot_make_status == 0, "make failed:\n%s", installed.oot_make_output);
	/* One include directory, the installed one: nothing of the source tree's include/ or core/. */
	char flag[4096];
	snprintf(flag, sizeof(flag), "-I%s%s ", installed.destdir, env("VFGUARD_INCLUDEDIR"));
	const char *found = strstr(installed.oot_make_output, flag);
	ck_assert_msg(found, "the compiler was not given %s:\n%s", flag, installed.oot_make_output);
	/*
	 * No other -I flag, before or after it: a flag starts after a space
	 * (the install folder's random name may hold "-I", vfguard-install-IAeVab).
	 */
	unsigned include_flags = 0;
	for (const char *at = installed.oot_make_output; (at = strstr(at, " -I")); at++)
		include_flags++;
	ck_assert_msg(include_flags == 1 && !strstr(installed.oot_make_output, "-iquote"),
		      "the compiler was given another include directory:\n%s", installed.oot_make_output);
	ck_assert_msg(!strstr(installed.oot_make_output, env("VFGUARD_SOURCE_ROOT")),
		      "the build reached into the source tree:\n%s", installed.oot_make_output);
	char *plugin = path_in(installed.oot_dir, "/vfguard-oot.so");
	ck_assert_msg(access(plugin, R_OK) == 0, "%s: %s", plugin, strerror(errno));
	free(plugin);
	/* meson neither builds nor installs it. */
	plugin = installed_path("VFGUARD_PLUGIN_INSTALL_DIR", "vfguard-oot.so");
	ck_assert_msg(access(plugin, F_OK) < 0 && errno == ENOENT, "%s is installed", plugin);
	free(plugin);

	/* Its key and attribute are vfguard's to list and check, as a built-in labeler's. */
	const char *root = test_root_new(oot_host);
	test_run run;
	run_oot(&run, root, 0, (const char *[]){"config", NULL});
	ck_assert_msg(run.status == 0, "%s", run.err);
	ck_assert_msg(strstr(run.out, "\n  oot_mark = XYZ\n      oot; default 'granted': "), "%s", run.out);
	ck_assert_msg(strstr(run.out, "\n  oot.tag\n"), "%s", run.out);
	test_run_free(&run);
	run_oot(&run, root, 0, (const char *[]){"config", "--set", "oot_mark=two words", NULL});
	ck_assert_int_eq(run.status, 2);
	ck_assert_msg(strstr(run.err, "oot_mark: a mark is one word"), "%s", run.err);
	test_run_free(&run);
	run_oot(&run, root, 0,
		(const char *[]){"apply", "--domain", "vm1", "--attr", "oot.tag=much-too-long-for-a-tag-of-oot-labeler",
				 "--hostdev", "01:00.0", NULL});
	ck_assert_int_eq(run.status, 2); /* a usage error, as any refused --attr */
	ck_assert_msg(strstr(run.err, "oot.tag: longer than"), "%s", run.err);
	test_run_free(&run);
	test_root_remove(root);
}
END_TEST

START_TEST(an_out_of_tree_labeler_round_trips_byte_exact_through_crashes)
{
	ck_assert_msg(installed.oot_make_status == 0, "make failed:\n%s", installed.oot_make_output);
	const char *root = test_root_new(oot_host);
	/* Originals: a large binary value on the shared container, none on group 7, a short one on group 8. */
	char original[OOT_ORIGINAL_SIZE];
	for (size_t i = 0; i < sizeof(original); i++)
		original[i] = (char)(i * 7);
	ck_assert_int_eq(setxattr(test_path(root, "/dev/vfio/vfio"), OOT_XATTR, original, sizeof(original), 0), 0);
	ck_assert_int_eq(setxattr(test_path(root, "/dev/vfio/8"), OOT_XATTR, "eight\n", 6, 0), 0);
	char *before = test_snapshot(root, OOT_SNAPSHOT);
	char *no_files = strdup("");

	/* vm1 applies from the original tree, killed at each point in turn; the last run reaches its end. */
	const char *const revoke_vm1[] = {"revoke", "--domain", "vm1", NULL};
	const char *const revoke_vm2[] = {"revoke", "--domain", "vm2", NULL};
	unsigned first = oot_kill_at_each_point(root, oot_apply_vm1, before, no_files, "vm1", revoke_vm1, NULL);
	ck_assert_str_eq(oot_mark(root, "/dev/vfio/vfio"), "XYZ T1");
	ck_assert_str_eq(oot_mark(root, "/dev/vfio/7"), "XYZ T1");
	ck_assert_str_eq(oot_mark(root, "/dev/vfio/8"), "eight\n");

	/* vm2 joins the container's holders, killed at each point, and each restore leaves vm1's apply whole. */
	char *with_vm1 = test_snapshot(root, OOT_SNAPSHOT);
	char *vm1_files = oot_state_files(root);
	unsigned second = oot_kill_at_each_point(root, oot_apply_vm2, with_vm1, vm1_files, "vm2", revoke_vm2, NULL);
	ck_assert_str_eq(oot_mark(root, "/dev/vfio/vfio"), "XYZ T1");
	ck_assert_str_eq(oot_mark(root, "/dev/vfio/8"), "XYZ T1");
	test_run run;
	run_oot(&run, root, 0, (const char *[]){"audit", NULL});
	ck_assert_msg(run.status == 0, "audit: exit %d: %s%s", run.status, run.out, run.err);
	test_run_free(&run);

	/* vm1 goes first: the container keeps the mark for vm2, group 7 is as it was. */
	run_oot_ok(root, revoke_vm1);
	ck_assert_str_eq(oot_mark(root, "/dev/vfio/vfio"), "XYZ T1");
	ck_assert_str_eq(oot_mark(root, "/dev/vfio/7"), "");
	ck_assert_str_eq(oot_mark(root, "/dev/vfio/8"), "XYZ T1");

	/*
	 * vm2, the last holder, revokes, killed at each point: restore finishes
	 * it, byte-exact; vm2 applies again before the next kill. A kill before
	 * the revoke began leaves vm2 whole: revoke_vm2 takes it back.
	 */
	char *vm2_only = test_snapshot(root, OOT_SNAPSHOT);
	unsigned last = oot_kill_at_each_point(root, revoke_vm2, before, no_files, "vm2", revoke_vm2, oot_apply_vm2);
	test_snapshot_expect(root, OOT_SNAPSHOT, before, "after both domains revoked");
	char *files = oot_state_files(root);
	ck_assert_str_eq(files, "");
	free(files);

	/* Applied again after all that, vm2 alone holds the same tree as before. */
	run_oot_ok(root, oot_apply_vm2);
	test_snapshot_expect(root, OOT_SNAPSHOT, vm2_only, "vm2 applied again");
	run_oot_ok(root, revoke_vm2);
	test_snapshot_expect(root, OOT_SNAPSHOT, before, "vm2 revoked again");

	fprintf(stderr, "oot crash test: %u kill points in vm1's apply, %u in vm2's, %u in vm2's revoke\n", first,
		second, last);
	ck_assert_uint_ge(first, OOT_KILL_POINTS_AT_LEAST);
	ck_assert_uint_ge(second, OOT_KILL_POINTS_AT_LEAST);
	ck_assert_uint_ge(last, OOT_KILL_POINTS_AT_LEAST);
	free(vm2_only);
	free(vm1_files);
	free(with_vm1);
	free(no_files);
	free(before);
	test_root_remove(root);
}
END_TEST

/* The key table has this many keys or more: a loop over it that checked fewer checked nothing much. */
#define CONFIG_KEYS_AT_LEAST 13

/* The shipped etc/vfguard.conf. */
static char *shipped_config(void)
{
	char *path = path_in(env("VFGUARD_SOURCE_ROOT"), "/etc/vfguard.conf");
	char *text = test_read_file("", path);
	ck_assert_msg(text != NULL, "%s is missing", path);
	free(path);
	return text;
}

/* How many lines of @text equal @line. */
static int count_lines(const char *text, const char *line)
{
	int n = 0;
	size_t length = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		n += strncmp(p, line, length) == 0 && (p[length] == '\n' || p[length] == '\0');
	return n;
}

/*
 * Configuration key @n of a context with every labeler loaded (vfguard's
 * own keys, then each labeler's), its default in *@value; NULL past the last.
 */
static const char *config_key(size_t n, const char **value)
{
	static vfg_context *ctx;
	if (!ctx)
		ctx = test_context(test_root_new(host));
	const vfg_config_key_def *def = vfg_context_config_key(ctx, n, NULL);
	if (!def)
		return NULL;
	if (value)
		*value = def->default_value;
	return def->name;
}

START_TEST(the_shipped_config_shows_every_key_with_its_default)
{
	char *text = shipped_config();
	const char *value;
	size_t n = 0;
	for (const char *key; (key = config_key(n, &value)); n++) {
		char line[512];
		snprintf(line, sizeof(line), "# %s =%s%s", key, *value ? " " : "", value);
		ck_assert_msg(count_lines(text, line) == 1, "etc/vfguard.conf: expected one line '%s'", line);
	}
	ck_assert_uint_ge(n, CONFIG_KEYS_AT_LEAST);
	free(text);
}
END_TEST

static bool is_config_key(const char *name)
{
	for (size_t n = 0; config_key(n, NULL); n++)
		if (strcmp(config_key(n, NULL), name) == 0)
			return true;
	return false;
}

START_TEST(the_shipped_config_loads_as_it_is_and_uncommented)
{
	const char *root = test_root_new(host);
	char *text = shipped_config();
	test_write_file(root, "/etc/vfguard/vfguard.conf", text);
	vfg_context *ctx = test_context(root);
	vfg_context_free(ctx);

	/* Its "# KEY = VALUE" lines, made settings: every key keeps its default. */
	char *uncommented = calloc(1, strlen(text) + 1);
	ck_assert_ptr_nonnull(uncommented);
	size_t used = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char key[64];
		if (sscanf(line, "# %63[a-z_] =", key) == 1 && is_config_key(key))
			used += (size_t)sprintf(uncommented + used, "%s\n", line + 2);
	}
	test_write_file(root, "/etc/vfguard/vfguard.conf", uncommented);
	ctx = test_context(root);
	const char *value;
	size_t n = 0;
	for (const char *key; (key = config_key(n, &value)); n++) {
		char line[512];
		snprintf(line, sizeof(line), "%s =", key);
		ck_assert_msg(strstr(uncommented, line), "%s is not set by the uncommented file", key);
		ck_assert_str_eq(vfg_config_get(vfg_context_config(ctx), key), value);
	}
	ck_assert_uint_ge(n, CONFIG_KEYS_AT_LEAST);
	vfg_context_free(ctx);
	free(uncommented);
	free(text);
	test_root_remove(root);
}
END_TEST

START_TEST(docs_config_md_gives_every_key_with_its_default)
{
	char *path = path_in(env("VFGUARD_SOURCE_ROOT"), "/docs/config.md");
	char *text = test_read_file("", path);
	ck_assert_ptr_nonnull(text);
	const char *value;
	size_t n = 0;
	for (const char *key; (key = config_key(n, &value)); n++) {
		char row[128];
		snprintf(row, sizeof(row), "\n| `%s` | ", key);
		const char *found = strstr(text, row);
		ck_assert_msg(found, "docs/config.md has no row for %s", key);
		ck_assert_msg(!strstr(found + 1, row), "docs/config.md has two rows for %s", key);
		const char *cell = found + strlen(row);
		char expected[512];
		snprintf(expected, sizeof(expected), *value ? "`%s` |" : "(empty", value);
		ck_assert_msg(strncmp(cell, expected, strlen(expected)) == 0,
			      "docs/config.md: %s: expected '%s', found '%.60s'", key, expected, cell);
	}
	ck_assert_uint_ge(n, CONFIG_KEYS_AT_LEAST);
	free(text);
	free(path);
}
END_TEST

/* An installed man page as man(1) renders it, wide so that nothing wraps; the warnings in run->err. */
static void render_man_page(test_run *run, const char *page)
{
	char *path = installed_path("VFGUARD_MANDIR", page);
	run_program(run, (const char *[]){env("MAN"), "--warnings=w", "-E", "ascii", "-l", path, NULL},
		    (const char *[]){"MANWIDTH=250", "LC_ALL=C.UTF-8", "MAN_KEEP_FORMATTING=", NULL}, NULL);
	ck_assert_msg(run->status == 0, "man %s: exit %d: %s", path, run->status, run->err);
	free(path);
}

START_TEST(the_man_pages_render_without_a_warning)
{
	for (const char *const *page =
		     (const char *[]){"man8/vfguard.8", "man5/vfguard.conf.5", "man8/vfguard-libvirt-hook.8", NULL};
	     *page; page++) {
		test_run run;
		render_man_page(&run, *page);
		ck_assert_msg(run.err[0] == '\0', "man %s warns: %s", *page, run.err);
		ck_assert_msg(strstr(run.out, "NAME") && strlen(run.out) > 1000, "%s renders as: %s", *page, run.out);
		/* The build filled in what configure_file substitutes. */
		ck_assert_msg(!strchr(run.out, '@'), "%s keeps an unsubstituted @VARIABLE@", *page);
		test_run_free(&run);

		/* groff itself, every warning on. */
		char *path = installed_path("VFGUARD_MANDIR", *page);
		run_program(&run, (const char *[]){"groff", "-ww", "-z", "-man", "-Tascii", path, NULL}, NULL, NULL);
		ck_assert_msg(run.status == 0 && run.err[0] == '\0', "groff %s: %s", *page, run.err);
		test_run_free(&run);
		free(path);
	}
}
END_TEST

START_TEST(the_conf_page_gives_every_key_with_its_default)
{
	test_run run;
	render_man_page(&run, "man5/vfguard.conf.5");
	const char *value;
	size_t n = 0;
	for (const char *key; (key = config_key(n, &value)); n++) {
		char line[512];
		snprintf(line, sizeof(line), "%s =%s%s", key, *value ? " " : "", value);
		ck_assert_msg(has_trimmed_line(run.out, line), "vfguard.conf(5) has no line '%s'", line);
	}
	ck_assert_uint_ge(n, CONFIG_KEYS_AT_LEAST);
	test_run_free(&run);
}
END_TEST

/* The command names `vfguard --help` lists, NULL-terminated; free each and the array. */
static char **cli_commands(void)
{
	test_run run;
	test_cli(&run, (const char *[]){"--help", NULL});
	ck_assert_int_eq(run.status, 0);
	char **names = calloc(64, sizeof(*names));
	size_t n = 0;
	const char *list = strstr(run.out, "Commands:\n");
	ck_assert_ptr_nonnull(list);
	for (const char *line = strchr(list, '\n') + 1; strncmp(line, "  ", 2) == 0; line = strchr(line, '\n') + 1) {
		char name[64];
		ck_assert_int_eq(sscanf(line, " %63s", name), 1);
		ck_assert_uint_lt(n, 63);
		names[n++] = strdup(name);
	}
	ck_assert_uint_ge(n, 11);
	test_run_free(&run);
	return names;
}

static void free_strings(char **strings)
{
	for (size_t i = 0; strings[i]; i++)
		free(strings[i]);
	free(strings);
}

START_TEST(the_vfguard_page_has_a_section_for_every_command_the_cli_lists)
{
	test_run run;
	render_man_page(&run, "man8/vfguard.8");
	char **commands = cli_commands();
	for (size_t i = 0; commands[i]; i++)
		ck_assert_msg(has_trimmed_line(run.out, commands[i]), "vfguard(8) has no section for '%s'",
			      commands[i]);
	free_strings(commands);
	test_run_free(&run);
}
END_TEST

/* @option as a whole word of @text: "--pid" is not found in "--pidfile". */
static bool has_option(const char *text, const char *option)
{
	size_t length = strlen(option);
	for (const char *p = strstr(text, option); p; p = strstr(p + 1, option)) {
		char next = p[length];
		bool word_end =
			!(next == '-' || next == '_' || (next >= 'a' && next <= 'z') || (next >= '0' && next <= '9'));
		if (word_end && (p == text || p[-1] != '-'))
			return true;
	}
	return false;
}

START_TEST(the_vfguard_page_names_every_option_of_every_command)
{
	test_run page;
	render_man_page(&page, "man8/vfguard.8");
	char **commands = cli_commands();
	size_t checked = 0;
	for (size_t i = 0; commands[i]; i++) {
		test_run help;
		test_cli(&help, (const char *[]){commands[i], "--help", NULL});
		ck_assert_int_eq(help.status, 0);
		for (const char *p = strstr(help.out, "--"); p; p = strstr(p + 2, "--")) {
			char option[64];
			if (sscanf(p, "%63[-a-z0-9]", option) != 1 || strlen(option) < 4)
				continue;
			ck_assert_msg(has_option(page.out, option), "vfguard(8) does not name '%s' of 'vfguard %s'",
				      option, commands[i]);
			checked++;
		}
		test_run_free(&help);
	}
	ck_assert_uint_ge(checked, 100);
	free_strings(commands);
	test_run_free(&page);
}
END_TEST

START_TEST(the_vfguard_page_gives_each_exit_status)
{
	test_run run;
	render_man_page(&run, "man8/vfguard.8");
	const char *section = strstr(run.out, "\nEXIT STATUS\n");
	ck_assert_ptr_nonnull(section);
	/* The section runs to the next heading, which starts at the margin. */
	const char *end = section + 13;
	while ((end = strchr(end, '\n')) && (end[1] == ' ' || end[1] == '\n'))
		end++;
	char *text = strndup(section, end ? (size_t)(end - section) : strlen(section));
	/* An entry: the code at the start of a line, its meaning after a gap ("       3      audit found drift."). */
	for (const char *const *code =
		     (const char *[]){"\n       0  ", "\n       1  ", "\n       2  ", "\n       3  ", NULL};
	     *code; code++)
		ck_assert_msg(strstr(text, *code), "EXIT STATUS has no entry '%s':\n%s", *code + 8, text);
	ck_assert_msg(strstr(text, "drift"), "%s", text);
	free(text);
	test_run_free(&run);
}
END_TEST

/* The library conveniences, on the build tree's library. */
START_TEST(domain_new_checks_and_copies_every_field_and_owns_the_specs)
{
	const char *root = test_root_new(host);
	vfg_context *ctx = test_context(root);
	char hostdev[64];
	snprintf(hostdev, sizeof(hostdev), "0000:02:00.0,backend=iommufd,access=fd");
	const char *hostdevs[] = {"01:00.0,backend=legacy,managed=yes", hostdev, NULL};
	vfg_domain_description description = {
		.name = "vm1",
		.uuid = "6A5B5F2C-1111-4222-8333-444455556666",
		.uid = 107,
		.gid = 108,
		.attributes =
			(const char *[]){
				"selinux.label=system_u:system_r:svirt_t:s0:c1,c2",
				"apparmor.profile=libvirt-6a5b5f2c-1111-4222-8333-444455556666",
				"cgroup.path=/sys/fs/cgroup/machine.slice/vm1",
				NULL,
			},
		.pid = 4242,
		.hostdevs = hostdevs,
		.memory = 1ull << 32,
		.viommu = true,
	};
	vfg_domain *domain = NULL;
	vfg_error err = {0};
	ck_assert_msg(vfg_domain_new(ctx, &description, &domain, &err) == 0, "%s", err.message);
	/* The caller's strings may go: the domain holds copies. */
	memset(hostdev, 'x', sizeof(hostdev) - 1);
	ck_assert_str_eq(domain->name, "vm1");
	ck_assert_str_eq(domain->uuid, "6a5b5f2c-1111-4222-8333-444455556666");
	ck_assert_uint_eq(domain->uid, 107);
	ck_assert_uint_eq(domain->gid, 108);
	ck_assert_str_eq(vfg_domain_attr(domain, "selinux.label"), "system_u:system_r:svirt_t:s0:c1,c2");
	ck_assert_str_eq(vfg_domain_attr(domain, "selinux.image_label"), "");
	ck_assert_str_eq(vfg_domain_attr(domain, "apparmor.profile"), "libvirt-6a5b5f2c-1111-4222-8333-444455556666");
	ck_assert_str_eq(vfg_domain_attr(domain, "cgroup.path"), "/sys/fs/cgroup/machine.slice/vm1");
	ck_assert_int_eq(domain->pid, 4242);
	ck_assert_uint_eq(domain->memory, 1ull << 32);
	ck_assert(domain->viommu && !domain->ipc_lock);
	ck_assert_uint_eq(domain->n_hostdevs, 2);
	char bdf[VFG_PCI_ADDR_STRLEN];
	ck_assert_str_eq(vfg_pci_addr_format(&domain->hostdevs[0].addr, bdf), "0000:01:00.0");
	ck_assert_int_eq(domain->hostdevs[0].backend, VFG_BACKEND_LEGACY);
	ck_assert(domain->hostdevs[0].managed);
	ck_assert_str_eq(vfg_pci_addr_format(&domain->hostdevs[1].addr, bdf), "0000:02:00.0");
	ck_assert_int_eq(domain->hostdevs[1].backend, VFG_BACKEND_IOMMUFD);
	ck_assert_int_eq(domain->hostdevs[1].access, VFG_ACCESS_FD);
	vfg_domain_free(domain);
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

/* vfg_domain_new refuses @description; the error message holds @needle. */
static void expect_refused(vfg_context *ctx, const vfg_domain_description *description, const char *needle)
{
	vfg_domain *domain = (vfg_domain *)1;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_domain_new(ctx, description, &domain, &err), -1);
	ck_assert_ptr_null(domain);
	ck_assert_msg(strstr(err.message, needle), "expected '%s' in: %s", needle, err.message);
}

START_TEST(domain_new_refuses_a_bad_field_naming_it)
{
	const char *root = test_root_new(host);
	vfg_context *ctx = test_context(root);
	const char *one[] = {"01:00.0", NULL};
	const char *bad[] = {"01:00.0", "01:00.0,access=sideways", NULL};
	const char *none[] = {NULL};
	char long_label[VFG_LABEL_MAX + 8];
	memset(long_label, 'a', sizeof(long_label) - 1);
	long_label[sizeof(long_label) - 1] = '\0';

	expect_refused(ctx, &(vfg_domain_description){.hostdevs = one}, "needs a name");
	expect_refused(ctx, &(vfg_domain_description){.name = "a/b", .hostdevs = one}, "may not hold '/'");
	expect_refused(ctx, &(vfg_domain_description){.name = "vm1", .hostdevs = none}, "at least one hostdev");
	expect_refused(ctx, &(vfg_domain_description){.name = "vm1"}, "at least one hostdev");
	expect_refused(ctx, &(vfg_domain_description){.name = "vm1", .hostdevs = bad}, "hostdev 2");
	expect_refused(ctx, &(vfg_domain_description){.name = "vm1", .uuid = "not-a-uuid", .hostdevs = one},
		       "uuid: not-a-uuid");
	/* a profile name the plan would refuse is refused here, by the labeler's check (a manager's trial) */
	expect_refused(ctx,
		       &(vfg_domain_description){.name = "vm1",
						 .attributes = (const char *[]){"apparmor.profile=a b", NULL},
						 .hostdevs = one},
		       "attribute apparmor.profile: a b: apparmor: a profile name vfguard uses as a file name must be "
		       "printable");
	expect_refused(ctx,
		       &(vfg_domain_description){.name = "vm1",
						 .attributes = (const char *[]){"cgroup.path=machine.slice", NULL},
						 .hostdevs = one},
		       "absolute");
	char long_setting[sizeof(long_label) + 32];
	snprintf(long_setting, sizeof(long_setting), "selinux.label=%s", long_label);
	expect_refused(ctx,
		       &(vfg_domain_description){
			       .name = "vm1", .attributes = (const char *[]){long_setting, NULL}, .hostdevs = one},
		       "selinux.label");
	expect_refused(ctx, &(vfg_domain_description){.name = "vm1", .uid = (uid_t)-1, .hostdevs = one}, "uid");
	expect_refused(ctx, &(vfg_domain_description){.name = "vm1", .pid = -3, .hostdevs = one}, "pid");
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

/*
 * A plan is its context's: its labelers' tables and configuration. Applied,
 * audited or opened with another context, it is refused with nothing changed
 * (a manager's trial got a misleading error from a labeler the other context
 * had not loaded, after changes it then undid).
 */
START_TEST(a_plan_is_refused_with_another_context_than_the_one_that_built_it)
{
	const char *root = test_root_new(host);
	test_write_file(root, "/etc/vfguard/vfguard.conf", HOST_CONFIG);
	vfg_context *builder = test_context(root), *other = test_context(root);
	const char *hostdevs[] = {"01:00.0,backend=legacy,access=fd", NULL};
	vfg_domain *vm1 = NULL;
	vfg_error err = {0};
	ck_assert(vfg_domain_new(builder,
				 &(vfg_domain_description){.name = "vm1", .uid = 107, .gid = 107, .hostdevs = hostdevs},
				 &vm1, &err) == 0);
	vfg_plan *plan = NULL;
	ck_assert_msg(vfg_plan_build(builder, vm1, &plan, &err) == 0, "%s", err.message);
	char *before = test_snapshot(root, 0);
	const char *expected = "vm1: the plan was built by another context";
	ck_assert_int_eq(vfg_plan_apply(other, plan, NULL, &err), -1);
	ck_assert_msg(strstr(err.message, expected) && strstr(err.message, "apply it with the context"), "%s",
		      err.message);
	vfg_audit_report *report = NULL;
	ck_assert_int_eq(vfg_plan_audit(other, plan, &report, &err), -1);
	ck_assert_msg(strstr(err.message, expected), "%s", err.message);
	vfg_fdset *fdset = (vfg_fdset *)1;
	ck_assert_int_eq(vfg_domain_open_fds(other, plan, NULL, &fdset, &err), -1);
	ck_assert_ptr_null(fdset);
	ck_assert_msg(strstr(err.message, expected), "%s", err.message);
	test_snapshot_expect(root, 0, before, "a plan used with another context");
	/* with its own, it applies */
	ck_assert_msg(vfg_plan_apply(builder, plan, NULL, &err) == 0, "%s", err.message);
	ck_assert_msg(vfg_domain_revoke(builder, "vm1", NULL, &err) == 0, "%s", err.message);
	/* a caller with no use for the plan, the summary or the error passes NULL for each (it crashed once) */
	ck_assert_int_eq(vfg_domain_apply(other, vm1, NULL, NULL, NULL), 0);
	ck_assert_msg(vfg_domain_revoke(other, "vm1", NULL, &err) == 0, "%s", err.message);

	/*
	 * A context made once the builder is freed may have its address (a
	 * review saw it): the plan knows its context by a random id, not by it.
	 */
	vfg_context_free(builder);
	vfg_context *later = test_context(root);
	char *again = test_snapshot(root, 0);
	ck_assert_int_eq(vfg_plan_apply(later, plan, NULL, &err), -1);
	ck_assert_msg(strstr(err.message, expected), "%s", err.message);
	test_snapshot_expect(root, 0, again, "a plan of a freed context");
	free(again);
	free(before);
	vfg_plan_free(plan);
	vfg_domain_free(vm1);
	vfg_context_free(later);
	vfg_context_free(other);
	test_root_remove(root);
}
END_TEST

START_TEST(domain_apply_returns_the_plan_and_a_refused_apply_changes_nothing)
{
	const char *root = test_root_new(host);
	test_write_file(root, "/etc/vfguard/vfguard.conf", HOST_CONFIG);
	vfg_context *ctx = test_context(root);
	const char *hostdevs[] = {"01:00.0,backend=legacy", NULL};
	vfg_domain *vm1 = NULL, *vm2 = NULL;
	vfg_error err = {0};
	ck_assert(vfg_domain_new(ctx,
				 &(vfg_domain_description){.name = "vm1", .uid = 107, .gid = 107, .hostdevs = hostdevs},
				 &vm1, &err) == 0);
	ck_assert(vfg_domain_new(ctx,
				 &(vfg_domain_description){.name = "vm2", .uid = 108, .gid = 108, .hostdevs = hostdevs},
				 &vm2, &err) == 0);

	vfg_plan *plan = NULL;
	vfg_change_summary summary;
	memset(&summary, 0xff, sizeof(summary));
	ck_assert_msg(vfg_domain_apply(ctx, vm1, &plan, &summary, &err) == 0, "%s", err.message);
	ck_assert_ptr_nonnull(plan);
	ck_assert_str_eq(vfg_plan_domain(plan)->name, "vm1");
	ck_assert_ptr_nonnull(test_node(plan, "/dev/vfio/7"));
	ck_assert_uint_eq(summary.changed, 1);
	ck_assert_uint_eq(summary.kept, 0);
	vfg_plan_free(plan);

	/* Group 7 is vm1's: vm2 is refused, with no plan and no change. */
	char *before = test_snapshot(root, TEST_SNAPSHOT_NO_CTIME);
	plan = (vfg_plan *)1;
	ck_assert_int_eq(vfg_domain_apply(ctx, vm2, &plan, &summary, &err), -1);
	ck_assert_ptr_null(plan);
	ck_assert_msg(strstr(err.message, "vm1"), "%s", err.message);
	/* and without a summary or an error to fill (error.h: @err may be NULL) */
	ck_assert_int_eq(vfg_domain_apply(ctx, vm2, &plan, NULL, NULL), -1);
	ck_assert_ptr_null(plan);
	test_snapshot_expect(root, TEST_SNAPSHOT_NO_CTIME, before, "after the refused apply");
	free(before);

	ck_assert(vfg_domain_revoke(ctx, "vm1", &summary, &err) == 0);
	ck_assert_uint_eq(summary.changed, 1);
	vfg_domain_free(vm1);
	vfg_domain_free(vm2);
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

/* No state shared between contexts: two threads, each planning on its own host with its own configuration. */
typedef struct planner {
	char root[64];
	const char *labelers;
	const char *expected_labeler;
	int failures;
	char error[VFG_ERROR_MESSAGE_MAX];
} planner;

static void *plan_repeatedly(void *argument)
{
	planner *p = argument;
	char setting[64];
	snprintf(setting, sizeof(setting), "labelers=%s", p->labelers);
	const char *overrides[] = {setting, NULL};
	for (int i = 0; i < 25; i++) {
		vfg_error err = {0};
		vfg_context *ctx =
			vfg_context_new(&(vfg_context_options){.root = p->root, .overrides = overrides}, &err);
		vfg_domain *domain = NULL;
		vfg_plan *plan = NULL;
		const char *hostdevs[] = {"01:00.0,backend=legacy", NULL};
		if (!ctx ||
		    vfg_domain_new(
			    ctx, &(vfg_domain_description){.name = "vm1", .uid = 107, .gid = 107, .hostdevs = hostdevs},
			    &domain, &err) < 0 ||
		    vfg_plan_build(ctx, domain, &plan, &err) < 0 || strcmp(vfg_context_root(ctx), p->root) != 0 ||
		    vfg_plan_n_labelers(plan) != 2 ||
		    strcmp(vfg_plan_labeler(plan, 0)->name, p->expected_labeler) != 0) {
			p->failures++;
			snprintf(p->error, sizeof(p->error), "%s",
				 err.message[0] ? err.message : "another context's state");
		}
		vfg_plan_free(plan);
		vfg_domain_free(domain);
		vfg_context_free(ctx);
	}
	return NULL;
}

START_TEST(contexts_share_nothing_across_threads)
{
	planner planners[2] = {{.labelers = "dac", .expected_labeler = "dac"},
			       {.labelers = "cgroup", .expected_labeler = "cgroup"}};
	pthread_t threads[2];
	for (int i = 0; i < 2; i++) {
		snprintf(planners[i].root, sizeof(planners[i].root), "%s", test_root_new(host));
		ck_assert_int_eq(pthread_create(&threads[i], NULL, plan_repeatedly, &planners[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
		ck_assert_msg(planners[i].failures == 0, "thread %d: %d failures: %s", i, planners[i].failures,
			      planners[i].error);
		test_root_remove(planners[i].root);
	}
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("library");
	TCase *tc = tcase_create("installed");
	tcase_add_unchecked_fixture(tc, install_setup, install_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, meson_install_puts_every_part_where_the_prefix_says);
	tcase_add_test(tc, the_hooks_are_installed_where_libvirt_and_the_runtime_look_for_them);
	tcase_add_test(tc, the_installed_pc_names_the_installed_headers_version_and_plugin_dir);
	tcase_add_test(tc, the_installed_cli_looks_for_plugins_where_they_were_installed_and_loads_them);
	tcase_add_test(tc, the_example_builds_from_the_installed_pc_and_does_not_link_the_library);
	tcase_add_test(tc, the_example_grants_while_the_command_runs_hands_it_the_fds_and_revokes_after);
	tcase_add_test(tc, the_example_revokes_however_the_command_ends);
	tcase_add_test(tc, the_example_shows_the_librarys_notices_on_stderr);
	tcase_add_test(tc, an_out_of_tree_labeler_builds_from_the_installed_pc_alone);
	tcase_add_test(tc, an_out_of_tree_labeler_round_trips_byte_exact_through_crashes);
	tcase_add_test(tc, the_man_pages_render_without_a_warning);
	tcase_add_test(tc, the_conf_page_gives_every_key_with_its_default);
	tcase_add_test(tc, the_vfguard_page_has_a_section_for_every_command_the_cli_lists);
	tcase_add_test(tc, the_vfguard_page_names_every_option_of_every_command);
	tcase_add_test(tc, the_vfguard_page_gives_each_exit_status);
	suite_add_tcase(suite, tc);

	tc = tcase_create("sources");
	tcase_add_test(tc, the_shipped_config_shows_every_key_with_its_default);
	tcase_add_test(tc, the_shipped_config_loads_as_it_is_and_uncommented);
	tcase_add_test(tc, docs_config_md_gives_every_key_with_its_default);
	suite_add_tcase(suite, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, domain_new_checks_and_copies_every_field_and_owns_the_specs);
	tcase_add_test(tc, domain_new_refuses_a_bad_field_naming_it);
	tcase_add_test(tc, a_plan_is_refused_with_another_context_than_the_one_that_built_it);
	tcase_add_test(tc, domain_apply_returns_the_plan_and_a_refused_apply_changes_nothing);
	tcase_add_test(tc, contexts_share_nothing_across_threads);
	suite_add_tcase(suite, tc);
	return test_main(suite);
}
