#!/bin/sh
# The dispatcher: --help, --version, help CMD, CMD --help for every command, exit codes.
. "$KS_SRCDIR/tests/cli/lib.sh"

check_grep "--help lists commands" '^Commands:' "$KANSOKU" --help
check_grep "--version prints the version" '^kansoku [0-9]+\.[0-9]+\.[0-9]+' "$KANSOKU" --version
check_exit 2 "no command is a usage error" "$KANSOKU"
check_err "unknown command is a usage error" 2 "unknown command 'frobnicate'" "$KANSOKU" frobnicate
check_exit 2 "help of an unknown command is a usage error" "$KANSOKU" help frobnicate

# Every command in the table answers --help and help CMD, on stdout, with exit 0.
for cmd in $("$KANSOKU" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF>1 {print $1}'); do
    check_grep "$cmd --help" "^Usage: kansoku $cmd" "$KANSOKU" "$cmd" --help
    check_grep "help $cmd" "^Usage: kansoku $cmd" "$KANSOKU" help "$cmd"
    check_exit 2 "$cmd with an unknown option is a usage error" "$KANSOKU" "$cmd" --no-such-option
done
finish
