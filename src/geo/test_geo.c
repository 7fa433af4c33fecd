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
        "x,1.2.3.5,12,a",
    };
    struct ks_asn_range r;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_not_equal(parse(bad[i], &r), KS_OK);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_iij_address_is_jp_as2497),
        cmocka_unit_test(real_google_dns_is_us_as15169),
        cmocka_unit_test(real_ipv6_iij_address_is_jp_as2497),
        cmocka_unit_test(real_ipv4_mapped_ipv6_is_looked_up_as_ipv4),
        cmocka_unit_test(real_private_addresses_are_unknown),
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
        cmocka_unit_test(damaged_tables_are_refused),
        cmocka_unit_test(built_file_is_used_by_ks_geo_open),
        cmocka_unit_test(unreadable_csv_is_eio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
