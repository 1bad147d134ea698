#!/usr/bin/env bash
# Installs every build, test and run dependency of DEIT Hub from Debian 12 packages.
# Idempotent: safe to run on every start; apt-get is skipped when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  libboost1.81-dev libboost-json1.81-dev
  libssl-dev libxerces-c-dev libzmq3-dev cppzmq-dev libspdlog-dev libfmt-dev
  libsqlite3-dev sqlite3 libgtest-dev libgmock-dev libproj-dev proj-data libgoogle-perftools-dev
  python3 curl
  clang-14 libclang-rt-14-dev llvm-14
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all dependencies present"
fi
