#!/usr/bin/env bash
# Measures the durable ingest rate of `leadlog demo` traffic into
# `leadlog serve` (fsync per batch unless --no-fsync is passed through).
#
# Method: a standalone `leadlog broker` (64 partitions, so each stays far
# below the mock's 5 MiB retention) is pre-loaded with N demo events; then
# `leadlog serve` starts and consumes them. The rate is N divided by the span
# of log time between the first and the last appended record (log_time_ms is
# assigned at append), so the consumer-group join (~3 s in the mock) is not
# counted. Produce and consume run in separate processes on the same 2 cores.
#
# Usage: bench/ingest_rate.sh [--events N] [--leads N] [-- extra serve flags]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build}"
events=200000
leads=20000
while (($#)); do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --leads) leads="$2"; shift 2 ;;
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

"$leadlog" broker --partitions 64 --bootstrap-file "$work/bootstrap" >/dev/null &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
brokers="$(cat "$work/bootstrap")"
"$leadlog" demo --brokers "$brokers" --events "$events" --leads "$leads" 2>/dev/null

"$leadlog" serve --data-dir "$work/log" --brokers "$brokers" --progress-ms 0 \
  -X session.timeout.ms=6000 "$@" 2>"$work/serve.err" &
serve=$!
pids+=($serve)
total=0
for _ in $(seq 1 3000); do
  sum=$("$leadlog" stats --data-dir "$work/log" --json 2>/dev/null |
    sed -E 's/^\{"events_appended":([0-9]+),"duplicates_skipped":([0-9]+),"dead_letters":([0-9]+).*/\1+\2+\3/' || true)
  total=$((${sum:-0}))
  [ "${total:-0}" -ge "$events" ] && break
  sleep 0.2
done
kill -TERM "$serve"; wait "$serve" || true
first=$("$leadlog" log --data-dir "$work/log" --limit 1000000 2>/dev/null |
  sed -nE 's/.*"log_time_ms":"([0-9]+)".*/\1/p' | sort -n | sed -n '1p;$p' | tr '\n' ' ')
read -r t0 t1 <<<"$first"
span=$((t1 - t0))
[ "$span" -gt 0 ] || span=1
echo "events=$events ingested=$total span_ms=$span rate_events_per_s=$((events * 1000 / span)) flags=[$*]"
