/* MD6 internals: constants of the specification, the compression kernels behind the run-time
 * dispatch, and the step/round macros that every kernel instantiates. */
#ifndef KS_MD6_INTERNAL_H
#define KS_MD6_INTERNAL_H

#include "kansoku/ks_md6.h"

#include <stdint.h>

/* Sizes in 64-bit words (MD6 report, section 2): compression input n, output c, data block b,
 * the constant Q, the key K. */
#define MD6_N 89
#define MD6_C 16
#define MD6_B 64
#define MD6_Q 15
#define MD6_K 8
#define MD6_BLOCK_BYTES 512 /* b words */

/* Leaves hashed as one group: 4^3, so that a group of full leaves is a complete subtree. */
#define MD6_GROUP_LEAVES 64
#define MD6_GROUP_BYTES (MD6_GROUP_LEAVES * MD6_BLOCK_BYTES)
#define MD6_MAX_LANES 8
#define MD6_LEVELS 32 /* 2^64 bits make 4^26 leaves: the root is below level 28 */

extern const uint64_t md6_Q[MD6_Q];

/* Round constants: S_0 and the mask S* of S_{j+1} = (S_j <<< 1) ^ (S_j & S*). */
#define MD6_S0 UINT64_C(0x0123456789abcdef)
#define MD6_SMASK UINT64_C(0x7311c2812425cfa0)

/* One compression of a batch: the data of node l is jobs[l].data, 64 words, either big-endian
 * bytes of the message (leaves, be = 1) or native words (outputs of children, be = 0). */
struct md6_job {
    uint64_t U, V;
    const void *data;
};

struct md6_kernel {
    enum ks_md6_path path;
    const char *name;
    unsigned lanes;
    /* Compresses n (1..lanes) nodes sharing K and r; out[l] gets node l's 16 words. */
    void (*many)(const uint64_t K[MD6_K], unsigned r, const struct md6_job *jobs, unsigned n,
                 int be, uint64_t (*out)[MD6_C]);
    /* Compresses one 89-word input. */
    void (*one)(const uint64_t N[MD6_N], unsigned r, uint64_t out[MD6_C]);
};

extern const struct md6_kernel md6_kernel_portable;
/* NULL when the build has no such kernel (non-x86 targets). */
const struct md6_kernel *md6_kernel_sse2(void);
const struct md6_kernel *md6_kernel_avx2(void);
const struct md6_kernel *md6_kernel_avx512(void);

/* The kernel for a path (AUTO resolved), or NULL if this CPU lacks it. */
const struct md6_kernel *md6_kernel_for(enum ks_md6_path path);

static inline uint64_t md6_load_be(const void *p)
{
    const uint8_t *b = p;
    uint64_t x;
    __builtin_memcpy(&x, b, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

static inline uint64_t md6_load_ne(const void *p)
{
    uint64_t x;
    __builtin_memcpy(&x, p, 8);
    return x;
}

/* The control word V (report 2.5.3): 4 reserved bits, r (12), L (8), z (4), p (16),
 * keylen (8), d (12). */
static inline uint64_t md6_control_word(unsigned r, unsigned L, unsigned z, unsigned p,
                                        unsigned keylen, unsigned d)
{
    return (uint64_t)r << 48 | (uint64_t)L << 40 | (uint64_t)z << 36 | (uint64_t)p << 20 |
           (uint64_t)keylen << 12 | (uint64_t)d;
}

/* The node ID U: level (8 bits), index within the level (56 bits). */
static inline uint64_t md6_node_id(unsigned level, uint64_t index)
{
    return (uint64_t)level << 56 | index;
}

/* The compression loop over a ring of 128 words (or vectors) A: step i reads words i-89, i-17,
 * i-18, i-21, i-31 and i-67 (the taps t5, t0..t4) and writes word i, so the newest 89 are all
 * that must be kept. Round j writes words 89 + 16 j .. + 15; with the ring index i mod 128 the
 * round's base repeats every 8 rounds, so each of the 8 round shapes is unrolled with constant
 * indices. x >> rs and x << ls are the step's shifts (report 2.6, table of r_i and l_i). */
#define MD6_AT(A, i) A[(i)&127]
#define MD6_STEP(A, S, base, s, rs, ls)                                                            \
    do {                                                                                           \
        __typeof__(S) x_ = (S) ^ MD6_AT(A, (base) + (s)-89) ^ MD6_AT(A, (base) + (s)-17);          \
        x_ ^= MD6_AT(A, (base) + (s)-18) & MD6_AT(A, (base) + (s)-21);                             \
        x_ ^= MD6_AT(A, (base) + (s)-31) & MD6_AT(A, (base) + (s)-67);                             \
        x_ ^= x_ >> (rs);                                                                          \
        MD6_AT(A, (base) + (s)) = x_ ^ (x_ << (ls));                                               \
    } while (0)
#define MD6_ROUND(A, S, base)                                                                      \
    do {                                                                                           \
        MD6_STEP(A, S, base, 0, 10, 11);                                                           \
        MD6_STEP(A, S, base, 1, 5, 24);                                                            \
        MD6_STEP(A, S, base, 2, 13, 9);                                                            \
        MD6_STEP(A, S, base, 3, 10, 16);                                                           \
        MD6_STEP(A, S, base, 4, 11, 15);                                                           \
        MD6_STEP(A, S, base, 5, 12, 9);                                                            \
        MD6_STEP(A, S, base, 6, 2, 27);                                                            \
        MD6_STEP(A, S, base, 7, 7, 15);                                                            \
        MD6_STEP(A, S, base, 8, 14, 6);                                                            \
        MD6_STEP(A, S, base, 9, 15, 2);                                                            \
        MD6_STEP(A, S, base, 10, 7, 29);                                                           \
        MD6_STEP(A, S, base, 11, 13, 8);                                                           \
        MD6_STEP(A, S, base, 12, 11, 15);                                                          \
        MD6_STEP(A, S, base, 13, 7, 5);                                                            \
        MD6_STEP(A, S, base, 14, 6, 31);                                                           \
        MD6_STEP(A, S, base, 15, 12, 9);                                                           \
    } while (0)
/* All r rounds; Sv is the round constant in A's element type, made from the scalar s_. */
#define MD6_ROUNDS(A, r, SPLAT)                                                                    \
    do {                                                                                           \
        uint64_t s_ = MD6_S0;                                                                      \
        for (unsigned j_ = 0; j_ < (r); j_++) {                                                    \
            __typeof__(A[0]) Sv_ = SPLAT(s_);                                                      \
            switch (j_ & 7) {                                                                      \
            case 0:                                                                                \
                MD6_ROUND(A, Sv_, 89);                                                             \
                break;                                                                             \
            case 1:                                                                                \
                MD6_ROUND(A, Sv_, 105);                                                            \
                break;                                                                             \
            case 2:                                                                                \
                MD6_ROUND(A, Sv_, 121);                                                            \
                break;                                                                             \
            case 3:                                                                                \
                MD6_ROUND(A, Sv_, 137);                                                            \
                break;                                                                             \
            case 4:                                                                                \
                MD6_ROUND(A, Sv_, 153);                                                            \
                break;                                                                             \
            case 5:                                                                                \
                MD6_ROUND(A, Sv_, 169);                                                            \
                break;                                                                             \
            case 6:                                                                                \
                MD6_ROUND(A, Sv_, 185);                                                            \
                break;                                                                             \
            default:                                                                               \
                MD6_ROUND(A, Sv_, 201);                                                            \
                break;                                                                             \
            }                                                                                      \
            s_ = (s_ << 1 | s_ >> 63) ^ (s_ & MD6_SMASK);                                          \
        }                                                                                          \
    } while (0)
/* Ring index of output word s (0..15) after r rounds: word 89 + 16 (r - 1) + s. For r = 0 these
 * are the input's last 16 words, as the reference computes. */
#define MD6_OUT_INDEX(r, s) ((73u + 16u * (unsigned)(r) + (unsigned)(s)) & 127u)

#endif
