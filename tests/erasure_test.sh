#!/usr/bin/env bash
# Erasure of one lead's personal data end to end (README "Erasure"): a real
# `leadlog serve` (standalone broker, kcat as the producer) ingests events
# carrying distinctive personal values for three leads and dead letters
# naming them; the first lead is erased over HTTP (admin token; 401, 400
# naming the field, 404 first), the API, timeline, `leadlog log`, `leads
# why` and `dead-letters` no longer show its values while another lead's
# remain; the third is erased with `leadlog leads erase --brokers` and serve
# is SIGKILLed right after: after a restart the erasure is applied exactly
# once. Finally, with serve stopped, no file of the data dir holds any
# erased byte string (data_dir_grep: raw bytes of every file and the
# decompressed entries of every SST, since Snappy hides strings from grep),
# while the kept lead's values are still found.
# Usage: erasure_test.sh PATH/TO/leadlog PATH/TO/data_dir_grep [SEED]
set -uo pipefail

NAME=erasure
BIN=${1:?usage: erasure_test.sh PATH/TO/leadlog PATH/TO/data_dir_grep [SEED]}
GREP_TOOL=${2:?usage: erasure_test.sh PATH/TO/leadlog PATH/TO/data_dir_grep [SEED]}
SEED=${3:-$RANDOM}
source "$(dirname "$0")/serve_crash_lib.sh"
CLI_TEST=erasure
source "$(dirname "$0")/cli_lib.sh"
command -v kcat >/dev/null || { echo "erasure: SKIP (no kcat)"; exit 0; }

# call NAME STATUS BODY_REGEX -- curl args...: the status code and a body match.
call() {
  local name=$1 want=$2 re=$3
  shift 4
  local code
  code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$@")
  if [[ $code == "$want" ]] && grep -Eq -e "$re" "$TMP/body"; then
    ok
  else
    bad "$name: HTTP $code (want $want), body: $(head -c 400 "$TMP/body")"
  fi
}
absent() {  # NAME FILE STRING...: none of the strings is in FILE
  local name=$1 file=$2 s
  shift 2
  for s in "$@"; do
    if grep -qF -- "$s" "$file"; then bad "$name: still shows \"$s\""; else ok; fi
  done
}
present() {  # NAME FILE STRING
  if grep -qF -- "$3" "$2"; then ok; else bad "$1: lost \"$3\""; fi
}

# Distinctive values: erased (lead 1 and 3) and kept (lead 2).
E_EMAIL=janette.erasable@erasure-corp.example
E_NAME="Janette Erasable"
E_PHONE=+1-555-0142-7731
E_IP=203.0.113.199
E_AGENT=ErasableAgent/9.1
E_CITY=Erasington
C_NAME="Crashy Namesworth"
C_EMAIL=crashy.namesworth@crash-corp.example
K_NAME="Keeper Staysalot"
K_EMAIL=keeper.staysalot@keep-corp.example

start_broker 2
printf 's3cret\n' >"$TMP/token"
HTTP_FLAGS=(--http 127.0.0.1:0 --http-port-file "$TMP/port" --http-admin-token-file "$TMP/token")
start_serve 1 "${HTTP_FLAGS[@]}"
wait_until 60 "serve's HTTP port" test -s "$TMP/port"
URL="http://127.0.0.1:$(cat "$TMP/port")"
for def in scoring_model.json lifecycle_model.json flows/welcome_series.json; do
  "$BIN" definitions publish --brokers "$BROKERS" "$(dirname "$0")/../examples/$def" >/dev/null ||
    fail "publish $def"
done

identify() {  # ID ANON USER EMAIL NAME PHONE IP AGENT CITY
  printf '{"type":"identify","messageId":"%s","anonymousId":"%s","userId":"%s","traits":{"email":"%s","name":"%s","phone":"%s","employees":800,"address":{"city":"%s"}},"context":{"ip":"%s","userAgent":"%s"}}\n' \
    "$1" "$2" "$3" "$4" "$5" "$6" "$9" "$7" "$8"
}
{
  identify m1 anon-erase-7 u-erase-me-7 "$E_EMAIL" "$E_NAME" "$E_PHONE" "$E_IP" "$E_AGENT" "$E_CITY"
  printf '{"type":"page","messageId":"m2","anonymousId":"anon-erase-7","name":"Pricing","context":{"page":{"path":"/pricing"},"ip":"%s"}}\n' "$E_IP"
  identify m3 anon-keep-8 u-keep-me-8 "$K_EMAIL" "$K_NAME" +1-555-0100-0008 198.51.100.88 \
    KeeperAgent/1.0 Keepington
  identify m4 anon-crash-9 u-crash-me-9 "$C_EMAIL" "$C_NAME" +1-555-0100-0009 192.0.2.99 \
    CrashAgent/2.0 Crashville
  # Dead letters: a broken message naming the erased lead, one the kept lead.
  printf '{"type":"identify","userId":"u-erase-me-7","traits":{"name":"%s"\n' "$E_NAME"
  printf '{"type":"identify","userId":"u-keep-me-8","traits":{"name":"%s"\n' "$K_NAME"
} >"$TMP/events.jsonl"
# One partition: a lead's records stay in one shard (and in order).
kcat -P -b "$BROKERS" -t leadlog.events -p 0 -l "$TMP/events.jsonl" 2>"$TMP/kcat.err" ||
  fail "kcat: $(tail -1 "$TMP/kcat.err")"
wait_until 60 "4 events and 2 dead letters" bash -c \
  "curl -s '$URL/v1/stats' | grep -q '\"events_appended\":\"7\"' && curl -s '$URL/v1/stats' | grep -q '\"dead_letters\":\"2\"'"

call lead_before 200 "$E_NAME" -- "$URL/v1/leads/u-erase-me-7"
AUTH=(-H 'Authorization: Bearer s3cret')
ERASE_BODY='{"reason":"GDPR art. 17 request #77","request_id":"req-77"}'
call erase_no_token 401 '"code":"unauthenticated"' -- -X POST -d "$ERASE_BODY" \
  "$URL/v1/leads/u-erase-me-7/erase"
call erase_no_reason 400 '"field":"reason"' -- "${AUTH[@]}" -X POST -d '{"request_id":"x"}' \
  "$URL/v1/leads/u-erase-me-7/erase"
call erase_unknown 404 '"field":"id"' -- "${AUTH[@]}" -X POST -d "$ERASE_BODY" \
  "$URL/v1/leads/u-nobody/erase"
call erase 202 '"event_id":"erasure:req-77".*"complete":true' -- "${AUTH[@]}" -X POST \
  -d "$ERASE_BODY" "$URL/v1/leads/u-erase-me-7/erase"
MIN=$(grep -oE '"min_position":"[^"]+"' "$TMP/body" | cut -d'"' -f4)
[[ -n $MIN ]] && ok || bad "erase: no min_position"

call lead_after 200 '"request_id":"req-77"' -- "$URL/v1/leads/u-erase-me-7?min_position=$MIN"
present lead_after "$TMP/body" "erased@erasure-corp.example"
absent lead_after "$TMP/body" "$E_NAME" "$E_EMAIL" "$E_PHONE" "$E_CITY"
call timeline 200 '"entries"' -- "$URL/v1/leads/u-erase-me-7/timeline?min_position=$MIN"
absent timeline "$TMP/body" "$E_NAME" "$E_EMAIL" "$E_PHONE" "$E_IP" "$E_AGENT" "$E_CITY"
call kept_lead 200 "$K_NAME" -- "$URL/v1/leads/u-keep-me-8"

# The CLI beside serve (read-only opens; RocksDB makes a read-only open
# beside a writer best-effort, so a failed open is retried for a while).
cli() {  # OUT COMMAND...: runs the command until it succeeds (10 s at most)
  local out=$1 deadline=$((SECONDS + 10))
  shift
  until "$@" >"$out" 2>&1; do
    ((SECONDS < deadline)) || { bad "$* failed: $(tail -1 "$out")"; return 1; }
    sleep 0.2
  done
}
cli "$TMP/log.out" "$BIN" log --data-dir "$DATA" --shard 0 --limit 1000
absent log "$TMP/log.out" "$E_NAME" "$E_EMAIL" "$E_PHONE" "$E_IP" "$E_AGENT" "$E_CITY"
present log "$TMP/log.out" "$K_NAME"
cli "$TMP/why.out" "$BIN" leads why --data-dir "$DATA" u-erase-me-7
absent why "$TMP/why.out" "$E_NAME" "$E_EMAIL" "$E_PHONE"
cli "$TMP/dl.out" "$BIN" dead-letters --data-dir "$DATA" --json
grep -c '"erased_by":"erasure:req-77"' "$TMP/dl.out" | grep -qx 1 && ok ||
  bad "dead-letters: want one erased by req-77: $(cat "$TMP/dl.out")"
cli "$TMP/dl.out" "$BIN" dead-letters --data-dir "$DATA"
absent dead_letters "$TMP/dl.out" "$E_NAME" u-erase-me-7
present dead_letters "$TMP/dl.out" "$K_NAME"

# The third lead through the CLI and Kafka, then SIGKILL right away.
"$BIN" leads erase --data-dir "$DATA" --brokers "$BROKERS" --reason "crash test" \
  --request-id crash-1 u-crash-me-9 >"$TMP/erase.out" 2>&1 || bad "leads erase: $(cat "$TMP/erase.out")"
kill -KILL "$SERVE"
wait "$SERVE" 2>/dev/null
rm -f "$TMP/port"
start_serve 2 "${HTTP_FLAGS[@]}"
wait_until 60 "serve's HTTP port after the restart" test -s "$TMP/port"
URL="http://127.0.0.1:$(cat "$TMP/port")"
wait_until 60 "the crash erasure applied" bash -c \
  "curl -s '$URL/v1/leads/u-crash-me-9' | grep -q '\"request_id\":\"crash-1\"'"
call crash_lead 200 '"request_id":"crash-1"' -- "$URL/v1/leads/u-crash-me-9"
[[ $(grep -o '"request_id":"crash-1"' "$TMP/body" | wc -l) -eq 1 ]] && ok ||
  bad "crash erasure recorded more than once on the lead"
absent crash_lead "$TMP/body" "$C_NAME" "$C_EMAIL"
# The lead's own shard has it; the other shard's partition may still be on
# its way in after the restart (a new group member, under load).
crash_erasures() {
  "$BIN" log --data-dir "$DATA" --limit 1000 >"$TMP/log2.out" 2>&1
  [[ $(grep -c 'erasure:crash-1' "$TMP/log2.out") -ge 2 ]]
}
wait_until 60 "the crash erasure in both shards' logs" crash_erasures
[[ $(grep -c 'erasure:crash-1' "$TMP/log2.out") -eq 2 ]] && ok ||
  bad "want the crash erasure once per shard (2), got $(grep -c 'erasure:crash-1' "$TMP/log2.out")"
[[ $(grep -c 'erasure:req-77' "$TMP/log2.out") -eq 2 ]] && ok || bad "req-77 not once per shard"

# Serve stopped: no file of the data dir holds an erased value.
kill -TERM "$SERVE"
wait "$SERVE" || bad "serve did not exit 0 on SIGTERM"
"$BIN" verify --data-dir "$DATA" >/dev/null 2>&1 && ok || bad "verify after erasure"
"$GREP_TOOL" "$DATA" "$E_NAME" "$E_EMAIL" "$E_PHONE" "$E_IP" "$E_AGENT" "$E_CITY" "$C_NAME" \
  "$C_EMAIL" Crashville CrashAgent/2.0 192.0.2.99 >"$TMP/gone" || fail "data_dir_grep failed"
while IFS=$'\t' read -r n s; do
  ((n == 0)) && ok || bad "the data dir still holds \"$s\" $n times"
done <"$TMP/gone"
"$GREP_TOOL" "$DATA" "$K_NAME" "$K_EMAIL" 198.51.100.88 KeeperAgent/1.0 Keepington >"$TMP/kept" ||
  fail "data_dir_grep failed"
while IFS=$'\t' read -r n s; do
  ((n > 0)) && ok || bad "the kept lead's \"$s\" is not found: the absence checks prove nothing"
done <"$TMP/kept"
finish
