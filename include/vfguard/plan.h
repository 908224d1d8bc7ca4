/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_PLAN_H
#define VFGUARD_PLAN_H

/*
 * The plan: everything vfguard would do for a domain, computed without
 * changing the host, and written for people and for programs.
 */

#include <stddef.h>
#include <stdio.h>

#include <vfguard/context.h>
#include <vfguard/error.h>
#include <vfguard/labeler.h>
#include <vfguard/model.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A labeler loaded in the context, with what its probe found for the plan's domain. */
typedef struct vfg_plan_labeler {
	const vfg_labeler *labeler;
	vfg_probe probe;
} vfg_plan_labeler;

/* A domain-scope labeler (labeler.h: VFG_SCOPE_DOMAIN) in the plan: what its probe found, and its one step. */
typedef struct vfg_plan_domain_labeler {
	const vfg_labeler *labeler;
	vfg_probe probe;
	vfg_node subject; /* kind VFG_NODE_DOMAIN, path the probe's subject ("" when none) */
	vfg_step step; /* its node and labeler indexes mean nothing */
} vfg_plan_domain_labeler;

/*
 * Everything vfguard would do for a domain. Steps come in apply order:
 * labeler by labeler in the configured order (the namespace component last,
 * so it copies what the others made of the host node), node by node; then
 * the domain-scope labelers' one step each (the locked-memory limit).
 * The labelers see the domain with each hostdev's backend as resolved.
 */
typedef struct vfg_plan {
	vfg_domain domain; /* hostdevs points into the plan's own copy */
	size_t n_hostdevs;
	vfg_hostdev *hostdevs;
	size_t n_nodes;
	vfg_node *nodes;
	size_t n_labelers; /* the node-scope labelers */
	vfg_plan_labeler *labelers;
	size_t n_steps;
	vfg_step *steps;
	size_t n_domain_labelers;
	vfg_plan_domain_labeler *domain_labelers;
} vfg_plan;

/* Compute the plan. Changes nothing on the host. */
int vfg_plan_build(vfg_context *ctx, const vfg_domain *domain, vfg_plan **plan, vfg_error *err);
void vfg_plan_free(vfg_plan *plan);

/*
 * Output for people (a table and the reasons) and for programs (docs/plan-json.md).
 * Text is made for a terminal of @columns columns: lines are wrapped and the
 * table shows each layer's change by its first word ("chown", "rule"), in
 * full under the reasons. VFG_TEXT_WIDE: every value in full, nothing wrapped.
 * vfg_plan_write_text and vfg_plan_write_steps_text use VFG_TEXT_COLUMNS.
 */
#define VFG_TEXT_COLUMNS 120u
#define VFG_TEXT_WIDE 0u
int vfg_plan_write_text(const vfg_plan *plan, FILE *out);
int vfg_plan_write_text_width(const vfg_plan *plan, unsigned columns, FILE *out);
int vfg_plan_write_json(const vfg_plan *plan, FILE *out);
/*
 * The steps apply would take, in order: only the changes; then each
 * fd-access hostdev, the nodes the manager opens for it and what every layer
 * grants them or not, and why.
 */
int vfg_plan_write_steps_text(const vfg_plan *plan, FILE *out);
int vfg_plan_write_steps_text_width(const vfg_plan *plan, unsigned columns, FILE *out);
int vfg_plan_write_steps_json(const vfg_plan *plan, FILE *out);

#ifdef __cplusplus
}
#endif
#endif
