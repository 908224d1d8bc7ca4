# The harness's own checks before any scenario: the kernel, the VFIO modules
# it lacks built in, the IOMMU, and the edu device the scenarios use.
pass kernel "$(uname -r), $(nproc) cpu, lsm $(cat /sys/kernel/security/lsm)"
for module in $VFGVM_MODULES; do
	check "insmod-$(basename "$module" .ko)" insmod "/lib/modules/$(uname -r)/$module"
done
check iommu-enabled sh -c 'ls /sys/class/iommu | grep .'
expect_eq edu-device "$(cat "$EDU_SYS/vendor" "$EDU_SYS/device" 2>&1 | tr '\n' ' ')" "0x1234 0x11e8 "
check edu-iommu-group iommu_group "$EDU"
check vfio-pci-driver test -d /sys/bus/pci/drivers/vfio-pci
