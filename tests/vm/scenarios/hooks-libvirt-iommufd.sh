# The libvirt hook on a real kernel, iommufd (`<driver iommufd='yes'/>`), run as
# libvirt runs it with the host's default configuration (docs/hooks.md "Access:
# path or fd"). By default libvirt opens /dev/iommu and the cdev and passes the
# fds: prepare binds the managed edu to vfio-pci and grants no path (the cdev
# stays root's 0600, uid 107 cannot open it, root as libvirt walks the flow).
# With vfguard's metadata access="path" the cdev becomes 107:107 and
# /dev/iommu gains an ACL entry: uid 107 walks the iommufd flow itself.
# `release end` puts back owners, modes, ACL and edu's driver, journal empty.
requires iommufd
hook=/etc/libvirt/hooks/qemu.d/vfguard
check setup-hook-installed test -x "$hook" || exit 1
expect_absent setup-no-config /etc/vfguard/vfguard.conf || exit 1
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq starts-unbound "$(pci_driver "$EDU")" none || exit 1

# domain_xml NAME [METADATA]: a domain (formatdomain) with edu as a managed iommufd hostdev.
domain_xml() {
	cat <<EOF
<domain type='kvm'>
  <name>$1</name>
  <uuid>5a0c8b1e-3f4d-4c2a-9e7b-6d5c4b3a2f10</uuid>
  ${2:-}
  <memory unit='MiB'>256</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
EOF
	libvirt_hostdev "iommufd='yes'" "$EDU"
	cat <<EOF
  </devices>
  <seclabel type='static' model='dac' relabel='yes'><label>+107:+107</label></seclabel>
</domain>
EOF
}
domain_xml vm2 >fd.xml
domain_xml vm3 "<metadata><vfguard:domain xmlns:vfguard='urn:vfguard:libvirt:1'><vfguard:hostdev address='$EDU' access='path'/></vfguard:domain></metadata>" >path.xml

# What vfguard may change: edu's driver, the VFIO and iommufd nodes, what its
# journal, driver records and AppArmor rules folders hold.
snapshot() {
	libvirt_snapshot /dev/iommu /dev/vfio /dev/vfio/* /dev/vfio/devices/*
}
snapshot >before.state
iommu_before=$(stat -c '%u:%g %a' /dev/iommu)

# fd access (libvirt's own way): bound, journaled, no path granted.
expect_eq fd-prepare "$(run_hook fd.xml vm2 prepare begin -)" "$quiet" || exit 1
expect_eq fd-managed-bound "$(pci_driver "$EDU")" vfio-pci
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio* 2>/dev/null)")
check fd-cdev-exists test -c "$cdev" || exit 1
check fd-status sh -c "vfguard status --json >status.json"
show_output status.json
expect_eq fd-status-hostdev "$(json_get status.json domains 0 name) $(json_get status.json domains 0 hostdevs 0 backend) $(json_get status.json domains 0 hostdevs 0 access)" \
	"vm2 iommufd fd"
expect_no_json fd-no-dac-grant status.json domains 0 grants labeler=dac path
expect_eq fd-cdev-kept "$(stat -c '%u:%g %a' "$cdev")" "0:0 600"
expect_eq fd-iommu-kept "$(stat -c '%u:%g %a' /dev/iommu)" "$iommu_before"
run_checks -p fd-uid vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
run_checks -p fd-manager vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev"
snapshot >granted.state
expect_eq fd-started-begin "$(run_hook fd.xml vm2 started begin -)" "$quiet"
unchanged fd-started-begin-unchanged granted.state
expect_eq fd-release "$(run_hook fd.xml vm2 release end shutdown)" "$quiet" || exit 1
expect_eq fd-driver-restored "$(pci_driver "$EDU")" none
expect_absent fd-cdev-gone "$cdev"
check_fails fd-journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
unchanged fd-restored before.state

# path access by vfguard's metadata: the cdev is the uid's, /dev/iommu keeps its owner plus an ACL entry.
expect_eq path-prepare "$(run_hook path.xml vm3 prepare begin -)" "$quiet" || exit 1
expect_eq path-managed-bound "$(pci_driver "$EDU")" vfio-pci
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio* 2>/dev/null)")
expect_eq path-cdev-owner "$(stat -c '%u:%g %a' "$cdev")" "107:107 600"
expect_eq path-iommu-owner-kept "$(stat -c '%u:%g %a' /dev/iommu)" "$iommu_before"
check path-status sh -c "vfguard status --json >status.json"
expect_eq path-status-hostdev "$(json_get status.json domains 0 name) $(json_get status.json domains 0 hostdevs 0 backend) $(json_get status.json domains 0 hostdevs 0 access)" \
	"vm3 iommufd path"
expect_eq path-iommu-acl "$(json_get status.json domains 0 grants path=/dev/iommu labeler) $(json_get status.json domains 0 grants path=/dev/iommu state)" \
	"dac granted"
run_checks -p path-hypervisor vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--rlimit-set-errno EPERM
run_checks -p path-other-uid vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 108 --gid 108 \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
expect_eq path-release "$(run_hook path.xml vm3 release end shutdown)" "$quiet" || exit 1
expect_eq path-driver-restored "$(pci_driver "$EDU")" none
check_fails path-journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
unchanged path-restored before.state
# the ACL entry went too: bind edu again by hand and uid 107 is refused /dev/iommu
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio* 2>/dev/null)")
run_checks -p path-after vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
check cleanup-reattach vfguard reattach "$EDU"
