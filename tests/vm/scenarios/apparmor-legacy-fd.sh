# AppArmor enforcing, fd access: vfguard runs unconfined, so its plan puts no
# rule in the rules file, and the kernel lets a confined hypervisor use a
# group fd that an unconfined opener hands over, with no rule for the path
# (aa_file_perm() skips the re-check of a delegated fd). The same handover
# from a confined opener is refused: that is when vfguard keeps the rule, as
# it does when it runs confined itself (the last part).
requires legacy
check apparmor-enabled grep -qx Y /sys/module/apparmor/parameters/enabled || exit 1
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
uuid=2f8d9b3e-51a4-4c7e-8d06-7b1c2e9f4a55
# A manager confined by a profile of its own that may open the group.
cat >/etc/apparmor.d/vfguard-test-manager <<EOF
profile vfguard-test-manager {
  /usr/** mr,
  /dev/vfio/* rw,
}
EOF
aa_hypervisor_profile "$uuid" /etc/apparmor.d/vfguard-test-manager

echo "labelers = apparmor" >aa.conf
set -- --config "$PWD/aa.conf" --domain vm1 --uuid "$uuid" --hostdev "$EDU,backend=legacy,access=fd"
plan "$@"
expect_eq plan-group "$(plan_get steps node="$group" action)" none
expect_eq plan-reason "$(plan_get steps node="$group" reason | grep -o 'unconfined opener')" "unconfined opener"
expect_plan_note plan-unconfined apparmor 'vfguard runs unconfined'
check apply sh -c "vfguard apply $* | grep -q '0 changes made'" || exit 1
expect_absent no-rules-file "$rules"

run_checks -p unconfined-opener aa_run handover --group "$group" --receiver "$profile" --expect received
run_checks -p confined-opener aa_run handover --group "$group" --receiver "$profile" \
	--opener vfguard-test-manager --expect refused
# vfguard confined itself: a profile in complain mode is still a profile (no
# FLAG_UNCONFINED), so an fd it opens is re-checked on receive. Its plan keeps
# the rule for fd access, apply writes it, and with it the confined opener's
# handover that was refused above is received.
aa_confined_plan "$@"
expect_eq confined-plan-group "$(plan_get steps node="$group" action)" grant
expect_plan_note confined-plan-note apparmor 'confined by vfguard-self'
check confined-apply aa_run exec vfguard-self vfguard apply "$@" || exit 1
check confined-rule grep -qF "\"$group\" rw," "$rules"
run_checks -p confined-opener-with-rule aa_run handover --group "$group" --receiver "$profile" \
	--opener vfguard-test-manager --expect received --path-allowed
check revoke vfguard revoke --config "$PWD/aa.conf" --domain vm1
expect_absent rules-file-gone "$rules"
