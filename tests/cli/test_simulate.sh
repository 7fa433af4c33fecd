#!/bin/sh
# kansoku simulate: a short period at a small scale is written, bounded in size, the same for
# the same seed, and accepted by every analyzer this build has.
. "$KS_SRCDIR/tests/cli/lib.sh"

has_verb() { "$KANSOKU" "$@" --help >/dev/null 2>&1; }
D=$TMP/q
ARGS="--from 2008-08-05 --to 2008-08-06 --scale 0.02 --no-mail-history"

check_exit 2 "missing -o is a usage error" "$KANSOKU" simulate --seed 1
check_exit 2 "a bad date is a usage error" "$KANSOKU" simulate --from 2008-13-01 -o "$TMP/x"
check_exit 2 "a bad scale is a usage error" "$KANSOKU" simulate --scale 0 -o "$TMP/x"
check_exit 2 "an unknown part is a usage error" "$KANSOKU" simulate --parts nope -o "$TMP/x"
check_grep "help names the options" "--sample-rate" "$KANSOKU" simulate --help

# shellcheck disable=SC2086
check_grep "a short period is written" '"ddos_attacks"' "$KANSOKU" simulate --json --seed 7 $ARGS -o "$D"
for f in MANIFEST.txt ddos/2008-08-05.pcap ddos/SAMPLE_RATE darknet/hp-tokyo.pcap \
         darknet/sensors.csv p2p/experiments.csv incidents.csv series/traffic.csv \
         mail/2008-08.mbox honeypot/days.csv honeypot/sample_events.csv \
         honeypot/yara/kansoku-demo.yar truth/ddos.csv truth/sqli.csv; do
    check "file $f exists" test -s "$D/$f"
done
check "web logs exist" sh -c "ls '$D'/web/*.log >/dev/null"
kib=$(du -sk "$D" | cut -f1)
check "the files stay small ($kib KiB)" test "$kib" -lt 61440

# shellcheck disable=SC2086
check "the same seed again" "$KANSOKU" simulate -q --seed 7 $ARGS --threads 1 -o "$TMP/q2"
check "the same seed gives the same bytes" diff -r "$D" "$TMP/q2"
# shellcheck disable=SC2086
check "another seed" "$KANSOKU" simulate -q --seed 8 $ARGS --parts ddos -o "$TMP/q3"
check_exit 1 "another seed gives other bytes" cmp -s "$D/ddos/2008-08-05.pcap" "$TMP/q3/ddos/2008-08-05.pcap"

# Each analyzer that exists accepts what was written.
DB=$TMP/store.db
rate=$(cat "$D/ddos/SAMPLE_RATE")
if has_verb ddos detect; then
    check "ddos detect reads the captures" "$KANSOKU" ddos detect -q --db "$DB" \
        --sample-rate "$rate" "$D"/ddos/*.pcap
    check_grep "ddos detect finds attacks" "server|bandwidth|composite" "$KANSOKU" ddos detect \
        --sample-rate "$rate" "$D"/ddos/*.pcap
fi
if has_verb darknet; then
    check "darknet reads a sensor" "$KANSOKU" darknet -q --db "$DB" -r "$D/darknet/hp-tokyo.pcap" \
        --sensor hp-tokyo --monitored "$(sed -n 's/^hp-tokyo,//p' "$D/darknet/sensors.csv")"
fi
if has_verb p2p residue; then
    line=$(sed -n 2p "$D/p2p/experiments.csv")
    host=$(echo "$line" | cut -d, -f3)
    stop=$(echo "$line" | cut -d, -f6)
    cap=$(echo "$line" | cut -d, -f7)
    check "p2p residue reads a host" "$KANSOKU" p2p residue -q --db "$DB" -r "$D/$cap" \
        --host "$host" --stopped-at "$stop"
fi
if has_verb sqli scan; then
    log=$(ls "$D"/web/*.log | head -n 1)
    check "sqli scan reads a web log" "$KANSOKU" sqli scan -q --db "$DB" --log "$log"
    check_grep "sqli scan finds the defacement payload" "URL_Data_SQL_Cast_parentheses" \
        "$KANSOKU" sqli scan "$log"
fi
if has_verb mail ingest; then
    check "mail ingest reads the mbox" "$KANSOKU" mail ingest -q --db "$DB" "$D/mail/2008-08.mbox"
fi
if has_verb samples add; then
    IFS=, read -r dir time source <<END
$(sed -n 2p "$D/honeypot/days.csv")
END
    check "samples add registers a day" "$KANSOKU" samples add -q --db "$DB" --no-clamav \
        --via honeypot --time "$time" --source "$source" --yara-rules "$D/honeypot/yara" "$D/$dir"
    check "db import takes the other captures" "$KANSOKU" db import -q --db "$DB" \
        --table sample_events "$D/honeypot/sample_events.csv"
fi
if has_verb incident import; then
    check "incident import takes the log" "$KANSOKU" incident import -q --db "$DB" "$D/incidents.csv"
fi
check "db import takes the traffic series" "$KANSOKU" db import -q --db "$DB" "$D/series/traffic.csv"
finish
