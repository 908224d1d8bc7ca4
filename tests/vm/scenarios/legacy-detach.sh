# vfguard detach binds edu to vfio-pci and its group node appears; reattach
# gives it back to no driver (edu has none on the host) and the node goes.
# Again with a VFIO user holding edu: reattach says so before it waits for
# it, and goes on once it lets go.
requires legacy
group=$(iommu_group "$EDU")
# Start from edu as the kernel left it, whatever ran before.
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq starts-unbound "$(pci_driver "$EDU")" none
expect_absent no-group-node-before "/dev/vfio/$group"
check detach sh -c "vfguard detach --json $EDU >detach.json"
expect_eq detach-changed "$(json_get detach.json changed)" true
expect_eq detach-original-driver "$(json_get detach.json original_driver)" null
expect_eq driver-after-detach "$(pci_driver "$EDU")" vfio-pci
check group-node-appears test -c "/dev/vfio/$group"
expect_eq group-node-rdev "$(node_rdev "/dev/vfio/$group")" "$(cat "/sys/class/vfio/$group/dev")"
check detach-again sh -c "vfguard detach --json $EDU >again.json"
expect_eq detach-again-unchanged "$(json_get again.json changed)" false
check reattach vfguard reattach "$EDU"
expect_eq driver-after-reattach "$(pci_driver "$EDU")" none
expect_absent group-node-gone "/dev/vfio/$group"
expect_eq driver-override-cleared "$(cat "$EDU_SYS/driver_override")" "(null)"
# A second reattach has nothing to give back: it says so and succeeds, as a second detach does.
check reattach-again sh -c "vfguard reattach --json $EDU >reattach-again.json"
expect_eq reattach-again-unchanged "$(json_get reattach-again.json changed)" false
expect_eq reattach-again-driver "$(json_get reattach-again.json driver)" null
expect_eq driver-after-reattach-again "$(pci_driver "$EDU")" none
check detach-to-be-held vfguard detach "$EDU" || exit 1
given_back_while_held reattach-held vfguard reattach "$EDU" || exit 1
expect_eq driver-after-held-reattach "$(pci_driver "$EDU")" none
expect_absent group-node-gone-after-held-reattach "/dev/vfio/$group"
# Held by the device fd alone (group and container fds closed): /proc shows
# only an anonymous "[vfio-device]" file, yet the unbind waits for it all the
# same. The notice names the process as the possible holder.
check detach-to-be-held-by-device-fd vfguard detach "$EDU" || exit 1
vfio_probe legacy --container /dev/vfio/vfio --group "/dev/vfio/$group" --device "$EDU" --device-fd-only \
	--pause-before-map "$PWD/device-fd.hold" >device-fd.probe 2>&1 &
holder=$!
check device-fd-holder-has-edu wait_for device-fd.hold.waiting || exit 1
expect_empty device-fd-holder-has-no-group-fd "$(ls -l /proc/$holder/fd | grep /dev/vfio/)"
vfguard reattach "$EDU" >device-fd.out 2>device-fd.err &
command=$!
check device-fd-says-who-may-hold-it wait_for device-fd.err "vfguard reattach: $EDU: waiting for it to be \
released: pid $holder (vfio_probe) holds a VFIO device fd, maybe this device's (the kernel does not say which); \
the kernel asks that process to release the device, and unbinding it from vfio-pci waits until it does"
sleep 1
expect_match device-fd-waits-for-the-holder "$(process_state "$command")" '^[SD]$'
kill "$holder"
wait "$holder"
check device-fd-goes-on-once-released wait "$command"
expect_eq driver-after-device-fd-reattach "$(pci_driver "$EDU")" none
