# vfgvm-root: clients-systemd
# Its boot (three scenarios of libvirtd and crun under systemd) took 78-84 s
# of its 120 warm and 112 on a loaded machine: a longer timeout for it.
# vfgvm-timeout: 240
# A real libvirtd (trixie-backports) under systemd (257) as PID 1, as on any
# distribution: it registers the domain with systemd-machined, which makes
# the machine scope machine-qemu\x2dN\x2dNAME.scope in machine.slice, and
# QEMU runs in that scope's libvirt/ cgroup, where libvirt attaches its own
# device program; libvirt hands systemd no device list (DevicePolicy=auto, no
# DeviceAllow=), so systemd puts no program of its own there. The rest is
# libvirt-legacy's first round with vfguard's packaged hook: a paused TCG
# domain with the managed edu; QEMU (libvirt-qemu, no capabilities) holds the
# group and lists 1234:11e8, vfguard's audit is clean, and after `virsh
# destroy` the host is exactly as before.
requires legacy
libvirt_edu_setup || exit 1
domain=vfg-legacy group=/dev/vfio/$(iommu_group "$EDU")
libvirt_domain $domain "name='vfio'" >domain.xml

# scope_checks PID: the machine scope machined made for QEMU PID, and who decides device access there.
scope_checks() {
	local scope
	scope=$(sed -n 's|^0::/machine.slice/\(machine-qemu.*\.scope\)/libvirt$|\1|p' "/proc/$1/cgroup")
	expect_match "qemu-in-machine-scope" "$scope" "^machine-qemu.x2d[0-9]+.x2d$(echo "$domain" | sed 's/-/.x2d/g')\\.scope\$"
	expect_eq "machined-knows" "$($CLIENT_ENV machinectl show -p Unit --value \
		"$($CLIENT_ENV machinectl list --no-legend | awk 'NR == 1 { print $1 }')")" "$scope"
	expect_eq "libvirt-program" "$(cgroup_probe programs "/sys/fs/cgroup/machine.slice/$scope/libvirt")" 1
	expect_eq "no-program-on-scope" "$(cgroup_probe programs "/sys/fs/cgroup/machine.slice/$scope")" 0
	expect_eq "scope-device-policy" "$($CLIENT_ENV systemctl show -p DevicePolicy --value "$scope")" auto
	check "scope-no-device-allow" sh -c 'list=$($0 systemctl show -p DeviceAllow --value "$1") && [ -z "$list" ]' \
		"$CLIENT_ENV" "$scope"
}

check systemd-running sh -c 'state=$(systemctl is-system-running --wait); echo "$state"; [ "$state" = running ]'
libvirt_start || exit 1
libvirt_edu_life "" $domain "$group" scope_checks
libvirt_stop
