/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SELinux labeler for real: generated trees with mknod'ed nodes and real
 * security.selinux xattrs (this kernel has no SELinux loaded, so the file
 * systems store the bytes as given; selinux = force makes the labeler act),
 * the journal with the labeler's side state (its labels and MCS pairs), and the policy checks
 * against Debian's refpolicy binary (selinux-policy-default) through libsepol.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <selinux/selinux.h>
#include <sepol/sepol.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
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

#define CONTAINER "/dev/vfio/vfio"
#define IOMMU "/dev/iommu"
#define GROUP7 "/dev/vfio/7"
#define GROUP8 "/dev/vfio/8"
#define CDEV1 "/dev/vfio/devices/vfio1"

/* Debian's refpolicy binary, from selinux-policy-default (scripts/install-deps). */
#define REFPOLICY "/etc/selinux/default/policy/policy.33"

/* The journals, in the default state_dir, which the round-trip snapshots leave out (TEST_SNAPSHOT_NO_STATE). */
#define JOURNALS "/run/vfguard/domains"

#define UNCHANGED (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

static const char shared_label[] = "system_u:object_r:vfio_device_t:s0";

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
} fixture;

static vfg_context *context_with(const char *root, const char *const *overrides)
{
	vfg_error err = {0};
	vfg_context_options options = {.root = root, .overrides = overrides};
	vfg_context *ctx = vfg_context_new(&options, &err);
	ck_assert_msg(ctx != NULL, "context: %s", err.message);
	return ctx;
}

static void fixture_open_manifest(fixture *f, const char *manifest)
{
	f->root = test_root_new(manifest);
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", "labelers = selinux\nselinux = force\n");
	f->ctx = test_context(f->root);
}

static void fixture_open(fixture *f)
{
	fixture_open_manifest(f, host);
}

static void fixture_close(fixture *f)
{
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
}

static int domain_apply_in(vfg_context *ctx, const char *name, const char *label, const char *const *hostdevs,
			   vfg_change_summary *summary, vfg_error *err)
{
	vfg_hostdev_spec specs[4];
	size_t n = 0;
	for (; hostdevs[n]; n++) {
		ck_assert_uint_lt(n, 4);
		ck_assert_msg(vfg_hostdev_spec_parse(ctx, hostdevs[n], &specs[n], err) == 0, "%s", err->message);
	}
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = n, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "%s", name);
	if (label)
		test_domain_attr(&domain, "selinux.label", "%s", label);
	vfg_plan *plan = NULL;
	int r = vfg_plan_build(ctx, &domain, &plan, err);
	if (r == 0)
		r = vfg_plan_apply(ctx, plan, summary, err);
	vfg_plan_free(plan);
	return r;
}

static void domain_apply_ok(fixture *f, const char *name, const char *label, const char *const *hostdevs)
{
	vfg_error err = {0};
	ck_assert_msg(domain_apply_in(f->ctx, name, label, hostdevs, NULL, &err) == 0, "apply %s: %s", name,
		      err.message);
}

static void domain_revoke_ok(fixture *f, const char *name)
{
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_domain_revoke(f->ctx, name, &summary, &err) == 0, "revoke %s: %s", name, err.message);
}

/* The node's label as text, without the closing NUL; "" when it has none. */
static const char *label_of(const char *root, const char *logical)
{
	static char buf[512];
	ssize_t n = lgetxattr(test_path(root, logical), "security.selinux", buf, sizeof(buf) - 1);
	if (n < 0) {
		ck_assert_msg(errno == ENODATA, "lgetxattr %s: %s", logical, strerror(errno));
		n = 0;
	}
	buf[n] = '\0';
	return buf;
}

static void set_label_bytes(const char *root, const char *logical, const char *bytes, size_t len)
{
	ck_assert_msg(lsetxattr(test_path(root, logical), "security.selinux", bytes, len, 0) == 0, "lsetxattr %s: %s",
		      logical, strerror(errno));
}

static void expect_label(const char *root, const char *logical, const char *expected)
{
	ck_assert_msg(strcmp(label_of(root, logical), expected) == 0, "%s: label '%s', expected '%s'", logical,
		      label_of(root, logical), expected);
}

/* The MCS range ("s0:c1,c2") of a context. */
static const char *range_of(const char *label)
{
	const char *colon = label;
	for (int i = 0; i < 3 && colon; i++)
		colon = strchr(colon, ':') ? strchr(colon, ':') + 1 : NULL;
	ck_assert_msg(colon != NULL, "'%s' has no range", label);
	return colon;
}

/* A journal field as written (docs/journal.md): "-" is empty, %XX a byte. */
static void field_decode(const char *field, char *buf, size_t size)
{
	size_t used = 0;
	for (const char *c = strcmp(field, "-") == 0 ? "" : field; *c && used + 1 < size; c++) {
		unsigned byte;
		if (*c == '%' && sscanf(c + 1, "%2x", &byte) == 1) {
			buf[used++] = (char)byte;
			c += 2;
		} else {
			buf[used++] = *c;
		}
	}
	buf[used] = '\0';
}

/*
 * The selinux labeler's side state entry @key of domain @name, as its
 * journal's state and unstate lines leave it; NULL when it has none.
 */
static const char *selinux_state(const char *root, const char *name, const char *key)
{
	static char value[4096];
	char logical[256];
	snprintf(logical, sizeof(logical), JOURNALS "/%s.journal", name);
	char *journal = test_read_file(root, logical);
	bool found = false;
	char *line_end = NULL;
	for (char *line = journal ? strtok_r(journal, "\n", &line_end) : NULL; line;
	     line = strtok_r(NULL, "\n", &line_end)) {
		char verb[16], labeler[64], field_key[2048], field_value[4096] = "-", decoded[2048];
		int n = sscanf(line, "%15s %*u %63s %2047s %4095s", verb, labeler, field_key, field_value);
		bool set = strcmp(verb, "state") == 0 && n == 4, unset = strcmp(verb, "unstate") == 0 && n >= 3;
		field_decode(field_key, decoded, sizeof(decoded));
		if ((!set && !unset) || strcmp(labeler, "selinux") != 0 || strcmp(decoded, key) != 0)
			continue;
		found = set;
		if (set)
			field_decode(field_value, value, sizeof(value));
	}
	free(journal);
	return found ? value : NULL;
}

/* How many domains hold labels of the selinux labeler in their journal. */
static size_t records_count(const char *root)
{
	DIR *d = opendir(test_path(root, JOURNALS));
	if (!d) {
		/* none made yet, or all gone: any other failure is no count */
		ck_assert_msg(errno == ENOENT, "%s: %s", JOURNALS, strerror(errno));
		return 0;
	}
	size_t n = 0;
	struct dirent *entry;
	while ((entry = readdir(d))) {
		char name[256];
		size_t length = strlen(entry->d_name);
		if (length <= 8 || strcmp(entry->d_name + length - 8, ".journal") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(length - 8), entry->d_name);
		n += selinux_state(root, name, "labels") != NULL;
	}
	closedir(d);
	return n;
}

/* round trip */

/*
 * Labels as a host may have them: with libselinux's closing NUL, without it,
 * bytes no context has, and none at all.
 */
static void label_the_host(const char *root)
{
	static const char with_nul[] = "system_u:object_r:vfio_device_t:s0";
	static const char odd[] = {'u', ':', 'r', ':', 't', ':', 's', '0', '\x01', '%'};
	set_label_bytes(root, CONTAINER, with_nul, sizeof(with_nul));
	set_label_bytes(root, IOMMU, "system_u:object_r:device_t:s0", 29); /* no NUL */
	set_label_bytes(root, GROUP7, odd, sizeof(odd));
	/* CDEV1: no label at all */
}

static const char *const both_backends[] = {"01:00.0,backend=legacy", "02:00.0,backend=iommufd", NULL};

START_TEST(apply_then_revoke_restores_every_label_byte_for_byte)
{
	fixture f;
	fixture_open(&f);
	label_the_host(f.root);
	char *original = test_snapshot(f.root, UNCHANGED);

	bool cli = _i == 1;
	if (cli) {
		test_run run;
		test_cli(&run, (const char *[]){"apply", "--root", f.root, "--domain", "vm1", "--hostdev",
						both_backends[0], "--hostdev", both_backends[1], NULL});
		ck_assert_msg(run.status == 0, "apply exit %d: %s", run.status, run.err);
		ck_assert_msg(strstr(run.out, "4 changes made"), "%s", run.out);
		test_run_free(&run);
	} else {
		domain_apply_ok(&f, "vm1", NULL, both_backends);
	}

	expect_label(f.root, CONTAINER, shared_label);
	expect_label(f.root, IOMMU, shared_label);
	/* both exclusive nodes carry the one image label of the domain, with its allocated pair */
	char image[256];
	snprintf(image, sizeof(image), "%s", label_of(f.root, GROUP7));
	ck_assert_msg(strncmp(image, "system_u:object_r:svirt_image_t:s0:c", 36) == 0, "group label %s", image);
	expect_label(f.root, CDEV1, image);
	const char *labels = selinux_state(f.root, "vm1", "labels");
	ck_assert_ptr_nonnull(labels);
	ck_assert_msg(strncmp(labels, "allocated ", 10) == 0 && strstr(labels, range_of(image)), "labels: %s", labels);
	char pair[64];
	snprintf(pair, sizeof(pair), "mcs:%s", range_of(image));
	ck_assert_pstr_eq(selinux_state(f.root, "vm1", pair), "vm1");

	if (cli) {
		test_run run;
		test_cli(&run, (const char *[]){"revoke", "--root", f.root, "--domain", "vm1", NULL});
		ck_assert_msg(run.status == 0, "revoke exit %d: %s", run.status, run.err);
		test_run_free(&run);
	} else {
		domain_revoke_ok(&f, "vm1");
	}
	test_snapshot_expect(f.root, UNCHANGED, original, "apply then revoke");
	ck_assert_uint_eq(records_count(f.root), 0);
	free(original);
	fixture_close(&f);
}
END_TEST

/* The crash test's state, for test_kill_at_each_point()'s callbacks. */
typedef struct selinux_crash {
	fixture *f;
	const char *original;
} selinux_crash;

static int selinux_crash_apply(void *data)
{
	selinux_crash *c = data;
	vfg_error err = {0};
	return domain_apply_in(c->f->ctx, "vm1", NULL, both_backends, NULL, &err);
}

/* Restore finishes the killed apply; a kill after the commit leaves a finished apply, which revoke undoes. */
static void selinux_crash_restore(unsigned point, void *data)
{
	selinux_crash *c = data;
	test_restore_ok(c->f->ctx, point);
	domain_revoke_ok(c->f, "vm1");
	char what[64];
	snprintf(what, sizeof(what), "restore after a kill at point %u", point);
	test_snapshot_expect(c->f->root, UNCHANGED, c->original, what);
	ck_assert_msg(records_count(c->f->root) == 0, "an MCS record outlived the restore after point %u", point);
}

START_TEST(restore_after_a_kill_at_any_journal_point_puts_the_labels_back)
{
	fixture f;
	fixture_open(&f);
	label_the_host(f.root);
	char *original = test_snapshot(f.root, UNCHANGED);

	selinux_crash crash = {.f = &f, .original = original};
	unsigned points = test_kill_at_each_point(selinux_crash_apply, selinux_crash_restore, &crash);
	ck_assert_msg(points >= 12, "only %u journal points", points);
	domain_revoke_ok(&f, "vm1");
	test_snapshot_expect(f.root, UNCHANGED, original, "the uninterrupted apply, revoked");
	free(original);
	fixture_close(&f);
}
END_TEST

/* labels given and allocated */

/* Revoke finds the group node gone and the cdev replaced by another device: both noted, neither touched. */
START_TEST(revoke_leaves_a_node_that_is_gone_or_replaced_and_says_so)
{
	fixture f;
	fixture_open(&f);
	label_the_host(f.root);
	domain_apply_ok(&f, "vm1", NULL, both_backends);
	ck_assert_int_eq(unlink(test_path(f.root, GROUP7)), 0);
	ck_assert_int_eq(unlink(test_path(f.root, CDEV1)), 0);
	ck_assert_int_eq(mknod(test_path(f.root, CDEV1), S_IFCHR | 0600, makedev(1, 5)), 0);
	static const char other[] = "system_u:object_r:zero_device_t:s0";
	ck_assert_int_eq(lsetxattr(test_path(f.root, CDEV1), "security.selinux", other, sizeof(other), 0), 0);

	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_domain_revoke(f.ctx, "vm1", &summary, &err) == 0, "revoke: %s", err.message);
	ck_assert_msg(strstr(summary.notes, GROUP7 ": gone; nothing to restore"), "notes: %s", summary.notes);
	ck_assert_msg(strstr(summary.notes, CDEV1) &&
			      strstr(summary.notes, "it is not the node vfguard changed, left alone"),
		      "notes: %s", summary.notes);
	expect_label(f.root, CDEV1, other);
	fixture_close(&f);
}
END_TEST

START_TEST(a_given_process_label_gives_the_image_label_with_its_categories)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "vm1", "system_u:system_r:svirt_t:s0:c1,c2", (const char *[]){both_backends[0], NULL});
	expect_label(f.root, GROUP7, "system_u:object_r:svirt_image_t:s0:c1,c2");
	expect_label(f.root, CONTAINER, shared_label);
	const char *labels = selinux_state(f.root, "vm1", "labels");
	ck_assert_msg(labels && strncmp(labels, "given ", 6) == 0, "labels: %s", labels);
	domain_revoke_ok(&f, "vm1");
	ck_assert_uint_eq(records_count(f.root), 0);
	fixture_close(&f);
}
END_TEST

START_TEST(a_given_label_with_another_live_domains_categories_is_refused_and_changes_nothing)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "vm1", "system_u:system_r:svirt_t:s0:c1,c2", (const char *[]){both_backends[0], NULL});
	char *before = test_snapshot(f.root, UNCHANGED);
	vfg_error err = {0};
	ck_assert_int_eq(domain_apply_in(f.ctx, "vm2", "system_u:system_r:svirt_t:s0:c1,c2",
					 (const char *[]){"03:00.0,backend=legacy", NULL}, NULL, &err),
			 -1);
	ck_assert_msg(strstr(err.message, "s0:c1,c2") && strstr(err.message, "vm1"), "%s", err.message);
	expect_label(f.root, "/dev/vfio/9", "");
	test_snapshot_expect(f.root, UNCHANGED, before, "the refused apply");
	free(before);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

/* 64 groups, one device each, for as many domains. */
static char *host_with_groups(unsigned n)
{
	char *manifest = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&manifest, &size);
	ck_assert_ptr_nonnull(out);
	fprintf(out, "misc vfio 234:196\nmisc iommu 234:257\n");
	for (unsigned i = 0; i < n; i++)
		fprintf(out,
			"group %u 243:%u\ndevice 0000:%02x:00.0 group=%u vendor=8086 device=10d3 class=020000 "
			"driver=vfio-pci cdev=vfio%u:511:%u\n",
			i + 1, i + 1, i + 1, i + 1, i, i);
	ck_assert_int_eq(fclose(out), 0);
	return manifest;
}

#define CONCURRENT 64
#define TWELVE_CATEGORIES "selinux_mcs_categories=c100.c111"

START_TEST(sixty_four_domains_allocated_concurrently_get_sixty_four_distinct_pairs)
{
	fixture f;
	char *manifest = host_with_groups(CONCURRENT);
	fixture_open_manifest(&f, manifest);
	free(manifest);

	/*
	 * The pairs are side state in the domains' journals: only the host
	 * lock keeps two allocations from picking one pair. Twelve categories
	 * make 66 pairs, so 64 domains leave almost none free and a race would
	 * show.
	 */
	pid_t children[CONCURRENT];
	for (unsigned i = 0; i < CONCURRENT; i++) {
		children[i] = fork();
		ck_assert_int_ge(children[i], 0);
		if (children[i] == 0) {
			char name[16], hostdev[48];
			snprintf(name, sizeof(name), "vm%u", i);
			snprintf(hostdev, sizeof(hostdev), "0000:%02x:00.0,backend=legacy", i + 1);
			vfg_context *ctx = context_with(f.root, (const char *[]){TWELVE_CATEGORIES, NULL});
			vfg_error err = {0};
			int r = domain_apply_in(ctx, name, NULL, (const char *[]){hostdev, NULL}, NULL, &err);
			if (r < 0)
				fprintf(stderr, "%s: %s\n", name, err.message);
			_exit(r == 0 ? 0 : 1);
		}
	}
	for (unsigned i = 0; i < CONCURRENT; i++) {
		int status;
		ck_assert_int_eq(waitpid(children[i], &status, 0), children[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "apply of vm%u failed", i);
	}

	char ranges[CONCURRENT][64];
	for (unsigned i = 0; i < CONCURRENT; i++) {
		char group[32];
		snprintf(group, sizeof(group), "/dev/vfio/%u", i + 1);
		const char *label = label_of(f.root, group);
		ck_assert_msg(strncmp(label, "system_u:object_r:svirt_image_t:s0:c1", 37) == 0, "%s: %s", group, label);
		snprintf(ranges[i], sizeof(ranges[i]), "%s", range_of(label));
		for (unsigned j = 0; j < i; j++)
			ck_assert_msg(strcmp(ranges[i], ranges[j]) != 0, "vm%u and vm%u share %s", j, i, ranges[i]);
	}
	ck_assert_uint_eq(records_count(f.root), CONCURRENT);

	for (unsigned i = 0; i < CONCURRENT; i++) {
		char name[16];
		snprintf(name, sizeof(name), "vm%u", i);
		domain_revoke_ok(&f, name);
	}
	ck_assert_uint_eq(records_count(f.root), 0);
	fixture_close(&f);
}
END_TEST

/* shared nodes */

static const struct {
	const char *name;
	const char *hostdev;
} sharers[] = {
	{"a", "01:00.0,backend=legacy"},
	{"b", "02:00.0,backend=legacy"},
	{"c", "03:00.0,backend=legacy"},
};

START_TEST(when_every_pair_is_held_the_next_domain_is_refused_and_nothing_changes)
{
	fixture f;
	fixture_open(&f);
	vfg_context *one_pair = context_with(f.root, (const char *[]){"selinux_mcs_categories=c7.c8", NULL});
	vfg_error err = {0};
	ck_assert_msg(domain_apply_in(one_pair, "a", NULL, (const char *[]){sharers[0].hostdev, NULL}, NULL, &err) == 0,
		      "%s", err.message);
	expect_label(f.root, GROUP7, "system_u:object_r:svirt_image_t:s0:c7,c8");
	char *before = test_snapshot(f.root, UNCHANGED);
	ck_assert_int_eq(domain_apply_in(one_pair, "b", NULL, (const char *[]){sharers[1].hostdev, NULL}, NULL, &err),
			 -1);
	ck_assert_msg(strstr(err.message, "selinux_mcs_categories"), "%s", err.message);
	test_snapshot_expect(f.root, UNCHANGED, before, "the refused apply");
	free(before);
	ck_assert_msg(vfg_domain_revoke(one_pair, "a", NULL, &err) == 0, "%s", err.message);
	/* released: the pair is free again */
	ck_assert_msg(domain_apply_in(one_pair, "b", NULL, (const char *[]){sharers[1].hostdev, NULL}, NULL, &err) == 0,
		      "%s", err.message);
	expect_label(f.root, GROUP8, "system_u:object_r:svirt_image_t:s0:c7,c8");
	ck_assert_msg(vfg_domain_revoke(one_pair, "b", NULL, &err) == 0, "%s", err.message);
	vfg_context_free(one_pair);
	fixture_close(&f);
}
END_TEST

static const char revoke_orders[][4] = {"abc", "acb", "bac", "bca", "cab", "cba"};

START_TEST(shared_container_label_is_counted_across_domains_and_the_last_revoke_restores_it)
{
	fixture f;
	fixture_open(&f);
	static const char original_label[] = "system_u:object_r:device_t:s0";
	set_label_bytes(f.root, CONTAINER, original_label, sizeof(original_label));
	char *original = test_snapshot(f.root, UNCHANGED);
	for (size_t i = 0; i < 3; i++)
		domain_apply_ok(&f, sharers[i].name, NULL, (const char *[]){sharers[i].hostdev, NULL});
	expect_label(f.root, CONTAINER, shared_label);

	const char *order = revoke_orders[_i];
	for (size_t step = 0; step < 3; step++) {
		size_t who = (size_t)(order[step] - 'a');
		domain_revoke_ok(&f, sharers[who].name);
		/* the group of the revoked domain is back, the container keeps the shared label while anyone holds it
		 */
		char group[32];
		snprintf(group, sizeof(group), "/dev/vfio/%zu", who + 7);
		expect_label(f.root, group, "");
		expect_label(f.root, CONTAINER, step < 2 ? shared_label : original_label);
	}
	char what[64];
	snprintf(what, sizeof(what), "revoking in the order %s", order);
	test_snapshot_expect(f.root, UNCHANGED, original, what);
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(two_domains_never_share_a_pair_and_a_shared_node_never_gets_one)
{
	fixture f;
	fixture_open(&f);
	domain_apply_ok(&f, "a", NULL, (const char *[]){sharers[0].hostdev, NULL});
	domain_apply_ok(&f, "b", NULL, (const char *[]){sharers[1].hostdev, NULL});
	char a[256];
	snprintf(a, sizeof(a), "%s", label_of(f.root, GROUP7));
	ck_assert_str_ne(range_of(a), range_of(label_of(f.root, GROUP8)));
	expect_label(f.root, CONTAINER, shared_label);
	domain_revoke_ok(&f, "a");
	domain_revoke_ok(&f, "b");
	fixture_close(&f);
}
END_TEST

/* probe */

/* This host runs no SELinux (the kernel's LSM list has none); on one that does, auto mode labels. */
START_TEST(without_selinux_auto_mode_plans_nothing_and_says_why)
{
	fixture f;
	fixture_open(&f);
	vfg_context *ctx = context_with(f.root, (const char *[]){"selinux=auto", NULL});
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(test_plan(ctx, &plan, &err, (const char *[]){both_backends[0], NULL}) == 0, "%s", err.message);
	const vfg_step *step = test_step(plan, "selinux", GROUP7);
	if (is_selinux_enabled() > 0) {
		ck_assert_int_eq(step->action, VFG_ACTION_GRANT);
	} else {
		ck_assert_int_eq(step->action, VFG_ACTION_INACTIVE);
		ck_assert_msg(strstr(step->reason, "not enabled"), "%s", step->reason);
	}
	vfg_plan_free(plan);
	vfg_context_free(ctx);
	fixture_close(&f);
}
END_TEST

/* audit against the journal and the policy */

/* Audit domain @name's plan of @hostdevs in a context with @overrides. */
static vfg_audit_report *audit(fixture *f, const char *const *overrides, const char *label, const char *const *hostdevs)
{
	vfg_context *ctx = context_with(f->root, overrides);
	vfg_hostdev_spec specs[4];
	vfg_error err = {0};
	size_t n = 0;
	for (; hostdevs[n]; n++)
		ck_assert_msg(vfg_hostdev_spec_parse(ctx, hostdevs[n], &specs[n], &err) == 0, "%s", err.message);
	vfg_domain domain = {.name = "vm1", .uid = 107, .gid = 107, .n_hostdevs = n, .hostdevs = specs};
	if (label)
		test_domain_attr(&domain, "selinux.label", "%s", label);
	vfg_plan *plan = NULL;
	ck_assert_msg(vfg_plan_build(ctx, &domain, &plan, &err) == 0, "%s", err.message);
	vfg_audit_report *report = NULL;
	ck_assert_msg(vfg_plan_audit(ctx, plan, &report, &err) == 0, "%s", err.message);
	vfg_plan_free(plan);
	vfg_context_free(ctx);
	return report;
}

/* The findings of @kind about @path whose fields contain @needle ("" for any); printed when @show. */
static size_t findings(const vfg_audit_report *report, vfg_finding_kind kind, const char *path, const char *needle)
{
	size_t n = 0;
	for (size_t i = 0; i < report->n_findings; i++) {
		const vfg_audit_finding *f = &report->findings[i];
		if (f->kind != kind || strcmp(f->path, path) != 0)
			continue;
		if (strstr(f->expected, needle) || strstr(f->actual, needle) || strstr(f->fix, needle))
			n++;
	}
	return n;
}

static char *report_text(const vfg_audit_report *report)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	vfg_audit_write_text(report, out);
	fclose(out);
	return text;
}

/* Debian's refpolicy with one boolean set, written by libsepol into @path. */
static void policy_with_boolean(const char *path, const char *name, int value)
{
	sepol_handle_t *handle = sepol_handle_create();
	sepol_policydb_t *policy;
	sepol_policy_file_t *file;
	ck_assert_int_eq(sepol_policydb_create(&policy), 0);
	ck_assert_int_eq(sepol_policy_file_create(&file), 0);
	FILE *in = fopen(REFPOLICY, "r");
	ck_assert_msg(in != NULL, "%s: %s (selinux-policy-default)", REFPOLICY, strerror(errno));
	sepol_policy_file_set_fp(file, in);
	ck_assert_int_eq(sepol_policydb_read(policy, file), 0);
	fclose(in);

	sepol_bool_key_t *key;
	sepol_bool_t *boolean;
	ck_assert_int_eq(sepol_bool_key_create(handle, name, &key), 0);
	ck_assert_int_eq(sepol_bool_create(handle, &boolean), 0);
	ck_assert_int_eq(sepol_bool_set_name(handle, boolean, name), 0);
	sepol_bool_set_value(boolean, value);
	int exists = 0;
	ck_assert_int_eq(sepol_bool_exists(handle, policy, key, &exists), 0);
	ck_assert_msg(exists, "no boolean %s in %s", name, REFPOLICY);
	ck_assert_int_eq(sepol_bool_set(handle, policy, key, boolean), 0);

	FILE *out = fopen(path, "w");
	ck_assert_ptr_nonnull(out);
	sepol_policy_file_set_fp(file, out);
	ck_assert_int_eq(sepol_policydb_write(policy, file), 0);
	ck_assert_int_eq(fclose(out), 0);
	sepol_bool_free(boolean);
	sepol_bool_key_free(key);
	sepol_policy_file_free(file);
	sepol_policydb_free(policy);
	sepol_handle_destroy(handle);
}

static const char *const svirt_c1_c2 = "system_u:system_r:svirt_t:s0:c1,c2";

START_TEST(refpolicy_allows_svirt_t_the_shared_vfio_node_only_with_virt_use_vfio)
{
	fixture f;
	fixture_open(&f);
	const char *const legacy[] = {"01:00.0,backend=legacy", NULL};
	domain_apply_ok(&f, "vm1", svirt_c1_c2, legacy);

	/* virt_use_vfio off, as Debian ships it: each permission the hypervisor's open and ioctls need is missing */
	vfg_audit_report *report = audit(&f, (const char *[]){"selinux_policy=" REFPOLICY, NULL}, svirt_c1_c2, legacy);
	char *text = report_text(report);
	const char *needed[] = {"may open ", "may read ", "may write ", "may ioctl "};
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(findings(report, VFG_FINDING_POLICY, CONTAINER, needed[i]) == 1, "%s\n%s", needed[i],
			      text);
	ck_assert_msg(findings(report, VFG_FINDING_POLICY, CONTAINER, "setsebool -P virt_use_vfio on") == 4, "%s",
		      text);
	/* the exclusive node's image label is allowed already, its categories being the domain's own */
	ck_assert_msg(findings(report, VFG_FINDING_POLICY, GROUP7, "") == 0, "%s", text);
	ck_assert_msg(report->n_findings == 4, "%s", text);
	free(text);
	vfg_audit_report_free(report);

	/* the same policy with virt_use_vfio on: nothing to report at all */
	char on[256];
	snprintf(on, sizeof(on), "%s/policy-virt_use_vfio-on", f.root);
	policy_with_boolean(on, "virt_use_vfio", 1);
	char setting[300];
	snprintf(setting, sizeof(setting), "selinux_policy=%s", on);
	report = audit(&f, (const char *[]){setting, NULL}, svirt_c1_c2, legacy);
	text = report_text(report);
	ck_assert_msg(report->n_findings == 0, "%s", text);
	free(text);
	vfg_audit_report_free(report);

	/* and written back off, the finding is back: the boolean alone decides */
	char off[256];
	snprintf(off, sizeof(off), "%s/policy-virt_use_vfio-off", f.root);
	policy_with_boolean(off, "virt_use_vfio", 0);
	snprintf(setting, sizeof(setting), "selinux_policy=%s", off);
	report = audit(&f, (const char *[]){setting, NULL}, svirt_c1_c2, legacy);
	ck_assert_uint_eq(findings(report, VFG_FINDING_POLICY, CONTAINER, "virt_use_vfio"), 4);
	vfg_audit_report_free(report);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(fd_use_from_a_manager_the_policy_does_not_trust_is_reported_with_its_allow_rule)
{
	fixture f;
	fixture_open(&f);
	const char *const by_fd[] = {"01:00.0,backend=legacy,access=fd", NULL};
	domain_apply_ok(&f, "vm1", svirt_c1_c2, by_fd);
	vfg_audit_report *report =
		audit(&f,
		      (const char *[]){"selinux_policy=" REFPOLICY,
				       "selinux_manager_label=system_u:system_r:unconfined_t:s0-s0:c0.c1023", NULL},
		      svirt_c1_c2, by_fd);
	char *text = report_text(report);
	ck_assert_msg(findings(report, VFG_FINDING_POLICY, GROUP7, "allow svirt_t unconfined_t:fd use;") == 1, "%s",
		      text);
	/* fd access: no open is needed, so none is reported */
	ck_assert_msg(findings(report, VFG_FINDING_POLICY, CONTAINER, "may open ") == 0, "%s", text);
	free(text);
	vfg_audit_report_free(report);

	/* libvirt's own domain is trusted: refpolicy has allow virt_domain virtd_t:fd use */
	report = audit(&f,
		       (const char *[]){"selinux_policy=" REFPOLICY,
					"selinux_manager_label=system_u:system_r:virtd_t:s0-s0:c0.c1023", NULL},
		       svirt_c1_c2, by_fd);
	text = report_text(report);
	ck_assert_msg(findings(report, VFG_FINDING_POLICY, GROUP7, "fd use") == 0, "%s", text);
	free(text);
	vfg_audit_report_free(report);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

START_TEST(an_image_label_with_other_categories_is_denied_by_the_mcs_constraint)
{
	fixture f;
	fixture_open(&f);
	const char *const legacy[] = {"01:00.0,backend=legacy", NULL};
	vfg_context *ctx = f.ctx;
	vfg_hostdev_spec spec;
	vfg_error err = {0};
	ck_assert_int_eq(vfg_hostdev_spec_parse(ctx, legacy[0], &spec, &err), 0);
	vfg_domain domain = {.name = "vm1", .uid = 107, .gid = 107, .n_hostdevs = 1, .hostdevs = &spec};
	test_domain_attr(&domain, "selinux.label", "%s", svirt_c1_c2);
	test_domain_attr(&domain, "selinux.image_label", "system_u:object_r:svirt_image_t:s0:c3,c4");
	vfg_context *checked = context_with(f.root, (const char *[]){"selinux_policy=" REFPOLICY, NULL});
	vfg_plan *plan = NULL;
	vfg_audit_report *report = NULL;
	ck_assert_msg(vfg_plan_build(checked, &domain, &plan, &err) == 0, "%s", err.message);
	ck_assert_msg(vfg_plan_audit(checked, plan, &report, &err) == 0, "%s", err.message);
	char *text = report_text(report);
	ck_assert_msg(findings(report, VFG_FINDING_POLICY, GROUP7, "constraint") == 4, "%s", text);
	free(text);
	vfg_audit_report_free(report);
	vfg_plan_free(plan);
	vfg_context_free(checked);
	fixture_close(&f);
}
END_TEST

START_TEST(audit_reports_a_label_changed_behind_vfguards_back_and_nothing_when_all_is_granted)
{
	fixture f;
	fixture_open(&f);
	const char *const legacy[] = {"01:00.0,backend=legacy", NULL};
	char on[256], setting[300];
	snprintf(on, sizeof(on), "%s/policy-virt_use_vfio-on", f.root);
	policy_with_boolean(on, "virt_use_vfio", 1);
	snprintf(setting, sizeof(setting), "selinux_policy=%s", on);

	/* before apply: both nodes miss their grant */
	vfg_audit_report *report = audit(&f, (const char *[]){setting, NULL}, NULL, legacy);
	ck_assert_uint_eq(findings(report, VFG_FINDING_MISSING, GROUP7, ""), 1);
	ck_assert_uint_eq(findings(report, VFG_FINDING_MISSING, CONTAINER, ""), 1);
	vfg_audit_report_free(report);

	domain_apply_ok(&f, "vm1", NULL, legacy);
	report = audit(&f, (const char *[]){setting, NULL}, NULL, legacy);
	char *text = report_text(report);
	ck_assert_msg(report->n_findings == 0, "%s", text);
	free(text);
	vfg_audit_report_free(report);

	static const char other[] = "system_u:object_r:svirt_image_t:s0:c5,c6";
	set_label_bytes(f.root, GROUP7, other, sizeof(other));
	report = audit(&f, (const char *[]){setting, NULL}, NULL, legacy);
	text = report_text(report);
	ck_assert_msg(findings(report, VFG_FINDING_DRIFT, GROUP7, "s0:c5,c6") == 1, "%s", text);
	free(text);
	vfg_audit_report_free(report);
	domain_revoke_ok(&f, "vm1");
	fixture_close(&f);
}
END_TEST

static Suite *selinux_suite(void)
{
	Suite *s = suite_create("selinux");
	TCase *tc = tcase_create("round trip");
	tcase_add_loop_test(tc, apply_then_revoke_restores_every_label_byte_for_byte, 0, 2);
	tcase_add_test(tc, restore_after_a_kill_at_any_journal_point_puts_the_labels_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("labels");
	tcase_add_test(tc, revoke_leaves_a_node_that_is_gone_or_replaced_and_says_so);
	tcase_add_test(tc, a_given_process_label_gives_the_image_label_with_its_categories);
	tcase_add_test(tc, a_given_label_with_another_live_domains_categories_is_refused_and_changes_nothing);
	tcase_add_test(tc, sixty_four_domains_allocated_concurrently_get_sixty_four_distinct_pairs);
	tcase_add_test(tc, two_domains_never_share_a_pair_and_a_shared_node_never_gets_one);
	tcase_add_test(tc, when_every_pair_is_held_the_next_domain_is_refused_and_nothing_changes);
	suite_add_tcase(s, tc);

	tc = tcase_create("shared nodes");
	tcase_add_loop_test(tc, shared_container_label_is_counted_across_domains_and_the_last_revoke_restores_it, 0,
			    sizeof(revoke_orders) / sizeof(revoke_orders[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("probe");
	tcase_add_test(tc, without_selinux_auto_mode_plans_nothing_and_says_why);
	suite_add_tcase(s, tc);

	tc = tcase_create("audit");
	tcase_add_test(tc, refpolicy_allows_svirt_t_the_shared_vfio_node_only_with_virt_use_vfio);
	tcase_add_test(tc, fd_use_from_a_manager_the_policy_does_not_trust_is_reported_with_its_allow_rule);
	tcase_add_test(tc, an_image_label_with_other_categories_is_denied_by_the_mcs_constraint);
	tcase_add_test(tc, audit_reports_a_label_changed_behind_vfguards_back_and_nothing_when_all_is_granted);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(selinux_suite());
}
