#!/bin/sh
# ClickHouse store: rows per second into a two-shard cluster on loopback
# (scripts/clickhouse-cluster.sh) through ks_store (RowBinary batches to the shards, in
# parallel, rollups included), against clickhouse-client INSERT INTO the Distributed table
# FORMAT TabSeparated of the same rows (insert_distributed_sync=1: both return when the rows
# are on the shards), in the same run. Then the quarter's report from ClickHouse over
# CH_BENCH_QUARTER_ROWS raw rows (honeypot, SQLi, mail, SPF), from the rollups (JST) and from
# raw rows (a +05:30 zone makes the report skip the hourly rollups), and the extrapolation of
# both to 100 million rows: the fixed cost (the same report of an empty quarter: every query,
# no rows) plus the rest scaled linearly with the raw rows.
# Env: BUILD_DIR (release build), BENCH_OUT (scratch dir), KANSOKU, CH_BENCH_ROWS (2000000),
# CH_BENCH_QUARTER_ROWS (5000000), CH_BENCH_PORT (31000).
set -eu
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-$(mktemp -d)}
N=${CH_BENCH_ROWS:-2000000}
Q=${CH_BENCH_QUARTER_ROWS:-5000000}
PORT=${CH_BENCH_PORT:-31000}
KB="$BUILD_DIR/bench/bench_clickhouse"
K=${KANSOKU:-$BUILD_DIR/cli/kansoku}
HERE=$(cd "$(dirname "$0")" && pwd)
CLUSTER="$HERE/../../scripts/clickhouse-cluster.sh"
[ -x "$KB" ] || { echo "clickhouse: $KB not built"; exit 1; }
command -v clickhouse-client >/dev/null || {
    echo "clickhouse: clickhouse-client not installed (Debian clickhouse-client)"; exit 1; }
mkdir -p "$OUT"
CH="$OUT/ch-cluster"
sh "$CLUSTER" stop "$CH" >/dev/null 2>&1 || true
rm -rf "$CH"
trap 'sh "$CLUSTER" stop "$CH" >/dev/null 2>&1; rm -rf "$CH" "$OUT/ch-peer.tsv" "$OUT"/ch-report-*' EXIT
sh "$CLUSTER" start "$CH" "$PORT"
U=$(sh "$CLUSTER" url "$CH" bench)
now() { date +%s.%N; }
sql() { curl -sf "http://127.0.0.1:$((PORT + 1))/" --data-binary "$1"; }

# kansoku, through the C API (the peer's TabSeparated file is written first, untimed)
k=$("$KB" rate "$U" "$N" "$OUT/ch-peer.tsv")
echo "kansoku_ks_store $k"
k_rate=$(echo "$k" | sed -n 's/.*rows_per_s=\([0-9]*\).*/\1/p')

# the peer: the same rows into the Distributed table
t0=$(now)
clickhouse-client --port "$PORT" --insert_distributed_sync=1 \
    --query 'INSERT INTO bench.series FORMAT TabSeparated' <"$OUT/ch-peer.tsv"
t1=$(now)
rows=$(sql "SELECT count() FROM bench.series")
[ "$rows" = $((2 * N)) ] || { echo "clickhouse: $rows rows, expected $((2 * N))"; exit 1; }
p_rate=$(echo "$N $t0 $t1" | awk '{printf "%.0f", $1 / ($3 - $2)}')
echo "clickhouse_client rows=$N seconds=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}') rows_per_s=$p_rate"
rm -f "$OUT/ch-peer.tsv"

# the quarter's report
q=$("$KB" quarter "$U" "$Q" 1)
echo "kansoku_quarter_ingest $q"
rollup_rows=$(sql "SELECT count() FROM bench.rollup_1h")
echo "raw_rows=$Q rollup_1h_rows=$rollup_rows"
# The report runs on a settled store, as it would days after the ingest: wait (at most 60 s)
# until neither server is merging the parts just written.
i=0
while [ $i -lt 120 ]; do
    m1=$(sql "SELECT count() FROM system.merges")
    m2=$(curl -sf "http://127.0.0.1:$((PORT + 11))/" --data-binary "SELECT count() FROM system.merges")
    [ "$m1" = 0 ] && [ "$m2" = 0 ] && break
    sleep 0.5
    i=$((i + 1))
done
report() { # $1 zone, $2 first day, $3 last day
    t0=$(now)
    "$K" report -q --db "$U" --from "$2" --to "$3" --tz "$1" -o "$OUT/ch-report-$1-$2" \
        --geo-dir /nonexistent
    t1=$(now)
    echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}'
}
r_empty=$(report +09:00 2001-04-01 2001-06-30)
r_roll=$(report +09:00 2008-04-01 2008-06-30)
r_raw=$(report +05:30 2008-04-01 2008-06-30)
e_roll=$(echo "$r_empty $r_roll $Q" | awk '{printf "%.1f", $1 + ($2 - $1) * 100000000 / $3}')
e_raw=$(echo "$r_empty $r_raw $Q" | awk '{printf "%.1f", $1 + ($2 - $1) * 100000000 / $3}')
echo "report_quarter rows=$Q seconds_rollups=$r_roll seconds_raw=$r_raw seconds_empty_quarter=$r_empty"
echo "report_quarter at 100M rows (fixed + linear): rollups ${e_roll}s, raw ${e_raw}s"

ratio=$(echo "$k_rate $p_rate" | awk '{printf "%.2f", $1 / $2}')
echo "kansoku: $k_rate rows/s   clickhouse-client: $p_rate rows/s   ratio: $ratio"
echo "RESULT clickhouse rows_per_s kansoku=$k_rate peer=$p_rate ratio=$ratio"
