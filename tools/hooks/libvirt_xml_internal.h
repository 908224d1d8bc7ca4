/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_HOOKS_LIBVIRT_XML_INTERNAL_H
#define VFGUARD_TOOLS_HOOKS_LIBVIRT_XML_INTERNAL_H

/*
 * What the files of the domain XML parser share (its API: libvirt_xml.h):
 *   libvirt_xml.c           the parse: the domain's own elements, vfguard's metadata, the element helpers
 *   libvirt_xml_hostdev.c   the devices handed through VFIO: PCI hostdevs, hostdev interfaces, mdevs
 *   libvirt_xml_document.c  the bytes read into a document: no DOCTYPE, the first error kept
 * Nothing outside tools/hooks/libvirt_xml*.c includes it.
 */

#include <stdbool.h>
#include <stddef.h>

#include <libxml/tree.h>

#include "libvirt_xml.h"

/* What the parse collects before it becomes the result. */
typedef struct parse_state {
	libvirt_domain *out;
	size_t n_names;
	bool iommufd_default; /* <iommufd enabled='yes'/> */
	const xmlNode *metadata; /* vfguard's element, applied once every hostdev is known */
} parse_state;

/* An element of libvirt's own vocabulary: no namespace. */
bool xml_is_element(const xmlNode *node, const char *name);
/* An error about @node: the subject names the line and the element (-1). */
int xml_fail(vfg_error *err, const xmlNode *node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The attribute's value into @buf, "" when absent. */
int xml_attribute(const xmlNode *node, const char *name, char *buf, size_t size, vfg_error *err);
/* The only child element called @name: NULL when there is none, an error when there are two. */
int xml_only_child(const xmlNode *parent, const char *name, const xmlNode **child, vfg_error *err);
/* @value, the attribute @name of @node, as yes or no into *@result; anything else is an error. */
int xml_yes_no(const xmlNode *node, const char *name, const char *value, bool *result, vfg_error *err);

/*
 * The children of <devices> (libvirt_xml_hostdev.c): each PCI function or
 * mdev handed through VFIO becomes a spec in state->out; an <iommu> sets viommu.
 */
int libvirt_devices_parse(parse_state *state, const xmlNode *devices, vfg_error *err);

/*
 * The document of @xml (libvirt_xml_document.c), or NULL with @err filled:
 * not well-formed, or it declares a DOCTYPE.
 */
xmlDoc *libvirt_document_read(const char *xml, size_t size, vfg_error *err);

#endif
