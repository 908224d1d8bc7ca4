# vfgvm-root: clients
# A real QEMU (trixie-backports) on iommufd with fds only: vfguard apply
# (access=fd: no path grant), then `vfguard exec ... -- qemu-system-x86_64
# ... $(vfguard qemu-args ...)`. QEMU runs as uid 107 with no capabilities,
# QMP query-pci lists 1234:11e8, its only VFIO fds are the two vfguard
# passed, RLIMIT_MODE reads 1 (per-process accounting) on its iommufd, and
# QEMU itself, asked over QMP to open the nodes by path, is refused. Before
# the apply and after the revoke, exec refuses and QEMU by path fails, with
# its own error text; the host is as before once QEMU is gone.
requires iommufd
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
set -- --set labelers=dac --domain vm1 --uid 107 --gid 107 --memory 64M --hostdev "$EDU,backend=iommufd,access=fd"
mkdir -m 0777 run
socket=$PWD/run/qmp.sock
qemu="qemu-system-x86_64 -S -nodefaults -display none -accel tcg -m 64 -qmp unix:$socket,server=on,wait=off"
nodes="/dev/iommu $cdev $group /dev/vfio/vfio"
before=$(host_snapshot /sys/fs/cgroup $nodes)

# vfio_fds PID: PID's fds on /dev/iommu and /dev/vfio/*, as "FD=PATH" words.
vfio_fds() {
	local fd target
	for fd in /proc/"$1"/fd/*; do
		target=$(readlink "$fd")
		case $target in
		/dev/iommu | /dev/vfio/*) echo "${fd##*/}=$target" ;;
		esac
	done | sort -n | tr '\n' ' '
}

# Before: exec has nothing to hand over, and QEMU by path is refused.
check_fails before-exec-refused vfguard exec "$@" -- true
$(as_uid 107) $qemu -object iommufd,id=i0 -device "vfio-pci,host=$EDU,iommufd=i0" >before.out 2>&1
expect_match before-path-refused "$(cat before.out)" "vfio-dev: Failed to open $cdev"
show_output before.out

check apply vfguard apply "$@" || exit 1
expect_eq no-path-grant "$(stat -c '%u:%g %a' /dev/iommu "$cdev" | tr '\n' ' ')" "0:0 660 0:0 600 "
vfguard qemu-args "$@" >qemu-args.txt
expect_eq qemu-args "$(tr '\n' ' ' <qemu-args.txt)" \
	"-object iommufd,id=iommufd0,fd=3 -device vfio-pci,host=$EDU,id=hostdev0,iommufd=iommufd0,fd=4 "
# shellcheck disable=SC2046 # one option or value a line
vfguard exec "$@" -- $qemu $(cat qemu-args.txt) >qemu.out 2>&1 &
qemu_pid=$!
check qmp-query-pci qmp --wait 60 --find-pci 1234:11e8 "$socket" || show_output qemu.out
expect_eq qemu-is-exec "$(readlink "/proc/$qemu_pid/exe")" /usr/bin/qemu-system-x86_64
expect_eq qemu-uid "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$qemu_pid/status")" 107107107107
expect_eq qemu-no-caps "$(awk '/^Cap(Prm|Eff|Amb):/ { printf "%s ", $2 }' "/proc/$qemu_pid/status")" \
	"0000000000000000 0000000000000000 0000000000000000 "
expect_eq qemu-vfio-fds "$(vfio_fds "$qemu_pid")" "3=/dev/iommu 4=$cdev "
run_checks vfio_probe rlimit-mode "$qemu_pid" 3
# QEMU, asked over QMP to add the device again by path, is refused by the
# kernel: the cdev on iommufd (an iommufd object without fd opens /dev/iommu
# only once it has the cdev), the group on the legacy backend (/dev/vfio/vfio
# is 0666 by design); and QEMU's uid opens neither /dev/iommu nor the cdev.
check qmp-object-add qmp "$socket" object-add '{"qom-type": "iommufd", "id": "bypath"}'
qmp "$socket" device_add "{\"driver\": \"vfio-pci\", \"host\": \"$EDU\", \"id\": \"bypath-cdev\", \"iommufd\": \"bypath\"}" \
	>bypath-cdev.out 2>&1
expect_match qemu-opens-cdev-refused "$(cat bypath-cdev.out)" "GenericError: .*Failed to open $cdev"
qmp "$socket" device_add "{\"driver\": \"vfio-pci\", \"host\": \"$EDU\", \"id\": \"bypath-group\"}" >bypath-group.out 2>&1
expect_match qemu-opens-group-refused "$(cat bypath-group.out)" "GenericError: .*Could not open '$group': Permission denied"
run_checks -p qemu-uid vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
expect_eq qemu-vfio-fds-after-tries "$(vfio_fds "$qemu_pid")" "3=/dev/iommu 4=$cdev "
check audit-clean vfguard audit "$@"
check qmp-quit qmp "$socket" quit
vm_pid=$qemu_pid vm_wait qemu-exits 30
show_output qemu.out
check revoke vfguard revoke --set labelers=dac --domain vm1

# After: refused again, as before.
check_fails after-exec-refused vfguard exec "$@" -- true
$(as_uid 107) $qemu -object iommufd,id=i0 -device "vfio-pci,host=$EDU,iommufd=i0" >after.out 2>&1
expect_match after-path-refused "$(cat after.out)" "vfio-dev: Failed to open $cdev"
show_output after.out
# shellcheck disable=SC2086 # the node list
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup $nodes)"
