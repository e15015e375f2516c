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

# The first N lines of a command's output. The command runs to the end (its
# exit status counts); a pipe into head would kill it with SIGPIPE, which
# pipefail turns into a failed demo.
first() {
  local n="$1"
  shift
  "$@" >"$data/command.out"
  head -n "$n" "$data/command.out"
}
mkdir -p "$data"
echo "== data dir: $data"

serve_pid=""
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true; }
trap cleanup EXIT

rm -f "$data/bootstrap"
rm -f "$data/http_port"
# The admin token guards publishing definitions and erasure over HTTP.
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$data/admin-token"
# The HTTP API on a free loopback port (the default is 127.0.0.1:8080).
"$leadlog" serve --data-dir "$data/log" --bootstrap-file "$data/bootstrap" --progress-ms 2000 \
  --http 127.0.0.1:0 --http-port-file "$data/http_port" --http-admin-token-file "$data/admin-token" &
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

echo "== publishing the example definitions to every partition (leadlog definitions publish)"
# The calendar before the revenue rules that name it (each is checked against
# what is in force when its record is folded).
definitions=(scoring_model lifecycle_model owner_routing flows/welcome_series flows/early_stage_stream
  flows/late_stage_stream flows/webinar_follow_up flows/governance business_calendar revenue_rules)
for def in "${definitions[@]}"; do
  "$leadlog" definitions publish "$root/examples/$def.json" --brokers "$brokers" | tail -1
done
definition_events=$((${#definitions[@]} * 8))  # each definition x serve's 8 partitions

echo "== publishing $events demo events over $leads leads"
start_ms=$(date +%s%3N)
# Paced: the embedded (mock) broker keeps at most ~5 MiB per partition and
# evicts the oldest messages, consumed or not, so publishing must not run far
# ahead of ingest. A real Kafka broker has no such limit.
"$leadlog" demo --brokers "$brokers" --events "$events" --leads "$leads" --rate 40000
events=$((events + 2 + definition_events))

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
api="http://127.0.0.1:$(cat "$data/http_port")"
echo "== the HTTP API while serve runs ($api): GET /readyz, then the first MQL lead"
curl -sS "$api/readyz" | grep -o '"status":"[^"]*"\|"reason":"[^"]*"' || true
mql_key="$(curl -sS "$api/v1/leads?stage=mql&limit=1" | grep -o '"lead_key":"[^"]*"' | head -1 | cut -d'"' -f4 || true)"
if [ -n "$mql_key" ]; then
  echo "   GET /v1/leads/$mql_key: some of its fields (every response carries its position token)"
  curl -sS "$api/v1/leads/$mql_key" |
    grep -o '"token":"[^"]*"\|"current_stage":"[^"]*"\|"owner_id":"[^"]*"\|"grade":"[^"]*"' | head -5 || true
fi
# The first known (identified) lead that has an email trait.
erase_key=""
for key in $(curl -sS "$api/v1/leads?stage=known&limit=20" | grep -o '"lead_key":"[^"]*"' | cut -d'"' -f4); do
  if curl -sS "$api/v1/leads/$key" | grep -q '"name":"email"'; then erase_key="$key"; break; fi
done
if [ -n "$erase_key" ]; then
  echo "== erasure of one lead's personal data: POST /v1/leads/$erase_key/erase (admin token)"
  erased="$(curl -sS -X POST -H "Authorization: Bearer $(cat "$data/admin-token")" \
    -d '{"reason":"demo: data subject request","request_id":"demo-1"}' "$api/v1/leads/$erase_key/erase")"
  echo "   $erased" | cut -c1-240
  min_position="$(echo "$erased" | grep -o '"min_position":"[^"]*"' | cut -d'"' -f4)"
  echo "   GET /v1/leads/$erase_key?min_position=...: its emails now, and the recorded erasure"
  # 503 + Retry-After until the projection reached it (each shard flushes and
  # compacts after an erasure, so the projection falls behind for seconds).
  for _ in $(seq 1 12); do
    code="$(curl -sS -o "$data/erased.json" -w '%{http_code}' "$api/v1/leads/$erase_key?min_position=$min_position" || true)"
    [ "$code" = 503 ] || break
  done
  grep -o '"erased@[^"]*"\|"request_id":"[^"]*"' "$data/erased.json" | sort | uniq -c ||
    head -c 300 "$data/erased.json"
fi
echo "== lead changes on leadlog.leads (compacted, keyed by lead): messages so far, then one key"
kcat -C -b "$brokers" -t leadlog.leads -o beginning -e -q -f '%k\n' 2>/dev/null | wc -l || true
kcat -C -b "$brokers" -t leadlog.leads -o beginning -e -q -c 1 -f 'key %k: %S bytes\n' 2>/dev/null || true
echo "== actions on leadlog.actions (kcat -C -t leadlog.actions): counts by type, then one hand-off"
sleep 1  # the emitter publishes right after each batch; give the last one a moment
kcat -C -b "$brokers" -t leadlog.actions -o beginning -e -q 2>/dev/null |
  grep -o '"type":"[a-z_]*"' | sort | uniq -c || true
kcat -C -b "$brokers" -t leadlog.actions -o beginning -e -q 2>/dev/null | grep -m1 '"type":"handoff"' |
  cut -c1-600 || true
echo "   ..."
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
if [ -n "$erase_key" ]; then
  echo "== the erased lead's identify in the log (rewritten: email erased@<domain>, no name, phone or ip)"
  "$leadlog" log --data-dir "$data/log" --lead "${erase_key#?:}" --limit 200 | grep -m1 'CALL_TYPE_IDENTIFY' | cut -c1-600 || true
fi
echo "== dead letters: leadlog dead-letters"
first 5 "$leadlog" dead-letters --data-dir "$data/log"
echo "== definitions in force: leadlog definitions list"
"$leadlog" definitions list --data-dir "$data/log"
echo "== leads per lifecycle stage: leadlog leads stages"
"$leadlog" leads stages --data-dir "$data/log"
echo "== leads handed to sales: leadlog leads list --stage mql --limit 5"
"$leadlog" leads list --data-dir "$data/log" --stage mql --limit 5
mql="$(first 1 "$leadlog" leads list --data-dir "$data/log" --stage mql --limit 1 | cut -d' ' -f1)"
if [ -n "$mql" ] && [ "$mql" != "0" ]; then
  echo "== one of them: leadlog leads get $mql"
  "$leadlog" leads get --data-dir "$data/log" "$mql"
  echo "== why: leadlog leads why $mql (first 40 lines)"
  first 40 "$leadlog" leads why --data-dir "$data/log" "$mql"
fi
echo "== nurture flows: leadlog flows list, leadlog flows stats welcome_series"
"$leadlog" flows list --data-dir "$data/log"
"$leadlog" flows stats --data-dir "$data/log" welcome_series
if [ -n "$mql" ] && [ "$mql" != "0" ]; then
  echo "== where $mql is in each flow: leadlog leads journey $mql"
  first 30 "$leadlog" leads journey --data-dir "$data/log" "$mql"
fi
echo "== recycling and SLAs (examples/revenue_rules.json on examples/business_calendar.json)"
echo "   (the demo's log spans seconds, so clocks are mostly open; leadlog serve fires deadlines on its ticks)"
"$leadlog" leads stalled --data-dir "$data/log" --limit 5
first 20 "$leadlog" sla report --data-dir "$data/log"
first 20 "$leadlog" recycle report --data-dir "$data/log"
echo "== rebuild the lead projection from sequence 0 and compare with the live state"
"$leadlog" rebuild --data-dir "$data/log" | tail -1
