/* ks_radix_sort_kv (sort.h). */
#include "core/sort.h"

#include <string.h>

struct ks_kv *ks_radix_sort_kv(struct ks_kv *a, struct ks_kv *tmp, size_t n)
{
    struct ks_kv *src = a, *dst = tmp;
    if (n < 2)
        return a;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256];
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(src[i].key >> shift) & 0xff]++;
        if (count[(src[0].key >> shift) & 0xff] == n)
            continue; /* every key has this byte */
        size_t sum = 0;
        for (unsigned b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & 0xff]++] = src[i];
        struct ks_kv *t = src;
        src = dst;
        dst = t;
    }
    return src;
}
