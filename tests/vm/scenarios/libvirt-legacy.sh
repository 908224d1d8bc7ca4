# vfgvm-root: clients
# A real libvirtd (trixie-backports) starts a paused TCG domain with the managed
# edu hostdev on the legacy backend, with vfguard's hook installed as packaged
# and libvirt's own DAC, namespace and device cgroup code on, as on every host.
# Before, libvirt's QEMU uid cannot open edu's group; while the domain runs,
# QEMU (libvirt-qemu, no capabilities) holds the group and lists 1234:11e8, and
# vfguard's audit of the domain is clean; after `virsh destroy` the uid is
# denied again and the host is exactly as before: owners, modes, xattrs, edu's
# driver, cgroup programs, vfguard's journal (docs/hooks.md, "Meeting
# libvirt's own drivers").
requires legacy
hook=/etc/libvirt/hooks/qemu.d/vfguard
expect_eq setup-hook-packaged "$(readlink "$hook")" "$(dirname "$(json_get /usr/share/containers/oci/hooks.d/vfguard-hook.json hook path)")/vfguard-libvirt-hook" || exit 1
check setup-hook-executable test -x "$hook" || exit 1
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq setup-edu-unbound "$(pci_driver "$EDU")" none || exit 1
libvirt_start || exit 1
domain=vfg-legacy
libvirt_domain $domain "name='vfio'" >domain.xml
check setup-define virsh_ define domain.xml || exit 1
gnum=$(iommu_group "$EDU")
group=/dev/vfio/$gnum
before=$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)

# Before: no node for edu's group, so libvirt's uid cannot open it.
run_checks -p before vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT

# During.
check start virsh_ start --paused $domain || { cat /var/log/libvirt/qemu/$domain.log; exit 1; }
expect_eq domstate "$(virsh_ domstate $domain)" paused
pid=$(cat /run/libvirt/qemu/$domain.pid)
expect_eq qemu-uid "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")" \
	"$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID"
expect_eq qemu-no-caps "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" 0000000000000000
expect_match qemu-holds-group "$(ls -l "/proc/$pid/fd/")" " -> $group\$"
expect_query_pci qmp-query-pci $domain
expect_eq edu-on-vfio-pci "$(pci_driver "$EDU")" vfio-pci
check status sh -c "vfguard status --json >status.json"
expect_eq status-domain "$(json_get status.json domains 0 name) $(json_get status.json domains 0 uid)" \
	"$domain $LIBVIRT_UID"
check audit-clean vfguard audit --domain $domain
echo "QEMU $pid: cgroup $(cat /proc/$pid/cgroup)"
ls -ln /dev/vfio
nsenter -t "$pid" -m ls -ln /dev/vfio
getfattr -d -m - --absolute-names /dev/vfio/* 2>&1
vfguard status

check destroy virsh_ destroy $domain
expect_eq domstate-after "$(virsh_ domstate $domain)" "shut off"

# After: the group node is gone with vfio-pci, and the uid is denied again.
run_checks -p after vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)"
check cleanup-undefine virsh_ undefine $domain
libvirt_stop
