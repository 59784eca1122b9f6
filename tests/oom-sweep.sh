#!/bin/sh
# oom-sweep.sh - the whole daemon under allocation failure (make oom-check).
#   oom-sweep.sh TERN WORKDIR [MAX]
# TERN is built with -DTERN_ALLOC_FAULT, the sanitizers and alloc_fail.o
# (tests/Kbuild). For N = 1, 2, ... (up to MAX): `tern serve` starts with
# TERN_ALLOC_FAIL=N, so that the Nth allocation after "daemon started"
# fails; swaks sends one message; tern delivers it to tests/integration/
# sink.py; tern is stopped with SIGTERM; then `tern queue run` (no fault)
# delivers what was left. Each N must end cleanly:
#   - tern exits 0 on SIGTERM, no sanitizer report, LeakSanitizer clean;
#   - a message answered 250 is delivered (now or by the queue run);
#   - a message answered 4yz (or a dropped connection) is not delivered,
#     unless it was committed before the failure (counted as a duplicate:
#     the client sends it again; never a loss);
#   - nothing is left in the queue or in tmp/ after the queue run.
# The sweep ends at the first N that the daemon did not reach.
#
# Then the same for `tern send -odq` (TERN_ALLOC_FAIL_CLI=N: the Nth
# allocation of the command fails): it exits 0 with the message queued,
# or EX_TEMPFAIL (75) with nothing queued (the caller keeps the message);
# no sanitizer report; the queue run delivers what was queued.
#
# Then `tern queue run` (TERN_ALLOC_FAIL_CLI=N) on a queued message: it is
# delivered, or stays queued for the next run (which delivers it), never
# lost, sent at most twice.
# OOM_ONLY=serve, send or queue runs one of the three sweeps.
# OOM_FROM=N: start at N (to look at one case). OOM_STICKY=1: every allocation from the Nth on fails. OOM_TLS=1: the
# message comes in over STARTTLS (swaks --tls) and goes out over STARTTLS
# (the sink offers it, with a self-signed certificate made here).
set -u
tern=$1
work=$2
max=${3:-${OOM_MAX:-5000}}
py=${PYTHON:-/usr/bin/python3}
src=$(cd "$(dirname "$0")/.." && pwd)

command -v swaks >/dev/null 2>&1 || { echo "oom-sweep: needs swaks" >&2; exit 2; }
rm -rf "$work"
mkdir -p "$work/sink" || exit 2

ports=$($py -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
lport=$1
sport=$2

tlsconf="" sinktls="" swakstls=""
if [ -n "${OOM_TLS:-}" ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$work/key.pem" -out "$work/cert.pem" -days 2 -subj /CN=mx.test \
		-addext subjectAltName=DNS:mx.test >"$work/openssl.out" 2>&1 ||
		{ echo "oom-sweep: openssl: $(cat "$work/openssl.out")" >&2; exit 2; }
	tlsconf="tls_certificate = $work/cert.pem
tls_privatekey = $work/key.pem"
	sinktls="--tls-cert $work/cert.pem --tls-key $work/key.pem"
	swakstls="--tls"
fi
# shellcheck disable=SC2086
$py "$src/tests/integration/sink.py" --port "$sport" --dir "$work/sink" $sinktls \
	>"$work/sink.out" 2>&1 &
sink=$!
trap 'kill $sink 2>/dev/null; wait $sink 2>/dev/null' EXIT INT TERM
i=0
until grep -q ready "$work/sink.out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 200 ] && { echo "oom-sweep: the sink did not start" >&2; exit 2; }
	sleep 0.05
done

dane=""
"$tern" version 2>/dev/null | grep -q dane && dane="hosts_try_dane ="
export ASAN_OPTIONS="log_path=$work/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

fail() {
	echo "oom-sweep: N=$n: $*" >&2
	echo "oom-sweep: see $run (main.log, swaks, serve.out)" >&2
	exit 1
}

count() { # count DIR - files in DIR
	ls "$1" 2>/dev/null | wc -l | tr -d ' '
}

write_conf() { # the configuration of $run
	cat >"$run/tern.conf" <<EOF
[main]
primary_hostname = mx.test
spool_directory = $run/spool
log_file = $run/main.log
listen = 127.0.0.1:$lport
local_socket = $run/tern.sock
relay_from_hosts = 127.0.0.0/8
queue_run_interval = 1h
$tlsconf
[router smarthost]
hosts = 127.0.0.1:$sport
transport = remote_smtp
[transport remote_smtp]
port = $sport
$dane
EOF
}

sweep_serve() {
	n=$((${OOM_FROM:-1} - 1)) dups=0 refused=0 acked=0
	while [ $n -lt "$max" ]; do
		n=$((n + 1))
		run=$work/run
		rm -rf "$run" "$work"/asan.*
		rm -f "$work"/sink/*
		mkdir -p "$run" && mkdir -m 700 "$run/spool" || exit 2
		write_conf
		TERN_ALLOC_FAIL=$n TERN_ALLOC_FAIL_STICKY=${OOM_STICKY:-0} \
			"$tern" -C "$run/tern.conf" serve >"$run/serve.out" 2>&1 &
		pid=$!
		i=0
		until grep -q "daemon started" "$run/main.log" 2>/dev/null; do
			kill -0 $pid 2>/dev/null || fail "tern serve did not start"
			i=$((i + 1))
			[ $i -gt 400 ] && { kill -KILL $pid; fail "tern serve did not start"; }
			sleep 0.05
		done
		swaks --server "127.0.0.1:$lport" --from alice@example.net \
			--to ok@example.org --header "Subject: oom $n" --body "body of $n" \
			--timeout 20 $swakstls >"$run/swaks" 2>&1
		ok=0
		# swaks: "<-  reply" ("<~  " under TLS), "<** error" ("<~* " under TLS)
		grep -Eq '^<[-~]  250 2\.0\.0 OK id=' "$run/swaks" && ok=1
		if [ $ok = 0 ] && grep -Eq '^<(\*\*|~\*) *5[0-9][0-9]' "$run/swaks"; then
			fail "a permanent (5yz) reply: $(grep -E '^<(\*\*|~\*)' "$run/swaks" | head -1)"
		fi
		# wait for the delivery (it may have been deferred: then the queue
		# run below sends it)
		if [ $ok = 1 ]; then
			i=0
			while [ "$(count "$work/sink")" = 0 ] && [ $i -lt 40 ]; do
				i=$((i + 1))
				sleep 0.05
			done
		fi
		kill -TERM $pid
		i=0
		while kill -0 $pid 2>/dev/null; do
			i=$((i + 1))
			[ $i -gt 600 ] && { kill -KILL $pid; fail "tern serve hangs after SIGTERM"; }
			sleep 0.05
		done
		wait $pid
		rc=$?
		ls "$work"/asan.* >/dev/null 2>&1 && fail "sanitizer report: $(cat "$work"/asan.* | head -30)"
		[ $rc = 0 ] || fail "tern serve exited $rc on SIGTERM: $(tail -5 "$run/serve.out")"
		failed=$(sed -n 's/.*alloc_fail: [0-9]* allocations counted, \([0-9]*\) failed.*/\1/p' \
			"$run/main.log" | tail -1)
		[ -n "$failed" ] || fail "no alloc_fail line in the log"
		before=$(count "$run/spool/queue")
		"$tern" -C "$run/tern.conf" queue run >"$run/queue-run.out" 2>&1 ||
			fail "tern queue run: $(tail -3 "$run/queue-run.out")"
		ls "$work"/asan.* >/dev/null 2>&1 && fail "sanitizer report (queue run): $(cat "$work"/asan.* | head -30)"
		[ "$(count "$run/spool/queue")" = 0 ] || fail "left in the queue: $(ls "$run/spool/queue")"
		[ "$(count "$run/spool/tmp")" = 0 ] || fail "left in tmp/: $(ls "$run/spool/tmp")"
		got=$(count "$work/sink")
		if [ $ok = 1 ]; then
			acked=$((acked + 1))
			[ "$got" -ge 1 ] || fail "acknowledged with 250 but never delivered (lost)"
			[ "$got" -gt 1 ] && dups=$((dups + 1))
		else
			refused=$((refused + 1))
			[ "$got" -gt 1 ] && fail "refused but delivered $got times"
			[ "$got" = 1 ] && dups=$((dups + 1))
		fi
		[ -n "${OOM_VERBOSE:-}" ] && echo "N=$n acked=$ok delivered=$got queued-at-stop=$before failed=$failed"
		if [ "$failed" = 0 ]; then
			[ $ok = 1 ] || fail "the run without a failure did not get 250"
			echo "oom-sweep: $((n - 1)) allocation points of tern serve, all clean" \
				"($acked acknowledged, $refused refused or dropped, $dups duplicate(s))"
			rm -rf "$run"
			return 0
		fi
	done
	echo "oom-sweep: serve: stopped at N=$max (OOM_MAX) without reaching the end" >&2
	exit 1
}

sweep_send() {
	n=$((${OOM_FROM:-1} - 1)) dups=0 refused=0 acked=0
	while [ $n -lt "$max" ]; do
		n=$((n + 1))
		run=$work/run
		rm -rf "$run" "$work"/asan.*
		rm -f "$work"/sink/*
		mkdir -p "$run" && mkdir -m 700 "$run/spool" || exit 2
		write_conf
		printf 'Subject: oom %s\n\nbody of %s\n' $n $n |
			TERN_ALLOC_FAIL_CLI=$n TERN_ALLOC_FAIL_STICKY=${OOM_STICKY:-0} \
			"$tern" -C "$run/tern.conf" send -odq -f alice@example.net ok@example.org \
			>"$run/send.out" 2>&1
		rc=$?
		ls "$work"/asan.* >/dev/null 2>&1 && fail "sanitizer report (send): $(cat "$work"/asan.* | head -30)"
		failed=$(sed -n 's/^alloc_fail: [0-9]* allocations counted, \([0-9]*\) failed.*/\1/p' \
			"$run/send.out" | tail -1)
		[ -n "$failed" ] || fail "no alloc_fail line from tern send: $(tail -3 "$run/send.out")"
		[ "$(count "$run/spool/tmp")" = 0 ] || fail "left in tmp/: $(ls "$run/spool/tmp")"
		queued=$(ls "$run/spool/queue" 2>/dev/null | grep -vc '\.st$')
		case $rc in
		0)	acked=$((acked + 1))
			[ "$queued" = 1 ] || fail "tern send exited 0 but $queued message(s) queued" ;;
		75)	refused=$((refused + 1))
			[ "$queued" = 0 ] || dups=$((dups + 1)) ;;
		*)	fail "tern send exited $rc (not 0 nor EX_TEMPFAIL): $(grep -v '^alloc_fail' "$run/send.out" | tail -3)" ;;
		esac
		"$tern" -C "$run/tern.conf" queue run >"$run/queue-run.out" 2>&1 ||
			fail "tern queue run: $(tail -3 "$run/queue-run.out")"
		ls "$work"/asan.* >/dev/null 2>&1 && fail "sanitizer report (queue run): $(cat "$work"/asan.* | head -30)"
		[ "$(count "$run/spool/queue")" = 0 ] || fail "left in the queue: $(ls "$run/spool/queue")"
		got=$(count "$work/sink")
		[ "$got" = "$queued" ] || fail "$queued queued, $got delivered"
		[ -n "${OOM_VERBOSE:-}" ] && echo "send N=$n rc=$rc queued=$queued failed=$failed"
		if [ "$failed" = 0 ]; then
			[ $rc = 0 ] || fail "the run without a failure exited $rc"
			echo "oom-sweep: $((n - 1)) allocation points of tern send, all clean" \
				"($acked queued, $refused EX_TEMPFAIL, $dups duplicate(s))"
			rm -rf "$run"
			return 0
		fi
	done
	echo "oom-sweep: send: stopped at N=$max (OOM_MAX) without reaching the end" >&2
	exit 1
}

sweep_queue() {
	n=$((${OOM_FROM:-1} - 1)) dups=0 deferred=0 sent=0
	while [ $n -lt "$max" ]; do
		n=$((n + 1))
		run=$work/run
		rm -rf "$run" "$work"/asan.*
		rm -f "$work"/sink/*
		mkdir -p "$run" && mkdir -m 700 "$run/spool" || exit 2
		write_conf
		printf 'Subject: oom %s\n\nbody of %s\n' $n $n |
			"$tern" -C "$run/tern.conf" send -odq -f alice@example.net \
			ok@example.org >"$run/send.out" 2>&1 || fail "tern send: $(tail -3 "$run/send.out")"
		TERN_ALLOC_FAIL_CLI=$n TERN_ALLOC_FAIL_STICKY=${OOM_STICKY:-0} \
			"$tern" -C "$run/tern.conf" queue run >"$run/queue-run.out" 2>&1
		rc=$?
		ls "$work"/asan.* >/dev/null 2>&1 && fail "sanitizer report (queue run): $(cat "$work"/asan.* | head -30)"
		failed=$(sed -n 's/^alloc_fail: [0-9]* allocations counted, \([0-9]*\) failed.*/\1/p' \
			"$run/queue-run.out" | tail -1)
		[ -n "$failed" ] || fail "no alloc_fail line from tern queue run: $(tail -3 "$run/queue-run.out")"
		[ "$(count "$run/spool/tmp")" = 0 ] || fail "left in tmp/: $(ls "$run/spool/tmp")"
		queued=$(ls "$run/spool/queue" 2>/dev/null | grep -vc '\.st$')
		got=$(count "$work/sink")
		case "$got/$queued" in
		1/0) sent=$((sent + 1)) ;;
		0/1|1/1) deferred=$((deferred + 1)) ;;
		*) fail "queue run exited $rc: $got delivered, $queued queued (lost?)" ;;
		esac
		"$tern" -C "$run/tern.conf" queue run >"$run/queue-run2.out" 2>&1 ||
			fail "tern queue run: $(tail -3 "$run/queue-run2.out")"
		ls "$work"/asan.* >/dev/null 2>&1 && fail "sanitizer report (queue run): $(cat "$work"/asan.* | head -30)"
		[ "$(count "$run/spool/queue")" = 0 ] || fail "left in the queue: $(ls "$run/spool/queue")"
		got=$(count "$work/sink")
		[ "$got" -ge 1 ] || fail "never delivered (lost)"
		[ "$got" -gt 1 ] && dups=$((dups + 1))
		[ "$got" -gt 2 ] && fail "delivered $got times"
		[ -n "${OOM_VERBOSE:-}" ] && echo "queue N=$n rc=$rc delivered=$got failed=$failed"
		if [ "$failed" = 0 ]; then
			[ $rc = 0 ] || fail "the run without a failure exited $rc"
			echo "oom-sweep: $((n - 1)) allocation points of tern queue run, all clean" \
				"($sent delivered, $deferred left for the next run, $dups duplicate(s))"
			rm -rf "$run"
			return 0
		fi
	done
	echo "oom-sweep: queue: stopped at N=$max (OOM_MAX) without reaching the end" >&2
	exit 1
}

case ${OOM_ONLY:-} in
serve) sweep_serve ;;
send) sweep_send ;;
queue) sweep_queue ;;
*) sweep_serve && sweep_send && sweep_queue ;;
esac
