/* Seeded 64-bit hashing: multiply-rotate absorption of 8-byte little-endian words, then a
 * xor-shift-multiply finaliser (the splitmix64 constants), so that low and high output bits
 * both avalanche: tables use the low bits, HyperLogLog the high ones. */
#include "hash.h"

uint64_t ks_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    return ks_hash_bytes_inline(data, len, seed);
}

uint64_t ks_hash_u64(uint64_t x, uint64_t seed)
{
    return ks_mix64(x ^ ks_mix64(seed + KS_HASH_K1));
}
