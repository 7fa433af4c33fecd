#!/bin/sh
# gen.sh -- N raw rows of a quarter generated inside a two-shard ClickHouse cluster, with the
# rollups kansoku's ingest writes for them (bench/clickhouse/run.sh; bench/README.md).
#
#   gen.sh URL1 URL2 DB N SEED ID0
#
# URL1/URL2: the shards' HTTP interfaces (http://127.0.0.1:PORT/); DB: a database kansoku made
# (its schema, version 14); N raw rows (60 % honeypot sessions, 20 % SQL-injection detections,
# 15 % mail messages, 5 % SPF checks over 2008-04-01..06-30 JST, in time order, heavy-tailed
# sources: the distributions of bench_clickhouse quarter) written by `INSERT ... SELECT ... FROM
# numbers()` on each shard into its local tables, half each (even rows to shard 1, odd to
# shard 2); inputs of 4 million rows numbered from ID0, marked complete. Then each shard's
# rollups from its own raw rows, per input, as `GROUP BY` of the rollups[] list of
# src/store/schema.c (keys as text, as the ingest makes them; coarse buckets summed from fine
# ones); run.sh checks at a small N that they equal what `kansoku db import` of the same rows
# writes.
set -eu
[ $# -eq 6 ] || { sed -n 4,5p "$0" >&2; exit 2; }
U1=$1 U2=$2 DB=$3 N=$4 SEED=$5 ID0=$6
T0=1207000800000000                 # 2008-04-01T00:00:00+09:00
SPAN=$((91 * 86400000000))
PER=4000000                        # rows per input

sql() { # $1 url, $2 statement (a failure also ends the script when run in the background)
    curl -sfS "$1" --data-binary "$2" || { echo "gen.sh: failed: $2" >&2; exit 1; }
}
fail=0

# One shard's rows: i = 2k + shard, r = a 64-bit hash of (i, seed).
rows() { # $1 shard (0 or 1), $2 the kind's condition on i % 20, $3 the columns
    echo "SELECT $3 FROM (SELECT i, r, toInt64($T0 + floor(i / $N * $SPAN) + r % 1000000) AS ts,"
    echo " toInt64($ID0 + intDiv(i, $PER)) AS input_id, toUInt32(intDiv(i % $PER, 1000000)) AS ks_batch,"
    echo " IPv4NumToString(toUInt32(3323068416 + intDiv(bitAnd(bitShiftRight(r, 20), 65535) *"
    echo " bitAnd(bitShiftRight(r, 20), 65535), 65536))) AS src FROM (SELECT number * 2 + $1 AS i,"
    echo " cityHash64(number * 2 + $1, $SEED) AS r FROM numbers($(((N + 1 - $1) / 2)))) WHERE $2)"
}

HP="input_id, ks_batch, ts, ts + 2000000 AS end, concat('s', toString(bitShiftRight(r, 8) % 8))\
 AS sensor, if(bitShiftRight(r, 50) % 8 != 0, 'tcp', 'udp') AS proto, src AS source,\
 toInt64(1024 + bitShiftRight(r, 33) % 60000) AS sport, toInt64([445, 135, 139, 1433, 22, 80,\
 3389, 23, 1026, 5900, 137, 8080][bitShiftRight(r, 40) % 12 + 1]) AS port,\
 toInt64(bitShiftRight(r, 45) % 1500) AS bytes, 'syn' AS reason"
SQ="input_id, ks_batch, ts, src AS source, 'www.example.jp' AS host, 'GET' AS method,\
 '/index.php' AS path, 'id' AS field, ['union-select', 'or-1-1', 'sleep', 'benchmark',\
 'stacked', 'comment', 'xp_cmdshell', 'information_schema'][bitShiftRight(r, 40) % 8 + 1] AS\
 signature, '1 union select 1' AS value, '1+union+select+1' AS original, toInt64(2) AS\
 span_start, toInt64(14) AS span_end, toInt64(200) AS status"
ML="input_id, ks_batch, ts, concat('<$SEED.', toString(i), '@bench>') AS message_id,\
 if(bitShiftRight(r, 48) % 5 != 0, 'spam', 'ham') AS verdict, 'label' AS verdict_source,\
 src AS sender, 'helo.example' AS helo, ['CN', 'US', 'JP', 'KR', 'RU', 'BR', 'DE', 'TW', 'IN',\
 'VN', 'TR', 'PL', 'FR', 'GB', 'UA', 'IT'][bitShiftRight(r, 40) % 16 + 1] AS country,\
 toInt64(64496 + bitShiftRight(r, 52) % 16) AS asn, 'offer' AS subject, 'offer' AS subject_key,\
 '' AS url_domains, toInt64(0) AS urls, toInt64(0) AS attachments, ['none', 'pass', 'softfail',\
 'fail', 'neutral'][bitShiftRight(r, 44) % 5 + 1] AS spf, toInt64(2048) AS size, toInt64(0) AS\
 problems, 'date' AS time_source"
SP="input_id, ks_batch, ts, src AS client, if(bitShiftRight(r, 50) % 4 != 0, 'mailfrom', 'helo')\
 AS identity, 'example.com' AS domain, ['none', 'pass', 'softfail', 'fail',\
 'neutral'][bitShiftRight(r, 44) % 5 + 1] AS result, '' AS mechanism, toInt64(1) AS dns_lookups,\
 toInt64(0) AS void_lookups, '' AS problem"
C_HP="input_id, ks_batch, ts, end, sensor, proto, source, sport, port, bytes, reason"
C_SQ="input_id, ks_batch, ts, source, host, method, path, field, signature, value, original,\
 span_start, span_end, status"
C_ML="input_id, ks_batch, ts, message_id, verdict, verdict_source, sender, helo, country, asn,\
 subject, subject_key, url_domains, urls, attachments, spf, size, problems, time_source"
C_SP="input_id, ks_batch, ts, client, identity, domain, result, mechanism, dns_lookups,\
 void_lookups, problem"

for s in 0 1; do
    U=$U1
    [ $s = 1 ] && U=$U2
    sql "$U" "INSERT INTO $DB.honeypot_sessions_local ($C_HP) $(rows $s 'i % 20 < 12' "$HP")" &
    a=$!
    sql "$U" "INSERT INTO $DB.sqli_detections_local ($C_SQ) $(rows $s 'i % 20 >= 12 AND i % 20 < 16' "$SQ")" &
    b=$!
    wait $a || fail=1
    wait $b || fail=1
    sql "$U" "INSERT INTO $DB.mail_messages_local ($C_ML) $(rows $s 'i % 20 >= 16 AND i % 20 < 19' "$ML")" &
    a=$!
    sql "$U" "INSERT INTO $DB.spf_results_local ($C_SP) $(rows $s 'i % 20 = 19' "$SP")" &
    b=$!
    wait $a || fail=1
    wait $b || fail=1
done

[ $fail = 0 ] || { echo "gen.sh: the raw rows failed" >&2; exit 1; }

# The rollups: name | raw table (or rollup of it) | rollup table | bucket µs | sensor | k1 | k2 |
# measure (src/store/schema.c rollups[], for the four raw tables of the quarter). The first
# list reads the raw rows, input by input; the second (name | from table | rollup table | bucket
# | from rollup | sensor) derives coarser buckets, or fewer keys, from the rows of the same input
# (sums of whole sub-buckets or of all sensors: the same rows as from the raw rows).
H=3600000000 D=86400000000 M=60000000 Q=900000000
RAW="honeypot_sessions|honeypot_sessions|rollup_1m|$M|sensor|toString(port)|proto|toFloat64(bytes)
honeypot_sessions:source|honeypot_sessions|rollup_1h|$H|sensor|source|''|0.
sqli_detections|sqli_detections|rollup_15m|$Q|''|signature|''|0.
sqli_detections:source|sqli_detections|rollup_1h|$H|''|source|''|0.
mail_messages|mail_messages|rollup_15m|$Q|''|verdict|country|0.
mail_messages:spf|mail_messages|rollup_15m|$Q|''|spf|''|0.
mail_messages:sender|mail_messages|rollup_1h|$H|''|verdict|ifNull(sender, '')|0.
spf_results|spf_results|rollup_15m|$Q|''|identity|result|0."
DERIVED="honeypot_sessions|rollup_1m|rollup_15m|$Q|honeypot_sessions|sensor
honeypot_sessions|rollup_15m|rollup_1h|$H|honeypot_sessions|sensor
sqli_detections|rollup_15m|rollup_1h|$H|sqli_detections|sensor
mail_messages|rollup_15m|rollup_1h|$H|mail_messages|sensor
mail_messages:spf|rollup_15m|rollup_1h|$H|mail_messages:spf|sensor
spf_results|rollup_15m|rollup_1h|$H|spf_results|sensor
honeypot_sessions:source|rollup_1h|rollup_1d|$D|honeypot_sessions:source|sensor
honeypot_sessions:source_all|rollup_1h|rollup_1h|$H|honeypot_sessions:source|''
honeypot_sessions:source_all|rollup_1d|rollup_1d|$D|honeypot_sessions:source|''
sqli_detections:source|rollup_1h|rollup_1d|$D|sqli_detections:source|sensor
mail_messages:sender|rollup_1h|rollup_1d|$D|mail_messages:sender|sensor"
NIN=$(((N + PER - 1) / PER))
rollups() { # $1 url: that shard's rollups (as the ingest makes them: per input)
    in=$ID0
    while [ "$in" -lt $((ID0 + NIN)) ]; do
        echo "$RAW" | while IFS='|' read -r name raw dst b sen k1 k2 m; do
            sql "$1" "INSERT INTO $DB.${dst}_local (input_id, ks_batch, ts, src, sensor, k1, k2, n,\
 v) SELECT input_id, toUInt32(0), intDiv(ts, $b) * $b AS t, '$name', $sen AS a, $k1 AS b, $k2 AS\
 c, toInt64(count()), sum($m) FROM $DB.${raw}_local WHERE input_id = $in GROUP BY input_id, t,\
 a, b, c"
        done
        in=$((in + 1))
    done
    # In slices of 8 UTC days (whole buckets; the servers' 1.86 GiB per query bounds a GROUP BY).
    echo "$DERIVED" | while IFS='|' read -r name from dst b fsrc sen; do
        c=$((T0 / D * D))
        while [ $c -lt $((T0 + SPAN + D)) ]; do
            sql "$1" "INSERT INTO $DB.${dst}_local (input_id, ks_batch, ts, src, sensor, k1, k2,\
 n, v) SELECT input_id, toUInt32(0), intDiv(ts, $b) * $b AS t, '$name', $sen AS a, k1, k2,\
 sum(n), sum(v) FROM $DB.${from}_local WHERE src = '$fsrc' AND ts >= $c AND ts < $((c + 8 * D))\
 GROUP BY input_id, t, a, k1, k2"
            c=$((c + 8 * D))
        done
    done
}
rollups "$U1" &
a=$!
rollups "$U2" &
b=$!
wait $a || fail=1
wait $b || fail=1
[ $fail = 0 ] || { echo "gen.sh: the rollups failed" >&2; exit 1; }

# The inputs, complete (on the first node, as the store keeps them).
sql "$U1" "INSERT INTO $DB.inputs_local (id, sha256, size, name, kind, started, finished, status,\
 ks_ver) SELECT toInt64($ID0 + number), concat(lower(hex(cityHash64($SEED, number))),\
 lower(hex(cityHash64(number, $SEED)))), toInt64($SEED), concat('gen-$SEED-', toString(number)), 'bench',\
 toInt64(now()) * 1000000, toInt64(now()) * 1000000, 'complete', toUInt64(now()) * 1000000\
 FROM numbers($NIN)"
