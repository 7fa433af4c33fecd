/* Fuzz target: CSV lines of `kansoku db import`, parsed for the series table and for a table
 * with a column of every type. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/csv.h"
#include "store/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ks_store_column all_cols[] = {
    {"i", KS_TYPE_I64, 0, 1},
    {"u", KS_TYPE_U64, 0, 1},
    {"f", KS_TYPE_F64, 0, 1},
    {"t", KS_TYPE_TEXT, 0, 1},
    {"b", KS_TYPE_BLOB, 0, 1},
    {"ts", KS_TYPE_TIME, 0, 1},
    {"a", KS_TYPE_ADDR, KS_COL_NULLABLE, 1},
};
static const struct ks_store_table all = {"all", all_cols, 7, 0, 1, "every type"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *scratch;
    struct ks_store_value vals[KS_STORE_MAX_COLS];
    char why[256];
    if (!scratch && !(scratch = malloc(KS_STORE_CSV_SCRATCH)))
        return 0;
    const struct ks_store_table *tabs[2] = {ks_store_table(KS_TBL_SERIES), &all};
    const char *p = (const char *)data, *e = p + size;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = (size_t)((nl ? nl : e) - p);
        if (n <= KS_STORE_CSV_MAX_LINE) {
            for (int t = 0; t < 2; t++) {
                store_csv_is_header(tabs[t], p, n);
                if (store_csv_parse_line(tabs[t], p, n, vals, scratch, KS_STORE_CSV_SCRATCH, why,
                                         sizeof why) == KS_OK) {
                    for (unsigned i = 0; i < tabs[t]->ncols; i++) {
                        enum ks_store_type ty = vals[i].type;
                        if (ty == KS_TYPE_TEXT || ty == KS_TYPE_BLOB || ty == KS_TYPE_ADDR) {
                            volatile unsigned char sink = 0;
                            const unsigned char *b = vals[i].v.bytes.ptr;
                            for (size_t k = 0; k < vals[i].v.bytes.len; k++)
                                sink ^= b[k];
                            (void)sink;
                        }
                    }
                }
            }
        }
        p = nl ? nl + 1 : e;
    }
    return 0;
}
