# vfgvm-root: clients
# A real QEMU (trixie-backports) takes an mtty mdev by fd on iommufd, with
# the arguments `vfguard qemu-args` writes for it: the cdev's fd next to
# sysfsdev=/sys/bus/mdev/devices/UUID, which QEMU only reads to know the
# device for an mdev (hw/vfio/device.c, vfio_device_is_mdev()). vfguard apply
# (access=fd: no path grant), then `vfguard exec ... -- qemu-system-x86_64`:
# QEMU runs as uid 107 with no capabilities, its only VFIO fds are the two
# vfguard passed, and QMP query-pci lists mtty's 4348:3253. The host is as
# before once QEMU is gone and the domain revoked.
# shellcheck disable=SC2046,SC2086 # QEMU's words split as a manager splits them
requires iommufd mdev
uuid=83b8f4f2-509f-382f-3c1e-e6bfe0fa1003
for type in /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-*; do break; done
check create sh -c "echo $uuid >$type/create" || exit 1
mdev=/sys/bus/mdev/devices/$uuid
cdev=/dev/vfio/devices/$(basename "$(ls -d "$mdev"/vfio-dev/vfio*)")
set -- --set labelers=dac --domain vm1 --uid 107 --gid 107 --memory 64M --hostdev "mdev=$uuid,backend=iommufd,access=fd"
mkdir -m 0777 run
socket=$PWD/run/qmp.sock
qemu="qemu-system-x86_64 -S -nodefaults -display none -accel tcg -m 64 -qmp unix:$socket,server=on,wait=off"
before=$(host_snapshot /sys/fs/cgroup /dev/iommu "$cdev")

check apply vfguard apply "$@" || exit 1
expect_eq no-path-grant "$(stat -c '%u:%g %a' /dev/iommu "$cdev" | tr '\n' ' ')" "0:0 660 0:0 600 "
vfguard qemu-args "$@" >qemu-args.txt
expect_eq qemu-args "$(tr '\n' ' ' <qemu-args.txt)" \
	"-object iommufd,id=iommufd0,fd=3 -device vfio-pci,sysfsdev=$mdev,id=hostdev0,iommufd=iommufd0,fd=4 "
vfguard exec "$@" -- $qemu $(cat qemu-args.txt) >qemu.out 2>&1 &
qemu_pid=$!
check qmp-query-pci qmp --wait 60 --find-pci 4348:3253 "$socket" || show_output qemu.out
expect_eq qemu-uid "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$qemu_pid/status")" 107107107107
expect_eq qemu-vfio-fds "$(for fd in /proc/"$qemu_pid"/fd/*; do
	target=$(readlink "$fd")
	case $target in /dev/iommu | /dev/vfio/*) echo "${fd##*/}=$target" ;; esac
done | sort -n | tr '\n' ' ')" "3=/dev/iommu 4=$cdev "
check qmp-quit qmp "$socket" quit
check qemu-exits wait "$qemu_pid"
show_output qemu.out
check revoke vfguard revoke --set labelers=dac --domain vm1
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/iommu "$cdev")"
check remove sh -c "echo 1 >$mdev/remove"
