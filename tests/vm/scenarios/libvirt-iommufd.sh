# vfgvm-root: clients
# libvirt-legacy on the iommufd backend (<driver iommufd='yes'/>, libvirt >=
# 12.1): libvirtd opens /dev/iommu and edu's cdev itself and passes the fds to
# QEMU, so vfguard's hook grants no path (fd access, docs/hooks.md). Before and
# after, libvirt's QEMU uid cannot open either node; while the domain runs,
# QEMU holds both, lists 1234:11e8, and vfguard's audit is clean; once the
# domain is destroyed the host is exactly as before.
requires iommufd
hook=/etc/libvirt/hooks/qemu.d/vfguard
expect_eq setup-hook-packaged "$(readlink "$hook")" /usr/sbin/vfguard-libvirt-hook || exit 1
check setup-hook-executable test -x "$hook" || exit 1
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq setup-edu-unbound "$(pci_driver "$EDU")" none || exit 1
libvirt_start || exit 1
domain=vfg-iommufd
libvirt_domain $domain "name='vfio' iommufd='yes'" >domain.xml
check setup-define virsh_ define domain.xml || exit 1
before=$(host_snapshot /sys/fs/cgroup /dev/iommu /dev/vfio/vfio)

# Before: /dev/iommu is root's (0660), edu has no cdev yet.
run_checks -p before vfio_probe iommufd --iommu /dev/iommu --cdev /dev/vfio/devices/vfio0 --device "$EDU" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno iommu=EACCES --open-errno cdev=ENOENT

# During.
check start virsh_ start --paused $domain || { cat /var/log/libvirt/qemu/$domain.log; exit 1; }
expect_eq domstate "$(virsh_ domstate $domain)" paused
pid=$(cat /run/libvirt/qemu/$domain.pid)
cdev=/dev/vfio/devices/$(ls "$EDU_SYS/vfio-dev")
expect_eq qemu-uid "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")" \
	"$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID"
expect_eq qemu-no-caps "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" 0000000000000000
expect_match qemu-holds-iommu "$(ls -l "/proc/$pid/fd/")" " -> /dev/iommu\$"
expect_match qemu-holds-cdev "$(ls -l "/proc/$pid/fd/")" " -> $cdev\$"
# libvirtd opened both nodes and passed them: it keeps no copy once QEMU has
# them, so a process revoke --hostdev would name (core/revoke.c) is QEMU alone.
libvirtd_fds=$(ls -l "/proc/$(cat /run/libvirtd.pid)/fd/")
expect_match libvirtd-fds-read "$libvirtd_fds" " -> socket:"
expect_eq libvirtd-keeps-no-vfio-fd "$(echo "$libvirtd_fds" | grep -cE ' -> /dev/(iommu|vfio/)')" 0
expect_query_pci qmp-query-pci $domain
expect_eq edu-on-vfio-pci "$(pci_driver "$EDU")" vfio-pci
check status sh -c "vfguard status --json >status.json"
expect_eq status-hostdev "$(json_get status.json domains 0 name) $(json_get status.json domains 0 hostdevs 0 backend) $(json_get status.json domains 0 hostdevs 0 access)" \
	"$domain iommufd fd"
check audit-clean vfguard audit --domain $domain
run_checks -p during-host vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --device "$EDU" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno iommu=EACCES --open-errno cdev=EACCES
echo "QEMU $pid: cgroup $(cat "/proc/$pid/cgroup")"
ls -l "/proc/$pid/fd/"
ls -ln /dev/vfio /dev/vfio/devices /dev/iommu
nsenter -t "$pid" -m ls -lnR /dev/vfio /dev/iommu
getfattr -d -m - --absolute-names /dev/vfio/* /dev/vfio/devices/* /dev/iommu 2>&1
vfguard status

check destroy virsh_ destroy $domain
expect_eq domstate-after "$(virsh_ domstate $domain)" "shut off"

# After: the cdev is gone with vfio-pci, /dev/iommu is root's again.
run_checks -p after vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --device "$EDU" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno iommu=EACCES --open-errno cdev=ENOENT
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/iommu /dev/vfio/vfio)"
expect_empty "apparmor-rules-gone" "$(ls /etc/apparmor.d/vfguard/ 2>/dev/null)"
check cleanup-undefine virsh_ undefine $domain
libvirt_stop
