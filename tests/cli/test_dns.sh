#!/bin/sh
# kansoku dns: usage; the real tunnelling captures of testdata/dns (GROUND_TRUTH.md: no
# poisoning alert, their queriers are stubs and not graded); the store; and, as root, a lab on
# loopback: NSD authoritative for victim.test, Unbound resolving it (0x20 on), and
# tests/cli/dns_forge.py spraying forged responses at Unbound, captured with tcpdump and live
# with `kansoku dns poisoning -i lo`.
. "$(dirname "$0")/lib.sh"
D="$KS_TESTDATA/dns"
K="$KANSOKU"

# --- usage ---------------------------------------------------------------------------------
check_exit 2 "no verb is a usage error" "$K" dns
check_exit 2 "unknown verb" "$K" dns nonsense
check_exit 2 "audit without input" "$K" dns audit
check_exit 2 "poisoning: bad number" "$K" dns poisoning --min-responses x -r /dev/null
check_exit 2 "audit: bad --resolver" "$K" dns audit --resolver not-an-ip -r /dev/null
check_exit 2 "files and -i together" "$K" dns poisoning -i lo /dev/null
check_grep "dns --help names the verbs" '^  poisoning' "$K" dns --help
check_grep "audit --help names the porttest scale" '3980 GREAT' "$K" dns audit --help
check_grep "poisoning --help" '--query-timeout' "$K" dns poisoning --help
check_exit 1 "an unreadable file fails" "$K" dns audit -q -r "$TMP/missing.pcap"

# --- the testdata captures -----------------------------------------------------------------
if [ -f "$D/dns-tunnel-iodine.pcap" ]; then
    for f in bad-dns-traffic.pcap dns_exfiltration.pcap dns-tunnel-iodine.pcap; do
        check_out "$f: no poisoning alert" "no poisoning attempt found" "$K" dns poisoning "$D/$f"
        check_out "$f: no alert in JSON either" "" "$K" dns poisoning -q --json -r "$D/$f"
        check_grep "$f: all responses matched" ' 0 unmatched' sh -c "'$K' dns poisoning -r '$D/$f' 2>&1 >/dev/null"
        "$K" dns audit -q --json "$D/$f" >"$TMP/a.json" 2>"$TMP/.err"
        if [ -s "$TMP/a.json" ] && ! grep -qv '"role":"stub".*"grade":null' "$TMP/a.json"; then
            ok "$f: queriers are stubs, not graded"
        else
            not_ok "$f: queriers are stubs, not graded" "$(head -c 400 "$TMP/a.json")"
        fi
    done
    check_grep "iodine: one fixed port, TXID sd as measured" \
        '"resolver":"10.0.2.30","role":"stub".*"ports":\{"n":222,"distinct":1,.*"sd":0\.0.*"txids":\{"n":222,"distinct":222,.*"sd":18980\.378.*"note":"stub client, fixed port"' \
        "$K" dns audit -q --json "$D/dns-tunnel-iodine.pcap"
    check_grep "bad-dns-traffic: 3 ports, port sd 4494.4 yet not graded" \
        '"distinct":3,"min":[0-9]+,"max":[0-9]+,"sd":4494\.363.*"grade":null' \
        "$K" dns audit -q --json "$D/bad-dns-traffic.pcap"
    check_out "--resolver keeps only that querier" "1" sh -c \
        "'$K' dns audit -q --json --resolver 10.0.2.30 '$D/dns-tunnel-iodine.pcap' | wc -l"
    check_out "--resolver of an absent host" "0" sh -c \
        "'$K' dns audit -q --json --resolver 192.0.2.1 '$D/dns-tunnel-iodine.pcap' | wc -l"
    check "audit into the store" "$K" dns audit -q --db "$TMP/s.db" "$D/dns_exfiltration.pcap"
    check_exit 1 "the same input twice is refused" "$K" dns audit -q --db "$TMP/s.db" "$D/dns_exfiltration.pcap"
    check "--force stores it again" "$K" dns audit -q --force --db "$TMP/s.db" "$D/dns_exfiltration.pcap"
    if command -v sqlite3 >/dev/null; then
        check_out "one audit row, a stub with no grade" "192.168.220.56|stub|150||stub client, fixed port" \
            sqlite3 "$TMP/s.db" "SELECT a.resolver, a.role, a.queries, a.grade, a.note FROM dns_resolver_audits a JOIN inputs i ON i.id = a.input_id AND i.status = 'complete'"
    fi
    head -c 30000 "$D/bad-dns-traffic.pcap" >"$TMP/cut.pcap"
    check_exit 1 "a capture cut short fails (after reporting)" "$K" dns poisoning -q "$TMP/cut.pcap"
else
    echo "skip: $D not found (testdata captures)"
fi

# --- the loopback lab (root, unbound, nsd, tcpdump) ----------------------------------------
PY=/usr/bin/python3
if [ "$(id -u)" -ne 0 ]; then
    echo "skip: loopback lab needs root (raw socket, tcpdump, port 53)"
    finish
    exit $?
fi
for x in unbound nsd tcpdump "$PY"; do
    command -v "$x" >/dev/null || { echo "skip: loopback lab needs $x"; finish; exit $?; }
done
N=$(( $$ % 200 + 20 ))
AUTH=127.53.$N.2
RES=127.53.$N.3
STUB=127.53.$N.1
L="$TMP/lab"
mkdir -p "$L"
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$L/victim.test.zone" <<EOF
\$TTL 300
@   IN SOA ns1.victim.test. hostmaster.victim.test. 1 3600 600 86400 300
@   IN NS  ns1.victim.test.
ns1 IN A   $AUTH
www IN A   192.0.2.80
EOF
cat >"$L/nsd.conf" <<EOF
server:
    ip-address: $AUTH
    port: 53
    username: ""
    chroot: ""
    zonesdir: "$L"
    database: ""
    zonelistfile: "$L/zone.list"
    xfrdfile: "$L/xfrd.state"
    pidfile: "$L/nsd.pid"
    logfile: "$L/nsd.log"
    server-count: 1
remote-control:
    control-enable: no
zone:
    name: "victim.test"
    zonefile: "victim.test.zone"
EOF
cat >"$L/unbound.conf" <<EOF
server:
    interface: $RES
    outgoing-interface: $RES
    port: 53
    access-control: 127.0.0.0/8 allow
    do-ip6: no
    username: ""
    chroot: ""
    directory: "$L"
    pidfile: "$L/unbound.pid"
    logfile: "$L/unbound.log"
    use-syslog: no
    do-not-query-localhost: no
    use-caps-for-id: yes
    module-config: "iterator"
    num-threads: 1
    qname-minimisation: no
    local-zone: "test." nodefault
stub-zone:
    name: "victim.test"
    stub-addr: $AUTH
remote-control:
    control-enable: no
EOF
nsd -d -c "$L/nsd.conf" >"$L/nsd.out" 2>&1 &
pids="$pids $!"
unbound -d -c "$L/unbound.conf" >"$L/unbound.out" 2>&1 &
pids="$pids $!"
i=0
until ss -lun 2>/dev/null | grep -q "$AUTH:53" && ss -lun 2>/dev/null | grep -q "$RES:53"; do
    i=$((i + 1))
    if [ $i -gt 50 ]; then
        not_ok "lab: nsd and unbound listen" "$(cat "$L/nsd.out" "$L/unbound.out" | tail -5)"
        finish
        exit $?
    fi
    sleep 0.1
done
ok "lab: nsd on $AUTH and unbound on $RES listen"

tcpdump -i lo -U -w "$L/lab.pcap" "host $AUTH or host $RES" >"$L/tcpdump.out" 2>&1 &
tpid=$!
pids="$pids $tpid"
"$K" dns poisoning -q --json -i lo --duration 8 --filter "host $AUTH or host $RES" >"$L/live.json" 2>"$L/live.err" &
kpid=$!
pids="$pids $kpid"
sleep 1.5
check_grep "forger: 30 names sprayed" 'dns_forge: 30 names' "$PY" "$KS_SRCDIR/tests/cli/dns_forge.py" "$STUB" "$RES" "$AUTH" victim.test 30 100
# a few more honest queries after the attack (the stub again)
sleep 1
kill "$tpid"
wait "$tpid" 2>/dev/null
wait "$kpid"
krc=$?

P="$L/lab.pcap"
check_grep "capture: one kaminsky alert for victim.test from the spoofed authority" \
    '"kind":"kaminsky","zone":"victim.test",.*"responses":(29|30)[0-9]{2},.*"names":(29|30),.*"sources":\[\{"addr":"'"$AUTH"'","responses":(29|30)[0-9]{2}\}\],"sources_total":1,"resolvers":\[\{"addr":"'"$RES"'"' \
    "$K" dns poisoning -q --json "$P"
check_grep "capture: the forged delegation and glue are reported" \
    '"type":"NS","section":"authority","name":"victim.test","value":"ns.evil.victim.test","count":(29|30)[0-9]{2}\}.*"name":"ns.evil.victim.test","value":"192.0.2.66"' \
    "$K" dns poisoning -q --json "$P"
check_grep "capture: no forged answer matched a query" '"possible_success":false' "$K" dns poisoning -q --json "$P"
check_out "capture: exactly one alert" "1" sh -c "'$K' dns poisoning -q --json '$P' | wc -l"
check_grep "capture: unbound graded GREAT, ports and TXIDs, with 0x20" \
    '"resolver":"'"$RES"'","role":"resolver".*"ports":\{"n":3[0-9],.*"grade":"GREAT"\},"txids":.*"grade":"GREAT"\},"case_0x20":\{"judgement":"yes".*"grade":"GREAT"' \
    "$K" dns audit -q --json "$P"
check_grep "capture: the forger's stub is a stub" '"resolver":"'"$STUB"'","role":"stub".*"grade":null' \
    "$K" dns audit -q --json "$P"
check_grep "capture: a stricter threshold drops it" '^$|no poisoning' \
    "$K" dns poisoning --min-responses 5000 "$P"
check "capture: alert into the store" "$K" dns poisoning -q --db "$TMP/lab.db" "$P"
if command -v sqlite3 >/dev/null; then
    check_out "store: the alert row" "victim.test|kaminsky|1|0" sqlite3 "$TMP/lab.db" \
        "SELECT zone, kind, responses >= 2900, possible_success FROM dns_poisoning_alerts"
fi
if [ "$krc" -eq 0 ] && grep -q '"kind":"kaminsky","zone":"victim.test"' "$L/live.json"; then
    ok "live -i lo: the attempt is reported"
else
    not_ok "live -i lo: the attempt is reported" "exit $krc" "$(head -c 300 "$L/live.json")" "$(head -5 "$L/live.err")"
fi
finish
