#!/bin/sh
# kansoku incident: add, list, import, export, refusals.
. "$KS_SRCDIR/tests/cli/lib.sh"
DB=$TMP/i.db
check "add" "$KANSOKU" incident add --db "$DB" --date 2008-07-08 --category 脆弱性 \
    --title "DNS cache poisoning" --note "Kaminsky"
check_exit 1 "the same entry twice is refused" "$KANSOKU" incident add --db "$DB" \
    --date 2008-07-08 --category vulnerability --title "DNS cache poisoning" --note "Kaminsky"
check_exit 2 "unknown category" "$KANSOKU" incident add --db "$DB" --date 2008-07-08 \
    --category weather --title x
check_exit 2 "bad date" "$KANSOKU" incident add --db "$DB" --date 2008-02-30 --category other --title x
check_exit 2 "missing title" "$KANSOKU" incident add --db "$DB" --date 2008-07-08 --category other
check "import" "$KANSOKU" incident import --db "$DB" "$KS_SRCDIR/tests/data/report/incidents.csv"
check_exit 1 "import twice is refused" "$KANSOKU" incident import --db "$DB" \
    "$KS_SRCDIR/tests/data/report/incidents.csv"
check "import --force replaces" "$KANSOKU" incident import --db "$DB" --force \
    "$KS_SRCDIR/tests/data/report/incidents.csv"
check_out "list of a period" "date        category       title
2008-06-09  vulnerability  Browser plug-in flaw
2008-06-10  events         Summit meeting" "$KANSOKU" incident list --db "$DB" --from 2008-06-09 --to 2008-06-10
check_grep "list --json" '^\{"date":"2008-07-08","category":"vulnerability","category_ja":"脆弱性"' \
    "$KANSOKU" incident list --db "$DB" --json --from 2008-07-01
"$KANSOKU" incident export --db "$DB" >"$TMP/export.csv" 2>"$TMP/.err"
check_grep "export has the header" '^date,category,title,note$' cat "$TMP/export.csv"
check_grep "export quotes notes with commas" '"Patches for resolvers, ""Kaminsky"" class"' cat "$TMP/export.csv"
check "export imports back into a new log" "$KANSOKU" incident import --db "$TMP/j.db" "$TMP/export.csv"
"$KANSOKU" incident export --db "$TMP/j.db" >"$TMP/export2.csv"
check "the round trip is exact" cmp "$TMP/export.csv" "$TMP/export2.csv"
printf 'date,category,title\n2008-02-30,other,bad\n2008-06-01,other,good\n' >"$TMP/bad.csv"
check_err "bad lines are reported with file:line" 0 'bad.csv: line 2' \
    "$KANSOKU" incident import --db "$TMP/k.db" "$TMP/bad.csv"
check_exit 2 "unknown verb" "$KANSOKU" incident remove
check_grep "--help lists the categories" 'セキュリティ事件' "$KANSOKU" incident --help
finish
