#!/bin/sh
# kansoku sqli scan -i lo: live capture while curl sends HTTP with SQL injection to a local
# listener over loopback. Needs root (or CAP_NET_RAW), curl and /usr/bin/python3 (the listener).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root for a live capture"
command -v curl >/dev/null 2>&1 || skip "curl not installed"
[ -x /usr/bin/python3 ] || skip "/usr/bin/python3 (the listener) not installed"

# A free port: the listener picks it and writes it down.
mkdir -p "$TMP/www"
cat >"$TMP/srv.py" <<'PY'
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    do_POST = do_GET
    def log_message(self, *a): pass
s = socketserver.TCPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
/usr/bin/python3 "$TMP/srv.py" "$TMP/port" &
SRV=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$TMP/port" ] || { kill "$SRV"; skip "the listener did not start"; }
PORT=$(cat "$TMP/port")

"$KANSOKU" sqli scan -v --json -i lo --filter "tcp port $PORT" >"$TMP/live.json" 2>"$TMP/live.err" &
K=$!
# a watchdog, so that the test never hangs
(
    i=0
    while [ $i -lt 600 ] && kill -0 "$K" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$K" 2>/dev/null
) &
DOG=$!
# ready when it says so (its signal handlers are in place then)
i=0
while ! grep -q 'capturing on lo' "$TMP/live.err" 2>/dev/null && kill -0 "$K" 2>/dev/null &&
    [ $i -lt 300 ]; do
    sleep 0.1
    i=$((i + 1))
done
if ! kill -0 "$K" 2>/dev/null; then
    kill "$SRV" "$DOG"
    cat "$TMP/live.err"
    skip "live capture on lo is not possible here"
fi
curl -s -o /dev/null "http://127.0.0.1:$PORT/item.php?id=-1+union+select+card_no,cvv+from+cards--" -H 'Host: live.example'
curl -s -o /dev/null --data "user=admin&pass=x'+or+'1'='1'--+-" "http://127.0.0.1:$PORT/login.php"
curl -s -o /dev/null "http://127.0.0.1:$PORT/item.php?id=42&q=books"
sleep 1
kill -INT "$K"
wait "$K"
code=$?
kill "$DOG" 2>/dev/null
kill "$SRV" 2>/dev/null
wait "$SRV" 2>/dev/null

check_out "scan -i stops on SIGINT with exit 0" 0 echo "$code"
check_grep "it said it was capturing" 'capturing on lo' cat "$TMP/live.err"
check_grep "GET query attack seen live" '"host":"live\.example".*"signature":"HTTP_GET_SQL_UnionSelect"' cat "$TMP/live.json"
check_grep "POST body attack seen live" '"method":"POST".*"field":"body:pass"' cat "$TMP/live.json"
check_grep "source is loopback" '"source":"127\.0\.0\.1"' cat "$TMP/live.json"
check "benign request not reported" sh -c "! grep -q 'q=books' '$TMP/live.json'"
check_grep "summary counts 3 requests" '3 requests' cat "$TMP/live.err"
finish
