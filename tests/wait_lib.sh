# Sourced by the shell tests that wait for a process (tests/*_test.sh,
# serve_crash_lib.sh): one polling loop with a deadline, never a fixed sleep.
#
# wait_until SECONDS DESCRIPTION COMMAND...
#   Runs COMMAND every 0.2 s until it succeeds. After SECONDS it gives up
#   with "timed out after SECONDS s waiting for DESCRIPTION": when the script
#   defined `on_wait_timeout`, that function gets the message (it usually
#   prints the process log and exits); otherwise the message goes to stderr,
#   prefixed with $WAIT_NAME (default: the script's name), and wait_until
#   returns 1.
#
#   on_wait_timeout() { fatal "$1"; }   # optional
#   wait_until 60 "the HTTP port" test -s "$TMP/port"
wait_until() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      local message="timed out after $limit s waiting for $what"
      if declare -F on_wait_timeout >/dev/null; then
        on_wait_timeout "$message"
      else
        echo "${WAIT_NAME:-$(basename "$0" .sh)}: $message" >&2
      fi
      return 1
    fi
    sleep 0.2
  done
}
