/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domains the journal holds, as a caller can plan and audit them again. */
#include <errno.h>
#include <string.h>

#include "journal.h"

static int live_domain_fill(const domain_journal *dj, vfg_live_domain *live, vfg_error *err)
{
	journal_domain_copy(dj, &live->domain);
	live->hostdevs = calloc(dj->n_claims ? dj->n_claims : 1, sizeof(*live->hostdevs));
	if (!live->hostdevs)
		return vfg_error_set(err, ENOMEM, dj->domain->name, "cannot allocate the domain's hostdevs");
	for (size_t i = 0; i < dj->n_claims; i++) {
		const journal_claim *claim = &dj->claims[i];
		live->hostdevs[i] = (vfg_hostdev_spec){
			.addr = claim->addr,
			.backend = claim->backend,
			.access = claim->access,
			.managed = claim->managed,
		};
		snprintf(live->hostdevs[i].driver, sizeof(live->hostdevs[i].driver), "%s", claim->driver);
		memcpy(live->hostdevs[i].mdev, claim->mdev, sizeof(live->hostdevs[i].mdev));
	}
	live->n_hostdevs = dj->n_claims;
	live->domain.n_hostdevs = dj->n_claims;
	live->domain.hostdevs = live->hostdevs;
	return 0;
}

static int live_domain_compare(const void *a, const void *b)
{
	return strcmp(((const vfg_live_domain *)a)->domain.name, ((const vfg_live_domain *)b)->domain.name);
}

VFG_EXPORT int vfg_live_domains(vfg_context *ctx, const char *name, vfg_live_domain **result, size_t *n_result,
				vfg_error *err)
{
	*result = NULL;
	*n_result = 0;
	/* A name no domain can have ("../x") is an error, not a domain that holds nothing. */
	if (name && vfg_domain_name_check(name, err) < 0)
		return -1;
	host_journal hj;
	if (host_journal_open(ctx, false, &hj, err) < 0)
		return -1;
	vfg_live_domain *domains = calloc(hj.n_domains ? hj.n_domains : 1, sizeof(*domains));
	if (!domains) {
		host_journal_close(&hj);
		return vfg_error_set(err, ENOMEM, "", "cannot allocate the live domains");
	}
	size_t n = 0;
	for (size_t i = 0; i < hj.n_domains; i++) {
		const domain_journal *dj = hj.domains[i];
		if (name && strcmp(dj->domain->name, name) != 0)
			continue;
		if (live_domain_fill(dj, &domains[n], err) < 0) {
			host_journal_close(&hj);
			vfg_live_domains_free(domains, n);
			return -1;
		}
		n++;
	}
	host_journal_close(&hj);
	qsort(domains, n, sizeof(*domains), live_domain_compare);
	*result = domains;
	*n_result = n;
	return 0;
}

VFG_EXPORT void vfg_live_domains_free(vfg_live_domain *domains, size_t n_domains)
{
	for (size_t i = 0; domains && i < n_domains; i++)
		free(domains[i].hostdevs);
	free(domains);
}
