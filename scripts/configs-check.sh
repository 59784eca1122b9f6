#!/bin/sh
# configs-check.sh - build every defconfig, allnoconfig, allyesconfig and a
# few random configurations warning-free (-Werror), each out of tree, and
# check what the symbols promise:
#   - a build from an existing .config needs no Kconfig tool;
#   - tiny < router < full in stripped size;
#   - `tern version` of tiny does not list dane.
# Usage: configs-check.sh MAKE OUTDIR [RANDCONFIGS]
set -eu
make=${1:-make}
out=${2:-build/configs}
nrand=${3:-4}
jobs="-j$(nproc 2>/dev/null || echo 2)"
fail=0 pass=0

build() {	# name config-target [extra make args]
	name=$1 target=$2
	shift 2
	dir=$out/$name
	rm -rf "$dir"
	if $make -s --no-print-directory O="$dir" KCONFIG_CONFIG="$dir/.config" "$@" "$target" >"$out/$name.log" 2>&1 &&
	   $make -s --no-print-directory O="$dir" KCONFIG_CONFIG="$dir/.config" PYTHON=/nonexistent/python3 WERROR=1 ${BUILD_CFLAGS:+CFLAGS="$BUILD_CFLAGS"} $jobs >>"$out/$name.log" 2>&1; then
		pass=$((pass + 1))
		echo "configs: $name ok ($(sh scripts/size.sh "$dir/tern" "${SIZE:-size}" "${STRIP:-strip}" | sed 's/ [^ ]*$//'))"
	else
		fail=$((fail + 1))
		echo "configs: $name FAILED:"
		tail -20 "$out/$name.log"
	fi
}

mkdir -p "$out"
for c in tiny router full; do
	build "$c" "${c}_defconfig"
done
build allno allnoconfig
# at -O0 nothing is optimised away: the inline stubs of disabled modules
# must stand in for every call
BUILD_CFLAGS="-O0 -g" build allno-O0 allnoconfig
BUILD_CFLAGS="-O0 -g" build tiny-O0 tiny_defconfig
build allyes allyesconfig
i=1
while [ "$i" -le "$nrand" ]; do
	seed=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
	build "rand$i" randconfig SEED="$seed"
	i=$((i + 1))
done

# field NAME KEY: one number of size.sh's report
field() { sh scripts/size.sh "$out/$1/tern" "${SIZE:-size}" "${STRIP:-strip}" | sed "s/.*$2=\([0-9]*\).*/\1/"; }
if [ -x "$out/tiny/tern" ] && [ -x "$out/router/tern" ] && [ -x "$out/full/tern" ]; then
	# Code and data must grow strictly; the stripped file grows in steps
	# of the linker's segment alignment, so it must only never shrink.
	t=$(field tiny text) r=$(field router text) f=$(field full text)
	ts=$(field tiny stripped) rs=$(field router stripped) fs=$(field full stripped)
	if [ "$t" -lt "$r" ] && [ "$r" -lt "$f" ] && [ "$ts" -le "$rs" ] && [ "$rs" -le "$fs" ]; then
		pass=$((pass + 1)); echo "configs: text tiny $t < router $r < full $f (stripped $ts <= $rs <= $fs)"
	else
		fail=$((fail + 1)); echo "configs: sizes out of order: text $t $r $f, stripped $ts $rs $fs"
	fi
	if "$out/tiny/tern" version | grep -qw dane; then
		fail=$((fail + 1)); echo "configs: tiny lists dane"
	else
		pass=$((pass + 1)); echo "configs: tiny does not list dane"
	fi
fi
echo "configs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
