#!/usr/bin/env bash
# `leadlog definitions validate|publish` through the real binary:
#   (a) validate: the example files, an invalid file naming the field path,
#       usage and file errors (one line on stderr, exit 1 or 2);
#   (b) publish --data-dir: one definition event per shard (`log`, `stats`,
#       `verify` agree); publishing again counts duplicates, appends nothing;
#       an invalid file publishes nothing;
#   (c) publish --brokers against `leadlog broker`: kcat reads one message
#       per partition (key = event id, protobuf content-type), and
#       `leadlog serve` ingests them into one definition event per shard.
# Usage: definitions_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR
# Prints "definitions_cli: N passed, M failed"; exit 0 only when all passed.
set -uo pipefail

BIN=${1:?usage: definitions_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR}
EXAMPLES=${2:?usage: definitions_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR}
[[ -x $BIN ]] || { echo "definitions_cli: $BIN is not executable" >&2; exit 2; }
command -v kcat >/dev/null || { echo "definitions_cli: kcat not found" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/definitions_cli.XXXXXX")
PIDS_FILE=$TMP/pids
: >"$PIDS_FILE"
cleanup() {
  local pid
  while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$PIDS_FILE"
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

CLI_TEST=definitions_cli
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

# stat_of KEY: a top-level counter of `leadlog stats --json` for $DIR.
stat_of() {
  local json top
  json=$("$BIN" stats --data-dir "$1" --json 2>&1) || return 1
  top=${json%%\"shards\"*}
  [[ $top =~ \"$2\":([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

# expect_eq NAME GOT WANT
expect_eq() {
  if [[ $2 == "$3" ]]; then ok; else bad "$1: got '$2', want '$3'"; fi
}

WAIT_NAME=definitions_cli
# shellcheck source=wait_lib.sh
source "$(dirname "$0")/wait_lib.sh"

# ------------------------------------------------------------ (a) validate
BAD_ROUTING=$TMP/bad_routing.json
cat >"$BAD_ROUTING" <<'EOF'
{"id": "r", "version": 1,
 "queues": [{"id": "smb", "owners": ["o1"]}],
 "territories": [{"id": "t", "queue": "emea", "where": [{"field": "traits.country", "op": "equals", "value": "DE"}]}],
 "default_queue": "smb"}
EOF
TEXT_ROUTING=$TMP/routing.txtpb
cat >"$TEXT_ROUTING" <<'EOF'
owner_routing {
  id: "text_routing" version: 2
  queues { id: "smb" owners: "o1" owners: "o2" }
  default_queue: "smb"
}
EOF

expect validate_scoring 0 '^ok: scoring_model default_b2b v1$' '' 0 -- \
  "$BIN" definitions validate "$EXAMPLES/scoring_model.json"
expect validate_lifecycle 0 '^ok: lifecycle_model demand_waterfall v1$' '' 0 -- \
  "$BIN" definitions validate "$EXAMPLES/lifecycle_model.json"
expect validate_routing 0 '^ok: owner_routing default_routing v1$' '' 0 -- \
  "$BIN" definitions validate "$EXAMPLES/owner_routing.json"
expect validate_text_format 0 '^ok: owner_routing text_routing v2$' '' 0 -- \
  "$BIN" definitions validate "$TEXT_ROUTING"
STDIN=$EXAMPLES/owner_routing.json expect validate_stdin 0 '^ok: owner_routing default_routing v1$' '' 0 -- \
  "$BIN" definitions validate -
expect validate_error_names_path 1 '' \
  '^leadlog definitions validate: .*bad_routing.json: owner_routing.territories\[0\]\.queue: unknown queue "emea"$' 1 -- \
  "$BIN" definitions validate "$BAD_ROUTING"
expect validate_missing_file 1 '' '^leadlog definitions validate: cannot open .*/no-such-file$' 1 -- \
  "$BIN" definitions validate "$TMP/no-such-file"
expect validate_unknown_flag 2 '' 'unknown flag --nope' any -- \
  "$BIN" definitions validate --nope "$BAD_ROUTING"
expect unknown_subcommand 2 '' 'unknown subcommand "frobnicate"' any -- "$BIN" definitions frobnicate
expect publish_needs_a_target 1 '' '^leadlog definitions publish: give exactly one of --brokers or --data-dir$' 1 -- \
  "$BIN" definitions publish "$EXAMPLES/owner_routing.json"
expect publish_two_targets 1 '' '^leadlog definitions publish: give exactly one of --brokers or --data-dir$' 1 -- \
  "$BIN" definitions publish --brokers 127.0.0.1:1 --data-dir "$TMP/x" "$EXAMPLES/owner_routing.json"
expect publish_shards_without_data_dir 1 '' '^leadlog definitions publish: --shards needs --data-dir$' 1 -- \
  "$BIN" definitions publish --brokers 127.0.0.1:1 --shards 2 "$EXAMPLES/owner_routing.json"
expect publish_unknown_flag 2 '' 'unknown flag --partitions' any -- \
  "$BIN" definitions publish --data-dir "$TMP/x" --partitions 2 "$EXAMPLES/owner_routing.json"
expect publish_unreachable_brokers 1 '' '^leadlog definitions publish: brokers 127.0.0.1:1 unreachable' 1 -- \
  "$BIN" definitions publish --brokers 127.0.0.1:1 "$EXAMPLES/owner_routing.json"

# ------------------------------------------------------------ (b) --data-dir
DB=$TMP/db
expect publish_invalid_publishes_nothing 1 '' 'owner_routing.territories\[0\]\.queue: unknown queue' 1 -- \
  "$BIN" definitions publish --data-dir "$DB" "$BAD_ROUTING"
[[ ! -e $DB ]] && ok || bad "publish of an invalid file touched $DB"

expect publish_data_dir 0 '^shard 3: appended definition:owner_routing:default_routing:v1 at sequence 0$' '' 0 -- \
  "$BIN" definitions publish --data-dir "$DB" --shards 4 "$EXAMPLES/owner_routing.json"
expect_eq publish_data_dir_lines "$(grep -c ': appended ' "$TMP/out")" 4
expect_eq appended_after_publish "$(stat_of "$DB" events_appended)" 4
for shard in 0 1 2 3; do
  lines=$("$BIN" log --data-dir "$DB" --shard "$shard")
  expect_eq "log_shard_${shard}_records" "$(grep -c . <<<"$lines")" 1
  [[ $lines == *'"type":"CALL_TYPE_DEFINITION"'* && $lines == *'"event_id":"definition:owner_routing:default_routing:v1"'* ]] &&
    ok || bad "log of shard $shard: $lines"
done

# Same file again (here through stdin): duplicates in every shard, no appends.
STDIN=$EXAMPLES/owner_routing.json expect publish_again_is_duplicate 0 \
  '^shard 0: duplicate definition:owner_routing:default_routing:v1 \(already in the log\)$' '' 0 -- \
  "$BIN" definitions publish --data-dir "$DB" -
expect_eq publish_again_lines "$(grep -c ': duplicate ' "$TMP/out")" 4
expect_eq appended_after_republish "$(stat_of "$DB" events_appended)" 4
expect_eq duplicates_after_republish "$(stat_of "$DB" duplicates_skipped)" 4
expect_eq dead_letters_after_republish "$(stat_of "$DB" dead_letters)" 0
# A new version is a new event.
expect publish_text_format 0 '^shard 0: appended definition:owner_routing:text_routing:v2 at sequence 1$' '' 0 -- \
  "$BIN" definitions publish --data-dir "$DB" "$TEXT_ROUTING"
expect_eq appended_after_new_definition "$(stat_of "$DB" events_appended)" 8
expect verify_after_publish 0 '^ok: 8 records in 4 shards verified$' '' 0 -- "$BIN" verify --data-dir "$DB"

# An empty log gets shard 0 only.
expect publish_empty_log_one_shard 0 '^shard 0: appended ' '' 0 -- \
  "$BIN" definitions publish --data-dir "$TMP/db1" "$EXAMPLES/scoring_model.json"
expect_eq empty_log_shards "$(grep -c . "$TMP/out")" 1

# ------------------------------------------------------------ (c) --brokers
start() {  # LOG COMMAND...: background; pid in $STARTED
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  STARTED=$!
  echo "$STARTED" >>"$PIDS_FILE"
}
has_bootstrap() { [[ -s $1 ]] && [[ $(<"$1") == *:* ]]; }

part_c() {
  start "$TMP/broker.log" "$BIN" broker --partitions 3 --bootstrap-file "$TMP/bootstrap"
  local broker=$STARTED
  if ! wait_until 60 "broker bootstrap" has_bootstrap "$TMP/bootstrap"; then
    bad "no bootstrap from leadlog broker: $(cat "$TMP/broker.log")"
    return
  fi
  local b
  b=$(head -n 1 "$TMP/bootstrap")
  expect publish_brokers 0 '^partition 2: published definition:owner_routing:default_routing:v1 to leadlog.events at offset 0$' '' 0 -- \
    "$BIN" definitions publish --brokers "$b" "$EXAMPLES/owner_routing.json"
  expect_eq publish_brokers_lines "$(grep -c ': published ' "$TMP/out")" 3
  # (An unknown topic is an error with a real broker; librdkafka's mock
  # cluster creates any topic a metadata request names, so it is not tested.)

  local consumed
  consumed=$(timeout 30 kcat -C -b "$b" -t leadlog.events -e -o beginning -q -f '%p|%k|%h\n') ||
    { bad "kcat -C failed"; return; }
  expect_eq kcat_messages "$(grep -c . <<<"$consumed")" 3
  expect_eq kcat_partitions "$(cut -d'|' -f1 <<<"$consumed" | sort -n | tr '\n' ' ')" "0 1 2 "
  expect_eq kcat_keys "$(cut -d'|' -f2 <<<"$consumed" | sort -u)" "definition:owner_routing:default_routing:v1"
  expect_eq kcat_headers "$(cut -d'|' -f3 <<<"$consumed" | sort -u)" "content-type=application/x-protobuf"

  # serve ingests them: one definition event per shard, nothing dead-lettered.
  start "$TMP/serve.log" "$BIN" serve --brokers "$b" --data-dir "$TMP/served" -X session.timeout.ms=6000
  local serve=$STARTED
  appended_is_3() { [[ $(stat_of "$TMP/served" events_appended 2>/dev/null) == 3 ]]; }
  if wait_until 60 "serve to append 3 events" appended_is_3; then ok; else bad "serve: $(tail -n 5 "$TMP/serve.log")"; fi
  kill -TERM "$serve"
  wait "$serve" || bad "serve exited non-zero after SIGTERM"
  expect_eq served_dead_letters "$(stat_of "$TMP/served" dead_letters)" 0
  expect served_verify 0 '^ok: 3 records in 3 shards verified$' '' 0 -- "$BIN" verify --data-dir "$TMP/served"
  kill -TERM "$broker"
  wait "$broker" 2>/dev/null || true
}
part_c

finish
