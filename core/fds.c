/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fd broker: open a domain's fd-access nodes, set iommufd's accounting
 * while nothing exists on it yet, and hand the fds over (docs/fds.md).
 * Every fd is O_CLOEXEC until handed over, and on every failure the set
 * closes what it opened: nothing leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "journal.h"
#include "private_node.h"
#include "vfio_uapi.h"

/* The description sent with the fds; docs/fds.md is its reference. */
#define FDS_WIRE_MAGIC "vfguard-fds 1"
/* SCM_MAX_FD in include/net/scm.h: the most fds one SCM_RIGHTS message carries. */
#define FDS_SCM_MAX 253

VFG_EXPORT int vfg_rlimit_mode_parse(const char *text, vfg_rlimit_mode *mode, vfg_error *err)
{
	static const vfg_rlimit_mode modes[] = {VFG_RLIMIT_MODE_REQUIRED, VFG_RLIMIT_MODE_WARN, VFG_RLIMIT_MODE_OFF};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(text, vfg_rlimit_mode_name(modes[i])) == 0) {
			*mode = modes[i];
			return 0;
		}
	}
	return vfg_error_set(err, EINVAL, "rlimit_mode", "'%s': expected required, warn or off", text);
}

VFG_EXPORT const char *vfg_rlimit_mode_name(vfg_rlimit_mode mode)
{
	switch (mode) {
	case VFG_RLIMIT_MODE_REQUIRED:
		return "required";
	case VFG_RLIMIT_MODE_WARN:
		return "warn";
	case VFG_RLIMIT_MODE_OFF:
		return "off";
	}
	return "?";
}

VFG_EXPORT const char *vfg_accounting_name(vfg_accounting accounting)
{
	switch (accounting) {
	case VFG_ACCOUNTING_NONE:
		return "none";
	case VFG_ACCOUNTING_PROCESS:
		return "process";
	case VFG_ACCOUNTING_USER:
		return "user";
	case VFG_ACCOUNTING_TYPE1:
		return "type1";
	}
	return "?";
}

VFG_EXPORT void vfg_fdset_close(vfg_fdset *fdset)
{
	if (!fdset)
		return;
	for (size_t i = 0; i < fdset->n_fds; i++) {
		if (fdset->fds[i].fd >= 0)
			close(fdset->fds[i].fd);
		fdset->fds[i].fd = -1;
	}
}

VFG_EXPORT void vfg_fdset_free(vfg_fdset *fdset)
{
	if (!fdset)
		return;
	vfg_fdset_close(fdset);
	free(fdset->fds);
	free(fdset->hostdevs);
	free(fdset);
}

static void fdset_freep(vfg_fdset **fdset)
{
	vfg_fdset_free(*fdset);
}
#define _cleanup_fdset_ __attribute__((cleanup(fdset_freep)))

/* The hostdevs whose group or cdev is node @index, "0000:01:00.0, 0000:01:00.1". */
static void node_hostdevs(const vfg_plan *plan, size_t index, char *buf, size_t size)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t h = 0; h < plan->n_hostdevs; h++) {
		const vfg_hostdev *hostdev = &plan->hostdevs[h];
		for (size_t n = 0; n < hostdev->n_nodes; n++) {
			if (hostdev->nodes[n] != index)
				continue;
			char bdf[VFG_HOSTDEV_NAME_MAX];
			used = vfg_strlcatf(buf, size, used, "%s%s", used ? ", " : "",
					    vfg_hostdev_name(&hostdev->spec, bdf));
		}
	}
}

/* What opening a set's nodes shares: the journal as read, and the private nodes' tmpfs once one is made. */
typedef struct fdset_opener {
	vfg_context *ctx;
	const host_journal *hj;
	const vfg_plan *plan;
	vfg_node_xattr *xattrs; /* one per labeler */
	int mount_fd; /* private_node.c: -1 until the first private node */
	unsigned n_private;
} fdset_opener;

/*
 * What the labelers want a private node of @node to carry (labeler.h:
 * private_node_xattr), into opener->xattrs; how many, 0 when none asks for
 * a private node and the host's node is opened itself.
 */
static int fdset_private_xattrs(fdset_opener *opener, const vfg_node *node, vfg_error *err)
{
	const vfg_plan *plan = opener->plan;
	size_t n = 0;
	for (size_t l = 0; l < plan->n_labelers; l++) {
		const vfg_labeler *labeler = plan->labelers[l].labeler;
		__typeof__(labeler->private_node_xattr) ask = VFG_LABELER_OPTIONAL(labeler, private_node_xattr);
		if (!ask || !plan->labelers[l].probe.active)
			continue; /* a layer not enforced here asks for nothing */
		txn_view view;
		vfg_labeler_env env = txn_view_env(opener->ctx, &view, opener->hj, labeler->name);
		vfg_node_xattr *xattr = &opener->xattrs[n];
		memset(xattr, 0, sizeof(*xattr));
		int r = ask(&env, &plan->domain, &plan->labelers[l].probe, node, xattr, err);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		if (!memchr(xattr->name, '\0', sizeof(xattr->name)) || !xattr->name[0] ||
		    xattr->size > sizeof(xattr->value))
			return vfg_error_set(err, EINVAL, node->path,
					     "labeler %s asked for a private node attribute that is not one",
					     labeler->name);
		n++;
	}
	return (int)n;
}

static int fdset_open_private(fdset_opener *opener, const vfg_node *node, size_t n_xattrs, vfg_error *err)
{
	char real[VFG_PATH_MAX];
	/* The host's node is checked as for an open of its own (rdev as sysfs gives it), and never opened. */
	if (vfg_node_check_host(opener->ctx, node, real, sizeof(real), err) < 0)
		return -1;
	if (opener->mount_fd < 0 && (opener->mount_fd = private_mount_open(opener->plan->domain.name, err)) < 0)
		return -1;
	return private_node_open(opener->mount_fd, opener->n_private++, node, opener->xattrs, n_xattrs, real, err);
}

static int fdset_open_node(fdset_opener *opener, size_t index, vfg_fd *slot, vfg_error *err)
{
	const vfg_plan *plan = opener->plan;
	const vfg_node *node = &plan->nodes[index];
	slot->node = index;
	slot->kind = node->kind;
	snprintf(slot->path, sizeof(slot->path), "%s", node->path);
	int n_xattrs = fdset_private_xattrs(opener, node, err);
	if (n_xattrs < 0)
		return -1;
	slot->fd = n_xattrs > 0 ? fdset_open_private(opener, node, (size_t)n_xattrs, err)
				: vfg_node_open_device(opener->ctx, node, err);
	if (slot->fd >= 0)
		return 0;
	/* vfio_group_fops_open() (drivers/vfio/group.c): a group has one opener at a time. */
	if (node->kind == VFG_NODE_GROUP && err && err->errnum == EBUSY) {
		char hostdevs[512];
		node_hostdevs(plan, index, hostdevs, sizeof(hostdevs));
		char real[VFG_PATH_MAX];
		snprintf(real, sizeof(real), "%s", err->subject);
		vfg_error_refuse(
			err, EBUSY, real,
			"IOMMU group %u of %s is busy: another process holds the group open, and a group can be "
			"open only once at a time",
			node->group, hostdevs);
	}
	return -1;
}

static int iommufd_option_rlimit_mode(int fd, uint16_t op, uint64_t *value)
{
	struct iommu_option option = {
		.size = sizeof(option),
		.option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = op,
		.object_id = 0, /* RLIMIT_MODE belongs to the iommufd itself */
		.val64 = *value,
	};
	if (ioctl(fd, IOMMU_OPTION, &option) < 0)
		return -errno;
	*value = option.val64;
	return 0;
}

/*
 * iommufd_option_rlimit_mode() (drivers/iommu/iommufd/main.c, Linux >= 6.2):
 * set needs CAP_SYS_RESOURCE (EPERM) and an iommufd without objects yet
 * (EBUSY), which is why it comes right after the open. Read back, so that
 * "process" is what the kernel says, not what was asked.
 */
static int fdset_set_rlimit_mode(vfg_context *ctx, vfg_fdset *fdset, const vfg_fd *iommufd, vfg_rlimit_mode mode,
				 vfg_error *err)
{
	if (mode == VFG_RLIMIT_MODE_OFF) {
		fdset->accounting = VFG_ACCOUNTING_USER;
		return 0;
	}
	uint64_t value = 1;
	const char *what = "IOMMU_OPTION set RLIMIT_MODE=1";
	int r = iommufd_option_rlimit_mode(iommufd->fd, IOMMU_OPTION_OP_SET, &value);
	if (r == 0) {
		value = 0;
		what = "IOMMU_OPTION get RLIMIT_MODE";
		r = iommufd_option_rlimit_mode(iommufd->fd, IOMMU_OPTION_OP_GET, &value);
		if (r == 0 && value != 1)
			r = -EIO;
	}
	if (r == 0) {
		fdset->accounting = VFG_ACCOUNTING_PROCESS;
		return 0;
	}

	char real[VFG_PATH_MAX];
	if (vfg_host_path(ctx, iommufd->path, real, sizeof(real), err) < 0)
		return -1;
	if (mode == VFG_RLIMIT_MODE_REQUIRED)
		return vfg_error_set(err, -r, real,
				     "%s failed (rlimit_mode=required): per-process accounting of pinned pages "
				     "needs CAP_SYS_RESOURCE and an iommufd with no object yet",
				     what);
	vfg_strlcatf(fdset->warnings, sizeof(fdset->warnings), strlen(fdset->warnings),
		     "%s: %s failed: %s; pinned pages stay charged to uid %u, shared by all its VMs "
		     "(rlimit_mode=warn)\n",
		     real, what, strerror(-r), (unsigned)fdset->uid);
	fdset->accounting = VFG_ACCOUNTING_USER;
	return 0;
}

static int fdset_add_hostdevs(const vfg_plan *plan, vfg_fdset *fdset, vfg_error *err)
{
	fdset->hostdevs = calloc(plan->n_hostdevs ? plan->n_hostdevs : 1, sizeof(*fdset->hostdevs));
	if (!fdset->hostdevs)
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot list the hostdevs' fds");
	for (size_t h = 0; h < plan->n_hostdevs; h++) {
		const vfg_hostdev *hostdev = &plan->hostdevs[h];
		if (hostdev->n_nodes < 2)
			continue;
		/* nodes[1]: the hostdev's own group or cdev (plan.c adds the shared node first). */
		for (size_t i = 0; i < fdset->n_fds; i++) {
			if (fdset->fds[i].node != hostdev->nodes[1])
				continue;
			vfg_fd_hostdev *entry = &fdset->hostdevs[fdset->n_hostdevs++];
			if (hostdev->spec.mdev[0])
				memcpy(entry->mdev, hostdev->spec.mdev, sizeof(entry->mdev));
			else
				vfg_pci_addr_format(&hostdev->spec.addr, entry->bdf);
			entry->backend = hostdev->backend;
			entry->fd = i;
			snprintf(entry->vf_token, sizeof(entry->vf_token), "%s", hostdev->spec.vf_token);
		}
	}
	return 0;
}

/*
 * A hostdev's fds are the domain's only while apply gave it the hostdev's
 * IOMMU group (its journal claim), with the backend and access asked for
 * now: the ownership apply enforces (docs/journal.md). A claim with
 * access=path is refused too: the hypervisor was given the nodes by path,
 * and least privilege says fd access goes with no path grant, which an
 * apply with access=fd takes back in one transaction.
 */
static int fdset_check_claim(const host_journal *hj, const vfg_plan *plan, const vfg_hostdev *hostdev, vfg_error *err)
{
	const char *name = plan->domain.name;
	char bdf[VFG_HOSTDEV_NAME_MAX], other_bdf[VFG_HOSTDEV_NAME_MAX];
	vfg_hostdev_name(&hostdev->spec, bdf);
	unsigned group = hostdev->group.number;
	const domain_journal *other = NULL;
	const journal_claim *held = NULL;
	if (host_journal_group_holder(hj, name, group, &held, &other, err) < 0)
		return -1;
	if (held)
		return vfg_error_refuse(
			err, EBUSY, bdf,
			"IOMMU group %u belongs to domain %s (through its hostdev %s), not to domain %s: "
			"no fd is opened",
			group, other->domain->name, journal_claim_name(held, other_bdf), name);
	const domain_journal *dj = host_journal_find(hj, name);
	const journal_claim *claim = dj ? domain_journal_find_claim(dj, bdf) : NULL;
	if (!claim || claim->backend == VFG_BACKEND_AUTO) /* auto: prepared, never applied */
		return vfg_error_set(err, EPERM, bdf, "domain %s holds no grant for it; run vfguard apply first", name);
	/* Under the shared lock an open transaction has no owner left: a crashed run's, for restore to finish. */
	if (dj->open_txn)
		return vfg_error_set(err, EAGAIN, bdf,
				     "domain %s has an unfinished %s that a crashed or failed run left; run vfguard "
				     "restore, then vfguard apply if restore undid it",
				     name, journal_op_name(dj->open_op));
	/*
	 * The fds go to the domain's hypervisor alone: the uid and gid apply
	 * granted to (the journal's domain line), not ones the caller names now,
	 * or a peer of any ids would be handed them (a trial).
	 */
	if (dj->domain && (dj->domain->uid != plan->domain.uid || dj->domain->gid != plan->domain.gid))
		return vfg_error_set(err, EPERM, bdf,
				     "domain %s's grants are for uid %u gid %u, not uid %u gid %u: no fd is opened; "
				     "give --uid %u --gid %u",
				     name, (unsigned)dj->domain->uid, (unsigned)dj->domain->gid,
				     (unsigned)plan->domain.uid, (unsigned)plan->domain.gid, (unsigned)dj->domain->uid,
				     (unsigned)dj->domain->gid);
	if (claim->group != group)
		return vfg_error_set(err, EPERM, bdf,
				     "domain %s claimed it in IOMMU group %u, and it is in group %u now; run vfguard "
				     "revoke --domain %s, then vfguard apply",
				     name, claim->group, group, VFG_NAME_SHELL(name));
	if (claim->backend != hostdev->backend)
		return vfg_error_set(err, EPERM, bdf,
				     "domain %s holds it with backend %s, not %s: ask for backend=%s, or run vfguard "
				     "revoke --domain %s, then apply it with backend=%s",
				     name, vfg_backend_name(claim->backend), vfg_backend_name(hostdev->backend),
				     vfg_backend_name(claim->backend), VFG_NAME_SHELL(name),
				     vfg_backend_name(hostdev->backend));
	if (claim->access != hostdev->spec.access)
		return vfg_error_set(err, EPERM, bdf,
				     "domain %s holds it with access=%s, not access=%s; run vfguard apply with "
				     "access=%s first",
				     name, vfg_access_name(claim->access), vfg_access_name(hostdev->spec.access),
				     vfg_access_name(hostdev->spec.access));
	return 0;
}

static void fdset_opener_done(fdset_opener *opener)
{
	free(opener->xattrs);
	if (opener->mount_fd >= 0)
		close(opener->mount_fd); /* the private nodes' tmpfs goes with its last reference */
}

static int fdset_open_all(vfg_context *ctx, const host_journal *hj, const vfg_plan *plan, vfg_rlimit_mode mode,
			  vfg_fdset **result, vfg_error *err)
{
	__attribute__((cleanup(fdset_opener_done))) fdset_opener opener = {
		.ctx = ctx,
		.hj = hj,
		.plan = plan,
		.xattrs = calloc(plan->n_labelers ? plan->n_labelers : 1, sizeof(vfg_node_xattr)),
		.mount_fd = -1,
	};
	_cleanup_fdset_ vfg_fdset *fdset = calloc(1, sizeof(*fdset));
	if (!opener.xattrs || !fdset ||
	    !(fdset->fds = calloc(plan->n_nodes ? plan->n_nodes : 1, sizeof(*fdset->fds)))) {
		return vfg_error_set(err, ENOMEM, plan->domain.name, "cannot allocate the fd set");
	}
	snprintf(fdset->domain, sizeof(fdset->domain), "%s", plan->domain.name);
	fdset->uid = plan->domain.uid;
	fdset->gid = plan->domain.gid;

	bool container = false;
	for (size_t i = 0; i < plan->n_nodes; i++) {
		if (plan->nodes[i].access != VFG_ACCESS_FD)
			continue;
		vfg_fd *slot = &fdset->fds[fdset->n_fds];
		if (fdset_open_node(&opener, i, slot, err) < 0)
			return -1;
		fdset->n_fds++;
		switch (slot->kind) {
		case VFG_NODE_IOMMUFD:
			if (fdset_set_rlimit_mode(ctx, fdset, slot, mode, err) < 0)
				return -1;
			break;
		case VFG_NODE_CONTAINER:
			container = true;
			break;
		case VFG_NODE_GROUP:
		case VFG_NODE_CDEV:
		case VFG_NODE_DOMAIN:
			break;
		}
	}
	/*
	 * vfio_iommu_type1 charges what it pins to the pinning mm
	 * (vfio_lock_acct()). Beside an iommufd (a domain with hostdevs on both
	 * backends) the set is the iommufd's: process, as type1 is, or user,
	 * the charge a manager must size for (a trial saw "type1" beside a
	 * warning that the iommufd's pages stay the user's).
	 */
	if (container && fdset->accounting == VFG_ACCOUNTING_NONE)
		fdset->accounting = VFG_ACCOUNTING_TYPE1;
	if (fdset->n_fds > FDS_SCM_MAX)
		return vfg_error_set(err, E2BIG, plan->domain.name, "%zu fds: more than one message carries (%d)",
				     fdset->n_fds, FDS_SCM_MAX);
	if (fdset_add_hostdevs(plan, fdset, err) < 0)
		return -1;
	*result = vfg_steal_ptr(&fdset);
	return 0;
}

VFG_EXPORT int vfg_domain_open_fds(vfg_context *ctx, const vfg_plan *plan, const vfg_fd_options *options,
				   vfg_fdset **result, vfg_error *err)
{
	*result = NULL;
	if (vfg_plan_context_check(ctx, plan, "open the fds of", err) < 0)
		return -1;
	vfg_rlimit_mode mode;
	const char *mode_text =
		options && options->rlimit_mode ? options->rlimit_mode : vfg_config_get(ctx->config, "rlimit_mode");
	if (vfg_rlimit_mode_parse(mode_text, &mode, err) < 0)
		return -1;
	bool any_fd = false;
	for (size_t i = 0; i < plan->n_nodes; i++)
		any_fd = any_fd || plan->nodes[i].access == VFG_ACCESS_FD;
	if (!any_fd)
		return vfg_error_set(err, 0, plan->domain.name,
				     "no node has fd access: give a hostdev access=fd to hand its fds over");

	/* Held until the nodes are open: no revoke, and no other domain's apply, comes between check and open. */
	host_journal hj;
	if (host_journal_open_for(ctx, false, plan->domain.name, &hj, err) < 0)
		return -1;
	/* A claim of a boot that is over names a group that may be another domain's now. */
	int r = host_boot_current(ctx, "the fd broker", err);
	for (size_t h = 0; r == 0 && h < plan->n_hostdevs; h++)
		r = fdset_check_claim(&hj, plan, &plan->hostdevs[h], err);
	if (r == 0)
		r = fdset_open_all(ctx, &hj, plan, mode, result, err);
	host_journal_close(&hj);
	return r;
}

/* An fd-access hostdev as vfg_hostdev_name names it: its BDF, or "mdev:UUID". */
static const char *fd_hostdev_name(const vfg_fd_hostdev *hostdev, char *buf)
{
	if (!hostdev->mdev[0])
		return hostdev->bdf;
	snprintf(buf, VFG_HOSTDEV_NAME_MAX, "mdev:%s", hostdev->mdev);
	return buf;
}

/* The description that goes with the fds: one line each, the fds in the order of the SCM_RIGHTS array. */
/*
 * The message's text (docs/fds.md), as long as the set needs: 253 fds and
 * their hostdevs take some 25 KiB, which a fixed 8 KiB refused (a review).
 * NULL when out of memory.
 */
static char *fdset_describe(const vfg_fdset *fdset, size_t *length)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, length);
	if (!out)
		return NULL;
	fprintf(out, "%s\ndomain %s\naccounting %s\n", FDS_WIRE_MAGIC, fdset->domain,
		vfg_accounting_name(fdset->accounting));
	for (size_t i = 0; i < fdset->n_fds; i++)
		fprintf(out, "fd %zu %s %s\n", i, vfg_node_kind_name(fdset->fds[i].kind), fdset->fds[i].path);
	for (size_t i = 0; i < fdset->n_hostdevs; i++) {
		const vfg_fd_hostdev *h = &fdset->hostdevs[i];
		char name[VFG_HOSTDEV_NAME_MAX];
		fprintf(out, "hostdev %s %zu %s\n", fd_hostdev_name(h, name), h->fd,
			h->vf_token[0] ? h->vf_token : "-");
	}
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

VFG_EXPORT int vfg_fdset_send(vfg_fdset *fdset, int sockfd, vfg_error *err)
{
	char subject[64];
	snprintf(subject, sizeof(subject), "socket fd %d", sockfd);

	/* SO_PEERCRED (unix(7)): the peer's credentials when it connected, kept by the kernel. */
	struct ucred peer;
	socklen_t length = sizeof(peer);
	if (getsockopt(sockfd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0)
		return vfg_error_set(err, errno, subject, "cannot read the peer's credentials");
	snprintf(subject, sizeof(subject), "peer pid %d", (int)peer.pid);
	if (peer.uid != fdset->uid)
		return vfg_error_set(err, EACCES, subject,
				     "refused: uid %u gid %u is not domain %s's hypervisor uid %u; no fd sent",
				     (unsigned)peer.uid, (unsigned)peer.gid, fdset->domain, (unsigned)fdset->uid);
	for (size_t i = 0; i < fdset->n_fds; i++)
		if (fdset->fds[i].fd < 0)
			return vfg_error_set(err, EBADF, fdset->fds[i].path, "already handed over or closed");

	size_t text_length = 0;
	_cleanup_free_ char *text = fdset_describe(fdset, &text_length);
	if (!text)
		return vfg_error_set(err, ENOMEM, fdset->domain, "cannot describe the fds");

	union {
		char buf[CMSG_SPACE(sizeof(int) * FDS_SCM_MAX)];
		struct cmsghdr align;
	} control;
	memset(&control, 0, sizeof(control));
	struct iovec iov = {.iov_base = text, .iov_len = text_length};
	struct msghdr message = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = CMSG_SPACE(sizeof(int) * fdset->n_fds),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fdset->n_fds);
	int *fds = (int *)CMSG_DATA(cmsg);
	for (size_t i = 0; i < fdset->n_fds; i++)
		fds[i] = fdset->fds[i].fd;

	ssize_t sent;
	do
		sent = sendmsg(sockfd, &message, MSG_NOSIGNAL);
	while (sent < 0 && errno == EINTR);
	if (sent < 0)
		return vfg_error_set(err, errno, subject, "cannot send domain %s's fds", fdset->domain);
	if ((size_t)sent != text_length)
		return vfg_error_set(err, EMSGSIZE, subject, "short send of domain %s's fds", fdset->domain);
	/* The peer holds its own references now: vfguard's copies go. */
	vfg_fdset_close(fdset);
	return 0;
}

/* The lowest descriptor above every one in use, so that moving the set clobbers nothing. */
static int fd_above_all(void)
{
	int highest = 2;
	_cleanup_closedir_ DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	struct dirent *entry;
	while ((entry = readdir(dir)))
		if (entry->d_name[0] != '.' && atoi(entry->d_name) > highest)
			highest = atoi(entry->d_name);
	return highest + 1;
}

/* close_range(2), Linux 5.9: close [first, last]; a range past the table's end is fine. */
static int close_from(unsigned first, unsigned last)
{
	if (first > last)
		return 0;
	return (int)syscall(SYS_close_range, first, last, 0);
}

VFG_EXPORT int vfg_fdset_install(vfg_fdset *fdset, int base, vfg_error *err)
{
	if (base < 3)
		return vfg_error_set(err, EINVAL, fdset->domain, "fd base %d: 0, 1 and 2 are stdin, stdout, stderr",
				     base);
	int above = fd_above_all();
	if (above < 0)
		return vfg_error_set(err, errno, "/proc/self/fd", "cannot list open descriptors");
	if (above < base + (int)fdset->n_fds)
		above = base + (int)fdset->n_fds;

	/* First out of the way, above everything, then down to their numbers. */
	for (size_t i = 0; i < fdset->n_fds; i++) {
		if (fdset->fds[i].fd < 0)
			return vfg_error_set(err, EBADF, fdset->fds[i].path, "already handed over or closed");
		int moved = fcntl(fdset->fds[i].fd, F_DUPFD_CLOEXEC, above);
		if (moved < 0)
			return vfg_error_set(err, errno, fdset->fds[i].path, "cannot move the fd");
		close(fdset->fds[i].fd);
		fdset->fds[i].fd = moved;
	}
	for (size_t i = 0; i < fdset->n_fds; i++) {
		int target = base + (int)i;
		/* dup2(2) leaves FD_CLOEXEC clear on the new descriptor: this one is inherited. */
		if (dup2(fdset->fds[i].fd, target) < 0)
			return vfg_error_set(err, errno, fdset->fds[i].path, "cannot move the fd to %d", target);
		close(fdset->fds[i].fd);
		fdset->fds[i].fd = target;
	}
	if (close_from(3, (unsigned)base - 1) < 0 || close_from((unsigned)(base + (int)fdset->n_fds), ~0u) < 0)
		return vfg_error_set(err, errno, fdset->domain, "cannot close the other descriptors");
	return 0;
}

static char *env_entry(const char *name, const char *value)
{
	char *entry = NULL;
	return asprintf(&entry, "%s=%s", name, value) < 0 ? NULL : entry;
}

/*
 * "NAME=" and each fd number (@hostdevs: "HOSTDEV=N") separated by spaces,
 * as long as it takes: a fixed buffer cut a set of 250 cdevs short in the
 * middle of a number, naming a wrong fd (a manager's trial).
 */
static char *env_fd_list(const char *name, const vfg_fdset *fdset, bool hostdevs)
{
	char *entry = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&entry, &size);
	if (!out)
		return NULL;
	fprintf(out, "%s=", name);
	for (size_t i = 0; i < (hostdevs ? fdset->n_hostdevs : fdset->n_fds); i++) {
		char hostdev[VFG_HOSTDEV_NAME_MAX];
		if (hostdevs)
			fprintf(out, "%s%s=%d", i ? " " : "", fd_hostdev_name(&fdset->hostdevs[i], hostdev),
				fdset->fds[fdset->hostdevs[i].fd].fd);
		else
			fprintf(out, "%s%d", i ? " " : "", fdset->fds[i].fd);
	}
	if (fclose(out) != 0) {
		free(entry);
		return NULL;
	}
	return entry;
}

VFG_EXPORT char **vfg_fdset_environment(const vfg_fdset *fdset)
{
	enum { N_VARS = 6 };
	char number[16] = "";
	const char *shared_name = NULL;
	for (size_t i = 0; i < fdset->n_fds; i++)
		if (fdset->fds[i].kind == VFG_NODE_IOMMUFD || fdset->fds[i].kind == VFG_NODE_CONTAINER) {
			shared_name =
				fdset->fds[i].kind == VFG_NODE_IOMMUFD ? "VFGUARD_IOMMUFD_FD" : "VFGUARD_CONTAINER_FD";
			snprintf(number, sizeof(number), "%d", fdset->fds[i].fd);
		}

	char **env = calloc(N_VARS + 1, sizeof(*env));
	if (!env)
		return NULL;
	size_t n = 0;
	env[n++] = env_entry("VFGUARD_DOMAIN", fdset->domain);
	env[n++] = env_fd_list("VFGUARD_FDS", fdset, false);
	env[n++] = env_fd_list("VFGUARD_HOSTDEV_FDS", fdset, true);
	env[n++] = env_entry("VFGUARD_ACCOUNTING", vfg_accounting_name(fdset->accounting));
	if (shared_name)
		env[n++] = env_entry(shared_name, number);
	for (size_t i = 0; i < n; i++) {
		if (!env[i]) {
			for (size_t j = 0; j < n; j++)
				free(env[j]);
			free(env);
			return NULL;
		}
	}
	return env;
}
