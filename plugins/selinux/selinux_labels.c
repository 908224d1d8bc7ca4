/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A domain's labels. Given ones come as libvirt's <seclabel> carries them (a
 * process label and an image label); otherwise vfguard allocates an MCS
 * category pair no live domain has, the way sVirt separates VMs: two domains
 * with the same pair could open each other's nodes, so uniqueness is the
 * whole point.
 *
 * They are the labeler's side state in the domain's journal (labeler.h),
 * read and changed only in grant and revoke, under the host lock the core
 * holds for the whole transaction:
 *
 *	labels       ORIGIN PROCESS IMAGE NODE...   allocated|given, the two contexts, the nodes that carry them
 *	mcs:RANGE    NAME                           the categories of the process label ("mcs:s0:c1,c2") are NAME's
 *
 * A range is free when no other domain holds its key, so an allocation never
 * hands out a pair a given label uses, and a given label whose categories
 * another live domain holds is refused. The nodes are listed in the one
 * entry, not one entry each, because the side state cannot be listed: the
 * entry says which node is the last, and changes in one journal line. Both
 * entries go with the domain's last node. The journal lives in state_dir
 * (/run), so an allocation lasts exactly as long as the grants it labels:
 * after a reboot neither is left.
 */
#include <errno.h>
#include <selinux/context.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "selinux_labeler.h"

#define MCS_KEY_PREFIX "mcs:"

/* The "labels" entry: the labels and, after them, " PATH" for each node that carries them. */
typedef struct labels_entry {
	selinux_labels labels;
	char nodes[VFG_UNDO_MAX + 1];
} labels_entry;

/* A label as it may stand in the entry and in a context: printable, no space. */
static bool label_is_plain(const char *label)
{
	if (!*label)
		return false;
	for (const char *c = label; *c; c++)
		if (*c <= ' ' || *c > '~')
			return false;
	return true;
}

static int entry_parse(const char *value, const char *name, labels_entry *entry, vfg_error *err)
{
	memset(entry, 0, sizeof(*entry));
	char copy[VFG_UNDO_MAX + 1];
	snprintf(copy, sizeof(copy), "%s", value);
	char *rest = NULL;
	const char *origin = strtok_r(copy, " ", &rest), *process = strtok_r(NULL, " ", &rest),
		   *image = strtok_r(NULL, " ", &rest);
	bool ok = origin && image && (strcmp(origin, "allocated") == 0 || strcmp(origin, "given") == 0) &&
		  label_is_plain(process) && strlen(process) < VFG_LABEL_MAX && label_is_plain(image) &&
		  strlen(image) < VFG_LABEL_MAX;
	size_t used = 0;
	/* The node list is no longer than @value, which fits: what vfg_txn_state_set took is at most VFG_UNDO_MAX. */
	for (const char *node = ok ? strtok_r(NULL, " ", &rest) : NULL; node && ok; node = strtok_r(NULL, " ", &rest)) {
		ok = node[0] == '/';
		used += (size_t)snprintf(entry->nodes + used, sizeof(entry->nodes) - used, " %s", node);
	}
	if (!ok)
		return vfg_error_set(err, 0, name,
				     "selinux: the journal's labels entry '%.200s' is not ORIGIN PROCESS IMAGE NODE...",
				     value);
	entry->labels.allocated = strcmp(origin, "allocated") == 0;
	snprintf(entry->labels.process, sizeof(entry->labels.process), "%s", process);
	snprintf(entry->labels.image, sizeof(entry->labels.image), "%s", image);
	return 0;
}

/* Where " PATH" stands in the entry's node list, as a whole word; NULL when it is not listed. */
static char *entry_node_find(labels_entry *entry, const char *path)
{
	size_t length = strlen(path);
	for (char *at = strstr(entry->nodes, path); at; at = strstr(at + 1, path))
		if (at > entry->nodes && at[-1] == ' ' && (at[length] == ' ' || at[length] == '\0'))
			return at - 1;
	return NULL;
}

/* Journal the entry as it is now, durably (vfg_txn_state_set). */
static int entry_store(vfg_txn *txn, const char *name, const labels_entry *entry, vfg_error *err)
{
	char value[VFG_UNDO_MAX + 2];
	int n = snprintf(value, sizeof(value), "%s %s %s%s", entry->labels.allocated ? "allocated" : "given",
			 entry->labels.process, entry->labels.image, entry->nodes);
	if (n < 0 || (size_t)n > VFG_UNDO_MAX)
		return vfg_error_set(err, E2BIG, name,
				     "selinux: its labels and the nodes that carry them exceed one journal entry (%d "
				     "bytes)",
				     VFG_UNDO_MAX);
	return vfg_txn_state_set(txn, SELINUX_STATE_LABELS, value, err);
}

/* The MLS range of a context ("s0:c1,c2"), into @buf; "" when it has none. */
static void label_range(const char *label, char *buf, size_t size)
{
	buf[0] = '\0';
	context_t context = context_new(label);
	if (!context)
		return;
	const char *range = context_range_get(context);
	snprintf(buf, size, "%s", range ? range : "");
	context_free(context);
}

/* Only a range with categories separates domains; "s0" is everybody's. */
static bool range_has_categories(const char *range)
{
	return strchr(range, ':') != NULL;
}

/* The side state key that says whose @range is: "mcs:s0:c1,c2". */
static void range_key(const char *range, char *key, size_t size)
{
	snprintf(key, size, MCS_KEY_PREFIX "%s", range);
}

/* The other live domain whose labels have @range, NULL when none has. */
static const char *range_holder(const vfg_txn *txn, const char *range)
{
	char key[VFG_STATE_KEY_MAX + 1];
	range_key(range, key, sizeof(key));
	const char *holder = NULL;
	return vfg_txn_state_holders(txn, key, &holder) ? holder : NULL;
}

/* Journal that the range of @labels is this domain's (@held) or no more; a range without categories is nobody's. */
static int range_keep(vfg_txn *txn, const vfg_domain *domain, const selinux_labels *labels, bool held, vfg_error *err)
{
	char range[VFG_LABEL_MAX], key[VFG_STATE_KEY_MAX + 1];
	label_range(labels->process, range, sizeof(range));
	if (!range_has_categories(range))
		return 0;
	range_key(range, key, sizeof(key));
	return held ? vfg_txn_state_set(txn, key, domain->name, err) : vfg_txn_state_unset(txn, key, err);
}

static int labels_from_range(const vfg_labeler_env *env, const char *range, selinux_labels *labels)
{
	snprintf(labels->process, sizeof(labels->process), "system_u:system_r:%s:%s",
		 vfg_config_get(env->config, "selinux_process_type"), range);
	snprintf(labels->image, sizeof(labels->image), "system_u:object_r:%s:%s",
		 vfg_config_get(env->config, "selinux_image_type"), range);
	return 0;
}

/* "cLOW.cHIGH" into @low and @high; -1 with @err filled when it is not one. */
static int categories_text_parse(const char *text, unsigned *low, unsigned *high, vfg_error *err)
{
	int end = -1;
	/* refpolicy's MCS policy defines c0..c1023 (policy/mcs: "category c1023;"), as does Fedora's. */
	if (sscanf(text, "c%u.c%u%n", low, high, &end) != 2 || end < 0 || text[end] != '\0' || *low >= *high ||
	    *high > 1023)
		return vfg_error_set(err, 0, "", "'%s': expected cLOW.cHIGH, LOW < HIGH <= 1023", text);
	return 0;
}

int selinux_categories_check(const char *value, vfg_error *err)
{
	unsigned low, high;
	return categories_text_parse(value, &low, &high, err);
}

/* Config selinux_mcs_categories, "cLOW.cHIGH": the categories vfguard may hand out. */
static int categories_parse(const vfg_labeler_env *env, unsigned *first, unsigned *count, vfg_error *err)
{
	unsigned low, high;
	if (categories_text_parse(vfg_config_get(env->config, "selinux_mcs_categories"), &low, &high, err) < 0) {
		vfg_error_prefix(err, "configuration value selinux_mcs_categories");
		return -1;
	}
	*first = low;
	*count = high - low + 1;
	return 0;
}

/* A category pair "s0:cA,cB" (A < B) no other domain holds; random, as sVirt's are, so a pair is not reused at once. */
static int labels_allocate(const vfg_labeler_env *env, const vfg_txn *txn, const char *name, selinux_labels *labels,
			   vfg_error *err)
{
	unsigned first = 0, count = 0;
	if (categories_parse(env, &first, &count, err) < 0)
		return -1;
	const unsigned pairs = count * (count - 1) / 2;
	uint32_t start;
	if (getrandom(&start, sizeof(start), 0) != sizeof(start))
		return vfg_error_set(err, errno, name, "selinux: no random numbers for the MCS categories");
	/* Walk every pair once from a random start: the first free one wins, and a full space says so. */
	for (unsigned i = 0; i < pairs; i++) {
		/* pair number -> (low, high): row `low` holds the pairs (low, low+1..count-1) */
		unsigned index = (start + i) % pairs, low = 0, row = count - 1;
		while (index >= row) {
			index -= row;
			low++;
			row--;
		}
		unsigned high = low + 1 + index;
		char range[32];
		snprintf(range, sizeof(range), "s0:c%u,c%u", first + low, first + high);
		if (range_holder(txn, range))
			continue;
		labels_from_range(env, range, labels);
		labels->allocated = true;
		return 0;
	}
	return vfg_error_set(err, ENOSPC, name,
			     "selinux: every MCS category pair of %s is held by a live domain (config "
			     "selinux_mcs_categories)",
			     vfg_config_get(env->config, "selinux_mcs_categories"));
}

/*
 * The image label of a process label, as libvirt pairs them: same user and
 * range, role object_r, the configured image type.
 */
static int image_from_process(const char *process, const char *image_type, char *buf, size_t size, vfg_error *err)
{
	context_t context = context_new(process);
	if (!context)
		return vfg_error_set(err, 0, process, "not an SELinux context (user:role:type[:range])");
	int r = 0;
	if (context_role_set(context, "object_r") != 0 || context_type_set(context, image_type) != 0)
		r = vfg_error_set(err, 0, process, "cannot derive the image label");
	else
		snprintf(buf, size, "%s", context_str(context));
	context_free(context);
	return r;
}

int selinux_labels_given(const vfg_labeler_env *env, const vfg_domain *domain, selinux_labels *labels, vfg_error *err)
{
	memset(labels, 0, sizeof(*labels));
	if (!vfg_domain_attr(domain, "selinux.label")[0] && !vfg_domain_attr(domain, "selinux.image_label")[0])
		return 0;
	const char *image_type = vfg_config_get(env->config, "selinux_image_type");
	if (vfg_domain_attr(domain, "selinux.label")[0]) {
		if (!label_is_plain(vfg_domain_attr(domain, "selinux.label")))
			return vfg_error_set(err, 0, vfg_domain_attr(domain, "selinux.label"),
					     "selinux: not a context");
		snprintf(labels->process, sizeof(labels->process), "%s", vfg_domain_attr(domain, "selinux.label"));
	}
	if (vfg_domain_attr(domain, "selinux.image_label")[0]) {
		if (!label_is_plain(vfg_domain_attr(domain, "selinux.image_label")))
			return vfg_error_set(err, 0, vfg_domain_attr(domain, "selinux.image_label"),
					     "selinux: not a context");
		snprintf(labels->image, sizeof(labels->image), "%s", vfg_domain_attr(domain, "selinux.image_label"));
	} else if (image_from_process(labels->process, image_type, labels->image, sizeof(labels->image), err) < 0) {
		return -1;
	}
	if (!labels->process[0]) {
		/* Only the image label: the process runs at its range, as the configured process type. */
		char range[VFG_LABEL_MAX];
		label_range(labels->image, range, sizeof(range));
		snprintf(labels->process, sizeof(labels->process), "system_u:system_r:%s%s%s",
			 vfg_config_get(env->config, "selinux_process_type"), range[0] ? ":" : "", range);
	}
	return 1;
}

int selinux_labels_recorded(const char *recorded, const vfg_domain *domain, selinux_labels *labels, vfg_error *err)
{
	if (!recorded)
		return 0;
	labels_entry entry;
	if (entry_parse(recorded, domain->name, &entry, err) < 0)
		return -1;
	*labels = entry.labels;
	return 1;
}

int selinux_labels_expected(const vfg_labeler_env *env, const vfg_domain *domain, const char *recorded,
			    selinux_labels *labels, vfg_error *err)
{
	int r = selinux_labels_recorded(recorded, domain, labels, err);
	if (r != 0)
		return r;
	r = selinux_labels_given(env, domain, labels, err);
	if (r != 0)
		return r;
	labels_from_range(env, "s0", labels);
	labels->allocated = true;
	return 0;
}

/* Take the given labels, refusing categories another live domain holds. */
static int labels_take_given(const vfg_domain *domain, const vfg_txn *txn, const selinux_labels *labels, vfg_error *err)
{
	char range[VFG_LABEL_MAX];
	label_range(labels->process, range, sizeof(range));
	if (!range_has_categories(range))
		return 0;
	const char *holder = range_holder(txn, range);
	if (holder)
		return vfg_error_refuse(
			err, EBUSY,
			vfg_domain_attr(domain, "selinux.label")[0] ? vfg_domain_attr(domain, "selinux.label")
								    : labels->image,
			"selinux: the categories %s belong to live domain %s; two domains with one pair "
			"could open each other's devices",
			range, holder);
	return 0;
}

/* The labels of a domain that carries none yet: the given ones, else a fresh pair; their range journaled as its. */
static int labels_choose(const vfg_labeler_env *env, const vfg_domain *domain, vfg_txn *txn,
			 const selinux_labels *given, bool has_given, selinux_labels *labels, vfg_error *err)
{
	if (has_given) {
		if (labels_take_given(domain, txn, given, err) < 0)
			return -1;
		*labels = *given;
	} else if (labels_allocate(env, txn, domain->name, labels, err) < 0) {
		return -1;
	}
	/* The range before the entry that names it: a crash between leaves a key the undone apply drops. */
	return range_keep(txn, domain, labels, true, err);
}

int selinux_labels_hold(const vfg_labeler_env *env, const vfg_domain *domain, const char *node_path, vfg_txn *txn,
			selinux_labels *labels, vfg_error *err)
{
	const char *recorded = vfg_txn_state_get(txn, SELINUX_STATE_LABELS);
	labels_entry entry;
	if (recorded && entry_parse(recorded, domain->name, &entry, err) < 0)
		return -1;
	selinux_labels given;
	int has_given = selinux_labels_given(env, domain, &given, err);
	if (has_given < 0)
		return -1;
	if (recorded) {
		if (has_given &&
		    (strcmp(given.process, entry.labels.process) != 0 || strcmp(given.image, entry.labels.image) != 0))
			return vfg_error_refuse(err, EBUSY, domain->name,
						"selinux: the domain holds the labels %s / %s on its nodes; revoke it "
						"before giving it others",
						entry.labels.process, entry.labels.image);
	} else {
		memset(&entry, 0, sizeof(entry));
		if (labels_choose(env, domain, txn, &given, has_given > 0, &entry.labels, err) < 0)
			return -1;
	}

	if (!entry_node_find(&entry, node_path)) {
		/* The node list is words: a path is one (vfguard's nodes are /dev/vfio/... and /dev/iommu). */
		if (!label_is_plain(node_path) || node_path[0] != '/')
			return vfg_error_set(err, EINVAL, node_path,
					     "selinux: only a path of printable ASCII without spaces can be listed in "
					     "the journal's labels entry");
		/* A list cut short here is longer than an entry may be, which entry_store refuses. */
		size_t used = strlen(entry.nodes);
		snprintf(entry.nodes + used, sizeof(entry.nodes) - used, " %s", node_path);
		if (entry_store(txn, domain->name, &entry, err) < 0)
			return -1;
	}
	*labels = entry.labels;
	return 0;
}

int selinux_labels_release(const vfg_domain *domain, const char *node_path, vfg_txn *txn, vfg_error *err)
{
	const char *recorded = vfg_txn_state_get(txn, SELINUX_STATE_LABELS);
	labels_entry entry;
	if (!recorded)
		return 0;
	if (entry_parse(recorded, domain->name, &entry, err) < 0)
		return -1;
	char *listed = entry_node_find(&entry, node_path);
	if (!listed)
		return 0;
	char *after = listed + 1 + strlen(node_path);
	memmove(listed, after, strlen(after) + 1);
	if (entry.nodes[0])
		return entry_store(txn, domain->name, &entry, err);
	/* The last node: the range first, so a crash in between leaves the entry, and this release is done again. */
	if (range_keep(txn, domain, &entry.labels, false, err) < 0)
		return -1;
	return vfg_txn_state_unset(txn, SELINUX_STATE_LABELS, err);
}
