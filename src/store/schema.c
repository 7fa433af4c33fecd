/* The schema of kansoku's store, the single place where tables are declared.
 *
 * To change the schema: append a version to `versions` (and bump KS_STORE_SCHEMA_VERSION in
 * ks_store.h), then add tables/columns/indexes with `since` set to it. Never edit what an
 * older version created: databases in the field were made by it. Columns added to an
 * existing table must be KS_COL_NULLABLE (SQLite's ALTER TABLE ADD COLUMN needs a default). */
#include "schema.h"

#include <string.h>

static const struct ks_store_column inputs_cols[] = {
    {"id", KS_TYPE_I64, KS_COL_PK, 1},
    {"sha256", KS_TYPE_TEXT, 0, 1},
    {"size", KS_TYPE_I64, 0, 1},
    {"name", KS_TYPE_TEXT, 0, 1},
    {"kind", KS_TYPE_TEXT, 0, 1},
    {"started", KS_TYPE_TIME, 0, 1},
    {"finished", KS_TYPE_TIME, KS_COL_NULLABLE, 1},
    {"status", KS_TYPE_TEXT, 0, 1},
    {"rows", KS_TYPE_I64, 0, 1},
};

static const struct ks_store_column series_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 1},  {"sensor", KS_TYPE_TEXT, 0, 1}, {"metric", KS_TYPE_TEXT, 0, 1},
    {"key", KS_TYPE_TEXT, 0, 1}, {"value", KS_TYPE_F64, 0, 1},
};

/* v2: the sample registry (src/samples/README.md) and the honeypot (src/honeypot/README.md). */
static const struct ks_store_column sample_events_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 2},          {"source", KS_TYPE_ADDR, KS_COL_NULLABLE, 2},
    {"country", KS_TYPE_TEXT, 0, 2},     {"asn", KS_TYPE_I64, 0, 2},
    {"via", KS_TYPE_TEXT, 0, 2},         {"sha256", KS_TYPE_TEXT, 0, 2},
    {"name", KS_TYPE_TEXT, 0, 2},
};

static const struct ks_store_column samples_cols[] = {
    {"sha256", KS_TYPE_TEXT, 0, 2},     {"md5", KS_TYPE_TEXT, 0, 2},
    {"sha1", KS_TYPE_TEXT, 0, 2},       {"md6", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
    {"ssdeep", KS_TYPE_TEXT, KS_COL_NULLABLE, 2}, {"tlsh", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
    {"size", KS_TYPE_I64, 0, 2},        {"type", KS_TYPE_TEXT, 0, 2},
    {"mime", KS_TYPE_TEXT, 0, 2},       {"entropy", KS_TYPE_F64, 0, 2},
    {"packer", KS_TYPE_TEXT, KS_COL_NULLABLE, 2}, {"tags", KS_TYPE_TEXT, 0, 2},
    {"av", KS_TYPE_TEXT, KS_COL_NULLABLE, 2}, {"rules", KS_TYPE_TEXT, 0, 2},
    {"first_seen", KS_TYPE_TIME, 0, 2}, {"path", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
};

static const struct ks_store_column sample_iocs_cols[] = {
    {"sha256", KS_TYPE_TEXT, 0, 2}, {"kind", KS_TYPE_TEXT, 0, 2},
    {"value", KS_TYPE_TEXT, 0, 2},  {"rule", KS_TYPE_TEXT, 0, 2},
};

static const struct ks_store_column honeypot_sessions_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 2},          {"end", KS_TYPE_TIME, 0, 2},
    {"sensor", KS_TYPE_TEXT, 0, 2},      {"proto", KS_TYPE_TEXT, 0, 2},
    {"source", KS_TYPE_ADDR, 0, 2},      {"sport", KS_TYPE_I64, 0, 2},
    {"port", KS_TYPE_I64, 0, 2},         {"bytes", KS_TYPE_I64, 0, 2},
    {"reason", KS_TYPE_TEXT, 0, 2},      {"sha256", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
    {"payload", KS_TYPE_BLOB, KS_COL_NULLABLE, 2}, {"sample", KS_TYPE_TEXT, KS_COL_NULLABLE, 2},
};

/* v3: the analysts' incident log (src/incident/README.md). date is the analyst's civil date
 * (YYYY-MM-DD, no zone); category one of vulnerability, events, history, security, other. */
static const struct ks_store_column incidents_cols[] = {
    {"date", KS_TYPE_TEXT, 0, 3},     {"category", KS_TYPE_TEXT, 0, 3},
    {"title", KS_TYPE_TEXT, 0, 3},    {"note", KS_TYPE_TEXT, KS_COL_NULLABLE, 3},
};

/* v4: SPF (src/spf/README.md). spf_results: one check of received mail (ts = when the mail
 * arrived; domain = the sender's domain, or the HELO name for identity 'helo'; the local part
 * of addresses is never stored). spf_survey: one domain of a survey run (ts = the run's start). */
static const struct ks_store_column spf_results_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 4},          {"client", KS_TYPE_ADDR, KS_COL_NULLABLE, 4},
    {"identity", KS_TYPE_TEXT, 0, 4},    {"domain", KS_TYPE_TEXT, 0, 4},
    {"result", KS_TYPE_TEXT, 0, 4},      {"mechanism", KS_TYPE_TEXT, 0, 4},
    {"dns_lookups", KS_TYPE_I64, 0, 4},  {"void_lookups", KS_TYPE_I64, 0, 4},
    {"problem", KS_TYPE_TEXT, 0, 4},
};

static const struct ks_store_column spf_survey_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 4},          {"domain", KS_TYPE_TEXT, 0, 4},
    {"published", KS_TYPE_I64, 0, 4},    {"policy", KS_TYPE_TEXT, 0, 4},
    {"result", KS_TYPE_TEXT, 0, 4},      {"dns_lookups", KS_TYPE_I64, 0, 4},
    {"void_lookups", KS_TYPE_I64, 0, 4}, {"error", KS_TYPE_TEXT, 0, 4},
};

/* v5: mail (src/mail/README.md). mail_messages: one received message (ts = Date:, else the
 * first Received:); verdict spam/ham/unknown and where it came from (a filter header or
 * "label"); sender = first Received hop outside the trusted relays; url_domains = the sorted
 * registered domains of its URLs, space-separated; fuzzy = ssdeep of the body text.
 * mail_urls / mail_attachments: the message's URLs and attachments, keyed by its message_id
 * and ts. */
static const struct ks_store_column mail_messages_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 5},            {"message_id", KS_TYPE_TEXT, 0, 5},
    {"verdict", KS_TYPE_TEXT, 0, 5},       {"verdict_source", KS_TYPE_TEXT, 0, 5},
    {"score", KS_TYPE_F64, KS_COL_NULLABLE, 5}, {"sender", KS_TYPE_ADDR, KS_COL_NULLABLE, 5},
    {"helo", KS_TYPE_TEXT, 0, 5},          {"country", KS_TYPE_TEXT, 0, 5},
    {"asn", KS_TYPE_I64, 0, 5},            {"subject", KS_TYPE_TEXT, 0, 5},
    {"subject_key", KS_TYPE_TEXT, 0, 5},   {"url_domains", KS_TYPE_TEXT, 0, 5},
    {"urls", KS_TYPE_I64, 0, 5},           {"attachments", KS_TYPE_I64, 0, 5},
    {"fuzzy", KS_TYPE_TEXT, KS_COL_NULLABLE, 5}, {"spf", KS_TYPE_TEXT, 0, 5},
    {"size", KS_TYPE_I64, 0, 5},           {"problems", KS_TYPE_I64, 0, 5},
    {"time_source", KS_TYPE_TEXT, 0, 5},
};

static const struct ks_store_column mail_urls_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 5},      {"message_id", KS_TYPE_TEXT, 0, 5},
    {"url", KS_TYPE_TEXT, 0, 5},     {"found_in", KS_TYPE_TEXT, 0, 5},
    {"domain", KS_TYPE_TEXT, 0, 5},  {"flags", KS_TYPE_I64, 0, 5},
    {"shown", KS_TYPE_TEXT, 0, 5},
};

static const struct ks_store_column mail_attachments_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 5},      {"message_id", KS_TYPE_TEXT, 0, 5},
    {"name", KS_TYPE_TEXT, 0, 5},    {"mime", KS_TYPE_TEXT, 0, 5},
    {"magic", KS_TYPE_TEXT, 0, 5},   {"sha256", KS_TYPE_TEXT, 0, 5},
    {"md5", KS_TYPE_TEXT, 0, 5},     {"size", KS_TYPE_I64, 0, 5},
    {"flags", KS_TYPE_I64, 0, 5},    {"members", KS_TYPE_TEXT, 0, 5},
    /* v10: the antivirus verdict (ClamAV signature name, "clean"; NULL: not scanned) and the
     * class for the spam-to-malware shares (malware, undetected, suspicious, other) */
    {"av", KS_TYPE_TEXT, KS_COL_NULLABLE, 10}, {"category", KS_TYPE_TEXT, KS_COL_NULLABLE, 10},
};

/* ddos_attacks: one row per attack; `attack` numbers it within its input, and ddos_timeline
 * rows (one per second, coarser past 3600 entries: `seconds`) refer to it by (input_id,
 * attack). vectors: comma-separated names (src/ddos/README.md); top_sources / top_ports: JSON
 * arrays as in `kansoku ddos detect --json`. */
static const struct ks_store_column ddos_attacks_cols[] = {
    {"attack", KS_TYPE_I64, 0, 6},
    {"target", KS_TYPE_ADDR, 0, 6},
    {"target_len", KS_TYPE_I64, 0, 6},
    {"start_ts", KS_TYPE_TIME, 0, 6},
    {"end_ts", KS_TYPE_TIME, 0, 6},
    {"duration_s", KS_TYPE_F64, 0, 6},
    {"class", KS_TYPE_TEXT, 0, 6},
    {"vectors", KS_TYPE_TEXT, 0, 6},
    {"main_vector", KS_TYPE_TEXT, KS_COL_NULLABLE, 6},
    {"peak_pps", KS_TYPE_U64, 0, 6},
    {"peak_bps", KS_TYPE_U64, 0, 6},
    {"packets", KS_TYPE_U64, 0, 6},
    {"bytes", KS_TYPE_U64, 0, 6},
    {"sources", KS_TYPE_F64, 0, 6},
    {"dispersion", KS_TYPE_TEXT, 0, 6},
    {"top1_share", KS_TYPE_F64, 0, 6},
    {"top10_share", KS_TYPE_F64, 0, 6},
    {"top_sources", KS_TYPE_TEXT, 0, 6},
    {"top_ports", KS_TYPE_TEXT, 0, 6},
    {"open", KS_TYPE_I64, 0, 6},
};

static const struct ks_store_column ddos_timeline_cols[] = {
    {"attack", KS_TYPE_I64, 0, 6},
    {"ts", KS_TYPE_TIME, 0, 6},
    {"seconds", KS_TYPE_I64, 0, 6},
    {"packets", KS_TYPE_U64, 0, 6},
    {"bytes", KS_TYPE_U64, 0, 6},
    {"vectors", KS_TYPE_TEXT, 0, 6},
    {"main_vector", KS_TYPE_TEXT, KS_COL_NULLABLE, 6},
};

/* v7: darknet statistics (src/darknet/README.md). darknet_cells: one day x kind x protocol x
 * port of one sensor (ts = the day's start; kind 'scan' or 'backscatter'; port = ICMP type for
 * ICMP; sketch = the serialised HyperLogLog of the source addresses, NULL when none was free).
 * darknet_days: a sensor's day (monitored = addresses watched, for averages per sensor).
 * darknet_sources: the day's distributions: dim 'country' (key CC), 'as' (key ASn, name the
 * organisation), 'talker' or 'victim' (key an address; error = space-saving bound). */
static const struct ks_store_column darknet_cells_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 7},      {"sensor", KS_TYPE_TEXT, 0, 7},
    {"kind", KS_TYPE_TEXT, 0, 7},    {"proto", KS_TYPE_I64, 0, 7},
    {"port", KS_TYPE_I64, 0, 7},     {"packets", KS_TYPE_I64, 0, 7},
    {"bytes", KS_TYPE_I64, 0, 7},    {"sources", KS_TYPE_F64, 0, 7},
    {"sketch", KS_TYPE_BLOB, KS_COL_NULLABLE, 7},
};

static const struct ks_store_column darknet_days_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 7},          {"sensor", KS_TYPE_TEXT, 0, 7},
    {"monitored", KS_TYPE_I64, 0, 7},    {"packets", KS_TYPE_I64, 0, 7},
    {"scan_packets", KS_TYPE_I64, 0, 7}, {"backscatter_packets", KS_TYPE_I64, 0, 7},
    {"sources", KS_TYPE_F64, 0, 7},      {"backscatter_sources", KS_TYPE_F64, 0, 7},
    {"domestic_sources", KS_TYPE_I64, 0, 7}, {"dropped", KS_TYPE_I64, 0, 7},
};

static const struct ks_store_column darknet_sources_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 7},    {"sensor", KS_TYPE_TEXT, 0, 7},
    {"dim", KS_TYPE_TEXT, 0, 7},   {"key", KS_TYPE_TEXT, 0, 7},
    {"name", KS_TYPE_TEXT, 0, 7},  {"sources", KS_TYPE_I64, 0, 7},
    {"packets", KS_TYPE_I64, 0, 7}, {"error", KS_TYPE_I64, 0, 7},
};

/* v8: SQL-injection detections (src/sqli/README.md): one row per (request parameter,
 * signature); value/original are cut at 1 KiB; span is [span_start, span_end) in value. */
static const struct ks_store_column sqli_detections_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 8},         {"source", KS_TYPE_TEXT, 0, 8},
    {"host", KS_TYPE_TEXT, 0, 8},       {"method", KS_TYPE_TEXT, 0, 8},
    {"path", KS_TYPE_TEXT, 0, 8},       {"field", KS_TYPE_TEXT, 0, 8},
    {"signature", KS_TYPE_TEXT, 0, 8},  {"value", KS_TYPE_TEXT, 0, 8},
    {"original", KS_TYPE_TEXT, 0, 8},   {"span_start", KS_TYPE_I64, 0, 8},
    {"span_end", KS_TYPE_I64, 0, 8},    {"status", KS_TYPE_I64, 0, 8},
};

/* v12: traffic anomalies (src/anomaly/README.md): one alert per drop or spike of a series
 * against its seasonal baseline; ts/end_ts = first and last anomalous bucket; observed and
 * expected are sums over the alert's buckets; rel_change NULL when the baseline is 0. */
static const struct ks_store_column anomalies_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 12},          {"end_ts", KS_TYPE_TIME, 0, 12},
    {"sensor", KS_TYPE_TEXT, 0, 12},      {"metric", KS_TYPE_TEXT, 0, 12},
    {"key", KS_TYPE_TEXT, 0, 12},         {"direction", KS_TYPE_TEXT, 0, 12},
    {"duration_s", KS_TYPE_F64, 0, 12},   {"points", KS_TYPE_I64, 0, 12},
    {"observed", KS_TYPE_F64, 0, 12},     {"expected", KS_TYPE_F64, 0, 12},
    {"abs_change", KS_TYPE_F64, 0, 12},   {"rel_change", KS_TYPE_F64, KS_COL_NULLABLE, 12},
    {"peak_ts", KS_TYPE_TIME, 0, 12},     {"peak_value", KS_TYPE_F64, 0, 12},
    {"peak_expected", KS_TYPE_F64, 0, 12}, {"score", KS_TYPE_F64, 0, 12},
    {"method", KS_TYPE_TEXT, 0, 12},      {"open", KS_TYPE_I64, 0, 12},
};

/* v12: BGP alerts (src/bgp/README.md): one row per alert, written when it clears or when the
 * input ends (open = 1). type = origin, subprefix, more_specific or moas; expected_prefix and
 * expected_origins (space-separated ASNs) are what the announcement was checked against. */
static const struct ks_store_column bgp_alerts_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 12},
    {"type", KS_TYPE_TEXT, 0, 12},
    {"prefix", KS_TYPE_ADDR, 0, 12},
    {"prefix_len", KS_TYPE_I64, 0, 12},
    {"origin_as", KS_TYPE_I64, 0, 12},
    {"expected_prefix", KS_TYPE_TEXT, 0, 12},
    {"expected_origins", KS_TYPE_TEXT, 0, 12},
    {"max_peers", KS_TYPE_I64, 0, 12},
    {"first_seen", KS_TYPE_TIME, 0, 12},
    {"last_seen", KS_TYPE_TIME, 0, 12},
    {"cleared", KS_TYPE_TIME, KS_COL_NULLABLE, 12},
    {"peer", KS_TYPE_ADDR, 0, 12},
    {"peer_as", KS_TYPE_I64, 0, 12},
    {"open", KS_TYPE_I64, 0, 12},
};

/* v10: the crawler (src/crawl/README.md): one row per fetch. chain numbers the chains of the
 * input; root = the chain's first URL (as found in the mail); parent = the page or redirect
 * that led here ('' for the root); link = how (root, http-redirect, refresh, frame, script,
 * js-redirect, download-link); kind = page, redirect, download, executable or error; address
 * = the address actually connected to (NULL when none); error = '' or why it failed. */
static const struct ks_store_column crawl_fetches_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 10},          {"chain", KS_TYPE_I64, 0, 10},
    {"root", KS_TYPE_TEXT, 0, 10},        {"url", KS_TYPE_TEXT, 0, 10},
    {"parent", KS_TYPE_TEXT, 0, 10},      {"link", KS_TYPE_TEXT, 0, 10},
    {"depth", KS_TYPE_I64, 0, 10},        {"message_id", KS_TYPE_TEXT, 0, 10},
    {"status", KS_TYPE_I64, 0, 10},       {"address", KS_TYPE_ADDR, KS_COL_NULLABLE, 10},
    {"content_type", KS_TYPE_TEXT, 0, 10}, {"size", KS_TYPE_I64, 0, 10},
    {"sha256", KS_TYPE_TEXT, 0, 10},      {"kind", KS_TYPE_TEXT, 0, 10},
    {"error", KS_TYPE_TEXT, 0, 10},       {"ms", KS_TYPE_I64, 0, 10},
};

/* v11: DNS (src/dns/README.md). dns_resolver_audits: one querier of a capture (ts/end_ts =
 * its first and last query; role 'resolver' or 'stub'; *_sd population standard deviations,
 * *_bits = log2(sd * sqrt 12), *_bias = max per-bit bias; grades GREAT/GOOD/POOR, NULL when
 * not graded). dns_poisoning_alerts: one episode of unmatched responses for a zone (sources,
 * resolvers and forged are JSON arrays). */
static const struct ks_store_column dns_resolver_audits_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 11},           {"end_ts", KS_TYPE_TIME, 0, 11},
    {"resolver", KS_TYPE_ADDR, 0, 11},     {"role", KS_TYPE_TEXT, 0, 11},
    {"queries", KS_TYPE_I64, 0, 11},       {"upstream", KS_TYPE_I64, 0, 11},
    {"recursive", KS_TYPE_I64, 0, 11},     {"servers", KS_TYPE_I64, 0, 11},
    {"port_distinct", KS_TYPE_I64, 0, 11}, {"port_sd", KS_TYPE_F64, 0, 11},
    {"port_bits", KS_TYPE_F64, 0, 11},     {"port_bias", KS_TYPE_F64, 0, 11},
    {"port_grade", KS_TYPE_TEXT, KS_COL_NULLABLE, 11},
    {"txid_distinct", KS_TYPE_I64, 0, 11}, {"txid_sd", KS_TYPE_F64, 0, 11},
    {"txid_bits", KS_TYPE_F64, 0, 11},     {"txid_bias", KS_TYPE_F64, 0, 11},
    {"txid_grade", KS_TYPE_TEXT, KS_COL_NULLABLE, 11},
    {"case_0x20", KS_TYPE_TEXT, 0, 11},    {"upper_ratio", KS_TYPE_F64, 0, 11},
    {"grade", KS_TYPE_TEXT, KS_COL_NULLABLE, 11},
    {"note", KS_TYPE_TEXT, KS_COL_NULLABLE, 11},
};

static const struct ks_store_column dns_poisoning_alerts_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 11},           {"end_ts", KS_TYPE_TIME, 0, 11},
    {"zone", KS_TYPE_TEXT, 0, 11},         {"kind", KS_TYPE_TEXT, 0, 11},
    {"responses", KS_TYPE_I64, 0, 11},     {"peak_pps", KS_TYPE_I64, 0, 11},
    {"rate_pps", KS_TYPE_F64, 0, 11},      {"names", KS_TYPE_I64, 0, 11},
    {"txids", KS_TYPE_I64, 0, 11},         {"sources", KS_TYPE_TEXT, 0, 11},
    {"resolvers", KS_TYPE_TEXT, 0, 11},    {"forged", KS_TYPE_TEXT, 0, 11},
    {"matched", KS_TYPE_I64, 0, 11},       {"possible_success", KS_TYPE_I64, 0, 11},
    {"open", KS_TYPE_I64, 0, 11},
};

/* v13: rollups (docs/store.md "Rollups"). The store aggregates the rows of the large raw
 * tables while they are ingested (src/store/store.c) into per-minute, per-hour and per-day
 * buckets, as rows of the same input, so that a quarter's report reads thousands of rows
 * instead of millions. ts = the bucket's start (UTC); src = the rollup's name (the raw
 * table, or table:aspect); sensor, k1, k2 = its key columns as text ('' when none);
 * n = raw rows; v = the sum of its measure column (0 when none). */
static const struct ks_store_column rollup_cols[] = {
    {"ts", KS_TYPE_TIME, 0, 13}, {"src", KS_TYPE_TEXT, 0, 13}, {"sensor", KS_TYPE_TEXT, 0, 13},
    {"k1", KS_TYPE_TEXT, 0, 13}, {"k2", KS_TYPE_TEXT, 0, 13},  {"n", KS_TYPE_I64, 0, 13},
    {"v", KS_TYPE_F64, 0, 13},
};

/* What is rolled up: name, raw table, rollup table, bucket, and the raw columns that give ts,
 * sensor, k1, k2 and the measure (NULL: none). */
#define MIN_US 60000000LL
#define HOUR_US 3600000000LL
#define DAY_US 86400000000LL
#define M15_US 900000000LL
static const struct ks_store_rollup rollups[] = {
    {"series", KS_TBL_SERIES, KS_TBL_ROLLUP_1D, DAY_US, "ts", "sensor", "metric", "key", "value",
     13},
    {"honeypot_sessions", KS_TBL_HONEYPOT_SESSIONS, KS_TBL_ROLLUP_1M, MIN_US, "ts", "sensor",
     "port", "proto", "bytes", 13},
    {"honeypot_sessions", KS_TBL_HONEYPOT_SESSIONS, KS_TBL_ROLLUP_1H, HOUR_US, "ts", "sensor",
     "port", "proto", "bytes", 13},
    {"sqli_detections", KS_TBL_SQLI_DETECTIONS, KS_TBL_ROLLUP_1H, HOUR_US, "ts", NULL,
     "signature", NULL, NULL, 13},
    {"sqli_detections:source", KS_TBL_SQLI_DETECTIONS, KS_TBL_ROLLUP_1H, HOUR_US, "ts", NULL,
     "source", NULL, NULL, 13},
    {"mail_messages", KS_TBL_MAIL_MESSAGES, KS_TBL_ROLLUP_1H, HOUR_US, "ts", NULL, "verdict",
     "country", NULL, 13},
    {"mail_messages:spf", KS_TBL_MAIL_MESSAGES, KS_TBL_ROLLUP_1H, HOUR_US, "ts", NULL, "spf",
     NULL, NULL, 13},
    {"spf_results", KS_TBL_SPF_RESULTS, KS_TBL_ROLLUP_1H, HOUR_US, "ts", NULL, "identity",
     "result", NULL, 13},
    /* v14: the hourly ones per 15 minutes too (zones such as +05:30 and +05:45); the sources
     * per UTC day and per hour (a period is its whole UTC days plus whole hours at its ends);
     * the senders of mail by verdict (distinct senders of spam). */
    {"honeypot_sessions", KS_TBL_HONEYPOT_SESSIONS, KS_TBL_ROLLUP_15M, M15_US, "ts", "sensor",
     "port", "proto", "bytes", 14},
    {"sqli_detections", KS_TBL_SQLI_DETECTIONS, KS_TBL_ROLLUP_15M, M15_US, "ts", NULL,
     "signature", NULL, NULL, 14},
    {"mail_messages", KS_TBL_MAIL_MESSAGES, KS_TBL_ROLLUP_15M, M15_US, "ts", NULL, "verdict",
     "country", NULL, 14},
    {"mail_messages:spf", KS_TBL_MAIL_MESSAGES, KS_TBL_ROLLUP_15M, M15_US, "ts", NULL, "spf",
     NULL, NULL, 14},
    {"spf_results", KS_TBL_SPF_RESULTS, KS_TBL_ROLLUP_15M, M15_US, "ts", NULL, "identity",
     "result", NULL, 14},
    {"honeypot_sessions:source", KS_TBL_HONEYPOT_SESSIONS, KS_TBL_ROLLUP_1H, HOUR_US, "ts",
     "sensor", "source", NULL, NULL, 14},
    {"honeypot_sessions:source", KS_TBL_HONEYPOT_SESSIONS, KS_TBL_ROLLUP_1D, DAY_US, "ts",
     "sensor", "source", NULL, NULL, 14},
    /* the same over all sensors (a scanner hits every sensor: a report of all of them reads
     * one row per source instead of one per sensor and source) */
    {"honeypot_sessions:source_all", KS_TBL_HONEYPOT_SESSIONS, KS_TBL_ROLLUP_1H, HOUR_US, "ts",
     NULL, "source", NULL, NULL, 14},
    {"honeypot_sessions:source_all", KS_TBL_HONEYPOT_SESSIONS, KS_TBL_ROLLUP_1D, DAY_US, "ts",
     NULL, "source", NULL, NULL, 14},
    {"sqli_detections:source", KS_TBL_SQLI_DETECTIONS, KS_TBL_ROLLUP_1D, DAY_US, "ts", NULL,
     "source", NULL, NULL, 14},
    {"mail_messages:sender", KS_TBL_MAIL_MESSAGES, KS_TBL_ROLLUP_1H, HOUR_US, "ts", NULL,
     "verdict", "sender", NULL, 14},
    {"mail_messages:sender", KS_TBL_MAIL_MESSAGES, KS_TBL_ROLLUP_1D, DAY_US, "ts", NULL,
     "verdict", "sender", NULL, 14},
};

#define COLS(a) a, (unsigned)(sizeof a / sizeof a[0])

static const struct ks_store_table tables[KS_TBL_COUNT] = {
    [KS_TBL_ROLLUP_1M] = {"rollup_1m", COLS(rollup_cols), 0, 13,
                          "rollups per minute: honeypot sessions by sensor, port, protocol"},
    [KS_TBL_ROLLUP_1H] = {"rollup_1h", COLS(rollup_cols), 0, 13,
                          "rollups per hour: honeypot, SQLi, mail, SPF (the report reads these)"},
    [KS_TBL_ROLLUP_1D] = {"rollup_1d", COLS(rollup_cols), 0, 13,
                          "rollups per day (UTC): series; honeypot, SQLi and mail sources"},
    [KS_TBL_ROLLUP_15M] = {"rollup_15m", COLS(rollup_cols), 0, 14,
                           "rollups per 15 minutes: as rollup_1h, for zones like +05:30"},
    [KS_TBL_DNS_RESOLVER_AUDITS] = {"dns_resolver_audits", COLS(dns_resolver_audits_cols), 0, 11,
                                    "DNS queriers: port/TXID randomness, 0x20, porttest grade"},
    [KS_TBL_DNS_POISONING_ALERTS] = {"dns_poisoning_alerts", COLS(dns_poisoning_alerts_cols), 0,
                                     11, "spoofed DNS responses: zone, rate, sources, forged records"},
    [KS_TBL_INPUTS] = {"inputs", COLS(inputs_cols), KS_TABLE_SYSTEM, 1,
                       "every ingested input, by SHA-256 and size"},
    [KS_TBL_SERIES] = {"series", COLS(series_cols), 0, 1,
                       "counters per time bucket: ts, sensor, metric, key, value"},
    [KS_TBL_SAMPLE_EVENTS] = {"sample_events", COLS(sample_events_cols), 0, 2,
                              "captures of malware samples: ts, source, via, sha256"},
    [KS_TBL_SAMPLES] = {"samples", COLS(samples_cols), 0, 2,
                        "unique samples: hashes, size, type, tags, AV verdict"},
    [KS_TBL_SAMPLE_IOCS] = {"sample_iocs", COLS(sample_iocs_cols), 0, 2,
                            "C&C addresses and URLs extracted from samples"},
    [KS_TBL_HONEYPOT_SESSIONS] = {"honeypot_sessions", COLS(honeypot_sessions_cols), 0, 2,
                                  "honeypot sessions: time, source, port, bytes, payload"},
    [KS_TBL_INCIDENTS] = {"incidents", COLS(incidents_cols), 0, 3,
                          "the analysts' incident log: date, category, title, note"},
    [KS_TBL_SPF_RESULTS] = {"spf_results", COLS(spf_results_cols), 0, 4,
                            "SPF checks of received mail: ts, client, identity, domain, result"},
    [KS_TBL_SPF_SURVEY] = {"spf_survey", COLS(spf_survey_cols), 0, 4,
                           "SPF survey runs: ts, domain, published, policy, lookups, error"},
    [KS_TBL_MAIL_MESSAGES] = {"mail_messages", COLS(mail_messages_cols), 0, 5,
                              "received mail: ts, verdict, sender, country, subject key, SPF"},
    [KS_TBL_MAIL_URLS] = {"mail_urls", COLS(mail_urls_cols), 0, 5,
                          "URLs of received mail: ts, message_id, url, found_in, domain"},
    [KS_TBL_MAIL_ATTACHMENTS] = {"mail_attachments", COLS(mail_attachments_cols), 0, 5,
                                 "attachments of received mail: name, type, hashes, flags"},
    [KS_TBL_DDOS_ATTACKS] = {"ddos_attacks", COLS(ddos_attacks_cols), 0, 6,
                             "DDoS attacks: target, start_ts, end_ts, class, vectors, peaks, sources"},
    [KS_TBL_DDOS_TIMELINE] = {"ddos_timeline", COLS(ddos_timeline_cols), 0, 6,
                              "DDoS attack timelines: packets, bytes, vectors per second"},
    [KS_TBL_DARKNET_CELLS] = {"darknet_cells", COLS(darknet_cells_cols), 0, 7,
                              "darknet: packets, sources per day, sensor, kind, proto, port"},
    [KS_TBL_DARKNET_DAYS] = {"darknet_days", COLS(darknet_days_cols), 0, 7,
                             "darknet: a sensor's day: monitored addresses, totals"},
    [KS_TBL_DARKNET_SOURCES] = {"darknet_sources", COLS(darknet_sources_cols), 0, 7,
                                "darknet: sources by country, AS; top talkers and victims"},
    [KS_TBL_SQLI_DETECTIONS] = {"sqli_detections", COLS(sqli_detections_cols), 0, 8,
                                "SQL-injection detections: ts, source, host, field, signature"},
    [KS_TBL_ANOMALIES] = {"anomalies", COLS(anomalies_cols), 0, 12,
                          "traffic anomalies: drops and spikes against a seasonal baseline"},
    [KS_TBL_BGP_ALERTS] = {"bgp_alerts", COLS(bgp_alerts_cols), 0, 12,
                           "BGP alerts: origin/sub-prefix hijacks, more-specifics, MOAS"},
    [KS_TBL_CRAWL_FETCHES] = {"crawl_fetches", COLS(crawl_fetches_cols), 0, 10,
                              "crawler fetches: chain, url, parent, status, address, sha256, kind"},
};

static const struct ks_store_index indexes[] = {
    {KS_TBL_ROLLUP_1M, "rollup_1m_input", "input_id", 13},
    {KS_TBL_ROLLUP_1M, "rollup_1m_ts", "src, ts", 13},
    {KS_TBL_ROLLUP_1H, "rollup_1h_input", "input_id", 13},
    {KS_TBL_ROLLUP_1H, "rollup_1h_ts", "src, ts", 13},
    {KS_TBL_ROLLUP_1D, "rollup_1d_input", "input_id", 13},
    {KS_TBL_ROLLUP_1D, "rollup_1d_ts", "src, ts", 13},
    {KS_TBL_ROLLUP_15M, "rollup_15m_input", "input_id", 14},
    {KS_TBL_ROLLUP_15M, "rollup_15m_ts", "src, ts", 14},
    {KS_TBL_DNS_RESOLVER_AUDITS, "dns_resolver_audits_input", "input_id", 11},
    {KS_TBL_DNS_POISONING_ALERTS, "dns_poisoning_alerts_input", "input_id", 11},
    {KS_TBL_DNS_POISONING_ALERTS, "dns_poisoning_alerts_ts", "ts", 11},
    {KS_TBL_INPUTS, "inputs_identity", "sha256, size", 1},
    {KS_TBL_SERIES, "series_input", "input_id", 1},
    {KS_TBL_SAMPLE_EVENTS, "sample_events_input", "input_id", 2},
    {KS_TBL_SAMPLE_EVENTS, "sample_events_ts", "ts", 2},
    {KS_TBL_SAMPLES, "samples_input", "input_id", 2},
    {KS_TBL_SAMPLES, "samples_sha256", "sha256", 2},
    {KS_TBL_SAMPLE_IOCS, "sample_iocs_input", "input_id", 2},
    {KS_TBL_SAMPLE_IOCS, "sample_iocs_sha256", "sha256", 2},
    {KS_TBL_HONEYPOT_SESSIONS, "honeypot_sessions_input", "input_id", 2},
    {KS_TBL_HONEYPOT_SESSIONS, "honeypot_sessions_ts", "ts", 2},
    {KS_TBL_INCIDENTS, "incidents_input", "input_id", 3},
    {KS_TBL_INCIDENTS, "incidents_date", "date", 3},
    {KS_TBL_SPF_RESULTS, "spf_results_input", "input_id", 4},
    {KS_TBL_SPF_RESULTS, "spf_results_ts", "ts", 4},
    {KS_TBL_SPF_SURVEY, "spf_survey_input", "input_id", 4},
    {KS_TBL_SPF_SURVEY, "spf_survey_ts", "ts", 4},
    {KS_TBL_MAIL_MESSAGES, "mail_messages_input", "input_id", 5},
    {KS_TBL_MAIL_MESSAGES, "mail_messages_ts", "ts", 5},
    {KS_TBL_MAIL_URLS, "mail_urls_input", "input_id", 5},
    {KS_TBL_MAIL_ATTACHMENTS, "mail_attachments_input", "input_id", 5},
    {KS_TBL_DDOS_ATTACKS, "ddos_attacks_input", "input_id, attack", 6},
    {KS_TBL_DDOS_ATTACKS, "ddos_attacks_start", "start_ts", 6},
    {KS_TBL_DDOS_TIMELINE, "ddos_timeline_attack", "input_id, attack, ts", 6},
    {KS_TBL_DARKNET_CELLS, "darknet_cells_input", "input_id", 7},
    {KS_TBL_DARKNET_CELLS, "darknet_cells_ts", "ts, sensor", 7},
    {KS_TBL_DARKNET_DAYS, "darknet_days_input", "input_id", 7},
    {KS_TBL_DARKNET_DAYS, "darknet_days_ts", "ts, sensor", 7},
    {KS_TBL_DARKNET_SOURCES, "darknet_sources_input", "input_id", 7},
    {KS_TBL_DARKNET_SOURCES, "darknet_sources_ts", "ts, dim", 7},
    {KS_TBL_SQLI_DETECTIONS, "sqli_detections_input", "input_id", 8},
    {KS_TBL_SQLI_DETECTIONS, "sqli_detections_ts", "ts", 8},
    {KS_TBL_MAIL_URLS, "mail_urls_message", "message_id, ts", 9},
    {KS_TBL_MAIL_ATTACHMENTS, "mail_attachments_message", "message_id, ts", 9},
    {KS_TBL_SAMPLE_EVENTS, "sample_events_via", "via, name", 9},
    {KS_TBL_ANOMALIES, "anomalies_input", "input_id", 12},
    {KS_TBL_ANOMALIES, "anomalies_ts", "ts", 12},
    {KS_TBL_BGP_ALERTS, "bgp_alerts_ts", "ts", 12},
    {KS_TBL_CRAWL_FETCHES, "crawl_fetches_input", "input_id", 10},
    {KS_TBL_CRAWL_FETCHES, "crawl_fetches_root", "root", 10},
};

static const struct ks_store_version versions[] = {
    {1, "inputs registry and the generic time series", NULL},
    {2, "sample registry (events, samples, IOCs) and honeypot sessions", NULL},
    {3, "incident log", NULL},
    {4, "SPF check results and survey runs", NULL},
    {5, "mail: messages, their URLs and attachments", NULL},
    {6, "DDoS attacks and their timelines", NULL},
    {7, "darknet cells, days and source distributions", NULL},
    {8, "SQL-injection detections", NULL},
    {9, "indexes for the report's per-message and per-URL lookups", NULL},
    {10, "crawler fetches; antivirus verdict and category of mail attachments", NULL},
    {11, "DNS: resolver audits and poisoning alerts", NULL},
    {12, "BGP alerts and traffic anomalies", NULL},
    {13, "rollups per minute/hour/day for the report", NULL},
    {14, "rollups per 15 minutes; sources and senders per hour and day", NULL},
};

_Static_assert(sizeof versions / sizeof versions[0] == KS_STORE_SCHEMA_VERSION,
               "KS_STORE_SCHEMA_VERSION must be the last version of the list");

const struct ks_store_table *ks_store_table(int table_id)
{
    if (table_id < 0 || table_id >= KS_TBL_COUNT)
        return NULL;
    return &tables[table_id];
}

int ks_store_table_find(const char *name, int *table_id)
{
    for (int i = 0; i < KS_TBL_COUNT; i++) {
        if (strcmp(tables[i].name, name) == 0) {
            *table_id = i;
            return KS_OK;
        }
    }
    return KS_ENOTFOUND;
}

const struct ks_store_index *store_schema_indexes(size_t *n)
{
    *n = sizeof indexes / sizeof indexes[0];
    return indexes;
}

const struct ks_store_version *store_schema_versions(size_t *n)
{
    *n = sizeof versions / sizeof versions[0];
    return versions;
}

const struct ks_store_rollup *store_schema_rollups(size_t *n)
{
    *n = sizeof rollups / sizeof rollups[0];
    return rollups;
}
