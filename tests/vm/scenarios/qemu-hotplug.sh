# vfgvm-root: clients
# A real QEMU (trixie-backports) started paused (-S) WITHOUT the edu device,
# as uid 107 with no capabilities, gets it by `vfguard hotplug` over QMP:
# by path on the legacy backend and on iommufd with fds only (the iommufd
# object added by hotplug, /dev/iommu and the cdev passed with getfd, QEMU's
# uid opening neither). QMP query-pci lists 1234:11e8 after, not before.
# Then `vfguard hotunplug`, whose outcome depends on the slot:
# - i440fx ("pc"), pci.0: its hot-plug is ACPI's (hw/acpi/pcihp.c: device_del
#   sets the slot's eject request and raises a GPE; the device goes when the
#   guest's AML writes the eject register). A guest that never ran never
#   lets go: hotunplug times out (exit 4), every grant kept, the device still
#   in QEMU; once QEMU is gone, revoke --hostdev, and the host is as before.
# - q35 with native PCIe hot-plug (ACPI's turned off) on a pcie-root-port:
#   the empty port's slot is powered off at reset and nothing powers it on
#   in a guest that never ran, and hw/pci/pcie.c
#   pcie_cap_slot_unplug_request_cb unplugs a device in a powered-off slot
#   "without round-trip to the guest": DEVICE_DELETED comes at once, hotunplug
#   revokes, and the host is as before while QEMU still runs.
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
# shellcheck disable=SC2086 # the node list
before_nodes=$(stat_nodes $nodes; getfattr -d -m - --absolute-names $nodes)

# vfio_fds PID: PID's fds on /dev/iommu and /dev/vfio/*, their targets sorted.
vfio_fds() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		readlink "$fd"
	done | grep -E '^/dev/(iommu|vfio/)' | sort | tr '\n' ' '
}

# round NAME HOSTDEV EXPECTED-FDS UNPLUG [MACHINE-ARGS...]: a paused QEMU without edu,
# hotplug, then hotunplug: UNPLUG "timeout" (grants kept, revoked after QEMU
# quits) or "deleted" (revoked by hotunplug).
round() {
	local name=$1 hostdev=$2 fds=$3 unplug=$4 qemu_pid status bus=''
	shift 4
	[ $# -gt 0 ] && bus=rp1
	rm -f "$socket"
	$(as_uid 107) qemu-system-x86_64 -S -nodefaults -display none -accel tcg -m 64 "$@" \
		-qmp "unix:$socket,server=on,wait=off" >"$name-qemu.out" 2>&1 &
	qemu_pid=$!
	# --memory and --pid: QEMU's RLIMIT_MEMLOCK raised for the 64 MiB it pins (docs/memlock.md).
	set -- --set labelers=dac --domain vm1 --uid 107 --gid 107 --memory 64M --pid "$qemu_pid"
	check "$name-qmp-ready" qmp --wait 60 "$socket" query-status || return 1
	check_fails "$name-no-edu-before" qmp --find-pci 1234:11e8 "$socket"
	check "$name-hotplug" vfguard hotplug --qmp "$socket" ${bus:+--bus "$bus"} "$@" --hostdev "$hostdev" ||
		show_output "$name-qemu.out"
	if [ -z "$bus" ]; then
		check "$name-qmp-query-pci" qmp --find-pci 1234:11e8 "$socket"
	else
		# query-pci lists what is behind a bridge only once the firmware gave it a
		# secondary bus number (hw/pci/pci-qmp-cmds.c qmp_query_pci_bridge), which
		# a guest that never ran did not: ask QOM whether the device is realized.
		expect_eq "$name-qom-realized" "$(qmp "$socket" qom-get \
			"{\"path\": \"/machine/peripheral/$id\", \"property\": \"realized\"}")" true
	fi
	expect_eq "$name-qemu-vfio-fds" "$(vfio_fds "$qemu_pid")" "$fds"
	expect_eq "$name-qemu-no-caps" "$(awk '/^CapEff:/ { print $2 }' "/proc/$qemu_pid/status")" 0000000000000000
	check "$name-audit-clean" vfguard audit "$@" --hostdev "$hostdev"

	vfguard hotunplug --qmp "$socket" --set labelers=dac --domain vm1 --hostdev "$EDU" --timeout 5 \
		>"$name-unplug.out" 2>"$name-unplug.err"
	status=$?
	show_output "$name-unplug.out"
	show_output "$name-unplug.err"
	if [ "$unplug" = timeout ]; then
		expect_eq "$name-hotunplug-timed-out" "$status" 4
		expect_match "$name-hotunplug-says-kept" "$(cat "$name-unplug.err")" \
			"hostdev $EDU: no DEVICE_DELETED for $id in 5 s: .*every grant is kept \\(rerun hotunplug, or .*revoke --domain vm1 --hostdev $EDU\\)"
		check "$name-grants-kept" vfguard audit "$@" --hostdev "$hostdev"
		check "$name-edu-still-in-qemu" qmp --find-pci 1234:11e8 "$socket"
	else
		expect_eq "$name-hotunplug-deleted" "$status" 0
		expect_match "$name-hotunplug-says" "$(cat "$name-unplug.out")" "hostdev $EDU unplugged \\($id\\)"
		check_fails "$name-device-gone-from-qemu" qmp "$socket" qom-list "{\"path\": \"/machine/peripheral/$id\"}"
		# The hostdev revoked while QEMU runs; the domain keeps its domain-scope grant (memlock).
		expect_eq "$name-hostdev-revoked" "$(vfguard status --domain vm1 | grep -c "$EDU")" 0
		# shellcheck disable=SC2086 # the node list
		expect_eq "$name-nodes-as-before-qemu-runs" "$(stat_nodes $nodes; getfattr -d -m - --absolute-names $nodes)" "$before_nodes"
	fi
	check "$name-qmp-quit" qmp "$socket" quit
	vm_pid=$qemu_pid vm_wait "$name-qemu-exits" 30
	show_output "$name-qemu.out"
	if [ "$unplug" = timeout ]; then
		check "$name-revoke-hostdev" vfguard revoke --set labelers=dac --domain vm1 --hostdev "$EDU"
	fi
	check "$name-revoke-domain" vfguard revoke --set labelers=dac --domain vm1
	# shellcheck disable=SC2086 # the node list
	expect_same "$name-host-as-before" "$before" "$(host_snapshot /sys/fs/cgroup $nodes)"
}

# refused NAME HOSTDEV KEPT: device_add fails after QEMU took what it was
# given: the pcie-root-port's one slot is taken (hw/pci/pci.c
# do_pci_register_device refuses it before vfio-pci's realize runs, after
# the device's properties, its "fd" among them, were set). Measured with
# QEMU 11.1: a device that failed to realize is not finalized, so QEMU keeps
# the cdev's fd it took and the iommufd object the device links (object-del:
# "in use") until it exits; by path, vfio-pci opened nothing yet. KEPT is
# what QEMU then holds ("" none). hotplug fails naming QEMU's reason; with
# nothing kept it takes every grant back; with the cdev kept, its revoke is
# refused naming QEMU, and the domain keeps the hostdev until QEMU exits,
# then revoke --hostdev. Either way the host ends as before.
refused() {
	local name=$1 hostdev=$2 kept=$3 qemu_pid status
	rm -f "$socket"
	$(as_uid 107) qemu-system-x86_64 -S -nodefaults -display none -accel tcg -m 64 -machine q35 \
		-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1 -device virtio-rng-pci,bus=rp1 \
		-qmp "unix:$socket,server=on,wait=off" >"$name-qemu.out" 2>&1 &
	qemu_pid=$!
	check "$name-qmp-ready" qmp --wait 60 "$socket" query-status || return 1
	vfguard hotplug --qmp "$socket" --bus rp1 --set labelers=dac --domain vm1 --uid 107 --gid 107 \
		--hostdev "$hostdev" >"$name-hotplug.out" 2>"$name-hotplug.err"
	status=$?
	show_output "$name-hotplug.err"
	expect_eq "$name-hotplug-failed" "$status" 1
	expect_match "$name-hotplug-says-why" "$(cat "$name-hotplug.err")" \
		"vfguard: $EDU: QEMU refused device_add on $socket: GenericError: PCI: slot 0 function 0 already occupied"
	expect_match "$name-qemu-fds-read" "$(ls -l "/proc/$qemu_pid/fd/")" " -> socket:"
	# shellcheck disable=SC2086 # the node list
	expect_eq "$name-nodes-as-before-qemu-runs" "$(stat_nodes $nodes; getfattr -d -m - --absolute-names $nodes)" "$before_nodes"
	if [ -z "$kept" ]; then
		expect_empty "$name-qemu-holds-no-vfio-node" "$(vfio_fds "$qemu_pid")"
		expect_eq "$name-nothing-held" "$(vfguard status --domain vm1 2>&1)" "domain vm1 holds nothing"
	else
		expect_eq "$name-qemu-keeps-fds" "$(vfio_fds "$qemu_pid")" "$kept"
		expect_match "$name-hotplug-says-kept" "$(cat "$name-hotplug.err")" \
			"; domain vm1 keeps the hostdev and its grants, since pid $qemu_pid \\(qemu-system-x86\\) has $cdev open, after 5 s .*run vfguard revoke --domain vm1 --hostdev $EDU\$"
		expect_match "$name-hostdev-held" "$(vfguard status --domain vm1 2>&1)" "hostdev $EDU"
	fi
	check "$name-qmp-quit" qmp "$socket" quit
	vm_pid=$qemu_pid vm_wait "$name-qemu-exits" 30
	[ -z "$kept" ] || check "$name-revoke-hostdev" vfguard revoke --set labelers=dac --domain vm1 --hostdev "$EDU"
	# shellcheck disable=SC2086 # the node list
	expect_same "$name-host-as-before" "$before" "$(host_snapshot /sys/fs/cgroup $nodes)"
}

refused refused-iommufd-fd "$EDU,backend=iommufd,access=fd" "/dev/iommu $cdev "
refused refused-legacy-path "$EDU,backend=legacy" ""
round legacy-path "$EDU,backend=legacy" "$group /dev/vfio/vfio " timeout
round iommufd-fd "$EDU,backend=iommufd,access=fd" "/dev/iommu $cdev " timeout
round q35-iommufd-fd "$EDU,backend=iommufd,access=fd" "/dev/iommu $cdev " deleted \
	-machine q35 -global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off \
	-device pcie-root-port,id=rp1,bus=pcie.0,chassis=1
