/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A domain's labels. Given ones come as libvirt's <seclabel> carries them (a
 * process label and an image label); otherwise vfguard allocates an MCS
 * category pair no live domain has, the way sVirt separates VMs: two domains
 * with the same pair could open each other's nodes, so uniqueness is the
 * whole point.
 *
 * Allocations must outlive a reboot of vfguard's state (a VM keeps running
 * while /run is fine, but its label is the host's to remember), so they live
 * under data_dir, one file per domain:
 *
 *	DATA/selinux/lock              flock: every read-modify-write holds it
 *	DATA/selinux/domains/NAME      process LABEL / image LABEL / origin allocated|given / node PATH...
 *
 * The node lines count who carries the label: the record goes when the last
 * node is revoked. Given labels are recorded too, so an allocation never
 * hands out a pair a given label uses.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <selinux/context.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "selinux_labeler.h"

#define SELINUX_NODES_MAX 64

typedef struct labels_record {
	selinux_labels labels;
	size_t n_nodes;
	char nodes[SELINUX_NODES_MAX][VFG_PATH_MAX];
} labels_record;

/* ROOT + data_dir + "/selinux" + @rest. */
static int labels_path(const vfg_labeler_env *env, const char *rest, char *buf, size_t size, vfg_error *err)
{
	char logical[VFG_PATH_MAX];
	if (snprintf(logical, sizeof(logical), "%s/selinux%s", vfg_config_get(env->config, "data_dir"), rest) >=
	    (int)sizeof(logical))
		return vfg_error_set(err, ENAMETOOLONG, rest, "selinux: data_dir path too long");
	return vfg_env_host_path(env, logical, buf, size, err);
}

/* mkdir -p of data_dir/selinux/domains, below the root (which exists). */
static int labels_dirs_make(const vfg_labeler_env *env, vfg_error *err)
{
	char logical[VFG_PATH_MAX], real[VFG_PATH_MAX];
	snprintf(logical, sizeof(logical), "%s/selinux/domains", vfg_config_get(env->config, "data_dir"));
	for (char *slash = logical + 1;; slash++) {
		bool last = *slash == '\0';
		if (*slash != '/' && !last)
			continue;
		*slash = '\0';
		if (vfg_env_host_path(env, logical, real, sizeof(real), err) < 0)
			return -1;
		if (mkdir(real, 0700) < 0 && errno != EEXIST)
			return vfg_error_set(err, errno, real, "selinux: cannot make the label directory");
		if (last)
			return 0;
		*slash = '/';
	}
}

/* The data_dir lock, held until the returned fd is closed. */
static int labels_lock(const vfg_labeler_env *env, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (labels_dirs_make(env, err) < 0 || labels_path(env, "/lock", path, sizeof(path), err) < 0)
		return -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return vfg_error_set(err, errno, path, "selinux: cannot open the label lock");
	if (flock(fd, LOCK_EX) < 0) {
		vfg_error_set(err, errno, path, "selinux: cannot take the label lock");
		close(fd);
		return -1;
	}
	return fd;
}

/* A label as it may stand in a record line and in a context: printable, no space. */
static bool label_is_plain(const char *label)
{
	if (!*label)
		return false;
	for (const char *c = label; *c; c++)
		if (*c <= ' ' || *c > '~')
			return false;
	return true;
}

/* 1 read, 0 no such record. */
static int record_read(const char *path, labels_record *record, vfg_error *err)
{
	memset(record, 0, sizeof(*record));
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return vfg_error_set(err, errno, path, "selinux: cannot read the label record");
	}
	char line[VFG_PATH_MAX + 16];
	bool process = false, image = false;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *value = strchr(line, ' ');
		if (!value)
			return vfg_error_set(err, 0, path, "selinux: label record line '%s' has no value", line);
		*value++ = '\0';
		if (strcmp(line, "process") == 0 && label_is_plain(value)) {
			snprintf(record->labels.process, sizeof(record->labels.process), "%s", value);
			process = true;
		} else if (strcmp(line, "image") == 0 && label_is_plain(value)) {
			snprintf(record->labels.image, sizeof(record->labels.image), "%s", value);
			image = true;
		} else if (strcmp(line, "origin") == 0 && (!strcmp(value, "allocated") || !strcmp(value, "given"))) {
			record->labels.allocated = strcmp(value, "allocated") == 0;
		} else if (strcmp(line, "node") == 0 && value[0] == '/' && record->n_nodes < SELINUX_NODES_MAX) {
			snprintf(record->nodes[record->n_nodes++], VFG_PATH_MAX, "%s", value);
		} else {
			return vfg_error_set(err, 0, path, "selinux: label record line '%s %s' is not understood", line,
					     value);
		}
	}
	if (ferror(f))
		return vfg_error_set(err, EIO, path, "selinux: cannot read the label record");
	if (!process || !image)
		return vfg_error_set(err, 0, path, "selinux: label record without its process and image labels");
	return 1;
}

/* Replace the record at @path durably (vfg_file_replace: temporary file, fsync, rename, fsync of the folder). */
static int record_write(const char *path, const labels_record *record, vfg_error *err)
{
	_cleanup_free_ char *text = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);
	if (!mem)
		return vfg_error_set(err, ENOMEM, path, "selinux: cannot format the label record");
	fprintf(mem, "process %s\nimage %s\norigin %s\n", record->labels.process, record->labels.image,
		record->labels.allocated ? "allocated" : "given");
	for (size_t i = 0; i < record->n_nodes; i++)
		fprintf(mem, "node %s\n", record->nodes[i]);
	if (fclose(mem) != 0)
		return vfg_error_set(err, ENOMEM, path, "selinux: cannot format the label record");
	if (vfg_file_replace(path, text, size, err) < 0) {
		vfg_error_prefix(err, "selinux: the label record");
		return -1;
	}
	return 0;
}

static int record_remove(const char *path, vfg_error *err)
{
	if (vfg_file_remove(path, err) < 0) {
		vfg_error_prefix(err, "selinux: the label record");
		return -1;
	}
	return 0;
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

/* Is @range another live domain's (any record but @self's)? Sets @holder. */
static int range_taken(const vfg_labeler_env *env, const char *self, const char *range, char *holder,
		       size_t holder_size, bool *taken, vfg_error *err)
{
	char dir[VFG_PATH_MAX];
	*taken = false;
	if (labels_path(env, "/domains", dir, sizeof(dir), err) < 0)
		return -1;
	_cleanup_closedir_ DIR *d = opendir(dir);
	if (!d)
		return vfg_error_set(err, errno, dir, "selinux: cannot list the label records");
	struct dirent *entry;
	while ((entry = readdir(d))) {
		/* ".tmp": the temporary name before vfg_file_replace() wrote the records. */
		if (entry->d_name[0] == '.' || strcmp(entry->d_name, self) == 0 || strstr(entry->d_name, ".tmp") ||
		    strstr(entry->d_name, VFG_FILE_TEMPORARY_INFIX))
			continue;
		char path[VFG_PATH_MAX * 2];
		snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name);
		labels_record other;
		int r = record_read(path, &other, err);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		char other_range[VFG_LABEL_MAX];
		label_range(other.labels.process, other_range, sizeof(other_range));
		if (strcmp(other_range, range) == 0) {
			snprintf(holder, holder_size, "%s", entry->d_name);
			*taken = true;
			return 0;
		}
	}
	return 0;
}

static int labels_from_range(const vfg_labeler_env *env, const char *range, selinux_labels *labels)
{
	snprintf(labels->process, sizeof(labels->process), "system_u:system_r:%s:%s",
		 vfg_config_get(env->config, "selinux_process_type"), range);
	snprintf(labels->image, sizeof(labels->image), "system_u:object_r:%s:%s",
		 vfg_config_get(env->config, "selinux_image_type"), range);
	return 0;
}

/* Config selinux_mcs_categories, "cLOW.cHIGH": the categories vfguard may hand out. */
static int categories_parse(const vfg_labeler_env *env, unsigned *first, unsigned *count, vfg_error *err)
{
	const char *text = vfg_config_get(env->config, "selinux_mcs_categories");
	unsigned low, high;
	int end = -1;
	/* refpolicy's MCS policy defines c0..c1023 (policy/mcs: "category c1023;"), as does Fedora's. */
	if (sscanf(text, "c%u.c%u%n", &low, &high, &end) != 2 || text[end] != '\0' || low >= high || high > 1023)
		return vfg_error_set(err, 0, "selinux_mcs_categories",
				     "configuration value '%s': expected cLOW.cHIGH, LOW < HIGH <= 1023", text);
	*first = low;
	*count = high - low + 1;
	return 0;
}

/* A category pair "s0:cA,cB" (A < B) no other record holds; random, as sVirt's are, so a pair is not reused at once. */
static int labels_allocate(const vfg_labeler_env *env, const char *name, selinux_labels *labels, vfg_error *err)
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
		char range[32], holder[VFG_NAME_MAX];
		snprintf(range, sizeof(range), "s0:c%u,c%u", first + low, first + high);
		bool taken;
		if (range_taken(env, name, range, holder, sizeof(holder), &taken, err) < 0)
			return -1;
		if (taken)
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

int selinux_labels_recorded(const vfg_labeler_env *env, const char *name, selinux_labels *labels, vfg_error *err)
{
	char rest[VFG_NAME_MAX + 16], path[VFG_PATH_MAX];
	snprintf(rest, sizeof(rest), "/domains/%s", name);
	if (labels_path(env, rest, path, sizeof(path), err) < 0)
		return -1;
	labels_record record;
	int r = record_read(path, &record, err);
	if (r > 0)
		*labels = record.labels;
	return r;
}

int selinux_labels_expected(const vfg_labeler_env *env, const vfg_domain *domain, selinux_labels *labels,
			    vfg_error *err)
{
	int r = selinux_labels_recorded(env, domain->name, labels, err);
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
static int labels_take_given(const vfg_labeler_env *env, const vfg_domain *domain, selinux_labels *labels,
			     vfg_error *err)
{
	char range[VFG_LABEL_MAX], holder[VFG_NAME_MAX];
	label_range(labels->process, range, sizeof(range));
	if (!range_has_categories(range))
		return 0;
	bool taken;
	if (range_taken(env, domain->name, range, holder, sizeof(holder), &taken, err) < 0)
		return -1;
	if (taken)
		return vfg_error_set(err, EBUSY,
				     vfg_domain_attr(domain, "selinux.label")[0]
					     ? vfg_domain_attr(domain, "selinux.label")
					     : labels->image,
				     "selinux: the categories %s belong to live domain %s; two domains with one pair "
				     "could open each other's devices",
				     range, holder);
	return 0;
}

int selinux_labels_hold(const vfg_labeler_env *env, const vfg_domain *domain, const char *node_path,
			selinux_labels *labels, vfg_error *err)
{
	_cleanup_close_ int lock = labels_lock(env, err);
	if (lock < 0)
		return -1;
	char rest[VFG_NAME_MAX + 16], path[VFG_PATH_MAX];
	snprintf(rest, sizeof(rest), "/domains/%s", domain->name);
	if (labels_path(env, rest, path, sizeof(path), err) < 0)
		return -1;
	labels_record record;
	int found = record_read(path, &record, err);
	if (found < 0)
		return -1;

	selinux_labels given;
	int has_given = selinux_labels_given(env, domain, &given, err);
	if (has_given < 0)
		return -1;
	if (found) {
		if (has_given && (strcmp(given.process, record.labels.process) != 0 ||
				  strcmp(given.image, record.labels.image) != 0))
			return vfg_error_set(err, EBUSY, domain->name,
					     "selinux: the domain holds the labels %s / %s on its nodes; revoke it "
					     "before giving it others",
					     record.labels.process, record.labels.image);
	} else if (has_given) {
		if (labels_take_given(env, domain, &given, err) < 0)
			return -1;
		record.labels = given;
	} else if (labels_allocate(env, domain->name, &record.labels, err) < 0) {
		return -1;
	}

	bool listed = false;
	for (size_t i = 0; i < record.n_nodes && !listed; i++)
		listed = strcmp(record.nodes[i], node_path) == 0;
	if (!listed) {
		if (record.n_nodes == SELINUX_NODES_MAX)
			return vfg_error_set(err, E2BIG, domain->name, "selinux: more than %d nodes carry its label",
					     SELINUX_NODES_MAX);
		snprintf(record.nodes[record.n_nodes++], VFG_PATH_MAX, "%s", node_path);
	}
	if ((!found || !listed) && record_write(path, &record, err) < 0)
		return -1;
	*labels = record.labels;
	return 0;
}

int selinux_labels_release(const vfg_labeler_env *env, const char *name, const char *node_path, vfg_error *err)
{
	_cleanup_close_ int lock = labels_lock(env, err);
	if (lock < 0)
		return -1;
	char rest[VFG_NAME_MAX + 16], path[VFG_PATH_MAX];
	snprintf(rest, sizeof(rest), "/domains/%s", name);
	if (labels_path(env, rest, path, sizeof(path), err) < 0)
		return -1;
	labels_record record;
	int found = record_read(path, &record, err);
	if (found <= 0)
		return found;
	size_t kept = 0;
	for (size_t i = 0; i < record.n_nodes; i++)
		if (strcmp(record.nodes[i], node_path) != 0)
			memmove(record.nodes[kept++], record.nodes[i], VFG_PATH_MAX);
	if (kept == record.n_nodes)
		return 0;
	record.n_nodes = kept;
	return kept ? record_write(path, &record, err) : record_remove(path, err);
}
