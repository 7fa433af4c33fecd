#!/bin/sh
# kansoku collect: NetFlow v5/v9, IPFIX and sFlow export, from generated captures (gen_flow,
# built in bench/) and from real exporters on loopback (softflowd, fprobe, pmacctd's sfprobe),
# compared with collectors from Debian (nfcapd/nfdump; pmacct's sfacctd for sFlow, since
# Debian's nfdump has no sFlow collector). Parts whose tools are absent are skipped with a
# message. Every external program runs under `timeout`.
. "$(dirname "$0")/lib.sh"

GEN="${KS_BUILDDIR:-}/bench/gen_flow"
PCAPS="${KS_TESTDATA:-}/pcap"

# --- usage -----------------------------------------------------------------------------------
check_exit 2 "no input is a usage error" "$KANSOKU" collect
check_exit 2 "files and sockets together are refused" "$KANSOKU" collect -r x.pcap --netflow :2055
check_exit 2 "a bad listen address is a usage error" "$KANSOKU" collect --netflow nowhere:x
check_exit 2 "--darknet needs a sensor" "$KANSOKU" collect -r x.pcap --darknet
check_exit 2 "--db needs an analyzer" "$KANSOKU" collect -r x.pcap --db "$TMP/x.db"
check_exit 1 "an unreadable capture fails" "$KANSOKU" collect -r "$TMP/missing.pcap"
check_grep "help names the protocols" "IPFIX" "$KANSOKU" collect --help

# wait_udp PORT: waits (up to 10 s) until something is bound to UDP PORT
wait_udp() {
    hex=$(printf ':%04X ' "$1")
    i=0
    while [ $i -lt 50 ]; do
        if grep -q "$hex" /proc/net/udp /proc/net/udp6 2>/dev/null; then return 0; fi
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

# free_udp_port FROM: the first UDP port from FROM that no socket on this machine is bound to
free_udp_port() {
    p=$1
    while grep -q "$(printf ':%04X ' "$p")" /proc/net/udp /proc/net/udp6 2>/dev/null; do
        p=$((p + 1))
    done
    echo "$p"
}

# wait_drained PORT: the UDP socket bound to PORT holds no datagram (the collector has read
# all it was sent), or 10 s passed; then a moment for the last one's records.
wait_drained() {
    hex=$(printf ':%04X ' "$1")
    i=0
    while [ $i -lt 100 ]; do
        q=$(grep -h "$hex" /proc/net/udp /proc/net/udp6 2>/dev/null | awk '{ split($5, a, ":"); print a[2]; exit }')
        [ "$q" = 00000000 ] && break
        sleep 0.1
        i=$((i + 1))
    done
    sleep 0.5
}

# at_second_start: returns in the first tenth of a wall-clock second. A NetFlow v9 header
# gives the export time in whole seconds, so an export that straddles a second's boundary
# shifts its later flows against its earlier ones by up to a second.
at_second_start() {
    i=0
    while [ $i -lt 100 ] && [ "$(date +%N | sed 's/^0*//')" -gt 100000000 ] 2>/dev/null; do
        sleep 0.02
        i=$((i + 1))
    done
}

# total_of FIELD: the FIELD of the "total" line of --stats --json in $TMP/.out
total_of() { grep '"kind":"total"' "$TMP/.out" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

if [ ! -x "$GEN" ]; then
    echo "skip: $GEN not built: generated-capture checks"
else
    # --- generated export: every protocol, totals as generated ---------------------------
    for v in 5 9 10; do
        exp_=$("$GEN" -v "$v" -n 1000 -o "$TMP/g$v.pcap" --seed "$v")
        check "v$v: stats of a generated capture" "$KANSOKU" collect -r "$TMP/g$v.pcap" --stats --json
        got_="records $(total_of records) packets $(total_of packets) bytes $(total_of bytes)"
        if [ "$got_" = "$exp_" ]; then ok "v$v: totals as generated"; else
            not_ok "v$v: totals as generated" "want $exp_" "got  $got_"; fi
    done
    check_out "v9: one JSON line per flow" 1000 sh -c "\"$KANSOKU\" collect -r \"$TMP/g9.pcap\" --json | wc -l | tr -d ' '"
    check_grep "v9: a flow as JSON" '"proto":"netflow9".*"src":"10\.' "$KANSOKU" collect -r "$TMP/g9.pcap" --json
    "$GEN" -v 10 -n 300 --sampling 100 -o "$TMP/s10.pcap" >/dev/null
    check_grep "ipfix: options template gives the sampling rate" '"sampling":100' \
        "$KANSOKU" collect -r "$TMP/s10.pcap" --stats --json

    # Bad export is counted per exporter and reason, and is not an error.
    "$GEN" -v 9 -n 3000 --bad 1 -o "$TMP/bad9.pcap" >/dev/null
    check_grep "v9: bad export counted by reason" \
        '"kind":"exporter".*"problems":\{"bad_length":10,"no_template":1,"sequence_gap":10\}' \
        "$KANSOKU" collect -r "$TMP/bad9.pcap" --stats --json -q
    "$GEN" -v 10 -n 3000 --bad 1 -o "$TMP/bad10.pcap" >/dev/null
    check_grep "ipfix: bad export counted by reason" \
        '"kind":"exporter".*"problems":\{"bad_length":10,"no_template":1,"sequence_gap":[0-9]+\}' \
        "$KANSOKU" collect -r "$TMP/bad10.pcap" --stats --json -q

    # A capture cut in the middle of a datagram: what came before is counted, exit 1.
    size=$(wc -c <"$TMP/g9.pcap")
    head -c $((size - 100)) "$TMP/g9.pcap" >"$TMP/cut.pcap"
    check_exit 1 "a capture cut short fails after what it holds" "$KANSOKU" collect -r "$TMP/cut.pcap" --stats

    # --- flows to the analyzers ------------------------------------------------------------
    "$GEN" -v 9 -n 3000 --flood 198.51.100.7 --sampling 10 -o "$TMP/flood.pcap" >/dev/null
    check_grep "ddos: a flood in flows is an attack" \
        '"target":"198.51.100.7".*"vectors":\["amp_dns"\].*"packets":6000000,' \
        "$KANSOKU" collect -r "$TMP/flood.pcap" --ddos --threshold-pps 1000 --json
    check "ddos: attacks stored" "$KANSOKU" collect -r "$TMP/flood.pcap" --ddos --threshold-pps 1000 \
        --db "$TMP/k.db" -q
    check_grep "ddos: the stored attack is in ddos stats" "2023-11-14" "$KANSOKU" ddos stats --db "$TMP/k.db"
    check_exit 1 "ddos: the same capture is not stored twice" "$KANSOKU" collect -r "$TMP/flood.pcap" \
        --ddos --threshold-pps 1000 --db "$TMP/k.db" -q
    check_grep "darknet: flows to the dark prefix are counted, scaled" \
        '"kind":"darknet".*"proto":"udp".*"packets":2000,' \
        "$KANSOKU" collect -r "$TMP/flood.pcap" --darknet --sensor s1 --monitored 198.51.100.0/24 --json -q
    check "darknet: rows stored" "$KANSOKU" collect -r "$TMP/flood.pcap" --darknet --sensor s1 \
        --monitored 198.51.100.0/24 --db "$TMP/k.db" -q

    # --- a live socket ---------------------------------------------------------------------
    port=$(free_udp_port $((20000 + $$ % 12000))) # below the ephemeral range (32768-)
    "$KANSOKU" collect --netflow "127.0.0.1:$port" --count 34 --duration 20 --stats --json \
        >"$TMP/live.out" 2>"$TMP/live.err" &
    kp=$!
    wait_udp "$port"
    exp_=$("$GEN" -v 9 -n 1000 -s "127.0.0.1:$port" -r 2000 --seed 9)
    wait $kp
    cp "$TMP/live.out" "$TMP/.out"
    got_="records $(total_of records) packets $(total_of packets) bytes $(total_of bytes)"
    if [ "$got_" = "$exp_" ]; then ok "live: datagrams received on a socket"; else
        not_ok "live: datagrams received on a socket" "want $exp_" "got  $got_"; fi
fi

# --- real exporters, compared with Debian's collectors -----------------------------------------

# nfdump_totals DIR: "flows N packets N bytes N" of the nfcapd files in DIR
nfdump_totals() {
    f=$(ls "$1"/nfcapd.* 2>/dev/null | head -1)
    [ -n "$f" ] || { echo none; return; }
    nfdump -r "$f" -I 2>/dev/null | awk -F': ' '/^Flows:/{f=$2} /^Packets:/{p=$2} /^Bytes:/{b=$2}
        END {printf "flows %s packets %s bytes %s\n", f, p, b}'
}
kansoku_totals() {
    printf 'flows %s packets %s bytes %s\n' "$(total_of records)" "$(total_of packets)" "$(total_of bytes)"
}

# live_kansoku PORT: starts kansoku collect on PORT in the background (pid in $kp)
live_kansoku() {
    "$KANSOKU" collect --netflow "127.0.0.1:$1" --duration 60 --stats --json \
        >"$TMP/k.out" 2>"$TMP/k.err" &
    kp=$!
}
stop_kansoku() {
    kill -TERM "$kp" 2>/dev/null
    wait "$kp" 2>/dev/null
    cp "$TMP/k.out" "$TMP/.out"
}

INPUT="$PCAPS/amp.UDP.snmp.src161.first2000.pcap"
if ! command -v nfcapd >/dev/null || ! command -v nfdump >/dev/null; then
    echo "skip: nfcapd/nfdump absent (Debian nfdump): exporter comparisons"
elif [ ! -r "$INPUT" ]; then
    echo "skip: $INPUT absent: exporter comparisons"
else
    if ! command -v softflowd >/dev/null; then
        echo "skip: softflowd absent"
    else
        for v in 5 9 10; do
            pk=$(free_udp_port $((21000 + ($$ + v) % 9000)))
            pn=$(free_udp_port $((pk + 1)))
            mkdir -p "$TMP/nf$v"
            timeout 60 nfcapd -b 127.0.0.1 -p "$pn" -w "$TMP/nf$v" -t 3600 >/dev/null 2>&1 &
            np=$!
            live_kansoku "$pk"
            wait_udp "$pk"
            wait_udp "$pn"
            # The same capture exported twice (deterministic): to nfcapd, and to kansoku.
            timeout 30 softflowd -d -r "$INPUT" -n "127.0.0.1:$pn" -v "$v" >/dev/null 2>&1
            timeout 30 softflowd -d -r "$INPUT" -n "127.0.0.1:$pk" -v "$v" >/dev/null 2>&1
            wait_drained "$pn"
            wait_drained "$pk"
            kill -TERM "$np" 2>/dev/null
            wait "$np" 2>/dev/null
            stop_kansoku
            exp_=$(nfdump_totals "$TMP/nf$v")
            got_=$(kansoku_totals)
            if [ "$got_" = "$exp_" ] && [ "$exp_" != none ]; then ok "softflowd v$v: as nfdump ($got_)"
            else not_ok "softflowd v$v: as nfdump" "nfdump  $exp_" "kansoku $got_"; fi
        done
    fi

    # Flows of a SYN flood make the attack its packets make (kansoku ddos detect).
    SYN="$PCAPS/pkt.TCP.synflood.spoofed.first10000.pcap"
    if command -v softflowd >/dev/null && [ -r "$SYN" ]; then
        pk=$(free_udp_port $((24000 + $$ % 9000)))
        "$KANSOKU" collect --netflow "127.0.0.1:$pk" --duration 60 --ddos --threshold-pps 100 \
            --start-after 1 --json >"$TMP/k.out" 2>"$TMP/k.err" &
        kp=$!
        wait_udp "$pk"
        at_second_start
        timeout 30 softflowd -d -r "$SYN" -n "127.0.0.1:$pk" -v 9 >/dev/null 2>&1
        wait_drained "$pk"
        stop_kansoku
        cp "$TMP/k.out" "$TMP/attack.json"
        check_grep "softflowd v9: the SYN flood's flows are its attack" \
            '"target":"10\.10\.10\.10".*"vectors":\["syn_flood"\].*"packets":10000,' \
            cat "$TMP/attack.json"
        check_grep "the same attack from the packets" \
            '"target":"10\.10\.10\.10".*"vectors":\["syn_flood"\].*"packets":10000,' \
            "$KANSOKU" ddos detect -r "$SYN" --threshold-pps 100 --start-after 1 --json --workers 0
    fi

    if ! command -v fprobe >/dev/null || [ ! -x "$GEN" ]; then
        echo "skip: fprobe absent (or gen_flow not built)"
    else
        # fprobe watches loopback for datagrams to a closed port (sent by gen_flow) and exports
        # NetFlow v5 to both collectors at once.
        pd=$(free_udp_port $((31000 + $$ % 9000)))
        pk=$(free_udp_port $((pd + 1)))
        pn=$(free_udp_port $((pk + 1)))
        mkdir -p "$TMP/nff"
        timeout 60 nfcapd -b 127.0.0.1 -p "$pn" -w "$TMP/nff" -t 3600 >/dev/null 2>&1 &
        np=$!
        live_kansoku "$pk"
        timeout 60 fprobe -i lo -f "udp and dst port $pd" -d 1 -e 2 -s 1 -l 2 \
            "127.0.0.1:$pk" "127.0.0.1:$pn" >"$TMP/fprobe.log" 2>&1 &
        fp=$!
        wait_udp "$pk"
        wait_udp "$pn"
        sleep 2
        if kill -0 "$fp" 2>/dev/null; then
            "$GEN" -v 5 -n 3000 -s "127.0.0.1:$pd" -r 500 >/dev/null
            sleep 5
            kill -TERM "$fp" 2>/dev/null
            wait "$fp" 2>/dev/null
            wait_drained "$pn"
            wait_drained "$pk"
            kill -TERM "$np" 2>/dev/null
            wait "$np" 2>/dev/null
            stop_kansoku
            exp_=$(nfdump_totals "$TMP/nff")
            got_=$(kansoku_totals)
            if [ "$got_" = "$exp_" ] && [ "$exp_" != none ]; then ok "fprobe: as nfdump ($got_)"
            else not_ok "fprobe: as nfdump" "nfdump  $exp_" "kansoku $got_"; fi
        else
            echo "skip: fprobe cannot capture on lo here: $(head -c 200 "$TMP/fprobe.log")"
            kill -TERM "$np" 2>/dev/null
            stop_kansoku
        fi
    fi
fi

# sFlow: pmacctd's sfprobe plugin samples a capture (1:1) and exports sFlow v5, recorded once;
# the recording is then sent to kansoku and to sfacctd (pmacct's own collector) alike. (Fed by
# pmacctd directly, each collector got a different export: what a run sends of the capture's
# end, and at what rates under load, varies from one probe to the next.)
PY=/usr/bin/python3
if ! command -v pmacctd >/dev/null || ! command -v sfacctd >/dev/null; then
    echo "skip: pmacct absent: sFlow comparison"
elif [ ! -x "$PY" ]; then
    echo "skip: $PY absent: sFlow comparison"
elif [ ! -r "$INPUT" ]; then
    echo "skip: $INPUT absent: sFlow comparison"
else
    pr=$(free_udp_port $((41000 + $$ % 9000)))
    pk=$(free_udp_port $((pr + 1)))
    ps=$(free_udp_port $((pk + 1)))
    # the recorder: datagrams to $pr, each with its length, until 3 s without one (20 s for the
    # first)
    "$PY" - "$pr" "$TMP/sflow.rec" <<'EOF' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(20)
with open(sys.argv[2], "wb") as out:
    try:
        while True:
            d = s.recv(65535)
            out.write(struct.pack(">I", len(d)) + d)
            s.settimeout(3)
    except socket.timeout:
        pass
EOF
    rp=$!
    wait_udp "$pr"
    cat >"$TMP/pm.conf" <<EOF
daemonize: false
pcap_savefile: $INPUT
pcap_savefile_wait: false
plugins: sfprobe
sfprobe_receiver: 127.0.0.1:$pr
sfprobe_agentip: 192.0.2.7
sampling_rate: 1
EOF
    timeout 30 pmacctd -f "$TMP/pm.conf" >"$TMP/pm.log" 2>&1
    wait "$rp"
    cat >"$TMP/sfa.conf" <<EOF
daemonize: false
sfacctd_ip: 127.0.0.1
sfacctd_port: $ps
sfacctd_renormalize: true
plugins: print
aggregate: proto
print_output: csv
print_output_file: $TMP/sfa.csv
print_refresh_time: 1
print_output_file_append: true
EOF
    # sfacctd does not always exit on a signal: it is killed at the end, its file read first.
    sfacctd -f "$TMP/sfa.conf" >"$TMP/sfa.log" 2>&1 &
    sp=$!
    "$KANSOKU" collect --sflow "127.0.0.1:$pk" --duration 60 --stats --json \
        >"$TMP/k.out" 2>"$TMP/k.err" &
    kp=$!
    wait_udp "$pk"
    wait_udp "$ps"
    "$PY" - "$TMP/sflow.rec" "$pk" "$ps" <<'EOF'
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = open(sys.argv[1], "rb").read()
i = 0
while i < len(data):
    n = struct.unpack(">I", data[i:i + 4])[0]
    for port in sys.argv[2:]:
        s.sendto(data[i + 4:i + 4 + n], ("127.0.0.1", int(port)))
    i += 4 + n
    time.sleep(0.001)
EOF
    wait_drained "$pk"
    wait_drained "$ps"
    sleep 2
    kill -INT "$sp" 2>/dev/null
    sleep 2
    kill -KILL "$sp" 2>/dev/null
    wait "$sp" 2>/dev/null
    stop_kansoku
    exp_=$(awk -F, '$1 != "PROTOCOL" {p += $2; b += $3} END {printf "packets %d bytes %d\n", p, b}' \
        "$TMP/sfa.csv" 2>/dev/null)
    got_="packets $(total_of packets) bytes $(total_of bytes)"
    if [ "$got_" = "$exp_" ] && [ "$exp_" != "packets 0 bytes 0" ]; then
        ok "pmacctd sfprobe: as sfacctd ($got_)"
    else not_ok "pmacctd sfprobe: as sfacctd" "sfacctd $exp_" "kansoku $got_"; fi
fi

finish
