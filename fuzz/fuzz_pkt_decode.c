/* Fuzz target: the packet decoder. The first byte picks the link type, the rest is the packet;
 * every decoded field must lie within the input. */
#include "kansoku/ks_capture.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int links[] = {KS_LINK_ETHERNET, KS_LINK_SLL,  KS_LINK_SLL2, KS_LINK_RAW,
                                KS_LINK_NULL,     KS_LINK_LOOP, KS_LINK_IPV4, KS_LINK_IPV6};
    if (size < 1)
        return 0;
    int link = links[data[0] % (sizeof links / sizeof links[0])];
    const uint8_t *pkt = data + 1;
    uint32_t len = (uint32_t)(size - 1);
    struct ks_pkt p = {0};
    enum ks_pkt_status st = ks_pkt_decode(link, pkt, len, len, &p);
    if ((unsigned)st >= KS_PKT_STATUS_COUNT)
        abort();
    if (p.payload_len) {
        if (p.payload < pkt || p.payload + p.payload_len > pkt + len)
            abort();
        /* Touch the payload so that ASan checks it. */
        volatile uint8_t x = 0;
        for (uint32_t i = 0; i < p.payload_len; i++)
            x ^= p.payload[i];
        (void)x;
    }
    struct ks_capture_stats cs = {0};
    ks_capture_count(&cs, st, &p);
    return 0;
}
