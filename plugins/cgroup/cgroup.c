/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device cgroup. The kernel checks a device node against the opener's cgroup
 * at open and mknod only (devcgroup_inode_permission() ->
 * devcgroup_check_permission() in security/device_cgroup.c): first every BPF
 * device program attached on cgroup2, then, with the v1 devices controller,
 * its allow list. A hybrid host enforces both. A passed fd is never checked.
 *
 * The domain's cgroup is the one given (used as it is, never under the root
 * prefix), or the pid's, read from /proc/PID/cgroup.
 */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vfguard/labeler.h>

enum {
	CGROUP_V1_DEVICES = 1u << 0, /* the v1 devices controller governs the domain */
	CGROUP_V2 = 1u << 1, /* the domain sits in a cgroup2 hierarchy (BPF device programs) */
};

static void free_charp(char **p)
{
	free(*p);
}
static void fclose_filep(FILE **f)
{
	if (*f)
		fclose(*f);
}

/* Undo mountinfo's octal escapes ("\040" for a space) in place. */
static void unescape_mountinfo(char *s)
{
	char *out = s;
	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
		    in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

/*
 * Where the hierarchy is mounted: v1 (@controller "devices") or cgroup2
 * (@controller NULL), from /proc/self/mountinfo (proc(5): ID PARENT MAJ:MIN
 * ROOT MOUNTPOINT OPTIONS [TAGS] - FSTYPE SOURCE SUPEROPTIONS).
 */
static int find_cgroup_mount(const char *controller, char *mountpoint, size_t size)
{
	__attribute__((cleanup(fclose_filep))) FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	__attribute__((cleanup(free_charp))) char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) >= 0) {
		char *fields[6] = {0}, *saveptr = NULL, *token = strtok_r(line, " \n", &saveptr);
		for (int i = 0; token && i < 6; i++, token = strtok_r(NULL, " \n", &saveptr))
			fields[i] = token;
		while (token && strcmp(token, "-") != 0)
			token = strtok_r(NULL, " \n", &saveptr);
		char *fstype = token ? strtok_r(NULL, " \n", &saveptr) : NULL;
		char *source = fstype ? strtok_r(NULL, " \n", &saveptr) : NULL;
		char *superoptions = source ? strtok_r(NULL, " \n", &saveptr) : NULL;
		if (!fields[4] || !superoptions)
			continue;
		bool match = false;
		if (!controller) {
			match = strcmp(fstype, "cgroup2") == 0;
		} else if (strcmp(fstype, "cgroup") == 0) {
			char *opt_save = NULL;
			for (char *opt = strtok_r(superoptions, ",", &opt_save); opt;
			     opt = strtok_r(NULL, ",", &opt_save))
				match = match || strcmp(opt, controller) == 0;
		}
		if (match) {
			unescape_mountinfo(fields[4]);
			snprintf(mountpoint, size, "%s", fields[4]);
			return 0;
		}
	}
	return ferror(f) ? -EIO : -ENOENT;
}

/* From /proc/PID/cgroup (cgroups(7): ID:CONTROLLERS:PATH), the pid's cgroups that govern devices. */
static int cgroups_of_pid(pid_t pid, uint32_t *flags, char *note, size_t size, vfg_error *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	__attribute__((cleanup(fclose_filep))) FILE *f = fopen(path, "re");
	if (!f)
		return vfg_error_set(err, errno, path, "cannot find the domain's cgroup (is pid %d running?)",
				     (int)pid);

	__attribute__((cleanup(free_charp))) char *line = NULL;
	size_t cap = 0, used = 0;
	note[0] = '\0';
	while (getline(&line, &cap, f) >= 0) {
		line[strcspn(line, "\n")] = '\0';
		char *controllers = strchr(line, ':');
		char *cgroup = controllers ? strchr(controllers + 1, ':') : NULL;
		if (!cgroup)
			continue;
		*controllers++ = '\0';
		*cgroup++ = '\0';
		bool v2 = line[0] == '0' && line[1] == '\0' && controllers[0] == '\0';
		bool devices = false;
		char *saveptr = NULL;
		for (char *c = strtok_r(controllers, ",", &saveptr); c; c = strtok_r(NULL, ",", &saveptr))
			devices = devices || strcmp(c, "devices") == 0;
		if (!v2 && !devices)
			continue;

		char mountpoint[512];
		int r = find_cgroup_mount(v2 ? NULL : "devices", mountpoint, sizeof(mountpoint));
		if (r == -ENOENT)
			continue; /* not mounted here: the manager could not manage it either */
		if (r < 0)
			return vfg_error_set(err, -r, "/proc/self/mountinfo", "cannot find where cgroups are mounted");
		*flags |= v2 ? CGROUP_V2 : CGROUP_V1_DEVICES;
		int n = snprintf(note + used, size - used, "%s%s %s%s", used ? "; " : "", v2 ? "v2" : "v1 devices",
				 mountpoint, strcmp(cgroup, "/") == 0 ? "" : cgroup);
		if (n > 0)
			used = (size_t)n + used < size ? used + (size_t)n : size - 1;
	}
	return 0;
}

static int cgroup_of_path(const char *path, uint32_t *flags, char *note, size_t size, vfg_error *err)
{
	struct statfs fs;
	if (statfs(path, &fs) < 0)
		return vfg_error_set(err, errno, path, "cannot use as the domain's cgroup");
	if ((unsigned long)fs.f_type == CGROUP2_SUPER_MAGIC) {
		*flags |= CGROUP_V2;
		snprintf(note, size, "v2 %s", path);
		return 0;
	}
	if ((unsigned long)fs.f_type != CGROUP_SUPER_MAGIC)
		return vfg_error_set(err, 0, path,
				     "is not a cgroup directory (neither cgroup nor cgroup2 file system)");

	char list[1100];
	snprintf(list, sizeof(list), "%s/devices.list", path);
	if (access(list, F_OK) < 0)
		return vfg_error_set(err, 0, path, "is a v1 cgroup without the devices controller (no devices.list)");
	*flags |= CGROUP_V1_DEVICES;
	snprintf(note, size, "v1 devices %s", path);
	return 0;
}

static int cgroup_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	char where[sizeof(probe->note) - 16] = "";
	if (domain->cgroup[0]) {
		if (cgroup_of_path(domain->cgroup, &probe->flags, where, sizeof(where), err) < 0)
			return -1;
	} else if (domain->pid > 0) {
		if (cgroups_of_pid(domain->pid, &probe->flags, where, sizeof(where), err) < 0)
			return -1;
	} else {
		snprintf(probe->note, sizeof(probe->note),
			 "no cgroup given (--cgroup or --pid): no device rule is made");
		return 0;
	}
	if (!probe->flags) {
		snprintf(probe->note, sizeof(probe->note), "pid %d sits in no device-controlled cgroup",
			 (int)domain->pid);
		return 0;
	}
	probe->active = true;
	snprintf(probe->note, sizeof(probe->note), "cgroup %s", where);
	return 0;
}

/* Where a rule goes: a hybrid host checks both, so both get it. */
static const char *cgroup_rule_place(uint32_t flags)
{
	if ((flags & CGROUP_V1_DEVICES) && (flags & CGROUP_V2))
		return "v1 devices.allow and v2 BPF map";
	return flags & CGROUP_V2 ? "v2 BPF map" : "v1 devices.allow";
}

static int cgroup_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
		       const vfg_node *node, vfg_step *step, vfg_error *err)
{
	if (node->access == VFG_ACCESS_FD)
		return vfg_step_set(step, VFG_ACTION_NONE, "",
				    "fd access: the device cgroup checks only open and mknod, in the opener's cgroup "
				    "(devcgroup_inode_permission()); the manager opens the node");
	if (!probe->active)
		return vfg_step_set(step, VFG_ACTION_INACTIVE, "", "%s", probe->note);

	char detail[64];
	const char *where = cgroup_rule_place(probe->flags);
	snprintf(detail, sizeof(detail), "allow c %u:%u rw", major(node->rdev), minor(node->rdev));
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "the hypervisor opens the node in its cgroup, checked at open "
			    "(devcgroup_inode_permission()): a rule in the %s%s",
			    where, node->shared ? ", counted per cgroup as the node is shared" : "");
}

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v1 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.name = "cgroup",
	.summary = "device cgroup rule: v1 devices.allow, v2 BPF device program",
	.probe = cgroup_probe,
	.plan = cgroup_plan,
	.grant = vfg_labeler_grant_unimplemented,
	.revoke = vfg_labeler_revoke_unimplemented,
	.audit = vfg_labeler_audit_unimplemented,
};
