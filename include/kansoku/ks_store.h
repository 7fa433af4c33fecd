/* kansoku store: the one versioned schema, written by analyzers through a backend-neutral
 * interface, and the registry of ingested inputs.
 *
 * A store is opened from a spec: a file path selects the embedded SQLite backend (WAL,
 * batched transactions, prepared statements); "clickhouse://HOST:PORT[,HOST:PORT..]/DB[?..]"
 * the ClickHouse backend (HTTP interface, one server or a cluster of shards: docs/store.md).
 * Analyzers never see the backend: they write rows of logical tables (described centrally in
 * src/store/schema.c) through an ingest handle.
 *
 * Ingest protocol (docs/store.md has the full contract):
 *
 *     struct ks_store_input in = {.name = "day1.csv", .kind = "db import"};
 *     ks_store_hash_file("day1.csv", in.sha256, &in.size);
 *     rc = ks_store_input_begin(st, &in, 0, &ing);     // KS_EEXIST: ingested before
 *     for (each record) {
 *         ks_store_row_begin(ing, KS_TBL_SERIES);
 *         ks_store_put_time(ing, ts); ks_store_put_text(ing, sensor, len); ...
 *         rc = ks_store_row_end(ing);                   // committed in batches
 *     }
 *     rc = ks_store_input_end(ing, true);               // last batch + "complete", atomically
 *
 * An input is either complete with all its rows, or partial (its writer died or gave up):
 * partial inputs are never counted by readers and are deleted as soon as no live process
 * writes them (at the next open or input_begin).
 *
 * Thread safety: a store handle and its ingest are used by one thread at a time (the single
 * writer thread of the architecture). Several processes may open the same SQLite file. */
#ifndef KS_STORE_H
#define KS_STORE_H

#include "kansoku/ks_core.h"
#include "kansoku/ks_ip.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The schema version this build knows (the last entry of the migration list). */
#define KS_STORE_SCHEMA_VERSION 14

/* Logical types of columns. */
enum ks_store_type {
    KS_TYPE_NULL = 0, /* only for values (a NULL in a nullable column or a query result) */
    KS_TYPE_I64,
    KS_TYPE_U64, /* stored as a signed 64-bit integer: values above INT64_MAX are refused */
    KS_TYPE_F64,
    KS_TYPE_TEXT, /* UTF-8, (ptr, len) */
    KS_TYPE_BLOB,
    KS_TYPE_TIME, /* int64 µs since the Unix epoch, UTC (ks_time.h) */
    KS_TYPE_ADDR, /* IP address, stored as its canonical text (RFC 5952 for IPv6) */
};

/* Column flags. */
#define KS_COL_NULLABLE 0x1u /* may hold NULL (default: NOT NULL) */
#define KS_COL_PK 0x2u       /* the integer primary key of a system table */

struct ks_store_column {
    const char *name;
    enum ks_store_type type;
    unsigned flags;
    int since; /* schema version that added the column */
};

/* Table flags. */
#define KS_TABLE_SYSTEM 0x1u /* written by the store itself (inputs), no input_id column */

struct ks_store_table {
    const char *name;
    const struct ks_store_column *cols; /* data tables: after the implicit input_id */
    unsigned ncols;
    unsigned flags;
    int since;           /* schema version that created the table */
    const char *summary; /* one line, for docs and `kansoku db info` */
};

/* Logical tables, in the order of the central list. Later modules append ids here and
 * descriptors in src/store/schema.c (with a new schema version). */
enum ks_store_table_id {
    KS_TBL_INPUTS = 0, /* every ingested input (system table) */
    KS_TBL_SERIES = 1, /* generic narrow time series: counters per time bucket */
    KS_TBL_SAMPLE_EVENTS = 2,     /* samples: one row per capture of a sample (v2) */
    KS_TBL_SAMPLES = 3,           /* samples: one row per unique sample, by SHA-256 (v2) */
    KS_TBL_SAMPLE_IOCS = 4,       /* samples: C&C addresses and URLs found in a sample (v2) */
    KS_TBL_HONEYPOT_SESSIONS = 5, /* honeypot: one row per TCP session or UDP datagram (v2) */
    KS_TBL_INCIDENTS = 6,         /* incident log: one row per analyst's entry (v3) */
    KS_TBL_SPF_RESULTS = 7,       /* spf: one row per SPF check of received mail (v4) */
    KS_TBL_SPF_SURVEY = 8,        /* spf: one row per surveyed domain (v4) */
    KS_TBL_MAIL_MESSAGES = 9,     /* mail: one row per received message (v5) */
    KS_TBL_MAIL_URLS = 10,        /* mail: one row per distinct URL of a message (v5) */
    KS_TBL_MAIL_ATTACHMENTS = 11, /* mail: one row per attachment (v5) */
    KS_TBL_DDOS_ATTACKS = 12,     /* ddos: one row per attack (v6) */
    KS_TBL_DDOS_TIMELINE = 13,    /* ddos: one row per second (or coarser step) of an attack (v6) */
    KS_TBL_DARKNET_CELLS = 14,    /* darknet: one row per day x sensor x kind x proto x port (v7) */
    KS_TBL_DARKNET_DAYS = 15,     /* darknet: one row per sensor and day (v7) */
    KS_TBL_DARKNET_SOURCES = 16,  /* darknet: sources by country/AS, talkers, victims (v7) */
    KS_TBL_SQLI_DETECTIONS = 17,  /* sqli: one row per detection (v8) */
    KS_TBL_ANOMALIES, /* anomaly: one row per traffic anomaly alert (v12) */
    KS_TBL_CRAWL_FETCHES, /* crawl: one row per fetch of a crawled chain (v10) */
    KS_TBL_DNS_RESOLVER_AUDITS,  /* dns: one row per audited querier (v11) */
    KS_TBL_DNS_POISONING_ALERTS, /* dns: one row per spoofed-response alert (v11) */
    KS_TBL_ROLLUP_1M, /* rollups: per minute, of honeypot sessions (v13) */
    KS_TBL_ROLLUP_1H, /* rollups: per hour, of the report's large tables (v13) */
    KS_TBL_ROLLUP_1D, /* rollups: per day, of series and sources (v13, v14) */
    KS_TBL_BGP_ALERTS, /* bgp: one row per prefix-hijack / MOAS alert (v12) */
    KS_TBL_ROLLUP_15M, /* rollups: per 15 minutes, for zones of non-whole hours (v14) */
    KS_TBL_COUNT
};

/* The descriptor of a table (NULL if id is out of range), and the id of a table by name
 * (KS_ENOTFOUND if unknown). */
KS_API const struct ks_store_table *ks_store_table(int table_id);
KS_API int ks_store_table_find(const char *name, int *table_id);

/* A value, as written through ks_store_row_* or read back by ks_store_query. Text and blob
 * bytes are borrowed: valid until the row ends or the query callback returns. */
struct ks_store_value {
    enum ks_store_type type;
    union {
        int64_t i64; /* I64, TIME */
        uint64_t u64;
        double f64;
        struct {
            const void *ptr;
            size_t len;
        } bytes; /* TEXT, BLOB, ADDR (as text) */
    } v;
};

/* A value of each type, for rows built as arrays (ks_store_put_row). */
static inline struct ks_store_value ks_store_i64(int64_t x)
{
    struct ks_store_value v = {.type = KS_TYPE_I64};
    v.v.i64 = x;
    return v;
}
static inline struct ks_store_value ks_store_u64(uint64_t x)
{
    struct ks_store_value v = {.type = KS_TYPE_U64};
    v.v.u64 = x;
    return v;
}
static inline struct ks_store_value ks_store_f64(double x)
{
    struct ks_store_value v = {.type = KS_TYPE_F64};
    v.v.f64 = x;
    return v;
}
static inline struct ks_store_value ks_store_time(int64_t t_us)
{
    struct ks_store_value v = {.type = KS_TYPE_TIME};
    v.v.i64 = t_us;
    return v;
}
/* TEXT, BLOB or ADDR (as text) of n bytes at p (borrowed until the row is put). */
static inline struct ks_store_value ks_store_bytes(enum ks_store_type t, const void *p, size_t n)
{
    struct ks_store_value v = {.type = t};
    v.v.bytes.ptr = p;
    v.v.bytes.len = n;
    return v;
}
/* A NUL-terminated string as TEXT; NULL as the empty text. */
static inline struct ks_store_value ks_store_text(const char *s)
{
    return ks_store_bytes(KS_TYPE_TEXT, s ? s : "", s ? strlen(s) : 0);
}
static inline struct ks_store_value ks_store_null(void)
{
    struct ks_store_value v = {.type = KS_TYPE_NULL};
    return v;
}

struct ks_store;  /* opaque */
struct ks_ingest; /* opaque: one input being ingested */

struct ks_store_config {
    uint32_t batch_rows;      /* rows per transaction (default 50000) */
    uint32_t batch_ms;        /* or at most this long per transaction (default 1000) */
    uint32_t busy_timeout_ms; /* wait this long for another writer (default 10000) */
    uint32_t cache_mb;        /* page cache (default 64) */
    bool readonly;            /* open read-only: no migration, no cleanup, no ingest */
    bool no_migrate;          /* refuse (KS_ESTORE) an older schema instead of migrating */
};
KS_API void ks_store_config_default(struct ks_store_config *cfg);

/* Opens (creating it if missing, unless readonly) the store named by spec (a path; cfg NULL
 * means defaults). An empty or new database is created at KS_STORE_SCHEMA_VERSION; an older
 * one is migrated in one transaction; partial inputs no live process writes are deleted.
 * Errors, each with a message for ks_store_errmsg(NULL) naming the file and what to do:
 *   KS_ECORRUPT  not a kansoku database, or damaged (bad header, truncated, corrupt pages)
 *   KS_ESTORE    schema newer than this build, or older with no_migrate/readonly
 *   KS_EIO       cannot open/create (missing directory, permissions), read-only file
 *   KS_ENOSPC    disk full (or file size limit) while creating or migrating
 *   KS_EINVAL    a malformed clickhouse:// spec
 *   KS_ENOMEM */
KS_API int ks_store_open(const char *spec, const struct ks_store_config *cfg, struct ks_store **sp);
/* Closes the store. An ingest still open is abandoned (left partial, cleaned up later, as
 * after a crash). NULL is fine. */
KS_API void ks_store_close(struct ks_store *s);

/* The detailed message of the last error on s, or with s NULL of the last failed
 * ks_store_open in this thread. Never NULL ("" if none). Valid until the next call on s. */
KS_API const char *ks_store_errmsg(const struct ks_store *s);
/* The path or spec the store was opened from. */
KS_API const char *ks_store_spec(const struct ks_store *s);
/* The backend, "sqlite" or "clickhouse": the SQL dialect ks_store_query speaks. */
KS_API const char *ks_store_backend(const struct ks_store *s);

/* --- inputs ------------------------------------------------------------------------------ */

/* Identity and description of an input. sha256 is lowercase hex. */
struct ks_store_input {
    char sha256[65];
    uint64_t size;
    const char *name; /* file name as given, for people */
    const char *kind; /* the module that ingests it ("db import", "ddos", ...) */
};

/* SHA-256 (lowercase hex) and size of a file's content. KS_EIO if it cannot be read (errno
 * tells why), KS_EINVAL if it is not a regular file. */
KS_API int ks_store_hash_file(const char *path, char sha256_hex[65], uint64_t *size);

#define KS_STORE_FORCE 0x1u /* re-ingest an input ingested before, replacing it */

/* Registers an input and starts its ingest (one per store handle at a time).
 *   KS_EEXIST  a complete input with the same sha256 and size exists (without KS_STORE_FORCE),
 *              or another live process is ingesting it right now
 * A partial input left by a dead writer with the same identity is deleted first. With
 * KS_STORE_FORCE the old complete input stays readable until the new one completes, and is
 * deleted in the same transaction that completes it. */
KS_API int ks_store_input_begin(struct ks_store *s, const struct ks_store_input *in, unsigned flags,
                                struct ks_ingest **ip);

/* Writes one row of a data table: row_begin, one put per column in the table's order (the
 * input_id column is implicit), row_end. Puts never fail; mistakes (wrong type, count,
 * u64 out of range, NULL in a NOT NULL column) are returned by row_end as KS_EINVAL, which
 * drops that row only. Text/blob bytes must stay valid until row_end. row_end commits a
 * batch when it is full; its store errors (KS_ENOSPC, KS_ECORRUPT, KS_ESTORE) are sticky:
 * every later call returns the same error and the caller should input_end(ing, false). */
KS_API int ks_store_row_begin(struct ks_ingest *ing, int table_id);
KS_API void ks_store_put_i64(struct ks_ingest *ing, int64_t v);
KS_API void ks_store_put_u64(struct ks_ingest *ing, uint64_t v);
KS_API void ks_store_put_f64(struct ks_ingest *ing, double v);
KS_API void ks_store_put_text(struct ks_ingest *ing, const char *s, size_t len);
KS_API void ks_store_put_blob(struct ks_ingest *ing, const void *p, size_t len);
KS_API void ks_store_put_time(struct ks_ingest *ing, int64_t t_us);
KS_API void ks_store_put_addr(struct ks_ingest *ing, const struct ks_addr *a);
KS_API void ks_store_put_null(struct ks_ingest *ing);
/* A whole row at once (vals[ncols] in the table's column order). */
KS_API int ks_store_put_row(struct ks_ingest *ing, int table_id, const struct ks_store_value *vals,
                            size_t nvals);
KS_API int ks_store_row_end(struct ks_ingest *ing);

/* Rows held in memory, encoded one after the other, to be written later: a sensor's batch
 * (its spool keeps them on disk in this encoding), mail rows waiting for their input's hash.
 * A row: u8 table id, u8 value count, each value a u8 type and its payload (integers, times
 * and doubles as 8 bytes big endian, text, blob and address as a u32 big-endian length and
 * the bytes, NULL nothing). */
#define KS_STORE_ROW_MAX_COLS 32
struct ks_store_rowbuf {
    uint8_t *buf;
    size_t len, cap;
    uint64_t rows;
};
/* Appends a row (vals[n], n <= KS_STORE_ROW_MAX_COLS, table_id 0..255; bytes are copied).
 * KS_OK, KS_ENOMEM, KS_EINVAL. */
KS_API int ks_store_rowbuf_add(struct ks_store_rowbuf *b, int table_id,
                               const struct ks_store_value *vals, size_t n);
/* Empties the buffer; `keep` bytes of its memory stay allocated at most. */
KS_API void ks_store_rowbuf_clear(struct ks_store_rowbuf *b, size_t keep);
KS_API void ks_store_rowbuf_free(struct ks_store_rowbuf *b);
/* Decodes the row at buf[*at .. len) into *table_id and vals (at most KS_STORE_ROW_MAX_COLS;
 * bytes point into buf) and moves *at past it. KS_OK, or KS_EFORMAT (a row cut short, too many
 * values or an unknown type: *at unchanged). */
KS_API int ks_store_rowbuf_next(const uint8_t *buf, size_t len, size_t *at, int *table_id,
                                struct ks_store_value *vals, size_t *n);

/* Rows written so far (committed or pending) and rows committed. */
KS_API uint64_t ks_store_ingest_rows(const struct ks_ingest *ing);
KS_API uint64_t ks_store_ingest_committed(const struct ks_ingest *ing);

/* Ends an ingest and frees ing. ok: commits the last rows and marks the input complete in
 * the same transaction (then, with FORCE, deletes the replaced input). !ok: rolls back the
 * pending rows and deletes the input's committed rows (if that fails, e.g. disk full, the
 * input stays partial and is cleaned up later). Returns the first error of the ingest, if
 * any (then the input was not completed). */
KS_API int ks_store_input_end(struct ks_ingest *ing, bool ok);

/* --- reading ----------------------------------------------------------------------------- */

struct ks_store_input_info {
    int64_t id;
    char sha256[65];
    uint64_t size;
    const char *name, *kind, *status; /* borrowed for the callback's duration */
    int64_t started, finished;        /* µs UTC; finished 0 while partial */
    uint64_t rows;                    /* rows written (committed) by this input */
};

/* Calls fn for every input, oldest first; fn returns nonzero to stop (that value is
 * returned). */
KS_API int ks_store_inputs(struct ks_store *s,
                           int (*fn)(void *user, const struct ks_store_input_info *in), void *user);

#define KS_STORE_MAX_TABLES 64

struct ks_store_info {
    const char *backend;      /* "sqlite" */
    int schema_version;       /* of the database */
    int schema_known;         /* KS_STORE_SCHEMA_VERSION of this build */
    uint64_t inputs_complete; /* inputs counted by readers */
    uint64_t inputs_partial;  /* being written by a live process (or left by a crash) */
    uint64_t file_bytes;      /* database size on disk (0 if unknown) */
    unsigned ntables;         /* data and system tables known to this build */
    struct {
        const char *name;
        uint64_t rows;          /* all rows */
        uint64_t rows_complete; /* rows of complete inputs (what readers see) */
    } tables[KS_STORE_MAX_TABLES];
};
KS_API int ks_store_info(struct ks_store *s, struct ks_store_info *info);

/* Runs one read-only SQL statement with positional parameters (?1, ?2, ...) and calls fn for
 * each result row (names[i] are the column names); fn returns nonzero to stop (that value
 * is returned). Statements that would write are refused (KS_EINVAL). Readers count only
 * complete inputs: join the data table with inputs ON inputs.id = input_id AND
 * inputs.status = 'complete'. */
KS_API int ks_store_query(struct ks_store *s, const char *sql, const struct ks_store_value *params,
                          size_t nparams,
                          int (*fn)(void *user, size_t ncols, const char *const *names,
                                    const struct ks_store_value *vals),
                          void *user);

/* --- maintenance ------------------------------------------------------------------------- */

/* Schema version of the open database and, if a migration ran at open, the version before
 * it (else equal). */
KS_API void ks_store_versions(const struct ks_store *s, int *before_open, int *now);

/* Deletes partial inputs that no live process writes and their rows; *removed counts them
 * (may be NULL). ks_store_open does this already; `kansoku db repair` calls it explicitly. */
KS_API int ks_store_cleanup(struct ks_store *s, uint64_t *removed);

/* --- CSV import (kansoku db import) ------------------------------------------------------ */

struct ks_store_import_stats {
    uint64_t lines;     /* lines read, header included */
    uint64_t rows;      /* rows stored */
    uint64_t bad_lines; /* lines skipped (each reported through diag, up to its limit) */
    uint64_t bytes;     /* bytes read */
    uint64_t size;      /* size of the input */
    int64_t input_id;
};

/* Imports a CSV file (RFC 4180: comma-separated, optional "quoted" fields with "" for a
 * quote, no line breaks inside fields) into a data table as one input (kind "db import").
 * Columns are the table's columns in order; a first line that names them is skipped.
 * time: integer µs or RFC 3339 text; addr: IPv4/IPv6 text; blob: hex. Bad lines are
 * counted, reported through diag (module "db", with file:line) and skipped. progress (may
 * be NULL) is called now and then with the bytes read. Returns KS_EEXIST (ingested before),
 * KS_EIO (unreadable; errno), KS_EINVAL (stdin, not a regular file, or a system table),
 * KS_EFORMAT (the file changed while being read), or the store's errors. */
KS_API int ks_store_import_csv(struct ks_store *s, const char *path, int table_id, unsigned flags,
                               const struct ks_diag *diag,
                               void (*progress)(void *user, uint64_t bytes, uint64_t total),
                               void *user, struct ks_store_import_stats *st);

#endif
