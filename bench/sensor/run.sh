#!/bin/sh
# bench/sensor: the sensor daemon's memory over 24 simulated hours of spoofed traffic (100
# packets per simulated second through the DDoS detector, the darknet statistics and the
# traffic windows, batches spooled and written to a store), measured after a warm-up of 26
# simulated hours (tables full, one darknet day written). There is no peer: "peer" is the RSS
# at the start of the 24 hours, "kansoku" the RSS at their end; a ratio near 1 is flat memory.
# Environment (scripts/bench): BUILD_DIR (release build), BENCH_OUT (scratch directory).
set -eu
build=${BUILD_DIR:-build}
out=${BENCH_OUT:-$(mktemp -d)}
exe="$build/bench/bench_sensor"
[ -x "$exe" ] || { echo "bench_sensor not built in $build"; exit 1; }
dir="$out/sensor"
rm -rf "$dir"
mkdir -p "$dir"
line=$("$exe" "$dir" 24 100)
echo "$line"
start=$(echo "$line" | sed -n 's/.*rss_kb_start=\([0-9]*\).*/\1/p')
end=$(echo "$line" | sed -n 's/.*rss_kb_end=\([0-9]*\).*/\1/p')
ratio=$(awk -v a="$end" -v b="$start" 'BEGIN { printf "%.3f", a / b }')
echo "RSS at the start of the 24 h: $start KiB, at the end: $end KiB (x$ratio)"
echo "RESULT sensor rss_kb_24h kansoku=$end peer=$start ratio=$ratio"
rm -rf "$dir"
