# Helpers for the VM suite's scenarios (busybox sh), sourced before each
# scenario runs. Every check prints one console line the host reads:
#   VFGVM ok SCENARIO/CHECK message
#   VFGVM FAIL SCENARIO/CHECK message
# See tests/vm/README.md for the whole protocol and how to add a scenario.

. /etc/vfgvm/kernel.conf # VFGVM_KERNEL, VFGVM_EXPECT, VFGVM_MODULES

# The build tree's plugins, where tests/vm/run puts them; a root that installs
# vfguard's Debian packages (run --deb) has none there, and its vfguard finds
# its own, as installed.
[ -d /vm/debs ] || export VFGUARD_PLUGIN_DIR=/usr/lib/vfguard/plugins
# The device every scenario uses: QEMU's edu (1234:11e8), alone in its IOMMU group.
EDU=0000:00:02.0
EDU_SYS=/sys/bus/pci/devices/$EDU
# The SR-IOV boots' PF ("# vfgvm-qemu: igb", tests/vm/run): QEMU's igb, an
# Intel 82576 (8086:10c9), behind a PCIe root port on bus 1.
IGB_PF=0000:01:00.0
IGB_PF_SYS=/sys/bus/pci/devices/$IGB_PF
# The bridge boot ("# vfgvm-qemu: pci-bridge", tests/vm/run): QEMU's pci-bridge
# and a second edu behind it, on bus 1.
BRIDGE=0000:00:05.0
BRIDGE_EDU=0000:01:01.0

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
	elif [ "$want" = failure ] && [ "$status" -ne 0 ] && [ "$status" -ne 126 ] && [ "$status" -ne 127 ]; then
		pass "$name" "exit $status${last:+: $last}"
	else
		show_output "$VFGVM_DIR/.output"
		if [ "$want" = success ]; then
			fail "$name" "exit $status from '$*'${last:+: $last}"
		elif [ "$status" -eq 126 ] || [ "$status" -eq 127 ]; then
			fail "$name" "'$*' could not run (exit $status)${last:+: $last}"
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

# check_fails NAME COMMAND...: passes when COMMAND exits non-zero, but not
# when it could not run at all (126, 127: not executable, not found): a
# missing tool is no refusal.
check_fails() {
	run_check failure "$@"
}

# expect_eq NAME ACTUAL EXPECTED: passes when the two strings are equal and
# not empty. An empty value is a read that came back with nothing (a tool
# missing, a file gone), never a match with another empty read: it fails.
# What must be empty is checked with expect_empty.
expect_eq() {
	if [ -z "$2" ]; then
		fail "$1" "read back nothing, expected '$3'"
		return 1
	elif [ -z "$3" ]; then
		fail "$1" "got '$2', but the value to compare it with is empty (a read that failed earlier?)"
		return 1
	elif [ "$2" = "$3" ]; then
		pass "$1" "$2"
	else
		fail "$1" "got '$2', expected '$3'"
		return 1
	fi
}

# expect_match NAME VALUE REGEX: passes when VALUE matches the extended REGEX
# (so an empty read fails unless REGEX allows it, which it should not).
expect_match() {
	if [ -n "$2" ] && echo "$2" | grep -Eq -- "$3"; then
		pass "$1" "$2"
	else
		fail "$1" "got '$2', expected a match of /$3/"
		return 1
	fi
}

# expect_empty NAME VALUE: passes when VALUE is empty (what expect_eq refuses).
expect_empty() {
	if [ -z "$2" ]; then
		pass "$1" "empty"
	else
		fail "$1" "got '$2', expected nothing"
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

# requires legacy|iommufd|mdev|sriov|bridge...: end the scenario as "not run" when the kernel
# lacks what it needs, unless this kernel is expected to have it (then it
# is a failure: a broken kernel must not turn into skipped scenarios).
requires() {
	local feature missing
	for feature in "$@"; do
		case $feature in
		legacy) [ -c /dev/vfio/vfio ] || missing="no /dev/vfio/vfio (no VFIO container)" ;;
		iommufd) [ -c /dev/iommu ] || missing="no /dev/iommu (no IOMMUFD in this kernel)" ;;
		mdev) [ -d /sys/class/mdev_bus/mtty ] || missing="no mtty mdev parent (no SAMPLE_VFIO_MDEV_MTTY in this kernel)" ;;
		sriov) [ -e "$IGB_PF_SYS/sriov_numvfs" ] || missing="no SR-IOV PF at $IGB_PF (not an igb boot, or no PCI_IOV)" ;;
		bridge) [ -e "/sys/bus/pci/devices/$BRIDGE_EDU" ] || missing="no edu behind a bridge at $BRIDGE_EDU (not a pci-bridge boot)" ;;
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

# wait_for FILE [LINE]: wait up to 30 s for FILE to exist or, given LINE, to
# hold that exact line; prints what FILE holds (a check's message).
wait_for() {
	local tries=0
	while [ ! -e "$1" ] || { [ $# -gt 1 ] && ! grep -Fqx -- "$2" "$1"; }; do
		[ $tries -lt 300 ] || { cat "$1" 2>/dev/null; return 1; }
		sleep 0.1
		tries=$((tries + 1))
	done
	cat "$1"
}

# process_state PID: its state letter from /proc/PID/stat (R, S, D, Z, ...), nothing when gone.
process_state() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1
}

# given_back_while_held NAME vfguard COMMAND...: run the vfguard COMMAND, one
# that gives edu (on vfio-pci) back, while a VFIO user holds it: a legacy
# vfio_probe paused with the group and the device open. Unbinding vfio-pci
# then waits until the holder lets go (vfio_unregister_group_dev()), asking
# it to release the device: the kernel logs "No device request channel
# registered" for a holder that set none (vfio_pci_core_request()). Checks,
# each NAME-...: the holder has edu; the command says on stderr, before that
# wait, which function it waits for, who holds it and that the kernel asks
# it to let go; it is still waiting 2 s on, and the kernel did ask; once the
# holder is killed, the command goes on and succeeds.
given_back_while_held() {
	local name=$1 group holder command requests
	shift
	group=/dev/vfio/$(iommu_group "$EDU")
	vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
		--pause-before-map "$PWD/$name.hold" >"$name.probe" 2>&1 &
	holder=$!
	check "$name-holder-has-edu-open" wait_for "$name.hold.waiting" || return 1
	requests=$(dmesg | grep -c "$EDU: No device request channel registered")
	"$@" >"$name.out" 2>"$name.err" &
	command=$!
	check "$name-says-who-holds-it" wait_for "$name.err" "vfguard $2: $EDU: waiting for it to be released: \
pid $holder (vfio_probe) has $group open; the kernel asks that process to release the device, and unbinding it \
from vfio-pci waits until it does"
	sleep 2
	expect_match "$name-waits-for-the-holder" "$(process_state "$command")" '^[SD]$'
	expect_eq "$name-kernel-asked-the-holder" \
		"$(dmesg | grep -c "$EDU: No device request channel registered")" "$((requests + 1))"
	kill "$holder"
	wait "$holder"
	check "$name-goes-on-once-released" wait "$command"
	show_output "$name.err"
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

# memlock_limits PID: PID's RLIMIT_MEMLOCK, "SOFT HARD" in bytes.
memlock_limits() {
	awk '/^Max locked memory/ { print $4, $5 }' "/proc/$1/limits"
}

# expect_same_inside NAME PID NODE: check NAME that NODE in PID's mount
# namespace has the type, rdev, owner and mode of the host's NODE.
expect_same_inside() {
	expect_eq "$1" "$(nsenter -t "$2" -m stat -c '%F %t:%T %u:%g %a' "$3")" \
		"$(stat -c '%F %t:%T %u:%g %a' "$3")"
}

# expect_plan_note NAME LABELER TEXT: check NAME that the plan's note for
# LABELER says TEXT (a grep pattern, found exactly once).
expect_plan_note() {
	expect_eq "$1" "$(plan_get labelers name="$2" note | grep -o "$3")" "$3"
}

# in_cgroup CGROUP COMMAND...: COMMAND as a process that joined CGROUP first.
in_cgroup() {
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$@"
}

# start_private_dev [CGROUP...]: a process (sleep 600) in a new mount namespace
# (propagation private) with a tmpfs /dev (in each CGROUP first when given:
# a cgroup2 one and a v1 devices one on a hybrid host), as a VM or container
# runtime makes it; sets private_dev_pid and waits up to 10 s for its /dev to
# be the tmpfs (the scenario checks that it is).
start_private_dev() {
	sh -c 'for cgroup; do echo $$ >"$cgroup/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private sh -c "mount -t tmpfs -o mode=0755 tmpfs /dev && exec sleep 600"' \
		_ "$@" &
	private_dev_pid=$!
	wait_private_dev "$private_dev_pid"
}

# wait_private_dev PID: wait up to 10 s until PID's /dev is a tmpfs.
wait_private_dev() {
	local i=0
	until grep -q '^tmpfs /dev ' "/proc/$1/mounts" 2>/dev/null || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# devices_v1_cgroup DIR: DIR, a cgroup of the v1 devices hierarchy mounted at
# /tmp/devcg (mounted when it is not, as the check "cgroup-mount"). A VM's
# process belongs in a devices cgroup of its own, never the root one (vfguard
# refuses that). A failure ends the scenario.
devices_v1_cgroup() {
	mkdir -p /tmp/devcg
	grep -q " /tmp/devcg " /proc/mounts || check cgroup-mount mount -t cgroup -o devices devices /tmp/devcg || exit 1
	mkdir -p "$1" || exit 1
}

# deny_devices_cgroup DIR NODE...: DIR, a v1 devices cgroup (devices_v1_cgroup)
# that denies each NODE, as the check "cgroup-deny". A failure ends the scenario.
deny_devices_cgroup() {
	local dir=$1 script='' node
	shift
	devices_v1_cgroup "$dir"
	for node in "$@"; do
		script="$script${script:+ && }echo 'c $(node_rdev "$node") rwm' >$dir/devices.deny"
	done
	check cgroup-deny sh -c "$script" || exit 1
}

# ---- AppArmor scenarios (apparmor-*.sh) --------------------------------------

# aa_hypervisor_profile UUID [FILE...]: the domain's profile, named as libvirt
# names it: sets $profile (libvirt-UUID) and $rules (vfguard's rules file for
# it), writes /etc/apparmor.d/libvirt/$profile (vfguard's abstraction, what
# the test programs need besides the devices, and the rules file) and loads
# it, with the profiles in FILEs, as the check "load". A failure ends the
# scenario.
aa_hypervisor_profile() {
	profile=libvirt-$1 rules=/etc/apparmor.d/vfguard/libvirt-$1
	shift
	mkdir -p /etc/apparmor.d/libvirt /etc/apparmor.d/vfguard
	cat >"/etc/apparmor.d/libvirt/$profile" <<PROFILE
profile $profile flags=(attach_disconnected) {
  #include <abstractions/vfguard-hypervisor>
  /usr/** mr,
  /etc/** r,
  /sys/** r,
  /proc/** r,
  include if exists <vfguard/$profile>
}
PROFILE
	check load apparmor_parser --replace "/etc/apparmor.d/libvirt/$profile" "$@" || exit 1
}

# aa_confined_plan ARGS...: vfguard confined itself, by vfguard-self, a
# profile in complain mode loaded as the check "load-self": `vfguard plan
# --json ARGS` under it into plan.json, as the check "confined-plan". A
# failure ends the scenario.
aa_confined_plan() {
	cat >/etc/apparmor.d/vfguard-self <<PROFILE
profile vfguard-self flags=(complain) {
}
PROFILE
	check load-self apparmor_parser --replace /etc/apparmor.d/vfguard-self || exit 1
	if aa_run exec vfguard-self vfguard plan --json "$@" >"$VFGVM_DIR/plan.json" 2>"$VFGVM_DIR/plan.errors"; then
		pass confined-plan "vfguard plan under vfguard-self"
	else
		show_output "$VFGVM_DIR/plan.errors"
		fail confined-plan "vfguard plan under vfguard-self: $(tail -n 1 "$VFGVM_DIR/plan.errors")"
		exit 1
	fi
}

# ---- SELinux scenarios (selinux-*.sh) ----------------------------------------

# A whole SELinux file label as a node carries it: user, role, type, level.
selinux_file_label='^[a-z_]+:object_r:[a-z_]+:s0(:c[0-9]+(,c[0-9]+)*)?$'

# selinux_label PATH: PATH's SELinux label (security.selinux). When it cannot
# be read (no label, getfattr missing) it prints nothing, says why on stderr
# (into the log) and returns 1, so every check of it fails.
selinux_label() {
	getfattr -h --only-values -n security.selinux "$1" >"$VFGVM_DIR/.label" || return 1
	tr -d '\0' <"$VFGVM_DIR/.label"
}

# selinux_enforce: check SELinux is the LSM ("lsm-selinux") and, unless a
# scenario of this boot did it already, mount selinuxfs, load the policy with
# virt_use_vfio on and enforce it ("selinuxfs", "load-policy", "virt-use-vfio",
# "enforcing"). A failure that makes the rest meaningless ends the scenario.
selinux_enforce() {
	check lsm-selinux grep -q selinux /sys/kernel/security/lsm || exit 1
	[ "$(cat /sys/fs/selinux/enforce 2>/dev/null)" != 1 ] || return 0
	check selinuxfs sh -c 'grep -q " /sys/fs/selinux selinuxfs " /proc/mounts ||
		mount -t selinuxfs selinuxfs /sys/fs/selinux' || exit 1
	check load-policy load_policy || exit 1
	check virt-use-vfio sh -c 'echo 1 >/sys/fs/selinux/booleans/virt_use_vfio &&
		echo 1 >/sys/fs/selinux/commit_pending_bools && cat /sys/fs/selinux/booleans/virt_use_vfio'
	check enforcing sh -c 'echo 1 >/sys/fs/selinux/enforce && test "$(cat /sys/fs/selinux/enforce)" = 1' || exit 1
}

# ---- memlock scenarios (memlock-*.sh) ----------------------------------------

# memlock_start BACKEND NODE-ARGS...: memlock_probe BACKEND NODE-ARGS in the
# background (pid in $probe, output in probe.out) as uid 65534 under
# RLIMIT_MEMLOCK 64 KiB, its 1 MiB map refused; checks "probe-waits" (it
# says so) and "limit-before".
memlock_start() {
	rm -f /tmp/memlock.ready /tmp/memlock.go
	mkfifo -m 0666 /tmp/memlock.ready /tmp/memlock.go
	memlock_probe "$@" --uid 65534 --gid 65534 \
		--limit 65536 --size 1048576 --ready /tmp/memlock.ready --go /tmp/memlock.go >probe.out 2>&1 &
	probe=$!
	expect_eq probe-waits "$(cat /tmp/memlock.ready)" limit
	expect_eq limit-before "$(memlock_limits "$probe")" "65536 65536"
}

# memlock_plan ARGS...: plan ARGS (the probe's domain: 1 MiB guest, memlock_extra
# 1M), checks that it raises the limit to 2 MiB ("plan-required",
# "plan-suffices", "plan-action").
memlock_plan() {
	plan "$@"
	expect_eq plan-required "$(plan_get memlock required)" 2097152
	expect_eq plan-suffices "$(plan_get memlock suffices)" false
	expect_eq plan-action "$(plan_get memlock action)" raise
}

# memlock_apply ARGS...: audit, apply and audit again the plan of ARGS, as the
# checks "audit-before" (the limit missing), "apply", "limit-raised" (2 MiB on
# $probe), "audit-after" and "audit-after-no-memlock-finding".
memlock_apply() {
	vfguard audit --json "$@" >audit.json
	expect_eq audit-before "$(json_get audit.json findings labeler=memlock kind)" missing
	check apply vfguard apply "$@"
	expect_eq limit-raised "$(memlock_limits "$probe")" "2097152 2097152"
	vfguard audit --json "$@" >audit.json
	expect_eq audit-after "$(json_get audit.json domain)" vm1
	expect_no_json audit-after-no-memlock-finding audit.json findings labeler=memlock kind
}

# memlock_finish: lets $probe map again ("probe-mapped"), revokes domain vm1
# ("revoke", "limit-restored": 64 KiB back), ends the probe and turns its
# report into checks ("probe-STEP").
memlock_finish() {
	local status
	echo go >/tmp/memlock.go
	expect_eq probe-mapped "$(cat /tmp/memlock.ready)" revoke
	check revoke vfguard revoke --set labelers=dac --domain vm1
	expect_eq limit-restored "$(memlock_limits "$probe")" "65536 65536"
	echo go >/tmp/memlock.go
	wait "$probe"
	status=$?
	run_checks -p probe sh -c "cat probe.out; exit $status"
	rm -f /tmp/memlock.ready /tmp/memlock.go
}

# ---- hooks scenarios (hooks-*.sh) --------------------------------------------
# They run the installed hook program, whose path the scenario puts in $hook.

# What run_hook prints for a hook that succeeded and said nothing.
quiet="exit 0, stdout 0 bytes, stderr 0 lines"

# run_hook INPUT [ARG...]: $hook ARGs with the file INPUT on stdin, as libvirt
# or a runtime runs it (stdout into hook.out, stderr into hook.err and the
# log); prints "exit N, stdout N bytes, stderr N lines".
run_hook() {
	local input=$1
	shift
	"$hook" "$@" <"$input" >hook.out 2>hook.err
	echo "exit $?, stdout $(wc -c <hook.out) bytes, stderr $(wc -l <hook.err) lines"
	show_output hook.err >&2
}

# unchanged NAME STATE: check NAME that the scenario's `snapshot` still prints
# what the file STATE holds (the diff in the log). A snapshot that is empty or
# could not read something (an "unreadable" line) fails: it proves nothing.
unchanged() {
	snapshot >now.state
	if [ ! -s "$2" ] || grep -q '^unreadable ' "$2" now.state; then
		show_output "$2"
		fail "$1" "the snapshot $2 or the one taken now is empty or unreadable"
		return 1
	fi
	check "$1" diff "$2" now.state
}

# stat_nodes PATH...: each PATH that exists as "PATH TYPE MAJ:MIN UID:GID MODE";
# a word that names nothing (an unmatched glob) is skipped, a PATH that exists
# but cannot be read is an "unreadable PATH" line.
stat_nodes() {
	local path
	for path in "$@"; do
		[ -e "$path" ] || [ -L "$path" ] || continue
		stat -c '%n %F %t:%T %u:%g %a' "$path" || echo "unreadable $path"
	done
}

# digest COMMAND...: the md5 of COMMAND's output; nothing (and status 1) when
# COMMAND failed or printed nothing, so expect_eq on it fails.
digest() {
	local out
	out=$("$@") && [ -n "$out" ] || return 1
	echo "$out" | md5sum | cut -d' ' -f1
}

# expect_no_json NAME FILE STEP...: check NAME that FILE is JSON with nothing
# at STEP... (json_get exits 3); a missing or unreadable FILE is a failure.
expect_no_json() {
	local name=$1 status
	shift
	json_get "$@" >"$VFGVM_DIR/.output" 2>&1
	status=$?
	if [ "$status" -eq 3 ]; then
		pass "$name" "nothing at $*"
	else
		show_output "$VFGVM_DIR/.output"
		fail "$name" "json_get $* exited $status, expected 3 (nothing there)"
		return 1
	fi
}

# expect_absent NAME PATH: check NAME that PATH does not exist; an empty PATH
# (a lookup that failed earlier) is a failure, not an absence.
expect_absent() {
	if [ -z "$2" ]; then
		fail "$1" "no path to look at (a lookup that failed earlier)"
		return 1
	fi
	check_fails "$1" test -e "$2"
}

# libvirt_hostdev DRIVER BDF: a managed PCI <hostdev> (formatdomain) for the
# function BDF, its <driver> element with the attributes DRIVER.
libvirt_hostdev() {
	set -- "$1" $(echo "$2" | tr ':.' '  ')
	cat <<HOSTDEV
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <driver $1/>
      <source>
        <address domain='0x$2' bus='0x$3' slot='0x$4' function='0x$5'/>
      </source>
    </hostdev>
HOSTDEV
}

# libvirt_snapshot NODE...: what the libvirt hook may change, as text to diff:
# edu's driver, each NODE's type, rdev, owner and mode, and what vfguard's
# journal, driver records and AppArmor rules folders hold.
libvirt_snapshot() {
	echo "edu driver $(pci_driver "$EDU")"
	stat_nodes "$@"
	ls -d /run/vfguard/domains/* /run/vfguard/drivers/* /etc/apparmor.d/vfguard/* 2>/dev/null
}

# oci_snapshot CGROUP NODE...: what the OCI hook may change, as text to diff:
# edu's driver, each NODE's type, rdev, owner and mode, what vfguard's journal
# and AppArmor rules folders hold, and how many device programs CGROUP has.
oci_snapshot() {
	local cgroup=$1
	shift
	echo "edu driver $(pci_driver "$EDU")"
	stat_nodes "$@"
	ls -d /run/vfguard/domains/* /etc/apparmor.d/vfguard/* 2>/dev/null
	echo "programs $(cgroup_probe programs "$cgroup" || echo unreadable)"
}

# oci_bundle DIR PATH:MAJOR:MINOR...: a bundle (runtime-spec config.md) whose
# process runs as 107:107, with vfguard's annotations (64M of memory), and
# whose linux.devices lists each PATH as that char device.
oci_bundle() {
	local dir=$1 entry devices=''
	shift
	mkdir -p "$dir/rootfs"
	for entry in "$@"; do
		set -- $(echo "$entry" | tr ':' ' ')
		devices="$devices${devices:+,
}      {\"path\": \"$1\", \"type\": \"c\", \"major\": $2, \"minor\": $3}"
	done
	cat >"$dir/config.json" <<CONFIG
{
  "ociVersion": "1.0.2",
  "root": {"path": "rootfs"},
  "process": {"user": {"uid": 107, "gid": 107}, "args": ["/usr/bin/qemu-system-x86_64"], "cwd": "/"},
  "annotations": {"org.vfguard.hostdevs": "", "org.vfguard.memory": "64M"},
  "linux": {
    "devices": [
$devices
    ]
  }
}
CONFIG
}

# oci_state ID STATUS BUNDLE [PID]: a container state (runtime-spec
# runtime.md "State") with oci_bundle's annotations; BUNDLE is under $PWD.
oci_state() {
	echo "{\"ociVersion\": \"1.0.2\", \"id\": \"$1\", \"status\": \"$2\",${4:+ \"pid\": $4,} \"bundle\": \"$PWD/$3\", \"annotations\": {\"org.vfguard.hostdevs\": \"\", \"org.vfguard.memory\": \"64M\"}}"
}

# oci_poststop PID ID BUNDLE: the container PID ends, then the runtime runs
# the hook at poststop (state stopped, no pid), as the check "poststop".
oci_poststop() {
	kill "$1"
	wait "$1" 2>/dev/null
	oci_state "$2" stopped "$3" >stopped.json
	expect_eq poststop "$(run_hook stopped.json)" "$quiet"
}

# expect_prestart_root PID: check "setup-container-root-ipc-lock" that PID
# is uid 0 with CAP_IPC_LOCK (14) effective, as a container's process still
# is at prestart.
expect_prestart_root() {
	expect_eq setup-container-root-ipc-lock "$(awk '/^Uid:/ { print $2 }' "/proc/$1/status") \
$(( 0x$(awk '/^CapEff:/ { print $2 }' "/proc/$1/status") >> 14 & 1 ))" "0 1"
}

# ---- real clients (scenarios with "# vfgvm-root: clients") -------------------
# The clients' own tools first, busybox's out of their way, and nothing of
# the scenario's environment: as a service manager starts them.
CLIENT_ENV="env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8"

# vm_start CGROUP COMMAND...: COMMAND started as a VM manager starts its
# hypervisor (guest/vm-holder): in CGROUP and a private /dev, held until
# vm_go; vfguard apply comes between, with --pid "$vm_pid". Output in vm.out.
vm_start() {
	local cgroup=$1
	shift
	rm -f vm.go && mkfifo vm.go || return 1
	/vm/vm-holder "$cgroup" "$PWD/vm.go" "$@" >vm.out 2>&1 &
	vm_pid=$!
	wait_private_dev "$vm_pid"
}

# vm_go: the held process goes on to its COMMAND.
vm_go() {
	echo go >vm.go
}

# vm_wait NAME SECONDS: check NAME that the started process ended by itself
# within SECONDS (it is killed otherwise); its status in vm_status.
vm_wait() {
	local i=0
	while kill -0 "$vm_pid" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$vm_pid" 2>/dev/null; then
		kill -9 "$vm_pid"
		wait "$vm_pid" 2>/dev/null
		show_output vm.out
		fail "$1" "still running after $2 s: killed"
		vm_status=137
		return 1
	fi
	wait "$vm_pid"
	vm_status=$?
	pass "$1" "exit $vm_status"
}

# as_uid UID: the words that run a command as UID:UID, no supplementary
# groups, no capabilities (util-linux setpriv: the clients' root has it), for
# $(as_uid 107) COMMAND... here and in vm_start.
as_uid() {
	echo "/usr/bin/setpriv --reuid $1 --regid $1 --clear-groups --inh-caps=-all --"
}

# host_snapshot CGROUP NODE...: what vfguard and the clients may change on the
# host, as text to diff before and after: edu's driver, each NODE's type,
# rdev, owner and mode, their extended attributes (ACLs, labels), CGROUP's
# device programs, and what vfguard's journal holds. Nothing at all when a
# part cannot be read (a node gone, getfattr missing), so expect_same fails.
host_snapshot() {
	local cgroup=$1 out
	shift
	out=$(
		echo "edu driver $(pci_driver "$EDU")"
		nodes=$(stat_nodes "$@")
		# every node there, and each read
		[ "$(echo "$nodes" | grep -vc '^unreadable ')" -eq $# ] || exit 1
		echo "$nodes"
		getfattr -d -m - --absolute-names "$@" || exit 1
		programs=$(cgroup_probe programs "$cgroup") || exit 1
		echo "programs $programs"
		ls -d /run/vfguard/domains/* 2>/dev/null
		exit 0
	) || return 1
	echo "$out"
}

# expect_same NAME BEFORE AFTER: check NAME that two snapshots are equal and
# not empty; the difference is shown when they are not.
expect_same() {
	if [ -z "$2" ] || [ -z "$3" ]; then
		fail "$1" "an empty snapshot (a read that failed)"
		return 1
	fi
	if [ "$2" = "$3" ]; then
		pass "$1" "$(echo "$2" | wc -l) lines as before"
		return 0
	fi
	echo "$2" >"$VFGVM_DIR/.before"
	echo "$3" >"$VFGVM_DIR/.after"
	diff "$VFGVM_DIR/.before" "$VFGVM_DIR/.after" | sed 's/^/  | /'
	fail "$1" "changed: $(diff "$VFGVM_DIR/.before" "$VFGVM_DIR/.after" | grep '^[-+][^-+]' | head -n 3 | tr '\n' ' ')"
}

# ---- libvirt (scenarios libvirt-*.sh, on the clients' root) -------------------
# libvirtd as a host without systemd, D-Bus or virtlogd runs it: QEMU's output
# goes to a file (qemu.conf stdio_handler), and everything else as packaged:
# QEMU runs as libvirt's built-in user, libvirt-qemu (qemu.conf's user and
# group lines are commented out; vfguard's hook takes the same default from
# its config key libvirt_qemu_user, docs/hooks.md), the DAC driver, the mount
# namespace, the device cgroup, remember_owner.
LIBVIRT_UID=64055
virsh_() {
	$CLIENT_ENV virsh -c qemu:///system "$@"
}

# libvirt_start [LINE...]: the packaged qemu.conf with the setting above and
# LINEs, libvirtd started, as the check setup-libvirtd (virsh reaches it).
libvirt_start() {
	[ -e qemu.conf.packaged ] || cp /etc/libvirt/qemu.conf qemu.conf.packaged || return 1
	{
		cat qemu.conf.packaged
		# user and group stay as packaged (commented out): libvirtd runs QEMU as its
		# built-in default, Debian's libvirt-qemu, and the hook must know it too.
		printf '%s\n' 'stdio_handler = "file"' "$@"
	} >/etc/libvirt/qemu.conf
	$CLIENT_ENV /usr/sbin/libvirtd --daemon --pid-file /run/libvirtd.pid >libvirtd.out 2>&1 || {
		show_output libvirtd.out
		fail "${libvirt_phase}setup-libvirtd" "libvirtd did not start"
		return 1
	}
	local i=0
	while ! virsh_ version >virsh-version.out 2>&1 && [ $i -lt 100 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	check "${libvirt_phase}setup-libvirtd" grep -E '^Running hypervisor: QEMU' virsh-version.out
}

# libvirt_stop: libvirtd ends (SIGTERM), as the check cleanup-libvirtd.
# Both check names start with $libvirt_phase when a scenario starts it twice.
libvirt_stop() {
	local pid i=0
	pid=$(cat /run/libvirtd.pid) || return 1
	kill "$pid"
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	check_fails "${libvirt_phase}cleanup-libvirtd" kill -0 "$pid"
}

# libvirt_domain NAME DRIVER: a small TCG domain (formatdomain) with the managed
# edu hostdev, its <driver> element with the attributes DRIVER (may be empty).
libvirt_domain() {
	libvirt_domain_with "$1" "$(libvirt_hostdev "$2" "$EDU")"
}

# libvirt_domain_with NAME DEVICES: that small TCG domain with DEVICES (XML) as its devices.
libvirt_domain_with() {
	cat <<EOD
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
$2
  </devices>
</domain>
EOD
}

# expect_query_pci NAME DOMAIN: check NAME that QMP query-pci, through virsh,
# lists a device 1234:11e8 (4660:4584).
expect_query_pci() {
	virsh_ qemu-monitor-command --pretty "$2" '{"execute":"query-pci"}' >query-pci.out 2>&1
	expect_match "$1" "$(tr -d ' \n' <query-pci.out | grep -o '"id":{[^}]*}' | grep '"vendor":4660,' |
		grep '"device":4584')" . || show_output query-pci.out
}
# -------------------------------------------------------------------------------

# ---- systemd (scenarios with "# vfgvm-root: systemd") --------------------------
# That boot has systemd 252 as PID 1 and dbus-daemon on the system bus
# (tests/vm/README.md); the scenarios make transient units with systemd-run.

# unit_start UNIT PROPERTY...: the transient service UNIT (systemd-run, each
# PROPERTY as -p), its main process guest/unit-holder, as the check
# "UNIT-start"; sets unit_dir, unit_pid (the holder, read back as MainPID) and
# unit_cgroup (its cgroup2 folder, read back as ControlGroup). A failure ends
# the scenario.
unit_start() {
	local unit=$1 property count i=0
	shift
	unit_dir=$VFGVM_DIR/$unit unit_request=0
	mkdir -p "$unit_dir" && mkfifo "$unit_dir/requests" || exit 1
	count=$#
	for property; do
		set -- "$@" -p "$property"
	done
	shift "$count"
	set -- --unit="$unit" --quiet --collect -p StandardOutput="file:$unit_dir/holder.log" \
		-p StandardError=inherit "$@" /vm/unit-holder "$unit_dir"
	check "$unit-start" systemd-run "$@" || exit 1
	until [ -s "$unit_dir/ready" ] || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	expect_eq "$unit-main-pid" "$(systemctl show -p MainPID --value "$unit")" "$(cat "$unit_dir/ready")" || exit 1
	unit_pid=$(cat "$unit_dir/ready")
	unit_cgroup=/sys/fs/cgroup$(systemctl show -p ControlGroup --value "$unit")
	expect_eq "$unit-cgroup" "$(grep '^0::' "/proc/$unit_pid/cgroup")" "0::${unit_cgroup#/sys/fs/cgroup}" || exit 1
}

# in_unit COMMAND...: COMMAND run by the last unit_start's holder, as a
# process of that unit; prints its output and returns its status (1 when the
# holder did not answer within 30 s).
in_unit() {
	local word i=0
	unit_request=$((unit_request + 1))
	for word; do
		echo "$word"
	done >"$unit_dir/$unit_request.args"
	echo "$unit_request" >"$unit_dir/requests"
	until [ -e "$unit_dir/$unit_request.status" ] || [ $i -ge 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	cat "$unit_dir/$unit_request.out" 2>/dev/null
	[ -e "$unit_dir/$unit_request.status" ] || {
		echo "the holder of $unit_dir did not answer request $unit_request in 30 s"
		return 1
	}
	return "$(cat "$unit_dir/$unit_request.status")"
}

# unit_devices UNIT: its DeviceAllow and DevicePolicy as `systemctl show`
# reads them back, its lines joined by "; " in systemctl's order.
unit_devices() {
	systemctl show -p DeviceAllow,DevicePolicy "$1" | sed ':a;N;$!ba;s/\n/; /g'
}

# unit_bus_allow UNIT: its DeviceAllow read over the system bus as sd-bus code
# reads it (Manager.GetUnit, then the Service property), in busctl's words:
# a(ss) 2 "/dev/vfio/2" "rw" ...
unit_bus_allow() {
	local path
	path=$(busctl call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager \
		GetUnit s "$1.service" | sed -n 's/^o "\(.*\)"$/\1/p')
	[ -n "$path" ] && busctl get-property org.freedesktop.systemd1 "$path" org.freedesktop.systemd1.Service DeviceAllow
}

# unit_stop UNIT: stop it, as the check "UNIT-stop"; then it is gone (--collect).
unit_stop() {
	check "$1-stop" systemctl stop "$1"
	check_fails "$1-gone" systemctl is-active --quiet "$1"
}

# edu_unit UNIT PROPERTY...: what the device scenarios of this boot start
# from: edu on vfio-pci (use_vfio_pci), its group in $group and its cdev in
# $cdev (the check "setup-cdev"), and the unit (unit_start). A failure ends
# the scenario.
edu_unit() {
	use_vfio_pci "$EDU"
	group=/dev/vfio/$(iommu_group "$EDU")
	cdev=$(vfio_cdev "$EDU")
	check setup-cdev test -c "$cdev" || exit 1
	unit_start "$@"
}

# vfio_cdev BDF: the function's VFIO cdev, /dev/vfio/devices/vfioN.
vfio_cdev() {
	local dev
	dev=$(ls "/sys/bus/pci/devices/$1/vfio-dev" 2>/dev/null | head -n 1)
	[ -n "$dev" ] && echo "/dev/vfio/devices/$dev"
}
# -------------------------------------------------------------------------------

# boot_number: 1, or 2 in the second boot of a scenario with "# vfgvm-boot:
# reboot" (tests/vm/run), whose root holds what the first boot carried.
boot_number() {
	cat /etc/vfgvm/boot-number 2>/dev/null || echo 1
}

# carry PATH...: what outlives the reboot, for the second boot: the files
# (relative to /) as a gzipped tar on the console, one "VFGVM carry BASE64"
# line after another, which the host unpacks over the second boot's root.
carry() {
	tar -C / -czf - "$@" | base64 | sed 's/^/VFGVM carry /'
}

# libvirt_hotplug_domain NAME [DEVICES]: a q35 domain with one empty
# pcie-root-port (and DEVICES), its hot-plug native PCIe (ACPI's for bridges
# off, docs/hotplug.md): a device in the port's slot, which no guest that
# never ran powered on, is unplugged at once (libvirt-hotplug).
libvirt_hotplug_domain() {
	libvirt_domain_with "$1" "    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-root-port'/>
${2:-}" |
		sed "s|<domain type='qemu'>|<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>|
			s|machine='pc'|machine='q35'|; s|</os>|</os>\n  <features><acpi/></features>|
			s|</domain>|  <qemu:commandline><qemu:arg value='-global'/><qemu:arg value='ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off'/></qemu:commandline>\n</domain>|"
}

# qemu_vfio_fds PID: what PID's fds name under /dev/vfio, a line each.
qemu_vfio_fds() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		readlink "$fd"
	done | grep '^/dev/vfio/'
}

# qemu_wait_let_go PID: until PID holds no /dev/vfio node (10 s at most).
qemu_wait_let_go() {
	local i=0
	while [ -n "$(qemu_vfio_fds "$1")" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# libvirt_edu_setup: the checks that vfguard's libvirt hook is installed as
# packaged (qemu.d's link to the program in /usr/sbin, and executable) and
# that edu is on no driver, as a managed hostdev starts.
libvirt_edu_setup() {
	local hook=/etc/libvirt/hooks/qemu.d/vfguard
	expect_eq setup-hook-packaged "$(readlink "$hook")" /usr/sbin/vfguard-libvirt-hook || return 1
	check setup-hook-executable test -x "$hook" || return 1
	[ "$(pci_driver "$EDU")" = none ] || vfguard reattach "$EDU" >/dev/null 2>&1
	expect_eq setup-edu-unbound "$(pci_driver "$EDU")" none
}

# libvirt_apparmor_start: libvirtd as a Debian host with AppArmor runs it:
# the daemon's and virt-aa-helper's profiles as packaged, loaded before it
# starts (AppArmor confines it at exec, and libvirt's probe finds its profile
# loaded: security_apparmor.c use_apparmor()), qemu.conf's
# security_driver = "apparmor", nothing added to the daemon's local profile.
# The checks apparmor-enabled, load-*, setup-libvirtd, libvirtd-confined,
# secmodel-apparmor and local-profile-as-packaged.
libvirt_apparmor_start() {
	local daemon local_profile=/etc/apparmor.d/local/usr.sbin.libvirtd
	check apparmor-enabled grep -qx Y /sys/module/apparmor/parameters/enabled || return 1
	cp "$local_profile" local-profile.packaged || return 1
	check load-libvirtd apparmor_parser --replace /etc/apparmor.d/usr.sbin.libvirtd || return 1
	check load-virt-aa-helper apparmor_parser --replace /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper || return 1
	libvirt_start 'security_driver = "apparmor"' || return 1
	daemon=$(cat /run/libvirtd.pid)
	expect_eq libvirtd-confined "$(cat "/proc/$daemon/attr/current")" "libvirtd (enforce)"
	virsh_ capabilities >capabilities.xml
	expect_eq secmodel-apparmor "$(grep -A1 '<secmodel>' capabilities.xml | grep -o '<model>apparmor</model>')" \
		"<model>apparmor</model>"
	expect_eq local-profile-as-packaged "$(grep -c vfguard "$local_profile")" 0
}

# libvirt_apparmor_stop PROFILE: libvirtd stopped, and the host as the
# scenarios after this one want it, an unconfined libvirtd with its DAC
# driver: the profiles go, the local profile and qemu.conf are as packaged
# again (libvirtd refuses to start when qemu.conf names a driver it cannot
# use), and the domain's profile PROFILE, which virt-aa-helper keeps, goes.
libvirt_apparmor_stop() {
	libvirt_stop
	cp local-profile.packaged /etc/apparmor.d/local/usr.sbin.libvirtd
	cp qemu.conf.packaged /etc/libvirt/qemu.conf
	check unload apparmor_parser --remove /etc/apparmor.d/usr.sbin.libvirtd \
		/etc/apparmor.d/usr.lib.libvirt.virt-aa-helper
	rm -f "/etc/apparmor.d/libvirt/$1"
}

# hook_exec_denials: how many execs of vfguard's libvirt hook AppArmor denied so far.
hook_exec_denials() {
	dmesg | grep -c 'apparmor="DENIED" operation="exec".*vfguard-libvirt-hook'
}

# expect_confined_start PROFILE QEMU_PID DENIALS: the checks that QEMU runs
# under PROFILE, that no exec of the hook was denied since DENIALS
# (hook_exec_denials before the start), not a count of nothing (the kernel
# log holds the load of PROFILE), and that PROFILE was denied no VFIO node
# (its other denials, if any, are shown).
expect_confined_start() {
	expect_eq qemu-confined "$(cat "/proc/$2/attr/current")" "$1 (enforce)"
	expect_eq hook-exec-not-denied "$(hook_exec_denials)" "$3"
	expect_match apparmor-log-read "$(dmesg | grep -c "apparmor=\"STATUS\" operation=\"profile_load\".*name=\"$1\"")" '^[1-9]'
	dmesg | grep "apparmor=\"DENIED\".*profile=\"$1\"" >denied.out
	[ ! -s denied.out ] || show_output denied.out
	expect_empty profile-denied-no-vfio-node "$(grep -e 'name="/dev/vfio/' -e 'name="/dev/iommu"' denied.out)"
}

# libvirt_edu_life PREFIX DOMAIN GROUP [MORE]: domain DOMAIN (domain.xml, the
# managed edu on the legacy backend, its group node GROUP) defined, started
# paused, looked at, destroyed and undefined, as libvirt-legacy does; check
# names start with PREFIX. MORE, when given, is a function run with the
# QEMU pid while the domain runs, for a scenario's own checks.
libvirt_edu_life() {
	local p=$1 domain=$2 group=$3 more=${4:-} before pid
	check "${p}define" virsh_ define domain.xml || return 1
	before=$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)
	# Before: no node for edu's group (nothing bound it to vfio-pci), so libvirt's uid cannot open it.
	run_checks -p "${p}before" vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
		--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT

	check "${p}start" virsh_ start --paused "$domain" || {
		show_output "/var/log/libvirt/qemu/$domain.log"
		return 1
	}
	expect_eq "${p}domstate" "$(virsh_ domstate "$domain")" paused
	pid=$(cat "/run/libvirt/qemu/$domain.pid")
	expect_eq "${p}qemu-uid" "$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")" \
		"$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID$LIBVIRT_UID"
	expect_eq "${p}qemu-no-caps" "$(awk '/^CapEff:/ { print $2 }' "/proc/$pid/status")" 0000000000000000
	expect_match "${p}qemu-holds-group" "$(ls -l "/proc/$pid/fd/")" " -> $group\$"
	expect_query_pci "${p}qmp-query-pci" "$domain"
	expect_eq "${p}edu-on-vfio-pci" "$(pci_driver "$EDU")" vfio-pci
	# vfguard's grant on the host's node: libvirt's QEMU is the domain's uid.
	expect_eq "${p}host-group-granted" "$(stat -c '%u:%g %a' "$group")" "$LIBVIRT_UID:$LIBVIRT_UID 600"
	check "${p}status" sh -c "vfguard status --json >status.json"
	expect_eq "${p}status-domain" "$(json_get status.json domains 0 name) $(json_get status.json domains 0 uid) $(json_get status.json domains 0 grants path="$group" state)" \
		"$domain $LIBVIRT_UID granted"
	check "${p}audit-clean" vfguard audit --domain "$domain"
	[ -z "$more" ] || "$more" "$pid"
	echo "QEMU $pid: $(cat "/proc/$pid/cgroup"); its /dev/vfio, then the host's:"
	nsenter -t "$pid" -m ls -ln /dev/vfio
	ls -ln /dev/vfio
	getfattr -d -m - --absolute-names /dev/vfio/* 2>&1

	check "${p}destroy" virsh_ destroy "$domain"
	expect_eq "${p}domstate-after" "$(virsh_ domstate "$domain")" "shut off"
	# After: the group node is gone with vfio-pci, and the uid is denied again.
	run_checks -p "${p}after" vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
		--uid "$LIBVIRT_UID" --gid "$LIBVIRT_UID" --open-errno group=ENOENT
	expect_same "${p}host-as-before" "$before" "$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio)"
	expect_empty "${p}apparmor-rules-gone" "$(ls /etc/apparmor.d/vfguard/ 2>/dev/null)"
	check "${p}undefine" virsh_ undefine "$domain"
}

# ---- SR-IOV (scenarios sriov-*.sh, "# vfgvm-qemu: igb") ----------------------
# set_numvfs N: N VFs on the igb PF through its sriov_numvfs (0 takes them
# away), as the check "numvfs-N"; a failure ends the scenario.
set_numvfs() {
	check "numvfs-$1" sh -c "echo $1 >$IGB_PF_SYS/sriov_numvfs && cat $IGB_PF_SYS/sriov_numvfs" || exit 1
}

# vf_token_pf_start TOKEN: the PF (already on vfio-pci, with its VFs) opened
# by tests/vm/vf_token_pf as its userspace driver, which sets TOKEN and holds
# it; its steps as checks pf-*, its pid in $pf_pid. A failure ends the scenario.
vf_token_pf_start() {
	local i=0
	vf_token_pf --container /dev/vfio/vfio --group "/dev/vfio/$(iommu_group "$IGB_PF")" --device "$IGB_PF" \
		--token "$1" --ready "$PWD/pf.ready" >pf.out 2>&1 &
	pf_pid=$!
	while [ ! -e pf.ready ] && kill -0 "$pf_pid" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	run_checks -p pf cat pf.out
	check pf-holding kill -0 "$pf_pid" || exit 1
}

# vf_token_pf_stop: the PF's user ends (SIGTERM), as the check pf-stopped.
vf_token_pf_stop() {
	kill "$pf_pid"
	wait "$pf_pid"
	expect_eq pf-stopped "$?" 0
}

# vf_bdf N: VF N's address, from the PF's virtfnN link.
vf_bdf() {
	local link
	link=$(readlink "$IGB_PF_SYS/virtfn$1") || return 1
	basename "$link"
}

# sriov_snapshot NODE...: the PF's and its VFs' drivers and driver_override,
# sriov_numvfs, the nodes' type, rdev, owner, mode and every xattr, vfguard's
# journal; nothing (status 1) when a read failed.
sriov_snapshot() {
	local out
	out=$(
		numvfs=$(cat "$IGB_PF_SYS/sriov_numvfs") || exit 1
		echo "numvfs $numvfs"
		for fn in "$IGB_PF_SYS" "$IGB_PF_SYS"/virtfn*; do
			[ -e "$fn" ] || continue
			bdf=$(basename "$(readlink -f "$fn")")
			override=$(cat "$fn/driver_override") || exit 1
			echo "$bdf driver $(pci_driver "$bdf") override $override"
		done
		if [ $# -gt 0 ]; then
			nodes=$(stat_nodes "$@")
			[ "$(echo "$nodes" | grep -vc '^unreadable ')" -eq $# ] || exit 1
			echo "$nodes"
			getfattr -d -m - --absolute-names "$@" || exit 1
		fi
		ls -d /run/vfguard/domains/* 2>/dev/null
		exit 0
	) || return 1
	echo "$out"
}
# -------------------------------------------------------------------------------
