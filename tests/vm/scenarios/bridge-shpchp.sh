# vfgvm-qemu: pci-bridge
# A bridge's driver counts in its group's viability: QEMU's pci-bridge (an
# SHPC capability) with an edu behind it, both in one IOMMU group, and the
# bridge bound to shpchp. Since Linux 5.19 binding a driver that does not
# declare driver_managed_dma, shpchp among them, raises the group's owner
# count (pci_dma_configure(), drivers/pci/pci-driver.c), and userspace's
# claim of the group then fails (iommu_group_claim_dma_owner() for the
# container, iommu_device_claim_dma_owner() for an iommufd bind, both
# drivers/iommu/iommu.c): no exception for bridges. So with shpchp on the
# bridge, the edu on vfio-pci is refused by the kernel (the group reads not
# viable, VFIO_GROUP_SET_CONTAINER and VFIO_DEVICE_BIND_IOMMUFD fail EPERM)
# and by vfguard (plan and detach name the bridge); with the bridge unbound
# both take it. While userspace holds the group, shpchp cannot bind the
# bridge (iommu_device_use_default_domain() refuses an owned group).
requires bridge legacy
shpchp=/sys/bus/pci/drivers/shpchp
# iommufd where this kernel must have it (6.12): there a missing /dev/iommu fails the probe.
iommufd=
case " $VFGVM_EXPECT " in *" iommufd "*) iommufd=yes ;; esac
for g in /sys/kernel/iommu_groups/*; do echo "group ${g##*/}: $(ls "$g/devices" | tr '\n' ' ')"; done
group=$(iommu_group "$BRIDGE_EDU")
expect_eq bridge-header "$(od -An -tx1 -j14 -N1 "/sys/bus/pci/devices/$BRIDGE/config" | tr -d ' ')" 01
expect_eq edu-in-bridge-group "$(ls "/sys/kernel/iommu_groups/$group/devices" | tr '\n' ' ')" \
	"$BRIDGE $BRIDGE_EDU "
expect_eq bridge-on-shpchp "$(pci_driver "$BRIDGE")" shpchp || exit 1
expect_eq edu-no-driver "$(pci_driver "$BRIDGE_EDU")" none

# vfguard refuses to move the edu while shpchp holds the bridge, naming it.
check_fails detach-refused sh -c "vfguard detach $BRIDGE_EDU >detach.out 2>&1"
show_output detach.out
expect_match detach-names-bridge "$(cat detach.out)" \
	"IOMMU group $group is not viable: bridge $BRIDGE is bound to shpchp \(the kernel counts a bridge's driver"
expect_eq detach-changed-nothing "$(pci_driver "$BRIDGE_EDU") $(cat "/sys/bus/pci/devices/$BRIDGE_EDU/driver_override")" \
	"none (null)"

# The kernel binds vfio-pci all the same (binding checks no viability), and
# refuses the group when userspace claims it.
check edu-to-vfio-pci sh -c "echo vfio-pci >/sys/bus/pci/devices/$BRIDGE_EDU/driver_override &&
	echo $BRIDGE_EDU >/sys/bus/pci/drivers/vfio-pci/bind" || exit 1
expect_eq edu-on-vfio-pci "$(pci_driver "$BRIDGE_EDU")" vfio-pci || exit 1
check_fails plan-refused sh -c "vfguard plan --domain vm1 --hostdev '$BRIDGE_EDU,backend=legacy' >plan.out 2>&1"
show_output plan.out
expect_match plan-names-bridge "$(cat plan.out)" \
	"IOMMU group $group is not viable: bridge $BRIDGE is bound to shpchp .*unbind it or bind it to pci-stub"
run_checks -p shpchp-legacy vfio_probe legacy --container /dev/vfio/vfio --group "/dev/vfio/$group" \
	--device "$BRIDGE_EDU" --not-viable
if [ -n "$iommufd" ]; then
	cdev=$(vfio_cdev "$BRIDGE_EDU")
	check_fails plan-iommufd-refused sh -c \
		"vfguard plan --domain vm1 --hostdev '$BRIDGE_EDU,backend=iommufd' >plan-iommufd.out 2>&1"
	show_output plan-iommufd.out
	expect_match plan-iommufd-names-bridge "$(cat plan-iommufd.out)" "bridge $BRIDGE is bound to shpchp"
	run_checks -p shpchp-iommufd vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --device-errno EPERM
fi

# The bridge unbound: the group is the edu's alone to claim, and vfguard's
# detach moves it (from no driver again) to vfio-pci.
check shpchp-unbind sh -c "echo $BRIDGE >$shpchp/unbind"
expect_eq bridge-unbound "$(pci_driver "$BRIDGE")" none || exit 1
check edu-unbind-by-hand sh -c "echo $BRIDGE_EDU >/sys/bus/pci/drivers/vfio-pci/unbind &&
	echo >/sys/bus/pci/devices/$BRIDGE_EDU/driver_override"
use_vfio_pci "$BRIDGE_EDU"
plan --domain vm1 --hostdev "$BRIDGE_EDU,backend=legacy"
expect_eq plan-group "$(plan_get nodes kind=group path)" "/dev/vfio/$group"
run_checks -p legacy vfio_probe legacy --container /dev/vfio/vfio --group "/dev/vfio/$group" --device "$BRIDGE_EDU"
if [ -n "$iommufd" ]; then
	check plan-iommufd vfguard plan --domain vm1 --hostdev "$BRIDGE_EDU,backend=iommufd"
	run_checks -p iommufd vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev"
fi

# While the group is in a container, shpchp cannot take the bridge.
rm -f hold hold.waiting
vfio_probe legacy --container /dev/vfio/vfio --group "/dev/vfio/$group" --device "$BRIDGE_EDU" \
	--pause-before-map "$PWD/hold" >hold.out 2>&1 &
holder=$!
i=0
while [ ! -e hold.waiting ] && kill -0 "$holder" 2>/dev/null && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
check group-held test -e hold.waiting
check_fails shpchp-bind-refused sh -c "echo $BRIDGE >$shpchp/bind 2>bind.err"
show_output bind.err
expect_match shpchp-bind-ebusy "$(cat bind.err)" "Device or resource busy"
expect_eq bridge-unbound-while-held "$(pci_driver "$BRIDGE")" none
touch hold
wait "$holder"
run_checks -p held cat hold.out

# Back as the guest booted: the edu reattached to no driver, shpchp on the bridge again.
check edu-reattach vfguard reattach "$BRIDGE_EDU"
check shpchp-rebind sh -c "echo $BRIDGE >$shpchp/bind"
expect_eq restored "$(pci_driver "$BRIDGE") $(pci_driver "$BRIDGE_EDU") $(cat "/sys/bus/pci/devices/$BRIDGE_EDU/driver_override")" \
	"shpchp none (null)"
