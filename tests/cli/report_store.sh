# Builds the tiny hand-made store of tests/data/report into $1 (sourced by the report tests).
ks_report_store() {
    db=$1
    for t in honeypot_sessions sample_events samples sample_iocs mail_messages mail_urls \
        mail_attachments spf_results series ddos_attacks ddos_timeline sqli_detections \
        darknet_sources; do
        "$KANSOKU" db import -q --db "$db" --table "$t" "$KS_SRCDIR/tests/data/report/$t.csv" ||
            return 1
    done
    "$KANSOKU" incident import -q --db "$db" "$KS_SRCDIR/tests/data/report/incidents.csv"
}
# The report of the test period, as expected.json was made.
ks_report_run() {
    db=$1 out=$2
    shift 2
    "$KANSOKU" report -q --db "$db" --from 2008-06-01 --to 2008-06-15 -o "$out" \
        --notes "$KS_SRCDIR/tests/data/report/notes.txt" --geo-dir /nonexistent --sensors s1,s2 "$@"
}
