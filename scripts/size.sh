#!/bin/sh
# size.sh - report the size of a tern binary: text/data/bss and the
# stripped file size; with a baseline file, the difference (bloatcheck).
#   size.sh BINARY "SIZE" "STRIP" [BASELINE]
set -eu
bin=$1 size=$2 strip=$3 base=${4:-}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
$strip -o "$tmp" "$bin"
set -- $($size "$bin" | awk 'NR == 2 { print $1, $2, $3 }')
stripped=$(wc -c < "$tmp" | tr -d ' ')
printf 'text=%s data=%s bss=%s stripped=%s %s\n' "$1" "$2" "$3" "$stripped" "$bin"
if [ -n "$base" ] && [ -f "$base" ]; then
	awk -v t="$1" -v d="$2" -v b="$3" -v s="$stripped" '
	{ for (i = 1; i <= NF; i++) { split($i, kv, "="); old[kv[1]] = kv[2] } }
	END { printf "vs baseline: text %+d data %+d bss %+d stripped %+d\n",
		t - old["text"], d - old["data"], b - old["bss"], s - old["stripped"] }' "$base"
fi
