/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mediated devices on generated trees: the mdev's sysfs directory as the
 * kernel lays it out (mdev_type, iommu_group, vfio-dev/), its group's vfio
 * node and cdev mknod'ed for real. Planned, applied and revoked through the
 * library and the CLI, journal and all.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "testlib.h"

/* A PCI function in group 7 next to the mdevs, so a domain can hold both kinds. */
static const char host[] = "misc vfio 234:196\n"
			   "misc iommu 234:257\n"
			   "group 7 243:0\n"
			   "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			   "cdev=vfio0:511:0\n";

#define UUID_A "8f1e0c6a-3d2b-4a51-9c7e-2b6f0d4a1e11"
#define UUID_B "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5"
#define UUID_C "5e0a7c2b-91d4-4f36-8a1b-c3d2e1f0a9b8"
#define PARENT TEST_MDEV_PARENT

/* What a round trip must leave exactly as it found it. */
#define UNCHANGED (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
} fixture;

static void fixture_open(fixture *f)
{
	f->root = test_root_new(host);
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	ck_assert_int_eq(chmod(f->root, 0755), 0);
	ck_assert_int_eq(chmod(test_path(f->root, "/dev/vfio/vfio"), 0660), 0);
	test_make_mdev(f->root, UUID_A, "vfio-pci", 12, 4);
	test_make_mdev(f->root, UUID_B, "vfio-pci", 13, 5);
	f->ctx = test_context(f->root);
}

static void fixture_close(fixture *f)
{
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
}

static int plan_for(fixture *f, const char *name, const char *const *hostdevs, vfg_plan **plan, vfg_error *err)
{
	static vfg_hostdev_spec specs[4];
	size_t n = 0;
	for (; hostdevs[n]; n++) {
		ck_assert_uint_lt(n, 4);
		if (vfg_hostdev_spec_parse(f->ctx, hostdevs[n], &specs[n], err) < 0)
			return -1;
	}
	vfg_domain domain = {.uid = 107, .gid = 107, .n_hostdevs = n, .hostdevs = specs};
	snprintf(domain.name, sizeof(domain.name), "%s", name);
	return vfg_plan_build(f->ctx, &domain, plan, err);
}

static int apply_for(fixture *f, const char *name, const char *const *hostdevs, vfg_error *err)
{
	vfg_plan *plan = NULL;
	vfg_change_summary summary;
	int r = plan_for(f, name, hostdevs, &plan, err);
	if (r == 0)
		r = vfg_plan_apply(f->ctx, plan, &summary, err);
	vfg_plan_free(plan);
	return r;
}

static void expect_owner(const char *root, const char *logical, uid_t uid)
{
	struct stat st;
	ck_assert_int_eq(lstat(test_path(root, logical), &st), 0);
	ck_assert_msg(st.st_uid == uid, "%s: owner %u, expected %u", logical, st.st_uid, (unsigned)uid);
}

START_TEST(spec_names_an_mdev_by_uuid_or_by_its_sysfs_path)
{
	fixture f;
	fixture_open(&f);
	vfg_hostdev_spec spec;
	vfg_error err = {0};
	char name[VFG_HOSTDEV_NAME_MAX];
	ck_assert_int_eq(
		vfg_hostdev_spec_parse(f.ctx, "mdev=8F1E0C6A-3D2B-4A51-9C7E-2B6F0D4A1E11,access=fd", &spec, &err), 0);
	ck_assert_str_eq(spec.mdev, UUID_A);
	ck_assert_str_eq(vfg_hostdev_name(&spec, name), "mdev:" UUID_A);
	ck_assert_int_eq(spec.access, VFG_ACCESS_FD);
	/* and as it is shown, so that status's and the JSON's names can be given back */
	ck_assert_int_eq(vfg_hostdev_spec_parse(f.ctx, name, &spec, &err), 0);
	ck_assert_str_eq(spec.mdev, UUID_A);
	ck_assert_int_eq(vfg_hostdev_spec_parse(f.ctx, "/sys/bus/mdev/devices/" UUID_B "/,backend=legacy", &spec, &err),
			 0);
	ck_assert_str_eq(spec.mdev, UUID_B);
	ck_assert_int_eq(spec.backend, VFG_BACKEND_LEGACY);
	ck_assert_int_eq(vfg_hostdev_spec_parse(f.ctx, "0000:01:00.0", &spec, &err), 0);
	ck_assert_str_eq(spec.mdev, "");
	ck_assert_str_eq(vfg_hostdev_name(&spec, name), "0000:01:00.0");
	fixture_close(&f);
}
END_TEST

START_TEST(managed_vf_token_and_driver_are_refused_on_an_mdev)
{
	fixture f;
	fixture_open(&f);
	const char *const rows[][2] = {
		{"mdev=" UUID_A ",managed=yes", "no driver to detach"},
		{"mdev=" UUID_A ",vf-token=" UUID_B, "an mdev has none"},
		{"mdev=" UUID_A ",driver=mlx5_vfio_pci", "no driver to rebind"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		vfg_hostdev_spec spec;
		vfg_error err = {0};
		ck_assert_int_eq(vfg_hostdev_spec_parse(f.ctx, rows[i][0], &spec, &err), -1);
		ck_assert_msg(strstr(err.message, rows[i][1]), "%s: %s", rows[i][0], err.message);
	}
	/* The CLI's detach and reattach say the same, and change nothing. */
	const char *const detach[] = {"detach", "--root", f.root, "mdev=" UUID_A, NULL};
	test_run run;
	test_cli(&run, detach);
	ck_assert_int_eq(run.status, 2);
	ck_assert_msg(strstr(run.err, "an mdev has no driver"), "%s", run.err);
	test_run_free(&run);
	/* a usage error: errno 22 in the JSON, as every other (a trial saw 0) */
	const char *const detach_json[] = {"detach", "--json", "--root", f.root, "mdev=" UUID_A, NULL};
	test_cli(&run, detach_json);
	ck_assert_msg(run.status == 2 && strstr(run.out, "\"errno\": 22"), "exit %d\n%s%s", run.status, run.out,
		      run.err);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

START_TEST(plan_finds_the_mdevs_own_group_and_cdev_for_each_backend)
{
	fixture f;
	fixture_open(&f);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	const char *const legacy[] = {"mdev=" UUID_A ",backend=legacy", NULL};
	ck_assert_msg(plan_for(&f, "vm1", legacy, &plan, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(vfg_plan_n_hostdevs(plan), 1);
	const vfg_hostdev *h = vfg_plan_hostdev(plan, 0);
	ck_assert_uint_eq(h->group.number, 12);
	ck_assert_uint_eq(h->group.n_members, 0);
	ck_assert_str_eq(h->mdev_type, "mtty-2");
	ck_assert_str_eq(h->mdev_device_api, "vfio-pci");
	ck_assert_str_eq(h->function.driver, "vfio_mdev");
	ck_assert_str_eq(h->cdev, "vfio4");
	ck_assert_uint_eq(vfg_plan_n_nodes(plan), 2);
	ck_assert_str_eq(vfg_plan_node(plan, 0)->path, "/dev/vfio/vfio");
	ck_assert_str_eq(vfg_plan_node(plan, 1)->path, "/dev/vfio/12");
	ck_assert_uint_eq(vfg_plan_node(plan, 1)->rdev, makedev(243, 12));
	vfg_plan_free(plan);
	plan = NULL;

	const char *const iommufd[] = {"mdev=" UUID_A ",backend=iommufd,access=fd", NULL};
	ck_assert_msg(plan_for(&f, "vm1", iommufd, &plan, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(vfg_plan_n_nodes(plan), 2);
	ck_assert_str_eq(vfg_plan_node(plan, 0)->path, "/dev/iommu");
	ck_assert_str_eq(vfg_plan_node(plan, 1)->path, "/dev/vfio/devices/vfio4");
	ck_assert_uint_eq(vfg_plan_node(plan, 1)->rdev, makedev(511, 4));

	/* The plan's text and JSON name it by "mdev:UUID", its type and bus. */
	char *text = NULL, *json = NULL;
	size_t size;
	FILE *out = open_memstream(&text, &size);
	ck_assert_int_eq(vfg_plan_write_text_width(plan, VFG_TEXT_WIDE, out), 0);
	fclose(out);
	ck_assert_msg(strstr(text, "mdev:" UUID_A "  type mtty-2 vfio-pci  vfio_mdev  fd access"), "%s", text);
	ck_assert_msg(strstr(text, "IOMMU group 12: this mdev alone"), "%s", text);
	out = open_memstream(&json, &size);
	ck_assert_int_eq(vfg_plan_write_json(plan, out), 0);
	fclose(out);
	ck_assert_msg(strstr(json, "\"address\": \"mdev:" UUID_A "\""), "%s", json);
	ck_assert_msg(strstr(json, "\"device_api\": \"vfio-pci\""), "%s", json);
	free(text);
	free(json);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

START_TEST(an_mdev_of_another_vfio_bus_is_refused_naming_its_uuid_and_value)
{
	fixture f;
	fixture_open(&f);
	test_write_file(f.root, PARENT "/mdev_supported_types/mtty-2/device_api", "vfio-platform\n");
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	const char *const hostdevs[] = {"mdev=" UUID_A, NULL};
	ck_assert_int_eq(plan_for(&f, "vm1", hostdevs, &plan, &err), -1);
	ck_assert_str_eq(err.subject, "mdev:" UUID_A);
	ck_assert_msg(strstr(err.message, "'vfio-platform'"), "%s", err.message);
	/* vfio-ccw and vfio-ap are planned (the same layout), and qemu-args says QEMU takes them otherwise. */
	test_write_file(f.root, PARENT "/mdev_supported_types/mtty-2/device_api", "vfio-ccw\n");
	ck_assert_msg(plan_for(&f, "vm1", hostdevs, &plan, &err) == 0, "%s", err.message);
	char *text = NULL;
	size_t size;
	FILE *out = open_memstream(&text, &size);
	ck_assert_int_eq(vfg_qemu_args_write_text(plan, 3, out, &err), -1);
	fclose(out);
	free(text);
	ck_assert_msg(strstr(err.message, "-device vfio-ccw"), "%s", err.message);
	vfg_plan_free(plan);
	fixture_close(&f);
}
END_TEST

START_TEST(an_mdev_without_group_or_not_alone_in_it_is_refused)
{
	fixture f;
	fixture_open(&f);
	test_make_mdev(f.root, "00000000-0000-4000-8000-000000000001", "vfio-pci", 0, -1);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	const char *const no_group[] = {"mdev=00000000-0000-4000-8000-000000000001", NULL};
	ck_assert_int_eq(plan_for(&f, "vm1", no_group, &plan, &err), -1);
	ck_assert_msg(strstr(err.message, "has no IOMMU group"), "%s", err.message);

	const char *const missing[] = {"mdev=00000000-0000-4000-8000-0000000000ff", NULL};
	ck_assert_int_eq(plan_for(&f, "vm1", missing, &plan, &err), -1);
	ck_assert_msg(strstr(err.message, "no such mediated device"), "%s", err.message);

	/* A group listing another device is not one vfio made for an mdev. */
	test_make_link(f.root, "/sys/kernel/iommu_groups/12/devices/0000:05:00.0", "../../../../devices/pci0000:00/x");
	const char *const shared[] = {"mdev=" UUID_A, NULL};
	ck_assert_int_eq(plan_for(&f, "vm1", shared, &plan, &err), -1);
	ck_assert_msg(strstr(err.message, "holds 0000:05:00.0 too"), "%s", err.message);
	fixture_close(&f);
}
END_TEST

START_TEST(apply_then_revoke_grants_the_mdev_and_restores_byte_for_byte)
{
	fixture f;
	fixture_open(&f);
	for (int backend = 0; backend < 2; backend++) {
		char *before = test_snapshot(f.root, UNCHANGED);
		const char *const hostdevs[] = {backend ? "mdev=" UUID_A ",backend=iommufd"
							: "mdev=" UUID_A ",backend=legacy",
						"0000:01:00.0,backend=legacy", NULL};
		vfg_error err = {0};
		ck_assert_msg(apply_for(&f, "vm1", hostdevs, &err) == 0, "apply: %s", err.message);
		expect_owner(f.root, backend ? "/dev/vfio/devices/vfio4" : "/dev/vfio/12", 107);
		expect_owner(f.root, "/dev/vfio/7", 107);

		/* The journal claims it as mdev:UUID, and status says so. */
		const char *const status[] = {"status", "--root", f.root, NULL};
		test_run run;
		test_cli(&run, status);
		ck_assert_int_eq(run.status, 0);
		ck_assert_msg(strstr(run.out, "hostdev mdev:" UUID_A "  IOMMU group 12"), "%s", run.out);
		test_run_free(&run);
		char *journal = test_read_file(f.root, "/run/vfguard/domains/vm1.journal");
		ck_assert_ptr_nonnull(journal);
		ck_assert_msg(strstr(journal, " mdev:" UUID_A " 12 "), "%s", journal);
		free(journal);

		/*
		 * The name status shows is one a hot-unplug takes back (a manager's
		 * trial found "mdev:UUID" refused as "not a PCI address").
		 */
		vfg_change_summary summary;
		const char *const shown[] = {"mdev:" UUID_A, NULL};
		ck_assert_msg(vfg_domain_revoke_hostdevs(f.ctx, "vm1", shown, &summary, &err) == 0, "unplug: %s",
			      err.message);
		expect_owner(f.root, backend ? "/dev/vfio/devices/vfio4" : "/dev/vfio/12", 0);
		expect_owner(f.root, "/dev/vfio/7", 107);
		ck_assert_msg(vfg_domain_revoke(f.ctx, "vm1", &summary, &err) == 0, "revoke: %s", err.message);
		test_snapshot_expect(f.root, UNCHANGED, before, "after apply and revoke of an mdev");
		free(before);
	}
	fixture_close(&f);
}
END_TEST

/*
 * An mdev still in its VM is refused as a PCI function is: its group node
 * (legacy) or its cdev (iommufd) open in a process, revoke --hostdev waits,
 * then fails with EBUSY naming it, nothing changed; once let go it revokes
 * (a trial: the mdev was left out of the look, and its grant was taken back
 * from under the process). Numbers no other test's tree gives a node: the
 * look reads every process of the machine.
 */
START_TEST(revoke_of_an_mdev_whose_node_is_still_open_is_refused_until_it_is_let_go)
{
	fixture f;
	fixture_open(&f);
	test_make_mdev(f.root, UUID_C, "vfio-pci", 4003, 4004);
	for (int backend = 0; backend < 2; backend++) {
		const char *node = backend ? "/dev/vfio/devices/vfio4004" : "/dev/vfio/4003";
		const char *const hostdevs[] = {backend ? "mdev=" UUID_C ",backend=iommufd"
							: "mdev=" UUID_C ",backend=legacy",
						"0000:01:00.0,backend=legacy", NULL};
		vfg_error err = {0};
		ck_assert_msg(apply_for(&f, "vm1", hostdevs, &err) == 0, "apply: %s", err.message);
		pid_t holder = test_holder_start(test_path(f.root, node), O_PATH);
		vfg_change_summary summary;
		const char *const unplug[] = {"mdev:" UUID_C, NULL};
		int r = vfg_domain_revoke_hostdevs(f.ctx, "vm1", unplug, &summary, &err);
		char expected[256];
		snprintf(expected, sizeof(expected), "hostdev mdev:%s of domain vm1 is still in its VM: pid %d (",
			 UUID_C, (int)holder);
		ck_assert_msg(r == -1 && err.errnum == EBUSY && strstr(err.message, expected) &&
				      strstr(err.message, node) && strstr(err.message, "nothing was changed"),
			      "%s: %d, expected EBUSY and '%s': %s", node, r, expected, err.message);
		expect_owner(f.root, node, 107);
		test_holder_stop(holder);
		ck_assert_msg(vfg_domain_revoke_hostdevs(f.ctx, "vm1", unplug, &summary, &err) == 0, "unplug: %s",
			      err.message);
		expect_owner(f.root, node, 0);
		ck_assert_msg(vfg_domain_revoke(f.ctx, "vm1", &summary, &err) == 0, "revoke: %s", err.message);
	}
	fixture_close(&f);
}
END_TEST

/* The crash test's state, for test_kill_at_each_point()'s callbacks. */
typedef struct mdev_crash {
	fixture *f;
	const char *original;
} mdev_crash;

static int mdev_crash_apply(void *data)
{
	mdev_crash *c = data;
	vfg_error err = {0};
	const char *const hostdevs[] = {"mdev=" UUID_A ",backend=legacy", "mdev=" UUID_B ",backend=iommufd", NULL};
	return apply_for(c->f, "vm1", hostdevs, &err);
}

/* Restore finishes the killed apply (its mdev:UUID claims read back); revoke undoes a finished one. */
static void mdev_crash_restore(unsigned point, void *data)
{
	mdev_crash *c = data;
	test_restore_ok(c->f->ctx, point);
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_msg(vfg_domain_revoke(c->f->ctx, "vm1", &summary, &err) == 0, "revoke: %s", err.message);
	char what[64];
	snprintf(what, sizeof(what), "restore after a kill at point %u", point);
	test_snapshot_expect(c->f->root, UNCHANGED, c->original, what);
}

START_TEST(restore_after_a_kill_at_any_journal_point_of_an_mdev_apply_puts_the_tree_back)
{
	fixture f;
	fixture_open(&f);
	char *original = test_snapshot(f.root, UNCHANGED);
	mdev_crash crash = {.f = &f, .original = original};
	unsigned points = test_kill_at_each_point(mdev_crash_apply, mdev_crash_restore, &crash);
	/* container, group 12, /dev/iommu and cdev vfio5: a point after each intent, change and done */
	ck_assert_msg(points >= 12, "only %u journal points", points);
	vfg_error err = {0};
	vfg_change_summary summary;
	ck_assert_int_eq(vfg_domain_revoke(f.ctx, "vm1", &summary, &err), 0);
	test_snapshot_expect(f.root, UNCHANGED, original, "the uninterrupted apply, revoked");
	free(original);
	fixture_close(&f);
}
END_TEST

START_TEST(an_mdev_belongs_to_one_domain_at_a_time)
{
	fixture f;
	fixture_open(&f);
	vfg_error err = {0};
	const char *const vm1[] = {"mdev=" UUID_A, NULL};
	const char *const vm2[] = {"mdev=" UUID_B, "/sys/bus/mdev/devices/" UUID_A, NULL};
	ck_assert_msg(apply_for(&f, "vm1", vm1, &err) == 0, "%s", err.message);
	char *before = test_snapshot(f.root, UNCHANGED);
	ck_assert_int_eq(apply_for(&f, "vm2", vm2, &err), -1);
	ck_assert_int_eq(err.errnum, EBUSY);
	ck_assert_str_eq(err.subject, "mdev:" UUID_A);
	ck_assert_msg(strstr(err.message, "IOMMU group 12 belongs to domain vm1 (through its hostdev mdev:" UUID_A ")"),
		      "%s", err.message);
	test_snapshot_expect(f.root, UNCHANGED, before, "after a refused claim");
	free(before);
	/* The other mdev is free, and the same one given twice in one domain is refused. */
	const char *const vm2_own[] = {"mdev=" UUID_B, NULL};
	ck_assert_msg(apply_for(&f, "vm2", vm2_own, &err) == 0, "%s", err.message);
	const char *const twice[] = {"mdev=" UUID_B, "/sys/bus/mdev/devices/" UUID_B, NULL};
	vfg_plan *plan = NULL;
	ck_assert_int_eq(plan_for(&f, "vm3", twice, &plan, &err), -1);
	ck_assert_msg(strstr(err.message, "given twice"), "%s", err.message);
	vfg_change_summary summary;
	ck_assert_int_eq(vfg_domain_revoke(f.ctx, "vm1", &summary, &err), 0);
	ck_assert_int_eq(vfg_domain_revoke(f.ctx, "vm2", &summary, &err), 0);
	fixture_close(&f);
}
END_TEST

START_TEST(qemu_args_give_the_mdev_by_sysfsdev_and_refuse_legacy_fd)
{
	fixture f;
	fixture_open(&f);
	const char *const path[] = {
		"qemu-args", "--root", f.root, "--domain", "vm1", "--hostdev", "mdev=" UUID_A ",backend=legacy", NULL};
	test_run run;
	test_cli(&run, path);
	ck_assert_msg(run.status == 0, "%s", run.err);
	ck_assert_str_eq(run.out, "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/" UUID_A ",id=hostdev0\n");
	test_run_free(&run);

	const char *const fd[] = {"qemu-args",
				  "--root",
				  f.root,
				  "--domain",
				  "vm1",
				  "--hostdev",
				  "mdev=" UUID_A ",backend=iommufd,access=fd",
				  NULL};
	test_cli(&run, fd);
	ck_assert_msg(run.status == 0, "%s", run.err);
	ck_assert_str_eq(run.out, "-object iommufd,id=iommufd0,fd=3\n"
				  "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/" UUID_A
				  ",id=hostdev0,iommufd=iommufd0,fd=4\n");
	test_run_free(&run);

	const char *const legacy_fd[] = {"qemu-args",
					 "--root",
					 f.root,
					 "--domain",
					 "vm1",
					 "--hostdev",
					 "mdev=" UUID_A ",backend=legacy,access=fd",
					 NULL};
	test_cli(&run, legacy_fd);
	ck_assert_int_ne(run.status, 0);
	ck_assert_msg(strstr(run.err, "mdev:" UUID_A) && strstr(run.err, "Use FD passing only with iommufd backend"),
		      "%s", run.err);
	test_run_free(&run);
	fixture_close(&f);
}
END_TEST

/* The fd set names an mdev "mdev:UUID" in the environment exec gives the hypervisor. */
START_TEST(fd_environment_names_an_mdev_by_uuid)
{
	vfg_fd fds[2] = {{.fd = 3, .kind = VFG_NODE_IOMMUFD}, {.fd = 4, .kind = VFG_NODE_CDEV}};
	vfg_fd_hostdev hostdevs[2] = {{.bdf = "0000:01:00.0", .fd = 0}, {.mdev = UUID_A, .fd = 1}};
	vfg_fdset fdset = {.n_fds = 2, .fds = fds, .n_hostdevs = 2, .hostdevs = hostdevs};
	snprintf(fdset.domain, sizeof(fdset.domain), "vm1");
	char **env = vfg_fdset_environment(&fdset);
	ck_assert_ptr_nonnull(env);
	bool found = false;
	for (char **entry = env; *entry; entry++) {
		found = found || strcmp(*entry, "VFGUARD_HOSTDEV_FDS=0000:01:00.0=3 mdev:" UUID_A "=4") == 0;
		free(*entry);
	}
	free(env);
	ck_assert_msg(found, "no VFGUARD_HOSTDEV_FDS naming the mdev");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mdev");
	TCase *tc = tcase_create("mdev");
	tcase_add_test(tc, spec_names_an_mdev_by_uuid_or_by_its_sysfs_path);
	tcase_add_test(tc, managed_vf_token_and_driver_are_refused_on_an_mdev);
	tcase_add_test(tc, plan_finds_the_mdevs_own_group_and_cdev_for_each_backend);
	tcase_add_test(tc, an_mdev_of_another_vfio_bus_is_refused_naming_its_uuid_and_value);
	tcase_add_test(tc, an_mdev_without_group_or_not_alone_in_it_is_refused);
	tcase_add_test(tc, apply_then_revoke_grants_the_mdev_and_restores_byte_for_byte);
	tcase_add_test(tc, revoke_of_an_mdev_whose_node_is_still_open_is_refused_until_it_is_let_go);
	tcase_add_test(tc, restore_after_a_kill_at_any_journal_point_of_an_mdev_apply_puts_the_tree_back);
	tcase_add_test(tc, an_mdev_belongs_to_one_domain_at_a_time);
	tcase_add_test(tc, qemu_args_give_the_mdev_by_sysfsdev_and_refuse_legacy_fd);
	tcase_add_test(tc, fd_environment_names_an_mdev_by_uuid);
	suite_add_tcase(s, tc);
	return test_main(s);
}
