/* HyperLogLog deserialisation from arbitrary bytes: never crashes, and what loads serialises
 * to bytes that load to the same registers. */
#include "kansoku/ks_hll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_hll h, back;
    if (ks_hll_deserialize(&h, data, size) != KS_OK)
        return 0;
    double e = ks_hll_estimate(&h);
    if (!(e >= 0) || isinf(e))
        abort();
    size_t n = ks_hll_serialized_size(&h), w = 0;
    uint8_t *buf = malloc(n);
    if (!buf || ks_hll_serialize(&h, buf, n, &w) != KS_OK || w != n)
        abort();
    if (ks_hll_deserialize(&back, buf, w) != KS_OK || back.p != h.p ||
        memcmp(back.reg, h.reg, h.m) != 0)
        abort();
    ks_hll_fini(&back);
    ks_hll_fini(&h);
    free(buf);
    return 0;
}
