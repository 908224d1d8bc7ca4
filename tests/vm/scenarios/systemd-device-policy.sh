# vfgvm-root: systemd
# systemd's own device policy on a VM's unit, and what vfguard does with it
# today (the baseline of issue 20's systemd path). A transient unit with
# DevicePolicy=closed (systemd-run): its process gets EPERM on the edu
# function's group (legacy), the container and its cdev, while a process
# outside the unit opens them; systemctl show reads the policy back. vfguard
# apply on that unit's cgroup with systemd's path off (cgroup_systemd = off;
# systemd-grant.sh takes it) refuses, naming systemd's program and the cgroup,
# and changes nothing.
# shellcheck disable=SC2154 # group, cdev, unit_cgroup: set by edu_unit (guest/lib.sh)
requires legacy iommufd
edu_unit vfg-vm1 DevicePolicy=closed
# systemctl show prints no DeviceAllow line while the list is empty.
expect_eq show-closed "$(unit_devices vfg-vm1)" "DevicePolicy=closed"
expect_eq systemd-program "$(cgroup_probe programs "$unit_cgroup")" 1
run_checks -p unit in_unit cgroup_probe open group-denied "$group" EPERM
run_checks -p unit in_unit cgroup_probe open cdev-denied "$cdev" EPERM
run_checks -p unit in_unit cgroup_probe open container-denied /dev/vfio/vfio EPERM
# DevicePolicy=closed keeps the pseudo devices (systemd.resource-control(5)).
run_checks -p unit in_unit cgroup_probe open null-allowed /dev/null ok
run_checks -p outside cgroup_probe open group-opens "$group" ok
run_checks -p outside cgroup_probe open cdev-opens "$cdev" ok

# Without systemd's path, a device program that is not vfguard's own on the cgroup is refused.
vfguard apply --set labelers=cgroup --set cgroup_systemd=off --domain vm1 --cgroup "$unit_cgroup" --hostdev "$EDU,backend=legacy" \
	>apply.out 2>&1
status=$?
show_output apply.out
expect_eq apply-refused "$status" 1
expect_match refusal-names-program "$(cat apply.out)" "program [0-9]+ 'sd_devices' on $unit_cgroup"
expect_match refusal-says-unchanged "$(cat apply.out)" "nothing was changed"
expect_empty nothing-granted "$(vfguard status 2>&1 | grep vm1)"
expect_eq still-one-program "$(cgroup_probe programs "$unit_cgroup")" 1
run_checks -p after-refusal in_unit cgroup_probe open group-denied "$group" EPERM
expect_eq show-unchanged "$(unit_devices vfg-vm1)" "DevicePolicy=closed"
unit_stop vfg-vm1
