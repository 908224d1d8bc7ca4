# vfgvm-cmdline: security=selinux
# shellcheck disable=SC2086,SC2016 # $domain_a and $domain_b are split on purpose; sh -c expands its own
# fd access through private nodes under SELinux enforcing (refpolicy,
# vfguard's module, the test-only one; issue 21, docs/private-nodes.md), and
# SELinux with an mdev: domain vmA has the edu device, domain vmB an mdev of
# the kernel's mtty sample, both iommufd with access=fd, each with its own
# MCS pair. With selinux_fd_nodes = private, vfguard opens every node of a
# domain through a private node of the domain's image label, so each
# domain's fds (its /dev/iommu fd too) carry its own categories:
#   - each domain's svirt_t process takes its fds by SCM_RIGHTS (vfguard fds
#     --socket), finds them unlinked private nodes with its label, and walks
#     the VFIO flow (bind, attach, DMA map);
#   - each is refused the other's fds: SELinux checks a passed file when it
#     is received (selinux_file_receive() -> file_has_perm(), where the MCS
#     constraint denies the other categories), and scm_detach_fds()
#     (net/core/scm.c) then installs no fd and sets MSG_CTRUNC; the denial is
#     in the kernel's log. (An inherited fd cannot get that far: an exec
#     into another domain replaces each fd the new domain may not use with
#     the null device, flush_unauthorized_files() in
#     security/selinux/hooks.c, Linux 6.12.)
#   - the host's /dev/iommu, the edu cdev and the mdev's cdev (and the
#     container and edu's group) keep their labels, compared before, during
#     and after; plan, apply and revoke change none of them, and audit finds
#     no drift.
# Then edu on the legacy backend the same way: container and group by
# private nodes of vmA's label, the whole type1 flow.
requires iommufd mdev
use_vfio_pci "$EDU"
edu_cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
uuid=83b8f4f2-509f-382f-3c1e-e6bfe0fa1002
for type in /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-*; do break; done
check mdev-create sh -c "echo $uuid >$type/create" || exit 1
mdev_cdev=/dev/vfio/devices/$(basename "$(ls -d "/sys/bus/mdev/devices/$uuid"/vfio-dev/vfio*)")
edu_group=/dev/vfio/$(iommu_group "$EDU")
c12=system_u:system_r:svirt_t:s0:c1,c2
c34=system_u:system_r:svirt_t:s0:c3,c4
image12=system_u:object_r:svirt_image_t:s0:c1,c2
image34=system_u:object_r:svirt_image_t:s0:c3,c4
edu_hostdev="$EDU,backend=iommufd,access=fd"
mdev_hostdev="mdev=$uuid,backend=iommufd,access=fd"
printf 'labelers = selinux\nselinux_fd_nodes = private\n' >private.conf
config=$PWD/private.conf
# Each domain's arguments, the same to every command (no value holds a space; the guest's shell has no arrays).
domain_a="--config $config --domain vmA --uid 0 --gid 0 --selinux-label $c12 --hostdev $edu_hostdev"
domain_b="--config $config --domain vmB --uid 0 --gid 0 --selinux-label $c34 --hostdev $mdev_hostdev"

selinux_enforce
# The host's three nodes and their labels, one line each; a label that
# reads back empty is written "EMPTY", which no later snapshot may match.
labels() {
	local node label
	for node in /dev/iommu "$edu_cdev" "$mdev_cdev" /dev/vfio/vfio "$edu_group"; do
		label=$(selinux_label "$node")
		echo "$node ${label:-EMPTY}"
	done
}
labels >before.labels
show_output before.labels
check labels-before-read sh -c '! grep -q EMPTY before.labels && test "$(wc -l <before.labels)" = 5'
expect_match iommu-label-before "$(selinux_label /dev/iommu)" "$selinux_file_label"
expect_match mdev-cdev-label-before "$(selinux_label "$mdev_cdev")" "$selinux_file_label"
same_labels() {
	labels >now.labels
	check "$1" sh -c '! grep -q EMPTY now.labels && diff before.labels now.labels'
}

# The plan says no host node changes: /dev/iommu needs nothing, a cdev's step holds the labels.
plan $domain_a
expect_eq plan-iommu-none "$(plan_get steps node=/dev/iommu action)" none
expect_eq plan-cdev-detail "$(plan_get steps "node=$edu_cdev" detail)" \
	"private node $image12; host node unchanged"

check apply-a vfguard apply $domain_a || exit 1
check apply-b vfguard apply $domain_b || exit 1
same_labels labels-after-apply
vfguard audit $domain_a >audit-a.out 2>&1
expect_eq audit-a "exit $?: $(head -n 1 audit-a.out)" "exit 0: domain vmA: no drift"
vfguard audit $domain_b >audit-b.out 2>&1
expect_eq audit-b "exit $?: $(head -n 1 audit-b.out)" "exit 0: domain vmB: no drift"
show_output audit-b.out

# serve NAME DOMAIN-ARGS...: vfguard fds for one receiver on /tmp/NAME.sock, in the background ($server).
serve() {
	local name=$1
	shift
	rm -f "/tmp/$name.sock"
	vfguard fds "$@" --socket "/tmp/$name.sock" --timeout 60 >"$name.out" 2>"$name.err" &
	server=$!
	tries=0
	while [ ! -S "/tmp/$name.sock" ] && [ $tries -lt 100 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
}

# waiting FILE: wait up to 30 s for FILE (a probe paused with its fds open says so).
waiting() {
	tries=0
	while [ ! -e "$1" ] && [ $tries -lt 300 ]; do
		sleep 0.1
		tries=$((tries + 1))
	done
	[ -e "$1" ]
}

# Each domain's own process, its own fds: private nodes with its label, the
# whole flow. Both hold their fds at once (paused before the DMA map) while
# the host's labels are compared.
serve fds-a $domain_a
server_a=$server
runcon "$c12" vfio_probe iommufd --recv-socket /tmp/fds-a.sock --expect-label "$image12" \
	--expect-rlimit-mode 1 --rlimit-set-errno EPERM --pause-before-map "$PWD/a.go" >a-own.out 2>&1 &
probe_a=$!
serve fds-b $domain_b
server_b=$server
runcon "$c34" vfio_probe iommufd --recv-socket /tmp/fds-b.sock --expect-label "$image34" \
	--expect-rlimit-mode 1 --rlimit-set-errno EPERM --pause-before-map "$PWD/b.go" >b-own.out 2>&1 &
probe_b=$!
check a-holds-its-fds waiting a.go.waiting
check b-holds-its-fds waiting b.go.waiting
same_labels labels-while-both-hold
touch a.go b.go
wait "$probe_a"
echo $? >a-own.status
wait "$probe_b"
echo $? >b-own.status
run_checks -p a-own sh -c 'cat a-own.out; exit "$(cat a-own.status)"'
run_checks -p b-own sh -c 'cat b-own.out; exit "$(cat b-own.status)"'
check a-fds-exit wait "$server_a"
check b-fds-exit wait "$server_b"
show_output fds-a.err
show_output fds-b.err
same_labels labels-after-use

# Each refused the other's: the receive installs nothing, and SELinux says why.
# With no audit daemon the kernel prints each AVC record through printk_ratelimit()
# (kauditd_printk_skb(), kernel/audit.c), 10 per 5 s by default: the earlier
# denials of this boot (/dev/console and the like) can use that up, and the
# record checked below is then dropped ("callbacks suppressed"). Interval 0 turns
# the limit off (lib/ratelimit.c; sysctl kernel.printk_ratelimit, in seconds).
ratelimit=$(cat /proc/sys/kernel/printk_ratelimit)
check printk-ratelimit-off sh -c 'echo 0 >/proc/sys/kernel/printk_ratelimit'
# refused NAME RECEIVER-LABEL IMAGE-LABEL DOMAIN-ARGS...: a process of
# RECEIVER-LABEL is served the other domain's fds (IMAGE-LABEL): nothing is
# installed, and the kernel logs the denial on the private node (tmpfs).
refused() {
	name=$1 receiver=$2 image=$3
	shift 3
	dmesg -c >/dev/null
	serve "fds-$name" "$@"
	run_checks -p "$name" runcon "$receiver" vfio_probe iommufd --recv-refused "/tmp/fds-$name.sock"
	check "$name-fds-exit" wait "$server"
	dmesg >"denial-$name.log"
	show_output "denial-$name.log"
	check "$name-avc" grep -Eq \
		"avc: +denied +\\{ read write \\} .*dev=\"tmpfs\".* scontext=$receiver tcontext=$image tclass=chr_file" \
		"denial-$name.log"
}
refused a-gets-b "$c12" "$image34" $domain_b
refused b-gets-a "$c34" "$image12" $domain_a
echo "$ratelimit" >/proc/sys/kernel/printk_ratelimit
same_labels labels-during-refusals

check revoke-a vfguard revoke --config "$config" --domain vmA || exit 1
check revoke-b vfguard revoke --config "$config" --domain vmB || exit 1
same_labels labels-after-revoke

# The legacy backend the same way: the container and the group through private nodes of vmA's label.
legacy_a="--config $config --domain vmA --uid 0 --gid 0 --selinux-label $c12 --hostdev $EDU,backend=legacy,access=fd"
check legacy-apply vfguard apply $legacy_a || exit 1
same_labels labels-after-legacy-apply
serve fds-legacy $legacy_a
run_checks -p legacy-own runcon "$c12" vfio_probe legacy --recv-socket /tmp/fds-legacy.sock --device "$EDU" \
	--expect-label "$image12"
check legacy-fds-exit wait "$server"
check legacy-revoke vfguard revoke --config "$config" --domain vmA || exit 1
same_labels labels-after-legacy-revoke
check mdev-remove sh -c "echo 1 >/sys/bus/mdev/devices/$uuid/remove"
