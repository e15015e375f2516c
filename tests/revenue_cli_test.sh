#!/usr/bin/env bash
# Revenue rules through the real binary: the example calendar and revenue
# rules published with `definitions publish --data-dir`, leads reaching MQL
# and SAL with `leadlog ingest`, then `sla report`, `recycle report` and
# `leads stalled` (text and JSON), and their usage and data errors.
# Usage: revenue_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR
# Prints "revenue_cli: N passed, M failed"; exit 0 only when all passed.
set -uo pipefail

BIN=${1:?usage: revenue_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR}
EXAMPLES=${2:?usage: revenue_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR}
[[ -x $BIN ]] || { echo "revenue_cli: $BIN is not executable" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/revenue_cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

CLI_TEST=revenue_cli
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

DB=$TMP/db
expect sla_missing_data_dir 1 '' '^leadlog sla report: no leadlog data in ' 1 -- \
  "$BIN" sla report --data-dir "$TMP/missing"
for def in scoring_model lifecycle_model owner_routing business_calendar revenue_rules; do
  "$BIN" definitions publish --data-dir "$DB" --shards 1 "$EXAMPLES/$def.json" >/dev/null ||
    bad "publish $def"
done
expect definitions_list 0 '^revenue_rules revenue_ops v1: in force on 1 shard' '' 0 -- \
  "$BIN" definitions list --data-dir "$DB"
expect calendar_in_force 0 '^business_calendar berlin_office v1: in force on 1 shard' '' 0 -- \
  "$BIN" definitions list --data-dir "$DB"
# Rules naming a stage the model does not have are filed as rejected.
sed -e 's/"version": 1/"version": 2/' -e 's/"stages": \["mql", "sal"\]/"stages": ["mql", "nowhere"]/' \
  "$EXAMPLES/revenue_rules.json" >"$TMP/bad_rules.json"
"$BIN" definitions publish --data-dir "$DB" --shards 1 "$TMP/bad_rules.json" >/dev/null 2>&1
expect bad_rules_rejected 0 '^revenue_rules revenue_ops v2: not in force, accepted on 0, rejected on 1' '' 0 -- \
  "$BIN" definitions list --data-dir "$DB"

# Three enterprise leads reach MQL; u-1 is accepted (the MQL SLA is met) and
# stays in SAL, u-2 is accepted and rejected as not_icp, u-3 is accepted and
# rejected as wrong_person (recycled).
{
  for u in 1 2 3; do
    echo "{\"type\":\"identify\",\"messageId\":\"i$u\",\"anonymousId\":\"anon-$u\",\"userId\":\"u-$u\",\"traits\":{\"email\":\"u$u@big.example\",\"employees\":5000,\"industry\":\"Computer Software\",\"country\":\"US\",\"title\":\"VP Marketing\"}}"
    for i in 1 2 3; do
      echo "{\"type\":\"page\",\"messageId\":\"pr$u-$i\",\"anonymousId\":\"anon-$u\",\"userId\":\"u-$u\",\"name\":\"Pricing\",\"context\":{\"page\":{\"path\":\"/pricing\"}}}"
    done
    echo "{\"type\":\"track\",\"messageId\":\"d$u\",\"anonymousId\":\"anon-$u\",\"userId\":\"u-$u\",\"event\":\"Demo Requested\",\"properties\":{\"seats\":50}}"
    for i in 1 2 3 4; do
      echo "{\"type\":\"track\",\"messageId\":\"w$u-$i\",\"anonymousId\":\"anon-$u\",\"userId\":\"u-$u\",\"event\":\"Content Downloaded\",\"properties\":{\"content_id\":\"wp-$i\",\"content_type\":\"whitepaper\",\"gated\":true}}"
    done
    echo "{\"type\":\"track\",\"messageId\":\"a$u\",\"userId\":\"u-$u\",\"event\":\"Lead Accepted\",\"properties\":{}}"
  done
  echo '{"type":"track","messageId":"r2","userId":"u-2","event":"Lead Rejected","properties":{"reason":"not_icp"}}'
  echo '{"type":"track","messageId":"r3","userId":"u-3","event":"Lead Rejected","properties":{"reason":"wrong_person"}}'
} >"$TMP/events.jsonl"
"$BIN" ingest --data-dir "$DB" --partitions 1 "$TMP/events.jsonl" >/dev/null || bad "ingest"

expect stages 0 '^sal +1 ' '' 0 -- "$BIN" leads stages --data-dir "$DB"
expect sla_report 0 '^  mql_accept +met +3 +breached +0 +open +0' '' 0 -- \
  "$BIN" sla report --data-dir "$DB"
expect sla_report_open_sal 0 '^  sal_first_contact +met +0 +breached +0 +open +1' '' 0 -- \
  "$BIN" sla report --data-dir "$DB"
expect sla_report_median 0 '^median time to accept: [0-9.]+h working' '' 0 -- \
  "$BIN" sla report --data-dir "$DB"
expect sla_report_json 0 '"by_sla":\{.*"mql_accept":\{"met":3,"breached":0,"open":0' '' 0 -- \
  "$BIN" sla report --data-dir "$DB" --json
expect recycle_report 0 '^  wrong_person from sal +1$' '' 0 -- \
  "$BIN" recycle report --data-dir "$DB"
expect recycle_report_disqualified 0 '^  not_icp from sal +1$' '' 0 -- \
  "$BIN" recycle report --data-dir "$DB"
expect recycle_report_json 0 '"recycles":\{"wrong_person from sal":1\}.*"disqualified_by_recycle_limit":0' '' 0 -- \
  "$BIN" recycle report --data-dir "$DB" --json
expect leads_stalled 0 '^a:anon-1  shard 0  stage sal  owner rep-ent-[a-z]+  stall due .* \(rule stalled_mql_sal\)' '' 0 -- \
  "$BIN" leads stalled --data-dir "$DB"
# The revenue state is stored apart from the lead ("r/<lead>"); `leads get`
# shows it merged back.
expect leads_get_shows_revenue 0 '"revenue":\{.*"stall_rule_id":"stalled_mql_sal"' '' 0 -- \
  "$BIN" leads get --data-dir "$DB" anon-1 --json
expect leads_stalled_count 0 '^1 leads with a stall deadline$' '' 0 -- \
  "$BIN" leads stalled --data-dir "$DB" --stage sal
expect leads_stalled_other_stage 0 '^0 leads with a stall deadline$' '' 0 -- \
  "$BIN" leads stalled --data-dir "$DB" --stage mql

# Usage and argument errors.
expect sla_no_subcommand 2 '' 'expected a subcommand' any -- "$BIN" sla
expect recycle_no_subcommand 2 '' 'expected a subcommand' any -- "$BIN" recycle
expect sla_report_no_data_dir 2 '' '' any -- "$BIN" sla report
expect recycle_report_unknown_flag 2 '' '' any -- "$BIN" recycle report --data-dir "$DB" --nope
expect leads_stalled_bad_limit 1 '' 'limit' any -- "$BIN" leads stalled --data-dir "$DB" --limit 0
expect recycle_missing_data_dir 1 '' '^leadlog recycle report: no leadlog data in ' 1 -- \
  "$BIN" recycle report --data-dir "$TMP/missing"

finish
