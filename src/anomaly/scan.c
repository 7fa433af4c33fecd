/* anomaly: series read from the store (the generic `series` table and named series computed
 * from the analyzers' tables), judged one at a time, and alerts written back. */
#include "anomaly_int.h"

#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

/* Rows of complete inputs only (docs/store.md). */
#define OK_JOIN(t)                                                                                 \
    " JOIN (SELECT id AS ks_ok_input FROM inputs WHERE status = 'complete') ON ks_ok_input = " t   \
    ".input_id"
#define HOUR_US "3600000000"
#define DAY_US "86400000000"

/* Every query yields (sensor, metric, key, ts, value) ordered by sensor, metric, key, ts, for
 * buckets in [?1, ?2). */
struct named {
    const char *name;
    const char *sql;
    bool fill_zero;
};

static const struct named named[] = {
    {"ddos.attacks",
     "SELECT '', 'ddos.attacks', class, (start_ts / " HOUR_US ") * " HOUR_US " AS b, count(*)"
     " FROM ddos_attacks" OK_JOIN("ddos_attacks") " WHERE start_ts >= ?1 AND start_ts < ?2"
                                                  " GROUP BY class, b ORDER BY class, b",
     true},
    {"darknet.packets",
     "SELECT sensor, 'darknet.packets', '', ts, sum(packets) FROM darknet_days" OK_JOIN(
         "darknet_days") " WHERE ts >= ?1 AND ts < ?2 GROUP BY sensor, ts ORDER BY sensor, ts",
     false},
    {"darknet.sources",
     "SELECT sensor, 'darknet.sources', '', ts, sum(sources) FROM darknet_days" OK_JOIN(
         "darknet_days") " WHERE ts >= ?1 AND ts < ?2 GROUP BY sensor, ts ORDER BY sensor, ts",
     false},
    {"mail.messages",
     "SELECT '', 'mail.messages', verdict, (ts / " HOUR_US ") * " HOUR_US " AS b, count(*)"
     " FROM mail_messages" OK_JOIN("mail_messages") " WHERE ts >= ?1 AND ts < ?2"
                                                    " GROUP BY verdict, b ORDER BY verdict, b",
     true},
    {"honeypot.sessions",
     "SELECT sensor, 'honeypot.sessions', proto, (ts / " HOUR_US ") * " HOUR_US " AS b, count(*)"
     " FROM honeypot_sessions" OK_JOIN(
         "honeypot_sessions") " WHERE ts >= ?1 AND ts < ?2"
                              " GROUP BY sensor, proto, b ORDER BY sensor, proto, b",
     true},
    {"sqli.detections",
     "SELECT '', 'sqli.detections', signature, (ts / " HOUR_US ") * " HOUR_US " AS b, count(*)"
     " FROM sqli_detections" OK_JOIN(
         "sqli_detections") " WHERE ts >= ?1 AND ts < ?2"
                            " GROUP BY signature, b ORDER BY signature, b",
     true},
};
#define NNAMED (sizeof named / sizeof named[0])

const char *ks_anomaly_named(size_t i)
{
    return i < NNAMED ? named[i].name : NULL;
}

#define KEY_MAX 256

struct scan {
    const struct ks_anomaly_config *cfg;
    const struct ks_anomaly_query *q;
    ks_anomaly_fn fn;
    void *user;
    struct ks_anomaly_stats *st;
    char sensor[KEY_MAX], metric[KEY_MAX], key[KEY_MAX];
    bool have;
    struct ks_anomaly_point *pts;
    size_t n, cap;
    int err;
};

static void text_of(const struct ks_store_value *v, char *buf, size_t size)
{
    size_t len = 0;
    if (v->type == KS_TYPE_TEXT || v->type == KS_TYPE_ADDR || v->type == KS_TYPE_BLOB) {
        len = v->v.bytes.len < size - 1 ? v->v.bytes.len : size - 1;
        memcpy(buf, v->v.bytes.ptr, len);
    } else if (v->type == KS_TYPE_I64 || v->type == KS_TYPE_TIME) {
        snprintf(buf, size, "%lld", (long long)v->v.i64);
        return;
    }
    buf[len] = '\0';
}

static double num_of(const struct ks_store_value *v)
{
    switch (v->type) {
    case KS_TYPE_I64:
    case KS_TYPE_TIME:
        return (double)v->v.i64;
    case KS_TYPE_U64:
        return (double)v->v.u64;
    case KS_TYPE_F64:
        return v->v.f64;
    default:
        return NAN;
    }
}

static void judge(struct scan *s)
{
    if (!s->have || s->err != KS_OK)
        return;
    struct ks_anomaly_config cfg = *s->cfg;
    int rc = anomaly_detect_range(&cfg, s->sensor, s->metric, s->key, s->pts, s->n, s->q->from,
                                  s->q->to, s->fn, s->user, s->st);
    if (rc != KS_OK)
        s->err = rc;
    s->n = 0;
    s->have = false;
}

static int on_row(void *user, size_t ncols, const char *const *names,
                  const struct ks_store_value *v)
{
    struct scan *s = user;
    (void)names;
    if (ncols < 5)
        return 0;
    char sensor[KEY_MAX], metric[KEY_MAX], key[KEY_MAX];
    text_of(&v[0], sensor, sizeof sensor);
    if (s->q->sensor && strcmp(sensor, s->q->sensor) != 0)
        return 0;
    text_of(&v[1], metric, sizeof metric);
    text_of(&v[2], key, sizeof key);
    if (s->have &&
        (strcmp(sensor, s->sensor) || strcmp(metric, s->metric) || strcmp(key, s->key))) {
        judge(s);
        if (s->err != KS_OK)
            return 1;
    }
    if (!s->have) {
        memcpy(s->sensor, sensor, sizeof sensor);
        memcpy(s->metric, metric, sizeof metric);
        memcpy(s->key, key, sizeof key);
        s->have = true;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        struct ks_anomaly_point *p = realloc(s->pts, cap * sizeof *p);
        if (!p) {
            s->err = KS_ENOMEM;
            return 1;
        }
        s->pts = p;
        s->cap = cap;
    }
    s->pts[s->n].ts = v[3].type == KS_TYPE_NULL ? 0 : (int64_t)num_of(&v[3]);
    if (v[3].type == KS_TYPE_I64 || v[3].type == KS_TYPE_TIME)
        s->pts[s->n].ts = v[3].v.i64;
    s->pts[s->n].value = v[4].type == KS_TYPE_NULL ? NAN : num_of(&v[4]);
    s->n++;
    return 0;
}

static struct ks_store_value p_i64(int64_t x)
{
    struct ks_store_value v = {.type = KS_TYPE_I64};
    v.v.i64 = x;
    return v;
}

static struct ks_store_value p_text(const char *t)
{
    struct ks_store_value v = {.type = KS_TYPE_TEXT};
    v.v.bytes.ptr = t;
    v.v.bytes.len = strlen(t);
    return v;
}

/* A LIKE pattern from a glob with '*': '*' -> '%', '%' and '_' escaped with '\'. */
static int like_of(const char *glob, char *out, size_t size)
{
    size_t n = 0;
    for (const char *c = glob; *c; c++) {
        if (n + 3 >= size)
            return KS_EINVAL;
        if (*c == '*') {
            out[n++] = '%';
        } else {
            if (*c == '%' || *c == '_' || *c == '\\')
                out[n++] = '\\';
            out[n++] = *c;
        }
    }
    out[n] = '\0';
    return KS_OK;
}

static int run_query(struct ks_store *store, struct scan *s, const char *sql,
                     const struct ks_store_value *p, size_t np)
{
    int rc = ks_store_query(store, sql, p, np, on_row, s);
    if (s->err == KS_OK && rc == KS_OK)
        judge(s);
    if (s->err != KS_OK)
        return s->err;
    return rc < 0 ? rc : KS_OK;
}

int ks_anomaly_scan(struct ks_store *store, const struct ks_anomaly_config *cfg,
                    const struct ks_anomaly_query *q, ks_anomaly_fn fn, void *user,
                    struct ks_anomaly_stats *st)
{
    struct ks_anomaly_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof dummy);
        st = &dummy;
    }
    if (!store || !cfg || !q || q->to < q->from)
        return KS_EINVAL;
    struct scan s = {cfg, q, fn, user, st, {0}, {0}, {0}, false, NULL, 0, 0, KS_OK};
    /* History before the period: the weekly baseline and the spread need it. */
    int64_t span = (int64_t)((cfg->weeks > cfg->days / 7 ? cfg->weeks : cfg->days / 7) + 2) * 7 *
                   KS_USEC_PER_DAY;
    int64_t hist_from = q->from > INT64_MIN + span ? q->from - span : INT64_MIN;
    if (q->from <= 0)
        hist_from = INT64_MIN;
    int rc = KS_OK;

    bool is_glob = q->metric && strchr(q->metric, '*');
    bool is_named = false;
    for (size_t i = 0; q->metric && !is_glob && i < NNAMED; i++)
        if (strcmp(q->metric, named[i].name) == 0)
            is_named = true;

    if (!is_named) {
        char like[KEY_MAX * 2 + 8];
        struct ks_store_value p[3] = {p_i64(hist_from), p_i64(q->to), p_text("")};
        size_t np = 2;
        const char *sql = "SELECT sensor, metric, key, ts, sum(value) FROM series" OK_JOIN(
            "series") " WHERE ts >= ?1 AND ts < ?2"
                      " GROUP BY sensor, metric, key, ts ORDER BY sensor, metric, key, ts";
        if (q->metric && is_glob) {
            if (like_of(q->metric, like, sizeof like) != KS_OK)
                return KS_EINVAL;
            p[2] = p_text(like);
            np = 3;
            sql = "SELECT sensor, metric, key, ts, sum(value) FROM series" OK_JOIN(
                "series") " WHERE ts >= ?1 AND ts < ?2 AND metric LIKE ?3 ESCAPE '\\'"
                          " GROUP BY sensor, metric, key, ts ORDER BY sensor, metric, key, ts";
        } else if (q->metric) {
            p[2] = p_text(q->metric);
            np = 3;
            sql = "SELECT sensor, metric, key, ts, sum(value) FROM series" OK_JOIN(
                "series") " WHERE ts >= ?1 AND ts < ?2 AND metric = ?3"
                          " GROUP BY sensor, metric, key, ts ORDER BY sensor, metric, key, ts";
        }
        rc = run_query(store, &s, sql, p, np);
        if (rc != KS_OK)
            goto out;
    }
    for (size_t i = 0; i < NNAMED; i++) {
        if (q->metric && (is_glob ? fnmatch(q->metric, named[i].name, 0) != 0
                                  : strcmp(q->metric, named[i].name) != 0))
            continue;
        struct ks_anomaly_config c = *cfg;
        c.fill_zero = c.fill_zero || named[i].fill_zero;
        s.cfg = &c;
        struct ks_store_value p[2] = {p_i64(hist_from), p_i64(q->to)};
        rc = run_query(store, &s, named[i].sql, p, 2);
        s.cfg = cfg;
        if (rc != KS_OK)
            goto out;
    }
out:
    free(s.pts);
    return rc;
}

int ks_anomaly_store_alert(struct ks_ingest *ing, const struct ks_anomaly_alert *a)
{
    int rc = ks_store_row_begin(ing, KS_TBL_ANOMALIES);
    if (rc != KS_OK)
        return rc;
    const char *dir = ks_anomaly_dir_name(a->dir);
    const char *method = a->method ? a->method : "";
    ks_store_put_time(ing, a->start);
    ks_store_put_time(ing, a->end);
    ks_store_put_text(ing, a->sensor, strlen(a->sensor));
    ks_store_put_text(ing, a->metric, strlen(a->metric));
    ks_store_put_text(ing, a->key, strlen(a->key));
    ks_store_put_text(ing, dir, strlen(dir));
    ks_store_put_f64(ing, a->duration_s);
    ks_store_put_i64(ing, a->points);
    ks_store_put_f64(ing, a->observed);
    ks_store_put_f64(ing, a->expected);
    ks_store_put_f64(ing, a->abs_change);
    if (isnan(a->rel_change))
        ks_store_put_null(ing);
    else
        ks_store_put_f64(ing, a->rel_change);
    ks_store_put_time(ing, a->peak_ts);
    ks_store_put_f64(ing, a->peak_value);
    ks_store_put_f64(ing, a->peak_expected);
    ks_store_put_f64(ing, a->score);
    ks_store_put_text(ing, method, strlen(method));
    ks_store_put_i64(ing, a->open ? 1 : 0);
    return ks_store_row_end(ing);
}
