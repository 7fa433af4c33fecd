/* Numbers into text without printf, for output written a line per record (internal). */
#ifndef KS_CORE_FMT_H
#define KS_CORE_FMT_H

#include <stdint.h>

/* Writes v in decimal at p (no terminating NUL, at most 20 characters) and returns the end. */
static inline char *ks_put_u64(char *p, uint64_t v)
{
    char t[20];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = t[--n];
    return p;
}

#endif
