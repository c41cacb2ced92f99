#!/usr/bin/env bash
# Configures and builds pipeline in ./build (Release with debug info): every
# target, or only the targets named (e.g. scripts/build.sh pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" ${1:+--target "$@"}
