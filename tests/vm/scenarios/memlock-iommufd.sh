# Locked memory on iommufd, charged per process: the probe sets RLIMIT_MODE=1
# through IOMMU_OPTION while it is still root, then, as another uid without
# CAP_IPC_LOCK and under RLIMIT_MEMLOCK 64 KiB, has its IOAS map of a 1 MiB
# buffer refused with ENOMEM; vfguard apply sets the computed limit on its
# pid (1 MiB guest + 1 MiB extra = 2 MiB, soft and hard) and the map
# succeeds; revoke puts 64 KiB back.
requires iommufd
use_vfio_pci "$EDU"
cdev=/dev/vfio/devices/$(basename "$(ls -d "$EDU_SYS"/vfio-dev/vfio*)")

memlock_limits() {
	awk '/^Max locked memory/ { print $4, $5 }' "/proc/$1/limits"
}

rm -f /tmp/memlock.ready /tmp/memlock.go
mkfifo -m 0666 /tmp/memlock.ready /tmp/memlock.go
memlock_probe iommufd --iommu /dev/iommu --cdev "$cdev" --uid 65534 --gid 65534 \
	--limit 65536 --size 1048576 --ready /tmp/memlock.ready --go /tmp/memlock.go >probe.out 2>&1 &
probe=$!
expect_eq probe-waits "$(cat /tmp/memlock.ready)" limit
expect_eq limit-before "$(memlock_limits "$probe")" "65536 65536"

set -- --set labelers=dac --set memlock_extra=1M --domain vm1 --uid 65534 --gid 65534 --pid "$probe" \
	--memory 1M --hostdev "$EDU,backend=iommufd,access=fd"
plan "$@"
expect_eq plan-required "$(plan_get memlock required)" 2097152
expect_eq plan-suffices "$(plan_get memlock suffices)" false
expect_eq plan-action "$(plan_get memlock action)" raise
expect_eq plan-accounting "$(plan_get memlock iommufd_accounting)" process
vfguard audit --json "$@" >audit.json
expect_eq audit-before "$(json_get audit.json findings labeler=memlock kind)" missing
check apply vfguard apply "$@"
expect_eq limit-raised "$(memlock_limits "$probe")" "2097152 2097152"
vfguard audit --json "$@" >audit.json
expect_eq audit-after "$(json_get audit.json domain)" vm1
check_fails audit-after-no-memlock-finding json_get audit.json findings labeler=memlock kind

echo go >/tmp/memlock.go
expect_eq probe-mapped "$(cat /tmp/memlock.ready)" revoke
check revoke vfguard revoke --set labelers=dac --domain vm1
expect_eq limit-restored "$(memlock_limits "$probe")" "65536 65536"
echo go >/tmp/memlock.go
wait "$probe"
status=$?
run_checks -p probe sh -c "cat probe.out; exit $status"
rm -f /tmp/memlock.ready /tmp/memlock.go
