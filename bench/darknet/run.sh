#!/usr/bin/env bash
# Darknet statistics on a scan-heavy capture of 5 million packets (generated here by
# gen_darknet into $BENCH_OUT): `kansoku darknet` (no store, geo lookups on) against a bare
# libpcap loop counting packets (bench/ddos/pcap_count.c) and against `tshark -q -z endpoints,ip`. tshark
# runs on the first 1 million packets (the same generator, a prefix) to keep the run short,
# and its rate is compared as packets per second: the figures say so. Best of 3 wall-clock
# runs for kansoku (default --workers: the reader, the analysis and the sources in three
# threads) and the bare loop, one run of tshark; then one run of kansoku with --workers 0 (all
# in one thread) and the CPU time (user + sys) of each kansoku configuration.
set -uo pipefail
: "${KANSOKU:?}" "${BUILD_DIR:?}" "${BENCH_OUT:?}"
gen=$BUILD_DIR/bench/gen_darknet
bare=$BUILD_DIR/bench/ddos_pcap_count # the ddos benchmark's bare libpcap loop
big=$BENCH_OUT/darknet-5m.pcap
small=$BENCH_OUT/darknet-1m.pcap
n=5000000
n_small=1000000
"$gen" "$big" $n || exit 1
"$gen" "$small" $n_small || exit 1
echo "input: $n packets ($(($(stat -c %s "$big") >> 20)) MiB) in $big; tshark on a $n_small-packet prefix"
cat "$big" >/dev/null # page cache: every figure reads from memory

best_of3() { # CMD...: prints the best wall time in seconds
    local best="" t0 t1 t
    for _ in 1 2 3; do
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || { echo "fail"; return; }
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}
cpu_of() { # CMD...: prints the user + sys seconds of one run
    local TIMEFORMAT='%U %S' t
    t=$( { time "$@" >/dev/null 2>&1; } 2>&1) || { echo "fail"; return; }
    echo "$t" | awk '{ printf "%.2f", $1 + $2 }'
}
pps() { echo "scale=0; $1 / $2" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

t_bare=$(best_of3 "$bare" "$big")
t_ks=$(best_of3 "$KANSOKU" darknet -q --no-store -r "$big" --sensor bench --monitored 10.10.0.0/16)
if [ "$t_bare" = fail ] || [ "$t_ks" = fail ]; then echo "a run failed"; exit 1; fi
p_bare=$(pps $n "$t_bare")
p_ks=$(pps $n "$t_ks")
echo "bare libpcap loop:  ${t_bare}s  $p_bare packets/s"
echo "kansoku darknet:    ${t_ks}s  $p_ks packets/s  ($(ratio "$p_ks" "$p_bare") of the bare loop, target >= 0.70)"
dk=("$KANSOKU" darknet -q --no-store -r "$big" --sensor bench --monitored 10.10.0.0/16)
t_one=$(best_of3 "${dk[@]}" --workers 0)
echo "kansoku --workers 0: ${t_one}s  $(pps $n "$t_one") packets/s (one thread)"
echo "CPU time (user+sys): bare loop $(cpu_of "$bare" "$big")s, kansoku $(cpu_of "${dk[@]}")s, kansoku --workers 0 $(cpu_of "${dk[@]}" --workers 0)s"
echo "RESULT darknet pps_vs_libpcap kansoku=$p_ks peer=$p_bare ratio=$(ratio "$p_ks" "$p_bare")"

if command -v tshark >/dev/null 2>&1; then
    t0=$(date +%s.%N)
    tshark -r "$small" -q -z endpoints,ip >/dev/null 2>&1
    t1=$(date +%s.%N)
    t_ts=$(echo "$t1 - $t0" | bc -l)
    p_ts=$(pps $n_small "$t_ts")
    echo "tshark -z endpoints,ip (1M prefix): ${t_ts}s  $p_ts packets/s (x5 packets would take $(echo "scale=1; $t_ts * 5" | bc -l)s)"
    echo "kansoku / tshark: $(ratio "$p_ks" "$p_ts"), target >= 10"
    echo "RESULT darknet pps_vs_tshark kansoku=$p_ks peer=$p_ts ratio=$(ratio "$p_ks" "$p_ts")"
else
    echo "tshark not installed: no tshark figure"
fi
rm -f "$big" "$small"
