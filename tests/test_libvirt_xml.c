/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt domain XML parser on XMLs written in libvirt's documented
 * format (tests/data/libvirt): every field the hook takes, hostdev by hostdev,
 * and a clear error, with nothing kept, for every malformed one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt_xml.h"
#include "testlib.h"

/* The file's content; free() it. */
static char *data_file(const char *name, size_t *size)
{
	const char *dir = getenv("VFGUARD_TEST_DATA");
	ck_assert_msg(dir != NULL, "VFGUARD_TEST_DATA is not set");
	char path[1024];
	snprintf(path, sizeof(path), "%s/libvirt/%s", dir, name);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	char *text = calloc(1, 65536);
	ck_assert_ptr_nonnull(text);
	*size = fread(text, 1, 65535, f);
	ck_assert_msg(!ferror(f), "cannot read %s", path);
	/* every data file holds something: an empty read would fail to parse for the wrong reason */
	ck_assert_msg(*size > 0 && *size < 65535, "%s: %zu bytes", path, *size);
	fclose(f);
	return text;
}

static void parse_ok(const char *name, libvirt_domain *domain)
{
	size_t size;
	char *xml = data_file(name, &size);
	vfg_error err = {0};
	ck_assert_msg(libvirt_domain_parse(xml, size, domain, &err) == 0, "%s: %s", name, err.message);
	free(xml);
	ck_assert_ptr_eq(domain->domain.hostdevs, domain->specs);
	ck_assert_uint_eq(domain->domain.n_hostdevs, domain->n_specs);
}

/* The parse of @name fails with a message holding every string in @expected (NULL-terminated) and keeps nothing. */
static void parse_fails(const char *name, const char *const *expected)
{
	size_t size;
	char *xml = data_file(name, &size);
	vfg_error err = {0};
	libvirt_domain domain;
	memset(&domain, 0xa5, sizeof(domain));
	ck_assert_msg(libvirt_domain_parse(xml, size, &domain, &err) == -1, "%s parsed", name);
	for (size_t i = 0; expected[i]; i++)
		ck_assert_msg(strstr(err.message, expected[i]), "%s: '%s' lacks '%s'", name, err.message, expected[i]);
	ck_assert_msg(!strchr(err.message, '\n'), "%s: a message of several lines: %s", name, err.message);
	ck_assert_ptr_null(domain.specs);
	ck_assert_uint_eq(domain.n_specs, 0);
	ck_assert_str_eq(domain.domain.name, "");
	free(xml);
}

static void expect_hostdev(const vfg_hostdev_spec *spec, const char *bdf, vfg_backend backend, vfg_access access,
			   bool managed, const char *vf_token)
{
	char text[VFG_PCI_ADDR_STRLEN];
	ck_assert_str_eq(vfg_pci_addr_format(&spec->addr, text), bdf);
	ck_assert_msg(spec->backend == backend, "%s: backend %s, expected %s", bdf, vfg_backend_name(spec->backend),
		      vfg_backend_name(backend));
	ck_assert_msg(spec->access == access, "%s: access %s, expected %s", bdf, vfg_access_name(spec->access),
		      vfg_access_name(access));
	ck_assert_msg(spec->managed == managed, "%s: managed %d", bdf, spec->managed);
	ck_assert_str_eq(spec->vf_token, vf_token);
}

START_TEST(legacy_unmanaged_gpu_with_generated_selinux_labels)
{
	libvirt_domain d;
	parse_ok("legacy-unmanaged.xml", &d);
	ck_assert_str_eq(d.domain.name, "gpu-legacy");
	ck_assert_str_eq(d.domain.uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
	ck_assert_uint_eq(d.domain.memory, 8ull << 30);
	ck_assert(!d.domain.viommu);
	ck_assert_uint_eq(d.seclabels, LIBVIRT_SECLABEL_SELINUX | LIBVIRT_SECLABEL_DAC);
	ck_assert(d.dac_label);
	ck_assert_uint_eq(d.domain.uid, 107);
	ck_assert_uint_eq(d.domain.gid, 107);
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "selinux.label"), "system_u:system_r:svirt_t:s0:c392,c662");
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "selinux.image_label"),
			 "system_u:object_r:svirt_image_t:s0:c392,c662");
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "apparmor.profile"), "");
	ck_assert(!d.selinux_none && !d.apparmor_none);
	ck_assert_int_eq(d.domain.pid, 0);
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "cgroup.path"), "");
	ck_assert_uint_eq(d.n_specs, 1);
	/* the guest-side <address> of the hostdev is not the host device */
	expect_hostdev(&d.specs[0], "0000:01:00.0", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false, "");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(managed_iommufd_nic_is_fd_access_with_a_viommu_and_the_apparmor_profile_named_by_uuid)
{
	libvirt_domain d;
	parse_ok("managed-iommufd.xml", &d);
	ck_assert_str_eq(d.domain.name, "nic-iommufd");
	ck_assert_uint_eq(d.domain.memory, 2097152ull * 1024);
	ck_assert(d.domain.viommu);
	ck_assert_uint_eq(d.seclabels, LIBVIRT_SECLABEL_APPARMOR | LIBVIRT_SECLABEL_DAC);
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "apparmor.profile"),
			 "libvirt-6f1c0c5e-8d4a-4f0e-9c2b-1a2b3c4d5e6f");
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "selinux.label"), "");
	ck_assert_uint_eq(d.domain.uid, 64055);
	ck_assert_uint_eq(d.domain.gid, 64055);
	ck_assert_uint_eq(d.n_specs, 1);
	expect_hostdev(&d.specs[0], "0000:02:00.0", VFG_BACKEND_IOMMUFD, VFG_ACCESS_FD, true, "");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(vf_token_from_source_and_metadata_in_canonical_form)
{
	libvirt_domain d;
	parse_ok("vf-token.xml", &d);
	ck_assert_str_eq(d.domain.name, "vf-guest");
	ck_assert_uint_eq(d.domain.memory, 1024ull << 20);
	ck_assert_uint_eq(d.n_specs, 1);
	expect_hostdev(&d.specs[0], "0000:03:00.1", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false,
		       "5d1b2e73-0c47-4f58-9a8b-7c6d5e4f3a2b");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(vf_token_inside_the_source_address_is_read)
{
	libvirt_domain d;
	parse_ok("vf-token-in-address.xml", &d);
	ck_assert_uint_eq(d.n_specs, 1);
	expect_hostdev(&d.specs[0], "0000:03:00.1", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false,
		       "5d1b2e73-0c47-4f58-9a8b-7c6d5e4f3a2b");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(several_pci_hostdevs_in_order_and_other_hostdevs_ignored)
{
	libvirt_domain d;
	parse_ok("several-hostdevs.xml", &d);
	ck_assert_str_eq(d.domain.name, "workstation");
	ck_assert_uint_eq(d.domain.memory, 16ull << 30);
	ck_assert_uint_eq(d.n_specs, 3);
	expect_hostdev(&d.specs[0], "0000:40:00.0", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, true, "");
	/* decimal numbers, bus 64 = 0x40 */
	expect_hostdev(&d.specs[1], "0000:40:00.1", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, true, "");
	/* iommufd, but the metadata asks for path access */
	expect_hostdev(&d.specs[2], "0001:41:00.0", VFG_BACKEND_IOMMUFD, VFG_ACCESS_PATH, false, "");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(static_selinux_label_and_dac_by_names)
{
	libvirt_domain d;
	parse_ok("seclabel-selinux-static.xml", &d);
	ck_assert_uint_eq(d.seclabels, LIBVIRT_SECLABEL_SELINUX | LIBVIRT_SECLABEL_DAC);
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "selinux.label"), "system_u:system_r:svirt_t:s0:c10,c20");
	/* no imagelabel: the selinux labeler derives it from the process label */
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "selinux.image_label"), "");
	ck_assert(d.dac_label);
	ck_assert_uint_eq(d.domain.uid, 65534); /* nobody */
	ck_assert_uint_eq(d.domain.gid, 65534); /* nogroup */
	ck_assert_uint_eq(d.domain.memory, 2ull << 30);
	ck_assert_uint_eq(d.n_specs, 1);
	/* managed omitted is managed='no' */
	expect_hostdev(&d.specs[0], "0000:01:00.0", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false, "");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(static_apparmor_profile_and_labels_libvirt_has_not_generated_yet)
{
	libvirt_domain d;
	parse_ok("seclabel-apparmor-static.xml", &d);
	ck_assert_uint_eq(d.seclabels, LIBVIRT_SECLABEL_SELINUX | LIBVIRT_SECLABEL_APPARMOR | LIBVIRT_SECLABEL_DAC);
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "apparmor.profile"), "vfguard-test-profile");
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "selinux.label"), "");
	ck_assert(!d.selinux_none);
	/* a dynamic dac label without <label>: the hook asks qemu.conf */
	ck_assert(!d.dac_label);
	ck_assert_uint_eq(d.domain.uid, 0);
	ck_assert_uint_eq(d.domain.memory, 536870912);
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(seclabel_none_without_model_turns_selinux_and_apparmor_off)
{
	libvirt_domain d;
	parse_ok("seclabel-none.xml", &d);
	ck_assert(d.selinux_none);
	ck_assert(d.apparmor_none);
	ck_assert_uint_eq(d.seclabels, 0);
	ck_assert_str_eq(vfg_domain_attr(&d.domain, "apparmor.profile"), "");
	ck_assert_uint_eq(d.domain.memory, 1000ull * 1000 * 1000);
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(domain_wide_iommufd_is_the_default_a_hostdev_may_leave)
{
	libvirt_domain d;
	parse_ok("domain-iommufd.xml", &d);
	ck_assert_uint_eq(d.n_specs, 2);
	expect_hostdev(&d.specs[0], "0000:01:00.0", VFG_BACKEND_IOMMUFD, VFG_ACCESS_FD, false, "");
	expect_hostdev(&d.specs[1], "0000:02:00.0", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false, "");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(domain_without_hostdevs_has_none)
{
	libvirt_domain d;
	parse_ok("no-hostdev.xml", &d);
	ck_assert_str_eq(d.domain.name, "plain");
	ck_assert_uint_eq(d.n_specs, 0);
	ck_assert_ptr_null(d.specs);
	ck_assert_uint_eq(d.domain.memory, 1ull << 30);
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(interface_hostdevs_managed_and_unmanaged_are_hostdevs_and_ordinary_nics_are_not)
{
	libvirt_domain d;
	parse_ok("interface-hostdev.xml", &d);
	ck_assert_str_eq(d.domain.name, "sriov-guest");
	ck_assert_str_eq(d.domain.uuid, "0f3c8a52-7b1e-4d6a-9c2f-3e4d5a6b7c8d");
	ck_assert_uint_eq(d.domain.memory, 2ull << 30);
	ck_assert_uint_eq(d.domain.uid, 107);
	/* the network interface without <actual> and the bridge are no VFIO devices */
	ck_assert_uint_eq(d.n_specs, 2);
	/* the guest-side <address> of the interface is not the VF */
	expect_hostdev(&d.specs[0], "0000:05:10.2", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, true, "");
	expect_hostdev(&d.specs[1], "0001:06:00.4", VFG_BACKEND_IOMMUFD, VFG_ACCESS_FD, false,
		       "5d1b2e73-0c47-4f58-9a8b-7c6d5e4f3a2b");
	/* no model: vfio-pci */
	ck_assert_str_eq(d.specs[0].driver, "");
	ck_assert_str_eq(d.specs[1].driver, "");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(network_interface_with_a_hostdev_actual_is_that_vf_and_metadata_may_name_it)
{
	libvirt_domain d;
	parse_ok("network-actual-hostdev.xml", &d);
	ck_assert_str_eq(d.domain.name, "pool-guest");
	ck_assert_uint_eq(d.domain.memory, 4096ull << 20);
	/* the bridge actual and the interface without one are ordinary NICs */
	ck_assert_uint_eq(d.n_specs, 1);
	/* iommufd from the domain-wide switch; path access and the token from vfguard's metadata */
	expect_hostdev(&d.specs[0], "0000:81:02.3", VFG_BACKEND_IOMMUFD, VFG_ACCESS_PATH, true,
		       "00112233-4455-6677-8899-aabbccddeeff");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(variant_driver_model_is_the_driver_a_managed_hostdev_is_bound_to)
{
	libvirt_domain d;
	parse_ok("variant-driver.xml", &d);
	ck_assert_str_eq(d.domain.name, "variant-guest");
	ck_assert_uint_eq(d.n_specs, 3);
	expect_hostdev(&d.specs[0], "0000:3b:00.2", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, true, "");
	ck_assert_str_eq(d.specs[0].driver, "mlx5_vfio_pci");
	expect_hostdev(&d.specs[1], "0000:3c:00.1", VFG_BACKEND_IOMMUFD, VFG_ACCESS_FD, true, "");
	ck_assert_str_eq(d.specs[1].driver, "hisi_acc_vfio_pci");
	expect_hostdev(&d.specs[2], "0000:3d:00.0", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false, "");
	ck_assert_str_eq(d.specs[2].driver, "vfio-pci");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(mdev_hostdevs_are_read_by_uuid_next_to_a_pci_one)
{
	libvirt_domain d;
	parse_ok("mdev.xml", &d);
	ck_assert_str_eq(d.domain.name, "vgpu-guest");
	ck_assert_uint_eq(d.n_specs, 3);
	/* QEMU opens the mdev's group by path (sysfsdev=): legacy, path, never managed; no address. */
	ck_assert_str_eq(d.specs[0].mdev, "c2177883-f1bb-47f0-914d-32a22e3a8804");
	expect_hostdev(&d.specs[0], "0000:00:00.0", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false, "");
	ck_assert_str_eq(d.specs[0].driver, "");
	/* A PCI function at 0000:00:00.0 is not the mdev's zero address: both are kept. */
	ck_assert_str_eq(d.specs[1].mdev, "");
	expect_hostdev(&d.specs[1], "0000:00:00.0", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false, "");
	ck_assert_str_eq(d.specs[2].mdev, "8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d");
	expect_hostdev(&d.specs[2], "0000:00:00.0", VFG_BACKEND_LEGACY, VFG_ACCESS_PATH, false, "");
	char name[VFG_HOSTDEV_NAME_MAX];
	ck_assert_str_eq(vfg_hostdev_name(&d.specs[2], name), "mdev:8f1bd9b8-d0b4-4d6f-9a0e-3c2b1a0f9e8d");
	libvirt_domain_clear(&d);
}
END_TEST

START_TEST(managed_mdev_is_refused_naming_its_uuid)
{
	parse_fails("bad-mdev-managed.xml",
		    (const char *[]){"line 5 <hostdev>", "mdev c2177883-f1bb-47f0-914d-32a22e3a8804",
				     "no driver to detach", NULL});
}
END_TEST

START_TEST(interface_hostdev_without_source_is_an_error)
{
	parse_fails("bad-interface-hostdev-no-source.xml",
		    (const char *[]){"line 4 <interface>", "without <source>", NULL});
}
END_TEST

START_TEST(network_vf_that_is_also_a_hostdev_is_assigned_twice)
{
	parse_fails("bad-actual-hostdev-duplicate.xml", (const char *[]){"0000:81:02.3 is assigned twice", NULL});
}
END_TEST

START_TEST(not_xml_is_an_error_with_the_parser_s_reason)
{
	parse_fails("bad-not-xml.xml", (const char *[]){"not well-formed XML", "line 1", NULL});
	parse_fails("bad-unclosed.xml", (const char *[]){"not well-formed XML", "line ", NULL});
}
END_TEST

START_TEST(the_first_xml_error_is_reported_with_its_line_and_element)
{
	/* libxml2 also reports the mismatched end tag on line 15, last */
	parse_fails(
		"bad-first-error.xml",
		(const char *[]){"not well-formed XML (line 9, in <description>: xmlParseEntityRef: no name)", NULL});
}
END_TEST

START_TEST(empty_input_is_an_error)
{
	vfg_error err = {0};
	libvirt_domain d;
	ck_assert_int_eq(libvirt_domain_parse("", 0, &d, &err), -1);
	ck_assert_msg(strstr(err.message, "empty"), "%s", err.message);
}
END_TEST

START_TEST(another_root_element_is_an_error)
{
	parse_fails("bad-not-domain.xml", (const char *[]){"<network>", "no libvirt <domain>", NULL});
}
END_TEST

START_TEST(domain_without_name_is_an_error)
{
	parse_fails("bad-no-name.xml", (const char *[]){"no <name>", NULL});
}
END_TEST

START_TEST(pci_hostdev_without_address_is_an_error)
{
	parse_fails("bad-hostdev-no-address.xml", (const char *[]){"line 5 <source>", "no <address>", NULL});
}
END_TEST

START_TEST(address_out_of_range_is_an_error)
{
	parse_fails("bad-address.xml", (const char *[]){"<address>", "slot='0x20'", "0x1f", NULL});
}
END_TEST

START_TEST(non_vfio_driver_is_an_error)
{
	parse_fails("bad-driver-kvm.xml", (const char *[]){"<driver>", "name='kvm'", "vfio", NULL});
}
END_TEST

START_TEST(same_device_twice_is_an_error)
{
	parse_fails("bad-duplicate-hostdev.xml", (const char *[]){"0000:01:00.0 is assigned twice", NULL});
}
END_TEST

START_TEST(bad_vf_token_is_an_error)
{
	parse_fails("bad-vf-token.xml", (const char *[]){"<vf-token>", "not-a-uuid", NULL});
}
END_TEST

START_TEST(bad_vf_token_inside_the_source_address_is_an_error)
{
	parse_fails("bad-vf-token-in-address.xml",
		    (const char *[]){"hostdev 0000:03:00.1", "<vf-token>", "not-a-uuid", NULL});
}
END_TEST

START_TEST(vf_tokens_in_source_and_address_that_differ_are_an_error)
{
	parse_fails("bad-vf-token-disagrees.xml", (const char *[]){"5d1b2e73-0c47-4f58-9a8b-7c6d5e4f3a2b",
								   "00112233-4455-6677-8899-aabbccddeeff", NULL});
}
END_TEST

START_TEST(unknown_element_inside_the_source_address_is_an_error)
{
	parse_fails("bad-address-child.xml", (const char *[]){"<vf-tokens>", "unknown element", NULL});
}
END_TEST

START_TEST(metadata_for_a_device_the_domain_does_not_assign_is_an_error)
{
	parse_fails("bad-metadata-unknown-hostdev.xml", (const char *[]){"0000:09:00.0", "no PCI <hostdev>", NULL});
}
END_TEST

START_TEST(unknown_memory_unit_is_an_error)
{
	parse_fails("bad-memory-unit.xml", (const char *[]){"<memory>", "parsecs", NULL});
}
END_TEST

START_TEST(unknown_seclabel_model_is_an_error)
{
	parse_fails("bad-seclabel-model.xml", (const char *[]){"model='smack'", NULL});
}
END_TEST

START_TEST(unknown_dac_user_is_an_error)
{
	parse_fails("bad-dac-label.xml", (const char *[]){"seclabel model='dac'", "no-such-user-vfguard", NULL});
}
END_TEST

START_TEST(scaled_units_follow_libvirt)
{
	const struct {
		const char *number, *unit;
		uint64_t bytes;
	} cases[] = {
		{"1", NULL, 1024},
		{"1", "", 1024},
		{"7", "b", 7},
		{"7", "bytes", 7},
		{"3", "KB", 3000},
		{"3", "k", 3072},
		{"3", "KiB", 3072},
		{"2", "MB", 2000000},
		{"2", "M", 2u << 20},
		{"2", "GiB", 2ull << 30},
		{"1", "TB", 1000000000000ull},
		{"1", "T", 1ull << 40},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t bytes = 0;
		vfg_error err = {0};
		ck_assert_msg(libvirt_scaled_parse(cases[i].number, cases[i].unit, &bytes, &err) == 0, "%s",
			      err.message);
		ck_assert_msg(bytes == cases[i].bytes, "%s %s: %llu", cases[i].number,
			      cases[i].unit ? cases[i].unit : "", (unsigned long long)bytes);
	}
	uint64_t bytes;
	ck_assert_int_eq(libvirt_scaled_parse("-1", "KiB", &bytes, NULL), -1);
	ck_assert_int_eq(libvirt_scaled_parse("1.5", "GiB", &bytes, NULL), -1);
	ck_assert_int_eq(libvirt_scaled_parse("99999999", "PiB", &bytes, NULL), -1);
	ck_assert_int_eq(libvirt_scaled_parse("1", "kib", &bytes, NULL), -1);
}
END_TEST

START_TEST(dac_labels_by_number_and_by_name)
{
	uid_t uid;
	gid_t gid;
	ck_assert_int_eq(libvirt_dac_label_parse("+107:+108", &uid, &gid, NULL), 0);
	ck_assert_uint_eq(uid, 107);
	ck_assert_uint_eq(gid, 108);
	ck_assert_int_eq(libvirt_dac_label_parse("root:nogroup", &uid, &gid, NULL), 0);
	ck_assert_uint_eq(uid, 0);
	ck_assert_uint_eq(gid, 65534);
	ck_assert_int_eq(libvirt_dac_label_parse("1000:1000", &uid, &gid, NULL), 0);
	ck_assert_uint_eq(uid, 1000);
	ck_assert_int_eq(libvirt_dac_label_parse("+107", &uid, &gid, NULL), -1);
	ck_assert_int_eq(libvirt_dac_label_parse(":107", &uid, &gid, NULL), -1);
	ck_assert_int_eq(libvirt_dac_label_parse("+root:+root", &uid, &gid, NULL), -1);
	ck_assert_int_eq(libvirt_dac_label_parse("+4294967295:+0", &uid, &gid, NULL), -1);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("libvirt_xml");
	TCase *good = tcase_create("documented domains");
	tcase_add_test(good, legacy_unmanaged_gpu_with_generated_selinux_labels);
	tcase_add_test(good, managed_iommufd_nic_is_fd_access_with_a_viommu_and_the_apparmor_profile_named_by_uuid);
	tcase_add_test(good, vf_token_from_source_and_metadata_in_canonical_form);
	tcase_add_test(good, vf_token_inside_the_source_address_is_read);
	tcase_add_test(good, several_pci_hostdevs_in_order_and_other_hostdevs_ignored);
	tcase_add_test(good, static_selinux_label_and_dac_by_names);
	tcase_add_test(good, static_apparmor_profile_and_labels_libvirt_has_not_generated_yet);
	tcase_add_test(good, seclabel_none_without_model_turns_selinux_and_apparmor_off);
	tcase_add_test(good, domain_wide_iommufd_is_the_default_a_hostdev_may_leave);
	tcase_add_test(good, domain_without_hostdevs_has_none);
	tcase_add_test(good, scaled_units_follow_libvirt);
	tcase_add_test(good, dac_labels_by_number_and_by_name);
	tcase_add_test(good, interface_hostdevs_managed_and_unmanaged_are_hostdevs_and_ordinary_nics_are_not);
	tcase_add_test(good, network_interface_with_a_hostdev_actual_is_that_vf_and_metadata_may_name_it);
	tcase_add_test(good, variant_driver_model_is_the_driver_a_managed_hostdev_is_bound_to);
	tcase_add_test(good, mdev_hostdevs_are_read_by_uuid_next_to_a_pci_one);
	suite_add_tcase(suite, good);

	TCase *bad = tcase_create("malformed domains");
	tcase_add_test(bad, not_xml_is_an_error_with_the_parser_s_reason);
	tcase_add_test(bad, the_first_xml_error_is_reported_with_its_line_and_element);
	tcase_add_test(bad, empty_input_is_an_error);
	tcase_add_test(bad, another_root_element_is_an_error);
	tcase_add_test(bad, domain_without_name_is_an_error);
	tcase_add_test(bad, pci_hostdev_without_address_is_an_error);
	tcase_add_test(bad, address_out_of_range_is_an_error);
	tcase_add_test(bad, non_vfio_driver_is_an_error);
	tcase_add_test(bad, same_device_twice_is_an_error);
	tcase_add_test(bad, bad_vf_token_is_an_error);
	tcase_add_test(bad, bad_vf_token_inside_the_source_address_is_an_error);
	tcase_add_test(bad, vf_tokens_in_source_and_address_that_differ_are_an_error);
	tcase_add_test(bad, unknown_element_inside_the_source_address_is_an_error);
	tcase_add_test(bad, metadata_for_a_device_the_domain_does_not_assign_is_an_error);
	tcase_add_test(bad, unknown_memory_unit_is_an_error);
	tcase_add_test(bad, unknown_seclabel_model_is_an_error);
	tcase_add_test(bad, unknown_dac_user_is_an_error);
	tcase_add_test(bad, managed_mdev_is_refused_naming_its_uuid);
	tcase_add_test(bad, interface_hostdev_without_source_is_an_error);
	tcase_add_test(bad, network_vf_that_is_also_a_hostdev_is_assigned_twice);
	suite_add_tcase(suite, bad);
	return test_main(suite);
}
