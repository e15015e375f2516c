#!/usr/bin/env bash
# `leadlog flows validate` through the real binary:
#   (a) every example flow and the governance print one `ok:` line, from a
#       file and from stdin, in JSON and protobuf text format;
#   (b) each class of invalid flow (unknown step target, unreachable step,
#       cycle without a wait, wait out of bounds, unknown stream, bad
#       content, bad governance) exits 1 with one line on stderr naming the
#       file and the field path; other definition kinds are refused;
#   (c) usage errors exit 2; `flows` without a subcommand prints its usage.
# Usage: flows_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR
# Prints "flows_cli: N passed, M failed"; exit 0 only when all passed.
set -uo pipefail

BIN=${1:?usage: flows_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR}
EXAMPLES=${2:?usage: flows_cli_test.sh PATH/TO/leadlog EXAMPLES_DIR}
[[ -x $BIN ]] || { echo "flows_cli: $BIN is not executable" >&2; exit 2; }
[[ -d $EXAMPLES/flows ]] || { echo "flows_cli: no $EXAMPLES/flows" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/flows_cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

CLI_TEST=flows_cli
# shellcheck source=cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

# invalid NAME STDERR_REGEX: writes stdin to $TMP/NAME.json, expects exit 1
# and exactly one stderr line "leadlog flows validate: <file>: <regex>".
invalid() {
  local name=$1 err_re=$2
  cat >"$TMP/$name.json"
  expect "$name" 1 '' "^leadlog flows validate: $TMP/$name\\.json: $err_re" 1 -- \
    "$BIN" flows validate "$TMP/$name.json"
}

# ------------------------------------------------------------ (a) examples
F=$EXAMPLES/flows
expect welcome_series 0 '^ok: nurture_flow welcome_series v1 \(9 steps, 2 triggers\)$' '' 0 -- \
  "$BIN" flows validate "$F/welcome_series.json"
expect early_stage_stream 0 '^ok: nurture_flow early_stage_stream v1 \(1 steps, 2 triggers, 1 streams\)$' '' 0 -- \
  "$BIN" flows validate "$F/early_stage_stream.json"
expect late_stage_stream 0 '^ok: nurture_flow late_stage_stream v1 \(2 steps, 2 triggers, 2 streams\)$' '' 0 -- \
  "$BIN" flows validate "$F/late_stage_stream.json"
expect webinar_follow_up 0 '^ok: nurture_flow webinar_follow_up v1 \(7 steps, 1 triggers\)$' '' 0 -- \
  "$BIN" flows validate "$F/webinar_follow_up.json"
expect governance 0 \
  '^ok: nurture_governance default_governance v1 \(3 caps, quiet hours 20:00-08:00 Europe/Berlin\)$' '' 0 -- \
  "$BIN" flows validate "$F/governance.json"
for f in "$F"/*.json; do
  expect "one_line_$(basename "$f")" 0 '' '' 0 -- "$BIN" flows validate "$f"
  expect_lines=$(grep -c . "$TMP/out")
  [[ $expect_lines -eq 1 ]] && ok || bad "$(basename "$f"): $expect_lines stdout lines, want 1"
  # `definitions validate` accepts the same files.
  expect "definitions_validate_$(basename "$f")" 0 '^ok: nurture_' '' 0 -- \
    "$BIN" definitions validate "$f"
done
STDIN=$F/webinar_follow_up.json expect validate_stdin 0 '^ok: nurture_flow webinar_follow_up v1 ' '' 0 -- \
  "$BIN" flows validate -

cat >"$TMP/wrapped.txtpb" <<'EOF'
# protobuf text format, wrapped in the envelope
nurture_flow {
  id: "text_flow" version: 3
  triggers { event { call: "track" event: "Demo Requested" } }
  steps { id: "alert" notify_owner { template_id: "demo-requested" } }
}
EOF
expect validate_text_format 0 '^ok: nurture_flow text_flow v3 \(1 steps, 1 triggers\)$' '' 0 -- \
  "$BIN" flows validate "$TMP/wrapped.txtpb"
echo "{\"nurture_governance\": $(cat "$F/governance.json")}" >"$TMP/wrapped_governance.json"
expect validate_wrapped_governance 0 '^ok: nurture_governance default_governance v1 ' '' 0 -- \
  "$BIN" flows validate "$TMP/wrapped_governance.json"

# ------------------------------------------------------------ (b) invalid
# Step 1 sends, step 2 waits a day; each case breaks one thing.
invalid unknown_step_target 'nurture_flow\.steps\[1\]\.next: .*"nope"' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [
   {"id": "hello", "next": "pause", "send": {"content_id": "cmp-welcome-nurture-1", "channel": "email"}},
   {"id": "pause", "next": "nope", "wait": {"duration_ms": 86400000}}]}
EOF
invalid unknown_branch_target 'nurture_flow\.steps\[0\]\.branch\.cases\[0\]\.next: .*"nowhere"' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [
   {"id": "fit", "branch": {"cases": [{"when": {"score_min": 60}, "next": "nowhere"}], "default_next": "bye"}},
   {"id": "bye", "exit": {"reason": "done"}}]}
EOF
invalid unreachable_step 'nurture_flow\.steps\[2\]: .*unreachable' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [
   {"id": "hello", "next": "pause", "send": {"content_id": "cmp-welcome-nurture-1", "channel": "email"}},
   {"id": "pause", "wait": {"duration_ms": 86400000}},
   {"id": "orphan", "send": {"content_id": "cs-summit-health", "channel": "email"}}]}
EOF
invalid cycle_without_wait 'nurture_flow\.steps\[[0-9.]+\]: .*cycle' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [
   {"id": "hello", "next": "bump", "send": {"content_id": "cmp-welcome-nurture-1", "channel": "email"}},
   {"id": "bump", "next": "again", "add_score": {"points": 1}},
   {"id": "again", "go_to": {"target": "hello"}}]}
EOF
invalid wait_too_short 'nurture_flow\.steps\[1\]\.wait\.duration_ms: ' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [
   {"id": "hello", "next": "pause", "send": {"content_id": "cmp-welcome-nurture-1", "channel": "email"}},
   {"id": "pause", "wait": {"duration_ms": 1000}}]}
EOF
invalid wait_too_long 'nurture_flow\.steps\[1\]\.wait\.duration_ms: ' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [
   {"id": "hello", "next": "pause", "send": {"content_id": "cmp-welcome-nurture-1", "channel": "email"}},
   {"id": "pause", "wait": {"duration_ms": 31708800001}}]}
EOF
invalid timeout_out_of_bounds 'nurture_flow\.steps\[0\]\.wait\.timeout_ms: ' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"event": {"call": "track", "event": "Webinar Attended"}}],
 "steps": [
   {"id": "demo", "next": "bye", "wait": {"event": {"call": "track", "event": "Demo Requested"},
                                          "timeout_ms": 5, "timeout_next": "bye"}},
   {"id": "bye", "exit": {"reason": "done"}}]}
EOF
invalid bad_wait_time 'nurture_flow\.steps\[1\]\.wait\.time: .*25:00' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [
   {"id": "hello", "next": "pause", "send": {"content_id": "cmp-welcome-nurture-1", "channel": "email"}},
   {"id": "pause", "wait": {"weekday": "tuesday", "time": "25:00"}}]}
EOF
invalid unknown_stream 'nurture_flow\.steps\[0\]\.stream\.stream_id: .*"late"' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [{"id": "content", "stream": {"stream_id": "late"}}],
 "streams": [{"id": "early", "cadence_ms": 259200000,
              "content": [{"content_id": "wp-lead-scoring-benchmarks", "channel": "email"}]}]}
EOF
invalid unknown_transition_step 'nurture_flow\.streams\[0\]\.transitions\[0\]\.to_step: .*"late_content"' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [{"id": "early_content", "stream": {"stream_id": "early"}}],
 "streams": [{"id": "early", "cadence_ms": 259200000,
              "content": [{"content_id": "wp-lead-scoring-benchmarks", "channel": "email"}],
              "transitions": [{"when": {"score_min": 60}, "to_step": "late_content"}]}]}
EOF
invalid empty_content_id 'nurture_flow\.streams\[0\]\.content\[1\]\.content_id: ' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [{"id": "early_content", "stream": {"stream_id": "early"}}],
 "streams": [{"id": "early", "cadence_ms": 259200000,
              "content": [{"content_id": "wp-lead-scoring-benchmarks", "channel": "email"},
                          {"content_id": "", "channel": "email"}]}]}
EOF
invalid send_without_content 'nurture_flow\.steps\[0\]\.send\.content_id: ' <<'EOF'
{"id": "f", "version": 1, "triggers": [{"stage_entered": {"stage": "known"}}],
 "steps": [{"id": "hello", "send": {"channel": "email"}}]}
EOF
invalid bad_quiet_hours 'nurture_governance\.quiet_hours\.start: .*25:00' <<'EOF'
{"id": "g", "version": 1, "caps": [{"channel": "email", "sends_max": 1, "window_ms": 86400000}],
 "quiet_hours": {"start": "25:00", "end": "08:00", "default_time_zone": "Europe/Berlin"}}
EOF
invalid bad_time_zone 'nurture_governance\.quiet_hours\.default_time_zone: .*Mars/Olympus' <<'EOF'
{"id": "g", "version": 1,
 "quiet_hours": {"start": "20:00", "end": "08:00", "default_time_zone": "Mars/Olympus"}}
EOF
invalid misspelt_field 'nurture flow JSON: ' <<'EOF'
{"id": "f", "version": 1, "triggers": [], "stepz": []}
EOF
expect other_kind_is_refused 1 '' \
  '^leadlog flows validate: .*owner_routing.json: owner_routing default_routing is not a nurture flow or governance' 1 -- \
  "$BIN" flows validate "$EXAMPLES/owner_routing.json"
expect missing_file 1 '' '^leadlog flows validate: cannot open .*/no-such-file$' 1 -- \
  "$BIN" flows validate "$TMP/no-such-file"
head -c 300000 /dev/zero | tr '\0' ' ' >"$TMP/huge.json"
expect oversized_file 1 '' '^leadlog flows validate: .*huge.json: definition: 262145 bytes, at most 262144$' 1 -- \
  "$BIN" flows validate "$TMP/huge.json"
STDIN=$TMP/unknown_step_target.json expect invalid_stdin 1 '' \
  '^leadlog flows validate: stdin: nurture_flow\.steps\[1\]\.next: ' 1 -- "$BIN" flows validate -

# ------------------------------------------------------------ (c) usage
expect no_file 2 '' 'FILE' any -- "$BIN" flows validate
expect two_files 2 '' '' any -- "$BIN" flows validate "$F/governance.json" "$F/governance.json"
expect unknown_flag 2 '' 'unknown flag --nope' any -- "$BIN" flows validate --nope "$F/governance.json"
expect validate_help 0 'FILE' '' 0 -- "$BIN" flows validate --help
expect no_subcommand 2 '' '^usage: leadlog flows ' any -- "$BIN" flows
expect unknown_subcommand 2 '' 'unknown subcommand "frobnicate"' any -- "$BIN" flows frobnicate
expect flows_help 0 '^  validate  ' '' 0 -- "$BIN" flows --help

finish
