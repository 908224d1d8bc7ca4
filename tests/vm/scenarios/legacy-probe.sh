# The nodes vfguard's legacy plan names are the ones that work: vfio_probe
# opens them and walks the type1 flow; a user without access gets EACCES.
requires legacy
use_vfio_pci "$EDU"
plan --domain vm1 --hostdev "$EDU,backend=legacy"
container=$(plan_get nodes kind=container path)
group=$(plan_get nodes kind=group path)
run_checks vfio_probe legacy --container "$container" --group "$group" --device "$EDU"
run_checks -p nobody vfio_probe legacy --container "$container" --group "$group" --device "$EDU" \
	--uid 65534 --gid 65534 --open-errno group=EACCES
