/* Fuzz target: the NetFlow v5/v9 and IPFIX decoders with template state. The input is a series
 * of datagrams, each preceded by its length (2 bytes, big-endian), fed to one small collector
 * (few sources and templates, so that eviction is reached); every record is spread into packet
 * summaries. Each datagram is copied to a buffer of its exact size so that ASan sees any read
 * past it. */
#include "kansoku/ks_flow.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_pkt(void *user, const struct ks_pkt *p)
{
    uint64_t *n = user;
    if (p->weight == 0 || p->weight > 65535)
        abort();
    *n += p->weight;
}

static void on_record(void *user, const struct ks_flow_rec *r)
{
    (void)user;
    uint64_t n = 0;
    if (r->sampling == 0)
        abort();
    /* Spreading a huge flow is bounded by the slice count, not by its packets. */
    if (r->packets < 1000000)
        ks_flow_spread(r, 64, on_pkt, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_flow_config cfg;
    ks_flow_config_default(&cfg);
    cfg.max_sources = 4;
    cfg.max_templates = 8;
    cfg.template_timeout_s = 60;
    cfg.on_record = on_record;
    struct ks_flow *f = NULL;
    if (ks_flow_new(&cfg, &f) != KS_OK)
        return 0;
    struct ks_addr exp[2];
    ks_addr_from_v4(&exp[0], 0x7f000001);
    ks_addr_from_v4(&exp[1], 0x7f000002);
    int64_t t = 1700000000000000;
    size_t off = 0;
    unsigned i = 0;
    while (off + 2 <= size) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
            break;
        if (len)
            memcpy(buf, data + off, len);
        ks_flow_feed(f, buf, len, &exp[i & 1], 2055, t, NULL);
        free(buf);
        off += len;
        t += 700000000; /* past the template timeout now and then */
        i++;
    }
    struct ks_flow_stats st;
    ks_flow_stats(f, &st);
    if (st.templates > cfg.max_templates || st.sources > cfg.max_sources)
        abort();
    ks_flow_free(f);
    return 0;
}
