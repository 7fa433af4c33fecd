/* Unit tests of the darknet module's space-saving top-K (cmocka): its guarantees checked
 * against exact counts of random streams, and the stream summary's own invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kansoku/ks_core.h"
#include "topk.h"

#define UNIVERSE 5000

static struct ks_addr addr_of(uint32_t i)
{
    struct ks_addr a = {.family = 4};
    a.b[0] = 198;
    a.b[1] = (uint8_t)(i >> 16);
    a.b[2] = (uint8_t)(i >> 8);
    a.b[3] = (uint8_t)i;
    return a;
}

static uint32_t index_of(const struct ks_addr *a)
{
    return (uint32_t)a->b[1] << 16 | (uint32_t)a->b[2] << 8 | a->b[3];
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Buckets in strictly increasing count order, each entry in the bucket of its count, every
 * entry in exactly one bucket. */
static void check_summary(const struct topk *t)
{
    uint32_t seen = 0, prev = TOPK_NONE;
    uint64_t last_count = 0;
    for (uint32_t bi = t->min_b; bi != TOPK_NONE; bi = t->b[bi].next) {
        assert_int_equal(t->b[bi].prev, prev);
        if (prev != TOPK_NONE)
            assert_true(t->b[bi].count > last_count);
        assert_int_not_equal(t->b[bi].first, TOPK_NONE);
        uint32_t before = TOPK_NONE;
        for (uint32_t ei = t->b[bi].first; ei != TOPK_NONE; ei = t->e[ei].next) {
            assert_int_equal(t->e[ei].bucket, bi);
            assert_int_equal(t->e[ei].prev, before);
            assert_int_equal(t->e[ei].count, t->b[bi].count);
            before = ei;
            seen++;
        }
        last_count = t->b[bi].count;
        prev = bi;
    }
    assert_int_equal(seen, t->n);
}

/* The paper's guarantees: counts sum to the stream's weight, each count overestimates by at
 * most its error, and every key heavier than the smallest counter is held. */
static void check_guarantees(const struct topk *t, const uint64_t *truth, uint64_t total)
{
    uint64_t sum = 0, min = UINT64_MAX;
    static bool held[UNIVERSE];
    memset(held, 0, sizeof held);
    for (uint32_t i = 0; i < t->n; i++) {
        const struct topk_entry *e = &t->e[i];
        uint64_t real = truth[index_of(&e->key)];
        assert_true(e->count >= real);
        assert_true(e->count - e->error <= real);
        sum += e->count;
        if (e->count < min)
            min = e->count;
        held[index_of(&e->key)] = true;
    }
    assert_int_equal(sum, total);
    if (t->n == t->k)
        for (uint32_t i = 0; i < UNIVERSE; i++)
            if (truth[i] > min)
                assert_true(held[i]);
}

static void run_stream(uint32_t k, uint32_t keys, uint64_t max_w, bool skewed, uint64_t seed)
{
    struct topk t;
    assert_int_equal(topk_init(&t, k), KS_OK);
    static uint64_t truth[UNIVERSE];
    memset(truth, 0, sizeof truth);
    uint64_t x = seed, total = 0;
    for (int i = 0; i < 40000; i++) {
        uint64_t r = next_rand(&x);
        /* skewed: a tenth of the keys get most of the stream */
        uint32_t key = skewed && r % 10 < 7 ? (uint32_t)(r >> 20) % (keys / 10 + 1)
                                            : (uint32_t)(r >> 32) % keys;
        uint64_t w = 1 + (next_rand(&x) >> 40) % max_w;
        struct ks_addr a = addr_of(key);
        topk_add(&t, &a, w);
        truth[key] += w;
        total += w;
        if (i % 4999 == 0)
            check_summary(&t);
    }
    check_summary(&t);
    check_guarantees(&t, truth, total);
    topk_fini(&t);
}

static void counts_are_exact_while_keys_fit(void **state)
{
    (void)state;
    struct topk t;
    assert_int_equal(topk_init(&t, 64), KS_OK);
    uint64_t truth[64] = {0};
    uint64_t x = 7;
    for (int i = 0; i < 10000; i++) {
        uint32_t key = (uint32_t)(next_rand(&x) >> 40) % 64;
        uint64_t w = 1 + (next_rand(&x) >> 50) % 9;
        struct ks_addr a = addr_of(key);
        topk_add(&t, &a, w);
        truth[key] += w;
    }
    check_summary(&t);
    assert_int_equal(t.n, 64);
    for (uint32_t i = 0; i < t.n; i++) {
        assert_int_equal(t.e[i].error, 0);
        assert_int_equal(t.e[i].count, truth[index_of(&t.e[i].key)]);
    }
    topk_fini(&t);
}

static void unit_weights_keep_the_guarantees(void **state)
{
    (void)state;
    run_stream(100, UNIVERSE, 1, false, 1);
    run_stream(100, UNIVERSE, 1, true, 2);
}

static void large_weights_keep_the_guarantees(void **state)
{
    (void)state;
    run_stream(50, 2000, 1000, true, 3);
    run_stream(1, 300, 50, false, 4);
    run_stream(1024, UNIVERSE, 5, true, 5);
}

static void heavy_keys_come_first_in_order(void **state)
{
    (void)state;
    struct topk t;
    assert_int_equal(topk_init(&t, 16), KS_OK);
    uint64_t x = 9;
    for (int i = 0; i < 20000; i++) { /* one-off keys around three heavy ones */
        struct ks_addr a = addr_of(100 + (uint32_t)(next_rand(&x) >> 40) % 4000);
        topk_add(&t, &a, 1);
        if (i % 5 == 0) { /* heavier than the stream's weight / k: held by the guarantee */
            uint32_t key = (uint32_t)(i / 5) % 3;
            struct ks_addr h = addr_of(key);
            topk_add(&t, &h, 10 + 10 * (uint64_t)key);
        }
    }
    const uint32_t *order;
    uint32_t n = topk_sorted(&t, &order);
    assert_int_equal(n, 16);
    for (uint32_t i = 0; i < 3; i++)
        assert_true(index_of(&t.e[order[i]].key) < 3);
    assert_int_equal(index_of(&t.e[order[0]].key), 2); /* 30 each time */
    for (uint32_t i = 1; i < n; i++)
        assert_true(t.e[order[i - 1]].count >= t.e[order[i]].count);
    topk_reset(&t);
    assert_int_equal(topk_sorted(&t, &order), 0);
    struct ks_addr a = addr_of(1);
    topk_add(&t, &a, 5);
    check_summary(&t);
    assert_int_equal(t.e[0].count, 5);
    topk_fini(&t);
}

static void zero_weight_changes_nothing(void **state)
{
    (void)state;
    struct topk t;
    assert_int_equal(topk_init(&t, 2), KS_OK);
    struct ks_addr a = addr_of(1), b = addr_of(2);
    topk_add(&t, &a, 3);
    topk_add(&t, &b, 0);
    topk_add(&t, &a, 0);
    check_summary(&t);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.e[0].count, 3);
    assert_int_equal(t.e[1].count, 0);
    topk_fini(&t);
    assert_int_equal(topk_init(&t, 0), KS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_are_exact_while_keys_fit),
        cmocka_unit_test(unit_weights_keep_the_guarantees),
        cmocka_unit_test(large_weights_keep_the_guarantees),
        cmocka_unit_test(heavy_keys_come_first_in_order),
        cmocka_unit_test(zero_weight_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
