#!/bin/sh
# Runs adapters_bench 5 times and prints, per format, the median messages/s as one JSON line.
# Usage: bench/adapters/run.sh [build-dir] [seconds-per-format]
set -eu
BUILD=${1:-build}
SECONDS_PER_FORMAT=${2:-2}
BIN="$BUILD/bench/adapters/adapters_bench"
[ -x "$BIN" ] || { echo "build $BIN first: cmake --build $BUILD --target adapters_bench" >&2; exit 2; }
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for run in 1 2 3 4 5; do
  "$BIN" "$SECONDS_PER_FORMAT" >> "$OUT"
done
# Median of the five runs per format (messages_per_second is the 6th field when split on ':' and ',').
for format in $(sed -n 's/.*"format":"\([^"]*\)".*/\1/p' "$OUT" | awk '!seen[$0]++'); do
  grep "\"format\":\"$format\"" "$OUT" |
    sed -n 's/.*"bytes":\([0-9]*\).*"messages_per_second":\([0-9]*\).*/\1 \2/p' | sort -k2 -n |
    awk -v f="$format" '{b=$1; v[NR]=$2} END {printf "{\"bench\":\"adapters\",\"format\":\"%s\",\"bytes\":%d,\"runs\":%d,\"median_messages_per_second\":%d,\"min\":%d,\"max\":%d}\n", f, b, NR, v[int((NR+1)/2)], v[1], v[NR]}'
done
