#!/bin/sh
# kansoku mail ingest --spf-check: SPF evaluated (RFC 7208, the SPF module) from each message's
# sender hop (Received), its HELO and Return-Path when the message carries no Received-SPF /
# Authentication-Results, over real DNS to a dnsmasq started here on 127.0.0.1 (no network).
. "$KS_SRCDIR/tests/cli/lib.sh"

DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || skip "dnsmasq not installed: SPF checks over DNS not run"

# a base port below the ephemeral range that no socket uses (TCP or UDP)
free_port() {
    b=$(( ($$ % 500) * 20 + 20010 ))
    tries=0
    while [ $tries -lt 100 ]; do
        if ! ss -Hantu 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }' | grep -qx "$b"; then
            break
        fi
        b=$((b + 20))
        [ $b -lt 30000 ] || b=20010
        tries=$((tries + 1))
    done
    echo "$b"
}
PORT=$(free_port)
"$DNSMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
    --listen-address=127.0.0.1 --port="$PORT" --pid-file="$TMP/dnsmasq.pid" \
    --user="$(id -un)" --local=/test/ \
    --txt-record=pass.test,"v=spf1 ip4:192.0.2.0/24 -all" \
    --txt-record=soft.test,"v=spf1 ip4:198.51.100.0/24 ~all" \
    --txt-record=helo.pass.test,"v=spf1 a -all" \
    --host-record=helo.pass.test,203.0.113.5 \
    >"$TMP/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!
trap 'kill $DNSMASQ_PID 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
while [ $i -lt 50 ] && ! grep -q "v=spf1" "$TMP/.probe" 2>/dev/null; do
    "$KANSOKU" spf check --ip 192.0.2.1 --sender a@pass.test --dns "127.0.0.1:$PORT" \
        --timeout 100 --json >"$TMP/.probe" 2>/dev/null
    i=$((i + 1))
    sleep 0.1
done
if ! kill -0 "$DNSMASQ_PID" 2>/dev/null; then
    cat "$TMP/dnsmasq.log"
    skip "dnsmasq did not start on 127.0.0.1:$PORT"
fi

# msg N RETURN-PATH CLIENT HELO [EXTRA-HEADER]
msg() {
    printf 'From a@b Mon Apr  2 10:0%s:00 2007\n' "$1"
    [ -n "$2" ] && printf 'Return-Path: %s\n' "$2"
    printf 'Received: from %s (%s [%s])\n\tby mx.example.org (Postfix) with ESMTP id %s;\n' \
        "$4" "$4" "$3" "$1"
    printf '\tMon, 2 Apr 2007 10:0%s:00 +0000\n' "$1"
    [ -n "${5:-}" ] && printf '%s\n' "$5"
    printf 'From: x@example.net\nTo: y@example.org\nSubject: s%s\nMessage-ID: <spf%s@t>\n' "$1" "$1"
    printf 'Date: Mon, 2 Apr 2007 10:0%s:00 +0000\n\nbody\n\n' "$1"
}
{
    msg 1 '<user@pass.test>' 192.0.2.10 mail.pass.test
    msg 2 '<user@pass.test>' 203.0.113.9 bad.example
    msg 3 '<user@soft.test>' 203.0.113.9 x.example
    msg 4 '<user@nothing.test>' 203.0.113.9 x.example
    msg 5 '<>' 203.0.113.5 helo.pass.test
    msg 6 '<user@pass.test>' 203.0.113.9 x.example 'Received-SPF: pass (mx: header says so)'
    msg 7 '<user@pass.test>' 10.1.2.3 internal.example
} >"$TMP/spf.mbox"
DNS="--dns 127.0.0.1:$PORT"

# shellcheck disable=SC2086
{
check_out "read --spf-check: results per message" "pass check
fail check
softfail check
none check
pass check
pass header
absent none" sh -c '"$0" mail read -q --json --spf-check $1 "$2" | sed -E "s/.*\"spf\":\"([a-z]+)\",\"spf_source\":\"([a-z]+)\".*/\\1 \\2/"' \
    "$KANSOKU" "$DNS" "$TMP/spf.mbox"
check_out "without --spf-check: only the header" "absent
absent
absent
absent
absent
pass
absent" sh -c '"$0" mail read -q --json "$1" | sed -E "s/.*\"spf\":\"([a-z]+)\".*/\\1/"' "$KANSOKU" "$TMP/spf.mbox"
check_grep "the counts on stderr" 'SPF: 5 messages checked, 1 without a sender hop' \
    sh -c '"$0" mail read --spf-check $1 "$2" 2>&1 >/dev/null' "$KANSOKU" "$DNS" "$TMP/spf.mbox"
check "ingest --spf-check" "$KANSOKU" mail ingest -q --db "$TMP/s.db" --spf-check $DNS "$TMP/spf.mbox"
}
if command -v sqlite3 >/dev/null 2>&1; then
    check_out "stored like header results" "spf1@t|pass
spf2@t|fail
spf3@t|softfail
spf4@t|none
spf5@t|pass
spf6@t|pass
spf7@t|absent" sqlite3 "$TMP/s.db" "SELECT message_id, spf FROM mail_messages ORDER BY message_id"
fi
check_grep "stats: SPF per month counts the checked results" '"kind":"spf"' \
    "$KANSOKU" mail stats --db "$TMP/s.db" --json
check_exit 2 "--dns without a value is a usage error" "$KANSOKU" mail read --spf-check --dns
finish
