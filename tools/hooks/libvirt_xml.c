/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt domain XML, as libvirt documents it (formatdomain:
 * https://libvirt.org/formatdomain.html), read for what vfguard needs:
 *   <name>, <uuid>                         General metadata
 *   <memory unit='KiB'>N</memory>          Memory Allocation (scaled units)
 *   <seclabel model= type=>                Security label
 *   <devices><hostdev mode='subsystem' type='pci' managed=>
 *     <driver name='vfio' iommufd='yes|no' model='VARIANT'/>
 *     <source><address domain= bus= slot= function=>[<vf-token uuid=/>]</address></source>
 *                                           Host device assignment, Device Addresses
 *   <devices><interface type='hostdev' managed=> (the same <driver>, <source>)
 *   <devices><interface type='network'><actual type='hostdev' managed=> (ditto)
 *                                           Network interfaces, PCI Passthrough
 *   <devices><hostdev mode='subsystem' type='mdev' model= managed=>
 *     <source><address uuid=/></source>    Host device assignment (mediated devices)
 *   <devices><iommu model=...>             IOMMU devices
 *   <iommufd enabled='yes'/>               the domain-wide iommufd switch (libvirt >= 12.2)
 * and vfguard's own element under <metadata> (docs/hooks.md). Nothing is
 * kept from a document with any error in what vfguard reads. The devices
 * are read in libvirt_xml_hostdev.c, the bytes into a document in
 * libvirt_xml_document.c (libvirt_xml_internal.h).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "libvirt_xml_internal.h"

static void xml_doc_free(xmlDoc **doc)
{
	if (*doc)
		xmlFreeDoc(*doc);
}

static void xml_string_free(xmlChar **text)
{
	if (*text)
		xmlFree(*text);
}

#define cleanup_doc __attribute__((cleanup(xml_doc_free)))
#define cleanup_xml __attribute__((cleanup(xml_string_free)))

static const char *node_name(const xmlNode *node)
{
	return (const char *)node->name;
}

/* An element of libvirt's own vocabulary: no namespace. */
bool xml_is_element(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && !node->ns && strcmp(node_name(node), name) == 0;
}

/* An error about @node: the subject names the line and the element. */
int xml_fail(vfg_error *err, const xmlNode *node, const char *fmt, ...)
{
	char subject[128], text[VFG_ERROR_MESSAGE_MAX / 2];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (node)
		snprintf(subject, sizeof(subject), "domain XML line %ld <%s>", xmlGetLineNo(node), node_name(node));
	else
		snprintf(subject, sizeof(subject), "domain XML");
	return vfg_error_set(err, 0, subject, "%s", text);
}

/* The element's text without surrounding white space, into @buf. */
static int element_text(const xmlNode *node, char *buf, size_t size, vfg_error *err)
{
	cleanup_xml xmlChar *content = xmlNodeGetContent(node);
	const char *text = content ? (const char *)content : "";
	while (isspace((unsigned char)*text))
		text++;
	size_t length = strlen(text);
	while (length && isspace((unsigned char)text[length - 1]))
		length--;
	if (length >= size)
		return xml_fail(err, node, "longer than %zu characters", size - 1);
	memcpy(buf, text, length);
	buf[length] = '\0';
	return 0;
}

/* The attribute's value into @buf, "" when absent. */
int xml_attribute(const xmlNode *node, const char *name, char *buf, size_t size, vfg_error *err)
{
	cleanup_xml xmlChar *value = xmlGetNoNsProp(node, (const xmlChar *)name);
	const char *text = value ? (const char *)value : "";
	if (strlen(text) >= size)
		return xml_fail(err, node, "%s='%.32s...': longer than %zu characters", name, text, size - 1);
	memcpy(buf, text, strlen(text) + 1);
	return 0;
}

/* The only child element called @name: NULL when there is none, an error when there are two. */
int xml_only_child(const xmlNode *parent, const char *name, const xmlNode **child, vfg_error *err)
{
	*child = NULL;
	for (const xmlNode *node = parent->children; node; node = node->next) {
		if (!xml_is_element(node, name))
			continue;
		if (*child)
			return xml_fail(err, node, "a second <%s> in <%s>", name, node_name(parent));
		*child = node;
	}
	return 0;
}

int xml_yes_no(const xmlNode *node, const char *name, const char *value, bool *result, vfg_error *err)
{
	if (strcmp(value, "yes") == 0)
		*result = true;
	else if (strcmp(value, "no") == 0)
		*result = false;
	else
		return xml_fail(err, node, "%s='%s': expected yes or no", name, value);
	return 0;
}

/*
 * Units of a scaled integer (formatdomain, "Memory Allocation"): the
 * default is KiB; "KB", "MB", ... are powers of 1000, "k"/"KiB", "M"/"MiB",
 * ... powers of 1024.
 */
static const struct {
	const char *name;
	uint64_t factor;
} scaled_units[] = {
	{"b", 1ull},       {"bytes", 1ull},     {"KB", 1000ull},
	{"k", 1ull << 10}, {"KiB", 1ull << 10}, {"MB", 1000000ull},
	{"M", 1ull << 20}, {"MiB", 1ull << 20}, {"GB", 1000000000ull},
	{"G", 1ull << 30}, {"GiB", 1ull << 30}, {"TB", 1000000000000ull},
	{"T", 1ull << 40}, {"TiB", 1ull << 40}, {"PB", 1000000000000000ull},
	{"P", 1ull << 50}, {"PiB", 1ull << 50},
};

int libvirt_scaled_parse(const char *number, const char *unit, uint64_t *bytes, vfg_error *err)
{
	if (!unit || !unit[0])
		unit = "KiB";
	uint64_t factor = 0;
	for (size_t i = 0; i < sizeof(scaled_units) / sizeof(scaled_units[0]); i++)
		if (strcmp(unit, scaled_units[i].name) == 0)
			factor = scaled_units[i].factor;
	if (!factor)
		return vfg_error_set(err, 0, unit, "not a unit libvirt knows (b, KB, KiB, MB, MiB, GB, GiB, ...)");

	char *end;
	errno = 0;
	unsigned long long value = strtoull(number, &end, 10);
	if (!isdigit((unsigned char)number[0]) || *end || errno)
		return vfg_error_set(err, errno, number, "not a decimal number");
	if (value > UINT64_MAX / factor)
		return vfg_error_set(err, ERANGE, number, "%s is more bytes than 64 bits hold", unit);
	*bytes = value * factor;
	return 0;
}

/* One number of a user or group: "+N" is a number by force, else a name, else a number. */
static int dac_id(const char *text, bool group, unsigned long *id)
{
	bool forced = text[0] == '+';
	const char *digits = forced ? text + 1 : text;
	if (!forced && text[0]) {
		if (group) {
			struct group *g = getgrnam(text);
			if (g) {
				*id = g->gr_gid;
				return 0;
			}
		} else {
			struct passwd *p = getpwnam(text);
			if (p) {
				*id = p->pw_uid;
				return 0;
			}
		}
	}
	char *end;
	errno = 0;
	unsigned long value = strtoul(digits, &end, 10);
	/* (uid_t)-1 means "no change" to chown(2): never a hypervisor's id. */
	if (!isdigit((unsigned char)digits[0]) || *end || errno || value >= UINT_MAX)
		return -1;
	*id = value;
	return 0;
}

int libvirt_dac_label_parse(const char *label, uid_t *uid, gid_t *gid, vfg_error *err)
{
	const char *colon = strchr(label, ':');
	char user[VFG_LABEL_MAX];
	if (!colon || (size_t)(colon - label) >= sizeof(user) || colon == label || !colon[1])
		return vfg_error_set(err, 0, label, "a dac label is USER:GROUP (names, or +UID:+GID)");
	memcpy(user, label, (size_t)(colon - label));
	user[colon - label] = '\0';
	unsigned long u, g;
	if (dac_id(user, false, &u) < 0)
		return vfg_error_set(err, 0, label, "no user '%s' on this host, and not a number", user);
	if (dac_id(colon + 1, true, &g) < 0)
		return vfg_error_set(err, 0, label, "no group '%s' on this host, and not a number", colon + 1);
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

typedef enum seclabel_type { SECLABEL_DYNAMIC, SECLABEL_STATIC, SECLABEL_NONE } seclabel_type;

static int parse_seclabel(parse_state *state, const xmlNode *seclabel, vfg_error *err)
{
	libvirt_domain *out = state->out;
	vfg_domain *domain = &out->domain;
	char model[32], type_text[32], label[VFG_LABEL_MAX] = "", image[VFG_LABEL_MAX] = "";
	const xmlNode *label_node, *image_node;
	if (xml_attribute(seclabel, "model", model, sizeof(model), err) < 0 ||
	    xml_attribute(seclabel, "type", type_text, sizeof(type_text), err) < 0 ||
	    xml_only_child(seclabel, "label", &label_node, err) < 0 ||
	    xml_only_child(seclabel, "imagelabel", &image_node, err) < 0)
		return -1;
	if (label_node && element_text(label_node, label, sizeof(label), err) < 0)
		return -1;
	if (image_node && element_text(image_node, image, sizeof(image), err) < 0)
		return -1;

	/* formatdomain: type defaults to dynamic. */
	seclabel_type type;
	if (!type_text[0] || strcmp(type_text, "dynamic") == 0)
		type = SECLABEL_DYNAMIC;
	else if (strcmp(type_text, "static") == 0)
		type = SECLABEL_STATIC;
	else if (strcmp(type_text, "none") == 0)
		type = SECLABEL_NONE;
	else
		return xml_fail(err, seclabel, "type='%s': expected dynamic, static or none", type_text);

	/*
	 * <seclabel type='none'/> without a model turns every security driver
	 * off; model='none' is the label of libvirt's "none" driver
	 * (qemu.conf security_driver = "none"), which confines nothing.
	 */
	if ((!model[0] && type == SECLABEL_NONE) || strcmp(model, "none") == 0) {
		out->selinux_none = true;
		out->apparmor_none = true;
		return 0;
	}

	unsigned bit;
	if (strcmp(model, "selinux") == 0)
		bit = LIBVIRT_SECLABEL_SELINUX;
	else if (strcmp(model, "apparmor") == 0)
		bit = LIBVIRT_SECLABEL_APPARMOR;
	else if (strcmp(model, "dac") == 0)
		bit = LIBVIRT_SECLABEL_DAC;
	else if (!model[0])
		return xml_fail(err, seclabel, "no model attribute: vfguard cannot tell which layer the label is for");
	else
		return xml_fail(err, seclabel, "model='%s': expected selinux, apparmor, dac or none", model);
	if (out->seclabels & bit)
		return xml_fail(err, seclabel, "a second <seclabel model='%s'>", model);
	out->seclabels |= bit;

	if (type == SECLABEL_STATIC && !label[0])
		return xml_fail(err, seclabel, "a static %s seclabel without <label>", model);

	switch (bit) {
	case LIBVIRT_SECLABEL_SELINUX:
		if (type == SECLABEL_NONE) {
			out->selinux_none = true;
			return 0;
		}
		/* A dynamic label is there once libvirt generated it; before that vfguard allocates one. */
		if (vfg_domain_attr_set(domain, "selinux.label", label, err) < 0 ||
		    vfg_domain_attr_set(domain, "selinux.image_label", image, err) < 0)
			return xml_fail(err, seclabel, "%s", err->message);
		return 0;
	case LIBVIRT_SECLABEL_APPARMOR:
		/* libvirt's AppArmor driver names the profile libvirt-UUID; the apparmor labeler does the same without
		 * a label. */
		if (type == SECLABEL_NONE)
			out->apparmor_none = true;
		else if (vfg_domain_attr_set(domain, "apparmor.profile", label, err) < 0)
			return xml_fail(err, seclabel, "%s", err->message);
		out->apparmor_static = type == SECLABEL_STATIC;
		return 0;
	default:
		if (type == SECLABEL_NONE || !label[0])
			return 0;
		if (libvirt_dac_label_parse(label, &domain->uid, &domain->gid, err) < 0) {
			vfg_error_prefix(err, "domain XML line %ld <seclabel model='dac'>", xmlGetLineNo(seclabel));
			return -1;
		}
		out->dac_label = true;
		return 0;
	}
}

static int parse_memory(parse_state *state, const xmlNode *memory, vfg_error *err)
{
	char text[64], unit[16];
	if (element_text(memory, text, sizeof(text), err) < 0 ||
	    xml_attribute(memory, "unit", unit, sizeof(unit), err) < 0)
		return -1;
	vfg_error inner = {0};
	if (libvirt_scaled_parse(text, unit, &state->out->domain.memory, &inner) < 0)
		return xml_fail(err, memory, "%s", inner.message);
	return 0;
}

static int parse_name(parse_state *state, const xmlNode *name, vfg_error *err)
{
	if (state->n_names++)
		return xml_fail(err, name, "a second <name>");
	vfg_domain *domain = &state->out->domain;
	if (element_text(name, domain->name, sizeof(domain->name), err) < 0)
		return -1;
	vfg_error inner = {0};
	if (vfg_domain_name_check(domain->name, &inner) < 0)
		return xml_fail(err, name, "%s", inner.message);
	return 0;
}

static int parse_uuid(parse_state *state, const xmlNode *uuid, vfg_error *err)
{
	char text[64];
	vfg_error inner = {0};
	if (element_text(uuid, text, sizeof(text), err) < 0)
		return -1;
	if (vfg_uuid_parse(text, state->out->domain.uuid, &inner) < 0)
		return xml_fail(err, uuid, "%s", inner.message);
	return 0;
}

static bool is_vfguard_element(const xmlNode *node, const char *name)
{
	return node->type == XML_ELEMENT_NODE && node->ns && node->ns->href &&
	       strcmp((const char *)node->ns->href, LIBVIRT_VFGUARD_NAMESPACE) == 0 &&
	       strcmp(node_name(node), name) == 0;
}

static int find_metadata(parse_state *state, const xmlNode *metadata, vfg_error *err)
{
	for (const xmlNode *node = metadata->children; node; node = node->next) {
		if (node->type != XML_ELEMENT_NODE || !node->ns || !node->ns->href ||
		    strcmp((const char *)node->ns->href, LIBVIRT_VFGUARD_NAMESPACE) != 0)
			continue;
		if (!is_vfguard_element(node, "domain"))
			return xml_fail(err, node, "unknown element in namespace %s (expected domain)",
					LIBVIRT_VFGUARD_NAMESPACE);
		if (state->metadata)
			return xml_fail(err, node, "a second vfguard metadata element");
		state->metadata = node;
	}
	return 0;
}

/* Only the attributes in @known (NULL-terminated) may appear on @node. */
static int known_attributes(const xmlNode *node, const char *const *known, vfg_error *err)
{
	for (const xmlAttr *attr = node->properties; attr; attr = attr->next) {
		bool ok = false;
		for (size_t i = 0; known[i]; i++)
			ok = ok || strcmp((const char *)attr->name, known[i]) == 0;
		if (!ok)
			return xml_fail(err, node, "unknown attribute %s", (const char *)attr->name);
	}
	return 0;
}

/*
 * <vfguard:domain xmlns:vfguard="urn:vfguard:libvirt:1">
 *   <vfguard:hostdev address="0000:01:00.0" access="fd|path" vf-token="UUID"/>
 * </vfguard:domain>
 */
static int apply_metadata_hostdev(parse_state *state, const xmlNode *node, bool *described, vfg_error *err)
{
	static const char *const known[] = {"address", "access", "vf-token", NULL};
	char address[64], access[16], token[64];
	vfg_error inner = {0};
	if (known_attributes(node, known, err) < 0 ||
	    xml_attribute(node, "address", address, sizeof(address), err) < 0 ||
	    xml_attribute(node, "access", access, sizeof(access), err) < 0 ||
	    xml_attribute(node, "vf-token", token, sizeof(token), err) < 0)
		return -1;
	vfg_pci_addr addr;
	if (!address[0])
		return xml_fail(err, node, "no address attribute: which hostdev?");
	if (vfg_pci_addr_parse(address, &addr, &inner) < 0)
		return xml_fail(err, node, "%s", inner.message);

	libvirt_domain *out = state->out;
	size_t i = 0;
	while (i < out->n_specs && (out->specs[i].mdev[0] || !vfg_pci_addr_equal(&out->specs[i].addr, &addr)))
		i++;
	if (i == out->n_specs)
		return xml_fail(err, node, "address='%s' is no PCI <hostdev> or hostdev <interface> of the domain",
				address);
	if (described[i])
		return xml_fail(err, node, "address='%s' is described twice", address);
	described[i] = true;

	vfg_hostdev_spec *spec = &out->specs[i];
	if (access[0]) {
		if (vfg_access_parse(access, &spec->access, &inner) < 0)
			return xml_fail(err, node, "%s", inner.message);
	}
	if (token[0]) {
		char canonical[VFG_UUID_STRLEN];
		if (vfg_uuid_parse(token, canonical, &inner) < 0)
			return xml_fail(err, node, "%s", inner.message);
		if (spec->vf_token[0] && strcmp(spec->vf_token, canonical) != 0)
			return xml_fail(err, node, "vf-token %s differs from the hostdev's <vf-token> %s", canonical,
					spec->vf_token);
		memcpy(spec->vf_token, canonical, sizeof(canonical));
	}
	return 0;
}

static int apply_metadata(parse_state *state, vfg_error *err)
{
	if (!state->metadata)
		return 0;
	static const char *const known[] = {NULL};
	if (known_attributes(state->metadata, known, err) < 0)
		return -1;
	bool *described = calloc(state->out->n_specs + 1, sizeof(*described));
	if (!described)
		return vfg_error_set(err, ENOMEM, "domain XML", "out of memory");
	int r = 0;
	for (const xmlNode *node = state->metadata->children; node && r == 0; node = node->next) {
		if (node->type != XML_ELEMENT_NODE)
			continue;
		if (is_vfguard_element(node, "hostdev"))
			r = apply_metadata_hostdev(state, node, described, err);
		else
			r = xml_fail(err, node, "unknown element in vfguard's metadata (expected hostdev)");
	}
	free(described);
	return r;
}

static int parse_root(parse_state *state, const xmlNode *root, vfg_error *err)
{
	if (!xml_is_element(root, "domain"))
		return xml_fail(err, root, "the document is no libvirt <domain>");
	for (const xmlNode *node = root->children; node; node = node->next) {
		int r = 0;
		if (xml_is_element(node, "iommufd")) {
			char enabled[16];
			r = xml_attribute(node, "enabled", enabled, sizeof(enabled), err);
			if (r == 0 && enabled[0])
				r = xml_yes_no(node, "enabled", enabled, &state->iommufd_default, err);
		}
		if (r < 0)
			return -1;
	}
	for (const xmlNode *node = root->children; node; node = node->next) {
		int r = 0;
		if (xml_is_element(node, "name"))
			r = parse_name(state, node, err);
		else if (xml_is_element(node, "uuid"))
			r = parse_uuid(state, node, err);
		else if (xml_is_element(node, "memory"))
			r = parse_memory(state, node, err);
		else if (xml_is_element(node, "seclabel"))
			r = parse_seclabel(state, node, err);
		else if (xml_is_element(node, "devices"))
			r = libvirt_devices_parse(state, node, err);
		else if (xml_is_element(node, "metadata"))
			r = find_metadata(state, node, err);
		if (r < 0)
			return -1;
	}
	if (!state->n_names)
		return xml_fail(err, root, "no <name>: libvirt requires one");
	return apply_metadata(state, err);
}

int libvirt_domain_parse(const char *xml, size_t size, libvirt_domain *out, vfg_error *err)
{
	*out = (libvirt_domain){0};
	if (size == 0)
		return vfg_error_set(err, 0, "domain XML", "empty: libvirt passes the domain XML on standard input");
	if (size > INT_MAX)
		return vfg_error_set(err, EFBIG, "domain XML", "too large");

	cleanup_doc xmlDoc *doc = libvirt_document_read(xml, size, err);
	if (!doc)
		return -1;
	const xmlNode *root = xmlDocGetRootElement(doc);
	if (!root)
		return vfg_error_set(err, 0, "domain XML", "no root element");

	parse_state state = {.out = out};
	if (parse_root(&state, root, err) < 0) {
		libvirt_domain_clear(out);
		return -1;
	}
	/* libvirt's AppArmor driver names a dynamic profile after the uuid. */
	if ((out->seclabels & LIBVIRT_SECLABEL_APPARMOR) && !out->apparmor_none &&
	    !vfg_domain_attr(&out->domain, "apparmor.profile")[0] && out->domain.uuid[0]) {
		char profile[VFG_UUID_STRLEN + 16];
		snprintf(profile, sizeof(profile), "libvirt-%s", out->domain.uuid);
		vfg_domain_attr_set(&out->domain, "apparmor.profile", profile, NULL);
	}
	out->domain.hostdevs = out->specs;
	out->domain.n_hostdevs = out->n_specs;
	return 0;
}

/* An attribute's value is @value exactly (an attribute too long for @size is none of them). */
static bool attribute_is(const xmlNode *node, const char *name, const char *value)
{
	char text[32];
	vfg_error ignored = {0};
	return xml_attribute(node, name, text, sizeof(text), &ignored) == 0 && strcmp(text, value) == 0;
}

/*
 * The devices libvirt_devices_parse() reads, leniently: a <hostdev> that is not
 * one of the kinds that need no VFIO node (USB, SCSI, capabilities mode),
 * an <interface type='hostdev'>, an interface with an <actual
 * type='hostdev'>.
 */
static bool device_asks_vfio(const xmlNode *node)
{
	if (xml_is_element(node, "hostdev"))
		return !attribute_is(node, "mode", "capabilities") && !attribute_is(node, "type", "usb") &&
		       !attribute_is(node, "type", "scsi") && !attribute_is(node, "type", "scsi_host");
	if (!xml_is_element(node, "interface"))
		return false;
	if (attribute_is(node, "type", "hostdev"))
		return true;
	for (const xmlNode *actual = node->children; actual; actual = actual->next)
		if (xml_is_element(actual, "actual") && attribute_is(actual, "type", "hostdev"))
			return true;
	return false;
}

bool libvirt_domain_asks_vfio(const char *xml, size_t size)
{
	vfg_error ignored = {0};
	cleanup_doc xmlDoc *doc = size > 0 && size <= INT_MAX ? libvirt_document_read(xml, size, &ignored) : NULL;
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || !xml_is_element(root, "domain"))
		return true;
	for (const xmlNode *devices = root->children; devices; devices = devices->next)
		for (const xmlNode *node = xml_is_element(devices, "devices") ? devices->children : NULL; node;
		     node = node->next)
			if (device_asks_vfio(node))
				return true;
	return false;
}

void libvirt_domain_clear(libvirt_domain *domain)
{
	free(domain->specs);
	*domain = (libvirt_domain){0};
}
