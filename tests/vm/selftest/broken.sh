# Harness selftest (tests/vm/run --selftest): a scenario wrong on purpose.
# Its failing check must come back as FAIL with this scenario's log shown.
echo "selftest-marker: the broken scenario's own output"
check sanity true
check deliberately-wrong sh -c 'echo "this check fails on purpose"; exit 3'
