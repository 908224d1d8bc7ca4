# AppArmor enforcing, path access, iommufd: a process confined by a profile
# that includes vfguard's rules file opens /dev/iommu and the device's cdev
# only after vfguard apply (which replaces the loaded profile) and walks the
# iommufd flow; the profile grants no capability, so setting RLIMIT_MODE is
# refused (EPERM), as the manager's job. Audit asks the kernel and finds no
# drift, then drift once the profile is replaced without its include; after
# revoke the file is gone and the opens are denied again.
requires iommufd
check apparmor-enabled grep -qx Y /sys/module/apparmor/parameters/enabled || exit 1
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
uuid=9a3f5c61-7d2e-4b8a-a1c4-3e6f0b2d8c97
# The hypervisor's profile: vfguard's abstraction, what the test programs need
# besides the devices (binaries, libraries, sysfs), and the domain's rules file.
aa_hypervisor_profile "$uuid"
check loaded grep -qx "$profile (enforce)" /sys/kernel/security/apparmor/profiles
run_checks -p before aa_run exec "$profile" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--open-errno iommu=EACCES --open-errno cdev=EACCES

echo "labelers = apparmor" >aa.conf
set -- --config "$PWD/aa.conf" --domain vm1 --uuid "$uuid" --hostdev "$EDU,backend=iommufd"
plan "$@"
expect_eq plan-iommu "$(plan_get steps node=/dev/iommu action)" grant
expect_eq plan-cdev "$(plan_get steps node="$cdev" action)" grant
expect_plan_note plan-loaded apparmor 'profile loaded: replaced after each change'
check apply vfguard apply "$@" || exit 1
expect_eq rules-file "$(cat "$rules")" "# vfguard begin: device nodes of domain vm1 in boot $(cat /proc/sys/kernel/random/boot_id)
\"/dev/iommu\" rw,
\"$cdev\" rw,
# vfguard end: no file before"
run_checks -p granted aa_run exec "$profile" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--rlimit-set-errno EPERM
vfguard audit "$@" >audit.out 2>&1
expect_eq audit "exit $?: $(head -n 1 audit.out)" "exit 0: domain vm1: no drift"
# The kernel drifting from the journal: the profile replaced without the rules file.
sed '/include if exists/d' "/etc/apparmor.d/libvirt/$profile" >stale.profile
check load-stale apparmor_parser --replace stale.profile
vfguard audit "$@" >audit-drift.out 2>&1
status=$?
show_output audit-drift.out
expect_eq audit-drift "exit $status: $(head -n 1 audit-drift.out)" "exit 3: domain vm1: 2 findings"
# Each node is named once, as drift, with what the kernel answered.
expect_eq audit-drift-iommu "$(grep -cx 'apparmor  *drift  */dev/iommu' audit-drift.out)" 1
expect_eq audit-drift-cdev "$(grep -cx "apparmor  *drift  *$cdev" audit-drift.out)" 1
expect_eq audit-drift-denied "$(grep -c 'found: *the loaded profile denies it' audit-drift.out)" 2
run_checks -p stale aa_run exec "$profile" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
check reload apparmor_parser --replace "/etc/apparmor.d/libvirt/$profile"
check apply-again sh -c "vfguard apply $* | grep -q '0 changes made'"

check revoke vfguard revoke --config "$PWD/aa.conf" --domain vm1 || exit 1
expect_absent rules-file-gone "$rules"
run_checks -p revoked aa_run exec "$profile" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
