# vfgvm-root: clients-systemd
# Issue 20 with libvirt's own scope under systemd 257: an administrator closes
# every machine scope with a prefix drop-in (machine-.scope.d, DevicePolicy=
# closed plus the nodes QEMU may need), so systemd's program sits on the scope
# that machined makes for each domain, and libvirt's own on its libvirt/
# cgroup, where QEMU runs. QEMU's open of the group then gets EPERM from
# systemd's program: a domain with the managed edu does not start. libvirt
# 12.9 runs `start begin` before it makes the scope (no scope, no pid file
# then: checked below), and a hostdev's node is opened by QEMU before any
# later hook, so vfguard grants on a running domain, through the scope's
# DeviceAllow=, for a hostdev hot-plugged with `virsh attach-device`:
# refused with cgroup_foreign_programs = fail (both programs named), with
# proceed the unit's DeviceAllow= and libvirt's program left to libvirt. While
# the scope exists, the device detached and the domain revoked put the unit's
# DeviceAllow=/DevicePolicy= back exactly, and QEMU gets EPERM again. The
# scope goes with the domain; the release hook's revoke, and a restore after a
# revoke cut short, finish with the unit gone.
requires legacy
libvirt_edu_setup || exit 1
domain=vfg-closed group=/dev/vfio/$(iommu_group "$EDU")
machines=/sys/fs/cgroup/machine.slice
dropin=/etc/systemd/system/machine-.scope.d/50-devices.conf
# What QEMU may need besides the pseudo devices closed allows (systemd.resource-control(5)): ptys, KVM, tun.
mkdir -p "${dropin%/*}"
printf '%s\n' '[Scope]' DevicePolicy=closed 'DeviceAllow=/dev/ptmx rw' 'DeviceAllow=/dev/kvm rw' \
	'DeviceAllow=/dev/net/tun rw' >"$dropin"
check setup-daemon-reload systemctl daemon-reload
# Where libvirt is at `start begin`: the machine scopes and the pid file, as a hook sees them.
phase_hook=/etc/libvirt/hooks/qemu.d/00-vfgvm-phase
cat >"$phase_hook" <<'EOF'
#!/bin/sh
cat >/dev/null
[ "$2 $3" = "start begin" ] || exit 0
echo "scopes=$(ls -d /sys/fs/cgroup/machine.slice/machine-*.scope 2>/dev/null | wc -l) pidfile=$(test -e "/run/libvirt/qemu/$1.pid" && echo yes || echo no)" >/run/vfgvm-start-begin
EOF
chmod +x "$phase_hook"
check systemd-running sh -c 'state=$(systemctl is-system-running --wait); echo "$state"; [ "$state" = running ]'
libvirt_start || exit 1

# scope_of PID: QEMU's machine scope, from its cgroup (.../SCOPE/libvirt).
scope_of() {
	sed -n 's|^0::/machine.slice/\(machine-qemu.*\.scope\)/libvirt$|\1|p' "/proc/$1/cgroup"
}

# scope_gone PREFIX SCOPE: check PREFIX-scope-gone that systemd forgot the scope (within 10 s).
scope_gone() {
	local i=0
	while [ "$(systemctl show -p LoadState --value "$2")" != not-found ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	expect_eq "$1-scope-gone" "$(systemctl show -p LoadState --value "$2")" not-found
	expect_absent "$1-scope-cgroup-gone" "$machines/$2"
}

# (a) The managed edu, as libvirt-legacy starts it: EPERM from systemd's program.
libvirt_domain $domain "name='vfio'" >domain.xml
check a-define virsh_ define domain.xml || exit 1
rm -f /run/vfgvm-start-begin
virsh_ start --paused $domain >start.out 2>&1
expect_eq a-start-fails "$?" 1
show_output start.out
expect_match a-qemu-eperm "$(grep -F "Could not open '$group'" /var/log/libvirt/qemu/$domain.log)" \
	"Operation not permitted$"
expect_eq a-start-begin-no-scope "$(cat /run/vfgvm-start-begin)" "scopes=0 pidfile=no"
expect_empty a-nothing-held "$(vfguard status 2>&1 | grep -F "$domain")"
check a-undefine virsh_ undefine $domain

# (b) The domain without it, running in its closed scope; edu on vfio-pci for an unmanaged attach.
use_vfio_pci "$EDU"
# q35 with one empty pcie-root-port and ACPI's hot-plug of bridges off, so the port's is native
# PCIe: (e) takes the device out again while the scope exists, and QEMU unplugs a device in a
# slot no guest powered on at once (docs/hotplug.md); on i440fx's pci.0 the unplug is ACPI's and
# waits for a guest that never runs. libvirt 12.9 knows no element for that switch (features/pci
# from the 2021 proposal: "unexpected feature 'pci'"), so it is QEMU's own -global, given through
# libvirt's qemu:commandline (formatdomain, "QEMU command-line passthrough"); checked below.
qemu_ns=http://libvirt.org/schemas/domain/qemu/1.0
libvirt_domain_with $domain "    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/>" |
	sed "s|<domain type='qemu'>|<domain type='qemu' xmlns:qemu='$qemu_ns'>|; s|machine='pc'|machine='q35'|
		s|</os>|</os>\n  <features><acpi/></features>|
		s|</domain>|  <qemu:commandline><qemu:arg value='-global'/><qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/></qemu:commandline>\n</domain>|" >plain.xml
# On the root port's bus, by address: edu is a conventional PCI function, and libvirt places one
# on a PCIe port only where the XML says so ("No more available PCI slots" without it).
libvirt_hostdev "name='vfio'" "$EDU" | sed "s/managed='yes'/managed='no'/
	s|</source>|</source>\n      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>|" >hostdev.xml
check b-define virsh_ define plain.xml || exit 1
check b-start virsh_ start --paused $domain || exit 1
pid=$(cat /run/libvirt/qemu/$domain.pid)
expect_match b-native-pcie-hotplug "$(tr '\0' ' ' <"/proc/$pid/cmdline")" "ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off"
scope=$(scope_of "$pid")
expect_match b-qemu-in-machine-scope "$scope" "^machine-qemu.x2d[0-9]+.x2dvfg.x2dclosed\\.scope\$" || exit 1
dir=$machines/$scope
before=$(unit_devices "$scope")
echo "$scope: $before"
expect_eq b-dropin-applies "$before" \
	"DevicePolicy=closed; DeviceAllow=/dev/net/tun rw; DeviceAllow=/dev/kvm rw; DeviceAllow=/dev/ptmx rw"
expect_eq b-systemd-program "$(cgroup_probe programs "$dir")" 1
expect_eq b-libvirt-program "$(cgroup_probe programs "$dir/libvirt")" 1
virsh_ attach-device $domain hostdev.xml --live >attach.out 2>&1
expect_eq b-attach-fails "$?" 1
show_output attach.out
expect_match b-attach-eperm "$(cat attach.out)" "Could not open '$group': Operation not permitted"

# cgroup_foreign_programs = fail (the default): refused, both programs named, nothing changed.
apply_closed() {
	vfguard apply --set labelers=cgroup "$@" --domain $domain --cgroup "$dir/libvirt" --hostdev "$EDU,backend=legacy"
}
apply_closed >refused.out 2>&1
expect_eq b-fail-refuses "$?" 1
show_output refused.out
expect_match b-fail-names-systemds "$(cat refused.out)" \
	"program [0-9]+ 'sd_devices' on $machines/machine-qemu[^ ;]*\\.scope( must allow|;)"
expect_match b-fail-names-libvirts "$(cat refused.out)" \
	"program [0-9]+ '[^']*' on $machines/machine-qemu[^ ;]*\\.scope/libvirt( must allow|;)"
expect_match b-fail-says-why "$(cat refused.out)" \
	"must allow 'c 10:196 rw' too \\(device programs AND\\); systemd's path is not taken: a program below unit machine-qemu[^ ]*\\.scope's cgroup decides too, its manager's \\(cgroup_foreign_programs = proceed: the unit's DeviceAllow=, that program left to its manager\\)"
expect_eq b-fail-unit-unchanged "$(unit_devices "$scope")" "$before"
expect_empty b-fail-nothing-held "$(vfguard status 2>&1 | grep -F "$domain")"

# proceed: the plan takes the unit's DeviceAllow= and leaves libvirt's program to libvirt.
vfguard plan --json --set labelers=cgroup --set cgroup_foreign_programs=proceed --domain $domain \
	--cgroup "$dir/libvirt" --hostdev "$EDU,backend=legacy" >plan.json 2>&1
show_output plan.json
expect_match b-plan-detail "$(cat plan.json)" \
	"DeviceAllow=$group rw on machine-qemu[^ ]*\\.scope; another device program must allow it too"
expect_match b-plan-left-to-libvirt "$(cat plan.json)" \
	"program [0-9]+ '[^']*' on $machines/machine-qemu[^ ]*/libvirt, below unit machine-qemu[^ ]*\\.scope's cgroup, is left to its manager: it must allow 'c [0-9]+:[0-9]+ rw' itself"
# Whole, within a step's reason (511 bytes) even with libvirt's long scope paths: its end is there.
expect_match b-plan-reason-whole "$(cat plan.json)" \
	"is left to its manager: it must allow 'c 10:196 rw' itself [^\"]*put back at revoke, counted per unit as the node is shared\""
check b-apply apply_closed --set cgroup_foreign_programs=proceed || exit 1
granted=$(unit_devices "$scope")
echo "granted: $granted"
expect_match b-granted-group "$granted" "DeviceAllow=$group rw"
expect_match b-granted-container "$granted" "DeviceAllow=/dev/vfio/vfio rw"
expect_eq b-granted-keeps-dropin "$(echo "$granted" | sed "s|DeviceAllow=/dev/vfio/vfio rw; ||; s|DeviceAllow=$group rw; ||")" "$before"
expect_eq b-still-one-systemd-program "$(cgroup_probe programs "$dir")" 1
check b-attach virsh_ attach-device $domain hostdev.xml --live
expect_match b-qemu-holds-group "$(ls -l "/proc/$pid/fd/")" " -> $group\$"
# QMP query-pci lists what is behind a bridge only once the firmware numbered its secondary bus,
# which a guest that never ran did not (qemu-hotplug.sh): HMP info qtree prints the device's
# ids from its config space wherever it sits.
virsh_ qemu-monitor-command --hmp $domain 'info qtree' >qtree.out 2>&1
expect_match b-qemu-lists-edu "$(sed -n '/dev: vfio-pci/,/pci id/p' qtree.out)" "pci id 1234:11e8" || show_output qtree.out
vfguard audit --set labelers=cgroup --set cgroup_foreign_programs=proceed --domain $domain >audit.out 2>&1
expect_eq b-audit-clean "exit $?: $(grep -F "domain $domain:" audit.out)" "exit 0: domain $domain: no drift"

# (e) While the scope exists: the device out of QEMU, the domain revoked, and the scope's
# DeviceAllow=/DevicePolicy= read back exactly as before the apply ($before, read at (b)'s start;
# never empty there: b-dropin-applies), so QEMU's open gets EPERM again. Then the cycle once more.
check e-detach virsh_ detach-device $domain hostdev.xml --live
# qemu_vfio_fds: what QEMU's fds name under /dev/vfio.
qemu_vfio_fds() {
	local fd
	for fd in /proc/"$pid"/fd/*; do
		readlink "$fd"
	done | grep '^/dev/vfio/'
}
i=0
while [ -n "$(qemu_vfio_fds)" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
expect_empty e-qemu-lets-go "$(qemu_vfio_fds)"
expect_empty e-domain-no-hostdev "$(virsh_ dumpxml $domain | grep -F '<hostdev')"
# The journal's end before the revoke: (a)'s release hook journaled a revoke of this domain too.
journalctl --sync
cursor=$(journalctl -q -n 1 --show-cursor | sed -n 's/^-- cursor: //p')
check e-revoke vfguard revoke --domain $domain
after=$(unit_devices "$scope")
echo "after revoke: $after"
expect_match e-unit-read-back "$after" "^DevicePolicy=closed; "
expect_eq e-unit-as-before "$after" "$before"
expect_empty e-no-vfio-allowed "$(echo "$after" | grep -E "DeviceAllow=($group|/dev/vfio/vfio) ")"
expect_eq e-still-one-systemd-program "$(cgroup_probe programs "$dir")" 1
virsh_ attach-device $domain hostdev.xml --live >reattach.out 2>&1
expect_eq e-attach-fails-again "$?" 1
show_output reattach.out
expect_match e-attach-eperm-again "$(cat reattach.out)" "Could not open '$group': Operation not permitted"
expect_empty e-nothing-held "$(vfguard status 2>&1 | grep -F "$domain")"
journalctl --sync
# One command record since (docs/records.md: MESSAGE_ID e019... ends each command), ok.
expect_eq e-revoke-journaled-ok "$(journalctl --after-cursor="$cursor" -t vfguard MESSAGE_ID=e019cdb6c9ba4aa9a91e3ad27c58ed91 \
	VFGUARD_DOMAIN=$domain VFGUARD_COMMAND=revoke -o export | sed -n 's/^VFGUARD_RESULT=//p' | tr '\n' ' ')" "ok "
check e-audit-clean vfguard audit
# Again: apply grants through the unit as at first, the attach works, and (c) revokes it at release.
check e-apply-again apply_closed --set cgroup_foreign_programs=proceed
expect_eq e-granted-again "$(unit_devices "$scope")" "$granted"
check e-attach-again virsh_ attach-device $domain hostdev.xml --live
expect_match e-qemu-holds-group-again "$(ls -l "/proc/$pid/fd/")" " -> $group\$"

# (c) The domain destroyed: machined's scope goes, and the release hook's revoke finishes without it.
check c-destroy virsh_ destroy $domain
scope_gone c "$scope"
expect_empty c-no-runtime-dropin "$(ls /run/systemd/system.control 2>/dev/null | grep -F "$scope")"
journalctl --sync
expect_eq c-hook-revoke-ok "$(journalctl -t vfguard MESSAGE_ID=e019cdb6c9ba4aa9a91e3ad27c58ed91 VFGUARD_DOMAIN=$domain \
	VFGUARD_COMMAND=revoke -o export -n 1 | sed -n 's/^VFGUARD_RESULT=//p')" ok
expect_empty c-nothing-held "$(vfguard status 2>&1 | grep -F "$domain")"
check c-audit-clean vfguard audit

# (d) Again, as another vfguard domain, whose revoke is cut short as a crash cuts it: restore
# finishes it with the unit gone. A new scope, as closed as the first. The cut is a real SIGKILL:
# the system bus's daemon is stopped (SIGSTOP; PID 1 itself ignores it in its own namespace), so
# the revoke, once its transaction is in the journal, waits on systemd's answer over D-Bus;
# vfguard is killed there and the bus continued. (This root runs the Debian package's vfguard in
# CI, built without the fault hooks: VFGUARD_FAULT does nothing there.)
check d-start virsh_ start --paused $domain || exit 1
pid=$(cat /run/libvirt/qemu/$domain.pid)
scope2=$(scope_of "$pid")
expect_match d-new-scope "$scope2" "^machine-qemu.x2d[0-9]+.x2dvfg.x2dclosed\\.scope\$"
[ "$scope2" != "$scope" ] || fail d-new-scope-name "the same scope $scope"
expect_eq d-scope-as-closed "$(unit_devices "$scope2")" "$before"
dir=$machines/$scope2
check d-apply vfguard apply --set labelers=cgroup --set cgroup_foreign_programs=proceed --domain vm-closed \
	--cgroup "$dir/libvirt" --hostdev "$EDU,backend=legacy"
check d-attach virsh_ attach-device $domain hostdev.xml --live
expect_match d-qemu-holds-group "$(ls -l "/proc/$pid/fd/")" " -> $group\$"
journal=/run/vfguard/domains/vm-closed.journal
bus=$(pidof dbus-daemon dbus-broker | awk '{ print $1 }')
expect_match d-bus-daemon "$bus" '^[0-9]+$'
kill -STOP $bus
vfguard revoke --domain vm-closed >cut.out 2>&1 &
cut=$!
tries=0
while [ $tries -lt 100 ] && ! grep -Eq '^begin [0-9]+ revoke' "$journal" 2>/dev/null; do
	sleep 0.1
	tries=$((tries + 1))
done
sleep 1
kill -KILL $cut
wait $cut
cut_status=$?
kill -CONT $bus
expect_eq d-revoke-begun "$(grep -Ec '^begin [0-9]+ revoke' "$journal" 2>/dev/null)" 1
expect_eq d-revoke-cut-short "$cut_status" 137
show_output cut.out
vfguard status >status.out 2>&1
show_output status.out
expect_match d-unfinished "$(grep -F vm-closed status.out)" .
# Without vfguard's hook for the destroy: its revoke of another domain would finish this one first.
hook=/etc/libvirt/hooks/qemu.d/vfguard
check d-hook-aside mv "$hook" /run/vfguard-hook.aside
check d-destroy virsh_ destroy $domain
scope_gone d "$scope2"
check d-hook-back mv /run/vfguard-hook.aside "$hook"
vfguard restore >restore.out 2>&1
expect_eq d-restore "$?" 0
show_output restore.out
expect_match d-restore-says-unit-gone "$(cat restore.out)" "systemd has no unit $(echo "$scope2" | sed 's/\\/\\\\/g') any more"
expect_empty d-nothing-held "$(vfguard status 2>&1 | grep -F vm-closed)"
check d-audit-clean vfguard audit
check d-undefine virsh_ undefine $domain

libvirt_stop
rm -f "$phase_hook" "$dropin"
check cleanup-daemon-reload systemctl daemon-reload
vfguard reattach "$EDU" >/dev/null 2>&1
