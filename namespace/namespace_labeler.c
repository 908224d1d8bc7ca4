/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The namespace component. A manager may give the VM process a private
 * mount namespace with its own small /dev; a path-access node is looked up
 * there, so it must exist there too (with the host node's rdev, owner, mode,
 * ACL and label: it runs after the other labelers to copy their result). A
 * passed fd needs no path and so no entry. /proc is used as it is, never
 * under the root prefix; the entry goes at ROOT + the node's path inside the
 * namespace, as every host path does outside it.
 *
 * The journal record says which namespace (its nsfs device and inode: a pid
 * can be reused, a namespace inode not while the namespace lives) and what
 * the grant made there, so revoke removes exactly that:
 *
 *	mnt=DEV:INO entry=made|found mkdir=/dev/vfio|-
 *
 * entry=found is an equal node that was there already, which stays; mkdir
 * is the outermost directory the record claims ("-": none), removed with
 * those below it when they are empty: the ones the grant made, and the ones
 * vfguard made for the same domain before (NS_XATTR_MARK), so that the
 * domain's last entry in a directory takes it away in any revoke order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "internal.h"
#include "ns_attrs.h"
#include "ns_exec.h"

enum {
	NAMESPACE_PRIVATE = 1u << 0, /* the pid's mount namespace is not vfguard's own */
	NAMESPACE_GONE = 1u << 1, /* the pid does not run */
};

static void target_closep(ns_target *target)
{
	ns_target_close(target);
}
#define _cleanup_target_ __attribute__((cleanup(target_closep)))

static void helper_finishp(ns_helper *helper)
{
	ns_helper_finish(helper);
}
#define _cleanup_helper_ __attribute__((cleanup(helper_finishp)))

static int namespace_probe(const vfg_labeler_env *env, const vfg_domain *domain, vfg_probe *probe, vfg_error *err)
{
	if (domain->pid <= 0) {
		snprintf(probe->note, sizeof(probe->note),
			 "no pid (--pid): the domain does not run yet, no private /dev to fill");
		return 0;
	}

	_cleanup_target_ ns_target target = {.fd = -1};
	vfg_error why = {0};
	if (ns_target_open(domain->pid, &target, &why) < 0) {
		if (why.errnum != ESRCH) {
			*err = why;
			return -1;
		}
		/* Plan refuses it; revoke, which probes the journaled domain, must get this far. */
		probe->flags |= NAMESPACE_GONE;
		snprintf(probe->note, sizeof(probe->note), "pid %d does not run (any more)", (int)domain->pid);
		return 0;
	}
	bool own;
	if (ns_target_is_own(&target, &own, err) < 0)
		return -1;
	if (own) {
		snprintf(probe->note, sizeof(probe->note), "pid %d shares the host's mount namespace: nothing to add",
			 (int)domain->pid);
		return 0;
	}
	probe->active = true;
	probe->flags |= NAMESPACE_PRIVATE;
	snprintf(probe->note, sizeof(probe->note), "pid %d has a private mount namespace (mnt:[%lu])", (int)domain->pid,
		 target.ino);
	return 0;
}

static int namespace_plan(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			  const vfg_node *node, vfg_step *step, vfg_error *err)
{
	if (probe->flags & NAMESPACE_GONE) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)domain->pid);
		return vfg_error_set(err, ENOENT, path,
				     "cannot read the mount namespace of pid %d: the process does not run (any more)",
				     (int)domain->pid);
	}
	if (node->access == VFG_ACCESS_FD)
		return vfg_step_set(step, VFG_ACTION_NONE, "",
				    "fd access: the hypervisor looks no path up, so its private /dev gets no entry");
	if (!(probe->flags & NAMESPACE_PRIVATE))
		return vfg_step_set(step, VFG_ACTION_NONE, "", "%s", probe->note);

	char detail[VFG_PATH_MAX + 32];
	snprintf(detail, sizeof(detail), "mknod c %u:%u in pid %d's /dev", major(node->rdev), minor(node->rdev),
		 (int)domain->pid);
	return vfg_step_set(step, VFG_ACTION_GRANT, detail,
			    "the hypervisor resolves %s in its own mount namespace: the entry must exist there with "
			    "the host node's rdev, owner, mode, ACL and label (copied after the other labelers)",
			    node->path);
}

/* The journal record (see the top of the file). */
typedef struct entry_record {
	unsigned long dev, ino; /* the namespace's nsfs identity */
	bool made; /* the grant made the node (entry=made), or found an equal one (entry=found) */
	char mkdir[VFG_PATH_MAX]; /* logical path of the outermost directory it made, "" for none */
} entry_record;

static void record_format(const entry_record *record, char *buf, size_t size)
{
	snprintf(buf, size, "mnt=%lu:%lu entry=%s mkdir=%s", record->dev, record->ino, record->made ? "made" : "found",
		 record->mkdir[0] ? record->mkdir : "-");
}

/* Parse @text, and find which of @request's directories mkdir names (request->first_made). */
static int record_parse(const char *text, const vfg_node *node, ns_entry_request *request, entry_record *record,
			vfg_error *err)
{
	char entry[8];
	int start = -1;
	memset(record, 0, sizeof(*record));
	bool ok = text &&
		  sscanf(text, "mnt=%lu:%lu entry=%7[a-z] mkdir=%n", &record->dev, &record->ino, entry, &start) == 3 &&
		  start > 0;
	ok = ok && (strcmp(entry, "made") == 0 || strcmp(entry, "found") == 0);
	if (ok) {
		record->made = strcmp(entry, "made") == 0;
		const char *mkdir = text + start;
		request->first_made = request->n_dirs;
		if (strcmp(mkdir, "-") != 0) {
			/* It must be one of the node's own directories, below the first (/dev is never made). */
			ok = false;
			for (size_t depth = 2; depth <= request->n_dirs && !ok; depth++) {
				ns_entry_request logical = *request;
				snprintf(logical.root, sizeof(logical.root), "/");
				ns_request_path(&logical, depth, record->mkdir, sizeof(record->mkdir));
				if (strcmp(record->mkdir, mkdir) == 0) {
					request->first_made = depth - 1;
					ok = true;
				}
			}
		}
	}
	if (!ok)
		return vfg_error_set(err, 0, node->path,
				     "namespace: journal record '%s' is not 'mnt=DEV:INO entry=made|found "
				     "mkdir=DIR|-' for this node",
				     text ? text : "(none)");
	if (request->first_made == request->n_dirs)
		record->mkdir[0] = '\0';
	/* Exactly what record_format() writes: no sign or space sscanf's %lu lets by. */
	char canonical[VFG_UNDO_MAX + 1];
	record_format(record, canonical, sizeof(canonical));
	if (strcmp(text, canonical) != 0)
		return vfg_error_set(err, 0, node->path,
				     "namespace: journal record '%s' is not 'mnt=DEV:INO entry=made|found mkdir=DIR|-' "
				     "as vfguard writes it",
				     text);
	return 0;
}

/* The report's failure as an error naming the path in the namespace. */
static int report_error(const ns_entry_request *request, const ns_entry_report *report, pid_t pid, vfg_error *err)
{
	char path[VFG_PATH_MAX], what[128];
	size_t depth = report->at + 1; /* a directory call: dirs[at]; a node call: at is n_dirs, the name */
	switch (report->failed) {
	case NS_CALL_OPEN_ROOT:
		depth = 0;
		snprintf(what, sizeof(what), "cannot open the root prefix");
		break;
	case NS_CALL_OPEN_DIR:
		snprintf(what, sizeof(what), "cannot open the directory");
		break;
	case NS_CALL_NOT_DIR:
		snprintf(what, sizeof(what),
			 "is not a directory (a symlink or another file); refusing to go through it");
		break;
	case NS_CALL_MKDIR:
		snprintf(what, sizeof(what), "cannot create the directory");
		break;
	case NS_CALL_STAT:
		snprintf(what, sizeof(what), "cannot stat the entry");
		break;
	case NS_CALL_GETXATTR:
		snprintf(what, sizeof(what), "cannot read the entry's ACL or label (over %d bytes?)", NS_XATTR_MAX);
		break;
	case NS_CALL_MKNOD:
		snprintf(what, sizeof(what), "cannot create the device node c %u:%u", major(request->want.rdev),
			 minor(request->want.rdev));
		break;
	case NS_CALL_CHOWN:
		snprintf(what, sizeof(what), "cannot chown the new node to %u:%u", (unsigned)request->want.uid,
			 (unsigned)request->want.gid);
		break;
	case NS_CALL_SET_ACL:
		snprintf(what, sizeof(what), "cannot copy the host node's ACL to the new node");
		break;
	case NS_CALL_CHMOD:
		snprintf(what, sizeof(what), "cannot chmod the new node to %04o",
			 (unsigned)(request->want.mode & 07777));
		break;
	case NS_CALL_SET_LABEL:
		snprintf(what, sizeof(what), "cannot copy the host node's SELinux label to the new node");
		break;
	case NS_CALL_UNLINK:
		snprintf(what, sizeof(what), "cannot remove the node vfguard made");
		break;
	case NS_CALL_RMDIR:
		snprintf(what, sizeof(what), "cannot remove the directory vfguard made");
		break;
	case NS_CALL_NONE:
		snprintf(what, sizeof(what), "failed");
		break;
	}
	ns_request_path(request, depth, path, sizeof(path));
	return vfg_error_set(err, report->errnum, path, "in pid %d's mount namespace: %s", (int)pid, what);
}

/*
 * The namespace to act in: the domain's pid's, open, and not vfguard's own
 * (a reused pid now in the host's namespace must not get the host's /dev
 * edited as if it were the VM's).
 */
static int grant_target_open(const vfg_domain *domain, ns_target *target, vfg_error *err)
{
	bool own;
	if (domain->pid <= 0)
		return vfg_error_set(err, EINVAL, domain->name, "namespace: the domain has no pid (--pid)");
	if (ns_target_open(domain->pid, target, err) < 0)
		return -1;
	if (ns_target_is_own(target, &own, err) < 0)
		return -1;
	if (own)
		return vfg_error_set(err, 0, domain->name,
				     "pid %d now shares vfguard's mount namespace, not the private one the plan saw (a "
				     "reused pid?): nothing is made; plan again",
				     (int)domain->pid);
	return 0;
}

/* An entry is there: equal, it is kept (journaled as found); anything else is refused. */
static int grant_found(const ns_entry_request *request, const ns_entry_report *report, const ns_target *target,
		       const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	char path[VFG_PATH_MAX], differs[64];
	ns_request_path(request, request->n_dirs + 1, path, sizeof(path));
	ns_attrs_differences(&report->seen, &request->want, differs, sizeof(differs));
	if (differs[0]) {
		char seen[256], want[256];
		ns_attrs_describe(&report->seen, seen, sizeof(seen));
		ns_attrs_describe(&request->want, want, sizeof(want));
		vfg_error_set(err, 0, path,
			      "in pid %d's mount namespace: holds %s, not the host node's copy %s (it differs in %s); "
			      "refusing to replace it, nothing changed",
			      (int)target->pid, seen, want, differs);
		if (err)
			err->errnum = EEXIST; /* for callers; the message says more than strerror would */
		return -1;
	}
	entry_record record = {.dev = target->dev, .ino = target->ino, .made = false};
	char undo[VFG_PATH_MAX + 64];
	record_format(&record, undo, sizeof(undo));
	if (vfg_txn_intent(txn, node, undo, err) < 0)
		return -1;
	return vfg_txn_done(txn, node, err);
}

/* Nothing is there: journal what will be made, let the helper make it, and check the result. */
static int grant_make(const ns_entry_request *request, const ns_entry_report *inspected, const ns_target *target,
		      const vfg_node *node, ns_helper *helper, vfg_txn *txn, vfg_error *err)
{
	entry_record record = {.dev = target->dev, .ino = target->ino, .made = true};
	size_t first = inspected->first_missing; /* those from here on are made; /dev (0) is never claimed */
	while (first > 1 && inspected->marked[first - 1])
		first--;
	if (first < request->n_dirs) {
		ns_entry_request logical = *request;
		snprintf(logical.root, sizeof(logical.root), "/");
		ns_request_path(&logical, first + 1, record.mkdir, sizeof(record.mkdir));
	}
	char undo[VFG_PATH_MAX + 64];
	record_format(&record, undo, sizeof(undo));
	const char create = NS_ENTRY_CREATE;
	ns_entry_report report;
	if (vfg_txn_intent(txn, node, undo, err) < 0 || ns_helper_send(helper, &create, sizeof(create), err) < 0 ||
	    ns_helper_receive(helper, &report, sizeof(report), err) < 0)
		return -1;
	if (report.failed)
		return report_error(request, &report, target->pid, err);

	char differs[64], path[VFG_PATH_MAX];
	ns_attrs_differences(&report.seen, &request->want, differs, sizeof(differs));
	if (!report.found || differs[0]) {
		char seen[256] = "nothing";
		if (report.found)
			ns_attrs_describe(&report.seen, seen, sizeof(seen));
		ns_request_path(request, request->n_dirs + 1, path, sizeof(path));
		return vfg_error_set(err, 0, path,
				     "in pid %d's mount namespace: the entry made reads back as %s, differing from the "
				     "host node in %s",
				     (int)target->pid, seen, differs[0] ? differs : "everything");
	}
	return vfg_txn_done(txn, node, err);
}

/*
 * No intent pass for this labeler (labeler.h: intent): what its record says
 * (an equal entry found, or one to make) depends on the host node as the
 * other labelers' grants of the same apply leave it, since the entry copies
 * its owner, mode, ACL and label. So it journals in grant, after them, each
 * intent durable on its own.
 */
static int namespace_grant(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			   const vfg_node *node, const vfg_step *step, vfg_txn *txn, vfg_error *err)
{
	/* Everything the helper needs is ready before it forks: it may not allocate, format or read /proc. */
	ns_entry_request request;
	if (ns_request_init(env, domain, node, &request, err) < 0 ||
	    ns_host_node_read(env, node, &request.want, err) < 0)
		return -1;
	_cleanup_target_ ns_target target = {.fd = -1};
	if (grant_target_open(domain, &target, err) < 0)
		return -1;

	_cleanup_helper_ ns_helper helper = {.pid = -1, .sock = -1};
	ns_entry_report report;
	if (ns_helper_start(&target, ns_entry_grant_main, &request, &helper, err) < 0 ||
	    ns_helper_receive(&helper, &report, sizeof(report), err) < 0)
		return -1;
	if (report.failed)
		return report_error(&request, &report, target.pid, err);
	if (report.first_missing == 0) {
		char path[VFG_PATH_MAX];
		ns_request_path(&request, 1, path, sizeof(path));
		return vfg_error_set(err, ENOENT, path,
				     "missing in pid %d's mount namespace: no /dev to put the entry in (vfguard never "
				     "makes /dev itself)",
				     (int)target.pid);
	}
	if (report.found)
		return grant_found(&request, &report, &target, node, txn, err);
	return grant_make(&request, &report, &target, node, &helper, txn, err);
}

/*
 * Undo is "put back what was there": nothing, where the grant made the node
 * and directories. It runs as well for a record whose change never happened
 * (a crash between intent and change): what is not there is not removed, and
 * a node that is not the one vfguard made stays.
 */
static int namespace_revoke(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			    const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	ns_entry_request request;
	entry_record record;
	if (ns_request_init(env, domain, node, &request, err) < 0 ||
	    record_parse(vfg_txn_undo(txn, node), node, &request, &record, err) < 0)
		return -1;
	if (!record.made && !record.mkdir[0])
		return 0; /* an equal entry was there before: it stays */

	_cleanup_target_ ns_target target = {.fd = -1};
	vfg_error why = {0};
	if (ns_target_open(domain->pid, &target, &why) < 0) {
		if (why.errnum != ESRCH) {
			*err = why;
			return -1;
		}
		vfg_txn_note(
			txn,
			"namespace: pid %d has exited; its mount namespace mnt:[%lu], where %s was made, cannot be "
			"entered any more and goes away with its last process: nothing to remove",
			(int)domain->pid, record.ino, node->path);
		return 0;
	}
	if (target.dev != record.dev || target.ino != record.ino) {
		vfg_txn_note(txn,
			     "namespace: pid %d now runs in mount namespace mnt:[%lu], not mnt:[%lu] where %s was made "
			     "(the VM exited and the pid was reused): that /dev is left alone",
			     (int)domain->pid, target.ino, record.ino, node->path);
		return 0;
	}

	request.remove_node = record.made;
	_cleanup_helper_ ns_helper helper = {.pid = -1, .sock = -1};
	ns_entry_report report;
	if (ns_helper_start(&target, ns_entry_remove_main, &request, &helper, err) < 0 ||
	    ns_helper_receive(&helper, &report, sizeof(report), err) < 0)
		return -1;
	char path[VFG_PATH_MAX];
	if (report.failed == NS_CALL_NOT_DIR) {
		ns_request_path(&request, report.at + 1, path, sizeof(path));
		vfg_txn_note(txn, "namespace: %s in pid %d's mount namespace is no directory now: left alone", path,
			     (int)domain->pid);
		return 0;
	}
	if (report.failed == NS_CALL_OPEN_ROOT && report.errnum == ENOENT) {
		vfg_txn_note(txn, "namespace: pid %d's mount namespace has no %s any more: nothing to remove",
			     (int)domain->pid, request.root);
		return 0;
	}
	if (report.failed)
		return report_error(&request, &report, domain->pid, err);
	if (record.made && report.found) {
		char seen[256];
		ns_request_path(&request, request.n_dirs + 1, path, sizeof(path));
		ns_attrs_describe(&report.seen, seen, sizeof(seen));
		vfg_txn_note(txn,
			     "namespace: %s in pid %d's mount namespace now holds %s, not the node vfguard made: "
			     "left alone",
			     path, (int)domain->pid, seen);
	}
	return 0;
}

/* What is at the node's path in the namespace now. */
static int audit_inspect(const ns_target *target, const ns_entry_request *request, ns_entry_report *report,
			 vfg_error *err)
{
	_cleanup_helper_ ns_helper helper = {.pid = -1, .sock = -1};
	if (ns_helper_start(target, ns_entry_inspect_main, (void *)request, &helper, err) < 0 ||
	    ns_helper_receive(&helper, report, sizeof(*report), err) < 0)
		return -1;
	if (report->failed == NS_CALL_NOT_DIR) {
		report->failed = NS_CALL_NONE; /* no directory, no entry: what is there is reported as absent */
		report->found = false;
		return 0;
	}
	return report->failed ? report_error(request, report, target->pid, err) : 0;
}

static int namespace_audit(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
			   const vfg_node *node, vfg_finding *finding, vfg_error *err)
{
	if (!(probe->flags & NAMESPACE_PRIVATE))
		return 0;
	ns_entry_request request;
	entry_record record;
	const char *undo = vfg_finding_record(finding, node);
	if (ns_request_init(env, domain, node, &request, err) < 0 ||
	    ns_host_node_read(env, node, &request.want, err) < 0 ||
	    (undo && record_parse(undo, node, &request, &record, err) < 0))
		return -1;
	_cleanup_target_ ns_target target = {.fd = -1};
	if (ns_target_open(domain->pid, &target, err) < 0)
		return -1;

	char expected[256], actual[256], differs[64];
	if (undo && (target.dev != record.dev || target.ino != record.ino)) {
		snprintf(expected, sizeof(expected), "the entry in mount namespace mnt:[%lu]", record.ino);
		snprintf(actual, sizeof(actual), "pid %d runs in mnt:[%lu]", (int)domain->pid, target.ino);
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
				   "vfguard revoke --domain %s, then apply with the VM's current pid",
				   VFG_NAME_SHELL(domain->name));
		return 0;
	}

	ns_entry_report report;
	if (audit_inspect(&target, &request, &report, err) < 0)
		return -1;
	ns_attrs_describe(&request.want, expected, sizeof(expected));
	if (report.found)
		ns_attrs_describe(&report.seen, actual, sizeof(actual));
	else
		snprintf(actual, sizeof(actual), "no entry in pid %d's /dev", (int)domain->pid);

	if (undo) {
		ns_attrs_differences(&report.seen, &request.want, differs, sizeof(differs));
		if (!report.found || differs[0])
			vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
					   "vfguard revoke --domain %s, then vfguard apply (the entry copies the host "
					   "node as the other labelers leave it)",
					   VFG_NAME_SHELL(domain->name));
		return 0;
	}
	if (report.found) {
		char path[VFG_PATH_MAX];
		ns_request_path(&request, request.n_dirs + 1, path, sizeof(path));
		snprintf(expected, sizeof(expected), "no entry: domain %s holds none in pid %d's /dev", domain->name,
			 (int)domain->pid);
		vfg_finding_report(finding, node, VFG_FINDING_DRIFT, expected, actual,
				   "remove it (nsenter -t %d -m rm %s), or vfguard apply to hold it", (int)domain->pid,
				   path);
	} else if (node->access == VFG_ACCESS_PATH) {
		vfg_finding_report(finding, node, VFG_FINDING_MISSING, expected, actual,
				   "vfguard apply --domain %s with the options given to this audit",
				   VFG_NAME_SHELL(domain->name));
	}
	return 0;
}

/*
 * A grant of a boot that is over lived in a process's mount namespace,
 * gone with it; the pid may be another process's now: nothing is touched
 * (labeler.h: boot_release; docs/boot.md).
 */
static int namespace_boot_release(const vfg_labeler_env *env, const vfg_domain *domain, const vfg_probe *probe,
				  const vfg_node *node, vfg_txn *txn, vfg_error *err)
{
	(void)env, (void)domain, (void)probe, (void)node, (void)txn, (void)err;
	return 0;
}

const vfg_labeler vfg_namespace_labeler = {
	.abi_version = VFG_LABELER_ABI_VERSION,
	.size = VFG_LABELER_SIZE,
	.name = "namespace",
	.summary = "entry in the VM's private /dev (mount namespace)",
	.probe = namespace_probe,
	.plan = namespace_plan,
	.grant = namespace_grant,
	.revoke = namespace_revoke,
	.audit = namespace_audit,
	.boot_release = namespace_boot_release,
};
