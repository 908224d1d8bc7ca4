# The VM's private /dev on a real kernel: a process in its own mount namespace
# (propagation private) with a tmpfs /dev has no VFIO node; vfguard apply with
# its pid makes the container and group there, copies of the host nodes as DAC
# left them, and the hypervisor uid opens them from inside and walks the type1
# flow; revoke takes them (and /dev/vfio) away again. The host's /dev keeps
# its entries throughout.
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
echo "labelers = dac" >dac.conf
# names and inodes of every host entry, as a checksum to keep the result line short
host_entries=$(digest stat -c "%i %n" /dev/* /dev/vfio/*)

start_private_dev
vm=$private_dev_pid
check vm-private-dev grep '^tmpfs /dev ' "/proc/$vm/mounts" || { kill "$vm"; exit 1; }
check vm-no-container-before nsenter -t "$vm" -m sh -c '! test -e /dev/vfio/vfio'

plan --domain vm1 --uid 107 --gid 107 --pid "$vm" --hostdev "$EDU,backend=legacy"
expect_eq plan-namespace-grant "$(plan_get steps labeler=namespace action)" grant
check apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 --pid "$vm" \
	--hostdev "$EDU,backend=legacy" || { kill "$vm"; exit 1; }
expect_same_inside inside-group "$vm" "$group"
expect_same_inside inside-container "$vm" /dev/vfio/vfio
expect_eq inside-group-owner "$(nsenter -t "$vm" -m stat -c '%u:%g %a' "$group")" "107:107 600"
run_checks -p inside nsenter -t "$vm" -m vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --uid 107 --gid 107
expect_eq host-entries-kept "$(digest stat -c "%i %n" /dev/* /dev/vfio/*)" "$host_entries"

check revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || { kill "$vm"; exit 1; }
run_checks -p after nsenter -t "$vm" -m vfio_probe legacy --container /dev/vfio/vfio --group "$group" \
	--device "$EDU" --uid 107 --gid 107 --open-errno container=ENOENT --open-errno group=ENOENT
check vfio-dir-gone nsenter -t "$vm" -m sh -c '! test -e /dev/vfio'
expect_eq host-group-restored "$(stat -c '%u:%g %a' "$group")" "0:0 600"
expect_eq host-entries-after "$(digest stat -c "%i %n" /dev/* /dev/vfio/*)" "$host_entries"
check_fails journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
kill "$vm"
