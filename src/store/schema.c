/* The schema of kansoku's store, the single place where tables are declared.
 *
 * To change the schema: append a version to `versions` (and bump KS_STORE_SCHEMA_VERSION in
 * ks_store.h), then add tables/columns/indexes with `since` set to it. Never edit what an
 * older version created: databases in the field were made by it. Columns added to an
 * existing table must be KS_COL_NULLABLE (SQLite's ALTER TABLE ADD COLUMN needs a default). */
#include "schema.h"

#include <string.h>

static const struct ks_store_column inputs_cols[] = {
    {"id", KS_TYPE_I64, KS_COL_PK, 1},
    {"sha256", KS_TYPE_TEXT, 0, 1},
    {"size", KS_TYPE_I64, 0, 1},
    {"name", KS_TYPE_TEXT, 0, 1},
    {"kind", KS_TYPE_TEXT, 0, 1},
    {"started", KS_TYPE_TIME, 0, 1},
    {"finished", KS_TYPE_TIME, KS_COL_NULLABLE, 1},
    {"status", KS_TYPE_TEXT, 0, 1},
    {"rows", KS_TYPE_I64, 0, 1},
};

static const struct ks_store_column series_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 1},  {"sensor", KS_TYPE_TEXT, 0, 1}, {"metric", KS_TYPE_TEXT, 0, 1},
    {"key", KS_TYPE_TEXT, 0, 1}, {"value", KS_TYPE_F64, 0, 1},
};

#define COLS(a) a, (unsigned)(sizeof a / sizeof a[0])

static const struct ks_store_table tables[KS_TBL_COUNT] = {
    [KS_TBL_INPUTS] = {"inputs", COLS(inputs_cols), KS_TABLE_SYSTEM, 1,
                       "every ingested input, by SHA-256 and size"},
    [KS_TBL_SERIES] = {"series", COLS(series_cols), 0, 1,
                       "counters per time bucket: ts, sensor, metric, key, value"},
};

static const struct ks_store_index indexes[] = {
    {KS_TBL_INPUTS, "inputs_identity", "sha256, size", 1},
    {KS_TBL_SERIES, "series_input", "input_id", 1},
};

static const struct ks_store_version versions[] = {
    {1, "inputs registry and the generic time series", NULL},
};

_Static_assert(sizeof versions / sizeof versions[0] == KS_STORE_SCHEMA_VERSION,
               "KS_STORE_SCHEMA_VERSION must be the last version of the list");

const struct ks_store_table *ks_store_table(int table_id)
{
    if (table_id < 0 || table_id >= KS_TBL_COUNT)
        return NULL;
    return &tables[table_id];
}

int ks_store_table_find(const char *name, int *table_id)
{
    for (int i = 0; i < KS_TBL_COUNT; i++) {
        if (strcmp(tables[i].name, name) == 0) {
            *table_id = i;
            return KS_OK;
        }
    }
    return KS_ENOTFOUND;
}

const struct ks_store_index *store_schema_indexes(size_t *n)
{
    *n = sizeof indexes / sizeof indexes[0];
    return indexes;
}

const struct ks_store_version *store_schema_versions(size_t *n)
{
    *n = sizeof versions / sizeof versions[0];
    return versions;
}
