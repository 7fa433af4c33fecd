/* Tests of ks_radix_sort_kv (sort.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/sort.h"

static int by_key_then_val(const void *pa, const void *pb)
{
    const struct ks_kv *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->val < b->val ? -1 : a->val > b->val; /* val = input order: stability */
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Against qsort with the input order as the last key, for keys that differ in every byte, in
 * a few bytes only, and that repeat a lot; n from 0 to 70 000. */
static void sorts_as_a_stable_qsort(void **state)
{
    (void)state;
    static const size_t sizes[] = {0, 1, 2, 3, 255, 256, 257, 1000, 70000};
    static const uint64_t masks[] = {UINT64_MAX, 0xff00000000ff0000ull, 0x7, 0};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
        for (size_t mi = 0; mi < sizeof masks / sizeof masks[0]; mi++) {
            size_t n = sizes[si];
            struct ks_kv *a = malloc((n + 1) * sizeof *a), *t = malloc((n + 1) * sizeof *t);
            struct ks_kv *want = malloc((n + 1) * sizeof *want);
            assert_non_null(a);
            assert_non_null(t);
            assert_non_null(want);
            for (size_t i = 0; i < n; i++) {
                a[i].key = next() & masks[mi];
                a[i].val = i;
                want[i] = a[i];
            }
            qsort(want, n, sizeof *want, by_key_then_val);
            struct ks_kv *got = ks_radix_sort_kv(a, t, n);
            assert_true(got == a || got == t);
            for (size_t i = 0; i < n; i++) {
                assert_int_equal(got[i].key, want[i].key);
                assert_int_equal(got[i].val, want[i].val);
            }
            free(a);
            free(t);
            free(want);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sorts_as_a_stable_qsort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
