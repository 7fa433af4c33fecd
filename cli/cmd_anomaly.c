/* kansoku anomaly: drops and spikes of the store's time series against a seasonal baseline,
 * printed and stored in the anomalies table. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_anomaly.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

static const char anomaly_usage[] =
    "Usage: kansoku anomaly [--db PATH] [--metric M] [--sensor S] [--from D --to D] [--json]\n";

static const char anomaly_help[] =
    "Usage: kansoku anomaly [--db PATH] [--metric M] [--sensor S] [--from D --to D] [--json]\n"
    "       kansoku anomaly --list\n"
    "\n"
    "Finds drops and spikes in the store's time series: every metric of the series table\n"
    "(traffic per link or prefix, per protocol, honeypot and P2P counters, ...) and the named\n"
    "series computed from the analyzers' tables (--list names them). The expected value of a\n"
    "bucket is the median of the same hour of the week over the previous weeks (a robust\n"
    "seasonal median); its spread the median absolute deviation of the recent residuals. A\n"
    "bucket more than K spreads and more than the relative change R away is anomalous, and\n"
    "consecutive anomalous buckets of one direction make one alert: its start, end, duration,\n"
    "observed and expected sums, absolute and relative change, peak and score.\n"
    "\n"
    "Alerts go to the store's anomalies table, one input per scope (metric, sensor, period,\n"
    "settings): a re-run of the same scope replaces the previous one. --no-store only prints.\n"
    "\n"
    "Output: one line per alert (--json: {\"start\",\"end\",\"duration_s\",\"sensor\",\"metric\",\n"
    "\"key\",\"direction\",\"points\",\"observed\",\"expected\",\"abs_change\",\"rel_change\",\n"
    "\"peak_ts\",\"peak_value\",\"peak_expected\",\"score\",\"method\",\"open\"}).\n"
    "\n"
    "Options:\n"
    "      --metric M      a metric of the series table, a named series, or a pattern with *\n"
    "      --sensor S      only this sensor\n"
    "      --from D        alerts from this date or RFC 3339 time (history before it is read)\n"
    "      --to D          ... up to this date (included) or time (excluded)\n"
    "      --k K           spreads to alert (default 4)\n"
    "      --min-rel R     and at least this relative change, 0..1 (default 0.2)\n"
    "      --step SECONDS  the series' bucket (default: its most common spacing)\n"
    "      --min-points N  buckets an alert needs (default 1)\n"
    "      --no-store      do not write the alerts to the store\n"
    "      --list          list the named series and exit\n"
    "\n"
    "Exit status: 0 done (with or without alerts); 1 the store failed; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

enum {
    OPT_METRIC = 0x200,
    OPT_SENSOR,
    OPT_FROM,
    OPT_TO,
    OPT_K,
    OPT_MINREL,
    OPT_STEP,
    OPT_MINPTS,
    OPT_NO_STORE,
    OPT_LIST
};

struct kept {
    struct ks_anomaly_alert a;
    char *sensor, *metric, *key;
};

struct collect {
    struct kept *v;
    size_t n, cap;
    bool failed;
};

static void on_alert(void *user, const struct ks_anomaly_alert *a)
{
    struct collect *c = user;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct kept *v = realloc(c->v, cap * sizeof *v);
        if (!v) {
            c->failed = true;
            return;
        }
        c->v = v;
        c->cap = cap;
    }
    struct kept *k = &c->v[c->n];
    k->a = *a;
    k->sensor = strdup(a->sensor);
    k->metric = strdup(a->metric);
    k->key = strdup(a->key);
    if (!k->sensor || !k->metric || !k->key) {
        free(k->sensor);
        free(k->metric);
        free(k->key);
        c->failed = true;
        return;
    }
    k->a.sensor = k->sensor;
    k->a.metric = k->metric;
    k->a.key = k->key;
    c->n++;
}

static int parse_when(const char *s, bool end, int64_t *t)
{
    if (ks_time_parse(s, strlen(s), t) != KS_OK)
        return -1;
    if (end && strlen(s) == 10) /* a date: the whole day is included */
        *t += KS_USEC_PER_DAY;
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (errno || e == s || *e || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static void time_text(int64_t t, char *buf, size_t size)
{
    if (ks_time_format(t, 0, 0, buf, size) < 0)
        snprintf(buf, size, "-");
}

static json_t *num_json(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void print_alert(const struct ks_cli *cli, const struct ks_anomaly_alert *a)
{
    char start[KS_TIME_STRLEN], end[KS_TIME_STRLEN], peak[KS_TIME_STRLEN];
    time_text(a->start, start, sizeof start);
    time_text(a->end + a->step_us, end, sizeof end);
    time_text(a->peak_ts, peak, sizeof peak);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "start", json_string(start));
        json_object_set_new(o, "end", json_string(end));
        json_object_set_new(o, "duration_s", json_real(a->duration_s));
        json_object_set_new(o, "sensor", json_string(a->sensor));
        json_object_set_new(o, "metric", json_string(a->metric));
        json_object_set_new(o, "key", json_string(a->key));
        json_object_set_new(o, "direction", json_string(ks_anomaly_dir_name(a->dir)));
        json_object_set_new(o, "points", json_integer(a->points));
        json_object_set_new(o, "observed", num_json(a->observed));
        json_object_set_new(o, "expected", num_json(a->expected));
        json_object_set_new(o, "abs_change", num_json(a->abs_change));
        json_object_set_new(o, "rel_change", num_json(a->rel_change));
        json_object_set_new(o, "peak_ts", json_string(peak));
        json_object_set_new(o, "peak_value", num_json(a->peak_value));
        json_object_set_new(o, "peak_expected", num_json(a->peak_expected));
        json_object_set_new(o, "score", num_json(a->score));
        json_object_set_new(o, "method", json_string(a->method ? a->method : ""));
        json_object_set_new(o, "open", json_boolean(a->open));
        ks_cli_json_line(o);
        return;
    }
    char rel[32];
    if (isnan(a->rel_change))
        snprintf(rel, sizeof rel, "-");
    else
        snprintf(rel, sizeof rel, "%+.1f%%", 100.0 * a->rel_change);
    printf("%-20s  %-20s  %8.0fs  %-12s  %-20s  %-10s  %-5s  %12.1f  %12.1f  %7s%s\n", start, end,
           a->duration_s, a->sensor[0] ? a->sensor : "-", a->metric, a->key[0] ? a->key : "-",
           ks_anomaly_dir_name(a->dir), a->observed, a->expected, rel, a->open ? "  open" : "");
}

/* Stores the alerts as one input whose identity is the scope of the run, replacing the
 * previous run of the same scope. */
static int store_alerts(struct ks_cli *cli, struct ks_store *st, const char *scope,
                        const struct collect *c)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(scope, strlen(scope), md, &mdlen, EVP_sha256(), NULL);
    struct ks_store_input in = {.size = strlen(scope), .name = scope, .kind = "anomaly"};
    for (unsigned i = 0; i < 32; i++)
        snprintf(in.sha256 + 2 * i, 3, "%02x", md[i]);
    struct ks_ingest *ing = NULL;
    int rc = ks_store_input_begin(st, &in, KS_STORE_FORCE, &ing);
    if (rc != KS_OK) {
        ks_cli_error(cli, "store: %s", ks_store_errmsg(st));
        return rc;
    }
    for (size_t i = 0; i < c->n && rc == KS_OK; i++)
        rc = ks_anomaly_store_alert(ing, &c->v[i].a);
    int rc2 = ks_store_input_end(ing, rc == KS_OK);
    if (rc == KS_OK)
        rc = rc2;
    if (rc != KS_OK)
        ks_cli_error(cli, "store: %s", ks_store_errmsg(st));
    return rc;
}

int ks_cmd_anomaly(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "anomaly", anomaly_usage, anomaly_help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"metric", required_argument, NULL, OPT_METRIC},
                                         {"sensor", required_argument, NULL, OPT_SENSOR},
                                         {"from", required_argument, NULL, OPT_FROM},
                                         {"to", required_argument, NULL, OPT_TO},
                                         {"k", required_argument, NULL, OPT_K},
                                         {"min-rel", required_argument, NULL, OPT_MINREL},
                                         {"step", required_argument, NULL, OPT_STEP},
                                         {"min-points", required_argument, NULL, OPT_MINPTS},
                                         {"no-store", no_argument, NULL, OPT_NO_STORE},
                                         {"list", no_argument, NULL, OPT_LIST},
                                         {0}};
    struct ks_anomaly_config cfg;
    ks_anomaly_config_default(&cfg);
    struct ks_anomaly_query q = {.from = 0, .to = INT64_MAX};
    const char *from_s = "", *to_s = "";
    bool no_store = false, list = false;
    int opt, code = KS_EXIT_OK;
    double d;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r > 0)
            continue;
        switch (opt) {
        case OPT_METRIC:
            q.metric = optarg;
            break;
        case OPT_SENSOR:
            q.sensor = optarg;
            break;
        case OPT_FROM:
            if (parse_when(optarg, false, &q.from) < 0)
                return ks_cli_usage_error(&cli, "--from: not a date or RFC 3339 time: '%s'",
                                          optarg);
            from_s = optarg;
            break;
        case OPT_TO:
            if (parse_when(optarg, true, &q.to) < 0)
                return ks_cli_usage_error(&cli, "--to: not a date or RFC 3339 time: '%s'", optarg);
            to_s = optarg;
            break;
        case OPT_K:
            if (parse_double(optarg, 0.1, 1000, &cfg.k) < 0)
                return ks_cli_usage_error(&cli, "--k: a number from 0.1 to 1000");
            break;
        case OPT_MINREL:
            if (parse_double(optarg, 0, 100, &cfg.min_rel) < 0)
                return ks_cli_usage_error(&cli, "--min-rel: a number from 0 to 100");
            break;
        case OPT_STEP:
            if (parse_double(optarg, 1, 31 * 86400, &d) < 0 || d != floor(d))
                return ks_cli_usage_error(&cli, "--step: whole seconds, 1 to 2678400");
            cfg.step_s = (uint32_t)d;
            break;
        case OPT_MINPTS:
            if (parse_double(optarg, 1, 1e6, &d) < 0 || d != floor(d))
                return ks_cli_usage_error(&cli, "--min-points: a whole number from 1");
            cfg.min_points = (uint32_t)d;
            break;
        case OPT_NO_STORE:
            no_store = true;
            break;
        case OPT_LIST:
            list = true;
            break;
        default:
            return ks_cli_usage_error(&cli, "unexpected option");
        }
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    if (q.to <= q.from)
        return ks_cli_usage_error(&cli, "--to must come after --from");
    if (list) {
        for (size_t i = 0; ks_anomaly_named(i); i++) {
            if (cli.json) {
                json_t *o = json_object();
                json_object_set_new(o, "name", json_string(ks_anomaly_named(i)));
                ks_cli_json_line(o);
            } else {
                printf("%s\n", ks_anomaly_named(i));
            }
        }
        return KS_EXIT_OK;
    }

    struct ks_store_config sc;
    ks_store_config_default(&sc);
    sc.readonly = no_store;
    struct ks_store *st = NULL;
    int rc = ks_store_open(cli.db_path, &sc, &st);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        return KS_EXIT_FAIL;
    }
    struct collect c = {0};
    struct ks_anomaly_stats stats = {0};
    rc = ks_anomaly_scan(st, &cfg, &q, on_alert, &c, &stats);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s: %s", ks_strerror(rc), ks_store_errmsg(st));
        code = KS_EXIT_FAIL;
        goto out;
    }
    if (c.failed) {
        ks_cli_error(&cli, "out of memory keeping the alerts");
        code = KS_EXIT_FAIL;
        goto out;
    }
    if (!cli.json && c.n)
        printf("%-20s  %-20s  %9s  %-12s  %-20s  %-10s  %-5s  %12s  %12s  %7s\n", "START", "END",
               "DURATION", "SENSOR", "METRIC", "KEY", "KIND", "OBSERVED", "EXPECTED", "CHANGE");
    for (size_t i = 0; i < c.n; i++)
        print_alert(&cli, &c.v[i].a);
    ks_cli_info(&cli,
                "%llu series, %llu buckets (%llu missing, %llu bad values, %llu warm-up), %llu "
                "anomalous, %llu alerts",
                (unsigned long long)stats.series, (unsigned long long)stats.buckets,
                (unsigned long long)stats.missing, (unsigned long long)stats.bad_values,
                (unsigned long long)stats.warmup, (unsigned long long)stats.anomalous,
                (unsigned long long)stats.alerts);
    if (stats.bad_values)
        ks_cli_warn(&cli, "%llu NaN or infinite values skipped",
                    (unsigned long long)stats.bad_values);
    if (!no_store) {
        char scope[1024];
        snprintf(scope, sizeof scope,
                 "anomaly metric=%s sensor=%s from=%s to=%s k=%g min_rel=%g step=%u min_points=%u",
                 q.metric ? q.metric : "*", q.sensor ? q.sensor : "*", from_s, to_s, cfg.k,
                 cfg.min_rel, cfg.step_s, cfg.min_points);
        if (store_alerts(&cli, st, scope, &c) != KS_OK)
            code = KS_EXIT_FAIL;
    }
out:
    for (size_t i = 0; i < c.n; i++) {
        free(c.v[i].sensor);
        free(c.v[i].metric);
        free(c.v[i].key);
    }
    free(c.v);
    ks_store_close(st);
    return code;
}
