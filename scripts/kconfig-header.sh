#!/bin/sh
# kconfig-header.sh - turn a complete .config into a C header, with no
# Kconfig tool: firmware build systems hand tern a full .config.
#
#   CONFIG_X=y        ->  #define CONFIG_X 1
#   CONFIG_X="text"   ->  #define CONFIG_X "text"
#   CONFIG_X=123      ->  #define CONFIG_X 123   (also 0x1f, -4)
#   # ... / blank     ->  nothing (unset symbols stay undefined)
# Any other line is an error naming file:line. Use IS_ENABLED() from
# core/kconfig.h to test a bool in C code.
set -eu
cfg=${1:?usage: kconfig-header.sh .config}
awk -v file="$cfg" '
BEGIN { print "/* generated from " file " by scripts/kconfig-header.sh: do not edit */"
	print "#ifndef TERN_AUTOCONF_H"; print "#define TERN_AUTOCONF_H" }
/^[ \t]*(#.*)?$/ { next }
/^CONFIG_[A-Za-z0-9_]+=y$/ { sub(/=y$/, ""); print "#define " $0 " 1"; next }
/^CONFIG_[A-Za-z0-9_]+=m$/ { bad = 1 }
/^CONFIG_[A-Za-z0-9_]+="([^"\\]|\\.)*"$/ { i = index($0, "=");
	print "#define " substr($0, 1, i - 1) " " substr($0, i + 1); next }
/^CONFIG_[A-Za-z0-9_]+=-?(0x[0-9A-Fa-f]+|[0-9]+)$/ { i = index($0, "=");
	print "#define " substr($0, 1, i - 1) " " substr($0, i + 1); next }
{ printf "%s:%d: not a Kconfig line: %s\n", file, NR, $0 > "/dev/stderr"; err = 1; exit 1 }
END { if (err) exit 1; print "#endif" }
' "$cfg"
