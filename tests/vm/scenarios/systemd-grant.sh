# vfgvm-root: systemd
# Issue 20's systemd path: a VM process in a transient unit with
# DevicePolicy=closed and DeviceAllow= entries of its own. vfguard apply on
# the unit's cgroup grants through systemd (DeviceAllow= over D-Bus), the plan
# naming the unit and why; the process walks the VFIO flow; audit is clean;
# revoke puts `systemctl show -p DeviceAllow,DevicePolicy` back byte for byte
# and EPERM is back. Two domains of a generated host in the same unit hold
# the container, revoked in both orders: the other's entries stay. A kill -9
# at each journal point of an apply, then vfguard restore, puts the unit back.
# shellcheck disable=SC2154 # group, cdev, unit_cgroup: set by edu_unit (guest/lib.sh)
requires legacy iommufd
unit=vfg-vm1
# A failure that ends the scenario stops the unit first, so the next scenario can start its own.
give_up() {
	unit_stop "$unit"
	exit 1
}
edu_unit "$unit" DevicePolicy=closed "DeviceAllow=/dev/full rw" "DeviceAllow=/dev/zero r"
before=$(unit_devices "$unit")
expect_eq show-before "$before" "DevicePolicy=closed; DeviceAllow=/dev/zero r; DeviceAllow=/dev/full rw"
run_checks -p before in_unit cgroup_probe open group-denied "$group" EPERM

for backend in legacy iommufd; do
	node=$([ "$backend" = iommufd ] && echo "$cdev" || echo "$group")
	hostdev="$EDU,backend=$backend"
	vfguard plan --set labelers=cgroup --domain vm1 --cgroup "$unit_cgroup" --hostdev "$hostdev" >plan.out 2>&1
	show_output plan.out
	expect_match "plan-names-unit-$backend" "$(cat plan.out)" "DeviceAllow=$node rw on $unit.service"
	vfguard plan --json --set labelers=cgroup --domain vm1 --cgroup "$unit_cgroup" --hostdev "$hostdev" \
		>plan.json 2>&1
	expect_match "plan-json-names-unit-$backend" "$(cat plan.json)" "DeviceAllow=$node rw on $unit.service"
	# The reason, from the JSON (the text plan wraps it): systemd's program, the cgroup, the unit.
	expect_match "plan-says-why-$backend" "$(cat plan.json)" \
		"systemd's device program on $unit_cgroup, unit $unit.service's, decides"

	check "apply-$backend" vfguard apply --set labelers=cgroup --domain vm1 --cgroup "$unit_cgroup" \
		--hostdev "$hostdev" || give_up
	granted=$(unit_devices "$unit")
	echo "$granted" >granted.out
	show_output granted.out
	expect_match "show-granted-$backend" "$granted" "DeviceAllow=$node rw"
	expect_match "show-keeps-own-$backend" "$granted" "DeviceAllow=/dev/zero r; DeviceAllow=/dev/full rw$"
	expect_eq "one-program-$backend" "$(cgroup_probe programs "$unit_cgroup")" 1
	vfguard audit --set labelers=cgroup --domain vm1 --cgroup "$unit_cgroup" --hostdev "$hostdev" >audit.out 2>&1
	expect_eq "audit-clean-$backend" "exit $?: $(head -n 1 audit.out)" "exit 0: domain vm1: no drift"
	if [ "$backend" = iommufd ]; then
		run_checks -p "granted-$backend" in_unit cgroup_probe open cdev-opens "$cdev" ok
		run_checks -p "granted-iommu-$backend" in_unit cgroup_probe open iommu-opens /dev/iommu ok
		run_checks -p "granted-flow-$backend" in_unit vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
			--device "$EDU"
	else
		run_checks -p "granted-$backend" in_unit cgroup_probe open group-opens "$group" ok
		run_checks -p "granted-flow-$backend" in_unit vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
			--device "$EDU"
	fi
	# Audit sees a list an admin reset behind vfguard's back.
	check "drift-reset-$backend" systemctl set-property --runtime "$unit" DeviceAllow=
	vfguard audit --set labelers=cgroup --domain vm1 --cgroup "$unit_cgroup" --hostdev "$hostdev" >audit.out 2>&1
	status=$?
	show_output audit.out
	expect_match "audit-drift-$backend" "exit $status: $(head -n 1 audit.out)" "^exit 3: domain vm1: [0-9]+ findings"
	expect_match "audit-drift-names-unit-$backend" "$(cat audit.out)" "unit $unit.service's DeviceAllow allows '$node rw'"
	check "revoke-$backend" vfguard revoke --set labelers=cgroup --domain vm1 || give_up
	expect_eq "show-restored-$backend" "$(unit_devices "$unit")" "$before"
	run_checks -p "revoked-$backend" in_unit cgroup_probe open node-denied "$node" EPERM
done
hostdev="$EDU,backend=legacy"

# cgroup_systemd = off: refused as before, naming systemd's program.
vfguard apply --set labelers=cgroup --set cgroup_systemd=off --domain vm1 --cgroup "$unit_cgroup" \
	--hostdev "$hostdev" >off.out 2>&1
status=$?
show_output off.out
expect_eq off-refused "$status" 1
expect_match off-names-program "$(cat off.out)" "'sd_devices' on $unit_cgroup"
expect_eq off-unchanged "$(unit_devices "$unit")" "$before"

# Two domains of a generated host in the one unit: each its group, both the container.
printf '%s\n' 'misc vfio 10:196' 'group 8 240:1' 'group 9 240:2' \
	'device 0000:08:00.0 group=8 vendor=8086 device=10d3 class=020000 driver=vfio-pci' \
	'device 0000:09:00.0 group=9 vendor=8086 device=10d3 class=020000 driver=vfio-pci' >two.host
check setup-two-host vfguard-mkhost two.host "$PWD/two" || give_up
two() {
	local command="$1" domain="$2"
	shift 2
	vfguard "$command" --root "$PWD/two" --set labelers=cgroup --domain "$domain" "$@"
}
for order in "a b" "b a"; do
	check "two-apply-a-$order" two apply a --cgroup "$unit_cgroup" --hostdev 0000:08:00.0,backend=legacy
	check "two-apply-b-$order" two apply b --cgroup "$unit_cgroup" --hostdev 0000:09:00.0,backend=legacy
	both=$(unit_devices "$unit")
	expect_match "two-both-8-$order" "$both" "DeviceAllow=/dev/vfio/8 rw"
	expect_match "two-both-9-$order" "$both" "DeviceAllow=/dev/vfio/9 rw"
	expect_eq "two-one-container-$order" "$(printf '%s\n' "$both" | grep -o 'DeviceAllow=/dev/vfio/vfio rw' | wc -l)" 1
	run_checks -p "two-both-$order" in_unit cgroup_probe open container-opens /dev/vfio/vfio ok
	first=${order% *} second=${order#* }
	check "two-revoke-$first-$order" two revoke "$first"
	left=$(unit_devices "$unit")
	kept=$([ "$second" = a ] && echo 8 || echo 9)
	gone=$([ "$first" = a ] && echo 8 || echo 9)
	expect_match "two-keeps-$second-$order" "$left" "DeviceAllow=/dev/vfio/$kept rw"
	expect_match "two-keeps-container-$order" "$left" "DeviceAllow=/dev/vfio/vfio rw"
	# shellcheck disable=SC2016 # $1 and $2 are the inner sh's
	check_fails "two-drops-$first-$order" sh -c 'printf "%s\n" "$1" | grep -q "$2"' _ "$left" "/dev/vfio/$gone "
	run_checks -p "two-one-$order" in_unit cgroup_probe open container-still-opens /dev/vfio/vfio ok
	check "two-revoke-$second-$order" two revoke "$second"
	expect_eq "two-restored-$order" "$(unit_devices "$unit")" "$before"
	run_checks -p "two-none-$order" in_unit cgroup_probe open container-denied /dev/vfio/vfio EPERM
done

# A kill -9 at each journal point of the apply, then restore: the unit as before.
point=1
while [ $point -le 40 ]; do
	VFGUARD_FAULT_KILL_AT=$point vfguard apply --set labelers=cgroup --domain vm1 --cgroup "$unit_cgroup" \
		--hostdev "$hostdev" >/dev/null 2>&1
	status=$?
	check "kill-$point-restore" vfguard restore
	vfguard revoke --set labelers=cgroup --domain vm1 >/dev/null 2>&1
	expect_eq "kill-$point-unit-back" "$(unit_devices "$unit")" "$before"
	[ $status -eq 137 ] || break
	point=$((point + 1))
done
expect_eq kill-points-reached-end "$status" 0

# systemd saying no (the fault site of SetUnitProperties): apply undoes what it
# journaled and leaves the unit as it was; a revoke cut short, then restore,
# puts it back.
VFGUARD_FAULT=cgroup.systemd_set:1:EIO vfguard apply --set labelers=cgroup --domain vm1 --cgroup "$unit_cgroup" \
	--hostdev "$hostdev" >fault.out 2>&1
status=$?
show_output fault.out
expect_eq fault-apply-fails "$status" 1
expect_match fault-apply-names-call "$(cat fault.out)" "SetUnitProperties"
expect_eq fault-apply-unit-back "$(unit_devices "$unit")" "$before"
expect_empty fault-apply-nothing-held "$(vfguard status 2>&1 | grep vm1)"
check fault-revoke-apply vfguard apply --set labelers=cgroup --domain vm1 --cgroup "$unit_cgroup" --hostdev "$hostdev"
VFGUARD_FAULT=cgroup.systemd_set:1:EIO vfguard revoke --set labelers=cgroup --domain vm1 >fault.out 2>&1
status=$?
show_output fault.out
expect_eq fault-revoke-fails "$status" 1
check fault-revoke-restore vfguard restore
expect_eq fault-revoke-unit-back "$(unit_devices "$unit")" "$before"
unit_stop "$unit"
