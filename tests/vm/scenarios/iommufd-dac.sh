# DAC on a real kernel, iommufd: the cdev becomes the hypervisor uid's, the
# shared /dev/iommu keeps its owner and gains an ACL entry for that uid. The
# uid then walks the iommufd flow (RLIMIT_MODE set refused: no
# CAP_SYS_RESOURCE); another uid gets EACCES; revoke puts both nodes back.
requires iommufd
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
iommu_before=$(stat -c '%u:%g %a' /dev/iommu)
echo "labelers = dac" >dac.conf
run_checks -p before vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 107 --gid 107 --open-errno iommu=EACCES --open-errno cdev=EACCES
check apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "$EDU,backend=iommufd" || exit 1
expect_eq cdev-owner "$(stat -c '%u:%g %a' "$cdev")" "107:107 600"
expect_eq iommu-owner-kept "$(stat -c '%u:%g' /dev/iommu)" "$(echo "$iommu_before" | cut -d' ' -f1)"
check status sh -c "vfguard status --config $PWD/dac.conf --json >status.json"
expect_eq iommu-acl-granted "$(json_get status.json domains 0 grants path=/dev/iommu state)" granted
# /dev/iommu stays root's with its mode: only the ACL entry can let uid 107 open it below.
run_checks -p hypervisor vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--rlimit-set-errno EPERM
run_checks -p other-uid vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 108 --gid 108 --open-errno iommu=EACCES --open-errno cdev=EACCES
check revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
expect_eq cdev-owner-restored "$(stat -c '%u:%g %a' "$cdev")" "0:0 600"
expect_eq iommu-restored "$(stat -c '%u:%g %a' /dev/iommu)" "$iommu_before"
run_checks -p after vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 107 --gid 107 --open-errno iommu=EACCES --open-errno cdev=EACCES
