/* Unit tests of the anomaly detector: synthetic series with daily and weekly seasonality. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kansoku/ks_anomaly.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

#define H KS_USEC_PER_HOUR
#define DAYS 56
#define T0 INT64_C(1212278400000000) /* 2008-06-01T00:00:00Z, a Sunday */

struct got {
    struct ks_anomaly_alert a[64];
    char metric[64][32];
    size_t n;
};

static void collect(void *user, const struct ks_anomaly_alert *a)
{
    struct got *g = user;
    if (g->n < 64) {
        g->a[g->n] = *a;
        snprintf(g->metric[g->n], sizeof g->metric[0], "%s", a->metric);
        g->a[g->n].sensor = g->a[g->n].key = "";
        g->a[g->n].metric = g->metric[g->n];
        g->n++;
    }
}

static uint64_t lcg = 1;
static double noise(void)
{
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) / 9007199254740992.0 - 0.5; /* -0.5 .. 0.5 */
}

/* Hourly traffic: a daily cycle, weekends at 70 %, 3 % noise. */
static double base_value(size_t i)
{
    size_t day = i / 24, hour = i % 24;
    double v = 1000.0 * (1.0 + 0.5 * sin(2 * M_PI * ((double)hour - 9.0) / 24.0));
    if (day % 7 == 0 || day % 7 == 6)
        v *= 0.7;
    return v;
}

static struct ks_anomaly_point *weekly_series(size_t *n)
{
    lcg = 42;
    *n = DAYS * 24;
    struct ks_anomaly_point *p = calloc(*n, sizeof *p);
    for (size_t i = 0; i < *n; i++) {
        p[i].ts = T0 + (int64_t)i * H;
        p[i].value = base_value(i) * (1.0 + 0.06 * noise());
    }
    return p;
}

#define DROP_FROM (40 * 24 + 10)
#define DROP_TO (40 * 24 + 16) /* excluded */
#define SPIKE_AT (47 * 24 + 3)

static void weekly_series_with_drop_and_spike_gives_both(void **state)
{
    (void)state;
    size_t n;
    struct ks_anomaly_point *p = weekly_series(&n);
    for (size_t i = DROP_FROM; i < DROP_TO; i++)
        p[i].value *= 0.5;
    p[SPIKE_AT].value *= 3.0;
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    struct ks_anomaly_stats st = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, n, collect, &g, &st), KS_OK);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.a[0].dir, KS_ANOMALY_DROP);
    assert_true(g.a[0].start == T0 + DROP_FROM * H);
    assert_true(g.a[0].end == T0 + (DROP_TO - 1) * H);
    assert_int_equal(g.a[0].points, DROP_TO - DROP_FROM);
    assert_true(fabs(g.a[0].duration_s - 6 * 3600.0) < 1e-6);
    assert_true(g.a[0].rel_change < -0.4 && g.a[0].rel_change > -0.6);
    assert_true(g.a[0].abs_change < 0);
    assert_string_equal(g.a[0].method, "weekly-median");
    assert_int_equal(g.a[1].dir, KS_ANOMALY_SPIKE);
    assert_true(g.a[1].start == T0 + SPIKE_AT * H);
    assert_int_equal(g.a[1].points, 1);
    assert_true(g.a[1].rel_change > 1.5);
    assert_true(g.a[1].score > cfg.k);
    assert_false(g.a[1].open);
    assert_int_equal(st.series, 1);
    assert_int_equal(st.alerts, 2);
    free(p);
}

static void clean_weekly_series_gives_no_alert(void **state)
{
    (void)state;
    size_t n;
    struct ks_anomaly_point *p = weekly_series(&n);
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, n, collect, &g, NULL), KS_OK);
    assert_int_equal(g.n, 0);
    free(p);
}

static void long_drop_does_not_become_the_baseline(void **state)
{
    (void)state;
    size_t n;
    struct ks_anomaly_point *p = weekly_series(&n);
    /* Three whole days at 55 %: every bucket of the three days stays anomalous. */
    for (size_t i = 36 * 24; i < 39 * 24; i++)
        p[i].value *= 0.55;
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, n, collect, &g, NULL), KS_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].dir, KS_ANOMALY_DROP);
    assert_int_equal(g.a[0].points, 72);
    free(p);
}

static void gaps_are_counted_and_end_alerts(void **state)
{
    (void)state;
    size_t n;
    struct ks_anomaly_point *p = weekly_series(&n);
    /* Remove 10 hours (a gap) inside a drop: two alerts, gap counted, not an alert itself. */
    for (size_t i = DROP_FROM; i < DROP_FROM + 30; i++)
        p[i].value *= 0.4;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (i < DROP_FROM + 10 || i >= DROP_FROM + 20)
            p[m++] = p[i];
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    struct ks_anomaly_stats st = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, m, collect, &g, &st), KS_OK);
    assert_int_equal(st.missing, 10);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.a[0].points, 10);
    assert_int_equal(g.a[1].points, 10);
    free(p);
}

static void nan_and_infinite_values_are_counted_and_skipped(void **state)
{
    (void)state;
    size_t n;
    struct ks_anomaly_point *p = weekly_series(&n);
    p[500].value = NAN;
    p[600].value = INFINITY;
    p[700].value = -INFINITY;
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    struct ks_anomaly_stats st = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, n, collect, &g, &st), KS_OK);
    assert_int_equal(st.bad_values, 3);
    assert_int_equal(st.missing, 3);
    assert_int_equal(g.n, 0);
    free(p);
}

static void constant_zero_gives_no_alert(void **state)
{
    (void)state;
    size_t n = 30 * 24;
    struct ks_anomaly_point *p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i].ts = T0 + (int64_t)i * H;
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, n, collect, &g, NULL), KS_OK);
    assert_int_equal(g.n, 0);
    free(p);
}

static void spike_over_constant_zero_has_no_relative_change(void **state)
{
    (void)state;
    size_t n = 30 * 24;
    struct ks_anomaly_point *p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++)
        p[i].ts = T0 + (int64_t)i * H;
    p[25 * 24].value = 50;
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, n, collect, &g, NULL), KS_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].dir, KS_ANOMALY_SPIKE);
    assert_true(isnan(g.a[0].rel_change));
    assert_true(fabs(g.a[0].abs_change - 50) < 1e-9);
    free(p);
}

static void short_series_is_warmup_only(void **state)
{
    (void)state;
    struct ks_anomaly_point p[3] = {{T0, 1}, {T0 + H, 100}, {T0 + 2 * H, 1}};
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    struct ks_anomaly_stats st = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, 3, collect, &g, &st), KS_OK);
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, 1, collect, &g, &st), KS_OK);
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", NULL, 0, collect, &g, &st), KS_OK);
    assert_int_equal(g.n, 0);
    assert_int_equal(st.series, 3);
    assert_int_equal(st.warmup, 4);
}

static void bad_config_is_refused(void **state)
{
    (void)state;
    struct ks_anomaly_point p[1] = {{T0, 1}};
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    cfg.k = 0;
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, 1, collect, NULL, NULL), KS_EINVAL);
    ks_anomaly_config_default(&cfg);
    cfg.abs_floor = NAN;
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, 1, collect, NULL, NULL), KS_EINVAL);
}

static void unordered_and_duplicate_points_are_sorted_and_summed(void **state)
{
    (void)state;
    size_t n;
    struct ks_anomaly_point *p = weekly_series(&n);
    p[SPIKE_AT].value *= 3.0;
    /* Split every value in two halves and shuffle by reversing. */
    struct ks_anomaly_point *q = calloc(2 * n, sizeof *q);
    for (size_t i = 0; i < n; i++) {
        q[2 * (n - 1 - i)] = (struct ks_anomaly_point){p[i].ts, p[i].value / 2};
        q[2 * (n - 1 - i) + 1] = (struct ks_anomaly_point){p[i].ts, p[i].value / 2};
    }
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", q, 2 * n, collect, &g, NULL), KS_OK);
    assert_int_equal(g.n, 1);
    assert_true(g.a[0].start == T0 + SPIKE_AT * H);
    free(p);
    free(q);
}

static void daily_series_uses_the_weekly_median(void **state)
{
    (void)state;
    /* One value a day for 12 weeks, weekends lower; a drop on day 60. */
    struct ks_anomaly_point p[84];
    lcg = 7;
    for (int d = 0; d < 84; d++) {
        p[d].ts = T0 + d * KS_USEC_PER_DAY;
        p[d].value = (d % 7 == 0 || d % 7 == 6 ? 600.0 : 1000.0) * (1 + 0.04 * noise());
    }
    p[60].value *= 0.3;
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct got g = {0};
    assert_int_equal(ks_anomaly_detect(&cfg, "s", "m", "", p, 84, collect, &g, NULL), KS_OK);
    assert_int_equal(g.n, 1);
    assert_true(g.a[0].start == T0 + 60 * KS_USEC_PER_DAY);
    assert_int_equal(g.a[0].dir, KS_ANOMALY_DROP);
}

/* The store: series rows in, the drop found by the scan, the alert stored and read back. */
static int count_row(void *user, size_t ncols, const char *const *names,
                     const struct ks_store_value *v)
{
    (void)ncols;
    (void)names;
    *(int64_t *)user = v[0].v.i64;
    return 0;
}

static void scan_reads_series_and_alerts_are_stored(void **state)
{
    (void)state;
    char dir[] = "/tmp/ks-anomaly-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[64];
    snprintf(db, sizeof db, "%s/a.db", dir);
    struct ks_store *s = NULL;
    assert_int_equal(ks_store_open(db, NULL, &s), KS_OK);
    struct ks_store_input in = {.sha256 = "", .size = 1, .name = "t", .kind = "test"};
    memset(in.sha256, 'a', 64);
    struct ks_ingest *ing = NULL;
    assert_int_equal(ks_store_input_begin(s, &in, 0, &ing), KS_OK);
    size_t n;
    struct ks_anomaly_point *p = weekly_series(&n);
    for (size_t i = DROP_FROM; i < DROP_TO; i++)
        p[i].value *= 0.5;
    for (size_t i = 0; i < n; i++) {
        ks_store_row_begin(ing, KS_TBL_SERIES);
        ks_store_put_time(ing, p[i].ts);
        ks_store_put_text(ing, "link", 4);
        ks_store_put_text(ing, "traffic_mbps", 12);
        ks_store_put_text(ing, "total", 5);
        ks_store_put_f64(ing, p[i].value);
        assert_int_equal(ks_store_row_end(ing), KS_OK);
    }
    assert_int_equal(ks_store_input_end(ing, true), KS_OK);

    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct ks_anomaly_query q = {.metric = "traffic_*",
                                 .from = T0 + 35 * KS_USEC_PER_DAY,
                                 .to = T0 + DAYS * KS_USEC_PER_DAY};
    struct got g = {0};
    assert_int_equal(ks_anomaly_scan(s, &cfg, &q, collect, &g, NULL), KS_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.a[0].metric, "traffic_mbps");
    assert_true(g.a[0].start == T0 + DROP_FROM * H);
    /* Outside the period: nothing. */
    struct ks_anomaly_query q2 = {.metric = "traffic_mbps",
                                  .from = T0 + 50 * KS_USEC_PER_DAY,
                                  .to = T0 + DAYS * KS_USEC_PER_DAY};
    struct got g2 = {0};
    assert_int_equal(ks_anomaly_scan(s, &cfg, &q2, collect, &g2, NULL), KS_OK);
    assert_int_equal(g2.n, 0);

    memset(in.sha256, 'b', 64);
    assert_int_equal(ks_store_input_begin(s, &in, 0, &ing), KS_OK);
    g.a[0].sensor = "link";
    g.a[0].key = "total";
    assert_int_equal(ks_anomaly_store_alert(ing, &g.a[0]), KS_OK);
    assert_int_equal(ks_store_input_end(ing, true), KS_OK);
    int64_t ts = 0;
    assert_int_equal(ks_store_query(s, "SELECT ts FROM anomalies WHERE direction = 'drop'", NULL, 0,
                                    count_row, &ts),
                     KS_OK);
    assert_true(ts == T0 + DROP_FROM * H);
    ks_store_close(s);
    free(p);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void named_series_are_listed(void **state)
{
    (void)state;
    size_t i = 0;
    while (ks_anomaly_named(i))
        i++;
    assert_true(i >= 5);
    assert_string_equal(ks_anomaly_named(0), "ddos.attacks");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(weekly_series_with_drop_and_spike_gives_both),
        cmocka_unit_test(clean_weekly_series_gives_no_alert),
        cmocka_unit_test(long_drop_does_not_become_the_baseline),
        cmocka_unit_test(gaps_are_counted_and_end_alerts),
        cmocka_unit_test(nan_and_infinite_values_are_counted_and_skipped),
        cmocka_unit_test(constant_zero_gives_no_alert),
        cmocka_unit_test(spike_over_constant_zero_has_no_relative_change),
        cmocka_unit_test(short_series_is_warmup_only),
        cmocka_unit_test(bad_config_is_refused),
        cmocka_unit_test(unordered_and_duplicate_points_are_sorted_and_summed),
        cmocka_unit_test(daily_series_uses_the_weekly_median),
        cmocka_unit_test(scan_reads_series_and_alerts_are_stored),
        cmocka_unit_test(named_series_are_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
