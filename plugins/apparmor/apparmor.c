/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * AppArmor. The VM's profile must allow the node's path when the hypervisor
 * opens it (apparmor_file_open() in security/apparmor/lsm.c). A file it
 * receives over a socket (apparmor_file_receive()) or inherits across exec
 * (aa_inherit_files()) is checked again against its profile by
 * aa_file_perm() in security/apparmor/file.c, which skips the check when
 * the file's label, the opener's, is unconfined: an fd opened by an
 * unconfined process is delegated and needs no rule; one opened by a
 * confined process does (Linux 6.1 and 6.12 alike).
 *
 * vfguard keeps the rules in a per-domain file, apparmor_rules_dir/PROFILE,
 * that the domain's profile includes: one exact path per node, never a
 * glob (apparmor.h describes the file). After a change it replaces the
 * profile in the kernel with apparmor_parser when the profile is loaded;
 * a profile loaded later reads the file then.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/apparmor.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "apparmor.h"
#include "vfg_fault.h"

enum {
	APPARMOR_ENABLED = 1u << 0,
	APPARMOR_OPENER_CONFINED = 1u << 1, /* vfguard (the fd opener) runs under a profile */
	APPARMOR_PROFILE_LOADED = 1u << 2, /* the domain's profile is in the kernel now */
};

/* The running boot's id under the root prefix, for the section's begin line; "" when the root gives none. */
static int apparmor_boot_id(const vfg_labeler_env *env, char id[VFG_BOOT_ID_STRLEN], vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (vfg_env_host_path(env, VFG_BOOT_ID_PATH, path, sizeof(path), err) < 0)
		return -1;
	return vfg_boot_id_read(path, id, err) < 0 ? -1 : 0;
}

/* ---- the kernel ------------------------------------------------------------ */

static bool apparmor_enabled(void)
{
	return aa_is_enabled() == 1;
}

/*
 * Is vfguard itself confined? The label "unconfined", or a profile in mode
 * "unconfined" (flags=(unconfined)), both carry FLAG_UNCONFINED in the
 * kernel, which is what aa_file_perm()'s unconfined() tests.
 */
static int apparmor_self_confined(bool *confined, char *label_out, size_t size, vfg_error *err)
{
	char *label = NULL, *mode = NULL;
	if (aa_getcon(&label, &mode) < 0)
		return vfg_error_set(err, errno, "/proc/self/attr/current",
				     "apparmor: AppArmor is enabled but vfguard cannot read its own confinement");
	*confined = strcmp(label, "unconfined") != 0 && !(mode && strcmp(mode, "unconfined") == 0);
	snprintf(label_out, size, "%s%s%s%s", label, mode ? " (" : "", mode ? mode : "", mode ? ")" : "");
	free(label); /* aa_getcon(2): mode points into the label's buffer */
	return 0;
}

/* Is @profile loaded? The apparmorfs "profiles" file lists "NAME (MODE)" a line. */
static int apparmor_profile_loaded(const char *profile, bool *loaded, vfg_error *err)
{
	_cleanup_free_ char *mountpoint = NULL;
	*loaded = false;
	if (aa_find_mountpoint(&mountpoint) < 0)
		return vfg_error_set(err, errno, "securityfs", "apparmor: cannot find the apparmor file system");
	char path[VFG_PATH_MAX];
	snprintf(path, sizeof(path), "%s/profiles", mountpoint);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return vfg_error_set(err, errno, path, "apparmor: cannot list the loaded profiles");
	_cleanup_free_ char *line = NULL;
	size_t capacity = 0;
	ssize_t length;
	while ((length = getline(&line, &capacity, f)) > 0) {
		char *mode = strrchr(line, '(');
		if (!mode || mode == line || mode[-1] != ' ')
			continue;
		mode[-1] = '\0';
		if (strcmp(line, profile) == 0) {
			*loaded = true;
			return 0;
		}
	}
	return 0;
}

/* Run the parser; its output becomes the error's message when it fails. */
static int apparmor_parser_run(const char *const *argv, const char *subject, vfg_error *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return vfg_error_set(err, errno, subject, "apparmor: cannot run %s", argv[0]);
	posix_spawn_file_actions_t actions;
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);
	char *const environment[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL};
	pid_t pid;
	int r = vfg_fault("apparmor.parser")
			? errno
			: posix_spawn(&pid, argv[0], &actions, NULL, (char *const *)argv, environment);
	posix_spawn_file_actions_destroy(&actions);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		return vfg_error_set(err, r, argv[0], "apparmor: cannot run the parser (config key apparmor_parser)");
	}
	char output[1024];
	size_t used = 0;
	for (;;) {
		char chunk[512];
		ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t keep = (size_t)n < sizeof(output) - 1 - used ? (size_t)n : sizeof(output) - 1 - used;
		memcpy(output + used, chunk, keep);
		used += keep;
	}
	output[used] = '\0';
	close(pipefd[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return vfg_error_set(err, errno, argv[0], "apparmor: cannot wait for the parser");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	for (char *c = output; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return vfg_error_set(err, 0, subject, "apparmor: %s failed (%s %d): %s", argv[0],
			     WIFEXITED(status) ? "exit" : "signal",
			     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), used ? output : "no output");
}

/*
 * Make the kernel see the rules file: replace the domain's profile when it
 * is loaded. A profile not loaded is left so: whoever loads it (libvirt at
 * start) reads the file then. Called after every change, and by revoke even
 * when the file needed none, so a revoke retried after a failed replace
 * still takes the rule out of the kernel.
 */
static int apparmor_kernel_sync(const vfg_labeler_env *env, const char *profile, vfg_error *err)
{
	bool loaded;
	if (!apparmor_enabled())
		return 0;
	if (apparmor_profile_loaded(profile, &loaded, err) < 0)
		return -1;
	if (!loaded)
		return 0;
	char profile_file[VFG_PATH_MAX], base[VFG_PATH_MAX];
	if (apparmor_file_path(env, "apparmor_profile_dir", profile, profile_file, sizeof(profile_file), err) < 0)
		return -1;
	if (access(profile_file, R_OK) < 0)
		return vfg_error_set(err, errno, profile_file,
				     "apparmor: profile %s is loaded but its file cannot be read: the kernel cannot "
				     "be given the changed rules (config key apparmor_profile_dir)",
				     profile);
	const char *argv[8] = {vfg_config_get(env->config, "apparmor_parser"), "--replace"};
	size_t n = 2;
	/* Under a root prefix, the profile's includes resolve under it too. */
	if (strcmp(env->root, "/") != 0) {
		if (vfg_env_host_path(env, "/etc/apparmor.d", base, sizeof(base), err) < 0)
			return -1;
		argv[n++] = "--base";
		argv[n++] = base;
	}
	argv[n++] = profile_file;
	argv[n] = NULL;
	return apparmor_parser_run(argv, profile_file, err);
}

/* ---- probe and plan ------------------------------------------------------------ */

static int apparmor_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	char profile[VFG_LABEL_MAX], rules_file[VFG_PATH_MAX], self[VFG_LABEL_MAX] = "unconfined";
	char profile_file[VFG_PATH_MAX], ours[VFG_PATH_MAX], unread[128];
	if (apparmor_profile_name(domain, profile, sizeof(profile), err) < 0 ||
	    apparmor_file_path(env, "apparmor_rules_dir", profile, rules_file, sizeof(rules_file), err) < 0)
		return -1;
	int libvirts = apparmor_profile_is_libvirts(env, profile, profile_file, sizeof(profile_file), ours,
						    sizeof(ours), unread, sizeof(unread), err);
	if (libvirts < 0)
		return -1;
	if (libvirts) {
		/* A hot-plug by hand, or a start after one: the hook decided the same at the first start
		 * (docs/apparmor.md). */
		probe->active = false;
		snprintf(probe->note, sizeof(probe->note),
			 "profile %s is libvirt's AppArmor driver's (%s includes libvirt/%s.files, where libvirt "
			 "allows the domain's VFIO nodes itself, and not %s): a rules file would be read by nothing",
			 profile, profile_file, profile, ours);
		return 0;
	}
	probe->active = true; /* the rules file is kept either way */
	const char *loading = "AppArmor not enabled: the file only, nothing loaded";
	bool confined = false;
	if (apparmor_enabled()) {
		bool loaded = false;
		probe->flags |= APPARMOR_ENABLED;
		if (apparmor_self_confined(&confined, self, sizeof(self), err) < 0 ||
		    apparmor_profile_loaded(profile, &loaded, err) < 0)
			return -1;
		if (confined)
			probe->flags |= APPARMOR_OPENER_CONFINED;
		if (loaded)
			probe->flags |= APPARMOR_PROFILE_LOADED;
		loading =
			loaded ? "profile loaded: replaced after each change" : "profile not loaded: read when loaded";
	}
	snprintf(probe->note, sizeof(probe->note), "profile %s, %s; vfguard %s %s; rules %s%s%s%s%s%s", profile,
		 loading, confined ? "confined by" : "runs", self, rules_file, unread[0] ? "; profile file " : "",
		 unread[0] ? profile_file : "", unread[0] ? " not read (" : "", unread,
		 unread[0] ? "), so not taken as libvirt's" : "");
	return 0;
}

static int apparmor_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			 const vfg_node *node, vfg_step *step, vfg_error *err)
{
	char rule[APPARMOR_RULE_MAX], detail[sizeof(rule) + 8];
	if (!probe->active)
		return vfg_step_set(step, VFG_ACTION_INACTIVE, "", "%s", probe->note);
	if (apparmor_rule_format(node->path, rule, sizeof(rule), err) < 0)
		return -1;
	snprintf(detail, sizeof(detail), "rule %s", rule);
	const char *file_only = probe->flags & APPARMOR_ENABLED ? "" : " (AppArmor is not enabled: rules file only)";

	if (node->access == VFG_ACCESS_PATH)
		return vfg_step_set(step, VFG_ACTION_GRANT, detail,
				    "the profile must allow the path when the hypervisor opens it "
				    "(apparmor_file_open())%s",
				    file_only);
	if (probe->flags & APPARMOR_OPENER_CONFINED)
		return vfg_step_set(step, VFG_ACTION_GRANT, detail,
				    "fd access from a confined opener: the kernel checks a received fd against the "
				    "hypervisor's profile (apparmor_file_receive() -> aa_file_perm())");
	if (!(probe->flags & APPARMOR_ENABLED))
		return vfg_step_set(step, VFG_ACTION_NONE, "",
				    "fd access, AppArmor not enabled: no fd is checked against a profile now, and one "
				    "opened without a profile is delegated once it is (aa_file_perm() skips an "
				    "unconfined opener's files); no rule is needed");
	return vfg_step_set(step, VFG_ACTION_NONE, "",
			    "fd access from an unconfined opener: the kernel skips the re-check of a delegated fd on "
			    "receive (aa_file_perm()); no rule is needed");
}

/* ---- grant and revoke ------------------------------------------------------------ */

static void apparmor_undo_freep(apparmor_undo *undo)
{
	apparmor_undo_free(undo);
}
#define _cleanup_undo_ __attribute__((cleanup(apparmor_undo_freep)))

/* The domain's profile, its rules file read, and the node's rule. */
typedef struct apparmor_target {
	char profile[VFG_LABEL_MAX];
	char rule[APPARMOR_RULE_MAX];
	apparmor_rules rules;
} apparmor_target;

static int apparmor_target_read(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_node *node,
				apparmor_target *target, vfg_error *err)
{
	char path[VFG_PATH_MAX];
	memset(target, 0, sizeof(*target));
	if (apparmor_profile_name(domain, target->profile, sizeof(target->profile), err) < 0 ||
	    apparmor_rule_format(node->path, target->rule, sizeof(target->rule), err) < 0 ||
	    apparmor_file_path(env, "apparmor_rules_dir", target->profile, path, sizeof(path), err) < 0)
		return -1;
	return apparmor_rules_read(path, &target->rules, err);
}

static void apparmor_target_freep(apparmor_target *target)
{
	apparmor_rules_free(&target->rules);
}
#define _cleanup_target_ __attribute__((cleanup(apparmor_target_freep)))

/* Another domain's section: the profile is that domain's, and two domains never share a rules file. */
static bool apparmor_section_of_other(const apparmor_rules *rules, const vfg_domain *domain)
{
	return rules->has_section && strcmp(rules->domain, domain->name) != 0;
}

/*
 * Intent and grant are two passes (labeler.h: intent). The rules file is
 * shared by the domain's nodes, but what a record journals does not depend
 * on the grants before it: whether the section held this node's rule
 * already (no other node's grant adds it), and the file before vfguard,
 * which is what follows the section, the same before and after any of the
 * domain's grants. So every record is journaled, with one sync, before the
 * first write of the file; each grant then adds its rule to the file as the
 * grants before it left it.
 */
static int apparmor_intent(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			   const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	_cleanup_target_ apparmor_target target = {0};
	if (apparmor_target_read(env, domain, node, &target, err) < 0)
		return -1;
	const apparmor_rules *rules = &target.rules;
	if (apparmor_section_of_other(rules, domain))
		return vfg_error_refuse(err, EBUSY, rules->path,
					"apparmor: holds the rules of domain %s: profile %s is that domain's, and two "
					"domains never share a rules file (give this one a profile of its own: "
					"--apparmor-profile, or its libvirt <seclabel model='apparmor'> label)",
					rules->domain, target.profile);

	/*
	 * What undo puts back: the file before vfguard, kept inline or, too
	 * large for that, saved in the journal's store first (durable and
	 * journaled when vfg_txn_save returns; saved once for the domain).
	 */
	bool held = apparmor_rules_holds(rules, target.rule);
	apparmor_original original;
	apparmor_rules_original(rules, &original);
	char undo[VFG_UNDO_MAX + 1];
	if (!apparmor_undo_format_text(held, &original, undo, sizeof(undo))) {
		char hash[VFG_HASH_STRLEN];
		/* Revoke refuses a record naming more (apparmor_undo_parse): better no change than one never undone. */
		if (original.size > APPARMOR_SAVED_MAX)
			return vfg_error_set(err, EFBIG, rules->path,
					     "apparmor: the rules file holds %zu bytes before vfguard's section, more "
					     "than the %u a journal record may name",
					     original.size, APPARMOR_SAVED_MAX);
		if (vfg_txn_save(txn, original.content, original.size, hash, err) < 0)
			return -1;
		apparmor_undo_format_saved(held, hash, original.size, undo, sizeof(undo));
	}
	return vfg_txn_intent(txn, node, undo, err);
}

static int apparmor_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			  const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	/* Without the intent pass (a core that calls grant alone), journal first, as the pass would have. */
	if (!vfg_txn_undo(txn, node) && apparmor_intent(env, domain, probe, node, step, txn, err) < 0)
		return -1;
	_cleanup_target_ apparmor_target target = {0};
	if (apparmor_target_read(env, domain, node, &target, err) < 0)
		return -1;
	const apparmor_rules *rules = &target.rules;
	if (apparmor_section_of_other(rules, domain))
		return vfg_error_refuse(err, EBUSY, rules->path, "apparmor: holds the rules of domain %s now",
					rules->domain);

	char dir[VFG_PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", rules->path);
	*strrchr(dir, '/') = '\0';
	if (apparmor_mkdir_below(env->root, dir, 0755, err) < 0)
		return -1;
	if (!apparmor_rules_holds(rules, target.rule)) {
		_cleanup_free_ char *content = NULL;
		size_t size;
		char boot_id[VFG_BOOT_ID_STRLEN];
		if (apparmor_boot_id(env, boot_id, err) < 0 ||
		    apparmor_rules_render(rules, domain->name, boot_id, target.rule, NULL, &content, &size, err) < 0 ||
		    vfg_file_replace_owned(rules->path, content, size, rules->mode, rules->uid, rules->gid, err) < 0)
			return -1;
	}
	if (apparmor_kernel_sync(env, target.profile, err) < 0)
		return -1;
	return vfg_txn_done(txn, node, err);
}

/* The file as it was before vfguard, from the journal: removed when there was none. */
static int apparmor_original_restore(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_txn *txn,
				     const apparmor_rules *rules, const apparmor_undo *undo, vfg_error *err)
{
	_cleanup_free_ char *content = NULL;
	size_t size = 0;
	switch (undo->kind) {
	case APPARMOR_ORIGINAL_ABSENT:
		return vfg_file_remove(rules->path, err);
	case APPARMOR_ORIGINAL_TEXT:
		return vfg_file_replace_owned(rules->path, undo->text, undo->size, rules->mode, rules->uid, rules->gid,
					      err);
	case APPARMOR_ORIGINAL_SAVED:
		/* vfg_txn_saved checks the content against its hash; the size is the record's own check. */
		if (vfg_txn_saved(txn, undo->hash, &content, &size, err) < 0)
			return -1;
		if (size != undo->size)
			return vfg_error_refuse(
				err, EBADMSG, rules->path,
				"apparmor: the saved original %s holds %zu bytes, the journal says %zu; "
				"refusing to restore it",
				undo->hash, size, undo->size);
		return vfg_file_replace_owned(rules->path, content, size, rules->mode, rules->uid, rules->gid, err);
	case APPARMOR_ORIGINAL_SAVED_V1:
		if (apparmor_legacy_saved_read(env, domain->name, undo, &content, err) < 0)
			return -1;
		return vfg_file_replace_owned(rules->path, content, undo->size, rules->mode, rules->uid, rules->gid,
					      err);
	}
	return vfg_error_set(err, EINVAL, rules->path, "apparmor: unknown kind of original");
}

/*
 * The record's saved original, once the file no longer needs it (vfguard's
 * section is gone): out of the store, or a format 1 copy removed. Each
 * record lets go of its own; the store drops what is left when the domain
 * holds nothing any more.
 */
static int apparmor_original_release(const vfg_labeler_env *env, const vfg_domain *domain, vfg_txn *txn,
				     const apparmor_undo *undo, vfg_error *err)
{
	switch (undo->kind) {
	case APPARMOR_ORIGINAL_ABSENT:
	case APPARMOR_ORIGINAL_TEXT:
		return 0;
	case APPARMOR_ORIGINAL_SAVED:
		return vfg_txn_unsave(txn, undo->hash, err);
	case APPARMOR_ORIGINAL_SAVED_V1:
		return apparmor_legacy_saved_remove(env, domain->name, undo, err);
	}
	return 0;
}

static int apparmor_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			   const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	_cleanup_undo_ apparmor_undo undo = {0};
	if (apparmor_undo_parse(vfg_txn_undo(txn, node), node, &undo, err) < 0)
		return -1;
	_cleanup_target_ apparmor_target target = {0};
	if (apparmor_target_read(env, domain, node, &target, err) < 0)
		return -1;
	const apparmor_rules *rules = &target.rules;

	if (!rules->has_section || apparmor_section_of_other(rules, domain)) {
		/* The grant never changed the file, or the domain's last revoke put the original back. */
		if (apparmor_section_of_other(rules, domain))
			vfg_txn_note(txn, "apparmor: %s now holds domain %s's rules; left alone", rules->path,
				     rules->domain);
		if (apparmor_original_release(env, domain, txn, &undo, err) < 0)
			return -1;
		/*
		 * No file: a grant killed before its rename left only its temporary
		 * (a security trial's kill at the rename), which the removal of the
		 * file that is not there sweeps, as any removal does (util.h).
		 */
		if (!rules->exists && vfg_file_remove(rules->path, err) < 0)
			return -1;
		/* The same beside a file that was there before the grant, which stays as it is (a crash trial). */
		if (rules->exists)
			vfg_file_sweep_temporaries(rules->path);
		return apparmor_kernel_sync(env, target.profile, err);
	}
	if (undo.held) /* the rule was there before this grant: it stays */
		return apparmor_kernel_sync(env, target.profile, err);

	if (apparmor_rules_left(rules, target.rule) > 0) {
		if (apparmor_rules_holds(rules, target.rule)) {
			_cleanup_free_ char *content = NULL;
			size_t size;
			char boot_id[VFG_BOOT_ID_STRLEN];
			if (apparmor_boot_id(env, boot_id, err) < 0 ||
			    apparmor_rules_render(rules, domain->name, boot_id, NULL, target.rule, &content, &size,
						  err) < 0 ||
			    vfg_file_replace_owned(rules->path, content, size, rules->mode, rules->uid, rules->gid,
						   err) < 0)
				return -1;
		}
	} else if (apparmor_original_restore(env, domain, txn, rules, &undo, err) < 0 ||
		   apparmor_original_release(env, domain, txn, &undo, err) < 0) {
		return -1;
	}
	return apparmor_kernel_sync(env, target.profile, err);
}

/* ---- boots ------------------------------------------------------------ */

/*
 * A record of a boot that is over: the rules file is under /etc and
 * outlives the reboot, so it is put back exactly as revoke puts it back,
 * from the journal's original (labeler.h: boot_release).
 */
static int apparmor_boot_release(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				 const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	return apparmor_revoke(env, domain, probe, node, txn, err);
}

/*
 * A section written in another boot with no journal left to undo it (the
 * journal was in /run): the file itself holds the original after the
 * section, byte for byte, and says whether there was none. 1 when it was
 * put back, 0 when the file is not one to release.
 */
static int apparmor_boot_sweep_file(const vfg_labeler_env *env, const char *path, const char *profile,
				    const char *boot_id, vfg_error *err)
{
	__attribute__((cleanup(apparmor_rules_free))) apparmor_rules rules = {0};
	vfg_error damaged = {0};
	if (apparmor_rules_read(path, &rules, &damaged) < 0) {
		/* A damaged section (or a non-regular file) is not released blindly: audit of its domain names it. */
		if (damaged.errnum == EINVAL || damaged.errnum == 0)
			return 0;
		*err = damaged;
		return -1;
	}
	if (!rules.has_section || !rules.boot_id[0] || strcmp(rules.boot_id, boot_id) == 0)
		return 0;
	apparmor_original original;
	apparmor_rules_original(&rules, &original);
	int r = original.absent ? vfg_file_remove(path, err)
				: vfg_file_replace_owned(path, original.content, original.size, rules.mode, rules.uid,
							 rules.gid, err);
	if (r < 0 || apparmor_kernel_sync(env, profile, err) < 0)
		return -1;
	return 1;
}

static int apparmor_boot_sweep(const vfg_labeler_env *env, const char *boot_id, vfg_error *err)
{
	char dir_path[VFG_PATH_MAX];
	const char *dir_name = vfg_config_get(env->config, "apparmor_rules_dir");
	if (!dir_name || dir_name[0] != '/')
		return vfg_error_set(err, EINVAL, "apparmor_rules_dir", "apparmor: must be an absolute directory");
	if (vfg_env_host_path(env, dir_name, dir_path, sizeof(dir_path), err) < 0)
		return -1;
	_cleanup_closedir_ DIR *dir = opendir(dir_path);
	if (!dir) {
		if (errno == ENOENT)
			return 0;
		return vfg_error_set(err, errno, dir_path, "apparmor: cannot list the rules directory");
	}
	int released = 0;
	struct dirent *entry;
	while ((entry = readdir(dir))) {
		/* Each file is a profile's rules (apparmor_profile_name): no dot file, no temporary of a replace. */
		if (entry->d_name[0] == '.' || entry->d_type == DT_DIR)
			continue;
		char path[VFG_PATH_MAX];
		int n = snprintf(path, sizeof(path), "%s/%s", dir_path, entry->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		int r = apparmor_boot_sweep_file(env, path, entry->d_name, boot_id, err);
		if (r < 0)
			return -1;
		released += r;
	}
	return released;
}

/* ---- audit ------------------------------------------------------------ */

/*
 * Does the loaded profile let a process open @path read-write? The kernel's
 * query interface (apparmorfs ".access": "label\0PROFILE\0" then the class
 * byte AA_CLASS_FILE and the path, answered by profile_query_cb() in
 * security/apparmor/apparmorfs.c). The query is built here:
 * aa_query_file_path_len() of libapparmor 3.0.8 sizes it one byte short (it
 * leaves the class byte out of the length), so the kernel sees the path
 * without its last character; seen in the VM suite, where it answered
 * "denied" for a path the profile allows.
 */
static int apparmor_kernel_allows(const char *profile, const char *path, bool *allowed, vfg_error *err)
{
	size_t profile_length = strlen(profile), path_length = strlen(path);
	size_t size = AA_QUERY_CMD_LABEL_SIZE + profile_length + 2 + path_length;
	_cleanup_free_ char *query = malloc(size + 1);
	if (!query)
		return vfg_error_set(err, ENOMEM, profile, "apparmor: cannot build the query");
	/* aa_query_label() writes the command into the first AA_QUERY_CMD_LABEL_SIZE bytes. */
	memcpy(query + AA_QUERY_CMD_LABEL_SIZE, profile, profile_length);
	query[AA_QUERY_CMD_LABEL_SIZE + profile_length] = '\0';
	query[AA_QUERY_CMD_LABEL_SIZE + profile_length + 1] = AA_CLASS_FILE;
	memcpy(query + AA_QUERY_CMD_LABEL_SIZE + profile_length + 2, path, path_length);
	int allow = 0, audit = 0;
	if (aa_query_label(AA_MAY_READ | AA_MAY_WRITE, query, size, &allow, &audit) < 0)
		return vfg_error_set(err, errno, profile, "apparmor: cannot ask the kernel what the profile allows");
	*allowed = allow != 0;
	return 0;
}

static int apparmor_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			  const vfg_node *node, vfg_finding *finding, vfg_error *err)
{
	_cleanup_target_ apparmor_target target = {0};
	if (apparmor_target_read(env, domain, node, &target, err) < 0)
		return -1;
	const apparmor_rules *rules = &target.rules;
	const char *record = vfg_finding_record(finding, node);
	char expected[256], actual[256];

	if (apparmor_section_of_other(rules, domain)) {
		snprintf(expected, sizeof(expected), "the rules of domain %s", domain->name);
		snprintf(actual, sizeof(actual), "the rules of domain %s", rules->domain);
		vfg_finding_report(finding, node, VFG_FINDING_CONFLICT, expected, actual,
				   "give each domain its own profile (--apparmor-profile); %s belongs to %s",
				   rules->path, rules->domain);
		return 0;
	}
	bool holds = apparmor_rules_holds(rules, target.rule);
	if (record) {
		_cleanup_undo_ apparmor_undo undo = {0};
		if (apparmor_undo_parse(record, node, &undo, err) < 0)
			return -1;
		if (!holds) {
			snprintf(expected, sizeof(expected), "%s", target.rule);
			snprintf(actual, sizeof(actual), "no such rule in the rules file");
			vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
					   "vfguard revoke, then vfguard apply, rewrites %s", rules->path);
			return 0;
		}
		bool loaded = false, allowed = false;
		if (!(probe->flags & APPARMOR_ENABLED))
			return 0; /* nothing loaded to compare */
		if (apparmor_profile_loaded(target.profile, &loaded, err) < 0)
			return -1;
		if (!loaded)
			return 0; /* the file is right; the profile reads it when loaded */
		if (apparmor_kernel_allows(target.profile, node->path, &allowed, err) < 0)
			return -1;
		if (!allowed) {
			char profile_file[VFG_PATH_MAX];
			if (apparmor_file_path(env, "apparmor_profile_dir", target.profile, profile_file,
					       sizeof(profile_file), err) < 0)
				return -1;
			snprintf(expected, sizeof(expected), "loaded profile %s allows rw on the path", target.profile);
			snprintf(actual, sizeof(actual),
				 "the loaded profile denies it (not replaced since the rule "
				 "was added, or it does not include the rules file)");
			vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
					   "include %s in the profile, then apparmor_parser --replace %s", rules->path,
					   profile_file);
		}
		return 0;
	}
	if (holds) {
		snprintf(expected, sizeof(expected), "no rule for the node");
		snprintf(actual, sizeof(actual), "%s, which the journal does not hold", target.rule);
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
				   "remove the line from %s (a run whose journal is gone left it)", rules->path);
		return 0;
	}
	if (node->access == VFG_ACCESS_PATH || (probe->flags & APPARMOR_OPENER_CONFINED)) {
		snprintf(expected, sizeof(expected), "%s", target.rule);
		snprintf(actual, sizeof(actual), "no grant held");
		vfg_finding_report(finding, node, VFG_FINDING_MISSING, expected, actual,
				   "vfguard apply --domain %s with the options given to this audit",
				   VFG_NAME_SHELL(domain->name));
	}
	return 0;
}

/* The directories are under the root prefix and the parser is run as it is: each an absolute path. */
static int apparmor_absolute_check(const char *value, vfg_error *err)
{
	if (value[0] != '/')
		return vfg_error_set(err, 0, "", "'%s': expected an absolute path", value);
	return 0;
}

static const vfg_config_key_def apparmor_keys[] = {
	{"apparmor_rules_dir", "/etc/apparmor.d/vfguard", apparmor_absolute_check,
	 "per-domain AppArmor rules files, included by the domain's profile"},
	{"apparmor_profile_dir", "/etc/apparmor.d/libvirt", apparmor_absolute_check,
	 "the domains' profiles (libvirt's virt-aa-helper writes them here), replaced after a change when loaded"},
	{"apparmor_parser", "/sbin/apparmor_parser", apparmor_absolute_check,
	 "the program that replaces a loaded profile (run as it is, never under the root prefix)"},
	{NULL, NULL, NULL, NULL},
};

/*
 * A profile name fits the labeler's buffers (VFG_LABEL_MAX) and is one the
 * plan would take: refused when the domain is made, not at its apply (a
 * manager's trial).
 */
static int apparmor_profile_check(const char *value, vfg_error *err)
{
	return vfg_check_length(value, VFG_LABEL_MAX, err) < 0 ? -1 : apparmor_profile_name_check(value, err);
}

static const vfg_attr_def apparmor_attributes[] = {
	{"profile", apparmor_profile_check,
	 "the domain's AppArmor profile (default: libvirt-UUID, or vfguard-NAME without a UUID)", 7, "apparmor_profile",
	 false},
	{NULL, NULL, NULL, 0, NULL, false},
};

VFG_LABELER_EXPORT const vfg_labeler vfg_labeler_v2 = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.size = VFG_LABELER_SIZE,
	.name = "apparmor",
	.summary = "AppArmor rule in the domain's per-VM rules file",
	.config_keys = apparmor_keys,
	.attributes = apparmor_attributes,
	.probe = apparmor_probe,
	.plan = apparmor_plan,
	.grant = apparmor_grant,
	.revoke = apparmor_revoke,
	.audit = apparmor_audit,
	.intent = apparmor_intent,
	.boot_release = apparmor_boot_release,
	.boot_sweep = apparmor_boot_sweep,
};
