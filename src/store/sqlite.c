/* The SQLite backend: one file, WAL journal, synchronous=NORMAL (a committed transaction
 * survives a crash of the process; a power loss may lose the last ones, never the file),
 * one prepared INSERT per table, batches of rows per transaction.
 *
 * Liveness of a partial input: its writer holds an open-file-description lock (F_OFD_SETLK)
 * on byte `id` of "<db>-lock", taken before the partial row becomes visible and released
 * after the row is complete. The kernel drops the lock when the writer dies (kill -9
 * included), so a partial input whose byte can be locked has no writer and may be deleted.
 * OFD locks are used rather than POSIX ones because closing any descriptor of a file drops
 * all of the process's POSIX locks on it, and two handles in one process must not see each
 * other's inputs as dead. */
#include "store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

struct sq {
    sqlite3 *db;
    int lock_fd; /* "<db>-lock", opened on first use; -1 before */
    char *lock_path;
    sqlite3_stmt *ins[KS_TBL_COUNT]; /* INSERT per data table, prepared on first use */
    sqlite3_stmt *begin, *commit, *rollback, *set_rows, *set_complete;
};

static struct sq *SQ(struct ks_store *s)
{
    return s->impl;
}

/* --- errors -------------------------------------------------------------------------------- */

static bool fsize_limited(void)
{
    struct rlimit rl;
    return getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY;
}

/* Maps a SQLite result to a kansoku error with a message that names the file, says what
 * happened and what to do. */
static int fail_rc(struct ks_store *s, int rc, const char *doing)
{
    sqlite3 *db = SQ(s) ? SQ(s)->db : NULL;
    int prim = rc & 0xff;
    int sys = db ? sqlite3_system_errno(db) : 0;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if (prim == SQLITE_CORRUPT || prim == SQLITE_NOTADB)
        return store_fail(s, KS_ECORRUPT,
                          "%s: not a kansoku database, or damaged (%s, while %s): restore it "
                          "from a backup, or move it away to start a new store",
                          s->spec, msg, doing);
    /* A full disk is SQLITE_FULL; a file size limit (ulimit -f, EFBIG) is a plain write
     * error whose errno SQLite may have lost by the time it reports, hence the rlimit. */
    if (prim == SQLITE_FULL || (prim == SQLITE_IOERR && (sys == ENOSPC || sys == EDQUOT)))
        return store_fail(s, KS_ENOSPC,
                          "%s: disk full while %s: free space and re-run; what was committed "
                          "before is kept",
                          s->spec, doing);
    if (prim == SQLITE_IOERR && (sys == EFBIG || fsize_limited()))
        return store_fail(s, KS_ENOSPC,
                          "%s: file size limit (ulimit -f) or disk full while %s: raise the "
                          "limit or free space and re-run; what was committed before is kept",
                          s->spec, doing);
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return store_fail(s, KS_ESTORE,
                          "%s: locked by another process for more than %u ms while %s: retry "
                          "when it is done",
                          s->spec, s->cfg.busy_timeout_ms, doing);
    if (prim == SQLITE_READONLY)
        return store_fail(s, KS_EIO,
                          "%s: cannot write (%s) while %s: check the permissions of the file "
                          "and its directory",
                          s->spec, msg, doing);
    if (prim == SQLITE_CANTOPEN)
        return store_fail(s, KS_EIO,
                          "%s: cannot open the database (%s): check the path and "
                          "permissions",
                          s->spec, sys ? strerror(sys) : msg);
    if (prim == SQLITE_IOERR)
        return store_fail(s, KS_EIO, "%s: I/O error while %s (%s)", s->spec, doing,
                          sys ? strerror(sys) : msg);
    if (prim == SQLITE_NOMEM)
        return store_fail(s, KS_ENOMEM, "%s: out of memory while %s", s->spec, doing);
    return store_fail(s, KS_ESTORE, "%s: database error while %s: %s", s->spec, doing, msg);
}

static int exec(struct ks_store *s, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(SQ(s)->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? KS_OK : fail_rc(s, rc, doing);
}

/* Runs a prepared statement to completion (its bindings stay). */
static int run(struct ks_store *s, sqlite3_stmt *st, const char *doing)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? KS_OK : fail_rc(s, rc, doing);
}

static int prepare(struct ks_store *s, const char *sql, sqlite3_stmt **st, const char *doing)
{
    int rc = sqlite3_prepare_v3(SQ(s)->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    return rc == SQLITE_OK ? KS_OK : fail_rc(s, rc, doing);
}

static void rollback_if_open(struct ks_store *s)
{
    if (!sqlite3_get_autocommit(SQ(s)->db))
        sqlite3_exec(SQ(s)->db, "ROLLBACK", NULL, NULL, NULL);
}

/* --- the file header ----------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks an existing file before SQLite sees it, so that a foreign or truncated file gets a
 * clear message at open instead of an error in the middle of some later query. SQLite file
 * format, section 1.3: magic, page size at 16, change counter at 24, page count at 28 (valid
 * when the "version-valid-for" number at 92 equals the change counter). */
static int check_header(struct ks_store *s, const char *path)
{
    unsigned char h[100];
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return KS_OK; /* missing (a new store) or unreadable: SQLite says which */
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return store_fail(s, KS_EIO, "%s: not a regular file: give the path of a database file",
                          path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return KS_OK; /* an empty file becomes a new store */
    }
    ssize_t n = pread(fd, h, sizeof h, 0);
    close(fd);
    if (n < 0)
        return store_fail(s, KS_EIO, "%s: cannot read (%s)", path, strerror(errno));
    if ((size_t)n < sizeof h || memcmp(h, "SQLite format 3", 16) != 0)
        return store_fail(s, KS_ECORRUPT,
                          "%s: not a kansoku database (not an SQLite file, or its header is "
                          "damaged): restore it from a backup, or move it away to start a new "
                          "store",
                          path);
    uint32_t psize = (uint32_t)h[16] << 8 | h[17];
    if (psize == 1)
        psize = 65536;
    if (psize < 512 || (psize & (psize - 1)))
        return store_fail(s, KS_ECORRUPT,
                          "%s: damaged database header (page size %u): restore it from a "
                          "backup, or move it away to start a new store",
                          path, psize);
    /* With a non-empty WAL the file may be mid-checkpoint (its header ahead of its pages,
     * e.g. after a checkpoint stopped by a full disk): the WAL still holds those pages. */
    char wal[4096];
    struct stat wb;
    snprintf(wal, sizeof wal, "%s-wal", path);
    bool wal_live = stat(wal, &wb) == 0 && wb.st_size > 32;
    uint32_t pages = be32(h + 28);
    if (!wal_live && be32(h + 92) == be32(h + 24) && pages > 0 &&
        (uint64_t)sb.st_size < (uint64_t)pages * psize)
        return store_fail(s, KS_ECORRUPT,
                          "%s: truncated database (%" PRIu64 " of %" PRIu64
                          " bytes): restore it from a backup, or move it away to start a new "
                          "store",
                          path, (uint64_t)sb.st_size, (uint64_t)pages * psize);
    return KS_OK;
}

/* --- schema and migrations ----------------------------------------------------------------- */

static const char *sql_type(enum ks_store_type t)
{
    switch (t) {
    case KS_TYPE_F64:
        return "REAL";
    case KS_TYPE_TEXT:
    case KS_TYPE_ADDR:
        return "TEXT";
    case KS_TYPE_BLOB:
        return "BLOB";
    default:
        return "INTEGER";
    }
}

/* Appends to a fixed buffer; overflow is a programmer error (the schema is static). */
struct sbuf {
    char b[4096];
    size_t n;
    bool over;
};

static void sb_add(struct sbuf *b, const char *fmt, ...) KS_PRINTF(2, 3);
static void sb_add(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b->b + b->n, sizeof b->b - b->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof b->b - b->n)
        b->over = true;
    else
        b->n += (size_t)k;
}

static void col_def(struct sbuf *b, const struct ks_store_column *c)
{
    if (c->flags & KS_COL_PK)
        sb_add(b, "%s INTEGER PRIMARY KEY AUTOINCREMENT", c->name);
    else
        sb_add(b, "%s %s%s", c->name, sql_type(c->type),
               (c->flags & KS_COL_NULLABLE) ? "" : " NOT NULL");
}

/* A rollup added by version v over a raw table that existed before: its rows are
 * computed from the raw rows already stored (per input, as the ingest would have), so that
 * readers find rollups for every input. Keys are the columns' text as the ingest makes it
 * (integers in decimal; the measure summed as REAL). */
static int backfill_rollups(struct ks_store *s, int v)
{
    size_t n;
    const struct ks_store_rollup *r = store_schema_rollups(&n);
    for (size_t i = 0; i < n; i++) {
        const struct ks_store_table *src = ks_store_table(r[i].src);
        const struct ks_store_table *dst = ks_store_table(r[i].dst);
        if (r[i].since != v || src->since >= v)
            continue;
        struct sbuf b = {.n = 0};
        char bucket[32];
        snprintf(bucket, sizeof bucket, "%" PRId64, r[i].bucket_us);
        sb_add(&b,
               "INSERT INTO %s (input_id, ts, src, sensor, k1, k2, n, v) SELECT input_id, "
               "%s - ((%s %% %s) + %s) %% %s, '%s', ",
               dst->name, r[i].ts, r[i].ts, bucket, bucket, bucket, r[i].name);
        const char *keys[3] = {r[i].sensor, r[i].k1, r[i].k2};
        for (int k = 0; k < 3; k++)
            if (keys[k])
                sb_add(&b, "coalesce(CAST(%s AS TEXT), ''), ", keys[k]);
            else
                sb_add(&b, "'', ");
        if (r[i].measure)
            sb_add(&b, "count(*), total(%s) ", r[i].measure);
        else
            sb_add(&b, "count(*), 0.0 ");
        sb_add(&b, "FROM %s GROUP BY 1, 2, 4, 5, 6", src->name);
        if (b.over)
            return store_fail(s, KS_ESTORE, "rollup %s too long", r[i].name);
        int rc = exec(s, b.b, "computing the rollups of stored rows");
        if (rc != KS_OK)
            return rc;
    }
    return KS_OK;
}

/* The statements that take the schema from version v-1 to v. */
static int migrate_step(struct ks_store *s, const struct ks_store_version *ver)
{
    int v = ver->version, rc;
    struct sbuf b;
    for (int id = 0; id < KS_TBL_COUNT; id++) {
        const struct ks_store_table *t = ks_store_table(id);
        if (t->since == v) {
            b.n = 0;
            b.over = false;
            sb_add(&b, "CREATE TABLE %s (", t->name);
            bool first = true;
            if (!(t->flags & KS_TABLE_SYSTEM)) {
                /* Not enforced (foreign_keys stays off: a lookup per row); the store deletes
                 * an input's rows itself. */
                sb_add(&b, "input_id INTEGER NOT NULL REFERENCES inputs(id)");
                first = false;
            }
            for (unsigned i = 0; i < t->ncols; i++) {
                if (t->cols[i].since > v)
                    continue;
                sb_add(&b, "%s", first ? "" : ", ");
                col_def(&b, &t->cols[i]);
                first = false;
            }
            sb_add(&b, ")");
        } else if (t->since < v) {
            b.n = 0;
            b.over = false;
            for (unsigned i = 0; i < t->ncols; i++) {
                if (t->cols[i].since != v)
                    continue;
                sb_add(&b, "ALTER TABLE %s ADD COLUMN ", t->name);
                col_def(&b, &t->cols[i]);
                sb_add(&b, ";");
            }
            if (b.n == 0)
                continue;
        } else {
            continue;
        }
        if (b.over)
            return store_fail(s, KS_ESTORE, "schema of %s too long", t->name);
        if ((rc = exec(s, b.b, "migrating the schema")) != KS_OK)
            return rc;
    }
    size_t nidx;
    const struct ks_store_index *idx = store_schema_indexes(&nidx);
    for (size_t i = 0; i < nidx; i++) {
        if (idx[i].since != v)
            continue;
        b.n = 0;
        b.over = false;
        sb_add(&b, "CREATE INDEX %s ON %s (%s)", idx[i].name, ks_store_table(idx[i].table)->name,
               idx[i].cols);
        if ((rc = exec(s, b.b, "migrating the schema")) != KS_OK)
            return rc;
    }
    if (ver->sqlite_sql && (rc = exec(s, ver->sqlite_sql, "migrating the schema")) != KS_OK)
        return rc;
    return backfill_rollups(s, v);
}

/* Reads the schema version: 0 for an empty database, -1 for a foreign one (tables but no
 * meta). */
static int read_version(struct ks_store *s, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(SQ(s)->db,
                                "SELECT (SELECT count(*) FROM sqlite_master),"
                                " (SELECT count(*) FROM sqlite_master WHERE name = 'meta')",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(s, rc, "reading the schema");
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return fail_rc(s, rc, "reading the schema");
    }
    int64_t objects = sqlite3_column_int64(st, 0), meta = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    if (objects == 0) {
        *version = 0;
        return KS_OK;
    }
    if (meta == 0) {
        *version = -1;
        return KS_OK;
    }
    rc = sqlite3_prepare_v2(SQ(s)->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                            &st, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(s, rc, "reading the schema version");
    rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return fail_rc(s, rc, "reading the schema version");
    }
    sqlite3_finalize(st);
    return KS_OK;
}

static int migrate(struct ks_store *s)
{
    int rc, v;
    /* IMMEDIATE: the version is read again under the write lock, so that two processes
     * opening an old database migrate it once. */
    if ((rc = exec(s, "BEGIN IMMEDIATE", "starting the migration")) != KS_OK)
        return rc;
    if ((rc = read_version(s, &v)) != KS_OK)
        goto out;
    if (v < 0 || v > KS_STORE_SCHEMA_VERSION) {
        rc = KS_ESTORE; /* checked again by the caller */
        goto out;
    }
    if (v == 0)
        rc = exec(s, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                  "creating the schema");
    size_t nver;
    const struct ks_store_version *ver = store_schema_versions(&nver);
    for (size_t i = 0; rc == KS_OK && i < nver; i++)
        if (ver[i].version > v)
            rc = migrate_step(s, &ver[i]);
    if (rc == KS_OK) {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', '%d')",
                 KS_STORE_SCHEMA_VERSION);
        rc = exec(s, sql, "recording the schema version");
    }
    if (rc == KS_OK)
        rc = exec(s, "COMMIT", "committing the migration");
out:
    rollback_if_open(s);
    return rc;
}

static void sq_close(struct ks_store *s)
{
    struct sq *q = SQ(s);
    if (!q)
        return;
    for (int i = 0; i < KS_TBL_COUNT; i++)
        sqlite3_finalize(q->ins[i]);
    sqlite3_finalize(q->begin);
    sqlite3_finalize(q->commit);
    sqlite3_finalize(q->rollback);
    sqlite3_finalize(q->set_rows);
    sqlite3_finalize(q->set_complete);
    sqlite3_close(q->db);
    if (q->lock_fd >= 0)
        close(q->lock_fd); /* drops the liveness marks of this handle */
    free(q->lock_path);
    free(q);
    s->impl = NULL;
}

static int sq_open(struct ks_store *s, const char *path)
{
    struct sq *q = calloc(1, sizeof *q);
    int rc, v = 0;
    char pragmas[256];
    if (!q)
        return store_fail(s, KS_ENOMEM, "%s: out of memory", path);
    q->lock_fd = -1;
    s->impl = q;
    if ((rc = check_header(s, path)) != KS_OK)
        return rc;
    size_t len = strlen(path);
    if (!(q->lock_path = malloc(len + 6)))
        return store_fail(s, KS_ENOMEM, "%s: out of memory", path);
    memcpy(q->lock_path, path, len);
    memcpy(q->lock_path + len, "-lock", 6);

    int flags =
        SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
        (s->cfg.readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    rc = sqlite3_open_v2(path, &q->db, flags, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(s, rc, "opening");
    sqlite3_extended_result_codes(q->db, 1);
    if (!s->cfg.readonly && sqlite3_db_readonly(q->db, "main") == 1)
        return store_fail(s, KS_EIO,
                          "%s: the file is read-only: check its permissions (or use a command "
                          "that only reads)",
                          path);
    sqlite3_busy_timeout(q->db, (int)s->cfg.busy_timeout_ms);
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA cache_size = -%u; PRAGMA foreign_keys = OFF; PRAGMA synchronous = NORMAL;",
             (s->cfg.cache_mb ? s->cfg.cache_mb : 64) * 1024);
    if ((rc = exec(s, pragmas, "opening")) != KS_OK)
        return rc;
    if ((rc = read_version(s, &v)) != KS_OK)
        return rc;
    if (v < 0)
        return store_fail(s, KS_ECORRUPT,
                          "%s: an SQLite database but not a kansoku store (no schema version): "
                          "choose another --db path",
                          path);
    s->version_before = v;
    if (v > KS_STORE_SCHEMA_VERSION)
        return store_fail(s, KS_ESTORE,
                          "%s: schema version %d is newer than this kansoku knows (%d): use a "
                          "newer kansoku",
                          path, v, KS_STORE_SCHEMA_VERSION);
    if (!s->cfg.readonly) {
        /* WAL: readers do not block the writer, and a commit is one append. */
        if ((rc = exec(s, "PRAGMA journal_mode = WAL", "switching to WAL")) != KS_OK)
            return rc;
    }
    if (v < KS_STORE_SCHEMA_VERSION) {
        if (s->cfg.readonly || s->cfg.no_migrate)
            return store_fail(s, KS_ESTORE,
                              "%s: schema version %d is older than this kansoku's (%d): run "
                              "'kansoku db migrate --db %s'",
                              path, v, KS_STORE_SCHEMA_VERSION, path);
        rc = migrate(s);
        if (rc == KS_ESTORE && !s->err[0]) {
            /* Another process changed the version between the two reads. */
            if ((rc = read_version(s, &v)) == KS_OK)
                rc = store_fail(s, KS_ESTORE, "%s: unexpected schema version %d", path, v);
        }
        if (rc != KS_OK)
            return rc;
    }
    s->version_now = KS_STORE_SCHEMA_VERSION;
    if (s->cfg.readonly)
        return KS_OK;
    if ((rc = prepare(s, "BEGIN IMMEDIATE", &q->begin, "preparing")) != KS_OK ||
        (rc = prepare(s, "COMMIT", &q->commit, "preparing")) != KS_OK ||
        (rc = prepare(s, "ROLLBACK", &q->rollback, "preparing")) != KS_OK ||
        (rc = prepare(s, "UPDATE inputs SET rows = ?1 WHERE id = ?2", &q->set_rows, "preparing")) !=
            KS_OK ||
        (rc = prepare(s,
                      "UPDATE inputs SET rows = ?1, status = 'complete', finished = ?3 "
                      "WHERE id = ?2",
                      &q->set_complete, "preparing")) != KS_OK)
        return rc;
    return KS_OK;
}

/* --- liveness marks ------------------------------------------------------------------------ */

static int lock_file(struct ks_store *s)
{
    struct sq *q = SQ(s);
    if (q->lock_fd >= 0)
        return KS_OK;
    q->lock_fd = open(q->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (q->lock_fd < 0)
        return store_fail(s, KS_EIO,
                          "%s: cannot open the lock file %s (%s): check the "
                          "permissions of the database's directory",
                          s->spec, q->lock_path, strerror(errno));
    return KS_OK;
}

static int mark(struct ks_store *s, int64_t id, short type, int cmd)
{
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = (off_t)id, .l_len = 1};
    int rc = fcntl(SQ(s)->lock_fd, cmd, &fl);
    if (rc != 0)
        return -errno;
    return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

/* 1 if a live writer (another handle or process) holds the input, 0 if not. */
static int writer_alive(struct ks_store *s, int64_t id)
{
    int r = mark(s, id, F_WRLCK, F_OFD_GETLK);
    return r < 0 ? 1 : r; /* if in doubt, alive: never delete what may be written */
}

/* --- inputs -------------------------------------------------------------------------------- */

static int delete_input(struct ks_store *s, int64_t id)
{
    char sql[160];
    int rc;
    for (int t = 0; t < KS_TBL_COUNT; t++) {
        if (ks_store_table(t)->flags & KS_TABLE_SYSTEM)
            continue;
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE input_id = %" PRId64,
                 ks_store_table(t)->name, id);
        if ((rc = exec(s, sql, "deleting an input's rows")) != KS_OK)
            return rc;
    }
    snprintf(sql, sizeof sql, "DELETE FROM inputs WHERE id = %" PRId64, id);
    return exec(s, sql, "deleting an input");
}

/* Collects the partial inputs (optionally of one identity) inside the current transaction. */
static int partial_ids(struct ks_store *s, const struct ks_store_input *in, int64_t *ids,
                       size_t cap, size_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(SQ(s)->db,
                                in ? "SELECT id FROM inputs WHERE status = 'partial' AND "
                                     "sha256 = ?1 AND size = ?2"
                                   : "SELECT id FROM inputs WHERE status = 'partial'",
                                -1, &st, NULL);
    *n = 0;
    if (rc != SQLITE_OK)
        return fail_rc(s, rc, "listing partial inputs");
    if (in) {
        sqlite3_bind_text(st, 1, in->sha256, 64, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (int64_t)in->size);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap)
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_rc(s, rc, "listing partial inputs");
    return KS_OK;
}

/* Deletes the dead partial inputs among ids; *alive counts the others. In a transaction. */
static int reap(struct ks_store *s, const int64_t *ids, size_t n, uint64_t *removed,
                uint64_t *alive)
{
    for (size_t i = 0; i < n; i++) {
        if (ids[i] == s->active_input || writer_alive(s, ids[i])) {
            (*alive)++;
            continue;
        }
        int rc = delete_input(s, ids[i]);
        if (rc != KS_OK)
            return rc;
        (*removed)++;
    }
    return KS_OK;
}

static int sq_cleanup(struct ks_store *s, uint64_t *removed)
{
    int64_t ids[256];
    size_t n;
    uint64_t gone = 0, alive = 0;
    int rc;
    /* A cheap look first: most opens find nothing to do and need no write lock. */
    if ((rc = partial_ids(s, NULL, ids, 1, &n)) != KS_OK || n == 0)
        goto done;
    if (lock_file(s) != KS_OK) {
        rc = KS_OK; /* cannot tell who is alive: leave them */
        goto done;
    }
    /* Only take the write lock when some writer looks dead: a live ingest elsewhere must not
     * make every open wait for its batch. The verdict is checked again under the lock. */
    if ((rc = partial_ids(s, NULL, ids, sizeof ids / sizeof ids[0], &n)) != KS_OK)
        goto done;
    size_t dead = 0;
    for (size_t i = 0; i < n; i++)
        dead += ids[i] != s->active_input && !writer_alive(s, ids[i]);
    if (dead == 0)
        goto done;
    do {
        uint64_t before = gone;
        if ((rc = exec(s, "BEGIN IMMEDIATE", "cleaning up partial inputs")) != KS_OK)
            goto done;
        alive = 0;
        rc = partial_ids(s, NULL, ids, sizeof ids / sizeof ids[0], &n);
        if (rc == KS_OK)
            rc = reap(s, ids, n, &gone, &alive);
        if (rc == KS_OK)
            rc = exec(s, "COMMIT", "cleaning up partial inputs");
        rollback_if_open(s);
        if (rc != KS_OK || gone == before)
            break;
    } while (n == sizeof ids / sizeof ids[0]);
done:
    if (removed)
        *removed = gone;
    return rc;
}

static int sq_input_begin(struct ks_store *s, const struct ks_store_input *in, unsigned flags,
                          int64_t *idp, int64_t *replace_id)
{
    struct sq *q = SQ(s);
    sqlite3_stmt *st = NULL;
    int64_t ids[64], id = 0;
    size_t n;
    uint64_t gone = 0, alive = 0;
    int rc;
    *replace_id = 0;
    if ((rc = lock_file(s)) != KS_OK)
        return rc;
    if ((rc = run(s, q->begin, "registering the input")) != KS_OK)
        return rc;
    /* A complete input with this identity is a duplicate (or, with FORCE, replaced). */
    rc = sqlite3_prepare_v2(q->db,
                            "SELECT id FROM inputs WHERE status = 'complete' AND sha256 = ?1 "
                            "AND size = ?2 ORDER BY id DESC LIMIT 1",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = fail_rc(s, rc, "looking up the input");
        goto out;
    }
    sqlite3_bind_text(st, 1, in->sha256, 64, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)in->size);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *replace_id = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_DONE) {
        rc = fail_rc(s, rc, "looking up the input");
        goto out;
    }
    rc = KS_OK;
    if (*replace_id && !(flags & KS_STORE_FORCE)) {
        rc = store_fail(s, KS_EEXIST,
                        "%s: already ingested (input %" PRId64 ", sha256 %.16s...): use "
                        "--force to replace it",
                        in->name, *replace_id, in->sha256);
        goto out;
    }
    /* Partial inputs of the same identity: left by a crash (delete) or being written now. */
    if ((rc = partial_ids(s, in, ids, sizeof ids / sizeof ids[0], &n)) != KS_OK ||
        (rc = reap(s, ids, n, &gone, &alive)) != KS_OK)
        goto out;
    if (alive) {
        rc = store_fail(s, KS_EEXIST,
                        "%s: being ingested right now by another process: wait for it to "
                        "finish",
                        in->name);
        goto out;
    }
    sqlite3_finalize(st);
    rc = sqlite3_prepare_v2(q->db,
                            "INSERT INTO inputs (sha256, size, name, kind, started, status, "
                            "rows) VALUES (?1, ?2, ?3, ?4, ?5, 'partial', 0)",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = fail_rc(s, rc, "registering the input");
        goto out;
    }
    sqlite3_bind_text(st, 1, in->sha256, 64, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)in->size);
    sqlite3_bind_text(st, 3, in->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, in->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, store_now_us());
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        rc = fail_rc(s, rc, "registering the input");
        goto out;
    }
    id = sqlite3_last_insert_rowid(q->db);
    /* The mark is taken before the partial row becomes visible (at COMMIT). */
    if (mark(s, id, F_WRLCK, F_OFD_SETLK) != 0) {
        rc = store_fail(s, KS_ESTORE, "%s: cannot lock input %" PRId64 " in %s (%s)", s->spec, id,
                        q->lock_path, strerror(errno));
        goto out;
    }
    rc = run(s, q->commit, "registering the input");
    if (rc != KS_OK)
        mark(s, id, F_UNLCK, F_OFD_SETLK);
out:
    sqlite3_finalize(st);
    rollback_if_open(s);
    *idp = id;
    return rc;
}

static int sq_txn_begin(struct ks_store *s)
{
    return run(s, SQ(s)->begin, "starting a batch");
}

static int sq_row(struct ks_store *s, int64_t input_id, int table, const struct ks_store_value *v)
{
    struct sq *q = SQ(s);
    const struct ks_store_table *t = ks_store_table(table);
    sqlite3_stmt *st = q->ins[table];
    int rc;
    if (!st) {
        struct sbuf b = {.n = 0};
        sb_add(&b, "INSERT INTO %s (input_id", t->name);
        for (unsigned i = 0; i < t->ncols; i++)
            sb_add(&b, ", %s", t->cols[i].name);
        sb_add(&b, ") VALUES (?");
        for (unsigned i = 0; i < t->ncols; i++)
            sb_add(&b, ", ?");
        sb_add(&b, ")");
        if ((rc = prepare(s, b.b, &q->ins[table], "preparing an insert")) != KS_OK)
            return rc;
        st = q->ins[table];
    }
    sqlite3_bind_int64(st, 1, input_id);
    for (unsigned i = 0; i < t->ncols; i++) {
        int k = (int)i + 2;
        switch (v[i].type) {
        case KS_TYPE_NULL:
            sqlite3_bind_null(st, k);
            break;
        case KS_TYPE_F64:
            sqlite3_bind_double(st, k, v[i].v.f64);
            break;
        case KS_TYPE_TEXT:
        case KS_TYPE_ADDR:
            sqlite3_bind_text(st, k, v[i].v.bytes.ptr, (int)v[i].v.bytes.len, SQLITE_STATIC);
            break;
        case KS_TYPE_BLOB:
            sqlite3_bind_blob(st, k, v[i].v.bytes.ptr, (int)v[i].v.bytes.len, SQLITE_STATIC);
            break;
        default:
            sqlite3_bind_int64(st, k, v[i].v.i64);
            break;
        }
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return fail_rc(s, rc, "writing rows");
    return KS_OK;
}

static int sq_txn_commit(struct ks_store *s, int64_t input_id, uint64_t rows, bool complete,
                         int64_t replace_id)
{
    struct sq *q = SQ(s);
    int rc;
    sqlite3_stmt *st = complete ? q->set_complete : q->set_rows;
    sqlite3_bind_int64(st, 1, (int64_t)rows);
    sqlite3_bind_int64(st, 2, input_id);
    if (complete)
        sqlite3_bind_int64(st, 3, store_now_us());
    rc = run(s, st, "recording the input's rows");
    if (rc == KS_OK && complete && replace_id)
        rc = delete_input(s, replace_id);
    if (rc == KS_OK)
        rc = run(s, q->commit, complete ? "completing the input" : "committing a batch");
    if (rc != KS_OK)
        rollback_if_open(s);
    return rc;
}

static void sq_txn_rollback(struct ks_store *s)
{
    rollback_if_open(s);
}

static int sq_input_abandon(struct ks_store *s, int64_t id)
{
    int rc = exec(s, "BEGIN IMMEDIATE", "discarding the input");
    if (rc == KS_OK)
        rc = delete_input(s, id);
    if (rc == KS_OK)
        rc = exec(s, "COMMIT", "discarding the input");
    rollback_if_open(s);
    mark(s, id, F_UNLCK, F_OFD_SETLK);
    return rc;
}

static void sq_input_release(struct ks_store *s, int64_t id)
{
    mark(s, id, F_UNLCK, F_OFD_SETLK);
}

/* --- reading ------------------------------------------------------------------------------- */

static int sq_inputs(struct ks_store *s, int (*fn)(void *, const struct ks_store_input_info *),
                     void *user)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(SQ(s)->db,
                                "SELECT id, sha256, size, name, kind, started, "
                                "coalesce(finished, 0), status, rows FROM inputs ORDER BY id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(s, rc, "listing inputs");
    int ret = KS_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct ks_store_input_info in = {0};
        in.id = sqlite3_column_int64(st, 0);
        snprintf(in.sha256, sizeof in.sha256, "%s", (const char *)sqlite3_column_text(st, 1));
        in.size = (uint64_t)sqlite3_column_int64(st, 2);
        in.name = (const char *)sqlite3_column_text(st, 3);
        in.kind = (const char *)sqlite3_column_text(st, 4);
        in.started = sqlite3_column_int64(st, 5);
        in.finished = sqlite3_column_int64(st, 6);
        in.status = (const char *)sqlite3_column_text(st, 7);
        in.rows = (uint64_t)sqlite3_column_int64(st, 8);
        if (!in.name || !in.kind || !in.status) {
            ret = fail_rc(s, SQLITE_NOMEM, "listing inputs");
            break;
        }
        if ((ret = fn(user, &in)) != 0)
            break;
    }
    if (ret == KS_OK && rc != SQLITE_DONE)
        ret = fail_rc(s, rc, "listing inputs");
    sqlite3_finalize(st);
    return ret;
}

static int count(struct ks_store *s, const char *sql, uint64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(SQ(s)->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return fail_rc(s, rc, "counting rows");
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? KS_OK : fail_rc(s, rc, "counting rows");
}

static int sq_info(struct ks_store *s, struct ks_store_info *info)
{
    char sql[256];
    int rc;
    struct stat sb;
    if (stat(s->spec, &sb) == 0)
        info->file_bytes = (uint64_t)sb.st_size;
    /* One read transaction: all counts from the same snapshot. */
    if ((rc = exec(s, "BEGIN", "reading")) != KS_OK)
        return rc;
    if ((rc = count(s, "SELECT count(*) FROM inputs WHERE status = 'complete'",
                    &info->inputs_complete)) != KS_OK ||
        (rc = count(s, "SELECT count(*) FROM inputs WHERE status != 'complete'",
                    &info->inputs_partial)) != KS_OK)
        goto out;
    for (int t = 0; t < KS_TBL_COUNT && t < KS_STORE_MAX_TABLES; t++) {
        const struct ks_store_table *d = ks_store_table(t);
        info->tables[t].name = d->name;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", d->name);
        if ((rc = count(s, sql, &info->tables[t].rows)) != KS_OK)
            goto out;
        if (d->flags & KS_TABLE_SYSTEM) {
            info->tables[t].rows_complete = info->inputs_complete;
        } else {
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM %s WHERE input_id IN "
                     "(SELECT id FROM inputs WHERE status = 'complete')",
                     d->name);
            if ((rc = count(s, sql, &info->tables[t].rows_complete)) != KS_OK)
                goto out;
        }
        info->ntables = (unsigned)t + 1;
    }
out:
    rollback_if_open(s);
    return rc;
}

static int sq_query(struct ks_store *s, const char *sql, const struct ks_store_value *params,
                    size_t nparams,
                    int (*fn)(void *, size_t, const char *const *, const struct ks_store_value *),
                    void *user)
{
    sqlite3_stmt *st = NULL;
    const char *names[64];
    struct ks_store_value vals[64];
    int ret = KS_OK;
    int rc = sqlite3_prepare_v2(SQ(s)->db, sql, -1, &st, NULL);
    if (rc == SQLITE_ERROR)
        return store_fail(s, KS_EINVAL, "%s: bad query: %s", s->spec, sqlite3_errmsg(SQ(s)->db));
    if (rc != SQLITE_OK)
        return fail_rc(s, rc, "querying");
    if (!st)
        return KS_OK; /* empty statement */
    if (!sqlite3_stmt_readonly(st)) {
        sqlite3_finalize(st);
        return store_fail(s, KS_EINVAL, "%s: ks_store_query runs only read-only statements",
                          s->spec);
    }
    int ncols = sqlite3_column_count(st);
    if (ncols > 64) {
        sqlite3_finalize(st);
        return store_fail(s, KS_EINVAL, "%s: query returns more than 64 columns", s->spec);
    }
    for (size_t i = 0; i < nparams; i++) {
        const struct ks_store_value *p = &params[i];
        int k = (int)i + 1;
        switch (p->type) {
        case KS_TYPE_NULL:
            sqlite3_bind_null(st, k);
            break;
        case KS_TYPE_F64:
            sqlite3_bind_double(st, k, p->v.f64);
            break;
        case KS_TYPE_TEXT:
        case KS_TYPE_ADDR:
            sqlite3_bind_text(st, k, p->v.bytes.ptr, (int)p->v.bytes.len, SQLITE_STATIC);
            break;
        case KS_TYPE_BLOB:
            sqlite3_bind_blob(st, k, p->v.bytes.ptr, (int)p->v.bytes.len, SQLITE_STATIC);
            break;
        default:
            sqlite3_bind_int64(st, k, p->v.i64);
            break;
        }
    }
    for (int i = 0; i < ncols; i++)
        names[i] = sqlite3_column_name(st, i);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) {
            struct ks_store_value *v = &vals[i];
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER:
                v->type = KS_TYPE_I64;
                v->v.i64 = sqlite3_column_int64(st, i);
                break;
            case SQLITE_FLOAT:
                v->type = KS_TYPE_F64;
                v->v.f64 = sqlite3_column_double(st, i);
                break;
            case SQLITE_TEXT:
                v->type = KS_TYPE_TEXT;
                v->v.bytes.ptr = sqlite3_column_text(st, i);
                v->v.bytes.len = (size_t)sqlite3_column_bytes(st, i);
                break;
            case SQLITE_BLOB:
                v->type = KS_TYPE_BLOB;
                v->v.bytes.ptr = sqlite3_column_blob(st, i);
                v->v.bytes.len = (size_t)sqlite3_column_bytes(st, i);
                break;
            default:
                v->type = KS_TYPE_NULL;
                v->v.u64 = 0;
            }
        }
        if ((ret = fn(user, (size_t)ncols, names, vals)) != 0)
            break;
    }
    if (ret == KS_OK && rc != SQLITE_DONE)
        ret = fail_rc(s, rc, "querying");
    sqlite3_finalize(st);
    return ret;
}

const struct ks_store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .cleanup = sq_cleanup,
    .input_begin = sq_input_begin,
    .txn_begin = sq_txn_begin,
    .row = sq_row,
    .txn_commit = sq_txn_commit,
    .txn_rollback = sq_txn_rollback,
    .input_abandon = sq_input_abandon,
    .input_release = sq_input_release,
    .inputs = sq_inputs,
    .info = sq_info,
    .query = sq_query,
};
