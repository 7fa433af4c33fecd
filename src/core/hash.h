/* Internal hashing helpers shared by the core sources (the public ones are in ks_core.h). */
#ifndef KS_CORE_HASH_H
#define KS_CORE_HASH_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A bijective 64-bit finaliser (xor-shift-multiply with the splitmix64 constants). */
static inline uint64_t ks_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#define KS_HASH_K1 0x9e3779b97f4a7c15ull
#define KS_HASH_K2 0xc2b2ae3d27d4eb4full
#define KS_HASH_K3 0x165667b19e3779f9ull

static inline uint64_t ks_rotl64(uint64_t x, unsigned r)
{
    return x << r | x >> (64 - r);
}

/* One unaligned load (gcc did not fuse the byte-by-byte form: 8 loads per word, the hot path
 * of every table and sketch), swapped on big-endian hosts so that hashes do not depend on
 * the machine. */
static inline uint64_t ks_load64le(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint64_t ks_hash_absorb(uint64_t h, uint64_t w)
{
    w *= KS_HASH_K2;
    w = ks_rotl64(w, 31);
    w *= KS_HASH_K1;
    h ^= w;
    return ks_rotl64(h, 27) * 5 + 0x52dce729u;
}

/* ks_addr_hash_inline of an IPv4 address (family 4, the rest of b zero) from its four bytes:
 * the same value with one 4-byte load. */
static inline uint64_t ks_addr4_hash_inline(const uint8_t b[4], uint64_t seed)
{
    uint32_t v;
    memcpy(&v, b, sizeof v);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint64_t w0 = (uint64_t)v << 32; /* the 8-byte load of the general form */
#else
    uint64_t w0 = v;
#endif
    uint64_t h = ks_mix64(seed ^ ((uint64_t)4 << 56) ^ w0);
    return ks_mix64(h ^ 0x9e3779b97f4a7c15ull);
}

/* ks_addr_hash (ks_ip.h) in the caller: the per-packet paths hash every source. An IPv4
 * address is read in one 4-byte load (the same value: the rest of b is zero). A packet's
 * address has just been written by the decoder in pieces (family, four bytes, zeros), and an
 * 8-byte load across several stores cannot take its value from the store buffer: it waits for
 * them to reach the cache. */
static inline uint64_t ks_addr_hash_inline(const struct ks_addr *a, uint64_t seed)
{
    if (a->family == 4)
        return ks_addr4_hash_inline(a->b, seed);
    uint64_t w0, w1;
    memcpy(&w0, a->b, 8);
    memcpy(&w1, a->b + 8, 8);
    uint64_t h = ks_mix64(seed ^ ((uint64_t)a->family << 56) ^ w0);
    return ks_mix64(h ^ w1 ^ 0x9e3779b97f4a7c15ull);
}

/* ks_hash_bytes (ks_core.h) in the caller: with a constant len the loop unrolls. */
static inline uint64_t ks_hash_bytes_inline(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ ((uint64_t)len * KS_HASH_K3);
    size_t n = len;
    while (n >= 8) {
        h = ks_hash_absorb(h, ks_load64le(p));
        p += 8;
        n -= 8;
    }
    if (n) {
        uint8_t tail[8] = {0};
        memcpy(tail, p, n);
        h = ks_hash_absorb(h, ks_load64le(tail) ^ ((uint64_t)n << 59));
    }
    return ks_mix64(h);
}

#endif
