# vfgvm-root: clients-systemd
# A real crun (1.21, trixie) under systemd (257, the clients' root's own) as
# PID 1, with its systemd cgroup manager (--systemd-cgroup): crun asks
# systemd for a transient scope (cgroupsPath "machine.slice:vfgvm:ctr1" makes
# vfgvm-ctr1.scope), hands it the bundle's linux.resources.devices as
# DevicePolicy=strict and DeviceAllow= (systemd's program on the scope), and
# puts a program of its own on the scope's container/ cgroup, where the
# container runs: both decide, they AND. vfguard's plan there refuses,
# naming both programs; on the scope itself, where systemd's program is
# alone, it takes the DeviceAllow path (systemd-grant walks that path whole).
# vfguard's OCI hook (prestart, poststop) then runs as in the `crun`
# scenario, whose bundle this is: crun's list already lets the container in,
# so the hook changes nothing of crun's unit; it claims the group, gives it
# the container's owner and raises the locked-memory limit, and `crun
# delete` leaves the host as before.
requires legacy
check systemd-pid1 sh -c 'test "$(cat /proc/1/comm)" = systemd'
check systemd-running sh -c 'state=$(systemctl is-system-running --wait); echo "$state"; [ "$state" = running ]'
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
rdev=$(node_rdev "$group")
hook=$(json_get /usr/share/containers/oci/hooks.d/vfguard-hook.json hook path)
check setup-hook-program test -x "$hook" || exit 1

mkdir -p rootfs/usr/bin rootfs/dev rootfs/proc
cp /usr/bin/vfio_probe rootfs/usr/bin/ || exit 1
for lib in $(/lib64/ld-linux-x86-64.so.2 --list /usr/bin/vfio_probe | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
	mkdir -p "rootfs$(dirname "$lib")" && cp -L "$lib" "rootfs$lib" || exit 1
done

# bundle DIR NAME HOOKS: config.json in DIR, its scope vfgvm-NAME.scope in machine.slice.
bundle() {
	mkdir -p "$1" && ln -sfn ../rootfs "$1/rootfs"
	cat >"$1/config.json" <<CONFIG
{
  "ociVersion": "1.0.0",
  "process": {
    "terminal": false,
    "user": {"uid": 107, "gid": 107},
    "args": ["/usr/bin/vfio_probe", "legacy", "--container", "/dev/vfio/vfio", "--group", "$group", "--device", "$EDU"],
    "env": ["PATH=/usr/bin"],
    "cwd": "/",
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "ctr",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}
  ],
  "hooks": $3,
  "annotations": {"org.vfguard.hostdevs": "", "org.vfguard.memory": "64M", "run.oci.hooks.stderr": "$PWD/hooks.err"},
  "linux": {
    "cgroupsPath": "machine.slice:vfgvm:$2",
    "devices": [
      {"path": "/dev/vfio/vfio", "type": "c", "major": 10, "minor": 196},
      {"path": "$group", "type": "c", "major": ${rdev%:*}, "minor": ${rdev#*:}}
    ],
    "resources": {"devices": [
      {"allow": false, "access": "rwm"},
      {"allow": true, "type": "c", "major": 10, "minor": 196, "access": "rw"},
      {"allow": true, "type": "c", "major": ${rdev%:*}, "minor": ${rdev#*:}, "access": "rw"}
    ]},
    "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "network"},
      {"type": "cgroup"}]
  }
}
CONFIG
}
bundle plain ctr0 '{}'
bundle guarded ctr1 "{\"prestart\": [{\"path\": \"$hook\"}], \"poststop\": [{\"path\": \"$hook\"}]}"
crun="$CLIENT_ENV crun --systemd-cgroup"
scope1=/sys/fs/cgroup/machine.slice/vfgvm-ctr1.scope
before=$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio "$group")

# crun alone, in its scope.
check plain-create sh -c "$crun create --no-pivot --bundle $PWD/plain ctr0 >plain.out 2>&1" || show_output plain.out
plain=$($crun state ctr0 >state.json && json_get state.json pid)
scope0=/sys/fs/cgroup/machine.slice/vfgvm-ctr0.scope
expect_eq plain-cgroup "$(cat "/proc/$plain/cgroup")" "0::/machine.slice/vfgvm-ctr0.scope/container"
expect_eq plain-unit "$(systemctl show -p ActiveState --value vfgvm-ctr0.scope)" active
# crun gives systemd the bundle's list (DevicePolicy=strict, DeviceAllow=): systemd's program on the
# scope; and puts a program of its own on the container's cgroup below it.
expect_eq plain-policy "$(systemctl show -p DevicePolicy --value vfgvm-ctr0.scope)" strict
allow0=$(systemctl show -p DeviceAllow vfgvm-ctr0.scope)
expect_match plain-allow-group "$allow0" "DeviceAllow=char-${rdev%:*} rw"
expect_eq plain-scope-programs "$(cgroup_probe programs "$scope0")" 1
expect_eq plain-container-programs "$(cgroup_probe programs "$scope0/container")" 1
# vfguard's plan in that place: where crun's program acts, it refuses and names both programs; on
# the scope, where systemd's program is alone, it takes the DeviceAllow path.
vfguard plan --domain x --uid 107 --gid 107 --set labelers=cgroup --cgroup "$scope0/container" \
	--hostdev "$EDU,backend=legacy" >plan-container.out 2>&1
expect_match plan-container-refused "$(tr '\n' ' ' <plan-container.out | tr -s ' ')" \
	"REFUSED.*program [0-9]+ '' on $scope0/container; program [0-9]+ 'sd_devices' on $scope0 must allow"
vfguard plan --domain x --uid 107 --gid 107 --set labelers=cgroup --cgroup "$scope0" \
	--hostdev "$EDU,backend=legacy" >plan-scope.out 2>&1
expect_match plan-scope-device-allow "$(cat plan-scope.out)" "DeviceAllow=$group rw on vfgvm-ctr0.scope"
check plain-start $crun start ctr0
sleep 1
run_checks -p plain cat plain.out
check plain-delete $crun delete -f ctr0

# With vfguard's hook.
: >hooks.err
check create sh -c "$crun create --no-pivot --bundle $PWD/guarded ctr1 >container.out 2>&1" || {
	show_output container.out
	show_output hooks.err
	exit 1
}
show_output hooks.err
check hook-quiet test ! -s hooks.err
expect_eq group-owner "$(stat -c '%u:%g %a' "$group")" "107:107 600"
expect_eq status-domain "$(vfguard status --json >status.json && json_get status.json domains 0 name)" ctr1
ctr=$($crun state ctr1 >state.json && json_get state.json pid)
expect_eq container-cgroup "$(cat "/proc/$ctr/cgroup")" "0::/machine.slice/vfgvm-ctr1.scope/container"
# crun's list already lets the container in, on both programs: vfguard changes nothing of crun's unit
expect_eq unit-allow-untouched "$(systemctl show -p DeviceAllow vfgvm-ctr1.scope)" "$allow0"
expect_eq memlock-raised "$(memlock_limits "$ctr")" "1140850688 1140850688"
check start $crun start ctr1
i=0
until [ "$($crun state ctr1 >state.json && json_get state.json status)" = stopped ] || [ $i -ge 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
run_checks -p container cat container.out
check delete $crun delete ctr1
show_output hooks.err
check hook-quiet-poststop test ! -s hooks.err
expect_absent scope-gone "$scope1"
check_fails journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
expect_eq group-owner-restored "$(stat -c '%u:%g %a' "$group")" "0:0 600"
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio "$group")"
