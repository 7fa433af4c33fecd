#!/bin/sh
# kansoku bgp: dump agrees with Debian's bgpdump -m line for line on every MRT file of
# testdata/bgp; watch finds the hijacks and MOAS counts of testdata/bgp/GROUND_TRUTH.md;
# damaged input is counted, a truncated file ends with an error naming the offset.
. "$(dirname "$0")/lib.sh"

D="${KS_TESTDATA:-}/bgp"
[ -d "$D/ripe-bgpdump" ] || skip "testdata/bgp absent ($D)"

check_grep "help lists the verbs" "watch" "$KANSOKU" bgp --help
check_grep "dump --help" "bgpdump -m" "$KANSOKU" bgp dump --help
check_grep "watch --help" "subprefix" "$KANSOKU" bgp watch --help
check_exit 2 "dump without a file is a usage error" "$KANSOKU" bgp dump
check_exit 2 "watch without expectations is a usage error" "$KANSOKU" bgp watch x.mrt

# --- dump vs bgpdump -m -------------------------------------------------------------------------
if command -v bgpdump >/dev/null 2>&1; then
    for f in "$D"/ripe-bgpdump/*.gz "$D"/mrtparse-samples/*; do
        [ -f "$f" ] || continue
        b=$(basename "$f")
        bgpdump -q -v -m "$f" >"$TMP/want" 2>/dev/null
        if ! "$KANSOKU" bgp dump -q "$f" >"$TMP/got" 2>"$TMP/.err"; then
            not_ok "dump $b" "exit status non-zero"
        elif cmp -s "$TMP/want" "$TMP/got"; then
            ok "dump $b = bgpdump -m ($(wc -l <"$TMP/got") lines)"
        else
            not_ok "dump $b = bgpdump -m" "$(diff "$TMP/want" "$TMP/got" | head -6)"
        fi
    done
else
    echo "skip: bgpdump absent (apt-get install bgpdump): no comparison with the reference"
fi

# the trap of GROUND_TRUTH: host bits are printed as in the file, cleared for matching
check_grep "nlri with host bits: printed as in the file" '\|11\.13\.0\.0/13\|' \
    "$KANSOKU" bgp dump "$D/ripe-bgpdump/updates.nlri_mask_trailing_bits.gz"
check_grep "json elements: prefix masked" '"prefix":"11\.8\.0\.0/13"' \
    "$KANSOKU" bgp dump --json "$D/ripe-bgpdump/updates.nlri_mask_trailing_bits.gz"
check_grep "json: ADD-PATH path_id" '"path_id":36' \
    "$KANSOKU" bgp dump --json "$D/ripe-bgpdump/bview.ipv4_unicast_add_path.gz"
check_grep "json: AS_SET origin is null" '"as_path":"[^"]*\{[0-9,]+\}","origin_as":null' \
    "$KANSOKU" bgp dump --json "$D/ripe-bgpdump/updates.20070211.0141.gz"
check_out "unsupported record (BGP4MP_ENTRY) prints nothing, exit 0" "" \
    "$KANSOKU" bgp dump "$D/mrtparse-samples/openbgpd_rib_table-mp"

# --- damaged input --------------------------------------------------------------------------------
gzip -dc "$D/ripe-bgpdump/updates.20020722.2238.gz" >"$TMP/upd.mrt"
size=$(wc -c <"$TMP/upd.mrt")
head -c $((size / 2 + 7)) "$TMP/upd.mrt" >"$TMP/cut.mrt"
check_err "truncated file: exit 1, error names the offset" 1 'offset [0-9]+: truncated' \
    "$KANSOKU" bgp dump "$TMP/cut.mrt"
full=$("$KANSOKU" bgp dump "$TMP/upd.mrt" | wc -l)
cut=$("$KANSOKU" bgp dump "$TMP/cut.mrt" 2>/dev/null | wc -l)
if [ "$cut" -gt 1000 ] && [ "$cut" -lt "$full" ]; then ok "truncated file keeps what was read ($cut of $full lines)";
else not_ok "truncated file keeps what was read" "$cut of $full lines"; fi
# a record with a bad BGP marker, then a good one: counted, skipped, not fatal
printf '\000\000\000\001\000\020\000\001\000\000\000\043\000\001\000\002\000\000\000\001\001\002\003\004\005\006\007\010' >"$TMP/bad.mrt"
printf '\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\023\004' >>"$TMP/bad.mrt"
cat "$TMP/upd.mrt" >>"$TMP/bad.mrt"
check_err "malformed record: counted with its offset, exit 0" 0 'offset 0\).*skipped' \
    "$KANSOKU" bgp dump "$TMP/bad.mrt"
check_out "malformed record: the records after it are read" "$full" \
    sh -c "'$KANSOKU' bgp dump -q '$TMP/bad.mrt' | wc -l"
gzip -c "$TMP/upd.mrt" >"$TMP/upd.mrt.gz"
bzip2 -c "$TMP/upd.mrt" >"$TMP/upd.mrt.bz2"
cat "$TMP/upd.mrt.bz2" "$TMP/upd.mrt.bz2" >"$TMP/two.bz2"
check_out "gzip input" "$full" sh -c "'$KANSOKU' bgp dump '$TMP/upd.mrt.gz' | wc -l"
check_out "bzip2 input" "$full" sh -c "'$KANSOKU' bgp dump '$TMP/upd.mrt.bz2' | wc -l"
check_out "concatenated bzip2 streams" "$((full * 2))" sh -c "'$KANSOKU' bgp dump '$TMP/two.bz2' | wc -l"
check_out "stdin" "$full" sh -c "'$KANSOKU' bgp dump - <'$TMP/upd.mrt' | wc -l"
check_out "gzip through a pipe" "$full" sh -c "cat '$TMP/upd.mrt.gz' | '$KANSOKU' bgp dump - | wc -l"
check_out "bzip2 through a pipe" "$full" sh -c "cat '$TMP/upd.mrt.bz2' | '$KANSOKU' bgp dump - | wc -l"
head -c 20000 "$D/ripe-bgpdump/updates.20070211.0141.gz" >"$TMP/cut.gz"
check_err "gzip cut short: exit 1, truncated at an offset" 1 'offset [0-9]+: truncated' \
    "$KANSOKU" bgp dump "$TMP/cut.gz"

# --- watch: RIB baseline vs the updates of the same day (GROUND_TRUTH.md) -------------------------
"$KANSOKU" bgp watch --json --rib "$D/ripe-bgpdump/bview.20020722.2337.gz" \
    "$D/ripe-bgpdump/updates.20020722.2238.gz" >"$TMP/w.json" 2>"$TMP/.err"
n_origin=$(grep -c '"event":"raise","type":"origin"' "$TMP/w.json")
n_sub=$(grep -c '"event":"raise","type":"subprefix"' "$TMP/w.json")
if [ "$n_origin" = 1 ] && grep -q '"type":"origin","prefix":"210.80.60.0/24","origin_as":9908,"expected_prefix":"210.80.60.0/24","expected_origins":\[9513\]' "$TMP/w.json";
then ok "watch: 1 exact-prefix origin change (210.80.60.0/24 by 9908, expected 9513)";
else not_ok "watch: 1 exact-prefix origin change" "got $n_origin"; fi
if [ "$n_sub" = 12 ]; then ok "watch: 12 more-specifics with a new origin (sub-prefix)";
else not_ok "watch: 12 sub-prefix alerts" "got $n_sub"; fi
check_grep "watch: 193.101.188.0/24 by 705 under 193.96.0.0/13 (702)" \
    '"type":"subprefix","prefix":"193.101.188.0/24","origin_as":705,"expected_prefix":"193.96.0.0/13","expected_origins":\[702\]' \
    cat "$TMP/w.json"

# allow-list: the customer more-specifics of 702 under 193.96.0.0/13 are not alerts
printf '193.96.0.0/13 705 24\n' >"$TMP/allow.txt"
"$KANSOKU" bgp watch --json --rib "$D/ripe-bgpdump/bview.20020722.2337.gz" --allow "$TMP/allow.txt" \
    "$D/ripe-bgpdump/updates.20020722.2238.gz" >"$TMP/w2.json" 2>"$TMP/.err"
n_sub2=$(grep -c '"event":"raise","type":"subprefix"' "$TMP/w2.json")
if [ "$n_sub2" = 9 ]; then ok "watch: allow-list removes the 3 customer more-specifics";
else not_ok "watch: allow-list" "got $n_sub2 sub-prefix alerts"; fi

# MOAS counts per file (GROUND_TRUTH.md; AS_SET origins are not origins: 2007-02-11 has 6, the
# 7th of the table being an AS_SET pair)
printf '# none\n' >"$TMP/none.txt"
for pair in updates.20020722.2238.gz:1 updates.20070211.0141.gz:6 updates.20071015.1505.gz:1 \
    updates.20100722.2015.gz:1 updates.20160811.1600.gz:20 bview.20020722.2337.gz:4; do
    f=${pair%%:*} want=${pair##*:}
    check_grep "watch: $f has $want MOAS prefixes" "\"moas_prefixes\":$want[,}]" \
        "$KANSOKU" bgp watch --json -v --expect "$TMP/none.txt" "$D/ripe-bgpdump/$f"
done
check_grep "watch: bird lab MOAS 172.17.x.0/24 (3 prefixes)" '"moas_prefixes":3[,}]' \
    "$KANSOKU" bgp watch --json -v --expect "$TMP/none.txt" "$D/mrtparse-samples/bird-mrtdump_bgp"

# expectation formats: RPSL and ROA CSV
cat >"$TMP/irr.txt" <<'EOF'
route:      210.80.60.0/24
descr:      test
origin:     AS9513
source:     TEST

route6:     2001:db8::/32
origin:     AS64500
EOF
check_grep "watch --expect RPSL" '"type":"origin","prefix":"210.80.60.0/24","origin_as":9908' \
    "$KANSOKU" bgp watch --json --expect "$TMP/irr.txt" "$D/ripe-bgpdump/updates.20020722.2238.gz"
printf 'ASN,IP Prefix,Max Length,Trust Anchor\nAS9513,210.80.0.0/16,24,ripe\n' >"$TMP/roa.csv"
check_grep "watch --expect ROA CSV (maxLength covers /24, origin differs)" \
    '"type":"subprefix","prefix":"210.80.60.0/24","origin_as":9908,"expected_prefix":"210.80.0.0/16"' \
    "$KANSOKU" bgp watch --json --expect "$TMP/roa.csv" "$D/ripe-bgpdump/updates.20020722.2238.gz"

# the store
check "watch writes bgp_alerts into the store" "$KANSOKU" bgp watch -q --db "$TMP/k.db" \
    --expect "$TMP/irr.txt" "$D/ripe-bgpdump/updates.20020722.2238.gz"
if command -v sqlite3 >/dev/null 2>&1; then
    check_out "bgp_alerts row" "origin|9908|9513" sqlite3 "$TMP/k.db" \
        "select type, origin_as, expected_origins from bgp_alerts"
fi

finish
