/* Unit tests of the flow collector (cmocka): hand-built NetFlow v5/v9, IPFIX and sFlow v5
 * export datagrams, good and bad. */
#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "kansoku/ks_flow.h"

#define T0 INT64_C(1700000000000000) /* 2023-11-14T22:13:20Z */
#define MAXREC 64

/* --- a datagram builder ----------------------------------------------------------------- */

struct buf {
    uint8_t b[4096];
    size_t n;
};

static void p8(struct buf *b, unsigned v)
{
    b->b[b->n++] = (uint8_t)v;
}
static void p16(struct buf *b, unsigned v)
{
    p8(b, v >> 8);
    p8(b, v);
}
static void p32(struct buf *b, uint32_t v)
{
    p16(b, v >> 16);
    p16(b, v & 0xffff);
}
static void p64(struct buf *b, uint64_t v)
{
    p32(b, (uint32_t)(v >> 32));
    p32(b, (uint32_t)v);
}
static void pbytes(struct buf *b, const void *d, size_t n)
{
    memcpy(b->b + b->n, d, n);
    b->n += n;
}
/* Writes a 16-bit value at a position (set lengths known at the end). */
static void at16(struct buf *b, size_t pos, unsigned v)
{
    b->b[pos] = (uint8_t)(v >> 8);
    b->b[pos + 1] = (uint8_t)v;
}

static void at32(struct buf *b, size_t pos, uint32_t v)
{
    at16(b, pos, v >> 16);
    at16(b, pos + 2, v & 0xffff);
}

/* --- a collector that keeps what it delivers ------------------------------------------- */

struct got {
    struct ks_flow_rec r[MAXREC];
    struct ks_pkt pkt[MAXREC];
    bool has_pkt[MAXREC];
    size_t n;
    struct ks_flow_counters c[8];
    size_t nc;
};

static void on_record(void *user, const struct ks_flow_rec *r)
{
    struct got *g = user;
    if (g->n < MAXREC) {
        g->r[g->n] = *r;
        g->has_pkt[g->n] = r->pkt != NULL;
        if (r->pkt)
            g->pkt[g->n] = *r->pkt;
        g->r[g->n].pkt = NULL;
        g->n++;
    }
}

static void on_counters(void *user, const struct ks_flow_counters *c)
{
    struct got *g = user;
    if (g->nc < 8)
        g->c[g->nc++] = *c;
}

static struct ks_flow *collector(struct got *g, uint32_t max_sources, uint32_t max_templates)
{
    memset(g, 0, sizeof *g);
    struct ks_flow_config cfg;
    ks_flow_config_default(&cfg);
    if (max_sources)
        cfg.max_sources = max_sources;
    if (max_templates)
        cfg.max_templates = max_templates;
    cfg.on_record = on_record;
    cfg.on_counters = on_counters;
    cfg.user = g;
    struct ks_flow *f = NULL;
    assert_int_equal(ks_flow_new(&cfg, &f), KS_OK);
    return f;
}

static struct ks_addr v4(uint32_t a)
{
    struct ks_addr x;
    ks_addr_from_v4(&x, a);
    return x;
}

static const struct ks_addr *exporter(void)
{
    static struct ks_addr a;
    a = v4(0xc0000201); /* 192.0.2.1 */
    return &a;
}

static int feed(struct ks_flow *f, const struct buf *b)
{
    /* An exact-size copy, so that ASan sees a read past the datagram. */
    uint8_t *copy = malloc(b->n ? b->n : 1);
    assert_non_null(copy);
    memcpy(copy, b->b, b->n);
    int rc = ks_flow_feed(f, copy, b->n, exporter(), 2055, T0, NULL);
    free(copy);
    return rc;
}

static struct ks_flow_stats stats_of(const struct ks_flow *f)
{
    struct ks_flow_stats st;
    ks_flow_stats(f, &st);
    return st;
}

/* --- NetFlow v5 ------------------------------------------------------------------------- */

static void v5_header(struct buf *b, unsigned count, uint32_t seq, unsigned sampling)
{
    p16(b, 5);
    p16(b, count);
    p32(b, 100000);                   /* sysUptime: 100 s */
    p32(b, (uint32_t)(T0 / 1000000)); /* unix secs */
    p32(b, 0);
    p32(b, seq);
    p8(b, 1);
    p8(b, 2);
    p16(b, sampling);
}

static void v5_record(struct buf *b, uint32_t src, uint32_t dst, uint32_t pkts, uint32_t bytes,
                      uint16_t sport, uint16_t dport, uint8_t proto, uint8_t flags)
{
    p32(b, src);
    p32(b, dst);
    p32(b, 0);
    p16(b, 3);
    p16(b, 4);
    p32(b, pkts);
    p32(b, bytes);
    p32(b, 90000); /* first: 10 s before the export */
    p32(b, 95000); /* last: 5 s before */
    p16(b, sport);
    p16(b, dport);
    p8(b, 0);
    p8(b, flags);
    p8(b, proto);
    p8(b, 0);
    p16(b, 64500);
    p16(b, 64501);
    p8(b, 24);
    p8(b, 16);
    p16(b, 0);
}

static void v5_records_are_decoded(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v5_header(&b, 2, 1000, 0x4000 | 100); /* 1 in 100 */
    v5_record(&b, 0x0a000001, 0xc6336401, 10, 4000, 1234, 80, 6, 0x1b);
    v5_record(&b, 0x0a000002, 0xc6336402, 1, 84, 0, 0x0800, 1, 0);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 2);
    struct ks_flow_rec *r = &g.r[0];
    assert_int_equal(r->proto, KS_FLOW_NETFLOW5);
    assert_int_equal(ks_addr_v4(&r->src), 0x0a000001);
    assert_int_equal(ks_addr_v4(&r->dst), 0xc6336401);
    assert_int_equal(r->packets, 10);
    assert_int_equal(r->bytes, 4000);
    assert_int_equal(r->sport, 1234);
    assert_int_equal(r->dport, 80);
    assert_int_equal(r->tcp_flags, 0x1b);
    assert_int_equal(r->sampling, 100);
    assert_int_equal(r->start_us, T0 - 10000000);
    assert_int_equal(r->end_us, T0 - 5000000);
    assert_int_equal(r->src_as, 64500);
    assert_int_equal(r->domain, 0x0102);
    assert_int_equal(g.r[1].icmp_type, 8);
    assert_int_equal(g.r[1].dport, 0);
    ks_flow_free(f);
}

static void v5_count_past_datagram_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v5_header(&b, 3, 1, 0);
    v5_record(&b, 1, 2, 1, 40, 1, 2, 17, 0);
    assert_int_equal(feed(f, &b), KS_EFORMAT);
    assert_int_equal(g.n, 1); /* the record that is there */
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_LENGTH], 1);
    ks_flow_free(f);
}

static void short_datagram_and_bad_version_are_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    p16(&b, 5);
    p16(&b, 1);
    assert_int_equal(feed(f, &b), KS_ETRUNC);
    b.n = 0;
    p16(&b, 7);
    p16(&b, 0);
    p32(&b, 0);
    assert_int_equal(feed(f, &b), KS_EFORMAT);
    struct ks_flow_stats st = stats_of(f);
    assert_int_equal(st.reasons[KS_FLOW_R_SHORT], 1);
    assert_int_equal(st.reasons[KS_FLOW_R_VERSION], 1);
    assert_int_equal(st.bad_datagrams, 2);
    ks_flow_free(f);
}

/* --- NetFlow v9 ------------------------------------------------------------------------- */

static void v9_header(struct buf *b, uint32_t uptime, uint32_t seq, uint32_t source_id)
{
    p16(b, 9);
    p16(b, 0);
    p32(b, uptime);
    p32(b, (uint32_t)(T0 / 1000000));
    p32(b, seq);
    p32(b, source_id);
}

/* Template 256: src4 dst4 sport dport proto flags pkts(4) bytes(4) first last + 2 unused. */
static void v9_template(struct buf *b, uint16_t tid)
{
    static const uint16_t fl[][2] = {{8, 4}, {12, 4}, {7, 2},  {11, 2}, {4, 1}, {6, 1},
                                     {2, 4}, {1, 4},  {22, 4}, {21, 4}, {5, 1}, {200, 3}};
    size_t pos = b->n;
    p16(b, 0);
    p16(b, 0);
    p16(b, tid);
    p16(b, 12);
    for (unsigned i = 0; i < 12; i++) {
        p16(b, fl[i][0]);
        p16(b, fl[i][1]);
    }
    at16(b, pos + 2, (unsigned)(b->n - pos));
}

static void v9_data(struct buf *b, uint16_t tid, unsigned nrec, uint32_t uptime)
{
    size_t pos = b->n;
    p16(b, tid);
    p16(b, 0);
    for (unsigned i = 0; i < nrec; i++) {
        p32(b, 0x0a000001 + i);
        p32(b, 0xc6336401);
        p16(b, 40000 + i);
        p16(b, 53);
        p8(b, 17);
        p8(b, 0);
        p32(b, 2);
        p32(b, 150);
        p32(b, uptime - 3000);
        p32(b, uptime - 1000);
        p8(b, 0);
        p8(b, 0);
        p16(b, 0);
    }
    while ((b->n - pos) % 4)
        p8(b, 0); /* padding */
    at16(b, pos + 2, (unsigned)(b->n - pos));
}

static void v9_template_then_data_is_decoded(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    v9_template(&b, 256);
    v9_data(&b, 256, 3, 50000);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(ks_addr_v4(&g.r[2].src), 0x0a000003);
    assert_int_equal(g.r[2].sport, 40002);
    assert_int_equal(g.r[0].dport, 53);
    assert_int_equal(g.r[0].proto_ip, 17);
    assert_int_equal(g.r[0].packets, 2);
    assert_int_equal(g.r[0].bytes, 150);
    assert_int_equal(g.r[0].start_us, T0 - 3000000);
    assert_int_equal(g.r[0].end_us, T0 - 1000000);
    assert_int_equal(g.r[0].domain, 7);
    assert_int_equal(g.r[0].sampling, 1);
    ks_flow_free(f);
}

/* The export time has whole seconds: once a datagram has shown the exporter's boot time
 * closely, a later one whose whole-second header says less does not move its flows. */
static void v9_flow_times_do_not_jump_at_a_second_boundary(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    /* boot at T0 - 49.9 s; sent at T0 + 1.2 s (header: T0 + 1), uptime 51.1 s, a flow that
     * ended at uptime 49.8 s */
    v9_header(&b, 51100, 1, 7);
    at32(&b, 8, (uint32_t)(T0 / 1000000) + 1);
    v9_template(&b, 256);
    v9_data(&b, 256, 1, 50800);
    assert_int_equal(feed(f, &b), KS_OK);
    /* sent at T0 + 1.999 s (header: T0 + 1 again), uptime 51.899 s: a flow that ended at the
     * same instant; the header alone would put it 0.799 s earlier */
    b.n = 0;
    v9_header(&b, 51899, 2, 7);
    at32(&b, 8, (uint32_t)(T0 / 1000000) + 1);
    v9_data(&b, 256, 1, 50800);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.r[0].end_us, T0 - 300000);
    assert_int_equal(g.r[1].end_us, g.r[0].end_us);
    /* a boot time 10 s later (a restart): taken as it is */
    b.n = 0;
    v9_header(&b, 1000, 1, 7);
    at32(&b, 8, (uint32_t)(T0 / 1000000) + 10);
    v9_template(&b, 256);
    v9_data(&b, 256, 1, 1000);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.r[2].end_us, T0 + 9000000);
    ks_flow_free(f);
}

static void v9_data_before_template_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    v9_data(&b, 256, 2, 50000);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_NO_TEMPLATE], 1);
    ks_flow_free(f);
}

static void v9_templates_are_per_source_id(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    v9_template(&b, 256);
    assert_int_equal(feed(f, &b), KS_OK);
    b.n = 0;
    v9_header(&b, 50000, 1, 8); /* another source id: template 256 unknown there */
    v9_data(&b, 256, 1, 50000);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_NO_TEMPLATE], 1);
    ks_flow_free(f);
}

static void v9_options_template_sets_the_sampling_rate(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    /* Options template 300: scope system (1, 4 bytes); SAMPLING_INTERVAL (34, 4 bytes),
     * SAMPLING_ALGORITHM (35, 1 byte). */
    size_t pos = b.n;
    p16(&b, 1);
    p16(&b, 0);
    p16(&b, 300);
    p16(&b, 4);
    p16(&b, 8);
    p16(&b, 1);
    p16(&b, 4);
    p16(&b, 34);
    p16(&b, 4);
    p16(&b, 35);
    p16(&b, 1);
    p16(&b, 0); /* padding */
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    pos = b.n;
    p16(&b, 300);
    p16(&b, 0);
    p32(&b, 0);
    p32(&b, 1000);
    p8(&b, 2);
    p8(&b, 0);
    p8(&b, 0);
    p8(&b, 0);
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    v9_template(&b, 256);
    v9_data(&b, 256, 1, 50000);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.r[0].sampling, 1000);
    ks_flow_free(f);
}

static void v9_template_with_zero_length_field_is_refused(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    size_t pos = b.n;
    p16(&b, 0);
    p16(&b, 0);
    p16(&b, 256);
    p16(&b, 2);
    p16(&b, 8);
    p16(&b, 4);
    p16(&b, 1);
    p16(&b, 0); /* octets of length 0 */
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    v9_data(&b, 256, 1, 50000);
    feed(f, &b);
    assert_int_equal(g.n, 0);
    struct ks_flow_stats st = stats_of(f);
    assert_int_equal(st.reasons[KS_FLOW_R_TEMPLATE], 1);
    assert_int_equal(st.reasons[KS_FLOW_R_NO_TEMPLATE], 1);
    assert_int_equal(st.templates, 0);
    ks_flow_free(f);
}

static void v9_template_with_more_fields_than_its_set_is_refused(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    size_t pos = b.n;
    p16(&b, 0);
    p16(&b, 0);
    p16(&b, 256);
    p16(&b, 40); /* 40 fields announced, 1 present */
    p16(&b, 8);
    p16(&b, 4);
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    assert_int_equal(feed(f, &b), KS_EFORMAT);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_TEMPLATE], 1);
    assert_int_equal(stats_of(f).templates, 0);
    ks_flow_free(f);
}

static void v9_flowset_longer_than_datagram_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    p16(&b, 256);
    p16(&b, 400);
    p32(&b, 0);
    assert_int_equal(feed(f, &b), KS_EFORMAT);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_LENGTH], 1);
    ks_flow_free(f);
}

static void v9_field_length_unfit_for_its_type_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    size_t pos = b.n;
    p16(&b, 0);
    p16(&b, 0);
    p16(&b, 256);
    p16(&b, 2);
    p16(&b, 8);
    p16(&b, 3); /* an IPv4 address of 3 bytes */
    p16(&b, 1);
    p16(&b, 4);
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    pos = b.n;
    p16(&b, 256);
    p16(&b, 0);
    p8(&b, 10);
    p8(&b, 0);
    p8(&b, 0);
    p32(&b, 1500);
    p8(&b, 0);
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.r[0].src.family, 0); /* skipped, not misread */
    assert_int_equal(g.r[0].bytes, 1500);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_TEMPLATE], 1);
    ks_flow_free(f);
}

static void v9_sequence_gap_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 10, 7);
    feed(f, &b);
    b.n = 0;
    v9_header(&b, 51000, 11, 7);
    feed(f, &b);
    b.n = 0;
    v9_header(&b, 52000, 15, 7); /* 12, 13, 14 lost */
    feed(f, &b);
    b.n = 0;
    v9_header(&b, 51500, 13, 7); /* late */
    feed(f, &b);
    struct ks_flow_stats st = stats_of(f);
    assert_int_equal(st.reasons[KS_FLOW_R_SEQ_GAP], 1);
    assert_int_equal(st.reasons[KS_FLOW_R_SEQ_BACK], 1);
    assert_int_equal(st.reasons[KS_FLOW_R_RESTART], 0);
    ks_flow_free(f);
}

static void v9_restart_drops_templates(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 5000000, 100, 7);
    v9_template(&b, 256);
    feed(f, &b);
    b.n = 0;
    v9_header(&b, 2000, 0, 7); /* uptime back to 2 s: restarted */
    v9_data(&b, 256, 1, 2000);
    feed(f, &b);
    assert_int_equal(g.n, 0);
    struct ks_flow_stats st = stats_of(f);
    assert_int_equal(st.reasons[KS_FLOW_R_RESTART], 1);
    assert_int_equal(st.reasons[KS_FLOW_R_NO_TEMPLATE], 1);
    ks_flow_free(f);
}

static void templates_expire_after_the_timeout(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    v9_template(&b, 256);
    assert_int_equal(ks_flow_feed(f, b.b, b.n, exporter(), 0, T0, NULL), KS_OK);
    b.n = 0;
    v9_header(&b, 51000, 2, 7);
    v9_data(&b, 256, 1, 51000);
    /* 1801 s later (default timeout 1800 s). */
    ks_flow_feed(f, b.b, b.n, exporter(), 0, T0 + INT64_C(1801000000), NULL);
    assert_int_equal(g.n, 0);
    struct ks_flow_stats st = stats_of(f);
    assert_int_equal(st.reasons[KS_FLOW_R_TEMPLATE_EXPIRED], 1);
    assert_int_equal(st.templates, 0);
    ks_flow_free(f);
}

static void template_pool_evicts_the_least_recent_and_counts(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 2);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    v9_template(&b, 256);
    v9_template(&b, 257);
    v9_template(&b, 258); /* evicts 256 */
    feed(f, &b);
    b.n = 0;
    v9_header(&b, 50000, 2, 7);
    v9_data(&b, 256, 1, 50000);
    v9_data(&b, 258, 1, 50000);
    feed(f, &b);
    assert_int_equal(g.n, 1);
    struct ks_flow_stats st = stats_of(f);
    assert_int_equal(st.reasons[KS_FLOW_R_TEMPLATE_EVICTED], 1);
    assert_int_equal(st.templates, 2);
    ks_flow_free(f);
}

static void source_table_evicts_and_counts(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 2, 0);
    for (uint32_t sid = 0; sid < 5; sid++) {
        struct buf b = {.n = 0};
        v9_header(&b, 50000, 1, sid);
        feed(f, &b);
    }
    struct ks_flow_stats st = stats_of(f);
    assert_int_equal(st.sources, 2);
    assert_int_equal(st.sources_evicted, 3);
    ks_flow_free(f);
}

/* --- IPFIX ------------------------------------------------------------------------------ */

static size_t ipfix_header(struct buf *b, uint32_t seq, uint32_t domain)
{
    size_t pos = b->n;
    p16(b, 10);
    p16(b, 0);
    p32(b, (uint32_t)(T0 / 1000000));
    p32(b, seq);
    p32(b, domain);
    return pos;
}

static void ipfix_end(struct buf *b, size_t pos)
{
    at16(b, pos + 2, (unsigned)(b->n - pos));
}

/* Template 400: src6, dst6, sport, dport, proto, octetDeltaCount (8), packetDeltaCount (8),
 * flowStartMilliseconds, flowEndMilliseconds, an enterprise element (4 bytes). */
static void ipfix_template6(struct buf *b)
{
    size_t pos = b->n;
    p16(b, 2);
    p16(b, 0);
    p16(b, 400);
    p16(b, 10);
    static const uint16_t fl[][2] = {{27, 16}, {28, 16}, {7, 2},   {11, 2}, {4, 1},
                                     {1, 8},   {2, 8},   {152, 8}, {153, 8}};
    for (unsigned i = 0; i < 9; i++) {
        p16(b, fl[i][0]);
        p16(b, fl[i][1]);
    }
    p16(b, 0x8000 | 12);
    p16(b, 4);
    p32(b, 29305);
    at16(b, pos + 2, (unsigned)(b->n - pos));
}

static void ipfix_data6(struct buf *b, unsigned n)
{
    size_t pos = b->n;
    p16(b, 400);
    p16(b, 0);
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    for (unsigned i = 0; i < n; i++) {
        a[15] = (uint8_t)(1 + i);
        pbytes(b, a, 16);
        a[15] = 0x99;
        pbytes(b, a, 16);
        p16(b, 443);
        p16(b, 50000);
        p8(b, 6);
        p64(b, 123456789012ull);
        p64(b, 100000);
        p64(b, (uint64_t)(T0 / 1000) - 2000);
        p64(b, (uint64_t)(T0 / 1000) - 500);
        p32(b, 0xdeadbeef);
    }
    at16(b, pos + 2, (unsigned)(b->n - pos));
}

static void ipfix_ipv6_records_are_decoded(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    size_t h = ipfix_header(&b, 0, 42);
    ipfix_template6(&b);
    ipfix_data6(&b, 2);
    ipfix_end(&b, h);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 2);
    char s[KS_ADDR_STRLEN];
    ks_addr_format(&g.r[1].src, s, sizeof s);
    assert_string_equal(s, "2001:db8::2");
    assert_int_equal(g.r[0].dst.family, 6);
    assert_int_equal(g.r[0].bytes, 123456789012ull);
    assert_int_equal(g.r[0].packets, 100000);
    assert_int_equal(g.r[0].start_us, T0 - 2000000);
    assert_int_equal(g.r[0].end_us, T0 - 500000);
    assert_int_equal(g.r[0].sport, 443);
    assert_int_equal(g.r[0].domain, 42);
    ks_flow_free(f);
}

/* Template 500: sourceIPv4Address, a variable-length element (applicationName, 96), an
 * enterprise variable-length element, destinationIPv4Address, octets (4). */
static void ipfix_template_var(struct buf *b)
{
    size_t pos = b->n;
    p16(b, 2);
    p16(b, 0);
    p16(b, 500);
    p16(b, 5);
    p16(b, 8);
    p16(b, 4);
    p16(b, 96);
    p16(b, 65535);
    p16(b, 0x8000 | 100);
    p16(b, 65535);
    p32(b, 9);
    p16(b, 12);
    p16(b, 4);
    p16(b, 1);
    p16(b, 4);
    at16(b, pos + 2, (unsigned)(b->n - pos));
}

static void ipfix_variable_length_and_enterprise_fields_are_skipped(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    size_t h = ipfix_header(&b, 0, 1);
    ipfix_template_var(&b);
    size_t pos = b.n;
    p16(&b, 500);
    p16(&b, 0);
    /* record 1: short form lengths */
    p32(&b, 0x0a000001);
    p8(&b, 4);
    pbytes(&b, "http", 4);
    p8(&b, 0);
    p32(&b, 0x0a000002);
    p32(&b, 999);
    /* record 2: the long form (255, then 2 bytes) */
    p32(&b, 0x0a000003);
    p8(&b, 255);
    p16(&b, 300);
    for (int i = 0; i < 300; i++)
        p8(&b, 'x');
    p8(&b, 2);
    p16(&b, 0xabcd);
    p32(&b, 0x0a000004);
    p32(&b, 77);
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    ipfix_end(&b, h);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(ks_addr_v4(&g.r[0].dst), 0x0a000002);
    assert_int_equal(g.r[0].bytes, 999);
    assert_int_equal(ks_addr_v4(&g.r[1].src), 0x0a000003);
    assert_int_equal(ks_addr_v4(&g.r[1].dst), 0x0a000004);
    assert_int_equal(g.r[1].bytes, 77);
    ks_flow_free(f);
}

static void ipfix_variable_field_longer_than_its_set_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    size_t h = ipfix_header(&b, 0, 1);
    ipfix_template_var(&b);
    size_t pos = b.n;
    p16(&b, 500);
    p16(&b, 0);
    p32(&b, 0x0a000001);
    p8(&b, 200); /* 200 bytes announced, 10 follow */
    for (int i = 0; i < 10; i++)
        p8(&b, 'y');
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    ipfix_end(&b, h);
    assert_int_equal(feed(f, &b), KS_ETRUNC);
    assert_int_equal(g.n, 0);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_FIELD], 1);
    ks_flow_free(f);
}

static void ipfix_message_length_past_datagram_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    size_t h = ipfix_header(&b, 0, 1);
    ipfix_template6(&b);
    ipfix_end(&b, h);
    at16(&b, h + 2, (unsigned)b.n + 100);
    assert_int_equal(feed(f, &b), KS_EFORMAT);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_LENGTH], 1);
    assert_int_equal(stats_of(f).templates, 0);
    ks_flow_free(f);
}

static void ipfix_sequence_counts_data_records(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    size_t h = ipfix_header(&b, 1000, 1);
    ipfix_template6(&b);
    ipfix_data6(&b, 3);
    ipfix_end(&b, h);
    feed(f, &b);
    b.n = 0;
    h = ipfix_header(&b, 1003, 1); /* in order: 3 records before */
    ipfix_data6(&b, 2);
    ipfix_end(&b, h);
    feed(f, &b);
    b.n = 0;
    h = ipfix_header(&b, 1010, 1); /* 5 records lost */
    ipfix_data6(&b, 1);
    ipfix_end(&b, h);
    feed(f, &b);
    assert_int_equal(g.n, 6);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_SEQ_GAP], 1);
    ks_flow_free(f);
}

static void ipfix_template_withdrawal_removes_it(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    size_t h = ipfix_header(&b, 0, 1);
    ipfix_template6(&b);
    p16(&b, 2);
    p16(&b, 8);
    p16(&b, 400);
    p16(&b, 0); /* withdraw 400 */
    ipfix_data6(&b, 1);
    ipfix_end(&b, h);
    feed(f, &b);
    assert_int_equal(g.n, 0);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_NO_TEMPLATE], 1);
    ks_flow_free(f);
}

static void ipfix_options_sampling_interval_and_space_set_the_rate(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    size_t h = ipfix_header(&b, 0, 1);
    /* Options template 600: scope observationDomainId (149); samplingPacketInterval (305),
     * samplingPacketSpace (306). */
    size_t pos = b.n;
    p16(&b, 3);
    p16(&b, 0);
    p16(&b, 600);
    p16(&b, 3);
    p16(&b, 1);
    p16(&b, 149);
    p16(&b, 4);
    p16(&b, 305);
    p16(&b, 4);
    p16(&b, 306);
    p16(&b, 4);
    p16(&b, 0);
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    pos = b.n;
    p16(&b, 600);
    p16(&b, 0);
    p32(&b, 1);
    p32(&b, 1);
    p32(&b, 511); /* 1 in 512 */
    at16(&b, pos + 2, (unsigned)(b.n - pos));
    ipfix_template6(&b);
    ipfix_data6(&b, 1);
    ipfix_end(&b, h);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.r[0].sampling, 512);
    ks_flow_free(f);
}

/* --- sFlow v5 --------------------------------------------------------------------------- */

static void sflow_header(struct buf *b, uint32_t seq, uint32_t nsamples, bool v6agent)
{
    p32(b, 5);
    if (v6agent) {
        p32(b, 2);
        uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 9};
        pbytes(b, a, 16);
    } else {
        p32(b, 1);
        p32(b, 0xc0000209);
    }
    p32(b, 3); /* sub-agent */
    p32(b, seq);
    p32(b, 60000);
    p32(b, nsamples);
}

/* An Ethernet + IPv4 + TCP SYN frame of 60 bytes, cut to hlen bytes. */
static size_t frame(uint8_t *o)
{
    static const uint8_t f[] = {
        0,    1,    2,   3,   4,   5, 6, 7, 8,  9, 10, 11, 0x08, 0x00, /* Ethernet */
        0x45, 0,    0,   44,  0,   1, 0, 0, 64, 6, 0,  0,  203,  0,
        113,  5,    198, 51,  100, 7, /* IPv4 */
        0x30, 0x39, 0,   80,  0,   0, 0, 1, 0,  0, 0,  0,  0x60, 0x02,
        0xff, 0xff, 0,   0,   0,   0, /* TCP */
        2,    4,    5,   0xb4};
    memcpy(o, f, sizeof f);
    return sizeof f;
}

static void sflow_flow_sample(struct buf *b, uint32_t rate, uint32_t hlen_announced,
                              uint32_t hlen_given)
{
    uint8_t fr[64];
    size_t fl = frame(fr);
    if (hlen_given > fl)
        hlen_given = (uint32_t)fl;
    size_t pos = b->n;
    p32(b, 1);
    p32(b, 0);
    p32(b, 77);   /* sequence */
    p32(b, 5);    /* source id: ifIndex 5 */
    p32(b, rate); /* sampling rate */
    p32(b, 1000); /* pool */
    p32(b, 0);    /* drops */
    p32(b, 5);
    p32(b, 6);
    p32(b, 1); /* one record */
    p32(b, 1); /* raw packet header */
    size_t rpos = b->n;
    p32(b, 0);
    p32(b, 1);    /* Ethernet */
    p32(b, 1518); /* frame length */
    p32(b, 4);
    p32(b, hlen_announced);
    pbytes(b, fr, hlen_given);
    while ((b->n - rpos) % 4)
        p8(b, 0);
    uint32_t rl = (uint32_t)(b->n - rpos - 4);
    b->b[rpos] = (uint8_t)(rl >> 24);
    b->b[rpos + 1] = (uint8_t)(rl >> 16);
    b->b[rpos + 2] = (uint8_t)(rl >> 8);
    b->b[rpos + 3] = (uint8_t)rl;
    uint32_t sl = (uint32_t)(b->n - pos - 8);
    b->b[pos + 4] = (uint8_t)(sl >> 24);
    b->b[pos + 5] = (uint8_t)(sl >> 16);
    b->b[pos + 6] = (uint8_t)(sl >> 8);
    b->b[pos + 7] = (uint8_t)sl;
}

static void sflow_raw_header_is_decoded_with_its_rate(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    sflow_header(&b, 1, 1, false);
    sflow_flow_sample(&b, 2048, 58, 58);
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.n, 1);
    struct ks_flow_rec *r = &g.r[0];
    assert_int_equal(r->proto, KS_FLOW_SFLOW5);
    assert_int_equal(ks_addr_v4(&r->exporter), 0xc0000209);
    assert_int_equal(r->domain, 3);
    assert_int_equal(ks_addr_v4(&r->src), 0xcb007105);
    assert_int_equal(ks_addr_v4(&r->dst), 0xc6336407);
    assert_int_equal(r->sport, 12345);
    assert_int_equal(r->dport, 80);
    assert_int_equal(r->tcp_flags, 0x02);
    assert_int_equal(r->sampling, 2048);
    assert_int_equal(r->packets, 1);
    assert_int_equal(r->bytes, 1518);
    assert_int_equal(r->in_if, 5);
    assert_true(g.has_pkt[0]);
    assert_int_equal(g.pkt[0].weight, 2048);
    ks_flow_free(f);
}

static void sflow_header_cut_short_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    sflow_header(&b, 1, 1, false);
    sflow_flow_sample(&b, 10, 20, 20); /* 20 bytes: Ethernet + 6 of IPv4 */
    feed(f, &b);
    b.n = 0;
    sflow_header(&b, 2, 1, false);
    sflow_flow_sample(&b, 10, 200, 58); /* 200 announced, 58 present */
    feed(f, &b);
    assert_int_equal(g.n, 0);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_SFLOW_HEADER], 2);
    ks_flow_free(f);
}

static void sflow_sample_longer_than_datagram_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    sflow_header(&b, 1, 2, false); /* 2 samples announced, 1 present */
    sflow_flow_sample(&b, 10, 58, 58);
    assert_int_equal(feed(f, &b), KS_ETRUNC);
    assert_int_equal(g.n, 1);
    b.n = 0;
    sflow_header(&b, 2, 1, false);
    p32(&b, 1);
    p32(&b, 5000); /* sample length past the datagram */
    p32(&b, 0);
    assert_int_equal(feed(f, &b), KS_ETRUNC);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_SFLOW_SAMPLE], 2);
    ks_flow_free(f);
}

static void sflow_counter_sample_is_delivered(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    sflow_header(&b, 1, 1, true);
    p32(&b, 2);
    p32(&b, 4 + 4 + 4 + 8 + 88);
    p32(&b, 1);
    p32(&b, 5);
    p32(&b, 1);
    p32(&b, 1);
    p32(&b, 88);
    p32(&b, 5);          /* ifIndex */
    p32(&b, 6);          /* ifType */
    p64(&b, 1000000000); /* ifSpeed */
    p32(&b, 1);          /* direction */
    p32(&b, 3);          /* status */
    p64(&b, 123456789);  /* in octets */
    p32(&b, 100);        /* in ucast */
    p32(&b, 10);         /* in mcast */
    p32(&b, 1);          /* in bcast */
    p32(&b, 2);          /* in discards */
    p32(&b, 3);          /* in errors */
    p32(&b, 0);          /* unknown protos */
    p64(&b, 987654321);  /* out octets */
    p32(&b, 200);
    p32(&b, 0);
    p32(&b, 0);
    p32(&b, 0);
    p32(&b, 4);
    p32(&b, 0); /* promiscuous */
    assert_int_equal(feed(f, &b), KS_OK);
    assert_int_equal(g.nc, 1);
    assert_int_equal(g.c[0].if_index, 5);
    assert_int_equal(g.c[0].if_speed, 1000000000);
    assert_int_equal(g.c[0].in_octets, 123456789);
    assert_int_equal(g.c[0].in_packets, 111);
    assert_int_equal(g.c[0].out_octets, 987654321);
    assert_int_equal(g.c[0].out_errors, 4);
    assert_int_equal(g.c[0].exporter.family, 6);
    ks_flow_free(f);
}

static void sflow_restart_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    sflow_header(&b, 500, 0, false);
    feed(f, &b);
    b.n = 0;
    p32(&b, 5);
    p32(&b, 1);
    p32(&b, 0xc0000209);
    p32(&b, 3);
    p32(&b, 1);   /* sequence back to 1 */
    p32(&b, 100); /* uptime 0.1 s, was 60 s */
    p32(&b, 0);
    feed(f, &b);
    assert_int_equal(stats_of(f).reasons[KS_FLOW_R_RESTART], 1);
    ks_flow_free(f);
}

/* --- spreading into packets ------------------------------------------------------------- */

struct sum {
    uint64_t packets, bytes, calls;
    int64_t tmin, tmax;
};

static void add_pkt(void *user, const struct ks_pkt *p)
{
    struct sum *s = user;
    assert_true(p->weight >= 1 && p->weight <= 65535);
    s->packets += p->weight;
    s->bytes += (uint64_t)p->wire_len * p->weight;
    s->calls++;
    if (s->calls == 1 || p->ts_us < s->tmin)
        s->tmin = p->ts_us;
    if (s->calls == 1 || p->ts_us > s->tmax)
        s->tmax = p->ts_us;
}

static void spread_keeps_the_totals_over_the_seconds(void **state)
{
    (void)state;
    struct ks_flow_rec r;
    memset(&r, 0, sizeof r);
    r.src = v4(0x0a000001);
    r.dst = v4(0x0a000002);
    r.proto_ip = 17;
    r.packets = 1001;
    r.bytes = 1001 * 100 + 7;
    r.sampling = 10;
    r.start_us = T0;
    r.end_us = T0 + 9500000; /* 10 seconds touched */
    struct sum s = {0};
    size_t calls = ks_flow_spread(&r, 0, add_pkt, &s);
    assert_int_equal(s.packets, 10010);
    assert_int_equal(s.bytes, 1001 * 100 * 10 + 70);
    assert_true(calls >= 10 && calls <= 20);
    assert_true(s.tmin == T0 && s.tmax <= r.end_us);
}

static void spread_splits_heavy_weights(void **state)
{
    (void)state;
    struct ks_flow_rec r;
    memset(&r, 0, sizeof r);
    r.src = v4(1);
    r.dst = v4(2);
    r.proto_ip = 6;
    r.packets = 200000;
    r.bytes = 200000 * 40;
    r.sampling = 1;
    r.start_us = r.end_us = T0;
    struct sum s = {0};
    ks_flow_spread(&r, 0, add_pkt, &s);
    assert_int_equal(s.packets, 200000);
    assert_int_equal(s.bytes, 200000 * 40);
    assert_int_equal(s.calls, 4);
}

static void spread_bounds_long_flows(void **state)
{
    (void)state;
    struct ks_flow_rec r;
    memset(&r, 0, sizeof r);
    r.src = v4(1);
    r.dst = v4(2);
    r.proto_ip = 6;
    r.packets = 1000000;
    r.bytes = 1000000 * 1500;
    r.sampling = 1;
    r.start_us = T0;
    r.end_us = T0 + INT64_C(86400000000); /* a day */
    struct sum s = {0};
    ks_flow_spread(&r, 60, add_pkt, &s);
    assert_int_equal(s.packets, 1000000);
    assert_true(s.calls <= 120);
}

/* --- hot path and sockets --------------------------------------------------------------- */

static void no_allocation_per_record(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    struct buf b = {.n = 0};
    v9_header(&b, 50000, 1, 7);
    v9_template(&b, 256);
    feed(f, &b);
    b.n = 0;
    v9_header(&b, 50000, 2, 7);
    v9_data(&b, 256, 20, 50000);
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 500; i++) { /* 10 000 records */
        g.n = 0;
        ks_flow_feed(f, b.b, b.n, exporter(), 0, T0, NULL);
    }
    struct mallinfo2 after = mallinfo2();
    assert_int_equal(after.uordblks, before.uordblks);
    assert_int_equal(stats_of(f).records, 10000);
    ks_flow_free(f);
}

static void listen_and_poll_receive_a_datagram(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    /* Find a free port by binding a throwaway socket to port 0. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char spec[32];
    snprintf(spec, sizeof spec, "127.0.0.1:%u", ntohs(a.sin_port));
    if (ks_flow_listen(f, spec) != KS_OK) {
        ks_flow_free(f);
        skip();
    }
    assert_int_equal(ks_flow_listen(f, "nonsense:x"), KS_EINVAL);
    int fds[8];
    assert_int_equal(ks_flow_fds(f, fds, 8), 1);
    assert_true(fds[0] >= 0);
    struct buf b = {.n = 0};
    v5_header(&b, 1, 1, 0);
    v5_record(&b, 0x0a000001, 0x0a000002, 3, 300, 1, 2, 17, 0);
    s = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(sendto(s, b.b, b.n, 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)b.n);
    close(s);
    int n = 0;
    for (int i = 0; i < 20 && n == 0; i++)
        n = ks_flow_poll(f, 100);
    assert_int_equal(n, 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(ks_addr_v4(&g.r[0].exporter), 0x7f000001);
    ks_flow_break(f);
    assert_int_equal(ks_flow_poll(f, 1000), KS_EINTR);
    ks_flow_free(f);
}

static void an_ipv6_exporter_is_received(void **state)
{
    (void)state;
    struct got g;
    struct ks_flow *f = collector(&g, 0, 0);
    int s = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
        if (s >= 0)
            close(s);
        ks_flow_free(f);
        skip(); /* no IPv6 loopback here */
    }
    socklen_t al = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &al);
    close(s);
    char spec[48];
    snprintf(spec, sizeof spec, "[::1]:%u", ntohs(a.sin6_port));
    assert_int_equal(ks_flow_listen(f, spec), KS_OK);
    struct buf b = {.n = 0};
    v5_header(&b, 1, 1, 0);
    v5_record(&b, 0x0a000001, 0x0a000002, 3, 300, 1, 2, 17, 0);
    s = socket(AF_INET6, SOCK_DGRAM, 0);
    assert_true(sendto(s, b.b, b.n, 0, (struct sockaddr *)&a, sizeof a) == (ssize_t)b.n);
    close(s);
    int n = 0;
    for (int i = 0; i < 20 && n == 0; i++)
        n = ks_flow_poll(f, 100);
    assert_int_equal(n, 1);
    assert_int_equal(g.n, 1);
    char ex[KS_ADDR_STRLEN];
    ks_addr_format(&g.r[0].exporter, ex, sizeof ex);
    assert_string_equal(ex, "::1");
    ks_flow_free(f);
}

static void reason_and_protocol_names(void **state)
{
    (void)state;
    assert_string_equal(ks_flow_reason_name(KS_FLOW_R_SEQ_GAP), "sequence_gap");
    assert_null(ks_flow_reason_name(KS_FLOW_R_COUNT));
    assert_string_equal(ks_flow_proto_name(KS_FLOW_IPFIX), "ipfix");
    for (unsigned r = 0; r < KS_FLOW_R_COUNT; r++)
        assert_non_null(ks_flow_reason_name(r));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(v5_records_are_decoded),
        cmocka_unit_test(v5_count_past_datagram_is_counted),
        cmocka_unit_test(short_datagram_and_bad_version_are_counted),
        cmocka_unit_test(v9_template_then_data_is_decoded),
        cmocka_unit_test(v9_data_before_template_is_counted),
        cmocka_unit_test(v9_flow_times_do_not_jump_at_a_second_boundary),
        cmocka_unit_test(v9_templates_are_per_source_id),
        cmocka_unit_test(v9_options_template_sets_the_sampling_rate),
        cmocka_unit_test(v9_template_with_zero_length_field_is_refused),
        cmocka_unit_test(v9_template_with_more_fields_than_its_set_is_refused),
        cmocka_unit_test(v9_flowset_longer_than_datagram_is_counted),
        cmocka_unit_test(v9_field_length_unfit_for_its_type_is_counted),
        cmocka_unit_test(v9_sequence_gap_is_counted),
        cmocka_unit_test(v9_restart_drops_templates),
        cmocka_unit_test(templates_expire_after_the_timeout),
        cmocka_unit_test(template_pool_evicts_the_least_recent_and_counts),
        cmocka_unit_test(source_table_evicts_and_counts),
        cmocka_unit_test(ipfix_ipv6_records_are_decoded),
        cmocka_unit_test(ipfix_variable_length_and_enterprise_fields_are_skipped),
        cmocka_unit_test(ipfix_variable_field_longer_than_its_set_is_counted),
        cmocka_unit_test(ipfix_message_length_past_datagram_is_counted),
        cmocka_unit_test(ipfix_sequence_counts_data_records),
        cmocka_unit_test(ipfix_template_withdrawal_removes_it),
        cmocka_unit_test(ipfix_options_sampling_interval_and_space_set_the_rate),
        cmocka_unit_test(sflow_raw_header_is_decoded_with_its_rate),
        cmocka_unit_test(sflow_header_cut_short_is_counted),
        cmocka_unit_test(sflow_sample_longer_than_datagram_is_counted),
        cmocka_unit_test(sflow_counter_sample_is_delivered),
        cmocka_unit_test(sflow_restart_is_counted),
        cmocka_unit_test(spread_keeps_the_totals_over_the_seconds),
        cmocka_unit_test(spread_splits_heavy_weights),
        cmocka_unit_test(spread_bounds_long_flows),
        cmocka_unit_test(no_allocation_per_record),
        cmocka_unit_test(listen_and_poll_receive_a_datagram),
        cmocka_unit_test(an_ipv6_exporter_is_received),
        cmocka_unit_test(reason_and_protocol_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
