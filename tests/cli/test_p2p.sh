#!/bin/sh
# kansoku p2p residue: the Gnutella capture of ../shared/testdata/pcap (local client
# 10.0.2.15: 291 SYNs out, 91 SYN-ACKs in), several hosts side by side, and the store.
. "$KS_SRCDIR/tests/cli/lib.sh"
F=$KS_TESTDATA/pcap/ndpi_gnutella.pcap
[ -r "$F" ] || skip "$F is absent"
DB=$TMP/p2p.db

check_exit 2 "no verb is a usage error" "$KANSOKU" p2p
check_exit 2 "no host is a usage error" "$KANSOKU" p2p residue -r "$F"
check_exit 2 "a bad host is a usage error" "$KANSOKU" p2p residue -r "$F" --host 10.0.2
check_exit 2 "a bad stop time is a usage error" "$KANSOKU" p2p residue -r "$F" --host 10.0.2.15 --stopped-at soon
check_grep "help names the bin fields" 'syn_in' "$KANSOKU" p2p residue --help
check_grep "gnutella: 291 SYNs out, 91 SYN-ACKs in" '"type":"summary","host":"10.0.2.15","syn_in":0,"syn_out":291,"synack_in":91' \
    "$KANSOKU" p2p residue -q --json --db "$DB" -r "$F" --host 10.0.2.15
cp "$TMP/.out" "$TMP/gnutella.jsonl"
check_grep "gnutella: the stop is its last outgoing SYN" '"stop_inferred":true' cat "$TMP/gnutella.jsonl"
check_grep "gnutella: bins of 5 minutes from epoch 0" '"type":"bin","ts":"1970-01-01T00:05:00Z","host":"10.0.2.15"' cat "$TMP/gnutella.jsonl"
check_grep "two hosts side by side" '"host":"82.243.113.43"' \
    "$KANSOKU" p2p residue -q --json --no-store -r "$F" --host 10.0.2.15 --host 82.243.113.43
check_grep "a given stop time is used" '"stopped_at":"1970-01-01T00:05:00Z","stop_inferred":false' \
    "$KANSOKU" p2p residue -q --json --no-store -r "$F" --host 10.0.2.15 --stopped-at 1970-01-01T00:05:00Z
check_grep "text output" 'half-life|to background' "$KANSOKU" p2p residue --no-store -r "$F" --host 10.0.2.15
check_grep "rows are in the store's series" 'series +[1-9]' "$KANSOKU" db info --db "$DB"
finish
