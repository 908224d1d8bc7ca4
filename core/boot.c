/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Boots. What vfguard grants lives as long as what it was granted to: a
 * VM's process, which no reboot outlives. Most layers die with the boot
 * (cgroups, devtmpfs nodes and their xattrs, mount namespaces, rlimits,
 * sysfs driver bindings), but some of what vfguard writes does not: the
 * AppArmor rules files under /etc, and the journal itself when state_dir
 * is on a disk (its side state holds SELinux MCS allocations, its claims
 * the managed functions' driver records). A VM of the same uuid started
 * after the reboot would find them granted.
 *
 * So the state directory says which boot made it: STATE/boot holds the
 * running kernel's boot id (util.h: VFG_BOOT_ID_PATH, read under the root
 * prefix), written by the first command of a boot that takes the host lock
 * exclusively. When that command finds another boot id there, every domain
 * the journal holds is of a boot that is over: each is released whole
 * (undo.c: boot_release_domain, which hands its records to the labelers'
 * boot_release), then each labeler's boot_sweep releases what it keeps
 * outside the journal with another boot's id on it, and only then is the
 * new boot id written: a crash before that leaves the same to do again.
 * docs/boot.md says what each layer does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "journal.h"

/* The running kernel's boot id, "" when the root prefix gives none (then boots are not told apart). */
static int boot_id_now(const vfg_context *ctx, char id[VFG_BOOT_ID_STRLEN], vfg_error *err)
{
	char path[VFG_PATH_MAX];
	if (vfg_host_path(ctx, VFG_BOOT_ID_PATH, path, sizeof(path), err) < 0)
		return -1;
	return vfg_boot_id_read(path, id, err) < 0 ? -1 : 0;
}

/* A boot id no kernel gives (its random UUIDs are version 4): "an earlier boot", for STATE/boot written by hand. */
#define BOOT_ID_EARLIER "00000000-0000-0000-0000-000000000000"

/* The boot id STATE/boot holds, "" when there is no such file. */
static int boot_id_recorded(const vfg_context *ctx, char id[VFG_BOOT_ID_STRLEN], vfg_error *err)
{
	char path[VFG_PATH_MAX];
	_cleanup_free_ char *content = NULL;
	size_t size = 0;
	id[0] = '\0';
	if (vfg_state_path(ctx, "boot", path, sizeof(path), err) < 0)
		return -1;
	int r = vfg_state_read_all(path, &content, &size, err);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return -1;
	if (size != VFG_BOOT_ID_STRLEN || !vfg_boot_id_valid(content) || content[size - 1] != '\n') {
		/*
		 * Only the administrator knows which boot it was. Either answer
		 * keeps the journals: this boot's id, and every command acts on
		 * them as before; another's, and restore --boot releases them
		 * (moving the directory aside, the old advice, lost them).
		 */
		char now[VFG_PATH_MAX];
		if (vfg_host_path(ctx, VFG_BOOT_ID_PATH, now, sizeof(now), err) < 0)
			return -1;
		return vfg_error_refuse(err, EBADMSG, path,
					"holds no boot id (one line of 36 characters), so vfguard cannot tell which "
					"boot its state is of and acts on none of it. If the VMs it was applied for "
					"run in this boot, put this boot's id back: cp %s %s. If they ran in an "
					"earlier boot, write another id (echo %s > %s) and run vfguard restore "
					"--boot, which releases what that boot left. Either way the journals are kept",
					now, path, BOOT_ID_EARLIER, path);
	}
	memcpy(id, content, VFG_BOOT_ID_STRLEN - 1);
	id[VFG_BOOT_ID_STRLEN - 1] = '\0';
	return 0;
}

static int boot_id_write(const vfg_context *ctx, const char *id, vfg_error *err)
{
	char path[VFG_PATH_MAX], line[VFG_BOOT_ID_STRLEN + 1];
	if (vfg_state_path(ctx, "boot", path, sizeof(path), err) < 0)
		return -1;
	int n = snprintf(line, sizeof(line), "%s\n", id);
	return vfg_file_replace(path, line, (size_t)n, err);
}

int host_boot_earlier(const vfg_context *ctx, char made[VFG_BOOT_ID_STRLEN], char now[VFG_BOOT_ID_STRLEN],
		      vfg_error *err)
{
	if (boot_id_now(ctx, now, err) < 0)
		return -1;
	if (!now[0])
		return 0;
	if (boot_id_recorded(ctx, made, err) < 0)
		return -1;
	return made[0] && strcmp(made, now) != 0;
}

int host_boot_current(const vfg_context *ctx, const char *command, vfg_error *err)
{
	char now[VFG_BOOT_ID_STRLEN], made[VFG_BOOT_ID_STRLEN], path[VFG_PATH_MAX];
	int earlier = host_boot_earlier(ctx, made, now, err);
	if (earlier <= 0)
		return earlier;
	if (vfg_state_path(ctx, "boot", path, sizeof(path), err) < 0)
		return -1;
	return vfg_error_refuse(err, ESTALE, path,
				"the state is of an earlier boot (%s; this one is %s), whose grants went with it: "
				"%s does not act on it; run vfguard restore --boot first (vfguard-restore.service "
				"does at boot)",
				made, now, command);
}

int host_boot_sweep(vfg_context *ctx, host_journal *hj, const char *boot_id, vfg_change_summary *summary,
		    vfg_error *err)
{
	for (size_t i = 0; i < ctx->n_labelers; i++) {
		const vfg_labeler *labeler = ctx->labelers[i];
		int (*sweep)(const vfg_labeler_env *, const char *, vfg_error *) =
			VFG_LABELER_OPTIONAL(labeler, boot_sweep);
		if (!sweep)
			continue;
		txn_view view;
		vfg_labeler_env env = txn_view_env(ctx, &view, hj, labeler->name);
		int n = sweep(&env, boot_id, err);
		if (n < 0) {
			host_records_add(ctx, &(host_record){.kind = RECORD_BOOT_RELEASE,
							     .labeler = labeler->name,
							     .result = "failed",
							     .text = err->message,
							     .errnum = err->errnum});
			vfg_error_prefix(err, "%s: releasing what earlier boots left", labeler->name);
			return -1;
		}
		if (n == 0)
			continue;
		char text[128];
		snprintf(text, sizeof(text), "%d thing%s made in an earlier boot, whose journal is gone", n,
			 n == 1 ? "" : "s");
		host_records_add(ctx,
				 &(host_record){.kind = RECORD_BOOT_RELEASE, .labeler = labeler->name, .text = text});
		if (summary) {
			summary->changed += (size_t)n;
			vfg_strlcatf(summary->notes, sizeof(summary->notes), strlen(summary->notes),
				     "%s: released %s\n", labeler->name, text);
		}
	}
	return 0;
}

int host_boot_check(vfg_context *ctx, host_journal *hj, const char *subject, bool sweep, vfg_change_summary *summary,
		    vfg_error *err)
{
	char now[VFG_BOOT_ID_STRLEN], made[VFG_BOOT_ID_STRLEN];
	if (boot_id_now(ctx, now, err) < 0)
		return -1;
	if (!now[0])
		return 0;
	if (boot_id_recorded(ctx, made, err) < 0)
		return -1;
	bool same = strcmp(made, now) == 0;
	if (same && !sweep)
		return 0;
	/*
	 * No STATE/boot with journals in it: a vfguard from before boot ids
	 * made them, in this boot as far as anyone can tell (an upgrade in
	 * place, its VMs running): they are taken as this boot's.
	 */
	if (made[0] && !same) {
		if (subject) {
			/* Every journal whole: the lock of one domain's command may have read a summary of the others.
			 */
			host_journal_close(hj);
			if (host_journal_open_for(ctx, true, NULL, hj, err) < 0)
				return -1;
		}
		size_t released = 0;
		for (size_t i = 0; i < hj->n_domains; i++) {
			domain_journal *dj = hj->domains[i];
			bool held = dj->open_txn || dj->n_records > 0 || dj->n_claims > 0;
			if (boot_release_domain(ctx, hj, dj, summary, err) < 0) {
				vfg_error_prefix(err, "releasing domain %s of an earlier boot (%s)", dj->domain->name,
						 made);
				return -1;
			}
			released += held;
		}
		if (released && summary)
			vfg_strlcatf(summary->notes, sizeof(summary->notes), strlen(summary->notes),
				     "released %zu domain%s of an earlier boot (%s)\n", released,
				     released == 1 ? "" : "s", made);
	}
	if (host_boot_sweep(ctx, hj, now, summary, err) < 0)
		return -1;
	return same ? 0 : boot_id_write(ctx, now, err);
}
