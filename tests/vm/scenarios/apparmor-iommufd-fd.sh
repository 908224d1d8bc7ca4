# AppArmor enforcing, fd access, iommufd: vfguard runs unconfined, so its plan
# puts no rule in the rules file, and the kernel lets a confined hypervisor
# use /dev/iommu and cdev fds that an unconfined opener hands over, with no
# rule for their paths (aa_file_perm() skips the re-check of a delegated fd):
# it binds, attaches and maps DMA on them. The same handover from a confined
# opener is refused, node by node: that is when vfguard keeps the rules, as it
# does when it runs confined itself (the last part).
requires iommufd
check apparmor-enabled grep -qx Y /sys/module/apparmor/parameters/enabled || exit 1
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
uuid=4b7e2d19-c85a-4f36-9e0d-61a3f8b5c2e4
# A manager confined by a profile of its own that may open both nodes.
cat >/etc/apparmor.d/vfguard-test-manager-iommufd <<EOF
profile vfguard-test-manager-iommufd {
  /usr/** mr,
  /dev/iommu rw,
  /dev/vfio/devices/* rw,
}
EOF
aa_hypervisor_profile "$uuid" /etc/apparmor.d/vfguard-test-manager-iommufd

echo "labelers = apparmor" >aa.conf
set -- --config "$PWD/aa.conf" --domain vm1 --uuid "$uuid" --hostdev "$EDU,backend=iommufd,access=fd"
plan "$@"
expect_eq plan-iommu "$(plan_get steps node=/dev/iommu action)" none
expect_eq plan-cdev "$(plan_get steps node="$cdev" action)" none
expect_eq plan-iommu-reason "$(plan_get steps node=/dev/iommu reason | grep -o 'unconfined opener')" \
	"unconfined opener"
expect_eq plan-cdev-reason "$(plan_get steps node="$cdev" reason | grep -o 'unconfined opener')" \
	"unconfined opener"
expect_plan_note plan-unconfined apparmor 'vfguard runs unconfined'
check apply sh -c "vfguard apply $* | grep -q '0 changes made'" || exit 1
expect_absent no-rules-file "$rules"

run_checks -p unconfined-opener aa_run handover --iommu /dev/iommu --cdev "$cdev" --receiver "$profile" \
	--expect received
run_checks -p confined-opener aa_run handover --iommu /dev/iommu --cdev "$cdev" --receiver "$profile" \
	--opener vfguard-test-manager-iommufd --expect refused
# vfguard confined itself: a profile in complain mode is still a profile (no
# FLAG_UNCONFINED), so an fd it opens is re-checked on receive. Its plan keeps
# the rules for fd access, apply writes them, and with them the confined
# opener's handover that was refused above is received.
aa_confined_plan "$@"
expect_eq confined-plan-iommu "$(plan_get steps node=/dev/iommu action)" grant
expect_eq confined-plan-cdev "$(plan_get steps node="$cdev" action)" grant
expect_plan_note confined-plan-note apparmor 'confined by vfguard-self'
check confined-apply aa_run exec vfguard-self vfguard apply "$@" || exit 1
expect_eq confined-rules-file "$(cat "$rules")" "# vfguard begin: device nodes of domain vm1 in boot $(cat /proc/sys/kernel/random/boot_id)
\"/dev/iommu\" rw,
\"$cdev\" rw,
# vfguard end: no file before"
run_checks -p confined-opener-with-rule aa_run handover --iommu /dev/iommu --cdev "$cdev" \
	--receiver "$profile" --opener vfguard-test-manager-iommufd --expect received --path-allowed
check revoke vfguard revoke --config "$PWD/aa.conf" --domain vm1
expect_absent rules-file-gone "$rules"
run_checks -p revoked aa_run handover --iommu /dev/iommu --cdev "$cdev" --receiver "$profile" \
	--opener vfguard-test-manager-iommufd --expect refused
