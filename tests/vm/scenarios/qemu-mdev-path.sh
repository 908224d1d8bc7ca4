# vfgvm-root: clients
# A real QEMU (trixie-backports) takes an mdev of the kernel's mtty sample by
# path, with the arguments `vfguard qemu-args` writes for it
# (-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/UUID): vfguard apply (dac,
# cgroup v2, namespace, memlock) for uid 107 on a held process in the
# domain's cgroup and a private /dev, then that process becomes QEMU as uid
# 107 with no capabilities, which opens the mdev's group node itself; QMP
# query-pci in the nested guest lists mtty's 4348:3253. The same QEMU fails
# before the apply and after the revoke, and the host is as before.
# shellcheck disable=SC2046,SC2086,SC2154 # QEMU's words split as a manager splits them; vm_pid is lib.sh's
requires legacy mdev
uuid=83b8f4f2-509f-382f-3c1e-e6bfe0fa1002
for type in /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-*; do break; done
check create sh -c "echo $uuid >$type/create" || exit 1
mdev=/sys/bus/mdev/devices/$uuid
group=/dev/vfio/$(basename "$(readlink "$mdev/iommu_group")")
cg=/sys/fs/cgroup/vfg-qemu-mdev
check setup-cgroup mkdir "$cg" || exit 1
mkdir -m 0777 run
set -- --set labelers=dac,cgroup --domain vm1 --uid 107 --gid 107 --memory 64M \
	--hostdev "mdev=$uuid,backend=legacy"
check qemu-args sh -c "vfguard qemu-args $* >qemu-args.out" || exit 1
expect_eq qemu-args-sysfsdev "$(cat qemu-args.out)" "-device vfio-pci,sysfsdev=$mdev,id=hostdev0"
qemu="qemu-system-x86_64 -S -nodefaults -display none -accel tcg -m 64 -qmp unix:$PWD/run/qmp.sock,server=on,wait=off
	$(cat qemu-args.out)"
before=$(host_snapshot "$cg" /dev/vfio/vfio "$group")

# Before: the same QEMU in the same place, nothing granted.
vm_start "$cg" $(as_uid 107) $qemu
vm_go
vm_wait before-qemu-exits 60
expect_match before-qemu-refused "$(cat vm.out)" "Could not open '$group': No such file or directory"
show_output vm.out

# During: apply on the held process, then QEMU in its place.
vm_start "$cg" $(as_uid 107) $qemu
check apply vfguard apply "$@" --pid "$vm_pid" || { kill "$vm_pid"; exit 1; }
vm_go
check qmp-query-pci qmp --wait 60 --find-pci 4348:3253 "$PWD/run/qmp.sock"
expect_eq qemu-uid "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$vm_pid/status")" 107107107107
expect_eq qemu-no-caps "$(awk '/^CapEff:/ { print $2 }' "/proc/$vm_pid/status")" 0000000000000000
expect_match qemu-holds-group "$(ls -l "/proc/$vm_pid/fd/")" " -> $group\$"
check audit-clean vfguard audit "$@" --pid "$vm_pid"
check qmp-quit qmp "$PWD/run/qmp.sock" quit
vm_wait qemu-exits 30
check revoke vfguard revoke --set labelers=dac,cgroup --domain vm1

# After: refused again, in the private /dev (no node) and on the host's /dev (DAC).
vm_start "$cg" $(as_uid 107) $qemu
vm_go
vm_wait after-qemu-exits 60
expect_match after-qemu-refused "$(cat vm.out)" "Could not open '$group': No such file or directory"
show_output vm.out
$(as_uid 107) $qemu >host-dev.out 2>&1
expect_match after-host-dev-refused "$(cat host-dev.out)" "Could not open '$group': Permission denied"
show_output host-dev.out
expect_same host-as-before "$before" "$(host_snapshot "$cg" /dev/vfio/vfio "$group")"
check cleanup-cgroup rmdir "$cg"
check remove sh -c "echo 1 >$mdev/remove"
