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

/*
 * Everything vfguard would do for a domain (vfg_plan_build): its hostdevs as
 * found, the device nodes they need, the labelers loaded and what their
 * probes found, and each labeler's step. Steps come in apply order: labeler
 * by labeler in the configured order (the namespace component last, so it
 * copies what the others made of the host node), node by node; the
 * domain-scope labelers' one step each (the locked-memory limit) follow.
 *
 * Opaque: read it through the accessors below. Those that take an index count
 * from 0 and return NULL past the last; what they return belongs to the plan
 * and lives until vfg_plan_free.
 *
 * A plan belongs to the context that built it: it points into that
 * context's labelers (their names, their tables), so free it before the
 * context, and apply, audit or open fds with that context only (another is
 * refused, EINVAL). The same holds for an audit report, whose findings name
 * their labelers.
 */
typedef struct vfg_plan vfg_plan;

/* Compute the plan. Changes nothing on the host. */
int vfg_plan_build(vfg_context *ctx, const vfg_domain *domain, vfg_plan **plan, vfg_error *err);
void vfg_plan_free(vfg_plan *plan);

/* The domain the plan was built for: its hostdev specs are the plan's own copy, each backend as resolved. */
const vfg_domain *vfg_plan_domain(const vfg_plan *plan);

/* The hostdevs, in the domain's order, each with its function, IOMMU group and the indexes of its nodes. */
size_t vfg_plan_n_hostdevs(const vfg_plan *plan);
const vfg_hostdev *vfg_plan_hostdev(const vfg_plan *plan, size_t index);

/* The device nodes the hostdevs need, each once: what vfg_step.node, vfg_fd.node and vfg_hostdev.nodes index. */
size_t vfg_plan_n_nodes(const vfg_plan *plan);
const vfg_node *vfg_plan_node(const vfg_plan *plan, size_t index);

/*
 * The node-scope labelers, in the configured order (the namespace component
 * last): what vfg_step.labeler indexes, and what each one's probe found for
 * the domain (whether its layer is active, and why).
 */
size_t vfg_plan_n_labelers(const vfg_plan *plan);
const vfg_labeler *vfg_plan_labeler(const vfg_plan *plan, size_t index);
const vfg_probe *vfg_plan_labeler_probe(const vfg_plan *plan, size_t index);

/* The node-scope steps, in apply order: one per labeler and node. */
size_t vfg_plan_n_steps(const vfg_plan *plan);
const vfg_step *vfg_plan_step(const vfg_plan *plan, size_t index);

/*
 * The domain-scope labelers (labeler.h: VFG_SCOPE_DOMAIN), whose steps follow
 * the node steps: each one's probe, its subject (a node of kind
 * VFG_NODE_DOMAIN, path the probe's subject, "" when none), and its one step
 * (whose node and labeler indexes mean nothing).
 */
size_t vfg_plan_n_domain_labelers(const vfg_plan *plan);
const vfg_labeler *vfg_plan_domain_labeler(const vfg_plan *plan, size_t index);
const vfg_probe *vfg_plan_domain_labeler_probe(const vfg_plan *plan, size_t index);
const vfg_node *vfg_plan_domain_labeler_subject(const vfg_plan *plan, size_t index);
const vfg_step *vfg_plan_domain_labeler_step(const vfg_plan *plan, size_t index);

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
