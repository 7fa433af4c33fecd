/* HyperLogLog (Flajolet et al. 2007) with 64-bit hashes, linear counting for small counts
 * (HLL++ thresholds) and Ertl's improved raw estimator above them. */
#include "kansoku/ks_hll.h"
#include "cur.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Fixed so that every kansoku sketch of the same items agrees (sketches are stored and merged). */
#define HLL_SEED 0x6b616e736f6b7531ull /* "kansoku1" */

size_t ks_hll_regs_size(unsigned p)
{
    return p >= KS_HLL_P_MIN && p <= KS_HLL_P_MAX ? (size_t)1 << p : 0;
}

int ks_hll_init_buf(struct ks_hll *h, unsigned p, void *regs, size_t size)
{
    memset(h, 0, sizeof *h);
    if (p == 0)
        p = KS_HLL_P_DEFAULT;
    size_t need = ks_hll_regs_size(p);
    if (!need || !regs || size < need)
        return KS_EINVAL;
    h->reg = regs;
    h->m = (uint32_t)need;
    h->p = (uint8_t)p;
    return KS_OK;
}

int ks_hll_init(struct ks_hll *h, unsigned p)
{
    memset(h, 0, sizeof *h);
    if (p == 0)
        p = KS_HLL_P_DEFAULT;
    size_t need = ks_hll_regs_size(p);
    if (!need)
        return KS_EINVAL;
    uint8_t *r = calloc(need, 1);
    if (!r)
        return KS_ENOMEM;
    ks_hll_init_buf(h, p, r, need);
    h->owned = 1;
    return KS_OK;
}

void ks_hll_fini(struct ks_hll *h)
{
    if (!h)
        return;
    if (h->owned)
        free(h->reg);
    memset(h, 0, sizeof *h);
}

int ks_hll_new(unsigned p, struct ks_hll **hp)
{
    *hp = NULL;
    struct ks_hll *h = malloc(sizeof *h);
    if (!h)
        return KS_ENOMEM;
    int rc = ks_hll_init(h, p);
    if (rc != KS_OK) {
        free(h);
        return rc;
    }
    *hp = h;
    return KS_OK;
}

void ks_hll_free(struct ks_hll *h)
{
    if (!h)
        return;
    ks_hll_fini(h);
    free(h);
}

void ks_hll_reset(struct ks_hll *h)
{
    memset(h->reg, 0, h->m);
}

static inline unsigned max_rank(unsigned p)
{
    return 64 - p + 1;
}

/* The first p bits choose the register; the rank is the position of the first 1 in the rest
 * (q + 1 = 65 - p when the rest is all zero). */
void ks_hll_add_hash(struct ks_hll *h, uint64_t hash)
{
    uint32_t idx = (uint32_t)(hash >> (64 - h->p));
    uint64_t w = hash << h->p;
    uint8_t rank = (uint8_t)(w ? (unsigned)__builtin_clzll(w) + 1 : max_rank(h->p));
    if (h->reg[idx] < rank)
        h->reg[idx] = rank;
}

void ks_hll_add(struct ks_hll *h, const void *data, size_t len)
{
    ks_hll_add_hash(h, ks_hash_bytes(data, len, HLL_SEED));
}

/* Ertl 2017, Algorithm 6 helpers: sigma and tau series, summed until they stop changing. */
static double sigma(double x)
{
    if (x == 1.0)
        return INFINITY;
    double y = 1.0, z = x, prev;
    do {
        x *= x;
        prev = z;
        z += x * y;
        y += y;
    } while (z != prev);
    return z;
}

static double tau(double x)
{
    if (x == 0.0 || x == 1.0)
        return 0.0;
    double y = 1.0, z = 1.0 - x, prev;
    do {
        x = sqrt(x);
        prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != prev);
    return z / 3.0;
}

/* Counts below which linear counting beats the raw estimate, p = 4..18 (HLL++, sec. 5.2). */
static const double lc_threshold[] = {10,   20,   40,    80,    220,   400,    900,   1800,
                                      3100, 6500, 11500, 20000, 50000, 120000, 350000};

double ks_hll_estimate(const struct ks_hll *h)
{
    unsigned q = 64 - h->p;
    uint32_t c[66] = {0};
    /* The sketches of small sets are mostly zero registers: eight at a time when they are
     * (m is a power of two >= 16, so the words cover it). */
    for (uint32_t i = 0; i < h->m; i += 8) {
        uint64_t w;
        memcpy(&w, h->reg + i, 8);
        if (!w) {
            c[0] += 8;
            continue;
        }
        for (uint32_t j = i; j < i + 8; j++)
            c[h->reg[j] <= q + 1 ? h->reg[j] : q + 1]++;
    }
    double m = h->m;
    if (c[0] == h->m)
        return 0.0;
    if (c[0] > 0) {
        double lc = m * log(m / c[0]);
        if (lc <= lc_threshold[h->p - KS_HLL_P_MIN])
            return lc;
    }
    double z = m * tau(1.0 - c[q + 1] / m);
    for (unsigned k = q; k >= 1; k--)
        z = 0.5 * (z + c[k]);
    z += m * sigma(c[0] / m);
    return m * m / (2.0 * log(2.0)) / z;
}

int ks_hll_merge(struct ks_hll *dst, const struct ks_hll *src)
{
    if (src->p < dst->p)
        return KS_EINVAL;
    unsigned d = (unsigned)(src->p - dst->p);
    for (uint32_t j = 0; j < src->m; j++) {
        uint8_t r = src->reg[j];
        if (!r)
            continue;
        /* Folding: the d low index bits of src become the first bits of dst's rank field. */
        uint32_t e = j & ((UINT32_C(1) << d) - 1);
        uint8_t rank = e ? (uint8_t)(d - (32 - (unsigned)__builtin_clz(e)) + 1) : (uint8_t)(d + r);
        uint32_t i = j >> d;
        if (dst->reg[i] < rank)
            dst->reg[i] = rank;
    }
    return KS_OK;
}

static uint32_t nonzero(const struct ks_hll *h)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < h->m; i++)
        n += h->reg[i] != 0;
    return n;
}

/* Header: 'K' 'H' version p encoding (5 bytes), then the body. */
#define HDR 5

static size_t dense_size(const struct ks_hll *h)
{
    return HDR + (size_t)h->m / 4 * 3;
}

static size_t sparse_size(uint32_t nz)
{
    return HDR + 4 + (size_t)nz * 4;
}

size_t ks_hll_serialized_size(const struct ks_hll *h)
{
    size_t sparse = sparse_size(nonzero(h)), dense = dense_size(h);
    return sparse < dense ? sparse : dense;
}

static void put32(uint8_t *o, uint32_t v)
{
    o[0] = (uint8_t)(v >> 24);
    o[1] = (uint8_t)(v >> 16);
    o[2] = (uint8_t)(v >> 8);
    o[3] = (uint8_t)v;
}

int ks_hll_serialize(const struct ks_hll *h, void *buf, size_t size, size_t *written)
{
    *written = 0;
    uint32_t nz = nonzero(h);
    size_t sparse = sparse_size(nz), dense = dense_size(h);
    size_t need = sparse < dense ? sparse : dense;
    if (size < need)
        return KS_ELIMIT;
    uint8_t *o = buf;
    o[0] = 'K';
    o[1] = 'H';
    o[2] = 1;
    o[3] = h->p;
    o[4] = sparse < dense ? 1 : 0;
    uint8_t *b = o + HDR;
    if (sparse < dense) {
        put32(b, nz);
        b += 4;
        for (uint32_t i = 0; i < h->m; i++)
            if (h->reg[i]) {
                put32(b, i << 8 | h->reg[i]);
                b += 4;
            }
    } else {
        for (uint32_t i = 0; i < h->m; i += 4) {
            uint32_t v = (uint32_t)(h->reg[i] & 63) << 18 | (uint32_t)(h->reg[i + 1] & 63) << 12 |
                         (uint32_t)(h->reg[i + 2] & 63) << 6 | (h->reg[i + 3] & 63);
            b[0] = (uint8_t)(v >> 16);
            b[1] = (uint8_t)(v >> 8);
            b[2] = (uint8_t)v;
            b += 3;
        }
    }
    *written = (size_t)(b - o);
    return KS_OK;
}

int ks_hll_deserialize(struct ks_hll *h, const void *buf, size_t len)
{
    memset(h, 0, sizeof *h);
    struct ks_cur c = ks_cur_make(buf, len);
    uint8_t m0 = ks_cur_u8(&c), m1 = ks_cur_u8(&c), ver = ks_cur_u8(&c);
    uint8_t p = ks_cur_u8(&c), enc = ks_cur_u8(&c);
    if (ks_cur_err(&c))
        return KS_ETRUNC;
    if (m0 != 'K' || m1 != 'H')
        return KS_EFORMAT;
    if (ver != 1)
        return KS_EUNSUPP;
    if (p < KS_HLL_P_MIN || p > KS_HLL_P_MAX || enc > 1)
        return KS_EFORMAT;
    int rc = ks_hll_init(h, p);
    if (rc != KS_OK)
        return rc;
    unsigned maxr = max_rank(p);
    if (enc == 0) {
        for (uint32_t i = 0; i < h->m; i += 4) {
            const uint8_t *b = ks_cur_ptr(&c, 3);
            if (!b)
                break;
            uint32_t v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
            for (int k = 0; k < 4; k++) {
                uint8_t r = (uint8_t)(v >> (18 - 6 * k) & 63);
                if (r > maxr)
                    ks_cur_fail(&c, KS_EFORMAT);
                h->reg[i + (uint32_t)k] = r;
            }
        }
    } else {
        uint32_t n = ks_cur_u32be(&c);
        if (n > h->m)
            ks_cur_fail(&c, KS_EFORMAT);
        int64_t last = -1;
        for (uint32_t k = 0; k < n && !ks_cur_err(&c); k++) {
            uint32_t v = ks_cur_u32be(&c);
            uint32_t idx = v >> 8;
            uint8_t r = (uint8_t)v;
            if (ks_cur_err(&c))
                break;
            if ((int64_t)idx <= last || idx >= h->m || r == 0 || r > maxr) {
                ks_cur_fail(&c, KS_EFORMAT);
                break;
            }
            h->reg[idx] = r;
            last = idx;
        }
    }
    rc = ks_cur_err(&c);
    if (rc == KS_OK && ks_cur_left(&c) != 0)
        rc = KS_EFORMAT;
    if (rc != KS_OK)
        ks_hll_fini(h);
    return rc;
}
