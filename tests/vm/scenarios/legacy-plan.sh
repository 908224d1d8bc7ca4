# vfguard plan on a real host names edu, its real IOMMU group, and the legacy
# container and group nodes with the rdevs the kernel gave them.
requires legacy
use_vfio_pci "$EDU"
group=$(iommu_group "$EDU")
plan --domain vm1 --hostdev "$EDU,backend=legacy"
expect_eq backend "$(plan_get hostdevs 0 backend)" legacy
expect_eq device "$(plan_get hostdevs 0 function vendor):$(plan_get hostdevs 0 function device)" 1234:11e8
expect_eq iommu-group "$(plan_get hostdevs 0 iommu_group number)" "$group"
expect_eq node-count "$(plan_get nodes '#')" 2
expect_eq container-path "$(plan_get nodes kind=container path)" /dev/vfio/vfio
expect_eq container-rdev "$(plan_get nodes kind=container rdev)" "$(node_rdev /dev/vfio/vfio)"
expect_eq container-rdev-sysfs "$(plan_get nodes kind=container rdev)" "$(cat /sys/class/misc/vfio/dev)"
expect_eq group-path "$(plan_get nodes kind=group path)" "/dev/vfio/$group"
expect_eq group-rdev "$(plan_get nodes kind=group rdev)" "$(node_rdev "/dev/vfio/$group")"
expect_eq group-rdev-sysfs "$(plan_get nodes kind=group rdev)" "$(cat "/sys/class/vfio/$group/dev")"
# Every labeler packed in the initramfs was loaded (the default config names them all).
for module in /usr/lib/vfguard/plugins/vfguard-*.so; do
	name=$(basename "$module" .so)
	name=${name#vfguard-}
	expect_eq "labeler-$name" "$(plan_get labelers "name=$name" name)" "$name"
done
