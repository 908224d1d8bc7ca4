# The VF token (issue 22) on a real PF/VF pair: the igb PF bound to vfio-pci
# with SR-IOV enabled (vfio_pci's enable_sriov parameter), its VF made through
# sriov_numvfs, and vf_token_pf as the userspace PF driver that sets the token
# (VFIO_DEVICE_FEATURE_PCI_VF_TOKEN) and keeps the PF open. vfguard grants
# the VF (dac, uid 107) with vf-token=; the VF's user, by the group path
# ("BDF vf_token=UUID" to VFIO_GROUP_GET_DEVICE_FD), is refused without the
# token, refused with a wrong one, and walks the type1 flow with the one
# vfguard carried in its plan. Each revoke is compared with a host snapshot
# taken before its apply; the PF goes back to igb at the end.
# vfgvm-qemu: igb
requires sriov legacy iommufd
token=5d1b2e73-0c47-4f58-9a8b-7c6d5e4f3a2b
wrong=00000000-1111-2222-3333-444444444444
param=/sys/module/vfio_pci/parameters/enable_sriov
echo "labelers = dac" >dac.conf
# drivers/vfio/pci/vfio_pci.c (6.12): module_param(enable_sriov, bool, 0644), so
# the built-in driver's parameter is writable at run time (as vfio_pci.enable_sriov=1
# on the command line); without it the PF's sriov_configure answers ENOENT.
expect_eq enable-sriov-default "$(cat "$param")" N
use_vfio_pci "$IGB_PF"
check_fails numvfs-refused-without-enable-sriov sh -c "echo 1 >$IGB_PF_SYS/sriov_numvfs"
check enable-sriov sh -c "echo Y >$param"
set_numvfs 1
vf=$(vf_bdf 0)
expect_eq vf-address "$vf" 0000:01:10.0
# vfio_pci_bus_notifier() (drivers/vfio/pci/vfio_pci_core.c) sets a new VF's
# driver_override to the PF's vfio driver: the VF comes up on vfio-pci.
expect_eq vf-driver "$(pci_driver "$vf")" vfio-pci
expect_eq vf-override "$(cat "/sys/bus/pci/devices/$vf/driver_override")" vfio-pci
group=/dev/vfio/$(iommu_group "$vf")
cdev=$(vfio_cdev "$vf")
check vf-cdev test -c "$cdev" || exit 1

# The userspace PF driver sets the token and holds the PF open.
vf_token_pf_start "$token"

# Legacy (the group path): vfguard carries the token in its plan.
plan --domain vm1 --uid 107 --gid 107 --hostdev "$vf,backend=legacy,vf-token=$token"
carried=$(plan_get hostdevs 0 vf_token)
expect_eq legacy-plan-token "$carried" "$token"
expect_match legacy-plan-token-via "$(plan_get hostdevs 0 vf_token_via)" '^group path: .*vf_token=UUID'
before=$(sriov_snapshot "$group" /dev/vfio/vfio)
check legacy-apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "$vf,backend=legacy,vf-token=$token" || exit 1
# vfio_pci_validate_vf_token(): a VF of a vfio-pci PF needs the PF's token (EACCES without, EACCES when wrong).
run_checks -p legacy-no-token vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$vf" \
	--uid 107 --gid 107 --device-errno EACCES
run_checks -p legacy-wrong-token vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$vf" \
	--uid 107 --gid 107 --vf-token "$wrong" --device-errno EACCES
run_checks -p legacy-token vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$vf" \
	--uid 107 --gid 107 --vf-token "$carried"
check legacy-revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
expect_same legacy-restored "$before" "$(sriov_snapshot "$group" /dev/vfio/vfio)"

# iommufd (the cdev path): vfguard carries the token into QEMU's vf-token=. 6.12's
# VFIO_DEVICE_BIND_IOMMUFD has no token (include/uapi/linux/vfio.h: flags "Must
# be 0"; device_cdev.c refuses any flag with EINVAL) and checks none: the VF
# binds without one, though its PF is on vfio-pci with a token set. The check
# came with commit be2e70b96c3e ("vfio/pci: Do vf_token checks for
# VFIO_DEVICE_BIND_IOMMUFD", July 2025), with VFIO_DEVICE_BIND_FLAG_TOKEN.
hostdev="$vf,backend=iommufd,access=fd,vf-token=$token"
expect_match iommufd-qemu-args "$(vfguard qemu-args --domain vm1 --hostdev "$hostdev" | grep -o 'vf-token=[^,]*')" \
	"^vf-token=$token\$"
plan --domain vm1 --uid 107 --gid 107 --hostdev "$vf,backend=iommufd,vf-token=$token"
expect_match iommufd-plan-token-via "$(plan_get hostdevs 0 vf_token_via)" '^cdev path: .*VFIO_DEVICE_BIND_FLAG_TOKEN'
before=$(sriov_snapshot "$cdev" /dev/iommu)
check iommufd-apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "$vf,backend=iommufd,vf-token=$token" || exit 1
run_checks -p cdev-token-flag-6.12 vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--rlimit-set-errno EPERM --vf-token "$token" --device-errno EINVAL
run_checks -p cdev-no-token-unchecked-6.12 vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 107 --gid 107 --rlimit-set-errno EPERM
check iommufd-revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
expect_same iommufd-restored "$before" "$(sriov_snapshot "$cdev" /dev/iommu)"

# The PF's user goes, the VF with it, the PF back to igb.
vf_token_pf_stop
set_numvfs 0
expect_absent vf-gone "$IGB_PF_SYS/virtfn0"
check pf-reattach vfguard reattach "$IGB_PF"
expect_eq pf-driver-at-end "$(pci_driver "$IGB_PF")" igb
check disable-sriov sh -c "echo N >$param"
