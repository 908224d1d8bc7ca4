/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Each labeler's plan for path and fd access, the plan's shape, and loading the labelers. */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup_testlib.h"
#include "testlib.h"

/* Legacy and iommufd on one host: group 7 (GPU + audio), /dev/iommu 0660, container 0666. */
static const char host_both[] = "misc vfio 10:196\n"
				"misc iommu 10:257\n"
				"group 7 243:0\n"
				"device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
				"cdev=vfio0:511:0\n"
				"device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci "
				"cdev=vfio1:511:1\n"
				"group 8 243:1\n"
				"device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n";

typedef struct fixture {
	const char *root;
	vfg_context *ctx;
	vfg_plan *plan;
	vfg_domain domain;
	vfg_hostdev_spec specs[4];
} fixture;

static void fixture_open(fixture *f, const char *manifest)
{
	memset(f, 0, sizeof(*f));
	f->root = test_root_new(manifest);
	f->ctx = test_context(f->root);
	f->domain.uid = 107;
	f->domain.gid = 107;
	snprintf(f->domain.name, sizeof(f->domain.name), "vm1");
}

/* Plan the fixture's domain for the hostdevs given; returns vfg_plan_build's result. */
static int fixture_plan(fixture *f, vfg_error *err, const char *const *hostdevs)
{
	size_t n = 0;
	for (; hostdevs[n]; n++)
		ck_assert_msg(vfg_hostdev_spec_parse(f->ctx, hostdevs[n], &f->specs[n], err) == 0, "%s", err->message);
	f->domain.hostdevs = f->specs;
	f->domain.n_hostdevs = n;
	vfg_plan_free(f->plan);
	f->plan = NULL;
	return vfg_plan_build(f->ctx, &f->domain, &f->plan, err);
}

static void fixture_plan_ok(fixture *f, const char *const *hostdevs)
{
	vfg_error err = {0};
	ck_assert_msg(fixture_plan(f, &err, hostdevs) == 0, "plan: %s", err.message);
}

static void fixture_close(fixture *f)
{
	vfg_plan_free(f->plan);
	vfg_context_free(f->ctx);
	test_root_remove(f->root);
}

static void expect_step(const vfg_plan *plan, const char *labeler, const char *path, vfg_action action,
			const char *detail, const char *reason_part)
{
	const vfg_step *step = test_step(plan, labeler, path);
	ck_assert_msg(step->action == action, "%s %s: action %s, expected %s (%s)", labeler, path,
		      vfg_action_name(step->action), vfg_action_name(action), step->reason);
	if (detail)
		ck_assert_str_eq(step->detail, detail);
	ck_assert_msg(strstr(step->reason, reason_part), "%s %s: expected '%s' in reason '%s'", labeler, path,
		      reason_part, step->reason);
}

/* dac */

START_TEST(dac_gives_an_exclusive_node_to_the_hypervisor_uid_for_path_access)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=legacy", NULL});
	expect_step(f.plan, "dac", "/dev/vfio/7", VFG_ACTION_GRANT, "chown 107:107", "generic_permission");
	expect_step(f.plan, "dac", "/dev/vfio/vfio", VFG_ACTION_NONE, "", "every uid");
	fixture_close(&f);
}
END_TEST

START_TEST(dac_gives_a_shared_node_an_acl_entry_never_a_new_owner)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd", NULL});
	expect_step(f.plan, "dac", "/dev/iommu", VFG_ACTION_GRANT, "acl u:107:rw", "never changes owner");
	expect_step(f.plan, "dac", "/dev/vfio/devices/vfio0", VFG_ACTION_GRANT, "chown 107:107", "restores 0:0 0600");
	fixture_close(&f);
}
END_TEST

START_TEST(dac_leaves_a_node_the_hypervisor_can_already_open)
{
	fixture f;
	fixture_open(&f, host_both);
	ck_assert_int_eq(chown(test_path(f.root, "/dev/vfio/7"), 107, 0), 0);
	ck_assert_int_eq(chown(test_path(f.root, "/dev/iommu"), 0, 107), 0);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=legacy", "01:00.1,backend=legacy", NULL});
	expect_step(f.plan, "dac", "/dev/vfio/7", VFG_ACTION_NONE, "", "owns it with rw");
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd", NULL});
	expect_step(f.plan, "dac", "/dev/iommu", VFG_ACTION_NONE, "", "its group is the hypervisor gid");

	/* a root hypervisor owns root's nodes already */
	f.domain.uid = 0;
	f.domain.gid = 0;
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "dac", "/dev/vfio/8", VFG_ACTION_NONE, "", "owns it with rw");
	fixture_close(&f);
}
END_TEST

START_TEST(dac_adds_owner_rw_when_the_mode_lacks_it)
{
	fixture f;
	fixture_open(&f, host_both);
	ck_assert_int_eq(chmod(test_path(f.root, "/dev/vfio/8"), 0400), 0);
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "dac", "/dev/vfio/8", VFG_ACTION_GRANT, "chown 107:107, chmod u+rw", "0400");
	fixture_close(&f);
}
END_TEST

START_TEST(dac_takes_no_access_for_fd_access)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", "02:00.0,access=fd", NULL});
	/* /dev/iommu and vfio0; group 8 has no cdev: the container and its group node */
	ck_assert_uint_eq(vfg_plan_n_nodes(f.plan), 4);
	for (size_t i = 0; i < vfg_plan_n_nodes(f.plan); i++)
		expect_step(f.plan, "dac", vfg_plan_node(f.plan, i)->path, VFG_ACTION_NONE, "",
			    "only at open (may_open())");
	fixture_close(&f);
}
END_TEST

/*
 * cgroup: the real cgroup file systems of this machine. A plan is pure, but
 * it must name a cgroup of the VM's own (the roots, and the test's own
 * cgroup, are refused): each test makes its own in both hierarchies
 * (cgroup_testlib.h), and the runner removes them.
 */
/* The test's cgroup in the v1 devices hierarchy, or (@v2) in cgroup2. */
static void vm_cgroup(char *dir, size_t size, bool v2)
{
	int r = test_cgroup_make_own(v2 ? TEST_CGROUP_V2 : TEST_CGROUP_V1, dir, size);
	ck_assert_msg(r == 0, "mkdir %s: %s", dir, strerror(errno));
}

/* A cgroup of its own for @domain, as its cgroup.path. */
static void vm_cgroup_domain(vfg_domain *domain, bool v2)
{
	char dir[VFG_PATH_MAX];
	vm_cgroup(dir, sizeof(dir), v2);
	test_domain_attr(domain, "cgroup.path", "%s", dir);
}

START_TEST(cgroup_without_a_cgroup_is_inactive_for_path_access)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "cgroup", "/dev/vfio/8", VFG_ACTION_INACTIVE, "", "no cgroup given");
	fixture_close(&f);
}
END_TEST

START_TEST(cgroup_v1_devices_cgroup_gets_an_allow_rule_for_path_access)
{
	fixture f;
	fixture_open(&f, host_both);
	vm_cgroup_domain(&f.domain, false);
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "cgroup", "/dev/vfio/8", VFG_ACTION_GRANT, "allow c 243:1 rw", "v1 devices.allow");
	expect_step(f.plan, "cgroup", "/dev/vfio/vfio", VFG_ACTION_GRANT, "allow c 10:196 rw", "counted per cgroup");
	fixture_close(&f);
}
END_TEST

START_TEST(cgroup_v2_cgroup_gets_a_bpf_map_rule_for_path_access)
{
	fixture f;
	fixture_open(&f, host_both);
	vm_cgroup_domain(&f.domain, true);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd", NULL});
	expect_step(f.plan, "cgroup", "/dev/vfio/devices/vfio0", VFG_ACTION_GRANT, "allow c 511:0 rw", "v2 BPF map");
	fixture_close(&f);
}
END_TEST

START_TEST(cgroup_of_a_pid_on_a_hybrid_host_uses_both_v1_and_v2)
{
	fixture f;
	fixture_open(&f, host_both);
	char v1[256], v2[256];
	vm_cgroup(v1, sizeof(v1), false);
	vm_cgroup(v2, sizeof(v2), true);
	f.domain.pid = test_cgroup_child_in((const char *[]){v1, v2, NULL}, false);
	ck_assert_int_gt(f.domain.pid, 0);
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "cgroup", "/dev/vfio/8", VFG_ACTION_GRANT, "allow c 243:1 rw",
		    "v1 devices.allow and v2 BPF map");
	test_cgroup_child_stop(f.domain.pid);
	fixture_close(&f);
}
END_TEST

START_TEST(cgroup_takes_no_rule_for_fd_access)
{
	fixture f;
	fixture_open(&f, host_both);
	vm_cgroup_domain(&f.domain, true);
	fixture_plan_ok(&f, (const char *[]){"02:00.0,access=fd", NULL});
	expect_step(f.plan, "cgroup", "/dev/vfio/8", VFG_ACTION_NONE, "", "devcgroup_inode_permission");
	expect_step(f.plan, "cgroup", "/dev/vfio/vfio", VFG_ACTION_NONE, "", "in the opener's cgroup");
	fixture_close(&f);
}
END_TEST

START_TEST(cgroup_that_is_no_device_cgroup_is_an_error)
{
	fixture f;
	vfg_error err = {0};
	fixture_open(&f, host_both);
	test_domain_attr(&f.domain, "cgroup.path", "%s", f.root);
	ck_assert_int_eq(fixture_plan(&f, &err, (const char *[]){"02:00.0", NULL}), -1);
	ck_assert_msg(strstr(err.message, "is not a cgroup directory"), "%s", err.message);
	test_domain_attr(&f.domain, "cgroup.path", "/sys/fs/cgroup/pids");
	ck_assert_int_eq(fixture_plan(&f, &err, (const char *[]){"02:00.0", NULL}), -1);
	ck_assert_msg(strstr(err.message, "without the devices controller"), "%s", err.message);
	fixture_close(&f);
}
END_TEST

/* selinux: this machine has no SELinux enabled */

START_TEST(selinux_is_inactive_for_path_and_fd_access_when_disabled)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd", "02:00.0,access=fd", NULL});
	ck_assert_uint_eq(vfg_plan_n_nodes(f.plan), 4);
	for (size_t i = 0; i < vfg_plan_n_nodes(f.plan); i++)
		expect_step(f.plan, "selinux", vfg_plan_node(f.plan, i)->path, VFG_ACTION_INACTIVE, "",
			    "SELinux is not enabled");
	fixture_close(&f);
}
END_TEST

static void fixture_configure(fixture *f, const char *config)
{
	vfg_context_free(f->ctx);
	test_write_file(f->root, "/etc/vfguard/vfguard.conf", config);
	f->ctx = test_context(f->root);
}

START_TEST(selinux_forced_labels_an_exclusive_node_with_the_image_label_for_path_and_fd_access)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_configure(&f, "selinux = force\n");
	test_domain_attr(&f.domain, "selinux.label", "system_u:system_r:svirt_t:s0:c12,c34");
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd", "02:00.0,access=fd", NULL});
	expect_step(f.plan, "selinux", "/dev/vfio/devices/vfio0", VFG_ACTION_GRANT,
		    "label system_u:object_r:svirt_image_t:s0:c12,c34", "at open and on every ioctl");
	expect_step(f.plan, "selinux", "/dev/vfio/8", VFG_ACTION_GRANT,
		    "label system_u:object_r:svirt_image_t:s0:c12,c34", "selinux_file_receive()");

	test_domain_attr(&f.domain, "selinux.image_label", "system_u:object_r:my_image_t:s0:c1,c2");
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "selinux", "/dev/vfio/8", VFG_ACTION_GRANT, "label system_u:object_r:my_image_t:s0:c1,c2",
		    "its categories keep other VMs out");

	test_domain_attr(&f.domain, "selinux.label", "%s", "");
	test_domain_attr(&f.domain, "selinux.image_label", "%s", "");
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "selinux", "/dev/vfio/8", VFG_ACTION_GRANT,
		    "label svirt_image_t with a unique MCS pair (allocated at apply)", "this domain's alone");
	fixture_close(&f);
}
END_TEST

START_TEST(selinux_forced_gives_a_shared_node_the_shared_label_without_categories)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_configure(&f, "selinux = force\n");
	test_domain_attr(&f.domain, "selinux.label", "system_u:system_r:svirt_t:s0:c12,c34");
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	expect_step(f.plan, "selinux", "/dev/iommu", VFG_ACTION_GRANT, "label system_u:object_r:vfio_device_t:s0",
		    "no categories");
	fixture_close(&f);
}
END_TEST

START_TEST(selinux_off_or_a_bad_mode_or_label_is_honoured)
{
	fixture f;
	vfg_error err = {0};
	fixture_open(&f, host_both);
	fixture_configure(&f, "selinux = off\n");
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "selinux", "/dev/vfio/8", VFG_ACTION_INACTIVE, "", "selinux = off");

	/* a bad mode is refused with the configuration, before any plan (issue 19: checked by its key) */
	test_write_file(f.root, "/etc/vfguard/vfguard.conf", "selinux = sometimes\n");
	vfg_context_options options = {.root = f.root};
	ck_assert_ptr_null(vfg_context_new(&options, &err));
	ck_assert_msg(strstr(err.message, "line 1: selinux: 'sometimes': expected auto, force or off"), "%s",
		      err.message);

	fixture_configure(&f, "selinux = force\n");
	test_domain_attr(&f.domain, "selinux.label", "not-a-context");
	ck_assert_int_eq(fixture_plan(&f, &err, (const char *[]){"02:00.0", NULL}), -1);
	ck_assert_msg(strstr(err.message, "not-a-context: not an SELinux context"), "%s", err.message);
	fixture_close(&f);
}
END_TEST

/* apparmor: not enabled here; vfguard itself runs unconfined */

START_TEST(apparmor_adds_an_exact_path_rule_for_path_access)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=legacy", NULL});
	expect_step(f.plan, "apparmor", "/dev/vfio/7", VFG_ACTION_GRANT, "rule \"/dev/vfio/7\" rw,",
		    "apparmor_file_open");
	expect_step(f.plan, "apparmor", "/dev/vfio/vfio", VFG_ACTION_GRANT, "rule \"/dev/vfio/vfio\" rw,",
		    "rules file only");
	fixture_close(&f);
}
END_TEST

START_TEST(apparmor_needs_no_rule_for_fd_access_from_an_unconfined_opener)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd,access=fd", NULL});
	expect_step(f.plan, "apparmor", "/dev/iommu", VFG_ACTION_NONE, "", "unconfined opener");
	expect_step(f.plan, "apparmor", "/dev/vfio/devices/vfio0", VFG_ACTION_NONE, "", "aa_file_perm");
	fixture_close(&f);
}
END_TEST

START_TEST(apparmor_profile_is_given_or_named_after_the_uuid)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	ck_assert_ptr_nonnull(strstr(vfg_plan_labeler_probe(f.plan, 3)->note, "profile vfguard-vm1"));
	snprintf(f.domain.uuid, sizeof(f.domain.uuid), "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	ck_assert_ptr_nonnull(strstr(vfg_plan_labeler_probe(f.plan, 3)->note,
				     "profile libvirt-c7a5fdbd-cdaf-9455-926a-d65c16db1809"));
	test_domain_attr(&f.domain, "apparmor.profile", "my-vm");
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	ck_assert_ptr_nonnull(strstr(vfg_plan_labeler_probe(f.plan, 3)->note, "profile my-vm,"));
	ck_assert_str_eq(vfg_plan_labeler(f.plan, 3)->name, "apparmor");
	fixture_close(&f);
}
END_TEST

/* namespace: real mount namespaces */

START_TEST(namespace_makes_an_entry_for_path_access_in_a_private_mount_namespace)
{
	fixture f;
	fixture_open(&f, host_both);
	pid_t child = test_child_in_new_mount_namespace();
	f.domain.pid = child;
	char detail[64];
	snprintf(detail, sizeof(detail), "mknod c 243:1 in pid %d's /dev", (int)child);
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "namespace", "/dev/vfio/8", VFG_ACTION_GRANT, detail, "in its own mount namespace");
	fixture_plan_ok(&f, (const char *[]){"02:00.0,access=fd", NULL});
	expect_step(f.plan, "namespace", "/dev/vfio/8", VFG_ACTION_NONE, "", "looks no path up");
	test_child_stop(child);
	fixture_close(&f);
}
END_TEST

START_TEST(namespace_needs_nothing_when_the_pid_shares_the_host_namespace_or_is_absent)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "namespace", "/dev/vfio/8", VFG_ACTION_NONE, "", "no pid");
	f.domain.pid = getpid();
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	expect_step(f.plan, "namespace", "/dev/vfio/8", VFG_ACTION_NONE, "", "shares the host's mount namespace");
	fixture_close(&f);
}
END_TEST

START_TEST(namespace_of_a_pid_that_does_not_run_is_an_error)
{
	fixture f;
	vfg_error err = {0};
	fixture_open(&f, host_both);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0); /* reaped: the pid runs no more */
	f.domain.pid = child;
	ck_assert_int_eq(fixture_plan(&f, &err, (const char *[]){"02:00.0", NULL}), -1);
	ck_assert_msg(strstr(err.message, "cannot") && strstr(err.message, "No such file"), "%s", err.message);
	fixture_close(&f);
}
END_TEST

/* the plan as a whole */

START_TEST(plan_has_a_step_per_labeler_and_node_in_apply_order_namespace_last)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=legacy", "02:00.0", NULL});
	const char *order[] = {"dac", "cgroup", "selinux", "apparmor", "namespace"};
	ck_assert_uint_eq(vfg_plan_n_labelers(f.plan), 5);
	ck_assert_uint_eq(vfg_plan_n_nodes(f.plan), 3);
	ck_assert_uint_eq(vfg_plan_n_steps(f.plan), 15);
	for (size_t i = 0; i < vfg_plan_n_steps(f.plan); i++) {
		const vfg_step *step = vfg_plan_step(f.plan, i);
		ck_assert_str_eq(vfg_plan_labeler(f.plan, step->labeler)->name, order[i / 3]);
		ck_assert_uint_eq(step->node, i % 3);
		ck_assert_msg(step->reason[0], "step %zu has no reason", i);
	}
	fixture_close(&f);
}
END_TEST

START_TEST(hostdevs_of_one_group_share_the_group_node_and_path_access_wins)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=legacy,access=fd", "01:00.1,backend=legacy", NULL});
	ck_assert_uint_eq(vfg_plan_n_nodes(f.plan), 2);
	ck_assert_uint_eq(vfg_plan_hostdev(f.plan, 0)->nodes[1], vfg_plan_hostdev(f.plan, 1)->nodes[1]);
	ck_assert_int_eq(test_node(f.plan, "/dev/vfio/7")->access, VFG_ACCESS_PATH);
	fixture_close(&f);
}
END_TEST

/* Group 9: two functions on vfio-pci and a third on pci-stub, each with its own class. */
static const char host_group_of_three[] =
	"misc vfio 10:196\n"
	"group 9 243:2\n"
	"device 0000:03:00.0 group=9 vendor=15b3 device=1017 class=020000 driver=vfio-pci\n"
	"device 0000:03:00.1 group=9 vendor=15b3 device=1018 class=020700 driver=vfio-pci\n"
	"device 0000:03:00.2 group=9 vendor=15b3 device=1019 class=088000 driver=pci-stub\n";

/*
 * The group is listed once per plan (the first hostdev in it), and a later
 * hostdev takes the members from there: each still sees every member, its
 * own entry the function as read for it.
 */
START_TEST(hostdevs_of_one_group_each_see_every_member_as_read_for_it)
{
	fixture f;
	fixture_open(&f, host_group_of_three);
	fixture_plan_ok(&f, (const char *[]){"03:00.1,backend=legacy", "03:00.0,backend=legacy", NULL});
	static const unsigned classes[] = {0x020000, 0x020700, 0x088000};
	static const char *const drivers[] = {"vfio-pci", "vfio-pci", "pci-stub"};
	for (size_t h = 0; h < 2; h++) {
		const vfg_hostdev *hostdev = vfg_plan_hostdev(f.plan, h);
		ck_assert_uint_eq(hostdev->group.number, 9);
		ck_assert_uint_eq(hostdev->group.n_members, 3);
		for (size_t m = 0; m < 3; m++) {
			const vfg_pci_function *member = &hostdev->group.members[m];
			ck_assert_uint_eq(member->addr.function, m);
			ck_assert_uint_eq(member->class_code, classes[m]);
			ck_assert_uint_eq(member->device, 0x1017 + m);
			ck_assert_str_eq(member->driver, drivers[m]);
		}
		const vfg_pci_function *own = &hostdev->group.members[hostdev->function.addr.function];
		ck_assert(vfg_pci_addr_equal(&own->addr, &hostdev->function.addr));
		ck_assert_uint_eq(own->class_code, hostdev->function.class_code);
		ck_assert_uint_eq(own->device, hostdev->function.device);
		ck_assert_str_eq(own->driver, hostdev->function.driver);
	}
	ck_assert_ptr_ne(vfg_plan_hostdev(f.plan, 0)->group.members, vfg_plan_hostdev(f.plan, 1)->group.members);
	ck_assert_uint_eq(vfg_plan_n_nodes(f.plan), 2);
	fixture_close(&f);
}
END_TEST

START_TEST(the_plan_is_read_through_accessors_each_null_past_the_last)
{
	fixture f;
	fixture_open(&f, host_both);
	f.domain.memory = 1ull << 30;
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=legacy", "02:00.0", NULL});
	const vfg_plan *plan = f.plan;
	const vfg_domain *domain = vfg_plan_domain(plan);
	ck_assert_str_eq(domain->name, "vm1");
	ck_assert_uint_eq(domain->n_hostdevs, 2);
	ck_assert_ptr_ne(domain->hostdevs, f.specs);
	ck_assert_uint_eq(vfg_plan_n_hostdevs(plan), 2);
	/* The plan's copy of the specs, each backend as resolved: 02:00.0 asked for none. */
	ck_assert_int_eq(f.specs[1].backend, VFG_BACKEND_AUTO);
	for (size_t h = 0; h < 2; h++)
		ck_assert_int_eq(domain->hostdevs[h].backend, VFG_BACKEND_LEGACY);
	ck_assert_ptr_null(vfg_plan_hostdev(plan, 2));
	ck_assert_uint_eq(vfg_plan_n_nodes(plan), 3);
	ck_assert_ptr_null(vfg_plan_node(plan, 3));
	ck_assert_uint_eq(vfg_plan_n_labelers(plan), 5);
	ck_assert_ptr_nonnull(vfg_plan_labeler_probe(plan, 4));
	ck_assert_ptr_null(vfg_plan_labeler(plan, 5));
	ck_assert_ptr_null(vfg_plan_labeler_probe(plan, 5));
	ck_assert_uint_eq(vfg_plan_n_steps(plan), 15);
	ck_assert_ptr_null(vfg_plan_step(plan, 15));

	/* The locked-memory limit: the built-in domain-scope labeler, after the node steps. */
	ck_assert_uint_eq(vfg_plan_n_domain_labelers(plan), 1);
	ck_assert_str_eq(vfg_plan_domain_labeler(plan, 0)->name, "memlock");
	ck_assert_int_eq(vfg_plan_domain_labeler(plan, 0)->scope, VFG_SCOPE_DOMAIN);
	const vfg_node *subject = vfg_plan_domain_labeler_subject(plan, 0);
	ck_assert_int_eq(subject->kind, VFG_NODE_DOMAIN);
	ck_assert_str_eq(subject->path, vfg_plan_domain_labeler_probe(plan, 0)->subject);
	ck_assert_msg(vfg_plan_domain_labeler_step(plan, 0)->reason[0], "the memlock step has no reason");
	ck_assert(vfg_plan_memlock(plan)->computed); /* read from that labeler's probe */
	ck_assert_ptr_null(vfg_plan_domain_labeler(plan, 1));
	ck_assert_ptr_null(vfg_plan_domain_labeler_probe(plan, 1));
	ck_assert_ptr_null(vfg_plan_domain_labeler_subject(plan, 1));
	ck_assert_ptr_null(vfg_plan_domain_labeler_step(plan, 1));
	fixture_close(&f);
}
END_TEST

START_TEST(hostdevs_of_one_group_must_share_a_backend)
{
	fixture f;
	vfg_error err = {0};
	fixture_open(&f, host_both);
	ck_assert_int_eq(
		fixture_plan(&f, &err, (const char *[]){"01:00.0,backend=legacy", "01:00.1,backend=iommufd", NULL}),
		-1);
	ck_assert_msg(strstr(err.message, "0000:01:00.1: shares IOMMU group 7 with 0000:01:00.0"), "%s", err.message);
	ck_assert_int_eq(fixture_plan(&f, &err, (const char *[]){"02:00.0", "0000:02:00.0,access=fd", NULL}), -1);
	ck_assert_msg(strstr(err.message, "hostdev given twice"), "%s", err.message);
	fixture_close(&f);
}
END_TEST

/* An SR-IOV PF on vfio-pci with two VFs, and one on its host driver with one. */
static const char host_sriov[] =
	"misc vfio 10:196\n"
	"group 7 243:0\n"
	"device 0000:3b:00.0 group=7 vendor=8086 device=1572 class=020000 driver=vfio-pci\n"
	"group 8 243:1\n"
	"device 0000:3b:02.0 group=8 vendor=8086 device=154c class=020000 driver=vfio-pci physfn=0000:3b:00.0\n"
	"group 9 243:2\n"
	"device 0000:3b:02.1 group=9 vendor=8086 device=154c class=020000 driver=vfio-pci physfn=0000:3b:00.0\n"
	"group 10\n"
	"device 0000:5e:00.0 group=10 vendor=8086 device=1572 class=020000 driver=i40e\n"
	"group 11 243:3\n"
	"device 0000:5e:02.0 group=11 vendor=8086 device=154c class=020000 driver=vfio-pci physfn=0000:5e:00.0\n"
	"group 12 243:4\n"
	"device 0000:01:00.0 group=12 vendor=10de device=2236 class=030000 driver=vfio-pci\n";

#define TOKEN "00112233-4455-6677-8899-aabbccddeeff"

START_TEST(plan_carries_the_vf_token)
{
	fixture f;
	fixture_open(&f, host_sriov);
	fixture_plan_ok(&f, (const char *[]){"3b:02.0,vf-token=" TOKEN, "3b:00.0,vf-token=" TOKEN, NULL});
	ck_assert_str_eq(vfg_plan_hostdev(f.plan, 0)->spec.vf_token, TOKEN);
	ck_assert_str_eq(vfg_plan_hostdev(f.plan, 1)->spec.vf_token, TOKEN);
	fixture_close(&f);
}
END_TEST

/*
 * The kernel refuses a VF token (EINVAL at the open) for a function that is
 * neither PF nor VF, and for a VF whose PF no vfio driver holds
 * (vfio_pci_validate_vf_token()); the plan said nothing and the hypervisor
 * failed later with the kernel's bare errno (an SR-IOV trial). The plan
 * refuses it now, naming the function and why; without a token both plan.
 */
START_TEST(a_vf_token_the_kernel_would_refuse_is_refused_naming_why)
{
	fixture f;
	vfg_error err = {0};
	fixture_open(&f, host_sriov);
	ck_assert_int_eq(fixture_plan(&f, &err, (const char *[]){"01:00.0,vf-token=" TOKEN, NULL}), -1);
	ck_assert_msg(strstr(err.message, "0000:01:00.0: vf-token given, but it is neither an SR-IOV PF nor a VF (no "
					  "physfn, no sriov_totalvfs in ") &&
			      strstr(err.message, "drop vf-token="),
		      "%s", err.message);
	err = (vfg_error){0};
	ck_assert_int_eq(fixture_plan(&f, &err, (const char *[]){"5e:02.0,vf-token=" TOKEN, NULL}), -1);
	ck_assert_msg(strstr(err.message, "0000:5e:02.0: vf-token given, but its PF 0000:5e:00.0 is on i40e, not on a "
					  "vfio driver"),
		      "%s", err.message);
	fixture_plan_ok(&f, (const char *[]){"01:00.0", "5e:02.0", NULL});
	fixture_close(&f);
}
END_TEST

START_TEST(apply_stops_at_the_first_failing_grant_and_changes_nothing)
{
	fixture f;
	vfg_error err = {0};
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	struct stat before, after;
	ck_assert_int_eq(stat(test_path(f.root, "/dev/vfio/8"), &before), 0);
	/* a file where the AppArmor rules directory belongs: the apparmor grant fails */
	test_write_file(f.root, "/etc/apparmor.d/vfguard", "in the way\n");
	ck_assert_int_eq(vfg_plan_apply(f.ctx, f.plan, NULL, &err), -1);
	ck_assert_int_eq(err.errnum, ENOTDIR);
	/* step 1, dac's chown of /dev/vfio/8, is undone */
	ck_assert_msg(strstr(err.message, "step 2 (apparmor /dev/vfio/vfio)") && strstr(err.message, "Not a directory"),
		      "%s", err.message);
	ck_assert_int_eq(stat(test_path(f.root, "/dev/vfio/8"), &after), 0);
	ck_assert_uint_eq(after.st_uid, before.st_uid);
	ck_assert_uint_eq(after.st_mode, before.st_mode);
	fixture_close(&f);
}
END_TEST

/* loading labelers */

static void expect_context_error(const char *root, const char *config, const char *message)
{
	test_write_file(root, "/etc/vfguard/vfguard.conf", config);
	vfg_error err = {0};
	vfg_context_options options = {.root = root};
	vfg_context *ctx = vfg_context_new(&options, &err);
	ck_assert_msg(ctx == NULL, "context made with config '%s'", config);
	ck_assert_msg(strstr(err.message, message), "expected '%s' in '%s'", message, err.message);
}

START_TEST(configured_labelers_are_loaded_in_order_namespace_always_last)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_configure(&f, "# only two\nlabelers = apparmor, dac\n");
	fixture_plan_ok(&f, (const char *[]){"02:00.0", NULL});
	ck_assert_uint_eq(vfg_plan_n_labelers(f.plan), 3);
	ck_assert_str_eq(vfg_plan_labeler(f.plan, 0)->name, "apparmor");
	ck_assert_str_eq(vfg_plan_labeler(f.plan, 1)->name, "dac");
	ck_assert_str_eq(vfg_plan_labeler(f.plan, 2)->name, "namespace");
	fixture_close(&f);
}
END_TEST

START_TEST(bad_labeler_configuration_is_refused_with_a_clear_error)
{
	const char *root = test_root_new(host_both);
	/* the file and line, and what the plugin directory has instead */
	expect_context_error(root, "labelers = dac nosuch\n",
			     "no labeler 'nosuch' here (vfguard-nosuch.so); the labelers here: ");
	expect_context_error(root, "labelers = dac dac\n", "dac: labeler listed twice");
	expect_context_error(root, "labelers = dac namespace\n", "always runs last");
	expect_context_error(root, "labelers = ../evil\n", "labeler names hold");
	expect_context_error(root, "colour = red\n", "vfguard.conf: line 1: unknown key 'colour'");
	expect_context_error(root, "\nlabelers\n", "line 2: expected KEY = VALUE");
	test_root_remove(root);
}
END_TEST

START_TEST(a_module_that_is_no_labeler_is_refused)
{
	const char *root = test_root_new(host_both);
	/* a real shared object without the labeler symbol: libvfguard itself */
	Dl_info info;
	ck_assert(dladdr((void *)vfg_context_new, &info) && info.dli_fname);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/plugins", root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	char link[4200];
	snprintf(link, sizeof(link), "%s/vfguard-dac.so", dir);
	ck_assert_int_eq(symlink(info.dli_fname, link), 0);
	vfg_error err = {0};
	vfg_context_options options = {.root = root, .plugin_dir = dir};
	ck_assert_ptr_null(vfg_context_new(&options, &err));
	ck_assert_msg(strstr(err.message, "not a vfguard labeler: no symbol " VFG_LABELER_SYMBOL), "%s", err.message);
	test_root_remove(root);
}
END_TEST

START_TEST(the_library_reads_neither_vfguard_root_nor_vfguard_plugin_dir)
{
	const char *root = test_root_new(host_both);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\n");
	char config[4096];
	snprintf(config, sizeof(config), "%s/etc/vfguard/vfguard.conf", root);
	/* folders that do not exist: a library reading either would fail to make the context */
	setenv("VFGUARD_ROOT", "/nonexistent-vfguard-root", 1);
	setenv("VFGUARD_PLUGIN_DIR", "/nonexistent-vfguard-plugins", 1);
	vfg_error err = {0};
	vfg_context *ctx = vfg_context_new(&(vfg_context_options){.config_file = config}, &err);
	unsetenv("VFGUARD_ROOT");
	unsetenv("VFGUARD_PLUGIN_DIR");
	ck_assert_msg(ctx != NULL, "%s", err.message);
	ck_assert_str_eq(vfg_context_root(ctx), "/");
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

/* The plan's text at @columns (VFG_TEXT_WIDE: wide), into a string to free(). */
static char *plan_text(const vfg_plan *plan, unsigned columns)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(vfg_plan_write_text_width(plan, columns, out), 0);
	fclose(out);
	return text;
}

START_TEST(plan_text_fits_narrower_terminals_cutting_paths_then_one_block_per_node)
{
	fixture f;
	fixture_open(&f, host_both);
	fixture_plan_ok(&f, (const char *[]){"01:00.0,backend=iommufd", "02:00.0", NULL});

	/* 100 columns: the table stays, the paths lose their start */
	char *text = plan_text(f.plan, 100);
	test_expect_lines_fit(text, 100, "100 columns");
	ck_assert_msg(strstr(text, "  NODE ") && strstr(text, "\n  ...") && strstr(text, "node paths cut at the start"),
		      "%.3000s", text);
	free(text);

	/* 80 and 60: no table fits; a block per node, each layer named with its cell */
	for (unsigned columns = 60; columns <= 80; columns += 20) {
		text = plan_text(f.plan, columns);
		test_expect_lines_fit(text, columns, "narrow");
		ck_assert_msg(!strstr(text, "  NODE ") &&
				      strstr(text, "\n  /dev/vfio/devices/vfio0  cdev 511:0, not shared,") &&
				      strstr(text, "\n    dac chown, cgroup inactive,"),
			      "%.3000s", text);
		free(text);
	}

	/* whatever the width, every node's full path is in the reasons */
	for (unsigned columns = 60; columns <= 120; columns += 20) {
		text = plan_text(f.plan, columns);
		for (size_t n = 0; n < vfg_plan_n_nodes(f.plan); n++) {
			char heading[VFG_PATH_MAX + 8];
			snprintf(heading, sizeof(heading), "\n  %s (", vfg_plan_node(f.plan, n)->path);
			ck_assert_msg(strstr(text, heading), "%u columns: no %s in:\n%.3000s", columns, heading, text);
		}
		free(text);
	}
	fixture_close(&f);
}
END_TEST

static Suite *plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("dac");
	tcase_add_test(tc, dac_gives_an_exclusive_node_to_the_hypervisor_uid_for_path_access);
	tcase_add_test(tc, dac_gives_a_shared_node_an_acl_entry_never_a_new_owner);
	tcase_add_test(tc, dac_leaves_a_node_the_hypervisor_can_already_open);
	tcase_add_test(tc, dac_adds_owner_rw_when_the_mode_lacks_it);
	tcase_add_test(tc, dac_takes_no_access_for_fd_access);
	suite_add_tcase(s, tc);

	tc = tcase_create("cgroup");
	tcase_add_unchecked_fixture(tc, test_cgroup_runner_setup, test_cgroup_runner_teardown);
	tcase_add_test(tc, cgroup_without_a_cgroup_is_inactive_for_path_access);
	tcase_add_test(tc, cgroup_v1_devices_cgroup_gets_an_allow_rule_for_path_access);
	tcase_add_test(tc, cgroup_v2_cgroup_gets_a_bpf_map_rule_for_path_access);
	tcase_add_test(tc, cgroup_of_a_pid_on_a_hybrid_host_uses_both_v1_and_v2);
	tcase_add_test(tc, cgroup_takes_no_rule_for_fd_access);
	tcase_add_test(tc, cgroup_that_is_no_device_cgroup_is_an_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("selinux");
	tcase_add_test(tc, selinux_is_inactive_for_path_and_fd_access_when_disabled);
	tcase_add_test(tc, selinux_forced_labels_an_exclusive_node_with_the_image_label_for_path_and_fd_access);
	tcase_add_test(tc, selinux_forced_gives_a_shared_node_the_shared_label_without_categories);
	tcase_add_test(tc, selinux_off_or_a_bad_mode_or_label_is_honoured);
	suite_add_tcase(s, tc);

	tc = tcase_create("apparmor");
	tcase_add_test(tc, apparmor_adds_an_exact_path_rule_for_path_access);
	tcase_add_test(tc, apparmor_needs_no_rule_for_fd_access_from_an_unconfined_opener);
	tcase_add_test(tc, apparmor_profile_is_given_or_named_after_the_uuid);
	suite_add_tcase(s, tc);

	tc = tcase_create("namespace");
	tcase_add_test(tc, namespace_makes_an_entry_for_path_access_in_a_private_mount_namespace);
	tcase_add_test(tc, namespace_needs_nothing_when_the_pid_shares_the_host_namespace_or_is_absent);
	tcase_add_test(tc, namespace_of_a_pid_that_does_not_run_is_an_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("plan");
	tcase_add_test(tc, plan_has_a_step_per_labeler_and_node_in_apply_order_namespace_last);
	tcase_add_test(tc, hostdevs_of_one_group_share_the_group_node_and_path_access_wins);
	tcase_add_test(tc, hostdevs_of_one_group_each_see_every_member_as_read_for_it);
	tcase_add_test(tc, the_plan_is_read_through_accessors_each_null_past_the_last);
	tcase_add_test(tc, hostdevs_of_one_group_must_share_a_backend);
	tcase_add_test(tc, plan_carries_the_vf_token);
	tcase_add_test(tc, a_vf_token_the_kernel_would_refuse_is_refused_naming_why);
	tcase_add_test(tc, apply_stops_at_the_first_failing_grant_and_changes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_test(tc, plan_text_fits_narrower_terminals_cutting_paths_then_one_block_per_node);
	suite_add_tcase(s, tc);

	tc = tcase_create("labelers");
	tcase_add_test(tc, configured_labelers_are_loaded_in_order_namespace_always_last);
	tcase_add_test(tc, bad_labeler_configuration_is_refused_with_a_clear_error);
	tcase_add_test(tc, a_module_that_is_no_labeler_is_refused);
	tcase_add_test(tc, the_library_reads_neither_vfguard_root_nor_vfguard_plugin_dir);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(plan_suite());
}
