# Sourced by bench/run.sh and bench/restart.sh: starting a standalone broker,
# stopping serve, and the "restart to processing" measurement.
# The sourcing script sets: leadlog (the binary), pids (an array the cleanup
# kills), die (prints and exits 1).

now_ms() { date +%s%3N; }

start_broker() {  # start_broker DIR -> sets brokers, broker_pid
  "$leadlog" broker --partitions 64 --bootstrap-file "$1/bootstrap" >/dev/null &
  broker_pid=$!
  pids+=("$broker_pid")
  for _ in $(seq 1 100); do [ -s "$1/bootstrap" ] && break; sleep 0.1; done
  [ -s "$1/bootstrap" ] || die "broker did not start"
  brokers="$(cat "$1/bootstrap")"
}

# Stops serve (SIGTERM); if it has not exited after 60 s, SIGKILL (its log
# is durable per batch) and say so: sets `stop_note`.
stop_serve() {
  stop_note=""
  kill -TERM "$1"
  for _ in $(seq 1 600); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then
    echo "bench: serve $1 did not stop within 60 s of SIGTERM: SIGKILL" >&2
    kill -KILL "$1"
    stop_note=" shutdown_hang=1"
    wait "$1" || true
    return 0
  fi
  wait "$1"
}

# restart_row MODE RECORDS DATA_DIR WORK_DIR SERVE_FLAGS...: serve restarted
# on DATA_DIR against $brokers, one new event published; the time from start
# until it is appended (the projection folds it on its own thread right
# after). Sets restart_ms, serve_ready_ms and
# restart_line (RECORDS: the log's records with the new event, reported).
restart_row() {
  local mode=$1 records=$2 data_dir=$3 dir="$4/restart-$1"
  shift 4
  mkdir -p "$dir"
  local t0 t1 serve ready_ms="" hwm_kb
  t0=$(now_ms)
  "$leadlog" serve --data-dir "$data_dir" --brokers "$brokers" --progress-ms 20 --tick-ms 0 \
    -X session.timeout.ms=6000 "$@" 2>"$dir/serve.err" &
  serve=$!
  pids+=("$serve")
  echo "{\"type\":\"track\",\"messageId\":\"bench-restart-$mode\",\"userId\":\"bench\",\"event\":\"Bench Restarted\"}" |
    kcat -P -b "$brokers" -t leadlog.events
  for _ in $(seq 1 3000); do
    [ -z "$ready_ms" ] && grep -aq 'leadlog serve: ready in' "$dir/serve.err" && ready_ms=$(($(now_ms) - t0))
    grep -aq 'appended [1-9]' "$dir/serve.err" && break
    sleep 0.01
  done
  t1=$(now_ms)
  grep -aq 'appended [1-9]' "$dir/serve.err" || die "restart ($mode): the new event was not appended"
  hwm_kb=$(sed -nE 's/^VmHWM:\s+([0-9]+) kB/\1/p' "/proc/$serve/status")
  stop_serve "$serve" || die "restart ($mode): serve failed"
  serve_ready_ms=$(sed -nE 's/.*ready in ([0-9]+) ms.*/\1/p' "$dir/serve.err")
  restart_ms=$((t1 - t0))
  restart_line="restart mode=$mode log_records=$records to_processing_ms=$restart_ms serve_ready_ms=$serve_ready_ms"
  restart_line+=" seen_ready_ms=${ready_ms:-0} peak_rss_mb=$((hwm_kb / 1024))$stop_note"
}
