/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dropping privileges before the fds leave vfguard: whoever receives them,
 * or the command exec'ed with them, must not inherit what opening them took.
 */
#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <sys/prctl.h>

#include "internal.h"

/*
 * The order matters (capabilities(7)): the bounding set can only shrink
 * with CAP_SETPCAP, and setresuid() with CAP_SETUID, so both come before
 * the effective and permitted sets are emptied. A uid change away from 0
 * would clear those anyway; for uid 0 only the empty bounding set keeps an
 * exec'ed command from getting them back.
 */
VFG_EXPORT int vfg_privileges_drop(bool change_id, uid_t uid, gid_t gid, vfg_error *err)
{
	char subject[64];
	snprintf(subject, sizeof(subject), "uid %u gid %u", (unsigned)(change_id ? uid : getuid()),
		 (unsigned)(change_id ? gid : getgid()));
	if (change_id && (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0))
		return vfg_error_set(err, errno, subject, "cannot change to the hypervisor's groups");

	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		return vfg_error_set(err, EPERM, subject, "cannot empty the capability bounding set");
	/* PR_CAP_AMBIENT_CLEAR_ALL (Linux 4.3): nothing is carried across exec as ambient. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return vfg_error_set(err, errno, subject, "cannot clear the ambient capabilities");
	if (change_id && setresuid(uid, uid, uid) < 0)
		return vfg_error_set(err, errno, subject, "cannot change to the hypervisor's uid");
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		return vfg_error_set(err, EPERM, subject, "cannot drop the capabilities");

	/* Read back what the kernel holds now. */
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_get_caps_process() < 0)
		return vfg_error_set(err, errno, subject, "cannot read the capabilities back");
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE ||
	    capng_have_capabilities(CAPNG_SELECT_BOUNDS) != CAPNG_NONE)
		return vfg_error_set(err, EPERM, subject, "capabilities are left after dropping them all");
	return 0;
}
