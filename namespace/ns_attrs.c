/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The parent's side of an entry (ns_attrs.h): the request the helper works
 * from, the host node it copies, and the words for what the helper saw.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "internal.h"
#include "ns_attrs.h"

int ns_request_init(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node,
		    ns_entry_request *request, vfg_error *err)
{
	memset(request, 0, sizeof(*request));
	request->mark_size = strlen(domain->name);
	memcpy(request->mark, domain->name, request->mark_size);
	if (snprintf(request->root, sizeof(request->root), "%s", env->root) >= (int)sizeof(request->root))
		return vfg_error_set(err, ENAMETOOLONG, env->root, "root prefix too long");

	/* The plan's paths are /dev/..., one name a component; anything else is refused, not walked. */
	const char *at = node->path;
	size_t n = 0;
	char names[NS_ENTRY_DEPTH_MAX + 1][NAME_MAX + 1];
	while (*at == '/') {
		const char *start = at + 1, *end = strchrnul(start, '/');
		size_t length = (size_t)(end - start);
		bool dots = (length == 1 && start[0] == '.') || (length == 2 && start[0] == '.' && start[1] == '.');
		if (length == 0 || length > NAME_MAX || dots || n == NS_ENTRY_DEPTH_MAX + 1)
			return vfg_error_set(err, EINVAL, node->path, "not a device path the namespace entry can walk");
		memcpy(names[n], start, length);
		names[n++][length] = '\0';
		at = end;
	}
	if (*at != '\0' || n < 2)
		return vfg_error_set(err, EINVAL, node->path, "not a device path the namespace entry can walk");
	request->n_dirs = n - 1;
	for (size_t i = 0; i < request->n_dirs; i++)
		memcpy(request->dirs[i], names[i], sizeof(names[i]));
	memcpy(request->name, names[n - 1], sizeof(names[n - 1]));
	request->first_made = request->n_dirs;
	request->want.rdev = node->rdev;
	return 0;
}

void ns_request_path(const ns_entry_request *request, size_t depth, char *buf, size_t size)
{
	size_t used = vfg_strlcatf(buf, size, 0, "%s", strcmp(request->root, "/") == 0 ? "" : request->root);
	for (size_t i = 0; i < depth && i <= request->n_dirs; i++)
		used = vfg_strlcatf(buf, size, used, "/%s", i < request->n_dirs ? request->dirs[i] : request->name);
	if (used == 0)
		vfg_strlcatf(buf, size, 0, "/");
}

static int host_xattr_read(const char *proc, const char *real, const char *name, ns_xattr *out, vfg_error *err)
{
	ssize_t n = getxattr(proc, name, out->value, sizeof(out->value));
	if (n >= 0) {
		out->present = true;
		out->size = (size_t)n;
		return 0;
	}
	out->present = false;
	out->size = 0;
	if (errno == ENODATA || errno == EOPNOTSUPP)
		return 0;
	if (errno == ERANGE)
		return vfg_error_set(err, 0, real, "its %s is over %d bytes, more than a device node carries; refusing",
				     name, NS_XATTR_MAX);
	return vfg_error_set(err, errno, real, "cannot read %s", name);
}

int ns_host_node_read(const vfg_labeler_env *env, const vfg_node *node, ns_attrs *attrs, vfg_error *err)
{
	_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
	if (vfg_node_fd_open(env, node, &nfd, err) < 0)
		return -1;
	const struct stat *st = &nfd.st;
	*attrs = (ns_attrs){.mode = st->st_mode, .rdev = st->st_rdev, .uid = st->st_uid, .gid = st->st_gid};
	/* getxattr has no O_PATH form: the magic link reaches the inode vfg_node_open() checked. */
	if (host_xattr_read(nfd.proc, nfd.real, NS_XATTR_ACL, &attrs->acl, err) < 0 ||
	    host_xattr_read(nfd.proc, nfd.real, NS_XATTR_LABEL, &attrs->label, err) < 0)
		return -1;
	return 0;
}

static bool xattr_equal(const ns_xattr *a, const ns_xattr *b)
{
	return a->present == b->present && a->size == b->size && memcmp(a->value, b->value, a->size) == 0;
}

void ns_attrs_differences(const ns_attrs *seen, const ns_attrs *want, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	if ((seen->mode & S_IFMT) != (want->mode & S_IFMT))
		used = vfg_strlcatf(buf, size, used, "%stype", used ? ", " : "");
	else if (seen->rdev != want->rdev)
		used = vfg_strlcatf(buf, size, used, "%srdev", used ? ", " : "");
	if (seen->uid != want->uid || seen->gid != want->gid)
		used = vfg_strlcatf(buf, size, used, "%sowner", used ? ", " : "");
	if ((seen->mode & 07777) != (want->mode & 07777))
		used = vfg_strlcatf(buf, size, used, "%smode", used ? ", " : "");
	if (!xattr_equal(&seen->acl, &want->acl))
		used = vfg_strlcatf(buf, size, used, "%sACL", used ? ", " : "");
	if (!xattr_equal(&seen->label, &want->label))
		vfg_strlcatf(buf, size, used, "%slabel", used ? ", " : "");
}

void ns_attrs_describe(const ns_attrs *attrs, char *buf, size_t size)
{
	if (!S_ISCHR(attrs->mode)) {
		snprintf(buf, size, "%s (%u:%u %04o)", vfg_file_type_name(attrs->mode), (unsigned)attrs->uid,
			 (unsigned)attrs->gid, (unsigned)(attrs->mode & 07777));
		return;
	}
	/* A label is text ending in a NUL; anything unprintable shows as '?'. */
	char label[96] = "";
	size_t length = attrs->label.size;
	if (length > 0 && attrs->label.value[length - 1] == '\0')
		length--;
	for (size_t i = 0; i < length && i + 1 < sizeof(label); i++) {
		unsigned char c = attrs->label.value[i];
		label[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
		label[i + 1] = '\0';
	}
	size_t used = (size_t)snprintf(buf, size, "c %u:%u %u:%u %04o", major(attrs->rdev), minor(attrs->rdev),
				       (unsigned)attrs->uid, (unsigned)attrs->gid, (unsigned)(attrs->mode & 07777));
	if (attrs->acl.present)
		used = vfg_strlcatf(buf, size, used, " acl(%zu bytes)", attrs->acl.size);
	if (attrs->label.present)
		vfg_strlcatf(buf, size, used, " label %s", label);
}
