#!/bin/sh
# kansoku anomaly: a small simulated quarter is ingested and the planted July traffic drop (P2P
# clients rebooted by an OS update, 2008-07-09..11 JST) is found, stored, and found once only.
. "$KS_SRCDIR/tests/cli/lib.sh"

D=$TMP/q
export KANSOKU_DB="$TMP/q.db"

check_exit 2 "an unknown option is a usage error" "$KANSOKU" anomaly --nope
check_exit 2 "a bad date is a usage error" "$KANSOKU" anomaly --from 2008-13-01
check_exit 2 "--to before --from is a usage error" "$KANSOKU" anomaly --from 2008-08-01 --to 2008-07-01
check_exit 2 "a bad k is a usage error" "$KANSOKU" anomaly --k 0
check_grep "help names the options" "--min-rel" "$KANSOKU" anomaly --help
check_grep "the named series are listed" "^darknet.packets$" "$KANSOKU" anomaly --list

check_exit 1 "--no-store on a missing store fails" "$KANSOKU" anomaly --no-store --db "$TMP/none.db"
check_out "an empty store has no alert" "" "$KANSOKU" anomaly --json --db "$TMP/empty.db"
check "the quarter is simulated" "$KANSOKU" simulate -q --seed 20080601 --scale 0.01 \
    --no-mail-history --parts series,darknet -o "$D"
check "the traffic series is ingested" "$KANSOKU" db import -q --table series "$D/series/traffic.csv"
tail -n +2 "$D/darknet/sensors.csv" | while IFS=, read -r sensor prefix; do
    "$KANSOKU" darknet -q -r "$D/darknet/$sensor.pcap" --sensor "$sensor" --monitored "$prefix" \
        --tz-offset +09:00 >/dev/null 2>&1
done

check_grep "the July drop is found" \
    '"start":"2008-07-08T15:00:00Z","end":"2008-07-11T15:00:00Z".*"metric":"traffic_mbps".*"direction":"drop"' \
    "$KANSOKU" anomaly --json --from 2008-06-01 --to 2008-08-31
check_grep "its relative size is about -40 %" '"rel_change":-0\.(3[5-9]|4[0-5])' \
    "$KANSOKU" anomaly --json --metric traffic_mbps --no-store
check_out "it is the only traffic alert" "1" sh -c \
    "'$KANSOKU' anomaly --json --metric traffic_mbps --no-store | grep -c '\"metric\":\"traffic_mbps\"'"
check_out "a sensor filter that matches nothing gives nothing" "" \
    "$KANSOKU" anomaly --json --sensor nowhere --no-store
check "the same scope again" "$KANSOKU" anomaly -q --from 2008-06-01 --to 2008-08-31
q="SELECT count(*) FROM anomalies JOIN inputs ON inputs.id = anomalies.input_id AND inputs.status = 'complete' WHERE metric = 'traffic_mbps' AND direction = 'drop'"
if command -v sqlite3 >/dev/null 2>&1; then
    check_out "a re-run of a scope replaces it: stored once" "1" sqlite3 "$KANSOKU_DB" "$q"
else
    echo "# sqlite3 is not installed: the stored-once check is skipped"
fi
check_grep "db info lists the anomalies table" "anomalies" "$KANSOKU" db info

# Bad input: gaps, NaN and a constant zero series do not crash and do not alert.
{
    echo "ts,sensor,metric,key,value"
    i=0
    while [ $i -lt 600 ]; do
        t=$((1212278400000000 + i * 3600000000))
        echo "$t,bad,zero,,0"
        [ $((i % 50)) -eq 7 ] || echo "$t,bad,gappy,,100"
        i=$((i + 1))
    done
    echo "1212278400000000,bad,nan,,NaN"
} >"$TMP/bad.csv"
"$KANSOKU" db import -q --table series "$TMP/bad.csv" --db "$TMP/bad.db" 2>/dev/null
check_out "gaps and constant zero give no alert" "" "$KANSOKU" anomaly --json --no-store --db "$TMP/bad.db"
finish
