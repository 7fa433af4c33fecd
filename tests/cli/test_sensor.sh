#!/bin/sh
# kansoku sensor: the daemon on a watched pcap directory with the store down at first: metrics
# scraped with curl, the store coming back (the spool replayed), SIGHUP reloads (good and bad
# files), SIGTERM flush; then every packet is counted exactly once, also across a restart.
# Last, a live capture on lo (root only).
. "$KS_SRCDIR/tests/cli/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl is not installed"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 is not installed"

check_exit 2 "--config is required" "$KANSOKU" sensor
check_exit 2 "an unknown option is a usage error" "$KANSOKU" sensor --nope
check_exit 1 "a missing file fails" "$KANSOKU" sensor --config "$TMP/none.conf"
printf '[sensor]\ndb = x\n[capture]\ninterface = lo\nbogus = 1\n' >"$TMP/bad.conf"
check_exit 1 "a bad file fails" "$KANSOKU" sensor --config "$TMP/bad.conf" --check
check_grep "help names the options" "--check" "$KANSOKU" sensor --help
check_grep "the sample configuration is valid" "valid" "$KANSOKU" sensor --check \
    --config "$KS_SRCDIR/docs/sensor.conf.sample"

# Inputs: the two darknet sensors' captures of a small simulated week.
"$KANSOKU" simulate -q --seed 5 --from 2008-07-01 --to 2008-07-07 --scale 0.05 --parts darknet \
    -o "$TMP/sim" || { echo "simulate failed"; exit 1; }
mkdir -p "$TMP/in"
prefix=$(awk -F, 'NR == 2 {print $2}' "$TMP/sim/darknet/sensors.csv")
s1=$(awk -F, 'NR == 2 {print $1}' "$TMP/sim/darknet/sensors.csv")
s2=$(awk -F, 'NR == 3 {print $1}' "$TMP/sim/darknet/sensors.csv")
old=$(($(date +%s) - 60))
cp "$TMP/sim/darknet/$s1.pcap" "$TMP/in/a-$s1.pcap"
touch -d "@$old" "$TMP/in/a-$s1.pcap"

conf="$TMP/sensor.conf"
# A TCP port for the honeypot that nothing listens on (curl: exit 7, cannot connect).
hport=$((20000 + $$ % 12000)) # below the ephemeral range (32768-): no client socket holds it
n=0
while [ $n -lt 20 ]; do
    curl -s --max-time 1 "http://127.0.0.1:$hport/" >/dev/null 2>&1
    [ $? -eq 7 ] && break
    hport=$((hport + 1))
    n=$((n + 1))
done
write_conf() { # $1: window_s
    cat >"$conf" <<EOF
[sensor]
name = test-sensor
db = $TMP/store/k.db
spool_dir = $TMP/spool
flush_s = 1
window_s = $1
retry_max_s = 1
busy_timeout_ms = 200
metrics_listen = 127.0.0.1:0
[capture]
pcap_dir = $TMP/in
poll_s = 1
[darknet]
prefix = $prefix
tz_offset = +09:00
[honeypot]
listen = 127.0.0.1
tcp_ports = $hport
EOF
}
write_conf 300
check_grep "the configuration is valid" "valid" "$KANSOKU" sensor --config "$conf" --check

# The store's directory does not exist yet: the store is down.
"$KANSOKU" sensor --config "$conf" --json >"$TMP/summary.json" 2>"$TMP/sensor.log" &
pid=$!
port=
i=0
while [ $i -lt 50 ] && [ -z "$port" ]; do
    port=$(sed -n 's/.*metrics: listening on .*, port \([0-9]*\).*/\1/p' "$TMP/sensor.log" 2>/dev/null)
    [ -n "$port" ] || sleep 0.1
    i=$((i + 1))
done
check "the metrics port is logged" test -n "$port"
# the honeypot starts in its own thread: its line may come after the metrics line
i=0
while [ $i -lt 100 ] && ! grep -q "ports tcp/$hport" "$TMP/sensor.log" 2>/dev/null; do
    sleep 0.1
    i=$((i + 1))
done
check_grep "the honeypot's port is logged" "ports tcp/$hport" cat "$TMP/sensor.log"
url="http://127.0.0.1:$port/metrics"
metric() { curl -s "$url" | awk -v m="$1" 'index($0, m) == 1 {print $NF}' | head -n 1; }
wait_for() { # NAME VALUE-TEST: poll up to 20 s until metric NAME satisfies the test
    n=0
    while [ $n -lt 100 ]; do
        v=$(metric "$1")
        [ -n "$v" ] && eval "[ \"\${v%.*}\" $2 ]" && return 0
        sleep 0.2
        n=$((n + 1))
    done
    return 1
}

check "packets are read while the store is down" wait_for kansoku_sensor_packets_total '-gt 0'
check "batches wait in the spool" wait_for kansoku_sensor_spool_batches '-gt 0'
check_grep "the metrics page is Prometheus text" '^# TYPE kansoku_sensor_drops_total counter' \
    curl -s "$url"
check_grep "store_up is 0" '^kansoku_sensor_store_up\{sensor="test-sensor"\} 0' curl -s "$url"
check_grep "the lag is reported" '^kansoku_sensor_store_lag_seconds' curl -s "$url"
check_grep "an unknown path is a 404" '404' curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$port/nope"
check_grep "the outage is logged" "store unavailable" cat "$TMP/sensor.log"

mkdir -p "$TMP/store"
check "the store comes back: the spool empties" wait_for kansoku_sensor_spool_batches '-eq 0'
check "store_up is 1" wait_for kansoku_sensor_store_up '-eq 1'

write_conf 600
kill -HUP "$pid"
check "SIGHUP reloads the configuration" wait_for kansoku_sensor_reloads_total '-eq 1'
printf '[sensor]\nnot valid\n' >"$conf"
kill -HUP "$pid"
check "a bad file on SIGHUP is refused" wait_for kansoku_sensor_reload_errors_total '-eq 1'
check "the sensor still runs" kill -0 "$pid"
write_conf 600

# The honeypot kept running through the reloads: a connection is a session.
curl -s --max-time 1 "http://127.0.0.1:$hport/probe" >/dev/null 2>&1
check "a honeypot session is recorded" wait_for kansoku_sensor_honeypot_sessions_total '-ge 1'

cp "$TMP/sim/darknet/$s2.pcap" "$TMP/in/b-$s2.pcap"
touch -d "@$old" "$TMP/in/b-$s2.pcap"
before=$(metric kansoku_sensor_packets_total)
check "a new file in the directory is read" wait_for kansoku_sensor_packets_total "-gt ${before%.*}"
sleep 1.5

kill -TERM "$pid"
wait "$pid"
check_out "SIGTERM stops it cleanly" "0" echo $?
check_grep "the stop flushes" "stopping: flushing" cat "$TMP/sensor.log"
check_grep "a JSON summary is printed" '"spool_batches":0' cat "$TMP/summary.json"

# Every packet once: the sensor's traffic series against its own count, and the darknet days
# against the darknet command on the same capture.
total=$(sed -n 's/.*"packets":\([0-9]*\).*/\1/p' "$TMP/summary.json")
db="$TMP/store/k.db"
ok_join="JOIN inputs ON inputs.id = input_id AND inputs.status = 'complete'"
check_out "the traffic series counts every packet once" "$total" sqlite3 "$db" \
    "SELECT CAST(sum(value) AS INTEGER) FROM series $ok_join WHERE metric = 'sensor.packets' AND key = 'total'"
"$KANSOKU" darknet -q -r "$TMP/in/a-$s1.pcap" -r "$TMP/in/b-$s2.pcap" --sensor x \
    --monitored "$prefix" --tz-offset +09:00 --db "$TMP/ref.db" >/dev/null 2>"$TMP/ref.err" || cat "$TMP/ref.err"
want=$(sqlite3 "$TMP/ref.db" "SELECT sum(packets) FROM darknet_days")
check_out "the darknet days count every packet once" "$want" sqlite3 "$db" \
    "SELECT sum(packets) FROM darknet_days $ok_join"

check_out "the honeypot session is stored" "1" sqlite3 "$db" \
    "SELECT count(*) FROM honeypot_sessions $ok_join WHERE port = $hport AND sensor = 'test-sensor'"
check "anomaly reads the sensor's series" "$KANSOKU" anomaly --db "$db" --metric 'sensor.*' --no-store

# A restart with the same spool and directory reads nothing again.
"$KANSOKU" sensor --config "$conf" >/dev/null 2>"$TMP/sensor2.log" &
pid=$!
sleep 2.5
kill -TERM "$pid"
wait "$pid"
check_out "a restart does not read the files again" "$total" sqlite3 "$db" \
    "SELECT CAST(sum(value) AS INTEGER) FROM series $ok_join WHERE metric = 'sensor.packets' AND key = 'total'"
check_out "no batch is left in the spool" "0" sh -c "find '$TMP/spool' -name '*.ksb' | wc -l"

# A live capture on lo (needs root or CAP_NET_RAW): its own metrics traffic is counted.
if [ "$(id -u)" -eq 0 ]; then
    cat >"$TMP/lo.conf" <<EOF
[sensor]
name = lo-sensor
db = $TMP/lo.db
spool_dir = $TMP/lo-spool
metrics_listen = 127.0.0.1:0
flush_s = 1
[capture]
interface = lo
filter = tcp
EOF
    "$KANSOKU" sensor --config "$TMP/lo.conf" >/dev/null 2>"$TMP/lo.log" &
    pid=$!
    port=
    i=0
    while [ $i -lt 50 ] && [ -z "$port" ]; do
        port=$(sed -n 's/.*metrics: listening on .*, port \([0-9]*\).*/\1/p' "$TMP/lo.log" 2>/dev/null)
        [ -n "$port" ] || sleep 0.1
        i=$((i + 1))
    done
    url="http://127.0.0.1:$port/metrics"
    curl -s "$url" >/dev/null
    check "a live capture on lo counts packets" wait_for kansoku_sensor_packets_total '-gt 0'
    kill -TERM "$pid"
    wait "$pid"
    check_out "the live sensor stops cleanly" "0" echo $?
    check_grep "its traffic windows reach the store" '^[1-9]' sqlite3 "$TMP/lo.db" \
        "SELECT count(*) FROM series WHERE metric = 'sensor.packets'"
else
    echo "# not root: the live capture on lo is skipped"
fi
finish
