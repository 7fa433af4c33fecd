#!/usr/bin/env bash
# Geolocation lookups per second on one core (random IPv4): libmaxminddb alone (peer) vs
# ks_geo_lookup (kansoku: country + AS + organisation). Also times the install-time conversion
# of the AS CSV into kansoku's table, and, when Perl's MaxMind::DB::Writer is installed, into a
# .mmdb, whose AS lookups are then compared with kansoku's table (why the table was chosen).
# Env: BUILD_DIR (release build), BENCH_OUT (scratch), KANSOKU_GEO_DIR (data; default install
# dir), KANSOKU_CACHE (where scripts/install-geo keeps the npm packages).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:?BUILD_DIR must name the release build}
out=${BENCH_OUT:-$(mktemp -d)}
dir=${KANSOKU_GEO_DIR:-$("$build/cli/kansoku" geo --info 2>/dev/null | sed -n 's/^data directory: //p')}
if [ ! -s "$dir/geo-whois-asn-country.mmdb" ] || [ ! -s "$dir/asn.kstab" ]; then
    echo "geo: no geolocation data in '$dir' (run scripts/install-geo); skipped"
    exit 0
fi
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
taskset_cmd=()
command -v taskset >/dev/null && taskset_cmd=(taskset -c 0)

# Install-time conversion, from the CSV in the npm package kept by install-geo.
cache=${KANSOKU_CACHE:+$KANSOKU_CACHE/npm}
for c in "$cache" /var/cache/kansoku/npm "${XDG_CACHE_HOME:-$HOME/.cache}/kansoku/npm"; do
    [ -n "$c" ] && [ -f "$c/ip-location-db-asn-2.3.2026061719.tgz" ] && { cache=$c; break; }
done
asn_mmdb=
tgz="$cache/ip-location-db-asn-2.3.2026061719.tgz"
if [ -f "$tgz" ]; then
    tar -xzf "$tgz" -C "$out" package/asn-ipv4.csv package/asn-ipv6.csv
    csv=("$out/package/asn-ipv4.csv" "$out/package/asn-ipv6.csv")
    t0=$(date +%s.%N)
    "$build/bench/ks-asn-build" "$out/asn.kstab" bench "${csv[@]}" 2>/dev/null
    t1=$(date +%s.%N)
    echo "convert  kansoku AS table (ks-asn-build):              $(secs "$t0" "$t1") s"
    if perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null; then
        t0=$(date +%s.%N)
        perl "$top/scripts/asn-csv-to-mmdb.pl" "$out/asn.mmdb" "${csv[@]}"
        t1=$(date +%s.%N)
        echo "convert  .mmdb with libmaxmind-db-writer-perl:         $(secs "$t0" "$t1") s"
        asn_mmdb="$out/asn.mmdb"
    fi
else
    echo "(no cached AS package; conversion times skipped)"
fi

"${taskset_cmd[@]}" "$build/bench/bench_geo" "$dir" 2.5 $asn_mmdb
