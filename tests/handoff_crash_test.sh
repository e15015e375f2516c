#!/usr/bin/env bash
# Hand-off idempotency and projection determinism across SIGKILL, with the
# real processes: a separate `leadlog broker`, the example definitions and a
# demo workload published to it, and `leadlog serve` (live lead projection +
# action emitter) killed with SIGKILL several times during ingest and
# restarted on the same data dir. At the end:
#   - every event is in the log exactly once (stats, verify);
#   - leadlog.actions holds every hand-off exactly once: no action id twice,
#     and as many actions as the projection's leads count hand-offs;
#   - `leadlog rebuild` from sequence 0 gives state identical to the live
#     state built across the kills (exit 0, "identical");
#   - the live projection (its own thread, --projection-lag-max 50: ingest
#     waits for it often) never lagged more than the limit plus one batch.
# Usage: handoff_crash_test.sh PATH/TO/leadlog SOURCE_DIR [SEED]
set -euo pipefail

BIN=${1:?usage: handoff_crash_test.sh PATH/TO/leadlog SOURCE_DIR [SEED]}
SRC=${2:?usage: handoff_crash_test.sh PATH/TO/leadlog SOURCE_DIR [SEED]}
SEED=${3:-${LEADLOG_CRASH_SEED:-$RANDOM}}
command -v kcat >/dev/null || { echo "handoff_crash: kcat not found" >&2; exit 2; }
echo "handoff_crash: seed $SEED (LEADLOG_CRASH_SEED=$SEED replays the kill schedule)"
NAME=handoff_crash
LAG_MAX=50
SERVE_FLAGS=(--projection-lag-max $LAG_MAX)
# shellcheck source=serve_crash_lib.sh
source "$(dirname "$0")/serve_crash_lib.sh"

PARTITIONS=4
EVENTS=12000
start_broker $PARTITIONS

for def in scoring_model lifecycle_model owner_routing flows/welcome_series flows/early_stage_stream \
  flows/late_stage_stream flows/webinar_follow_up flows/governance; do
  "$BIN" definitions publish "$SRC/examples/$def.json" --brokers "$BROKERS" >/dev/null ||
    fail "publishing $def"
done
# The workload is published while serve runs and is killed: paced so that
# ingest spans the kill rounds (12000 events of ~400 bytes over 4 partitions
# stay well under the mock broker's 5 MiB per partition).
"$BIN" demo --brokers "$BROKERS" --events $EVENTS --leads 400 --rate 800 >/dev/null 2>"$TMP/demo.err" &
DEMO=$!
PIDS+=($DEMO)
EXPECTED=$((EVENTS + 8 * PARTITIONS))

# Kill -9 at seeded points while ingest (and the live projection and the
# emitter) are running, then ingest the rest.
kill_rounds $EXPECTED
wait_demo $DEMO $EVENTS
finish_serve $EXPECTED

stats=$("$BIN" stats --data-dir "$DATA" --json)
[[ $stats == *"\"events_appended\":$EXPECTED,"* ]] || fail "expected $EXPECTED appended: $stats"
"$BIN" verify --data-dir "$DATA" >/dev/null || fail "verify"

# The outbox (hand-offs and flow sends) against the actions on the topic:
# the same ids, each published once.
"$BIN" actions --data-dir "$DATA" --ids --limit 100000000 | sort >"$TMP/outbox-ids"
outbox=$(wc -l <"$TMP/outbox-ids")
handoffs=$("$BIN" actions --data-dir "$DATA" --type handoff --ids --limit 100000000 | wc -l)
((handoffs > 0)) || fail "no lead reached the hand-off"
kcat -C -b "$BROKERS" -t leadlog.actions -e -q -f '%h\n' 2>/dev/null |
  grep -o 'leadlog-action-id=[^,]*' | cut -d= -f2 | sort >"$TMP/action-ids"
published=$(wc -l <"$TMP/action-ids")
dupes=$(uniq -d "$TMP/action-ids" | wc -l)
((dupes == 0)) || fail "$dupes action ids published twice: $(uniq -d "$TMP/action-ids" | head -3 | tr '\n' ' ')"
cmp -s "$TMP/outbox-ids" "$TMP/action-ids" ||
  fail "published ids differ from the outbox: $(diff "$TMP/outbox-ids" "$TMP/action-ids" | head -5 | tr '\n' ' ')"
echo "handoff_crash: $outbox actions ($handoffs hand-offs, the rest flow sends), each published once"

# The final serve's report: lag <= the limit + one batch (200 events).
lag=$(sed -nE 's/.*live projection: .*largest lag seen ([0-9]+) records.*/\1/p' "$TMP/serve-final.err")
[[ -n $lag ]] || fail "no live projection report: $(tail -2 "$TMP/serve-final.err" | tr '\n' ' ')"
((lag <= LAG_MAX + SERVE_BATCH_EVENTS)) || fail "projection lagged $lag records (limit $LAG_MAX + a batch)"
echo "handoff_crash: $(grep -o 'live projection: .*' "$TMP/serve-final.err")"

out=$("$BIN" rebuild --data-dir "$DATA") || fail "rebuild: $out"
[[ $out == *"identical to the live version"* ]] || fail "rebuild state differs: $out"
echo "handoff_crash: rebuild from 0 identical to the live state built across $KILLS kills"
echo "handoff_crash: passed"
