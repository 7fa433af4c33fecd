/* A DNS-heavy capture for bench/dns/run.sh: PAIRS query/response pairs between 4 recursive
 * resolvers (10.0.0.1-4, random source ports and TXIDs, 0x20 case, RD=0) and 200 authoritative
 * servers (192.0.2.0/24), 50 000 queries a second of capture time, each answered 8 queries
 * later with one A record; in the middle, a Kaminsky-style burst of 2 000 forged responses
 * for 20 random names of victim.example. Ethernet, written with pcap_dump; deterministic.
 * usage: gen_dns FILE PAIRS */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t g_x = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
    g_x ^= g_x << 13;
    g_x ^= g_x >> 7;
    g_x ^= g_x << 17;
    return (uint32_t)(g_x >> 16);
}

struct q {
    uint32_t res, srv;
    uint16_t port, id;
    char name[64];
};

static size_t put_name(uint8_t *b, const char *s)
{
    size_t n = 0;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        b[n++] = (uint8_t)l;
        memcpy(b + n, s, l);
        n += l;
        s += l + (dot ? 1 : 0);
    }
    b[n++] = 0;
    return n;
}

static void put16(uint8_t *b, unsigned v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b + 2, v & 0xffffu);
}

/* Ethernet + IPv4 + UDP around a DNS payload of n bytes at pkt + 42. */
static size_t frame(uint8_t *pkt, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                    size_t n)
{
    memset(pkt, 0, 42);
    pkt[12] = 0x08;
    uint8_t *ip = pkt + 14;
    ip[0] = 0x45;
    put16(ip + 2, (unsigned)(20 + 8 + n));
    ip[8] = 64;
    ip[9] = 17;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    uint8_t *udp = ip + 20;
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, (unsigned)(8 + n));
    return 42 + n;
}

static size_t dns_msg(uint8_t *b, const struct q *q, int response, uint32_t forged_ns)
{
    size_t n = 0;
    put16(b, q->id);
    put16(b + 2, response ? 0x8400u : 0);
    put16(b + 4, 1);
    put16(b + 6, response ? 1 : 0);
    put16(b + 8, forged_ns ? 1 : 0);
    put16(b + 10, 0);
    n = 12;
    n += put_name(b + n, q->name);
    put16(b + n, 1);
    put16(b + n + 2, 1);
    n += 4;
    if (response) {
        put16(b + n, 0xc00c);
        put16(b + n + 2, 1);
        put16(b + n + 4, 1);
        put32(b + n + 6, 300);
        put16(b + n + 10, 4);
        put32(b + n + 12, forged_ns ? forged_ns : 0xc6336400u | (rnd() & 0xffu));
        n += 16;
    }
    if (forged_ns) {
        n += put_name(b + n, "victim.example");
        put16(b + n, 2);
        put16(b + n + 2, 1);
        put32(b + n + 4, 86400);
        size_t at = n + 8;
        n += 10;
        size_t l = put_name(b + n, "ns.evil.example");
        put16(b + at, (unsigned)l);
        n += l;
    }
    return n;
}

static void dump(pcap_dumper_t *d, const uint8_t *pkt, size_t len, int64_t t_us)
{
    struct pcap_pkthdr h;
    h.ts.tv_sec = (time_t)(t_us / 1000000);
    h.ts.tv_usec = (suseconds_t)(t_us % 1000000);
    h.caplen = h.len = (bpf_u_int32)len;
    pcap_dump((u_char *)d, &h, pkt);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_dns FILE PAIRS\n");
        return 2;
    }
    long pairs = strtol(argv[2], NULL, 10);
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = p ? pcap_dump_open(p, argv[1]) : NULL;
    if (!d) {
        fprintf(stderr, "gen_dns: %s: %s\n", argv[1], p ? pcap_geterr(p) : "pcap_open_dead");
        return 1;
    }
    enum { LAG = 8 };
    struct q ring[LAG];
    uint8_t pkt[1600];
    int64_t t = 1700000000000000LL;
    for (long i = 0; i < pairs + LAG; i++) {
        t += 20; /* 50 000 queries a second */
        if (i < pairs) {
            struct q *q = &ring[i % LAG];
            q->res = 0x0a000001u + (uint32_t)(i & 3);
            q->srv = 0xc0000200u + (uint32_t)(rnd() % 200u);
            q->port = (uint16_t)(1024 + rnd() % 64512u);
            q->id = (uint16_t)rnd();
            snprintf(q->name, sizeof q->name, "w%u.d%u.example%u.com", rnd() % 5000u, rnd() % 997u,
                     rnd() % 50u);
            for (char *c = q->name; *c; c++) /* 0x20 */
                if (*c >= 'a' && *c <= 'z' && (rnd() & 1u))
                    *c = (char)(*c - 32);
            size_t n = dns_msg(pkt + 42, q, 0, 0);
            dump(d, pkt, frame(pkt, q->res, q->srv, q->port, 53, n), t);
        }
        if (i >= LAG) {
            const struct q *q = &ring[(i - LAG) % LAG];
            size_t n = dns_msg(pkt + 42, q, 1, 0);
            dump(d, pkt, frame(pkt, q->srv, q->res, 53, q->port, n), t + 5);
        }
        if (i == pairs / 2) { /* the attack: 20 names, 100 forged responses each */
            for (int k = 0; k < 20; k++) {
                struct q a = {.res = 0x0a000001u, .srv = 0xc0000201u};
                snprintf(a.name, sizeof a.name, "x%08x.victim.example", rnd());
                a.port = (uint16_t)(1024 + rnd() % 64512u);
                a.id = (uint16_t)rnd();
                size_t n = dns_msg(pkt + 42, &a, 0, 0);
                dump(d, pkt, frame(pkt, a.res, a.srv, a.port, 53, n), t);
                for (int g = 0; g < 100; g++) {
                    struct q f = a;
                    f.id = (uint16_t)rnd();
                    f.port = (uint16_t)(1024 + rnd() % 64512u);
                    n = dns_msg(pkt + 42, &f, 1, 0x06060606u);
                    dump(d, pkt, frame(pkt, f.srv, f.res, 53, f.port, n), t + 1 + g);
                }
            }
        }
    }
    pcap_dump_close(d);
    pcap_close(p);
    return 0;
}
