# vfgvm-root: clients
# A real QEMU (trixie-backports) started paused (-S) WITHOUT the edu device,
# as uid 107 with no capabilities, gets it by `vfguard hotplug` over QMP:
# once by path on the legacy backend, once on iommufd with fds only (the
# iommufd object added by hotplug, /dev/iommu and the cdev passed with getfd,
# QEMU's uid opening neither). QMP query-pci lists 1234:11e8 after, not
# before. Then `vfguard hotunplug`: the machine is i440fx ("pc"), whose
# pci.0 hot-plug is ACPI's (hw/acpi/pcihp.c: device_del only sets the slot's
# eject request and raises a GPE; the device goes when the guest's AML writes
# the eject register), so a guest that never ran never lets it go: hotunplug
# times out (exit 4) with every grant kept, the device still in QEMU. Once
# QEMU is gone, revoke --hostdev, and the host is as before.
requires legacy iommufd
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
id=vfg-$(echo "$EDU" | tr : -)
mkdir -m 0777 run
socket=$PWD/run/qmp.sock
nodes="/dev/iommu $cdev $group /dev/vfio/vfio"
# shellcheck disable=SC2086 # the node list
before=$(host_snapshot /sys/fs/cgroup $nodes)

# vfio_fds PID: PID's fds on /dev/iommu and /dev/vfio/*, their targets sorted.
vfio_fds() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		readlink "$fd"
	done | grep -E '^/dev/(iommu|vfio/)' | sort | tr '\n' ' '
}

# round NAME HOSTDEV EXPECTED-FDS: a paused QEMU without edu, hotplug, hotunplug's timeout, revoke.
round() {
	local name=$1 hostdev=$2 fds=$3 qemu_pid status
	set -- --set labelers=dac --domain vm1 --uid 107 --gid 107
	rm -f "$socket"
	$(as_uid 107) qemu-system-x86_64 -S -nodefaults -display none -accel tcg -m 64 \
		-qmp "unix:$socket,server=on,wait=off" >"$name-qemu.out" 2>&1 &
	qemu_pid=$!
	check "$name-qmp-ready" qmp --wait 60 "$socket" query-status || return 1
	check_fails "$name-no-edu-before" qmp --find-pci 1234:11e8 "$socket"
	check "$name-hotplug" vfguard hotplug --qmp "$socket" "$@" --hostdev "$hostdev" || show_output "$name-qemu.out"
	check "$name-qmp-query-pci" qmp --find-pci 1234:11e8 "$socket"
	expect_eq "$name-qemu-vfio-fds" "$(vfio_fds "$qemu_pid")" "$fds"
	expect_eq "$name-qemu-no-caps" "$(awk '/^CapEff:/ { print $2 }' "/proc/$qemu_pid/status")" 0000000000000000
	check "$name-audit-clean" vfguard audit "$@" --hostdev "$hostdev"

	vfguard hotunplug --qmp "$socket" --set labelers=dac --domain vm1 --hostdev "$EDU" --timeout 5 \
		>"$name-unplug.out" 2>"$name-unplug.err"
	status=$?
	expect_eq "$name-hotunplug-timed-out" "$status" 4
	expect_match "$name-hotunplug-says-kept" "$(cat "$name-unplug.err")" \
		"hostdev $EDU: no DEVICE_DELETED for $id in 5 s: .*every grant is kept \\(rerun hotunplug, or .*revoke --domain vm1 --hostdev $EDU\\)"
	show_output "$name-unplug.err"
	check "$name-grants-kept" vfguard audit "$@" --hostdev "$hostdev"
	check "$name-edu-still-in-qemu" qmp --find-pci 1234:11e8 "$socket"
	check "$name-qmp-quit" qmp "$socket" quit
	vm_pid=$qemu_pid vm_wait "$name-qemu-exits" 30
	show_output "$name-qemu.out"
	check "$name-revoke-hostdev" vfguard revoke --set labelers=dac --domain vm1 --hostdev "$EDU"
	check "$name-revoke-domain" vfguard revoke --set labelers=dac --domain vm1
	# shellcheck disable=SC2086 # the node list
	expect_same "$name-host-as-before" "$before" "$(host_snapshot /sys/fs/cgroup $nodes)"
}

round legacy-path "$EDU,backend=legacy" "$group /dev/vfio/vfio "
round iommufd-fd "$EDU,backend=iommufd,access=fd" "/dev/iommu $cdev "
