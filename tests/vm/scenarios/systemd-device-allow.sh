# vfgvm-root: systemd
# What issue 20's systemd path will rely on, as facts of systemd 252: on a
# running unit with DevicePolicy=closed, a runtime DeviceAllow= (systemctl
# set-property --runtime, and the D-Bus call it makes, SetUnitProperties with
# runtime=true) lets the unit's process open the node at once; entries add
# up, one call each, and read back newest first; an empty DeviceAllow= resets
# the list, and EPERM is back. systemd swaps its device program each time,
# never stacks a second one.
# shellcheck disable=SC2154 # group, cdev, unit_cgroup: set by edu_unit (guest/lib.sh)
requires legacy iommufd
edu_unit vfg-vm1 DevicePolicy=closed
before=$(unit_devices vfg-vm1)
expect_eq show-before "$before" "DevicePolicy=closed"
expect_eq bus-before "$(unit_bus_allow vfg-vm1)" 'a(ss) 0'
run_checks -p before in_unit cgroup_probe open group-denied "$group" EPERM

# systemctl, as an admin types it: the container and the group, in one call.
check set-property systemctl set-property --runtime vfg-vm1 "DeviceAllow=/dev/vfio/vfio rw" "DeviceAllow=$group rw"
# Newest first: systemd 252 puts each entry at the head of the unit's list.
expect_eq show-group "$(unit_devices vfg-vm1)" "DevicePolicy=closed; DeviceAllow=$group rw; DeviceAllow=/dev/vfio/vfio rw"
expect_eq one-program "$(cgroup_probe programs "$unit_cgroup")" 1
run_checks -p granted in_unit cgroup_probe open group-opens "$group" ok
run_checks -p granted in_unit cgroup_probe open cdev-denied "$cdev" EPERM
# The whole type1 flow, by the unit's own process.
run_checks -p granted-flow in_unit vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU"
check reset systemctl set-property --runtime vfg-vm1 DeviceAllow=
expect_eq show-reset "$(unit_devices vfg-vm1)" "$before"
expect_eq one-program-reset "$(cgroup_probe programs "$unit_cgroup")" 1
run_checks -p reset in_unit cgroup_probe open group-denied "$group" EPERM

# The D-Bus call itself, on the system bus (busctl, through dbus-daemon):
# SetUnitProperties(name, runtime, [(property, value)]), DeviceAllow a(ss).
manager='org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager'
# shellcheck disable=SC2086 # $manager is three words
check dbus-allow-group busctl call $manager SetUnitProperties 'sba(sv)' vfg-vm1.service true 1 \
	DeviceAllow 'a(ss)' 1 "$group" rw
# shellcheck disable=SC2086
check dbus-allow-cdev busctl call $manager SetUnitProperties 'sba(sv)' vfg-vm1.service true 1 \
	DeviceAllow 'a(ss)' 1 "$cdev" rw
expect_eq show-both "$(unit_devices vfg-vm1)" "DevicePolicy=closed; DeviceAllow=$cdev rw; DeviceAllow=$group rw"
expect_eq bus-both "$(unit_bus_allow vfg-vm1)" "a(ss) 2 \"$cdev\" \"rw\" \"$group\" \"rw\""
expect_eq one-program-both "$(cgroup_probe programs "$unit_cgroup")" 1
run_checks -p dbus in_unit cgroup_probe open group-opens "$group" ok
run_checks -p dbus in_unit cgroup_probe open cdev-opens "$cdev" ok
run_checks -p dbus in_unit cgroup_probe open container-denied /dev/vfio/vfio EPERM
# shellcheck disable=SC2086
check dbus-reset busctl call $manager SetUnitProperties 'sba(sv)' vfg-vm1.service true 1 DeviceAllow 'a(ss)' 0
expect_eq show-dbus-reset "$(unit_devices vfg-vm1)" "$before"
expect_eq bus-reset "$(unit_bus_allow vfg-vm1)" 'a(ss) 0'
run_checks -p dbus-reset in_unit cgroup_probe open group-denied "$group" EPERM
run_checks -p dbus-reset in_unit cgroup_probe open cdev-denied "$cdev" EPERM
unit_stop vfg-vm1
