#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped library reads no environment variable and holds no crash-test
# kill hook; the plugins read no environment variable either (docs/library.md,
# "State: none shared"; docs/journal.md, "Crash testing"). Run by meson (test
# "shipped-library"):
#   check-shipped-library.sh MESON SOURCE_ROOT TEST_FAULTS LIBRARY PLUGIN...
# TEST_FAULTS is this build's option test_faults. "false": LIBRARY is built as
# shipped, and is checked. "true" (the test build, scripts/build): LIBRARY
# must have the hook, which shows that the checks find it where it is; then
# the library is built apart with meson's default options, as shipped, and
# checked.
set -euo pipefail

if (($# < 4)); then
	echo "usage: check-shipped-library.sh MESON SOURCE_ROOT TEST_FAULTS LIBRARY PLUGIN..." >&2
	exit 2
fi
meson=$1 source=$2 test_faults=$3 library=$4
shift 4
plugins=("$@")
status=0

fail() { # MESSAGE
	echo "$1" >&2
	status=1
}

# Listings are read whole before grep: "nm | grep -q" under pipefail fails
# whenever grep stops early and nm dies of SIGPIPE.
imports_getenv() { # FILE
	local imports
	imports=$(nm -D --undefined-only "$1" | awk '{ print $NF }' | sed 's/@.*//')
	grep -qxE '(secure_)?getenv' <<<"$imports"
}

# The symbol table's names, hidden functions included.
symbols() { # LIBRARY
	nm "$1" | awk '{ print $NF }'
}

# The kill hook: its function (a hidden one: in the symbol table only) or the variable's name.
has_fault_hook() { # LIBRARY
	grep -qx host_journal_fault_point <<<"$(symbols "$1")" || grep -qaF VFGUARD_FAULT_KILL_AT "$1"
}

# A stripped library lists no hidden function: the hook's absence would prove nothing.
expect_symbol_table() { # LIBRARY
	if ! grep -qx host_journal_open <<<"$(symbols "$1")"; then
		echo "nm $1 lists no hidden function: no symbol table to look for the hook in" >&2
		exit 1
	fi
}

expect_shipped() { # LIBRARY
	expect_symbol_table "$1"
	if has_fault_hook "$1"; then
		fail "$1: the crash tests' kill hook is in a library built as shipped (meson_options.txt: test_faults)"
	fi
	if grep -qaF VFGUARD_FAULT "$1"; then
		fail "$1: has the test build's fault injection in a library built as shipped"
	fi
	if imports_getenv "$1"; then
		fail "$1: calls getenv; the library reads no environment (the CLI and the hooks do)"
	fi
}

# A plugin as shipped: no getenv, no fault injection site (tests/faults/vfg_fault.h).
expect_shipped_plugin() { # PLUGIN
	if imports_getenv "$1"; then
		fail "$1: calls getenv; a plugin reads no environment"
	fi
	if grep -qaF VFGUARD_FAULT "$1"; then
		fail "$1: has the test build's fault injection in a plugin built as shipped"
	fi
}

case $test_faults in
false)
	expect_shipped "$library"
	for plugin in "${plugins[@]}"; do
		expect_shipped_plugin "$plugin"
	done
	;;
true)
	expect_symbol_table "$library"
	if ! has_fault_hook "$library" || ! imports_getenv "$library"; then
		fail "$library: built with test_faults, yet the checks find no kill hook or getenv in it"
	fi
	# The plugins built here have the fault injection sites (a part with no
	# changing call has none), which read the environment.
	injected=0
	for plugin in "${plugins[@]}"; do
		grep -qaF VFGUARD_FAULT "$plugin" && injected=$((injected + 1))
	done
	if ((injected == 0)); then
		fail "built with test_faults, yet the check finds fault injection in no plugin"
	fi
	# The shipped library and plugins, apart: meson's default options. A
	# plugin's target is its path in the build tree without .so.
	build_root=$(dirname "$(dirname "$library")")
	plugin_targets=()
	for plugin in "${plugins[@]}"; do
		relative=${plugin#"$build_root"/}
		plugin_targets+=("${relative%.so}")
	done
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	if ! "$meson" setup "$work/build" "$source" >"$work/log" 2>&1 ||
		! "$meson" compile -C "$work/build" core/vfguard:shared_library >>"$work/log" 2>&1 ||
		! "$meson" compile -C "$work/build" "${plugin_targets[@]}" >>"$work/log" 2>&1; then
		echo "cannot build the library with the default options:" >&2
		tail -n 25 "$work/log" >&2
		exit 1
	fi
	expect_shipped "$work/build/core/libvfguard.so"
	for plugin in "${plugins[@]}"; do
		expect_shipped_plugin "$work/build/${plugin#"$build_root"/}"
	done
	;;
*)
	echo "TEST_FAULTS is '$test_faults', expected true or false" >&2
	exit 2
	;;
esac

((status == 0)) && echo "no kill hook in the shipped library; no getenv in it or in ${#plugins[@]} plugins"
exit $status
