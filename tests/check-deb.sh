#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package (debian/), end to end: built with dpkg-buildpackage -b
# from a copy of the working tree (tracked files as on disk, plus untracked
# ones not ignored; never a build folder), each package's contents checked
# with dpkg-deb -c (binary, library, plugins, hooks, man pages, completion,
# policy, the conffile), lintian over them when it is installed (any error
# or warning fails; an accepted one needs a commented override in debian/),
# then the packages installed with their dependencies into a fresh bookworm
# root (mmdebstrap) where the installed vfguard runs --help and the demo job
# (scripts/demo) on the bundled example host: plan, dry run, apply, status,
# revoke, with the installed plugins.
# As root; scripts/test runs it as its "deb" stage. Ends with
# "deb: N passed, N failed". Logs in build/check-deb/, the run-time packages
# (for tests/vm/run --deb) in build/check-deb/debs/.
#
# The .debs apt downloads for the root are kept in $VFGUARD_DEB_CACHE
# (/var/cache/vfguard-deb), so a second run downloads only what changed.
# Time on the 2-core machine: see the README ("The Debian package").
# shellcheck disable=SC2317 # shellcheck takes what follows a call of finish (exit) for unreachable
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
logs=$top/build/check-deb
cache=${VFGUARD_DEB_CACHE:-/var/cache/vfguard-deb}
passed=0 failed=0

((EUID == 0)) || {
	echo "check-deb: run as root (the build's tests apply on a generated host; mmdebstrap makes the root)" >&2
	exit 2
}

# check NAME COMMAND...: one check; COMMAND's output is shown when it fails.
check() {
	if "${@:2}" >"$logs/check.out" 2>&1; then
		passed=$((passed + 1))
		echo "deb: ok - $1"
	else
		failed=$((failed + 1))
		echo "deb: FAILED - $1"
		sed 's/^/| /' "$logs/check.out" | tail -n 20
	fi
}
finish() {
	echo "deb: $passed passed, $failed failed"
	((failed == 0))
	exit
}

rm -rf "$logs" && mkdir -p "$logs" "$cache"
work=$(mktemp -d /var/tmp/vfguard-deb.XXXXXX) || exit 1
trap 'rm -rf --one-file-system "$work"' EXIT

# The build, from a copy: dpkg-buildpackage writes into the tree and its parent.
version=$(sed -n '1s/^vfguard (\([^)]*\)).*/\1/p' "$top/debian/changelog")
source=$work/vfguard-$version
mkdir -p "$source"
git -C "$top" ls-files -z --cached --others --exclude-standard |
	(cd "$top" && tar --null -T - --ignore-failed-read --warning=no-failed-read -cf -) |
	tar -C "$source" -xf - || exit 1
echo "deb: building with dpkg-buildpackage -b (log $logs/build.log)"
start=$SECONDS
check "dpkg-buildpackage -b -us -uc builds the packages ($logs/build.log)" \
	bash -c "cd '$source' && dpkg-buildpackage -b -us -uc >'$logs/build.log' 2>&1 || { tail -n 30 '$logs/build.log'; false; }"
echo "deb: built in $((SECONDS - start)) s"
((failed == 0)) || finish
# Kept for the VM suite (tests/vm/run --deb DIR), whose real clients' root
# installs them with dpkg: the run-time packages, not the -dev one.
mkdir -p "$logs/debs" && cp "$work"/{vfguard,libvfguard1,vfguard-policy}_"$version"_*.deb "$logs/debs/" || exit 1

# contains PACKAGE PATH...: the package holds each path (a file, or a link to one).
contains() {
	local deb listing path missing=0
	deb=$(echo "$work/$1"_*.deb)
	listing=$(dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }') || return 1
	for path in "${@:2}"; do
		grep -qxF -- "$path" <<<"$listing" || {
			echo "$1: no $path"
			missing=1
		}
	done
	return "$missing"
}
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
plugins=/usr/lib/$multiarch/vfguard/plugins
check "vfguard: the CLI, plugins, hooks, config, boot unit, man pages, completion" contains vfguard \
	/usr/bin/vfguard "$plugins"/vfguard-{dac,cgroup,selinux,apparmor}.so "$plugins"/cgroup/cgroup-v{1,2}.so \
	/usr/sbin/vfguard-libvirt-hook /usr/libexec/vfguard/vfguard-oci-hook /etc/libvirt/hooks/qemu.d/vfguard \
	/usr/share/containers/oci/hooks.d/vfguard-hook.json /etc/vfguard/vfguard.conf \
	/lib/systemd/system/vfguard-restore.service \
	/usr/share/man/man8/vfguard.8.gz /usr/share/man/man8/vfguard-libvirt-hook.8.gz /usr/share/man/man5/vfguard.conf.5.gz \
	/usr/share/bash-completion/completions/vfguard
# dh_installsystemd enables the boot unit (docs/boot.md) and the unit runs the installed CLI.
check "vfguard: vfguard-restore.service is enabled by its postinst and runs /usr/bin/vfguard restore --boot" \
	bash -c "dpkg-deb -e $work/vfguard_*.deb $work/unit-control && grep -q 'deb-systemd-helper.*enable.*vfguard-restore.service' $work/unit-control/postinst && dpkg-deb --fsys-tarfile $work/vfguard_*.deb | tar -xOf - ./lib/systemd/system/vfguard-restore.service | grep -qx 'ExecStart=/usr/bin/vfguard restore --boot'"
check "vfguard: /etc/vfguard/vfguard.conf is a conffile" \
	bash -c "dpkg-deb -e $work/vfguard_*.deb $work/control && grep -qx /etc/vfguard/vfguard.conf $work/control/conffiles"
check "libvfguard1: the library under its soname" contains libvfguard1 \
	"/usr/lib/$multiarch/libvfguard.so.1" "/usr/lib/$multiarch/libvfguard.so.$version"
check "libvfguard1: the soname is libvfguard.so.1" \
	bash -c "dpkg-deb -x $work/libvfguard1_*.deb $work/lib && readelf -d $work/lib/usr/lib/$multiarch/libvfguard.so.$version | grep -F '[libvfguard.so.1]'"
check "libvfguard-dev: headers, the .so link, vfguard.pc" contains libvfguard-dev \
	/usr/include/vfguard/{vfguard,labeler,util}.h "/usr/lib/$multiarch/libvfguard.so" \
	"/usr/lib/$multiarch/pkgconfig/vfguard.pc"
check "vfguard-policy: the SELinux module, the AppArmor abstractions, sample profile and rules directory" contains vfguard-policy \
	/usr/share/selinux/packages/vfguard.pp /etc/apparmor.d/abstractions/vfguard-hypervisor \
	/etc/apparmor.d/abstractions/vfguard-libvirtd /usr/share/vfguard/apparmor/vfguard-example \
	/etc/apparmor.d/vfguard/

if command -v lintian >/dev/null; then
	# Errors and warnings fail; lintian's own "I:" notes are listed in the log only.
	check "lintian: no error or warning ($logs/lintian.log)" bash -c \
		"lintian --allow-root -I $work/vfguard_${version}_*.changes >'$logs/lintian.log' 2>&1; ! grep -E '^[EW]: ' '$logs/lintian.log'"
else
	echo "deb: lintian is not installed (scripts/install-deps installs it): not run"
fi

# The root: bookworm minbase from this host's Debian sources, with the built
# packages and what they depend on installed by apt (mmdebstrap --include).
# shellcheck disable=SC2016 # $(...) is apt's
sources=$(apt-get indextargets --format 'deb $(REPO_URI) $(RELEASE) $(COMPONENT)' \
	'Identifier: Packages' 'Origin: Debian' | sort -u)
root=$work/root
# One --include a .deb: mmdebstrap takes a list with a comma in it for one path.
includes=()
for deb in "$work"/{vfguard,libvfguard1,libvfguard-dev,vfguard-policy}_"$version"_*.deb; do
	includes+=(--include="$deb")
done
echo "deb: installing the packages into a fresh bookworm root (log $logs/root.log)"
start=$SECONDS
# make_root: the root, mmdebstrap's output in root.log. The automount hook
# makes the .debs' folder visible to the chrooted apt (mmdebstrap(1)).
# shellcheck disable=SC2016 # "$1" in a hook is the root, for mmdebstrap's shell
make_root() {
	mmdebstrap --variant=minbase "${includes[@]}" --skip=cleanup/apt/lists \
		--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
		--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
		--setup-hook="sync-in $cache /var/cache/apt/archives/" \
		--customize-hook="sync-out /var/cache/apt/archives $cache" \
		bookworm "$root" - <<<"$sources" >"$logs/root.log" 2>&1 || {
		tail -n 20 "$logs/root.log"
		return 1
	}
}
check "the packages install into a fresh bookworm root with apt ($logs/root.log)" make_root
echo "deb: root made in $((SECONDS - start)) s"
((failed == 0)) || finish

# in_root COMMAND...: COMMAND in the root, as root, with /proc of its own.
in_root() {
	unshare --mount --pid --fork --kill-child chroot "$root" /bin/sh -c \
		'mount -t proc proc /proc && exec "$@"' sh "$@"
}
# shellcheck disable=SC2016 # dpkg-query's format
check "dpkg in the root: every package installed" in_root dpkg-query -W -f='${Status}\n' \
	vfguard libvfguard1 libvfguard-dev vfguard-policy
export root
export -f in_root
check "the installed vfguard --help lists its commands" bash -c 'in_root vfguard --help | grep -q "^  plan "'

# The demo job (scripts/demo) with the installed CLI and plugins, on the
# bundled example host made by the build's vfguard-mkhost (a test program,
# never installed) into the root's /tmp.
mkhost=$source/obj-$multiarch/hosttree/vfguard-mkhost
host=/tmp/host
check "the example host is made in the root" "$mkhost" "$top/examples/hosts/gpu-server.host" "$root$host"
domain=(--root "$host" --domain gpu-vm --uid 64055 --gid 64055)
check "installed: plan (every installed labeler loads)" \
	in_root vfguard plan "${domain[@]}" --hostdev 0000:41:00.0 --hostdev 0000:41:00.1
check "installed: apply --dry-run" \
	in_root vfguard apply --dry-run "${domain[@]}" --hostdev 0000:41:00.0 --hostdev 0000:41:00.1,access=fd
mkdir -p "$root$host/etc/vfguard" && echo "labelers = dac" >"$root$host/etc/vfguard/vfguard.conf"
# owner_of PATH: the owner's uid of PATH in the example host.
owner_of() { stat -c %u "$root$host$1"; }
check "installed: apply (DAC)" \
	in_root vfguard apply "${domain[@]}" --hostdev 0000:41:00.0 --hostdev 0000:41:00.1
check "installed: apply handed /dev/vfio/devices/vfio0 to uid 64055" test "$(owner_of /dev/vfio/devices/vfio0)" = 64055
check "installed: status names the domain" bash -c "in_root vfguard status --root $host | grep -q 'gpu-vm'"
check "installed: revoke" in_root vfguard revoke --root "$host" --domain gpu-vm
check "installed: revoke gave /dev/vfio/devices/vfio0 back to root" test "$(owner_of /dev/vfio/devices/vfio0)" = 0
# What vfguard-restore.service runs, in the root as at boot (its /proc gives the boot id).
check "installed: restore --boot names the running boot" \
	bash -c "in_root vfguard restore --boot | grep -qx \"boot \$(cat /proc/sys/kernel/random/boot_id)\""
finish
