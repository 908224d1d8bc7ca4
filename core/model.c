/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing and naming the model's values. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "internal.h"

/* Read exactly @digits hex digits at *@p, advancing it. */
static bool parse_hex_digits(const char **p, int digits, unsigned *value)
{
	unsigned v = 0;
	for (int i = 0; i < digits; i++) {
		char c = (*p)[i];
		if (!isxdigit((unsigned char)c))
			return false;
		v = v * 16 + (unsigned)(isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10);
	}
	*p += digits;
	*value = v;
	return true;
}

static bool parse_expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

VFG_EXPORT int vfg_pci_addr_parse(const char *text, vfg_pci_addr *addr, vfg_error *err)
{
	static const char form[] = "expected DDDD:BB:DD.F or BB:DD.F in hex (slot at most 1f, function at most 7)";
	if (!text || !*text)
		return vfg_error_set(err, 0, "", "empty PCI address: %s", form);

	/* The domain is optional: "BB:DD.F" has one colon, "DDDD:BB:DD.F" two. */
	const char *p = text;
	unsigned domain = 0, bus, slot, function;
	bool has_domain = strchr(text, ':') != strrchr(text, ':');
	bool ok = (!has_domain || (parse_hex_digits(&p, 4, &domain) && parse_expect(&p, ':'))) &&
		  parse_hex_digits(&p, 2, &bus) && parse_expect(&p, ':') && parse_hex_digits(&p, 2, &slot) &&
		  parse_expect(&p, '.') && parse_hex_digits(&p, 1, &function) && *p == '\0';
	if (!ok)
		return vfg_error_set(err, 0, text, "not a PCI address: %s", form);
	/* PCI: 32 devices (slots) per bus, 8 functions per device. */
	if (slot > 0x1f)
		return vfg_error_set(err, 0, text, "not a PCI address: slot %02x is past 1f", slot);
	if (function > 7)
		return vfg_error_set(err, 0, text, "not a PCI address: function %u is past 7", function);

	addr->domain = (uint16_t)domain;
	addr->bus = (uint8_t)bus;
	addr->slot = (uint8_t)slot;
	addr->function = (uint8_t)function;
	return 0;
}

VFG_EXPORT char *vfg_pci_addr_format(const vfg_pci_addr *addr, char *buf)
{
	/* "%04x:%02x:%02x.%x" by hand: names are made per hostdev and per record, and snprintf was most of it. */
	static const char hex[] = "0123456789abcdef";
	const unsigned fields[] = {addr->domain, addr->bus, addr->slot, addr->function};
	const int digits[] = {4, 2, 2, 1};
	char *p = buf;
	for (size_t f = 0; f < 4; f++) {
		for (int d = digits[f] - 1; d >= 0; d--)
			*p++ = hex[(fields[f] >> (4 * d)) & 0xf];
		*p++ = f == 0 || f == 1 ? ':' : f == 2 ? '.' : '\0';
	}
	return buf;
}

VFG_EXPORT bool vfg_pci_addr_equal(const vfg_pci_addr *a, const vfg_pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->slot == b->slot && a->function == b->function;
}

VFG_EXPORT int vfg_uuid_parse(const char *text, char *canonical, vfg_error *err)
{
	/* RFC 4122 textual form: groups of 8, 4, 4, 4 and 12 hex digits. */
	static const int groups[] = {8, 4, 4, 4, 12};
	const char *p = text ? text : "";
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (int i = 0; i < groups[g]; i++, p++)
			if (!isxdigit((unsigned char)*p))
				return vfg_error_set(err, 0, text, "not a UUID: expected 8-4-4-4-12 hex digits");
		if (g + 1 < sizeof(groups) / sizeof(groups[0]) && *p++ != '-')
			return vfg_error_set(err, 0, text, "not a UUID: expected 8-4-4-4-12 hex digits");
	}
	if (*p)
		return vfg_error_set(err, 0, text, "not a UUID: trailing characters after 36");
	for (int i = 0; i < VFG_UUID_STRLEN - 1; i++)
		canonical[i] = (char)tolower((unsigned char)text[i]);
	canonical[VFG_UUID_STRLEN - 1] = '\0';
	return 0;
}

VFG_EXPORT const char *vfg_backend_name(vfg_backend backend)
{
	switch (backend) {
	case VFG_BACKEND_AUTO:
		return "auto";
	case VFG_BACKEND_LEGACY:
		return "legacy";
	case VFG_BACKEND_IOMMUFD:
		return "iommufd";
	}
	return "?";
}

VFG_EXPORT const char *vfg_access_name(vfg_access access)
{
	switch (access) {
	case VFG_ACCESS_PATH:
		return "path";
	case VFG_ACCESS_FD:
		return "fd";
	}
	return "?";
}

VFG_EXPORT const char *vfg_node_kind_name(vfg_node_kind kind)
{
	switch (kind) {
	case VFG_NODE_CONTAINER:
		return "container";
	case VFG_NODE_GROUP:
		return "group";
	case VFG_NODE_IOMMUFD:
		return "iommufd";
	case VFG_NODE_CDEV:
		return "cdev";
	case VFG_NODE_DOMAIN:
		return "domain";
	}
	return "?";
}

VFG_EXPORT const char *vfg_action_name(vfg_action action)
{
	switch (action) {
	case VFG_ACTION_NONE:
		return "none";
	case VFG_ACTION_GRANT:
		return "grant";
	case VFG_ACTION_INACTIVE:
		return "inactive";
	case VFG_ACTION_REVOKE:
		return "revoke";
	case VFG_ACTION_REFUSE:
		return "refuse";
	}
	return "?";
}

VFG_EXPORT int vfg_backend_parse(const char *text, vfg_backend *backend, vfg_error *err)
{
	if (strcmp(text, "legacy") == 0)
		*backend = VFG_BACKEND_LEGACY;
	else if (strcmp(text, "iommufd") == 0)
		*backend = VFG_BACKEND_IOMMUFD;
	else if (strcmp(text, "auto") == 0)
		*backend = VFG_BACKEND_AUTO;
	else
		return vfg_error_set(err, 0, text, "unknown backend: expected legacy, iommufd or auto");
	return 0;
}

VFG_EXPORT int vfg_access_parse(const char *text, vfg_access *access, vfg_error *err)
{
	if (strcmp(text, "path") == 0)
		*access = VFG_ACCESS_PATH;
	else if (strcmp(text, "fd") == 0)
		*access = VFG_ACCESS_FD;
	else
		return vfg_error_set(err, 0, text, "unknown access: expected path or fd");
	return 0;
}

/* C0, DEL and C1 (U+0080-U+009F): nothing a name shows, and what moves a terminal. */
#define VFG_NAME_FILE_MAX 226

static bool control_character(long code)
{
	return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

VFG_EXPORT int vfg_domain_name_check(const char *name, vfg_error *err)
{
	size_t len = name ? strlen(name) : 0;
	if (len == 0)
		return vfg_error_set(err, 0, "", "a domain needs a name (--domain)");
	char excerpt[VFG_EXCERPT_SIZE];
	if (len >= VFG_NAME_MAX)
		return vfg_error_set(err, 0, vfg_excerpt(name, excerpt), "domain name longer than %d bytes",
				     VFG_NAME_MAX - 1);
	if (name[0] == '.')
		return vfg_error_set(err, 0, name, "domain name may not start with '.'");
	/*
	 * Its journal's file name writes each byte beyond A-Z a-z 0-9 . _ - as
	 * %XX (journal_file_name), and a temporary beside it adds 29 bytes
	 * (".", ".journal", ".vfguard-tmp.PID"): within NAME_MAX (255) at 226.
	 * A name of UTF-8 or spaces reaches it before 127 bytes (a review's 30
	 * CJK characters).
	 */
	size_t file_name = 0;
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		file_name += isalnum(*c) && *c < 0x80 ? 1 : strchr("._-", *c) ? 1 : 3;
	if (file_name > VFG_NAME_FILE_MAX)
		return vfg_error_set(err, 0, vfg_excerpt(name, excerpt),
				     "domain name too long for its journal's file name: %zu bytes written as one "
				     "(each byte beyond A-Z a-z 0-9 . _ - as %%XX), at most %d",
				     file_name, VFG_NAME_FILE_MAX);
	for (const char *p = name; *p;) {
		size_t length;
		long code = vfg_utf8_decode(p, &length);
		if (code < 0)
			return vfg_error_set(err, 0, name, "domain name is not UTF-8");
		if (control_character(code))
			return vfg_error_set(err, 0, name, "domain name may not hold a control character");
		if (code == '/')
			return vfg_error_set(err, 0, name, "domain name may not hold '/'");
		p += length;
	}
	return 0;
}

/*
 * A step's texts are one block, the detail then the reason, each cut as
 * before the core kept them (VFG_STEP_DETAIL_MAX, VFG_STEP_REASON_MAX). The
 * core moves a plan's into its store (plan.c: plan_keep_step).
 */
VFG_EXPORT int vfg_step_set(vfg_step *step, vfg_action action, const char *detail, const char *reason_fmt, ...)
{
	char reason[VFG_STEP_REASON_MAX];
	va_list ap;
	va_start(ap, reason_fmt);
	vsnprintf(reason, sizeof(reason), reason_fmt, ap);
	va_end(ap);
	if (!detail)
		detail = "";
	size_t detail_len = strnlen(detail, VFG_STEP_DETAIL_MAX - 1), reason_len = strlen(reason);
	char *texts = malloc(detail_len + 1 + reason_len + 1);
	if (!texts) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(texts, detail, detail_len);
	texts[detail_len] = '\0';
	memcpy(texts + detail_len + 1, reason, reason_len + 1);
	vfg_step_clear(step);
	step->action = action;
	step->texts = texts;
	step->detail = texts;
	step->reason = texts + detail_len + 1;
	return 0;
}

VFG_EXPORT void vfg_step_clear(vfg_step *step)
{
	free(step->texts);
	step->texts = NULL;
	step->detail = NULL;
	step->reason = NULL;
}
