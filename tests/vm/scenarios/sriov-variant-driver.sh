# A VFIO variant driver named for a VF (issue 22, `--driver NAME`, libvirt's
# <driver model='NAME'/>): the 6.12 kernel has no variant driver (its config
# builds none of drivers/vfio/pci's *_vfio_pci), so this proves the refusals
# on a real driver core. igb, a real driver that is loaded, is refused as
# not a vfio driver, for the VF (no driver) and for the PF already on it;
# a variant that is not loaded is refused naming modprobe; nothing changes
# (snapshot). Then the generic vfio-pci, named, binds the VF and reattach puts
# it back to no driver.
# vfgvm-qemu: igb
requires sriov
set_numvfs 1
vf=$(vf_bdf 0)
before=$(sriov_snapshot)
check_fails vf-igb-refused sh -c "vfguard detach $vf --driver igb >vf-igb.out 2>&1"
expect_match vf-igb-reason "$(cat vf-igb.out)" "igb: is not a vfio driver"
check_fails pf-igb-refused sh -c "vfguard detach $IGB_PF --driver igb >pf-igb.out 2>&1"
expect_match pf-igb-reason "$(cat pf-igb.out)" "igb: is not a vfio driver"
check_fails variant-not-loaded sh -c "vfguard detach $vf --driver mlx5_vfio_pci >mlx5.out 2>&1"
expect_match variant-not-loaded-reason "$(cat mlx5.out)" \
	"$vf: driver mlx5_vfio_pci is not loaded .*modprobe mlx5_vfio_pci first"
expect_same refusals-change-nothing "$before" "$(sriov_snapshot)"
check vfio-pci-named vfguard detach "$vf" --driver vfio-pci
expect_eq vf-on-vfio-pci "$(pci_driver "$vf")" vfio-pci
check reattach vfguard reattach "$vf"
expect_same reattached "$before" "$(sriov_snapshot)"
set_numvfs 0
