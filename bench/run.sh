#!/bin/sh
# bench/run.sh - tern beside Postfix, Exim and OpenSMTPD; writes bench/RESULTS.md.
#
#   bench/run.sh [phase...]     phases: (setup, always) build disk accept memory fsync
#                               relay relaydiag size callgrind report
#                               (default: all)
# Environment: DUR (seconds per throughput run, 8), REPS (3), SESSIONS
# ("1 10 50"), IDLE (idle sessions, 200), TERN (binary, build/tern).
# Needs root (chroots, port 25 on 127.0.1.x). Not part of `make check`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
B=$top/build/bench
RES=${RES:-$B/results}
DUR=${DUR:-8}
REPS=${REPS:-3}
SESSIONS=${SESSIONS:-"1 10 50"}
IDLE=${IDLE:-200}
TERN=${TERN:-$top/build/tern}
TERNFULL=$B/full/tern
MTAS="tern postfix exim opensmtpd"
PY=/usr/bin/python3
SRC="env LD_LIBRARY_PATH=$B/postfix/usr/lib/postfix $B/postfix/usr/sbin/smtp-source"
SINK="env LD_LIBRARY_PATH=$B/postfix/usr/lib/postfix $B/postfix/usr/sbin/smtp-sink"
FROM=bench@source.bench
TO=user@example.net
[ -f "$here/run.sh" ] && [ -f "$top/Makefile" ] || { echo "bench/run.sh: cannot find the tree" >&2; exit 1; }
mkdir -p "$RES"

log() { echo "bench: $*" >&2; }
addr() { case $1 in tern) echo 127.0.1.1;; postfix) echo 127.0.1.2;; exim) echo 127.0.1.3;; opensmtpd) echo 127.0.1.4;; esac; }

# ------------------------------------------------------------ start / stop
tern_conf() { # queue_only queue_run_interval
	mkdir -p "$B/tern/spool"
	sed -e "s|@B@|$B|g" -e "s|@QUEUE_ONLY@|$1|" -e "s|@QRI@|$2|" "$here/peers/tern.conf" >"$B/tern/tern.conf"
	if [ ! -s "$B/tern/cert.pem" ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=tern.bench \
			-keyout "$B/tern/key.pem" -out "$B/tern/cert.pem" 2>/dev/null
	fi
}
wait_port() { # addr
	i=0
	while [ $i -lt 100 ]; do
		$PY - "$1" <<'PYEOF' 2>/dev/null && return 0
import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=1)
s.recv(100)
PYEOF
		i=$((i + 1)); sleep 0.1
	done
	log "$1:25 does not answer"; return 1
}
start_tern() { # [binary] [queue_only] [prefix...]
	bin=${1:-$TERN}; qo=${2:-true}
	[ $# -ge 2 ] && shift 2 || set --
	tern_conf "$qo" 1d
	"$@" "$bin" -C "$B/tern/tern.conf" serve >"$B/tern/stdout" 2>&1 &
	echo $! >"$B/tern/pid"
	wait_port 127.0.1.1
}
stop_tern() {
	[ -s "$B/tern/pid" ] || return 0
	pid=$(cat "$B/tern/pid")
	kill "$pid" 2>/dev/null
	i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	rm -f "$B/tern/pid"
}
start_postfix() {
	R=$B/postfix
	cp "$here/peers/postfix-main.cf" "$R/etc/postfix/main.cf"
	# master.cf: the stock one, with smtpd bound to 127.0.1.2 only
	sed -i 's/^smtp      inet/127.0.1.2:smtp inet/' "$R/etc/postfix/master.cf"
	mkdir -p "$R/var/spool/postfix/etc"
	for f in hosts nsswitch.conf resolv.conf services localtime; do
		[ -e "$R/etc/$f" ] && cp "$R/etc/$f" "$R/var/spool/postfix/etc/" 2>/dev/null
	done
	chroot "$R" /usr/sbin/postfix start 2>>"$RES/postfix.err" >&2
	wait_port 127.0.1.2
}
stop_postfix() { chroot "$B/postfix" /usr/sbin/postfix stop 2>/dev/null; sleep 1; }
start_exim() {
	R=$B/exim
	cp "$here/peers/exim4.conf" "$R/etc/exim4/exim4.conf"
	mkdir -p "$R/run/exim4" "$R/var/log/exim4"
	chroot "$R" chown Debian-exim:Debian-exim /run/exim4 /var/log/exim4 /var/spool/exim4
	chroot "$R" /usr/sbin/exim4 -bd -oP /run/exim4/exim.pid 2>>"$RES/exim.err"
	wait_port 127.0.1.3
}
stop_exim() {
	f=$B/exim/run/exim4/exim.pid
	[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	sleep 1; rm -f "$f"
}
start_opensmtpd() {
	R=$B/opensmtpd
	cp "$here/peers/smtpd.conf" "$R/etc/smtpd.conf"
	chroot "$R" /usr/sbin/smtpd 2>>"$RES/opensmtpd.err"
	wait_port 127.0.1.4
	chroot "$R" /usr/sbin/smtpctl pause mta >/dev/null
}
stop_opensmtpd() { # smtpctl 6.8 has no stop: SIGTERM to the processes we started
	p=$(pids opensmtpd); [ -n "$p" ] && kill $p 2>/dev/null; sleep 1; }

clean_spool() {
	case $1 in
	tern) rm -rf "$B/tern/spool";;
	postfix) find "$B/postfix/var/spool/postfix/hold" "$B/postfix/var/spool/postfix/incoming" \
		"$B/postfix/var/spool/postfix/active" "$B/postfix/var/spool/postfix/deferred" \
		"$B/postfix/var/spool/postfix/maildrop" -type f -delete 2>/dev/null;;
	exim) rm -rf "$B/exim/var/spool/exim4/input" "$B/exim/var/spool/exim4/msglog" "$B/exim/var/spool/exim4/db";;
	opensmtpd) rm -rf "$B/opensmtpd/var/spool/smtpd/queue"/* "$B/opensmtpd/var/spool/smtpd/incoming"/* \
		"$B/opensmtpd/var/spool/smtpd/corrupt"/* "$B/opensmtpd/var/spool/smtpd/temporary"/* 2>/dev/null;;
	esac
}
restart_all() {
	for m in $MTAS; do stop_$m; clean_spool $m; done
	for m in $MTAS; do start_$m; done
}
stop_all() { for m in $MTAS; do stop_$m; done; }

# all processes of an MTA
pids() {
	if [ "$1" = tern ]; then cat "$B/tern/pid" 2>/dev/null; return; fi
	# never an empty or / root: that would match every process on the box
	[ -d "$B/$1/etc" ] || return 0
	R=$(cd "$B/$1" && pwd -P) || return 0
	case $R in ""|/) return 0;; esac
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		case $r in "$R"|"$R"/*) echo "${p#/proc/}";; esac
	done
}
# messages in the queue
count() {
	case $1 in
	tern) ls "$B/tern/spool/queue" 2>/dev/null | wc -l;;
	postfix) find "$B/postfix/var/spool/postfix/hold" -type f | wc -l;;
	exim) ls "$B/exim/var/spool/exim4/input" 2>/dev/null | grep -c -- '-H$';;
	opensmtpd) find "$B/opensmtpd/var/spool/smtpd/queue" -mindepth 2 -maxdepth 2 -type d | wc -l;;
	esac
}
# "rss_kB pss_kB nprocs"
mem() {
	n=0; rss=0; pss=0
	for p in $(pids "$1"); do
		set -- $(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' "/proc/$p/smaps_rollup" 2>/dev/null)
		[ $# -eq 2 ] || continue
		rss=$((rss + $1)); pss=$((pss + $2)); n=$((n + 1))
	done
	echo "$rss $pss $n"
}

# ------------------------------------------------------------ phases
phase_setup() { "$here/setup.sh"; }

phase_build() {
	if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
		(cd "$top" && make -s -j2) >"$RES/build.log" 2>&1 || log "make failed (see $RES/build.log); using the existing $TERN"
	fi
	if [ ! -e "$B/full/.config" ]; then
		(cd "$top" && make -s O=build/bench/full full_defconfig) >>"$RES/build.log" 2>&1
	fi
	# WERROR=0: see RESULTS.md (maybe-uninitialized in events/event_run.c)
	(cd "$top" && make -s -j2 O=build/bench/full WERROR=0) >>"$RES/build.log" 2>&1 || log "full build failed"
	gcc -O2 -Wall -o "$B/disklimit" "$here/disklimit.c"
}

phase_disk() {
	: >"$RES/disk.tsv"
	for mode in full datasync nosync; do
		for i in 1 2 3; do
			rm -rf "$B/dl.tmp"
			printf '%s\t%s\n' "$mode" "$("$B/disklimit" "$B/dl.tmp" 3 "$mode")" >>"$RES/disk.tsv"
		done
	done
	rm -rf "$B/dl.tmp"
}

phase_accept() {
	: >"$RES/accept.tsv"
	for rep in $(seq 1 "$REPS"); do
		restart_all
		# the disk's serial limit in the same round (the disk is shared and noisy)
		rm -rf "$B/dl.tmp"
		printf '%s\tlimit\t1\tdisk\t%s\n' "$rep" "$("$B/disklimit" "$B/dl.tmp" 3 full)" | tee -a "$RES/accept.tsv" >&2
		rm -rf "$B/dl.tmp"
		for mode in new reuse; do
			d=; [ $mode = reuse ] && d=-d
			for s in $SESSIONS; do
				for m in $MTAS; do
					a=$(count $m)
					t0=$(date +%s.%N)
					timeout -s INT "$DUR" $SRC $d -s "$s" -m 100000000 -l 1024 -M source.bench \
						-f $FROM -t $TO "$(addr $m):25" >/dev/null 2>>"$RES/smtp-source.err"
					t1=$(date +%s.%N)
					sleep 0.5
					b=$(count $m)
					r=$(echo "$b $a $t0 $t1" | awk '{printf "%.1f", ($1-$2)/($4-$3)}')
					printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$mode" "$s" "$m" "$r" | tee -a "$RES/accept.tsv" >&2
				done
			done
		done
	done
	stop_all
}

phase_memory() {
	: >"$RES/memory.tsv"
	restart_all
	sleep 2
	for m in $MTAS; do
		printf '%s\tidle\t0\t%s\n' "$m" "$(mem $m)" | tee -a "$RES/memory.tsv" >&2
		ns="50 $IDLE"; [ $m = tern ] && ns="$ns ${IDLE_TERN:-1000}"
		for n in $ns; do
			fifo=$B/idle.fifo; rm -f "$fifo"; mkfifo "$fifo"
			$PY "$here/idle.py" "$(addr $m)" 25 "$n" <"$fifo" >"$B/idle.out" 2>&1 &
			ipid=$!
			exec 9>"$fifo"
			i=0; while ! grep -q ready "$B/idle.out" && kill -0 $ipid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
			sleep 1
			printf '%s\tplain\t%s\t%s\n' "$m" "$n" "$(mem $m)" | tee -a "$RES/memory.tsv" >&2
			grep -q ready "$B/idle.out" || log "$m: idle sessions: $(cat "$B/idle.out")"
			exec 9>&-; wait $ipid; sleep 2
			printf '%s\tafter\t%s\t%s\n' "$m" "$n" "$(mem $m)" | tee -a "$RES/memory.tsv" >&2
		done
	done
	# TLS on a fresh tern (the heap of the plain runs is not given back)
	stop_tern; clean_spool tern; start_tern; sleep 1
	printf 'tern\tidle\t0\t%s\n' "$(mem tern)" | tee -a "$RES/memory.tsv" >&2
	for n in 50 $IDLE; do
		fifo=$B/idle.fifo; rm -f "$fifo"; mkfifo "$fifo"
		$PY "$here/idle.py" 127.0.1.1 25 "$n" tls <"$fifo" >"$B/idle.out" 2>&1 &
		ipid=$!
		exec 9>"$fifo"
		i=0; while ! grep -q ready "$B/idle.out" && kill -0 $ipid 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
		sleep 1
		printf 'tern\ttls\t%s\t%s\n' "$n" "$(mem tern)" | tee -a "$RES/memory.tsv" >&2
		grep -q ready "$B/idle.out" || log "tern tls: $(cat "$B/idle.out")"
		exec 9>&-; wait $ipid; sleep 2
		printf 'tern\tafter\t%s\t%s\n' "$n" "$(mem tern)" | tee -a "$RES/memory.tsv" >&2
	done
	stop_all
}

# fsyncs per accepted message: strace on every process of the MTA
phase_fsync() {
	: >"$RES/fsync.tsv"
	restart_all
	for m in $MTAS; do
		for s in 1 10; do
			args=
			for p in $(pids $m); do args="$args -p $p"; done
			strace -f -c -e trace=fsync,fdatasync,sync_file_range,msync -o "$RES/strace-$m-$s.txt" $args &
			spid=$!
			sleep 1
			a=$(count $m)
			$SRC -s $s -m 500 -l 1024 -M source.bench -f $FROM -t $TO "$(addr $m):25" >/dev/null 2>&1
			sleep 1
			b=$(count $m)
			kill -INT $spid; wait $spid 2>/dev/null
			calls=$(awk '$NF ~ /^(fsync|fdatasync|sync_file_range|msync)$/ {c += $4} END {print c+0}' "$RES/strace-$m-$s.txt")
			printf '%s\t%s\t%s\t%s\n' "$m" "$s" "$((b - a))" "$calls" | tee -a "$RES/fsync.tsv" >&2
		done
	done
	stop_all
	# tern's own counters (CONFIG_DEBUG_COUNTERS), 500 messages at 10 sessions
	if [ -x "$TERNFULL" ]; then
		rm -rf "$B/tern/spool"; : >"$B/tern/main.log"
		start_tern "$TERNFULL" true
		$SRC -s 10 -m 500 -l 1024 -M source.bench -f $FROM -t $TO 127.0.1.1:25 >/dev/null 2>&1
		$SRC -s 1 -m 200 -l 1024 -M source.bench -f $FROM -t $TO 127.0.1.1:25 >/dev/null 2>&1
		stop_tern
		grep 'counters:' "$B/tern/main.log" | tail -1 >"$RES/tern-counters.txt"
	fi
}

# relay: RELAY_N (500) messages from smtp-source (10 sessions) until smtp-sink has them all
phase_relay() {
	: >"$RES/relay.tsv"
	N=${RELAY_N:-500}
	for rep in $(seq 1 "$REPS"); do
		for m in $MTAS; do
			for x in $MTAS; do stop_$x; clean_spool $x; done
			$SINK -c -u nobody 127.0.1.9:2525 1000 >"$B/sink.out" 2>&1 &
			kpid=$!
			sleep 0.5
			case $m in
			tern) start_tern "$TERN" false;;
			postfix) start_postfix; chroot "$B/postfix" /usr/sbin/postfix stop >/dev/null 2>&1; sleep 1
				# no HOLD: deliver
				sed -i 's/^smtpd_client_restrictions/#&/' "$B/postfix/etc/postfix/main.cf"
				chroot "$B/postfix" /usr/sbin/postfix start 2>/dev/null; wait_port 127.0.1.2;;
			exim) cp "$here/peers/exim4.conf" "$B/exim/etc/exim4/exim4.conf"
				sed -i 's/^queue_only = true/queue_only = false/' "$B/exim/etc/exim4/exim4.conf"
				mkdir -p "$B/exim/run/exim4"
				chroot "$B/exim" /usr/sbin/exim4 -bd -q1m -oP /run/exim4/exim.pid; wait_port 127.0.1.3;;
			opensmtpd) cp "$here/peers/smtpd.conf" "$B/opensmtpd/etc/smtpd.conf"
				chroot "$B/opensmtpd" /usr/sbin/smtpd; wait_port 127.0.1.4;;
			esac
			t0=$(date +%s.%N)
			timeout 300 $SRC -s 10 -m "$N" -l 1024 -M source.bench -f $FROM -t $TO "$(addr $m):25" >/dev/null 2>&1
			t1=$(date +%s.%N)
			# smtp-sink -c prints a running count on stdout
			i=0
			while [ $i -lt 3000 ]; do
				got=$(tr '\r' '\n' <"$B/sink.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1)
				[ "${got:-0}" -ge "$N" ] && break
				sleep 0.1; i=$((i + 1))
			done
			t2=$(date +%s.%N)
			printf '%s\t%s\t%s\t%s\n' "$rep" "$m" "${got:-0}" \
				"$(echo "$t0 $t1 $t2 ${got:-0}" | awk '{printf "%.2f\t%.2f\t%.1f", $2-$1, $3-$1, $4/($3-$1)}')" | tee -a "$RES/relay.tsv" >&2
			stop_$m
			kill $kpid 2>/dev/null; wait $kpid 2>/dev/null
		done
	done
}

# diagnosis of tern's relay rate: the same relay run with an LD_PRELOAD shim
# that sets TCP_NODELAY on tern's outgoing connections (bench/nodelay.c),
# and with the full_defconfig binary's counters (connections reused)
phase_relaydiag() {
	: >"$RES/relaydiag.tsv"
	gcc -shared -fPIC -O2 -o "$B/nodelay.so" "$here/nodelay.c" -ldl
	N=${RELAY_N:-500}
	for rep in 1 2; do
		for variant in plain nodelay; do
			stop_tern; clean_spool tern; : >"$B/tern/main.log"
			$SINK -c -u nobody 127.0.1.9:2525 1000 >"$B/sink.out" 2>&1 &
			kpid=$!
			sleep 0.5
			if [ $variant = nodelay ]; then
				start_tern "$TERNFULL" false env LD_PRELOAD="$B/nodelay.so"
			else
				start_tern "$TERNFULL" false
			fi
			t0=$(date +%s.%N)
			$SRC -s 10 -m "$N" -l 1024 -M source.bench -f $FROM -t $TO 127.0.1.1:25 >/dev/null 2>&1
			i=0
			while [ $i -lt 1200 ]; do
				got=$(tr '\r' '\n' <"$B/sink.out" | sed -n 's/.*mesg=\([0-9]*\).*/\1/p' | tail -1)
				[ "${got:-0}" -ge "$N" ] && break
				sleep 0.1; i=$((i + 1))
			done
			t2=$(date +%s.%N)
			stop_tern
			kill $kpid 2>/dev/null; wait $kpid 2>/dev/null
			printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$variant" "${got:-0}" \
				"$(echo "$t0 $t2 ${got:-0}" | awk '{printf "%.1f", $3/($2-$1)}')" \
				"$(grep 'counters:' "$B/tern/main.log" | tail -1 | sed 's/.*counters: //')" | tee -a "$RES/relaydiag.tsv" >&2
		done
	done
}

phase_size() {
	: >"$RES/size.tsv"
	t=$(mktemp -d)
	sz() { # label file...
		tot=0
		for f in "$@"; do
			cp "$f" "$t/x"; strip "$t/x" 2>/dev/null
			tot=$((tot + $(stat -c %s "$t/x")))
		done
		echo "$tot"
	}
	printf 'tern (default build)\t%s\n' "$(sz "$TERN")" >>"$RES/size.tsv"
	[ -x "$TERNFULL" ] && printf 'tern (full_defconfig)\t%s\n' "$(sz "$TERNFULL")" >>"$RES/size.tsv"
	for c in tiny router; do
		if [ -e "$top/configs/${c}_defconfig" ]; then
			(cd "$top" && { [ -e "build/bench/$c/.config" ] || make -s O=build/bench/$c ${c}_defconfig; } &&
				make -s -j2 O=build/bench/$c WERROR=0) >>"$RES/build.log" 2>&1 &&
				printf 'tern (%s_defconfig)\t%s\n' "$c" "$(sz "$B/$c/tern")" >>"$RES/size.tsv"
		fi
	done
	P=$B/postfix/usr/lib/postfix/sbin
	printf 'postfix (master smtpd cleanup qmgr trivial-rewrite)\t%s\n' "$(sz $P/master $P/smtpd $P/cleanup $P/qmgr $P/trivial-rewrite)" >>"$RES/size.tsv"
	printf 'postfix private libs (libpostfix-*.so)\t%s\n' "$(sz $B/postfix/usr/lib/postfix/libpostfix-*.so)" >>"$RES/size.tsv"
	printf 'exim (exim4, daemon-light)\t%s\n' "$(sz $B/exim/usr/sbin/exim4)" >>"$RES/size.tsv"
	printf 'opensmtpd (smtpd)\t%s\n' "$(sz $B/opensmtpd/usr/sbin/smtpd)" >>"$RES/size.tsv"
	rm -rf "$t"
	(cd "$top" && make -s size) >"$RES/make-size.txt" 2>&1
}

# instructions for accepting one message: (11 messages - 1 message) / 10
phase_callgrind() {
	: >"$RES/callgrind.tsv"
	for n in 1 11; do
		rm -rf "$B/tern/spool"
		start_tern "$TERN" true valgrind --tool=callgrind --callgrind-out-file="$RES/callgrind.$n.out"
		$SRC -s 1 -m $n -l 1024 -M source.bench -f $FROM -t $TO 127.0.1.1:25 >/dev/null 2>&1
		sleep 1
		stop_tern; sleep 2
		ir=$(awk '/^summary:|^totals:/ {print $2; exit}' "$RES/callgrind.$n.out")
		printf '%s\t%s\n' "$n" "$ir" | tee -a "$RES/callgrind.tsv" >&2
	done
}

phase_report() {
	{ chroot "$B/postfix" dpkg-query -W -f '${Package} ${Version}\n' postfix
	  chroot "$B/exim" dpkg-query -W -f '${Package} ${Version}\n' exim4-daemon-light
	  chroot "$B/opensmtpd" dpkg-query -W -f '${Package} ${Version}\n' opensmtpd
	  echo "tern $("$TERN" version | head -1)"; } >"$RES/versions.txt" 2>/dev/null
	for f in accept.png memory.png; do [ -e "$B/$f" ] || true; done
	$PY "$here/report.py" "$RES" "$here" "$B"; }

# ------------------------------------------------------------ main
# unmount the chroots' /proc /sys /dev at the end: a later `rm -rf build`
# (make distclean) must never walk into the host's /dev
umount_chroots() {
	for r in "$B/postfix" "$B/exim" "$B/opensmtpd"; do
		for m in sys dev proc; do
			mountpoint -q "$r/$m" 2>/dev/null && umount -l "$r/$m"
		done
	done
	return 0
}
trap 'stop_all 2>/dev/null; umount_chroots' EXIT
phases=${*:-"build disk accept memory fsync relay relaydiag size callgrind report"}
# setup always runs first: cheap once the chroots exist, and it mounts their
# /proc /sys /dev (unmounted again at exit)
case " $phases " in *" setup "*) ;; *) phases="setup $phases";; esac
{ date -u; uname -srm; nproc; grep -m1 'model name' /proc/cpuinfo; df -hT "$B" | tail -1; } >"$RES/machine.txt" 2>/dev/null
for p in $phases; do
	log "phase $p ($(date -u +%T))"
	phase_$p
done
