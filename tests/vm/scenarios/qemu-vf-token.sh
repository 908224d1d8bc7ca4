# vfgvm-root: clients
# vfgvm-qemu: igb
# vfgvm-timeout: 240
# A real QEMU (trixie-backports) and a VF whose PF has a userspace driver
# (issue 22): the igb PF on vfio-pci with SR-IOV enabled, vf_token_pf setting
# the token and holding the PF, vfguard's apply for uid 107 with vf-token=.
# QEMU, as uid 107 and paused, realizes the VF by the group path with the
# token vfguard carried (QMP query-pci lists 8086:10ca) and fails without it
# and with a wrong one ("error getting device from group N: Permission
# denied": VFIO_GROUP_GET_DEVICE_FD's EACCES); on iommufd it takes the fds
# and the vf-token= that `vfguard exec` and `vfguard qemu-args` give it and
# realizes the VF. On 6.12 that last part proves QEMU accepts the token
# beside fd=, not that the kernel checks it: 6.12's cdev path takes and
# checks no token (sriov-vf-token, docs/fds.md "VF tokens").
requires sriov legacy iommufd
token=5d1b2e73-0c47-4f58-9a8b-7c6d5e4f3a2b
wrong=00000000-1111-2222-3333-444444444444
param=/sys/module/vfio_pci/parameters/enable_sriov
use_vfio_pci "$IGB_PF"
check enable-sriov sh -c "echo Y >$param"
set_numvfs 1
vf=$(vf_bdf 0)
expect_eq vf-driver "$(pci_driver "$vf")" vfio-pci
group=/dev/vfio/$(iommu_group "$vf")
cdev=$(vfio_cdev "$vf")
vf_token_pf_start "$token"
mkdir -m 0777 run
socket=$PWD/run/qmp.sock
qemu="qemu-system-x86_64 -S -nodefaults -display none -accel tcg -m 64 -qmp unix:$socket,server=on,wait=off"

# The group path: QEMU opens the group and names the VF with the token.
set -- --set labelers=dac --domain vm1 --uid 107 --gid 107 --hostdev "$vf,backend=legacy,vf-token=$token"
before=$(sriov_snapshot "$group" /dev/vfio/vfio)
check legacy-apply vfguard apply "$@" || exit 1
vfguard plan --json "$@" >plan.json
carried=$(json_get plan.json hostdevs 0 vf_token)
expect_eq legacy-carried "$carried" "$token"
# Type1 pins all of QEMU's RAM before it asks for the device: uid 107 gets
# the RLIMIT_MEMLOCK for it from root here (vfguard's memlock labeler does it
# for a held process in qemu-legacy-path; this scenario is about the token).
with_memlock() {
	sh -c 'ulimit -l 131072 && exec "$@"' _ "$@"
}
with_memlock $(as_uid 107) $qemu -device "vfio-pci,host=$vf" >no-token.out 2>&1
expect_match legacy-no-token-refused "$(cat no-token.out)" "vfio $vf: error getting device from group ${group#/dev/vfio/}: Permission denied"
show_output no-token.out
with_memlock $(as_uid 107) $qemu -device "vfio-pci,host=$vf,vf-token=$wrong" >wrong-token.out 2>&1
expect_match legacy-wrong-token-refused "$(cat wrong-token.out)" "vfio $vf: error getting device from group ${group#/dev/vfio/}: Permission denied"
show_output wrong-token.out
with_memlock $(as_uid 107) $qemu -device "vfio-pci,host=$vf,vf-token=$carried" >qemu.out 2>&1 &
qemu_pid=$!
check legacy-qmp-query-pci qmp --wait 60 --find-pci 8086:10ca "$socket" || show_output qemu.out
check legacy-qmp-quit qmp "$socket" quit
vm_pid=$qemu_pid vm_wait legacy-qemu-exits 30
show_output qemu.out
check legacy-revoke vfguard revoke --set labelers=dac --domain vm1
expect_same legacy-restored "$before" "$(sriov_snapshot "$group" /dev/vfio/vfio)"

# iommufd with fds: vfguard exec hands QEMU the iommufd and the VF's cdev, qemu-args adds vf-token=.
set -- --set labelers=dac --domain vm1 --uid 107 --gid 107 --memory 64M \
	--hostdev "$vf,backend=iommufd,access=fd,vf-token=$token"
before=$(sriov_snapshot "$cdev" /dev/iommu)
check iommufd-apply vfguard apply "$@" || exit 1
vfguard qemu-args "$@" >qemu-args.txt
expect_eq iommufd-qemu-args "$(tr '\n' ' ' <qemu-args.txt)" \
	"-object iommufd,id=iommufd0,fd=3 -device vfio-pci,host=$vf,id=hostdev0,iommufd=iommufd0,fd=4,vf-token=$token "
rm -f "$socket"
# shellcheck disable=SC2046 # one option or value a line
vfguard exec "$@" -- $qemu $(cat qemu-args.txt) >qemu-fd.out 2>&1 &
qemu_pid=$!
check iommufd-qmp-query-pci qmp --wait 60 --find-pci 8086:10ca "$socket" || show_output qemu-fd.out
check iommufd-qmp-quit qmp "$socket" quit
vm_pid=$qemu_pid vm_wait iommufd-qemu-exits 30
show_output qemu-fd.out
check iommufd-revoke vfguard revoke --set labelers=dac --domain vm1
expect_same iommufd-restored "$before" "$(sriov_snapshot "$cdev" /dev/iommu)"

vf_token_pf_stop
set_numvfs 0
check pf-reattach vfguard reattach "$IGB_PF"
expect_eq pf-driver-at-end "$(pci_driver "$IGB_PF")" igb
check disable-sriov sh -c "echo N >$param"
