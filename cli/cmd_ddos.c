/* kansoku ddos: DDoS attacks from packets (detect) and from the store (stats). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "kansoku/ks_capture.h"
#include "kansoku/ks_ddos.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

static const char ddos_usage[] = "Usage: kansoku ddos <verb> [options]\n"
                                 "       kansoku ddos detect [-r FILE...|-i IFACE] [options]\n"
                                 "       kansoku ddos stats [--db PATH] [--json]\n";

static const char ddos_help[] =
    "Usage: kansoku ddos <verb> [options]\n"
    "\n"
    "DDoS attacks: found in packets (files or a live interface), described (class, vectors,\n"
    "peaks, totals, sources, dispersion, timeline) and counted from the store.\n"
    "\n"
    "Verbs:\n"
    "  detect   read packets, report attacks (table, --json lines, and the store with --db)\n"
    "  stats    from the store: attacks per day by class, durations, the largest attack\n"
    "\n"
    "Each verb takes --help.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char detect_usage[] =
    "Usage: kansoku ddos detect [-r FILE...|-i IFACE] [--db PATH] [--json] [--config FILE]\n"
    "         [--threshold-pps N] [--threshold-bps N] [--start-after S] [--end-after S]\n"
    "         [--adaptive] [options] [FILE...]\n";

static const char detect_help[] =
    "Usage: kansoku ddos detect [-r FILE...|-i IFACE] [--db PATH] [--json] [--config FILE]\n"
    "         [--threshold-pps N] [--threshold-bps N] [--start-after S] [--end-after S]\n"
    "         [--adaptive] [options] [FILE...]\n"
    "\n"
    "Counts packets per destination and second and reports the attacks: target, start, end,\n"
    "class (bandwidth/server/composite), vectors, peak pps and bps, totals, distinct sources,\n"
    "top sources and ports, source dispersion and the vector in force each minute. Scans are\n"
    "not attacks (counted, not reported).\n"
    "\n"
    "Input:\n" KS_CLI_INPUT_HELP
    "      --sample-rate N    the capture is sampled 1:N: each packet counts N times\n"
    "Thresholds (per second and target; a config file sets them too, options win):\n"
    "      --config FILE      thresholds file: global keys and [prefix A/L] sections\n"
    "      --threshold-pps N  all packets (default 20000; K/M/G suffixes)\n"
    "      --threshold-bps N  bits on the wire (default 200M)\n"
    "      --syn-pps N  --synack-pps N  --udp-pps N  --amp-pps N  --icmp-pps N\n"
    "      --frag-pps N  --conn-ps N  --http-rps N   per-vector thresholds (0 = off)\n"
    "      --start-after S    seconds over a threshold before an attack starts (default 5)\n"
    "      --end-after S      quiet seconds that end it; closer bursts merge (default 60)\n"
    "      --adaptive         also flag rates far above each target's learnt baseline\n"
    "Engine:\n"
    "      --workers N        worker threads (0 = all in one thread; default: CPUs - 1)\n"
    "      --max-targets N    target table capacity (default 786000; LRU eviction, counted)\n"
    "Output:\n"
    "      --timeline         with --json, add the per-second timeline of each attack\n"
    "      --force            with --db, store an input ingested before again\n"
    "\n"
    "With --json each attack is one object: target, prefix_len, start, end (RFC 3339 UTC),\n"
    "duration_s, class, vectors, main_vector, peak_pps, peak_bps, packets, bytes, sources,\n"
    "top_sources [{addr,packets}], top_ports [{port,proto,packets}], top_src_ports,\n"
    "dst_ports, dispersion {judgement,sources,packets_per_source,top1_share,top10_share},\n"
    "minutes [{t,vectors,main_vector,packets}], open (still going at the end of input).\n"
    "\n"
    "Exit status: 0 done; 1 input unreadable or cut short (attacks so far are reported),\n"
    "store error; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char stats_usage[] = "Usage: kansoku ddos stats [--db PATH] [--json]\n";

static const char stats_help[] =
    "Usage: kansoku ddos stats [--db PATH] [--json]\n"
    "\n"
    "From the store: attacks per day (UTC) by class, the duration distribution (< 30 min,\n"
    "30 min - 24 h, longer) and the timeline of the largest attack (by peak bits/s).\n"
    "With --json: {\"kind\":\"day\",\"day\",\"bandwidth\",\"server\",\"composite\"},\n"
    "{\"kind\":\"durations\",\"lt_30min\",\"30min_24h\",\"gt_24h\"}, {\"kind\":\"largest\",...} "
    "and\n"
    "{\"kind\":\"timeline\",\"t\",\"seconds\",\"packets\",\"bps\",\"vectors\"} lines.\n"
    "\n"
    "Exit status: 0 done, 1 store error, 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

/* --- collected attacks ----------------------------------------------------------------------- */

struct run {
    struct ks_cli *cli;
    struct ks_ddos_attack **a;
    size_t n, cap;
    bool stream;   /* live: print as they come */
    bool timeline; /* --json: per-second timeline */
    struct ks_ingest *ing;
    int store_rc;
    uint64_t stored;
    bool header_done;
};

static volatile sig_atomic_t g_stop;
static struct ks_capture *g_cap;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_cap)
        ks_capture_break(g_cap);
}

static void fmt_time(int64_t t_us, char *buf, size_t size)
{
    if (ks_time_format(t_us, 0, 3, buf, size) < 0)
        snprintf(buf, size, "%" PRId64, t_us);
}

static const char *proto_name(uint8_t p)
{
    return p == 6 ? "tcp" : p == 17 ? "udp" : "ip";
}

static json_t *vectors_json(uint32_t mask)
{
    json_t *arr = json_array();
    for (unsigned v = 0; v < KS_VEC_COUNT; v++)
        if (mask >> v & 1u)
            json_array_append_new(arr, json_string(ks_ddos_vector_name(v)));
    return arr;
}

static json_t *ports_json(const struct ks_ddos_top_port *p, unsigned n)
{
    json_t *arr = json_array();
    for (unsigned i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:i,s:s,s:I}", "port", (int)p[i].port, "proto",
                                             proto_name(p[i].proto), "packets",
                                             (json_int_t)p[i].packets));
    return arr;
}

static double round3(double x)
{
    return round(x * 1000) / 1000;
}

static json_t *attack_json(const struct ks_ddos_attack *a, bool timeline)
{
    char tgt[KS_ADDR_STRLEN], s[KS_TIME_STRLEN], e[KS_TIME_STRLEN];
    ks_addr_format(&a->target.addr, tgt, sizeof tgt);
    fmt_time(a->start_us, s, sizeof s);
    fmt_time(a->end_us, e, sizeof e);
    json_t *o = json_object();
    json_object_set_new(o, "target", json_string(tgt));
    json_object_set_new(o, "prefix_len", json_integer(a->target.len));
    json_object_set_new(o, "start", json_string(s));
    json_object_set_new(o, "end", json_string(e));
    json_object_set_new(o, "duration_s",
                        json_real(round3((double)(a->end_us - a->start_us) / 1e6)));
    json_object_set_new(o, "class", json_string(ks_ddos_class_name(a->cls)));
    json_object_set_new(o, "vectors", vectors_json(a->vectors));
    const char *mv = ks_ddos_vector_name(a->main_vector);
    json_object_set_new(o, "main_vector", mv ? json_string(mv) : json_null());
    json_object_set_new(o, "peak_pps", json_integer((json_int_t)a->peak_pps));
    json_object_set_new(o, "peak_bps", json_integer((json_int_t)a->peak_bps));
    json_object_set_new(o, "packets", json_integer((json_int_t)a->packets));
    json_object_set_new(o, "bytes", json_integer((json_int_t)a->bytes));
    json_object_set_new(o, "sources", json_integer((json_int_t)llround(a->dispersion.sources)));
    json_t *ts = json_array();
    for (unsigned i = 0; i < a->n_top_sources; i++) {
        char ad[KS_ADDR_STRLEN];
        ks_addr_format(&a->top_sources[i].addr, ad, sizeof ad);
        json_array_append_new(ts, json_pack("{s:s,s:I}", "addr", ad, "packets",
                                            (json_int_t)a->top_sources[i].packets));
    }
    json_object_set_new(o, "top_sources", ts);
    json_object_set_new(o, "top_ports", ports_json(a->top_ports, a->n_top_ports));
    json_object_set_new(o, "top_src_ports", ports_json(a->top_src_ports, a->n_top_src_ports));
    json_object_set_new(o, "dst_ports", json_integer(a->dst_ports));
    if (a->target.len < (a->target.addr.family == 4 ? 32 : 128))
        json_object_set_new(o, "dst_addrs", json_integer((json_int_t)llround(a->dst_addrs)));
    const struct ks_ddos_dispersion *d = &a->dispersion;
    json_object_set_new(o, "dispersion",
                        json_pack("{s:s,s:I,s:f,s:f,s:f}", "judgement",
                                  ks_ddos_disp_name(d->judgement), "sources",
                                  (json_int_t)llround(d->sources), "packets_per_source",
                                  round3(d->packets_per_source), "top1_share",
                                  round3(d->top1_share), "top10_share", round3(d->top10_share)));
    size_t nm = ks_ddos_attack_minutes(a, NULL, 0);
    struct ks_ddos_tl *m = nm ? calloc(nm, sizeof *m) : NULL;
    json_t *mins = json_array();
    if (m) {
        ks_ddos_attack_minutes(a, m, nm);
        for (size_t i = 0; i < nm; i++) {
            char t[KS_TIME_STRLEN];
            fmt_time(m[i].t_us, t, sizeof t);
            const char *mn = ks_ddos_vector_name(m[i].main_vector);
            json_array_append_new(mins, json_pack("{s:s,s:o,s:o,s:I}", "t", t, "vectors",
                                                  vectors_json(m[i].vectors), "main_vector",
                                                  mn ? json_string(mn) : json_null(), "packets",
                                                  (json_int_t)m[i].packets));
        }
        free(m);
    }
    json_object_set_new(o, "minutes", mins);
    if (timeline) {
        json_t *tl = json_array();
        for (size_t i = 0; i < a->timeline_len; i++) {
            const struct ks_ddos_tl *x = &a->timeline[i];
            char t[KS_TIME_STRLEN];
            fmt_time(x->t_us, t, sizeof t);
            json_array_append_new(tl, json_pack("{s:s,s:i,s:I,s:I,s:o}", "t", t, "seconds",
                                                (int)x->seconds, "packets", (json_int_t)x->packets,
                                                "bits", (json_int_t)(x->bytes * 8), "vectors",
                                                vectors_json(x->vectors)));
        }
        json_object_set_new(o, "timeline", tl);
    }
    json_object_set_new(o, "open", json_boolean(a->open));
    return o;
}

static void human_rate(double v, const char *unit, char *buf, size_t size)
{
    static const char *const pre[] = {"", "K", "M", "G", "T"};
    unsigned i = 0;
    while (v >= 1000 && i < 4) {
        v /= 1000;
        i++;
    }
    snprintf(buf, size, i ? "%.1f%s%s" : "%.0f%s%s", v, pre[i], unit);
}

/* As ks_cli_json_line, with reals printed to 12 significant digits so that a rounded
 * duration_s reads 0.011, not 0.010999999999999999. */
static void json_line(json_t *obj)
{
    if (!obj)
        return;
    json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    fputc('\n', stdout);
    json_decref(obj);
}

static void print_row(struct run *r, const struct ks_ddos_attack *a)
{
    if (r->cli->json) {
        json_line(attack_json(a, r->timeline));
        return;
    }
    if (!r->header_done) {
        printf("%-20s %-24s %9s %-9s %9s %9s %10s %8s %-12s %s\n", "TARGET", "START (UTC)",
               "DURATION", "CLASS", "PEAK_PPS", "PEAK_BPS", "PACKETS", "SOURCES", "DISPERSION",
               "VECTORS");
        r->header_done = true;
    }
    char tgt[KS_PREFIX_STRLEN], s[KS_TIME_STRLEN], pps[32], bps[32], vec[512];
    if (a->target.len == (a->target.addr.family == 4 ? 32 : 128))
        ks_addr_format(&a->target.addr, tgt, sizeof tgt);
    else
        ks_prefix_format(&a->target, tgt, sizeof tgt);
    fmt_time(a->start_us, s, sizeof s);
    human_rate((double)a->peak_pps, "", pps, sizeof pps);
    human_rate((double)a->peak_bps, "", bps, sizeof bps);
    size_t n = 0;
    vec[0] = '\0';
    for (unsigned v = 0; v < KS_VEC_COUNT && n < sizeof vec - 32; v++)
        if (a->vectors >> v & 1u)
            n += (size_t)snprintf(vec + n, sizeof vec - n, "%s%s", n ? "," : "",
                                  ks_ddos_vector_name(v));
    printf("%-20s %-24s %8.1fs %-9s %9s %9s %10" PRIu64 " %8.0f %-12s %s\n", tgt, s,
           (double)(a->end_us - a->start_us) / 1e6, ks_ddos_class_name(a->cls), pps, bps,
           a->packets, a->dispersion.sources, ks_ddos_disp_name(a->dispersion.judgement), vec);
}

static void on_attack(void *user, const struct ks_ddos_attack *a)
{
    struct run *r = user;
    if (r->ing && r->store_rc == KS_OK) {
        r->store_rc = ks_ddos_store_attack(r->ing, r->stored + 1, a);
        if (r->store_rc == KS_OK)
            r->stored++;
    }
    if (r->stream) {
        print_row(r, a);
        fflush(stdout);
        return;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct ks_ddos_attack **na = realloc(r->a, cap * sizeof *na);
        if (!na)
            return;
        r->a = na;
        r->cap = cap;
    }
    size_t tl = a->timeline_len * sizeof *a->timeline;
    struct ks_ddos_attack *c = malloc(sizeof *c + tl);
    if (!c)
        return;
    *c = *a;
    struct ks_ddos_tl *copy = (struct ks_ddos_tl *)(void *)(c + 1);
    if (tl)
        memcpy(copy, a->timeline, tl);
    c->timeline = copy;
    r->a[r->n++] = c;
}

static int by_start(const void *x, const void *y)
{
    const struct ks_ddos_attack *a = *(const struct ks_ddos_attack *const *)x;
    const struct ks_ddos_attack *b = *(const struct ks_ddos_attack *const *)y;
    if (a->start_us != b->start_us)
        return a->start_us < b->start_us ? -1 : 1;
    return ks_addr_cmp(&a->target.addr, &b->target.addr);
}

/* --- options ----------------------------------------------------------------------------- */

enum {
    OPT_SAMPLE = 0x200,
    OPT_CONFIG,
    OPT_TPPS,
    OPT_TBPS,
    OPT_SYN,
    OPT_SYNACK,
    OPT_UDP,
    OPT_AMP,
    OPT_ICMP,
    OPT_FRAG,
    OPT_CONN,
    OPT_HTTP,
    OPT_START,
    OPT_END,
    OPT_ADAPTIVE,
    OPT_WORKERS,
    OPT_MAXT,
    OPT_TIMELINE,
    OPT_FORCE,
};

static int cmd_detect(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "ddos detect", detect_usage, detect_help);
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        KS_CLI_INPUT_OPTS,
        {"sample-rate", required_argument, NULL, OPT_SAMPLE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"threshold-pps", required_argument, NULL, OPT_TPPS},
        {"threshold-bps", required_argument, NULL, OPT_TBPS},
        {"syn-pps", required_argument, NULL, OPT_SYN},
        {"synack-pps", required_argument, NULL, OPT_SYNACK},
        {"udp-pps", required_argument, NULL, OPT_UDP},
        {"amp-pps", required_argument, NULL, OPT_AMP},
        {"icmp-pps", required_argument, NULL, OPT_ICMP},
        {"frag-pps", required_argument, NULL, OPT_FRAG},
        {"conn-ps", required_argument, NULL, OPT_CONN},
        {"http-rps", required_argument, NULL, OPT_HTTP},
        {"start-after", required_argument, NULL, OPT_START},
        {"end-after", required_argument, NULL, OPT_END},
        {"adaptive", no_argument, NULL, OPT_ADAPTIVE},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {"max-targets", required_argument, NULL, OPT_MAXT},
        {"timeline", no_argument, NULL, OPT_TIMELINE},
        {"force", no_argument, NULL, OPT_FORCE},
        {0},
    };
    /* Options are applied after the config file: remember them first. */
    struct setting {
        int opt;
        uint64_t v;
    } set[64];
    size_t nset = 0;
    struct ks_cli_input in;
    const char *config = NULL;
    bool db = false, timeline = false, force = false;
    int opt, code = KS_EXIT_OK;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t workers = nproc > 1 ? (uint64_t)nproc - 1 : 0;
    if (ks_cli_input_init(&in, argc, true) != KS_OK)
        return KS_EXIT_FAIL;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT KS_CLI_INPUT_SHORT, opts, NULL)) !=
           -1) {
        int c = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (c == 0)
            c = ks_cli_input_opt(&cli, &in, opt, optarg, &code);
        if (c < 0) {
            ks_cli_input_free(&in);
            return code;
        }
        if (c > 0) {
            if (opt == 0x101)
                db = true;
            continue;
        }
        uint64_t v = 0;
        switch (opt) {
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_ADAPTIVE:
            if (nset < 64)
                set[nset++] = (struct setting){opt, 1};
            break;
        case OPT_TIMELINE:
            timeline = true;
            break;
        case OPT_FORCE:
            force = true;
            break;
        default:
            if (!ks_cli_parse_metric(optarg, UINT64_MAX, &v) ||
                ((opt == OPT_SAMPLE || opt == OPT_MAXT) && v == 0) ||
                (opt == OPT_SAMPLE && v > 65535) || (opt == OPT_WORKERS && v > 64) ||
                ((opt == OPT_START || opt == OPT_END || opt == OPT_MAXT) && v > UINT32_MAX)) {
                ks_cli_input_free(&in);
                return ks_cli_usage_error(&cli, "bad value '%s' for %s", optarg, argv[optind - 1]);
            }
            if (opt == OPT_SAMPLE)
                in.cfg.sample_rate = (uint32_t)v;
            else if (opt == OPT_WORKERS)
                workers = v;
            else if (nset < 64)
                set[nset++] = (struct setting){opt, v};
        }
    }
    if (ks_cli_input_finish(&cli, &in, argc, argv, &code) != 0) {
        ks_cli_input_free(&in);
        return code;
    }

    struct ks_ddos_config cfg;
    ks_ddos_config_default(&cfg);
    struct ks_ddos_rules *rules = NULL;
    struct ks_capture *cap = NULL;
    struct ks_ddos *d = NULL;
    struct ks_store *st = NULL;
    struct run r = {.cli = &cli, .stream = in.iface != NULL, .timeline = timeline};
    int rc;
    if (config) {
        rc = ks_ddos_config_load(config, &cfg, &rules, &cli.diag);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s: %s", config,
                         rc == KS_EIO ? strerror(errno) : "bad thresholds file");
            code = KS_EXIT_FAIL;
            goto out;
        }
        cfg.rules = rules;
    }
    cfg.workers = (uint32_t)workers;
    for (size_t i = 0; i < nset; i++) {
        uint64_t v = set[i].v;
        switch (set[i].opt) {
        case OPT_TPPS:
            cfg.thr.pps = v;
            break;
        case OPT_TBPS:
            cfg.thr.bps = v;
            break;
        case OPT_SYN:
            cfg.thr.syn_pps = v;
            break;
        case OPT_SYNACK:
            cfg.thr.synack_pps = v;
            break;
        case OPT_UDP:
            cfg.thr.udp_pps = v;
            break;
        case OPT_AMP:
            cfg.thr.amp_pps = v;
            break;
        case OPT_ICMP:
            cfg.thr.icmp_pps = v;
            break;
        case OPT_FRAG:
            cfg.thr.frag_pps = v;
            break;
        case OPT_CONN:
            cfg.thr.conn_ps = v;
            break;
        case OPT_HTTP:
            cfg.thr.http_rps = v;
            break;
        case OPT_START:
            cfg.start_after_s = (uint32_t)v;
            break;
        case OPT_END:
            cfg.end_after_s = (uint32_t)v;
            break;
        case OPT_ADAPTIVE:
            cfg.adaptive = true;
            break;
        case OPT_MAXT:
            cfg.max_targets = (uint32_t)v;
            break;
        }
    }
    cfg.on_attack = on_attack;
    cfg.user = &r;

    if (ks_cli_input_open(&cli, &in, &cap) != KS_OK) {
        code = KS_EXIT_FAIL;
        goto out;
    }
    if (db) {
        struct ks_store_input si = {.name = in.iface ? in.iface : in.files[0], .kind = "ddos"};
        if (ks_cli_capture_identity(&cli, in.files, in.nfiles, in.iface, NULL, &si) != KS_OK) {
            code = KS_EXIT_FAIL;
            goto out;
        }
        if (ks_cli_store_begin(&cli, &si, force, &st, &r.ing) != KS_OK) {
            code = KS_EXIT_FAIL;
            goto out;
        }
    }
    rc = ks_ddos_new(&cfg, &d);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "cannot start the detector: %s", ks_strerror(rc));
        code = KS_EXIT_FAIL;
        goto out;
    }
    g_cap = cap;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct ks_pkt p;
    int err = KS_OK;
    for (;;) {
        int n = ks_capture_next(cap, &p);
        if (n == 1) {
            ks_ddos_feed(d, &p);
            continue;
        }
        if (n == 0 || n == KS_EINTR)
            break;
        if (n == KS_ETIMEOUT) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            ks_ddos_tick(d, (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
            if (g_stop)
                break;
            continue;
        }
        err = n;
        ks_cli_error(&cli, "%s", ks_capture_errmsg(cap));
        break; /* a file cut short or unreadable: report what was found so far */
    }
    ks_ddos_flush(d);
    g_cap = NULL;
    if (!r.stream && r.n) {
        qsort(r.a, r.n, sizeof *r.a, by_start);
        for (size_t i = 0; i < r.n; i++)
            print_row(&r, r.a[i]);
    }
    if (!cli.json && !r.header_done && !cli.quiet)
        printf("no attack found\n");
    struct ks_capture_stats cs;
    struct ks_ddos_stats ds;
    ks_capture_stats(cap, &cs);
    ks_ddos_stats(d, &ds);
    if (!cli.quiet)
        fprintf(stderr,
                "kansoku: ddos: %" PRIu64 " packets (%" PRIu64 " IP, %" PRIu64 " not IP, %" PRIu64
                " malformed), %" PRIu64 " attacks, %" PRIu64 " scans not counted, %" PRIu64
                " targets (%" PRIu64 " evicted)\n",
                cs.packets, cs.decoded, cs.not_ip, cs.bad, ds.attacks, ds.scans, ds.targets,
                ds.targets_evicted);
    if (cli.verbose) {
        for (int s = 2; s < KS_PKT_STATUS_COUNT; s++)
            if (cs.by_status[s])
                ks_cli_info(&cli, "%" PRIu64 " packets: %s", cs.by_status[s],
                            ks_pkt_status_name((enum ks_pkt_status)s));
        ks_cli_info(&cli,
                    "fragments %" PRIu64 " first, %" PRIu64 " later; tcp %" PRIu64 " udp %" PRIu64
                    " icmp %" PRIu64 " icmp6 %" PRIu64 " other %" PRIu64,
                    cs.frag_first, cs.frag_later, cs.tcp, cs.udp, cs.icmp, cs.icmp6, cs.other);
        ks_cli_info(&cli, "trackers full %" PRIu64 ", candidates %" PRIu64 ", late %" PRIu64,
                    ds.tracker_full, ds.candidates, ds.late_packets);
    }
    if (r.ing) {
        if (ks_cli_store_end(&cli, st, &r.ing, r.store_rc) != KS_OK)
            code = KS_EXIT_FAIL;
        else
            ks_cli_info(&cli, "%" PRIu64 " attacks stored in %s", r.stored, cli.db_path);
    }
    if (err != KS_OK)
        code = KS_EXIT_FAIL;
out:
    if (r.ing)
        ks_store_input_end(r.ing, false);
    ks_store_close(st);
    ks_ddos_free(d);
    ks_capture_free(cap);
    ks_ddos_rules_free(rules);
    for (size_t i = 0; i < r.n; i++)
        free(r.a[i]);
    free(r.a);
    ks_cli_input_free(&in);
    return code;
}

/* --- stats from the store ------------------------------------------------------------------ */

#define JOIN " JOIN inputs i ON i.id = a.input_id AND i.status = 'complete' "

struct largest {
    bool found;
    int64_t input_id, attack;
};

struct sq {
    struct ks_cli *cli;
    int64_t day;
    uint64_t by_class[3];
    bool any;
    struct largest largest;
};

static int64_t val_i64(const struct ks_store_value *v)
{
    if (v->type == KS_TYPE_F64)
        return (int64_t)v->v.f64;
    if (v->type == KS_TYPE_NULL)
        return 0;
    return v->v.i64;
}

static const char *val_text(const struct ks_store_value *v, char *buf, size_t size)
{
    if (v->type != KS_TYPE_TEXT && v->type != KS_TYPE_ADDR)
        return "";
    size_t n = v->v.bytes.len < size - 1 ? v->v.bytes.len : size - 1;
    memcpy(buf, v->v.bytes.ptr, n);
    buf[n] = '\0';
    return buf;
}

static void flush_day(struct sq *q)
{
    if (!q->any)
        return;
    char day[KS_TIME_STRLEN];
    ks_time_format(q->day * KS_USEC_PER_DAY, 0, 0, day, sizeof day);
    day[10] = '\0';
    if (q->cli->json)
        ks_cli_json_line(json_pack("{s:s,s:s,s:I,s:I,s:I}", "kind", "day", "day", day, "bandwidth",
                                   (json_int_t)q->by_class[0], "server", (json_int_t)q->by_class[1],
                                   "composite", (json_int_t)q->by_class[2]));
    else
        printf("%-12s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n", day, q->by_class[0],
               q->by_class[1], q->by_class[2]);
    memset(q->by_class, 0, sizeof q->by_class);
    q->any = false;
}

static int day_row(void *user, size_t ncols, const char *const *names,
                   const struct ks_store_value *vals)
{
    struct sq *q = user;
    (void)names;
    if (ncols < 3)
        return 0;
    int64_t day = val_i64(&vals[0]);
    if (q->any && day != q->day)
        flush_day(q);
    q->day = day;
    q->any = true;
    char cls[32];
    val_text(&vals[1], cls, sizeof cls);
    int c = strcmp(cls, "bandwidth") == 0 ? 0 : strcmp(cls, "server") == 0 ? 1 : 2;
    q->by_class[c] += (uint64_t)val_i64(&vals[2]);
    return 0;
}

static int dur_row(void *user, size_t ncols, const char *const *names,
                   const struct ks_store_value *vals)
{
    struct sq *q = user;
    (void)names;
    if (ncols < 4)
        return 0;
    int64_t a = val_i64(&vals[0]), b = val_i64(&vals[1]), c = val_i64(&vals[2]);
    int64_t total = val_i64(&vals[3]);
    if (q->cli->json) {
        ks_cli_json_line(json_pack("{s:s,s:I,s:I,s:I,s:I}", "kind", "durations", "lt_30min",
                                   (json_int_t)a, "30min_24h", (json_int_t)b, "gt_24h",
                                   (json_int_t)c, "total", (json_int_t)total));
    } else {
        printf("\ndurations: < 30 min %" PRId64 " (%.0f%%), 30 min - 24 h %" PRId64
               " (%.0f%%), longer %" PRId64 " (%.0f%%)\n",
               a, total ? 100.0 * (double)a / (double)total : 0, b,
               total ? 100.0 * (double)b / (double)total : 0, c,
               total ? 100.0 * (double)c / (double)total : 0);
    }
    return 0;
}

static int largest_row(void *user, size_t ncols, const char *const *names,
                       const struct ks_store_value *vals)
{
    struct sq *q = user;
    struct largest *l = &q->largest;
    (void)names;
    if (ncols < 8)
        return 1;
    char tgt[KS_ADDR_STRLEN], cls[32], vec[512];
    l->found = true;
    l->input_id = val_i64(&vals[0]);
    l->attack = val_i64(&vals[1]);
    val_text(&vals[2], tgt, sizeof tgt);
    int64_t start = val_i64(&vals[3]), end = val_i64(&vals[4]);
    val_text(&vals[5], cls, sizeof cls);
    val_text(&vals[6], vec, sizeof vec);
    int64_t peak = val_i64(&vals[7]);
    char s[KS_TIME_STRLEN];
    fmt_time(start, s, sizeof s);
    if (q->cli->json)
        ks_cli_json_line(json_pack("{s:s,s:s,s:s,s:f,s:s,s:s,s:I}", "kind", "largest", "target",
                                   tgt, "start", s, "duration_s", (double)(end - start) / 1e6,
                                   "class", cls, "vectors", vec, "peak_bps", (json_int_t)peak));
    else
        printf("\nlargest attack: %s at %s, %.1f s, %s, %s, peak %" PRId64 " bit/s\n", tgt, s,
               (double)(end - start) / 1e6, cls, vec, peak);
    return 1;
}

static int timeline_row(void *user, size_t ncols, const char *const *names,
                        const struct ks_store_value *vals)
{
    struct sq *q = user;
    (void)names;
    if (ncols < 5)
        return 0;
    char t[KS_TIME_STRLEN], vec[512];
    fmt_time(val_i64(&vals[0]), t, sizeof t);
    int64_t secs = val_i64(&vals[1]), pk = val_i64(&vals[2]), by = val_i64(&vals[3]);
    val_text(&vals[4], vec, sizeof vec);
    double s = secs > 0 ? (double)secs : 1;
    if (q->cli->json)
        ks_cli_json_line(json_pack("{s:s,s:s,s:I,s:I,s:f,s:s}", "kind", "timeline", "t", t,
                                   "seconds", (json_int_t)secs, "packets", (json_int_t)pk, "bps",
                                   (double)by * 8 / s, "vectors", vec));
    else
        printf("  %s %4" PRId64 "s %12.0f pps %14.0f bps  %s\n", t, secs, (double)pk / s,
               (double)by * 8 / s, vec);
    return 0;
}

static int cmd_stats(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "ddos stats", stats_usage, stats_help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS, {0}};
    int opt, code = KS_EXIT_OK;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int c = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (c < 0)
            return code;
        if (c == 0)
            return ks_cli_usage_error(&cli, "unknown option");
    }
    if (optind < argc)
        return ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
    struct ks_store_config sc;
    ks_store_config_default(&sc);
    sc.readonly = true;
    struct ks_store *st = NULL;
    int rc = ks_store_open(cli.db_path, &sc, &st);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        return KS_EXIT_FAIL;
    }
    struct sq q = {.cli = &cli};
    if (!cli.json)
        printf("%-12s %9s %9s %9s\n", "DAY (UTC)", "BANDWIDTH", "SERVER", "COMPOSITE");
    rc = ks_store_query(st,
                        "SELECT a.start_ts / 86400000000 - (a.start_ts < 0 AND a.start_ts % "
                        "86400000000 != 0) AS day, a.class, count(*) FROM ddos_attacks a" JOIN
                        "GROUP BY day, a.class ORDER BY day, a.class",
                        NULL, 0, day_row, &q);
    flush_day(&q);
    if (rc == KS_OK)
        rc = ks_store_query(st,
                            "SELECT coalesce(sum(a.end_ts - a.start_ts < 1800000000), 0), "
                            "coalesce(sum(a.end_ts - a.start_ts >= 1800000000 AND a.end_ts - "
                            "a.start_ts < 86400000000), 0), coalesce(sum(a.end_ts - a.start_ts "
                            ">= 86400000000), 0), count(*) FROM ddos_attacks a" JOIN,
                            NULL, 0, dur_row, &q);
    struct largest *l = &q.largest;
    if (rc == KS_OK) {
        rc = ks_store_query(st,
                            "SELECT a.input_id, a.attack, a.target, a.start_ts, a.end_ts, "
                            "a.class, a.vectors, a.peak_bps FROM ddos_attacks a" JOIN
                            "ORDER BY a.peak_bps DESC, a.packets DESC LIMIT 1",
                            NULL, 0, largest_row, &q);
        if (rc == 1)
            rc = KS_OK;
    }
    if (rc == KS_OK && l->found) {
        struct ks_store_value p[2] = {{.type = KS_TYPE_I64, .v.i64 = l->input_id},
                                      {.type = KS_TYPE_I64, .v.i64 = l->attack}};
        rc = ks_store_query(st,
                            "SELECT ts, seconds, packets, bytes, vectors FROM ddos_timeline "
                            "WHERE input_id = ?1 AND attack = ?2 ORDER BY ts",
                            p, 2, timeline_row, &q);
    }
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(st));
        code = KS_EXIT_FAIL;
    }
    ks_store_close(st);
    return code;
}

int ks_cmd_ddos(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "detect") == 0)
        return cmd_detect(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    struct ks_cli cli;
    ks_cli_init(&cli, "ddos", ddos_usage, ddos_help);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(ddos_help, stdout);
        return KS_EXIT_OK;
    }
    if (argc < 2)
        return ks_cli_usage_error(&cli, "missing verb (detect or stats)");
    return ks_cli_usage_error(&cli, "unknown verb '%s'", argv[1]);
}
