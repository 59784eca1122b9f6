#!/bin/sh
# bench/run.sh - tern beside Postfix, Exim and OpenSMTPD; writes bench/RESULTS.md.
#
#   bench/run.sh [phase...]     phases: setup build disk accept memory diskio
#                               fsync relay relaydiag size crosssize callgrind
#                               dane report (default: all but setup, which
#                               runs first whenever a phase starts the peers)
# Environment: ACCEPT_N (messages per acceptance run, 5000), ACCEPT_CAP
# (seconds, 60: smtp-source is stopped by SIGINT then), SIZES (message
# sizes, "1024 102400"), REPS (3), SESSIONS ("1 10 50"), IDLE (plain idle
# sessions, 1000), IDLE_TLS (idle STARTTLS sessions, 200), MEM_MTAS (all),
# DISKIO_N (500), DISKIO_CAP (60), FSYNC_N (500), RELAY_N (500),
# BENCH_ARCHS ("mipsel armhf arm64"; empty: none), BENCH_STATIC_ARCH
# (mipsel; empty: none), DANE_KEYS ("rsa ec"), TERN (binary, build/tern),
# RES (raw results, build/bench/results), REPORT_DIR (RESULTS.md and the
# PNGs, bench/), BENCH_NO_BUILD=1 (no top-level make in `build`).
# Needs root (chroots, port 25 on 127.0.1.x). Not part of `make check`.
set -u
# under `make bench` the top Makefile exports KCONFIG_CONFIG=build/.config
# (and make's own MAKEFLAGS/MAKELEVEL): the builds below (O=build/bench/full,
# tiny, router) must each read their own $(O)/.config, not the default one
unset KCONFIG_CONFIG MAKEFLAGS MFLAGS MAKELEVEL
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
B=$top/build/bench
RES=${RES:-$B/results}
ACCEPT_N=${ACCEPT_N:-5000}
ACCEPT_CAP=${ACCEPT_CAP:-60}
SIZES=${SIZES:-"1024 102400"}
REPS=${REPS:-3}
SESSIONS=${SESSIONS:-"1 10 50"}
IDLE=${IDLE:-1000}
IDLE_TLS=${IDLE_TLS:-200}
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
# 1,000 idle sessions need more descriptors than the usual 1024: as many as
# the hard limit allows, for every MTA (they inherit it) and bench/idle.py
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

log() { echo "bench: $*" >&2; }
# stamps.tsv: phase, when it ran, and which tern binary it measured (report.py
# says "Changed since this run" when build/tern differs from it now)
stamp() {
	printf '%s\t%s\t%s\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
		"$(sha256sum <"$TERN" 2>/dev/null | cut -c1-16)" >>"$RES/stamps.tsv"
}
addr() { case $1 in tern) echo 127.0.1.1;; postfix) echo 127.0.1.2;; exim) echo 127.0.1.3;; opensmtpd) echo 127.0.1.4;; esac; }

# ------------------------------------------------------------ start / stop
# one self-signed RSA 2048 certificate for every MTA's STARTTLS
tls_cert() {
	[ -s "$B/tls/cert.pem" ] && return 0
	mkdir -p "$B/tls"
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=bench \
		-addext "subjectAltName=DNS:tern.bench,DNS:postfix.bench,DNS:exim.bench,DNS:opensmtpd.bench" \
		-keyout "$B/tls/key.pem" -out "$B/tls/cert.pem" 2>/dev/null
	chmod 600 "$B/tls/key.pem"
}
# copy it into a chroot: /etc/bench-tls/{cert,key}.pem, the key owned by $2
tls_install() { # root owner
	tls_cert
	mkdir -p "$1/etc/bench-tls"
	cp "$B/tls/cert.pem" "$B/tls/key.pem" "$1/etc/bench-tls/"
	chmod 600 "$1/etc/bench-tls/key.pem"
	chroot "$1" chown "$2" /etc/bench-tls/key.pem
}
tern_conf() { # queue_only queue_run_interval
	mkdir -p "$B/tern/spool"
	tls_cert
	sed -e "s|@B@|$B|g" -e "s|@QUEUE_ONLY@|$1|" -e "s|@QRI@|$2|" "$here/peers/tern.conf" >"$B/tern/tern.conf"
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
	started=1
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
	started=1
	R=$B/postfix
	cp "$here/peers/postfix-main.cf" "$R/etc/postfix/main.cf"
	tls_install "$R" root
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
	started=1
	R=$B/exim
	cp "$here/peers/exim4.conf" "$R/etc/exim4/exim4.conf"
	tls_install "$R" Debian-exim
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
	started=1
	R=$B/opensmtpd
	cp "$here/peers/smtpd.conf" "$R/etc/smtpd.conf"
	tls_install "$R" root
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
# (their own loop variable: callers loop over $m)
restart_all() {
	for _ra in $MTAS; do stop_$_ra; clean_spool $_ra; done
	for _ra in $MTAS; do start_$_ra; done
}
stop_all() { for _sa in $MTAS; do stop_$_sa; done; }

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

# an earlier `make bench` (before the unset above) generated the bench
# builds' autoconf.h from build/.config: touch their .config to have it
# generated again from their own when its first line names another file
fix_autoconf() { # O directory, relative to the top
	h=$top/$1/include/generated/autoconf.h
	if [ -f "$h" ] && [ -f "$top/$1/.config" ] && ! head -1 "$h" | grep -q "from $1/.config"; then
		log "$1: autoconf.h was generated from another config; regenerating"
		touch "$top/$1/.config"
	fi
	return 0
}
phase_build() {
	if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
		(cd "$top" && make -s -j2) >"$RES/build.log" 2>&1 || log "make failed (see $RES/build.log); using the existing $TERN"
	fi
	if [ ! -e "$B/full/.config" ]; then
		(cd "$top" && make -s O=build/bench/full full_defconfig) >>"$RES/build.log" 2>&1
	fi
	fix_autoconf build/bench/full
	# WERROR=0: see RESULTS.md (maybe-uninitialized in events/event_run.c)
	(cd "$top" && make -s -j2 O=build/bench/full WERROR=0) >>"$RES/build.log" 2>&1 || log "full build failed"
	gcc -O2 -Wall -o "$B/disklimit" "$here/disklimit.c"
}

phase_disk() {
	stamp disk
	: >"$RES/disk.tsv"
	for mode in full datasync nosync; do
		for i in 1 2 3; do
			rm -rf "$B/dl.tmp"
			printf '%s\t%s\n' "$mode" "$("$B/disklimit" "$B/dl.tmp" 3 "$mode")" >>"$RES/disk.tsv"
		done
	done
	rm -rf "$B/dl.tmp"
}

# durable acceptance: ACCEPT_N messages of each size in SIZES per run, at
# most ACCEPT_CAP seconds (smtp-source stopped by SIGINT; such runs are
# marked capped); rate = messages that reached the queue / elapsed time.
# Every (size, mode, sessions) group starts on empty spools and freshly
# started MTAs, the four MTAs interleaved; REPS repetitions.
# accept.tsv: rep mode sessions mta msg/s size accepted seconds capped
#             (and "rep limit 1 disk ops/s" for the disk's serial limit)
phase_accept() {
	stamp accept
	: >"$RES/accept.tsv"
	printf -- '-m %s, cap %s s, -l %s\n' "$ACCEPT_N" "$ACCEPT_CAP" "$(echo $SIZES | sed 's/ / and /g')" >"$RES/accept-params.txt"
	for rep in $(seq 1 "$REPS"); do
		# the disk's serial limit in the same round (the disk is shared and noisy)
		rm -rf "$B/dl.tmp"
		printf '%s\tlimit\t1\tdisk\t%s\n' "$rep" "$("$B/disklimit" "$B/dl.tmp" 3 full)" | tee -a "$RES/accept.tsv" >&2
		rm -rf "$B/dl.tmp"
		for size in $SIZES; do
			for mode in new reuse; do
				d=; [ $mode = reuse ] && d=-d
				for s in $SESSIONS; do
					restart_all
					for m in $MTAS; do
						a=$(count $m)
						t0=$(date +%s.%N)
						timeout -s INT "$ACCEPT_CAP" $SRC $d -s "$s" -m "$ACCEPT_N" -l "$size" -M source.bench \
							-f $FROM -t $TO "$(addr $m):25" >/dev/null 2>>"$RES/smtp-source.err"
						rc=$?
						t1=$(date +%s.%N)
						capped=0; [ $rc = 124 ] && capped=1
						sleep 0.5
						b=$(count $m)
						r=$(echo "$b $a $t0 $t1" | awk '{printf "%.1f", ($1-$2)/($4-$3)}')
						el=$(echo "$t0 $t1" | awk '{printf "%.2f", $2-$1}')
						printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rep" "$mode" "$s" "$m" "$r" \
							"$size" "$((b - a))" "$el" "$capped" | tee -a "$RES/accept.tsv" >&2
					done
				done
			done
		done
	done
	stop_all
	# up to 2 x 3 x 4 x ACCEPT_N messages of 100 KiB: give the space back
	for m in $MTAS; do clean_spool $m; done
}

# "N [error]" from bench/idle.py's output: sessions held
idle_got() { sed -n 's/^ready \([0-9]*\).*/\1/p' "$B/idle.out" | head -1; }
idle_why() {
	w=$(sed -n 's/^ready [0-9]* refused: //p' "$B/idle.out" | head -1)
	[ -n "$w" ] || w=$(tail -1 "$B/idle.out")
	printf '%s' "$w" | tr '\t' ' '
}
# hold N idle sessions (plain|tls) on MTA m, print the memory line, close
idle_run() { # mta kind n
	# idle.out is truncated only once the fifo opens: remove the last run's first
	fifo=$B/idle.fifo; rm -f "$fifo" "$B/idle.out"; : >"$B/idle.out"; mkfifo "$fifo"
	$PY "$here/idle.py" "$(addr $1)" 25 "$3" $([ "$2" = tls ] && echo tls) <"$fifo" >"$B/idle.out" 2>&1 &
	ipid=$!
	exec 9>"$fifo"
	i=0; while ! grep -q ready "$B/idle.out" && kill -0 $ipid 2>/dev/null && [ $i -lt 12000 ]; do sleep 0.1; i=$((i+1)); done
	sleep 2
	got=$(idle_got)
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${got:-0}" "$(mem $1)" "$3" | tee -a "$RES/memory.tsv" >&2
	if [ "${got:-0}" != "$3" ]; then
		printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${got:-0}" "$(idle_why)" >>"$RES/memory-refused.tsv"
		log "$1 $2: $3 sessions asked, ${got:-0} held: $(cat "$B/idle.out")"
	fi
	exec 9>&-; wait $ipid; sleep 2
	printf '%s\tafter\t%s\t%s\t%s\n' "$1" "${got:-0}" "$(mem $1)" "$3" | tee -a "$RES/memory.tsv" >&2
}
# memory.tsv: mta kind sessions rss_kB pss_kB nprocs [asked]
#   kind idle (fresh start, before a plain or tls series), plain, tls, after
phase_memory() {
	stamp memory
	: >"$RES/memory.tsv"; : >"$RES/memory-refused.tsv"
	for m in ${MEM_MTAS:-$MTAS}; do
		# one MTA at a time, freshly started for each series (a heap grown
		# by the plain sessions is not given back to the system)
		for kind in plain tls; do
			stop_all; for x in $MTAS; do clean_spool $x; done
			start_$m; sleep 2
			printf '%s\tidle\t0\t%s\t0\n' "$m" "$(mem $m)" | tee -a "$RES/memory.tsv" >&2
			if [ $kind = plain ]; then ns="50 $IDLE"; else ns="50 $IDLE_TLS"; fi
			for n in $ns; do idle_run $m $kind $n; done
		done
	done
	stop_all
}

# bytes written per accepted message: /proc/PID/io of every process of the
# MTA summed before and after DISKIO_N messages (new session per message,
# 1 KiB, at most DISKIO_CAP seconds). A child's counters are added to its
# parent's when the parent reaps it (kernel/exit.c wait_task_zombie), so
# the difference of the sums also counts the short-lived children (Exim's
# per-connection processes, Postfix's smtpd) as long as their parent is one
# of the MTA's processes; a zombie keeps its counters until then (io_sum
# adds the zombie children). diskio.tsv: mta sessions accepted seconds
# write_bytes cancelled_write_bytes wchar syscw nprocs_before nprocs_after
io_sum() { # mta -> "write_bytes cancelled wchar syscw nprocs"
	# zombies (exited, not yet reaped) keep their counters, readable in
	# /proc/PID/io, but pids() cannot see them (no /proc/PID/root any more):
	# add the zombie children of the MTA's processes
	$PY - $(pids "$1") <<'PYEOF'
import glob, sys
live = set(sys.argv[1:])
zomb = set()
for f in glob.glob("/proc/[0-9]*/stat"):
    try:
        st = open(f).read()
    except OSError:
        continue
    rest = st[st.rindex(")") + 2:].split()
    if rest[0] == "Z" and rest[1] in live:
        zomb.add(f.split("/")[2])
tot = {"write_bytes": 0, "cancelled_write_bytes": 0, "wchar": 0, "syscw": 0}
n = 0
for p in live | zomb:
    try:
        for l in open("/proc/%s/io" % p):
            k, v = l.split(":")
            if k in tot:
                tot[k] += int(v)
        n += 1
    except OSError:
        pass
print(tot["write_bytes"], tot["cancelled_write_bytes"], tot["wchar"], tot["syscw"], n)
PYEOF
}
phase_diskio() {
	stamp diskio
	: >"$RES/diskio.tsv"
	N=${DISKIO_N:-500}
	echo "$N" >"$RES/diskio-params.txt"; echo "${DISKIO_CAP:-60}" >"$RES/diskio-cap.txt"
	for s in 1 10; do
		restart_all
		sleep 1
		for m in $MTAS; do
			a=$(count $m)
			set -- $(io_sum $m)
			w0=$1 c0=$2 x0=$3 y0=$4 n0=$5
			t0=$(date +%s.%N)
			timeout -s INT "${DISKIO_CAP:-60}" $SRC -s $s -m "$N" -l 1024 -M source.bench -f $FROM -t $TO "$(addr $m):25" >/dev/null 2>&1
			t1=$(date +%s.%N)
			sleep 1
			b=$(count $m)
			set -- $(io_sum $m)
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$s" "$((b - a))" \
				"$(echo "$t0 $t1" | awk '{printf "%.1f", $2-$1}')" \
				"$(($1 - w0))" "$(($2 - c0))" "$(($3 - x0))" "$(($4 - y0))" "$n0" "$5" | tee -a "$RES/diskio.tsv" >&2
		done
	done
	stop_all
}

# fsyncs per accepted message: strace on every process of the MTA
phase_fsync() {
	stamp fsync
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
			timeout 300 $SRC -s $s -m "${FSYNC_N:-500}" -l 1024 -M source.bench -f $FROM -t $TO "$(addr $m):25" >/dev/null 2>&1
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
	stamp relay
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
				tls_install "$B/exim" Debian-exim
				sed -i 's/^queue_only = true/queue_only = false/' "$B/exim/etc/exim4/exim4.conf"
				mkdir -p "$B/exim/run/exim4"
				chroot "$B/exim" /usr/sbin/exim4 -bd -q1m -oP /run/exim4/exim.pid; wait_port 127.0.1.3;;
			opensmtpd) cp "$here/peers/smtpd.conf" "$B/opensmtpd/etc/smtpd.conf"
				tls_install "$B/opensmtpd" root
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
	stamp relaydiag
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
	stamp size
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
			fix_autoconf build/bench/$c
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

# sizes per architecture: `make cross-size ARCH=a` (tiny router full
# defconfigs, build/cross-a/NAME) for a in BENCH_ARCHS, and `make cross-static
# ARCH=BENCH_STATIC_ARCH` (router + CONFIG_STATIC, build/cross-a/static).
# Several minutes per architecture. Output lines: "ARCH NAME text=... stripped=..."
phase_crosssize() {
	stamp crosssize
	: >"$RES/crosssize.tsv"
	echo ${BENCH_ARCHS-mipsel armhf arm64} ${BENCH_STATIC_ARCH-mipsel} >"$RES/crosssize-archs.txt"
	for a in ${BENCH_ARCHS-mipsel armhf arm64}; do
		t0=$(date +%s)
		(cd "$top" && timeout "${CROSS_TIMEOUT:-1800}" make -s cross-size ARCH="$a") >"$RES/crosssize-$a.txt" 2>&1 ||
			log "make cross-size ARCH=$a failed (see $RES/crosssize-$a.txt)"
		awk -v a="$a" '$1 == a && $3 ~ /^text=/ {
			split($3, t, "="); split($4, d, "="); split($5, b, "="); split($6, s, "=")
			printf "%s\t%s\t%s\t%s\t%s\t%s\n", a, $2, t[2], d[2], b[2], s[2] }' \
			"$RES/crosssize-$a.txt" | tee -a "$RES/crosssize.tsv" >&2
		log "cross-size $a: $(( $(date +%s) - t0 )) s"
	done
	for a in ${BENCH_STATIC_ARCH-mipsel}; do
		t0=$(date +%s)
		(cd "$top" && timeout "${CROSS_TIMEOUT:-1800}" make -s cross-static ARCH="$a") >"$RES/crossstatic-$a.txt" 2>&1 ||
			log "make cross-static ARCH=$a failed (see $RES/crossstatic-$a.txt)"
		awk -v a="$a" '$1 ~ /^text=/ && $NF ~ /static/ {
			split($1, t, "="); split($2, d, "="); split($3, b, "="); split($4, s, "=")
			printf "%s\tstatic (router + CONFIG_STATIC)\t%s\t%s\t%s\t%s\n", a, t[2], d[2], b[2], s[2] }' \
			"$RES/crossstatic-$a.txt" | tail -1 | tee -a "$RES/crosssize.tsv" >&2
		log "cross-static $a: $(( $(date +%s) - t0 )) s"
	done
}

# instructions for accepting one message: (11 messages - 1 message) / 10
phase_callgrind() {
	stamp callgrind
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

# instructions for one DANE verification: `tern dane verify` under callgrind
# with a chain made here by openssl (CA + leaf, KEYS: rsa = RSA 2048, ec =
# P-256), records 3 1 1 (leaf SPKI), 2 1 1 (CA SPKI), 2 0 1 (CA certificate);
# the baseline is the same command with an unusable record (1 1 1: parsing
# and printing, no verification). dane.tsv: key record Ir_total
# Ir_inclusive_dane_verify verified
dane_chain() { # dir rsa|ec
	case $2 in rsa) kp="-newkey rsa:2048";; ec) kp="-newkey ec -pkeyopt ec_paramgen_curve:P-256";; esac
	mkdir -p "$1"
	openssl req -x509 $kp -nodes -days 3650 -subj /CN=Bench-CA -keyout "$1/ca.key" -out "$1/ca.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null &&
	openssl req $kp -nodes -subj /CN=mx.bench -keyout "$1/leaf.key" -out "$1/leaf.csr" 2>/dev/null &&
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:mx.bench\n' >"$1/leaf.ext" &&
	openssl x509 -req -in "$1/leaf.csr" -CA "$1/ca.pem" -CAkey "$1/ca.key" -CAcreateserial -days 3650 \
		-extfile "$1/leaf.ext" -out "$1/leaf.pem" 2>/dev/null &&
	cat "$1/leaf.pem" "$1/ca.pem" >"$1/chain.pem" || return 1
	spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
	echo "3 1 1 $(spki "$1/leaf.pem")" >"$1/tlsa-311"
	echo "2 1 1 $(spki "$1/ca.pem")" >"$1/tlsa-211"
	echo "2 0 1 $(openssl x509 -in "$1/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)" >"$1/tlsa-201"
	echo "1 1 1 $(spki "$1/leaf.pem")" >"$1/tlsa-none"
}
phase_dane() {
	stamp dane
	: >"$RES/dane.tsv"
	for k in ${DANE_KEYS:-rsa ec}; do
		d=$B/dane/$k; rm -rf "$d"
		dane_chain "$d" $k || { log "dane: openssl could not make the $k chain"; continue; }
		for r in none 311 211 201; do
			out=$RES/callgrind.dane-$k-$r.out
			timeout 300 valgrind --tool=callgrind --callgrind-out-file="$out" \
				"$TERN" dane verify --name mx.bench --tlsa "$(cat "$d/tlsa-$r")" --chain "$d/chain.pem" \
				>"$RES/dane-$k-$r.txt" 2>"$RES/dane-$k-$r.err"
			rc=$?
			tot=$(awk '/^summary:|^totals:/ {print $2; exit}' "$out")
			inc=$(callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
				awk '/[:]dane_verify \[/ {gsub(",", "", $1); print $1; exit}')
			printf '%s\t%s\t%s\t%s\t%s\n' "$k" "$r" "$tot" "${inc:-0}" "$([ $rc = 0 ] && echo yes || echo no)" | tee -a "$RES/dane.tsv" >&2
		done
	done
}

phase_report() {
	{ chroot "$B/postfix" dpkg-query -W -f '${Package} ${Version}\n' postfix
	  chroot "$B/exim" dpkg-query -W -f '${Package} ${Version}\n' exim4-daemon-light
	  chroot "$B/opensmtpd" dpkg-query -W -f '${Package} ${Version}\n' opensmtpd
	  echo "tern $("$TERN" version | head -1)"; } >"$RES/versions.txt" 2>/dev/null
	for f in accept.png memory.png; do [ -e "$B/$f" ] || true; done
	TERN=$TERN $PY "$here/report.py" "$RES" "$here" "$B" "${REPORT_DIR:-$here}"; }

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
phases=${*:-"build disk accept memory diskio fsync relay relaydiag size crosssize callgrind dane report"}
# setup runs first when a phase starts the peers: cheap once the chroots
# exist, and it mounts their /proc /sys /dev (unmounted again at exit).
# Phases that need no peer (build disk size crosssize callgrind dane report)
# leave the chroots and any running MTA alone, so they can run beside
# another bench/run.sh.
started=
chroots=
for p in $phases; do
	case $p in setup|accept|memory|diskio|fsync|relay|relaydiag) chroots=1;; esac
done
if [ -n "$chroots" ]; then
	case " $phases " in *" setup "*) ;; *) phases="setup $phases";; esac
fi
trap '[ -n "$started$chroots" ] && stop_all 2>/dev/null; [ -n "$chroots" ] && umount_chroots' EXIT
# the machine, for the report: not when only the report is made again
if [ "$phases" != report ]; then
	{ date -u; uname -srm; nproc; grep -m1 'model name' /proc/cpuinfo; df -hT "$B" | tail -1
	  echo "open files (RLIMIT_NOFILE) for every MTA: $(ulimit -n)"; } >"$RES/machine.txt" 2>/dev/null
fi
for p in $phases; do
	log "phase $p ($(date -u +%T))"
	phase_$p
done
