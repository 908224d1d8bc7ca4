/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_HOOKS_LIBVIRT_XML_H
#define VFGUARD_TOOLS_HOOKS_LIBVIRT_XML_H

/*
 * What the libvirt hook takes from a domain XML (docs/hooks.md): the domain
 * as vfguard describes it and one hostdev spec per PCI function libvirt
 * hands QEMU through VFIO (<hostdev mode='subsystem' type='pci'>,
 * <interface type='hostdev'>, the <actual type='hostdev'> of an
 * <interface type='network'>). The parse is all or nothing: on an error the result is empty,
 * so nothing is ever applied from half a document.
 */

#include <stdbool.h>
#include <stddef.h>

#include <vfguard/vfguard.h>

/* The namespace of vfguard's element under <metadata> (docs/hooks.md). */
#define LIBVIRT_VFGUARD_NAMESPACE "urn:vfguard:libvirt:1"

/* The <seclabel> models the domain names. */
enum {
	LIBVIRT_SECLABEL_SELINUX = 1u << 0,
	LIBVIRT_SECLABEL_APPARMOR = 1u << 1,
	LIBVIRT_SECLABEL_DAC = 1u << 2,
};

/*
 * PCI hostdevs one domain may have: more than libvirt's own PCI address
 * space gives a guest in practice, and a bound on what one document makes
 * vfguard plan and journal.
 */
#define LIBVIRT_HOSTDEVS_MAX 256

typedef struct libvirt_domain {
	/* name, uuid, uid/gid (from the dac seclabel), labels, memory, viommu; hostdevs point into specs */
	vfg_domain domain;
	vfg_hostdev_spec *specs;
	size_t n_specs;
	unsigned seclabels; /* LIBVIRT_SECLABEL_*: the models with a <seclabel> */
	bool dac_label; /* a dac seclabel named the hypervisor's uid and gid (domain.uid, domain.gid) */
	bool selinux_none; /* <seclabel model='selinux' type='none'>: libvirt confines nothing, vfguard labels nothing
			    */
	bool apparmor_none; /* <seclabel model='apparmor' type='none'>: the VM runs unconfined */
	bool apparmor_static; /* <seclabel model='apparmor' type='static'>: a profile of the administrator's */
} libvirt_domain;

/* Parse @size bytes of domain XML into @out (cleared first); -1 with @err naming the element on any error. */
int libvirt_domain_parse(const char *xml, size_t size, libvirt_domain *out, vfg_error *err);
void libvirt_domain_clear(libvirt_domain *domain);

/*
 * Whether the domain XML may ask for a VFIO device, read leniently where
 * libvirt_domain_parse() is strict: a <hostdev> other than USB, SCSI or
 * capabilities mode, an <interface type='hostdev'>, an interface with an
 * <actual type='hostdev'>. True also for an XML that
 * cannot be read at all or whose root is no <domain>. False lets the hook leave alone a domain it has
 * nothing to grant, whatever it makes of the rest of its XML.
 */
bool libvirt_domain_asks_vfio(const char *xml, size_t size);

/* A dac seclabel's label: "+UID:+GID" (numbers) or "USER:GROUP" (names, or numbers). */
int libvirt_dac_label_parse(const char *label, uid_t *uid, gid_t *gid, vfg_error *err);

/* A scaled size as libvirt writes one: a decimal number and a unit ("KiB" when @unit is NULL or ""). */
int libvirt_scaled_parse(const char *number, const char *unit, uint64_t *bytes, vfg_error *err);

#endif
