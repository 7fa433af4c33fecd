# kansoku mail: hostile inputs generated here, then the shared corpus (skipped if absent).
. "$KS_SRCDIR/tests/cli/lib.sh"

M="$KS_TESTDATA/mail"
export KANSOKU_GEO_DIR="$TMP/nogeo" # results must not depend on installed geo data

# --- usage ---------------------------------------------------------------------------------
check_exit 2 "mail without verb is a usage error" "$KANSOKU" mail
check_exit 2 "unknown verb is a usage error" "$KANSOKU" mail frobnicate
check_exit 2 "urls without input is a usage error" "$KANSOKU" mail urls
check_exit 2 "bad --label is a usage error" "$KANSOKU" mail read --label maybe x
check "mail --help" "$KANSOKU" mail --help
check "mail urls --help" "$KANSOKU" mail urls --help
check_exit 1 "missing file fails" "$KANSOKU" mail read "$TMP/none.mbox"

# --- hostile inputs ------------------------------------------------------------------------
# mbox: quoted and unquoted From in bodies, a From_ line without empty line or date, an empty
# message at the end
printf 'From a@example Mon Apr  2 10:00:00 2007\nSubject: one\n\nbody\n>From quoted\nFrom here in body\n\nFrom b@example Mon Apr  2 10:00:01 2007\nSubject: two\n\nhttp://two.example/\nFrom broken@example\nSubject: three\n\nhttp://three.example/\n\nFrom c@example Mon Apr  2 10:00:03 2007\n\n' >"$TMP/broken.mbox"
check_out "broken From_ lines: three messages" "3" sh -c "\"$KANSOKU\" mail read \"$TMP/broken.mbox\" 2>/dev/null | wc -l | tr -d ' '"
check_err "broken From_ separator reported with its line" 0 "broken.mbox: line 12: .*broken From_" \
    "$KANSOKU" mail read "$TMP/broken.mbox"
check_grep "message after a broken From_ is read" "three.example" "$KANSOKU" mail urls "$TMP/broken.mbox"

# MIME without boundary: counted, and its URL still found
printf 'Subject: nb\nMessage-ID: <nb@x>\nContent-Type: multipart/mixed\n\n--b\nContent-Type: text/plain\n\nhttp://noboundary.example/\n--b--\n' >"$TMP/nobound.eml"
check_grep "missing boundary: URL still found" "noboundary.example" "$KANSOKU" mail urls "$TMP/nobound.eml"
check_err "missing boundary reported" 0 "nobound.eml.*boundary" "$KANSOKU" mail urls "$TMP/nobound.eml"

# multiparts nested 100 deep
{
    printf 'Subject: deep\nMessage-ID: <deep@x>\n'
    i=0
    while [ $i -lt 100 ]; do
        printf 'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' $i $i
        i=$((i + 1))
    done
    printf 'Content-Type: text/plain\n\nhttp://deep.example/\n'
    while [ $i -gt 0 ]; do
        i=$((i - 1))
        printf -- '--b%d--\n' $i
    done
} >"$TMP/deep.eml"
check_grep "100-deep multipart is walked" "deep@x	http://deep.example/	text" "$KANSOKU" mail urls "$TMP/deep.eml"

# lying charset: declared ISO-2022-JP, really UTF-8 (and Shift_JIS bytes after)
printf 'Subject: lie\nMessage-ID: <lie@x>\nContent-Type: text/plain; charset=iso-2022-jp\n\n\346\227\245\346\234\254 http://lie.example/ \223\372\n' >"$TMP/lie.eml"
check_grep "lying charset: URL found" "lie.example" "$KANSOKU" mail urls "$TMP/lie.eml"
check_err "lying charset reported" 0 "lie.eml.*declared charset" "$KANSOKU" mail urls "$TMP/lie.eml"

# a 50 MB line between two good messages: skipped and reported with its position by default,
# read whole with a larger cap
{
    printf 'From a@x Mon Apr  2 10:00:00 2007\nSubject: before\nMessage-ID: <before@x>\n\nhttp://before.example/\n\n'
    printf 'From b@x Mon Apr  2 10:00:01 2007\nSubject: huge\nMessage-ID: <huge@x>\n\nhttp://huge.example/'
    head -c 50000000 /dev/zero | tr '\0' 'x'
    printf '\n\nFrom c@x Mon Apr  2 10:00:02 2007\nSubject: after\nMessage-ID: <after@x>\n\nhttp://after.example/\n'
} >"$TMP/huge.mbox"
check_err "50 MB message reported with its position" 0 \
    "huge.mbox: line 7: .*exceeds the limit" "$KANSOKU" mail urls "$TMP/huge.mbox"
check_out "50 MB message skipped, the rest read" "$(printf 'before@x\nafter@x')" \
    sh -c "\"$KANSOKU\" mail urls \"$TMP/huge.mbox\" 2>/dev/null | cut -f1"
check_grep "50 MB line read with --max-message 64M" "huge@x" \
    "$KANSOKU" mail urls --max-message 67108864 "$TMP/huge.mbox"
rm -f "$TMP/huge.mbox"

# stdin
check_grep "stdin is read" "two.example" sh -c "\"$KANSOKU\" mail urls - < \"$TMP/broken.mbox\""

# --- the shared corpus ---------------------------------------------------------------------
if [ ! -d "$M/trec07p" ]; then
    finish
    skip "shared test data $M absent"
fi
T="--trusted 129.97.0.0/16"

check_out "trec07p: 396 messages" "396" sh -c "\"$KANSOKU\" mail read $T \"$M/trec07p\" 2>/dev/null | wc -l | tr -d ' '"
check_out "trec07p labels: 300 spam" "300" sh -c "\"$KANSOKU\" mail read --json --labels \"$M/trec07p/index\" \"$M/trec07p\" 2>/dev/null | grep -c '\"verdict\":\"spam\"'"
check_out "trec07p labels: 96 ham" "96" sh -c "\"$KANSOKU\" mail read --json --labels \"$M/trec07p/index\" \"$M/trec07p\" 2>/dev/null | grep -c '\"verdict\":\"ham\"'"
check_err "trec07p index file reported as not mail" 0 "trec07p/index: line 1: .*not a mailbox" \
    "$KANSOKU" mail read "$M/trec07p"
check_out "trec07p: every message has a sender outside the trusted relays" "0" sh -c \
    "\"$KANSOKU\" mail read --json $T \"$M/trec07p\" 2>/dev/null | grep -c '\"sender\":null'; true"
check_out "nazario mbox: 60 messages" "60" sh -c "\"$KANSOKU\" mail read \"$M/nazario-phishing0-sample.mbox\" 2>/dev/null | wc -l | tr -d ' '"
check_out "malformed: 3 messages read" "3" sh -c "\"$KANSOKU\" mail read \"$M/malformed\" 2>/dev/null | wc -l | tr -d ' '"
check_err "malformed: problems reported with their file" 0 "malformed/spamscope_mail_malformed_3.eml" \
    "$KANSOKU" mail read "$M/malformed"
# issue #7: a boundary declared but never used; the parts are split at the one the body shows
M3="$M/malformed/spamscope_mail_malformed_3.eml"
if [ -f "$M3" ]; then
    check_grep "mismatched boundary recovered: calorsolar.tk" '	https?://calorsolar\.tk[/:]' \
        "$KANSOKU" mail urls "$M3"
    check_grep "mismatched boundary recovered by GMime too" '	https?://calorsolar\.tk[/:]' \
        "$KANSOKU" mail urls --mime-gmime "$M3"
    check_err "mismatched boundary: recovery reported and counted" 0 \
        'split at "----=_GlSzQZUbRbpVOpy".*1 multiparts split at a boundary found in the body' \
        sh -c '"$0" mail urls "$1" 2>&1 >/dev/null | tr "\n" " " >&2' "$KANSOKU" "$M3"
fi
check_grep "nazario: mismatched link text marked" "html:a.href,.*mismatch=paypal.com" \
    "$KANSOKU" mail urls "$M/nazario-phishing0-sample.mbox"
check_grep "nazario: numeric IP host" "	http://[0-9.]+/.*	html:a.href,.*ip" \
    "$KANSOKU" mail urls "$M/nazario-phishing0-sample.mbox"
check_grep "urls --json" '^\{"message_id":".*","url":"http' \
    "$KANSOKU" mail urls --json "$M/nazario-phishing0-sample.mbox"

# the HTML tokenizer against Gumbo's tree, and several threads against one: the same output
"$KANSOKU" mail urls -q --html-tree "$M/trec07p" "$M/nazario-phishing0-sample.mbox" "$M/malformed" >"$TMP/urls.tree"
check_out "URLs of the corpus: tokenizer = Gumbo tree" "" sh -c \
    '"$0" mail urls -q "$1/trec07p" "$1/nazario-phishing0-sample.mbox" "$1/malformed" | diff "$2" - | head -5' \
    "$KANSOKU" "$M" "$TMP/urls.tree"
check_out "URLs of the corpus: 1 thread = 4 threads" "" sh -c \
    '"$0" mail urls -q --threads 4 "$1/trec07p" "$1/nazario-phishing0-sample.mbox" "$1/malformed" | diff "$2" - | head -5' \
    "$KANSOKU" "$M" "$TMP/urls.tree"
"$KANSOKU" mail read --json --threads 1 "$M/trec07p" "$M/malformed" >"$TMP/read.1" 2>"$TMP/read.1.err"
check_out "read of the corpus and its reports: 1 thread = 3 threads" "" sh -c \
    '"$0" mail read --json --threads 3 "$1/trec07p" "$1/malformed" 2>"$2.err3" | diff "$2" - | head -5; diff "$2.err" "$2.err3" | head -5' \
    "$KANSOKU" "$M" "$TMP/read.1"
check_exit 2 "--threads 0 is a usage error" "$KANSOKU" mail read --threads 0 "$M/malformed"
# the MIME walker against GMime (--mime-gmime): the same records, URLs, attachments' hashes
# and reports on every message of the corpus, the malformed ones included
check_out "read of the corpus and its reports: walker = GMime" "" sh -c \
    '"$0" mail read --json --threads 1 --mime-gmime "$1/trec07p" "$1/malformed" 2>"$2.errg" | diff "$2" - | head -5; diff "$2.err" "$2.errg" | head -5' \
    "$KANSOKU" "$M" "$TMP/read.1"
check_out "URLs of the corpus: walker = GMime" "" sh -c \
    '"$0" mail urls -q --mime-gmime "$1/trec07p" "$1/nazario-phishing0-sample.mbox" "$1/malformed" | diff "$2" - | head -5' \
    "$KANSOKU" "$M" "$TMP/urls.tree"
check_out "read of nazario: walker = GMime" "" sh -c \
    '"$0" mail read --json -q "$1/nazario-phishing0-sample.mbox" >"$2.wn"; "$0" mail read --json -q --mime-gmime "$1/nazario-phishing0-sample.mbox" | diff "$2.wn" - | head -5' \
    "$KANSOKU" "$M" "$TMP/read.1"

DB="$TMP/mail.db"
check "ingest trec07p with labels" "$KANSOKU" mail ingest --db "$DB" $T --labels "$M/trec07p/index" "$M/trec07p"
check "ingest phishing as spam" "$KANSOKU" mail ingest --db "$DB" --label spam "$M/nazario-phishing0-sample.mbox" "$M/malformed"
check_err "ingest again: nothing stored twice" 0 "0 inputs stored .0 messages., 400 ingested before" \
    "$KANSOKU" mail ingest --db "$DB" --label spam "$M/trec07p" "$M/nazario-phishing0-sample.mbox" "$M/malformed"
check_grep "stats: total" '^\{"kind":"total","messages":459,"spam":363,"ham":96' \
    "$KANSOKU" mail stats --db "$DB" --json
check_grep "stats: weekly ratio" '^\{"kind":"week","week":"2007-W15","messages":383,"spam":287' \
    "$KANSOKU" mail stats --db "$DB" --json
check_grep "stats: senders per address" '^\{"kind":"senders","of":"spam","addresses":[0-9]+' \
    "$KANSOKU" mail stats --db "$DB" --json
check_grep "stats: campaign by subject with burst" \
    '"kind":"campaign","by":"subject","key":"avis important et personnel","messages":71.*"burst":true' \
    "$KANSOKU" mail stats --db "$DB" --json --from 2007-04-01 --to 2007-05-01
check_grep "stats: SPF per month" '^\{"kind":"spf","month":"2007-04".*"pass":16' \
    "$KANSOKU" mail stats --db "$DB" --json
check_grep "stats: year comparison with a period" '^\{"kind":"year","from":"2007-04-01' \
    "$KANSOKU" mail stats --db "$DB" --json --from 2007-04-01 --to 2007-05-01
check_grep "stats table" '^total +messages=459' "$KANSOKU" mail stats --db "$DB"

# an input of 1 MiB or more is hashed beside its first messages, whose rows wait for the
# input to begin; one whose size the store knows is hashed first: the same rows either way
cat "$M/nazario-phishing0-sample.mbox" "$M/nazario-phishing0-sample.mbox" \
    "$M/nazario-phishing0-sample.mbox" >"$TMP/big.mbox"
sed 's/^Subject: /Subject; /' "$TMP/big.mbox" >"$TMP/same-size.mbox"
check "ingest 1.5 MB, hashed aside" "$KANSOKU" mail ingest -q --db "$TMP/aside.db" --threads 1 \
    --label spam "$TMP/big.mbox"
check "ingest 1.5 MB after an input of its size" sh -c \
    '"$0" mail ingest -q --db "$1/inline.db" --label spam "$1/same-size.mbox" && "$0" mail ingest -q --db "$1/inline.db" --threads 3 --label spam "$1/big.mbox"' \
    "$KANSOKU" "$TMP"
check_err "ingest 1.5 MB again: ingested before" 0 "0 inputs stored .0 messages., 1 ingested before" \
    "$KANSOKU" mail ingest --db "$TMP/aside.db" --label spam "$TMP/big.mbox"
if command -v sqlite3 >/dev/null 2>&1; then
    q="SELECT i.sha256, i.size, i.status, i.rows, (SELECT count(*) FROM mail_messages m WHERE m.input_id = i.id) FROM inputs i WHERE i.name LIKE '%big.mbox'"
    check_out "hashed aside: the input's identity and rows" \
        "$(sha256sum "$TMP/big.mbox" | cut -d' ' -f1)|$(wc -c <"$TMP/big.mbox" | tr -d ' ')|complete|$(sqlite3 "$TMP/inline.db" "SELECT rows FROM inputs WHERE name LIKE '%big.mbox'")|180" \
        sqlite3 "$TMP/aside.db" "$q"
    for t in mail_messages mail_urls mail_attachments; do
        q="SELECT * FROM $t WHERE input_id = (SELECT id FROM inputs WHERE name LIKE '%big.mbox')"
        check_out "hashed aside: $t as hashed first" "$(sqlite3 "$TMP/inline.db" "$q" | sed 's/^[0-9]*|//')" \
            sh -c 'sqlite3 "$0" "$1" | sed "s/^[0-9]*|//"' "$TMP/aside.db" "$q"
    done
else
    echo "# sqlite3 is not installed: the hashed-aside row checks are skipped"
fi

finish
