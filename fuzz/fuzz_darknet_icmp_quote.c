/* The quoted datagram of ICMP errors, from arbitrary bytes: the parser never reads outside the
 * input, a success names an address of the quoted family, and a darknet handle fed an ICMP
 * unreachable carrying these bytes keeps counting. */
#include "kansoku/ks_darknet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ks_darknet *handle(void)
{
    static struct ks_darknet *d;
    if (!d) {
        struct ks_darknet_config cfg;
        ks_darknet_config_default(&cfg);
        cfg.sensor = "fuzz";
        cfg.max_cells = 64;
        cfg.max_sketches = 4;
        cfg.max_sources = 64;
        cfg.topk = 8;
        struct ks_prefix p;
        if (ks_darknet_new(&cfg, NULL, &d) != KS_OK ||
            ks_prefix_parse("192.0.2.0/24", 12, &p, NULL) != KS_OK ||
            ks_darknet_add_prefix(d, &p) != KS_OK)
            abort();
    }
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly `size` bytes, so that ASan sees any read past the end */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    struct ks_addr dst;
    uint8_t proto;
    uint16_t dport;
    int rc = ks_darknet_icmp_quoted(copy, size, &dst, &proto, &dport);
    if (rc == KS_OK && dst.family != 4 && dst.family != 6)
        abort();
    if (rc != KS_OK && (dst.family != 0 || proto != 0 || dport != 0))
        abort();

    struct ks_pkt p;
    memset(&p, 0, sizeof p);
    p.ts_us = 1214870400000000 + (int64_t)size * 1000000;
    ks_addr_from_v4(&p.src, 0xcb007101);
    ks_addr_from_v4(&p.dst, 0xc0000201);
    p.ipver = 4;
    p.proto = size && (copy[0] & 1) ? 58 : 1;
    p.icmp_type = 3;
    p.flags = KS_PKT_L4;
    p.wire_len = (uint32_t)size + 28;
    p.payload = copy;
    p.payload_len = (uint32_t)size;
    p.weight = 1;
    struct ks_darknet *d = handle();
    struct ks_darknet_stats before, after;
    ks_darknet_stats(d, &before);
    if (ks_darknet_feed(d, &p) != KS_OK)
        abort();
    ks_darknet_stats(d, &after);
    if (after.backscatter != before.backscatter + 1)
        abort();
    free(copy);
    return 0;
}
