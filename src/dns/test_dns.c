/* Unit tests of the DNS module: the parser's edge cases (compression pointers, loops, long
 * names, truncation, EDNS, TCP framing), the randomness statistics on synthetic sequences, and
 * the analyzer's audit and poisoning detection on synthetic packets and the testdata captures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_capture.h"
#include "kansoku/ks_dns.h"

/* --- building messages --------------------------------------------------------------------- */

struct w {
    uint8_t b[2048];
    size_t n;
};

static void w8(struct w *w, unsigned v)
{
    w->b[w->n++] = (uint8_t)v;
}

static void w16(struct w *w, unsigned v)
{
    w8(w, v >> 8 & 0xffu);
    w8(w, v & 0xffu);
}

static void w32(struct w *w, uint32_t v)
{
    w16(w, v >> 16);
    w16(w, v & 0xffffu);
}

/* "a.b.c" as labels with the final zero. */
static void wname(struct w *w, const char *s)
{
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        w8(w, (unsigned)l);
        memcpy(w->b + w->n, s, l);
        w->n += l;
        s += l;
        if (*s == '.')
            s++;
    }
    w8(w, 0);
}

static void whdr(struct w *w, unsigned id, unsigned flags, unsigned qd, unsigned an, unsigned ns,
                 unsigned ar)
{
    w->n = 0;
    w16(w, id);
    w16(w, flags);
    w16(w, qd);
    w16(w, an);
    w16(w, ns);
    w16(w, ar);
}

static void wq(struct w *w, const char *name, unsigned type)
{
    wname(w, name);
    w16(w, type);
    w16(w, 1);
}

/* A query for name, and a response to it carrying an A record for it. */
static void make_query(struct w *w, unsigned id, unsigned flags, const char *name)
{
    whdr(w, id, flags, 1, 0, 0, 0);
    wq(w, name, KS_DNS_TYPE_A);
}

/* A Kaminsky-style forged response: answer name A addr (name compressed to the question),
 * authority zone NS ns, additional ns A addr. */
static void make_forged(struct w *w, unsigned id, const char *name, const char *zone,
                        const char *ns, uint32_t addr)
{
    whdr(w, id, KS_DNS_QR | KS_DNS_AA, 1, 1, 1, 1);
    wq(w, name, KS_DNS_TYPE_A);
    w16(w, 0xc00c);
    w16(w, KS_DNS_TYPE_A);
    w16(w, 1);
    w32(w, 86400);
    w16(w, 4);
    w32(w, addr);
    wname(w, zone);
    w16(w, KS_DNS_TYPE_NS);
    w16(w, 1);
    w32(w, 86400);
    size_t at = w->n;
    w16(w, 0);
    size_t ns_at = w->n;
    wname(w, ns);
    size_t rdlen = w->n - ns_at;
    w->b[at] = (uint8_t)(rdlen >> 8);
    w->b[at + 1] = (uint8_t)rdlen;
    w16(w, 0xc000u | (unsigned)ns_at);
    w16(w, KS_DNS_TYPE_A);
    w16(w, 1);
    w32(w, 86400);
    w16(w, 4);
    w32(w, addr);
}

/* --- parser -------------------------------------------------------------------------------- */

static struct ks_dns_msg g_msg;

static void query_header_and_question(void **state)
{
    (void)state;
    struct w w;
    make_query(&w, 0xbeef, KS_DNS_RD, "www.Example.COM");
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_OK);
    assert_int_equal(g_msg.id, 0xbeef);
    assert_true(g_msg.flags & KS_DNS_RD);
    assert_false(g_msg.flags & KS_DNS_QR);
    assert_true(g_msg.has_question);
    assert_int_equal(g_msg.qtype, KS_DNS_TYPE_A);
    char buf[KS_DNS_NAME_STRLEN];
    ks_dns_name_format(&g_msg.qname, buf, sizeof buf);
    assert_string_equal(buf, "www.Example.COM");
}

static void compressed_names_in_every_section(void **state)
{
    (void)state;
    struct w w;
    make_forged(&w, 7, "x1.victim.test", "victim.test", "ns.evil.test", 0x06060606u);
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_OK);
    assert_int_equal(g_msg.nrr, 3);
    char buf[KS_DNS_NAME_STRLEN];
    ks_dns_name_format(&g_msg.rr[0].name, buf, sizeof buf);
    assert_string_equal(buf, "x1.victim.test");
    assert_int_equal(g_msg.rr[1].section, KS_DNS_AUTHORITY);
    ks_dns_name_format(&g_msg.rr[1].target, buf, sizeof buf);
    assert_string_equal(buf, "ns.evil.test");
    ks_dns_name_format(&g_msg.rr[2].name, buf, sizeof buf);
    assert_string_equal(buf, "ns.evil.test");
    assert_int_equal(g_msg.rr[2].section, KS_DNS_ADDITIONAL);
}

static void pointer_to_itself_is_refused(void **state)
{
    (void)state;
    struct w w;
    whdr(&w, 1, 0, 1, 0, 0, 0);
    w16(&w, 0xc00c); /* the question name at offset 12 points at offset 12 */
    w16(&w, 1);
    w16(&w, 1);
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_EFORMAT);
}

static void pointer_loop_between_two_names_is_refused(void **state)
{
    (void)state;
    struct w w;
    /* question "a" + pointer to 16 (the next name), which points back to 12 */
    whdr(&w, 1, KS_DNS_QR, 1, 1, 0, 0);
    w8(&w, 1);
    w8(&w, 'a');
    w16(&w, 0xc000u | 16u); /* offset 14: forward, to 16 */
    w16(&w, 0xc00c);        /* offset 16: back to 12 */
    w16(&w, 1);
    w16(&w, 1);
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_EFORMAT);
}

static void pointer_past_the_end_is_refused(void **state)
{
    (void)state;
    struct w w;
    whdr(&w, 1, KS_DNS_QR, 1, 1, 0, 0);
    wq(&w, "a.b", 1);
    w16(&w, 0xc000u | 0x3fffu);
    w16(&w, 1);
    w16(&w, 1);
    w32(&w, 0);
    w16(&w, 0);
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_EFORMAT);
}

static void name_longer_than_255_is_refused(void **state)
{
    (void)state;
    struct w w;
    whdr(&w, 1, 0, 1, 0, 0, 0);
    for (int i = 0; i < 5; i++) { /* 5 x 64 bytes > 255 */
        w8(&w, 63);
        memset(w.b + w.n, 'x', 63);
        w.n += 63;
    }
    w8(&w, 0);
    w16(&w, 1);
    w16(&w, 1);
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_EFORMAT);
}

static void extended_label_type_is_refused(void **state)
{
    (void)state;
    struct w w;
    whdr(&w, 1, 0, 1, 0, 0, 0);
    w8(&w, 0x41);
    w8(&w, 0);
    w16(&w, 1);
    w16(&w, 1);
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_EFORMAT);
}

static void truncated_messages_are_etrunc(void **state)
{
    (void)state;
    struct w w;
    make_forged(&w, 7, "x1.victim.test", "victim.test", "ns.evil.test", 0x06060606u);
    assert_int_equal(ks_dns_parse(w.b, 11, KS_DNS_PARSE_ALL, &g_msg), KS_ETRUNC);
    for (size_t n = 12; n < w.n; n++)
        assert_int_not_equal(ks_dns_parse(w.b, n, KS_DNS_PARSE_ALL, &g_msg), KS_OK);
    /* the counts promise more records than there are */
    w.b[7] = 9;
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_ETRUNC);
}

static void edns_opt_record_is_decoded(void **state)
{
    (void)state;
    struct w w;
    whdr(&w, 9, KS_DNS_QR | 0x3u, 1, 0, 0, 1);
    wq(&w, "example.org", KS_DNS_TYPE_A);
    w8(&w, 0); /* root owner */
    w16(&w, KS_DNS_TYPE_OPT);
    w16(&w, 1232);
    w32(&w, 0x01008000u); /* extended rcode 1, version 0, DO */
    w16(&w, 0);
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_OK);
    assert_true(g_msg.edns);
    assert_true(g_msg.edns_do);
    assert_int_equal(g_msg.edns_udp_size, 1232);
    assert_int_equal(g_msg.rcode, 0x13);
}

static void a_record_with_wrong_length_is_refused(void **state)
{
    (void)state;
    struct w w;
    whdr(&w, 1, KS_DNS_QR, 1, 1, 0, 0);
    wq(&w, "a.b", 1);
    w16(&w, 0xc00c);
    w16(&w, KS_DNS_TYPE_A);
    w16(&w, 1);
    w32(&w, 0);
    w16(&w, 3);
    w8(&w, 1);
    w8(&w, 2);
    w8(&w, 3);
    assert_int_equal(ks_dns_parse(w.b, w.n, KS_DNS_PARSE_ALL, &g_msg), KS_EFORMAT);
}

static unsigned g_split_n;
static void count_split(void *user, const uint8_t *msg, size_t len)
{
    (void)user;
    (void)msg;
    g_split_n++;
    assert_int_equal(ks_dns_parse(msg, len, KS_DNS_PARSE_ALL, &g_msg), KS_OK);
}

static void tcp_segment_with_two_messages_and_a_partial_one(void **state)
{
    (void)state;
    struct w m1, m2;
    make_query(&m1, 1, 0, "a.example");
    make_query(&m2, 2, 0, "b.example");
    uint8_t seg[512];
    size_t n = 0;
    seg[n++] = (uint8_t)(m1.n >> 8);
    seg[n++] = (uint8_t)m1.n;
    memcpy(seg + n, m1.b, m1.n);
    n += m1.n;
    seg[n++] = (uint8_t)(m2.n >> 8);
    seg[n++] = (uint8_t)m2.n;
    memcpy(seg + n, m2.b, m2.n);
    n += m2.n;
    seg[n++] = 0;
    seg[n++] = 200; /* a third message, cut */
    seg[n++] = 0xab;
    bool partial = false;
    g_split_n = 0;
    assert_int_equal(ks_dns_tcp_split(seg, n, count_split, NULL, &partial), 2);
    assert_int_equal(g_split_n, 2);
    assert_true(partial);
}

static void names_are_formatted_with_escapes(void **state)
{
    (void)state;
    struct ks_dns_name n = {.len = 9, .wire = {3, 'a', '.', 0x01, 3, 'b', '\\', 'c', 0}};
    char buf[KS_DNS_NAME_STRLEN];
    ks_dns_name_format(&n, buf, sizeof buf);
    assert_string_equal(buf, "a\\.\\001.b\\\\c");
    struct ks_dns_name root = {.len = 1, .wire = {0}};
    ks_dns_name_format(&root, buf, sizeof buf);
    assert_string_equal(buf, ".");
    char small[4];
    ks_dns_name_format(&n, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
}

/* --- statistics ---------------------------------------------------------------------------- */

static void sequential_ports_grade_poor(void **state)
{
    (void)state;
    struct ks_dns_rand_acc a = {0};
    for (unsigned i = 0; i < 200; i++)
        ks_dns_rand_add(&a, (uint16_t)(32768 + i));
    struct ks_dns_rand r;
    ks_dns_rand_finish(&a, 200, 10, &r);
    assert_int_equal(r.grade, KS_DNS_GRADE_POOR);
    assert_true(r.sd > 57 && r.sd < 58); /* 200 consecutive values: sqrt((200^2-1)/12) */
    assert_true(r.bits < 8);
    assert_true(r.biased_bits >= 8); /* the high bits never change */
}

static void uniform_random_ports_grade_great(void **state)
{
    (void)state;
    struct ks_dns_rand_acc a = {0};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned i = 0; i < 5000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ks_dns_rand_add(&a, (uint16_t)(1024 + x % 64512));
    }
    struct ks_dns_rand r;
    ks_dns_rand_finish(&a, 5000, 10, &r);
    assert_int_equal(r.grade, KS_DNS_GRADE_GREAT);
    assert_true(r.bits > 15.7 && r.bits < 16.1);
    assert_true(r.max_bit_bias < 0.05);
}

static void small_spread_grades_good(void **state)
{
    (void)state;
    struct ks_dns_rand_acc a = {0};
    for (unsigned i = 0; i < 2048; i++) /* uniform over 2048 values: sd ~ 591 */
        ks_dns_rand_add(&a, (uint16_t)(10000 + (i * 1237u) % 2048u));
    struct ks_dns_rand r;
    ks_dns_rand_finish(&a, 2048, 10, &r);
    assert_int_equal(r.grade, KS_DNS_GRADE_GOOD);
    assert_int_equal(ks_dns_grade_of_sd(3980), KS_DNS_GRADE_GREAT);
    assert_int_equal(ks_dns_grade_of_sd(3979.9), KS_DNS_GRADE_GOOD);
    assert_int_equal(ks_dns_grade_of_sd(296), KS_DNS_GRADE_GOOD);
    assert_int_equal(ks_dns_grade_of_sd(295.9), KS_DNS_GRADE_POOR);
}

static void too_few_values_are_not_graded(void **state)
{
    (void)state;
    struct ks_dns_rand_acc a = {0};
    for (unsigned i = 0; i < 5; i++)
        ks_dns_rand_add(&a, (uint16_t)(i * 10000));
    struct ks_dns_rand r;
    ks_dns_rand_finish(&a, 5, 10, &r);
    assert_int_equal(r.grade, KS_DNS_GRADE_NONE);
}

/* --- the analyzer -------------------------------------------------------------------------- */

#define T0 1700000000000000LL

struct col {
    struct ks_dns_alert alerts[8];
    unsigned nal;
    struct ks_dns_audit aud[16];
    unsigned naud;
};

static void col_alert(void *user, const struct ks_dns_alert *a)
{
    struct col *c = user;
    if (c->nal < 8)
        c->alerts[c->nal] = *a;
    c->nal++;
}

static void col_audit(void *user, const struct ks_dns_audit *a)
{
    struct col *c = user;
    if (c->naud < 16)
        c->aud[c->naud] = *a;
    c->naud++;
}

static struct ks_dns *new_dns(struct col *c)
{
    struct ks_dns_config cfg;
    ks_dns_config_default(&cfg);
    cfg.on_alert = col_alert;
    cfg.user = c;
    struct ks_dns *d = NULL;
    assert_int_equal(ks_dns_new(&cfg, &d), KS_OK);
    return d;
}

static void feed(struct ks_dns *d, int64_t ts, uint32_t src, uint16_t sport, uint32_t dst,
                 uint16_t dport, const struct w *w)
{
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    p.ts_us = ts;
    ks_addr_from_v4(&p.src, src);
    ks_addr_from_v4(&p.dst, dst);
    p.ipver = 4;
    p.proto = 17;
    p.flags = KS_PKT_L4;
    p.sport = sport;
    p.dport = dport;
    p.payload = w->b;
    p.payload_len = (uint32_t)w->n;
    assert_int_equal(ks_dns_feed(d, &p), KS_OK);
}

#define RESOLVER 0x0a000035u /* 10.0.0.53 */
#define AUTH 0xc0000201u     /* 192.0.2.1 */
#define STUB 0x0a000064u     /* 10.0.0.100 */

static uint64_t g_x = 88172645463325252ull;
static uint16_t rnd16(void)
{
    g_x ^= g_x << 13;
    g_x ^= g_x >> 7;
    g_x ^= g_x << 17;
    return (uint16_t)g_x;
}

static void resolver_is_graded_and_stub_is_not(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q, r;
    char name[64];
    for (int i = 0; i < 300; i++) {
        /* the resolver: RD=0, random port and TXID, 0x20 mixed case */
        uint16_t port = (uint16_t)(1024 + rnd16() % 64000), id = rnd16();
        snprintf(name, sizeof name, "%s%d.ExAmPlE.cOm", i % 2 ? "Www" : "wWW", i);
        make_query(&q, id, 0, name);
        feed(d, T0 + i * 1000, RESOLVER, port, AUTH, 53, &q);
        make_query(&r, id, KS_DNS_QR | KS_DNS_AA, name);
        feed(d, T0 + i * 1000 + 500, AUTH, 53, RESOLVER, port, &r);
        /* the stub: RD=1, one port */
        id = rnd16();
        make_query(&q, id, KS_DNS_RD, "www.example.com");
        feed(d, T0 + i * 1000 + 100, STUB, 40000, RESOLVER, 53, &q);
    }
    ks_dns_flush(d);
    assert_int_equal(ks_dns_audits(d, col_audit, &c), 2);
    const struct ks_dns_audit *res = NULL, *stub = NULL;
    for (unsigned i = 0; i < c.naud; i++) {
        if (ks_addr_v4(&c.aud[i].addr) == RESOLVER)
            res = &c.aud[i];
        else
            stub = &c.aud[i];
    }
    assert_non_null(res);
    assert_non_null(stub);
    assert_int_equal(res->role, KS_DNS_ROLE_RESOLVER);
    assert_int_equal(res->grade, KS_DNS_GRADE_GREAT);
    assert_int_equal(res->ports.grade, KS_DNS_GRADE_GREAT);
    assert_true(res->ports.distinct > 290);
    assert_int_equal(res->case0x20, KS_DNS_CASE_YES);
    assert_int_equal(stub->role, KS_DNS_ROLE_STUB);
    assert_int_equal(stub->grade, KS_DNS_GRADE_NONE);
    assert_int_equal(stub->ports.distinct, 1);
    assert_string_equal(stub->note, "stub client, fixed port");
    assert_int_equal(stub->case0x20, KS_DNS_CASE_NONE);
    assert_int_equal(c.nal, 0);
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_int_equal(st.matched, 300);
    assert_int_equal(st.unmatched, 0);
    ks_dns_free(d);
}

static void sequential_resolver_grades_poor(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q;
    for (int i = 0; i < 100; i++) {
        make_query(&q, (unsigned)(1000 + i), 0, "a.example.net");
        feed(d, T0 + i * 1000, RESOLVER, (uint16_t)(5000 + i), AUTH, 53, &q);
    }
    ks_dns_audits(d, col_audit, &c);
    assert_int_equal(c.naud, 1);
    assert_int_equal(c.aud[0].role, KS_DNS_ROLE_RESOLVER);
    assert_int_equal(c.aud[0].ports.grade, KS_DNS_GRADE_POOR);
    assert_int_equal(c.aud[0].txids.grade, KS_DNS_GRADE_POOR);
    assert_int_equal(c.aud[0].grade, KS_DNS_GRADE_POOR);
    assert_int_equal(c.aud[0].ports.distinct, 100);
    ks_dns_free(d);
}

/* The resolver asks random names of victim.test; a flood of forged responses with guessed
 * TXIDs arrives for each. */
static void kaminsky_burst_is_one_alert_with_the_forged_delegation(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q, f;
    char name[64];
    int64_t t = T0;
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "rnd%04d.victim.test", i * 7919 % 10000);
        uint16_t port = (uint16_t)(20000 + i * 37), id = rnd16();
        make_query(&q, id, 0, name);
        feed(d, t, RESOLVER, port, AUTH, 53, &q);
        for (int k = 0; k < 50; k++) {
            make_forged(&f, (unsigned)(id + 1 + k), name, "victim.test", "ns.evil.test",
                        0x06060606u);
            feed(d, t + 10 + k, AUTH, 53, RESOLVER, port, &f);
        }
        t += 100000; /* 10 names per second */
    }
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_int_equal(st.unmatched, 1000);
    assert_int_equal(c.nal, 0); /* still open */
    ks_dns_flush(d);
    assert_int_equal(c.nal, 1);
    const struct ks_dns_alert *a = &c.alerts[0];
    assert_string_equal(a->kind, "kaminsky");
    assert_string_equal(a->zone, "victim.test");
    assert_int_equal(a->responses, 1000);
    assert_true(a->names >= 18 && a->names <= 22);
    assert_true(a->open);
    assert_false(a->possible_success);
    assert_int_equal(a->n_sources, 1);
    assert_int_equal(ks_addr_v4(&a->sources[0].addr), AUTH);
    assert_int_equal(ks_addr_v4(&a->resolvers[0].addr), RESOLVER);
    bool ns = false, glue = false;
    for (uint32_t i = 0; i < a->n_forged; i++) {
        if (a->forged[i].type == KS_DNS_TYPE_NS && !strcmp(a->forged[i].name, "victim.test") &&
            !strcmp(a->forged[i].value, "ns.evil.test") && a->forged[i].count == 1000)
            ns = true;
        if (a->forged[i].type == KS_DNS_TYPE_A && !strcmp(a->forged[i].value, "6.6.6.6"))
            glue = true;
    }
    assert_true(ns);
    assert_true(glue);
    ks_dns_free(d);
}

static void forged_answer_matching_a_query_is_a_possible_success(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q, f;
    char name[64];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof name, "r%d.victim.test", i);
        uint16_t port = (uint16_t)(30000 + i), id = (uint16_t)(100 + i);
        make_query(&q, id, 0, name);
        feed(d, T0 + i * 100000, RESOLVER, port, AUTH, 53, &q);
        for (int k = 1; k <= 20; k++) {
            /* the last guess of the last name hits the right TXID */
            unsigned guess = i == 9 && k == 20 ? id : id + 1000u + (unsigned)k;
            make_forged(&f, guess, name, "victim.test", "ns.evil.test", 0x06060606u);
            feed(d, T0 + i * 100000 + k, AUTH, 53, RESOLVER, port, &f);
        }
    }
    ks_dns_flush(d);
    assert_int_equal(c.nal, 1);
    assert_true(c.alerts[0].possible_success);
    assert_int_equal(c.alerts[0].matched, 1);
    assert_int_equal(c.alerts[0].responses, 199);
    ks_dns_free(d);
}

static void responses_to_hosts_never_asking_raise_nothing(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w f;
    for (int k = 0; k < 500; k++) {
        make_forged(&f, (unsigned)k, "x.victim.test", "victim.test", "ns.evil.test", 0x06060606u);
        feed(d, T0 + k * 1000, AUTH, 53, RESOLVER, 4444, &f);
    }
    ks_dns_flush(d);
    assert_int_equal(c.nal, 0);
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_int_equal(st.unknown_client, 500);
    ks_dns_free(d);
}

static void outstanding_query_table_is_bounded(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns_config cfg;
    ks_dns_config_default(&cfg);
    cfg.max_pending = 100;
    cfg.on_alert = col_alert;
    cfg.user = &c;
    struct ks_dns *d = NULL;
    assert_int_equal(ks_dns_new(&cfg, &d), KS_OK);
    struct w q;
    for (int i = 0; i < 1000; i++) {
        make_query(&q, (unsigned)i, 0, "a.example");
        feed(d, T0 + i, RESOLVER, (uint16_t)(1024 + i), AUTH, 53, &q);
    }
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_true(st.pending <= 100);
    assert_int_equal(st.pending + st.pending_evicted, 1000);
    /* after the timeout, a new query sweeps the old ones as expired */
    make_query(&q, 1, 0, "a.example");
    feed(d, T0 + 30 * 1000000LL, RESOLVER, 999, AUTH, 53, &q);
    feed(d, T0 + 41 * 1000000LL, RESOLVER, 998, AUTH, 53, &q);
    ks_dns_stats(d, &st);
    assert_true(st.pending_expired >= 100);
    ks_dns_free(d);
}

static void malformed_messages_are_counted(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q;
    whdr(&q, 1, 0, 1, 0, 0, 0);
    w16(&q, 0xc00c);
    feed(d, T0, STUB, 1234, RESOLVER, 53, &q);
    q.n = 5;
    feed(d, T0, STUB, 1234, RESOLVER, 53, &q);
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_int_equal(st.malformed, 2);
    assert_int_equal(st.queries, 0);
    ks_dns_free(d);
}

static void tcp_messages_are_matched_like_udp(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q, r;
    make_query(&q, 77, 0, "tcp.example.org");
    make_query(&r, 77, KS_DNS_QR, "tcp.example.org");
    uint8_t seg[600];
    size_t n = 0;
    seg[n++] = (uint8_t)(q.n >> 8);
    seg[n++] = (uint8_t)q.n;
    memcpy(seg + n, q.b, q.n);
    n += q.n;
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    p.ts_us = T0;
    ks_addr_from_v4(&p.src, RESOLVER);
    ks_addr_from_v4(&p.dst, AUTH);
    p.proto = 6;
    p.flags = KS_PKT_L4;
    p.sport = 45000;
    p.dport = 53;
    p.payload = seg;
    p.payload_len = (uint32_t)n;
    ks_dns_feed(d, &p);
    n = 0;
    seg[n++] = (uint8_t)(r.n >> 8);
    seg[n++] = (uint8_t)r.n;
    memcpy(seg + n, r.b, r.n);
    n += r.n;
    p.src = p.dst;
    ks_addr_from_v4(&p.dst, RESOLVER);
    p.sport = 53;
    p.dport = 45000;
    p.payload_len = (uint32_t)n;
    ks_dns_feed(d, &p);
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_int_equal(st.tcp_messages, 2);
    assert_int_equal(st.matched, 1);
    assert_int_equal(st.unmatched, 0);
    ks_dns_free(d);
}

static void response_with_another_name_is_unmatched(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q, r;
    make_query(&q, 5, 0, "asked.example.org");
    feed(d, T0, RESOLVER, 33333, AUTH, 53, &q);
    make_query(&r, 5, KS_DNS_QR, "other.example.org");
    feed(d, T0 + 10, AUTH, 53, RESOLVER, 33333, &r);
    make_query(&r, 5, KS_DNS_QR, "ASKED.example.ORG"); /* 0x20: case does not matter */
    feed(d, T0 + 20, AUTH, 53, RESOLVER, 33333, &r);
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_int_equal(st.unmatched, 1);
    assert_int_equal(st.name_mismatch, 1);
    assert_int_equal(st.matched, 1);
    ks_dns_free(d);
}

/* Names shorter than the 8 bytes the outstanding-query entry keeps of each end. */
static void short_names_match_in_any_case_and_differ_by_name(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q, r;
    make_query(&q, 7, 0, "a.b");
    feed(d, T0, RESOLVER, 40001, AUTH, 53, &q);
    make_query(&r, 7, KS_DNS_QR, "a.c");
    feed(d, T0 + 10, AUTH, 53, RESOLVER, 40001, &r);
    make_query(&r, 7, KS_DNS_QR, "A.B");
    feed(d, T0 + 20, AUTH, 53, RESOLVER, 40001, &r);
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_int_equal(st.name_mismatch, 1);
    assert_int_equal(st.matched, 1);
    assert_int_equal(st.pending, 0);
    ks_dns_free(d);
}

/* 0x20 counts: every letter of every label, whatever the name's length. */
static void letters_of_long_names_are_counted(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns *d = new_dns(&c);
    struct w q;
    for (int i = 0; i < 30; i++) {
        make_query(&q, (unsigned)i, 0, "AbCdEfGhIj-1.example.Z9");
        feed(d, T0 + i * 1000, RESOLVER, (uint16_t)(5000 + i), AUTH, 53, &q);
    }
    ks_dns_audits(d, col_audit, &c);
    assert_int_equal(c.naud, 1);
    assert_int_equal(c.aud[0].letters, 30 * 18);
    assert_int_equal(c.aud[0].upper, 30 * 6);
    assert_int_equal(c.aud[0].mixed_names, 30);
    ks_dns_free(d);
}

static void flood_of_new_queriers_does_not_hide_an_attack(void **state)
{
    (void)state;
    struct col c = {0};
    struct ks_dns_config cfg;
    ks_dns_config_default(&cfg);
    cfg.audit = false;
    cfg.max_queriers = 4; /* and 1000 spoofed queriers */
    cfg.on_alert = col_alert;
    cfg.user = &c;
    struct ks_dns *d = NULL;
    assert_int_equal(ks_dns_new(&cfg, &d), KS_OK);
    struct w q, f;
    char name[64];
    for (int i = 0; i < 20; i++) {
        snprintf(name, sizeof name, "n%d.victim.test", i);
        make_query(&q, (unsigned)i, 0, name);
        feed(d, T0 + i * 10000, RESOLVER, (uint16_t)(20000 + i), AUTH, 53, &q);
        for (uint32_t k = 0; k < 50; k++) /* spoofed stubs evict the resolver from the table */
            feed(d, T0 + i * 10000 + 1, 0x0b000000u + (uint32_t)i * 50 + k, 1000, RESOLVER, 53, &q);
        for (int g = 0; g < 10; g++) {
            make_forged(&f, (unsigned)(1000 + g), name, "victim.test", "ns.evil.test", 0x06060606u);
            feed(d, T0 + i * 10000 + 2 + g, AUTH, 53, RESOLVER, (uint16_t)(20000 + i), &f);
        }
    }
    ks_dns_flush(d);
    struct ks_dns_stats st;
    ks_dns_stats(d, &st);
    assert_int_equal(st.unknown_client, 0);
    assert_int_equal(c.nal, 1);
    assert_string_equal(c.alerts[0].zone, "victim.test");
    ks_dns_free(d);
}

/* --- the testdata captures (tunnels: no alert, stubs not graded) ---------------------------- */

static void tunnel_captures_raise_no_alert_and_grade_no_stub(void **state)
{
    (void)state;
    const char *td = getenv("KS_TESTDATA");
    static const char *const files[] = {"bad-dns-traffic.pcap", "dns_exfiltration.pcap",
                                        "dns-tunnel-iodine.pcap"};
    char path[4096];
    snprintf(path, sizeof path, "%s/dns/%s", td ? td : ".", files[0]);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        skip(); /* KS_TESTDATA/dns not present */
    fclose(probe);
    for (unsigned i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/dns/%s", td, files[i]);
        struct col c = {0};
        struct ks_dns *d = new_dns(&c);
        struct ks_capture_config cc;
        ks_capture_config_default(&cc);
        struct ks_capture *cap = NULL;
        const char *paths[1] = {path};
        assert_int_equal(ks_capture_open_files(paths, 1, &cc, &cap), KS_OK);
        struct ks_pkt p;
        while (ks_capture_next(cap, &p) == 1)
            ks_dns_feed(d, &p);
        ks_dns_flush(d);
        assert_int_equal(c.nal, 0);
        struct ks_dns_stats st;
        ks_dns_stats(d, &st);
        assert_int_equal(st.unmatched, 0);
        assert_true(st.matched > 100);
        ks_dns_audits(d, col_audit, &c);
        assert_true(c.naud >= 1);
        for (unsigned k = 0; k < c.naud && k < 16; k++) {
            assert_int_equal(c.aud[k].role, KS_DNS_ROLE_STUB);
            assert_int_equal(c.aud[k].grade, KS_DNS_GRADE_NONE);
        }
        ks_capture_free(cap);
        ks_dns_free(d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(query_header_and_question),
        cmocka_unit_test(compressed_names_in_every_section),
        cmocka_unit_test(pointer_to_itself_is_refused),
        cmocka_unit_test(pointer_loop_between_two_names_is_refused),
        cmocka_unit_test(pointer_past_the_end_is_refused),
        cmocka_unit_test(name_longer_than_255_is_refused),
        cmocka_unit_test(extended_label_type_is_refused),
        cmocka_unit_test(truncated_messages_are_etrunc),
        cmocka_unit_test(edns_opt_record_is_decoded),
        cmocka_unit_test(a_record_with_wrong_length_is_refused),
        cmocka_unit_test(tcp_segment_with_two_messages_and_a_partial_one),
        cmocka_unit_test(names_are_formatted_with_escapes),
        cmocka_unit_test(sequential_ports_grade_poor),
        cmocka_unit_test(uniform_random_ports_grade_great),
        cmocka_unit_test(small_spread_grades_good),
        cmocka_unit_test(too_few_values_are_not_graded),
        cmocka_unit_test(resolver_is_graded_and_stub_is_not),
        cmocka_unit_test(sequential_resolver_grades_poor),
        cmocka_unit_test(kaminsky_burst_is_one_alert_with_the_forged_delegation),
        cmocka_unit_test(forged_answer_matching_a_query_is_a_possible_success),
        cmocka_unit_test(responses_to_hosts_never_asking_raise_nothing),
        cmocka_unit_test(outstanding_query_table_is_bounded),
        cmocka_unit_test(malformed_messages_are_counted),
        cmocka_unit_test(tcp_messages_are_matched_like_udp),
        cmocka_unit_test(response_with_another_name_is_unmatched),
        cmocka_unit_test(short_names_match_in_any_case_and_differ_by_name),
        cmocka_unit_test(letters_of_long_names_are_counted),
        cmocka_unit_test(flood_of_new_queriers_does_not_hide_an_attack),
        cmocka_unit_test(tunnel_captures_raise_no_alert_and_grade_no_stub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
