#!/usr/bin/env bash
# The CLI's error contract: unknown flags, an unreadable data dir, a missing
# log, unreachable brokers -> one clear line on stderr and a non-zero exit.
# Usage: cli_errors_test.sh PATH/TO/leadlog
set -uo pipefail
leadlog="$1"
work="$(mktemp -d /tmp/leadlog-cli.XXXXXX)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# expect NAME EXIT_CODE STDERR_REGEX LINES -- command...
expect() {
  local name="$1" want_code="$2" want_re="$3" want_lines="$4"
  shift 5
  "$@" >"$work/out" 2>"$work/err"
  local code=$?
  local lines
  lines=$(wc -l <"$work/err")
  if [ "$code" -eq "$want_code" ] && grep -Eq -e "$want_re" "$work/err" &&
     { [ "$want_lines" = any ] || [ "$lines" -eq "$want_lines" ]; }; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $code (want $want_code), $lines stderr lines (want $want_lines), stderr:" >&2
    sed 's/^/  | /' "$work/err" >&2
  fi
}

touch "$work/a-file"
expect unknown_command 2 'unknown command "frobnicate"' 1 -- "$leadlog" frobnicate
expect unknown_flag 2 'unknown flag --nope' any -- "$leadlog" stats --data-dir "$work/x" --nope
expect missing_required_flag 2 'data-dir is required' any -- "$leadlog" verify
expect bad_integer 1 'partitions: "many" is not an integer' 1 -- \
  "$leadlog" ingest --data-dir "$work/x" --partitions many -
expect data_dir_is_a_file 1 'leadlog serve: .*a-file' 1 -- \
  "$leadlog" serve --data-dir "$work/a-file" --brokers 127.0.0.1:1
expect stats_on_missing_log 1 'leadlog stats: .*no leadlog data' 1 -- \
  "$leadlog" stats --data-dir "$work/missing"
expect unreachable_brokers 1 'leadlog serve: brokers 127.0.0.1:1 unreachable' 1 -- \
  "$leadlog" serve --data-dir "$work/db" --brokers 127.0.0.1:1 --broker-timeout-ms 1000
expect demo_unreachable_brokers 1 'leadlog demo: brokers 127.0.0.1:1 unreachable' 1 -- \
  "$leadlog" demo --brokers 127.0.0.1:1 --events 1
expect ingest_missing_file 1 'leadlog ingest: cannot open' 1 -- \
  "$leadlog" ingest --data-dir "$work/db2" "$work/no-such-file"
expect projection_lag_zero 1 'leadlog serve: --projection-lag-max: 0 is outside \[1, 1000000\]' 1 -- \
  "$leadlog" serve --data-dir "$work/db4" --brokers 127.0.0.1:1 --projection-lag-max 0
expect projection_lag_over_max 1 'leadlog serve: --projection-lag-max: 1000001 is outside' 1 -- \
  "$leadlog" serve --data-dir "$work/db5" --brokers 127.0.0.1:1 --projection-lag-max 1000001
# At the limit the flag is accepted: serve gets as far as the brokers.
expect projection_lag_at_max 1 'leadlog serve: brokers 127.0.0.1:1 unreachable' 1 -- \
  "$leadlog" serve --data-dir "$work/db6" --brokers 127.0.0.1:1 --broker-timeout-ms 1000 \
  --projection-lag-max 1000000
expect background_nice_negative 1 'leadlog serve: --background-nice: -1 is outside \[0, 19\]' 1 -- \
  "$leadlog" serve --data-dir "$work/db8" --brokers 127.0.0.1:1 --background-nice -1
expect background_nice_over_max 1 'leadlog serve: --background-nice: 20 is outside \[0, 19\]' 1 -- \
  "$leadlog" serve --data-dir "$work/db9" --brokers 127.0.0.1:1 --background-nice 20
expect background_nice_not_a_number 1 'leadlog serve: --background-nice: "low" is not an integer' 1 -- \
  "$leadlog" serve --data-dir "$work/db10" --brokers 127.0.0.1:1 --background-nice low
# At the limit the flag is accepted: serve gets as far as the brokers.
expect background_nice_at_max 1 'leadlog serve: brokers 127.0.0.1:1 unreachable' 1 -- \
  "$leadlog" serve --data-dir "$work/db11" --brokers 127.0.0.1:1 --broker-timeout-ms 1000 \
  --background-nice 19
expect projector_threads_over_max 1 'leadlog serve: --projector-threads: 17 is outside \[0, 16\]' 1 -- \
  "$leadlog" serve --data-dir "$work/db12" --brokers 127.0.0.1:1 --projector-threads 17
expect projector_threads_at_max 1 'leadlog serve: brokers 127.0.0.1:1 unreachable' 1 -- \
  "$leadlog" serve --data-dir "$work/db13" --brokers 127.0.0.1:1 --broker-timeout-ms 1000 \
  --projector-threads 16
expect rebuild_fold_threads_over_max 1 'leadlog rebuild: --fold-threads: 17 is outside \[0, 16\]' 1 -- \
  "$leadlog" rebuild --data-dir "$work/db7" --fold-threads 17
expect bad_kafka_property 1 'leadlog serve: .*no.such.property' 1 -- \
  "$leadlog" serve --data-dir "$work/db3" --brokers 127.0.0.1:1 -X no.such.property=1

echo "cli_errors: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
