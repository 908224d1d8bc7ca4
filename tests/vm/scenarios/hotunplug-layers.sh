# Hot-unplug of one hostdev of two on a real kernel (issue 21): domain vm1
# holds QEMU's edu device and an mtty mdev, both legacy with path access,
# through dac and the cgroup2 device program, its hypervisor (uid 107) in the
# domain's cgroup. `revoke --hostdev` of edu takes back edu's group node and its
# cgroup rule only: that process gets EPERM on edu's group again, the mdev
# keeps every grant and walks the whole type1 flow, and the shared container
# stays. edu is then hot-plugged back (apply naming only it), and a revoke of
# it killed at each of its journal points (VFGUARD_FAULT_KILL_AT) is finished
# by `vfguard restore` as that same unplug: the mdev still works every time.
# Before all that, a revoke --hostdev of the mdev while a process holds its
# group node is refused, nothing changed.
# The whole revoke puts the nodes, and the cgroup's programs, back as before.
# vfgvm-boot: alone
# vfgvm-timeout: 300
requires legacy mdev
# shellcheck disable=SC2086 # $grant's words split
use_vfio_pci "$EDU"
uuid=83b8f4f2-509f-382f-3c1e-e6bfe0fa1004
for type in /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-*; do break; done
check create sh -c "echo $uuid >$type/create" || exit 1
mdev=/sys/bus/mdev/devices/$uuid
edu_group=/dev/vfio/$(iommu_group "$EDU")
mdev_group=/dev/vfio/$(basename "$(readlink "$mdev/iommu_group")")
cg=/sys/fs/cgroup/vfg-unplug
check setup-cgroup mkdir "$cg" || exit 1
set -- --set labelers=dac,cgroup --domain vm1
grant="--uid 107 --gid 107 --cgroup $cg"
edu="$EDU,backend=legacy" md="mdev=$uuid,backend=legacy"
snapshot() {
	stat_nodes /dev/vfio/vfio "$edu_group" "$mdev_group"
	echo "programs $(cgroup_probe programs "$cg")"
	ls /run/vfguard/domains 2>/dev/null
}
snapshot >before.state
edu_original=$(stat -c '%u:%g %a' "$edu_group")
# The hypervisor: joins the cgroup, then (vfio_probe --uid) runs as uid 107.
hypervisor() {
	local prefix=$1
	shift
	run_checks -p "$prefix" in_cgroup "$cg" vfio_probe legacy --container /dev/vfio/vfio --uid 107 --gid 107 "$@"
}

check apply vfguard apply "$@" $grant --hostdev "$edu" --hostdev "$md" || exit 1
hypervisor both-edu --group "$edu_group" --device "$EDU"
hypervisor both-mdev --group "$mdev_group" --device "$uuid"

# The mdev still held, its group node open in a process as in its VM:
# revoke --hostdev of it waits, then refuses naming that process, nothing
# changed (the look for holders once left mdevs out, and took it back).
sh -c "exec 3<>$mdev_group; exec sleep 60" &
holder=$!
i=0
while [ "$(readlink /proc/$holder/fd/3)" != "$mdev_group" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
vfguard revoke "$@" --hostdev "mdev:$uuid" >held.out 2>&1
expect_eq mdev-held-refused "$?" 1
show_output held.out
expect_match mdev-held-names-holder "$(cat held.out)" \
	"hostdev mdev:$uuid of domain vm1 is still in its VM: pid $holder \\(sleep\\) has $mdev_group open"
expect_eq mdev-held-group "$(stat -c '%u:%g %a' "$mdev_group")" "107:107 600"
kill $holder
wait $holder 2>/dev/null

check unplug-edu vfguard revoke "$@" --hostdev "$EDU" || exit 1
expect_eq unplug-edu-group "$(stat -c '%u:%g %a' "$edu_group")" "$edu_original"
run_checks -p unplug-edu-cgroup cgroup_probe open --cgroup "$cg" edu-group "$edu_group" EPERM
expect_eq unplug-mdev-group "$(stat -c '%u:%g %a' "$mdev_group")" "107:107 600"
hypervisor unplug-mdev --group "$mdev_group" --device "$uuid"
check unplug-status sh -c "vfguard status --json >status.json"
expect_eq unplug-status-mdev "$(json_get status.json domains 0 hostdevs 0 address)" "mdev:$uuid"
expect_no_json unplug-status-one status.json domains 0 hostdevs 1

# Killed at each journal point of the unplug: restore finishes that unplug.
point=1 finished=no
while [ "$point" -le 40 ]; do
	check "plug-$point" vfguard apply "$@" $grant --hostdev "$edu" || exit 1
	if VFGUARD_FAULT_KILL_AT=$point vfguard revoke "$@" --hostdev "$EDU" >/dev/null 2>&1; then
		finished=$point
		break
	fi
	check "restore-$point" vfguard restore || exit 1
	run_checks -p "killed-$point-edu" cgroup_probe open --cgroup "$cg" edu-group "$edu_group" EPERM
	hypervisor "killed-$point-mdev" --group "$mdev_group" --device "$uuid"
	point=$((point + 1))
done
# at least the begin, the group node's and the rule's undo with their marks, the release
expect_match unplug-kills-covered "$finished" '^([6-9]|[1-3][0-9])$'

check revoke vfguard revoke "$@" || exit 1
unchanged restored before.state
check remove sh -c "echo 1 >$mdev/remove"
check cleanup-cgroup rmdir "$cg"
