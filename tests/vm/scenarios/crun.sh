# vfgvm-root: clients
# A real crun (1.21, trixie) runs a container with edu's legacy group and
# vfguard's OCI hook listed in config.json (prestart, poststop: crun runs the
# hooks of config.json itself, it reads no hooks.d). The bundle is rootful
# crun's usual form: linux.devices names /dev/vfio/vfio and the group (crun
# mknods them, 0666, in the container's tmpfs /dev) and linux.resources.devices
# denies all but them (crun compiles its defaults and that list into its BPF
# device program on /sys/fs/cgroup/ID before prestart). crun alone already
# lets the container (uid 107) walk the type1 flow; the hook adds the group's
# claim, its owner on the host and the locked-memory limit, attaches no
# device program of its own beside crun's (docs/hooks.md "crun"), and
# `crun delete` (poststop) leaves the host as before. A bundle whose own
# device list denies the group is refused by the hook at prestart. --no-pivot: the guest's
# root is the initramfs, where pivot_root(2) fails EINVAL.
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
rdev=$(node_rdev "$group")
hook=$(json_get /usr/share/containers/oci/hooks.d/vfguard-hook.json hook path)
check setup-hook-program test -x "$hook" || exit 1

# The rootfs: vfio_probe and the libraries the loader lists for it.
mkdir -p rootfs/usr/bin rootfs/dev rootfs/proc
cp /usr/bin/vfio_probe rootfs/usr/bin/ || exit 1
for lib in $(/lib64/ld-linux-x86-64.so.2 --list /usr/bin/vfio_probe | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do
	mkdir -p "rootfs$(dirname "$lib")" && cp -L "$lib" "rootfs$lib" || exit 1
done
check setup-rootfs chroot rootfs /usr/bin/vfio_probe --help

# bundle DIR HOOKS: config.json in DIR (rootfs shared), with HOOKS as its "hooks" object.
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
  "hooks": $2,
  "annotations": {"org.vfguard.hostdevs": "", "org.vfguard.memory": "64M", "run.oci.hooks.stderr": "$PWD/hooks.err"},
  "linux": {
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
bundle plain '{}'
bundle guarded "{\"prestart\": [{\"path\": \"$hook\"}], \"poststop\": [{\"path\": \"$hook\"}]}"
crun="$CLIENT_ENV crun"
cg=/sys/fs/cgroup/ctr1
before=$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio "$group")

# Without vfguard: crun alone grants the container its nodes (it mknods them 0666 in its /dev and
# its program allows them), so the flow works; the locked-memory limit stays the kernel's default.
check plain-create sh -c "$crun create --no-pivot --bundle $PWD/plain ctr0 >plain.out 2>&1"
plain=$($crun state ctr0 >state.json && json_get state.json pid)
expect_eq plain-memlock-default "$(memlock_limits "$plain")" "8388608 8388608"
expect_eq plain-cgroup-crun-program "$(cgroup_probe programs /sys/fs/cgroup/ctr0)" 1
check plain-start $crun start ctr0
sleep 1
run_checks -p plain cat plain.out
check plain-delete $crun delete -f ctr0

# Denied by vfguard: a bundle whose own device list denies the group would
# leave the container without it whatever vfguard grants; the hook refuses
# it at prestart, naming the entry, and crun creates nothing.
mkdir -p denied && ln -sfn ../rootfs denied/rootfs
sed "s/\"allow\": true, \"type\": \"c\", \"major\": ${rdev%:*}, \"minor\": ${rdev#*:}/\"allow\": false, \"type\": \"c\", \"major\": ${rdev%:*}, \"minor\": ${rdev#*:}/" \
	guarded/config.json >denied/config.json
: >hooks.err
check_fails denied-create sh -c "$crun create --no-pivot --bundle $PWD/denied ctr2 >denied.out 2>&1"
show_output denied.out
expect_match denied-named "$(cat hooks.err)" "linux.resources.devices does not allow $group"
check_fails denied-nothing-left sh -c "$crun state ctr2 >/dev/null 2>&1 || test -e /sys/fs/cgroup/ctr2 || ls /run/vfguard/domains/* 2>/dev/null"
$crun delete -f ctr2 >/dev/null 2>&1

# During: crun create runs prestart; the container waits for crun start.
: >hooks.err
check create sh -c "$crun create --no-pivot --bundle $PWD/guarded ctr1 >container.out 2>&1" || { show_output container.out; show_output hooks.err; exit 1; }
show_output hooks.err
check hook-quiet test ! -s hooks.err
expect_eq group-owner "$(stat -c '%u:%g %a' "$group")" "107:107 600"
expect_eq status-domain "$(vfguard status --json >status.json && json_get status.json domains 0 name)" ctr1
# crun's device program alone on the container's cgroup: vfguard attached none of its own
expect_eq cgroup-crun-program-only "$(cgroup_probe programs "$cg")" 1
ctr=$($crun state ctr1 >state.json && json_get state.json pid)
expect_eq container-cgroup "$(cat "/proc/$ctr/cgroup")" "0::/ctr1"
# 64 MiB of guest memory + memlock_extra 1 GiB (docs/memlock.md)
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
expect_absent cgroup-gone "$cg"
check_fails journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
expect_eq group-owner-restored "$(stat -c '%u:%g %a' "$group")" "0:0 600"
expect_same host-as-before "$before" "$(host_snapshot /sys/fs/cgroup /dev/vfio/vfio "$group")"
