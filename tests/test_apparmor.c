/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The AppArmor labeler on generated trees: the per-domain rules file it
 * writes, byte-exact round trips (no file before, a file with other content,
 * one too large for the journal's undo text), apply twice, two domains,
 * crashes at every journal point, audit, and apparmor_parser compiling every
 * file vfguard writes inside the sample profile (policy/apparmor). AppArmor is
 * not enabled on this machine: what the kernel does with the rules is the VM
 * suite's (tests/vm/scenarios/apparmor-*.sh).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static const char host[] = "misc vfio 234:196\n"
			   "misc iommu 234:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n"
			   "group 8 243:1\n"
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio1:511:1\n"
			   "group 9 243:2\n"
			   "device 0000:03:00.0 group=9 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio2:511:2\n";

#define PARSER "/sbin/apparmor_parser"
#define UUID1 "c7a5fdbd-edaf-9455-926a-d65c16db1809"
#define UUID2 "0b6c2e38-79c5-4a4c-9b61-3c5c4d1e2f70"
#define PROFILE1 "libvirt-" UUID1
#define PROFILE2 "libvirt-" UUID2
#define RULES1 "/etc/apparmor.d/vfguard/" PROFILE1
#define RULES2 "/etc/apparmor.d/vfguard/" PROFILE2

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
} fixture;

static char *policy_file(const char *name)
{
	const char *dir = getenv("VFGUARD_APPARMOR_POLICY_DIR");
	ck_assert_msg(dir != NULL, "VFGUARD_APPARMOR_POLICY_DIR is not set (tests/meson.build)");
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *content = test_read_file("", path);
	ck_assert_msg(content != NULL, "no %s", path);
	return content;
}

/*
 * A host with its own /etc/apparmor.d, never the machine's: the rules
 * directory as the package makes it, vfguard's abstraction from the source
 * tree, and stand-ins for the two includes the sample profile takes from the
 * apparmor package.
 */
static void fixture_open(fixture *f)
{
	f->root = test_root_new(host);
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", "labelers = apparmor\n");
	test_write_file(f->root, "/etc/apparmor.d/tunables/global", "# stand-in for the apparmor package's\n");
	test_write_file(f->root, "/etc/apparmor.d/abstractions/base", "  /{usr/,}lib{,32,64}/** mr,\n");
	char *abstraction = policy_file("abstractions/vfguard-hypervisor");
	test_write_file(f->root, "/etc/apparmor.d/abstractions/vfguard-hypervisor", abstraction);
	free(abstraction);
	ck_assert_int_eq(mkdir(test_path(f->root, "/etc/apparmor.d/vfguard"), 0755), 0);
	f->ctx = test_context(f->root);
}

static void fixture_close(fixture *f)
{
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
}

/*
 * Everything under ROOT/etc/apparmor.d that a round trip must give back:
 * each entry's name, type, mode and owner, and each file's bytes (hex). A
 * rules file is replaced by rename, so its inode and times are new ones;
 * its content, mode and owner are what must be the original's.
 */
static FILE *snapshot_out;
static size_t snapshot_root_len;

static int snapshot_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	/* nftw() goes on past what it cannot stat or list: the snapshot would lack it */
	ck_assert_msg(type != FTW_NS && type != FTW_DNR, "cannot read %s", path);
	fprintf(snapshot_out, "%s mode=%o uid=%u gid=%u\n", path + snapshot_root_len, st->st_mode, st->st_uid,
		st->st_gid);
	if (S_ISREG(st->st_mode)) {
		FILE *f = fopen(path, "r");
		ck_assert_ptr_nonnull(f);
		int c;
		while ((c = fgetc(f)) != EOF)
			fprintf(snapshot_out, "%02x", c);
		ck_assert_msg(!ferror(f), "cannot read %s", path);
		fputc('\n', snapshot_out);
		fclose(f);
	}
	return 0;
}

static char *policy_snapshot(const char *root)
{
	char *text = NULL;
	size_t size = 0;
	snapshot_out = open_memstream(&text, &size);
	snapshot_root_len = strlen(root);
	ck_assert_int_eq(nftw(test_path(root, "/etc/apparmor.d"), snapshot_entry, 16, FTW_PHYS), 0);
	ck_assert_int_eq(fclose(snapshot_out), 0);
	return text;
}

static void expect_policy_unchanged(const char *root, const char *before, const char *what)
{
	char *now = policy_snapshot(root);
	ck_assert_msg(strcmp(now, before) == 0, "%s: /etc/apparmor.d differs:\nbefore:\n%s\nnow:\n%s", what, before,
		      now);
	free(now);
}

/* Plan and apply @hostdevs (NULL-terminated) for domain @name with @uuid (may be NULL) and @profile (may be NULL). */
static int domain_apply(fixture *f, const char *name, const char *uuid, const char *profile,
			const char *const *hostdevs, vfg_change_summary *summary, vfg_error *err)
{
	vfg_hostdev_spec specs[4];
	size_t n = 0;
	for (; hostdevs[n]; n++) {
		ck_assert_uint_lt(n, 4);
		ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, hostdevs[n], &specs[n], err) == 0, "%s", err->message);
	}
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = n, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "%s", name);
	if (uuid)
		snprintf(domain.uuid, sizeof(domain.uuid), "%s", uuid);
	if (profile)
		test_domain_attr(&domain, "apparmor.profile", "%s", profile);
	vfg_plan *plan = NULL;
	int r = vfg_plan_build(f->ctx, &domain, &plan, err);
	if (r == 0)
		r = vfg_plan_apply(f->ctx, plan, summary, err);
	vfg_plan_free(plan);
	return r;
}

static void domain_apply_ok(fixture *f, const char *name, const char *uuid, const char *const *hostdevs,
			    vfg_change_summary *summary)
{
	vfg_error err = {0};
	vfg_change_summary ignored;
	ck_assert_msg(domain_apply(f, name, uuid, NULL, hostdevs, summary ? summary : &ignored, &err) == 0,
		      "apply %s: %s", name, err.message);
}

static void domain_revoke_ok(fixture *f, const char *name)
{
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_domain_revoke(f->ctx, name, &summary, &err) == 0, "revoke %s: %s", name, err.message);
}

static void expect_file(const char *root, const char *logical, const char *expected)
{
	char *content = test_read_file(root, logical);
	if (!expected) {
		ck_assert_msg(content == NULL, "%s exists:\n%s", logical, content);
		return;
	}
	ck_assert_msg(content != NULL, "%s does not exist", logical);
	ck_assert_msg(strcmp(content, expected) == 0, "%s is:\n%s\nexpected:\n%s", logical, content, expected);
	free(content);
}

/* Run @argv; its exit status, its stdout and stderr together in *@output (free() it). */
static int run_command(const char *const *argv, char **output)
{
	int pipefd[2];
	ck_assert_int_eq(pipe(pipefd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	size_t used = 0, capacity = 4096;
	char *buf = malloc(capacity);
	ssize_t n;
	while ((n = read(pipefd[0], buf + used, capacity - used - 1)) > 0) {
		used += (size_t)n;
		if (capacity - used < 2)
			buf = realloc(buf, capacity *= 2);
	}
	ck_assert_msg(n == 0, "reading %s's output: %s", argv[0], strerror(errno));
	buf[used] = '\0';
	close(pipefd[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	*output = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* @text with every "vfguard-example" turned into @profile (free() it). */
static char *sample_for(const char *profile)
{
	char *sample = policy_file("vfguard-example");
	const char *token = "vfguard-example";
	size_t count = 0;
	for (const char *p = strstr(sample, token); p; p = strstr(p + 1, token))
		count++;
	char *out = malloc(strlen(sample) + count * strlen(profile) + 1);
	char *w = out;
	for (const char *p = sample, *hit; (hit = strstr(p, token)); p = hit + strlen(token)) {
		memcpy(w, p, (size_t)(hit - p));
		w += hit - p;
		w += sprintf(w, "%s", profile);
		if (!strstr(hit + strlen(token), token)) {
			strcpy(w, hit + strlen(token));
			w += strlen(w);
		}
	}
	if (count == 0)
		strcpy(out, sample);
	free(sample);
	ck_assert_uint_ge(count, 2); /* the profile's name and its rules file's */
	return out;
}

/*
 * The sample profile named @profile, including its rules file, compiles with
 * the root's /etc/apparmor.d as the parser's base (nothing of the machine's),
 * and what the parser reads holds each of @rules (NULL-terminated): the
 * include reaches the file vfguard wrote.
 */
static void expect_profile_compiles(const char *root, const char *profile, const char *const *rules)
{
	char logical[512], base[4096], file[4096];
	snprintf(logical, sizeof(logical), "/etc/apparmor.d/libvirt/%s", profile);
	char *sample = sample_for(profile);
	test_write_file(root, logical, sample);
	free(sample);
	snprintf(base, sizeof(base), "%s/etc/apparmor.d", root);
	snprintf(file, sizeof(file), "%s", test_path(root, logical));

	char *output;
	int status = run_command((const char *[]){PARSER, "-Q", "-K", "--base", base, file, NULL}, &output);
	ck_assert_msg(status == 0, "apparmor_parser -Q -K %s: exit %d\n%s", profile, status, output);
	free(output);
	status = run_command((const char *[]){PARSER, "-p", "--base", base, file, NULL}, &output);
	ck_assert_msg(status == 0, "apparmor_parser -p %s: exit %d\n%s", profile, status, output);
	for (size_t i = 0; rules && rules[i]; i++)
		ck_assert_msg(strstr(output, rules[i]), "the profile as the parser reads it lacks %s:\n%s", rules[i],
			      output);
	free(output);
	ck_assert_int_eq(unlink(file), 0);
}

static const char *const both_backends[] = {"01:00.0,backend=legacy", "02:00.0,backend=iommufd", NULL};

static const char vm1_rules[] = "# vfguard begin: device nodes of domain vm1\n"
				"\"/dev/vfio/vfio\" rw,\n"
				"\"/dev/vfio/7\" rw,\n"
				"\"/dev/iommu\" rw,\n"
				"\"/dev/vfio/devices/vfio1\" rw,\n";

/* rules file */

START_TEST(path_access_writes_one_exact_rule_per_node_in_the_domains_own_file)
{
	fixture f;
	fixture_open(&f);
	vfg_change_summary summary;
	domain_apply_ok(&f, "vm1", UUID1, both_backends, &summary);
	ck_assert_uint_eq(summary.changed, 4);
	char expected[1024];
	snprintf(expected, sizeof(expected), "%s# vfguard end: no file before\n", vm1_rules);
	expect_file(f.root, RULES1, expected);
	struct stat st;
	ck_assert_int_eq(stat(test_path(f.root, RULES1), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	fixture_close(&f);
}
END_TEST

START_TEST(a_given_profile_names_the_file_and_without_uuid_or_profile_vfguard_NAME_does)
{
	fixture f;
	fixture_open(&f);
	vfg_error err = {0};
	vfg_change_summary summary;
	const char *const one[] = {"03:00.0,backend=legacy", NULL};
	ck_assert_msg(domain_apply(&f, "vm1", UUID1, "qemu-vm1", one, &summary, &err) == 0, "%s", err.message);
	ck_assert_msg(domain_apply(&f, "vm2", NULL, NULL, (const char *[]){"02:00.0,backend=legacy", NULL}, &summary,
				   &err) == 0,
		      "%s", err.message);
	char *vm1_profile = test_read_file(f.root, "/etc/apparmor.d/vfguard/qemu-vm1");
	char *vm2_profile = test_read_file(f.root, "/etc/apparmor.d/vfguard/vfguard-vm2");
	ck_assert_ptr_nonnull(strstr(vm1_profile, "\"/dev/vfio/9\" rw,"));
	ck_assert_ptr_nonnull(strstr(vm2_profile, "\"/dev/vfio/8\" rw,"));
	free(vm1_profile);
	free(vm2_profile);
	expect_file(f.root, RULES1, NULL);
	fixture_close(&f);
}
END_TEST

START_TEST(every_file_vfguard_writes_compiles_inside_the_sample_profile)
{
	fixture f;
	fixture_open(&f);
	/* The sample and the abstraction alone: the domain holds nothing, the include finds no file. */
	expect_profile_compiles(f.root, PROFILE1, NULL);

	domain_apply_ok(&f, "vm1", UUID1, both_backends, NULL);
	const char *const rules[] = {"\"/dev/vfio/vfio\" rw,",     "\"/dev/vfio/7\" rw,",
				     "\"/dev/iommu\" rw,",         "\"/dev/vfio/devices/vfio1\" rw,",
				     "vfio-dev/vfio[0-9]*/dev r,", NULL};
	expect_profile_compiles(f.root, PROFILE1, rules);

	/* A file the admin had, with rules of their own, keeps compiling with vfguard's section on top. */
	test_write_file(f.root, RULES2, "# the admin's own\n/srv/images/vm2.qcow2 rwk,\n");
	domain_apply_ok(&f, "vm2", UUID2, (const char *[]){"03:00.0,backend=legacy", NULL}, NULL);
	expect_profile_compiles(f.root, PROFILE2,
				(const char *[]){"\"/dev/vfio/9\" rw,", "/srv/images/vm2.qcow2 rwk,", NULL});
	domain_revoke_ok(&f, "vm2");
	expect_profile_compiles(f.root, PROFILE2, (const char *[]){"/srv/images/vm2.qcow2 rwk,", NULL});
	fixture_close(&f);
}
END_TEST

/* round trip */

/* 0: no file before; 1: a file with other content, no final newline, mode 0640; 2: one over the undo limit. */
static void make_original(const char *root, int which)
{
	if (which == 0)
		return;
	if (which == 1) {
		test_write_file(root, RULES1, "# kept by the admin\n/srv/images/vm1.qcow2 rwk,\n  # no final newline");
		ck_assert_int_eq(chmod(test_path(root, RULES1), 0640), 0);
		return;
	}
	/* 6000 bytes with every byte value, NUL included: far over the 2048 bytes of undo text */
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path(root, RULES1));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	unsigned char buf[6000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + i / 256);
	ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);
}

/* The originals saved aside: files in the journal's stores, STATE/domains/NAME.store/HASH. */
static int saved_originals(const char *root)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/run/vfguard/domains", root);
	DIR *d = opendir(dir);
	if (!d) {
		/* no journal yet: any other failure is no count */
		ck_assert_msg(errno == ENOENT, "%s: %s", dir, strerror(errno));
		return 0;
	}
	int count = 0;
	for (struct dirent *entry; (entry = readdir(d));) {
		size_t length = strlen(entry->d_name);
		if (length <= 6 || strcmp(entry->d_name + length - 6, ".store") != 0)
			continue;
		char store[4096 + 256];
		snprintf(store, sizeof(store), "%s/%s", dir, entry->d_name);
		DIR *s = opendir(store);
		ck_assert_msg(s != NULL, "%s: %s", store, strerror(errno));
		for (struct dirent *file; (file = readdir(s));)
			count += file->d_name[0] != '.';
		closedir(s);
	}
	closedir(d);
	return count;
}

START_TEST(apply_then_revoke_restores_the_rules_file_byte_for_byte)
{
	fixture f;
	fixture_open(&f);
	make_original(f.root, _i);
	char *before = policy_snapshot(f.root);

	domain_apply_ok(&f, "vm1", UUID1, both_backends, NULL);
	char *granted = test_read_file(f.root, RULES1);
	ck_assert_ptr_nonnull(granted);
	ck_assert_msg(strncmp(granted, vm1_rules, strlen(vm1_rules)) == 0, "%s", granted);
	ck_assert_ptr_nonnull(strstr(granted, _i == 0 ? "# vfguard end: no file before\n" : "# vfguard end\n"));
	if (_i == 1)
		ck_assert_ptr_nonnull(strstr(granted, "# vfguard end\n# kept by the admin\n"));
	free(granted);
	/* only the original over the undo limit is saved aside, once for the domain */
	ck_assert_int_eq(saved_originals(f.root), _i == 2 ? 1 : 0);

	domain_revoke_ok(&f, "vm1");
	expect_policy_unchanged(f.root, before, "apply then revoke");
	ck_assert_int_eq(saved_originals(f.root), 0);
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(apply_twice_changes_nothing_and_one_revoke_restores)
{
	fixture f;
	fixture_open(&f);
	make_original(f.root, 1);
	char *before = policy_snapshot(f.root);
	domain_apply_ok(&f, "vm1", UUID1, both_backends, NULL);
	char *once = policy_snapshot(f.root);
	vfg_change_summary summary;
	domain_apply_ok(&f, "vm1", UUID1, both_backends, &summary);
	ck_assert_uint_eq(summary.changed, 0);
	ck_assert_uint_eq(summary.kept, 4);
	expect_policy_unchanged(f.root, once, "the second apply");
	domain_revoke_ok(&f, "vm1");
	expect_policy_unchanged(f.root, before, "apply twice, revoke once");
	domain_revoke_ok(&f, "vm1"); /* nothing held: nothing done */
	expect_policy_unchanged(f.root, before, "a second revoke");
	free(once);
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(two_domains_keep_separate_files_and_revoke_touches_only_their_own)
{
	fixture f;
	fixture_open(&f);
	char *before = policy_snapshot(f.root);
	domain_apply_ok(&f, "vm1", UUID1, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	domain_apply_ok(&f, "vm2", UUID2, (const char *[]){"02:00.0,backend=legacy", NULL}, NULL);
	const char *vm2 = "# vfguard begin: device nodes of domain vm2\n"
			  "\"/dev/vfio/vfio\" rw,\n"
			  "\"/dev/vfio/8\" rw,\n"
			  "# vfguard end: no file before\n";
	expect_file(f.root, RULES1,
		    "# vfguard begin: device nodes of domain vm1\n"
		    "\"/dev/vfio/vfio\" rw,\n"
		    "\"/dev/vfio/7\" rw,\n"
		    "# vfguard end: no file before\n");
	expect_file(f.root, RULES2, vm2);
	domain_revoke_ok(&f, "vm1");
	expect_file(f.root, RULES1, NULL);
	expect_file(f.root, RULES2, vm2); /* the shared container keeps its rule in vm2's file */
	domain_revoke_ok(&f, "vm2");
	expect_policy_unchanged(f.root, before, "both domains revoked");
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(a_profile_whose_file_holds_another_domains_rules_is_refused)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "vm1", UUID1, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	char *held = policy_snapshot(f.root);
	vfg_error err = {0};
	vfg_change_summary summary;
	int r = domain_apply(&f, "vm2", NULL, PROFILE1, (const char *[]){"02:00.0,backend=legacy", NULL}, &summary,
			     &err);
	ck_assert_int_eq(r, -1);
	/* the way out for a libvirt user too, who gives no option (an operator's trial) */
	ck_assert_msg(strstr(err.message, "holds the rules of domain vm1") && strstr(err.message, RULES1) &&
			      strstr(err.message, "or its libvirt <seclabel model='apparmor'> label"),
		      "%s", err.message);
	expect_policy_unchanged(f.root, held, "the refused apply");
	free(held);
	fixture_close(&f);
}
END_TEST

/*
 * A domain name may hold spaces and UTF-8 (libvirt's "Windows 11"): the
 * section's begin line names it whole, so another domain whose name is its
 * first word is still refused, the profile compiles, and revoke restores.
 */
START_TEST(a_domain_name_with_spaces_owns_its_section_whole)
{
	fixture f;
	fixture_open(&f);
	expect_profile_compiles(f.root, PROFILE1, NULL); /* its folder made before the snapshot */
	char *before = policy_snapshot(f.root);
	const char *name = "Windows 11 \xc3\xbc";
	domain_apply_ok(&f, name, UUID1, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	expect_file(f.root, RULES1,
		    "# vfguard begin: device nodes of domain Windows 11 \xc3\xbc\n"
		    "\"/dev/vfio/vfio\" rw,\n"
		    "\"/dev/vfio/7\" rw,\n"
		    "# vfguard end: no file before\n");
	expect_profile_compiles(f.root, PROFILE1, (const char *[]){"\"/dev/vfio/7\" rw,", NULL});
	char *held = policy_snapshot(f.root);
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_int_eq(domain_apply(&f, "Windows", NULL, PROFILE1, (const char *[]){"02:00.0,backend=legacy", NULL},
				      &summary, &err),
			 -1);
	ck_assert_msg(strstr(err.message, "holds the rules of domain Windows 11 \xc3\xbc"), "%s", err.message);
	expect_policy_unchanged(f.root, held, "the refused apply");
	free(held);
	domain_revoke_ok(&f, name);
	expect_policy_unchanged(f.root, before, "apply then revoke");
	/*
	 * Without a uuid or a profile the rules file is vfguard-NAME, each byte a
	 * file name here cannot hold written %XX (a trial found the name refused,
	 * with the default labelers, AppArmor not even enabled).
	 */
	domain_apply_ok(&f, name, NULL, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	char *rules = test_read_file(f.root, "/etc/apparmor.d/vfguard/vfguard-Windows%2011%20%C3%BC");
	ck_assert_msg(rules && strstr(rules, "\"/dev/vfio/7\" rw,"), "%s", rules ? rules : "(no file)");
	free(rules);
	domain_revoke_ok(&f, name);
	expect_policy_unchanged(f.root, before, "apply and revoke without a uuid");
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * The uuid names the profile, and so the file, the domain's rules are in:
 * a hostdev added by hand without --uuid to a domain the libvirt hook
 * started went to a second file, and the first one's rules outlived the
 * revoke (a trial). Refused, naming the uuid to give, as another profile
 * is; with the uuid the add goes to the same file and revoke restores.
 */
START_TEST(an_add_under_another_uuid_or_profile_is_refused_naming_the_one_held)
{
	fixture f;
	fixture_open(&f);
	char *before = policy_snapshot(f.root);
	domain_apply_ok(&f, "vm1", UUID1, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	char *held = test_snapshot(f.root, 0);
	const char *const add[] = {"02:00.0,backend=legacy", NULL};
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_int_eq(domain_apply(&f, "vm1", NULL, NULL, add, &summary, &err), -1);
	ck_assert_msg(strstr(err.message,
			     "the domain's AppArmor rules are in profile " PROFILE1 "'s file, not vfguard-vm1's") &&
			      strstr(err.message, "give --uuid " UUID1 ", or run vfguard revoke --domain vm1 first"),
		      "%s", err.message);
	ck_assert_int_eq(domain_apply(&f, "vm1", UUID1, "other-profile", add, &summary, &err), -1);
	ck_assert_msg(strstr(err.message, "rules are in profile " PROFILE1 "'s file, not other-profile's") &&
			      strstr(err.message, "give --uuid " UUID1 ","),
		      "%s", err.message);
	test_snapshot_expect(f.root, 0, held, "the refused adds");
	free(held);
	/*
	 * The profile the uuid names, given by name as libvirt's hook does, and
	 * under another uuid: the same file, so no refusal (a review).
	 */
	ck_assert_msg(domain_apply(&f, "vm1", "0b7a1e52-7f0d-4a4b-9d55-8a1c2d3e4f50", PROFILE1, add, &summary, &err) ==
			      0,
		      "%s", err.message);
	char *rules = test_read_file(f.root, RULES1);
	ck_assert_msg(strstr(rules, "\"/dev/vfio/7\" rw,\n") && strstr(rules, "\"/dev/vfio/8\" rw,\n"), "%s", rules);
	free(rules);
	domain_revoke_ok(&f, "vm1");
	expect_policy_unchanged(f.root, before, "apply, an add, then revoke");
	free(before);
	fixture_close(&f);
}
END_TEST

/* The plan of domain vm1 (UUID1) holding 01:00.0 on the legacy backend. */
static vfg_plan *plan_vm1_group7(fixture *f)
{
	vfg_hostdev_spec spec;
	vfg_error err = {0};
	ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, "01:00.0,backend=legacy", &spec, &err) == 0, "%s", err.message);
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = 1, .hostdevs = &spec};
	snprintf(domain.name, sizeof(domain.name), "vm1");
	snprintf(domain.uuid, sizeof(domain.uuid), "%s", UUID1);
	vfg_plan *plan = NULL;
	ck_assert_msg(vfg_plan_build(f->ctx, &domain, &plan, &err) == 0, "plan: %s", err.message);
	return plan;
}

/*
 * PROFILE1's file as virt-aa-helper writes it from TEMPLATE.qemu (its
 * shape, libvirt 12.9: the template's text, the profile's name, and an
 * include of libvirt's .files before the closing brace), or edited by an
 * administrator to include vfguard's rules file too (@includes_ours).
 */
static void write_libvirt_profile(const char *root, bool includes_ours)
{
	char profile[1024];
	snprintf(profile, sizeof(profile),
		 "#include <tunables/global>\n\nprofile %s flags=(attach_disconnected) {\n"
		 "  #include <abstractions/libvirt-qemu>\n%s"
		 "  #include if exists <libvirt/%s.files>\n}\n",
		 PROFILE1, includes_ours ? "  include if exists <vfguard/" PROFILE1 ">\n" : "", PROFILE1);
	test_write_file(root, "/etc/apparmor.d/libvirt/" PROFILE1, profile);
}

/*
 * A domain whose profile libvirt's AppArmor driver made: virt-aa-helper's
 * libvirt-UUID includes only its own libvirt-UUID.files (which allows the
 * VFIO nodes), and no template can include vfguard's rules file. A device
 * hot-plugged by hand with vfguard apply wrote a rules file nothing read
 * (carried since stop 44): the labeler is inactive for such a profile now,
 * and says why. A profile an administrator made include vfguard's file
 * still gets it.
 */
START_TEST(a_profile_libvirts_apparmor_driver_made_gets_no_rules_file)
{
	fixture f;
	fixture_open(&f);
	bool includes_ours = _i == 1;
	write_libvirt_profile(f.root, includes_ours);
	char *before = policy_snapshot(f.root);

	vfg_error err = {0};
	vfg_plan *plan = plan_vm1_group7(&f);
	const vfg_step *step = test_step(plan, "apparmor", "/dev/vfio/7");
	const vfg_probe *probe = vfg_plan_labeler_probe(plan, step->labeler);
	ck_assert_int_eq(probe->active, includes_ours);
	ck_assert_int_eq(step->action, (includes_ours ? VFG_ACTION_GRANT : VFG_ACTION_INACTIVE));
	if (!includes_ours)
		ck_assert_msg(strstr(probe->note, "libvirt's AppArmor driver") &&
				      strstr(probe->note, "libvirt/" PROFILE1 ".files"),
			      "%s", probe->note);
	vfg_change_summary summary;
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	ck_assert_uint_eq(summary.changed, includes_ours ? 2 : 0);
	char *rules = test_read_file(f.root, RULES1);
	ck_assert_msg(includes_ours ? rules && strstr(rules, "\"/dev/vfio/7\" rw,") : !rules, "%s: %s", RULES1,
		      rules ? rules : "none");
	free(rules);
	domain_revoke_ok(&f, "vm1");
	expect_policy_unchanged(f.root, before, "apply then revoke");
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * Which rules file a profile made by virt-aa-helper and edited by hand
 * includes decides, not the text "vfguard/PROFILE": with apparmor_rules_dir
 * elsewhere, a profile that includes the domain's rules file was taken as
 * libvirt's, and the rules it reads were never written (a trial). Nor does
 * another domain's file whose name starts with the profile's count.
 */
static const struct {
	const char *rules_dir; /* "": the default */
	const char *include; /* the line the administrator added */
	const char *rules_file; /* NULL: none written, the labeler inactive */
} included_rules[] = {
	{"/etc/apparmor.d/local/vfg", "  include if exists <local/vfg/" PROFILE1 ">\n",
	 "/etc/apparmor.d/local/vfg/" PROFILE1},
	{"/etc/apparmor.d/local/vfg/", "  #include <local/vfg/" PROFILE1 ">\n", "/etc/apparmor.d/local/vfg/" PROFILE1},
	{"/srv/vfguard-rules", "  include \"/srv/vfguard-rules/" PROFILE1 "\"\n", "/srv/vfguard-rules/" PROFILE1},
	{"", "  include if exists <vfguard/" PROFILE1 "-2>\n", NULL},
};

START_TEST(the_rules_file_a_profile_includes_is_the_configured_one)
{
	fixture f;
	fixture_open(&f);
	if (included_rules[_i].rules_dir[0]) {
		char config[256];
		snprintf(config, sizeof(config), "labelers = apparmor\napparmor_rules_dir = %s\n",
			 included_rules[_i].rules_dir);
		test_write_file(f.root, "/etc/vfguard/vfguard.conf", config);
		vfg_context_free(f.ctx);
		f.ctx = test_context(f.root);
	}
	char profile[1024];
	snprintf(profile, sizeof(profile),
		 "profile %s flags=(attach_disconnected) {\n  #include <abstractions/libvirt-qemu>\n%s"
		 "  #include if exists <libvirt/%s.files>\n}\n",
		 PROFILE1, included_rules[_i].include, PROFILE1);
	test_write_file(f.root, "/etc/apparmor.d/libvirt/" PROFILE1, profile);

	vfg_plan *plan = plan_vm1_group7(&f);
	const vfg_step *step = test_step(plan, "apparmor", "/dev/vfio/7");
	bool active = included_rules[_i].rules_file != NULL;
	ck_assert_msg(vfg_plan_labeler_probe(plan, step->labeler)->active == active, "%s: %s",
		      included_rules[_i].include, vfg_plan_labeler_probe(plan, step->labeler)->note);
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	if (active) {
		char *rules = test_read_file(f.root, included_rules[_i].rules_file);
		ck_assert_msg(rules && strstr(rules, "\"/dev/vfio/7\" rw,"), "%s: %s", included_rules[_i].rules_file,
			      rules ? rules : "none");
		free(rules);
	}
	expect_file(f.root, RULES1, NULL);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/*
 * The probe reads the profile file at every command, revoke and restore
 * too. One it cannot read as a plain file made the probe fail, so a domain
 * holding rules could not be revoked (a trial's symlinked profile file left
 * the revoke open, the rules in place), and a FIFO there hung every
 * command. Such a file is not taken as libvirt's: the labeler acts as for
 * any profile, says why, and the round trip completes.
 */
static const char *const odd_profiles[] = {"symlink", "FIFO", "directory", "over 1 MiB", "character device"};

static void odd_profile_make(const char *root, const char *logical, int which)
{
	const char *path = test_path(root, logical);
	char target[4096];
	switch (which) {
	case 0: /* a symlink to a file virt-aa-helper could have made */
		snprintf(target, sizeof(target), "%s.real", path);
		test_write_file("", target,
				"profile " PROFILE1 " {\n  #include if exists <libvirt/" PROFILE1 ".files>\n}\n");
		ck_assert_int_eq(symlink(target, path), 0);
		break;
	case 1:
		ck_assert_int_eq(mkfifo(path, 0600), 0);
		break;
	case 2:
		ck_assert_int_eq(mkdir(path, 0755), 0);
		break;
	case 4: /* no driver behind the number: an open would fail with ENXIO, a look through O_PATH does not */
		ck_assert_int_eq(mknod(path, S_IFCHR | 0600, makedev(243, 4090)), 0);
		break;
	default: {
		char *big = malloc(1100 * 1024 + 1);
		memset(big, '#', 1100 * 1024);
		big[1100 * 1024] = '\0';
		test_write_file(root, logical, big);
		free(big);
	}
	}
}

static void odd_profile_remove(const char *root, const char *logical, int which)
{
	const char *path = test_path(root, logical);
	char target[4096];
	snprintf(target, sizeof(target), "%s.real", path);
	ck_assert_int_eq(which == 2 ? rmdir(path) : unlink(path), 0);
	ck_assert_int_eq(which == 0 ? unlink(target) : 0, 0);
}

START_TEST(a_profile_file_that_cannot_be_read_stops_no_command)
{
	fixture f;
	fixture_open(&f);
	const char *profile_file = "/etc/apparmor.d/libvirt/" PROFILE1;
	ck_assert_int_eq(mkdir(test_path(f.root, "/etc/apparmor.d/libvirt"), 0755), 0);
	char *before = policy_snapshot(f.root);
	const char *const legacy[] = {"01:00.0,backend=legacy", NULL};

	/* rules held from before the file appeared: the revoke takes them back */
	domain_apply_ok(&f, "vm1", UUID1, legacy, NULL);
	odd_profile_make(f.root, profile_file, _i);
	domain_revoke_ok(&f, "vm1");
	odd_profile_remove(f.root, profile_file, _i);
	expect_policy_unchanged(f.root, before, odd_profiles[_i]);
	free(before);

	/* the file there at the apply: the labeler acts, and says why */
	odd_profile_make(f.root, profile_file, _i);
	before = policy_snapshot(f.root);

	vfg_error err = {0};
	vfg_plan *plan = plan_vm1_group7(&f);
	const vfg_step *step = test_step(plan, "apparmor", "/dev/vfio/7");
	const vfg_probe *probe = vfg_plan_labeler_probe(plan, step->labeler);
	ck_assert(probe->active);
	ck_assert_msg(strstr(probe->note, "not read"), "%s: %s", odd_profiles[_i], probe->note);
	/* a device node is looked at, never opened */
	ck_assert_msg(_i != 4 || strstr(probe->note, "it is not a regular file"), "%s", probe->note);
	vfg_change_summary summary;
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	char *rules = test_read_file(f.root, RULES1);
	ck_assert_msg(rules && strstr(rules, "\"/dev/vfio/7\" rw,"), "%s", rules ? rules : "no rules file");
	free(rules);
	domain_revoke_ok(&f, "vm1");
	expect_policy_unchanged(f.root, before, odd_profiles[_i]);
	free(before);
	fixture_close(&f);
}
END_TEST

/*
 * A grant killed at its rename leaves its temporary beside a rules file
 * that was never made: the restore finds no file to put back, and once
 * left the temporary in /etc for good (a security trial). The revoke that
 * finds no file sweeps it as any removal does; a live writer's stays.
 */
START_TEST(a_killed_writer_s_temporary_goes_with_the_revoke_that_finds_no_rules_file)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "vm1", UUID1, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	char *content = test_read_file(f.root, RULES1);
	ck_assert_int_eq(unlink(test_path(f.root, RULES1)), 0);
	char dead[256], live[256];
	snprintf(dead, sizeof(dead), "/etc/apparmor.d/vfguard/." PROFILE1 ".vfguard-tmp.%d", (int)test_dead_pid());
	snprintf(live, sizeof(live), "/etc/apparmor.d/vfguard/." PROFILE1 ".vfguard-tmp.%d", (int)getpid());
	test_write_file(f.root, dead, content);
	test_write_file(f.root, live, content);
	domain_revoke_ok(&f, "vm1");
	ck_assert_msg(access(test_path(f.root, dead), F_OK) != 0, "%s stayed", dead);
	ck_assert_msg(access(test_path(f.root, live), F_OK) == 0, "a live writer's %s was removed", live);
	expect_file(f.root, RULES1, NULL);
	free(content);
	fixture_close(&f);
}
END_TEST

/*
 * The same beside a rules file the admin had before: the grant killed at
 * its rename left the file as it was and its temporary beside it, which
 * the restore left there (a crash trial); the revoke that finds the file as
 * it should be sweeps it too, and the admin's file stays byte for byte.
 */
START_TEST(a_killed_writer_s_temporary_goes_with_the_revoke_beside_the_admins_file)
{
	fixture f;
	fixture_open(&f);
	static const char admin[] = "# kept by the admin\n/srv/images/vm1.qcow2 rwk,\n";
	test_write_file(f.root, RULES1, admin);
	domain_apply_ok(&f, "vm1", UUID1, (const char *[]){"01:00.0,backend=legacy", NULL}, NULL);
	char *granted = test_read_file(f.root, RULES1);
	/* as the killed grant left it: the admin's file, and the granted text in a dead writer's temporary */
	test_write_file(f.root, RULES1, admin);
	char dead[256];
	snprintf(dead, sizeof(dead), "/etc/apparmor.d/vfguard/." PROFILE1 ".vfguard-tmp.%d", (int)test_dead_pid());
	test_write_file(f.root, dead, granted);
	domain_revoke_ok(&f, "vm1");
	ck_assert_msg(access(test_path(f.root, dead), F_OK) != 0, "%s stayed", dead);
	expect_file(f.root, RULES1, admin);
	free(granted);
	fixture_close(&f);
}
END_TEST

START_TEST(a_section_without_its_end_line_is_refused_and_left_alone)
{
	fixture f;
	fixture_open(&f);
	test_write_file(f.root, RULES1, "# vfguard begin: device nodes of domain vm1\n\"/dev/vfio/7\" rw,\n");
	char *before = policy_snapshot(f.root);
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_int_eq(domain_apply(&f, "vm1", UUID1, NULL, both_backends, &summary, &err), -1);
	ck_assert_msg(strstr(err.message, "has no end line"), "%s", err.message);
	expect_policy_unchanged(f.root, before, "the refused apply");
	free(before);
	fixture_close(&f);
}
END_TEST

/* fd access */

START_TEST(fd_access_needs_no_rule_while_apparmor_is_not_enabled_and_the_plan_says_why)
{
	fixture f;
	fixture_open(&f);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(test_plan(f.ctx, &plan, &err, (const char *[]){"01:00.0,backend=legacy,access=fd", NULL}) == 0,
		      "%s", err.message);
	const vfg_step *step = test_step(plan, "apparmor", "/dev/vfio/7");
	ck_assert_int_eq(step->action, VFG_ACTION_NONE);
	ck_assert_msg(strstr(step->reason, "AppArmor not enabled") && strstr(step->reason, "aa_file_perm()"), "%s",
		      step->reason);
	ck_assert_ptr_nonnull(strstr(vfg_plan_labeler_probe(plan, step->labeler)->note, "nothing loaded"));
	vfg_change_summary summary;
	ck_assert_msg(vfg_plan_apply(f.ctx, plan, &summary, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(summary.changed, 0);
	vfg_plan_free(plan);
	expect_file(f.root, "/etc/apparmor.d/vfguard/vfguard-vm1", NULL);
	fixture_close(&f);
}
END_TEST

/*
 * vm1 held two groups by path; one moves to fd access. Its rules are taken
 * back out of order (the container and group 7 were granted first), the
 * other group's stay, and the last revoke gives the admin's file back.
 */
START_TEST(a_node_moved_to_fd_access_loses_its_rule_and_only_its_rule)
{
	fixture f;
	fixture_open(&f);
	make_original(f.root, 1);
	char *before = policy_snapshot(f.root);
	domain_apply_ok(&f, "vm1", UUID1, (const char *[]){"01:00.0,backend=legacy", "02:00.0,backend=legacy", NULL},
			NULL);
	vfg_change_summary summary;
	domain_apply_ok(&f, "vm1", UUID1,
			(const char *[]){"01:00.0,backend=legacy,access=fd", "02:00.0,backend=legacy", NULL}, &summary);
	ck_assert_uint_eq(summary.revoked, 1);
	expect_file(f.root, RULES1,
		    "# vfguard begin: device nodes of domain vm1\n"
		    "\"/dev/vfio/vfio\" rw,\n"
		    "\"/dev/vfio/8\" rw,\n"
		    "# vfguard end\n"
		    "# kept by the admin\n/srv/images/vm1.qcow2 rwk,\n  # no final newline");
	domain_revoke_ok(&f, "vm1");
	expect_policy_unchanged(f.root, before, "revoke after the move to fd access");
	free(before);
	fixture_close(&f);
}
END_TEST

/* crashes */

static void cli_ok(const char *const *argv, const char *what)
{
	test_run run;
	test_cli(&run, argv);
	ck_assert_msg(run.status == 0, "%s: exit %d: %s", what, run.status, run.err);
	test_run_free(&run);
}

/*
 * Kill an apply at every journal point in turn (the original over the undo
 * limit, so the saved copy is in play too); restore gives either the
 * original file or the whole apply, and restore --all the original.
 */
START_TEST(a_kill_at_every_journal_point_of_an_apply_is_restored)
{
	fixture f;
	fixture_open(&f);
	make_original(f.root, _i == 0 ? 1 : 2);
	char *before = policy_snapshot(f.root);
	const char *const apply[] = {"apply",
				     "--root",
				     f.root,
				     "--domain",
				     "vm1",
				     "--uuid",
				     UUID1,
				     "--hostdev",
				     both_backends[0],
				     "--hostdev",
				     both_backends[1],
				     "--hostdev",
				     "03:00.0,backend=legacy",
				     NULL};
	unsigned point = 1;
	for (;; point++) {
		int status = test_cli_killed_at(point, apply);
		if (WIFEXITED(status)) {
			ck_assert_int_eq(WEXITSTATUS(status), 0);
			break;
		}
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "point %u: status %d", point, status);
		char what[64];
		snprintf(what, sizeof(what), "restore after a kill at point %u", point);
		cli_ok((const char *[]){"restore", "--root", f.root, NULL}, what);
		char *content = test_read_file(f.root, RULES1);
		bool whole = content && strstr(content, "\"/dev/vfio/9\" rw,");
		free(content);
		if (!whole)
			expect_policy_unchanged(f.root, before, what);
		cli_ok((const char *[]){"restore", "--all", "--root", f.root, NULL}, what);
		snprintf(what, sizeof(what), "restore --all after a kill at point %u", point);
		expect_policy_unchanged(f.root, before, what);
		ck_assert_int_eq(saved_originals(f.root), 0);
	}
	fprintf(stderr, "crash test (apparmor, 3 hostdevs): %u journal points covered\n", point - 1);
	ck_assert_uint_ge(point - 1, 5 * 3); /* five rules, each with intent, change and done */
	cli_ok((const char *[]){"revoke", "--root", f.root, "--domain", "vm1", NULL}, "revoke");
	expect_policy_unchanged(f.root, before, "the uninterrupted apply, revoked");
	free(before);
	fixture_close(&f);
}
END_TEST

/* audit */

static test_run audit(const fixture *f, const char *hostdev)
{
	test_run run;
	test_cli(&run, (const char *[]){"audit", "--root", f->root, "--domain", "vm1", "--uuid", UUID1, "--hostdev",
					hostdev, NULL});
	return run;
}

/*
 * Rules written before libvirt's AppArmor driver made the domain's profile
 * (a domain held them, then the profile file appeared): the labeler is
 * inactive now, and audit reports the held grants, with the probe's note
 * saying why; a trial found its fix telling to "see why the layer is not
 * enforced", which libvirt enforces. Revoke takes the rules back all the
 * same.
 */
START_TEST(audit_of_rules_held_when_libvirts_profile_appeared_says_why_the_labeler_is_inactive)
{
	fixture f;
	fixture_open(&f);
	char *before = policy_snapshot(f.root);
	const char *hostdev = "01:00.0,backend=legacy";
	domain_apply_ok(&f, "vm1", UUID1, (const char *[]){hostdev, NULL}, NULL);
	write_libvirt_profile(f.root, false);
	test_run run = audit(&f, hostdev);
	ck_assert_msg(run.status == 3 && strstr(run.out, "the labeler active, as when the domain's 2 grants") &&
			      strstr(run.out, "is libvirt's AppArmor driver's") &&
			      strstr(run.out, "the labeler's note says why it is not active now"),
		      "exit %d: %s%s", run.status, run.out, run.err);
	test_run_free(&run);
	domain_revoke_ok(&f, "vm1");
	ck_assert_int_eq(unlink(test_path(f.root, "/etc/apparmor.d/libvirt/" PROFILE1)), 0);
	ck_assert_int_eq(rmdir(test_path(f.root, "/etc/apparmor.d/libvirt")), 0);
	expect_policy_unchanged(f.root, before, "apply, libvirt's profile made, revoke");
	free(before);
	fixture_close(&f);
}
END_TEST

START_TEST(audit_reports_a_rule_gone_from_the_file_and_one_the_journal_does_not_hold)
{
	fixture f;
	fixture_open(&f);
	const char *hostdev = "01:00.0,backend=legacy";
	test_run run = audit(&f, hostdev);
	ck_assert_msg(run.status == 3 && strstr(run.out, "missing") && strstr(run.out, "\"/dev/vfio/7\" rw,"),
		      "exit %d: %s%s", run.status, run.out, run.err);
	test_run_free(&run);

	domain_apply_ok(&f, "vm1", UUID1, (const char *[]){hostdev, NULL}, NULL);
	run = audit(&f, hostdev);
	ck_assert_msg(run.status == 0 && strstr(run.out, "no drift"), "exit %d: %s%s", run.status, run.out, run.err);
	test_run_free(&run);

	/* someone takes the group's line out */
	test_write_file(f.root, RULES1,
			"# vfguard begin: device nodes of domain vm1\n\"/dev/vfio/vfio\" rw,\n"
			"# vfguard end: no file before\n");
	run = audit(&f, hostdev);
	ck_assert_msg(run.status == 3 && strstr(run.out, "drift") && strstr(run.out, "/dev/vfio/7") &&
			      strstr(run.out, "no such rule"),
		      "exit %d: %s%s", run.status, run.out, run.err);
	test_run_free(&run);
	domain_revoke_ok(&f, "vm1");

	/* a rule left by a run whose journal is gone */
	test_write_file(f.root, RULES1,
			"# vfguard begin: device nodes of domain vm1\n\"/dev/vfio/7\" rw,\n"
			"# vfguard end: no file before\n");
	run = audit(&f, "01:00.0,backend=legacy,access=fd");
	ck_assert_msg(run.status == 3 && strstr(run.out, "which the journal does not hold"), "exit %d: %s%s",
		      run.status, run.out, run.err);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

/* a journal of format 1 */

/*
 * A journal written by the last release of format 1, its one record's
 * original inline (0) or, too large for that, saved aside as that release
 * did under STATE/apparmor/DOMAIN.HASH.original, HASH the 64-bit FNV-1a of
 * its bytes (1): revoke puts the original back byte for byte, and the saved
 * copy goes with its directory.
 */
START_TEST(a_format_1_journal_with_its_original_inline_or_saved_aside_revokes_to_it)
{
	fixture f;
	fixture_open(&f);
	static const char section[] = "# vfguard begin: device nodes of domain vm1\n\"/dev/vfio/9\" rw,\n"
				      "# vfguard end\n";
	static const char admin[] = "# kept by the admin\n/srv/images/vm1.qcow2 rwk,\n";
	unsigned char original[6000];
	size_t size = sizeof(admin) - 1;
	char undo[VFG_UNDO_MAX + 1];
	if (_i == 0) {
		memcpy(original, admin, size);
		snprintf(undo, sizeof(undo),
			 "rule=new original=text:#%%20kept%%20by%%20the%%20admin%%0a/srv/images/"
			 "vm1.qcow2%%20rwk,%%0a");
	} else {
		size = sizeof(original);
		uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a, 64-bit, as that release named the copy */
		for (size_t i = 0; i < size; i++) {
			original[i] = (unsigned char)(i * 7 + i / 256);
			hash = (hash ^ original[i]) * 0x100000001b3ull;
		}
		snprintf(undo, sizeof(undo), "rule=new original=saved:%016llx:%zu", (unsigned long long)hash, size);
		char copy[128];
		snprintf(copy, sizeof(copy), "/run/vfguard/apparmor/vm1.%016llx.original", (unsigned long long)hash);
		test_write_file(f.root, copy, "");
		int fd = open(test_path(f.root, copy), O_WRONLY | O_TRUNC);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, original, size), (ssize_t)size);
		ck_assert_int_eq(fchmod(fd, 0600), 0);
		close(fd);
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s", test_path(f.root, RULES1));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, original, size), (ssize_t)size);
	close(fd);
	char *before = policy_snapshot(f.root);

	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, section, sizeof(section) - 1), (ssize_t)sizeof(section) - 1);
	ck_assert_int_eq(write(fd, original, size), (ssize_t)size);
	close(fd);
	char field[3 * sizeof(undo)], journal[4 * sizeof(undo)];
	test_journal_field(undo, field, sizeof(field));
	snprintf(journal, sizeof(journal),
		 "vfguard-journal 1\nbegin 1 apply\ndomain vm1 %s 107 107 - - - - 0 0 0 0\n"
		 "intent 1 1 apparmor group /dev/vfio/9 243:2 0 %s\ndone 1 1\ncommit 1\n",
		 UUID1, field);
	test_write_file(f.root, "/run/vfguard/domains/vm1.journal", journal);
	ck_assert_int_eq(chmod(test_path(f.root, "/run/vfguard/domains/vm1.journal"), 0600), 0);

	domain_revoke_ok(&f, "vm1");
	expect_policy_unchanged(f.root, before, "revoke of a format 1 journal");
	struct stat st;
	ck_assert_msg(stat(test_path(f.root, "/run/vfguard/apparmor"), &st) < 0 && errno == ENOENT,
		      "the saved copies' directory is still there");
	ck_assert_int_eq(saved_originals(f.root), 0);
	free(before);
	fixture_close(&f);
}
END_TEST

static Suite *apparmor_suite(void)
{
	Suite *s = suite_create("apparmor");
	TCase *tc = tcase_create("rules file");
	tcase_add_test(tc, path_access_writes_one_exact_rule_per_node_in_the_domains_own_file);
	tcase_add_test(tc, a_given_profile_names_the_file_and_without_uuid_or_profile_vfguard_NAME_does);
	tcase_add_test(tc, every_file_vfguard_writes_compiles_inside_the_sample_profile);
	tcase_add_test(tc, a_profile_whose_file_holds_another_domains_rules_is_refused);
	tcase_add_test(tc, a_section_without_its_end_line_is_refused_and_left_alone);
	tcase_add_test(tc, a_domain_name_with_spaces_owns_its_section_whole);
	tcase_add_test(tc, an_add_under_another_uuid_or_profile_is_refused_naming_the_one_held);
	tcase_add_loop_test(tc, a_profile_libvirts_apparmor_driver_made_gets_no_rules_file, 0, 2);
	tcase_add_loop_test(tc, the_rules_file_a_profile_includes_is_the_configured_one, 0,
			    (int)(sizeof(included_rules) / sizeof(included_rules[0])));
	tcase_add_loop_test(tc, a_profile_file_that_cannot_be_read_stops_no_command, 0,
			    (int)(sizeof(odd_profiles) / sizeof(odd_profiles[0])));
	tcase_add_test(tc, a_killed_writer_s_temporary_goes_with_the_revoke_that_finds_no_rules_file);
	tcase_add_test(tc, a_killed_writer_s_temporary_goes_with_the_revoke_beside_the_admins_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("round trip");
	tcase_add_loop_test(tc, apply_then_revoke_restores_the_rules_file_byte_for_byte, 0, 3);
	tcase_add_test(tc, apply_twice_changes_nothing_and_one_revoke_restores);
	tcase_add_test(tc, two_domains_keep_separate_files_and_revoke_touches_only_their_own);
	tcase_add_loop_test(tc, a_kill_at_every_journal_point_of_an_apply_is_restored, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("fd access");
	tcase_add_test(tc, fd_access_needs_no_rule_while_apparmor_is_not_enabled_and_the_plan_says_why);
	tcase_add_test(tc, a_node_moved_to_fd_access_loses_its_rule_and_only_its_rule);
	suite_add_tcase(s, tc);

	tc = tcase_create("audit");
	tcase_add_test(tc, audit_reports_a_rule_gone_from_the_file_and_one_the_journal_does_not_hold);
	tcase_add_test(tc, audit_of_rules_held_when_libvirts_profile_appeared_says_why_the_labeler_is_inactive);
	suite_add_tcase(s, tc);

	tc = tcase_create("upgrade");
	tcase_add_loop_test(tc, a_format_1_journal_with_its_original_inline_or_saved_aside_revokes_to_it, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(apparmor_suite());
}
