#!/bin/sh
# kansoku mail: antivirus verdicts of attachments (libclamav through the sample registry) with a
# signature database this test writes (a .hdb line: MD5:size:name of a clamav-testfiles file),
# so that nothing depends on freshclam downloads; and the attachment classes of the
# spam-to-malware shares (malware, undetected, suspicious, other) in the store.
. "$KS_SRCDIR/tests/cli/lib.sh"

CT=/usr/share/clamav-testfiles
[ -r "$CT/clam.exe" ] || skip "clamav-testfiles not installed ($CT/clam.exe)"

mkdir -p "$TMP/db"
md5=$(md5sum <"$CT/clam.exe" | cut -d' ' -f1)
size=$(wc -c <"$CT/clam.exe" | tr -d ' ')
echo "$md5:$size:Kansoku.Test.ClamExe" >"$TMP/db/kansoku-test.hdb"
# a harmless executable of our own (MZ and zeros) and the same zipped: no signature for them
{ printf 'MZ'; head -c 510 /dev/zero; } >"$TMP/tool.exe"
have_zip=0
if command -v zip >/dev/null 2>&1; then
    (cd "$TMP" && cp "$CT/clam.exe" clam2.exe && zip -q evil.zip clam2.exe && zip -q tool.zip tool.exe) &&
        have_zip=1
fi

# att NAME FILE: one base64 attachment part
att() {
    printf -- '--BB\nContent-Type: application/octet-stream; name="%s"\n' "$1"
    printf 'Content-Disposition: attachment; filename="%s"\nContent-Transfer-Encoding: base64\n\n' "$1"
    base64 "$2"
}
# msg N ATTACHMENTS...: a message with the attachments "NAME=FILE"
msg() {
    n=$1
    shift
    printf 'From a@b Mon Apr  2 10:0%s:00 2007\nFrom: x@example.net\nTo: y@example.org\n' "$n"
    printf 'Subject: invoice %s\nMessage-ID: <av%s@example.net>\n' "$n" "$n"
    printf 'Date: Mon, 2 Apr 2007 10:0%s:00 +0000\nMIME-Version: 1.0\n' "$n"
    printf 'Content-Type: multipart/mixed; boundary="BB"\n\n--BB\nContent-Type: text/plain\n\nhi\n'
    for a in "$@"; do att "${a%%=*}" "${a#*=}"; done
    printf -- '--BB--\n\n'
}
printf 'just text, nothing executable\n' >"$TMP/note.txt"
{
    msg 1 "clam.exe=$CT/clam.exe"
    msg 2 "tool.exe=$TMP/tool.exe"
    msg 3 "report.pdf.scr=$TMP/note.txt"
    msg 4 "note.dat=$TMP/note.txt"
    if [ $have_zip = 1 ]; then
        msg 5 "evil.zip=$TMP/evil.zip"
        msg 6 "tool.zip=$TMP/tool.zip"
    fi
} >"$TMP/av.mbox"

if ! "$KANSOKU" mail read -q --json --clamav-db "$TMP/db" "$TMP/av.mbox" >"$TMP/probe" 2>"$TMP/probe.err"; then
    cat "$TMP/probe.err"
    skip "libclamav cannot load the test database"
fi

check_exit 1 "a database that does not exist fails" \
    "$KANSOKU" mail read -q --clamav-db "$TMP/nothing" "$TMP/av.mbox"
check_grep "detected by hash: the signature name" \
    '"name":"clam.exe".*"av":"Kansoku.Test.ClamExe.UNOFFICIAL","category":"malware"' \
    "$KANSOKU" mail read -q --json --clamav-db "$TMP/db" "$TMP/av.mbox"
check_grep "executable without a hit: clean, undetected" \
    '"name":"tool.exe".*"av":"clean","category":"undetected"' \
    "$KANSOKU" mail read -q --json --clamav-db "$TMP/db" "$TMP/av.mbox"
check_grep "double extension .scr: suspicious" \
    '"name":"report.pdf.scr".*"av":"clean","category":"suspicious"' \
    "$KANSOKU" mail read -q --json --clamav-db "$TMP/db" "$TMP/av.mbox"
check_grep "plain data: other" '"name":"note.dat".*"av":"clean","category":"other"' \
    "$KANSOKU" mail read -q --json --clamav-db "$TMP/db" "$TMP/av.mbox"
check_grep "without a database: not scanned (null), classes kept" \
    '"name":"clam.exe".*"av":null,"category":"undetected"' \
    "$KANSOKU" mail read -q --json --no-clamav "$TMP/av.mbox"
check_grep "the counts on stderr" 'antivirus: [0-9]+ attachments scanned, [12] detected, 0 scan' \
    sh -c '"$0" mail read --clamav-db "$1" "$2" 2>&1 >/dev/null' "$KANSOKU" "$TMP/db" "$TMP/av.mbox"
if [ $have_zip = 1 ]; then
    check_grep "detected inside a zip" \
        '"name":"evil.zip".*"av":"Kansoku.Test.ClamExe.UNOFFICIAL","category":"malware"' \
        "$KANSOKU" mail read -q --json --clamav-db "$TMP/db" "$TMP/av.mbox"
    check_grep ".exe in a zip without a hit: suspicious" \
        '"name":"tool.zip".*"av":"clean","category":"suspicious"' \
        "$KANSOKU" mail read -q --json --clamav-db "$TMP/db" "$TMP/av.mbox"
else
    echo "skip: zip not installed: archive cases not run"
fi

# The same file under another name, and again a clean one: scanned once each (the verdict
# remembered by content, one thread so that the order is fixed), the same verdicts.
{
    msg 1 "clam.exe=$CT/clam.exe"
    msg 7 "copy.exe=$CT/clam.exe"
    msg 8 "tool.exe=$TMP/tool.exe"
    msg 9 "tool2.exe=$TMP/tool.exe"
} >"$TMP/repeat.mbox"
check_grep "a repeated file: the same signature" \
    '"name":"copy.exe".*"av":"Kansoku.Test.ClamExe.UNOFFICIAL","category":"malware"' \
    "$KANSOKU" mail read -q --json --threads 1 --clamav-db "$TMP/db" "$TMP/repeat.mbox"
check_grep "a repeated clean file: clean" '"name":"tool2.exe".*"av":"clean","category":"undetected"' \
    "$KANSOKU" mail read -q --json --threads 1 --clamav-db "$TMP/db" "$TMP/repeat.mbox"
check_grep "repeated files: counted each, scanned once" \
    'antivirus: 4 attachments scanned, 2 detected, 0 scan.*2 antivirus verdicts reused' \
    sh -c '"$0" mail read -v --threads 1 --clamav-db "$1" "$2" 2>&1 >/dev/null | tr "\n" " "' \
    "$KANSOKU" "$TMP/db" "$TMP/repeat.mbox"

DB="$TMP/av.db"
check "ingest with the database" "$KANSOKU" mail ingest -q --db "$DB" --label spam \
    --clamav-db "$TMP/db" "$TMP/av.mbox"
if command -v sqlite3 >/dev/null 2>&1; then
    check_out "stored verdicts and classes" "clam.exe|Kansoku.Test.ClamExe.UNOFFICIAL|malware
note.dat|clean|other
report.pdf.scr|clean|suspicious
tool.exe|clean|undetected" \
        sqlite3 "$DB" "SELECT name, av, category FROM mail_attachments WHERE name NOT LIKE '%.zip' ORDER BY name"
else
    echo "skip: sqlite3 not installed: stored columns not read back"
fi
check_grep "stats: attachment classes of spam" '"kind":"malware".*"malware":[0-9]' \
    "$KANSOKU" mail stats --db "$DB" --json
finish
