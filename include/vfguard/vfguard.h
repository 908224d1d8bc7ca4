/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_VFGUARD_H
#define VFGUARD_VFGUARD_H

/*
 * The library API for hypervisor managers and vfguard's own front ends
 * (docs/library.md; pkg-config vfguard; every function versioned in
 * core/libvfguard.map), one header per concern, each usable alone:
 *
 *   context.h  the context: configuration, labelers, version, host paths
 *   domain.h   a domain and its hostdevs, managed detach, live domains
 *   plan.h     the plan, its parts, and its outputs
 *   apply.h    apply, prepare, revoke, restore, status
 *   fds.h      the fd broker, dropping privileges, QEMU's arguments
 *   audit.h    drift of a domain and of the host
 *   memlock.h  the locked-memory limit
 *
 * This header includes them all; plugins see only labeler.h (and util.h).
 */

#include <vfguard/apply.h>
#include <vfguard/audit.h>
#include <vfguard/context.h>
#include <vfguard/domain.h>
#include <vfguard/error.h>
#include <vfguard/fds.h>
#include <vfguard/labeler.h>
#include <vfguard/memlock.h>
#include <vfguard/model.h>
#include <vfguard/plan.h>

#endif
