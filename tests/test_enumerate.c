/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Host enumeration on generated trees: functions, groups, nodes, viability, backend choice. */
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "hosttree.h"
#include "testlib.h"

/* Legacy only: a container but no /dev/iommu and no cdevs, as on Debian's kernels. */
static const char host_legacy[] = "misc vfio 10:196\n"
				  "group 7 243:0\n"
				  "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n"
				  "device 0000:01:00.1 group=7 vendor=10de device=1aef class=040300 driver=vfio-pci\n";

static int enumerate(const char *root, const char *spec_text, vfg_hostdev *hostdev, vfg_error *err)
{
	vfg_context *ctx = test_context(root);
	vfg_hostdev_spec spec;
	ck_assert_msg(vfg_hostdev_spec_parse(ctx, spec_text, &spec, err) == 0, "%s", err->message);
	int r = vfg_hostdev_enumerate(ctx, &spec, hostdev, err);
	vfg_context_free(ctx);
	return r;
}

/* Plan for one hostdev and expect it to fail with @message in the error. */
static void expect_plan_error(const char *root, const char *spec, const char *message)
{
	vfg_context *ctx = test_context(root);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_int_eq(test_plan(ctx, &plan, &err, (const char *[]){spec, NULL}), -1);
	ck_assert_msg(strstr(err.message, message), "expected '%s' in '%s'", message, err.message);
	vfg_context_free(ctx);
}

/*
 * A root so long that the function's sysfs path fits and its group's does
 * not: the message names the group's path and the root, as vfg_host_path
 * says it (a trial saw uninitialised bytes printed once the plan opened its
 * sysfs directories once).
 */
START_TEST(a_group_path_too_long_under_the_root_is_named)
{
	char root[1100];
	int used = snprintf(root, sizeof(root), "/tmp/vfguard-test-long-%d", (int)getpid());
	ck_assert_int_eq(mkdir(root, 0755), 0);
	char top[64];
	snprintf(top, sizeof(top), "%s", root);
	/* 990 bytes: ROOT + "/sys/bus/pci/devices/0000:01:00.0" (33) fits in 1024, "/sys/kernel/iommu_groups/7/devices"
	 * (34) not */
	while (used < 990) {
		int step = 990 - used > 200 ? 200 : 990 - used - 1;
		if (step <= 0)
			break;
		root[used++] = '/';
		memset(root + used, 'd', (size_t)step);
		used += step;
		root[used] = '\0';
		ck_assert_int_eq(mkdir(root, 0755), 0);
	}
	ck_assert_int_eq((int)strlen(root), 990);
	char error[512] = "";
	ck_assert_msg(hosttree_build_string(host_legacy, root, error, sizeof(error)) == 0, "%s", error);
	expect_plan_error(root, "01:00.0", "/sys/kernel/iommu_groups/7/devices: host path too long under root /tmp/");
	test_root_remove(top);
}
END_TEST

/* Linux 6.1-6.5: vfio-dev/vfio0 exists for a vfio-pci device, with no dev file (no cdev). */
START_TEST(a_vfio_dev_directory_without_a_dev_file_is_no_cdev)
{
	const char *root = test_root_new(host_legacy);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices/0000:01:00.0/vfio-dev", root);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	strncat(dir, "/vfio0", sizeof(dir) - strlen(dir) - 1);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_msg(enumerate(root, "01:00.0", &hostdev, &err) == 0, "%s", err.message);
	ck_assert(hostdev.function.vfio_dev);
	ck_assert_str_eq(hostdev.cdev, "");
	ck_assert_int_eq(hostdev.backend, VFG_BACKEND_LEGACY);
	vfg_hostdev_clear(&hostdev);
	test_root_remove(root);
}
END_TEST

START_TEST(legacy_host_gives_container_and_group_nodes_with_sysfs_rdevs)
{
	const char *root = test_root_new(host_legacy);
	vfg_context *ctx = test_context(root);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(test_plan(ctx, &plan, &err, (const char *[]){"01:00.0", NULL}) == 0, "%s", err.message);

	ck_assert_int_eq(vfg_plan_hostdev(plan, 0)->backend, VFG_BACKEND_LEGACY);
	ck_assert_uint_eq(vfg_plan_n_nodes(plan), 2);
	const vfg_node *container = test_node(plan, "/dev/vfio/vfio");
	ck_assert_int_eq(container->kind, VFG_NODE_CONTAINER);
	ck_assert_uint_eq(container->rdev, makedev(10, 196));
	ck_assert(container->shared);
	ck_assert_uint_eq(container->mode, 0666);
	const vfg_node *group = test_node(plan, "/dev/vfio/7");
	ck_assert_int_eq(group->kind, VFG_NODE_GROUP);
	ck_assert_uint_eq(group->rdev, makedev(243, 0));
	ck_assert(!group->shared);
	ck_assert_uint_eq(group->group, 7);
	ck_assert_uint_eq(group->mode, 0600);
	ck_assert_uint_eq(group->uid, 0);
	vfg_plan_free(plan);
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

START_TEST(iommufd_host_gives_iommu_and_cdev_nodes_with_sysfs_rdevs)
{
	const char *root = test_root_new(test_host_gpu);
	vfg_context *ctx = test_context(root);
	vfg_plan *plan = NULL;
	vfg_error err = {0};
	ck_assert_msg(test_plan(ctx, &plan, &err, (const char *[]){"01:00.1", NULL}) == 0, "%s", err.message);

	const vfg_hostdev *h = vfg_plan_hostdev(plan, 0);
	ck_assert_int_eq(h->backend, VFG_BACKEND_IOMMUFD);
	ck_assert_str_eq(h->cdev, "vfio1");
	ck_assert_uint_eq(h->cdev_rdev, makedev(511, 1));
	ck_assert_uint_eq(vfg_plan_n_nodes(plan), 2);
	const vfg_node *iommu = test_node(plan, "/dev/iommu");
	ck_assert_int_eq(iommu->kind, VFG_NODE_IOMMUFD);
	ck_assert_uint_eq(iommu->rdev, makedev(10, 257));
	ck_assert(iommu->shared);
	ck_assert_uint_eq(iommu->mode, 0660);
	const vfg_node *cdev = test_node(plan, "/dev/vfio/devices/vfio1");
	ck_assert_int_eq(cdev->kind, VFG_NODE_CDEV);
	ck_assert_uint_eq(cdev->rdev, makedev(511, 1));
	ck_assert(!cdev->shared);
	vfg_plan_free(plan);
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

/*
 * A function a vfio driver is bound to has a normal header (the kernel binds
 * vfio-pci and its variants to no other: vfio_pci_core_register_device()),
 * so its config space is not read: here it has none, and it is still
 * enumerated as type 0. A bridge of its group, on pcieport, is read: a
 * bridge's config space gone is refused, naming it.
 */
START_TEST(a_function_on_a_vfio_driver_is_a_normal_header_without_its_config_space_read)
{
	const char *root = test_root_new(
		"misc vfio 10:196\n"
		"group 3 243:1\n"
		"device 0000:00:1c.0 group=3 vendor=8086 device=a338 class=060400 header=1 driver=pcieport\n"
		"device 0000:02:00.0 group=3 vendor=1b36 device=0010 class=010802 driver=vfio-pci "
		"parent=0000:00:1c.0\n");
	ck_assert_int_eq(unlink(test_path(root, "/sys/bus/pci/devices/0000:02:00.0/config")), 0);
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_msg(enumerate(root, "0000:02:00.0", &hostdev, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(hostdev.group.n_members, 2);
	ck_assert_uint_eq(hostdev.group.members[0].header_type, 1);
	ck_assert_uint_eq(hostdev.group.members[1].header_type, 0);
	vfg_hostdev_clear(&hostdev);

	ck_assert_int_eq(unlink(test_path(root, "/sys/bus/pci/devices/0000:00:1c.0/config")), 0);
	ck_assert_int_eq(enumerate(root, "0000:02:00.0", &hostdev, &err), -1);
	ck_assert_msg(strstr(err.message, "0000:00:1c.0/config") && strstr(err.message, "cannot read PCI config space"),
		      "%s", err.message);
	test_root_remove(root);
}
END_TEST

START_TEST(group_members_carry_ids_class_header_and_driver)
{
	const char *root = test_root_new(
		"misc vfio 10:196\n"
		"group 3 243:1\n"
		"device 0000:00:1c.0 group=3 vendor=8086 device=a338 class=060400 header=1 driver=pcieport\n"
		"device 0000:02:00.0 group=3 vendor=1b36 device=0010 class=010802 driver=vfio-pci "
		"parent=0000:00:1c.0\n"
		"device 0000:02:00.1 group=3 vendor=1b36 device=0011 class=ff0000\n");
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_msg(enumerate(root, "0000:02:00.0", &hostdev, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(hostdev.group.number, 3);
	ck_assert_uint_eq(hostdev.group.n_members, 3);

	const vfg_pci_function *bridge = &hostdev.group.members[0];
	ck_assert_uint_eq(bridge->addr.slot, 0x1c);
	ck_assert_uint_eq(bridge->vendor, 0x8086);
	ck_assert_uint_eq(bridge->device, 0xa338);
	ck_assert_uint_eq(bridge->class_code, 0x060400);
	ck_assert_uint_eq(bridge->header_type, 1);
	ck_assert_str_eq(bridge->driver, "pcieport");

	const vfg_pci_function *self = &hostdev.group.members[1];
	ck_assert_uint_eq(self->device, 0x0010);
	ck_assert_uint_eq(self->class_code, 0x010802);
	ck_assert_uint_eq(self->header_type, 0);
	ck_assert_str_eq(self->driver, "vfio-pci");

	const vfg_pci_function *unbound = &hostdev.group.members[2];
	ck_assert_str_eq(unbound->driver, "");
	ck_assert(!unbound->vfio_dev);
	vfg_hostdev_clear(&hostdev);
	test_root_remove(root);
}
END_TEST

/*
 * Vendor, device and class come from the function's uevent, as the kernel
 * prints it (driver core lines first, PCI_CLASS "%04X" of 24 bits): the vendor,
 * device and class files, which a kernel fills from the same fields, are
 * not read then; here they say something else to show it.
 */
START_TEST(ids_and_class_come_from_the_uevent_when_it_has_them)
{
	const char *root = test_root_new(host_legacy);
	test_write_file(root, "/sys/bus/pci/devices/0000:01:00.0/uevent",
			"DRIVER=vfio-pci\nPCI_CLASS=20000\nPCI_ID=8086:10CA\nPCI_SUBSYS_ID=8086:0000\n"
			"PCI_SLOT_NAME=0000:01:00.0\nMODALIAS=pci:v00008086d000010CAsv00008086sd00000000bc02sc00i00\n");
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_msg(enumerate(root, "01:00.0", &hostdev, &err) == 0, "%s", err.message);
	ck_assert_uint_eq(hostdev.function.vendor, 0x8086);
	ck_assert_uint_eq(hostdev.function.device, 0x10ca);
	ck_assert_uint_eq(hostdev.function.class_code, 0x020000);
	ck_assert_str_eq(hostdev.function.driver, "vfio-pci");
	vfg_hostdev_clear(&hostdev);
	test_root_remove(root);
}
END_TEST

/* A tree without a uevent, or one without both lines: the three files are read. */
START_TEST(without_the_uevent_lines_the_attribute_files_are_read)
{
	static const char *const uevents[] = {NULL, "", "DRIVER=vfio-pci\nPCI_ID=8086:10CA\n", "PCI_CLASS=20000\n",
					      "PCI_CLASS=20000\nPCI_ID=8086:10CA"};
	const char *root = test_root_new(host_legacy);
	char uevent[4096];
	snprintf(uevent, sizeof(uevent), "%s", test_path(root, "/sys/bus/pci/devices/0000:01:00.0/uevent"));
	for (size_t i = 0; i < sizeof(uevents) / sizeof(uevents[0]); i++) {
		if (uevents[i])
			test_write_file(root, "/sys/bus/pci/devices/0000:01:00.0/uevent", uevents[i]);
		else
			ck_assert_int_eq(unlink(uevent), 0);
		vfg_hostdev hostdev;
		vfg_error err = {0};
		ck_assert_msg(enumerate(root, "01:00.0", &hostdev, &err) == 0, "%zu: %s", i, err.message);
		ck_assert_uint_eq(hostdev.function.vendor, 0x10de);
		ck_assert_uint_eq(hostdev.function.device, 0x2236);
		ck_assert_uint_eq(hostdev.function.class_code, 0x030000);
		vfg_hostdev_clear(&hostdev);
	}
	test_root_remove(root);
}
END_TEST

/* A line that is there but not as the kernel prints it is refused, not passed over to the files. */
START_TEST(a_malformed_uevent_id_line_is_an_error_naming_it)
{
	static const char *const lines[] = {"PCI_ID=8086\n",       "PCI_ID=8086:10CA0\n", "PCI_ID=:10CA\n",
					    "PCI_CLASS=1000000\n", "PCI_CLASS=0x20000\n", "PCI_ID=8086:-1\n"};
	const char *root = test_root_new(host_legacy);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		test_write_file(root, "/sys/bus/pci/devices/0000:01:00.0/uevent", lines[i]);
		vfg_hostdev hostdev;
		vfg_error err = {0};
		ck_assert_int_eq(enumerate(root, "01:00.0", &hostdev, &err), -1);
		ck_assert_msg(strstr(err.message, "/uevent") && strstr(err.message, "expected PCI_ID=VVVV:DDDD"),
			      "%zu: %s", i, err.message);
		char line[32];
		snprintf(line, sizeof(line), "'%.*s'", (int)strcspn(lines[i], "\n"), lines[i]);
		ck_assert_msg(strstr(err.message, line), "%zu: %s", i, err.message);
	}
	test_root_remove(root);
}
END_TEST

START_TEST(missing_node_is_an_error_naming_the_path)
{
	const char *root = test_root_new(host_legacy);
	ck_assert_int_eq(unlink(test_path(root, "/dev/vfio/7")), 0);
	expect_plan_error(root, "01:00.0", "/dev/vfio/7: missing");
	test_root_remove(root);
}
END_TEST

START_TEST(symlink_node_is_refused_not_followed)
{
	const char *root = test_root_new(host_legacy);
	ck_assert_int_eq(unlink(test_path(root, "/dev/vfio/7")), 0);
	ck_assert_int_eq(mknod(test_path(root, "/dev/vfio/real7"), S_IFCHR | 0600, makedev(243, 0)), 0);
	ck_assert_int_eq(symlink("real7", test_path(root, "/dev/vfio/7")), 0);
	expect_plan_error(root, "01:00.0", "/dev/vfio/7: is a symlink to 'real7'");
	test_root_remove(root);
}
END_TEST

START_TEST(symlink_directory_on_the_way_is_refused)
{
	const char *root = test_root_new(host_legacy);
	char moved[4096];
	snprintf(moved, sizeof(moved), "%s", test_path(root, "/dev/elsewhere"));
	ck_assert_int_eq(rename(test_path(root, "/dev/vfio"), moved), 0);
	ck_assert_int_eq(symlink("elsewhere", test_path(root, "/dev/vfio")), 0);
	expect_plan_error(root, "01:00.0", "a directory on the way is a symlink");
	test_root_remove(root);
}
END_TEST

START_TEST(node_with_another_rdev_is_an_error_giving_both)
{
	const char *root = test_root_new(host_legacy);
	ck_assert_int_eq(unlink(test_path(root, "/dev/vfio/7")), 0);
	ck_assert_int_eq(mknod(test_path(root, "/dev/vfio/7"), S_IFCHR | 0600, makedev(243, 1)), 0);
	expect_plan_error(root, "01:00.0", "/dev/vfio/7: is character device 243:1, but sysfs gives 243:0");
	test_root_remove(root);
}
END_TEST

START_TEST(node_of_another_file_type_is_an_error_naming_the_type)
{
	const char *root = test_root_new(host_legacy);
	ck_assert_int_eq(unlink(test_path(root, "/dev/vfio/7")), 0);
	ck_assert_int_eq(mknod(test_path(root, "/dev/vfio/7"), S_IFBLK | 0600, makedev(243, 0)), 0);
	expect_plan_error(root, "01:00.0", "/dev/vfio/7: is a block device, not a character device 243:0");
	ck_assert_int_eq(unlink(test_path(root, "/dev/vfio/7")), 0);
	test_write_file(root, "/dev/vfio/7", "");
	expect_plan_error(root, "01:00.0", "/dev/vfio/7: is a regular file");
	test_root_remove(root);
}
END_TEST

START_TEST(shared_node_is_checked_like_any_other)
{
	const char *root = test_root_new(test_host_gpu);
	ck_assert_int_eq(unlink(test_path(root, "/dev/iommu")), 0);
	ck_assert_int_eq(mknod(test_path(root, "/dev/iommu"), S_IFCHR | 0660, makedev(10, 200)), 0);
	expect_plan_error(root, "01:00.0,backend=iommufd",
			  "/dev/iommu: is character device 10:200, but sysfs gives 10:257");
	test_root_remove(root);
}
END_TEST

/* Every kind of other group member the kernel lets stay while userspace owns the group. */
static const struct {
	const char *member; /* the manifest's keys for 0000:05:00.1 */
	const char *what;
} viable_members[] = {
	{"class=020000", "an unbound function"},
	{"class=020000 driver=vfio-pci", "vfio-pci"},
	{"class=020000 driver=mlx5_vfio_pci cdev=vfio9:511:9", "a vfio variant driver with vfio-dev/"},
	{"class=020000 driver=hisi_acc_vfio_pci", "a vfio variant driver known by name (no cdev support)"},
	{"class=020000 driver=pci-stub", "pci-stub"},
	{"driver=pcieport class=060400 header=1", "a PCIe port"},
	{"class=060400 header=1", "an unbound bridge"},
	{"driver=pci-stub class=060400 header=1", "a bridge on pci-stub"},
	{"class=060700 header=2", "an unbound CardBus bridge"},
};

START_TEST(group_stays_viable_with_each_allowed_kind_of_member)
{
	char manifest[1024];
	snprintf(manifest, sizeof(manifest),
		 "misc vfio 10:196\n"
		 "group 5 243:5\n"
		 "device 0000:05:00.0 group=5 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
		 "device 0000:05:00.1 group=5 vendor=8086 device=10d3 %s\n",
		 viable_members[_i].member);
	const char *root = test_root_new(manifest);
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_msg(enumerate(root, "05:00.0", &hostdev, &err) == 0, "%s: %s", viable_members[_i].what, err.message);
	ck_assert_uint_eq(hostdev.group.n_members, 2);
	vfg_hostdev_clear(&hostdev);
	test_root_remove(root);
}
END_TEST

START_TEST(group_with_a_host_driver_is_not_viable_and_names_each_offender)
{
	const char *root =
		test_root_new("misc vfio 10:196\n"
			      "group 5 243:5\n"
			      "device 0000:05:00.0 group=5 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
			      "device 0000:05:00.1 group=5 vendor=8086 device=10d3 class=020000 driver=e1000e\n"
			      "device 0000:05:00.2 group=5 vendor=8086 device=10d3 class=020000 driver=pci-stub\n"
			      "device 0000:05:00.3 group=5 vendor=8086 device=10d3 class=020000 driver=igb\n");
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_int_eq(enumerate(root, "05:00.0", &hostdev, &err), -1);
	ck_assert_msg(strstr(err.message, "IOMMU group 5 is not viable"), "%s", err.message);
	ck_assert_msg(strstr(err.message, "0000:05:00.1 is bound to e1000e"), "%s", err.message);
	ck_assert_msg(strstr(err.message, "0000:05:00.3 is bound to igb"), "%s", err.message);
	ck_assert_msg(!strstr(err.message, "0000:05:00.2"), "pci-stub named as an offender: %s", err.message);
	test_root_remove(root);
}
END_TEST

/*
 * A bridge is no exception: pci_dma_configure() counts every driver that does
 * not declare driver_managed_dma, and shpchp and yenta_cardbus do not.
 */
static const struct {
	const char *member; /* the manifest's keys for 0000:05:00.1 */
	const char *driver;
} blocking_bridges[] = {
	{"driver=shpchp class=060400 header=1", "shpchp"},
	{"driver=yenta_cardbus class=060700 header=2", "yenta_cardbus"},
	{"driver=bridge_helper class=060400 header=1", "bridge_helper"},
};

START_TEST(group_with_a_bridge_on_a_driver_that_does_not_manage_dma_is_not_viable)
{
	char manifest[1024], expected[256];
	snprintf(manifest, sizeof(manifest),
		 "misc vfio 10:196\n"
		 "group 5 243:5\n"
		 "device 0000:05:00.0 group=5 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
		 "device 0000:05:00.1 group=5 vendor=8086 device=244e %s\n",
		 blocking_bridges[_i].member);
	const char *root = test_root_new(manifest);
	snprintf(expected, sizeof(expected),
		 "IOMMU group 5 is not viable: bridge 0000:05:00.1 is bound to %s (the kernel counts a bridge's "
		 "driver as any host driver that does not declare driver_managed_dma; unbind it or bind it to "
		 "pci-stub; no vfio driver takes a bridge)",
		 blocking_bridges[_i].driver);
	expect_plan_error(root, "05:00.0", expected);
	test_root_remove(root);
}
END_TEST

/* A bridge and a NIC in the way: each named, and vfio-pci not advised for the bridge. */
START_TEST(group_with_a_bridge_and_a_host_driver_names_both_and_advises_each)
{
	const char *root =
		test_root_new("misc vfio 10:196\n"
			      "group 5 243:5\n"
			      "device 0000:05:00.0 group=5 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n"
			      "device 0000:05:00.1 group=5 vendor=8086 device=10d3 class=020000 driver=e1000e\n"
			      "device 0000:05:01.0 group=5 vendor=8086 device=244e class=060400 header=1 "
			      "driver=shpchp\n");
	expect_plan_error(root, "05:00.0",
			  "IOMMU group 5 is not viable: 0000:05:00.1 is bound to e1000e; bridge 0000:05:01.0 is bound "
			  "to shpchp (");
	expect_plan_error(
		root, "05:00.0",
		"(a host driver that does DMA shares the group, and the kernel counts a bridge's driver as any "
		"other that does not declare driver_managed_dma; bind each to vfio-pci or pci-stub, or unbind "
		"it; a bridge to pci-stub or to no driver, since no vfio driver takes one)");
	test_root_remove(root);
}
END_TEST

/* Binding the device would not do while a bridge of its group is on shpchp: the plan says so, naming it. */
START_TEST(device_not_on_vfio_behind_a_bridge_on_shpchp_is_told_the_bridge)
{
	const char *root = test_root_new(
		"misc vfio 10:196\n"
		"group 6 243:6\n"
		"device 0000:00:05.0 group=6 vendor=1b36 device=0001 class=060400 header=1 driver=shpchp\n"
		"device 0000:01:00.0 group=6 vendor=1234 device=11e8 class=00ff00 parent=0000:00:05.0\n");
	expect_plan_error(root, "01:00.0",
			  "is bound to no driver, not to vfio-pci, and binding it would not do: IOMMU group 6 is not "
			  "viable: bridge 0000:00:05.0 is bound to shpchp");
	expect_plan_error(root, "01:00.0", "unbind it or bind it to pci-stub; no vfio driver takes a bridge");
	expect_plan_error(root, "01:00.0", "so bind this one to vfio-pci after)");
	/* managed: apply binds it, the user does not */
	expect_plan_error(root, "01:00.0,managed=yes", "and apply binds this one to vfio-pci after (managed=yes))");
	test_root_remove(root);
}
END_TEST

START_TEST(device_not_bound_to_vfio_is_refused_naming_its_driver)
{
	const char *root =
		test_root_new("misc vfio 10:196\n"
			      "group 2\n"
			      "device 0000:02:00.0 group=2 vendor=144d device=a808 class=010802 driver=nvme\n"
			      "group 3\n"
			      "device 0000:03:00.0 group=3 vendor=144d device=a808 class=010802\n");
	expect_plan_error(root, "02:00.0", "0000:02:00.0: is bound to nvme, not to vfio-pci");
	expect_plan_error(root, "03:00.0", "0000:03:00.0: is bound to no driver");
	test_root_remove(root);
}
END_TEST

START_TEST(device_not_on_vfio_in_a_group_that_is_not_viable_is_told_the_group_problem)
{
	/* Binding 06:00.0 to vfio-pci would not do: detach refuses it while 06:00.1 is on e1000e. */
	const char *root =
		test_root_new("misc vfio 10:196\n"
			      "group 6 243:6\n"
			      "device 0000:06:00.0 group=6 vendor=8086 device=10d3 class=020000 driver=e1000e\n"
			      "device 0000:06:00.1 group=6 vendor=8086 device=10d3 class=020000 driver=e1000e\n");
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_int_eq(enumerate(root, "06:00.0", &hostdev, &err), -1);
	ck_assert_msg(strstr(err.message, "is bound to e1000e, not to vfio-pci"), "%s", err.message);
	ck_assert_msg(strstr(err.message, "IOMMU group 6 is not viable: 0000:06:00.1 is bound to e1000e"), "%s",
		      err.message);
	ck_assert_msg(!strstr(err.message, "bind it to vfio-pci first"), "advice detach would refuse: %s", err.message);
	test_root_remove(root);
}
END_TEST

START_TEST(device_without_iommu_group_is_refused)
{
	const char *root = test_root_new(host_legacy);
	ck_assert_int_eq(unlink(test_path(root, "/sys/bus/pci/devices/0000:01:00.0/iommu_group")), 0);
	expect_plan_error(root, "01:00.0", "has no IOMMU group");
	expect_plan_error(root, "07:00.0", "0000:07:00.0: no such PCI function on this host");
	test_root_remove(root);
}
END_TEST

START_TEST(auto_backend_picks_iommufd_when_cdev_and_dev_iommu_exist)
{
	const char *root = test_root_new(test_host_gpu);
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_msg(enumerate(root, "01:00.0", &hostdev, &err) == 0, "%s", err.message);
	ck_assert_int_eq(hostdev.backend, VFG_BACKEND_IOMMUFD);
	ck_assert_ptr_nonnull(strstr(hostdev.backend_reason, "vfio0"));
	vfg_hostdev_clear(&hostdev);

	ck_assert_msg(enumerate(root, "01:00.0,backend=legacy", &hostdev, &err) == 0, "%s", err.message);
	ck_assert_int_eq(hostdev.backend, VFG_BACKEND_LEGACY);
	ck_assert_str_eq(hostdev.backend_reason, "asked for");
	vfg_hostdev_clear(&hostdev);
	test_root_remove(root);
}
END_TEST

START_TEST(auto_backend_falls_back_to_legacy_saying_why)
{
	const char *root = test_root_new(host_legacy);
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_msg(enumerate(root, "01:00.0", &hostdev, &err) == 0, "%s", err.message);
	ck_assert_int_eq(hostdev.backend, VFG_BACKEND_LEGACY);
	ck_assert_msg(strstr(hostdev.backend_reason, "no vfio cdev"), "%s", hostdev.backend_reason);
	vfg_hostdev_clear(&hostdev);
	test_root_remove(root);

	/* cdevs but no /dev/iommu */
	root = test_root_new(test_host_gpu);
	ck_assert_int_eq(unlink(test_path(root, "/dev/iommu")), 0);
	ck_assert_msg(enumerate(root, "01:00.0", &hostdev, &err) == 0, "%s", err.message);
	ck_assert_int_eq(hostdev.backend, VFG_BACKEND_LEGACY);
	ck_assert_msg(strstr(hostdev.backend_reason, "no /dev/iommu"), "%s", hostdev.backend_reason);
	vfg_hostdev_clear(&hostdev);
	test_root_remove(root);
}
END_TEST

START_TEST(explicit_backend_the_host_cannot_serve_is_refused_saying_why)
{
	const char *root = test_root_new(host_legacy);
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_int_eq(enumerate(root, "01:00.0,backend=iommufd", &hostdev, &err), -1);
	ck_assert_msg(strstr(err.message, "backend iommufd cannot serve it") && strstr(err.message, "VFIO_DEVICE_CDEV"),
		      "%s", err.message);
	test_root_remove(root);

	root = test_root_new(test_host_gpu);
	ck_assert_int_eq(unlink(test_path(root, "/dev/iommu")), 0);
	ck_assert_int_eq(enumerate(root, "01:00.0,backend=iommufd", &hostdev, &err), -1);
	ck_assert_msg(strstr(err.message, "no /dev/iommu"), "%s", err.message);
	test_root_remove(root);

	/* iommufd only: no legacy container */
	root = test_root_new("misc iommu 10:257\n"
			     "group 7 243:0\n"
			     "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci "
			     "cdev=vfio0:511:0\n");
	ck_assert_int_eq(enumerate(root, "01:00.0,backend=legacy", &hostdev, &err), -1);
	ck_assert_msg(strstr(err.message, "backend legacy cannot serve it") && strstr(err.message, "VFIO_CONTAINER"),
		      "%s", err.message);
	test_root_remove(root);
}
END_TEST

START_TEST(no_backend_at_all_is_refused_with_both_reasons)
{
	const char *root =
		test_root_new("group 7\n"
			      "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n");
	vfg_hostdev hostdev;
	vfg_error err = {0};
	ck_assert_int_eq(enumerate(root, "01:00.0", &hostdev, &err), -1);
	ck_assert_msg(strstr(err.message, "no backend can serve it: iommufd:") && strstr(err.message, "legacy:"), "%s",
		      err.message);
	test_root_remove(root);
}
END_TEST

static Suite *enumerate_suite(void)
{
	Suite *s = suite_create("enumerate");
	TCase *tc = tcase_create("backends");
	tcase_add_test(tc, legacy_host_gives_container_and_group_nodes_with_sysfs_rdevs);
	tcase_add_test(tc, a_vfio_dev_directory_without_a_dev_file_is_no_cdev);
	tcase_add_test(tc, a_group_path_too_long_under_the_root_is_named);
	tcase_add_test(tc, iommufd_host_gives_iommu_and_cdev_nodes_with_sysfs_rdevs);
	tcase_add_test(tc, group_members_carry_ids_class_header_and_driver);
	tcase_add_test(tc, a_function_on_a_vfio_driver_is_a_normal_header_without_its_config_space_read);
	tcase_add_test(tc, ids_and_class_come_from_the_uevent_when_it_has_them);
	tcase_add_test(tc, without_the_uevent_lines_the_attribute_files_are_read);
	tcase_add_test(tc, a_malformed_uevent_id_line_is_an_error_naming_it);
	suite_add_tcase(s, tc);

	tc = tcase_create("nodes");
	tcase_add_test(tc, missing_node_is_an_error_naming_the_path);
	tcase_add_test(tc, symlink_node_is_refused_not_followed);
	tcase_add_test(tc, symlink_directory_on_the_way_is_refused);
	tcase_add_test(tc, node_with_another_rdev_is_an_error_giving_both);
	tcase_add_test(tc, node_of_another_file_type_is_an_error_naming_the_type);
	tcase_add_test(tc, shared_node_is_checked_like_any_other);
	suite_add_tcase(s, tc);

	tc = tcase_create("viability");
	tcase_add_loop_test(tc, group_stays_viable_with_each_allowed_kind_of_member, 0,
			    sizeof(viable_members) / sizeof(viable_members[0]));
	tcase_add_test(tc, group_with_a_host_driver_is_not_viable_and_names_each_offender);
	tcase_add_loop_test(tc, group_with_a_bridge_on_a_driver_that_does_not_manage_dma_is_not_viable, 0,
			    sizeof(blocking_bridges) / sizeof(blocking_bridges[0]));
	tcase_add_test(tc, group_with_a_bridge_and_a_host_driver_names_both_and_advises_each);
	tcase_add_test(tc, device_not_on_vfio_behind_a_bridge_on_shpchp_is_told_the_bridge);
	tcase_add_test(tc, device_not_bound_to_vfio_is_refused_naming_its_driver);
	tcase_add_test(tc, device_not_on_vfio_in_a_group_that_is_not_viable_is_told_the_group_problem);
	tcase_add_test(tc, device_without_iommu_group_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("backend choice");
	tcase_add_test(tc, auto_backend_picks_iommufd_when_cdev_and_dev_iommu_exist);
	tcase_add_test(tc, auto_backend_falls_back_to_legacy_saying_why);
	tcase_add_test(tc, explicit_backend_the_host_cannot_serve_is_refused_saying_why);
	tcase_add_test(tc, no_backend_at_all_is_refused_with_both_reasons);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(enumerate_suite());
}
