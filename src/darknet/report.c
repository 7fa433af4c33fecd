/* Darknet statistics read back from the store: per-day per-port packets averaged per sensor
 * (top ports + other), sources by country and AS, and the weekly port-novelty alerts. */
#include "core/cur.h"
#include "kansoku/ks_darknet.h"
#include "kansoku/ks_hll.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_table.h"
#include "kansoku/ks_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WEEK_US (7 * KS_USEC_PER_DAY)
#define MERGE_P 10 /* weekly merges fold the stored sketches down to 1 KiB each */

void ks_darknet_query_default(struct ks_darknet_query *q)
{
    memset(q, 0, sizeof *q);
    q->to_us = INT64_MAX;
    memcpy(q->home, "JP", 3);
    q->top_ports = 10;
    q->baseline_weeks = 4;
    q->novelty_factor = 5.0;
    q->novelty_min = 10;
    q->max_ports = 32768;
}

bool ks_darknet_is_novel(const struct ks_darknet_query *q, double sources, const double *prev,
                         size_t n, double *baseline)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += prev[i];
    double base = n ? sum / (double)n : 0;
    if (baseline)
        *baseline = base;
    if (n == 0 || sources < (double)q->novelty_min)
        return false;
    return sources >= q->novelty_factor * (base > 1.0 ? base : 1.0);
}

static double num(const struct ks_store_value *v)
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
        return 0;
    }
}

static int64_t inum(const struct ks_store_value *v)
{
    return v->type == KS_TYPE_F64 ? (int64_t)v->v.f64 : v->v.i64;
}

/* The WHERE clause shared by every query: ?1 from, ?2 to, ?3 sensor (NULL: all). */
#define WHERE_PERIOD " WHERE c.ts >= ?1 AND c.ts < ?2 AND (?3 IS NULL OR c.sensor = ?3)"

struct run {
    const struct ks_darknet_query *q;
    const struct ks_darknet_report_sink *sink;
    struct ks_darknet_report_stats *st;
    struct ks_store_value params[3];
    /* top ports */
    uint32_t ntop;
    uint32_t *top; /* proto << 16 | port */
    /* the day being assembled */
    int64_t day;
    bool have_day;
    uint32_t sensors;
    double *top_pk, *top_src; /* per top port */
    double other_pk, other_src;
    /* sensors per day */
    int64_t *sd_day;
    uint32_t *sd_n;
    size_t nsd, sd_cap;
    int err;
};

static int collect_sensors(void *user, size_t n, const char *const *names,
                           const struct ks_store_value *v)
{
    struct run *r = user;
    if (r->nsd == r->sd_cap) {
        size_t cap = r->sd_cap ? r->sd_cap * 2 : 64;
        int64_t *nd = realloc(r->sd_day, cap * sizeof *nd);
        if (!nd)
            return KS_ENOMEM;
        r->sd_day = nd;
        uint32_t *nn = realloc(r->sd_n, cap * sizeof *nn);
        if (!nn)
            return KS_ENOMEM;
        r->sd_n = nn;
        r->sd_cap = cap;
    }
    r->sd_day[r->nsd] = inum(&v[0]);
    r->sd_n[r->nsd] = (uint32_t)inum(&v[1]);
    r->nsd++;
    return 0;
}

static uint32_t sensors_of(const struct run *r, int64_t day)
{
    size_t lo = 0, hi = r->nsd;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->sd_day[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < r->nsd && r->sd_day[lo] == day ? r->sd_n[lo] : 1;
}

static int count_sensors(void *user, size_t n, const char *const *names,
                         const struct ks_store_value *v)
{
    struct ks_darknet_report_stats *st = user;
    st->sensors = (uint32_t)inum(&v[0]);
    return 0;
}

static int collect_top(void *user, size_t n, const char *const *names,
                       const struct ks_store_value *v)
{
    struct run *r = user;
    if (r->ntop < r->q->top_ports)
        r->top[r->ntop++] = (uint32_t)inum(&v[0]) << 16 | (uint32_t)(inum(&v[1]) & 0xffff);
    return 0;
}

static void emit_port_day(struct run *r)
{
    if (!r->have_day)
        return;
    r->st->days++;
    double s = r->sensors ? r->sensors : 1;
    for (uint32_t i = 0; i < r->ntop; i++) {
        struct ks_darknet_port_day pd = {
            .day = r->day,
            .proto = (uint8_t)(r->top[i] >> 16),
            .port = (uint16_t)(r->top[i] & 0xffff),
            .packets = r->top_pk[i] / s,
            .sources = r->top_src[i] / s,
            .sensors = r->sensors,
        };
        if (r->sink->port_day)
            r->sink->port_day(r->sink->user, &pd);
    }
    struct ks_darknet_port_day other = {
        .day = r->day,
        .other = true,
        .packets = r->other_pk / s,
        .sources = r->other_src / s,
        .sensors = r->sensors,
    };
    if (r->sink->port_day)
        r->sink->port_day(r->sink->user, &other);
    memset(r->top_pk, 0, r->ntop * sizeof *r->top_pk);
    memset(r->top_src, 0, r->ntop * sizeof *r->top_src);
    r->other_pk = r->other_src = 0;
}

static int collect_port_day(void *user, size_t n, const char *const *names,
                            const struct ks_store_value *v)
{
    struct run *r = user;
    int64_t day = inum(&v[0]);
    uint32_t key = (uint32_t)inum(&v[1]) << 16 | (uint32_t)(inum(&v[2]) & 0xffff);
    r->st->rows++;
    if (!r->have_day || day != r->day) {
        emit_port_day(r);
        r->have_day = true;
        r->day = day;
        r->sensors = sensors_of(r, day);
    }
    for (uint32_t i = 0; i < r->ntop; i++) {
        if (r->top[i] == key) {
            r->top_pk[i] += num(&v[3]);
            r->top_src[i] += num(&v[4]);
            return 0;
        }
    }
    r->other_pk += num(&v[3]);
    r->other_src += num(&v[4]);
    return 0;
}

static int collect_source(void *user, size_t n, const char *const *names,
                          const struct ks_store_value *v)
{
    struct run *r = user;
    char dim[16] = "", key[64] = "", name[256] = "";
    if (v[0].type == KS_TYPE_TEXT)
        memcpy(dim, v[0].v.bytes.ptr, v[0].v.bytes.len < 15 ? v[0].v.bytes.len : 15);
    if (v[1].type == KS_TYPE_TEXT)
        memcpy(key, v[1].v.bytes.ptr, v[1].v.bytes.len < 63 ? v[1].v.bytes.len : 63);
    if (v[2].type == KS_TYPE_TEXT)
        memcpy(name, v[2].v.bytes.ptr, v[2].v.bytes.len < 255 ? v[2].v.bytes.len : 255);
    int d = strcmp(dim, "country") == 0 ? KS_DARKNET_BY_COUNTRY : KS_DARKNET_BY_AS;
    bool domestic = d == KS_DARKNET_BY_COUNTRY && strcmp(key, r->q->home) == 0;
    if (r->sink->source)
        r->sink->source(r->sink->user, d, key, name, domestic, num(&v[3]), num(&v[4]));
    return 0;
}

/* --- novelty: per ISO week, per port, the sources of all sensors merged ----------------- */

struct week_map {
    int64_t week;
    bool has_data;
    struct ks_table *est; /* uint32_t proto<<16|port -> double sources */
};

struct merge {
    struct run *r;
    struct ks_table *idx; /* port key -> uint32_t pool index */
    uint8_t *pool;
    double *extra; /* per pool index: sources of rows without a usable sketch */
    uint32_t used, cap;
    size_t regs;
    uint64_t rows;
    struct week_map *week; /* the week being loaded */
};

/* An exact cell's sources: "KS" 1 n, then n 64-bit big-endian hashes (ks_darknet.h). */
static bool add_exact(struct ks_hll *dst, const void *blob, size_t len)
{
    struct ks_cur c = ks_cur_make(blob, len);
    ks_cur_skip(&c, 3);
    unsigned n = ks_cur_u8(&c);
    if (ks_cur_left(&c) != (size_t)n * 8)
        return false;
    for (unsigned i = 0; i < n; i++)
        ks_hll_add_hash(dst, ks_cur_u64be(&c));
    return ks_cur_err(&c) == KS_OK;
}

static int merge_row(void *user, size_t n, const char *const *names, const struct ks_store_value *v)
{
    struct merge *m = user;
    m->rows++;
    uint32_t key = (uint32_t)inum(&v[0]) << 16 | (uint32_t)(inum(&v[1]) & 0xffff);
    uint32_t *slot = ks_table_find(m->idx, &key);
    uint32_t i;
    if (slot) {
        i = *slot;
    } else {
        if (m->used == m->cap) {
            m->r->st->ports_dropped++;
            return 0;
        }
        i = m->used++;
        memset(m->pool + (size_t)i * m->regs, 0, m->regs);
        m->extra[i] = 0;
        slot = ks_table_upsert(m->idx, &key, 0, NULL);
        if (!slot)
            return 0;
        *slot = i;
    }
    struct ks_hll dst;
    ks_hll_init_buf(&dst, MERGE_P, m->pool + (size_t)i * m->regs, m->regs);
    bool merged = false;
    if (v[3].type == KS_TYPE_BLOB && v[3].v.bytes.len >= 3 &&
        memcmp(v[3].v.bytes.ptr, "KS\x01", 3) == 0) {
        merged = add_exact(&dst, v[3].v.bytes.ptr, v[3].v.bytes.len);
        if (!merged)
            m->r->st->bad_sketches++;
    } else if (v[3].type == KS_TYPE_BLOB) {
        struct ks_hll src;
        if (ks_hll_deserialize(&src, v[3].v.bytes.ptr, v[3].v.bytes.len) == KS_OK) {
            merged = ks_hll_merge(&dst, &src) == KS_OK;
            ks_hll_fini(&src);
        }
        if (!merged)
            m->r->st->bad_sketches++;
    }
    if (!merged)
        m->extra[i] += num(&v[2]);
    return 0;
}

static unsigned store_estimate(void *user, const void *key, void *value, uint32_t stamp)
{
    struct merge *m = user;
    struct week_map *w = m->week;
    uint32_t i = *(const uint32_t *)value;
    struct ks_hll h;
    ks_hll_init_buf(&h, MERGE_P, m->pool + (size_t)i * m->regs, m->regs);
    double *e = ks_table_upsert(w->est, key, 0, NULL);
    if (e)
        *e = ks_hll_estimate(&h) + m->extra[i];
    return KS_TABLE_NEXT;
}

static int load_week(struct ks_store *s, struct run *r, struct merge *m, struct week_map *w,
                     int64_t week)
{
    static const char sql[] = "SELECT c.proto, c.port, c.sources, c.sketch FROM darknet_cells c"
                              " JOIN inputs ON inputs.id = c.input_id AND inputs.status ="
                              " 'complete' WHERE c.kind = 'scan' AND c.ts >= ?1 AND c.ts < ?2"
                              " AND (?3 IS NULL OR c.sensor = ?3)";
    struct ks_store_value p[3] = {{.type = KS_TYPE_I64, .v.i64 = week},
                                  {.type = KS_TYPE_I64, .v.i64 = week + WEEK_US},
                                  r->params[2]};
    w->week = week;
    ks_table_clear(w->est);
    ks_table_clear(m->idx);
    m->used = 0;
    m->rows = 0;
    int rc = ks_store_query(s, sql, p, 3, merge_row, m);
    if (rc != KS_OK)
        return rc;
    w->has_data = m->rows > 0;
    m->week = w;
    ks_table_foreach(m->idx, store_estimate, m);
    return KS_OK;
}

struct alert_ctx {
    struct run *r;
    struct week_map *weeks; /* nweeks, the current one last */
    uint32_t nweeks;
    double *prev;
};

static unsigned check_port(void *user, const void *key, void *value, uint32_t stamp)
{
    struct alert_ctx *a = user;
    const struct ks_darknet_query *q = a->r->q;
    double sources = *(const double *)value;
    size_t n = 0;
    for (uint32_t i = 0; i + 1 < a->nweeks; i++) {
        if (!a->weeks[i].has_data)
            continue;
        const double *e = ks_table_find(a->weeks[i].est, key);
        a->prev[n++] = e ? *e : 0;
    }
    double base;
    if (!ks_darknet_is_novel(q, sources, a->prev, n, &base))
        return KS_TABLE_NEXT;
    uint32_t k = *(const uint32_t *)key;
    struct ks_darknet_alert al = {
        .week = a->weeks[a->nweeks - 1].week,
        .proto = (uint8_t)(k >> 16),
        .port = (uint16_t)(k & 0xffff),
        .sources = sources,
        .baseline = base,
        .factor = sources / (base > 1.0 ? base : 1.0),
    };
    if (a->r->sink->alert)
        a->r->sink->alert(a->r->sink->user, &al);
    return KS_TABLE_NEXT;
}

static int first_last(void *user, size_t n, const char *const *names,
                      const struct ks_store_value *v)
{
    int64_t *fl = user;
    if (v[0].type != KS_TYPE_NULL) {
        fl[0] = inum(&v[0]);
        fl[1] = inum(&v[1]);
    }
    return 0;
}

static int novelty(struct ks_store *s, struct run *r)
{
    const struct ks_darknet_query *q = r->q;
    int64_t fl[2] = {0, -1};
    int rc = ks_store_query(s,
                            "SELECT min(c.ts), max(c.ts) FROM darknet_cells c"
                            " JOIN inputs ON inputs.id = c.input_id AND inputs.status ="
                            " 'complete'" WHERE_PERIOD,
                            r->params, 3, first_last, fl);
    if (rc != KS_OK || fl[1] < fl[0])
        return rc;
    uint32_t nb = q->baseline_weeks;
    uint32_t nweeks = nb + 1;
    struct week_map *weeks = calloc(nweeks, sizeof *weeks);
    struct merge m = {.r = r, .cap = q->max_ports ? q->max_ports : 1};
    m.regs = ks_hll_regs_size(MERGE_P);
    m.pool = malloc((size_t)m.cap * m.regs);
    m.extra = calloc(m.cap, sizeof *m.extra);
    double *prev = calloc(nb + 1, sizeof *prev);
    rc = KS_ENOMEM;
    if (!weeks || !m.pool || !m.extra || !prev)
        goto out;
    struct ks_table_config tc;
    ks_table_config_default(&tc);
    tc.key_size = sizeof(uint32_t);
    tc.value_size = sizeof(uint32_t);
    tc.capacity = m.cap;
    tc.evict = KS_TABLE_EVICT_NONE;
    tc.seed = 1;
    if (ks_table_new(&tc, &m.idx) != KS_OK)
        goto out;
    tc.value_size = sizeof(double);
    for (uint32_t i = 0; i < nweeks; i++)
        if (ks_table_new(&tc, &weeks[i].est) != KS_OK)
            goto out;

    int64_t first = ks_time_bucket(fl[0], KS_BUCKET_WEEK, 0);
    int64_t last = ks_time_bucket(fl[1], KS_BUCKET_WEEK, 0);
    /* The baseline weeks before the period, then each week of the period in a ring. */
    for (uint32_t i = 0; i < nb; i++) {
        rc = load_week(s, r, &m, &weeks[i], first - (int64_t)(nb - i) * WEEK_US);
        if (rc != KS_OK)
            goto out;
    }
    struct alert_ctx a = {r, NULL, nweeks, prev};
    struct week_map *ordered = calloc(nweeks, sizeof *ordered);
    if (!ordered) {
        rc = KS_ENOMEM;
        goto out;
    }
    uint32_t head = nb; /* ring slot of the current week */
    for (int64_t wk = first; wk <= last; wk += WEEK_US) {
        rc = load_week(s, r, &m, &weeks[head], wk);
        if (rc != KS_OK)
            break;
        r->st->weeks++;
        for (uint32_t i = 0; i < nweeks; i++)
            ordered[i] = weeks[(head + 1 + i) % nweeks];
        a.weeks = ordered;
        ks_table_foreach(weeks[head].est, check_port, &a);
        head = (head + 1) % nweeks;
    }
    free(ordered);
out:
    for (uint32_t i = 0; weeks && i < nweeks; i++)
        ks_table_free(weeks[i].est);
    free(weeks);
    ks_table_free(m.idx);
    free(m.pool);
    free(m.extra);
    free(prev);
    return rc;
}

int ks_darknet_report(struct ks_store *s, const struct ks_darknet_query *q,
                      const struct ks_darknet_report_sink *sink, struct ks_darknet_report_stats *st)
{
    struct ks_darknet_report_stats dummy;
    if (!st)
        st = &dummy;
    memset(st, 0, sizeof *st);
    struct run r = {.q = q, .sink = sink, .st = st};
    r.params[0] = (struct ks_store_value){.type = KS_TYPE_I64, .v.i64 = q->from_us};
    r.params[1] = (struct ks_store_value){.type = KS_TYPE_I64, .v.i64 = q->to_us};
    r.params[2] = q->sensor ? (struct ks_store_value){.type = KS_TYPE_TEXT,
                                                      .v.bytes = {q->sensor, strlen(q->sensor)}}
                            : (struct ks_store_value){.type = KS_TYPE_NULL};
    int rc = KS_ENOMEM;
    uint32_t ntop = q->top_ports;
    r.top = calloc(ntop + 1, sizeof *r.top);
    r.top_pk = calloc(ntop + 1, sizeof *r.top_pk);
    r.top_src = calloc(ntop + 1, sizeof *r.top_src);
    if (!r.top || !r.top_pk || !r.top_src)
        goto out;

    rc = ks_store_query(
        s,
        "SELECT c.ts, count(DISTINCT c.sensor) FROM darknet_cells c"
        " JOIN inputs ON inputs.id = c.input_id AND inputs.status = 'complete'" WHERE_PERIOD
        " AND c.kind = 'scan' GROUP BY c.ts ORDER BY c.ts",
        r.params, 3, collect_sensors, &r);
    if (rc != KS_OK)
        goto out;
    rc = ks_store_query(
        s,
        "SELECT c.proto, c.port, sum(c.packets) AS pk FROM darknet_cells c"
        " JOIN inputs ON inputs.id = c.input_id AND inputs.status = 'complete'" WHERE_PERIOD
        " AND c.kind = 'scan' GROUP BY c.proto, c.port"
        " ORDER BY pk DESC, c.proto, c.port",
        r.params, 3, collect_top, &r);
    if (rc != KS_OK)
        goto out;
    rc = ks_store_query(
        s,
        "SELECT c.ts, c.proto, c.port, sum(c.packets), sum(c.sources)"
        " FROM darknet_cells c"
        " JOIN inputs ON inputs.id = c.input_id AND inputs.status = 'complete'" WHERE_PERIOD
        " AND c.kind = 'scan' GROUP BY c.ts, c.proto, c.port"
        " ORDER BY c.ts",
        r.params, 3, collect_port_day, &r);
    if (rc != KS_OK)
        goto out;
    emit_port_day(&r);
    rc = ks_store_query(
        s,
        "SELECT count(DISTINCT c.sensor) FROM darknet_cells c"
        " JOIN inputs ON inputs.id = c.input_id AND inputs.status = 'complete'" WHERE_PERIOD,
        r.params, 3, count_sensors, st);
    if (rc != KS_OK)
        goto out;
    rc = ks_store_query(
        s,
        "SELECT c.dim, c.key, max(c.name), sum(c.sources) AS n, sum(c.packets)"
        " FROM darknet_sources c"
        " JOIN inputs ON inputs.id = c.input_id AND inputs.status = 'complete'" WHERE_PERIOD
        " AND c.dim IN ('country', 'as') GROUP BY c.dim, c.key"
        " ORDER BY c.dim DESC, n DESC, c.key",
        r.params, 3, collect_source, &r);
    if (rc != KS_OK)
        goto out;
    rc = novelty(s, &r);
out:
    free(r.top);
    free(r.top_pk);
    free(r.top_src);
    free(r.sd_day);
    free(r.sd_n);
    return rc;
}
