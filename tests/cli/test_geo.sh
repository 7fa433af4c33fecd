#!/bin/sh
# kansoku geo: lookups with the installed data (skipped when absent), bad input, missing data.
. "$KS_SRCDIR/tests/cli/lib.sh"

# Missing data: one clear message naming the directory and what to do, "--" answers, exit 1.
check_err "missing data is explained and fails" 1 \
    "$TMP/nogeo: no geolocation data .*scripts/install-deps" \
    "$KANSOKU" geo --geo-dir "$TMP/nogeo" 202.232.2.1
check_err "missing data still answers --" 1 "" "$KANSOKU" geo --geo-dir "$TMP/nogeo" 202.232.2.1
if grep -Eq '^202\.232\.2\.1 +-- +- +-$' "$TMP/.out"; then ok "missing data gives --"
else not_ok "missing data gives --" "stdout: $(cat "$TMP/.out")"; fi
check_err "missing data named in --info" 1 "no geolocation data" \
    "$KANSOKU" geo --info --geo-dir "$TMP/nogeo"
check_exit 2 "unknown option is a usage error" "$KANSOKU" geo --no-such-option
check_err "an unknown option is named" 2 "unknown option '--no-such-option'" \
    "$KANSOKU" geo --no-such-option
check_err "--geo-dir=DIR is DIR, as --geo-dir DIR" 1 "geo: $TMP/nogeo: no geolocation data" \
    "$KANSOKU" geo --geo-dir="$TMP/nogeo" 202.232.2.1
check_err "the same in a capture command" 2 "unknown option '--no-such-option'" \
    "$KANSOKU" ddos detect --no-such-option
check_grep "help" "kansoku geo" "$KANSOKU" geo --help

# A damaged country file is named.
mkdir -p "$TMP/bad"
echo "not a database" >"$TMP/bad/geo-whois-asn-country.mmdb"
check_err "corrupt mmdb is named" 1 "bad/geo-whois-asn-country.mmdb: corrupt file" \
    "$KANSOKU" geo --geo-dir "$TMP/bad" 8.8.8.8

# geo build: an AS table from a small CSV, used without the country file.
printf '202.232.0.0,202.232.255.255,2497,"Internet Initiative Japan Inc."\nbad line\n' \
    >"$TMP/asn.csv"
mkdir -p "$TMP/built"
check_grep "geo build" "1 IPv4 \\+ 0 IPv6 ranges, 2 records, 1 bad lines" \
    "$KANSOKU" geo build --geo-dir "$TMP/built" "$TMP/asn.csv"
check_err "built table answers, country missing" 1 "geo-whois-asn-country.mmdb: not found" \
    "$KANSOKU" geo --geo-dir "$TMP/built" 202.232.2.1
if grep -Eq '^202\.232\.2\.1 +-- +AS2497 +Internet Initiative Japan Inc\.$' "$TMP/.out"; then
    ok "built table gives AS2497"
else not_ok "built table gives AS2497" "stdout: $(cat "$TMP/.out")"; fi

# With the installed data.
dir=${KANSOKU_GEO_DIR:-}
if [ -z "$dir" ]; then
    dir=$("$KANSOKU" geo --info 2>/dev/null | sed -n 's/^data directory: //p')
fi
if [ ! -s "$dir/geo-whois-asn-country.mmdb" ] || [ ! -s "$dir/asn.kstab" ]; then
    finish || exit 1
    skip "no geolocation data in '$dir' (scripts/install-geo installs it); data checks skipped"
fi
export KANSOKU_GEO_DIR="$dir"
check_grep "table: 202.232.2.1 is JP AS2497" '^202\.232\.2\.1 +JP +AS2497 +Internet Initiative' \
    "$KANSOKU" geo 202.232.2.1
check_out "json: 202.232.2.1" \
    '{"ip":"202.232.2.1","country":"JP","asn":2497,"org":"Internet Initiative Japan Inc."}' \
    "$KANSOKU" geo --json 202.232.2.1
check_grep "ipv6 2001:240::1 is JP AS2497" '^2001:240::1 +JP +AS2497' "$KANSOKU" geo 2001:240::1
check_grep "private address is --" '^192\.168\.1\.1 +-- +- +-$' "$KANSOKU" geo 192.168.1.1
check_err "invalid IP is named, exit 1" 1 "'not-an-ip': not an IP address" \
    "$KANSOKU" geo 8.8.8.8 not-an-ip 202.232.2.1
if grep -q '^8\.8\.8\.8 ' "$TMP/.out" && grep -q '^202\.232\.2\.1 ' "$TMP/.out"; then
    ok "invalid IP: the others are still looked up"
else not_ok "invalid IP: the others are still looked up" "stdout: $(cat "$TMP/.out")"; fi
printf '8.8.8.8\n\n  202.232.2.1  \n' >"$TMP/ips"
check_grep "stdin, one address a line" '^202\.232\.2\.1 +JP' sh -c '"$KANSOKU" geo <"$1"' sh "$TMP/ips"
check_grep "--info lists the files" '^  version: 2\.3\.' "$KANSOKU" geo --info
finish
