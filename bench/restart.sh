#!/usr/bin/env bash
# Restart to processing on a large log (issue 7: ≤ 2 s at 10 M events)
# without the whole harness: N demo events ingested from a file (`leadlog
# ingest`, 64 shards, the lead projection caught up), then `leadlog serve`
# restarted on that data dir against a fresh standalone broker, one new event
# published, the time until it is appended: first as a consumer-group member,
# then with --assign-partitions. The rows are bench/run.sh's restart rows.
#
#   bench/restart.sh [--events N] [--leads N] [--keep]   # default 1 M events, 100 k leads
#
# Env: LEADLOG_BUILD_DIR (Release build, default ./build-release),
# LEADLOG_BENCH_DIR (work dir parent, default /tmp).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${LEADLOG_BUILD_DIR:-$root/build-release}"
events=1000000
leads=100000
keep=0
while (($#)); do
  case "$1" in
    --events) events="$2"; shift 2 ;;
    --leads) leads="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "bench/restart.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
LEADLOG_BUILD_TYPE=Release LEADLOG_BUILD_DIR="$build" "$root/deploy/build.sh" --target leadlog >/dev/null
leadlog="$build/deploy/leadlog/leadlog"
work="$(mktemp -d "${LEADLOG_BENCH_DIR:-/tmp}/leadlog-restart.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ((keep)); then echo "bench/restart.sh: work dir kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
die() { echo "bench/restart.sh: FAILED: $*" >&2; exit 1; }
# shellcheck source=serve_lib.sh
source "$root/bench/serve_lib.sh"

echo "== ingest $events events into a 64-shard log" >&2
t0=$(now_ms)
"$leadlog" demo --out - --events "$events" --leads "$leads" |
  "$leadlog" ingest --data-dir "$work/log" --partitions 64 --no-fsync - >"$work/ingest.out" 2>&1 ||
  die "ingest: $(tail -3 "$work/ingest.out")"
echo "ingest events=$events leads=$leads seconds=$((($(now_ms) - t0) / 1000)) disk_bytes=$(du -sb "$work/log" | cut -f1)"
start_broker "$work"
echo "== restart as a group member" >&2
restart_row group $((events + 1)) "$work/log" "$work"
echo "$restart_line"
echo "== restart with --assign-partitions" >&2
restart_row assigned $((events + 2)) "$work/log" "$work" --assign-partitions
echo "$restart_line"
