#!/usr/bin/env bash
# Gazetteer benchmark: generate N synthetic addresses (default 1,000,000), build the
# snapshot, open it, run the noisy free-text queries on one thread; prints one JSON object.
#
#   bench/gazetteer/run.sh [N]
#   env: BUILD_DIR (default build-gazetteer), WORK_DIR (default /tmp/deit-gazetteer-bench-N),
#        QUERIES (default 20000), KEEP=1 keeps the generated files and snapshot.
set -euo pipefail
N=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-gazetteer}
WORK=${WORK_DIR:-/tmp/deit-gazetteer-bench-$N}
QUERIES=${QUERIES:-20000}

if [ ! -f "$BUILD/build.ninja" ] && [ ! -f "$BUILD/Makefile" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$BUILD" --target deit-gazetteer gazetteer_bench -j2 >&2
TOOL=$BUILD/gazetteer/deit-gazetteer
BENCH=$BUILD/bench/gazetteer/gazetteer_bench
mkdir -p "$WORK"
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

# /usr/bin/time -f "%e %M": wall seconds and peak resident KiB of each step.
/usr/bin/time -f "%e %M" -o "$WORK/generate.time" \
  "$TOOL" generate --out "$WORK" --addresses "$N" --queries "$QUERIES" --json > "$WORK/generate.json"
/usr/bin/time -f "%e %M" -o "$WORK/build.time" \
  "$TOOL" build --out "$WORK/national.gaz" --custodians "$WORK/custodians.csv" --json "$WORK/abp.csv" > "$WORK/build.json"
"$BENCH" --snapshot "$WORK/national.gaz" --queries "$WORK/queries.tsv" > "$WORK/bench.json"

python3 - "$WORK" "$N" <<'PY'
import json, os, sys
work, n = sys.argv[1], int(sys.argv[2])
gen = json.load(open(f"{work}/generate.json"))
build = json.load(open(f"{work}/build.json"))
bench = json.load(open(f"{work}/bench.json"))
def t(name):
    wall, kib = open(f"{work}/{name}.time").read().split()
    return float(wall), int(kib) / 1024
gw, gm = t("generate"); bw, bm = t("build")
out = {
  "requested_addresses": n, "uprns": build["uprns"], "streets": build["streets"], "postcodes": build["postcodes"],
  "abp_csv_mib": round(os.path.getsize(f"{work}/abp.csv") / 2**20),
  "snapshot_mib": round(build["bytes"] / 2**20),
  "generate_seconds": gw, "build_seconds": bw, "build_peak_rss_mib": round(bm),
  "build_parse_seconds": round(build["load_seconds"], 1), "build_index_seconds": round(build["index_seconds"], 1),
  "load_seconds": bench["load_seconds"], "queries": bench["queries"],
  "cold_queries_per_second": bench["cold_queries_per_second"], "queries_per_second": bench["queries_per_second"],
  "cpu_us_per_query": bench["cpu_us_per_query"], "top1_accuracy": bench["top1_accuracy"],
  "top5_accuracy": bench["top5_accuracy"], "p50_ms": bench["p50_ms"], "p99_ms": bench["p99_ms"],
  "query_rss_mib": bench["rss_mib"], "query_peak_rss_mib": bench["peak_rss_mib"],
}
print(json.dumps(out))
PY
