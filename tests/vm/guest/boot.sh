# The harness's own checks before any scenario: the kernel, the VFIO modules
# it lacks built in, the IOMMU, and the edu device the scenarios use.
pass kernel "$(uname -r), $(nproc) cpu, lsm $(cat /sys/kernel/security/lsm)"
for module in $VFGVM_MODULES; do
	check "insmod-$(basename "$module" .ko)" insmod "/lib/modules/$(uname -r)/$module"
done
check iommu-enabled sh -c 'ls /sys/class/iommu | grep .'
expect_eq edu-device "$(cat "$EDU_SYS/vendor" "$EDU_SYS/device" 2>&1 | tr '\n' ' ')" "0x1234 0x11e8 "
check edu-iommu-group iommu_group "$EDU"
check vfio-pci-driver test -d /sys/bus/pci/drivers/vfio-pci

# A run with --deb: the clients' root gets vfguard from its Debian packages,
# installed here with dpkg as an administrator would, before any scenario.
# Debian's dpkg, with a PATH without busybox's applets (/vm/bin, first in the
# scenarios' PATH, has dpkg and dpkg-deb applets of its own, which dpkg would run).
if [ -d /vm/debs ]; then
	check install-debs /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/bin/dpkg -i /vm/debs/*.deb
	# shellcheck disable=SC2016 # dpkg-query's format
	expect_eq installed-packages "$(/usr/bin/dpkg-query -W -f='${Package} ${Status}\n' vfguard libvfguard1 vfguard-policy |
		sort | tr '\n' ' ')" "libvfguard1 install ok installed vfguard install ok installed vfguard-policy install ok installed "
	expect_eq installed-cli "$(command -v vfguard)" /usr/bin/vfguard
	expect_eq installed-cli-package "$(/usr/bin/dpkg -S /usr/bin/vfguard)" "vfguard: /usr/bin/vfguard"
	expect_eq installed-libvirt-hook "$(/usr/bin/dpkg -S /etc/libvirt/hooks/qemu.d/vfguard)" \
		"vfguard: /etc/libvirt/hooks/qemu.d/vfguard"
fi
