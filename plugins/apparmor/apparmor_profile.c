/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The domain's AppArmor profile: its name, where its file and its rules
 * file are, and whether the profile file is one libvirt's AppArmor driver
 * made, which no rules file of vfguard's reaches (apparmor.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "apparmor.h"

/* The name is a file name in the rules and profile directories. */
int apparmor_profile_name_check(const char *name, vfg_error *err)
{
	bool ok = name[0] && name[0] != '.';
	for (const char *p = name; ok && *p; p++)
		ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '/';
	if (!ok)
		return vfg_error_set(err, EINVAL, name,
				     "apparmor: a profile name vfguard uses as a file name must be printable, "
				     "without spaces or '/', and not start with '.'");
	return 0;
}

/*
 * The domain's profile: given, or libvirt's naming libvirt-UUID, or
 * vfguard-NAME without a uuid. A name may hold spaces and UTF-8
 * (vfg_domain_name_check), which a file name here may not: each such byte
 * is written %XX ("vfguard-Windows%2011"), and a name that was a profile
 * name already stays as it was (a trial found "Windows 11" refused by the
 * default labelers, AppArmor not even enabled).
 */
int apparmor_profile_name(const vfg_domain *domain, char *buf, size_t size, vfg_error *err)
{
	const char *profile = vfg_domain_attr(domain, "apparmor.profile");
	if (profile[0]) {
		snprintf(buf, size, "%s", profile);
	} else if (domain->uuid[0]) {
		snprintf(buf, size, "libvirt-%s", domain->uuid);
	} else {
		size_t used = (size_t)snprintf(buf, size, "vfguard-");
		for (const unsigned char *c = (const unsigned char *)domain->name; *c && used + 4 < size; c++)
			used += (size_t)snprintf(buf + used, size - used, *c > 0x20 && *c < 0x7f ? "%c" : "%%%02X", *c);
	}
	return apparmor_profile_name_check(buf, err);
}

/* ROOT + DIRECTORY(config @key) + "/" + @profile. */
int apparmor_file_path(const vfg_labeler_env *env, const char *key, const char *profile, char *buf, size_t size,
		       vfg_error *err)
{
	const char *dir = vfg_config_get(env->config, key);
	if (!dir || dir[0] != '/')
		return vfg_error_set(err, EINVAL, key, "apparmor: must be an absolute directory");
	char logical[VFG_PATH_MAX];
	int n = snprintf(logical, sizeof(logical), "%s/%s", dir, profile);
	if (n < 0 || (size_t)n >= sizeof(logical))
		return vfg_error_set(err, ENAMETOOLONG, dir, "apparmor: path too long");
	return vfg_env_host_path(env, logical, buf, size, err);
}

/* More than any profile virt-aa-helper writes from TEMPLATE.qemu (a few hundred bytes). */
#define APPARMOR_PROFILE_READ_MAX (1024 * 1024)

/*
 * Does @text name @path whole, not as the start or end of a longer name
 * (libvirt-X in libvirt-X2, vfguard/X in myvfguard/X)? An include writes it
 * between <> or "", an absolute path after a space.
 */
static bool apparmor_text_names(const char *text, const char *path)
{
	size_t length = strlen(path);
	for (const char *at = strstr(text, path); at; at = strstr(at + 1, path)) {
		char before = at == text ? ' ' : at[-1], after = at[length];
		if (strchr("</\" \t", before) && (after == '\0' || strchr(">\" \t\n", after)))
			return true;
	}
	return false;
}

/*
 * The name under which a profile includes the domain's rules file: relative
 * to the parser's base directory, /etc/apparmor.d (apparmor_kernel_sync
 * passes it under a root), when apparmor_rules_dir is below it
 * ("vfguard/PROFILE" by default); else the file's absolute path.
 */
static void apparmor_rules_include_name(const vfg_labeler_env *env, const char *profile, char *buf, size_t size)
{
	static const char base[] = "/etc/apparmor.d/";
	const char *dir = vfg_config_get(env->config, "apparmor_rules_dir");
	size_t length = strlen(dir);
	while (length > 1 && dir[length - 1] == '/')
		length--;
	if (length > sizeof(base) - 1 && strncmp(dir, base, sizeof(base) - 1) == 0)
		snprintf(buf, size, "%.*s/%s", (int)(length - (sizeof(base) - 1)), dir + sizeof(base) - 1, profile);
	else
		snprintf(buf, size, "%.*s/%s", (int)length, dir, profile);
}

/*
 * Is the domain's profile file one libvirt's AppArmor driver made, which no
 * rules file of vfguard's reaches? virt-aa-helper makes libvirt-UUID from
 * TEMPLATE.qemu, putting the profile's name and, before the closing brace,
 * an include of libvirt/libvirt-UUID.files, its own list of the domain's
 * files, which holds the VFIO nodes (libvirt 12.9 create_profile(),
 * get_files(); docs/apparmor.md); nothing else of the template changes, so
 * the file names the rules file (@ours, apparmor_rules_include_name) only
 * if an administrator wrote it in: a substring test took a profile that
 * includes <local/vfg/PROFILE>, apparmor_rules_dir being
 * /etc/apparmor.d/local/vfg, for libvirt's, and wrote none of the rules it
 * reads (a trial). The file stays after the domain stops and serves its
 * next start, and it is there whenever a device is hot-plugged: 1 when it
 * is such a file, 0 when not or when there is none.
 *
 * A file that cannot be told (a symlink, not a regular file, over
 * APPARMOR_PROFILE_READ_MAX, unreadable) is 0 too, with @unread saying why:
 * the labeler then acts as for any profile, as it did before it read the
 * file. The probe runs at revoke and restore too, which must never fail on
 * a file they do not need (a trial found a symlinked profile file leave
 * every revoke open), nor wait on a FIFO (O_NONBLOCK, and only a regular
 * file is read). -1 with @err when its path cannot be made.
 */
int apparmor_profile_is_libvirts(const vfg_labeler_env *env, const char *profile, char *path, size_t size, char *ours,
				 size_t ours_size, char *unread, size_t unread_size, vfg_error *err)
{
	unread[0] = '\0';
	apparmor_rules_include_name(env, profile, ours, ours_size);
	if (apparmor_file_path(env, "apparmor_profile_dir", profile, path, size, err) < 0)
		return -1;
	/* Looked at through O_PATH first: a device node there is never opened (its driver's open would run). */
	_cleanup_close_ int at = open(path, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int fd = -1;
	struct stat st;
	char proc[VFG_PROC_FD_PATH_MAX];
	_cleanup_free_ char *text = NULL;
	vfg_error why = {0};
	if (at < 0 && errno == ENOENT)
		return 0;
	if (at < 0)
		snprintf(unread, unread_size, "%s", errno == ELOOP ? "it is a symlink" : strerror(errno));
	else if (fstat(at, &st) < 0)
		snprintf(unread, unread_size, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		snprintf(unread, unread_size, "it is not a regular file");
	else if ((fd = open(vfg_proc_fd_path(at, proc, sizeof(proc)), O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		snprintf(unread, unread_size, "%s", strerror(errno));
	else if (vfg_fd_read_all(fd, path, APPARMOR_PROFILE_READ_MAX, &text, NULL, &why) < 0)
		snprintf(unread, unread_size, "%s", why.errnum == EFBIG ? "it is over 1 MiB" : strerror(why.errnum));
	if (!text)
		return 0;
	char libvirts[VFG_LABEL_MAX + 32];
	snprintf(libvirts, sizeof(libvirts), "<libvirt/%s.files>", profile);
	return strstr(text, libvirts) && !apparmor_text_names(text, ours) ? 1 : 0;
}
