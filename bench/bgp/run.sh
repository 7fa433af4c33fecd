#!/usr/bin/env bash
# MRT decoding: `kansoku bgp dump` against Debian's `bgpdump -m` (the reference) on the RIPE RIS
# files of testdata/bgp (a full 2002 RIB and five update files), concatenated three times into one
# MRT file of about 35 MiB, as plain MRT and as gzip. Both print the same text (checked
# with cmp first); the figure is output lines (routes) per second, best of 3 wall-clock runs,
# output to /dev/null.
set -uo pipefail
: "${KANSOKU:?}" "${BENCH_OUT:?}"
D=${KS_TESTDATA:-$(dirname "$0")/../../../shared/testdata}/bgp/ripe-bgpdump
if ! command -v bgpdump >/dev/null 2>&1; then echo "bgpdump not installed (apt-get install bgpdump): no peer"; exit 0; fi
if [ ! -d "$D" ]; then echo "testdata/bgp absent ($D): skipped"; exit 0; fi
plain=$BENCH_OUT/bgp-bench.mrt
gz=$BENCH_OUT/bgp-bench.mrt.gz
: >"$plain"
for _ in 1 2 3; do
    for f in bview.20020722.2337.gz updates.20020722.2238.gz updates.20070211.0141.gz \
        updates.20071015.1505.gz updates.20100722.2015.gz updates.20160811.1600.gz; do
        gzip -dc "$D/$f" >>"$plain"
    done
done
gzip -6 -c "$plain" >"$gz"
cat "$plain" "$gz" >/dev/null # page cache

"$KANSOKU" bgp dump -q "$plain" >"$BENCH_OUT/bgp-k.txt"
bgpdump -q -m "$plain" >"$BENCH_OUT/bgp-b.txt" 2>/dev/null
if ! cmp -s "$BENCH_OUT/bgp-k.txt" "$BENCH_OUT/bgp-b.txt"; then echo "outputs differ"; exit 1; fi
lines=$(wc -l <"$BENCH_OUT/bgp-k.txt")
rm -f "$BENCH_OUT/bgp-k.txt" "$BENCH_OUT/bgp-b.txt"
echo "input: $lines routes, $(($(stat -c %s "$plain") >> 20)) MiB plain, $(($(stat -c %s "$gz") >> 20)) MiB gzip; machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')"

best_of3() { # CMD...: the best wall time in seconds
    local best="" t0 t1 t
    for _ in 1 2 3; do
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || { echo fail; return; }
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}
rate() { echo "scale=0; $lines / $1" | bc -l; }
ratio() { echo "scale=1; $1 / $2" | bc -l; }

for kind in plain gzip; do
    f=$plain
    [ $kind = gzip ] && f=$gz
    t_k=$(best_of3 "$KANSOKU" bgp dump -q "$f")
    t_b=$(best_of3 bgpdump -q -m "$f")
    if [ "$t_k" = fail ] || [ "$t_b" = fail ]; then echo "a run failed"; exit 1; fi
    r_k=$(rate "$t_k")
    r_b=$(rate "$t_b")
    echo "$kind: bgpdump -m ${t_b}s ($r_b routes/s), kansoku bgp dump ${t_k}s ($r_k routes/s): x$(ratio "$r_k" "$r_b") (target >= 10)"
    echo "RESULT bgp routes_per_s_$kind kansoku=$r_k peer=$r_b ratio=$(ratio "$r_k" "$r_b")"
done
rm -f "$plain" "$gz"
