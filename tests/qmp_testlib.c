/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QMP server standing in for QEMU (qmp_testlib.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qmp_testlib.h"
#include "testlib.h"

/* The server's state, in the child. */
static char objects[8][64], devices[8][64], device_links[8][64], fd_names[8][64];
/*
 * The fds getfd named, and those an object or a device took by name: as in
 * QEMU, closefd closes a named one, and the device or object that took one
 * closes it when it goes (object-del, a completed device_del), so
 * revoke --hostdev finds the nodes let go once QEMU let the device go.
 */
static int named_fds[8], object_fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1},
			 device_fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
/* What a refused device_add kept (fake_qemu.failed_add_keeps_fds): its fd, open until the server ends, and the object
 * it linked. */
static int kept_fd = -1;
static char kept_object[64];

static void say(int fd, const char *text)
{
	size_t length = strlen(text);
	if (write(fd, text, length) != (ssize_t)length)
		_exit(90);
}

/* Where @name is in @list, -1 when it is not. */
static int list_find(char list[8][64], const char *name)
{
	for (int i = 0; i < 8; i++)
		if (list[i][0] && strcmp(list[i], name) == 0)
			return i;
	return -1;
}

/* The fd getfd named @name, taken out of the names (-1 when there is none). */
static int named_fd_take(const char *name)
{
	int i = list_find(fd_names, name);
	if (i < 0)
		return -1;
	fd_names[i][0] = '\0';
	int fd = named_fds[i];
	named_fds[i] = -1;
	return fd;
}

static void fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static bool in_list(char list[8][64], const char *name, bool remove)
{
	for (size_t i = 0; i < 8; i++)
		if (strcmp(list[i], name) == 0) {
			if (remove)
				list[i][0] = '\0';
			return true;
		}
	return false;
}

static size_t list_add(char list[8][64], const char *name)
{
	for (size_t i = 0; i < 8; i++)
		if (!list[i][0]) {
			snprintf(list[i], 64, "%s", name);
			return i;
		}
	_exit(91);
}

static const char *arg(struct json_object *arguments, const char *name)
{
	struct json_object *value;
	return json_object_object_get_ex(arguments, name, &value) ? json_object_get_string(value) : "";
}

/* One command: the reply written to @conn, what it did to @log. */
static void serve_command(const fake_qemu *fq, int conn, FILE *log, struct json_object *request, int *passed_fd)
{
	struct json_object *field, *arguments = NULL;
	const char *command =
		json_object_object_get_ex(request, "execute", &field) ? json_object_get_string(field) : "";
	json_object_object_get_ex(request, "arguments", &arguments);
	char reply[512] = "{\"return\": {}}\r\n";
	/* An event between a command and its reply, as QEMU may send one any time. */
	say(conn, "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"RTC_CHANGE\", \"data\": "
		  "{\"offset\": 0, \"qom-path\": \"/machine/unattached/device[7]\"}}\r\n");
	if (fq->fail && strcmp(command, fq->fail) == 0) {
		fprintf(log, "%s refused\n", command);
		if (fq->failed_add_keeps_fds && strcmp(command, "device_add") == 0) {
			kept_fd = named_fd_take(arg(arguments, "fd"));
			snprintf(kept_object, sizeof(kept_object), "%s", arg(arguments, "iommufd"));
		}
		snprintf(reply, sizeof(reply),
			 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"vfio %s: test refusal of %s\"}}\r\n",
			 arg(arguments, "host"), command);
	} else if (strcmp(command, "getfd") == 0) {
		struct stat st;
		if (*passed_fd < 0 || fstat(*passed_fd, &st) < 0) {
			fprintf(log, "getfd %s without fd\n", arg(arguments, "fdname"));
			snprintf(reply, sizeof(reply),
				 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"No file descriptor supplied "
				 "via SCM_RIGHTS\"}}\r\n");
		} else {
			fprintf(log, "getfd %s %u:%u\n", arg(arguments, "fdname"), major(st.st_rdev),
				minor(st.st_rdev));
			size_t i = list_add(fd_names, arg(arguments, "fdname"));
			named_fds[i] = *passed_fd;
			*passed_fd = -1;
		}
	} else if (strcmp(command, "closefd") == 0) {
		fprintf(log, "closefd %s\n", arg(arguments, "fdname"));
		int fd = named_fd_take(arg(arguments, "fdname"));
		if (fd >= 0)
			close(fd);
		else
			snprintf(reply, sizeof(reply),
				 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"File descriptor named '%s' not "
				 "found\"}}\r\n",
				 arg(arguments, "fdname"));
	} else if (strcmp(command, "qom-list") == 0) {
		const char *path = arg(arguments, "path");
		bool found = strncmp(path, "/objects/", 9) == 0 ? in_list(objects, path + 9, false)
			     : strncmp(path, "/machine/peripheral/", 20) == 0
				     ? in_list(devices, path + 20, false)
				     : strcmp(path, "/machine/peripheral-anon") == 0;
		if (strcmp(path, "/machine/peripheral") == 0) {
			size_t used = (size_t)snprintf(reply, sizeof(reply), "{\"return\": [");
			for (size_t i = 0; i < 8; i++)
				if (devices[i][0])
					used += (size_t)snprintf(reply + used, sizeof(reply) - used,
								 "%s{\"name\": \"%s\", \"type\": \"child<vfio-pci>\"}",
								 reply[used - 1] == '[' ? "" : ", ", devices[i]);
			snprintf(reply + used, sizeof(reply) - used, "]}\r\n");
		} else if (found) {
			snprintf(reply, sizeof(reply), "{\"return\": []}\r\n");
		} else {
			snprintf(
				reply, sizeof(reply),
				"{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device '%s' not found\"}}\r\n",
				path);
		}
	} else if (strcmp(command, "qom-get") == 0) {
		const char *path = arg(arguments, "path");
		bool found = false;
		for (size_t i = 0; i < 8; i++)
			if (devices[i][0] && strncmp(path, "/machine/peripheral/", 20) == 0 &&
			    strcmp(path + 20, devices[i]) == 0) {
				snprintf(reply, sizeof(reply), "{\"return\": \"%s\"}\r\n", device_links[i]);
				found = true;
			}
		if (!found)
			snprintf(
				reply, sizeof(reply),
				"{\"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device '%s' not found\"}}\r\n",
				path);
	} else if (strcmp(command, "object-add") == 0) {
		fprintf(log, "object-add %s %s fd=%s\n", arg(arguments, "qom-type"), arg(arguments, "id"),
			arg(arguments, "fd"));
		size_t i = list_add(objects, arg(arguments, "id"));
		if (arg(arguments, "fd")[0] && (object_fds[i] = named_fd_take(arg(arguments, "fd"))) < 0)
			fprintf(log, "object-add: no fd named %s\n", arg(arguments, "fd"));
	} else if (strcmp(command, "object-del") == 0) {
		fprintf(log, "object-del %s\n", arg(arguments, "id"));
		int i = list_find(objects, arg(arguments, "id"));
		if (i >= 0 && strcmp(kept_object, arg(arguments, "id")) == 0) {
			/* qom/object_interfaces.c, user_creatable_del() */
			snprintf(reply, sizeof(reply),
				 "{\"error\": {\"class\": \"GenericError\", \"desc\": \"object '%s' is in use, can not "
				 "be deleted\"}}\r\n",
				 arg(arguments, "id"));
		} else if (i >= 0) {
			objects[i][0] = '\0';
			fd_close(&object_fds[i]);
		}
	} else if (strcmp(command, "device_add") == 0) {
		fprintf(log, "device_add %s\n",
			json_object_to_json_string_ext(arguments,
						       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		size_t i = list_add(devices, arg(arguments, "id"));
		snprintf(device_links[i], 64, "%s%s", arg(arguments, "iommufd")[0] ? "/objects/" : "",
			 arg(arguments, "iommufd"));
		if (arg(arguments, "fd")[0] && (device_fds[i] = named_fd_take(arg(arguments, "fd"))) < 0)
			fprintf(log, "device_add: no fd named %s\n", arg(arguments, "fd"));
		else if (!arg(arguments, "fd")[0] && fq->device_node[0] &&
			 (device_fds[i] = open(fq->device_node, O_RDWR | O_CLOEXEC)) < 0)
			fprintf(log, "device_add: cannot open %s: %s\n", fq->device_node, strerror(errno));
	} else if (strcmp(command, "device_del") == 0) {
		fprintf(log, "device_del %s\n", arg(arguments, "id"));
		if (fq->unplug_completes) {
			char event[256];
			snprintf(event, sizeof(event),
				 "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"%s\", \"path\": "
				 "\"/machine/peripheral/%s\"}, \"timestamp\": {\"seconds\": 1, \"microseconds\": "
				 "3}}\r\n",
				 arg(arguments, "id"), arg(arguments, "id"));
			say(conn, event);
			int i = list_find(devices, arg(arguments, "id"));
			if (i >= 0) {
				devices[i][0] = '\0';
				if (!fq->closes_late)
					fd_close(&device_fds[i]);
			}
		}
	} else if (strcmp(command, "qmp_capabilities") != 0) {
		fprintf(log, "unknown command %s\n", command);
		snprintf(reply, sizeof(reply),
			 "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command %s has not been "
			 "found\"}}\r\n",
			 command);
	}
	fflush(log);
	say(conn, reply);
}

/* One client: lines until it hangs up, each with the fd that came in the same message. */
static void serve_connection(const fake_qemu *fq, int conn, FILE *log)
{
	say(conn, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 11}, \"package\": \"\"}, "
		  "\"capabilities\": [\"oob\"]}}\r\n");
	char buffer[8192];
	size_t used = 0;
	int passed_fd = -1;
	for (;;) {
		union {
			char buffer[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} control;
		struct iovec iov = {.iov_base = buffer + used, .iov_len = sizeof(buffer) - used - 1};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = control.buffer,
				     .msg_controllen = sizeof(control.buffer)};
		ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			return;
		for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
			if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
				memcpy(&passed_fd, CMSG_DATA(cmsg), sizeof(int));
		used += (size_t)n;
		buffer[used] = '\0';
		char *newline;
		while ((newline = strchr(buffer, '\n'))) {
			*newline = '\0';
			struct json_object *request = json_tokener_parse(buffer);
			if (request)
				serve_command(fq, conn, log, request, &passed_fd);
			json_object_put(request);
			used -= (size_t)(newline + 1 - buffer);
			memmove(buffer, newline + 1, used + 1);
		}
	}
}

/* Start the server as @fq->uid: it listens before it tells the test it is ready (SO_PEERCRED is the listener's). */
void fake_qemu_start(fake_qemu *fq)
{
	snprintf(fq->dir, sizeof(fq->dir), "/tmp/vfguard-qmp-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fq->dir));
	ck_assert_int_eq(chmod(fq->dir, 0777), 0);
	snprintf(fq->socket, sizeof(fq->socket), "%s/qmp.sock", fq->dir);
	snprintf(fq->log, sizeof(fq->log), "%s/qmp.log", fq->dir);
	if (!fq->uid)
		fq->uid = HYPERVISOR_UID;
	if (!fq->connections)
		fq->connections = 1;
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	fq->pid = fork();
	ck_assert_int_ge(fq->pid, 0);
	if (fq->pid == 0) {
		close(ready[0]);
		if (setgroups(0, NULL) < 0 || setgid(fq->uid) < 0 || setuid(fq->uid) < 0)
			_exit(92);
		int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un address = {.sun_family = AF_UNIX};
		snprintf(address.sun_path, sizeof(address.sun_path), "%s", fq->socket);
		if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof(address)) < 0 ||
		    listen(listener, 4) < 0)
			_exit(93);
		FILE *log = fopen(fq->log, "w");
		if (!log)
			_exit(94);
		if (fq->has_iommufd0)
			list_add(objects, "iommufd0");
		say(ready[1], "r");
		close(ready[1]);
		for (int i = 0; i < fq->connections; i++) {
			int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
			if (conn < 0)
				_exit(95);
			serve_connection(fq, conn, log);
			close(conn);
		}
		fclose(log);
		_exit(0);
	}
	close(ready[1]);
	char byte;
	ck_assert_int_eq(read(ready[0], &byte, 1), 1);
	close(ready[0]);
}

void fake_qemu_hang_up(const fake_qemu *fq)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	snprintf(address.sun_path, sizeof(address.sun_path), "%s", fq->socket);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&address, sizeof(address)), 0);
	/* read first: a greeting written to a socket already closed would end the server with SIGPIPE */
	char byte = 0;
	while (byte != '\n')
		ck_assert_int_eq(read(fd, &byte, 1), 1);
	close(fd);
}

/* Wait for the server (it must have served every client) and return its log. */
char *fake_qemu_finish(fake_qemu *fq)
{
	int status;
	ck_assert_int_eq(waitpid(fq->pid, &status, 0), fq->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the QMP server ended with status %d", status);
	FILE *file = fopen(fq->log, "r");
	ck_assert_ptr_nonnull(file);
	char *log = calloc(1, 8192);
	ck_assert_uint_lt(fread(log, 1, 8191, file), 8191);
	fclose(file);
	unlink(fq->log);
	rmdir(fq->dir);
	return log;
}
