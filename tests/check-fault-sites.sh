#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every call that changes the host or the journal has a fault injection site
# (tests/faults/vfg_fault.h) on its line or the two before (a statement
# clang-format broke), or says on one of them why it has none ("no fault: WHY"); and no site's name is used twice
# (each counts its own passes). Run by meson (test "fault-sites"):
#   check-fault-sites.sh SOURCE_ROOT
set -euo pipefail

if (($# != 1)); then
	echo "usage: check-fault-sites.sh SOURCE_ROOT" >&2
	exit 2
fi
cd "$1"
status=0

# The calls that change something: files, nodes, xattrs, cgroup rules, BPF
# programs and maps, resource limits, namespaces, modules loaded, helpers run,
# systemd units set over D-Bus.
calls='write|pwrite|writev|fsync|fdatasync|ftruncate|rename|renameat2?|unlink|unlinkat|rmdir|mkdir|mkdirat|mknod|mknodat'
calls+='|chown|fchown|fchownat|lchown|chmod|fchmod|fchmodat|setxattr|lsetxattr|fsetxattr|removexattr|lremovexattr|fremovexattr'
calls+='|acl_set_file|acl_set_fd|prog_attach|prog_detach|map_update_elem|map_delete_elem'
calls+='|prlimit|setrlimit|setns|unshare|mount|umount2?|dlopen|posix_spawn|fork|execve?|sd_bus_call'
pattern="(^|[^_[:alnum:].>])($calls)[[:space:]]*\\("

sources=(core/*.c plugins/*/*.c memlock/*.c namespace/*.c)
checked=0
for file in "${sources[@]}"; do
	previous='' before_previous=''
	number=0
	while IFS= read -r line; do
		number=$((number + 1))
		code=${line%%//*}
		# a comment line, a function's definition, or no such call
		if [[ $code =~ ^[[:space:]]*(\*|/\*) ]] || [[ $code =~ ^static[^=]*\($ ]] || [[ $code =~ ^static[^=]*\)$ ]] ||
			! [[ $code =~ $pattern ]]; then
			before_previous=$previous previous=$line
			continue
		fi
		stripped=$(sed -E 's/"([^"\\]|\\.)*"//g; s#/\*.*\*/##g' <<<"$code")
		if ! [[ $stripped =~ $pattern ]]; then
			before_previous=$previous previous=$line
			continue
		fi
		# a prlimit that only reads (new limit NULL) changes nothing
		if [[ $stripped =~ prlimit\([^,]*,[^,]*,[[:space:]]*NULL, ]]; then
			before_previous=$previous previous=$line
			continue
		fi
		checked=$((checked + 1))
		if ! grep -qE 'vfg_fault\("|no fault: ' <<<"$before_previous$previous$line"; then
			echo "$file:$number: no fault injection site and no 'no fault: WHY': $line" >&2
			status=1
		fi
		before_previous=$previous previous=$line
	done <"$file"
done

# One name, one site.
duplicates=$(grep -ohE 'vfg_fault\("[^"]+"\)' "${sources[@]}" | sort | uniq -d)
if [[ -n $duplicates ]]; then
	echo "fault injection sites named twice (each name counts its own passes): $duplicates" >&2
	status=1
fi
sites=$(grep -ohE 'vfg_fault\("[^"]+"\)' "${sources[@]}" | sort -u | wc -l)
if ((sites == 0 || checked == 0)); then
	echo "found no fault injection site or no changing call: the patterns are wrong" >&2
	status=1
fi
((status == 0)) && echo "$checked changing calls checked, $sites fault injection sites"
exit $status
