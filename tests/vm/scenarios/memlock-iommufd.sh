# Locked memory on iommufd, charged per process: the probe sets RLIMIT_MODE=1
# through IOMMU_OPTION while it is still root, then, as another uid without
# CAP_IPC_LOCK and under RLIMIT_MEMLOCK 64 KiB, has its IOAS map of a 1 MiB
# buffer refused with ENOMEM; vfguard apply sets the computed limit on its
# pid (1 MiB guest + 1 MiB extra = 2 MiB, soft and hard) and the map
# succeeds; revoke puts 64 KiB back.
requires iommufd
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")

memlock_start iommufd --iommu /dev/iommu --cdev "$cdev"

set -- --set labelers=dac --set memlock_extra=1M --domain vm1 --uid 65534 --gid 65534 --pid "$probe" \
	--memory 1M --hostdev "$EDU,backend=iommufd,access=fd"
memlock_plan "$@"
expect_eq plan-accounting "$(plan_get memlock iommufd_accounting)" process
memlock_apply "$@"
memlock_finish
