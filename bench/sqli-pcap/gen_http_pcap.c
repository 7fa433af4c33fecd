/* Writes pcap files of HTTP traffic for the sqli capture tests and benchmark.
 *
 *   gen_http_pcap test OUT        a few connections, each exercising one reassembly or HTTP case
 *                                 (the CLI test tests/cli/test_sqli_pcap.sh checks them)
 *   gen_http_pcap bench OUT N     N keep-alive connections of 1-4 requests each with responses,
 *                                 3 % of the requests carrying an SQL injection
 *
 * Ethernet + IPv4 + TCP with correct checksums; classic pcap, microseconds. Deterministic. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;
static int64_t now_us = 1212278400000000LL; /* 2008-06-01T00:00:00Z */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

struct ep {
    uint32_t ip;
    uint16_t port;
};

static void packet(struct ep src, struct ep dst, uint8_t flags, uint32_t seq, uint32_t ack,
                   const void *data, size_t len)
{
    static uint8_t b[14 + 20 + 20 + 65536];
    static uint16_t ipid;
    if (len > 65000)
        len = 65000;
    memset(b, 0, 54);
    memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    uint8_t *ip = b + 14, *tcp = ip + 20;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(40 + len));
    put16(ip + 4, ipid++);
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    put32(ip + 12, src.ip);
    put32(ip + 16, dst.ip);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    put16(tcp, src.port);
    put16(tcp + 2, dst.port);
    put32(tcp + 4, seq);
    put32(tcp + 8, ack);
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    put16(tcp + 14, 65535);
    if (len)
        memcpy(tcp + 20, data, len);
    uint8_t ph[12];
    put32(ph, src.ip);
    put32(ph + 4, dst.ip);
    ph[8] = 0;
    ph[9] = 6;
    put16(ph + 10, (uint16_t)(20 + len));
    put16(tcp + 16, fold(sum16(tcp, 20 + len, sum16(ph, 12, 0))));
    uint8_t rec[16];
    uint32_t caplen = (uint32_t)(54 + len);
    uint32_t sec = (uint32_t)(now_us / 1000000), usec = (uint32_t)(now_us % 1000000);
    memcpy(rec, &sec, 4); /* host byte order, as the magic says */
    memcpy(rec + 4, &usec, 4);
    memcpy(rec + 8, &caplen, 4);
    memcpy(rec + 12, &caplen, 4);
    fwrite(rec, 1, 16, out);
    fwrite(b, 1, caplen, out);
    now_us += 137;
}

struct conn {
    struct ep c, s;
    uint32_t cseq, sseq; /* next sequence numbers */
};

static struct conn conn_open(uint32_t cip, uint16_t cport, uint32_t sip, uint32_t cisn,
                             uint32_t sisn, int handshake)
{
    struct conn k = {{cip, cport}, {sip, 80}, cisn, sisn};
    if (handshake) {
        packet(k.c, k.s, F_SYN, k.cseq++, 0, NULL, 0);
        packet(k.s, k.c, F_SYN | F_ACK, k.sseq++, k.cseq, NULL, 0);
        packet(k.c, k.s, F_ACK, k.cseq, k.sseq, NULL, 0);
    }
    return k;
}

static void c_send(struct conn *k, const char *s, size_t n)
{
    packet(k->c, k->s, F_ACK | F_PSH, k->cseq, k->sseq, s, n);
    k->cseq += (uint32_t)n;
}

static void s_send(struct conn *k, const char *s, size_t n)
{
    packet(k->s, k->c, F_ACK | F_PSH, k->sseq, k->cseq, s, n);
    k->sseq += (uint32_t)n;
}

static void conn_close(struct conn *k)
{
    packet(k->c, k->s, F_ACK | F_FIN, k->cseq++, k->sseq, NULL, 0);
    packet(k->s, k->c, F_ACK | F_FIN, k->sseq++, k->cseq, NULL, 0);
    packet(k->c, k->s, F_ACK, k->cseq, k->sseq, NULL, 0);
}

static void cs(struct conn *k, const char *s)
{
    c_send(k, s, strlen(s));
}

static const char ok200[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void gen_test(void)
{
    const uint32_t srv = 0xc0000201; /* 192.0.2.1 */
    /* 1. in order: UNION SELECT in the query string */
    struct conn k = conn_open(0xc6336401, 40001, srv, 1000, 9000, 1); /* 198.51.100.1 */
    cs(&k, "GET /item.php?id=-1+union+select+card_no,cvv+from+cards-- HTTP/1.1\r\n"
           "Host: shop.example\r\nUser-Agent: t1\r\n\r\n");
    s_send(&k, ok200, sizeof ok200 - 1);
    conn_close(&k);

    /* 2. POST form body in three segments sent out of order, one retransmitted */
    k = conn_open(0xc6336402, 40002, srv, 2000, 9000, 1);
    const char *p2 = "POST /login.php HTTP/1.1\r\nHost: shop.example\r\nContent-Type: "
                     "application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n"
                     "user=admin&pass=x'+or+'1'='1'--+-&go=Log";
    size_t n2 = strlen(p2), a = 30, b = 90;
    uint32_t s0 = k.cseq;
    packet(k.c, k.s, F_ACK, s0 + (uint32_t)b, k.sseq, p2 + b, n2 - b);
    packet(k.c, k.s, F_ACK, s0, k.sseq, p2, a);
    packet(k.c, k.s, F_ACK, s0, k.sseq, p2, a); /* retransmission */
    packet(k.c, k.s, F_ACK, s0 + (uint32_t)a, k.sseq, p2 + a, b - a);
    k.cseq += (uint32_t)n2;
    s_send(&k, ok200, sizeof ok200 - 1);
    conn_close(&k);

    /* 3. chunked body, the attack cut by a chunk boundary */
    k = conn_open(0xc6336403, 40003, srv, 3000, 9000, 1);
    cs(&k, "POST /search HTTP/1.1\r\nHost: db.example\r\nContent-Type: "
           "application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
           "c\r\nq=1';waitfor\r\n");
    cs(&k, "11\r\n+delay+'0:0:30'--\r\n0\r\n\r\n");
    s_send(&k, ok200, sizeof ok200 - 1);
    conn_close(&k);

    /* 4. two pipelined requests, the second with an attack in a cookie */
    k = conn_open(0xc6336404, 40004, srv, 4000, 9000, 1);
    cs(&k, "GET /a.css HTTP/1.1\r\nHost: www.example\r\n\r\nGET /news.php HTTP/1.1\r\n"
           "Host: www.example\r\nCookie: sid=1;update+pages+set+body=char(60,104,49)--\r\n\r\n");
    s_send(&k, ok200, sizeof ok200 - 1);
    s_send(&k, ok200, sizeof ok200 - 1);
    conn_close(&k);

    /* 5. Content-Length and Transfer-Encoding together (request smuggling) */
    k = conn_open(0xc6336405, 40005, srv, 5000, 9000, 1);
    cs(&k, "POST /x HTTP/1.1\r\nHost: smuggle.example\r\nContent-Length: 6\r\n"
           "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin.php?id=1+and+1=convert(int,"
           "(select+top+1+name+from+sysobjects)) HTTP/1.1\r\nHost: smuggle.example\r\n\r\n");
    conn_close(&k);

    /* 6. overlapping segments: the attack arrives first, a benign copy of the same bytes
     * later; the first is kept, the conflict flagged */
    k = conn_open(0xc6336406, 40006, srv, 6000, 9000, 1);
    const char *h6 = "GET /p.php?id=", *v6 = "1+union+select+password+from+users",
               *t6 = " HTTP/1.1\r\nHost: ov.example\r\n\r\n";
    size_t l6 = strlen(h6), lv = strlen(v6);
    char b6[64];
    memset(b6, 'x', lv);
    b6[0] = '1';
    s0 = k.cseq;
    packet(k.c, k.s, F_ACK, s0 + (uint32_t)l6, k.sseq, v6, lv);
    packet(k.c, k.s, F_ACK, s0 + (uint32_t)l6, k.sseq, b6, lv);
    packet(k.c, k.s, F_ACK, s0, k.sseq, h6, l6);
    packet(k.c, k.s, F_ACK, s0 + (uint32_t)(l6 + lv), k.sseq, t6, strlen(t6));
    k.cseq += (uint32_t)(l6 + lv + strlen(t6));
    conn_close(&k);

    /* 7. picked up in the middle: no handshake, the capture starts inside a body */
    k = conn_open(0xc6336407, 40007, srv, 700000, 9000, 0);
    cs(&k,
       "rest-of-a-body\r\nGET /cat.php?id=2+and+sleep(10) HTTP/1.1\r\nHost: mid.example\r\n\r\n");
    conn_close(&k);

    /* 8. sequence numbers that wrap around inside the request */
    k = conn_open(0xc6336408, 40008, srv, 0xffffffe0u, 9000, 1);
    cs(&k, "GET /wrap.php?q=1'+union+all+select+null,version()-- HTTP/1.1\r\nHost: "
           "wrap.example\r\n\r\n");
    conn_close(&k);

    /* 9. benign traffic */
    for (uint16_t i = 0; i < 5; i++) {
        k = conn_open(0x0a000001u + i, (uint16_t)(41000 + i), srv, 100u * i, 9000, 1);
        cs(&k, "GET /item.php?id=42&q=o%27reilly+guide HTTP/1.1\r\nHost: shop.example\r\n\r\n");
        s_send(&k, ok200, sizeof ok200 - 1);
        conn_close(&k);
    }

    /* 10. a chunked body cut short by a reset */
    k = conn_open(0xc633640a, 40010, srv, 10000, 9000, 1);
    cs(&k, "POST /t HTTP/1.1\r\nHost: rst.example\r\nTransfer-Encoding: chunked\r\n\r\n"
           "40\r\nid=1+or+1=1--");
    packet(k.c, k.s, F_RST, k.cseq, 0, NULL, 0);
}

/* ---- benchmark traffic ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static const char *const paths[] = {"/index.php",     "/item.php", "/search",
                                    "/news/list.php", "/cart/add", "/static/app.js",
                                    "/api/v1/items"};
static const char *const uas[] = {
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/120.0 Safari/537.36"),
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "curl/7.88.1"};
static const char *const attacks[] = {
    "-1+union+select+card_no,cvv+from+cards--", "1%27;waitfor+delay+%270:0:30%27--",
    "1;update+pages+set+body=char(60,104,49)--", "1'+or+'1'='1", "2+and+sleep(5)"};

static void gen_bench(unsigned long n)
{
    char req[2048], body[256];
    static char resp[1200];
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.1 200 OK\r\nServer: Apache\r\nContent-Type: text/html\r\n"
                      "Content-Length: 900\r\n\r\n");
    memset(resp + rl, 'x', 900);
    size_t resp_len = (size_t)rl + 900;
    for (unsigned long i = 0; i < n; i++) {
        struct conn k =
            conn_open(0x0a000000u + (uint32_t)(i % 60000) + 1, (uint16_t)(1024 + i % 64000),
                      0xc0000201u + rnd(8), (uint32_t)(i * 2654435761u), (uint32_t)(i * 40503u), 1);
        unsigned nreq = 1 + rnd(4);
        for (unsigned r = 0; r < nreq; r++) {
            bool atk = rnd(100) < 3;
            int post = rnd(5) == 0;
            char q[256];
            if (atk)
                snprintf(q, sizeof q, "id=%s", attacks[rnd(5)]);
            else
                snprintf(q, sizeof q, "id=%u&cat=books&page=%u&sort=price", rnd(100000), rnd(50));
            int bl = 0;
            if (post)
                bl = snprintf(body, sizeof body, "%s&token=%08x", q, rnd(0x7fffffff));
            int len = snprintf(req, sizeof req,
                               "%s %s%s%s HTTP/1.1\r\nHost: www%u.example.jp\r\nUser-Agent: %s\r\n"
                               "Accept: text/html,application/xhtml+xml\r\nAccept-Language: "
                               "ja,en;q=0.8\r\nReferer: http://www.example.jp/list?page=%u\r\n"
                               "Cookie: sid=%08x%08x; lang=ja\r\n",
                               post ? "POST" : "GET", paths[rnd(7)], post ? "" : "?", post ? "" : q,
                               rnd(8), uas[rnd(3)], rnd(100), rnd(0x7fffffff), rnd(0x7fffffff));
            if (post)
                len += snprintf(req + len, sizeof req - (size_t)len,
                                "Content-Type: application/x-www-form-urlencoded\r\n"
                                "Content-Length: %d\r\n\r\n%s",
                                bl, body);
            else
                len += snprintf(req + len, sizeof req - (size_t)len, "\r\n");
            c_send(&k, req, (size_t)len);
            s_send(&k, resp, resp_len);
        }
        conn_close(&k);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "test") && strcmp(argv[1], "bench"))) {
        fprintf(stderr, "usage: gen_http_pcap test OUT | bench OUT CONNECTIONS\n");
        return 2;
    }
    out = strcmp(argv[2], "-") == 0 ? stdout : fopen(argv[2], "wb");
    if (!out) {
        perror(argv[2]);
        return 1;
    }
    uint8_t gh[24];
    uint32_t magic = 0xa1b2c3d4u, snap = 262144, link = 1, zero = 0;
    uint16_t vmaj = 2, vmin = 4;
    memcpy(gh, &magic, 4);
    memcpy(gh + 4, &vmaj, 2);
    memcpy(gh + 6, &vmin, 2);
    memcpy(gh + 8, &zero, 4);
    memcpy(gh + 12, &zero, 4);
    memcpy(gh + 16, &snap, 4);
    memcpy(gh + 20, &link, 4);
    fwrite(gh, 1, 24, out);
    if (argv[1][0] == 't')
        gen_test();
    else
        gen_bench(argc > 3 ? strtoul(argv[3], NULL, 10) : 100000);
    if (fclose(out)) {
        perror(argv[2]);
        return 1;
    }
    return 0;
}
