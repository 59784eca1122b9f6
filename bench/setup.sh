#!/bin/sh
# bench/setup.sh - idempotent: host tools, one debootstrap chroot per peer MTA.
# Chroots live in build/bench/<peer>; configs from bench/peers/ are copied in.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
B=${BENCH_DIR:-$top/build/bench}
mkdir -p "$B"

need=""
for p in debootstrap:debootstrap gnuplot:gnuplot-nox strace:strace valgrind:valgrind openssl:openssl; do
	command -v "${p%%:*}" >/dev/null 2>&1 || need="$need ${p#*:}"
done
if [ -n "$need" ]; then
	echo "setup: apt-get install$need"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need >/dev/null
fi

# the archive the host's apt uses (deb822 URIs: or one-line deb)
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
	awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit} /^deb / && $0 ~ /debian\/? bookworm/ {for(i=2;i<=NF;i++) if ($i ~ /^http/) {print $i; exit}}')
mirror=${mirror:-http://deb.debian.org/debian}

base="$B/base"
if [ ! -e "$base/.done" ]; then
	rm -rf "$base"
	echo "setup: debootstrap bookworm from $mirror"
	debootstrap --variant=minbase bookworm "$base" "$mirror" >"$B/debootstrap.log" 2>&1
	touch "$base/.done"
fi

umount_all() { # $1 = root
	for m in sys dev/pts dev proc; do
		mountpoint -q "$1/$m" 2>/dev/null && umount -l "$1/$m" || true
	done
}
mount_all() {
	for m in proc sys dev; do
		mkdir -p "$1/$m"
		mountpoint -q "$1/$m" || mount --bind "/$m" "$1/$m"
	done
}

mk() { # name packages...
	name=$1; shift
	r="$B/$name"
	if [ ! -e "$r/.done" ]; then
		umount_all "$r" 2>/dev/null || true
		rm -rf --one-file-system "$r"
		cp -a --one-file-system "$base" "$r"
		rm -f "$r/.done"
		cp /etc/resolv.conf "$r/etc/resolv.conf" 2>/dev/null || true
		printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d"; chmod +x "$r/usr/sbin/policy-rc.d"
		mount_all "$r"
		echo "setup: installing $* in $name"
		chroot "$r" sh -c "echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections;
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $*" >"$B/$name-install.log" 2>&1
		touch "$r/.done"
	fi
	mount_all "$r"
	printf '127.0.0.1 localhost\n127.0.1.1 tern.bench\n127.0.1.2 postfix.bench\n127.0.1.3 exim.bench\n127.0.1.4 opensmtpd.bench\n127.0.1.9 nowhere.bench\n' >"$r/etc/hosts"
	printf 'hosts: files\n' >"$r/etc/nsswitch.conf.bench"
	grep -q '^hosts: *files$' "$r/etc/nsswitch.conf" 2>/dev/null || sed -i 's/^hosts:.*/hosts: files/' "$r/etc/nsswitch.conf"
	# OpenSMTPD resolves with its own resolver (libasr), which ignores
	# nsswitch.conf and asks DNS before /etc/hosts ("lookup bind file"): its
	# reverse lookup of 127.0.0.1 then waited up to 5 s (the resolver's
	# timeout) before the banner. /etc/hosts first, as for the others
	# (glibc ignores the keyword).
	if [ "$name" = opensmtpd ]; then
		grep -q '^lookup' "$r/etc/resolv.conf" 2>/dev/null || printf '\nlookup file bind\n' >>"$r/etc/resolv.conf"
	fi
}

mk postfix postfix
mk exim exim4-daemon-light
mk opensmtpd opensmtpd
echo "setup: ok"
