/* The central schema: every logical table, index and schema version (src/store/schema.c).
 * Backends derive their DDL and migrations from these descriptors. */
#ifndef KS_STORE_SCHEMA_H
#define KS_STORE_SCHEMA_H

#include "kansoku/ks_store.h"

/* Widest table (columns after input_id). */
#define KS_STORE_MAX_COLS 32

struct ks_store_index {
    int table;        /* enum ks_store_table_id */
    const char *name; /* unique in the database */
    const char *cols; /* comma-separated column names, in order */
    int since;        /* schema version that added it */
};

/* One step of the migration list. Migrating to `version` creates the tables, columns and
 * indexes whose `since` is that version, then runs the backend's extra statements (data
 * migrations; NULL if none). */
struct ks_store_version {
    int version;
    const char *summary;
    const char *sqlite_sql;
};

/* A rollup (v13): rows of table `src` aggregated into `dst` (a rollup_* table) per bucket of
 * `bucket_us` by the key columns; NULL column names give '' (keys) or 0 (measure). `since`:
 * the schema version that added it (migrating to it computes it for the rows stored). */
struct ks_store_rollup {
    const char *name; /* the `src` column of its rows */
    int src, dst;     /* enum ks_store_table_id */
    int64_t bucket_us;
    const char *ts, *sensor, *k1, *k2, *measure;
    int since;
};

const struct ks_store_rollup *store_schema_rollups(size_t *n);
const struct ks_store_index *store_schema_indexes(size_t *n);
const struct ks_store_version *store_schema_versions(size_t *n);

#endif
