#!/usr/bin/env bash
# Flow records per second, NetFlow v9 and IPFIX, on one core: kansoku against nfcapd (Debian
# nfdump), both receiving the same export datagrams over loopback UDP.
#
# gen_flow makes the export (2 million records per protocol, 30 a datagram, templates
# every 20 datagrams) and sends it, paced so that neither collector drops datagrams, to
# `kansoku collect --stats` (decode + per-exporter totals) and to `nfcapd` (decode + its
# binary file). Each collector's rate is the records it received divided by the CPU time
# it used (user + system, from /proc/PID/stat), which is what one core spends per record;
# the wall time of the replay is set by the pacing, not by the collectors. nfdump -I counts
# the records nfcapd stored. Also printed: bench_flow, the collector fed from memory with
# records aggregated per destination in a hash table (no sockets), records/s of CPU time.
set -uo pipefail
: "${KANSOKU:?}" "${BUILD_DIR:?}" "${BENCH_OUT:?}"
gen=$BUILD_DIR/bench/gen_flow
inproc=$BUILD_DIR/bench/bench_flow
n=2000000
rate=20000 # datagrams per second sent (600k records/s)
tck=$(getconf CLK_TCK)
for t in nfcapd nfdump bc; do
    command -v $t >/dev/null || { echo "$t absent (Debian nfdump, bc): no peer figure"; exit 1; }
done

cpu_s() { # PID: user + system seconds of the process
    awk -v t="$tck" '{print ($14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0
}

run_one() { # VERSION: prints "kansoku_rate nfcapd_rate"
    local v=$1 port=$((30000 + RANDOM % 20000)) dir=$BENCH_OUT/nfcapd-v$1
    rm -rf "$dir"
    mkdir -p "$dir"
    "$KANSOKU" collect --netflow "127.0.0.1:$port" --duration 300 --stats --json -q \
        >"$BENCH_OUT/ks-v$v.json" 2>/dev/null &
    local kp=$!
    nfcapd -b 127.0.0.1 -p $((port + 1)) -w "$dir" -t 3600 -B 16777216 >/dev/null 2>&1 &
    local np=$!
    sleep 1
    # One sender, two receivers at once would double the load: one after the other.
    "$gen" -v "$v" -n $n -s "127.0.0.1:$port" -r $rate >/dev/null
    sleep 1
    local ks_cpu nf_cpu
    ks_cpu=$(cpu_s $kp)
    "$gen" -v "$v" -n $n -s "127.0.0.1:$((port + 1))" -r $rate >/dev/null
    sleep 1
    nf_cpu=$(cpu_s $np)
    kill -TERM $kp $np 2>/dev/null
    wait $kp $np 2>/dev/null
    local ks_rec nf_rec
    ks_rec=$(sed -n 's/.*"kind":"total".*"records":\([0-9]*\).*/\1/p' "$BENCH_OUT/ks-v$v.json")
    nf_rec=$(nfdump -r "$(ls "$dir"/nfcapd.* | head -1)" -I 2>/dev/null | sed -n 's/^Flows: //p')
    echo "v$v: kansoku received ${ks_rec:-0} records in ${ks_cpu}s CPU; nfcapd ${nf_rec:-0} in ${nf_cpu}s CPU (of $n sent)" >&2
    echo "$(echo "scale=0; ${ks_rec:-0} / ($ks_cpu + 0.001)" | bc -l) $(echo "scale=0; ${nf_rec:-0} / ($nf_cpu + 0.001)" | bc -l)"
}

echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p')"
for v in 9 10; do
    "$gen" -v $v -n $n -o "$BENCH_OUT/flow-v$v.pcap" >/dev/null
    echo "bench_flow v$v (in memory, decode + aggregate per destination): $("$inproc" "$BENCH_OUT/flow-v$v.pcap" -k 3)"
done
read -r ks9 nf9 < <(run_one 9)
read -r ks10 nf10 < <(run_one 10)
echo "NetFlow v9: kansoku collect $ks9 records/s CPU, nfcapd $nf9 records/s CPU, ratio $(echo "scale=2; $ks9 / $nf9" | bc -l)"
echo "IPFIX:      kansoku collect $ks10 records/s CPU, nfcapd $nf10 records/s CPU, ratio $(echo "scale=2; $ks10 / $nf10" | bc -l)"
ks=$(((ks9 + ks10) / 2))
nf=$(((nf9 + nf10) / 2))
echo "RESULT flow records_per_cpu_s kansoku=$ks peer=$nf ratio=$(echo "scale=2; $ks / $nf" | bc -l)"
