#!/usr/bin/env bash
# Crawler throughput on loopback: fetches per second over 300 chains of 4 resources (page ->
# iframe page -> iframe page -> link to a download), served by crawl_test_httpd (one thread
# per connection, Connection: close). kansoku crawl (16 connections, no host delay, no store,
# no YARA; the registry still hashes the download) against the peer `wget -r -l 5` on the
# same entry URLs (it follows iframes and links too, one connection at a time, writing what
# it fetches to disk). kansoku at one connection is printed for the record. Best of 3 each.
set -uo pipefail
: "${KANSOKU:?}" "${BUILD_DIR:?}" "${BENCH_OUT:?}"
httpd=$BUILD_DIR/src/crawl/crawl_test_httpd
command -v wget >/dev/null || { echo "no wget: skipped"; exit 0; }
[ -x "$httpd" ] || { echo "no $httpd: skipped"; exit 0; }
chains=300
site=$BENCH_OUT/crawl-site
rm -rf "$site" && mkdir -p "$site"
head -c 4096 /dev/urandom >"$site/blob"
for i in $(seq 1 $chains); do
    d=$site/c$i
    mkdir -p "$d"
    echo "<html><body><iframe src=\"/c$i/b.html\"></iframe></body></html>" >"$d/a.html"
    echo "<html><body><iframe src=\"/c$i/c.html\"></iframe></body></html>" >"$d/b.html"
    echo "<html><body><a href=\"/c$i/f.zip\">get</a></body></html>" >"$d/c.html"
    cp "$site/blob" "$d/f.zip"
done
"$httpd" --root "$site" --port-file "$BENCH_OUT/crawl.port" --lifetime 300 >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
for _ in $(seq 50); do [ -s "$BENCH_OUT/crawl.port" ] && break; sleep 0.1; done
port=$(cat "$BENCH_OUT/crawl.port")
urls=$BENCH_OUT/crawl-urls.txt
for i in $(seq 1 $chains); do echo "http://127.0.0.1:$port/c$i/a.html"; done >"$urls"
fetches=$((chains * 4))

best_of3() {
    local best="" t0 t1 t
    for _ in 1 2 3; do
        rm -rf "$BENCH_OUT/crawl-wget"
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}
# shellcheck disable=SC2046
ks_t=$(best_of3 "$KANSOKU" crawl -q --no-store --no-yara --allow-private --host-delay 0 \
    --per-host 16 --max-connections 16 $(cat "$urls"))
# shellcheck disable=SC2046
ks1_t=$(best_of3 "$KANSOKU" crawl -q --no-store --no-yara --allow-private --host-delay 0 \
    --per-host 1 --max-connections 1 $(cat "$urls"))
peer_t=$(best_of3 wget -q -r -l 5 -e robots=off -P "$BENCH_OUT/crawl-wget" -i "$urls")
n=$(find "$BENCH_OUT/crawl-wget" -type f 2>/dev/null | wc -l)
ks=$(echo "scale=1; $fetches / $ks_t" | bc -l)
ks1=$(echo "scale=1; $fetches / $ks1_t" | bc -l)
peer=$(echo "scale=1; $fetches / $peer_t" | bc -l)
echo "peer: wget -r: $peer_t s for $fetches fetches ($n files), $peer fetches/s"
echo "kansoku crawl, 16 connections: $ks_t s, $ks fetches/s"
echo "kansoku crawl, 1 connection:   $ks1_t s, $ks1 fetches/s"
rm -rf "$site" "$BENCH_OUT/crawl-wget" "$urls" "$BENCH_OUT/crawl.port"
echo "RESULT crawl fetches_per_s kansoku=$ks peer=$peer ratio=$(echo "scale=2; $ks / $peer" | bc -l)"
