# DAC on a real kernel: vfguard apply gives the group node to the hypervisor
# uid, which then opens the group and container and walks the type1 flow;
# another uid gets EACCES throughout; after revoke the node is 0:0 0600 again
# and the hypervisor uid gets EACCES too.
requires legacy
use_vfio_pci "$EDU"
group=/dev/vfio/$(iommu_group "$EDU")
echo "labelers = dac" >dac.conf
run_checks -p before vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid 107 --gid 107 --open-errno group=EACCES
check apply vfguard apply --config "$PWD/dac.conf" --domain vm1 --uid 107 --gid 107 \
	--hostdev "$EDU,backend=legacy" || exit 1
expect_eq group-owner "$(stat -c '%u:%g %a' "$group")" "107:107 600"
run_checks -p hypervisor vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid 107 --gid 107
run_checks -p other-uid vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid 108 --gid 108 --open-errno group=EACCES
check status sh -c "vfguard status --config $PWD/dac.conf --json >status.json"
expect_eq status-domain "$(json_get status.json domains 0 name)" vm1
expect_eq status-grant "$(json_get status.json domains 0 grants path="$group" state)" granted
check revoke vfguard revoke --config "$PWD/dac.conf" --domain vm1 || exit 1
expect_eq group-owner-restored "$(stat -c '%u:%g %a' "$group")" "0:0 600"
run_checks -p after vfio_probe legacy --container /dev/vfio/vfio --group "$group" --device "$EDU" \
	--uid 107 --gid 107 --open-errno group=EACCES
check_fails journal-empty sh -c "ls /run/vfguard/domains/* 2>/dev/null"
