# vfgvm-root: clients
# A real libvirtd (trixie-backports) starts a paused TCG domain with the managed
# edu hostdev on the legacy backend, with vfguard's hook installed as packaged
# and libvirt's own DAC driver and device cgroup on, as on every host. Before,
# libvirt's QEMU uid cannot open edu's group; while the domain runs, QEMU
# (libvirt-qemu, no capabilities) holds the group and lists 1234:11e8, and
# vfguard's audit of the domain is clean; after `virsh destroy` the uid is
# denied again and the host is exactly as before: owners, modes, xattrs, edu's
# driver, cgroup programs, vfguard's journal. Twice: with libvirt's mount
# namespace (the default: libvirt labels a private copy of the node) and
# without (libvirt labels the host's node too, on top of vfguard's grant,
# remembering the owner it found). docs/hooks.md, "Meeting libvirt's own drivers".
requires legacy
hook=/etc/libvirt/hooks/qemu.d/vfguard
expect_eq setup-hook-packaged "$(readlink "$hook")" \
	"$(dirname "$(json_get /usr/share/containers/oci/hooks.d/vfguard-hook.json hook path)")/vfguard-libvirt-hook" ||
	exit 1
check setup-hook-executable test -x "$hook" || exit 1
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq setup-edu-unbound "$(pci_driver "$EDU")" none || exit 1
domain=vfg-legacy
libvirt_domain $domain "name='vfio'" >domain.xml
group=/dev/vfio/$(iommu_group "$EDU")

# domain_life PREFIX: define, start paused, look, destroy, undefine; check names start with PREFIX.
domain_life() {
	local p=$1 before pid
	check "${p}define" virsh_ define domain.xml || return 1
	before=$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)
	# Before: no node for edu's group (nothing bound it to vfio-pci), so libvirt's uid cannot open it.
	run_checks -p "${p}before" vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
		--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT

	check "${p}start" virsh_ start --paused $domain || {
		show_output /var/log/libvirt/qemu/$domain.log
		return 1
	}
	expect_eq "${p}domstate" "$(virsh_ domstate $domain)" paused
	pid=$(cat /run/libvirt/qemu/$domain.pid)
	expect_eq "${p}qemu-uid" "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")" \
		"$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID"
	expect_eq "${p}qemu-no-caps" "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" 0000000000000000
	expect_match "${p}qemu-holds-group" "$(ls -l "/proc/$pid/fd/")" " -> $group\$"
	expect_query_pci "${p}qmp-query-pci" $domain
	expect_eq "${p}edu-on-vfio-pci" "$(pci_driver "$EDU")" vfio-pci
	# vfguard's grant on the host's node: libvirt's QEMU is the domain's uid.
	expect_eq "${p}host-group-granted" "$(stat -c '%u:%g %a' "$group")" "$LIBVIRT_UID:$LIBVIRT_UID 600"
	check "${p}status" sh -c "vfguard status --json >status.json"
	expect_eq "${p}status-domain" "$(json_get status.json domains 0 name) $(json_get status.json domains 0 uid) $(json_get status.json domains 0 grants path="$group" state)" \
		"$domain $LIBVIRT_UID granted"
	check "${p}audit-clean" vfguard audit --domain $domain
	echo "QEMU $pid: $(cat "/proc/$pid/cgroup"); its /dev/vfio, then the host's:"
	nsenter -t "$pid" -m ls -ln /dev/vfio
	ls -ln /dev/vfio
	getfattr -d -m - --absolute-names /dev/vfio/* 2>&1

	check "${p}destroy" virsh_ destroy $domain
	expect_eq "${p}domstate-after" "$(virsh_ domstate $domain)" "shut off"
	# After: the group node is gone with vfio-pci, and the uid is denied again.
	run_checks -p "${p}after" vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
		--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT
	expect_same "${p}host-as-before" "$before" "$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)"
	expect_empty "${p}apparmor-rules-gone" "$(ls /etc/apparmor.d/vfguard/ 2>/dev/null)"
	check "${p}undefine" virsh_ undefine $domain
}

libvirt_start || exit 1
domain_life ""
libvirt_stop
# libvirt without its mount namespace (qemu.conf namespaces = []): it labels
# the host's node itself, over vfguard's grant, and restores it at stop.
libvirt_phase=no-namespace-
libvirt_start 'namespaces = [ ]' || exit 1
domain_life no-namespace-
libvirt_stop
