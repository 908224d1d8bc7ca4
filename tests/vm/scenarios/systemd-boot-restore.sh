# vfgvm-root: systemd
# vfgvm-boot: reboot
# vfgvm-timeout: 240
# Issue 20's crash-then-reboot acceptance (docs/boot.md). The first boot: a
# managed apply of edu (detached to vfio-pci, driver_override set) with the
# AppArmor labeler, killed with SIGKILL (VFGUARD_FAULT_KILL_AT) at the first
# journal point where the rules file and the override are both in place;
# its journal under a state_dir on a disk (/var/lib/vfguard), plus a second
# domain whose journal is in /run, lost with the boot, and whose rules file
# is not. What outlives a reboot (/var/lib/vfguard, /etc) is carried to the
# second boot, where vfguard-restore.service runs under systemd before
# anything else: no rules file, no journal, no driver record or override is
# left, the unit ended well, and vfguard audit is clean.
# shellcheck disable=SC2154 # EDU, EDU_SYS: guest/lib.sh
requires legacy
boot_id=$(cat /proc/sys/kernel/random/boot_id)
uuid1=3f6a2c1e-8b4d-4e7a-9c5f-1d2e3f4a5b6c
uuid2=9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d
rules1=/etc/apparmor.d/vfguard/libvirt-$uuid1
rules2=/etc/apparmor.d/vfguard/libvirt-$uuid2

if [ "$(boot_number)" = 1 ]; then
	expect_eq starts-unbound "$(pci_driver "$EDU")" none || exit 1
	mkdir -p /etc/vfguard
	printf 'state_dir = /var/lib/vfguard\nlabelers = dac apparmor\n' >/etc/vfguard/vfguard.conf
	set -- --domain vm1 --uuid "$uuid1" --uid 107 --gid 107 --hostdev "$EDU,backend=legacy,managed=yes"
	# Each point in turn until one leaves both in place; a run killed before
	# it is undone by restore (the same boot) before the next.
	point=1 killed=
	while [ "$point" -le 80 ]; do
		VFGUARD_FAULT_KILL_AT=$point vfguard apply "$@" >/dev/null 2>&1
		[ $? -eq 137 ] || break # ran to its end: no point left
		if grep -qs "in boot $boot_id\$" "$rules1" && [ "$(cat "$EDU_SYS/driver_override")" = vfio-pci ]; then
			killed=$point
			break
		fi
		vfguard restore >/dev/null 2>&1 || break
		point=$((point + 1))
	done
	expect_match killed-mid-apply "${killed:-never}" '^[0-9]+$' || exit 1
	expect_eq crash-rules-file "$(head -n 1 "$rules1")" \
		"# vfguard begin: device nodes of domain vm1 in boot $boot_id"
	expect_eq crash-override "$(cat "$EDU_SYS/driver_override")" vfio-pci
	expect_eq crash-driver "$(pci_driver "$EDU")" vfio-pci
	check crash-unfinished sh -c 'vfguard status | grep UNFINISHED'
	check crash-driver-record test -s "/var/lib/vfguard/drivers/$EDU"
	expect_eq crash-state-boot "$(cat /var/lib/vfguard/boot)" "$boot_id"
	# vm2: its journal in /run, which no reboot keeps; its rules file under /etc.
	check vm2-apply vfguard apply --set state_dir=/run/vfguard --set labelers=apparmor --domain vm2 \
		--uuid "$uuid2" --hostdev "$EDU,backend=legacy"
	expect_eq vm2-rules-file "$(head -n 1 "$rules2")" "# vfguard begin: device nodes of domain vm2 in boot $boot_id"
	echo "$boot_id" >/var/lib/vfgvm-boot1
	carry var/lib/vfguard var/lib/vfgvm-boot1 etc/vfguard etc/apparmor.d/vfguard
	exit 0
fi

# The second boot: what the first carried is here, and the unit has run.
boot1=$(cat /var/lib/vfgvm-boot1)
expect_match new-boot "$boot_id" "^[0-9a-f-]{36}\$"
check boot-differs test "$boot_id" != "$boot1"
expect_eq unit-active "$(systemctl show -p ActiveState --value vfguard-restore.service)" active
expect_eq unit-result "$(systemctl show -p Result --value vfguard-restore.service)" success
expect_eq unit-exit-status "$(systemctl show -p ExecMainStatus --value vfguard-restore.service)" 0
expect_eq unit-command "$(systemctl show -p ExecStart --value vfguard-restore.service | grep -o 'argv\[\]=[^;]*')" \
	'argv[]=/usr/bin/vfguard restore --boot '
expect_match unit-before-libvirt "$(systemctl show -p Before --value vfguard-restore.service)" \
	'(^| )libvirtd\.service( |$)'
expect_match unit-before-virtqemud "$(systemctl show -p Before --value vfguard-restore.service)" \
	'(^| )virtqemud\.service( |$)'
expect_absent rules-file-vm1-gone "$rules1"
expect_absent rules-file-vm2-gone "$rules2"
expect_empty rules-dir-empty "$(ls -A /etc/apparmor.d/vfguard 2>&1)"
expect_empty no-journal "$(ls -A /var/lib/vfguard/domains 2>&1)"
expect_absent no-driver-record "/var/lib/vfguard/drivers/$EDU"
expect_eq state-boot "$(cat /var/lib/vfguard/boot)" "$boot_id"
expect_eq override-unset "$(cat "$EDU_SYS/driver_override")" "(null)"
expect_eq driver-as-booted "$(pci_driver "$EDU")" none
check audit-clean vfguard audit
check status-empty sh -c '! vfguard status | grep -q vm1'
check restore-again sh -c 'vfguard restore --boot | grep -x "0 changes undone"'
