#!/usr/bin/env bash
# Load test of the HTTP read API while serve ingests: GET /v1/leads/{id}
# over many lead ids with wrk, with demo traffic being ingested (and folded
# live by the lead projection) at the same time.
#
# Method: a standalone `leadlog broker` and `leadlog serve --http
# 127.0.0.1:0`; the example definitions are published, then --preload demo
# events (--leads leads) are ingested; the lead ids are read back through
# GET /v1/leads (pages of 500) into wrk's Lua script. Then `leadlog demo`
# publishes --ingest-events more events (another seed) paced at --rate
# events/s while wrk (-t2 -c CONNS, keep-alive) requests random lead ids for
# --duration seconds. Prints wrk's latency percentiles and requests/s, and
# the records serve appended during the wrk run (from /v1/stats). Everything
# (broker, producer, serve, wrk) shares the machine's cores.
#
# --ingest-events 0 measures reads alone. --binary PATH runs that leadlog
# (e.g. a base build kept elsewhere) instead of building one. --during CMD
# runs `bash -c CMD` alongside wrk with SERVE_PID set to serve's process id
# (e.g. --during 'perf record -g -o /tmp/serve.perf -p $SERVE_PID -- sleep 15');
# the script waits for it after wrk. It also prints serve's CPU seconds
# (user + system, /proc) spent during the wrk run, and where the machine's
# CPU went: serve by thread role (its threads are named, see README
# "Live projection thread (serve)"), wrk, the broker and the demo producer.
#
# Usage: bench/http_load.sh [--preload N] [--leads N] [--ingest-events N] [--rate R]
#                           [--duration S] [--connections C] [--binary PATH]
#                           [--during CMD] [-- extra serve flags]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build}"
preload=20000
leads=5000
partitions=32
ingest_events=400000
rate=10000
duration=20
connections=16
binary=""
during=""
while (($#)); do
  case "$1" in
    --preload) preload="$2"; shift 2 ;;
    --leads) leads="$2"; shift 2 ;;
    --ingest-events) ingest_events="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --during) during="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "http_load: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -n $binary ]]; then
  leadlog="$binary"
else
  "$root/deploy/build.sh" --target leadlog >/dev/null
  leadlog="$build/deploy/leadlog/leadlog"
fi
work="$(mktemp -d /tmp/leadlog-http-bench.XXXXXX)"
pids=()
# Newest first: serve leaves its group while the broker is still up.
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    # (a killed child's status must not become the script's: set -e would
    # exit the trap with it)
    { kill "${pids[i]}" 2>/dev/null && wait "${pids[i]}" 2>/dev/null; } || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
wait_for() {  # SECONDS WHAT COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || { echo "http_load: timed out waiting for $what" >&2; exit 1; }
    sleep 0.2
  done
}

"$leadlog" broker --partitions "$partitions" --bootstrap-file "$work/bootstrap" >/dev/null 2>"$work/broker.err" &
pids+=($!)
wait_for 30 "the broker" test -s "$work/bootstrap"
brokers=$(cat "$work/bootstrap")
for def in scoring_model lifecycle_model owner_routing flows/welcome_series flows/early_stage_stream \
           business_calendar revenue_rules; do
  "$leadlog" definitions publish --brokers "$brokers" "$root/examples/$def.json" >/dev/null
done
"$leadlog" serve --data-dir "$work/log" --brokers "$brokers" --progress-ms 0 \
  --http 127.0.0.1:0 --http-port-file "$work/port" --http-threads "$connections" "$@" \
  >/dev/null 2>"$work/serve.err" &
pids+=($!)
serve_pid=$!
wait_for 60 "serve's HTTP port" test -s "$work/port"
url="http://127.0.0.1:$(cat "$work/port")"
appended() {
  curl -s "$url/v1/stats" | grep -oE '"events_appended":"[0-9]+"' | grep -oE '[0-9]+' |
    awk '{s += $1} END {print s + 0}'
}
"$leadlog" demo --brokers "$brokers" --events "$preload" --leads "$leads" --seed 1 >/dev/null
reached() { (($(appended) >= $1)); }
wait_for 600 "the preload ($(appended) appended)" reached $((preload + 7 * partitions))

# Every lead id, through the API's own pagination.
: >"$work/ids"
cursor=""
while :; do
  curl -s "$url/v1/leads?limit=500${cursor:+&cursor=$cursor}" >"$work/page"
  grep -oE '"lead_key":"[^"]+"' "$work/page" | cut -d'"' -f4 >>"$work/ids"
  cursor=$(grep -oE '"next_cursor":"[^"]+"' "$work/page" | cut -d'"' -f4 || true)
  [[ -n $cursor ]] || break
done
ids=$(wc -l <"$work/ids")
{
  echo "ids = {"
  sed 's/.*/"&",/' "$work/ids"
  echo "}"
  echo 'math.randomseed(42)'
  echo 'request = function() return wrk.format("GET", "/v1/leads/" .. ids[math.random(#ids)]) end'
} >"$work/leads.lua"

if ((ingest_events > 0)); then
  "$leadlog" demo --brokers "$brokers" --events "$ingest_events" --leads "$leads" --seed 2 \
    --rate "$rate" >/dev/null 2>"$work/demo.err" &
  pids+=($!)
  wait_for 60 "ingest to start" reached $((preload + 7 * partitions + 1))
fi
# User + system CPU ticks so far of a process (/proc/PID/stat fields 14 and
# 15; the name in field 2 has no spaces here); nothing once it has ended.
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || true; }
# "role ticks" for each of serve's threads: the thread's name ("ll-http",
# "ll-projector", ... engine/thread_priority.h; librdkafka's "rdk:*" and
# RocksDB's "rocksdb:*" threads grouped; serve's main thread consumes
# from Kafka and is "ll-main(consume)").
serve_thread_ticks() {
  for f in /proc/"$serve_pid"/task/*/stat; do
    sed -E 's/^[0-9]+ \(([^)]*)\) /\1 /' "$f" 2>/dev/null
  done | awk -v main="$(cat /proc/"$serve_pid"/comm)" '{
    role = $1
    if (role ~ /^rdk:/) role = "librdkafka"
    else if (role ~ /^rocksdb:/) role = "rocksdb"
    else if (role == main) role = "ll-main(consume)"
    t[role] += $13 + $14
  } END { for (r in t) print r, t[r] }'
}
before=$(appended)
ticks_before=$(ticks_of "$serve_pid")
serve_thread_ticks >"$work/threads.before"
broker_ticks_before=$(ticks_of "${pids[0]}")
demo_pid=""
((ingest_events > 0)) && demo_pid=${pids[${#pids[@]} - 1]}
demo_ticks_before=$([[ -z $demo_pid ]] || ticks_of "$demo_pid")
during_pid=""
if [[ -n $during ]]; then
  SERVE_PID=$serve_pid bash -c "$during" &
  during_pid=$!
fi
/usr/bin/time -f '%U %S' -o "$work/wrk.time" \
  wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$work/leads.lua" "$url" | tee "$work/wrk.out"
after=$(appended)
ticks_after=$(ticks_of "$serve_pid")
serve_thread_ticks >"$work/threads.after"
broker_ticks_after=$(ticks_of "${pids[0]}")
demo_ticks_after=$([[ -z $demo_pid ]] || ticks_of "$demo_pid")
[[ -z $during_pid ]] || wait "$during_pid" || echo "http_load: --during command failed" >&2
hz=$(getconf CLK_TCK)
seconds() { awk -v t="$1" -v hz="$hz" 'BEGIN {printf "%.1f", t / hz}'; }
# CPU seconds between two tick counts of a process; "none" for a process
# that did not run (no demo) or ended during the run.
spent() { if [[ -n $1 && -n $2 ]]; then seconds $(($2 - $1)); else echo "none"; fi; }
# Where the machine's CPU went during the run: every process of the
# benchmark, and serve by thread role (CPU seconds; threads that ended
# during the run are missing from the roles).
wrk_cpu=$(awk '{printf "%.1f", $1 + $2}' "$work/wrk.time")
echo "http_load: CPU seconds during the ${duration}s run on $(nproc) cores ($((duration * $(nproc))) available):" \
     "serve $(seconds $((ticks_after - ticks_before))), wrk $wrk_cpu," \
     "broker $(spent "$broker_ticks_before" "$broker_ticks_after")," \
     "demo producer $(spent "$demo_ticks_before" "$demo_ticks_after");" \
     "$(uptime | sed 's/.*load/load/')"
echo "http_load: serve's CPU seconds by thread: $(awk -v hz="$hz" '
    NR == FNR { b[$1] = $2; next }
    { d = $2 - b[$1]; if (d > 0) printf "%s %.1f\n", $1, d / hz }' \
    "$work/threads.before" "$work/threads.after" | sort -k2 -rn | awk '{printf "%s%s %s", sep, $1, $2; sep = ", "}')"
echo "http_load: $ids lead ids; serve appended $((after - before)) records during the ${duration}s run" \
     "($(((after - before) / duration))/s; demo: $ingest_events events paced at $rate/s)"
curl -s "$url/metrics" | grep -E '^leadlog_http_request_duration_seconds_(bucket\{route="/v1/leads/\{id\}",le="0.00[12]"|count\{route="/v1/leads/\{id\}")'
