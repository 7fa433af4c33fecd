# Shared helpers for the CLI end-to-end tests (POSIX sh). Each test script sources this file,
# runs checks and ends with `finish`. Environment: KANSOKU (the binary), KS_TESTDATA
# (../shared/testdata), KS_SRCDIR (the source tree).
set -u
: "${KANSOKU:?KANSOKU must name the kansoku binary}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kansoku-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export KANSOKU_DB="$TMP/default.db"
ks_passed=0
ks_failed=0

ok() { ks_passed=$((ks_passed + 1)); echo "ok - $1"; }
not_ok() {
    ks_failed=$((ks_failed + 1))
    echo "not ok - $1"
    shift
    [ $# -gt 0 ] && printf '  %s\n' "$@"
    if [ -s "$TMP/.err" ]; then echo "  stderr:"; sed 's/^/    /' "$TMP/.err" | head -20; fi
}

# check_exit CODE NAME CMD...: the command exits with CODE. Its stdout is left in $TMP/.out.
check_exit() {
    want=$1 name=$2
    shift 2
    "$@" >"$TMP/.out" 2>"$TMP/.err"
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else not_ok "$name" "exit $got, expected $want"; fi
}

check() {
    name=$1
    shift
    check_exit 0 "$name" "$@"
}

# check_out NAME EXPECTED CMD...: exit 0 and stdout equal to EXPECTED (trailing newline aside).
check_out() {
    name=$1 want=$2
    shift 2
    "$@" >"$TMP/.out" 2>"$TMP/.err"
    got=$?
    out=$(cat "$TMP/.out")
    if [ "$got" -ne 0 ]; then not_ok "$name" "exit $got";
    elif [ "$out" = "$want" ]; then ok "$name";
    else not_ok "$name" "expected: $want" "got:      $out"; fi
}

# check_grep NAME REGEX CMD...: exit 0 and some stdout line matches the extended REGEX.
check_grep() {
    name=$1 re=$2
    shift 2
    "$@" >"$TMP/.out" 2>"$TMP/.err"
    got=$?
    if [ "$got" -ne 0 ]; then not_ok "$name" "exit $got";
    elif grep -Eq -- "$re" "$TMP/.out"; then ok "$name";
    else not_ok "$name" "no line matches: $re" "stdout: $(head -c 400 "$TMP/.out")"; fi
}

# check_err NAME CODE REGEX CMD...: exit CODE and stderr matches REGEX.
check_err() {
    name=$1 want=$2 re=$3
    shift 3
    "$@" >"$TMP/.out" 2>"$TMP/.err"
    got=$?
    if [ "$got" -ne "$want" ]; then not_ok "$name" "exit $got, expected $want";
    elif grep -Eq -- "$re" "$TMP/.err"; then ok "$name";
    else not_ok "$name" "stderr does not match: $re"; fi
}

skip() { echo "skip: $*"; exit 77; }

finish() {
    echo "$ks_passed passed, $ks_failed failed"
    [ "$ks_failed" -eq 0 ]
}
