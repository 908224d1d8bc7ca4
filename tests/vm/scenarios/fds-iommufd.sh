# The fd broker on a real kernel, iommufd: vfguard opens /dev/iommu, sets
# RLIMIT_MODE=1 (per-process accounting) before anything exists on it, and
# hands /dev/iommu and the cdev by SCM_RIGHTS to a process that cannot open
# them (uid 65534, in a v1 devices cgroup denying both), which reads
# RLIMIT_MODE 1 back, cannot set it itself (no CAP_SYS_RESOURCE), binds,
# attaches and maps DMA. The exec hand-over works the same. Only after
# vfguard apply: before it, the domain holds nothing and gets no fd.
requires iommufd
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")
socket=/tmp/fds-iommufd.sock
hostdev="$EDU,backend=iommufd,access=fd"

# A hand-written deny, exactly the two nodes (the cgroup labeler is not used here).
cg=/tmp/devcg/fds-iommufd
deny_devices_cgroup "$cg" /dev/iommu "$cdev"
# The fd broker serves only a domain that holds the group: before apply, nothing.
check_fails unapplied-refused sh -c "vfguard exec --domain vm1 --uid 65534 --gid 65534 --hostdev '$hostdev' \
	-- true 2>unapplied.err"
show_output unapplied.err
check unapplied-named grep -q "domain vm1 holds no grant for it; run vfguard apply first" unapplied.err
# fd access: apply claims the group and grants no path access (the receiver checks below still hold).
check apply vfguard apply --set labelers=dac --domain vm1 --uid 65534 --gid 65534 --hostdev "$hostdev" || exit 1
run_checks -p cgroup-denies-root in_cgroup "$cg" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--open-errno iommu=EPERM --open-errno cdev=EPERM
run_checks -p receiver-no-path in_cgroup "$cg" vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
	--uid 65534 --gid 65534 --open-errno iommu=EACCES --open-errno cdev=EACCES

vfguard fds --domain vm1 --uid 65534 --gid 65534 --hostdev "$hostdev" --socket "$socket" --timeout 60 \
	>fds.out 2>fds.err &
server=$!
in_cgroup "$cg" vfio_probe iommufd --recv-socket "$socket" --uid 108 --gid 65534 >other-uid.out 2>&1
show_output other-uid.out
# It connected (the socket was its group's from the start) and was sent nothing.
check other-uid-refused grep -q "FAIL recv-fds no fds came" other-uid.out
run_checks -p receiver in_cgroup "$cg" vfio_probe iommufd --recv-socket "$socket" --uid 65534 --gid 65534 \
	--expect-rlimit-mode 1 --rlimit-set-errno EPERM
check fds-exit wait "$server"
show_output fds.out
check accounting-process grep -q "accounting process" fds.out
check refusal-logged grep -q "refused: uid 108" fds.err

run_checks -p exec vfguard exec --domain vm1 --uid 65534 --gid 65534 --hostdev "$hostdev" -- \
	vfio_probe iommufd --fd iommu=3 --fd cdev=4 --expect-rlimit-mode 1 --rlimit-set-errno EPERM
check revoke vfguard revoke --set labelers=dac --domain vm1
expect_eq qemu-args "$(vfguard qemu-args --domain vm1 --hostdev "$hostdev" | tr '\n' ' ')" \
	"-object iommufd,id=iommufd0,fd=3 -device vfio-pci,host=$EDU,id=hostdev0,iommufd=iommufd0,fd=4 "

# The cdev path's VF token is VFIO_DEVICE_BIND_FLAG_TOKEN, Linux 6.17 and
# later: an older kernel refuses the flag (EINVAL), as the plan says.
case $(uname -r) in
[0-5].* | 6.[0-9].* | 6.1[0-6].*)
	vfio_probe iommufd --iommu /dev/iommu --cdev "$cdev" \
		--vf-token 00112233-4455-6677-8899-aabbccddeeff >vf-token.out 2>&1
	show_output vf-token.out
	check vf-token-bind-flag-refused-before-6.17 grep -q "FAIL bind-iommufd .*VF token.*EINVAL" vf-token.out
	;;
esac
