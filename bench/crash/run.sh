#!/usr/bin/env bash
# Crash-safety run: the scenarios of tests/e2e/crash_e2e_test.cpp, longer than CI runs them.
#   kills:   SENDERS threads submit incidents (create + updates), each retrying a message
#            until the hub acknowledges it, while deit-hub is SIGKILLed KILLS times at random
#            moments (KILL_MIN_MS..KILL_MAX_MS after each restart); a receiving application
#            records, then acknowledges, every delivery and suppresses repeats by message id.
#   offline: the receiver stays away OFFLINE_S seconds while the backlog builds (senders
#            pausing OFFLINE_PACE_MS between messages) and the hub is SIGKILLed and
#            restarted OFFLINE_RESTARTS times; then it returns and must get it all, in order.
# Prints one JSON object per scenario (figures: sent, acknowledged, delivered, duplicates
# suppressed, missing, out of order, kills, seconds). Exits non-zero if a check failed.
# Usage: bench/crash/run.sh [BUILD_DIR] [kills|offline|both]
#   env: SENDERS (4) KILLS (20) KILL_MIN_MS (500) KILL_MAX_MS (4000) PACE_MS (0)
#        OFFLINE_S (180) OFFLINE_RESTARTS (3) OFFLINE_PACE_MS (50) DRAIN_S (300) SEED
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
WHICH=${2:-both}
binary="$BUILD/tests/e2e/crash_e2e_test"
[ -x "$binary" ] || { echo "build first: $binary is missing" >&2; exit 2; }
export DEIT_CRASH_SENDERS=${SENDERS:-4}
export DEIT_CRASH_KILLS=${KILLS:-20}
export DEIT_CRASH_KILL_MIN_MS=${KILL_MIN_MS:-500}
export DEIT_CRASH_KILL_MAX_MS=${KILL_MAX_MS:-4000}
export DEIT_CRASH_PACE_MS=${PACE_MS:-0}
export DEIT_CRASH_OFFLINE_S=${OFFLINE_S:-180}
export DEIT_CRASH_OFFLINE_RESTARTS=${OFFLINE_RESTARTS:-3}
export DEIT_CRASH_OFFLINE_PACE_MS=${OFFLINE_PACE_MS:-50}
export DEIT_CRASH_DRAIN_S=${DRAIN_S:-300}
[ -n "${SEED:-}" ] && export DEIT_CRASH_SEED=$SEED
case "$WHICH" in
  kills) filter='CrashEndToEnd.RepeatedSigkill*' ;;
  offline) filter='CrashEndToEnd.AReceiverAway*' ;;
  *) filter='CrashEndToEnd.*' ;;
esac
log=$(mktemp /tmp/deit-crash.XXXXXX)
trap 'rm -f "$log"' EXIT
"$binary" --gtest_filter="$filter" > "$log" 2>&1
status=$?
grep '^\[ figures \] ' "$log" | sed 's/^\[ figures \] //'
if [ $status -ne 0 ]; then
  echo "crash checks FAILED (exit $status):" >&2
  grep -E 'Failure|Expected|Which is|actual|error' "$log" >&2 || tail -40 "$log" >&2
fi
exit $status
