/* Fuzz target: the SQL tokenizer in every context, and the whole detector on the same bytes. */
#include <stdint.h>
#include <stdlib.h>

#include "kansoku/ks_sqli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ks_sqli_token tok[512];
    static struct ks_sqli *s;
    for (int ctx = KS_SQLI_CTX_BARE; ctx <= KS_SQLI_CTX_BACKTICK; ctx++) {
        size_t rest = 0;
        size_t n = ks_sqli_tokenize(data, size, (enum ks_sqli_ctx)ctx, tok, 512, &rest);
        for (size_t i = 0; i < n; i++)
            if ((size_t)tok[i].off + tok[i].len > size || (i && tok[i].off < tok[i - 1].off))
                abort();
        if (rest > size)
            abort();
    }
    if (!s) {
        struct ks_sqli_config cfg;
        ks_sqli_config_default(&cfg);
        cfg.no_rules = true;
        cfg.max_tokens = 256;
        if (ks_sqli_new(&cfg, &s) != KS_OK)
            abort();
    }
    struct ks_sqli_value v = {.data = data, .len = size};
    struct ks_sqli_result r;
    int rc = ks_sqli_check(s, &v, &r);
    if (rc == 1) {
        if (!r.nhits || r.hits[0].end > size || r.hits[0].start > r.hits[0].end)
            abort();
    }
    return 0;
}
