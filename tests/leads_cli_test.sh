#!/usr/bin/env bash
# The lead projection through the real binary: definitions published with
# `definitions publish --data-dir`, events with `leadlog ingest`, then
# `definitions list`, `leads get|why|list|stages` and `rebuild`, and their
# errors (one line on stderr; exit 1 failure, 2 usage).
# Usage: leads_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR
# Prints "leads_cli: N passed, M failed"; exit 0 only when all passed.
set -uo pipefail

BIN=${1:?usage: leads_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR}
EXAMPLES=${2:?usage: leads_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leads_cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

CLI_TEST=leads_cli
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

DB=$TMP/db
expect missing_data_dir 1 '' '^leadlog leads get: no leadlog data in .*/empty-but-missing$' 1 -- \
  "$BIN" leads get --data-dir "$TMP/empty-but-missing" u-1
for def in scoring_model lifecycle_model owner_routing; do
  "$BIN" definitions publish --data-dir "$DB" --shards 1 "$EXAMPLES/$def.json" >/dev/null ||
    bad "publish $def"
done
# A second scoring model version replaces the first.
sed 's/"version": 1/"version": 2/' "$EXAMPLES/scoring_model.json" >"$TMP/scoring_v2.json"
"$BIN" definitions publish --data-dir "$DB" "$TMP/scoring_v2.json" >/dev/null || bad "publish v2"
expect definitions_list 0 '^scoring_model default_b2b v2: in force on 1 shard\(s\), accepted on 1, rejected on 0' '' 0 -- \
  "$BIN" definitions list --data-dir "$DB"
grep -Eq '^scoring_model default_b2b v1: not in force, accepted on 1' "$TMP/out" && ok ||
  bad "definitions list: v1 should be listed as no longer in force"
grep -Eq '^owner_routing default_routing v1: in force on 1 shard' "$TMP/out" && ok ||
  bad "definitions list: routing in force"

# One lead: an anonymous visit, identify (enterprise size), then enough
# buying signals for the sales-ready rule, then sales accepts.
{
  echo '{"type":"page","messageId":"p0","anonymousId":"anon-1","name":"Home","context":{"page":{"path":"/"}}}'
  echo '{"type":"identify","messageId":"i1","anonymousId":"anon-1","userId":"u-1","traits":{"email":"ana@big.example","title":"VP Marketing","employees":5000,"industry":"Computer Software","country":"US"}}'
  for i in 1 2 3; do
    echo "{\"type\":\"page\",\"messageId\":\"pr$i\",\"anonymousId\":\"anon-1\",\"userId\":\"u-1\",\"name\":\"Pricing\",\"context\":{\"page\":{\"path\":\"/pricing\"}}}"
  done
  echo '{"type":"track","messageId":"d1","anonymousId":"anon-1","userId":"u-1","event":"Demo Requested","properties":{"seats":50}}'
  for i in 1 2 3 4; do
    echo "{\"type\":\"track\",\"messageId\":\"w$i\",\"anonymousId\":\"anon-1\",\"userId\":\"u-1\",\"event\":\"Content Downloaded\",\"properties\":{\"content_id\":\"wp-$i\",\"content_type\":\"whitepaper\",\"gated\":true}}"
  done
  echo '{"type":"track","messageId":"a1","anonymousId":"anon-1","userId":"u-1","event":"Lead Accepted","properties":{"owner_id":"rep-x"}}'
  echo '{"type":"track","messageId":"x1","anonymousId":"anon-1","userId":"u-1","event":"Opportunity Won","properties":{"opportunity_id":"o-1","amount":100}}'
  echo '{"type":"page","messageId":"q0","anonymousId":"anon-2","name":"Home","context":{"page":{"path":"/"}}}'
} >"$TMP/events.jsonl"
"$BIN" ingest --data-dir "$DB" --partitions 1 "$TMP/events.jsonl" >/dev/null || bad "ingest"

expect leads_get 0 '^  stage: sal since' '' 0 -- "$BIN" leads get --data-dir "$DB" u-1
grep -Eq '^lead a:anon-1 \(shard 0\)$' "$TMP/out" && ok || bad "leads get: key a:anon-1"
grep -Eq '^  owner: rep-' "$TMP/out" && ok || bad "leads get: an owner"
grep -Eq 'known -> mql by ACTOR_ENGINE rule sales_ready \(demand_waterfall v1\)' "$TMP/out" && ok ||
  bad "leads get: the sales-ready transition"
grep -Eq 'mql -> sal by ACTOR_SALES' "$TMP/out" && ok || bad "leads get: the accepted transition"
grep -Eq 'rejected .* sal -> ' "$TMP/out" && ok || bad "leads get: the rejected Opportunity Won"
expect leads_get_by_anonymous_id 0 '^lead a:anon-1 ' '' 0 -- "$BIN" leads get --data-dir "$DB" anon-1
expect leads_get_json 0 '"lead_key":"a:anon-1"' '' 0 -- "$BIN" leads get --data-dir "$DB" --json u-1
grep -q '"handoffs":"1"' "$TMP/out" && ok || bad "leads get --json: one hand-off"
expect leads_why 0 'rule sales_ready' '' 0 -- "$BIN" leads why --data-dir "$DB" u-1
grep -Eq '#[0-9]+ .* page Pricing' "$TMP/out" && ok || bad "leads why: cites the pricing views"
expect leads_list_mql_empty 0 '^0 leads matched$' '' 0 -- "$BIN" leads list --data-dir "$DB" --stage mql
expect leads_list_sal 0 '^a:anon-1  shard 0  stage sal' '' 0 -- "$BIN" leads list --data-dir "$DB" --stage sal
expect leads_stages 0 '^anonymous +1 ' '' 0 -- "$BIN" leads stages --data-dir "$DB"
grep -Eq '^total +2$' "$TMP/out" && ok || bad "leads stages: total 2"
expect leads_unknown 1 '' '^leadlog leads get: no lead "nobody"$' 1 -- "$BIN" leads get --data-dir "$DB" nobody
expect leads_no_subcommand 2 '' 'expected a subcommand' any -- "$BIN" leads
expect leads_missing_id 2 '' '' any -- "$BIN" leads get --data-dir "$DB"

expect rebuild 0 'state identical to the live version$' '' 0 -- "$BIN" rebuild --data-dir "$DB"
grep -Eq '^rebuilt lead v1 -> v2: ' "$TMP/out" && ok || bad "rebuild: v1 -> v2"
expect rebuild_again 0 '^rebuilt lead v2 -> v3: ' '' 0 -- "$BIN" rebuild --data-dir "$DB"
expect leads_get_after_rebuild 0 '^  stage: sal since' '' 0 -- "$BIN" leads get --data-dir "$DB" u-1
expect rebuild_unknown_projection 1 '' '^leadlog rebuild: --projection: unknown projection "nope"' 1 -- \
  "$BIN" rebuild --data-dir "$DB" --projection nope

finish
