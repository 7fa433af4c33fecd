/* Seeded 64-bit hashing: multiply-rotate absorption of 8-byte little-endian words, then a
 * xor-shift-multiply finaliser (the splitmix64 constants), so that low and high output bits
 * both avalanche: tables use the low bits, HyperLogLog the high ones. */
#include "hash.h"

#include <string.h>

#define K1 0x9e3779b97f4a7c15ull
#define K2 0xc2b2ae3d27d4eb4full
#define K3 0x165667b19e3779f9ull

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

/* One unaligned load (gcc did not fuse the byte-by-byte form: 8 loads per word, the hot path
 * of every table and sketch), swapped on big-endian hosts so that hashes do not depend on
 * the machine. */
static inline uint64_t load64le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint64_t absorb(uint64_t h, uint64_t w)
{
    w *= K2;
    w = rotl64(w, 31);
    w *= K1;
    h ^= w;
    return rotl64(h, 27) * 5 + 0x52dce729u;
}

uint64_t ks_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ ((uint64_t)len * K3);
    size_t n = len;
    while (n >= 8) {
        h = absorb(h, load64le(p));
        p += 8;
        n -= 8;
    }
    if (n) {
        uint8_t tail[8] = {0};
        memcpy(tail, p, n);
        h = absorb(h, load64le(tail) ^ ((uint64_t)n << 59));
    }
    return ks_mix64(h);
}

uint64_t ks_hash_u64(uint64_t x, uint64_t seed)
{
    return ks_mix64(x ^ ks_mix64(seed + K1));
}
