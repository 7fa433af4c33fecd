/* kansoku bgp: MRT files as bgpdump -m lines or JSON elements (dump), and prefix-hijack
 * alerts against expected origins (watch). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "kansoku/ks_bgp.h"
#include "kansoku/ks_store.h"
#include "kansoku/ks_time.h"

static const char bgp_usage[] = "Usage: kansoku bgp dump [options] FILE...\n"
                                "       kansoku bgp watch --expect FILE [--rib MRT] [options] "
                                "UPDATES...\n";

static const char bgp_help[] =
    "Usage: kansoku bgp <verb> [options]\n"
    "\n"
    "BGP data in MRT files (RFC 6396: TABLE_DUMP, TABLE_DUMP_V2 with ADD-PATH, BGP4MP and\n"
    "BGP4MP_ET; plain, gzip or bzip2).\n"
    "\n"
    "Verbs:\n"
    "  dump   print the records as bgpdump -m lines, or as JSON elements\n"
    "  watch  alert on origin and sub-prefix hijacks, more-specifics and MOAS\n"
    "\n"
    "Every verb takes --help.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char dump_usage[] = "Usage: kansoku bgp dump [--json] [options] FILE...\n";

static const char dump_help[] =
    "Usage: kansoku bgp dump [--json] [options] FILE...\n"
    "\n"
    "Prints every route of the MRT files: one line per prefix and peer in the format of\n"
    "`bgpdump -m` (TYPE|time|A/W/B/STATE|peer|peer_as|prefix|as_path|origin|next_hop|\n"
    "local_pref|med|communities|AG/NAG|aggregator|), the same text byte for byte.\n"
    "With --json one object per element: type (A, W, B, S), time (RFC 3339 UTC), peer,\n"
    "peer_as, prefix, path_id (ADD-PATH), as_path, origin_as (null for an AS_SET origin),\n"
    "old_state/new_state (S).\n"
    "\n"
    "Records that cannot be decoded are skipped and counted (first ones reported with their\n"
    "offset); a file that ends inside a record ends with an error naming the offset, after\n"
    "what was read before it.\n"
    "\n"
    "Exit status: 0 done; 1 a file unreadable or cut short; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

static const char watch_usage[] =
    "Usage: kansoku bgp watch --expect FILE [--rib MRT] [--allow FILE] [options] UPDATES...\n";

static const char watch_help[] =
    "Usage: kansoku bgp watch --expect FILE [--rib MRT] [--allow FILE] [options] UPDATES...\n"
    "\n"
    "Checks every announcement of the MRT update files (in the order given) against expected\n"
    "origins and reports:\n"
    "  origin          the exact expected prefix announced by an unexpected origin\n"
    "  subprefix       a more-specific of an expected prefix from an unexpected origin\n"
    "  more_specific   a more-specific from an expected origin, not allowed\n"
    "  moas            a prefix announced by more than one origin\n"
    "Each alert is raised when first seen, and cleared when every peer that saw it has\n"
    "withdrawn it (or replaced it); alerts still open at the end are summarised (end).\n"
    "\n"
    "Expectations (repeatable; the format is recognised from the content):\n"
    "      --expect FILE   \"prefix origin\" lines (AS64500 or 64500; '#' comments), IRR route\n"
    "                      objects (RPSL route:/route6: with origin:), or a ROA CSV with max\n"
    "                      length (ASN,IP Prefix,Max Length[,Trust Anchor])\n"
    "      --rib MRT       a RIB dump (TABLE_DUMP / TABLE_DUMP_V2): its routes are expected\n"
    "      --allow FILE    allow-list for customer more-specifics: \"prefix origin [maxlen]\"\n"
    "                      (origin 0 or '*' = any origin); announcements within are not alerts\n"
    "Limits:\n"
    "      --max-routes N  (prefix, peer) routes tracked (default 1048576; dropped, counted)\n"
    "      --max-alerts N  open alerts tracked (default 65536)\n"
    "      --no-moas       do not raise MOAS alerts\n"
    "Output:\n"
    "      --no-store      do not write the alerts into the store (table bgp_alerts, --db)\n"
    "      --force         store the alerts of an input ingested before again\n"
    "\n"
    "Alerts go to stdout as a table, or with --json one object per event: event (raise, clear,\n"
    "end), type, prefix, origin_as, expected_prefix, expected_origins, peers, max_peers,\n"
    "first_seen, last_seen, cleared (RFC 3339 UTC), peer, peer_as (the first peer).\n"
    "Cleared and still-open alerts go to the store (table bgp_alerts), one row each.\n"
    "Counts go to stderr with -v (with --json also a summary object), and always the counts\n"
    "of state that did not fit.\n"
    "\n"
    "Exit status: 0 done; 1 an input unreadable or cut short, store error; 2 usage error.\n"
    "\n" KS_CLI_COMMON_HELP;

/* --- dump ------------------------------------------------------------------------------------ */

static void time_text(int64_t us, char *buf, size_t size)
{
    ks_time_format(us, KS_TZ_UTC, (us % 1000000) ? 6 : 0, buf, size);
}

static json_t *elem_json(const struct ks_bgp_elem *e)
{
    char buf[64];
    char ty[2] = {e->type, 0};
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(ty));
    time_text(e->time_us, buf, sizeof buf);
    json_object_set_new(o, "time", json_string(buf));
    ks_addr_format(&e->peer, buf, sizeof buf);
    json_object_set_new(o, "peer", json_string(buf));
    json_object_set_new(o, "peer_as", json_integer(e->peer_as));
    if (e->type == KS_BGP_ELEM_STATE) {
        json_object_set_new(o, "old_state", json_integer(e->old_state));
        json_object_set_new(o, "new_state", json_integer(e->new_state));
        return o;
    }
    ks_prefix_format(&e->prefix, buf, sizeof buf);
    json_object_set_new(o, "prefix", json_string(buf));
    if (e->has_path_id)
        json_object_set_new(o, "path_id", json_integer(e->path_id));
    if (e->type != KS_BGP_ELEM_WITHDRAW) {
        json_object_set_new(o, "as_path", json_stringn(e->as_path, e->as_path_len));
        json_object_set_new(o, "origin_as",
                            e->origin_kind == KS_BGP_ORIGIN_AS ? json_integer(e->origin_as)
                                                               : json_null());
    }
    return o;
}

/* Reads one file; returns KS_OK or the error that ended it (already printed). */
static int dump_file(struct ks_cli *cli, const char *path)
{
    struct ks_mrt_config cfg;
    ks_mrt_config_default(&cfg);
    cfg.text = !cli->json;
    cfg.elems = cli->json;
    struct ks_mrt *m = NULL;
    int rc = ks_mrt_open(path, &cfg, &cli->diag, &m);
    if (rc != KS_OK) {
        ks_cli_error(cli, "%s: %s", path, rc == KS_EIO ? strerror(errno) : ks_strerror(rc));
        return rc;
    }
    while ((rc = ks_mrt_next(m)) == 1) {
        if (cli->json) {
            const struct ks_mrt_record *r = ks_mrt_record(m);
            for (size_t i = 0; i < r->n_elems; i++)
                ks_cli_json_line(elem_json(&r->elems[i]));
        } else {
            const char *t;
            size_t n;
            ks_mrt_text(m, &t, &n);
            if (n)
                fwrite(t, 1, n, stdout);
        }
    }
    struct ks_mrt_stats st;
    ks_mrt_stats(m, &st);
    if (rc == KS_ETRUNC)
        ks_cli_error(cli,
                     "%s: offset %" PRIu64 ": truncated: the file ends inside a record (%" PRIu64
                     " records read before it)",
                     path, st.truncated_at, st.records);
    else if (rc < 0)
        ks_cli_error(cli, "%s: offset %" PRIu64 ": %s", path, st.bytes, ks_strerror(rc));
    if (st.malformed)
        ks_cli_warn(cli, "%s: %" PRIu64 " malformed record(s) skipped", path, st.malformed);
    ks_cli_info(cli,
                "%s: %" PRIu64 " records, %" PRIu64 " bytes, %" PRIu64 " lines, %" PRIu64
                " elements, %" PRIu64 " unsupported, %" PRIu64 " malformed",
                path, st.records, st.bytes, st.lines, st.elems, st.unsupported, st.malformed);
    ks_mrt_free(m);
    return rc < 0 ? rc : KS_OK;
}

static int cmd_dump(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "bgp dump", dump_usage, dump_help);
    static const struct option opts[] = {KS_CLI_COMMON_OPTS, {0}};
    int opt, code = KS_EXIT_OK;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r == 0)
            return ks_cli_usage_error(&cli, "unexpected option");
    }
    if (optind >= argc)
        return ks_cli_usage_error(&cli, "which MRT file(s)?");
    static char obuf[1 << 20];
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    int exit_code = KS_EXIT_OK;
    for (int i = optind; i < argc; i++)
        if (dump_file(&cli, argv[i]) != KS_OK)
            exit_code = KS_EXIT_FAIL;
    if (fflush(stdout) != 0) {
        ks_cli_error(&cli, "writing the output: %s", strerror(errno));
        exit_code = KS_EXIT_FAIL;
    }
    return exit_code;
}

/* --- watch ----------------------------------------------------------------------------------- */

int ks_bgp_cli_watch(int argc, char **argv, const char *usage, const char *help);

static int cmd_watch(int argc, char **argv)
{
    return ks_bgp_cli_watch(argc, argv, watch_usage, watch_help);
}

int ks_cmd_bgp(int argc, char **argv)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "bgp", bgp_usage, bgp_help);
    static const struct ks_cli_verb verbs[] = {{"dump", cmd_dump}, {"watch", cmd_watch}};
    return ks_cli_run_verbs(&cli, verbs, sizeof verbs / sizeof verbs[0], argc, argv);
}

/* Reads a whole (text) file. */
static int read_all(const char *path, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return KS_EIO;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    int rc = KS_OK;
    while (b) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f))
                rc = KS_EIO;
            break;
        }
    }
    if (f != stdin)
        fclose(f);
    if (!b)
        return KS_ENOMEM;
    if (rc != KS_OK) {
        free(b);
        return rc;
    }
    *out = b;
    *len = n;
    return KS_OK;
}

struct watch_run {
    struct ks_cli *cli;
    struct ks_store *store;
    struct ks_ingest *ing;
    int store_rc;
    uint64_t stored;
    uint64_t events;
    bool force;
};

static void fmt_time(int64_t us, char *buf, size_t size)
{
    if (us == 0) {
        snprintf(buf, size, "-");
        return;
    }
    ks_time_format(us, KS_TZ_UTC, (us % 1000000) ? 6 : 0, buf, size);
}

static void on_alert(void *user, const struct ks_bgp_alert *a)
{
    struct watch_run *run = user;
    char pfx[KS_PREFIX_STRLEN], exp[KS_PREFIX_STRLEN] = "", peer[KS_ADDR_STRLEN];
    char first[KS_TIME_STRLEN + 4], last[KS_TIME_STRLEN + 4], cleared[KS_TIME_STRLEN + 4];
    ks_prefix_format(&a->prefix, pfx, sizeof pfx);
    if (a->expected_prefix.addr.family)
        ks_prefix_format(&a->expected_prefix, exp, sizeof exp);
    ks_addr_format(&a->first_peer, peer, sizeof peer);
    fmt_time(a->first_seen_us, first, sizeof first);
    fmt_time(a->last_seen_us, last, sizeof last);
    fmt_time(a->event == KS_BGP_EVENT_CLEAR ? a->cleared_us : 0, cleared, sizeof cleared);
    run->events++;
    if (run->cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "event", json_string(ks_bgp_alert_event_name(a->event)));
        json_object_set_new(o, "type", json_string(ks_bgp_alert_type_name(a->type)));
        json_object_set_new(o, "prefix", json_string(pfx));
        json_object_set_new(o, "origin_as", json_integer(a->origin_as));
        json_object_set_new(o, "expected_prefix", exp[0] ? json_string(exp) : json_null());
        json_t *ea = json_array();
        for (uint32_t i = 0; i < a->n_expected && i < 8; i++)
            json_array_append_new(ea, json_integer(a->expected_as[i]));
        json_object_set_new(o, "expected_origins", ea);
        json_object_set_new(o, "peers", json_integer(a->peers));
        json_object_set_new(o, "max_peers", json_integer(a->max_peers));
        json_object_set_new(o, "first_seen", json_string(first));
        json_object_set_new(o, "last_seen", json_string(last));
        json_object_set_new(o, "cleared",
                            a->event == KS_BGP_EVENT_CLEAR ? json_string(cleared) : json_null());
        json_object_set_new(o, "peer", json_string(peer));
        json_object_set_new(o, "peer_as", json_integer(a->first_peer_as));
        ks_cli_json_line(o);
    } else {
        char exps[8 * 12 + 8] = "";
        size_t n = 0;
        for (uint32_t i = 0; i < a->n_expected && i < 8; i++) {
            int w = snprintf(exps + n, sizeof exps - n, "%sAS%u", i ? "," : "",
                             (unsigned)a->expected_as[i]);
            if (w < 0 || (size_t)w >= sizeof exps - n)
                break;
            n += (size_t)w;
        }
        printf(
            "%-5s %-13s %-20s AS%-10u expected %s %s  peers %u (max %u)  first %s  last %s%s%s\n",
            ks_bgp_alert_event_name(a->event), ks_bgp_alert_type_name(a->type), pfx,
            (unsigned)a->origin_as, exp[0] ? exp : "-", n ? exps : "-", (unsigned)a->peers,
            (unsigned)a->max_peers, first, last, a->event == KS_BGP_EVENT_CLEAR ? "  cleared " : "",
            a->event == KS_BGP_EVENT_CLEAR ? cleared : "");
    }
    if (run->ing && run->store_rc == KS_OK && a->event != KS_BGP_EVENT_RAISE) {
        int rc = ks_bgp_store_alert(run->ing, a);
        if (rc == KS_OK)
            run->stored++;
        else if (rc != KS_EINVAL)
            run->store_rc = rc;
    }
}

/* Feeds every element of an MRT file to fn. Returns KS_OK or the error that ended it. */
static int each_elem(struct ks_cli *cli, const char *path,
                     int (*fn)(void *u, const struct ks_bgp_elem *e), void *u)
{
    struct ks_mrt_config cfg;
    ks_mrt_config_default(&cfg);
    struct ks_mrt *m = NULL;
    int rc = ks_mrt_open(path, &cfg, &cli->diag, &m);
    if (rc != KS_OK) {
        ks_cli_error(cli, "%s: %s", path, rc == KS_EIO ? strerror(errno) : ks_strerror(rc));
        return rc;
    }
    while ((rc = ks_mrt_next(m)) == 1) {
        const struct ks_mrt_record *r = ks_mrt_record(m);
        for (size_t i = 0; i < r->n_elems; i++) {
            int frc = fn(u, &r->elems[i]);
            if (frc != KS_OK) {
                ks_mrt_free(m);
                return frc;
            }
        }
    }
    struct ks_mrt_stats st;
    ks_mrt_stats(m, &st);
    if (rc == KS_ETRUNC)
        ks_cli_error(cli, "%s: offset %" PRIu64 ": truncated: the file ends inside a record", path,
                     st.truncated_at);
    else if (rc < 0)
        ks_cli_error(cli, "%s: %s", path, ks_strerror(rc));
    if (st.malformed)
        ks_cli_warn(cli, "%s: %" PRIu64 " malformed record(s) skipped", path, st.malformed);
    ks_cli_info(cli, "%s: %" PRIu64 " records, %" PRIu64 " elements", path, st.records, st.elems);
    ks_mrt_free(m);
    return rc < 0 ? rc : KS_OK;
}

static int rib_elem(void *u, const struct ks_bgp_elem *e)
{
    struct ks_bgp_expect *exp = u;
    if ((e->type != KS_BGP_ELEM_RIB && e->type != KS_BGP_ELEM_ANNOUNCE) ||
        e->origin_kind != KS_BGP_ORIGIN_AS)
        return KS_OK;
    return ks_bgp_expect_add(exp, &e->prefix, e->origin_as, 0, KS_BGP_EXPECT_ROUTE);
}

static int watch_elem(void *u, const struct ks_bgp_elem *e)
{
    return ks_bgp_watch_feed(u, e);
}

static int load_expect(struct ks_cli *cli, struct ks_bgp_expect *exp, const char *path,
                       enum ks_bgp_expect_kind kind)
{
    char *text = NULL;
    size_t len = 0;
    int rc = read_all(path, &text, &len);
    if (rc != KS_OK) {
        ks_cli_error(cli, "%s: %s", path, rc == KS_EIO ? strerror(errno) : ks_strerror(rc));
        return rc;
    }
    uint64_t bad = 0;
    size_t before = ks_bgp_expect_count(exp);
    rc = ks_bgp_expect_load(exp, text, len, KS_BGP_FMT_AUTO, kind, path, &cli->diag, &bad);
    free(text);
    if (rc != KS_OK) {
        ks_cli_error(cli, "%s: %s", path, ks_strerror(rc));
        return rc;
    }
    if (bad)
        ks_cli_warn(cli, "%s: %" PRIu64 " bad line(s) skipped", path, bad);
    ks_cli_info(cli, "%s: %zu entries", path, ks_bgp_expect_count(exp) - before);
    return KS_OK;
}

static int store_begin(struct watch_run *run, const char *path)
{
    struct ks_store_input in;
    memset(&in, 0, sizeof in);
    int rc = ks_store_hash_file(path, in.sha256, &in.size);
    if (rc != KS_OK)
        return rc;
    in.name = path;
    in.kind = "bgp watch";
    rc = ks_store_input_begin(run->store, &in, run->force ? KS_STORE_FORCE : 0, &run->ing);
    if (rc == KS_EEXIST) {
        ks_cli_warn(run->cli, "%s: ingested before; its alerts are not stored again", path);
        run->ing = NULL;
        return KS_OK;
    }
    return rc;
}

static int store_end(struct watch_run *run)
{
    if (!run->ing)
        return KS_OK;
    int rc = ks_store_input_end(run->ing, run->store_rc == KS_OK);
    run->ing = NULL;
    return run->store_rc != KS_OK ? run->store_rc : rc;
}

int ks_bgp_cli_watch(int argc, char **argv, const char *usage, const char *help)
{
    struct ks_cli cli;
    ks_cli_init(&cli, "bgp watch", usage, help);
    enum {
        O_EXPECT = 0x200,
        O_RIB,
        O_ALLOW,
        O_MAX_ROUTES,
        O_MAX_ALERTS,
        O_NO_MOAS,
        O_NO_STORE,
        O_FORCE
    };
    static const struct option opts[] = {KS_CLI_COMMON_OPTS,
                                         {"expect", required_argument, NULL, O_EXPECT},
                                         {"rib", required_argument, NULL, O_RIB},
                                         {"allow", required_argument, NULL, O_ALLOW},
                                         {"max-routes", required_argument, NULL, O_MAX_ROUTES},
                                         {"max-alerts", required_argument, NULL, O_MAX_ALERTS},
                                         {"no-moas", no_argument, NULL, O_NO_MOAS},
                                         {"no-store", no_argument, NULL, O_NO_STORE},
                                         {"force", no_argument, NULL, O_FORCE},
                                         {0}};
    const char *expects[64], *ribs[64], *allows[64];
    int n_expect = 0, n_rib = 0, n_allow = 0;
    bool store = true, force = false;
    struct ks_bgp_watch_config wcfg;
    ks_bgp_watch_config_default(&wcfg);
    int opt, code = KS_EXIT_OK;
    while ((opt = getopt_long(argc, argv, KS_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        int r = ks_cli_common_opt(&cli, opt, KS_CLI_OPT_ARG(opt, argv), &code);
        if (r < 0)
            return code;
        if (r == 1)
            continue;
        char *end = NULL;
        unsigned long v = 0;
        switch (opt) {
        case O_EXPECT:
        case O_RIB:
        case O_ALLOW: {
            const char **list = opt == O_EXPECT ? expects : opt == O_RIB ? ribs : allows;
            int *n = opt == O_EXPECT ? &n_expect : opt == O_RIB ? &n_rib : &n_allow;
            if (*n == 64)
                return ks_cli_usage_error(&cli, "at most 64 files per option");
            list[(*n)++] = optarg;
            break;
        }
        case O_MAX_ROUTES:
        case O_MAX_ALERTS:
            errno = 0;
            v = strtoul(optarg, &end, 10);
            if (errno || !end || *end || v == 0 || v > (1ul << 30))
                return ks_cli_usage_error(&cli, "bad number '%s'", optarg);
            if (opt == O_MAX_ROUTES)
                wcfg.max_routes = (uint32_t)v;
            else
                wcfg.max_alerts = (uint32_t)v;
            break;
        case O_NO_MOAS:
            wcfg.moas = false;
            break;
        case O_NO_STORE:
            store = false;
            break;
        case O_FORCE:
            force = true;
            break;
        default:
            return ks_cli_usage_error(&cli, "unexpected option");
        }
    }
    if (n_expect == 0 && n_rib == 0)
        return ks_cli_usage_error(&cli, "--expect FILE or --rib MRT is needed");
    if (optind >= argc)
        return ks_cli_usage_error(&cli, "which MRT update file(s)?");

    int exit_code = KS_EXIT_OK;
    struct ks_bgp_expect *exp = NULL;
    struct ks_bgp_watch *w = NULL;
    struct watch_run run;
    memset(&run, 0, sizeof run);
    run.cli = &cli;
    run.force = force;
    if (ks_bgp_expect_new(&exp) != KS_OK) {
        ks_cli_error(&cli, "out of memory");
        return KS_EXIT_FAIL;
    }
    for (int i = 0; i < n_expect; i++)
        if (load_expect(&cli, exp, expects[i], KS_BGP_EXPECT_ROUTE) != KS_OK) {
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
    for (int i = 0; i < n_allow; i++)
        if (load_expect(&cli, exp, allows[i], KS_BGP_EXPECT_ALLOW) != KS_OK) {
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
    for (int i = 0; i < n_rib; i++) {
        int rc = each_elem(&cli, ribs[i], rib_elem, exp);
        if (rc != KS_OK && rc != KS_ETRUNC) {
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
        if (rc == KS_ETRUNC)
            exit_code = KS_EXIT_FAIL;
    }
    ks_cli_info(&cli, "%zu expectations", ks_bgp_expect_count(exp));
    if (ks_bgp_watch_new(&wcfg, exp, on_alert, &run, &w) != KS_OK) {
        ks_cli_error(&cli, "out of memory");
        exit_code = KS_EXIT_FAIL;
        goto out;
    }
    if (store) {
        int rc = ks_store_open(cli.db_path, NULL, &run.store);
        if (rc != KS_OK) {
            ks_cli_error(&cli, "%s", ks_store_errmsg(NULL));
            exit_code = KS_EXIT_FAIL;
            goto out;
        }
    }
    for (int i = optind; i < argc; i++) {
        if (run.store && store_begin(&run, argv[i]) != KS_OK) {
            ks_cli_error(&cli, "%s: %s", argv[i], ks_store_errmsg(run.store));
            exit_code = KS_EXIT_FAIL;
            break;
        }
        int rc = each_elem(&cli, argv[i], watch_elem, w);
        if (rc != KS_OK)
            exit_code = KS_EXIT_FAIL;
        if (i == argc - 1)
            ks_bgp_watch_finish(w);
        if (store_end(&run) != KS_OK) {
            ks_cli_error(&cli, "store: %s", ks_store_errmsg(run.store));
            exit_code = KS_EXIT_FAIL;
        }
        if (rc != KS_OK && rc != KS_ETRUNC)
            break;
    }
    struct ks_bgp_watch_stats st;
    ks_bgp_watch_stats(w, &st);
    ks_cli_info(&cli,
                "%" PRIu64 " announcements, %" PRIu64 " withdrawals, %" PRIu64 " valid, %" PRIu64
                " uncovered, %" PRIu64 " AS_SET origins; alerts: %" PRIu64 " origin, %" PRIu64
                " subprefix, %" PRIu64 " more_specific, %" PRIu64 " moas, %" PRIu64
                " cleared; %" PRIu64 " MOAS prefixes; %" PRIu64 " stored",
                st.announcements, st.withdrawals, st.valid, st.uncovered, st.set_origin,
                st.alerts[KS_BGP_ALERT_ORIGIN], st.alerts[KS_BGP_ALERT_SUBPREFIX],
                st.alerts[KS_BGP_ALERT_MORE_SPECIFIC], st.alerts[KS_BGP_ALERT_MOAS], st.cleared,
                st.moas_prefixes, run.stored);
    if (st.routes_dropped || st.alerts_dropped || st.prefixes_dropped)
        ks_cli_warn(&cli,
                    "state full: %" PRIu64 " routes, %" PRIu64 " alerts, %" PRIu64
                    " prefixes not tracked (raise --max-routes / --max-alerts)",
                    st.routes_dropped, st.alerts_dropped, st.prefixes_dropped);
    if (cli.json && cli.verbose) {
        json_t *o = json_object();
        json_object_set_new(o, "event", json_string("summary"));
        json_object_set_new(o, "announcements", json_integer((json_int_t)st.announcements));
        json_object_set_new(o, "withdrawals", json_integer((json_int_t)st.withdrawals));
        json_object_set_new(o, "valid", json_integer((json_int_t)st.valid));
        json_object_set_new(o, "uncovered", json_integer((json_int_t)st.uncovered));
        json_object_set_new(o, "moas_prefixes", json_integer((json_int_t)st.moas_prefixes));
        ks_cli_json_line(o);
    }
out:
    ks_bgp_watch_free(w);
    ks_bgp_expect_free(exp);
    ks_store_close(run.store);
    fflush(stdout);
    return exit_code;
}
