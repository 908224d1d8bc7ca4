/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing what users type: PCI addresses, UUIDs (vf-token), hostdev specs, domain names. */
#include <string.h>

#include "testlib.h"

static const struct {
	const char *text;
	vfg_pci_addr addr;
	const char *canonical;
} good_addresses[] = {
	{"0000:01:00.0", {0x0000, 0x01, 0x00, 0}, "0000:01:00.0"},
	{"01:00.0", {0x0000, 0x01, 0x00, 0}, "0000:01:00.0"},
	{"ffff:ff:1f.7", {0xffff, 0xff, 0x1f, 7}, "ffff:ff:1f.7"},
	{"FFFF:AB:1F.7", {0xffff, 0xab, 0x1f, 7}, "ffff:ab:1f.7"},
	{"0001:3b:02.3", {0x0001, 0x3b, 0x02, 3}, "0001:3b:02.3"},
	{"00:00.0", {0, 0, 0, 0}, "0000:00:00.0"},
	{"aB:1e.6", {0, 0xab, 0x1e, 6}, "0000:ab:1e.6"},
};

START_TEST(pci_address_good_forms_parse_to_their_parts)
{
	vfg_pci_addr addr;
	vfg_error err = {0};
	char buf[VFG_PCI_ADDR_STRLEN];
	int r = vfg_pci_addr_parse(good_addresses[_i].text, &addr, &err);
	ck_assert_msg(r == 0, "%s: %s", good_addresses[_i].text, err.message);
	ck_assert_msg(vfg_pci_addr_equal(&addr, &good_addresses[_i].addr), "%s parsed wrong", good_addresses[_i].text);
	ck_assert_str_eq(vfg_pci_addr_format(&addr, buf), good_addresses[_i].canonical);
}
END_TEST

static const char *const bad_addresses[] = {
	"", /* empty */
	"0000:01:00", /* no function */
	"0000:01:00.8", /* function past 7 */
	"0000:01:20.0", /* slot past 1f */
	"00000:01:00.0", /* domain of five digits */
	"000:01:00.0", /* domain of three digits */
	"0000:1:00.0", /* bus of one digit */
	"0000:001:00.0", /* bus of three digits */
	"0000:01:0.0", /* slot of one digit */
	"0000:01:00.00", /* function of two digits */
	"0000:01:00.0 ", /* trailing space */
	" 0000:01:00.0", /* leading space */
	"g000:01:00.0", /* not hex */
	"0000-01-00.0", /* wrong separators */
	"0000:01:00:0", /* colon for dot */
	"0000:01:00.0.1", /* trailing garbage */
	":01:00.0", /* empty domain */
	"0x00:01:00.0", /* hex prefix */
	"0000:01:00.-1", /* sign */
	"0:0:0:0.0", /* too many parts */
	"01:00", /* neither form */
	"0000:01:00.", /* dot without function */
};

START_TEST(pci_address_bad_forms_are_refused_with_the_expected_form)
{
	vfg_pci_addr addr;
	vfg_error err = {0};
	ck_assert_msg(vfg_pci_addr_parse(bad_addresses[_i], &addr, &err) == -1, "'%s' was accepted", bad_addresses[_i]);
	ck_assert_msg(strstr(err.message, "not a PCI address") || strstr(err.message, "empty PCI address"),
		      "'%s': unclear error '%s'", bad_addresses[_i], err.message);
}
END_TEST

START_TEST(vf_token_uuid_is_accepted_and_lower_cased)
{
	char canonical[VFG_UUID_STRLEN];
	vfg_error err = {0};
	ck_assert_int_eq(vfg_uuid_parse("00112233-4455-6677-8899-AABBCCDDEEFF", canonical, &err), 0);
	ck_assert_str_eq(canonical, "00112233-4455-6677-8899-aabbccddeeff");
}
END_TEST

static const char *const bad_uuids[] = {
	"",
	"00112233-4455-6677-8899-aabbccddeef", /* short */
	"00112233-4455-6677-8899-aabbccddeeff0", /* long */
	"001122334455-6677-8899-aabbccddeeff", /* missing dash */
	"00112233-4455-6677-8899aabbccddeeff0", /* dash moved */
	"0011223g-4455-6677-8899-aabbccddeeff", /* not hex */
	"{00112233-4455-6677-8899-aabbccddeeff}", /* braces */
	"00112233_4455_6677_8899_aabbccddeeff", /* wrong separator */
};

START_TEST(vf_token_malformed_uuid_is_refused)
{
	char canonical[VFG_UUID_STRLEN];
	vfg_error err = {0};
	ck_assert_msg(vfg_uuid_parse(bad_uuids[_i], canonical, &err) == -1, "'%s' was accepted", bad_uuids[_i]);
	ck_assert_ptr_nonnull(strstr(err.message, "not a UUID"));
}
END_TEST

START_TEST(hostdev_spec_takes_backend_access_and_vf_token)
{
	const char *root = test_root_new(test_host_gpu);
	vfg_context *ctx = test_context(root);
	vfg_hostdev_spec spec;
	vfg_error err = {0};

	ck_assert_int_eq(vfg_hostdev_spec_parse(ctx, "01:00.0", &spec, &err), 0);
	ck_assert_int_eq(spec.backend, VFG_BACKEND_AUTO);
	ck_assert_int_eq(spec.access, VFG_ACCESS_PATH);
	ck_assert_str_eq(spec.vf_token, "");

	ck_assert_int_eq(vfg_hostdev_spec_parse(
				 ctx,
				 "0000:01:00.1,backend=legacy,access=fd,vf-token=00112233-4455-6677-8899-AABBCCDDEEFF",
				 &spec, &err),
			 0);
	ck_assert_uint_eq(spec.addr.function, 1);
	ck_assert_int_eq(spec.backend, VFG_BACKEND_LEGACY);
	ck_assert_int_eq(spec.access, VFG_ACCESS_FD);
	ck_assert_str_eq(spec.vf_token, "00112233-4455-6677-8899-aabbccddeeff");
	ck_assert_str_eq(spec.driver, "");

	ck_assert_int_eq(vfg_hostdev_spec_parse(ctx, "01:00.0,driver=mlx5_vfio_pci,managed=yes", &spec, &err), 0);
	ck_assert(spec.managed);
	ck_assert_str_eq(spec.driver, "mlx5_vfio_pci");
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

static const struct {
	const char *text;
	const char *message; /* a part the error must hold */
} bad_specs[] = {
	{"01:00.0,backend=kvm", "unknown backend"},
	{"01:00.0,access=socket", "unknown access"},
	{"01:00.0,vf-token=1234", "not a UUID"},
	{"01:00.0,managed", "needs a value"},
	{"01:00.0,colour=red", "unknown hostdev option"},
	{"01:00.0,managed=yes,driver=nouveau", "nouveau: is not a vfio driver"},
	{"01:00.0,driver=vfio-pci", "add managed=yes"},
	{"01:00.0,access=fd,access=path", "given twice"},
	/* strtok_r once skipped the empty fields and took these */
	{"0000:41:00.0,,", "0000:41:00.0,,: an empty hostdev option"},
	{"01:00.0,,access=fd", "empty hostdev option"},
	{"01:00.0,", "empty hostdev option"},
	{",01:00.0", "empty hostdev option"},
	{"", "empty hostdev"},
	{"/dev/vfio/7", "sysfs path"},
	{"/sys/bus/pci/devices/nonsense", "does not end in a PCI function"},
	{"/sys/bus/pci/devices/0000:09:00.0", "no such PCI function"},
	/* a directory named like the function that is not its sysfs directory (made by the test) */
	{"/sys/devices/platform/0000:01:00.0", "is not the sysfs directory"},
};

START_TEST(hostdev_spec_errors_name_the_problem)
{
	const char *root = test_root_new(test_host_gpu);
	test_write_file(root, "/sys/devices/platform/0000:01:00.0/uevent", "");
	vfg_context *ctx = test_context(root);
	vfg_hostdev_spec spec;
	vfg_error err = {0};
	ck_assert_msg(vfg_hostdev_spec_parse(ctx, bad_specs[_i].text, &spec, &err) == -1, "'%s' was accepted",
		      bad_specs[_i].text);
	ck_assert_msg(strstr(err.message, bad_specs[_i].message), "'%s': expected '%s' in '%s'", bad_specs[_i].text,
		      bad_specs[_i].message, err.message);
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

START_TEST(hostdev_named_by_sysfs_path_resolves_to_its_address)
{
	const char *root = test_root_new(test_host_gpu);
	vfg_context *ctx = test_context(root);
	vfg_hostdev_spec spec;
	vfg_error err = {0};
	const char *paths[] = {"/sys/bus/pci/devices/0000:01:00.1", "/sys/bus/pci/devices/0000:01:00.1/"};
	for (size_t i = 0; i < 2; i++) {
		ck_assert_msg(vfg_hostdev_spec_parse(ctx, paths[i], &spec, &err) == 0, "%s: %s", paths[i], err.message);
		ck_assert_uint_eq(spec.addr.bus, 1);
		ck_assert_uint_eq(spec.addr.function, 1);
	}
	/* a link elsewhere in sysfs that leads there is not how a function is named (issue 19) */
	ck_assert_int_eq(vfg_hostdev_spec_parse(ctx, "/sys/kernel/iommu_groups/7/devices/0000:01:00.1", &spec, &err),
			 -1);
	ck_assert_msg(strstr(err.message, "not under /sys/bus/pci/devices or /sys/devices"), "%s", err.message);
	ck_assert_int_eq(vfg_hostdev_spec_parse(ctx, "/sys/bus/pci/devices/0000:01:00.0,access=fd", &spec, &err), 0);
	ck_assert_uint_eq(spec.addr.function, 0);
	ck_assert_int_eq(spec.access, VFG_ACCESS_FD);
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

START_TEST(domain_names_that_cannot_be_file_names_are_refused)
{
	vfg_error err = {0};
	/* What libvirt takes for a <name>: spaces, UTF-8, shell characters. */
	const char *good[] = {"vm-1.example_2", "Windows 11", "vm-\u00fc",        "\u6d4b\u8bd5",
			      "a%41'\"$(x)",    "-x",         "\U0001F600 emoji", "trailing "};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(vfg_domain_name_check(good[i], &err) == 0, "'%s' was refused: %s", good[i], err.message);
	struct {
		const char *name, *message;
	} bad[] = {
		{"", "a domain needs a name (--domain)"},
		{".hidden", ".hidden: domain name may not start with '.'"},
		{"a/b", "a/b: domain name may not hold '/'"},
		{"tab\there", "tab\there: domain name may not hold a control character"},
		{"new\nline", "new\nline: domain name may not hold a control character"},
		{"del\x7f", "del\x7f: domain name may not hold a control character"},
		{"c1\xc2\x85", "c1\xc2\x85: domain name may not hold a control character"},
		{"latin1 \xfc", "latin1 \xfc: domain name is not UTF-8"},
		{"cut \xc3", "cut \xc3: domain name is not UTF-8"},
		{"overlong \xc0\xaf", "overlong \xc0\xaf: domain name is not UTF-8"},
		{"surrogate \xed\xa0\x80", "surrogate \xed\xa0\x80: domain name is not UTF-8"},
		{"past \xf4\x90\x80\x80", "past \xf4\x90\x80\x80: domain name is not UTF-8"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(vfg_domain_name_check(bad[i].name, &err) == -1, "'%s' was accepted", bad[i].name);
		ck_assert_str_eq(err.message, bad[i].message);
	}
	char long_name[VFG_NAME_MAX + 1];
	memset(long_name, 'a', VFG_NAME_MAX);
	long_name[VFG_NAME_MAX] = '\0';
	ck_assert_int_eq(vfg_domain_name_check(long_name, &err), -1);
	long_name[VFG_NAME_MAX - 1] = '\0';
	ck_assert_int_eq(vfg_domain_name_check(long_name, &err), 0);
	/* UTF-8 takes 3 bytes a byte in its journal's file name: 25 CJK characters fit, 26 do not (a review). */
	char cjk[27 * 3 + 1] = "";
	for (int i = 0; i < 25; i++)
		strcat(cjk, "\xe6\x97\xa5");
	ck_assert_msg(vfg_domain_name_check(cjk, &err) == 0, "%s", err.message);
	strcat(cjk, "\xe6\x97\xa5");
	ck_assert_int_eq(vfg_domain_name_check(cjk, &err), -1);
	ck_assert_msg(strstr(err.message, "too long for its journal's file name: 234 bytes"), "%s", err.message);
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("pci address");
	tcase_add_loop_test(tc, pci_address_good_forms_parse_to_their_parts, 0,
			    sizeof(good_addresses) / sizeof(good_addresses[0]));
	tcase_add_loop_test(tc, pci_address_bad_forms_are_refused_with_the_expected_form, 0,
			    sizeof(bad_addresses) / sizeof(bad_addresses[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("vf-token");
	tcase_add_test(tc, vf_token_uuid_is_accepted_and_lower_cased);
	tcase_add_loop_test(tc, vf_token_malformed_uuid_is_refused, 0, sizeof(bad_uuids) / sizeof(bad_uuids[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("hostdev spec");
	tcase_add_test(tc, hostdev_spec_takes_backend_access_and_vf_token);
	tcase_add_loop_test(tc, hostdev_spec_errors_name_the_problem, 0, sizeof(bad_specs) / sizeof(bad_specs[0]));
	tcase_add_test(tc, hostdev_named_by_sysfs_path_resolves_to_its_address);
	suite_add_tcase(s, tc);

	tc = tcase_create("domain");
	tcase_add_test(tc, domain_names_that_cannot_be_file_names_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(parse_suite());
}
