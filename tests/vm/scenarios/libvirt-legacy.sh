# vfgvm-root: clients
# A real libvirtd (trixie-backports) starts a paused TCG domain with the managed
# edu hostdev on the legacy backend, with vfguard's hook installed as packaged
# and libvirt's own DAC driver and device cgroup on, as on every host. Before,
# libvirt's QEMU uid cannot open edu's group; while the domain runs, QEMU
# (libvirt-qemu, no capabilities) holds the group and lists 1234:11e8, and
# vfguard's audit of the domain is clean; after `virsh destroy` the uid is
# denied again and the host is exactly as before: owners, modes, xattrs, edu's
# driver, cgroup programs, vfguard's journal. Twice: with libvirt's mount
# namespace (the default: libvirt labels a private copy of the node) and
# without (libvirt labels the host's node too, on top of vfguard's grant,
# remembering the owner it found), the second time for a domain named
# 'vfg legacy-ü'. docs/hooks.md, "Meeting libvirt's own drivers".
requires legacy
libvirt_edu_setup || exit 1
domain=vfg-legacy group=/dev/vfio/$(iommu_group "$EDU")
libvirt_domain $domain "name='vfio'" >domain.xml

libvirt_start || exit 1
libvirt_edu_life "" $domain "$group"
libvirt_stop
# libvirt without its mount namespace (qemu.conf namespaces = []): it labels
# the host's node itself, over vfguard's grant, and restores it at stop.
# This time the domain has a name as people give them, with a space and
# UTF-8, which libvirt takes and the hook once refused (a trial).
libvirt_phase=no-namespace-
domain='vfg legacy-ü'
libvirt_domain "$domain" "name='vfio'" >domain.xml
libvirt_start 'namespaces = [ ]' || exit 1
libvirt_edu_life no-namespace- "$domain" "$group"
libvirt_stop
