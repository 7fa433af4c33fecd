/* MD6 compression in plain C: the reference for every other path, and the fallback. */
#include "md6/md6_internal.h"

#include <string.h>

/* The fractional part of sqrt(6), 960 bits (report 2.5.1). */
const uint64_t md6_Q[MD6_Q] = {
    UINT64_C(0x7311c2812425cfa0), UINT64_C(0x6432286434aac8e7), UINT64_C(0xb60450e9ef68b7c1),
    UINT64_C(0xe8fb23908d9f06f1), UINT64_C(0xdd2e76cba691e5bf), UINT64_C(0x0cd0d63b2c30bc41),
    UINT64_C(0x1f8ccf6823058f8a), UINT64_C(0x54e5ed5b88e3775d), UINT64_C(0x4ad12aae0a6d6031),
    UINT64_C(0x3e7f16bb88222e0d), UINT64_C(0x8af8671d3fb50c2c), UINT64_C(0x995ad1178bd25c31),
    UINT64_C(0xc878c1dd04c4b633), UINT64_C(0x3b72066c7a1552ac), UINT64_C(0x0d6f3522631effcb),
};

#define SPLAT_SCALAR(x) (x)

static void portable_one(const uint64_t N[MD6_N], unsigned r, uint64_t out[MD6_C])
{
    uint64_t A[128];
    memcpy(A, N, MD6_N * sizeof A[0]);
    MD6_ROUNDS(A, r, SPLAT_SCALAR);
    for (unsigned s = 0; s < MD6_C; s++)
        out[s] = A[MD6_OUT_INDEX(r, s)];
    /* A held the key: do not leave it on the stack. */
    memset(A, 0, sizeof A);
    __asm__ __volatile__("" : : "r"(A) : "memory");
}

static void portable_many(const uint64_t K[MD6_K], unsigned r, const struct md6_job *jobs,
                          unsigned n, int be, uint64_t (*out)[MD6_C])
{
    uint64_t N[MD6_N];
    memcpy(N, md6_Q, sizeof md6_Q);
    memcpy(N + MD6_Q, K, MD6_K * sizeof K[0]);
    for (unsigned l = 0; l < n; l++) {
        N[23] = jobs[l].U;
        N[24] = jobs[l].V;
        const uint8_t *d = jobs[l].data;
        for (unsigned j = 0; j < MD6_B; j++)
            N[25 + j] = be ? md6_load_be(d + 8 * j) : md6_load_ne(d + 8 * j);
        portable_one(N, r, out[l]);
    }
    memset(N, 0, sizeof N);
    __asm__ __volatile__("" : : "r"(N) : "memory");
}

const struct md6_kernel md6_kernel_portable = {
    .path = KS_MD6_PATH_PORTABLE,
    .name = "portable",
    .lanes = 1,
    .many = portable_many,
    .one = portable_one,
};
