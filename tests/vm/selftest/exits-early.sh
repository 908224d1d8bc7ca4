# Harness selftest: a scenario that dies after its first check. The checks
# after it never report; the end marker's status must make that a failure.
check before-exit true
exit 7
check after-exit true
