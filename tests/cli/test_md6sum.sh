#!/bin/sh
# kansoku md6sum: output forms, the reference digests, and -c compared with sha256sum -c on
# lists of the same shape (same stdout, same exit status, same warnings but the tool's name).
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
printf 'abc' >a
printf 'hello\n' >b
printf 'x' >'we\ird'
abc256=230637d4e6845cf0d092b558e87625f03881dd53a7439da34cf3b94ed0d8b2c5

check_out "digest line" "$abc256  a" "$KANSOKU" md6sum a
check_out "stdin is -" "$abc256  -" sh -c "printf abc | \"$KANSOKU\" md6sum"
check_out "tag form" "MD6-256 (a) = $abc256" "$KANSOKU" md6sum --tag a
check_out "md6-512 of abc" \
    "00918245271e377a7ffb202b90f3bda5477d8feab12d8a3a8994ebc55fe6e74ca8341520032eeea3fdef892f2882378f636212af4b2683ccf80bf025b7d9b457  a" \
    "$KANSOKU" md6sum -d 512 a
check_out "odd digest size" "0  a" "$KANSOKU" md6sum -d 1 a
check_out "rounds 5" "8854c14dc284f840ed71ad7ba542855ce189633e48c797a55121a746be48cec8  a" \
    "$KANSOKU" md6sum -r 5 a
check_out "key" "80912a62aede4d4b263954767ea64efbcf9fc5ff6c02efb60284d05fca8e9ea0  a" \
    "$KANSOKU" md6sum -K abcde12345 a
check_out "sequential mode" "93c70c8d38e1d0b583024a3f17c95fe23b3a19bfad96d567f1e522b89ec7b365  a" \
    "$KANSOKU" md6sum -L 0 a
check_grep "name with a backslash is escaped" '^\\[0-9a-f]{64}  we\\\\ird$' "$KANSOKU" md6sum 'we\ird'
check_grep "json" '"md6":"230637d4' "$KANSOKU" md6sum --json a

# A large file gives the same digest on every path and thread count.
head -c 3000000 /dev/urandom >big
"$KANSOKU" md6sum --path portable --threads 1 big >want
for p in sse2 avx2 avx512; do
    if "$KANSOKU" md6sum --path "$p" --threads 1 a >/dev/null 2>&1; then
        for t in 1 2 3; do
            check_out "path $p threads $t" "$(cat want)" "$KANSOKU" md6sum --path "$p" --threads "$t" big
        done
    fi
done
check_out "pipe equals file" "$(sed 's/big$/-/' want)" sh -c "cat big | \"$KANSOKU\" md6sum"

check_err "d 0 is an error" 2 "digest size" "$KANSOKU" md6sum -d 0 a
check_err "d 513 is an error" 2 "digest size" "$KANSOKU" md6sum -d 513 a
check_err "65-byte key is an error" 2 "key must be at most 64" "$KANSOKU" md6sum \
    -K 01234567890123456789012345678901234567890123456789012345678901234 a
check_err "L 65 is an error" 2 "mode L" "$KANSOKU" md6sum -L 65 a
check_err "missing file" 1 "nofile: No such file or directory" "$KANSOKU" md6sum nofile a

# -c against sha256sum -c: build lists of the same shape with each tool.
command -v sha256sum >/dev/null || { finish; exit $?; }
mklist() { # TOOL OUT: good a, good b, garbage, missing file, wrong digest for b
    "$@" a b >"$TMP/l.good"
    cat "$TMP/l.good"
    echo 'garbage line'
    echo "$(head -1 "$TMP/l.good" | cut -d' ' -f1)  missing"
    echo "$(head -1 "$TMP/l.good" | cut -d' ' -f1 | tr '0-9a-f' '0')  b"
}
mklist sha256sum >s.list
mklist "$KANSOKU" md6sum >m.list
cp l.good m.good
sha256sum a b >s.good
printf 'junk\n\n# comment\n' >bad.list

same() { # NAME ARGS...: sha256sum -c ARGS on s.* and md6sum -c ARGS on m.* agree
    name=$1
    shift
    sargs=$(echo "$*" | sed 's/LIST/s/g')
    margs=$(echo "$*" | sed 's/LIST/m/g')
    # shellcheck disable=SC2086
    sha256sum -c $sargs >s.out 2>s.err
    src=$?
    # shellcheck disable=SC2086
    "$KANSOKU" md6sum -c $margs >m.out 2>m.err
    mrc=$?
    sed 's/^sha256sum: //; s/SHA256 checksum/MD6 checksum/' s.err | sed 's/s\.\(list\|good\)/X.\1/' | sort >s.err2
    sed 's/^kansoku: md6sum: //' m.err | sed 's/m\.\(list\|good\)/X.\1/' | sort >m.err2
    if [ "$src" -ne "$mrc" ]; then
        not_ok "$name" "exit $mrc, sha256sum -c exits $src"
    elif ! cmp -s s.out m.out; then
        not_ok "$name" "stdout differs from sha256sum -c:" "$(diff s.out m.out)"
    elif ! cmp -s s.err2 m.err2; then
        not_ok "$name" "stderr differs from sha256sum -c -w:" "$(diff s.err2 m.err2)"
    else
        ok "$name"
    fi
}
same "check good list" LIST.good
same "check mixed list: FAILED, FAILED open or read, warnings, exit 1" -w LIST.list
same "check --quiet" -w --quiet LIST.list
same "check --status" --status LIST.list
same "check --strict with a malformed line" -w --strict LIST.good LIST.list
same "check two lists" -w LIST.good LIST.good

sha256sum -c -w bad.list >s.out 2>s.err
src=$?
"$KANSOKU" md6sum -c bad.list >m.out 2>m.err
mrc=$?
if [ "$src" -eq "$mrc" ] && grep -q 'bad.list: no properly formatted checksum lines found' m.err &&
    grep -q 'bad.list: 1: improperly formatted MD6 checksum line' m.err; then
    ok "list without valid lines: exit 1 and the same messages"
else
    not_ok "list without valid lines" "exit $mrc vs $src" "$(cat m.err)"
fi
check_exit 1 "missing list" "$KANSOKU" md6sum -c nolist
"$KANSOKU" md6sum --tag a b >tag.list
check_out "tag lines check" "$(printf 'a: OK\nb: OK')" "$KANSOKU" md6sum -c tag.list
"$KANSOKU" md6sum -d 384 -K secret a b >k.list
check_out "size taken from the line, key from -K" "$(printf 'a: OK\nb: OK')" \
    "$KANSOKU" md6sum -c -K secret k.list
check_exit 1 "wrong key fails" "$KANSOKU" md6sum -c k.list
"$KANSOKU" md6sum 'we\ird' >esc.list
check_out "escaped name checks" '\we\\ird: OK' "$KANSOKU" md6sum -c esc.list

finish
