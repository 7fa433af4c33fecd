/* The backend-neutral layer of the store: opening by spec, the ingest protocol (row checks,
 * batching by rows and time) and the error messages. */
#include "clickhouse_int.h"
#include "store_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The rollups of one ingest: a bounded hash table of (rollup, bucket, keys) -> (n, v), flushed
 * as rows of the rollup tables into the open batch when it fills and when the input ends, so
 * that rollup rows commit (and count) with the raw rows of the same input. */
#define RU_CAP 131072u      /* entries (a power of two) */
#define RU_ARENA (8u << 20) /* bytes of key text */
#define RU_KEY_MAX 1024u    /* a longer key text is cut */
#define RU_MAX_SPECS 32

struct ru_entry {
    uint64_t hash;
    int64_t ts, n;
    double v;
    uint32_t off[3];
    uint16_t len[3];
    uint8_t spec;
    bool used;
};

struct rollup_acc {
    struct ru_entry *e; /* RU_CAP entries, allocated on the first row that rolls up */
    char *arena;
    size_t used, arena_n;
    size_t nspecs;
    const struct ks_store_rollup *specs;
    int col[RU_MAX_SPECS][5]; /* ts, sensor, k1, k2, measure: column index or -1 */
};

struct ks_ingest {
    struct ks_store *s;
    int64_t input_id;
    int64_t replace_id; /* complete input replaced on success (FORCE), or 0 */
    int err;            /* sticky store error */
    int row_err;        /* error of the row being built */
    int table;          /* table of the row being built, -1 outside a row */
    unsigned ncur;      /* values put so far in this row */
    const struct ks_store_table *t;
    uint64_t rows;       /* rows written (committed or pending) */
    uint64_t committed;  /* rows committed */
    uint32_t batch_rows; /* rows in the open transaction */
    bool in_txn;
    int64_t batch_start_us;
    struct ks_store_value vals[KS_STORE_MAX_COLS];
    char addr[KS_STORE_MAX_COLS][48]; /* text of KS_TYPE_ADDR values */
    struct rollup_acc ru;
};

static void ru_init(struct rollup_acc *r);
static void ru_free(struct rollup_acc *r);

/* The message of the last failed ks_store_open of this thread (no handle to hold it). */
static _Thread_local char open_err[1024];

int store_fail(struct ks_store *s, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return err;
}

int64_t store_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ks_store_config_default(struct ks_store_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch_rows = 50000;
    cfg->batch_ms = 1000;
    cfg->busy_timeout_ms = 10000;
    cfg->cache_mb = 64;
}

int ks_store_open(const char *spec, const struct ks_store_config *cfg, struct ks_store **sp)
{
    struct ks_store *s = NULL;
    int rc;
    *sp = NULL;
    open_err[0] = '\0';
    if (!spec || !*spec) {
        snprintf(open_err, sizeof open_err, "no database path given");
        return KS_EINVAL;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->spec = strdup(spec))) {
        free(s);
        snprintf(open_err, sizeof open_err, "%s: out of memory", spec);
        return KS_ENOMEM;
    }
    if (cfg)
        s->cfg = *cfg;
    else
        ks_store_config_default(&s->cfg);
    if (s->cfg.batch_rows == 0)
        s->cfg.batch_rows = 50000;
    s->be =
        strncmp(spec, "clickhouse:", 11) == 0 ? &store_clickhouse_backend : &store_sqlite_backend;
    rc = s->be->open(s, spec);
    if (rc == KS_OK && !s->cfg.readonly) {
        /* Opportunistic: a busy or full database must still open for reading; the leftovers
         * are not counted meanwhile and are cleaned up at a later open or input_begin. */
        rc = s->be->cleanup(s, NULL);
        if (rc != KS_ECORRUPT) {
            rc = KS_OK;
            s->err[0] = '\0';
        }
    }
    if (rc != KS_OK) {
        snprintf(open_err, sizeof open_err, "%s", s->err);
        ks_store_close(s);
        return rc;
    }
    *sp = s;
    return KS_OK;
}

void ks_store_close(struct ks_store *s)
{
    if (!s)
        return;
    if (s->active) {
        struct ks_ingest *ing = s->active;
        if (ing->in_txn)
            s->be->txn_rollback(s);
        /* As after a crash: the input stays partial; its mark is dropped with the backend. */
        s->active = NULL;
        s->active_input = 0;
        ru_free(&ing->ru);
        free(ing);
    }
    if (s->impl)
        s->be->close(s);
    free(s->spec);
    free(s);
}

const char *ks_store_errmsg(const struct ks_store *s)
{
    return s ? s->err : open_err;
}

const char *ks_store_spec(const struct ks_store *s)
{
    return s->spec;
}

const char *ks_store_backend(const struct ks_store *s)
{
    return s->be->name;
}

void ks_store_versions(const struct ks_store *s, int *before_open, int *now)
{
    if (before_open)
        *before_open = s->version_before;
    if (now)
        *now = s->version_now;
}

int ks_store_cleanup(struct ks_store *s, uint64_t *removed)
{
    if (removed)
        *removed = 0;
    if (s->cfg.readonly)
        return store_fail(s, KS_EINVAL, "%s: opened read-only, cannot clean up", s->spec);
    return s->be->cleanup(s, removed);
}

static bool valid_sha256(const char *h)
{
    size_t i;
    for (i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return h[64] == '\0';
}

int ks_store_input_begin(struct ks_store *s, const struct ks_store_input *in, unsigned flags,
                         struct ks_ingest **ip)
{
    *ip = NULL;
    if (s->cfg.readonly)
        return store_fail(s, KS_EINVAL, "%s: opened read-only, cannot ingest", s->spec);
    if (s->active)
        return store_fail(s, KS_EINVAL, "%s: an ingest is already in progress on this handle",
                          s->spec);
    if (!valid_sha256(in->sha256) || !in->name || !in->kind)
        return store_fail(s, KS_EINVAL, "input needs a lowercase hex sha256, a name and a kind");
    struct ks_ingest *ing = calloc(1, sizeof *ing);
    if (!ing)
        return store_fail(s, KS_ENOMEM, "out of memory");
    ing->s = s;
    ing->table = -1;
    ru_init(&ing->ru);
    int rc = s->be->input_begin(s, in, flags, &ing->input_id, &ing->replace_id);
    if (rc != KS_OK) {
        free(ing);
        return rc;
    }
    s->active = ing;
    s->active_input = ing->input_id;
    *ip = ing;
    return KS_OK;
}

int ks_store_row_begin(struct ks_ingest *ing, int table_id)
{
    const struct ks_store_table *t = ks_store_table(table_id);
    ing->table = -1;
    ing->ncur = 0;
    ing->row_err = KS_OK;
    if (ing->err)
        return ing->err;
    if (!t || (t->flags & KS_TABLE_SYSTEM))
        return store_fail(ing->s, KS_EINVAL, "table %d is not a data table", table_id);
    ing->table = table_id;
    ing->t = t;
    return KS_OK;
}

/* Takes the next column slot, checking the value's type against the descriptor. */
static struct ks_store_value *slot(struct ks_ingest *ing, enum ks_store_type type)
{
    if (ing->table < 0 || ing->row_err)
        return NULL;
    if (ing->ncur >= ing->t->ncols) {
        ing->row_err = store_fail(ing->s, KS_EINVAL, "%s: more values than its %u columns",
                                  ing->t->name, ing->t->ncols);
        return NULL;
    }
    const struct ks_store_column *c = &ing->t->cols[ing->ncur];
    if (type == KS_TYPE_NULL ? !(c->flags & KS_COL_NULLABLE) : type != c->type) {
        ing->row_err =
            store_fail(ing->s, KS_EINVAL, "%s.%s: value of the wrong type", ing->t->name, c->name);
        return NULL;
    }
    struct ks_store_value *v = &ing->vals[ing->ncur++];
    v->type = type;
    return v;
}

void ks_store_put_i64(struct ks_ingest *ing, int64_t x)
{
    struct ks_store_value *v = slot(ing, KS_TYPE_I64);
    if (v)
        v->v.i64 = x;
}

void ks_store_put_u64(struct ks_ingest *ing, uint64_t x)
{
    struct ks_store_value *v = slot(ing, KS_TYPE_U64);
    if (!v)
        return;
    if (x > INT64_MAX)
        ing->row_err = store_fail(ing->s, KS_EINVAL, "%s: u64 value %" PRIu64 " above INT64_MAX",
                                  ing->t->name, x);
    v->v.u64 = x;
}

void ks_store_put_f64(struct ks_ingest *ing, double x)
{
    struct ks_store_value *v = slot(ing, KS_TYPE_F64);
    if (v)
        v->v.f64 = x;
}

void ks_store_put_text(struct ks_ingest *ing, const char *p, size_t len)
{
    struct ks_store_value *v = slot(ing, KS_TYPE_TEXT);
    if (v) {
        v->v.bytes.ptr = p ? p : "";
        v->v.bytes.len = p ? len : 0;
    }
}

void ks_store_put_blob(struct ks_ingest *ing, const void *p, size_t len)
{
    struct ks_store_value *v = slot(ing, KS_TYPE_BLOB);
    if (v) {
        v->v.bytes.ptr = p ? p : "";
        v->v.bytes.len = p ? len : 0;
    }
}

void ks_store_put_time(struct ks_ingest *ing, int64_t t_us)
{
    struct ks_store_value *v = slot(ing, KS_TYPE_TIME);
    if (v)
        v->v.i64 = t_us;
}

void ks_store_put_addr(struct ks_ingest *ing, const struct ks_addr *a)
{
    unsigned i = ing->ncur;
    struct ks_store_value *v = slot(ing, KS_TYPE_ADDR);
    if (!v)
        return;
    size_t n = ks_addr_format(a, ing->addr[i], sizeof ing->addr[i]);
    v->v.bytes.ptr = ing->addr[i];
    v->v.bytes.len = n;
}

void ks_store_put_null(struct ks_ingest *ing)
{
    struct ks_store_value *v = slot(ing, KS_TYPE_NULL);
    if (v)
        v->v.u64 = 0;
}

/* --- rollups ------------------------------------------------------------------------------ */

static int col_index(const struct ks_store_table *t, const char *name)
{
    if (!name)
        return -1;
    for (unsigned i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void ru_init(struct rollup_acc *r)
{
    r->specs = store_schema_rollups(&r->nspecs);
    if (r->nspecs > RU_MAX_SPECS)
        r->nspecs = RU_MAX_SPECS;
    for (size_t i = 0; i < r->nspecs; i++) {
        const struct ks_store_table *t = ks_store_table(r->specs[i].src);
        r->col[i][0] = col_index(t, r->specs[i].ts);
        r->col[i][1] = col_index(t, r->specs[i].sensor);
        r->col[i][2] = col_index(t, r->specs[i].k1);
        r->col[i][3] = col_index(t, r->specs[i].k2);
        r->col[i][4] = col_index(t, r->specs[i].measure);
    }
}

static void ru_free(struct rollup_acc *r)
{
    free(r->e);
    free(r->arena);
    r->e = NULL;
    r->arena = NULL;
}

/* The text of a key value (into tmp when it has to be formatted). */
static void key_text(const struct ks_store_value *v, char *tmp, size_t size, const char **p,
                     size_t *len)
{
    switch (v->type) {
    case KS_TYPE_TEXT:
    case KS_TYPE_ADDR:
    case KS_TYPE_BLOB:
        *p = v->v.bytes.ptr;
        *len = v->v.bytes.len < RU_KEY_MAX ? v->v.bytes.len : RU_KEY_MAX;
        return;
    case KS_TYPE_F64:
        *len = (size_t)snprintf(tmp, size, "%.17g", v->v.f64);
        break;
    case KS_TYPE_U64:
        *len = (size_t)snprintf(tmp, size, "%" PRIu64, v->v.u64);
        break;
    case KS_TYPE_NULL:
        *len = 0;
        break;
    default:
        *len = (size_t)snprintf(tmp, size, "%" PRId64, v->v.i64);
    }
    *p = tmp;
}

/* Writes every entry as a row of its rollup table into the open batch, and empties the table. */
static int ru_flush(struct ks_ingest *ing)
{
    struct rollup_acc *r = &ing->ru;
    struct ks_store *s = ing->s;
    if (!r->e || r->used == 0)
        return KS_OK;
    for (size_t i = 0; i < RU_CAP; i++) {
        struct ru_entry *e = &r->e[i];
        if (!e->used)
            continue;
        const struct ks_store_rollup *sp = &r->specs[e->spec];
        struct ks_store_value v[7] = {{.type = KS_TYPE_TIME}, {.type = KS_TYPE_TEXT},
                                      {.type = KS_TYPE_TEXT}, {.type = KS_TYPE_TEXT},
                                      {.type = KS_TYPE_TEXT}, {.type = KS_TYPE_I64},
                                      {.type = KS_TYPE_F64}};
        v[0].v.i64 = e->ts;
        v[1].v.bytes.ptr = sp->name;
        v[1].v.bytes.len = strlen(sp->name);
        for (int k = 0; k < 3; k++) {
            v[2 + k].v.bytes.ptr = r->arena + e->off[k];
            v[2 + k].v.bytes.len = e->len[k];
        }
        v[5].v.i64 = e->n;
        v[6].v.f64 = e->v;
        int rc = s->be->row(s, ing->input_id, sp->dst, v);
        if (rc != KS_OK)
            return rc;
    }
    memset(r->e, 0, RU_CAP * sizeof *r->e);
    r->used = 0;
    r->arena_n = 0;
    return KS_OK;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Adds the row just written (ing->vals of table) to the rollups that read that table. */
static int ru_add(struct ks_ingest *ing, int table)
{
    struct rollup_acc *r = &ing->ru;
    for (size_t i = 0; i < r->nspecs; i++) {
        const struct ks_store_rollup *sp = &r->specs[i];
        if (sp->src != table || r->col[i][0] < 0)
            continue;
        if (!r->e) {
            r->e = calloc(RU_CAP, sizeof *r->e);
            r->arena = malloc(RU_ARENA);
            if (!r->e || !r->arena) {
                ru_free(r);
                return store_fail(ing->s, KS_ENOMEM, "out of memory for the rollups");
            }
        }
        const struct ks_store_value *tv = &ing->vals[r->col[i][0]];
        int64_t ts = floor_div(tv->v.i64, sp->bucket_us) * sp->bucket_us;
        char tmp[3][32];
        const char *kp[3];
        size_t kl[3];
        uint64_t h = ks_hash_u64((uint64_t)ts, i);
        for (int k = 0; k < 3; k++) {
            int c = r->col[i][1 + k];
            if (c < 0) {
                kp[k] = "";
                kl[k] = 0;
            } else {
                key_text(&ing->vals[c], tmp[k], sizeof tmp[k], &kp[k], &kl[k]);
            }
            h = ks_hash_bytes(kp[k], kl[k], h + (uint64_t)k);
        }
        double m = 0;
        if (r->col[i][4] >= 0) {
            const struct ks_store_value *mv = &ing->vals[r->col[i][4]];
            m = mv->type == KS_TYPE_F64    ? mv->v.f64
                : mv->type == KS_TYPE_NULL ? 0
                                           : (double)mv->v.i64;
        }
        size_t j = (size_t)h & (RU_CAP - 1);
        struct ru_entry *e;
        for (;;) {
            e = &r->e[j];
            if (!e->used)
                break;
            if (e->hash == h && e->spec == i && e->ts == ts && e->len[0] == kl[0] &&
                e->len[1] == kl[1] && e->len[2] == kl[2] &&
                memcmp(r->arena + e->off[0], kp[0], kl[0]) == 0 &&
                memcmp(r->arena + e->off[1], kp[1], kl[1]) == 0 &&
                memcmp(r->arena + e->off[2], kp[2], kl[2]) == 0)
                break;
            j = (j + 1) & (RU_CAP - 1);
        }
        if (!e->used) {
            /* Full (3/4, to keep probes short) or out of key space: flush, then start over. */
            if (r->used >= RU_CAP / 4 * 3 || r->arena_n + kl[0] + kl[1] + kl[2] > RU_ARENA) {
                int rc = ru_flush(ing);
                if (rc != KS_OK)
                    return rc;
                i--; /* this rollup again, into the empty table */
                continue;
            }
            e->used = true;
            e->hash = h;
            e->spec = (uint8_t)i;
            e->ts = ts;
            for (int k = 0; k < 3; k++) {
                e->off[k] = (uint32_t)r->arena_n;
                e->len[k] = (uint16_t)kl[k];
                memcpy(r->arena + r->arena_n, kp[k], kl[k]);
                r->arena_n += kl[k];
            }
            r->used++;
        }
        e->n++;
        e->v += m;
    }
    return KS_OK;
}

/* Commits the open batch; the error (if any) becomes sticky. */
static int commit_batch(struct ks_ingest *ing, bool complete)
{
    struct ks_store *s = ing->s;
    int rc = KS_OK;
    if (!ing->in_txn && complete) {
        rc = s->be->txn_begin(s);
        if (rc != KS_OK)
            return ing->err = rc;
        ing->in_txn = true;
    }
    if (!ing->in_txn)
        return KS_OK;
    if (complete && (rc = ru_flush(ing)) != KS_OK)
        return ing->err = rc;
    rc = s->be->txn_commit(s, ing->input_id, ing->rows, complete, ing->replace_id);
    ing->in_txn = false;
    if (rc != KS_OK)
        return ing->err = rc;
    ing->committed = ing->rows;
    ing->batch_rows = 0;
    return KS_OK;
}

int ks_store_row_end(struct ks_ingest *ing)
{
    struct ks_store *s = ing->s;
    int rc;
    if (ing->err)
        return ing->err;
    if (ing->table < 0)
        return ing->row_err ? ing->row_err : store_fail(s, KS_EINVAL, "row_end without row_begin");
    int table = ing->table;
    ing->table = -1;
    if (ing->row_err)
        return ing->row_err;
    if (ing->ncur != ing->t->ncols)
        return store_fail(s, KS_EINVAL, "%s: %u values for %u columns", ing->t->name, ing->ncur,
                          ing->t->ncols);
    if (!ing->in_txn) {
        rc = s->be->txn_begin(s);
        if (rc != KS_OK)
            return ing->err = rc;
        ing->in_txn = true;
        ing->batch_start_us = mono_us();
    }
    rc = s->be->row(s, ing->input_id, table, ing->vals);
    if (rc == KS_OK)
        rc = ru_add(ing, table);
    if (rc != KS_OK)
        return ing->err = rc;
    ing->rows++;
    ing->batch_rows++;
    /* The clock (and the backend's buffer) is read every 1024 rows: cheap, and a batch
     * overshoots its time by little. */
    if (ing->batch_rows >= s->cfg.batch_rows ||
        ((ing->batch_rows & 1023) == 0 &&
         ((s->cfg.batch_ms && mono_us() - ing->batch_start_us >= (int64_t)s->cfg.batch_ms * 1000) ||
          (s->be->batch_full && s->be->batch_full(s)))))
        return commit_batch(ing, false);
    return KS_OK;
}

int ks_store_put_row(struct ks_ingest *ing, int table_id, const struct ks_store_value *vals,
                     size_t nvals)
{
    int rc = ks_store_row_begin(ing, table_id);
    if (rc != KS_OK)
        return rc;
    for (size_t i = 0; i < nvals; i++) {
        struct ks_store_value *v = slot(ing, vals[i].type);
        if (!v)
            break;
        *v = vals[i];
        if (v->type == KS_TYPE_U64 && v->v.u64 > INT64_MAX)
            ing->row_err =
                store_fail(ing->s, KS_EINVAL, "%s: u64 value above INT64_MAX", ing->t->name);
    }
    return ks_store_row_end(ing);
}

uint64_t ks_store_ingest_rows(const struct ks_ingest *ing)
{
    return ing->rows;
}

uint64_t ks_store_ingest_committed(const struct ks_ingest *ing)
{
    return ing->committed;
}

int ks_store_input_end(struct ks_ingest *ing, bool ok)
{
    if (!ing)
        return KS_EINVAL;
    struct ks_store *s = ing->s;
    int rc = ing->err;
    if (ok && rc == KS_OK)
        rc = commit_batch(ing, true);
    if (!ok || rc != KS_OK) {
        if (ing->in_txn)
            s->be->txn_rollback(s);
        ing->in_txn = false;
        char keep[sizeof s->err];
        memcpy(keep, s->err, sizeof keep);
        s->be->input_abandon(s, ing->input_id); /* best effort; else cleaned up later */
        memcpy(s->err, keep, sizeof keep);
    } else {
        s->be->input_release(s, ing->input_id);
    }
    s->active = NULL;
    s->active_input = 0;
    ru_free(&ing->ru);
    free(ing);
    return rc;
}

int ks_store_inputs(struct ks_store *s, int (*fn)(void *, const struct ks_store_input_info *),
                    void *user)
{
    return s->be->inputs(s, fn, user);
}

int ks_store_info(struct ks_store *s, struct ks_store_info *info)
{
    memset(info, 0, sizeof *info);
    info->backend = s->be->name;
    info->schema_version = s->version_now;
    info->schema_known = KS_STORE_SCHEMA_VERSION;
    return s->be->info(s, info);
}

int ks_store_query(struct ks_store *s, const char *sql, const struct ks_store_value *params,
                   size_t nparams,
                   int (*fn)(void *, size_t, const char *const *, const struct ks_store_value *),
                   void *user)
{
    return s->be->query(s, sql, params, nparams, fn, user);
}
