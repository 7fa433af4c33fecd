#include "topk.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int topk_init(struct topk *t, uint32_t k)
{
    memset(t, 0, sizeof *t);
    if (k == 0 || k > (1u << 29))
        return KS_EINVAL;
    t->k = k;
    uint32_t slots = 8;
    while (slots < 4 * k) /* at most a quarter full: short probes */
        slots <<= 1;
    t->imask = slots - 1;
    if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t->seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)t;
    }
    t->e = calloc(k, sizeof *t->e);
    t->b = calloc(k, sizeof *t->b);
    t->free_b = calloc(k, sizeof *t->free_b);
    t->order = calloc(k, sizeof *t->order);
    t->idx = calloc(slots, sizeof *t->idx);
    if (!t->e || !t->b || !t->free_b || !t->order || !t->idx) {
        topk_fini(t);
        return KS_ENOMEM;
    }
    topk_reset(t);
    return KS_OK;
}

void topk_fini(struct topk *t)
{
    free(t->e);
    free(t->b);
    free(t->free_b);
    free(t->order);
    free(t->idx);
    memset(t, 0, sizeof *t);
}

void topk_reset(struct topk *t)
{
    t->n = 0;
    t->last = TOPK_NONE;
    t->min_b = TOPK_NONE;
    t->nfree_b = t->k;
    for (uint32_t i = 0; i < t->k; i++) /* popped from the end: buckets 0, 1, ... */
        t->free_b[i] = t->k - 1 - i;
    memset(t->idx, 0, ((size_t)t->imask + 1) * sizeof *t->idx);
}

/* Two multiplications of the address words (the index is small and seeded at random). */
static inline uint32_t hash_of(const struct topk *t, const struct ks_addr *a)
{
    uint64_t w0, w1;
    memcpy(&w0, a->b, 8);
    memcpy(&w1, a->b + 8, 8);
    uint64_t h = (w0 ^ t->seed) * UINT64_C(0x9e3779b97f4a7c15) ^
                 (w1 + a->family + (t->seed >> 17)) * UINT64_C(0xc2b2ae3d27d4eb4f);
    return (uint32_t)(h >> 32 ^ h);
}

static inline bool same_addr(const struct ks_addr *a, const struct ks_addr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, sizeof a->b) == 0;
}

/* The index slot holding a's entry (hash hh), or the empty slot where it would go. */
static uint32_t idx_probe(const struct topk *t, const struct ks_addr *a, uint32_t hh)
{
    uint32_t i = hh & t->imask;
    for (;; i = (i + 1) & t->imask) {
        uint64_t s = t->idx[i];
        if (!s || ((uint32_t)(s >> 32) == hh && same_addr(&t->e[(uint32_t)s - 1].key, a)))
            return i;
    }
}

/* Backward-shift deletion (Knuth, TAOCP 6.4, Algorithm R), as in ks_table. */
static void idx_delete(struct topk *t, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        t->idx[i] = 0;
        for (;;) {
            j = (j + 1) & t->imask;
            if (!t->idx[j])
                return;
            uint32_t home = (uint32_t)(t->idx[j] >> 32) & t->imask;
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        t->idx[i] = t->idx[j];
        i = j;
    }
}

static inline uint64_t idx_slot(uint32_t hh, uint32_t ei)
{
    return (uint64_t)hh << 32 | (ei + 1);
}

/* Takes entry ei out of its bucket's list; frees the bucket when that leaves it empty and
 * returns the last bucket before it (TOPK_NONE if none), else returns the bucket itself. */
static uint32_t detach(struct topk *t, uint32_t ei)
{
    struct topk_entry *e = &t->e[ei];
    uint32_t bi = e->bucket;
    struct topk_bucket *b = &t->b[bi];
    if (e->prev != TOPK_NONE)
        t->e[e->prev].next = e->next;
    else
        b->first = e->next;
    if (e->next != TOPK_NONE)
        t->e[e->next].prev = e->prev;
    if (b->first != TOPK_NONE)
        return bi;
    uint32_t before = b->prev;
    if (before != TOPK_NONE)
        t->b[before].next = b->next;
    else
        t->min_b = b->next;
    if (b->next != TOPK_NONE)
        t->b[b->next].prev = before;
    t->free_b[t->nfree_b++] = bi;
    return before;
}

/* Puts entry ei (its count set) into the bucket of its count, looking from the bucket after
 * `after` (a bucket of a smaller count, or TOPK_NONE for the first one) and making the bucket
 * if there is none. */
static void settle(struct topk *t, uint32_t ei, uint32_t after)
{
    struct topk_entry *e = &t->e[ei];
    uint32_t bi = after == TOPK_NONE ? t->min_b : t->b[after].next;
    while (bi != TOPK_NONE && t->b[bi].count < e->count) {
        after = bi;
        bi = t->b[bi].next;
    }
    if (bi == TOPK_NONE || t->b[bi].count != e->count) { /* a new bucket between after and bi */
        uint32_t nb = t->free_b[--t->nfree_b];           /* buckets <= entries <= k */
        t->b[nb] = (struct topk_bucket){e->count, TOPK_NONE, after, bi};
        if (after != TOPK_NONE)
            t->b[after].next = nb;
        else
            t->min_b = nb;
        if (bi != TOPK_NONE)
            t->b[bi].prev = nb;
        bi = nb;
    }
    struct topk_bucket *b = &t->b[bi];
    e->bucket = bi;
    e->prev = TOPK_NONE;
    e->next = b->first;
    if (b->first != TOPK_NONE)
        t->e[b->first].prev = ei;
    b->first = ei;
}

/* Entry ei's count grows by w. */
static void grow(struct topk *t, uint32_t ei, uint64_t w)
{
    if (!w)
        return;
    uint32_t after = detach(t, ei);
    t->e[ei].count += w;
    settle(t, ei, after);
}

void topk_add(struct topk *t, const struct ks_addr *a, uint64_t w)
{
    uint32_t ei;
    if (t->last != TOPK_NONE && same_addr(&t->e[t->last].key, a)) {
        grow(t, t->last, w);
        return;
    }
    uint32_t hh = hash_of(t, a);
    uint32_t i = idx_probe(t, a, hh);
    if (t->idx[i]) {
        ei = (uint32_t)t->idx[i] - 1;
        grow(t, ei, w);
    } else if (t->n < t->k) {
        ei = t->n++;
        t->e[ei].key = *a;
        t->e[ei].hash = hh;
        t->e[ei].count = w;
        t->e[ei].error = 0;
        settle(t, ei, TOPK_NONE);
        t->idx[i] = idx_slot(hh, ei);
    } else {
        /* a smallest counter takes the new key and keeps its count as the error; the new key
         * goes into the empty slot just found before the old one leaves (the deletion then
         * moves it if it must: no third probe) */
        ei = t->b[t->min_b].first;
        uint32_t old = idx_probe(t, &t->e[ei].key, t->e[ei].hash);
        t->idx[i] = idx_slot(hh, ei);
        idx_delete(t, old);
        t->e[ei].key = *a;
        t->e[ei].hash = hh;
        t->e[ei].error = t->e[ei].count;
        grow(t, ei, w);
    }
    t->last = ei;
}

static int by_count_desc(const void *pa, const void *pb, void *user)
{
    const struct topk *t = user;
    const struct topk_entry *a = &t->e[*(const uint32_t *)pa];
    const struct topk_entry *b = &t->e[*(const uint32_t *)pb];
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return ks_addr_cmp(&a->key, &b->key);
}

uint32_t topk_sorted(struct topk *t, const uint32_t **order)
{
    for (uint32_t i = 0; i < t->n; i++)
        t->order[i] = i;
    if (t->n > 1)
        qsort_r(t->order, t->n, sizeof *t->order, by_count_desc, t);
    *order = t->order;
    return t->n;
}
