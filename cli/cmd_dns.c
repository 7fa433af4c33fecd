/* kansoku dns: resolver randomness audit and spoofed-response (poisoning) detection from
 * packets (files or a live interface). */
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
#include "kansoku/ks_dns.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

static const char dns_usage[] = "Usage: kansoku dns <verb> [options]\n"
                                "       kansoku dns audit [-r FILE...|-i IFACE] [options]\n"
                                "       kansoku dns poisoning [-r FILE...|-i IFACE] [options]\n";

static const char dns_help[] =
    "Usage: kansoku dns <verb> [options]\n"
    "\n"
    "DNS in packets (files or a live interface): how random the resolvers' source ports and\n"
    "transaction IDs are, and spoofed responses aimed at resolvers (cache poisoning).\n"
    "\n"
    "Verbs:\n"
    "  audit      grade each resolver's port and TXID randomness (DNS-OARC porttest scale)\n"
    "  poisoning  responses that match no outstanding query, grouped by zone: Kaminsky-style\n"
    "             attempts, what they try to plant, and whether one may have succeeded\n"
    "\n"
    "Each verb takes --help.\n"
    "\n" KS_CLI_COMMON_HELP;

#define INPUT_HELP                                                                                 \
    "Input:\n" KS_CLI_INPUT_HELP "      --duration S       live: stop after S seconds\n"           \
    "      --force            with --db, store an input ingested before again\n"

static const char audit_usage[] =
    "Usage: kansoku dns audit [-r FILE...|-i IFACE] [--resolver ADDR]... [--min-queries N]\n"
    "         [--max-queriers N] [--db PATH] [--json] [options] [FILE...]\n";

static const char audit_help[] =
    "Usage: kansoku dns audit [-r FILE...|-i IFACE] [--resolver ADDR]... [--min-queries N]\n"
    "         [--max-queriers N] [--db PATH] [--json] [options] [FILE...]\n"
    "\n"
    "For every host sending queries to port 53: the spread of its UDP source ports and of its\n"
    "transaction IDs (population standard deviation, bits = log2(sd x sqrt 12), distinct\n"
    "values, per-bit bias) and 0x20 case randomisation of its query names. Hosts whose queries\n"
    "mostly have RD=0 are resolvers asking authoritative servers and are graded as DNS-OARC's\n"
    "porttest does: sd >= 3980 GREAT, >= 296 GOOD, else POOR (TXIDs on the same scale; the\n"
    "resolver's grade is the worse of the two). Stub clients (RD=1) are listed, not graded.\n"
    "\n" INPUT_HELP "Audit:\n"
    "      --resolver ADDR    report only this querier (repeatable)\n"
    "      --min-queries N    fewest queries for a grade (default 10)\n"
    "      --max-queriers N   querier table capacity (default 1024; LRU eviction, counted)\n"
    "\n"
    "With --json each querier is one object: resolver, role (resolver|stub), first, last,\n"
    "queries, upstream (RD=0), recursive (RD=1), tcp, servers, ports and txids {n, distinct,\n"
    "min, max, sd, bits, max_bit_bias, biased_bits, grade}, case_0x20 {judgement, letters,\n"
    "upper, mixed_names}, grade (GREAT|GOOD|POOR|null), note.\n"
    "\n"
    "Exit status: 0 done; 1 input unreadable or cut short, store error; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char poison_usage[] =
    "Usage: kansoku dns poisoning [-r FILE...|-i IFACE] [--min-responses N] [--end-after S]\n"
    "         [--max-pending N] [--query-timeout S] [--db PATH] [--json] [options] [FILE...]\n";

static const char poison_help[] =
    "Usage: kansoku dns poisoning [-r FILE...|-i IFACE] [--min-responses N] [--end-after S]\n"
    "         [--max-pending N] [--query-timeout S] [--db PATH] [--json] [options] [FILE...]\n"
    "\n"
    "Remembers every query (client, server, client port, TXID, name) and looks for responses\n"
    "arriving at a querier that match none: spoofed responses. They are grouped by zone (the\n"
    "delegation their NS records target, else the registrable domain of the name) into\n"
    "episodes; an episode with enough responses is an alert, 'kaminsky' when they are for many\n"
    "distinct (random) names, else 'spoofed_responses'. An alert names the zone, the records\n"
    "the forged responses try to plant, the rate, the sources and the resolvers, and says\n"
    "whether a response that did match a query carried a forged record (a possible success).\n"
    "\n" INPUT_HELP "Detection:\n"
    "      --min-responses N  unmatched responses for an alert (default 10)\n"
    "      --min-peak-pps N   ... of which at least N in one second (default 5)\n"
    "      --min-names N      distinct names for 'kaminsky' (default 5)\n"
    "      --end-after S      quiet seconds that end an episode (default 30)\n"
    "      --max-pending N    outstanding-query table capacity (default 262144; LRU, counted)\n"
    "      --query-timeout S  an unanswered query is forgotten after S seconds (default 10)\n"
    "      --max-zones N      zone table capacity (default 1024; LRU, counted)\n"
    "\n"
    "With --json each alert is one object: kind, zone, start, end (RFC 3339 UTC), duration_s,\n"
    "responses, peak_pps, rate_pps, names, txids, sources [{addr,responses}], sources_total,\n"
    "resolvers [{addr,responses}], forged [{type,section,name,value,count}], matched,\n"
    "possible_success, open.\n"
    "\n"
    "Exit status: 0 done (with or without alerts); 1 input unreadable or cut short, store\n"
    "error; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

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

static double round3(double x)
{
    return round(x * 1000) / 1000;
}

static void json_line(json_t *obj)
{
    if (!obj)
        return;
    json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    fputc('\n', stdout);
    json_decref(obj);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* --- output -------------------------------------------------------------------------------- */

struct run {
    struct ks_cli *cli;
    bool audit; /* which verb */
    struct ks_dns_audit *aud;
    size_t naud, capaud;
    struct ks_dns_alert **alerts;
    size_t nal, capal;
    struct ks_ingest *ing;
    int store_rc;
    uint64_t stored;
    bool stream, header_done;
};

static json_t *rand_json(const struct ks_dns_rand *r)
{
    const char *g = ks_dns_grade_name(r->grade);
    json_t *o = json_object();
    json_object_set_new(o, "n", json_integer((json_int_t)r->n));
    json_object_set_new(o, "distinct", json_integer(r->distinct));
    json_object_set_new(o, "min", json_integer(r->min));
    json_object_set_new(o, "max", json_integer(r->max));
    json_object_set_new(o, "sd", json_real(round3(r->sd)));
    json_object_set_new(o, "bits", json_real(round3(r->bits)));
    json_object_set_new(o, "max_bit_bias", json_real(round3(r->max_bit_bias)));
    json_object_set_new(o, "biased_bits", json_integer(r->biased_bits));
    json_object_set_new(o, "grade", g ? json_string(g) : json_null());
    return o;
}

static json_t *audit_json(const struct ks_dns_audit *a)
{
    char ad[KS_ADDR_STRLEN], f[KS_TIME_STRLEN], l[KS_TIME_STRLEN];
    ks_addr_format(&a->addr, ad, sizeof ad);
    fmt_time(a->first_us, f, sizeof f);
    fmt_time(a->last_us, l, sizeof l);
    const char *g = ks_dns_grade_name(a->grade);
    json_t *o = json_object();
    json_object_set_new(o, "resolver", json_string(ad));
    json_object_set_new(o, "role",
                        json_string(a->role == KS_DNS_ROLE_RESOLVER ? "resolver" : "stub"));
    json_object_set_new(o, "first", json_string(f));
    json_object_set_new(o, "last", json_string(l));
    json_object_set_new(o, "queries", json_integer((json_int_t)a->queries));
    json_object_set_new(o, "upstream", json_integer((json_int_t)a->upstream));
    json_object_set_new(o, "recursive", json_integer((json_int_t)a->recursive));
    json_object_set_new(o, "tcp", json_integer((json_int_t)a->tcp));
    json_object_set_new(o, "servers", json_integer(a->servers));
    json_object_set_new(o, "ports", rand_json(&a->ports));
    json_object_set_new(o, "txids", rand_json(&a->txids));
    json_object_set_new(o, "case_0x20",
                        json_pack("{s:s,s:I,s:I,s:I}", "judgement", ks_dns_case_name(a->case0x20),
                                  "letters", (json_int_t)a->letters, "upper", (json_int_t)a->upper,
                                  "mixed_names", (json_int_t)a->mixed_names));
    json_object_set_new(o, "grade", g ? json_string(g) : json_null());
    json_object_set_new(o, "note", a->note ? json_string(a->note) : json_null());
    return o;
}

static const char *type_name(uint16_t t)
{
    switch (t) {
    case KS_DNS_TYPE_A:
        return "A";
    case KS_DNS_TYPE_AAAA:
        return "AAAA";
    case KS_DNS_TYPE_NS:
        return "NS";
    case KS_DNS_TYPE_CNAME:
        return "CNAME";
    case KS_DNS_TYPE_DNAME:
        return "DNAME";
    default:
        return "?";
    }
}

static const char *section_name(uint8_t s)
{
    return s == KS_DNS_ANSWER ? "answer" : s == KS_DNS_AUTHORITY ? "authority" : "additional";
}

static json_t *addrs_json(const struct ks_dns_counted_addr *v, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < n; i++) {
        char ad[KS_ADDR_STRLEN];
        ks_addr_format(&v[i].addr, ad, sizeof ad);
        json_array_append_new(
            arr, json_pack("{s:s,s:I}", "addr", ad, "responses", (json_int_t)v[i].count));
    }
    return arr;
}

static json_t *alert_json(const struct ks_dns_alert *a)
{
    char s[KS_TIME_STRLEN], e[KS_TIME_STRLEN];
    fmt_time(a->start_us, s, sizeof s);
    fmt_time(a->end_us, e, sizeof e);
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string(a->kind));
    json_object_set_new(o, "zone", json_string(a->zone));
    json_object_set_new(o, "start", json_string(s));
    json_object_set_new(o, "end", json_string(e));
    json_object_set_new(o, "duration_s",
                        json_real(round3((double)(a->end_us - a->start_us) / 1e6)));
    json_object_set_new(o, "responses", json_integer((json_int_t)a->responses));
    json_object_set_new(o, "peak_pps", json_integer(a->peak_pps));
    json_object_set_new(o, "rate_pps", json_real(round3(a->rate_pps)));
    json_object_set_new(o, "names", json_integer(a->names));
    json_object_set_new(o, "txids", json_integer(a->txids));
    json_object_set_new(o, "sources", addrs_json(a->sources, a->n_sources));
    json_object_set_new(o, "sources_total", json_integer(a->sources_total));
    json_object_set_new(o, "resolvers", addrs_json(a->resolvers, a->n_resolvers));
    json_t *f = json_array();
    for (uint32_t i = 0; i < a->n_forged; i++)
        json_array_append_new(
            f, json_pack("{s:s,s:s,s:s,s:s,s:I}", "type", type_name(a->forged[i].type), "section",
                         section_name(a->forged[i].section), "name", a->forged[i].name, "value",
                         a->forged[i].value, "count", (json_int_t)a->forged[i].count));
    json_object_set_new(o, "forged", f);
    json_object_set_new(o, "matched", json_integer((json_int_t)a->matched));
    json_object_set_new(o, "possible_success", json_boolean(a->possible_success));
    json_object_set_new(o, "open", json_boolean(a->open));
    return o;
}

static void print_alert(struct run *r, const struct ks_dns_alert *a)
{
    if (r->cli->json) {
        json_line(alert_json(a));
        return;
    }
    if (!r->header_done) {
        printf("%-24s %-18s %-28s %9s %6s %8s %6s %-16s %-7s %s\n", "START (UTC)", "KIND", "ZONE",
               "RESPONSES", "PEAK", "RATE", "NAMES", "SOURCE", "SUCCESS", "FORGED");
        r->header_done = true;
    }
    char s[KS_TIME_STRLEN], src[KS_ADDR_STRLEN] = "-", forged[512];
    fmt_time(a->start_us, s, sizeof s);
    if (a->n_sources)
        ks_addr_format(&a->sources[0].addr, src, sizeof src);
    size_t n = 0;
    forged[0] = '\0';
    for (uint32_t i = 0; i < a->n_forged && n < sizeof forged - 1; i++) {
        int w = snprintf(forged + n, sizeof forged - n, "%s%s %s %s", i ? ", " : "",
                         a->forged[i].name, type_name(a->forged[i].type), a->forged[i].value);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    printf("%-24s %-18s %-28s %9" PRIu64 " %6u %8.1f %6u %-16s %-7s %s\n", s, a->kind, a->zone,
           a->responses, a->peak_pps, a->rate_pps, a->names, src,
           a->possible_success ? "maybe" : "no", n ? forged : "-");
}

static void on_alert(void *user, const struct ks_dns_alert *a)
{
    struct run *r = user;
    if (r->ing && r->store_rc == KS_OK) {
        r->store_rc = ks_dns_store_alert(r->ing, a);
        if (r->store_rc == KS_OK)
            r->stored++;
    }
    if (r->stream) {
        print_alert(r, a);
        fflush(stdout);
        return;
    }
    if (r->nal == r->capal) {
        size_t cap = r->capal ? r->capal * 2 : 16;
        struct ks_dns_alert **na = realloc(r->alerts, cap * sizeof *na);
        if (!na)
            return;
        r->alerts = na;
        r->capal = cap;
    }
    struct ks_dns_alert *c = malloc(sizeof *c);
    if (!c)
        return;
    *c = *a;
    r->alerts[r->nal++] = c;
}

static int alert_by_start(const void *x, const void *y)
{
    const struct ks_dns_alert *a = *(const struct ks_dns_alert *const *)x;
    const struct ks_dns_alert *b = *(const struct ks_dns_alert *const *)y;
    if (a->start_us != b->start_us)
        return a->start_us < b->start_us ? -1 : 1;
    return strcmp(a->zone, b->zone);
}

static void on_audit(void *user, const struct ks_dns_audit *a)
{
    struct run *r = user;
    if (r->naud == r->capaud) {
        size_t cap = r->capaud ? r->capaud * 2 : 16;
        struct ks_dns_audit *na = realloc(r->aud, cap * sizeof *na);
        if (!na)
            return;
        r->aud = na;
        r->capaud = cap;
    }
    r->aud[r->naud++] = *a;
}

static int audit_order(const void *x, const void *y)
{
    const struct ks_dns_audit *a = x, *b = y;
    if (a->role != b->role)
        return a->role < b->role ? -1 : 1;
    if (a->queries != b->queries)
        return a->queries > b->queries ? -1 : 1;
    return ks_addr_cmp(&a->addr, &b->addr);
}

static void print_audit(struct run *r, const struct ks_dns_audit *a)
{
    if (r->cli->json) {
        json_line(audit_json(a));
        return;
    }
    if (!r->header_done) {
        printf("%-40s %-8s %8s %5s %7s %8s %5s %-5s %7s %8s %5s %-5s %-7s %-5s %s\n", "QUERIER",
               "ROLE", "QUERIES", "RD0%", "PORTS", "PORT_SD", "BITS", "GRADE", "TXIDS", "TXID_SD",
               "BITS", "GRADE", "0x20", "GRADE", "NOTE");
        r->header_done = true;
    }
    char ad[KS_ADDR_STRLEN];
    ks_addr_format(&a->addr, ad, sizeof ad);
    const char *pg = ks_dns_grade_name(a->ports.grade), *tg = ks_dns_grade_name(a->txids.grade),
               *g = ks_dns_grade_name(a->grade);
    printf("%-40s %-8s %8" PRIu64 " %5.0f %7u %8.1f %5.1f %-5s %7u %8.1f %5.1f %-5s %-7s %-5s %s\n",
           ad, a->role == KS_DNS_ROLE_RESOLVER ? "resolver" : "stub", a->queries,
           a->queries ? 100.0 * (double)a->upstream / (double)a->queries : 0, a->ports.distinct,
           a->ports.sd, a->ports.bits, pg ? pg : "-", a->txids.distinct, a->txids.sd, a->txids.bits,
           tg ? tg : "-", ks_dns_case_name(a->case0x20), g ? g : "-", a->note ? a->note : "");
}

/* --- the verbs ----------------------------------------------------------------------------- */

enum {
    OPT_DURATION = 0x200,
    OPT_FORCE,
    OPT_RESOLVER,
    OPT_MINQ,
    OPT_MAXQ,
    OPT_MINR,
    OPT_MINPEAK,
    OPT_MINNAMES,
    OPT_END,
    OPT_MAXPEND,
    OPT_TIMEOUT,
    OPT_MAXZONES,
};

static int run_verb(int argc, char **argv, bool audit)
{
    struct ks_cli cli;
    if (audit)
        ks_cli_init(&cli, "dns audit", audit_usage, audit_help);
    else
        ks_cli_init(&cli, "dns poisoning", poison_usage, poison_help);
    static const struct option audit_opts[] = {
        KS_CLI_COMMON_OPTS,
        KS_CLI_INPUT_OPTS,
        {"duration", required_argument, NULL, OPT_DURATION},
        {"force", no_argument, NULL, OPT_FORCE},
        {"resolver", required_argument, NULL, OPT_RESOLVER},
        {"min-queries", required_argument, NULL, OPT_MINQ},
        {"max-queriers", required_argument, NULL, OPT_MAXQ},
        {0},
    };
    static const struct option poison_opts[] = {
        KS_CLI_COMMON_OPTS,
        KS_CLI_INPUT_OPTS,
        {"duration", required_argument, NULL, OPT_DURATION},
        {"force", no_argument, NULL, OPT_FORCE},
        {"min-responses", required_argument, NULL, OPT_MINR},
        {"min-peak-pps", required_argument, NULL, OPT_MINPEAK},
        {"min-names", required_argument, NULL, OPT_MINNAMES},
        {"end-after", required_argument, NULL, OPT_END},
        {"max-pending", required_argument, NULL, OPT_MAXPEND},
        {"query-timeout", required_argument, NULL, OPT_TIMEOUT},
        {"max-zones", required_argument, NULL, OPT_MAXZONES},
        {0},
    };
    struct ks_cli_input in;
    int in_rc = ks_cli_input_init(&in, argc, true);
    struct ks_addr *resolvers = calloc((size_t)argc + 1, sizeof *resolvers);
    size_t nres = 0;
    bool db = false, force = false;
    uint64_t duration = 0;
    struct ks_dns_config cfg;
    ks_dns_config_default(&cfg);
    cfg.audit = audit;
    cfg.poisoning = !audit;
    struct ks_capture *cap = NULL;
    struct ks_dns *d = NULL;
    struct ks_store *st = NULL;
    struct run r = {.cli = &cli, .audit = audit};
    int opt, code = KS_EXIT_OK, rc;
    if (in_rc != KS_OK || !resolvers) {
        ks_cli_error(&cli, "out of memory");
        code = KS_EXIT_FAIL;
        goto out;
    }
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT KS_CLI_INPUT_SHORT,
                              audit ? audit_opts : poison_opts, NULL)) != -1) {
        int c = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (c == 0)
            c = ks_cli_input_opt(&cli, &in, opt, optarg, &code);
        if (c < 0)
            goto out;
        if (c > 0) {
            if (opt == 0x101)
                db = true;
            continue;
        }
        uint64_t v = 0;
        switch (opt) {
        case OPT_FORCE:
            force = true;
            break;
        case OPT_RESOLVER:
            if (ks_addr_parse(optarg, strlen(optarg), &resolvers[nres]) != KS_OK) {
                code = ks_cli_usage_error(&cli, "bad address '%s' for --resolver", optarg);
                goto out;
            }
            nres++;
            break;
        case '?':
            code = ks_cli_usage_error(&cli, "unknown option");
            goto out;
        default:
            if (!parse_u64(optarg, UINT32_MAX, &v) || (v == 0 && opt != OPT_MINQ)) {
                code = ks_cli_usage_error(&cli, "bad value '%s' for %s", optarg, argv[optind - 1]);
                goto out;
            }
            switch (opt) {
            case OPT_DURATION:
                duration = v;
                break;
            case OPT_MINQ:
                cfg.min_queries = (uint32_t)v;
                break;
            case OPT_MAXQ:
                cfg.max_queriers = (uint32_t)v;
                break;
            case OPT_MINR:
                cfg.min_responses = (uint32_t)v;
                break;
            case OPT_MINPEAK:
                cfg.min_peak_pps = (uint32_t)v;
                break;
            case OPT_MINNAMES:
                cfg.min_names = (uint32_t)v;
                break;
            case OPT_END:
                cfg.end_after_s = (uint32_t)v;
                break;
            case OPT_MAXPEND:
                cfg.max_pending = (uint32_t)v;
                break;
            case OPT_TIMEOUT:
                cfg.query_timeout_s = (uint32_t)v;
                break;
            case OPT_MAXZONES:
                cfg.max_zones = (uint32_t)v;
                break;
            }
        }
    }
    if (ks_cli_input_finish(&cli, &in, argc, argv, &code) != 0)
        goto out;
    if (cfg.max_queriers > (1u << 24)) {
        code = ks_cli_usage_error(&cli, "--max-queriers is at most %u", 1u << 24);
        goto out;
    }
    cfg.resolvers = nres ? resolvers : NULL;
    cfg.nresolvers = nres;
    cfg.on_alert = on_alert;
    cfg.user = &r;
    cfg.diag = &cli.diag;
    r.stream = in.iface != NULL && !audit;

    if (ks_cli_input_open(&cli, &in, &cap) != KS_OK) {
        code = KS_EXIT_FAIL;
        goto out;
    }
    if (db) {
        struct ks_store_input si = {.name = in.iface ? in.iface : in.files[0],
                                    .kind = audit ? "dns audit" : "dns poisoning"};
        if (ks_cli_capture_identity(&cli, in.files, in.nfiles, in.iface, NULL, &si) != KS_OK) {
            code = KS_EXIT_FAIL;
            goto out;
        }
        if (ks_cli_store_begin(&cli, &si, force, &st, &r.ing) != KS_OK) {
            code = KS_EXIT_FAIL;
            goto out;
        }
    }
    rc = ks_dns_new(&cfg, &d);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "cannot start the analyzer: %s", ks_strerror(rc));
        code = KS_EXIT_FAIL;
        goto out;
    }
    g_stop = 0;
    g_cap = cap;
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* libpcap's read timeout need not expire when no packet arrives (pcap(3PCAP)): a timer
     * breaks the capture instead. */
    if (in.iface && duration) {
        sigaction(SIGALRM, &sa, NULL);
        alarm(duration > 86400 * 365 ? 86400 * 365 : (unsigned)duration);
    }

    struct ks_pkt p;
    int err = KS_OK;
    for (;;) {
        int n = ks_capture_next(cap, &p);
        if (n == 1) {
            ks_dns_feed(d, &p);
            continue;
        } else if (n == 0 || n == KS_EINTR) {
            break;
        } else if (n == KS_ETIMEOUT) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            ks_dns_tick(d, (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000);
        } else {
            err = n;
            ks_cli_error(&cli, "%s", ks_capture_errmsg(cap));
            break;
        }
        if (g_stop)
            break;
    }
    alarm(0);
    ks_dns_flush(d);
    g_cap = NULL;

    if (audit) {
        ks_dns_audits(d, on_audit, &r);
        qsort(r.aud, r.naud, sizeof *r.aud, audit_order);
        for (size_t i = 0; i < r.naud; i++) {
            print_audit(&r, &r.aud[i]);
            if (r.ing && r.store_rc == KS_OK) {
                r.store_rc = ks_dns_store_audit(r.ing, &r.aud[i]);
                if (r.store_rc == KS_OK)
                    r.stored++;
            }
        }
        if (!cli.json && !r.naud && !cli.quiet)
            printf("no DNS querier found\n");
    } else {
        if (!r.stream && r.nal) {
            qsort(r.alerts, r.nal, sizeof *r.alerts, alert_by_start);
            for (size_t i = 0; i < r.nal; i++)
                print_alert(&r, r.alerts[i]);
        }
        if (!cli.json && !r.header_done && !cli.quiet)
            printf("no poisoning attempt found\n");
    }
    struct ks_capture_stats cs;
    struct ks_dns_stats ds;
    ks_capture_stats(cap, &cs);
    ks_dns_stats(d, &ds);
    if (!cli.quiet) {
        if (audit)
            fprintf(stderr,
                    "kansoku: dns audit: %" PRIu64 " packets, %" PRIu64 " DNS messages (%" PRIu64
                    " malformed), %" PRIu64 " queries, %" PRIu64 " queriers (%" PRIu64
                    " evicted)\n",
                    cs.packets, ds.messages, ds.malformed, ds.queries, ds.queriers,
                    ds.queriers_evicted);
        else
            fprintf(stderr,
                    "kansoku: dns poisoning: %" PRIu64 " packets, %" PRIu64
                    " DNS messages (%" PRIu64 " malformed), %" PRIu64 " queries, %" PRIu64
                    " responses: %" PRIu64 " matched, %" PRIu64 " unmatched (%" PRIu64
                    " to hosts never seen asking); %" PRIu64 " alerts\n",
                    cs.packets, ds.messages, ds.malformed, ds.queries, ds.responses, ds.matched,
                    ds.unmatched, ds.unknown_client, ds.alerts);
    }
    ks_cli_info(&cli,
                "tcp messages %" PRIu64 " (%" PRIu64
                " segments cut inside one), later fragments %" PRIu64
                "; outstanding queries %" PRIu64 " now, %" PRIu64 " evicted, %" PRIu64
                " expired; name mismatches %" PRIu64 "; zones evicted %" PRIu64,
                ds.tcp_messages, ds.tcp_partial, ds.fragments, ds.pending, ds.pending_evicted,
                ds.pending_expired, ds.name_mismatch, ds.zones_evicted);
    if (r.ing) {
        if (ks_cli_store_end(&cli, st, &r.ing, r.store_rc) != KS_OK)
            code = KS_EXIT_FAIL;
        else
            ks_cli_info(&cli, "%" PRIu64 " rows stored in %s", r.stored, cli.db_path);
    }
    if (err != KS_OK)
        code = KS_EXIT_FAIL;
out:
    if (r.ing)
        ks_store_input_end(r.ing, false);
    ks_store_close(st);
    ks_dns_free(d);
    ks_capture_free(cap);
    for (size_t i = 0; i < r.nal; i++)
        free(r.alerts[i]);
    free(r.alerts);
    free(r.aud);
    ks_cli_input_free(&in);
    free(resolvers);
    return code;
}

static int cmd_audit(int argc, char **argv)
{
    return run_verb(argc, argv, true);
}

static int cmd_poisoning(int argc, char **argv)
{
    return run_verb(argc, argv, false);
}

int ks_cmd_dns(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "audit") == 0)
        return cmd_audit(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "poisoning") == 0)
        return cmd_poisoning(argc - 1, argv + 1);
    struct ks_cli cli;
    ks_cli_init(&cli, "dns", dns_usage, dns_help);
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(dns_help, stdout);
        return KS_EXIT_OK;
    }
    if (argc < 2)
        return ks_cli_usage_error(&cli, "missing verb (audit or poisoning)");
    return ks_cli_usage_error(&cli, "unknown verb '%s'", argv[1]);
}
