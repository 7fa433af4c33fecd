#!/bin/sh
# kansoku sqli check: output formats, corpus escapes, TSV summary, and bad input.
. "$(dirname "$0")/lib.sh"

check_grep "sqli help lists verbs" '^Usage: kansoku sqli' "$KANSOKU" sqli --help
check_grep "sqli help names check" 'check \[FILE\]' "$KANSOKU" sqli --help
check_grep "check help" '^Usage: kansoku sqli check' "$KANSOKU" sqli check --help
check_exit 2 "no verb is a usage error" "$KANSOKU" sqli
check_exit 2 "unknown verb is a usage error" "$KANSOKU" sqli frobnicate
check_exit 2 "unknown option is a usage error" "$KANSOKU" sqli check --frob
check_exit 1 "missing file fails" "$KANSOKU" sqli check "$TMP/nonexistent"
check_exit 1 "unreadable rules fail" "$KANSOKU" sqli check --rules "$TMP/none.conf" /dev/null

printf "1 union select 1,2--\nhello world\nx' or 'a'='a\n" >"$TMP/in.txt"
check_out "one verdict per line" "$(printf '1\tHTTP_GET_SQL_UnionSelect,SQL_Injection\n0\n1\tSQL_Injection')" \
    "$KANSOKU" sqli check "$TMP/in.txt"
check_out "stdin works" "0" sh -c "echo 'maria del carmen' | '$KANSOKU' sqli check"
check_out "POST method changes the named signature" \
    "$(printf '1\tHTTP_POST_SQL_Select_Count,SQL_Injection')" \
    sh -c "echo '1 and (select count(*) from t)>0' | '$KANSOKU' sqli check --method POST"
check_out "generic only" "$(printf '1\tSQL_Injection')" \
    sh -c "echo '1 union select 1' | '$KANSOKU' sqli check --no-rules"
check_grep "json output" '"injection":true.*"signatures":\["HTTP_GET_SQL_UnionSelect","SQL_Injection"\]' \
    "$KANSOKU" sqli check --json "$TMP/in.txt"

# corpus escapes: \t \\ \xHH
printf 'x\\x27 or \\x271\\x27=\\x271\n' >"$TMP/esc.txt"
check_out "unescape decodes \\xHH" "$(printf '1\tURL_Data_SQL_1equal1,SQL_Injection')" \
    "$KANSOKU" sqli check --unescape "$TMP/esc.txt"
printf 'bad \\q escape and \\x4\n' >"$TMP/badesc.txt"
check_out "invalid escapes are kept, not fatal" "0" "$KANSOKU" sqli check --unescape "$TMP/badesc.txt"

printf "1\tx' or 1=1--\n0\thello\n0\tDO OR NOT DO\n1\t1 and sleep(5)\nnolabel\n" >"$TMP/c.tsv"
check_grep "tsv summary" '^TP 2 FN 0 FP 0 TN 2$' "$KANSOKU" sqli check --tsv "$TMP/c.tsv"
check_grep "tsv show errors" '^detection 100.00% false-positive 0.000%$' \
    "$KANSOKU" sqli check --tsv --show-errors "$TMP/c.tsv"

# bad input: binary garbage, a line of megabytes, NUL bytes, CRLF
head -c 200000 /dev/urandom >"$TMP/garbage.bin"
check "binary garbage is not fatal" "$KANSOKU" sqli check -q "$TMP/garbage.bin"
awk 'BEGIN { printf "1 union select "; for (i = 0; i < 300000; i++) printf "a,"; printf "1\nshort\n" }' \
    >"$TMP/huge.txt"
check_out "a line of megabytes is cut, counted, and the next line read" \
    "$(printf '1\tHTTP_GET_SQL_UnionSelect,SQL_Injection\n0')" "$KANSOKU" sqli check -q --max-len 65536 "$TMP/huge.txt"
printf 'un\000ion\r\nplain\r\n' >"$TMP/crlf.txt"
check_out "NUL and CRLF" "$(printf '0\n0')" "$KANSOKU" sqli check "$TMP/crlf.txt"

# compiled rule databases are cached between runs; a damaged cache is rebuilt
cache="$TMP/cache"
KANSOKU_CACHE_DIR="$cache" "$KANSOKU" sqli check "$TMP/in.txt" >"$TMP/first.txt"
check_grep "the cache holds the compiled databases" '^[2-9]$' sh -c "ls '$cache' | grep -c '^sqli-.*\.hsdb$'"
check_out "a cached run gives the same verdicts" "$(cat "$TMP/first.txt")" \
    env KANSOKU_CACHE_DIR="$cache" "$KANSOKU" sqli check "$TMP/in.txt"
for f in "$cache"/sqli-*.hsdb; do printf 'garbage' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null; done
check_out "a damaged cache is compiled again" "$(cat "$TMP/first.txt")" \
    env KANSOKU_CACHE_DIR="$cache" "$KANSOKU" sqli check "$TMP/in.txt"
check_out "KANSOKU_CACHE_DIR empty turns the cache off" "$(cat "$TMP/first.txt")" \
    env KANSOKU_CACHE_DIR= "$KANSOKU" sqli check "$TMP/in.txt"

if [ -r "$KS_TESTDATA/sqli/libinjection_sqli.tsv" ]; then
    check_grep "corpus file through the CLI" '^detection (9[89]|100)\.' \
        "$KANSOKU" sqli check --tsv "$KS_TESTDATA/sqli/httpparams_sqli.tsv"
fi
finish
