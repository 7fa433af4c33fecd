/* anomaly: internal interface between the detector and the store scan. */
#ifndef KS_ANOMALY_INT_H
#define KS_ANOMALY_INT_H

#include "kansoku/ks_anomaly.h"

/* ks_anomaly_detect, reporting only the alerts that overlap [report_from, report_to). */
int anomaly_detect_range(const struct ks_anomaly_config *cfg, const char *sensor,
                         const char *metric, const char *key, const struct ks_anomaly_point *pts,
                         size_t n, int64_t report_from, int64_t report_to, ks_anomaly_fn fn,
                         void *user, struct ks_anomaly_stats *st);

#endif
