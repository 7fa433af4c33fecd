#!/bin/sh
# The ClickHouse store on a real two-shard cluster (scripts/clickhouse-cluster.sh): the report's
# tiny store ingested into ClickHouse and into SQLite gives the same numbers.json (in three
# zones and two languages); duplicates and --force behave as in SQLite; a shard stopped in the
# middle of an import (kill -9) and started again loses nothing and counts nothing twice.
. "$KS_SRCDIR/tests/cli/lib.sh"
. "$KS_SRCDIR/tests/cli/report_store.sh"
CLUSTER="$KS_SRCDIR/scripts/clickhouse-cluster.sh"
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] ||
    skip "clickhouse-server is not installed (scripts/debian-packages.txt)"
command -v curl >/dev/null 2>&1 || skip "curl is not installed"

trap 'sh "$CLUSTER" stop "$TMP/ch" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
base=$((12000 + ($$ % 300) * 20)) # below the ephemeral range (32768-) and the other tests' ports
check "a two-shard cluster starts" sh "$CLUSTER" start "$TMP/ch" "$base"
[ "$ks_failed" -eq 0 ] || { cat "$TMP/.err"; finish; exit 1; }
U=$(sh "$CLUSTER" url "$TMP/ch" report)
http1=$((base + 1))
chq() { curl -sf "http://127.0.0.1:$http1/" --data-binary "$1"; }

# --- the report from both backends ------------------------------------------------------------
check "the report's store is ingested into ClickHouse" ks_report_store "$U"
check "and into SQLite" ks_report_store "$TMP/k.db"
for tz in +09:00 +05:30 +00:00; do
    check "report from ClickHouse ($tz)" ks_report_run "$U" "$TMP/ch-$tz" --tz "$tz"
    check "report from SQLite ($tz)" ks_report_run "$TMP/k.db" "$TMP/sq-$tz" --tz "$tz"
    check "the same numbers.json ($tz)" cmp "$TMP/sq-$tz/numbers.json" "$TMP/ch-$tz/numbers.json"
done
check "ClickHouse gives tests/data/report/expected.json" \
    cmp "$TMP/ch-+09:00/numbers.json" "$KS_SRCDIR/tests/data/report/expected.json"
for f in "$TMP"/sq-+09:00/figures/*.csv; do
    cmp -s "$f" "$TMP/ch-+09:00/figures/${f##*/}" || not_ok "figure data ${f##*/} differs"
done
check "English, all sensors" "$KANSOKU" report -q --db "$U" --from 2008-06-01 --to 2008-06-15 \
    -o "$TMP/ch-en" --lang en --geo-dir /nonexistent
check "English, all sensors, SQLite" "$KANSOKU" report -q --db "$TMP/k.db" --from 2008-06-01 \
    --to 2008-06-15 -o "$TMP/sq-en" --lang en --geo-dir /nonexistent
check "the same numbers.json (English)" cmp "$TMP/sq-en/numbers.json" "$TMP/ch-en/numbers.json"
check "--store is --db" "$KANSOKU" report -q --store "$U" --from 2008-06-01 --to 2008-06-15 \
    -o "$TMP/ch-store" --geo-dir /nonexistent
check_grep "db info names the backend" '"backend":"clickhouse"' "$KANSOKU" db info --json --db "$U"
check_grep "14 complete inputs, none partial" '"inputs_complete":14,"inputs_partial":0' \
    "$KANSOKU" db info --json --db "$U"
check_grep "the hourly rollups are there" '"rollup_1h":\{"rows":[1-9]' \
    "$KANSOKU" db info --json --db "$U"

# --- inputs ------------------------------------------------------------------------------------
csv=$KS_SRCDIR/tests/data/report/series.csv
check_err "an input ingested before is refused" 1 'already ingested' \
    "$KANSOKU" db import --db "$U" --table series "$csv"
rows=$(chq "SELECT count() FROM report.series")
check "--force replaces it" "$KANSOKU" db import -q --db "$U" --table series --force "$csv"
check_out "the replaced rows are not counted" "$rows" chq \
    "SELECT count() FROM report.series WHERE input_id GLOBAL IN (SELECT id FROM report.inputs GROUP BY id HAVING argMax(status, ks_ver) = 'complete')"

# --- a shard stops in the middle of an import ----------------------------------------------------
n=3000000
awk -v n=$n 'BEGIN { print "ts,sensor,metric,key,value"
    for (i = 0; i < n; i++) printf "%d,s%d,m%d,k%d,1\n", 1212300000000000 + i * 1000000, i % 3, i % 5, i % 50 }' \
    >"$TMP/big.csv"
O="$(sh "$CLUSTER" url "$TMP/ch" outage)&retry_s=120&timeout_ms=5000"
"$KANSOKU" db info -q --db "$O" >/dev/null 2>&1
"$KANSOKU" db import -q --db "$O" --table series "$TMP/big.csv" >"$TMP/imp.out" 2>"$TMP/imp.err" &
imp=$!
# Wait until the first batches are in, then kill shard 2 (kill -9, mid-insert perhaps) and
# start it again 3 seconds later.
i=0
while [ $i -lt 100 ]; do
    c=$(chq "SELECT count() FROM outage.series" 2>/dev/null || echo 0)
    [ "${c:-0}" -gt 0 ] && break
    sleep 0.05
    i=$((i + 1))
done
check "shard 2 is killed mid-import" sh "$CLUSTER" kill-shard "$TMP/ch" 2
check "the import is still running then" kill -0 $imp
sleep 3
check "shard 2 starts again" sh "$CLUSTER" start-shard "$TMP/ch" 2
wait $imp
rc=$?
if [ $rc -eq 0 ]; then ok "the import finished through the outage"; else
    not_ok "the import finished through the outage" "exit $rc" "$(cat "$TMP/imp.err")"; fi
check_grep "every row once" "\"series\":\\{\"rows\":$n,\"rows_complete\":$n\\}" \
    "$KANSOKU" db info --json --db "$O"
check_out "the rollups count every row once" "$n" chq "SELECT sum(n) FROM outage.rollup_1d"
check_grep "one complete input, none partial" '"inputs_complete":1,"inputs_partial":0' \
    "$KANSOKU" db info --json --db "$O"
finish
