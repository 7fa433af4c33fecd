#!/bin/sh
# kansoku db: info, import (duplicates, --force, bad lines), a kill -9 in the middle of an
# import, a file size limit, damaged databases.
. "$KS_SRCDIR/tests/cli/lib.sh"

DB="$TMP/k.db"
# Counts of `db info --json`, without what differs between two databases (path, file size).
counts() {
    "$KANSOKU" db info --json --db "$1" | sed 's/"db":"[^"]*",//; s/,"file_bytes":[0-9]*//'
}
# rows LINES FILE: a CSV of the series table; ts in µs, 5-minute steps.
rows() {
    awk -v n="$1" 'BEGIN { print "ts,sensor,metric,key,value";
        for (i = 0; i < n; i++)
            printf "%d,s%d,%s,%d,%d\n", 1212278400000000 + int(i / 50) * 300000000, i % 4,
                   (i % 3 ? "pkts" : "bytes"), i % 1000, i }' >"$2"
}

check_grep "db --help lists the verbs" '^Usage: kansoku db ' "$KANSOKU" db --help
for verb in info inputs import migrate repair; do
    check_grep "db $verb --help" "^Usage: kansoku db $verb" "$KANSOKU" db "$verb" --help
done
check_exit 2 "db without a verb is a usage error" "$KANSOKU" db
check_exit 2 "db with an unknown verb is a usage error" "$KANSOKU" db frobnicate
check_exit 2 "db import without a file is a usage error" "$KANSOKU" db import --db "$DB"
check_exit 2 "db import into an unknown table is a usage error" \
    "$KANSOKU" db import --db "$DB" --table nope "$TMP/x.csv"

# A new database is at the newest version this kansoku knows (the schema grows as modules land).
check_grep "db info on a new database shows the current schema version" \
    '^schema +version ([0-9]+) \(this kansoku knows \1\)' "$KANSOKU" db info --db "$DB"
check_grep "db info --json on a new database" \
    '"schema_version":([0-9]+),"schema_known":\1,"inputs_complete":0' \
    "$KANSOKU" db info --json --db "$DB"
check_grep "db migrate on a current database is up to date" 'up to date' \
    "$KANSOKU" db migrate --db "$DB"
check_grep "KANSOKU_DB selects the database" '"schema_version":[1-9]' "$KANSOKU" db info --json
[ -f "$TMP/default.db" ] && ok "KANSOKU_DB file created" || not_ok "KANSOKU_DB file created"

# Import, with two bad lines that are reported with their line numbers and skipped.
cat >"$TMP/small.csv" <<'EOC'
ts,sensor,metric,key,value
2008-06-01T00:00:00Z,tokyo,pkts,80,10
2008-06-01T00:05:00Z,tokyo,pkts,80,oops
1212279000000000,"osaka, west",bytes,,1500.5
2008-06-01T00:15:00Z,tokyo,pkts
EOC
check_err "bad lines are reported with file:line" 0 'small\.csv: line 3: .*column 5 \(value\)' \
    "$KANSOKU" db import --db "$DB" "$TMP/small.csv"
grep -q 'small\.csv: line 5: .*fields' "$TMP/.err" && ok "second bad line reported" ||
    not_ok "second bad line reported"
check_grep "import counts rows and bad lines" '"rows":2,"bad_lines":2' \
    "$KANSOKU" db import --json --force --db "$DB" "$TMP/small.csv"
before=$(counts "$DB")
check_err "importing the same file again is refused" 1 'already ingested.*--force' \
    "$KANSOKU" db import --db "$DB" "$TMP/small.csv"
check_out "a refused import changes nothing" "$before" counts "$DB"
check "--force re-imports" "$KANSOKU" db import -q --force --db "$DB" "$TMP/small.csv"
check_out "--force replaces without double counting" "$before" counts "$DB"
check_grep "db inputs lists the input once" '"status":"complete","rows":2' \
    "$KANSOKU" db inputs --json --db "$DB"
[ "$(wc -l <"$TMP/.out")" -eq 1 ] && ok "one input listed" || not_ok "one input listed"
check_err "an unreadable input is named" 1 'no-such\.csv: cannot read' \
    "$KANSOKU" db import --db "$DB" "$TMP/no-such.csv"

# kill -9 in the middle of an import, then the same import again: the same counts as an
# uninterrupted import into another database.
rows 2000000 "$TMP/big.csv"
"$KANSOKU" db import -q --batch-rows 20000 --db "$TMP/ref.db" "$TMP/big.csv" &&
    "$KANSOKU" db import -q --db "$TMP/ref.db" "$TMP/small.csv" ||
    not_ok "uninterrupted reference import"
"$KANSOKU" db import -q --db "$TMP/kill.db" "$TMP/small.csv"
"$KANSOKU" db import -q --batch-rows 20000 --db "$TMP/kill.db" "$TMP/big.csv" &
pid=$!
i=0
while [ $i -lt 600 ]; do
    "$KANSOKU" db inputs --json --db "$TMP/kill.db" 2>/dev/null |
        grep '"status":"partial"' | grep -qv '"rows":0,' && break
    sleep 0.05
    i=$((i + 1))
done
kill -9 $pid 2>/dev/null && killed=yes || killed=no
wait $pid 2>/dev/null
if [ $killed = yes ]; then
    ok "import killed after committing some batches"
    if command -v sqlite3 >/dev/null; then
        check_grep "the killed import left a partial input with committed rows" '^partial\|1$' \
            sqlite3 "$TMP/kill.db" "SELECT status, rows > 0 FROM inputs WHERE name LIKE '%big.csv'"
    fi
    # Opening the store deletes the dead partial input: it is never counted.
    check_grep "the killed import is not counted" \
        '"inputs_complete":1,"inputs_partial":0,"tables":\{"inputs":\{"rows":1,"rows_complete":1\},"series":\{"rows":2,' \
        "$KANSOKU" db info --json --db "$TMP/kill.db"
else
    not_ok "import killed after committing some batches" "it finished before the kill"
fi
check "the import runs again after the kill" \
    "$KANSOKU" db import -q --db "$TMP/kill.db" "$TMP/big.csv"
check_out "counts after kill -9 and re-run equal an uninterrupted run" "$(counts "$TMP/ref.db")" \
    counts "$TMP/kill.db"

# A file size limit (as a full disk): a clear message, exit 1, earlier data intact.
"$KANSOKU" db import -q --db "$TMP/full.db" "$TMP/small.csv"
before=$(counts "$TMP/full.db")
check_err "a file size limit is a clear error" 1 'full\.db: file size limit .*what was committed before is kept' \
    sh -c 'ulimit -f 2000 && exec "$0" db import --db "$1" "$2"' "$KANSOKU" "$TMP/full.db" "$TMP/big.csv"
check_out "earlier data is intact after the failed import" "$before" counts "$TMP/full.db"

# Damaged databases: a clear message naming the file, exit 1, and the file left alone.
head -c 8192 /dev/urandom >"$TMP/junk.db"
cp "$TMP/junk.db" "$TMP/junk.copy"
check_err "a garbage file is refused with its name" 1 'junk\.db: not a kansoku database' \
    "$KANSOKU" db info --db "$TMP/junk.db"
cmp -s "$TMP/junk.db" "$TMP/junk.copy" && ok "the garbage file is untouched" ||
    not_ok "the garbage file is untouched"
size=$(wc -c <"$TMP/ref.db")
head -c $((size / 2)) "$TMP/ref.db" >"$TMP/trunc.db"
check_err "a truncated database is refused with its name" 1 'trunc\.db: truncated database' \
    "$KANSOKU" db info --db "$TMP/trunc.db"
check_err "a truncated database refuses imports" 1 'trunc\.db: ' \
    "$KANSOKU" db import --db "$TMP/trunc.db" "$TMP/small.csv"
check_err "a missing directory is a clear error" 1 'no/such/dir/k\.db: cannot open' \
    "$KANSOKU" db info --db "$TMP/no/such/dir/k.db"
check_err "an unreachable ClickHouse is a clear error" 1 'cannot reach ClickHouse at 127\.0\.0\.1:1' \
    "$KANSOKU" db info --db clickhouse://127.0.0.1:1/kansoku
finish
