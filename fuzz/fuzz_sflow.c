/* Fuzz target: the sFlow v5 decoder (flow samples with raw headers decoded by the capture
 * decoder, sampled IP records, counter samples). The input is one datagram, copied to a buffer
 * of its exact size; records are spread into packet summaries. */
#include "kansoku/ks_flow.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_pkt(void *user, const struct ks_pkt *p)
{
    (void)user;
    if (p->weight == 0 || p->weight > 65535)
        abort();
    if (p->payload_len) {
        volatile uint8_t x = 0;
        for (uint32_t i = 0; i < p->payload_len; i++)
            x ^= p->payload[i];
        (void)x;
    }
}

static void on_record(void *user, const struct ks_flow_rec *r)
{
    (void)user;
    if (r->sampling == 0)
        abort();
    ks_flow_spread(r, 0, on_pkt, NULL);
}

static void on_counters(void *user, const struct ks_flow_counters *c)
{
    (void)user;
    (void)c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_flow_config cfg;
    ks_flow_config_default(&cfg);
    cfg.max_sources = 2;
    cfg.max_templates = 2;
    cfg.on_record = on_record;
    cfg.on_counters = on_counters;
    struct ks_flow *f = NULL;
    if (ks_flow_new(&cfg, &f) != KS_OK)
        return 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (buf) {
        if (size)
            memcpy(buf, data, size);
        struct ks_addr exp;
        ks_addr_from_v4(&exp, 0x7f000001);
        ks_flow_feed(f, buf, size, &exp, 6343, 1700000000000000, NULL);
        /* Twice: the second time the source exists and the sequence is checked. */
        ks_flow_feed(f, buf, size, &exp, 6343, 1700000001000000, NULL);
        free(buf);
    }
    ks_flow_free(f);
    return 0;
}
