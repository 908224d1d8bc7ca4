# The OCI hook on a real kernel, iommufd: the bundle's linux.devices lists
# edu's cdev /dev/vfio/devices/vfioN (and /dev/iommu), run as hooks-oci runs
# it. prestart gives the cdev to 107:107 and /dev/iommu an ACL entry, makes
# both in the container's tmpfs /dev, allows them to its cgroup and raises its
# locked-memory limit: the container walks the iommufd flow from inside
# (RLIMIT_MODE refused: no CAP_SYS_RESOURCE). poststop, after the container
# died, puts owners and ACL back and leaves the cgroup with no program.
requires iommufd
hooks_d=/usr/share/containers/oci/hooks.d/vfguard-hook.json
check_fails setup-no-config test -e /etc/vfguard/vfguard.conf || exit 1
hook=$(json_get "$hooks_d" hook path)
check setup-hook-installed test -x "$hook" || exit 1
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio* 2>/dev/null)")
check setup-cdev test -c "$cdev" || exit 1
set -- $(stat -c '%t %T' "$cdev")
cdev_major=$((0x$1)) cdev_minor=$((0x$2))
set -- $(stat -c '%t %T' /dev/iommu)
iommu_major=$((0x$1)) iommu_minor=$((0x$2))

# run_hook STATE: the hook as a runtime runs it; prints "exit N, stdout N bytes, stderr N lines".
run_hook() {
	"$hook" <"$1" >hook.out 2>hook.err
	echo "exit $?, stdout $(wc -c <hook.out) bytes, stderr $(wc -l <hook.err) lines"
	show_output hook.err >&2
}
quiet="exit 0, stdout 0 bytes, stderr 0 lines"
mkdir -p bundle/rootfs
cat >bundle/config.json <<EOF
{
  "ociVersion": "1.0.2",
  "root": {"path": "rootfs"},
  "process": {"user": {"uid": 107, "gid": 107}, "args": ["/usr/bin/qemu-system-x86_64"], "cwd": "/"},
  "annotations": {"org.vfguard.hostdevs": "", "org.vfguard.memory": "64M"},
  "linux": {
    "devices": [
      {"path": "/dev/iommu", "type": "c", "major": $iommu_major, "minor": $iommu_minor},
      {"path": "$cdev", "type": "c", "major": $cdev_major, "minor": $cdev_minor}
    ]
  }
}
EOF
# state STATUS [PID]: the container state (runtime-spec runtime.md "State").
state() {
	echo "{\"ociVersion\": \"1.0.2\", \"id\": \"ctr3\", \"status\": \"$1\",${2:+ \"pid\": $2,} \"bundle\": \"$PWD/bundle\", \"annotations\": {\"org.vfguard.hostdevs\": \"\", \"org.vfguard.memory\": \"64M\"}}"
}
cg=/sys/fs/cgroup/ctr3
snapshot() {
	echo "edu driver $(pci_driver "$EDU")"
	stat -c '%n %F %t:%T %u:%g %a' /dev/iommu /dev/vfio /dev/vfio/* /dev/vfio/devices/*
	ls -d /run/vfguard/domains/* /etc/apparmor.d/vfguard/* 2>/dev/null
	echo "programs $(cgroup_probe programs "$cg")"
}

check setup-cgroup mkdir "$cg" || exit 1
# The container, as in hooks-oci: its cgroup, its mount namespace with a tmpfs /dev, root at prestart.
sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare -m --propagation private sh -c \
	"mount -t tmpfs -o mode=0755 tmpfs /dev && exec sleep 600"' _ "$cg" &
ctr=$!
i=0
until grep -q '^tmpfs /dev ' "/proc/$ctr/mounts" 2>/dev/null || [ $i -ge 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
# At prestart the container's process is still the runtime's root, CAP_IPC_LOCK (14) included: whether the
# program will hold it comes from config.json (uid 107, no ambient set: it will not), never from the pid.
expect_eq setup-container-root-ipc-lock "$(awk '/^Uid:/ { print $2 }' "/proc/$ctr/status") \
$(( 0x$(awk '/^CapEff:/ { print $2 }' "/proc/$ctr/status") >> 14 & 1 ))" "0 1" || { kill "$ctr"; exit 1; }
snapshot >before.state
run_checks -p before sh -c 'echo 0 >"$1/cgroup.procs" && exec nsenter -t "$2" -m vfio_probe iommufd \
	--iommu /dev/iommu --cdev "$3" --uid 107 --gid 107 --open-errno iommu=ENOENT --open-errno cdev=ENOENT' \
	_ "$cg" "$ctr" "$cdev"

state created "$ctr" >created.json
expect_eq prestart "$(run_hook created.json)" "$quiet" || { kill "$ctr"; exit 1; }
expect_eq cdev-owner "$(stat -c '%u:%g %a' "$cdev")" "107:107 600"
check status sh -c "vfguard status --json >status.json"
expect_eq status-hostdev "$(json_get status.json domains 0 name) $(json_get status.json domains 0 hostdevs 0 address) $(json_get status.json domains 0 hostdevs 0 backend) $(json_get status.json domains 0 hostdevs 0 access)" \
	"ctr3 $EDU iommufd path"
expect_eq iommu-acl "$(json_get status.json domains 0 grants path=/dev/iommu labeler) $(json_get status.json domains 0 grants path=/dev/iommu state)" \
	"dac granted"
expect_eq iommu-owner-kept "$(stat -c '%u:%g %a' /dev/iommu)" "$(grep '^/dev/iommu ' before.state | cut -d' ' -f6,7)"
expect_eq inside-cdev "$(nsenter -t "$ctr" -m stat -c '%F %t:%T %u:%g %a' "$cdev")" \
	"$(stat -c '%F %t:%T %u:%g %a' "$cdev")"
expect_eq cgroup-program "$(cgroup_probe programs "$cg")" 1
run_checks cgroup_probe open --cgroup "$cg" not-granted-console /dev/console EPERM
expect_eq memlock-raised "$(awk '/^Max locked memory/ { print $4, $5 }' "/proc/$ctr/limits")" "1140850688 1140850688"
run_checks -p container sh -c 'echo 0 >"$1/cgroup.procs" && exec nsenter -t "$2" -m vfio_probe iommufd \
	--iommu /dev/iommu --cdev "$3" --uid 107 --gid 107 --rlimit-set-errno EPERM' _ "$cg" "$ctr" "$cdev"

kill "$ctr"
wait "$ctr" 2>/dev/null
state stopped >stopped.json
expect_eq poststop "$(run_hook stopped.json)" "$quiet"
expect_eq cdev-owner-restored "$(stat -c '%u:%g %a' "$cdev")" "0:0 600"
expect_eq cgroup-program-gone "$(cgroup_probe programs "$cg")" 0
check_fails journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
snapshot >now.state
check poststop-restored diff before.state now.state
# the ACL entry went too: uid 107 is refused /dev/iommu on the host
run_checks -p after vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
check cleanup-cgroup rmdir "$cg"
