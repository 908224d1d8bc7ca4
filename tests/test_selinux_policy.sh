#!/bin/bash
# vfguard's SELinux policy module against Debian's refpolicy, with the
# distribution's policy tools: linked offline into a copy of the module store
# (policy/selinux/link-policy), it must add exactly the allow rules
# policy/selinux/allow-rules.txt lists (sesearch), label /dev/iommu and the
# cdevs (the linked file contexts), and give fd access to the shared VFIO
# nodes without opening path access (vfguard audit through libsepol).
#
#   test_selinux_policy.sh MODULE.pp ALLOW_RULES LINK_POLICY OPENER_TEST.pp
# with $VFGUARD_CLI, $VFGUARD_MKHOST and $VFGUARD_PLUGIN_DIR set. TAP output.
set -uo pipefail
module=$1 allow_rules=$2 link_policy=$3 opener_module=$4
base=/etc/selinux/default/policy/policy.33
base_contexts=/etc/selinux/default/contexts/files/file_contexts
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
number=0 failed=0

result() { # result ok|not-ok NAME [DETAIL FILE]
	number=$((number + 1))
	if [[ $1 == ok ]]; then
		echo "ok $number - $2"
	else
		failed=$((failed + 1))
		echo "not ok $number - $2"
		[[ -n ${3:-} ]] && sed 's/^/# /' "$3"
	fi
}
echo "1..8"

if "$link_policy" "$work/linked" "$module" >"$work/link.log" 2>&1; then
	result ok "the module links into refpolicy offline (semodule --path)"
else
	result not-ok "the module links into refpolicy offline (semodule --path)" "$work/link.log"
	exit 1
fi
linked=$work/linked/policy.33

# listing FILE COMMAND...: COMMAND's output, sorted, into FILE. It must run and
# list something (refpolicy has rules of every kind asked here): a tool that is
# missing or fails lists nothing for both policies, and two empty listings
# compare equal. Each failure goes to FILE.error, which fails the check.
listing() {
	local file=$1
	shift
	rm -f "$file.error"
	if ! "$@" >"$file.raw" 2>"$file.stderr"; then
		{ echo "$* failed:" && cat "$file.stderr"; } >"$file.error"
	elif [[ ! -s $file.raw ]]; then
		echo "$* listed nothing" >"$file.error"
	fi
	sort "$file.raw" >"$file"
}

# The rules the module adds: every allow rule of the linked policy that the base lacks.
listing "$work/allow-base" sesearch -A "$base"
listing "$work/allow-linked" sesearch -A "$linked"
diff "$work/allow-base" "$work/allow-linked" | sed -n 's/^> //p' >"$work/added"
grep -v '^#' "$allow_rules" | sort >"$work/expected"
cat "$work"/allow-*.error >"$work/rules.diff" 2>/dev/null
if [[ -s $work/expected && ! -s $work/rules.diff ]] && diff -u "$work/expected" "$work/added" >"$work/rules.diff"; then
	result ok "the module adds exactly the allow rules of allow-rules.txt ($(wc -l <"$work/added"))"
else
	result not-ok "the module adds exactly the allow rules of allow-rules.txt" "$work/rules.diff"
fi

# No other kind of rule either: type transitions, role rules, booleans, types.
: >"$work/other.diff"
for kind in --type_trans --type_change --type_member --role_allow --role_trans; do
	listing "$work/other-base" sesearch "$kind" "$base"
	listing "$work/other-linked" sesearch "$kind" "$linked"
	cat "$work"/other-*.error 2>/dev/null
	diff "$work/other-base" "$work/other-linked"
done >>"$work/other.diff"
listing "$work/other-base" seinfo -x -b -t -a -r "$base"
listing "$work/other-linked" seinfo -x -b -t -a -r "$linked"
{ cat "$work"/other-*.error 2>/dev/null; diff "$work/other-base" "$work/other-linked"; } >>"$work/other.diff"
if [[ ! -s $work/other.diff ]]; then
	result ok "the module adds no type, attribute, role, boolean or transition"
else
	result not-ok "the module adds no type, attribute, role, boolean or transition" "$work/other.diff"
fi

label() { # label FILE_CONTEXTS PATH: the label a char device at PATH gets
	matchpathcon -m chr_file -f "$1" "$2" | awk '{ print $2 }'
}
{
	echo "refpolicy: /dev/iommu $(label "$base_contexts" /dev/iommu)"
	echo "linked: /dev/iommu $(label "$work/linked/file_contexts" /dev/iommu)"
	echo "linked: /dev/vfio/devices/vfio3 $(label "$work/linked/file_contexts" /dev/vfio/devices/vfio3)"
	echo "linked: /dev/vfio/7 $(label "$work/linked/file_contexts" /dev/vfio/7)"
} >"$work/labels"
cat >"$work/labels.expected" <<'LABELS'
refpolicy: /dev/iommu system_u:object_r:device_t:s0
linked: /dev/iommu system_u:object_r:vfio_device_t:s0
linked: /dev/vfio/devices/vfio3 system_u:object_r:vfio_device_t:s0
linked: /dev/vfio/7 system_u:object_r:vfio_device_t:s0
LABELS
if diff -u "$work/labels.expected" "$work/labels" >"$work/labels.diff"; then
	result ok "/dev/iommu (device_t in refpolicy) and the cdevs are labeled vfio_device_t"
else
	result not-ok "/dev/iommu (device_t in refpolicy) and the cdevs are labeled vfio_device_t" "$work/labels.diff"
fi

# vfguard's own audit on a generated host: with the module, fd access to the
# shared nodes is allowed with virt_use_vfio off; path access still needs it.
root=$work/host
cat >"$work/host.manifest" <<'HOST'
misc vfio 234:196
misc iommu 234:257
group 7 243:0
device 0000:01:00.0 group=7 vendor=10de device=2236 class=030000 driver=vfio-pci cdev=vfio0:511:0
HOST
"$VFGUARD_MKHOST" "$work/host.manifest" "$root" >/dev/null || exit 1
mkdir -p "$root/etc/vfguard" && printf 'labelers = selinux\nselinux = force\n' >"$root/etc/vfguard/vfguard.conf"
# audit POLICY ACCESS BACKEND: the JSON report on stdout. An audit that could
# not run (exit 1 or 2) prints an error in place of the report, in which the
# checks' "no policy finding" would find none: its output then says so, and
# every grep for what a report holds fails.
audit() {
	local status=0
	"$VFGUARD_CLI" audit --root "$root" --domain vm1 --selinux-label system_u:system_r:svirt_t:s0:c1,c2 \
		--policy "$1" --set selinux_manager_label=system_u:system_r:virtd_t:s0-s0:c0.c1023 \
		--hostdev "01:00.0,backend=$3,access=$2" --json || status=$?
	if ((status != 0 && status != 3)); then
		echo "vfguard audit --policy $1 ($2, $3) exited $status: no report"
	fi
}
reported() { # reported FILE: FILE holds an audit's report
	grep -q '"drift"' "$1" && ! grep -q ': no report$' "$1"
}
audit "$linked" fd legacy >"$work/fd.json"
audit "$base" fd legacy >"$work/fd-base.json"
if reported "$work/fd.json" && ! grep -Eq '"kind": *"policy"' "$work/fd.json" &&
	reported "$work/fd-base.json" && grep -q 'setsebool -P virt_use_vfio on' "$work/fd-base.json"; then
	result ok "fd access to /dev/vfio/vfio: denied by refpolicy alone, allowed with the module"
else
	cat "$work/fd.json" "$work/fd-base.json" >"$work/fd.out"
	result not-ok "fd access to /dev/vfio/vfio: denied by refpolicy alone, allowed with the module" "$work/fd.out"
fi
audit "$linked" path legacy >"$work/path.json"
audit "$linked" fd iommufd >"$work/cdev.json"
if reported "$work/path.json" && grep -q 'may open system_u:object_r:vfio_device_t:s0 (chr_file)' "$work/path.json" &&
	grep -q 'setsebool -P virt_use_vfio on' "$work/path.json" && ! grep -q 'may read' "$work/path.json"; then
	result ok "path access still needs virt_use_vfio, for open only"
else
	result not-ok "path access still needs virt_use_vfio, for open only" "$work/path.json"
fi
audit "$base" fd iommufd >"$work/cdev-base.json"
if reported "$work/cdev-base.json" && grep -q 'allow svirt_t svirt_image_t:chr_file map;' "$work/cdev-base.json" &&
	reported "$work/cdev.json" && ! grep -Eq '"kind": *"policy"' "$work/cdev.json"; then
	result ok "mapping the cdev's regions: denied by refpolicy alone, allowed with the module"
else
	cat "$work/cdev.json" "$work/cdev-base.json" >"$work/cdev.out"
	result not-ok "mapping the cdev's regions: denied by refpolicy alone, allowed with the module" "$work/cdev.out"
fi
# The interface a manager of its own calls for private-node fd access
# (vfguard_open_private_vfio_nodes, docs/private-nodes.md), on a test domain
# that has nothing else: linked into refpolicy, it gets exactly what the core
# does to make, label, open and unlink a private node, and the VMs may use
# its fds. No MCS constraint applies to it: refpolicy constrains chr_file
# relabels and opens only for mcs_constrained_type, which it is not (seinfo).
cat >"$work/opener.expected" <<'RULES'
allow vfguard_test_opener_t svirt_image_t:chr_file { getattr ioctl open read relabelto unlink write };
allow vfguard_test_opener_t tmpfs_t:chr_file { create getattr relabelfrom };
allow vfguard_test_opener_t tmpfs_t:dir { add_name remove_name search write };
allow vfguard_test_opener_t tmpfs_t:filesystem mount;
allow vfguard_test_opener_t vfguard_test_opener_t:capability { mknod sys_admin };
allow virt_domain vfguard_test_opener_t:fd use;
RULES
: >"$work/opener.diff"
if "$link_policy" "$work/opener-linked" "$module" "$opener_module" >"$work/opener.diff" 2>&1; then
	opener_policy=$work/opener-linked/policy.33
	{
		sesearch -A -s vfguard_test_opener_t -t svirt_image_t -c chr_file "$opener_policy"
		sesearch -A -s vfguard_test_opener_t -t tmpfs_t "$opener_policy"
		sesearch -A -s vfguard_test_opener_t -t vfguard_test_opener_t -c capability "$opener_policy"
		sesearch -A -s svirt_t -t vfguard_test_opener_t -c fd "$opener_policy"
	} 2>&1 | grep -v ' file_type:\| filesystem_type:\| domain:' | sort >"$work/opener.rules"
	sesearch -A -s svirt_image_t -t tmpfs_t -c filesystem -p associate "$opener_policy" >"$work/opener.associate" 2>&1
	seinfo -x -a mcs_constrained_type "$opener_policy" >"$work/opener.mcs" 2>&1
	if ! diff -u "$work/opener.expected" "$work/opener.rules" >>"$work/opener.diff"; then
		:
	elif ! grep -q 'filesystem associate' "$work/opener.associate"; then
		cat "$work/opener.associate" >>"$work/opener.diff"
	elif ! grep -q 'svirt_t' "$work/opener.mcs" || grep -q vfguard_test_opener_t "$work/opener.mcs"; then
		cat "$work/opener.mcs" >>"$work/opener.diff"
	else
		: >"$work/opener.diff"
	fi
else
	echo "linking the opener test module failed" >>"$work/opener.diff"
fi
if [[ ! -s $work/opener.diff ]]; then
	result ok "vfguard_open_private_vfio_nodes gives a manager exactly what a private node needs"
else
	result not-ok "vfguard_open_private_vfio_nodes gives a manager exactly what a private node needs" "$work/opener.diff"
fi
((failed == 0))
