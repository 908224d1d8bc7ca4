/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* include/vfguard/util.h: cleanup and steal (a step's too), the node fd, durable files, the hex, percent and field
 * codecs. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vfguard/util.h>

#include "testlib.h"

/* ---- cleanup and steal ---- */

static int stolen_fd(void)
{
	_cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return vfg_steal_fd(&fd);
}

static char *stolen_text(void)
{
	_cleanup_free_ char *text = strdup("kept");
	ck_assert_ptr_nonnull(text);
	return vfg_steal_ptr(&text);
}

START_TEST(what_is_stolen_survives_the_cleanup_of_its_variable)
{
	int fd = stolen_fd();
	ck_assert_msg(fcntl(fd, F_GETFD) >= 0, "the stolen fd was closed: %s", strerror(errno));
	close(fd);
	char *text = stolen_text();
	ck_assert_str_eq(text, "kept");
	free(text);

	int empty_fd = 5;
	ck_assert_int_eq(vfg_steal_fd(&empty_fd), 5);
	ck_assert_int_eq(empty_fd, -1);
	const char *pointer = "x", *taken = vfg_steal_ptr(&pointer);
	ck_assert_ptr_null(pointer);
	ck_assert_str_eq(taken, "x");
}
END_TEST

/* A step filled with vfg_step_set, as a labeler fills one for its own use: freed by its cleanup. */
START_TEST(a_step_holds_its_last_texts_cut_at_their_bounds_until_its_cleanup)
{
	_cleanup_step_ vfg_step step = {0};
	ck_assert_int_eq(vfg_step_set(&step, VFG_ACTION_GRANT, "first", "reason %d", 1), 0);
	ck_assert_int_eq(vfg_step_set(&step, VFG_ACTION_NONE, NULL, "%s, then %s", step.reason, "two"), 0);
	ck_assert_int_eq(step.action, VFG_ACTION_NONE);
	ck_assert_str_eq(step.detail, "");
	ck_assert_str_eq(step.reason, "reason 1, then two");

	char long_detail[2 * VFG_STEP_DETAIL_MAX], long_reason[2 * VFG_STEP_REASON_MAX];
	memset(long_detail, 'd', sizeof(long_detail) - 1);
	long_detail[sizeof(long_detail) - 1] = '\0';
	memset(long_reason, 'r', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	ck_assert_int_eq(vfg_step_set(&step, VFG_ACTION_GRANT, long_detail, "%s", long_reason), 0);
	ck_assert_uint_eq(strlen(step.detail), VFG_STEP_DETAIL_MAX - 1);
	ck_assert_uint_eq(strlen(step.reason), VFG_STEP_REASON_MAX - 1);

	vfg_step_clear(&step);
	ck_assert_ptr_null(step.detail);
	ck_assert_ptr_null(step.reason);
}
END_TEST

/* ---- the node fd ---- */

static const char host_group[] = "misc vfio 10:196\n"
				 "group 7 243:0\n"
				 "device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci\n";

static vfg_node group_node(void)
{
	vfg_node node = {.kind = VFG_NODE_GROUP, .path = "/dev/vfio/7", .rdev = makedev(243, 0), .group = 7};
	return node;
}

START_TEST(a_node_fd_names_the_checked_inode_through_proc_and_holds_its_stat)
{
	const char *root = test_root_new(host_group);
	vfg_context *ctx = test_context(root);
	vfg_labeler_env env = {.root = vfg_context_root(ctx), .config = vfg_context_config(ctx)};
	vfg_node node = group_node();
	vfg_error err = {0};
	char expected_real[VFG_PATH_MAX], link[VFG_PATH_MAX] = "";
	snprintf(expected_real, sizeof(expected_real), "%s/dev/vfio/7", root);
	{
		_cleanup_node_fd_ vfg_node_fd nfd = {.fd = -1};
		ck_assert_msg(vfg_node_fd_open(&env, &node, &nfd, &err) == 0, "%s", err.message);
		ck_assert_int_ge(nfd.fd, 0);
		ck_assert_str_eq(nfd.real, expected_real);
		ck_assert(S_ISCHR(nfd.st.st_mode));
		ck_assert(nfd.st.st_rdev == makedev(243, 0));
		char proc[VFG_PROC_FD_PATH_MAX];
		ck_assert_str_eq(nfd.proc, vfg_proc_fd_path(nfd.fd, proc, sizeof(proc)));
		ck_assert_int_gt(readlink(nfd.proc, link, sizeof(link) - 1), 0);
		ck_assert_str_eq(link, expected_real);
	}
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

START_TEST(a_node_fd_that_cannot_open_is_minus_one_and_names_the_node)
{
	const char *root = test_root_new(host_group);
	vfg_context *ctx = test_context(root);
	vfg_labeler_env env = {.root = vfg_context_root(ctx), .config = vfg_context_config(ctx)};
	vfg_node node = group_node();
	node.rdev = makedev(243, 1); /* not what the node carries */
	vfg_error err = {0};
	vfg_node_fd nfd;
	ck_assert_int_eq(vfg_node_fd_open(&env, &node, &nfd, &err), -1);
	ck_assert_int_eq(nfd.fd, -1);
	ck_assert_int_eq(err.errnum, EMEDIUMTYPE);
	ck_assert_str_eq(nfd.real, test_path(root, "/dev/vfio/7"));
	vfg_context_free(ctx);
	test_root_remove(root);
}
END_TEST

/* ---- durable files ---- */

/* A fresh empty directory; its path is static. */
static const char *scratch_directory(void)
{
	static char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/vfguard-test-util-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/* How many entries @dir holds besides . and .. */
static int entries(const char *dir)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *entry; (entry = readdir(d));)
		n += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
	return n;
}

START_TEST(a_replaced_file_has_the_new_content_and_mode_and_no_temporary_stays)
{
	const char *dir = scratch_directory();
	char path[128];
	snprintf(path, sizeof(path), "%s/file", dir);
	vfg_error err = {0};
	ck_assert_msg(vfg_file_replace(path, "old\n", 4, &err) == 0, "%s", err.message);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);

	mode_t umask_before = umask(0077);
	ck_assert_msg(vfg_file_replace_owned(path, "new\n", 4, 0644, 0, 0, &err) == 0, "%s", err.message);
	umask(umask_before);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644); /* fchmod: the umask does not apply */
	ck_assert_int_eq(st.st_uid, 0);
	char *content = test_read_file("", path);
	ck_assert_str_eq(content, "new\n");
	free(content);
	ck_assert_int_eq(entries(dir), 1);

	ck_assert_msg(vfg_file_remove(path, &err) == 0, "%s", err.message);
	ck_assert_msg(vfg_file_remove(path, &err) == 0, "a missing file: %s", err.message);
	ck_assert_int_eq(entries(dir), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A child that has exited and is not waited for yet: a zombie, which writes nothing more. */
static pid_t zombie_pid(void)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &(siginfo_t){0}, WEXITED | WNOWAIT), 0);
	return pid;
}

/* DIR/.NAME.vfguard-tmp.PID: the temporary vfg_file_replace() of DIR/NAME writes, as process @pid. */
static void temporary_of(char *buf, size_t size, const char *dir, const char *name, const char *pid)
{
	snprintf(buf, size, "%s/.%s%s%s", dir, name, VFG_FILE_TEMPORARY_INFIX, pid);
}

/*
 * A writer killed between its temporary's create and rename leaves it (an
 * operator's trial found an AppArmor rules file's copy in /etc that nothing
 * removed): the next replace or remove of that file takes it away. Nothing
 * else goes: a live or zombie writer's (reaped, it goes with the next one),
 * another file's, a name of another form, and a real file whose name only
 * looks like one (a domain may be named "web.vfguard-tmp.4000000": its rules
 * file sits beside "web"'s; a review found the first form of this sweep
 * deleting it).
 */
START_TEST(a_temporary_a_killed_writer_left_goes_with_the_next_replace_or_remove)
{
	const char *dir = scratch_directory();
	char path[128], pid[16], dead[192], zombie[192], live[192], other[192], odd[192], zero[192], lookalike[192];
	snprintf(path, sizeof(path), "%s/file", dir);
	snprintf(pid, sizeof(pid), "%d", (int)test_dead_pid());
	temporary_of(dead, sizeof(dead), dir, "file", pid);
	pid_t unreaped = zombie_pid();
	snprintf(pid, sizeof(pid), "%d", (int)unreaped);
	temporary_of(zombie, sizeof(zombie), dir, "file", pid);
	snprintf(pid, sizeof(pid), "%d", (int)getppid());
	temporary_of(live, sizeof(live), dir, "file", pid);
	snprintf(pid, sizeof(pid), "%d", (int)test_dead_pid());
	temporary_of(other, sizeof(other), dir, "other", pid);
	temporary_of(odd, sizeof(odd), dir, "file", "12ab");
	temporary_of(zero, sizeof(zero), dir, "file", "0123");
	snprintf(lookalike, sizeof(lookalike), "%s/file%s%s", dir, VFG_FILE_TEMPORARY_INFIX, pid);
	const char *const made[] = {dead, zombie, live, other, odd, zero, lookalike};
	enum { MADE = sizeof(made) / sizeof(made[0]) };
	for (size_t i = 0; i < MADE; i++)
		test_write_file("", made[i], "torn");
	vfg_error err = {0};
	ck_assert_msg(vfg_file_replace(path, "new\n", 4, &err) == 0, "%s", err.message);
	struct stat st;
	ck_assert_int_eq(lstat(dead, &st), -1);
	for (size_t i = 1; i < MADE; i++)
		ck_assert_msg(lstat(made[i], &st) == 0, "%s was removed", made[i]);
	ck_assert_int_eq(entries(dir), MADE);

	/* the zombie reaped, the next replace takes its file */
	ck_assert_int_eq(waitpid(unreaped, NULL, 0), unreaped);
	ck_assert_msg(vfg_file_replace(path, "new\n", 4, &err) == 0, "%s", err.message);
	ck_assert_int_eq(lstat(zombie, &st), -1);

	/* removed, and the file already gone: a restore that finds no file still sweeps */
	test_write_file("", dead, "torn");
	ck_assert_msg(vfg_file_remove(path, &err) == 0, "%s", err.message);
	ck_assert_int_eq(lstat(dead, &st), -1);
	test_write_file("", dead, "torn");
	ck_assert_msg(vfg_file_remove(path, &err) == 0, "%s", err.message);
	ck_assert_int_eq(lstat(dead, &st), -1);
	ck_assert_int_eq(entries(dir), MADE - 2);
	for (size_t i = 2; i < MADE; i++)
		ck_assert_int_eq(unlink(made[i]), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(a_replace_that_fails_leaves_the_file_and_no_temporary)
{
	const char *dir = scratch_directory();
	char path[128], below[160];
	snprintf(path, sizeof(path), "%s/directory", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	vfg_error err = {0};
	/* rename(2) cannot put a file over a directory: EISDIR. */
	ck_assert_int_eq(vfg_file_replace(path, "x", 1, &err), -1);
	ck_assert_int_eq(err.errnum, EISDIR);
	ck_assert_msg(strstr(err.message, path), "%s", err.message);
	ck_assert_int_eq(entries(dir), 1);
	snprintf(below, sizeof(below), "%s/missing/file", dir);
	ck_assert_int_eq(vfg_file_replace(below, "x", 1, &err), -1);
	ck_assert_int_eq(err.errnum, ENOENT);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(write_all_writes_every_byte)
{
	int pipe_fds[2];
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	_cleanup_close_ int read_end = pipe_fds[0];
	_cleanup_close_ int write_end = pipe_fds[1];
	char data[3000], back[3001];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	ck_assert_int_eq(vfg_write_all(write_end, data, sizeof(data)), 0);
	close(vfg_steal_fd(&write_end));
	size_t got = 0;
	for (ssize_t n; (n = read(read_end, back + got, sizeof(back) - got)) > 0;)
		got += (size_t)n;
	ck_assert_uint_eq(got, sizeof(data));
	ck_assert(memcmp(data, back, sizeof(data)) == 0);
	ck_assert_int_eq(vfg_write_all(-1, data, 1), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

/* A pipe holding @size bytes of @data, its write end closed; returns the read end. */
static int pipe_holding(const void *data, size_t size)
{
	int pipe_fds[2];
	ck_assert_int_eq(pipe2(pipe_fds, O_CLOEXEC), 0);
	ck_assert_int_eq(vfg_write_all(pipe_fds[1], data, size), 0);
	close(pipe_fds[1]);
	return pipe_fds[0];
}

START_TEST(read_all_takes_every_byte_nul_terminated_and_refuses_more_than_the_bound)
{
	char data[10000];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i % 251); /* NULs among them */
	vfg_error err = {0};
	_cleanup_free_ char *content = NULL;
	size_t size = 0;
	{
		_cleanup_close_ int fd = pipe_holding(data, sizeof(data));
		ck_assert_msg(vfg_fd_read_all(fd, "pipe", 0, &content, &size, &err) == 0, "%s", err.message);
	}
	ck_assert_uint_eq(size, sizeof(data));
	ck_assert(memcmp(content, data, sizeof(data)) == 0);
	ck_assert_int_eq(content[size], '\0');

	_cleanup_free_ char *bounded = NULL;
	{
		_cleanup_close_ int fd = pipe_holding(data, sizeof(data));
		ck_assert_int_eq(vfg_fd_read_all(fd, "pipe", sizeof(data) - 1, &bounded, NULL, &err), -1);
	}
	ck_assert_int_eq(err.errnum, EFBIG);
	ck_assert_ptr_null(bounded);
	{
		_cleanup_close_ int fd = pipe_holding(data, sizeof(data));
		ck_assert_int_eq(vfg_fd_read_all(fd, "pipe", sizeof(data), &bounded, NULL, &err), 0);
	}
}
END_TEST

/* ---- codecs ---- */

START_TEST(hex_round_trips_bytes_and_refuses_what_is_not_whole_hex)
{
	const unsigned char bytes[] = {0x00, 0x7f, 0xab, 0xff, 0x10};
	char hex[16];
	unsigned char back[8];
	ck_assert_uint_eq(vfg_hex_encode(bytes, sizeof(bytes), hex, sizeof(hex)), 10);
	ck_assert_str_eq(hex, "007fabff10");
	ck_assert_int_eq(vfg_hex_decode(hex, back, sizeof(back)), 5);
	ck_assert(memcmp(bytes, back, sizeof(bytes)) == 0);
	ck_assert_int_eq(vfg_hex_decode("ABff", back, sizeof(back)), 2);
	ck_assert_uint_eq(back[0], 0xab);
	ck_assert_int_eq(vfg_hex_decode("", back, sizeof(back)), 0);
	ck_assert_int_eq(vfg_hex_decode("abc", back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(vfg_hex_decode("0g", back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(vfg_hex_decode("000102", back, 2), -ENOBUFS);
	/* Cut at a whole byte, and the whole length returned. */
	ck_assert_uint_eq(vfg_hex_encode(bytes, sizeof(bytes), hex, 6), 10);
	ck_assert_str_eq(hex, "007f");
	ck_assert_int_eq(vfg_hex_value('F'), 15);
	ck_assert_int_eq(vfg_hex_value('g'), -1);
}
END_TEST

START_TEST(percent_encoding_escapes_all_but_printable_ascii_and_round_trips)
{
	const char bytes[] = "a b%\x01~\x7f\xc3\xa9";
	char text[64];
	unsigned char back[16];
	size_t size = sizeof(bytes); /* the NUL too: labels end in one */
	ck_assert_uint_eq(vfg_percent_encode(bytes, size, text, sizeof(text)), strlen("a%20b%25%01~%7F%C3%A9%00"));
	ck_assert_str_eq(text, "a%20b%25%01~%7F%C3%A9%00");
	ck_assert_int_eq(vfg_percent_decode(text, back, sizeof(back)), (ssize_t)size);
	ck_assert(memcmp(bytes, back, size) == 0);
	ck_assert_int_eq(vfg_percent_decode("%c3%A9", back, sizeof(back)), 2);
	ck_assert_uint_eq(back[0], 0xc3);
	ck_assert_int_eq(vfg_percent_decode("ab%", back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(vfg_percent_decode("ab%4", back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(vfg_percent_decode("%g0", back, sizeof(back)), -EINVAL);
	ck_assert_int_eq(vfg_percent_decode("abc", back, 2), -ENOBUFS);
	/* In place. */
	char same[] = "x%41y";
	ck_assert_int_eq(vfg_percent_decode(same, same, sizeof(same)), 3);
	ck_assert(memcmp(same, "xAy", 3) == 0);
	/* Cut before an escape that does not fit whole, the whole length returned. */
	ck_assert_uint_eq(vfg_percent_encode("ab cd", 5, text, 5), 7);
	ck_assert_str_eq(text, "ab");
}
END_TEST

static const struct {
	const char *value;
	const char *field;
} fields[] = {
	{"", "-"},
	{"-", "%2D"},
	{"-x-", "%2Dx-"},
	{"svirt_t:s0:c1,c2", "svirt_t:s0:c1,c2"},
	{"a b\tc%", "a%20b%09c%25"},
	{"/dev/vfio/7", "/dev/vfio/7"},
	{"\xc3\xa9", "%C3%A9"},
};

START_TEST(a_field_is_dash_when_empty_and_reads_back_as_the_same_string)
{
	char field[64];
	ck_assert_uint_eq(vfg_field_encode(fields[_i].value, field, sizeof(field)), strlen(fields[_i].field));
	ck_assert_str_eq(field, fields[_i].field);
	ck_assert_msg(!strchr(field, ' '), "'%s' has a space", field);
	ck_assert_int_eq(vfg_field_decode(field), 0);
	ck_assert_str_eq(field, fields[_i].value);
}
END_TEST

START_TEST(every_byte_survives_a_field_round_trip_and_bad_fields_are_refused)
{
	char value[256], field[800];
	for (int i = 1; i < 256; i++)
		value[i - 1] = (char)i;
	value[255] = '\0';
	ck_assert_uint_lt(vfg_field_encode(value, field, sizeof(field)), sizeof(field));
	ck_assert_int_eq(vfg_field_decode(field), 0);
	ck_assert_str_eq(field, value);
	/* A NUL would cut the string short; a '%' needs two hex digits. */
	for (const char *const *bad = (const char *[]){"a%00b", "%", "%4", "%zz", NULL}; *bad; bad++) {
		char copy[16];
		snprintf(copy, sizeof(copy), "%s", *bad);
		ck_assert_msg(vfg_field_decode(copy) == -EINVAL, "'%s' was taken", *bad);
	}
	/* Too small a buffer: empty or cut, never the rest without its leading escape. */
	ck_assert_uint_eq(vfg_field_encode("-ab", field, 3), 5);
	ck_assert_str_eq(field, "");
	ck_assert_uint_eq(vfg_field_encode("-ab", field, 5), 5);
	ck_assert_str_eq(field, "%2Da");
}
END_TEST

/* What /bin/sh makes of "printf %s WORD": the one argument WORD stands for. */
static void shell_reads(const char *word, char *out, size_t size)
{
	char command[1024];
	snprintf(command, sizeof(command), "printf %%s %s", word);
	FILE *sh = popen(command, "r");
	ck_assert_ptr_nonnull(sh);
	size_t n = fread(out, 1, size - 1, sh);
	out[n] = '\0';
	ck_assert_int_eq(pclose(sh), 0);
}

START_TEST(a_shell_word_reads_back_as_the_name_through_a_real_shell)
{
	struct {
		const char *name, *word;
	} cases[] = {
		{"vm-1.example_2", "vm-1.example_2"},
		{"vm-\xc3\xbc", "vm-\xc3\xbc"},
		{"Windows 11", "'Windows 11'"},
		{"it's", "'it'\\''s'"},
		{"$(reboot);`x` *", "'$(reboot);`x` *'"},
		{"~root", "'~root'"},
		{"#x", "'#x'"},
		{"a\\b\"c", "'a\\b\"c'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[VFG_NAME_SHELL_SIZE], read_back[256];
		const char *word = vfg_shell_word(cases[i].name, buf, sizeof(buf));
		ck_assert_str_eq(word, cases[i].word);
		shell_reads(word, read_back, sizeof(read_back));
		ck_assert_str_eq(read_back, cases[i].name);
	}
	/* The worst case fits VFG_NAME_SHELL_SIZE: a longest name of quotes. */
	char quotes[VFG_NAME_MAX], buf[VFG_NAME_SHELL_SIZE];
	memset(quotes, '\'', sizeof(quotes) - 1);
	quotes[sizeof(quotes) - 1] = '\0';
	const char *word = vfg_shell_word(quotes, buf, sizeof(buf));
	ck_assert_uint_eq(strlen(word), 4 * strlen(quotes) + 2);
	ck_assert_str_eq(VFG_NAME_SHELL("Windows 11"), "'Windows 11'");
	/* A buffer too small gives no word rather than a cut one, another word (a trial); the exact size does. */
	ck_assert_ptr_null(vfg_shell_word("Windows 11", buf, 12));
	ck_assert_str_eq(vfg_shell_word("Windows 11", buf, 13), "'Windows 11'");
	ck_assert_ptr_null(vfg_shell_word("a b", buf, 0));
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("cleanup");
	tcase_add_test(tc, what_is_stolen_survives_the_cleanup_of_its_variable);
	tcase_add_test(tc, a_step_holds_its_last_texts_cut_at_their_bounds_until_its_cleanup);
	suite_add_tcase(s, tc);

	tc = tcase_create("node fd");
	tcase_add_test(tc, a_node_fd_names_the_checked_inode_through_proc_and_holds_its_stat);
	tcase_add_test(tc, a_node_fd_that_cannot_open_is_minus_one_and_names_the_node);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_test(tc, a_replaced_file_has_the_new_content_and_mode_and_no_temporary_stays);
	tcase_add_test(tc, a_replace_that_fails_leaves_the_file_and_no_temporary);
	tcase_add_test(tc, a_temporary_a_killed_writer_left_goes_with_the_next_replace_or_remove);
	tcase_add_test(tc, write_all_writes_every_byte);
	tcase_add_test(tc, read_all_takes_every_byte_nul_terminated_and_refuses_more_than_the_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("codecs");
	tcase_add_test(tc, hex_round_trips_bytes_and_refuses_what_is_not_whole_hex);
	tcase_add_test(tc, percent_encoding_escapes_all_but_printable_ascii_and_round_trips);
	tcase_add_loop_test(tc, a_field_is_dash_when_empty_and_reads_back_as_the_same_string, 0,
			    sizeof(fields) / sizeof(fields[0]));
	tcase_add_test(tc, every_byte_survives_a_field_round_trip_and_bad_fields_are_refused);
	tcase_add_test(tc, a_shell_word_reads_back_as_the_name_through_a_real_shell);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return test_main(util_suite());
}
