#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion (completions/vfguard.bash) against the CLI it completes:
# sourced into this bash, _vfguard is called with COMP_WORDS and COMP_CWORD
# as bash sets them, and what it offers is compared with what the CLI says it
# takes: the commands `vfguard --help` lists, and for each command the
# options its own --help names. A command or option added to the CLI without
# its completion fails here. Values come from a real host: a generated one
# (examples/hosts) with a domain applied, so --domain offers its name.
#
#   test-completion.sh COMPLETION CLI MKHOST HOST_MANIFEST      (meson test "completion"; TAP)
set -uo pipefail
completion=$1 cli=$2 mkhost=$3 manifest=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
number=0 failed=0

# shellcheck source=/dev/null # the file named on the command line
source "$completion" || {
	echo "Bail out! $completion does not source"
	exit 1
}
# complete_words WORD...: what the completion offers for the last word (the
# one being typed), sorted, one a line. The first word is the CLI as built.
complete_words() {
	COMP_WORDS=("$cli" "$@")
	COMP_CWORD=$#
	COMPREPLY=()
	_vfguard
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort
}
# expect NAME EXPECTED WORD...: the completion of WORD... is exactly EXPECTED
# (lines); one TAP line, with what differs when it is not.
expect() {
	local name=$1 expected=$2 got
	shift 2
	got=$(complete_words "$@")
	number=$((number + 1))
	if [[ $got == "$expected" ]]; then
		echo "ok $number - $name"
		return
	fi
	failed=$((failed + 1))
	echo "not ok $number - $name"
	diff <(echo "$expected") <(echo "$got") | sed -n 's/^[<>]/# &/p'
}

# The commands: the lines of `vfguard --help` after "Commands:", two spaces in.
commands=$("$cli" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' | sort)
[[ -n $commands ]] || {
	echo "Bail out! no command in \`$cli --help\`"
	exit 1
}
command_count=$(wc -l <<<"$commands")
echo "1..$((command_count + 12))"

expect "every command of \`vfguard --help\` is offered first, with --help and --version" \
	"$(printf '%s\n' "$commands" help --help --version | sort)" ''
# Every option a command's --help names, wherever (a help text names only the
# command's own options), is offered after it, and nothing else.
for command in $commands; do
	options=$("$cli" "$command" --help | grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' | sed 's/^[ ,]*//' | sort -u)
	expect "$command: the options its --help names" "$options" "$command" '--'
done

expect "help: the commands" "$commands" help ''
expect "--selinux: its three modes" $'auto\nforce\noff' plan --selinux ''
expect "--rlimit-mode=: its modes right after '=' (bash splits at it)" $'off\nrequired\nwarn' exec --rlimit-mode =

# A host with one domain: its name, its PCI functions.
root=$work/host
"$mkhost" "$manifest" "$root" >"$work/mkhost.log" 2>&1 || {
	echo "Bail out! $mkhost $manifest: $(cat "$work/mkhost.log")"
	exit 1
}
mkdir -p "$root/etc/vfguard" && echo 'labelers = dac' >"$root/etc/vfguard/vfguard.conf"
if ! output=$("$cli" apply --root "$root" --domain gpu-vm --uid 64055 --gid 64055 --hostdev 0000:41:00.0 2>&1); then
	echo "Bail out! apply on $root failed: $output"
	exit 1
fi
expect "--domain: the domain \`vfguard status --json\` lists under --root" gpu-vm status --root "$root" --domain ''
expect "--domain: with --root=DIR too" gpu-vm revoke --root = "$root" --domain g
# A name as libvirt takes it, with a space and UTF-8: offered as one word
# (printf %q's form of it, which depends on the locale's charset).
if ! output=$("$cli" apply --root "$root" --domain 'GPU vm-ü' --uid 64055 --gid 64055 --hostdev 0000:c1:00.0 2>&1); then
	echo "Bail out! apply of 'GPU vm-ü' on $root failed: $output"
	exit 1
fi
printf -v spaced '%q' 'GPU vm-ü'
expect "--domain: a name with a space, as one word" "$spaced" status --root "$root" --domain G
expect "--domain: both domains" "$(printf '%s\n' "$spaced" gpu-vm | sort)" status --root "$root" --domain ''
expect "--hostdev: the host's functions under --root" $'0000:41:00.0\n0000:41:00.1' \
	plan --root "$root" --hostdev 0000:41:00.
expect "--hostdev: a spec's keys after a comma" $'0000:41:00.0,access=fd\n0000:41:00.0,access=path' \
	apply --root "$root" --hostdev 0000:41:00.0,acc
expect "--hostdev: a managed spec's driver= for a variant" '0000:41:00.0,managed=yes,driver=' \
	apply --root "$root" --hostdev 0000:41:00.0,managed=yes,dr
expect "exec: after --, the command to run" "$(compgen -c -- basen | sort)" exec --domain d -- basen

echo "# $((number - failed)) passed, $failed failed"
((failed == 0))
