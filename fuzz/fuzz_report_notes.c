/* Fuzz target: the report's notes-file parser, then the lookups the report makes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report/report_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct notes n;
    if (notes_parse((const char *)data, size, "fuzz", NULL, &n) != KS_OK)
        return 0;
    for (size_t i = 0; i < n.nblocks; i++) {
        const char *t = notes_text(&n, n.blocks[i].name, "ja");
        if (t && strlen(t) > NOTES_MAX_BYTES)
            abort();
    }
    for (size_t i = 0; i < n.nkv; i++)
        if (!notes_get(&n, n.kv[i].section, n.kv[i].key))
            abort();
    notes_text(&n, "summary", "en");
    notes_get(&n, "config", "operator");
    notes_free(&n);
    return 0;
}
