/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_DOMAIN_H
#define VFGUARD_DOMAIN_H

/*
 * A domain and its hostdevs: built from what a manager knows, each hostdev's
 * PCI function, IOMMU group and nodes found on the host, managed functions
 * detached to vfio-pci and given back, and the domains the journal holds.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vfguard/context.h>
#include <vfguard/error.h>
#include <vfguard/model.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parse a hostdev as the CLI takes it: "BDF[,backend=legacy|iommufd]
 * [,access=path|fd][,vf-token=UUID][,managed=yes|no][,driver=NAME]", where
 * BDF may also be the function's sysfs path (under the root prefix), and
 * driver= names the variant vfio driver a managed one is bound to; or a
 * mediated device, "mdev=UUID", "mdev:UUID" or its sysfs path, with
 * backend= and access= only.
 */
int vfg_hostdev_spec_parse(const vfg_context *ctx, const char *text, vfg_hostdev_spec *spec, vfg_error *err);

/*
 * A domain as a manager knows it, in plain values: vfg_domain_new checks
 * every field and parses the hostdevs, so a manager need not fill a
 * vfg_domain and its specs by hand. NULL and "" mean "not given".
 */
typedef struct vfg_domain_description {
	const char *name; /* required: UTF-8, no control character or '/' (vfg_domain_name_check) */
	const char *uuid; /* RFC 4122 */
	uid_t uid; /* the hypervisor process's uid and gid */
	gid_t gid;
	/*
	 * The labelers' attributes, "NAME=VALUE" (vfg_context_attr lists them:
	 * "selinux.label=...", "cgroup.path=/sys/fs/cgroup/..."), NULL-terminated;
	 * NULL for none.
	 */
	const char *const *attributes;
	pid_t pid; /* the hypervisor once it runs; 0 before */
	/* Hostdevs as vfg_hostdev_spec_parse takes them, NULL-terminated: at least one. */
	const char *const *hostdevs;
	uint64_t memory; /* guest RAM in bytes; 0: no locked-memory limit is computed or set */
	bool viommu; /* the guest has a vIOMMU */
	bool ipc_lock; /* the hypervisor holds CAP_IPC_LOCK */
} vfg_domain_description;

/*
 * Check @description and build a vfg_domain that owns its hostdev specs (one
 * allocation: vfg_domain_free frees it). The error names the field or the
 * hostdev at fault. The domain's fields may be changed afterwards (pid, once
 * the hypervisor runs).
 */
int vfg_domain_new(const vfg_context *ctx, const vfg_domain_description *description, vfg_domain **domain,
		   vfg_error *err);
void vfg_domain_free(vfg_domain *domain);

/* Read one PCI function from sysfs. */
int vfg_pci_function_read(const vfg_context *ctx, const vfg_pci_addr *addr, vfg_pci_function *fn, vfg_error *err);

/* Find a hostdev's function, IOMMU group, cdev and backend; fails when the group is not viable. */
int vfg_hostdev_enumerate(const vfg_context *ctx, const vfg_hostdev_spec *spec, vfg_hostdev *hostdev, vfg_error *err);
void vfg_hostdev_clear(vfg_hostdev *hostdev);

/* How a hostdev's VF token reaches the kernel on its backend, for the plan; NULL when it has none. */
const char *vfg_hostdev_vf_token_method(const vfg_hostdev *hostdev);

/* A function's driver before and after detach or reattach. */
typedef struct vfg_driver_binding {
	vfg_pci_addr addr;
	char original[VFG_DRIVER_MAX]; /* its driver before vfguard detached it, "" for none */
	char driver[VFG_DRIVER_MAX]; /* its driver now, "" for none */
	bool changed; /* this call rebound it */
} vfg_driver_binding;

/*
 * Managed mode. Detach binds the function to @driver (NULL: vfio-pci, else a
 * vfio variant driver) through driver_override, unbind and drivers_probe,
 * after remembering its original driver in the state directory; it refuses a
 * function whose IOMMU group would not be viable, naming the offenders, and
 * undoes itself when the kernel does not bind as asked. Reattach gives the
 * function back to its original driver (or none) and clears the override;
 * unbinding a vfio driver waits, without a timeout, until no process holds
 * the device, and is preceded by a VFG_NOTICE_VFIO_USERS_WAIT notice
 * naming the holders (context.h: vfg_context_set_notice). A function
 * vfguard did not detach (or gave back already) is left as it is: with a
 * host driver or none, reattach returns 0 with binding->changed false;
 * on a vfio driver it fails with errnum ENOENT, its original unknown.
 */
int vfg_pci_detach(vfg_context *ctx, const vfg_pci_addr *addr, const char *driver, vfg_driver_binding *binding,
		   vfg_error *err);
int vfg_pci_reattach(vfg_context *ctx, const vfg_pci_addr *addr, vfg_driver_binding *binding, vfg_error *err);
/*
 * A driver name vfg_pci_detach may bind: a plain name (letters, digits, '_',
 * '-'), shorter than VFG_DRIVER_MAX, that declares itself a vfio driver:
 * vfio-pci or a variant named NAME_vfio_pci. Detach then checks that the
 * bound function shows vfio-dev/ where the kernel has that class.
 */
int vfg_driver_name_check(const char *driver, vfg_error *err);

/* A domain the journal holds: what its latest transaction was given, its hostdevs from its claims. */
typedef struct vfg_live_domain {
	vfg_domain domain; /* hostdevs points at this entry's own hostdevs */
	size_t n_hostdevs;
	vfg_hostdev_spec *hostdevs; /* address, backend, access, managed, driver; no vf-token */
} vfg_live_domain;

/* The domains the journal holds (@name: only that one, none when it holds nothing; NULL: all), by name. */
int vfg_live_domains(vfg_context *ctx, const char *name, vfg_live_domain **domains, size_t *n_domains, vfg_error *err);
void vfg_live_domains_free(vfg_live_domain *domains, size_t n_domains);

#ifdef __cplusplus
}
#endif
#endif
