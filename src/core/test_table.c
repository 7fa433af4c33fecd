#include "kansoku/ks_ip.h"
#include "kansoku/ks_table.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct val {
    uint64_t packets;
    uint32_t id;
};

struct evict_log {
    uint64_t calls;
    uint64_t packets;
    uint32_t last_key;
};

static void on_evict(void *user, const void *key, void *value)
{
    struct evict_log *log = user;
    const struct val *v = value;
    log->calls++;
    log->packets += v->packets;
    memcpy(&log->last_key, key, sizeof log->last_key);
}

static struct ks_table *make(size_t capacity, enum ks_table_evict ev, struct evict_log *log)
{
    struct ks_table_config cfg;
    ks_table_config_default(&cfg);
    cfg.key_size = sizeof(uint32_t);
    cfg.value_size = sizeof(struct val);
    cfg.capacity = capacity;
    cfg.evict = ev;
    cfg.seed = 12345;
    cfg.on_evict = log ? on_evict : NULL;
    cfg.user = log;
    struct ks_table *t;
    assert_int_equal(ks_table_new(&cfg, &t), KS_OK);
    return t;
}

static struct ks_table_stats stats_of(const struct ks_table *t)
{
    struct ks_table_stats st;
    ks_table_stats(t, &st);
    return st;
}

static void upsert_creates_zeroed_then_finds(void **state)
{
    struct ks_table *t = make(10, KS_TABLE_EVICT_LRU, NULL);
    uint32_t k = 7;
    bool is_new = false;
    struct val *v = ks_table_upsert(t, &k, 1, &is_new);
    assert_non_null(v);
    assert_true(is_new);
    assert_int_equal(v->packets, 0);
    assert_int_equal(((uintptr_t)v) % 8, 0);
    v->packets = 5;
    v = ks_table_upsert(t, &k, 2, &is_new);
    assert_false(is_new);
    assert_int_equal(v->packets, 5);
    struct val *f = ks_table_find(t, &k);
    assert_ptr_equal(f, v);
    uint32_t other = 8;
    assert_null(ks_table_find(t, &other));
    assert_int_equal(ks_table_count(t), 1);
    ks_table_free(t);
    ks_table_free(NULL);
}

static void bad_config_is_refused(void **state)
{
    struct ks_table_config cfg;
    struct ks_table *t = (struct ks_table *)&cfg;
    ks_table_config_default(&cfg);
    cfg.key_size = 4;
    assert_int_equal(ks_table_new(&cfg, &t), KS_EINVAL); /* no capacity */
    assert_null(t);
    cfg.capacity = 10;
    cfg.sample = 65;
    assert_int_equal(ks_table_new(&cfg, &t), KS_EINVAL);
    cfg.sample = 8;
    cfg.key_size = 0;
    assert_int_equal(ks_table_new(&cfg, &t), KS_EINVAL);
    cfg.key_size = 4;
    cfg.evict = (enum ks_table_evict)7;
    assert_int_equal(ks_table_new(&cfg, &t), KS_EINVAL);
    assert_int_equal(ks_table_new(NULL, &t), KS_EINVAL);
}

static void flood_of_unique_keys_stays_within_capacity(void **state)
{
    enum { CAP = 50000 };
    struct evict_log log = {0};
    struct ks_table *t = make(CAP, KS_TABLE_EVICT_LRU, &log);
    for (uint32_t i = 0; i < 10 * CAP; i++) {
        bool is_new;
        struct val *v = ks_table_upsert(t, &i, i, &is_new);
        assert_non_null(v);
        assert_true(is_new);
        v->packets = 1;
        assert_true(ks_table_count(t) <= CAP);
    }
    struct ks_table_stats st = stats_of(t);
    assert_int_equal(st.entries, CAP);
    assert_int_equal(st.inserts, 10 * CAP);
    assert_int_equal(st.evicted, 9 * CAP);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.entries, st.inserts - st.evicted - st.removed);
    assert_int_equal(log.calls, st.evicted);
    assert_int_equal(log.packets, st.evicted); /* the callback saw each evicted value */
    assert_true(st.slots >= CAP + CAP / 3);
    /* Probe runs stay as short as in a table filled once (no clustering drift). */
    assert_true(st.mean_probe < 1.5);
    ks_table_free(t);
}

static void no_eviction_drops_new_keys_but_updates_old(void **state)
{
    struct ks_table *t = make(100, KS_TABLE_EVICT_NONE, NULL);
    for (uint32_t i = 0; i < 1000; i++) {
        bool is_new = true;
        struct val *v = ks_table_upsert(t, &i, 0, &is_new);
        if (i < 100) {
            assert_non_null(v);
        } else {
            assert_null(v);
            assert_false(is_new);
        }
    }
    uint32_t k = 42;
    struct val *v = ks_table_upsert(t, &k, 0, NULL);
    assert_non_null(v);
    struct ks_table_stats st = stats_of(t);
    assert_int_equal(st.entries, 100);
    assert_int_equal(st.inserts, 100);
    assert_int_equal(st.dropped, 900);
    assert_int_equal(st.evicted, 0);
    ks_table_free(t);
}

static void eviction_prefers_least_recently_touched(void **state)
{
    enum { CAP = 1000 };
    struct ks_table *t = make(CAP, KS_TABLE_EVICT_LRU, NULL);
    for (uint32_t i = 0; i < CAP; i++)
        ks_table_upsert(t, &i, 1, NULL);
    for (uint32_t i = 0; i < CAP; i += 2) /* the even keys are touched again */
        ks_table_upsert(t, &i, 100, NULL);
    for (uint32_t i = CAP; i < CAP + CAP / 4; i++)
        assert_non_null(ks_table_upsert(t, &i, 101, NULL));
    int even_left = 0, odd_left = 0;
    for (uint32_t i = 0; i < CAP; i++)
        if (ks_table_find(t, &i)) {
            if (i % 2)
                odd_left++;
            else
                even_left++;
        }
    /* 250 evictions: nearly all among the 500 untouched odd keys. */
    assert_true(even_left >= 500 - 25);
    assert_true(odd_left <= 250 + 25);
    assert_int_equal(even_left + odd_left, CAP - CAP / 4);
    ks_table_free(t);
}

static void stamps_compare_across_wrap_around(void **state)
{
    struct evict_log log = {0};
    struct ks_table *t = make(2, KS_TABLE_EVICT_LRU, &log);
    uint32_t a = 1, b = 2, c = 3;
    ks_table_upsert(t, &a, 0xfffffff0u, NULL); /* older, although numerically larger */
    ks_table_upsert(t, &b, 3, NULL);
    ks_table_upsert(t, &c, 5, NULL);
    assert_int_equal(log.calls, 1);
    assert_int_equal(log.last_key, 1);
    assert_null(ks_table_find(t, &a));
    assert_non_null(ks_table_find(t, &b));
    ks_table_free(t);
}

static void remove_keeps_other_keys_reachable(void **state)
{
    /* A model check: random upserts and removes over a small key space, so that probe runs
     * are long and backward shifts frequent. */
    enum { CAP = 700, KEYS = 2000 };
    struct ks_table *t = make(CAP, KS_TABLE_EVICT_NONE, NULL);
    static uint8_t present[KEYS];
    memset(present, 0, sizeof present);
    size_t n = 0;
    uint64_t x = 1;
    for (int op = 0; op < 200000; op++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t k = (uint32_t)(x % KEYS);
        if ((x >> 32) % 3) {
            struct val *v = ks_table_upsert(t, &k, 0, NULL);
            if (present[k] || n < CAP) {
                assert_non_null(v);
                if (!present[k])
                    v->id = k;
                n += !present[k];
                present[k] = 1;
            } else {
                assert_null(v);
            }
        } else {
            assert_int_equal(ks_table_remove(t, &k), present[k] ? KS_OK : KS_ENOTFOUND);
            n -= present[k];
            present[k] = 0;
        }
        if (op % 10000 == 0)
            for (uint32_t i = 0; i < KEYS; i++) {
                struct val *v = ks_table_find(t, &i);
                assert_int_equal(v != NULL, present[i]);
                if (v)
                    assert_int_equal(v->id, i);
            }
    }
    struct ks_table_stats st = stats_of(t);
    assert_int_equal(st.entries, n);
    assert_int_equal(st.entries, st.inserts - st.evicted - st.removed);
    ks_table_free(t);
}

struct walk {
    uint32_t seen[4096];
    size_t visits;
    size_t stop_after;
};

static unsigned visit_remove_odd(void *user, const void *key, void *value, uint32_t stamp)
{
    struct walk *w = user;
    uint32_t k;
    memcpy(&k, key, 4);
    w->seen[k]++;
    w->visits++;
    assert_int_equal(stamp, k * 3);
    return k % 2 ? KS_TABLE_REMOVE : KS_TABLE_NEXT;
}

static void foreach_visits_each_once_while_removing(void **state)
{
    struct ks_table *t = make(4096, KS_TABLE_EVICT_NONE, NULL);
    for (uint32_t i = 0; i < 3000; i++)
        ks_table_upsert(t, &i, i * 3, NULL);
    struct walk *w = calloc(1, sizeof *w);
    assert_int_equal(ks_table_foreach(t, visit_remove_odd, w), 3000);
    for (uint32_t i = 0; i < 3000; i++)
        assert_int_equal(w->seen[i], 1);
    assert_int_equal(ks_table_count(t), 1500);
    for (uint32_t i = 0; i < 3000; i++)
        assert_int_equal(ks_table_find(t, &i) != NULL, i % 2 == 0);
    assert_int_equal(stats_of(t).removed, 1500);
    free(w);
    ks_table_free(t);
}

static unsigned visit_stop(void *user, const void *key, void *value, uint32_t stamp)
{
    struct walk *w = user;
    return ++w->visits >= w->stop_after ? KS_TABLE_STOP : KS_TABLE_NEXT;
}

static void foreach_stops_when_asked(void **state)
{
    struct ks_table *t = make(100, KS_TABLE_EVICT_NONE, NULL);
    for (uint32_t i = 0; i < 50; i++)
        ks_table_upsert(t, &i, 0, NULL);
    struct walk *w = calloc(1, sizeof *w);
    w->stop_after = 10;
    assert_int_equal(ks_table_foreach(t, visit_stop, w), 10);
    free(w);
    ks_table_free(t);
}

static void clear_empties_and_resets_counters(void **state)
{
    struct ks_table *t = make(10, KS_TABLE_EVICT_LRU, NULL);
    for (uint32_t i = 0; i < 30; i++)
        ks_table_upsert(t, &i, i, NULL);
    ks_table_clear(t);
    struct ks_table_stats st = stats_of(t);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.evicted, 0);
    assert_int_equal(st.inserts, 0);
    uint32_t k = 29;
    assert_null(ks_table_find(t, &k));
    assert_non_null(ks_table_upsert(t, &k, 0, NULL));
    ks_table_free(t);
}

static void address_keys_and_empty_values_work(void **state)
{
    struct ks_table_config cfg;
    ks_table_config_default(&cfg);
    cfg.key_size = sizeof(struct ks_addr);
    cfg.value_size = 0;
    cfg.capacity = 64; /* seed 0: random */
    struct ks_table *t;
    assert_int_equal(ks_table_new(&cfg, &t), KS_OK);
    struct ks_addr a, b;
    assert_int_equal(ks_addr_parse("2001:db8::1", 11, &a), KS_OK);
    assert_int_equal(ks_addr_parse("192.0.2.1", 9, &b), KS_OK);
    assert_non_null(ks_table_upsert(t, &a, 0, NULL));
    assert_non_null(ks_table_find(t, &a));
    assert_null(ks_table_find(t, &b));
    ks_table_free(t);
}

static void hashed_calls_agree_with_plain_ones(void **state)
{
    struct ks_table *t = make(1000, KS_TABLE_EVICT_LRU, NULL);
    for (uint32_t k = 0; k < 500; k++) {
        uint32_t h = ks_table_hash(t, &k);
        ks_table_prefetch(t, h);
        bool is_new = false;
        struct val *v = ks_table_upsert_hashed(t, &k, h, k, &is_new);
        assert_non_null(v);
        assert_true(is_new);
        v->id = k;
    }
    for (uint32_t k = 0; k < 600; k++) {
        struct val *a = ks_table_find(t, &k);
        struct val *b = ks_table_find_hashed(t, &k, ks_table_hash(t, &k));
        assert_ptr_equal(a, b);
        if (k < 500)
            assert_int_equal(b->id, k);
        else
            assert_null(b);
    }
    ks_table_prefetch(t, 0xffffffffu); /* any hash is a harmless hint */
    ks_table_free(t);
    (void)state;
}

static void remove_hashed_agrees_with_remove(void **state)
{
    struct ks_table *t = make(1000, KS_TABLE_EVICT_LRU, NULL);
    for (uint32_t k = 0; k < 500; k++)
        assert_non_null(ks_table_upsert(t, &k, 1, NULL));
    for (uint32_t k = 0; k < 500; k += 2)
        assert_int_equal(ks_table_remove_hashed(t, &k, ks_table_hash(t, &k)), KS_OK);
    uint32_t absent = 700;
    assert_int_equal(ks_table_remove_hashed(t, &absent, ks_table_hash(t, &absent)), KS_ENOTFOUND);
    for (uint32_t k = 0; k < 500; k++) {
        if (k % 2)
            assert_non_null(ks_table_find(t, &k));
        else
            assert_null(ks_table_find(t, &k));
    }
    struct ks_table_stats st;
    ks_table_stats(t, &st);
    assert_int_equal(st.entries, 250);
    assert_int_equal(st.removed, 250);
    ks_table_free(t);
    (void)state;
}

static void large_table_is_zeroed_and_full_range_usable(void **state)
{
    /* 600 000 entries: 2^20 slots of 32 bytes, 32 MiB, mapped separately, used from 2 MiB. */
    struct ks_table *t = make(600000, KS_TABLE_EVICT_NONE, NULL);
    assert_true(stats_of(t).bytes <= ((size_t)2 << 20) + 4096);
    for (uint32_t k = 0; k < 600000; k++) {
        struct val *v = ks_table_upsert(t, &k, 1, NULL);
        assert_non_null(v);
        assert_int_equal(v->packets, 0);
        v->packets = k;
    }
    uint32_t k = 600000;
    assert_null(ks_table_upsert(t, &k, 1, NULL));
    k = 599999;
    assert_int_equal(((struct val *)ks_table_find(t, &k))->packets, 599999);
    assert_int_equal(stats_of(t).slots, (size_t)1 << 20);
    ks_table_free(t);
    (void)state;
}

static void large_table_grows_keeping_entries_and_stamps(void **state)
{
    /* A large table starts small and doubles as entries arrive: every doubling must keep
     * each entry reachable with its value and stamp, and removals after it must work. */
    struct ks_table *t = make(400000, KS_TABLE_EVICT_NONE, NULL);
    uint64_t slots0 = stats_of(t).slots;
    for (uint32_t k = 0; k < 200000; k++) {
        struct val *v = ks_table_upsert(t, &k, k, NULL);
        assert_non_null(v);
        v->packets = (uint64_t)k * 3;
    }
    struct ks_table_stats st = stats_of(t);
    assert_true(st.slots > slots0);
    assert_true(st.slots * 3 >= st.entries * 4); /* load <= 3/4 */
    assert_int_equal(st.entries, 200000);
    for (uint32_t k = 0; k < 200000; k += 2)
        assert_int_equal(ks_table_remove(t, &k), KS_OK);
    for (uint32_t k = 0; k < 200000; k++) {
        struct val *v = ks_table_find(t, &k);
        if (k % 2) {
            assert_non_null(v);
            assert_int_equal(v->packets, (uint64_t)k * 3);
        } else {
            assert_null(v);
        }
    }
    ks_table_free(t);
    (void)state;
}

static void grown_table_evicts_least_recently_touched(void **state)
{
    /* Filled past its capacity through every doubling, an LRU table holds exactly its
     * capacity and has evicted the oldest entries (stamps survived the rehashes). */
    struct evict_log log = {0};
    struct ks_table *t = make(300000, KS_TABLE_EVICT_LRU, &log);
    for (uint32_t k = 0; k < 600000; k++)
        assert_non_null(ks_table_upsert(t, &k, k, NULL));
    struct ks_table_stats st = stats_of(t);
    assert_int_equal(st.entries, 300000);
    assert_int_equal(st.evicted, 300000);
    assert_int_equal(log.calls, 300000);
    uint32_t recent_found = 0;
    for (uint32_t k = 599000; k < 600000; k++)
        recent_found += ks_table_find(t, &k) != NULL;
    assert_true(recent_found >= 990); /* approximate LRU: the newest keys stay */
    ks_table_free(t);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(upsert_creates_zeroed_then_finds),
        cmocka_unit_test(bad_config_is_refused),
        cmocka_unit_test(flood_of_unique_keys_stays_within_capacity),
        cmocka_unit_test(no_eviction_drops_new_keys_but_updates_old),
        cmocka_unit_test(eviction_prefers_least_recently_touched),
        cmocka_unit_test(stamps_compare_across_wrap_around),
        cmocka_unit_test(remove_keeps_other_keys_reachable),
        cmocka_unit_test(foreach_visits_each_once_while_removing),
        cmocka_unit_test(foreach_stops_when_asked),
        cmocka_unit_test(clear_empties_and_resets_counters),
        cmocka_unit_test(address_keys_and_empty_values_work),
        cmocka_unit_test(hashed_calls_agree_with_plain_ones),
        cmocka_unit_test(remove_hashed_agrees_with_remove),
        cmocka_unit_test(large_table_is_zeroed_and_full_range_usable),
        cmocka_unit_test(large_table_grows_keeping_entries_and_stamps),
        cmocka_unit_test(grown_table_evicts_least_recently_touched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
