#!/bin/sh
# ClickHouse store: rows per second into a two-shard cluster on loopback
# (scripts/clickhouse-cluster.sh) through ks_store (RowBinary batches to the shards, in
# parallel, rollups included), against clickhouse-client INSERT INTO the Distributed table
# FORMAT TabSeparated of the same rows (insert_distributed_sync=1: both return when the rows
# are on the shards), in the same run. Then the quarter's report from ClickHouse over
# CH_BENCH_QUARTER_ROWS raw rows (honeypot, SQLi, mail, SPF) generated inside the cluster
# (gen.sh, checked first against kansoku's ingest at a small N), in JST and in +05:30, against
# the issue's target of 10 s ("peer" in its RESULT line; ratio = 10 s / kansoku's seconds, the
# slower zone).
# Env: BUILD_DIR (release build), BENCH_OUT (scratch dir), KANSOKU, CH_BENCH_ROWS (2000000),
# CH_BENCH_QUARTER_ROWS (100000000), CH_BENCH_PORT (31000).
set -eu
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-$(mktemp -d)}
N=${CH_BENCH_ROWS:-2000000}
Q=${CH_BENCH_QUARTER_ROWS:-100000000}
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

# The quarter's report over Q raw rows generated inside the cluster (gen.sh: INSERT ... SELECT
# FROM numbers() into both shards' raw tables, then the rollups by GROUP BY, as the ingest
# writes them). First, at a small N, the generator's rollups against kansoku's own ingest of
# the same raw rows (`kansoku db import` into another database): they must be equal.
H1="http://127.0.0.1:$((PORT + 1))/" H2="http://127.0.0.1:$((PORT + 11))/"
"$K" db info --db "$U" >/dev/null
U2=$(sh "$CLUSTER" url "$CH" gencheck)
"$K" db info --db "$U2" >/dev/null
sh "$HERE/gen.sh" "$H1" "$H2" gencheck 100000 11 1
"$K" db info --db "$(sh "$CLUSTER" url "$CH" imp)" >/dev/null
sel() { sql "SELECT $1 FROM gencheck.$2 ORDER BY ts, $3 FORMAT CSV" >"$OUT/ch-$2.csv"; }
sel "ts, end, sensor, proto, source, sport, port, bytes, reason, '', '', ''" honeypot_sessions \
    "sensor, source, sport"
sel "ts, source, host, method, path, field, signature, value, original, span_start, span_end,\
 status" sqli_detections "source, signature"
sel "ts, message_id, verdict, verdict_source, '', ifNull(sender, ''), helo, country, asn, subject,\
 subject_key, url_domains, urls, attachments, '', spf, size, problems, time_source" \
    mail_messages message_id
sel "ts, ifNull(client, ''), identity, domain, result, mechanism, dns_lookups, void_lookups,\
 problem" spf_results "client, identity"
for t in honeypot_sessions sqli_detections mail_messages spf_results; do
    "$K" db import -q --db "$(sh "$CLUSTER" url "$CH" imp)" --table "$t" "$OUT/ch-$t.csv"
    rm -f "$OUT/ch-$t.csv"
done
for t in rollup_1m rollup_15m rollup_1h rollup_1d; do
    c="SELECT src, ts, sensor, k1, k2, sum(n), sum(v) FROM DB.$t GROUP BY src, ts, sensor, k1, k2"
    c="$c ORDER BY src, ts, sensor, k1, k2 FORMAT TabSeparated"
    a=$(sql "$(echo "$c" | sed 's/DB/gencheck/')" | md5sum)
    b=$(sql "$(echo "$c" | sed 's/DB/imp/')" | md5sum)
    [ "$a" = "$b" ] || { echo "clickhouse: $t of gen.sh differs from kansoku's ingest"; exit 1; }
done
echo "gen.sh check: rollup_1m/15m/1h/1d of 100000 generated rows equal kansoku's ingest of them"
sql "DROP DATABASE gencheck" && sql "DROP DATABASE imp"
curl -sf "$H2" --data-binary "DROP DATABASE gencheck" && curl -sf "$H2" --data-binary "DROP DATABASE imp"

t0=$(now)
sh "$HERE/gen.sh" "$H1" "$H2" bench "$Q" 1 1000000
t1=$(now)
echo "generated rows=$Q seconds=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')"
rows=$(sql "SELECT count() FROM bench.honeypot_sessions") &&
    rows=$((rows + $(sql "SELECT count() FROM bench.sqli_detections"))) &&
    rows=$((rows + $(sql "SELECT count() FROM bench.mail_messages"))) &&
    rows=$((rows + $(sql "SELECT count() FROM bench.spf_results")))
[ "$rows" = "$Q" ] || { echo "clickhouse: $rows raw rows, expected $Q"; exit 1; }
for t in rollup_1m rollup_15m rollup_1h rollup_1d; do
    echo "$t rows=$(sql "SELECT count() FROM bench.$t")"
done
# The report runs on a settled store, as it would days after the ingest: wait (at most 5 min)
# until neither server is merging the parts just written.
i=0
while [ $i -lt 600 ]; do
    m1=$(sql "SELECT count() FROM system.merges")
    m2=$(curl -sf "$H2" --data-binary "SELECT count() FROM system.merges")
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
r_jst=$(report +09:00 2008-04-01 2008-06-30)
r_ist=$(report +05:30 2008-04-01 2008-06-30)
echo "report_quarter rows=$Q seconds_jst=$r_jst seconds_+05:30=$r_ist seconds_empty_quarter=$r_empty"
worst=$(echo "$r_jst $r_ist" | awk '{print ($1 > $2) ? $1 : $2}')
rr=$(echo "$worst" | awk '{printf "%.2f", 10 / $1}')
echo "RESULT clickhouse_report seconds_$Q kansoku=$worst peer=10 ratio=$rr"

ratio=$(echo "$k_rate $p_rate" | awk '{printf "%.2f", $1 / $2}')
echo "kansoku: $k_rate rows/s   clickhouse-client: $p_rate rows/s   ratio: $ratio"
echo "RESULT clickhouse rows_per_s kansoku=$k_rate peer=$p_rate ratio=$ratio"
