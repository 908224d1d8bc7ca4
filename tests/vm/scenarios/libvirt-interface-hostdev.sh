# vfgvm-root: clients
# vfgvm-qemu: igb
# vfgvm-timeout: 240
# An SR-IOV VF as libvirt users give it to a VM (issue 22): <interface
# type='hostdev' managed='yes'> naming a VF of the igb PF, which stays on igb.
# A real libvirtd (trixie-backports) starts the domain paused with vfguard's
# hook installed as packaged: libvirt binds the VF to vfio-pci, the hook's
# grant makes the group QEMU's (libvirt-qemu, no capabilities), QEMU lists
# the VF (8086:10ca) and vfguard's status and audit see the domain's hostdev;
# after `virsh destroy` the uid is denied again and the host is as before:
# the VF's driver, the nodes, their xattrs, vfguard's journal.
requires sriov legacy
hook=/etc/libvirt/hooks/qemu.d/vfguard
check setup-hook-executable test -x "$hook" || exit 1
set_numvfs 1
vf=$(vf_bdf 0)
expect_eq setup-vf-unbound "$(pci_driver "$vf")" none || exit 1
group=/dev/vfio/$(iommu_group "$vf")
set -- $(echo "$vf" | tr ':.' '  ')
domain=vfg-vf
libvirt_domain_with $domain "    <interface type='hostdev' managed='yes'>
      <mac address='52:54:00:6d:90:02'/>
      <source>
        <address type='pci' domain='0x$1' bus='0x$2' slot='0x$3' function='0x$4'/>
      </source>
    </interface>" >domain.xml
# libvirt sets the VF's MAC through the PF's netdev, and refuses a PF that is
# down ("Unable to configure VF 0 of PF 'eth0' because the PF is not online").
pf_net=$(ls "$IGB_PF_SYS/net")
check setup-pf-up ip link set "$pf_net" up || exit 1
libvirt_start || exit 1
check define virsh_ define domain.xml || exit 1
before=$(sriov_snapshot /dev/vfio/vfio)
# Before: no node for the VF's group (nothing bound it to vfio-pci).
run_checks -p before vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$vf" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT

check start virsh_ start --paused $domain || {
	show_output /var/log/libvirt/qemu/$domain.log
	exit 1
}
expect_eq domstate "$(virsh_ domstate $domain)" paused
pid=$(cat /run/libvirt/qemu/$domain.pid)
expect_eq vf-on-vfio-pci "$(pci_driver "$vf")" vfio-pci
expect_eq pf-on-igb "$(pci_driver "$IGB_PF")" igb
expect_eq qemu-uid "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")" \
	"$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID"
expect_eq qemu-no-caps "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" 0000000000000000
expect_match qemu-holds-group "$(ls -l "/proc/$pid/fd/")" " -> $group\$"
virsh_ qemu-monitor-command --pretty $domain '{"execute":"query-pci"}' >query-pci.out 2>&1
# 8086:10ca in decimal, as query-pci writes ids.
expect_match qmp-query-pci "$(tr -d ' \n' <query-pci.out | grep -o '"id":{[^}]*}' | grep '"vendor":32902,' |
	grep '"device":4298')" . || show_output query-pci.out
check status sh -c "vfguard status --json >status.json"
expect_eq status-hostdev "$(json_get status.json domains 0 name) $(json_get status.json domains 0 hostdevs 0 address)" \
	"$domain $vf"
check audit-clean vfguard audit --domain $domain
# vfguard's grant on the host's node: libvirt's QEMU is the domain's uid.
expect_eq host-group-granted "$(stat -c '%u:%g %a' "$group")" "$LIBVIRT_UID:$LIBVIRT_UID 600"
expect_eq status-grant "$(json_get status.json domains 0 uid) $(json_get status.json domains 0 grants path="$group" state)" \
	"$LIBVIRT_UID granted"

check destroy virsh_ destroy $domain
expect_eq domstate-after "$(virsh_ domstate $domain)" "shut off"
# After: the group node is gone with vfio-pci, the VF back on no driver.
run_checks -p after vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$vf" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT
expect_same host-as-before "$before" "$(sriov_snapshot /dev/vfio/vfio)"
check undefine virsh_ undefine $domain
libvirt_stop
set_numvfs 0
check cleanup-pf-down ip link set "$pf_net" down
