# Harness selftest: a guest whose kernel panics. The host must report the
# panic, and the scenario that was running, as failures.
check before-panic true
echo c >/proc/sysrq-trigger
check after-panic true
