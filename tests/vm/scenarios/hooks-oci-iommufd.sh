# The OCI hook on a real kernel, iommufd: the bundle's linux.devices lists
# edu's cdev /dev/vfio/devices/vfioN (and /dev/iommu), run as hooks-oci runs
# it. prestart gives the cdev to 107:107 and /dev/iommu an ACL entry, makes
# both in the container's tmpfs /dev, allows them to its cgroup and raises its
# locked-memory limit: the container walks the iommufd flow from inside
# (RLIMIT_MODE refused: no CAP_SYS_RESOURCE). poststop, after the container
# died, puts owners and ACL back and leaves the cgroup with no program.
requires iommufd
hooks_d=/usr/share/containers/oci/hooks.d/vfguard-hook.json
expect_absent setup-no-config /etc/vfguard/vfguard.conf || exit 1
hook=$(json_get "$hooks_d" hook path)
check setup-hook-installed test -x "$hook" || exit 1
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio* 2>/dev/null)")
check setup-cdev test -c "$cdev" || exit 1

oci_bundle bundle "/dev/iommu:$(node_rdev /dev/iommu)" "$cdev:$(node_rdev "$cdev")"
cg=/sys/fs/cgroup/ctr3
snapshot() {
	oci_snapshot "$cg" /dev/iommu /dev/vfio /dev/vfio/* /dev/vfio/devices/*
}

check setup-cgroup mkdir "$cg" || exit 1
# On this hybrid host the container also gets a v1 devices cgroup of its own, as a runtime makes it.
devcg=/tmp/devcg/ctr3
devices_v1_cgroup "$devcg"
# The container, as in hooks-oci: its cgroup, its mount namespace with a tmpfs /dev, root at prestart
# (CAP_IPC_LOCK included: whether the program will hold it comes from config.json, never from the pid).
start_private_dev "$cg" "$devcg"
ctr=$private_dev_pid
expect_prestart_root "$ctr" || { kill "$ctr"; exit 1; }
snapshot >before.state
run_checks -p before in_cgroup "$cg" nsenter -t "$ctr" -m vfio_probe iommufd \
	--iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 --open-errno iommu=ENOENT --open-errno cdev=ENOENT

oci_state ctr3 created bundle "$ctr" >created.json
expect_eq prestart "$(run_hook created.json)" "$quiet" || { kill "$ctr"; exit 1; }
expect_eq cdev-owner "$(stat -c '%u:%g %a' "$cdev")" "107:107 600"
check status sh -c "vfguard status --json >status.json"
expect_eq status-hostdev "$(json_get status.json domains 0 name) $(json_get status.json domains 0 hostdevs 0 address) $(json_get status.json domains 0 hostdevs 0 backend) $(json_get status.json domains 0 hostdevs 0 access)" \
	"ctr3 $EDU iommufd path"
expect_eq iommu-acl "$(json_get status.json domains 0 grants path=/dev/iommu labeler) $(json_get status.json domains 0 grants path=/dev/iommu state)" \
	"dac granted"
expect_eq iommu-owner-kept "$(stat -c '%u:%g %a' /dev/iommu)" "$(grep '^/dev/iommu ' before.state | cut -d' ' -f6,7)"
expect_same_inside inside-cdev "$ctr" "$cdev"
expect_eq cgroup-program "$(cgroup_probe programs "$cg")" 1
run_checks cgroup_probe open --cgroup "$cg" not-granted-console /dev/console EPERM
expect_eq memlock-raised "$(memlock_limits "$ctr")" "1140850688 1140850688"
run_checks -p container in_cgroup "$cg" nsenter -t "$ctr" -m vfio_probe iommufd \
	--iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 --rlimit-set-errno EPERM

oci_poststop "$ctr" ctr3 bundle
expect_eq cdev-owner-restored "$(stat -c '%u:%g %a' "$cdev")" "0:0 600"
expect_eq cgroup-program-gone "$(cgroup_probe programs "$cg")" 0
check_fails journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
unchanged poststop-restored before.state
# the ACL entry went too: uid 107 is refused /dev/iommu on the host
run_checks -p after vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 107 --gid 107 \
	--open-errno iommu=EACCES --open-errno cdev=EACCES
check cleanup-cgroup rmdir "$cg" "$devcg"
