/* Fixed-capacity open-addressing hash table: linear probing, backward-shift deletion,
 * approximate-LRU eviction over a bounded sample. */
#include "kansoku/ks_table.h"
#include "hash.h"
#include "mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

/* A slot: an 8-byte header, the key, then the value at an 8-byte aligned offset. The header's
 * hash word has bit 31 set when the slot is in use; its low bits are the entry's hash, whose
 * low log2(slots) bits give the home slot (slots <= 2^31). */
struct slot_hdr {
    uint32_t hash;
    uint32_t stamp;
};

#define USED 0x80000000u

struct ks_table {
    uint8_t *slots; /* the slot array in use: region[cur] */
    uint8_t *region[2];
    unsigned cur;
    size_t map_len;   /* each region is an mmap of this many bytes, or 0: slots from calloc */
    size_t mask;      /* nslots - 1, now */
    size_t max_mask;  /* nslots - 1 at the capacity */
    size_t slot_size; /* bytes per slot */
    size_t key_off, val_off;
    size_t key_size, value_size;
    size_t capacity;
    uint64_t seed;
    uint32_t sample;
    enum ks_table_evict evict;
    ks_table_evict_fn on_evict;
    void *user;
    size_t entries;
    uint64_t inserts, evicted, dropped, removed;
};

static inline size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static inline struct slot_hdr *hdr_at(const struct ks_table *t, size_t i)
{
    return (struct slot_hdr *)(void *)(t->slots + i * t->slot_size);
}

static inline uint8_t *key_at(const struct ks_table *t, size_t i)
{
    return t->slots + i * t->slot_size + t->key_off;
}

static inline uint8_t *val_at(const struct ks_table *t, size_t i)
{
    return t->slots + i * t->slot_size + t->val_off;
}

/* ks_hash_bytes, unrolled for the usual key sizes (8, 16, struct ks_addr's 17): the same
 * values, without the call and the loop. */
static inline uint32_t hash_key(const struct ks_table *t, const void *key)
{
    uint64_t h;
    switch (t->key_size) {
    case 8:
        h = ks_hash_bytes_inline(key, 8, t->seed);
        break;
    case 16:
        h = ks_hash_bytes_inline(key, 16, t->seed);
        break;
    case 17:
        h = ks_hash_bytes_inline(key, 17, t->seed);
        break;
    default:
        h = ks_hash_bytes(key, t->key_size, t->seed);
    }
    return (uint32_t)h | USED;
}

/* memcmp(a, b, key_size) == 0, likewise. */
static inline bool key_eq(const struct ks_table *t, const uint8_t *a, const void *b)
{
    switch (t->key_size) {
    case 8:
        return memcmp(a, b, 8) == 0;
    case 16:
        return memcmp(a, b, 16) == 0;
    case 17:
        return memcmp(a, b, 17) == 0;
    default:
        return memcmp(a, b, t->key_size) == 0;
    }
}

#define MAP_MIN ((size_t)4 << 20)

/* Slot memory for n slots at the capacity. A small array is allocated whole. A large one is
 * reserved twice over and used from a small start: the table doubles by rehashing from one
 * region into the other as entries arrive (see grow), so that a table sized for a flood
 * touches memory only in proportion to what it holds. Zeroing the pages of a 128 MiB table
 * that holds a few thousand entries otherwise costs more than the work the table serves. */
static int alloc_slots(struct ks_table *t, size_t n)
{
    size_t bytes = n * t->slot_size;
    t->max_mask = n - 1;
    if (bytes < MAP_MIN) {
        t->slots = calloc(n, t->slot_size);
        t->mask = t->max_mask;
        if (!t->slots)
            return KS_ENOMEM;
        ks_touch_pages(t->slots, bytes);
        return KS_OK;
    }
    size_t len = ks_huge_len(bytes);
    t->region[0] = ks_map_huge(len);
    t->region[1] = t->region[0] ? ks_map_huge(len) : NULL;
    if (!t->region[1]) {
        if (t->region[0])
            munmap(t->region[0], len);
        return KS_ENOMEM;
    }
    t->map_len = len;
    t->cur = 0;
    t->slots = t->region[0];
    size_t start = 8;
    while (start * 2 * t->slot_size <= KS_HUGE_PAGE && start * 2 <= n)
        start *= 2;
    t->mask = start - 1;
    ks_touch_pages(t->slots, start * t->slot_size);
    return KS_OK;
}

void ks_table_config_default(struct ks_table_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->evict = KS_TABLE_EVICT_LRU;
    cfg->sample = 8;
}

static uint64_t random_seed(const void *salt)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)salt;
    }
    return s ? s : 1;
}

int ks_table_new(const struct ks_table_config *cfg, struct ks_table **tp)
{
    *tp = NULL;
    if (!cfg || cfg->key_size == 0 || cfg->key_size > (1u << 20) || cfg->value_size > (1u << 24) ||
        cfg->capacity == 0 || cfg->capacity > (1u << 30) || cfg->sample > 64 ||
        (cfg->evict != KS_TABLE_EVICT_LRU && cfg->evict != KS_TABLE_EVICT_NONE))
        return KS_EINVAL;
    struct ks_table *t = calloc(1, sizeof *t);
    if (!t)
        return KS_ENOMEM;
    /* Load factor <= 3/4 keeps expected linear-probing runs short (Knuth, TAOCP 6.4). */
    size_t want = cfg->capacity + cfg->capacity / 3 + 1, n = 8;
    while (n < want)
        n <<= 1;
    t->mask = n - 1;
    t->key_off = sizeof(struct slot_hdr);
    t->val_off = round8(t->key_off + cfg->key_size);
    t->slot_size = round8(t->val_off + cfg->value_size);
    t->key_size = cfg->key_size;
    t->value_size = cfg->value_size;
    t->capacity = cfg->capacity;
    t->seed = cfg->seed ? cfg->seed : random_seed(t);
    t->sample = cfg->sample ? cfg->sample : 8;
    t->evict = cfg->evict;
    t->on_evict = cfg->on_evict;
    t->user = cfg->user;
    if (alloc_slots(t, n) != KS_OK) {
        free(t);
        return KS_ENOMEM;
    }
    *tp = t;
    return KS_OK;
}

void ks_table_free(struct ks_table *t)
{
    if (!t)
        return;
    if (t->map_len) {
        munmap(t->region[0], t->map_len);
        munmap(t->region[1], t->map_len);
    } else {
        free(t->slots);
    }
    free(t);
}

/* The slot holding key, or the first empty slot of its probe run (*found = false). */
static inline size_t probe(const struct ks_table *t, const void *key, uint32_t h, bool *found)
{
    size_t i = h & t->mask;
    for (;;) {
        const struct slot_hdr *s = hdr_at(t, i);
        if (!(s->hash & USED)) {
            *found = false;
            return i;
        }
        if (s->hash == h && key_eq(t, key_at(t, i), key)) {
            *found = true;
            return i;
        }
        i = (i + 1) & t->mask;
    }
}

void *ks_table_find_hashed(const struct ks_table *t, const void *key, uint32_t hash)
{
    bool found;
    size_t i = probe(t, key, hash | USED, &found);
    return found ? val_at(t, i) : NULL;
}

void *ks_table_find(const struct ks_table *t, const void *key)
{
    return ks_table_find_hashed(t, key, hash_key(t, key));
}

uint32_t ks_table_hash(const struct ks_table *t, const void *key)
{
    return hash_key(t, key);
}

void ks_table_prefetch(const struct ks_table *t, uint32_t hash)
{
    /* Both ends of the home slot: a slot may span two cache lines. For writing (1), in all
     * cache levels (3): the lookup follows shortly and usually updates the value. */
    const uint8_t *s = t->slots + (hash & t->mask) * t->slot_size;
    __builtin_prefetch(s, 1, 3);
    if (t->slot_size > 64)
        __builtin_prefetch(s + t->slot_size - 1, 1, 3);
}

/* Backward-shift deletion (Knuth, TAOCP 6.4, Algorithm R): empties slot i, then moves back
 * each following entry of the run whose home slot is not cyclically within (i, j]. */
static void delete_slot(struct ks_table *t, size_t i)
{
    size_t j = i;
    for (;;) {
        hdr_at(t, i)->hash = 0;
        for (;;) {
            j = (j + 1) & t->mask;
            const struct slot_hdr *s = hdr_at(t, j);
            if (!(s->hash & USED))
                goto done;
            size_t home = s->hash & t->mask;
            /* The entry at j may move to i unless its home lies in (i, j] cyclically. */
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays)
                break;
        }
        memcpy(t->slots + i * t->slot_size, t->slots + j * t->slot_size, t->slot_size);
        i = j;
    }
done:
    t->entries--;
}

/* Doubles the slot array: every entry is rehashed (by its stored hash, no key hashing) into
 * the other region, and the old region's pages are given back. Amortised O(1) per insert. */
static void grow(struct ks_table *t)
{
    size_t old_n = t->mask + 1, new_mask = 2 * t->mask + 1;
    uint8_t *old = t->slots, *dst = t->region[t->cur ^ 1];
    ks_touch_pages(dst, (new_mask + 1) * t->slot_size);
    for (size_t i = 0; i < old_n; i++) {
        const struct slot_hdr *s = (const struct slot_hdr *)(const void *)(old + i * t->slot_size);
        if (!(s->hash & USED))
            continue;
        size_t j = s->hash & new_mask;
        while (((struct slot_hdr *)(void *)(dst + j * t->slot_size))->hash & USED)
            j = (j + 1) & new_mask;
        memcpy(dst + j * t->slot_size, s, t->slot_size);
    }
    t->cur ^= 1;
    t->slots = dst;
    t->mask = new_mask;
    /* The old region reads as zeros again when next used, and leaves the RSS now. */
    size_t used = ks_huge_len(old_n * t->slot_size);
    (void)madvise(old, used, MADV_DONTNEED);
}

/* The least recently touched entry among the first `sample` used slots from `start`, the
 * new key's home slot. Evicting next to where the new key lands keeps the table's density
 * even: sampling from a random slot instead favours entries just after empty slots, so long
 * probe runs would be evicted less, survive and grow under a flood. The table is full when
 * this runs, so used slots are at least 3/8 of all and the scan is short. */
static size_t pick_victim(const struct ks_table *t, size_t start, uint32_t now)
{
    size_t i = start, best = 0;
    uint32_t best_age = 0;
    uint32_t seen = 0;
    while (seen < t->sample) {
        const struct slot_hdr *s = hdr_at(t, i);
        if (s->hash & USED) {
            uint32_t age = now - s->stamp; /* wraps: serial number arithmetic */
            if (seen == 0 || age > best_age) {
                best = i;
                best_age = age;
            }
            seen++;
        }
        i = (i + 1) & t->mask;
    }
    return best;
}

void *ks_table_upsert(struct ks_table *t, const void *key, uint32_t now, bool *is_new)
{
    return ks_table_upsert_hashed(t, key, hash_key(t, key), now, is_new);
}

void *ks_table_upsert_hashed(struct ks_table *t, const void *key, uint32_t hash, uint32_t now,
                             bool *is_new)
{
    uint32_t h = hash | USED;
    bool found;
    size_t i = probe(t, key, h, &found);
    if (is_new)
        *is_new = !found;
    if (found) {
        hdr_at(t, i)->stamp = now;
        return val_at(t, i);
    }
    if (t->mask < t->max_mask && (t->entries + 1) * 4 > (t->mask + 1) * 3) {
        grow(t);
        i = probe(t, key, h, &found);
    }
    if (t->entries >= t->capacity) {
        if (t->evict == KS_TABLE_EVICT_NONE) {
            t->dropped++;
            if (is_new)
                *is_new = false;
            return NULL;
        }
        size_t v = pick_victim(t, h & t->mask, now);
        if (t->on_evict)
            t->on_evict(t->user, key_at(t, v), val_at(t, v));
        delete_slot(t, v);
        t->evicted++;
        i = probe(t, key, h, &found); /* the shift may have opened an earlier slot */
    }
    struct slot_hdr *s = hdr_at(t, i);
    s->hash = h;
    s->stamp = now;
    switch (t->key_size) { /* fixed sizes copy inline */
    case 16:
        memcpy(key_at(t, i), key, 16);
        break;
    case 17:
        memcpy(key_at(t, i), key, 17);
        break;
    default:
        memcpy(key_at(t, i), key, t->key_size);
    }
    memset(val_at(t, i), 0, t->value_size);
    t->entries++;
    t->inserts++;
    return val_at(t, i);
}

int ks_table_remove(struct ks_table *t, const void *key)
{
    return ks_table_remove_hashed(t, key, hash_key(t, key));
}

int ks_table_remove_hashed(struct ks_table *t, const void *key, uint32_t hash)
{
    bool found;
    size_t i = probe(t, key, hash | USED, &found);
    if (!found)
        return KS_ENOTFOUND;
    delete_slot(t, i);
    t->removed++;
    return KS_OK;
}

void ks_table_clear(struct ks_table *t)
{
    for (size_t i = 0; i <= t->mask; i++)
        hdr_at(t, i)->hash = 0;
    t->entries = 0;
    t->inserts = t->evicted = t->dropped = t->removed = 0;
}

size_t ks_table_foreach(struct ks_table *t,
                        unsigned (*fn)(void *user, const void *key, void *value, uint32_t stamp),
                        void *user)
{
    /* Start after an empty slot: no probe run then wraps around the end of the scan, so a
     * deletion only moves entries of the current run backwards into slots not yet visited
     * again (the current one is re-examined) and each entry is seen exactly once. */
    size_t n = t->mask + 1, start = 0, visited = 0;
    while (start < n && (hdr_at(t, start)->hash & USED))
        start++;
    if (start == n) /* cannot happen: load <= 3/4 */
        return 0;
    size_t k = 1;
    while (k < n) {
        size_t i = (start + k) & t->mask;
        struct slot_hdr *s = hdr_at(t, i);
        if (!(s->hash & USED)) {
            k++;
            continue;
        }
        visited++;
        unsigned r = fn(user, key_at(t, i), val_at(t, i), s->stamp);
        if (r & KS_TABLE_REMOVE) {
            delete_slot(t, i);
            t->removed++;
        } else {
            k++;
        }
        if (r & KS_TABLE_STOP)
            break;
    }
    return visited;
}

size_t ks_table_count(const struct ks_table *t)
{
    return t->entries;
}

void ks_table_stats(const struct ks_table *t, struct ks_table_stats *st)
{
    memset(st, 0, sizeof *st);
    st->entries = t->entries;
    st->capacity = t->capacity;
    st->slots = t->mask + 1;
    st->bytes = sizeof *t + (t->mask + 1) * t->slot_size;
    st->inserts = t->inserts;
    st->evicted = t->evicted;
    st->dropped = t->dropped;
    st->removed = t->removed;
    uint64_t disp = 0;
    for (size_t i = 0; i <= t->mask; i++) {
        const struct slot_hdr *s = hdr_at(t, i);
        if (s->hash & USED)
            disp += (i - (s->hash & t->mask)) & t->mask;
    }
    st->mean_probe = t->entries ? (double)disp / (double)t->entries : 0.0;
}
