/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What one hold of the host lock has found, kept in the labeler's scratch
 * (labeler.h: vfg_env_scratch): a plan finds a domain's cgroups, whether they
 * are refused and what they hold once for all its nodes, and a transaction
 * once for all its steps, so the cost of a domain grows with its nodes, not
 * with their square. Nothing here outlives the hold: the next one looks at
 * the host again, and nothing is shared between two contexts.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup.h"
#include "vfg_fault.h"

struct cgroup_hold {
	bool own_found;
	cgroup_place own; /* vfguard's own cgroups */
	size_t n_places;
	cgroup_found_place **places; /* each domain's, by its cgroup.path attribute and pid */
	size_t n_dirs;
	cgroup_dir **dirs; /* every directory opened in the hold, by path */
	void *v1_module; /* cgroup-v1.so, once a v1 cgroup is written to */
	const cgroup_v1_ops *v1_ops;
	char v1_known[VFG_PATH_MAX]; /* STATE_DIR/cgroup-v1-devices, under the root: the boot's answer */
	void *v2_module; /* cgroup-v2.so, once a cgroup2 cgroup is met */
	const cgroup_v2_ops *v2_ops;
	void *systemd_module; /* cgroup-systemd.so, once systemd's device program is met */
	const cgroup_systemd_ops *systemd_ops;
	void *bus; /* the system bus, opened by the systemd module's first call */
	/* The last unit read or set in the hold, as systemd has it now. */
	char sd_unit[CGROUP_SD_UNIT_MAX];
	bool sd_gone;
	cgroup_sd_devices sd_devices;
};

static void dir_close(cgroup_dir *dir)
{
	vfg_closep(&dir->v2.prog.map_fd);
	vfg_closep(&dir->v2.prog.prog_fd);
	vfg_closep(&dir->v1.allow_fd);
	vfg_closep(&dir->v1.deny_fd);
	vfg_closep(&dir->fd);
	cgroup_v1_table_forget(&dir->v1.lines);
	free(dir);
}

static void hold_release(void *block)
{
	cgroup_hold *hold = block;
	for (size_t i = 0; i < hold->n_dirs; i++)
		dir_close(hold->dirs[i]);
	for (size_t i = 0; i < hold->n_places; i++)
		free(hold->places[i]);
	free(hold->dirs);
	free(hold->places);
	free(hold->sd_devices.entries);
	if (hold->bus && hold->systemd_ops)
		hold->systemd_ops->close(hold->bus);
	if (hold->systemd_module)
		dlclose(hold->systemd_module);
	if (hold->v1_module)
		dlclose(hold->v1_module);
	if (hold->v2_module)
		dlclose(hold->v2_module);
}

cgroup_hold *cgroup_hold_get(const vfg_labeler_env *env, vfg_error *err)
{
	cgroup_hold *hold = vfg_env_scratch(env, sizeof(*hold), hold_release);
	if (!hold) {
		vfg_error_set(err, ENOMEM, "cgroup", "cannot keep what this transaction reads of the cgroups");
		return NULL;
	}
	if (!hold->v1_known[0]) {
		char state[VFG_PATH_MAX];
		const char *dir = vfg_config_get(env->config, "state_dir");
		vfg_error ignored = {0};
		if (dir && vfg_env_host_path(env, dir, state, sizeof(state), &ignored) == 0)
			snprintf(hold->v1_known, sizeof(hold->v1_known), "%s/cgroup-v1-devices", state);
	}
	return hold;
}

cgroup_found_place *cgroup_hold_place(cgroup_hold *hold, const vfg_domain *domain, vfg_error *err)
{
	/* cgroup_place_find() reads the path when there is one, else the pid. */
	const char *path = vfg_domain_attr(domain, "cgroup.path");
	pid_t pid = path[0] ? 0 : domain->pid;
	for (size_t i = 0; i < hold->n_places; i++)
		if (strcmp(hold->places[i]->path, path) == 0 && hold->places[i]->pid == pid)
			return hold->places[i];
	cgroup_found_place *found = calloc(1, sizeof(*found));
	if (!found) {
		vfg_error_set(err, ENOMEM, domain->name, "cgroup: cannot keep the domain's cgroups");
		return NULL;
	}
	snprintf(found->path, sizeof(found->path), "%s", path);
	found->pid = pid;
	found->refused = -1;
	found->systemd = -1;
	if (cgroup_place_find(domain, &found->place, found->why, sizeof(found->why), err) < 0) {
		free(found);
		return NULL;
	}
	cgroup_found_place **places = realloc(hold->places, (hold->n_places + 1) * sizeof(*places));
	if (!places) {
		free(found);
		vfg_error_set(err, ENOMEM, domain->name, "cgroup: cannot keep the domain's cgroups");
		return NULL;
	}
	hold->places = places;
	places[hold->n_places++] = found;
	return found;
}

int cgroup_hold_refusal(cgroup_hold *hold, cgroup_found_place *found, const char **why, vfg_error *err)
{
	if (!hold->own_found) {
		if (cgroup_place_own(&hold->own, err) < 0)
			return -1;
		hold->own_found = true;
	}
	if (found->refused < 0) {
		int refused =
			cgroup_place_refusal(&found->place, &hold->own, found->refusal, sizeof(found->refusal), err);
		if (refused < 0)
			return -1;
		found->refused = refused;
	}
	*why = found->refusal;
	return found->refused;
}

cgroup_dir *cgroup_hold_dir(cgroup_hold *hold, const char *path, vfg_error *err)
{
	for (size_t i = 0; i < hold->n_dirs; i++)
		if (strcmp(hold->dirs[i]->path, path) == 0)
			return hold->dirs[i];
	cgroup_dir *dir = calloc(1, sizeof(*dir));
	if (!dir) {
		vfg_error_set(err, ENOMEM, path, "cgroup: cannot keep the cgroup open");
		return NULL;
	}
	snprintf(dir->path, sizeof(dir->path), "%s", path);
	dir->v1.allow_fd = dir->v1.deny_fd = -1;
	dir->v2.prog = (cgroup_v2_prog)CGROUP_V2_PROG_INIT;
	/* A file in the way is no cgroup either: statfs(2) says what it is on, for the caller's check. */
	struct statfs fs;
	struct stat st;
	dir->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = dir->fd >= 0 ? fstatfs(dir->fd, &fs) : -1;
	if (r == 0 && fstat(dir->fd, &st) == 0)
		dir->ino = (unsigned long long)st.st_ino;
	if (r < 0 && errno == ENOTDIR)
		r = statfs(path, &fs);
	if (r == 0)
		dir->fs_type = (unsigned long)fs.f_type;
	else if (errno == ENOENT)
		dir->gone = true; /* as at revoke, once the VM's cgroup is removed: its rules went with it */
	else {
		vfg_error_set(err, errno, path, "cannot open the cgroup");
		dir_close(dir);
		return NULL;
	}
	cgroup_dir **dirs = realloc(hold->dirs, (hold->n_dirs + 1) * sizeof(*dirs));
	if (!dirs) {
		dir_close(dir);
		vfg_error_set(err, ENOMEM, path, "cgroup: cannot keep the cgroup open");
		return NULL;
	}
	hold->dirs = dirs;
	dirs[hold->n_dirs++] = dir;
	return dir;
}

/*
 * The modules (cgroup_v1_libcgroup.c, cgroup_v2_bpf.c) lie in the folder
 * cgroup/ beside this labeler's own file, where meson builds and installs
 * them. RTLD_NODELETE: once loaded one stays, so the next hold (a hook's
 * apply after its plan) finds it loaded rather than mapping its libraries again;
 * the dlclose at each hold's end only counts it down.
 */
#define CGROUP_V1_MODULE "cgroup/cgroup-v1.so"
#define CGROUP_V2_MODULE "cgroup/cgroup-v2.so"
#define CGROUP_SYSTEMD_MODULE "cgroup/cgroup-systemd.so"

/* The ops table @symbol of @size bytes in the module @name, the labeler's @part, which acts on @what; NULL with @err.
 */
static const void *hold_module_load(const char *name, const char *symbol, uint32_t size, const char *part,
				    const char *what, void **module, vfg_error *err)
{
	Dl_info self;
	if (!dladdr((void *)hold_module_load, &self) || !self.dli_fname) {
		vfg_error_set(err, 0, name, "cgroup: cannot tell where this labeler was loaded from");
		return NULL;
	}
	char path[PATH_MAX];
	const char *slash = strrchr(self.dli_fname, '/');
	int n = snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash + 1 - self.dli_fname) : 0, self.dli_fname,
			 name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		vfg_error_set(err, ENAMETOOLONG, self.dli_fname, "cgroup: the path of its %s part is too long", part);
		return NULL;
	}
	/* Its code runs as root once loaded, as the labeler's own: refused unless only root can have written it. */
	int trusted = vfg_file_trusted(path, NULL, "cgroup labeler part", err);
	if (trusted == -ENOENT)
		vfg_error_set(err, ENOENT, path, "cgroup: the part that acts on %s is not installed", what);
	if (trusted < 0)
		return NULL;
	void *handle = vfg_fault("cgroup.dlopen_part") ? NULL : dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!handle) {
		vfg_error_set(err, 0, path, "cgroup: cannot load the part that acts on %s (%s)", what,
			      vfg_fault_dlerror());
		return NULL;
	}
	/* Every ops table starts with its size as the module was built. */
	const uint32_t *ops = dlsym(handle, symbol);
	if (!ops || *ops != size) {
		dlclose(handle);
		vfg_error_set(err, 0, path, "is not the cgroup labeler's %s part of this build (no %s of %u bytes)",
			      part, symbol, (unsigned)size);
		return NULL;
	}
	*module = handle;
	return ops;
}

const cgroup_v1_ops *cgroup_hold_v1_ops(cgroup_hold *hold, vfg_error *err)
{
	if (!hold->v1_ops)
		hold->v1_ops = hold_module_load(CGROUP_V1_MODULE, CGROUP_V1_OPS_SYMBOL, sizeof(cgroup_v1_ops), "v1",
						"v1 cgroups", &hold->v1_module, err);
	return hold->v1_ops;
}

/*
 * The boot's answer. libcgroup finds the devices hierarchy's mount point
 * with cgroup_init(), which clears a table of 800 KiB and parses
 * /proc/mounts (cgroup_v1_libcgroup.c): asked by every command, that was a
 * quarter of a 1-hostdev apply's peak RSS (bench/README.md). Once it has
 * said a directory is below that mount point, the boot id, the device number
 * of the hierarchy's superblock (the directory's st_dev) and the mount point
 * are kept in STATE_DIR/cgroup-v1-devices. A later command of the same boot
 * takes a v1 directory (CGROUP_SUPER_MAGIC, include/uapi/linux/magic.h)
 * below that mount point on that superblock as libcgroup would, without
 * asking it. A superblock gone and its anonymous device number given to
 * another cgroup v1 hierarchy mounted at the same place is caught by the
 * write itself: a controller is bound to one hierarchy only, so that one
 * has no devices.allow to open (Documentation/admin-guide/cgroup-v1/
 * cgroups.rst, 2.3). The file is a hint, written without fsync (no sync
 * added to a transaction): torn, stale or missing, libcgroup is asked.
 */
#define V1_KNOWN_MAX (VFG_BOOT_ID_STRLEN + 48 + VFG_PATH_MAX)

/* The kept answer, whole (its newline ends it), into @text without the newline; false when there is none. */
static bool v1_known_read(const char *known, char text[V1_KNOWN_MAX])
{
	/* O_NONBLOCK and a regular file only: a FIFO in its place must not hang the command (a trial). */
	_cleanup_close_ int fd = known[0] ? open(known, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) : -1;
	struct stat st;
	ssize_t n = fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ? -1 : read(fd, text, V1_KNOWN_MAX - 1);
	if (n <= 0 || text[n - 1] != '\n')
		return false;
	text[n - 1] = '\0';
	return true;
}

static bool v1_known_says(const char *known, const char *boot, dev_t dev, const char *dir)
{
	char text[V1_KNOWN_MAX];
	if (!v1_known_read(known, text))
		return false;
	unsigned major_number, minor_number;
	int mount_at = 0;
	if (strncmp(text, boot, VFG_BOOT_ID_STRLEN - 1) != 0 || text[VFG_BOOT_ID_STRLEN - 1] != ' ' ||
	    sscanf(text + VFG_BOOT_ID_STRLEN, "%u:%u %n", &major_number, &minor_number, &mount_at) != 2 ||
	    mount_at == 0 || makedev(major_number, minor_number) != dev)
		return false;
	const char *mountpoint = text + VFG_BOOT_ID_STRLEN + mount_at;
	size_t len = strlen(mountpoint);
	return mountpoint[0] == '/' && strncmp(dir, mountpoint, len) == 0 && (dir[len] == '/' || dir[len] == '\0');
}

static void v1_known_keep(const char *known, const char *boot, dev_t dev, const char *mountpoint)
{
	char text[V1_KNOWN_MAX], temporary[VFG_PATH_MAX + 16];
	int n = snprintf(text, sizeof(text), "%s %u:%u %s\n", boot, major(dev), minor(dev), mountpoint);
	if (!known[0] || n < 0 || (size_t)n >= sizeof(text) ||
	    (size_t)snprintf(temporary, sizeof(temporary), "%s.%d", known, (int)getpid()) >= sizeof(temporary))
		return;
	_cleanup_close_ int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	/* no fault: a hint that may fail any way; a failed one is asked for again (libcgroup) */
	if (write(fd, text, (size_t)n) != n || rename(temporary, known) < 0)
		unlink(temporary); /* no fault: the hint's temporary file, nothing else */
}

int cgroup_hold_v1_hierarchy(cgroup_hold *hold, const cgroup_dir *dir, const char *file, vfg_error *err)
{
	struct stat st;
	char boot[VFG_BOOT_ID_STRLEN];
	vfg_error ignored = {0};
	bool booted = vfg_boot_id_read(VFG_BOOT_ID_PATH, boot, &ignored) > 0 && fstat(dir->fd, &st) == 0;
	if (booted && dir->fs_type == CGROUP_SUPER_MAGIC && v1_known_says(hold->v1_known, boot, st.st_dev, dir->path))
		return 0;
	const cgroup_v1_ops *ops = cgroup_hold_v1_ops(hold, err);
	char mountpoint[VFG_PATH_MAX];
	if (!ops || ops->hierarchy_check(dir->path, file, mountpoint, sizeof(mountpoint), err) < 0)
		return -1;
	if (booted && dir->fs_type == CGROUP_SUPER_MAGIC)
		v1_known_keep(hold->v1_known, boot, st.st_dev, mountpoint);
	return 0;
}

/* Is a cgroup v1 hierarchy with the devices controller mounted? As /proc/self/mounts says, not libcgroup. */
static bool v1_devices_mounted(void)
{
	FILE *mounts = setmntent("/proc/self/mounts", "re");
	if (!mounts)
		return false;
	bool found = false;
	struct mntent entry;
	char text[4096];
	while (!found && getmntent_r(mounts, &entry, text, sizeof(text)))
		found = strcmp(entry.mnt_type, "cgroup") == 0 && hasmntopt(&entry, "devices");
	endmntent(mounts);
	return found;
}

void cgroup_hold_v1_prime(cgroup_hold *hold)
{
	/* The running kernel's boot, as cgroup_hold_v1_hierarchy reads it: the hierarchy is its, not --root's. */
	char boot[VFG_BOOT_ID_STRLEN], text[V1_KNOWN_MAX];
	vfg_error unread = {0};
	if (!hold->v1_known[0] || vfg_boot_id_read(VFG_BOOT_ID_PATH, boot, &unread) <= 0)
		return;
	size_t len = strlen(boot);
	if ((v1_known_read(hold->v1_known, text) && strncmp(text, boot, len) == 0 && text[len] == ' ') ||
	    !v1_devices_mounted())
		return;
	vfg_error ignored = {0};
	const cgroup_v1_ops *ops = cgroup_hold_v1_ops(hold, &ignored);
	char mountpoint[VFG_PATH_MAX];
	struct stat st;
	struct statfs fs;
	if (ops && ops->devices_mount(mountpoint, sizeof(mountpoint), &ignored) == 0 && stat(mountpoint, &st) == 0 &&
	    statfs(mountpoint, &fs) == 0 && (unsigned long)fs.f_type == CGROUP_SUPER_MAGIC)
		v1_known_keep(hold->v1_known, boot, st.st_dev, mountpoint);
}

const cgroup_v2_ops *cgroup_hold_v2_ops(cgroup_hold *hold, vfg_error *err)
{
	if (!hold->v2_ops)
		hold->v2_ops = hold_module_load(CGROUP_V2_MODULE, CGROUP_V2_OPS_SYMBOL, sizeof(cgroup_v2_ops), "v2",
						"cgroup2", &hold->v2_module, err);
	return hold->v2_ops;
}

const cgroup_systemd_ops *cgroup_hold_systemd_ops(cgroup_hold *hold, vfg_error *err)
{
	if (!hold->systemd_ops)
		hold->systemd_ops =
			hold_module_load(CGROUP_SYSTEMD_MODULE, CGROUP_SYSTEMD_OPS_SYMBOL, sizeof(cgroup_systemd_ops),
					 "systemd", "systemd's units", &hold->systemd_module, err);
	return hold->systemd_ops;
}

void **cgroup_hold_bus(cgroup_hold *hold)
{
	return &hold->bus;
}

const cgroup_sd_devices *cgroup_hold_sd_devices(cgroup_hold *hold, const char *unit, bool *gone, vfg_error *err)
{
	if (strcmp(hold->sd_unit, unit) != 0) {
		const cgroup_systemd_ops *ops = cgroup_hold_systemd_ops(hold, err);
		cgroup_sd_devices devices;
		if (!ops || ops->devices_get(&hold->bus, unit, &devices, &hold->sd_gone, err) < 0)
			return NULL;
		free(hold->sd_devices.entries);
		hold->sd_devices = devices;
		snprintf(hold->sd_unit, sizeof(hold->sd_unit), "%s", unit);
	}
	*gone = hold->sd_gone;
	return &hold->sd_devices;
}

int cgroup_hold_sd_set(cgroup_hold *hold, const char *unit, const cgroup_sd_devices *wanted, vfg_error *err)
{
	bool gone;
	const cgroup_sd_devices *now = cgroup_hold_sd_devices(hold, unit, &gone, err);
	if (!now)
		return -1;
	if (cgroup_sd_devices_equal(now, wanted))
		return 0;
	hold->sd_unit[0] = '\0'; /* read again at the next look: systemd may have said no half way */
	if (hold->systemd_ops->devices_set(&hold->bus, unit, wanted->entries, wanted->n, err) < 0)
		return -1;
	cgroup_sd_entry *entries = malloc((wanted->n + 1) * sizeof(*entries));
	if (!entries)
		return 0;
	memcpy(entries, wanted->entries, wanted->n * sizeof(*entries));
	free(hold->sd_devices.entries);
	hold->sd_devices = *wanted;
	hold->sd_devices.entries = entries;
	hold->sd_gone = false;
	snprintf(hold->sd_unit, sizeof(hold->sd_unit), "%s", unit);
	return 0;
}

void cgroup_hold_forget_v1_lists(cgroup_hold *hold, const cgroup_dir *written)
{
	for (size_t i = 0; i < hold->n_dirs; i++)
		if (hold->dirs[i] != written)
			cgroup_v1_table_forget(&hold->dirs[i]->v1.lines);
}
