/* kansoku collect: NetFlow v5/v9, IPFIX and sFlow v5 export received on UDP sockets or read
 * from captures of export packets; flows printed, counted per exporter, or fed to the DDoS
 * detector and the darknet statistics scaled by the sampling rate. */
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
#include "kansoku/ks_darknet.h"
#include "kansoku/ks_ddos.h"
#include "kansoku/ks_flow.h"
#include "kansoku/ks_geo.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

static const char collect_usage[] =
    "Usage: kansoku collect [-r FILE]... [--netflow|--ipfix|--sflow ADDR:PORT]... [options]\n"
    "         [--stats | --ddos [thresholds] | --darknet --sensor NAME --monitored P...]\n";

static const char collect_help[] =
    "Usage: kansoku collect [-r FILE]... [--netflow|--ipfix|--sflow ADDR:PORT]... [options]\n"
    "         [--stats | --ddos [thresholds] | --darknet --sensor NAME --monitored P...]\n"
    "\n"
    "Collects NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011) and sFlow v5 export: from\n"
    "UDP sockets, or from pcap/pcapng captures of export packets (every UDP datagram in them;\n"
    "--port narrows it). The protocol of each datagram is recognised from its version, so any\n"
    "socket takes any of them. Templates are kept per exporter and observation domain (source\n"
    "id); options templates give the sampling rate. Bad export (templates that lie about\n"
    "lengths, fields past the packet, unknown templates, sequence gaps, restarts, sFlow\n"
    "headers cut short) is counted per exporter and reason.\n"
    "\n"
    "Input:\n"
    "  -r, --read FILE          a capture of export packets ('-' stdin; repeatable; bare FILEs)\n"
    "      --netflow ADDR:PORT  listen on UDP (e.g. 0.0.0.0:2055, [::]:2055, :2055)\n"
    "      --ipfix ADDR:PORT    the same (e.g. :4739)\n"
    "      --sflow ADDR:PORT    the same (e.g. :6343)\n"
    "      --duration S         live: stop after S seconds (default: at Ctrl-C)\n"
    "      --count N            live: stop after N datagrams\n"
    "      --port N             files: only datagrams sent to UDP port N\n"
    "Collector:\n"
    "      --sample-rate N      rate when an exporter announces none (default 1)\n"
    "      --ignore-sampling    take every record as unsampled\n"
    "      --max-exporters N    sources (exporter x domain) held (default 4096, LRU)\n"
    "      --max-templates N    templates held (default 8192, LRU)\n"
    "      --template-timeout S drop templates not refreshed for S seconds (default 1800)\n"
    "Output (one of):\n"
    "  (default)                every flow: a table, or with --json one object per line:\n"
    "                           exporter, proto, domain, start, end, src, dst, sport, dport,\n"
    "                           ip_proto, tcp_flags, tos, packets, bytes, sampling, in_if,\n"
    "                           out_if, src_as, dst_as (icmp_type, icmp_code for ICMP)\n"
    "      --stats              per exporter and domain: datagrams, records, packets, bytes,\n"
    "                           sampling, lost, templates, problems by reason; then a total\n"
    "      --ddos               DDoS attacks (as 'kansoku ddos detect'), flows spread over\n"
    "                           their seconds and scaled by the sampling rate\n"
    "      --threshold-pps N  --threshold-bps N  --start-after S  --end-after S  --config FILE\n"
    "      --darknet            darknet statistics (as 'kansoku darknet'); needs --sensor NAME\n"
    "                           and --monitored PREFIX (repeatable or comma-separated)\n"
    "      --reorder S          analyzers: hold spread packets up to S seconds to put them in\n"
    "                           time order (default 120; at most 65536 held)\n"
    "      --db PATH            with --ddos/--darknet: store the attacks / darknet rows\n"
    "      --force              store an input ingested before again\n"
    "\n"
    "A summary goes to stderr: datagrams, records, packets, bytes, and the problems counted.\n"
    "\n"
    "Exit status: 0 done (bad export is counted, not fatal); 1 input unreadable, socket or\n"
    "store error; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

enum {
    OPT_NETFLOW = 0x200,
    OPT_IPFIX,
    OPT_SFLOW,
    OPT_DURATION,
    OPT_COUNT,
    OPT_PORT,
    OPT_SAMPLE,
    OPT_IGNORE_SAMPLING,
    OPT_MAX_EXP,
    OPT_MAX_TMPL,
    OPT_TMPL_TIMEOUT,
    OPT_STATS,
    OPT_DDOS,
    OPT_TPPS,
    OPT_TBPS,
    OPT_START,
    OPT_END,
    OPT_CONFIG,
    OPT_DARKNET,
    OPT_SENSOR,
    OPT_MONITORED,
    OPT_REORDER,
    OPT_FORCE,
};

/* --- packets in time order for the analyzers ------------------------------------------------- */

#define HEAP_CAP 65536

struct run {
    struct ks_cli *cli;
    bool print_flows;
    bool table_header;
    struct ks_ddos *ddos;
    struct ks_darknet *darknet;
    struct ks_ingest *ing;
    int store_rc;
    uint64_t attacks, stored_attacks, cells;
    /* min-heap of spread packets by time */
    struct ks_pkt *heap;
    size_t nheap;
    int64_t newest_us, reorder_us;
    uint64_t spread_pkts;
    const char *sensor;
};

static void analyze(struct run *r, const struct ks_pkt *p)
{
    if (r->ddos)
        ks_ddos_feed(r->ddos, p);
    if (r->darknet)
        ks_darknet_feed(r->darknet, p);
}

static void heap_pop(struct run *r)
{
    struct ks_pkt top = r->heap[0];
    struct ks_pkt last = r->heap[--r->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= r->nheap)
            break;
        if (c + 1 < r->nheap && r->heap[c + 1].ts_us < r->heap[c].ts_us)
            c++;
        if (r->heap[c].ts_us >= last.ts_us)
            break;
        r->heap[i] = r->heap[c];
        i = c;
    }
    if (r->nheap)
        r->heap[i] = last;
    analyze(r, &top);
}

static void on_spread(void *user, const struct ks_pkt *p)
{
    struct run *r = user;
    r->spread_pkts++;
    if (!r->heap) {
        analyze(r, p);
        return;
    }
    if (r->nheap == HEAP_CAP)
        heap_pop(r);
    size_t i = r->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (r->heap[parent].ts_us <= p->ts_us)
            break;
        r->heap[i] = r->heap[parent];
        i = parent;
    }
    r->heap[i] = *p;
    /* The payload (sFlow headers) lives in a buffer the next datagram overwrites. */
    r->heap[i].payload = NULL;
    r->heap[i].payload_len = 0;
}

static void heap_release(struct run *r, int64_t before_us)
{
    while (r->nheap && r->heap[0].ts_us < before_us)
        heap_pop(r);
}

/* --- flows --------------------------------------------------------------------------------------
 */

static void fmt_time(int64_t t_us, char *buf, size_t size)
{
    if (ks_time_format(t_us, 0, 3, buf, size) < 0)
        snprintf(buf, size, "%" PRId64, t_us);
}

static void print_flow(struct run *r, const struct ks_flow_rec *f)
{
    char ex[KS_ADDR_STRLEN], s[KS_ADDR_STRLEN] = "", d[KS_ADDR_STRLEN] = "";
    char t0[KS_TIME_STRLEN], t1[KS_TIME_STRLEN];
    ks_addr_format(&f->exporter, ex, sizeof ex);
    ks_addr_format(&f->src, s, sizeof s);
    ks_addr_format(&f->dst, d, sizeof d);
    fmt_time(f->start_us, t0, sizeof t0);
    fmt_time(f->end_us, t1, sizeof t1);
    bool icmp = f->proto_ip == 1 || f->proto_ip == 58;
    if (r->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "exporter", json_string(ex));
        json_object_set_new(o, "proto", json_string(ks_flow_proto_name(f->proto)));
        json_object_set_new(o, "domain", json_integer(f->domain));
        json_object_set_new(o, "start", json_string(t0));
        json_object_set_new(o, "end", json_string(t1));
        json_object_set_new(o, "src", s[0] ? json_string(s) : json_null());
        json_object_set_new(o, "dst", d[0] ? json_string(d) : json_null());
        json_object_set_new(o, "sport", json_integer(f->sport));
        json_object_set_new(o, "dport", json_integer(f->dport));
        json_object_set_new(o, "ip_proto", json_integer(f->proto_ip));
        if (icmp) {
            json_object_set_new(o, "icmp_type", json_integer(f->icmp_type));
            json_object_set_new(o, "icmp_code", json_integer(f->icmp_code));
        }
        json_object_set_new(o, "tcp_flags", json_integer(f->tcp_flags));
        json_object_set_new(o, "tos", json_integer(f->tos));
        json_object_set_new(o, "packets", json_integer((json_int_t)f->packets));
        json_object_set_new(o, "bytes", json_integer((json_int_t)f->bytes));
        json_object_set_new(o, "sampling", json_integer(f->sampling));
        json_object_set_new(o, "in_if", json_integer(f->in_if));
        json_object_set_new(o, "out_if", json_integer(f->out_if));
        json_object_set_new(o, "src_as", json_integer(f->src_as));
        json_object_set_new(o, "dst_as", json_integer(f->dst_as));
        ks_cli_json_line(o);
        return;
    }
    if (!r->table_header) {
        printf("%-24s %-16s %-8s %5s %-40s %-40s %10s %12s %6s\n", "START (UTC)", "EXPORTER",
               "PROTO", "IP", "SRC", "DST", "PACKETS", "BYTES", "RATE");
        r->table_header = true;
    }
    char sp[64], dp[64];
    snprintf(sp, sizeof sp, "%s:%u", s[0] ? s : "-", icmp ? 0u : (unsigned)f->sport);
    if (icmp)
        snprintf(dp, sizeof dp, "%s icmp %u/%u", d[0] ? d : "-", f->icmp_type, f->icmp_code);
    else
        snprintf(dp, sizeof dp, "%s:%u", d[0] ? d : "-", (unsigned)f->dport);
    printf("%-24s %-16s %-8s %5u %-40s %-40s %10" PRIu64 " %12" PRIu64 " %6u\n", t0, ex,
           ks_flow_proto_name(f->proto), f->proto_ip, sp, dp, f->packets, f->bytes, f->sampling);
}

static void on_record(void *user, const struct ks_flow_rec *f)
{
    struct run *r = user;
    if (r->print_flows)
        print_flow(r, f);
    if (r->ddos || r->darknet) {
        ks_flow_spread(f, 0, on_spread, r);
        int64_t t = f->end_us > f->start_us ? f->end_us : f->start_us;
        if (t > r->newest_us)
            r->newest_us = t;
        if (r->heap)
            heap_release(r, r->newest_us - r->reorder_us);
    }
}

/* --- per-exporter statistics ---------------------------------------------------------------- */

static json_t *reasons_json(const uint64_t *reasons)
{
    json_t *o = json_object();
    for (unsigned i = 0; i < KS_FLOW_R_COUNT; i++)
        if (reasons[i])
            json_object_set_new(o, ks_flow_reason_name(i), json_integer((json_int_t)reasons[i]));
    return o;
}

static void reasons_text(const uint64_t *reasons, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < KS_FLOW_R_COUNT && n + 40 < size; i++)
        if (reasons[i])
            n += (size_t)snprintf(buf + n, size - n, "%s%s=%" PRIu64, n ? "," : "",
                                  ks_flow_reason_name(i), reasons[i]);
    if (!n)
        snprintf(buf, size, "-");
}

static void print_source(void *user, const struct ks_flow_source_stats *s)
{
    struct run *r = user;
    char ex[KS_ADDR_STRLEN];
    ks_addr_format(&s->exporter, ex, sizeof ex);
    if (r->cli->json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "kind", "exporter",
                              "exporter", ex, "proto", ks_flow_proto_name(s->proto), "domain",
                              (json_int_t)s->domain, "datagrams", (json_int_t)s->datagrams,
                              "records", (json_int_t)s->records, "packets", (json_int_t)s->packets,
                              "bytes", (json_int_t)s->bytes, "sampling", (json_int_t)s->sampling,
                              "lost", (json_int_t)s->lost, "templates", (json_int_t)s->templates);
        json_object_set_new(o, "problems", reasons_json(s->reasons));
        ks_cli_json_line(o);
        return;
    }
    if (!r->table_header) {
        printf("%-40s %-8s %10s %9s %10s %12s %14s %6s %8s %s\n", "EXPORTER", "PROTO", "DOMAIN",
               "DATAGRAMS", "RECORDS", "PACKETS", "BYTES", "RATE", "LOST", "PROBLEMS");
        r->table_header = true;
    }
    char why[512];
    reasons_text(s->reasons, why, sizeof why);
    printf("%-40s %-8s %10u %9" PRIu64 " %10" PRIu64 " %12" PRIu64 " %14" PRIu64 " %6u %8" PRIu64
           " %s\n",
           ex, ks_flow_proto_name(s->proto), s->domain, s->datagrams, s->records, s->packets,
           s->bytes, s->sampling, s->lost, why);
}

/* --- analyzers' output -------------------------------------------------------------------------
 */

static json_t *vectors_json(uint32_t mask)
{
    json_t *arr = json_array();
    for (unsigned v = 0; v < KS_VEC_COUNT; v++)
        if (mask >> v & 1u)
            json_array_append_new(arr, json_string(ks_ddos_vector_name(v)));
    return arr;
}

static void on_attack(void *user, const struct ks_ddos_attack *a)
{
    struct run *r = user;
    r->attacks++;
    if (r->ing && r->store_rc == KS_OK) {
        r->store_rc = ks_ddos_store_attack(r->ing, r->stored_attacks + 1, a);
        if (r->store_rc == KS_OK)
            r->stored_attacks++;
    }
    char tgt[KS_PREFIX_STRLEN], s[KS_TIME_STRLEN], e[KS_TIME_STRLEN];
    if (a->target.len == (a->target.addr.family == 4 ? 32 : 128))
        ks_addr_format(&a->target.addr, tgt, sizeof tgt);
    else
        ks_prefix_format(&a->target, tgt, sizeof tgt);
    fmt_time(a->start_us, s, sizeof s);
    fmt_time(a->end_us, e, sizeof e);
    const char *mv = ks_ddos_vector_name(a->main_vector);
    if (r->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "kind", json_string("attack"));
        json_object_set_new(o, "target", json_string(tgt));
        json_object_set_new(o, "prefix_len", json_integer(a->target.len));
        json_object_set_new(o, "start", json_string(s));
        json_object_set_new(o, "end", json_string(e));
        json_object_set_new(o, "duration_s",
                            json_real(round((double)(a->end_us - a->start_us) / 1e3) / 1e3));
        json_object_set_new(o, "class", json_string(ks_ddos_class_name(a->cls)));
        json_object_set_new(o, "vectors", vectors_json(a->vectors));
        json_object_set_new(o, "main_vector", mv ? json_string(mv) : json_null());
        json_object_set_new(o, "peak_pps", json_integer((json_int_t)a->peak_pps));
        json_object_set_new(o, "peak_bps", json_integer((json_int_t)a->peak_bps));
        json_object_set_new(o, "packets", json_integer((json_int_t)a->packets));
        json_object_set_new(o, "bytes", json_integer((json_int_t)a->bytes));
        json_object_set_new(o, "sources", json_integer((json_int_t)llround(a->dispersion.sources)));
        json_object_set_new(o, "dispersion",
                            json_string(ks_ddos_disp_name(a->dispersion.judgement)));
        json_object_set_new(o, "open", json_boolean(a->open));
        ks_cli_json_line(o);
    } else {
        printf("attack %s %s %.1fs %s %s peak %" PRIu64 " pps %" PRIu64 " bps, %" PRIu64
               " packets, %.0f sources%s\n",
               tgt, s, (double)(a->end_us - a->start_us) / 1e6, ks_ddos_class_name(a->cls),
               mv ? mv : "-", a->peak_pps, a->peak_bps, a->packets, a->dispersion.sources,
               a->open ? " (open)" : "");
    }
    fflush(stdout);
}

/* Keeps the first store error of a row written by ks_darknet_store_*. */
static void row_end(struct run *r, int rc)
{
    if (rc != KS_OK && r->store_rc == KS_OK)
        r->store_rc = rc;
}

static void on_cell(void *user, const struct ks_darknet_cell *c)
{
    struct run *r = user;
    r->cells++;
    if (r->ing && r->store_rc == KS_OK)
        row_end(r, ks_darknet_store_cell(r->ing, c));
    char day[KS_TIME_STRLEN], pb[8];
    ks_time_format(c->day, 0, 0, day, sizeof day);
    day[10] = '\0';
    const char *proto = ks_darknet_proto_name(c->proto, pb, sizeof pb);
    if (r->cli->json)
        ks_cli_json_line(
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:I}", "kind", "darknet", "day", day,
                      "sensor", c->sensor, "type", ks_darknet_kind_name(c->kind), "proto", proto,
                      "port", (int)c->port, "packets", (json_int_t)c->packets, "bytes",
                      (json_int_t)c->bytes, "sources", (json_int_t)llround(c->sources)));
    else
        printf("darknet %s %s %s %s %u %" PRIu64 " packets %" PRIu64 " bytes %.0f sources\n", day,
               c->sensor, ks_darknet_kind_name(c->kind), proto, (unsigned)c->port, c->packets,
               c->bytes, c->sources);
}

static void on_dsource(void *user, const struct ks_darknet_source *s)
{
    struct run *r = user;
    if (!r->ing || r->store_rc != KS_OK)
        return;
    row_end(r, ks_darknet_store_source(r->ing, s));
}

static void on_dday(void *user, const struct ks_darknet_day *d)
{
    struct run *r = user;
    if (!r->ing || r->store_rc != KS_OK)
        return;
    row_end(r, ks_darknet_store_day(r->ing, d));
}

/* --- options ---------------------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;
static struct ks_flow *g_flow;
static struct ks_capture *g_cap;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
    if (g_flow)
        ks_flow_break(g_flow);
    if (g_cap)
        ks_capture_break(g_cap);
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int ks_cmd_collect(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "collect", collect_usage, collect_help);
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        {"read", required_argument, NULL, 'r'},
        {"netflow", required_argument, NULL, OPT_NETFLOW},
        {"ipfix", required_argument, NULL, OPT_IPFIX},
        {"sflow", required_argument, NULL, OPT_SFLOW},
        {"duration", required_argument, NULL, OPT_DURATION},
        {"count", required_argument, NULL, OPT_COUNT},
        {"port", required_argument, NULL, OPT_PORT},
        {"sample-rate", required_argument, NULL, OPT_SAMPLE},
        {"ignore-sampling", no_argument, NULL, OPT_IGNORE_SAMPLING},
        {"max-exporters", required_argument, NULL, OPT_MAX_EXP},
        {"max-templates", required_argument, NULL, OPT_MAX_TMPL},
        {"template-timeout", required_argument, NULL, OPT_TMPL_TIMEOUT},
        {"stats", no_argument, NULL, OPT_STATS},
        {"ddos", no_argument, NULL, OPT_DDOS},
        {"threshold-pps", required_argument, NULL, OPT_TPPS},
        {"threshold-bps", required_argument, NULL, OPT_TBPS},
        {"start-after", required_argument, NULL, OPT_START},
        {"end-after", required_argument, NULL, OPT_END},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"darknet", no_argument, NULL, OPT_DARKNET},
        {"sensor", required_argument, NULL, OPT_SENSOR},
        {"monitored", required_argument, NULL, OPT_MONITORED},
        {"reorder", required_argument, NULL, OPT_REORDER},
        {"force", no_argument, NULL, OPT_FORCE},
        {0},
    };
    int code = KS_EXIT_OK, opt;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    char **listen = calloc((size_t)argc + 1, sizeof *listen);
    char **prefixes = calloc((size_t)argc + 1, sizeof *prefixes);
    size_t nfiles = 0, nlisten = 0, nprefixes = 0;
    struct ks_flow_config fcfg;
    ks_flow_config_default(&fcfg);
    struct ks_ddos_config dcfg;
    ks_ddos_config_default(&dcfg);
    dcfg.workers = 0;
    struct ks_darknet_config ncfg;
    ks_darknet_config_default(&ncfg);
    bool stats = false, want_ddos = false, want_darknet = false, db = false, force = false;
    uint64_t duration = 0, count = 0, port = 0, reorder = 120;
    const char *config = NULL;
    struct {
        int opt;
        uint64_t v;
    } thr[8];
    size_t nthr = 0;
    struct ks_ddos_rules *rules = NULL;
    struct ks_flow *f = NULL;
    struct ks_capture *cap = NULL;
    struct ks_store *store = NULL;
    struct ks_geo *geo = NULL;
    struct run r = {.cli = &cli};
    if (!files || !listen || !prefixes) {
        code = KS_EXIT_FAIL;
        goto out;
    }
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT "r:", opts, NULL)) != -1) {
        int c = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (c < 0)
            goto out;
        if (c > 0) {
            if (opt == 0x101)
                db = true;
            continue;
        }
        uint64_t v = 0;
        switch (opt) {
        case 'r':
            files[nfiles++] = optarg;
            break;
        case OPT_NETFLOW:
        case OPT_IPFIX:
        case OPT_SFLOW:
            listen[nlisten++] = optarg;
            break;
        case OPT_STATS:
            stats = true;
            break;
        case OPT_DDOS:
            want_ddos = true;
            break;
        case OPT_DARKNET:
            want_darknet = true;
            break;
        case OPT_IGNORE_SAMPLING:
            fcfg.ignore_sampling = true;
            break;
        case OPT_FORCE:
            force = true;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_SENSOR:
            ncfg.sensor = optarg;
            break;
        case OPT_MONITORED:
            prefixes[nprefixes++] = optarg;
            break;
        case '?':
            code = ks_cli_usage_error(&cli, "unknown option or missing argument '%s'",
                                      argv[optind - 1]);
            goto out;
        default: {
            uint64_t max = opt == OPT_PORT                      ? 65535
                           : opt == OPT_TPPS || opt == OPT_TBPS ? UINT64_MAX / 2
                                                                : UINT32_MAX;
            if (!ks_cli_parse_metric(optarg, max, &v) ||
                (v == 0 && (opt == OPT_SAMPLE || opt == OPT_MAX_EXP || opt == OPT_MAX_TMPL ||
                            opt == OPT_PORT || opt == OPT_COUNT || opt == OPT_DURATION))) {
                code = ks_cli_usage_error(&cli, "bad value '%s' for %s", optarg, argv[optind - 1]);
                goto out;
            }
            switch (opt) {
            case OPT_DURATION:
                duration = v;
                break;
            case OPT_COUNT:
                count = v;
                break;
            case OPT_PORT:
                port = v;
                break;
            case OPT_SAMPLE:
                fcfg.default_sampling = (uint32_t)v;
                break;
            case OPT_MAX_EXP:
                fcfg.max_sources = (uint32_t)v;
                break;
            case OPT_MAX_TMPL:
                fcfg.max_templates = (uint32_t)v;
                break;
            case OPT_TMPL_TIMEOUT:
                fcfg.template_timeout_s = (uint32_t)v;
                break;
            case OPT_REORDER:
                reorder = v;
                break;
            default:
                if (nthr < 8) {
                    thr[nthr].opt = opt;
                    thr[nthr++].v = v;
                }
            }
        }
        }
    }
    for (int i = optind; i < argc; i++)
        files[nfiles++] = argv[i];
    if (!nfiles && !nlisten) {
        code = ks_cli_usage_error(&cli, "no input: give -r FILE or --netflow/--ipfix/--sflow "
                                        "ADDR:PORT");
        goto out;
    }
    if (nfiles && nlisten) {
        code = ks_cli_usage_error(&cli, "give capture files or sockets, not both");
        goto out;
    }
    if (stats && (want_ddos || want_darknet)) {
        code = ks_cli_usage_error(&cli, "--stats does not go with --ddos or --darknet");
        goto out;
    }
    if (want_darknet && (!ncfg.sensor || !nprefixes)) {
        code = ks_cli_usage_error(&cli, "--darknet needs --sensor NAME and --monitored PREFIX");
        goto out;
    }
    if (db && !want_ddos && !want_darknet) {
        code = ks_cli_usage_error(&cli, "--db stores what --ddos or --darknet find; give one");
        goto out;
    }
    r.print_flows = !stats && !want_ddos && !want_darknet;
    r.reorder_us = (int64_t)reorder * 1000000;
    r.sensor = ncfg.sensor;
    r.newest_us = INT64_MIN / 2;

    if (want_ddos) {
        if (config && ks_ddos_config_load(config, &dcfg, &rules, &cli.diag) != KS_OK) {
            ks_cli_error(&cli, "%s: cannot read the thresholds", config);
            code = KS_EXIT_FAIL;
            goto out;
        }
        dcfg.rules = rules;
        for (size_t i = 0; i < nthr; i++) {
            if (thr[i].opt == OPT_TPPS)
                dcfg.thr.pps = thr[i].v;
            else if (thr[i].opt == OPT_TBPS)
                dcfg.thr.bps = thr[i].v;
            else if (thr[i].opt == OPT_START)
                dcfg.start_after_s = (uint32_t)thr[i].v;
            else if (thr[i].opt == OPT_END)
                dcfg.end_after_s = (uint32_t)thr[i].v;
        }
        dcfg.workers = 0;
        dcfg.on_attack = on_attack;
        dcfg.user = &r;
        if (ks_ddos_new(&dcfg, &r.ddos) != KS_OK) {
            ks_cli_error(&cli, "cannot start the DDoS detector");
            code = KS_EXIT_FAIL;
            goto out;
        }
    }
    if (want_darknet) {
        int grc = ks_geo_open(cli.geo_dir, &geo);
        if (grc != KS_OK)
            ks_cli_warn(&cli,
                        "%s: geolocation data missing or incomplete (%s): sources will be "
                        "'--' / AS0",
                        cli.geo_dir, ks_strerror(grc));
        ncfg.geo = geo;
        ncfg.diag = &cli.diag;
        struct ks_darknet_sink sink = {on_cell, on_dsource, on_dday, &r};
        if (ks_darknet_new(&ncfg, &sink, &r.darknet) != KS_OK) {
            ks_cli_error(&cli, "cannot set up the darknet statistics");
            code = KS_EXIT_FAIL;
            goto out;
        }
        for (size_t i = 0; i < nprefixes; i++) {
            const char *tok = prefixes[i];
            while (*tok) {
                const char *comma = strchr(tok, ',');
                size_t len = comma ? (size_t)(comma - tok) : strlen(tok);
                struct ks_prefix p;
                if (ks_prefix_parse(tok, len, &p, NULL) != KS_OK) {
                    code = ks_cli_usage_error(&cli, "--monitored: '%.*s' is not a prefix", (int)len,
                                              tok);
                    goto out;
                }
                ks_darknet_add_prefix(r.darknet, &p);
                tok += len + (comma != NULL);
            }
        }
    }
    if (r.ddos || r.darknet) {
        r.heap = reorder ? malloc(HEAP_CAP * sizeof *r.heap) : NULL;
        if (reorder && !r.heap) {
            code = KS_EXIT_FAIL;
            goto out;
        }
    }
    if (db) {
        char salt[512];
        snprintf(salt, sizeof salt, "collect:%s%s:%s", want_ddos ? "ddos" : "",
                 want_darknet ? "darknet" : "", ncfg.sensor ? ncfg.sensor : "");
        struct ks_store_input in = {.name = nfiles ? files[0] : listen[0], .kind = "collect"};
        if (ks_cli_capture_identity(&cli, (const char *const *)files, nfiles,
                                    nlisten > 0 ? "udp" : NULL, salt, &in) != KS_OK) {
            code = KS_EXIT_FAIL;
            goto out;
        }
        if (ks_store_open(cli.db_path, NULL, &store) != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
            code = KS_EXIT_FAIL;
            goto out;
        }
        int rc = ks_store_input_begin(store, &in, force ? KS_STORE_FORCE : 0, &r.ing);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s: %s", in.name,
                         rc == KS_EEXIST ? "ingested before (same content); --force stores it "
                                           "again"
                                         : ks_store_errmsg(store));
            code = KS_EXIT_FAIL;
            goto out;
        }
    }

    fcfg.diag = &cli.diag;
    fcfg.on_record = on_record;
    fcfg.user = &r;
    if (ks_flow_new(&fcfg, &f) != KS_OK) {
        ks_cli_error(&cli, "cannot set up the collector");
        code = KS_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < nlisten; i++) {
        int rc = ks_flow_listen(f, listen[i]);
        if (rc != KS_OK) {
            if (rc == KS_EINVAL)
                code = ks_cli_usage_error(&cli, "'%s' is not ADDR:PORT", listen[i]);
            else {
                ks_cli_error(&cli, "%s: %s", listen[i],
                             rc == KS_EIO ? strerror(errno) : ks_strerror(rc));
                code = KS_EXIT_FAIL;
            }
            goto out;
        }
    }
    g_flow = f;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint64_t not_udp = 0, other_port = 0, fragments = 0;
    if (nfiles) {
        struct ks_capture_config cc;
        ks_capture_config_default(&cc);
        cc.diag = &cli.diag;
        cc.keep_order = true;
        if (ks_capture_open_files((const char *const *)files, nfiles, &cc, &cap) != KS_OK) {
            ks_cli_error(&cli, "%s", ks_capture_errmsg(NULL));
            code = KS_EXIT_FAIL;
            goto out;
        }
        g_cap = cap;
        struct ks_pkt p;
        for (;;) {
            int n = ks_capture_next(cap, &p);
            if (n == 0 || n == KS_EINTR)
                break;
            if (n < 0) {
                ks_cli_error(&cli, "%s", ks_capture_errmsg(cap));
                code = KS_EXIT_FAIL;
                if (n == KS_ETRUNC || n == KS_EFORMAT)
                    continue; /* the next file, if any */
                break;
            }
            if (p.proto != 17 || !(p.flags & KS_PKT_L4)) {
                if (p.flags & KS_PKT_FRAG)
                    fragments++;
                else
                    not_udp++;
                continue;
            }
            if (port && p.dport != port) {
                other_port++;
                continue;
            }
            struct ks_loc loc = {
                .source = ks_capture_source(cap), .offset = p.offset, .packet = p.number};
            ks_flow_feed(f, p.payload, p.payload_len, &p.src, p.sport, p.ts_us, &loc);
        }
    } else {
        int64_t end = duration ? now_us() + (int64_t)duration * 1000000 : INT64_MAX;
        while (!g_stop) {
            int64_t left_ms = end == INT64_MAX ? 500 : (end - now_us()) / 1000;
            if (left_ms <= 0)
                break;
            int n = ks_flow_poll(f, left_ms > 500 ? 500 : (int)left_ms);
            if (n == KS_EINTR)
                break;
            if (n < 0) {
                ks_cli_error(&cli, "receive: %s", strerror(errno));
                code = KS_EXIT_FAIL;
                break;
            }
            if (n == 0 && r.heap)
                heap_release(&r, now_us() - r.reorder_us);
            if (r.ddos && n == 0)
                ks_ddos_tick(r.ddos, now_us());
            struct ks_flow_stats fs;
            ks_flow_stats(f, &fs);
            if (count && fs.datagrams >= count)
                break;
        }
    }
    /* Datagrams already queued on the sockets when asked to stop are still counted. */
    for (int i = 0; nlisten && i < 64 && ks_flow_poll(f, 0) > 0; i++) {
    }
    g_flow = NULL;
    g_cap = NULL;
    while (r.nheap)
        heap_pop(&r);
    if (r.ddos)
        ks_ddos_flush(r.ddos);
    if (r.darknet)
        ks_darknet_flush(r.darknet, INT64_MAX);
    if (stats) {
        ks_flow_sources(f, print_source, &r);
        struct ks_flow_stats fs;
        ks_flow_stats(f, &fs);
        if (cli.json) {
            json_t *o = json_pack(
                "{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "kind", "total", "datagrams",
                (json_int_t)fs.datagrams, "bad_datagrams", (json_int_t)fs.bad_datagrams, "records",
                (json_int_t)fs.records, "packets", (json_int_t)fs.packets, "bytes",
                (json_int_t)fs.bytes, "counters", (json_int_t)fs.counters, "sources",
                (json_int_t)fs.sources, "sources_evicted", (json_int_t)fs.sources_evicted);
            json_object_set_new(o, "problems", reasons_json(fs.reasons));
            ks_cli_json_line(o);
        }
    }
    if (r.ing && ks_cli_store_end(&cli, store, &r.ing, r.store_rc) != KS_OK)
        code = KS_EXIT_FAIL;
    if (!cli.quiet) {
        struct ks_flow_stats fs;
        ks_flow_stats(f, &fs);
        char why[512];
        reasons_text(fs.reasons, why, sizeof why);
        fprintf(stderr,
                "kansoku: collect: %" PRIu64 " datagrams (%" PRIu64 " with problems), %" PRIu64
                " records, %" PRIu64 " packets, %" PRIu64 " bytes (as exported), %" PRIu64
                " exporters; problems: %s\n",
                fs.datagrams, fs.bad_datagrams, fs.records, fs.packets, fs.bytes, fs.sources, why);
        if (nfiles && (not_udp || fragments || other_port))
            ks_cli_info(&cli,
                        "skipped %" PRIu64 " packets not UDP, %" PRIu64 " fragments, %" PRIu64
                        " to other ports",
                        not_udp, fragments, other_port);
        if (r.ddos) {
            struct ks_ddos_stats ds;
            ks_ddos_stats(r.ddos, &ds);
            fprintf(stderr,
                    "kansoku: collect: ddos: %" PRIu64 " packets, %" PRIu64
                    " bytes (scaled), %" PRIu64 " attacks, %" PRIu64 " late packets\n",
                    ds.packets, ds.bytes, ds.attacks, ds.late_packets);
        }
        if (r.darknet) {
            struct ks_darknet_stats ns;
            ks_darknet_stats(r.darknet, &ns);
            fprintf(stderr,
                    "kansoku: collect: darknet: %" PRIu64
                    " packets to monitored addresses (%" PRIu64 " scan, %" PRIu64
                    " backscatter), %" PRIu64 " cells\n",
                    ns.monitored, ns.scan, ns.backscatter, ns.cells);
        }
    }
out:
    g_flow = NULL;
    g_cap = NULL;
    if (r.ing)
        ks_store_input_end(r.ing, false);
    ks_store_close(store);
    ks_flow_free(f);
    ks_capture_free(cap);
    ks_ddos_free(r.ddos);
    ks_darknet_free(r.darknet);
    ks_ddos_rules_free(rules);
    ks_geo_free(geo);
    free(r.heap);
    free(files);
    free(listen);
    free(prefixes);
    return code;
}
