# Harness selftest: a guest that hangs. The host's timeout must kill qemu
# and report a failure, with the end of the log.
check before-hang true
echo "selftest-marker: hanging now"
sleep 100000
