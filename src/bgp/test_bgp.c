/* Unit tests of src/bgp: the MRT reader (records built byte by byte here), the bgpdump text,
 * the expectations trie and loaders, and the watcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bgp/bgp_int.h"
#include "kansoku/ks_bgp.h"

/* Counting allocations: glibc's malloc family wrapped (not under sanitizers, which bring
 * their own). */
#if defined(__SANITIZE_ADDRESS__)
#define KS_COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define KS_COUNT_ALLOCS 0
#endif
#endif
#ifndef KS_COUNT_ALLOCS
#define KS_COUNT_ALLOCS 1
#endif

static unsigned long g_allocs;
#if KS_COUNT_ALLOCS
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t k);
extern void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t n, size_t k);
void *realloc(void *p, size_t n);
void *malloc(size_t n)
{
    g_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t n, size_t k)
{
    g_allocs++;
    return __libc_calloc(n, k);
}
void *realloc(void *p, size_t n)
{
    g_allocs++;
    return __libc_realloc(p, n);
}
#endif

/* ---- an MRT builder ------------------------------------------------------------------------- */

struct mb {
    uint8_t b[8192];
    size_t n;
};

static void u8(struct mb *m, unsigned v)
{
    m->b[m->n++] = (uint8_t)v;
}

static void u16(struct mb *m, unsigned v)
{
    u8(m, v >> 8);
    u8(m, v);
}

static void u32(struct mb *m, uint32_t v)
{
    u16(m, v >> 16);
    u16(m, v & 0xffff);
}

static void bytes(struct mb *m, const void *p, size_t n)
{
    if (n) /* p may be NULL for nothing: memcpy's arguments must not be */
        memcpy(m->b + m->n, p, n);
    m->n += n;
}

/* Starts a record; returns where its length goes. */
static size_t rec_begin(struct mb *m, uint32_t t, unsigned type, unsigned sub)
{
    u32(m, t);
    u16(m, type);
    u16(m, sub);
    size_t at = m->n;
    u32(m, 0);
    return at;
}

static void rec_end(struct mb *m, size_t at)
{
    uint32_t len = (uint32_t)(m->n - at - 4);
    m->b[at] = (uint8_t)(len >> 24);
    m->b[at + 1] = (uint8_t)(len >> 16);
    m->b[at + 2] = (uint8_t)(len >> 8);
    m->b[at + 3] = (uint8_t)len;
}

/* A BGP4MP_MESSAGE_AS4 (or AS2 with as2) UPDATE from 192.0.2.1 AS peer_as, IPv4 session, with
 * the given attribute bytes and NLRI bytes. */
static void update(struct mb *m, uint32_t t, bool as2, uint32_t peer_as, const uint8_t *attrs,
                   size_t an, const uint8_t *nlri, size_t nn, const uint8_t *wd, size_t wn)
{
    size_t at = rec_begin(m, t, 16, as2 ? 1 : 4);
    if (as2) {
        u16(m, peer_as);
        u16(m, 65000);
    } else {
        u32(m, peer_as);
        u32(m, 65000);
    }
    u16(m, 0);
    u16(m, 1);
    bytes(m, "\xc0\x00\x02\x01", 4);
    bytes(m, "\xc0\x00\x02\xfe", 4);
    for (int i = 0; i < 16; i++)
        u8(m, 0xff);
    u16(m, (unsigned)(19 + 2 + wn + 2 + an + nn));
    u8(m, 2);
    u16(m, (unsigned)wn);
    bytes(m, wd, wn);
    u16(m, (unsigned)an);
    bytes(m, attrs, an);
    bytes(m, nlri, nn);
    rec_end(m, at);
}

struct got {
    char text[8192];
    size_t n_elems;
    struct ks_bgp_elem elems[16];
    char paths[16][64];
    int rc;
    struct ks_mrt_stats st;
};

static void read_all(const struct mb *m, struct got *g)
{
    struct ks_mrt_config cfg;
    ks_mrt_config_default(&cfg);
    cfg.text = true;
    struct ks_mrt *r = NULL;
    memset(g, 0, sizeof *g);
    assert_int_equal(ks_mrt_open_mem(m->b, m->n, "test", &cfg, NULL, &r), KS_OK);
    size_t tn = 0;
    while ((g->rc = ks_mrt_next(r)) == 1) {
        const char *t;
        size_t n;
        ks_mrt_text(r, &t, &n);
        assert_true(tn + n < sizeof g->text);
        memcpy(g->text + tn, t, n);
        tn += n;
        const struct ks_mrt_record *rec = ks_mrt_record(r);
        for (size_t i = 0; i < rec->n_elems && g->n_elems < 16; i++) {
            g->elems[g->n_elems] = rec->elems[i];
            snprintf(g->paths[g->n_elems], 64, "%.*s", (int)rec->elems[i].as_path_len,
                     rec->elems[i].as_path);
            g->n_elems++;
        }
    }
    g->text[tn] = '\0';
    ks_mrt_stats(r, &g->st);
    ks_mrt_free(r);
}

/* ORIGIN IGP, AS_PATH (4-byte) SEQ[65001 65002], NEXT_HOP 192.0.2.1 */
static const uint8_t basic_attrs[] = {0x40, 1, 1, 0,    0x40, 2,    10, 2, 2,   0, 0, 0xfd,
                                      0xe9, 0, 0, 0xfd, 0xea, 0x40, 3,  4, 192, 0, 2, 1};

static void update_ipv4_prints_bgpdump_line(void **state)
{
    (void)state;
    struct mb m = {.n = 0};
    update(&m, 1000, false, 64500, basic_attrs, sizeof basic_attrs, (const uint8_t *)"\x08\x0a", 2,
           NULL, 0);
    struct got g;
    read_all(&m, &g);
    assert_int_equal(g.rc, 0);
    assert_string_equal(
        g.text, "BGP4MP|1000|A|192.0.2.1|64500|10.0.0.0/8|65001 65002|IGP|192.0.2.1|0|0||NAG||\n");
    assert_int_equal(g.n_elems, 1);
    assert_int_equal(g.elems[0].type, KS_BGP_ELEM_ANNOUNCE);
    assert_int_equal(g.elems[0].origin_kind, KS_BGP_ORIGIN_AS);
    assert_int_equal(g.elems[0].origin_as, 65002);
    assert_int_equal(g.elems[0].peer_as, 64500);
    assert_int_equal(g.elems[0].prefix.len, 8);
    assert_string_equal(g.paths[0], "65001 65002");
}

static void withdrawal_prints_w_line(void **state)
{
    (void)state;
    struct mb m = {.n = 0};
    update(&m, 7, false, 1, NULL, 0, NULL, 0, (const uint8_t *)"\x18\xc6\x33\x64", 4);
    struct got g;
    read_all(&m, &g);
    assert_string_equal(g.text, "BGP4MP|7|W|192.0.2.1|1|198.51.100.0/24\n");
    assert_int_equal(g.elems[0].type, KS_BGP_ELEM_WITHDRAW);
}

static void as4_path_is_merged_into_two_byte_path(void **state)
{
    (void)state;
    /* AS_PATH (2-byte) SEQ[1 23456], AS4_PATH SEQ[4200000000] (RFC 6793 4.2.3) */
    static const uint8_t attrs[] = {0x40, 1,    1,    0,  0x40, 2, 6, 2,    2,    0,    1,
                                    0x5b, 0xa0, 0xc0, 17, 6,    2, 1, 0xfa, 0x56, 0xea, 0x00};
    struct mb m = {.n = 0};
    update(&m, 1, true, 1, attrs, sizeof attrs, (const uint8_t *)"\x10\x0a\x01", 3, NULL, 0);
    struct got g;
    read_all(&m, &g);
    assert_non_null(strstr(g.text, "|1 4200000000|IGP|"));
    assert_int_equal(g.elems[0].origin_as, 4200000000u);
}

static void as_set_origin_is_ambiguous(void **state)
{
    (void)state;
    static const uint8_t attrs[] = {0x40, 2, 16, 2, 1, 0, 0, 0, 1, 1, 2, 0, 0, 0, 2, 0, 0, 0, 3};
    struct mb m = {.n = 0};
    update(&m, 1, false, 1, attrs, sizeof attrs, (const uint8_t *)"\x10\x0a\x01", 3, NULL, 0);
    struct got g;
    read_all(&m, &g);
    assert_non_null(strstr(g.text, "|1 {2,3}|INCOMPLETE|255.255.255.255|"));
    assert_int_equal(g.elems[0].origin_kind, KS_BGP_ORIGIN_SET);
}

static void mp_reach_ipv6_with_communities(void **state)
{
    (void)state;
    static const uint8_t attrs[] = {
        0x40, 1,  1,  0,    0x40, 2, 6,  2,    1,    0,    0,    0xfd, 0xe9, /* 65001 */
        0xc0, 8,  8,  0xfd, 0xe9, 0, 1,  0xff, 0xff, 0xff, 0x01,             /* comms */
        0x80, 14, 26, 0,    2,    1, 16, 0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,   0,
        0,    0,  0,  0,    0,    0, 0,  1,    0,    32,   0x20, 0x01, 0x0d, 0xb8};
    struct mb m = {.n = 0};
    update(&m, 5, false, 2, attrs, sizeof attrs, NULL, 0, NULL, 0);
    struct got g;
    read_all(&m, &g);
    assert_string_equal(g.text, "BGP4MP|5|A|192.0.2.1|2|2001:db8::/32|65001|IGP|2001:db8::1|0|0|"
                                "65001:1 no-export|NAG||\n");
    assert_int_equal(g.elems[0].prefix.addr.family, 6);
}

static void table_dump_v2_addpath_rib(void **state)
{
    (void)state;
    struct mb m = {.n = 0};
    size_t at = rec_begin(&m, 50, 13, 1); /* PEER_INDEX_TABLE */
    bytes(&m, "\x0a\0\0\x01", 4);
    u16(&m, 0);
    u16(&m, 1);
    u8(&m, 2); /* IPv4, AS4 */
    bytes(&m, "\x0a\0\0\x02", 4);
    bytes(&m, "\xc6\x33\x64\x01", 4);
    u32(&m, 4200000001u);
    rec_end(&m, at);
    at = rec_begin(&m, 60, 13, 8); /* RIB_IPV4_UNICAST_ADDPATH */
    u32(&m, 0);
    u8(&m, 24);
    bytes(&m, "\xcb\x00\x71", 3);
    u16(&m, 1);
    u16(&m, 0);  /* peer index */
    u32(&m, 55); /* originated */
    u32(&m, 7);  /* path id */
    u16(&m, sizeof basic_attrs);
    bytes(&m, basic_attrs, sizeof basic_attrs);
    rec_end(&m, at);
    struct got g;
    read_all(&m, &g);
    assert_string_equal(g.text, "TABLE_DUMP2_AP|60|B|198.51.100.1|4200000001|203.0.113.0/24|7|"
                                "65001 65002|IGP|192.0.2.1|0|0||NAG||\n");
    assert_int_equal(g.elems[0].type, KS_BGP_ELEM_RIB);
    assert_true(g.elems[0].has_path_id);
    assert_int_equal(g.elems[0].path_id, 7);
}

static void truncated_record_ends_with_offset(void **state)
{
    (void)state;
    struct mb m = {.n = 0};
    update(&m, 1000, false, 64500, basic_attrs, sizeof basic_attrs, (const uint8_t *)"\x08\x0a", 2,
           NULL, 0);
    size_t first = m.n;
    update(&m, 1001, false, 64500, basic_attrs, sizeof basic_attrs, (const uint8_t *)"\x08\x0b", 2,
           NULL, 0);
    m.n -= 5;
    struct got g;
    read_all(&m, &g);
    assert_int_equal(g.rc, KS_ETRUNC);
    assert_true(g.st.truncated);
    assert_int_equal(g.st.truncated_at, first);
    assert_int_equal(g.n_elems, 1); /* the first record was delivered */
}

static void malformed_record_is_counted_not_fatal(void **state)
{
    (void)state;
    struct mb m = {.n = 0};
    size_t at = rec_begin(&m, 1, 16, 4);
    u32(&m, 1);
    u32(&m, 2);
    u16(&m, 0);
    u16(&m, 9); /* no such address family */
    rec_end(&m, at);
    update(&m, 2, false, 5, basic_attrs, sizeof basic_attrs, (const uint8_t *)"\x08\x0a", 2, NULL,
           0);
    struct got g;
    read_all(&m, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.st.malformed, 1);
    assert_int_equal(g.st.records, 2);
    assert_int_equal(g.n_elems, 1);
}

static void zero_length_record_is_skipped(void **state)
{
    (void)state;
    struct mb m = {.n = 0};
    size_t at = rec_begin(&m, 1, 99, 0);
    rec_end(&m, at);
    update(&m, 2, false, 5, basic_attrs, sizeof basic_attrs, (const uint8_t *)"\x08\x0a", 2, NULL,
           0);
    struct got g;
    read_all(&m, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.st.unsupported, 1);
    assert_int_equal(g.n_elems, 1);
}

static void ipv6_text_follows_bgpdump(void **state)
{
    (void)state;
    char buf[64];
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    ks_bgp_format_ipv6(a, buf, sizeof buf);
    assert_string_equal(buf, "2001:db8::1");
    uint8_t b[16] = {0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
    ks_bgp_format_ipv6(b, buf, sizeof buf);
    assert_string_equal(buf, "1::1:1:1:1:1:1"); /* a single zero group is compressed too */
    uint8_t c[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 193, 0, 0, 56};
    ks_bgp_format_ipv6(c, buf, sizeof buf);
    assert_string_equal(buf, "::ffff:193.0.0.56");
    uint8_t d[16] = {0};
    ks_bgp_format_ipv6(d, buf, sizeof buf);
    assert_string_equal(buf, "::");
}

/* ---- expectations ------------------------------------------------------------------------- */

static struct ks_prefix pfx(const char *s)
{
    struct ks_prefix p;
    assert_int_equal(ks_prefix_parse(s, strlen(s), &p, NULL), KS_OK);
    return p;
}

static int status_of(const struct ks_bgp_expect *e, const char *p, uint32_t origin)
{
    struct bgp_match mt;
    struct ks_prefix x = pfx(p);
    bgp_expect_match(e, &x, origin, &mt);
    return mt.status;
}

static void expectations_classify_announcements(void **state)
{
    (void)state;
    struct ks_bgp_expect *e = NULL;
    assert_int_equal(ks_bgp_expect_new(&e), KS_OK);
    struct ks_prefix p = pfx("208.65.152.0/22");
    assert_int_equal(ks_bgp_expect_add(e, &p, 36561, 0, KS_BGP_EXPECT_ROUTE), KS_OK);
    assert_int_equal(status_of(e, "208.65.152.0/22", 36561), BGP_VALID);
    assert_int_equal(status_of(e, "208.65.152.0/22", 17557), BGP_EXACT_MISMATCH);
    assert_int_equal(status_of(e, "208.65.153.0/24", 17557), BGP_SUBPREFIX);
    assert_int_equal(status_of(e, "208.65.153.0/24", 36561), BGP_MORE_SPECIFIC);
    assert_int_equal(status_of(e, "208.64.0.0/16", 17557), BGP_UNCOVERED);
    assert_int_equal(status_of(e, "2001:db8::/32", 17557), BGP_UNCOVERED);
    ks_bgp_expect_free(e);
}

static void roa_max_length_validates_more_specifics(void **state)
{
    (void)state;
    struct ks_bgp_expect *e = NULL;
    assert_int_equal(ks_bgp_expect_new(&e), KS_OK);
    static const char csv[] = "ASN,IP Prefix,Max Length,Trust Anchor\n"
                              "AS36561,208.65.152.0/22,24,arin\n"
                              "AS64500,2001:db8::/32,48,ripe\n"
                              "AS0,192.0.2.0/24,24,test\n";
    uint64_t bad = 9;
    assert_int_equal(ks_bgp_expect_load(e, csv, strlen(csv), KS_BGP_FMT_AUTO, KS_BGP_EXPECT_ROUTE,
                                        "roa.csv", NULL, &bad),
                     KS_OK);
    assert_int_equal(bad, 0);
    assert_int_equal(ks_bgp_expect_count(e), 3);
    assert_int_equal(status_of(e, "208.65.153.0/24", 36561), BGP_VALID);
    assert_int_equal(status_of(e, "208.65.153.128/25", 36561), BGP_MORE_SPECIFIC);
    assert_int_equal(status_of(e, "208.65.153.0/24", 17557), BGP_SUBPREFIX);
    assert_int_equal(status_of(e, "2001:db8:1::/48", 64500), BGP_VALID);
    assert_int_equal(status_of(e, "192.0.2.0/24", 0), BGP_EXACT_MISMATCH); /* AS0 never valid */
    ks_bgp_expect_free(e);
}

static void rpsl_route_objects_load(void **state)
{
    (void)state;
    struct ks_bgp_expect *e = NULL;
    assert_int_equal(ks_bgp_expect_new(&e), KS_OK);
    static const char rpsl[] = "route:          208.65.152.0/22\n"
                               "descr:          YouTube\n"
                               "origin:         AS36561 # comment\n"
                               "mnt-by:         MAINT-X\n"
                               "\n"
                               "route6:         2620:0:2d0::/48\n"
                               "origin:         as43515\n"
                               "\n"
                               "route:          10.0.0.0/8\n"
                               "descr:          no origin\n";
    uint64_t bad = 0;
    assert_int_equal(ks_bgp_expect_load(e, rpsl, strlen(rpsl), KS_BGP_FMT_AUTO, KS_BGP_EXPECT_ROUTE,
                                        "irr", NULL, &bad),
                     KS_OK);
    assert_int_equal(ks_bgp_expect_count(e), 2);
    assert_int_equal(bad, 1);
    assert_int_equal(status_of(e, "2620:0:2d0::/48", 43515), BGP_VALID);
    ks_bgp_expect_free(e);
}

static void simple_list_counts_bad_lines(void **state)
{
    (void)state;
    struct ks_bgp_expect *e = NULL;
    assert_int_equal(ks_bgp_expect_new(&e), KS_OK);
    static const char txt[] = "# prefix origin\n208.65.152.0/22 AS36561\nnot-a-prefix 1\n"
                              "10.0.0.0/8 ASx\n2001:db8::/32 1.10\n";
    uint64_t bad = 0;
    assert_int_equal(ks_bgp_expect_load(e, txt, strlen(txt), KS_BGP_FMT_AUTO, KS_BGP_EXPECT_ROUTE,
                                        "list", NULL, &bad),
                     KS_OK);
    assert_int_equal(bad, 2);
    assert_int_equal(ks_bgp_expect_count(e), 2);
    assert_int_equal(status_of(e, "2001:db8::/32", 65546), BGP_VALID); /* asdot 1.10 */
    ks_bgp_expect_free(e);
}

static void allow_list_silences_customer_more_specific(void **state)
{
    (void)state;
    struct ks_bgp_expect *e = NULL;
    assert_int_equal(ks_bgp_expect_new(&e), KS_OK);
    struct ks_prefix p = pfx("193.96.0.0/13");
    assert_int_equal(ks_bgp_expect_add(e, &p, 702, 0, KS_BGP_EXPECT_ROUTE), KS_OK);
    assert_int_equal(status_of(e, "193.101.188.0/24", 705), BGP_SUBPREFIX);
    assert_int_equal(ks_bgp_expect_add(e, &p, 705, 24, KS_BGP_EXPECT_ALLOW), KS_OK);
    assert_int_equal(status_of(e, "193.101.188.0/24", 705), BGP_VALID);
    assert_int_equal(status_of(e, "193.101.188.0/25", 705), BGP_SUBPREFIX);
    ks_bgp_expect_free(e);
}

/* ---- the watcher ------------------------------------------------------------------------ */

struct events {
    struct ks_bgp_alert a[32];
    int n;
};

static void collect(void *user, const struct ks_bgp_alert *a)
{
    struct events *ev = user;
    if (ev->n < 32)
        ev->a[ev->n++] = *a;
}

static struct ks_bgp_elem elem(char type, const char *prefix, const char *peer, uint32_t origin,
                               int64_t t)
{
    struct ks_bgp_elem e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.prefix = pfx(prefix);
    assert_int_equal(ks_addr_parse(peer, strlen(peer), &e.peer), KS_OK);
    e.peer_as = 100;
    e.origin_as = origin;
    e.origin_kind = origin ? KS_BGP_ORIGIN_AS : KS_BGP_ORIGIN_NONE;
    e.time_us = t * 1000000;
    return e;
}

static void subprefix_hijack_raises_and_clears(void **state)
{
    (void)state;
    struct ks_bgp_expect *e = NULL;
    struct ks_bgp_watch *w = NULL;
    struct events ev = {.n = 0};
    assert_int_equal(ks_bgp_expect_new(&e), KS_OK);
    struct ks_prefix p = pfx("208.65.152.0/22");
    ks_bgp_expect_add(e, &p, 36561, 0, KS_BGP_EXPECT_ROUTE);
    assert_int_equal(ks_bgp_watch_new(NULL, e, collect, &ev, &w), KS_OK);
    struct ks_bgp_elem x = elem('A', "208.65.152.0/22", "10.0.0.1", 36561, 100);
    ks_bgp_watch_feed(w, &x);
    assert_int_equal(ev.n, 0);
    x = elem('A', "208.65.153.0/24", "10.0.0.1", 17557, 200);
    ks_bgp_watch_feed(w, &x);
    x = elem('A', "208.65.153.0/24", "10.0.0.2", 17557, 210);
    ks_bgp_watch_feed(w, &x);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.a[0].event, KS_BGP_EVENT_RAISE);
    assert_int_equal(ev.a[0].type, KS_BGP_ALERT_SUBPREFIX);
    assert_int_equal(ev.a[0].expected_as[0], 36561);
    assert_int_equal(ev.a[0].first_seen_us, 200 * 1000000ll);
    x = elem('W', "208.65.153.0/24", "10.0.0.1", 0, 300);
    ks_bgp_watch_feed(w, &x);
    assert_int_equal(ev.n, 1); /* one peer still sees it */
    x = elem('W', "208.65.153.0/24", "10.0.0.2", 0, 310);
    ks_bgp_watch_feed(w, &x);
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.a[1].event, KS_BGP_EVENT_CLEAR);
    assert_int_equal(ev.a[1].max_peers, 2);
    assert_int_equal(ev.a[1].cleared_us, 310 * 1000000ll);
    ks_bgp_watch_free(w);
    ks_bgp_expect_free(e);
}

static void session_down_withdraws_its_routes(void **state)
{
    (void)state;
    struct ks_bgp_expect *e = NULL;
    struct ks_bgp_watch *w = NULL;
    struct events ev = {.n = 0};
    ks_bgp_expect_new(&e);
    struct ks_prefix p = pfx("10.0.0.0/8");
    ks_bgp_expect_add(e, &p, 1, 0, KS_BGP_EXPECT_ROUTE);
    ks_bgp_watch_new(NULL, e, collect, &ev, &w);
    struct ks_bgp_elem x = elem('A', "10.0.0.0/8", "10.0.0.9", 666, 1);
    ks_bgp_watch_feed(w, &x);
    assert_int_equal(ev.a[0].type, KS_BGP_ALERT_ORIGIN);
    x = elem('S', "10.0.0.0/8", "10.0.0.9", 0, 5);
    x.old_state = 6;
    x.new_state = 1;
    ks_bgp_watch_feed(w, &x);
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.a[1].event, KS_BGP_EVENT_CLEAR);
    ks_bgp_watch_free(w);
    ks_bgp_expect_free(e);
}

static void moas_is_raised_and_counted(void **state)
{
    (void)state;
    struct ks_bgp_watch *w = NULL;
    struct events ev = {.n = 0};
    ks_bgp_watch_new(NULL, NULL, collect, &ev, &w);
    struct ks_bgp_elem x = elem('A', "43.248.68.0/24", "10.0.0.1", 18196, 1);
    ks_bgp_watch_feed(w, &x);
    x = elem('A', "43.248.68.0/24", "10.0.0.2", 58678, 2);
    ks_bgp_watch_feed(w, &x);
    assert_int_equal(ev.n, 1);
    assert_int_equal(ev.a[0].type, KS_BGP_ALERT_MOAS);
    assert_int_equal(ev.a[0].origin_as, 58678);
    assert_int_equal(ev.a[0].expected_as[0], 18196);
    x = elem('W', "43.248.68.0/24", "10.0.0.2", 0, 3);
    ks_bgp_watch_feed(w, &x);
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.a[1].event, KS_BGP_EVENT_CLEAR);
    struct ks_bgp_watch_stats st;
    ks_bgp_watch_stats(w, &st);
    assert_int_equal(st.moas_prefixes, 1);
    ks_bgp_watch_free(w);
}

static void full_route_table_drops_and_counts(void **state)
{
    (void)state;
    struct ks_bgp_watch_config cfg;
    ks_bgp_watch_config_default(&cfg);
    cfg.max_routes = 2;
    struct ks_bgp_watch *w = NULL;
    ks_bgp_watch_new(&cfg, NULL, NULL, NULL, &w);
    char pf[32];
    for (int i = 0; i < 10; i++) {
        snprintf(pf, sizeof pf, "10.%d.0.0/16", i);
        struct ks_bgp_elem x = elem('A', pf, "10.0.0.1", 1, i);
        ks_bgp_watch_feed(w, &x);
    }
    struct ks_bgp_watch_stats st;
    ks_bgp_watch_stats(w, &st);
    assert_int_equal(st.routes_dropped, 8);
    ks_bgp_watch_free(w);
}

static void no_allocation_per_record(void **state)
{
    (void)state;
    if (!KS_COUNT_ALLOCS) {
        skip(); /* the sanitizers own malloc */
        return;
    }
    static struct mb m;
    m.n = 0;
    uint8_t nlri[4] = {0x18, 10, 0, 0};
    for (int i = 0; i < 90; i++) {
        nlri[2] = (uint8_t)i;
        update(&m, (uint32_t)i, false, 64500, basic_attrs, sizeof basic_attrs, nlri, 4, NULL, 0);
    }
    struct ks_mrt_config cfg;
    ks_mrt_config_default(&cfg);
    cfg.text = true;
    struct ks_mrt *r = NULL;
    struct ks_bgp_watch *w = NULL;
    assert_int_equal(ks_mrt_open_mem(m.b, m.n, "alloc", &cfg, NULL, &r), KS_OK);
    assert_int_equal(ks_bgp_watch_new(NULL, NULL, NULL, NULL, &w), KS_OK);
    unsigned long before = 0;
    int n = 0;
    while (ks_mrt_next(r) == 1) {
        if (++n == 10)
            before = g_allocs; /* buffers have their size after the first records */
        const struct ks_mrt_record *rec = ks_mrt_record(r);
        for (size_t i = 0; i < rec->n_elems; i++)
            ks_bgp_watch_feed(w, &rec->elems[i]);
    }
    assert_int_equal(n, 90);
    assert_true(before > 0); /* the counter counts */
    assert_int_equal(g_allocs - before, 0);
    ks_bgp_watch_free(w);
    ks_mrt_free(r);
}

/* ---- real data ------------------------------------------------------------------------------ */

static void ris_updates_decode_every_element(void **state)
{
    (void)state;
    const char *td = getenv("KS_TESTDATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/bgp/ripe-bgpdump/updates.20160811.1600.gz", td ? td : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        skip();
        return;
    }
    fclose(f);
    struct ks_mrt *m = NULL;
    assert_int_equal(ks_mrt_open(path, NULL, NULL, &m), KS_OK);
    uint64_t a = 0, w = 0, s = 0;
    int rc;
    while ((rc = ks_mrt_next(m)) == 1) {
        const struct ks_mrt_record *r = ks_mrt_record(m);
        for (size_t i = 0; i < r->n_elems; i++) {
            a += r->elems[i].type == 'A';
            w += r->elems[i].type == 'W';
            s += r->elems[i].type == 'S';
        }
    }
    assert_int_equal(rc, 0);
    /* GROUND_TRUTH.md: A=39256 W=1956 STATE=22 */
    assert_int_equal(a, 39256);
    assert_int_equal(w, 1956);
    assert_int_equal(s, 22);
    ks_mrt_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(update_ipv4_prints_bgpdump_line),
        cmocka_unit_test(withdrawal_prints_w_line),
        cmocka_unit_test(as4_path_is_merged_into_two_byte_path),
        cmocka_unit_test(as_set_origin_is_ambiguous),
        cmocka_unit_test(mp_reach_ipv6_with_communities),
        cmocka_unit_test(table_dump_v2_addpath_rib),
        cmocka_unit_test(truncated_record_ends_with_offset),
        cmocka_unit_test(malformed_record_is_counted_not_fatal),
        cmocka_unit_test(zero_length_record_is_skipped),
        cmocka_unit_test(ipv6_text_follows_bgpdump),
        cmocka_unit_test(expectations_classify_announcements),
        cmocka_unit_test(roa_max_length_validates_more_specifics),
        cmocka_unit_test(rpsl_route_objects_load),
        cmocka_unit_test(simple_list_counts_bad_lines),
        cmocka_unit_test(allow_list_silences_customer_more_specific),
        cmocka_unit_test(subprefix_hijack_raises_and_clears),
        cmocka_unit_test(session_down_withdraws_its_routes),
        cmocka_unit_test(moas_is_raised_and_counted),
        cmocka_unit_test(full_route_table_drops_and_counts),
        cmocka_unit_test(no_allocation_per_record),
        cmocka_unit_test(ris_updates_decode_every_element),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
