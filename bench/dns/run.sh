#!/bin/sh
# DNS analyzer throughput on a DNS-heavy capture: `kansoku dns poisoning` (every query
# remembered, every response matched, one Kaminsky burst found) and `kansoku dns audit` (per
# resolver statistics) against the bare libpcap loop that only counts packets
# (bench/ddos/pcap_count.c). The capture comes from bench/dns/gen_dns.c: DNS_BENCH_PAIRS
# query/response pairs (default 2 000 000, so 4 M packets) of 4 resolvers and 200 servers,
# plus 2 000 forged responses. From the page cache; rates over CPU time (see below).
# Env: KANSOKU, BUILD_DIR (release build), BENCH_OUT (scratch), DNS_BENCH_PAIRS.
set -eu
BUILD_DIR=${BUILD_DIR:-build}
OUT=${BENCH_OUT:-$(mktemp -d)}
K=${KANSOKU:-$BUILD_DIR/cli/kansoku}
GEN="$BUILD_DIR/bench/gen_dns"
COUNT="$BUILD_DIR/bench/ddos_pcap_count"
PAIRS=${DNS_BENCH_PAIRS:-2000000}
for x in "$K" "$GEN" "$COUNT"; do [ -x "$x" ] || { echo "dns: $x not built"; exit 1; }; done
mkdir -p "$OUT"
F="$OUT/dns-heavy.pcap"
trap 'rm -f "$F"' EXIT
"$GEN" "$F" "$PAIRS"
cat "$F" >/dev/null
N=$("$COUNT" "$F" | sed -n 's/^packets=\([0-9]*\).*/\1/p')
echo "dns: capture $N packets ($PAIRS query/response pairs + 2000 forged responses)," \
    "$(($(stat -c %s "$F") / 1048576)) MiB; machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')"

# Each program runs 5 times, interleaved (peer, poisoning, audit, peer, ...) so that all
# three see the same moments of a shared machine; a rate is packets over CPU time (user +
# system, /usr/bin/time), the best of the 5, with the wall-clock rate alongside.
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "dns: /usr/bin/time missing (Debian time)"; exit 1; }
run() { # NAME CMD...: appends "cpu_rate wall_rate" to $OUT/dns-NAME.rates
    name=$1
    shift
    "$TIME" -f "%e %U %S" -o "$OUT/dns-time" "$@" >"$OUT/dns-$name.out" 2>/dev/null
    awk -v n="$N" '{w = $1; c = $2 + $3; if (c < 0.001) c = 0.001; if (w < 0.001) w = 0.001;
        printf "%.0f %.0f\n", n / c, n / w}' "$OUT/dns-time" >>"$OUT/dns-$name.rates"
}
rm -f "$OUT"/dns-*.rates
for i in 1 2 3 4 5; do
    run peer "$COUNT" "$F"
    run poisoning "$K" dns poisoning -q --json "$F"
    run audit "$K" dns audit -q --json "$F"
done
best() { sort -n -k"$2" "$OUT/dns-$1.rates" | tail -1 | cut -d' ' -f"$2"; }
pc=$(best peer 1) pw=$(best peer 2)
kp=$(best poisoning 1) kpw=$(best poisoning 2)
ka=$(best audit 1) kaw=$(best audit 2)
alerts=$(grep -c '"kind":"kaminsky","zone":"victim.example"' "$OUT/dns-poisoning.out" || true)
resolvers=$(grep -c '"role":"resolver".*"grade":"GREAT"' "$OUT/dns-audit.out" || true)
echo "libpcap counting loop: $pc pkt/s of CPU time ($pw pkt/s wall)"
echo "kansoku dns poisoning: $kp pkt/s of CPU time ($kpw wall; $alerts Kaminsky alert for victim.example, expected 1)"
echo "kansoku dns audit: $ka pkt/s of CPU time ($kaw wall; $resolvers resolvers graded GREAT, expected 4)"
ratio() { echo "$1 $2" | awk '{printf "%.2f", $1 / $2}'; }
echo "wall-clock ratios: poisoning $(ratio "$kpw" "$pw"), audit $(ratio "$kaw" "$pw")"
echo "RESULT dns_audit pkts_per_s kansoku=$ka peer=$pc ratio=$(ratio "$ka" "$pc")"
echo "RESULT dns pkts_per_s kansoku=$kp peer=$pc ratio=$(ratio "$kp" "$pc")"
