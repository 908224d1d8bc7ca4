# Managed mode through apply and revoke on a real kernel: apply binds edu to
# vfio-pci (managed=yes) before granting, revoke takes the grant back and
# returns edu to no driver, and the group node goes with it. A VFIO user
# holds edu at the revoke: the revoke says so before it waits for it, and
# goes on once it lets go.
requires legacy
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq starts-unbound "$(pci_driver "$EDU")" none
echo "labelers = dac" >dac.conf
check apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "$EDU,backend=legacy,managed=yes" || exit 1
expect_eq driver-after-apply "$(pci_driver "$EDU")" vfio-pci
group=/dev/vfio/$(iommu_group "$EDU")
expect_eq group-owner "$(stat -c '%u:%g' "$group")" "107:107"
given_back_while_held revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
expect_eq driver-after-revoke "$(pci_driver "$EDU")" none
expect_absent group-node-gone "$group"
expect_absent driver-record-gone "/run/vfguard/drivers/$EDU"
