/* Unit tests of the darknet module (cmocka). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kansoku/ks_capture.h"
#include "kansoku/ks_darknet.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

#define DAY0 INT64_C(1212278400000000) /* 2008-06-01T00:00:00Z */
#define MAXREC 4096

struct rec {
    struct ks_darknet_cell cells[MAXREC];
    size_t ncells;
    struct ks_darknet_source src[MAXREC];
    char keys[MAXREC][48];
    size_t nsrc;
    struct ks_darknet_day days[16];
    size_t ndays;
};

static void on_cell(void *user, const struct ks_darknet_cell *c)
{
    struct rec *r = user;
    if (r->ncells < MAXREC) {
        r->cells[r->ncells] = *c;
        r->cells[r->ncells].sketch = NULL;
        r->cells[r->ncells].sensor = NULL;
        r->ncells++;
    }
}

static void on_source(void *user, const struct ks_darknet_source *s)
{
    struct rec *r = user;
    if (r->nsrc < MAXREC) {
        r->src[r->nsrc] = *s;
        snprintf(r->keys[r->nsrc], sizeof r->keys[0], "%s", s->key);
        r->src[r->nsrc].key = r->keys[r->nsrc];
        r->src[r->nsrc].name = "";
        r->src[r->nsrc].sensor = NULL;
        r->nsrc++;
    }
}

static void on_day(void *user, const struct ks_darknet_day *d)
{
    struct rec *r = user;
    if (r->ndays < 16)
        r->days[r->ndays++] = *d;
}

static struct ks_darknet *make_with(struct rec *r, const char *prefix, uint32_t max_cells,
                                    uint32_t max_sources, uint32_t workers)
{
    struct ks_darknet_config cfg;
    ks_darknet_config_default(&cfg);
    cfg.sensor = "test";
    if (max_cells)
        cfg.max_cells = max_cells;
    if (max_sources)
        cfg.max_sources = max_sources;
    cfg.workers = workers;
    struct ks_darknet_sink sink = {on_cell, on_source, on_day, r};
    struct ks_darknet *d = NULL;
    assert_int_equal(ks_darknet_new(&cfg, &sink, &d), KS_OK);
    struct ks_prefix p;
    assert_int_equal(ks_prefix_parse(prefix, strlen(prefix), &p, NULL), KS_OK);
    assert_int_equal(ks_darknet_add_prefix(d, &p), KS_OK);
    return d;
}

static struct ks_darknet *make(struct rec *r, const char *prefix, uint32_t max_cells)
{
    return make_with(r, prefix, max_cells, 0, 0);
}

static struct ks_pkt tcp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags,
                         int64_t ts)
{
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    p.ts_us = ts;
    ks_addr_from_v4(&p.src, src);
    ks_addr_from_v4(&p.dst, dst);
    p.ipver = 4;
    p.proto = 6;
    p.tcp_flags = flags;
    p.sport = sport;
    p.dport = dport;
    p.flags = KS_PKT_L4;
    p.wire_len = 60;
    p.weight = 1;
    return p;
}

static const struct ks_darknet_cell *find_cell(const struct rec *r, uint8_t kind, uint8_t proto,
                                               uint16_t port)
{
    for (size_t i = 0; i < r->ncells; i++)
        if (r->cells[i].kind == kind && r->cells[i].proto == proto && r->cells[i].port == port)
            return &r->cells[i];
    return NULL;
}

static const struct ks_darknet_source *find_src(const struct rec *r, int dim, size_t nth)
{
    for (size_t i = 0; i < r->nsrc; i++)
        if (r->src[i].dim == dim && nth-- == 0)
            return &r->src[i];
    return NULL;
}

static void synack_rst_and_icmp_unreachable_are_backscatter(void **state)
{
    struct ks_pkt p = tcp(1, 2, 80, 40000, KS_TCP_SYN | KS_TCP_ACK, DAY0);
    assert_true(ks_darknet_is_backscatter(&p));
    p.tcp_flags = KS_TCP_RST;
    assert_true(ks_darknet_is_backscatter(&p));
    p.tcp_flags = KS_TCP_RST | KS_TCP_ACK;
    assert_true(ks_darknet_is_backscatter(&p));
    p.tcp_flags = KS_TCP_SYN;
    assert_false(ks_darknet_is_backscatter(&p));
    p.tcp_flags = KS_TCP_ACK;
    assert_false(ks_darknet_is_backscatter(&p));
    p.proto = 1;
    p.icmp_type = 3;
    assert_true(ks_darknet_is_backscatter(&p));
    p.icmp_type = 11;
    assert_true(ks_darknet_is_backscatter(&p));
    p.icmp_type = 8; /* echo request: a ping sweep */
    assert_false(ks_darknet_is_backscatter(&p));
    p.proto = 58;
    p.icmp_type = 1;
    assert_true(ks_darknet_is_backscatter(&p));
    p.icmp_type = 128;
    assert_false(ks_darknet_is_backscatter(&p));
}

static void packets_outside_the_darknet_are_ignored(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 0);
    struct ks_pkt p = tcp(0x0a000001, 0xc0000301, 1234, 445, KS_TCP_SYN, DAY0);
    assert_int_equal(ks_darknet_feed(d, &p), KS_OK);
    ks_darknet_flush(d, INT64_MAX);
    struct ks_darknet_stats st;
    ks_darknet_stats(d, &st);
    assert_int_equal(st.not_monitored, 1);
    assert_int_equal(st.monitored, 0);
    assert_int_equal(r->ncells, 0);
    ks_darknet_free(d);
    free(r);
}

static void cells_count_packets_and_exact_sources(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 0);
    for (int i = 0; i < 10; i++) {
        struct ks_pkt p = tcp(0x0a000001 + (uint32_t)(i % 3), 0xc0000201 + (uint32_t)i, 1234, 445,
                              KS_TCP_SYN, DAY0 + i);
        ks_darknet_feed(d, &p);
    }
    ks_darknet_flush(d, INT64_MAX);
    const struct ks_darknet_cell *c = find_cell(r, KS_DARKNET_SCAN, 6, 445);
    assert_non_null(c);
    assert_int_equal(c->packets, 10);
    assert_int_equal(c->bytes, 600);
    assert_true(c->sources_exact);
    assert_true(c->sources == 3.0);
    assert_int_equal(c->day, DAY0);
    assert_int_equal(r->ndays, 1);
    assert_int_equal(r->days[0].monitored, 256);
    assert_int_equal(r->days[0].scan_packets, 10);
    ks_darknet_free(d);
    free(r);
}

/* n distinct sources, each twice, to TCP port `port` (all on DAY0). */
static void feed_sources(struct ks_darknet *d, uint16_t port, uint32_t n)
{
    for (int round = 0; round < 2; round++)
        for (uint32_t i = 0; i < n; i++) {
            struct ks_pkt p = tcp(0x0b000000 + port * 256u + i, 0xc0000201, 1234, port, KS_TCP_SYN,
                                  DAY0 + round * 1000 + (int64_t)i);
            ks_darknet_feed(d, &p);
        }
}

/* Exact up to 16 sources (4 in the cell, then a block), a sketch from the 17th. */
static void sources_are_exact_up_to_sixteen(void **state)
{
    (void)state;
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 0);
    static const uint32_t counts[] = {1, 4, 5, 9, 16, 17, 40};
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
        feed_sources(d, (uint16_t)(1000 + counts[k]), counts[k]);
    ks_darknet_flush(d, INT64_MAX);
    for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
        const struct ks_darknet_cell *c =
            find_cell(r, KS_DARKNET_SCAN, 6, (uint16_t)(1000 + counts[k]));
        assert_non_null(c);
        assert_int_equal(c->packets, 2 * counts[k]);
        assert_false(c->sketch_lost);
        if (counts[k] <= 16) {
            assert_true(c->sources_exact);
            assert_true(c->sources == (double)counts[k]);
            assert_int_equal(c->sketch_len, 4 + 8 * counts[k]); /* "KS" 1 n, n hashes */
        } else {
            assert_false(c->sources_exact);
            assert_true(fabs(c->sources - counts[k]) <= 1.0);
        }
    }
    ks_darknet_free(d);
    free(r);
}

/* With the sketches gone, a cell keeps 16 as its lower bound; smaller cells stay exact. */
static void lost_sketch_keeps_sixteen_as_lower_bound(void **state)
{
    (void)state;
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet_config cfg;
    ks_darknet_config_default(&cfg);
    cfg.sensor = "test";
    cfg.max_sketches = 1;
    struct ks_darknet_sink sink = {on_cell, on_source, on_day, r};
    struct ks_darknet *d = NULL;
    assert_int_equal(ks_darknet_new(&cfg, &sink, &d), KS_OK);
    struct ks_prefix p;
    assert_int_equal(ks_prefix_parse("192.0.2.0/24", 12, &p, NULL), KS_OK);
    assert_int_equal(ks_darknet_add_prefix(d, &p), KS_OK);
    feed_sources(d, 2000, 20); /* takes the only sketch */
    feed_sources(d, 2001, 30); /* none left */
    feed_sources(d, 2002, 12);
    ks_darknet_flush(d, INT64_MAX);
    const struct ks_darknet_cell *a = find_cell(r, KS_DARKNET_SCAN, 6, 2000);
    const struct ks_darknet_cell *b = find_cell(r, KS_DARKNET_SCAN, 6, 2001);
    const struct ks_darknet_cell *c = find_cell(r, KS_DARKNET_SCAN, 6, 2002);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_false(a->sketch_lost);
    assert_true(b->sketch_lost);
    assert_true(b->sources == 16.0);
    assert_int_equal(b->sketch_len, 0);
    assert_true(c->sources_exact);
    assert_true(c->sources == 12.0);
    struct ks_darknet_stats st;
    ks_darknet_stats(d, &st);
    assert_int_equal(st.sketches_lost, 1);
    ks_darknet_free(d);
    free(r);
}

static void many_sources_are_estimated_within_two_percent(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 0);
    for (uint32_t i = 0; i < 20000; i++) {
        struct ks_pkt p = tcp(0x01000000 + i * 7919u, 0xc0000201, 1234, 23, KS_TCP_SYN, DAY0);
        ks_darknet_feed(d, &p);
    }
    ks_darknet_flush(d, INT64_MAX);
    const struct ks_darknet_cell *c = find_cell(r, KS_DARKNET_SCAN, 6, 23);
    assert_non_null(c);
    assert_false(c->sources_exact);
    assert_true(c->sources > 19600 && c->sources < 20400);
    ks_darknet_free(d);
    free(r);
}

static void a_new_day_emits_the_previous_one(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 0);
    struct ks_pkt p = tcp(0x0a000001, 0xc0000201, 1234, 445, KS_TCP_SYN, DAY0 + 5);
    ks_darknet_feed(d, &p);
    assert_int_equal(r->ncells, 0);
    p.ts_us = DAY0 + KS_USEC_PER_DAY + 5;
    ks_darknet_feed(d, &p);
    assert_int_equal(r->ncells, 1);
    assert_int_equal(r->ndays, 1);
    assert_int_equal(r->cells[0].day, DAY0);
    ks_darknet_flush(d, INT64_MAX);
    assert_int_equal(r->ncells, 2);
    assert_int_equal(r->cells[1].day, DAY0 + KS_USEC_PER_DAY);
    ks_darknet_free(d);
    free(r);
}

static void overlapping_prefixes_are_counted_once(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 0);
    const char *more[] = {"192.0.2.128/25", "198.51.100.7", "192.0.2.0/24"};
    for (int i = 0; i < 3; i++) {
        struct ks_prefix p;
        assert_int_equal(ks_prefix_parse(more[i], strlen(more[i]), &p, NULL), KS_OK);
        assert_int_equal(ks_darknet_add_prefix(d, &p), KS_OK);
    }
    assert_int_equal(ks_darknet_monitored(d), 257);
    ks_darknet_free(d);
    free(r);
}

static void a_full_cell_table_counts_drops(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 16);
    for (uint16_t port = 1; port <= 100; port++) {
        struct ks_pkt p = tcp(0x0a000001, 0xc0000201, 1234, port, KS_TCP_SYN, DAY0);
        ks_darknet_feed(d, &p);
    }
    struct ks_darknet_stats st;
    ks_darknet_stats(d, &st);
    assert_int_equal(st.cells_dropped, 84);
    ks_darknet_flush(d, INT64_MAX);
    assert_int_equal(r->ncells, 16);
    assert_int_equal(r->days[0].dropped, 84);
    ks_darknet_free(d);
    free(r);
}

static void the_heaviest_talker_comes_first(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 0);
    /* 3000 one-packet sources (more than the 1024 counters) and one source of 1500 packets */
    for (uint32_t i = 0; i < 4500; i++) {
        uint32_t src = i % 3 == 0 ? 0xcb007107 : 0x05000000 + i;
        struct ks_pkt p = tcp(src, 0xc0000201, 1234, 445, KS_TCP_SYN, DAY0 + i);
        ks_darknet_feed(d, &p);
    }
    ks_darknet_flush(d, INT64_MAX);
    const struct ks_darknet_source *t = find_src(r, KS_DARKNET_TALKER, 0);
    assert_non_null(t);
    assert_string_equal(t->key, "203.0.113.7");
    assert_true(t->packets >= 1500 && t->packets - t->error <= 1500);
    ks_darknet_free(d);
    free(r);
}

static void the_quoted_datagram_names_the_victim(void **state)
{
    static const uint8_t quoted[] = {0x45, 0, 0,   40, 0,   1, 0,    0,    64, 6,  0, 0, 192, 0,
                                     2,    9, 198, 51, 100, 7, 0x30, 0x39, 0,  80, 0, 0, 0,   0};
    struct ks_addr dst;
    uint8_t proto;
    uint16_t dport;
    assert_int_equal(ks_darknet_icmp_quoted(quoted, sizeof quoted, &dst, &proto, &dport), KS_OK);
    assert_int_equal(ks_addr_v4(&dst), 0xc6336407);
    assert_int_equal(proto, 6);
    assert_int_equal(dport, 80);
    assert_int_equal(ks_darknet_icmp_quoted(quoted, 19, &dst, &proto, &dport), KS_ETRUNC);

    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "192.0.2.0/24", 0);
    struct ks_pkt p = tcp(0x0a0a0a01, 0xc0000209, 0, 0, 0, DAY0);
    p.proto = 1;
    p.icmp_type = 3;
    p.payload = quoted;
    p.payload_len = sizeof quoted;
    ks_darknet_feed(d, &p);
    ks_darknet_flush(d, INT64_MAX);
    const struct ks_darknet_source *v = find_src(r, KS_DARKNET_VICTIM, 0);
    assert_non_null(v);
    assert_string_equal(v->key, "198.51.100.7");
    assert_non_null(find_cell(r, KS_DARKNET_BACKSCATTER, 1, 3));
    ks_darknet_free(d);
    free(r);
}

static void a_port_is_novel_only_against_a_baseline(void **state)
{
    struct ks_darknet_query q;
    ks_darknet_query_default(&q);
    double prev[4] = {2, 3, 1, 2};
    double base;
    assert_true(ks_darknet_is_novel(&q, 40, prev, 4, &base));
    assert_true(base == 2.0);
    assert_false(ks_darknet_is_novel(&q, 8, prev, 4, &base));  /* fewer than novelty_min */
    assert_false(ks_darknet_is_novel(&q, 40, prev, 0, &base)); /* no baseline */
    double busy[2] = {100, 120};
    assert_false(ks_darknet_is_novel(&q, 300, busy, 2, &base));
    assert_true(ks_darknet_is_novel(&q, 600, busy, 2, &base));
}

static const char *pcap_path(const char *name, char *buf, size_t size)
{
    const char *dir = getenv("KS_TESTDATA");
    if (!dir)
        return NULL;
    snprintf(buf, size, "%s/pcap/%s", dir, name);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

static void run_capture(struct ks_darknet *d, const char *path)
{
    struct ks_capture_config cc;
    ks_capture_config_default(&cc);
    struct ks_capture *c = NULL;
    assert_int_equal(ks_capture_open_files(&path, 1, &cc, &c), KS_OK);
    struct ks_pkt p;
    int rc;
    while ((rc = ks_capture_next(c, &p)) == 1)
        ks_darknet_feed(d, &p);
    assert_int_equal(rc, 0);
    ks_capture_free(c);
    ks_darknet_flush(d, INT64_MAX);
}

static void masscan_is_one_source_on_1001_ports(void **state)
{
    char buf[4096];
    const char *path = pcap_path("masscan_tcp_0_1000_20190821.pcap", buf, sizeof buf);
    if (!path)
        skip(); /* KS_TESTDATA/pcap/masscan_tcp_0_1000_20190821.pcap is absent */
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "198.124.152.15", 0);
    run_capture(d, path);
    size_t scan_ports = 0;
    for (size_t i = 0; i < r->ncells; i++) {
        if (r->cells[i].kind == KS_DARKNET_SCAN && r->cells[i].proto == 6) {
            scan_ports++;
            assert_true(r->cells[i].sources == 1.0);
        }
    }
    assert_int_equal(scan_ports, 1001);
    const struct ks_darknet_source *t = find_src(r, KS_DARKNET_TALKER, 0);
    assert_non_null(t);
    assert_string_equal(t->key, "172.31.15.102");
    assert_null(find_src(r, KS_DARKNET_TALKER, 1));
    assert_int_equal(r->ndays, 1);
    assert_true(r->days[0].sources > 0.99 && r->days[0].sources < 1.01);
    ks_darknet_free(d);
    free(r);
}

static void synack_reflection_is_backscatter_at_the_darknet(void **state)
{
    char buf[4096];
    const char *path = pcap_path("amp.TCP.reflection.SYNACK.pcap", buf, sizeof buf);
    if (!path)
        skip(); /* KS_TESTDATA/pcap/amp.TCP.reflection.SYNACK.pcap is absent */
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make(r, "10.10.10.0/24", 0);
    run_capture(d, path);
    struct ks_darknet_stats st;
    ks_darknet_stats(d, &st);
    /* GROUND_TRUTH.md: 6651 SYN-ACK + 813 RST + 205 RST-ACK, and 153 ICMP unreachable */
    assert_int_equal(st.backscatter, 6651 + 813 + 205 + 153);
    const struct ks_darknet_cell *c80 = find_cell(r, KS_DARKNET_BACKSCATTER, 6, 80);
    assert_non_null(c80);
    assert_true(c80->packets > 6000);
    assert_non_null(find_src(r, KS_DARKNET_VICTIM, 0));
    assert_true(r->days[0].backscatter_sources > 6900 && r->days[0].backscatter_sources < 7300);
    ks_darknet_free(d);
    free(r);
}

/* Two days of scans from many one-off sources and a few heavy ones, some backscatter, and
 * a source table of 50 entries: evictions, space-saving replacements, sketches. */
static void feed_mix(struct ks_darknet *d)
{
    uint64_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t src =
            i % 3 == 0 ? 0x3a000000u + (uint32_t)(x % 8) : 0x01000000u + (uint32_t)(x >> 40);
        int64_t ts = DAY0 + (int64_t)i * 8 * KS_USEC_PER_SEC;
        struct ks_pkt p = i % 17 == 0
                              ? tcp(src, 0x0a000001u, 80, 40000, KS_TCP_SYN | KS_TCP_ACK, ts)
                              : tcp(src, 0x0a000000u | (uint32_t)(x & 0xff), 1024,
                                    (uint16_t)(i % 5 == 0 ? x >> 20 : 445), KS_TCP_SYN, ts);
        ks_darknet_feed(d, &p);
    }
    ks_darknet_flush(d, INT64_MAX);
}

static void same_records(const struct rec *a, const struct rec *b)
{
    assert_int_equal(a->ncells, b->ncells);
    for (size_t i = 0; i < a->ncells; i++) { /* field by field: padding is not copied */
        const struct ks_darknet_cell *x = &a->cells[i], *y = &b->cells[i];
        assert_true(x->day == y->day && x->kind == y->kind && x->proto == y->proto &&
                    x->port == y->port && x->packets == y->packets && x->bytes == y->bytes &&
                    x->sources == y->sources && x->sources_exact == y->sources_exact &&
                    x->sketch_lost == y->sketch_lost && x->sketch_len == y->sketch_len);
    }
    assert_int_equal(a->ndays, b->ndays);
    for (size_t i = 0; i < a->ndays; i++) {
        const struct ks_darknet_day *x = &a->days[i], *y = &b->days[i];
        assert_true(x->day == y->day && x->monitored == y->monitored && x->packets == y->packets &&
                    x->scan_packets == y->scan_packets &&
                    x->backscatter_packets == y->backscatter_packets && x->sources == y->sources &&
                    x->backscatter_sources == y->backscatter_sources &&
                    x->domestic_sources == y->domestic_sources && x->dropped == y->dropped);
    }
    assert_int_equal(a->nsrc, b->nsrc);
    for (size_t i = 0; i < a->nsrc; i++) {
        assert_string_equal(a->keys[i], b->keys[i]);
        assert_int_equal(a->src[i].dim, b->src[i].dim);
        assert_int_equal(a->src[i].sources, b->src[i].sources);
        assert_int_equal(a->src[i].packets, b->src[i].packets);
        assert_int_equal(a->src[i].error, b->src[i].error);
    }
}

/* A darknet on 10.0.0.0/24 (and `extra`, if not NULL) with max_sources, fed by feed with 1 and
 * with 2 workers, gives the counters sa and the records a of the caller's thread. */
static void same_with_workers(const struct rec *a, const struct ks_darknet_stats *sa,
                              uint32_t max_sources, const struct ks_prefix *extra,
                              void (*feed)(struct ks_darknet *))
{
    for (uint32_t workers = 1; workers <= 2; workers++) {
        struct rec *b = calloc(1, sizeof *b);
        struct ks_darknet *db = make_with(b, "10.0.0.0/24", 0, max_sources, workers);
        if (extra)
            assert_int_equal(ks_darknet_add_prefix(db, extra), KS_OK);
        feed(db);
        struct ks_darknet_stats sb;
        ks_darknet_stats(db, &sb);
        assert_memory_equal(sa, &sb, sizeof *sa);
        same_records(a, b);
        ks_darknet_free(db);
        free(b);
    }
}

static void workers_emit_the_same_records_as_the_callers_thread(void **state)
{
    struct rec *a = calloc(1, sizeof *a);
    struct ks_darknet *da = make_with(a, "10.0.0.0/24", 0, 50, 0);
    feed_mix(da);
    struct ks_darknet_stats sa;
    ks_darknet_stats(da, &sa);
    assert_true(sa.sources_evicted > 1000);
    assert_int_equal(sa.days, 2);
    same_with_workers(a, &sa, 50, NULL, feed_mix);
    ks_darknet_free(da);
    free(a);
}

/* What a compact ring slot cannot hold goes through the ring whole (IPv6, a length above
 * 4095, a weight, another protocol, a quoted victim, another day, a flush): with workers the
 * same records as without, and those packets counted where they belong. */
static void feed_odd_ones(struct ks_darknet *d)
{
    static const uint8_t quoted[] = {0x45, 0, 0,   40, 0,   1, 0,    0,    64, 6,  0, 0, 192, 0,
                                     2,    9, 198, 51, 100, 7, 0x30, 0x39, 0,  80, 0, 0, 0,   0};
    int64_t day1 = DAY0 + KS_USEC_PER_DAY;
    for (uint32_t i = 0; i < 3000; i++) {
        int64_t ts = (i < 1000 ? DAY0 : day1) + (int64_t)i * KS_USEC_PER_SEC;
        struct ks_pkt p =
            tcp(0x01000000u + i % 700, 0x0a000000u | (i & 0xff), 1024, 445, KS_TCP_SYN, ts);
        switch (i % 11) {
        case 1: /* IPv6 */
            assert_int_equal(ks_addr_parse("2001:db8:1::7", 13, &p.src), KS_OK);
            p.src.b[15] = (uint8_t)i;
            assert_int_equal(ks_addr_parse("2001:db8::1", 11, &p.dst), KS_OK);
            p.ipver = 6;
            break;
        case 2:
            p.wire_len = 9000;
            break;
        case 3:
            p.weight = 3;
            break;
        case 4: /* GRE: no port */
            p.proto = 47;
            p.flags = 0;
            break;
        case 5: /* ICMP unreachable quoting the victim */
            p.proto = 1;
            p.icmp_type = 3;
            p.payload = quoted;
            p.payload_len = sizeof quoted;
            break;
        }
        if (i == 1503) { /* a packet of the day before */
            p.ts_us = DAY0 + 5;
            p.dport = 23;
        }
        ks_darknet_feed(d, &p);
        if (i == 2000)
            ks_darknet_flush(d, ts); /* a sensor's flush in the middle of the day */
    }
    ks_darknet_flush(d, INT64_MAX);
}

static void every_kind_of_event_crosses_the_ring_alike(void **state)
{
    struct ks_prefix v6;
    assert_int_equal(ks_prefix_parse("2001:db8::/64", 13, &v6, NULL), KS_OK);
    struct rec *a = calloc(1, sizeof *a);
    struct ks_darknet *da = make_with(a, "10.0.0.0/24", 0, 0, 0);
    assert_int_equal(ks_darknet_add_prefix(da, &v6), KS_OK);
    feed_odd_ones(da);
    struct ks_darknet_stats sa;
    ks_darknet_stats(da, &sa);
    /* what feed_odd_ones sent: packets (by weight) and the bytes of 445/tcp */
    uint64_t weighted = 0, bytes445 = 0;
    for (uint32_t i = 0; i < 3000; i++) {
        unsigned c = i % 11;
        weighted += c == 3 ? 3 : 1;
        if (c != 4 && c != 5 && i != 1503)
            bytes445 += c == 2 ? 9000 : c == 3 ? 3 * 60 : 60;
    }
    assert_int_equal(sa.monitored, weighted);
    assert_int_equal(sa.late, 1);
    assert_non_null(find_cell(a, KS_DARKNET_SCAN, 47, 0));
    const struct ks_darknet_source *v = find_src(a, KS_DARKNET_VICTIM, 0);
    assert_non_null(v);
    assert_string_equal(v->key, "198.51.100.7");
    uint64_t bytes = 0, day_packets = 0;
    for (size_t i = 0; i < a->ncells; i++)
        if (a->cells[i].kind == KS_DARKNET_SCAN && a->cells[i].proto == 6 &&
            a->cells[i].port == 445)
            bytes += a->cells[i].bytes;
    for (size_t i = 0; i < a->ndays; i++)
        day_packets += a->days[i].packets;
    assert_int_equal(bytes, bytes445);
    assert_int_equal(day_packets, weighted - 1); /* the late one is in its cell only */
    same_with_workers(a, &sa, 0, &v6, feed_odd_ones);
    ks_darknet_free(da);
    free(a);
}

static void evicted_sources_are_still_counted_by_country(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make_with(r, "10.0.0.0/8", 0, 8, 0);
    /* 100 one-off sources, then the first again: table of 8, so 93 evictions before the day
     * ends and the returning one counts twice */
    for (uint32_t i = 0; i <= 100; i++) {
        struct ks_pkt p =
            tcp(0x01000000u + (i % 100) * 7919, 0x0a000001u, 1024, 445, KS_TCP_SYN, DAY0 + i);
        ks_darknet_feed(d, &p);
    }
    ks_darknet_flush(d, INT64_MAX);
    struct ks_darknet_stats st;
    ks_darknet_stats(d, &st);
    assert_int_equal(st.sources_evicted, 93);
    uint64_t sources = 0, packets = 0;
    for (size_t i = 0; i < r->nsrc; i++)
        if (r->src[i].dim == KS_DARKNET_BY_COUNTRY) {
            sources += r->src[i].sources;
            packets += r->src[i].packets;
        }
    assert_int_equal(sources, 101);
    assert_int_equal(packets, 101);
    ks_darknet_free(d);
    free(r);
}

static void a_large_source_table_grows_without_evicting(void **state)
{
    struct rec *r = calloc(1, sizeof *r);
    struct ks_darknet *d = make_with(r, "10.0.0.0/8", 0, 1u << 20, 0);
    /* 200,000 sources (twice each): the table starts at 131072 slots and doubles */
    for (uint32_t i = 0; i < 400000; i++) {
        struct ks_pkt p =
            tcp(0x01000000u + (i % 200000) * 7919, 0x0a000001u, 1024, 445, KS_TCP_SYN, DAY0 + i);
        ks_darknet_feed(d, &p);
    }
    ks_darknet_flush(d, INT64_MAX);
    struct ks_darknet_stats st;
    ks_darknet_stats(d, &st);
    assert_int_equal(st.sources_evicted, 0);
    uint64_t sources = 0, packets = 0;
    for (size_t i = 0; i < r->nsrc; i++)
        if (r->src[i].dim == KS_DARKNET_BY_COUNTRY) {
            sources += r->src[i].sources;
            packets += r->src[i].packets;
        }
    assert_int_equal(sources, 200000);
    assert_int_equal(packets, 400000);
    ks_darknet_free(d);
    free(r);
}

/* --- the store report -------------------------------------------------------------------- */

struct report_rec {
    struct ks_darknet_port_day pd[256];
    size_t npd;
    struct ks_darknet_alert alerts[16];
    size_t nalerts;
    double jp_sources;
    bool jp_domestic;
};

static void on_port_day(void *user, const struct ks_darknet_port_day *p)
{
    struct report_rec *r = user;
    if (r->npd < 256)
        r->pd[r->npd++] = *p;
}

static void on_alert(void *user, const struct ks_darknet_alert *a)
{
    struct report_rec *r = user;
    if (r->nalerts < 16)
        r->alerts[r->nalerts++] = *a;
}

static void on_report_source(void *user, int dim, const char *key, const char *name, bool domestic,
                             double sources, double packets)
{
    struct report_rec *r = user;
    if (dim == KS_DARKNET_BY_COUNTRY && strcmp(key, "JP") == 0) {
        r->jp_sources = sources;
        r->jp_domestic = domestic;
    }
}

struct store_sink {
    struct ks_ingest *ing;
};

/* Through the module's own row writers: the test covers them too. */
static void store_cell(void *user, const struct ks_darknet_cell *c)
{
    struct store_sink *s = user;
    assert_int_equal(ks_darknet_store_cell(s->ing, c), KS_OK);
}

static void store_source(void *user, const struct ks_darknet_source *src)
{
    struct store_sink *s = user;
    assert_int_equal(ks_darknet_store_source(s->ing, src), KS_OK);
}

/* Two sensors over five weeks: port 445 steady, port 2582 from 1 source a week to 60 in the
 * fifth week. */
static void a_rising_port_is_flagged_and_ports_are_averaged_per_sensor(void **state)
{
    char db[] = "/tmp/ks-darknet-test-XXXXXX";
    int fd = mkstemp(db);
    assert_true(fd >= 0);
    close(fd);
    unlink(db);
    struct ks_store *st = NULL;
    assert_int_equal(ks_store_open(db, NULL, &st), KS_OK);
    int64_t monday = INT64_C(1211760000000000); /* 2008-05-26, a Monday */
    for (int sensor = 0; sensor < 2; sensor++) {
        struct ks_store_input in = {.name = sensor ? "b" : "a", .kind = "darknet", .size = 1};
        snprintf(in.sha256, sizeof in.sha256, "%064d", sensor);
        struct store_sink ss;
        assert_int_equal(ks_store_input_begin(st, &in, 0, &ss.ing), KS_OK);
        struct ks_darknet_config cfg;
        ks_darknet_config_default(&cfg);
        cfg.sensor = sensor ? "s2" : "s1";
        struct ks_darknet_sink sink = {store_cell, store_source, NULL, &ss};
        struct ks_darknet *d = NULL;
        assert_int_equal(ks_darknet_new(&cfg, &sink, &d), KS_OK);
        struct ks_prefix p;
        ks_prefix_parse("192.0.2.0/24", 12, &p, NULL);
        ks_darknet_add_prefix(d, &p);
        for (int week = 0; week < 5; week++) {
            int64_t t = monday + week * 7 * KS_USEC_PER_DAY + KS_USEC_PER_HOUR;
            for (uint32_t i = 0; i < 20; i++) {
                struct ks_pkt pk = tcp(0x0b000000 + i, 0xc0000201, 1, 445, KS_TCP_SYN, t);
                ks_darknet_feed(d, &pk);
            }
            uint32_t n = week == 4 ? 60 : 1;
            for (uint32_t i = 0; i < n; i++) {
                struct ks_pkt pk = tcp(0x0c000000 + i * 256 + (uint32_t)sensor, 0xc0000202, 1, 2582,
                                       KS_TCP_SYN, t);
                ks_darknet_feed(d, &pk);
            }
        }
        ks_darknet_flush(d, INT64_MAX);
        ks_darknet_free(d);
        assert_int_equal(ks_store_input_end(ss.ing, true), KS_OK);
    }
    struct report_rec *rr = calloc(1, sizeof *rr);
    struct ks_darknet_query q;
    ks_darknet_query_default(&q);
    struct ks_darknet_report_sink sink = {on_port_day, on_report_source, on_alert, rr};
    struct ks_darknet_report_stats rs;
    assert_int_equal(ks_darknet_report(st, &q, &sink, &rs), KS_OK);
    assert_int_equal(rs.sensors, 2);
    assert_int_equal(rs.days, 5);
    /* day 1: 445 first (20 packets per sensor), then 2582 (1), then other (0) */
    assert_true(rr->npd >= 3);
    assert_int_equal(rr->pd[0].port, 445);
    assert_true(rr->pd[0].packets == 20.0);
    assert_int_equal(rr->pd[0].sensors, 2);
    assert_true(rr->pd[2].other);
    assert_int_equal(rr->nalerts, 1);
    assert_int_equal(rr->alerts[0].port, 2582);
    assert_int_equal(rr->alerts[0].week, monday + 4 * 7 * KS_USEC_PER_DAY);
    assert_true(rr->alerts[0].sources > 110 && rr->alerts[0].sources < 130);
    assert_true(rr->alerts[0].baseline > 1.95 && rr->alerts[0].baseline < 2.05);
    free(rr);
    ks_store_close(st);
    unlink(db);
    char side[64];
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-lock", db);
    unlink(side);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(synack_rst_and_icmp_unreachable_are_backscatter),
        cmocka_unit_test(packets_outside_the_darknet_are_ignored),
        cmocka_unit_test(cells_count_packets_and_exact_sources),
        cmocka_unit_test(sources_are_exact_up_to_sixteen),
        cmocka_unit_test(lost_sketch_keeps_sixteen_as_lower_bound),
        cmocka_unit_test(many_sources_are_estimated_within_two_percent),
        cmocka_unit_test(a_new_day_emits_the_previous_one),
        cmocka_unit_test(overlapping_prefixes_are_counted_once),
        cmocka_unit_test(a_full_cell_table_counts_drops),
        cmocka_unit_test(the_heaviest_talker_comes_first),
        cmocka_unit_test(the_quoted_datagram_names_the_victim),
        cmocka_unit_test(a_port_is_novel_only_against_a_baseline),
        cmocka_unit_test(masscan_is_one_source_on_1001_ports),
        cmocka_unit_test(synack_reflection_is_backscatter_at_the_darknet),
        cmocka_unit_test(workers_emit_the_same_records_as_the_callers_thread),
        cmocka_unit_test(every_kind_of_event_crosses_the_ring_alike),
        cmocka_unit_test(evicted_sources_are_still_counted_by_country),
        cmocka_unit_test(a_large_source_table_grows_without_evicting),
        cmocka_unit_test(a_rising_port_is_flagged_and_ports_are_averaged_per_sensor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
