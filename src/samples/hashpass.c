/* MD5, SHA-1, SHA-256, ssdeep and TLSH, hand-written for the registry's fused hashing pass
 * (samples.c takes each 64 KiB piece through every hash while it is in cache; these five and
 * the byte histogram go through it in one loop; MD6 is ks_md6).
 *
 * Why not libfuzzy and libtlsh on the hot path: their per-byte work alone makes the 200 MB/s
 * target of all hashes together impossible. libfuzzy steps every byte through a function that
 * updates two FNV hashes per live block size (about 205 MB/s alone on the benchmark machine);
 * libtlsh does 21 dependent table look-ups per byte through a ring buffer (about 77 MB/s).
 * Here:
 *  - ssdeep: the rolling hash is a closed form of the last 7 bytes (h1 + h2 = sum (8-k) c[t-k],
 *    h3 = xor c[t-k] << 5k), its low 16 bits 32 positions at a time, so that finding where a
 *    piece may end is a test on a vector; the FNV hashes of every live block size (and the
 *    half hashes) only matter modulo 64, so instead of stepping each, one map of the 64
 *    possible states is composed byte by byte (VPERMB; 32 bytes as a tree, one dependent
 *    VPERMB per 32 bytes) and applied to the real states only where a piece ends;
 *  - TLSH: the Pearson look-ups of 64 positions at once (VPERMI2B, the 256-byte table in four
 *    registers), only the bucket numbers below 128 kept (VPCOMPRESSB: the digest reads no
 *    other), then the counts and the checksum in scalar code;
 *  - the TLSH checksum, MD5 and SHA-1/SHA-256 (SHA extensions) are serial chains; alone each
 *    leaves most of the core idle waiting on its previous step. In the fused loop each of the
 *    64 MD5 steps of a block sits beside one TLSH position and a part of the SHA-1 and SHA-256
 *    blocks, so that the out-of-order core overlaps the chains: MD5, SHA-1 and SHA-256 add
 *    about 0.45 ns/byte to the loop instead of 2.1 alone (bench/README.md, ## samples).
 * Without AVX-512 VBMI/VBMI2 and the SHA extensions the portable code does MD5, ssdeep and
 * TLSH byte by byte and samples.c uses OpenSSL for SHA-1 and SHA-256. The digests are those
 * of OpenSSL, libfuzzy and libtlsh bit for bit; test_samples.c and fuzz_hashpass.c keep them
 * as oracles. The comparison functions (ssdeep score, TLSH distance) are not on a hot path and
 * stay with the libraries. Limit: TLSH counts the length in 32 bits as libtlsh does; the
 * registry refuses samples above 1 GiB by default. */
#include "hashpass.h"

#include "kansoku/ks_samples.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FH_X86 1
#include <cpuid.h>
#include <immintrin.h>
#define FH_TARGET                                                                                  \
    __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,popcnt,sha,sse4.1,ssse3")))
#endif

int samples_fuzzy_simd = 1;

bool samples_fuzzy_simd_active(void)
{
#ifdef FH_X86
    /* asked once: CPUID may trap to the hypervisor, and the one-shot ssdeep of every mail body
     * asks for each pass (-1 unknown, else 0 or 1; threads racing store the same value) */
    static int hw = -1;
    int v = __atomic_load_n(&hw, __ATOMIC_RELAXED);
    if (v < 0) {
        v = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vbmi2") &&
            samples_sha256_hw();
        __atomic_store_n(&hw, v, __ATOMIC_RELAXED);
    }
    return samples_fuzzy_simd && v;
#else
    return false;
#endif
}

/* --- MD5 (RFC 1321) ----------------------------------------------------------------------- */

/* Hand-written too: MD5 is a serial chain (one dependent step per byte) like the TLSH
 * checksum; in the fused pass each of its 64 steps of a block runs beside one TLSH position,
 * so that the core overlaps the two chains instead of running them one after the other. */
/* The round functions (RFC 1321 F, G, H, I), in forms of few operations. */
#define MD5_F(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define MD5_G(b, c, d) ((c) ^ ((d) & ((b) ^ (c))))
#define MD5_H(b, c, d) ((b) ^ (c) ^ (d))
#define MD5_I(b, c, d) ((c) ^ ((b) | ~(d)))
/* One step, in the fused kernel (where the TLSH work beside each step hides its latency). */
#define MD5_STEP(f, a, b, c, d, k, t, s)                                                           \
    do {                                                                                           \
        a += MD5_##f(b, c, d) + md5_word(blk, k) + (uint32_t)(t);                                  \
        a = ((a << (s)) | (a >> (32 - (s)))) + b;                                                  \
    } while (0)
/* One step alone, where its latency is the cost: what does not depend on b (the value the
 * previous step just made) is added to a first; G = (b & d) | (c & ~d) as a sum of disjoint
 * bits for that. */
#define MD5_OFF_F(b, c, d) 0
#define MD5_ON_F(b, c, d) MD5_F(b, c, d)
#define MD5_OFF_G(b, c, d) ((c) & ~(d))
#define MD5_ON_G(b, c, d) ((b) & (d))
#define MD5_OFF_H(b, c, d) 0
#define MD5_ON_H(b, c, d) MD5_H(b, c, d)
#define MD5_OFF_I(b, c, d) 0
#define MD5_ON_I(b, c, d) MD5_I(b, c, d)
#define MD5_STEP_ALONE(f, a, b, c, d, k, t, s)                                                     \
    do {                                                                                           \
        a += md5_word(blk, k) + (uint32_t)(t) + MD5_OFF_##f(b, c, d);                              \
        a += MD5_ON_##f(b, c, d);                                                                  \
        a = ((a << (s)) | (a >> (32 - (s)))) + b;                                                  \
    } while (0)

/* The 64 steps: function, registers, message word, constant floor(2^32 |sin(i + 1)|), shift. */
#define MD5_STEPS(S)                                                                               \
    S(F, a, b, c, d, 0, 0xd76aa478, 7, 0)                                                          \
    S(F, d, a, b, c, 1, 0xe8c7b756, 12, 1)                                                         \
    S(F, c, d, a, b, 2, 0x242070db, 17, 2)                                                         \
    S(F, b, c, d, a, 3, 0xc1bdceee, 22, 3)                                                         \
    S(F, a, b, c, d, 4, 0xf57c0faf, 7, 4)                                                          \
    S(F, d, a, b, c, 5, 0x4787c62a, 12, 5)                                                         \
    S(F, c, d, a, b, 6, 0xa8304613, 17, 6)                                                         \
    S(F, b, c, d, a, 7, 0xfd469501, 22, 7)                                                         \
    S(F, a, b, c, d, 8, 0x698098d8, 7, 8)                                                          \
    S(F, d, a, b, c, 9, 0x8b44f7af, 12, 9)                                                         \
    S(F, c, d, a, b, 10, 0xffff5bb1, 17, 10) S(F, b, c, d, a, 11, 0x895cd7be, 22, 11) S(           \
        F, a, b, c, d, 12, 0x6b901122,                                                             \
        7, 12) S(F, d, a, b, c, 13, 0xfd987193, 12,                                                \
                 13) S(F, c, d, a, b, 14, 0xa679438e, 17,                                          \
                       14) S(F, b, c, d, a, 15, 0x49b40821, 22,                                    \
                             15) S(G, a, b, c, d, 1, 0xf61e2562, 5, 16)                            \
        S(G, d, a, b, c, 6, 0xc040b340, 9, 17) S(G, c, d, a, b, 11, 0x265e5a51, 14, 18)            \
            S(G, b, c, d, a, 0, 0xe9b6c7aa, 20, 19) S(G, a, b, c, d, 5, 0xd62f105d, 5, 20) S(      \
                G, d,                                                                              \
                a, b,                                                                              \
                c, 10, 0x02441453,                                                                 \
                9, 21) S(G, c, d, a, b, 15, 0xd8a1e681, 14,                                        \
                         22) S(G, b, c, d, a, 4, 0xe7d3fbc8, 20,                                   \
                               23) S(G, a, b, c, d, 9, 0x21e1cde6, 5, 24)                          \
                S(G, d, a, b, c, 14, 0xc33707d6,                                                   \
                  9, 25) S(G, c, d, a, b, 3, 0xf4d50d87, 14,                                       \
                           26) S(G, b, c, d, a, 8, 0x455a14ed, 20,                                 \
                                 27) S(G, a, b, c, d, 13, 0xa9e3e905, 5, 28)                       \
                    S(G, d, a, b, c, 2, 0xfcefa3f8, 9, 29) S(G, c, d, a, b, 7, 0x676f02d9, 14, 30) \
                        S(G, b, c, d, a, 12, 0x8d2a4c8a, 20,                                       \
                          31) S(H, a, b, c, d, 5, 0xfffa3942,                                      \
                                4, 32) S(H, d, a, b, c, 8, 0x8771f681, 11,                         \
                                         33) S(H, c, d, a, b, 11, 0x6d9d6122, 16,                  \
                                               34) S(H, b, c, d, a, 14, 0xfde5380c, 23, 35)        \
                            S(H, a, b, c, d, 1, 0xa4beea44,                                        \
                              4, 36) S(H, d, a, b, c, 4, 0x4bdecfa9, 11,                           \
                                       37) S(H, c, d, a, b, 7, 0xf6bb4b60, 16,                     \
                                             38) S(H, b, c, d, a, 10, 0xbebfbc70, 23, 39)          \
                                S(H, a, b, c, d, 13, 0x289b7ec6,                                   \
                                  4, 40) S(H, d, a, b, c, 0, 0xeaa127fa, 11,                       \
                                           41) S(H, c, d, a, b, 3, 0xd4ef3085, 16,                 \
                                                 42) S(H, b, c, d, a, 6, 0x04881d05, 23,           \
                                                       43) S(H, a, b, c, d, 9, 0xd9d4d039, 4, 44)  \
                                    S(H, d, a, b, c, 12, 0xe6db99e5, 11,                           \
                                      45) S(H, c, d, a, b, 15, 0x1fa27cf8, 16,                     \
                                            46) S(H, b, c, d, a, 2, 0xc4ac5665, 23, 47)            \
                                        S(I, a, b, c, d, 0, 0xf4292244, 6,                         \
                                          48) S(I, d, a, b, c, 7, 0x432aff97, 10,                  \
                                                49) S(I, c, d, a, b, 14, 0xab9423a7, 15, 50)       \
                                            S(I, b, c, d, a, 5, 0xfc93a039, 21,                    \
                                              51) S(I, a, b, c, d, 12, 0x655b59c3, 6,              \
                                                    52) S(I, d, a, b, c, 3, 0x8f0ccc92, 10, 53)    \
                                                S(I, c, d, a, b, 10, 0xffeff47d, 15,               \
                                                  54) S(I, b, c, d, a, 1, 0x85845dd1, 21,          \
                                                        55) S(I, a, b, c, d, 8, 0x6fa87e4f, 6, 56) \
                                                    S(I, d, a, b, c, 15, 0xfe2ce6e0, 10,           \
                                                      57) S(I, c, d, a, b, 6, 0xa3014314, 15, 58)  \
                                                        S(I, b, c, d, a, 13, 0x4e0811a1, 21, 59)   \
                                                            S(I, a, b, c, d, 4, 0xf7537e82, 6, 60) \
                                                                S(I, d, a, b, c, 11, 0xbd3af235,   \
                                                                  10, 61) S(I, c, d, a, b, 2,      \
                                                                            0x2ad7d2bb, 15, 62)    \
                                                                    S(I, b, c, d, a, 9,            \
                                                                      0xeb86d391, 21, 63)

static inline uint32_t md5_word(const uint8_t *blk, unsigned k)
{
    const uint8_t *b = blk + 4 * k;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

#define MD5_S_PLAIN(f, a, b, c, d, k, t, s, i) MD5_STEP_ALONE(f, a, b, c, d, k, t, s);

static void md5_block(uint32_t h[4], const uint8_t *blk)
{
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    MD5_STEPS(MD5_S_PLAIN)
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

/* --- what MD5, SHA-1 and SHA-256 share (Merkle-Damgard over 64-byte blocks) --------------- */

typedef void md_blocks_fn(uint32_t *h, const uint8_t *blk, size_t nblocks);

/* Whole blocks go straight to blocks(); a partial one waits in buf (fill bytes). */
static void md_update(uint32_t *h, uint8_t buf[64], uint32_t *fill, uint64_t *len,
                      md_blocks_fn *blocks, const uint8_t *p, size_t n)
{
    *len += n;
    if (*fill) {
        size_t take = 64 - *fill < n ? 64 - *fill : n;
        memcpy(buf + *fill, p, take);
        *fill += (uint32_t)take;
        p += take;
        n -= take;
        if (*fill < 64)
            return;
        blocks(h, buf, 1);
        *fill = 0;
    }
    blocks(h, p, n / 64);
    p += n / 64 * 64;
    n %= 64;
    memcpy(buf, p, n);
    *fill = (uint32_t)n;
}

/* The padding (RFC 1321, FIPS 180-4): 0x80, zeros, the length in bits in 8 bytes, big-endian
 * for SHA and little-endian for MD5; then nwords state words out in the same order. */
static void md_final(uint32_t *h, uint8_t buf[64], uint32_t *fill, uint64_t *len,
                     md_blocks_fn *blocks, bool big, unsigned nwords, uint8_t *out)
{
    uint64_t bits = *len * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (*fill < 56 ? 56 : 120) - *fill;
    for (unsigned i = 0; i < 8; i++)
        pad[padlen + i] = (uint8_t)(bits >> (big ? 56 - 8 * i : 8 * i));
    uint64_t keep = *len;
    md_update(h, buf, fill, len, blocks, pad, padlen + 8);
    *len = keep;
    for (unsigned i = 0; i < 4 * nwords; i++)
        out[i] = (uint8_t)(h[i / 4] >> (big ? 24 - 8 * (i % 4) : 8 * (i % 4)));
}

static void md5_blocks(uint32_t *h, const uint8_t *blk, size_t nblocks)
{
    for (size_t i = 0; i < nblocks; i++)
        md5_block(h, blk + 64 * i);
}

void samples_md5_init(struct samples_md5 *m)
{
    memset(m, 0, sizeof *m);
    m->h[0] = 0x67452301;
    m->h[1] = 0xefcdab89;
    m->h[2] = 0x98badcfe;
    m->h[3] = 0x10325476;
}

void samples_md5_update(struct samples_md5 *m, const uint8_t *p, size_t n)
{
    md_update(m->h, m->buf, &m->fill, &m->len, md5_blocks, p, n);
}

void samples_md5_final(struct samples_md5 *m, uint8_t out[16])
{
    md_final(m->h, m->buf, &m->fill, &m->len, md5_blocks, false, 4, out);
}

/* --- SHA-256 with the SHA extensions (FIPS 180-4) ----------------------------------------- */

/* Where the CPU has them, SHA-256 joins the fused loop too: its 32 SHA256RNDS2 a block are a
 * third serial chain, spread over the 64 MD5 steps. OpenSSL (the tests' oracle) is as fast
 * alone; the gain is the overlap. */
#ifdef FH_X86
#define SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

static const _Alignas(16) uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* The state as SHA256RNDS2 wants it: S0 = (A, B, E, F), S1 = (C, D, G, H), first named in the
 * highest 32 bits. */
SHA_TARGET static inline void sha_get(const uint32_t h[8], __m128i *s0, __m128i *s1)
{
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)h), 0xB1);
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)(h + 4)), 0x1B);
    *s0 = _mm_alignr_epi8(abcd, efgh, 8);
    *s1 = _mm_blend_epi16(efgh, abcd, 0xF0);
}

SHA_TARGET static inline void sha_put(uint32_t h[8], __m128i s0, __m128i s1)
{
    __m128i feba = _mm_shuffle_epi32(s0, 0x1B), dchg = _mm_shuffle_epi32(s1, 0xB1);
    _mm_storeu_si128((__m128i *)(void *)h, _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)(void *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}

/* Part i (0..63) of a block, so that it can sit beside step i of MD5: words 4g..4g+3 of the
 * schedule and the first two rounds at i = 4g, the next two at i = 4g + 2. W[4] holds the last
 * 16 words, M the words plus constants of the group. */
#define SHA_PART(i)                                                                                \
    do {                                                                                           \
        if (((i)&3) == 0) {                                                                        \
            const unsigned g_ = (i) >> 2;                                                          \
            if (g_ >= 4)                                                                           \
                W[g_ & 3] = _mm_sha256msg2_epu32(                                                  \
                    _mm_add_epi32(_mm_sha256msg1_epu32(W[g_ & 3], W[(g_ + 1) & 3]),                \
                                  _mm_alignr_epi8(W[(g_ + 3) & 3], W[(g_ + 2) & 3], 4)),           \
                    W[(g_ + 3) & 3]);                                                              \
            M = _mm_add_epi32(W[g_ & 3],                                                           \
                              _mm_load_si128((const __m128i *)(const void *)(sha_k + 4 * g_)));    \
            S1 = _mm_sha256rnds2_epu32(S1, S0, M);                                                 \
        } else if (((i)&3) == 2) {                                                                 \
            S0 = _mm_sha256rnds2_epu32(S0, S1, _mm_shuffle_epi32(M, 0x0E));                        \
        }                                                                                          \
    } while (0)

/* The 16 message words of the block at blk, big-endian. */
#define SHA_LOAD(blk)                                                                              \
    do {                                                                                           \
        const __m128i bswap_ = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);       \
        for (unsigned k_ = 0; k_ < 4; k_++)                                                        \
            W[k_] = _mm_shuffle_epi8(                                                              \
                _mm_loadu_si128((const __m128i *)(const void *)((blk) + 16 * k_)), bswap_);        \
    } while (0)

#define SHA_S_PLAIN(f, a, b, c, d, k, t, s, i) SHA_PART(i);

SHA_TARGET static void sha_blocks(uint32_t h[8], const uint8_t *blk, size_t nblocks)
{
    __m128i S0, S1, W[4], M;
    sha_get(h, &S0, &S1);
    for (; nblocks > 0; nblocks--, blk += 64) {
        __m128i s0 = S0, s1 = S1;
        SHA_LOAD(blk);
        MD5_STEPS(SHA_S_PLAIN)
        S0 = _mm_add_epi32(S0, s0);
        S1 = _mm_add_epi32(S1, s1);
    }
    sha_put(h, S0, S1);
}
/* SHA-1 the same way: its 20 SHA1RNDS4 a block spread over the 64 MD5 steps (one at every
 * third step). W[4] holds the last 16 message words, E the fifth state word plus the words of
 * the group, P the state before the previous group (SHA1NEXTE makes E from it). */
#define SHA1_PART(i)                                                                               \
    do {                                                                                           \
        if ((i) % 3 == 0 && (i) / 3 < 20) {                                                        \
            const unsigned g_ = (i) / 3;                                                           \
            if (g_ >= 4)                                                                           \
                X[g_ & 3] = _mm_sha1msg2_epu32(                                                    \
                    _mm_xor_si128(_mm_sha1msg1_epu32(X[g_ & 3], X[(g_ + 1) & 3]),                  \
                                  X[(g_ + 2) & 3]),                                                \
                    X[(g_ + 3) & 3]);                                                              \
            __m128i e_ = g_ == 0 ? _mm_add_epi32(E, X[0]) : _mm_sha1nexte_epu32(P, X[g_ & 3]);     \
            P = A;                                                                                 \
            A = _mm_sha1rnds4_epu32(A, e_, ((i) / 15) & 3); /* (i / 3) / 5 */                      \
        }                                                                                          \
    } while (0)

#define SHA1_LOAD(blk)                                                                             \
    do {                                                                                           \
        const __m128i rev_ = _mm_set_epi64x(0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL);         \
        for (unsigned k_ = 0; k_ < 4; k_++)                                                        \
            X[k_] = _mm_shuffle_epi8(                                                              \
                _mm_loadu_si128((const __m128i *)(const void *)((blk) + 16 * k_)), rev_);          \
    } while (0)

/* State in: A = (a, b, c, d) with a in the highest 32 bits, E = (e, 0, 0, 0). */
SHA_TARGET static inline void sha1_get(const uint32_t h[5], __m128i *a, __m128i *e)
{
    *a = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)h), 0x1B);
    *e = _mm_set_epi32((int)h[4], 0, 0, 0);
}

SHA_TARGET static inline void sha1_put(uint32_t h[5], __m128i a, __m128i e)
{
    _mm_storeu_si128((__m128i *)(void *)h, _mm_shuffle_epi32(a, 0x1B));
    h[4] = (uint32_t)_mm_extract_epi32(e, 3);
}

#define SHA1_S_PLAIN(f, a, b, c, d, k, t, s, i) SHA1_PART(i);

SHA_TARGET static void sha1_blocks(uint32_t h[5], const uint8_t *blk, size_t nblocks)
{
    __m128i A, E, X[4], P;
    sha1_get(h, &A, &E);
    for (; nblocks > 0; nblocks--, blk += 64) {
        __m128i a0 = A, e0 = E;
        P = A;
        SHA1_LOAD(blk);
        MD5_STEPS(SHA1_S_PLAIN)
        E = _mm_sha1nexte_epu32(P, e0);
        A = _mm_add_epi32(A, a0);
    }
    sha1_put(h, A, E);
}
#endif

bool samples_sha256_hw(void)
{
#ifdef FH_X86
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 29) & 1) &&
           __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("ssse3");
#else
    return false;
#endif
}

void samples_sha256_init(struct samples_sha256 *m)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memset(m, 0, sizeof *m);
    memcpy(m->h, h0, sizeof h0);
}

/* Without x86 the SHA extensions do not exist and samples.c uses OpenSSL: these do nothing. */
#ifdef FH_X86
static void sha256_blocks(uint32_t *h, const uint8_t *blk, size_t nblocks)
{
    sha_blocks(h, blk, nblocks);
}

static void sha1_blocks_any(uint32_t *h, const uint8_t *blk, size_t nblocks)
{
    sha1_blocks(h, blk, nblocks);
}
#else
static void sha256_blocks(uint32_t *h, const uint8_t *blk, size_t nblocks)
{
    (void)h;
    (void)blk;
    (void)nblocks;
}
#define sha1_blocks_any sha256_blocks
#endif

void samples_sha256_update(struct samples_sha256 *m, const uint8_t *p, size_t n)
{
    md_update(m->h, m->buf, &m->fill, &m->len, sha256_blocks, p, n);
}

void samples_sha256_final(struct samples_sha256 *m, uint8_t out[32])
{
    md_final(m->h, m->buf, &m->fill, &m->len, sha256_blocks, true, 8, out);
}

void samples_sha1_init(struct samples_sha1 *m)
{
    static const uint32_t h0[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    memset(m, 0, sizeof *m);
    memcpy(m->h, h0, sizeof h0);
}

void samples_sha1_update(struct samples_sha1 *m, const uint8_t *p, size_t n)
{
    md_update(m->h, m->buf, &m->fill, &m->len, sha1_blocks_any, p, n);
}

void samples_sha1_final(struct samples_sha1 *m, uint8_t out[20])
{
    md_final(m->h, m->buf, &m->fill, &m->len, sha1_blocks_any, true, 5, out);
}

/* --- ssdeep ------------------------------------------------------------------------------- */

#define SS_LEN 64      /* SPAMSUM_LENGTH */
#define SS_NBH 31      /* block sizes 3 << 0 .. 3 << 30 */
#define SS_INIT 0x27   /* FNV offset basis, low 6 bits */
#define SS_PRIME 0x13u /* FNV prime 0x01000193, low 6 bits */
#define SS_BS(i) ((uint32_t)3 << (i))
#define SS_TOTAL_MAX ((uint64_t)SS_BS(SS_NBH - 1) * SS_LEN)

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static inline uint8_t fnv6(uint8_t h, uint8_t c)
{
    return (uint8_t)(((h * SS_PRIME) ^ c) & 0x3f);
}

void samples_ssdeep_init(struct samples_ssdeep *s)
{
    memset(s, 0, sizeof *s);
    s->bhend = 1;
    s->bhmax = SS_NBH;
    s->bh[0].h = s->bh[0].halfh = SS_INIT;
    s->reduce_border = (uint64_t)3 * SS_LEN;
    for (unsigned x = 0; x < 64; x++)
        s->map[x] = (uint8_t)x;
}

/* Brings the FNV states up to date with the pending map. */
static void ss_apply(struct samples_ssdeep *s)
{
    if (!s->pending)
        return;
    for (uint32_t i = s->bhstart; i < s->bhend; i++) {
        s->bh[i].h = s->map[s->bh[i].h] & 0x3f;
        s->bh[i].halfh = s->map[s->bh[i].halfh] & 0x3f;
    }
    if (s->need_lasth)
        s->lasth = s->map[s->lasth] & 0x3f;
    for (unsigned x = 0; x < 64; x++)
        s->map[x] = (uint8_t)x;
    s->pending = false;
}

/* The first trigger of a block size starts the next one from its state. */
static void ss_fork(struct samples_ssdeep *s)
{
    struct ssdeep_block *o = &s->bh[s->bhend - 1];
    if (s->bhend < s->bhmax) {
        struct ssdeep_block *n = o + 1;
        n->h = o->h;
        n->halfh = o->halfh;
        n->digest[0] = '\0';
        n->halfdigest = '\0';
        n->dindex = 0;
        s->bhend++;
    } else if (s->bhend == SS_NBH && !s->need_lasth) {
        s->need_lasth = true;
        s->lasth = o->h;
    }
}

/* Drops the smallest block size once the digest can no longer use it. */
static void ss_reduce(struct samples_ssdeep *s)
{
    if (s->bhend - s->bhstart < 2 || s->reduce_border >= s->total ||
        s->bh[s->bhstart + 1].dindex < SS_LEN / 2)
        return;
    s->bhstart++;
    s->reduce_border *= 2;
    s->rollmask = s->rollmask * 2 + 1;
}

/* A reset point: horg = rolling sum + 1, a non-zero multiple of 3 << bhstart; the states are
 * up to date. Block size i ends a piece when horg is a multiple of 3 << i. */
static void ss_trigger(struct samples_ssdeep *s, uint32_t horg)
{
    uint32_t h = (horg / 3) >> s->bhstart;
    uint32_t i = s->bhstart;
    do {
        struct ssdeep_block *b = &s->bh[i];
        if (b->dindex == 0)
            ss_fork(s);
        b->digest[b->dindex] = b64[b->h];
        b->halfdigest = b64[b->halfh];
        if (b->dindex < SS_LEN - 1) {
            b->digest[++b->dindex] = '\0';
            b->h = SS_INIT;
            if (b->dindex < SS_LEN / 2) {
                b->halfh = SS_INIT;
                b->halfdigest = '\0';
            }
        } else {
            ss_reduce(s);
        }
        if (h & 1)
            break;
        h >>= 1;
    } while (++i < s->bhend);
}

static inline bool ss_triggers(const struct samples_ssdeep *s, uint32_t horg)
{
    return horg != 0 && ((horg / 3) & s->rollmask) == 0 && horg % 3 == 0;
}

/* One byte, the portable way (the states must be up to date). */
static void ss_step(struct samples_ssdeep *s, uint8_t c)
{
    s->h2 -= s->h1;
    s->h2 += 7u * c;
    s->h1 += c;
    s->h1 -= s->window[s->wn];
    s->window[s->wn] = c;
    if (++s->wn == 7)
        s->wn = 0;
    s->h3 = (s->h3 << 5) ^ c;
    uint32_t horg = s->h1 + s->h2 + s->h3 + 1;
    for (uint32_t i = s->bhstart; i < s->bhend; i++) {
        s->bh[i].h = fnv6(s->bh[i].h, c);
        s->bh[i].halfh = fnv6(s->bh[i].halfh, c);
    }
    if (s->need_lasth)
        s->lasth = fnv6(s->lasth, c);
    if (ss_triggers(s, horg))
        ss_trigger(s, horg);
}

/* The rolling state after the 7 bytes w[0] (oldest) .. w[6]. */
static void ss_roll_from(struct samples_ssdeep *s, const uint8_t *w)
{
    s->h1 = s->h2 = s->h3 = 0;
    s->wn = 0;
    for (unsigned k = 0; k < 7; k++) {
        s->window[k] = w[k];
        s->h1 += w[k];
        s->h2 += (k + 1) * (uint32_t)w[k];
        s->h3 ^= (uint32_t)w[k] << (5 * (6 - k));
    }
}

#define SS_LANES 0x003f003f003f003full /* four FNV states, 16-bit lanes */

/* The FNV states of the live block sizes (h, halfh, ...) and the last hash, four to a word in
 * 16-bit lanes; the number of words. */
static unsigned ss_pack(const struct samples_ssdeep *s, uint64_t w[16])
{
    unsigned j = 0, nw = (2 * (s->bhend - s->bhstart) + s->need_lasth + 3) / 4;
    memset(w, 0, (nw > 2 ? nw : 2) * sizeof w[0]);
    for (uint32_t i = s->bhstart; i < s->bhend; i++, j += 2) {
        w[j / 4] |= (uint64_t)s->bh[i].h << (16 * (j % 4));
        w[j / 4] |= (uint64_t)s->bh[i].halfh << (16 * ((j + 1) % 4));
    }
    if (s->need_lasth)
        w[j / 4] |= (uint64_t)s->lasth << (16 * (j % 4));
    return nw;
}

static void ss_unpack(struct samples_ssdeep *s, const uint64_t w[16])
{
    unsigned j = 0;
    for (uint32_t i = s->bhstart; i < s->bhend; i++, j += 2) {
        s->bh[i].h = (uint8_t)(w[j / 4] >> (16 * (j % 4)) & 0x3f);
        s->bh[i].halfh = (uint8_t)(w[j / 4] >> (16 * ((j + 1) % 4)) & 0x3f);
    }
    if (s->need_lasth)
        s->lasth = (uint8_t)(w[j / 4] >> (16 * (j % 4)) & 0x3f);
}

/* Positions [from, to) of p the portable way, from >= 7 (the window is p[t - 7 .. t - 1]); the
 * states up to date on entry, the rolling state left for ss_roll_from. ss_step's work with the
 * rolling sums in registers and the FNV states stepped four at a time: 19x ^ c of a 6-bit x
 * stays below 2^16, so one 64-bit multiply steps four 16-bit lanes. The struct is brought up
 * to date only where a piece ends. */
static void ss_bytes(struct samples_ssdeep *s, const uint8_t *p, size_t from, size_t to)
{
    uint64_t w[16];
    unsigned nw = ss_pack(s, w);
    uint64_t w0 = w[0], w1 = w[1];
    uint32_t h1 = s->h1, h2 = s->h2, h3 = s->h3, rollmask = s->rollmask;
    for (size_t t = from; t < to; t++) {
        uint32_t c = p[t];
        h2 += 7 * c - h1;
        h1 += c - p[t - 7];
        h3 = (h3 << 5) ^ c;
        uint64_t cw = c * 0x0001000100010001ull;
        w0 = (w0 * SS_PRIME ^ cw) & SS_LANES;
        w1 = (w1 * SS_PRIME ^ cw) & SS_LANES;
        if (nw > 2)
            for (unsigned k = 2; k < nw; k++)
                w[k] = (w[k] * SS_PRIME ^ cw) & SS_LANES;
        /* 3 divides horg != 0 iff horg / 3 (times 1/3 mod 2^32) is in 1 .. 2^32 / 3 */
        uint32_t horg = h1 + h2 + h3 + 1;
        if ((horg & rollmask) == 0 && horg * 0xaaaaaaabu - 1 < 0x55555555u) {
            w[0] = w0;
            w[1] = w1;
            ss_unpack(s, w);
            ss_trigger(s, horg);
            nw = ss_pack(s, w);
            w0 = w[0];
            w1 = w[1];
            rollmask = s->rollmask;
        }
    }
    w[0] = w0;
    w[1] = w1;
    ss_unpack(s, w);
}

#ifdef FH_X86
/* compose(a, b): the map "a, then b" (a VPERMB). */
#define SS_THEN(a, b) _mm512_permutexvar_epi8((a), (b))

/* The FNV map of byte c, x -> (19x ^ c) mod 64, for the 64 values of c mod 64 (4 KiB). */
#define SS_ROW(c)                                                                                  \
    {                                                                                              \
        0 ^ (c), 19 ^ (c), 38 ^ (c), 57 ^ (c), 12 ^ (c), 31 ^ (c), 50 ^ (c), 5 ^ (c), 24 ^ (c),    \
            43 ^ (c), 62 ^ (c), 17 ^ (c), 36 ^ (c), 55 ^ (c), 10 ^ (c), 29 ^ (c), 48 ^ (c),        \
            3 ^ (c), 22 ^ (c), 41 ^ (c), 60 ^ (c), 15 ^ (c), 34 ^ (c), 53 ^ (c), 8 ^ (c),          \
            27 ^ (c), 46 ^ (c), 1 ^ (c), 20 ^ (c), 39 ^ (c), 58 ^ (c), 13 ^ (c), 32 ^ (c),         \
            51 ^ (c), 6 ^ (c), 25 ^ (c), 44 ^ (c), 63 ^ (c), 18 ^ (c), 37 ^ (c), 56 ^ (c),         \
            11 ^ (c), 30 ^ (c), 49 ^ (c), 4 ^ (c), 23 ^ (c), 42 ^ (c), 61 ^ (c), 16 ^ (c),         \
            35 ^ (c), 54 ^ (c), 9 ^ (c), 28 ^ (c), 47 ^ (c), 2 ^ (c), 21 ^ (c), 40 ^ (c),          \
            59 ^ (c), 14 ^ (c), 33 ^ (c), 52 ^ (c), 7 ^ (c), 26 ^ (c), 45 ^ (c)                    \
    }
static const _Alignas(64) uint8_t ss_m[64][64] = {
    SS_ROW(0),  SS_ROW(1),  SS_ROW(2),  SS_ROW(3),  SS_ROW(4),  SS_ROW(5),  SS_ROW(6),  SS_ROW(7),
    SS_ROW(8),  SS_ROW(9),  SS_ROW(10), SS_ROW(11), SS_ROW(12), SS_ROW(13), SS_ROW(14), SS_ROW(15),
    SS_ROW(16), SS_ROW(17), SS_ROW(18), SS_ROW(19), SS_ROW(20), SS_ROW(21), SS_ROW(22), SS_ROW(23),
    SS_ROW(24), SS_ROW(25), SS_ROW(26), SS_ROW(27), SS_ROW(28), SS_ROW(29), SS_ROW(30), SS_ROW(31),
    SS_ROW(32), SS_ROW(33), SS_ROW(34), SS_ROW(35), SS_ROW(36), SS_ROW(37), SS_ROW(38), SS_ROW(39),
    SS_ROW(40), SS_ROW(41), SS_ROW(42), SS_ROW(43), SS_ROW(44), SS_ROW(45), SS_ROW(46), SS_ROW(47),
    SS_ROW(48), SS_ROW(49), SS_ROW(50), SS_ROW(51), SS_ROW(52), SS_ROW(53), SS_ROW(54), SS_ROW(55),
    SS_ROW(56), SS_ROW(57), SS_ROW(58), SS_ROW(59), SS_ROW(60), SS_ROW(61), SS_ROW(62), SS_ROW(63)};
#undef SS_ROW

FH_TARGET __attribute__((always_inline)) static inline __m512i ss_row(uint8_t c)
{
    return _mm512_load_si512((const void *)ss_m[c & 0x3f]);
}

/* The rolling sum + 1 at q[0] from q[-6..0], exactly. */
static uint32_t ss_horg_at(const uint8_t *q)
{
    uint32_t sum = 0, xo = 0;
    for (unsigned k = 0; k < 7; k++) {
        sum += (8 - k) * (uint32_t)q[-(int)k];
        xo ^= (uint32_t)q[-(int)k] << (5 * k);
    }
    return sum + xo + 1;
}

/* The low 16 bits of the rolling sum + 1 at the 32 positions q[0..31] (reads q[-6] on): enough
 * to find the positions whose sum may trigger (h1 + h2 <= 8925; of h3 only c[t-k] << 5k with
 * k <= 3 reach the low 16 bits). */
FH_TARGET static inline __m512i ss_horg32(const uint8_t *q)
{
    __m512i x = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)q));
    __m512i sum = _mm512_slli_epi16(x, 3), xo = x;
#pragma GCC unroll 8
    for (unsigned k = 1; k < 7; k++) {
        x = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(q - k)));
        sum = _mm512_add_epi16(sum, _mm512_mullo_epi16(x, _mm512_set1_epi16((short)(8 - k))));
        if (k <= 3)
            xo = _mm512_xor_si512(xo, _mm512_slli_epi16(x, 5 * k));
    }
    return _mm512_add_epi16(_mm512_add_epi16(sum, xo), _mm512_set1_epi16(1));
}

/* Which of q[0..31] have a rolling sum + 1 that is a non-zero multiple of 3, from its low half
 * lo = ss_horg32(q); its high half in *hip. The 32-bit sum + 1 is hi * 2^16 + lo: hi is the
 * high half of h3 (the c[t-k] << 5k with k >= 2 reach it) plus the carry out of lo, and
 * 2^16 = 1 mod 3, so 3 divides it iff 3 divides hi + lo (each folded to <= 510 first:
 * 2^8 = 1 mod 3; then x * 0xaaab mod 2^16 <= 0x5555, 0xaaab being 1/3 mod 2^16). */
FH_TARGET __attribute__((always_inline)) static inline uint32_t ss_div3(const uint8_t *q,
                                                                        __m512i lo, __m512i *hip)
{
    __m512i c[7];
    for (unsigned k = 0; k < 7; k++)
        c[k] = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(q - k)));
    __m512i xlo = _mm512_xor_si512(
        _mm512_xor_si512(c[0], _mm512_slli_epi16(c[1], 5)),
        _mm512_xor_si512(_mm512_slli_epi16(c[2], 10), _mm512_slli_epi16(c[3], 15)));
    __m512i hi = _mm512_xor_si512(
        _mm512_xor_si512(_mm512_srli_epi16(c[2], 6), _mm512_srli_epi16(c[3], 1)),
        _mm512_xor_si512(_mm512_xor_si512(_mm512_slli_epi16(c[4], 4), _mm512_slli_epi16(c[5], 9)),
                         _mm512_slli_epi16(c[6], 14)));
    /* lo = xlo + (h1 + h2 + 1) mod 2^16 with 1 <= h1 + h2 + 1 < 2^16: it carried iff lo < xlo */
    hi = _mm512_mask_add_epi16(hi, _mm512_cmplt_epu16_mask(lo, xlo), hi, _mm512_set1_epi16(1));
    __m512i any = _mm512_or_si512(hi, lo), ff = _mm512_set1_epi16(0xff);
    __m512i r =
        _mm512_add_epi16(_mm512_add_epi16(_mm512_srli_epi16(hi, 8), _mm512_and_si512(hi, ff)),
                         _mm512_add_epi16(_mm512_srli_epi16(lo, 8), _mm512_and_si512(lo, ff)));
    *hip = hi;
    return _mm512_test_epi16_mask(any, any) &
           _mm512_cmple_epu16_mask(_mm512_mullo_epi16(r, _mm512_set1_epi16((short)0xaaab)),
                                   _mm512_set1_epi16(0x5555));
}

/* Of the candidates cand among q[0..31] (lo & rollmask == 0), those that trigger: the sum + 1
 * is also non-zero and a multiple of 3 (and of 3 << bhstart when bhstart > 16). Two of three
 * candidates are not: this spares them the slow path. */
FH_TARGET static uint32_t ss_exact32(const uint8_t *q, __m512i lo, uint32_t cand, uint32_t rollmask,
                                     __m512i *hi)
{
    uint32_t m = cand & ss_div3(q, lo, hi);
    if (rollmask >> 16)
        m &= _mm512_testn_epi16_mask(*hi, _mm512_set1_epi16((short)(rollmask >> 16)));
    return m;
}

/* The map of the 4 bytes q[0..3]. */
FH_TARGET __attribute__((always_inline)) static inline __m512i ss_four(const uint8_t *q)
{
    return SS_THEN(SS_THEN(ss_row(q[0]), ss_row(q[1])), SS_THEN(ss_row(q[2]), ss_row(q[3])));
}

/* F, then the bytes q[a..b-1] of a group whose 4-byte maps are f: whole quads from f. */
FH_TARGET __attribute__((always_inline)) static inline __m512i
ss_compose(__m512i F, const uint8_t *q, const __m512i f[8], unsigned a, unsigned b)
{
    for (; a < b && (a & 3); a++)
        F = SS_THEN(F, ss_row(q[a]));
    for (; a + 4 <= b; a += 4)
        F = SS_THEN(F, f[a >> 2]);
    for (; a < b; a++)
        F = SS_THEN(F, ss_row(q[a]));
    return F;
}

/* The states brought up to date with the map F; the identity map. */
FH_TARGET __attribute__((always_inline)) static inline __m512i
ss_apply_map(struct samples_ssdeep *s, __m512i F)
{
    _Alignas(64) uint8_t m[64];
    _mm512_store_si512((void *)m, F);
    for (uint32_t i = s->bhstart; i < s->bhend; i++) {
        s->bh[i].h = m[s->bh[i].h] & 0x3f;
        s->bh[i].halfh = m[s->bh[i].halfh] & 0x3f;
    }
    if (s->need_lasth)
        s->lasth = m[s->lasth] & 0x3f;
    return _mm512_set_epi64(0x3f3e3d3c3b3a3938, 0x3736353433323130, 0x2f2e2d2c2b2a2928,
                            0x2726252423222120, 0x1f1e1d1c1b1a1918, 0x1716151413121110,
                            0x0f0e0d0c0b0a0908, 0x0706050403020100);
}

/* Positions trig of q[0..31] trigger (with the rollmask of the group's start: a reduction on
 * the way raises it, so each is checked again), their rolling sums + 1 hi * 2^16 + lo: the
 * bytes up to each are composed into the map, which is applied to the states there. */
FH_TARGET __attribute__((noinline)) static __m512i ss_slow32(struct samples_ssdeep *s,
                                                             const uint8_t *q, __m512i F,
                                                             uint32_t trig, __m512i lo, __m512i hi)
{
    _Alignas(64) uint16_t lv[32], hv[32];
    _mm512_store_si512((void *)lv, lo);
    _mm512_store_si512((void *)hv, hi);
    __m512i f[8];
    for (unsigned k = 0; k < 8; k++)
        f[k] = ss_four(q + 4 * k);
    unsigned from = 0;
    for (; trig; trig &= trig - 1) {
        unsigned l = (unsigned)__builtin_ctz(trig);
        uint32_t horg = (uint32_t)hv[l] << 16 | lv[l];
        if (!ss_triggers(s, horg))
            continue;
        F = ss_apply_map(s, ss_compose(F, q, f, from, l + 1));
        ss_trigger(s, horg);
        from = l + 1;
    }
    return ss_compose(F, q, f, from, 32);
}

/* 32 positions q[0..31]: F is the pending map, returned with the 32 bytes composed in (a tree
 * of VPERMB, so that only one of them waits on the previous F). */
FH_TARGET __attribute__((always_inline)) static inline __m512i
ss_group32(struct samples_ssdeep *s, const uint8_t *q, __m512i F)
{
    __m512i horg = ss_horg32(q);
    uint32_t cand = _mm512_testn_epi16_mask(horg, _mm512_set1_epi16((short)(s->rollmask & 0xffff)));
    if (__builtin_expect(cand != 0, 0)) {
        __m512i hi;
        cand = ss_exact32(q, horg, cand, s->rollmask, &hi);
        if (cand)
            return ss_slow32(s, q, F, cand, horg, hi);
    }
    __m512i f[8];
    for (unsigned k = 0; k < 8; k++)
        f[k] = ss_four(q + 4 * k);
    __m512i a = SS_THEN(SS_THEN(f[0], f[1]), SS_THEN(f[2], f[3]));
    __m512i b = SS_THEN(SS_THEN(f[4], f[5]), SS_THEN(f[6], f[7]));
    return SS_THEN(F, SS_THEN(a, b));
}

/* ss_count's groups: positions [from, to) of p, from >= 6, (to - from) % 32 == 0. */
FH_TARGET static void ss_count_simd(const uint8_t *p, size_t from, size_t to, uint32_t kmax,
                                    uint32_t cnt[SS_NBH], uint32_t *base)
{
    for (size_t t = from; t < to; t += 32) {
        __m512i lo = ss_horg32(p + t), hi;
        uint32_t m = ss_div3(p + t, lo, &hi);
        for (uint32_t k = *base; m && k <= kmax; k++) {
            if (k <= 16)
                m &= _mm512_testn_epi16_mask(lo, _mm512_set1_epi16((short)((1u << k) - 1)));
            else
                m &= _mm512_testn_epi16_mask(lo, _mm512_set1_epi16(-1)) &
                     _mm512_testn_epi16_mask(hi, _mm512_set1_epi16((short)((1u << (k - 16)) - 1)));
            if ((cnt[k] += (uint32_t)__builtin_popcount(m)) >= SS_LEN / 2)
                *base = k + 1;
        }
    }
}

/* Positions [from, to) of p, from >= 6, (to - from) % 32 == 0. */
FH_TARGET static void ss_simd(struct samples_ssdeep *s, const uint8_t *p, size_t from, size_t to)
{
    __m512i F = _mm512_load_si512((const void *)s->map);
    for (size_t t = from; t < to; t += 32)
        F = ss_group32(s, p + t, F);
    _mm512_store_si512((void *)s->map, F);
    s->pending = true;
}
#endif

void samples_ssdeep_update(struct samples_ssdeep *s, const uint8_t *p, size_t n)
{
    if (n > SS_TOTAL_MAX || SS_TOTAL_MAX - n < s->total)
        s->total = SS_TOTAL_MAX + 1;
    else
        s->total += n;
    size_t t = 0;
#ifdef FH_X86
    if (n >= 6 + 64 && samples_fuzzy_simd_active()) {
        ss_apply(s);
        for (; t < 6; t++)
            ss_step(s, p[t]);
        size_t end = 6 + (n - 6) / 32 * 32;
        ss_simd(s, p, 6, end);
        ss_roll_from(s, p + end - 7);
        t = end;
    }
#endif
    if (t < n) {
        ss_apply(s);
        for (; t < n && t < 7; t++)
            ss_step(s, p[t]);
    }
    if (t < n) {
        ss_bytes(s, p, t, n);
        ss_roll_from(s, p + n - 7);
    }
}

/* The block size of the digest, as fuzzy_digest chooses it: the smallest from bhstart whose
 * 64 characters cover the input, at most the largest that exists, then down while it has fewer
 * than 32 characters. */
static uint32_t ss_choose(const struct samples_ssdeep *s)
{
    uint32_t bi = s->bhstart;
    while ((uint64_t)SS_BS(bi) * SS_LEN < s->total)
        bi++;
    if (bi >= s->bhend)
        bi = s->bhend - 1;
    while (bi > s->bhstart && s->bh[bi].dindex < SS_LEN / 2)
        bi--;
    return bi;
}

/* "BS:H1:H2" from block sizes bi and bi + 1 (when it exists), the states up to date. */
static void ss_write(const struct samples_ssdeep *s, uint32_t bi, char out[SAMPLES_SSDEEP_MAX])
{
    uint32_t h = s->h1 + s->h2 + s->h3;
    char *r = out;
    int len = 0;
    /* "%u:" by hand: the block size has at most 10 digits */
    char num[16];
    uint32_t bs = SS_BS(bi);
    do {
        num[len++] = (char)('0' + bs % 10);
        bs /= 10;
    } while (bs);
    while (len)
        *r++ = num[--len];
    *r++ = ':';
    const struct ssdeep_block *b = &s->bh[bi];
    memcpy(r, b->digest, b->dindex);
    r += b->dindex;
    if (h != 0)
        *r++ = b64[b->h];
    else if (b->digest[b->dindex] != '\0')
        *r++ = b->digest[b->dindex];
    *r++ = ':';
    if (bi < s->bhend - 1) {
        b = &s->bh[bi + 1];
        uint32_t i = b->dindex > SS_LEN / 2 - 1 ? SS_LEN / 2 - 1 : b->dindex;
        memcpy(r, b->digest, i);
        r += i;
        if (h != 0)
            *r++ = b64[b->halfh];
        else if (b->halfdigest != '\0')
            *r++ = b->halfdigest;
    } else if (h != 0) {
        *r++ = bi == 0 ? b64[b->h] : b64[s->lasth];
    }
    *r = '\0';
}

int samples_ssdeep_digest(struct samples_ssdeep *s, char out[SAMPLES_SSDEEP_MAX])
{
    ss_apply(s);
    out[0] = '\0';
    if (s->total > SS_TOTAL_MAX)
        return -1;
    ss_write(s, ss_choose(s), out);
    return 0;
}

_Static_assert(KS_SAMPLES_SSDEEP_MAX == SAMPLES_SSDEEP_MAX, "one digest size");

/* Above this the one-shot leaves the input to the streaming engine (its guess would reach the
 * top block sizes, where the last hash comes into play). */
#define SS_ONESHOT_MAX ((size_t)64 << 20)
/* Below SS_ONESHOT_TWO * 3 << g bytes the first pass also takes g - 1: g then often has fewer
 * than 32 characters (40: the fastest on a mail corpus, between 32 and 64). */
#define SS_ONESHOT_TWO 40

/* One position of ss_count: its rolling sum + 1 counts for the block sizes dividing it. */
static inline void ss_count_one(uint32_t horg, uint32_t kmax, uint32_t cnt[SS_NBH], uint32_t *base)
{
    if (horg == 0 || horg % 3 != 0)
        return;
    uint32_t v = (uint32_t)__builtin_ctz(horg); /* 3 << k divides horg iff k <= v */
    for (uint32_t k = *base; k <= kmax && k <= v; k++)
        if (++cnt[k] >= SS_LEN / 2)
            *base = k + 1;
}

/* ss_count's positions [0, to) of p, the portable way. */
static void ss_count_bytes(const uint8_t *p, size_t to, uint32_t kmax, uint32_t cnt[SS_NBH],
                           uint32_t *base)
{
    uint32_t h1 = 0, h2 = 0, h3 = 0, b = *base, mask = (1u << b) - 1;
    for (size_t t = 0; t < to && b <= kmax; t++) {
        uint32_t c = p[t];
        h2 += 7 * c - h1;
        h1 += c - (t >= 7 ? p[t - 7] : 0);
        h3 = (h3 << 5) ^ c;
        uint32_t horg = h1 + h2 + h3 + 1;
        if ((horg & mask) == 0) {
            ss_count_one(horg, kmax, cnt, &b);
            mask = (1u << b) - 1;
        }
    }
    *base = b;
}

/* Which of block sizes 0..kmax fuzzy_digest would take for p: the largest with 32 characters,
 * else 0. A block size's characters are its triggers (up to 63), the positions where the
 * rolling sum + 1 is a non-zero multiple of it, so they are counted without its FNV states:
 * cnt[k] for each block size k >= base, base raised past those that reached 32 (the counts
 * only fall as k grows). */
static uint32_t ss_count(const uint8_t *p, size_t n, uint32_t kmax)
{
    uint32_t cnt[SS_NBH] = {0}, base = 0;
    size_t to = n;
#ifdef FH_X86
    if (n >= 6 + 64 && samples_fuzzy_simd_active()) {
        size_t end = 6 + (n - 6) / 32 * 32;
        ss_count_bytes(p, 6, kmax, cnt, &base);
        ss_count_simd(p, 6, end, kmax, cnt, &base);
        for (size_t t = end; t < n && base <= kmax; t++)
            ss_count_one(ss_horg_at(p + t), kmax, cnt, &base);
        to = 0;
    }
#endif
    ss_count_bytes(p, to, kmax, cnt, &base);
    return base > kmax ? kmax : base ? base - 1 : 0;
}

/* Block sizes lo..hi of p, and hi + 1 (each forked from the one below at its first trigger,
 * as in the streaming engine), as if bhstart were lo from the start and never moved. */
static void ss_levels(struct samples_ssdeep *s, const uint8_t *p, size_t n, uint32_t lo,
                      uint32_t hi)
{
    samples_ssdeep_init(s);
    s->bh[lo].h = s->bh[lo].halfh = SS_INIT;
    s->bhstart = lo;
    s->bhend = lo + 1;
    s->bhmax = hi + 2;
    s->rollmask = ((uint32_t)1 << lo) - 1;
    s->reduce_border = UINT64_MAX; /* never drops lo */
    samples_ssdeep_update(s, p, n);
    ss_apply(s);
}

/* The one-shot knows the length, so instead of keeping every small block size alive for the
 * first KBs (triggers every few bytes) it computes only the ones the digest reads. Each block
 * size's states depend only on the bytes (one forked at the first trigger of the one below has
 * what it would have had from byte 0: it cannot trigger before), and the streaming engine
 * drops a block size only once the next has 32 characters, so fuzzy_digest's walk down ends
 * at the same place from the smallest guess g whose 64 characters cover the input: the
 * largest block size up to g with 32 characters, or 0 (those above the largest existing one
 * never trigger, so the clamp to it is part of the walk). A first pass takes g (and g - 1),
 * enough for most inputs; else the triggers of those below are counted, and a last pass
 * takes the one chosen and the next. */
bool ks_samples_ssdeep(const void *buf, size_t len, char out[KS_SAMPLES_SSDEEP_MAX])
{
    struct samples_ssdeep s;
    if (len > SS_ONESHOT_MAX) {
        samples_ssdeep_init(&s);
        samples_ssdeep_update(&s, buf, len);
        if (samples_ssdeep_digest(&s, out) == 0)
            return true;
        out[0] = '\0';
        return false;
    }
    uint32_t g = 0;
    while ((uint64_t)SS_BS(g) * SS_LEN < len)
        g++;
    uint32_t lo = g > 0 && (uint64_t)SS_BS(g) * SS_ONESHOT_TWO > len ? g - 1 : g, bi = g;
    ss_levels(&s, buf, len, lo, g);
    while (bi > lo && s.bh[bi].dindex < SS_LEN / 2)
        bi--;
    if (bi > 0 && s.bh[bi].dindex < SS_LEN / 2) {
        bi = ss_count(buf, len, lo - 1);
        ss_levels(&s, buf, len, bi, bi);
    }
    ss_write(&s, bi, out);
    return true;
}

/* --- TLSH --------------------------------------------------------------------------------- */

/* The Pearson permutation of the TLSH specification (Oliver, Cheng, Chen 2013): part of the
 * algorithm, like the round constants of SHA-2. */
static const uint8_t pt[256] = {
    1,   87,  49,  12,  176, 178, 102, 166, 121, 193, 6,   84,  249, 230, 44,  163, 14,  197, 213,
    181, 161, 85,  218, 80,  64,  239, 24,  226, 236, 142, 38,  200, 110, 177, 104, 103, 141, 253,
    255, 50,  77,  101, 81,  18,  45,  96,  31,  222, 25,  107, 190, 70,  86,  237, 240, 34,  72,
    242, 20,  214, 244, 227, 149, 235, 97,  234, 57,  22,  60,  250, 82,  175, 208, 5,   127, 199,
    111, 62,  135, 248, 174, 169, 211, 58,  66,  154, 106, 195, 245, 171, 17,  187, 182, 179, 0,
    243, 132, 56,  148, 75,  128, 133, 158, 100, 130, 126, 91,  13,  153, 246, 216, 219, 119, 68,
    223, 78,  83,  88,  201, 99,  122, 11,  92,  32,  136, 114, 52,  10,  138, 30,  48,  183, 156,
    35,  61,  26,  143, 74,  251, 94,  129, 162, 63,  152, 170, 7,   115, 167, 241, 206, 3,   150,
    55,  59,  151, 220, 90,  53,  23,  131, 125, 173, 15,  238, 79,  95,  89,  16,  105, 137, 225,
    224, 217, 160, 37,  123, 118, 73,  2,   157, 46,  116, 9,   145, 134, 228, 207, 212, 202, 215,
    69,  229, 27,  188, 67,  124, 168, 252, 42,  4,   29,  108, 21,  247, 19,  205, 39,  203, 233,
    40,  186, 147, 198, 192, 155, 33,  164, 191, 98,  204, 165, 180, 117, 76,  140, 36,  210, 172,
    41,  54,  159, 8,   185, 232, 113, 196, 231, 47,  146, 120, 51,  65,  28,  144, 254, 221, 93,
    189, 194, 139, 112, 43,  71,  109, 184, 209};

#define TL_MIN 256 /* MIN_DATA_LENGTH of libtlsh 3.3+ */

void samples_tlshc_init(struct samples_tlshc *t)
{
    memset(t, 0, sizeof *t);
}

/* b_mapping(salt, a, b, c) with the first look-up done: k = pt[salt]. */
static inline uint8_t tl_map(uint8_t k, uint8_t a, uint8_t b, uint8_t c)
{
    return pt[pt[pt[k ^ a] ^ b] ^ c];
}

/* One byte, the portable way. */
static inline void tl_step(struct samples_tlshc *t, uint8_t c0)
{
    uint8_t c1 = t->win[0], c2 = t->win[1], c3 = t->win[2], c4 = t->win[3];
    if (t->len >= 4) {
        uint32_t *cnt = t->cnt[t->len & 3];
        t->cs = pt[pt[pt[1 ^ c0] ^ c1] ^ t->cs]; /* salt 0: pt[0] = 1 */
        cnt[tl_map(49, c0, c1, c2)]++;           /* salt 2: pt[2] = 49 */
        cnt[tl_map(12, c0, c1, c3)]++;           /* 3 */
        cnt[tl_map(178, c0, c2, c3)]++;          /* 5 */
        cnt[tl_map(166, c0, c2, c4)]++;          /* 7 */
        cnt[tl_map(84, c0, c1, c4)]++;           /* 11 */
        cnt[tl_map(230, c0, c3, c4)]++;          /* 13 */
    }
    t->win[3] = c3;
    t->win[2] = c2;
    t->win[1] = c1;
    t->win[0] = c0;
    t->len++;
}

#ifdef FH_X86
struct tl_regs {
    __m512i T0, T1, T2, T3; /* the Pearson table in four registers */
};

/* 64 look-ups in the 256-byte table. */
FH_TARGET static inline __m512i tl_look(const struct tl_regs *R, __m512i v)
{
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), _mm512_permutex2var_epi8(R->T0, v, R->T1),
                                  _mm512_permutex2var_epi8(R->T2, v, R->T3));
}

FH_TARGET static inline __m512i tl_triple(const struct tl_regs *R, uint8_t k, __m512i a, __m512i b,
                                          __m512i c)
{
    __m512i v = tl_look(R, _mm512_xor_si512(a, _mm512_set1_epi8((char)k)));
    v = tl_look(R, _mm512_xor_si512(v, b));
    return tl_look(R, _mm512_xor_si512(v, c));
}

/* What the scalar part needs of 64 positions: the checksum steps, and the bucket numbers below
 * 128 (the only buckets the digest reads: about half of the 6 x 64) packed in lst, followed by
 * at least 256 bytes of 255 (a bucket never read) so that each position can take a fixed 3 or 4
 * of them. */
#define TL_SLOTS 208 /* taken by the 64 positions: 13 per 4 */
struct tl_buf {
    _Alignas(64) uint8_t cs[64];
    uint8_t lst[6 * 64 + 256];
    unsigned n; /* real entries in lst */
};

FH_TARGET static inline unsigned tl_pack(uint8_t *lst, unsigned n, __m512i v)
{
    __mmask64 keep = ~_mm512_movepi8_mask(v);
    _mm512_storeu_si512((void *)(lst + n),
                        _mm512_mask_compress_epi8(_mm512_set1_epi8(-1), keep, v));
    return n + (unsigned)__builtin_popcountll(keep);
}

/* The 64 positions q[0..63] (reads q[-4] on). */
FH_TARGET static inline void tl_vec64(const struct tl_regs *R, const uint8_t *q, struct tl_buf *b)
{
    __m512i x0 = _mm512_loadu_si512((const void *)q),
            x1 = _mm512_loadu_si512((const void *)(q - 1)),
            x2 = _mm512_loadu_si512((const void *)(q - 2)),
            x3 = _mm512_loadu_si512((const void *)(q - 3)),
            x4 = _mm512_loadu_si512((const void *)(q - 4));
    __m512i v = tl_look(R, _mm512_xor_si512(x0, _mm512_set1_epi8(1))); /* salt 0: pt[0] = 1 */
    _mm512_store_si512((void *)b->cs, tl_look(R, _mm512_xor_si512(v, x1)));
    unsigned n = tl_pack(b->lst, 0, tl_triple(R, 49, x0, x1, x2)); /* salt 2 */
    n = tl_pack(b->lst, n, tl_triple(R, 12, x0, x1, x3));          /* 3 */
    n = tl_pack(b->lst, n, tl_triple(R, 178, x0, x2, x3));         /* 5 */
    n = tl_pack(b->lst, n, tl_triple(R, 166, x0, x2, x4));         /* 7 */
    n = tl_pack(b->lst, n, tl_triple(R, 84, x0, x1, x4));          /* 11 */
    n = tl_pack(b->lst, n, tl_triple(R, 230, x0, x3, x4));         /* 13 */
    for (unsigned k = 0; k < 256; k += 64)
        _mm512_storeu_si512((void *)(b->lst + n + k), _mm512_set1_epi8(-1));
    b->n = n;
}

FH_TARGET static inline void tl_regs_load(struct tl_regs *R)
{
    R->T0 = _mm512_loadu_si512((const void *)pt);
    R->T1 = _mm512_loadu_si512((const void *)(pt + 64));
    R->T2 = _mm512_loadu_si512((const void *)(pt + 128));
    R->T3 = _mm512_loadu_si512((const void *)(pt + 192));
}

/* The checksum is a serial chain (one dependent look-up per byte); the counts beside it keep
 * the core busy while it waits. Four count tables, by position: runs of one bucket do not
 * wait on each other's stores. */
#define TL_LANE(l, u)                                                                              \
    do {                                                                                           \
        uint32_t *cnt_ = t->cnt[u];                                                                \
        const uint8_t *e_ = tb.lst + ((l) >> 2) * 13 + (u)*3;                                      \
        cs = pt[tb.cs[(l) + (u)] ^ cs];                                                            \
        cnt_[e_[0]]++;                                                                             \
        cnt_[e_[1]]++;                                                                             \
        cnt_[e_[2]]++;                                                                             \
        if ((u) == 3)                                                                              \
            cnt_[e_[3]]++;                                                                         \
    } while (0)

/* The bucket numbers beyond the 208 the positions took (rare: 6 x 64 draws of a coin). */
#define TL_REST()                                                                                  \
    do {                                                                                           \
        for (unsigned j_ = TL_SLOTS; j_ < tb.n; j_++)                                              \
            t->cnt[0][tb.lst[j_]]++;                                                               \
    } while (0)

/* Positions [from, to) of p, from >= 4, (to - from) % 64 == 0, at least 4 bytes fed before. */
FH_TARGET static void tl_simd(struct samples_tlshc *t, const uint8_t *p, size_t from, size_t to)
{
    struct tl_regs R;
    tl_regs_load(&R);
    struct tl_buf tb;
    uint8_t cs = t->cs;
    for (size_t i = from; i < to; i += 64) {
        tl_vec64(&R, p + i, &tb);
        for (unsigned l = 0; l < 64; l += 4) {
            TL_LANE(l, 0);
            TL_LANE(l, 1);
            TL_LANE(l, 2);
            TL_LANE(l, 3);
        }
        TL_REST();
    }
    t->cs = cs;
}

/* The fused kernel: ssdeep, TLSH and the byte histogram of positions [from, to) of p,
 * from >= 6, (to - from) % 64 == 0, and with md5h the MD5 blocks at blk (one per 64 positions),
 * with sha (SHA extensions only) the SHA-256 blocks too. Per 64 positions: the TLSH look-ups
 * and the ssdeep work as vectors, then the serial parts in one stream: the 64 steps of the MD5
 * block each beside one step of the TLSH checksum and that position's counts (and a part of
 * the SHA-256 block), so that the out-of-order core overlaps the chains. */
#define MD5_S_FUSED(f, a, b, c, d, k, t_, s_, i)                                                   \
    MD5_STEP(f, a, b, c, d, k, t_, s_);                                                            \
    TL_LANE((i) & ~3u, (i)&3u);                                                                    \
    hist[(i)&3][q[i]]++;                                                                           \
    if (with_sha) {                                                                                \
        SHA_PART(i);                                                                               \
        SHA1_PART(i);                                                                              \
    }

FH_TARGET __attribute__((always_inline)) static inline void
fused_md5(struct samples_ssdeep *s, struct samples_tlshc *t, uint64_t hist[4][256],
          const uint8_t *p, size_t from, size_t to, uint32_t md5h[4], uint32_t shah[8],
          uint32_t sha1h[5], const uint8_t *blk, const bool with_sha)
{
    struct tl_regs R;
    tl_regs_load(&R);
    __m512i F = _mm512_load_si512((const void *)s->map);
    struct tl_buf tb;
    uint8_t cs = t->cs;
    __m128i S0 = _mm_setzero_si128(), S1 = S0, W[4] = {S0, S0, S0, S0}, M = S0;
    __m128i A = S0, E = S0, X[4] = {S0, S0, S0, S0}, P = S0;
    if (with_sha) {
        sha_get(shah, &S0, &S1);
        sha1_get(sha1h, &A, &E);
    }
    uint32_t h0 = md5h[0], h1 = md5h[1], h2 = md5h[2], h3 = md5h[3];
    for (size_t i = from; i < to; i += 64, blk += 64) {
        const uint8_t *q = p + i;
        tl_vec64(&R, q, &tb);
        F = ss_group32(s, q, F);
        F = ss_group32(s, q + 32, F);
        __m128i s0 = S0, s1 = S1, a0 = A, e0 = E;
        if (with_sha) {
            SHA_LOAD(blk);
            SHA1_LOAD(blk);
            P = A;
        }
        uint32_t a = h0, b = h1, c = h2, d = h3;
        MD5_STEPS(MD5_S_FUSED)
        h0 += a;
        h1 += b;
        h2 += c;
        h3 += d;
        if (with_sha) {
            S0 = _mm_add_epi32(S0, s0);
            S1 = _mm_add_epi32(S1, s1);
            E = _mm_sha1nexte_epu32(P, e0);
            A = _mm_add_epi32(A, a0);
        }
        TL_REST();
    }
    md5h[0] = h0;
    md5h[1] = h1;
    md5h[2] = h2;
    md5h[3] = h3;
    if (with_sha) {
        sha_put(shah, S0, S1);
        sha1_put(sha1h, A, E);
    }
    t->cs = cs;
    _mm512_store_si512((void *)s->map, F);
    s->pending = true;
}
#undef MD5_S_FUSED

FH_TARGET static void fused_md5_sha(struct samples_ssdeep *s, struct samples_tlshc *t,
                                    uint64_t hist[4][256], const uint8_t *p, size_t from, size_t to,
                                    uint32_t md5h[4], uint32_t shah[8], uint32_t sha1h[5],
                                    const uint8_t *blk)
{
    fused_md5(s, t, hist, p, from, to, md5h, shah, sha1h, blk, true);
}

FH_TARGET static void fused_md5_only(struct samples_ssdeep *s, struct samples_tlshc *t,
                                     uint64_t hist[4][256], const uint8_t *p, size_t from,
                                     size_t to, uint32_t md5h[4], const uint8_t *blk)
{
    fused_md5(s, t, hist, p, from, to, md5h, NULL, NULL, blk, false);
}

/* The same without MD5. */
FH_TARGET static void fused_simd(struct samples_ssdeep *s, struct samples_tlshc *t,
                                 uint64_t hist[4][256], const uint8_t *p, size_t from, size_t to)
{
    struct tl_regs R;
    tl_regs_load(&R);
    __m512i F = _mm512_load_si512((const void *)s->map);
    struct tl_buf tb;
    uint8_t cs = t->cs;
    for (size_t i = from; i < to; i += 64) {
        const uint8_t *q = p + i;
        tl_vec64(&R, q, &tb);
        for (unsigned g = 0; g < 64; g += 32) {
            F = ss_group32(s, q + g, F);
            for (unsigned l = g; l < g + 32; l += 4) {
                TL_LANE(l, 0);
                TL_LANE(l, 1);
                TL_LANE(l, 2);
                TL_LANE(l, 3);
                hist[0][q[l]]++;
                hist[1][q[l + 1]]++;
                hist[2][q[l + 2]]++;
                hist[3][q[l + 3]]++;
            }
        }
        TL_REST();
    }
    t->cs = cs;
    _mm512_store_si512((void *)s->map, F);
    s->pending = true;
}
#endif

/* After positions [.., end) were done by vectors: the TLSH window and length. */
static void tl_resync(struct samples_tlshc *t, const uint8_t *p, size_t end, size_t done)
{
    t->len += (uint32_t)done;
    t->win[0] = p[end - 1];
    t->win[1] = p[end - 2];
    t->win[2] = p[end - 3];
    t->win[3] = p[end - 4];
}

void samples_tlshc_update(struct samples_tlshc *t, const uint8_t *p, size_t n)
{
    size_t i = 0;
#ifdef FH_X86
    if (n >= 4 + 64 && samples_fuzzy_simd_active()) {
        for (; i < 4; i++)
            tl_step(t, p[i]);
        size_t end = 4 + (n - 4) / 64 * 64;
        tl_simd(t, p, 4, end);
        tl_resync(t, p, end, end - 4);
        i = end;
    }
#endif
    for (; i < n; i++)
        tl_step(t, p[i]);
}

static void hist_add(uint64_t hist[4][256], const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hist[0][p[i]]++;
}

void samples_fuzzy_update(struct samples_md5 *m5, struct samples_sha1 *s1,
                          struct samples_sha256 *sh, struct samples_ssdeep *s,
                          struct samples_tlshc *t, uint64_t hist[4][256], const uint8_t *p,
                          size_t n)
{
#ifdef FH_X86
    if (n >= 6 + 64 && samples_fuzzy_simd_active()) {
        if (n > SS_TOTAL_MAX || SS_TOTAL_MAX - n < s->total)
            s->total = SS_TOTAL_MAX + 1;
        else
            s->total += n;
        ss_apply(s);
        for (size_t i = 0; i < 6; i++) {
            ss_step(s, p[i]);
            tl_step(t, p[i]);
        }
        hist_add(hist, p, 6);
        size_t end = 6 + (n - 6) / 64 * 64, md5_done = 0, sha_done = 0;
        if (m5 && m5->fill == 0 && s1 && s1->fill == 0 && sh && sh->fill == 0) {
            md5_done = sha_done = end - 6; /* blocks on p itself: fused */
            fused_md5_sha(s, t, hist, p, 6, end, m5->h, sh->h, s1->h, p);
            m5->len += md5_done;
            s1->len += sha_done;
            sh->len += sha_done;
        } else if (m5 && m5->fill == 0) {
            md5_done = end - 6;
            fused_md5_only(s, t, hist, p, 6, end, m5->h, p);
            m5->len += md5_done;
        } else {
            fused_simd(s, t, hist, p, 6, end);
        }
        if (m5)
            samples_md5_update(m5, p + md5_done, n - md5_done);
        if (s1)
            samples_sha1_update(s1, p + sha_done, n - sha_done);
        if (sh)
            samples_sha256_update(sh, p + sha_done, n - sha_done);
        ss_roll_from(s, p + end - 7);
        tl_resync(t, p, end, end - 6);
        if (end < n) {
            ss_apply(s);
            for (size_t i = end; i < n; i++) {
                ss_step(s, p[i]);
                tl_step(t, p[i]);
            }
            hist_add(hist, p + end, n - end);
        }
        return;
    }
#endif
    if (m5)
        samples_md5_update(m5, p, n);
    if (s1)
        samples_sha1_update(s1, p, n);
    if (sh)
        samples_sha256_update(sh, p, n);
    samples_ssdeep_update(s, p, n);
    samples_tlshc_update(t, p, n);
    hist_add(hist, p, n);
}

static uint8_t tl_swap(uint8_t b)
{
    return (uint8_t)((b << 4) | (b >> 4));
}

/* The length byte, computed as libtlsh does (float logarithm, double division). */
static uint8_t tl_lvalue(uint32_t len)
{
    double l = (double)logf((float)len);
    int i;
    if (len <= 656)
        i = (int)floor(l / 0.4054651);
    else if (len <= 3199)
        i = (int)floor(l / 0.26236426 - 8.72777);
    else
        i = (int)floor(l / 0.095310180 - 62.5472);
    return (uint8_t)(i & 0xff);
}

void samples_tlshc_final(struct samples_tlshc *t, char *out, size_t size)
{
    static const char hexd[] = "0123456789ABCDEF";
    uint32_t b[128], s[128];
    if (size)
        out[0] = '\0';
    if (t->len < TL_MIN || size < SAMPLES_TLSH_LEN + 1)
        return;
    unsigned nonzero = 0;
    for (unsigned k = 0; k < 128; k++) {
        b[k] = t->cnt[0][k] + t->cnt[1][k] + t->cnt[2][k] + t->cnt[3][k];
        nonzero += b[k] > 0;
    }
    if (nonzero <= 64)
        return;
    /* the quartiles: the 32nd, 64th and 96th smallest counts (insertion sort of 128) */
    for (unsigned k = 0; k < 128; k++) {
        uint32_t v = b[k];
        unsigned j = k;
        for (; j > 0 && s[j - 1] > v; j--)
            s[j] = s[j - 1];
        s[j] = v;
    }
    uint32_t q1 = s[31], q2 = s[63], q3 = s[95];
    uint8_t bin[3 + 32];
    bin[0] = tl_swap(t->cs);
    bin[1] = tl_swap(tl_lvalue(t->len));
    unsigned q1r = (unsigned)((float)(q1 * 100) / (float)q3) % 16;
    unsigned q2r = (unsigned)((float)(q2 * 100) / (float)q3) % 16;
    bin[2] = (uint8_t)(q1r << 4 | q2r);
    for (unsigned i = 0; i < 32; i++) {
        unsigned h = 0;
        for (unsigned j = 0; j < 4; j++) {
            uint32_t k = b[4 * i + j];
            h |= (unsigned)((q3 < k) ? 3 : (q2 < k) ? 2 : (q1 < k) ? 1 : 0) << (2 * j);
        }
        bin[3 + 31 - i] = (uint8_t)h;
    }
    for (unsigned i = 0; i < sizeof bin; i++) {
        out[2 * i] = hexd[bin[i] >> 4];
        out[2 * i + 1] = hexd[bin[i] & 15];
    }
    out[SAMPLES_TLSH_LEN] = '\0';
}
