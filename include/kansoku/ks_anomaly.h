/* kansoku anomaly: drops and spikes of time series against a seasonal baseline.
 *
 * Model (src/anomaly/README.md explains the choice). A series is put on a regular grid of
 * `step` seconds (the most common spacing of its timestamps unless configured). The expected
 * value of a bucket is a robust seasonal median over the past only: the median of the same
 * hour-of-week in the previous `weeks` weeks once two are known. A series too short to ever
 * have two weeks of history uses the same hour-of-day in the previous `days` days (at least
 * three), and one with no daily period (a coarse step) the previous buckets; otherwise the first
 * two weeks are warm-up (a daily median would take every weekend for a drop). The spread is
 * the median absolute deviation (MAD, x1.4826) of the residuals over the previous `days` days,
 * floored by rel_floor x expected, by abs_floor and by sqrt(expected) (the noise of counts).
 * A bucket is anomalous when its residual is more than k spreads AND more than min_rel of the
 * expected value. Anomalous buckets are replaced by their expected value in the history (so
 * that a long drop does not become its own baseline), and consecutive anomalous buckets of
 * the same direction make one alert.
 *
 * Bad input: missing buckets (gaps), NaN and infinities are counted and treated as missing;
 * a missing bucket ends an alert; nothing is learnt from it. A constant series (zero included)
 * has a MAD of 0 and is judged against the floors only, so it never alerts by itself.
 *
 * Memory: O(points of one series), bounded by max_points (the latest are kept, the rest
 * counted). No state between calls; thread-safe. */
#ifndef KS_ANOMALY_H
#define KS_ANOMALY_H

#include "kansoku/ks_core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ks_anomaly_config {
    uint32_t step_s;     /* grid step in seconds; 0 = the most common spacing (default 0) */
    uint32_t weeks;      /* weeks of history for the weekly median (default 4) */
    uint32_t days;       /* days of history for the daily median and the MAD (default 7) */
    double k;            /* spreads (robust standard deviations) to alert (default 4) */
    double min_rel;      /* and at least this relative change (default 0.2) */
    double rel_floor;    /* the spread is at least rel_floor x expected (default 0.05) */
    double abs_floor;    /* ... and at least this, in the series' unit (default 1) */
    bool count_floor;    /* ... and at least sqrt(expected), the Poisson noise of counts
                            (default on) */
    uint32_t min_points; /* buckets an alert needs (default 1) */
    bool fill_zero;      /* missing buckets are 0, not gaps (counts of events; default off) */
    uint32_t max_points; /* grid size per series (default 1048576) */
};
KS_API void ks_anomaly_config_default(struct ks_anomaly_config *cfg);

struct ks_anomaly_point {
    int64_t ts; /* µs UTC; points may come in any order; equal timestamps are summed */
    double value;
};

enum ks_anomaly_dir { KS_ANOMALY_DROP = 0, KS_ANOMALY_SPIKE = 1 };
/* "drop" / "spike" */
KS_API const char *ks_anomaly_dir_name(int dir);

/* One alert. Strings are borrowed for the callback's duration. */
struct ks_anomaly_alert {
    const char *sensor, *metric, *key; /* as given to ks_anomaly_detect ("" if NULL) */
    int dir;                           /* enum ks_anomaly_dir */
    int64_t start, end;                /* first and last anomalous bucket (bucket start) */
    int64_t step_us;                   /* the grid step */
    double duration_s;                 /* (end - start) + step */
    uint32_t points;                   /* anomalous buckets */
    double observed, expected;         /* sums over the buckets */
    double abs_change;                 /* observed - expected */
    double rel_change;                 /* observed / expected - 1; NaN when expected is 0 */
    int64_t peak_ts;                   /* the bucket with the largest |residual| / spread */
    double peak_value, peak_expected;
    double score;       /* that bucket's residual in spreads (signed) */
    bool open;          /* the alert runs to the last bucket of the series */
    const char *method; /* "weekly-median", "daily-median" or "rolling-median" (at the peak) */
};

struct ks_anomaly_stats {
    uint64_t series;     /* series examined */
    uint64_t points;     /* points given */
    uint64_t buckets;    /* grid buckets */
    uint64_t missing;    /* buckets with no point (gaps) */
    uint64_t bad_values; /* NaN or infinite values (treated as missing) */
    uint64_t truncated;  /* points before the max_points window, dropped */
    uint64_t warmup;     /* buckets without enough history to judge */
    uint64_t anomalous;  /* buckets judged anomalous */
    uint64_t alerts;
};

typedef void (*ks_anomaly_fn)(void *user, const struct ks_anomaly_alert *a);

/* Judges one series. pts is not modified; the callback gets each alert in time order.
 * KS_OK, KS_EINVAL (bad config), KS_ENOMEM. stats (may be NULL) are added to, not reset. */
KS_API int ks_anomaly_detect(const struct ks_anomaly_config *cfg, const char *sensor,
                             const char *metric, const char *key,
                             const struct ks_anomaly_point *pts, size_t n, ks_anomaly_fn fn,
                             void *user, struct ks_anomaly_stats *st);

/* --- series from the store ---------------------------------------------------------------- */

struct ks_store;
struct ks_ingest;

/* Named series computed from analyzers' tables (besides every metric of `series`):
 *   ddos.attacks        attacks started per hour, key = class         (ddos_attacks)
 *   darknet.packets     packets per day per sensor                    (darknet_days)
 *   darknet.sources     distinct scanning sources per day per sensor  (darknet_days)
 *   mail.messages       messages per hour, key = verdict              (mail_messages)
 *   honeypot.sessions   sessions per hour per sensor, key = proto     (honeypot_sessions)
 *   sqli.detections     detections per hour, key = signature          (sqli_detections)
 * Counts of events have zeros where nothing happened (fill_zero). Returns the name of named
 * series i, NULL past the last. */
KS_API const char *ks_anomaly_named(size_t i);

struct ks_anomaly_query {
    const char *metric; /* NULL: every metric; a name of `series`, a named series, or a
                           pattern with '*' over metric names of `series` */
    const char *sensor; /* NULL: every sensor */
    int64_t from, to;   /* buckets in [from, to); 0 / INT64_MAX: all. Alerts are reported in
                           this range; the history before `from` (weeks + 1) is read too */
};

/* Reads every matching series from the store (complete inputs only), judges each and calls fn
 * for its alerts. KS_OK, KS_ESTORE (message in ks_store_errmsg), KS_ENOMEM, KS_EINVAL. */
KS_API int ks_anomaly_scan(struct ks_store *s, const struct ks_anomaly_config *cfg,
                           const struct ks_anomaly_query *q, ks_anomaly_fn fn, void *user,
                           struct ks_anomaly_stats *st);

/* Writes one alert as a row of `anomalies` (schema v12). Returns ks_store_row_end's code. */
KS_API int ks_anomaly_store_alert(struct ks_ingest *ing, const struct ks_anomaly_alert *a);

#endif
