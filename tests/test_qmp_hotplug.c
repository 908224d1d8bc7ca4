/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfguard hotplug and hotunplug against a QMP server written here: a child
 * process as the hypervisor's uid 107, listening on a real unix socket,
 * speaking QMP lines (greeting, qmp_capabilities, replies, events between
 * them) and taking the fds getfd passes by real SCM_RIGHTS, each fstat'ed
 * and logged with its rdev. The host trees are generated with real char
 * nodes standing in for the VFIO ones (devices this kernel has: null, zero,
 * port, full, random, urandom), so the grants are real chown and ACL entries and
 * the opens real opens; trees compared byte for byte (test_snapshot). The VM
 * suite (tests/vm/scenarios/qemu-hotplug.sh) does the same with QEMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
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

#include "testlib.h"

/*
 * The legacy backend's container and groups, and iommufd's /dev/iommu and
 * cdevs, as real char devices. 01:00.0, the one hotunplugged (and revoked
 * after a failed hotplug), has devices nothing keeps open: revoke --hostdev
 * waits for, then is refused by, any process of the machine holding its
 * group node or cdev, and a program reading random numbers may hold
 * /dev/random or /dev/urandom for its whole life (a trial: one process
 * holding /dev/random, then 01:00.0's cdev, failed three tests). Its group
 * node is never opened here: /dev/port, which kernel lockdown would not
 * let its cdev be opened as (open_port() in drivers/char/mem.c).
 */
static const char host[] = "misc vfio 1:3\n" /* /dev/null */
			   "misc iommu 1:5\n" /* /dev/zero: IOMMU_OPTION fails (ENOTTY): rlimit_mode = warn */
			   "group 7 1:4\n" /* /dev/port */
			   "device 0000:01:00.0 group=7 vendor=1234 device=11e8 class=00ff00 driver=vfio-pci "
			   "cdev=vfio0:1:7\n" /* /dev/full */
			   "group 8 1:8\n" /* /dev/random */
			   "device 0000:02:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci "
			   "cdev=vfio1:1:9\n"; /* /dev/urandom */

#define HYPERVISOR_UID 107
#define FLAGS (TEST_SNAPSHOT_NO_CTIME | TEST_SNAPSHOT_NO_STATE)

/* What the QMP server does; the child gets a copy at fork. */
typedef struct fake_qemu {
	int connections; /* how many clients it serves, one after the other */
	bool has_iommufd0; /* QEMU was started with qemu-args's -object iommufd,id=iommufd0 */
	const char *fail; /* the command it answers with an error */
	bool unplug_completes; /* device_del: DEVICE_DELETED (before the return, as QEMU sends it) */
	uid_t uid;
	char dir[64];
	char socket[128];
	char log[128];
	pid_t pid;
} fake_qemu;

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
		if (i >= 0) {
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
static void fake_qemu_start(fake_qemu *fq)
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

/* Wait for the server (it must have served every client) and return its log. */
static char *fake_qemu_finish(fake_qemu *fq)
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

static const char *root_new(void)
{
	const char *root = test_root_new(host);
	test_write_file(root, "/etc/vfguard/vfguard.conf", "labelers = dac\nrecords = off\nrlimit_mode = warn\n");
	return root;
}

/* vfguard hotplug or hotunplug on @root with the fake QEMU's socket, then @extra (NULL-terminated). */
static void run_vfguard(test_run *run, const char *root, const fake_qemu *fq, const char *command, const char *hostdev,
			const char *const *extra)
{
	const char *args[24] = {command, "--root", root, "--qmp", fq->socket, "--domain", "vm1", "--hostdev", hostdev};
	size_t n = 9;
	if (strcmp(command, "hotplug") == 0) {
		args[n++] = "--uid";
		args[n++] = "107";
		args[n++] = "--gid";
		args[n++] = "107";
	}
	for (size_t i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	test_cli(run, args);
}

static void expect_status(const test_run *run, int status, const char *what)
{
	ck_assert_msg(run->status == status, "%s: exit %d, expected %d: %s%s", what, run->status, status, run->out,
		      run->err);
}

static void expect_in(const char *text, const char *needle)
{
	ck_assert_msg(strstr(text, needle), "expected \"%s\" in:\n%s", needle, text);
}

static unsigned occurrences(const char *text, const char *needle)
{
	unsigned n = 0;
	for (const char *at = text; (at = strstr(at, needle)); at += strlen(needle))
		n++;
	return n;
}

static struct stat node_stat(const char *root, const char *logical)
{
	struct stat st;
	ck_assert_int_eq(stat(test_path(root, logical), &st), 0);
	return st;
}

/* "getfd NAME MAJ:MIN": the fd the server received, by fstat, is the tree's node @logical. */
static void expect_fd_of_node(const char *log, const char *root, const char *name, const char *logical)
{
	struct stat st = node_stat(root, logical);
	char line[128];
	snprintf(line, sizeof(line), "getfd %s %u:%u\n", name, major(st.st_rdev), minor(st.st_rdev));
	expect_in(log, line);
}

START_TEST(test_path_hotplug_grants_and_adds_device)
{
	const char *root = root_new();
	fake_qemu fq = {0};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=legacy", NULL);
	expect_status(&run, 0, "hotplug");
	expect_in(run.out, "domain vm1: hostdev 0000:01:00.0 plugged as vfg-0000-01-00.0, 0 fds passed");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	/* qemu-args's -device vfio-pci,host=BDF with the hotplug id; a path hostdev passes no fd, needs no object. */
	ck_assert_str_eq(
		log, "device_add {\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.0\",\"id\":\"vfg-0000-01-00.0\"}\n");
	free(log);
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/7").st_uid, HYPERVISOR_UID);
	test_root_remove(root);
}
END_TEST

START_TEST(test_fd_hotplug_passes_the_nodes_fds)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {0};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd,access=fd", (const char *[]){"--json", NULL});
	expect_status(&run, 0, "hotplug");
	struct json_object *out = json_tokener_parse(run.out), *field;
	ck_assert_ptr_nonnull(out);
	ck_assert(json_object_object_get_ex(out, "fds_passed", &field) && json_object_get_int(field) == 2);
	ck_assert(json_object_object_get_ex(out, "iommufd_object_added", &field) && json_object_get_boolean(field));
	ck_assert(json_object_object_get_ex(out, "device_id", &field));
	ck_assert_str_eq(json_object_get_string(field), "vfg-0000-01-00.0");
	json_object_put(out);
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	/* The fds QEMU got are the nodes themselves; the object and the device name them. */
	expect_fd_of_node(log, root, "vfg-iommufd", "/dev/iommu");
	expect_fd_of_node(log, root, "vfg-0000-01-00.0", "/dev/vfio/devices/vfio0");
	expect_in(log, "object-add iommufd vfg-iommufd fd=vfg-iommufd\n");
	expect_in(log, "device_add {\"driver\":\"vfio-pci\",\"host\":\"0000:01:00.0\",\"id\":\"vfg-0000-01-00.0\","
		       "\"iommufd\":\"vfg-iommufd\",\"fd\":\"vfg-0000-01-00.0\"}\n");
	ck_assert_msg(!strstr(log, "no fd named") && !strstr(log, "without fd"), "%s", log);
	free(log);
	/* fd access: vfguard opened the nodes, no path grant (the tree as before, the journal aside). */
	test_snapshot_expect(root, FLAGS, before, "fd hotplug");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_iommufd_object_added_once)
{
	const char *root = root_new();
	fake_qemu fq = {.connections = 2};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd", NULL);
	expect_status(&run, 0, "first hotplug");
	expect_in(run.out, "on iommufd object vfg-iommufd (added)");
	test_run_free(&run);
	run_vfguard(&run, root, &fq, "hotplug", "02:00.0,backend=iommufd", (const char *[]){"--bus", "rp1", NULL});
	expect_status(&run, 0, "second hotplug");
	expect_in(run.out, "on iommufd object vfg-iommufd,");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	ck_assert_uint_eq(occurrences(log, "object-add"), 1);
	/* --bus: device_add's "bus" (a pcie-root-port's id on q35). */
	expect_in(log, "\"id\":\"vfg-0000-02-00.0\",\"iommufd\":\"vfg-iommufd\",\"bus\":\"rp1\"}");
	free(log);
	test_root_remove(root);
}
END_TEST

START_TEST(test_iommufd_object_of_qemu_args_used)
{
	const char *root = root_new();
	fake_qemu fq = {.has_iommufd0 = true};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd,access=fd", NULL);
	expect_status(&run, 0, "hotplug");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	/* QEMU started by qemu-args has iommufd0: the device uses it, and only the cdev is passed. */
	ck_assert_uint_eq(occurrences(log, "object-add"), 0);
	ck_assert_uint_eq(occurrences(log, "getfd"), 1);
	expect_fd_of_node(log, root, "vfg-0000-01-00.0", "/dev/vfio/devices/vfio0");
	expect_in(log, "\"iommufd\":\"iommufd0\",\"fd\":\"vfg-0000-01-00.0\"}");
	free(log);
	test_root_remove(root);
}
END_TEST

/* A QMP error at @fail: QEMU's error named with the hostdev, what QEMU got undone, the tree as before. */
static void qmp_error_undoes(const char *hostdev, const char *fail, const char *undone)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {.fail = fail};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", hostdev, NULL);
	expect_status(&run, 1, "hotplug");
	expect_in(run.err, "vfguard: 0000:01:00.0: QEMU refused ");
	expect_in(run.err, ": GenericError: vfio ");
	/* One error line (a warning about the stand-in /dev/iommu aside). */
	ck_assert_msg(occurrences(run.err, "vfguard: ") == 1, "%s", run.err);
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	expect_in(log, undone);
	free(log);
	test_snapshot_expect(root, FLAGS, before, "hotplug refused by QEMU");
	free(before);
	test_root_remove(root);
}

START_TEST(test_qmp_error_revokes_and_undoes)
{
	/* Path access: the group's chown and the container's ACL entry are taken back. */
	qmp_error_undoes("01:00.0,backend=legacy", "device_add", "device_add refused\n");
	/* fd access on iommufd: the object added and the cdev's name closed, then the grants. */
	qmp_error_undoes("01:00.0,backend=iommufd", "device_add", "object-del vfg-iommufd\n");
	qmp_error_undoes("01:00.0,backend=iommufd,access=fd", "device_add",
			 "closefd vfg-0000-01-00.0\nobject-del vfg-iommufd\n");
	qmp_error_undoes("01:00.0,backend=iommufd,access=fd", "object-add", "closefd vfg-iommufd\n");
}
END_TEST

START_TEST(test_legacy_fd_refused_as_qemu_args_refuses)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {0};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=legacy,access=fd", NULL);
	expect_status(&run, 1, "hotplug");
	expect_in(run.err, "legacy hostdev with fd access: QEMU takes pre-opened VFIO fds only on the iommufd backend");
	ck_assert_msg(occurrences(run.err, "\n") == 1, "%s", run.err);
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	ck_assert_str_eq(log, ""); /* QEMU was asked nothing */
	free(log);
	test_snapshot_expect(root, FLAGS, before, "legacy fd hotplug refused");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_fds_only_to_the_domains_uid)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {.uid = 108};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd,access=fd", NULL);
	expect_status(&run, 1, "hotplug");
	expect_in(run.err, "with uid 108, not the domain's uid 107");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	ck_assert_str_eq(log, "");
	free(log);
	test_snapshot_expect(root, FLAGS, before, "hotplug to another uid");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_hotunplug_revokes)
{
	const char *root = root_new();
	char *before = test_snapshot(root, FLAGS);
	fake_qemu fq = {.connections = 2, .unplug_completes = true};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd", NULL);
	expect_status(&run, 0, "hotplug");
	test_run_free(&run);
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/devices/vfio0").st_uid, HYPERVISOR_UID);
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", (const char *[]){"--json", NULL});
	expect_status(&run, 0, "hotunplug");
	expect_in(run.out, "\"deleted\": true, \"grants_kept\": false, \"iommufd_object_removed\": true");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	expect_in(log, "device_del vfg-0000-01-00.0\nobject-del vfg-iommufd\n");
	free(log);
	test_snapshot_expect(root, FLAGS, before, "hotplug then hotunplug");
	free(before);
	test_root_remove(root);
}
END_TEST

START_TEST(test_hotunplug_keeps_object_another_device_uses)
{
	const char *root = root_new();
	fake_qemu fq = {.connections = 3, .unplug_completes = true};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=iommufd", NULL);
	expect_status(&run, 0, "hotplug 01:00.0");
	test_run_free(&run);
	run_vfguard(&run, root, &fq, "hotplug", "02:00.0,backend=iommufd", NULL);
	expect_status(&run, 0, "hotplug 02:00.0");
	test_run_free(&run);
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", NULL);
	expect_status(&run, 0, "hotunplug");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	ck_assert_uint_eq(occurrences(log, "object-del"), 0);
	free(log);
	/* 02:00.0 keeps its cdev and /dev/iommu; 01:00.0's cdev is back to root. */
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/devices/vfio1").st_uid, HYPERVISOR_UID);
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/devices/vfio0").st_uid, 0);
	test_root_remove(root);
}
END_TEST

START_TEST(test_hotunplug_timeout_keeps_grants)
{
	const char *root = root_new();
	fake_qemu fq = {.connections = 2};
	fake_qemu_start(&fq);
	test_run run;
	run_vfguard(&run, root, &fq, "hotplug", "01:00.0,backend=legacy", NULL);
	expect_status(&run, 0, "hotplug");
	test_run_free(&run);
	char *plugged = test_snapshot(root, FLAGS | TEST_SNAPSHOT_NO_CTIME);
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", (const char *[]){"--timeout", "1", NULL});
	expect_status(&run, 4, "hotunplug");
	ck_assert_str_eq(run.err,
			 "vfguard: hostdev 0000:01:00.0: no DEVICE_DELETED for vfg-0000-01-00.0 in 1 s: the "
			 "guest has not let it go; every grant is kept (rerun hotunplug, or once QEMU is gone: "
			 "vfguard revoke --domain vm1 --hostdev 0000:01:00.0)\n");
	test_run_free(&run);
	char *log = fake_qemu_finish(&fq);
	expect_in(log, "device_del vfg-0000-01-00.0\n");
	free(log);
	test_snapshot_expect(root, FLAGS, plugged, "hotunplug timed out");
	free(plugged);
	ck_assert_uint_eq(node_stat(root, "/dev/vfio/7").st_uid, HYPERVISOR_UID);
	test_root_remove(root);
}
END_TEST

START_TEST(test_hotunplug_of_a_hostdev_not_held)
{
	const char *root = root_new();
	fake_qemu fq = {0};
	fake_qemu_start(&fq);
	test_run run;
	/* The server gets no connection: refused before QEMU is asked. Connect once so that it ends. */
	run_vfguard(&run, root, &fq, "hotunplug", "01:00.0", NULL);
	expect_status(&run, 1, "hotunplug");
	ck_assert_str_eq(run.err, "vfguard: 0000:01:00.0: domain vm1 does not hold it: nothing to unplug: No such file "
				  "or directory\n");
	test_run_free(&run);
	kill(fq.pid, SIGTERM);
	waitpid(fq.pid, NULL, 0);
	unlink(fq.log);
	unlink(fq.socket);
	rmdir(fq.dir);
	test_root_remove(root);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("qmp_hotplug");
	TCase *tc = tcase_create("qmp_hotplug");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_path_hotplug_grants_and_adds_device);
	tcase_add_test(tc, test_fd_hotplug_passes_the_nodes_fds);
	tcase_add_test(tc, test_iommufd_object_added_once);
	tcase_add_test(tc, test_iommufd_object_of_qemu_args_used);
	tcase_add_test(tc, test_qmp_error_revokes_and_undoes);
	tcase_add_test(tc, test_legacy_fd_refused_as_qemu_args_refuses);
	tcase_add_test(tc, test_fds_only_to_the_domains_uid);
	tcase_add_test(tc, test_hotunplug_revokes);
	tcase_add_test(tc, test_hotunplug_keeps_object_another_device_uses);
	tcase_add_test(tc, test_hotunplug_timeout_keeps_grants);
	tcase_add_test(tc, test_hotunplug_of_a_hostdev_not_held);
	suite_add_tcase(suite, tc);
	return test_main(suite);
}
