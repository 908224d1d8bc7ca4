# vfgvm-qemu: igb-noacs
# Group viability with VFs when nothing isolates them (issue 22): the igb PF
# behind a root port without ACS (QEMU's pcie-root-port disable-acs=on).
# pci_device_group() (drivers/iommu/iommu.c) then walks past the root port,
# which has no ACS on the path, and takes its group: 6.12 puts the root port,
# the PF and both VFs in one IOMMU group. With the PF on igb, a driver that
# does DMA, the group is not viable: vfguard's plan for a VF refuses, naming
# the PF and its driver, and its detach refuses too, leaving the VF as it was.
requires sriov legacy
rp=0000:00:04.0
set_numvfs 2
vf0=$(vf_bdf 0)
vf1=$(vf_bdf 1)
group=$(iommu_group "$IGB_PF")
for g in /sys/kernel/iommu_groups/*; do echo "group ${g##*/}: $(ls "$g/devices" | tr '\n' ' ')"; done
expect_eq pf-in-root-port-group "$group" "$(iommu_group "$rp")"
expect_eq group-members "$(ls "/sys/kernel/iommu_groups/$group/devices" | tr '\n' ' ')" \
	"$rp $IGB_PF $vf0 $vf1 "
check_fails plan-refused sh -c "vfguard plan --domain vm1 --hostdev '$vf0,backend=legacy' >plan.out 2>&1"
show_output plan.out
expect_match plan-names-pf "$(cat plan.out)" "IOMMU group $group is not viable: $IGB_PF is bound to igb"
check_fails detach-refused sh -c "vfguard detach $vf0 >detach.out 2>&1"
show_output detach.out
expect_match detach-names-pf "$(cat detach.out)" "$IGB_PF is bound to igb"
expect_eq vf0-unchanged "$(pci_driver "$vf0") $(cat "/sys/bus/pci/devices/$vf0/driver_override")" "none (null)"
expect_eq pf-on-igb "$(pci_driver "$IGB_PF")" igb
set_numvfs 0
