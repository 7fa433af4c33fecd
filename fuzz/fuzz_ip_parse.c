/* Address and prefix parsing from arbitrary bytes: never crashes, and whatever parses formats
 * to text that parses back to the same value. */
#include "kansoku/ks_ip.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char buf[KS_PREFIX_STRLEN];
    struct ks_addr a, a2;
    if (ks_addr_parse(s, size, &a) == KS_OK) {
        size_t n = ks_addr_format(&a, buf, sizeof buf);
        if (n == 0 || ks_addr_parse(buf, n, &a2) != KS_OK || memcmp(&a, &a2, sizeof a) != 0)
            abort();
        struct ks_addr u = a;
        if (ks_addr_unmap(&u) && (u.family != 4 || memcmp(u.b, a.b + 12, 4) != 0))
            abort();
    }
    struct ks_prefix p, p2;
    unsigned flags, flags2;
    if (ks_prefix_parse(s, size, &p, &flags) == KS_OK) {
        size_t n = ks_prefix_format(&p, buf, sizeof buf);
        if (n == 0 || ks_prefix_parse(buf, n, &p2, &flags2) != KS_OK ||
            memcmp(&p, &p2, sizeof p) != 0 || flags2 != 0)
            abort();
        if (!ks_addr_in_prefix(&p.addr, &p))
            abort();
        struct ks_prefix_set *set;
        if (ks_prefix_set_new(&set) != KS_OK)
            return 0;
        uint32_t v = 0;
        unsigned len = 0;
        if (ks_prefix_set_add(set, &p, 7) != KS_OK ||
            !ks_prefix_set_lookup(set, &p.addr, &v, &len) || v != 7 || len != p.len)
            abort();
        ks_prefix_set_free(set);
    }
    return 0;
}
