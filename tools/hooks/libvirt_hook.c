/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libvirt QEMU hook, installed as /etc/libvirt/hooks/qemu.d/vfguard.
 * libvirt runs it as `vfguard DOMAIN OPERATION SUB-OPERATION EXTRA` with the
 * domain XML on standard input (https://libvirt.org/hooks.html, "Script
 * arguments" and "/etc/libvirt/hooks/qemu"): `prepare begin` comes before
 * libvirt labels anything and a failure there stops the start; `release end`
 * comes after libvirt released everything. Hooks in qemu.d also filter the
 * XML of `migrate` and `restore`, where an empty standard output keeps the XML
 * as it is: this hook never writes to standard output.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "hook_common.h"
#include "libvirt_xml.h"

/* A value of qemu.conf's `KEY = "VALUE"` lines (libvirt's config syntax), unquoted. */
static int qemu_conf_value(const char *line, const char *key, char *value, size_t size)
{
	size_t key_length = strlen(key);
	while (isspace((unsigned char)*line))
		line++;
	if (strncmp(line, key, key_length) != 0)
		return 0;
	line += key_length;
	while (isspace((unsigned char)*line))
		line++;
	if (*line++ != '=')
		return 0;
	while (isspace((unsigned char)*line))
		line++;
	if (*line != '"')
		return -1;
	const char *end = strchr(line + 1, '"');
	if (!end || (size_t)(end - line - 1) >= size)
		return -1;
	memcpy(value, line + 1, (size_t)(end - line - 1));
	value[end - line - 1] = '\0';
	return 1;
}

/*
 * Without a dac seclabel libvirt runs QEMU as qemu.conf's `user` and `group`
 * (qemu.conf: "The user for QEMU processes run by the system instance"), and
 * where qemu.conf sets none, as its build's default, which differs between
 * distributions (Debian's libvirt-qemu, commented out in the packaged
 * qemu.conf; others' qemu or root). That default is the config key
 * libvirt_qemu_user: a real libvirtd 12.9 with Debian's qemu.conf ran QEMU
 * as libvirt-qemu while the hook refused to guess (tests/vm/scenarios/
 * libvirt-*.sh).
 */
static int hypervisor_ids_from_qemu_conf(const vfg_context *ctx, vfg_domain *domain, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (vfg_host_path(ctx, "/etc/libvirt/qemu.conf", path, sizeof(path), err) < 0)
		return -1;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f && errno != ENOENT)
		return vfg_error_set(err, errno, path, "cannot read");

	char user[VFG_NAME_MAX] = "", group[VFG_NAME_MAX] = "", line[1024];
	unsigned number = 0;
	while (f && fgets(line, sizeof(line), f)) {
		number++;
		int r = qemu_conf_value(line, "user", user, sizeof(user));
		if (r == 0)
			r = qemu_conf_value(line, "group", group, sizeof(group));
		if (r < 0)
			return vfg_error_set(err, 0, path, "line %u: expected KEY = \"VALUE\"", number);
	}
	/* What qemu.conf leaves out is the build's default: half of "USER:GROUP". */
	const char *fallback = vfg_config_get(vfg_context_config(ctx), "libvirt_qemu_user");
	const char *colon = strchr(fallback, ':');
	if (!colon || colon == fallback || !colon[1] || (size_t)(colon - fallback) >= sizeof(user) ||
	    strlen(colon + 1) >= sizeof(group))
		return vfg_error_set(err, 0, "libvirt_qemu_user", "'%s': expected USER:GROUP (names, or +N numbers)",
				     fallback);
	bool user_set = user[0], group_set = group[0], defaulted = !user_set || !group_set;
	if (!user[0])
		snprintf(user, sizeof(user), "%.*s", (int)(colon - fallback), fallback);
	if (!group[0])
		snprintf(group, sizeof(group), "%s", colon + 1);
	char label[2 * VFG_NAME_MAX + 2];
	snprintf(label, sizeof(label), "%s:%s", user, group);
	if (libvirt_dac_label_parse(label, &domain->uid, &domain->gid, err) < 0) {
		if (defaulted)
			vfg_error_prefix(err,
					 "no <seclabel model='dac'> with a label and %s sets %s, so QEMU runs as "
					 "libvirt's default %s, config key libvirt_qemu_user '%s'",
					 path,
					 !user_set && !group_set ? "no user or group"
					 : user_set              ? "no group"
								 : "no user",
					 !user_set && !group_set ? "ids"
					 : user_set              ? "group"
								 : "user",
					 fallback);
		else
			vfg_error_prefix(err, "%s", path);
		return -1;
	}
	return 0;
}

/*
 * qemu.conf's security_driver, a string or a list of strings (libvirt's
 * config syntax; qemu.conf: "security_driver = [ "selinux", "apparmor" ]"):
 * 1 when it names @driver, 0 when it names others, -1 when qemu.conf sets
 * none, or an empty list (or cannot be read), and libvirt probes for one
 * (qemu_conf.c: qemuSecurityInit() probes when the list's first is NULL).
 * *@names: how many drivers it names.
 */
static int qemu_conf_names_driver(const vfg_context *ctx, const char *driver, size_t *names)
{
	*names = 0;
	char path[VFG_PATH_MAX];
	vfg_error ignored = {0};
	if (vfg_host_path(ctx, "/etc/libvirt/qemu.conf", path, sizeof(path), &ignored) < 0)
		return -1;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char line[1024];
	const char *key = "security_driver";
	int found = -1;
	bool in_list = false;
	while (f && fgets(line, sizeof(line), f)) {
		char *comment = strchr(line, '#'); /* no driver's name holds one */
		if (comment)
			*comment = '\0';
		const char *p = line;
		while (isspace((unsigned char)*p))
			p++;
		if (!in_list) {
			if (strncmp(p, key, strlen(key)) != 0)
				continue;
			p += strlen(key);
			while (isspace((unsigned char)*p))
				p++;
			if (*p++ != '=')
				continue;
			found = 0; /* the last assignment wins, as in libvirt's parser */
			*names = 0;
			while (isspace((unsigned char)*p))
				p++;
			in_list = *p == '[';
		}
		/* Every quoted word up to the end of the line, or of the list. */
		for (const char *q = strchr(p, '"'); q; q = strchr(q, '"')) {
			const char *end = strchr(q + 1, '"');
			if (!end)
				break;
			if ((size_t)(end - q - 1) == strlen(driver) && strncmp(q + 1, driver, strlen(driver)) == 0)
				found = 1;
			++*names;
			q = end + 1;
		}
		if (in_list && strchr(p, ']'))
			in_list = false;
	}
	return found == 0 && *names == 0 ? -1 : found;
}

/* Does the apparmorfs profile list (under the host root) have a profile named @name loaded? */
static bool apparmor_profile_listed(const vfg_context *ctx, const char *name)
{
	char path[VFG_PATH_MAX], line[512];
	vfg_error ignored = {0};
	if (vfg_host_path(ctx, "/sys/kernel/security/apparmor/profiles", path, sizeof(path), &ignored) < 0)
		return false;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	size_t length = strlen(name);
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, name, length) == 0 && line[length] == ' ')
			return true;
	return false;
}

/* Is @logical (under the host root) there, and does it start with @prefix? */
static bool host_file_starts(const vfg_context *ctx, const char *logical, const char *prefix)
{
	char path[VFG_PATH_MAX], text[64] = "";
	vfg_error ignored = {0};
	if (vfg_host_path(ctx, logical, path, sizeof(path), &ignored) < 0)
		return false;
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	return f && (!prefix[0] || (fgets(text, sizeof(text), f) && strncmp(text, prefix, strlen(prefix)) == 0));
}

/*
 * Does libvirt's own AppArmor driver make this domain's profile? Then it
 * grants QEMU the VFIO nodes itself and vfguard's rules file would be read
 * by nothing (docs/apparmor.md, "libvirt's AppArmor driver", measured with
 * libvirt 12.9 by tests/vm/scenarios/libvirt-apparmor.sh):
 * virt-aa-helper makes libvirt-UUID from TEMPLATE.qemu substituting only
 * the profile's name and its closing brace (virt-aa-helper.c
 * create_profile()), so no template can name a per-domain file, and for a
 * PCI hostdev on the vfio backend or an mdev it writes "/dev/vfio/vfio"
 * and a glob of every group node into libvirt-UUID.files (get_files()),
 * loaded before QEMU starts and unloaded, the .files deleted, before
 * `release end`.
 *
 * libvirt decides once, when the daemon starts (security_driver.c
 * virSecurityDriverLookup()): qemu.conf's security_driver when set, else
 * the first driver whose probe succeeds, AppArmor's when AppArmor is
 * enabled, a profile named after the daemon's executable or "libvirtd" is
 * loaded, and TEMPLATE.qemu exists (security_apparmor.c
 * AppArmorSecurityManagerProbe(), use_apparmor()). The hook runs as the
 * daemon's child, so its parent's executable is the daemon's.
 */
static bool libvirt_makes_apparmor_profile(const vfg_context *ctx)
{
	size_t names;
	int named = qemu_conf_names_driver(ctx, "apparmor", &names);
	if (named >= 0)
		return named == 1;
	if (!host_file_starts(ctx, "/sys/module/apparmor/parameters/enabled", "Y") ||
	    !host_file_starts(ctx, "/etc/apparmor.d/libvirt/TEMPLATE.qemu", ""))
		return false;
	char link[64], daemon[VFG_PATH_MAX];
	snprintf(link, sizeof(link), "/proc/%ld/exe", (long)getppid());
	ssize_t length = readlink(link, daemon, sizeof(daemon) - 1);
	if (length > 0) {
		daemon[length] = '\0';
		if (apparmor_profile_listed(ctx, daemon))
			return true;
	}
	return apparmor_profile_listed(ctx, "libvirtd");
}

/*
 * The context for @parsed. libvirt confines nothing with SELinux for it:
 * vfguard labels nothing either (selinux=off). Nor with AppArmor (<seclabel
 * type='none' model='apparmor'>, or libvirt's "none" driver): no profile
 * includes a rules file then, so vfguard writes none (a trial found one
 * written all the same), the configuration's labelers less apparmor. The
 * same when libvirt's AppArmor driver makes the domain's profile (above):
 * libvirt grants the nodes there itself, and no rules file would be read.
 * A static apparmor label names a profile of the administrator's, which
 * can include the rules file: the labeler stays.
 */
static vfg_context *context_for(const libvirt_domain *parsed, vfg_error *err)
{
	const char *overrides[3] = {0};
	size_t n = 0;
	if (parsed->selinux_none)
		overrides[n++] = "selinux=off";
	vfg_context *ctx = hook_context_new(n ? overrides : NULL, err);
	size_t names;
	/* libvirt's "none" driver alone confines nothing: the prepare XML has no seclabel to say it yet */
	bool none_driver = ctx && qemu_conf_names_driver(ctx, "none", &names) == 1 && names == 1;
	if (!ctx || !(parsed->apparmor_none ||
		      (!parsed->apparmor_static && (none_driver || libvirt_makes_apparmor_profile(ctx)))))
		return ctx;
	_cleanup_free_ char *list = strdup(vfg_config_get(vfg_context_config(ctx), "labelers"));
	char labelers[1024] = "labelers=";
	size_t used = strlen(labelers);
	bool dropped = false;
	char *saveptr = NULL;
	for (char *name = list ? strtok_r(list, " \t,", &saveptr) : NULL; name; name = strtok_r(NULL, " \t,", &saveptr))
		if (strcmp(name, "apparmor") == 0)
			dropped = true;
		else if (used + strlen(name) + 2 < sizeof(labelers))
			used += (size_t)snprintf(labelers + used, sizeof(labelers) - used, "%s%s",
						 used > strlen("labelers=") ? " " : "", name);
	if (!list) {
		vfg_context_free(ctx);
		vfg_error_set(err, ENOMEM, "labelers", "out of memory");
		return NULL;
	}
	if (!dropped)
		return ctx;
	vfg_context_free(ctx);
	overrides[n++] = labelers;
	return hook_context_new(overrides, err);
}

static int prepare_domain(const char *name, const char *xml, size_t size, vfg_error *err)
{
	libvirt_domain parsed;
	if (libvirt_domain_parse(xml, size, &parsed, err) < 0) {
		/*
		 * A domain with no VFIO device is none of vfguard's business: an
		 * element vfguard cannot read, or a name it cannot keep a journal
		 * under, must not stop it from starting (a trial saw "Windows 11").
		 */
		if (!libvirt_domain_asks_vfio(xml, size))
			return 0;
		return -1;
	}
	if (strcmp(parsed.domain.name, name) != 0) {
		vfg_error_set(err, 0, name, "the domain XML on standard input is for '%s'", parsed.domain.name);
		libvirt_domain_clear(&parsed);
		return -1;
	}

	if (parsed.n_specs == 0) {
		libvirt_domain_clear(&parsed);
		return 0;
	}
	vfg_context *ctx = context_for(&parsed, err);
	int r = ctx ? 0 : -1;
	if (r == 0 && !parsed.dac_label)
		r = hypervisor_ids_from_qemu_conf(ctx, &parsed.domain, err);
	if (r == 0)
		r = hook_apply(ctx, &parsed.domain, err);
	vfg_context_free(ctx);
	libvirt_domain_clear(&parsed);
	return r;
}

/* libvirt logs the hook's one line without saying which domain it started or stopped: every error names it. */
static int prepare(const char *name, const char *xml, size_t size, vfg_error *err)
{
	if (prepare_domain(name, xml, size, err) == 0)
		return 0;
	vfg_error_prefix(err, "domain '%s'", name);
	return -1;
}

static int release_domain(const char *name, vfg_error *err)
{
	/* Everything to undo is in the journal: the XML is not needed, and a broken one must not keep a grant. */
	vfg_error ignored = {0};
	if (vfg_domain_name_check(name, &ignored) < 0)
		return 0; /* no journal can have this name: nothing was granted under it */
	vfg_context *ctx = hook_context_new(NULL, err);
	if (!ctx) {
		/* libvirt does not call release again: say what is left, and how it goes (a trial's typo'd key). */
		vfg_error_prefix(
			err,
			"nothing was revoked: whatever it holds stays granted until vfguard revoke --domain %s "
			"runs with a configuration it can read",
			VFG_NAME_SHELL(name));
		return -1;
	}
	int r = hook_revoke(ctx, name, err);
	vfg_context_free(ctx);
	return r;
}

static int release(const char *name, vfg_error *err)
{
	if (release_domain(name, err) == 0)
		return 0;
	vfg_error_prefix(err, "domain '%s'", name);
	return -1;
}

static const char libvirt_hook_help[] =
	"Usage: vfguard-libvirt-hook DOMAIN OPERATION SUB-OPERATION EXTRA < DOMAIN-XML\n"
	"\n"
	"libvirt's qemu hook (https://libvirt.org/hooks.html), run by libvirtd from\n"
	"/etc/libvirt/hooks/qemu.d/ with the domain XML on standard input, never by\n"
	"hand. 'prepare begin' grants the domain's PCI and mdev hostdevs in every\n"
	"layer before QEMU starts; a failure stops the start with nothing left\n"
	"granted. 'release end' takes everything back\n"
	"however the domain ended. Every other operation is left alone. The user\n"
	"QEMU runs as comes from the XML's dac seclabel, else qemu.conf, else the\n"
	"configuration's libvirt_qemu_user. $VFGUARD_ROOT and $VFGUARD_PLUGIN_DIR\n"
	"are read as by vfguard. docs/hooks.md; vfguard(8).\n"
	"\n"
	"Exit status: 0 done (or nothing to do), 1 failed (the reason on standard\n"
	"error, which libvirt shows), 2 usage.\n";

int main(int argc, char **argv)
{
	vfg_error err = {0};
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(libvirt_hook_help, stdout);
		return fflush(stdout) == 0 ? HOOK_EXIT_OK : HOOK_EXIT_FAILED;
	}
	if (argc != 5) {
		fprintf(stderr, "vfguard: libvirt hook: expected DOMAIN OPERATION SUB-OPERATION EXTRA "
				"(https://libvirt.org/hooks.html)\n");
		return HOOK_EXIT_USAGE;
	}
	const char *name = argv[1], *operation = argv[2], *sub_operation = argv[3];
	hook_notices_name(name);

	/* Read it all whatever the operation: libvirt writes the whole XML to the pipe. */
	char *xml = NULL;
	size_t size = 0;
	if (vfg_fd_read_all(STDIN_FILENO, "standard input", HOOK_INPUT_MAX, &xml, &size, &err) < 0) {
		hook_report(&err);
		return HOOK_EXIT_FAILED;
	}

	int r = 0;
	if (strcmp(operation, "prepare") == 0 && strcmp(sub_operation, "begin") == 0)
		r = prepare(name, xml, size, &err);
	else if (strcmp(operation, "release") == 0 && strcmp(sub_operation, "end") == 0)
		r = release(name, &err);
	free(xml);
	if (r < 0) {
		hook_report(&err);
		return HOOK_EXIT_FAILED;
	}
	return HOOK_EXIT_OK;
}
