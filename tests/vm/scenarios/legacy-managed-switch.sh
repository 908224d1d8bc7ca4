# An apply that switches a managed hostdev from path to fd access releases
# its claim and claims it anew; killed at each of its journal points and
# finished by restore, the claim it released comes back as it was, and the
# function stays on vfio-pci under it (the new claim goes without a
# reattach): another domain is refused the group, and the domain's revoke
# gives edu back to no driver. On a real driver core, where a reattach
# would really move edu.
# vfgvm-timeout: 240
requires legacy
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq starts-unbound "$(pci_driver "$EDU")" none || exit 1
echo "labelers = dac" >dac.conf
check apply-path vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "$EDU,backend=legacy,managed=yes" || exit 1
group=$(iommu_group "$EDU")

killed=0 wrong=""
for point in $(seq 1 40); do
	VFGUARD_FAULT_KILL_AT=$point vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
		--hostdev "$EDU,backend=legacy,managed=yes,access=fd" >switch.out 2>&1
	status=$?
	[ "$status" = 137 ] || break
	killed=$((killed + 1))
	vfguard restore --config "$PWD/dac.conf" >restore.out 2>&1 || wrong="$wrong $point:restore"
	[ "$(pci_driver "$EDU")" = vfio-pci ] || wrong="$wrong $point:driver=$(pci_driver "$EDU")"
	vfguard apply --config "$PWD/dac.conf" --domain vm2 --uid 108 --gid 108 \
		--hostdev "$EDU,backend=legacy" >other.out 2>&1
	grep -q "belongs to domain vm1" other.out || wrong="$wrong $point:claimed-by-vm2"
done
expect_eq switch-completes "$status" 0
expect_match switch-killed "$killed" '^[1-9][0-9]*$'
expect_eq switch-kills-restored "${wrong:-none}" none
expect_eq driver-after-switch "$(pci_driver "$EDU")" vfio-pci
check revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
expect_eq driver-after-revoke "$(pci_driver "$EDU")" none
expect_absent group-node-gone "/dev/vfio/$group"
expect_absent driver-record-gone "/run/vfguard/drivers/$EDU"
