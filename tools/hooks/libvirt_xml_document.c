/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bytes of a domain XML read into a libxml2 document, the one way the
 * parser reads them: no network, no DTD and no entity, a DOCTYPE refused,
 * and the first error libxml2 reports kept to say what is wrong.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include "libvirt_xml_internal.h"

/*
 * What the parse watches for: a DOCTYPE, and the first error libxml2
 * reports. libxml2 goes on after a fatal error and reports what follows
 * from it ("Couldn't find end of Start Tag" after "AttValue: ' expected"),
 * and xmlGetLastError keeps only the last: the first says what is wrong.
 */
typedef struct parse_watch {
	long doctype_line;
	bool error_seen;
	int error_line;
	char error_element[64]; /* the element open when it came, "" at the top */
	char error_message[256];
} parse_watch;

/* libxml2 2.12 made the error a const pointer in xmlStructuredErrorFunc. */
#if LIBXML_VERSION >= 21200
typedef const xmlError *structured_error;
#else
typedef xmlError *structured_error;
#endif

/* The structured error handler (xmlSAXHandler.serror): keep the first error, with the element open then. */
static void first_error_keep(void *context, structured_error error)
{
	xmlParserCtxt *ctxt = context;
	parse_watch *watch = ctxt->_private;
	if (watch->error_seen || !error)
		return;
	watch->error_seen = true;
	watch->error_line = error->line;
	snprintf(watch->error_element, sizeof(watch->error_element), "%s", ctxt->name ? (const char *)ctxt->name : "");
	snprintf(watch->error_message, sizeof(watch->error_message), "%s", error->message ? error->message : "");
	/* libxml2's messages end in a newline; vfguard's are one line. */
	size_t length = strlen(watch->error_message);
	while (length && isspace((unsigned char)watch->error_message[length - 1]))
		watch->error_message[--length] = '\0';
	for (char *c = watch->error_message; *c; c++)
		if (*c == '\n')
			*c = ' ';
}

static int xml_syntax_error(const parse_watch *watch, vfg_error *err)
{
	if (!watch->error_seen)
		return vfg_error_set(err, 0, "domain XML", "not well-formed XML");
	if (watch->error_element[0])
		return vfg_error_set(err, 0, "domain XML", "not well-formed XML (line %d, in <%s>: %s)",
				     watch->error_line, watch->error_element, watch->error_message);
	return vfg_error_set(err, 0, "domain XML", "not well-formed XML (line %d: %s)", watch->error_line,
			     watch->error_message);
}

/*
 * libvirt writes no DOCTYPE into a domain XML, and a DOCTYPE is where entities
 * come from: internal ones that expand a few bytes into gigabytes ("billion
 * laughs"), external ones that read a file or a FIFO. The parse stops at the
 * declaration, before its subset is read.
 */
static void doctype_refused(void *context, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	xmlParserCtxt *ctxt = context;
	parse_watch *watch = ctxt->_private;
	watch->doctype_line = ctxt->input ? ctxt->input->line : 1;
	xmlStopParser(ctxt);
}

static void parser_free(xmlParserCtxt **ctxt)
{
	if (*ctxt) {
		xmlFreeDoc((*ctxt)->myDoc);
		xmlFreeParserCtxt(*ctxt);
	}
}

/* The document of @xml, or NULL with @err filled: not well-formed, or it declares a DOCTYPE. */
xmlDoc *libvirt_document_read(const char *xml, size_t size, vfg_error *err)
{
	__attribute__((cleanup(parser_free))) xmlParserCtxt *ctxt = xmlCreateMemoryParserCtxt(xml, (int)size);
	if (!ctxt) {
		vfg_error_set(err, ENOMEM, "domain XML", "cannot make a parser");
		return NULL;
	}
	/* No network, no entity expansion, no DTD loading; errors come to first_error_keep, never stderr. */
	xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	parse_watch watch = {0};
	ctxt->_private = &watch;
	ctxt->sax->internalSubset = doctype_refused;
	ctxt->sax->serror = first_error_keep;
	xmlParseDocument(ctxt);
	if (watch.doctype_line) {
		vfg_error_set(err, 0, "domain XML",
			      "a DOCTYPE declaration (line %ld): libvirt writes none, and vfguard reads no DTD and "
			      "expands no entity",
			      watch.doctype_line);
		return NULL;
	}
	if (!ctxt->wellFormed || !ctxt->myDoc) {
		xml_syntax_error(&watch, err);
		return NULL;
	}
	xmlDoc *doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	return doc;
}
