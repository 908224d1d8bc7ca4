#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The library exports exactly what its public headers declare, each function
# in the version node core/libvfguard.map gives it, and the map lists nothing
# else; and it holds no writable data of its own. Run by meson (test "symbols"):
#   check-symbols.sh CC INCLUDE_DIR MAP LIBRARY
# CC is the compiler meson builds with: it lists the headers' declarations
# itself (-aux-info), so no hand-written parser can miss one.
set -euo pipefail

if (($# != 4)); then
	echo "usage: check-symbols.sh CC INCLUDE_DIR MAP LIBRARY" >&2
	exit 2
fi
cc=$1 include=$2 map=$3 library=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every public header, included once; -aux-info writes one prototype a line,
# each after a comment naming the file that declares it.
for header in "$include"/vfguard/*.h; do
	echo "#include <vfguard/$(basename "$header")>"
done >"$work/all.c"
# shellcheck disable=SC2086 # CC may be a command with arguments ("ccache cc")
$cc -D_GNU_SOURCE -I"$include" -fsyntax-only -aux-info "$work/aux" "$work/all.c"
grep -F "$include/vfguard/" "$work/aux" | grep -v ' static ' |
	sed -E 's/.*[ *](vfg_[A-Za-z0-9_]+) \(.*/\1/' | sort -u >"$work/declared"

# What the library exports, with its version: "vfg_x@@VFGUARD_0.1".
nm -D --defined-only "$library" | awk '$2 != "A" { print $3 }' | sort -u >"$work/exported-versioned"
sed 's/@.*//' "$work/exported-versioned" | sort -u >"$work/exported"

# The map's global names: comments out, then every "name;" between "global:" and
# the node's "local:" or its closing brace (a later node has no "local:").
sed -e 's|/\*.*\*/||' -e '/\/\*/,/\*\//d' "$map" |
	awk '/global:/ { on = 1; next } /local:|^}/ { on = 0 } on' |
	tr -d ' \t;' | grep -v '^$' | sort >"$work/mapped-all"
sort -u "$work/mapped-all" >"$work/mapped"

status=0
# grep for lines that should not be there: none is a pass (exit 1), an error is not.
unexpected() { # GREP-ARGS...
	grep "$@" || (($? == 1))
}
report() { # TITLE FILE
	if [[ -s $2 ]]; then
		echo "$1:" >&2
		sed 's/^/  /' "$2" >&2
		status=1
	fi
}
comm -23 "$work/declared" "$work/exported" >"$work/d"
report "declared in include/vfguard/*.h but not exported (add them to $(basename "$map"))" "$work/d"
comm -13 "$work/declared" "$work/exported" >"$work/d"
report "exported but declared in no public header (declare them, or leave them out of the map)" "$work/d"
comm -23 "$work/mapped" "$work/declared" >"$work/d"
report "listed in $(basename "$map") but declared in no public header" "$work/d"
# The other way too: a map the parse above read as empty would pass every check of it.
comm -13 "$work/mapped" "$work/declared" >"$work/d"
report "declared in include/vfguard/*.h but not listed in $(basename "$map")" "$work/d"
uniq -d "$work/mapped-all" >"$work/d"
report "listed twice in $(basename "$map")" "$work/d"
unexpected -v '@@VFGUARD_' "$work/exported-versioned" >"$work/d"
report "exported without a VFGUARD_ version" "$work/d"

# No global state (DESIGN.md: everything lives in a context): the library's
# writable data is the C runtime's own, nothing of ours. Constant tables with
# pointers live in .data.rel.ro, which is read-only once relocated.
objdump -t "$library" >"$work/symbols"
# Without a symbol table (a stripped library) the listing is empty and would pass.
if ! grep -q ' vfg_context_new$' "$work/symbols"; then
	echo "objdump -t $library lists no symbol table: cannot check its writable data" >&2
	exit 1
fi
awk '$4 == ".data" || $4 == ".bss" || $4 == ".tbss" || $4 == ".tdata" { print $NF }' "$work/symbols" >"$work/writable"
# Built with ASan (the sanitizer suite, docs/testing.md), each global has a
# byte beside it for ASan's one-definition-rule check: ASan's, not ours.
# The test build's fault injection sites count their passes in a static of
# each (tests/faults/vfg_fault.h): the shipped library has none of them.
unexpected -vxE 'completed\.[0-9]+|__dso_handle|__TMC_END__|\.(data|bss|tbss|tdata)|__odr_asan\..+|vfg_fault_calls_\.[0-9]+' \
	"$work/writable" >"$work/d"
report "writable static or global data in the library (move it into the context)" "$work/d"

soname=$(readelf -d "$library" | sed -nE 's/.*Library soname: \[(.*)\]/\1/p')
if [[ $soname != libvfguard.so.1 ]]; then
	echo "soname is '$soname', expected libvfguard.so.1" >&2
	status=1
fi

n=$(wc -l <"$work/declared")
if ((n < 50)); then
	# The headers declare some eighty functions: far fewer means the listing broke, not the library.
	echo "only $n declarations found in $include/vfguard: the -aux-info listing did not work" >&2
	status=1
fi
((status == 0)) && echo "$n functions: declared, exported as VFGUARD_*, and in the map"
exit $status
