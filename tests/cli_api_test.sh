#!/usr/bin/env bash
# The CLI read commands through a running serve's HTTP API (issue 6): a real
# `leadlog serve` (embedded broker, read token required) ingests the example
# definitions and demo traffic; then every read command prints exactly the
# same with --api URL (or LEADLOG_API) as with --data-dir on the same data;
# and the API errors (bad URL, nothing listening, missing or wrong token,
# unknown lead, an option the API cannot serve) are one clear line, exit 1.
# Usage: cli_api_test.sh PATH/TO/leadlog EXAMPLES_DIR
set -uo pipefail

BIN=${1:?usage: cli_api_test.sh PATH/TO/leadlog EXAMPLES_DIR}
EXAMPLES=${2:?usage: cli_api_test.sh PATH/TO/leadlog EXAMPLES_DIR}
[[ -x $BIN ]] || { echo "cli_api: $BIN is not executable" >&2; exit 2; }
# shellcheck source=wait_lib.sh
source "$(dirname "$0")/wait_lib.sh"
serve_test_setup cli_api  # TMP, SERVE, fatal
CLI_TEST=cli_api
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

printf 'r34d\n' >"$TMP/read-token"
printf 'nope\n' >"$TMP/wrong-token"
"$BIN" serve --data-dir "$TMP/log" --partitions 4 --bootstrap-file "$TMP/bootstrap" \
  --http 127.0.0.1:0 --http-port-file "$TMP/port" --http-read-token-file "$TMP/read-token" \
  --tick-ms 0 --progress-ms 0 --batch-ms 2 >/dev/null 2>"$TMP/serve.err" &
SERVE=$!
wait_until 60 "serve's bootstrap and HTTP port" test -s "$TMP/port" -a -s "$TMP/bootstrap"
URL="http://127.0.0.1:$(cat "$TMP/port")"
BROKERS=$(cat "$TMP/bootstrap")
AUTH=(-H 'Authorization: Bearer r34d')

defs=(scoring_model.json lifecycle_model.json owner_routing.json business_calendar.json
      revenue_rules.json flows/welcome_series.json flows/webinar_follow_up.json)
for def in "${defs[@]}"; do
  "$BIN" definitions publish --brokers "$BROKERS" "$EXAMPLES/$def" >/dev/null 2>"$TMP/publish.err" ||
    fatal "publish $def: $(tail -1 "$TMP/publish.err")"
done
"$BIN" demo --brokers "$BROKERS" --events 3000 --leads 200 >/dev/null 2>"$TMP/demo.err" ||
  fatal "demo: $(tail -1 "$TMP/demo.err")"
appended() {
  curl -s -H 'Authorization: Bearer r34d' "$URL/v1/stats" | grep -oE '"events_appended":"[0-9]+"' |
    grep -oE '[0-9]+' | awk '{s += $1} END {print s + 0}'
}
export URL
export -f appended
want=$((3000 + ${#defs[@]} * 4))  # every definition goes to each of the 4 shards
wait_until 120 "$want records" bash -c "(( \$(appended) >= $want ))"
# Ready allows a bounded projection lag; the --data-dir reads below must see
# the same state as the API, so wait until the projection has folded every
# record (a zero projection_lag is omitted from the JSON).
wait_until 60 "the projection to fold every record" bash -c \
  "curl -sf '$URL/readyz' >'$TMP/readyz' && ! grep -q projection_lag '$TMP/readyz'"

# With its embedded broker serve is the topic's only consumer: it assigns the
# partitions itself instead of joining a group (no 3 s join on every start).
grep -q 'consuming every partition (assigned, no group join)' "$TMP/serve.err" && ok ||
  bad "embedded serve did not take the assign path: $(grep 'ready in' "$TMP/serve.err")"

# Leads to look at: one enrolled in a flow.
curl -s "${AUTH[@]}" "$URL/v1/leads?flow=welcome_series&limit=1" >"$TMP/flow_lead"
LEAD=$(grep -oE '"lead_key":"[^"]+"' "$TMP/flow_lead" | head -1 | cut -d'"' -f4)
[[ -n $LEAD ]] || fatal "no lead enrolled in welcome_series: $(head -c 300 "$TMP/flow_lead")"
# An owner: the demo's stalled leads (MQL and beyond) have one.
OWNER=$(curl -s "${AUTH[@]}" "$URL/v1/leads?stalled=true" | grep -oE '"owner_id":"[^"]+"' | head -1 | cut -d'"' -f4)
[[ -n $OWNER ]] || fatal "no lead with an owner"

# same NAME ARGS...: the command's stdout with --data-dir and with --api
# (token by flag) is identical and not empty, and both exit 0.
same() {
  local name=$1
  shift
  "$BIN" "$@" --data-dir "$TMP/log" >"$TMP/direct.out" 2>"$TMP/direct.err"
  local direct_code=$?
  "$BIN" "$@" --api "$URL" --api-token-file "$TMP/read-token" >"$TMP/api.out" 2>"$TMP/api.err"
  local api_code=$?
  if [[ $direct_code -ne 0 ]]; then
    bad "$name: direct exit $direct_code: $(head -3 "$TMP/direct.err")"
  elif [[ $api_code -ne 0 ]]; then
    bad "$name: --api exit $api_code: $(head -3 "$TMP/api.err")"
  elif [[ ! -s $TMP/direct.out ]]; then
    bad "$name: no output"
  elif ! cmp -s "$TMP/direct.out" "$TMP/api.out"; then
    bad "$name: --api output differs from --data-dir:"
    diff "$TMP/direct.out" "$TMP/api.out" | head -20 | sed 's/^/  | /' >&2
  else
    ok
  fi
}

same leads_list leads list --limit 1000
same leads_list_default leads list
same leads_list_stage leads list --stage known --limit 7
same leads_list_owner leads list --owner "$OWNER"
same leads_list_json leads list --json --limit 5
same leads_stages leads stages
same leads_get leads get "$LEAD"
same leads_get_json leads get --json "$LEAD"
same leads_why leads why "$LEAD"
same leads_journey leads journey "$LEAD"
same leads_journey_json leads journey --json "$LEAD"
same leads_stalled leads stalled --limit 1000
same leads_stalled_stage leads stalled --stage mql --limit 3
same flows_list flows list
same flows_stats flows stats welcome_series
same flows_stats_json flows stats --json welcome_series
same sla_report sla report
same sla_report_json sla report --json
same recycle_report recycle report
same recycle_report_json recycle report --json
same definitions_list definitions list
# The comparisons above were over real data: many leads, more than one stage.
rows=$("$BIN" leads list --limit 1000 --data-dir "$TMP/log" | grep -c ' shard ')
((rows >= 100)) && ok || bad "leads list: only $rows leads"
stages=$("$BIN" leads stages --data-dir "$TMP/log" | grep -vc '^total')
((stages >= 2)) && ok || bad "leads stages: only $stages stage(s)"

# The environment instead of flags.
"$BIN" leads stages --data-dir "$TMP/log" >"$TMP/direct.out"
LEADLOG_API=$URL LEADLOG_API_TOKEN_FILE=$TMP/read-token "$BIN" leads stages >"$TMP/env.out" 2>"$TMP/env.err" &&
  cmp -s "$TMP/direct.out" "$TMP/env.out" && ok ||
  bad "LEADLOG_API/LEADLOG_API_TOKEN_FILE: $(head -3 "$TMP/env.err")"
# A flag wins over the environment.
LEADLOG_API=http://127.0.0.1:1 "$BIN" sla report --api "$URL" --api-token-file "$TMP/read-token" >/dev/null 2>&1 &&
  ok || bad "--api should win over LEADLOG_API"

# Errors: one line naming what went wrong, exit 1 (2 for usage).
expect bad_url_scheme 1 '' '^leadlog leads stages: --api: "ftp://x" is not an http:// or https:// URL$' 1 -- \
  "$BIN" leads stages --api ftp://x
expect bad_url_env 1 '' '^leadlog sla report: LEADLOG_API: "nonsense" is not an http' 1 -- \
  env LEADLOG_API=nonsense "$BIN" sla report
expect nothing_listening 1 '' '^leadlog flows list: http://127.0.0.1:1/v1/flows: .*\(is leadlog serve running with --http\?\)$' 1 -- \
  "$BIN" flows list --api http://127.0.0.1:1
expect no_token 1 '' "^leadlog leads get: $URL/v1/leads/.*: 401 unauthenticated: " 1 -- \
  "$BIN" leads get "$LEAD" --api "$URL"
expect wrong_token 1 '' "^leadlog recycle report: $URL/v1/reports/recycle: 403 permission_denied: " 1 -- \
  "$BIN" recycle report --api "$URL" --api-token-file "$TMP/wrong-token"
expect missing_token_file 1 '' '^leadlog leads stages: --api-token-file: cannot open ' 1 -- \
  "$BIN" leads stages --api "$URL" --api-token-file "$TMP/no-such-file"
expect unknown_lead 1 '' "^leadlog leads get: $URL/v1/leads/u%3Anobody: 404 not_found: id: no lead \"u:nobody\"$" 1 -- \
  "$BIN" leads get u:nobody --api "$URL" --api-token-file "$TMP/read-token"
expect unknown_flow 1 '' '404 not_found: id: no flow "nope" in force$' 1 -- \
  "$BIN" flows stats nope --api "$URL" --api-token-file "$TMP/read-token"
expect definitions_json_needs_data_dir 1 '' '^leadlog definitions list: --json: .* not served by the API; use --data-dir$' 1 -- \
  "$BIN" definitions list --json --api "$URL" --api-token-file "$TMP/read-token"
expect neither_data_dir_nor_api 2 '' '^leadlog: --data-dir is required \(or --api URL' any -- \
  env -u LEADLOG_API "$BIN" leads list

kill -TERM "$SERVE"
wait "$SERVE" && ok || bad "serve did not exit 0 on SIGTERM: $(tail -3 "$TMP/serve.err")"
SERVE=
finish
