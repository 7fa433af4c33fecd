#include "kansoku/ks_ip.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct ks_addr A(const char *s) {
    struct ks_addr a;
    assert_int_equal(ks_addr_parse(s, strlen(s), &a), KS_OK);
    return a;
}

static struct ks_prefix
P(const char *s) {
    struct ks_prefix p;
    assert_int_equal(ks_prefix_parse(s, strlen(s), &p, NULL), KS_OK);
    return p;
}

static void
ipv4_parses_into_first_four_bytes(void **state)
{
    struct ks_addr a = A("10.1.2.3");
    assert_int_equal(a.family, 4);
    assert_int_equal(ks_addr_v4(&a), 0x0a010203);
    static const uint8_t zero[12];
    assert_memory_equal(a.b + 4, zero, 12);
    struct ks_addr b;
    ks_addr_from_v4(&b, 0x0a010203);
    assert_true(ks_addr_eq(&a, &b));
    assert_memory_equal(&a, &b, sizeof a);
}

static void ipv6_parses_and_formats_canonically(void **state)
{
    struct ks_addr a = A("2001:DB8:0:0:0:0:0:1");
    assert_int_equal(a.family, 6);
    char buf[KS_ADDR_STRLEN];
    assert_int_equal(ks_addr_format(&a, buf, sizeof buf), strlen("2001:db8::1"));
    assert_string_equal(buf, "2001:db8::1");
}

static void parse_uses_only_len_bytes(void **state)
{
    struct ks_addr a;
    assert_int_equal(ks_addr_parse("192.0.2.1junk", 9, &a), KS_OK);
    assert_int_equal(ks_addr_v4(&a), 0xc0000201);
}

static void garbage_is_rejected(void **state)
{
    static const char *bad[] = {"",
                                "1.2.3",
                                "1.2.3.4.5",
                                "256.1.1.1",
                                "01.2.3.4",
                                "1.2.3.4 ",
                                "::g",
                                "1:2:3:4:5:6:7:8:9",
                                "fe80::1%eth0",
                                "::1::2",
                                "0123456789012345678901234567890123456789012345678"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct ks_addr a;
        a.family = 9;
        assert_int_equal(ks_addr_parse(bad[i], strlen(bad[i]), &a), KS_EFORMAT);
        assert_int_equal(a.family, 0);
    }
    struct ks_addr a;
    assert_int_equal(ks_addr_parse("1.2.3.4\0", 8, &a), KS_EFORMAT); /* embedded NUL */
    assert_int_equal(ks_addr_parse(NULL, 0, &a), KS_EFORMAT);
}

static void v4mapped_is_ipv6_until_unmapped(void **state)
{
    struct ks_addr a = A("::ffff:192.0.2.1");
    assert_int_equal(a.family, 6);
    assert_true(ks_addr_is_v4mapped(&a));
    char buf[KS_ADDR_STRLEN];
    ks_addr_format(&a, buf, sizeof buf);
    assert_string_equal(buf, "::ffff:192.0.2.1");
    assert_true(ks_addr_unmap(&a));
    struct ks_addr b = A("192.0.2.1");
    assert_memory_equal(&a, &b, sizeof a);
    assert_false(ks_addr_unmap(&b));
    struct ks_addr c = A("::192.0.2.1"); /* IPv4-compatible, not mapped */
    assert_false(ks_addr_is_v4mapped(&c));
}

static void format_refuses_small_buffer_and_bad_family(void **state)
{
    struct ks_addr a = A("192.0.2.1");
    char buf[8];
    assert_int_equal(ks_addr_format(&a, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    struct ks_addr z = {0};
    char big[KS_ADDR_STRLEN];
    assert_int_equal(ks_addr_format(&z, big, sizeof big), 0);
}

static void compare_orders_v4_before_v6(void **state)
{
    struct ks_addr a = A("255.255.255.255"), b = A("::"), c = A("10.0.0.1"), d = A("10.0.0.2");
    assert_true(ks_addr_cmp(&a, &b) < 0);
    assert_true(ks_addr_cmp(&c, &d) < 0);
    assert_true(ks_addr_cmp(&d, &c) > 0);
    assert_int_equal(ks_addr_cmp(&c, &c), 0);
}

static void hash_depends_on_seed_family_and_bytes(void **state)
{
    struct ks_addr a = A("10.0.0.1"), b = A("10.0.0.2"), m = A("::a00:1");
    assert_true(ks_addr_hash(&a, 1) == ks_addr_hash(&a, 1));
    assert_true(ks_addr_hash(&a, 1) != ks_addr_hash(&a, 2));
    assert_true(ks_addr_hash(&a, 1) != ks_addr_hash(&b, 1));
    assert_true(ks_addr_hash(&a, 1) != ks_addr_hash(&m, 1));
    /* Low bits spread: 4096 consecutive addresses fill most of 4096 buckets. */
    static uint8_t seen[4096];
    int used = 0;
    for (uint32_t i = 0; i < 4096; i++) {
        struct ks_addr x;
        ks_addr_from_v4(&x, 0x0a000000 + i);
        uint64_t h = ks_addr_hash(&x, 7) & 4095;
        used += !seen[h];
        seen[h] = 1;
    }
    assert_true(used > 2400); /* expected 4096 * (1 - 1/e) = 2589 */
}

/* The values are stored (the darknet's sketches hold hashes of sources, merged across runs and
 * sensors): pinned, for IPv4 (read in one 4-byte load) and IPv6 alike. Little-endian hosts. */
static void hash_values_are_stable(void **state)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    struct ks_addr a = A("192.0.2.1"), b = A("10.10.255.254"), c = A("2001:db8::1");
    assert_true(ks_addr_hash(&a, UINT64_C(0x6b616e736f6b7564)) == UINT64_C(0xf98064df4fd24818));
    assert_true(ks_addr_hash(&b, 7) == UINT64_C(0xe5f6c507a9f9023f));
    assert_true(ks_addr_hash(&c, UINT64_C(0x6b616e736f6b7564)) == UINT64_C(0x0590530e7aef31c4));
#else
    skip();
#endif
}

static void prefix_parse_masks_host_bits_and_flags_them(void **state)
{
    struct ks_prefix p;
    unsigned flags = 99;
    assert_int_equal(ks_prefix_parse("10.1.2.3/8", 10, &p, &flags), KS_OK);
    assert_int_equal(flags, KS_PREFIX_HOST_BITS);
    assert_int_equal(p.len, 8);
    assert_int_equal(ks_addr_v4(&p.addr), 0x0a000000);
    assert_int_equal(ks_prefix_parse("10.0.0.0/8", 10, &p, &flags), KS_OK);
    assert_int_equal(flags, 0);
    assert_int_equal(ks_prefix_parse("2001:db8::1/32", 14, &p, &flags), KS_OK);
    assert_int_equal(flags, KS_PREFIX_HOST_BITS);
    char buf[KS_PREFIX_STRLEN];
    ks_prefix_format(&p, buf, sizeof buf);
    assert_string_equal(buf, "2001:db8::/32");
}

static void bare_address_is_host_prefix(void **state)
{
    struct ks_prefix p = P("192.0.2.7"), q = P("2001:db8::7");
    assert_int_equal(p.len, 32);
    assert_int_equal(q.len, 128);
    char buf[KS_PREFIX_STRLEN];
    ks_prefix_format(&p, buf, sizeof buf);
    assert_string_equal(buf, "192.0.2.7/32");
}

static void bad_prefix_lengths_are_rejected(void **state)
{
    static const char *bad[] = {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08",  "10.0.0.0/-1",
                                "::/129",      "::/1000",   "10.0.0.0/8/8", "/8",
                                "10.0.0.0/8 ", "::/+1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct ks_prefix p;
        assert_int_equal(ks_prefix_parse(bad[i], strlen(bad[i]), &p, NULL), KS_EFORMAT);
    }
}

static void v6_zero_and_full_length_prefixes(void **state)
{
    struct ks_prefix all = P("::/0"), host = P("2001:db8::1/128");
    struct ks_addr a = A("2001:db8::1"), b = A("2001:db8::2"), v4 = A("0.0.0.0");
    assert_true(ks_addr_in_prefix(&a, &all));
    assert_true(ks_addr_in_prefix(&b, &all));
    assert_false(ks_addr_in_prefix(&v4, &all)); /* families never mix */
    assert_true(ks_addr_in_prefix(&a, &host));
    assert_false(ks_addr_in_prefix(&b, &host));
}

static void in_prefix_checks_partial_bytes(void **state)
{
    struct ks_prefix p = P("10.0.0.128/25");
    struct ks_addr in = A("10.0.0.200"), out = A("10.0.0.127");
    assert_true(ks_addr_in_prefix(&in, &p));
    assert_false(ks_addr_in_prefix(&out, &p));
    struct ks_prefix q;
    assert_int_equal(ks_prefix_make(&q, &in, 25), KS_OK);
    assert_memory_equal(&q, &p, sizeof p);
    assert_int_equal(ks_prefix_make(&q, &in, 33), KS_EINVAL);
}

static struct ks_prefix_set *set_of(const char *const *prefixes, size_t n)
{
    struct ks_prefix_set *s;
    assert_int_equal(ks_prefix_set_new(&s), KS_OK);
    for (size_t i = 0; i < n; i++) {
        struct ks_prefix p = P(prefixes[i]);
        assert_int_equal(ks_prefix_set_add(s, &p, (uint32_t)i), KS_OK);
    }
    return s;
}

static void expect_match(const struct ks_prefix_set *s, const char *addr, uint32_t value,
                         unsigned len)
{
    struct ks_addr a = A(addr);
    uint32_t v = 12345;
    unsigned l = 999;
    assert_true(ks_prefix_set_lookup(s, &a, &v, &l));
    assert_int_equal(v, value);
    assert_int_equal(l, len);
}

static void expect_no_match(const struct ks_prefix_set *s, const char *addr)
{
    struct ks_addr a = A(addr);
    assert_false(ks_prefix_set_lookup(s, &a, NULL, NULL));
}

static void most_specific_overlapping_prefix_wins(void **state)
{
    static const char *const pfx[] = {"10.0.0.0/8", "10.1.0.0/16",  "10.1.2.0/24",
                                      "10.1.2.3",   "10.128.0.0/9", "0.0.0.0/1"};
    struct ks_prefix_set *s = set_of(pfx, 6);
    assert_int_equal(ks_prefix_set_count(s), 6);
    expect_match(s, "10.1.2.3", 3, 32);
    expect_match(s, "10.1.2.4", 2, 24);
    expect_match(s, "10.1.3.4", 1, 16);
    expect_match(s, "10.2.0.0", 0, 8);
    expect_match(s, "10.200.0.0", 4, 9);
    expect_match(s, "11.0.0.0", 5, 1);
    expect_no_match(s, "128.0.0.1");
    expect_no_match(s, "::1");
    ks_prefix_set_free(s);
}

static void insertion_order_does_not_matter(void **state)
{
    static const char *const pfx[] = {"10.1.2.3", "10.1.2.0/24", "10.1.0.0/16", "10.0.0.0/8"};
    struct ks_prefix_set *s = set_of(pfx, 4);
    expect_match(s, "10.1.2.3", 0, 32);
    expect_match(s, "10.1.2.4", 1, 24);
    expect_match(s, "10.1.3.4", 2, 16);
    expect_match(s, "10.2.0.0", 3, 8);
    ks_prefix_set_free(s);
}

static void zero_length_prefix_matches_everything_in_family(void **state)
{
    static const char *const pfx[] = {"0.0.0.0/0", "::/0", "2001:db8::/32", "2001:db8::1/128"};
    struct ks_prefix_set *s = set_of(pfx, 4);
    expect_match(s, "255.255.255.255", 0, 0);
    expect_match(s, "ffff::", 1, 0);
    expect_match(s, "2001:db8:1::", 2, 32);
    expect_match(s, "2001:db8::1", 3, 128);
    expect_match(s, "2001:db8::2", 2, 32);
    expect_match(s, "::ffff:10.0.0.1", 1, 0); /* a mapped address stays IPv6 */
    ks_prefix_set_free(s);
}

static void re_adding_a_prefix_replaces_its_value(void **state)
{
    static const char *const pfx[] = {"10.0.0.0/8", "10.0.0.0/16"};
    struct ks_prefix_set *s = set_of(pfx, 2);
    struct ks_prefix p = P("10.0.0.0/8");
    assert_int_equal(ks_prefix_set_add(s, &p, 77), KS_OK);
    assert_int_equal(ks_prefix_set_count(s), 2);
    expect_match(s, "10.1.0.0", 77, 8);
    /* 10.0.0.0/16 and 10.3.0.0/16 meet in a glue node 10.0.0.0/14, which gets a value when
     * that prefix is added. */
    struct ks_prefix a = P("10.3.0.0/16"), g = P("10.0.0.0/14");
    assert_int_equal(ks_prefix_set_add(s, &a, 5), KS_OK);
    expect_match(s, "10.3.0.1", 5, 16);
    expect_match(s, "10.2.0.1", 77, 8);
    assert_int_equal(ks_prefix_set_add(s, &g, 6), KS_OK);
    assert_int_equal(ks_prefix_set_count(s), 4);
    expect_match(s, "10.3.0.1", 5, 16);
    expect_match(s, "10.2.0.1", 6, 14);
    expect_match(s, "10.0.0.1", 1, 16);
    ks_prefix_set_free(s);
}

static void invalid_prefix_is_refused(void **state)
{
    struct ks_prefix_set *s;
    assert_int_equal(ks_prefix_set_new(&s), KS_OK);
    struct ks_prefix p = {0};
    assert_int_equal(ks_prefix_set_add(s, &p, 1), KS_EINVAL);
    p = P("10.0.0.0/8");
    p.len = 40;
    assert_int_equal(ks_prefix_set_add(s, &p, 1), KS_EINVAL);
    assert_int_equal(ks_prefix_set_count(s), 0);
    ks_prefix_set_free(s);
    ks_prefix_set_free(NULL);
}

/* Reference: the longest matching prefix by linear scan. */
static int brute_lpm(const struct ks_prefix *ps, size_t n, const struct ks_addr *a)
{
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if (ks_addr_in_prefix(a, &ps[i]) && (best < 0 || ps[i].len > ps[best].len))
            best = (int)i;
    return best;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void random_sets_agree_with_linear_scan(void **state)
{
    enum { N = 600 };
    for (int fam = 4; fam <= 6; fam += 2) {
        struct ks_prefix *ps = calloc(N, sizeof *ps);
        struct ks_prefix_set *s;
        assert_int_equal(ks_prefix_set_new(&s), KS_OK);
        size_t n = 0;
        for (int i = 0; i < N; i++) {
            struct ks_addr a = {0};
            a.family = (uint8_t)fam;
            uint64_t r1 = next_rand(), r2 = next_rand();
            /* Few distinct top bits so that prefixes nest and overlap. */
            memcpy(a.b, &r1, 8);
            memcpy(a.b + 8, &r2, 8);
            a.b[0] &= 0x0f;
            if (fam == 4)
                memset(a.b + 4, 0, 12);
            unsigned width = fam == 4 ? 32 : 128;
            struct ks_prefix p;
            assert_int_equal(ks_prefix_make(&p, &a, (unsigned)(next_rand() % (width + 1))), KS_OK);
            bool dup = false;
            for (size_t k = 0; k < n; k++)
                if (!memcmp(&ps[k], &p, sizeof p))
                    dup = true;
            if (dup)
                continue;
            ps[n] = p;
            assert_int_equal(ks_prefix_set_add(s, &p, (uint32_t)n), KS_OK);
            n++;
        }
        assert_int_equal(ks_prefix_set_count(s), n);
        for (int i = 0; i < 20000; i++) {
            struct ks_addr a = {0};
            a.family = (uint8_t)fam;
            if (i % 2) {
                a = ps[next_rand() % n].addr; /* near a prefix */
                a.b[(fam == 4 ? 3 : 15) - next_rand() % 2] ^= (uint8_t)next_rand();
            } else {
                uint64_t r1 = next_rand(), r2 = next_rand();
                memcpy(a.b, &r1, 8);
                memcpy(a.b + 8, &r2, 8);
                a.b[0] &= 0x1f;
                if (fam == 4)
                    memset(a.b + 4, 0, 12);
            }
            int want = brute_lpm(ps, n, &a);
            uint32_t v;
            unsigned l;
            bool got = ks_prefix_set_lookup(s, &a, &v, &l);
            assert_int_equal(got, want >= 0);
            if (got) {
                assert_int_equal(v, (uint32_t)want);
                assert_int_equal(l, ps[want].len);
            }
        }
        ks_prefix_set_free(s);
        free(ps);
    }
}

static void a_million_prefixes_fit(void **state)
{
    struct ks_prefix_set *s;
    assert_int_equal(ks_prefix_set_new(&s), KS_OK);
    for (uint32_t i = 0; i < 1000000; i++) {
        struct ks_addr a;
        uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
        memcpy(b + 4, &i, 4);
        ks_addr_from_v6(&a, b);
        struct ks_prefix p;
        ks_prefix_make(&p, &a, 64);
        assert_int_equal(ks_prefix_set_add(s, &p, i), KS_OK);
    }
    assert_int_equal(ks_prefix_set_count(s), 1000000);
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
    uint32_t i = 765432;
    memcpy(b + 4, &i, 4);
    b[15] = 9;
    struct ks_addr a;
    ks_addr_from_v6(&a, b);
    uint32_t v;
    unsigned l;
    assert_true(ks_prefix_set_lookup(s, &a, &v, &l));
    assert_int_equal(v, 765432);
    assert_int_equal(l, 64);
    ks_prefix_set_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_parses_into_first_four_bytes),
        cmocka_unit_test(ipv6_parses_and_formats_canonically),
        cmocka_unit_test(parse_uses_only_len_bytes),
        cmocka_unit_test(garbage_is_rejected),
        cmocka_unit_test(v4mapped_is_ipv6_until_unmapped),
        cmocka_unit_test(format_refuses_small_buffer_and_bad_family),
        cmocka_unit_test(compare_orders_v4_before_v6),
        cmocka_unit_test(hash_depends_on_seed_family_and_bytes),
        cmocka_unit_test(hash_values_are_stable),
        cmocka_unit_test(prefix_parse_masks_host_bits_and_flags_them),
        cmocka_unit_test(bare_address_is_host_prefix),
        cmocka_unit_test(bad_prefix_lengths_are_rejected),
        cmocka_unit_test(v6_zero_and_full_length_prefixes),
        cmocka_unit_test(in_prefix_checks_partial_bytes),
        cmocka_unit_test(most_specific_overlapping_prefix_wins),
        cmocka_unit_test(insertion_order_does_not_matter),
        cmocka_unit_test(zero_length_prefix_matches_everything_in_family),
        cmocka_unit_test(re_adding_a_prefix_replaces_its_value),
        cmocka_unit_test(invalid_prefix_is_refused),
        cmocka_unit_test(random_sets_agree_with_linear_scan),
        cmocka_unit_test(a_million_prefixes_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
