/* kansoku p2p residue: connection attempts that keep arriving at a P2P client's address after
 * the client stopped, per 5 minutes, with the decay fitted. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "kansoku/ks_capture.h"
#include "kansoku/ks_p2p.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

static const char p2p_usage[] =
    "Usage: kansoku p2p residue -r FILE... --host ADDR [--host ADDR...] [--stopped-at TIME]\n";

static const char p2p_help[] =
    "Usage: kansoku p2p residue -r FILE... --host ADDR [--host ADDR...] [--stopped-at TIME]\n"
    "\n"
    "Measures the residue of P2P clients: the TCP SYNs (and UDP datagrams) that keep arriving\n"
    "at a client's address after the client stopped. For each host, side by side: incoming\n"
    "and outgoing SYNs, SYN-ACKs and UDP datagrams per 5 minutes, distinct sources per day,\n"
    "the time of the last incoming SYN, and after the stop the background rate (the mean of\n"
    "the last hour), the time to fall to it, and the half-life fitted by least squares on the\n"
    "log of the counts. The stop is --stopped-at, else the host's last outgoing SYN.\n"
    "\n"
    "Output: the summary per host, the days, then the bins (--json: objects with \"type\"\n"
    "\"summary\", \"day\" or \"bin\"; bins: {\"type\",\"ts\",\"host\",\"syn_in\",\"syn_out\",\n"
    "\"synack_in\",\"synack_out\",\"udp_in\",\"udp_out\"}). Rows go to the store's series table\n"
    "(sensor = host, metrics p2p.*), unless --no-store.\n"
    "\n"
    "Options:\n"
    "  -r, --read FILE        a pcap or pcapng file (repeatable; files may also follow)\n"
    "      --host ADDR        a client's address (repeatable; ADDR@TIME gives its own stop)\n"
    "      --stopped-at TIME  when the clients stopped (RFC 3339)\n"
    "      --bin SECONDS      bin width (default 300)\n"
    "      --background N     tail bins that give the background rate (default 12)\n"
    "      --no-store         do not write to the store\n"
    "      --force            replace captures ingested before\n"
    "\n"
    "Exit status: 0 done; 1 a capture could not be read, or the store failed; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

enum { OPT_HOST = 0x200, OPT_STOPPED, OPT_BIN, OPT_BG, OPT_NO_STORE, OPT_FORCE };

static void time_text(int64_t t, char *buf, size_t size)
{
    if (ks_time_format(t, 0, 0, buf, size) < 0)
        snprintf(buf, size, "-");
}

static json_t *time_json(int64_t t)
{
    char buf[KS_TIME_STRLEN];
    if (!t)
        return json_null();
    time_text(t, buf, sizeof buf);
    return json_string(buf);
}

struct series_writer {
    struct ks_ingest *ing;
    int err;
    uint64_t rows;
};

static void put_series(struct series_writer *w, int64_t ts, const char *host, const char *metric,
                       double value)
{
    if (!w->ing || w->err != KS_OK)
        return;
    ks_store_row_begin(w->ing, KS_TBL_SERIES);
    ks_store_put_time(w->ing, ts);
    ks_store_put_text(w->ing, host, strlen(host));
    ks_store_put_text(w->ing, metric, strlen(metric));
    ks_store_put_text(w->ing, "", 0);
    ks_store_put_f64(w->ing, value);
    int rc = ks_store_row_end(w->ing);
    if (rc != KS_OK)
        w->err = rc;
    w->rows++;
}

static void store_result(struct series_writer *w, const struct ks_p2p_result *r, uint32_t bin_s)
{
    char host[KS_ADDR_STRLEN];
    ks_addr_format(&r->host, host, sizeof host);
    for (size_t i = 0; i < r->nbins; i++) {
        const struct ks_p2p_bin *b = &r->bins[i];
        static const char *const names[] = {"p2p.syn_in",     "p2p.syn_out", "p2p.synack_in",
                                            "p2p.synack_out", "p2p.udp_in",  "p2p.udp_out"};
        const uint64_t v[] = {b->syn_in,     b->syn_out, b->synack_in,
                              b->synack_out, b->udp_in,  b->udp_out};
        for (int k = 0; k < 6; k++)
            if (v[k] || k < 2) /* zeros of the SYN series are kept: the figure needs them */
                put_series(w, b->ts, host, names[k], (double)v[k]);
    }
    for (size_t i = 0; i < r->ndays; i++) {
        put_series(w, r->days[i].day, host, "p2p.sources_syn_in", round(r->days[i].sources_syn));
        put_series(w, r->days[i].day, host, "p2p.sources_udp_in", round(r->days[i].sources_udp));
    }
    int64_t ts = r->stopped_at ? r->stopped_at : (r->nbins ? r->bins[0].ts : 0);
    if (r->last_syn_in)
        put_series(w, ts, host, "p2p.last_syn_in", (double)r->last_syn_in);
    if (r->stopped_at)
        put_series(w, ts, host, "p2p.stopped_at", (double)r->stopped_at);
    if (r->has_decay) {
        put_series(w, ts, host, "p2p.background_per_bin", r->background);
        put_series(w, ts, host, "p2p.bin_s", bin_s);
        if (r->time_to_background_s >= 0)
            put_series(w, ts, host, "p2p.time_to_background_s", r->time_to_background_s);
    }
    if (r->has_half_life)
        put_series(w, ts, host, "p2p.half_life_s", r->half_life_s);
}

static void print_summary(const struct ks_cli *cli, const struct ks_p2p_result *r)
{
    char host[KS_ADDR_STRLEN], last[KS_TIME_STRLEN], stop[KS_TIME_STRLEN];
    ks_addr_format(&r->host, host, sizeof host);
    if (cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "type", json_string("summary"));
        json_object_set_new(o, "host", json_string(host));
        json_object_set_new(o, "syn_in", json_integer((json_int_t)r->syn_in));
        json_object_set_new(o, "syn_out", json_integer((json_int_t)r->syn_out));
        json_object_set_new(o, "synack_in", json_integer((json_int_t)r->synack_in));
        json_object_set_new(o, "synack_out", json_integer((json_int_t)r->synack_out));
        json_object_set_new(o, "udp_in", json_integer((json_int_t)r->udp_in));
        json_object_set_new(o, "udp_out", json_integer((json_int_t)r->udp_out));
        json_object_set_new(o, "last_syn_in", time_json(r->last_syn_in));
        json_object_set_new(o, "stopped_at", time_json(r->stopped_at));
        json_object_set_new(o, "stop_inferred", json_boolean(r->stop_inferred));
        json_object_set_new(o, "background_per_bin",
                            r->has_decay ? json_real(r->background) : json_null());
        json_object_set_new(o, "time_to_background_s",
                            r->has_decay && r->time_to_background_s >= 0
                                ? json_real(r->time_to_background_s)
                                : json_null());
        json_object_set_new(o, "half_life_s",
                            r->has_half_life ? json_real(r->half_life_s) : json_null());
        json_object_set_new(o, "fit_points", json_integer(r->fit_points));
        json_object_set_new(o, "r2", r->has_half_life ? json_real(r->r2) : json_null());
        json_object_set_new(o, "dropped", json_integer((json_int_t)r->dropped));
        ks_cli_json_line(o);
        return;
    }
    time_text(r->last_syn_in, last, sizeof last);
    time_text(r->stopped_at, stop, sizeof stop);
    printf("host %s: SYN in %" PRIu64 " out %" PRIu64 ", SYN-ACK in %" PRIu64 " out %" PRIu64
           ", UDP in %" PRIu64 " out %" PRIu64 "\n",
           host, r->syn_in, r->syn_out, r->synack_in, r->synack_out, r->udp_in, r->udp_out);
    printf("  last incoming SYN: %s\n", r->last_syn_in ? last : "none");
    printf("  stopped at:        %s%s\n", r->stopped_at ? stop : "unknown",
           r->stop_inferred ? " (its last outgoing SYN)" : "");
    if (r->has_decay) {
        printf("  background:        %.2f SYNs per bin\n", r->background);
        if (r->time_to_background_s >= 0)
            printf("  to background:     %.0f s (%.1f h) after the stop\n", r->time_to_background_s,
                   r->time_to_background_s / 3600);
        else
            printf("  to background:     not reached\n");
        if (r->has_half_life)
            printf("  half-life:         %.0f s (%.2f h), fit on %u bins, r2 %.3f\n",
                   r->half_life_s, r->half_life_s / 3600, r->fit_points, r->r2);
        else
            printf("  half-life:         no decay to fit (%u bins above the background)\n",
                   r->fit_points);
    }
    if (r->dropped)
        printf("  dropped:           %" PRIu64 " packets beyond the kept bins\n", r->dropped);
}

static int run_identity(const struct ks_cli *cli, const char *const *files, size_t nfiles,
                        const struct ks_p2p_result *res, size_t n, uint32_t bin_s,
                        struct ks_store_input *in)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int rc = KS_EXIT_FAIL;
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
        goto out;
    EVP_DigestUpdate(ctx, "p2p residue\n", 12);
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
    for (size_t i = 0; i < n; i++) {
        char line[KS_ADDR_STRLEN + 64];
        char host[KS_ADDR_STRLEN];
        ks_addr_format(&res[i].host, host, sizeof host);
        int len = snprintf(line, sizeof line, "%s@%lld/%u\n", host,
                           (long long)(res[i].stop_inferred ? 0 : res[i].stopped_at), bin_s);
        EVP_DigestUpdate(ctx, line, (size_t)len);
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

static int p2p_residue(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "p2p residue", p2p_usage, p2p_help);
    static const struct option opts[] = {
        KS_CLI_COMMON_OPTS,
        {"read", required_argument, NULL, 'r'},
        {"host", required_argument, NULL, OPT_HOST},
        {"stopped-at", required_argument, NULL, OPT_STOPPED},
        {"bin", required_argument, NULL, OPT_BIN},
        {"background", required_argument, NULL, OPT_BG},
        {"no-store", no_argument, NULL, OPT_NO_STORE},
        {"force", no_argument, NULL, OPT_FORCE},
        {0},
    };
    int exit_code = KS_EXIT_OK, opt;
    struct ks_cli_input in;
    int in_rc = ks_cli_input_init(&in, argc, false);
    const char **hosts = calloc((size_t)argc + 1, sizeof *hosts);
    size_t nhosts = 0;
    int64_t stopped = 0;
    bool no_store = false, force = false;
    struct ks_p2p_config cfg;
    ks_p2p_config_default(&cfg);
    struct ks_p2p *p = NULL;
    struct ks_capture *cap = NULL;
    struct ks_store *store = NULL;
    struct series_writer w = {0};
    struct ks_p2p_result *res = NULL;
    if (in_rc != KS_OK || !hosts) {
        ks_cli_error(&cli, "out of memory");
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT "r:", opts, NULL)) != -1) {
        int c = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &exit_code);
        if (c < 0)
            goto out;
        if (c > 0)
            continue;
        char *end = NULL;
        unsigned long v;
        switch (opt) {
        case 'r':
            ks_cli_input_opt(&cli, &in, opt, optarg, &exit_code);
            break;
        case OPT_HOST:
            hosts[nhosts++] = optarg;
            break;
        case OPT_STOPPED:
            if (ks_time_parse(optarg, strlen(optarg), &stopped) != KS_OK) {
                exit_code = ks_cli_usage_error(&cli,
                                               "--stopped-at: '%s' is not an RFC 3339 "
                                               "time",
                                               optarg);
                goto out;
            }
            break;
        case OPT_BIN:
        case OPT_BG:
            v = strtoul(optarg, &end, 10);
            if (end == optarg || *end || v == 0 || v > 86400) {
                exit_code = ks_cli_usage_error(&cli, "'%s' is not 1..86400", optarg);
                goto out;
            }
            if (opt == OPT_BIN)
                cfg.bin_s = (uint32_t)v;
            else
                cfg.background_bins = (uint32_t)v;
            break;
        case OPT_NO_STORE:
            no_store = true;
            break;
        case OPT_FORCE:
            force = true;
            break;
        default:
            exit_code = ks_cli_usage_error(&cli, "unknown option");
            goto out;
        }
    }
    if (ks_cli_input_finish(&cli, &in, argc, argv, &exit_code) != 0)
        goto out;
    if (nhosts == 0) {
        exit_code = ks_cli_usage_error(&cli, "at least one --host ADDR is required");
        goto out;
    }
    /* 8640 bins of 5 minutes are 30 days; keep 30 days whatever the bin */
    cfg.max_bins = (uint32_t)(30u * 86400u / cfg.bin_s + 1);
    if (ks_p2p_new(&cfg, &p) != KS_OK) {
        ks_cli_error(&cli, "cannot set up (out of memory)");
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < nhosts; i++) {
        const char *at = strchr(hosts[i], '@');
        size_t alen = at ? (size_t)(at - hosts[i]) : strlen(hosts[i]);
        struct ks_addr a;
        int64_t stop = stopped;
        if (ks_addr_parse(hosts[i], alen, &a) != KS_OK ||
            (at && ks_time_parse(at + 1, strlen(at + 1), &stop) != KS_OK)) {
            exit_code = ks_cli_usage_error(&cli, "--host: '%s' is not ADDR or ADDR@TIME", hosts[i]);
            goto out;
        }
        int rc = ks_p2p_add_host(p, &a, stop);
        if (rc == KS_EEXIST) {
            ks_cli_warn(&cli, "--host %s given twice", hosts[i]);
        } else if (rc != KS_OK) {
            exit_code = rc == KS_ELIMIT
                            ? ks_cli_usage_error(&cli, "at most %d hosts", KS_P2P_MAX_HOSTS)
                            : KS_EXIT_FAIL;
            if (rc != KS_ELIMIT)
                ks_cli_error(&cli, "cannot add host: %s", ks_strerror(rc));
            goto out;
        }
    }
    if (ks_cli_input_open(&cli, &in, &cap) != KS_OK) {
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    struct ks_pkt pkt;
    int rc;
    while ((rc = ks_capture_next(cap, &pkt)) != 0) {
        if (rc == 1) {
            ks_p2p_feed(p, &pkt);
            continue;
        }
        struct ks_loc loc;
        ks_capture_errloc(cap, &loc);
        char where[512];
        ks_loc_format(&loc, where, sizeof where);
        ks_cli_error(&cli, "%s: %s", where, ks_capture_errmsg(cap));
        exit_code = KS_EXIT_FAIL;
    }

    size_t n = ks_p2p_hosts(p);
    res = calloc(n ? n : 1, sizeof *res);
    if (!res) {
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        ks_p2p_result(p, i, &res[i]);

    if (!no_store && exit_code == KS_EXIT_OK) {
        /* identity: SHA-256 of the files' hashes, the hosts with their stops and the bin */
        struct ks_store_input si = {.name = in.files[0], .kind = "p2p"};
        if (run_identity(&cli, in.files, in.nfiles, res, n, cfg.bin_s, &si) != KS_EXIT_OK) {
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
        if (ks_store_open(cli.db_path, NULL, &store) != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
        rc = ks_store_input_begin(store, &si, force ? KS_STORE_FORCE : 0, &w.ing);
        if (rc == KS_EEXIST) {
            ks_cli_warn(&cli, "%s: %s", si.name, ks_store_errmsg(store));
            w.ing = NULL;
        } else if (rc != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(store));
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
        for (size_t i = 0; w.ing && i < n; i++)
            store_result(&w, &res[i], cfg.bin_s);
        if (w.ing) {
            rc = ks_store_input_end(w.ing, w.err == KS_OK);
            w.ing = NULL;
            if (rc != KS_OK) {
                ks_cli_error(&cli, "store: %s: %s", ks_strerror(rc), ks_store_errmsg(store));
                exit_code = KS_EXIT_FAIL;
            }
        }
    }

    for (size_t i = 0; i < n; i++)
        print_summary(&cli, &res[i]);
    /* days, side by side */
    if (!cli.json && n)
        printf("\n%-10s", "DAY");
    for (size_t i = 0; !cli.json && i < n; i++) {
        char host[KS_ADDR_STRLEN];
        ks_addr_format(&res[i].host, host, sizeof host);
        printf("  %18.18s SYN-src  UDP-src", host);
    }
    size_t ndays = n ? res[0].ndays : 0;
    for (size_t d = 0; d < ndays; d++) {
        char day[KS_TIME_STRLEN];
        time_text(res[0].days[d].day, day, sizeof day);
        day[10] = '\0';
        if (cli.json) {
            for (size_t i = 0; i < n; i++) {
                char host[KS_ADDR_STRLEN];
                ks_addr_format(&res[i].host, host, sizeof host);
                json_t *o = json_object();
                json_object_set_new(o, "type", json_string("day"));
                json_object_set_new(o, "day", json_string(day));
                json_object_set_new(o, "host", json_string(host));
                json_object_set_new(o, "sources_syn_in",
                                    json_integer((json_int_t)llround(res[i].days[d].sources_syn)));
                json_object_set_new(o, "sources_udp_in",
                                    json_integer((json_int_t)llround(res[i].days[d].sources_udp)));
                ks_cli_json_line(o);
            }
            continue;
        }
        printf("\n%-10s", day);
        for (size_t i = 0; i < n; i++)
            printf("  %18s %7.0f  %7.0f", "", res[i].days[d].sources_syn,
                   res[i].days[d].sources_udp);
    }
    if (!cli.json && n)
        printf("\n\n%-20s", "BIN (UTC)");
    for (size_t i = 0; !cli.json && i < n; i++) {
        char host[KS_ADDR_STRLEN];
        ks_addr_format(&res[i].host, host, sizeof host);
        printf("  %15.15s SYN-in SYN-out UDP-in UDP-out", host);
    }
    size_t nbins = n ? res[0].nbins : 0;
    for (size_t b = 0; b < nbins; b++) {
        char ts[KS_TIME_STRLEN];
        time_text(res[0].bins[b].ts, ts, sizeof ts);
        if (cli.json) {
            for (size_t i = 0; i < n; i++) {
                const struct ks_p2p_bin *x = &res[i].bins[b];
                char host[KS_ADDR_STRLEN];
                ks_addr_format(&res[i].host, host, sizeof host);
                json_t *o = json_object();
                json_object_set_new(o, "type", json_string("bin"));
                json_object_set_new(o, "ts", json_string(ts));
                json_object_set_new(o, "host", json_string(host));
                json_object_set_new(o, "syn_in", json_integer((json_int_t)x->syn_in));
                json_object_set_new(o, "syn_out", json_integer((json_int_t)x->syn_out));
                json_object_set_new(o, "synack_in", json_integer((json_int_t)x->synack_in));
                json_object_set_new(o, "synack_out", json_integer((json_int_t)x->synack_out));
                json_object_set_new(o, "udp_in", json_integer((json_int_t)x->udp_in));
                json_object_set_new(o, "udp_out", json_integer((json_int_t)x->udp_out));
                ks_cli_json_line(o);
            }
            continue;
        }
        printf("\n%-20s", ts);
        for (size_t i = 0; i < n; i++) {
            const struct ks_p2p_bin *x = &res[i].bins[b];
            printf("  %15s %6" PRIu64 " %7" PRIu64 " %6" PRIu64 " %7" PRIu64, "", x->syn_in,
                   x->syn_out, x->udp_in, x->udp_out);
        }
    }
    if (!cli.json && n)
        printf("\n");
    if (!cli.quiet && w.rows)
        fprintf(stderr, "kansoku: p2p residue: %" PRIu64 " rows stored in %s\n", w.rows,
                cli.db_path);
out:
    if (w.ing)
        ks_store_input_end(w.ing, false);
    ks_store_close(store);
    ks_capture_free(cap);
    ks_p2p_free(p);
    free(res);
    ks_cli_input_free(&in);
    free(hosts);
    return exit_code;
}

static const char top_help[] =
    "Usage: kansoku p2p residue -r FILE... --host ADDR [--host ADDR...] [--stopped-at TIME]\n"
    "\n"
    "Verbs:\n"
    "  residue   connection attempts to P2P clients after they stopped (see\n"
    "            'kansoku p2p residue --help')\n";

int ks_cmd_p2p(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "residue") == 0)
        return p2p_residue(argc - 1, argv + 1);
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(top_help, stdout);
        return KS_EXIT_OK;
    }
    fprintf(stderr, "kansoku p2p: %s\n%sTry 'kansoku p2p --help'.\n",
            argc > 1 ? "unknown verb" : "missing verb (residue)", p2p_usage);
    return KS_EXIT_USAGE;
}
