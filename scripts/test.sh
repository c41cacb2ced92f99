#!/usr/bin/env bash
# Sets up, builds and runs every test (CTest). This is the command CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test-tools
scripts/build.sh
ctest --test-dir build --output-on-failure -j 2 "$@"
