#!/usr/bin/env bash
# kcat interop: a stock Kafka client (kcat) talks to leadlog's brokers.
#   (a) `leadlog broker` + kcat producer + `leadlog serve --brokers`: exact
#       counts, a dead letter on leadlog.events.dlq with leadlog-* headers.
#   (b) `leadlog serve` with its embedded broker, kcat publishing to the
#       bootstrap it announces.
# Usage: kcat_interop_test.sh PATH/TO/leadlog
# Prints "kcat_interop: N passed, M failed"; exit 0 only when all passed.
set -euo pipefail

BIN=${1:?usage: kcat_interop_test.sh PATH/TO/leadlog}
[[ -x $BIN ]] || { echo "kcat_interop: $BIN is not executable" >&2; exit 2; }
command -v kcat >/dev/null || { echo "kcat_interop: kcat not found" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/kcat_interop.XXXXXX")
PIDS_FILE=$TMP/pids   # every background child, for the traps
: >"$PIDS_FILE"

kill_children() {
  local pid
  while read -r pid; do
    kill -KILL "$pid" 2>/dev/null || true
  done <"$PIDS_FILE"
}
cleanup() {
  kill_children
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

WAIT_S=60                      # bound of every wait
EXPECT_LINES=50
EXPECT_APPENDED=48
EXPECT_DUPLICATES=1
EXPECT_DEAD=1

fail() {
  echo "kcat_interop: FAIL: $*" >&2
  exit 1
}

WAIT_NAME=kcat_interop
# shellcheck source=wait_lib.sh
source "$(dirname "$0")/wait_lib.sh"

# True once process $1 has exited (gone or a zombie waiting to be reaped).
exited() {
  local stat
  [[ -r /proc/$1/stat ]] || return 0
  read -r stat <"/proc/$1/stat" 2>/dev/null || return 0
  stat=${stat##*) }
  [[ ${stat%% *} == Z ]]
}

# start LOG COMMAND...: runs COMMAND in the background; its pid in $STARTED.
start() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  STARTED=$!
  echo "$STARTED" >>"$PIDS_FILE"
}

# stop PID LOG: SIGTERM, wait (bounded), and require exit status 0.
stop() {
  local pid=$1 log=$2 rc=0
  kill -TERM "$pid"
  wait_until 30 "pid $pid to exit after SIGTERM" exited "$pid" || { tail -n 20 "$log" >&2; fail "no exit after SIGTERM"; }
  wait "$pid" || rc=$?
  [[ $rc -eq 0 ]] || { tail -n 20 "$log" >&2; fail "exit status $rc after SIGTERM (want 0)"; }
}

# has_line FILE: true once FILE holds the bootstrap address.
has_line() { [[ -s $1 ]] && [[ $(<"$1") == *:* ]]; }
# The waits also end when the process they depend on ($2 / $3) has died.
bootstrap_or_exit() { has_line "$1" || exited "$2"; }

# stat_of JSON KEY: a top-level counter of `leadlog stats --json`.
stat_of() {
  local top=${1%%\"shards\"*}
  [[ $top =~ \"$2\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

STATS_JSON=""
stats_reach() {  # DIR TOTAL: true once appended + duplicates + dead letters >= TOTAL
  STATS_JSON=$("$BIN" stats --data-dir "$1" --json 2>&1) || return 1
  local a d l
  a=$(stat_of "$STATS_JSON" events_appended) || return 1
  d=$(stat_of "$STATS_JSON" duplicates_skipped) || return 1
  l=$(stat_of "$STATS_JSON" dead_letters) || return 1
  ((a + d + l >= $2))
}

ingested_or_exit() { stats_reach "$1" "$2" || exited "$3"; }

check_counts() {  # DIR
  local json a d l
  json=$("$BIN" stats --data-dir "$1" --json) || fail "leadlog stats failed"
  a=$(stat_of "$json" events_appended) || fail "no events_appended in: $json"
  d=$(stat_of "$json" duplicates_skipped) || fail "no duplicates_skipped in: $json"
  l=$(stat_of "$json" dead_letters) || fail "no dead_letters in: $json"
  [[ $a == "$EXPECT_APPENDED" && $d == "$EXPECT_DUPLICATES" && $l == "$EXPECT_DEAD" ]] ||
    fail "counts: appended=$a duplicates=$d dead_letters=$l, want $EXPECT_APPENDED/$EXPECT_DUPLICATES/$EXPECT_DEAD"
  local out
  out=$("$BIN" verify --data-dir "$1" 2>&1) || fail "leadlog verify: $out"
}

# The input: key<TAB>value lines. 48 distinct events over 12 leads, one
# re-send of m-7 (same key, so same partition: a duplicate), one event
# without a messageId (a dead letter).
INPUT=$TMP/events.tsv
{
  for i in $(seq 0 47); do
    lead=$((i % 12))
    if ((i % 8 == 5)); then
      printf 'a-%d\t{"type":"identify","messageId":"m-%d","anonymousId":"a-%d","userId":"u-%d","traits":{"email":"u%d@example.com"},"timestamp":"2026-01-05T09:00:%02dZ"}\n' \
        "$lead" "$i" "$lead" "$lead" "$lead" "$i"
    else
      printf 'a-%d\t{"type":"track","messageId":"m-%d","anonymousId":"a-%d","event":"Email Opened","properties":{"n":%d},"timestamp":"2026-01-05T09:00:%02dZ"}\n' \
        "$lead" "$i" "$lead" "$i" "$i"
    fi
  done
  printf 'a-7\t{"type":"track","messageId":"m-7","anonymousId":"a-7","event":"Email Opened","properties":{"n":7},"timestamp":"2026-01-05T09:00:07Z"}\n'
  printf 'a-3\t{"type":"track","anonymousId":"a-3","event":"No Message Id","timestamp":"2026-01-05T09:01:00Z"}\n'
} >"$INPUT"
[[ $(wc -l <"$INPUT") -eq $EXPECT_LINES ]] || fail "input has $(wc -l <"$INPUT") lines"

publish() {  # BROKERS
  timeout 30 kcat -P -b "$1" -t leadlog.events -K '\t' -X enable.idempotence=true <"$INPUT" ||
    fail "kcat -P to $1 failed"
}

part_a() {
  local dir=$TMP/a log_b=$TMP/a-broker.log log_s=$TMP/a-serve.log
  mkdir -p "$dir"
  start "$log_b" "$BIN" broker --bootstrap-file "$dir/bootstrap"
  local broker=$STARTED
  if ! wait_until "$WAIT_S" "leadlog broker's bootstrap file" bootstrap_or_exit "$dir/bootstrap" "$broker" ||
    ! has_line "$dir/bootstrap"; then
    cat "$log_b" >&2
    fail "no bootstrap from leadlog broker"
  fi
  local b
  b=$(head -n 1 "$dir/bootstrap")
  grep -q "kafka bootstrap: $b" "$log_b" || fail "broker did not print 'kafka bootstrap: $b'"
  publish "$b"

  start "$log_s" "$BIN" serve --brokers "$b" --data-dir "$dir/d1" -X session.timeout.ms=6000
  local serve=$STARTED
  if ! wait_until "$WAIT_S" "$EXPECT_LINES messages in stats" ingested_or_exit "$dir/d1" "$EXPECT_LINES" "$serve" ||
    exited "$serve"; then
    tail -n 20 "$log_s" >&2
    fail "ingest incomplete or serve exited: $STATS_JSON"
  fi
  stop "$serve" "$log_s"
  check_counts "$dir/d1"

  local dl
  dl=$("$BIN" dead-letters --data-dir "$dir/d1") || fail "leadlog dead-letters failed"
  [[ $dl == *messageId* ]] || fail "stored dead letter does not name messageId: $dl"

  local values headers
  values=$(timeout 30 kcat -C -b "$b" -t leadlog.events.dlq -e -o beginning -q -f '%k\t%s\n') ||
    fail "kcat -C of leadlog.events.dlq failed"
  [[ $(grep -c . <<<"$values") -eq 1 ]] || fail "want 1 message on leadlog.events.dlq, got: $values"
  [[ $values == *'"event":"No Message Id"'* ]] || fail "dead letter value not on the DLQ topic: $values"
  headers=$(timeout 30 kcat -C -b "$b" -t leadlog.events.dlq -e -o beginning -q -f '%h\n') ||
    fail "kcat -C -f %h failed"
  [[ $headers == *leadlog-reason=* ]] || fail "no leadlog-reason header: $headers"
  echo "kcat_interop: (a) ok: external broker, DLQ headers: $headers"
  kill -TERM "$broker"
}

part_b() {
  local dir=$TMP/b log_s=$TMP/b-serve.log
  mkdir -p "$dir"
  start "$log_s" "$BIN" serve --data-dir "$dir/d2" --bootstrap-file "$dir/bootstrap"
  local serve=$STARTED
  if ! wait_until "$WAIT_S" "serve's bootstrap file" bootstrap_or_exit "$dir/bootstrap" "$serve" ||
    ! has_line "$dir/bootstrap"; then
    cat "$log_s" >&2
    fail "no bootstrap from leadlog serve"
  fi
  local b
  b=$(head -n 1 "$dir/bootstrap")
  publish "$b"
  if ! wait_until "$WAIT_S" "$EXPECT_LINES messages in stats" ingested_or_exit "$dir/d2" "$EXPECT_LINES" "$serve" ||
    exited "$serve"; then
    tail -n 20 "$log_s" >&2
    fail "ingest incomplete or serve exited: $STATS_JSON"
  fi
  stop "$serve" "$log_s"
  check_counts "$dir/d2"
  echo "kcat_interop: (b) ok: embedded broker at $b"
}

passed=0
failed=0
for part in part_a part_b; do
  started=$SECONDS
  set +e
  (
    set -e
    trap kill_children EXIT
    "$part"
  )
  rc=$?
  set -e
  if ((rc == 0)); then
    passed=$((passed + 1))
    echo "kcat_interop: $part passed in $((SECONDS - started)) s"
  else
    failed=$((failed + 1))
    echo "kcat_interop: $part FAILED (exit $rc) after $((SECONDS - started)) s" >&2
  fi
done
echo "kcat_interop: $passed passed, $failed failed"
((failed == 0))
