#!/usr/bin/env bash
# Runs deit-store-bench RUNS times (default 5), printing each run's JSON line and then one
# line of medians. The store's CPU per transfer (its threads only) is the figure to compare
# builds by: it moves far less with this VM's drift than any end-to-end rate.
# Usage: bench/store/run.sh [BUILD_DIR] [TRANSFERS]   (env RUNS, IDS=hash|time-ordered)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
TRANSFERS=${2:-20000}
BIN="$BUILD/bench/store/deit-store-bench"
[ -x "$BIN" ] || { echo "build $BIN first: cmake --build $BUILD --target deit-store-bench" >&2; exit 2; }
lines=()
for _ in $(seq 1 "${RUNS:-5}"); do
  lines+=("$("$BIN" --transfers "$TRANSFERS" --ids "${IDS:-hash}" 2>/dev/null)")
  echo "${lines[-1]}"
done
printf '%s\n' "${lines[@]}" | python3 -c '
import json, statistics, sys
runs = [json.loads(line) for line in sys.stdin]
keys = ["submit_per_s", "submit_store_cpu_us", "ack_per_s", "ack_store_cpu_us", "database_bytes_per_transfer",
        "written_bytes_per_transfer"]
out = {"bench": "store-summary", "runs": len(runs), "transfers": runs[0]["transfers"], "ids": runs[0]["ids"]}
out.update({"median_" + k: statistics.median(r[k] for r in runs) for k in keys})
print(json.dumps(out))'
