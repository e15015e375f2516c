#!/usr/bin/env bash
# The main job on the embedded default: builds leadlog, starts `leadlog serve`
# with its embedded Kafka broker, publishes a realistic B2B workload to it with
# `leadlog demo`, waits until everything is ingested, stops serve (SIGTERM) and
# shows what was ingested.
#
# Usage: deploy/run-demo.sh [--events N] [--leads N] [--data-dir DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build}"
events=20000
leads=1000
data=""
while (($#)); do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --leads) leads="$2"; shift 2 ;;
    --data-dir) data="$2"; shift 2 ;;
    *) echo "run-demo: unknown argument $1" >&2; exit 2 ;;
  esac
done

"$root/deploy/build.sh" --target leadlog
leadlog="$build/deploy/leadlog/leadlog"
[ -n "$data" ] || data="$(mktemp -d /tmp/leadlog-demo.XXXXXX)"
mkdir -p "$data"
echo "== data dir: $data"

serve_pid=""
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true; }
trap cleanup EXIT

rm -f "$data/bootstrap"
"$leadlog" serve --data-dir "$data/log" --bootstrap-file "$data/bootstrap" --progress-ms 2000 &
serve_pid=$!
for _ in $(seq 1 100); do [ -s "$data/bootstrap" ] && break; sleep 0.1; done
[ -s "$data/bootstrap" ] || { echo "run-demo: serve did not start" >&2; exit 1; }
brokers="$(cat "$data/bootstrap")"
echo "== leadlog serve is running with its embedded broker at $brokers"
echo "   (any Kafka client can publish there, e.g. kcat -P -b $brokers -t leadlog.events)"

echo "== publishing 2 bad messages with kcat (they go to the dead-letter path; ingest continues)"
printf '%s\n' '{"type":"track","anonymousId":"anon-x","event":"Form Submitted"}' \
  '{"type":"screen","messageId":"m-bad-2","userId":"u-1"}' | kcat -P -b "$brokers" -t leadlog.events
# Their dead letters also show that serve has joined its consumer group.
for _ in $(seq 1 300); do
  "$leadlog" stats --data-dir "$data/log" --json 2>/dev/null | grep -q '"dead_letters":2,"shards"' && break
  sleep 0.1
done

echo "== publishing $events demo events over $leads leads"
start_ms=$(date +%s%3N)
# Paced: the embedded (mock) broker keeps at most ~5 MiB per partition and
# evicts the oldest messages, consumed or not, so publishing must not run far
# ahead of ingest. A real Kafka broker has no such limit.
"$leadlog" demo --brokers "$brokers" --events "$events" --leads "$leads" --rate 40000
events=$((events + 2))

echo "== waiting for ingest"
done_count=0
last_count=-1
stalled_polls=0
while :; do
  json="$("$leadlog" stats --data-dir "$data/log" --json 2>/dev/null || true)"
  done_count=$(echo "$json" | sed -E 's/^\{"events_appended":([0-9]+),"duplicates_skipped":([0-9]+),"dead_letters":([0-9]+).*/\1 \2 \3/' |
    awk '{print $1+$2+$3}')
  done_count=${done_count:-0}
  [ "$done_count" -ge "$events" ] && break
  if [ "$done_count" -eq "$last_count" ]; then stalled_polls=$((stalled_polls + 1)); else stalled_polls=0; fi
  last_count=$done_count
  if [ "$stalled_polls" -ge 75 ]; then  # 15 s without progress
    echo "run-demo: ingest stalled at $done_count of $events messages" >&2
    exit 1
  fi
  sleep 0.2
done
end_ms=$(date +%s%3N)
kill -TERM "$serve_pid"
wait "$serve_pid"
serve_pid=""
echo "== ingested $done_count of $events messages; publish+ingest took $((end_ms - start_ms)) ms (fsync per batch)"

echo "== leadlog stats"
"$leadlog" stats --data-dir "$data/log"
echo "== leadlog verify"
"$leadlog" verify --data-dir "$data/log"
# An identified lead: its records are indexed by userId and by anonymousId.
lead="$("$leadlog" log --data-dir "$data/log" --shard 0 --limit 5000 | grep -m1 -o '"user_id":"[^"]*"' | cut -d'"' -f4 || true)"
echo "== the history of one lead ($lead): leadlog log --lead $lead (first 8 records)"
"$leadlog" log --data-dir "$data/log" --lead "$lead" --limit 8
echo "== dead letters: leadlog dead-letters"
"$leadlog" dead-letters --data-dir "$data/log" | head -5
