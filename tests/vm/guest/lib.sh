# Helpers for the VM suite's scenarios (busybox sh), sourced before each
# scenario runs. Every check prints one console line the host reads:
#   VFGVM ok SCENARIO/CHECK message
#   VFGVM FAIL SCENARIO/CHECK message
# See tests/vm/README.md for the whole protocol and how to add a scenario.

. /etc/vfgvm/kernel.conf # VFGVM_KERNEL, VFGVM_EXPECT, VFGVM_MODULES

export VFGUARD_PLUGIN_DIR=/usr/lib/vfguard/plugins
# The device every scenario uses: QEMU's edu (1234:11e8), alone in its IOMMU group.
EDU=0000:00:02.0
EDU_SYS=/sys/bus/pci/devices/$EDU

vfgvm_say() {
	echo "VFGVM $*"
}

vfgvm_uptime_ms() {
	awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime
}

# result ok|FAIL NAME MESSAGE...: one line, newlines flattened.
result() {
	local kind=$1 name=$2
	shift 2
	echo "$name" >>"$VFGVM_DIR/.checks"
	vfgvm_say "$kind" "$SCENARIO/$name" "$(echo "$*" | tr '\n' ' ' | sed 's/ *$//')"
}

pass() {
	result ok "$@"
}

fail() {
	result FAIL "$@"
}

# Print a command's output into the log, indented, for whoever reads a failure.
show_output() {
	sed 's/^/  | /' "$1"
}

# run_check success|failure NAME COMMAND...: what check and check_fails share.
run_check() {
	local want=$1 name=$2 status last
	shift 2
	"$@" >"$VFGVM_DIR/.output" 2>&1
	status=$?
	last=$(tail -n 1 "$VFGVM_DIR/.output")
	if [ "$want" = success ] && [ "$status" -eq 0 ]; then
		pass "$name" "$(head -n 1 "$VFGVM_DIR/.output")"
	elif [ "$want" = failure ] && [ "$status" -ne 0 ]; then
		pass "$name" "exit $status${last:+: $last}"
	else
		show_output "$VFGVM_DIR/.output"
		if [ "$want" = success ]; then
			fail "$name" "exit $status from '$*'${last:+: $last}"
		else
			fail "$name" "'$*' succeeded, expected a failure"
		fi
		return 1
	fi
}

# check NAME COMMAND...: passes when COMMAND exits 0; its first output line is
# the message. Like every helper, returns non-zero when the check failed, so a
# scenario can stop where going on makes no sense: check NAME ... || exit 1
check() {
	run_check success "$@"
}

# check_fails NAME COMMAND...: passes when COMMAND exits non-zero.
check_fails() {
	run_check failure "$@"
}

# expect_eq NAME ACTUAL EXPECTED
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1" "$2"
	else
		fail "$1" "got '$2', expected '$3'"
		return 1
	fi
}

# run_checks [-p PREFIX] COMMAND...: COMMAND prints "ok NAME message" and
# "FAIL NAME message" lines (vfio_probe does); each becomes a check, named
# PREFIX-NAME when a prefix is given. A command that reports nothing, or
# fails without saying which step, is a failure too.
run_checks() {
	local prefix='' status kind name message reported=0 failed=0
	if [ "$1" = -p ]; then
		prefix=$2-
		shift 2
	fi
	"$@" >"$VFGVM_DIR/.output" 2>"$VFGVM_DIR/.errors"
	status=$?
	show_output "$VFGVM_DIR/.errors"
	while read -r kind name message; do
		case $kind in
		ok | FAIL)
			result "$kind" "$prefix$name" "$message"
			reported=$((reported + 1))
			[ "$kind" = FAIL ] && failed=$((failed + 1))
			;;
		*) echo "  | $kind $name $message" ;;
		esac
	done <"$VFGVM_DIR/.output"
	if [ "$reported" -eq 0 ]; then
		fail "${prefix}reported" "'$*' reported no checks (exit $status)"
	elif [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
		fail "${prefix}exit" "'$*' exited $status after reporting only passes"
	fi
	[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$reported" -gt 0 ]
}

# requires legacy|iommufd...: end the scenario as "not run" when the kernel
# lacks what it needs, unless this kernel is expected to have it (then it
# is a failure: a broken kernel must not turn into skipped scenarios).
requires() {
	local feature missing
	for feature in "$@"; do
		case $feature in
		legacy) [ -c /dev/vfio/vfio ] || missing="no /dev/vfio/vfio (no VFIO container)" ;;
		iommufd) [ -c /dev/iommu ] || missing="no /dev/iommu (no IOMMUFD in this kernel)" ;;
		*) missing="unknown feature '$feature'" ;;
		esac
		[ -n "$missing" ] || continue
		case " $VFGVM_EXPECT " in
		*" $feature "*)
			fail "requires-$feature" "$missing, but the $VFGVM_KERNEL kernel must have it"
			exit 0
			;;
		esac
		vfgvm_say skip "$SCENARIO" "$missing"
		exit 0
	done
}

# The rdev of a device node, "MAJ:MIN" in decimal as sysfs and vfguard write it.
node_rdev() {
	local hex
	hex=$(stat -c '%t %T' "$1") || return 1
	set -- $hex
	echo "$((0x$1)):$((0x$2))"
}

# The driver a PCI function is bound to, or "none".
pci_driver() {
	if [ -e "/sys/bus/pci/devices/$1/driver" ]; then
		basename "$(readlink "/sys/bus/pci/devices/$1/driver")"
	else
		echo none
	fi
}

# The IOMMU group number of a PCI function.
iommu_group() {
	local link
	link=$(readlink "/sys/bus/pci/devices/$1/iommu_group") || return 1
	basename "$link"
}

# use_vfio_pci BDF: setup for scenarios that need the function on vfio-pci,
# done by `vfguard detach` (checks "setup-detach" and "setup-vfio-pci").
# Without it nothing after could pass: a failure ends the scenario.
use_vfio_pci() {
	check setup-detach vfguard detach "$1" || exit 1
	expect_eq setup-vfio-pci "$(pci_driver "$1")" vfio-pci || exit 1
}

# plan ARGS...: `vfguard plan --json ARGS` into plan.json, as the check "plan".
# Without a plan every check on it would fail too: a failure ends the scenario.
plan() {
	if vfguard plan --json "$@" >"$VFGVM_DIR/plan.json" 2>"$VFGVM_DIR/plan.errors"; then
		pass plan "backend $(plan_get hostdevs 0 backend), $(plan_get nodes '#') nodes"
	else
		show_output "$VFGVM_DIR/plan.errors"
		fail plan "vfguard plan $*: $(tail -n 1 "$VFGVM_DIR/plan.errors")"
		exit 1
	fi
}

# plan_get STEP...: one value of the last plan (json_get's steps: name, 3, key=value, #).
plan_get() {
	json_get "$VFGVM_DIR/plan.json" "$@"
}
