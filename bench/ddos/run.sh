#!/bin/sh
# DDoS detect throughput and memory.
#  - a 5M-packet capture from bench/ddos/gen_flood.c: 64-byte TCP SYNs from spoofed sources
#    and 10 % 1024-byte UDP from amplifier ports, 80 % aimed at 4 victims, the rest at 100 000
#    other hosts;
#  - kansoku ddos detect (1 thread, 1 and 2 workers) against a bare libpcap loop that only
#    counts packets (bench/ddos/pcap_count.c), tshark -z endpoints,ip and nfpcapd (flows);
#    tshark and nfpcapd run on the first 1M packets (the generator is deterministic, so it is
#    the file's prefix) and their rate is taken as is (they are slower by an order of magnitude:
#    a full run would take minutes);
#  - peak RSS with 10M distinct spoofed sources and 1M distinct targets (/usr/bin/time -v).
# Env: KANSOKU, BUILD_DIR (release build), BENCH_OUT (scratch), DDOS_BENCH_PACKETS (5000000).
set -eu
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-$(mktemp -d)}
K=${KANSOKU:-$BUILD_DIR/cli/kansoku}
GEN="$BUILD_DIR/bench/ddos_gen_flood"
COUNT="$BUILD_DIR/bench/ddos_pcap_count"
N=${DDOS_BENCH_PACKETS:-5000000}
for x in "$K" "$GEN" "$COUNT"; do [ -x "$x" ] || { echo "ddos: $x not built"; exit 1; }; done
mkdir -p "$OUT"
F="$OUT/ddos-flood.pcap"
P="$OUT/ddos-flood-1m.pcap"
M="$OUT/ddos-mem.pcap"
trap 'rm -rf "$F" "$P" "$M" "$OUT/ddos-nf"' EXIT

now() { date +%s.%N; }
rate() { echo "$1 $2 $3" | awk '{printf "%.0f", $1 / ($3 - $2)}'; }

"$GEN" "$F" "$N"
"$GEN" "$P" 1000000
echo "ddos: capture $N packets, $(($(stat -c %s "$F") / 1048576)) MiB; machine: $(nproc) CPUs," \
    "$(lscpu | sed -n 's/^Model name: *//p')"

# Peer: the bare libpcap loop, best of 3 (the first also warms the page cache).
best_peer=0
for i in 1 2 3; do
    r=$("$COUNT" "$F" | sed -n 's/.*pps=\([0-9]*\).*/\1/p')
    [ "$r" -gt "$best_peer" ] && best_peer=$r
done
echo "libpcap counting loop: $best_peer pkt/s"

# kansoku: best of 3 for each engine shape.
kansoku_rate() {
    best=0
    for i in 1 2 3; do
        t0=$(now)
        "$K" ddos detect -q --workers "$1" "$F" >/dev/null
        t1=$(now)
        r=$(rate "$N" "$t0" "$t1")
        [ "$r" -gt "$best" ] && best=$r
    done
    echo "$best"
}
k0=$(kansoku_rate 0)
k1=$(kansoku_rate 1)
k2=$(kansoku_rate 2)
echo "kansoku ddos detect: $k0 pkt/s (one thread), $k1 (reader + 1 worker), $k2 (reader + 2 workers)"
kbest=$k0
[ "$k1" -gt "$kbest" ] && kbest=$k1
[ "$k2" -gt "$kbest" ] && kbest=$k2

# tshark and nfpcapd on the 1M-packet prefix.
ts_rate=0
if command -v tshark >/dev/null; then
    t0=$(now)
    tshark -r "$P" -q -z endpoints,ip >/dev/null 2>&1
    t1=$(now)
    ts_rate=$(rate 1000000 "$t0" "$t1")
    echo "tshark -z endpoints,ip (1M-packet prefix): $ts_rate pkt/s"
else
    echo "tshark: not installed (Debian tshark)"
fi
nf_rate=0
if command -v nfpcapd >/dev/null; then
    rm -rf "$OUT/ddos-nf"
    mkdir -p "$OUT/ddos-nf"
    t0=$(now)
    nfpcapd -r "$P" -w "$OUT/ddos-nf" >/dev/null 2>&1
    t1=$(now)
    nf_rate=$(rate 1000000 "$t0" "$t1")
    echo "nfpcapd -r (flows, 1M-packet prefix): $nf_rate pkt/s"
else
    echo "nfpcapd: not installed (Debian nfdump)"
fi

# Memory: 10M distinct spoofed sources, 1M distinct targets, no victim; and the first 5M of
# them (the same sources and targets, half the packets): RSS stays flat once tables are full.
rm -f "$F" "$P"
"$GEN" "$M" 10000000 10000000 1000000 0 0 10 1024 1000000
rss() {
    /usr/bin/time -v "$K" ddos detect -q --workers "$1" "$M" 2>&1 >/dev/null |
        sed -n 's/.*Maximum resident set size (kbytes): *//p'
}
rss1=$(rss 1)
rss0=$(rss 0)
echo "peak RSS, 10M sources x 1M targets: $((rss0 / 1024)) MiB (one thread), $((rss1 / 1024)) MiB (1 worker)"
"$K" ddos detect -v --workers 0 "$M" 2>&1 >/dev/null | grep -E 'packets|evicted' | head -2

ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "n/a" }'; }
echo "ratios: vs libpcap loop $(ratio "$kbest" "$best_peer"), vs tshark $(ratio "$kbest" "$ts_rate")," \
    "vs nfpcapd $(ratio "$kbest" "$nf_rate"), 2 workers vs 1 thread $(ratio "$k2" "$k0")"
echo "RESULT ddos_tshark pkts_per_s kansoku=$kbest peer=$ts_rate ratio=$(ratio "$kbest" "$ts_rate")"
echo "RESULT ddos_nfpcapd pkts_per_s kansoku=$kbest peer=$nf_rate ratio=$(ratio "$kbest" "$nf_rate")"
echo "RESULT ddos_workers pkts_per_s kansoku=$k2 peer=$k0 ratio=$(ratio "$k2" "$k0")"
echo "RESULT ddos_rss_mib rss kansoku=$((rss0 / 1024)) peer=256 ratio=$(ratio "$rss0" 262144)"
echo "RESULT ddos pkts_per_s kansoku=$kbest peer=$best_peer ratio=$(ratio "$kbest" "$best_peer")"
