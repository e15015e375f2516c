#!/usr/bin/env bash
# Installs dependencies and builds leadlog into ./build (or $LEADLOG_BUILD_DIR).
# Usage: deploy/build.sh [cmake --build args, e.g. --target leadlog]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build}"
"$root/deploy/setup.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${LEADLOG_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build" -j"$(nproc)" "$@"
