#!/bin/sh
# Rows per second into SQLite: kansoku's store (C API, batched transactions, WAL, prepared
# statements) against the sqlite3 command-line tool importing the same rows from CSV
# (.import into a table of the same shape and indexes, WAL), in the same run. Also times
# `kansoku db import` of the same rows (CSV parsing + SHA-256 + store).
# Env: BUILD_DIR (release build), BENCH_OUT (scratch dir), STORE_BENCH_ROWS (default 2000000).
set -eu
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-$(mktemp -d)}
N=${STORE_BENCH_ROWS:-2000000}
KB="$BUILD_DIR/bench/bench_store"
K=${KANSOKU:-$BUILD_DIR/cli/kansoku}
[ -x "$KB" ] || { echo "store: $KB not built"; exit 1; }
command -v sqlite3 >/dev/null || { echo "store: sqlite3 not installed (Debian sqlite3)"; exit 1; }
mkdir -p "$OUT"
rm -f "$OUT"/store-*.db*

now() { date +%s.%N; }

# kansoku, through the C API (open .. close, checkpoint included)
api=$("$KB" "$N" "$OUT/store-api.db" "$OUT/peer.csv" "$OUT/kansoku.csv")
echo "$api"
k_rate=$(echo "$api" | sed -n 's/.*rows_per_s=\([0-9.]*\).*/\1/p')

# the peer: the same schema (taken from kansoku's database), WAL, .import of the same rows
sqlite3 "$OUT/store-api.db" .schema | grep -v '^CREATE TABLE sqlite_sequence' >"$OUT/schema.sql"
sqlite3 "$OUT/store-peer.db" 'PRAGMA journal_mode=WAL;' >/dev/null
sqlite3 "$OUT/store-peer.db" <"$OUT/schema.sql"
sqlite3 "$OUT/store-peer.db" \
    "INSERT INTO inputs (id, sha256, size, name, kind, started, status, rows) VALUES (1, 'x', 0, 'peer', 'peer', 0, 'complete', 0)"
t0=$(now)
sqlite3 "$OUT/store-peer.db" 'PRAGMA synchronous=NORMAL;' '.mode csv' ".import $OUT/peer.csv series"
t1=$(now)
p_rows=$(sqlite3 "$OUT/store-peer.db" 'SELECT count(*) FROM series')
p_rate=$(echo "$p_rows $t0 $t1" | awk '{printf "%.0f", $1 / ($3 - $2)}')
echo "sqlite3_import rows=$p_rows seconds=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}') rows_per_s=$p_rate"

# kansoku db import: the whole CLI path on the same rows (for information)
t0=$(now)
"$K" db import -q --db "$OUT/store-cli.db" "$OUT/kansoku.csv"
t1=$(now)
c_rows=$(sqlite3 "$OUT/store-cli.db" 'SELECT count(*) FROM series')
echo "kansoku_db_import rows=$c_rows seconds=$(echo "$t0 $t1" | awk '{printf "%.3f", $2 - $1}') rows_per_s=$(echo "$c_rows $t0 $t1" | awk '{printf "%.0f", $1 / ($3 - $2)}')"

k_rows=$(sqlite3 "$OUT/store-api.db" 'SELECT count(*) FROM series')
[ "$k_rows" = "$N" ] && [ "$p_rows" = "$N" ] && [ "$c_rows" = "$N" ] || {
    echo "store: row counts differ: api=$k_rows peer=$p_rows cli=$c_rows (expected $N)"; exit 1; }
ratio=$(echo "$k_rate $p_rate" | awk '{printf "%.2f", $1 / $2}')
echo "kansoku: $k_rate rows/s   sqlite3 .import: $p_rate rows/s   ratio: $ratio"
echo "RESULT store rows_per_s kansoku=$k_rate peer=$p_rate ratio=$ratio"
rm -f "$OUT"/store-*.db* "$OUT/peer.csv" "$OUT/kansoku.csv" "$OUT/schema.sql"
