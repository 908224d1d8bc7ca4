# vfgvm-root: clients
# vfgvm-boot: alone
# docs/hooks.md, "Hot-plug into a domain the hook started", done with a real
# libvirtd 12.9 (its DAC driver, no systemd), as written there. libvirt runs
# no hook for `virsh attach-device` or `detach-device`, so the grant of a
# device hot-plugged into a running domain is made by hand, and taken back
# by hand.
#
# (a) A domain started with the managed edu (the hook binds it and grants
# its group at `prepare begin`): `vfguard status` gives its uid, gid and
# uuid. `virsh detach-device` returns, but QEMU keeps the device: the slot
# was powered on at start, and a guest that never ran never lets it go.
# `vfguard revoke --hostdev` then refuses, naming QEMU and changing nothing
# (before, its give-back of edu waited in the kernel's unbind for good and
# this scenario timed out); `release end` revokes it at destroy.
#
# (b) A domain started without it: nothing in `vfguard status` then, so the
# ids are qemu.conf's user (the hook's too) and the uuid virsh's. `vfguard
# apply ... managed=yes` by hand, `attach-device`, QEMU holds the group;
# `detach-device`, QEMU lets it go at once (the slot no guest powered on),
# `vfguard revoke --hostdev` gives edu back; again in, and `release end`
# revokes at destroy. Each step is checked against QEMU (its fds, HMP info
# qtree) and the host.
#
# q35, edu on a pcie-root-port with ACPI hot-plug of bridges off, so the
# slot's hot-plug is native PCIe (docs/hotplug.md), as in
# systemd-libvirt-closed-scope. A boot of its own: its waits (libvirt's for
# the unplug, the refusal's 5 s) would take the clients boot past its
# timeout.
requires legacy
libvirt_edu_setup || exit 1
group=/dev/vfio/$(iommu_group "$EDU")
libvirt_hostdev "name='vfio'" "$EDU" |
	sed "s|</source>|</source>\n      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>|" >hostdev.xml
libvirt_start || exit 1
before=$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)

# (a)
domain=vfg-hotplug
libvirt_hotplug_domain $domain "$(cat hostdev.xml)" >domain.xml
check a-define virsh_ define domain.xml || exit 1
uuid=$(virsh_ domuuid $domain | head -n 1)
check a-start virsh_ start --paused $domain || {
	show_output "/var/log/libvirt/qemu/$domain.log"
	exit 1
}
pid=$(cat /run/libvirt/qemu/$domain.pid)
expect_match a-native-pcie-hotplug "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"
expect_match a-qemu-holds-group "$(qemu_vfio_fds "$pid")" "^$group\$"
check a-status sh -c "vfguard status --json >status.json"
ids="$(json_get status.json domains name=$domain uid) $(json_get status.json domains name=$domain gid)"
expect_eq a-status-ids "$ids $(json_get status.json domains name=$domain uuid)" "$LIBVIRT_UID $LIBVIRT_UID $uuid"
uid=${ids% *} gid=${ids#* }
virsh_ detach-device $domain hostdev.xml --live >detach.out 2>&1
show_output detach.out
# libvirt waited for the guest already (its unplug timeout); the refusal below waits 5 s more.
expect_match a-qemu-keeps-group "$(qemu_vfio_fds "$pid")" "^$group\$"
granted=$(stat -c '%u:%g %a' "$group")
vfguard revoke --domain $domain --hostdev "$EDU" >refused.out 2>&1
expect_eq a-revoke-refused "$?" 1
show_output refused.out
expect_match a-refusal-names-qemu "$(cat refused.out)" \
	"hostdev $EDU of domain $domain is still in its VM: pid $pid \\(qemu-system-x86\\) has $group open, after 5 s"
expect_match a-refusal-changed-nothing "$(cat refused.out)" "nothing was changed"
expect_eq a-edu-still-on-vfio-pci "$(pci_driver "$EDU")" vfio-pci
expect_eq a-group-still-granted "$(stat -c '%u:%g %a' "$group")" "$granted"
check a-audit-clean vfguard audit --domain $domain
check a-destroy virsh_ destroy $domain
expect_eq a-edu-given-back "$(pci_driver "$EDU")" none
expect_empty a-nothing-held "$(vfguard status 2>&1 | grep -F "$domain")"
check a-undefine virsh_ undefine $domain

# (b)
domain=vfg-hotplug-empty
libvirt_hotplug_domain $domain >domain.xml
check b-define virsh_ define domain.xml || exit 1
uuid=$(virsh_ domuuid $domain | head -n 1)
check b-start virsh_ start --paused $domain || exit 1
pid=$(cat /run/libvirt/qemu/$domain.pid)
expect_empty b-hook-granted-nothing "$(vfguard status 2>&1 | grep -F "$domain")"
for round in 1 2; do
	check b$round-apply-by-hand vfguard apply --domain $domain --uuid "$uuid" --uid "$uid" --gid "$gid" \
		--hostdev "$EDU,backend=legacy,managed=yes"
	expect_eq b$round-edu-bound "$(pci_driver "$EDU")" vfio-pci
	expect_eq b$round-group-granted "$(stat -c '%u:%g %a' "$group")" "$LIBVIRT_UID:$LIBVIRT_UID 600"
	check b$round-plug virsh_ attach-device $domain hostdev.xml --live
	expect_match b$round-qemu-holds-group "$(qemu_vfio_fds "$pid")" "^$group\$"
	# query-pci lists what is behind a bridge only once firmware numbered it; HMP info qtree lists it anyway.
	virsh_ qemu-monitor-command --hmp $domain 'info qtree' >qtree.out 2>&1
	expect_match b$round-qemu-lists-edu "$(sed -n '/dev: vfio-pci/,/pci id/p' qtree.out)" "pci id 1234:11e8" ||
		show_output qtree.out
	check b$round-audit-clean vfguard audit --domain $domain
	[ $round = 1 ] || break
	check b1-unplug virsh_ detach-device $domain hostdev.xml --live
	qemu_wait_let_go "$pid"
	expect_empty b1-qemu-lets-go "$(qemu_vfio_fds "$pid")"
	expect_empty b1-domain-no-hostdev "$(virsh_ dumpxml $domain | grep -F '<hostdev')"
	# libvirt leaves a function it found on vfio-pci at the plug where it was (docs/hooks.md, Known limits).
	expect_eq b1-edu-left-by-libvirt "$(pci_driver "$EDU")" vfio-pci
	check b1-revoke-hostdev vfguard revoke --domain $domain --hostdev "$EDU"
	expect_eq b1-edu-given-back "$(pci_driver "$EDU")" none
	expect_absent b1-group-node-gone "$group"
done
check b-destroy virsh_ destroy $domain
expect_eq b-edu-given-back "$(pci_driver "$EDU")" none
expect_absent b-group-node-gone "$group"
expect_empty b-nothing-held "$(vfguard status 2>&1 | grep -F "$domain")"
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)"
check b-undefine virsh_ undefine $domain
libvirt_stop
