# vfgvm-root: clients
# A real libvirtd 12.9 with its AppArmor driver, as a Debian or Ubuntu host
# with AppArmor runs it: the daemon confined by the profile libvirt ships
# (usr.sbin.libvirtd, loaded before it starts, so libvirt's probe takes the
# AppArmor driver), virt-aa-helper by its own, qemu.conf's
# security_driver = "apparmor", and vfguard's hook installed as packaged. It
# starts the managed edu hostdev domain of libvirt-legacy.
#
# The daemon's profile as packaged, no local addition: it executes the hook
# unconfined, since the program is /usr/sbin/vfguard-libvirt-hook and the
# profile runs /usr/sbin/* so (PUx). (With the hook in libexec, as before,
# the exec was denied and every start failed.) QEMU runs confined by
# libvirt-UUID, which virt-aa-helper made from TEMPLATE.qemu
# and which includes only libvirt's libvirt-UUID.files; that file is where
# the VFIO nodes are allowed ("/dev/vfio/vfio" and the glob
# "/dev/vfio/[0-9]*"); QEMU holds the group; vfguard wrote no rules file of
# its own (the hook leaves AppArmor to libvirt's driver: nothing would read
# one) and its audit is clean. After `virsh destroy` libvirt has unloaded
# the profile and deleted libvirt-UUID.files, vfguard has put the host back
# exactly. docs/apparmor.md, "libvirt's AppArmor driver".
requires legacy
libvirt_edu_setup || exit 1
domain=vfg-aa group=/dev/vfio/$(iommu_group "$EDU")
libvirt_domain $domain "name='vfio'" >domain.xml
libvirt_apparmor_start || exit 1
check define virsh_ define domain.xml || exit 1
uuid=$(virsh_ domuuid "$domain" | head -n 1)
profile=libvirt-$uuid
before=$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)

denials=$(hook_exec_denials)
check start virsh_ start --paused "$domain" || {
	show_output "/var/log/libvirt/qemu/$domain.log"
	exit 1
}
pid=$(cat "/run/libvirt/qemu/$domain.pid")
expect_confined_start "$profile" "$pid" "$denials"
expect_eq qemu-uid "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" "$LIBVIRT_UID"
expect_match qemu-holds-group "$(ls -l "/proc/$pid/fd/")" " -> $group\$"
expect_query_pci qmp-query-pci "$domain"
# Where the rules that allow it are: the profile virt-aa-helper made from
# TEMPLATE.qemu includes libvirt's .files and nothing of vfguard's.
generated=/etc/apparmor.d/libvirt/$profile
echo "== $generated"
cat "$generated"
echo "== $generated.files"
cat "$generated.files"
expect_eq profile-from-template "$(grep -c "include if exists <libvirt/$profile.files>" "$generated") $(grep -c vfguard "$generated")" "1 0"
expect_eq files-allow-vfio "$(grep -cxF -e '  "/dev/vfio/vfio" rw,' -e '  "/dev/vfio/[0-9]*" rw,' "$generated.files")" 2
check loaded grep -qx "$profile (enforce)" /sys/kernel/security/apparmor/profiles
expect_absent no-vfguard-rules-file "/etc/apparmor.d/vfguard/$profile"
# vfguard's own part: the binding, the claim and the DAC grant, and no AppArmor record.
expect_eq edu-on-vfio-pci "$(pci_driver "$EDU")" vfio-pci
expect_eq host-group-granted "$(stat -c '%u:%g %a' "$group")" "$LIBVIRT_UID:$LIBVIRT_UID 600"
check status sh -c "vfguard status --json >status.json"
expect_eq status-domain "$(json_get status.json domains 0 name) $(json_get status.json domains 0 grants path="$group" state)" \
	"$domain granted"
vfguard status >status.txt
show_output status.txt
expect_eq status-no-apparmor "$(grep -c apparmor status.txt)" 0
check audit-clean vfguard audit --domain "$domain"
# A hot-plug by hand (vfguard apply, no hook): its plan finds the profile
# virt-aa-helper made and leaves AppArmor to libvirt, as the hook did.
check hand-plan sh -c "vfguard plan --domain $domain --uuid $uuid --uid $LIBVIRT_UID --gid $LIBVIRT_UID \
	--hostdev $EDU,backend=legacy --json >hand-plan.json"
expect_eq hand-plan-apparmor-inactive "$(json_get hand-plan.json labelers name=apparmor active)" false
expect_match hand-plan-says-libvirts "$(json_get hand-plan.json labelers name=apparmor note)" \
	"^profile $profile is libvirt's AppArmor driver's"

check destroy virsh_ destroy "$domain"
# libvirt unloaded its profile and deleted the .files before release end;
# the profile file itself it keeps (virt-aa-helper makes it only when missing).
check_fails unloaded grep -q "^$profile " /sys/kernel/security/apparmor/profiles
expect_absent files-deleted "$generated.files"
run_checks -p after vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)"
expect_empty apparmor-rules-gone "$(ls /etc/apparmor.d/vfguard/ 2>/dev/null)"
check undefine virsh_ undefine "$domain"
ls -l /etc/apparmor.d/libvirt/
libvirt_apparmor_stop "$profile"
