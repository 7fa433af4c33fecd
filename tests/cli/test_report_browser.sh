#!/bin/sh
# The report in a real browser: headless Chromium loads index.html from a local file, takes a
# screenshot, logs no console error, every figure's <svg> is in the DOM and not empty, and
# the headline numbers equal direct sqlite3 queries on the store.
. "$KS_SRCDIR/tests/cli/lib.sh"
. "$KS_SRCDIR/tests/cli/report_store.sh"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || skip "no chromium on the PATH (Debian package chromium): browser test skipped"
command -v sqlite3 >/dev/null || skip "no sqlite3 (Debian package sqlite3): browser test skipped"
DB=$TMP/k.db
check "tiny store is built" ks_report_store "$DB"
check "report" ks_report_run "$DB" "$TMP/r"

browser() {
    "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$TMP/profile" --enable-logging=stderr --v=0 "$@" "file://$TMP/r/index.html"
}
browser --window-size=1000,3000 --hide-scrollbars --screenshot="$TMP/shot.png" >/dev/null 2>"$TMP/shot.log"
check "screenshot written" test -s "$TMP/shot.png"
check "screenshot is a PNG" sh -c "head -c 8 '$TMP/shot.png' | od -An -c | grep -q 'P   N   G'"
browser --dump-dom >"$TMP/dom.html" 2>"$TMP/dom.log"
check "DOM dumped" test -s "$TMP/dom.html"
# Console messages are logged as "CONSOLE(...)" lines; the page has no script, so any is an
# error (a blocked fetch, a CSP violation).
check "no console message" sh -c "! grep -E 'CONSOLE|Uncaught|Refused to' '$TMP/shot.log' '$TMP/dom.log'"

tr '\n' ' ' <"$TMP/dom.html" >"$TMP/dom1.html"
for id in fig-incident-classes fig-incident-share fig-ddos-daily fig-ddos-largest \
    fig-darknet-ports fig-darknet-sources fig-samples-daily fig-samples-sources fig-sqli-daily \
    fig-sqli-sources fig-spam2mal-flow fig-spam2mal-share fig-spam2mal-types \
    fig-p2p-residual-flow fig-p2p-syn fig-mail-spam-weekly fig-mail-spam-yoy \
    fig-mail-spam-countries fig-mail-campaign-sample fig-mail-spf-monthly fig-topic-1; do
    n=$(grep -o "<svg[^>]* id=\"$id\"" "$TMP/dom1.html" | wc -l)
    check "$id: one <svg> element" test "$n" -eq 1
    body=$(sed "s|.*<svg[^>]* id=\"$id\"||; s|</svg>.*||" "$TMP/dom1.html")
    check "$id: not empty" sh -c "printf '%s' '$(printf '%s' "$body" | tr -d "'" | head -c 20000)' | grep -q -E '<(rect|path|text|line|polyline)'"
done

# Headline numbers against SQL run directly on the store.
OK_JOIN="JOIN inputs ON inputs.id = input_id AND inputs.status = 'complete'"
P0=1212246000000000 # 2008-06-01T00:00+09:00 in µs
P1=1213542000000000 # 2008-06-16T00:00+09:00
W0=1212332400000000 # 2008-06-02T00:00+09:00, the first ISO week of the period
sq() { sqlite3 "$DB" "$1"; }
num() { sed -n "s/^ *\"$1\": \\(.*\\),\\{0,1\\}\$/\\1/p" "$TMP/r/numbers.json" | sed 's/,$//; s/"//g'; }
same() { # NAME SQL KEY: the query's value = numbers.json's, and the page shows it
    want=$(sq "$2") got=$(num "$3")
    if [ "$want" = "$got" ]; then ok "$1 ($got)"; else not_ok "$1" "sql: $want" "numbers.json: $got"; fi
}
same "incidents.total" "SELECT count(*) FROM (SELECT DISTINCT date, category, title, note FROM incidents $OK_JOIN WHERE date BETWEEN '2008-06-01' AND '2008-06-15')" incidents.total
same "mail.spam_ratio" "SELECT printf('%.1f', 100.0 * sum(verdict = 'spam') / count(*)) FROM mail_messages $OK_JOIN WHERE ts >= $W0 AND ts < $P1" mail.spam_ratio
same "mail.messages" "SELECT count(*) FROM mail_messages $OK_JOIN WHERE ts >= $W0 AND ts < $P1" mail.messages
same "mail.msgs_per_ip" "SELECT printf('%.1f', 1.0 * count(*) / count(DISTINCT sender)) FROM mail_messages $OK_JOIN WHERE ts >= $W0 AND ts < $P1 AND verdict = 'spam'" mail.msgs_per_ip
same "samples.total" "SELECT count(*) FROM sample_events $OK_JOIN WHERE ts >= $P0 AND ts < $P1 AND via = 'honeypot'" samples.total
same "spam2mal.mails" "SELECT count(*) FROM mail_messages $OK_JOIN WHERE ts >= $P0 AND ts < $P1 AND verdict = 'spam'" spam2mal.mails
same "spf.share.latest" "SELECT printf('%.1f', 100.0 * sum(result <> 'none') / count(*)) FROM spf_results $OK_JOIN WHERE ts >= $P0 - 0 AND ts < 1214838000000000 AND identity = 'mailfrom'" spf.share.latest
check_grep "the page shows mail.spam_ratio" "$(num mail.spam_ratio)%" cat "$TMP/dom.html"
check_grep "the page shows incidents.share.vulnerability" "$(num incidents.share.vulnerability)%" cat "$TMP/dom.html"
finish
