#!/bin/sh
# kansoku darknet: the scan and reflection captures of ../shared/testdata/pcap seen at a
# darknet, the store, and `darknet stats`.
. "$KS_SRCDIR/tests/cli/lib.sh"
P=$KS_TESTDATA/pcap
[ -r "$P/masscan_tcp_0_1000_20190821.pcap" ] || skip "$P/masscan_tcp_0_1000_20190821.pcap is absent"
[ -r "$P/amp.TCP.reflection.SYNACK.pcap" ] || skip "$P/amp.TCP.reflection.SYNACK.pcap is absent"
DB=$TMP/dn.db

check_exit 2 "no sensor is a usage error" "$KANSOKU" darknet -r "$P/masscan_tcp_0_1000_20190821.pcap" --monitored 198.124.152.0/24
check_exit 2 "no prefix is a usage error" "$KANSOKU" darknet -r "$P/masscan_tcp_0_1000_20190821.pcap" --sensor s1
check_exit 2 "a bad prefix is a usage error" "$KANSOKU" darknet -r "$P/masscan_tcp_0_1000_20190821.pcap" --sensor s1 --monitored 300.1.2.3/8
check_exit 2 "a bad --by is a usage error" "$KANSOKU" darknet -r "$P/masscan_tcp_0_1000_20190821.pcap" --sensor s1 --monitored 198.124.152.0/24 --by town
check_exit 1 "a missing capture fails" "$KANSOKU" darknet -r "$TMP/none.pcap" --sensor s1 --monitored 10.0.0.0/8 --no-store
check_grep "help names the JSON fields" '"sources"' "$KANSOKU" darknet --help
check_grep "stats has its own help" 'new-port alerts' "$KANSOKU" darknet stats --help

# masscan: one source, 1001 TCP ports, one object per port
"$KANSOKU" darknet -q --json --db "$DB" -r "$P/masscan_tcp_0_1000_20190821.pcap" --sensor s1 \
    --monitored 198.124.152.0/24 >"$TMP/masscan.jsonl" 2>"$TMP/.err"
n=$(grep -c '"kind":"scan","proto":"tcp"' "$TMP/masscan.jsonl")
if [ "$n" = 1001 ]; then ok "masscan: 1001 TCP ports"; else not_ok "masscan: 1001 TCP ports" "got $n"; fi
check_grep "masscan: each port has one source" '^\{"day":"2019-08-21","sensor":"s1","kind":"scan","proto":"tcp","port":80,"packets":1,"bytes":[0-9]+,"sources":1\}$' cat "$TMP/masscan.jsonl"
check_grep "masscan: the talker is the scanner" '"key":"172.31.15.102"' \
    "$KANSOKU" darknet -q --json --no-store -r "$P/masscan_tcp_0_1000_20190821.pcap" --sensor s1 --monitored 198.124.152.0/24 --by talker

# the same capture again is not counted twice
check_err "an ingested capture is not counted twice" 0 'already' \
    "$KANSOKU" darknet --db "$DB" -r "$P/masscan_tcp_0_1000_20190821.pcap" --sensor s1 --monitored 198.124.152.0/24

# reflection SYN-ACKs at a darknet covering the victim's /24 are backscatter
check_grep "reflection: SYN-ACKs from port 80 are backscatter" '"kind":"backscatter","proto":"tcp","port":80,"packets":[0-9]{4}' \
    "$KANSOKU" darknet -q --json --db "$DB" -r "$P/amp.TCP.reflection.SYNACK.pcap" --sensor s2 --monitored 10.10.10.0/24
check_err "reflection: 7822 backscatter packets" 0 '174 scan, 7822 backscatter' \
    "$KANSOKU" darknet --no-store -r "$P/amp.TCP.reflection.SYNACK.pcap" --sensor s2 --monitored 10.10.10.0/24
# a spoofed SYN flood seen by a darknet covering everything: 10,000 one-off sources
check_err "a full source table evicts and says so" 0 '9[0-9]{3} scanning sources evicted' \
    "$KANSOKU" darknet --no-store -r "$P/pkt.TCP.synflood.spoofed.first10000.pcap" --sensor s3 --monitored 0.0.0.0/0 --max-sources 100
check_grep "evicted sources still reach the country table" '"by":"country","key":"US","name":"","sources":38[0-9][0-9],' \
    "$KANSOKU" darknet -q --json --no-store -r "$P/pkt.TCP.synflood.spoofed.first10000.pcap" --sensor s3 --monitored 0.0.0.0/0 --max-sources 100 --by country
check_grep "JSON numbers are not printed with binary noise" '"share":38\.[0-9]{1,4},' \
    "$KANSOKU" darknet -q --json --no-store -r "$P/pkt.TCP.synflood.spoofed.first10000.pcap" --sensor s3 --monitored 0.0.0.0/0 --by country
check_exit 2 "--max-sources 0 is a usage error" "$KANSOKU" darknet --no-store -r "$P/pkt.TCP.synflood.spoofed.first10000.pcap" --sensor s3 --monitored 0.0.0.0/0 --max-sources 0
check_exit 2 "--workers 65 is a usage error" "$KANSOKU" darknet --no-store -r "$P/masscan_tcp_0_1000_20190821.pcap" --sensor s1 --monitored 0.0.0.0/0 --workers 65
for w in 0 1 2; do
    "$KANSOKU" darknet -q --json --no-store --workers $w -r "$P/pkt.TCP.synflood.spoofed.first10000.pcap" \
        --sensor s3 --monitored 0.0.0.0/0 --max-sources 100 --by talker >"$TMP/w$w.jsonl" 2>/dev/null
done
if cmp -s "$TMP/w0.jsonl" "$TMP/w1.jsonl" && cmp -s "$TMP/w0.jsonl" "$TMP/w2.jsonl" && [ -s "$TMP/w0.jsonl" ]; then
    ok "--workers 0, 1 and 2 print the same talkers"
else
    not_ok "--workers 0, 1 and 2 print the same talkers" "outputs differ"
fi
check_grep "reflection: victims are named" '"by":"victim","key":"[0-9.]+"' \
    "$KANSOKU" darknet -q --json --no-store -r "$P/amp.TCP.reflection.SYNACK.pcap" --sensor s2 --monitored 10.10.10.0/24 --by victim

# the store: tables filled, stats read back
check_grep "rows are in the store" 'darknet_cells +[1-9]' "$KANSOKU" db info --db "$DB"
check_grep "stats: per-day ports" '"type":"port_day","day":"2019-08-21"' "$KANSOKU" darknet stats --json --db "$DB"
check_grep "stats: the other ports" '"port":"other"' "$KANSOKU" darknet stats --json --db "$DB"
check_grep "stats: one sensor's period" '"day":"2021-06-05"' "$KANSOKU" darknet stats --json --db "$DB" --sensor s2 --from 2021-06-01 --to 2021-07-01
check_exit 2 "stats: a bad date is a usage error" "$KANSOKU" darknet stats --db "$DB" --from yesterday
finish
