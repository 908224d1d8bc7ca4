/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Fault injection (docs/testing.md, "Fault injection"): every call that
 * changes the host or the journal is written
 *
 *	if (vfg_fault("SITE") || fchown(...) < 0)
 *
 * In a build with -Dtest_faults=true, VFGUARD_FAULT=SITE:N:ERRNO makes the
 * Nth pass of this process at SITE fail with ERRNO instead of making the
 * call; SITE:N:ERRNO:all makes every pass from the Nth on fail (a full
 * disk). VFGUARD_FAULT_LOG=FILE appends "SITE N" for every pass, which is
 * how tests/test_faults.c counts the calls before failing each in turn, and
 * "SITE N failed" for each pass it fails, which shows the fault was met.
 * Each site's name is used once (tests/check-fault-sites.sh) and counts
 * its own passes. In the shipped build vfg_fault() is the constant false,
 * and no code or text of this file is left (test shipped-library). It
 * runs in the namespace helpers between fork() and _exit() too: only
 * getenv, open, snprintf, write and close, no stdio stream, no malloc.
 */
#ifndef VFGUARD_TESTS_FAULTS_VFG_FAULT_H
#define VFGUARD_TESTS_FAULTS_VFG_FAULT_H

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#ifdef VFG_TEST_FAULTS
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* One line "SITE N[ failed]" to VFGUARD_FAULT_LOG, if set. */
static inline void vfg_fault_log(const char *site, unsigned long pass, bool failed)
{
	const char *log = getenv("VFGUARD_FAULT_LOG");
	if (!log)
		return;
	int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %lu%s\n", site, pass, failed ? " failed" : "");
	/* one write() with O_APPEND: the namespace helpers' lines never mix with ours */
	if (fd >= 0 && n > 0 && write(fd, line, (size_t)n) < 0)
		n = 0;
	if (fd >= 0)
		close(fd);
}

/* The Nth pass (@calls, this site's counter) at @site: fail it? errno is the injected one when it does. */
static inline bool vfg_fault_pass(const char *site, unsigned long *calls)
{
	int saved = errno;
	unsigned long pass = ++*calls;
	vfg_fault_log(site, pass, false);
	errno = saved;
	const char *spec = getenv("VFGUARD_FAULT");
	size_t length = strlen(site);
	if (!spec || strncmp(spec, site, length) != 0 || spec[length] != ':')
		return false;
	char *end;
	unsigned long at = strtoul(spec + length + 1, &end, 10);
	if (*end != ':')
		return false;
	int injected = (int)strtol(end + 1, &end, 10);
	bool sticky = strcmp(end, ":all") == 0;
	if (pass != at && !(sticky && pass > at))
		return false;
	vfg_fault_log(site, pass, true);
	errno = injected;
	return true;
}

#define vfg_fault(site)                                  \
	__extension__({                                  \
		static unsigned long vfg_fault_calls_;   \
		vfg_fault_pass(site, &vfg_fault_calls_); \
	})
#else
#define vfg_fault(site) false
#endif

/* dlerror(), or errno's text after an injected dlopen failure (which sets no dlerror). */
static inline const char *vfg_fault_dlerror(void)
{
	const char *why = dlerror();
	return why ? why : strerror(errno);
}

#endif
