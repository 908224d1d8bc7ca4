# The VM's private /dev, iommufd: apply with the VM process's pid makes
# /dev/iommu and the cdev (with /dev/vfio/devices) in its tmpfs /dev, the
# shared /dev/iommu with the ACL entry DAC gave the host node; the hypervisor
# uid walks the iommufd flow from inside; revoke leaves its /dev empty again.
requires iommufd
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
echo "labelers = dac" >dac.conf

start_private_dev
vm=$private_dev_pid
check vm-private-dev grep '^tmpfs /dev ' "/proc/$vm/mounts" || { kill "$vm"; exit 1; }

check apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 --pid "$vm" \
	--hostdev "$EDU,backend=iommufd" || { kill "$vm"; exit 1; }
expect_same_inside inside-cdev "$vm" "$cdev"
expect_same_inside inside-iommu "$vm" /dev/iommu
# /dev/iommu stays root's 0660 inside too: only the copied ACL entry lets uid 107 open it.
run_checks -p inside nsenter -t "$vm" -m vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 107 --gid 107 --rlimit-set-errno EPERM

check revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || { kill "$vm"; exit 1; }
check vm-dev-empty nsenter -t "$vm" -m sh -c 'entries=$(ls -A /dev) && test -z "$entries"'
run_checks -p after nsenter -t "$vm" -m vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 107 --gid 107 --open-errno iommu=ENOENT --open-errno cdev=ENOENT
kill "$vm"
