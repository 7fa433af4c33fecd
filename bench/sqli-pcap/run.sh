#!/bin/sh
# HTTP requests out of a capture: kansoku sqli scan -r (TCP reassembly, HTTP/1.x parsing,
# parameter decoding, SQL-injection detection) against tshark's HTTP dissector on the same file
# (it reassembles and parses the requests but detects nothing) and a bare libpcap loop that
# only counts packets (the floor). One core each (taskset -c 0), best of RUNS.
# Env: KANSOKU (binary), BUILD_DIR (release build), BENCH_OUT (scratch), CONNS (connections
# in the generated capture, default 25000: about 100 MB).
set -eu
: "${KANSOKU:=${BUILD_DIR:-build}/cli/kansoku}"
: "${BUILD_DIR:=$(dirname "$(dirname "$KANSOKU")")}"
: "${BENCH_OUT:=$(mktemp -d)}"
CONNS=${CONNS:-25000}
RUNS=${RUNS:-3}
GEN=$BUILD_DIR/bench/gen_http_pcap
COUNT=$BUILD_DIR/bench/ddos_pcap_count
[ -x "$GEN" ] || { echo "skip: $GEN not built"; exit 77; }
mkdir -p "$BENCH_OUT"
P=$BENCH_OUT/http.pcap
"$GEN" bench "$P" "$CONNS"
bytes=$(wc -c <"$P")
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
echo "capture: $CONNS connections, $mb MB ($P)"

PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"
# best wall time of RUNS runs of a command (stdout to $BENCH_OUT/last.out)
best() {
    b=""
    i=0
    while [ $i -lt "$RUNS" ]; do
        t0=$(date +%s.%N)
        $PIN "$@" >"$BENCH_OUT/last.out" 2>"$BENCH_OUT/last.err"
        t1=$(date +%s.%N)
        b=$(awk -v a="$t0" -v c="$t1" -v b="$b" 'BEGIN { d = c - a; if (b == "" || d < b) b = d; printf "%.3f", b }')
        i=$((i + 1))
    done
    echo "$b"
}
rate() { awk -v n="$bytes" -v s="$1" 'BEGIN { printf "%.1f", n / s / 1e6 }'; }

t=$(best "$KANSOKU" sqli scan -r "$P")
k_rate=$(rate "$t")
det=$(wc -l <"$BENCH_OUT/last.out")
echo "kansoku sqli scan -r: $t s, $k_rate MB/s, $det detections"
sed 's/^/  /' "$BENCH_OUT/last.err"

if [ -x "$COUNT" ]; then
    t=$(best "$COUNT" "$P")
    c_rate=$(rate "$t")
    echo "bare libpcap loop (bench/ddos/pcap_count.c): $t s, $c_rate MB/s"
else
    c_rate=NA
    echo "bare libpcap loop: not built ($COUNT)"
fi

if command -v tshark >/dev/null; then
    RUNS=1
    t=$(best tshark -r "$P" -Y http.request -T fields -e ip.src -e http.host -e http.request.uri)
    ts_rate=$(rate "$t")
    echo "tshark -Y http.request (HTTP dissector, fields out): $t s, $ts_rate MB/s," \
        "$(wc -l <"$BENCH_OUT/last.out") requests"
else
    ts_rate=NA
    echo "tshark: not installed (Debian tshark)"
fi
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == "NA" || b == 0) print "NA"; else printf "%.2f", a / b }'; }
echo "kansoku / libpcap loop: $(ratio "$k_rate" "$c_rate"); kansoku / tshark: $(ratio "$k_rate" "$ts_rate")"
echo "RESULT sqli_pcap_loop MB_per_s kansoku=$k_rate peer=$c_rate ratio=$(ratio "$k_rate" "$c_rate")"
echo "RESULT sqli_pcap MB_per_s kansoku=$k_rate peer=$ts_rate ratio=$(ratio "$k_rate" "$ts_rate")"
