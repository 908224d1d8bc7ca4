# Fault injection (docs/testing.md, "Fault injection") against a real driver
# core: tests/test_faults.c fails every changing call of apply, revoke and
# restore on a generated host, where no driver ever rebinds; here each call
# of a managed apply, of its revoke, and of vfguard detach and reattach fails
# in turn while edu really moves between no driver and vfio-pci (the driver
# writes: driver_override, unbind, drivers_probe; the driver record; the
# journal). Each run ends with a one-line error naming the reason and edu as
# before, or the complete change; a revoke or reattach cut short is finished
# by the next restore or reattach. The counts go into one check per command;
# each run that ends otherwise is a failure of its own, named by its fault.
# vfgvm-boot: alone
# vfgvm-timeout: 360
requires legacy
[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
expect_eq starts-unbound "$(pci_driver "$EDU")" none || exit 1
echo "labelers = dac" >dac.conf

apply_() {
	vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
		--hostdev "$EDU,backend=legacy,managed=yes"
}
revoke_() {
	vfguard revoke --config "$PWD/dac.conf" --domain vm1
}
restore_() {
	vfguard restore --config "$PWD/dac.conf" --all
}
detach_() {
	vfguard detach "$EDU"
}
reattach_() {
	vfguard reattach "$EDU"
}

# What a managed hostdev changes on this host: edu's driver and override,
# vfguard's state files (driver record, journal, store), the VFIO nodes. Not
# the holders index: it is derived from the journals, and a failed write of
# it removes it for the next command to rebuild (docs/journal.md).
managed_state() {
	echo "edu driver $(pci_driver "$EDU") override $(cat "$EDU_SYS/driver_override")"
	find /run/vfguard -type f ! -path /run/vfguard/holders | sort
	stat_nodes /dev/vfio/*
}

# The errnos a site fails with (tests/test_faults.c, site_errnos): a disk for
# the journal and state files, the kernel refusing for a driver or a layer;
# the driver writes get both of theirs, since they are what this scenario adds.
errnos_of() {
	case $1 in
	driver.*) echo "1 16" ;; # EPERM EBUSY
	*dlopen*) echo 2 ;;       # ENOENT: the plugin is missing
	journal.* | util.* | state.* | store.* | holders.* | lock.*) echo 28 ;; # ENOSPC
	*) echo 16 ;; # EBUSY
	esac
}

strerror_of() {
	case $1 in
	1) echo "Operation not permitted" ;;
	2) echo "" ;; # a failed dlopen gives dlerror's text, not an errno's
	5) echo "Input/output error" ;;
	16) echo "Device or resource busy" ;;
	28) echo "No space left on device" ;;
	esac
}

# census NAME COMMAND: COMMAND run once with VFGUARD_FAULT_LOG, its passes
# ("SITE N" lines) into NAME.passes. Fails unless it succeeded and passed a
# driver write: without one this scenario would prove nothing new.
census() {
	local name=$1
	shift
	rm -f "$name.log"
	(
		export VFGUARD_FAULT_LOG="$PWD/$name.log"
		"$@"
	) >/dev/null 2>"$name.err" </dev/null || {
		show_output "$name.err"
		fail "$name-census" "'$*' failed without a fault"
		return 1
	}
	grep -v ' failed$' "$name.log" >"$name.passes"
	expect_match "$name-census" "$(wc -l <"$name.passes") passes, $(grep -c '^driver\.' "$name.passes") driver writes" \
		' [1-9][0-9]* driver writes$'
}

# faulted NAME SITE N ERRNO COMMAND: COMMAND with the Nth pass at SITE failing
# with ERRNO; sets status and err (stderr). The fault must be met and a
# failure must be one line "vfguard: ..." giving the reason; otherwise the
# run is a failure of its own (returns 1).
faulted() {
	local name=$1 site=$2 n=$3 errno=$4 lines
	shift 4
	rm -f fault.log
	(
		export VFGUARD_FAULT="$site:$n:$errno" VFGUARD_FAULT_LOG="$PWD/fault.log"
		"$@"
	) >/dev/null 2>fault.err </dev/null
	status=$?
	err=$(cat fault.err)
	if ! grep -qx "$site $n failed" fault.log; then
		fail "$name-$site-$n-$errno" "the fault was never met"
		return 1
	fi
	[ "$status" -eq 0 ] && return 0
	lines=$(wc -l <fault.err)
	if [ "$status" -ne 1 ] || [ "$lines" -ne 1 ] || [ "${err#vfguard: }" = "$err" ]; then
		show_output fault.err
		fail "$name-$site-$n-$errno" "exit $status with $lines lines on stderr, expected exit 1 and one line 'vfguard: ...'"
		return 1
	fi
	case $err in
	*"$(strerror_of "$errno")"*) return 0 ;;
	esac
	fail "$name-$site-$n-$errno" "the error does not give the reason ($(strerror_of "$errno")): $err"
	return 1
}

# back_to_before NAME SPEC: the state must be $before now; a failure of its own.
back_to_before() {
	now=$(managed_state)
	[ "$now" = "$before" ] && return 0
	echo "$before" >state.before
	echo "$now" >state.now
	diff state.before state.now | sed 's/^/  | /'
	fail "$1-$2" "edu and vfguard's state are not as before"
	return 1
}

# "Before" is after one round trip: vfguard's host lock and its (empty)
# holders index stay once made (docs/journal.md), as they do on any host.
check apply-grants apply_ || exit 1
granted=$(managed_state)
expect_eq apply-binds-vfio-pci "$(pci_driver "$EDU")" vfio-pci || exit 1
check revoke-gives-back revoke_ || exit 1
before=$(managed_state)
expect_eq revoke-unbinds "$(pci_driver "$EDU")" none || exit 1
expect_eq revoke-clears-override "$(cat "$EDU_SYS/driver_override")" "(null)" || exit 1
check_fails revoke-removes-record test -e "/run/vfguard/drivers/$EDU" || exit 1
[ "$before" != "$granted" ] || {
	fail granted-differs "the state after the apply is the state before it"
	exit 1
}

# each_fault NAME ONE: ONE SITE N ERRNO for every pass of NAME.passes and each
# errno of its site; ONE returns 1 for a run that ended wrong (it said why).
# Sets runs and bad.
each_fault() {
	runs=0 bad=0
	while read -r site n <&3; do
		for errno in $(errnos_of "$site"); do
			runs=$((runs + 1))
			"$2" "$site" "$n" "$errno" || bad=$((bad + 1))
		done
	done 3<"$1.passes"
}

# ---- apply: undone to before, or complete (with an error after the commit) ----
apply_one() {
	faulted apply "$1" "$2" "$3" apply_ || {
		restore_ >/dev/null 2>&1
		revoke_ >/dev/null 2>&1
		return 1
	}
	now=$(managed_state)
	if [ "$status" -ne 0 ] && [ "$now" = "$before" ]; then
		undone=$((undone + 1))
		return 0
	fi
	if [ "$now" = "$granted" ] && { [ "$status" -eq 0 ] || echo "$err" | grep -q 'complete and committed'; }; then
		complete=$((complete + 1))
		revoke_ >/dev/null 2>&1
		back_to_before apply "$1-$2-$3"
		return
	fi
	echo "$granted" >state.granted
	echo "$now" >state.now
	diff state.granted state.now | sed 's/^/  | /'
	fail "apply-$1-$2-$3" "exit $status, neither as before nor complete: $err"
	revoke_ >/dev/null 2>&1 || restore_ >/dev/null 2>&1
	return 1
}
census apply apply_ || exit 1
check apply-census-revoked revoke_ || exit 1
undone=0 complete=0
each_fault apply apply_one
expect_eq apply-faults "$bad of $runs runs wrong ($undone undone, $complete complete)" \
	"0 of $runs runs wrong ($undone undone, $complete complete)"
check_fails apply-faults-undid-some test "$undone" -eq 0

# ---- revoke: never more granted; cut short, restore finishes it ----
# A function its driver did not take back (or whose driver record could not
# be dropped) does not hold the revoke: the grants and the claim go, the
# record stays, and the error says to run vfguard reattach, which finishes.
revoke_one() {
	apply_ >/dev/null 2>&1 || {
		fail "revoke-$1-$2-$3" "the apply before it failed"
		return 1
	}
	faulted revoke "$1" "$2" "$3" revoke_ || {
		restore_ >/dev/null 2>&1
		revoke_ >/dev/null 2>&1
		return 1
	}
	now=$(managed_state)
	if [ "$status" -eq 0 ] && [ "$now" = "$before" ]; then
		finished=$((finished + 1))
	elif [ "$status" -ne 0 ] && [ "$now" = "$granted" ]; then
		kept=$((kept + 1)) # failed before it changed anything
		revoke_ >/dev/null 2>&1
	elif [ "$status" -ne 0 ] && echo "$err" | grep -q "run vfguard reattach $EDU"; then
		finished=$((finished + 1))
		reattach_ >/dev/null 2>&1
	elif [ "$status" -ne 0 ] && echo "$err" | grep -Eq 'vfguard restore|complete and committed'; then
		finished=$((finished + 1))
		restore_ >/dev/null 2>&1
	else
		fail "revoke-$1-$2-$3" "exit $status, halfway without saying how to finish: $err"
		restore_ >/dev/null 2>&1
		return 1
	fi
	back_to_before revoke "$1-$2-$3"
}
check apply-for-revoke-census apply_ || exit 1
census revoke revoke_ || exit 1
kept=0 finished=0
each_fault revoke revoke_one
expect_eq revoke-faults "$bad of $runs runs wrong ($kept kept every grant, $finished finished by revoke, restore or reattach)" \
	"0 of $runs runs wrong ($kept kept every grant, $finished finished by revoke, restore or reattach)"

# ---- vfguard detach: undone to no driver, or detached ----
detach_one() {
	faulted detach "$1" "$2" "$3" detach_ || {
		reattach_ >/dev/null 2>&1
		return 1
	}
	if [ "$status" -ne 0 ]; then
		undone=$((undone + 1))
	elif [ "$(pci_driver "$EDU")" = vfio-pci ]; then
		detached=$((detached + 1))
		reattach_ >/dev/null 2>&1
	else
		fail "detach-$1-$2-$3" "exit 0, yet edu is on $(pci_driver "$EDU")"
		reattach_ >/dev/null 2>&1
		return 1
	fi
	back_to_before detach "$1-$2-$3"
}
# One round first: the revokes above may leave the holders index for the
# next command to rebuild (docs/journal.md), and a census that rebuilds it
# would name passes no later detach makes.
check detach-round detach_ || exit 1
check detach-round-reattached reattach_ || exit 1
census detach detach_ || exit 1
check detach-census-reattached reattach_ || exit 1
undone=0 detached=0
each_fault detach detach_one
expect_eq detach-faults "$bad of $runs runs wrong ($undone undone, $detached detached)" \
	"0 of $runs runs wrong ($undone undone, $detached detached)"

# ---- vfguard reattach: a failure leaves the record, and the next reattach finishes ----
reattach_one() {
	detach_ >/dev/null 2>&1 || {
		fail "reattach-$1-$2-$3" "the detach before it failed"
		return 1
	}
	faulted reattach "$1" "$2" "$3" reattach_ || {
		reattach_ >/dev/null 2>&1
		return 1
	}
	if [ "$status" -eq 0 ] || [ "$(managed_state)" = "$before" ]; then
		done_=$((done_ + 1)) # a failure after the record went: only its durability failed
	elif [ -f "/run/vfguard/drivers/$EDU" ] && reattach_ >/dev/null 2>&1; then
		again=$((again + 1))
	else
		fail "reattach-$1-$2-$3" "failed ($err), and the record that a second reattach needs is gone or it failed too"
		return 1
	fi
	back_to_before reattach "$1-$2-$3"
}
check detach-for-reattach-census detach_ || exit 1
census reattach reattach_ || exit 1
again=0 done_=0
each_fault reattach reattach_one
expect_eq reattach-faults "$bad of $runs runs wrong ($again finished by a second reattach, $done_ done)" \
	"0 of $runs runs wrong ($again finished by a second reattach, $done_ done)"
check_fails reattach-faults-left-some-for-a-second test "$again" -eq 0
expect_same all-as-before "$before" "$(managed_state)"
