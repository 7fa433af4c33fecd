#include "topk.h"

#include <stdlib.h>
#include <string.h>

int topk_init(struct topk *t, uint32_t k)
{
    memset(t, 0, sizeof *t);
    if (k == 0)
        return KS_EINVAL;
    t->k = k;
    t->last = UINT32_MAX;
    t->e = calloc(k, sizeof *t->e);
    t->heap = calloc(k, sizeof *t->heap);
    t->pos = calloc(k, sizeof *t->pos);
    t->order = calloc(k, sizeof *t->order);
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(struct ks_addr);
    tc.value_size = sizeof(uint32_t);
    tc.capacity = k;
    tc.evict = KS_TABLE_EVICT_NONE;
    if (!t->e || !t->heap || !t->pos || !t->order || ks_table_new(&tc, &t->idx) != KS_OK) {
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
    ks_table_free(t->idx);
    memset(t, 0, sizeof *t);
}

void topk_reset(struct topk *t)
{
    t->n = 0;
    t->last = UINT32_MAX;
    ks_table_clear(t->idx);
}

static void swap_at(struct topk *t, uint32_t i, uint32_t j)
{
    uint32_t a = t->heap[i], b = t->heap[j];
    t->heap[i] = b;
    t->heap[j] = a;
    t->pos[b] = i;
    t->pos[a] = j;
}

/* A count only grows, so an entry only moves down the heap. */
static void sift_down(struct topk *t, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < t->n && t->e[t->heap[l]].count < t->e[t->heap[m]].count)
            m = l;
        if (l + 1 < t->n && t->e[t->heap[l + 1]].count < t->e[t->heap[m]].count)
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
        if (t->e[t->heap[parent]].count <= t->e[t->heap[i]].count)
            return;
        swap_at(t, i, parent);
        i = parent;
    }
}

void topk_add(struct topk *t, const struct ks_addr *a, uint64_t w)
{
    uint32_t e;
    if (t->last != UINT32_MAX && memcmp(&t->e[t->last].key, a, sizeof *a) == 0) {
        e = t->last;
        t->e[e].count += w;
        sift_down(t, t->pos[e]);
        return;
    }
    const uint32_t *found = ks_table_find(t->idx, a);
    if (found) {
        e = *found;
        t->e[e].count += w;
        sift_down(t, t->pos[e]);
    } else if (t->n < t->k) {
        e = t->n++;
        t->e[e].key = *a;
        t->e[e].count = w;
        t->e[e].error = 0;
        t->heap[e] = e;
        t->pos[e] = e;
        sift_up(t, e);
        uint32_t *v = ks_table_upsert(t->idx, a, 0, NULL);
        if (v)
            *v = e;
    } else {
        e = t->heap[0];
        ks_table_remove(t->idx, &t->e[e].key);
        t->e[e].key = *a;
        t->e[e].error = t->e[e].count;
        t->e[e].count += w;
        sift_down(t, 0);
        uint32_t *v = ks_table_upsert(t->idx, a, 0, NULL);
        if (v)
            *v = e;
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
