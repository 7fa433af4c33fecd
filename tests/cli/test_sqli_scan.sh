#!/bin/sh
# kansoku sqli scan / stats: a generated access log with benign traffic, three campaigns
# (data theft, database overload, defacement) and hostile lines (binary, huge, invalid
# percent-encoding): detections, the store, statistics and campaign classes.
. "$(dirname "$0")/lib.sh"

FMT='%v %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"'
LOG=$TMP/access.log
awk 'BEGIN {
    ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)";
    split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ");
    t0 = 1212278400;   # 2008-06-01T00:00:00Z
    n = 0;
    # benign: 400 requests over two days
    for (i = 0; i < 400; i++) {
        ev[n++] = sprintf("%d\tshop.example\t10.0.%d.%d\tGET /item.php?id=%d&cat=books&q=o%%27reilly+guide HTTP/1.1\t200", t0 + i * 400, i % 7, i % 50 + 1, i);
    }
    # data theft: one source, one target, two short bursts of 40 requests in a minute
    for (b = 0; b < 2; b++) for (i = 0; i < 40; i++)
        ev[n++] = sprintf("%d\tshop.example\t198.51.100.10\tGET /item.php?id=-1+union+select+card_no,cvv,%d+from+cards-- HTTP/1.1\t200", t0 + 7200 + b * 5400 + i, i);
    # database overload: 40 sources, one target, each an hour apart over 30 hours
    for (s = 1; s <= 40; s++) for (h = 0; h < 4; h++)
        ev[n++] = sprintf("%d\tdb.example\t203.0.113.%d\tGET /search.asp?q=1%%27;waitfor+delay+%%270:0:30%%27-- HTTP/1.1\t500", t0 + 3600 + ((s * 4 + h) * 677) % 108000, s);
    # defacement: one source sweeping 20 servers
    for (s = 1; s <= 20; s++) for (i = 0; i < 3; i++)
        ev[n++] = sprintf("%d\tsite%d.example\t192.0.2.66\tGET /news.php?id=1;update+pages+set+body=char(60,104,49)-- HTTP/1.1\t200", t0 + 50000 + s * 60 + i, s);
    for (i = 0; i < n; i++) {
        split(ev[i], f, "\t");
        t = f[1] - t0;
        d = 1 + int(t / 86400); r = t % 86400;
        printf "%s %s - - [%02d/Jun/2008:%02d:%02d:%02d +0000] \"%s\" %s 512 \"-\" \"%s\"\n", f[2], f[3], d, int(r / 3600), int(r % 3600 / 60), r % 60, f[4], f[5], ua;
    }
}' >"$LOG"
# hostile lines: binary garbage, a 2 MB line, invalid percent-encoding, a truncated line
printf 'x.example 10.9.9.9 - - [01/Jun/2008:00:00:00 +0000] "GET /\001\002 HTTP/1.1" 200 1 "-" "-"\n' >>"$LOG"
{
    printf 'x.example 10.9.9.8 - - [01/Jun/2008:00:00:00 +0000] "GET /a?q='
    head -c 2100000 /dev/zero | tr '\0' 'A'
    printf '" 200 1 "-" "-"\n'
} >>"$LOG"
printf 'x.example 10.9.9.7 - - [01/Jun/2008:00:00:01 +0000] "GET /p.php?a=%%zz%%2&b=%%u00 HTTP/1.1" 200 1 "-" "-"\n' >>"$LOG"
printf 'x.example 10.9.9.6 - - [01/Jun/2008:00:00:01 +0000] "GET /trunc\n' >>"$LOG"

check "scan runs (text)" "$KANSOKU" sqli scan --format "$FMT" "$LOG"
cp "$TMP/.out" "$TMP/text.txt"
check_grep "theft detected as UNION SELECT" 'HTTP_GET_SQL_UnionSelect' cat "$TMP/text.txt"
check_grep "overload detected as time delay" 'SQL_Time_Delay' cat "$TMP/text.txt"
check_grep "defacement detected as char()" 'URL_Data_SQL_char' cat "$TMP/text.txt"
check "no false positive on o'reilly" sh -c "! grep -q 'q=o' '$TMP/.out' && ! grep -q '10\\.0\\.' '$TMP/.out'"
"$KANSOKU" sqli scan --format "$FMT" "$LOG" >/dev/null 2>"$TMP/err.txt"
check_grep "binary line counted" '1 binary' cat "$TMP/err.txt"
check_grep "huge line counted" '1 too long' cat "$TMP/err.txt"
check_grep "huge line reported with file:line" 'access.log: line [0-9]+.*longer than' cat "$TMP/err.txt"
check_grep "invalid percent-encoding counted" '[1-9][0-9]* invalid %-escapes' cat "$TMP/err.txt"
check_grep "bad line counted" '1 bad' cat "$TMP/err.txt"

check "scan --json" "$KANSOKU" sqli scan --json -q --format "$FMT" --log "$LOG"
cp "$TMP/.out" "$TMP/json.txt"
check_grep "json has span and field" '"field":"query:id".*"span":\[[0-9]+,[0-9]+\]' cat "$TMP/json.txt"
check_grep "json keeps the original" '"original":"1%27;waitfor\+delay' cat "$TMP/json.txt"

DB=$TMP/s.db
check "scan into the store" "$KANSOKU" sqli scan -q --db "$DB" --format "$FMT" "$LOG"
check_grep "same log again is skipped" 'already' sh -c "'$KANSOKU' sqli scan --db '$DB' --format '$FMT' '$LOG' 2>&1 >/dev/null"
check "stats" "$KANSOKU" sqli stats --db "$DB" --geo-dir "$TMP/nogeo"
cp "$TMP/.out" "$TMP/stats.txt"
check_grep "per day by signature" '^2008-06-01  HTTP_GET_SQL_UnionSelect +80$' cat "$TMP/stats.txt"
check "stats --json" "$KANSOKU" sqli stats --db "$DB" --json -q --geo-dir "$TMP/nogeo"
cp "$TMP/.out" "$TMP/stats.json"
check_grep "campaign data theft" '"class":"data_theft".*"top_source":"198.51.100.10"' cat "$TMP/stats.json"
check_grep "campaign db overload" '"class":"db_overload".*"sources":40' cat "$TMP/stats.json"
check_grep "campaign defacement" '"class":"defacement".*"targets":20' cat "$TMP/stats.json"
check_grep "features explain" '"features":"sources=1 targets=20' cat "$TMP/stats.json"
check_out "period filter" 0 sh -c "'$KANSOKU' sqli stats --db '$DB' --json -q --from 2009-01-01 --geo-dir '$TMP/nogeo' | wc -l | tr -d ' '"
check_exit 2 "bad format is a usage error" "$KANSOKU" sqli scan --format '%h %{x' "$LOG"
check_exit 1 "missing log fails" "$KANSOKU" sqli scan "$TMP/missing.log"
finish
