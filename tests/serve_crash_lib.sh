# Shared by the crash scripts of `leadlog serve` (handoff_crash_test.sh,
# changes_crash_test.sh): a standalone `leadlog broker`, `leadlog serve`
# started on one data dir, SIGKILLed at seeded points during ingest and
# restarted, then a final serve that ingests everything and exits on SIGTERM.
# Source it after setting NAME (message prefix), BIN and SEED (and optionally
# the array SERVE_FLAGS: more serve flags); it sets TMP, DATA and the EXIT
# trap.
#
#   start_broker 4; kill_rounds "$EXPECTED"; finish_serve "$EXPECTED"

RANDOM=$SEED
TMP=$(mktemp -d "${TMPDIR:-/tmp}/$NAME.XXXXXX")
DATA=$TMP/log
PIDS=()
SERVE_BATCH_EVENTS=${SERVE_BATCH_EVENTS:-200}
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "$NAME: FAIL: $*" >&2
  for f in "$TMP"/serve-*.err; do [[ -f $f ]] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
  exit 1
}

# shellcheck source=wait_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/wait_lib.sh"
on_wait_timeout() { fail "$1"; }

start_broker() {  # PARTITIONS; sets BROKERS
  "$BIN" broker --partitions "$1" --bootstrap-file "$TMP/bootstrap" >/dev/null 2>"$TMP/broker.err" &
  PIDS+=($!)
  wait_until 30 "the broker" test -s "$TMP/bootstrap"
  BROKERS=$(cat "$TMP/bootstrap")
}

appended() {  # events appended + duplicates skipped
  "$BIN" stats --data-dir "$DATA" --json 2>/dev/null |
    sed -nE 's/^\{"events_appended":([0-9]+),"duplicates_skipped":([0-9]+).*/\1 \2/p' |
    awk '{print $1 + $2}'
}

start_serve() {  # N [EXTRA SERVE FLAGS...]; sets SERVE
  local n=$1
  shift
  "$BIN" serve --data-dir "$DATA" --brokers "$BROKERS" --batch-events "$SERVE_BATCH_EVENTS" \
    --progress-ms 0 -X session.timeout.ms=3000 -X heartbeat.interval.ms=500 \
    ${SERVE_FLAGS[@]+"${SERVE_FLAGS[@]}"} "$@" >/dev/null 2>"$TMP/serve-$n.err" &
  SERVE=$!
  PIDS+=($SERVE)
}

# Up to 5 rounds: start serve, wait for its first progress (a restarted
# member joins only after the killed one's session expires), SIGKILL it
# after a seeded delay. Sets KILLS; fails unless 3 kills landed.
kill_rounds() {  # EXPECTED
  local round before now deadline
  KILLS=0
  for round in 1 2 3 4 5; do
    before=$(appended || true)
    before=${before:-0}
    ((before < $1)) || break
    start_serve $round
    deadline=$((SECONDS + 60))
    until now=$(appended || true); ((${now:-0} > before)); do
      ((SECONDS < deadline)) || fail "no progress in round $round"
      sleep 0.1
    done
    sleep "0.$((RANDOM % 10))"
    kill -KILL $SERVE
    wait $SERVE 2>/dev/null || true
    KILLS=$((KILLS + 1))
    echo "$NAME: round $round: killed serve at $(appended || echo 0) of $1 records"
  done
  ((KILLS >= 3)) || fail "only $KILLS kills landed during ingest"
}

# A last serve ingests the rest and stops on SIGTERM (exit 0 required).
finish_serve() {  # EXPECTED
  start_serve final
  wait_until 120 "all $1 records" bash -c "[ \"\$(\"$BIN\" stats --data-dir \"$DATA\" --json 2>/dev/null | sed -nE 's/^\\{\"events_appended\":([0-9]+).*/\\1/p')\" -ge $1 ]"
  kill -TERM $SERVE
  # A serve that does not stop within 60 s is a shutdown hang: show where
  # every thread is (gdb, when installed), then fail instead of hanging
  # until ctest's timeout.
  local deadline=$((SECONDS + 60))
  while kill -0 $SERVE 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 $SERVE 2>/dev/null; then
    if command -v gdb >/dev/null; then
      gdb -p $SERVE -batch -ex "thread apply all bt 12" 2>/dev/null | grep -E '^(Thread|#)' >&2 || true
    fi
    kill -KILL $SERVE
    fail "serve did not exit within 60 s of SIGTERM (stderr: $(tail -2 "$TMP/serve-final.err" | tr '\n' ' '))"
  fi
  wait $SERVE || fail "serve did not exit 0 on SIGTERM"
}

# Waits for the background `leadlog demo` and checks it published them all.
# Its stderr is in $TMP/demo.err. (`wait` alone is not enough: bash may have
# forgotten the status of a child that ended long ago, "not a child of this
# shell".)
wait_demo() {  # PID EVENTS
  wait "$1" 2>/dev/null || true
  grep -q "published $2 events" "$TMP/demo.err" || fail "demo publish: $(tail -1 "$TMP/demo.err")"
}
