#!/usr/bin/env bash
# Installs dependencies, builds with warnings as errors, and runs every test (unit and
# end-to-end: the end-to-end tests start real deit-hub processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j2 --timeout 300
