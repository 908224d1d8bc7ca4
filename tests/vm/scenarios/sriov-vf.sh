# SR-IOV (issue 22) on QEMU's igb, an Intel 82576 PF with SR-IOV (hw/net/igb.c,
# QEMU >= 8.0: this boot runs QEMU 10, tests/vm/fetch-qemu): two VFs made
# through the PF's sriov_numvfs while the PF stays on the kernel's igb driver;
# each function's IOMMU group; one VF planned, granted (dac) and used by
# vfio_probe as uid 107 on the legacy and the iommufd backends, each revoke
# compared with a host snapshot taken before its apply; the VF reattached and
# the VFs taken away again.
#
# What 6.12 gives (Intel IOMMU): every function its own group, the PF's
# (group 5 here) apart from the root port's and each VF's apart from the PF's
# and from each other. pci_device_group() (drivers/iommu/iommu.c) stops its
# walk upstream at a bridge with ACS on the path, and QEMU's pcie-root-port has
# an ACS capability (hw/pci-bridge/pcie_root_port.c, unless disable-acs); the
# PF and its VFs are single-function (a VF is never multifunction,
# drivers/pci/iov.c), so no function alias joins them. Each VF's group is
# viable while the PF stays on igb, which does DMA: vfguard plans and grants a
# VF with nothing else to detach. The VFs get no driver: the kernel has no
# IGBVF.
# vfgvm-qemu: igb
requires sriov legacy iommufd
token=7c0d1a52-3b64-4e8f-9a1d-2b3c4d5e6f70
echo "labelers = dac" >dac.conf
expect_eq pf-device "$(cat "$IGB_PF_SYS/vendor" "$IGB_PF_SYS/device" | tr '\n' ' ')" "0x8086 0x10c9 "
expect_eq pf-driver "$(pci_driver "$IGB_PF")" igb
expect_match pf-totalvfs "$(cat "$IGB_PF_SYS/sriov_totalvfs")" '^[2-8]$'
pf_group=$(iommu_group "$IGB_PF")
set_numvfs 2
vf0=$(vf_bdf 0)
vf1=$(vf_bdf 1)
# hw/net/igb.c: VF offset 0x80, stride 2; the root port forwards ARI, so devfn 0x80 and 0x82 on bus 1.
expect_eq vf0-address "$vf0" 0000:01:10.0
expect_eq vf1-address "$vf1" 0000:01:10.2
expect_eq vf0-device "$(cat "/sys/bus/pci/devices/$vf0/vendor" "/sys/bus/pci/devices/$vf0/device" | tr '\n' ' ')" \
	"0x8086 0x10ca "
expect_eq vf0-physfn "$(basename "$(readlink "/sys/bus/pci/devices/$vf0/physfn")")" "$IGB_PF"
expect_eq vf0-no-driver "$(pci_driver "$vf0")" none
expect_eq pf-driver-with-vfs "$(pci_driver "$IGB_PF")" igb
vf0_group=$(iommu_group "$vf0")
vf1_group=$(iommu_group "$vf1")
for g in /sys/kernel/iommu_groups/*; do echo "group ${g##*/}: $(ls "$g/devices" | tr '\n' ' ')"; done
expect_eq pf-group-alone "$(ls "/sys/kernel/iommu_groups/$pf_group/devices")" "$IGB_PF"
expect_eq vf0-group-alone "$(ls "/sys/kernel/iommu_groups/$vf0_group/devices")" "$vf0"
expect_eq vf1-group-alone "$(ls "/sys/kernel/iommu_groups/$vf1_group/devices")" "$vf1"
check groups-distinct test "$pf_group" != "$vf0_group" -a "$pf_group" != "$vf1_group" -a "$vf0_group" != "$vf1_group"
start=$(sriov_snapshot)

# The VF to vfio-pci; the PF stays on igb.
use_vfio_pci "$vf0"
expect_eq pf-driver-after-detach "$(pci_driver "$IGB_PF")" igb
group=/dev/vfio/$vf0_group
cdev=$(vfio_cdev "$vf0")
check vf0-cdev test -c "$cdev" || exit 1

# Legacy: the VF's group node to uid 107, the type1 flow, an exact revoke.
plan --domain vm1 --uid 107 --gid 107 --hostdev "$vf0,backend=legacy"
expect_eq legacy-plan-group "$(plan_get nodes kind=group path)" "$group"
expect_eq legacy-plan-iommu-group "$(plan_get hostdevs 0 iommu_group number)" "$vf0_group"
expect_eq legacy-plan-group-members "$(plan_get hostdevs 0 iommu_group members "#")" 1
before=$(sriov_snapshot "$group" /dev/vfio/vfio)
run_checks -p legacy-before vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$vf0" \
	--uid 107 --gid 107 --open-errno group=EACCES
check legacy-apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "$vf0,backend=legacy" || exit 1
expect_eq legacy-group-owner "$(stat -c '%u:%g %a' "$group")" "107:107 600"
run_checks -p legacy vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$vf0" \
	--uid 107 --gid 107
# A token for a VF whose PF is not on vfio-pci: vfio_pci_validate_vf_token() refuses it (EINVAL).
run_checks -p legacy-token-pf-on-igb vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$vf0" --uid 107 --gid 107 --vf-token "$token" --device-errno EINVAL
# vfguard's plan says so first, by the real physfn link and the PF's driver.
vfguard plan --domain vm1 --uid 107 --gid 107 --hostdev "$vf0,backend=legacy,vf-token=$token" \
	>token-plan.out 2>token-plan.err
expect_match plan-refuses-token-pf-on-igb "$(cat token-plan.err)" \
	"^vfguard: $vf0: vf-token given, but its PF $IGB_PF is on igb, not on a vfio driver"
check legacy-audit vfguard audit --config "$PWD/dac.conf" --domain vm1
check legacy-revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
expect_same legacy-restored "$before" "$(sriov_snapshot "$group" /dev/vfio/vfio)"

# iommufd: the VF's cdev to uid 107 and /dev/iommu's ACL, the iommufd flow, an exact revoke.
plan --domain vm1 --uid 107 --gid 107 --hostdev "$vf0,backend=iommufd"
expect_eq iommufd-plan-cdev "$(plan_get nodes kind=cdev path)" "$cdev"
before=$(sriov_snapshot "$cdev" /dev/iommu)
run_checks -p iommufd-before vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 107 --gid 107 --open-errno iommu=EACCES --open-errno cdev=EACCES
check iommufd-apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "$vf0,backend=iommufd" || exit 1
expect_eq iommufd-cdev-owner "$(stat -c '%u:%g %a' "$cdev")" "107:107 600"
run_checks -p iommufd vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--rlimit-set-errno EPERM
check iommufd-audit vfguard audit --config "$PWD/dac.conf" --domain vm1
check iommufd-revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
expect_same iommufd-restored "$before" "$(sriov_snapshot "$cdev" /dev/iommu)"

# Back as the VFs were made (no driver), then no VFs; the PF on igb throughout.
check reattach vfguard reattach "$vf0"
expect_same vfs-restored "$start" "$(sriov_snapshot)"
set_numvfs 0
expect_absent vfs-gone "$IGB_PF_SYS/virtfn0"

# An override set after igb bound, naming another driver: the kernel matches
# a function with an override to that driver alone (pci_match_device()), so
# reattach binds igb with the override unset and writes it back after (an
# SR-IOV trial: writing it first left the PF on no driver).
check override-foreign sh -c "echo pci-stub >$IGB_PF_SYS/driver_override"
check override-detach vfguard detach "$IGB_PF"
expect_eq override-detached "$(pci_driver "$IGB_PF")" vfio-pci
check override-reattach vfguard reattach "$IGB_PF"
expect_eq override-reattached "$(pci_driver "$IGB_PF")" igb
expect_eq override-given-back "$(cat "$IGB_PF_SYS/driver_override")" pci-stub
check override-cleared sh -c "echo >$IGB_PF_SYS/driver_override"
expect_eq pf-driver-at-end "$(pci_driver "$IGB_PF")" igb
