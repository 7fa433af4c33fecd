/* Fuzz target: the AS CSV parser and the table builder, then the reader over what was built
 * (a table made from any CSV must load and answer lookups). */
#include "geo/asn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ks_asn_builder *b = NULL;
    struct ks_asn_table *t = NULL;
    uint8_t *table = NULL;
    size_t len = 0;
    const char *why;

    if (ks_asn_builder_new(NULL, &b) != KS_OK)
        return 0;
    if (ks_asn_builder_feed(b, data, size, "fuzz") != KS_OK)
        goto out;
    if (ks_asn_builder_finish(b, "fuzz", 0, &table, &len) != KS_OK)
        goto out;
    if (ks_asn_table_open(table, len, &t, &why) != KS_OK)
        abort(); /* the builder wrote something its reader refuses */
    static const char *const probes[] = {
        "0.0.0.0", "1.2.3.4",     "255.255.255.255",
        "::",      "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
    for (size_t i = 0; i < sizeof probes / sizeof *probes; i++) {
        struct ks_addr a;
        uint32_t asn;
        const char *org;
        if (ks_addr_parse(probes[i], strlen(probes[i]), &a) == KS_OK) {
            ks_asn_table_lookup(t, &a, &asn, &org);
            if (strlen(org) > KS_ASN_ORG_MAX)
                abort();
        }
    }
out:
    ks_asn_table_free(t);
    free(table);
    ks_asn_builder_free(b);
    return 0;
}
