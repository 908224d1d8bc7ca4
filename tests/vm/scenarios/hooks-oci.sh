# The OCI hook on a real kernel, run as a runtime runs it: the program the
# installed hooks.d file names, the container state on stdin, the host's
# default configuration (docs/hooks.md "OCI"). The container is a real
# process in its own cgroup2 cgroup and mount namespace with a tmpfs /dev; its
# bundle's config.json lists edu's group node under linux.devices and runs as
# 107:107. prestart gives the group node to 107:107, makes the nodes in the
# container's /dev, allows them to its cgroup by vfguard's device program and
# raises its locked-memory limit: the container walks the type1 flow from
# inside. poststop, after the container died as runtimes do it, puts every
# owner back and leaves the cgroup with no program, journal empty. An unknown
# /dev/vfio entry is refused in one line naming it, and nothing changes.
requires legacy
hooks_d=/usr/share/containers/oci/hooks.d/vfguard-hook.json
check setup-hooks-d-installed test -f "$hooks_d" || exit 1
expect_absent setup-no-config /etc/vfguard/vfguard.conf || exit 1
# the hooks.d file (oci-hooks(5) 1.0.0): one program for both stages, when the annotation is there
hook=$(json_get "$hooks_d" hook path)
check hooks-d-program test -x "$hook" || exit 1
expect_eq hooks-d-stages "$(json_get "$hooks_d" stages 0) $(json_get "$hooks_d" stages 1) $(json_get "$hooks_d" stages '#')" \
	"prestart poststop 2"
expect_eq hooks-d-when "$(json_get "$hooks_d" when annotations '^org\.vfguard\.hostdevs$')" ".*"
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
# A bundle whose linux.devices has /dev/vfio/vfio and DEVICE-PATH (edu's group, or one that is not there).
bundle() {
	oci_bundle "$1" /dev/vfio/vfio:10:196 "$2:$(node_rdev "$group")"
}
# What vfguard may change on the host: the VFIO nodes, what its journal and
# AppArmor rules folders hold, the cgroup's device programs.
cg=/sys/fs/cgroup/ctr1
snapshot() {
	oci_snapshot "$cg" /dev/vfio /dev/vfio/*
}

check setup-cgroup mkdir "$cg" || exit 1
# On this hybrid host the container also gets a v1 devices cgroup of its own, as a runtime makes it.
devcg=/tmp/devcg/ctr1
devices_v1_cgroup "$devcg"
bundle ctr1 "$group"
# The container: joins its cgroup, then its own mount namespace with a tmpfs /dev (as runtimes make
# it), still root with every capability, as a runtime's process is at prestart.
start_private_dev "$cg" "$devcg"
ctr=$private_dev_pid
check setup-container-dev grep '^tmpfs /dev ' "/proc/$ctr/mounts" || { kill "$ctr"; exit 1; }
check setup-container-cgroup grep -x '0::/ctr1' "/proc/$ctr/cgroup" || { kill "$ctr"; exit 1; }
# At prestart the container's process is still the runtime's root, CAP_IPC_LOCK (14) included: whether the
# program will hold it comes from config.json (uid 107, no ambient set: it will not), never from the pid.
expect_prestart_root "$ctr" || { kill "$ctr"; exit 1; }
snapshot >before.state
memlock_before=$(memlock_limits "$ctr")
check before-no-vfio-inside nsenter -t "$ctr" -m sh -c '! test -e /dev/vfio'
run_checks cgroup_probe open --cgroup "$cg" before-console-open /dev/console ok

oci_state ctr1 created ctr1 "$ctr" >created.json
expect_eq prestart "$(run_hook created.json)" "$quiet" || { kill "$ctr"; exit 1; }
expect_eq group-owner "$(stat -c '%u:%g %a' "$group")" "107:107 600"
check status sh -c "vfguard status --json >status.json"
show_output status.json
expect_eq status-hostdev "$(json_get status.json domains 0 name) $(json_get status.json domains 0 hostdevs 0 address) $(json_get status.json domains 0 hostdevs 0 backend)" \
	"ctr1 $EDU legacy"
expect_same_inside inside-group "$ctr" "$group"
expect_same_inside inside-container "$ctr" /dev/vfio/vfio
expect_eq cgroup-program "$(cgroup_probe programs "$cg")" 1
run_checks cgroup_probe open --cgroup "$cg" granted-group "$group" ok
run_checks cgroup_probe open --cgroup "$cg" not-granted-console /dev/console EPERM
# 64 MiB of guest memory, one legacy container: 64 MiB + memlock_extra 1 GiB (docs/memlock.md)
expect_eq memlock-raised "$(memlock_limits "$ctr")" "1140850688 1140850688"
# the container's own view: in its cgroup and namespace, as 107:107, the whole type1 flow
run_checks -p container in_cgroup "$cg" nsenter -t "$ctr" -m vfio_probe legacy \
	--container /dev/vfio/vfio --group "$group" --device "$EDU" --uid 107 --gid 107

# The container ends; then the runtime runs poststop (status stopped, no pid).
oci_poststop "$ctr" ctr1 ctr1
expect_eq group-owner-restored "$(stat -c '%u:%g %a' "$group")" "0:0 600"
expect_eq cgroup-program-gone "$(cgroup_probe programs "$cg")" 0
check_fails journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
unchanged poststop-restored before.state
expect_eq poststop-again "$(run_hook stopped.json)" "$quiet"
unchanged poststop-again-unchanged before.state

# An entry naming a group that does not exist: refused, one line naming it, nothing changed.
bundle ctr2 /dev/vfio/99
sleep 600 &
other=$!
oci_state ctr2 created ctr2 "$other" >bad.json
expect_eq unknown-group-refused "$(run_hook bad.json)" "exit 1, stdout 0 bytes, stderr 1 lines"
check unknown-group-reason grep -E '^vfguard: /dev/vfio/99: no IOMMU group 99 ' hook.err
unchanged unknown-group-unchanged before.state
expect_eq unknown-group-memlock-kept "$(memlock_limits "$other")" "$memlock_before"
kill "$other"
check cleanup-cgroup rmdir "$cg" "$devcg"
