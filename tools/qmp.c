/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QMP client of hotplug and hotunplug (qmp.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "qmp.h"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The next whole message, NULL with @err at the deadline (ETIMEDOUT), when
 * QEMU closed the socket, or sent no JSON. Events come back as any message.
 */
static struct json_object *read_message(qmp_client *qmp, long long deadline, vfg_error *err)
{
	for (;;) {
		char *newline = memchr(qmp->buffer, '\n', qmp->used);
		if (newline) {
			*newline = '\0';
			struct json_object *message = json_tokener_parse(qmp->buffer);
			size_t taken = (size_t)(newline - qmp->buffer) + 1;
			memmove(qmp->buffer, newline + 1, qmp->used - taken);
			qmp->used -= taken;
			if (!message || !json_object_is_type(message, json_type_object)) {
				json_object_put(message);
				vfg_error_set(err, EPROTO, qmp->path, "QMP: a line that is no JSON object");
				return NULL;
			}
			return message;
		}
		if (qmp->used == sizeof(qmp->buffer)) {
			vfg_error_set(err, EMSGSIZE, qmp->path, "QMP: a message longer than %zu bytes",
				      sizeof(qmp->buffer));
			return NULL;
		}
		long long left = deadline - now_ms();
		if (left <= 0) {
			vfg_error_set(err, ETIMEDOUT, qmp->path, "QMP: no reply");
			return NULL;
		}
		struct pollfd pfd = {.fd = qmp->fd, .events = POLLIN};
		int ready = poll(&pfd, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0) {
			vfg_error_set(err, errno, qmp->path, "QMP: cannot wait for QEMU");
			return NULL;
		}
		if (ready == 0)
			continue; /* the deadline check above says so */
		ssize_t n = read(qmp->fd, qmp->buffer + qmp->used, sizeof(qmp->buffer) - qmp->used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			vfg_error_set(err, n < 0 ? errno : ECONNRESET, qmp->path, "QMP: QEMU closed the connection");
			return NULL;
		}
		qmp->used += (size_t)n;
	}
}

/* The next reply ("return" or "error"); events read on the way are kept for qmp_wait_device_event. */
static struct json_object *read_reply(qmp_client *qmp, long long deadline, vfg_error *err)
{
	for (;;) {
		struct json_object *message = read_message(qmp, deadline, err);
		if (!message)
			return NULL;
		if (!json_object_object_get_ex(message, "event", NULL))
			return message;
		json_object_array_add(qmp->events, message);
	}
}

/* One line to QEMU, with @fd in the same sendmsg so that QEMU finds it with the command (getfd). */
static int send_line(qmp_client *qmp, const char *line, int fd, vfg_error *err)
{
	size_t length = strlen(line), sent = 0;
	while (sent < length) {
		struct iovec iov = {.iov_base = (char *)line + sent, .iov_len = length - sent};
		union {
			char buffer[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} control = {0};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		if (fd >= 0 && sent == 0) {
			msg.msg_control = control.buffer;
			msg.msg_controllen = sizeof(control.buffer);
			struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		}
		ssize_t n = sendmsg(qmp->fd, &msg, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return vfg_error_set(err, errno, qmp->path, "QMP: cannot send to QEMU");
		sent += (size_t)n;
	}
	return 0;
}

static void error_from_reply(struct json_object *reply, qmp_error *qerr)
{
	struct json_object *error, *field;
	snprintf(qerr->class_name, sizeof(qerr->class_name), "GenericError");
	snprintf(qerr->desc, sizeof(qerr->desc), "(no description)");
	if (!json_object_object_get_ex(reply, "error", &error))
		return;
	if (json_object_object_get_ex(error, "class", &field))
		snprintf(qerr->class_name, sizeof(qerr->class_name), "%s", json_object_get_string(field));
	if (json_object_object_get_ex(error, "desc", &field))
		snprintf(qerr->desc, sizeof(qerr->desc), "%s", json_object_get_string(field));
}

int qmp_execute(qmp_client *qmp, const char *command, struct json_object *arguments, int fd,
		struct json_object **result, qmp_error *qerr, vfg_error *err)
{
	struct json_object *request = json_object_new_object();
	json_object_object_add(request, "execute", json_object_new_string(command));
	if (arguments)
		json_object_object_add(request, "arguments", arguments);
	char line[8192];
	int n = snprintf(line, sizeof(line), "%s\n", json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN));
	json_object_put(request);
	if (n < 0 || (size_t)n >= sizeof(line))
		return vfg_error_set(err, E2BIG, qmp->path, "QMP: command %s too long", command);
	if (send_line(qmp, line, fd, err) < 0)
		return -1;
	struct json_object *reply = read_reply(qmp, now_ms() + qmp->timeout_ms, err);
	if (!reply) {
		vfg_error_prefix(err, "%s", command);
		return -1;
	}
	struct json_object *value;
	int r = 0;
	if (json_object_object_get_ex(reply, "return", &value)) {
		if (result)
			*result = json_object_get(value);
	} else {
		error_from_reply(reply, qerr);
		r = 1;
	}
	json_object_put(reply);
	return r;
}

/* Whether @event is @name for device @device (data.device, QEMU's qapi/qdev.json DEVICE_DELETED). */
static bool event_is(struct json_object *event, const char *name, const char *device)
{
	struct json_object *field, *data;
	if (!json_object_object_get_ex(event, "event", &field) || strcmp(json_object_get_string(field), name) != 0)
		return false;
	return json_object_object_get_ex(event, "data", &data) && json_object_object_get_ex(data, "device", &field) &&
	       strcmp(json_object_get_string(field), device) == 0;
}

int qmp_wait_device_event(qmp_client *qmp, const char *name, const char *device, int timeout_ms, vfg_error *err)
{
	for (size_t i = 0; i < json_object_array_length(qmp->events); i++)
		if (event_is(json_object_array_get_idx(qmp->events, i), name, device))
			return 1;
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		vfg_error read_err = {0};
		struct json_object *message = read_message(qmp, deadline, &read_err);
		if (!message && read_err.errnum == ETIMEDOUT)
			return 0;
		if (!message) {
			*err = read_err;
			return -1;
		}
		bool seen = event_is(message, name, device);
		json_object_put(message); /* a stray reply or another event: nothing waits for it */
		if (seen)
			return 1;
	}
}

int qmp_connect(qmp_client *qmp, const char *path, int timeout_ms, vfg_error *err)
{
	memset(qmp, 0, sizeof(*qmp));
	qmp->fd = -1;
	qmp->timeout_ms = timeout_ms;
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(address.sun_path) || strlen(path) >= sizeof(qmp->path))
		return vfg_error_set(err, ENAMETOOLONG, path, "QMP socket path longer than %zu bytes",
				     sizeof(address.sun_path) - 1);
	snprintf(qmp->path, sizeof(qmp->path), "%s", path);
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", path);
	qmp->events = json_object_new_array();
	qmp->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (qmp->fd < 0 || connect(qmp->fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
		int error = errno;
		qmp_close(qmp);
		return vfg_error_set(err, error, path, "cannot connect to the QMP socket");
	}
	struct ucred peer = {0};
	socklen_t length = sizeof(peer);
	if (getsockopt(qmp->fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) < 0) {
		int error = errno;
		qmp_close(qmp);
		return vfg_error_set(err, error, path, "cannot tell which process serves the QMP socket");
	}
	qmp->peer_pid = peer.pid;
	qmp->peer_uid = peer.uid;
	/* The greeting first ({"QMP": {"version": ..., "capabilities": ...}}), then capabilities negotiation. */
	struct json_object *greeting = read_message(qmp, now_ms() + timeout_ms, err);
	bool is_qmp = greeting && json_object_object_get_ex(greeting, "QMP", NULL);
	json_object_put(greeting);
	if (!is_qmp) {
		if (greeting)
			vfg_error_set(err, EPROTO, path, "no QMP greeting: is this a QEMU monitor socket?");
		else
			vfg_error_prefix(err, "waiting for the QMP greeting");
		qmp_close(qmp);
		return -1;
	}
	qmp_error qerr;
	int r = qmp_execute(qmp, "qmp_capabilities", NULL, -1, NULL, &qerr, err);
	if (r == 1)
		vfg_error_set(err, EPROTO, path, "qmp_capabilities: %s: %s", qerr.class_name, qerr.desc);
	if (r != 0) {
		qmp_close(qmp);
		return -1;
	}
	return 0;
}

void qmp_close(qmp_client *qmp)
{
	if (qmp->fd >= 0)
		close(qmp->fd);
	qmp->fd = -1;
	json_object_put(qmp->events);
	qmp->events = NULL;
}
