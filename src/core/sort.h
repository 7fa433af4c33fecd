/* Sorting many records by an integer key (internal). */
#ifndef KS_CORE_SORT_H
#define KS_CORE_SORT_H

#include <stddef.h>
#include <stdint.h>

/* A record's sort key and what the caller needs to find the record again (an index). */
struct ks_kv {
    uint64_t key;
    uint64_t val;
};

/* Sorts a[0..n) by key, ascending and stable (an LSD radix sort, a byte at a time, skipping the
 * bytes every key shares): for the tens of thousands of rows a day's tables have, where qsort's
 * comparisons through a function pointer cost ten times more. tmp holds n records; the result
 * is in the array returned (a or tmp). */
struct ks_kv *ks_radix_sort_kv(struct ks_kv *a, struct ks_kv *tmp, size_t n);

#endif
