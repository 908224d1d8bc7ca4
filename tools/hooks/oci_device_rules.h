/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The runtime's own device cgroup, as config.json describes it: the list
 * linux.resources.devices (runtime-spec config-linux.md "Allowed Device
 * list"). A runtime given that list confines the container's cgroup itself:
 * crun and runc attach a BPF device program built from it on cgroup2, and it
 * ANDs with any other program there (docs/hooks.md "crun").
 */
#ifndef VFG_OCI_DEVICE_RULES_H
#define VFG_OCI_DEVICE_RULES_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include <vfguard/vfguard.h>

#define OCI_DEVICE_RULES_MAX 256

typedef struct oci_device_rule {
	bool allow;
	char type; /* 'a', 'c' or 'b' */
	long long major, minor; /* -1: any */
	bool read, write;
} oci_device_rule;

typedef struct oci_device_rules {
	bool present; /* config.json has linux.resources.devices: the runtime owns the device cgroup */
	size_t n;
	oci_device_rule rules[OCI_DEVICE_RULES_MAX];
} oci_device_rules;

/* linux.resources.devices of @config into @rules; @where names config.json in errors. */
int oci_device_rules_parse(json_object *config, const char *where, oci_device_rules *rules, vfg_error *err);

/* Whether the list lets a char device @rdev be opened read-write: the last rule that speaks of each access wins. */
bool oci_device_rules_allow_rw(const oci_device_rules *rules, dev_t rdev);

#endif
