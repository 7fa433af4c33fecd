#!/bin/sh
# clickhouse-cluster.sh -- a throw-away ClickHouse cluster of two shards on loopback, for the
# store's tests and benchmark (Debian's clickhouse-server 18.16; scripts/debian-packages.txt).
#
#   clickhouse-cluster.sh start DIR [BASE]   start both servers (ports BASE.., default 29000)
#   clickhouse-cluster.sh stop DIR           stop both (SIGTERM, then SIGKILL after 30 s)
#   clickhouse-cluster.sh stop-shard DIR N   stop shard N (1 or 2) only
#   clickhouse-cluster.sh kill-shard DIR N   kill -9 shard N (a crash, mid-insert perhaps)
#   clickhouse-cluster.sh start-shard DIR N  start shard N again (same config and data)
#   clickhouse-cluster.sh url DIR [DB]       print the kansoku store URI of the cluster
#
# Shard N listens on 127.0.0.1 only: tcp BASE+10*(N-1), http +1, interserver +2. Both servers
# define the cluster "ks_two_shards" (one replica per shard, no ZooKeeper). The servers are
# plain processes of the caller, their pids in DIR/shardN/pid; all their files stay in DIR.
# Exit status: 0 done, 1 failed (a server did not come up: its log is printed), 2 usage.
set -eu

SERVER=${CLICKHOUSE_SERVER:-/usr/bin/clickhouse-server}
[ -x "$SERVER" ] || SERVER=/usr/sbin/clickhouse-server
CLUSTER=ks_two_shards

usage() {
    sed -n '4,10p' "$0" | sed 's/^# //' >&2
    exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
base_file=$dir/base

tcp() { echo $((BASE + 10 * ($1 - 1))); }
http() { echo $(($(tcp "$1") + 1)); }

write_config() { # $1 shard
    d=$dir/shard$1
    mkdir -p "$d/data/tmp" "$d/log"
    {
        echo '<?xml version="1.0"?>'
        echo '<yandex>'
        echo "  <logger><level>warning</level><log>$d/log/server.log</log>"
        echo "    <errorlog>$d/log/error.log</errorlog><size>50M</size><count>1</count></logger>"
        echo '  <listen_host>127.0.0.1</listen_host>'
        echo "  <tcp_port>$(tcp "$1")</tcp_port><http_port>$(http "$1")</http_port>"
        echo "  <interserver_http_port>$(($(tcp "$1") + 2))</interserver_http_port>"
        echo "  <path>$d/data/</path><tmp_path>$d/data/tmp/</tmp_path>"
        echo "  <user_files_path>$d/data/</user_files_path><format_schema_path>$d/data/</format_schema_path>"
        echo '  <users_config>users.xml</users_config><default_profile>default</default_profile>'
        echo '  <default_database>default</default_database><timezone>UTC</timezone>'
        echo '  <mark_cache_size>134217728</mark_cache_size><max_concurrent_queries>50</max_concurrent_queries>'
        echo "  <remote_servers><$CLUSTER>"
        for n in 1 2; do
            echo "    <shard><replica><host>127.0.0.1</host><port>$(tcp $n)</port></replica></shard>"
        done
        echo "  </$CLUSTER></remote_servers>"
        echo '</yandex>'
    } >"$d/config.xml"
    cat >"$d/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
EOF
}

alive() { # $1 shard: the recorded pid runs our config
    pid=$(cat "$dir/shard$1/pid" 2>/dev/null) || return 1
    [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/shard$1/config.xml"
}

answers() { curl -sf --max-time 2 "http://127.0.0.1:$(http "$1")/?query=SELECT%201" >/dev/null 2>&1; }

start_shard() { # $1 shard
    if alive "$1"; then return 0; fi
    write_config "$1"
    (cd "$dir/shard$1" && nohup "$SERVER" --config-file="$dir/shard$1/config.xml" \
        >>"$dir/shard$1/log/stdout.log" 2>&1 </dev/null &
        echo $! >"$dir/shard$1/pid")
}

wait_shard() { # $1 shard
    i=0
    while [ $i -lt 120 ]; do
        answers "$1" && return 0
        alive "$1" || break
        sleep 0.25
        i=$((i + 1))
    done
    echo "clickhouse-cluster: shard $1 did not come up:" >&2
    tail -n 20 "$dir/shard$1/log/error.log" "$dir/shard$1/log/stdout.log" >&2 2>/dev/null || true
    return 1
}

stop_shard() { # $1 shard
    alive "$1" || { rm -f "$dir/shard$1/pid"; return 0; }
    pid=$(cat "$dir/shard$1/pid")
    kill -TERM "$pid" 2>/dev/null || true
    i=0
    while alive "$1" && [ $i -lt 120 ]; do
        sleep 0.25
        i=$((i + 1))
    done
    alive "$1" && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/shard$1/pid"
}

case $cmd in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    base_file=$dir/base
    BASE=${3:-29000}
    echo "$BASE" >"$base_file"
    start_shard 1
    start_shard 2
    wait_shard 1 && wait_shard 2 || { stop_shard 1; stop_shard 2; exit 1; }
    ;;
stop | stop-shard | kill-shard | start-shard | url)
    [ -d "$dir" ] || usage
    dir=$(cd "$dir" && pwd)
    BASE=$(cat "$dir/base" 2>/dev/null) || { echo "clickhouse-cluster: no cluster in $dir" >&2; exit 1; }
    case $cmd in
    stop) stop_shard 1; stop_shard 2 ;;
    stop-shard) [ $# -eq 3 ] || usage; stop_shard "$3" ;;
    kill-shard)
        [ $# -eq 3 ] || usage
        if alive "$3"; then kill -KILL "$(cat "$dir/shard$3/pid")"; fi
        while alive "$3"; do sleep 0.1; done
        rm -f "$dir/shard$3/pid"
        ;;
    start-shard) [ $# -eq 3 ] || usage; start_shard "$3"; wait_shard "$3" ;;
    url) echo "clickhouse://127.0.0.1:$(http 1),127.0.0.1:$(http 2)/${3:-kansoku}?cluster=$CLUSTER" ;;
    esac
    ;;
*) usage ;;
esac
