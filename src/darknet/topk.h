/* Space-saving top-K over IP addresses (Metwally, Agrawal, El Abbadi, "Efficient computation of
 * frequent and top-k elements in data streams", ICDT 2005). K counters; a new key when all are
 * taken replaces a smallest counter and inherits its count as its error, so every count
 * overestimates the true one by at most its error, and any key whose true count exceeds the
 * smallest counter is present.
 *
 * The counters are kept in the paper's "stream summary": buckets of equal counts in a list
 * sorted by count, each holding its entries in a list. A smallest counter is the first entry of
 * the first bucket, and an entry whose count grows by w moves forward past at most
 * min(w, buckets) buckets: constant work per unit of weight, where a heap sifted each new key
 * through all its levels once the smallest counts tie (as one-off sources make them do).
 * Internal to the darknet module. */
#ifndef KS_DARKNET_TOPK_H
#define KS_DARKNET_TOPK_H

#include "kansoku/ks_ip.h"

#include <stdint.h>

#define TOPK_NONE UINT32_MAX

struct topk_entry {
    struct ks_addr key;
    uint64_t count, error;
    uint32_t hash;       /* of the key, as in the index */
    uint32_t bucket;     /* its bucket */
    uint32_t prev, next; /* neighbours in the bucket's list, TOPK_NONE at the ends */
};

struct topk_bucket {
    uint64_t count;
    uint32_t first;      /* the bucket's first entry */
    uint32_t prev, next; /* neighbouring buckets by count, TOPK_NONE at the ends */
};

struct topk {
    uint32_t k, n;
    struct topk_entry *e;
    struct topk_bucket *b; /* k buckets at most (one per entry) */
    uint32_t *free_b;      /* unused bucket indices */
    uint32_t nfree_b;
    uint32_t min_b;  /* the bucket of the smallest count, TOPK_NONE when empty */
    uint32_t *order; /* scratch for topk_sorted */
    /* address -> entry: open addressing with linear probing, at most half full, the key's
     * hash << 32 | entry + 1 in each slot (0 empty), so that probes compare addresses only on
     * equal hashes and moves need no rehashing; seeded at random, since the results do not
     * depend on the layout and colliding keys cannot then be aimed at it */
    uint64_t *idx;
    uint32_t imask;
    uint64_t seed;
    uint32_t last; /* entry of the last key added (fast path), TOPK_NONE if none */
};

int topk_init(struct topk *t, uint32_t k);
void topk_fini(struct topk *t);
void topk_reset(struct topk *t);
void topk_add(struct topk *t, const struct ks_addr *a, uint64_t w);
/* Entry indices sorted by count (then address), largest first; returns how many (<= n). */
uint32_t topk_sorted(struct topk *t, const uint32_t **order);

#endif
