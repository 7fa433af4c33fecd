/* Unit tests of the DDoS detector on synthetic packet streams: thresholds, start/end/merge,
 * vectors and classes, scans, adaptive baselines, per-prefix and carpet rules, bounded tables,
 * timelines, workers, and the thresholds file. */
#include "kansoku/ks_ddos.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MAXA 16

struct got {
    struct ks_ddos_attack a[MAXA];
    struct ks_ddos_tl tl[MAXA][64];
    size_t n;
};

static void on_attack(void *user, const struct ks_ddos_attack *a)
{
    struct got *g = user;
    if (g->n >= MAXA)
        return;
    g->a[g->n] = *a;
    size_t n = a->timeline_len < 64 ? a->timeline_len : 64;
    memcpy(g->tl[g->n], a->timeline, n * sizeof *a->timeline);
    g->a[g->n].timeline = g->tl[g->n];
    g->a[g->n].timeline_len = n;
    g->n++;
}

static void cfg_low(struct ks_ddos_config *cfg, struct got *g)
{
    ks_ddos_config_default(cfg);
    cfg->thr.pps = 1000;
    cfg->start_after_s = 0;
    cfg->end_after_s = 5;
    cfg->max_targets = 10000;
    cfg->max_tracked = 64;
    cfg->on_attack = on_attack;
    cfg->user = g;
}

static struct ks_ddos *start(const struct ks_ddos_config *cfg)
{
    struct ks_ddos *d = NULL;
    assert_int_equal(ks_ddos_new(cfg, &d), KS_OK);
    return d;
}

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

#define T0 (INT64_C(1600000000) * 1000000)
#define VICTIM 0xc6336402u /* 198.51.100.2 */

static struct ks_pkt pkt(int64_t t_us, uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport,
                         uint16_t dport, uint8_t flags, uint32_t len)
{
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    p.ts_us = t_us;
    ks_addr_from_v4(&p.src, src);
    ks_addr_from_v4(&p.dst, dst);
    p.ipver = 4;
    p.proto = proto;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    p.flags = KS_PKT_L4;
    p.wire_len = p.cap_len = len;
    p.weight = 1;
    return p;
}

/* n packets spread evenly over [t, t + 1 s). */
static void syn_second(struct ks_ddos *d, int64_t t, unsigned n, uint32_t dst, bool spoof)
{
    for (unsigned i = 0; i < n; i++) {
        struct ks_pkt p = pkt(t + (int64_t)i * 1000000 / n, spoof ? rnd() : 0x0a000001, dst, 6,
                              (uint16_t)rnd(), 80, KS_TCP_SYN, 60);
        assert_int_equal(ks_ddos_feed(d, &p), KS_OK);
    }
}

static void udp_second(struct ks_ddos *d, int64_t t, unsigned n, uint32_t dst, uint16_t sport)
{
    for (unsigned i = 0; i < n; i++) {
        struct ks_pkt p = pkt(t + (int64_t)i * 1000000 / n, rnd(), dst, 17, sport,
                              (uint16_t)(1024 + rnd() % 60000), 0, 1200);
        assert_int_equal(ks_ddos_feed(d, &p), KS_OK);
    }
}

static bool has(const struct ks_ddos_attack *a, enum ks_ddos_vector v)
{
    return (a->vectors >> v & 1u) != 0;
}

static void syn_flood_over_threshold_is_one_server_attack(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos *d = start(&cfg);
    syn_second(d, T0, 5000, VICTIM, true);
    syn_second(d, T0 + 1000000, 5000, VICTIM, true);
    assert_int_equal(ks_ddos_flush(d), KS_OK);
    assert_int_equal(g.n, 1);
    const struct ks_ddos_attack *a = &g.a[0];
    assert_int_equal(ks_addr_v4(&a->target.addr), VICTIM);
    assert_int_equal(a->target.len, 32);
    assert_true(has(a, KS_VEC_SYN_FLOOD));
    assert_int_equal(a->vectors, 1u << KS_VEC_SYN_FLOOD);
    assert_int_equal(a->cls, KS_DDOS_SERVER);
    assert_int_equal(a->peak_pps, 5000);
    assert_int_equal(a->peak_bps, 5000 * 60 * 8);
    assert_int_equal(a->dispersion.judgement, KS_DISP_SPOOFED);
    /* Tracking starts at 1/8 of the threshold: the first 124 packets are counted, not traced. */
    assert_true(fabs(a->dispersion.sources - 9875) < 9875 * 0.05);
    assert_int_equal(a->start_us, T0);
    assert_true(a->end_us >= T0 + 1999000);
    assert_int_equal(a->timeline_len, 2);
    assert_true(a->open);
    ks_ddos_free(d);
}

static void traffic_below_thresholds_gives_no_attack(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos *d = start(&cfg);
    for (int s = 0; s < 10; s++)
        syn_second(d, T0 + s * 1000000, 900, VICTIM, true);
    ks_ddos_flush(d);
    assert_int_equal(g.n, 0);
    struct ks_ddos_stats st;
    ks_ddos_stats(d, &st);
    assert_int_equal(st.attacks, 0);
    assert_int_equal(st.packets, 9000);
    ks_ddos_free(d);
}

static void start_after_needs_consecutive_over_seconds(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    cfg.start_after_s = 3;
    struct ks_ddos *d = start(&cfg);
    syn_second(d, T0, 2000, VICTIM, true);
    syn_second(d, T0 + 1000000, 2000, VICTIM, true);
    syn_second(d, T0 + 2000000, 10, VICTIM, true); /* the run breaks */
    syn_second(d, T0 + 3000000, 2000, VICTIM, true);
    syn_second(d, T0 + 4000000, 2000, VICTIM, true);
    syn_second(d, T0 + 5000000, 10, VICTIM, true);
    assert_int_equal(g.n, 0);
    syn_second(d, T0 + 6000000, 2000, VICTIM, true);
    syn_second(d, T0 + 7000000, 2000, VICTIM, true);
    syn_second(d, T0 + 8000000, 2000, VICTIM, true);
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].start_us, T0 + 6000000);
    assert_int_equal(g.a[0].packets, 6000);
    ks_ddos_free(d);
}

static void bursts_closer_than_end_after_merge(void **state)
{
    for (int end_after = 2; end_after <= 10; end_after += 8) {
        struct got g = {0};
        struct ks_ddos_config cfg;
        cfg_low(&cfg, &g);
        cfg.end_after_s = (uint32_t)end_after;
        struct ks_ddos *d = start(&cfg);
        syn_second(d, T0, 3000, VICTIM, true);
        syn_second(d, T0 + 5000000, 3000, VICTIM, true);
        for (int s = 6; s < 30; s++) /* time goes on, other traffic */
            syn_second(d, T0 + s * 1000000, 1, 0x01020304, true);
        ks_ddos_flush(d);
        if (end_after == 10) {
            assert_int_equal(g.n, 1);
            assert_int_equal(g.a[0].packets, 6000);
            assert_false(g.a[0].open);
            assert_int_equal(g.a[0].timeline_len, 6); /* 2 busy + 4 quiet seconds between */
        } else {
            assert_int_equal(g.n, 2);
        }
        ks_ddos_free(d);
    }
}

static void udp_from_port_53_is_dns_amplification(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos *d = start(&cfg);
    udp_second(d, T0, 3000, VICTIM, 53);
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_true(has(&g.a[0], KS_VEC_AMP_DNS));
    assert_false(has(&g.a[0], KS_VEC_UDP_FLOOD));
    assert_int_equal(g.a[0].cls, KS_DDOS_BANDWIDTH);
    assert_int_equal(g.a[0].dispersion.judgement, KS_DISP_REFLECTORS);
    assert_int_equal(g.a[0].n_top_src_ports, 1);
    assert_int_equal(g.a[0].top_src_ports[0].port, 53);
    ks_ddos_free(d);
}

static void syn_and_udp_together_are_composite(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos *d = start(&cfg);
    for (int i = 0; i < 4000; i++) {
        struct ks_pkt p = i % 2 ? pkt(T0 + i * 250, rnd(), VICTIM, 6, 1234, 443, KS_TCP_SYN, 60)
                                : pkt(T0 + i * 250, rnd(), VICTIM, 17, 1234, 9999, 0, 1400);
        ks_ddos_feed(d, &p);
    }
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_true(has(&g.a[0], KS_VEC_SYN_FLOOD));
    assert_true(has(&g.a[0], KS_VEC_UDP_FLOOD));
    assert_int_equal(g.a[0].cls, KS_DDOS_COMPOSITE);
    ks_ddos_free(d);
}

static void vertical_scan_is_not_an_attack(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos *d = start(&cfg);
    for (int i = 0; i < 3000; i++) {
        struct ks_pkt p = pkt(T0 + i * 300, 0x0a000005, VICTIM, 6, 40000, (uint16_t)(i % 1500 + 1),
                              KS_TCP_SYN, 60);
        ks_ddos_feed(d, &p);
    }
    ks_ddos_flush(d);
    assert_int_equal(g.n, 0);
    struct ks_ddos_stats st;
    ks_ddos_stats(d, &st);
    assert_int_equal(st.scans, 1);
    ks_ddos_free(d);
}

static void fragment_flood_from_one_host_is_not_a_scan(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos *d = start(&cfg);
    for (int i = 0; i < 2000; i++) {
        struct ks_pkt p = pkt(T0 + i * 400, 0x0a000002, VICTIM, 6, 0, 0, 0, 54);
        p.flags = KS_PKT_FRAG | KS_PKT_FRAG_LATER;
        ks_ddos_feed(d, &p);
    }
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].vectors, 1u << KS_VEC_FRAGMENT_FLOOD);
    assert_int_equal(g.a[0].dispersion.judgement, KS_DISP_FEW);
    assert_int_equal(g.a[0].n_top_sources, 1);
    assert_int_equal(ks_addr_v4(&g.a[0].top_sources[0].addr), 0x0a000002);
    ks_ddos_free(d);
}

static void vector_change_is_visible_per_minute(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    cfg.thr.pps = 50;
    cfg.end_after_s = 30;
    struct ks_ddos *d = start(&cfg);
    for (int s = 0; s < 180; s++) {
        int64_t t = T0 + (int64_t)s * 1000000;
        if (s / 60 == 1)
            syn_second(d, t, 100, VICTIM, true);
        else
            udp_second(d, t, 100, VICTIM, 123);
    }
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    const struct ks_ddos_attack *a = &g.a[0];
    assert_true(has(a, KS_VEC_AMP_NTP));
    assert_true(has(a, KS_VEC_SYN_FLOOD));
    assert_int_equal(a->cls, KS_DDOS_COMPOSITE);
    ks_ddos_free(d);
}

static struct ks_ddos_attack *g_big;
static struct ks_ddos_tl g_min[8];
static size_t g_nmin;
static void on_attack_minutes(void *user, const struct ks_ddos_attack *a)
{
    (void)user;
    g_nmin = ks_ddos_attack_minutes(a, g_min, 8);
    g_big = (struct ks_ddos_attack *)1;
}

static void minutes_give_the_main_vector_of_each_minute(void **state)
{
    struct ks_ddos_config cfg;
    ks_ddos_config_default(&cfg);
    cfg.thr.pps = 50;
    cfg.start_after_s = 0;
    cfg.end_after_s = 30;
    cfg.on_attack = on_attack_minutes;
    g_big = NULL;
    struct ks_ddos *d = start(&cfg);
    int64_t base = INT64_C(1600000020) * 1000000; /* a minute boundary */
    for (int s = 0; s < 180; s++) {
        int64_t t = base + (int64_t)s * 1000000;
        if (s / 60 == 1)
            syn_second(d, t, 100, VICTIM, true);
        else
            udp_second(d, t, 100, VICTIM, 123);
    }
    ks_ddos_flush(d);
    assert_non_null(g_big);
    assert_int_equal(g_nmin, 3);
    assert_int_equal(g_min[0].main_vector, KS_VEC_AMP_NTP);
    assert_int_equal(g_min[1].main_vector, KS_VEC_SYN_FLOOD);
    assert_int_equal(g_min[2].main_vector, KS_VEC_AMP_NTP);
    assert_int_equal(g_min[1].packets, 6000);
    assert_int_equal(g_min[0].seconds, 60);
    ks_ddos_free(d);
}

static void adaptive_mode_flags_a_multiple_of_the_baseline(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    cfg.thr = (struct ks_ddos_thresholds){0};
    cfg.thr.pps = 1000000; /* the static ceiling stays far away */
    cfg.adaptive = true;
    cfg.adaptive_min_pps = 50;
    cfg.adaptive_warmup_s = 30;
    cfg.adaptive_alpha = 0.05;
    cfg.adaptive_k = 5;
    struct ks_ddos *d = start(&cfg);
    for (int s = 0; s < 120; s++)
        syn_second(d, T0 + (int64_t)s * 1000000, 80 + rnd() % 40, VICTIM, true);
    assert_int_equal(g.n, 0);
    for (int s = 120; s < 125; s++)
        syn_second(d, T0 + (int64_t)s * 1000000, 600, VICTIM, true);
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].start_us, T0 + 120 * INT64_C(1000000));
    ks_ddos_free(d);
}

static void prefix_rule_overrides_the_global_threshold(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos_rules *rules = NULL;
    assert_int_equal(ks_ddos_rules_new(&rules), KS_OK);
    struct ks_prefix p;
    assert_int_equal(ks_prefix_parse("192.0.2.0/24", 12, &p, NULL), KS_OK);
    struct ks_ddos_thresholds thr = {.pps = 100};
    assert_int_equal(ks_ddos_rules_add(rules, &p, &thr, 1u, false), KS_OK);
    cfg.rules = rules;
    struct ks_ddos *d = start(&cfg);
    syn_second(d, T0, 300, 0xc0000207, true); /* 192.0.2.7: inside */
    syn_second(d, T0 + 1000000, 300, VICTIM, true);
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_int_equal(ks_addr_v4(&g.a[0].target.addr), 0xc0000207);
    ks_ddos_free(d);
    ks_ddos_rules_free(rules);
}

static void carpet_prefix_counts_many_hosts_as_one_target(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos_rules *rules = NULL;
    assert_int_equal(ks_ddos_rules_new(&rules), KS_OK);
    struct ks_prefix p;
    assert_int_equal(ks_prefix_parse("198.51.100.0/24", 15, &p, NULL), KS_OK);
    assert_int_equal(ks_ddos_rules_add(rules, &p, NULL, 0, true), KS_OK);
    cfg.rules = rules;
    struct ks_ddos *d = start(&cfg);
    for (int i = 0; i < 2560; i++) {
        struct ks_pkt q = pkt(T0 + i * 300, rnd(), 0xc6336400u + (uint32_t)(i % 256), 17, 53,
                              (uint16_t)(2000 + i), 0, 800);
        ks_ddos_feed(d, &q);
    }
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].target.len, 24);
    assert_int_equal(ks_addr_v4(&g.a[0].target.addr), 0xc6336400u);
    assert_true(g.a[0].dst_addrs > 200);
    assert_true(has(&g.a[0], KS_VEC_AMP_DNS));
    ks_ddos_free(d);
    ks_ddos_rules_free(rules);
}

static void full_target_table_evicts_and_counts(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    cfg.max_targets = 1000;
    struct ks_ddos *d = start(&cfg);
    for (uint32_t i = 0; i < 20000; i++) {
        struct ks_pkt q = pkt(T0 + i * 10, rnd(), 0x0b000000u + i, 6, 1, 80, KS_TCP_SYN, 60);
        ks_ddos_feed(d, &q);
    }
    ks_ddos_flush(d);
    struct ks_ddos_stats st;
    ks_ddos_stats(d, &st);
    assert_true(st.targets <= 1000);
    assert_int_equal(st.targets + st.targets_evicted, 20000);
    assert_int_equal(g.n, 0);
    ks_ddos_free(d);
}

static void two_workers_find_what_one_thread_finds(void **state)
{
    for (uint32_t workers = 0; workers <= 2; workers += 2) {
        struct got g = {0};
        struct ks_ddos_config cfg;
        cfg_low(&cfg, &g);
        cfg.workers = workers;
        cfg.ring_size = 1024;
        struct ks_ddos *d = start(&cfg);
        rng = 12345;
        for (int s = 0; s < 3; s++) {
            int64_t t = T0 + (int64_t)s * 1000000;
            syn_second(d, t, 3000, VICTIM, true);
            udp_second(d, t, 3000, VICTIM + 1, 1900);
            syn_second(d, t, 50, VICTIM + 2, true);
        }
        ks_ddos_flush(d);
        assert_int_equal(g.n, 2);
        uint32_t vec = g.a[0].vectors | g.a[1].vectors;
        assert_int_equal(vec, 1u << KS_VEC_SYN_FLOOD | 1u << KS_VEC_AMP_SSDP);
        assert_int_equal(g.a[0].packets + g.a[1].packets, 18000);
        struct ks_ddos_stats st;
        ks_ddos_stats(d, &st);
        assert_int_equal(st.packets, 18150);
        assert_int_equal(st.attacks, 2);
        ks_ddos_free(d);
    }
}

static void syn_acks_sent_by_a_target_are_connections(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    cfg.thr.pps = 0;
    cfg.thr.conn_ps = 1000;
    struct ks_ddos *d = start(&cfg);
    for (int i = 0; i < 3000; i++) {
        struct ks_pkt q = pkt(T0 + i * 300, rnd(), VICTIM, 6, 5000, 80, KS_TCP_SYN, 60);
        ks_ddos_feed(d, &q);
        struct ks_pkt r = pkt(T0 + i * 300 + 10, VICTIM, ks_addr_v4(&q.src), 6, 80, 5000,
                              KS_TCP_SYN | KS_TCP_ACK, 60);
        ks_ddos_feed(d, &r);
    }
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_int_equal(ks_addr_v4(&g.a[0].target.addr), VICTIM);
    assert_true(has(&g.a[0], KS_VEC_CONNECTION_FLOOD));
    ks_ddos_free(d);
}

static void http_requests_make_an_http_get_flood(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    cfg.thr.pps = 0;
    cfg.thr.http_rps = 500;
    struct ks_ddos *d = start(&cfg);
    static const uint8_t req[] = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < 2000; i++) {
        struct ks_pkt q = pkt(T0 + i * 400, 0x0a000000u + (uint32_t)(i % 200), VICTIM, 6, 5000, 80,
                              KS_TCP_ACK | KS_TCP_PSH, 120);
        q.payload = req;
        q.payload_len = sizeof req - 1;
        ks_ddos_feed(d, &q);
    }
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_true(has(&g.a[0], KS_VEC_HTTP_GET_FLOOD));
    assert_int_equal(g.a[0].cls, KS_DDOS_SERVER);
    assert_int_equal(g.a[0].dispersion.judgement, KS_DISP_BOTNET);
    ks_ddos_free(d);
}

static void timeline_is_coarsened_when_full(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    cfg.timeline_max = 4;
    struct ks_ddos *d = start(&cfg);
    for (int s = 0; s < 10; s++)
        syn_second(d, T0 + (int64_t)s * 1000000, 1500, VICTIM, true);
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    const struct ks_ddos_attack *a = &g.a[0];
    assert_true(a->timeline_len <= 4);
    uint64_t pk = 0, secs = 0;
    for (size_t i = 0; i < a->timeline_len; i++) {
        pk += a->timeline[i].packets;
        secs += a->timeline[i].seconds;
    }
    assert_int_equal(pk, 15000);
    assert_int_equal(secs, 10);
    assert_int_equal(a->peak_pps, 1500);
    ks_ddos_free(d);
}

static void sample_rate_weighs_each_packet(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos *d = start(&cfg);
    for (int i = 0; i < 200; i++) {
        struct ks_pkt q = pkt(T0 + i * 4000, rnd(), VICTIM, 6, 1, 80, KS_TCP_SYN, 60);
        q.weight = 10;
        ks_ddos_feed(d, &q);
    }
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].packets, 2000);
    ks_ddos_free(d);
}

static void config_file_sets_globals_and_prefix_rules(void **state)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/ks-ddos-%d.conf", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs("# thresholds\nthreshold_pps = 50k\nthreshold_bps = 2G\nstart_after = 2\n"
          "adaptive = yes\n\n[prefix 203.0.113.0/24]\nthreshold_pps = 500\ncarpet = yes\n",
          f);
    fclose(f);
    struct ks_ddos_config cfg;
    ks_ddos_config_default(&cfg);
    struct ks_ddos_rules *rules = NULL;
    assert_int_equal(ks_ddos_config_load(path, &cfg, &rules, NULL), KS_OK);
    assert_int_equal(cfg.thr.pps, 50000);
    assert_int_equal(cfg.thr.bps, 2000000000);
    assert_int_equal(cfg.start_after_s, 2);
    assert_true(cfg.adaptive);
    assert_non_null(rules);
    f = fopen(path, "w");
    fputs("threshold_pps = lots\n[prefix nonsense]\n", f);
    fclose(f);
    struct ks_ddos_rules *r2 = NULL;
    assert_int_equal(ks_ddos_config_load(path, &cfg, &r2, NULL), KS_EFORMAT);
    ks_ddos_rules_free(r2);
    ks_ddos_rules_free(rules);
    unlink(path);
    assert_int_equal(ks_ddos_config_load("/nonexistent/ddos.conf", &cfg, &r2, NULL), KS_EIO);
}

static void names_of_vectors_round_trip(void **state)
{
    for (unsigned v = 0; v < KS_VEC_COUNT; v++)
        assert_int_equal(ks_ddos_vector_find(ks_ddos_vector_name(v)), (int)v);
    assert_null(ks_ddos_vector_name(KS_VEC_COUNT));
    assert_int_equal(ks_ddos_vector_find("nope"), -1);
    assert_string_equal(ks_ddos_class_name(KS_DDOS_COMPOSITE), "composite");
}

static void tick_reports_an_ended_attack_without_flush(void **state)
{
    struct got g = {0};
    struct ks_ddos_config cfg;
    cfg_low(&cfg, &g);
    struct ks_ddos *d = start(&cfg);
    for (int s = 0; s < 3; s++)
        syn_second(d, T0 + s * 1000000, 3000, VICTIM, true);
    /* The last packets wait in the pipeline; the tick handles them, then ends the attack. */
    assert_int_equal(ks_ddos_tick(d, T0 + 20 * 1000000), KS_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].packets, 9000);
    assert_false(g.a[0].open);
    ks_ddos_flush(d);
    assert_int_equal(g.n, 1);
    ks_ddos_free(d);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syn_flood_over_threshold_is_one_server_attack),
        cmocka_unit_test(traffic_below_thresholds_gives_no_attack),
        cmocka_unit_test(start_after_needs_consecutive_over_seconds),
        cmocka_unit_test(bursts_closer_than_end_after_merge),
        cmocka_unit_test(udp_from_port_53_is_dns_amplification),
        cmocka_unit_test(syn_and_udp_together_are_composite),
        cmocka_unit_test(vertical_scan_is_not_an_attack),
        cmocka_unit_test(fragment_flood_from_one_host_is_not_a_scan),
        cmocka_unit_test(vector_change_is_visible_per_minute),
        cmocka_unit_test(minutes_give_the_main_vector_of_each_minute),
        cmocka_unit_test(adaptive_mode_flags_a_multiple_of_the_baseline),
        cmocka_unit_test(prefix_rule_overrides_the_global_threshold),
        cmocka_unit_test(carpet_prefix_counts_many_hosts_as_one_target),
        cmocka_unit_test(full_target_table_evicts_and_counts),
        cmocka_unit_test(two_workers_find_what_one_thread_finds),
        cmocka_unit_test(syn_acks_sent_by_a_target_are_connections),
        cmocka_unit_test(http_requests_make_an_http_get_flood),
        cmocka_unit_test(timeline_is_coarsened_when_full),
        cmocka_unit_test(sample_rate_weighs_each_packet),
        cmocka_unit_test(config_file_sets_globals_and_prefix_rules),
        cmocka_unit_test(names_of_vectors_round_trip),
        cmocka_unit_test(tick_reports_an_ended_attack_without_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
