/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The devices of a domain XML that vfguard grants (formatdomain "Host
 * device assignment", "Network interfaces"): each PCI function handed to
 * QEMU through VFIO, as a <hostdev>, an <interface type='hostdev'> or the
 * <actual type='hostdev'> of a network interface, and each mediated device,
 * becomes one hostdev spec; an <iommu> makes the domain's viommu.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt_xml_internal.h"

/* A number of a PCI address: libvirt reads it with base 0 (0x hex, 0 octal, else decimal). */
static int address_number(const xmlNode *node, const char *name, bool required, unsigned long max, unsigned long *value,
			  vfg_error *err)
{
	char text[32];
	if (xml_attribute(node, name, text, sizeof(text), err) < 0)
		return -1;
	if (!text[0]) {
		if (required)
			return xml_fail(err, node, "no %s attribute: a PCI address needs bus, slot and function", name);
		*value = 0;
		return 0;
	}
	char *end;
	errno = 0;
	*value = strtoul(text, &end, 0);
	if (!isdigit((unsigned char)text[0]) || *end || errno || *value > max)
		return xml_fail(err, node, "%s='%s': expected a number from 0 to %#lx", name, text, max);
	return 0;
}

static int parse_pci_address(const xmlNode *node, vfg_pci_addr *addr, vfg_error *err)
{
	unsigned long domain, bus, slot, function;
	/* Ranges of a PCI address (formatdomain, "Device Addresses"). */
	if (address_number(node, "domain", false, 0xffff, &domain, err) < 0 ||
	    address_number(node, "bus", true, 0xff, &bus, err) < 0 ||
	    address_number(node, "slot", true, 0x1f, &slot, err) < 0 ||
	    address_number(node, "function", true, 7, &function, err) < 0)
		return -1;
	*addr = (vfg_pci_addr){
		.domain = (uint16_t)domain, .bus = (uint8_t)bus, .slot = (uint8_t)slot, .function = (uint8_t)function};
	return 0;
}

static int parse_uuid_attribute(const xmlNode *node, char *canonical, vfg_error *err)
{
	char text[64];
	if (xml_attribute(node, "uuid", text, sizeof(text), err) < 0)
		return -1;
	if (!text[0])
		return xml_fail(err, node, "no uuid attribute");
	vfg_error inner = {0};
	if (vfg_uuid_parse(text, canonical, &inner) < 0)
		return xml_fail(err, node, "%s", inner.message);
	return 0;
}

/* A <vf-token uuid=.../> of the hostdev at @addr: the error names the hostdev and the value. */
static int parse_vf_token(const xmlNode *token, const vfg_pci_addr *addr, char *canonical, vfg_error *err)
{
	char bdf[VFG_PCI_ADDR_STRLEN];
	if (parse_uuid_attribute(token, canonical, err) < 0) {
		vfg_error_prefix(err, "hostdev %s", vfg_pci_addr_format(addr, bdf));
		return -1;
	}
	return 0;
}

/*
 * The children of a hostdev's <source><address>. libvirt's schema gives a PCI
 * address attributes only (basictypes.rng "pciaddress"); its one child
 * element, <zpci> ("zpciaddress"), belongs to the guest-side <address
 * type='pci'> (domaincommon.rng "address"), not to the host function. The
 * VF token series (docs/hooks.md "VF tokens") puts <vf-token uuid=.../> here.
 * Anything else is refused: an element vfguard skips could change what
 * libvirt hands QEMU without vfguard knowing.
 */
/*
 * The attributes of a hostdev's source <address>: a PCI address's
 * (basictypes.rng "pciaddress": domain, bus, slot, function,
 * multifunction) and type='pci'. Another is refused as an unknown child is:
 * vfguard would not know what it changes.
 */
static int source_address_attributes_check(const xmlNode *address, vfg_error *err)
{
	static const char *const known[] = {"domain", "bus", "slot", "function", "multifunction", "type", NULL};
	for (const xmlAttr *attr = address->properties; attr; attr = attr->next) {
		const char *name = (const char *)attr->name;
		bool ok = false;
		for (const char *const *k = known; !attr->ns && *k && !ok; k++)
			ok = strcmp(name, *k) == 0;
		if (!ok) {
			char value[64];
			if (xml_attribute(address, name, value, sizeof(value), err) < 0)
				return -1;
			return xml_fail(err, address, "unknown attribute %s='%s' in a hostdev's source <address>", name,
					value);
		}
	}
	char type[16];
	if (xml_attribute(address, "type", type, sizeof(type), err) < 0)
		return -1;
	if (type[0] && strcmp(type, "pci") != 0)
		return xml_fail(err, address, "type='%s': a PCI hostdev's source address is type='pci'", type);
	return 0;
}

static int parse_source_address_children(const xmlNode *address, vfg_hostdev_spec *spec, vfg_error *err)
{
	const xmlNode *token = NULL;
	for (const xmlNode *node = address->children; node; node = node->next) {
		if (node->type != XML_ELEMENT_NODE)
			continue;
		if (!xml_is_element(node, "vf-token"))
			return xml_fail(err, node,
					"unknown element in a hostdev's source <address> (expected vf-token)");
		if (token)
			return xml_fail(err, node, "a second <vf-token> in <address>");
		token = node;
	}
	if (!token)
		return 0;
	char canonical[VFG_UUID_STRLEN];
	if (parse_vf_token(token, &spec->addr, canonical, err) < 0)
		return -1;
	if (spec->vf_token[0] && strcmp(spec->vf_token, canonical) != 0)
		return xml_fail(err, token, "vf-token %s differs from the <vf-token> %s in <source>", canonical,
				spec->vf_token);
	memcpy(spec->vf_token, canonical, sizeof(canonical));
	return 0;
}

/*
 * <driver name='vfio' iommufd='yes|no' model='NAME'/>. model names the vfio
 * variant driver libvirt binds a managed device to (formatdomain "Host
 * device assignment", e.g. mlx5_vfio_pci); vfguard binds the same, and
 * refuses a name that is no vfio driver before anything changes.
 */
static int parse_hostdev_driver(const xmlNode *driver, vfg_hostdev_spec *spec, bool *backend_given, vfg_error *err)
{
	char name[32], iommufd[16], model[VFG_DRIVER_MAX + 8];
	if (xml_attribute(driver, "name", name, sizeof(name), err) < 0 ||
	    xml_attribute(driver, "iommufd", iommufd, sizeof(iommufd), err) < 0 ||
	    xml_attribute(driver, "model", model, sizeof(model), err) < 0)
		return -1;
	if (xmlHasProp(driver, (const xmlChar *)"model")) {
		vfg_error inner = {0};
		if (vfg_driver_name_check(model, &inner) < 0)
			return xml_fail(err, driver, "model='%s': %s", model, inner.message);
		snprintf(spec->driver, sizeof(spec->driver), "%s", model);
	}
	/* "kvm" (legacy KVM assignment) and "xen" are other backends: no VFIO node is involved. */
	if (name[0] && strcmp(name, "vfio") != 0)
		return xml_fail(err, driver,
				"driver name='%s': vfguard grants VFIO device nodes, only name='vfio' is served", name);
	if (iommufd[0]) {
		bool yes = false;
		if (xml_yes_no(driver, "iommufd", iommufd, &yes, err) < 0)
			return -1;
		spec->backend = yes ? VFG_BACKEND_IOMMUFD : VFG_BACKEND_LEGACY;
		*backend_given = true;
	}
	return 0;
}

/*
 * A hostdev's mode and type as formatdomain lists them ("Host device
 * assignment"): subsystem (the default) with usb, pci, scsi, scsi_host or
 * mdev; capabilities with storage, misc or net. Another value is a
 * document libvirt would not have accepted, and a device vfguard cannot
 * know to be left alone.
 */
static int hostdev_kind_check(const xmlNode *hostdev, const char *mode, const char *type, vfg_error *err)
{
	static const char *const subsystem_types[] = {"usb", "pci", "scsi", "scsi_host", "mdev", NULL};
	static const char *const capabilities_types[] = {"storage", "misc", "net", NULL};
	bool capabilities = strcmp(mode, "capabilities") == 0;
	if (mode[0] && strcmp(mode, "subsystem") != 0 && !capabilities)
		return xml_fail(err, hostdev, "mode='%s': expected subsystem or capabilities", mode);
	if (!xmlHasProp(hostdev, (const xmlChar *)"type"))
		return xml_fail(err, hostdev, "no type attribute");
	for (const char *const *known = capabilities ? capabilities_types : subsystem_types; *known; known++)
		if (strcmp(type, *known) == 0)
			return 0;
	if (capabilities)
		return xml_fail(err, hostdev, "type='%s': not a capabilities hostdev type (storage, misc, net)", type);
	return xml_fail(err, hostdev, "type='%s': not a hostdev type libvirt knows (usb, pci, scsi, scsi_host, mdev)",
			type);
}

/* Room for one more hostdev spec, set to the defaults of a PCI hostdev; NULL with @err at the bound. */
static vfg_hostdev_spec *spec_new(parse_state *state, const xmlNode *device, vfg_error *err)
{
	libvirt_domain *out = state->out;
	if (out->n_specs == LIBVIRT_HOSTDEVS_MAX) {
		xml_fail(err, device, "more than %d PCI hostdevs in one domain", LIBVIRT_HOSTDEVS_MAX);
		return NULL;
	}
	vfg_hostdev_spec *specs = realloc(out->specs, (out->n_specs + 1) * sizeof(*specs));
	if (!specs) {
		vfg_error_set(err, ENOMEM, "domain XML", "out of memory");
		return NULL;
	}
	out->specs = specs;
	vfg_hostdev_spec *spec = &specs[out->n_specs];
	*spec = (vfg_hostdev_spec){.backend = VFG_BACKEND_LEGACY, .access = VFG_ACCESS_PATH};
	return spec;
}

/*
 * A PCI function libvirt hands QEMU through VFIO, in any of the three forms
 * that carry the same managed=, <driver> and <source><address>:
 * <hostdev mode='subsystem' type='pci'>, <interface type='hostdev'>, and
 * the <actual type='hostdev'> of an <interface type='network'> (see
 * parse_interface). QEMU gets the same vfio-pci device for each, so each
 * becomes the same spec, claimed and checked alike.
 */
static int parse_pci_device(parse_state *state, const xmlNode *device, vfg_error *err)
{
	char managed[16];
	if (xml_attribute(device, "managed", managed, sizeof(managed), err) < 0)
		return -1;
	libvirt_domain *out = state->out;
	vfg_hostdev_spec *spec = spec_new(state, device, err);
	if (!spec)
		return -1;

	/* formatdomain: managed omitted means "no", the user detaches the device. */
	if (managed[0] && xml_yes_no(device, "managed", managed, &spec->managed, err) < 0)
		return -1;

	const xmlNode *driver, *source, *address, *token;
	bool backend_given = false;
	if (xml_only_child(device, "driver", &driver, err) < 0)
		return -1;
	if (driver && parse_hostdev_driver(driver, spec, &backend_given, err) < 0)
		return -1;
	if (!backend_given && state->iommufd_default)
		spec->backend = VFG_BACKEND_IOMMUFD;

	if (xml_only_child(device, "source", &source, err) < 0)
		return -1;
	if (!source)
		return xml_fail(err, device, "a PCI hostdev without <source>: no host device named");
	if (xml_only_child(source, "address", &address, err) < 0)
		return -1;
	if (!address)
		return xml_fail(err, source, "no <address>: a PCI hostdev is named by its address");
	if (source_address_attributes_check(address, err) < 0 || parse_pci_address(address, &spec->addr, err) < 0)
		return -1;
	if (xml_only_child(source, "vf-token", &token, err) < 0)
		return -1;
	if (token && parse_vf_token(token, &spec->addr, spec->vf_token, err) < 0)
		return -1;
	if (parse_source_address_children(address, spec, err) < 0)
		return -1;

	for (size_t i = 0; i < out->n_specs; i++)
		if (!out->specs[i].mdev[0] && vfg_pci_addr_equal(&out->specs[i].addr, &spec->addr)) {
			char bdf[VFG_PCI_ADDR_STRLEN];
			return xml_fail(err, address, "%s is assigned twice", vfg_pci_addr_format(&spec->addr, bdf));
		}
	/* libvirt opens the iommufd and cdev itself and passes the fds; QEMU opens a legacy group (docs/hooks.md). */
	spec->access = spec->backend == VFG_BACKEND_IOMMUFD ? VFG_ACCESS_FD : VFG_ACCESS_PATH;
	out->n_specs++;
	return 0;
}

/*
 * A mediated device (formatdomain "Host device assignment", type='mdev'):
 * model= is the vfio bus it presents (vfio-pci, vfio-ccw, vfio-ap; libvirt
 * requires it), <source><address uuid=.../> names it. libvirt gives QEMU
 * "sysfsdev=/sys/bus/mdev/devices/UUID" and QEMU opens the mdev's group
 * node itself: a legacy hostdev with path access. display= and ramfb=
 * configure QEMU's display of a vfio-pci mdev and need no node. There is
 * no driver to detach (the parent's mdev driver made it): managed='yes'
 * is refused rather than silently dropped.
 */
static int parse_mdev(parse_state *state, const xmlNode *hostdev, vfg_error *err)
{
	static const char *const models[] = {"vfio-pci", "vfio-ccw", "vfio-ap", NULL};
	char model[32], managed[16], uuid[64];
	if (xml_attribute(hostdev, "model", model, sizeof(model), err) < 0 ||
	    xml_attribute(hostdev, "managed", managed, sizeof(managed), err) < 0)
		return -1;
	const xmlNode *source, *address;
	if (xml_only_child(hostdev, "source", &source, err) < 0)
		return -1;
	if (source && xml_only_child(source, "address", &address, err) < 0)
		return -1;
	if (!source || !address)
		return xml_fail(err, source ? source : hostdev,
				"mdev (no uuid): an mdev is named by <source><address uuid=.../>");
	if (xml_attribute(address, "uuid", uuid, sizeof(uuid), err) < 0)
		return -1;
	if (!uuid[0])
		return xml_fail(err, address, "mdev (no uuid): <address> names no uuid");
	vfg_hostdev_spec parsed = {0};
	vfg_error inner = {0};
	if (vfg_uuid_parse(uuid, parsed.mdev, &inner) < 0)
		return xml_fail(err, address, "mdev uuid: %s", inner.message);
	bool known = false;
	for (size_t i = 0; models[i]; i++)
		known = known || strcmp(model, models[i]) == 0;
	if (!known)
		return xml_fail(err, hostdev, "mdev %s: model='%s': expected vfio-pci, vfio-ccw or vfio-ap",
				parsed.mdev, model);
	bool is_managed = false;
	if (managed[0] && xml_yes_no(hostdev, "managed", managed, &is_managed, err) < 0)
		return -1;
	if (is_managed)
		return xml_fail(
			err, hostdev,
			"mdev %s: managed='yes', but an mdev has no driver to detach and reattach (its parent's "
			"mdev driver made it)",
			parsed.mdev);
	libvirt_domain *out = state->out;
	for (size_t i = 0; i < out->n_specs; i++)
		if (strcmp(out->specs[i].mdev, parsed.mdev) == 0)
			return xml_fail(err, address, "mdev %s is assigned twice", parsed.mdev);
	vfg_hostdev_spec *spec = spec_new(state, hostdev, err);
	if (!spec)
		return -1;
	memcpy(spec->mdev, parsed.mdev, sizeof(spec->mdev));
	out->n_specs++;
	return 0;
}

static int parse_hostdev(parse_state *state, const xmlNode *hostdev, vfg_error *err)
{
	char mode[32], type[32];
	if (xml_attribute(hostdev, "mode", mode, sizeof(mode), err) < 0 ||
	    xml_attribute(hostdev, "type", type, sizeof(type), err) < 0)
		return -1;
	if (hostdev_kind_check(hostdev, mode, type, err) < 0)
		return -1;
	bool subsystem = !mode[0] || strcmp(mode, "subsystem") == 0;
	if (subsystem && strcmp(type, "mdev") == 0)
		return parse_mdev(state, hostdev, err);
	/* USB, SCSI and capabilities-mode devices need no VFIO node. */
	if (!subsystem || strcmp(type, "pci") != 0)
		return 0;
	return parse_pci_device(state, hostdev, err);
}

/*
 * Network interfaces (formatdomain "Network interfaces"): an <interface
 * type='hostdev'> is an SR-IOV VF given to the guest by "PCI Passthrough"
 * (https://libvirt.org/formatdomain.html#pci-passthrough): managed=,
 * <driver name='vfio'/> and <source><address type='pci' .../></source> as
 * a <hostdev> has them; <mac>, <vlan>, <virtualport> only configure the VF
 * and are not read. An <interface type='network'> whose network is a
 * hostdev pool (formatnetwork "Connectivity", <forward mode='hostdev'>)
 * gets its VF when the domain starts; libvirt's status XML records the one
 * it picked as <actual type='hostdev' managed=...> with the same <driver>
 * and <source><address>. Without <actual>, or with another actual type,
 * the interface is an ordinary NIC and no VFIO device.
 */
static int parse_interface(parse_state *state, const xmlNode *interface, vfg_error *err)
{
	char type[32];
	if (xml_attribute(interface, "type", type, sizeof(type), err) < 0)
		return -1;
	if (strcmp(type, "hostdev") == 0)
		return parse_pci_device(state, interface, err);
	if (strcmp(type, "network") != 0)
		return 0;
	const xmlNode *actual;
	char actual_type[32];
	if (xml_only_child(interface, "actual", &actual, err) < 0)
		return -1;
	if (!actual)
		return 0;
	if (xml_attribute(actual, "type", actual_type, sizeof(actual_type), err) < 0)
		return -1;
	if (strcmp(actual_type, "hostdev") != 0)
		return 0;
	return parse_pci_device(state, actual, err);
}

int libvirt_devices_parse(parse_state *state, const xmlNode *devices, vfg_error *err)
{
	for (const xmlNode *node = devices->children; node; node = node->next) {
		int r = 0;
		if (xml_is_element(node, "hostdev"))
			r = parse_hostdev(state, node, err);
		else if (xml_is_element(node, "interface"))
			r = parse_interface(state, node, err);
		else if (xml_is_element(node, "iommu"))
			state->out->domain.viommu = true;
		if (r < 0)
			return -1;
	}
	return 0;
}
