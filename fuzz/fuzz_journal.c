/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A domain's journal file as vfguard reads it after a crash
 * (core/journal_read.c, its lines parsed in core/journal_parse.c): the input
 * is the whole file, put in a state directory below the temporary
 * directory, read through the host journal twice: whole under the exclusive
 * lock (which may cut a torn tail), and as another domain's command reads
 * it (a summary), then completed.
 */
#include "fuzz_common.h"
#include "journal.h"

static void read_journals(const char *root, bool exclusive, const char *subject)
{
	vfg_error err = {0};
	vfg_context *ctx = fuzz_context_or_abort(root);
	host_journal hj;
	if (host_journal_open_for(ctx, exclusive, subject, &hj, &err) == 0) {
		for (size_t i = 0; i < hj.n_domains; i++)
			if (host_journal_complete(&hj, hj.domains[i], &err) < 0)
				break;
		host_journal_close(&hj);
	}
	vfg_context_free(ctx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char root[VFG_PATH_MAX], journal[VFG_PATH_MAX];
	if (!root[0]) {
		char path[VFG_PATH_MAX], name[64];
		fuzz_temp_path("root", root, sizeof(root));
		fuzz_make_dir(root);
		/* state_dir's default, /run/vfguard (core/config.c), below the root. */
		fuzz_temp_path("root/run", path, sizeof(path));
		fuzz_make_dir(path);
		fuzz_temp_path("root/run/vfguard", path, sizeof(path));
		fuzz_make_dir(path);
		fuzz_temp_path("root/run/vfguard/domains", path, sizeof(path));
		fuzz_make_dir(path);
		fuzz_temp_path("root/run/vfguard/lock", path, sizeof(path));
		fuzz_write_file(path, NULL, 0);
		journal_file_name("vm1", name, sizeof(name));
		snprintf(path, sizeof(path), "root/run/vfguard/domains/%s", name);
		fuzz_temp_path(path, journal, sizeof(journal));
	}
	fuzz_write_file(journal, data, size);
	read_journals(root, true, "vm1");
	fuzz_write_file(journal, data, size);
	read_journals(root, false, "vm2");
	return 0;
}
