# Sourced by the CLI test scripts (tests/*_cli_test.sh): pass/fail counters,
# `expect` for one command's exit code, stdout and stderr, and `finish`.
# The script sets CLI_TEST (the name its lines start with) and TMP (a
# scratch directory it owns) before sourcing this file.
#
#   CLI_TEST=flows_cli TMP=$(mktemp -d); source "$(dirname "$0")/cli_lib.sh"
#   expect valid_flow 0 '^ok: ' '' 0 -- "$BIN" flows validate f.json
#   finish
: "${CLI_TEST:?set CLI_TEST before sourcing cli_lib.sh}"
: "${TMP:?set TMP before sourcing cli_lib.sh}"

passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() {
  failed=$((failed + 1))
  echo "$CLI_TEST: FAIL $*" >&2
}

# expect NAME EXIT_CODE STDOUT_REGEX STDERR_REGEX STDERR_LINES -- command...
# ("" matches anything; STDERR_LINES "any" skips the count). The command
# reads $STDIN when set, /dev/null otherwise.
expect() {
  local name=$1 want_code=$2 out_re=$3 err_re=$4 want_lines=$5
  shift 6
  "$@" >"$TMP/out" 2>"$TMP/err" <"${STDIN:-/dev/null}"
  local code=$? lines
  lines=$(wc -l <"$TMP/err")
  if [[ $code -eq $want_code ]] && { [[ -z $out_re ]] || grep -Eq -e "$out_re" "$TMP/out"; } &&
     { [[ -z $err_re ]] || grep -Eq -e "$err_re" "$TMP/err"; } &&
     { [[ $want_lines == any ]] || [[ $lines -eq $want_lines ]]; }; then
    ok
  else
    bad "$name: exit $code (want $want_code), stdout:"
    sed 's/^/  | /' "$TMP/out" | head -30 >&2
    echo "  stderr ($lines lines, want $want_lines):" >&2
    sed 's/^/  | /' "$TMP/err" >&2
  fi
}

# Prints the summary line; succeeds only when nothing failed.
finish() {
  echo "$CLI_TEST: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}
