/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hosttree, first pass: the manifest text (docs/host-manifest.md) read into a
 * struct host_manifest. Every reference (groups, parents, physical functions)
 * is resolved here, so a bad manifest fails before the builder makes anything.
 */
#include "hosttree_internal.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The device part of "DDDD:BB:DD.F": 5 bits, so a bus has 32 slots. */
#define PCI_SLOT_MAX 0x1f

/* Linux device numbers: 12-bit major, 20-bit minor (include/linux/kdev_t.h,
 * MINORBITS). Major 0 numbers anonymous block devices, never a char device. */
#define DEVICE_MAJOR_MAX 4095UL
#define DEVICE_MINOR_MAX 1048575UL

/* IOMMU group ids and vfio cdev indexes come from an ida: non-negative ints. */
#define OBJECT_ID_MAX 2147483647UL

/* More than any valid statement has (a device with every key is 11 words). */
#define LINE_WORDS_MAX 32

/* The node names and modes come from the miscdevice structs:
 * drivers/vfio/container.c vfio_dev (.nodename "vfio/vfio", S_IRUGO | S_IWUGO)
 * and drivers/iommu/iommufd/main.c iommu_misc_dev (.nodename "iommu", 0660). */
static const struct misc_node_spec misc_node_specs[] = {
	{.name = "vfio", .node_path = "dev/vfio/vfio", .mode = 0666},
	{.name = "iommu", .node_path = "dev/iommu", .mode = 0660},
};
_Static_assert(sizeof(misc_node_specs) / sizeof(misc_node_specs[0]) == MISC_NODE_COUNT,
	       "MISC_NODE_COUNT in hosttree_internal.h must count misc_node_specs");

void host_manifest_free(struct host_manifest *manifest)
{
	free(manifest->groups);
	free(manifest->devices);
}

/* ---- Reading values ---- */

/* Decimal digits only: no sign, no spaces, no base prefix. */
static bool parse_decimal(const char *text, size_t length, unsigned long max, unsigned long *value)
{
	unsigned long result = 0;

	if (length == 0)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		unsigned long digit = (unsigned long)(text[i] - '0');
		if (digit > max || result > (max - digit) / 10)
			return false;
		result = result * 10 + digit;
	}
	*value = result;
	return true;
}

/* Exactly @digits hex digits of either case, without "0x": the IDs lspci -n prints. */
static bool parse_hex_exact(const char *text, size_t digits, unsigned long *value)
{
	if (strlen(text) != digits || strspn(text, "0123456789abcdefABCDEF") != digits)
		return false;
	*value = strtoul(text, NULL, 16);
	return true;
}

static bool parse_device_number(const char *text, struct device_number *number)
{
	const char *colon = strchr(text, ':');

	if (!colon)
		return false;
	return parse_decimal(text, (size_t)(colon - text), DEVICE_MAJOR_MAX, &number->major) && number->major != 0 &&
	       parse_decimal(colon + 1, strlen(colon + 1), DEVICE_MINOR_MAX, &number->minor);
}

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The full, lower-case form only: the address becomes a sysfs name, and sysfs
 * would never show "0000:3B:00.0" or "3b:00.0". */
static bool is_pci_address(const char *text)
{
	static const char pattern[] = "xxxx:xx:xx.x";

	if (strlen(text) != sizeof(pattern) - 1)
		return false;
	for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
		bool fits = pattern[i] == 'x' ? is_lower_hex(text[i]) : text[i] == pattern[i];
		if (!fits)
			return false;
	}
	unsigned long slot = strtoul(text + 8, NULL, 16); /* stops at the '.' */
	return slot <= PCI_SLOT_MAX && text[11] >= '0' && text[11] <= '7';
}

static bool is_driver_name(const char *text)
{
	size_t length = strlen(text);

	return length > 0 && length < DRIVER_NAME_SIZE && text[0] != '.' &&
	       strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == length;
}

/* ---- Parsing ---- */

struct parser {
	struct host_manifest *manifest;
	unsigned line;
	char *errbuf;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int parse_error(const struct parser *parser, const char *fmt, ...)
{
	char reason[1024];
	va_list args;

	va_start(args, fmt);
	vsnprintf(reason, sizeof(reason), fmt, args);
	va_end(args);
	return report(parser->errbuf, parser->errlen, "LINE %u: %s", parser->line, reason);
}

static const struct manifest_group *find_group(const struct host_manifest *manifest, unsigned long id)
{
	for (size_t i = 0; i < manifest->group_count; i++)
		if (manifest->groups[i].id == id)
			return &manifest->groups[i];
	return NULL;
}

static size_t find_device(const struct host_manifest *manifest, const char *address)
{
	for (size_t i = 0; i < manifest->device_count; i++)
		if (strcmp(manifest->devices[i].address, address) == 0)
			return i;
	return NO_DEVICE;
}

static bool same_number(const struct device_number *a, const struct device_number *b)
{
	return a->major == b->major && a->minor == b->minor;
}

/* The line whose node already has @number, or 0. Two nodes sharing a number
 * would let an rdev check pass against the wrong node. */
static unsigned find_number_user(const struct host_manifest *manifest, const struct device_number *number)
{
	for (size_t i = 0; i < manifest->misc_count; i++)
		if (same_number(&manifest->misc[i].number, number))
			return manifest->misc[i].line;
	for (size_t i = 0; i < manifest->group_count; i++)
		if (manifest->groups[i].has_node && same_number(&manifest->groups[i].node, number))
			return manifest->groups[i].line;
	for (size_t i = 0; i < manifest->device_count; i++)
		if (manifest->devices[i].has_cdev && same_number(&manifest->devices[i].cdev, number))
			return manifest->devices[i].line;
	return 0;
}

static int parse_node_number(const struct parser *parser, const char *subject, const char *text,
			     struct device_number *number)
{
	if (!parse_device_number(text, number))
		return parse_error(parser, "%s: '%s' is not a device number MAJ:MIN (major 1-%lu, minor 0-%lu)",
				   subject, text, DEVICE_MAJOR_MAX, DEVICE_MINOR_MAX);
	unsigned user = find_number_user(parser->manifest, number);
	if (user != 0)
		return parse_error(parser, "%s: device number %s is already used on line %u", subject, text, user);
	return 0;
}

static int parse_misc(struct parser *parser, char **words, size_t count)
{
	struct host_manifest *manifest = parser->manifest;
	struct manifest_misc misc = {.line = parser->line};

	if (count != 3)
		return parse_error(parser, "misc: expected 'misc NAME MAJ:MIN'");
	for (size_t i = 0; i < MISC_NODE_COUNT; i++)
		if (strcmp(words[1], misc_node_specs[i].name) == 0)
			misc.spec = &misc_node_specs[i];
	if (!misc.spec)
		return parse_error(parser, "misc: unknown device '%s' (vfio or iommu)", words[1]);
	for (size_t i = 0; i < manifest->misc_count; i++)
		if (manifest->misc[i].spec == misc.spec)
			return parse_error(parser, "misc %s is already declared on line %u", words[1],
					   manifest->misc[i].line);
	char subject[64];
	snprintf(subject, sizeof(subject), "misc %s", words[1]);
	if (parse_node_number(parser, subject, words[2], &misc.number) < 0)
		return -1;
	manifest->misc[manifest->misc_count++] = misc;
	return 0;
}

/* Make room for one more element of @size in *@items, doubling from 16. */
static int grow_for_one(void **items, size_t *capacity, size_t count, size_t size)
{
	if (count < *capacity)
		return 0;
	size_t grown_capacity = *capacity ? 2 * *capacity : 16;
	void *grown = reallocarray(*items, grown_capacity, size);
	if (!grown)
		return -1;
	*items = grown;
	*capacity = grown_capacity;
	return 0;
}

static int manifest_add_group(const struct parser *parser, const struct manifest_group *group)
{
	struct host_manifest *manifest = parser->manifest;

	if (grow_for_one((void **)&manifest->groups, &manifest->group_capacity, manifest->group_count,
			 sizeof(*manifest->groups)) < 0)
		return parse_error(parser, "out of memory");
	manifest->groups[manifest->group_count++] = *group;
	return 0;
}

static int parse_group(struct parser *parser, char **words, size_t count)
{
	struct manifest_group group = {.line = parser->line};

	if (count < 2 || count > 3)
		return parse_error(parser, "group: expected 'group N [MAJ:MIN]'");
	if (!parse_decimal(words[1], strlen(words[1]), OBJECT_ID_MAX, &group.id))
		return parse_error(parser, "group: '%s' is not a group number", words[1]);
	const struct manifest_group *existing = find_group(parser->manifest, group.id);
	if (existing)
		return parse_error(parser, "group %lu is already declared on line %u", group.id, existing->line);
	if (count == 3) {
		char subject[64];
		snprintf(subject, sizeof(subject), "group %lu", group.id);
		if (parse_node_number(parser, subject, words[2], &group.node) < 0)
			return -1;
		group.has_node = true;
	}
	return manifest_add_group(parser, &group);
}

static int parse_device_group(const struct parser *parser, struct manifest_device *device, const char *value)
{
	if (!parse_decimal(value, strlen(value), OBJECT_ID_MAX, &device->group))
		return parse_error(parser, "device %s: group=%s is not a group number", device->address, value);
	if (!find_group(parser->manifest, device->group))
		return parse_error(parser, "device %s: group %lu is not declared (a 'group %lu' line must come first)",
				   device->address, device->group, device->group);
	return 0;
}

static int parse_device_vendor(const struct parser *parser, struct manifest_device *device, const char *value)
{
	if (!parse_hex_exact(value, 4, &device->vendor))
		return parse_error(parser, "device %s: vendor=%s: expected 4 hex digits without 0x", device->address,
				   value);
	return 0;
}

static int parse_device_id(const struct parser *parser, struct manifest_device *device, const char *value)
{
	if (!parse_hex_exact(value, 4, &device->device))
		return parse_error(parser, "device %s: device=%s: expected 4 hex digits without 0x", device->address,
				   value);
	return 0;
}

static int parse_device_class(const struct parser *parser, struct manifest_device *device, const char *value)
{
	if (!parse_hex_exact(value, 6, &device->class))
		return parse_error(parser, "device %s: class=%s: expected 6 hex digits without 0x", device->address,
				   value);
	return 0;
}

/* 0 endpoint, 1 PCI-to-PCI bridge, 2 CardBus bridge (PCI_HEADER_TYPE_* in linux/pci_regs.h). */
static int parse_device_header(const struct parser *parser, struct manifest_device *device, const char *value)
{
	if (!parse_decimal(value, strlen(value), 2, &device->header))
		return parse_error(parser, "device %s: header=%s: expected 0, 1 or 2", device->address, value);
	return 0;
}

static int parse_device_driver(const struct parser *parser, struct manifest_device *device, const char *value)
{
	if (!is_driver_name(value))
		return parse_error(parser, "device %s: driver=%s is not a driver name (letters, digits, '_', '-', '.')",
				   device->address, value);
	snprintf(device->driver, sizeof(device->driver), "%s", value);
	return 0;
}

static int parse_device_cdev(const struct parser *parser, struct manifest_device *device, const char *value)
{
	static const char prefix[] = "vfio";
	const char *index = value + strlen(prefix);
	const char *colon = strchr(value, ':');

	if (strncmp(value, prefix, strlen(prefix)) != 0 || !colon ||
	    !parse_decimal(index, (size_t)(colon - index), OBJECT_ID_MAX, &device->cdev_index))
		return parse_error(parser, "device %s: cdev=%s: expected vfioK:MAJ:MIN", device->address, value);
	for (size_t i = 0; i < parser->manifest->device_count; i++) {
		const struct manifest_device *other = &parser->manifest->devices[i];
		if (other->has_cdev && other->cdev_index == device->cdev_index)
			return parse_error(parser, "device %s: cdev vfio%lu is already used on line %u",
					   device->address, device->cdev_index, other->line);
	}
	char subject[64];
	snprintf(subject, sizeof(subject), "device %s: cdev", device->address);
	if (parse_node_number(parser, subject, colon + 1, &device->cdev) < 0)
		return -1;
	device->has_cdev = true;
	return 0;
}

static int parse_earlier_device(const struct parser *parser, const struct manifest_device *device, const char *key,
				const char *value, size_t *index)
{
	if (!is_pci_address(value))
		return parse_error(parser, "device %s: %s=%s: expected DDDD:BB:DD.F in lower-case hex", device->address,
				   key, value);
	*index = find_device(parser->manifest, value);
	if (*index == NO_DEVICE)
		return parse_error(parser, "device %s: %s %s is not declared before this line", device->address, key,
				   value);
	return 0;
}

static int parse_device_parent(const struct parser *parser, struct manifest_device *device, const char *value)
{
	return parse_earlier_device(parser, device, "parent", value, &device->parent);
}

static int parse_device_physfn(const struct parser *parser, struct manifest_device *device, const char *value)
{
	if (parse_earlier_device(parser, device, "physfn", value, &device->physfn) < 0)
		return -1;
	/* SR-IOV does not nest: a VF has no capability to create VFs of its own. */
	if (parser->manifest->devices[device->physfn].physfn != NO_DEVICE)
		return parse_error(parser, "device %s: physfn %s is itself a VF", device->address, value);
	return 0;
}

struct device_key {
	const char *name;
	bool required;
	int (*parse)(const struct parser *parser, struct manifest_device *device, const char *value);
};

static const struct device_key device_keys[] = {
	{.name = "group", .required = true, .parse = parse_device_group},
	{.name = "vendor", .required = true, .parse = parse_device_vendor},
	{.name = "device", .required = true, .parse = parse_device_id},
	{.name = "class", .required = true, .parse = parse_device_class},
	{.name = "header", .required = false, .parse = parse_device_header},
	{.name = "driver", .required = false, .parse = parse_device_driver},
	{.name = "cdev", .required = false, .parse = parse_device_cdev},
	{.name = "parent", .required = false, .parse = parse_device_parent},
	{.name = "physfn", .required = false, .parse = parse_device_physfn},
};
#define DEVICE_KEY_COUNT (sizeof(device_keys) / sizeof(device_keys[0]))

static int parse_device_keys(const struct parser *parser, struct manifest_device *device, char **words, size_t count)
{
	bool seen[DEVICE_KEY_COUNT] = {false};

	for (size_t w = 0; w < count; w++) {
		char *value = strchr(words[w], '=');
		if (!value)
			return parse_error(parser, "device %s: expected key=value, got '%s'", device->address,
					   words[w]);
		*value++ = '\0';
		size_t k = 0;
		while (k < DEVICE_KEY_COUNT && strcmp(device_keys[k].name, words[w]) != 0)
			k++;
		if (k == DEVICE_KEY_COUNT)
			return parse_error(parser, "device %s: unknown key '%s'", device->address, words[w]);
		if (seen[k])
			return parse_error(parser, "device %s: key '%s' given twice", device->address, words[w]);
		seen[k] = true;
		if (*value == '\0')
			return parse_error(parser, "device %s: %s= needs a value", device->address, words[w]);
		if (device_keys[k].parse(parser, device, value) < 0)
			return -1;
	}
	for (size_t k = 0; k < DEVICE_KEY_COUNT; k++)
		if (device_keys[k].required && !seen[k])
			return parse_error(parser, "device %s: missing required key '%s'", device->address,
					   device_keys[k].name);
	return 0;
}

static int device_set_directory(const struct parser *parser, struct manifest_device *device)
{
	int written;

	if (device->parent != NO_DEVICE)
		written = snprintf(device->directory, sizeof(device->directory), "%s/%s",
				   parser->manifest->devices[device->parent].directory, device->address);
	else
		/* A function on a root bus hangs below its host bridge, named pciDDDD:BB
		 * (drivers/pci/probe.c, pci_register_host_bridge). */
		written = snprintf(device->directory, sizeof(device->directory), "sys/devices/pci%.7s/%s",
				   device->address, device->address);
	if (written < 0 || (size_t)written >= sizeof(device->directory))
		return parse_error(parser, "device %s: its sysfs path is longer than %d bytes", device->address,
				   TREE_PATH_MAX - 1);
	return 0;
}

static int manifest_add_device(const struct parser *parser, const struct manifest_device *device)
{
	struct host_manifest *manifest = parser->manifest;

	if (grow_for_one((void **)&manifest->devices, &manifest->device_capacity, manifest->device_count,
			 sizeof(*manifest->devices)) < 0)
		return parse_error(parser, "out of memory");
	manifest->devices[manifest->device_count++] = *device;
	return 0;
}

static int parse_device(struct parser *parser, char **words, size_t count)
{
	struct host_manifest *manifest = parser->manifest;
	struct manifest_device device = {.line = parser->line, .parent = NO_DEVICE, .physfn = NO_DEVICE};

	if (count < 2)
		return parse_error(parser, "device: expected 'device DDDD:BB:DD.F key=value...'");
	if (!is_pci_address(words[1]))
		return parse_error(parser, "device %s: the address must be DDDD:BB:DD.F in lower-case hex", words[1]);
	snprintf(device.address, sizeof(device.address), "%s", words[1]);
	size_t existing = find_device(manifest, device.address);
	if (existing != NO_DEVICE)
		return parse_error(parser, "device %s is already declared on line %u", device.address,
				   manifest->devices[existing].line);
	if (parse_device_keys(parser, &device, words + 2, count - 2) < 0 || device_set_directory(parser, &device) < 0)
		return -1;
	/* VFs are numbered per PF in the order they appear, as sriov_add_vfs() does. */
	if (device.physfn != NO_DEVICE)
		device.virtfn_index = manifest->devices[device.physfn].virtfn_count++;
	return manifest_add_device(parser, &device);
}

static int parse_driver(struct parser *parser, char **words, size_t count)
{
	struct host_manifest *manifest = parser->manifest;

	if (count != 2)
		return parse_error(parser, "driver: expected 'driver NAME'");
	if (strlen(words[1]) >= DRIVER_NAME_SIZE || strchr(words[1], '/') || words[1][0] == '.')
		return parse_error(parser, "driver %s: not a driver name", words[1]);
	for (size_t i = 0; i < manifest->driver_count; i++)
		if (strcmp(manifest->drivers[i], words[1]) == 0)
			return parse_error(parser, "driver %s is already declared on line %u", words[1],
					   manifest->driver_lines[i]);
	if (manifest->driver_count == MANIFEST_DRIVERS_MAX)
		return parse_error(parser, "driver: at most %d drivers", MANIFEST_DRIVERS_MAX);
	snprintf(manifest->drivers[manifest->driver_count], DRIVER_NAME_SIZE, "%s", words[1]);
	manifest->driver_lines[manifest->driver_count++] = parser->line;
	return 0;
}

struct statement {
	const char *keyword;
	int (*parse)(struct parser *parser, char **words, size_t count);
};

static const struct statement statements[] = {
	{.keyword = "misc", .parse = parse_misc},
	{.keyword = "group", .parse = parse_group},
	{.keyword = "device", .parse = parse_device},
	{.keyword = "driver", .parse = parse_driver},
};

static int parse_line(struct parser *parser, char *line)
{
	char *words[LINE_WORDS_MAX];
	size_t count = 0;
	char *state = NULL;

	line[strcspn(line, "#")] = '\0';
	for (char *word = strtok_r(line, " \t\r\v\f", &state); word; word = strtok_r(NULL, " \t\r\v\f", &state)) {
		if (count == LINE_WORDS_MAX)
			return parse_error(parser, "too many fields (at most %d)", LINE_WORDS_MAX);
		words[count++] = word;
	}
	if (count == 0)
		return 0;
	for (size_t i = 0; i < sizeof(statements) / sizeof(statements[0]); i++)
		if (strcmp(words[0], statements[i].keyword) == 0)
			return statements[i].parse(parser, words, count);
	return parse_error(parser, "unknown statement '%s' (misc, group, device or driver)", words[0]);
}

int manifest_parse(struct host_manifest *manifest, const char *text, char *errbuf, size_t errlen)
{
	struct parser parser = {.manifest = manifest, .errbuf = errbuf, .errlen = errlen};
	_cleanup_free_ char *copy = strdup(text);

	if (!copy)
		return report(errbuf, errlen, "out of memory");
	char *line = copy;
	while (line) {
		char *newline = strchr(line, '\n');
		if (newline)
			*newline = '\0';
		parser.line++;
		if (parse_line(&parser, line) < 0)
			return -1;
		line = newline ? newline + 1 : NULL;
	}
	return 0;
}
