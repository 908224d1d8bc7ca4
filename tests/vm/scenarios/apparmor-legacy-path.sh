# AppArmor enforcing, path access: a process confined by a profile that
# includes vfguard's rules file opens the container and group only after
# vfguard apply (which replaces the loaded profile) and walks the type1 flow;
# audit asks the kernel and finds no drift, then drift once the profile is
# replaced without its include; after revoke the file is gone and the opens
# are denied again.
requires legacy
check apparmor-enabled grep -qx Y /sys/module/apparmor/parameters/enabled || exit 1
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
uuid=6c1e4a02-2b0d-4d1e-9a53-0f5e8c3b7a11
# The hypervisor's profile: vfguard's abstraction, what the test programs need
# besides the devices (binaries, libraries, sysfs), and the domain's rules file.
aa_hypervisor_profile "$uuid"
check loaded grep -qx "$profile (enforce)" /sys/kernel/security/apparmor/profiles
run_checks -p before aa_run exec "$profile" vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --open-errno container=EACCES --open-errno group=EACCES

echo "labelers = apparmor" >aa.conf
set -- --config "$PWD/aa.conf" --domain vm1 --uuid "$uuid" --hostdev "$EDU,backend=legacy"
plan "$@"
expect_eq plan-group "$(plan_get steps node="$group" action)" grant
expect_plan_note plan-loaded apparmor 'profile loaded: replaced after each change'
check apply vfguard apply "$@" || exit 1
expect_eq rules-file "$(cat "$rules")" "# vfguard begin: device nodes of domain vm1 in boot $(cat /proc/sys/kernel/random/boot_id)
\"/dev/vfio/vfio\" rw,
\"$group\" rw,
# vfguard end: no file before"
run_checks -p granted aa_run exec "$profile" vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU"
check audit vfguard audit "$@"
# The kernel drifting from the journal: the profile replaced without the rules file.
sed '/include if exists/d' "/etc/apparmor.d/libvirt/$profile" >stale.profile
check load-stale apparmor_parser --replace stale.profile
check audit-drift sh -c "vfguard audit $* >audit.out; [ \$? -eq 3 ] && grep -q 'the loaded profile denies it' audit.out"
check reload apparmor_parser --replace "/etc/apparmor.d/libvirt/$profile"
check apply-again sh -c "vfguard apply $* | grep -q '0 changes made'"

check revoke vfguard revoke --config "$PWD/aa.conf" --domain vm1 || exit 1
expect_absent rules-file-gone "$rules"
run_checks -p revoked aa_run exec "$profile" vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --open-errno container=EACCES --open-errno group=EACCES
