#!/bin/sh
# kansoku spf policyd in a real Postfix: a private Postfix instance (its own config, queue and
# data directories under $TMP, SMTP on 127.0.0.1 at a high port) asks `kansoku spf policyd`
# (check_policy_service inet:127.0.0.1:PORT) about every recipient; a dnsmasq on 127.0.0.1
# serves the SPF records and forwards slow.example to a server that never answers (temperror).
# swaks sends mail from 127.0.0.1 with senders whose domains give pass, fail, softfail and
# temperror; the test checks the SMTP replies, the Received-SPF header of the delivered
# messages (local(8) delivery to a mailbox file under $TMP) and the results in the store.
# Needs root (Postfix's master runs as root and drops to mail_owner), Debian's postfix, swaks
# and dnsmasq; skips otherwise.
. "$KS_SRCDIR/tests/cli/lib.sh"

[ "$(id -u)" = 0 ] || skip "not root: a Postfix instance needs root to start"
POSTFIX=$(command -v postfix || echo /usr/sbin/postfix)
[ -x "$POSTFIX" ] || skip "postfix not installed (Debian postfix)"
command -v swaks >/dev/null 2>&1 || skip "swaks not installed (Debian swaks)"
DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
[ -x "$DNSMASQ" ] || skip "dnsmasq not installed (Debian dnsmasq-base)"
id postfix >/dev/null 2>&1 || skip "no postfix user (the postfix package is not set up)"
id nobody >/dev/null 2>&1 || skip "no nobody user to deliver to"

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
base=$(free_base 4)
DNSPORT=$base
BHPORT=$((base + 1))
POLPORT=$((base + 2))
SMTPPORT=$((base + 3))
PF="$TMP/postfix"
DB="$TMP/spf.db"
# Postfix's daemons run as the postfix user and local(8) as the recipient: they must reach
# their directories under $TMP.
chmod 755 "$TMP"
mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$PF/spool"
chown postfix "$PF/data"
chmod 1777 "$PF/spool"

DNSMASQ_PID="" BLACKHOLE_PID="" POLICYD_PID="" PF_STARTED=0
cleanup() {
    if [ "$PF_STARTED" = 1 ]; then
        "$POSTFIX" -c "$PF/etc" stop >/dev/null 2>&1
        # stop waits for master; if it did not go, end it by its pid file.
        mp=$(tr -d ' ' <"$PF/queue/pid/master.pid" 2>/dev/null)
        [ -n "$mp" ] && kill -0 "$mp" 2>/dev/null && kill "$mp" 2>/dev/null
    fi
    for p in $POLICYD_PID $DNSMASQ_PID $BLACKHOLE_PID; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# DNS: SPF records of the test domains; client 127.0.0.1.
/usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    s.recv(4096)' "$BHPORT" >/dev/null 2>&1 &
BLACKHOLE_PID=$!
"$DNSMASQ" -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
    --listen-address=127.0.0.1 --port="$DNSPORT" --pid-file="$TMP/dnsmasq.pid" \
    --user="$(id -un)" --local=/test/ \
    --txt-record=pass.test,"v=spf1 ip4:127.0.0.0/8 -all" \
    --txt-record=fail.test,"v=spf1 ip4:192.0.2.0/24 -all" \
    --txt-record=soft.test,"v=spf1 ip4:192.0.2.0/24 ~all" \
    --txt-record=temp.test,"v=spf1 a:x.slow.example -all" \
    --server=/slow.example/127.0.0.1#"$BHPORT" \
    >"$TMP/dnsmasq.log" 2>&1 &
DNSMASQ_PID=$!

"$KANSOKU" spf policyd --listen "127.0.0.1:$POLPORT" --dns "127.0.0.1:$DNSPORT" \
    --timeout 300 --receiver mx.spf.test --db "$DB" 2>"$TMP/policyd.err" &
POLICYD_PID=$!

cat >"$PF/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
myhostname = mx.spf.test
mydomain = spf.test
myorigin = spf.test
mydestination = spf.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = \$myhostname ESMTP
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_policy_service inet:127.0.0.1:$POLPORT, permit
smtpd_policy_service_timeout = 30s
alias_maps =
alias_database =
local_recipient_maps = proxy:unix:passwd.byname
mail_spool_directory = $PF/spool
biff = no
smtputf8_enable = no
smtp_dns_support_level = disabled
EOF
cat >"$PF/etc/master.cf" <<EOF
127.0.0.1:$SMTPPORT inet n - n - - smtpd
pickup    unix  n - n 60   1 pickup
cleanup   unix  n - n -    0 cleanup
qmgr      unix  n - n 300  1 qmgr
rewrite   unix  - - n -    - trivial-rewrite
bounce    unix  - - n -    0 bounce
defer     unix  - - n -    0 bounce
trace     unix  - - n -    0 bounce
verify    unix  - - n -    1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -    - proxymap
proxywrite unix - - n -    1 proxymap
smtp      unix  - - n -    - smtp
relay     unix  - - n -    - smtp
showq     unix  n - n -    - showq
error     unix  - - n -    - error
retry     unix  - - n -    - error
discard   unix  - - n -    - discard
local     unix  - n n -    - local
anvil     unix  - - n -    1 anvil
scache    unix  - - n -    1 scache
postlog   unix-dgram n - n - 1 postlogd
EOF
# Stopped in the EXIT trap whatever happens from here (stop is harmless if it never ran).
PF_STARTED=1
if ! "$POSTFIX" -c "$PF/etc" start >"$TMP/postfix-start.log" 2>&1; then
    cat "$TMP/postfix-start.log" "$PF/maillog" 2>/dev/null | head -20
    skip "postfix cannot start a private instance here (see above)"
fi

# Wait for the three servers: Postfix's banner, the policy service, DNS answers.
n=0
until swaks --server 127.0.0.1 --port "$SMTPPORT" --quit-after CONNECT >/dev/null 2>&1; do
    n=$((n + 1))
    if [ $n -ge 50 ]; then
        tail -20 "$PF/maillog" 2>/dev/null
        not_ok "postfix listens on 127.0.0.1:$SMTPPORT"
        finish
        exit 1
    fi
    sleep 0.2
done
n=0
until "$KANSOKU" spf check --ip 127.0.0.1 --sender a@pass.test --dns "127.0.0.1:$DNSPORT" \
    --timeout 200 2>/dev/null | grep -q '^result: pass$'; do
    n=$((n + 1))
    [ $n -lt 50 ] || break
    sleep 0.1
done
kill -0 "$POLICYD_PID" 2>/dev/null && ok "policyd runs" || not_ok "policyd runs" "$(cat "$TMP/policyd.err")"

# send NAME FROM: one message to nobody@spf.test; the dialogue is left in $TMP/NAME.smtp.
send() {
    swaks --server 127.0.0.1 --port "$SMTPPORT" --ehlo client.example --from "$2" \
        --to nobody@spf.test --header "Subject: spf $1" --body "test $1" \
        --timeout 60 >"$TMP/$1.smtp" 2>&1
}
# expect NAME REGEX: the SMTP dialogue of NAME has a line matching REGEX.
expect() {
    if grep -Eq -- "$2" "$TMP/$1.smtp"; then ok "$1: $3"; else
        not_ok "$1: $3" "no line matches: $2" "$(grep -E '^ *(<|->|\*)' "$TMP/$1.smtp" | tail -8)"
    fi
}
send pass user@pass.test
expect pass '^ *<- +250 .*queued as' "the message is accepted"
send fail user@fail.test
expect fail '^ *<\*\* +550 5\.7\.23 .*127\.0\.0\.1 is not a designated mail server for fail\.test' \
    "RCPT is rejected with 550 5.7.23 and the explanation"
send soft user@soft.test
expect soft '^ *<- +250 .*queued as' "the message is accepted (softfail only marks it)"
send temp user@temp.test
expect temp '^ *<\*\* +451 4\.7\.24 ' "RCPT is deferred with 451 4.7.24"

# The two accepted messages reach the mailbox, each with its Received-SPF header.
MBOX="$PF/spool/nobody"
n=0
while [ $n -lt 100 ] && [ "$(grep -c '^Subject: spf ' "$MBOX" 2>/dev/null || echo 0)" -lt 2 ]; do
    sleep 0.1
    n=$((n + 1))
done
if [ -r "$MBOX" ]; then
    # one message per file: split the mbox at its From_ lines
    awk -v dir="$TMP" '/^From /{n++} {print > (dir "/msg" n)}' "$MBOX"
fi
msg_of() { grep -l "^Subject: spf $1\$" "$TMP"/msg* 2>/dev/null | head -1; }
m=$(msg_of pass)
if [ -n "$m" ] && grep -Eq '^Received-SPF: pass \(mx\.spf\.test: domain of user@pass\.test designates 127\.0\.0\.1 as permitted sender\) .*client-ip=127\.0\.0\.1;' "$m"; then
    ok "pass: delivered with Received-SPF: pass"
else
    not_ok "pass: delivered with Received-SPF: pass" "$(head -20 "$m" 2>/dev/null)" \
        "$(tail -5 "$PF/maillog" 2>/dev/null)"
fi
m=$(msg_of soft)
if [ -n "$m" ] && grep -Eq '^Received-SPF: softfail \(mx\.spf\.test: .*\) .*envelope-from="user@soft\.test"; helo=client\.example;' "$m"; then
    ok "softfail: delivered with Received-SPF: softfail"
else
    not_ok "softfail: delivered with Received-SPF: softfail" "$(head -20 "$m" 2>/dev/null)"
fi
[ -z "$(msg_of fail)$(msg_of temp)" ] && ok "fail and temperror: nothing delivered" ||
    not_ok "fail and temperror: nothing delivered"

# Stopping policyd writes the last batch; the store has every check (HELO and MAIL FROM).
kill "$POLICYD_PID"
wait "$POLICYD_PID" 2>/dev/null
POLICYD_PID=""
check_grep "store: results per month from the Postfix session" \
    '^\{"month":"[0-9]{4}-[0-9]{2}","checks":4,"published":4,"not_published":0,"published_share":1\.0,"results":\{"none":0,"neutral":0,"pass":1,"fail":1,"softfail":1,"temperror":1,"permerror":0\},"helo_checks":4\}$' \
    "$KANSOKU" spf stats --json --db "$DB"
finish
