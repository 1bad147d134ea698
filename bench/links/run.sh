#!/usr/bin/env bash
# Link benchmark: starts a deit-hub with the embedded defaults on random ports (SQLite with
# synchronous=FULL, gazetteer verification, info logging), then runs deit-link-load RUNS
# times: MESSAGES incidents submitted over CURVE links on CONNECTIONS connectors, received
# and acknowledged by one connector. Prints each run's JSON.
# Usage: bench/links/run.sh [BUILD_DIR]   (env: RUNS, MESSAGES, CONNECTIONS)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath "${1:-build}")  # absolute: the hub runs from its own directory
RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-2000}
CONNECTIONS=${CONNECTIONS:-8}
work=$(mktemp -d /tmp/deit-link-bench.XXXXXX)
port=$((20000 + RANDOM % 2000))
sed -e "s#\"listen\": \"127.0.0.1:8443\"#\"listen\": \"127.0.0.1:$port\"#" \
    -e "s#tcp://127.0.0.1:8444#tcp://127.0.0.1:*#" hub/defaults/default-config.json > "$work/hub.json"
(cd "$work" && exec "$BUILD/hub/deit-hub" --config hub.json > stdout.log 2>&1) &
hub=$!
trap 'kill $hub 2>/dev/null; wait $hub 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do grep -q "event=links-listening" "$work/var/deit-hub.log" 2>/dev/null && break; sleep 0.1; done
link=$(grep -o 'event=links-listening endpoint=tcp://[0-9.:]*' "$work/var/deit-hub.log" | cut -d= -f3)
for i in $(seq 1 "$RUNS"); do
  "$BUILD/bench/links/deit-link-load" --link "$link" --certs "$work/var/certs" --messages "$MESSAGES" \
    --connections "$CONNECTIONS" --run "run$i"
done
