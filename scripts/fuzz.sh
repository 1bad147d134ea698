#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer into build-fuzz/, then runs each for a bounded time on a
# scratch copy of its seed corpus (the committed corpus is never changed). Fails on any
# crash, broken invariant, leak, timeout or out-of-memory; the input that caused it is kept
# in build-fuzz/findings/<harness>/ and printed (base64) in the log, so a CI failure can be
# reproduced: `build-fuzz/tests/fuzz/fuzz_<harness> <file>`.
#
# Usage: scripts/fuzz.sh [seconds-per-harness] [harness...]   (default 60 s, every harness)
# FUZZ_SEED=N repeats a run's mutations (0, the default, lets libFuzzer pick one).
# A finding becomes a regression: fix the code, then add the input to
# tests/fuzz/corpus/<harness>/ (replayed by the normal build's ctest) and to the component's
# unit test. To keep interesting new inputs, minimise the scratch corpus into the real one:
#   build-fuzz/tests/fuzz/fuzz_<h> -merge=1 tests/fuzz/corpus/<h> build-fuzz/fuzz-run/<h>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
FUZZ_CXX=${FUZZ_CXX:-clang++-14}
command -v "$FUZZ_CXX" >/dev/null || bash scripts/setup.sh

cmake -S . -B "$BUILD_DIR" -G Ninja -DDEIT_FUZZ=ON -DDEIT_WERROR=ON -DCMAKE_CXX_COMPILER="$FUZZ_CXX" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build "$BUILD_DIR" --target deit_fuzzers -j"$(nproc)"

harnesses=("$@")
if ((${#harnesses[@]} == 0)); then
  for bin in "$BUILD_DIR"/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] && harnesses+=("${bin##*/fuzz_}")
  done
fi

symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0${symbolizer:+:external_symbolizer_path=$symbolizer}}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1${symbolizer:+:external_symbolizer_path=$symbolizer}}

failed=()
printf '%-26s %8s %10s %8s %s\n' harness seconds runs cov result
for h in "${harnesses[@]}"; do
  bin="$BUILD_DIR/tests/fuzz/fuzz_$h"
  seeds="tests/fuzz/corpus/$h"
  [ -x "$bin" ] || { echo "fuzz: no harness $h" >&2; exit 2; }
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 2; }
  scratch="$BUILD_DIR/fuzz-run/$h"
  findings="$BUILD_DIR/findings/$h"
  log="$BUILD_DIR/fuzz-run/$h.log"
  rm -rf "$scratch"
  mkdir -p "$scratch" "$findings"
  cp -r "$seeds/." "$scratch/"
  dict=()
  [ -f "tests/fuzz/dict/$h.dict" ] && dict=(-dict="tests/fuzz/dict/$h.dict")
  start=$(date +%s)
  set +e
  "$bin" -max_total_time="$seconds" -seed="${FUZZ_SEED:-0}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "${dict[@]}" "$scratch" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  if ((rc == 0)); then
    printf '%-26s %8s %10s %8s %s\n' "$h" "$(($(date +%s) - start))" "${runs:-?}" "${cov:-?}" ok
  else
    printf '%-26s %8s %10s %8s %s\n' "$h" "$(($(date +%s) - start))" "${runs:-?}" "${cov:-?}" "FAILED (exit $rc)"
    failed+=("$h")
    echo "---- $log (last 60 lines)"
    tail -n 60 "$log"
    for artifact in "$findings"/*; do
      [ -f "$artifact" ] || continue
      echo "---- kept input $artifact ($(stat -c %s "$artifact") bytes), base64:"
      head -c 65536 "$artifact" | base64 -w 0
      echo
    done
  fi
done

if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]} (inputs kept in $BUILD_DIR/findings/)" >&2
  exit 1
fi
echo "fuzz: ${#harnesses[@]} harnesses ran ${seconds}s each without a finding"
