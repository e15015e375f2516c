#!/usr/bin/env bash
# The test command: installs dependencies, builds everything, runs every test
# (unit, Kafka integration through the mock cluster, crash, kcat interop).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build}"
"$root/deploy/build.sh"
cd "$build"
ctest --output-on-failure --timeout 600 -j"$(nproc)"
