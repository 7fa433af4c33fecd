/* Internal hashing helpers shared by the core sources (the public ones are in ks_core.h). */
#ifndef KS_CORE_HASH_H
#define KS_CORE_HASH_H

#include "kansoku/ks_core.h"

#include <stdint.h>

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

#endif
