#!/bin/sh
# kansoku crawl, end to end against a loopback server (crawl_test_httpd, built with the tests):
# a chain redirect -> meta refresh -> iframe -> script redirect -> script src + download link
# ending in a tiny ELF and the EICAR test file (both written here, never run), the address
# check (127.0.0.1 refused without --allow-private), the limits (depth, redirect loop, bytes,
# time, connections per host, host delay), garbage HTML, schemes, --only-mapped, and --from-db
# over mail rows imported into the store. Nothing leaves loopback: every host name is mapped
# with --resolve to 127.0.0.1.
. "$KS_SRCDIR/tests/cli/lib.sh"
HTTPD="${KS_BUILDDIR:-}/src/crawl/crawl_test_httpd"
[ -x "$HTTPD" ] || skip "no crawl_test_httpd in the build directory"

check_exit 2 "usage error without URLs" "$KANSOKU" crawl --db "$TMP/u.db"
check_exit 2 "usage error: URLs and --from-db" "$KANSOKU" crawl --from-db http://a.example/
check_exit 2 "usage error: bad --resolve" "$KANSOKU" crawl --resolve nonsense http://a.example/
check_exit 2 "usage error: bad timeout" "$KANSOKU" crawl --fetch-timeout 0 http://a.example/
check_grep "help names the address check" "allow-private" "$KANSOKU" crawl --help

# --- the site -----------------------------------------------------------------------------------
W="$TMP/web"
mkdir -p "$W/dl" "$W/other.example"
echo '/start.html' >"$W/r0.redirect"
echo '<html><head><meta http-equiv="refresh" content="0; url=/p2.html"></head></html>' >"$W/start.html"
echo '<html><body><p>video</p><iframe src="/p3.html" width="0" height="0"></iframe></body></html>' >"$W/p2.html"
echo '<html><script>window.location.href = "/p4.html";</script></html>' >"$W/p3.html"
echo '<html><script src="/s.js"></script><a href="/dl/codec.exe">codec</a></html>' >"$W/p4.html"
echo 'document.location = "/dl/eicar.com";' >"$W/s.js"
# a tiny ELF header (no code) and the standard 68-byte EICAR test string
printf '\177ELF\001\001\001\000kansoku crawl test: harmless, no code' >"$W/dl/codec.exe"
printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STAND' 'ARD-ANTIVIRUS-TEST-FILE!$H+H*' >"$W/dl/eicar.com"
[ "$(wc -c <"$W/dl/eicar.com")" -eq 68 ] && ok "EICAR string is 68 bytes" || not_ok "EICAR string is 68 bytes"
# garbage: broken markup around real links, then random bytes
{
    printf '<html><<iframe src="/p2.html" <a href=\n<script>location = "/p3.html'
    head -c 20000 /dev/urandom
    printf '<iframe src="/s.js"><!-- unterminated'
} >"$W/garbage.html"
echo '<html>other</html>' >"$W/other.example/o.html"
# ClamAV database naming the EICAR file by its MD5 (the registry's antivirus)
echo "$(md5sum <"$W/dl/eicar.com" | cut -d' ' -f1):68:Kansoku.Test.EICAR" >"$TMP/test.hdb"

"$HTTPD" --root "$W" --port-file "$TMP/port" --lifetime 120 >/dev/null 2>"$TMP/httpd.err" &
SRV=$!
trap 'kill $SRV 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
P=$(cat "$TMP/port" 2>/dev/null)
[ -n "$P" ] || { not_ok "test server starts"; finish; exit 1; }
ok "test server starts"
H=spam.example
echo "<iframe src=\"ftp://files.example/x\"></iframe><iframe src=\"javascript:alert(1)\"></iframe><iframe src=\"http://other.example:$P/o.html\"></iframe>" >"$W/schemes.html"
R="--resolve $H:$P:127.0.0.1 --resolve other.example:$P:127.0.0.1"
U="http://$H:$P"
DB="$TMP/c.db"
# shellcheck disable=SC2086
crawl() { "$KANSOKU" crawl --db "$DB" --no-yara --json --host-delay 0 $R "$@"; }
field() { grep '"kind":"summary"' "$TMP/.out" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }

# --- the address check ------------------------------------------------------------------------
check "loopback refused without --allow-private" crawl "$U/r0"
[ "$(field refused_address)" = 1 ] && grep -q '"error":"refused-address"' "$TMP/.out" &&
    grep -q '"address":"127.0.0.1"' "$TMP/.out" && [ "$(field bytes)" = 0 ] &&
    ok "refusal is counted and recorded with the address" ||
    not_ok "refusal is counted and recorded with the address" "$(cat "$TMP/.out")"

# --- the whole chain -----------------------------------------------------------------------------
check "chain crawled" crawl --allow-private --clamav-db "$TMP/test.hdb" --samples-dir "$TMP/s" "$U/r0"
cp "$TMP/.out" "$TMP/chain.json"
for l in root http-redirect refresh frame js-redirect script download-link; do
    grep -q "\"link\":\"$l\"" "$TMP/chain.json" && ok "chain has a $l fetch" ||
        not_ok "chain has a $l fetch"
done
[ "$(field executables)" = 2 ] && [ "$(field samples)" = 2 ] &&
    ok "ELF and EICAR handed to the registry" ||
    not_ok "ELF and EICAR handed to the registry" "$(grep summary "$TMP/chain.json")"
grep '"url":"[^"]*/dl/codec.exe"' "$TMP/chain.json" | grep -q '"depth":5' &&
    ok "download depth is 5" || not_ok "download depth is 5"
n=$(sqlite3 "$DB" "SELECT count(*) FROM sample_events WHERE via = 'crawler' AND name = '$U/r0'" 2>/dev/null)
[ "$n" = 2 ] && ok "sample_events name the mail URL (the chain's root)" ||
    not_ok "sample_events name the mail URL (the chain's root)" "got $n"
n=$(sqlite3 "$DB" "SELECT count(*) FROM samples WHERE av = 'Kansoku.Test.EICAR.UNOFFICIAL' OR av LIKE 'Kansoku.Test.EICAR%'" 2>/dev/null)
[ "$n" = 1 ] && ok "EICAR named by the antivirus" || not_ok "EICAR named by the antivirus" "got $n"
n=$(find "$TMP/s" -type f | wc -l)
[ "$n" = 2 ] && ok "executables kept read-only" || not_ok "executables kept read-only" "$n files"
[ -z "$(find "$TMP/s" -type f -perm /111)" ] && ok "kept files are not executable" ||
    not_ok "kept files are not executable"
n=$(sqlite3 "$DB" "SELECT count(*) FROM crawl_fetches WHERE chain = 1 AND root = '$U/r0'" 2>/dev/null)
[ "$n" -ge 9 ] && ok "fetches recorded in crawl_fetches" || not_ok "fetches recorded in crawl_fetches" "got $n"

printf 'Set s = CreateObject("WScript.Shell")\r\ns.Run "calc"\r\n' >"$W/dl/run.vbs"
printf 'REM nothing\r\n' >"$W/dl/notes.txt"
check "a Windows script download" crawl --allow-private "$U/dl/run.vbs" "$U/dl/notes.txt"
[ "$(field executables)" = 1 ] && [ "$(field downloads)" = 1 ] &&
    ok "scripts that run programs are executables, other text is not" ||
    not_ok "scripts that run programs are executables, other text is not" "$(grep summary "$TMP/.out")"

# --- limits ------------------------------------------------------------------------------------
check "depth limit" crawl --allow-private --max-depth 2 "$U/r0"
[ "$(field limit_depth)" -ge 1 ] && [ "$(field executables)" = 0 ] && [ "$(field fetches)" = 3 ] &&
    ok "depth limit stops the chain" || not_ok "depth limit stops the chain" "$(grep summary "$TMP/.out")"
check "redirect loop" crawl --allow-private --max-redirects 5 "$U/__loop/0"
[ "$(field fetches)" = 6 ] && [ "$(field limit_redirects)" = 1 ] &&
    ok "redirect loop stops at --max-redirects" || not_ok "redirect loop stops at --max-redirects" "$(grep summary "$TMP/.out")"
t0=$(date +%s)
check "hanging server" crawl --allow-private --fetch-timeout 1 "$U/__hang"
t1=$(date +%s)
grep -q '"error":"timeout"' "$TMP/.out" && [ $((t1 - t0)) -le 6 ] &&
    ok "time limit per fetch" || not_ok "time limit per fetch" "$((t1 - t0)) s"
check "chain time limit" crawl --allow-private --chain-timeout 0.5 "$U/__hang"
grep -q '"error":"chain-timeout"' "$TMP/.out" && ok "time limit per URL" || not_ok "time limit per URL"
check "huge response" crawl --allow-private --max-bytes 100000 "$U/__huge"
grep -q '"error":"max-bytes"' "$TMP/.out" && grep -q '"size":100000,' "$TMP/.out" &&
    ok "byte limit per resource" || not_ok "byte limit per resource" "$(head -c 600 "$TMP/.out")"
check "chain byte limit" crawl --allow-private --max-chain-bytes 150 "$U/r0"
grep -q '"error":"chain-bytes"' "$TMP/.out" && ok "byte limit per URL" || not_ok "byte limit per URL"
check "fetch limit" crawl --allow-private --max-fetches 4 "$U/r0"
[ "$(field fetches)" = 4 ] && [ "$(field limit_fetches)" -ge 1 ] &&
    ok "fetch limit per chain" || not_ok "fetch limit per chain" "$(grep summary "$TMP/.out")"
set --
for i in 1 2 3 4 5 6 7 8 9; do set -- "$@" "$U/__hang?$i"; done
check "connections per host" crawl --allow-private --fetch-timeout 0.5 --per-host 3 --max-connections 8 "$@"
[ "$(field peak_active)" = 3 ] && [ "$(field timeouts)" = 9 ] &&
    ok "at most --per-host connections to a host" ||
    not_ok "at most --per-host connections to a host" "$(grep summary "$TMP/.out")"
check "total connections" crawl --allow-private --fetch-timeout 0.5 --per-host 8 --max-connections 2 "$@"
[ "$(field peak_active)" = 2 ] && ok "at most --max-connections in total" ||
    not_ok "at most --max-connections in total" "$(grep summary "$TMP/.out")"
check "links per document" crawl --allow-private --max-links 1 "$U/p4.html"
[ "$(field links_dropped)" = 1 ] && [ "$(field fetches)" = 3 ] && ok "--max-links caps the links of a page" ||
    not_ok "--max-links caps the links of a page" "$(grep summary "$TMP/.out")"
check "visited set" crawl --allow-private --max-chain-urls 3 "$U/r0"
[ "$(field visited_dropped)" = 1 ] && [ "$(field fetches)" = 3 ] && ok "a full visited set is counted" ||
    not_ok "a full visited set is counted" "$(grep summary "$TMP/.out")"
check "queue" crawl --allow-private --max-queue 1 "$U/p4.html"
[ "$(field queue_dropped)" = 1 ] && ok "a full queue is counted" ||
    not_ok "a full queue is counted" "$(grep summary "$TMP/.out")"
check "host table capacity" crawl --allow-private --max-hosts 2 --resolve "third.example:$P:127.0.0.1" \
    "$U/p2.html?h" "http://other.example:$P/o.html" "http://third.example:$P/o.html"
[ "$(field hosts_dropped)" -ge 1 ] && [ "$(field fetches)" -ge 5 ] &&
    ok "a full host table forgets a host and counts it" ||
    not_ok "a full host table forgets a host and counts it" "$(grep summary "$TMP/.out")"
t0=$(date +%s%N)
check "host delay" "$KANSOKU" crawl --db "$DB" --no-yara --json $R --allow-private --host-delay 400 --per-host 1 "$U/p2.html?1" "$U/p2.html?2" "$U/p2.html?3"
t1=$(date +%s%N)
[ $(((t1 - t0) / 1000000)) -ge 800 ] && ok "delay between fetches to one host" ||
    not_ok "delay between fetches to one host" "$(((t1 - t0) / 1000000)) ms"

# --- bad input ---------------------------------------------------------------------------------
check "garbage HTML" crawl --allow-private "$U/garbage.html"
grep -q '"url":"[^"]*/p2.html"' "$TMP/.out" && ok "links found in garbage" || not_ok "links found in garbage"
check "other schemes" crawl --allow-private "$U/schemes.html" "ftp://files.example/y"
[ "$(field refused_scheme)" = 3 ] && grep -q '"url":"http://other.example:[0-9]*/o.html"' "$TMP/.out" &&
    ok "only http and https" || not_ok "only http and https" "$(grep summary "$TMP/.out")"
check "only mapped hosts" crawl --allow-private --only-mapped "http://unmapped.example:$P/x"
[ "$(field not_mapped)" = 1 ] && ok "--only-mapped skips other hosts" || not_ok "--only-mapped skips other hosts"
check "private address literal refused" "$KANSOKU" crawl --db "$DB" --json "http://10.0.0.1:$P/" "http://[::1]:$P/"
[ "$(field refused_address)" = 2 ] && ok "literal private addresses refused" ||
    not_ok "literal private addresses refused" "$(grep summary "$TMP/.out")"

# --- from the store ----------------------------------------------------------------------------
M="$TMP/msgs.csv"
{
    echo "ts,message_id,verdict,verdict_source,score,sender,helo,country,asn,subject,subject_key,url_domains,urls,attachments,fuzzy,spf,size,problems,time_source"
    echo "1217894400000000,<spam1@x>,spam,header,9.5,192.0.2.7,x,US,0,Hi,hi,spam.example,1,0,,none,100,0,date"
    echo "1217894401000000,<ham1@x>,ham,header,0.5,192.0.2.8,y,US,0,Hello,hello,spam.example,1,0,,none,100,0,date"
} >"$M"
{
    echo "ts,message_id,url,found_in,domain,flags,shown"
    echo "1217894400000000,<spam1@x>,$U/r0,text,spam.example,0,"
    echo "1217894401000000,<ham1@x>,$U/p2.html,text,spam.example,0,"
} >"$TMP/urls.csv"
FDB="$TMP/f.db"
check "mail rows imported" "$KANSOKU" db import --db "$FDB" --table mail_messages "$M"
check "mail URLs imported" "$KANSOKU" db import --db "$FDB" --table mail_urls "$TMP/urls.csv"
check "crawl --from-db" "$KANSOKU" crawl --db "$FDB" --from-db --json --no-yara --allow-private --host-delay 0 $R
[ "$(field urls)" = 1 ] && [ "$(field executables)" = 1 ] && grep -q '"message_id":"<spam1@x>"' "$TMP/.out" &&
    ok "--from-db crawls the spam URLs only" || not_ok "--from-db crawls the spam URLs only" "$(grep summary "$TMP/.out")"
n=$(sqlite3 "$FDB" "SELECT count(DISTINCT u.message_id) FROM mail_urls u JOIN sample_events e ON e.name = u.url AND e.via = 'crawler'" 2>/dev/null)
[ "$n" = 1 ] && ok "report's join (mail_urls.url = sample_events.name) finds the message" ||
    not_ok "report's join (mail_urls.url = sample_events.name) finds the message" "got $n"
check "crawl --from-db again" "$KANSOKU" crawl --db "$FDB" --from-db --json --no-yara --allow-private $R
[ "$(field urls)" = 0 ] && ok "URLs crawled before are skipped" || not_ok "URLs crawled before are skipped"
check "crawl --from-db --recrawl" "$KANSOKU" crawl --db "$FDB" --from-db --recrawl --json --no-yara --allow-private --host-delay 0 $R
[ "$(field urls)" = 1 ] && ok "--recrawl crawls them again" || not_ok "--recrawl crawls them again"

kill $SRV 2>/dev/null
finish
