#!/usr/bin/env bash
# MD6-256 throughput on a 256 MiB file: kansoku's portable scalar path and its best SIMD path on
# one thread, and `kansoku md6sum` on 2 threads, against openssl dgst -sha256 (SHA instructions),
# sha256sum and b3sum measured in the same run. Best of 3 wall-clock runs each.
set -uo pipefail
: "${KANSOKU:?}" "${BUILD_DIR:?}" "${BENCH_OUT:?}"
bench=$BUILD_DIR/bench/bench_md6
input=$BENCH_OUT/md6-input.bin
mib=256
bytes=$((mib << 20))
head -c $bytes /dev/urandom >"$input" || exit 1
ghz=$(awk -F: '/^cpu MHz/ {printf "%.3f", $2 / 1000; exit}' /proc/cpuinfo)
[ -n "$ghz" ] || ghz=0
echo "input: $mib MiB in $BENCH_OUT; CPU clock ${ghz} GHz (for cycles/byte, from CPU time)"

best_of3() { # CMD...: prints the best wall time in seconds
    local best="" t0 t1 t
    for _ in 1 2 3; do
        t0=$(date +%s.%N)
        "$@" >/dev/null 2>&1 || { echo "fail"; return; }
        t1=$(date +%s.%N)
        t=$(echo "$t1 - $t0" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}
mbs() { echo "scale=1; $bytes / $1 / 1000000" | bc -l; }
ratio() { echo "scale=2; $1 / $2" | bc -l; }

field() { sed -n "s|.* $1=\([^ ]*\).*|\1|p"; }
simd=$(KS_MD6_PATH= "$BUILD_DIR/bench/bench_md6" -p auto -s 1 -n 1 | field path)

port_line=$("$bench" -p portable -t 1 -f "$input" -n 2 -g "$ghz")
simd_line=$("$bench" -p "$simd" -t 1 -f "$input" -n 3 -g "$ghz")
two_line=$("$bench" -p "$simd" -t 2 -f "$input" -n 3 -g "$ghz")
echo "library, portable, 1 thread:   $port_line"
echo "library, $simd, 1 thread:     $simd_line"
echo "library, $simd, 2 threads:    $two_line"
port=$(echo "$port_line" | field MB/s)
simd_mbs=$(echo "$simd_line" | field MB/s)
port_cpb=$(echo "$port_line" | field cycles/byte)
simd_cpb=$(echo "$simd_line" | field cycles/byte)
echo "portable scalar path: $port_cpb cycles/byte (the reference implementation: about 17)"
echo "best SIMD path ($simd): $simd_cpb cycles/byte; $(ratio "$simd_mbs" "$port") x the portable path"

t_md6=$(best_of3 "$KANSOKU" md6sum --threads 2 "$input")
t_ossl=$(best_of3 openssl dgst -sha256 "$input")
t_sha=$(best_of3 sha256sum "$input")
if command -v b3sum >/dev/null; then t_b3=$(best_of3 b3sum "$input"); else t_b3=""; fi
md6_mbs=$(mbs "$t_md6")
ossl_mbs=$(mbs "$t_ossl")
sha_mbs=$(mbs "$t_sha")
echo "kansoku md6sum (MD6-256, 2 threads): $md6_mbs MB/s"
echo "openssl dgst -sha256:                $ossl_mbs MB/s  (md6sum / openssl = $(ratio "$md6_mbs" "$ossl_mbs"))"
echo "sha256sum:                           $sha_mbs MB/s  (md6sum / sha256sum = $(ratio "$md6_mbs" "$sha_mbs"))"
if [ -n "$t_b3" ]; then
    b3_mbs=$(mbs "$t_b3")
    echo "b3sum (BLAKE3, for scale):           $b3_mbs MB/s  (md6sum / b3sum = $(ratio "$md6_mbs" "$b3_mbs"))"
fi
echo "RESULT md6 simd_1thread_vs_portable_MBps kansoku=$simd_mbs peer=$port ratio=$(ratio "$simd_mbs" "$port")"
echo "RESULT md6 md6sum_2threads_vs_sha256sum_MBps kansoku=$md6_mbs peer=$sha_mbs ratio=$(ratio "$md6_mbs" "$sha_mbs")"
[ -n "$t_b3" ] && echo "RESULT md6 md6sum_2threads_vs_b3sum_MBps kansoku=$md6_mbs peer=$b3_mbs ratio=$(ratio "$md6_mbs" "$b3_mbs")"
echo "RESULT md6 md6sum_2threads_vs_openssl_sha256_MBps kansoku=$md6_mbs peer=$ossl_mbs ratio=$(ratio "$md6_mbs" "$ossl_mbs")"
rm -f "$input"
