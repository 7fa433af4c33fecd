/* Unit tests of the P2P residue module (cmocka). The decay test writes its capture with
 * libpcap's pcap_dump and reads it back through the capture module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <math.h>
#include <pcap/pcap.h>

#include "kansoku/ks_capture.h"
#include "kansoku/ks_p2p.h"
#include "kansoku/ks_time.h"

#define T0 INT64_C(1212278400000000) /* 2008-06-01T00:00:00Z */
#define HOST 0xc000020au             /* 192.0.2.10 */

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static double uniform(void)
{
    return (double)(next_rand() >> 11) / 9007199254740992.0;
}

/* Knuth's method: fine for the means used here (< 400). */
static unsigned poisson(double mean)
{
    double l = exp(-mean), p = 1;
    unsigned k = 0;
    do {
        k++;
        p *= uniform();
    } while (p > l);
    return k - 1;
}

static void put16(uint8_t *b, unsigned v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* An Ethernet + IPv4 + TCP frame with no payload. */
static void write_tcp(pcap_dumper_t *dump, int64_t ts, uint32_t src, uint32_t dst, unsigned sport,
                      unsigned dport, uint8_t flags)
{
    uint8_t f[54];
    memset(f, 0, sizeof f);
    f[12] = 0x08; /* IPv4 */
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    put16(ip + 2, 40);
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    uint8_t *tcp = ip + 20;
    put16(tcp, sport);
    put16(tcp + 2, dport);
    tcp[12] = 0x50;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    struct pcap_pkthdr h = {.caplen = sizeof f, .len = sizeof f};
    h.ts.tv_sec = (time_t)(ts / 1000000);
    h.ts.tv_usec = (suseconds_t)(ts % 1000000);
    pcap_dump((u_char *)dump, &h, f);
}

/* Two hours of a running client, the stop, then 24 hours of incoming SYNs decaying with the
 * given half-life towards a background of 3 per 5 minutes. */
static void write_decay_capture(const char *path, double half_life_s, int64_t stop)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    assert_non_null(dead);
    pcap_dumper_t *dump = pcap_dump_open(dead, path);
    assert_non_null(dump);
    for (int64_t t = stop - 2 * KS_USEC_PER_HOUR; t < stop; t += 300 * KS_USEC_PER_SEC) {
        for (int i = 0; i < 5; i++)
            write_tcp(dump, t + i * 60 * KS_USEC_PER_SEC, HOST, 0x0a000000 + (uint32_t)i, 40000,
                      6346, 0x02);
        unsigned n = poisson(300);
        for (unsigned i = 0; i < n; i++)
            write_tcp(dump, t + (int64_t)(uniform() * 300e6),
                      0x01000000u + (uint32_t)next_rand() % 100000u, HOST, 50000, 6346, 0x02);
    }
    for (int b = 0; b < 288; b++) {
        int64_t t = stop + b * 300 * KS_USEC_PER_SEC;
        double mean = 300.0 * pow(2.0, -((double)b + 0.5) * 300.0 / half_life_s) + 3.0;
        unsigned n = poisson(mean);
        /* the packets of a bin in time order */
        for (unsigned i = 0; i < n; i++)
            write_tcp(dump, t + (int64_t)i * (300 * KS_USEC_PER_SEC / (n + 1)),
                      0x01000000u + (uint32_t)(next_rand() % 100000u), HOST, 50000, 6346, 0x02);
    }
    pcap_dump_close(dump);
    pcap_close(dead);
}

static void run_file(struct ks_p2p *p, const char *path)
{
    struct ks_capture_config cc;
    ks_capture_config_default(&cc);
    struct ks_capture *c = NULL;
    assert_int_equal(ks_capture_open_files(&path, 1, &cc, &c), KS_OK);
    struct ks_pkt pkt;
    int rc;
    while ((rc = ks_capture_next(c, &pkt)) == 1)
        ks_p2p_feed(p, &pkt);
    assert_int_equal(rc, 0);
    ks_capture_free(c);
}

static struct ks_p2p *make(uint32_t host, int64_t stop)
{
    struct ks_p2p_config cfg;
    ks_p2p_config_default(&cfg);
    struct ks_p2p *p = NULL;
    assert_int_equal(ks_p2p_new(&cfg, &p), KS_OK);
    struct ks_addr a;
    ks_addr_from_v4(&a, host);
    assert_int_equal(ks_p2p_add_host(p, &a, stop), KS_OK);
    return p;
}

static void exponential_decay_gives_its_half_life(void **state)
{
    char path[] = "/tmp/ks-p2p-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    int64_t stop = T0 + 2 * KS_USEC_PER_HOUR;
    write_decay_capture(path, 3600.0, stop);
    struct ks_p2p *p = make(HOST, 0); /* the stop is inferred from the last outgoing SYN */
    run_file(p, path);
    unlink(path);
    struct ks_p2p_result r;
    assert_int_equal(ks_p2p_result(p, 0, &r), KS_OK);
    assert_true(r.stop_inferred);
    assert_true(r.stopped_at > stop - 300 * KS_USEC_PER_SEC && r.stopped_at < stop);
    assert_true(r.has_decay);
    assert_true(r.background > 1.5 && r.background < 5.0);
    assert_true(r.has_half_life);
    assert_true(r.half_life_s > 3600 * 0.85 && r.half_life_s < 3600 * 1.15);
    assert_true(r.r2 > 0.9);
    /* 300 -> about 3: log2(100) = 6.6 half-lives, within a Poisson deviation earlier */
    assert_true(r.time_to_background_s > 4 * 3600 && r.time_to_background_s < 8 * 3600);
    assert_true(r.last_syn_in > T0 + 24 * KS_USEC_PER_HOUR);
    assert_int_equal(r.syn_out, 120);
    assert_true(r.ndays == 2);
    assert_true(r.days[0].sources_syn > 1000);
    ks_p2p_free(p);
}

static void a_given_stop_time_is_used(void **state)
{
    struct ks_p2p *p = make(HOST, T0 + 3600 * KS_USEC_PER_SEC);
    struct ks_pkt pkt;
    memset(&pkt, 0, sizeof pkt);
    pkt.proto = 6;
    pkt.flags = KS_PKT_L4;
    pkt.tcp_flags = KS_TCP_SYN;
    pkt.weight = 1;
    ks_addr_from_v4(&pkt.src, HOST);
    ks_addr_from_v4(&pkt.dst, 0x0a000001);
    pkt.ts_us = T0;
    ks_p2p_feed(p, &pkt);
    struct ks_p2p_result r;
    ks_p2p_result(p, 0, &r);
    assert_false(r.stop_inferred);
    assert_int_equal(r.stopped_at, T0 + 3600 * KS_USEC_PER_SEC);
    assert_int_equal(r.syn_out, 1);
    assert_int_equal(r.nbins, 1);
    assert_false(r.has_decay); /* no bin after the stop */
    ks_p2p_free(p);
}

static void fit_of_an_exact_series_is_exact(void **state)
{
    struct ks_p2p_config cfg;
    ks_p2p_config_default(&cfg);
    cfg.background_bins = 4;
    uint64_t c[40];
    for (int i = 0; i < 40; i++)
        c[i] = (uint64_t)llround(1000.0 * pow(0.5, (i + 0.5) / 6.0)); /* half-life 6 bins */
    for (int i = 36; i < 40; i++)
        c[i] = 0;
    struct ks_p2p_result r;
    ks_p2p_fit_decay(&cfg, c, 40, &r);
    assert_true(r.has_half_life);
    assert_true(fabs(r.half_life_s - 6 * 300.0) < 30.0);
    assert_true(r.background == 0.0);
}

static void flat_series_has_no_half_life(void **state)
{
    struct ks_p2p_config cfg;
    ks_p2p_config_default(&cfg);
    uint64_t c[30];
    for (int i = 0; i < 30; i++)
        c[i] = 7;
    struct ks_p2p_result r;
    ks_p2p_fit_decay(&cfg, c, 30, &r);
    assert_true(r.has_decay);
    assert_false(r.has_half_life);
    assert_true(r.time_to_background_s == 0.0);
}

static void a_host_is_added_once_and_hosts_are_bounded(void **state)
{
    struct ks_p2p *p = make(HOST, 0);
    struct ks_addr a;
    ks_addr_from_v4(&a, HOST);
    assert_int_equal(ks_p2p_add_host(p, &a, 0), KS_EEXIST);
    for (uint32_t i = 1; i < KS_P2P_MAX_HOSTS; i++) {
        ks_addr_from_v4(&a, 0x0a000000 + i);
        assert_int_equal(ks_p2p_add_host(p, &a, 0), KS_OK);
    }
    ks_addr_from_v4(&a, 0x0b000000);
    assert_int_equal(ks_p2p_add_host(p, &a, 0), KS_ELIMIT);
    ks_p2p_free(p);
}

static void gnutella_client_sends_291_syns_and_gets_91_synacks(void **state)
{
    const char *dir = getenv("KS_TESTDATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/pcap/ndpi_gnutella.pcap", dir ? dir : ".");
    if (!dir || access(path, R_OK) != 0)
        skip();                             /* KS_TESTDATA/pcap/ndpi_gnutella.pcap is absent */
    struct ks_p2p *p = make(0x0a00020f, 0); /* 10.0.2.15 */
    run_file(p, path);
    struct ks_p2p_result r;
    ks_p2p_result(p, 0, &r);
    assert_int_equal(r.syn_out, 291);
    assert_int_equal(r.synack_in, 91);
    assert_int_equal(r.syn_in, 0);
    assert_int_equal(r.udp_in, 310);
    assert_int_equal(r.udp_out, 1334);
    assert_int_equal(r.nbins, 2); /* its last SYN or UDP datagram comes before 600 s */
    assert_true(r.stop_inferred);
    ks_p2p_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exponential_decay_gives_its_half_life),
        cmocka_unit_test(a_given_stop_time_is_used),
        cmocka_unit_test(fit_of_an_exact_series_is_exact),
        cmocka_unit_test(flat_series_has_no_half_life),
        cmocka_unit_test(a_host_is_added_once_and_hosts_are_bounded),
        cmocka_unit_test(gnutella_client_sends_291_syns_and_gets_91_synacks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
