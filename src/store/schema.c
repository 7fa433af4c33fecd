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

/* v2: the sample registry (src/samples/README.md) and the honeypot (src/honeypot/README.md). */
static const struct ks_store_column sample_events_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 2},          {"source", KS_TYPE_ADDR, KS_COL_NULLABLE, 2},
    {"country", KS_TYPE_TEXT, 0, 2},     {"asn", KS_TYPE_I64, 0, 2},
    {"via", KS_TYPE_TEXT, 0, 2},         {"sha256", KS_TYPE_TEXT, 0, 2},
    {"name", KS_TYPE_TEXT, 0, 2},
};

static const struct ks_store_column samples_cols[] = {
    {"sha256", KS_TYPE_TEXT, 0, 2},     {"md5", KS_TYPE_TEXT, 0, 2},
    {"sha1", KS_TYPE_TEXT, 0, 2},       {"md6", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
    {"ssdeep", KS_TYPE_TEXT, KS_COL_NULLABLE, 2}, {"tlsh", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
    {"size", KS_TYPE_I64, 0, 2},        {"type", KS_TYPE_TEXT, 0, 2},
    {"mime", KS_TYPE_TEXT, 0, 2},       {"entropy", KS_TYPE_F64, 0, 2},
    {"packer", KS_TYPE_TEXT, KS_COL_NULLABLE, 2}, {"tags", KS_TYPE_TEXT, 0, 2},
    {"av", KS_TYPE_TEXT, KS_COL_NULLABLE, 2}, {"rules", KS_TYPE_TEXT, 0, 2},
    {"first_seen", KS_TYPE_TIME, 0, 2}, {"path", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
};

static const struct ks_store_column sample_iocs_cols[] = {
    {"sha256", KS_TYPE_TEXT, 0, 2}, {"kind", KS_TYPE_TEXT, 0, 2},
    {"value", KS_TYPE_TEXT, 0, 2},  {"rule", KS_TYPE_TEXT, 0, 2},
};

static const struct ks_store_column honeypot_sessions_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 2},          {"end", KS_TYPE_TIME, 0, 2},
    {"sensor", KS_TYPE_TEXT, 0, 2},      {"proto", KS_TYPE_TEXT, 0, 2},
    {"source", KS_TYPE_ADDR, 0, 2},      {"sport", KS_TYPE_I64, 0, 2},
    {"port", KS_TYPE_I64, 0, 2},         {"bytes", KS_TYPE_I64, 0, 2},
    {"reason", KS_TYPE_TEXT, 0, 2},      {"sha256", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
    {"payload", KS_TYPE_BLOB, KS_COL_NULLABLE, 2}, {"sample", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
};

/* v3: the analysts' incident log (src/incident/README.md). date is the analyst's civil date
 * (YYYY-MM-DD, no zone); category one of vulnerability, events, history, security, other. */
static const struct ks_store_column incidents_cols[] = {
    {"date", KS_TYPE_TEXT, 0, 3},     {"category", KS_TYPE_TEXT, 0, 3},
    {"title", KS_TYPE_TEXT, 0, 3},    {"note", KS_TYPE_TEXT, KS_COL_NULLABLE, 3},
};

#define COLS(a) a, (unsigned)(sizeof a / sizeof a[0])

static const struct ks_store_table tables[KS_TBL_COUNT] = {
    [KS_TBL_INPUTS] = {"inputs", COLS(inputs_cols), KS_TABLE_SYSTEM, 1,
                       "every ingested input, by SHA-256 and size"},
    [KS_TBL_SERIES] = {"series", COLS(series_cols), 0, 1,
                       "counters per time bucket: ts, sensor, metric, key, value"},
    [KS_TBL_SAMPLE_EVENTS] = {"sample_events", COLS(sample_events_cols), 0, 2,
                              "captures of malware samples: ts, source, via, sha256"},
    [KS_TBL_SAMPLES] = {"samples", COLS(samples_cols), 0, 2,
                        "unique samples: hashes, size, type, tags, AV verdict"},
    [KS_TBL_SAMPLE_IOCS] = {"sample_iocs", COLS(sample_iocs_cols), 0, 2,
                            "C&C addresses and URLs extracted from samples"},
    [KS_TBL_HONEYPOT_SESSIONS] = {"honeypot_sessions", COLS(honeypot_sessions_cols), 0, 2,
                                  "honeypot sessions: time, source, port, bytes, payload"},
    [KS_TBL_INCIDENTS] = {"incidents", COLS(incidents_cols), 0, 3,
                          "the analysts' incident log: date, category, title, note"},
};

static const struct ks_store_index indexes[] = {
    {KS_TBL_INPUTS, "inputs_identity", "sha256, size", 1},
    {KS_TBL_SERIES, "series_input", "input_id", 1},
    {KS_TBL_SAMPLE_EVENTS, "sample_events_input", "input_id", 2},
    {KS_TBL_SAMPLE_EVENTS, "sample_events_ts", "ts", 2},
    {KS_TBL_SAMPLES, "samples_input", "input_id", 2},
    {KS_TBL_SAMPLES, "samples_sha256", "sha256", 2},
    {KS_TBL_SAMPLE_IOCS, "sample_iocs_input", "input_id", 2},
    {KS_TBL_SAMPLE_IOCS, "sample_iocs_sha256", "sha256", 2},
    {KS_TBL_HONEYPOT_SESSIONS, "honeypot_sessions_input", "input_id", 2},
    {KS_TBL_HONEYPOT_SESSIONS, "honeypot_sessions_ts", "ts", 2},
    {KS_TBL_INCIDENTS, "incidents_input", "input_id", 3},
    {KS_TBL_INCIDENTS, "incidents_date", "date", 3},
};

static const struct ks_store_version versions[] = {
    {1, "inputs registry and the generic time series", NULL},
    {2, "sample registry (events, samples, IOCs) and honeypot sessions", NULL},
    {3, "incident log", NULL},
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
