/* Fuzz target: DNS messages (RFC 1035 4.1: compression pointers, loops, every section, OPT)
 * and the TCP framing (RFC 1035 4.2.2), then the analyzer on the same bytes as a UDP response,
 * a UDP query and a TCP segment. The first byte selects the path. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kansoku/ks_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const struct ks_dns_msg *m)
{
    char buf[KS_DNS_NAME_STRLEN];
    volatile size_t sink = ks_dns_name_format(&m->qname, buf, sizeof buf);
    for (uint32_t i = 0; i < m->nrr; i++) {
        const struct ks_dns_rr *rr = &m->rr[i];
        if (rr->name.len == 0 || rr->name.wire[rr->name.len - 1] != 0)
            __builtin_trap(); /* a kept name always ends with the root label */
        sink += ks_dns_name_format(&rr->name, buf, sizeof buf);
        sink += ks_dns_name_format(&rr->target, buf, 16); /* a short buffer */
        uint8_t x = 0;
        for (uint16_t j = 0; j < rr->rdlen; j++)
            x ^= rr->rdata[j];
        sink += x;
    }
    (void)sink;
}

static void on_msg(void *user, const uint8_t *msg, size_t len)
{
    struct ks_dns_msg *m = user;
    ks_dns_parse(msg, len, KS_DNS_PARSE_ALL, m);
    touch(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ks_dns_msg m;
    static struct ks_dns *d;
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    ks_dns_parse(data, size, KS_DNS_PARSE_ALL, &m);
    touch(&m);
    ks_dns_parse(data, size, KS_DNS_PARSE_QUESTION, &m);
    touch(&m);
    ks_dns_tcp_split(data, size, on_msg, &m, NULL);
    if (!d) {
        struct ks_dns_config cfg;
        ks_dns_config_default(&cfg);
        cfg.max_queriers = 16;
        cfg.max_pending = 64;
        cfg.max_zones = 8;
        cfg.min_responses = 1;
        cfg.min_peak_pps = 1;
        if (ks_dns_new(&cfg, &d) != KS_OK)
            return 0;
    }
    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    ks_addr_from_v4(&p.src, 0x0a000001u);
    ks_addr_from_v4(&p.dst, 0x0a000002u);
    p.flags = KS_PKT_L4;
    p.payload = data;
    p.payload_len = (uint32_t)size;
    p.ts_us = 1700000000000000 + (int64_t)(sel & 0x0f) * 1000000;
    p.proto = sel & 0x10 ? 6 : 17;
    /* a query from .1 then the bytes as a response to it */
    p.sport = 40000;
    p.dport = 53;
    ks_dns_feed(d, &p);
    struct ks_pkt r = p;
    r.src = p.dst;
    r.dst = p.src;
    r.sport = 53;
    r.dport = 40000;
    ks_dns_feed(d, &r);
    if (sel & 0x20)
        ks_dns_flush(d);
    return 0;
}
