# With backend auto, vfguard plan picks iommufd where the kernel has it and
# names /dev/iommu and edu's vfio cdev with the rdevs the kernel gave them.
requires iommufd
use_vfio_pci "$EDU"
cdev=$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
plan --domain vm1 --hostdev "$EDU"
expect_eq backend "$(plan_get hostdevs 0 backend)" iommufd
expect_eq backend-requested "$(plan_get hostdevs 0 backend_requested)" auto
expect_eq cdev "$(plan_get hostdevs 0 cdev)" "$cdev"
expect_eq node-count "$(plan_get nodes '#')" 2
expect_eq iommufd-path "$(plan_get nodes kind=iommufd path)" /dev/iommu
expect_eq iommufd-rdev "$(plan_get nodes kind=iommufd rdev)" "$(node_rdev /dev/iommu)"
expect_eq iommufd-rdev-sysfs "$(plan_get nodes kind=iommufd rdev)" "$(cat /sys/class/misc/iommu/dev)"
expect_eq cdev-path "$(plan_get nodes kind=cdev path)" "/dev/vfio/devices/$cdev"
expect_eq cdev-rdev "$(plan_get nodes kind=cdev rdev)" "$(node_rdev "/dev/vfio/devices/$cdev")"
expect_eq cdev-rdev-sysfs "$(plan_get nodes kind=cdev rdev)" "$(cat "$EDU_SYS/vfio-dev/$cdev/dev")"
