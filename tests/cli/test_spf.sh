#!/bin/sh
# kansoku spf: the OpenSPF conformance suites over the in-process zone, then checks over real
# DNS against a dnsmasq started here on 127.0.0.1 (high port), and against a server that never
# answers (a UDP socket that reads and drops) for temperror.
. "$KS_SRCDIR/tests/cli/lib.sh"

SUITE="$KS_TESTDATA/spf"
have_suite=0
[ -r "$SUITE/rfc7208-tests.yml" ] && [ -r "$SUITE/rfc4408-tests.yml" ] && have_suite=1
have_dnsmasq=0
command -v dnsmasq >/dev/null 2>&1 && have_dnsmasq=1
[ -x /usr/sbin/dnsmasq ] && have_dnsmasq=1
if [ $have_suite = 0 ] && [ $have_dnsmasq = 0 ]; then
    skip "no SPF test data ($SUITE) and no dnsmasq"
fi

check_exit 2 "check without --ip is a usage error" "$KANSOKU" spf check --sender a@example.com
check_exit 2 "check with a bad --ip is a usage error" "$KANSOKU" spf check --ip 1.2.3 \
    --sender a@example.com --dns 127.0.0.1:9
check_grep "test-suite --help" '^Usage: kansoku spf test-suite' "$KANSOKU" spf test-suite --help
check_grep "check --help" '^Usage: kansoku spf check' "$KANSOKU" spf check --help

if [ $have_suite = 1 ]; then
    check_out "rfc7208-tests.yml: every test passes" "203 passed, 0 failed" \
        "$KANSOKU" spf test-suite "$SUITE/rfc7208-tests.yml"
    check_out "rfc4408-tests.yml: every test passes" "191 passed, 0 failed" \
        "$KANSOKU" spf test-suite "$SUITE/rfc4408-tests.yml"
    check_grep "both suites at once, as JSON" '^\{"passed":394,"failed":0\}$' \
        "$KANSOKU" spf test-suite --json "$SUITE/rfc7208-tests.yml" "$SUITE/rfc4408-tests.yml"
else
    echo "skip: $SUITE not found: conformance suites not run"
fi

if [ $have_dnsmasq = 0 ]; then
    echo "skip: dnsmasq not installed: real-DNS checks not run"
    finish
    exit $?
fi
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)

# A 2 KB record: its answer exceeds the 1232-byte EDNS size, so it comes over TCP.
big="v=spf1"
i=1
while [ $i -le 120 ]; do big="$big ip4:10.$i.0.0/16"; i=$((i + 1)); done
big="$big ip4:192.0.2.0/24 -all"
bigtxt=$(printf '%s' "$big" | fold -w 200 | paste -sd, -)

# The zone: *.test is answered locally only (NXDOMAIN for the rest of .test).
start_dnsmasq() {
    "$DNSMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
        --listen-address=127.0.0.1 --port="$1" --pid-file="$TMP/dnsmasq.pid" \
        --user="$(id -un)" --local=/test/ \
        --txt-record=pass.test,"v=spf1 ip4:192.0.2.0/24 -all" \
        --txt-record=soft.test,"v=spf1 include:inc.test ~all" \
        --txt-record=inc.test,"v=spf1 a:mail.test -all" \
        --host-record=mail.test,198.51.100.7,2001:db8::7 \
        --mx-host=mx.test,mail.test,10 \
        --txt-record=mx.test,"v=spf1 mx -all" \
        --txt-record=exp.test,"v=spf1 -all exp=why.exp.test" \
        --txt-record=why.exp.test,"%{i} is not allowed for %{d}" \
        --txt-record=two.test,"v=spf1 -all" --txt-record=two.test,"v=spf1 +all" \
        --txt-record=slow.test,"v=spf1 a:x.slow.example -all" \
        --txt-record=big.test,"$bigtxt" \
        --server=/slow.example/127.0.0.1#"$2" \
        >"$TMP/dnsmasq.log" 2>&1 &
    DNSMASQ_PID=$!
}

# A server that never answers: reads and drops.
start_blackhole() {
    /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    s.recv(4096)' "$1" >/dev/null 2>&1 &
    BLACKHOLE_PID=$!
}

# free_base N: a base port such that base .. base+N-1 are not in use (TCP or UDP, any state),
# below the ephemeral range (32768-60999) so that no client socket takes them meanwhile.
free_base() {
    b=$(( ($$ % 500) * 20 + 20000 ))
    tries=0
    while [ $tries -lt 100 ]; do
        used=$(ss -Hantu 2>/dev/null | awk '{ n = split($5, a, ":"); print a[n] }')
        free=1
        i=0
        while [ $i -lt "$1" ]; do
            echo "$used" | grep -qx "$((b + i))" && free=0
            i=$((i + 1))
        done
        [ $free = 1 ] && break
        b=$((b + 20))
        [ $b -lt 30000 ] || b=20000
        tries=$((tries + 1))
    done
    echo "$b"
}
base=$(free_base 3)
PORT=$base
BH=$((base + 1))
start_blackhole "$BH"
start_dnsmasq "$PORT" "$BH"
trap 'kill $DNSMASQ_PID $BLACKHOLE_PID 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
while [ $i -lt 50 ] && ! grep -q "v=spf1" "$TMP/.probe" 2>/dev/null; do
    "$KANSOKU" spf check --ip 192.0.2.1 --sender a@pass.test --dns "127.0.0.1:$PORT" \
        --timeout 100 --json >"$TMP/.probe" 2>/dev/null
    i=$((i + 1))
    sleep 0.1
done
if ! kill -0 "$DNSMASQ_PID" 2>/dev/null; then
    cat "$TMP/dnsmasq.log"
    not_ok "dnsmasq started on 127.0.0.1:$PORT"
    finish
    exit 1
fi
DNS="--dns 127.0.0.1:$PORT"

# shellcheck disable=SC2086
{
check_grep "pass: ip4 match" '^result: pass$' "$KANSOKU" spf check --ip 192.0.2.10 \
    --sender user@pass.test $DNS
check_grep "fail: -all" '^result: fail$' "$KANSOKU" spf check --ip 203.0.113.1 \
    --sender user@pass.test $DNS
check_grep "softfail: include does not match, ~all" '^result: softfail$' "$KANSOKU" spf check \
    --ip 203.0.113.1 --sender user@soft.test $DNS
check_grep "pass through include and a" '^mechanism: include:inc.test$' "$KANSOKU" spf check \
    --ip 198.51.100.7 --sender user@soft.test $DNS
check_grep "pass through include and a, IPv6" '^result: pass$' "$KANSOKU" spf check \
    --ip 2001:db8::7 --sender user@soft.test $DNS
check_grep "pass: mx" '^result: pass$' "$KANSOKU" spf check --ip 198.51.100.7 \
    --sender user@mx.test $DNS
check_grep "none: no record" '^result: none$' "$KANSOKU" spf check --ip 198.51.100.7 \
    --sender user@nothing.test $DNS
check_grep "permerror: two records" '^result: permerror$' "$KANSOKU" spf check \
    --ip 198.51.100.7 --sender user@two.test $DNS
check_grep "exp= explanation is expanded" '^explanation: 198.51.100.7 is not allowed for exp.test$' \
    "$KANSOKU" spf check --ip 198.51.100.7 --sender user@exp.test $DNS
check_grep "Received-SPF header" '^Received-SPF: pass \(mx.example: .*client-ip=192.0.2.10; envelope-from="user@pass.test"; helo=h.example; receiver=mx.example; identity=mailfrom; mechanism="ip4:192.0.2.0/24";$' \
    "$KANSOKU" spf check --ip 192.0.2.10 --sender user@pass.test --helo h.example \
    --receiver mx.example $DNS
check_grep "Authentication-Results header" '^Authentication-Results: mx.example; spf=fail .* smtp.mailfrom=user@pass.test$' \
    "$KANSOKU" spf check --ip 203.0.113.1 --sender user@pass.test --receiver mx.example $DNS
check_grep "JSON output" '"result":"softfail".*"dns_lookups":2.*"received_spf":"softfail ' \
    "$KANSOKU" spf check --json --ip 203.0.113.1 --sender user@soft.test $DNS
check_grep "a 2 KB record arrives over TCP after truncation" '^result: pass$' "$KANSOKU" spf check \
    --ip 192.0.2.3 --sender user@big.test $DNS
check_grep "HELO identity" '^result: pass$' "$KANSOKU" spf check --identity helo \
    --helo pass.test --ip 192.0.2.99 $DNS
check_grep "temperror: a lookup forwarded to a server that never answers" '^result: temperror$' \
    "$KANSOKU" spf check --ip 198.51.100.7 --sender user@slow.test $DNS --timeout 500
check_grep "temperror: the DNS server never answers" '^result: temperror$' \
    "$KANSOKU" spf check --ip 192.0.2.10 --sender user@pass.test --dns "127.0.0.1:$BH" \
    --timeout 200
}
# The Postfix policy service: on stdin/stdout (spawn mode), then on a unix socket.
printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.10\nhelo_name=h.example\nsender=user@pass.test\ninstance=7.1\nnew_attribute=x\n\nrequest=smtpd_access_policy\nclient_address=203.0.113.1\nsender=user@pass.test\ninstance=7.2\n\n' >"$TMP/policy.in"
# shellcheck disable=SC2086
"$KANSOKU" spf policyd --stdio $DNS --receiver mx.example <"$TMP/policy.in" >"$TMP/policy.out" 2>"$TMP/.err"
if grep -q '^action=PREPEND Received-SPF: pass (mx.example: ' "$TMP/policy.out" &&
   grep -q '^action=550 5.7.23 203.0.113.1 is not a designated mail server for pass.test$' "$TMP/policy.out" &&
   [ "$(grep -c '^$' "$TMP/policy.out")" = 2 ]; then
    ok "policyd --stdio answers each request"
else
    not_ok "policyd --stdio answers each request" "$(cat "$TMP/policy.out")"
fi
SOCK="$TMP/policy.sock"
# shellcheck disable=SC2086
"$KANSOKU" spf policyd --listen "unix:$SOCK" $DNS --receiver mx.example \
    --action softfail='550 5.7.23 %s' --db "$TMP/live.db" --db-interval 1 2>"$TMP/policyd.err" &
PPID_=$!
n=0
while [ ! -S "$SOCK" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
/usr/bin/python3 - "$SOCK" >"$TMP/sock.out" 2>&1 <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
def ask(req):
    s.sendall(req.encode())
    buf = b''
    while not buf.endswith(b'\n\n'):
        buf += s.recv(4096)
    return buf.decode()
print(ask('request=smtpd_access_policy\nclient_address=203.0.113.1\nsender=a@soft.test\n\n'), end='')
print(ask('request=smtpd_access_policy\nclient_address=192.0.2.10\nsender=a@pass.test\n\n'), end='')
PY
n=0
while [ $n -lt 30 ] && [ "$(sqlite3 "$TMP/live.db" "SELECT count(*) FROM spf_results r JOIN inputs
        ON inputs.id = r.input_id AND inputs.status = 'complete'" 2>/dev/null)" != 2 ]; do
    sleep 0.1
    n=$((n + 1))
done
[ $n -lt 30 ] && ok "policyd --db-interval 1: a running service's results are readable" ||
    not_ok "policyd --db-interval 1: a running service's results are readable"
kill "$PPID_" 2>/dev/null
wait "$PPID_" 2>/dev/null
if grep -q '^action=550 5.7.23 ' "$TMP/sock.out" && grep -q '^action=PREPEND Received-SPF: pass' "$TMP/sock.out"; then
    ok "policyd on a unix socket: two requests on one connection, configured action"
else
    not_ok "policyd on a unix socket" "$(cat "$TMP/sock.out" "$TMP/policyd.err")"
fi
[ ! -e "$SOCK" ] && ok "policyd removes its socket on SIGTERM" || not_ok "policyd removes its socket on SIGTERM"
# survey: a generated zone of 10,000 domains (80% publish SPF) on a second dnsmasq.
awk -v conf="$TMP/survey.conf" -v list="$TMP/survey.txt" 'BEGIN {
    for (i = 0; i < 10000; i++) {
        d = "d" i ".survey"; print d > list; m = i % 20; r = ""
        if (m < 8) r = "v=spf1 ip4:192.0.2.0/24 -all"
        else if (m < 12) r = "v=spf1 a ~all"
        else if (m < 14) r = "v=spf1 include:inc.survey ?all"
        else if (m < 15) r = "v=spf1 +all"
        else if (m < 16) r = "v=spf1 redirect=inc.survey"
        else if (m < 17) r = "v=spf1 ip4:1.2.3.4/33 -all"
        if (r != "") printf "txt-record=%s,\"%s\"\n", d, r > conf
        if (m >= 8 && m < 12) printf "host-record=%s,198.51.100.%d\n", d, i % 250 > conf
    }
    print "txt-record=inc.survey,\"v=spf1 ip4:198.51.100.0/24 -all\"" > conf
}'
SPORT=$((base + 2))
"$DNSMASQ" -k --conf-file="$TMP/survey.conf" --no-resolv --no-hosts --bind-interfaces \
    --listen-address=127.0.0.1 --port="$SPORT" --pid-file="$TMP/dnsmasq2.pid" \
    --user="$(id -un)" --local=/survey/ --local-ttl=60 >"$TMP/dnsmasq2.log" 2>&1 &
SURVEY_PID=$!
trap 'kill $DNSMASQ_PID $BLACKHOLE_PID $SURVEY_PID 2>/dev/null; rm -rf "$TMP"' EXIT
sleep 0.5
check_grep "survey of 10,000 domains: shares and policies" \
    '^\{"summary":true,"domains":10000,"published":8500,"published_share":0\.8[45][0-9]*,"policies":\{"none":1500,"-all":4500,"~all":2000,"\?all":1000,"\+all":500,"redirect":500,"no-all":0\},"errors":500,' \
    "$KANSOKU" spf survey --json -q "$TMP/survey.txt" --dns "127.0.0.1:$SPORT"
check_grep "survey: one JSON object per domain" '^\{"domain":"d16.survey","published":true,"policy":"-all","result":"permerror"' \
    "$KANSOKU" spf survey --json "$TMP/survey.txt" --dns "127.0.0.1:$SPORT"

# Results to the store: check --db, policyd --db (written at exit), survey --db; spf stats.
DB="$TMP/spf.db"
# shellcheck disable=SC2086
{
check "check --db writes the result" "$KANSOKU" spf check --ip 192.0.2.10 \
    --sender user@pass.test $DNS --db "$DB"
check "check --db: none (not published)" "$KANSOKU" spf check --ip 192.0.2.10 \
    --sender user@nothing.test $DNS --db "$DB"
check "policyd --stdio --db" "$KANSOKU" spf policyd --stdio $DNS --receiver mx.example \
    --db "$DB" <"$TMP/policy.in"
}
check_out "check without --db writes nothing" "0" sqlite3 "$DB" \
    "SELECT count(*) FROM spf_results WHERE domain = 'soft.test'"
check_grep "stats: results per month, SPF published vs not" \
    '^\{"month":"[0-9]{4}-[0-9]{2}","checks":4,"published":3,"not_published":1,"published_share":0\.75,"results":\{"none":1,"neutral":0,"pass":2,"fail":1,.*"helo_checks":1\}$' \
    "$KANSOKU" spf stats --json --db "$DB"
check_out "stored rows keep the domain, mechanism and lookups, never the local part" \
    "192.0.2.10|mailfrom|pass.test|pass|ip4:192.0.2.0/24|0" sqlite3 "$DB" \
    "SELECT client, identity, domain, result, mechanism, dns_lookups FROM spf_results
     WHERE domain = 'pass.test' AND result = 'pass' LIMIT 1"
check "survey --db" "$KANSOKU" spf survey -q "$TMP/survey.txt" --dns "127.0.0.1:$SPORT" \
    --db "$DB"
check_grep "stats: the survey's shares" \
    '^\{"survey":"[0-9T:Z-]+","list":".*survey.txt","domains":10000,"published":8500,"published_share":0\.8[45][0-9]*,"policy_shares":\{"none":0\.1[45][0-9]*,"-all":0\.4[45][0-9]*,"~all":0\.[12][0-9]*,"\?all":0\.[01][0-9]*,"\+all":0\.0[45][0-9]*,"redirect":0\.0[45][0-9]*,"no-all":0\.0\},"errors":500,' \
    "$KANSOKU" spf stats --json --db "$DB"
check_grep "stats: a table without --json" '^survey .*: 10000 domains, SPF 85\.00%, -all 45\.00%' \
    "$KANSOKU" spf stats --db "$DB"
check_err "stats of a missing store fails" 1 'cannot open|No such file' \
    "$KANSOKU" spf stats --db "$TMP/missing/x.db"
finish
