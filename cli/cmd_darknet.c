/* kansoku darknet: statistics of a darknet (network telescope) from captures or a live
 * interface, written to the store; `darknet stats` reads them back for a period. */
#include "cli.h"
#include "core/fmt.h"
#include "core/sort.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kansoku/ks_capture.h"
#include "kansoku/ks_darknet.h"
#include "kansoku/ks_geo.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

static const char darknet_usage[] =
    "Usage: kansoku darknet [-r FILE]... [-i IFACE] --sensor NAME --monitored PREFIX...\n"
    "                       [--by country|as|talker|victim] [--home CC] [options] [FILE...]\n"
    "       kansoku darknet stats [--from DATE] [--to DATE] [--sensor NAME] [options]\n";

static const char darknet_help[] =
    "Usage: kansoku darknet [-r FILE]... [-i IFACE] --sensor NAME --monitored PREFIX...\n"
    "                       [--by country|as|talker|victim] [--home CC] [options] [FILE...]\n"
    "       kansoku darknet stats [--from DATE] [--to DATE] [--sensor NAME] [options]\n"
    "\n"
    "Counts every packet sent to a monitored (dark) address: per day, kind (scan or\n"
    "backscatter), protocol and port (ICMP: type), the packets, bytes and distinct sources.\n"
    "Backscatter (TCP SYN-ACK or RST, ICMP echo reply and errors arriving at the darknet) are\n"
    "replies to attacks spoofed with the darknet's addresses: their port is the source port\n"
    "(the attacked service) and their senders are listed as victims. Per day it also finds\n"
    "the scanning sources' countries and AS (geo data) and the top talkers. Rows go to the\n"
    "store (tables darknet_cells, darknet_days, darknet_sources); the same captures with the\n"
    "same sensor and prefixes are not counted twice (--force replaces them).\n"
    "\n"
    "Output: one line per day x kind x protocol x port (--json: {\"day\",\"sensor\",\"kind\",\n"
    "\"proto\",\"port\",\"packets\",\"bytes\",\"sources\"}), largest first; with --by, the\n"
    "day's distribution instead ({\"day\",\"sensor\",\"by\",\"key\",\"name\",\"sources\",\n"
    "\"packets\",\"share\",\"domestic\"}).\n"
    "\n"
    "Input:\n" KS_CLI_INPUT_HELP "Options:\n"
    "      --sensor NAME     name of this sensor (required)\n"
    "      --monitored P     a monitored prefix, ADDR[/LEN] (repeatable, or comma-separated)\n"
    "      --by WHAT         print sources by country, as, talker or victim\n"
    "      --home CC         home country for 'domestic' (default JP)\n"
    "      --tz-offset OFF   draw days at +HH:MM east of UTC (default +00:00)\n"
    "      --no-store        do not write to the store\n"
    "      --force           replace captures ingested before\n"
    "      --max-cells N     cells held at once (default 65536; more are counted as dropped)\n"
    "      --max-sources N   scanning sources held per day for the country/AS distributions\n"
    "                        and top talkers (default 131072; the least recently seen is\n"
    "                        accounted and evicted, and counted again if it returns)\n"
    "      --workers N       worker threads besides the reader (0 = all in one thread; 1 =\n"
    "                        the analysis in one; 2 = the sources (their table, geo lookups,\n"
    "                        country, AS, talkers) in a second; more work as 2; default 2\n"
    "                        with 2 CPUs or more). The output is the same whatever N\n"
    "\n"
    "Exit status: 0 done; 1 a capture could not be read, or the store failed; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char stats_usage[] =
    "Usage: kansoku darknet stats [--from DATE] [--to DATE] [--sensor NAME] [options]\n";

static const char stats_help[] =
    "Usage: kansoku darknet stats [--from DATE] [--to DATE] [--sensor NAME] [options]\n"
    "\n"
    "Reads the darknet tables of the store for the period [--from, --to) and prints:\n"
    "  - per day, the packets of the top ports (and of all others together) averaged per\n"
    "    sensor, with the sources: {\"type\":\"port_day\",\"day\",\"proto\",\"port\",\"packets\",\n"
    "    \"sources\",\"sensors\"} (port \"other\" for the rest);\n"
    "  - the scanning sources by country and by AS over the period, with the domestic share:\n"
    "    "
    "{\"type\":\"source\",\"by\",\"key\",\"name\",\"sources\",\"packets\",\"share\",\"domestic\"};"
    "\n"
    "  - new-port alerts: a port whose distinct sources in an ISO week (all sensors, merged\n"
    "    sketches) rose to at least FACTOR times the mean of the previous weeks:\n"
    "    {\"type\":\"alert\",\"week\",\"proto\",\"port\",\"sources\",\"baseline\",\"factor\"}.\n"
    "\n"
    "Options:\n"
    "      --from DATE     first day (RFC 3339 date or date-time; default: all)\n"
    "      --to DATE       end, exclusive (default: all)\n"
    "      --sensor NAME   one sensor only (default: all, averaged per sensor)\n"
    "      --home CC       home country (default JP)\n"
    "      --top N         ports shown per day (default 10)\n"
    "      --weeks N       previous weeks for the baseline (default 4)\n"
    "      --factor F      rise that makes an alert (default 5)\n"
    "      --min N         fewest weekly sources for an alert (default 10)\n"
    "\n"
    "Exit status: 0 done; 1 the store could not be read; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

enum {
    OPT_SENSOR = 0x200,
    OPT_MONITORED,
    OPT_BY,
    OPT_HOME,
    OPT_TZ,
    OPT_NO_STORE,
    OPT_FORCE,
    OPT_MAX_CELLS,
    OPT_MAX_SOURCES,
    OPT_WORKERS,
    OPT_FROM,
    OPT_TO,
    OPT_TOP,
    OPT_WEEKS,
    OPT_FACTOR,
    OPT_MIN,
};

struct cell_out {
    int64_t day;
    uint8_t kind, proto;
    uint16_t port;
    uint64_t packets, bytes;
    double sources;
};

struct src_out {
    int64_t day;
    uint8_t dim;
    char key[48];
    char name[96];
    bool domestic;
    uint64_t sources, packets, error;
};

struct darknet_run {
    struct ks_cli *cli;
    const char *sensor;
    int32_t tz;
    int by; /* -1: cells */
    struct ks_ingest *ing;
    int store_err;
    struct cell_out *cells;
    size_t ncells, cells_cap;
    struct src_out *srcs;
    size_t nsrcs, srcs_cap;
    uint64_t rows;
};

static volatile sig_atomic_t stop_requested;
static struct ks_capture *live_capture;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (live_capture)
        ks_capture_break(live_capture);
}

static void day_text(int64_t t, int32_t tz, char out[16])
{
    char buf[KS_TIME_STRLEN];
    if (ks_time_format(t, tz, 0, buf, sizeof buf) < 10) {
        snprintf(out, 16, "?");
        return;
    }
    memcpy(out, buf, 10);
    out[10] = '\0';
}

/* Keeps the first store error of a row written by ks_darknet_store_*. */
static void row_done(struct darknet_run *r, int rc)
{
    if (rc != KS_OK && r->store_err == KS_OK)
        r->store_err = rc;
    r->rows++;
}

static void on_cell(void *user, const struct ks_darknet_cell *c)
{
    struct darknet_run *r = user;
    if (r->ing && r->store_err == KS_OK) {
        row_done(r, ks_darknet_store_cell(r->ing, c));
    }
    if (r->by >= 0)
        return;
    if (r->ncells == r->cells_cap) {
        size_t cap = r->cells_cap ? r->cells_cap * 2 : 1024;
        struct cell_out *n = realloc(r->cells, cap * sizeof *n);
        if (!n)
            return;
        r->cells = n;
        r->cells_cap = cap;
    }
    r->cells[r->ncells++] =
        (struct cell_out){c->day, c->kind, c->proto, c->port, c->packets, c->bytes, c->sources};
}

static void on_source(void *user, const struct ks_darknet_source *s)
{
    struct darknet_run *r = user;
    if (r->ing && r->store_err == KS_OK) {
        row_done(r, ks_darknet_store_source(r->ing, s));
    }
    if (r->by != s->dim)
        return;
    if (r->nsrcs == r->srcs_cap) {
        size_t cap = r->srcs_cap ? r->srcs_cap * 2 : 256;
        struct src_out *n = realloc(r->srcs, cap * sizeof *n);
        if (!n)
            return;
        r->srcs = n;
        r->srcs_cap = cap;
    }
    struct src_out *o = &r->srcs[r->nsrcs++];
    memset(o, 0, sizeof *o);
    o->day = s->day;
    o->dim = s->dim;
    snprintf(o->key, sizeof o->key, "%s", s->key);
    snprintf(o->name, sizeof o->name, "%s", s->name);
    o->domestic = s->domestic;
    o->sources = s->sources;
    o->packets = s->packets;
    o->error = s->error;
}

static int by_packets(const void *pa, const void *pb)
{
    const struct cell_out *a = pa, *b = pb;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->packets != b->packets)
        return a->packets > b->packets ? -1 : 1;
    if (a->proto != b->proto)
        return a->proto < b->proto ? -1 : 1;
    return a->port < b->port ? -1 : a->port > b->port;
}

/* printf("%-*s", w, s), for the cell table's lines (tens of thousands a day). */
static char *put_left(char *p, const char *s, int w)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    p += n;
    for (int pad = w - (int)n; pad > 0; pad--)
        *p++ = ' ';
    return p;
}

/* printf("%*" PRIu64, w, v). */
static char *put_u64(char *p, uint64_t v, int w)
{
    char t[20];
    int n = (int)(ks_put_u64(t, v) - t);
    for (int pad = w - n; pad > 0; pad--)
        *p++ = ' ';
    memcpy(p, t, (size_t)n);
    return p + n;
}

/* The cells in by_packets order. Tens of thousands a day are sorted at each day's end, on the
 * analysis thread: by an LSD radix sort of one 64-bit key (kind, packets descending, protocol,
 * port) when every count fits its 39 bits and the kinds one bit, with qsort otherwise. */
#define KEY_PACKETS_MAX ((UINT64_C(1) << 39) - 1)
static void sort_cells(struct darknet_run *r)
{
    size_t n = r->ncells;
    if (n < 2)
        return;
    struct ks_kv *a = malloc(2 * n * sizeof *a);
    struct cell_out *sorted = malloc(n * sizeof *sorted);
    bool fits = a && sorted;
    for (size_t i = 0; fits && i < n; i++) {
        const struct cell_out *c = &r->cells[i];
        fits = c->packets <= KEY_PACKETS_MAX && c->kind <= 1;
        a[i].key = (uint64_t)c->kind << 63 | (KEY_PACKETS_MAX - c->packets) << 24 |
                   (uint64_t)c->proto << 16 | c->port;
        a[i].val = i;
    }
    if (!fits) {
        free(a);
        free(sorted);
        qsort(r->cells, n, sizeof *r->cells, by_packets);
        return;
    }
    const struct ks_kv *s = ks_radix_sort_kv(a, a + n, n);
    for (size_t i = 0; i < n; i++)
        sorted[i] = r->cells[s[i].val];
    memcpy(r->cells, sorted, n * sizeof *sorted);
    free(a);
    free(sorted);
}

static void print_cells(struct darknet_run *r)
{
    sort_cells(r);
    if (!r->cli->json && r->ncells)
        printf("%-10s  %-12s  %-11s  %-5s  %5s  %10s  %12s  %9s\n", "DAY", "SENSOR", "KIND",
               "PROTO", "PORT", "PACKETS", "BYTES", "SOURCES");
    char day[16] = "";
    int64_t day_of = INT64_MIN;
    flockfile(stdout); /* once for the table, not once a line */
    for (size_t i = 0; i < r->ncells; i++) {
        const struct cell_out *c = &r->cells[i];
        char pbuf[8];
        if (c->day != day_of) {
            day_of = c->day;
            day_text(c->day, r->tz, day);
        }
        const char *proto = ks_darknet_proto_name(c->proto, pbuf, sizeof pbuf);
        if (r->cli->json) {
            json_t *o = json_object();
            json_object_set_new(o, "day", json_string(day));
            json_object_set_new(o, "sensor", json_string(r->sensor));
            json_object_set_new(o, "kind", json_string(ks_darknet_kind_name(c->kind)));
            json_object_set_new(o, "proto", json_string(proto));
            json_object_set_new(o, "port", json_integer(c->port));
            json_object_set_new(o, "packets", json_integer((json_int_t)c->packets));
            json_object_set_new(o, "bytes", json_integer((json_int_t)c->bytes));
            json_object_set_new(o, "sources", json_integer((json_int_t)(c->sources + 0.5)));
            ks_cli_json_line(o);
        } else { /* printf("%-10s  %-12s  %-11s  %-5s  %5u  %10" PRIu64 "  %12" PRIu64
                  * "  %9.0f\n", ...), without printf's cost per field */
            char line[512], *q = line;
            q = put_left(q, day, 10);
            q = put_left(q, "  ", 0);
            q = put_left(q, r->sensor, 12);
            q = put_left(q, "  ", 0);
            q = put_left(q, ks_darknet_kind_name(c->kind), 11);
            q = put_left(q, "  ", 0);
            q = put_left(q, proto, 5);
            q = put_left(q, "  ", 0);
            q = put_u64(q, c->port, 5);
            q = put_left(q, "  ", 0);
            q = put_u64(q, c->packets, 10);
            q = put_left(q, "  ", 0);
            q = put_u64(q, c->bytes, 12);
            q = put_left(q, "  ", 0);
            if (c->sources >= 0 && c->sources < 1e15 && c->sources == (double)(uint64_t)c->sources)
                q = put_u64(q, (uint64_t)c->sources, 9); /* "%9.0f" of an integer */
            else {
                int k = snprintf(q, 64, "%9.0f", c->sources);
                q += k > 0 && k < 64 ? k : 0;
            }
            *q++ = '\n';
            fwrite(line, 1, (size_t)(q - line), stdout);
        }
    }
    funlockfile(stdout);
    r->ncells = 0;
}

static int by_sources(const void *pa, const void *pb)
{
    const struct src_out *a = pa, *b = pb;
    uint64_t x = a->dim <= KS_DARKNET_BY_AS ? a->sources : a->packets;
    uint64_t y = b->dim <= KS_DARKNET_BY_AS ? b->sources : b->packets;
    if (x != y)
        return x > y ? -1 : 1;
    return strcmp(a->key, b->key);
}

static void print_sources(struct darknet_run *r)
{
    if (r->nsrcs > 1)
        qsort(r->srcs, r->nsrcs, sizeof *r->srcs, by_sources);
    uint64_t total = 0;
    for (size_t i = 0; i < r->nsrcs; i++)
        total += r->by <= KS_DARKNET_BY_AS ? r->srcs[i].sources : r->srcs[i].packets;
    bool addr = r->by >= KS_DARKNET_TALKER;
    if (!r->cli->json && r->nsrcs)
        printf("%-10s  %-12s  %-39s  %9s  %10s  %6s  %s\n", "DAY", "SENSOR",
               addr ? "ADDRESS" : (r->by == KS_DARKNET_BY_AS ? "AS" : "COUNTRY"), "SOURCES",
               "PACKETS", "SHARE", addr ? "ERROR" : "NAME");
    for (size_t i = 0; i < r->nsrcs; i++) {
        const struct src_out *s = &r->srcs[i];
        char day[16];
        day_text(s->day, r->tz, day);
        uint64_t part = r->by <= KS_DARKNET_BY_AS ? s->sources : s->packets;
        double share = total ? 100.0 * (double)part / (double)total : 0;
        if (r->cli->json) {
            json_t *o = json_object();
            json_object_set_new(o, "day", json_string(day));
            json_object_set_new(o, "sensor", json_string(r->sensor));
            json_object_set_new(o, "by", json_string(ks_darknet_dim_name(s->dim)));
            json_object_set_new(o, "key", json_string(s->key));
            json_object_set_new(o, "name", json_string(s->name));
            json_object_set_new(o, "sources", json_integer((json_int_t)s->sources));
            json_object_set_new(o, "packets", json_integer((json_int_t)s->packets));
            json_object_set_new(o, "share", json_real((double)(int64_t)(share * 100) / 100));
            if (s->dim == KS_DARKNET_BY_COUNTRY)
                json_object_set_new(o, "domestic", json_boolean(s->domestic));
            if (addr)
                json_object_set_new(o, "error", json_integer((json_int_t)s->error));
            ks_cli_json_line(o);
        } else {
            char extra[112];
            if (addr)
                snprintf(extra, sizeof extra, "%" PRIu64, s->error);
            else
                snprintf(extra, sizeof extra, "%s%s", s->name, s->domestic ? "(domestic)" : "");
            printf("%-10s  %-12s  %-39s  %9" PRIu64 "  %10" PRIu64 "  %5.1f%%  %s\n", day,
                   r->sensor, s->key, s->sources, s->packets, share, extra);
        }
    }
    r->nsrcs = 0;
}

static void on_day(void *user, const struct ks_darknet_day *d)
{
    struct darknet_run *r = user;
    if (r->ing && r->store_err == KS_OK) {
        row_done(r, ks_darknet_store_day(r->ing, d));
    }
    /* Cells of the day were emitted just before: print the day now. */
    if (r->by < 0)
        print_cells(r);
    else
        print_sources(r);
    char day[16];
    day_text(d->day, r->tz, day);
    ks_cli_info(r->cli,
                "%s %s: %" PRIu64 " packets (%" PRIu64 " scan from %.0f sources, %" PRIu64
                " backscatter from %.0f), %" PRIu64 " domestic sources, %" PRIu64 " dropped",
                day, d->sensor, d->packets, d->scan_packets, d->sources, d->backscatter_packets,
                d->backscatter_sources, d->domestic_sources, d->dropped);
}

static int parse_tz(const char *s, int32_t *out)
{
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    char *end;
    long h = strtol(s, &end, 10);
    long m = 0;
    if (end == s || h < 0 || h > 23)
        return -1;
    if (*end == ':') {
        const char *ms = end + 1;
        m = strtol(ms, &end, 10);
        if (end == ms || m < 0 || m > 59)
            return -1;
    }
    if (*end)
        return -1;
    *out = (int32_t)(sign * (h * 3600 + m * 60));
    return 0;
}

/* The identity of a run over files: SHA-256 of the sensor, the prefixes and each file's
 * SHA-256, so that the same capture seen as another sensor is another input. */
static int run_identity(const struct ks_cli *cli, const char *sensor, char **prefixes,
                        size_t nprefixes, const char *const *files, size_t nfiles,
                        struct ks_store_input *in)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = KS_EXIT_FAIL;
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        goto out;
    EVP_DigestUpdate(ctx, "darknet\n", 8);
    EVP_DigestUpdate(ctx, sensor, strlen(sensor) + 1);
    for (size_t i = 0; i < nprefixes; i++)
        EVP_DigestUpdate(ctx, prefixes[i], strlen(prefixes[i]) + 1);
    in->size = 0;
    for (size_t i = 0; i < nfiles; i++) {
        char hex[65];
        uint64_t size = 0;
        if (ks_store_hash_file(files[i], hex, &size) != KS_OK) {
            ks_cli_error(cli, "%s: cannot read: %s", files[i], strerror(errno));
            goto out;
        }
        EVP_DigestUpdate(ctx, hex, 64);
        in->size += size;
    }
    unsigned char md[32];
    unsigned len = 0;
    if (!EVP_DigestFinal_ex(ctx, md, &len))
        goto out;
    for (unsigned i = 0; i < 32; i++)
        snprintf(in->sha256 + 2 * i, 3, "%02x", md[i]);
    rc = KS_EXIT_OK;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

static int darknet_stats(int argc, char **argv);

int ks_cmd_darknet(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "stats") == 0)
        return darknet_stats(argc - 1, argv + 1);
    struct ks_cli cli;
    ks_cli_init(&cli, "darknet", darknet_usage, darknet_help);
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        KS_CLI_INPUT_OPTS,
        {"sensor", required_argument, NULL, OPT_SENSOR},
        {"monitored", required_argument, NULL, OPT_MONITORED},
        {"by", required_argument, NULL, OPT_BY},
        {"home", required_argument, NULL, OPT_HOME},
        {"tz-offset", required_argument, NULL, OPT_TZ},
        {"no-store", no_argument, NULL, OPT_NO_STORE},
        {"force", no_argument, NULL, OPT_FORCE},
        {"max-cells", required_argument, NULL, OPT_MAX_CELLS},
        {"max-sources", required_argument, NULL, OPT_MAX_SOURCES},
        {"workers", required_argument, NULL, OPT_WORKERS},
        {0},
    };
    int exit_code = KS_EXIT_OK, opt;
    struct ks_cli_input in;
    int in_rc = ks_cli_input_init(&in, argc, true);
    char **prefixes = calloc((size_t)argc * 8 + 1, sizeof *prefixes);
    size_t nprefixes = 0;
    bool no_store = false, force = false;
    struct ks_darknet_config cfg;
    ks_darknet_config_default(&cfg);
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.workers = nproc > 1 ? 2 : 0;
    struct darknet_run run = {.cli = &cli, .by = -1};
    struct ks_geo *geo = NULL;
    struct ks_darknet *d = NULL;
    struct ks_capture *cap = NULL;
    struct ks_store *store = NULL;
    if (in_rc != KS_OK || !prefixes) {
        ks_cli_error(&cli, "out of memory");
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT KS_CLI_INPUT_SHORT, opts, NULL)) !=
           -1) {
        int c = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &exit_code);
        if (c == 0)
            c = ks_cli_input_opt(&cli, &in, opt, optarg, &exit_code);
        if (c < 0)
            goto out;
        if (c > 0)
            continue;
        switch (opt) {
        case OPT_SENSOR:
            cfg.sensor = optarg;
            break;
        case OPT_MONITORED:
            for (char *tok = optarg, *next; tok; tok = next) {
                next = strchr(tok, ',');
                if (next)
                    *next++ = '\0';
                if (*tok && nprefixes < (size_t)argc * 8)
                    prefixes[nprefixes++] = tok;
            }
            break;
        case OPT_BY:
            if (strcmp(optarg, "country") == 0)
                run.by = KS_DARKNET_BY_COUNTRY;
            else if (strcmp(optarg, "as") == 0)
                run.by = KS_DARKNET_BY_AS;
            else if (strcmp(optarg, "talker") == 0 || strcmp(optarg, "talkers") == 0)
                run.by = KS_DARKNET_TALKER;
            else if (strcmp(optarg, "victim") == 0 || strcmp(optarg, "victims") == 0)
                run.by = KS_DARKNET_VICTIM;
            else {
                exit_code = ks_cli_usage_error(&cli,
                                               "--by: '%s' is not country, as, talker "
                                               "or victim",
                                               optarg);
                goto out;
            }
            break;
        case OPT_HOME:
            if (strlen(optarg) != 2) {
                exit_code = ks_cli_usage_error(&cli,
                                               "--home: '%s' is not a 2-letter country "
                                               "code",
                                               optarg);
                goto out;
            }
            cfg.home[0] = (char)(optarg[0] & ~0x20);
            cfg.home[1] = (char)(optarg[1] & ~0x20);
            break;
        case OPT_TZ:
            if (parse_tz(optarg, &cfg.tz_offset_s) != 0) {
                exit_code = ks_cli_usage_error(&cli, "--tz-offset: '%s' is not +HH:MM", optarg);
                goto out;
            }
            break;
        case OPT_NO_STORE:
            no_store = true;
            break;
        case OPT_FORCE:
            force = true;
            break;
        case OPT_MAX_CELLS: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > (1ul << 30)) {
                exit_code = ks_cli_usage_error(&cli, "--max-cells: '%s' is not 1..2^30", optarg);
                goto out;
            }
            cfg.max_cells = (uint32_t)v;
            break;
        }
        case OPT_MAX_SOURCES: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > (1ul << 28)) {
                exit_code = ks_cli_usage_error(&cli, "--max-sources: '%s' is not 1..2^28", optarg);
                goto out;
            }
            cfg.max_sources = (uint32_t)v;
            break;
        }
        case OPT_WORKERS: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || v > 64) {
                exit_code = ks_cli_usage_error(&cli, "--workers: '%s' is not 0..64", optarg);
                goto out;
            }
            cfg.workers = (uint32_t)v;
            break;
        }
        default:
            exit_code = ks_cli_usage_error(&cli, "unknown option");
            goto out;
        }
    }
    if (!cfg.sensor) {
        exit_code = ks_cli_usage_error(&cli, "--sensor NAME is required");
        goto out;
    }
    if (nprefixes == 0) {
        exit_code = ks_cli_usage_error(&cli, "at least one --monitored PREFIX is required");
        goto out;
    }
    if (ks_cli_input_finish(&cli, &in, argc, argv, &exit_code) != 0)
        goto out;
    run.sensor = cfg.sensor;
    run.tz = cfg.tz_offset_s;

    int grc = ks_geo_open(cli.geo_dir, &geo);
    if (!geo) {
        ks_cli_error(&cli, "cannot open geolocation data: %s", ks_strerror(grc));
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    if (grc != KS_OK)
        ks_cli_warn(&cli,
                    "%s: geolocation data incomplete (%s): sources will be '--' / AS0 "
                    "where it lacks; run scripts/install-geo",
                    cli.geo_dir, ks_strerror(grc));
    cfg.geo = geo;
    cfg.diag = &cli.diag;
    cfg.no_sketches = no_store; /* only the store keeps them */
    struct ks_darknet_sink sink = {on_cell, on_source, on_day, &run};
    if (ks_darknet_new(&cfg, &sink, &d) != KS_OK) {
        ks_cli_error(&cli, "cannot set up (out of memory or bad sizes)");
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < nprefixes; i++) {
        struct ks_prefix p;
        unsigned flags = 0;
        if (ks_prefix_parse(prefixes[i], strlen(prefixes[i]), &p, &flags) != KS_OK) {
            exit_code = ks_cli_usage_error(&cli, "--monitored: '%s' is not a prefix", prefixes[i]);
            goto out;
        }
        if (flags & KS_PREFIX_HOST_BITS)
            ks_cli_warn(&cli, "--monitored %s: host bits set, cleared", prefixes[i]);
        if (ks_darknet_add_prefix(d, &p) != KS_OK) {
            ks_cli_error(&cli, "cannot add prefix %s", prefixes[i]);
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
    }

    int rc = ks_cli_input_open(&cli, &in, &cap);
    if (rc != KS_OK) {
        exit_code = KS_EXIT_FAIL;
        goto out;
    }

    if (!no_store) {
        struct ks_store_input si = {.name = in.iface ? in.iface : in.files[0], .kind = "darknet"};
        if (in.iface) {
            char id[256];
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            snprintf(id, sizeof id, "live %s %s %lld.%09ld", in.iface, cfg.sensor,
                     (long long)ts.tv_sec, ts.tv_nsec);
            char *one[1] = {id};
            if (run_identity(&cli, cfg.sensor, one, 1, NULL, 0, &si) != KS_EXIT_OK) {
                exit_code = KS_EXIT_FAIL;
                goto out;
            }
        } else if (run_identity(&cli, cfg.sensor, prefixes, nprefixes, in.files, in.nfiles, &si) !=
                   KS_EXIT_OK) {
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
        rc = ks_store_open(cli.db_path, NULL, &store);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
        rc = ks_store_input_begin(store, &si, force ? KS_STORE_FORCE : 0, &run.ing);
        if (rc == KS_EEXIST) {
            ks_cli_warn(&cli, "%s: %s", si.name, ks_store_errmsg(store));
            run.ing = NULL;
        } else if (rc != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(store));
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
    }

    if (in.iface) {
        live_capture = cap;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
    struct ks_pkt p;
    for (;;) {
        rc = ks_capture_next(cap, &p);
        if (rc == 1) {
            ks_darknet_feed(d, &p);
            continue;
        }
        if (rc == 0 || rc == KS_EINTR || stop_requested)
            break;
        if (rc == KS_ETIMEOUT) {
            continue;
        }
        struct ks_loc loc;
        ks_capture_errloc(cap, &loc);
        char where[512];
        ks_loc_format(&loc, where, sizeof where);
        ks_cli_error(&cli, "%s: %s", where, ks_capture_errmsg(cap));
        exit_code = KS_EXIT_FAIL;
    }
    live_capture = NULL;
    ks_darknet_flush(d, INT64_MAX);

    struct ks_darknet_stats st;
    ks_darknet_stats(d, &st);
    struct ks_capture_stats cs;
    ks_capture_stats(cap, &cs);
    if (run.store_err != KS_OK) {
        ks_cli_error(&cli, "store: %s: %s", ks_strerror(run.store_err), ks_store_errmsg(store));
        exit_code = KS_EXIT_FAIL;
    }
    if (run.ing) {
        int erc = ks_store_input_end(run.ing, exit_code == KS_EXIT_OK && run.store_err == KS_OK);
        run.ing = NULL;
        if (erc != KS_OK) {
            ks_cli_error(&cli, "store: %s: %s", ks_strerror(erc), ks_store_errmsg(store));
            exit_code = KS_EXIT_FAIL;
        }
    }
    if (!cli.quiet) {
        fprintf(stderr,
                "kansoku: darknet: %" PRIu64 " packets read, %" PRIu64 " to %" PRIu64
                " monitored addresses (%" PRIu64 " scan, %" PRIu64 " backscatter); %" PRIu64
                " cells, %" PRIu64 " rows stored\n",
                cs.packets, st.monitored, ks_darknet_monitored(d), st.scan, st.backscatter,
                st.cells, run.store_err == KS_OK ? run.rows : 0);
        if (cs.bad)
            fprintf(stderr, "kansoku: darknet: %" PRIu64 " malformed packets skipped\n", cs.bad);
        if (st.cells_dropped || st.sketches_lost || st.as_dropped)
            fprintf(stderr,
                    "kansoku: darknet: limits reached: %" PRIu64 " packets without a cell "
                    "(--max-cells), %" PRIu64 " cells without a sketch, %" PRIu64
                    " sources counted as AS0\n",
                    st.cells_dropped, st.sketches_lost, st.as_dropped);
        if (st.sources_evicted)
            fprintf(stderr,
                    "kansoku: darknet: %" PRIu64 " scanning sources evicted from their day's "
                    "table (--max-sources): one that returns is counted again\n",
                    st.sources_evicted);
        if (st.late)
            fprintf(stderr,
                    "kansoku: darknet: %" PRIu64 " packets older than the day being "
                    "read (counted in their day's cells only)\n",
                    st.late);
    }
out:
    if (run.ing)
        ks_store_input_end(run.ing, false);
    ks_store_close(store);
    ks_capture_free(cap);
    ks_darknet_free(d);
    ks_geo_free(geo);
    free(run.cells);
    free(run.srcs);
    ks_cli_input_free(&in);
    free(prefixes);
    return exit_code;
}

/* --- darknet stats ----------------------------------------------------------------------- */

struct stats_run {
    struct ks_cli *cli;
    double total_sources[2];
    bool header;
    int section;
    bool sources_printed;
    /* sources are buffered to print shares */
    struct stats_src {
        int dim;
        char key[48], name[96];
        bool domestic;
        double sources, packets;
    } * src;
    size_t nsrc, cap;
};

static void stats_port_day(void *user, const struct ks_darknet_port_day *r)
{
    struct stats_run *s = user;
    char day[16], pbuf[8], port[8];
    day_text(r->day, 0, day);
    const char *proto = r->other ? "" : ks_darknet_proto_name(r->proto, pbuf, sizeof pbuf);
    snprintf(port, sizeof port, "%u", (unsigned)r->port);
    if (s->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("port_day"));
        json_object_set_new(o, "day", json_string(day));
        json_object_set_new(o, "proto", r->other ? json_null() : json_string(proto));
        json_object_set_new(o, "port", r->other ? json_string("other") : json_integer(r->port));
        json_object_set_new(o, "packets", json_real(r->packets));
        json_object_set_new(o, "sources", json_real(r->sources));
        json_object_set_new(o, "sensors", json_integer(r->sensors));
        ks_cli_json_line(o);
        return;
    }
    if (!s->header) {
        printf("%-10s  %-5s  %-5s  %12s  %10s  %s\n", "DAY", "PROTO", "PORT", "PACKETS/SENSOR",
               "SOURCES", "SENSORS");
        s->header = true;
    }
    printf("%-10s  %-5s  %-5s  %14.1f  %10.1f  %u\n", day, r->other ? "-" : proto,
           r->other ? "other" : port, r->packets, r->sources, r->sensors);
}

static void stats_source(void *user, int dim, const char *key, const char *name, bool domestic,
                         double sources, double packets)
{
    struct stats_run *s = user;
    if (s->nsrc == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct stats_src *n = realloc(s->src, cap * sizeof *n);
        if (!n)
            return;
        s->src = n;
        s->cap = cap;
    }
    struct stats_src *o = &s->src[s->nsrc++];
    o->dim = dim;
    snprintf(o->key, sizeof o->key, "%s", key);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->domestic = domestic;
    o->sources = sources;
    o->packets = packets;
    s->total_sources[dim == KS_DARKNET_BY_AS] += sources;
}

static void print_stats_sources(struct stats_run *s)
{
    int last_dim = -1;
    s->sources_printed = true;
    for (size_t i = 0; i < s->nsrc; i++) {
        const struct stats_src *o = &s->src[i];
        double total = s->total_sources[o->dim == KS_DARKNET_BY_AS];
        double share = total > 0 ? 100.0 * o->sources / total : 0;
        if (s->cli->json) {
            json_t *j = json_object();
            json_object_set_new(j, "type", json_string("source"));
            json_object_set_new(j, "by", json_string(ks_darknet_dim_name(o->dim)));
            json_object_set_new(j, "key", json_string(o->key));
            json_object_set_new(j, "name", json_string(o->name));
            json_object_set_new(j, "sources", json_integer((json_int_t)o->sources));
            json_object_set_new(j, "packets", json_integer((json_int_t)o->packets));
            json_object_set_new(j, "share", json_real((double)(int64_t)(share * 100) / 100));
            if (o->dim == KS_DARKNET_BY_COUNTRY)
                json_object_set_new(j, "domestic", json_boolean(o->domestic));
            ks_cli_json_line(j);
            continue;
        }
        if (o->dim != last_dim) {
            printf("\n%-8s  %10s  %12s  %6s  %s\n", o->dim == KS_DARKNET_BY_AS ? "AS" : "COUNTRY",
                   "SOURCES", "PACKETS", "SHARE", o->dim == KS_DARKNET_BY_AS ? "NAME" : "");
            last_dim = o->dim;
        }
        printf("%-8s  %10.0f  %12.0f  %5.1f%%  %s%s\n", o->key, o->sources, o->packets, share,
               o->name, o->domestic ? "domestic" : "");
    }
}

static void stats_alert(void *user, const struct ks_darknet_alert *a)
{
    struct stats_run *s = user;
    if (!s->sources_printed)
        print_stats_sources(s); /* the library emits sources before alerts */
    char week[16], pbuf[8];
    day_text(a->week, 0, week);
    const char *proto = ks_darknet_proto_name(a->proto, pbuf, sizeof pbuf);
    if (s->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("alert"));
        json_object_set_new(o, "week", json_string(week));
        json_object_set_new(o, "proto", json_string(proto));
        json_object_set_new(o, "port", json_integer(a->port));
        json_object_set_new(o, "sources", json_integer((json_int_t)(a->sources + 0.5)));
        json_object_set_new(o, "baseline", json_real(a->baseline));
        json_object_set_new(o, "factor", json_real(a->factor));
        ks_cli_json_line(o);
        return;
    }
    if (s->section != 2) {
        printf("\nNEW-PORT ALERTS\n%-10s  %-5s  %5s  %8s  %8s  %6s\n", "WEEK", "PROTO", "PORT",
               "SOURCES", "BASELINE", "FACTOR");
        s->section = 2;
    }
    printf("%-10s  %-5s  %5u  %8.0f  %8.1f  %5.1fx\n", week, proto, (unsigned)a->port, a->sources,
           a->baseline, a->factor);
}

static int parse_when(const char *s, int64_t *t)
{
    return ks_time_parse(s, strlen(s), t) == KS_OK ? 0 : -1;
}

static int darknet_stats(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "darknet stats", stats_usage, stats_help);
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"sensor", required_argument, NULL, OPT_SENSOR},
        {"home", required_argument, NULL, OPT_HOME},
        {"top", required_argument, NULL, OPT_TOP},
        {"weeks", required_argument, NULL, OPT_WEEKS},
        {"factor", required_argument, NULL, OPT_FACTOR},
        {"min", required_argument, NULL, OPT_MIN},
        {0},
    };
    struct ks_darknet_query q;
    ks_darknet_query_default(&q);
    int exit_code = KS_EXIT_OK, opt;
    struct stats_run sr = {.cli = &cli};
    struct ks_store *store = NULL;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int c = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &exit_code);
        if (c < 0)
            goto out;
        if (c > 0)
            continue;
        char *end = NULL;
        switch (opt) {
        case OPT_FROM:
        case OPT_TO:
            if (parse_when(optarg, opt == OPT_FROM ? &q.from_us : &q.to_us) != 0) {
                exit_code = ks_cli_usage_error(&cli, "'%s' is not an RFC 3339 date", optarg);
                goto out;
            }
            break;
        case OPT_SENSOR:
            q.sensor = optarg;
            break;
        case OPT_HOME:
            if (strlen(optarg) != 2) {
                exit_code = ks_cli_usage_error(&cli, "--home: '%s' is not a country code", optarg);
                goto out;
            }
            q.home[0] = (char)(optarg[0] & ~0x20);
            q.home[1] = (char)(optarg[1] & ~0x20);
            break;
        case OPT_TOP:
        case OPT_WEEKS:
        case OPT_MIN: {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || end == optarg || v > 100000 || (opt != OPT_MIN && v == 0)) {
                exit_code = ks_cli_usage_error(&cli, "'%s' is not a count", optarg);
                goto out;
            }
            if (opt == OPT_TOP)
                q.top_ports = (uint32_t)v;
            else if (opt == OPT_WEEKS)
                q.baseline_weeks = (uint32_t)v;
            else
                q.novelty_min = (uint32_t)v;
            break;
        }
        case OPT_FACTOR:
            q.novelty_factor = strtod(optarg, &end);
            if (*end || end == optarg || !(q.novelty_factor >= 1.0)) {
                exit_code = ks_cli_usage_error(&cli, "--factor: '%s' is not a number >= 1", optarg);
                goto out;
            }
            break;
        default:
            exit_code = ks_cli_usage_error(&cli, "unknown option");
            goto out;
        }
    }
    if (optind < argc) {
        exit_code = ks_cli_usage_error(&cli, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    struct ks_store_config sc;
    ks_store_config_default(&sc);
    sc.readonly = true;
    int rc = ks_store_open(cli.db_path, &sc, &store);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    struct ks_darknet_report_sink sink = {stats_port_day, stats_source, stats_alert, &sr};
    struct ks_darknet_report_stats st;
    rc = ks_darknet_report(store, &q, &sink, &st);
    if (rc == KS_OK && !sr.sources_printed)
        print_stats_sources(&sr);
    if (rc != KS_OK) {
        ks_cli_error(&cli, "store: %s: %s", ks_strerror(rc), ks_store_errmsg(store));
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    if (!cli.quiet)
        fprintf(stderr,
                "kansoku: darknet stats: %u sensors, %u days, %u weeks checked for new ports"
                "%s\n",
                st.sensors, st.days, st.weeks,
                st.bad_sketches ? " (some stored sketches were damaged and skipped)" : "");
out:
    ks_store_close(store);
    free(sr.src);
    return exit_code;
}
