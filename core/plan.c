/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The plan: the nodes a domain's hostdevs need, and what each labeler would
 * do about each. Building it reads the host and changes nothing.
 */
#include <errno.h>
#include <string.h>

#include "journal.h"

/* The nodes a backend needs; where their MAJ:MIN comes from in sysfs. */
static int node_sysfs_rdev(const vfg_context *ctx, const vfg_host_nodes *host, const vfg_hostdev *hostdev,
			   vfg_node_kind kind, dev_t *rdev, vfg_error *err)
{
	char logical[96], path[VFG_PATH_MAX];
	switch (kind) {
	case VFG_NODE_CONTAINER:
		snprintf(logical, sizeof(logical), "/sys/class/misc/vfio/dev");
		break;
	case VFG_NODE_IOMMUFD:
		snprintf(logical, sizeof(logical), "/sys/class/misc/iommu/dev");
		break;
	case VFG_NODE_GROUP:
		/* Enumeration read it just now, choosing the backend (enumerate.c: legacy_available). */
		if (host->group_node_read && host->group_node_group == hostdev->group.number) {
			*rdev = host->group_node_rdev;
			return 0;
		}
		snprintf(logical, sizeof(logical), "/sys/class/vfio/%u/dev", hostdev->group.number);
		break;
	case VFG_NODE_CDEV:
		*rdev = hostdev->cdev_rdev; /* read from vfio-dev/vfioN/dev by enumeration */
		return 0;
	case VFG_NODE_DOMAIN:
		return vfg_error_set(err, EINVAL, hostdev->function.driver, "a hostdev needs no domain node");
	}
	if (vfg_host_path(ctx, logical, path, sizeof(path), err) < 0)
		return -1;
	return vfg_sysfs_read_devnum(path, rdev, err);
}

static void node_describe(const vfg_hostdev *hostdev, vfg_node_kind kind, vfg_node *node)
{
	node->kind = kind;
	switch (kind) {
	case VFG_NODE_CONTAINER:
		snprintf(node->path, sizeof(node->path), "/dev/vfio/vfio");
		node->shared = true;
		break;
	case VFG_NODE_IOMMUFD:
		snprintf(node->path, sizeof(node->path), "/dev/iommu");
		node->shared = true;
		break;
	case VFG_NODE_GROUP:
		snprintf(node->path, sizeof(node->path), "/dev/vfio/%u", hostdev->group.number);
		node->group = hostdev->group.number;
		break;
	case VFG_NODE_CDEV:
		snprintf(node->path, sizeof(node->path), "/dev/vfio/devices/%s", hostdev->cdev);
		node->group = hostdev->group.number;
		break;
	case VFG_NODE_DOMAIN:
		break;
	}
}

/*
 * While the plan is built: which node has a path, and which hostdev came
 * first with an address or an IOMMU group, so that each hostdev is checked
 * against the others and finds its nodes in constant time. Open addressing:
 * a slot holds a 64-bit key (the address or group number itself, a path's
 * vfg_hash_bytes()) and an index + 1, 0 when empty.
 */
typedef struct plan_slot {
	uint64_t key;
	size_t entry;
} plan_slot;

typedef struct plan_index {
	plan_slot *slots;
	size_t mask;
} plan_index;

typedef struct plan_builder {
	vfg_host_nodes host; /* what enumeration found of the host, shared by every hostdev */
	plan_index node_paths; /* node index by path */
	plan_index addresses; /* the first hostdev by PCI address */
	plan_index groups; /* the first hostdev by IOMMU group number */
	size_t nodes_allocated;
	int keep_below; /* vfg_node_keep_below(), read once */
	const vfg_plan *plan;
} plan_builder;

/* Room for @items entries at most half full. */
static int plan_index_init(plan_index *index, size_t items)
{
	size_t capacity = 16;
	while (capacity < 2 * items)
		capacity *= 2;
	index->slots = calloc(capacity, sizeof(*index->slots));
	index->mask = capacity - 1;
	return index->slots ? 0 : -1;
}

/*
 * The slot of @key, or the empty slot where it would go. A key that is a hash
 * names its entry only when @same says so too; without @same the key is the
 * value itself.
 */
static plan_slot *plan_index_find(const plan_index *index, uint64_t key, bool (*same)(const void *data, size_t entry),
				  const void *data)
{
	for (size_t i = vfg_hash_bytes(&key, sizeof(key)) & index->mask;; i = (i + 1) & index->mask) {
		plan_slot *slot = &index->slots[i];
		if (!slot->entry || (slot->key == key && (!same || same(data, slot->entry - 1))))
			return slot;
	}
}

static void plan_builder_free(plan_builder *builder)
{
	free(builder->node_paths.slots);
	free(builder->addresses.slots);
	free(builder->groups.slots);
	vfg_host_nodes_release(&builder->host);
}

typedef struct node_key {
	const vfg_plan *plan;
	const char *path;
} node_key;

static bool node_has_path(const void *data, size_t entry)
{
	const node_key *key = data;
	return strcmp(key->plan->nodes[entry].path, key->path) == 0;
}

/* Add the node, or find it when another hostdev of the domain needs it too; returns its index. */
static int plan_add_node(vfg_context *ctx, plan_builder *builder, vfg_plan *plan, vfg_hostdev *hostdev,
			 vfg_node_kind kind, vfg_error *err)
{
	vfg_node wanted = {0};
	node_describe(hostdev, kind, &wanted);
	node_key key = {.plan = plan, .path = wanted.path};
	uint64_t hash = vfg_hash_bytes(wanted.path, strlen(wanted.path));
	plan_slot *slot = plan_index_find(&builder->node_paths, hash, node_has_path, &key);
	size_t n = slot->entry ? slot->entry - 1 : plan->n_nodes;
	if (slot->entry) {
		/* Path access wins: the hypervisor opens it itself when any hostdev needs that. */
		if (hostdev->spec.access == VFG_ACCESS_PATH)
			plan->nodes[n].access = VFG_ACCESS_PATH;
	} else {
		wanted.access = hostdev->spec.access;
		_cleanup_close_ int kept = -1;
		if (node_sysfs_rdev(ctx, &builder->host, hostdev, kind, &wanted.rdev, err) < 0 ||
		    vfg_node_inspect_keep(ctx, &wanted, builder->keep_below, &kept, err) < 0)
			return -1;
		if (plan->n_nodes == builder->nodes_allocated) {
			size_t allocated = builder->nodes_allocated ? 2 * builder->nodes_allocated : 4;
			vfg_node *nodes = realloc(plan->nodes, allocated * sizeof(*nodes));
			size_t *path_hostdev = realloc(plan->path_hostdev, allocated * sizeof(*path_hostdev));
			int *node_fds = realloc(plan->node_fds, allocated * sizeof(*node_fds));
			if (nodes)
				plan->nodes = nodes;
			if (path_hostdev)
				plan->path_hostdev = path_hostdev;
			if (node_fds)
				plan->node_fds = node_fds;
			if (!nodes || !path_hostdev || !node_fds)
				return vfg_error_set(err, ENOMEM, wanted.path, "cannot plan node");
			builder->nodes_allocated = allocated;
		}
		plan->nodes[n] = wanted;
		plan->node_fds[n] = kept;
		kept = -1;
		plan->path_hostdev[n] = 0;
		plan->n_nodes++;
		*slot = (plan_slot){.key = hash, .entry = n + 1};
	}
	if (!plan->path_hostdev[n] && hostdev->spec.access == VFG_ACCESS_PATH)
		plan->path_hostdev[n] = (size_t)(hostdev - plan->hostdevs) + 1;
	hostdev->nodes[hostdev->n_nodes++] = n;
	return 0;
}

static int plan_add_hostdev_nodes(vfg_context *ctx, plan_builder *builder, vfg_plan *plan, vfg_hostdev *hostdev,
				  vfg_error *err)
{
	switch (hostdev->backend) {
	case VFG_BACKEND_LEGACY:
		return plan_add_node(ctx, builder, plan, hostdev, VFG_NODE_CONTAINER, err) < 0
			       ? -1
			       : plan_add_node(ctx, builder, plan, hostdev, VFG_NODE_GROUP, err);
	case VFG_BACKEND_IOMMUFD:
		return plan_add_node(ctx, builder, plan, hostdev, VFG_NODE_IOMMUFD, err) < 0
			       ? -1
			       : plan_add_node(ctx, builder, plan, hostdev, VFG_NODE_CDEV, err);
	case VFG_BACKEND_AUTO:
		break;
	}
	return vfg_error_set(err, EINVAL, "", "hostdev without a resolved backend");
}

/*
 * One domain, one claim per function, and one backend per IOMMU group: the
 * group's DMA ownership is taken either through a legacy group fd or through
 * device cdevs, and the kernel refuses to mix the two for one group.
 *
 * The first earlier hostdev of the group stands for all of them: each one
 * after it passed this check, so they share its backend. A hostdev given
 * twice shares its group too, and is never earlier than the group's first.
 */
static int check_hostdev_against_others(plan_builder *builder, const vfg_plan *plan, size_t index, vfg_error *err)
{
	const vfg_hostdev *hostdev = &plan->hostdevs[index];
	const vfg_pci_addr *addr = &hostdev->spec.addr;
	/* An mdev is alone in its group (mdev.c): the group tells it apart, above every BDF's 32 bits. */
	uint64_t address = hostdev->spec.mdev[0] ? 1ull << 32 | hostdev->group.number
						 : (uint64_t)addr->domain << 16 | (uint64_t)addr->bus << 8 |
							   (uint64_t)addr->slot << 3 | addr->function;
	plan_slot *same_address = plan_index_find(&builder->addresses, address, NULL, NULL);
	plan_slot *same_group = plan_index_find(&builder->groups, hostdev->group.number, NULL, NULL);
	char bdf[VFG_HOSTDEV_NAME_MAX], other_bdf[VFG_HOSTDEV_NAME_MAX];
	vfg_hostdev_name(&hostdev->spec, bdf);
	if (same_group->entry) {
		const vfg_hostdev *first = &plan->hostdevs[same_group->entry - 1];
		if (first->backend != hostdev->backend && same_address->entry != same_group->entry) {
			vfg_hostdev_name(&first->spec, other_bdf);
			return vfg_error_set(err, 0, bdf,
					     "shares IOMMU group %u with %s, but uses backend %s where %s uses %s: "
					     "one group takes one backend",
					     hostdev->group.number, other_bdf, vfg_backend_name(hostdev->backend),
					     other_bdf, vfg_backend_name(first->backend));
		}
	}
	if (same_address->entry)
		return vfg_error_set(err, 0, bdf, "hostdev given twice");
	*same_address = (plan_slot){.key = address, .entry = index + 1};
	if (!same_group->entry)
		*same_group = (plan_slot){.key = hostdev->group.number, .entry = index + 1};
	return 0;
}

static int plan_copy_domain(vfg_plan *plan, const vfg_domain *domain, vfg_error *err)
{
	if (vfg_domain_name_check(domain->name, err) < 0)
		return -1;
	if (domain->n_hostdevs == 0)
		return vfg_error_set(err, 0, domain->name, "domain has no hostdev to plan for (--hostdev)");

	vfg_hostdev_spec *specs = calloc(domain->n_hostdevs, sizeof(*specs));
	plan->hostdevs = calloc(domain->n_hostdevs, sizeof(*plan->hostdevs));
	if (!specs || !plan->hostdevs) {
		free(specs);
		return vfg_error_set(err, ENOMEM, domain->name, "cannot plan");
	}
	memcpy(specs, domain->hostdevs, domain->n_hostdevs * sizeof(*specs));
	plan->domain = *domain;
	plan->domain.hostdevs = specs;
	return 0;
}

/*
 * Keep what a labeler made of @filled (a step it filled from {0}, with
 * vfg_step_set) in @kept, the plan's: its texts go to the plan's store,
 * once for every step that says the same. @filled is cleared.
 */
static int plan_keep_step(vfg_plan *plan, vfg_step *filled, vfg_step *kept, const char *path, vfg_error *err)
{
	*kept = *filled;
	kept->texts = NULL;
	kept->detail = vfg_text_store_add(plan->texts, filled->detail ? filled->detail : "");
	kept->reason = vfg_text_store_add(plan->texts, filled->reason ? filled->reason : "");
	vfg_step_clear(filled);
	if (!kept->detail || !kept->reason)
		return vfg_error_set(err, ENOMEM, path, "cannot keep the plan's step");
	return 0;
}

/* A plan callback into a step of the plan's: the labeler fills one of its own, the plan keeps its texts. */
static int plan_call(const vfg_labeler *labeler, const vfg_labeler_env *env, vfg_plan *plan, const vfg_probe *probe,
		     const vfg_node *node, vfg_step *step, vfg_error *err)
{
	_cleanup_step_ vfg_step filled = {.node = step->node, .labeler = step->labeler};
	if (labeler->plan(env, &plan->domain, probe, node, &filled, err) < 0) {
		/* vfg_step_set's only failure: it sets errno, not the error. */
		if (err && !err->message[0])
			vfg_error_set(err, ENOMEM, node->path, "cannot keep the step's text");
		return -1;
	}
	return plan_keep_step(plan, &filled, step, node->path, err);
}

/* A domain-scope labeler: probed and planned once, for the subject its probe names. */
static int plan_domain_labeler(const vfg_context *ctx, const host_journal *hj, vfg_plan *plan,
			       const vfg_labeler *labeler, vfg_error *err)
{
	vfg_planned_domain_labeler *dl = &plan->domain_labelers[plan->n_domain_labelers++];
	dl->labeler = labeler;
	txn_view view;
	vfg_labeler_env env = txn_view_env(ctx, &view, hj, labeler->name);
	if (labeler->probe(&env, &plan->domain, &dl->probe, err) < 0) {
		vfg_error_prefix(err, "%s: probe", labeler->name);
		return -1;
	}
	dl->subject.kind = VFG_NODE_DOMAIN;
	/* Both are VFG_NODE_PATH_MAX: a probe that filled its subject to the end left no NUL. */
	if (strnlen(dl->probe.subject, sizeof(dl->probe.subject)) >= sizeof(dl->subject.path))
		return vfg_error_set(err, ENAMETOOLONG, labeler->name, "%s: probe: subject longer than %zu bytes",
				     labeler->name, sizeof(dl->subject.path) - 1);
	snprintf(dl->subject.path, sizeof(dl->subject.path), "%s", dl->probe.subject);
	if (plan_call(labeler, &env, plan, &dl->probe, &dl->subject, &dl->step, err) < 0) {
		vfg_error_prefix(err, "%s: plan", labeler->name);
		return -1;
	}
	return 0;
}

/* calloc() that gives memory for none too, so NULL always means out of memory. */
static void *plan_calloc(size_t count, size_t size)
{
	return calloc(count ? count : 1, size);
}

static int plan_labelers(vfg_context *ctx, const host_journal *hj, vfg_plan *plan, vfg_error *err)
{
	size_t node_scope = 0;
	for (size_t l = 0; l < ctx->n_labelers; l++)
		node_scope += ctx->labelers[l]->scope != VFG_SCOPE_DOMAIN;
	plan->labelers = plan_calloc(node_scope, sizeof(*plan->labelers));
	plan->steps = plan_calloc(node_scope * plan->n_nodes, sizeof(*plan->steps));
	plan->domain_labelers = plan_calloc(ctx->n_labelers - node_scope, sizeof(*plan->domain_labelers));
	if (!plan->labelers || !plan->steps || !plan->domain_labelers)
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");

	for (size_t l = 0; l < ctx->n_labelers; l++) {
		if (ctx->labelers[l]->scope == VFG_SCOPE_DOMAIN) {
			if (plan_domain_labeler(ctx, hj, plan, ctx->labelers[l], err) < 0)
				return -1;
			continue;
		}
		size_t index = plan->n_labelers++;
		vfg_planned_labeler *pl = &plan->labelers[index];
		pl->labeler = ctx->labelers[l];
		txn_view view;
		vfg_labeler_env env = txn_view_env(ctx, &view, hj, pl->labeler->name);
		/* Its plans open a node through the fd enumeration checked it through. */
		txn_view_keep(&view, plan);
		if (pl->labeler->probe(&env, &plan->domain, &pl->probe, err) < 0) {
			vfg_error_prefix(err, "%s: probe", pl->labeler->name);
			return -1;
		}
		for (size_t n = 0; n < plan->n_nodes; n++) {
			/* Labeler by labeler, node by node: vfg_plan_find_step counts on this order. */
			vfg_step *step = &plan->steps[plan->n_steps];
			step->node = n;
			step->labeler = index;
			if (plan_call(pl->labeler, &env, plan, &pl->probe, &plan->nodes[n], step, err) < 0) {
				vfg_error_prefix(err, "%s: plan for %s", pl->labeler->name, plan->nodes[n].path);
				return -1;
			}
			plan->n_steps++;
		}
	}
	return 0;
}

static int plan_leftover_grants(const host_journal *hj, vfg_plan *plan, vfg_error *err)
{
	const domain_journal *dj = host_journal_find(hj, plan->domain.name);
	held_path_needs needs = {0};
	bool needs_read = false; /* read at the first path grant a node now by fd holds: most applies have none */
	int r = 0;
	for (size_t i = 0; dj && r == 0 && i < plan->n_steps; i++) {
		vfg_step *step = &plan->steps[i];
		const vfg_node *node = &plan->nodes[step->node];
		const char *labeler = plan->labelers[step->labeler].labeler->name;
		if (node->access != VFG_ACCESS_FD || step->action == VFG_ACTION_GRANT ||
		    !domain_journal_find_record(dj, labeler, node->path))
			continue;
		if (!needs_read && held_path_needs_read(dj, plan, &needs, err) < 0)
			return -1;
		needs_read = true;
		/* A node a hostdev held outside this plan still opens by path keeps its grant. */
		if (held_path_needs_node(&needs, node))
			continue;
		vfg_step revoke = {.node = step->node, .labeler = step->labeler};
		if (vfg_step_set(
			    &revoke, VFG_ACTION_REVOKE, "undo the path grant",
			    "fd access needs no path grant here, and an earlier run of domain %s left one: it is taken "
			    "back",
			    plan->domain.name) < 0)
			r = vfg_error_set(err, ENOMEM, node->path, "cannot plan");
		else if (plan_keep_step(plan, &revoke, step, node->path, err) < 0)
			r = -1;
	}
	held_path_needs_free(&needs);
	return r;
}

/* Each step's number among the changes apply makes, for vfg_plan_change_number. */
static int plan_number_changes(vfg_plan *plan, vfg_error *err)
{
	plan->change_numbers = plan_calloc(plan->n_steps, sizeof(*plan->change_numbers));
	if (!plan->change_numbers)
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");
	size_t number = 0;
	for (size_t i = 0; i < plan->n_steps; i++)
		if (VFG_ACTION_IS_CHANGE(plan->steps[i].action))
			plan->change_numbers[i] = ++number;
	return 0;
}

/* The group as the first hostdev of the plan in it read it (enumerate.c: group_read_at), or NULL. */
static const vfg_iommu_group *group_read_before(const void *data, unsigned number)
{
	const plan_builder *builder = data;
	const plan_slot *slot = plan_index_find(&builder->groups, number, NULL, NULL);
	return slot->entry ? &builder->plan->hostdevs[slot->entry - 1].group : NULL;
}

static int plan_hostdevs(vfg_context *ctx, vfg_plan *plan, vfg_error *err)
{
	size_t n = plan->domain.n_hostdevs;
	plan_builder builder = {.host = VFG_HOST_NODES_UNKNOWN, .plan = plan};
	builder.host.group_read_before = group_read_before;
	builder.host.group_data = &builder;
	builder.keep_below = vfg_node_keep_below();
	if (plan_index_init(&builder.node_paths, 2 * n) < 0 || plan_index_init(&builder.addresses, n) < 0 ||
	    plan_index_init(&builder.groups, n) < 0) {
		plan_builder_free(&builder);
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");
	}
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (vfg_hostdev_enumerate_on(ctx, &builder.host, &plan->domain.hostdevs[i], &plan->hostdevs[i], err) <
		    0) {
			r = -1;
			break;
		}
		plan->n_hostdevs++;
		/* The labelers see the backend that serves it (core/plan.h: vfg_plan). */
		((vfg_hostdev_spec *)plan->domain.hostdevs)[i].backend = plan->hostdevs[i].backend;
		if (check_hostdev_against_others(&builder, plan, i, err) < 0 ||
		    plan_add_hostdev_nodes(ctx, &builder, plan, &plan->hostdevs[i], err) < 0)
			r = -1;
	}
	plan_builder_free(&builder);
	return r;
}

void txn_view_keep(txn_view *view, const vfg_plan *plan)
{
	view->kept_nodes = plan->nodes;
	view->kept_fds = plan->node_fds;
	view->n_kept = plan->node_fds ? plan->n_nodes : 0;
}

/*
 * The fds enumeration kept: the plan is made, and an apply in another hold
 * of the lock opens every node again under its own (vfg_domain_plan_apply
 * closes them after its apply instead).
 */
void plan_close_kept(vfg_plan *plan)
{
	for (size_t i = 0; plan->node_fds && i < plan->n_nodes; i++) {
		vfg_closep(&plan->node_fds[i]);
		plan->node_fds[i] = -1;
	}
}

static int function_order(const void *a, const void *b)
{
	const vfg_pci_addr *x = a, *y = b;
	uint32_t kx = (uint32_t)x->domain << 16 | (uint32_t)x->bus << 8 | (uint32_t)x->slot << 3 | x->function;
	uint32_t ky = (uint32_t)y->domain << 16 | (uint32_t)y->bus << 8 | (uint32_t)y->slot << 3 | y->function;
	return (kx > ky) - (kx < ky);
}

/* plan->functions: what vfg_plan_group_mate() looks a group member up in, once per plan, not once per member. */
static int plan_sort_functions(vfg_plan *plan, vfg_error *err)
{
	plan->functions = calloc(plan->n_hostdevs + 1, sizeof(*plan->functions));
	if (!plan->functions)
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot plan");
	for (size_t i = 0; i < plan->n_hostdevs; i++)
		if (!plan->hostdevs[i].spec.mdev[0])
			plan->functions[plan->n_functions++] = plan->hostdevs[i].spec.addr;
	qsort(plan->functions, plan->n_functions, sizeof(*plan->functions), function_order);
	return 0;
}

/* What needs no lock: the domain copied, its hostdevs' nodes found in sysfs. NULL on failure. */
vfg_plan *plan_start(vfg_context *ctx, const vfg_domain *domain, vfg_error *err)
{
	vfg_plan *plan = calloc(1, sizeof(*plan));
	if (!plan || !(plan->texts = vfg_text_store_new())) {
		free(plan);
		vfg_error_set(err, ENOMEM, domain->name, "cannot plan");
		return NULL;
	}
	plan->ctx_id = ctx->id;
	if (plan_copy_domain(plan, domain, err) < 0 || plan_hostdevs(ctx, plan, err) < 0 ||
	    plan_sort_functions(plan, err) < 0) {
		vfg_plan_free(plan);
		return NULL;
	}
	return plan;
}

/*
 * The nodes' owner and mode as they are under the lock: plan_start() read
 * them before it, and a revoke of the same domain in between (a concurrent
 * hot-unplug, say) put back the owner the labelers then took for already
 * granted; the apply said "made" and granted nothing (a crash trial). The
 * fd enumeration kept is fstat()ed again; a node without one is checked anew.
 */
static int plan_refresh_nodes(vfg_context *ctx, vfg_plan *plan, vfg_error *err)
{
	for (size_t i = 0; i < plan->n_nodes; i++) {
		vfg_node *node = &plan->nodes[i];
		struct stat st;
		if (plan->node_fds && plan->node_fds[i] >= 0 && fstat(plan->node_fds[i], &st) == 0) {
			node->uid = st.st_uid;
			node->gid = st.st_gid;
			node->mode = st.st_mode & 07777;
		} else if (vfg_node_inspect(ctx, node, err) < 0) {
			return -1;
		}
	}
	return 0;
}

int plan_under_lock(vfg_context *ctx, host_journal *hj, vfg_plan *plan, vfg_error *err)
{
	int r = plan_refresh_nodes(ctx, plan, err);
	if (r == 0)
		r = plan_labelers(ctx, hj, plan, err);
	if (r < 0 || !plan->keep_node_fds)
		plan_close_kept(plan);
	if (r == 0 && hj->failed) { /* a holder's journal the labelers asked about could not be read */
		*err = hj->failure;
		r = -1;
	}
	if (r == 0)
		r = plan_leftover_grants(hj, plan, err);
	return r < 0 ? -1 : plan_number_changes(plan, err);
}

VFG_EXPORT int vfg_plan_build(vfg_context *ctx, const vfg_domain *domain, vfg_plan **result, vfg_error *err)
{
	vfg_plan *plan = plan_start(ctx, domain, err);
	if (!plan)
		return -1;
	/* Read under the shared host lock; apply checks again under the exclusive one. */
	host_journal hj;
	if (host_journal_open_for(ctx, false, plan->domain.name, &hj, err) < 0) {
		vfg_plan_free(plan);
		return -1;
	}
	int r = plan_under_lock(ctx, &hj, plan, err);
	if (r == 0)
		r = plan_note_apply(ctx, &hj, plan, err);
	host_journal_close(&hj);
	if (r < 0) {
		vfg_plan_free(plan);
		return -1;
	}
	*result = plan;
	return 0;
}

VFG_EXPORT void vfg_plan_free(vfg_plan *plan)
{
	if (!plan)
		return;
	for (size_t i = 0; i < plan->n_hostdevs; i++)
		vfg_hostdev_clear(&plan->hostdevs[i]);
	free(plan->hostdevs);
	free((void *)plan->domain.hostdevs);
	free(plan->nodes);
	free(plan->path_hostdev);
	plan_close_kept(plan);
	free(plan->node_fds);
	free(plan->labelers);
	free(plan->steps);
	free(plan->change_numbers);
	free(plan->held);
	free(plan->domain_labelers);
	vfg_text_store_free(plan->texts);
	free(plan->functions);
	free(plan);
}

VFG_EXPORT const vfg_domain *vfg_plan_domain(const vfg_plan *plan)
{
	return &plan->domain;
}

/*
 * The other accessors of the opaque plan (<vfguard/plan.h>): vfg_plan_n_ARRAY
 * is the plan's count of ARRAY; FUNCTION(plan, index) gives @value of its
 * @entry number @index, NULL past the last.
 */
#define PLAN_COUNT(array)                                          \
	VFG_EXPORT size_t vfg_plan_n_##array(const vfg_plan *plan) \
	{                                                          \
		return plan->n_##array;                            \
	}
#define PLAN_ENTRY(type, function, array, value)                             \
	VFG_EXPORT const type *function(const vfg_plan *plan, size_t index)  \
	{                                                                    \
		if (index >= plan->n_##array)                                \
			return NULL;                                         \
		const __typeof__(*plan->array) *entry = &plan->array[index]; \
		return value;                                                \
	}

PLAN_COUNT(hostdevs)
PLAN_ENTRY(vfg_hostdev, vfg_plan_hostdev, hostdevs, entry)
PLAN_COUNT(nodes)
PLAN_ENTRY(vfg_node, vfg_plan_node, nodes, entry)
PLAN_COUNT(labelers)
PLAN_ENTRY(vfg_labeler, vfg_plan_labeler, labelers, entry->labeler)
PLAN_ENTRY(vfg_probe, vfg_plan_labeler_probe, labelers, &entry->probe)
PLAN_COUNT(steps)
PLAN_ENTRY(vfg_step, vfg_plan_step, steps, entry)
PLAN_COUNT(domain_labelers)
PLAN_ENTRY(vfg_labeler, vfg_plan_domain_labeler, domain_labelers, entry->labeler)
PLAN_ENTRY(vfg_probe, vfg_plan_domain_labeler_probe, domain_labelers, &entry->probe)
PLAN_ENTRY(vfg_node, vfg_plan_domain_labeler_subject, domain_labelers, &entry->subject)
PLAN_ENTRY(vfg_step, vfg_plan_domain_labeler_step, domain_labelers, &entry->step)

size_t vfg_plan_changes(const vfg_plan *plan)
{
	size_t count = 0;
	for (size_t i = 0; i < plan->n_steps; i++)
		count += VFG_ACTION_IS_CHANGE(plan->steps[i].action);
	for (size_t i = 0; i < plan->n_domain_labelers; i++)
		count += VFG_ACTION_IS_CHANGE(plan->domain_labelers[i].step.action);
	return count;
}

size_t vfg_plan_change_number(const vfg_plan *plan, size_t step)
{
	return plan->change_numbers[step];
}

const vfg_step *vfg_plan_find_step(const vfg_plan *plan, size_t labeler, size_t node)
{
	/* plan_labelers makes one step per labeler and node, labeler by labeler. */
	if (labeler >= plan->n_labelers || node >= plan->n_nodes)
		return NULL;
	return &plan->steps[labeler * plan->n_nodes + node];
}

const vfg_hostdev *vfg_plan_path_hostdev(const vfg_plan *plan, size_t node)
{
	return plan->path_hostdev[node] ? &plan->hostdevs[plan->path_hostdev[node] - 1] : NULL;
}

/*
 * The kernel's unit of access for the legacy backend is the group: an fd of
 * /dev/vfio/N gets a device fd (VFIO_GROUP_GET_DEVICE_FD) for any device of
 * the group a vfio driver registered, not only the one asked for
 * (vfio_device_get_from_name() walks the group's device_list, Linux
 * drivers/vfio/group.c; in Documentation/driver-api/vfio.rst VFIO owns
 * whole groups). A function on no vfio driver has no vfio device to get.
 * A cdev (iommufd) opens its own device only: no group-mates there.
 */
bool vfg_plan_group_mate(const vfg_plan *plan, const vfg_hostdev *hostdev, const vfg_pci_function *member)
{
	if (hostdev->backend != VFG_BACKEND_LEGACY || !vfg_pci_function_on_vfio(member))
		return false;
	/* Looked up, not searched: a plan of 1000 hostdevs shown asked a million address compares. */
	return !bsearch(&member->addr, plan->functions, plan->n_functions, sizeof(*plan->functions), function_order);
}

int vfg_plan_context_check(const vfg_context *ctx, const vfg_plan *plan, const char *what, vfg_error *err)
{
	if (plan->ctx_id == ctx->id)
		return 0;
	return vfg_error_set(err, EINVAL, plan->domain.name,
			     "the plan was built by another context: %s it with the context that built it (its "
			     "labelers and configuration are the plan's), nothing was changed",
			     what);
}
