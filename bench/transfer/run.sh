#!/usr/bin/env bash
# Transfer benchmark: starts a deit-hub on loopback (SQLite, synchronous=FULL, mutual TLS,
# the gazetteer sample, info-level logging to a file), then runs deit-load RUNS times for
#   max:   MESSAGES incidents on CONNECTIONS connections as fast as they go
#   paced: 1,000 incidents/s offered for PACED_SECONDS seconds on PACED_CONNECTIONS
#   offered: SUSTAINED_RATE incidents/s offered (open loop, the 5,000 /s target) for
#            PACED_SECONDS seconds on SUSTAINED_CONNECTIONS: does the hub keep up with a
#            rate it is not allowed to slow down, as a closed loop lets it?
# and prints every run's JSON (with the hub's CPU time per transfer added) plus a summary
# line of medians.
# 32 connections by default: a regional hub serves some 40 control rooms (forces, fire and
# rescue services, ambulance trusts), each sending on its own connection. Each deit-load
# connection waits for "received" before its next submit, so with few connections the
# paced run measures the load generator's queue rather than the hub.
# Usage: bench/transfer/run.sh [BUILD_DIR]
#   env: RUNS, MESSAGES, CONNECTIONS, PACED_SECONDS, PACED_CONNECTIONS, SUSTAINED_RATE,
#        SUSTAINED_CONNECTIONS (SUSTAINED_RATE=0 skips that run), ACCEPTANCE_DEADLINES=default,
#        COMMIT_INTERVAL_MS, IO_THREADS
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=$(realpath "${1:-build}")  # absolute: the hub runs from its own directory
RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-20000}
CONNECTIONS=${CONNECTIONS:-32}
PACED_CONNECTIONS=${PACED_CONNECTIONS:-32}
PACED_SECONDS=${PACED_SECONDS:-10}
SUSTAINED_RATE=${SUSTAINED_RATE:-5000}
# Enough senders that an open loop at this rate never waits for a free connection
# (at this load each answer takes 30 to 50 ms, so 128 senders could offer only about 4,500 /s).
SUSTAINED_CONNECTIONS=${SUSTAINED_CONNECTIONS:-256}
work=$(mktemp -d /tmp/deit-bench.XXXXXX)
port=$((18000 + RANDOM % 2000))
sed -e "s#\"listen\": \"127.0.0.1:8443\"#\"listen\": \"127.0.0.1:$port\"#" \
    -e "s#tcp://127.0.0.1:8444#tcp://127.0.0.1:*#" hub/defaults/default-config.json > "$work/hub.json"
# deit-load acknowledges every delivery but never accepts a transfer, as no operator is at
# the receiving end. With the embedded acceptance deadlines (60 s for an emergency) the hub
# would, from the first minute on, declare up to 64 transfers a second overdue: an alert,
# a store read and a write each, and a notice queued to a sender that nobody drains. That
# is a scenario of its own (a receiving control room that takes nothing), so here the
# deadlines are a day. ACCEPTANCE_DEADLINES=default keeps the embedded ones.
if [ "${ACCEPTANCE_DEADLINES:-day}" != default ]; then
  python3 - "$work/hub.json" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["acceptance"] = {grade: 86400 for grade in config["acceptance"]}
json.dump(config, open(sys.argv[1], "w"), indent=2)
PY
fi
# COMMIT_INTERVAL_MS sets the store's group-commit wait under load (README, Configuration);
# 0 compares against a writer that commits as soon as anything waits.
# IO_THREADS sets the hub's I/O threads (and its work pool, as many; README, Configuration).
for setting in "commit_interval_ms:${COMMIT_INTERVAL_MS:-}" "io_threads:${IO_THREADS:-}"; do
  [ -n "${setting#*:}" ] || continue
  python3 - "$work/hub.json" "${setting%%:*}" "${setting#*:}" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config[sys.argv[2]] = int(sys.argv[3])
json.dump(config, open(sys.argv[1], "w"), indent=2)
PY
done
(cd "$work" && exec "$BUILD/hub/deit-hub" --config hub.json > stdout.log 2>&1) &
hub=$!
trap 'kill $hub 2>/dev/null; wait $hub 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do grep -q "event=listening" "$work/var/deit-hub.log" 2>/dev/null && break; sleep 0.1; done
load="$BUILD/bench/transfer/deit-load --hub 127.0.0.1:$port --certs $work/var/certs"
# Runs deit-load, which adds to its JSON line the hub's CPU microseconds per transfer (user +
# system, all threads: the steadiest figure an A/B comparison has on a noisy machine) and
# how busy the machine was, both from the first submit to the last receipt, so the
# connections' TLS handshakes are left out (until session 18 they were counted: some 10 µs
# per transfer in the offered run). A run with idle cores was held back by latency (commit
# syncs, too few connections), not by CPU.
measure() {
  local kind=$1 messages=$2
  shift 2
  echo "$kind $($load --hub-pid "$hub" --messages "$messages" "$@")"
}
results=()
for i in $(seq 1 "$RUNS"); do
  results+=("$(measure max "$MESSAGES" --connections "$CONNECTIONS" --run "max$i")")
  echo "${results[-1]}"
  results+=("$(measure paced $((PACED_SECONDS * 1000)) --connections "$PACED_CONNECTIONS" --rate 1000 --run "paced$i")")
  echo "${results[-1]}"
  if [ "$SUSTAINED_RATE" -gt 0 ]; then
    results+=("$(measure offered $((PACED_SECONDS * SUSTAINED_RATE)) --connections "$SUSTAINED_CONNECTIONS" --rate "$SUSTAINED_RATE" --run "offered$i")")
    echo "${results[-1]}"
  fi
done
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
runs = {"max": [], "paced": [], "offered": []}
for line in sys.stdin:
    kind, _, text = line.partition(" ")
    runs[kind].append(json.loads(text))
med = lambda xs: round(statistics.median(xs), 2)
out = {"bench": "transfer-summary", "runs": len(runs["max"]),
       "max_throughput_per_s": med([r["throughput_per_s"] for r in runs["max"]]),
       "max_p50_ms": med([r["latency_ms"]["p50"] for r in runs["max"]]),
       "max_p99_ms": med([r["latency_ms"]["p99"] for r in runs["max"]]),
       "max_hub_cpu_us_per_transfer": med([r["hub_cpu_us_per_transfer"] for r in runs["max"]]),
       "max_machine_busy_pct": med([r["machine_cpu_pct"]["busy"] for r in runs["max"]]),
       "paced_1000_p50_ms": med([r["latency_ms"]["p50"] for r in runs["paced"]]),
       "paced_1000_p99_ms": med([r["latency_ms"]["p99"] for r in runs["paced"]]),
       "paced_1000_max_ms": med([r["latency_ms"]["max"] for r in runs["paced"]]),
       "paced_1000_hub_cpu_us_per_transfer": med([r["hub_cpu_us_per_transfer"] for r in runs["paced"]])}
if runs["offered"]:
    o = runs["offered"]
    out.update({"offered_rate_per_s": o[0]["offered_rate_per_s"],
                "offered_throughput_per_s": med([r["throughput_per_s"] for r in o]),
                "offered_p50_ms": med([r["latency_ms"]["p50"] for r in o]),
                "offered_p99_ms": med([r["latency_ms"]["p99"] for r in o]),
                "offered_hub_cpu_us_per_transfer": med([r["hub_cpu_us_per_transfer"] for r in o]),
                "offered_machine_busy_pct": med([r["machine_cpu_pct"]["busy"] for r in o])})
print(json.dumps(out))'
