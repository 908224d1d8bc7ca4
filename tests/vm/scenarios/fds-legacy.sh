# The fd broker on a real kernel, legacy: vfguard opens the container and
# the group and hands them by SCM_RIGHTS to a process that cannot open them
# (uid 65534, in a v1 devices cgroup denying both nodes), which walks the
# whole type1 flow and maps DMA. A peer with another uid gets nothing; the
# exec hand-over works the same; a group held open elsewhere is a clear error.
# Only after vfguard apply: before it, the domain holds nothing and gets no fd.
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
socket=/tmp/fds-legacy.sock
hostdev="$EDU,backend=legacy,access=fd"

# A hand-written deny, exactly the two nodes (the cgroup labeler is not used here).
cg=/tmp/devcg/fds-legacy
deny_devices_cgroup "$cg" /dev/vfio/vfio "$group"
# The fd broker serves only a domain that holds the group: before apply, nothing.
check_fails unapplied-refused sh -c "vfguard exec --domain vm1 --uid 65534 --gid 65534 --hostdev '$hostdev' \
	-- true 2>unapplied.err"
show_output unapplied.err
check unapplied-named grep -q "domain vm1 holds no grant for it; run vfguard apply first" unapplied.err
# fd access: apply claims the group and grants no path access (the receiver checks below still hold).
check apply vfguard apply --set labelers=dac --domain vm1 --uid 65534 --gid 65534 --hostdev "$hostdev" || exit 1
run_checks -p cgroup-denies-root in_cgroup "$cg" vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --open-errno container=EPERM --open-errno group=EPERM
run_checks -p receiver-no-path in_cgroup "$cg" vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --uid 65534 --gid 65534 --open-errno container=EPERM --open-errno group=EACCES

vfguard fds --domain vm1 --uid 65534 --gid 65534 --hostdev "$hostdev" --socket "$socket" --timeout 60 \
	>fds.out 2>fds.err &
server=$!
# uid 108 in the hypervisor's group may connect to the 0660 socket; SO_PEERCRED refuses it.
in_cgroup "$cg" vfio_probe legacy --recv-socket "$socket" --device "$EDU" --uid 108 --gid 65534 >other-uid.out 2>&1
show_output other-uid.out
# It connected (the socket was its group's from the start) and was sent nothing.
check other-uid-refused grep -q "FAIL recv-fds no fds came" other-uid.out
run_checks -p receiver in_cgroup "$cg" vfio_probe legacy --recv-socket "$socket" --device "$EDU" \
	--uid 65534 --gid 65534
check fds-exit wait "$server"
show_output fds.out
check fds-handed grep -q "fds handed to pid" fds.out
check refusal-logged grep -q "refused: uid 108" fds.err
check socket-removed test ! -e "$socket"

# exec: vfguard becomes the command, as uid 65534, the fds at 3 and 4.
run_checks -p exec vfguard exec --domain vm1 --uid 65534 --gid 65534 --hostdev "$hostdev" -- \
	vfio_probe legacy --fd container=3 --fd group=4 --device "$EDU"

# A group has one opener at a time: held here, vfguard names the group and the device.
exec 9<>"$group"
check_fails busy-group sh -c "vfguard fds --domain vm1 --uid 65534 --gid 65534 --hostdev '$hostdev' \
	--socket $socket --timeout 5 2>busy.err"
show_output busy.err
check busy-group-named grep -q "IOMMU group $(iommu_group "$EDU") of $EDU is busy" busy.err
exec 9<&-
check busy-group-nothing-left test ! -e "$socket"

check revoke vfguard revoke --set labelers=dac --domain vm1

# The group path's VF token rides in the device name: the kernel parses it and,
# edu being neither PF nor VF, refuses the token (EINVAL) instead of not
# finding the device (ENODEV), which an unparsed name would give.
vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--vf-token 00112233-4455-6677-8899-aabbccddeeff >vf-token.out 2>&1
show_output vf-token.out
check vf-token-in-device-name grep -q "FAIL group-get-device-fd .*vf_token=00112233.*EINVAL" vf-token.out
# vfguard's plan refuses that token first: edu has no physfn and no sriov_totalvfs.
vfguard plan --domain vm2 --uid 107 --gid 107 \
	--hostdev "$EDU,backend=legacy,vf-token=00112233-4455-6677-8899-aabbccddeeff" >token-plan.out 2>token-plan.err
expect_match plan-refuses-token-for-edu "$(cat token-plan.err)" \
	"^vfguard: $EDU: vf-token given, but it is neither an SR-IOV PF nor a VF"
