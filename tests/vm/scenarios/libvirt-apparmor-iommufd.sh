# vfgvm-root: clients
# The clients boot holds ten scenarios that start real libvirtds and QEMUs:
# this one took it to 113 s of its 120 (warm CI, iommufd kernel) and past
# them on a loaded machine. A longer timeout for that boot; a hang is found
# all the same.
# vfgvm-timeout: 240
# libvirt-apparmor on the iommufd backend: the same confined libvirtd and
# AppArmor driver, the domain of libvirt-iommufd (<driver iommufd='yes'/>).
# libvirtd opens /dev/iommu and edu's cdev and QEMU inherits the fds at
# exec, where AppArmor checks every inherited fd against the new profile and
# puts its null file in place of one the profile does not allow
# (security/apparmor/lsm.c apparmor_bprm_committing_creds(), file.c
# aa_inherit_files()). So QEMU holding both nodes, and a domain that runs,
# prove that libvirt-UUID allows them; vfguard, which leaves AppArmor to
# libvirt's driver, wrote no rules file and granted no path (fd access).
# docs/apparmor.md, "libvirt's AppArmor driver".
requires iommufd
libvirt_edu_setup || exit 1
domain=vfg-aa-iommufd
libvirt_domain $domain "name='vfio' iommufd='yes'" >domain.xml
libvirt_apparmor_start || exit 1
check define virsh_ define domain.xml || exit 1
uuid=$(virsh_ domuuid "$domain" | head -n 1)
profile=libvirt-$uuid
before=$(host_snapshot /sys/fs/cgroup /dev/iommu /dev/vfio/vfio)

denials=$(hook_exec_denials)
check start virsh_ start --paused "$domain" || {
	show_output "/var/log/libvirt/qemu/$domain.log"
	dmesg | grep 'apparmor="DENIED"' | tail -n 20
	exit 1
}
pid=$(cat "/run/libvirt/qemu/$domain.pid")
cdev=/dev/vfio/devices/$(ls "$EDU_SYS/vfio-dev")
expect_confined_start "$profile" "$pid" "$denials"
expect_eq qemu-uid "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" "$LIBVIRT_UID"
ls -l "/proc/$pid/fd/" >qemu-fds.out
show_output qemu-fds.out
expect_match qemu-holds-iommu "$(cat qemu-fds.out)" " -> /dev/iommu\$"
expect_match qemu-holds-cdev "$(cat qemu-fds.out)" " -> $cdev\$"
expect_empty qemu-holds-no-null-file "$(grep -e '\.null' qemu-fds.out)"
expect_query_pci qmp-query-pci "$domain"
generated=/etc/apparmor.d/libvirt/$profile
echo "== $generated.files"
cat "$generated.files"
expect_eq files-allow-iommufd "$(grep -cxF -e "  \"$cdev\" rwm," -e '  "/dev/iommu" rwm,' "$generated.files")" 2
expect_eq profile-from-template "$(grep -c "include if exists <libvirt/$profile.files>" "$generated") $(grep -c vfguard "$generated")" "1 0"
expect_absent no-vfguard-rules-file "/etc/apparmor.d/vfguard/$profile"
expect_eq edu-on-vfio-pci "$(pci_driver "$EDU")" vfio-pci
check status sh -c "vfguard status --json >status.json"
expect_eq status-hostdev "$(json_get status.json domains 0 name) $(json_get status.json domains 0 hostdevs 0 backend) $(json_get status.json domains 0 hostdevs 0 access)" \
	"$domain iommufd fd"
vfguard status >status.txt
show_output status.txt
expect_eq status-no-apparmor "$(grep -c apparmor status.txt)" 0
check audit-clean vfguard audit --domain "$domain"
# Path access stays closed to libvirt's uid: nothing granted /dev/iommu or the cdev.
run_checks -p during-host vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --device "$EDU" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno iommu=EACCES --open-errno cdev=EACCES

check destroy virsh_ destroy "$domain"
check_fails unloaded grep -q "^$profile " /sys/kernel/security/apparmor/profiles
expect_absent files-deleted "$generated.files"
run_checks -p after vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --device "$EDU" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno iommu=EACCES --open-errno cdev=ENOENT
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/iommu /dev/vfio/vfio)"
expect_empty apparmor-rules-gone "$(ls /etc/apparmor.d/vfguard/ 2>/dev/null)"
check undefine virsh_ undefine "$domain"
libvirt_apparmor_stop "$profile"
