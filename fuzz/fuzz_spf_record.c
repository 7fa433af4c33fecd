/* Fuzz target: the SPF record parser (RFC 7208 4.6) on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "spf/spf_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct spf_record r;
    char err[128];
    if (spf_record_parse((const char *)data, size, &r, err, sizeof err) == KS_OK) {
        /* Every parsed term must lie inside the record text. */
        for (uint32_t i = 0; i < r.nterms; i++) {
            const struct spf_term *t = &r.terms[i];
            if ((size_t)t->text_off + t->text_len > r.len ||
                (size_t)t->spec_off + t->spec_len > r.len)
                __builtin_trap();
        }
    }
    spf_record_fini(&r);
    return 0;
}
