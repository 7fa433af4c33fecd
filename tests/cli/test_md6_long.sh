#!/bin/sh
# MD6 of the NIST "extremely long message" (the 64-byte text repeated 16777216 times, 1 GiB)
# for d = 224, 256, 384, 512, streamed through kansoku md6sum. Opt-in: meson suite 'slow'.
. "$(dirname "$0")/lib.sh"

kat="${KS_TESTDATA:-}/md6/ExtremelyLongMsgKAT_md6.txt"
[ -r "$kat" ] || skip "no $kat (KS_TESTDATA)"
text=$(sed -n 's/^Text = //p' "$kat" | head -1)
reps=$(sed -n 's/^Repeat = //p' "$kat" | head -1)
[ "${#text}" -eq 64 ] && [ "$reps" -eq 16777216 ] || skip "unexpected format of $kat"

for d in 224 256 384 512; do
    want=$(sed -n "/^# d=$d\$/,/^MD = /s/^MD = //p" "$kat" | tr 'A-F' 'a-f')
    # 1 GiB: yes prints TEXT\n, tr drops the newlines, head cuts exactly 2^30 bytes.
    check_out "extremely long message d=$d" "$want  -" sh -c \
        "yes '$text' | tr -d '\n' | head -c 1073741824 | \"\$KANSOKU\" md6sum -d $d"
done
finish
