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
    t->last = UINT32_MAX;
    uint32_t slots = 8;
    while (slots < 2 * k)
        slots <<= 1;
    t->imask = slots - 1;
    if (getrandom(&t->seed, sizeof t->seed, GRND_NONBLOCK) != (ssize_t)sizeof t->seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t->seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)t;
    }
    t->e = calloc(k, sizeof *t->e);
    t->heap = calloc(k, sizeof *t->heap);
    t->pos = calloc(k, sizeof *t->pos);
    t->order = calloc(k, sizeof *t->order);
    t->idx = calloc(slots, sizeof *t->idx);
    if (!t->e || !t->heap || !t->pos || !t->order || !t->idx) {
        topk_fini(t);
        return KS_ENOMEM;
    }
    return KS_OK;
}

void topk_fini(struct topk *t)
{
    free(t->e);
    free(t->heap);
    free(t->pos);
    free(t->order);
    free(t->idx);
    memset(t, 0, sizeof *t);
}

void topk_reset(struct topk *t)
{
    t->n = 0;
    t->last = UINT32_MAX;
    memset(t->idx, 0, ((size_t)t->imask + 1) * sizeof *t->idx);
}

/* Two multiplications of the address words (the index is small and seeded at random). */
static inline uint32_t home_of(const struct topk *t, const struct ks_addr *a)
{
    uint64_t w0, w1;
    memcpy(&w0, a->b, 8);
    memcpy(&w1, a->b + 8, 8);
    uint64_t h = (w0 ^ t->seed) * UINT64_C(0x9e3779b97f4a7c15) ^
                 (w1 + a->family + (t->seed >> 17)) * UINT64_C(0xc2b2ae3d27d4eb4f);
    return (uint32_t)(h >> 32 ^ h) & t->imask;
}

static inline bool same_addr(const struct ks_addr *a, const struct ks_addr *b)
{
    return a->family == b->family && memcmp(a->b, b->b, sizeof a->b) == 0;
}

/* The index slot holding a's entry, or the empty slot where it would go. */
static uint32_t idx_probe(const struct topk *t, const struct ks_addr *a)
{
    uint32_t i = home_of(t, a);
    while (t->idx[i] && !same_addr(&t->e[t->idx[i] - 1].key, a))
        i = (i + 1) & t->imask;
    return i;
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
            uint32_t home = home_of(t, &t->e[t->idx[j] - 1].key);
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        t->idx[i] = t->idx[j];
        i = j;
    }
}
static inline void swap_at(struct topk *t, uint32_t i, uint32_t j)
{
    struct topk_item a = t->heap[i], b = t->heap[j];
    t->heap[i] = b;
    t->heap[j] = a;
    t->pos[b.e] = i;
    t->pos[a.e] = j;
}

/* A count only grows, so an entry only moves down the heap. */
static void sift_down(struct topk *t, uint32_t i)
{
    const struct topk_item *h = t->heap;
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < t->n && h[l].count < h[m].count)
            m = l;
        if (l + 1 < t->n && h[l + 1].count < h[m].count)
            m = l + 1;
        if (m == i)
            return;
        swap_at(t, i, m);
        i = m;
    }
}

static void sift_up(struct topk *t, uint32_t i)
{
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (t->heap[parent].count <= t->heap[i].count)
            return;
        swap_at(t, i, parent);
        i = parent;
    }
}

/* Entry e's count grew by w. */
static inline void grow(struct topk *t, uint32_t e, uint64_t w)
{
    t->e[e].count += w;
    t->heap[t->pos[e]].count = t->e[e].count;
    sift_down(t, t->pos[e]);
}

void topk_add(struct topk *t, const struct ks_addr *a, uint64_t w)
{
    uint32_t e;
    if (t->last != UINT32_MAX && same_addr(&t->e[t->last].key, a)) {
        grow(t, t->last, w);
        return;
    }
    uint32_t i = idx_probe(t, a);
    if (t->idx[i]) {
        e = t->idx[i] - 1;
        grow(t, e, w);
    } else if (t->n < t->k) {
        e = t->n++;
        t->e[e].key = *a;
        t->e[e].count = w;
        t->e[e].error = 0;
        t->heap[e] = (struct topk_item){w, e};
        t->pos[e] = e;
        sift_up(t, e);
        t->idx[i] = e + 1;
    } else {
        /* the smallest counter takes the new key and keeps its count as the error */
        e = t->heap[0].e;
        idx_delete(t, idx_probe(t, &t->e[e].key));
        t->e[e].key = *a;
        t->e[e].error = t->e[e].count;
        t->e[e].count += w;
        t->heap[0].count = t->e[e].count;
        sift_down(t, 0);
        t->idx[idx_probe(t, a)] = e + 1;
    }
    t->last = e;
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
