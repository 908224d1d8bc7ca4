# AppArmor enforcing, fd access: vfguard runs unconfined, so its plan puts no
# rule in the rules file, and the kernel lets a confined hypervisor use a
# group fd that an unconfined opener hands over, with no rule for the path
# (aa_file_perm() skips the re-check of a delegated fd). The same handover
# from a confined opener is refused: that is when vfguard keeps the rule.
requires legacy
check apparmor-enabled grep -qx Y /sys/module/apparmor/parameters/enabled || exit 1
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
uuid=2f8d9b3e-51a4-4c7e-8d06-7b1c2e9f4a55
profile=libvirt-$uuid
mkdir -p /etc/apparmor.d/libvirt /etc/apparmor.d/vfguard
cat >"/etc/apparmor.d/libvirt/$profile" <<EOF
profile $profile flags=(attach_disconnected) {
  #include <abstractions/vfguard-hypervisor>
  /usr/** mr,
  /etc/** r,
  /sys/** r,
  /proc/** r,
  include if exists <vfguard/$profile>
}
EOF
# A manager confined by a profile of its own that may open the group.
cat >/etc/apparmor.d/vfguard-test-manager <<EOF
profile vfguard-test-manager {
  /usr/** mr,
  /dev/vfio/* rw,
}
EOF
check load apparmor_parser --replace "/etc/apparmor.d/libvirt/$profile" /etc/apparmor.d/vfguard-test-manager || exit 1

echo "labelers = apparmor" >aa.conf
set -- --config "$PWD/aa.conf" --domain vm1 --uuid "$uuid" --hostdev "$EDU,backend=legacy,access=fd"
plan "$@"
expect_eq plan-group "$(plan_get steps node="$group" action)" none
expect_eq plan-reason "$(plan_get steps node="$group" reason | grep -o 'unconfined opener')" "unconfined opener"
expect_eq plan-unconfined "$(plan_get labelers name=apparmor note | grep -o 'vfguard runs unconfined')" \
	"vfguard runs unconfined"
check apply sh -c "vfguard apply $* | grep -q '0 changes made'" || exit 1
check_fails no-rules-file test -e "/etc/apparmor.d/vfguard/$profile"

run_checks -p unconfined-opener aa_run handover --group "$group" --receiver "$profile" --expect received
run_checks -p confined-opener aa_run handover --group "$group" --receiver "$profile" \
	--opener vfguard-test-manager --expect refused
check revoke vfguard revoke --config "$PWD/aa.conf" --domain vm1
