#!/bin/sh
# kansoku report: a tiny hand-made store gives the checked-in numbers; an empty period works
# and says so; the output is deterministic; usage errors exit 2.
. "$KS_SRCDIR/tests/cli/lib.sh"
. "$KS_SRCDIR/tests/cli/report_store.sh"
DB=$TMP/k.db

check "tiny store is built" ks_report_store "$DB"
check "report of the test period" ks_report_run "$DB" "$TMP/r1"
check_err "a bad sqli.exclude tag is reported and skipped" 0 "sqli.exclude.*'not-a-tag'" \
    "$KANSOKU" report --db "$DB" --from 2008-06-01 --to 2008-06-15 -o "$TMP/r0" \
    --notes "$KS_SRCDIR/tests/data/report/notes.txt" --geo-dir /nonexistent
check_grep "tagged campaigns are left out of the SQL-injection sources" '"sqli.src.excluded": 40,' \
    cat "$TMP/r1/numbers.json"
check "numbers.json equals tests/data/report/expected.json" \
    cmp "$TMP/r1/numbers.json" "$KS_SRCDIR/tests/data/report/expected.json"
check "index.html and a figure CSV exist" test -s "$TMP/r1/index.html" -a -s "$TMP/r1/figures/fig-incident-share.csv"
check_grep "the page quotes the spam ratio" '77\.8%' cat "$TMP/r1/index.html"
check "the same store gives the same bytes" ks_report_run "$DB" "$TMP/r2"
check "index.html is byte-identical" cmp "$TMP/r1/index.html" "$TMP/r2/index.html"
n=$(grep -o 'id="fig-[a-z0-9-]*" class="fig"' "$TMP/r1/index.html" | sort -u | wc -l)
check "21 figures, each an svg with its id" test "$n" -eq 21
check "no network fetches" sh -c "! grep -q -E '(src|href)=\"(https?:)?//' '$TMP/r1/index.html'"
check "markup of the notes is escaped" grep -q '&lt;b&gt;タグ&lt;/b&gt;' "$TMP/r1/index.html"

# 図-5 from the darknet analyzer's distributions (darknet_sources rows of sensor s3; s4 and a
# later day are left out): JP 120, CN 50, KR 20, US 10 packets; of JP, the operator's AS 2497
# 40 and AS 64500 (JP in sample_events) 30, the rest (AS 64501: no home-country record) other.
check "report of sensor s3" ks_report_run "$DB" "$TMP/dn" --sensors s3
check_grep "darknet_sources is the source of 図-5" '"darknet.src.source": "darknet_sources"' \
    cat "$TMP/dn/numbers.json"
check_grep "darknet_sources: domestic 60%" '"darknet.src.domestic": 60,' cat "$TMP/dn/numbers.json"
check_grep "darknet_sources: operator 20%" '"darknet.src.operator": 20,' cat "$TMP/dn/numbers.json"
check_grep "darknet_sources: CN 25%" '"darknet.src.top_country_share": 25,' cat "$TMP/dn/numbers.json"
check_out "darknet_sources: the rings" "$(printf '%s\n' '区分,グループ,件数,%' 'TestNet,国内,40,20' \
    'A社,国内,30,15' 'その他,国内,50,25' 'CN,国外,50,25' 'KR,国外,20,10' 'US,国外,10,5')" \
    cat "$TMP/dn/figures/fig-darknet-sources.csv"

# 2:図-5 without spf_results: the messages' own SPF results (mail_messages.spf), 2008-06 15
# published of 64 (none 47, absent 2), 2007-06 4 of 10.
check "store of mail_messages only" "$KANSOKU" db import -q --db "$TMP/m.db" \
    --table mail_messages "$KS_SRCDIR/tests/data/report/mail_messages.csv"
check "report without spf_results" ks_report_run "$TMP/m.db" "$TMP/m"
check_grep "mail_messages is the source of 2:図-5" '"spf.source": "mail_messages"' \
    cat "$TMP/m/numbers.json"
check_grep "SPF share of the latest month" '"spf.share.latest": 23\.4,' cat "$TMP/m/numbers.json"
check_grep "SPF share a year earlier" '"spf.share.year_ago": 40\.0,' cat "$TMP/m/numbers.json"
check_grep "the figure is drawn" '^06\.01,15,49$' cat "$TMP/m/figures/fig-mail-spf-monthly.csv"

# English
check "report in English" "$KANSOKU" report -q --db "$DB" --from 2008-06-01 --to 2008-06-15 \
    -o "$TMP/en" --lang en --geo-dir /nonexistent
check_grep "English captions" 'Figure 2-1' cat "$TMP/en/index.html"

# An empty period: every figure present, each saying there is no data.
check "report of an empty period" "$KANSOKU" report -q --db "$DB" --from 2001-01-01 \
    --to 2001-03-31 -o "$TMP/empty" --geo-dir /nonexistent
check_grep "empty period says no data" 'この期間のデータはありません' cat "$TMP/empty/index.html"
n=$(grep -o 'id="fig-[a-z0-9-]*" class="fig"' "$TMP/empty/index.html" | sort -u | wc -l)
check "empty period keeps all 21 figures" test "$n" -eq 21
check_grep "empty period: incidents.total is 0" '"incidents.total": 0' cat "$TMP/empty/numbers.json"
check_grep "empty period: unknown numbers are null" '"samples.cnc": null' cat "$TMP/empty/numbers.json"

# The rollups (schema 14: per 15 minutes, sources and senders per UTC day and hour) give the
# numbers of the raw rows: the same store without its rollup tables reads raw rows.
if command -v sqlite3 >/dev/null; then
    cp "$DB" "$TMP/raw.db"
    sqlite3 "$TMP/raw.db" 'DROP TABLE rollup_15m; DROP TABLE rollup_1h; DROP TABLE rollup_1d'
    for tz in +09:00 +05:30 +05:45 -03:30; do
        for notes in "$KS_SRCDIR/tests/data/report/notes.txt" /dev/null; do
            n=$(basename "$notes")
            ks_report_run "$DB" "$TMP/ru-$tz-$n" --tz "$tz" --notes "$notes" 2>/dev/null
            ks_report_run "$TMP/raw.db" "$TMP/raw-$tz-$n" --tz "$tz" --notes "$notes" 2>/dev/null
            check "rollups and raw rows: the same numbers ($tz, $n)" \
                cmp "$TMP/ru-$tz-$n/numbers.json" "$TMP/raw-$tz-$n/numbers.json"
            check "rollups and raw rows: the same figures ($tz, $n)" \
                diff -r "$TMP/ru-$tz-$n/figures" "$TMP/raw-$tz-$n/figures"
        done
    done
    for tz in +09:00 +05:30; do # all sensors: the sources over all of them (source_all)
        for db in "$DB" "$TMP/raw.db"; do
            "$KANSOKU" report -q --db "$db" --from 2008-06-01 --to 2008-06-15 --tz "$tz" \
                -o "$TMP/all-$(basename "$db")-$tz" --geo-dir /nonexistent 2>/dev/null
        done
        check "rollups and raw rows, all sensors: the same numbers ($tz)" \
            cmp "$TMP/all-k.db-$tz/numbers.json" "$TMP/all-raw.db-$tz/numbers.json"
        check "rollups and raw rows, all sensors: the same figures ($tz)" \
            diff -r "$TMP/all-k.db-$tz/figures" "$TMP/all-raw.db-$tz/figures"
    done
fi

# Mail without any URL or attachment row: no spam is in a malware class, and 図-11 counts the
# period's spam from the rollups (no per-message join).
"$KANSOKU" db import -q --db "$TMP/m.db" --table mail_messages \
    "$KS_SRCDIR/tests/data/report/mail_messages.csv"
check "report of mail without links" ks_report_run "$TMP/m.db" "$TMP/m"
if command -v sqlite3 >/dev/null; then
    n=$(sqlite3 "$TMP/m.db" "SELECT count(*) FROM mail_messages WHERE verdict = 'spam' AND
        ts >= 1212246000000000 AND ts < 1213542000000000")
    check_grep "spam2mal.mails is the period's spam ($n)" "\"spam2mal.mails\": $n," \
        cat "$TMP/m/numbers.json"
fi
check_grep "no spam links to malware" '"spam2mal.share_link": 0.00,' cat "$TMP/m/numbers.json"

# Usage errors
check_exit 2 "missing --to is a usage error" "$KANSOKU" report --db "$DB" --from 2008-06-01 -o "$TMP/x"
check_exit 2 "from after to is a usage error" "$KANSOKU" report --db "$DB" --from 2008-07-01 \
    --to 2008-06-01 -o "$TMP/x"
check_exit 2 "bad --tz" "$KANSOKU" report --db "$DB" --from 2008-06-01 --to 2008-06-02 -o "$TMP/x" --tz 9
check_exit 2 "bad --lang" "$KANSOKU" report --db "$DB" --from 2008-06-01 --to 2008-06-02 -o "$TMP/x" --lang fr
check_exit 1 "unreadable notes file" "$KANSOKU" report --db "$DB" --from 2008-06-01 \
    --to 2008-06-02 -o "$TMP/x" --notes "$TMP/nope.txt"
check_grep "--help" 'numbers.json' "$KANSOKU" report --help
finish
