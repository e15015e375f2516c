#!/usr/bin/env bash
# The test command: installs dependencies, builds everything, runs every test
# (unit, Kafka integration through the mock cluster, crash, kcat interop, CLI
# errors), then runs the in-process tests once more in an ASan+UBSan build
# (LEADLOG_SANITIZE_TESTS=0 skips that pass).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build}"
"$root/deploy/build.sh"
(cd "$build" && ctest --output-on-failure --timeout 600 -j"$(nproc)")

if [ "${LEADLOG_SANITIZE_TESTS:-1}" != 0 ]; then
  asan="${build}-asan"
  echo "== the same in-process tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  cmake -S "$root" -B "$asan" -DCMAKE_BUILD_TYPE=Debug -DLEADLOG_SANITIZE=ON >/dev/null
  cmake --build "$asan" -j"$(nproc)"
  # librdkafka keeps process-lifetime allocations: leak checking is off.
  # http_api drives a real serve with curl (its in-process parts run here
  # as read_api_test and http_server_test).
  (cd "$asan" && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --output-on-failure --timeout 900 -j"$(nproc)" -E 'CrashTest|kcat_interop|cli_errors|http_api')
fi
