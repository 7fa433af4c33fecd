#!/usr/bin/env bash
# Sample registry hashing throughput on one core, for a large file (256 MiB of random bytes,
# in the page cache): kansoku's one streaming pass (MD5 + SHA-1 + SHA-256 [+ MD6-256]
# [+ ssdeep + TLSH], plus byte histograms, libmagic and the PE parser) against the peer
# `sha256sum; md5sum; sha1sum` run one after the other on the same file (the same three
# digests the usual way). Best of 3 each. The RESULT line compares the same digests
# (MD5+SHA-1+SHA-256); the other configurations are printed for the record.
set -uo pipefail
: "${KANSOKU:?}" "${BUILD_DIR:?}" "${BENCH_OUT:?}"
bench=$BUILD_DIR/bench/bench_samples
input=$BENCH_OUT/samples-input.bin
mib=256
bytes=$((mib << 20))
head -c $bytes /dev/urandom >"$input" || exit 1
cat "$input" >/dev/null

best_of3() {
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
peer_t=$(best_of3 sh -c "sha256sum '$input'; md5sum '$input'; sha1sum '$input'")
peer=$(echo "scale=1; $bytes / $peer_t / 1000000" | bc -l)
echo "peer: sha256sum + md5sum + sha1sum: ${peer_t} s, $peer MB/s"
out=$(taskset -c 0 "$bench" "$input" 3 2>/dev/null || "$bench" "$input" 3)
echo "$out" | while read -r mode t mbs; do echo "kansoku (1 core): $mode: $t s, $mbs MB/s"; done
ks=$(echo "$out" | awk '$1 == "md5+sha1+sha256" {print $3}')
ks_md6=$(echo "$out" | awk '$1 == "md5+sha1+sha256+md6" {print $3}')
ks_all=$(echo "$out" | awk '$1 == "all(+ssdeep+tlsh)" {print $3}')
echo "ratio md5+sha1+sha256:      $(echo "scale=2; $ks / $peer" | bc -l)"
echo "ratio with md6:             $(echo "scale=2; $ks_md6 / $peer" | bc -l)"
echo "ratio with md6+ssdeep+tlsh: $(echo "scale=2; $ks_all / $peer" | bc -l)"
rm -f "$input"
echo "RESULT samples hash_MBps kansoku=$ks_md6 peer=$peer ratio=$(echo "scale=2; $ks_md6 / $peer" | bc -l)"
