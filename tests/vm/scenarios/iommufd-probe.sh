# The nodes vfguard's iommufd plan names are the ones that work: vfio_probe
# opens them and walks the iommufd flow; a user without access gets EACCES.
requires iommufd
use_vfio_pci "$EDU"
plan --domain vm1 --hostdev "$EDU,backend=iommufd"
iommu=$(plan_get nodes kind=iommufd path)
cdev=$(plan_get nodes kind=cdev path)
run_checks vfio_probe iommufd --iommu "$iommu" --cdev "$cdev"
run_checks -p nobody vfio_probe iommufd --iommu "$iommu" --cdev "$cdev" \
	--uid 65534 --gid 65534 --open-errno iommu=EACCES --open-errno cdev=EACCES
