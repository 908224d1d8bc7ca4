# The device cgroup on a real kernel's cgroup2: in a cgroup where vfguard's
# device program runs (a second domain, on a generated host, holds a grant
# there first), a process opens the VM's group node once vfguard granted it and
# gets EPERM again after the revoke; a process outside the cgroup opens it
# throughout; the base list keeps /dev/null open; the program stays the same
# one; the last revoke leaves the cgroup with no program, as it was.
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
cg=/sys/fs/cgroup/vfg-grant
check setup-cgroup mkdir "$cg" || exit 1
expect_eq programs-before "$(cgroup_probe programs "$cg")" 0
# The keeper: its nodes have no driver (240:N) and are never opened; its root's
# /dev/null is what the base list reads.
printf 'misc vfio 240:0\ngroup 9 240:1\ndevice 0000:09:00.0 group=9 vendor=8086 device=10d3 class=020000 driver=vfio-pci\n' \
	>keeper.host
check setup-keeper-host vfguard-mkhost keeper.host "$PWD/keeper" || exit 1
check setup-keeper-null mknod "$PWD/keeper/dev/null" c 1 3 || exit 1
check keeper-apply vfguard apply --root "$PWD/keeper" --set labelers=cgroup --domain keeper --cgroup "$cg" \
	--hostdev 0000:09:00.0,backend=legacy || exit 1
expect_eq keeper-program "$(cgroup_probe programs "$cg")" 1
run_checks cgroup_probe open --cgroup "$cg" denied-before-grant "$group" EPERM
run_checks cgroup_probe open outside-before-grant "$group" ok

check apply vfguard apply --set labelers=cgroup --domain vm1 --cgroup "$cg" --hostdev "$EDU,backend=legacy" || exit 1
expect_eq one-program "$(cgroup_probe programs "$cg")" 1
run_checks cgroup_probe open --cgroup "$cg" granted-group "$group" ok
run_checks cgroup_probe open --cgroup "$cg" granted-container /dev/vfio/vfio ok
run_checks cgroup_probe open --cgroup "$cg" base-list-null /dev/null ok
run_checks cgroup_probe open --cgroup "$cg" not-granted-full /dev/full EPERM
# the whole type1 flow from a process that joined the cgroup before it opened anything
run_checks -p hypervisor-in-cgroup sh -c 'echo 0 >"$1/cgroup.procs" && shift && exec vfio_probe "$@"' _ "$cg" \
	legacy --container /dev/vfio/vfio --group "$group" --device "$EDU"

check revoke vfguard revoke --set labelers=cgroup --domain vm1 || exit 1
expect_eq same-program "$(cgroup_probe programs "$cg")" 1
run_checks cgroup_probe open --cgroup "$cg" denied-after-revoke "$group" EPERM
run_checks cgroup_probe open outside-after-revoke "$group" ok
run_checks cgroup_probe open --cgroup "$cg" base-list-after-revoke /dev/null ok

check keeper-revoke vfguard revoke --root "$PWD/keeper" --set labelers=cgroup --domain keeper || exit 1
expect_eq programs-after "$(cgroup_probe programs "$cg")" 0
check cleanup-cgroup rmdir "$cg"
