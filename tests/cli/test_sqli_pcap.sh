#!/bin/sh
# kansoku sqli scan -r: HTTP requests out of captures. A pcap written by bench/gen_http_pcap
# (each connection one case: in order, out of order with a retransmission, chunked body cut at
# the attack, pipelining, CL+TE smuggling, overlapping segments with different bytes, pickup
# without handshake, sequence wraparound, benign requests, a chunked body cut by a RST), and
# the HTTP capture of the shared test data.
. "$(dirname "$0")/lib.sh"

GEN=${KS_BUILDDIR:-}/bench/gen_http_pcap
[ -x "$GEN" ] || skip "generator not built: $GEN"
PCAP=$TMP/http.pcap
check "generate the capture" "$GEN" test "$PCAP"

check "scan -r (text)" "$KANSOKU" sqli scan -r "$PCAP"
cp "$TMP/.out" "$TMP/text.txt"
cp "$TMP/.err" "$TMP/err.txt"
has() { grep -Eq -- "$2" "$1"; }
check "in order: UNION SELECT in the query" has "$TMP/text.txt" \
    '^2008-06-01T00:00:00\.000411Z	198\.51\.100\.1	shop\.example	GET	query:id	HTTP_GET_SQL_UnionSelect'
check "out of order + retransmission: form body" has "$TMP/text.txt" \
    '198\.51\.100\.2	shop\.example	POST	body:pass	URL_Data_SQL_1equal1	x'"'"' or'
check "chunked body joined across chunks" has "$TMP/text.txt" \
    "198\\.51\\.100\\.3	db\\.example	POST	body:q	SQL_Time_Delay	1';waitfor delay '0:0:30'--"
check "pipelined second request: cookie" has "$TMP/text.txt" \
    '198\.51\.100\.4	www\.example	GET	cookie:.*URL_Data_SQL_char'
check "request after a CL+TE body is parsed (TE wins)" has "$TMP/text.txt" \
    '198\.51\.100\.5	smuggle\.example	GET	query:id	HTTP_GET_SQL_Convert_Int'
check "overlap: the first bytes are kept" has "$TMP/text.txt" \
    '198\.51\.100\.6	ov\.example	GET	query:id	HTTP_GET_SQL_UnionSelect	1 union select password'
check "picked up mid-stream" has "$TMP/text.txt" '198\.51\.100\.7	mid\.example	GET	query:id	SQL_Time_Delay'
check "sequence numbers wrap" has "$TMP/text.txt" '198\.51\.100\.8	wrap\.example	.*UnionSelect'
check "truncated chunked body still checked" has "$TMP/text.txt" '198\.51\.100\.10	rst\.example	POST	body:id'
check "no false positive on benign requests" sh -c "! grep -q '10\\.0\\.0\\.' '$TMP/text.txt'"
check "summary counts requests and detections" has "$TMP/err.txt" \
    '110 packets .* 14 connections, 16 requests, 39 values, 19 detections'
check "CL+TE counted as ambiguous framing" has "$TMP/err.txt" '1 ambiguous framings'
check "CL+TE reported with its packet" has "$TMP/err.txt" 'http\.pcap: packet 41 .*ambiguous framing \(cl_te\)'
check "truncated chunked body counted" has "$TMP/err.txt" '1 truncated chunked bodies'
check "TCP conflict counted and reported" has "$TMP/err.txt" '1 TCP conflicts'

check "scan -r --json" "$KANSOKU" sqli scan -q --json -r "$PCAP"
cp "$TMP/.out" "$TMP/json.txt"
check "json: packet, target, ports" has "$TMP/json.txt" \
    '"source":"198\.51\.100\.1".*"packet":4,"target":"192\.0\.2\.1","sport":40001,"dport":80'
check "json: conflict flagged on the request" has "$TMP/json.txt" \
    '"host":"ov\.example".*"anomalies":\["tcp_conflict"\]'
check "json: truncated body flagged" has "$TMP/json.txt" '"host":"rst\.example".*"anomalies":\["trunc_body"\]'
check "json: span and original" has "$TMP/json.txt" '"original":"2\+and\+sleep\(10\)".*"span":\[[0-9]+,[0-9]+\]'
check_out "json: one line per detection" 19 sh -c "wc -l <'$TMP/json.txt' | tr -d ' '"

check_grep "-v: anomalies and reassembly counters" 'flagged cl_te' \
    sh -c "'$KANSOKU' sqli scan -v -r '$PCAP' 2>&1 >/dev/null"
check_grep "-v: out of order and retransmissions" '3 out of order, 1 retransmitted' \
    sh -c "'$KANSOKU' sqli scan -v -r '$PCAP' 2>&1 >/dev/null"
check_out "capture on stdin (-r -)" 19 sh -c "'$KANSOKU' sqli scan -q -r - <'$PCAP' | wc -l | tr -d ' '"
check_out "BPF filter keeps one host" 2 \
    sh -c "'$KANSOKU' sqli scan -q -r '$PCAP' --filter 'host 198.51.100.7' | wc -l | tr -d ' '"
cp "$PCAP" "$TMP/copy.pcap"
check_out "two captures (-r twice)" 38 \
    sh -c "'$KANSOKU' sqli scan -q -r '$PCAP' -r '$TMP/copy.pcap' | wc -l | tr -d ' '"
check_out "small stream memory still finds them" 19 \
    sh -c "'$KANSOKU' sqli scan -q --stream-memory 4M --max-streams 2 -r '$PCAP' | wc -l | tr -d ' '"

check "store: scan --db" "$KANSOKU" sqli scan -q --db "$TMP/s.db" -r "$PCAP"
check_grep "store: stats read the detections" '2008-06-01 +SQL_Injection +9' \
    "$KANSOKU" sqli stats --db "$TMP/s.db"
check_err "store: the same capture is skipped" 0 'ingested|before' \
    "$KANSOKU" sqli scan --db "$TMP/s.db" -r "$PCAP"

check_exit 2 "logs and captures together: usage error" "$KANSOKU" sqli scan -r "$PCAP" --log "$PCAP"
check_exit 2 "-r and -i together: usage error" "$KANSOKU" sqli scan -r "$PCAP" -i lo
check_exit 2 "stream memory below 4M: usage error" "$KANSOKU" sqli scan --stream-memory 1M -r "$PCAP"
check_exit 1 "missing capture: failure" "$KANSOKU" sqli scan -r "$TMP/none.pcap"
head -c 3000 "$PCAP" >"$TMP/cut.pcap"
check_exit 1 "capture cut short: failure after what was read" "$KANSOKU" sqli scan -r "$TMP/cut.pcap"
check_exit 1 "not a capture: failure" "$KANSOKU" sqli scan -r "$0"

AUTH=${KS_TESTDATA:-}/pcap/ndpi_http_auth.pcap
if [ -r "$AUTH" ]; then
    check_grep "shared capture: its one HTTP request is parsed" '1 connections, 1 requests' \
        sh -c "'$KANSOKU' sqli scan -r '$AUTH' 2>&1 >/dev/null"
    TLS=${KS_TESTDATA:-}/pcap/ndpi_443-curl.pcap
    check_grep "shared TLS capture: not HTTP, no request" '0 requests' \
        sh -c "'$KANSOKU' sqli scan -r '$TLS' 2>&1 >/dev/null"
    FLOOD=${KS_TESTDATA:-}/pcap/pkt.TCP.synflood.spoofed.first10000.pcap
    "$KANSOKU" sqli scan -v --stream-memory 4M -r "$FLOOD" >/dev/null 2>"$TMP/flood.err"
    check "SYN flood: evictions counted" has "$TMP/flood.err" '[1-9][0-9]* evicted \(table full\)'
    check "SYN flood: memory peak within the 4M budget" awk '
        /memory peak/ { for (i = 1; i < NF; i++) if ($i == "peak") { p = $(i + 1); b = $(i + 3) } }
        END { exit !(p > 0 && p <= b && b <= 4194304) }' "$TMP/flood.err"
else
    echo "skip: $AUTH not found (shared test data)"
fi
finish
