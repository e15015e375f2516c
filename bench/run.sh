#!/usr/bin/env bash
# The leadlog benchmark (issue 7): one run on one machine reports leadlog's
# rates next to the raw limits measured in the same run, as ratios.
#
#   bench/run.sh                                      # small: 100k events, 10k leads (< 2 min)
#   bench/run.sh --events 10000000 --leads 1000000    # large
#
# Options: --events N, --leads N, --flows N (nurture flows live: the 4
# examples, then renamed copies; default 4), --out FILE (also write the
# machine-readable lines there), --keep (keep the work dir and every data dir).
# Env: LEADLOG_BUILD_DIR (Release build, default ./build-release),
# LEADLOG_BENCH_DIR (work dir parent, default /tmp), LEADLOG_BENCH_PROJ_FLAGS
# (extra serve flags for the two projection-live runs, split on spaces, e.g.
# "--projector-threads 1"; default none).
#
# What runs (each ingest run on a fresh standalone `leadlog broker` with 64
# partitions and a fresh data dir; `leadlog demo` publishes the realistic
# workload keyed by lead while serve consumes it, staying at most 3 MiB per
# partition ahead of serve's committed offsets so the mock broker's 5 MiB
# per-partition retention never evicts an unconsumed message):
#   1. ingest durable (fsync per batch), projections off
#   2. ingest fast (--no-fsync), projections off
#   3. ingest durable, projections live: every example definition
#      (examples/*.json) and --flows nurture flows + governance published first
#   4. ingest fast, projections live
#   raw limits (bench/raw_limits.cc), on run 1's messages and bytes:
#      librdkafka consume of the topic (no processing), RocksDB append of the
#      stored log records in WriteBatches of 1000 with and without fsync,
#      RocksDB sequential read
#   rebuild of the lead projection from sequence 0 (run 3's data dir), then
#      the same log read and decoded through EventLog::ReadRange on 2
#      threads with no fold (raw_limits decode): the floor of any rebuild
#   restart to processing: serve on run 3's data dir, one new event; time
#      from start until it is appended; twice: as a consumer-group member
#      (the join waits 3 s on the mock broker), then with
#      --assign-partitions (the sole consumer: no group join)
#   tick cost (build/bench/tick_bench, if built: one shard, then 64 shards
#      on 2 fold threads; each the median of 3 repetitions) and query latency during
#      ingest (bench/http_load.sh, if present)
# Every ingest run fails loudly unless the log holds exactly what was
# published. Ingest rate = demo events / log-time span between the first and
# the last record appended after the definitions (log time is assigned at
# append); with projections live, up to when serve's progress line shows the
# projection caught up with the log, if that is later (it runs on its own
# thread; appended_per_s is then the append rate alone). Peak RSS = VmHWM of serve just before it stops.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build-release}"
events=100000
leads=10000
flows=4
out=""
keep=0
while (($#)); do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --leads) leads="$2"; shift 2 ;;
    --flows) flows="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "bench/run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

targets=(leadlog raw_limits)
[ -f "$root/bench/tick_bench.cc" ] && targets+=(tick_bench)
LEADLOG_BUILD_TYPE=Release LEADLOG_BUILD_DIR="$build" "$root/deploy/build.sh" --target "${targets[@]}" >/dev/null
leadlog="$build/deploy/leadlog/leadlog"
raw="$build/bench/raw_limits"
work="$(mktemp -d "${LEADLOG_BENCH_DIR:-/tmp}/leadlog-bench.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ((keep)); then echo "bench/run.sh: work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

drop() { ((keep)) || rm -rf "$1"; }  # a data dir no later step needs
lines=()  # machine-readable result lines
emit() { lines+=("$*"); echo "$*"; }
die() { echo "bench/run.sh: FAILED: $*" >&2; exit 1; }
# shellcheck source=serve_lib.sh
source "$root/bench/serve_lib.sh"  # now_ms, start_broker, stop_serve, restart_row
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
field() { sed -nE "s/.*[ ^]$1=([^ ]+).*/\1/p" <<<" $2"; }

# Totals of the log: events_appended + duplicates_skipped + dead_letters.
log_total() {
  "$leadlog" stats --data-dir "$1" --json 2>/dev/null |
    sed -E 's/^\{"events_appended":([0-9]+),"duplicates_skipped":([0-9]+),"dead_letters":([0-9]+).*/\1 \2 \3/' |
    awk '{ print $1 + $2 + $3 }'
}
# The same from serve's progress line (cheap: no DB open while serve runs,
# which would replay the WAL; serve prints a line after every change).
progress_total() {
  grep -a 'leadlog serve: consumed' "$1" 2>/dev/null | tail -1 |
    sed -nE 's/.*appended ([0-9]+), duplicates ([0-9]+), dead letters ([0-9]+).*/\1 \2 \3/p' |
    awk '{ print $1 + $2 + $3 }'
}
# The live projection's records folded, and the log's records (appended +
# dead letters), from serve's last progress line.
progress_projected() {
  grep -a 'leadlog serve: consumed' "$1" 2>/dev/null | tail -1 | sed -nE 's/.*, projected ([0-9]+).*/\1/p'
}
progress_records() {
  grep -a 'leadlog serve: consumed' "$1" 2>/dev/null | tail -1 |
    sed -nE 's/.*appended ([0-9]+), duplicates [0-9]+, dead letters ([0-9]+).*/\1 \2/p' | awk '{ print $1 + $2 }'
}
# Waits until the live projection has folded every record of the log (the
# projection runs on its own thread and may lag the append by up to
# --projection-lag-max records per shard); prints the wall ms it saw that.
wait_projected() {  # wait_projected SERVE_ERR STALL_S
  local got last=-1 still=0
  while :; do
    got=$(progress_projected "$1"); got=${got:-0}
    [ "$got" -ge "$(progress_records "$1")" ] && { now_ms; return 0; }
    if [ "$got" -eq "$last" ]; then still=$((still + 1)); else still=0; fi
    last=$got
    [ "$still" -ge $(($2 * 20)) ] && return 1
    sleep 0.05
  done
}
wait_total() {  # wait_total FILE-OR-DIR EXPECTED KIND STALL_S
  local got=0 last=-1 still=0
  while :; do
    if [ "$3" = progress ]; then got=$(progress_total "$1"); else got=$(log_total "$1"); fi
    got=${got:-0}
    [ "$got" -ge "$2" ] && return 0
    if [ "$got" -eq "$last" ]; then still=$((still + 1)); else still=0; fi
    last=$got
    [ "$still" -ge $(($4 * 5)) ] && { echo "$got"; return 1; }
    sleep 0.2
  done
}

definition_files=()
for def in "$root"/examples/*.json "$root"/examples/flows/governance.json; do definition_files+=("$def"); done
flow_examples=(welcome_series early_stage_stream late_stage_stream webinar_follow_up)
publish_definitions() {  # publish_definitions DIR -> sets definitions
  definitions=0
  local files=("${definition_files[@]}") i name
  for ((i = 0; i < flows; i++)); do
    name=${flow_examples[i % 4]}
    if ((i < 4)); then
      files+=("$root/examples/flows/$name.json")
    else  # a renamed copy: another flow id, the same steps
      sed -E "0,/\"id\": *\"$name\"/s//\"id\": \"${name}_copy$i\"/" "$root/examples/flows/$name.json" >"$1/flow$i.json"
      files+=("$1/flow$i.json")
    fi
  done
  for def in "${files[@]}"; do
    "$leadlog" definitions publish "$def" --brokers "$brokers" >/dev/null || die "publish $def"
    definitions=$((definitions + 1))
  done
}

# ingest_run NAME PROJECTIONS(0|1) [serve flags...]: sets `result` to one
# result line (runs in this shell: brokers, broker_pid, definitions stay set).
ingest_run() {
  local name="$1" projections="$2"
  shift 2
  # shellcheck disable=SC2206  # split on purpose
  ((projections)) && set -- "$@" ${LEADLOG_BENCH_PROJ_FLAGS:-}
  local dir="$work/$name"
  mkdir -p "$dir"
  start_broker "$dir"
  # Progress every 50 ms with projections: wait_projected times the catch-up.
  "$leadlog" serve --data-dir "$dir/log" --brokers "$brokers" --progress-ms $((projections ? 50 : 200)) \
    --tick-ms 0 -X session.timeout.ms=6000 "$@" 2>"$dir/serve.err" &
  local serve=$!
  pids+=("$serve")
  echo '{"type":"track","messageId":"bench-start","userId":"bench","event":"Bench Started"}' |
    kcat -P -b "$brokers" -t leadlog.events
  wait_total "$dir/serve.err" 1 progress 30 >/dev/null || die "$name: serve did not start (see $dir/serve.err)"
  local expected=1
  if ((projections)); then
    publish_definitions "$dir"
    expected=$((expected + definitions * 64))
    wait_total "$dir/serve.err" "$expected" progress 60 >/dev/null || die "$name: definitions not ingested"
  fi
  "$raw" positions --data-dir "$dir/log" >"$dir/positions"
  expected=$((expected + events))
  "$leadlog" demo --brokers "$brokers" --events "$events" --leads "$leads" --max-ahead-kb 3072 \
    2>"$dir/demo.err" || die "$name: demo failed: $(cat "$dir/demo.err")"
  local got
  got=$(wait_total "$dir/serve.err" "$expected" progress 60) || die "$name: ingest stalled at $got of $expected"
  local projected_ms=0
  if ((projections)); then
    projected_ms=$(wait_projected "$dir/serve.err" 60) || die "$name: the live projection stalled"
  fi
  local hwm_kb
  hwm_kb=$(sed -nE 's/^VmHWM:\s+([0-9]+) kB/\1/p' "/proc/$serve/status")
  stop_serve "$serve" || die "$name: serve failed: $(tail -3 "$dir/serve.err")"
  got=$(log_total "$dir/log")
  [ "$got" -eq "$expected" ] || die "$name: the log holds $got records, published $expected (mock broker eviction?)"
  local span span_ms disk
  span=$("$raw" span --data-dir "$dir/log" --positions "$dir/positions")
  span_ms=$(field span_ms "$span")
  [ "$span_ms" -gt 0 ] || span_ms=1
  disk=$(du -sb "$dir/log" | cut -f1)
  # With projections the rate is up to the projection having folded the
  # last record (wall clock, seen within ~0.1 s), not up to its append.
  local append_span_ms=$span_ms proj_note=""
  if ((projections)); then
    local proj_span_ms=$((projected_ms - $(field first_log_time_ms "$span")))
    ((proj_span_ms > span_ms)) && span_ms=$proj_span_ms
    proj_note=" appended_per_s=$((events * 1000 / append_span_ms)) append_span_ms=$append_span_ms"
  fi
  result="ingest run=$name events=$events per_s=$((events * 1000 / span_ms)) span_ms=$span_ms$proj_note"
  result+=" peak_rss_mb=$((hwm_kb / 1024)) disk_bytes=$disk disk_bytes_per_event=$((disk / (events + 1)))$stop_note"
}

echo "== bench/run.sh: $events events, $leads leads, $flows flows; work dir $work; $(nproc) cores" >&2
t_start=$(now_ms)

echo "== 1/4 ingest durable, projections off" >&2
ingest_run durable 0 --no-projections
r_durable=$result
emit "$r_durable"
echo "== raw limits on the same messages and bytes" >&2
r_kafka=$("$raw" kafka --brokers "$brokers" --topic leadlog.events) || die "raw kafka consume"
emit "$r_kafka"
kill "$broker_pid" 2>/dev/null || true
r_rocks=$("$raw" rocksdb --data-dir "$work/durable/log" --work "$work/raw") || die "raw rocksdb"
emit "$r_rocks"
drop "$work/durable/log"

echo "== 2/4 ingest fast (no fsync), projections off" >&2
ingest_run fast 0 --no-projections --no-fsync
r_fast=$result
emit "$r_fast"
kill "$broker_pid" 2>/dev/null || true
drop "$work/fast/log"

echo "== 3/4 ingest durable, projections live" >&2
ingest_run durable_proj 1
r_durable_proj=$result
emit "$r_durable_proj"
# The same broker: the log's stored offsets are positions in its partitions.
echo "== restart to processing on the durable_proj data dir: as a group member" >&2
restart_row group $((events + 1 + definitions * 64)) "$work/durable_proj/log" "$work"
restart_group_ms=$restart_ms
emit "$restart_line"
echo "== restart to processing on the durable_proj data dir: --assign-partitions" >&2
restart_row assigned $((events + 2 + definitions * 64)) "$work/durable_proj/log" "$work" --assign-partitions
emit "$restart_line"
kill "$broker_pid" 2>/dev/null || true

echo "== 4/4 ingest fast (no fsync), projections live" >&2
ingest_run fast_proj 1 --no-fsync
r_fast_proj=$result
emit "$r_fast_proj"
kill "$broker_pid" 2>/dev/null || true
drop "$work/fast_proj/log"

echo "== rebuild of the lead projection from sequence 0" >&2
/usr/bin/time -v "$leadlog" rebuild --data-dir "$work/durable_proj/log" >"$work/rebuild.out" 2>"$work/rebuild.err" ||
  die "rebuild: $(tail -3 "$work/rebuild.out" "$work/rebuild.err")"
rebuild_line=$(grep "^rebuilt " "$work/rebuild.out")
rebuild_records=$(sed -nE 's/.*: ([0-9]+) records in ([0-9.]+) s \(([0-9]+) records\/s\).*/\1/p' <<<"$rebuild_line")
rebuild_s=$(sed -nE 's/.*: ([0-9]+) records in ([0-9.]+) s \(([0-9]+) records\/s\).*/\2/p' <<<"$rebuild_line")
rebuild_rate=$(sed -nE 's/.*: ([0-9]+) records in ([0-9.]+) s \(([0-9]+) records\/s\).*/\3/p' <<<"$rebuild_line")
rebuild_rss=$(sed -nE 's/.*Maximum resident set size \(kbytes\): ([0-9]+).*/\1/p' "$work/rebuild.err")
grep -q 'identical to the live version' <<<"$rebuild_line" || die "rebuild: $rebuild_line"
emit "rebuild records=$rebuild_records seconds=$rebuild_s per_s=$rebuild_rate peak_rss_mb=$((rebuild_rss / 1024)) identical=1"
echo "== log read and decode with no fold (the floor of any rebuild of this log)" >&2
r_decode=$("$raw" decode --data-dir "$work/durable_proj/log" --threads 2) || die "raw_limits decode"
emit "$r_decode"
drop "$work/durable_proj/log"


if [ -x "$build/bench/tick_bench" ] || [ -x "$root/build/bench/tick_bench" ]; then
  tick_bin="$build/bench/tick_bench"
  [ -x "$tick_bin" ] || tick_bin="$root/build/bench/tick_bench"
  echo "== tick with many due timers" >&2
  # Twice: every timer on one shard folded by one thread (the worst case),
  # and serve's layout: the leads over 64 shards folded on 2 threads. The
  # median of 3 repetitions (each reloads the state): single ticks of the
  # same state varied by ±10 % between runs here.
  tick_line=$("$tick_bin" --leads "$leads" --due $((leads / 20)) --reps 3 | grep -a 'tick_ms=' | tail -1) ||
    die "tick_bench"
  emit "tick $tick_line"
  tick_sharded_line=$("$tick_bin" --leads "$leads" --due $((leads / 20)) --shards 64 --fold-threads 2 --reps 3 |
    grep -a 'tick_ms=' | tail -1) || die "tick_bench --shards 64"
  emit "tick $tick_sharded_line"
else
  echo "== tick: skipped (no build/bench/tick_bench; it is built from bench/tick_bench.cc)" >&2
  emit "tick skipped=no_tick_bench"
  tick_line="" tick_sharded_line=""
fi
if [ -x "$root/bench/http_load.sh" ]; then
  echo "== query latency during ingest (bench/http_load.sh)" >&2
  # Release, as above: deploy/build.sh would otherwise reconfigure $build.
  http_out=$(LEADLOG_BUILD_TYPE=Release LEADLOG_BUILD_DIR="$build" "$root/bench/http_load.sh" 2>&1) || die "http_load.sh: $http_out"
  while IFS= read -r l; do emit "http $l"; done <<<"$http_out"
else
  echo "== query latency: skipped (no bench/http_load.sh)" >&2
  emit "http skipped=no_http_load_sh"
fi

# ---- report --------------------------------------------------------------
k=$(field per_s "$r_kafka")
sync=$(field per_s "$(grep rocksdb_append_sync <<<"$r_rocks")")
nosync=$(field per_s "$(grep rocksdb_append_nosync <<<"$r_rocks")")
readseq=$(field per_s "$(grep rocksdb_read_seq <<<"$r_rocks")")
decode=$(field per_s "$r_decode")
d=$(field per_s "$r_durable"); f=$(field per_s "$r_fast")
dp=$(field per_s "$r_durable_proj"); fp=$(field per_s "$r_fast_proj")
rss_max=0
for r in "$r_durable" "$r_fast" "$r_durable_proj" "$r_fast_proj"; do
  v=$(field peak_rss_mb "$r"); ((v > rss_max)) && rss_max=$v
done
bpe=$(field disk_bytes_per_event "$r_durable_proj")
verdict() {
  [ -n "$1" ] || { echo "not run"; return; }
  awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == ">=" ? v >= t : v <= t); print (ok ? "met" : "MISSED") }'
}
emit "ratio durable_vs_append_sync=$(ratio "$d" "$sync") fast_vs_append_nosync=$(ratio "$f" "$nosync")" \
  "durable_proj_vs_append_sync=$(ratio "$dp" "$sync") fast_proj_vs_append_nosync=$(ratio "$fp" "$nosync")" \
  "durable_vs_kafka=$(ratio "$d" "$k") rebuild_vs_read_seq=$(ratio "$rebuild_rate" "$readseq")" \
  "rebuild_vs_log_decode=$(ratio "$rebuild_rate" "$decode")"
emit "summary events=$events leads=$leads flows=$flows wall_s=$((($(now_ms) - t_start) / 1000)) peak_rss_mb=$rss_max" \
  "disk_bytes_per_event=$bpe restart_ms=$restart_ms restart_group_ms=$restart_group_ms rebuild_per_s=$rebuild_rate"

cat <<EOF

| measure | leadlog | raw limit (same run) | ratio | target |
|---|---|---|---|---|
| ingest durable, projections off | $d ev/s | append fsync/batch $sync ev/s | $(ratio "$d" "$sync") | |
| ingest fast, projections off | $f ev/s | append no fsync $nosync ev/s | $(ratio "$f" "$nosync") | |
| ingest durable, projections live | $dp ev/s | append fsync/batch $sync ev/s | $(ratio "$dp" "$sync") | ≥ 0.35: $(verdict "$(ratio "$dp" "$sync")" 0.35 ">=") |
| ingest fast, projections live | $fp ev/s | append no fsync $nosync ev/s | $(ratio "$fp" "$nosync") | ≥ 0.5: $(verdict "$(ratio "$fp" "$nosync")" 0.5 ">=") |
| ingest durable, projections off vs Kafka | $d ev/s | librdkafka consume $k msg/s | $(ratio "$d" "$k") | |
| rebuild from sequence 0 | $rebuild_rate rec/s | RocksDB sequential read $readseq rec/s | $(ratio "$rebuild_rate" "$readseq") | ≥ 1 M/s: $(verdict "$rebuild_rate" 1000000 ">=") |
| the same vs reading the log with no fold | $rebuild_rate rec/s | log read + decode, 2 threads, no fold $decode rec/s | $(ratio "$rebuild_rate" "$decode") | |
| one tick, $(field due "$tick_line") due among $(field leads "$tick_line") leads, one shard | $(field tick_ms "$tick_line") ms | | | ≤ 200 ms (50 k among 1 M): $(verdict "$(field tick_ms "$tick_line")" 200 "<=") |
| the same over 64 shards, 2 fold threads | $(field tick_ms "$tick_sharded_line") ms | | | ≤ 200 ms (50 k among 1 M): $(verdict "$(field tick_ms "$tick_sharded_line")" 200 "<=") |
| restart to processing, --assign-partitions | $restart_ms ms (serve ready after $serve_ready_ms ms; as a group member: $restart_group_ms ms) | | | ≤ 2000 ms at 10 M: $(verdict "$restart_ms" 2000 "<=") |
| peak RSS (serve, any run) | $rss_max MiB | | | ≤ 1536 MiB at 10 M: $(verdict "$rss_max" 1536 "<=") |
| disk per event (durable_proj, with projection state) | $bpe B | | | |
EOF
if [ -n "$out" ]; then printf '%s\n' "${lines[@]}" >"$out"; fi
