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

# serve_test_setup NAME: for a test that runs one `leadlog serve` in the
# background. Makes $TMP (a fresh directory, removed at exit), sets SERVE=
# (the test stores serve's PID there; SIGKILLed at exit if set), and
# defines fatal MESSAGE ("NAME: FAIL MESSAGE" and the last 20 lines of
# $TMP/serve.err on stderr, exit 1) and on_wait_timeout (calls fatal).
# Nothing of it exists before the call: other scripts source this file too.
#
#   serve_test_setup http_api
#   "$BIN" serve ... 2>"$TMP/serve.err" & SERVE=$!
serve_test_setup() {
  SERVE_TEST_NAME=$1
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  SERVE=
  serve_test_cleanup() {
    [[ -n $SERVE ]] && kill -KILL "$SERVE" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$TMP"
  }
  trap serve_test_cleanup EXIT
  fatal() {
    echo "$SERVE_TEST_NAME: FAIL $*" >&2
    tail -20 "$TMP/serve.err" >&2
    exit 1
  }
  on_wait_timeout() { fatal "$1"; }
}
