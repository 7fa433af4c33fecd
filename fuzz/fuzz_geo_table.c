/* Fuzz target: the reader of kansoku's AS table file (asn.kstab), which checks a file before any
 * lookup trusts it; lookups over an accepted table must stay inside it. */
#include "geo/asn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_asn_table *t = NULL;
    const char *why;
    /* The reader wants 8-aligned bytes (a file mapping is page-aligned). */
    void *buf = NULL;
    if (posix_memalign(&buf, 8, size ? size : 1) != 0)
        return 0;
    if (size)
        memcpy(buf, data, size);
    if (ks_asn_table_open(buf, size, &t, &why) == KS_OK) {
        uint32_t x = 0x12345678;
        for (int i = 0; i < 64; i++) {
            struct ks_addr a;
            uint8_t b16[16];
            x = x * 1103515245u + 12345u;
            ks_addr_from_v4(&a, x);
            uint32_t asn;
            const char *org;
            ks_asn_table_lookup(t, &a, &asn, &org);
            for (int k = 0; k < 16; k++)
                b16[k] = (uint8_t)(x >> (k % 4 * 8));
            ks_addr_from_v6(&a, b16);
            ks_asn_table_lookup(t, &a, &asn, &org);
        }
        ks_asn_table_free(t);
    }
    free(buf);
    return 0;
}
