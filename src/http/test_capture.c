/* Unit tests: TCP reassembly (tcp.c) and HTTP/1.x requests from captures (capture.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/tcp.h"
#include "kansoku/ks_http.h"

/* ---- packets ---- */

#define CLI 0x0a000001u /* 10.0.0.1 */
#define SRV 0x0a000002u /* 10.0.0.2 */

static struct ks_pkt pkt(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags,
                         uint32_t seq, uint32_t ack, const char *data, size_t len)
{
    static uint64_t number;
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    ks_addr_from_v4(&p.src, src);
    ks_addr_from_v4(&p.dst, dst);
    p.ipver = 4;
    p.proto = 6;
    p.flags = KS_PKT_L4;
    p.sport = sport;
    p.dport = dport;
    p.tcp_flags = flags;
    p.tcp_seq = seq;
    p.tcp_ack = ack;
    p.payload = (const uint8_t *)data;
    p.payload_len = (uint32_t)len;
    p.ts_us = 1212278400000000LL + (int64_t)number * 1000;
    p.number = ++number;
    p.weight = 1;
    return p;
}

/* client -> server data */
static struct ks_pkt c2s(uint32_t seq, const char *s)
{
    return pkt(CLI, 40000, SRV, 80, KS_TCP_ACK | KS_TCP_PSH, seq, 5001, s, strlen(s));
}

static struct ks_pkt s2c(uint32_t seq, const char *s)
{
    return pkt(SRV, 80, CLI, 40000, KS_TCP_ACK | KS_TCP_PSH, seq, 0, s, strlen(s));
}

/* ---- a recording consumer for the reassembler ---- */

struct rec {
    char out[2][8192];
    size_t n[2];
    uint32_t gaps[2], lost[2];
    unsigned ends;
    enum tcp_end last_end;
    struct tcp_reasm *r;
    bool hold; /* take a buffer per delivery and keep it (memory tests) */
};

static void rec_data(void *user, struct tcp_stream *s, int dir, const uint8_t *p, size_t n)
{
    struct rec *rc = user;
    (void)s;
    size_t k = n < sizeof rc->out[dir] - rc->n[dir] ? n : sizeof rc->out[dir] - rc->n[dir];
    memcpy(rc->out[dir] + rc->n[dir], p, k);
    rc->n[dir] += k;
}

static void rec_gap(void *user, struct tcp_stream *s, int dir, uint32_t lost)
{
    struct rec *rc = user;
    (void)s;
    rc->gaps[dir]++;
    rc->lost[dir] += lost;
}

static void rec_end(void *user, struct tcp_stream *s, enum tcp_end why)
{
    struct rec *rc = user;
    (void)s;
    rc->ends++;
    rc->last_end = why;
}

static struct tcp_reasm *reasm(struct rec *rc, uint64_t memory, uint32_t max_streams)
{
    memset(rc, 0, sizeof *rc);
    struct tcp_config cfg = {.memory = memory,
                             .max_streams = max_streams,
                             .dirs = 3,
                             .seed = 1,
                             .ops = {rec_data, rec_gap, rec_end},
                             .user = rc};
    struct tcp_reasm *r = NULL;
    assert_int_equal(tcp_new(&cfg, &r), KS_OK);
    rc->r = r;
    return r;
}

static void feed(struct tcp_reasm *r, struct ks_pkt p)
{
    assert_int_equal(tcp_feed(r, &p), KS_OK);
}

static void handshake(struct tcp_reasm *r, uint32_t cisn, uint32_t sisn)
{
    feed(r, pkt(CLI, 40000, SRV, 80, KS_TCP_SYN, cisn, 0, NULL, 0));
    feed(r, pkt(SRV, 80, CLI, 40000, KS_TCP_SYN | KS_TCP_ACK, sisn, cisn + 1, NULL, 0));
    feed(r, pkt(CLI, 40000, SRV, 80, KS_TCP_ACK, cisn + 1, sisn + 1, NULL, 0));
}

static struct ks_http_capture_stats tstats(struct tcp_reasm *r)
{
    struct ks_http_capture_stats st;
    memset(&st, 0, sizeof st);
    tcp_stats(r, &st);
    return st;
}

static void in_order_segments_are_delivered_both_ways(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 0);
    handshake(r, 1000, 5000);
    feed(r, c2s(1001, "hello "));
    feed(r, c2s(1007, "world"));
    feed(r, s2c(5001, "HTTP/1.1 200 OK"));
    assert_int_equal(rc.n[0], 11);
    assert_memory_equal(rc.out[0], "hello world", 11);
    assert_int_equal(rc.n[1], 15);
    assert_int_equal(tstats(r).streams, 1);
    tcp_free(r);
}

static void out_of_order_segments_are_reordered(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 0);
    handshake(r, 1000, 5000);
    feed(r, c2s(1011, "KLMNO"));
    feed(r, c2s(1006, "FGHIJ"));
    assert_int_equal(rc.n[0], 0);
    feed(r, c2s(1001, "ABCDE"));
    assert_int_equal(rc.n[0], 15);
    assert_memory_equal(rc.out[0], "ABCDEFGHIJKLMNO", 15);
    assert_int_equal(tstats(r).ooo, 2);
    tcp_free(r);
}

static void retransmission_is_dropped_and_counted(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 0);
    handshake(r, 1000, 5000);
    feed(r, c2s(1001, "ABCDE"));
    feed(r, c2s(1001, "ABCDE"));
    feed(r, c2s(1003, "CDEFG")); /* partly new */
    assert_int_equal(rc.n[0], 7);
    assert_memory_equal(rc.out[0], "ABCDEFG", 7);
    assert_int_equal(tstats(r).retrans, 2);
    tcp_free(r);
}

static void overlap_with_other_bytes_keeps_first_and_counts_conflict(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 0);
    handshake(r, 1000, 5000);
    feed(r, c2s(1006, "UNION"));      /* held out of order */
    feed(r, c2s(1006, "xxxxx"));      /* the same bytes again, different: conflict */
    feed(r, c2s(1001, "ABCDEyyyyy")); /* in order, overlapping the held piece */
    assert_int_equal(rc.n[0], 10);
    assert_memory_equal(rc.out[0], "ABCDEUNION", 10);
    struct ks_http_capture_stats st = tstats(r);
    assert_int_equal(st.conflicts, 2);
    assert_true(st.overlaps >= 2);
    tcp_free(r);
}

static void sequence_numbers_wrap_around(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 0);
    handshake(r, 0xfffffff8u, 5000);
    feed(r, c2s(0xfffffff9u, "0123456789")); /* crosses 2^32 */
    feed(r, c2s(0x00000007u, "KLM"));        /* ahead, after the wrap */
    feed(r, c2s(0x00000003u, "ABCD"));
    assert_int_equal(rc.n[0], 17);
    assert_memory_equal(rc.out[0], "0123456789ABCDKLM", 17);
    assert_int_equal(tstats(r).retrans, 0);
    tcp_free(r);
}

static void connection_seen_without_handshake_is_picked_up(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 0);
    feed(r, c2s(777, "GET / HTTP/1.1\r\n"));
    feed(r, c2s(793, "\r\n"));
    assert_int_equal(rc.n[0], 18);
    assert_int_equal(tstats(r).midstream, 1);
    tcp_free(r);
}

static void fin_both_ways_closes_and_rst_closes(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 0);
    handshake(r, 1000, 5000);
    feed(r, pkt(CLI, 40000, SRV, 80, KS_TCP_ACK | KS_TCP_FIN, 1001, 5001, "bye", 3));
    assert_int_equal(rc.ends, 0);
    feed(r, pkt(SRV, 80, CLI, 40000, KS_TCP_ACK | KS_TCP_FIN, 5001, 1005, NULL, 0));
    assert_int_equal(rc.ends, 1);
    assert_int_equal(rc.last_end, TCP_END_CLOSED);
    assert_memory_equal(rc.out[0], "bye", 3);
    handshake(r, 9000, 7000);
    feed(r, pkt(SRV, 80, CLI, 40000, KS_TCP_RST, 7001, 0, NULL, 0));
    assert_int_equal(rc.ends, 2);
    assert_int_equal(tstats(r).active, 0);
    tcp_free(r);
}

static void hole_at_close_is_a_gap_and_later_bytes_delivered(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 0);
    handshake(r, 1000, 5000);
    feed(r, c2s(1001, "AB"));
    feed(r, c2s(1010, "XY"));
    tcp_flush(r);
    assert_int_equal(rc.gaps[0], 1);
    assert_int_equal(rc.lost[0], 7);
    assert_int_equal(rc.n[0], 4);
    assert_memory_equal(rc.out[0], "ABXY", 4);
    assert_int_equal(rc.last_end, TCP_END_FLUSH);
    tcp_free(r);
}

static void full_table_evicts_least_recent_connection(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 8u << 20, 16);
    for (uint16_t i = 0; i < 17; i++)
        feed(r, pkt(CLI, (uint16_t)(30000 + i), SRV, 80, KS_TCP_SYN, 1, 0, NULL, 0));
    struct ks_http_capture_stats st = tstats(r);
    assert_int_equal(st.streams, 17);
    assert_int_equal(st.active, 16);
    assert_int_equal(st.evicted_full, 1);
    assert_int_equal(rc.last_end, TCP_END_EVICTED);
    tcp_free(r);
}

/* The memory number: a flood of half-open connections, each sending data ahead of a
 * hole so that it must be held, never takes more than the budget; evictions are counted. */
static void budget_holds_under_flood_of_half_open_streams(void **state)
{
    (void)state;
    struct rec rc;
    const uint64_t budget = 4u << 20;
    struct tcp_reasm *r = reasm(&rc, budget, 0);
    static char junk[1400];
    memset(junk, 'A', sizeof junk);
    for (uint32_t i = 0; i < 100000; i++) {
        uint32_t src = 0x0b000000u + i;
        uint16_t sport = (uint16_t)(1024 + i % 60000);
        feed(r, pkt(src, sport, SRV, 80, KS_TCP_SYN, i * 7919u, 0, NULL, 0));
        feed(r, pkt(src, sport, SRV, 80, KS_TCP_ACK, i * 7919u + 500, 1, junk, sizeof junk));
        struct ks_http_capture_stats st = tstats(r);
        assert_true(st.mem_used <= st.mem_budget);
    }
    struct ks_http_capture_stats st = tstats(r);
    assert_true(st.mem_budget <= budget);
    assert_true(st.mem_peak <= st.mem_budget);
    assert_true(st.evicted_full + st.evicted_mem > 0);
    assert_true(st.evicted_mem > 0);
    assert_int_equal(st.streams, 100000);
    tcp_flush(r);
    assert_int_equal(tstats(r).mem_used, 0);
    tcp_free(r);
}

/* Buffers are taken back from the least recently active connection that holds some, however
 * many connections without buffers are older or newer. */
static void full_pool_evicts_oldest_holder_behind_many_empty_connections(void **state)
{
    (void)state;
    struct rec rc;
    struct tcp_reasm *r = reasm(&rc, 2u << 20, 2048);
    static char blk[1400];
    memset(blk, 'D', sizeof blk);
    /* A: 300 segments held behind a hole */
    feed(r, pkt(CLI, 1111, SRV, 80, KS_TCP_SYN, 0, 0, NULL, 0));
    for (uint32_t i = 0; i < 300; i++)
        feed(r, pkt(CLI, 1111, SRV, 80, KS_TCP_ACK, 1000 + i * 1400, 1, blk, sizeof blk));
    /* 1,000 connections without data */
    for (uint32_t i = 0; i < 1000; i++)
        feed(r, pkt(0x0c000000u + i, 2222, SRV, 80, KS_TCP_SYN, 0, 0, NULL, 0));
    /* B wants more buffers than are left */
    feed(r, pkt(CLI, 3333, SRV, 80, KS_TCP_SYN, 0, 0, NULL, 0));
    for (uint32_t i = 0; i < 600; i++)
        feed(r, pkt(CLI, 3333, SRV, 80, KS_TCP_ACK, 1000 + i * 1400, 1, blk, sizeof blk));
    struct ks_http_capture_stats st = tstats(r);
    assert_int_equal(st.evicted_mem, 1);
    assert_int_equal(st.dropped_bytes, 0);
    assert_int_equal(st.active, 1001);
    assert_true(st.mem_peak <= st.mem_budget);
    tcp_free(r);
}

static void too_much_out_of_order_data_gives_up_the_hole(void **state)
{
    (void)state;
    struct rec rc;
    memset(&rc, 0, sizeof rc);
    struct tcp_config cfg = {.memory = 8u << 20,
                             .max_ooo = 4096,
                             .dirs = 3,
                             .seed = 1,
                             .ops = {rec_data, rec_gap, rec_end},
                             .user = &rc};
    struct tcp_reasm *r = NULL;
    assert_int_equal(tcp_new(&cfg, &r), KS_OK);
    handshake(r, 1000, 5000);
    static char blk[2000];
    memset(blk, 'B', sizeof blk);
    uint32_t seq = 2001; /* 1000 bytes missing */
    for (int i = 0; i < 3; i++, seq += sizeof blk)
        feed(r, pkt(CLI, 40000, SRV, 80, KS_TCP_ACK, seq, 5001, blk, sizeof blk));
    assert_int_equal(rc.gaps[0], 1);
    assert_int_equal(rc.lost[0], 1000);
    assert_int_equal(rc.n[0], 6000);
    tcp_free(r);
}

/* ---- HTTP requests ---- */

struct got {
    unsigned n;
    char method[8][16], target[8][128], host[8][64], body[8][256], client[8][48];
    uint32_t anomalies[8];
    int64_t time[8];
    uint64_t packet[8];
};

static void on_req(void *user, const struct ks_http_request *req, const struct ks_http_conn *conn)
{
    struct got *g = user;
    if (g->n >= 8)
        return;
    unsigned i = g->n++;
    snprintf(g->method[i], 16, "%.*s", (int)req->method.len, (const char *)req->method.p);
    snprintf(g->target[i], 128, "%.*s", (int)req->target.len, (const char *)req->target.p);
    snprintf(g->host[i], 64, "%.*s", (int)req->host.len, (const char *)req->host.p);
    snprintf(g->body[i], 256, "%.*s", (int)req->body.len, (const char *)req->body.p);
    snprintf(g->client[i], 48, "%.*s", (int)req->client.len, (const char *)req->client.p);
    g->anomalies[i] = req->anomalies;
    g->time[i] = req->time_us;
    g->packet[i] = conn->packet;
}

static struct ks_http_capture *hcap(struct got *g)
{
    memset(g, 0, sizeof *g);
    struct ks_http_capture_config cfg;
    ks_http_capture_config_default(&cfg);
    cfg.memory = 16u << 20;
    cfg.seed = 1;
    cfg.on_request = on_req;
    cfg.user = g;
    struct ks_http_capture *c = NULL;
    assert_int_equal(ks_http_capture_new(&cfg, &c), KS_OK);
    return c;
}

static void hfeed(struct ks_http_capture *c, struct ks_pkt p)
{
    assert_int_equal(ks_http_capture_feed(c, &p), KS_OK);
}

static void hshake(struct ks_http_capture *c)
{
    hfeed(c, pkt(CLI, 40000, SRV, 80, KS_TCP_SYN, 1000, 0, NULL, 0));
    hfeed(c, pkt(SRV, 80, CLI, 40000, KS_TCP_SYN | KS_TCP_ACK, 5000, 1001, NULL, 0));
}

static void pipelined_requests_are_split(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    hfeed(c, c2s(1001, "GET /a?id=1 HTTP/1.1\r\nHost: shop.example\r\n\r\n"
                       "GET /b HTTP/1.1\r\nHost: shop.example\r\n\r\nHEAD /c HTTP/1.0\r\n\r\n"));
    assert_int_equal(g.n, 3);
    assert_string_equal(g.method[0], "GET");
    assert_string_equal(g.target[0], "/a?id=1");
    assert_string_equal(g.host[0], "shop.example");
    assert_string_equal(g.client[0], "10.0.0.1");
    assert_string_equal(g.target[1], "/b");
    assert_string_equal(g.method[2], "HEAD");
    assert_int_equal(g.anomalies[0], 0);
    ks_http_capture_free(c);
}

static void request_split_over_segments_out_of_order(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    const char *a = "GET /item.php?id=1%20UNION%20SELECT ", *b = "HTTP/1.1\r\nHost: x\r\n\r\n";
    hfeed(c, c2s(1001 + (uint32_t)strlen(a), b));
    assert_int_equal(g.n, 0);
    hfeed(c, c2s(1001, a));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.target[0], "/item.php?id=1%20UNION%20SELECT");
    ks_http_capture_free(c);
}

static void content_length_body_is_kept(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    const char *r = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n\r\nuser=a&pw=b'-";
    hfeed(c, c2s(1001, r));
    hfeed(c, c2s(1001 + (uint32_t)strlen(r), "GET / HTTP/1.1\r\n\r\n"));
    assert_int_equal(g.n, 2);
    assert_string_equal(g.body[0], "user=a&pw=b'-");
    assert_string_equal(g.method[1], "GET");
    ks_http_capture_free(c);
}

static void chunked_body_is_decoded(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    hfeed(c, c2s(1001, "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5;ext=1\r\nid=1 \r\n9\r\nOR 1=1-- \r\n0\r\nX-T: y\r\n\r\n"
                       "GET /next HTTP/1.1\r\n\r\n"));
    assert_int_equal(g.n, 2);
    assert_string_equal(g.body[0], "id=1 OR 1=1-- ");
    assert_int_equal(g.anomalies[0], 0);
    assert_string_equal(g.target[1], "/next");
    ks_http_capture_free(c);
}

static void trailer_split_across_segments_ends_the_request(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    const char *a = "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nT: y\r";
    hfeed(c, c2s(1001, a));
    hfeed(c, c2s(1001 + (uint32_t)strlen(a), "\n\r"));
    hfeed(c, c2s(1003 + (uint32_t)strlen(a), "\nGET /after HTTP/1.1\r\n\r\n"));
    assert_int_equal(g.n, 2);
    assert_string_equal(g.body[0], "x");
    assert_string_equal(g.target[1], "/after");
    ks_http_capture_free(c);
}

static void truncated_chunked_body_is_counted(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    const char *r = "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc";
    hfeed(c, pkt(CLI, 40000, SRV, 80, KS_TCP_ACK | KS_TCP_FIN, 1001, 5001, r, strlen(r)));
    hfeed(c, pkt(SRV, 80, CLI, 40000, KS_TCP_ACK | KS_TCP_FIN, 5001, 1002, NULL, 0));
    assert_int_equal(g.n, 1);
    assert_true(g.anomalies[0] & KS_HTTP_A_TRUNC_BODY);
    assert_string_equal(g.body[0], "abc");
    struct ks_http_capture_stats st;
    ks_http_capture_stats(c, &st);
    assert_int_equal(st.trunc_chunked, 1);
    ks_http_capture_free(c);
}

static uint32_t anomalies_of(const char *request)
{
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    hfeed(c, c2s(1001, request));
    ks_http_capture_flush(c);
    ks_http_capture_free(c);
    assert_true(g.n >= 1);
    return g.anomalies[0];
}

static void content_length_and_transfer_encoding_flagged(void **state)
{
    (void)state;
    uint32_t a = anomalies_of("POST / HTTP/1.1\r\nContent-Length: 4\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
    assert_true(a & KS_HTTP_A_CL_TE);
}

static void differing_content_lengths_flagged(void **state)
{
    (void)state;
    uint32_t a = anomalies_of("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n"
                              "\r\nabc");
    assert_true(a & KS_HTTP_A_CL_CL);
    assert_false(anomalies_of("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc") &
                 KS_HTTP_A_CL_CL);
}

static void folded_header_flagged_and_joined(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    hfeed(c, c2s(1001, "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n"
                       "3\r\nabc\r\n0\r\n\r\n"));
    assert_int_equal(g.n, 1);
    assert_true(g.anomalies[0] & KS_HTTP_A_OBS_FOLD);
    assert_string_equal(g.body[0], "abc");
    ks_http_capture_free(c);
}

static void bad_chunk_size_flagged(void **state)
{
    (void)state;
    assert_true(anomalies_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "zz\r\nabc\r\n0\r\n\r\n") &
                KS_HTTP_A_BAD_CHUNK);
    assert_true(anomalies_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabcX\r\n0\r\n\r\n") &
                KS_HTTP_A_BAD_CHUNK);
}

static void transfer_encoding_not_chunked_and_space_before_colon_flagged(void **state)
{
    (void)state;
    assert_true(anomalies_of("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") &
                KS_HTTP_A_BAD_TE);
    assert_true(anomalies_of("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n") &
                KS_HTTP_A_BAD_FIELD);
}

static void connection_that_is_not_http_is_ignored(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    hfeed(c, c2s(1001, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03GET / HTTP/1.1\r\n\r\n"));
    assert_int_equal(g.n, 0);
    struct ks_http_capture_stats st;
    ks_http_capture_stats(c, &st);
    assert_int_equal(st.non_http, 1);
    ks_http_capture_free(c);
}

static void midstream_pickup_resyncs_on_next_request(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hfeed(c, c2s(5555, "d=1&b=2\r\nGET /x?q=1 HTTP/1.1\r\nHost: h\r\n\r\n"));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.target[0], "/x?q=1");
    ks_http_capture_free(c);
}

static void request_carries_time_and_packet_of_first_byte(void **state)
{
    (void)state;
    struct got g;
    struct ks_http_capture *c = hcap(&g);
    hshake(c);
    struct ks_pkt a = c2s(1001, "GET /t HTTP/1.1\r\n");
    hfeed(c, a);
    hfeed(c, c2s(1018, "Host: h\r\n\r\n"));
    assert_int_equal(g.n, 1);
    assert_int_equal(g.time[0], a.ts_us);
    assert_int_equal(g.packet[0], a.number);
    ks_http_capture_free(c);
}

static void decoder_fills_sequence_and_acknowledgment_numbers(void **state)
{
    (void)state;
    /* raw IPv4 + TCP (link type 101): seq 0x01020304, ack 0xa0b0c0d0, PSH|ACK, 2 bytes */
    static const uint8_t raw[] = {0x45, 0,    0,    42, 0, 1,  0,    0,    64,   6,    0,
                                  0,    10,   0,    0,  1, 10, 0,    0,    2,    0x9c, 0x40,
                                  0,    80,   1,    2,  3, 4,  0xa0, 0xb0, 0xc0, 0xd0, 0x50,
                                  0x18, 0xff, 0xff, 0,  0, 0,  0,    'h',  'i'};
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    assert_int_equal(ks_pkt_decode(KS_LINK_RAW, raw, sizeof raw, sizeof raw, &p), KS_PKT_OK);
    assert_int_equal(p.tcp_seq, 0x01020304u);
    assert_int_equal(p.tcp_ack, 0xa0b0c0d0u);
    assert_int_equal(p.payload_len, 2);
}

static void long_body_is_cut_and_flagged_and_next_request_found(void **state)
{
    (void)state;
    struct got g;
    memset(&g, 0, sizeof g);
    struct ks_http_capture_config cfg;
    ks_http_capture_config_default(&cfg);
    cfg.memory = 16u << 20;
    cfg.max_body = 8;
    cfg.seed = 1;
    cfg.on_request = on_req;
    cfg.user = &g;
    struct ks_http_capture *c = NULL;
    assert_int_equal(ks_http_capture_new(&cfg, &c), KS_OK);
    hshake(c);
    hfeed(c, c2s(1001, "POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n0123456789abcdefghij"
                       "GET /n HTTP/1.1\r\n\r\n"));
    assert_int_equal(g.n, 2);
    assert_string_equal(g.body[0], "01234567");
    assert_true(g.anomalies[0] & KS_HTTP_A_BODY_CUT);
    assert_string_equal(g.target[1], "/n");
    ks_http_capture_free(c);
}

static void header_beyond_limit_is_dropped_and_counted(void **state)
{
    (void)state;
    struct got g;
    memset(&g, 0, sizeof g);
    struct ks_http_capture_config cfg;
    ks_http_capture_config_default(&cfg);
    cfg.memory = 16u << 20;
    cfg.max_header = 64;
    cfg.seed = 1;
    cfg.on_request = on_req;
    cfg.user = &g;
    struct ks_http_capture *c = NULL;
    assert_int_equal(ks_http_capture_new(&cfg, &c), KS_OK);
    hshake(c);
    hfeed(c, c2s(1001, "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                       "HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\n\r\n"));
    struct ks_http_capture_stats st;
    ks_http_capture_stats(c, &st);
    assert_int_equal(st.header_too_long, 1);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.target[0], "/ok");
    ks_http_capture_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_segments_are_delivered_both_ways),
        cmocka_unit_test(out_of_order_segments_are_reordered),
        cmocka_unit_test(retransmission_is_dropped_and_counted),
        cmocka_unit_test(overlap_with_other_bytes_keeps_first_and_counts_conflict),
        cmocka_unit_test(sequence_numbers_wrap_around),
        cmocka_unit_test(connection_seen_without_handshake_is_picked_up),
        cmocka_unit_test(fin_both_ways_closes_and_rst_closes),
        cmocka_unit_test(hole_at_close_is_a_gap_and_later_bytes_delivered),
        cmocka_unit_test(full_table_evicts_least_recent_connection),
        cmocka_unit_test(budget_holds_under_flood_of_half_open_streams),
        cmocka_unit_test(full_pool_evicts_oldest_holder_behind_many_empty_connections),
        cmocka_unit_test(too_much_out_of_order_data_gives_up_the_hole),
        cmocka_unit_test(pipelined_requests_are_split),
        cmocka_unit_test(request_split_over_segments_out_of_order),
        cmocka_unit_test(content_length_body_is_kept),
        cmocka_unit_test(chunked_body_is_decoded),
        cmocka_unit_test(trailer_split_across_segments_ends_the_request),
        cmocka_unit_test(truncated_chunked_body_is_counted),
        cmocka_unit_test(content_length_and_transfer_encoding_flagged),
        cmocka_unit_test(differing_content_lengths_flagged),
        cmocka_unit_test(folded_header_flagged_and_joined),
        cmocka_unit_test(bad_chunk_size_flagged),
        cmocka_unit_test(transfer_encoding_not_chunked_and_space_before_colon_flagged),
        cmocka_unit_test(connection_that_is_not_http_is_ignored),
        cmocka_unit_test(midstream_pickup_resyncs_on_next_request),
        cmocka_unit_test(request_carries_time_and_packet_of_first_byte),
        cmocka_unit_test(decoder_fills_sequence_and_acknowledgment_numbers),
        cmocka_unit_test(long_body_is_cut_and_flagged_and_next_request_found),
        cmocka_unit_test(header_beyond_limit_is_dropped_and_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
