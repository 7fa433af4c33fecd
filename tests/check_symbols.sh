#!/bin/sh
# Every symbol libkansoku.so defines for others must start with ks_ (STYLE.md: -fvisibility=hidden
# plus KS_API on the public functions).
lib=${1:?usage: check_symbols.sh libkansoku.so}
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^ks_' | grep -Ev '^(_init|_fini|_edata|_end|__bss_start)$')
if [ -n "$bad" ]; then
    echo "exported symbols without the ks_ prefix:"; echo "$bad"
    echo "0 passed, 1 failed"; exit 1
fi
n=$(nm -D --defined-only "$lib" | awk '$2 == "T"' | wc -l)
[ "$n" -gt 0 ] || { echo "no exported functions at all in $lib"; echo "0 passed, 1 failed"; exit 1; }
echo "$n exported functions, all ks_"; echo "1 passed, 0 failed"
