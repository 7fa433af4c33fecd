#include "kansoku/ks_hll.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void add_range(struct ks_hll *h, uint64_t from, uint64_t to)
{
    for (uint64_t i = from; i < to; i++)
        ks_hll_add(h, &i, sizeof i);
}

static double rel_err(double est, double n)
{
    return fabs(est - n) / n;
}

static void empty_sketch_estimates_zero(void **state)
{
    struct ks_hll h;
    assert_int_equal(ks_hll_init(&h, 0), KS_OK);
    assert_int_equal(h.p, KS_HLL_P_DEFAULT);
    assert_true(ks_hll_estimate(&h) == 0.0);
    ks_hll_fini(&h);
    ks_hll_fini(&h); /* twice is fine */
}

static void precision_out_of_range_is_refused(void **state)
{
    struct ks_hll h;
    assert_int_equal(ks_hll_init(&h, 3), KS_EINVAL);
    assert_int_equal(ks_hll_init(&h, 19), KS_EINVAL);
    assert_int_equal(ks_hll_regs_size(19), 0);
    assert_int_equal(ks_hll_regs_size(4), 16);
    struct ks_hll *hp;
    assert_int_equal(ks_hll_new(25, &hp), KS_EINVAL);
    assert_null(hp);
}

static void small_counts_are_nearly_exact(void **state)
{
    struct ks_hll h;
    ks_hll_init(&h, 14);
    for (uint64_t n = 1; n <= 1000; n++) {
        add_range(&h, n - 1, n);
        double e = ks_hll_estimate(&h);
        if (n <= 100)
            assert_true(fabs(e - (double)n) < 1.0);
        else /* linear counting: relative error below 0.55 % up to 1000 at p = 14 */
            assert_true(rel_err(e, (double)n) < 0.02);
    }
    ks_hll_fini(&h);
}

static void duplicates_do_not_count(void **state)
{
    struct ks_hll h;
    ks_hll_init(&h, 14);
    add_range(&h, 0, 500);
    double once = ks_hll_estimate(&h);
    for (int r = 0; r < 10; r++)
        add_range(&h, 0, 500);
    assert_true(ks_hll_estimate(&h) == once);
    assert_true(rel_err(once, 500) < 0.02);
    ks_hll_fini(&h);
}

static void million_distinct_within_two_percent(void **state)
{
    struct ks_hll *h;
    assert_int_equal(ks_hll_new(14, &h), KS_OK);
    uint64_t next = 0;
    /* Check along the way too, across the linear-counting switch-over (11500 at p = 14). */
    static const uint64_t marks[] = {5000, 11000, 12000, 20000, 50000, 100000, 300000, 1000000};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
        add_range(h, next, marks[i]);
        next = marks[i];
        double e = ks_hll_estimate(h);
        assert_true(rel_err(e, (double)marks[i]) < 0.02);
    }
    ks_hll_free(h);
    ks_hll_free(NULL);
}

static void every_precision_estimates_within_four_sigma(void **state)
{
    for (unsigned p = KS_HLL_P_MIN; p <= KS_HLL_P_MAX; p++) {
        struct ks_hll h;
        ks_hll_init(&h, p);
        /* The hash of item i is ks_hash_bytes(i): use a different stream per p. */
        add_range(&h, (uint64_t)p << 40, ((uint64_t)p << 40) + 200000);
        double sigma = 1.04 / sqrt((double)(1u << p));
        assert_true(rel_err(ks_hll_estimate(&h), 200000) < 4 * sigma);
        ks_hll_fini(&h);
    }
}

static void merge_is_union(void **state)
{
    struct ks_hll a, b, all;
    ks_hll_init(&a, 14);
    ks_hll_init(&b, 14);
    ks_hll_init(&all, 14);
    add_range(&a, 0, 300000);
    add_range(&b, 200000, 500000);
    add_range(&all, 0, 500000);
    assert_int_equal(ks_hll_merge(&a, &b), KS_OK);
    assert_memory_equal(a.reg, all.reg, a.m);
    assert_true(rel_err(ks_hll_estimate(&a), 500000) < 0.02);
    ks_hll_fini(&a);
    ks_hll_fini(&b);
    ks_hll_fini(&all);
}

static void merge_folds_higher_precision(void **state)
{
    struct ks_hll hi, lo, ref;
    ks_hll_init(&hi, 16);
    ks_hll_init(&lo, 10);
    ks_hll_init(&ref, 10);
    add_range(&hi, 0, 100000);
    add_range(&ref, 0, 100000);
    assert_int_equal(ks_hll_merge(&lo, &hi), KS_OK);
    assert_memory_equal(lo.reg, ref.reg, lo.m);
    assert_int_equal(ks_hll_merge(&hi, &lo), KS_EINVAL);
    ks_hll_fini(&hi);
    ks_hll_fini(&lo);
    ks_hll_fini(&ref);
}

static void caller_buffer_is_used_as_is(void **state)
{
    uint8_t regs[256] = {0};
    struct ks_hll h;
    assert_int_equal(ks_hll_init_buf(&h, 8, regs, sizeof regs), KS_OK);
    add_range(&h, 0, 100);
    ks_hll_fini(&h);
    /* The same buffer again is the same sketch. */
    assert_int_equal(ks_hll_init_buf(&h, 8, regs, sizeof regs), KS_OK);
    assert_true(rel_err(ks_hll_estimate(&h), 100) < 0.1);
    ks_hll_reset(&h);
    assert_true(ks_hll_estimate(&h) == 0.0);
    assert_int_equal(ks_hll_init_buf(&h, 9, regs, sizeof regs), KS_EINVAL);
}

static void round_trip(struct ks_hll *h, int expect_encoding)
{
    size_t n = ks_hll_serialized_size(h), w;
    uint8_t *buf = malloc(n);
    assert_int_equal(ks_hll_serialize(h, buf, n - 1, &w), KS_ELIMIT);
    assert_int_equal(ks_hll_serialize(h, buf, n, &w), KS_OK);
    assert_int_equal(w, n);
    assert_int_equal(buf[4], expect_encoding);
    struct ks_hll back;
    assert_int_equal(ks_hll_deserialize(&back, buf, n), KS_OK);
    assert_int_equal(back.p, h->p);
    assert_memory_equal(back.reg, h->reg, h->m);
    ks_hll_fini(&back);
    /* Every truncation fails cleanly. */
    for (size_t k = 0; k < n; k += 1 + n / 50)
        assert_true(ks_hll_deserialize(&back, buf, k) < 0);
    free(buf);
}

static void serialize_round_trips_sparse_and_dense(void **state)
{
    struct ks_hll h;
    ks_hll_init(&h, 14);
    round_trip(&h, 1);
    add_range(&h, 0, 100);
    round_trip(&h, 1);
    add_range(&h, 0, 100000);
    round_trip(&h, 0);
    assert_int_equal(ks_hll_serialized_size(&h), 5 + 16384 / 4 * 3);
    assert_true(ks_hll_serialized_size(&h) <= KS_HLL_SER_MAX);
    ks_hll_fini(&h);
}

static void deserialize_rejects_bad_input(void **state)
{
    struct ks_hll h;
    uint8_t bad_magic[] = {'X', 'H', 1, 4, 1, 0, 0, 0, 0};
    assert_int_equal(ks_hll_deserialize(&h, bad_magic, sizeof bad_magic), KS_EFORMAT);
    uint8_t version[] = {'K', 'H', 2, 4, 1, 0, 0, 0, 0};
    assert_int_equal(ks_hll_deserialize(&h, version, sizeof version), KS_EUNSUPP);
    uint8_t bad_p[] = {'K', 'H', 1, 19, 1, 0, 0, 0, 0};
    assert_int_equal(ks_hll_deserialize(&h, bad_p, sizeof bad_p), KS_EFORMAT);
    uint8_t trailing[] = {'K', 'H', 1, 4, 1, 0, 0, 0, 0, 0};
    assert_int_equal(ks_hll_deserialize(&h, trailing, sizeof trailing), KS_EFORMAT);
    /* sparse: index out of range (p = 4: m = 16), unordered, zero value, rank too high */
    uint8_t idx[] = {'K', 'H', 1, 4, 1, 0, 0, 0, 1, 0, 0, 16, 1};
    assert_int_equal(ks_hll_deserialize(&h, idx, sizeof idx), KS_EFORMAT);
    uint8_t order[] = {'K', 'H', 1, 4, 1, 0, 0, 0, 2, 0, 0, 2, 1, 0, 0, 1, 1};
    assert_int_equal(ks_hll_deserialize(&h, order, sizeof order), KS_EFORMAT);
    uint8_t zero[] = {'K', 'H', 1, 4, 1, 0, 0, 0, 1, 0, 0, 2, 0};
    assert_int_equal(ks_hll_deserialize(&h, zero, sizeof zero), KS_EFORMAT);
    uint8_t rank[] = {'K', 'H', 1, 4, 1, 0, 0, 0, 1, 0, 0, 2, 62};
    assert_int_equal(ks_hll_deserialize(&h, rank, sizeof rank), KS_EFORMAT);
    uint8_t count[] = {'K', 'H', 1, 4, 1, 0, 0, 0, 17};
    assert_int_equal(ks_hll_deserialize(&h, count, sizeof count), KS_EFORMAT);
    /* dense with a register of 63 (> 61 at p = 4) */
    uint8_t dense[5 + 12] = {'K', 'H', 1, 4, 0, 0xff};
    assert_int_equal(ks_hll_deserialize(&h, dense, sizeof dense), KS_EFORMAT);
    dense[5] = 0;
    assert_int_equal(ks_hll_deserialize(&h, dense, sizeof dense), KS_OK);
    ks_hll_fini(&h);
    assert_int_equal(ks_hll_deserialize(&h, NULL, 0), KS_ETRUNC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_sketch_estimates_zero),
        cmocka_unit_test(precision_out_of_range_is_refused),
        cmocka_unit_test(small_counts_are_nearly_exact),
        cmocka_unit_test(duplicates_do_not_count),
        cmocka_unit_test(million_distinct_within_two_percent),
        cmocka_unit_test(every_precision_estimates_within_four_sigma),
        cmocka_unit_test(merge_is_union),
        cmocka_unit_test(merge_folds_higher_precision),
        cmocka_unit_test(caller_buffer_is_used_as_is),
        cmocka_unit_test(serialize_round_trips_sparse_and_dense),
        cmocka_unit_test(deserialize_rejects_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
