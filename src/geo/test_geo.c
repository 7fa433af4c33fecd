#include "kansoku/ks_geo.h"
#include "geo/asn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <maxminddb.h>

/* The next state of a xorshift64 generator (the tests' pseudo-random addresses). */
static void xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
}

static struct ks_addr A(const char *s) {
    struct ks_addr a;
    assert_int_equal(ks_addr_parse(s, strlen(s), &a), KS_OK);
    return a;
}

/* ---- with the installed data (skipped when absent) ---------------------------------------- */

static struct ks_geo *
real_geo(void)
{
    const char *dir = getenv("KANSOKU_GEO_DIR");
    if (!dir || !*dir)
        dir = ks_geo_default_dir();
    struct ks_geo *g = NULL;
    if (ks_geo_open(dir, &g) != KS_OK) {
        ks_geo_free(g);
        printf("# skip: no geolocation data in %s (scripts/install-geo installs it)\n", dir);
        return NULL;
    }
    return g;
}

static void check_real(const char *ip, const char *cc, uint32_t asn)
{
    struct ks_geo *g = real_geo();
    if (!g)
        skip();
    struct ks_addr a = A(ip);
    struct ks_geo_result r;
    assert_int_equal(ks_geo_lookup(g, &a, &r), KS_OK);
    assert_string_equal(r.country, cc);
    assert_int_equal(r.asn, asn);
    if (asn)
        assert_true(r.org[0] != '\0');
    ks_geo_free(g);
}

static void real_iij_address_is_jp_as2497(void **state)
{
    check_real("202.232.2.1", "JP", 2497);
}

static void real_google_dns_is_us_as15169(void **state)
{
    check_real("8.8.8.8", "US", 15169);
}

static void real_ipv6_iij_address_is_jp_as2497(void **state)
{
    check_real("2001:240::1", "JP", 2497);
}

static void real_ipv4_mapped_ipv6_is_looked_up_as_ipv4(void **state)
{
    check_real("::ffff:202.232.2.1", "JP", 2497);
}

static void real_private_addresses_are_unknown(void **state)
{
    check_real("10.0.0.1", "--", 0);
    check_real("192.168.1.1", "--", 0); /* the whois data say AU */
    check_real("172.16.0.1", "--", 0);
    check_real("127.0.0.1", "--", 0);
    check_real("fe80::1", "--", 0);
    check_real("2001:db8::1", "--", 0); /* the whois data say JP */
}

static void real_files_describe_themselves(void **state)
{
    struct ks_geo *g = real_geo();
    if (!g)
        skip();
    const struct ks_geo_file *c = ks_geo_file(g, KS_GEO_COUNTRY);
    const struct ks_geo_file *s = ks_geo_file(g, KS_GEO_ASN);
    assert_int_equal(c->status, KS_OK);
    assert_int_equal(s->status, KS_OK);
    assert_true(c->build_time > 0 && c->records > 0);
    assert_true(s->records > 100000 && s->records2 > 10000);
    assert_null(ks_geo_file(g, KS_GEO_NDB));
    ks_geo_free(g);
}

/* ---- missing and damaged files ------------------------------------------------------------ */

static char *temp_dir(void)
{
    char *d = strdup("/tmp/ks-test-geo.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void remove_dir(char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, KS_GEO_COUNTRY_FILE);
    unlink(path);
    snprintf(path, sizeof path, "%s/%s", dir, KS_GEO_ASN_FILE);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static void check_sorted(struct ks_geo *g, uint64_t x);

static void missing_dir_says_not_found_and_lookups_are_unknown(void **state)
{
    struct ks_geo *g = NULL;
    assert_int_equal(ks_geo_open("/nonexistent/kansoku-geo", &g), KS_ENOTFOUND);
    assert_non_null(g);
    for (int i = 0; i < KS_GEO_NDB; i++) {
        const struct ks_geo_file *f = ks_geo_file(g, (enum ks_geo_db)i);
        assert_int_equal(f->status, KS_ENOTFOUND);
        assert_non_null(strstr(f->path, "/nonexistent/kansoku-geo/"));
    }
    struct ks_addr a = A("202.232.2.1");
    struct ks_geo_result r;
    assert_int_equal(ks_geo_lookup(g, &a, &r), KS_OK);
    assert_string_equal(r.country, "--");
    assert_int_equal(r.asn, 0);
    assert_string_equal(r.org, "");
    check_sorted(g, 5);
    ks_geo_free(g);
}

static void garbage_mmdb_is_corrupt_and_named(void **state)
{
    char *dir = temp_dir();
    static const char junk[] = "this is not a MaxMind DB file at all, just some bytes";
    write_file(dir, KS_GEO_COUNTRY_FILE, junk, sizeof junk);
    struct ks_geo *g = NULL;
    assert_int_equal(ks_geo_open(dir, &g), KS_ECORRUPT);
    const struct ks_geo_file *f = ks_geo_file(g, KS_GEO_COUNTRY);
    assert_int_equal(f->status, KS_ECORRUPT);
    assert_non_null(strstr(f->path, KS_GEO_COUNTRY_FILE));
    assert_true(f->detail[0] != '\0');
    assert_int_equal(ks_geo_file(g, KS_GEO_ASN)->status, KS_ENOTFOUND);
    struct ks_addr a = A("8.8.8.8");
    struct ks_geo_result r;
    assert_int_equal(ks_geo_lookup(g, &a, &r), KS_OK);
    assert_string_equal(r.country, "--");
    ks_geo_free(g);
    remove_dir(dir);
}

static void garbage_asn_table_is_corrupt(void **state)
{
    char *dir = temp_dir();
    char junk[200];
    memset(junk, 'x', sizeof junk);
    write_file(dir, KS_GEO_ASN_FILE, junk, sizeof junk);
    struct ks_geo *g = NULL;
    assert_int_equal(ks_geo_open(dir, &g), KS_ENOTFOUND); /* the country file comes first */
    assert_int_equal(ks_geo_file(g, KS_GEO_ASN)->status, KS_ECORRUPT);
    ks_geo_free(g);
    remove_dir(dir);
}

static void bad_family_is_einval(void **state)
{
    struct ks_geo *g = NULL;
    ks_geo_open("/nonexistent/kansoku-geo", &g);
    struct ks_addr a;
    memset(&a, 0, sizeof a);
    struct ks_geo_result r;
    assert_int_equal(ks_geo_lookup(g, &a, &r), KS_EINVAL);
    assert_string_equal(r.country, "--");
    ks_geo_free(g);
}

/* ---- the CSV parser ----------------------------------------------------------------------- */

static int parse(const char *line, struct ks_asn_range *r)
{
    const char *why = NULL;
    int e = ks_asn_parse_line((const uint8_t *)line, strlen(line), r, &why);
    if (e != KS_OK)
        assert_non_null(why);
    return e;
}

static void csv_line_with_quoted_name_is_unquoted(void **state)
{
    struct ks_asn_range r;
    assert_int_equal(parse("2.26.200.0,2.26.215.255,201907,\"LLC \"\"SPUTNIK\"\"\"", &r), KS_OK);
    assert_int_equal(r.asn, 201907);
    assert_string_equal(r.org, "LLC \"SPUTNIK\"");
    assert_int_equal(parse("1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"", &r), KS_OK);
    assert_string_equal(r.org, "Cloudflare, Inc.");
    assert_int_equal(parse("2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE", &r),
                     KS_OK);
    assert_int_equal(r.first.family, 6);
    assert_int_equal(parse("1.2.3.4,1.2.3.4,4294967295,", &r), KS_OK);
    assert_int_equal(r.asn, UINT32_MAX);
    assert_string_equal(r.org, "");
}

static void csv_bad_lines_are_refused(void **state)
{
    static const char *bad[] = {
        "1.2.3.4",
        "1.2.3.4,1.2.3.5",
        "1.2.3.4,1.2.3.5,12",
        "1.2.3.5,1.2.3.4,12,x",         /* first after last */
        "1.2.3.4,::1,12,x",             /* families differ */
        "1.2.3.4,1.2.3.5,4294967296,x", /* AS too large */
        "1.2.3.4,1.2.3.5,-1,x",
        "1.2.3.4,1.2.3.5,12,\"open",   /* quote not closed */
        "1.2.3.4,1.2.3.5,12,\"a\"b",   /* text after the quote */
        "1.2.3.4,1.2.3.5,12,a\"b",     /* quote in an unquoted name */
        "1.2.3.4,1.2.3.5,12,a\tb",     /* control character */
        "1.2.3.4,1.2.3.5,12,\xff\xfe", /* not UTF-8 */
        "1.2.3.4,1.2.3.5,12,\xc0\xaf", /* overlong */
        /* the same inside 8-byte runs of printable text (the checker's fast path) */
        "1.2.3.4,1.2.3.5,12,Example Networks\x1f Inc",
        "1.2.3.4,1.2.3.5,12,Example\x7fNetworks Inc",
        "1.2.3.4,1.2.3.5,12,Example Networks\xc0\xaf Inc",
        "1.2.3.4,1.2.3.5,12,Example Networks Inc\x01",
        "x,1.2.3.5,12,a",
    };
    struct ks_asn_range r;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_not_equal(parse(bad[i], &r), KS_OK);
    assert_int_equal(parse("1.2.3.4,1.2.3.5,12,Example Networks ~Inc \xc3\xa9t\xc3\xa9", &r),
                     KS_OK);
    char longname[400];
    memset(longname, 'a', sizeof longname);
    memcpy(longname, "1.2.3.4,1.2.3.5,12,", 19);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(parse(longname, &r), KS_ELIMIT);
}

/* ---- builder and reader ------------------------------------------------------------------- */

struct built {
    void *buf;
    size_t len;
    struct ks_asn_table *t;
    struct ks_geo_build_stats st;
    uint32_t diags;
    uint32_t first_diag_line;
};

static void count_diag(void *user, const char *module, const struct ks_loc *loc, int err,
                       const char *msg)
{
    struct built *b = user;
    if (b->diags++ == 0)
        b->first_diag_line = loc->line;
}

static void build(struct built *out, const char *csv)
{
    memset(out, 0, sizeof *out);
    struct ks_diag diag = {count_diag, out, 0};
    struct ks_asn_builder *b = NULL;
    assert_int_equal(ks_asn_builder_new(&diag, &b), KS_OK);
    assert_int_equal(ks_asn_builder_feed(b, (const uint8_t *)csv, strlen(csv), "test.csv"), KS_OK);
    uint8_t *table = NULL;
    assert_int_equal(ks_asn_builder_finish(b, "test-1", 1700000000, &table, &out->len), KS_OK);
    ks_asn_builder_stats(b, &out->st);
    ks_asn_builder_free(b);
    /* malloc memory is 8-aligned, as the reader wants */
    out->buf = table;
    const char *why = NULL;
    assert_int_equal(ks_asn_table_open(out->buf, out->len, &out->t, &why), KS_OK);
}

static void unbuild(struct built *b)
{
    ks_asn_table_free(b->t);
    free(b->buf);
}

static void expect(const struct built *b, const char *ip, uint32_t asn, const char *org)
{
    struct ks_addr a = A(ip);
    uint32_t got;
    const char *o;
    ks_asn_table_lookup(b->t, &a, &got, &o);
    if (got != asn)
        fail_msg("%s: AS%u, expected AS%u", ip, got, asn);
    assert_string_equal(o, org);
}

static void table_answers_first_last_and_gaps(void **state)
{
    struct built b;
    build(&b, "0.0.0.0,0.0.0.255,1,first\n"
              "1.0.0.0,1.0.0.255,2,two\n"
              "1.0.1.0,1.0.1.255,3,three\n" /* adjacent to the one before */
              "255.255.255.0,255.255.255.255,4,last\n");
    expect(&b, "0.0.0.0", 1, "first");
    expect(&b, "0.0.0.255", 1, "first");
    expect(&b, "0.0.1.0", 0, "");
    expect(&b, "0.255.255.255", 0, "");
    expect(&b, "1.0.0.0", 2, "two");
    expect(&b, "1.0.0.255", 2, "two");
    expect(&b, "1.0.1.0", 3, "three");
    expect(&b, "1.0.1.255", 3, "three");
    expect(&b, "1.0.2.0", 0, "");
    expect(&b, "255.255.254.255", 0, "");
    expect(&b, "255.255.255.0", 4, "last");
    expect(&b, "255.255.255.255", 4, "last");
    expect(&b, "::1", 0, "");
    assert_int_equal(b.st.ranges4, 4);
    assert_int_equal(b.st.overlaps, 0);
    unbuild(&b);
}

static void overlapping_range_keeps_the_earlier_one(void **state)
{
    struct built b;
    build(&b, "10.0.0.0,10.0.0.255,1,a\n"
              "10.0.0.128,10.0.1.255,2,b\n" /* partly covered: b from 10.0.1.0 */
              "10.0.0.10,10.0.0.20,3,c\n"); /* wholly covered: dropped */
    expect(&b, "10.0.0.15", 1, "a");
    expect(&b, "10.0.0.200", 1, "a");
    expect(&b, "10.0.1.0", 2, "b");
    expect(&b, "10.0.1.255", 2, "b");
    expect(&b, "10.0.2.0", 0, "");
    assert_int_equal(b.st.overlaps, 2);
    assert_int_equal(b.diags, 2);
    unbuild(&b);
}

static void same_record_in_adjacent_ranges_is_merged(void **state)
{
    struct built b;
    build(&b, "10.0.0.0,10.0.0.255,7,\"Same, Inc.\"\n"
              "10.0.1.0,10.0.1.255,7,\"Same, Inc.\"\n"
              "2001:db8::,2001:db8::ffff,7,\"Same, Inc.\"\n");
    assert_int_equal(b.st.records, 2); /* the unknown record and one more */
    struct ks_asn_table_info info;
    ks_asn_table_info(b.t, &info);
    assert_int_equal(info.n4, 3); /* 0.0.0.0 unknown, 10.0.0.0 AS7, 10.0.2.0 unknown */
    assert_int_equal(info.n6, 3);
    assert_string_equal(info.version, "test-1");
    assert_int_equal(info.build_time, 1700000000);
    expect(&b, "10.0.1.200", 7, "Same, Inc.");
    unbuild(&b);
}

static void ipv6_ranges_cover_both_ends_of_the_space(void **state)
{
    struct built b;
    build(&b, "::,::ffff,1,zero\n"
              "2001:240::,2001:240:ffff:ffff:ffff:ffff:ffff:ffff,2497,IIJ\n"
              "2001:241::,2001:241::,9,single\n"
              "ffff::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,5,top\n");
    expect(&b, "::", 1, "zero");
    expect(&b, "::ffff", 1, "zero");
    expect(&b, "::1:0", 0, "");
    expect(&b, "2001:23f:ffff:ffff:ffff:ffff:ffff:ffff", 0, "");
    expect(&b, "2001:240::", 2497, "IIJ");
    expect(&b, "2001:240:ffff:ffff:ffff:ffff:ffff:ffff", 2497, "IIJ");
    expect(&b, "2001:241::", 9, "single");
    expect(&b, "2001:241::1", 0, "");
    expect(&b, "fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "");
    expect(&b, "ffff::", 5, "top");
    expect(&b, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 5, "top");
    expect(&b, "1.2.3.4", 0, "");
    unbuild(&b);
}

static void bad_lines_are_counted_with_their_line(void **state)
{
    struct built b;
    build(&b, "1.0.0.0,1.0.0.255,1,ok\n\r\n"
              "garbage line\n"
              "1.0.1.0,1.0.1.255,2,ok2");
    assert_int_equal(b.st.bad, 1);
    assert_int_equal(b.st.lines, 4);
    assert_int_equal(b.first_diag_line, 3);
    expect(&b, "1.0.1.1", 2, "ok2");
    unbuild(&b);
}

static void empty_input_gives_an_all_unknown_table(void **state)
{
    struct built b;
    build(&b, "");
    expect(&b, "8.8.8.8", 0, "");
    expect(&b, "2001:db8::1", 0, "");
    unbuild(&b);
}

/* The batched IPv4 lookup answers as the single one: range edges, gaps, and n not a multiple
 * of the lanes. */
static void batched_ipv4_lookup_is_lookup_one_by_one(void **state)
{
    (void)state;
    struct built b;
    build(&b, "1.0.0.0,1.0.0.255,1,one\n1.0.1.0,1.0.3.255,2,two\n9.9.0.0,9.10.255.255,3,"
              "three\n200.0.0.0,255.255.255.255,4,top\n2001:db8::,2001:db8::1,5,x\n");
    enum { N = 1003 };
    static uint32_t ip[N], asn[N];
    static const char *org[N];
    static const uint32_t edges[] = {0,          0x00ffffff, 0x01000000, 0x010000ff, 0x01000100,
                                     0x010003ff, 0x01000400, 0x09090000, 0x090affff, 0x090b0000,
                                     0xc7ffffff, 0xc8000000, 0xffffffff};
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        xorshift(&x);
        ip[i] = i < (int)(sizeof edges / sizeof edges[0]) ? edges[i] : (uint32_t)x;
    }
    for (size_t n = N; n + 8 >= N; n--) { /* every count modulo the lanes */
        ks_asn_table_lookup4_many(b.t, ip, n, asn, org);
        for (size_t i = 0; i < n; i++) {
            struct ks_addr a;
            ks_addr_from_v4(&a, ip[i]);
            uint32_t want;
            const char *o;
            ks_asn_table_lookup(b.t, &a, &want, &o);
            if (asn[i] != want || strcmp(org[i], o) != 0)
                fail_msg("%08x: AS%u %s, one by one AS%u %s", ip[i], asn[i], org[i], want, o);
        }
    }
    unbuild(&b);
}

static void damaged_tables_are_refused(void **state)
{
    struct built b;
    build(&b, "1.0.0.0,1.0.0.255,1,one\n2.0.0.0,2.0.0.255,2,two\n2001:db8::,2001:db8::1,3,x\n");
    uint8_t *copy = malloc(b.len);
    assert_non_null(copy);
    struct ks_asn_table *t = NULL;
    const char *why = NULL;

    memcpy(copy, b.buf, b.len); /* one byte short */
    assert_int_equal(ks_asn_table_open(copy, b.len - 1, &t, &why), KS_ECORRUPT);
    memcpy(copy, b.buf, b.len); /* bad magic */
    copy[0] ^= 1;
    assert_int_equal(ks_asn_table_open(copy, b.len, &t, &why), KS_ECORRUPT);
    memcpy(copy, b.buf, b.len); /* IPv4 starts out of order: swap boundaries 1 and 2 */
    uint32_t s1, s2;
    memcpy(&s1, copy + KS_ASN_HEADER_SIZE + 4, 4);
    memcpy(&s2, copy + KS_ASN_HEADER_SIZE + 8, 4);
    memcpy(copy + KS_ASN_HEADER_SIZE + 4, &s2, 4);
    memcpy(copy + KS_ASN_HEADER_SIZE + 8, &s1, 4);
    assert_int_equal(ks_asn_table_open(copy, b.len, &t, &why), KS_ECORRUPT);
    memcpy(copy, b.buf, b.len); /* record index past the records */
    uint32_t n4;
    memcpy(&n4, copy + 16, 4);
    uint32_t huge = 0xffffffffu;
    memcpy(copy + KS_ASN_HEADER_SIZE + 4 * n4 + 4, &huge, 4);
    assert_int_equal(ks_asn_table_open(copy, b.len, &t, &why), KS_ECORRUPT);
    memcpy(copy, b.buf, b.len); /* last name not terminated */
    copy[b.len - 1] = 'x';
    assert_int_equal(ks_asn_table_open(copy, b.len, &t, &why), KS_ECORRUPT);
    assert_null(t);
    free(copy);
    unbuild(&b);
}

/* A control character or a broken UTF-8 sequence anywhere in a name, at every offset of the 8-byte
 * steps of the check, refuses the table; the undamaged table with a multi-byte name opens. */
static void damaged_names_are_refused(void **state)
{
    (void)state;
    static const char name[] = "Example Networks \xc3\xa9t\xc3\xa9 of a long name, 2008";
    char csv[256];
    snprintf(csv, sizeof csv, "1.0.0.0,1.0.0.255,1,%s\n2001:db8::,2001:db8::1,3,x\n", name);
    struct built b;
    build(&b, csv);
    uint8_t *copy = malloc(b.len);
    assert_non_null(copy);
    struct ks_asn_table *t = NULL;
    const char *why = NULL;
    assert_int_equal(ks_asn_table_open(b.buf, b.len, &t, &why), KS_OK);
    ks_asn_table_free(t);
    const uint8_t *at = memmem(b.buf, b.len, name, strlen(name));
    assert_non_null(at);
    size_t off = (size_t)(at - (const uint8_t *)b.buf);
    static const uint8_t bad[] = {0x01, 0x1f, 0x7f, 0x80, 0xc0, 0xff};
    for (size_t i = 0; i < strlen(name); i++)
        for (size_t k = 0; k < sizeof bad; k++) {
            bool in_seq = (uint8_t)name[i] >= 0x80 || (i > 0 && (uint8_t)name[i - 1] >= 0xc0);
            if (bad[k] >= 0x80 && in_seq)
                continue; /* inside or before a continuation byte: may still be valid */
            memcpy(copy, b.buf, b.len);
            copy[off + i] = bad[k];
            t = NULL;
            if (ks_asn_table_open(copy, b.len, &t, &why) != KS_ECORRUPT)
                fail_msg("byte %zu of the name set to 0x%02x: accepted", i, bad[k]);
            assert_null(t);
        }
    free(copy);
    unbuild(&b);
}

static void built_file_is_used_by_ks_geo_open(void **state)
{
    char *dir = temp_dir();
    char csv[512], out[512];
    snprintf(csv, sizeof csv, "%s/asn.csv", dir);
    snprintf(out, sizeof out, "%s/%s", dir, KS_GEO_ASN_FILE);
    static const char text[] = "202.232.0.0,202.232.255.255,2497,Internet Initiative Japan Inc.\n"
                               "192.168.0.0,192.168.255.255,64512,Private\n";
    write_file(dir, "asn.csv", text, sizeof text - 1);
    const char *files[] = {csv};
    struct ks_geo_build_stats st;
    assert_int_equal(ks_geo_build_asn(files, 1, out, "v1", NULL, &st), KS_OK);
    assert_int_equal(st.ranges4, 2);
    unlink(csv);

    struct ks_geo *g = NULL;
    assert_int_equal(ks_geo_open(dir, &g), KS_ENOTFOUND); /* no country file */
    const struct ks_geo_file *f = ks_geo_file(g, KS_GEO_ASN);
    assert_int_equal(f->status, KS_OK);
    assert_string_equal(f->version, "v1");
    struct ks_addr a = A("202.232.2.1");
    struct ks_geo_result r;
    assert_int_equal(ks_geo_lookup(g, &a, &r), KS_OK);
    assert_string_equal(r.country, "--");
    assert_int_equal(r.asn, 2497);
    assert_string_equal(r.org, "Internet Initiative Japan Inc.");
    a = A("192.168.1.1"); /* special-purpose addresses are unknown, whatever the data say */
    assert_int_equal(ks_geo_lookup(g, &a, &r), KS_OK);
    assert_int_equal(r.asn, 0);
    ks_geo_free(g);
    remove_dir(dir);
}

static void unreadable_csv_is_eio(void **state)
{
    const char *files[] = {"/nonexistent/asn.csv"};
    assert_int_equal(ks_geo_build_asn(files, 1, "/tmp/ks-never-written.kstab", NULL, NULL, NULL),
                     KS_EIO);
}

/* ---- the IPv4 tree walk against libmaxminddb's -------------------------------------------- */

static bool special_v4(uint32_t ip)
{
    struct ks_addr a = {.family = 4};
    a.b[0] = (uint8_t)(ip >> 24), a.b[1] = (uint8_t)(ip >> 16), a.b[2] = (uint8_t)(ip >> 8);
    a.b[3] = (uint8_t)ip;
    uint8_t o = a.b[0];
    return o == 0 || o == 10 || o == 127 || o >= 224 || (o == 100 && (a.b[1] & 0xc0) == 64) ||
           (o == 169 && a.b[1] == 254) || (o == 172 && (a.b[1] & 0xf0) == 16) ||
           (o == 192 && (a.b[1] == 168 || a.b[1] == 0)) || (o == 198 && (a.b[1] & 0xfe) == 18) ||
           (o == 198 && a.b[1] == 51) || (o == 203 && a.b[1] == 0);
}

/* The country code libmaxminddb itself finds, "--" when none. */
static void mmdb_country(MMDB_s *m, uint32_t ip, char cc[3])
{
    char text[16];
    snprintf(text, sizeof text, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
             ip & 255);
    int gai = 0, merr = 0;
    MMDB_lookup_result_s r = MMDB_lookup_string(m, text, &gai, &merr);
    assert_int_equal(gai, 0);
    assert_int_equal(merr, MMDB_SUCCESS);
    strcpy(cc, "--");
    MMDB_entry_data_s d;
    if (r.found_entry && MMDB_get_value(&r.entry, &d, "country_code", NULL) == MMDB_SUCCESS &&
        d.has_data && d.data_size == 2)
        memcpy(cc, d.utf8_string, 2);
}

/* ks_geo_lookup and libmaxminddb agree on n addresses from the generator (plus both ends of
 * every /8 and /16 edge taken). */
static void compare_walks(struct ks_geo *g, const char *mmdb_path, uint32_t n, uint64_t x)
{
    MMDB_s m;
    assert_int_equal(MMDB_open(mmdb_path, MMDB_MODE_MMAP, &m), MMDB_SUCCESS);
    uint32_t checked = 0;
    for (uint32_t i = 0; i < n; i++) {
        xorshift(&x);
        uint32_t ip = (uint32_t)(x >> 32);
        if (i % 4 == 1)
            ip |= 0xffff; /* the last address of its /16 */
        else if (i % 4 == 2)
            ip &= 0xffff0000u;
        if (special_v4(ip))
            continue;
        char want[3];
        mmdb_country(&m, ip, want);
        struct ks_addr a = {.family = 4};
        a.b[0] = (uint8_t)(ip >> 24), a.b[1] = (uint8_t)(ip >> 16), a.b[2] = (uint8_t)(ip >> 8);
        a.b[3] = (uint8_t)ip;
        struct ks_geo_result r;
        assert_int_equal(ks_geo_lookup(g, &a, &r), KS_OK);
        if (strcmp(r.country, want) != 0)
            fail_msg("%u.%u.%u.%u: %s, libmaxminddb %s", ip >> 24, (ip >> 16) & 255,
                     (ip >> 8) & 255, ip & 255, r.country, want);
        checked++;
    }
    assert_true(checked > n / 2);
    MMDB_close(&m);
}

/* ks_geo_lookup_many answers as ks_geo_lookup one by one, whatever the mix of addresses. */
static void check_many(struct ks_geo *g, uint64_t x)
{
    enum { N = 5003 };
    static struct ks_addr addr[N];
    static const struct ks_addr *ptr[N];
    static struct ks_geo_result many[N];
    for (int i = 0; i < N; i++) {
        xorshift(&x);
        memset(&addr[i], 0, sizeof addr[i]);
        switch (i % 7) {
        case 0: /* IPv6 */
            addr[i].family = 6;
            memcpy(addr[i].b, &x, 8);
            addr[i].b[0] = 0x20;
            break;
        case 1: /* IPv4-mapped */
            addr[i].family = 6;
            addr[i].b[10] = addr[i].b[11] = 0xff;
            memcpy(addr[i].b + 12, &x, 4);
            break;
        case 2: /* special-purpose */
            addr[i] = A(i % 2 ? "10.1.2.3" : "192.168.7.7");
            break;
        default:
            addr[i].family = 4;
            memcpy(addr[i].b, &x, 4);
        }
        ptr[i] = i == 3 ? NULL : &addr[i]; /* no address: KS_EINVAL, unknown */
    }
    assert_int_equal(ks_geo_lookup_many(g, ptr, N, many), KS_EINVAL);
    for (int i = 0; i < N; i++) {
        struct ks_geo_result one;
        ks_geo_lookup(g, ptr[i], &one);
        assert_string_equal(many[i].country, one.country);
        assert_int_equal(many[i].asn, one.asn);
        assert_string_equal(many[i].org, one.org);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* ks_geo_lookup4_sorted answers as ks_geo_lookup one by one, in ascending order (where most
 * addresses take the answer of the one before) and in any other: random addresses, clusters
 * of neighbours, the edges of /16s and of the special-purpose blocks. */
static void check_sorted(struct ks_geo *g, uint64_t x)
{
    enum { N = 20000 };
    static const uint32_t edges[] = {0x00000000, 0x00ffffff, 0x01000000, 0x09ffffff, 0x0a000000,
                                     0x0affffff, 0x0b000000, 0xc0000000, 0xc00001ff, 0xc0000200,
                                     0xc00002ff, 0xc0000300, 0xc0a7ffff, 0xc0a80000, 0xc0a8ffff,
                                     0xc0a90000, 0xdfffffff, 0xe0000000, 0xffffffff};
    static uint32_t ip[N];
    static struct ks_geo_result got[N];
    size_t n = 0;
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        ip[n++] = edges[i];
    while (n < N) {
        xorshift(&x);
        uint32_t v = (uint32_t)(x >> 32);
        switch (n % 5) {
        case 0: /* a cluster of ten neighbours */
            for (uint32_t k = 0; k < 10 && n < N; k++)
                ip[n++] = v + k * 37;
            continue;
        case 1:
            v |= 0xffff;
            break;
        case 2:
            v &= 0xffff0000u;
            break;
        }
        ip[n++] = v;
    }
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            qsort(ip, N, sizeof ip[0], cmp_u32);
        int want_err = KS_OK;
        for (size_t i = 0; i < N; i++) {
            struct ks_addr a;
            ks_addr_from_v4(&a, ip[i]);
            struct ks_geo_result one;
            int e = ks_geo_lookup(g, &a, &one);
            if (want_err == KS_OK)
                want_err = e;
        }
        assert_int_equal(ks_geo_lookup4_sorted(g, ip, N, got), want_err);
        for (size_t i = 0; i < N; i++) {
            struct ks_addr a;
            ks_addr_from_v4(&a, ip[i]);
            struct ks_geo_result one;
            ks_geo_lookup(g, &a, &one);
            if (strcmp(got[i].country, one.country) != 0 || got[i].asn != one.asn ||
                strcmp(got[i].org, one.org) != 0)
                fail_msg("%08x: %s AS%u, one by one %s AS%u", ip[i], got[i].country, got[i].asn,
                         one.country, one.asn);
        }
    }
}

static void real_ipv4_walk_agrees_with_libmaxminddb(void **state)
{
    struct ks_geo *g = real_geo();
    if (!g)
        skip();
    compare_walks(g, ks_geo_file(g, KS_GEO_COUNTRY)->path, 300000, 0x9e3779b97f4a7c15ull);
    ks_geo_free(g);
}

/* A small MaxMind DB, written here: an IPv4 tree (0/1 -> 00/2 "AA", 01/2 nothing; 10/2 "BB";
 * 110/3 "AA", 111/3 -> 1110/4 "CC", 1111/4 "BB"), then `pad` bytes of data before the three
 * records, so that the data pointers need more than 24 bits when pad is large. */
struct buf {
    uint8_t *p;
    size_t n;
};

static void put(struct buf *b, const void *data, size_t n)
{
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void put_str(struct buf *b, const char *s)
{
    uint8_t c = (uint8_t)(0x40 | strlen(s)); /* type 2, UTF-8 string, length < 29 */
    put(b, &c, 1);
    put(b, s, strlen(s));
}

static void put_uint(struct buf *b, unsigned type, uint64_t v, unsigned bytes)
{
    uint8_t c[2];
    if (type < 8) {
        c[0] = (uint8_t)(type << 5 | bytes);
        put(b, c, 1);
    } else { /* extended type */
        c[0] = (uint8_t)bytes;
        c[1] = (uint8_t)(type - 7);
        put(b, c, 2);
    }
    for (unsigned i = bytes; i-- > 0;) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        put(b, &byte, 1);
    }
}

static void put_record(uint8_t *node, unsigned size, unsigned bit, uint32_t v)
{
    if (size == 24) {
        node += bit * 3;
        node[0] = (uint8_t)(v >> 16), node[1] = (uint8_t)(v >> 8), node[2] = (uint8_t)v;
    } else if (size == 28) {
        uint8_t *r = bit ? node + 4 : node;
        r[0] = (uint8_t)(v >> 16), r[1] = (uint8_t)(v >> 8), r[2] = (uint8_t)v;
        node[3] = bit ? (uint8_t)((node[3] & 0xf0) | (v >> 24 & 0x0f))
                      : (uint8_t)((node[3] & 0x0f) | (v >> 24 & 0x0f) << 4);
    } else {
        node += bit * 4;
        node[0] = (uint8_t)(v >> 24), node[1] = (uint8_t)(v >> 16), node[2] = (uint8_t)(v >> 8);
        node[3] = (uint8_t)v;
    }
}

static void write_small_mmdb(const char *path, unsigned record_size, size_t pad)
{
    enum { NODES = 5 };
    size_t nb = record_size / 4; /* bytes a node */
    struct buf b = {calloc(1, NODES * nb + 16 + pad + 4096), 0};
    assert_non_null(b.p);
    /* data: pad bytes, then "AA", "BB", "CC" maps */
    uint8_t *data = b.p + NODES * nb + 16;
    struct buf d = {data + pad, 0};
    uint32_t off[3];
    static const char *const codes[3] = {"AA", "BB", "CC"};
    for (int i = 0; i < 3; i++) {
        off[i] = (uint32_t)(pad + d.n);
        uint8_t map1 = 0xe1; /* type 7, map of one pair */
        put(&d, &map1, 1);
        put_str(&d, "country_code");
        put_str(&d, codes[i]);
    }
    uint32_t none = NODES, A = NODES + 16 + off[0], B = NODES + 16 + off[1],
             C = NODES + 16 + off[2];
    uint32_t rec[NODES][2] = {{1, 2}, {A, none}, {B, 3}, {A, 4}, {C, B}};
    for (uint32_t i = 0; i < NODES; i++)
        for (unsigned bit = 0; bit < 2; bit++)
            put_record(b.p + i * nb, record_size, bit, rec[i][bit]);
    b.n = NODES * nb + 16 + pad + d.n;
    put(&b, "\xab\xcd\xefMaxMind.com", 14);
    uint8_t map = 0xe0 | 9, empty_array[2] = {0x00, 11 - 7}, empty_map = 0xe0;
    put(&b, &map, 1);
    put_str(&b, "languages");
    put(&b, empty_array, 2);
    put_str(&b, "description");
    put(&b, &empty_map, 1);
    put_str(&b, "binary_format_major_version");
    put_uint(&b, 5, 2, 1);
    put_str(&b, "binary_format_minor_version");
    put_uint(&b, 5, 0, 0);
    put_str(&b, "build_epoch");
    put_uint(&b, 9, 1700000000, 4);
    put_str(&b, "database_type");
    put_str(&b, "kansoku-test");
    put_str(&b, "ip_version");
    put_uint(&b, 5, 4, 1);
    put_str(&b, "node_count");
    put_uint(&b, 6, NODES, 1);
    put_str(&b, "record_size");
    put_uint(&b, 5, record_size, 1);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b.p, 1, b.n, f), b.n);
    fclose(f);
    free(b.p);
}

static void ipv4_walk_reads_24_28_and_32_bit_records(void **state)
{
    static const unsigned sizes[3] = {24, 28, 32};
    for (int i = 0; i < 3; i++) {
        char *dir = temp_dir();
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, KS_GEO_COUNTRY_FILE);
        /* past 2^24 bytes of data, a 28-bit record uses its shared nibble */
        write_small_mmdb(path, sizes[i], sizes[i] == 24 ? 100 : ((size_t)1 << 24) + 100);
        struct ks_geo *g = NULL;
        assert_int_equal(ks_geo_open(dir, &g), KS_ENOTFOUND); /* no AS table */
        assert_int_equal(ks_geo_file(g, KS_GEO_COUNTRY)->status, KS_OK);
        static const char *const ip[] = {"1.2.3.4",   "64.0.0.1",  "130.1.1.1",
                                         "193.1.1.1", "230.0.0.1", "233.1.1.1"};
        static const char *const want[] = {"AA", "--", "BB", "AA", "--", "--"};
        for (int j = 0; j < 4; j++) {
            struct ks_addr a = A(ip[j]);
            struct ks_geo_result r;
            assert_int_equal(ks_geo_lookup(g, &a, &r), KS_OK);
            assert_string_equal(r.country, want[j]);
        }
        compare_walks(g, path, 20000, 77 + (uint64_t)i);
        check_many(g, 99 + (uint64_t)i);
        check_sorted(g, 7 + (uint64_t)i);
        ks_geo_free(g);
        remove_dir(dir);
    }
}
static void real_batched_lookups_are_lookups_one_by_one(void **state)
{
    struct ks_geo *g = real_geo();
    if (!g)
        skip();
    check_many(g, 12345);
    check_sorted(g, 424242);
    ks_geo_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_iij_address_is_jp_as2497),
        cmocka_unit_test(real_google_dns_is_us_as15169),
        cmocka_unit_test(real_ipv6_iij_address_is_jp_as2497),
        cmocka_unit_test(real_ipv4_mapped_ipv6_is_looked_up_as_ipv4),
        cmocka_unit_test(real_private_addresses_are_unknown),
        cmocka_unit_test(real_ipv4_walk_agrees_with_libmaxminddb),
        cmocka_unit_test(real_batched_lookups_are_lookups_one_by_one),
        cmocka_unit_test(ipv4_walk_reads_24_28_and_32_bit_records),
        cmocka_unit_test(real_files_describe_themselves),
        cmocka_unit_test(missing_dir_says_not_found_and_lookups_are_unknown),
        cmocka_unit_test(garbage_mmdb_is_corrupt_and_named),
        cmocka_unit_test(garbage_asn_table_is_corrupt),
        cmocka_unit_test(bad_family_is_einval),
        cmocka_unit_test(csv_line_with_quoted_name_is_unquoted),
        cmocka_unit_test(csv_bad_lines_are_refused),
        cmocka_unit_test(table_answers_first_last_and_gaps),
        cmocka_unit_test(overlapping_range_keeps_the_earlier_one),
        cmocka_unit_test(same_record_in_adjacent_ranges_is_merged),
        cmocka_unit_test(ipv6_ranges_cover_both_ends_of_the_space),
        cmocka_unit_test(bad_lines_are_counted_with_their_line),
        cmocka_unit_test(empty_input_gives_an_all_unknown_table),
        cmocka_unit_test(batched_ipv4_lookup_is_lookup_one_by_one),
        cmocka_unit_test(damaged_tables_are_refused),
        cmocka_unit_test(damaged_names_are_refused),
        cmocka_unit_test(built_file_is_used_by_ks_geo_open),
        cmocka_unit_test(unreadable_csv_is_eio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
