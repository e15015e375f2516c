#!/usr/bin/env bash
# Measures the ingest rate of `leadlog demo` traffic into `leadlog serve`
# (fsync per batch unless --no-fsync is passed through to serve).
#
# Method: a standalone `leadlog broker` (64 partitions) and `leadlog serve`
# start; once serve has joined its group (a marker event is ingested),
# `leadlog demo` publishes N events keyed by lead while serve consumes them.
# Publishing concurrently keeps every mock partition under its 5 MiB
# retention (demo traffic is Zipf-skewed: the busiest lead's partition would
# overflow if pre-loaded). The rate is N divided by the span of log time
# between the first and the last appended demo record (log_time_ms is
# assigned at append). Producer, broker and consumer share the same 2 cores,
# so this is a lower bound of what serve alone sustains. The run fails if
# the ingested count differs from the published count.
#
# The example definitions (scoring, lifecycle, owner routing, the nurture
# governance and --flows N nurture flows: the four example flows, then
# renamed copies of them) are published to every partition first, so the
# lead projection runs live with real models (`-- --no-projections` measures
# ingest alone). --rate R paces the producer at R events/s (0 = as fast as
# it can): with the projection live, an unpaced producer can run more than
# 5 MiB ahead of the consumer on the busiest partition, and the mock broker
# then evicts messages (the run fails on the count check). After ingest,
# serve stops and `leadlog rebuild` rebuilds the lead projection from
# sequence 0; its rate (records/s) is printed too. With the change stream on
# (the default), serve is stopped only once every change is published: the
# script prints how long that took after ingest, serve's CPU seconds (user +
# system, the whole run) and the change backlog at stop.
#
# Usage: bench/ingest_rate.sh [--events N] [--leads N] [--flows N] [--rate R]
#                             [-- extra serve flags]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build}"
events=200000
leads=20000
flows=10
rate=0
while (($#)); do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --leads) leads="$2"; shift 2 ;;
    --flows) flows="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "ingest_rate: unknown argument $1" >&2; exit 2 ;;
  esac
done
LEADLOG_BUILD_TYPE=Release "$root/deploy/build.sh" --target leadlog >/dev/null
leadlog="$build/deploy/leadlog/leadlog"
work="$(mktemp -d /tmp/leadlog-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

appended_total() {  # events_appended + duplicates_skipped + dead_letters
  local sum
  sum=$("$leadlog" stats --data-dir "$work/log" --json 2>/dev/null |
    sed -E 's/^\{"events_appended":([0-9]+),"duplicates_skipped":([0-9]+),"dead_letters":([0-9]+).*/\1+\2+\3/' || true)
  echo $((${sum:-0}))
}

"$leadlog" broker --partitions 64 --bootstrap-file "$work/bootstrap" >/dev/null &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
brokers="$(cat "$work/bootstrap")"

"$leadlog" serve --data-dir "$work/log" --brokers "$brokers" --progress-ms 0 \
  -X session.timeout.ms=6000 "$@" 2>"$work/serve.err" &
serve=$!
pids+=($serve)
echo '{"type":"track","messageId":"bench-start","userId":"bench","event":"Bench Started"}' |
  kcat -P -b "$brokers" -t leadlog.events
for _ in $(seq 1 300); do [ "$(appended_total)" -ge 1 ] && break; sleep 0.1; done

definitions=0
publish() { "$leadlog" definitions publish "$1" --brokers "$brokers" >/dev/null; definitions=$((definitions + 1)); }
for def in scoring_model lifecycle_model owner_routing flows/governance; do
  publish "$root/examples/$def.json"
done
examples=(welcome_series early_stage_stream late_stage_stream webinar_follow_up)
for ((i = 0; i < flows; i++)); do
  name=${examples[i % 4]}
  if ((i < 4)); then
    publish "$root/examples/flows/$name.json"
  else  # a renamed copy: another flow id, the same steps
    sed -E "0,/\"id\": *\"$name\"/s//\"id\": \"${name}_copy$i\"/" "$root/examples/flows/$name.json" >"$work/flow$i.json"
    publish "$work/flow$i.json"
  fi
done
"$leadlog" demo --brokers "$brokers" --events "$events" --leads "$leads" --rate "$rate" 2>/dev/null
expected=$((events + 1 + definitions * 64))
total=0
for _ in $(seq 1 3000); do
  total=$(appended_total)
  [ "$total" -ge "$expected" ] && break
  sleep 0.2
done
# Change stream: how long after ingest the last change is published (unless
# serve runs with --no-changes or --no-projections), then serve's CPU time.
drain_ms=n/a
if [[ " $* " != *" --no-changes "* && " $* " != *" --no-projections "* ]]; then
  t0=$(date +%s%N)
  for _ in $(seq 1 3000); do
    "$leadlog" changes --data-dir "$work/log" 2>/dev/null | grep -qx 'pending: 0' && break
    sleep 0.2
  done
  drain_ms=$((($(date +%s%N) - t0) / 1000000))
fi
read -r -a stat <"/proc/$serve/stat"
serve_cpu_s=$(awk -v t=$((stat[13] + stat[14])) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }')
kill -TERM "$serve"; wait "$serve" || true
[ "$total" -eq "$expected" ] || { echo "ingest_rate: ingested $total of $expected" >&2; exit 1; }
span=$("$leadlog" log --data-dir "$work/log" --limit 1000000 2>/dev/null | grep -v 'bench-start\|CALL_TYPE_DEFINITION' |
  sed -nE 's/.*"log_time_ms":"([0-9]+)".*/\1/p' | sort -n | sed -n '1p;$p' | tr '\n' ' ')
read -r t0 t1 <<<"$span"
ms=$((t1 - t0))
[ "$ms" -gt 0 ] || ms=1
echo "events=$events leads=$leads flows=$flows producer_rate=$rate ingested=$((total - 1 - definitions * 64)) span_ms=$ms rate_events_per_s=$((events * 1000 / ms)) serve_flags=[$*]"
# The change stream's backlog when serve stopped (published by the next
# serve; `-- --no-changes` leaves every change pending).
echo "changes: drained ${drain_ms} ms after ingest; serve cpu ${serve_cpu_s} s; at stop $("$leadlog" changes --data-dir "$work/log" 2>/dev/null | tail -1 || echo n/a)"
rebuild=$("$leadlog" rebuild --data-dir "$work/log" | grep "^rebuilt ")
echo "rebuild: $rebuild"
