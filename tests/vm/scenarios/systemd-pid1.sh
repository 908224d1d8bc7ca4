# vfgvm-root: systemd
# The systemd boot itself: systemd is PID 1, the boot reaches running (or
# degraded, with the failed units in the log), and the system bus answers:
# dbus-daemon owns org.freedesktop.DBus and systemd, connected to it, answers
# a property read over it (the bus vfguard's systemd path will use).
expect_eq pid1-comm "$(cat /proc/1/comm)" systemd
expect_match pid1-exe "$(readlink /proc/1/exe)" '/systemd$'
state=$(timeout 60 systemctl is-system-running --wait 2>&1)
failed=$(systemctl list-units --state=failed --no-legend --plain 2>&1 | awk '{ print $1 }' | tr '\n' ' ')
[ -z "$failed" ] || echo "  | failed units: $failed"
expect_match system-running "$state${failed:+ (failed: $failed)}" '^(running|degraded)'
expect_match manager-version "$(busctl get-property org.freedesktop.systemd1 /org/freedesktop/systemd1 \
	org.freedesktop.systemd1.Manager Version 2>&1)" '^s "252'
expect_match bus-owner-systemd1 "$(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
	GetNameOwner s org.freedesktop.systemd1 2>&1)" '^s ":1\.[0-9]+"$'
expect_eq bus-daemon "$(busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
	GetConnectionUnixProcessID s org.freedesktop.DBus 2>&1)" "u $(systemctl show -p MainPID --value dbus.service)"
expect_eq cgroup2 "$(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts)" cgroup2
# The harness itself runs as a unit of that systemd.
expect_eq harness-unit "$(grep '^0::' /proc/self/cgroup)" 0::/system.slice/vfgvm-scenarios.service
