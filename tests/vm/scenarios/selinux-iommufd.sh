# vfgvm-cmdline: security=selinux
# The iommufd backend under SELinux enforcing (refpolicy, vfguard's module,
# the test-only one): the cdev is the domain's alone, so vfguard gives it the
# image label with the domain's categories and svirt_t:c1,c2 can bind it and
# map DMA, while c3,c4 cannot open it; /dev/iommu is shared and gets
# vfio_device_t:s0. RLIMIT_MODE stays the manager's to set: svirt_t has no
# sys_resource, so the hypervisor's own set fails EPERM. After revoke both
# nodes have their labels back.
requires iommufd
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(ls "$EDU_SYS/vfio-dev")
c12=system_u:system_r:svirt_t:s0:c1,c2
c34=system_u:system_r:svirt_t:s0:c3,c4

selinux_enforce
original_cdev=$(selinux_label "$cdev") original_iommu=$(selinux_label /dev/iommu)
expect_match cdev-label-before "$original_cdev" "$selinux_file_label"
expect_match iommu-label-before "$original_iommu" "$selinux_file_label"

run_checks -p before-c1c2 runcon "$c12" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
echo "labelers = selinux" >selinux.conf
check apply vfguard apply --config "$PWD/selinux.conf" --domain vm1 --selinux-label "$c12" \
	--hostdev "$EDU,backend=iommufd" || exit 1
expect_eq cdev-label "$(selinux_label "$cdev")" system_u:object_r:svirt_image_t:s0:c1,c2
expect_eq iommu-label "$(selinux_label /dev/iommu)" system_u:object_r:vfio_device_t:s0
run_checks -p c1c2 runcon "$c12" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --rlimit-set-errno EPERM
run_checks -p c3c4 runcon "$c34" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --open-errno cdev=EACCES
check revoke vfguard revoke --config "$PWD/selinux.conf" --domain vm1 || exit 1
expect_eq cdev-label-restored "$(selinux_label "$cdev")" "$original_cdev"
expect_eq iommu-label-restored "$(selinux_label /dev/iommu)" "$original_iommu"
run_checks -p after-c1c2 runcon "$c12" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
