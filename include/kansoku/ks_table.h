/* kansoku fixed-capacity hash table with eviction, for state keyed by untrusted input.
 *
 * Keys and values are fixed-size byte blobs (key_size, value_size) chosen at _new; keys are
 * compared with memcmp, so a struct key must have its padding zeroed (struct ks_addr has
 * none). All memory is reserved by _new: no later call allocates. Open addressing with linear
 * probing over a power-of-two slot array, at least 4/3 of the capacity (load <= 0.75), with
 * backward-shift deletion: no tombstones, so floods of unique keys and long runs of removals
 * do not slow it down. Every operation is O(1) expected.
 *
 * When the table holds `capacity` entries and a new key arrives:
 *   KS_TABLE_EVICT_LRU  evicts the least recently touched entry among the `sample` entries
 *                       that follow the new key's home slot (approximate LRU): the eviction
 *                       callback sees it first, then the new key takes a slot. Counted in
 *                       `evicted`. "Touched" is the 32-bit stamp the caller passes to _upsert
 *                       (a time in seconds, a packet count...), compared with wrap-around
 *                       (serial number arithmetic: stamps within 2^31 of each other).
 *   KS_TABLE_EVICT_NONE never evicts: _upsert returns NULL for the new key, counted in
 *                       `dropped`. Existing keys are still found and updated.
 *
 * Pointers returned by _find/_upsert point into the table and are valid only until the next
 * call that adds or removes an entry (_upsert of a new key, _remove, _clear, a removing
 * _foreach): entries move when others are deleted. Values are 8-byte aligned.
 *
 * Slot arrays of 4 MiB or more are mapped separately and, where the kernel offers transparent
 * huge pages, marked for them (madvise): a lookup in a large table then costs one cache miss
 * instead of a cache miss and a page-table walk. Such a table reserves its array twice and
 * starts at 2 MiB of slots; when the load would pass 3/4 it doubles, rehashing into the other
 * reservation and returning the old pages, until it reaches the capacity's size. Memory then
 * follows what the table holds, and an insert that doubles it costs O(entries) once.
 *
 * The default seed (0) draws a random seed at _new, so that an attacker cannot aim collisions;
 * set a fixed seed for reproducible iteration and eviction order. Not thread-safe: one table
 * per thread (shard by key). */
#ifndef KS_TABLE_H
#define KS_TABLE_H

#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_table; /* opaque */

enum ks_table_evict {
    KS_TABLE_EVICT_LRU = 0, /* approximate LRU over a bounded sample (the default) */
    KS_TABLE_EVICT_NONE = 1 /* drop new keys when full */
};

/* Called with an entry that is about to be evicted (not for _remove/_clear). It must not call
 * into the table; key and value are valid only during the call. */
typedef void (*ks_table_evict_fn)(void *user, const void *key, void *value);

struct ks_table_config {
    size_t key_size;            /* bytes, >= 1 (required) */
    size_t value_size;          /* bytes, may be 0 (a set) */
    size_t capacity;            /* max entries, 1 .. 2^30 (required) */
    enum ks_table_evict evict;  /* default KS_TABLE_EVICT_LRU */
    uint32_t sample;            /* LRU sample size, 1..64, default 8 */
    uint64_t seed;              /* hash seed; 0 = random at _new (default) */
    ks_table_evict_fn on_evict; /* may be NULL */
    void *user;                 /* passed to on_evict */
};

struct ks_table_stats {
    uint64_t entries;  /* now */
    uint64_t capacity; /* configured max entries */
    uint64_t slots;    /* slot array size (power of two) */
    uint64_t bytes;    /* memory held by the table */
    uint64_t inserts;  /* new keys stored */
    uint64_t evicted;  /* entries evicted to make room */
    uint64_t dropped;  /* new keys refused (table full, no eviction possible) */
    uint64_t removed;  /* entries removed by _remove or a removing _foreach */
    double mean_probe; /* mean distance of entries from their home slot (0 = ideal) */
    /* Always: entries == inserts - evicted - removed (until _clear, which zeroes them all but
     * capacity, slots and bytes). */
};

/* Sets the defaults above (key_size, value_size and capacity to 0: the caller sets them). */
KS_API void ks_table_config_default(struct ks_table_config *cfg);
/* KS_OK, KS_EINVAL (bad config) or KS_ENOMEM. */
KS_API int ks_table_new(const struct ks_table_config *cfg, struct ks_table **tp);
KS_API void ks_table_free(struct ks_table *t); /* NULL is fine */

/* The value of key, or NULL. Does not change the entry's stamp. */
KS_API void *ks_table_find(const struct ks_table *t, const void *key);
/* The value of key, created (zeroed, *is_new = true) if absent; the entry's stamp becomes now.
 * NULL if the key is new, the table is full and the eviction rule allows no room. is_new may
 * be NULL. */
KS_API void *ks_table_upsert(struct ks_table *t, const void *key, uint32_t now, bool *is_new);
/* Hashed access, for callers that look up a batch of keys: ks_table_hash() gives the key's
 * hash under this table's seed, ks_table_prefetch() asks the CPU to load the key's home slot
 * (a hint: no effect on the table's contents, any hash is safe), and the _hashed calls are
 * ks_table_find/_upsert/_remove for a key whose hash the caller already has. The hash passed
 * to a _hashed call must be ks_table_hash(t, key) of the same table and key (tables made with
 * the same seed and key_size hash a key alike). Hashing a batch of
 * keys and prefetching their slots before the lookups overlaps the cache misses of a large
 * table instead of taking them one after the other. */
KS_API uint32_t ks_table_hash(const struct ks_table *t, const void *key);
KS_API void ks_table_prefetch(const struct ks_table *t, uint32_t hash);
KS_API void *ks_table_find_hashed(const struct ks_table *t, const void *key, uint32_t hash);
KS_API void *ks_table_upsert_hashed(struct ks_table *t, const void *key, uint32_t hash,
                                    uint32_t now, bool *is_new);
/* KS_OK, or KS_ENOTFOUND. Does not call on_evict. */
KS_API int ks_table_remove(struct ks_table *t, const void *key);
KS_API int ks_table_remove_hashed(struct ks_table *t, const void *key, uint32_t hash);
/* Removes every entry (on_evict is not called) and zeroes the counters. */
KS_API void ks_table_clear(struct ks_table *t);

/* ks_table_foreach() callback result bits. */
#define KS_TABLE_NEXT 0    /* go on */
#define KS_TABLE_REMOVE 1u /* remove this entry (counted in `removed`), then go on */
#define KS_TABLE_STOP 2u   /* stop after this entry (may be combined with REMOVE) */

/* Calls fn for every entry once, in slot order, with the entry's key, value and stamp. fn
 * may modify the value, and may ask for the entry's removal through its result, but must not
 * otherwise call into the table. Returns the number of entries visited. */
KS_API size_t ks_table_foreach(struct ks_table *t,
                               unsigned (*fn)(void *user, const void *key, void *value,
                                              uint32_t stamp),
                               void *user);

KS_API size_t ks_table_count(const struct ks_table *t);
/* Fills st. O(slots) (it measures mean_probe): for reports, not for the hot path. */
KS_API void ks_table_stats(const struct ks_table *t, struct ks_table_stats *st);

#endif
