/* Drops and spikes against a robust seasonal baseline (include/kansoku/ks_anomaly.h). */
#include "anomaly_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_time.h"

/* 1.4826 x MAD estimates the standard deviation of a normal distribution. */
#define MAD_TO_SIGMA 1.4826
/* Residuals kept for the spread, at most (older ones do not matter after a few days). */
#define SPREAD_MAX 4096

void ks_anomaly_config_default(struct ks_anomaly_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->weeks = 4;
    cfg->days = 7;
    cfg->k = 4.0;
    cfg->min_rel = 0.2;
    cfg->rel_floor = 0.05;
    cfg->abs_floor = 1.0;
    cfg->count_floor = true;
    cfg->min_points = 1;
    cfg->max_points = 1u << 20;
}

const char *ks_anomaly_dir_name(int dir)
{
    return dir == KS_ANOMALY_DROP ? "drop" : dir == KS_ANOMALY_SPIKE ? "spike" : NULL;
}

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return a < b ? -1 : a > b;
}

static int cmp_point(const void *pa, const void *pb)
{
    const struct ks_anomaly_point *a = pa, *b = pb;
    return a->ts < b->ts ? -1 : a->ts > b->ts;
}

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return a < b ? -1 : a > b;
}

/* Median of v[0..n) (reordered). n > 0. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* The most common positive spacing of the sorted distinct timestamps (0 if none). */
static int64_t common_step(const struct ks_anomaly_point *p, size_t n)
{
    int64_t *d = malloc((n ? n : 1) * sizeof *d);
    if (!d)
        return -1;
    size_t nd = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i].ts > p[i - 1].ts)
            d[nd++] = p[i].ts - p[i - 1].ts;
    int64_t best = 0;
    size_t best_n = 0;
    qsort(d, nd, sizeof *d, cmp_i64);
    for (size_t i = 0; i < nd;) {
        size_t j = i;
        while (j < nd && d[j] == d[i])
            j++;
        if (j - i > best_n) {
            best_n = j - i;
            best = d[i];
        }
        i = j;
    }
    free(d);
    return best;
}

struct open_alert {
    bool on;
    struct ks_anomaly_alert a;
    size_t last;
    double peak_abs_z;
};

struct run {
    const struct ks_anomaly_config *cfg;
    ks_anomaly_fn fn;
    void *user;
    struct ks_anomaly_stats *st;
    int64_t report_from, report_to;
    struct open_alert cur;
};

static void close_alert(struct run *r, bool open)
{
    struct ks_anomaly_alert *a = &r->cur.a;
    if (!r->cur.on)
        return;
    r->cur.on = false;
    if (a->points < r->cfg->min_points)
        return;
    if (a->end < r->report_from || a->start >= r->report_to)
        return;
    a->open = open;
    a->duration_s = (double)(a->end - a->start + a->step_us) / 1e6;
    a->abs_change = a->observed - a->expected;
    a->rel_change = a->expected != 0 ? a->observed / a->expected - 1.0 : NAN;
    r->st->alerts++;
    if (r->fn)
        r->fn(r->user, a);
}

int anomaly_detect_range(const struct ks_anomaly_config *cfg, const char *sensor,
                         const char *metric, const char *key, const struct ks_anomaly_point *pts,
                         size_t n, int64_t report_from, int64_t report_to, ks_anomaly_fn fn,
                         void *user, struct ks_anomaly_stats *st)
{
    struct ks_anomaly_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof dummy);
        st = &dummy;
    }
    if (!cfg || (n && !pts) || !(cfg->k > 0) || cfg->min_rel < 0 || cfg->rel_floor < 0 ||
        !(cfg->abs_floor > 0) || cfg->max_points < 2)
        return KS_EINVAL;
    st->series++;
    st->points += n;
    if (n == 0)
        return KS_OK;

    int rc = KS_OK;
    struct ks_anomaly_point *p = NULL;
    double *x = NULL, *c = NULL, *res = NULL, *tmp = NULL;
    p = malloc(n * sizeof *p);
    if (!p) {
        rc = KS_ENOMEM;
        goto out;
    }
    memcpy(p, pts, n * sizeof *p);
    qsort(p, n, sizeof *p, cmp_point);

    int64_t step = (int64_t)cfg->step_s * KS_USEC_PER_SEC;
    if (step == 0)
        step = common_step(p, n);
    if (step < 0) {
        rc = KS_ENOMEM;
        goto out;
    }
    if (step == 0) { /* one timestamp: nothing to compare it with */
        st->buckets++;
        st->warmup++;
        goto out;
    }

    int64_t t0 = ks_time_floor(p[0].ts, step);
    int64_t tn = ks_time_floor(p[n - 1].ts, step);
    uint64_t len = (uint64_t)((tn - t0) / step) + 1;
    if (len > cfg->max_points) {
        t0 = tn - (int64_t)(cfg->max_points - 1) * step;
        len = cfg->max_points;
    }
    x = malloc(len * sizeof *x);
    c = malloc(len * sizeof *c);
    if (!x || !c) {
        rc = KS_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < len; i++)
        x[i] = cfg->fill_zero ? 0.0 : NAN;
    for (size_t i = 0; i < n; i++) {
        if (p[i].ts < t0) {
            st->truncated++;
            continue;
        }
        size_t b = (size_t)((ks_time_floor(p[i].ts, step) - t0) / step);
        if (!isfinite(p[i].value)) {
            st->bad_values++;
            continue;
        }
        x[b] = isnan(x[b]) ? p[i].value : x[b] + p[i].value;
    }
    st->buckets += len;

    /* Seasonal periods in buckets, when the step divides them. */
    size_t day = 0, week = 0;
    if (KS_USEC_PER_DAY % step == 0 && KS_USEC_PER_DAY / step >= 2)
        day = (size_t)(KS_USEC_PER_DAY / step);
    if ((7 * KS_USEC_PER_DAY) % step == 0 && 7 * KS_USEC_PER_DAY / step >= 2)
        week = (size_t)(7 * KS_USEC_PER_DAY / step);
    size_t roll = step >= KS_USEC_PER_DAY ? cfg->days : (size_t)(KS_USEC_PER_DAY / step);
    if (roll < 3)
        roll = 3;
    if (roll > 1024)
        roll = 1024;
    size_t spread_win = (size_t)(((int64_t)cfg->days * KS_USEC_PER_DAY) / step);
    if (spread_win < 8)
        spread_win = 8;
    if (spread_win > SPREAD_MAX)
        spread_win = SPREAD_MAX;
    size_t spread_min = spread_win / 4 > 8 ? spread_win / 4 : 8;
    size_t recalc = spread_win / 24 ? spread_win / 24 : 1;
    size_t hist_max = cfg->weeks > cfg->days ? cfg->weeks : cfg->days;
    if (hist_max < roll)
        hist_max = roll;

    res = malloc(len * sizeof *res);
    tmp = malloc((hist_max > spread_win ? hist_max : spread_win) * sizeof *tmp);
    if (!res || !tmp) {
        rc = KS_ENOMEM;
        goto out;
    }

    struct run r = {cfg, fn, user, st, report_from, report_to, {0}};
    double sigma = NAN;
    size_t since_recalc = recalc;
    for (size_t i = 0; i < len; i++) {
        c[i] = x[i];
        res[i] = NAN;
        if (isnan(x[i]))
            st->missing++;
        /* The expected value from the cleaned history. */
        double expected = NAN;
        const char *method = NULL;
        size_t m = 0;
        if (week) {
            for (size_t j = 1; j <= cfg->weeks && j * week <= i; j++)
                if (!isnan(c[i - j * week]))
                    tmp[m++] = c[i - j * week];
            if (m >= 2) {
                expected = median(tmp, m);
                method = "weekly-median";
            }
        }
        /* The daily median ignores the weekly cycle (weekends would look like drops): it is
         * used only for series too short to ever get a weekly baseline. */
        if (!method && day && (!week || len < 3 * week)) {
            m = 0;
            for (size_t j = 1; j <= cfg->days && j * day <= i; j++)
                if (!isnan(c[i - j * day]))
                    tmp[m++] = c[i - j * day];
            if (m >= 3) {
                expected = median(tmp, m);
                method = "daily-median";
            }
        }
        if (!method && !day && (!week || len < 3 * week)) {
            m = 0;
            for (size_t j = 1; j <= roll && j <= i; j++)
                if (!isnan(c[i - j]))
                    tmp[m++] = c[i - j];
            if (m >= 3) {
                expected = median(tmp, m);
                method = "rolling-median";
            }
        }
        /* The spread of the recent residuals, recomputed every `recalc` buckets. */
        if (++since_recalc >= recalc) {
            since_recalc = 0;
            size_t k = 0;
            for (size_t j = 1; j <= spread_win && j <= i; j++)
                if (!isnan(res[i - j]))
                    tmp[k++] = res[i - j];
            if (k >= spread_min) {
                double med = median(tmp, k);
                for (size_t j = 0; j < k; j++)
                    tmp[j] = fabs(tmp[j] - med);
                sigma = MAD_TO_SIGMA * median(tmp, k);
            } else {
                sigma = NAN;
            }
        }
        if (isnan(x[i])) {
            close_alert(&r, false);
            continue;
        }
        if (!method || isnan(sigma)) {
            st->warmup++;
            if (method)
                res[i] = x[i] - expected;
            close_alert(&r, false);
            continue;
        }
        double dev = x[i] - expected;
        double s = sigma;
        if (s < cfg->rel_floor * fabs(expected))
            s = cfg->rel_floor * fabs(expected);
        if (s < cfg->abs_floor)
            s = cfg->abs_floor;
        if (cfg->count_floor && s < sqrt(fabs(expected)))
            s = sqrt(fabs(expected));
        double z = dev / s;
        bool anomalous = fabs(z) > cfg->k && fabs(dev) >= cfg->min_rel * fabs(expected);
        if (!anomalous) {
            res[i] = dev;
            close_alert(&r, false);
            continue;
        }
        st->anomalous++;
        c[i] = expected; /* the history learns the expected value, not the anomaly */
        int dir = dev < 0 ? KS_ANOMALY_DROP : KS_ANOMALY_SPIKE;
        int64_t ts = t0 + (int64_t)i * step;
        if (r.cur.on && (r.cur.a.dir != dir || r.cur.last + 1 != i))
            close_alert(&r, false);
        if (!r.cur.on) {
            memset(&r.cur, 0, sizeof r.cur);
            r.cur.on = true;
            r.cur.a.sensor = sensor ? sensor : "";
            r.cur.a.metric = metric ? metric : "";
            r.cur.a.key = key ? key : "";
            r.cur.a.dir = dir;
            r.cur.a.start = ts;
            r.cur.a.step_us = step;
        }
        struct ks_anomaly_alert *a = &r.cur.a;
        r.cur.last = i;
        a->end = ts;
        a->points++;
        a->observed += x[i];
        a->expected += expected;
        if (fabs(z) > r.cur.peak_abs_z) {
            r.cur.peak_abs_z = fabs(z);
            a->peak_ts = ts;
            a->peak_value = x[i];
            a->peak_expected = expected;
            a->score = z;
            a->method = method;
        }
    }
    close_alert(&r, r.cur.on && r.cur.last == len - 1);

out:
    free(p);
    free(x);
    free(c);
    free(res);
    free(tmp);
    return rc;
}

int ks_anomaly_detect(const struct ks_anomaly_config *cfg, const char *sensor, const char *metric,
                      const char *key, const struct ks_anomaly_point *pts, size_t n,
                      ks_anomaly_fn fn, void *user, struct ks_anomaly_stats *st)
{
    return anomaly_detect_range(cfg, sensor, metric, key, pts, n, INT64_MIN, INT64_MAX, fn, user,
                                st);
}
