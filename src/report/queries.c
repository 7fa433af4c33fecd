/* Every query of the report, in one place (docs/report.md lists them by figure and number).
 *
 * Conventions: every query joins its table with inputs on complete inputs only; ?1 and ?2
 * are the period [from, to) as µs UTC (from = the period's first day at 00:00 in the report's
 * zone); ?3 is ",sensor1,sensor2," or NULL (all sensors) for tables with a sensor column. The
 * day of a record is (ts - ?1) / 86400000000: days of a fixed-offset zone are 24 h long. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_geo.h"
#include "kansoku/ks_incident.h"
#include "kansoku/ks_ip.h"
#include "kansoku/ks_time.h"
#include "report/report_int.h"
#include "report/svg.h"

/* Rows of complete inputs only (docs/store.md). The join exposes one column of its own name, so
 * that data columns that share a name with an inputs column (kind, name, size, sha256, status)
 * stay unambiguous in the queries. */
#define OK_JOIN(t)                                                                                 \
    " JOIN (SELECT id AS ks_ok_input FROM inputs WHERE status = 'complete') ON ks_ok_input = " t   \
    ".input_id"
#define DAY_US "86400000000"
#define SENSOR_OK "(?3 IS NULL OR instr(?3, ',' || sensor || ',') > 0)"

/* ClickHouse (src/store/clickhouse.c) speaks another dialect: no table CTEs, no correlated
 * subqueries, JOIN only USING, `/` always divides as floats. Each query that differs has its
 * ClickHouse text next to the SQLite one (CH_*), and SQL2() picks by the store's backend.
 * Complete inputs there: the input's newest row (argMax by ks_ver) says 'complete'. */
#define CH_OK                                                                                      \
    " input_id GLOBAL IN (SELECT id FROM inputs GROUP BY id HAVING argMax(status, ks_ver) = "      \
    "'complete')"
#define CH_SENSOR_OK "(?3 IS NULL OR position(?3, concat(',', sensor, ',')) > 0)"
#define CH_DAY(e) "intDiv(" e ", " DAY_US ")"
#define SQL2(a, b) (is_ch(q) ? (b) : (a))

static bool is_ch(const struct rq *q)
{
    return strcmp(ks_store_backend(q->s), "clickhouse") == 0;
}

static struct ks_store_value p_i64(int64_t v)
{
    struct ks_store_value x = {.type = KS_TYPE_I64};
    x.v.i64 = v;
    return x;
}

static struct ks_store_value p_text(const char *s)
{
    struct ks_store_value x = {.type = s ? KS_TYPE_TEXT : KS_TYPE_NULL};
    if (s) {
        x.v.bytes.ptr = s;
        x.v.bytes.len = strlen(s);
    }
    return x;
}

static double val_f(const struct ks_store_value *v)
{
    if (v->type == KS_TYPE_I64)
        return (double)v->v.i64;
    if (v->type == KS_TYPE_F64)
        return v->v.f64;
    return NAN;
}

static void val_s(const struct ks_store_value *v, char *out, size_t size)
{
    if (v->type == KS_TYPE_TEXT || v->type == KS_TYPE_BLOB)
        snprintf(out, size, "%.*s", (int)(v->v.bytes.len < size ? v->v.bytes.len : size - 1),
                 (const char *)v->v.bytes.ptr);
    else if (v->type == KS_TYPE_I64)
        snprintf(out, size, "%lld", (long long)v->v.i64);
    else
        snprintf(out, size, "%s", "");
}

void rq_warn(struct rq *q, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct ks_loc loc = {.source = ks_store_spec(q->s)};
    ks_diag_report(q->diag, &q->reported, "report", &loc, KS_ESTORE, "%s", msg);
}

/* Runs a query with the period parameters; a failure is reported and taken as "no rows". */
static int run(struct rq *q, const char *sql,
               int (*fn)(void *, size_t, const char *const *, const struct ks_store_value *),
               void *user)
{
    struct ks_store_value p[3] = {p_i64(q->from_us), p_i64(q->to_us),
                                  p_text(q->sensors[0] ? q->sensors : NULL)};
    int rc = ks_store_query(q->s, sql, p, 3, fn, user);
    if (rc < 0) {
        rq_warn(q, "query failed: %s", ks_store_errmsg(q->s));
        if (rc == KS_ECORRUPT || rc == KS_ENOMEM)
            q->err = rc;
    }
    return rc;
}

static int run_p(struct rq *q, const char *sql, const struct ks_store_value *p, size_t np,
                 int (*fn)(void *, size_t, const char *const *, const struct ks_store_value *),
                 void *user)
{
    int rc = ks_store_query(q->s, sql, p, np, fn, user);
    if (rc < 0) {
        rq_warn(q, "query failed: %s", ks_store_errmsg(q->s));
        if (rc == KS_ECORRUPT || rc == KS_ENOMEM)
            q->err = rc;
    }
    return rc;
}

struct has_ctx {
    const char *cols;
    unsigned found, want;
};

static int has_col(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct has_ctx *c = user;
    char name[64];
    (void)names;
    if (n < 1)
        return 0;
    val_s(&v[0], name, sizeof name);
    size_t nl = strlen(name);
    for (const char *p = c->cols; *p;) {
        size_t l = strcspn(p, ",");
        if (l == nl && memcmp(p, name, l) == 0)
            c->found++;
        p += l;
        if (*p == ',')
            p++;
    }
    return 0;
}

bool rq_has(struct rq *q, const char *table, const char *cols)
{
    struct has_ctx c = {cols, 0, 1};
    for (const char *p = cols; *p; p++)
        c.want += *p == ',';
    struct ks_store_value p = p_text(table);
    if (ks_store_query(q->s,
                       SQL2("SELECT name FROM pragma_table_info(?1)",
                            "SELECT name FROM system.columns WHERE database = currentDatabase()"
                            " AND table = ?1"),
                       &p, 1, has_col, &c) < 0)
        return false;
    return c.found == c.want;
}

/* Whether the report may read the hourly rollups (rollup_1h, docs/store.md) instead of raw
 * rows: the store has them (schema 13, every input rolled up) and the report's days, weeks
 * and months start on whole UTC hours (a zone offset of whole hours). */
static bool rollup_h(struct rq *q)
{
    if (q->tz % 3600 == 0)
        return rq_has(q, "rollup_1h", "ts,src,sensor,k1,k2,n,v");
    return q->tz % 900 == 0 && rq_has(q, "rollup_15m", "ts,src,sensor,k1,k2,n,v");
}

/* The rollup query text for the report's zone: as written (rollup_1h) when the zone's offset
 * is whole hours; else the same over rollup_15m (schema 14: the same rollups per 15 minutes,
 * whose buckets line up with the days of any zone whose offset is a multiple of 15 minutes,
 * +05:30 or +05:45). A few rotating buffers: a call may pass two texts at once. */
static const char *rt(const struct rq *q, const char *sql)
{
    static _Thread_local char buf[4][16384];
    static _Thread_local unsigned next;
    if (q->tz % 3600 == 0)
        return sql;
    char *out = buf[next++ % 4], *o = out;
    static const char from[] = "rollup_1h", to[] = "rollup_15m";
    for (const char *p = sql; *p;) {
        if ((size_t)(o - out) + sizeof to >= sizeof buf[0])
            return "too long for rt()"; /* not SQL: the query fails and says so */
        if (strncmp(p, from, sizeof from - 1) == 0) {
            memcpy(o, to, sizeof to - 1);
            o += sizeof to - 1;
            p += sizeof from - 1;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* Period totals by a key with many values (source addresses, senders), from the rollups of
 * schema 14 (`NAME` in rollup_1d and rollup_1h, docs/store.md): [a, b) is cut into its whole
 * UTC days (?5..?6, rollup_1d), the whole hours at its ends (?4..?5 and ?6..?7, rollup_1h) and
 * what is left of the first and last hour (?1..?4 and ?7..?2: raw rows; empty unless the zone
 * is not whole hours). Parameters: p[0..2] as run() (a, b, sensors), p[3..6] the cuts. */
static bool rollup_split(struct rq *q)
{
    return rq_has(q, "rollup_15m", "ts,src,sensor,k1,k2,n,v") &&
           rq_has(q, "rollup_1d", "ts,src,sensor,k1,k2,n,v");
}

static int64_t ceil_to(int64_t t, int64_t unit)
{
    int64_t f = t / unit * unit;
    if (f > t)
        f -= unit;
    return f == t ? t : f + unit;
}

static int64_t floor_to(int64_t t, int64_t unit)
{
    int64_t f = t / unit * unit;
    return f > t ? f - unit : f;
}

static void split_params(const struct rq *q, int64_t a, int64_t b, struct ks_store_value p[7])
{
    int64_t h0 = ceil_to(a, KS_USEC_PER_HOUR), h1 = floor_to(b, KS_USEC_PER_HOUR);
    if (h0 > h1)
        h0 = h1 = b;
    int64_t d0 = ceil_to(h0, KS_USEC_PER_DAY), d1 = floor_to(h1, KS_USEC_PER_DAY);
    if (d0 > d1)
        d0 = d1 = h1;
    p[0] = p_i64(a);
    p[1] = p_i64(b);
    p[2] = p_text(q->sensors[0] ? q->sensors : NULL);
    p[3] = p_i64(h0);
    p[4] = p_i64(d0);
    p[5] = p_i64(d1);
    p[6] = p_i64(h1);
}

/* The rows of rollup NAME (key column K, count n) and of the raw table (key RK, one per row,
 * rows matching RW) in the cut period, as (k, c); W = more conditions on both. */
#define SPLIT_R(name, k, w)                                                                        \
    "SELECT " k " AS k, n AS c FROM rollup_1d" OK_JOIN(                                            \
        "rollup_1d") " WHERE src = '" name "' AND ts >= ?5 AND ts < ?6 AND " w                     \
                     " UNION ALL SELECT " k ", n FROM rollup_1h" OK_JOIN(                          \
                         "rollup_1h") " WHERE src = '" name                                        \
                                      "' AND (ts >= ?4 AND ts < ?5 OR ts >= ?6 AND ts < ?7)"       \
                                      " AND " w
#define SPLIT_RAW(t, rk, rw)                                                                       \
    " UNION ALL SELECT " rk ", 1 FROM " t OK_JOIN(t) " WHERE (ts >= ?1 AND ts < ?4 OR ts >= ?7"    \
                                                     " AND ts < ?2) AND " rw
#define CH_SPLIT_R(name, k, w)                                                                     \
    "SELECT " k " AS k, n AS c FROM rollup_1d WHERE" CH_OK " AND src = '" name "' AND ts >= ?5"    \
    " AND ts < ?6 AND " w " UNION ALL SELECT " k " AS k, n AS c FROM rollup_1h WHERE" CH_OK        \
    " AND src = '" name "' AND (ts >= ?4 AND ts < ?5 OR ts >= ?6 AND ts < ?7) AND " w
#define CH_SPLIT_RAW(t, rk, rw)                                                                    \
    " UNION ALL SELECT " rk " AS k, toInt64(1) AS c FROM " t " WHERE" CH_OK " AND (ts >= ?1 AND"   \
    " ts < ?4 OR ts >= ?7 AND ts < ?2) AND " rw

/* --- generic collectors ---------------------------------------------------------------------- */

/* First column as a number. */
static int one_num(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    double *out = user;
    (void)names;
    for (size_t i = 0; i < n; i++)
        out[i] = val_f(&v[i]);
    return 0;
}

/* Rows (name, value): the top names in order. */
struct top_ctx {
    char (*names)[RQ_NAME];
    double *v;
    size_t n, max;
};

static int top_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct top_ctx *c = user;
    (void)names;
    if (n < 2 || c->n >= c->max)
        return 0;
    val_s(&v[0], c->names[c->n], RQ_NAME);
    c->v[c->n] = val_f(&v[1]);
    c->n++;
    return 0;
}

/* Rows (day, key, value) into a stack whose first ns-1 series are named keys and whose last
 * is "other" (when has_other). */
struct stack_ctx {
    struct rq_stack *d;
    size_t named;
    bool has_other;
};

static int stack_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct stack_ctx *c = user;
    char key[RQ_NAME];
    (void)names;
    if (n < 3 || v[0].type != KS_TYPE_I64)
        return 0;
    int64_t day = v[0].v.i64;
    if (day < 0 || (size_t)day >= c->d->nx)
        return 0;
    val_s(&v[1], key, sizeof key);
    size_t k = c->named;
    for (size_t i = 0; i < c->named; i++)
        if (strcmp(c->d->names[i], key) == 0) {
            k = i;
            break;
        }
    if (k == c->named && !c->has_other)
        return 0;
    double x = val_f(&v[2]);
    double *cell = &c->d->v[k * c->d->nx + (size_t)day];
    *cell = isfinite(*cell) ? *cell + x : x;
    c->d->total += x;
    return 0;
}

static int cols_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v);

static int stack_alloc(struct rq_stack *d, size_t nx, size_t ns, double init)
{
    d->nx = nx;
    d->ns = ns;
    d->v = malloc((nx * ns > 0 ? nx * ns : 1) * sizeof *d->v);
    if (!d->v)
        return KS_ENOMEM;
    for (size_t i = 0; i < nx * ns; i++)
        d->v[i] = init;
    return KS_OK;
}

void rq_stack_free(struct rq_stack *d)
{
    free(d->v);
    d->v = NULL;
}

static const char *other_name(const struct rq *q)
{
    return strcmp(q->lang, "ja") == 0 ? "その他" : "Other";
}

/* Top-N keys (SQL top_sql returning key, total ordered) then daily rows (day_sql returning
 * day, key, value) into d: N named series by rank, then "other" if any remains. */
static int topn_stack(struct rq *q, struct rq_stack *d, const char *top_sql, const char *day_sql,
                      size_t topn, double init)
{
    char names[RQ_MAX_SERIES][RQ_NAME];
    double tot[RQ_MAX_SERIES];
    struct top_ctx tc = {names, tot, 0, topn < RQ_MAX_SERIES - 1 ? topn : RQ_MAX_SERIES - 1};
    if (run(q, top_sql, top_row, &tc) < 0)
        return KS_OK;
    if (stack_alloc(d, q->ndays, tc.n + 1, init) != KS_OK)
        return KS_ENOMEM;
    for (size_t i = 0; i < tc.n; i++) {
        snprintf(d->names[i], RQ_NAME, "%.95s", names[i]);
        d->colors[i] = (int)i;
    }
    snprintf(d->names[tc.n], RQ_NAME, "%s", other_name(q));
    d->colors[tc.n] = -1;
    struct stack_ctx sc = {d, tc.n, true};
    run(q, day_sql, stack_row, &sc);
    /* No "other" series if nothing fell in it. */
    bool any = false;
    for (size_t i = 0; i < d->nx; i++)
        if (isfinite(d->v[tc.n * d->nx + i]) && d->v[tc.n * d->nx + i] > 0)
            any = true;
    if (!any)
        d->ns = tc.n;
    return KS_OK;
}

/* Share in percent, NAN if the total is 0. */
static double pct(double part, double whole)
{
    return whole > 0 ? part / whole * 100.0 : NAN;
}

/* --- 1:図-1 incidents ------------------------------------------------------------------------- */

struct inc_ctx {
    double *counts;
};

static int inc_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct inc_ctx *c = user;
    char key[32];
    int cat;
    (void)names;
    if (n < 2)
        return 0;
    val_s(&v[0], key, sizeof key);
    if (ks_incident_cat_parse(key, strlen(key), &cat) == KS_OK)
        c->counts[cat] += val_f(&v[1]);
    return 0;
}

int q_incidents(struct rq *q, double counts[5])
{
    /* Q-incidents: entries dated in the period, each distinct entry once, per category. */
    static const char sql[] =
        "SELECT category, count(*) FROM (SELECT DISTINCT date, category, title, note"
        " FROM incidents" OK_JOIN("incidents") " WHERE date >= ?1 AND date <= ?2)"
                                               " GROUP BY category";
    static const char ch[] = "SELECT category, count(*) FROM (SELECT DISTINCT date, category,"
                             " title, note FROM incidents WHERE" CH_OK
                             " AND date >= ?1 AND date <= ?2) GROUP BY category";
    struct ks_store_value p[2] = {p_text(q->from), p_text(q->to)};
    struct inc_ctx c = {counts};
    memset(counts, 0, 5 * sizeof *counts);
    if (!rq_has(q, "incidents", "date,category,title,note"))
        return KS_ENOTFOUND;
    run_p(q, SQL2(sql, ch), p, 2, inc_row, &c);
    double total = 0;
    for (int i = 0; i < 5; i++)
        total += counts[i];
    num_set(q, "incidents.total", total, 0, NULL);
    static const char *const keys[5] = {"incidents.share.vulnerability", "incidents.share.events",
                                        "incidents.share.history", "incidents.share.security",
                                        "incidents.share.other"};
    long u[5];
    svg_round_shares(counts, 5, 1, u);
    for (int i = 0; i < 5; i++) {
        if (total > 0)
            num_set(q, keys[i], (double)u[i] / 10.0, 1, "%");
        else
            num_null(q, keys[i]);
    }
    return total > 0 ? KS_OK : KS_ENOTFOUND;
}

/* --- 1:図-2, 図-3 DDoS ------------------------------------------------------------------------ */

/* The DDoS analyzer's tables (src/ddos/README.md): ddos_attacks (start_ts, end_ts, duration_s,
 * class server / bandwidth / composite, vectors, peak_bps) and ddos_timeline (per-second or
 * coarser traffic of an attack, joined on (input_id, attack)). A class outside the three is
 * "shape not established": excluded and counted. */
struct ddos_max {
    double peak, before;
    char cls[32], vec[256];
};

static int ddos_max_row(void *user, size_t n, const char *const *names,
                        const struct ks_store_value *v)
{
    struct ddos_max *m = user;
    (void)names;
    if (n < 4)
        return 0;
    m->peak = val_f(&v[0]);
    val_s(&v[1], m->cls, sizeof m->cls);
    val_s(&v[2], m->vec, sizeof m->vec);
    m->before = val_f(&v[3]);
    return 0;
}

int q_ddos_daily(struct rq *q, struct rq_stack *d)
{
    /* Q-ddos-daily: attacks per day of their start, by class. */
    static const char sql[] =
        "SELECT (start_ts - ?1) / " DAY_US ", class, count(*) FROM ddos_attacks" OK_JOIN(
            "ddos_attacks") " WHERE start_ts >= ?1 AND start_ts < ?2 GROUP BY 1, 2";
    /* Q-ddos-duration: < 30 min, 30 min to 24 h, > 24 h; and attacks of no established class. */
    static const char sql_dur[] =
        "SELECT sum(duration_s < 1800 AND class IN ('server', 'bandwidth', 'composite')),"
        " sum(duration_s >= 1800 AND duration_s <= 86400 AND class IN ('server', 'bandwidth',"
        " 'composite')), sum(duration_s > 86400 AND class IN ('server', 'bandwidth', 'composite')),"
        " sum(class NOT IN ('server', 'bandwidth', 'composite')) FROM ddos_attacks" OK_JOIN(
            "ddos_attacks") " WHERE start_ts >= ?1 AND start_ts < ?2";
    /* Q-ddos-max: the attack with the highest peak, and the highest peak before the period. */
    static const char sql_max[] =
        "SELECT peak_bps, class, vectors, (SELECT max(peak_bps) FROM ddos_attacks "
        "a" OK_JOIN("a") " WHERE a.start_ts < ?1) FROM ddos_attacks" OK_JOIN(
            "ddos_attacks") " WHERE start_ts >= ?1 AND start_ts < ?2 AND class IN "
                            "('server', 'bandwidth', 'composite')"
                            " ORDER BY peak_bps DESC, start_ts LIMIT 1";
#define DDOS_CLS "('server', 'bandwidth', 'composite')"
    static const char ch[] =
        "SELECT " CH_DAY("start_ts - ?1") " AS d, class, count(*) FROM"
                                          " ddos_attacks WHERE" CH_OK
                                          " AND start_ts >= ?1 AND start_ts < ?2"
                                          " GROUP BY d, class";
    static const char ch_dur[] =
        "SELECT sum(duration_s < 1800 AND class IN " DDOS_CLS "), sum(duration_s >= 1800 AND"
        " duration_s <= 86400 AND class IN " DDOS_CLS "), sum(duration_s > 86400 AND class IN"
        " " DDOS_CLS "), sum(class NOT IN " DDOS_CLS ") FROM ddos_attacks WHERE" CH_OK
        " AND start_ts >= ?1 AND start_ts < ?2";
    /* (A scalar subquery over a Distributed table fails there: the record before apart.) */
    static const char ch_max[] =
        "SELECT peak_bps, class, vectors, nan FROM ddos_attacks WHERE" CH_OK
        " AND start_ts >= ?1 AND start_ts < ?2 AND class IN " DDOS_CLS
        " ORDER BY peak_bps DESC, start_ts LIMIT 1";
    static const char ch_before[] =
        "SELECT if(count() = 0, nan, toFloat64(max(peak_bps))) FROM ddos_attacks"
        " WHERE" CH_OK " AND start_ts < ?1";
    const char *ja[3] = {"サーバに対する攻撃", "回線容量に対する攻撃", "複合攻撃"};
    const char *en[3] = {"Attacks on servers", "Attacks on bandwidth", "Composite attacks"};
    const char *keys[3] = {"server", "bandwidth", "composite"};
    d->why = "ddos";
    if (!rq_has(q, "ddos_attacks", "start_ts,duration_s,class,peak_bps,vectors"))
        return KS_ENOTFOUND;
    if (stack_alloc(d, q->ndays, 3, 0) != KS_OK)
        return KS_ENOMEM;
    for (int i = 0; i < 3; i++) {
        snprintf(d->names[i], RQ_NAME, "%s", keys[i]);
        d->colors[i] = i;
    }
    struct stack_ctx sc = {d, 3, false};
    run(q, SQL2(sql, ch), stack_row, &sc);
    for (int i = 0; i < 3; i++)
        snprintf(d->names[i], RQ_NAME, "%s", strcmp(q->lang, "ja") == 0 ? ja[i] : en[i]);
    double cls[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < d->nx; i++)
            cls[k] += d->v[(size_t)k * d->nx + i];
    double total = cls[0] + cls[1] + cls[2];
    if (!(total > 0))
        return KS_ENOTFOUND;
    d->why = NULL;
    num_set(q, "ddos.attacks", total, 0, NULL);
    /* Rounded to a whole number as the reference writes it; a tenth below one a day. */
    num_set(q, "ddos.per_day", total / (double)q->ndays, total < (double)q->ndays ? 1 : 0, NULL);
    long u[3];
    svg_round_shares(cls, 3, 0, u);
    num_set(q, "ddos.share.server", (double)u[0], 0, "%");
    num_set(q, "ddos.share.bandwidth", (double)u[1], 0, "%");
    num_set(q, "ddos.share.composite", (double)u[2], 0, "%");
    double dur[4] = {NAN, NAN, NAN, NAN};
    run(q, SQL2(sql_dur, ch_dur), one_num, dur);
    double all = (isfinite(dur[0]) ? dur[0] : 0) + (isfinite(dur[1]) ? dur[1] : 0) +
                 (isfinite(dur[2]) ? dur[2] : 0);
    num_set(q, "ddos.duration.lt30m", pct(dur[0], all), 0, "%");
    num_set(q, "ddos.duration.30m_24h", pct(dur[1], all), 0, "%");
    num_set(q, "ddos.duration.gt24h", pct(dur[2], all), 0, "%");
    num_set(q, "ddos.unknown_shape", isfinite(dur[3]) ? dur[3] : 0, 0, NULL);
    struct ddos_max mx = {NAN, NAN, "", ""};
    run(q, SQL2(sql_max, ch_max), ddos_max_row, &mx);
    if (is_ch(q))
        run(q, ch_before, one_num, &mx.before);
    if (isfinite(mx.peak)) {
        num_set(q, "ddos.max.gbps", mx.peak / 1e9, 2, NULL);
        num_str(q, "ddos.max.is_record",
                !isfinite(mx.before) || mx.peak > mx.before ? "yes" : "no");
        num_str(q, "ddos.max.class", mx.cls);
        num_str(q, "ddos.max.vectors", mx.vec);
    }
    return KS_OK;
}

int q_ddos_largest(struct rq *q, struct rq_stack *d, int64_t *day0_us)
{
    /* Q-ddos-largest: the attack of the period with the highest peak_bps; its timeline rows
     * summed per minute of the day of its start (report zone), as Gbps (a row covering
     * `seconds` counts for its first minute, spread evenly when longer than a minute). */
    static const char sql_top[] =
        "SELECT ddos_attacks.input_id, attack, start_ts FROM ddos_attacks" OK_JOIN(
            "ddos_attacks") " WHERE start_ts >= ?1 AND start_ts < ?2 AND class IN ('server', "
                            "'bandwidth', 'composite')"
                            " ORDER BY peak_bps DESC, start_ts LIMIT 1";
    /* Rows of the same input (the analyzer writes both tables in one input); when that input
     * has no timeline (timelines imported apart), those of the same attack number on that day. */
    static const char sql_tl[] =
        "SELECT (t.ts - ?3) / 60000000, sum(t.bytes * 8.0 / max(t.seconds, 1) *"
        " min(max(t.seconds, 1), 60)) / 60.0 / 1e9 FROM ddos_timeline t" OK_JOIN(
            "t") " WHERE (t.input_id = ?1 OR NOT EXISTS (SELECT 1 FROM ddos_timeline x WHERE"
                 " x.input_id = ?1)) AND t.attack = ?2 AND t.ts >= ?3 AND t.ts < ?3 + " DAY_US
                 " GROUP BY 1";
    static const char ch_top[] =
        "SELECT input_id, attack, start_ts FROM ddos_attacks WHERE" CH_OK " AND start_ts >= ?1"
        " AND start_ts < ?2 AND class IN " DDOS_CLS " ORDER BY peak_bps DESC, start_ts LIMIT 1";
    static const char ch_tl[] =
        "SELECT intDiv(ts - ?3, 60000000) AS m, sum(bytes * 8.0 / greatest(seconds, 1) *"
        " least(greatest(seconds, 1), 60)) / 60.0 / 1e9 FROM ddos_timeline WHERE" CH_OK
        " AND (input_id = ?1 OR (SELECT count() FROM ddos_timeline WHERE input_id = ?1) = 0)"
        " AND attack = ?2 AND ts >= ?3 AND ts < ?3 + " DAY_US " GROUP BY m";
    double top[3] = {NAN, NAN, NAN};
    d->why = "ddos";
    *day0_us = 0;
    if (!rq_has(q, "ddos_attacks", "start_ts,class,peak_bps,attack") ||
        !rq_has(q, "ddos_timeline", "attack,ts,seconds,bytes"))
        return KS_ENOTFOUND;
    run(q, SQL2(sql_top, ch_top), one_num, top);
    if (!isfinite(top[0]))
        return KS_ENOTFOUND;
    int64_t day0 = ks_time_bucket((int64_t)top[2], KS_BUCKET_DAY, q->tz);
    *day0_us = day0;
    if (stack_alloc(d, 1440, 1, 0) != KS_OK)
        return KS_ENOMEM;
    snprintf(d->names[0], RQ_NAME, "traffic[Gbps]");
    d->colors[0] = 0;
    struct ks_store_value p[3] = {p_i64((int64_t)top[0]), p_i64((int64_t)top[1]), p_i64(day0)};
    run_p(q, SQL2(sql_tl, ch_tl), p, 3, cols_row, d);
    if (!(d->total > 0))
        return KS_ENOTFOUND;
    d->why = NULL;
    return KS_OK;
}

/* --- 1:図-4, 図-5 honeypot / darknet ------------------------------------------------------------
 */

#define HP_WHERE " WHERE ts >= ?1 AND ts < ?2 AND " SENSOR_OK
#define HP_CTE                                                                                     \
    "WITH r AS (SELECT (ts - ?1) / " DAY_US " AS day, sensor, port || '/' || lower(proto) AS key"  \
    " FROM honeypot_sessions" OK_JOIN("honeypot_sessions") HP_WHERE                                \
        "),"                                                                                       \
        " s AS (SELECT day, count(DISTINCT sensor) AS n FROM r GROUP BY day),"                     \
        " c AS (SELECT day, key, count(*) AS c FROM r GROUP BY day, key) "

/* The darknet analyzer's tables (src/darknet/README.md): packets per day, sensor, kind,
 * protocol and port (darknet_cells), and the sensors' days (darknet_days). */
#define DN_CTE                                                                                     \
    "WITH r AS (SELECT (ts - ?1) / " DAY_US " AS day, port || '/' || CASE proto WHEN 6 THEN 'tcp'" \
    " WHEN 17 THEN 'udp' WHEN 1 THEN 'icmp' ELSE proto END AS key, packets FROM "                  \
    "darknet_cells" OK_JOIN(                                                                       \
        "darknet_cells") " WHERE ts >= ?1 AND ts < ?2 AND kind = 'scan' AND " SENSOR_OK "),"       \
                         " s AS (SELECT (ts - ?1) / " DAY_US                                       \
                         " AS day, count(DISTINCT sensor) AS n FROM darknet_days" OK_JOIN(         \
                             "darknet_days") " WHERE ts >= ?1 AND ts < ?2 AND " SENSOR_OK          \
                                             " GROUP BY 1),"                                       \
                                             " c AS (SELECT day, key, sum(packets) AS c FROM r "   \
                                             "GROUP BY day, key) "

/* The same from the hourly rollups of honeypot_sessions (k1 port, k2 proto, n sessions). */
#define HPR_CTE                                                                                    \
    "WITH r AS (SELECT (ts - ?1) / " DAY_US " AS day, sensor, k1 || '/' || lower(k2) AS key,"      \
    " n AS cnt FROM rollup_1h" OK_JOIN(                                                            \
        "rollup_1h") " WHERE src = 'honeypot_sessions' AND ts >= ?1"                               \
                     " AND ts < ?2 AND " SENSOR_OK "),"                                            \
                     " s AS (SELECT day, count(DISTINCT sensor) AS n FROM r GROUP BY day),"        \
                     " c AS (SELECT day, key, sum(cnt) AS c FROM r GROUP BY day, key) "

/* ClickHouse: r, s and c as subqueries; c and s joined USING day. */
#define CH_HP_R                                                                                    \
    "SELECT " CH_DAY("ts - ?1") " AS day, sensor, concat(toString(port), '/', lower(proto)) AS"    \
                                " key, 1 AS cnt FROM honeypot_sessions WHERE" CH_OK                \
                                " AND ts >= ?1 AND ts < ?2 AND " CH_SENSOR_OK
#define CH_HPR_R                                                                                   \
    "SELECT " CH_DAY(                                                                              \
        "ts - ?1") " AS day, sensor, concat(k1, '/', lower(k2)) AS key, n AS cnt"                  \
                   " FROM rollup_1h WHERE" CH_OK                                                   \
                   " AND src = 'honeypot_sessions' AND ts >= ?1 AND ts < ?2 AND " CH_SENSOR_OK
#define CH_DN_R                                                                                    \
    "SELECT " CH_DAY("ts - ?1") " AS day, concat(toString(port), '/', CASE proto WHEN 6 THEN"      \
                                " 'tcp' WHEN 17 THEN 'udp' WHEN 1 THEN 'icmp' ELSE "               \
                                "toString(proto) END) AS key, packets AS"                          \
                                " cnt FROM darknet_cells WHERE" CH_OK                              \
                                " AND ts >= ?1 AND ts < ?2 AND kind = 'scan' AND " CH_SENSOR_OK
#define CH_S(r) "(SELECT day, uniqExact(sensor) AS n FROM (" r ") GROUP BY day)"
#define CH_DN_S                                                                                    \
    "(SELECT " CH_DAY("ts - ?1") " AS day, uniqExact(sensor) AS n FROM darknet_days WHERE" CH_OK   \
                                 " AND ts >= ?1 AND ts < ?2 AND " CH_SENSOR_OK " GROUP BY day)"
#define CH_C(r) "(SELECT day, key, sum(cnt) AS c FROM (" r ") GROUP BY day, key)"
#define CH_TOP(c, s)                                                                               \
    "SELECT key, sum(c * 1.0 / n) AS t FROM " c " ALL INNER JOIN " s " USING day GROUP BY key"     \
    " ORDER BY t DESC, key LIMIT 10"
#define CH_DAYS(c, s) "SELECT day, key, c * 1.0 / n FROM " c " ALL INNER JOIN " s " USING day"

static int darknet_cells_ports(struct rq *q, struct rq_stack *d)
{
    /* Q-darknet-cells: scan packets per day and port/protocol, divided by the sensors that
     * reported that day (darknet_days); top 10 over the period. */
    static const char top_sql[] = DN_CTE "SELECT key, sum(c * 1.0 / n) AS t FROM c JOIN s USING"
                                         " (day) GROUP BY key ORDER BY t DESC, key LIMIT 10";
    static const char day_sql[] = DN_CTE "SELECT day, key, c * 1.0 / n FROM c JOIN s USING (day)";
    static const char days_sql[] = DN_CTE "SELECT count(*) FROM s";
    static const char ch_top[] = CH_TOP(CH_C(CH_DN_R), CH_DN_S);
    static const char ch_day[] = CH_DAYS(CH_C(CH_DN_R), CH_DN_S);
    static const char ch_days[] = "SELECT count(*) FROM " CH_DN_S;
    double days = 0;
    run(q, SQL2(days_sql, ch_days), one_num, &days);
    if (!(days > 0))
        return KS_ENOTFOUND;
    int rc = topn_stack(q, d, SQL2(top_sql, ch_top), SQL2(day_sql, ch_day), 10, NAN);
    if (rc == KS_OK && !(d->total > 0)) {
        rq_stack_free(d);
        return KS_ENOTFOUND;
    }
    num_str(q, "darknet.ports.source", "darknet_cells");
    return rc;
}

int q_darknet_ports(struct rq *q, struct rq_stack *d)
{
    /* Q-darknet-ports: sessions (TCP sessions, UDP datagrams) per day and destination
     * port/protocol, divided by the sensors that reported that day; top 10 over the period. */
    static const char top_sql[] = HP_CTE "SELECT key, sum(c * 1.0 / n) AS t FROM c JOIN s USING"
                                         " (day) GROUP BY key ORDER BY t DESC, key LIMIT 10";
    static const char day_sql[] = HP_CTE "SELECT day, key, c * 1.0 / n FROM c JOIN s USING (day)";
    static const char sensors_sql[] = HP_CTE "SELECT count(*), avg(n) FROM s";
    static const char r_top[] = HPR_CTE "SELECT key, sum(c * 1.0 / n) AS t FROM c JOIN s USING"
                                        " (day) GROUP BY key ORDER BY t DESC, key LIMIT 10";
    static const char r_day[] = HPR_CTE "SELECT day, key, c * 1.0 / n FROM c JOIN s USING (day)";
    static const char r_sensors[] = HPR_CTE "SELECT count(*), avg(n) FROM s";
    static const char ch_top[] = CH_TOP(CH_C(CH_HP_R), CH_S(CH_HP_R));
    static const char ch_day[] = CH_DAYS(CH_C(CH_HP_R), CH_S(CH_HP_R));
    static const char ch_sensors[] = "SELECT count(*), avg(n) FROM " CH_S(CH_HP_R);
    static const char chr_top[] = CH_TOP(CH_C(CH_HPR_R), CH_S(CH_HPR_R));
    static const char chr_day[] = CH_DAYS(CH_C(CH_HPR_R), CH_S(CH_HPR_R));
    static const char chr_sensors[] = "SELECT count(*), avg(n) FROM " CH_S(CH_HPR_R);
    double days[2] = {0, 0};
    int rc;
    d->why = "honeypot";
    /* Days no sensor reported are gaps (NAN), not zeros: start from NAN, and set 0 for the
     * days with sensors. The darknet's packet counts when it has any for the period, else the
     * honeypot's sessions. */
    if (rq_has(q, "darknet_cells", "ts,sensor,kind,proto,port,packets") &&
        rq_has(q, "darknet_days", "ts,sensor") && darknet_cells_ports(q, d) == KS_OK) {
        static const char dsql[] = DN_CTE "SELECT count(*), avg(n) FROM s";
        static const char ch_dsql[] = "SELECT count(*), avg(n) FROM " CH_DN_S;
        run(q, SQL2(dsql, ch_dsql), one_num, days);
    } else {
        if (!rq_has(q, "honeypot_sessions", "ts,sensor,proto,port,source"))
            return KS_ENOTFOUND;
        /* The hourly rollups when they line up with the report's days. */
        bool r = rollup_h(q);
        if ((rc = topn_stack(q, d, r ? rt(q, SQL2(r_top, chr_top)) : SQL2(top_sql, ch_top),
                             r ? rt(q, SQL2(r_day, chr_day)) : SQL2(day_sql, ch_day), 10, NAN)) !=
            KS_OK)
            return rc;
        num_str(q, "darknet.ports.source", "honeypot_sessions");
        run(q, r ? rt(q, SQL2(r_sensors, chr_sensors)) : SQL2(sensors_sql, ch_sensors), one_num,
            days);
    }
    if (!(d->total > 0))
        return KS_ENOTFOUND;
    for (size_t i = 0; i < d->nx; i++) {
        bool any = false;
        for (size_t k = 0; k < d->ns; k++)
            any |= isfinite(d->v[k * d->nx + i]);
        for (size_t k = 0; k < d->ns && any; k++)
            if (!isfinite(d->v[k * d->nx + i]))
                d->v[k * d->nx + i] = 0;
    }
    d->why = NULL;
    char list[1024] = "";
    for (size_t i = 0; i < d->ns && d->colors[i] >= 0; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", d->names[i]);
    }
    num_str(q, "darknet.ports.top10", list);
    num_set(q, "darknet.days_reported", days[0], 0, NULL);
    num_set(q, "darknet.per_sensor_day", d->total / (days[0] > 0 ? days[0] : 1), 0, NULL);
    return KS_OK;
}

/* Aggregation of sources by country and (for the home country) AS, bounded. */
#define AGG_MAX 4096
struct agg {
    char key[AGG_MAX][48];
    double v[AGG_MAX];
    size_t n;
    double dropped;
};

static void agg_add(struct agg *a, const char *key, double v)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->key[i], key) == 0) {
            a->v[i] += v;
            return;
        }
    if (a->n == AGG_MAX) {
        a->dropped += v;
        return;
    }
    snprintf(a->key[a->n], sizeof a->key[0], "%s", key);
    a->v[a->n++] = v;
}

static int agg_idx_cmp(const void *x, const void *y, void *user)
{
    const struct agg *ag = user;
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    double a = ag->v[i], b = ag->v[j];
    if (a != b)
        return a < b ? 1 : -1;
    return strcmp(ag->key[i], ag->key[j]);
}

/* Indices of a sorted by value descending, then key. */
static size_t *agg_rank(struct agg *a)
{
    size_t *idx = malloc((a->n ? a->n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < a->n; i++)
        idx[i] = i;
    qsort_r(idx, a->n, sizeof *idx, agg_idx_cmp, a);
    return idx;
}

struct src_ctx {
    struct rq *q;
    struct agg *countries, *ases;
    double domestic, foreign, unknown;
    const char *operator_asns; /* ",2497,..." */
    double op;
    bool have_country; /* rows give (country, asn, n) instead of (source, n) */
};

static int src_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct src_ctx *c = user;
    char cc[8] = "--", buf[64];
    uint32_t asn = 0;
    double cnt;
    (void)names;
    if (c->have_country) {
        if (n < 3)
            return 0;
        val_s(&v[0], cc, sizeof cc);
        asn = v[1].type == KS_TYPE_I64 ? (uint32_t)v[1].v.i64 : 0;
        cnt = val_f(&v[2]);
    } else {
        if (n < 2)
            return 0;
        val_s(&v[0], buf, sizeof buf);
        cnt = val_f(&v[1]);
        struct ks_addr a;
        struct ks_geo_result r;
        if (c->q->geo && ks_addr_parse(buf, strlen(buf), &a) == KS_OK &&
            ks_geo_lookup(c->q->geo, &a, &r) == KS_OK) {
            snprintf(cc, sizeof cc, "%s", r.country);
            asn = r.asn;
        }
    }
    if (!isfinite(cnt))
        return 0;
    if (strlen(cc) != 2 || strcmp(cc, "--") == 0) {
        c->unknown += cnt;
        agg_add(c->countries, "--", cnt);
        return 0;
    }
    if (strcmp(cc, c->q->home) == 0) {
        c->domestic += cnt;
        snprintf(buf, sizeof buf, ",%u,", asn);
        if (asn && c->operator_asns && strstr(c->operator_asns, buf))
            c->op += cnt;
        else {
            snprintf(buf, sizeof buf, "%u", asn);
            agg_add(c->ases, buf, cnt);
        }
    } else {
        c->foreign += cnt;
        agg_add(c->countries, cc, cnt);
    }
    return 0;
}

/* Builds the two rings: inner domestic / foreign; outer the operator, the next nine domestic
 * ASes anonymised A..I, other domestic; the top 9 foreign countries, other foreign. */
static void sources_rings(struct rq *q, struct src_ctx *c, struct rq_slices *d, const char *prefix)
{
    bool ja = strcmp(q->lang, "ja") == 0;
    const char *opname = notes_get(q->notes, "config", "operator");
    char key[96];
    memset(d, 0, sizeof *d);
    d->ngroups = 2;
    snprintf(d->gnames[0], RQ_NAME, "%s", ja ? "国内" : "Domestic");
    snprintf(d->gnames[1], RQ_NAME, "%s", ja ? "国外" : "Foreign");
    d->gv[0] = c->domestic;
    d->gv[1] = c->foreign + c->unknown;
    d->gcolors[0] = -2; /* SVG_TINT_BLUE */
    d->gcolors[1] = -3; /* SVG_TINT_VERMILLION */
    d->total = d->gv[0] + d->gv[1];
    size_t *ra = agg_rank(c->ases), *rc = agg_rank(c->countries);
    if (!ra || !rc) {
        free(ra);
        free(rc);
        q->err = KS_ENOMEM;
        return;
    }
    int col = 0;
    long op_i = -1, top_i = -1;
    if (c->op > 0 || opname) {
        op_i = (long)d->n;
        snprintf(d->names[d->n], RQ_NAME, "%s", opname ? opname : (ja ? "当社" : "Operator"));
        d->v[d->n] = c->op;
        d->colors[d->n] = col++;
        d->group[d->n++] = 0;
    }
    double rest = 0;
    size_t isps = 0; /* AS 0 (unknown) is never named and takes no letter */
    for (size_t i = 0; i < c->ases->n; i++) {
        size_t k = ra[i];
        if (isps < 9 && strcmp(c->ases->key[k], "0") != 0) {
            if (ja)
                snprintf(d->names[d->n], RQ_NAME, "%c社", (char)('A' + isps));
            else
                snprintf(d->names[d->n], RQ_NAME, "ISP %c", (char)('A' + isps));
            isps++;
            d->v[d->n] = c->ases->v[k];
            d->colors[d->n] = col++;
            d->group[d->n++] = 0;
        } else {
            rest += c->ases->v[k];
        }
    }
    if (rest > 0) {
        snprintf(d->names[d->n], RQ_NAME, "%s", other_name(q));
        d->v[d->n] = rest;
        d->colors[d->n] = -1;
        d->group[d->n++] = 0;
    }
    rest = c->countries->dropped;
    col = 0;
    size_t shown = 0;
    for (size_t i = 0; i < c->countries->n; i++) {
        size_t k = rc[i];
        if (shown < 9 && strcmp(c->countries->key[k], "--") != 0) {
            snprintf(d->names[d->n], RQ_NAME, "%s", c->countries->key[k]);
            d->v[d->n] = c->countries->v[k];
            /* Foreign ranks start at vermillion, so that they differ from the domestic ones
             * next to them on the ring. */
            d->colors[d->n] = col < 7 ? (col + 3) % 7 : col;
            col++;
            d->group[d->n++] = 1;
            if (shown == 0) {
                snprintf(key, sizeof key, "%s.top_country", prefix);
                num_str(q, key, c->countries->key[k]);
                top_i = (long)d->n - 1;
            }
            shown++;
        } else {
            rest += c->countries->v[k];
        }
    }
    if (rest > 0) {
        snprintf(d->names[d->n], RQ_NAME, "%s", other_name(q));
        d->v[d->n] = rest;
        d->colors[d->n] = -1;
        d->group[d->n++] = 1;
    }
    free(ra);
    free(rc);
    /* The shares as the figure prints them (largest remainder, whole percents). */
    long ug[2], uo[32];
    svg_round_shares(d->gv, 2, 0, ug);
    svg_round_shares(d->v, d->n, 0, uo);
    snprintf(key, sizeof key, "%s.domestic", prefix);
    num_set(q, key, (double)ug[0], 0, "%");
    snprintf(key, sizeof key, "%s.foreign", prefix);
    num_set(q, key, (double)ug[1], 0, "%");
    snprintf(key, sizeof key, "%s.operator", prefix);
    num_set(q, key, op_i >= 0 ? (double)uo[op_i] : 0.0, 0, "%");
    snprintf(key, sizeof key, "%s.top_country_share", prefix);
    if (top_i >= 0)
        num_set(q, key, (double)uo[top_i], 0, "%");
    else
        num_null(q, key);
}

static void operator_asns(const struct rq *q, char *buf, size_t size)
{
    const char *v = notes_get(q->notes, "config", "operator_asn");
    size_t o = 0;
    buf[0] = '\0';
    if (!v)
        return;
    o += (size_t)snprintf(buf, size, ",");
    for (const char *p = v; *p && o + 2 < size; p++) {
        if (*p >= '0' && *p <= '9')
            buf[o++] = *p;
        else if ((*p == ',' || *p == ' ') && buf[o - 1] != ',')
            buf[o++] = ',';
    }
    if (buf[o - 1] != ',' && o + 1 < size)
        buf[o++] = ',';
    buf[o] = '\0';
}

/* The ASes the store has seen with addresses of the home country: the tables that keep a
 * (country, asn) pair per record (sample_events, mail_messages), any time, plus the operator's.
 * darknet_sources keeps countries and ASes as two separate distributions, so this is how its
 * AS rows are told domestic. Bounded: ASes past the buffer are left out (counted as other). */
struct asn_set {
    char *buf; /* ",n,m," */
    size_t len, size;
};

static int asn_set_row(void *user, size_t n, const char *const *names,
                       const struct ks_store_value *v)
{
    struct asn_set *a = user;
    char item[24];
    (void)names;
    if (n < 1 || v[0].type != KS_TYPE_I64 || v[0].v.i64 <= 0 || v[0].v.i64 > UINT32_MAX)
        return 0;
    snprintf(item, sizeof item, ",%lld,", (long long)v[0].v.i64);
    if (strstr(a->buf, item))
        return 0;
    size_t l = strlen(item + 1);
    if (a->len + l + 1 > a->size)
        return 0;
    memcpy(a->buf + a->len, item + 1, l + 1);
    a->len += l;
    return 0;
}

static void home_asns(struct rq *q, const char *operator_asns, struct asn_set *a)
{
    static const char sql_samples[] =
        "SELECT DISTINCT asn FROM sample_events" OK_JOIN("sample_events") " WHERE country = ?1";
    static const char sql_mail[] =
        "SELECT DISTINCT asn FROM mail_messages" OK_JOIN("mail_messages") " WHERE country = ?1";
    static const char ch_samples[] =
        "SELECT DISTINCT asn FROM sample_events WHERE" CH_OK " AND country = ?1";
    static const char ch_mail[] =
        "SELECT DISTINCT asn FROM mail_messages WHERE" CH_OK " AND country = ?1";
    snprintf(a->buf, a->size, "%s", operator_asns[0] ? operator_asns : ",");
    a->len = strlen(a->buf);
    struct ks_store_value p = p_text(q->home);
    if (rq_has(q, "sample_events", "country,asn"))
        run_p(q, SQL2(sql_samples, ch_samples), &p, 1, asn_set_row, a);
    if (rq_has(q, "mail_messages", "country,asn"))
        run_p(q, SQL2(sql_mail, ch_mail), &p, 1, asn_set_row, a);
}

/* Feeds one (country, asn, n) row to src_row. */
static void src_feed(struct src_ctx *c, const char *cc, uint32_t asn, double n)
{
    struct ks_store_value v[3] = {p_text(cc), p_i64(asn), {.type = KS_TYPE_F64}};
    v[2].v.f64 = n;
    src_row(c, 3, NULL, v);
}

struct dn_src_ctx {
    struct src_ctx *c;
    const char *asns; /* the home ASes */
    struct agg *dom;  /* home ASes' packets, by AS number */
    double home;      /* packets from the home country */
};

static int dn_country_row(void *user, size_t n, const char *const *names,
                          const struct ks_store_value *v)
{
    struct dn_src_ctx *x = user;
    char cc[8];
    (void)names;
    if (n < 2)
        return 0;
    val_s(&v[0], cc, sizeof cc);
    double p = val_f(&v[1]);
    if (!isfinite(p) || p <= 0)
        return 0;
    if (strcmp(cc, x->c->q->home) == 0)
        x->home += p;
    else
        src_feed(x->c, cc, 0, p);
    return 0;
}

static int dn_as_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct dn_src_ctx *x = user;
    char key[24], item[24];
    (void)names;
    if (n < 2)
        return 0;
    val_s(&v[0], key, sizeof key);
    double p = val_f(&v[1]);
    if (!isfinite(p) || p <= 0 || strncmp(key, "AS", 2) != 0)
        return 0;
    char *end;
    unsigned long asn = strtoul(key + 2, &end, 10);
    if (*end || asn == 0 || asn > UINT32_MAX)
        return 0;
    snprintf(item, sizeof item, ",%lu,", asn);
    if (strstr(x->asns, item))
        agg_add(x->dom, item, p);
    return 0;
}

static int darknet_sources_rings(struct rq *q, struct src_ctx *c)
{
    /* Q-darknet-dn-sources: the darknet's scanning sources' packets of the period by country
     * (dim 'country'); the home country's packets split by AS (dim 'as', the ASes of
     * home_asns), scaled down if those ASes carry more than the country (an AS with foreign
     * space), the rest as other. */
#define DNS_WHERE " WHERE ts >= ?1 AND ts < ?2 AND " SENSOR_OK " AND dim = "
    static const char sql_cc[] =
        "SELECT key, sum(packets) FROM darknet_sources" OK_JOIN("darknet_sources") DNS_WHERE
        "'country' GROUP BY key";
    static const char sql_as[] =
        "SELECT key, sum(packets) FROM darknet_sources" OK_JOIN("darknet_sources") DNS_WHERE
        "'as' GROUP BY key";
#undef DNS_WHERE
#define CH_DNS_WHERE " WHERE" CH_OK " AND ts >= ?1 AND ts < ?2 AND " CH_SENSOR_OK " AND dim = "
    static const char ch_cc[] =
        "SELECT key, sum(packets) FROM darknet_sources" CH_DNS_WHERE "'country' GROUP BY key";
    static const char ch_as[] =
        "SELECT key, sum(packets) FROM darknet_sources" CH_DNS_WHERE "'as' GROUP BY key";
#undef CH_DNS_WHERE
    struct agg *dom = calloc(1, sizeof *dom);
    struct asn_set set = {malloc(65536), 0, 65536};
    int ret = KS_ENOTFOUND;
    if (!dom || !set.buf) {
        ret = KS_ENOMEM;
        goto out;
    }
    struct dn_src_ctx x = {c, set.buf, dom, 0};
    run(q, SQL2(sql_cc, ch_cc), dn_country_row, &x);
    if (!(x.home + c->foreign + c->unknown > 0))
        goto out;
    if (x.home > 0) {
        home_asns(q, c->operator_asns ? c->operator_asns : "", &set);
        run(q, SQL2(sql_as, ch_as), dn_as_row, &x);
        double sum = 0;
        for (size_t i = 0; i < dom->n; i++)
            sum += dom->v[i];
        double f = sum > x.home ? x.home / sum : 1.0;
        for (size_t i = 0; i < dom->n; i++)
            src_feed(c, q->home, (uint32_t)strtoul(dom->key[i] + 1, NULL, 10), dom->v[i] * f);
        if (x.home - sum * f > 0)
            src_feed(c, q->home, 0, x.home - sum * f);
    }
    ret = KS_OK;
out:
    free(dom);
    free(set.buf);
    return ret;
}

int q_darknet_sources(struct rq *q, struct rq_slices *d)
{
    /* Q-darknet-sources: the darknet analyzer's source distributions (darknet_sources) when
     * it has rows for the period; else honeypot sessions of the period by source address,
     * country and AS from the geolocation data (the honeypot stores addresses only). */
    static const char sql[] =
        "SELECT source, count(*) FROM honeypot_sessions" OK_JOIN("honeypot_sessions") HP_WHERE
        " GROUP BY source";
    static const char ch[] = "SELECT source, count(*) FROM honeypot_sessions WHERE" CH_OK
                             " AND ts >= ?1 AND ts < ?2 AND " CH_SENSOR_OK " GROUP BY source";
    /* The same from the rollups of sources per day and hour (schema 14). */
    static const char s_sql[] =
        "SELECT k, sum(c) FROM (" SPLIT_R("honeypot_sessions:source", "k1", SENSOR_OK)
            SPLIT_RAW("honeypot_sessions", "source", SENSOR_OK) ") GROUP BY k";
    static const char s_ch[] =
        "SELECT k, sum(c) FROM (" CH_SPLIT_R("honeypot_sessions:source", "k1", CH_SENSOR_OK)
            CH_SPLIT_RAW("honeypot_sessions", "source", CH_SENSOR_OK) ") GROUP BY k";
    /* All sensors: the rollups over all of them (one row per source, not per sensor). */
    static const char a_sql[] =
        "SELECT k, sum(c) FROM (" SPLIT_R("honeypot_sessions:source_all", "k1", "1")
            SPLIT_RAW("honeypot_sessions", "source", "1") ") GROUP BY k";
    static const char a_ch[] =
        "SELECT k, sum(c) FROM (" CH_SPLIT_R("honeypot_sessions:source_all", "k1", "1")
            CH_SPLIT_RAW("honeypot_sessions", "source", "1") ") GROUP BY k";
    struct agg *ca = calloc(1, sizeof *ca), *aa = calloc(1, sizeof *aa);
    char asns[512];
    memset(d, 0, sizeof *d);
    d->why = "honeypot";
    if (!ca || !aa) {
        free(ca);
        free(aa);
        return KS_ENOMEM;
    }
    operator_asns(q, asns, sizeof asns);
    struct src_ctx c = {q, ca, aa, 0, 0, 0, asns, 0, true};
    int ret = KS_ENOTFOUND;
    if (rq_has(q, "darknet_sources", "ts,sensor,dim,key,packets") &&
        (ret = darknet_sources_rings(q, &c)) == KS_OK) {
        num_str(q, "darknet.src.source", "darknet_sources");
    } else if (ret != KS_ENOMEM && rq_has(q, "honeypot_sessions", "ts,sensor,source")) {
        memset(ca, 0, sizeof *ca);
        memset(aa, 0, sizeof *aa);
        c = (struct src_ctx){q, ca, aa, 0, 0, 0, asns, 0, false};
        if (rollup_split(q)) {
            struct ks_store_value p[7];
            split_params(q, q->from_us, q->to_us, p);
            run_p(q, q->sensors[0] ? SQL2(s_sql, s_ch) : SQL2(a_sql, a_ch), p, 7, src_row, &c);
        } else {
            run(q, SQL2(sql, ch), src_row, &c);
        }
        if (c.domestic + c.foreign + c.unknown > 0) {
            num_str(q, "darknet.src.source", "honeypot_sessions");
            ret = KS_OK;
        } else {
            ret = KS_ENOTFOUND;
        }
    }
    if (ret == KS_OK) {
        sources_rings(q, &c, d, "darknet.src");
        d->why = NULL;
    }
    free(ca);
    free(aa);
    return ret;
}

/* --- 1:図-6, 図-7 samples ----------------------------------------------------------------------
 */

/* Rows (bucket, a[, b...]): column j+1 into series j. */
static int cols_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct rq_stack *d = user;
    (void)names;
    if (n < 2 || v[0].type != KS_TYPE_I64 || v[0].v.i64 < 0 || (size_t)v[0].v.i64 >= d->nx)
        return 0;
    size_t i = (size_t)v[0].v.i64;
    for (size_t k = 0; k < d->ns && k + 1 < n; k++) {
        double x = val_f(&v[k + 1]);
        if (isfinite(x)) {
            d->v[k * d->nx + i] = x;
            if (k == 0)
                d->total += x;
        }
    }
    return 0;
}

int q_samples_daily(struct rq *q, struct rq_stack *d)
{
    /* Q-samples-daily: honeypot captures per day, all and distinct SHA-256. */
    static const char sql[] =
        "SELECT (ts - ?1) / " DAY_US
        ", count(*), count(DISTINCT sample_events.sha256) FROM sample_events" OK_JOIN(
            "sample_events") " WHERE ts >= ?1 AND ts < ?2 AND via = 'honeypot' GROUP BY 1";
    static const char ch[] = "SELECT " CH_DAY("ts - ?1") " AS d, count(*), uniqExact(sha256)"
                                                         " FROM sample_events WHERE" CH_OK
                                                         " AND ts >= ?1 AND ts < ?2 AND"
                                                         " via = 'honeypot' GROUP BY d";
    bool ja = strcmp(q->lang, "ja") == 0;
    d->why = "samples";
    if (!rq_has(q, "sample_events", "ts,via,sha256,country,asn"))
        return KS_ENOTFOUND;
    if (stack_alloc(d, q->ndays, 2, NAN) != KS_OK)
        return KS_ENOMEM;
    snprintf(d->names[0], RQ_NAME, "%s", ja ? "総取得検体数" : "Samples captured");
    snprintf(d->names[1], RQ_NAME, "%s", ja ? "ユニーク検体数" : "Unique samples");
    d->colors[0] = 0;
    d->colors[1] = 3;
    run(q, SQL2(sql, ch), cols_row, d);
    if (!(d->total > 0))
        return KS_ENOTFOUND;
    d->why = NULL;
    double t = 0, u = 0, days = 0;
    for (size_t i = 0; i < d->nx; i++)
        if (isfinite(d->v[i])) {
            t += d->v[i];
            u += d->v[d->nx + i];
            days++;
        }
    num_set(q, "samples.total", t, 0, NULL);
    num_set(q, "samples.per_day.total", t / days, 0, NULL);
    num_set(q, "samples.per_day.unique", u / days, 0, NULL);
    return KS_OK;
}

int q_samples_sources(struct rq *q, struct rq_slices *d)
{
    /* Q-samples-sources: honeypot captures by the country and AS the registry stored. */
    static const char sql[] = "SELECT country, asn, count(*) FROM sample_events" OK_JOIN(
        "sample_events") " WHERE ts >= ?1 AND ts < ?2 AND via = 'honeypot' GROUP BY 1, 2";
    static const char ch[] = "SELECT country, asn, count(*) FROM sample_events WHERE" CH_OK
                             " AND ts >= ?1 AND ts < ?2 AND via = 'honeypot' GROUP BY country, asn";
    struct agg *ca = calloc(1, sizeof *ca), *aa = calloc(1, sizeof *aa);
    char asns[512];
    memset(d, 0, sizeof *d);
    d->why = "samples";
    if (!ca || !aa) {
        free(ca);
        free(aa);
        return KS_ENOMEM;
    }
    operator_asns(q, asns, sizeof asns);
    struct src_ctx c = {q, ca, aa, 0, 0, 0, asns, 0, true};
    int ret = KS_ENOTFOUND;
    if (rq_has(q, "sample_events", "ts,via,country,asn")) {
        run(q, SQL2(sql, ch), src_row, &c);
        if (c.domestic + c.foreign + c.unknown > 0) {
            sources_rings(q, &c, d, "samples.src");
            d->why = NULL;
            ret = KS_OK;
        }
    }
    free(ca);
    free(aa);
    return ret;
}

int q_samples_types(struct rq *q)
{
    /* Q-samples-types: the period's distinct honeypot samples by type tag (bot before worm
     * before downloader when a sample has several), and the indicators found in them. */
    static const char sql[] =
        "WITH p AS (SELECT DISTINCT sample_events.sha256 FROM sample_events" OK_JOIN(
            "sample_events") " WHERE ts >= ?1 AND ts < ?2 AND via = 'honeypot'),"
                             " t AS (SELECT DISTINCT s.sha256, ',' || s.tags || ',' AS g FROM "
                             "samples s" OK_JOIN(
                                 "s") " JOIN p ON p.sha256 = s.sha256)"
                                      " SELECT sum(instr(g, ',bot,') > 0),"
                                      " sum(instr(g, ',bot,') = 0 AND instr(g, ',worm,') > 0),"
                                      " sum(instr(g, ',bot,') = 0 AND instr(g, ',worm,') = 0 AND "
                                      "instr(g, ',downloader,') > 0),"
                                      " (SELECT count(DISTINCT i.value) FROM sample_iocs i" OK_JOIN(
                                          "i") " JOIN p ON p.sha256 = i.sha256 WHERE i.kind = "
                                               "'cnc'),"
                                               " (SELECT count(DISTINCT i.value) FROM sample_iocs "
                                               "i" OK_JOIN("i") " JOIN p ON p.sha256 = i.sha256 "
                                                                "WHERE i.kind = 'url') FROM t";
#define CH_P                                                                                       \
    "(SELECT sha256 FROM sample_events WHERE" CH_OK " AND ts >= ?1 AND ts < ?2 AND"                \
    " via = 'honeypot')"
    static const char ch[] =
        "SELECT sum(position(g, ',bot,') > 0), sum(position(g, ',bot,') = 0 AND position(g,"
        " ',worm,') > 0), sum(position(g, ',bot,') = 0 AND position(g, ',worm,') = 0 AND"
        " position(g, ',downloader,') > 0), (SELECT uniqExact(value) FROM sample_iocs WHERE" CH_OK
        " AND kind = 'cnc' AND sha256 GLOBAL IN " CH_P "), (SELECT uniqExact(value) FROM"
        " sample_iocs WHERE" CH_OK " AND kind = 'url' AND sha256 GLOBAL IN " CH_P ") FROM"
        " (SELECT DISTINCT sha256, concat(',', tags, ',') AS g FROM samples WHERE" CH_OK
        " AND sha256 GLOBAL IN " CH_P ")";
#undef CH_P
    double r[5] = {NAN, NAN, NAN, NAN, NAN};
    if (!rq_has(q, "samples", "sha256,tags") || !rq_has(q, "sample_iocs", "sha256,kind,value"))
        return KS_ENOTFOUND;
    run(q, SQL2(sql, ch), one_num, r);
    double typed =
        (isfinite(r[0]) ? r[0] : 0) + (isfinite(r[1]) ? r[1] : 0) + (isfinite(r[2]) ? r[2] : 0);
    num_set(q, "samples.type.bot", pct(r[0], typed), 1, "%");
    num_set(q, "samples.type.worm", pct(r[1], typed), 1, "%");
    num_set(q, "samples.type.downloader", pct(r[2], typed), 1, "%");
    if (typed > 0) {
        num_set(q, "samples.cnc", r[3], 0, NULL);
        num_set(q, "samples.dist_sites", r[4], 0, NULL);
    } else {
        num_null(q, "samples.cnc");
        num_null(q, "samples.dist_sites");
    }
    return typed > 0 ? KS_OK : KS_ENOTFOUND;
}

/* --- 1:図-8, 図-9 SQL injection ----------------------------------------------------------------
 */

/* The SQL-injection scanner's table: sqli_detections (ts, source, signature, ...). */
#define SQLI_WHERE " WHERE ts >= ?1 AND ts < ?2"
#define SQLIR_WHERE " WHERE src = 'sqli_detections' AND ts >= ?1 AND ts < ?2"
#define CH_SQLI_WHERE " WHERE" CH_OK " AND ts >= ?1 AND ts < ?2"
#define CH_SQLIR_WHERE " WHERE" CH_OK " AND src = 'sqli_detections' AND ts >= ?1 AND ts < ?2"

/* H-14: the daily totals that 図-8 clips (the same rule as the figure: svg_axis_cap), in date
 * order, as the reference prints them: "8,259; 9,485; 3,592". "none" when no bar is clipped. */
static void sqli_peaks(struct rq *q, const struct rq_stack *d)
{
    double *tot = calloc(d->nx ? d->nx : 1, sizeof *tot);
    if (!tot)
        return;
    for (size_t i = 0; i < d->nx; i++) {
        bool any = false;
        for (size_t k = 0; k < d->ns; k++)
            if (isfinite(d->v[k * d->nx + i])) {
                tot[i] += d->v[k * d->nx + i];
                any = true;
            }
        if (!any)
            tot[i] = NAN;
    }
    double cap = svg_axis_cap(tot, d->nx);
    char out[256] = "";
    size_t len = 0;
    for (size_t i = 0; cap > 0 && i < d->nx && len < sizeof out - 32; i++) {
        if (!(tot[i] > cap))
            continue;
        char n[32];
        fmt_num(n, sizeof n, tot[i], 0);
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", len ? "; " : "", n);
    }
    num_str(q, "sqli.peaks", len ? out : "none");
    free(tot);
}

int q_sqli_daily(struct rq *q, struct rq_stack *d)
{
    static const char top_sql[] =
        "SELECT signature, count(*) AS t FROM sqli_detections" OK_JOIN("sqli_detections") SQLI_WHERE
        " GROUP BY 1 ORDER BY t DESC, 1 LIMIT 10";
    static const char day_sql[] =
        "SELECT (ts - ?1) / " DAY_US ", signature, count(*) FROM"
        " sqli_detections" OK_JOIN("sqli_detections") SQLI_WHERE " GROUP BY 1, 2";
    /* The same from the hourly rollups (k1 signature, n detections). */
    static const char r_top[] = "SELECT k1, sum(n) AS t FROM rollup_1h" OK_JOIN("rollup_1h")
        SQLIR_WHERE " GROUP BY 1 ORDER BY t DESC, 1 LIMIT 10";
    static const char r_day[] = "SELECT (ts - ?1) / " DAY_US ", k1, sum(n) FROM"
                                " rollup_1h" OK_JOIN("rollup_1h") SQLIR_WHERE " GROUP BY 1, 2";
    static const char ch_top[] =
        "SELECT signature, count(*) AS t FROM sqli_detections" CH_SQLI_WHERE
        " GROUP BY signature ORDER BY t DESC, signature LIMIT 10";
    static const char ch_day[] =
        "SELECT " CH_DAY("ts - ?1") " AS d, signature, count(*) FROM"
                                    " sqli_detections" CH_SQLI_WHERE " GROUP BY d, signature";
    static const char chr_top[] = "SELECT k1, sum(n) AS t FROM rollup_1h" CH_SQLIR_WHERE
                                  " GROUP BY k1 ORDER BY t DESC, k1 LIMIT 10";
    static const char chr_day[] =
        "SELECT " CH_DAY("ts - ?1") " AS d, k1, sum(n) FROM rollup_1h" CH_SQLIR_WHERE
                                    " GROUP BY d, k1";
    d->why = "sqli";
    if (!rq_has(q, "sqli_detections", "ts,source,signature"))
        return KS_ENOTFOUND;
    bool r = rollup_h(q);
    int rc = topn_stack(q, d, r ? rt(q, SQL2(r_top, chr_top)) : SQL2(top_sql, ch_top),
                        r ? rt(q, SQL2(r_day, chr_day)) : SQL2(day_sql, ch_day), 10, 0);
    if (rc != KS_OK || !(d->total > 0))
        return rc == KS_OK ? KS_ENOTFOUND : rc;
    d->why = NULL;
    num_set(q, "sqli.detections", d->total, 0, NULL);
    sqli_peaks(q, d);
    return KS_OK;
}

/* 図-9 leaves out the detections of the campaigns the analyst tagged as data theft or database
 * overload. The tags are in the notes: [config] sqli.exclude = HOST@DATE[..DATE], ... (a target
 * host and the local days of the campaign). */
#define SQLI_MAX_EXCLUDE 32

struct sqli_excl {
    char host[128];
    int64_t d0, d1; /* days since the period's first day */
};

struct sqli_src_ctx {
    struct src_ctx *src;
    const struct sqli_excl *ex;
    size_t nex;
    double excluded;
};

/* A local date "YYYY-MM-DD" as days since the period's first day; false if malformed. */
static bool period_day(const struct rq *q, const char *s, size_t len, int64_t *out)
{
    int y, m, dd;
    char tail;
    char buf[16];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (sscanf(buf, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) != 3 || m < 1 || m > 12 || dd < 1 ||
        dd > ks_days_in_month(y, m))
        return false;
    struct ks_tm t0;
    ks_time_split(q->from_us, q->tz, &t0);
    *out = ks_days_from_civil(y, m, dd) - ks_days_from_civil(t0.year, t0.month, t0.day);
    return true;
}

/* Parses the notes' sqli.exclude; bad entries are reported and skipped. */
static size_t sqli_excludes(struct rq *q, struct sqli_excl *ex, size_t max)
{
    const char *spec = notes_get(q->notes, "config", "sqli.exclude");
    size_t n = 0;
    for (const char *s = spec; s && *s && n < max;) {
        while (*s == ' ' || *s == ',')
            s++;
        size_t len = strcspn(s, ",");
        const char *e = s + len;
        while (len && s[len - 1] == ' ')
            len--;
        const char *end = s + len;
        const char *at = memchr(s, '@', len);
        const char *dots = at ? strstr(at, "..") : NULL;
        if (dots && dots >= end)
            dots = NULL;
        struct sqli_excl *x = &ex[n];
        if (at && at > s && (size_t)(at - s) < sizeof x->host &&
            period_day(q, at + 1, (size_t)((dots ? dots : end) - at - 1), &x->d0) &&
            (!dots || period_day(q, dots + 2, (size_t)(end - dots - 2), &x->d1))) {
            memcpy(x->host, s, (size_t)(at - s));
            x->host[at - s] = '\0';
            if (!dots)
                x->d1 = x->d0;
            n++;
        } else if (end > s) {
            struct ks_loc loc = {.source = "notes [config] sqli.exclude"};
            ks_diag_report(q->diag, &q->reported, "report", &loc, KS_EFORMAT,
                           "'%.*s' is not HOST@YYYY-MM-DD[..YYYY-MM-DD]: skipped", (int)(end - s),
                           s);
        }
        s = e;
    }
    return n;
}

/* Rows (source, host, day, n): the detections of tagged campaigns are counted apart. */
static int sqli_src_row(void *user, size_t n, const char *const *names,
                        const struct ks_store_value *v)
{
    struct sqli_src_ctx *c = user;
    if (n < 4)
        return 0;
    char host[128];
    val_s(&v[1], host, sizeof host);
    int64_t day = v[2].type == KS_TYPE_I64 ? v[2].v.i64 : (int64_t)val_f(&v[2]);
    for (size_t i = 0; i < c->nex; i++)
        if (day >= c->ex[i].d0 && day <= c->ex[i].d1 && strcmp(host, c->ex[i].host) == 0) {
            c->excluded += val_f(&v[3]);
            return 0;
        }
    struct ks_store_value two[2] = {v[0], v[3]};
    return src_row(c->src, 2, names, two);
}

int q_sqli_sources(struct rq *q, struct rq_slices *d)
{
    /* Q-sqli-sources: detections by source country, less those of the campaigns the analyst
     * tagged as data theft or overload (notes sqli.exclude, above). */
    static const char sql[] =
        "SELECT source, count(*) FROM sqli_detections" OK_JOIN("sqli_detections") SQLI_WHERE
        " GROUP BY 1";
    static const char r_sql[] = "SELECT k1, sum(n) FROM rollup_1h" OK_JOIN(
        "rollup_1h") " WHERE src = 'sqli_detections:source' AND ts >= ?1 AND ts < ?2 GROUP BY 1";
    static const char ch[] =
        "SELECT source, count(*) FROM sqli_detections" CH_SQLI_WHERE " GROUP BY source";
    static const char chr[] = "SELECT k1, sum(n) FROM rollup_1h WHERE" CH_OK " AND src ="
                              " 'sqli_detections:source' AND ts >= ?1 AND ts < ?2 GROUP BY k1";
    static const char s_sql[] =
        "SELECT k, sum(c) FROM (" SPLIT_R("sqli_detections:source", "k1", "1")
            SPLIT_RAW("sqli_detections", "source", "1") ") "
                                                        "GROUP BY k";
    static const char s_ch[] =
        "SELECT k, sum(c) FROM (" CH_SPLIT_R("sqli_detections:source", "k1", "1")
            CH_SPLIT_RAW("sqli_detections", "source", "1") ") GROUP BY k";
    memset(d, 0, sizeof *d);
    d->why = "sqli";
    if (!rq_has(q, "sqli_detections", "ts,source,signature"))
        return KS_ENOTFOUND;
    bool rl = rollup_h(q);
    struct agg *ca = calloc(1, sizeof *ca), *aa = calloc(1, sizeof *aa);
    if (!ca || !aa) {
        free(ca);
        free(aa);
        return KS_ENOMEM;
    }
    struct src_ctx c = {q, ca, aa, 0, 0, 0, NULL, 0, false};
    struct sqli_excl ex[SQLI_MAX_EXCLUDE];
    size_t nex = sqli_excludes(q, ex, SQLI_MAX_EXCLUDE);
    if (nex) { /* by target and day: raw rows (the rollups keep the source only) */
        static const char x_sql[] =
            "SELECT source, host, (ts - ?1) / " DAY_US ", count(*) FROM"
            " sqli_detections" OK_JOIN("sqli_detections") SQLI_WHERE " GROUP BY 1, 2, 3";
        static const char x_ch[] =
            "SELECT source, host, " CH_DAY("ts - ?1") " AS d, count() FROM"
                                                      " sqli_detections" CH_SQLI_WHERE
                                                      " GROUP BY source, host, d";
        struct sqli_src_ctx sc = {&c, ex, nex, 0};
        run(q, SQL2(x_sql, x_ch), sqli_src_row, &sc);
        num_set(q, "sqli.src.excluded", sc.excluded, 0, NULL);
    } else {
        if (rollup_split(q)) { /* whole UTC days, whole hours, raw rows in between */
            struct ks_store_value p[7];
            split_params(q, q->from_us, q->to_us, p);
            run_p(q, SQL2(s_sql, s_ch), p, 7, src_row, &c);
        } else {
            run(q, rl && q->tz % 3600 == 0 ? SQL2(r_sql, chr) : SQL2(sql, ch), src_row, &c);
        }
    }
    /* One ring: countries (home included), top 10 and other. */
    char home[8];
    snprintf(home, sizeof home, "%s", q->home);
    if (c.domestic > 0)
        agg_add(ca, home, c.domestic);
    size_t *r = agg_rank(ca);
    double rest = ca->dropped, total = c.domestic + c.foreign + c.unknown;
    for (size_t i = 0; r && i < ca->n; i++) {
        size_t k = r[i];
        if (d->n < 10 && strcmp(ca->key[k], "--") != 0) {
            snprintf(d->names[d->n], RQ_NAME, "%s", ca->key[k]);
            d->v[d->n] = ca->v[k];
            d->colors[d->n] = (int)d->n;
            d->n++;
        } else {
            rest += ca->v[k];
        }
    }
    if (rest > 0) {
        snprintf(d->names[d->n], RQ_NAME, "%s", other_name(q));
        d->v[d->n] = rest;
        d->colors[d->n++] = -1;
    }
    d->total = total;
    char top3[256] = "";
    for (size_t i = 0; i < d->n && i < 3 && d->colors[i] >= 0; i++) {
        char t[32];
        size_t l = strlen(top3);
        snprintf(top3 + l, sizeof top3 - l, "%s%s %s%%", i ? ", " : "", d->names[i],
                 fmt_num(t, sizeof t, pct(d->v[i], total), 1));
    }
    free(r);
    free(ca);
    free(aa);
    if (!(total > 0))
        return KS_ENOTFOUND;
    if (top3[0])
        num_str(q, "sqli.src.top3", top3);
    else
        num_null(q, "sqli.src.top3");
    d->why = NULL;
    return KS_OK;
}

/* --- 1:図-11, 図-12 spam and malware ------------------------------------------------------------
 */

/* Spam of the period, each message in the first class that applies: a URL the crawler fetched
 * malware from (sample_events via 'crawler', name = the URL); an attachment the antivirus
 * names (samples.av); a malicious attachment it misses (samples with type tags, no av); an
 * attachment flagged suspicious or executable by the mail analyzer (flags 0x01|0x02|0x08);
 * none of these. */
#define SPAM_CTE                                                                                   \
    "WITH m AS (SELECT message_id, ts FROM mail_messages" OK_JOIN(                                 \
        "mail_messages") " WHERE ts >= ?1 AND ts < ?2 AND verdict = 'spam'),"                      \
                         " mal AS (SELECT DISTINCT e.name AS url, e.sha256 FROM sample_events "    \
                         "e" OK_JOIN(                                                              \
                             "e") " WHERE via = 'crawler'),"                                       \
                                  " k AS (SELECT m.message_id, m.ts,"                              \
                                  " EXISTS (SELECT 1 FROM mail_urls u" OK_JOIN(                    \
                                      "u") " JOIN mal ON mal.url = u.url"                          \
                                           " WHERE u.message_id = m.message_id AND u.ts = m.ts) "  \
                                           "AS link,"                                              \
                                           " EXISTS (SELECT 1 FROM mail_attachments a" OK_JOIN(    \
                                               "a") " JOIN samples s ON s.sha256 = a.sha256 "      \
                                                    "WHERE a.message_id = m.message_id AND a.ts "  \
                                                    "= m.ts"                                       \
                                                    " AND coalesce(s.av, '') <> '') AS av,"        \
                                                    " EXISTS (SELECT 1 FROM mail_attachments "     \
                                                    "a" OK_JOIN(                                   \
                                                        "a") " JOIN samples s ON s.sha256 = "      \
                                                             "a.sha256 WHERE a.message_id = "      \
                                                             "m.message_id AND a.ts = m.ts"        \
                                                             " AND coalesce(s.av, '') = '' AND "   \
                                                             "s.tags <> '') AS miss,"              \
                                                             " EXISTS (SELECT 1 FROM "             \
                                                             "mail_attachments a" OK_JOIN(         \
                                                                 "a") " WHERE a.message_id = "     \
                                                                      "m.message_id AND a.ts = "   \
                                                                      "m.ts AND (a.flags & 11) "   \
                                                                      "<> 0) AS susp"              \
                                                                      " FROM m) "

/* ClickHouse: the spam of the period with a URL (CH_M) and, for each spam message with a URL or
 * an attachment (the others are in none of the four classes: CH_K leaves them out, and the
 * total is counted apart), whether its (message_id, ts) is among those with a malware link /
 * a detected / a missed / a suspicious attachment. */
#define CH_SPAM_WHERE " WHERE" CH_OK " AND ts >= ?1 AND ts < ?2 AND verdict = 'spam'"
#define CH_M                                                                                       \
    "(SELECT message_id, ts FROM mail_messages" CH_SPAM_WHERE " AND (message_id, ts) GLOBAL IN"    \
    " (SELECT message_id, ts FROM mail_urls WHERE" CH_OK "))"
#define CH_MAL_URLS "(SELECT name FROM sample_events WHERE" CH_OK " AND via = 'crawler')"
#define CH_SPAM_URLS                                                                               \
    "(SELECT url FROM mail_urls WHERE" CH_OK " AND (message_id, ts) GLOBAL IN " CH_M ")"
#define CH_ATT(cond) "(SELECT message_id, ts FROM mail_attachments WHERE" CH_OK " AND " cond ")"
#define CH_K                                                                                                                                                                                                     \
    "(SELECT (message_id, ts) GLOBAL IN (SELECT message_id, ts FROM mail_urls WHERE" CH_OK                                                                                                                       \
    " AND url GLOBAL IN " CH_MAL_URLS ") AS link, (message_id, ts) GLOBAL IN " CH_ATT(                                                                                                                           \
        "sha256 GLOBAL IN (SELECT sha256 FROM samples WHERE ifNull(av, '') != '')") " AS av,"                                                                                                                    \
                                                                                    " (message_"                                                                                                                 \
                                                                                    "id, ts) "                                                                                                                   \
                                                                                    "GLOBAL "                                                                                                                    \
                                                                                    "IN " CH_ATT(                                                                                                                \
                                                                                        "sha256 "                                                                                                                \
                                                                                        "GLOBAL "                                                                                                                \
                                                                                        "IN "                                                                                                                    \
                                                                                        "(SELECT "                                                                                                               \
                                                                                        "sha256 "                                                                                                                \
                                                                                        "FROM "                                                                                                                  \
                                                                                        "samples "                                                                                                               \
                                                                                        "WHERE"                                                                                                                  \
                                                                                        " ifNull("                                                                                                               \
                                                                                        "av, '') "                                                                                                               \
                                                                                        "= '' "                                                                                                                  \
                                                                                        "AND "                                                                                                                   \
                                                                                        "tags != "                                                                                                               \
                                                                                        "'')") " "                                                                                                               \
                                                                                               "A"                                                                                                               \
                                                                                               "S"                                                                                                               \
                                                                                               " "                                                                                                               \
                                                                                               "m"                                                                                                               \
                                                                                               "i"                                                                                                               \
                                                                                               "s"                                                                                                               \
                                                                                               "s"                                                                                                               \
                                                                                               ","                                                                                                               \
                                                                                               " "                                                                                                               \
                                                                                               "("                                                                                                               \
                                                                                               "m"                                                                                                               \
                                                                                               "e"                                                                                                               \
                                                                                               "s"                                                                                                               \
                                                                                               "s"                                                                                                               \
                                                                                               "a"                                                                                                               \
                                                                                               "g"                                                                                                               \
                                                                                               "e"                                                                                                               \
                                                                                               "_"                                                                                                               \
                                                                                               "i"                                                                                                               \
                                                                                               "d"                                                                                                               \
                                                                                               ","                                                                                                               \
                                                                                               " "                                                                                                               \
                                                                                               "t"                                                                                                               \
                                                                                               "s"                                                                                                               \
                                                                                               ")"                                                                                                               \
                                                                                               " "                                                                                                               \
                                                                                               "G"                                                                                                               \
                                                                                               "L"                                                                                                               \
                                                                                               "O"                                                                                                               \
                                                                                               "B"                                                                                                               \
                                                                                               "A"                                                                                                               \
                                                                                               "L"                                                                                                               \
                                                                                               " "                                                                                                               \
                                                                                               "I"                                                                                                               \
                                                                                               "N"                                                                                                               \
                                                                                               " " CH_ATT(                                                                                                       \
                                                                                                   "bitAnd(flags, 11) != 0") " AS susp FROM mail_messages" CH_SPAM_WHERE                                         \
                                                                                                                             " AND (message_id, ts) GLOBAL IN (SELECT message_id, ts FROM mail_urls WHERE" CH_OK \
                                                                                                                             " UNION ALL SELECT message_id, ts FROM mail_attachments WHERE" CH_OK                \
                                                                                                                             "))"

/* Whether any message of the period has a URL (or, with atts, an attachment) row: without one,
 * no spam is in the four classes and no sample comes from a spam URL, so the per-message
 * joins (which read every spam message of the period) are skipped. */
static bool spam_links(struct rq *q, bool atts)
{
    static const char sql[] = "SELECT (SELECT count(*) FROM (SELECT 1 FROM mail_urls u" OK_JOIN(
        "u") " WHERE ts >= ?1 AND ts < ?2 LIMIT 1)), (SELECT count(*) FROM (SELECT 1 FROM"
             " mail_attachments a" OK_JOIN("a") " WHERE ts >= ?1 AND ts < ?2 LIMIT 1))";
    static const char ch[] =
        "SELECT (SELECT count() FROM mail_urls WHERE" CH_OK " AND ts >= ?1 AND ts < ?2), (SELECT"
        " count() FROM mail_attachments WHERE" CH_OK " AND ts >= ?1 AND ts < ?2)";
    double n[2] = {NAN, NAN};
    if (run(q, SQL2(sql, ch), one_num, n) < 0 || !isfinite(n[0]) || !isfinite(n[1]))
        return true; /* unknown: run the joins */
    return n[0] > 0 || (atts && n[1] > 0);
}

int q_spam2mal_share(struct rq *q, struct rq_slices *d)
{
    static const char sql[] =
        SPAM_CTE "SELECT sum(link), sum(NOT link AND av), sum(NOT link AND NOT av AND miss),"
                 " sum(NOT link AND NOT av AND NOT miss AND susp), count(*),"
                 " (SELECT count(DISTINCT u.url) FROM mail_urls u" OK_JOIN(
                     "u") " JOIN m ON m.message_id = u.message_id AND m.ts = u.ts),"
                          " (SELECT count(DISTINCT mal.sha256) FROM mail_urls u" OK_JOIN(
                              "u") " JOIN m ON m.message_id = u.message_id AND m.ts = u.ts JOIN "
                                   "mal ON mal.url = u.url)"
                                   " FROM k";
    bool ja = strcmp(q->lang, "ja") == 0;
    static const char *const nja[5] = {"マルウェアへのリンク", "マルウェアが添付（対策済）",
                                       "マルウェアが添付（未対策）", "疑わしい添付ファイル",
                                       "その他の迷惑メール"};
    static const char *const nen[5] = {"Link to malware", "Malware attached (detected)",
                                       "Malware attached (not detected)", "Suspicious attachment",
                                       "Other spam"};
    static const char ch[] =
        "SELECT sum(link), sum(NOT link AND av), sum(NOT link AND NOT av AND miss), sum(NOT link"
        " AND NOT av AND NOT miss AND susp), (SELECT count(*) FROM mail_messages" CH_SPAM_WHERE
        "), (SELECT uniqExact(url) FROM mail_urls"
        " WHERE" CH_OK " AND (message_id, ts) GLOBAL IN " CH_M "), (SELECT uniqExact(sha256) FROM"
        " sample_events WHERE" CH_OK " AND via = 'crawler' AND name GLOBAL IN " CH_SPAM_URLS
        ") FROM " CH_K;
    double r[7] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    memset(d, 0, sizeof *d);
    d->why = "mail";
    if (!rq_has(q, "mail_messages", "ts,message_id,verdict") ||
        !rq_has(q, "mail_urls", "ts,message_id,url") ||
        !rq_has(q, "mail_attachments", "ts,message_id,sha256,flags") ||
        !rq_has(q, "sample_events", "via,name,sha256") || !rq_has(q, "samples", "sha256,av,tags"))
        return KS_ENOTFOUND;
    if (spam_links(q, true)) {
        run(q, SQL2(sql, ch), one_num, r);
    } else { /* no class applies: the spam of the period only (from the rollups if any) */
        static const char n_sql[] =
            "SELECT count(*) FROM mail_messages" OK_JOIN("mail_messages") " WHERE ts >= ?1 AND"
                                                                          " ts < ?2 AND verdict = "
                                                                          "'spam'";
        static const char n_ch[] = "SELECT count() FROM mail_messages" CH_SPAM_WHERE;
        static const char r_sql[] =
            "SELECT sum(n) FROM rollup_1h" OK_JOIN("rollup_1h") " WHERE src = 'mail_messages' AND"
                                                                " ts >= ?1 AND ts < ?2 AND k1 = "
                                                                "'spam'";
        static const char r_ch[] = "SELECT sum(n) FROM rollup_1h WHERE" CH_OK " AND src ="
                                   " 'mail_messages' AND ts >= ?1 AND ts < ?2 AND k1 = 'spam'";
        r[0] = r[1] = r[2] = r[3] = r[5] = r[6] = 0;
        run(q, rollup_h(q) ? rt(q, SQL2(r_sql, r_ch)) : SQL2(n_sql, n_ch), one_num, &r[4]);
    }
    if (!(r[4] > 0))
        return KS_ENOTFOUND;
    double rest = r[4];
    for (int i = 0; i < 4; i++) {
        d->v[i] = isfinite(r[i]) ? r[i] : 0;
        rest -= d->v[i];
    }
    d->v[4] = rest;
    for (int i = 0; i < 5; i++) {
        snprintf(d->names[i], RQ_NAME, "%s", ja ? nja[i] : nen[i]);
        d->colors[i] = i < 4 ? (int)(i == 0 ? 3 : i == 1 ? 0 : i == 2 ? 5 : 1) : -1;
    }
    d->n = 5;
    d->total = r[4];
    d->why = NULL;
    num_set(q, "spam2mal.mails", r[4], 0, NULL);
    num_set(q, "spam2mal.urls", r[5], 0, NULL);
    num_set(q, "spam2mal.samples", r[6], 0, NULL);
    num_set(q, "spam2mal.share_link", pct(d->v[0], r[4]), 2, "%");
    return KS_OK;
}

int q_spam2mal_types(struct rq *q, struct rq_slices *d)
{
    /* Samples the crawler fetched from the period's spam URLs, by their first type tag in the
     * order trojan, adware, dropper, packed, suspicious; untagged: "other (not detected)". */
    static const char sql[] =
        SPAM_CTE ", x AS (SELECT DISTINCT mal.sha256 FROM mail_urls u" OK_JOIN(
            "u") " JOIN m ON m.message_id = u.message_id AND m.ts = u.ts JOIN mal ON mal.url = "
                 "u.url),"
                 " t AS (SELECT x.sha256, ',' || coalesce((SELECT tags FROM samples s" OK_JOIN(
                     "s") " WHERE s.sha256 = x.sha256 LIMIT 1), '') || ',' AS g FROM x)"
                          " SELECT CASE WHEN instr(g, ',trojan,') THEN 0 WHEN instr(g, ',adware,') "
                          "THEN 1"
                          " WHEN instr(g, ',dropper,') THEN 2 WHEN instr(g, ',packed,') THEN 3"
                          " WHEN instr(g, ',suspicious,') THEN 4 ELSE 5 END AS c, count(*) FROM t "
                          "GROUP BY c";
    static const char ch[] =
        "SELECT CASE WHEN position(g, ',trojan,') > 0 THEN 0 WHEN position(g, ',adware,') > 0"
        " THEN 1 WHEN position(g, ',dropper,') > 0 THEN 2 WHEN position(g, ',packed,') > 0 THEN"
        " 3 WHEN position(g, ',suspicious,') > 0 THEN 4 ELSE 5 END AS c, count(*) FROM (SELECT"
        " concat(',', tg, ',') AS g FROM (SELECT DISTINCT sha256 FROM sample_events WHERE" CH_OK
        " AND via = 'crawler' AND name GLOBAL IN " CH_SPAM_URLS ") ANY LEFT JOIN (SELECT sha256,"
        " any(tags) AS tg FROM samples WHERE" CH_OK " GROUP BY sha256) USING sha256) GROUP BY c";
    static const char *const names[6] = {"Trojan horse",       "Adware",     "Dropper",
                                         "packed(suspicious)", "suspicious", "other(not detected)"};
    double r[6] = {0};
    struct top_ctx tc;
    char keys[6][RQ_NAME];
    double vals[6];
    memset(d, 0, sizeof *d);
    d->why = "mail";
    if (!rq_has(q, "mail_messages", "ts,message_id,verdict") ||
        !rq_has(q, "mail_urls", "ts,message_id,url") ||
        !rq_has(q, "mail_attachments", "ts,message_id,sha256,flags") ||
        !rq_has(q, "sample_events", "via,name,sha256") || !rq_has(q, "samples", "sha256,av,tags"))
        return KS_ENOTFOUND;
    tc = (struct top_ctx){keys, vals, 0, 6};
    if (!spam_links(q, false)) /* no URL in the period's mail: no sample from one */
        return KS_ENOTFOUND;
    run(q, SQL2(sql, ch), top_row, &tc);
    double total = 0;
    for (size_t i = 0; i < tc.n; i++) {
        int c = atoi(keys[i]);
        if (c >= 0 && c < 6)
            r[c] = vals[i];
        total += vals[i];
    }
    if (!(total > 0))
        return KS_ENOTFOUND;
    for (int i = 0; i < 6; i++) {
        if (r[i] <= 0 && i < 5)
            continue;
        snprintf(d->names[d->n], RQ_NAME, "%s", names[i]);
        d->v[d->n] = r[i];
        d->colors[d->n] = i < 5 ? i : -1;
        d->n++;
    }
    d->total = total;
    d->why = NULL;
    return KS_OK;
}

/* --- 1:図-14 P2P residual SYNs ---------------------------------------------------------------- */

int q_p2p_syn(struct rq *q, struct rq_stack *d, double *xs)
{
    /* Q-p2p-syn: the P2P analyzer's series rows (sensor = the experiment's address, metrics
     * p2p.syn_out / p2p.syn_in: src/p2p/README.md) per 5 minutes from the experiment's start,
     * over p2p.days days (config). */
    static const char sql[] =
        "SELECT (ts - ?1) / 300000000, sum(CASE WHEN metric = 'p2p.syn_out' THEN value END),"
        " sum(CASE WHEN metric = 'p2p.syn_in' THEN value END) FROM series" OK_JOIN(
            "series") " WHERE ts >= ?1 AND ts < ?2 AND sensor = ?3 AND metric IN ('p2p.syn_out',"
                      " 'p2p.syn_in') GROUP BY 1";
    /* (Raw rows: one sensor's two metrics over a few days; series rows are counters per time
     * bucket already, the hourly rollups too coarse for 5 minutes.) */
    static const char ch[] =
        "SELECT intDiv(ts - ?1, 300000000) AS b, sumIf(value, metric = 'p2p.syn_out'),"
        " sumIf(value, metric = 'p2p.syn_in') FROM series WHERE" CH_OK " AND ts >= ?1 AND ts < ?2"
        " AND sensor = ?3 AND metric IN ('p2p.syn_out', 'p2p.syn_in') GROUP BY b";
    const char *addr = notes_get(q->notes, "config", "p2p.addr");
    const char *start = notes_get(q->notes, "config", "p2p.start");
    const char *days_s = notes_get(q->notes, "config", "p2p.days");
    int64_t t0;
    d->why = "p2p";
    if (!addr || !start || ks_time_parse(start, strlen(start), &t0) != KS_OK)
        return KS_ENOTFOUND;
    if (!rq_has(q, "series", "ts,sensor,metric,value"))
        return KS_ENOTFOUND;
    int days = days_s ? atoi(days_s) : 3;
    if (days < 1 || days > 31)
        days = 3;
    size_t nx = (size_t)days * 288;
    if (stack_alloc(d, nx, 2, NAN) != KS_OK)
        return KS_ENOMEM;
    snprintf(d->names[0], RQ_NAME, "outgoing SYN");
    snprintf(d->names[1], RQ_NAME, "incoming SYN");
    d->colors[0] = 0;
    d->colors[1] = 3;
    for (size_t i = 0; i < nx && xs; i++)
        xs[i] = (double)i / 288.0;
    struct ks_store_value p[3] = {p_i64(t0), p_i64(t0 + (int64_t)days * 86400000000LL),
                                  p_text(addr)};
    run_p(q, SQL2(sql, ch), p, 3, cols_row, d);
    double tin = 0;
    for (size_t i = 0; i < nx; i++)
        if (isfinite(d->v[nx + i]))
            tin += d->v[nx + i];
    if (!(d->total + tin > 0))
        return KS_ENOTFOUND;
    /* 5-minute buckets without a row are zeros: the sensor counts every bucket it saw. */
    for (size_t i = 0; i < 2 * nx; i++)
        if (!isfinite(d->v[i]))
            d->v[i] = 0;
    d->why = NULL;
    num_set(q, "p2p.syn_out", d->total, 0, NULL);
    num_set(q, "p2p.syn_in", tin, 0, NULL);
    return KS_OK;
}

/* ---- H-18..H-20: each P2P experiment's residue, as the P2P analyzer measured it ---- */

#define P2P_MAX_HOSTS 16

struct p2p_host {
    char host[64];
    double stop, ttb, bg, bin, last;
};

struct p2p_ctx {
    struct p2p_host h[P2P_MAX_HOSTS];
    size_t n;
};

static int p2p_summary_row(void *user, size_t n, const char *const *names,
                           const struct ks_store_value *v)
{
    struct p2p_ctx *c = user;
    (void)names;
    if (n < 3)
        return 0;
    char host[64], metric[48];
    val_s(&v[0], host, sizeof host);
    val_s(&v[1], metric, sizeof metric);
    size_t i = 0;
    while (i < c->n && strcmp(c->h[i].host, host) != 0)
        i++;
    if (i == c->n) {
        if (c->n == P2P_MAX_HOSTS)
            return 0;
        memset(&c->h[i], 0, sizeof c->h[i]);
        snprintf(c->h[i].host, sizeof c->h[i].host, "%s", host);
        c->h[i].stop = c->h[i].ttb = c->h[i].bg = c->h[i].bin = c->h[i].last = NAN;
        c->n++;
    }
    double x = val_f(&v[2]);
    struct p2p_host *h = &c->h[i];
    if (strcmp(metric, "p2p.stopped_at") == 0)
        h->stop = x;
    else if (strcmp(metric, "p2p.time_to_background_s") == 0)
        h->ttb = x;
    else if (strcmp(metric, "p2p.background_per_bin") == 0)
        h->bg = x;
    else if (strcmp(metric, "p2p.bin_s") == 0)
        h->bin = x;
    else if (strcmp(metric, "p2p.last_syn_in") == 0)
        h->last = x;
    return 0;
}

static void p2p_host_text(struct rq *q, const struct p2p_host *h, double rate5, char *out,
                          size_t size)
{
    bool ja = strcmp(q->lang, "ja") == 0;
    const char *addr = notes_get(q->notes, "config", "p2p.addr");
    const char *client = notes_get(q->notes, "config", "p2p.client");
    char name[128], hours[32], rate[32], bg[32], last[32] = "-", quiet[32] = "-";
    if (addr && client && strcmp(addr, h->host) == 0)
        snprintf(name, sizeof name, ja ? "%s（%s）" : "%s (%s)", h->host, client);
    else
        snprintf(name, sizeof name, "%s", h->host);
    fmt_num(hours, sizeof hours, h->ttb / 3600.0, 1);
    fmt_num(rate, sizeof rate, rate5, 1);
    fmt_num(bg, sizeof bg, h->bg * 300.0 / h->bin, 1);
    if (isfinite(h->last)) {
        struct ks_tm tm;
        ks_time_split((int64_t)h->last, q->tz, &tm);
        snprintf(last, sizeof last, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
        fmt_num(quiet, sizeof quiet, ((double)q->to_us - h->last) / 86400e6, 0);
    }
    snprintf(out, size,
             ja ? "%s: 停止後%s時間、5分あたり%s件のSYN（背景 "
                  "%s件）、最後のSYNは%s（期間末まで%s日間なし）"
                : "%s: %s h at %s SYN per 5 min after the stop (background %s), last SYN %s "
                  "(none for %s days before the period's end)",
             name, hours, rate, bg, last, quiet);
}

int q_p2p_residue(struct rq *q)
{
    static const char sql[] = "SELECT sensor, metric, value FROM series" OK_JOIN(
        "series") " WHERE ts >= ?1 AND ts < ?2"
                  " AND metric IN ('p2p.stopped_at', 'p2p.time_to_background_s', "
                  "'p2p.background_per_bin',"
                  " 'p2p.bin_s', 'p2p.last_syn_in') ORDER BY ts, sensor";
    static const char ch[] =
        "SELECT sensor, metric, value FROM series WHERE" CH_OK " AND ts >= ?1 AND ts < ?2"
        " AND metric IN ('p2p.stopped_at', 'p2p.time_to_background_s', 'p2p.background_per_bin',"
        " 'p2p.bin_s', 'p2p.last_syn_in') ORDER BY ts, sensor";
    static const char rate_sql[] = "SELECT 0, sum(value) FROM series" OK_JOIN(
        "series") " WHERE ts >= ?1 AND ts < ?2 AND sensor = ?3 AND metric = 'p2p.syn_in'";
    static const char rate_ch[] = "SELECT 0, sum(value) FROM series WHERE" CH_OK
                                  " AND ts >= ?1 AND ts < ?2 AND sensor = ?3 AND metric ="
                                  " 'p2p.syn_in'";
    if (!rq_has(q, "series", "ts,sensor,metric,value"))
        return KS_ENOTFOUND;
    struct p2p_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return KS_ENOMEM;
    struct ks_store_value p[2] = {p_i64(q->from_us), p_i64(q->to_us)};
    run_p(q, SQL2(sql, ch), p, 2, p2p_summary_row, c);
    size_t shown = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct p2p_host *h = &c->h[i];
        if (!isfinite(h->stop) || !isfinite(h->ttb) || !isfinite(h->bg) || !(h->bin > 0))
            continue;
        double sum[2] = {NAN, NAN};
        struct ks_store_value pr[3] = {p_i64((int64_t)h->stop),
                                       p_i64((int64_t)h->stop + (int64_t)(h->ttb * 1e6)),
                                       p_text(h->host)};
        run_p(q, SQL2(rate_sql, rate_ch), pr, 3, one_num, sum);
        double bins = h->ttb / h->bin;
        double rate5 = bins > 0 && isfinite(sum[1]) ? sum[1] / bins * 300.0 / h->bin : 0;
        char one[512], key[32];
        p2p_host_text(q, h, rate5, one, sizeof one);
        snprintf(key, sizeof key, "p2p.residue.%zu", ++shown);
        num_str(q, key, one);
    }
    free(c);
    if (!shown)
        return KS_ENOTFOUND;
    num_set(q, "p2p.residue.clients", (double)shown, 0, NULL);
    return KS_OK;
}

/* --- 2:図-1 .. 図-5 mail --------------------------------------------------------------------- */

/* The mail part counts the ISO weeks (Monday to Sunday, in the report's zone) that lie wholly
 * in the period. week0 = the first such Monday, 00:00 local, as an instant. */
static size_t mail_weeks(const struct rq *q, int64_t *week0)
{
    int64_t w = ks_time_bucket(q->from_us, KS_BUCKET_WEEK, q->tz);
    if (w < q->from_us)
        w += 7 * KS_USEC_PER_DAY;
    *week0 = w;
    if (q->to_us - w < 7 * KS_USEC_PER_DAY)
        return 0;
    return (size_t)((q->to_us - w) / (7 * KS_USEC_PER_DAY));
}

int q_mail_weekly(struct rq *q, struct rq_stack *d, int64_t *week0_us)
{
    /* Q-mail-weekly: spam / all received messages per ISO week. */
    static const char sql[] =
        "SELECT (ts - ?1) / 604800000000, 100.0 * sum(verdict = 'spam') / count(*),"
        " sum(verdict = 'spam'), count(*) FROM mail_messages" OK_JOIN(
            "mail_messages") " WHERE ts >= ?1 AND ts < ?2 GROUP BY 1";
    /* The same from the hourly rollups of mail_messages (k1 verdict, k2 country). */
#define MR_SPAM "sum(CASE WHEN k1 = 'spam' THEN n ELSE 0 END)"
#define MR_WHERE " WHERE src = 'mail_messages' AND ts >= ?1 AND ts < ?2"
#define CH_MR_WHERE " WHERE" CH_OK " AND src = 'mail_messages' AND ts >= ?1 AND ts < ?2"
    static const char r_sql[] =
        "SELECT (ts - ?1) / 604800000000, 100.0 * " MR_SPAM " / sum(n), " MR_SPAM
        ", sum(n) FROM rollup_1h" OK_JOIN("rollup_1h") MR_WHERE " GROUP BY 1";
    static const char ch[] =
        "SELECT intDiv(ts - ?1, 604800000000) AS w, 100.0 * sum(verdict = 'spam') / count(*),"
        " sum(verdict = 'spam'), count(*) FROM mail_messages WHERE" CH_OK " AND ts >= ?1 AND"
        " ts < ?2 GROUP BY w";
    static const char chr[] =
        "SELECT intDiv(ts - ?1, 604800000000) AS w, 100.0 * " MR_SPAM " / sum(n), " MR_SPAM
        ", sum(n) FROM rollup_1h" CH_MR_WHERE " GROUP BY w";
    int64_t w0;
    size_t nw = mail_weeks(q, &w0);
    *week0_us = w0;
    d->why = "mail";
    if (!rq_has(q, "mail_messages", "ts,verdict,country,sender"))
        return KS_ENOTFOUND;
    if (nw == 0)
        return KS_ENOTFOUND;
    if (stack_alloc(d, nw, 3, NAN) != KS_OK)
        return KS_ENOMEM;
    snprintf(d->names[0], RQ_NAME, "%s",
             strcmp(q->lang, "ja") == 0 ? "迷惑メールの割合" : "Share of spam");
    d->colors[0] = 0;
    struct ks_store_value p[2] = {p_i64(w0), p_i64(w0 + (int64_t)nw * 7 * KS_USEC_PER_DAY)};
    run_p(q, rollup_h(q) ? rt(q, SQL2(r_sql, chr)) : SQL2(sql, ch), p, 2, cols_row, d);
    double spam = 0, all = 0, peak = -1;
    size_t peak_i = 0;
    for (size_t i = 0; i < nw; i++) {
        if (!isfinite(d->v[i]))
            continue;
        spam += d->v[nw + i];
        all += d->v[2 * nw + i];
        if (d->v[i] > peak) {
            peak = d->v[i];
            peak_i = i;
        }
    }
    d->ns = 1;
    if (!(all > 0))
        return KS_ENOTFOUND;
    d->why = NULL;
    num_set(q, "mail.messages", all, 0, NULL);
    num_set(q, "mail.spam_ratio", pct(spam, all), 1, "%");
    int iy, wk;
    ks_time_iso_week(w0 + (int64_t)peak_i * 7 * KS_USEC_PER_DAY, q->tz, &iy, &wk);
    num_set(q, "mail.spam_ratio.peak_week", wk, 0, NULL);
    num_set(q, "mail.spam_ratio.peak", peak, 0, "%");
    char t[16];
    struct ks_tm tm;
    ks_time_split(w0 + (int64_t)peak_i * 7 * KS_USEC_PER_DAY, q->tz, &tm);
    snprintf(t, sizeof t, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
    num_str(q, "mail.spam_ratio.peak_week_start", t);
    return KS_OK;
}

int q_mail_yoy(struct rq *q, double v[2], char labels[2][RQ_NAME])
{
    /* Q-mail-yoy: the previous calendar year's spam share (from the store, else the notes'
     * ext.prev_year_spam_ratio) against the period's (mail.spam_ratio). */
    static const char sql[] =
        "SELECT 100.0 * sum(verdict = 'spam') / count(*) FROM mail_messages" OK_JOIN(
            "mail_messages") " WHERE ts >= ?1 AND ts < ?2";
    static const char r_sql[] =
        "SELECT 100.0 * " MR_SPAM " / sum(n) FROM rollup_1h" OK_JOIN("rollup_1h") MR_WHERE;
    static const char ch[] = "SELECT 100.0 * sum(verdict = 'spam') / count(*) FROM mail_messages"
                             " WHERE" CH_OK " AND ts >= ?1 AND ts < ?2";
    static const char chr[] = "SELECT 100.0 * " MR_SPAM " / sum(n) FROM rollup_1h" CH_MR_WHERE;
    struct ks_tm tm;
    bool ja = strcmp(q->lang, "ja") == 0;
    ks_time_split(q->from_us, q->tz, &tm);
    int py = tm.year - 1;
    struct ks_tm a = {.year = py, .month = 1, .day = 1}, b = {.year = py + 1, .month = 1, .day = 1};
    int64_t ta, tb;
    v[0] = v[1] = NAN;
    const struct number *cur = num_get(q, "mail.spam_ratio");
    if (!cur || strcmp(cur->json, "null") == 0)
        return KS_ENOTFOUND;
    v[1] = atof(cur->json);
    if (ks_time_join(&a, q->tz, &ta) == KS_OK && ks_time_join(&b, q->tz, &tb) == KS_OK) {
        struct ks_store_value p[2] = {p_i64(ta), p_i64(tb)};
        run_p(q, rollup_h(q) ? rt(q, SQL2(r_sql, chr)) : SQL2(sql, ch), p, 2, one_num, &v[0]);
    }
    const char *src = "store";
    if (!isfinite(v[0])) {
        const char *e = notes_get(q->notes, "ext", "prev_year_spam_ratio");
        if (e) {
            v[0] = atof(e);
            src = "notes";
        }
    }
    snprintf(labels[0], RQ_NAME, ja ? "%d年" : "%d", py);
    struct ks_tm t2;
    ks_time_split(q->to_us - 1, q->tz, &t2);
    if (ja)
        snprintf(labels[1], RQ_NAME, "%d年%d月〜%d月", tm.year, tm.month, t2.month);
    else
        snprintf(labels[1], RQ_NAME, "%04d-%02d..%04d-%02d", tm.year, tm.month, t2.year, t2.month);
    if (!isfinite(v[0]))
        return KS_ENOTFOUND;
    num_set(q, "mail.spam_ratio.prev_year", v[0], 1, "%");
    num_set(q, "mail.spam_ratio.diff", round(v[1] * 10) / 10 - round(v[0] * 10) / 10, 1, NULL);
    num_str(q, "mail.spam_ratio.prev_year_source", src);
    return KS_OK;
}

int q_mail_countries(struct rq *q, struct rq_slices *d)
{
    /* Q-mail-countries: spam of the mail weeks by the country of the connecting client. */
    static const char sql[] = "SELECT country, count(*) AS n FROM mail_messages" OK_JOIN(
        "mail_messages") " WHERE ts >= ?1 AND ts < ?2 AND"
                         " verdict = 'spam' GROUP BY 1 ORDER BY n DESC, 1";
    static const char sql_ip[] =
        "SELECT count(*), count(DISTINCT sender) FROM mail_messages" OK_JOIN(
            "mail_messages") " WHERE ts >= ?1 AND ts < ?2 AND"
                             " verdict = 'spam' AND sender IS NOT NULL";
    static const char r_sql[] = "SELECT k2, sum(n) AS c FROM rollup_1h" OK_JOIN("rollup_1h")
        MR_WHERE " AND k1 = 'spam' GROUP BY 1 ORDER BY c DESC, 1";
    static const char ch[] = "SELECT country, count(*) AS c FROM mail_messages WHERE" CH_OK
                             " AND ts >= ?1 AND ts < ?2 AND verdict = 'spam' GROUP BY country"
                             " ORDER BY c DESC, country";
    static const char chr[] = "SELECT k2, sum(n) AS c FROM rollup_1h" CH_MR_WHERE
                              " AND k1 = 'spam' GROUP BY k2 ORDER BY c DESC, k2";
    static const char ch_ip[] = "SELECT count(*), uniqExact(sender) FROM mail_messages WHERE" CH_OK
                                " AND ts >= ?1 AND ts < ?2 AND verdict = 'spam' AND sender IS NOT"
                                " NULL";
    /* The same from the rollups of senders per day and hour (schema 14): the sets of each
     * day's and hour's senders, united (exact). */
    static const char s_ip[] = "SELECT sum(c), count(DISTINCT k) FROM (" SPLIT_R(
        "mail_messages:sender", "k2", "k1 = 'spam' AND k2 <> ''")
        SPLIT_RAW("mail_messages", "sender",
                  "verdict = 'spam' AND"
                  " sender IS NOT NULL") ")";
    static const char s_ch_ip[] = "SELECT sum(c), uniqExact(k) FROM (" CH_SPLIT_R(
        "mail_messages:sender", "k2", "k1 = 'spam' AND k2 != ''")
        CH_SPLIT_RAW("mail_messages", "assumeNotNull(sender)",
                     "verdict = 'spam' AND sender IS NOT NULL") ")";
    char names[256][RQ_NAME];
    double vals[256];
    int64_t w0;
    size_t nw = mail_weeks(q, &w0);
    memset(d, 0, sizeof *d);
    d->why = "mail";
    if (!rq_has(q, "mail_messages", "ts,verdict,country,sender") || nw == 0)
        return KS_ENOTFOUND;
    struct ks_store_value p[2] = {p_i64(w0), p_i64(w0 + (int64_t)nw * 7 * KS_USEC_PER_DAY)};
    struct top_ctx tc = {names, vals, 0, 256};
    run_p(q, rollup_h(q) ? rt(q, SQL2(r_sql, chr)) : SQL2(sql, ch), p, 2, top_row, &tc);
    double total = 0, rest = 0;
    for (size_t i = 0; i < tc.n; i++)
        total += vals[i];
    if (!(total > 0))
        return KS_ENOTFOUND;
    int rank = 0, home_rank = 0;
    double home = 0;
    char top[512] = "";
    for (size_t i = 0; i < tc.n; i++) {
        bool known = strlen(names[i]) == 2 && strcmp(names[i], "--") != 0;
        if (known)
            rank++;
        if (known && strcmp(names[i], q->home) == 0) {
            home_rank = rank;
            home = vals[i];
        }
        if (known && d->n < 15) {
            char a3[4];
            snprintf(d->names[d->n], RQ_NAME, "%s", iso_alpha3(names[i], a3));
            d->v[d->n] = vals[i];
            d->colors[d->n] = (int)(d->n < 10 ? d->n : d->n - 10);
            if (d->n < 6) {
                char t[32];
                size_t l = strlen(top);
                snprintf(top + l, sizeof top - l, "%s%s %s%%", d->n ? ", " : "", d->names[d->n],
                         fmt_num(t, sizeof t, pct(vals[i], total), 0));
            }
            d->n++;
        } else {
            rest += vals[i];
        }
    }
    if (rest > 0) {
        snprintf(d->names[d->n], RQ_NAME, "%s", other_name(q));
        d->v[d->n] = rest;
        d->colors[d->n++] = -1;
    }
    d->total = total;
    d->why = NULL;
    num_str(q, "mail.src.top", top);
    if (home_rank) {
        num_set(q, "mail.src.home", pct(home, total), 0, "%");
        num_set(q, "mail.src.home_rank", home_rank, 0, NULL);
    } else {
        num_null(q, "mail.src.home");
        num_null(q, "mail.src.home_rank");
    }
    double ip[2] = {NAN, NAN};
    if (rollup_split(q)) {
        struct ks_store_value ps[7];
        split_params(q, p[0].v.i64, p[1].v.i64, ps);
        run_p(q, SQL2(s_ip, s_ch_ip), ps, 7, one_num, ip);
    } else {
        run_p(q, SQL2(sql_ip, ch_ip), p, 2, one_num, ip);
    }
    num_set(q, "mail.msgs_per_ip", ip[1] > 0 ? ip[0] / ip[1] : NAN, 1, NULL);
    return KS_OK;
}

struct campaign_ctx {
    char (*lines)[256];
    size_t max, n;
    int32_t tz;
};

static void defang(char *s, size_t size)
{
    char out[256];
    size_t o = 0;
    for (const char *p = s; *p && o + 4 < sizeof out; p++) {
        if (*p == '.') {
            memcpy(out + o, "[.]", 3);
            o += 3;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    size_t k = o < size ? o : size - 1;
    memcpy(s, out, k);
    s[k] = '\0';
}

static int campaign_row(void *user, size_t n, const char *const *names,
                        const struct ks_store_value *v)
{
    struct campaign_ctx *c = user;
    char buf[200];
    for (size_t i = 0; i < n && c->n < c->max; i++) {
        val_s(&v[i], buf, sizeof buf);
        if (strcmp(names[i], "url_domains") == 0)
            defang(buf, sizeof buf);
        if (strcmp(names[i], "sender") == 0) {
            /* Redact the host part of the address. */
            char *dot = strrchr(buf, '.');
            char *colon = strrchr(buf, ':');
            if (dot)
                snprintf(dot, sizeof buf - (size_t)(dot - buf), ".xxx");
            else if (colon)
                snprintf(colon, sizeof buf - (size_t)(colon - buf), ":xxxx");
        }
        if (strcmp(names[i], "ts") == 0 && v[i].type == KS_TYPE_I64)
            ks_time_format(v[i].v.i64, c->tz, 0, buf, sizeof buf);
        snprintf(c->lines[c->n++], 256, "%.40s: %.200s", names[i], buf);
    }
    return 1;
}

/* E-1..E-3, H-29: figures from outside the store that the analyst enters in the notes' [ext]
 * section, carried into numbers.json as ext.KEY (the text as written) so that the prose that
 * quotes them and the page's numbers have one source. */
void q_ext(struct rq *q)
{
    for (size_t i = 0; q->notes && i < q->notes->nkv; i++) {
        const struct notes_kv *kv = &q->notes->kv[i];
        if (strcmp(kv->section, "ext") != 0)
            continue;
        char key[64];
        if ((size_t)snprintf(key, sizeof key, "ext.%s", kv->key) < sizeof key)
            num_str(q, key, kv->value);
    }
}

/* ---- H-27: an analyst-defined campaign (notes `campaign.subjects`: subject patterns) ---- */

#define CAMPAIGN_MAX_PATTERNS 8

struct day_counts {
    size_t nx;
    double *all, *hit;
    int64_t first_us, last_us;
    bool any;
};

static int day_total_row(void *user, size_t n, const char *const *names,
                         const struct ks_store_value *v)
{
    struct day_counts *c = user;
    (void)names;
    if (n < 2 || v[0].type != KS_TYPE_I64 || v[0].v.i64 < 0 || (size_t)v[0].v.i64 >= c->nx)
        return 0;
    c->all[v[0].v.i64] += val_f(&v[1]);
    return 0;
}

static int day_hit_row(void *user, size_t n, const char *const *names,
                       const struct ks_store_value *v)
{
    struct day_counts *c = user;
    (void)names;
    if (n < 4 || v[0].type != KS_TYPE_I64 || v[0].v.i64 < 0 || (size_t)v[0].v.i64 >= c->nx)
        return 0;
    c->hit[v[0].v.i64] += val_f(&v[1]);
    if (v[2].type == KS_TYPE_I64 && (!c->any || v[2].v.i64 < c->first_us))
        c->first_us = v[2].v.i64;
    if (v[3].type == KS_TYPE_I64 && (!c->any || v[3].v.i64 > c->last_us))
        c->last_us = v[3].v.i64;
    c->any = true;
    return 0;
}

/* Splits "A | B | C" into at most max trimmed, non-empty patterns (in place). */
static size_t split_patterns(char *s, char **out, size_t max)
{
    size_t n = 0;
    for (char *tok = strtok(s, "|"); tok && n < max; tok = strtok(NULL, "|")) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = '\0';
        if (len)
            out[n++] = tok;
    }
    return n;
}

/* Messages per day of the period (and first/last time) whose subject matches cond. */
static void campaign_sql(const struct rq *q, const char *cond, char *out, size_t size)
{
    if (is_ch(q))
        snprintf(out, size,
                 "SELECT " CH_DAY("ts - ?1") " AS d, count(), min(ts), max(ts) FROM mail_messages"
                                             " WHERE" CH_OK
                                             " AND ts >= ?1 AND ts < ?2 AND (%s) GROUP BY d",
                 cond);
    else
        snprintf(out, size,
                 "SELECT (ts - ?1) / " DAY_US
                 ", count(*), min(ts), max(ts) FROM mail_messages" OK_JOIN(
                     "mail_messages") " WHERE ts >= ?1 AND ts < ?2 AND (%s) GROUP BY 1",
                 cond);
}

int q_mail_campaign_stats(struct rq *q)
{
    const char *spec = notes_get(q->notes, "config", "campaign.subjects");
    if (!spec || !rq_has(q, "mail_messages", "ts,subject"))
        return KS_ENOTFOUND;
    char buf[1024], *pat[CAMPAIGN_MAX_PATTERNS];
    snprintf(buf, sizeof buf, "%s", spec);
    size_t np = split_patterns(buf, pat, CAMPAIGN_MAX_PATTERNS);
    if (np == 0)
        return KS_ENOTFOUND;
    /* WHERE subject contains any pattern: ?3.. are the patterns (bound, never spliced). */
    char any[512] = "", one[64];
    for (size_t i = 0; i < np; i++) {
        snprintf(one, sizeof one, "%s%s(subject, ?%zu) > 0", i ? " OR " : "",
                 is_ch(q) ? "position" : "instr", i + 3);
        strncat(any, one, sizeof any - strlen(any) - 1);
    }
    char sql_hit[1024], sql_all[512];
    campaign_sql(q, any, sql_hit, sizeof sql_hit);
    if (is_ch(q)) {
        snprintf(sql_all, sizeof sql_all,
                 "SELECT " CH_DAY("ts - ?1") " AS d, count() FROM mail_messages WHERE" CH_OK
                                             " AND ts >= ?1 AND ts < ?2 GROUP BY d");
    } else {
        snprintf(sql_all, sizeof sql_all,
                 "SELECT (ts - ?1) / " DAY_US ", count(*) FROM mail_messages" OK_JOIN(
                     "mail_messages") " WHERE ts >= ?1 AND ts < ?2 GROUP BY 1");
    }
    struct day_counts c = {0};
    c.nx = (size_t)((q->to_us - q->from_us + KS_USEC_PER_DAY - 1) / KS_USEC_PER_DAY);
    c.all = calloc(c.nx ? c.nx : 1, sizeof *c.all);
    c.hit = calloc(c.nx ? c.nx : 1, sizeof *c.hit);
    if (!c.all || !c.hit) {
        free(c.all);
        free(c.hit);
        return KS_ENOMEM;
    }
    struct ks_store_value p[2 + CAMPAIGN_MAX_PATTERNS];
    p[0] = p_i64(q->from_us);
    p[1] = p_i64(q->to_us);
    for (size_t i = 0; i < np; i++)
        p[2 + i] = p_text(pat[i]);
    run_p(q, sql_all, p, 2, day_total_row, &c);
    run_p(q, sql_hit, p, 2 + np, day_hit_row, &c);
    /* Subject families seen: patterns with at least one message. */
    unsigned seen = 0;
    for (size_t i = 0; c.any && i < np; i++) {
        struct day_counts one_c = c;
        one_c.hit = calloc(c.nx ? c.nx : 1, sizeof *one_c.hit);
        one_c.any = false;
        if (!one_c.hit)
            break;
        char sql1[1024];
        snprintf(one, sizeof one, "%s(subject, ?3) > 0", is_ch(q) ? "position" : "instr");
        campaign_sql(q, one, sql1, sizeof sql1);
        struct ks_store_value p1[3] = {p[0], p[1], p[2 + i]};
        run_p(q, sql1, p1, 3, day_hit_row, &one_c);
        seen += one_c.any;
        free(one_c.hit);
    }
    int rc = KS_ENOTFOUND;
    if (c.any) {
        double total = 0;
        size_t top[2] = {SIZE_MAX, SIZE_MAX};
        for (size_t i = 0; i < c.nx; i++) {
            total += c.hit[i];
            if (!(c.all[i] > 0) || !(c.hit[i] > 0))
                continue;
            double sh = c.hit[i] / c.all[i];
            if (top[0] == SIZE_MAX || sh > c.hit[top[0]] / c.all[top[0]]) {
                top[1] = top[0];
                top[0] = i;
            } else if (top[1] == SIZE_MAX || sh > c.hit[top[1]] / c.all[top[1]]) {
                top[1] = i;
            }
        }
        char t[64], days[160] = "";
        num_set(q, "mail.campaign.messages", total, 0, NULL);
        ks_time_format(c.first_us, q->tz, 0, t, sizeof t);
        num_str(q, "mail.campaign.first", t);
        ks_time_format(c.last_us, q->tz, 0, t, sizeof t);
        num_str(q, "mail.campaign.last", t);
        for (int k = 0; k < 2; k++) {
            if (top[k] == SIZE_MAX)
                continue;
            struct ks_tm tm;
            ks_time_split(q->from_us + (int64_t)top[k] * KS_USEC_PER_DAY, q->tz, &tm);
            char sh[32];
            fmt_num(sh, sizeof sh, 100.0 * c.hit[top[k]] / c.all[top[k]], 1);
            size_t len = strlen(days);
            snprintf(days + len, sizeof days - len, "%s%04d-%02d-%02d %s%%", len ? "; " : "",
                     tm.year, tm.month, tm.day, sh);
        }
        num_str(q, "mail.campaign.top_days", days);
        snprintf(t, sizeof t, "%u/%zu", seen, np);
        num_str(q, "mail.campaign.variants", t);
        rc = KS_OK;
    }
    free(c.all);
    free(c.hit);
    return rc;
}

int q_mail_campaign(struct rq *q, char lines[][256], size_t max, size_t *n)
{
    /* Q-mail-campaign: the message named by the notes' campaign.sample (a Message-ID). */
    static const char sql[] = "SELECT ts, subject, sender, country, url_domains, urls,"
                              " attachments, spf FROM mail_messages" OK_JOIN(
                                  "mail_messages") " WHERE message_id = ?1 ORDER BY ts LIMIT 1";
    static const char ch[] = "SELECT ts, subject, sender, country, url_domains, urls,"
                             " attachments, spf FROM mail_messages WHERE" CH_OK
                             " AND message_id = ?1 ORDER BY ts LIMIT 1";
    const char *id = notes_get(q->notes, "config", "campaign.sample");
    *n = 0;
    if (!id || !rq_has(q, "mail_messages", "ts,message_id,subject,sender,url_domains"))
        return KS_ENOTFOUND;
    struct campaign_ctx c = {lines, max, 0, q->tz};
    struct ks_store_value p = p_text(id);
    run_p(q, SQL2(sql, ch), &p, 1, campaign_row, &c);
    *n = c.n;
    return c.n ? KS_OK : KS_ENOTFOUND;
}

int q_spf_monthly(struct rq *q, struct rq_stack *d, int64_t *month0_us)
{
    /* Q-spf-monthly: SPF checks of the MAIL FROM identity per month, 17 months up to the
     * period's last: domain publishes SPF (any result but none) or not (none). */
    static const char sql_spf[] =
        "SELECT 0, sum(result <> 'none'), sum(result = 'none') FROM"
        " spf_results" OK_JOIN(
            "spf_results") " WHERE ts >= ?1 AND ts < ?2 AND identity = 'mailfrom'";
    /* Q-spf-mail: without spf_results rows in those months, the received messages' own SPF
     * result (Received-SPF / Authentication-Results, mail_messages.spf): published = any
     * result but none, not published = none or absent (no result header). */
    static const char sql_mail[] =
        "SELECT 0, sum(spf NOT IN ('none', 'absent', '')), sum(spf IN ('none', 'absent', ''))"
        " FROM mail_messages" OK_JOIN("mail_messages") " WHERE ts >= ?1 AND ts < ?2";
    /* The same from the hourly rollups: spf_results (k1 identity, k2 result) and
     * mail_messages:spf (k1 the message's SPF result). */
#define SPF_R                                                                                      \
    "sum(CASE WHEN k2 <> 'none' THEN n ELSE 0 END), sum(CASE WHEN k2 = 'none' THEN n"              \
    " ELSE 0 END) FROM rollup_1h"
#define SPFM_R                                                                                     \
    "sum(CASE WHEN k1 NOT IN ('none', 'absent', '') THEN n ELSE 0 END), sum(CASE WHEN"             \
    " k1 IN ('none', 'absent', '') THEN n ELSE 0 END) FROM rollup_1h"
    static const char r_spf[] = "SELECT 0, " SPF_R OK_JOIN(
        "rollup_1h") " WHERE src ="
                     " 'spf_results' AND ts >= ?1 AND ts < ?2 AND k1 = 'mailfrom'";
    static const char r_mail[] =
        "SELECT 0, " SPFM_R OK_JOIN("rollup_1h") " WHERE src ="
                                                 " 'mail_messages:spf' AND ts >= ?1 AND ts < ?2";
    static const char ch_spf[] =
        "SELECT 0, sum(result <> 'none'), sum(result = 'none') FROM spf_results WHERE" CH_OK
        " AND ts >= ?1 AND ts < ?2 AND identity = 'mailfrom'";
    static const char ch_mail[] =
        "SELECT 0, sum(spf NOT IN ('none', 'absent', '')), sum(spf IN ('none', 'absent', ''))"
        " FROM mail_messages WHERE" CH_OK " AND ts >= ?1 AND ts < ?2";
    static const char chr_spf[] = "SELECT 0, " SPF_R " WHERE" CH_OK " AND src = 'spf_results'"
                                  " AND ts >= ?1 AND ts < ?2 AND k1 = 'mailfrom'";
    static const char chr_mail[] = "SELECT 0, " SPFM_R " WHERE" CH_OK " AND src ="
                                   " 'mail_messages:spf' AND ts >= ?1 AND ts < ?2";
    bool rl = rollup_h(q);
    bool ja = strcmp(q->lang, "ja") == 0;
    d->why = "spf";
    bool have_spf = rq_has(q, "spf_results", "ts,identity,result");
    bool have_mail = rq_has(q, "mail_messages", "ts,spf");
    if (!have_spf && !have_mail)
        return KS_ENOTFOUND;
    if (stack_alloc(d, 17, 2, NAN) != KS_OK)
        return KS_ENOMEM;
    snprintf(d->names[0], RQ_NAME, "%s", ja ? "SPF対応" : "SPF published");
    snprintf(d->names[1], RQ_NAME, "%s", ja ? "SPF未対応" : "SPF not published");
    d->colors[0] = 0;
    d->colors[1] = 1;
    int64_t m = ks_time_bucket(q->to_us - 1, KS_BUCKET_MONTH, q->tz);
    for (int i = 0; i < 16; i++)
        m = ks_time_bucket(m - 1, KS_BUCKET_MONTH, q->tz);
    *month0_us = m;
    const char *q_spf = rl ? rt(q, SQL2(r_spf, chr_spf)) : SQL2(sql_spf, ch_spf);
    const char *q_mail = rl ? rt(q, SQL2(r_mail, chr_mail)) : SQL2(sql_mail, ch_mail);
    const char *sql = q_spf, *source = "spf_results";
    if (have_spf) {
        double n[3] = {NAN, NAN, NAN};
        int64_t end = ks_time_bucket_next(ks_time_bucket(q->to_us - 1, KS_BUCKET_MONTH, q->tz),
                                          KS_BUCKET_MONTH, q->tz);
        struct ks_store_value p[2] = {p_i64(m), p_i64(end)};
        run_p(q, q_spf, p, 2, one_num, n);
        have_spf = isfinite(n[1]) && isfinite(n[2]) && n[1] + n[2] > 0;
    }
    if (!have_spf) {
        if (!have_mail)
            return KS_ENOTFOUND;
        sql = q_mail;
        source = "mail_messages";
    }
    double total = 0, pub_last = NAN, all_last = NAN, pub_ago = NAN, all_ago = NAN;
    for (size_t i = 0; i < 17; i++) {
        int64_t next = ks_time_bucket_next(m, KS_BUCKET_MONTH, q->tz);
        struct ks_store_value p[2] = {p_i64(m), p_i64(next)};
        struct rq_stack one = {.nx = 1, .ns = 2};
        double cell[2] = {NAN, NAN};
        one.v = cell;
        run_p(q, sql, p, 2, cols_row, &one);
        if (isfinite(cell[0]) && isfinite(cell[1]) && cell[0] + cell[1] > 0) {
            d->v[i] = cell[0];
            d->v[17 + i] = cell[1];
            total += cell[0] + cell[1];
            if (i == 16) {
                pub_last = cell[0];
                all_last = cell[0] + cell[1];
            }
            if (i == 4) {
                pub_ago = cell[0];
                all_ago = cell[0] + cell[1];
            }
        }
        m = next;
    }
    d->total = total;
    if (!(total > 0))
        return KS_ENOTFOUND;
    d->why = NULL;
    num_str(q, "spf.source", source);
    num_set(q, "spf.share.latest", pct(pub_last, all_last), 1, "%");
    num_set(q, "spf.share.year_ago", pct(pub_ago, all_ago), 1, "%");
    return KS_OK;
}
