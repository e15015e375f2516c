#!/usr/bin/env bash
# The change stream (leadlog.leads) across SIGKILL, with the real processes:
# a separate `leadlog broker`, example definitions and a demo workload
# published to it, and `leadlog serve` killed with SIGKILL several times
# during ingest and restarted on the same data dir. At the end:
#   - no change is published twice: no (shard, sequence, lead) header
#     triple appears twice on leadlog.leads;
#   - every change is published: after `leadlog rebuild` (which rewrites
#     every change entry since sequence 0 into the new version) the entries
#     listed by `leadlog changes --list` are exactly the published triples;
#   - per lead, sequences are increasing (log order);
#   - the last message of every lead is its final state: the same JSON as
#     `leadlog leads list --json` prints for it, or a tombstone (merged lead)
#     for a key that no longer has a state.
# Usage: changes_crash_test.sh PATH/TO/leadlog SOURCE_DIR [SEED]
set -euo pipefail

BIN=${1:?usage: changes_crash_test.sh PATH/TO/leadlog SOURCE_DIR [SEED]}
SRC=${2:?usage: changes_crash_test.sh PATH/TO/leadlog SOURCE_DIR [SEED]}
SEED=${3:-${LEADLOG_CRASH_SEED:-$RANDOM}}
command -v kcat >/dev/null || { echo "changes_crash: kcat not found" >&2; exit 2; }
echo "changes_crash: seed $SEED (LEADLOG_CRASH_SEED=$SEED replays the kill schedule)"
NAME=changes_crash
SERVE_BATCH_EVENTS=100
# shellcheck source=serve_crash_lib.sh
source "$(dirname "$0")/serve_crash_lib.sh"

# Lead states are ~10 KiB of JSON with flows and scoring: 1500 events over 16
# partitions keep leadlog.leads under the mock broker's 5 MiB per partition
# (it evicts silently; the completeness check below would catch it).
PARTITIONS=16
EVENTS=1500
DEFINITIONS=(scoring_model lifecycle_model owner_routing flows/welcome_series)
start_broker $PARTITIONS

for def in "${DEFINITIONS[@]}"; do
  "$BIN" definitions publish "$SRC/examples/$def.json" --brokers "$BROKERS" >/dev/null ||
    fail "publishing $def"
done
# Paced so that ingest spans the kill rounds.
"$BIN" demo --brokers "$BROKERS" --events $EVENTS --leads 300 --rate 60 >/dev/null 2>"$TMP/demo.err" &
DEMO=$!
PIDS+=($DEMO)
EXPECTED=$((EVENTS + ${#DEFINITIONS[@]} * PARTITIONS))

kill_rounds $EXPECTED
wait_demo $DEMO $EVENTS
finish_serve $EXPECTED
"$BIN" changes --data-dir "$DATA" >"$TMP/backlog" || fail "leadlog changes"
grep -qx 'pending: 0' "$TMP/backlog" || fail "changes still pending after serve stopped: $(tail -1 "$TMP/backlog")"

# partition, key, headers, value (NULL for a tombstone); one line each (the
# JSON values have no newlines).
kcat -C -b "$BROKERS" -t leadlog.leads -e -q -Z -f '%p\t%k\t%h\t%s\n' >"$TMP/messages" 2>/dev/null ||
  fail "reading leadlog.leads"
published=$(wc -l <"$TMP/messages")
((published >= EVENTS)) || fail "only $published change messages for $EVENTS events"
# shard sequence lead, from the headers.
awk -F'\t' '{
    shard = ""; seq = "";
    n = split($3, h, ",");
    for (i = 1; i <= n; i++) {
      if (h[i] ~ /^leadlog-shard=/) shard = substr(h[i], 15);
      if (h[i] ~ /^leadlog-sequence=/) seq = substr(h[i], 18);
    }
    print shard, seq, $2;
  }' "$TMP/messages" >"$TMP/triples"
sort "$TMP/triples" >"$TMP/triples.sorted"
dupes=$(uniq -d "$TMP/triples.sorted" | wc -l)
((dupes == 0)) || fail "$dupes changes published twice: $(uniq -d "$TMP/triples.sorted" | head -3 | tr '\n' ' ')"
awk '{ if (($3 in last) && $2 + 0 <= last[$3]) { print $3; exit 1 } last[$3] = $2 + 0 }' "$TMP/triples" >"$TMP/order" ||
  fail "lead $(cat "$TMP/order") published out of log order"

# The last message per lead against the final state.
awk -F'\t' '{ last[$2] = $4 } END { for (k in last) print k "\t" last[k] }' "$TMP/messages" | sort >"$TMP/last"
"$BIN" leads list --data-dir "$DATA" --json --limit 1000000 |
  sed -E 's/^\{"lead_key":"([^"]*)"/\1\t&/' | sort >"$TMP/final"
grep -v $'\tNULL$' "$TMP/last" >"$TMP/last-states" || true
cmp -s "$TMP/last-states" "$TMP/final" ||
  fail "last published state differs from the final state for $(diff "$TMP/last-states" "$TMP/final" | grep -c '^[<>]') lines, e.g. $(diff "$TMP/last-states" "$TMP/final" | head -2 | cut -c1-200 | tr '\n' ' ')"
tombstones=$(grep -c $'\tNULL$' "$TMP/last" || true)
echo "changes_crash: $published changes, each once and in order; last message of $(wc -l <"$TMP/final") leads = their final state, $tombstones merged leads end with a tombstone"

# Completeness: a rebuild rewrites every change entry since sequence 0.
out=$("$BIN" rebuild --data-dir "$DATA") || fail "rebuild: $out"
[[ $out == *"identical to the live version"* ]] || fail "rebuild state differs: $out"
"$BIN" changes --data-dir "$DATA" --list | sort >"$TMP/entries"
cmp -s "$TMP/entries" "$TMP/triples.sorted" ||
  fail "published changes differ from the change entries: $(diff "$TMP/entries" "$TMP/triples.sorted" | head -4 | tr '\n' ' ')"
echo "changes_crash: every change entry since sequence 0 was published, across $KILLS kills"
echo "changes_crash: passed"
