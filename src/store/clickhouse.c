/* The ClickHouse backend: the same logical schema as SQLite over ClickHouse's HTTP interface
 * (libcurl), for one server or a cluster of shards without ZooKeeper.
 *
 * Layout. Every table of schema.c becomes, on each node, a local table (MergeTree for raw
 * records, SummingMergeTree for the rollups, ReplacingMergeTree for `inputs` and `meta`)
 * and, with a cluster, a Distributed table of the logical name over the local ones
 * ("<name>_local"). Without a cluster the local table has the logical name. Data tables carry
 * one column more than in SQLite, `ks_batch`: the batch that wrote the row.
 *
 * Writes. The writer shards itself: each batch of rows of a table goes to one node's local
 * table as one INSERT ... FORMAT RowBinary (node = batch number modulo the nodes), so no
 * asynchronous Distributed queue sits between a commit and the data.
 *
 * Exactly once without transactions. Replicated tables' insert_deduplicate needs ZooKeeper,
 * so the batch id is ours: every row holds (input_id, ks_batch). When an INSERT fails in
 * transit (timeout, connection reset, server down), the writer does not know whether it
 * landed; it waits for the node, counts the rows of (input_id, ks_batch) on it, and then:
 * all there: done; none: sends the batch again; some (a server killed between the parts of a
 * multi-partition insert): deletes them (ALTER TABLE DELETE, waiting for the mutation) and
 * sends again. A retry therefore never counts a batch twice. Inputs are complete or not as in
 * SQLite: readers count only rows whose input_id is complete in `inputs` (argMax(status,
 * ks_ver)), and a batch is acknowledged to the caller only when its rows are all there.
 *
 * Liveness. There are no locks across machines: a partial input is alive while its writer
 * keeps re-inserting its `inputs` row (every commit, ks_ver = the time in µs); one silent for
 * lease_s is abandoned by the next open (status 'abandoned', rows deleted by mutation). */
#include "clickhouse_int.h"
#include "core/lazy_curl.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define CH_PART_US "2592000000000" /* raw tables are partitioned by 30 days of ts */
#define CH_RESP_MAX ((size_t)512 << 20)
#define CH_BATCH_BYTES ((size_t)64 << 20) /* a batch in flight and the next: 128 MiB at most */

struct ch_buf {
    char *p;
    size_t n, cap;
    bool oom;
};

/* One node: its connection, its last answer, and its share of the batch being built. */
struct ch_node {
    CURL *curl;
    char base[256]; /* "http://host:port/?" and a first parameter */
    struct ch_buf resp;
    char curl_err[CURL_ERROR_SIZE];
    long status;
    struct ch_buf rows[2][KS_TBL_COUNT]; /* RowBinary: the batch being sent, the next one */
    uint32_t nrows[2][KS_TBL_COUNT];
};

struct sender {
    struct ks_store *s;
    unsigned node, set;
    int64_t input_id;
    uint32_t batch;
    int rc;
};

struct ch {
    struct ch_uri u;
    struct ch_node node[CH_MAX_NODES];
    pthread_mutex_t err_lock; /* s->err, written by the nodes' sender threads */
    uint32_t batch;
    uint64_t next[KS_TBL_COUNT]; /* rows of a table are dealt to the nodes in turn */
    /* A batch is sent while the next one is built: `cur` is the set being built; the other
     * may be in flight (pending), acknowledged at the next commit. */
    unsigned cur;
    bool pending;
    int pending_rc; /* of a batch joined early (by a read on the same handle) */
    uint64_t pending_rows;
    int64_t pending_input;
    struct sender snd[CH_MAX_NODES];
    pthread_t th[CH_MAX_NODES];
    bool started[CH_MAX_NODES];
    /* The input being written (for its `inputs` rows). */
    struct ks_store_input in;
    char in_name[512], in_kind[64];
    int64_t in_started;
    /* The complete input FORCE replaces, as it was. */
    char old_name[512], old_kind[64];
    int64_t old_started, old_finished, old_rows;
};

static struct ch *CH(struct ks_store *s)
{
    return s->impl;
}

/* store_fail under a lock: a batch is sent to the nodes by one thread each. */
static int ch_fail(struct ks_store *s, int err, const char *fmt, ...) KS_PRINTF(3, 4);
static int ch_fail(struct ks_store *s, int err, const char *fmt, ...)
{
    struct ch *c = CH(s);
    va_list ap;
    if (c)
        pthread_mutex_lock(&c->err_lock);
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    if (c)
        pthread_mutex_unlock(&c->err_lock);
    return err;
}

/* --- buffers ------------------------------------------------------------------------------- */

static bool buf_reserve(struct ch_buf *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->n + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void buf_add(struct ch_buf *b, const void *p, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    if (len)
        memcpy(b->p + b->n, p, len);
    b->n += len;
}

static void buf_printf(struct ch_buf *b, const char *fmt, ...) KS_PRINTF(2, 3);
static void buf_printf(struct ch_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0 || !buf_reserve(b, (size_t)k + 1))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static char *buf_str(struct ch_buf *b)
{
    if (!buf_reserve(b, 1))
        return "";
    b->p[b->n] = '\0';
    return b->p;
}

static void buf_u64le(struct ch_buf *b, uint64_t v, unsigned bytes)
{
    unsigned char t[8];
    for (unsigned i = 0; i < bytes; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    buf_add(b, t, bytes);
}

static void buf_varuint(struct ch_buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    do {
        t[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            t[n] |= 0x80;
        n++;
    } while (v);
    buf_add(b, t, n);
}

/* Appends s as a ClickHouse string literal. */
static void buf_quote(struct ch_buf *b, const char *s, size_t len)
{
    buf_add(b, "'", 1);
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\'' || c == '\\')
            buf_add(b, "\\", 1);
        if (c == '\0')
            buf_add(b, "\\0", 2);
        else
            buf_add(b, &c, 1);
    }
    buf_add(b, "'", 1);
}

/* --- the URI ------------------------------------------------------------------------------- */

static bool copy_part(char *dst, size_t size, const char *p, size_t len)
{
    if (len >= size)
        return false;
    memcpy(dst, p, len);
    dst[len] = '\0';
    return true;
}

static bool parse_long(const char *p, size_t len, long lo, long hi, long *out)
{
    long v = 0;
    if (len == 0 || len > 9)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool valid_ident(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

int ch_uri_parse(const char *spec, struct ch_uri *u, char *err, size_t errsize)
{
    memset(u, 0, sizeof *u);
    u->timeout_ms = 60000;
    u->retry_s = 600;
    u->lease_s = 900;
    snprintf(u->user, sizeof u->user, "default");
    const char *p = spec;
    if (strncmp(p, "clickhouse://", 13) != 0) {
        snprintf(err, errsize, "%s: a ClickHouse store is clickhouse://HOST:PORT/DB", spec);
        return KS_EINVAL;
    }
    p += 13;
    size_t auth = strcspn(p, "/?");
    const char *a = p, *aend = p + auth;
    while (a < aend) {
        size_t l = strcspn(a, ",/?");
        if ((size_t)(aend - a) < l)
            l = (size_t)(aend - a);
        if (u->nnodes == CH_MAX_NODES) {
            snprintf(err, errsize, "%s: more than %d nodes", spec, CH_MAX_NODES);
            return KS_EINVAL;
        }
        const char *colon = memchr(a, ':', l);
        long port = 8123;
        size_t hl = colon ? (size_t)(colon - a) : l;
        bool host_ok = hl > 0;
        for (size_t i = 0; i < hl; i++) /* a name or IPv4 address: nothing else goes in a URL */
            host_ok &= (a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z') ||
                       (a[i] >= '0' && a[i] <= '9') || a[i] == '.' || a[i] == '-' || a[i] == '_';
        if (!host_ok || !copy_part(u->host[u->nnodes], sizeof u->host[0], a, hl) ||
            (colon && !parse_long(colon + 1, l - hl - 1, 1, 65535, &port))) {
            snprintf(err, errsize, "%s: bad HOST:PORT '%.*s'", spec, (int)l, a);
            return KS_EINVAL;
        }
        u->port[u->nnodes++] = (int)port;
        a += l;
        if (a < aend && *a == ',')
            a++;
    }
    p = aend;
    if (u->nnodes == 0 || *p != '/') {
        snprintf(err, errsize, "%s: no HOST:PORT/DB (e.g. clickhouse://127.0.0.1:8123/kansoku)",
                 spec);
        return KS_EINVAL;
    }
    p++;
    size_t dl = strcspn(p, "?");
    if (!copy_part(u->db, sizeof u->db, p, dl) || !valid_ident(u->db)) {
        snprintf(err, errsize, "%s: the database name must be letters, digits and _", spec);
        return KS_EINVAL;
    }
    p += dl;
    if (*p == '?')
        p++;
    while (*p) {
        size_t l = strcspn(p, "&");
        const char *eq = memchr(p, '=', l);
        if (!eq) {
            snprintf(err, errsize, "%s: bad parameter '%.*s'", spec, (int)l, p);
            return KS_EINVAL;
        }
        size_t kl = (size_t)(eq - p), vl = l - kl - 1;
        const char *v = eq + 1;
        bool ok;
#define KEY(k) (kl == sizeof k - 1 && memcmp(p, k, kl) == 0)
        if (KEY("cluster"))
            ok = copy_part(u->cluster, sizeof u->cluster, v, vl) && valid_ident(u->cluster);
        else if (KEY("user"))
            ok = copy_part(u->user, sizeof u->user, v, vl);
        else if (KEY("password"))
            ok = copy_part(u->password, sizeof u->password, v, vl);
        else if (KEY("timeout_ms"))
            ok = parse_long(v, vl, 100, 3600000, &u->timeout_ms);
        else if (KEY("retry_s"))
            ok = parse_long(v, vl, 0, 86400, &u->retry_s);
        else if (KEY("lease_s"))
            ok = parse_long(v, vl, 1, 86400 * 7, &u->lease_s);
        else
            ok = false;
#undef KEY
        if (!ok) {
            snprintf(err, errsize, "%s: bad or unknown parameter '%.*s'", spec, (int)l, p);
            return KS_EINVAL;
        }
        p += l;
        if (*p == '&')
            p++;
    }
    if (u->nnodes > 1 && !u->cluster[0]) {
        snprintf(err, errsize,
                 "%s: several nodes need ?cluster=NAME (the cluster of their remote_servers)",
                 spec);
        return KS_EINVAL;
    }
    return KS_OK;
}

/* --- parameters ------------------------------------------------------------------------------ */

int ch_bind(const char *sql, const struct ks_store_value *params, size_t nparams, char *out,
            size_t size)
{
    struct ch_buf b = {0};
    int rc = KS_OK;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            buf_add(&b, p, 1);
            if (*p == '\\' && p[1]) {
                buf_add(&b, ++p, 1);
            } else if (*p == quote) {
                quote = 0;
            }
            continue;
        }
        if (*p == '\'' || *p == '"' || *p == '`') {
            quote = *p;
            buf_add(&b, p, 1);
            continue;
        }
        if (*p != '?' || p[1] < '0' || p[1] > '9') {
            buf_add(&b, p, 1);
            continue;
        }
        size_t k = 0;
        while (p[1] >= '0' && p[1] <= '9' && k < 100000)
            k = k * 10 + (size_t)(*++p - '0');
        if (k == 0 || k > nparams) {
            rc = KS_EINVAL;
            goto out;
        }
        const struct ks_store_value *v = &params[k - 1];
        char num[64];
        switch (v->type) {
        case KS_TYPE_NULL:
            buf_add(&b, "NULL", 4);
            break;
        case KS_TYPE_F64:
            snprintf(num, sizeof num, "%.17g", v->v.f64);
            if (!isfinite(v->v.f64))
                snprintf(num, sizeof num, "%s", "NULL");
            buf_add(&b, num, strlen(num));
            break;
        case KS_TYPE_TEXT:
        case KS_TYPE_ADDR:
        case KS_TYPE_BLOB:
            buf_quote(&b, v->v.bytes.ptr, v->v.bytes.len);
            break;
        case KS_TYPE_U64:
            snprintf(num, sizeof num, "%" PRIu64, v->v.u64);
            buf_add(&b, num, strlen(num));
            break;
        default:
            /* A negative literal in parentheses: "x - -1" must not become a comment. */
            snprintf(num, sizeof num, v->v.i64 < 0 ? "(%" PRId64 ")" : "%" PRId64, v->v.i64);
            buf_add(&b, num, strlen(num));
            break;
        }
    }
    if (b.oom) {
        rc = KS_ENOMEM;
        goto out;
    }
    if (b.n + 1 > size) {
        rc = KS_ELIMIT;
        goto out;
    }
    if (b.n)
        memcpy(out, b.p, b.n);
    out[b.n] = '\0';
out:
    free(b.p);
    return rc;
}

/* --- HTTP ---------------------------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct ch_buf *b = user;
    size_t n = size * nmemb;
    if (b->n + n > CH_RESP_MAX)
        return 0; /* aborts the transfer: a result this large is a mistake */
    buf_add(b, ptr, n);
    return b->oom ? 0 : n;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* One POST to node: query in the URL (with settings), body as given. KS_OK when the server
 * answered (the node's status holds the HTTP status, its resp the body); KS_EIO when the request
 * did not complete (connection refused, reset, timeout): then it may or may not have run. */
static int http(struct ks_store *s, unsigned node, const char *query, const char *settings,
                const void *body, size_t len)
{
    struct ch_node *nd = &CH(s)->node[node];
    CURL *h = nd->curl;
    struct ch_buf url = {0};
    nd->resp.n = 0;
    nd->resp.oom = false;
    nd->status = 0;
    nd->curl_err[0] = '\0';
    buf_printf(&url, "%s", nd->base);
    if (settings)
        buf_printf(&url, "&%s", settings);
    if (query) {
        char *e = curl_easy_escape(h, query, 0);
        if (!e) {
            free(url.p);
            return ch_fail(s, KS_ENOMEM, "out of memory");
        }
        buf_printf(&url, "&query=%s", e);
        curl_free(e);
    }
    if (url.oom) {
        free(url.p);
        return ch_fail(s, KS_ENOMEM, "out of memory");
    }
    curl_easy_setopt(h, CURLOPT_URL, buf_str(&url));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? len : 0));
    CURLcode cc = curl_easy_perform(h);
    free(url.p);
    if (nd->resp.oom)
        return ch_fail(s, KS_ENOMEM, "%s: out of memory reading an answer", s->spec);
    if (cc != CURLE_OK)
        return ch_fail(s, KS_EIO, "%s: node %s:%d: %s", s->spec, CH(s)->u.host[node],
                       CH(s)->u.port[node],
                       nd->curl_err[0] ? nd->curl_err : curl_easy_strerror(cc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &nd->status);
    return KS_OK;
}

/* The server's message of a failed request on node, one line. */
static const char *server_msg(struct ks_store *s, unsigned node)
{
    struct ch_buf *r = &CH(s)->node[node].resp;
    const char *m = buf_str(r);
    size_t n = strcspn(m, "\n");
    if (n > 600)
        n = 600;
    r->p[n] = '\0';
    return r->p;
}

/* Runs a statement that returns nothing (DDL, small inserts with literal values) on node,
 * retrying transport failures for up to `patience_ms`. */
static int exec_on(struct ks_store *s, unsigned node, const char *sql, long patience_ms)
{
    int64_t deadline = mono_ms() + patience_ms;
    long wait = 100;
    unsigned server_errors = 0;
    for (;;) {
        int rc = http(s, node, NULL, NULL, sql, strlen(sql));
        if (rc == KS_OK && CH(s)->node[node].status == 200)
            return KS_OK;
        /* A server error may be its shutdown or start-up under way: a few more tries. */
        if (rc == KS_OK && (++server_errors > 3 || mono_ms() + wait > deadline))
            return ch_fail(s, KS_ESTORE, "%s: %s: %s", s->spec, CH(s)->u.host[node],
                           server_msg(s, node));
        if (rc != KS_OK && (rc != KS_EIO || mono_ms() + wait > deadline))
            return rc;
        sleep_ms(wait);
        wait = wait < 3200 ? wait * 2 : 5000;
    }
}

static long patience(struct ks_store *s)
{
    return CH(s)->u.retry_s * 1000;
}

/* Runs a read on node (readonly=1) and leaves TabSeparated rows in the node's resp. */
static int select_on(struct ks_store *s, unsigned node, const char *sql, long patience_ms)
{
    int64_t deadline = mono_ms() + patience_ms;
    long wait = 100;
    for (;;) {
        int rc = http(s, node, NULL, "readonly=1", sql, strlen(sql));
        if (rc == KS_OK && CH(s)->node[node].status == 200)
            return KS_OK;
        if (rc == KS_OK)
            return ch_fail(s, KS_ESTORE, "%s: %s", s->spec, server_msg(s, node));
        if (rc != KS_EIO || mono_ms() + wait > deadline)
            return rc;
        sleep_ms(wait);
        wait = wait < 3200 ? wait * 2 : 5000;
    }
}

/* A single integer answer. */
static int select_i64(struct ks_store *s, unsigned node, const char *sql, long patience_ms,
                      int64_t *out)
{
    int rc = select_on(s, node, sql, patience_ms);
    if (rc != KS_OK)
        return rc;
    *out = strtoll(buf_str(&CH(s)->node[node].resp), NULL, 10);
    return KS_OK;
}

/* --- TabSeparated answers -------------------------------------------------------------------- */

/* Splits the next line of [*p, end) into fields (unescaped in place). Returns the number of
 * fields (0 at the end). nulls[i] tells a \N. */
static size_t tsv_line(char **p, char *end, char **fields, size_t *lens, bool *nulls, size_t max)
{
    char *q = *p;
    if (q >= end)
        return 0;
    size_t n = 0;
    for (;;) {
        char *start = q, *o = q;
        bool esc_null = false;
        while (q < end && *q != '\t' && *q != '\n') {
            if (*q == '\\' && q + 1 < end) {
                char e = q[1];
                q += 2;
                switch (e) {
                case 'n':
                    *o++ = '\n';
                    break;
                case 't':
                    *o++ = '\t';
                    break;
                case 'r':
                    *o++ = '\r';
                    break;
                case 'b':
                    *o++ = '\b';
                    break;
                case 'f':
                    *o++ = '\f';
                    break;
                case '0':
                    *o++ = '\0';
                    break;
                case 'N':
                    esc_null = o == start;
                    break;
                default:
                    *o++ = e;
                }
            } else {
                *o++ = *q++;
            }
        }
        if (n < max) {
            fields[n] = start;
            lens[n] = (size_t)(o - start);
            nulls[n] = esc_null && lens[n] == 0;
            n++;
        }
        if (q >= end || *q == '\n') {
            *p = q < end ? q + 1 : end;
            return n;
        }
        q++;
    }
}

/* The logical type of a ClickHouse type name (Nullable(...) unwrapped). */
static enum ks_store_type ch_type(const char *t, size_t len)
{
    if (len > 9 && memcmp(t, "Nullable(", 9) == 0) {
        t += 9;
        len -= 10;
    }
    if ((len >= 3 && memcmp(t, "Int", 3) == 0) || (len >= 4 && memcmp(t, "UInt", 4) == 0))
        return KS_TYPE_I64;
    if (len >= 5 && memcmp(t, "Float", 5) == 0)
        return KS_TYPE_F64;
    if (len >= 7 && memcmp(t, "Nothing", 7) == 0)
        return KS_TYPE_NULL;
    return KS_TYPE_TEXT;
}

/* --- schema -------------------------------------------------------------------------------- */

static const char *ch_coltype(enum ks_store_type t)
{
    switch (t) {
    case KS_TYPE_F64:
        return "Float64";
    case KS_TYPE_TEXT:
    case KS_TYPE_ADDR:
    case KS_TYPE_BLOB:
        return "String";
    default:
        return "Int64";
    }
}

static bool clustered(struct ks_store *s)
{
    return CH(s)->u.cluster[0] != '\0';
}

/* The name of a table's local part ("series_local" in a cluster, else "series"). */
static void local_name(struct ks_store *s, const char *name, char *out, size_t size)
{
    snprintf(out, size, clustered(s) ? "%s_local" : "%s", name);
}

static void col_def(struct ch_buf *b, const struct ks_store_column *c, bool first)
{
    if (c->flags & KS_COL_NULLABLE)
        buf_printf(b, "%s`%s` Nullable(%s)", first ? "" : ", ", c->name, ch_coltype(c->type));
    else
        buf_printf(b, "%s`%s` %s", first ? "" : ", ", c->name, ch_coltype(c->type));
}

/* The column of a data table that partitions it: a NOT NULL time column named ts, else the
 * first NOT NULL time column; NULL if none. */
static const char *part_col(const struct ks_store_table *t)
{
    const char *first = NULL;
    for (unsigned i = 0; i < t->ncols; i++) {
        const struct ks_store_column *c = &t->cols[i];
        if (c->type != KS_TYPE_TIME || (c->flags & KS_COL_NULLABLE))
            continue;
        if (strcmp(c->name, "ts") == 0)
            return c->name;
        if (!first)
            first = c->name;
    }
    return first;
}

static bool is_rollup(int id)
{
    size_t n;
    const struct ks_store_rollup *r = store_schema_rollups(&n);
    for (size_t i = 0; i < n; i++)
        if (r[i].dst == id)
            return true;
    return false;
}

/* CREATE TABLE of table id's local part. */
static void ddl_local(struct ks_store *s, int id, struct ch_buf *b)
{
    const struct ks_store_table *t = ks_store_table(id);
    char ln[96];
    local_name(s, t->name, ln, sizeof ln);
    buf_printf(b, "CREATE TABLE IF NOT EXISTS `%s`.`%s` (", CH(s)->u.db, ln);
    if (t->flags & KS_TABLE_SYSTEM) {
        /* `inputs`: a new version of an input's row replaces the older (ks_ver = when). */
        for (unsigned i = 0; i < t->ncols; i++)
            col_def(b, &t->cols[i], i == 0);
        buf_printf(b, ", `ks_ver` UInt64) ENGINE = ReplacingMergeTree(ks_ver) ORDER BY `%s`",
                   t->cols[0].name);
        return;
    }
    buf_printf(b, "`input_id` Int64, `ks_batch` UInt32");
    for (unsigned i = 0; i < t->ncols; i++)
        col_def(b, &t->cols[i], false);
    if (is_rollup(id)) {
        /* Rows are pre-aggregated by the writer (per input); the engine sums what a later merge
         * finds with the same key in the same batch. Sorted by rollup and time first, so that
         * the report's reads (src = ..., ts in the period) use the primary index. */
        buf_printf(b, ") ENGINE = SummingMergeTree((n, v)) PARTITION BY intDiv(ts, " CH_PART_US
                      ") ORDER BY (src, ts, sensor, k1, k2, input_id, ks_batch)");
        return;
    }
    const char *pc = part_col(t);
    buf_printf(b, ") ENGINE = MergeTree");
    if (pc)
        buf_printf(b, " PARTITION BY intDiv(`%s`, " CH_PART_US ")", pc);
    buf_printf(b, " ORDER BY (input_id, ks_batch)");
}

/* Adds the columns of t that a node's existing table lacks (tables made by an older
 * version). */
static int add_columns(struct ks_store *s, unsigned node, const char *table,
                       const struct ks_store_table *t)
{
    struct ch *c = CH(s);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT name FROM system.columns WHERE database = '%s' AND table = '%s' FORMAT "
             "TabSeparated",
             c->u.db, table);
    int rc = select_on(s, node, sql, patience(s));
    if (rc != KS_OK)
        return rc;
    /* "\nname1\nname2\n...": each name is looked up with its line breaks. */
    struct ch_buf *r = &c->node[node].resp;
    size_t hl = r->n;
    char *have = malloc(hl + 2);
    if (!have)
        return ch_fail(s, KS_ENOMEM, "out of memory");
    have[0] = '\n';
    memcpy(have + 1, r->p ? r->p : "", hl);
    have[hl + 1] = '\0';
    for (unsigned i = 0; i < t->ncols && rc == KS_OK; i++) {
        char line[80];
        snprintf(line, sizeof line, "\n%s\n", t->cols[i].name);
        if (strstr(have, line))
            continue;
        struct ch_buf b = {0};
        buf_printf(&b, "ALTER TABLE `%s`.`%s` ADD COLUMN ", c->u.db, table);
        col_def(&b, &t->cols[i], true);
        rc = b.oom ? KS_ENOMEM : exec_on(s, node, b.p, patience(s));
        free(b.p);
    }
    free(have);
    return rc;
}

static int read_version(struct ks_store *s, int *v)
{
    struct ch *c = CH(s);
    char sql[256];
    int64_t n = 0;
    snprintf(sql, sizeof sql,
             "SELECT count() FROM system.tables WHERE database = '%s' AND name = 'meta'", c->u.db);
    int rc = select_i64(s, 0, sql, 2000, &n);
    if (rc != KS_OK)
        return rc;
    if (n == 0) {
        *v = 0;
        return KS_OK;
    }
    snprintf(sql, sizeof sql,
             "SELECT argMax(value, ks_ver) FROM `%s`.meta WHERE key = 'schema_version'", c->u.db);
    int64_t x = 0;
    if ((rc = select_i64(s, 0, sql, 2000, &x)) != KS_OK)
        return rc;
    *v = x > 0 && x < 1000000 ? (int)x : -1;
    return KS_OK;
}

static int migrate(struct ks_store *s)
{
    struct ch *c = CH(s);
    char sql[1024];
    int rc;
    for (unsigned n = 0; n < c->u.nnodes; n++) {
        snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s`", c->u.db);
        if ((rc = exec_on(s, n, sql, 5000)) != KS_OK)
            return rc;
        snprintf(sql, sizeof sql,
                 "CREATE TABLE IF NOT EXISTS `%s`.meta (key String, value String, ks_ver UInt64)"
                 " ENGINE = ReplacingMergeTree(ks_ver) ORDER BY key",
                 c->u.db);
        if ((rc = exec_on(s, n, sql, 5000)) != KS_OK)
            return rc;
        for (int id = 0; id < KS_TBL_COUNT; id++) {
            const struct ks_store_table *t = ks_store_table(id);
            struct ch_buf b = {0};
            char ln[96];
            ddl_local(s, id, &b);
            rc = b.oom ? KS_ENOMEM : exec_on(s, n, b.p, 5000);
            free(b.p);
            local_name(s, t->name, ln, sizeof ln);
            if (rc == KS_OK)
                rc = add_columns(s, n, ln, t);
            if (rc == KS_OK && clustered(s)) {
                snprintf(sql, sizeof sql,
                         "CREATE TABLE IF NOT EXISTS `%s`.`%s` AS `%s`.`%s` ENGINE = "
                         "Distributed(%s, %s, %s, rand())",
                         c->u.db, t->name, c->u.db, ln, c->u.cluster, c->u.db, ln);
                rc = exec_on(s, n, sql, 5000);
                if (rc == KS_OK)
                    rc = add_columns(s, n, t->name, t);
            }
            if (rc != KS_OK)
                return rc;
        }
        snprintf(sql, sizeof sql,
                 "INSERT INTO `%s`.meta VALUES ('schema_version', '%d', %" PRId64 ")", c->u.db,
                 KS_STORE_SCHEMA_VERSION, store_now_us());
        if ((rc = exec_on(s, n, sql, 5000)) != KS_OK)
            return rc;
    }
    return KS_OK;
}

/* --- open / close -------------------------------------------------------------------------- */

static int join_senders(struct ks_store *s);
static void settle(struct ks_store *s);

static void ch_close(struct ks_store *s)
{
    struct ch *c = CH(s);
    if (!c)
        return;
    join_senders(s);
    for (unsigned i = 0; i < CH_MAX_NODES; i++) {
        struct ch_node *nd = &c->node[i];
        if (nd->curl)
            curl_easy_cleanup(nd->curl);
        for (int t = 0; t < KS_TBL_COUNT; t++) {
            free(nd->rows[0][t].p);
            free(nd->rows[1][t].p);
        }
        free(nd->resp.p);
    }
    pthread_mutex_destroy(&c->err_lock);
    free(c);
    s->impl = NULL;
}

static int ch_open(struct ks_store *s, const char *spec)
{
    struct ch *c = calloc(1, sizeof *c);
    int rc, v = 0;
    if (!c)
        return store_fail(s, KS_ENOMEM, "%s: out of memory", spec);
    pthread_mutex_init(&c->err_lock, NULL);
    s->impl = c;
    /* ClickHouse prefers few large inserts (each makes a part): batches of up to a million
     * rows by default, or CH_BATCH_BYTES of RowBinary (batch_full), or 1 s. */
    if (s->cfg.batch_rows == 50000)
        s->cfg.batch_rows = 1000000;
    if ((rc = ch_uri_parse(spec, &c->u, s->err, sizeof s->err)) != KS_OK)
        return rc;
    if (ks_curl_error())
        return ch_fail(s, KS_EUNSUPP, "%s: libcurl cannot be opened: %s", spec, ks_curl_error());
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ch_fail(s, KS_ENOMEM, "%s: cannot initialise libcurl", spec);
    for (unsigned i = 0; i < c->u.nnodes; i++) {
        CURL *h = curl_easy_init();
        if (!h)
            return ch_fail(s, KS_ENOMEM, "%s: out of memory", spec);
        struct ch_node *nd = &c->node[i];
        nd->curl = h;
        char base[sizeof nd->base]; /* (via a copy: GCC's -Wrestrict sees one object, c) */
        snprintf(base, sizeof base, "http://%s:%d/?send_progress_in_http_headers=0", c->u.host[i],
                 c->u.port[i]);
        memcpy(nd->base, base, sizeof base);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &nd->resp);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nd->curl_err);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->u.timeout_ms);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(h, CURLOPT_USERNAME, c->u.user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->u.password);
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        /* No "Expect: 100-continue" round trip before each batch. */
        static struct curl_slist expect = {(char *)"Expect:", NULL};
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, &expect);
        int64_t one;
        /* A node that does not answer at open is an error now, not a retry loop. */
        rc = select_i64(s, i, "SELECT 1", 2000, &one);
        if (rc != KS_OK)
            return ch_fail(s, rc == KS_EIO ? KS_EIO : rc,
                           "%s: cannot reach ClickHouse at %s:%d (%s): is the server up?", spec,
                           c->u.host[i], c->u.port[i],
                           nd->curl_err[0] ? nd->curl_err : server_msg(s, i));
    }
    if ((rc = read_version(s, &v)) != KS_OK)
        return rc;
    if (v < 0)
        return ch_fail(s, KS_ECORRUPT, "%s: database %s has a meta table but no schema version",
                       spec, c->u.db);
    s->version_before = v;
    if (v > KS_STORE_SCHEMA_VERSION)
        return ch_fail(s, KS_ESTORE,
                       "%s: schema version %d is newer than this kansoku knows (%d): use a "
                       "newer kansoku",
                       spec, v, KS_STORE_SCHEMA_VERSION);
    if (v < KS_STORE_SCHEMA_VERSION) {
        if (s->cfg.readonly || s->cfg.no_migrate)
            return ch_fail(s, KS_ESTORE,
                           "%s: schema version %d is older than this kansoku's (%d): run "
                           "'kansoku db migrate --db %s'",
                           spec, v, KS_STORE_SCHEMA_VERSION, spec);
        if ((rc = migrate(s)) != KS_OK)
            return rc;
    }
    s->version_now = KS_STORE_SCHEMA_VERSION;
    return KS_OK;
}

/* --- inputs -------------------------------------------------------------------------------- */

/* Inserts a version of an input's row (the registry lives on node 0). */
static int put_input(struct ks_store *s, int64_t id, const char *sha256, uint64_t size,
                     const char *name, const char *kind, int64_t started, int64_t finished,
                     const char *status, int64_t rows, struct ch_buf *b)
{
    struct ch *c = CH(s);
    char ln[64];
    local_name(s, "inputs", ln, sizeof ln);
    if (b->n == 0)
        buf_printf(b, "INSERT INTO `%s`.`%s` VALUES ", c->u.db, ln);
    else
        buf_add(b, ", ", 2);
    buf_printf(b, "(%" PRId64 ", '%.64s', %" PRIu64 ", ", id, sha256, size);
    buf_quote(b, name, strlen(name));
    buf_add(b, ", ", 2);
    buf_quote(b, kind, strlen(kind));
    if (finished)
        buf_printf(b, ", %" PRId64 ", %" PRId64 ", ", started, finished);
    else
        buf_printf(b, ", %" PRId64 ", NULL, ", started);
    buf_quote(b, status, strlen(status));
    buf_printf(b, ", %" PRId64 ", %" PRId64 ")", rows, store_now_us());
    return b->oom ? KS_ENOMEM : KS_OK;
}

static int send_inputs(struct ks_store *s, struct ch_buf *b)
{
    int rc =
        b->oom ? ch_fail(s, KS_ENOMEM, "out of memory") : exec_on(s, 0, buf_str(b), patience(s));
    free(b->p);
    *b = (struct ch_buf){0};
    return rc;
}

/* Deletes an input's rows on every node (mutations, applied in the background). */
static int delete_rows(struct ks_store *s, int64_t id)
{
    struct ch *c = CH(s);
    char sql[256], ln[96];
    int rc = KS_OK;
    for (unsigned n = 0; n < c->u.nnodes; n++)
        for (int t = 0; t < KS_TBL_COUNT; t++) {
            if (ks_store_table(t)->flags & KS_TABLE_SYSTEM)
                continue;
            local_name(s, ks_store_table(t)->name, ln, sizeof ln);
            snprintf(sql, sizeof sql, "ALTER TABLE `%s`.`%s` DELETE WHERE input_id = %" PRId64,
                     c->u.db, ln, id);
            int r = exec_on(s, n, sql, 5000);
            if (rc == KS_OK)
                rc = r;
        }
    return rc;
}

#define INPUT_COLS                                                                                 \
    "id, argMax(sha256, ks_ver), argMax(size, ks_ver), argMax(name, ks_ver), argMax(kind, "        \
    "ks_ver), argMax(started, ks_ver), ifNull(argMax(finished, ks_ver), 0), argMax(status, "       \
    "ks_ver) AS st, argMax(rows, ks_ver), max(ks_ver)"

struct input_row {
    int64_t id, size, started, finished, rows, ver;
    char *sha256, *name, *kind, *status;
};

/* Parses the rows of an INPUT_COLS query; fn per row. */
static int each_input(struct ks_store *s,
                      int (*fn)(struct ks_store *, void *, const struct input_row *), void *user)
{
    struct ch_buf *resp = &CH(s)->node[0].resp;
    char *p = resp->p, *end;
    char *f[16];
    size_t l[16];
    bool nul[16];
    size_t n;
    int ret = KS_OK;
    if (!p)
        return KS_OK;
    /* The callback may run queries that reuse the answer's buffer: work on a copy. */
    char *copy = malloc(resp->n + 1);
    if (!copy)
        return ch_fail(s, KS_ENOMEM, "out of memory");
    memcpy(copy, p, resp->n);
    p = copy;
    end = copy + resp->n;
    while ((n = tsv_line(&p, end, f, l, nul, 16)) > 0) {
        if (n < 10)
            continue;
        for (size_t i = 0; i < n; i++)
            f[i][l[i]] = '\0';
        struct input_row r = {strtoll(f[0], NULL, 10),
                              strtoll(f[2], NULL, 10),
                              strtoll(f[5], NULL, 10),
                              strtoll(f[6], NULL, 10),
                              strtoll(f[8], NULL, 10),
                              strtoll(f[9], NULL, 10),
                              f[1],
                              f[3],
                              f[4],
                              f[7]};
        if ((ret = fn(s, user, &r)) != 0)
            break;
    }
    free(copy);
    return ret;
}

static int abandon(struct ks_store *s, int64_t id, const char *sha256, uint64_t size)
{
    struct ch_buf b = {0};
    int rc = put_input(s, id, sha256, size, "", "", 0, 0, "abandoned", 0, &b);
    if (rc == KS_OK)
        rc = send_inputs(s, &b);
    else
        free(b.p);
    if (rc == KS_OK)
        rc = delete_rows(s, id);
    return rc;
}

struct reap_ctx {
    int64_t now;
    uint64_t removed, alive;
    int64_t complete_id;
    bool want_complete;
};

static int reap_row(struct ks_store *s, void *user, const struct input_row *r)
{
    struct reap_ctx *x = user;
    struct ch *c = CH(s);
    if (strcmp(r->status, "complete") == 0) {
        if (x->want_complete && r->id > x->complete_id) {
            x->complete_id = r->id;
            snprintf(c->old_name, sizeof c->old_name, "%s", r->name);
            snprintf(c->old_kind, sizeof c->old_kind, "%s", r->kind);
            c->old_started = r->started;
            c->old_finished = r->finished;
            c->old_rows = r->rows;
        }
        return 0;
    }
    if (strcmp(r->status, "partial") != 0)
        return 0;
    if (r->id == s->active_input || r->ver > x->now - CH(s)->u.lease_s * 1000000) {
        x->alive++;
        return 0;
    }
    int rc = abandon(s, r->id, r->sha256, (uint64_t)r->size);
    if (rc != KS_OK)
        return rc;
    x->removed++;
    return 0;
}

static int ch_cleanup(struct ks_store *s, uint64_t *removed)
{
    settle(s);
    char sql[512];
    struct reap_ctx x = {store_now_us(), 0, 0, 0, false};
    snprintf(sql, sizeof sql,
             "SELECT " INPUT_COLS " FROM `%s`.inputs GROUP BY id HAVING st = 'partial' FORMAT "
             "TabSeparated",
             CH(s)->u.db);
    int rc = select_on(s, 0, sql, 5000);
    if (rc == KS_OK)
        rc = each_input(s, reap_row, &x);
    if (removed)
        *removed = x.removed;
    return rc;
}

static int64_t new_id(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint32_t)mono_ms();
    /* Milliseconds since the epoch times 1024, plus 10 random bits: ordered by time and
     * unique among writers that start in the same millisecond (with high probability). */
    return store_now_us() / 1000 * 1024 + (r & 1023);
}

static int ch_input_begin(struct ks_store *s, const struct ks_store_input *in, unsigned flags,
                          int64_t *idp, int64_t *replace_id)
{
    struct ch *c = CH(s);
    struct ch_buf q = {0};
    *idp = 0;
    *replace_id = 0;
    buf_printf(&q,
               "SELECT " INPUT_COLS " FROM `%s`.inputs WHERE sha256 = '%.64s' AND size = %" PRIu64
               " GROUP BY id FORMAT TabSeparated",
               c->u.db, in->sha256, in->size);
    int rc = q.oom ? KS_ENOMEM : select_on(s, 0, q.p, patience(s));
    free(q.p);
    if (rc != KS_OK)
        return rc;
    struct reap_ctx x = {store_now_us(), 0, 0, 0, true};
    if ((rc = each_input(s, reap_row, &x)) != KS_OK)
        return rc;
    if (x.complete_id && !(flags & KS_STORE_FORCE))
        return ch_fail(s, KS_EEXIST,
                       "%s: already ingested (input %" PRId64 ", sha256 %.16s...): use "
                       "--force to replace it",
                       in->name, x.complete_id, in->sha256);
    if (x.alive)
        return ch_fail(s, KS_EEXIST,
                       "%s: being ingested right now by another process: wait for it to "
                       "finish",
                       in->name);
    *replace_id = x.complete_id;
    c->in = *in;
    snprintf(c->in.sha256, sizeof c->in.sha256, "%s", in->sha256);
    snprintf(c->in_name, sizeof c->in_name, "%s", in->name);
    snprintf(c->in_kind, sizeof c->in_kind, "%s", in->kind);
    c->in.name = c->in_name;
    c->in.kind = c->in_kind;
    c->in_started = store_now_us();
    c->batch = 0;
    int64_t id = new_id();
    struct ch_buf b = {0};
    put_input(s, id, in->sha256, in->size, in->name, in->kind, c->in_started, 0, "partial", 0, &b);
    if ((rc = send_inputs(s, &b)) != KS_OK)
        return rc;
    *idp = id;
    return KS_OK;
}

/* --- batches ------------------------------------------------------------------------------- */

static int ch_txn_begin(struct ks_store *s)
{
    struct ch *c = CH(s);
    c->batch++;
    for (unsigned i = 0; i < c->u.nnodes; i++)
        for (int t = 0; t < KS_TBL_COUNT; t++) {
            c->node[i].rows[c->cur][t].n = 0;
            c->node[i].rows[c->cur][t].oom = false;
            c->node[i].nrows[c->cur][t] = 0;
        }
    return KS_OK;
}

static int ch_row(struct ks_store *s, int64_t input_id, int table, const struct ks_store_value *v)
{
    struct ch *c = CH(s);
    const struct ks_store_table *t = ks_store_table(table);
    struct ch_node *nd = &c->node[c->next[table]++ % c->u.nnodes];
    struct ch_buf *b = &nd->rows[c->cur][table];
    buf_u64le(b, (uint64_t)input_id, 8);
    buf_u64le(b, c->batch, 4);
    for (unsigned i = 0; i < t->ncols; i++) {
        const struct ks_store_value *x = &v[i];
        if (t->cols[i].flags & KS_COL_NULLABLE) {
            unsigned char isnull = x->type == KS_TYPE_NULL;
            buf_add(b, &isnull, 1);
            if (isnull)
                continue;
        }
        switch (t->cols[i].type) {
        case KS_TYPE_F64: {
            uint64_t bits;
            memcpy(&bits, &x->v.f64, 8);
            buf_u64le(b, bits, 8);
            break;
        }
        case KS_TYPE_TEXT:
        case KS_TYPE_ADDR:
        case KS_TYPE_BLOB:
            buf_varuint(b, x->v.bytes.len);
            buf_add(b, x->v.bytes.ptr, x->v.bytes.len);
            break;
        default:
            buf_u64le(b, (uint64_t)x->v.i64, 8);
        }
    }
    if (b->oom)
        return ch_fail(s, KS_ENOMEM, "%s: out of memory buffering a batch", s->spec);
    nd->nrows[c->cur][table]++;
    return KS_OK;
}

static bool ch_batch_full(struct ks_store *s)
{
    struct ch *c = CH(s);
    size_t bytes = 0;
    for (unsigned i = 0; i < c->u.nnodes; i++)
        for (int t = 0; t < KS_TBL_COUNT; t++)
            bytes += c->node[i].rows[c->cur][t].n;
    return bytes >= CH_BATCH_BYTES;
}

/* Waits until the node has applied every mutation of table. */
static int wait_mutations(struct ks_store *s, unsigned node, const char *table)
{
    char sql[256];
    int64_t left = 1, deadline = mono_ms() + patience(s);
    snprintf(sql, sizeof sql,
             "SELECT count() FROM system.mutations WHERE database = '%s' AND table = '%s' AND "
             "is_done = 0",
             CH(s)->u.db, table);
    while (mono_ms() < deadline) {
        int rc = select_i64(s, node, sql, patience(s), &left);
        if (rc != KS_OK)
            return rc;
        if (left == 0)
            return KS_OK;
        sleep_ms(100);
    }
    return ch_fail(s, KS_ETIMEOUT, "%s: a mutation of %s does not finish", s->spec, table);
}

/* Sends one batch of one table to its node, exactly once (see the top of this file). */
static int send_batch(struct ks_store *s, unsigned node, unsigned set, int table, int64_t input_id,
                      uint32_t batch)
{
    struct ch *c = CH(s);
    char ln[96], ins[256], cnt[512];
    local_name(s, ks_store_table(table)->name, ln, sizeof ln);
    snprintf(ins, sizeof ins, "INSERT INTO `%s`.`%s` FORMAT RowBinary", c->u.db, ln);
    snprintf(cnt, sizeof cnt,
             "SELECT count() FROM `%s`.`%s` WHERE input_id = %" PRId64 " AND ks_batch = %" PRIu32,
             c->u.db, ln, input_id, batch);
    int64_t deadline = mono_ms() + patience(s);
    long wait = 200;
    unsigned server_errors = 0;
    for (;;) {
        struct ch_node *nd = &c->node[node];
        int rc = http(s, node, ins, NULL, nd->rows[set][table].p, nd->rows[set][table].n);
        if (rc == KS_OK && nd->status == 200)
            return KS_OK;
        /* A server error may come from a server shutting down mid-insert: treated as a
         * transport failure a few times, then as the refusal it is. */
        if (rc == KS_OK && ++server_errors > 3)
            return ch_fail(s, KS_ESTORE, "%s: inserting into %s: %s", s->spec, ln,
                           server_msg(s, node));
        if (rc != KS_OK && rc != KS_EIO)
            return rc;
        /* Did it land? Ask, waiting for the node to come back. */
        for (;;) {
            if (mono_ms() + wait > deadline)
                return ch_fail(s, KS_EIO,
                               "%s: node %s:%d unreachable for %ld s while writing %s: "
                               "what was committed before is kept",
                               s->spec, c->u.host[node], c->u.port[node], c->u.retry_s, ln);
            sleep_ms(wait);
            wait = wait < 3200 ? wait * 2 : 5000;
            int64_t have = -1;
            rc = select_i64(s, node, cnt, 0, &have);
            if (rc == KS_EIO)
                continue;
            if (rc != KS_OK)
                return rc;
            if (have == (int64_t)nd->nrows[set][table])
                return KS_OK;
            if (have > 0) {
                char del[512];
                snprintf(del, sizeof del,
                         "ALTER TABLE `%s`.`%s` DELETE WHERE input_id = %" PRId64
                         " AND ks_batch = %" PRIu32,
                         c->u.db, ln, input_id, batch);
                if ((rc = exec_on(s, node, del, patience(s))) != KS_OK ||
                    (rc = wait_mutations(s, node, ln)) != KS_OK)
                    return rc;
            }
            break; /* none there (now): send again */
        }
    }
}

/* Sends a node's share of a batch, table by table. */
static void *sender_main(void *arg)
{
    struct sender *x = arg;
    struct ch_node *nd = &CH(x->s)->node[x->node];
    for (int t = 0; t < KS_TBL_COUNT && x->rc == KS_OK; t++)
        if (nd->nrows[x->set][t])
            x->rc = send_batch(x->s, x->node, x->set, t, x->input_id, x->batch);
    return NULL;
}

/* Starts sending the batch being built to every node at once (a thread per node). */
static void start_senders(struct ks_store *s, int64_t input_id)
{
    struct ch *c = CH(s);
    for (unsigned i = 0; i < c->u.nnodes; i++) {
        c->snd[i] = (struct sender){s, i, c->cur, input_id, c->batch, KS_OK};
        c->started[i] = pthread_create(&c->th[i], NULL, sender_main, &c->snd[i]) == 0;
        if (!c->started[i])
            sender_main(&c->snd[i]);
    }
    c->pending = true;
    c->cur ^= 1;
}

/* Waits for the batch in flight; its first error. */
static int join_senders(struct ks_store *s)
{
    struct ch *c = CH(s);
    int rc = KS_OK;
    if (!c->pending)
        return KS_OK;
    for (unsigned i = 0; i < c->u.nnodes; i++) {
        if (c->started[i])
            pthread_join(c->th[i], NULL);
        c->started[i] = false;
        if (rc == KS_OK)
            rc = c->snd[i].rc;
    }
    c->pending = false;
    return rc;
}

/* Before a read on the same handle: the connections are the senders'. Their result waits for
 * the next commit. */
static void settle(struct ks_store *s)
{
    struct ch *c = CH(s);
    if (c->pending) {
        int rc = join_senders(s);
        if (c->pending_rc == KS_OK)
            c->pending_rc = rc;
    }
}

/* The input's row again: its rows, its status and the writer's heartbeat (ks_ver). With
 * complete, in one INSERT with the replaced input's new status, so both change in one block. */
static int update_input(struct ks_store *s, int64_t input_id, uint64_t rows, bool complete,
                        int64_t replace_id)
{
    struct ch *c = CH(s);
    struct ch_buf b = {0};
    put_input(s, input_id, c->in.sha256, c->in.size, c->in.name, c->in.kind, c->in_started,
              complete ? store_now_us() : 0, complete ? "complete" : "partial", (int64_t)rows, &b);
    if (complete && replace_id)
        put_input(s, replace_id, c->in.sha256, c->in.size, c->old_name, c->old_kind, c->old_started,
                  c->old_finished, "replaced", c->old_rows, &b);
    return send_inputs(s, &b);
}

static int ch_txn_commit(struct ks_store *s, int64_t input_id, uint64_t rows, bool complete,
                         int64_t replace_id)
{
    struct ch *c = CH(s);
    /* Every node gets its share of a batch at once (a thread each), and a batch is sent while
     * the next is built: a commit acknowledges the batch before it, and the last commit
     * (complete) waits for its own batch before it marks the input complete. */
    int rc = join_senders(s);
    if (rc == KS_OK)
        rc = c->pending_rc;
    c->pending_rc = KS_OK;
    if (rc == KS_OK && c->pending_input == input_id && c->pending_rows)
        rc = update_input(s, input_id, c->pending_rows, false, 0);
    c->pending_rows = 0;
    if (rc != KS_OK)
        return rc;
    start_senders(s, input_id);
    if (!complete) {
        c->pending_rows = rows;
        c->pending_input = input_id;
        return KS_OK;
    }
    if ((rc = join_senders(s)) != KS_OK)
        return rc;
    if ((rc = update_input(s, input_id, rows, true, replace_id)) != KS_OK)
        return rc;
    if (complete && replace_id)
        delete_rows(s, replace_id); /* not counted any more; space comes back later */
    return KS_OK;
}

static void ch_txn_rollback(struct ks_store *s)
{
    ch_txn_begin(s);
    CH(s)->batch--;
}

static int ch_input_abandon(struct ks_store *s, int64_t id)
{
    join_senders(s);
    CH(s)->pending_rows = 0;
    CH(s)->pending_rc = KS_OK;
    return abandon(s, id, CH(s)->in.sha256, CH(s)->in.size);
}

static void ch_input_release(struct ks_store *s, int64_t id)
{
    (void)s;
    (void)id;
}

/* --- reading ------------------------------------------------------------------------------- */

struct inputs_ctx {
    int (*fn)(void *, const struct ks_store_input_info *);
    void *user;
};

static int inputs_row(struct ks_store *s, void *user, const struct input_row *r)
{
    struct inputs_ctx *x = user;
    struct ks_store_input_info in = {0};
    (void)s;
    in.id = r->id;
    snprintf(in.sha256, sizeof in.sha256, "%s", r->sha256);
    in.size = (uint64_t)r->size;
    in.name = r->name;
    in.kind = r->kind;
    in.status = r->status;
    in.started = r->started;
    in.finished = r->finished;
    in.rows = (uint64_t)r->rows;
    return x->fn(x->user, &in);
}

static int ch_inputs(struct ks_store *s, int (*fn)(void *, const struct ks_store_input_info *),
                     void *user)
{
    settle(s);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT " INPUT_COLS " FROM `%s`.inputs GROUP BY id HAVING st IN ('partial', "
             "'complete') ORDER BY id FORMAT TabSeparated",
             CH(s)->u.db);
    int rc = select_on(s, 0, sql, 5000);
    if (rc != KS_OK)
        return rc;
    struct inputs_ctx x = {fn, user};
    return each_input(s, inputs_row, &x);
}

#define OK_IDS "(SELECT id FROM `%s`.inputs GROUP BY id HAVING argMax(status, ks_ver) = 'complete')"

static int ch_info(struct ks_store *s, struct ks_store_info *info)
{
    settle(s);
    struct ch *c = CH(s);
    char sql[512];
    int64_t n = 0;
    int rc;
    snprintf(sql, sizeof sql,
             "SELECT countIf(st = 'complete') FROM (SELECT argMax(status, ks_ver) AS st FROM "
             "`%s`.inputs GROUP BY id)",
             c->u.db);
    if ((rc = select_i64(s, 0, sql, 5000, &n)) != KS_OK)
        return rc;
    info->inputs_complete = (uint64_t)n;
    snprintf(sql, sizeof sql,
             "SELECT countIf(st = 'partial') FROM (SELECT argMax(status, ks_ver) AS st FROM "
             "`%s`.inputs GROUP BY id)",
             c->u.db);
    if ((rc = select_i64(s, 0, sql, 5000, &n)) != KS_OK)
        return rc;
    info->inputs_partial = (uint64_t)n;
    for (unsigned node = 0; node < c->u.nnodes; node++) {
        snprintf(sql, sizeof sql,
                 "SELECT sum(bytes) FROM system.parts WHERE database = '%s' AND active", c->u.db);
        if (select_i64(s, node, sql, 5000, &n) == KS_OK)
            info->file_bytes += (uint64_t)n;
    }
    for (int t = 0; t < KS_TBL_COUNT && t < KS_STORE_MAX_TABLES; t++) {
        const struct ks_store_table *d = ks_store_table(t);
        info->tables[t].name = d->name;
        if (d->flags & KS_TABLE_SYSTEM) {
            snprintf(sql, sizeof sql, "SELECT uniqExact(id) FROM `%s`.`%s`", c->u.db, d->name);
            if ((rc = select_i64(s, 0, sql, 5000, &n)) != KS_OK)
                return rc;
            info->tables[t].rows = (uint64_t)n;
            info->tables[t].rows_complete = info->inputs_complete;
        } else {
            snprintf(sql, sizeof sql,
                     "SELECT count(), countIf(input_id GLOBAL IN " OK_IDS ") FROM `%s`.`%s` "
                     "FORMAT TabSeparated",
                     c->u.db, c->u.db, d->name);
            if ((rc = select_on(s, 0, sql, 5000)) != KS_OK)
                return rc;
            const char *p = buf_str(&c->node[0].resp);
            char *e;
            info->tables[t].rows = strtoull(p, &e, 10);
            info->tables[t].rows_complete = strtoull(e, NULL, 10);
        }
        info->ntables = (unsigned)t + 1;
    }
    return KS_OK;
}

static int ch_query(struct ks_store *s, const char *sql, const struct ks_store_value *params,
                    size_t nparams,
                    int (*fn)(void *, size_t, const char *const *, const struct ks_store_value *),
                    void *user)
{
    struct ch *c = CH(s);
    settle(s);
    size_t size = strlen(sql) + 64;
    for (size_t i = 0; i < nparams; i++)
        size += (params[i].type == KS_TYPE_TEXT || params[i].type == KS_TYPE_BLOB ||
                         params[i].type == KS_TYPE_ADDR
                     ? 2 * params[i].v.bytes.len + 8
                     : 32) *
                8; /* each may be used several times */
    char *q = malloc(size + 64);
    char *names_buf = NULL;
    int ret = KS_OK;
    if (!q)
        return ch_fail(s, KS_ENOMEM, "out of memory");
    int rc = ch_bind(sql, params, nparams, q, size);
    if (rc != KS_OK) {
        free(q);
        return ch_fail(s, KS_EINVAL, "%s: bad query parameters", s->spec);
    }
    size_t ql = strlen(q);
    while (ql && (q[ql - 1] == ' ' || q[ql - 1] == '\n' || q[ql - 1] == ';'))
        q[--ql] = '\0';
    static const char fmt[] = " FORMAT TabSeparatedWithNamesAndTypes";
    memcpy(q + ql, fmt, sizeof fmt);
    char settings[128];
    snprintf(settings, sizeof settings, "readonly=1&database=%s", c->u.db);
    rc = http(s, 0, NULL, settings, q, strlen(q));
    free(q);
    if (rc != KS_OK)
        return rc;
    if (c->node[0].status != 200) {
        const char *m = server_msg(s, 0);
        return ch_fail(s, strstr(m, "readonly") ? KS_EINVAL : KS_EINVAL, "%s: bad query: %s",
                       s->spec, m);
    }
    /* The answer is consumed from a copy: fn may query again. */
    size_t len = c->node[0].resp.n;
    char *body = malloc(len + 1);
    if (!body)
        return ch_fail(s, KS_ENOMEM, "out of memory");
    memcpy(body, c->node[0].resp.p ? c->node[0].resp.p : "", len);
    body[len] = '\0';
    char *p = body, *end = body + len;
    char *f[64], *tf[64];
    size_t l[64], tl[64];
    bool nul[64], tnul[64];
    const char *names[64];
    enum ks_store_type types[64];
    struct ks_store_value vals[64];
    size_t ncols = tsv_line(&p, end, f, l, nul, 64);
    size_t nt = tsv_line(&p, end, tf, tl, tnul, 64);
    if (ncols == 0 || nt != ncols) {
        free(body);
        return KS_OK; /* no columns: nothing to call back */
    }
    names_buf = malloc(len + 1);
    if (!names_buf) {
        free(body);
        return ch_fail(s, KS_ENOMEM, "out of memory");
    }
    size_t o = 0;
    for (size_t i = 0; i < ncols; i++) {
        memcpy(names_buf + o, f[i], l[i]);
        names_buf[o + l[i]] = '\0';
        names[i] = names_buf + o;
        o += l[i] + 1;
        types[i] = ch_type(tf[i], tl[i]);
    }
    size_t n;
    while ((n = tsv_line(&p, end, f, l, nul, 64)) > 0) {
        if (n != ncols)
            continue;
        for (size_t i = 0; i < n; i++) {
            struct ks_store_value *v = &vals[i];
            f[i][l[i]] = '\0';
            if (nul[i] || types[i] == KS_TYPE_NULL) {
                v->type = KS_TYPE_NULL;
                v->v.u64 = 0;
            } else if (types[i] == KS_TYPE_I64) {
                v->type = KS_TYPE_I64;
                v->v.i64 = strtoll(f[i], NULL, 10);
            } else if (types[i] == KS_TYPE_F64) {
                v->type = KS_TYPE_F64;
                v->v.f64 = strcmp(f[i], "nan") == 0 || strcmp(f[i], "-nan") == 0
                               ? NAN
                               : strtod(f[i], NULL);
            } else {
                v->type = KS_TYPE_TEXT;
                v->v.bytes.ptr = f[i];
                v->v.bytes.len = l[i];
            }
        }
        if ((ret = fn(user, ncols, names, vals)) != 0)
            break;
    }
    free(names_buf);
    free(body);
    return ret;
}

const struct ks_store_backend store_clickhouse_backend = {
    .name = "clickhouse",
    .open = ch_open,
    .close = ch_close,
    .cleanup = ch_cleanup,
    .input_begin = ch_input_begin,
    .txn_begin = ch_txn_begin,
    .row = ch_row,
    .batch_full = ch_batch_full,
    .txn_commit = ch_txn_commit,
    .txn_rollback = ch_txn_rollback,
    .input_abandon = ch_input_abandon,
    .input_release = ch_input_release,
    .inputs = ch_inputs,
    .info = ch_info,
    .query = ch_query,
};
