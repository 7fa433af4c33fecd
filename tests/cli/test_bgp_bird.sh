#!/bin/sh
# The YouTube hijack of 2008-02-24 replayed with real BGP speakers on loopback: three BIRD 2
# instances, a collector (AS65000, 127.0.0.1) writing the BGP4MP messages it receives to an
# MRT file, "YouTube" (AS36561, 127.0.0.2) announcing 208.65.152.0/22, then "Pakistan Telecom"
# (AS17557, 127.0.0.3) announcing 208.65.153.0/24, later withdrawn. `kansoku bgp watch` must
# raise a sub-prefix hijack when the /24 appears and clear it when it is withdrawn.
# Needs root (BGP port 179 on 127.0.0.x) and Debian's bird2; bounded to about 40 s.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "not root: BIRD needs port 179 on 127.0.0.x"
command -v bird >/dev/null 2>&1 && command -v birdc >/dev/null 2>&1 ||
    skip "bird2 absent (apt-get install bird2)"

stop_birds() {
    for p in "$TMP"/*.pid; do
        [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
    done
    return 0
}
trap 'stop_birds; rm -rf "$TMP"' EXIT

MRT="$TMP/updates.mrt"
cat >"$TMP/c.conf" <<EOF
router id 10.255.0.1;
mrtdump "$MRT";
mrtdump protocols { states, messages };
protocol device { }
template bgp peer {
  local 127.0.0.1 as 65000;
  strict bind;
  multihop;
  passive;
  ipv4 { import all; export none; };
}
protocol bgp youtube from peer { neighbor 127.0.0.2 as 36561; }
protocol bgp pakistan from peer { neighbor 127.0.0.3 as 17557; }
EOF
speaker() { # NAME ROUTER-ID ADDR AS PREFIX
    cat >"$TMP/$1.conf" <<EOF
router id $2;
protocol device { }
protocol static origin { ipv4; route $5 blackhole; }
protocol bgp up {
  local $3 as $4;
  neighbor 127.0.0.1 as 65000;
  strict bind;
  multihop;
  connect delay time 1;
  connect retry time 1;
  ipv4 { import none; export all; };
}
EOF
}
speaker youtube 10.255.0.2 127.0.0.2 36561 208.65.152.0/22
speaker pakistan 10.255.0.3 127.0.0.3 17557 208.65.153.0/24

start() { bird -c "$TMP/$1.conf" -s "$TMP/$1.ctl" -P "$TMP/$1.pid" 2>"$TMP/$1.log"; }

# wait_for REGEX: polls the collector's MRT file (as bgpdump lines) for up to 15 s
wait_for() {
    i=0
    while [ $i -lt 75 ]; do
        if [ -s "$MRT" ] && "$KANSOKU" bgp dump -q "$MRT" 2>/dev/null | grep -Eq -- "$1"; then
            return 0
        fi
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

if ! start c; then
    cat "$TMP/c.log"
    skip "bird cannot start here (port 179 on 127.0.0.1 taken?)"
fi
start youtube || skip "bird cannot start the second instance"
if wait_for '\|A\|127\.0\.0\.2\|36561\|208\.65\.152\.0/22\|36561\|'; then
    ok "YouTube (AS36561) announces 208.65.152.0/22 to the collector"
else
    not_ok "YouTube's /22 reaches the collector" "$(birdc -s "$TMP/c.ctl" show protocols all 2>&1 | head -20)"
    finish
    exit 1
fi

t_start=$(date +%s)
start pakistan || not_ok "second speaker starts"
if wait_for '\|A\|127\.0\.0\.3\|17557\|208\.65\.153\.0/24\|17557\|'; then
    ok "AS17557 announces 208.65.153.0/24"
else
    not_ok "AS17557's /24 reaches the collector"
fi
sleep 1
t_withdraw=$(date +%s)
birdc -s "$TMP/pakistan.ctl" disable origin >/dev/null 2>&1
if wait_for '\|W\|127\.0\.0\.3\|17557\|208\.65\.153\.0/24$'; then
    ok "the /24 is withdrawn"
else
    not_ok "the /24 withdrawal reaches the collector"
fi
stop_birds

printf '# expected origins\n208.65.152.0/22 AS36561\n' >"$TMP/expect.txt"
"$KANSOKU" bgp watch --json --expect "$TMP/expect.txt" "$MRT" >"$TMP/alerts.json" 2>"$TMP/.err"
raise=$(grep '"event":"raise","type":"subprefix","prefix":"208.65.153.0/24","origin_as":17557,"expected_prefix":"208.65.152.0/22","expected_origins":\[36561\]' "$TMP/alerts.json")
clear=$(grep '"event":"clear","type":"subprefix","prefix":"208.65.153.0/24"' "$TMP/alerts.json")
if [ -n "$raise" ]; then ok "sub-prefix hijack raised: 208.65.153.0/24 by AS17557 under AS36561's /22";
else not_ok "sub-prefix hijack raised" "$(cat "$TMP/alerts.json")"; fi
epoch() { date -u -d "$1" +%s 2>/dev/null || echo 0; }
first=$(printf '%s' "$raise" | sed -n 's/.*"first_seen":"\([^"]*\)".*/\1/p')
t_first=$(epoch "$first")
if [ "$t_first" -ge "$t_start" ] && [ "$t_first" -le "$t_withdraw" ]; then
    ok "raised at the right time ($first, speaker started at $t_start)"
else
    not_ok "raised at the right time" "first_seen $first ($t_first), window $t_start..$t_withdraw"
fi
cleared=$(printf '%s' "$clear" | sed -n 's/.*"cleared":"\([^"]*\)".*/\1/p')
if [ -n "$clear" ] && [ "$(epoch "$cleared")" -ge "$t_withdraw" ]; then
    ok "cleared when the /24 was withdrawn ($cleared)"
else
    not_ok "cleared when the /24 was withdrawn" "$(cat "$TMP/alerts.json")"
fi
if grep -q '"prefix":"208.65.152.0/22"' "$TMP/alerts.json"; then
    not_ok "no alert for YouTube's own /22"
else
    ok "no alert for YouTube's own /22"
fi
if "$KANSOKU" bgp dump "$MRT" >/dev/null 2>"$TMP/.err" && [ ! -s "$TMP/.err" ]; then
    ok "the collector's MRT file reads clean"
else
    not_ok "the collector's MRT file reads clean"
fi

finish
