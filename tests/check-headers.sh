#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every public header is usable alone: a file that includes just that header
# (twice, for its include guard) compiles as strict C11 with every warning an
# error, without the includer defining a feature macro first. And every header
# of include/vfguard is one meson installs. Run by meson (test "headers"):
#   check-headers.sh CC INCLUDE_DIR INSTALLED_HEADER...
set -euo pipefail

if (($# < 3)); then
	echo "usage: check-headers.sh CC INCLUDE_DIR INSTALLED_HEADER..." >&2
	exit 2
fi
cc=$1 include=$2
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
for path in "$@"; do
	basename "$path"
done | sort >"$work/installed"
for path in "$include"/vfguard/*.h; do
	basename "$path"
done | sort >"$work/present"
if ! diff -u "$work/present" "$work/installed" >"$work/diff"; then
	echo "include/vfguard/*.h (-) and the headers include/vfguard/meson.build installs (+) differ:" >&2
	cat "$work/diff" >&2
	status=1
fi

while read -r header; do
	printf '#include <vfguard/%s>\n#include <vfguard/%s>\n' "$header" "$header" >"$work/alone.c"
	# shellcheck disable=SC2086 # CC may be a command with arguments ("ccache cc")
	if ! $cc -std=c11 -pedantic -Wall -Wextra -Werror -I"$include" -fsyntax-only "$work/alone.c" 2>"$work/errors"; then
		echo "vfguard/$header does not compile on its own:" >&2
		sed 's/^/  /' "$work/errors" >&2
		status=1
	fi
done <"$work/present"

((status == 0)) && echo "$(wc -l <"$work/present") headers, each compiled alone"
exit $status
