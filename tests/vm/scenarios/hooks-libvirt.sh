# The libvirt hook on a real kernel, run as libvirt runs it: the installed
# /etc/libvirt/hooks/qemu.d/vfguard with DOMAIN OPERATION SUB-OPERATION EXTRA
# and the domain XML on stdin (docs/hooks.md), with the host's default
# configuration. `prepare begin` binds the managed edu to vfio-pci and gives
# its group node to the dac seclabel's 107:107, who then walks the type1 flow;
# other operations change nothing; `release end` puts back every owner and
# mode and edu's driver, journal empty. A domain naming a function that does
# not exist, or with no dac label and no qemu.conf user, is refused with one
# line naming why, and nothing changes.
requires legacy
hook=/etc/libvirt/hooks/qemu.d/vfguard
check setup-hook-installed test -x "$hook" || exit 1
expect_absent setup-no-config /etc/vfguard/vfguard.conf || exit 1
expect_absent setup-no-qemu-conf /etc/libvirt/qemu.conf || exit 1
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq starts-unbound "$(pci_driver "$EDU")" none || exit 1

# domain_xml NAME DAC-SECLABEL HOSTDEV-ADDRESS...: a domain as libvirt documents
# it (formatdomain: hostdev mode='subsystem' type='pci', seclabel, memory).
domain_xml() {
	local name=$1 seclabel=$2 address
	shift 2
	cat <<EOF
<domain type='kvm'>
  <name>$name</name>
  <uuid>c7a5fdbd-cdaf-9455-926a-d65c16db1809</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
EOF
	for address in "$@"; do
		libvirt_hostdev "name='vfio'" "$address"
	done
	echo "  </devices>"
	echo "  $seclabel"
	echo "</domain>"
}
static_dac="<seclabel type='static' model='dac' relabel='yes'><label>+107:+107</label></seclabel>"
domain_xml vm1 "$static_dac" "$EDU" >vm1.xml
# a second function that exists nowhere on this machine, after edu
domain_xml vm1 "$static_dac" "$EDU" 0000:07:00.0 >missing.xml
domain_xml vm1 "<seclabel type='dynamic' model='dac' relabel='yes'/>" "$EDU" >dynamic.xml

# What vfguard may change: edu's driver, the VFIO nodes, what its journal, driver
# records and AppArmor rules folders hold (the folders themselves stay once made).
snapshot() {
	libvirt_snapshot /dev/vfio /dev/vfio/*
}
group=/dev/vfio/$(iommu_group "$EDU")
snapshot >before.state

# Operations other than prepare/release, before anything is granted: nothing.
expect_eq start-begin-unprepared "$(run_hook vm1.xml vm1 start begin -)" "$quiet"
unchanged start-begin-unprepared-unchanged before.state

expect_eq prepare "$(run_hook vm1.xml vm1 prepare begin -)" "$quiet" || exit 1
expect_eq managed-bound "$(pci_driver "$EDU")" vfio-pci
expect_eq group-owner "$(stat -c '%u:%g %a' "$group")" "107:107 600"
expect_eq container-kept "$(stat -c '%u:%g %a' /dev/vfio/vfio)" "0:0 666"
check status sh -c "vfguard status --json >status.json"
show_output status.json
expect_eq status-domain "$(json_get status.json domains 0 name) $(json_get status.json domains 0 uid):$(json_get status.json domains 0 gid)" \
	"vm1 107:107"
expect_eq status-hostdev "$(json_get status.json domains 0 hostdevs 0 address) $(json_get status.json domains 0 hostdevs 0 backend) $(json_get status.json domains 0 hostdevs 0 access)" \
	"$EDU legacy path"
expect_eq status-group-grant "$(json_get status.json domains 0 grants path="$group" labeler) $(json_get status.json domains 0 grants path="$group" state)" \
	"dac granted"
run_checks -p hypervisor vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid 107 --gid 107
run_checks -p other-uid vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid 108 --gid 108 --open-errno group=EACCES

# The rest of a domain's life until release: nothing changes.
snapshot >granted.state
for operation in "start begin" "started begin" "reconnect begin" "stopped end"; do
	name=$(echo "$operation" | tr ' ' -)
	expect_eq "$name" "$(run_hook vm1.xml vm1 $operation -)" "$quiet"
	unchanged "$name-unchanged" granted.state
done

expect_eq release "$(run_hook vm1.xml vm1 release end shutdown)" "$quiet" || exit 1
expect_eq driver-restored "$(pci_driver "$EDU")" none
expect_absent group-node-gone "$group"
check_fails journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
expect_absent driver-record-gone "/run/vfguard/drivers/$EDU"
unchanged release-restored before.state
# release with an unreadable XML is still a release; a second one finds nothing to do
echo '<domain' >broken.xml
expect_eq release-again "$(run_hook broken.xml vm1 release end -)" "$quiet"
unchanged release-again-unchanged before.state

# A hostdev that does not exist: refused, one line naming the domain and it, edu (listed first, managed) untouched.
expect_eq missing-refused "$(run_hook missing.xml vm1 prepare begin -)" "exit 1, stdout 0 bytes, stderr 1 lines"
check missing-reason grep -E "^vfguard: domain 'vm1': 0000:07:00\.0: no such PCI function on this host " hook.err
unchanged missing-unchanged before.state

# No dac label and no qemu.conf: libvirt's built-in user (config key
# libvirt_qemu_user, libvirt-qemu), which this guest lacks: refused, one line
# naming the key.
expect_eq no-user-refused "$(run_hook dynamic.xml vm1 prepare begin -)" "exit 1, stdout 0 bytes, stderr 1 lines"
check no-user-reason grep -E "^vfguard: .*no <seclabel model='dac'> with a label and .*qemu\.conf sets no user or group.*libvirt_qemu_user 'libvirt-qemu:libvirt-qemu'" hook.err
unchanged no-user-unchanged before.state
# With qemu.conf's user and group (as libvirt reads them), a dynamic dac label grants to them.
mkdir -p /etc/libvirt && printf 'user = "+108"\ngroup = "+109"\n' >/etc/libvirt/qemu.conf
expect_eq qemu-conf-prepare "$(run_hook dynamic.xml vm1 prepare begin -)" "$quiet"
expect_eq qemu-conf-owner "$(stat -c '%u:%g %a' "$group")" "108:109 600"
expect_eq qemu-conf-release "$(run_hook dynamic.xml vm1 release end -)" "$quiet"
rm -f /etc/libvirt/qemu.conf
unchanged qemu-conf-restored before.state
