#!/bin/sh
# Mail benchmark: ingest MB/s of kansoku (parse, verdict, sender, URLs, campaign keys, store)
# against a bare GMime 3 program that only walks and decodes every part, on a >= 200 MB
# mailbox built from ../shared/testdata/mail; then URL extraction messages/s against rspamd
# (`rspamadm lua`, task:get_urls(true)) on the corpus, with the URL hosts compared.
# Env: KANSOKU, BUILD_DIR, BENCH_OUT (scratch), KS_TESTDATA (default ../shared/testdata).
set -eu
: "${KANSOKU:?}" "${BUILD_DIR:?}" "${BENCH_OUT:?}"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
M="${KS_TESTDATA:-$SRC/../shared/testdata}/mail"
[ -d "$M/trec07p" ] || { echo "mail bench: $M absent: skipped"; exit 0; }
mkdir -p "$BENCH_OUT/mail"
O="$BENCH_OUT/mail"
export KANSOKU_GEO_DIR="${KANSOKU_GEO_DIR:-}"

# one copy of the corpus as an mboxrd, then 48 copies (~202 MB, 22 000 messages)
quote='NR == 1 && /^From / { print; next } { if ($0 ~ /^>*From /) print ">" $0; else print } END { print "" }'
: >"$O/one.mbox"
for f in "$M"/trec07p/inmail.*; do awk "$quote" "$f" >>"$O/one.mbox"; done
cat "$M/nazario-phishing0-sample.mbox" >>"$O/one.mbox"
printf '\n' >>"$O/one.mbox"
for f in "$M"/malformed/*.eml; do
    printf 'From bench@example Mon Apr  2 10:00:00 2007\n' >>"$O/one.mbox"
    awk '{ if ($0 ~ /^>*From /) print ">" $0; else print } END { print "" }' "$f" >>"$O/one.mbox"
done
: >"$O/bench.mbox"
i=0
while [ $i -lt 48 ]; do cat "$O/one.mbox" >>"$O/bench.mbox"; i=$((i + 1)); done
size=$(wc -c <"$O/bench.mbox")
msgs=$(grep -c '^From ' "$O/bench.mbox")
echo "mailbox: $size bytes, $msgs messages (48 x the corpus)"
cat "$O/bench.mbox" >/dev/null # warm the page cache for both

now() { date +%s.%N; }
min() { if [ -z "$1" ] || [ "$(echo "$2 < $1" | bc -l)" = 1 ]; then echo "$2"; else echo "$1"; fi; }
# Best of 3 runs each, one after the other, so that a moment of load elsewhere on the machine
# does not decide the ratio.
# peer: bare GMime walk + decode (its own timer: the parse, without its start)
peer_s=""
for _ in 1 2 3; do
    set -- $("$BUILD_DIR/bench/bench_mail_gmime" "$O/bench.mbox")
    peer_s=$(min "$peer_s" "$3")
done
peer=$(echo "$size / $peer_s / 1000000" | bc -l)
printf 'peer (bare GMime walk+decode): %s messages in %.2f s = %.1f MB/s (best of 3)\n' "$1" "$peer_s" "$peer"

# kansoku: ingest into a fresh store (the whole command, its start included)
ks_s=""
for _ in 1 2 3; do
    rm -f "$O/bench.db" "$O/bench.db-wal" "$O/bench.db-shm"
    t0=$(now)
    "$KANSOKU" mail ingest -q --db "$O/bench.db" --label spam "$O/bench.mbox"
    t1=$(now)
    ks_s=$(min "$ks_s" "$(echo "$t1 - $t0" | bc -l)")
done
ks=$(echo "$size / $ks_s / 1000000" | bc -l)
printf 'kansoku mail ingest: %.2f s = %.1f MB/s (best of 3)\n' "$ks_s" "$ks"
t0=$(now)
"$KANSOKU" mail read -q "$O/bench.mbox" >/dev/null
t1=$(now)
rd_s=$(echo "$t1 - $t0" | bc -l)
printf 'kansoku mail read (no store): %.2f s = %.1f MB/s\n' "$rd_s" "$(echo "$size / $rd_s / 1000000" | bc -l)"
# the same URLs as Gumbo's tree (the tokenizer hands what it cannot follow to Gumbo)
"$KANSOKU" mail urls -q --html-tree "$O/one.mbox" >"$O/urls.tree"
"$KANSOKU" mail urls -q "$O/one.mbox" >"$O/urls.fast"
ndiff=$(diff "$O/urls.tree" "$O/urls.fast" | grep -c '^[<>]' || true)
echo "URL differences, HTML tokenizer vs Gumbo tree, on one copy of the corpus: $ndiff lines of $(wc -l <"$O/urls.tree")"
# the MIME walker gives GMime's results (--mime-gmime: every message through GMime)
"$KANSOKU" mail read -q --json --threads 1 --mime-gmime "$O/one.mbox" >"$O/read.gmime"
"$KANSOKU" mail read -q --json --threads 1 "$O/one.mbox" >"$O/read.walker"
ndiff=$(diff "$O/read.gmime" "$O/read.walker" | grep -c '^[<>]' || true)
echo "record differences, MIME walker vs GMime, on one copy of the corpus: $ndiff lines of $(wc -l <"$O/read.gmime")"
ratio=$(echo "$ks / $peer" | bc -l)
printf 'RESULT mail ingest_MB_per_s kansoku=%.1f peer=%.1f ratio=%.2f\n' "$ks" "$peer" "$ratio"

# --- URL extraction against rspamd -----------------------------------------------------------
RSPAMADM=$(command -v rspamadm || true)
RVARS=""
if [ -z "$RSPAMADM" ]; then
    # Debian's rspamd conflicts with libvectorscan5 (sqli): use the package unpacked privately
    R="${RSPAMD_ROOT:-$O/rspamd}"
    if [ ! -x "$R/usr/bin/rspamadm" ] && command -v apt-get >/dev/null; then
        mkdir -p "$R.deb" && (cd "$R.deb" && apt-get download rspamd libhyperscan5 libluajit2-5.1-2 >/dev/null 2>&1) &&
            for d in "$R.deb"/*.deb; do dpkg -x "$d" "$R"; done || true
    fi
    if [ -x "$R/usr/bin/rspamadm" ]; then
        RSPAMADM="$R/usr/bin/rspamadm"
        export LD_LIBRARY_PATH="$R/usr/lib/x86_64-linux-gnu:$R/usr/lib/rspamd"
        S="$R/usr/share/rspamd"
        RVARS="--var=LUALIBDIR=$S/lualib --var=RULESDIR=$S/rules --var=SHAREDIR=$S --var=PLUGINSDIR=$S/plugins"
    fi
fi
if [ -z "$RSPAMADM" ]; then
    echo "rspamd not available: URL comparison skipped"
    exit 0
fi
N=5 # copies of the corpus for the URL timing
: >"$O/urls.mbox"
i=0
while [ $i -lt $N ]; do cat "$O/one.mbox" >>"$O/urls.mbox"; i=$((i + 1)); done
umsgs=$(grep -c '^From ' "$O/urls.mbox")
cat >"$O/urls.lua" <<'LUA'
-- every message of an mbox (split on From_ lines), task:get_urls(true); prints hosts
local rspamd_task = require "rspamd_task"
local f = assert(io.open(arg[1], "rb"))
local data = f:read("*a")
f:close()
local out = arg[2] and io.open(arg[2], "w")
local n = 0
local function one(msg)
  local ok, task = rspamd_task.load_from_string(msg, rspamd_config)
  if not ok then return end
  task:process_message()
  local urls = task:get_urls(true) or {}
  if out then
    for _, u in ipairs(urls) do out:write(n, "\t", u:get_host() or "", "\n") end
  end
  task:destroy()
  n = n + 1
end
local start = 1
while true do
  local s = data:find("\nFrom [^\n]*\n", start)
  local body_start = data:find("\n", start) + 1
  if not s then one(data:sub(body_start)); break end
  one(data:sub(body_start, s))
  start = s + 1
end
print(n)
LUA
t0=$(now)
# shellcheck disable=SC2086
"$RSPAMADM" $RVARS lua -a "$O/urls.mbox" "$O/urls.lua" >/dev/null 2>&1
t1=$(now)
r_s=$(echo "$t1 - $t0" | bc -l)
t0=$(now)
"$KANSOKU" mail urls -q "$O/urls.mbox" >/dev/null
t1=$(now)
k_s=$(echo "$t1 - $t0" | bc -l)
rm=$(echo "$umsgs / $r_s" | bc -l)
km=$(echo "$umsgs / $k_s" | bc -l)
printf 'rspamd get_urls(true): %d messages in %.2f s = %.0f msg/s\n' "$umsgs" "$r_s" "$rm"
printf 'kansoku mail urls:     %d messages in %.2f s = %.0f msg/s\n' "$umsgs" "$k_s" "$km"
# hosts found on the corpus by each (distinct hosts over all messages)
"$RSPAMADM" $RVARS lua -a "$O/one.mbox" -a "$O/rspamd.hosts" "$O/urls.lua" >/dev/null 2>&1 || true
cut -f2 "$O/rspamd.hosts" 2>/dev/null | tr 'A-Z' 'a-z' | sed 's/\.$//' | grep -v '^$' | sort -u >"$O/rspamd.hostset" || true
"$KANSOKU" mail urls -q "$O/one.mbox" | cut -f2 | sed -E 's|^[a-z]+://([^/:]+).*|\1|' | sort -u >"$O/kansoku.hostset"
only_r=$(comm -23 "$O/rspamd.hostset" "$O/kansoku.hostset" | wc -l)
only_k=$(comm -13 "$O/rspamd.hostset" "$O/kansoku.hostset" | wc -l)
both=$(comm -12 "$O/rspamd.hostset" "$O/kansoku.hostset" | wc -l)
echo "hosts on the corpus: both $both, only rspamd $only_r, only kansoku $only_k (lists in $O/*.hostset)"
printf 'RESULT mail urls_msgs_per_s kansoku=%.0f peer=%.0f ratio=%.2f\n' "$km" "$rm" "$(echo "$km / $rm" | bc -l)"
