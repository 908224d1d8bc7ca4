/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The labelers' scratch (labeler.h: vfg_env_scratch): one block per labeler
 * for as long as the host lock is held, kept beside the journal read under
 * it, so two contexts, or two holds of one context, never share one.
 */
#include <string.h>

#include "journal.h"

VFG_EXPORT void *vfg_env_scratch(const vfg_labeler_env *env, size_t size, void (*release)(void *scratch))
{
	const txn_view *view = env->core;
	if (!view || !view->hj || size == 0)
		return NULL;
	/*
	 * Plan and audit read the journal without changing it, yet keep scratch
	 * for their hold too: the blocks are the hold's, not the journal's, and
	 * every host_journal is the caller's own variable, never a constant.
	 */
	host_journal *hj = (host_journal *)view->hj;
	for (size_t i = 0; i < hj->n_scratch; i++)
		if (strcmp(hj->scratch[i].labeler, view->labeler) == 0)
			return hj->scratch[i].block;
	labeler_scratch *grown = realloc(hj->scratch, (hj->n_scratch + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	hj->scratch = grown;
	void *block = calloc(1, size);
	if (!block)
		return NULL;
	labeler_scratch *entry = &hj->scratch[hj->n_scratch++];
	*entry = (labeler_scratch){.block = block, .release = release};
	snprintf(entry->labeler, sizeof(entry->labeler), "%s", view->labeler);
	return block;
}

void host_journal_scratch_release(host_journal *hj)
{
	for (size_t i = 0; i < hj->n_scratch; i++) {
		if (hj->scratch[i].release)
			hj->scratch[i].release(hj->scratch[i].block);
		free(hj->scratch[i].block);
	}
	free(hj->scratch);
	hj->scratch = NULL;
	hj->n_scratch = 0;
}
