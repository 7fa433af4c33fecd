/* Fuzz target: the parameter value decoder with each flag combination. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_sqli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *out = malloc(size ? size : 1);
    if (!out)
        return 0;
    for (unsigned flags = 0; flags < 4; flags++) {
        struct ks_sqli_decode_stats st;
        size_t n = ks_sqli_decode(data, size, out, size, flags, &st);
        if (n > size)
            abort();
        if (memchr(out, 0, n))
            abort(); /* NULs are dropped */
    }
    /* a short output buffer is never overrun */
    if (size > 4) {
        size_t n = ks_sqli_decode(data, size, out, size / 2, KS_SQLI_DEC_MULTI, NULL);
        if (n > size / 2)
            abort();
    }
    free(out);
    return 0;
}
