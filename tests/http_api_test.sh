#!/usr/bin/env bash
# The HTTP read API of a real `leadlog serve` (embedded broker) with curl:
# definitions published over HTTP (admin token) reach the log through Kafka,
# demo traffic is ingested, then every endpoint answers; errors are JSON 4xx
# naming the field; min_position waits or answers 503 with Retry-After; the
# CLI keeps working beside serve; reads keep answering through a SIGUSR1
# rebuild; SIGTERM exits 0; background threads run at --background-nice,
# the HTTP threads at serve's own priority. The live projection runs with a tiny lag limit
# (--projection-lag-max 8, batches of 100): ingest waits for it, /metrics
# counts the waits, and the lag never exceeds the limit plus one batch.
# Usage: http_api_test.sh PATH/TO/leadlog EXAMPLES_DIR
set -uo pipefail

BIN=${1:?usage: http_api_test.sh PATH/TO/leadlog EXAMPLES_DIR}
EXAMPLES=${2:?usage: http_api_test.sh PATH/TO/leadlog EXAMPLES_DIR}
# shellcheck source=wait_lib.sh
source "$(dirname "$0")/wait_lib.sh"
serve_test_setup http_api  # TMP, SERVE, fatal

passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
  failed=$((failed + 1))
  echo "http_api: FAIL $*" >&2
}

# call NAME STATUS BODY_REGEX -- curl args...: the status code and a body match.
call() {
  local name=$1 want=$2 re=$3
  shift 4
  local code
  code=$(curl -s -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' "$@")
  if [[ $code == "$want" ]] && grep -Eq -e "$re" "$TMP/body"; then
    ok
  else
    bad "$name: HTTP $code (want $want), body:"
    head -c 600 "$TMP/body" | sed 's/^/  | /' >&2
    echo >&2
  fi
}

printf 's3cret\n' >"$TMP/admin-token"
"$BIN" serve --data-dir "$TMP/log" --partitions 4 --bootstrap-file "$TMP/bootstrap" \
  --http 127.0.0.1:0 --http-port-file "$TMP/port" --http-admin-token-file "$TMP/admin-token" \
  --tick-ms 0 --progress-ms 0 --batch-ms 2 --batch-events 100 --projection-lag-max 8 \
  --background-nice 10 \
  >/dev/null 2>"$TMP/serve.err" &
SERVE=$!
wait_until 60 "serve's bootstrap and HTTP port" test -s "$TMP/port" -a -s "$TMP/bootstrap"
URL="http://127.0.0.1:$(cat "$TMP/port")"
BROKERS=$(cat "$TMP/bootstrap")

call healthz 200 '"status":"ok"' -- "$URL/healthz"
call unknown_path 404 '"code":"not_found"' -- "$URL/v2/x"

# Publishing: admin only, validated first, then through Kafka into the log.
call publish_no_token 401 '"code":"unauthenticated"' -- \
  -X POST --data-binary @"$EXAMPLES/scoring_model.json" "$URL/v1/definitions"
call publish_wrong_token 403 '"code":"permission_denied"' -- -H 'Authorization: Bearer nope' \
  -X POST --data-binary @"$EXAMPLES/scoring_model.json" "$URL/v1/definitions"
call publish_invalid 400 '"field":"scoring_model.version"' -- -H 'Authorization: Bearer s3cret' \
  -X POST --data-binary '{"scoring_model": {"id": "x", "version": 0}}' "$URL/v1/definitions"
call validate 200 '"kind":"lifecycle_model"' -- \
  -X POST --data-binary @"$EXAMPLES/lifecycle_model.json" "$URL/v1/definitions/validate"
for def in scoring_model.json lifecycle_model.json owner_routing.json flows/welcome_series.json \
           business_calendar.json revenue_rules.json; do
  call "publish $def" 201 '"published":true' -- -H 'Authorization: Bearer s3cret' \
    -X POST --data-binary @"$EXAMPLES/$def" "$URL/v1/definitions"
done

"$BIN" demo --brokers "$BROKERS" --events 3000 --leads 200 >/dev/null 2>"$TMP/demo.err" ||
  fatal "demo: $(tail -1 "$TMP/demo.err")"
appended() {
  curl -s "$URL/v1/stats" | grep -oE '"events_appended":"[0-9]+"' | grep -oE '[0-9]+' |
    awk '{s += $1} END {print s + 0}'
}
# 3000 events + 6 definitions on each of 4 shards.
wait_until 120 "3024 records" bash -c "(( \$($(declare -f appended); URL=$URL appended) >= 3024 ))"
wait_until 30 "readiness" bash -c "curl -sf '$URL/readyz' >/dev/null"
call readyz 200 '"status":"ready"' -- "$URL/readyz"

# Definitions published over HTTP are in every shard's log.
call definitions 200 '"kind":"scoring_model","id":"default_b2b","version":1,"accepted_shards":4' -- \
  "$URL/v1/definitions"
call definition_get 200 '"latest"' -- "$URL/v1/definitions/nurture_flow/welcome_series"

call leads_page 200 '"next_cursor":"' -- "$URL/v1/leads?limit=2"
LEAD=$(grep -oE '"lead_key":"[^"]+"' "$TMP/body" | head -1 | cut -d'"' -f4)
[[ -n $LEAD ]] && ok || bad "no lead key in /v1/leads"
CURSOR=$(grep -oE '"next_cursor":"[^"]+"' "$TMP/body" | cut -d'"' -f4)
call leads_next_page 200 '"lead_key"' -- "$URL/v1/leads?limit=2&cursor=$CURSOR"
grep -q "\"lead_key\":\"$LEAD\"" "$TMP/body" && bad "second page repeats $LEAD" || ok
call lead 200 "\"lead_key\":\"$LEAD\".*" -- "$URL/v1/leads/$LEAD"
grep -q '"lifecycle"' "$TMP/body" && grep -q '"score"' "$TMP/body" && ok || bad "lead lacks lifecycle/score"
call timeline 200 '"entries":\[\{"sequence"' -- "$URL/v1/leads/$LEAD/timeline?limit=10"
call leads_stage 200 '"stage":"known"' -- "$URL/v1/leads?stage=known&limit=5"
call leads_stalled 200 '"position"' -- "$URL/v1/leads?stalled=true"
call leads_flow 200 '"lead_key"' -- "$URL/v1/leads?flow=welcome_series"
call leads_sla 200 '"position"' -- "$URL/v1/leads?sla=open"
call funnel 200 '"stages":\[\{"stage":"anonymous"' -- "$URL/v1/reports/funnel?from=2020-01-01"
call sla 200 '"position"' -- "$URL/v1/reports/sla"
call recycle 200 '"position"' -- "$URL/v1/reports/recycle"
call flows 200 '"flow_id":"welcome_series"' -- "$URL/v1/flows"
call flow_stats 200 '"enrolled"' -- "$URL/v1/flows/welcome_series/stats"
call metrics 200 'leadlog_consumer_lag_messages\{partition="3"\} 0' -- "$URL/metrics"
grep -q '^leadlog_ingest_appended_total [0-9]' "$TMP/body" && ok || bad "metrics: no ingest counter"
grep -Eq '^leadlog_ingest_projection_lag_waits_total [1-9]' "$TMP/body" && ok ||
  bad "metrics: ingest never waited for the projection: $(grep projection_lag_waits "$TMP/body")"
grep -Eq '^leadlog_ingest_projection_errors_total 0$' "$TMP/body" && ok || bad "metrics: projection errors"
grep -q 'leadlog_http_request_duration_seconds_bucket{route="/v1/leads/{id}",le="0.001"}' "$TMP/body" &&
  ok || bad "metrics: no latency histogram"

# --background-nice 10: serve's ingest, live projection, emitter
# and control threads run at nice 10; the HTTP threads (8 by default) stay at
# the nice serve started with (this shell's).
base_nice=$(nice)
if ((base_nice < 10)); then
  nices=$(for f in /proc/"$SERVE"/task/*/stat; do sed -E 's/^.*\) //' "$f" | awk '{print $17}'; done)
  low=$(grep -cx 10 <<<"$nices")
  normal=$(grep -cx -- "$base_nice" <<<"$nices")
  ((low >= 4 && normal >= 8)) && ok ||
    bad "thread nice values: $low at 10 (want >= 4), $normal at $base_nice (want >= 8): $(echo $nices)"
fi

# serve's threads are named by role (README "Live projection thread (serve)").
names=$(cat /proc/"$SERVE"/task/*/comm)
for role in ll-http ll-http-accept ll-projector ll-append ll-changes ll-control; do
  grep -qx -- "$role" <<<"$names" && ok || bad "no thread named $role among: $(echo $names)"
done
(($(grep -cx ll-http <<<"$names") == 8)) && ok ||
  bad "$(grep -cx ll-http <<<"$names") threads named ll-http (want the 8 of --http-threads' default)"

# Errors: JSON 400 naming the field.
call limit_too_big 400 '"field":"limit"' -- "$URL/v1/leads?limit=100000"
call unknown_param 400 '"field":"colour"' -- "$URL/v1/leads?colour=red"
call bad_cursor 400 '"field":"cursor"' -- "$URL/v1/leads?cursor=zz"
call bad_date 400 '"field":"from"' -- "$URL/v1/reports/funnel?from=yesterday"
call no_lead 404 '"field":"id"' -- "$URL/v1/leads/u:nobody"

# min_position: a reached token answers at once; an unreachable one is 503.
call stats 200 '"token":"0:' -- "$URL/v1/stats"
TOKEN=$(grep -oE '"token":"[^"]+"' "$TMP/body" | cut -d'"' -f4)
call min_position_reached 200 '"shards"' -- "$URL/v1/stats?min_position=$TOKEN"
call min_position_bad 400 '"field":"min_position"' -- "$URL/v1/stats?min_position=x:y"
call min_position_unreached 503 '"field":"min_position"' -- "$URL/v1/stats?min_position=0:999999999"
grep -qi '^Retry-After: 1' "$TMP/headers" && ok || bad "503 without Retry-After"

# Read-your-writes: publish one more event and read it with the position
# serve reports after it (wait, no polling).
call flow_publish 201 '"published":true' -- -H 'Authorization: Bearer s3cret' \
  -X POST --data-binary @"$EXAMPLES/flows/webinar_follow_up.json" "$URL/v1/definitions"
call flows_after_publish 200 'webinar_follow_up' -- \
  "$URL/v1/flows?min_position=$(echo "$TOKEN" | sed -E 's/:([0-9]+)/:\1+1/g' |
      awk -F, '{for (i = 1; i <= NF; i++) {split($i, p, ":"); split(p[2], q, "+"); printf "%s%s:%d", (i > 1 ? "," : ""), p[1], q[1] + 1}}')"

# The CLI reads beside the running serve.
"$BIN" leads get --data-dir "$TMP/log" "$LEAD" >"$TMP/cli.out" 2>&1 && grep -q "lead $LEAD" "$TMP/cli.out" &&
  ok || bad "leads get beside serve: $(head -2 "$TMP/cli.out")"

# A blue/green rebuild while reading: every read answers 200.
kill -USR1 "$SERVE"
reads_failed=0
deadline=$((SECONDS + 60))
until grep -q 'rebuilt lead' "$TMP/serve.err"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/leads/$LEAD")
  [[ $code == 200 ]] || reads_failed=$((reads_failed + 1))
  ((SECONDS < deadline)) || fatal "rebuild did not finish"
done
((reads_failed == 0)) && ok || bad "$reads_failed reads failed during the rebuild"
grep -q 'identical to the live version' "$TMP/serve.err" && ok || bad "rebuild not identical"
call lead_after_rebuild 200 "\"lead_key\":\"$LEAD\"" -- "$URL/v1/leads/$LEAD"

kill -TERM "$SERVE"
wait "$SERVE" && ok || bad "serve did not exit 0 on SIGTERM: $(tail -3 "$TMP/serve.err")"
SERVE=
lag=$(sed -nE 's/.*live projection: .*largest lag seen ([0-9]+) records.*/\1/p' "$TMP/serve.err")
[[ -n $lag ]] && ((lag <= 8 + 100)) && ok || bad "projection lag ${lag:-unreported} > 8 + one batch of 100"

echo "http_api: $passed passed, $failed failed"
((failed == 0))
