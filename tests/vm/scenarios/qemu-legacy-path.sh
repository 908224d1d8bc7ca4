# vfgvm-root: clients
# A real QEMU (trixie-backports) takes the edu device by path, on the legacy
# backend: vfguard apply (dac, cgroup v2, namespace, memlock) for uid 107 on
# a held process in the domain's cgroup and a private /dev, then that
# process becomes `qemu-system-x86_64 -device vfio-pci,host=...` as uid 107
# with no capabilities; QMP query-pci in the nested guest lists 1234:11e8.
# The same QEMU fails before the apply and after the revoke, with its own
# error text, and the host is as before once QEMU is gone.
requires legacy
use_vfio_pci "$EDU"
gnum=$(iommu_group "$EDU")
group=/dev/vfio/$gnum
cg=/sys/fs/cgroup/vfg-qemu-legacy
check setup-cgroup mkdir "$cg" || exit 1
mkdir -m 0777 run
set -- --set labelers=dac,cgroup --domain vm1 --uid 107 --gid 107 --memory 64M \
	--hostdev "$EDU,backend=legacy"
qemu="qemu-system-x86_64 -S -nodefaults -display none -accel tcg -m 64 -qmp unix:$PWD/run/qmp.sock,server=on,wait=off
	-device vfio-pci,host=$EDU"
before=$(host_snapshot "$cg" /dev/vfio/vfio "$group")

# Before: the same QEMU in the same place, nothing granted.
vm_start "$cg" $(as_uid 107) $qemu
vm_go
vm_wait before-qemu-exits 60
expect_match before-qemu-refused "$(cat vm.out)" "vfio $EDU: Could not open '$group': No such file or directory"
show_output vm.out

# During: apply on the held process, then QEMU in its place.
vm_start "$cg" $(as_uid 107) $qemu
check apply vfguard apply "$@" --pid "$vm_pid" || { kill "$vm_pid"; exit 1; }
# 64 MiB of guest memory + memlock_extra 1 GiB, soft and hard (docs/memlock.md)
expect_eq memlock-set "$(memlock_limits "$vm_pid")" "$(((64 + 1024) << 20)) $(((64 + 1024) << 20))"
vm_go
check qmp-query-pci qmp --wait 60 --find-pci 1234:11e8 "$PWD/run/qmp.sock"
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
expect_match after-qemu-refused "$(cat vm.out)" "vfio $EDU: Could not open '$group': No such file or directory"
show_output vm.out
$(as_uid 107) $qemu >host-dev.out 2>&1
expect_match after-host-dev-refused "$(cat host-dev.out)" "vfio $EDU: Could not open '$group': Permission denied"
show_output host-dev.out
expect_same host-as-before "$before" "$(host_snapshot "$cg" /dev/vfio/vfio "$group")"
check cleanup-cgroup rmdir "$cg"
