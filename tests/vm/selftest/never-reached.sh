# Harness selftest: runs after the hang or the panic, so never: the host
# must report it as a failure, not forget it.
check unreachable true
