# vfgvm-cmdline: security=selinux
# SELinux enforcing with Debian's refpolicy, vfguard's module and the
# test-only one (policy/selinux/test), on a boot of its own: a process in
# svirt_t with categories c1,c2 opens the group node and walks the type1 flow
# only while vfguard's grant gives the node the domain's image label; one with
# c3,c4 is refused the group throughout (MCS); after revoke the node has its
# label back and c1,c2 is refused again. The container is shared: vfguard
# gives it vfio_device_t:s0, which both open (virt_use_vfio on, as refpolicy
# asks for path access), and the last revoke puts its label back.
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
c12=system_u:system_r:svirt_t:s0:c1,c2
c34=system_u:system_r:svirt_t:s0:c3,c4

selinux_enforce
original=$(selinux_label "$group")
expect_match group-label-before "$original" "$selinux_file_label"

original_container=$(selinux_label /dev/vfio/vfio)
expect_match container-label-before "$original_container" "$selinux_file_label"
run_checks -p before-c1c2 runcon "$c12" vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --open-errno container=EACCES --open-errno group=EACCES
echo "labelers = selinux" >selinux.conf
check apply vfguard apply --config "$PWD/selinux.conf" --domain vm1 --selinux-label "$c12" \
	--hostdev "$EDU,backend=legacy" || exit 1
expect_eq group-label "$(selinux_label "$group")" system_u:object_r:svirt_image_t:s0:c1,c2
expect_eq container-label "$(selinux_label /dev/vfio/vfio)" system_u:object_r:vfio_device_t:s0
run_checks -p c1c2 runcon "$c12" vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU"
run_checks -p c3c4 runcon "$c34" vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --open-errno group=EACCES
check audit vfguard audit --config "$PWD/selinux.conf" --domain vm1 --selinux-label "$c12" \
	--hostdev "$EDU,backend=legacy"
check revoke vfguard revoke --config "$PWD/selinux.conf" --domain vm1 || exit 1
expect_eq group-label-restored "$(selinux_label "$group")" "$original"
expect_eq container-label-restored "$(selinux_label /dev/vfio/vfio)" "$original_container"
run_checks -p after-c1c2 runcon "$c12" vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --open-errno container=EACCES --open-errno group=EACCES
