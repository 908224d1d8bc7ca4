/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crash tests' kill hook, built into libvfguard only when meson is
 * configured with -Dtest_faults=true (meson_options.txt, core/meson.build):
 * the shipped library has neither this code nor the variable it reads, and
 * the test shipped-library checks it. VFGUARD_FAULT_KILL_AT=N kills the
 * process at its Nth journal point of one host_journal_open, with SIGKILL so
 * that nothing of the process runs after it, as in a crash (docs/journal.md,
 * "Crash testing").
 */
#include <signal.h>
#include <stdlib.h>

#include "journal.h"

void host_journal_fault_point(host_journal *hj)
{
	const char *kill_at = getenv("VFGUARD_FAULT_KILL_AT");
	hj->fault_points++;
	if (kill_at && hj->fault_points == strtoul(kill_at, NULL, 10))
		raise(SIGKILL);
}
