#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# What an administrator's start and stop hook does for a VM's VFIO nodes
# without vfguard: chown each node the hypervisor must open (the 0666
# container needs none) and allow it in the VM's v1 device cgroup; at stop,
# chown it back and deny it again. No record, no check beyond "is a char
# device", no sharing: bench/compare times it against vfguard.
#
#     shell-hook.sh apply  CGROUP UID:GID NODE...
#     shell-hook.sh revoke CGROUP UID:GID NODE...   (UID:GID: the owner to give back)
#
# v1 only: a shell has no way to a cgroup2 device program's map.
set -eu

if [ $# -lt 4 ] || { [ "$1" != apply ] && [ "$1" != revoke ]; }; then
	echo "Usage: shell-hook.sh apply|revoke CGROUP UID:GID NODE..." >&2
	exit 2
fi
action=$1 cgroup=$2 owner=$3
shift 3
rules=$cgroup/devices.allow
[ "$action" = revoke ] && rules=$cgroup/devices.deny

for node in "$@"; do
	[ -c "$node" ] || {
		echo "shell-hook.sh: $node is no char device" >&2
		exit 1
	}
	# %a is the octal mode, %Hr:%Lr the major and minor (stat(1), GNU coreutils)
	info=$(stat -c '%a %Hr:%Lr' "$node")
	mode=${info% *} number=${info#* }
	[ "$mode" = 666 ] || chown "$owner" "$node"
	echo "c $number rw" >"$rules"
done
