# vfgvm-root: systemd
# Issue 20's host records on a systemd host: journald runs as the boot's own
# service, vfguard (records = auto) finds its socket, and an admin's
# `journalctl -t vfguard VFGUARD_DOMAIN=vm-records` reads back one record per
# change made by apply and one per change undone by revoke, each with the
# fields docs/records.md documents, plus one outcome per command whose
# counts match the records. Another domain's records stay out of vm-records'.
# The journal is the boot's, shared with the scenarios before this one in the
# same boot: the domains' names here are used by no other scenario.
# shellcheck disable=SC2154 # EDU: set by the harness (guest/lib.sh)
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
expect_eq journald-active "$(systemctl is-active systemd-journald.service 2>&1)" active
expect_eq journald-socket "$(stat -c %F /run/systemd/journal/socket 2>&1)" socket
printf 'labelers = dac\nrecords = auto\n' >records.conf

check apply vfguard apply --config "$PWD/records.conf" --domain vm-records --uid 107 --gid 107 \
	--hostdev "$EDU,backend=legacy" || exit 1
expect_eq group-owner "$(stat -c '%u:%g' "$group")" 107:107
# Another domain asking for vm-records' group is refused: its records are its own.
check_fails refused vfguard apply --config "$PWD/records.conf" --domain vm-records2 --hostdev "$EDU,backend=legacy"
check revoke vfguard revoke --config "$PWD/records.conf" --domain vm-records || exit 1
expect_eq group-owner-back "$(stat -c '%u:%g' "$group")" 0:0
check sync journalctl --sync

# records FILTER...: vfguard's records matching the journalctl matches, one
# JSON object per line, in records.json; prints their count.
records() {
	journalctl -t vfguard -o json "$@" >records.json 2>journalctl.err || {
		cat journalctl.err >&2
		return 1
	}
	grep -c . records.json
}
# field N NAME: the field NAME of the Nth record (1-based) of records.json.
field() {
	sed -n "$1p" records.json >record.json && json_get record.json "$2"
}
grant_id=7457acb64d884ef89c2f48a2583bcd81
revoke_id=8c6bd58932494821acbd306b7ce800e4
outcome_id=e019cdb6c9ba4aa9a91e3ad27c58ed91

# The apply's outcome says how many changes it made; there is one grant record each.
expect_eq apply-outcomes "$(records VFGUARD_DOMAIN=vm-records MESSAGE_ID=$outcome_id VFGUARD_COMMAND=apply)" 1
changed=$(field 1 VFGUARD_CHANGED)
expect_match apply-changed "$changed" '^[1-9][0-9]*$'
expect_eq apply-outcome-result "$(field 1 VFGUARD_RESULT)" ok
expect_eq apply-outcome-action "$(field 1 VFGUARD_ACTION)" apply
expect_eq grants "$(records VFGUARD_DOMAIN=vm-records MESSAGE_ID=$grant_id)" "$changed"
# The group node's grant, field by field.
records VFGUARD_DOMAIN=vm-records MESSAGE_ID=$grant_id VFGUARD_NODE="$group" >/dev/null
expect_eq grant-count-group "$(grep -c . records.json)" 1
expect_eq grant-action "$(field 1 VFGUARD_ACTION)" grant
expect_eq grant-identifier "$(field 1 SYSLOG_IDENTIFIER)" vfguard
expect_eq grant-priority "$(field 1 PRIORITY)" 5
expect_eq grant-command "$(field 1 VFGUARD_COMMAND)" apply
expect_eq grant-result "$(field 1 VFGUARD_RESULT)" ok
expect_eq grant-labeler "$(field 1 VFGUARD_LABELER)" dac
expect_eq grant-message "$(field 1 MESSAGE)" "domain vm-records: dac granted $group"
# Sent by a root process through the native protocol: _PID and _UID are the
# kernel's credentials of the socket message, always there. (_COMM is not
# asserted: journald reads it from /proc/PID afterwards, and a vfguard that
# has exited by then leaves the record without it; systemd.journal-fields(7)
# calls every field of special meaning optional. A CI run lost it once.)
expect_match grant-pid "$(field 1 _PID)" '^[1-9][0-9]*$'
expect_eq grant-uid "$(field 1 _UID)" 0
check_fails grant-no-root field 1 VFGUARD_ROOT

# The revoke undoes exactly what the apply made, one record per change.
expect_eq revoke-outcomes "$(records VFGUARD_DOMAIN=vm-records MESSAGE_ID=$outcome_id VFGUARD_COMMAND=revoke)" 1
expect_eq revoke-changed "$(field 1 VFGUARD_CHANGED)" "$changed"
expect_eq revoke-outcome-result "$(field 1 VFGUARD_RESULT)" ok
# (By MESSAGE_ID: the revoke's outcome has VFGUARD_ACTION=revoke too, the
# command's name.)
expect_eq revokes "$(records VFGUARD_DOMAIN=vm-records MESSAGE_ID=$revoke_id)" "$changed"
records VFGUARD_DOMAIN=vm-records MESSAGE_ID=$revoke_id VFGUARD_NODE="$group" >/dev/null
expect_eq revoke-count-group "$(grep -c . records.json)" 1
expect_eq revoke-action "$(field 1 VFGUARD_ACTION)" revoke
expect_eq revoke-priority "$(field 1 PRIORITY)" 5
expect_eq revoke-command "$(field 1 VFGUARD_COMMAND)" revoke
expect_eq revoke-labeler "$(field 1 VFGUARD_LABELER)" dac
expect_eq revoke-message "$(field 1 MESSAGE)" "domain vm-records: dac revoked $group"

# vm-records' records are the grants, the revokes and two outcomes; nothing else.
expect_eq vm-records-total "$(records VFGUARD_DOMAIN=vm-records)" $((2 * changed + 2))
# vm-records2's refused apply: the claim refused, naming the function, and an outcome.
expect_eq vm-records2-refusals "$(records VFGUARD_DOMAIN=vm-records2 VFGUARD_ACTION=refuse)" 1
expect_eq vm-records2-refused-device "$(field 1 VFGUARD_DEVICE)" "$EDU"
expect_eq vm-records2-refused-priority "$(field 1 PRIORITY)" 4
expect_eq vm-records2-outcome "$(records VFGUARD_DOMAIN=vm-records2 MESSAGE_ID=$outcome_id)" 1
expect_eq vm-records2-result "$(field 1 VFGUARD_RESULT)" refused
expect_eq vm-records2-total "$(records VFGUARD_DOMAIN=vm-records2)" 2
