/* Fuzz target: the DNS response parser of the SPF resolver (RFC 1035 4.1: compression
 * pointers, truncated records, wrong types and lengths). The first byte picks the asked type. */
#include <stddef.h>
#include <stdint.h>

#include "spf/spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_answer(void *arg, const struct ks_spf_answer *a, uint32_t neg_ttl)
{
    (void)neg_ttl;
    uint16_t qtype = *(const uint16_t *)arg;
    for (uint32_t i = 0; i < a->count; i++) {
        if (a->rr[i].type != qtype)
            __builtin_trap();
        if ((qtype == KS_DNS_A && a->rr[i].len != 4) ||
            (qtype == KS_DNS_AAAA && a->rr[i].len != 16))
            __builtin_trap();
        /* Touch every byte so that ASan sees a read past the data. */
        uint8_t sum = 0;
        for (uint32_t j = 0; j < a->rr[i].len; j++)
            sum ^= a->rr[i].data[j];
        *(volatile uint8_t *)&sum = sum;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t types[] = {KS_DNS_A, KS_DNS_AAAA, KS_DNS_TXT, KS_DNS_MX, KS_DNS_PTR};
    if (size < 1)
        return 0;
    uint16_t qtype = types[data[0] % 5];
    ks_spf_dns_parse(data + 1, size - 1, qtype, check_answer, &qtype);
    return 0;
}
