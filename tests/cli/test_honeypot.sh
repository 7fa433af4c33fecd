#!/bin/sh
# kansoku honeypot, end to end over loopback: banner, slow client (timeouts), a flood
# (caps, counted), a binary payload (reaches the registry), UDP, SIGTERM flushing to the store,
# and 10,000 concurrent idle connections within 128 MiB RSS. Clients: /usr/bin/python3 stdlib.
. "$KS_SRCDIR/tests/cli/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3 for the test client"
BASE=$((20000 + $$ % 5000 * 2))
P1=$BASE P2=$((BASE + 1)) PU=$((BASE + 2))

check_exit 2 "usage error without ports" "$KANSOKU" honeypot --samples "$TMP/s"
check_exit 2 "usage error on a bad port list" "$KANSOKU" honeypot --tcp 80-x --samples "$TMP/s"
check_grep "help" "max-per-source" "$KANSOKU" honeypot --help

# Wait until the honeypot says it is ready (its stderr), at most 10 s.
wait_ready() {
    i=0
    while [ $i -lt 100 ]; do
        grep -q ready "$1" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

"$KANSOKU" honeypot --db "$TMP/hp.db" --listen 127.0.0.1 --tcp "$P1,$P2" --udp "$PU" \
    --samples "$TMP/samples" --banner "$P1:220 ftp ready\r\n" --read-timeout 2 \
    --session-timeout 3 --max-per-source 5 --max-bytes 100000 --duration 30 --json \
    >"$TMP/hp.out" 2>"$TMP/hp.err" &
HP=$!
if wait_ready "$TMP/hp.err"; then ok "honeypot starts"; else not_ok "honeypot starts"; fi

"$PY" - "$P1" "$P2" "$PU" >"$TMP/client.out" 2>&1 <<'PYEOF'
import socket, sys, time
p1, p2, pu = (int(x) for x in sys.argv[1:4])
def conn(port):
    return socket.create_connection(("127.0.0.1", port), timeout=5)
# banner
s = conn(p1); s.settimeout(2); print("banner", s.recv(64)); s.close()
# a binary payload: an ELF image made here, after some protocol bytes
elf = b"\x7fELF\x02\x01\x01" + bytes(57) + b"kansoku test payload" * 20
s = conn(p2); s.sendall(b"GET /bin HTTP/1.0\r\n\r\n" + elf); s.close()
# UDP: never answered
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(0.5)
for i in range(3): u.sendto(b"udp probe %d" % i, ("127.0.0.1", pu))
try: u.recv(100); print("udp answered")
except socket.timeout: print("udp silent")
# slow client: a byte a second, older than the 3 s session timeout
s = conn(p2)
for i in range(5):
    try: s.send(b"x")
    except OSError: break
    time.sleep(1)
# flood: 20 connections from one source, per-source cap 5
flood = []
for i in range(20):
    try: flood.append(conn(p2))
    except OSError: pass
time.sleep(0.5)
for f in flood: f.close()
print("done")
PYEOF
grep -q "banner b'220 ftp ready" "$TMP/client.out" && ok "banner sent" || not_ok "banner sent" "$(cat "$TMP/client.out")"
grep -q "udp silent" "$TMP/client.out" && ok "UDP never answered" || not_ok "UDP never answered"
sleep 1
kill -TERM "$HP"
wait "$HP"
rc=$?
[ "$rc" -eq 0 ] && ok "stops on SIGTERM with exit 0" || not_ok "stops on SIGTERM with exit 0" "exit $rc" "$(cat "$TMP/hp.err")"
summary=$(grep '"kind":"summary"' "$TMP/hp.out")
case $summary in *'"udp_datagrams":3'*) ok "UDP datagrams counted" ;; *) not_ok "UDP datagrams counted" "$summary" ;; esac
case $summary in *'"session_timeouts":1'*) ok "slow client hit the session timeout" ;; *) not_ok "slow client hit the session timeout" "$summary" ;; esac
case $summary in *'"refused_per_source":1'[0-9]*) ok "flood refused per source and counted" ;; *) not_ok "flood refused per source and counted" "$summary" ;; esac
case $summary in *'"samples":1,'*) ok "binary payload handed to the registry" ;; *) not_ok "binary payload handed to the registry" "$summary" ;; esac
n=$(find "$TMP/samples" -type f | wc -l)
[ "$n" -eq 1 ] && ok "sample kept" || not_ok "sample kept" "$n files"
check_grep "sessions flushed to the store" '"honeypot_sessions":\{"rows":[0-9]+,"rows_complete":[1-9]' \
    "$KANSOKU" db info --db "$TMP/hp.db" --json
check_grep "sample registered via honeypot" '"via":"honeypot","captures":1' \
    "$KANSOKU" samples stats --db "$TMP/hp.db" --json

# 10,000 concurrent idle connections: the honeypot's RSS stays under 128 MiB.
P3=$((BASE + 3))
"$KANSOKU" honeypot --no-store --listen 127.0.0.1 --tcp "$P3" --samples "$TMP/s2" \
    --max-sessions 12000 --max-per-source 12000 --read-timeout 300 --session-timeout 300 \
    --duration 120 --json >"$TMP/hp2.out" 2>"$TMP/hp2.err" &
HP=$!
wait_ready "$TMP/hp2.err" || not_ok "second honeypot starts"
"$PY" - "$P3" "$HP" >"$TMP/idle.out" 2>&1 <<'PYEOF'
import resource, socket, sys, time
port, pid = int(sys.argv[1]), sys.argv[2]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
socks = []
t0 = time.time()
while len(socks) < 10000 and time.time() - t0 < 60:
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("127.0.0.1", port))
        socks.append(s)
    except OSError as e:
        print("connect failed:", e); break
time.sleep(2)
rss = 0
for line in open("/proc/%s/status" % pid):
    if line.startswith("VmRSS:"): rss = int(line.split()[1])
# still open: no EOF on any of them
open_ = 0
for s in socks:
    s.setblocking(False)
    try:
        if s.recv(1) == b"": continue
    except BlockingIOError:
        open_ += 1
print("connections", len(socks), "open", open_, "rss_kib", rss)
PYEOF
cat "$TMP/idle.out"
set -- $(cat "$TMP/idle.out" | grep connections)
if [ "${2:-0}" -ge 10000 ] && [ "${4:-0}" -ge 10000 ] && [ "${6:-999999}" -lt 131072 ]; then
    ok "10000 idle connections held within 128 MiB (RSS ${6} KiB)"
else
    not_ok "10000 idle connections held within 128 MiB" "$(cat "$TMP/idle.out")"
fi
kill -TERM "$HP"
wait "$HP"
grep -q '"peak_active":1[0-9][0-9][0-9][0-9]' "$TMP/hp2.out" && ok "peak of 10000 sessions counted" ||
    not_ok "peak of 10000 sessions counted" "$(cat "$TMP/hp2.out" "$TMP/hp2.err" | tail -3)"
finish
