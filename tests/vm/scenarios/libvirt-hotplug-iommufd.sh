# vfgvm-root: clients
# vfgvm-boot: alone
# libvirt-hotplug's domain (b) on the iommufd backend (<driver iommufd='yes'/>,
# libvirt >= 12.1), as docs/hooks.md's hot-plug steps say for it: a domain
# started without hostdevs, the managed edu applied by hand with fd access
# (libvirt opens /dev/iommu and the cdev itself and passes them, as the hook
# would have chosen), `virsh attach-device`, then `detach-device` and
# `vfguard revoke --hostdev`, again in, and `destroy`. Measured on the way:
# QEMU holds the cdev while the device is in, and lets it go at the unplug
# (the root port's slot, which no guest powered, is emptied at once); libvirtd
# keeps no copy of what it passed, before or after, so the process revoke
# --hostdev would name (core/revoke.c) is QEMU alone; vfguard grants no path.
# A boot of its own, as libvirt-hotplug's.
requires iommufd
libvirt_edu_setup || exit 1
libvirt_hostdev "name='vfio' iommufd='yes'" "$EDU" |
	sed "s|</source>|</source>\n      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>|" >hostdev.xml
libvirt_start || exit 1
before=$(host_snapshot /sys/fs/cgroup /dev/iommu /dev/vfio/vfio)
before_iommu=$(stat_nodes /dev/iommu)
expect_match setup-iommu-node "$before_iommu" "^/dev/iommu character special file a:101 0:0 660\$" || exit 1

# libvirtd_holds_no_vfio_fd: succeeds when libvirtd's fds were read and none
# is /dev/iommu or under /dev/vfio (those it has are printed); an fd table
# that cannot be read, or has no socket in it, fails rather than passing empty.
libvirtd_holds_no_vfio_fd() {
	local fds held
	fds=$(ls -l "/proc/$(cat /run/libvirtd.pid)/fd/") || return 1
	echo "$fds" | grep -q ' -> socket:' || return 1
	held=$(echo "$fds" | grep -E ' -> /dev/(iommu|vfio/.*)$')
	[ -z "$held" ] || { echo "$held"; return 1; }
}

domain=vfg-hotplug-iommufd
libvirt_hotplug_domain $domain >domain.xml
check define virsh_ define domain.xml || exit 1
uuid=$(virsh_ domuuid $domain | head -n 1)
check start virsh_ start --paused $domain || {
	show_output "/var/log/libvirt/qemu/$domain.log"
	exit 1
}
pid=$(cat /run/libvirt/qemu/$domain.pid)
expect_empty hook-granted-nothing "$(vfguard status 2>&1 | grep -F "$domain")"
for round in 1 2; do
	check r$round-apply-by-hand vfguard apply --domain $domain --uuid "$uuid" --uid "$LIBVIRT_UID" \
		--gid "$LIBVIRT_UID" --hostdev "$EDU,backend=iommufd,access=fd,managed=yes"
	expect_eq r$round-edu-bound "$(pci_driver "$EDU")" vfio-pci
	cdev=/dev/vfio/devices/$(ls "$EDU_SYS/vfio-dev")
	# fd access: the nodes stay root's, QEMU's uid cannot open them by path.
	expect_eq r$round-cdev-not-granted "$(stat -c '%u:%g %a' "$cdev")" "0:0 600"
	expect_eq r$round-iommu-not-granted "$(stat_nodes /dev/iommu)" "$before_iommu"
	check r$round-plug virsh_ attach-device $domain hostdev.xml --live ||
		show_output "/var/log/libvirt/qemu/$domain.log"
	expect_eq r$round-qemu-holds-cdev "$(qemu_vfio_fds "$pid")" "$cdev"
	expect_match r$round-qemu-holds-iommu "$(ls -l "/proc/$pid/fd/")" " -> /dev/iommu\$"
	check r$round-libvirtd-keeps-none libvirtd_holds_no_vfio_fd
	virsh_ qemu-monitor-command --hmp $domain 'info qtree' >qtree.out 2>&1
	expect_match r$round-qemu-lists-edu "$(sed -n '/dev: vfio-pci/,/pci id/p' qtree.out)" "pci id 1234:11e8" ||
		show_output qtree.out
	check r$round-audit-clean vfguard audit --domain $domain
	[ $round = 1 ] || break
	check r1-unplug virsh_ detach-device $domain hostdev.xml --live
	qemu_wait_let_go "$pid"
	expect_empty r1-qemu-lets-go "$(qemu_vfio_fds "$pid")"
	check r1-libvirtd-keeps-none-after libvirtd_holds_no_vfio_fd
	expect_empty r1-domain-no-hostdev "$(virsh_ dumpxml $domain | grep -F '<hostdev')"
	check r1-revoke-hostdev vfguard revoke --domain $domain --hostdev "$EDU"
	expect_eq r1-edu-given-back "$(pci_driver "$EDU")" none
	expect_absent r1-cdev-gone "$cdev"
done
check destroy virsh_ destroy $domain
expect_eq edu-given-back "$(pci_driver "$EDU")" none
expect_empty nothing-held "$(vfguard status 2>&1 | grep -F "$domain")"
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/iommu /dev/vfio/vfio)"
check undefine virsh_ undefine $domain
libvirt_stop
