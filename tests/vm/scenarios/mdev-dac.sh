# Mediated devices on a real kernel (issue 21): an mdev of the kernel's mtty
# sample, made through its type's create, is planned (its own IOMMU group,
# device_api vfio-pci, its cdev), granted by DAC for path access on each
# backend and used by the probe as the hypervisor uid, which another uid
# cannot; then given by fd (vfguard exec) to a uid with no path grant. Each
# revoke puts the nodes back exactly, and the mdev is removed at the end.
requires legacy iommufd mdev
uuid=83b8f4f2-509f-382f-3c1e-e6bfe0fa1001
for type in /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-*; do break; done
check create sh -c "echo $uuid >$type/create" || exit 1
mdev=/sys/bus/mdev/devices/$uuid
gnum=$(basename "$(readlink "$mdev/iommu_group")")
group=/dev/vfio/$gnum
cdev=/dev/vfio/devices/$(basename "$(ls -d "$mdev"/vfio-dev/vfio*)")
echo "labelers = dac" >dac.conf
snapshot() {
	stat_nodes /dev/vfio/vfio /dev/iommu "$group" "$cdev"
	ls /run/vfguard/domains 2>/dev/null
}
snapshot >before.state

plan --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 --hostdev "mdev=$uuid,backend=legacy"
expect_eq plan-address "$(plan_get hostdevs 0 address)" "mdev:$uuid"
expect_eq plan-device-api "$(plan_get hostdevs 0 mdev device_api)" vfio-pci
expect_eq plan-type "$(plan_get hostdevs 0 mdev type)" "$(basename "$type")"
expect_eq plan-group "$(plan_get hostdevs 0 iommu_group number)" "$gnum"
expect_eq plan-group-alone "$(plan_get hostdevs 0 iommu_group members '#')" 0
expect_eq plan-node "$(plan_get hostdevs 0 nodes 1)" "$group"

# legacy, path: the group node becomes uid 107's; the device is got by its UUID.
run_checks -p legacy-before vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$uuid" \
	--uid 107 --gid 107 --open-errno group=EACCES
check legacy-apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "mdev=$uuid,backend=legacy" || exit 1
expect_eq legacy-group-owner "$(stat -c '%u:%g %a' "$group")" "107:107 600"
check status sh -c "vfguard status --config $PWD/dac.conf --json >status.json"
expect_eq status-claim "$(json_get status.json domains 0 hostdevs 0 address)" "mdev:$uuid"
run_checks -p legacy-hypervisor vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$uuid" \
	--uid 107 --gid 107
run_checks -p legacy-other-uid vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$uuid" \
	--uid 108 --gid 108 --open-errno group=EACCES
check legacy-revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
unchanged legacy-restored before.state

# iommufd, path: the cdev becomes uid 107's, /dev/iommu gains its ACL entry.
check iommufd-apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "mdev=$uuid,backend=iommufd" || exit 1
expect_eq iommufd-cdev-owner "$(stat -c '%u:%g %a' "$cdev")" "107:107 600"
run_checks -p iommufd-hypervisor vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--rlimit-set-errno EPERM
run_checks -p iommufd-other-uid vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 108 --gid 108 --open-errno iommu=EACCES --open-errno cdev=EACCES
check iommufd-revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
unchanged iommufd-restored before.state

# fd access, each backend: no path grant; vfguard exec hands the nodes to uid 65534.
hostdev="mdev=$uuid,backend=iommufd,access=fd"
check fd-apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 65534 --gid 65534 \
	--hostdev "$hostdev" || exit 1
run_checks -p fd-no-path vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 65534 --gid 65534 --open-errno iommu=EACCES --open-errno cdev=EACCES
run_checks -p fd-exec vfguard exec --config "$PWD/dac.conf" --domain vm1 --uid 65534 --gid 65534 \
	--hostdev "$hostdev" -- vfio_probe iommufd --fd iommu=3 --fd cdev=4 --expect-rlimit-mode 1 \
	--rlimit-set-errno EPERM
expect_eq fd-qemu-args "$(vfguard qemu-args --domain vm1 --hostdev "$hostdev" | tr '\n' ' ')" \
	"-object iommufd,id=iommufd0,fd=3 -device vfio-pci,sysfsdev=$mdev,id=hostdev0,iommufd=iommufd0,fd=4 "
check fd-revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
hostdev="mdev=$uuid,backend=legacy,access=fd"
check fd-legacy-apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 65534 --gid 65534 \
	--hostdev "$hostdev" || exit 1
run_checks -p fd-legacy-exec vfguard exec --config "$PWD/dac.conf" --domain vm1 --uid 65534 --gid 65534 \
	--hostdev "$hostdev" -- vfio_probe legacy --fd container=3 --fd group=4 --device "$uuid"
check_fails fd-legacy-qemu-args sh -c "vfguard qemu-args --domain vm1 --hostdev '$hostdev' 2>qemu-args.err"
check fd-legacy-qemu-reason grep -q "Use FD passing only with iommufd backend" qemu-args.err
check fd-legacy-revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
unchanged fd-restored before.state

# Managed detach has no driver to rebind for an mdev.
check_fails detach-refused sh -c "vfguard detach mdev=$uuid 2>detach.err"
check detach-reason grep -q "an mdev has no driver" detach.err
check remove sh -c "echo 1 >$mdev/remove"
check_fails removed test -e "$mdev"
