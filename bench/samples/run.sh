#!/usr/bin/env bash
# Sample registry hashing throughput on one core, for a large file (256 MiB of random bytes,
# in the page cache): kansoku's one streaming pass with every hash (MD5, SHA-1, SHA-256,
# MD6-256, ssdeep, TLSH, plus byte histograms, libmagic and the PE parser) against the peer:
# the usual tools for the same digests, one after the other on the same file
# (md5sum; sha1sum; sha256sum; ssdeep; tlsh -f; Debian has no MD6 tool, so the peer does one
# digest less). Times are CPU seconds (user + system), best of 3 each, so that other load on
# the machine counts less; MB = 10^6 bytes. The issue asks for >= 200 MB/s with all hashes
# on one core: the RESULT line is that figure against the peer. The other configurations and
# the time of each hash alone (ns/byte) are printed for the record.
set -uo pipefail
: "${KANSOKU:?}" "${BUILD_DIR:?}" "${BENCH_OUT:?}"
bench=$BUILD_DIR/bench/bench_samples
input=$BENCH_OUT/samples-input.bin
mib=256
bytes=$((mib << 20))
head -c $bytes /dev/urandom >"$input" || exit 1
cat "$input" >/dev/null
pin=()
taskset -c 0 true 2>/dev/null && pin=(taskset -c 0)

# CPU seconds (user + system) of a command, best of 3; "fail" if it fails.
cpu_best_of3() {
    local best="" t
    for _ in 1 2 3; do
        t=$({ TIMEFORMAT='%3U %3S'; time "$@" >/dev/null 2>&1 || echo fail; } 2>&1 |
            awk '$1 == "fail" {f = 1} NF == 2 && $1 != "fail" {s = $1 + $2} END {print f ? "fail" : s}')
        [ "$t" = fail ] && { echo fail; return; }
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    echo "$best"
}
mbps() { echo "scale=1; $bytes / $1 / 1000000" | bc -l; }

peer_tools=(md5sum sha1sum sha256sum)
command -v ssdeep >/dev/null && peer_tools+=(ssdeep)
command -v tlsh >/dev/null && peer_tools+=(tlsh)
peer_cmd=""
for t in "${peer_tools[@]}"; do
    case $t in
    tlsh) peer_cmd+="tlsh -f '$input'; " ;;
    *) peer_cmd+="$t '$input'; " ;;
    esac
done
peer_t=$(cpu_best_of3 "${pin[@]}" sh -c "$peer_cmd")
peer=$(mbps "$peer_t")
echo "peer: ${peer_tools[*]} one after the other: ${peer_t} s CPU, $peer MB/s"
peer3_t=$(cpu_best_of3 "${pin[@]}" sh -c "md5sum '$input'; sha1sum '$input'; sha256sum '$input'")
peer3=$(mbps "$peer3_t")
echo "peer (the 3 cryptographic digests only): md5sum sha1sum sha256sum: ${peer3_t} s CPU, $peer3 MB/s"

out=$("${pin[@]}" "$bench" "$input" 3 2>/dev/null || "$bench" "$input" 3)
echo "$out" | while read -r mode t mbs; do echo "kansoku (1 core): $mode: $t s CPU, $mbs MB/s"; done
ks3=$(echo "$out" | awk '$1 == "md5+sha1+sha256" {print $3}')
ks_all=$(echo "$out" | awk '$1 == "all(+ssdeep+tlsh)" {print $3}')
echo "each hash alone (in memory, 64 KiB pieces): ns/byte, MB/s"
"${pin[@]}" "$bench" --each "$input" 2 | sed 's/^/  /'
rm -f "$input"
echo "ratio md5+sha1+sha256 vs the 3-tool peer: $(echo "scale=2; $ks3 / $peer3" | bc -l)"
target=met
[ "$(echo "$ks_all < 200" | bc -l)" = 1 ] && target="NOT met"
echo "all hashes: $ks_all MB/s on one core (target >= 200 MB/s: $target)"
echo "RESULT samples all_hashes_MBps kansoku=$ks_all peer=$peer ratio=$(echo "scale=2; $ks_all / $peer" | bc -l)"
