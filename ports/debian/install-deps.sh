#!/bin/sh
# install-deps.sh - install, idempotently and quietly, every Debian package
# that building and testing tern needs.
#
# Usage: ports/debian/install-deps.sh [build|kconfig|check|all]
#   build  the compiler, make and the libraries tern links (default)
#   kconfig python3-kconfiglib, for the config targets
#   check  build + cmocka, clang, Kconfig tools and the real peers the
#          integration tests drive (swaks, aiosmtpd, openssl; nsd, unbound,
#          ldnsutils and dig for the signed DNS zones, sqlite3 for the event hook example;
#          valgrind for make valgrind-check)
# Runs apt-get only when a package is missing; needs root (or sudo) then.
set -eu

set_build="gcc make libc6-dev pkg-config libuv1-dev libmbedtls-dev libldns-dev"
set_check="$set_build libcmocka-dev clang libclang-rt-14-dev python3 python3-kconfiglib \
python3-aiosmtpd swaks openssl procps nsd unbound ldnsutils bind9-dnsutils sqlite3 valgrind"

case "${1:-build}" in
kconfig) want="python3 python3-kconfiglib" ;;
build) want=$set_build ;;
check|all) want=$set_check ;;
*) echo "usage: $0 [build|kconfig|check|all]" >&2; exit 2 ;;
esac

# Installed for the build machine's architecture (or "all"): with the
# foreign architectures of a cross build a -dev package has one line per
# architecture, and another architecture's copy does not count.
arch=$(dpkg --print-architecture)
missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Architecture} ${db:Status-Status}\n' "$p" 2>/dev/null |
		awk -v a="$arch" '($1 == a || $1 == "all") && $2 == "installed" { print $2; exit }' || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "install-deps: missing:$missing (run as root or install sudo)" >&2
		exit 1
	}
	SUDO=sudo
fi
echo "install-deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# An update that fails (a mirror out of sync) is retried once; install
# may still work from the lists already there.
$SUDO apt-get -qq update >/dev/null 2>&1 || $SUDO apt-get -qq update >/dev/null 2>&1 || true
# shellcheck disable=SC2086
$SUDO apt-get -qq -y --no-install-recommends install $missing >/dev/null
