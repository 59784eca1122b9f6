#!/bin/sh
# cross-deps.sh - install, idempotently, what a cross build and a qemu test
# run of tern for ARCH need on Debian 12, and write the make variables for
# it to OUTDIR/cross.mk.
#
# Usage: ports/debian/cross-deps.sh ARCH OUTDIR
#   ARCH    mipsel | armhf | arm64 (| s390x, big-endian)
#   OUTDIR  the out-of-tree build directory (build/cross-ARCH)
#
# The cross compiler (gcc-TRIPLET), the target's C library
# (libc6-dev-ARCH-cross, under /usr/TRIPLET) and qemu-user come from the
# host's archive. The target's libmbedtls-dev, libuv1-dev, libldns-dev and
# libcmocka-dev come one of two ways (CROSS_METHOD=multiarch|sysroot):
#   multiarch  (default for arm64) dpkg --add-architecture and apt-get
#              install PKG:ARCH, which puts them under /usr/lib/TRIPLET.
#   sysroot    (default for mipsel, armhf and s390x, where libldns-dev:ARCH cannot
#              be co-installed: its libssl-dev:ARCH must be the same version
#              as the host's, and the ports archives lag behind) an apt
#              configuration private to OUTDIR/apt, with the target as its
#              native architecture, fetches the target's package lists and
#              .debs (apt-get download) without enabling the architecture in
#              dpkg; dpkg-deb -x unpacks them into OUTDIR/sysroot.
# Either way an `apt-get update` that fails (a mirror or the security
# archive out of sync for one architecture) is retried and then ignored,
# as long as the lists it needs are there.
set -eu

arch=${1:-}
out=${2:-build/cross-$arch}
case "$arch" in
mipsel) triplet=mipsel-linux-gnu qemu=qemu-mipsel ;;
armhf) triplet=arm-linux-gnueabihf qemu=qemu-arm ;;
arm64) triplet=aarch64-linux-gnu qemu=qemu-aarch64 ;;
# not a router CPU, but Debian 12's one big-endian architecture
s390x) triplet=s390x-linux-gnu qemu=qemu-s390x ;;
*) echo "usage: $0 mipsel|armhf|arm64|s390x OUTDIR" >&2; exit 2 ;;
esac
case "$arch" in
arm64) method=${CROSS_METHOD:-multiarch} ;;
*) method=${CROSS_METHOD:-sysroot} ;;
esac
dev_pkgs="libmbedtls-dev libuv1-dev libldns-dev libcmocka-dev"

SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# wait for other apt users (another install-deps.sh) instead of failing
APT_OPTS="-o DPkg::Lock::Timeout=600 -qq"

say() { echo "cross-deps: $*" >&2; }
installed() {	# PKG...: true when all are installed
	for p in "$@"; do
		st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
		[ "$st" = installed ] || return 1
	done
}
apt_install() {	# PKG...: install what is missing
	missing=""
	for p in "$@"; do
		installed "$p" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	say "installing:$missing"
	# shellcheck disable=SC2086
	$SUDO apt-get $APT_OPTS -y --no-install-recommends \
		-o DPkg::Options::=--path-exclude=/usr/share/doc/* install $missing >/dev/null ||
	{ apt_update && $SUDO apt-get $APT_OPTS -y --no-install-recommends \
		-o DPkg::Options::=--path-exclude=/usr/share/doc/* install $missing >/dev/null; }
}
apt_update() {	# update the lists; failures are retried, then tolerated
	$SUDO apt-get $APT_OPTS update >/dev/null 2>&1 ||
	{ sleep 5; $SUDO apt-get $APT_OPTS update >/dev/null 2>&1; } ||
	say "apt-get update failed twice; going on with the lists there are"
}

# ---- host tools: the cross compiler, the target's libc, qemu, pkg-config
apt_install "gcc-$triplet" "binutils-$triplet" "libc6-dev-$arch-cross" \
	qemu-user pkg-config make python3 python3-kconfiglib

mkdir -p "$out"
out=$(cd "$out" && pwd)

# ---- the target's libraries
if [ "$method" = multiarch ]; then
	if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
		say "enabling the $arch architecture"
		$SUDO dpkg --add-architecture "$arch"
		apt_update
	fi
	want=""
	for p in $dev_pkgs; do want="$want $p:$arch"; done
	# shellcheck disable=SC2086
	if ! installed $want; then
		# without the path-exclude, /usr/share/doc/libldns-dev/* of the
		# two architectures differ and dpkg refuses the second one
		# shellcheck disable=SC2086
		apt_install $want || {
			apt_update
			# shellcheck disable=SC2086
			apt_install $want
		}
	fi
	sysroot=""
	libdir=/usr/lib/$triplet
	pcdir=$libdir/pkgconfig:/usr/share/pkgconfig
else
	sysroot=$out/sysroot
	libdir=$sysroot/usr/lib/$triplet
	pcdir=$libdir/pkgconfig:$sysroot/usr/share/pkgconfig
	stamp=$sysroot/.tern-sysroot
	if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$dev_pkgs" ]; then
		aptdir=$out/apt
		mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/debs"
		: > "$aptdir/status"
		# An apt of our own: ARCH is its native architecture, its lists,
		# cache and (empty) dpkg status are under $aptdir; it reads the
		# system's sources and keyrings. It downloads as root, since the
		# _apt user may not reach $aptdir.
		set -- -o "APT::Architecture=$arch" -o "APT::Architectures=$arch" \
			-o "Dir::State::Lists=$aptdir/lists" \
			-o "Dir::State::status=$aptdir/status" \
			-o "Dir::Cache=$aptdir/cache" \
			-o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" \
			-o APT::Sandbox::User=root -o Debug::NoLocking=1
		say "fetching the $arch package lists into $aptdir"
		tries=0
		until apt-get -qq "$@" update >"$aptdir/update.log" 2>&1; do
			tries=$((tries + 1))
			if [ "$tries" -ge 3 ]; then
				say "apt-get update for $arch failed $tries times; trying with what was fetched:"
				tail -3 "$aptdir/update.log" >&2
				break
			fi
			sleep 5
		done
		# the dependency closure of the -dev packages, less what the
		# cross libc (libc6-dev-ARCH-cross) already provides
		skip=" libc6 libc6-dev libc-dev-bin libgcc-s1 libcrypt1 libcrypt-dev libnsl2 libnsl-dev \
libtirpc3 libtirpc-dev libtirpc-common rpcsvc-proto linux-libc-dev debconf "
		todo=$dev_pkgs seen=" "
		while [ -n "$todo" ]; do
			next=""
			for p in $todo; do
				case "$seen$skip" in *" $p "*) continue ;; esac
				case "$p" in gcc-*-base) continue ;; esac
				seen="$seen$p "
				deps=$(apt-cache "$@" depends --no-recommends --no-suggests \
					--no-conflicts --no-breaks --no-replaces --no-enhances "$p" |
					sed -n 's/^ *|\{0,1\}\(Pre\)\{0,1\}Depends: \([^<][^ ]*\)$/\2/p' |
					sed 's/:.*//' | sort -u)
				next="$next $deps"
			done
			todo=$next
		done
		say "downloading for $arch:$seen"
		rm -f "$aptdir/debs"/*.deb
		# shellcheck disable=SC2086
		(cd "$aptdir/debs" && apt-get -qq "$@" download $seen >/dev/null)
		rm -rf "$sysroot"
		mkdir -p "$sysroot"
		for d in "$aptdir/debs"/*.deb; do
			dpkg-deb -x "$d" "$sysroot"
		done
		# make absolute symbolic links (libfoo.so -> /lib/...) point
		# into the sysroot
		find "$sysroot" -type l | while read -r l; do
			t=$(readlink "$l")
			case "$t" in /*) ln -sfn "$sysroot$t" "$l" ;; esac
		done
		echo "$dev_pkgs" > "$stamp"
	fi
fi

# ---- the make variables for this target
ccdir=/usr/$triplet
{
	echo "# written by ports/debian/cross-deps.sh $arch $out ($method)"
	echo "CROSS_COMPILE := $triplet-"
	echo "CROSS_TRIPLET := $triplet"
	echo "CROSS_SYSROOT := $sysroot"
	echo "export PKG_CONFIG_LIBDIR := $pcdir"
	echo "export PKG_CONFIG_PATH :="
	echo "export PKG_CONFIG_SYSROOT_DIR := $sysroot"
	# GNU make before 4.4 does not hand exported variables to $(shell),
	# where the Makefile calls pkg-config: name them on its command line
	echo "PKG_CONFIG := env PKG_CONFIG_LIBDIR=$pcdir PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR=$sysroot pkg-config"
	if [ -n "$sysroot" ]; then
		echo "CPPFLAGS := -I$sysroot/usr/include -I$sysroot/usr/include/$triplet"
		echo "LDFLAGS := -L$libdir -Wl,-rpath-link=$libdir"
	fi
	# The loader comes from -L (/usr/TRIPLET/lib, libc6-ARCH-cross), and
	# so must libc.so.6: with multiarch, /usr/lib/TRIPLET has libc6:ARCH
	# too, a newer build, and a loader and libc of two builds hang in
	# fork(). LD_LIBRARY_PATH puts the cross libc first.
	echo "QEMU := $qemu"
	echo "RUNNER := $qemu -L $ccdir -E LD_LIBRARY_PATH=$ccdir/lib:$libdir"
} > "$out/cross.mk.tmp"
mv "$out/cross.mk.tmp" "$out/cross.mk"
say "wrote $out/cross.mk"
