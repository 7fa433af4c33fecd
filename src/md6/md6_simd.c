/* MD6 compression with SIMD, compiled for each instruction set with target attributes and
 * chosen at run time (md6.c). Two kinds of parallelism, both from the structure of MD6:
 *  - lanes: independent nodes of the tree (leaves, and parents of one level) in the lanes of a
 *    vector, one 64-bit lane per node, so each step is the scalar step on vectors;
 *  - within a node: the nearest tap is 17 words back, so the 16 steps of a round are
 *    independent; with AVX-512 a round is two 8-word vectors, the taps cut out of a window of
 *    the last 96 words kept in registers (valignq). */
#include "md6/md6_internal.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

typedef uint64_t md6_v2 __attribute__((vector_size(16)));
typedef uint64_t md6_v4 __attribute__((vector_size(32)));
typedef uint64_t md6_v8 __attribute__((vector_size(64)));

#define SPLAT2(x) ((md6_v2){(x), (x)})
#define SPLAT4(x) ((md6_v4){(x), (x), (x), (x)})
#define SPLAT8(x) ((md6_v8){(x), (x), (x), (x), (x), (x), (x), (x)})

/* Word j of every node into A[25 + j], lane by lane (lanes past n repeat node 0). */
#define MD6_LOAD_SCALAR(A, W, jobs, n, be)                                                         \
    for (unsigned l = 0; l < (W); l++) {                                                           \
        const uint8_t *d = jobs[l < (n) ? l : 0].data;                                             \
        if (be)                                                                                    \
            for (unsigned j = 0; j < MD6_B; j++)                                                   \
                A[25 + j][l] = md6_load_be(d + 8 * j);                                             \
        else                                                                                       \
            for (unsigned j = 0; j < MD6_B; j++)                                                   \
                A[25 + j][l] = md6_load_ne(d + 8 * j);                                             \
    }

/* The lane kernel for vectors of W words: lane l computes jobs[l] (lanes past n repeat job 0
 * and are dropped). The inputs are transposed into A so that A[j] holds word j of every node. */
#define MD6_LANES_KERNEL(FN, VT, W, TGT, SPLAT, LOAD)                                              \
    TGT static void FN(const uint64_t K[MD6_K], unsigned r, const struct md6_job *jobs,            \
                       unsigned n, int be, uint64_t(*out)[MD6_C])                                  \
    {                                                                                              \
        VT A[128] __attribute__((aligned(64)));                                                    \
        for (unsigned j = 0; j < MD6_Q; j++)                                                       \
            A[j] = SPLAT(md6_Q[j]);                                                                \
        for (unsigned j = 0; j < MD6_K; j++)                                                       \
            A[MD6_Q + j] = SPLAT(K[j]);                                                            \
        for (unsigned l = 0; l < (W); l++) {                                                       \
            A[23][l] = jobs[l < n ? l : 0].U;                                                      \
            A[24][l] = jobs[l < n ? l : 0].V;                                                      \
        }                                                                                          \
        LOAD(A, W, jobs, n, be);                                                                   \
        MD6_ROUNDS(A, r, SPLAT);                                                                   \
        for (unsigned l = 0; l < n; l++)                                                           \
            for (unsigned s = 0; s < MD6_C; s++)                                                   \
                out[l][s] = A[MD6_OUT_INDEX(r, s)][l];                                             \
        memset(A, 0, sizeof A);                                                                    \
        __asm__ __volatile__("" : : "r"(A) : "memory");                                            \
    }

#define AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx512bw")))

/* AVX-512 input: per 8 words of the 8 nodes, 8 loads, a byte swap for message bytes and an 8x8
 * transpose, so A is written with whole vectors (scalar stores into A would make the first
 * rounds' vector loads wait for store forwarding that cannot happen). */
AVX512_TARGET static void avx512_load(md6_v8 *A, const struct md6_job *jobs, unsigned n, int be)
{
    const __m512i swap = _mm512_set_epi64(
        0x08090a0b0c0d0e0fLL, 0x0001020304050607LL, 0x08090a0b0c0d0e0fLL, 0x0001020304050607LL,
        0x08090a0b0c0d0e0fLL, 0x0001020304050607LL, 0x08090a0b0c0d0e0fLL, 0x0001020304050607LL);
    const uint8_t *d[8];
    for (unsigned l = 0; l < 8; l++)
        d[l] = jobs[l < n ? l : 0].data;
    for (unsigned jb = 0; jb < MD6_B; jb += 8) {
        __m512i x[8], y[8];
        for (unsigned l = 0; l < 8; l++) {
            x[l] = _mm512_loadu_si512(d[l] + 8 * jb);
            if (be)
                x[l] = _mm512_shuffle_epi8(x[l], swap);
        }
        /* rows = nodes, columns = words: 2x2 blocks of words, then of pairs, then of quads */
        for (unsigned l = 0; l < 8; l += 2) {
            y[l] = _mm512_unpacklo_epi64(x[l], x[l + 1]);
            y[l + 1] = _mm512_unpackhi_epi64(x[l], x[l + 1]);
        }
        const __m512i i0 = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
        const __m512i i1 = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
        for (unsigned q = 0; q < 8; q += 4)
            for (unsigned e = 0; e < 2; e++) {
                x[q + e] = _mm512_permutex2var_epi64(y[q + e], i0, y[q + e + 2]);
                x[q + e + 2] = _mm512_permutex2var_epi64(y[q + e], i1, y[q + e + 2]);
            }
        const __m512i j0 = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
        const __m512i j1 = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
        for (unsigned e = 0; e < 4; e++) {
            y[e] = _mm512_permutex2var_epi64(x[e], j0, x[e + 4]);
            y[e + 4] = _mm512_permutex2var_epi64(x[e], j1, x[e + 4]);
        }
        for (unsigned w = 0; w < 8; w++)
            _mm512_store_si512(&A[25 + jb + w], y[w]);
    }
}
#define MD6_LOAD_AVX512(A, W, jobs, n, be) avx512_load(A, jobs, n, be)

/* The same for AVX2: 4x4 transposes. */
__attribute__((target("avx2"))) static void avx2_load(md6_v4 *A, const struct md6_job *jobs,
                                                      unsigned n, int be)
{
    const __m256i swap = _mm256_set_epi64x(0x08090a0b0c0d0e0fLL, 0x0001020304050607LL,
                                           0x08090a0b0c0d0e0fLL, 0x0001020304050607LL);
    const uint8_t *d[4];
    for (unsigned l = 0; l < 4; l++)
        d[l] = jobs[l < n ? l : 0].data;
    for (unsigned jb = 0; jb < MD6_B; jb += 4) {
        __m256i x[4];
        for (unsigned l = 0; l < 4; l++) {
            x[l] = _mm256_loadu_si256((const __m256i *)(const void *)(d[l] + 8 * jb));
            if (be)
                x[l] = _mm256_shuffle_epi8(x[l], swap);
        }
        __m256i t0 = _mm256_unpacklo_epi64(x[0], x[1]), t1 = _mm256_unpackhi_epi64(x[0], x[1]);
        __m256i t2 = _mm256_unpacklo_epi64(x[2], x[3]), t3 = _mm256_unpackhi_epi64(x[2], x[3]);
        _mm256_store_si256((__m256i *)(void *)&A[25 + jb], _mm256_permute2x128_si256(t0, t2, 0x20));
        _mm256_store_si256((__m256i *)(void *)&A[26 + jb], _mm256_permute2x128_si256(t1, t3, 0x20));
        _mm256_store_si256((__m256i *)(void *)&A[27 + jb], _mm256_permute2x128_si256(t0, t2, 0x31));
        _mm256_store_si256((__m256i *)(void *)&A[28 + jb], _mm256_permute2x128_si256(t1, t3, 0x31));
    }
}
#define MD6_LOAD_AVX2(A, W, jobs, n, be) avx2_load(A, jobs, n, be)

MD6_LANES_KERNEL(sse2_many, md6_v2, 2, __attribute__((target("sse2"))), SPLAT2, MD6_LOAD_SCALAR)
MD6_LANES_KERNEL(avx2_many, md6_v4, 4, __attribute__((target("avx2"))), SPLAT4, MD6_LOAD_AVX2)
MD6_LANES_KERNEL(avx512_many, md6_v8, 8, AVX512_TARGET, SPLAT8, MD6_LOAD_AVX512)

/* One node with AVX-512. W[m] holds words i-8(m+1) .. i-8m-1 before the round that writes
 * words i .. i+15, lowest word in lane 0. The vector of tap t for the words starting at
 * i - t = i - 8a + b lies across W[a-1] and W[a-2]: valignq by b. */
#define TAP(hi, lo, b) _mm512_alignr_epi64(hi, lo, b)
AVX512_TARGET static void avx512_one(const uint64_t N[MD6_N], unsigned r, uint64_t out[MD6_C])
{
    __m512i W0 = _mm512_loadu_si512(N + 81), W1 = _mm512_loadu_si512(N + 73);
    __m512i W2 = _mm512_loadu_si512(N + 65), W3 = _mm512_loadu_si512(N + 57);
    __m512i W4 = _mm512_loadu_si512(N + 49), W5 = _mm512_loadu_si512(N + 41);
    __m512i W6 = _mm512_loadu_si512(N + 33), W7 = _mm512_loadu_si512(N + 25);
    __m512i W8 = _mm512_loadu_si512(N + 17), W9 = _mm512_loadu_si512(N + 9);
    __m512i W10 = _mm512_loadu_si512(N + 1);
    __m512i W11 = _mm512_set_epi64((long long)N[0], 0, 0, 0, 0, 0, 0, 0);
    /* Shift amounts of steps 0..7 and 8..15, lane 0 first. */
    const __m512i R0 = _mm512_set_epi64(7, 2, 12, 11, 10, 13, 5, 10);
    const __m512i L0 = _mm512_set_epi64(15, 27, 9, 15, 16, 9, 24, 11);
    const __m512i R1 = _mm512_set_epi64(12, 6, 7, 11, 13, 7, 15, 14);
    const __m512i L1 = _mm512_set_epi64(9, 31, 5, 15, 8, 29, 2, 6);
    uint64_t s = MD6_S0;
    for (unsigned j = 0; j < r; j++) {
        __m512i S = _mm512_set1_epi64((long long)s);
        __m512i x = _mm512_ternarylogic_epi64(S, TAP(W10, W11, 7), TAP(W1, W2, 7), 0x96);
        x = _mm512_ternarylogic_epi64(x, TAP(W1, W2, 6), TAP(W1, W2, 3), 0x78);
        x = _mm512_ternarylogic_epi64(x, TAP(W2, W3, 1), TAP(W7, W8, 5), 0x78);
        x = _mm512_xor_si512(x, _mm512_srlv_epi64(x, R0));
        __m512i H0 = _mm512_xor_si512(x, _mm512_sllv_epi64(x, L0));
        /* The second half's taps are 8 words later; none reaches the first half. */
        x = _mm512_ternarylogic_epi64(S, TAP(W9, W10, 7), TAP(W0, W1, 7), 0x96);
        x = _mm512_ternarylogic_epi64(x, TAP(W0, W1, 6), TAP(W0, W1, 3), 0x78);
        x = _mm512_ternarylogic_epi64(x, TAP(W1, W2, 1), TAP(W6, W7, 5), 0x78);
        x = _mm512_xor_si512(x, _mm512_srlv_epi64(x, R1));
        __m512i H1 = _mm512_xor_si512(x, _mm512_sllv_epi64(x, L1));
        W11 = W9;
        W10 = W8;
        W9 = W7;
        W8 = W6;
        W7 = W5;
        W6 = W4;
        W5 = W3;
        W4 = W2;
        W3 = W1;
        W2 = W0;
        W1 = H0;
        W0 = H1;
        s = (s << 1 | s >> 63) ^ (s & MD6_SMASK);
    }
    _mm512_storeu_si512(out, W1);
    _mm512_storeu_si512(out + 8, W0);
}
#undef TAP

static void scalar_one(const uint64_t N[MD6_N], unsigned r, uint64_t out[MD6_C])
{
    md6_kernel_portable.one(N, r, out);
}

static const struct md6_kernel k_sse2 = {
    .path = KS_MD6_PATH_SSE2, .name = "sse2", .lanes = 2, .many = sse2_many, .one = scalar_one};
static const struct md6_kernel k_avx2 = {
    .path = KS_MD6_PATH_AVX2, .name = "avx2", .lanes = 4, .many = avx2_many, .one = scalar_one};
static const struct md6_kernel k_avx512 = {.path = KS_MD6_PATH_AVX512,
                                           .name = "avx512",
                                           .lanes = 8,
                                           .many = avx512_many,
                                           .one = avx512_one};

const struct md6_kernel *md6_kernel_sse2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse2") ? &k_sse2 : NULL;
}

const struct md6_kernel *md6_kernel_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? &k_avx2 : NULL;
}

const struct md6_kernel *md6_kernel_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512bw")
               ? &k_avx512
               : NULL;
}

#else

const struct md6_kernel *md6_kernel_sse2(void)
{
    return NULL;
}

const struct md6_kernel *md6_kernel_avx2(void)
{
    return NULL;
}

const struct md6_kernel *md6_kernel_avx512(void)
{
    return NULL;
}

#endif
