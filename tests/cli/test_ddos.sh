#!/bin/sh
# kansoku ddos: the testdata captures are detected and classified as GROUND_TRUTH.md says
# (thresholds suited to their sub-second durations), scans/benign/P2P give no attack, stdin,
# several files, a truncated file, the store and its stats, usage errors.
. "$(dirname "$0")/lib.sh"
P="$KS_TESTDATA/pcap"
[ -f "$P/pkt.TCP.synflood.spoofed.first10000.pcap" ] || skip "testdata $P not found"

LOW="--threshold-pps 500 --start-after 0 --end-after 10"

# detect FILE: JSON attacks on stdout (one per line) into $TMP/a.json
detect() {
    "$KANSOKU" ddos detect -q --json $LOW "$@" >"$TMP/a.json" 2>"$TMP/.err"
}

# expect NAME FILE TARGET CLASS VECTOR-REGEX: exactly one attack, on TARGET, of CLASS, whose
# vectors match.
expect() {
    name=$1 file=$2 target=$3 class=$4 vec=$5
    if ! detect "$P/$file"; then not_ok "$name" "exit $?"; return; fi
    n=$(wc -l <"$TMP/a.json")
    if [ "$n" -ne 1 ]; then not_ok "$name" "$n attacks, expected 1" "$(head -c 300 "$TMP/a.json")"; return; fi
    if grep -q "\"target\":\"$target\"" "$TMP/a.json" &&
        grep -q "\"class\":\"$class\"" "$TMP/a.json" &&
        grep -Eq "\"vectors\":\[[^]]*$vec" "$TMP/a.json"; then
        ok "$name"
    else
        not_ok "$name" "got: $(head -c 400 "$TMP/a.json")"
    fi
}

expect "SYN flood (spoofed)" pkt.TCP.synflood.spoofed.first10000.pcap 10.10.10.10 server '"syn_flood"'
expect "SYN flood with ECE+CWR, classic pcap named .pcapng" pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng \
    10.10.10.10 server '"syn_flood"'
expect "SYN-ACK reflection" amp.TCP.reflection.SYNACK.pcap 10.10.10.10 server '"synack_reflection"'
expect "UDP amplification IKE (src 4500)" amp.UDP.isakmp.first2000.pcap 10.10.10.10 bandwidth '"amp_ike"'
expect "UDP amplification SNMP (src 161)" amp.UDP.snmp.src161.first2000.pcap 10.10.10.10 bandwidth '"amp_snmp"'
expect "UDP amplification BACnet 47808" amp.UDP.bacnet.IOT.37810.first2000.pcap 10.10.10.1 bandwidth '"amp_bacnet"'
expect "... and DVR 37810" amp.UDP.bacnet.IOT.37810.first2000.pcap 10.10.10.1 bandwidth '"amp_dvr"'
expect "IP fragment flood" ndpi_ip_fragmented_garbage.pcap 10.128.0.2 bandwidth '"fragment_flood"'

check_grep "spoofed SYN flood: distinct sources near 9818, judged spoofed" \
    '"sources":9[6-9][0-9][0-9],.*"judgement":"spoofed"' \
    "$KANSOKU" ddos detect -q --json $LOW "$P/pkt.TCP.synflood.spoofed.first10000.pcap"
check_grep "SYN flood: peak pps, totals, top port 25565" \
    '"peak_pps":10000,.*"packets":10000,.*"top_ports":\[\{"port":25565,"proto":"tcp","packets":[0-9]+\}\]' \
    "$KANSOKU" ddos detect -q --json $LOW "$P/pkt.TCP.synflood.spoofed.first10000.pcap"
check_grep "fragment flood: one source, a tool" '"top_sources":\[\{"addr":"10.0.0.2".*"judgement":"few_sources"' \
    "$KANSOKU" ddos detect -q --json $LOW "$P/ndpi_ip_fragmented_garbage.pcap"
check_grep "amplification: reflectors, source port 161 on top" \
    '"top_src_ports":\[\{"port":161,"proto":"udp".*"judgement":"reflectors"' \
    "$KANSOKU" ddos detect -q --json $LOW "$P/amp.UDP.snmp.src161.first2000.pcap"
check_grep "minutes carry the vector in force" '"minutes":\[\{"t":"2021-04-28T10:30:00.000Z","vectors":\["syn_flood"\],"main_vector":"syn_flood"' \
    "$KANSOKU" ddos detect -q --json $LOW "$P/pkt.TCP.synflood.spoofed.first10000.pcap"

# No attack: scans (even with a lower threshold), benign traffic, P2P.
for f in masscan_tcp_0_1000_20190821.pcap masscan_udp_0_1000_20190821.pcap ndpi_synscan.pcap \
    nmap_80_vanilla.pcap ndpi_http_auth.pcap ndpi_443-curl.pcap ndpi_dns.pcap ndpi_smbv1.pcap \
    ndpi_mssql_tds.pcap ndpi_bittorrent.pcap ndpi_bittorrent_utp.pcap ndpi_gnutella.pcap \
    ndpi_edonkey.pcap; do
    check_out "no attack in $f" "" "$KANSOKU" ddos detect -q --json $LOW "$P/$f"
done
for f in masscan_tcp_0_1000_20190821.pcap masscan_udp_0_1000_20190821.pcap ndpi_synscan.pcap; do
    check_out "scan is not an attack at 50 pps: $f" "" "$KANSOKU" ddos detect -q --json \
        --threshold-pps 50 --start-after 0 "$P/$f"
done
check_err "a scan is counted on stderr" 0 '1 scans not counted' \
    "$KANSOKU" ddos detect $LOW "$P/ndpi_synscan.pcap"
check_grep "default thresholds: no attack in 0.3 s floods (start-after 5)" '^no attack found$' \
    "$KANSOKU" ddos detect "$P/pkt.TCP.synflood.spoofed.first10000.pcap"

# Table output.
check_grep "table row" '^10\.10\.10\.10 +2021-04-28T10:30:21\.099Z +0\.3s server .* spoofed +syn_flood$' \
    "$KANSOKU" ddos detect -q $LOW "$P/pkt.TCP.synflood.spoofed.first10000.pcap"

# stdin, classic and pcapng (format sniffed, not named).
check_grep "classic pcap on stdin" '"target":"10.10.10.10"' \
    sh -c "cat '$P/pkt.TCP.synflood.spoofed.first10000.pcap' | '$KANSOKU' ddos detect -q --json $LOW -r -"
check_err "pcapng on stdin (92 packets)" 0 '92 packets' \
    sh -c "cat '$P/ndpi_bittorrent_utp.pcap' | '$KANSOKU' ddos detect $LOW -"

# Several files, read in time order; two workers find the same as one thread.
"$KANSOKU" ddos detect -q --json $LOW --workers 0 "$P/pkt.TCP.synflood.spoofed.first10000.pcap" \
    "$P/ndpi_ip_fragmented_garbage.pcap" "$P/amp.UDP.snmp.src161.first2000.pcap" >"$TMP/w0.json"
check_out "three files: three attacks, by start" \
'"target":"10.128.0.2"
"target":"10.10.10.10"
"target":"10.10.10.10"' grep -o '"target":"[^"]*"' "$TMP/w0.json"
"$KANSOKU" ddos detect -q --json $LOW --workers 2 "$P/pkt.TCP.synflood.spoofed.first10000.pcap" \
    "$P/ndpi_ip_fragmented_garbage.pcap" "$P/amp.UDP.snmp.src161.first2000.pcap" >"$TMP/w2.json"
check "two workers: same attacks as one thread" cmp "$TMP/w0.json" "$TMP/w2.json"

# --sample-rate multiplies.
check_grep "sample rate 10" '"packets":100000,' \
    "$KANSOKU" ddos detect -q --json $LOW --sample-rate 10 "$P/pkt.TCP.synflood.spoofed.first10000.pcap"

# A thresholds file: a prefix rule raises the threshold for 10.10.10.0/24 above the flood.
cat >"$TMP/t.conf" <<'EOF'
# test thresholds
threshold_pps = 500
start_after = 0
[prefix 10.10.10.0/24]
threshold_pps = 50000
syn_pps = 0
EOF
check_out "config: per-prefix threshold overrides the global one" "" \
    "$KANSOKU" ddos detect -q --json --config "$TMP/t.conf" "$P/pkt.TCP.synflood.spoofed.first10000.pcap"
printf 'threshold_pps = many\n' >"$TMP/bad.conf"
check_err "bad config file: exit 1, line named" 1 'bad.conf: line 1' \
    "$KANSOKU" ddos detect --config "$TMP/bad.conf" "$P/ndpi_dns.pcap"

# A file cut in the middle of record 5001 (24-byte header, records of 16 + 60 bytes).
head -c $((24 + 5000 * 76 + 30)) "$P/pkt.TCP.synflood.spoofed.first10000.pcap" >"$TMP/cut.pcap"
check_err "truncated pcap: exit 1, packet number and offset named" 1 \
    'packet 5001.*offset 380024' "$KANSOKU" ddos detect --json $LOW "$TMP/cut.pcap"
check_grep "truncated pcap: the attack so far is reported" '"packets":5000,' \
    sh -c "'$KANSOKU' ddos detect -q --json $LOW '$TMP/cut.pcap'; true"

# The store: attacks and timelines; the same input twice is refused; stats.
DB="$TMP/d.db"
check "store: two captures" "$KANSOKU" ddos detect -q $LOW --db "$DB" \
    "$P/pkt.TCP.synflood.spoofed.first10000.pcap" "$P/amp.UDP.isakmp.first2000.pcap"
check "store: a third" "$KANSOKU" ddos detect -q $LOW --db "$DB" "$P/ndpi_ip_fragmented_garbage.pcap"
check_err "store: same input again is refused" 1 'ingested before' \
    "$KANSOKU" ddos detect $LOW --db "$DB" "$P/ndpi_ip_fragmented_garbage.pcap"
check_out "stats: attacks per day by class" \
'{"kind":"day","day":"2018-08-14","bandwidth":1,"server":0,"composite":0}
{"kind":"day","day":"2021-04-28","bandwidth":0,"server":1,"composite":0}
{"kind":"day","day":"2021-06-14","bandwidth":1,"server":0,"composite":0}
{"kind":"durations","lt_30min":3,"30min_24h":0,"gt_24h":0,"total":3}' \
    sh -c "'$KANSOKU' ddos stats --json --db '$DB' | grep -E '\"kind\":\"(day|durations)\"'"
check_grep "stats: the largest attack and its timeline" '^\{"kind":"timeline","t":"2021-04-28T10:30:21.000Z","seconds":1,"packets":10000' \
    "$KANSOKU" ddos stats --json --db "$DB"

# Errors.
check_exit 2 "no input is a usage error" "$KANSOKU" ddos detect
check_exit 2 "bad number is a usage error" "$KANSOKU" ddos detect --threshold-pps lots "$P/ndpi_dns.pcap"
check_exit 2 "unknown verb" "$KANSOKU" ddos frobnicate
check_exit 0 "help" "$KANSOKU" ddos detect --help
check_err "not a capture file" 1 'not a pcap or pcapng file' "$KANSOKU" ddos detect "$P/GROUND_TRUTH.md"
check_err "missing interface" 1 'ks-nonexistent0' "$KANSOKU" ddos detect -i ks-nonexistent0
finish
