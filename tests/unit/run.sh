#!/bin/sh
# run.sh - run cmocka test programs, keeping their output (cmocka prints
# its closing "[  PASSED  ] N test(s)." on stderr), and sum them up.
#   run.sh "RUNNER" PROGRAM...
runner=$1
shift
# a program that hangs (under qemu-user, say) fails instead of stalling CI
tmo=""
command -v timeout >/dev/null 2>&1 && tmo="timeout -k 10 ${UNIT_TIMEOUT:-300}"
pass=0 fail=0 failed=""
for t in "$@"; do
	if $tmo $runner "$t" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $(basename "$t")"
	fi
done
[ -n "$failed" ] && echo "unit: failing programs:$failed"
echo "unit programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
