/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFGUARD_TOOLS_QMP_H
#define VFGUARD_TOOLS_QMP_H

/*
 * A small QMP client for hotplug and hotunplug (docs/hotplug.md): one
 * connection to a running QEMU's monitor socket, commands one at a time,
 * fds passed along with a command (SCM_RIGHTS), events kept while a reply is
 * awaited. The protocol is QEMU's docs/interop/qmp-spec.rst: a greeting
 * {"QMP": ...}, then qmp_capabilities, then one JSON object per command and
 * per reply ({"return": ...} or {"error": {"class", "desc"}}); asynchronous
 * {"event": ...} messages may come between them at any time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#include <vfguard/error.h>

typedef struct qmp_client {
	int fd;
	char path[108];
	char buffer[65536]; /* what was read and is not yet a whole line */
	size_t used;
	struct json_object *events; /* array: events read while waiting for a reply, oldest first */
	int timeout_ms; /* for each reply */
	pid_t peer_pid; /* SO_PEERCRED of the monitor's process */
	uid_t peer_uid;
} qmp_client;

/* QEMU's answer to a command that failed: its ErrorClass name and description. */
typedef struct qmp_error {
	char class_name[64];
	char desc[1024];
} qmp_error;

/* Connect to @path, read the greeting and negotiate (qmp_capabilities). @timeout_ms: for each reply. */
int qmp_connect(qmp_client *qmp, const char *path, int timeout_ms, vfg_error *err);
void qmp_close(qmp_client *qmp);

/*
 * Send {"execute": @command, "arguments": @arguments} (@arguments taken
 * over, NULL for none), with @fd attached by SCM_RIGHTS when it is not -1,
 * and wait for the reply. 0: *@result is the "return" value (a new
 * reference, when @result is not NULL); 1: QEMU answered with an error,
 * *@qerr filled; -1: the socket failed or QEMU sent no reply in time (@err).
 */
int qmp_execute(qmp_client *qmp, const char *command, struct json_object *arguments, int fd,
		struct json_object **result, qmp_error *qerr, vfg_error *err);

/* Wait up to @timeout_ms for event @name whose data.device is @device (one already read counts). 1 seen, 0 not. */
int qmp_wait_device_event(qmp_client *qmp, const char *name, const char *device, int timeout_ms, vfg_error *err);

#endif
