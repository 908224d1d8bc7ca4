# fd access on a real kernel's cgroup2: vfguard plans no cgroup rule, and a
# process in a cgroup whose device program denies the group node still drives
# VFIO through fds opened outside the cgroup and inherited: the device cgroup
# checks only at open (devcgroup_inode_permission()), in the opener's cgroup.
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
cg=/sys/fs/cgroup/vfg-fd
check setup-cgroup mkdir "$cg" || exit 1
# A second domain on a generated host puts vfguard's program on the cgroup (cgroup-v2-grant.sh).
printf 'misc vfio 240:0\ngroup 9 240:1\ndevice 0000:09:00.0 group=9 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n' \
	>keeper.host
check setup-keeper-host vfguard-mkhost keeper.host "$PWD/keeper" || exit 1
check keeper-apply vfguard apply --root "$PWD/keeper" --set labelers=cgroup --domain keeper --cgroup "$cg" \
	--hostdev 0000:09:00.0,backend=legacy || exit 1

plan --set labelers=cgroup --domain vm1 --cgroup "$cg" --hostdev "$EDU,backend=legacy,access=fd"
expect_eq plan-group-no-rule "$(plan_get steps node="$group" action)" none
expect_eq plan-container-no-rule "$(plan_get steps node=/dev/vfio/vfio action)" none
check apply vfguard apply --set labelers=cgroup --domain vm1 --cgroup "$cg" \
	--hostdev "$EDU,backend=legacy,access=fd" || exit 1
run_checks cgroup_probe open --cgroup "$cg" path-denied "$group" EPERM
run_checks cgroup_probe handover --cgroup "$cg" --container /dev/vfio/vfio --group "$group" --device "$EDU"

check revoke vfguard revoke --set labelers=cgroup --domain vm1 || exit 1
check keeper-revoke vfguard revoke --root "$PWD/keeper" --set labelers=cgroup --domain keeper || exit 1
expect_eq programs-after "$(cgroup_probe programs "$cg")" 0
check cleanup-cgroup rmdir "$cg"
