/* Space-saving top-K over IP addresses (Metwally, Agrawal, El Abbadi, "Efficient computation of
 * frequent and top-k elements in data streams", ICDT 2005). K counters; a new key when all are
 * taken replaces the smallest counter and inherits its count as its error, so every count
 * overestimates the true one by at most its error, and any key whose true count exceeds the
 * smallest counter is present. A min-heap over the counters makes each update O(log K).
 * Internal to the darknet module. */
#ifndef KS_DARKNET_TOPK_H
#define KS_DARKNET_TOPK_H

#include "kansoku/ks_ip.h"

#include <stdint.h>

struct topk_entry {
    struct ks_addr key;
    uint64_t count, error;
};

/* A heap item carries its entry's count, so that sifting reads no entry. */
struct topk_item {
    uint64_t count;
    uint32_t e;
};

struct topk {
    uint32_t k, n;
    struct topk_entry *e;
    struct topk_item *heap; /* min count at heap[0] */
    uint32_t *pos;          /* pos[entry] = its index in heap */
    uint32_t *order;        /* scratch for topk_sorted */
    /* address -> entry: open addressing with linear probing, at most half full, entry + 1 in
     * each slot (0 empty); seeded at random, since the results do not depend on the layout
     * and colliding keys cannot then be aimed at it */
    uint32_t *idx;
    uint32_t imask;
    uint64_t seed;
    uint32_t last; /* entry of the last key added (fast path), UINT32_MAX if none */
};

int topk_init(struct topk *t, uint32_t k);
void topk_fini(struct topk *t);
void topk_reset(struct topk *t);
void topk_add(struct topk *t, const struct ks_addr *a, uint64_t w);
/* Entry indices sorted by count (then address), largest first; returns how many (<= n). */
uint32_t topk_sorted(struct topk *t, const uint32_t **order);

#endif
