/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qmp: one QMP command to a running QEMU, for the VM suite's real-client
 * scenarios (tests/vm/scenarios/qemu-*.sh). The guest has no socat or python.
 *
 *   qmp [--wait SECONDS] SOCKET COMMAND [ARGUMENTS-JSON]
 *   qmp [--wait SECONDS] --find-pci VENDOR:DEVICE SOCKET
 *
 * Connects to the QMP unix socket (waiting up to --wait seconds for QEMU to
 * create it; by default one try, so that a QEMU that died fails each later
 * command at once), reads the greeting, negotiates (qmp_capabilities)
 * and sends COMMAND. Prints the reply's "return" as JSON; an "error" reply
 * prints its class and description on stderr and exits 1. Events are
 * skipped. --find-pci runs query-pci and prints "VENDOR:DEVICE at BUS:SLOT.FN"
 * for the first function with those hex ids, exit 1 when there is none.
 * Exit 0 ok, 1 error or not found, 2 usage. The protocol: QEMU's
 * docs/interop/qmp-spec.rst (one JSON object per line, CRLF-terminated).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

static FILE *qmp_in;
static int qmp_fd = -1;

static int usage(void)
{
	fprintf(stderr, "usage: qmp [--wait SECONDS] SOCKET COMMAND [ARGUMENTS-JSON]\n"
			"       qmp [--wait SECONDS] --find-pci VENDOR:DEVICE SOCKET\n");
	return 2;
}

static int connect_socket(const char *path, int wait_seconds)
{
	struct sockaddr_un address = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(address.sun_path)) {
		fprintf(stderr, "qmp: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(address.sun_path, path);
	for (int tries = 0;; tries++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fprintf(stderr, "qmp: socket: %s\n", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&address, sizeof(address)) == 0)
			return fd;
		int error = errno;
		close(fd);
		/* QEMU creates the socket a moment after it starts: wait for it, 100 ms at a time. */
		if ((error != ENOENT && error != ECONNREFUSED) || tries >= wait_seconds * 10) {
			fprintf(stderr, "qmp: connect %s: %s\n", path, strerror(error));
			return -1;
		}
		nanosleep(&(struct timespec){.tv_nsec = 100 * 1000 * 1000}, NULL);
	}
}

/* The next message that is no event; NULL when QEMU closed the socket or sent no JSON. */
static struct json_object *read_message(void)
{
	char *line = NULL;
	size_t size = 0;
	while (getline(&line, &size, qmp_in) > 0) {
		struct json_object *message = json_tokener_parse(line);
		if (!message) {
			fprintf(stderr, "qmp: not JSON from QEMU: %s", line);
			break;
		}
		if (!json_object_object_get_ex(message, "event", NULL)) {
			free(line);
			return message;
		}
		json_object_put(message);
	}
	free(line);
	return NULL;
}

/* Send one command; returns its "return" (a new reference), or NULL after saying why. */
static struct json_object *execute(const char *command, struct json_object *arguments)
{
	struct json_object *request = json_object_new_object();
	json_object_object_add(request, "execute", json_object_new_string(command));
	if (arguments)
		json_object_object_add(request, "arguments", json_object_get(arguments));
	/*
	 * One send, newline included, and no SIGPIPE: QEMU runs a command as soon
	 * as its object is complete, so after "quit" it may close the socket before
	 * a second write (a run saw exit 141).
	 */
	char *line = NULL;
	int length = asprintf(&line, "%s\n", json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN));
	bool sent = length > 0 && send(qmp_fd, line, (size_t)length, MSG_NOSIGNAL) == length;
	free(line);
	json_object_put(request);
	if (!sent) {
		fprintf(stderr, "qmp: sending %s: %s\n", command, strerror(errno));
		return NULL;
	}
	struct json_object *reply = read_message(), *value;
	if (!reply) {
		fprintf(stderr, "qmp: QEMU closed the socket before it answered %s\n", command);
		return NULL;
	}
	if (json_object_object_get_ex(reply, "return", &value)) {
		json_object_get(value);
		json_object_put(reply);
		return value;
	}
	struct json_object *error, *class, *desc;
	if (json_object_object_get_ex(reply, "error", &error) && json_object_object_get_ex(error, "class", &class) &&
	    json_object_object_get_ex(error, "desc", &desc))
		fprintf(stderr, "qmp: %s: %s: %s\n", command, json_object_get_string(class),
			json_object_get_string(desc));
	else
		fprintf(stderr, "qmp: %s: unexpected reply %s\n", command, json_object_to_json_string(reply));
	json_object_put(reply);
	return NULL;
}

static int member_int(struct json_object *object, const char *key)
{
	struct json_object *value;
	return json_object_object_get_ex(object, key, &value) ? json_object_get_int(value) : -1;
}

/* query-pci's buses and their devices: the first whose id matches. */
static int find_pci(struct json_object *buses, unsigned vendor, unsigned device)
{
	for (size_t b = 0; b < json_object_array_length(buses); b++) {
		struct json_object *devices;
		if (!json_object_object_get_ex(json_object_array_get_idx(buses, b), "devices", &devices))
			continue;
		for (size_t d = 0; d < json_object_array_length(devices); d++) {
			struct json_object *function = json_object_array_get_idx(devices, d), *id;
			if (!json_object_object_get_ex(function, "id", &id) ||
			    member_int(id, "vendor") != (int)vendor || member_int(id, "device") != (int)device)
				continue;
			printf("%04x:%04x at %02x:%02x.%x\n", vendor, device, member_int(function, "bus"),
			       member_int(function, "slot"), member_int(function, "function"));
			return 0;
		}
	}
	fprintf(stderr, "qmp: query-pci lists no %04x:%04x\n", vendor, device);
	return 1;
}

int main(int argc, char **argv)
{
	int wait_seconds = 0, i = 1;
	const char *pci = NULL;
	if (i + 1 < argc && strcmp(argv[i], "--wait") == 0) {
		wait_seconds = atoi(argv[i + 1]);
		i += 2;
	}
	if (i + 1 < argc && strcmp(argv[i], "--find-pci") == 0) {
		pci = argv[i + 1];
		i += 2;
	}
	unsigned vendor = 0, device = 0;
	if (pci ? (argc - i != 1 || sscanf(pci, "%x:%x", &vendor, &device) != 2) : (argc - i < 2 || argc - i > 3))
		return usage();
	const char *socket_path = argv[i], *command = pci ? "query-pci" : argv[i + 1];
	struct json_object *arguments = NULL;
	if (!pci && argc - i == 3 && !(arguments = json_tokener_parse(argv[i + 2]))) {
		fprintf(stderr, "qmp: the arguments are no JSON: %s\n", argv[i + 2]);
		return 2;
	}

	qmp_fd = connect_socket(socket_path, wait_seconds);
	if (qmp_fd < 0 || !(qmp_in = fdopen(dup(qmp_fd), "r")))
		return 1;
	struct json_object *greeting = read_message(), *capabilities;
	if (!greeting || !json_object_object_get_ex(greeting, "QMP", NULL)) {
		fprintf(stderr, "qmp: no QMP greeting on %s\n", socket_path);
		return 1;
	}
	json_object_put(greeting);
	if (!(capabilities = execute("qmp_capabilities", NULL)))
		return 1;
	json_object_put(capabilities);

	struct json_object *value = execute(command, arguments);
	if (!value)
		return 1;
	int status = 0;
	if (pci)
		status = find_pci(value, vendor, device);
	else
		printf("%s\n", json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
	json_object_put(value);
	return status;
}
