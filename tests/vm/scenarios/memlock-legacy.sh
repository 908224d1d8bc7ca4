# Locked memory on type1: a process of another uid, without CAP_IPC_LOCK,
# under RLIMIT_MEMLOCK 64 KiB, has its DMA map of a 1 MiB buffer refused
# with ENOMEM; vfguard apply sets the computed limit on its pid (1 MiB guest
# + 1 MiB extra = 2 MiB, soft and hard: the hard one needs CAP_SYS_RESOURCE,
# which root has here) and the map succeeds; revoke puts 64 KiB back.
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")

memlock_start legacy --container /dev/vfio/vfio --group "$group"

set -- --set labelers=dac --set memlock_extra=1M --domain vm1 --uid 65534 --gid 65534 --pid "$probe" \
	--memory 1M --hostdev "$EDU,backend=legacy,access=fd"
memlock_plan "$@"
memlock_apply "$@"
memlock_finish
